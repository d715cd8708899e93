//! The IR graph: operations in SSA form, stored in arenas with typed ids and use-lists.
//!
//! A [`Module`] holds [`Function`]s; each function owns one [`Body`], the arena for all of its ops, values,
//! blocks and regions, nested regions (ONNX `If`/`Loop`/`Scan` bodies) included. Ids ([`OpId`],
//! [`ValueId`], [`BlockId`], [`RegionId`]) are small `Copy` handles into that arena; payloads are `*Data`
//! structs. A block orders its ops as a doubly linked list, so inserting or erasing an op is O(1);
//! each value keeps its uses, so replacing all uses of a value is O(uses).
//!
//! A value is either an op result `(op, slot)` or a block argument; a function's inputs are the arguments
//! of its entry block and its outputs are the operands of the `func.return` that ends that block. Values
//! defined in an enclosing region are visible inside nested regions (ONNX's outer-scope references), as in
//! MLIR's non-isolated regions.
//!
//! Erased ops and values stay in the arena as tombstones (ids stay valid and are never reused); printing
//! renumbers, so tombstones are invisible in the text form.

use std::sync::Arc;

use smallvec::SmallVec;

use crate::attr::{Attribute, NamedAttr};
use crate::types::Type;

macro_rules! id_type {
    ($(#[$m:meta])* $name:ident) => {
        $(#[$m])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(u32);

        impl $name {
            pub fn index(self) -> usize {
                self.0 as usize
            }
        }
    };
}

id_type!(
    /// An operation in a [`Body`].
    OpId
);
id_type!(
    /// An SSA value (op result or block argument) in a [`Body`].
    ValueId
);
id_type!(
    /// A block in a [`Body`].
    BlockId
);
id_type!(
    /// A region in a [`Body`].
    RegionId
);

/// A byte range in the source text an op or value was parsed from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Span {
    pub start: u32,
    pub end: u32,
}

impl Span {
    pub fn new(start: usize, end: usize) -> Span {
        Span {
            start: start as u32,
            end: end as u32,
        }
    }

    pub fn range(self) -> std::ops::Range<usize> {
        self.start as usize..self.end as usize
    }
}

/// The full name of an op kind, `dialect.Op` (`onnx.Conv`, `com.microsoft.QGemm`, `qc.observe`).
pub type OpKind = Arc<str>;

/// Splits an op kind into its domain and op type at the last dot: `com.microsoft.QGemm` →
/// (`com.microsoft`, `QGemm`).
pub fn split_op_kind(kind: &str) -> (&str, &str) {
    match kind.rfind('.') {
        Some(i) => (&kind[..i], &kind[i + 1..]),
        None => ("", kind),
    }
}

#[derive(Clone, Debug)]
pub struct OpData {
    pub kind: OpKind,
    /// The ONNX node name, printed as `loc("name")`.
    pub name: Option<Arc<str>>,
    pub attrs: Vec<NamedAttr>,
    /// Where the op was parsed from, for diagnostics.
    pub span: Option<Span>,
    operands: Vec<ValueId>,
    results: SmallVec<[ValueId; 1]>,
    regions: Vec<RegionId>,
    parent: Option<BlockId>,
    prev: Option<OpId>,
    next: Option<OpId>,
    alive: bool,
}

impl OpData {
    pub fn operands(&self) -> &[ValueId] {
        &self.operands
    }

    pub fn results(&self) -> &[ValueId] {
        &self.results
    }

    pub fn regions(&self) -> &[RegionId] {
        &self.regions
    }

    pub fn parent_block(&self) -> Option<BlockId> {
        self.parent
    }

    pub fn attr(&self, name: &str) -> Option<&Attribute> {
        self.attrs
            .iter()
            .find(|(k, _)| &**k == name)
            .map(|(_, v)| v)
    }

    pub fn set_attr(&mut self, name: &str, value: Attribute) {
        match self.attrs.iter_mut().find(|(k, _)| &**k == name) {
            Some(slot) => slot.1 = value,
            None => self.attrs.push((Arc::from(name), value)),
        }
    }

    pub fn remove_attr(&mut self, name: &str) -> Option<Attribute> {
        let i = self.attrs.iter().position(|(k, _)| &**k == name)?;
        Some(self.attrs.remove(i).1)
    }

    pub fn is_alive(&self) -> bool {
        self.alive
    }
}

/// Where a value comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ValueDef {
    Result { op: OpId, index: u32 },
    BlockArg { block: BlockId, index: u32 },
}

/// One use of a value: operand `index` of `op`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Use {
    pub op: OpId,
    pub index: u32,
}

