//! `shape-infer` against ONNX's backend node tests: for every case whose ops the runtime supports, the
//! model is imported, every type except the graph inputs' is erased, `shape-infer` runs, and the
//! inferred output types must equal the expected outputs' element types and shapes (`output_K.pb`).
//!
//! Node tests feed shape-like operands (Reshape's shape, Slice's starts, axes, Resize's scales) as graph
//! inputs, where real models have initializers; such inputs (integer tensors of at most 64 elements, and
//! float inputs read only as Resize/Upsample scales) are turned into constants from their `input_K.pb`
//! first, so that the test measures the rules rather than the absence of data.
//!
//! Cases come from `scripts/gen_node_tests.py` (see `node_tests.rs`). A case that does not match fails
//! the test unless listed in [`KNOWN_MISMATCHES`] with the reason it is out of reach; a listed case that
//! starts matching fails too, so the list stays honest. `NODE_TEST_FILTER=substring` runs a subset.

use std::path::{Path, PathBuf};
use std::process::Command;

use onnxqc_ir::{Attribute, Dim, Module, ScalarType, Type};
use onnxqc_onnx::import_file;
use onnxqc_onnx::proto::TensorProto;
use onnxqc_onnx::tensor_proto::{tensor_from_proto, DataSource};
use onnxqc_passes::{default_op_registry, PassContext, PassOptions, PassRegistry};
use onnxqc_runtime::supported_ops;
use prost::Message;

/// Cases whose output shapes cannot be inferred statically, as (name prefix, reason).
const KNOWN_MISMATCHES: &[(&str, &str)] = &[
    (
        "test_nonzero_example",
        "NonZero's output length depends on the data: a fresh dim by design",
    ),
    (
        "test_range_bfloat16_type_positive_delta_expanded",
        FLOAT_TRIP_COUNT,
    ),
    (
        "test_range_float16_type_positive_delta_expanded",
        FLOAT_TRIP_COUNT,
    ),
    (
        "test_range_float_type_positive_delta_expanded",
        FLOAT_TRIP_COUNT,
    ),
    (
        "test_range_int32_type_negative_delta_expanded",
        FLOAT_TRIP_COUNT,
    ),
];

const FLOAT_TRIP_COUNT: &str =
    "the expanded Range computes its Loop trip count with float Div/Ceil/Relu; \
    shape-infer tracks integer values only (the fold pass computes such constants)";

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

fn cases_dir() -> PathBuf {
    let dir = workspace_root().join("target/onnx-node-tests");
    let venv = workspace_root().join(".venv/bin/python");
    let python = std::env::var_os("ONNXQC_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            if venv.exists() {
                venv
            } else {
                "python3".into()
            }
        });
    let status = Command::new(python)
        .arg(workspace_root().join("scripts/gen_node_tests.py"))
        .arg(&dir)
        .status()
        .expect("cannot run python to generate the ONNX node tests (set ONNXQC_PYTHON)");
    assert!(status.success(), "scripts/gen_node_tests.py failed");
    dir
}

fn claimed(module: &Module, ops: &[&str]) -> bool {
    module.funcs.iter().all(|f| {
        f.body.all_ops().into_iter().all(|op| {
            let k = &*f.body.op(op).kind;
            matches!(
                k,
                "func.return" | "onnx.Yield" | "onnx.NoValue" | "onnx.Constant"
            ) || ops.contains(&k)
        })
    })
}

/// Sets every type but the main graph's inputs to `Unknown` (op results and region arguments).
fn erase_types(module: &mut Module) {
    for f in &mut module.funcs {
        let body = &mut f.body;
        for op in body.all_ops() {
            for r in body.op(op).results().to_vec() {
                body.value_mut(r).ty = Type::Unknown;
            }
            for reg in body.op(op).regions().to_vec() {
                for b in body.region(reg).blocks().to_vec() {
                    for a in body.block(b).args().to_vec() {
                        body.value_mut(a).ty = Type::Unknown;
                    }
                }
            }
        }
    }
}

