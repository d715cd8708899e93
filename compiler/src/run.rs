//! `onnxqc run`: executes a model with the runtime on tensors read from files, writes every output
//! as `.npy` and prints a one-line summary of each.
//!
//! Inputs are checked before anything runs: every name must be one of the model's inputs, none may
//! be given twice and none may be missing, and each error names the file and the input. The dtype
//! and shape checks are the [`Session`]'s own. Outputs are written only after a successful run.

use std::collections::HashSet;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Parser;
use onnxqc_runtime::io::{extension, read_npy, read_pb, read_tensor_file, write_npy};
use onnxqc_runtime::{with_data, Elem, Session, SessionOptions, Tensor};

use crate::driver::{load_model, UserError};
use crate::input_files::{
    describe_tensor, describe_type, is_expected_output, pb_input_index, quoted_list,
};

const HELP: &str = "\
Inputs (each option may be repeated):
  --input NAME=FILE    model input NAME from FILE (split at the first '=')
  --input FILE         the same, for a model with a single input
  --inputs DIR         every .npy, .npz and .pb file in DIR, fed by name
  --inputs FILE.npz    every array of the archive, fed by name

Tensor files:
  FILE.npy   one array (np.save); in --inputs DIR it feeds the input named like
             the file (x.npy feeds x)
  FILE.npz   arrays by name (np.savez, np.savez_compressed); with --input
             it must hold exactly one array
  FILE.pb    an ONNX TensorProto; in --inputs DIR it feeds the input it is
             named after or, when unnamed, input N for input_N.pb. That is the
             layout of ONNX test data sets; their output_*.pb are skipped.
Every model input must be given once, with the element type and shape the model
declares: nothing is converted. A bfloat16 .npy holds 2-byte void ('<V2'), as
numpy saves ml_dtypes.bfloat16 arrays.

Outputs:
  Each output goes to OUTPUT_DIR/NAME.npy (characters of NAME other than
  letters, digits, '_', '-' and '.' become '_'), and a line
    NAME  DTYPE[SHAPE]  min=.. max=.. mean=..  -> FILE
  to standard output. NaNs are left out of the statistics and counted (nan=N).

Examples:
  onnxqc run model.onnx --input x=x.npy
  onnxqc run model.onnx --input image.npy --output-dir out --threads 4
  onnxqc run model.onnx --inputs test_data_set_0
  onnxqc run model.mlir --inputs feeds.npz --input mask=mask.pb";

#[derive(Debug, Parser)]
#[command(
    name = "onnxqc run",
    bin_name = "onnxqc run",
    version,
    about = "Executes a model with the onnxqc runtime on tensors from .npy, .npz or .pb files and writes \
             its outputs as .npy files.",
    after_help = HELP
)]
pub struct RunCli {
    /// The model: an ONNX model (.onnx), a text IR file (.mlir), or '-' for text IR on standard input.
    #[arg(value_name = "MODEL")]
    pub model: PathBuf,

    /// A model input from a file: NAME=FILE, or FILE alone when the model has one input.
    #[arg(long = "input", value_name = "[NAME=]FILE")]
    pub input: Vec<OsString>,

    /// Model inputs from a folder of tensor files or an .npz archive, fed by name.
    #[arg(long = "inputs", value_name = "DIR|FILE.npz")]
    pub inputs: Vec<PathBuf>,

    /// Where the outputs are written (created if needed).
    #[arg(long, value_name = "DIR", default_value = "outputs")]
    pub output_dir: PathBuf,

    /// Threads for the kernels (default: $ONNXQC_NUM_THREADS, else one per core).
    #[arg(long, value_name = "N", value_parser = parse_threads)]
    pub threads: Option<usize>,

    /// Also time N more runs on the same inputs (after the first, which warms up) and print the
    /// median and minimum latency; import and planning are not timed. For benchmarks.
    #[arg(long, value_name = "N")]
    pub repeat: Option<usize>,
}

fn parse_threads(s: &str) -> Result<usize, String> {
    match s.parse::<usize>() {
        Ok(n) if n > 0 => Ok(n),
        _ => Err("the thread count must be a positive integer".into()),
    }
}

pub fn main_with_args(args: Vec<OsString>) -> ExitCode {
    crate::driver::parse_and_run::<RunCli>(args, run)
}

/// A tensor to feed, the file it came from and the option that named it (for error messages).
struct Feed {
    name: String,
    tensor: Tensor,
    source: String,
    origin: String,
}

