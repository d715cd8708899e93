"""Self-made ONNX models for the ONNX Runtime oracle tests of onnxqc's ONNX import/export.

Every builder is registered in ``MODELS`` under a short name and is called as
``builder(workdir)``. It returns ``(model, feeds)``:

- ``model`` is an ``onnx.ModelProto``, or a ``pathlib.Path`` to a model already saved in
  ``workdir`` when the model needs files next to it (external data);
- ``feeds`` is a dict ``{input name: numpy array}``, or a list of such dicts when the model
  is to be run several times (e.g. at two batch sizes, or with both values of an If
  condition).

Inputs are deterministic: each builder draws them from a generator seeded by its name.
``materialize(name, workdir)`` saves a model to ``workdir/<name>.onnx`` (or returns the
saved path) and gives back ``(path, [feeds, ...])``; the tests use only that.

Every model here must pass ``onnx.checker.check_model(path, full_check=True)`` and run in
ONNX Runtime (CPU); ``test_models_valid.py`` checks that.
"""

from __future__ import annotations

import pathlib
import zlib
from typing import Callable, Union

import ml_dtypes  # bfloat16, float8 and 4-bit numpy types; a dependency of onnx >= 1.17
import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

ModelOrPath = Union[onnx.ModelProto, pathlib.Path]
Feeds = Union[dict, list]
Builder = Callable[[pathlib.Path], tuple]

MODELS: dict[str, Builder] = {}

# Models that pass onnx.checker.check_model but not its full_check (strict shape inference),
# with the reason; the tests check these without full_check.
FULL_CHECK_EXEMPT = {
    "sparse_initializer": "onnx shape inference types a sparse initializer as a sparse tensor, "
    "which MatMul does not accept (ONNX Runtime densifies it and runs the model)",
}

F = TensorProto.FLOAT
I64 = TensorProto.INT64


def model(name: str):
    """Register a builder under NAME."""

    def register(fn: Builder) -> Builder:
        assert name not in MODELS, name
        MODELS[name] = fn
        fn.model_name = name
        return fn

    return register


# --------------------------------------------------------------------------- helpers


def rng_for(name: str) -> np.random.Generator:
    return np.random.default_rng(zlib.crc32(name.encode()))


def randn(rng: np.random.Generator, *shape, dtype=np.float32) -> np.ndarray:
    return rng.standard_normal(shape).astype(dtype)


def init(name: str, array, raw: bool = True) -> TensorProto:
    """An initializer from a numpy array (raw_data by default; raw=False uses the typed field)."""
    array = np.asarray(array)
    if raw:
        return numpy_helper.from_array(array, name)
    dtype = helper.np_dtype_to_tensor_dtype(array.dtype)
    return helper.make_tensor(name, dtype, array.shape, array.flatten().tolist(), raw=False)


def ordered_node(op_type: str, inputs, outputs, attrs, **kwargs) -> onnx.NodeProto:
    """A node whose attributes keep the given order ([(name, value), ...]); helper.make_node
    sorts keyword attributes by name, which would hide an exporter that reorders them."""
    node = helper.make_node(op_type, inputs, outputs, **kwargs)
    node.attribute.extend(helper.make_attribute(k, v) for k, v in attrs)
    return node


def vi(name: str, elem_type: int, shape) -> onnx.ValueInfoProto:
    return helper.make_tensor_value_info(name, elem_type, shape)


def opsets(version: int, **extra: int) -> list:
    ids = [helper.make_opsetid("", version)]
    ids += [helper.make_opsetid(domain.replace("_", "."), v) for domain, v in extra.items()]
    return ids


def make_model(graph, opset_ids, ir_version: int | None = None, **kwargs) -> onnx.ModelProto:
    """A model with the lowest IR version that allows its opsets (unless given)."""
    if ir_version is None:
        ir_version = helper.find_min_ir_version_for(opset_ids, ignore_unknown=True)
    m = helper.make_model(graph, opset_imports=opset_ids, **kwargs)
    m.ir_version = ir_version
    return m


def feed_sets(feeds: Feeds) -> list:
    return feeds if isinstance(feeds, list) else [feeds]


def materialize(name: str, workdir: pathlib.Path) -> tuple:
    """Build model NAME in WORKDIR; return (path of the .onnx file, list of feed dicts)."""
    workdir = pathlib.Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    built, feeds = MODELS[name](workdir)
    if isinstance(built, onnx.ModelProto):
        path = workdir / f"{name}.onnx"
        onnx.save_model(built, str(path))
    else:
        path = pathlib.Path(built)
    return path, feed_sets(feeds)


def save_with_external_data(m: onnx.ModelProto, path: pathlib.Path, location: str, **kwargs) -> pathlib.Path:
    onnx.save_model(
        m,
        str(path),
        save_as_external_data=True,
        location=location,
        size_threshold=kwargs.pop("size_threshold", 0),
        **kwargs,
    )
    return path


# --------------------------------------------------------------------------- one model per opset


@model("opset10_conv_pool_slice_qdq")
def opset10(_workdir):
    rng = rng_for("opset10")
    nodes = [
        ordered_node("Conv", ["x", "W", "B"], ["conv"], [("pads", [1, 1, 1, 1]), ("kernel_shape", [3, 3])]),
        helper.make_node("Relu", ["conv"], ["relu"]),
        helper.make_node("MaxPool", ["relu"], ["pool"], kernel_shape=[2, 2], strides=[2, 2]),
        helper.make_node("Slice", ["pool", "starts", "ends", "axes"], ["sliced"]),
        helper.make_node("Reshape", ["sliced", "shape"], ["flat"]),
        helper.make_node("MatMul", ["flat", "W2"], ["mm"]),
        helper.make_node("Add", ["mm", "b2"], ["y"]),
        helper.make_node("QuantizeLinear", ["y", "q_scale", "q_zp"], ["y_q"]),
        helper.make_node("DequantizeLinear", ["y_q", "q_scale", "q_zp"], ["y_qdq"]),
    ]
    inits = [
        init("W", randn(rng, 4, 3, 3, 3) * 0.3),
        init("B", randn(rng, 4)),
        init("starts", np.array([0], np.int64)),
        init("ends", np.array([2], np.int64)),
        init("axes", np.array([1], np.int64)),
        init("shape", np.array([1, 32], np.int64)),
        init("W2", randn(rng, 32, 5) * 0.2),
        init("b2", randn(rng, 5)),
        init("q_scale", np.array(0.05, np.float32)),
        init("q_zp", np.array(128, np.uint8)),
    ]
    g = helper.make_graph(
        nodes, "opset10", [vi("x", F, [1, 3, 8, 8])],
        [vi("y", F, [1, 5]), vi("y_qdq", F, [1, 5])], inits,
    )
    return make_model(g, opsets(10)), {"x": randn(rng, 1, 3, 8, 8)}