/// Replaces shape-like graph inputs by constants holding their test data.
fn constant_shape_inputs(module: &mut Module, set: &Path) {
    let body = &mut module.funcs[0].body;
    let entry = body.entry_block();
    for (i, v) in body.inputs().to_vec().into_iter().enumerate() {
        let Type::Tensor(t) = body.value_type(v) else {
            continue;
        };
        let Some(scalar) = t.elem.scalar() else {
            continue;
        };
        let small = t.num_elements().is_some_and(|n| n <= 64);
        let shape_like = body
            .value(v)
            .uses()
            .iter()
            .all(|u| match &*body.op(u.op).kind {
                "onnx.Resize" | "onnx.Upsample" => u.index >= 1,
                "onnx.OneHot" => u.index == 1,
                "onnx.Range" => true,
                _ => false,
            });
        let int_like = scalar.is_int() || scalar == ScalarType::Bool;
        if !(small && (int_like || (scalar.is_float() && shape_like))) {
            continue;
        }
        let Ok(bytes) = std::fs::read(set.join(format!("input_{i}.pb"))) else {
            continue;
        };
        let Ok(proto) = TensorProto::decode(bytes.as_slice()) else {
            continue;
        };
        let Ok(data) = tensor_from_proto(&proto, &mut DataSource::new(None, None)) else {
            continue;
        };
        let ty = Type::tensor(data.elem, &data.shape);
        let op = body.create_op(
            "onnx.Constant",
            &[],
            vec![ty],
            vec![("value".into(), Attribute::Tensor(data))],
        );
        match body.first_op(entry) {
            Some(first) => body.insert_before(first, op),
            None => body.append_op(entry, op),
        }
        let r = body.op(op).results()[0];
        body.replace_all_uses(v, r);
    }
}

fn describe(ty: &Type) -> String {
    match ty {
        Type::Tensor(t) => {
            let dims: Vec<String> = match &t.shape {
                Some(s) => s
                    .iter()
                    .map(|d| match d {
                        Dim::Known(n) => n.to_string(),
                        Dim::Symbolic(s) => s.to_string(),
                        Dim::Unknown => "?".into(),
                    })
                    .collect(),
                None => vec!["*".into()],
            };
            format!("{:?}[{}]", t.elem, dims.join(","))
        }
        other => format!("{other:?}"),
    }
}

fn check_case(dir: &Path) -> Result<(), String> {
    let mut module = import_file(&dir.join("model.onnx"))
        .map_err(|e| format!("import: {e}"))?
        .module;
    let declared: Vec<Type> = {
        let b = &module.funcs[0].body;
        b.outputs()
            .iter()
            .map(|&v| b.value_type(v).clone())
            .collect()
    };
    let set = dir.join("test_data_set_0");
    constant_shape_inputs(&mut module, &set);
    erase_types(&mut module);
    let reg = PassRegistry::builtin();
    let info = reg.get("shape-infer").expect("shape-infer is registered");
    let mut pass = (info.create)(&PassOptions::defaults(info.options));
    let ops = default_op_registry();
    pass.run(&mut module, &PassContext::new(&ops))
        .map_err(|e| format!("pass error: {:?}", e.diagnostics))?;
    let body = &module.funcs[0].body;
    for (i, &v) in body.outputs().iter().enumerate() {
        let got = body.value_type(v);
        if !matches!(declared[i], Type::Tensor(_)) {
            if *got != declared[i] {
                return Err(format!(
                    "output {i}: {} instead of {}",
                    describe(got),
                    describe(&declared[i])
                ));
            }
            continue;
        }
        let bytes = std::fs::read(set.join(format!("output_{i}.pb")))
            .map_err(|e| format!("output {i}: {e}"))?;
        let want = TensorProto::decode(bytes.as_slice()).map_err(|e| format!("output {i}: {e}"))?;
        let ok = match got {
            Type::Tensor(t) => {
                t.elem.scalar().map(|s| s.onnx_code()) == Some(want.data_type)
                    && t.static_dims()
                        == Some(want.dims.iter().map(|&d| d as u64).collect::<Vec<_>>())
            }
            _ => false,
        };
        if !ok {
            return Err(format!(
                "output {i}: inferred {} but expected type code {} dims {:?}",
                describe(got),
                want.data_type,
                want.dims
            ));
        }
    }
    Ok(())
}

