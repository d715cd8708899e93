//! `dce`: dead code elimination. Removes ops whose results are all unused, unless the op registry says
//! the op has side effects (`qc.observe`) or ends a block. Ops unknown to the registry are removed like
//! any other: ONNX graphs are pure functions (ONNX Runtime's own graph cleanup does the same).
//!
//! One backward sweep per block suffices: erasing an op frees its operands, whose definitions come
//! earlier in the block (or in an enclosing block, swept later). Nested regions are cleaned before the
//! ops that precede their parent op are visited. Function inputs are never removed (they are the model's
//! interface).

use onnxqc_ir::{BlockId, Body, Module};

use crate::registry::PassInfo;
use crate::{Pass, PassContext, PassError, PassOptions, PassOutcome};

pub fn info() -> PassInfo {
    PassInfo {
        name: "dce",
        summary: "Remove ops whose results are unused and that have no side effects",
        options: &[],
        requires: &[],
        provides: &[],
        create: |_: &PassOptions| Box::new(Dce),
    }
}

struct Dce;

impl Pass for Dce {
    fn name(&self) -> &'static str {
        "dce"
    }

    fn run(&mut self, module: &mut Module, cx: &PassContext) -> Result<PassOutcome, PassError> {
        let mut removed = 0u64;
        for f in &mut module.funcs {
            let entry = f.body.entry_block();
            removed += sweep_block(&mut f.body, entry, cx);
        }
        Ok(PassOutcome {
            changed: removed > 0,
            stats: vec![("ops-removed", removed)],
            notes: vec![],
        })
    }
}

/// Removes dead ops of `block` (and inside the regions of the ops it keeps); returns how many were
/// removed, nested ones included.
fn sweep_block(body: &mut Body, block: BlockId, cx: &PassContext) -> u64 {
    let mut removed = 0;
    let mut cursor = body.last_op(block);
    while let Some(op) = cursor {
        cursor = body.prev_op(op);
        if body.results_unused(op) && cx.ops.removable_if_unused(&body.op(op).kind) {
            removed += 1 + count_nested(body, op);
            body.erase_op(op);
            continue;
        }
        for r in body.op(op).regions().to_vec() {
            for b in body.region(r).blocks().to_vec() {
                removed += sweep_block(body, b, cx);
            }
        }
    }
    removed
}

fn count_nested(body: &Body, op: onnxqc_ir::OpId) -> u64 {
    body.op(op)
        .regions()
        .iter()
        .map(|&r| body.walk(r).len() as u64)
        .sum()
}
