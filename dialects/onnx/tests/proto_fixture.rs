//! Wire-format tests of the prost ONNX types in `onnxqc_onnx::proto` against
//! `tests/data/all_fields.onnx`, a model written by onnx's python package (with the official protobuf
//! runtime) that sets nearly every field of the schema; `scripts/gen_proto_fixture.py` regenerates
//! it. Decoding must see the fields python wrote, and re-encoding must give back the very same bytes:
//! both encoders write fields in field-number order, with the same packed/unpacked choices. The
//! generator keeps the fixture away from the two cases where the bytes cannot match (explicitly
//! written default values of proto2 scalars, and a `TypeProto` denotation before a oneof field
//! numbered above it); the last tests here check that those still decode to the same messages.

use bytes::Bytes;
use onnxqc_onnx::proto::{
    attribute_proto::AttributeType, tensor_proto, tensor_shape_proto::dimension, type_proto,
    AttributeProto, ModelProto, OperatorSetIdProto, TypeProto, Version,
};
use prost::Message;

fn fixture() -> Bytes {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/all_fields.onnx");
    Bytes::from(std::fs::read(path).expect("read fixture (scripts/gen_proto_fixture.py)"))
}

fn attr<'a>(attrs: &'a [AttributeProto], name: &str) -> &'a AttributeProto {
    attrs
        .iter()
        .find(|a| a.name == name)
        .unwrap_or_else(|| panic!("attribute {name}"))
}

