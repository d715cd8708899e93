//! `fuse`: fusion by e-graph rewriting with [egg](https://docs.rs/egg/0.10).
//!
//! Each block (the function's top block, then every block of every nested region) becomes an e-graph
//! ([`lang`]: which ops are nodes, which values are leaves and roots); the rules of [`rules`] run on it
//! under explicit limits; the best form of every root is extracted with the cost model and extractor of
//! [`cost`] and written back ([`rebuild`]), computing folded weights in Rust ([`weights`]) only for the
//! forms that were chosen.
//!
//! Rules: BatchNormalization into Conv/ConvTranspose/Gemm (`bn-fold`), a per-channel constant Add into
//! the Conv bias (`conv-bias`), MatMul + Add → Gemm for 2-D inputs (`matmul-gemm`), decomposed
//! LayerNormalization (`layernorm`), both Gelu forms (`gelu`), `x * sigmoid(x)` (`swish`), Transpose
//! pairs (`transpose`), Reshape pairs and no-op Reshapes (`reshape`), Squeeze/Unsqueeze pairs
//! (`squeeze`), Identity, inference Dropout and no-op Cast (`identity`). Contrib ops it may emit below
//! the opsets that define the standard ones (`com.microsoft.Gelu`, `FastGelu`, `QuickGelu`) make it
//! import the `com.microsoft` domain.
//!
//! What it does not do: fuse across blocks (a region's values are leaves of the outer block and roots
//! of their own), touch ops with side effects or unknown kinds, or merge equal ops (`cse` does that).

pub mod cost;
pub mod lang;
pub mod rebuild;
pub mod rules;
pub mod weights;

use std::time::Duration;

use egg::{Runner, SimpleScheduler, StopReason};
use onnxqc_ir::{BlockId, Body, Module};

use crate::options::{OptKind, OptionSpec};
use crate::registry::PassInfo;
use crate::{Pass, PassContext, PassError, PassOptions, PassOutcome};

static OPTIONS: [OptionSpec; 4] = [
    OptionSpec {
        name: "iter-limit",
        kind: OptKind::Int { min: 0, max: 1000 },
        default: "8",
        help: "rewrite iterations per block (0: extract without rewriting)",
    },
    OptionSpec {
        name: "node-limit",
        kind: OptKind::Int { min: 0, max: i64::MAX },
        default: "0",
        help: "e-graph node limit per block; 0 means max(10000, 4 x the block's nodes)",
    },
    OptionSpec {
        name: "time-limit-ms",
        kind: OptKind::Int { min: 1, max: i64::MAX },
        default: "5000",
        help: "time limit of the rewriting per block, in milliseconds",
    },
    OptionSpec {
        name: "rules",
        kind: OptKind::List,
        default: "all",
        help: "rule groups to enable: bn-fold, conv-bias, matmul-gemm, layernorm, gelu, swish, transpose, reshape, squeeze, identity (or all)",
    },
];

pub fn info() -> PassInfo {
    PassInfo {
        name: "fuse",
        summary: "Fuse op patterns by e-graph rewriting (BN folding, Gemm, LayerNorm, Gelu, Swish, no-op removal)",
        options: &OPTIONS,
        requires: &[],
        provides: &[],
        create: |o: &PassOptions| {
            Box::new(Fuse {
                iter_limit: o.int("iter-limit") as usize,
                node_limit: o.int("node-limit") as usize,
                time_limit: Duration::from_millis(o.int("time-limit-ms") as u64),
                rules: o.list("rules").to_vec(),
            })
        },
    }
}

pub struct Fuse {
    pub iter_limit: usize,
    pub node_limit: usize,
    pub time_limit: Duration,
    pub rules: Vec<String>,
}

/// Counters accumulated over blocks.
#[derive(Default)]
struct Stats {
    applied: Vec<(&'static str, u64)>,
    egraph_nodes: u64,
    egraph_classes: u64,
    iterations: u64,
    stops: [u64; 5],
}

impl Pass for Fuse {
    fn name(&self) -> &'static str {
        "fuse"
    }

