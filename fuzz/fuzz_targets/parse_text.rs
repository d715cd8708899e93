//! Fuzz target for the IR text form: any input (non-UTF-8 inputs are skipped) that
//! `onnxqc_ir::parse::parse_module` accepts must verify or give diagnostics without panicking, must print,
//! and the printed text must parse again and print to the same text (print → parse → print is stable).
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use onnxqc_ir::parse::parse_module;
use onnxqc_ir::print::{print_module, PrintOptions};
use onnxqc_ir::verify::verify_module;
use onnxqc_ir::OpRegistry;

/// The registry of every dialect, as `onnxqc_passes::default_op_registry` builds it (built once).
fn registry() -> &'static OpRegistry {
    static REG: OnceLock<OpRegistry> = OnceLock::new();
    REG.get_or_init(|| {
        let mut reg = OpRegistry::new();
        onnxqc_onnx::register(&mut reg);
        onnxqc_quant::register(&mut reg);
        reg
    })
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(module) = parse_module(text, 0) else {
        return;
    };
    let _ = verify_module(&module, registry());
    let opts = PrintOptions::default();
    let printed = print_module(&module, &opts);
    let reparsed = match parse_module(&printed, 0) {
        Ok(m) => m,
        Err(d) => panic!(
            "printed text does not parse again: {}\n--- printed ---\n{printed}",
            d.message
        ),
    };
    let reprinted = print_module(&reparsed, &opts);
    if reprinted != printed {
        panic!("print -> parse -> print is not stable\n--- first ---\n{printed}\n--- second ---\n{reprinted}");
    }
});
