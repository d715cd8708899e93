"""Self-made models for the quantization lowering oracles (test_qdq.py): each exercises a group of ONNX
Runtime's QDQ op handlers (weighted ops with biases, removable activations, shape ops that share their
input's parameters, generic wraps, normalizations, Softmax's fixed range, tensors read by several ops).
Each builder returns (model, [feeds, ...]) with a few calibration samples.
"""

from __future__ import annotations

import numpy as np
import onnx
from onnx import TensorProto, helper

from preprocess_models import G

F = TensorProto.FLOAT
QDQ_MODELS: dict = {}


def register(fn):
    QDQ_MODELS[fn.__name__] = fn
    return fn


def samples(name: str, shapes: dict, n: int = 4) -> list:
    rng = np.random.default_rng(abs(hash(name)) % (2**32))
    return [{k: rng.standard_normal(s).astype(np.float32) for k, s in shapes.items()} for _ in range(n)]


def model(g: G, name: str, inputs, outputs, opset: int) -> onnx.ModelProto:
    m = helper.make_model(
        g.graph(name, inputs, outputs), opset_imports=[helper.make_opsetid("", opset)], ir_version=8
    )
    onnx.checker.check_model(m, full_check=True)
    return m


@register
def cnn_residual():
    """Conv+bias → Relu (removable) → MaxPool (shared) → Conv → Clip(0, 6) → Add with a skip branch read by
    two ops → GlobalAveragePool → Flatten (shared) → Gemm(transB, bias, beta 1) → Softmax ([0, 1])."""
    g = G("cnn_residual")
    c1 = g.op("Conv", ["x", g.w(8, 3, 3, 3), g.const(np.linspace(-0.2, 0.3, 8).astype(np.float32), "b")], pads=[1, 1, 1, 1])
    r1 = g.op("Relu", [c1])
    p1 = g.op("MaxPool", [r1], kernel_shape=[2, 2], strides=[2, 2])
    c2 = g.op("Conv", [p1, g.w(8, 8, 3, 3, scale=0.1)], pads=[1, 1, 1, 1])
    lo, hi = g.const(np.float32(0.0), "lo"), g.const(np.float32(6.0), "hi")
    r2 = g.op("Clip", [c2, lo, hi])
    s = g.op("Add", [r2, p1])
    gp = g.op("GlobalAveragePool", [s])
    f = g.op("Flatten", [gp], axis=1)
    gm = g.op("Gemm", [f, g.w(10, 8), g.const(np.linspace(-1, 1, 10).astype(np.float32), "gb")], transB=1)
    out = g.op("Softmax", [gm], axis=1)
    g.nodes[-1].output[0] = "y"
    m = model(
        g,
        "cnn_residual",
        [helper.make_tensor_value_info("x", F, [1, 3, 16, 16])],
        [helper.make_tensor_value_info("y", F, [1, 10])],
        13,
    )
    del out
    return m, samples("cnn_residual", {"x": [1, 3, 16, 16]})


@register
def mlp_shapes():
    """MatMul with a constant B + bias Add → Sigmoid → Reshape/Transpose (shared) → activation×activation
    MatMul → Mul by a constant → Concat → Split (shared) → Sub of the halves; one output is also read by
    another op."""
    g = G("mlp_shapes")
    h = g.op("MatMul", ["x", g.w(16, 32)])
    h = g.op("Add", [h, g.const(np.linspace(-0.5, 0.5, 32).astype(np.float32), "bias")])
    s = g.op("Sigmoid", [h])
    r = g.op("Reshape", [s, g.const(np.array([2, 4, 8], dtype=np.int64), "shape")])
    t = g.op("Transpose", [r], perm=[0, 2, 1])
    mm = g.op("MatMul", [r, t])
    mu = g.op("Mul", [mm, g.const(np.float32(0.5), "half")])
    cat = g.op("Concat", [mu, mm], axis=2)
    a, b = g.op("Split", [cat, g.const(np.array([4, 4], dtype=np.int64), "split")], n_out=2, axis=2)
    d = g.op("Sub", [a, b])
    g.nodes[-1].output[0] = "y"
    m = model(
        g,
        "mlp_shapes",
        [helper.make_tensor_value_info("x", F, [2, 16])],
        [helper.make_tensor_value_info("y", F, [2, 4, 4])],
        13,
    )
    del d
    return m, samples("mlp_shapes", {"x": [2, 16]})


