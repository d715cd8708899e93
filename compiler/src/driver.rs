//! The CLI driver: argument parsing (clap), reading the input, running the pipeline, writing the output.
//! A first argument `run` hands over to [`crate::run`] (`onnxqc run MODEL --input ...`), which executes
//! the model instead of compiling it, and `quantize` to [`crate::quantize_cmd`] (ONNX Runtime-style
//! presets); a model file literally named `run` or `quantize` is given as `./run`.
//!
//! `-passes=` (LLVM `opt` style) is rewritten to `--passes=` before clap sees it. With
//! `--split-input-file` the input is cut at `// -----` lines and each chunk is processed on its own, as
//! `mlir-opt` does, so one lit file can hold many small cases; the outputs are joined with `// -----`.
//! Output files are written to a temporary file in the same folder and renamed into place, so a failed
//! run never leaves a half-written file.

use std::ffi::OsString;
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, ValueEnum};
use codespan_reporting::term::termcolor::{ColorChoice, StandardStream};
use onnxqc_ir::parse::{parse_module_with, split_input, ResourceResolver};
use onnxqc_ir::print::{elided_resources, print_module, PrintOptions};
use onnxqc_ir::verify::verify_module;
use onnxqc_ir::{Diagnostic, Module, OpRegistry, SourceFile, TensorData};
use onnxqc_onnx::{export_file, import_file, ExportOptions, ExternalData};
use onnxqc_passes::manager::{run_pipeline, RunError};
use onnxqc_passes::{parse_pipeline, OptValue, PassContext, PassRegistry, RunConfig};
use rustc_hash::FxHashMap;

use crate::calib_data::CalibDataArgs;
use crate::calibration::RuntimeRunner;

pub const EXIT_USER: u8 = 1;
pub const EXIT_INTERNAL: u8 = 2;

const EXAMPLES: &str = "\
Examples:
  onnxqc model.onnx -passes=cse,dce -o out.onnx     import, run two passes, export
  onnxqc model.onnx --emit=ir --elide-resources     the text IR without the weights' bytes
  onnxqc m.mlir --weights model.onnx -o out.onnx    re-read such text with the model's weights
  onnxqc model.mlir -passes=cse,dce                 run two passes, print the IR
  onnxqc model.mlir -passes='cse{include-unknown=true}' -o out.mlir
  onnxqc cases.mlir --split-input-file -passes=dce  one run per '// -----' chunk (lit tests)
  onnxqc model.mlir -passes=cse,dce --time-passes --print-ir-after=cse
  onnxqc --list-passes                              the passes and their options
  onnxqc run model.onnx --input x=x.npy             execute the model (see onnxqc run --help)
  onnxqc quantize static model.onnx --calib-data DIR -o q.onnx
                                                    ONNX Runtime's quantize_static as a preset";

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Emit {
    /// The text IR (MLIR generic syntax).
    Ir,
    /// An ONNX model.
    Onnx,
}

#[derive(Debug, Parser)]
#[command(
    name = "onnxqc",
    version,
    about = "onnxqc: an ONNX quantization compiler. Reads a model, runs a pipeline of passes, writes the result.",
    after_help = EXAMPLES
)]
pub struct Cli {
    /// Input: an ONNX model (.onnx), a text IR file (.mlir), or '-' for standard input (text IR).
    #[arg(value_name = "INPUT", required_unless_present = "list_passes")]
    pub input: Option<PathBuf>,

    /// Pass pipeline, e.g. 'cse,dce' or 'cse{include-unknown=true},dce' (also -passes=).
    #[arg(long = "passes", value_name = "PIPELINE", default_value = "")]
    pub passes: String,

    /// Output file (default: standard output).
    #[arg(short = 'o', value_name = "OUT")]
    pub output: Option<PathBuf>,

    /// What to write: the text IR or an ONNX model (default: ir, or onnx when OUT ends in .onnx).
    #[arg(long, value_enum, value_name = "FORMAT")]
    pub emit: Option<Emit>,

    /// Split the input at '// -----' lines and process each chunk separately.
    #[arg(long)]
    pub split_input_file: bool,

