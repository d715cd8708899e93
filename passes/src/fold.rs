//! `fold`: constant folding (being written).

use onnxqc_ir::Module;

use crate::registry::PassInfo;
use crate::{Pass, PassContext, PassError, PassOptions, PassOutcome};

pub fn info() -> PassInfo {
    PassInfo {
        name: "fold",
        summary: "Fold ops whose inputs are constants",
        options: &[],
        requires: &[],
        provides: &[],
        create: |_: &PassOptions| Box::new(Fold),
    }
}

struct Fold;

impl Pass for Fold {
    fn name(&self) -> &'static str {
        "fold"
    }

    fn run(&mut self, _module: &mut Module, _cx: &PassContext) -> Result<PassOutcome, PassError> {
        Ok(PassOutcome::default())
    }
}
