//! `fuse`: fusion by e-graph rewriting (being written).

use onnxqc_ir::Module;

use crate::registry::PassInfo;
use crate::{Pass, PassContext, PassError, PassOptions, PassOutcome};

pub fn info() -> PassInfo {
    PassInfo {
        name: "fuse",
        summary: "Fuse op patterns by e-graph rewriting (egg)",
        options: &[],
        requires: &[],
        provides: &[],
        create: |_: &PassOptions| Box::new(Fuse),
    }
}

struct Fuse;

impl Pass for Fuse {
    fn name(&self) -> &'static str {
        "fuse"
    }

    fn run(&mut self, _module: &mut Module, _cx: &PassContext) -> Result<PassOutcome, PassError> {
        Ok(PassOutcome::default())
    }
}
