//! The `onnxqc` binary as a user meets it: exit codes (0 ok, 1 user error, 2 internal error), error
//! messages that name the problem, pass listing, atomic output files.

use std::path::PathBuf;
use std::process::{Command, Output};

fn onnxqc(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_onnxqc"))
        .args(args)
        .env_remove("RUST_BACKTRACE")
        .output()
        .expect("runs")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn temp_dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("onnxqc-cli-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

const GOOD: &str = "func.func @f(%x: tensor<2xf32>) -> tensor<2xf32> {
  %0 = \"onnx.Relu\"(%x) : (tensor<2xf32>) -> tensor<2xf32>
  %1 = \"onnx.Relu\"(%x) : (tensor<2xf32>) -> tensor<2xf32>
  %2 = \"onnx.Add\"(%0, %1) : (tensor<2xf32>, tensor<2xf32>) -> tensor<2xf32>
  %3 = \"onnx.Neg\"(%x) : (tensor<2xf32>) -> tensor<2xf32>
  func.return %2 : tensor<2xf32>
}
";

fn write_good(dir: &std::path::Path) -> String {
    let p = dir.join("good.mlir");
    std::fs::write(&p, GOOD).unwrap();
    p.display().to_string()
}

#[test]
fn runs_a_pipeline_with_single_and_double_dash() {
    let dir = temp_dir("pipeline");
    let input = write_good(&dir);
    for flag in ["-passes=cse,dce", "--passes=cse,dce"] {
        let o = onnxqc(&[&input, flag]);
        assert!(o.status.success(), "{}", stderr(&o));
        let out = stdout(&o);
        assert_eq!(out.matches("onnx.Relu").count(), 1, "{out}");
        assert!(!out.contains("onnx.Neg"), "{out}");
    }
    let o = onnxqc(&[&input, "-passes", "dce"]);
    assert!(o.status.success(), "{}", stderr(&o));
}

#[test]
fn unknown_pass_exits_1_and_lists_passes() {
    let dir = temp_dir("nope");
    let input = write_good(&dir);
    let o = onnxqc(&[&input, "-passes=nope"]);
    assert_eq!(o.status.code(), Some(1));
    let err = stderr(&o);
    assert!(err.contains("unknown pass 'nope'"), "{err}");
    assert!(
        err.contains("registered passes: calibrate, cse, dce"),
        "{err}"
    );
    let o = onnxqc(&[&input, "-passes=cse{bogus=1}"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("include-unknown"), "{}", stderr(&o));
}

#[test]
fn syntax_error_prints_a_located_diagnostic_and_exits_1() {
    let dir = temp_dir("bad");
    let p = dir.join("bad.mlir");
    std::fs::write(
        &p,
        "func.func @f() {\n  %0 = \"onnx.Relu\"(%x) : () -> tensor<f32>\n}\n",
    )
    .unwrap();
    let o = onnxqc(&[p.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    let err = stderr(&o);
    assert!(err.contains("error: use of undefined value '%x'"), "{err}");
    assert!(err.contains("bad.mlir:2:20"), "{err}");
    assert!(err.contains("^^"), "{err}");
    assert!(!err.contains("panicked"), "{err}");
}

#[test]
fn bad_inputs_are_user_errors() {
    let dir = temp_dir("inputs");
    let missing = dir.join("missing.mlir");
    let o = onnxqc(&[missing.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("missing.mlir: cannot read"),
        "{}",
        stderr(&o)
    );

    let binary = dir.join("junk.mlir");
    std::fs::write(&binary, [0xffu8, 0xfe, 0x00, 0x01]).unwrap();
    let o = onnxqc(&[binary.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("not a text IR file"), "{}", stderr(&o));

    let o = onnxqc(&[]);
    assert_eq!(o.status.code(), Some(1));

    let input = write_good(&dir);
    let o = onnxqc(&[&input, "--print-ir-after=nope"]);
    assert_eq!(o.status.code(), Some(1));
}

#[test]
fn list_passes_version_and_help() {
    let o = onnxqc(&["--list-passes"]);
    assert!(o.status.success());
    let out = stdout(&o);
    assert!(
        out.contains("cse") && out.contains("dce") && out.contains("include-unknown"),
        "{out}"
    );
    let o = onnxqc(&["--version"]);
    assert!(o.status.success());
    assert!(stdout(&o).starts_with("onnxqc "));
    let o = onnxqc(&["--help"]);
    assert!(o.status.success());
    assert!(stdout(&o).contains("Examples:"));
}

#[test]
fn time_passes_and_print_ir_after_go_to_stderr() {
    let dir = temp_dir("timing");
    let input = write_good(&dir);
    let o = onnxqc(&[
        &input,
        "-passes=cse,dce",
        "--time-passes",
        "--print-ir-after=cse",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(err.contains("Wall Time"), "{err}");
    assert!(err.contains("ops-merged=1"), "{err}");
    assert!(err.contains("ops-removed=1"), "{err}");
    assert!(
        err.contains("// -----// IR Dump After cse //----- //"),
        "{err}"
    );
    assert!(!err.contains("IR Dump After dce"), "{err}");
    let o = onnxqc(&[&input, "-passes=cse,dce", "--print-ir-after-all"]);
    assert!(stderr(&o).contains("IR Dump After dce"));
}

#[test]
fn output_file_is_written_whole_or_not_at_all() {
    let dir = temp_dir("output");
    let input = write_good(&dir);
    let out = dir.join("out.mlir");
    let o = onnxqc(&[&input, "-passes=dce", "-o", out.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    let written = std::fs::read_to_string(&out).unwrap();
    assert!(written.starts_with("func.func @f"));
    // A failing run leaves the previous output untouched and no temporary files behind.
    let bad = dir.join("bad.mlir");
    std::fs::write(&bad, "func.func @f( {").unwrap();
    let o = onnxqc(&[bad.to_str().unwrap(), "-o", out.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(std::fs::read_to_string(&out).unwrap(), written);
    let leftovers: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().starts_with(".onnxqc-"))
        .collect();
    assert!(leftovers.is_empty());
    // An unwritable destination is a user error.
    let o = onnxqc(&[
        &input,
        "-o",
        dir.join("no/such/dir/out.mlir").to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("cannot create the output file"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn text_ir_to_onnx_and_back() {
    let dir = temp_dir("onnx");
    let input = write_good(&dir);
    // --emit=onnx needs a file; the extension alone picks ONNX.
    let o = onnxqc(&[&input, "--emit=onnx"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("-o OUT.onnx"), "{}", stderr(&o));
    // External-data options only mean something for ONNX output.
    let o = onnxqc(&[&input, "--external-data=always"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("apply to ONNX output"),
        "{}",
        stderr(&o)
    );
    let model = dir.join("m.onnx");
    let o = onnxqc(&[&input, "-passes=cse,dce", "-o", model.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    let bytes = std::fs::read(&model).unwrap();
    assert_eq!(bytes[0], 0x08, "a ModelProto starts with ir_version");
    // The model reads back as the same IR; a file without the .onnx extension is recognised too.
    let renamed = dir.join("model.bin");
    std::fs::copy(&model, &renamed).unwrap();
    for path in [&model, &renamed] {
        let o = onnxqc(&[path.to_str().unwrap()]);
        assert!(o.status.success(), "{}", stderr(&o));
        let out = stdout(&o);
        assert_eq!(out.matches("onnx.Relu").count(), 1, "{out}");
        assert!(out.contains("onnx.opset_import = {ai.onnx = 21}"), "{out}");
    }
}

#[test]
fn onnx_errors_name_the_file_and_exit_1() {
    let dir = temp_dir("onnx-errors");
    let missing = dir.join("missing.onnx");
    let o = onnxqc(&[missing.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("missing.onnx"), "{}", stderr(&o));

    let input = write_good(&dir);
    let model = dir.join("m.onnx");
    assert!(onnxqc(&[&input, "-o", model.to_str().unwrap()])
        .status
        .success());
    let bytes = std::fs::read(&model).unwrap();
    let cut = dir.join("cut.onnx");
    for n in [1, 7, bytes.len() / 2, bytes.len() - 1] {
        std::fs::write(&cut, &bytes[..n]).unwrap();
        let out = dir.join("out.onnx");
        let o = onnxqc(&[cut.to_str().unwrap(), "-o", out.to_str().unwrap()]);
        assert_eq!(o.status.code(), Some(1), "prefix {n}: {}", stderr(&o));
        assert!(stderr(&o).contains("cut.onnx"), "{}", stderr(&o));
        assert!(!out.exists(), "no output after an error");
    }
}

#[test]
fn split_input_file_processes_each_chunk() {
    let dir = temp_dir("split");
    let p = dir.join("s.mlir");
    std::fs::write(
        &p,
        format!("{GOOD}// -----\nfunc.func @g() {{\n  func.return\n}}\n"),
    )
    .unwrap();
    let o = onnxqc(&[p.to_str().unwrap(), "--split-input-file", "-passes=dce"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(
        out.contains("@f") && out.contains("// -----\nfunc.func @g"),
        "{out}"
    );
    // One bad chunk: the others still print, the exit code says something failed.
    std::fs::write(&p, format!("func.func @bad( {{\n// -----\n{GOOD}")).unwrap();
    let o = onnxqc(&[p.to_str().unwrap(), "--split-input-file"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stdout(&o).contains("@f"));
    assert!(stderr(&o).contains("s.mlir:1:"), "{}", stderr(&o));
}
