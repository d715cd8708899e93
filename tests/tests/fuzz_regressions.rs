//! Every input the fuzzers (`fuzz/`, see its README) ever crashed on, replayed on each test run: the
//! text parser's in `fuzz_regressions/parse_text/`, the ONNX importer's in `fuzz_regressions/onnx_import/`.
//! Each must give a diagnostic or a result that survives the same checks the fuzz targets make (verify,
//! print, re-parse, re-print the same text; export what imported) — never a panic or an abort.

use std::path::{Path, PathBuf};

use onnxqc_ir::parse::parse_module;
use onnxqc_ir::print::{print_module, PrintOptions};
use onnxqc_ir::verify::verify_module;
use onnxqc_onnx::export::to_model_proto;
use onnxqc_onnx::import::{import_bytes, ImportOptions};

fn inputs(kind: &str) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fuzz_regressions")
        .join(kind);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .map(|d| d.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    files.retain(|p| p.extension().is_none_or(|e| e != "md"));
    files.sort();
    files
}

#[test]
fn parse_text_regressions() {
    let ops = onnxqc_passes::default_op_registry();
    let files = inputs("parse_text");
    assert!(!files.is_empty(), "the regression corpus is missing");
    for path in files {
        let bytes = std::fs::read(&path).unwrap();
        let text = String::from_utf8_lossy(&bytes);
        let Ok(m) = parse_module(&text, 0) else {
            continue;
        };
        let _ = verify_module(&m, &ops);
        let printed = print_module(&m, &PrintOptions::default());
        let again = parse_module(&printed, 0)
            .unwrap_or_else(|d| panic!("{}: printed text does not re-parse: {d}", path.display()));
        assert_eq!(
            print_module(&again, &PrintOptions::default()),
            printed,
            "{}: print → parse → print is not stable",
            path.display()
        );
    }
}

#[test]
fn onnx_import_regressions() {
    let ops = onnxqc_passes::default_op_registry();
    for path in inputs("onnx_import") {
        let bytes = bytes::Bytes::from(std::fs::read(&path).unwrap());
        let Ok(imported) = import_bytes(bytes, &ImportOptions::default()) else {
            continue;
        };
        if verify_module(&imported.module, &ops).is_ok() {
            let _ = to_model_proto(&imported.module);
        }
    }
}