@model("opset11_gather_concat_softmax_pad")
def opset11(_workdir):
    rng = rng_for("opset11")
    nodes = [
        helper.make_node("Gather", ["table", "ids"], ["emb"], axis=0),
        helper.make_node("Softmax", ["emb"], ["sm"], axis=2),
        helper.make_node("ReduceSum", ["sm"], ["rs"], axes=[2], keepdims=1),
        helper.make_node("Concat", ["emb", "rs"], ["cat"], axis=2),
        helper.make_node("Unsqueeze", ["cat"], ["unsq"], axes=[0]),
        helper.make_node("Clip", ["unsq", "lo", "hi"], ["clipped"]),
        helper.make_node("Pad", ["clipped", "pads", "pad_value"], ["y"], mode="constant"),
        helper.make_node("Range", ["r_start", "r_limit", "r_delta"], ["range_out"]),
    ]
    inits = [
        init("table", randn(rng, 10, 4)),
        init("lo", np.array(-0.5, np.float32)),
        init("hi", np.array(0.5, np.float32)),
        init("pads", np.array([0, 0, 0, 1, 0, 0, 0, 1], np.int64)),
        init("pad_value", np.array(0.25, np.float32)),
        init("r_start", np.array(2, np.int64)),
        init("r_limit", np.array(11, np.int64)),
        init("r_delta", np.array(3, np.int64)),
    ]
    g = helper.make_graph(
        nodes, "opset11", [vi("ids", I64, [2, 3])],
        [vi("y", F, [1, 2, 3, 7]), vi("range_out", I64, [3])], inits,
    )
    return make_model(g, opsets(11)), {"ids": rng.integers(0, 10, (2, 3)).astype(np.int64)}


@model("opset12_einsum_celu_argmax_dropout")
def opset12(_workdir):
    rng = rng_for("opset12")
    nodes = [
        helper.make_node("Einsum", ["a", "b"], ["e"], equation="bij,jk->bik"),
        helper.make_node("Celu", ["e"], ["celu"], alpha=0.5),
        helper.make_node("Dropout", ["celu", "ratio"], ["drop"]),
        helper.make_node("ArgMax", ["drop"], ["argmax"], axis=2, keepdims=1, select_last_index=1),
        helper.make_node("ReduceMax", ["drop"], ["rmax"], axes=[1], keepdims=0),
        helper.make_node("GreaterOrEqual", ["rmax", "zero"], ["ge"]),
    ]
    inits = [init("ratio", np.array(0.3, np.float32)), init("zero", np.array(0.0, np.float32))]
    g = helper.make_graph(
        nodes, "opset12", [vi("a", F, [2, 3, 4]), vi("b", F, [4, 5])],
        [vi("drop", F, [2, 3, 5]), vi("argmax", I64, [2, 3, 1]), vi("ge", TensorProto.BOOL, [2, 5])],
        inits,
    )
    return make_model(g, opsets(12)), {"a": randn(rng, 2, 3, 4), "b": randn(rng, 4, 5)}


@model("opset13_split_input_reducesum_axes_input")
def opset13(_workdir):
    rng = rng_for("opset13")
    nodes = [
        helper.make_node("Split", ["x", "split"], ["s0", "s1"], axis=1),
        helper.make_node("ReduceSum", ["s1", "rs_axes"], ["rs"], keepdims=1),
        helper.make_node("Unsqueeze", ["s0", "uq_axes"], ["uq"]),
        helper.make_node("Squeeze", ["uq", "uq_axes"], ["sq"]),
        helper.make_node("Concat", ["sq", "rs"], ["cat"], axis=1),
        helper.make_node("Softmax", ["x"], ["sm"], axis=-1),
        helper.make_node("Gather", ["sm", "neg_idx"], ["rows"], axis=0),
        helper.make_node("ReduceSum", ["x", "empty_axes"], ["all_sum"], keepdims=0),
    ]
    inits = [
        init("split", np.array([2, 4], np.int64)),
        init("rs_axes", np.array([1], np.int64)),
        init("uq_axes", np.array([0], np.int64)),
        init("neg_idx", np.array([-1, 0], np.int64)),
        init("empty_axes", np.zeros([0], np.int64)),
    ]
    g = helper.make_graph(
        nodes, "opset13", [vi("x", F, [4, 6])],
        [vi("cat", F, [4, 3]), vi("rows", F, [2, 6]), vi("all_sum", F, [])], inits,
    )
    return make_model(g, opsets(13)), {"x": randn(rng, 4, 6)}


@model("opset14_trilu_hardswish_cumsum_bn")
def opset14(_workdir):
    rng = rng_for("opset14")
    nodes = [
        helper.make_node("Trilu", ["x", "k"], ["tril"], upper=0),
        helper.make_node("HardSwish", ["x"], ["hs"]),
        helper.make_node("Reshape", ["hs", "shape"], ["flat"], allowzero=0),
        helper.make_node("CumSum", ["flat", "cs_axis"], ["cs"], exclusive=1, reverse=1),
        helper.make_node(
            "BatchNormalization", ["x", "bn_scale", "bn_bias", "bn_mean", "bn_var"], ["bn"], epsilon=1e-3
        ),
    ]
    inits = [
        init("k", np.array(1, np.int64)),
        init("shape", np.array([0, -1], np.int64)),
        init("cs_axis", np.array(1, np.int64)),
        init("bn_scale", randn(rng, 4)),
        init("bn_bias", randn(rng, 4)),
        init("bn_mean", randn(rng, 4)),
        init("bn_var", np.abs(randn(rng, 4)) + 0.5),
    ]
    g = helper.make_graph(
        nodes, "opset14", [vi("x", F, [3, 4, 4])],
        [vi("tril", F, [3, 4, 4]), vi("cs", F, [3, 16]), vi("bn", F, [3, 4, 4])], inits,
    )
    return make_model(g, opsets(14)), {"x": randn(rng, 3, 4, 4)}


