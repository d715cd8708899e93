//! Fuzz target for the ONNX protobuf importer: any bytes given to `onnxqc_onnx::import::import_bytes`
//! (default options: no base directory, so external data is refused) must import or give an error without
//! panicking; an imported module must then verify or give diagnostics, and export, without panicking.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use onnxqc_ir::print::{print_module, PrintOptions};
use onnxqc_ir::verify::verify_module;
use onnxqc_ir::OpRegistry;
use onnxqc_onnx::export::to_model_proto;
use onnxqc_onnx::import::{import_bytes, ImportOptions};

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
    let opts = ImportOptions::default();
    let Ok(imported) = import_bytes(bytes::Bytes::copy_from_slice(data), &opts) else {
        return;
    };
    let module = imported.module;
    // Whatever imports must print (the text form of any model), verify or not.
    let _ = print_module(&module, &PrintOptions::default());
    if verify_module(&module, registry()).is_ok() {
        let _ = to_model_proto(&module);
    }
});
