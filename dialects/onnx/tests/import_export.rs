//! Import/export tests on models built in Rust: the round trip is lossless (import → export → import
//! prints the same text IR), weights stay memory-mapped, external data is written and refused where it
//! must be, and every kind of bad model is an error that names the node or tensor — never a panic,
//! whatever prefix of a file is given.

use std::path::Path;

use bytes::Bytes;
use onnxqc_ir::print::{print_module, PrintOptions};
use onnxqc_ir::verify::verify_module;
use onnxqc_ir::{Attribute, OpRegistry, Storage};
use onnxqc_onnx::export::{export_file, to_model_proto, ExportOptions, ExternalData};
use onnxqc_onnx::import::{import_bytes, import_file, ImportOptions};
use onnxqc_onnx::proto::{
    tensor_proto, tensor_shape_proto, type_proto, AttributeProto, GraphProto, ModelProto,
    NodeProto, OperatorSetIdProto, StringStringEntryProto, TensorProto, TensorShapeProto,
    TypeProto, ValueInfoProto,
};
use prost::Message;

fn registry() -> OpRegistry {
    let mut reg = OpRegistry::new();
    onnxqc_onnx::register(&mut reg);
    reg
}

fn tensor_vi(name: &str, elem: i32, dims: &[&str]) -> ValueInfoProto {
    use tensor_shape_proto::dimension::Value;
    ValueInfoProto {
        name: name.into(),
        r#type: Some(TypeProto {
            value: Some(type_proto::Value::TensorType(type_proto::Tensor {
                elem_type: elem,
                shape: Some(TensorShapeProto {
                    dim: dims
                        .iter()
                        .map(|d| tensor_shape_proto::Dimension {
                            value: Some(match d.parse::<i64>() {
                                Ok(n) => Value::DimValue(n),
                                Err(_) => Value::DimParam(d.to_string()),
                            }),
                            ..Default::default()
                        })
                        .collect(),
                }),
            })),
            ..Default::default()
        }),
        ..Default::default()
    }
}

fn node(op: &str, inputs: &[&str], outputs: &[&str], name: &str) -> NodeProto {
    NodeProto {
        op_type: op.into(),
        input: inputs.iter().map(|s| s.to_string()).collect(),
        output: outputs.iter().map(|s| s.to_string()).collect(),
        name: name.into(),
        ..Default::default()
    }
}

fn f32_init(name: &str, dims: &[i64], values: &[f32]) -> TensorProto {
    TensorProto {
        name: name.into(),
        data_type: 1,
        dims: dims.to_vec(),
        raw_data: Bytes::from(
            values
                .iter()
                .flat_map(|v| v.to_le_bytes())
                .collect::<Vec<_>>(),
        ),
        ..Default::default()
    }
}

fn model(graph: GraphProto, opset: i64) -> ModelProto {
    ModelProto {
        ir_version: 8,
        producer_name: "test".into(),
        opset_import: vec![OperatorSetIdProto {
            domain: String::new(),
            version: opset,
        }],
        metadata_props: vec![StringStringEntryProto {
            key: "author key".into(),
            value: "v".into(),
        }],
        graph: Some(graph),
        ..Default::default()
    }
}

/// A model exercising most of the mapping: initializers, an unsorted node list, an `If` whose branches
/// read an outer value, an absent optional input, doc strings, attributes of several kinds.
fn rich_graph() -> GraphProto {
    let then_branch = GraphProto {
        name: "then_g".into(),
        node: vec![node("Relu", &["scaled"], &["t_out"], "then_relu")],
        output: vec![tensor_vi("t_out", 1, &["batch", "4"])],
        ..Default::default()
    };
    let else_branch = GraphProto {
        name: "else_g".into(),
        node: vec![node("Neg", &["scaled"], &["e_out"], "else_neg")],
        output: vec![tensor_vi("e_out", 1, &["batch", "4"])],
        ..Default::default()
    };
    let mut if_node = node("If", &["cond"], &["branch"], "the_if");
    if_node.attribute = vec![
        AttributeProto {
            name: "then_branch".into(),
            r#type: 5,
            g: Some(then_branch),
            ..Default::default()
        },
        AttributeProto {
            name: "else_branch".into(),
            r#type: 5,
            g: Some(else_branch),
            ..Default::default()
        },
    ];
    let mut clip = node("Clip", &["branch", "", "max"], &["clipped"], "clip");
    clip.doc_string = "max only".into();
    let mut scale = node("Mul", &["x", "w"], &["scaled"], "scale");
    scale.attribute = vec![];
    let mut softmax = node("Softmax", &["clipped"], &["y"], "softmax");
    softmax.attribute = vec![AttributeProto {
        name: "axis".into(),
        r#type: 2,
        i: -1,
        ..Default::default()
    }];
    GraphProto {
        name: "rich".into(),
        doc_string: "a graph".into(),
        // Deliberately out of order: the If comes before the Mul it depends on through its branches.
        node: vec![softmax, clip, if_node, scale],
        initializer: vec![
            f32_init("w", &[4], &[1.0, -2.0, 0.5, 3.0]),
            f32_init("max", &[], &[6.0]),
        ],
        input: vec![
            tensor_vi("x", 1, &["batch", "4"]),
            tensor_vi("cond", 9, &[]),
        ],
        output: vec![tensor_vi("y", 1, &["batch", "4"])],
        value_info: vec![tensor_vi("scaled", 1, &["batch", "4"])],
        ..Default::default()
    }
}