@model("opset15_shape_start_castlike_pow")
def opset15(_workdir):
    rng = rng_for("opset15")
    nodes = [
        helper.make_node("Shape", ["x"], ["shp"], start=1),
        helper.make_node("Shape", ["x"], ["shp_last"], start=-1, end=3),
        helper.make_node("CastLike", ["x", "like16"], ["x16"]),
        helper.make_node("Pow", ["x", "two"], ["sq"]),
    ]
    inits = [init("like16", np.array(0, np.float16)), init("two", np.array(2.0, np.float32))]
    g = helper.make_graph(
        nodes, "opset15", [vi("x", F, [2, 5, 3])],
        [vi("shp", I64, [2]), vi("shp_last", I64, [1]), vi("x16", TensorProto.FLOAT16, [2, 5, 3]),
         vi("sq", F, [2, 5, 3])],
        inits,
    )
    return make_model(g, opsets(15)), {"x": randn(rng, 2, 5, 3)}


@model("opset16_where_scatter_gridsample")
def opset16(_workdir):
    rng = rng_for("opset16")
    nodes = [
        helper.make_node("GreaterOrEqual", ["x", "zero"], ["pos"]),
        helper.make_node("LeakyRelu", ["x"], ["leaky"], alpha=0.1),
        helper.make_node("Where", ["pos", "x", "leaky"], ["w"]),
        helper.make_node("ScatterElements", ["w", "idx", "upd"], ["scat"], axis=1, reduction="add"),
        helper.make_node("GridSample", ["img", "grid"], ["gs"], mode="bilinear", padding_mode="border",
                         align_corners=0),
        helper.make_node("Identity", ["gs"], ["gs_id"]),
    ]
    inits = [
        init("zero", np.array(0.0, np.float32)),
        init("idx", np.array([[0, 0], [2, 3], [1, 1]], np.int64)),
        init("upd", randn(rng, 3, 2)),
        init("grid", rng.uniform(-1.1, 1.1, (1, 3, 3, 2)).astype(np.float32)),
    ]
    g = helper.make_graph(
        nodes, "opset16", [vi("x", F, [3, 4]), vi("img", F, [1, 1, 4, 4])],
        [vi("scat", F, [3, 4]), vi("gs_id", F, [1, 1, 3, 3])], inits,
    )
    return make_model(g, opsets(16)), {"x": randn(rng, 3, 4), "img": randn(rng, 1, 1, 4, 4)}


@model("opset17_layernorm_window")
def opset17(_workdir):
    rng = rng_for("opset17")
    nodes = [
        helper.make_node("LayerNormalization", ["x", "ln_scale", "ln_bias"], ["ln"], axis=-1, epsilon=1e-5),
        helper.make_node("BlackmanWindow", ["win_size"], ["window"], output_datatype=TensorProto.FLOAT),
        helper.make_node("Mul", ["ln", "window"], ["y"]),
    ]
    inits = [
        init("ln_scale", randn(rng, 8)),
        init("ln_bias", randn(rng, 8)),
        init("win_size", np.array(8, np.int64)),
    ]
    g = helper.make_graph(nodes, "opset17", [vi("x", F, [2, 3, 8])], [vi("y", F, [2, 3, 8])], inits)
    return make_model(g, opsets(17)), {"x": randn(rng, 2, 3, 8)}


@model("opset18_reduce_axes_split_num_outputs_bitwise")
def opset18(_workdir):
    rng = rng_for("opset18")
    nodes = [
        helper.make_node("ReduceMean", ["x", "axes1"], ["mean"], keepdims=0),
        helper.make_node("ReduceMax", ["x", "axes0"], ["rmax"], keepdims=1),
        helper.make_node("ReduceL2", ["x", "axes1"], ["l2"], keepdims=0),
        helper.make_node("Split", ["x"], ["s0", "s1", "s2"], axis=1, num_outputs=3),
        helper.make_node("Add", ["s0", "s2"], ["s02"]),
        helper.make_node("BitwiseAnd", ["ia", "ib"], ["band"]),
        helper.make_node("Pad", ["x", "pads", "", "axes1"], ["padded"], mode="reflect"),
    ]
    inits = [
        init("axes0", np.array([0], np.int64)),
        init("axes1", np.array([1], np.int64)),
        init("pads", np.array([1, 2], np.int64)),
    ]
    g = helper.make_graph(
        nodes, "opset18",
        [vi("x", F, [4, 6]), vi("ia", TensorProto.INT32, [5]), vi("ib", TensorProto.INT32, [5])],
        [vi("mean", F, [4]), vi("rmax", F, [1, 6]), vi("l2", F, [4]), vi("s02", F, [4, 2]),
         vi("s1", F, [4, 2]), vi("band", TensorProto.INT32, [5]), vi("padded", F, [4, 9])],
        inits,
    )
    feeds = {
        "x": randn(rng, 4, 6),
        "ia": rng.integers(-1000, 1000, 5).astype(np.int32),
        "ib": rng.integers(-1000, 1000, 5).astype(np.int32),
    }
    return make_model(g, opsets(18)), feeds


@model("opset19_pad_wrap_avgpool_dilations_float8")
def opset19(_workdir):
    rng = rng_for("opset19")
    nodes = [
        helper.make_node("AveragePool", ["x"], ["ap"], kernel_shape=[2, 2], dilations=[2, 2]),
        helper.make_node("Pad", ["x", "pads"], ["wrapped"], mode="wrap"),
        helper.make_node("Cast", ["x"], ["x8"], to=TensorProto.FLOAT8E4M3FN, saturate=1),
        helper.make_node("Cast", ["x8"], ["x8f"], to=TensorProto.FLOAT),
        helper.make_node("DequantizeLinear", ["w8", "w8_scale"], ["w8f"]),
        helper.make_node("Add", ["x8f", "w8f"], ["y"]),
    ]
    w8 = rng.uniform(-4, 4, (1, 2, 5, 5)).astype(ml_dtypes.float8_e4m3fn)
    w8_t = helper.make_tensor("w8", TensorProto.FLOAT8E4M3FN, w8.shape, w8.tobytes(), raw=True)
    inits = [
        init("pads", np.array([0, 0, 1, 1, 0, 0, 1, 1], np.int64)),
        w8_t,
        init("w8_scale", np.array(0.5, np.float32)),
    ]
    g = helper.make_graph(
        nodes, "opset19", [vi("x", F, [1, 2, 5, 5])],
        [vi("ap", F, [1, 2, 3, 3]), vi("wrapped", F, [1, 2, 7, 7]), vi("y", F, [1, 2, 5, 5])], inits,
    )
    return make_model(g, opsets(19)), {"x": randn(rng, 1, 2, 5, 5) * 4}


