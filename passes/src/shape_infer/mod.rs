//! `shape-infer`: symbolic shape inference (being written).

use onnxqc_ir::Module;

use crate::registry::PassInfo;
use crate::{Pass, PassContext, PassError, PassOptions, PassOutcome};

pub fn info() -> PassInfo {
    PassInfo {
        name: "shape-infer",
        summary: "Infer element types and (symbolic) shapes of every value",
        options: &[],
        requires: &[],
        provides: &[],
        create: |_: &PassOptions| Box::new(ShapeInfer),
    }
}

struct ShapeInfer;

impl Pass for ShapeInfer {
    fn name(&self) -> &'static str {
        "shape-infer"
    }

    fn run(&mut self, _module: &mut Module, _cx: &PassContext) -> Result<PassOutcome, PassError> {
        Ok(PassOutcome::default())
    }
}