fn run(cli: &RunCli) -> Result<(), UserError> {
    let module = load_model(&cli.model)?;
    let shown = cli.model.display().to_string();
    let opts = SessionOptions {
        threads: cli.threads,
    };
    let session = Session::with_options(&module, &opts)
        .map_err(|e| UserError::msg(format!("{shown}: {e}")))?;
    let feeds = gather_inputs(cli, &session)?;
    let sources: Vec<(String, String)> = feeds
        .iter()
        .map(|f| (f.name.clone(), f.source.clone()))
        .collect();
    let timing_feeds: Vec<(String, Tensor)> = match cli.repeat {
        Some(_) => feeds
            .iter()
            .map(|f| (f.name.clone(), f.tensor.clone()))
            .collect(),
        None => vec![],
    };
    let outputs = session
        .run(feeds.into_iter().map(|f| (f.name, f.tensor)))
        .map_err(|e| {
            let msg = e.to_string();
            // The session names the input; say which file it came from.
            let mut err = UserError::msg(format!("{shown}: {msg}"));
            if let Some((name, src)) = sources
                .iter()
                .find(|(n, _)| msg.starts_with(&format!("input '{n}' ")))
            {
                let mut d = err.diagnostics[0]
                    .clone()
                    .with_note(format!("'{name}' was read from {src}"));
                if msg.ends_with("the element type differs") {
                    d = d.with_note(
                        "inputs are not converted: save the array with the model's element type",
                    );
                }
                err.diagnostics[0] = d;
            }
            err
        })?;
    if let Some(n) = cli.repeat.filter(|&n| n > 0) {
        let mut times = Vec::with_capacity(n);
        for _ in 0..n {
            let start = std::time::Instant::now();
            session
                .run(timing_feeds.iter().cloned())
                .map_err(|e| UserError::msg(format!("{shown}: {e}")))?;
            times.push(start.elapsed().as_secs_f64() * 1e3);
        }
        times.sort_by(f64::total_cmp);
        eprintln!(
            "time: median {:.3} ms, min {:.3} ms over {n} runs ({} threads)",
            times[n / 2],
            times[0],
            session.threads()
        );
    }
    let dir = &cli.output_dir;
    std::fs::create_dir_all(dir).map_err(|e| {
        UserError::msg(format!(
            "cannot create the output folder '{}': {e}",
            dir.display()
        ))
    })?;
    let mut taken = HashSet::new();
    for (name, t) in outputs.iter() {
        let path = dir.join(format!("{}.npy", file_stem_for(name, &mut taken)));
        write_npy(&path, t).map_err(|e| UserError::msg(e.to_string()))?;
        println!("{}  -> {}", summary(name, t), path.display());
    }
    Ok(())
}

/// Reads every `--inputs` and `--input`, and checks the names against the model's inputs.
fn gather_inputs(cli: &RunCli, session: &Session) -> Result<Vec<Feed>, UserError> {
    let model_inputs: Vec<&str> = session.inputs().iter().map(|i| i.name.as_str()).collect();
    let read = |path: &Path| read_tensor_file(path).map_err(|e| UserError::msg(e.to_string()));
    let mut feeds: Vec<Feed> = vec![];
    for path in &cli.inputs {
        let shown = path.display().to_string();
        let meta = std::fs::metadata(path)
            .map_err(|e| UserError::msg(format!("cannot read '{shown}': {e}")))?;
        if meta.is_dir() {
            for file in tensor_files(path)? {
                let src = file.display().to_string();
                for (name, tensor) in read_dir_file(&file, &model_inputs)? {
                    feeds.push(Feed {
                        name,
                        tensor,
                        source: src.clone(),
                        origin: format!("{src} (in --inputs {shown})"),
                    });
                }
            }
        } else {
            for (name, tensor) in read(path)? {
                feeds.push(Feed {
                    name,
                    tensor,
                    source: shown.clone(),
                    origin: format!("--inputs {shown}"),
                });
            }
        }
    }
    for spec in &cli.input {
        let (name, path) = split_spec(spec);
        let shown = path.display().to_string();
        let name = match name {
            Some(n) => n,
            None if model_inputs.len() == 1 => model_inputs[0].to_string(),
            None => {
                return Err(UserError::msg(format!(
                    "--input {shown}: without NAME= the model must have one input, and it has {} ({}); \
                     write --input NAME={shown}",
                    model_inputs.len(),
                    quoted_list(&model_inputs)
                )))
            }
        };
        let tensor = read_one(&path, &spec.to_string_lossy())?;
        feeds.push(Feed {
            name,
            tensor,
            source: shown,
            origin: format!("--input {}", spec.to_string_lossy()),
        });
    }
    for (i, f) in feeds.iter().enumerate() {
        if !model_inputs.contains(&f.name.as_str()) {
            return Err(UserError::msg(format!(
                "{}: the model has no input named '{}' (its inputs: {})",
                f.origin,
                f.name,
                quoted_list(&model_inputs)
            )));
        }
        if let Some(first) = feeds[..i].iter().find(|g| g.name == f.name) {
            return Err(UserError::msg(format!(
                "input '{}' is given twice (by {} and by {})",
                f.name, first.origin, f.origin
            )));
        }
    }
    let missing: Vec<_> = session
        .inputs()
        .iter()
        .filter(|i| !feeds.iter().any(|f| f.name == i.name))
        .collect();
    match missing.as_slice() {
        [] => {}
        [one] => {
            return Err(UserError::msg(format!(
                "no value for the model's input '{}' ({}): give it with --input {}=FILE",
                one.name,
                describe_type(&one.ty),
                one.name
            )))
        }
        several => {
            let list: Vec<String> = several
                .iter()
                .map(|i| format!("'{}' ({})", i.name, describe_type(&i.ty)))
                .collect();
            return Err(UserError::msg(format!(
                "no value for the model's inputs {}: give each with --input NAME=FILE",
                list.join(", ")
            )));
        }
    }
    Ok(feeds)
}