@model("opset20_gelu_isnan_constantofshape_affinegrid")
def opset20(_workdir):
    rng = rng_for("opset20")
    nodes = [
        helper.make_node("Gelu", ["x"], ["gelu"], approximate="tanh"),
        helper.make_node("IsNaN", ["x"], ["nan_mask"]),
        helper.make_node(
            "ConstantOfShape", ["cos_shape"], ["filled"],
            value=helper.make_tensor("value", F, [1], [1.5]),
        ),
        helper.make_node("Add", ["gelu", "filled"], ["y"]),
        helper.make_node("AffineGrid", ["theta", "grid_size"], ["grid"], align_corners=1),
    ]
    inits = [
        init("cos_shape", np.array([3, 4], np.int64)),
        init("theta", randn(rng, 1, 2, 3)),
        init("grid_size", np.array([1, 1, 3, 4], np.int64)),
    ]
    x = randn(rng, 3, 4)
    x[0, 1] = np.nan
    g = helper.make_graph(
        nodes, "opset20", [vi("x", F, [3, 4])],
        [vi("y", F, [3, 4]), vi("nan_mask", TensorProto.BOOL, [3, 4]), vi("grid", F, [1, 3, 4, 2])],
        inits,
    )
    return make_model(g, opsets(20)), {"x": x}


def int4_tensor(name: str, values: np.ndarray, signed: bool, raw: bool = True) -> TensorProto:
    dtype = TensorProto.INT4 if signed else TensorProto.UINT4
    values = np.asarray(values)
    if raw:
        np_type = ml_dtypes.int4 if signed else ml_dtypes.uint4
        return numpy_helper.from_array(values.astype(np_type), name)
    return helper.make_tensor(name, dtype, values.shape, values.flatten().tolist(), raw=False)


@model("opset21_dequantize_int4_weights")
def opset21(_workdir):
    rng = rng_for("opset21")
    nodes = [
        helper.make_node("DequantizeLinear", ["w_q", "w_scale", "w_zp"], ["w"], axis=1),
        helper.make_node("MatMul", ["x", "w"], ["y"]),
    ]
    inits = [
        int4_tensor("w_q", rng.integers(-8, 8, (7, 3)), signed=True),  # 21 values: odd, last nibble pads
        init("w_scale", np.array([0.1, 0.05, 0.2], np.float32)),
        int4_tensor("w_zp", np.array([0, -1, 3]), signed=True),
    ]
    g = helper.make_graph(nodes, "opset21", [vi("x", F, [2, 7])], [vi("y", F, [2, 3])], inits)
    return make_model(g, opsets(21)), {"x": randn(rng, 2, 7)}


@model("opset22_group_conv_mish_gemm")
def opset22(_workdir):
    rng = rng_for("opset22")
    nodes = [
        helper.make_node("Conv", ["x", "W"], ["conv"], group=2, dilations=[2, 2], kernel_shape=[2, 2],
                         strides=[1, 1], pads=[1, 0, 0, 1]),
        helper.make_node("Mish", ["conv"], ["mish"]),
        helper.make_node("GlobalAveragePool", ["mish"], ["gap"]),
        helper.make_node("Flatten", ["gap"], ["flat"], axis=1),
        ordered_node("Gemm", ["flat", "G", "c"], ["y"], [("transB", 1), ("beta", 2.0), ("alpha", 0.5)]),
    ]
    inits = [init("W", randn(rng, 4, 1, 2, 2)), init("G", randn(rng, 3, 4)), init("c", randn(rng, 3))]
    g = helper.make_graph(nodes, "opset22", [vi("x", F, [1, 2, 6, 6])], [vi("y", F, [1, 3])], inits)
    return make_model(g, opsets(22)), {"x": randn(rng, 1, 2, 6, 6)}


@model("opset23_rmsnorm_transpose_reshape")
def opset23(_workdir):
    rng = rng_for("opset23")
    nodes = [
        helper.make_node("RMSNormalization", ["x", "scale"], ["rms"], axis=-1, epsilon=1e-6),
        helper.make_node("Transpose", ["rms"], ["t"], perm=[0, 2, 1]),
        helper.make_node("Reshape", ["t", "shape"], ["y"]),
    ]
    inits = [init("scale", randn(rng, 8)), init("shape", np.array([2, -1], np.int64))]
    g = helper.make_graph(nodes, "opset23", [vi("x", F, [2, 3, 8])], [vi("y", F, [2, 24])], inits)
    return make_model(g, opsets(23)), {"x": randn(rng, 2, 3, 8)}


# --------------------------------------------------------------------------- control flow


@model("if_outer_scope_nested")
def if_outer_scope(_workdir):
    """If whose branches read outer-scope values (a graph input, an intermediate, an
    initializer), with an initializer inside a branch and a nested If two scopes deep."""
    rng = rng_for("if")
    then_g = helper.make_graph(
        [helper.make_node("Add", ["h", "one"], ["then_out"], name="then/add")],
        "then_branch", [], [vi("then_out", F, [3])],
        [init("one", np.ones(3, np.float32))],
    )
    inner_then = helper.make_graph(
        [helper.make_node("Mul", ["x", "w_outer"], ["inner_then_out"], name="else/if/then/mul")],
        "inner_then", [], [vi("inner_then_out", F, [3])],
    )
    inner_else = helper.make_graph(
        [helper.make_node("Sub", ["h", "x"], ["inner_else_out"], name="else/if/else/sub")],
        "inner_else", [], [vi("inner_else_out", F, [3])],
    )
    else_g = helper.make_graph(
        [
            helper.make_node("Sub", ["x", "h"], ["else_diff"], name="else/sub"),
            helper.make_node("ReduceSum", ["else_diff"], ["else_sum"], keepdims=0, name="else/sum"),
            helper.make_node("Greater", ["else_sum", "zero"], ["else_cond"], name="else/gt"),
            helper.make_node("If", ["else_cond"], ["else_out"], then_branch=inner_then,
                             else_branch=inner_else, name="else/if"),
        ],
        "else_branch", [], [vi("else_out", F, [3])],
    )
    nodes = [
        helper.make_node("Mul", ["x", "w_outer"], ["h"], name="outer/mul"),
        helper.make_node("If", ["cond"], ["y"], then_branch=then_g, else_branch=else_g, name="outer/if"),
    ]
    g = helper.make_graph(
        nodes, "if_model", [vi("cond", TensorProto.BOOL, []), vi("x", F, [3])], [vi("y", F, [3])],
        [init("w_outer", randn(rng, 3)), init("zero", np.array(0.0, np.float32))],
    )
    x = randn(rng, 3)
    feeds = [
        {"cond": np.array(True), "x": x},
        {"cond": np.array(False), "x": x},
        {"cond": np.array(False), "x": -x},
    ]
    return make_model(g, opsets(17)), feeds


