//! The cost model of `fuse` and its extractor.
//!
//! **Costs** (all strictly positive): leaves, projections and virtual weights 1 (a weight computed at
//! compile time costs nothing at run time, but must not be free); Identity, Reshape, Squeeze,
//! Unsqueeze, Flatten, Dropout and Cast 2 (views or copies); Transpose 5; element-wise and unknown ops
//! 10; fused activations (Gelu, FastGelu, Swish, QuickGelu) 12, cheaper than the two or more
//! element-wise ops they replace; reductions, BatchNormalization and Softmax 20; LayerNormalization 30
//! (its decomposition costs about 100); MatMul, Gemm, Conv, ConvTranspose and the other contractions
//! 1000, so that Gemm (1000) beats MatMul + Add (1010) and a Conv with folded weights beats Conv + BN.
//!
//! **Extraction.** egg's `Extractor` minimises the *tree* cost of each class: on a DAG a value read by
//! two consumers is counted twice, so costs grow exponentially along residual connections and
//! LayerNorm (which reads its input twice). In f64 they overflow or, worse, become so large that the few
//! units separating Gemm from MatMul + Add are lost to rounding, and the choice turns arbitrary. So we
//! extract ourselves, in two steps:
//! 1. *Height.* Each class gets the least height of a node in it, `h(n) = w(n) + max h(children)`
//!    (`w` = 1000 for ops, 1 for leaves' and weights' plumbing), computed by Knuth's generalisation of
//!    Dijkstra in O(n log n). Only nodes of least height are candidates, which makes the result acyclic
//!    whatever the costs (a union such as `Identity(x) = x` puts a node in its own class; it is never
//!    of least height). Every rule here produces a shallower form than what it replaces (a fused op
//!    for a chain), so the restriction never hides a wanted choice.
//! 2. *Amortised cost.* Among candidates, minimise `c(n) = cost(n) + Σ c(child) / uses(child)`, where
//!    `uses` is the number of original readers of the child's value: a shared value is paid once in
//!    total instead of once per reader, which approximates the DAG cost and keeps numbers small.
//!    Classes are finalised in height order, so one pass suffices.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use egg::Id;
use rustc_hash::FxHashMap;

use super::lang::{FuseGraph, Node, LEAF, PROJ};

/// Run-time cost of one node of `kind`.
pub fn op_cost(kind: &str, virtual_weight: bool) -> f64 {
    if virtual_weight || kind == LEAF || kind == PROJ {
        return 1.0;
    }
    let op = kind.rsplit('.').next().unwrap_or(kind);
    match op {
        "Identity" | "Reshape" | "Squeeze" | "Unsqueeze" | "Flatten" | "Dropout" | "Cast"
        | "NoValue" => 2.0,
        "Transpose" => 5.0,
        "Gelu" | "FastGelu" | "Swish" | "QuickGelu" => 12.0,
        "ReduceMean"
        | "ReduceSum"
        | "ReduceMax"
        | "ReduceMin"
        | "ReduceProd"
        | "ReduceL2"
        | "BatchNormalization"
        | "Softmax"
        | "LogSoftmax"
        | "InstanceNormalization" => 20.0,
        "LayerNormalization" | "SkipLayerNormalization" => 30.0,
        "MatMul" | "Gemm" | "Conv" | "ConvTranspose" | "MatMulInteger" | "QLinearConv"
        | "QLinearMatMul" | "Attention" | "MultiHeadAttention" | "Einsum" => 1000.0,
        _ => 10.0,
    }
}

fn weight(kind: &str, virtual_weight: bool) -> u64 {
    if virtual_weight || kind == LEAF || kind == PROJ {
        1
    } else {
        1000
    }
}

/// The chosen node of every class reachable from the e-graph's classes.
pub fn extract(egraph: &FuseGraph) -> FxHashMap<Id, Node> {
    // Parents per class: (class, node index) for each child occurrence.
    let mut parents: FxHashMap<Id, Vec<(Id, usize)>> = FxHashMap::default();
    let mut pending: FxHashMap<(Id, usize), usize> = FxHashMap::default();
    let mut heap = BinaryHeap::new();
    for class in egraph.classes() {
        for (i, n) in class.nodes.iter().enumerate() {
            let h = &egraph.analysis.heads[n.head as usize];
            let w = weight(&h.kind, h.virtual_weight);
            if n.children.is_empty() {
                heap.push(Reverse((w, class.id)));
            } else {
                pending.insert((class.id, i), n.children.len());
                for &c in &n.children {
                    parents
                        .entry(egraph.find(c))
                        .or_default()
                        .push((class.id, i));
                }
            }
        }
    }
    let mut level: FxHashMap<Id, u64> = FxHashMap::default();
    let mut cost: FxHashMap<Id, f64> = FxHashMap::default();
    let mut best: FxHashMap<Id, Node> = FxHashMap::default();
    while let Some(Reverse((lv, id))) = heap.pop() {
        if level.contains_key(&id) {
            continue;
        }
        level.insert(id, lv);
        // Choose among the nodes of least height whose children are all final.
        let mut choice: Option<(f64, &Node)> = None;
        for n in &egraph[id].nodes {
            let h = &egraph.analysis.heads[n.head as usize];
            let w = weight(&h.kind, h.virtual_weight);
            let mut top = 0u64;
            let mut sum = op_cost(&h.kind, h.virtual_weight);
            let mut ok = true;
            for &c in &n.children {
                let c = egraph.find(c);
                match (level.get(&c), cost.get(&c)) {
                    (Some(&l), Some(&k)) if c != id => {
                        top = top.max(l);
                        sum += k / egraph[c].data.uses.max(1) as f64;
                    }
                    _ => ok = false,
                }
            }
            if !ok || top + w != lv && !n.children.is_empty() || n.children.is_empty() && w != lv {
                continue;
            }
            if choice.is_none_or(|(k, _)| sum < k) {
                choice = Some((sum, n));
            }
        }
        let Some((k, n)) = choice else {
            // Cannot happen (the node that set the level is a candidate); stay safe.
            level.remove(&id);
            continue;
        };
        cost.insert(id, k);
        best.insert(id, n.clone());
        if let Some(ps) = parents.get(&id) {
            for &(p, i) in ps {
                let left = pending.get_mut(&(p, i)).expect("pending parent");
                *left -= 1;
                if *left == 0 {
                    let node = &egraph[p].nodes[i];
                    let h = &egraph.analysis.heads[node.head as usize];
                    let top = node
                        .children
                        .iter()
                        .map(|&c| level.get(&egraph.find(c)).copied().unwrap_or(u64::MAX / 2))
                        .max()
                        .unwrap_or(0);
                    heap.push(Reverse((top + weight(&h.kind, h.virtual_weight), p)));
                }
            }
        }
    }
    best
}