@register
def norm_pad_resize():
    """LayerNormalization (scale per channel, bias) → Pad with 0 (shared) and edge (shared) → Resize
    (shared) → Slice (shared) → Gather of a constant table (quantized as an activation) → Where → output."""
    g = G("norm_pad_resize")
    ln = g.op(
        "LayerNormalization",
        ["x", g.const((1 + 0.2 * g.rng.standard_normal(8)).astype(np.float32), "gamma"),
         g.const((0.1 * g.rng.standard_normal(8)).astype(np.float32), "beta")],
        axis=-1,
    )
    p0 = g.op("Pad", [ln, g.const(np.array([0, 0, 1, 1, 0, 0, 1, 1], dtype=np.int64), "pads")], mode="constant")
    pe = g.op("Pad", [p0, g.const(np.array([0, 0, 1, 0, 0, 0, 0, 1], dtype=np.int64), "pads")], mode="edge")
    rs = g.op("Resize", [pe, "", g.const(np.array([1, 1, 2, 2], dtype=np.float32), "scales")], mode="nearest")
    sl = g.op("Slice", [rs, g.const(np.array([1, 1], dtype=np.int64), "st"), g.const(np.array([9, 9], dtype=np.int64), "en"),
                        g.const(np.array([2, 3], dtype=np.int64), "ax")])
    table = g.const(g.rng.standard_normal((5, 8)).astype(np.float32), "table")
    ga = g.op("Gather", [table, "ids"])
    cond = g.op("Greater", [ga, g.const(np.float32(0.0), "zero")])
    w = g.op("Where", [cond, ga, g.op("Neg", [ga])])
    red = g.op("ReduceMean", [sl], axes=[1, 2], keepdims=0)
    y = g.op("Add", [w, red])
    g.nodes[-1].output[0] = "y"
    m = model(
        g,
        "norm_pad_resize",
        [helper.make_tensor_value_info("x", F, [2, 4, 4, 8]), helper.make_tensor_value_info("ids", TensorProto.INT64, [2])],
        [helper.make_tensor_value_info("y", F, [2, 8])],
        17,
    )
    del y
    rng = np.random.default_rng(7)
    feeds = samples("norm_pad_resize", {"x": [2, 4, 4, 8]})
    for f in feeds:
        f["ids"] = rng.integers(0, 5, 2).astype(np.int64)
    return m, feeds


@register
def conv_large_bias():
    """A Conv whose bias is far larger than s_in·s_w allows in int32 (tiny input range, tiny weights, large
    bias): ONNX Runtime raises the weight's scale so that the bias fits (per tensor and per channel);
    followed by a Gemm with beta 1 and a MatMul whose B is a constant read by two MatMuls."""
    g = G("conv_large_bias")
    w = (g.rng.standard_normal((4, 2, 3, 3)) * 1e-4).astype(np.float32)
    c = g.op("Conv", ["x", g.const(w, "w"), g.const(np.array([100.0, -50.0, 3.0, 0.0], np.float32), "b")], pads=[1, 1, 1, 1])
    f = g.op("Flatten", [c], axis=1)
    gm = g.op("Gemm", [f, g.w(64, 5, scale=0.05), g.const(np.array([1e4, -2.0, 0.5, 0.0, 3.0], np.float32), "gb")])
    shared = g.w(5, 5)
    m1 = g.op("MatMul", [gm, shared])
    m2 = g.op("MatMul", [m1, shared])
    g.nodes[-1].output[0] = "y"
    m = model(
        g,
        "conv_large_bias",
        [helper.make_tensor_value_info("x", F, [1, 2, 4, 4])],
        [helper.make_tensor_value_info("y", F, [1, 5])],
        13,
    )
    del m2
    feeds = [{"x": (f["x"] * 1e-3).astype(np.float32)} for f in samples("conv_large_bias", {"x": [1, 2, 4, 4]})]
    return m, feeds