    /// List the registered passes with their options, then exit.
    #[arg(long)]
    pub list_passes: bool,

    /// Print the IR (to stderr) after each pass with this name (repeatable, or comma-separated).
    #[arg(long, value_name = "NAME", value_delimiter = ',')]
    pub print_ir_after: Vec<String>,

    /// Print the IR (to stderr) after every pass.
    #[arg(long)]
    pub print_ir_after_all: bool,

    /// Print a table of wall time and memory per pass (to stderr).
    #[arg(long)]
    pub time_passes: bool,

    /// Do not run the verifier after each pass.
    #[arg(long)]
    pub no_verify_each: bool,

    /// Print large constants as dense_resource<KEY> without their bytes (re-read with --weights).
    #[arg(long)]
    pub elide_resources: bool,

    /// The ONNX model whose weights fill the dense_resource constants of a text input printed with
    /// --elide-resources.
    #[arg(long, value_name = "MODEL.onnx")]
    pub weights: Option<PathBuf>,

    /// Store large tensors in an external data file: auto (when the input did, or the model passes
    /// protobuf's 2 GiB limit; the default), always, or never.
    #[arg(long, value_enum, value_name = "WHEN")]
    pub external_data: Option<ExternalDataArg>,

    /// Tensors of at least this many bytes go to the external data file (default 1024; 0: every
    /// non-empty tensor).
    #[arg(long, value_name = "BYTES")]
    pub external_data_threshold: Option<usize>,

    /// Name of the external data file, relative to the output's folder (default: OUT.data).
    #[arg(long, value_name = "NAME")]
    pub external_data_file: Option<String>,

    #[command(flatten)]
    pub calib: CalibDataArgs,

    /// Take the ranges of the calibrate pass from this table (onnxqc JSON, ONNX Runtime's JSON or
    /// calibration.cache) instead of running the model.
    #[arg(long, value_name = "FILE")]
    pub calibration_table: Option<PathBuf>,

    /// Write the ranges the calibrate pass chose to this file (.json: onnxqc JSON; .cache: ONNX
    /// Runtime's calibration.cache; see calibrate{table-format=...}).
    #[arg(long, value_name = "FILE")]
    pub write_calibration_table: Option<PathBuf>,

    /// Format of --write-calibration-table: auto (by extension), json, ort, tensorrt.
    #[arg(long, value_name = "FORMAT", value_parser = ["auto", "json", "ort", "tensorrt"])]
    pub calibration_table_format: Option<String>,

    /// No progress output during calibration.
    #[arg(long)]
    pub no_progress: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ExternalDataArg {
    Auto,
    Always,
    Never,
}

/// Rewrites LLVM-style single-dash long options (`-passes=x`, `-passes x`) to clap's `--passes`.
pub fn normalize_args(args: Vec<OsString>) -> Vec<OsString> {
    args.into_iter()
        .map(|a| match a.to_str() {
            Some(s) if s == "-passes" || s.starts_with("-passes=") => {
                OsString::from(format!("-{s}"))
            }
            _ => a,
        })
        .collect()
}

/// An error for the user: a message, optionally rendered against a source file.
pub(crate) struct UserError {
    pub(crate) diagnostics: Vec<Diagnostic>,
    pub(crate) source: Option<SourceFile>,
    pub(crate) internal: bool,
}

impl UserError {
    pub(crate) fn msg(message: impl Into<String>) -> UserError {
        UserError {
            diagnostics: vec![Diagnostic::error(message)],
            source: None,
            internal: false,
        }
    }
}

pub fn main_with_args(args: Vec<OsString>) -> ExitCode {
    if args.get(1).is_some_and(|a| a == "run") {
        return crate::run::main_with_args(args[1..].to_vec());
    }
    if args.get(1).is_some_and(|a| a == "quantize") {
        return crate::quantize_cmd::main_with_args(args[1..].to_vec());
    }
    parse_and_run::<Cli>(args, run)
}

/// Parses the arguments into `C` (help and version exit 0, a usage error exits 1), runs `job` and maps
/// its error to the exit code: shared by the main command and `onnxqc run`.
pub fn parse_and_run<C: clap::Parser>(
    args: Vec<OsString>,
    job: fn(&C) -> Result<(), UserError>,
) -> ExitCode {
    let cli = match C::try_parse_from(args) {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() {
                ExitCode::from(EXIT_USER)
            } else {
                ExitCode::SUCCESS
            };
        }
    };
    match job(&cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            report(&e);
            ExitCode::from(if e.internal { EXIT_INTERNAL } else { EXIT_USER })
        }
    }
}

