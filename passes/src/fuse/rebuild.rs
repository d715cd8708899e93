//! Extraction → graph: materialise the chosen node of every root class, once per class (so sharing is
//! kept), then re-order the block and erase what became dead.
//!
//! An original node reuses its op (name, location and result names stay; only operands that changed
//! are reset). A new op takes the ONNX node name of the op it replaces and is placed before the block's
//! terminator; a virtual weight becomes an `onnx.Constant` whose tensor is computed now
//! ([`super::weights`]). Roots keep their ONNX value names: the value that replaces a root takes the
//! root's name when it has none (or, for a terminator operand, when it is an op result of this block that
//! is not itself a terminator operand nor a constant); otherwise a terminator operand gets an `Identity`
//! carrying the old name, so that an output never becomes an input, a constant or another output. The
//! block is then sorted topologically, stable with respect to the old order (an op with regions depends
//! on the outer values its regions read), and the ops the e-graph covered that are no longer used are
//! erased.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use egg::Id;
use onnxqc_ir::verify::describe_op;
use onnxqc_ir::{Attribute, BlockId, Body, OpId, TensorData, Type, ValueId};
use rustc_hash::FxHashMap;

use super::lang::{BlockMap, FuseGraph, Head, Node, Origin};
use super::weights::{self, Layout};
use crate::{PassContext, PassError};

/// What the rebuild of one block did.
#[derive(Default)]
pub struct Rebuilt {
    pub changed: bool,
    /// A `com.microsoft` op was created.
    pub contrib: bool,
}

struct Ctx<'a> {
    body: &'a mut Body,
    block: BlockId,
    terminator: Option<OpId>,
    memo: FxHashMap<Id, ValueId>,
    /// A named original value of each class, whose name a new op computing that class takes over (the
    /// fused Conv's result keeps the name the BatchNormalization output had), so tensor names that users
    /// refer to (quantization overrides, debugging) survive fusion.
    names: FxHashMap<Id, ValueId>,
    out: Rebuilt,
}

pub fn rebuild(
    body: &mut Body,
    map: &BlockMap,
    eg: &FuseGraph,
    best: &FxHashMap<Id, Node>,
    cx: &PassContext,
) -> Result<Rebuilt, PassError> {
    let is_term =
        |body: &Body, op: OpId| cx.ops.get(&body.op(op).kind).is_some_and(|d| d.terminator);
    let terminator = body.last_op(map.block).filter(|&t| is_term(body, t));
    let mut names: FxHashMap<Id, ValueId> = FxHashMap::default();
    for (&v, &c) in &map.class_of {
        // Only results of ops this block covers (they are erased when unused), and not outputs: those
        // keep their names through the roots below.
        let covered = body
            .defining_op(v)
            .is_some_and(|o| map.covered.contains(&o));
        let output = body.value(v).uses().iter().any(|u| is_term(body, u.op));
        if covered && !output && body.value(v).name.is_some() {
            names.entry(eg.find(c)).or_insert(v);
        }
    }
    let mut ctx = Ctx {
        body,
        block: map.block,
        terminator,
        memo: FxHashMap::default(),
        names,
        out: Rebuilt::default(),
    };
    let mut values = Vec::with_capacity(map.roots.len());
    for &v in &map.roots {
        let c = eg.find(map.class_of[&v]);
        values.push(ctx.materialise(eg, best, c)?);
    }
    let Ctx { body, mut out, .. } = ctx;
    for (&v, &nv) in map.roots.iter().zip(&values) {
        if nv == v {
            continue;
        }
        out.changed = true;
        let feeds_term = body.value(v).uses().iter().any(|u| is_term(body, u.op));
        if !feeds_term {
            body.replace_all_uses(v, nv);
            if body.value(nv).name.is_none() {
                body.value_mut(nv).name = body.value_mut(v).name.take();
            }
            continue;
        }
        let local = body.defining_op(nv).is_some_and(|o| {
            body.op(o).parent_block() == Some(map.block) && &*body.op(o).kind != "onnx.Constant"
        });
        let is_output = body.value(nv).uses().iter().any(|u| is_term(body, u.op));
        if local && !is_output {
            body.replace_all_uses(v, nv);
            if body.value(v).name.is_some() {
                body.value_mut(nv).name = body.value_mut(v).name.take();
            }
            continue;
        }
        // Keep an Identity: reuse the original one when the root already is one.
        if let Some(op) = body
            .defining_op(v)
            .filter(|&o| &*body.op(o).kind == "onnx.Identity")
        {
            body.set_operand(op, 0, nv);
            continue;
        }
        let ty = body.value_type(v).clone();
        let id = body.create_op("onnx.Identity", &[nv], vec![ty], vec![]);
        body.op_mut(id).name = body.defining_op(v).and_then(|o| body.op(o).name.clone());
        match terminator {
            Some(t) => body.insert_before(t, id),
            None => body.append_op(map.block, id),
        }
        let r = body.op(id).results()[0];
        body.replace_all_uses(v, r);
        body.value_mut(r).name = body.value_mut(v).name.take();
    }
    if out.changed {
        topo_sort(body, map.block);
        let ops: Vec<OpId> = body.block_ops(map.block).collect();
        for &op in ops.iter().rev() {
            if map.covered.contains(&op) && body.results_unused(op) {
                body.erase_op(op);
            }
        }
    }
    Ok(out)
}