@model("loop_carried_and_scan_outputs")
def loop_model(_workdir):
    """Loop with a trip count from the graph input, early exit through the condition, two
    carried values (one read from outer scope) and two scan outputs."""
    rng = rng_for("loop")
    body = helper.make_graph(
        [
            helper.make_node("Cast", ["i"], ["i_f"], to=F, name="body/cast"),
            helper.make_node("Mul", ["x", "i_f"], ["step"], name="body/mul"),
            helper.make_node("Add", ["acc_in", "step"], ["acc_out"], name="body/add"),
            helper.make_node("Add", ["count_in", "one_i"], ["count_out"], name="body/count"),
            helper.make_node("Less", ["i", "stop_at"], ["cond_out"], name="body/less"),
            helper.make_node("Identity", ["acc_out"], ["scan_acc"], name="body/scan_acc"),
            helper.make_node("Mul", ["i_f", "i_f"], ["scan_sq"], name="body/scan_sq"),
        ],
        "loop_body",
        [vi("i", I64, []), vi("cond_in", TensorProto.BOOL, []), vi("acc_in", F, [2]),
         vi("count_in", I64, [])],
        [vi("cond_out", TensorProto.BOOL, []), vi("acc_out", F, [2]), vi("count_out", I64, []),
         vi("scan_acc", F, [2]), vi("scan_sq", F, [])],
        [init("one_i", np.array(1, np.int64))],
    )
    nodes = [
        helper.make_node("Loop", ["trip", "cond0", "acc0", "count0"],
                         ["acc", "count", "accs", "squares"], body=body, name="loop"),
    ]
    g = helper.make_graph(
        nodes, "loop_model", [vi("trip", I64, []), vi("x", F, [2])],
        [vi("acc", F, [2]), vi("count", I64, []), vi("accs", F, ["n", 2]), vi("squares", F, ["n"])],
        [init("cond0", np.array(True)), init("acc0", np.zeros(2, np.float32)),
         init("count0", np.array(0, np.int64)), init("stop_at", np.array(4, np.int64))],
    )
    x = randn(rng, 2)
    feeds = [{"trip": np.array(7, np.int64), "x": x}, {"trip": np.array(2, np.int64), "x": x}]
    return make_model(g, opsets(16)), feeds


@model("scan_reverse_with_outer_scope")
def scan_model(_workdir):
    rng = rng_for("scan")
    body = helper.make_graph(
        [
            helper.make_node("Add", ["state_in", "x_t"], ["state_out"], name="scan/add"),
            helper.make_node("Mul", ["state_out", "gain"], ["y_t"], name="scan/mul"),
        ],
        "scan_body",
        [vi("state_in", F, [2]), vi("x_t", F, [2])],
        [vi("state_out", F, [2]), vi("y_t", F, [2])],
    )
    nodes = [
        helper.make_node("Scan", ["init_state", "xs"], ["final", "ys"], body=body, num_scan_inputs=1,
                         scan_input_directions=[1], scan_output_axes=[1], name="scan"),
    ]
    g = helper.make_graph(
        nodes, "scan_model", [vi("init_state", F, [2]), vi("xs", F, [5, 2])],
        [vi("final", F, [2]), vi("ys", F, [2, 5])],
        [init("gain", randn(rng, 2))],
    )
    return make_model(g, opsets(16)), {"init_state": randn(rng, 2), "xs": randn(rng, 5, 2)}


# --------------------------------------------------------------------------- functions


@model("local_functions_with_attributes")
def local_functions(_workdir):
    """Model-local functions: one with an attribute (with a default value) read through
    ref_attr_name, one calling the other; called three times from the graph."""
    rng = rng_for("functions")
    alpha_ref = onnx.AttributeProto()
    alpha_ref.name = "value_float"
    alpha_ref.ref_attr_name = "alpha"
    alpha_ref.type = onnx.AttributeProto.FLOAT
    const = helper.make_node("Constant", [], ["alpha_t"], name="fn/alpha")
    const.attribute.append(alpha_ref)
    scaled_tanh = helper.make_function(
        "local.fns", "ScaledTanh", ["X"], ["Y"],
        [const,
         helper.make_node("Mul", ["X", "alpha_t"], ["scaled"], name="fn/mul"),
         helper.make_node("Tanh", ["scaled"], ["Y"], name="fn/tanh")],
        opsets(18),
        attribute_protos=[helper.make_attribute("alpha", 2.0)],
        doc_string="tanh(alpha * X)",
    )
    twice = helper.make_function(
        "local.fns", "TanhTwice", ["A", "B"], ["C"],
        [helper.make_node("ScaledTanh", ["A"], ["ta"], domain="local.fns", alpha=0.5, name="fn2/a"),
         helper.make_node("ScaledTanh", ["B"], ["tb"], domain="local.fns", name="fn2/b"),
         helper.make_node("Add", ["ta", "tb"], ["C"], name="fn2/add")],
        opsets(18, local_fns=1),
    )
    nodes = [
        helper.make_node("ScaledTanh", ["x"], ["y1"], domain="local.fns", alpha=3.0, name="call1"),
        helper.make_node("ScaledTanh", ["x"], ["y2"], domain="local.fns", name="call_default"),
        helper.make_node("TanhTwice", ["y1", "y2"], ["y3"], domain="local.fns", name="call_nested"),
    ]
    g = helper.make_graph(
        nodes, "functions", [vi("x", F, [2, 3])],
        [vi("y1", F, [2, 3]), vi("y2", F, [2, 3]), vi("y3", F, [2, 3])],
    )
    m = make_model(g, opsets(18, local_fns=1), ir_version=10, functions=[scaled_tanh, twice])
    return m, {"x": randn(rng, 2, 3)}


# --------------------------------------------------------------------------- weights and types


def mlp_graph(name: str, rng) -> onnx.GraphProto:
    """x[2,16] -> MatMul W1[16,128] (8192 B, over the 4 KiB at which the text IR moves a
    constant to the resource section) + b1 (512 B) -> Relu -> MatMul W2[128,2] (exactly 1024 B)
    + b2 (8 B). Sizes straddle the default external-data threshold of 1024 bytes."""
    nodes = [
        helper.make_node("MatMul", ["x", "W1"], ["h"], name="fc1/matmul"),
        helper.make_node("Add", ["h", "b1"], ["hb"], name="fc1/add"),
        helper.make_node("Relu", ["hb"], ["r"], name="relu"),
        helper.make_node("MatMul", ["r", "W2"], ["o"], name="fc2/matmul"),
        helper.make_node("Add", ["o", "b2"], ["y"], name="fc2/add"),
    ]
    inits = [
        init("W1", randn(rng, 16, 128) * 0.25),
        init("b1", randn(rng, 128)),
        init("W2", randn(rng, 128, 2) * 0.25),
        init("b2", randn(rng, 2)),
    ]
    return helper.make_graph(nodes, name, [vi("x", F, [2, 16])], [vi("y", F, [2, 2])], inits)


