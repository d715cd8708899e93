//! The CLI driver: argument parsing (clap), reading the input, running the pipeline, writing the output.
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
use onnxqc_ir::parse::{parse_module, split_input};
use onnxqc_ir::print::{print_module, PrintOptions};
use onnxqc_ir::verify::verify_module;
use onnxqc_ir::{Diagnostic, Module, OpRegistry, SourceFile};
use onnxqc_passes::manager::{run_pipeline, RunError};
use onnxqc_passes::{parse_pipeline, PassContext, PassRegistry, RunConfig};

pub const EXIT_USER: u8 = 1;
pub const EXIT_INTERNAL: u8 = 2;

const EXAMPLES: &str = "\
Examples:
  onnxqc model.mlir -passes=cse,dce                 run two passes, print the IR
  onnxqc model.mlir -passes='cse{include-unknown=true}' -o out.mlir
  onnxqc cases.mlir --split-input-file -passes=dce  one run per '// -----' chunk (lit tests)
  onnxqc model.mlir -passes=cse,dce --time-passes --print-ir-after=cse
  onnxqc --list-passes                              the passes and their options";

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
    /// Input: a text IR file (.mlir), or '-' for standard input.
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

    /// Print large constants as dense_resource<__elided__> (smaller output; not re-readable).
    #[arg(long)]
    pub elide_resources: bool,
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
struct UserError {
    diagnostics: Vec<Diagnostic>,
    source: Option<SourceFile>,
    internal: bool,
}

impl UserError {
    fn msg(message: impl Into<String>) -> UserError {
        UserError {
            diagnostics: vec![Diagnostic::error(message)],
            source: None,
            internal: false,
        }
    }
}

pub fn main_with_args(args: Vec<OsString>) -> ExitCode {
    let cli = match Cli::try_parse_from(args) {
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
    match run(&cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            report(&e);
            ExitCode::from(if e.internal { EXIT_INTERNAL } else { EXIT_USER })
        }
    }
}

fn report(e: &UserError) {
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

fn run(cli: &Cli) -> Result<(), UserError> {
    let passes = PassRegistry::builtin();
    if cli.list_passes {
        print!("{}", passes.describe());
        return Ok(());
    }
    let pipeline = parse_pipeline(&cli.passes, &passes).map_err(|e| {
        let caret = format!("{}^", " ".repeat(e.offset));
        UserError::msg(format!(
            "{}\n  -passes={}\n          {caret}\n  = {}",
            e.message, cli.passes, e.help
        ))
    })?;
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
        return Err(UserError::msg(
            "--emit=onnx: writing ONNX models is not available in this build yet (the ONNX exporter is not \
             part of it); use --emit=ir",
        ));
    }
    let (name, text) = read_input(input)?;
    let source = SourceFile::new(name, text);
    let ops = onnxqc_passes::default_op_registry();
    let print_opts = PrintOptions {
        elide_resources: cli.elide_resources,
        ..PrintOptions::default()
    };

    let chunks = if cli.split_input_file {
        split_input(&source.text)
    } else {
        vec![(source.text.as_str(), 0)]
    };
    let mut outputs = Vec::with_capacity(chunks.len());
    let mut failed: Option<UserError> = None;
    for (chunk, base) in chunks {
        match process_chunk(cli, chunk, base, &source, &ops, &pipeline, &print_opts) {
            Ok(out) => outputs.push(out),
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

fn read_input(input: &Path) -> Result<(String, String), UserError> {
    if input == Path::new("-") {
        let mut text = String::new();
        std::io::Read::read_to_string(&mut std::io::stdin(), &mut text)
            .map_err(|e| UserError::msg(format!("cannot read standard input: {e}")))?;
        return Ok(("<stdin>".into(), text));
    }
    let shown = input.display().to_string();
    if input.extension().is_some_and(|e| e == "onnx") {
        if !input.exists() {
            return Err(UserError::msg(format!("{shown}: no such file")));
        }
        return Err(UserError::msg(format!(
            "{shown}: reading ONNX models is not available in this build yet (the ONNX importer is not part of \
             it); give a text IR (.mlir) file"
        )));
    }
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
    print_opts: &PrintOptions,
) -> Result<String, UserError> {
    let with_source = |diagnostics: Vec<Diagnostic>, internal: bool| UserError {
        diagnostics,
        source: Some(source.clone()),
        internal,
    };
    let mut module: Module = parse_module(chunk, base).map_err(|d| with_source(vec![d], false))?;
    verify_module(&module, ops).map_err(|d| with_source(d, false))?;
    let cx = PassContext { ops };
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
    match run_pipeline(pipeline, &mut module, &cx, &mut config) {
        Ok(report) => {
            if cli.time_passes {
                eprint!("{}", report.table());
            }
        }
        Err(RunError::InvalidIr { pass, diagnostics }) => {
            let mut d = vec![Diagnostic::error(format!(
                "internal error: pass '{pass}' produced invalid IR (a bug in the pass)"
            ))];
            d.extend(diagnostics);
            return Err(with_source(d, true));
        }
        Err(e) => return Err(with_source(vec![Diagnostic::error(e.to_string())], false)),
    }
    Ok(print_module(&module, print_opts))
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
    tmp.write_all(text.as_bytes())
        .and_then(|_| tmp.flush())
        .map_err(|e| UserError::msg(format!("{shown}: cannot write: {e}")))?;
    tmp.persist(path)
        .map_err(|e| UserError::msg(format!("{shown}: cannot write: {}", e.error)))?;
    Ok(())
}