impl Ctx<'_> {
    fn place(&mut self, op: OpId) {
        match self.terminator {
            Some(t) => self.body.insert_before(t, op),
            None => self.body.append_op(self.block, op),
        }
    }

    fn materialise(
        &mut self,
        eg: &FuseGraph,
        best: &FxHashMap<Id, Node>,
        root: Id,
    ) -> Result<ValueId, PassError> {
        let mut stack = vec![(root, false)];
        while let Some((c, expanded)) = stack.pop() {
            if self.memo.contains_key(&c) {
                continue;
            }
            let node = best.get(&c).ok_or_else(|| {
                PassError::new(
                    "fuse",
                    format!("internal: no extracted node for e-class {c}"),
                )
            })?;
            if !expanded {
                stack.push((c, true));
                for &k in &node.children {
                    let k = eg.find(k);
                    if !self.memo.contains_key(&k) {
                        stack.push((k, false));
                    }
                }
                continue;
            }
            let kids: Vec<ValueId> = node
                .children
                .iter()
                .map(|&k| self.memo[&eg.find(k)])
                .collect();
            let head = &eg.analysis.heads[node.head as usize];
            let v = self.build(head, &kids)?;
            if matches!(head.origin, Origin::New) && self.body.value(v).name.is_none() {
                if let Some(&old) = self.names.get(&c) {
                    if old != v {
                        self.body.value_mut(v).name = self.body.value_mut(old).name.take();
                    }
                }
            }
            self.memo.insert(c, v);
        }
        Ok(self.memo[&root])
    }

    fn build(&mut self, head: &Head, kids: &[ValueId]) -> Result<ValueId, PassError> {
        match head.origin {
            Origin::Leaf(v) => Ok(v),
            Origin::Proj(op, i) => Ok(self.body.op(op).results()[i as usize]),
            Origin::Op(op) => {
                for (i, &k) in kids.iter().enumerate() {
                    if self.body.op(op).operands()[i] != k {
                        self.body.set_operand(op, i, k);
                        self.out.changed = true;
                    }
                }
                Ok(self.body.op(op).results()[0])
            }
            Origin::New if head.virtual_weight => {
                let inputs: Vec<TensorData> = kids
                    .iter()
                    .map(|&k| constant_of(self.body, k))
                    .collect::<Option<_>>()
                    .ok_or_else(|| {
                        self.error(head, "a folded weight's input is not a constant".into())
                    })?;
                let t = compute(head, &inputs).map_err(|e| self.error(head, e))?;
                let ty = Type::tensor(t.elem, &t.shape);
                let op = self.body.create_op(
                    "onnx.Constant",
                    &[],
                    vec![ty],
                    vec![("value".into(), Attribute::Tensor(t))],
                );
                self.place(op);
                self.out.changed = true;
                Ok(self.body.op(op).results()[0])
            }
            Origin::New => {
                let ty = head.ty.clone().unwrap_or(Type::Unknown);
                let op = self
                    .body
                    .create_op(&head.kind, kids, vec![ty], head.attrs.clone());
                self.body.op_mut(op).name =
                    head.name_from.and_then(|o| self.body.op(o).name.clone());
                self.place(op);
                self.out.changed = true;
                if head.kind.starts_with("com.microsoft.") {
                    self.out.contrib = true;
                }
                Ok(self.body.op(op).results()[0])
            }
        }
    }

    fn error(&self, head: &Head, msg: String) -> PassError {
        let at = head
            .name_from
            .map(|o| format!(" (folding into {})", describe_op(self.body, o)))
            .unwrap_or_default();
        PassError::new("fuse", format!("cannot compute {}{at}: {msg}", head.kind))
    }
}