    fn run(&mut self, module: &mut Module, cx: &PassContext) -> Result<PassOutcome, PassError> {
        let mut groups: Vec<&str> = Vec::new();
        for r in &self.rules {
            match rules::GROUPS.iter().find(|g| **g == r.as_str()) {
                Some(g) => groups.push(g),
                None if r == "all" => groups.extend(rules::GROUPS),
                None => {
                    return Err(PassError::new(
                        "fuse",
                        format!(
                            "unknown rule '{r}' (known: all, {})",
                            rules::GROUPS.join(", ")
                        ),
                    ))
                }
            }
        }
        let rewrites = rules::rewrites(&groups);
        let opset = onnxqc_onnx::default_opset(module);
        let mut stats = Stats::default();
        let ops_before: usize = module.funcs.iter().map(|f| f.body.num_ops()).sum();
        let mut changed = false;
        let mut contrib = false;
        for f in &mut module.funcs {
            let blocks = all_blocks(&f.body);
            for b in blocks {
                let r = self.block(&mut f.body, b, cx, opset, &rewrites, &mut stats)?;
                changed |= r.changed;
                contrib |= r.contrib;
            }
        }
        if contrib {
            onnxqc_onnx::require_opset(module, "com.microsoft", 1);
        }
        let ops_after: usize = module.funcs.iter().map(|f| f.body.num_ops()).sum();
        let mut out = vec![
            ("ops-before", ops_before as u64),
            ("ops-after", ops_after as u64),
        ];
        out.extend(stats.applied);
        out.extend([
            ("egraph-nodes", stats.egraph_nodes),
            ("egraph-classes", stats.egraph_classes),
            ("iterations", stats.iterations),
            ("stop-saturated", stats.stops[0]),
            ("stop-iter-limit", stats.stops[1]),
            ("stop-node-limit", stats.stops[2]),
            ("stop-time-limit", stats.stops[3]),
            ("stop-other", stats.stops[4]),
        ]);
        Ok(PassOutcome {
            changed,
            stats: out,
            notes: vec![],
        })
    }
}

/// The entry block and every block nested in it, parents first.
fn all_blocks(body: &Body) -> Vec<BlockId> {
    let mut out = vec![body.entry_block()];
    for op in body.all_ops() {
        for &r in body.op(op).regions() {
            out.extend_from_slice(body.region(r).blocks());
        }
    }
    out
}

impl Fuse {
    fn block(
        &self,
        body: &mut Body,
        block: BlockId,
        cx: &PassContext,
        opset: i64,
        rewrites: &[egg::Rewrite<lang::Node, lang::Fuse>],
        stats: &mut Stats,
    ) -> Result<rebuild::Rebuilt, PassError> {
        let mut egraph = lang::FuseGraph::new(lang::Fuse::new(opset));
        let map = lang::build(body, block, cx, &mut egraph);
        if map.op_nodes == 0 {
            return Ok(rebuild::Rebuilt::default());
        }
        egraph.rebuild();
        let node_limit = if self.node_limit > 0 {
            self.node_limit
        } else {
            (4 * egraph.total_number_of_nodes()).max(10_000)
        };
        let egraph = if self.iter_limit > 0 && !rewrites.is_empty() {
            let runner: Runner<lang::Node, lang::Fuse, ()> = Runner::new(lang::Fuse::new(opset))
                .with_egraph(egraph)
                .with_scheduler(SimpleScheduler)
                .with_iter_limit(self.iter_limit)
                .with_node_limit(node_limit)
                .with_time_limit(self.time_limit)
                .run(rewrites);
            for it in &runner.iterations {
                for (name, &n) in &it.applied {
                    let name = rewrites
                        .iter()
                        .find(|r| r.name == *name)
                        .map(|r| leak_name(r.name.as_str()))
                        .unwrap_or("rule-other");
                    match stats.applied.iter_mut().find(|(k, _)| *k == name) {
                        Some(slot) => slot.1 += n as u64,
                        None => stats.applied.push((name, n as u64)),
                    }
                }
            }
            stats.iterations += runner.iterations.len() as u64;
            let slot = match runner.stop_reason {
                Some(StopReason::Saturated) => 0,
                Some(StopReason::IterationLimit(_)) => 1,
                Some(StopReason::NodeLimit(_)) => 2,
                Some(StopReason::TimeLimit(_)) => 3,
                _ => 4,
            };
            stats.stops[slot] += 1;
            runner.egraph
        } else {
            egraph
        };
        stats.egraph_nodes += egraph.total_number_of_nodes() as u64;
        stats.egraph_classes += egraph.number_of_classes() as u64;
        let best = cost::extract(&egraph);
        rebuild::rebuild(body, &map, &egraph, &best, cx)
    }
}

/// Rule names as `&'static str` for the stats (egg's symbols are interned for the program's life too).
fn leak_name(name: &str) -> &'static str {
    let s: egg::Symbol = name.into();
    s.as_str()
}

#[cfg(test)]
mod tests {
    use onnxqc_ir::parse::parse_module;
    use onnxqc_ir::print::{print_module, PrintOptions};