#[derive(Clone, Debug)]
pub struct ValueData {
    pub ty: Type,
    /// The ONNX tensor name, printed as the SSA name (`%name`) when present.
    pub name: Option<Arc<str>>,
    pub span: Option<Span>,
    def: ValueDef,
    uses: Vec<Use>,
}

impl ValueData {
    pub fn def(&self) -> ValueDef {
        self.def
    }

    pub fn uses(&self) -> &[Use] {
        &self.uses
    }
}

#[derive(Clone, Debug)]
pub struct BlockData {
    args: Vec<ValueId>,
    first: Option<OpId>,
    last: Option<OpId>,
    parent: RegionId,
}

impl BlockData {
    pub fn args(&self) -> &[ValueId] {
        &self.args
    }

    pub fn parent_region(&self) -> RegionId {
        self.parent
    }
}

#[derive(Clone, Debug)]
pub struct RegionData {
    blocks: Vec<BlockId>,
    parent: Option<OpId>,
}

impl RegionData {
    pub fn blocks(&self) -> &[BlockId] {
        &self.blocks
    }

    pub fn parent_op(&self) -> Option<OpId> {
        self.parent
    }
}

/// The arena of one function: every op, value, block and region in it, nested ones included.
#[derive(Clone, Debug)]
pub struct Body {
    ops: Vec<OpData>,
    values: Vec<ValueData>,
    blocks: Vec<BlockData>,
    regions: Vec<RegionData>,
    root: RegionId,
}

impl Default for Body {
    fn default() -> Self {
        Self::new()
    }
}

impl Body {
    /// An empty body: a root region with one empty entry block.
    pub fn new() -> Body {
        let mut body = Body {
            ops: vec![],
            values: vec![],
            blocks: vec![],
            regions: vec![],
            root: RegionId(0),
        };
        body.root = body.new_region(None);
        body.add_block(body.root);
        body
    }

    pub fn root(&self) -> RegionId {
        self.root
    }

    /// The function's entry block (its arguments are the function inputs).
    pub fn entry_block(&self) -> BlockId {
        self.regions[self.root.index()].blocks[0]
    }

    // ----- access -----

    pub fn op(&self, op: OpId) -> &OpData {
        &self.ops[op.index()]
    }

    pub fn op_mut(&mut self, op: OpId) -> &mut OpData {
        &mut self.ops[op.index()]
    }

    pub fn value(&self, v: ValueId) -> &ValueData {
        &self.values[v.index()]
    }

    pub fn value_mut(&mut self, v: ValueId) -> &mut ValueData {
        &mut self.values[v.index()]
    }

    pub fn block(&self, b: BlockId) -> &BlockData {
        &self.blocks[b.index()]
    }

    pub fn region(&self, r: RegionId) -> &RegionData {
        &self.regions[r.index()]
    }

    pub fn value_type(&self, v: ValueId) -> &Type {
        &self.values[v.index()].ty
    }

    /// The op that defines `v`, if it is an op result.
    pub fn defining_op(&self, v: ValueId) -> Option<OpId> {
        match self.values[v.index()].def {
            ValueDef::Result { op, .. } => Some(op),
            ValueDef::BlockArg { .. } => None,
        }
    }

    /// Number of arena slots (an upper bound on op ids), for side tables indexed by `OpId`.
    pub fn op_capacity(&self) -> usize {
        self.ops.len()
    }

    pub fn value_capacity(&self) -> usize {
        self.values.len()
    }

    /// Number of live ops, nested ones included.
    pub fn num_ops(&self) -> usize {
        self.ops.iter().filter(|o| o.alive).count()
    }

