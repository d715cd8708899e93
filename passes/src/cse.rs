//! `cse`: common subexpression elimination. Two ops are equivalent when they have the same kind, the
//! same operands, the same attributes (in any order; constants compared by content) and the same result
//! types, and no regions; the later one is erased and its uses go to the earlier one. Constants with
//! equal contents are merged too, which de-duplicates repeated initializers.
//!
//! Scoping follows dominance: an op may be replaced by an equivalent op of its own block that comes
//! before it, or of an enclosing block that comes before its ancestor op; ops of a nested region are not
//! visible after the region. Only ops the registry marks pure and deterministic are merged; ops unknown to
//! the registry are left alone unless `include-unknown=true`. A duplicate whose result is a function
//! output is kept, so that the output keeps its name.

use std::hash::{Hash, Hasher};

use onnxqc_ir::attr::{attrs_equal, attrs_hash};
use onnxqc_ir::{BlockId, Body, Module, OpId};
use rustc_hash::{FxHashMap, FxHasher};

use crate::options::{OptKind, OptionSpec};
use crate::registry::PassInfo;
use crate::{Pass, PassContext, PassError, PassOptions, PassOutcome};

static OPTIONS: [OptionSpec; 1] = [OptionSpec {
    name: "include-unknown",
    kind: OptKind::Bool,
    default: "false",
    help: "also merge ops that the op registry does not know (assumes they are deterministic)",
}];

pub fn info() -> PassInfo {
    PassInfo {
        name: "cse",
        summary: "Merge identical pure ops (and constants with equal contents)",
        options: &OPTIONS,
        requires: &[],
        provides: &[],
        create: |o: &PassOptions| {
            Box::new(Cse {
                include_unknown: o.bool("include-unknown"),
            })
        },
    }
}

struct Cse {
    include_unknown: bool,
}

impl Pass for Cse {
    fn name(&self) -> &'static str {
        "cse"
    }

    fn run(&mut self, module: &mut Module, cx: &PassContext) -> Result<PassOutcome, PassError> {
        let mut merged = 0u64;
        for f in &mut module.funcs {
            let mut scopes = Scopes {
                table: FxHashMap::default(),
                undo: vec![],
            };
            let entry = f.body.entry_block();
            merged += self.block(&mut f.body, entry, cx, &mut scopes);
        }
        Ok(PassOutcome {
            changed: merged > 0,
            stats: vec![("ops-merged", merged)],
            notes: vec![],
        })
    }
}

/// Hash → candidate ops visible at the current point; `undo` records what each scope added.
struct Scopes {
    table: FxHashMap<u64, Vec<OpId>>,
    undo: Vec<Vec<u64>>,
}

impl Cse {
    fn mergeable(&self, body: &Body, op: OpId, cx: &PassContext) -> bool {
        let data = body.op(op);
        if !data.regions().is_empty() || data.results().is_empty() {
            return false;
        }
        match cx.ops.get(&data.kind) {
            Some(def) => def.cse_allowed(),
            None => self.include_unknown,
        }
    }

    fn block(&self, body: &mut Body, block: BlockId, cx: &PassContext, scopes: &mut Scopes) -> u64 {
        let mut merged = 0;
        scopes.undo.push(vec![]);
        let mut cursor = body.first_op(block);
        while let Some(op) = cursor {
            cursor = body.next_op(op);
            if self.mergeable(body, op, cx) {
                let h = op_hash(body, op);
                let existing = scopes
                    .table
                    .get(&h)
                    .and_then(|c| c.iter().copied().find(|&o| ops_equal(body, o, op)));
                match existing {
                    Some(keep) if !feeds_function_output(body, op) => {
                        let (old, new) = (
                            body.op(op).results().to_vec(),
                            body.op(keep).results().to_vec(),
                        );
                        for (o, n) in old.into_iter().zip(new) {
                            body.replace_all_uses(o, n);
                        }
                        body.erase_op(op);
                        merged += 1;
                        continue;
                    }
                    Some(_) => {}
                    None => {
                        scopes.table.entry(h).or_default().push(op);
                        scopes.undo.last_mut().expect("scope").push(h);
                    }
                }
            }
            for r in body.op(op).regions().to_vec() {
                for b in body.region(r).blocks().to_vec() {
                    merged += self.block(body, b, cx, scopes);
                }
            }
        }
        for h in scopes.undo.pop().unwrap_or_default() {
            if let Some(v) = scopes.table.get_mut(&h) {
                v.pop();
                if v.is_empty() {
                    scopes.table.remove(&h);
                }
            }
        }
        merged
    }
}

fn feeds_function_output(body: &Body, op: OpId) -> bool {
    body.op(op).results().iter().any(|&r| {
        body.value(r)
            .uses()
            .iter()
            .any(|u| &*body.op(u.op).kind == onnxqc_ir::FUNC_RETURN)
    })
}

fn op_hash(body: &Body, op: OpId) -> u64 {
    let d = body.op(op);
    let mut h = FxHasher::default();
    d.kind.hash(&mut h);
    d.operands().hash(&mut h);
    attrs_hash(&d.attrs, &mut h);
    for &r in d.results() {
        body.value_type(r).hash(&mut h);
    }
    h.finish()
}

fn ops_equal(body: &Body, a: OpId, b: OpId) -> bool {
    let (x, y) = (body.op(a), body.op(b));
    x.kind == y.kind
        && x.operands() == y.operands()
        && x.results().len() == y.results().len()
        && x.results()
            .iter()
            .zip(y.results())
            .all(|(&p, &q)| body.value_type(p) == body.value_type(q))
        && attrs_equal(&x.attrs, &y.attrs)
}