    use super::*;

    fn run(text: &str, rules: &[&str]) -> String {
        let mut module = parse_module(text, 0).expect("parses");
        let ops = crate::default_op_registry();
        let mut pass = Fuse {
            iter_limit: 8,
            node_limit: 0,
            time_limit: Duration::from_secs(5),
            rules: rules.iter().map(|s| s.to_string()).collect(),
        };
        pass.run(&mut module, &PassContext::new(&ops))
            .expect("fuse runs");
        print_module(&module, &PrintOptions::default())
    }

    /// Graph → e-graph → extraction → graph with no rules gives back the same IR: names, locations,
    /// multi-result ops (one used result, several used results), regions reading outer values, opaque
    /// ops, dead ops and large constants all survive.
    #[test]
    fn round_trip_without_rules_is_lossless() {
        let text = r#"func.func @lossless(%x: tensor<2x4xf32>, %c: tensor<i1>) -> (tensor<2x4xf32>, tensor<2x4xf32>, tensor<2x1xf32>, tensor<2x4xf32>) {
  %w = "onnx.Constant"() {value = dense<[[1.0, 2.0, 3.0, 4.0], [5.0, 6.0, 7.0, 8.0], [9.0, 10.0, 11.0, 12.0], [13.0, 14.0, 15.0, 16.0], [17.0, 18.0, 19.0, 20.0]]> : tensor<5x4xf32>} : () -> tensor<5x4xf32>
  %none = "onnx.NoValue"() : () -> none
  %0 = "onnx.Gemm"(%x, %w, %none) {transB = 1} : (tensor<2x4xf32>, tensor<5x4xf32>, none) -> tensor<2x5xf32> loc("gemm")
  %a, %b = "onnx.Split"(%0) {axis = 1, num_outputs = 2} : (tensor<2x5xf32>) -> (tensor<2x4xf32>, tensor<2x1xf32>) loc("split")
  %y, %mask = "onnx.Dropout"(%a) : (tensor<2x4xf32>) -> (tensor<2x4xf32>, tensor<2x4xi1>)
  %1 = "onnx.Relu"(%y) : (tensor<2x4xf32>) -> tensor<2x4xf32>
  %dead = "onnx.Neg"(%1) : (tensor<2x4xf32>) -> tensor<2x4xf32>
  %r = "onnx.If"(%c) ({
    %2 = "onnx.Neg"(%1) : (tensor<2x4xf32>) -> tensor<2x4xf32>
    %3 = "onnx.Identity"(%2) : (tensor<2x4xf32>) -> tensor<2x4xf32>
    "onnx.Yield"(%3) : (tensor<2x4xf32>) -> ()
  }, {
    "onnx.Yield"(%x) : (tensor<2x4xf32>) -> ()
  }) {else_branch = #onnx.graph<1>, then_branch = #onnx.graph<0>} : (tensor<i1>) -> tensor<2x4xf32>
  %4 = "custom.Op"(%r) : (tensor<2x4xf32>) -> tensor<2x4xf32>
  %5 = "onnx.Add"(%4, %1) : (tensor<2x4xf32>, tensor<2x4xf32>) -> tensor<2x4xf32>
  func.return %5, %1, %b, %x : tensor<2x4xf32>, tensor<2x4xf32>, tensor<2x1xf32>, tensor<2x4xf32>
}
"#;
        let canonical = print_module(&parse_module(text, 0).unwrap(), &PrintOptions::default());
        assert_eq!(canonical, text, "test input is canonical");
        assert_eq!(run(text, &[]), text);
        // With every rule but `identity`, nothing applies either.
        let most: Vec<&str> = rules::GROUPS
            .iter()
            .copied()
            .filter(|g| *g != "identity")
            .collect();
        assert_eq!(run(text, &most), text);
        // `identity` removes the Identity in the region only.
        let out = run(text, &["identity"]);
        assert!(!out.contains("\"onnx.Identity\""), "{out}");
        assert!(out.contains("\"onnx.Yield\"(%2)"), "{out}");
    }

    #[test]
    fn unknown_rules_are_errors() {
        let mut module = parse_module("func.func @f() {\n  func.return\n}\n", 0).unwrap();
        let ops = crate::default_op_registry();
        let mut pass = Fuse {
            iter_limit: 8,
            node_limit: 0,
            time_limit: Duration::from_secs(5),
            rules: vec!["nope".into()],
        };
        let err = pass.run(&mut module, &PassContext::new(&ops)).unwrap_err();
        assert!(err.diagnostics[0].message.contains("unknown rule 'nope'"));
    }
}
