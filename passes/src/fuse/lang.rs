//! The e-graph language of `fuse` and the graph → e-graph conversion of one block.
//!
//! An e-node is an op kind (an interned [`Symbol`], which is all that egg's patterns compare), an index
//! into the head table [`Fuse::heads`] (attributes, result type, the original op or value it stands for)
//! and its children. Heads are per node, not per op kind, so that an original op keeps its identity (its
//! name and location survive when extraction picks it) and two ops never merge just because they are
//! equal (that is `cse`'s job). Heads made by rules are interned by content, so a rule that fires again
//! on the same match adds nothing and the runner can saturate.
//!
//! What becomes what: every pure, deterministic op without regions is a node. When only its first
//! result is used, the node stands for that result; otherwise the node stands for the op (a tuple) and a
//! `qc.proj` node per used result selects one. Block arguments, values defined outside the block, results
//! of opaque ops (regions, side effects, kinds the registry does not know) and every `onnx.Constant`
//! result are leaves. A constant leaf carries the [`TensorData`] (a shared view, never a copy of the
//! bytes), so rules can test small constants (Pow exponent 2, Add eps, Mul 0.5) and know that weights are
//! constant. Virtual nodes (`qc.bn_fold_weight` ...) stand for weights that are only computed after
//! extraction. Roots are the values that opaque ops, nested regions and terminators read, plus values
//! that had no use at all (so that the pass removes nothing it did not replace).

use std::fmt;
use std::sync::Arc;

use egg::{Analysis, DidMerge, EGraph, FromOp, Id, Language, Symbol};
use onnxqc_ir::attr::NamedAttr;
use onnxqc_ir::{BlockId, Body, OpId, TensorData, Type, ValueDef, ValueId};
use rustc_hash::{FxHashMap, FxHashSet};
use smallvec::SmallVec;

use crate::PassContext;

/// Kind of a leaf node.
pub const LEAF: &str = "qc.leaf";
/// Kind of a projection node (result `i` of a multi-result op).
pub const PROJ: &str = "qc.proj";
/// Head index of nodes parsed from pattern strings (never added to an e-graph).
pub const PATTERN_HEAD: u32 = u32::MAX;

/// One e-node.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Node {
    pub kind: Symbol,
    pub head: u32,
    pub children: SmallVec<[Id; 3]>,
}

impl Language for Node {
    type Discriminant = Symbol;

    fn discriminant(&self) -> Symbol {
        self.kind
    }

    // Patterns name only the kind and the arity; attributes are checked by the appliers.
    fn matches(&self, other: &Self) -> bool {
        self.kind == other.kind && self.children.len() == other.children.len()
    }

    fn children(&self) -> &[Id] {
        &self.children
    }

    fn children_mut(&mut self) -> &mut [Id] {
        &mut self.children
    }
}

impl fmt::Display for Node {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.kind.as_str())
    }
}

impl FromOp for Node {
    type Error = std::convert::Infallible;

    fn from_op(op: &str, children: Vec<Id>) -> Result<Self, Self::Error> {
        Ok(Node {
            kind: Symbol::from(op),
            head: PATTERN_HEAD,
            children: children.into(),
        })
    }
}

/// What a node stands for in the original graph.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Origin {
    /// A leaf: this value, used as is.
    Leaf(ValueId),
    /// An original op (its first result, or the op itself when it is a tuple).
    Op(OpId),
    /// Result `index` of the original op (a projection).
    Proj(OpId, u32),
    /// Made by a rule.
    New,
}

/// Everything about a node but its children.
#[derive(Clone, Debug)]
pub struct Head {
    pub kind: Arc<str>,
    pub attrs: Vec<NamedAttr>,
    /// The type of the value the node stands for (`None` for tuples).
    pub ty: Option<Type>,
    pub origin: Origin,
    /// The op whose ONNX node name a new op takes.
    pub name_from: Option<OpId>,
    /// The node stands for a multi-result op, not a value.
    pub tuple: bool,
    /// A weight computed after extraction (`qc.bn_fold_weight` ...).
    pub virtual_weight: bool,
    /// The value of a constant leaf.
    pub konst: Option<TensorData>,
    /// Uses of the original value (0 for new nodes).
    pub uses: u32,
}

