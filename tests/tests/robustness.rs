//! Bad text never crashes the parser or the verifier: every lit input, truncated at many points and with
//! bytes mutated (deterministic pseudo-random), either parses or gives a diagnostic — never a panic.
//! A cheap, always-run stand-in for fuzzing the text parser.

use std::path::{Path, PathBuf};

use onnxqc_ir::parse::parse_module;
use onnxqc_ir::print::{print_module, PrintOptions};
use onnxqc_ir::verify::verify_module;

fn mlir_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("dir").flatten() {
        let path = entry.path();
        if path.is_dir() {
            mlir_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "mlir") {
            out.push(path);
        }
    }
}

/// Parses, and when that succeeds verifies and prints (the printer must handle whatever parses).
fn exercise(text: &str, ops: &onnxqc_ir::OpRegistry) {
    if let Ok(m) = parse_module(text, 0) {
        let _ = verify_module(&m, ops);
        let _ = print_module(&m, &PrintOptions::default());
    }
}

#[test]
fn truncated_and_mutated_inputs_never_panic() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../lit-tests");
    let mut files = Vec::new();
    mlir_files(&root, &mut files);
    files.sort();
    let ops = onnxqc_passes::default_op_registry();
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    const INTERESTING: &[u8] = b"%#^@!\"{}[]()<>:,=-x?*0123456789.e\\\n ";
    let mut cases = 0;
    for file in &files {
        let text = std::fs::read(file).expect("readable");
        // Truncations at 64 evenly spaced points (the first N bytes, as a cut-off download would give).
        for k in 0..64 {
            let cut = text.len() * k / 64;
            exercise(&String::from_utf8_lossy(&text[..cut]), &ops);
            cases += 1;
        }
        // Single and multiple byte mutations.
        for _ in 0..std::env::var("ONNXQC_MUTATIONS")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(200)
        {
            let mut t = text.clone();
            for _ in 0..1 + next() % 3 {
                let i = (next() as usize) % t.len().max(1);
                if let Some(b) = t.get_mut(i) {
                    *b = INTERESTING[(next() as usize) % INTERESTING.len()];
                }
            }
            exercise(&String::from_utf8_lossy(&t), &ops);
            cases += 1;
        }
    }
    assert!(cases > 1000, "{cases}");
}

#[test]
fn deep_nesting_is_an_error_not_a_stack_overflow() {
    let deep_list = format!(
        "func.func @f() {{\n  %0 = \"onnx.Constant\"() {{value = dense<{}1.0{}> : tensor<1xf32>}} : () -> tensor<1xf32>\n  func.return\n}}\n",
        "[".repeat(100_000),
        "]".repeat(100_000)
    );
    let deep_type = format!(
        "func.func @f(%x: {}tensor<f32>{}) {{\n  func.return\n}}\n",
        "!onnx.seq<".repeat(100_000),
        ">".repeat(100_000)
    );
    let mut deep_regions = String::from("func.func @f() {\n");
    for _ in 0..10_000 {
        deep_regions.push_str("\"t.op\"() ({\n");
    }
    for text in [deep_list, deep_type, deep_regions] {
        let err = parse_module(&text, 0).expect_err("too deep");
        assert!(
            err.message.contains("nesting deeper than"),
            "{}",
            err.message
        );
    }
}