    /// The ops of a block, in order. Collect before mutating the block.
    pub fn block_ops(&self, b: BlockId) -> BlockOps<'_> {
        BlockOps {
            body: self,
            next: self.blocks[b.index()].first,
        }
    }

    pub fn first_op(&self, b: BlockId) -> Option<OpId> {
        self.blocks[b.index()].first
    }

    pub fn last_op(&self, b: BlockId) -> Option<OpId> {
        self.blocks[b.index()].last
    }

    pub fn next_op(&self, op: OpId) -> Option<OpId> {
        self.ops[op.index()].next
    }

    pub fn prev_op(&self, op: OpId) -> Option<OpId> {
        self.ops[op.index()].prev
    }

    /// Every live op under `region`, pre-order (an op before the ops of its regions).
    pub fn walk(&self, region: RegionId) -> Vec<OpId> {
        let mut out = Vec::new();
        self.walk_into(region, &mut out);
        out
    }

    fn walk_into(&self, region: RegionId, out: &mut Vec<OpId>) {
        for &b in &self.regions[region.index()].blocks {
            for op in self.block_ops(b) {
                out.push(op);
                for &r in &self.ops[op.index()].regions {
                    self.walk_into(r, out);
                }
            }
        }
    }

    /// Every live op of the function, pre-order.
    pub fn all_ops(&self) -> Vec<OpId> {
        self.walk(self.root)
    }

    /// The `func.return` that ends the entry block, if any.
    pub fn return_op(&self) -> Option<OpId> {
        let last = self.last_op(self.entry_block())?;
        (&*self.ops[last.index()].kind == crate::FUNC_RETURN).then_some(last)
    }

    /// The function outputs (operands of its `func.return`).
    pub fn outputs(&self) -> &[ValueId] {
        match self.return_op() {
            Some(r) => &self.ops[r.index()].operands,
            None => &[],
        }
    }

    /// The function inputs (entry block arguments).
    pub fn inputs(&self) -> &[ValueId] {
        &self.blocks[self.entry_block().index()].args
    }

    /// The op whose region (transitively) contains `op`, or `None` at the top level.
    pub fn parent_op(&self, op: OpId) -> Option<OpId> {
        let block = self.ops[op.index()].parent?;
        self.regions[self.blocks[block.index()].parent.index()].parent
    }

    // ----- construction -----

    fn new_region(&mut self, parent: Option<OpId>) -> RegionId {
        let id = RegionId(self.regions.len() as u32);
        self.regions.push(RegionData {
            blocks: vec![],
            parent,
        });
        id
    }

    /// Adds a new empty block at the end of `region`.
    pub fn add_block(&mut self, region: RegionId) -> BlockId {
        let id = BlockId(self.blocks.len() as u32);
        self.blocks.push(BlockData {
            args: vec![],
            first: None,
            last: None,
            parent: region,
        });
        self.regions[region.index()].blocks.push(id);
        id
    }

    /// Adds a region with one empty block to `op`; returns the region (its block is `region(r).blocks()[0]`).
    pub fn add_region(&mut self, op: OpId) -> RegionId {
        let r = self.new_region(Some(op));
        self.add_block(r);
        self.ops[op.index()].regions.push(r);
        r
    }

    pub fn add_block_arg(&mut self, block: BlockId, ty: Type, name: Option<Arc<str>>) -> ValueId {
        let index = self.blocks[block.index()].args.len() as u32;
        let v = self.new_value(ty, name, ValueDef::BlockArg { block, index });
        self.blocks[block.index()].args.push(v);
        v
    }

    fn new_value(&mut self, ty: Type, name: Option<Arc<str>>, def: ValueDef) -> ValueId {
        let id = ValueId(self.values.len() as u32);
        self.values.push(ValueData {
            ty,
            name,
            span: None,
            def,
            uses: vec![],
        });
        id
    }

    /// Creates a detached op; place it with [`Body::append_op`] or [`Body::insert_before`].
    pub fn create_op(
        &mut self,
        kind: &str,
        operands: &[ValueId],
        result_types: Vec<Type>,
        attrs: Vec<NamedAttr>,
    ) -> OpId {
        let id = OpId(self.ops.len() as u32);
        self.ops.push(OpData {
            kind: Arc::from(kind),
            name: None,
            attrs,
            span: None,
            operands: operands.to_vec(),
            results: SmallVec::new(),
            regions: vec![],
            parent: None,
            prev: None,
            next: None,
            alive: true,
        });
        for (i, &v) in operands.iter().enumerate() {
            self.values[v.index()].uses.push(Use {
                op: id,
                index: i as u32,
            });
        }
        for (i, ty) in result_types.into_iter().enumerate() {
            let v = self.new_value(
                ty,
                None,
                ValueDef::Result {
                    op: id,
                    index: i as u32,
                },
            );
            self.ops[id.index()].results.push(v);
        }
        id
    }

    /// Adds result values of the given types to an op that has none yet (the parser learns the result
    /// types after the op's regions); returns them.
    pub fn add_results(&mut self, op: OpId, types: Vec<Type>) -> Vec<ValueId> {
        debug_assert!(self.ops[op.index()].results.is_empty());
        let mut out = Vec::with_capacity(types.len());
        for (i, ty) in types.into_iter().enumerate() {
            let v = self.new_value(
                ty,
                None,
                ValueDef::Result {
                    op,
                    index: i as u32,
                },
            );
            self.ops[op.index()].results.push(v);
            out.push(v);
        }
        out
    }

    /// Creates an op and appends it to `block`; returns the op.
    pub fn append_new_op(
        &mut self,
        block: BlockId,
        kind: &str,
        operands: &[ValueId],
        result_types: Vec<Type>,
        attrs: Vec<NamedAttr>,
    ) -> OpId {
        let op = self.create_op(kind, operands, result_types, attrs);
        self.append_op(block, op);
        op
    }

    /// Appends a detached op at the end of `block`.
    pub fn append_op(&mut self, block: BlockId, op: OpId) {
        debug_assert!(
            self.ops[op.index()].parent.is_none(),
            "op is already in a block"
        );
        let last = self.blocks[block.index()].last;
        {
            let o = &mut self.ops[op.index()];
            o.parent = Some(block);
            o.prev = last;
            o.next = None;
        }
        match last {
            Some(l) => self.ops[l.index()].next = Some(op),
            None => self.blocks[block.index()].first = Some(op),
        }
        self.blocks[block.index()].last = Some(op);
    }

    /// Inserts a detached op right before `before`.
    pub fn insert_before(&mut self, before: OpId, op: OpId) {
        let block = self.ops[before.index()]
            .parent
            .expect("insertion point is not in a block");
        let prev = self.ops[before.index()].prev;
        {
            let o = &mut self.ops[op.index()];
            o.parent = Some(block);
            o.prev = prev;
            o.next = Some(before);
        }
        self.ops[before.index()].prev = Some(op);
        match prev {
            Some(p) => self.ops[p.index()].next = Some(op),
            None => self.blocks[block.index()].first = Some(op),
        }
    }

    /// Removes an op from its block without destroying it (it can be placed again).
    pub fn detach_op(&mut self, op: OpId) {
        let Some(block) = self.ops[op.index()].parent else {
            return;
        };
        let (prev, next) = (self.ops[op.index()].prev, self.ops[op.index()].next);
        match prev {
            Some(p) => self.ops[p.index()].next = next,
            None => self.blocks[block.index()].first = next,
        }
        match next {
            Some(n) => self.ops[n.index()].prev = prev,
            None => self.blocks[block.index()].last = prev,
        }
        let o = &mut self.ops[op.index()];
        o.parent = None;
        o.prev = None;
        o.next = None;
    }

    // ----- rewriting -----

    pub fn set_operand(&mut self, op: OpId, index: usize, new: ValueId) {
        let old = self.ops[op.index()].operands[index];
        if old == new {
            return;
        }
        self.remove_use(
            old,
            Use {
                op,
                index: index as u32,
            },
        );
        self.ops[op.index()].operands[index] = new;
        self.values[new.index()].uses.push(Use {
            op,
            index: index as u32,
        });
    }

    fn remove_use(&mut self, v: ValueId, u: Use) {
        let uses = &mut self.values[v.index()].uses;
        if let Some(i) = uses.iter().position(|x| *x == u) {
            uses.swap_remove(i);
        }
    }

    /// Replaces every use of `old` by `new`, in O(uses of `old`).
    pub fn replace_all_uses(&mut self, old: ValueId, new: ValueId) {
        if old == new {
            return;
        }
        let uses = std::mem::take(&mut self.values[old.index()].uses);
        for u in &uses {
            self.ops[u.op.index()].operands[u.index as usize] = new;
        }
        self.values[new.index()].uses.extend(uses);
    }

    /// Erases an op, the ops nested in its regions, and its operand uses. Its results must be unused
    /// (erasing a used value would leave dangling operands; callers replace uses first).
    pub fn erase_op(&mut self, op: OpId) {
        debug_assert!(
            self.ops[op.index()]
                .results
                .iter()
                .all(|r| self.values[r.index()].uses.is_empty()),
            "erasing {} whose results are still used",
            self.ops[op.index()].kind
        );
        self.detach_op(op);
        self.kill_op(op);
    }

    fn kill_op(&mut self, op: OpId) {
        let regions = std::mem::take(&mut self.ops[op.index()].regions);
        for r in regions {
            for b in self.regions[r.index()].blocks.clone() {
                let ops: Vec<OpId> = self.block_ops(b).collect();
                // Nested ops may use each other; drop all their operand uses before killing them.
                for &inner in ops.iter().rev() {
                    self.kill_op(inner);
                }
            }
        }
        let operands = std::mem::take(&mut self.ops[op.index()].operands);
        for (i, v) in operands.into_iter().enumerate() {
            self.remove_use(
                v,
                Use {
                    op,
                    index: i as u32,
                },
            );
        }
        self.ops[op.index()].alive = false;
    }

    /// True when no result of `op` is used.
    pub fn results_unused(&self, op: OpId) -> bool {
        self.ops[op.index()]
            .results
            .iter()
            .all(|r| self.values[r.index()].uses.is_empty())
    }
}

