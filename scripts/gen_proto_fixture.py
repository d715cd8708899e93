#!/usr/bin/env python3
"""Generate dialects/onnx/tests/data/all_fields.onnx: a wire-format fixture for the prost types of
dialects/onnx/src/proto.rs, written by the official protobuf implementation.

Usage:
    pip install onnx
    python3 scripts/gen_proto_fixture.py          # (re)write the fixture
    python3 scripts/gen_proto_fixture.py --check  # exit 1 if the committed fixture is stale

The model sets as many fields of onnx-ml.proto as it can: opset imports of several domains, model,
graph, node, tensor and function metadata, graph inputs/outputs/value_info with dim_value, dim_param,
unknown dims and denotations, tensor/sequence/map/optional/sparse-tensor/opaque types, initializers
in raw_data and in every typed field, a segment, an external-data tensor (the data file is not
written), sparse initializers, a quantization annotation, a node with attributes of every type
(including subgraphs, tensors, sparse tensors and type protos), multi-device configurations, a
model-local function with default attributes and a ref_attr_name attribute, and training info. It is
not meant to pass onnx.checker: it is about the wire format, not about a runnable model.

Two things keep it byte-for-byte reproducible by prost (tests/proto_fixture.rs compares the bytes):
  * proto2 singular scalars that are set to their default value (onnx's helpers write, for example,
    `domain: ""` for the default opset) are cleared by `normalize`, since proto.rs stores them as
    plain fields that are only written when non-default;
  * no TypeProto has both a denotation (field 6) and an opaque, sparse tensor or optional type
    (fields 7, 8, 9): prost writes a oneof at the position of its smallest field number (1), so it
    would put those before the denotation.
"""

import argparse
import pathlib
import sys

import numpy as np
import onnx
from onnx import AttributeProto, TensorProto, TypeProto, helper, numpy_helper

OUT = pathlib.Path(__file__).resolve().parent.parent / "dialects/onnx/tests/data/all_fields.onnx"

FLOAT = TensorProto.FLOAT


def props(**kv):
    return [onnx.StringStringEntryProto(key=k, value=v) for k, v in kv.items()]


def normalize(msg):
    """Clear singular non-oneof scalar fields that are set to their default value, recursively."""
    for fd, value in msg.ListFields():
        if fd.message_type is not None:
            for sub in value if fd.is_repeated else [value]:
                normalize(sub)
        elif not fd.is_repeated and fd.containing_oneof is None and value == fd.default_value:
            msg.ClearField(fd.name)


def types():
    """Value infos of every kind of type, with shapes of every kind of dimension."""
    x = helper.make_tensor_value_info(
        "X", FLOAT, ["N", 3, 4], shape_denotation=["DATA_BATCH", "DATA_CHANNEL", ""]
    )
    x.type.denotation = "TENSOR"
    x.doc_string = "the input"
    x.metadata_props.extend(props(role="input"))
    # A dimension with only a denotation: unknown size.
    unknown = helper.make_tensor_value_info("U", TensorProto.INT64, [None, 0])
    unknown.type.tensor_type.shape.dim[0].denotation = "DATA_FEATURE"
    no_shape = helper.make_tensor_value_info("R", TensorProto.BFLOAT16, None)  # unknown rank
    scalar = helper.make_tensor_value_info("S", TensorProto.DOUBLE, [])  # rank 0: empty shape present
    seq_t = helper.make_sequence_type_proto(helper.make_tensor_type_proto(FLOAT, ["L"]))
    seq_t.denotation = "SEQ"  # sequence_type is field 4, before denotation: fine
    seq = helper.make_value_info("seq", seq_t)
    map_t = helper.make_map_type_proto(
        TensorProto.STRING,
        helper.make_sequence_type_proto(helper.make_tensor_type_proto(TensorProto.INT8, [2])),
    )
    map_t.denotation = "MAP"  # map_type is field 5: fine
    map_v = helper.make_value_info("map", map_t)
    opt = helper.make_value_info(
        "opt",
        helper.make_optional_type_proto(helper.make_tensor_type_proto(TensorProto.FLOAT16, [1])),
    )
    sparse = helper.make_value_info(
        "sparse", helper.make_sparse_tensor_type_proto(FLOAT, [10, "M"])
    )
    opaque_t = TypeProto()
    opaque_t.opaque_type.domain = "com.example"
    opaque_t.opaque_type.name = "Handle"
    opaque = helper.make_value_info("opaque", opaque_t)
    return x, [unknown, no_shape, scalar, seq, map_v, opt, sparse, opaque]