impl Head {
    pub fn new_op(
        kind: &str,
        attrs: Vec<NamedAttr>,
        ty: Option<Type>,
        name_from: Option<OpId>,
    ) -> Head {
        Head {
            kind: Arc::from(kind),
            attrs,
            ty,
            origin: Origin::New,
            name_from,
            tuple: false,
            virtual_weight: false,
            konst: None,
            uses: 0,
        }
    }

    pub fn attr(&self, name: &str) -> Option<&onnxqc_ir::Attribute> {
        self.attrs
            .iter()
            .find(|(k, _)| &**k == name)
            .map(|(_, v)| v)
    }
}

/// Per-class facts.
#[derive(Clone, Debug, Default)]
pub struct Data {
    /// A head whose `ty` is the class's type.
    pub ty: Option<u32>,
    /// A head whose `konst` is the class's value.
    pub konst: Option<u32>,
    /// Constant or virtual weight: known before the model runs.
    pub is_const: bool,
    /// Uses of the original value(s) of the class.
    pub uses: u32,
    /// Read by something outside the e-graph (opaque op, region, terminator).
    pub root: bool,
}

/// The analysis: the head table plus what rules need to know about the module.
pub struct Fuse {
    pub heads: Vec<Head>,
    interned: FxHashMap<String, u32>,
    /// The module's default-domain opset.
    pub opset: i64,
}

impl Fuse {
    pub fn new(opset: i64) -> Fuse {
        Fuse {
            heads: Vec::new(),
            interned: FxHashMap::default(),
            opset,
        }
    }

    fn push(&mut self, head: Head) -> u32 {
        self.heads.push(head);
        (self.heads.len() - 1) as u32
    }

    /// Interns a head made by a rule: the same content gives the same index.
    pub fn intern(&mut self, head: Head) -> u32 {
        use std::fmt::Write;
        let mut key = String::new();
        let _ = write!(
            key,
            "{}|{:?}|{:?}|{}|",
            head.kind, head.ty, head.name_from, head.virtual_weight
        );
        for (k, v) in &head.attrs {
            let _ = write!(key, "{k}={};", onnxqc_ir::print::print_attr(v));
        }
        if let Some(&i) = self.interned.get(&key) {
            return i;
        }
        let i = self.push(head);
        self.interned.insert(key, i);
        i
    }
}

impl Analysis<Node> for Fuse {
    type Data = Data;

    fn make(egraph: &mut EGraph<Node, Self>, enode: &Node) -> Data {
        let Some(h) = egraph.analysis.heads.get(enode.head as usize) else {
            return Data::default();
        };
        Data {
            ty: h.ty.is_some().then_some(enode.head),
            konst: h.konst.is_some().then_some(enode.head),
            is_const: h.konst.is_some() || h.virtual_weight,
            uses: h.uses,
            root: false,
        }
    }

    fn merge(&mut self, a: &mut Data, b: Data) -> DidMerge {
        let before = (a.ty, a.konst, a.is_const, a.uses, a.root);
        a.ty = a.ty.or(b.ty);
        a.konst = a.konst.or(b.konst);
        a.is_const |= b.is_const;
        a.uses = a.uses.max(b.uses);
        a.root |= b.root;
        DidMerge(before != (a.ty, a.konst, a.is_const, a.uses, a.root), true)
    }
}

pub type FuseGraph = EGraph<Node, Fuse>;

/// The block's values and their classes.
pub struct BlockMap {
    pub block: BlockId,
    /// Class of every value that has one (values of the block's nodes and leaves).
    pub class_of: FxHashMap<ValueId, Id>,
    /// Values read from outside the e-graph, in block order.
    pub roots: Vec<ValueId>,
    /// Ops of the block that the e-graph covers (nodes and constant leaves): erased when they end up
    /// unused after the rebuild.
    pub covered: FxHashSet<OpId>,
    /// Number of nodes made from ops.
    pub op_nodes: usize,
}

fn is_constant(body: &Body, v: ValueId) -> Option<TensorData> {
    let op = body.defining_op(v)?;
    let d = body.op(op);
    if &*d.kind != "onnx.Constant" {
        return None;
    }
    d.attr("value").and_then(|a| a.as_tensor()).cloned()
}

/// Whether the op becomes a node: pure, deterministic, known, without regions, with results.
pub fn is_node_op(body: &Body, op: OpId, cx: &PassContext) -> bool {
    let d = body.op(op);
    d.regions().is_empty()
        && !d.results().is_empty()
        && &*d.kind != "onnx.Constant"
        && cx.ops.get(&d.kind).is_some_and(|def| def.cse_allowed())
}

