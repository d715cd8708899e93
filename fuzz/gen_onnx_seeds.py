#!/usr/bin/env python3
"""Writes small ONNX models as seeds for the `onnx_import` fuzz target.

    python3 fuzz/gen_onnx_seeds.py OUT_DIR

Each model is a few hundred bytes to a few KB and exercises one area of the importer: subgraphs (If, Loop,
Scan, nested), initializers of every tensor element type in both encodings (raw_data and the typed
fields), attributes of every AttributeProto kind, quantized (QDQ and com.microsoft QLinear) graphs,
model-local functions, sequence/optional/sparse types, symbolic dims, sparse initializers, external data
(which the importer must refuse without a base directory), empty optional inputs and metadata. Seeds need
not pass onnx.checker (some use unknown ops or odd types on purpose); they only have to be well-formed
protobuf so that the fuzzer starts deep inside the importer.
"""

import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

T = TensorProto
OPSET = [helper.make_opsetid("", 21), helper.make_opsetid("com.microsoft", 1)]


def model(graph, opsets=OPSET, **kw):
    m = helper.make_model(graph, opset_imports=opsets, producer_name="onnxqc-fuzz-seeds", **kw)
    m.ir_version = 10
    return m


def vi(name, elem, shape):
    return helper.make_tensor_value_info(name, elem, shape)


def raw_tensor(name, data_type, dims, raw):
    """A tensor with only raw_data set (no helper checks, so any element type works)."""
    t = TensorProto()
    t.name = name
    t.data_type = data_type
    t.dims.extend(dims)
    t.raw_data = bytes(raw)
    return t


def initializers_model():
    """One initializer per element type, raw and typed encodings, each passed through Identity."""
    inits = []
    # numpy-backed (raw_data) tensors
    for name, arr in [
        ("f32", np.array([[1.5, -2.0], [0.0, 3.25]], dtype=np.float32)),
        ("f64", np.array([1e-300, -0.0, 2.5], dtype=np.float64)),
        ("f16", np.array([1.0, 65504.0, -0.5], dtype=np.float16)),
        ("i8", np.array([-128, 0, 127], dtype=np.int8)),
        ("u8", np.array([0, 128, 255], dtype=np.uint8)),
        ("i16", np.array([-32768, 7], dtype=np.int16)),
        ("u16", np.array([65535, 1], dtype=np.uint16)),
        ("i32", np.array([-(2**31), 2**31 - 1], dtype=np.int32)),
        ("u32", np.array([2**32 - 1], dtype=np.uint32)),
        ("i64", np.array([-(2**63), 2**63 - 1, 42], dtype=np.int64)),
        ("u64", np.array([2**64 - 1], dtype=np.uint64)),
        ("b", np.array([True, False, True], dtype=np.bool_)),
        ("c64", np.array([1 + 2j], dtype=np.complex64)),
        ("c128", np.array([3 - 4j], dtype=np.complex128)),
        ("scalar", np.array(7.0, dtype=np.float32)),
        ("empty", np.zeros((0, 3), dtype=np.float32)),
    ]:
        inits.append(numpy_helper.from_array(arr, name))
    # typed-field encodings
    inits.append(helper.make_tensor("tf32", T.FLOAT, [3], [1.0, float("nan"), float("-inf")]))
    inits.append(helper.make_tensor("ti8", T.INT8, [2], [-1, 5]))
    inits.append(helper.make_tensor("tu8", T.UINT8, [2], [200, 5]))
    inits.append(helper.make_tensor("ti64", T.INT64, [2], [1, -1]))
    inits.append(helper.make_tensor("tf64", T.DOUBLE, [1], [0.1]))
    inits.append(helper.make_tensor("tu64", T.UINT64, [1], [2**64 - 1]))
    inits.append(helper.make_tensor("tbool", T.BOOL, [2], [True, False]))
    inits.append(helper.make_tensor("tf16", T.FLOAT16, [2], np.array([1.0, 2.0], dtype=np.float16)))
    inits.append(helper.make_tensor("tstr", T.STRING, [2], [b"hello", b"\xff\x00bytes"]))
    # exotic types, raw only
    inits.append(raw_tensor("bf16", T.BFLOAT16, [2], b"\x80\x3f\x00\xc0"))
    inits.append(raw_tensor("f8e4m3fn", T.FLOAT8E4M3FN, [3], b"\x38\x7e\x80"))
    inits.append(raw_tensor("f8e4m3fnuz", T.FLOAT8E4M3FNUZ, [2], b"\x40\x80"))
    inits.append(raw_tensor("f8e5m2", T.FLOAT8E5M2, [2], b"\x3c\x7c"))
    inits.append(raw_tensor("f8e5m2fnuz", T.FLOAT8E5M2FNUZ, [2], b"\x40\x80"))
    inits.append(raw_tensor("f8e8m0", T.FLOAT8E8M0, [2], b"\x7f\xff"))
    inits.append(raw_tensor("i4", T.INT4, [3], b"\x8f\x07"))  # packed, odd count
    inits.append(raw_tensor("u4", T.UINT4, [4], b"\x21\xf0"))
    inits.append(raw_tensor("f4", T.FLOAT4E2M1, [2], b"\x72"))
    inits.append(raw_tensor("i2", T.INT2, [5], b"\x1b\x02"))
    inits.append(raw_tensor("u2", T.UINT2, [4], b"\xe4"))
    # Identity takes float8e8m0 and 2-bit types from opset 25 on.
    return model(identity_graph("initializers", inits), [helper.make_opsetid("", 25)])