#[test]
fn decode_sees_the_fields_python_wrote() {
    let model = ModelProto::decode(fixture()).unwrap();
    assert_eq!(model.ir_version, Version::IrVersion as i64);
    assert_eq!(model.producer_name, "gen_proto_fixture.py");
    assert_eq!(model.domain, "org.onnxqc.test");
    assert_eq!(model.model_version, 3);
    let opsets: Vec<(&str, i64)> = model
        .opset_import
        .iter()
        .map(|o| (o.domain.as_str(), o.version))
        .collect();
    assert_eq!(
        opsets,
        [
            ("", 21),
            ("ai.onnx.ml", 5),
            ("com.example", 1),
            ("local.fn", 1)
        ]
    );
    assert_eq!(model.metadata_props[0].key, "license");
    assert_eq!(model.metadata_props[1].value, "");
    assert_eq!(model.configuration[0].num_devices, 2);

    let graph = model.graph.as_ref().unwrap();
    assert_eq!(graph.name, "all_fields");

    // Shapes: a symbolic dim with a denotation, a fixed dim, and the type denotation.
    let x = &graph.input[0];
    let Some(type_proto::Value::TensorType(t)) = &x.r#type.as_ref().unwrap().value else {
        panic!("X is a tensor");
    };
    assert_eq!(t.elem_type, tensor_proto::DataType::Float as i32);
    let dims = &t.shape.as_ref().unwrap().dim;
    assert_eq!(dims[0].value, Some(dimension::Value::DimParam("N".into())));
    assert_eq!(dims[0].denotation, "DATA_BATCH");
    assert_eq!(dims[1].value, Some(dimension::Value::DimValue(3)));
    assert_eq!(x.r#type.as_ref().unwrap().denotation, "TENSOR");

    // A map from string to sequence of int8 tensors.
    let map = graph.value_info.iter().find(|v| v.name == "map").unwrap();
    let Some(type_proto::Value::MapType(m)) = &map.r#type.as_ref().unwrap().value else {
        panic!("map is a map");
    };
    assert_eq!(m.key_type, tensor_proto::DataType::String as i32);
    assert!(matches!(
        m.value_type.as_ref().unwrap().value,
        Some(type_proto::Value::SequenceType(_))
    ));

    // Initializers: raw_data, typed fields, external data.
    let init = |name: &str| graph.initializer.iter().find(|t| t.name == name).unwrap();
    let w = init("W");
    assert_eq!(w.dims, [3, 4]);
    let w_values: Vec<f32> = w
        .raw_data
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes(c.try_into().unwrap()))
        .collect();
    assert_eq!(w_values, (0..12).map(|i| i as f32).collect::<Vec<_>>());
    assert_eq!(init("f").float_data, [1.5, -2.25]);
    assert_eq!(init("i64").int64_data, [i64::MIN, i64::MAX]);
    assert_eq!(init("u64").uint64_data, [u64::MAX, 7]);
    assert_eq!(init("d").double_data, [std::f64::consts::PI, -1e300]);
    assert_eq!(init("s").string_data[2], "été".as_bytes());
    assert_eq!(init("seg").segment.unwrap().end, 4);
    let ext = init("ext");
    assert_eq!(ext.data_location(), tensor_proto::DataLocation::External);
    assert!(ext.raw_data.is_empty());
    assert_eq!(ext.external_data[0].key, "location");
    assert_eq!(ext.external_data[0].value, "weights.bin");
    assert_eq!(graph.sparse_initializer[0].dims, [3, 4]);

    // One attribute of every type.
    let node = &graph.node[0];
    assert_eq!(
        (node.op_type.as_str(), node.domain.as_str()),
        ("Custom", "com.example")
    );
    assert_eq!(node.input, ["X", "", "W"]);
    let attrs = &node.attribute;
    assert_eq!(attr(attrs, "f").f, 0.25);
    assert_eq!(attr(attrs, "i").i, -7);
    assert_eq!(attr(attrs, "s").s, b"bytes\x00\xff");
    assert_eq!(attr(attrs, "ints").ints, [1, -1, 1 << 40]);
    assert_eq!(attr(attrs, "strings").strings[1], "yü".as_bytes());
    assert_eq!(attr(attrs, "g").g.as_ref().unwrap().name, "g_body");
    assert_eq!(attr(attrs, "graphs").graphs.len(), 2);
    assert_eq!(attr(attrs, "tp").r#type(), AttributeType::TypeProto);
    assert_eq!(attr(attrs, "type_protos").type_protos.len(), 2);
    assert_eq!(attr(attrs, "sparse_tensors").sparse_tensors[1].dims, [12]);
    assert_eq!(attr(attrs, "empty_ints").r#type(), AttributeType::Ints);
    let sharding = &node.device_configurations[0].sharding_spec[0];
    assert_eq!(sharding.sharded_dim[0].simple_sharding[1].num_shards, 3);

    // The model-local function, its default attributes and the attribute reference in its body.
    let f = &model.functions[0];
    assert_eq!(
        (f.domain.as_str(), f.name.as_str(), f.overload.as_str()),
        ("local.fn", "SquareLeaky", "v2")
    );
    assert_eq!(f.attribute, ["alpha"]);
    assert_eq!(attr(&f.attribute_proto, "beta").f, 2.0);
    assert_eq!(attr(&f.node[1].attribute, "alpha").ref_attr_name, "alpha");
    assert_eq!(graph.node[1].overload, "v2");

    let training = &model.training_info[0];
    assert_eq!(training.update_binding[0].value, "W_new");
    assert_eq!(training.initialization.as_ref().unwrap().name, "init");
}

#[test]
fn encode_gives_back_the_fixture_bytes() {
    let bytes = fixture();
    let model = ModelProto::decode(bytes.clone()).unwrap();
    assert_eq!(model.encoded_len(), bytes.len());
    let encoded = model.encode_to_vec();
    if encoded != bytes {
        let at = encoded
            .iter()
            .zip(bytes.iter())
            .position(|(a, b)| a != b)
            .unwrap_or(encoded.len().min(bytes.len()));
        panic!("re-encoding differs from the fixture at byte {at}");
    }
}

/// onnx's helpers write `domain: ""` for the default opset; a plain field drops the explicit empty
/// string on re-encoding, which is why the generator clears such fields.
#[test]
fn explicit_default_values_decode_the_same() {
    let explicit = [0x0a, 0x00, 0x10, 21];
    let opset = OperatorSetIdProto::decode(&explicit[..]).unwrap();
    assert_eq!(
        opset,
        OperatorSetIdProto {
            domain: String::new(),
            version: 21
        }
    );
    assert_eq!(opset.encode_to_vec(), [0x10, 21]);
}

/// Python writes `denotation` (field 6) before `optional_type` (field 9); prost writes the oneof
/// first. Either order decodes to the same message.
#[test]
fn type_proto_denotation_order_does_not_matter() {
    let ty = TypeProto {
        denotation: "X".into(),
        value: Some(type_proto::Value::OptionalType(Box::new(
            type_proto::Optional {
                elem_type: Some(Box::new(TypeProto {
                    denotation: String::new(),
                    value: Some(type_proto::Value::TensorType(type_proto::Tensor {
                        elem_type: 1,
                        shape: None,
                    })),
                })),
            },
        ))),
    };
    // TypeProto(denotation="X", optional_type=...) as serialized by python's protobuf.
    let python = [
        0x32, 0x01, b'X', 0x4a, 0x06, 0x0a, 0x04, 0x0a, 0x02, 0x08, 0x01,
    ];
    assert_eq!(TypeProto::decode(&python[..]).unwrap(), ty);
    let prost = ty.encode_to_vec();
    assert_ne!(prost, python);
    assert_eq!(TypeProto::decode(&prost[..]).unwrap(), ty);
}
