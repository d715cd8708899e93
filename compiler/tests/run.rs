//! `onnxqc run` as a user meets it: inputs from `.npy`, `.npz` and `.pb` files by every form the help
//! describes, outputs written as `.npy` with a summary line each, and exact error messages (exit 1,
//! nothing written) for missing files, unknown or missing inputs, wrong dtypes and shapes.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use onnxqc_runtime::io::{read_npy, write_npy, write_npz, write_pb};
use onnxqc_runtime::Tensor;

/// Runs `onnxqc` in `dir`, so messages show the relative paths the test passes.
fn onnxqc_in(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_onnxqc"))
        .args(args)
        .current_dir(dir)
        .env_remove("RUST_BACKTRACE")
        .env_remove("ONNXQC_NUM_THREADS")
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
    let d = std::env::temp_dir().join(format!("onnxqc-run-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// Two inputs passed straight through and a constant: runs with no kernel at all.
const PASSTHROUGH: &str = r#"func.func @main(%x: tensor<2x3xf32>, %k: tensor<?xi64>) -> (tensor<2x3xf32>, tensor<?xi64>, tensor<2xf32>) {
  %c = "onnx.Constant"() {value = dense<[1.5, -2.0]> : tensor<2xf32>} : () -> tensor<2xf32>
  func.return %x, %k, %c : tensor<2x3xf32>, tensor<?xi64>, tensor<2xf32>
}
"#;

fn x() -> Tensor {
    Tensor::from_vec(vec![2, 3], vec![-2.5f32, -1.5, -0.5, 0.5, 1.5, 2.5])
}

fn k() -> Tensor {
    Tensor::from_vec(vec![3], vec![3i64, -1, 7])
}

/// A folder with the passthrough model and input files.
fn setup(name: &str) -> PathBuf {
    let dir = temp_dir(name);
    std::fs::write(dir.join("m.mlir"), PASSTHROUGH).unwrap();
    write_npy(&dir.join("x.npy"), &x()).unwrap();
    write_npy(&dir.join("k.npy"), &k()).unwrap();
    dir
}

const SUMMARY: &str = "\
x  f32[2, 3]  min=-2.5 max=2.5 mean=0  -> outputs/x.npy
k  i64[3]  min=-1 max=7 mean=3  -> outputs/k.npy
c  f32[2]  min=-2.0 max=1.5 mean=-0.25  -> outputs/c.npy
";

#[test]
fn runs_a_model_and_writes_every_output() {
    let dir = setup("good");
    let o = onnxqc_in(
        &dir,
        &["run", "m.mlir", "--input", "x=x.npy", "--input", "k=k.npy"],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stdout(&o), SUMMARY);
    assert_eq!(stderr(&o), "");
    assert_eq!(read_npy(&dir.join("outputs/x.npy")).unwrap(), x());
    assert_eq!(read_npy(&dir.join("outputs/k.npy")).unwrap(), k());
    assert_eq!(
        read_npy(&dir.join("outputs/c.npy")).unwrap(),
        Tensor::from_vec(vec![2], vec![1.5f32, -2.0])
    );
}

#[test]
fn every_input_form() {
    let dir = setup("forms");
    // An archive, a folder (named by file stem / TensorProto name), and --output-dir, --threads.
    write_npz(&dir.join("feeds.npz"), &[("k", k()), ("x", x())]).unwrap();
    std::fs::create_dir(dir.join("data")).unwrap();
    write_npy(&dir.join("data/x.npy"), &x()).unwrap();
    write_pb(&dir.join("data/kk.pb"), "k", &k()).unwrap();
    for args in [
        &["--inputs", "feeds.npz"][..],
        &["--inputs", "data"],
        &["--input", "x=x.npy", "--inputs", "data/kk.pb"],
    ] {
        let mut all = vec!["run", "m.mlir", "--output-dir", "out", "--threads", "1"];
        all.extend_from_slice(args);
        let o = onnxqc_in(&dir, &all);
        assert!(o.status.success(), "{args:?}: {}", stderr(&o));
        assert_eq!(stdout(&o), SUMMARY.replace("outputs/", "out/"), "{args:?}");
    }

    // ONNX test data sets: unnamed input_N.pb feed input N, output_N.pb are skipped.
    let tds = dir.join("test_data_set_0");
    std::fs::create_dir(&tds).unwrap();
    write_pb(&tds.join("input_0.pb"), "", &x()).unwrap();
    write_pb(&tds.join("input_1.pb"), "", &k()).unwrap();
    write_pb(&tds.join("output_0.pb"), "x", &x()).unwrap();
    let o = onnxqc_in(&dir, &["run", "m.mlir", "--inputs", "test_data_set_0"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stdout(&o), SUMMARY);

    // A single-input model takes a file without NAME=; the output name is made a file name.
    std::fs::write(
        dir.join("one.mlir"),
        "func.func @main(%x: tensor<2x3xf32>) -> tensor<2x3xf32> {\n  func.return %x : tensor<2x3xf32>\n}\n",
    )
    .unwrap();
    let o = onnxqc_in(
        &dir,
        &["run", "one.mlir", "--input", "x.npy", "--output-dir", "o/p"],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(
        stdout(&o),
        "x  f32[2, 3]  min=-2.5 max=2.5 mean=0  -> o/p/x.npy\n"
    );
}

#[test]
fn onnx_models_run_too() {
    let dir = setup("onnx");
    let o = onnxqc_in(&dir, &["m.mlir", "-o", "m.onnx"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let o = onnxqc_in(
        &dir,
        &["run", "m.onnx", "--input", "x=x.npy", "--input", "k=k.npy"],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stdout(&o), SUMMARY);
}

#[test]
fn bad_inputs_are_exact_user_errors_and_write_nothing() {
    let dir = setup("errors");
    write_npy(&dir.join("x64.npy"), &x().cast(onnxqc_runtime::DType::F64)).unwrap();
    write_npy(&dir.join("x32.npy"), &x().reshaped(vec![3, 2]).unwrap()).unwrap();
    write_npz(&dir.join("two.npz"), &[("x", x()), ("k", k())]).unwrap();
    std::fs::write(dir.join("notes.txt"), "hi").unwrap();
    let cases: &[(&[&str], &str)] = &[
        (
            &["--input", "x=missing.npy", "--input", "k=k.npy"],
            "onnxqc: error: cannot read 'missing.npy': No such file or directory (os error 2)\n",
        ),
        (
            &["--input", "x=x64.npy", "--input", "k=k.npy"],
            "onnxqc: error: m.mlir: input 'x' expects a f32 tensor of shape [2, 3], got a f64 tensor of \
             shape [2, 3]: the element type differs\n  = 'x' was read from x64.npy\n  = inputs are not \
             converted: save the array with the model's element type\n",
        ),
        (
            &["--input", "x=x32.npy", "--input", "k=k.npy"],
            "onnxqc: error: m.mlir: input 'x' expects a f32 tensor of shape [2, 3], got a f32 tensor of \
             shape [3, 2]: dimension 0 is 3, not 2\n  = 'x' was read from x32.npy\n",
        ),
        (
            &["--input", "y=x.npy", "--input", "k=k.npy"],
            "onnxqc: error: --input y=x.npy: the model has no input named 'y' (its inputs: 'x', 'k')\n",
        ),
        (
            &["--input", "x=x.npy"],
            "onnxqc: error: no value for the model's input 'k' (i64[?]): give it with --input k=FILE\n",
        ),
        (
            &[],
            "onnxqc: error: no value for the model's inputs 'x' (f32[2, 3]), 'k' (i64[?]): give each \
             with --input NAME=FILE\n",
        ),
        (
            &["--input", "x.npy"],
            "onnxqc: error: --input x.npy: without NAME= the model must have one input, and it has 2 \
             ('x', 'k'); write --input NAME=x.npy\n",
        ),
        (
            &["--inputs", "two.npz", "--input", "x=x.npy"],
            "onnxqc: error: input 'x' is given twice (by --inputs two.npz and by --input x=x.npy)\n",
        ),
        (
            &["--input", "x=two.npz"],
            "onnxqc: error: --input x=two.npz: the archive holds 2 arrays ('x', 'k'), not one; feed them \
             by name with --inputs\n",
        ),
        (
            &["--input", "x=notes.txt"],
            "onnxqc: error: 'notes.txt': unknown tensor file type (expected .npy, .npz or .pb)\n",
        ),
        (
            &["--inputs", "nothing"],
            "onnxqc: error: cannot read 'nothing': No such file or directory (os error 2)\n",
        ),
    ];
    for (args, want) in cases {
        let mut all = vec!["run", "m.mlir"];
        all.extend_from_slice(args);
        let o = onnxqc_in(&dir, &all);
        assert_eq!(o.status.code(), Some(1), "{args:?}: {}", stderr(&o));
        assert_eq!(stderr(&o), *want, "{args:?}");
        assert_eq!(stdout(&o), "", "{args:?}");
    }
    assert!(!dir.join("outputs").exists(), "a failed run writes nothing");

    let o = onnxqc_in(&dir, &["run", "m.mlir", "--threads", "0"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("the thread count must be a positive integer"),
        "{}",
        stderr(&o)
    );
    let o = onnxqc_in(&dir, &["run", "nope.onnx"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("nope.onnx"), "{}", stderr(&o));
    let o = onnxqc_in(&dir, &["run"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("<MODEL>"), "{}", stderr(&o));
}

#[test]
fn threads_flag_overrides_the_environment() {
    let dir = setup("threads");
    let run = |extra: &[&str]| {
        let mut args = vec!["run", "m.mlir", "--input", "x=x.npy", "--input", "k=k.npy"];
        args.extend_from_slice(extra);
        Command::new(env!("CARGO_BIN_EXE_onnxqc"))
            .args(&args)
            .current_dir(&dir)
            .env("ONNXQC_NUM_THREADS", "lots")
            .output()
            .unwrap()
    };
    let o = run(&[]);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(
        stderr(&o),
        "onnxqc: error: m.mlir: ONNXQC_NUM_THREADS='lots' is not a positive number of threads\n"
    );
    let o = run(&["--threads", "2"]);
    assert!(o.status.success(), "{}", stderr(&o));
}

#[test]
fn help_and_the_compile_command_still_work() {
    let dir = setup("help");
    let o = onnxqc_in(&dir, &["run", "--help"]);
    assert!(o.status.success());
    let help = stdout(&o);
    for want in [
        "--input NAME=FILE",
        "--inputs DIR",
        "input_N.pb",
        "OUTPUT_DIR/NAME.npy",
    ] {
        assert!(help.contains(want), "{want}: {help}");
    }
    assert!(stdout(&onnxqc_in(&dir, &["--help"])).contains("onnxqc run model.onnx"));
    // A model file named `run` is compiled when given as ./run.
    std::fs::copy(dir.join("m.mlir"), dir.join("run")).unwrap();
    let o = onnxqc_in(&dir, &["./run", "-passes=dce"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).contains("func.func @main"));
}

/// Add and Relu are the elementwise family's; this runs once their kernels are registered.
#[test]
fn add_relu_model_once_the_kernels_exist() {
    let ops = onnxqc_runtime::supported_ops();
    if !ops.contains(&"onnx.Add") || !ops.contains(&"onnx.Relu") {
        eprintln!("skipped: onnx.Add / onnx.Relu have no runtime kernel yet");
        return;
    }
    let dir = setup("add-relu");
    std::fs::write(
        dir.join("ar.mlir"),
        r#"func.func @main(%x: tensor<2x3xf32>, %y: tensor<3xf32>) -> tensor<2x3xf32> {
  %0 = "onnx.Add"(%x, %y) : (tensor<2x3xf32>, tensor<3xf32>) -> tensor<2x3xf32>
  %r = "onnx.Relu"(%0) : (tensor<2x3xf32>) -> tensor<2x3xf32>
  func.return %r : tensor<2x3xf32>
}
"#,
    )
    .unwrap();
    write_npy(
        &dir.join("y.npy"),
        &Tensor::from_vec(vec![3], vec![1f32, 0.0, -1.0]),
    )
    .unwrap();
    let o = onnxqc_in(
        &dir,
        &["run", "ar.mlir", "--input", "x=x.npy", "--input", "y=y.npy"],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(
        stdout(&o),
        "r  f32[2, 3]  min=0.0 max=1.5 mean=0.75  -> outputs/r.npy\n"
    );
    assert_eq!(
        read_npy(&dir.join("outputs/r.npy")).unwrap(),
        Tensor::from_vec(vec![2, 3], vec![0f32, 0.0, 0.0, 1.5, 1.5, 1.5])
    );
}