def identity_graph(name, inits):
    """A graph that passes each initializer through an Identity node to a graph output."""
    nodes, outputs = [], []
    for t in inits:
        nodes.append(helper.make_node("Identity", [t.name], [t.name + "_out"], name="id_" + t.name))
        outputs.append(vi(t.name + "_out", t.data_type, list(t.dims)))
    return helper.make_graph(nodes, name, [], outputs, initializer=inits)


def bad_initializers_model():
    """Raw data of the wrong size, typed data of the wrong count, both encodings at once, negative dims:
    the importer must give errors, never read out of bounds or allocate without limit."""
    count = helper.make_tensor("count", T.INT32, [2], [1, 2])
    count.dims[0] = 3
    both = helper.make_tensor("both", T.FLOAT, [1], [1.0])
    both.raw_data = b"\x00\x00\x80\x3f"
    return model(
        identity_graph(
            "bad_initializers",
            [
                raw_tensor("short", T.FLOAT, [4], b"\x00\x00\x80\x3f"),
                raw_tensor("long", T.INT4, [1], b"\x01\x02\x03"),
                count,
                both,
                raw_tensor("neg", T.UINT8, [-1], b""),
                raw_tensor("huge", T.UINT8, [2**40, 2**40], b""),
                raw_tensor("undef", T.UNDEFINED, [1], b"\x00"),
                raw_tensor("unknown_type", 99, [1], b"\x00"),
            ],
        )
    )


def attributes_model():
    """Every AttributeProto kind on a custom-domain op, plus ordinary attributes on ONNX ops."""
    sub = helper.make_graph(
        [helper.make_node("Neg", ["sx"], ["sy"])],
        "attr_graph",
        [vi("sx", T.FLOAT, [1])],
        [vi("sy", T.FLOAT, [1])],
    )
    sparse = helper.make_sparse_tensor(
        helper.make_tensor("sv", T.FLOAT, [2], [1.0, 2.0]),
        helper.make_tensor("si", T.INT64, [2], [0, 3]),
        [4],
    )
    tp = helper.make_tensor_type_proto(T.INT8, [1, "N"])
    custom = helper.make_node(
        "Everything",
        ["x"],
        ["y"],
        domain="test.fuzz",
        name="every_attr_kind",
        f=0.25,
        i=-3,
        s=b"str\x00ing",
        t=helper.make_tensor("at", T.INT32, [2], [1, 2]),
        g=sub,
        floats=[1.0, -1.0],
        ints=[1, 2, 3],
        strings=[b"a", b"bc"],
        tensors=[helper.make_tensor("at1", T.FLOAT, [1], [1.0]), helper.make_tensor("at2", T.INT64, [], [5])],
        graphs=[sub, sub],
        sparse=sparse,
        sparses=[sparse],
        tproto=tp,
        tprotos=[tp, helper.make_sequence_type_proto(tp)],
    )
    # An attribute referring to a function attribute (ref_attr_name), and an empty list attribute.
    ref = helper.make_node("Elu", ["y"], ["z"], name="elu")
    a = onnx.AttributeProto()
    a.name = "alpha"
    a.type = onnx.AttributeProto.FLOAT
    a.ref_attr_name = "outer_alpha"
    ref.attribute.append(a)
    empty = helper.make_node("Transpose", ["z"], ["w"], name="tr")
    e = onnx.AttributeProto()
    e.name = "perm"
    e.type = onnx.AttributeProto.INTS
    empty.attribute.append(e)
    conv = helper.make_node(
        "Conv", ["x4", "wt"], ["c"], kernel_shape=[1, 1], pads=[0, 0, 0, 0], strides=[1, 1],
        auto_pad="NOTSET", group=1, name="conv",
    )
    g = helper.make_graph(
        [custom, ref, empty, conv],
        "attributes",
        [vi("x", T.FLOAT, [1]), vi("x4", T.FLOAT, [1, 1, 2, 2])],
        [vi("w", T.FLOAT, [1]), vi("c", T.FLOAT, [1, 1, 2, 2])],
        initializer=[numpy_helper.from_array(np.ones((1, 1, 1, 1), np.float32), "wt")],
    )
    return model(g, OPSET + [helper.make_opsetid("test.fuzz", 1)])