/// `NAME=FILE` or `FILE`, split at the first `=`.
fn split_spec(spec: &OsString) -> (Option<String>, PathBuf) {
    match spec.to_str().and_then(|s| s.split_once('=')) {
        Some((name, path)) => (Some(name.to_string()), PathBuf::from(path)),
        None => (None, PathBuf::from(spec)),
    }
}

/// The single tensor of a file given with `--input SPEC`, whatever name the file gives it.
fn read_one(path: &Path, spec: &str) -> Result<Tensor, UserError> {
    let err = |e: onnxqc_runtime::RuntimeError| UserError::msg(e.to_string());
    match extension(path).as_deref() {
        Some("npy") => read_npy(path).map_err(err),
        Some("pb") => read_pb(path).map(|(_, t)| t).map_err(err),
        _ => {
            let mut all = read_tensor_file(path).map_err(err)?;
            if all.len() == 1 {
                return Ok(all.pop().expect("one tensor").1);
            }
            let names: Vec<&str> = all.iter().map(|(n, _)| n.as_str()).collect();
            Err(UserError::msg(format!(
                "--input {spec}: the archive holds {} arrays ({}), not one; feed them by name with --inputs",
                all.len(),
                quoted_list(&names)
            )))
        }
    }
}

/// The tensor files of a folder, sorted; expected outputs of ONNX test data sets are left out.
fn tensor_files(dir: &Path) -> Result<Vec<PathBuf>, UserError> {
    let shown = dir.display();
    let entries = std::fs::read_dir(dir)
        .map_err(|e| UserError::msg(format!("cannot read the folder '{shown}': {e}")))?;
    let mut files = vec![];
    for entry in entries {
        let path = entry
            .map_err(|e| UserError::msg(format!("cannot read the folder '{shown}': {e}")))?
            .path();
        let ext = extension(&path);
        if !path.is_file()
            || !matches!(ext.as_deref(), Some("npy" | "npz" | "pb"))
            || is_expected_output(&path)
        {
            continue;
        }
        files.push(path);
    }
    files.sort();
    if files.is_empty() {
        return Err(UserError::msg(format!(
            "--inputs {shown}: the folder has no .npy, .npz or .pb files"
        )));
    }
    Ok(files)
}

/// A file of an `--inputs` folder; an unnamed `input_N.pb` feeds the model's input N.
fn read_dir_file(path: &Path, model_inputs: &[&str]) -> Result<Vec<(String, Tensor)>, UserError> {
    let err = |e: onnxqc_runtime::RuntimeError| UserError::msg(e.to_string());
    if extension(path).as_deref() != Some("pb") {
        return read_tensor_file(path).map_err(err);
    }
    let (name, t) = read_pb(path).map_err(err)?;
    if !name.is_empty() {
        return Ok(vec![(name, t)]);
    }
    match pb_input_index(path) {
        Some(i) if i < model_inputs.len() => Ok(vec![(model_inputs[i].to_string(), t)]),
        Some(i) => Err(UserError::msg(format!(
            "{}: an unnamed tensor for input {i}, but the model has {} input(s)",
            path.display(),
            model_inputs.len()
        ))),
        None => {
            let stem = path.file_stem().unwrap_or_default().to_string_lossy();
            Ok(vec![(stem.into_owned(), t)])
        }
    }
}