# Sizes in bytes of the MLP initializers, used by the external-data tests.
MLP_INIT_BYTES = {"W1": 8192, "b1": 512, "W2": 1024, "b2": 8}


@model("mlp_mixed_sizes")
def mlp_mixed_sizes(_workdir):
    rng = rng_for("mlp")
    return make_model(mlp_graph("mlp", rng), opsets(17)), {"x": randn(rng, 2, 16)}


@model("external_data_one_file")
def external_one_file(workdir):
    rng = rng_for("external_one")
    m = make_model(mlp_graph("mlp_external", rng), opsets(17))
    path = save_with_external_data(m, workdir / "external_data_one_file.onnx", "external_data_one_file.weights")
    return path, {"x": randn(rng, 2, 16)}


@model("external_data_subdir_many_files")
def external_many_files(workdir):
    """External data in several files in a subdirectory (legal relative locations)."""
    rng = rng_for("external_many")
    m = make_model(mlp_graph("mlp_external_many", rng), opsets(17))
    sub = workdir / "external_data_subdir_many_files"
    sub.mkdir(parents=True, exist_ok=True)
    path = sub / "model.onnx"
    onnx.save_model(m, str(path), save_as_external_data=True, all_tensors_to_one_file=False,
                    size_threshold=0)
    # Move the per-tensor files into a subdirectory and point the model at them.
    m = onnx.load(str(path), load_external_data=False)
    (sub / "weights").mkdir(exist_ok=True)
    for t in m.graph.initializer:
        for entry in t.external_data:
            if entry.key == "location":
                (sub / entry.value).rename(sub / "weights" / entry.value)
                entry.value = f"weights/{entry.value}"
    onnx.save_model(m, str(path))
    return path, {"x": randn(rng, 2, 16)}


@model("float16_bfloat16_initializers")
def half_types(_workdir):
    rng = rng_for("half")
    bf16 = randn(rng, 4).astype(ml_dtypes.bfloat16)
    fp16_typed = randn(rng, 4).astype(np.float16)
    nodes = [
        helper.make_node("Cast", ["w16"], ["w16_f"], to=F),
        helper.make_node("Cast", ["wbf16"], ["wbf16_f"], to=F),
        helper.make_node("Cast", ["w16_typed"], ["w16t_f"], to=F),
        helper.make_node("MatMul", ["x", "w16_f"], ["mm"]),
        helper.make_node("Add", ["mm", "wbf16_f"], ["a"]),
        helper.make_node("Mul", ["a", "w16t_f"], ["y"]),
        helper.make_node("Cast", ["x16"], ["x16_f"], to=F),
        helper.make_node("Add", ["x16_f", "y"], ["sum"]),
        helper.make_node("Cast", ["sum"], ["y16"], to=TensorProto.FLOAT16),
        helper.make_node("Cast", ["y"], ["y_bf"], to=TensorProto.BFLOAT16),
        helper.make_node("Cast", ["y_bf"], ["y_bf_f"], to=F),
    ]
    inits = [
        init("w16", randn(rng, 4, 4).astype(np.float16)),
        helper.make_tensor("wbf16", TensorProto.BFLOAT16, [4], bf16.tobytes(), raw=True),
        # float16 in the typed field: int32_data holds the raw 16-bit patterns.
        helper.make_tensor("w16_typed", TensorProto.FLOAT16, [4], fp16_typed.view(np.uint16).tolist(),
                           raw=False),
    ]
    g = helper.make_graph(
        nodes, "half", [vi("x", F, [3, 4]), vi("x16", TensorProto.FLOAT16, [3, 4])],
        [vi("y16", TensorProto.FLOAT16, [3, 4]), vi("y_bf_f", F, [3, 4])], inits,
    )
    return make_model(g, opsets(17)), {"x": randn(rng, 3, 4), "x16": randn(rng, 3, 4).astype(np.float16)}


@model("int4_uint4_initializers")
def int4_uint4(_workdir):
    """int4/uint4 weights: per-tensor, per-axis and blocked DequantizeLinear, odd element
    counts (a padding nibble), and one int4 tensor in the typed field (int32_data)."""
    rng = rng_for("int4")
    nodes = [
        # uint4 blocked along axis 1, block 4: w_u [3, 8], scales/zero points [3, 2].
        helper.make_node("DequantizeLinear", ["w_u", "w_u_scale", "w_u_zp"], ["w_u_f"], axis=1, block_size=4),
        helper.make_node("MatMul", ["x", "w_u_f"], ["y_blocked"]),
        # int4 per-tensor with 5 x 3 = 15 values (odd).
        helper.make_node("DequantizeLinear", ["w_s", "w_s_scale", "w_s_zp"], ["w_s_f"]),
        # int4 in int32_data, per-axis along axis 0.
        helper.make_node("DequantizeLinear", ["w_t", "w_t_scale"], ["w_t_f"], axis=0),
        helper.make_node("Add", ["w_s_f", "w_t_f"], ["w_sum"]),
    ]
    inits = [
        int4_tensor("w_u", rng.integers(0, 16, (3, 8)), signed=False),
        init("w_u_scale", (np.abs(randn(rng, 3, 2)) * 0.1 + 0.01).astype(np.float32)),
        int4_tensor("w_u_zp", rng.integers(0, 16, (3, 2)), signed=False),
        int4_tensor("w_s", rng.integers(-8, 8, (5, 3)), signed=True),
        init("w_s_scale", np.array(0.125, np.float32)),
        int4_tensor("w_s_zp", np.array(-2), signed=True),
        int4_tensor("w_t", rng.integers(-8, 8, (5, 3)), signed=True, raw=False),
        init("w_t_scale", np.array([0.5, 0.25, 1.0, 2.0, 0.75], np.float32)),
    ]
    g = helper.make_graph(
        nodes, "int4", [vi("x", F, [2, 3])],
        [vi("y_blocked", F, [2, 8]), vi("w_sum", F, [5, 3])], inits,
    )
    return make_model(g, opsets(21)), {"x": randn(rng, 2, 3)}


