//! insta snapshots of the text IR after each cleanup pass on small inputs (one snapshot per input and
//! pipeline). Review changes with `cargo insta review`; CI fails on an unreviewed snapshot.

use std::path::Path;

use onnxqc_ir::parse::parse_module;
use onnxqc_ir::print::{print_module, PrintOptions};
use onnxqc_passes::manager::run_pipeline;
use onnxqc_passes::{parse_pipeline, PassContext, PassRegistry, RunConfig};

/// The runtime's kernels as the passes' constant evaluator, as the driver supplies them.
struct RuntimeEvaluator;

impl onnxqc_passes::ConstEvaluator for RuntimeEvaluator {
    fn eval(
        &self,
        op: &onnxqc_ir::OpData,
        inputs: &[Option<&onnxqc_ir::TensorData>],
        opset: i64,
    ) -> Result<Vec<onnxqc_ir::TensorData>, String> {
        onnxqc_runtime::eval_op(op, inputs, opset)
    }
}

fn run(input: &str, pipeline: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/inputs")
        .join(input);
    let text = std::fs::read_to_string(&path).expect("input exists");
    let mut module = parse_module(&text, 0).expect("input parses");
    let ops = onnxqc_passes::default_op_registry();
    let passes = PassRegistry::builtin();
    let pipeline = parse_pipeline(pipeline, &passes).expect("pipeline parses");
    let mut dump = |_: &str, _: &onnxqc_ir::Module| {};
    let mut config = RunConfig {
        verify_each: true,
        print_after: vec![],
        print_after_all: false,
        dump: &mut dump,
    };
    let cx = PassContext {
        ops: &ops,
        eval: Some(&RuntimeEvaluator),
        calib: None,
    };
    run_pipeline(&pipeline, &mut module, &cx, &mut config).expect("pipeline runs");
    print_module(&module, &PrintOptions::default())
}

#[test]
fn dce_cnn_block() {
    insta::assert_snapshot!(run("cnn_block.mlir", "dce"));
}

#[test]
fn cse_cnn_block() {
    insta::assert_snapshot!(run("cnn_block.mlir", "cse"));
}

#[test]
fn cse_dce_cnn_block() {
    insta::assert_snapshot!(run("cnn_block.mlir", "cse,dce"));
}

#[test]
fn dce_subgraphs() {
    insta::assert_snapshot!(run("subgraphs.mlir", "dce"));
}

#[test]
fn cse_dce_subgraphs() {
    insta::assert_snapshot!(run("subgraphs.mlir", "cse,dce"));
}

#[test]
fn fold_cse_dce_chain() {
    insta::assert_snapshot!(run("fold_chain.mlir", "fold,cse,dce"));
}

/// `preprocess` on a CNN block with symbolic N/H/W: BN folded into both Convs (the depthwise one too),
/// the constant Add absorbed as a bias, every value typed (`floor((H+1)/2)` after the stride-2 Conv).
#[test]
fn preprocess_conv_bn() {
    insta::assert_snapshot!(run("preprocess_conv_bn.mlir", "preprocess"));
}

/// `preprocess` on an attention block at opset 17: LayerNormalization and Gelu fused, the head split's
/// Shape/Gather/Concat chain typed with `batch`/`seq`, duplicate chains merged.
#[test]
fn preprocess_attention() {
    insta::assert_snapshot!(run("preprocess_attention.mlir", "preprocess"));
}

/// The calibrate-from-table + `qdq` pipeline on `quant_block.mlir` (ranges in `quant_block.json`).
fn qdq_pipeline(qdq_options: &str) -> String {
    let table = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/inputs/quant_block.json");
    format!(
        "calibrate{{table=\"{}\"}},qdq{{{qdq_options}}}",
        table.display()
    )
}

/// `qdq` S8S8 (ONNX Runtime's defaults): Relu folded into the Conv, MaxPool/Reshape sharing its
/// parameters, int8 weights, int32 biases, the Gather's output sharing the table's parameters.
#[test]
fn qdq_quant_block() {
    insta::assert_snapshot!(run("quant_block.mlir", &qdq_pipeline("")));
}

/// `qdq` U8U8 with per-channel weights.
#[test]
fn qdq_per_channel_u8_quant_block() {
    insta::assert_snapshot!(run(
        "quant_block.mlir",
        &qdq_pipeline("per-channel=true,activation-type=u8,weight-type=u8")
    ));
}

/// `dynamic`: ConvInteger (bias added in float), MatMulInteger, the uint8 Gather table.
#[test]
fn dynamic_quant_block() {
    insta::assert_snapshot!(run("quant_block.mlir", "dynamic"));
}

/// `dynamic` with per-channel (per-column) uint8 MatMul weights.
#[test]
fn dynamic_per_channel_u8_quant_block() {
    insta::assert_snapshot!(run(
        "quant_block.mlir",
        "dynamic{per-channel=true,weight-type=u8}"
    ));
}
