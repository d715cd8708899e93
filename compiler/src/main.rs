//! `onnxqc`, the command-line compiler: reads a model (text IR today, ONNX once the importer lands), runs
//! a pipeline of passes over it and writes the result.
//!
//! Exit codes: 0 success, 1 user error (bad input, bad option, missing file), 2 internal error (a pass
//! produced invalid IR, a panic). A panic never shows a backtrace to the user unless `RUST_BACKTRACE` is
//! set; it prints a short "internal error" message instead.

mod calib_data;
mod calibration;
mod driver;
mod input_files;
mod quantize_cmd;
mod run;

use std::process::ExitCode;

fn main() -> ExitCode {
    install_panic_hook();
    let args = driver::normalize_args(std::env::args_os().collect());
    match std::panic::catch_unwind(|| driver::main_with_args(args)) {
        Ok(code) => code,
        Err(_) => ExitCode::from(driver::EXIT_INTERNAL),
    }
}

/// Replaces Rust's panic message with one that tells the user it is onnxqc's fault, not theirs.
fn install_panic_hook() {
    let show_backtrace = std::env::var_os("RUST_BACKTRACE").is_some_and(|v| v != "0");
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        if show_backtrace {
            default(info);
            return;
        }
        let msg = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown panic".into());
        let loc = info
            .location()
            .map(|l| format!(" at {}:{}", l.file(), l.line()))
            .unwrap_or_default();
        eprintln!(
            "onnxqc: internal error: {msg}{loc}\nThis is a bug in onnxqc, not in your input. Please report it with the \
             command line and input (set RUST_BACKTRACE=1 for a backtrace)."
        );
    }));
}
