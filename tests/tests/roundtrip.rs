//! print(parse(x)) == x for every case of every `.mlir` file under `lit-tests/` (except the `invalid/`
//! suite, whose inputs are meant not to parse or verify). Comment lines (`// RUN`, `// CHECK`) are
//! dropped before comparing, so lit inputs must be written in the printer's canonical form.

use std::path::{Path, PathBuf};

use onnxqc_ir::parse::{parse_module, split_input};
use onnxqc_ir::print::{print_module, PrintOptions};
use onnxqc_ir::verify::verify_module;

fn lit_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("lit-tests exists") {
        let path = entry.expect("dir entry").path();
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
        if path.is_dir() {
            if name != "invalid" && name != "Output" && !name.starts_with('.') {
                lit_files(&path, out);
            }
        } else if name.ends_with(".mlir") {
            out.push(path);
        }
    }
}

/// The chunk without comment lines and surrounding blank lines.
fn canonical_input(chunk: &str) -> String {
    let lines: Vec<&str> = chunk
        .lines()
        .filter(|l| !l.trim_start().starts_with("//"))
        .collect();
    let text = lines.join("\n");
    format!("{}\n", text.trim_matches('\n'))
}

#[test]
fn every_lit_input_round_trips_byte_for_byte() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../lit-tests");
    let mut files = Vec::new();
    lit_files(&root, &mut files);
    files.sort();
    assert!(
        files.len() >= 5,
        "expected lit inputs under {}",
        root.display()
    );
    let ops = onnxqc_passes::default_op_registry();
    let mut checked = 0;
    for file in &files {
        let text = std::fs::read_to_string(file).expect("readable");
        for (chunk, base) in split_input(&text) {
            let expected = canonical_input(chunk);
            if expected.trim().is_empty() {
                continue;
            }
            let module = parse_module(chunk, base).unwrap_or_else(|d| {
                panic!(
                    "{}: does not parse:\n{}",
                    file.display(),
                    d.render(Some(&onnxqc_ir::SourceFile::new(
                        file.display().to_string(),
                        text.clone()
                    )))
                )
            });
            verify_module(&module, &ops)
                .unwrap_or_else(|d| panic!("{}: does not verify: {d:?}", file.display()));
            let printed = print_module(&module, &PrintOptions::default());
            if printed != expected {
                let line = printed
                    .lines()
                    .zip(expected.lines())
                    .position(|(a, b)| a != b)
                    .unwrap_or(0);
                panic!(
                    "{} (chunk at byte {base}) is not in canonical form; first difference at line {}:\n  input:   {}\n  printed: {}",
                    file.display(),
                    line + 1,
                    expected.lines().nth(line).unwrap_or("<end>"),
                    printed.lines().nth(line).unwrap_or("<end>")
                );
            }
            checked += 1;
        }
    }
    assert!(checked > 0);
}