pub(crate) fn report(e: &UserError) {
    // termcolor's Auto looks only at TERM/NO_COLOR; pipes and files (lit, CI logs) get no colors.
    let choice = if std::io::stderr().is_terminal() {
        ColorChoice::Auto
    } else {
        ColorChoice::Never
    };
    let mut stderr = StandardStream::stderr(choice);
    for d in &e.diagnostics {
        if e.source.is_some() && d.span.is_some() {
            d.emit_to(&mut stderr, e.source.as_ref());
        } else {
            let _ = writeln!(stderr, "onnxqc: {d}");
        }
    }
}

pub(crate) fn run(cli: &Cli) -> Result<(), UserError> {
    let passes = PassRegistry::builtin();
    if cli.list_passes {
        print!("{}", passes.describe());
        return Ok(());
    }
    let mut pipeline = parse_pipeline(&cli.passes, &passes).map_err(|e| {
        let caret = format!("{}^", " ".repeat(e.offset));
        UserError::msg(format!(
            "{}\n  -passes={}\n          {caret}\n  = {}",
            e.message, cli.passes, e.help
        ))
    })?;
    apply_calibration_flags(cli, &mut pipeline)?;
    for name in &cli.print_ir_after {
        if passes.get(name).is_none() {
            return Err(UserError::msg(format!(
                "--print-ir-after: unknown pass '{name}'; registered passes: {}",
                passes.names()
            )));
        }
    }
    let input = cli.input.as_deref().expect("clap requires INPUT");
    let emit = cli.emit.unwrap_or(match &cli.output {
        Some(p) if p.extension().is_some_and(|e| e == "onnx") => Emit::Onnx,
        _ => Emit::Ir,
    });
    if emit == Emit::Onnx {
        if cli.output.as_deref().is_none_or(|p| p == Path::new("-")) {
            return Err(UserError::msg(
                "--emit=onnx writes a binary model: give the output file with -o OUT.onnx",
            ));
        }
        if cli.split_input_file {
            return Err(UserError::msg(
                "--split-input-file gives one module per chunk; it cannot be combined with --emit=onnx",
            ));
        }
    }

    let external_flags = cli.external_data.is_some()
        || cli.external_data_threshold.is_some()
        || cli.external_data_file.is_some();
    if external_flags && emit != Emit::Onnx {
        return Err(UserError::msg(
            "--external-data, --external-data-threshold and --external-data-file apply to ONNX output; \
             give -o OUT.onnx or --emit=onnx",
        ));
    }
    let ops = onnxqc_passes::default_op_registry();
    let print_opts = PrintOptions {
        elide_resources: cli.elide_resources,
        ..PrintOptions::default()
    };
    if is_onnx_input(input) {
        if cli.split_input_file {
            return Err(UserError::msg(
                "--split-input-file applies to text IR, not to an ONNX model",
            ));
        }
        if cli.weights.is_some() {
            return Err(UserError::msg(
                "--weights applies to a text IR input printed with --elide-resources, not to an ONNX model",
            ));
        }
        let (mut module, had_external) = import_onnx(input, &ops)?;
        let source = SourceFile::new(input.display().to_string(), String::new());
        run_passes(cli, &mut module, &source, &ops, &pipeline, &print_opts)?;
        return write_module(cli, emit, &module, &print_opts, had_external);
    }
    let (name, text) = read_input(input)?;
    let source = SourceFile::new(name, text);
    let weights = match &cli.weights {
        Some(path) => Some(load_weights(path, &print_opts)?),
        None => None,
    };
    let lookup = |key: &str| weights.as_ref().and_then(|w| w.get(key).cloned());
    let resolve: Option<&ResourceResolver> = weights.is_some().then_some(&lookup as _);

    let chunks = if cli.split_input_file {
        split_input(&source.text)
    } else {
        vec![(source.text.as_str(), 0)]
    };
    let mut outputs = Vec::with_capacity(chunks.len());
    let mut failed: Option<UserError> = None;
    for (chunk, base) in chunks {
        match process_chunk(cli, chunk, base, &source, &ops, &pipeline, resolve) {
            Ok(module) => {
                if emit == Emit::Onnx {
                    return write_module(cli, emit, &module, &print_opts, false);
                }
                outputs.push(print_module(&module, &print_opts))
            }
            Err(e) => {
                // With --split-input-file every chunk is tried; errors are reported as they come.
                if cli.split_input_file {
                    report(&e);
                    let internal = e.internal || failed.as_ref().is_some_and(|f| f.internal);
                    failed = Some(UserError {
                        diagnostics: vec![],
                        source: None,
                        internal,
                    });
                } else {
                    return Err(e);
                }
            }
        }
    }
    let text = outputs.join("// -----\n");
    if let Some(f) = failed {
        // Print what succeeded (as mlir-opt does) but exit non-zero.
        let _ = write_output(cli.output.as_deref(), &text);
        return Err(f);
    }
    write_output(cli.output.as_deref(), &text)
}