@model("typed_field_initializers")
def typed_fields(_workdir):
    """Initializers stored in float_data / int64_data / int32_data / double_data /
    uint64_data / string_data instead of raw_data."""
    rng = rng_for("typed")
    nodes = [
        helper.make_node("Add", ["x", "f_typed"], ["a"]),
        helper.make_node("Reshape", ["a", "shape_typed"], ["r"]),
        helper.make_node("Gather", ["r", "idx_i32"], ["g"], axis=1),
        helper.make_node("Cast", ["d_typed"], ["d_f"], to=F),
        helper.make_node("Mul", ["g", "d_f"], ["gm"]),
        helper.make_node("Cast", ["u8_typed"], ["u8_f"], to=F),
        helper.make_node("Cast", ["i8_typed"], ["i8_f"], to=F),
        helper.make_node("Cast", ["u64_typed"], ["u64_f"], to=F),
        helper.make_node("Cast", ["bool_typed"], ["b_f"], to=F),
        helper.make_node("Sum", ["u8_f", "i8_f", "u64_f", "b_f"], ["ints_sum"]),
        helper.make_node("Add", ["gm", "ints_sum"], ["y"]),
        helper.make_node("Identity", ["s_typed"], ["strings"]),
    ]
    inits = [
        init("f_typed", randn(rng, 2, 6), raw=False),
        init("shape_typed", np.array([3, 4], np.int64), raw=False),
        init("idx_i32", np.array([3, 0], np.int32), raw=False),
        init("d_typed", rng.standard_normal(2).astype(np.float64), raw=False),
        init("u8_typed", np.array([0, 255], np.uint8), raw=False),
        init("i8_typed", np.array([-128, 127], np.int8), raw=False),
        init("u64_typed", np.array([0, 2**63 + 5], np.uint64), raw=False),
        init("bool_typed", np.array([True, False]), raw=False),
        helper.make_tensor("s_typed", TensorProto.STRING, [3], [b"alpha", b"", "\u00fcnic\u00f6de".encode()]),
    ]
    g = helper.make_graph(
        nodes, "typed", [vi("x", F, [2, 6])],
        [vi("y", F, [3, 2]), vi("strings", TensorProto.STRING, [3])], inits,
    )
    return make_model(g, opsets(17)), {"x": randn(rng, 2, 6)}


@model("special_float_values")
def special_floats(_workdir):
    """Initializers holding NaN (with payloads), signed zeros, infinities, denormals; an empty
    tensor and a scalar. Identity preserves the bits, so the outputs check them exactly."""
    rng = rng_for("special")
    bits = np.array([0x7FC00000, 0x7FC00123, 0xFFC00000, 0x7F800001, 0x80000000, 0x00000000,
                     0x7F800000, 0xFF800000, 0x00000001, 0x807FFFFF, 0x3F800000, 0x7F7FFFFF],
                    dtype=np.uint32)
    specials = bits.view(np.float32)
    nodes = [
        helper.make_node("Identity", ["specials"], ["specials_out"]),
        helper.make_node("Concat", ["x", "empty"], ["cat"], axis=0),
        helper.make_node("Mul", ["cat", "scalar"], ["y"]),
    ]
    inits = [
        init("specials", specials),
        init("empty", np.zeros((0, 3), np.float32)),
        init("scalar", np.array(-0.0, np.float32)),
    ]
    g = helper.make_graph(
        nodes, "special", [vi("x", F, [2, 3])],
        [vi("specials_out", F, [12]), vi("y", F, [2, 3])], inits,
    )
    return make_model(g, opsets(17)), {"x": randn(rng, 2, 3)}


# --------------------------------------------------------------------------- graph interface


@model("multiple_outputs_input_and_initializer")
def multi_outputs(_workdir):
    """Outputs: a computed value that is also consumed by another node, a graph input passed
    straight through, an initializer passed straight through, and a second computed value."""
    rng = rng_for("multi")
    nodes = [
        helper.make_node("Relu", ["x"], ["relu"], name="relu"),
        helper.make_node("Mul", ["relu", "c"], ["scaled"], name="mul"),
    ]
    g = helper.make_graph(
        nodes, "multi", [vi("x", F, [3]), vi("passthrough", F, [2, 2])],
        [vi("relu", F, [3]), vi("passthrough", F, [2, 2]), vi("c", F, [3]), vi("scaled", F, [3])],
        [init("c", randn(rng, 3))],
    )
    return make_model(g, opsets(17)), {"x": randn(rng, 3), "passthrough": randn(rng, 2, 2)}


@model("symbolic_dims_two_batch_sizes")
def symbolic_dims(_workdir):
    rng = rng_for("symbolic")
    nodes = [
        helper.make_node("MatMul", ["x", "W"], ["mm"], name="mm"),
        helper.make_node("Softmax", ["mm"], ["sm"], axis=-1, name="softmax"),
        helper.make_node("Shape", ["x"], ["x_shape"], name="shape"),
        helper.make_node("Gather", ["x_shape", "zero"], ["batch"], axis=0, name="batch"),
        helper.make_node("Concat", ["batch", "minus_one"], ["new_shape"], axis=0, name="concat"),
        helper.make_node("Reshape", ["seq_in", "new_shape"], ["flat"], name="reshape"),
    ]
    g = helper.make_graph(
        nodes, "symbolic",
        [vi("x", F, ["batch", 4]), vi("seq_in", F, ["batch", "seq", 2]),
         vi("other", F, [None, 3])],
        [vi("sm", F, ["batch", 3]), vi("flat", F, ["batch", "flat_len"]), vi("other", F, [None, 3])],
        [init("W", randn(rng, 4, 3)), init("zero", np.array([0], np.int64)),
         init("minus_one", np.array([-1], np.int64))],
    )
    feeds = [
        {"x": randn(rng, 1, 4), "seq_in": randn(rng, 1, 3, 2), "other": randn(rng, 2, 3)},
        {"x": randn(rng, 5, 4), "seq_in": randn(rng, 5, 7, 2), "other": randn(rng, 1, 3)},
    ]
    return make_model(g, opsets(17)), feeds