fn import(m: &ModelProto) -> onnxqc_ir::Module {
    let imported = import_bytes(Bytes::from(m.encode_to_vec()), &ImportOptions::default())
        .unwrap_or_else(|e| panic!("import failed: {e}"));
    verify_module(&imported.module, &registry()).unwrap_or_else(|d| panic!("verify: {d:?}"));
    imported.module
}

fn text(m: &onnxqc_ir::Module) -> String {
    print_module(m, &PrintOptions::default())
}

#[test]
fn round_trip_is_lossless() {
    let first = import(&model(rich_graph(), 17));
    let exported = to_model_proto(&first).unwrap();
    let second = import(&exported);
    assert_eq!(text(&first), text(&second));
    // Nodes come out in a topological order; the optional input stays empty; names survive.
    let g = exported.graph.as_ref().unwrap();
    let order: Vec<&str> = g.node.iter().map(|n| n.name.as_str()).collect();
    assert_eq!(order, ["scale", "the_if", "clip", "softmax"]);
    let clip = &g.node[2];
    assert_eq!(clip.input, ["branch", "", "max"]);
    assert_eq!(clip.doc_string, "max only");
    let the_if = &g.node[1];
    assert_eq!(the_if.attribute[0].g.as_ref().unwrap().name, "then_g");
    assert_eq!(exported.metadata_props[0].key, "author key");
    assert_eq!(g.doc_string, "a graph");
    assert_eq!(g.initializer.len(), 2);
    assert!(g.value_info.iter().any(|v| v.name == "scaled"));
}

#[test]
fn text_form_of_an_imported_model_reads_back() {
    let m = import(&model(rich_graph(), 17));
    let printed = text(&m);
    assert!(
        printed.contains("onnx.opset_import = {ai.onnx = 17}"),
        "{printed}"
    );
    assert!(printed.contains(r#""onnx.If"(%cond)"#), "{printed}");
    let reparsed = onnxqc_ir::parse::parse_module(&printed, 0).unwrap();
    assert_eq!(text(&reparsed), printed);
    // And the reparsed module exports to the same model.
    let a = to_model_proto(&m).unwrap();
    let b = to_model_proto(&reparsed).unwrap();
    assert_eq!(a, b);
}

#[test]
fn duplicate_outputs_get_their_own_names() {
    let mut g = GraphProto {
        name: "g".into(),
        node: vec![node("Relu", &["x"], &["r"], "relu")],
        input: vec![tensor_vi("x", 1, &["2"])],
        output: vec![tensor_vi("r", 1, &["2"])],
        ..Default::default()
    };
    g.output.push(tensor_vi("x", 1, &["2"]));
    let mut m = import(&model(g, 17));
    // Return the Relu twice, as a rewrite might.
    let body = &mut m.funcs[0].body;
    let ret = body.return_op().unwrap();
    let r = body.op(ret).operands()[0];
    body.set_operand(ret, 1, r);
    let exported = to_model_proto(&m).unwrap();
    let g = exported.graph.unwrap();
    let outs: Vec<&str> = g.output.iter().map(|o| o.name.as_str()).collect();
    assert_eq!(outs, ["r", "r_copy"]);
    assert_eq!(g.node.last().unwrap().op_type, "Identity");
}

fn write(dir: &Path, name: &str, m: &ModelProto) -> std::path::PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, m.encode_to_vec()).unwrap();
    p
}