/// `--calibration-table` and `--write-calibration-table` set the `table` / `write-table` options of
/// the pipeline's `calibrate` passes; the calibration data flags need a `calibrate` pass to mean anything.
fn apply_calibration_flags(
    cli: &Cli,
    pipeline: &mut onnxqc_passes::Pipeline,
) -> Result<(), UserError> {
    let mut calibrates = pipeline
        .entries
        .iter_mut()
        .filter(|e| e.info.name == "calibrate")
        .peekable();
    if calibrates.peek().is_none() {
        let flag = if cli.calibration_table.is_some() {
            Some("--calibration-table")
        } else if cli.write_calibration_table.is_some() {
            Some("--write-calibration-table")
        } else if cli.calibration_table_format.is_some() {
            Some("--calibration-table-format")
        } else if cli.calib.calib_data.is_some() {
            Some("--calib-data")
        } else {
            None
        };
        return match flag {
            Some(flag) => Err(UserError::msg(format!(
                "{flag} is for the calibrate pass, which the pipeline does not run (add it: -passes=...,calibrate,...)"
            ))),
            None => Ok(()),
        };
    }
    for e in calibrates {
        if let Some(t) = &cli.calibration_table {
            e.options
                .set("table", OptValue::Str(t.display().to_string()));
        }
        if let Some(t) = &cli.write_calibration_table {
            e.options
                .set("write-table", OptValue::Str(t.display().to_string()));
        }
        if let Some(f) = &cli.calibration_table_format {
            e.options.set("table-format", OptValue::Str(f.clone()));
        }
    }
    Ok(())
}

/// Imports and verifies an ONNX model (printing the importer's warnings); also says whether it had
/// external data.
fn import_onnx(input: &Path, ops: &OpRegistry) -> Result<(Module, bool), UserError> {
    let shown = input.display().to_string();
    let imported = import_file(input).map_err(|e| UserError::msg(format!("{shown}: {e}")))?;
    for w in &imported.warnings {
        eprintln!("onnxqc: warning: {shown}: {w}");
    }
    let had_external = imported.external_tensors > 0;
    let module = imported.module;
    verify_module(&module, ops).map_err(|d| UserError {
        diagnostics: std::iter::once(Diagnostic::error(format!(
            "{shown}: the model is not valid"
        )))
        .chain(d)
        .collect(),
        source: None,
        internal: false,
    })?;
    Ok((module, had_external))
}

/// Reads a model to execute (`onnxqc run`): an ONNX model, or text IR from a file or `-`, verified.
pub(crate) fn load_model(input: &Path) -> Result<Module, UserError> {
    let ops = onnxqc_passes::default_op_registry();
    if is_onnx_input(input) {
        return import_onnx(input, &ops).map(|(m, _)| m);
    }
    let (name, text) = read_input(input)?;
    let source = SourceFile::new(name, text);
    let with_source = |diagnostics: Vec<Diagnostic>| UserError {
        diagnostics,
        source: Some(source.clone()),
        internal: false,
    };
    let module = parse_module_with(&source.text, 0, None).map_err(|d| with_source(vec![d]))?;
    verify_module(&module, &ops).map_err(with_source)?;
    Ok(module)
}