/// Builds the e-graph of one block.
pub fn build(body: &Body, block: BlockId, cx: &PassContext, egraph: &mut FuseGraph) -> BlockMap {
    let mut map = BlockMap {
        block,
        class_of: FxHashMap::default(),
        roots: Vec::new(),
        covered: FxHashSet::default(),
        op_nodes: 0,
    };
    let leaf_sym = Symbol::from(LEAF);
    let proj_sym = Symbol::from(PROJ);
    let mut root_set: FxHashSet<ValueId> = FxHashSet::default();
    let mut add_root = |v: ValueId, map: &mut BlockMap| {
        if map.class_of.contains_key(&v) && root_set.insert(v) {
            map.roots.push(v);
        }
    };
    let mut children: SmallVec<[Id; 3]> = SmallVec::new();
    for op in body.block_ops(block) {
        let d = body.op(op);
        if &*d.kind == "onnx.Constant" && d.results().len() == 1 {
            let v = d.results()[0];
            leaf(body, v, egraph, &mut map, leaf_sym);
            if !body.value(v).uses().is_empty() {
                map.covered.insert(op);
            }
            continue;
        }
        if !is_node_op(body, op, cx) {
            for &v in d.operands() {
                add_root(v, &mut map);
            }
            for &r in d.regions() {
                for inner in body.walk(r) {
                    for &v in body.op(inner).operands() {
                        if body.defining_op(v).and_then(|o| body.op(o).parent_block())
                            == Some(block)
                            || matches!(body.value(v).def(), ValueDef::BlockArg { block: b, .. } if b == block)
                        {
                            add_root(v, &mut map);
                        }
                    }
                }
            }
            continue;
        }
        children.clear();
        for &v in d.operands() {
            let c = match map.class_of.get(&v) {
                Some(&c) => c,
                None => leaf(body, v, egraph, &mut map, leaf_sym),
            };
            children.push(c);
        }
        let results = d.results();
        let single = results[1..]
            .iter()
            .all(|&r| body.value(r).uses().is_empty());
        let first = results[0];
        let used = results.iter().any(|&r| !body.value(r).uses().is_empty());
        if used {
            map.covered.insert(op);
        }
        let head = egraph.analysis.push(Head {
            kind: d.kind.clone(),
            attrs: d.attrs.clone(),
            ty: single.then(|| body.value_type(first).clone()),
            origin: Origin::Op(op),
            name_from: None,
            tuple: !single,
            virtual_weight: false,
            konst: None,
            uses: if single {
                body.value(first).uses().len() as u32
            } else {
                0
            },
        });
        let id = egraph.add(Node {
            kind: Symbol::from(&*d.kind),
            head,
            children: children.clone(),
        });
        map.op_nodes += 1;
        if single {
            map.class_of.insert(first, id);
        } else {
            for (i, &r) in results.iter().enumerate() {
                if body.value(r).uses().is_empty() {
                    continue;
                }
                let h = egraph.analysis.push(Head {
                    kind: Arc::from(PROJ),
                    attrs: vec![],
                    ty: Some(body.value_type(r).clone()),
                    origin: Origin::Proj(op, i as u32),
                    name_from: None,
                    tuple: false,
                    virtual_weight: false,
                    konst: None,
                    uses: body.value(r).uses().len() as u32,
                });
                let p = egraph.add(Node {
                    kind: proj_sym,
                    head: h,
                    children: SmallVec::from_slice(&[id]),
                });
                map.class_of.insert(r, p);
            }
        }
        if !used {
            add_root(first, &mut map);
        }
    }
    for &v in &map.roots {
        let c = egraph.find(map.class_of[&v]);
        egraph[c].data.root = true;
    }
    map
}

fn leaf(body: &Body, v: ValueId, egraph: &mut FuseGraph, map: &mut BlockMap, sym: Symbol) -> Id {
    let konst = is_constant(body, v);
    let head = egraph.analysis.push(Head {
        kind: Arc::from(LEAF),
        attrs: vec![],
        ty: Some(body.value_type(v).clone()),
        origin: Origin::Leaf(v),
        name_from: None,
        tuple: false,
        virtual_weight: false,
        konst,
        uses: body.value(v).uses().len() as u32,
    });
    let id = egraph.add(Node {
        kind: sym,
        head,
        children: SmallVec::new(),
    });
    map.class_of.insert(v, id);
    id
}