/// Iterator over the ops of a block.
pub struct BlockOps<'a> {
    body: &'a Body,
    next: Option<OpId>,
}

impl Iterator for BlockOps<'_> {
    type Item = OpId;

    fn next(&mut self) -> Option<OpId> {
        let cur = self.next?;
        self.next = self.body.ops[cur.index()].next;
        Some(cur)
    }
}

/// A function: a name, attributes, and its body.
#[derive(Clone, Debug)]
pub struct Function {
    pub name: String,
    pub attrs: Vec<NamedAttr>,
    pub body: Body,
    pub span: Option<Span>,
}

impl Function {
    pub fn new(name: &str) -> Function {
        Function {
            name: name.to_string(),
            attrs: vec![],
            body: Body::new(),
            span: None,
        }
    }
}

/// A module: module-level attributes (ONNX ir_version, opset imports, metadata) and functions; the first
/// function is the main graph.
#[derive(Clone, Debug, Default)]
pub struct Module {
    pub attrs: Vec<NamedAttr>,
    pub funcs: Vec<Function>,
}

impl Module {
    pub fn attr(&self, name: &str) -> Option<&Attribute> {
        self.attrs
            .iter()
            .find(|(k, _)| &**k == name)
            .map(|(_, v)| v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::ScalarType;

    fn t() -> Type {
        Type::tensor(ScalarType::F32, &[2])
    }

    #[test]
    fn build_replace_erase() {
        let mut body = Body::new();
        let entry = body.entry_block();
        let x = body.add_block_arg(entry, t(), Some("x".into()));
        let a = body.append_new_op(entry, "onnx.Relu", &[x], vec![t()], vec![]);
        let a_out = body.op(a).results()[0];
        let b = body.append_new_op(entry, "onnx.Neg", &[a_out], vec![t()], vec![]);
        let b_out = body.op(b).results()[0];
        body.append_new_op(entry, crate::FUNC_RETURN, &[b_out], vec![], vec![]);
        assert_eq!(body.value(x).uses().len(), 1);
        assert_eq!(body.outputs(), &[b_out]);

        body.replace_all_uses(a_out, x);
        assert_eq!(body.value(x).uses().len(), 2);
        assert!(body.results_unused(a));
        body.erase_op(a);
        assert_eq!(body.value(x).uses().len(), 1);
        assert_eq!(body.block_ops(entry).count(), 2);
        assert_eq!(body.num_ops(), 2);
    }

    #[test]
    fn insert_before_and_detach_keep_links() {
        let mut body = Body::new();
        let entry = body.entry_block();
        let a = body.append_new_op(entry, "t.a", &[], vec![], vec![]);
        let c = body.append_new_op(entry, "t.c", &[], vec![], vec![]);
        let b = body.create_op("t.b", &[], vec![], vec![]);
        body.insert_before(c, b);
        let z = body.create_op("t.z", &[], vec![], vec![]);
        body.insert_before(a, z);
        let names: Vec<_> = body
            .block_ops(entry)
            .map(|o| body.op(o).kind.to_string())
            .collect();
        assert_eq!(names, ["t.z", "t.a", "t.b", "t.c"]);
        body.detach_op(z);
        body.detach_op(c);
        let names: Vec<_> = body
            .block_ops(entry)
            .map(|o| body.op(o).kind.to_string())
            .collect();
        assert_eq!(names, ["t.a", "t.b"]);
        assert_eq!(body.last_op(entry), Some(b));
    }

    #[test]
    fn erasing_an_op_with_regions_drops_nested_uses() {
        let mut body = Body::new();
        let entry = body.entry_block();
        let x = body.add_block_arg(entry, t(), None);
        let iff = body.append_new_op(entry, "onnx.If", &[x], vec![t()], vec![]);
        let r = body.add_region(iff);
        let inner = body.region(r).blocks()[0];
        let n = body.append_new_op(inner, "onnx.Neg", &[x], vec![t()], vec![]);
        let n_out = body.op(n).results()[0];
        body.append_new_op(inner, "onnx.Yield", &[n_out], vec![], vec![]);
        assert_eq!(body.value(x).uses().len(), 2);
        assert_eq!(body.parent_op(n), Some(iff));
        body.erase_op(iff);
        assert!(body.value(x).uses().is_empty());
        assert_eq!(body.num_ops(), 0);
    }
}