/// A file stem for output `name`: only portable characters, never hidden, unique (ignoring case, for
/// case-insensitive file systems) among the stems already `taken`.
fn file_stem_for(name: &str, taken: &mut HashSet<String>) -> String {
    let mut stem: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.') {
                c
            } else {
                '_'
            }
        })
        .collect();
    if stem.is_empty() {
        stem = "output".into();
    }
    if stem.starts_with('.') {
        stem.replace_range(..1, "_");
    }
    let mut unique = stem.clone();
    let mut n = 2;
    while !taken.insert(unique.to_ascii_lowercase()) {
        unique = format!("{stem}_{n}");
        n += 1;
    }
    unique
}

/// `NAME  DTYPE[SHAPE]  min=.. max=.. mean=..`, NaNs left out of the statistics and counted.
fn summary(name: &str, t: &Tensor) -> String {
    let head = format!("{name}  {}", describe_tensor(t));
    let stats = with_data!(t.data(), v => stats(v));
    match stats {
        None if t.is_empty() => format!("{head}  (empty)"),
        None => format!("{head}  nan={}", t.len()),
        Some(s) => {
            let nan = if s.nans > 0 {
                format!(" nan={}", s.nans)
            } else {
                String::new()
            };
            format!(
                "{head}  min={} max={} mean={}{nan}",
                s.min,
                s.max,
                format_g(s.mean)
            )
        }
    }
}

struct Stats {
    min: String,
    max: String,
    mean: f64,
    nans: usize,
}

/// Minimum, maximum (as the element type prints them) and mean of the non-NaN elements.
fn stats<T: Elem>(v: &[T]) -> Option<Stats> {
    let mut min: Option<T> = None;
    let mut max: Option<T> = None;
    let mut sum = 0f64;
    let mut count = 0usize;
    for &x in v {
        // NaN is the one value not comparable with itself.
        if x.partial_cmp(&x).is_none() {
            continue;
        }
        if min.is_none_or(|m| x < m) {
            min = Some(x);
        }
        if max.is_none_or(|m| x > m) {
            max = Some(x);
        }
        sum += x.to_f64();
        count += 1;
    }
    let (min, max) = (min?, max?);
    Some(Stats {
        min: format!("{min:?}"),
        max: format!("{max:?}"),
        mean: sum / count as f64,
        nans: v.len() - count,
    })
}

/// Six significant digits, as C's `%g`: `0.25`, `-1.5e-07`, `123457`.
fn format_g(v: f64) -> String {
    if v == 0.0 {
        return "0".into();
    }
    if !v.is_finite() {
        return format!("{v}");
    }
    let exp = v.abs().log10().floor() as i32;
    if (-5..6).contains(&exp) {
        let s = format!("{:.*}", (5 - exp).max(0) as usize, v);
        let s = if s.contains('.') {
            s.trim_end_matches('0').trim_end_matches('.')
        } else {
            &s
        };
        s.to_string()
    } else {
        let s = format!("{v:.5e}");
        let (mantissa, e) = s.split_once('e').expect("exponent form");
        let mantissa = mantissa.trim_end_matches('0').trim_end_matches('.');
        format!("{mantissa}e{e}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn output_file_stems_are_portable_and_unique() {
        let mut taken = HashSet::new();
        let stems: Vec<String> = ["y", "a/b:0", "Y", "..", "", "y"]
            .iter()
            .map(|n| file_stem_for(n, &mut taken))
            .collect();
        assert_eq!(stems, ["y", "a_b_0", "Y_2", "_.", "output", "y_3"]);
    }

    #[test]
    fn summaries() {
        let t = Tensor::from_vec(vec![2, 2], vec![-1.5f32, 2.0, f32::NAN, 0.25]);
        assert_eq!(
            summary("y", &t),
            "y  f32[2, 2]  min=-1.5 max=2.0 mean=0.25 nan=1"
        );
        let t = Tensor::from_vec(vec![3], vec![true, false, true]);
        assert_eq!(
            summary("m", &t),
            "m  bool[3]  min=false max=true mean=0.666667"
        );
        assert_eq!(
            summary("e", &Tensor::from_vec(vec![0], Vec::<i64>::new())),
            "e  i64[0]  (empty)"
        );
        assert_eq!(
            summary("s", &Tensor::scalar(7u8)),
            "s  u8[]  min=7 max=7 mean=7"
        );
        assert_eq!(
            summary("n", &Tensor::from_vec(vec![2], vec![f64::NAN; 2])),
            "n  f64[2]  nan=2"
        );
    }

    #[test]
    fn g_format() {
        for (v, want) in [
            (0.25, "0.25"),
            (-1.5e-7, "-1.5e-7"),
            (123456.7, "123457"),
            (1234567.0, "1.23457e6"),
            (1.0 / 3.0, "0.333333"),
            (100.0, "100"),
            (0.0001, "0.0001"),
            (f64::INFINITY, "inf"),
        ] {
            assert_eq!(format_g(v), want, "{v}");
        }
    }
}