def initializers():
    raw = numpy_helper.from_array(np.arange(12, dtype=np.float32).reshape(3, 4), "W")
    raw.doc_string = "raw_data"
    raw.metadata_props.extend(props(origin="arange"))
    floats = helper.make_tensor("f", FLOAT, [2], [1.5, -2.25])
    complex64 = helper.make_tensor("c64", TensorProto.COMPLEX64, [1], [complex(1.0, -1.0)])
    int32 = helper.make_tensor("i32", TensorProto.INT32, [3], [-1, 0, 2**31 - 1])
    int8 = helper.make_tensor("i8", TensorProto.INT8, [2], [-128, 127])
    fp16 = helper.make_tensor("h", TensorProto.FLOAT16, [2], np.array([1.0, -0.5], np.float16))
    int64 = helper.make_tensor("i64", TensorProto.INT64, [2], [-(2**63), 2**63 - 1])
    double = helper.make_tensor("d", TensorProto.DOUBLE, [2], [3.141592653589793, -1e300])
    uint64 = helper.make_tensor("u64", TensorProto.UINT64, [2], [2**64 - 1, 7])
    uint32 = helper.make_tensor("u32", TensorProto.UINT32, [1], [2**32 - 1])
    strings = helper.make_tensor("s", TensorProto.STRING, [3], [b"a", b"", "\u00e9t\u00e9".encode()])
    boolean = numpy_helper.from_array(np.array([True, False]), "b")
    empty = numpy_helper.from_array(np.zeros((0, 3), np.float32), "empty")
    segment = TensorProto(name="seg", data_type=FLOAT, dims=[4], float_data=[3.0, 4.0])
    segment.segment.begin = 2
    segment.segment.end = 4
    external = TensorProto(name="ext", data_type=FLOAT, dims=[1024, 1024])
    external.data_location = TensorProto.EXTERNAL
    external.external_data.extend(
        props(location="weights.bin", offset="4096", length="4194304", checksum="0" * 40)
    )
    return [raw, floats, complex64, int32, int8, fp16, int64, double, uint64, uint32, strings,
            boolean, empty, segment, external]


def sparse_tensor(name, dims=(3, 4)):
    values = helper.make_tensor(name, FLOAT, [2], [5.0, 6.0])
    indices = helper.make_tensor(name + "_idx", TensorProto.INT64, [2], [1, 10])
    return helper.make_sparse_tensor(values, indices, list(dims))


def subgraph(name):
    return helper.make_graph(
        [helper.make_node("Identity", ["a"], ["b"])],
        name,
        [helper.make_tensor_value_info("a", FLOAT, [1])],
        [helper.make_tensor_value_info("b", FLOAT, [1])],
    )


def all_attributes():
    tp = helper.make_tensor_type_proto(TensorProto.UINT8, ["K", 2])
    attrs = [
        helper.make_attribute("f", 0.25, doc_string="a float"),
        helper.make_attribute("i", -7),
        helper.make_attribute("s", b"bytes\x00\xff"),
        helper.make_attribute("t", helper.make_tensor("t", TensorProto.INT32, [1], [42])),
        helper.make_attribute("g", subgraph("g_body")),
        helper.make_attribute("sparse_tensor", sparse_tensor("sp_attr")),
        helper.make_attribute("tp", tp),
        helper.make_attribute("floats", [1.0, -0.5, 1e-3]),
        helper.make_attribute("ints", [1, -1, 2**40]),
        helper.make_attribute("strings", ["x", "y\u00fc"]),
        helper.make_attribute(
            "tensors",
            [helper.make_tensor("t0", FLOAT, [1], [1.0]), helper.make_tensor("t1", FLOAT, [], [2.0])],
        ),
        helper.make_attribute("graphs", [subgraph("g0"), subgraph("g1")]),
        helper.make_attribute("sparse_tensors", [sparse_tensor("sp0"), sparse_tensor("sp1", (12,))]),
        helper.make_attribute(
            "type_protos", [tp, helper.make_sequence_type_proto(helper.make_tensor_type_proto(FLOAT, None))]
        ),
        # Empty lists need their type spelled out.
        helper.make_attribute("empty_ints", [], attr_type=AttributeProto.INTS),
    ]
    return attrs