fn constant_of(body: &Body, v: ValueId) -> Option<TensorData> {
    let op = body.defining_op(v)?;
    (&*body.op(op).kind == "onnx.Constant").then_some(())?;
    body.op(op).attr("value")?.as_tensor().cloned()
}

fn compute(head: &Head, k: &[TensorData]) -> Result<TensorData, String> {
    let f = |n: &str, d: f32| head.attr(n).and_then(Attribute::as_float).unwrap_or(d);
    let eps = f("epsilon", 1e-5);
    let elem = head
        .ty
        .as_ref()
        .and_then(Type::elem)
        .and_then(|e| e.scalar())
        .ok_or("no element type")?;
    match &*head.kind {
        "qc.bn_fold_weight" if k.len() == 3 => {
            let layout = match head.attr("layout").and_then(Attribute::as_str) {
                Some("cols") => Layout::Cols,
                Some("convT") => Layout::ConvTranspose {
                    group: head
                        .attr("group")
                        .and_then(Attribute::as_int)
                        .unwrap_or(1)
                        .max(1) as u64,
                },
                _ => Layout::Rows,
            };
            weights::bn_fold_weight(&k[0], &k[1], &k[2], eps, layout)
        }
        "qc.bn_fold_bias" if k.len() == 5 => {
            weights::bn_fold_bias(Some(&k[0]), &k[1], &k[2], &k[3], &k[4], eps, f("beta", 1.0))
        }
        "qc.bn_fold_bias" if k.len() == 4 => {
            weights::bn_fold_bias(None, &k[0], &k[1], &k[2], &k[3], eps, f("beta", 1.0))
        }
        "qc.add_bias" => {
            let m = head
                .attr("channels")
                .and_then(Attribute::as_int)
                .unwrap_or(0) as u64;
            match k {
                [b, c] => weights::add_bias(Some(b), c, m, elem),
                [c] => weights::add_bias(None, c, m, elem),
                _ => Err("bad add_bias".into()),
            }
        }
        "qc.fill" => {
            let shape = head
                .ty
                .as_ref()
                .and_then(Type::as_tensor)
                .and_then(|t| t.static_dims())
                .ok_or("fill without a static shape")?;
            weights::fill(elem, shape, f("value", 1.0))
        }
        other => Err(format!("unknown folded weight {other}")),
    }
}

/// Sorts the ops of `block` topologically, keeping the current order where dependencies allow.
pub fn topo_sort(body: &mut Body, block: BlockId) {
    let ops: Vec<OpId> = body.block_ops(block).collect();
    let pos: FxHashMap<OpId, usize> = ops.iter().enumerate().map(|(i, &o)| (o, i)).collect();
    let mut indeg = vec![0usize; ops.len()];
    let mut users: Vec<Vec<usize>> = vec![Vec::new(); ops.len()];
    let local = |body: &Body, v: ValueId| body.defining_op(v).and_then(|d| pos.get(&d).copied());
    for (i, &op) in ops.iter().enumerate() {
        let mut deps: Vec<usize> = body
            .op(op)
            .operands()
            .iter()
            .filter_map(|&v| local(body, v))
            .collect();
        for &r in body.op(op).regions() {
            for inner in body.walk(r) {
                deps.extend(
                    body.op(inner)
                        .operands()
                        .iter()
                        .filter_map(|&v| local(body, v)),
                );
            }
        }
        deps.sort_unstable();
        deps.dedup();
        deps.retain(|&d| d != i);
        indeg[i] = deps.len();
        for d in deps {
            users[d].push(i);
        }
    }
    let mut heap: BinaryHeap<Reverse<usize>> = (0..ops.len())
        .filter(|&i| indeg[i] == 0)
        .map(Reverse)
        .collect();
    let mut order = Vec::with_capacity(ops.len());
    while let Some(Reverse(i)) = heap.pop() {
        order.push(ops[i]);
        for &u in &users[i] {
            indeg[u] -= 1;
            if indeg[u] == 0 {
                heap.push(Reverse(u));
            }
        }
    }
    if order.len() != ops.len() || order == ops {
        return;
    }
    for &op in &ops {
        body.detach_op(op);
    }
    for op in order {
        body.append_op(block, op);
    }
}