def if_model():
    """If with two branches that capture an outer-scope value."""
    then_g = helper.make_graph(
        [helper.make_node("Add", ["x", "outer"], ["t_out"])], "then", [], [vi("t_out", T.FLOAT, [2])]
    )
    else_g = helper.make_graph(
        [helper.make_node("Sub", ["x", "outer"], ["e_out"])], "else", [], [vi("e_out", T.FLOAT, [2])]
    )
    nodes = [
        helper.make_node("Relu", ["x"], ["outer"]),
        helper.make_node("If", ["cond"], ["y"], then_branch=then_g, else_branch=else_g, name="if"),
    ]
    g = helper.make_graph(nodes, "if", [vi("cond", T.BOOL, []), vi("x", T.FLOAT, [2])], [vi("y", T.FLOAT, [2])])
    return model(g)


def loop_model():
    """Loop with a carried value, a scan output, and an If nested in the body."""
    inner_then = helper.make_graph(
        [helper.make_node("Identity", ["c_in"], ["it"])], "inner_then", [], [vi("it", T.FLOAT, [1])]
    )
    inner_else = helper.make_graph(
        [helper.make_node("Neg", ["c_in"], ["ie"])], "inner_else", [], [vi("ie", T.FLOAT, [1])]
    )
    body = helper.make_graph(
        [
            helper.make_node("Add", ["c_in", "one"], ["sum"]),
            helper.make_node("If", ["cond_in"], ["c_out"], then_branch=inner_then, else_branch=inner_else),
            helper.make_node("Identity", ["cond_in"], ["cond_out"]),
            helper.make_node("Identity", ["sum"], ["scan_out"]),
        ],
        "body",
        [vi("iter", T.INT64, []), vi("cond_in", T.BOOL, []), vi("c_in", T.FLOAT, [1])],
        [vi("cond_out", T.BOOL, []), vi("c_out", T.FLOAT, [1]), vi("scan_out", T.FLOAT, [1])],
    )
    nodes = [helper.make_node("Loop", ["trip", "cond", "init"], ["final", "scans"], body=body, name="loop")]
    g = helper.make_graph(
        nodes,
        "loop",
        [vi("trip", T.INT64, []), vi("cond", T.BOOL, []), vi("init", T.FLOAT, [1])],
        [vi("final", T.FLOAT, [1]), vi("scans", T.FLOAT, ["T", 1])],
        initializer=[numpy_helper.from_array(np.array([1.0], np.float32), "one")],
    )
    return model(g)


def scan_model():
    body = helper.make_graph(
        [helper.make_node("Add", ["s_in", "x_t"], ["s_out"]), helper.make_node("Identity", ["s_out"], ["y_t"])],
        "scan_body",
        [vi("s_in", T.FLOAT, [2]), vi("x_t", T.FLOAT, [2])],
        [vi("s_out", T.FLOAT, [2]), vi("y_t", T.FLOAT, [2])],
    )
    nodes = [helper.make_node("Scan", ["init", "xs"], ["final", "ys"], body=body, num_scan_inputs=1)]
    g = helper.make_graph(
        nodes,
        "scan",
        [vi("init", T.FLOAT, [2]), vi("xs", T.FLOAT, [3, 2])],
        [vi("final", T.FLOAT, [2]), vi("ys", T.FLOAT, [3, 2])],
    )
    return model(g)