#[test]
fn shape_infer_matches_node_test_outputs() {
    let dir = cases_dir();
    let filter = std::env::var("NODE_TEST_FILTER").unwrap_or_default();
    let ops = supported_ops();
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.path().is_dir())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains(&filter))
        .collect();
    names.sort();
    let (mut checked, mut matched) = (0, 0);
    let mut failures = vec![];
    let mut known = vec![];
    for name in &names {
        let case = dir.join(name);
        let Ok(imported) = import_file(&case.join("model.onnx")) else {
            continue;
        };
        if !claimed(&imported.module, &ops) {
            continue;
        }
        checked += 1;
        let result = std::panic::catch_unwind(|| check_case(&case))
            .unwrap_or_else(|_| Err("panicked".to_string()));
        let reason = KNOWN_MISMATCHES
            .iter()
            .find(|(p, _)| name.starts_with(p))
            .map(|(_, r)| *r);
        match (result, reason) {
            (Ok(()), None) => matched += 1,
            (Ok(()), Some(_)) => {
                failures.push(format!("{name}: matches but is listed in KNOWN_MISMATCHES"))
            }
            (Err(e), Some(r)) => known.push(format!("{name}: {r} ({e})")),
            (Err(e), None) => failures.push(format!("{name}: {e}")),
        }
    }
    println!(
        "shape-infer: {matched} of {checked} claimed node-test cases match, {} known mismatches, {} failures",
        known.len(),
        failures.len()
    );
    for k in &known {
        println!("known: {k}");
    }
    assert!(
        failures.is_empty(),
        "{} case(s) where shape-infer disagrees with the expected outputs:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// After `shape-infer`, the exporter writes a `value_info` for every intermediate value, with symbolic
/// dims as `dim_param`.
#[test]
fn export_writes_value_info_for_inferred_values() {
    let text =
        std::fs::read_to_string(workspace_root().join("lit-tests/shape-infer/reshape-chain.mlir"))
            .unwrap();
    let mut module = onnxqc_ir::parse::parse_module(&text, 0).expect("lit input parses");
    let reg = PassRegistry::builtin();
    let info = reg.get("shape-infer").unwrap();
    let ops = default_op_registry();
    (info.create)(&PassOptions::defaults(info.options))
        .run(&mut module, &PassContext::new(&ops))
        .expect("shape-infer runs");
    let dir = std::env::temp_dir().join(format!("onnxqc-si-export-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("out.onnx");
    onnxqc_onnx::export_file(&module, &path, &Default::default()).expect("export");
    let bytes = std::fs::read(&path).unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    let model = onnxqc_onnx::proto::ModelProto::decode(bytes.as_slice()).unwrap();
    let g = model.graph.unwrap();
    let dims = |name: &str| -> Vec<String> {
        let vi = g
            .value_info
            .iter()
            .find(|v| v.name == name)
            .unwrap_or_else(|| panic!("no value_info for '{name}'"));
        let Some(onnxqc_onnx::proto::type_proto::Value::TensorType(t)) =
            vi.r#type.as_ref().and_then(|t| t.value.as_ref())
        else {
            panic!("'{name}' is not a tensor");
        };
        t.shape
            .as_ref()
            .unwrap()
            .dim
            .iter()
            .map(|d| match &d.value {
                Some(onnxqc_onnx::proto::tensor_shape_proto::dimension::Value::DimValue(v)) => {
                    v.to_string()
                }
                Some(onnxqc_onnx::proto::tensor_shape_proto::dimension::Value::DimParam(p)) => {
                    p.clone()
                }
                None => "?".into(),
            })
            .collect()
    };
    assert_eq!(dims("r"), ["batch", "seq", "12", "64"]);
    assert_eq!(dims("shape"), ["4"]);
    assert_eq!(dims("q2"), ["1"]);
    let outputs: Vec<&str> = g.output.iter().map(|o| o.name.as_str()).collect();
    for n in &g.node {
        for o in &n.output {
            if n.op_type != "Constant" && !outputs.contains(&o.as_str()) {
                assert!(
                    g.value_info.iter().any(|v| &v.name == o),
                    "no value_info for '{o}'"
                );
            }
        }
    }
}