def device_configuration():
    spec = onnx.ShardingSpecProto(tensor_name="X", device=[0, 1, 5])
    spec.index_to_device_group_map.add(key=5, value=[2, 3])
    dim = spec.sharded_dim.add(axis=-1)
    dim.simple_sharding.add(dim_value=4, num_shards=2)
    dim.simple_sharding.add(dim_param="N", num_shards=3)
    return onnx.NodeDeviceConfigurationProto(
        configuration_id="two_gpus", sharding_spec=[spec], pipeline_stage=1
    )


def function():
    body = [
        helper.make_node("Mul", ["x", "x"], ["sq"]),
        helper.make_node(
            "LeakyRelu", ["sq"], ["y"], name="act",
        ),
    ]
    # alpha refers to the function's own attribute alpha.
    body[1].attribute.append(helper.make_attribute_ref("alpha", AttributeProto.FLOAT, "from the caller"))
    fn = helper.make_function(
        "local.fn",
        "SquareLeaky",
        ["x"],
        ["y"],
        body,
        [helper.make_opsetid("", 21)],
        attributes=["alpha"],
        attribute_protos=[helper.make_attribute("beta", 2.0), helper.make_attribute("mode", "fast")],
        doc_string="squares, then LeakyRelu",
        overload="v2",
        value_info=[helper.make_tensor_value_info("sq", FLOAT, ["N", 3, 4])],
    )
    fn.metadata_props.extend(props(author="gen_proto_fixture"))
    return fn


def model():
    x, value_info = types()
    inits = initializers()
    big = helper.make_node(
        "Custom",
        ["X", "", "W"],
        ["Z", ""],
        name="everything",
        domain="com.example",
        doc_string="a node with every attribute type",
    )
    big.attribute.extend(all_attributes())
    big.metadata_props.extend(props(source="line 1"))
    big.device_configurations.append(device_configuration())
    call = helper.make_node("SquareLeaky", ["Z"], ["Y"], domain="local.fn", overload="v2", alpha=0.1)
    graph = helper.make_graph(
        [big, call],
        "all_fields",
        [x],
        [helper.make_tensor_value_info("Y", FLOAT, ["N", 3, 4])],
        initializer=inits,
        doc_string="every field of onnx-ml.proto",
        value_info=value_info,
        sparse_initializer=[sparse_tensor("sparse_w")],
    )
    ann = graph.quantization_annotation.add(tensor_name="Z")
    ann.quant_parameter_tensor_names.extend(
        props(SCALE_TENSOR="f", ZERO_POINT_TENSOR="i8")
    )
    graph.metadata_props.extend(props(stage="fixture"))

    m = helper.make_model(
        graph,
        producer_name="gen_proto_fixture.py",
        producer_version=onnx.__version__,
        opset_imports=[
            helper.make_opsetid("", 21),
            helper.make_opsetid("ai.onnx.ml", 5),
            helper.make_opsetid("com.example", 1),
            helper.make_opsetid("local.fn", 1),
        ],
        functions=[function()],
    )
    m.ir_version = onnx.IR_VERSION
    m.domain = "org.onnxqc.test"
    m.model_version = 3
    m.doc_string = "A wire-format fixture."
    helper.set_model_props(m, {"license": "Apache-2.0", "empty": ""})

    init_graph = helper.make_graph(
        [helper.make_node("RandomNormal", [], ["W_init"], shape=[3, 4])],
        "init",
        [],
        [helper.make_tensor_value_info("W_init", FLOAT, [3, 4])],
    )
    algo_graph = helper.make_graph(
        [helper.make_node("Sub", ["W", "W"], ["W_new"])],
        "step",
        [],
        [helper.make_tensor_value_info("W_new", FLOAT, [3, 4])],
    )
    m.training_info.append(
        helper.make_training_info(algo_graph, [("W", "W_new")], init_graph, [("W", "W_init")])
    )
    m.configuration.add(name="two_gpus", num_devices=2, device=["cuda:0", "cuda:1"])
    normalize(m)
    return m


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--check", action="store_true", help="exit 1 if the fixture is stale")
    args = ap.parse_args()
    data = model().SerializeToString()
    if args.check:
        if not OUT.exists() or OUT.read_bytes() != data:
            print(f"{OUT} is stale: run scripts/gen_proto_fixture.py", file=sys.stderr)
            return 1
        return 0
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_bytes(data)
    print(f"wrote {OUT} ({len(data)} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