/// An ONNX model is named `*.onnx`, or is a file whose first byte is a control character (a protobuf
/// field tag such as 0x08), never the start of text IR.
fn is_onnx_input(input: &Path) -> bool {
    if input == Path::new("-") {
        return false;
    }
    if input.extension().is_some_and(|e| e == "onnx") {
        return true;
    }
    let mut first = [0u8; 1];
    std::fs::File::open(input)
        .and_then(|mut f| std::io::Read::read(&mut f, &mut first))
        .is_ok_and(|n| n == 1 && first[0] < 0x20 && !first[0].is_ascii_whitespace())
}

/// The constants of the model at `path`, by the resource keys its text IR prints them under.
fn load_weights(
    path: &Path,
    print_opts: &PrintOptions,
) -> Result<FxHashMap<String, TensorData>, UserError> {
    let shown = path.display();
    let imported =
        import_file(path).map_err(|e| UserError::msg(format!("--weights {shown}: {e}")))?;
    Ok(elided_resources(&imported.module, print_opts)
        .into_iter()
        .collect())
}

/// Writes the result as text IR or as an ONNX model.
fn write_module(
    cli: &Cli,
    emit: Emit,
    module: &Module,
    print_opts: &PrintOptions,
    input_had_external: bool,
) -> Result<(), UserError> {
    match emit {
        Emit::Ir => write_output(cli.output.as_deref(), &print_module(module, print_opts)),
        Emit::Onnx => {
            let path = cli.output.as_deref().expect("checked in run");
            let opts = ExportOptions {
                external: match cli.external_data.unwrap_or(ExternalDataArg::Auto) {
                    ExternalDataArg::Auto => ExternalData::Auto,
                    ExternalDataArg::Always => ExternalData::Always,
                    ExternalDataArg::Never => ExternalData::Never,
                },
                threshold: cli
                    .external_data_threshold
                    .unwrap_or(ExportOptions::default().threshold),
                input_had_external,
                data_file: cli.external_data_file.clone(),
                ..ExportOptions::default()
            };
            export_file(module, path, &opts)
                .map(|_| ())
                .map_err(|e| UserError::msg(format!("{}: {e}", path.display())))
        }
    }
}

fn read_input(input: &Path) -> Result<(String, String), UserError> {
    if input == Path::new("-") {
        let mut text = String::new();
        std::io::Read::read_to_string(&mut std::io::stdin(), &mut text)
            .map_err(|e| UserError::msg(format!("cannot read standard input: {e}")))?;
        return Ok(("<stdin>".into(), text));
    }
    let shown = input.display().to_string();
    let bytes =
        std::fs::read(input).map_err(|e| UserError::msg(format!("{shown}: cannot read: {e}")))?;
    let text = String::from_utf8(bytes).map_err(|e| {
        UserError::msg(format!(
            "{shown}: not a text IR file (invalid UTF-8 at byte {}); ONNX models must have the .onnx extension",
            e.utf8_error().valid_up_to()
        ))
    })?;
    Ok((shown, text))
}

fn process_chunk(
    cli: &Cli,
    chunk: &str,
    base: usize,
    source: &SourceFile,
    ops: &OpRegistry,
    pipeline: &onnxqc_passes::Pipeline,
    resolve: Option<&ResourceResolver>,
) -> Result<Module, UserError> {
    let with_source = |diagnostics: Vec<Diagnostic>| UserError {
        diagnostics,
        source: Some(source.clone()),
        internal: false,
    };
    let mut module: Module =
        parse_module_with(chunk, base, resolve).map_err(|d| with_source(vec![d]))?;
    verify_module(&module, ops).map_err(with_source)?;
    let print_opts = PrintOptions {
        elide_resources: cli.elide_resources,
        ..PrintOptions::default()
    };
    run_passes(cli, &mut module, source, ops, pipeline, &print_opts)?;
    Ok(module)
}