def qdq_model():
    """QDQ Conv with per-channel weights, plus a com.microsoft QLinearConv and an int4 weight."""
    w = np.arange(2 * 1 * 3 * 3, dtype=np.int8).reshape(2, 1, 3, 3)
    inits = [
        numpy_helper.from_array(np.array(0.02, np.float32), "x_scale"),
        numpy_helper.from_array(np.array(3, np.uint8), "x_zp"),
        numpy_helper.from_array(w, "w_q"),
        numpy_helper.from_array(np.array([0.1, 0.2], np.float32), "w_scale"),
        numpy_helper.from_array(np.array([0, 0], np.int8), "w_zp"),
        numpy_helper.from_array(np.array([5, -5], np.int32), "b_q"),
        numpy_helper.from_array(np.array([0.002, 0.004], np.float32), "b_scale"),
        numpy_helper.from_array(np.array(0.05, np.float32), "y_scale"),
        numpy_helper.from_array(np.array(128, np.uint8), "y_zp"),
        raw_tensor("w4", T.INT4, [2, 2], b"\x12\xf7"),
        numpy_helper.from_array(np.array([0.5, 0.25], np.float32), "w4_scale"),
    ]
    nodes = [
        helper.make_node("QuantizeLinear", ["x", "x_scale", "x_zp"], ["xq"]),
        helper.make_node("DequantizeLinear", ["xq", "x_scale", "x_zp"], ["xd"]),
        helper.make_node("DequantizeLinear", ["w_q", "w_scale", "w_zp"], ["wd"], axis=0),
        helper.make_node("DequantizeLinear", ["b_q", "b_scale"], ["bd"], axis=0),
        helper.make_node("Conv", ["xd", "wd", "bd"], ["y"], kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
        helper.make_node(
            "QLinearConv",
            ["xq", "x_scale", "x_zp", "w_q", "w_scale", "w_zp", "y_scale", "y_zp", "b_q"],
            ["yq"],
            domain="com.microsoft",
            kernel_shape=[3, 3],
            pads=[1, 1, 1, 1],
        ),
        helper.make_node("DequantizeLinear", ["w4", "w4_scale"], ["w4d"], axis=0, block_size=0),
    ]
    g = helper.make_graph(
        nodes,
        "qdq",
        [vi("x", T.FLOAT, [1, 1, 4, 4])],
        [vi("y", T.FLOAT, [1, 2, 4, 4]), vi("yq", T.UINT8, [1, 2, 4, 4]), vi("w4d", T.FLOAT, [2, 2])],
        initializer=inits,
    )
    return model(g)


def function_model():
    """A model-local function with an attribute parameter, called twice."""
    fn = helper.make_function(
        "local.fns",
        "ScaledRelu",
        ["X"],
        ["Y"],
        [
            helper.make_node("Relu", ["X"], ["R"]),
            helper.make_node("Constant", [], ["S"], value_float=2.0),
            helper.make_node("Mul", ["R", "S"], ["Y"]),
        ],
        [helper.make_opsetid("", 21)],
        attributes=["unused_attr"],
    )
    nodes = [
        helper.make_node("ScaledRelu", ["x"], ["h"], domain="local.fns"),
        helper.make_node("ScaledRelu", ["h"], ["y"], domain="local.fns"),
    ]
    g = helper.make_graph(nodes, "functions", [vi("x", T.FLOAT, [3])], [vi("y", T.FLOAT, [3])])
    return model(g, OPSET + [helper.make_opsetid("local.fns", 1)], functions=[fn])


def types_model():
    """Sequence, optional, map and sparse value types; symbolic and unknown dims; unknown rank."""
    seq = helper.make_tensor_sequence_value_info("seq", T.FLOAT, ["N", None])
    opt_tp = helper.make_optional_type_proto(helper.make_tensor_type_proto(T.INT64, [2]))
    opt = helper.make_value_info("opt", opt_tp)
    sparse = helper.make_sparse_tensor_value_info("sp", T.FLOAT, [4, 4])
    map_tp = onnx.TypeProto()
    map_tp.map_type.key_type = T.STRING
    map_tp.map_type.value_type.CopyFrom(helper.make_tensor_type_proto(T.FLOAT, []))
    mp = helper.make_value_info("mp", map_tp)
    nodes = [
        helper.make_node("SequenceLength", ["seq"], ["len"]),
        helper.make_node("OptionalHasElement", ["opt"], ["has"]),
        helper.make_node("Identity", ["dyn"], ["dyn_out"]),
    ]
    g = helper.make_graph(
        nodes,
        "types",
        [seq, opt, sparse, mp, vi("dyn", T.FLOAT, ["batch", None, 3])],
        [vi("len", T.INT64, []), vi("has", T.BOOL, []), vi("dyn_out", T.FLOAT, ["batch", None, 3])],
        value_info=[vi("unused_vi", T.FLOAT16, [1])],
    )
    return model(g)


def sparse_init_model():
    sp = helper.make_sparse_tensor(
        helper.make_tensor("s", T.FLOAT, [3], [1.0, 2.0, 3.0]),
        helper.make_tensor("s_idx", T.INT64, [3, 2], [0, 0, 1, 2, 3, 3]),
        [4, 4],
    )
    g = helper.make_graph(
        [helper.make_node("Identity", ["s"], ["y"])], "sparse_init", [], [vi("y", T.FLOAT, [4, 4])],
        sparse_initializer=[sp],
    )
    return model(g)


def external_model():
    """An initializer stored as external data: with no base directory the importer must refuse it."""
    t = TensorProto()
    t.name = "ext"
    t.data_type = T.FLOAT
    t.dims.extend([4])
    t.data_location = TensorProto.EXTERNAL
    for k, v in [("location", "../../etc/passwd"), ("offset", "0"), ("length", "16")]:
        e = t.external_data.add()
        e.key, e.value = k, v
    g = helper.make_graph(
        [helper.make_node("Identity", ["ext"], ["y"])], "external", [], [vi("y", T.FLOAT, [4])], initializer=[t]
    )
    return model(g)


def misc_model():
    """Empty optional inputs, Constant with each value_* attribute, duplicate-looking names, metadata."""
    nodes = [
        helper.make_node("Constant", [], ["c_t"], value=helper.make_tensor("v", T.FLOAT, [2], [1.0, 2.0])),
        helper.make_node("Constant", [], ["c_f"], value_float=1.5),
        helper.make_node("Constant", [], ["c_fs"], value_floats=[1.0, 2.0]),
        helper.make_node("Constant", [], ["c_i"], value_int=3),
        helper.make_node("Constant", [], ["c_is"], value_ints=[3, 4]),
        helper.make_node("Constant", [], ["c_s"], value_string="s"),
        helper.make_node("Constant", [], ["c_ss"], value_strings=["a", "b"]),
        helper.make_node("Clip", ["x", "", "c_f"], ["clipped"], name="clip with \"quotes\" and spaces"),
        helper.make_node("Resize", ["clipped", "", "", "sizes"], ["resized"], mode="nearest"),
        helper.make_node("Identity", ["x"], ["%weird name/0:1"]),
    ]
    g = helper.make_graph(
        nodes,
        "misc",
        [vi("x", T.FLOAT, [1, 1, 2, 2])],
        [vi("resized", T.FLOAT, [1, 1, 4, 4]), vi("%weird name/0:1", T.FLOAT, [1, 1, 2, 2]), vi("c_ss", T.STRING, [2])],
        initializer=[numpy_helper.from_array(np.array([1, 1, 4, 4], np.int64), "sizes")],
        doc_string="graph doc",
    )
    m = model(g, doc_string="model doc", domain="fuzz.seed", model_version=3)
    helper.set_model_props(m, {"author": "fuzz", "empty": ""})
    m.graph.node[0].metadata_props.add(key="k", value="v")
    return m


def old_opset_model():
    """An old IR version/opset with the legacy `ai.onnx` domain spelling."""
    g = helper.make_graph(
        [helper.make_node("Upsample", ["x", "scales"], ["y"], mode="nearest")],
        "old",
        [vi("x", T.FLOAT, [1, 1, 2, 2])],
        [vi("y", T.FLOAT, [1, 1, 4, 4])],
        initializer=[numpy_helper.from_array(np.array([1, 1, 2, 2], np.float32), "scales")],
    )
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("ai.onnx", 9)])
    m.ir_version = 4
    return m


MODELS = {
    "initializers": initializers_model,
    "bad_initializers": bad_initializers_model,
    "attributes": attributes_model,
    "if": if_model,
    "loop": loop_model,
    "scan": scan_model,
    "qdq": qdq_model,
    "functions": function_model,
    "types": types_model,
    "sparse_init": sparse_init_model,
    "external": external_model,
    "misc": misc_model,
    "old_opset": old_opset_model,
}


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    for name, build in MODELS.items():
        data = build().SerializeToString()
        with open(os.path.join(out, f"gen_{name}.onnx"), "wb") as f:
            f.write(data)
        print(f"{name}: {len(data)} bytes")
    # The empty input and a bare graph-less ModelProto, too.
    open(os.path.join(out, "gen_empty.onnx"), "wb").close()
    with open(os.path.join(out, "gen_no_graph.onnx"), "wb") as f:
        f.write(onnx.ModelProto(ir_version=10).SerializeToString())


if __name__ == "__main__":
    main()