fn big_model() -> ModelProto {
    let w: Vec<f32> = (0..64 * 1024).map(|i| i as f32 * 0.25).collect();
    let g = GraphProto {
        name: "big".into(),
        node: vec![node("Add", &["x", "w"], &["y"], "add")],
        initializer: vec![
            f32_init("w", &[64 * 1024], &w),
            f32_init("b", &[2], &[1.0, 2.0]),
        ],
        input: vec![tensor_vi("x", 1, &["65536"])],
        output: vec![tensor_vi("y", 1, &["65536"])],
        ..Default::default()
    };
    model(g, 17)
}

fn constant_buffer(m: &onnxqc_ir::Module, name: &str) -> onnxqc_ir::Buffer {
    let body = &m.funcs[0].body;
    for op in body.all_ops() {
        let data = body.op(op);
        if body.value(data.results()[0]).name.as_deref() == Some(name) {
            if let Some(Attribute::Tensor(t)) = data.attr("value") {
                if let Storage::Bytes(b) = &t.storage {
                    return b.clone();
                }
            }
        }
    }
    panic!("no constant {name}");
}

#[test]
fn weights_stay_mapped_and_external_data_round_trips() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "m.onnx", &big_model());
    let imported = import_file(&path).unwrap();
    let w = constant_buffer(&imported.module, "w");
    assert!(
        w.is_mapped(),
        "raw_data of a mapped model must be a view, not a copy"
    );

    let out = dir.path().join("out.onnx");
    let opts = ExportOptions {
        external: ExternalData::Always,
        ..ExportOptions::default()
    };
    let stats = export_file(&imported.module, &out, &opts).unwrap();
    assert_eq!(
        stats.external_tensors, 1,
        "only the tensor above the threshold"
    );
    assert!(dir.path().join("out.onnx.data").is_file());
    let back = import_file(&out).unwrap();
    assert_eq!(back.external_tensors, 1);
    let w2 = constant_buffer(&back.module, "w");
    assert!(w2.is_mapped());
    assert_eq!(w.as_bytes(), w2.as_bytes());
    assert_eq!(text(&imported.module), text(&back.module));

    // Auto keeps external data external; the streamed embedded form reads back the same too.
    let out2 = dir.path().join("again.onnx");
    let auto = ExportOptions {
        input_had_external: true,
        ..ExportOptions::default()
    };
    assert_eq!(
        export_file(&back.module, &out2, &auto)
            .unwrap()
            .external_tensors,
        1
    );
    let embedded = dir.path().join("embedded.onnx");
    let never = ExportOptions {
        external: ExternalData::Never,
        ..ExportOptions::default()
    };
    export_file(&back.module, &embedded, &never).unwrap();
    let bytes = std::fs::read(&embedded).unwrap();
    let decoded = ModelProto::decode(Bytes::from(bytes)).unwrap();
    assert_eq!(decoded, to_model_proto(&back.module).unwrap());
    assert_eq!(
        text(&import_file(&embedded).unwrap().module),
        text(&imported.module)
    );
}

fn external_model(location: &str) -> ModelProto {
    let mut m = big_model();
    let t = &mut m.graph.as_mut().unwrap().initializer[1];
    t.raw_data = Bytes::new();
    t.data_location = tensor_proto::DataLocation::External as i32;
    t.external_data = vec![StringStringEntryProto {
        key: "location".into(),
        value: location.into(),
    }];
    m
}

fn import_err(dir: &Path, m: &ModelProto) -> String {
    let path = write(dir, "bad.onnx", m);
    match import_file(&path) {
        Ok(i) => match verify_module(&i.module, &registry()) {
            Ok(()) => panic!("expected an error"),
            Err(d) => format!("{d:?}"),
        },
        Err(e) => e.to_string(),
    }
}

#[test]
fn external_data_must_stay_in_the_model_folder() {
    let dir = tempfile::tempdir().unwrap();
    let sub = dir.path().join("model");
    std::fs::create_dir(&sub).unwrap();
    std::fs::write(dir.path().join("outside.bin"), [0u8; 8]).unwrap();
    for loc in ["../outside.bin", "/etc/hostname"] {
        let e = import_err(&sub, &external_model(loc));
        assert!(
            e.contains("escapes the model's folder") && e.contains("'b'"),
            "{e}"
        );
    }
    #[cfg(unix)]
    {
        std::os::unix::fs::symlink(dir.path().join("outside.bin"), sub.join("link.bin")).unwrap();
        let e = import_err(&sub, &external_model("link.bin"));
        assert!(e.contains("escapes"), "{e}");
    }
    let e = import_err(&sub, &external_model("missing.bin"));
    assert!(e.contains("missing.bin"), "{e}");
    std::fs::write(sub.join("short.bin"), [0u8; 4]).unwrap();
    let e = import_err(&sub, &external_model("short.bin"));
    assert!(e.contains("outside the file"), "{e}");
}