/// Evaluates single ops for the passes (constant folding) with the runtime's kernels.
struct RuntimeEvaluator;

impl onnxqc_passes::ConstEvaluator for RuntimeEvaluator {
    fn eval(
        &self,
        op: &onnxqc_ir::OpData,
        inputs: &[Option<&TensorData>],
        opset: i64,
    ) -> Result<Vec<TensorData>, String> {
        onnxqc_runtime::eval_op(op, inputs, opset)
    }
}

/// Runs the pipeline with the CLI's dump, timing and verification settings.
fn run_passes(
    cli: &Cli,
    module: &mut Module,
    source: &SourceFile,
    ops: &OpRegistry,
    pipeline: &onnxqc_passes::Pipeline,
    print_opts: &PrintOptions,
) -> Result<(), UserError> {
    let with_source = |diagnostics: Vec<Diagnostic>, internal: bool| UserError {
        diagnostics,
        source: (!source.text.is_empty()).then(|| source.clone()),
        internal,
    };
    let runner = RuntimeRunner {
        data: &cli.calib,
        progress: !cli.no_progress,
    };
    let cx = PassContext {
        ops,
        eval: Some(&RuntimeEvaluator),
        calib: cli.calib.calib_data.is_some().then_some(&runner as _),
    };
    let mut dump = |pass: &str, m: &Module| {
        eprintln!("// -----// IR Dump After {pass} //----- //");
        eprint!("{}", print_module(m, print_opts));
    };
    let mut config = RunConfig {
        verify_each: !cli.no_verify_each,
        print_after: cli.print_ir_after.clone(),
        print_after_all: cli.print_ir_after_all,
        dump: &mut dump,
    };
    match run_pipeline(pipeline, module, &cx, &mut config) {
        Ok(report) => {
            for p in &report.passes {
                for n in &p.outcome.notes {
                    eprintln!("onnxqc: note: {}: {n}", p.name);
                }
            }
            if cli.time_passes {
                eprint!("{}", report.table());
            }
            Ok(())
        }
        Err(RunError::InvalidIr { pass, diagnostics }) => {
            let mut d = vec![Diagnostic::error(format!(
                "internal error: pass '{pass}' produced invalid IR (a bug in the pass)"
            ))];
            d.extend(diagnostics);
            Err(with_source(d, true))
        }
        // A pass's own diagnostics keep their spans, so text input shows file:line:column and a caret.
        Err(RunError::Pass(e)) => {
            let mut d = vec![Diagnostic::error(format!("pass '{}' failed", e.pass))];
            d.extend(e.diagnostics);
            Err(with_source(d, false))
        }
        Err(e) => Err(with_source(vec![Diagnostic::error(e.to_string())], false)),
    }
}

/// Writes the output to stdout or, atomically, to a file.
fn write_output(path: Option<&Path>, text: &str) -> Result<(), UserError> {
    let Some(path) = path.filter(|p| *p != Path::new("-")) else {
        let mut out = std::io::stdout().lock();
        return match out.write_all(text.as_bytes()).and_then(|_| out.flush()) {
            Ok(()) => Ok(()),
            // A closed pipe (`onnxqc ... | head`) is not an error worth reporting.
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
            Err(e) => Err(UserError::msg(format!(
                "cannot write to standard output: {e}"
            ))),
        };
    };
    let shown = path.display();
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let mut tmp = tempfile::Builder::new()
        .prefix(".onnxqc-")
        .tempfile_in(dir)
        .map_err(|e| UserError::msg(format!("{shown}: cannot create the output file: {e}")))?;
    {
        // Temporary files are created 0600; the output is an ordinary file.
        use std::os::unix::fs::PermissionsExt;
        let _ = tmp
            .as_file()
            .set_permissions(std::fs::Permissions::from_mode(0o644));
    }
    tmp.write_all(text.as_bytes())
        .and_then(|_| tmp.flush())
        .map_err(|e| UserError::msg(format!("{shown}: cannot write: {e}")))?;
    tmp.persist(path)
        .map_err(|e| UserError::msg(format!("{shown}: cannot write: {}", e.error)))?;
    Ok(())
}