@model("metadata_docs_names")
def metadata(_workdir):
    """Model/graph/node/value doc strings, metadata_props, producer info, and names that are
    not MLIR identifiers (slashes, dots, colons, spaces, non-ASCII)."""
    rng = rng_for("metadata")
    nodes = [
        ordered_node("Conv", ["input:0", "/conv/weight.1"], ["/conv/Conv_output_0"],
                     [("strides", [1, 1]), ("pads", [0, 0, 0, 0]), ("kernel_shape", [1, 1]), ("dilations", [1, 1]),
                      ("group", 1)],
                     name="/conv/Conv", doc_string="a 1x1 convolution"),
        helper.make_node("Relu", ["/conv/Conv_output_0"], ["relu out"], name="relu node",
                         doc_string="multi\nline \"doc\""),
        helper.make_node("Sigmoid", ["relu out"], ["\u51fa\u529b"], name="\u30ce\u30fc\u30c9",
                         doc_string="\u00fcnic\u00f6de doc"),
    ]
    w = init("/conv/weight.1", randn(rng, 2, 3, 1, 1))
    w.doc_string = "weight doc"
    x = vi("input:0", F, [1, 3, 2, 2])
    x.doc_string = "the input"
    y = vi("\u51fa\u529b", F, [1, 2, 2, 2])
    y.doc_string = "the output"
    g = helper.make_graph(nodes, "graph with doc", [x], [y], [w], doc_string="graph doc string")
    m = make_model(
        g, opsets(17), producer_name="oracle-tests", producer_version="1.2.3", domain="org.example",
        model_version=42, doc_string="model doc string",
    )
    helper.set_model_props(m, {"author": "oracle", "license": "Apache-2.0", "empty": "",
                               "\u00fcnic\u00f6de key": "v\u00e4lue\nwith newline"})
    return m, {"input:0": randn(rng, 1, 3, 2, 2)}


@model("com_microsoft_fusedmatmul_gelu")
def com_microsoft(_workdir):
    rng = rng_for("msft")
    nodes = [
        helper.make_node("FusedMatMul", ["a", "b"], ["fm"], domain="com.microsoft", alpha=0.5, transB=1,
                         name="fused"),
        helper.make_node("Gelu", ["fm"], ["y"], domain="com.microsoft", name="gelu"),
    ]
    g = helper.make_graph(
        nodes, "msft", [vi("a", F, [2, 4])], [vi("y", F, [2, 3])], [init("b", randn(rng, 3, 4))],
    )
    return make_model(g, opsets(17, com_microsoft=1)), {"a": randn(rng, 2, 4)}


@model("sparse_initializer")
def sparse(_workdir):
    rng = rng_for("sparse")
    values = randn(rng, 5)
    indices = np.array([0, 3, 7, 12, 19], np.int64)  # linearized positions in a [4, 5] tensor
    sp = helper.make_sparse_tensor(
        numpy_helper.from_array(values, "sp_w"), numpy_helper.from_array(indices, "sp_w_indices"), [4, 5]
    )
    nodes = [helper.make_node("MatMul", ["x", "sp_w"], ["y"], name="mm")]
    g = helper.make_graph(nodes, "sparse", [vi("x", F, [2, 4])], [vi("y", F, [2, 5])],
                          sparse_initializer=[sp])
    return make_model(g, opsets(17)), {"x": randn(rng, 2, 4)}


@model("initializers_listed_as_inputs")
def old_ir_style(_workdir):
    """IR version 3 style: every initializer is also a graph input (with its type)."""
    rng = rng_for("old_ir")
    nodes = [
        helper.make_node("Gemm", ["x", "W", "B"], ["g"], transB=1),
        helper.make_node("Relu", ["g"], ["y"]),
    ]
    g = helper.make_graph(
        nodes, "old_ir",
        [vi("x", F, [2, 3]), vi("W", F, [4, 3]), vi("B", F, [4])],
        [vi("y", F, [2, 4])],
        [init("W", randn(rng, 4, 3)), init("B", randn(rng, 4))],
    )
    return make_model(g, opsets(10), ir_version=3), {"x": randn(rng, 2, 3)}


@model("constant_nodes_all_value_kinds")
def constant_nodes(_workdir):
    rng = rng_for("constants")
    nodes = [
        helper.make_node("Constant", [], ["c_float"], value_float=2.5, name="c_float"),
        helper.make_node("Constant", [], ["c_floats"], value_floats=[-2.0, 0.5], name="c_floats"),
        helper.make_node("Constant", [], ["c_int"], value_int=3, name="c_int"),
        helper.make_node("Constant", [], ["c_ints"], value_ints=[3, 2], name="c_ints"),
        helper.make_node("Constant", [], ["c_string"], value_string="hello", name="c_string"),
        helper.make_node("Constant", [], ["c_strings"], value_strings=["a", "bc"], name="c_strings"),
        helper.make_node("Constant", [], ["c_tensor"], name="c_tensor",
                         value=numpy_helper.from_array(randn(rng, 2, 3), "c_tensor_value")),
        helper.make_node("Mul", ["x", "c_float"], ["m"]),
        helper.make_node("Reshape", ["m", "c_ints"], ["r"]),
        helper.make_node("Mul", ["r", "c_floats"], ["rf"]),
        helper.make_node("Cast", ["c_int"], ["c_int_f"], to=F),
        helper.make_node("Add", ["rf", "c_int_f"], ["y"]),
        helper.make_node("Add", ["c_tensor", "x"], ["ts"]),
    ]
    g = helper.make_graph(
        nodes, "constants", [vi("x", F, [2, 3])],
        [vi("y", F, [3, 2]), vi("ts", F, [2, 3]), vi("c_string", TensorProto.STRING, []),
         vi("c_strings", TensorProto.STRING, [2])],
    )
    return make_model(g, opsets(13)), {"x": randn(rng, 2, 3)}


@model("empty_name_optional_inputs_outputs")
def optional_io(_workdir):
    """Optional inputs left out with an empty name (Clip without min, Resize without roi, and
    without roi and scales), and an optional output left out in the middle (LayerNormalization
    producing Y and InvStdDev but not Mean)."""
    rng = rng_for("optional")
    nodes = [
        helper.make_node("Clip", ["x", "", "hi"], ["clipped"], name="clip_no_min"),
        helper.make_node("Resize", ["clipped", "", "scales"], ["up"], mode="nearest", name="resize_scales"),
        helper.make_node("Resize", ["clipped", "", "", "sizes"], ["up2"], mode="linear",
                         name="resize_sizes"),
        helper.make_node("LayerNormalization", ["x", "ln_scale"], ["ln", "", "inv_std"], axis=-1,
                         name="ln_skip_mean"),
    ]
    inits = [
        init("hi", np.array(0.3, np.float32)),
        init("scales", np.array([1, 1, 2, 2], np.float32)),
        init("sizes", np.array([1, 2, 3, 5], np.int64)),
        init("ln_scale", randn(rng, 4)),
    ]
    g = helper.make_graph(
        nodes, "optional", [vi("x", F, [1, 2, 4, 4])],
        [vi("up", F, [1, 2, 8, 8]), vi("up2", F, [1, 2, 3, 5]), vi("ln", F, [1, 2, 4, 4]),
         vi("inv_std", F, [1, 2, 4, 1])],
        inits,
    )
    return make_model(g, opsets(18)), {"x": randn(rng, 1, 2, 4, 4)}