#[test]
fn bad_models_name_what_is_wrong() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let base = rich_graph;

    let e = import_err(d, &model(base(), 9));
    assert!(e.contains("opset 9") && e.contains("re-export"), "{e}");

    let mut m = model(base(), 17);
    m.graph.as_mut().unwrap().initializer[0].data_type = 77;
    let e = import_err(d, &m);
    assert!(
        e.contains("initializer 'w'") && e.contains("unknown data type 77"),
        "{e}"
    );

    let mut m = model(base(), 17);
    m.graph.as_mut().unwrap().initializer[0].dims = vec![5];
    let e = import_err(d, &m);
    assert!(
        e.contains("initializer 'w'") && e.contains("16 bytes"),
        "{e}"
    );

    let mut m = model(base(), 17);
    m.graph.as_mut().unwrap().node[0].input[0] = "nowhere".into();
    let e = import_err(d, &m);
    assert!(
        e.contains("node 'softmax'") && e.contains("'nowhere'"),
        "{e}"
    );

    let mut m = model(base(), 17);
    // scale reads y, which softmax produces from scale's own descendants: a cycle.
    m.graph.as_mut().unwrap().node[3].input[0] = "y".into();
    let e = import_err(d, &m);
    assert!(e.contains("cycle") && e.contains("node '"), "{e}");

    let mut m = model(base(), 17);
    m.graph.as_mut().unwrap().node[1].output[0] = "y".into();
    let e = import_err(d, &m);
    assert!(e.contains("'y' is produced twice"), "{e}");

    let mut m = model(base(), 17);
    m.graph.as_mut().unwrap().output[0].name = "ghost".into();
    let e = import_err(d, &m);
    assert!(e.contains("graph output 'ghost'"), "{e}");

    let e = import_bytes(
        Bytes::from_static(b"hello, world"),
        &ImportOptions::default(),
    )
    .unwrap_err()
    .to_string();
    assert!(
        e.contains("not a valid ONNX model") || e.contains("not an ONNX model"),
        "{e}"
    );
    let e = import_file(&d.join("absent.onnx")).unwrap_err().to_string();
    assert!(e.contains("absent.onnx"), "{e}");
}

#[test]
fn every_prefix_of_a_model_is_an_error_or_a_model_never_a_panic() {
    let bytes = model(rich_graph(), 17).encode_to_vec();
    let reg = registry();
    let mut errors = 0;
    for n in 0..bytes.len() {
        let prefix = Bytes::copy_from_slice(&bytes[..n]);
        match import_bytes(prefix, &ImportOptions::default()) {
            Ok(i) => {
                // A cut at a field boundary can still be a (smaller) model; it must verify or fail cleanly.
                let _ = verify_module(&i.module, &reg);
            }
            Err(_) => errors += 1,
        }
    }
    assert!(
        errors > bytes.len() / 2,
        "{errors} of {} prefixes were errors",
        bytes.len()
    );
}

#[test]
fn ops_without_an_onnx_form_are_refused_on_export() {
    let mut m = import(&model(rich_graph(), 17));
    let body = &mut m.funcs[0].body;
    let x = body.inputs()[0];
    let entry = body.entry_block();
    let op = body.create_op("qc.observe", &[x], vec![], vec![]);
    let first = body.first_op(entry).unwrap();
    body.insert_before(first, op);
    let e = to_model_proto(&m).unwrap_err().to_string();
    assert!(e.contains("qc.observe") && e.contains("lowering"), "{e}");
}

#[test]
fn models_over_the_protobuf_limit_go_external_or_fail_clearly() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "m.onnx", &big_model());
    let m = import_file(&path).unwrap().module;
    // A 64 KiB "limit" stands in for protobuf's 2 GiB.
    let small_limit = ExportOptions {
        max_embedded: 64 << 10,
        ..ExportOptions::default()
    };
    let out = dir.path().join("auto.onnx");
    let stats = export_file(&m, &out, &small_limit).unwrap();
    assert_eq!(
        stats.external_tensors, 1,
        "auto must go external above the limit"
    );
    let never = ExportOptions {
        external: ExternalData::Never,
        ..small_limit
    };
    let out = dir.path().join("never.onnx");
    let e = export_file(&m, &out, &never).unwrap_err().to_string();
    assert!(
        e.contains("2 GiB limit") && e.contains("--external-data"),
        "{e}"
    );
    assert!(!out.exists(), "nothing is written when export fails");
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with(".onnxqc-"))
        .collect();
    assert!(leftovers.is_empty(), "temporary files left behind");
}
