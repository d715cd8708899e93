//! `fold`: constant folding. An op whose operands are all constants (`onnx.Constant` results; an
//! `onnx.NoValue` operand counts as an absent input) is computed once and replaced by `onnx.Constant` ops
//! holding its results. The walk goes through each block in order, so a folded result is already a
//! constant when its users are visited and chains fold in one run; nested regions are walked after
//! their parent op, and see the constants of the enclosing blocks (ONNX outer-scope references).
//!
//! **Who computes.** The pass never depends on the runtime: it calls [`PassContext::eval`] (the driver
//! supplies the runtime's kernels). Without an evaluator, when it refuses an op, or with
//! `shape-only=true`, the pass computes what it can itself: `Identity`, integer `Cast`, and the shape
//! rules, which need no tensor data: `Shape` (with `start`/`end`) and `Size` of a value whose type has the
//! selected dims known, and `Gather`/`Slice`/`Concat` over a `Shape` result when the dims they select are
//! known even if others are symbolic (`Gather(Shape(x), 0)` with `x: [batch?=8, seq?, 768]`: the common
//! transformer pattern). Such rules read only the IR's types: they are as good as the types
//! `shape-infer` leaves.
//!
//! **What is never folded.** Ops the op registry marks as having side effects or as non-deterministic
//! (`RandomNormal`...), ops unknown to the registry (local-function calls, custom ops), ops with regions
//! (`If`/`Loop`/`Scan`; their bodies are folded inside), `qc.*` ops, ops whose attributes refer to a local
//! function's attributes (their values are not known here), and, unless `fold-qdq=true`,
//! `QuantizeLinear`/`DequantizeLinear`/`DynamicQuantizeLinear`: folding the `DequantizeLinear` of a
//! quantized weight would store the weight as floats again and undo the quantization. Initializers that
//! are also graph inputs (old IR style, `onnx.input_initializers`) are defaults a user may override, so
//! they are not constants here (as in ONNX Runtime).
//!
//! **Size.** A result is folded when the bytes of its results are at most `size-limit` (default 1 MiB),
//! or else no more than the bytes of its constant inputs: folding then never grows the model by more
//! than the limit per op (`Expand`/`ConstantOfShape`/`Tile` of small constants into big tensors stay
//! ops, as ONNX Runtime and onnx-simplifier do), while layout changes of a big weight (`Transpose`,
//! `Cast`, `Reshape` of an initializer) are folded, since the input usually dies with it. When the
//! declared result types are static, oversized results are skipped before anything is computed.
//!
//! **Names and cleanup.** A folded constant takes over the ONNX tensor name of the result it replaces, so
//! graph outputs and `value_info` keep their names; a folded function output stays an output (the
//! constant is returned). The folded op is erased, and so are the ops defining its operands when the
//! fold left them unused (the consumed initializers, a `Shape`): one level only, the rest is `dce`'s job.
//! Result types become the exact static types of the computed values; a value whose computed type
//! contradicts its declared type is not folded (that would be a kernel bug or a wrong model).
//!
//! **Constants into initializers.** `onnx.Constant` ops marked `onnx.constant_node` lose the mark (the
//! exporter then writes an initializer), and `value_float(s)`/`value_int(s)`/`value_string(s)` become a
//! `value` tensor, so later passes and the exporter see one form. Sparse constants are left alone.
//!
//! Statistics: `ops-folded`, `constants-converted`, `bytes-created`, `skipped-size` (results over the
//! budget), `skipped-unsupported` (all-constant ops that nobody could compute).

use std::sync::Arc;

use onnxqc_ir::graph::split_op_kind;
use onnxqc_ir::{
    Attribute, BlockId, Body, Buffer, ElemType, Module, OpId, ScalarType, TensorData, Type, ValueId,
};
use onnxqc_onnx::{attrs, NO_VALUE};
use rustc_hash::FxHashSet;

use crate::options::{OptKind, OptionSpec};
use crate::registry::PassInfo;
use crate::{Pass, PassContext, PassError, PassOptions, PassOutcome};

const CONSTANT: &str = "onnx.Constant";

static OPTIONS: [OptionSpec; 3] = [
    OptionSpec {
        name: "size-limit",
        kind: OptKind::Int {
            min: 0,
            max: i64::MAX,
        },
        default: "1048576",
        help: "bytes: a larger result is folded only if it is no larger than its constant inputs",
    },
    OptionSpec {
        name: "fold-qdq",
        kind: OptKind::Bool,
        default: "false",
        help: "also fold QuantizeLinear/DequantizeLinear/DynamicQuantizeLinear (undoes quantized weights)",
    },
    OptionSpec {
        name: "shape-only",
        kind: OptKind::Bool,
        default: "false",
        help: "only the pass's own rules (shapes, Identity, integer Cast); never call the evaluator",
    },
];

pub fn info() -> PassInfo {
    PassInfo {
        name: "fold",
        summary: "Fold ops whose inputs are constants (and shapes known from types) into constants",
        options: &OPTIONS,
        requires: &[],
        provides: &[],
        create: |o: &PassOptions| {
            Box::new(Fold {
                size_limit: o.int("size-limit").max(0) as u64,
                fold_qdq: o.bool("fold-qdq"),
                shape_only: o.bool("shape-only"),
            })
        },
    }
}

struct Fold {
    size_limit: u64,
    fold_qdq: bool,
    shape_only: bool,
}

#[derive(Default)]
struct Stats {
    folded: u64,
    converted: u64,
    bytes: u64,
    skipped_size: u64,
    skipped_unsupported: u64,
}

impl Pass for Fold {
    fn name(&self) -> &'static str {
        "fold"
    }

    fn run(&mut self, module: &mut Module, cx: &PassContext) -> Result<PassOutcome, PassError> {
        let opset = onnxqc_onnx::default_opset(module);
        let mut stats = Stats::default();
        for (i, f) in module.funcs.iter_mut().enumerate() {
            let overridable = if i == 0 {
                match f
                    .attrs
                    .iter()
                    .find(|(k, _)| &**k == attrs::INPUT_INITIALIZERS)
                {
                    Some((_, Attribute::Strings(names))) => {
                        names.iter().map(|n| Arc::from(n.as_str())).collect()
                    }
                    _ => FxHashSet::default(),
                }
            } else {
                FxHashSet::default()
            };
            let entry = f.body.entry_block();
            let mut w = Walker {
                pass: self,
                cx,
                opset,
                overridable,
                stats: &mut stats,
                body: &mut f.body,
            };
            w.block(entry);
        }
        Ok(PassOutcome {
            changed: stats.folded > 0 || stats.converted > 0,
            stats: vec![
                ("ops-folded", stats.folded),
                ("constants-converted", stats.converted),
                ("bytes-created", stats.bytes),
                ("skipped-size", stats.skipped_size),
                ("skipped-unsupported", stats.skipped_unsupported),
            ],
            notes: vec![],
        })
    }
}

/// What an operand is to the folder.
enum Operand<'a> {
    /// An `onnx.NoValue`: an absent optional input.
    Absent,
    Const(&'a TensorData),
    Other,
}

/// A 1-D (or scalar) integer vector whose elements may be unknown: a constant, or a `Shape` result
/// with symbolic dims.
struct IntVec {
    elem: ScalarType,
    shape: Vec<u64>,
    vals: Vec<Option<i64>>,
}

struct Walker<'a, 'b> {
    pass: &'a Fold,
    cx: &'a PassContext<'b>,
    opset: i64,
    overridable: FxHashSet<Arc<str>>,
    stats: &'a mut Stats,
    body: &'a mut Body,
}

impl Walker<'_, '_> {
    fn block(&mut self, block: BlockId) {
        let mut cursor = self.body.first_op(block);
        while let Some(op) = cursor {
            cursor = self.body.next_op(op);
            if &*self.body.op(op).kind == CONSTANT {
                self.normalize_constant(op);
                continue;
            }
            if self.try_fold(op) {
                continue;
            }
            for r in self.body.op(op).regions().to_vec() {
                for b in self.body.region(r).blocks().to_vec() {
                    self.block(b);
                }
            }
        }
    }

    // ----- constants -----

    /// Turns a `Constant` node into an initializer-style constant: a `value` tensor, no node mark.
    fn normalize_constant(&mut self, op: OpId) {
        let d = self.body.op(op);
        if d.attr(attrs::REF_ATTRS).is_some() || d.attr("sparse_value").is_some() {
            return;
        }
        let mut changed = false;
        if d.attr("value").is_none() {
            let Some((name, t)) = d
                .attrs
                .iter()
                .find_map(|(k, v)| Some((k.clone(), attr_tensor(k, v)?)))
            else {
                return;
            };
            let d = self.body.op_mut(op);
            d.remove_attr(&name);
            d.set_attr("value", Attribute::Tensor(t));
            changed = true;
        }
        let d = self.body.op_mut(op);
        if d.remove_attr(attrs::CONSTANT_NODE).is_some() {
            // The tensor name of a Constant node's value means nothing for an initializer (which is named
            // after its value).
            d.remove_attr(attrs::TENSOR_NAMES);
            changed = true;
        }
        if changed {
            self.stats.converted += 1;
        }
    }

    fn operand(&self, v: ValueId) -> Operand<'_> {
        let Some(def) = self.body.defining_op(v) else {
            return Operand::Other;
        };
        let d = self.body.op(def);
        match &*d.kind {
            NO_VALUE => Operand::Absent,
            CONSTANT if d.attr(attrs::REF_ATTRS).is_none() && !self.is_overridable(v) => {
                match d.attr("value") {
                    Some(Attribute::Tensor(t)) => Operand::Const(t),
                    _ => Operand::Other,
                }
            }
            _ => Operand::Other,
        }
    }

    fn is_overridable(&self, v: ValueId) -> bool {
        !self.overridable.is_empty()
            && self
                .body
                .value(v)
                .name
                .as_ref()
                .is_some_and(|n| self.overridable.contains(n))
    }

    // ----- folding -----

    /// Whether the pass may replace `op` by constants at all.
    fn allowed(&self, op: OpId) -> bool {
        let d = self.body.op(op);
        let kind = &*d.kind;
        if d.results().is_empty()
            || !d.regions().is_empty()
            || kind == NO_VALUE
            || kind.starts_with("qc.")
            || d.attr(attrs::REF_ATTRS).is_some()
        {
            return false;
        }
        let (_, op_type) = split_op_kind(kind);
        if !self.pass.fold_qdq
            && matches!(
                op_type,
                "QuantizeLinear" | "DequantizeLinear" | "DynamicQuantizeLinear"
            )
        {
            return false;
        }
        self.cx
            .ops
            .get(kind)
            .is_some_and(|def| !def.has_side_effects && !def.nondeterministic && !def.terminator)
    }

    /// Folds `op` when it can; true when it was replaced.
    fn try_fold(&mut self, op: OpId) -> bool {
        if !self.allowed(op) {
            return false;
        }
        let mut inputs: Vec<Option<TensorData>> = vec![];
        let mut all_const = true;
        for &v in self.body.op(op).operands() {
            match self.operand(v) {
                Operand::Absent => inputs.push(None),
                Operand::Const(t) => inputs.push(Some(t.clone())),
                Operand::Other => {
                    all_const = false;
                    break;
                }
            }
        }
        if !all_const {
            return match self.builtin(op) {
                Some(results) => self.replace(op, results, 0),
                None => false,
            };
        }
        let in_bytes: u64 = inputs.iter().flatten().map(|t| t.byte_len() as u64).sum();
        let too_big = |b: u64| b > self.pass.size_limit && b > in_bytes;
        if self.declared_bytes(op).is_some_and(too_big)
            || self.requested_bytes(op, &inputs).is_some_and(too_big)
        {
            self.stats.skipped_size += 1;
            return false;
        }
        let mut results = None;
        if !self.pass.shape_only {
            if let Some(eval) = self.cx.eval {
                let refs: Vec<Option<&TensorData>> = inputs.iter().map(Option::as_ref).collect();
                results = eval.eval(self.body.op(op), &refs, self.opset).ok();
            }
        }
        match results.or_else(|| self.builtin(op)) {
            Some(results) => self.replace(op, results, in_bytes),
            None => {
                self.stats.skipped_unsupported += 1;
                false
            }
        }
    }

    /// Bytes of the results when every declared result type is static.
    fn declared_bytes(&self, op: OpId) -> Option<u64> {
        let mut total = 0u64;
        for &r in self.body.op(op).results() {
            let t = self.body.value_type(r).as_tensor()?;
            let n = t.num_elements()?;
            total = total.checked_add(t.elem.scalar()?.byte_size(n)?)?;
        }
        Some(total)
    }

    /// A lower bound on the result bytes of ops whose output shape is an operand (`ConstantOfShape`,
    /// `Expand`), so that a huge requested shape is refused before it is allocated even when the
    /// result type is not static.
    fn requested_bytes(&self, op: OpId, inputs: &[Option<TensorData>]) -> Option<u64> {
        let d = self.body.op(op);
        let (shape, elem) = match split_op_kind(&d.kind) {
            ("onnx", "ConstantOfShape") => (
                inputs.first()?.as_ref()?,
                match d.attr("value") {
                    Some(Attribute::Tensor(t)) => t.elem,
                    _ => ScalarType::F32,
                },
            ),
            ("onnx", "Expand") => (inputs.get(1)?.as_ref()?, inputs.first()?.as_ref()?.elem),
            _ => return None,
        };
        let mut n = 1u64;
        for i in 0..shape.num_elements() as usize {
            // Expand's 1s broadcast, so each requested dim is a lower bound on the result's.
            n = n.saturating_mul(u64::try_from(shape.int_at(i)?).ok()?);
        }
        Some(elem.byte_size(n).unwrap_or(u64::MAX))
    }

    /// Replaces `op` by constants holding `results`, unless they contradict its declared result types or
    /// exceed the size budget.
    fn replace(&mut self, op: OpId, results: Vec<TensorData>, in_bytes: u64) -> bool {
        let old = self.body.op(op).results().to_vec();
        if results.len() != old.len()
            || !old
                .iter()
                .zip(&results)
                .all(|(&r, t)| compatible(self.body.value_type(r), t))
        {
            self.stats.skipped_unsupported += 1;
            return false;
        }
        let out_bytes: u64 = results.iter().map(|t| t.byte_len() as u64).sum();
        if out_bytes > self.pass.size_limit && out_bytes > in_bytes {
            self.stats.skipped_size += 1;
            return false;
        }
        for (r, t) in old.into_iter().zip(results) {
            let ty = Type::tensor(t.elem, &t.shape);
            let c = self.body.create_op(
                CONSTANT,
                &[],
                vec![ty],
                vec![(Arc::from("value"), Attribute::Tensor(t))],
            );
            self.body.insert_before(op, c);
            let new = self.body.op(c).results()[0];
            self.body.value_mut(new).name = self.body.value_mut(r).name.take();
            self.body.replace_all_uses(r, new);
        }
        let operands = self.body.op(op).operands().to_vec();
        self.body.erase_op(op);
        for v in operands {
            self.erase_if_dead(v);
        }
        self.stats.folded += 1;
        self.stats.bytes += out_bytes;
        true
    }

    /// Erases the op defining `v` when the fold left it unused (and it may go).
    fn erase_if_dead(&mut self, v: ValueId) {
        let Some(def) = self.body.defining_op(v) else {
            return;
        };
        let d = self.body.op(def);
        if d.is_alive()
            && d.regions().is_empty()
            && self.body.results_unused(def)
            && self.cx.ops.removable_if_unused(&d.kind)
            && !self.is_overridable(v)
        {
            self.body.erase_op(def);
        }
    }

    // ----- the pass's own rules -----

    /// Results the pass computes itself, from constants and types.
    fn builtin(&self, op: OpId) -> Option<Vec<TensorData>> {
        let d = self.body.op(op);
        let operands = d.operands();
        let one = |t: TensorData| Some(vec![t]);
        match split_op_kind(&d.kind) {
            ("onnx", "Identity") => match self.operand(*operands.first()?) {
                Operand::Const(t) => one(t.clone()),
                _ => None,
            },
            ("onnx", "Shape") => {
                let v = self.shape_of(op)?;
                let vals: Option<Vec<i64>> = v.vals.into_iter().collect();
                one(TensorData::from_i64(v.shape, &vals?).ok()?)
            }
            ("onnx", "Size") => {
                let x = *operands.first()?;
                let dims = self.body.value_type(x).as_tensor()?.static_dims()?;
                let n = dims
                    .iter()
                    .try_fold(1i64, |acc, &d| acc.checked_mul(i64::try_from(d).ok()?))?;
                one(TensorData::from_i64(vec![], &[n]).ok()?)
            }
            ("onnx", "Gather") => {
                let axis = d.attr("axis").and_then(Attribute::as_int).unwrap_or(0);
                let data = self.int_vec(*operands.first()?)?;
                let Operand::Const(idx) = self.operand(*operands.get(1)?) else {
                    return None;
                };
                let n = data.vals.len() as i64;
                if data.shape.len() != 1 || !(axis == 0 || axis == -1) {
                    return None;
                }
                let mut out = Vec::with_capacity(idx.num_elements() as usize);
                for i in 0..idx.num_elements() as usize {
                    let k = idx.int_at(i)?;
                    let k = if k < 0 { k + n } else { k };
                    out.push((*data.vals.get(usize::try_from(k).ok()?)?)?);
                }
                one(int_tensor(data.elem, idx.shape.clone(), &out)?)
            }
            ("onnx", "Slice") => {
                let data = self.int_vec(*operands.first()?)?;
                if data.shape.len() != 1 {
                    return None;
                }
                let scalar = |i: usize| -> Option<Option<i64>> {
                    match self.operand(*operands.get(i)?) {
                        Operand::Const(t) if t.num_elements() == 1 => Some(Some(t.int_at(0)?)),
                        Operand::Absent => Some(None),
                        _ => None,
                    }
                };
                let (start, end) = (scalar(1)??, scalar(2)??);
                let axis = if operands.len() > 3 { scalar(3)? } else { None };
                let step = if operands.len() > 4 { scalar(4)? } else { None };
                if !matches!(axis, None | Some(0) | Some(-1)) {
                    return None;
                }
                let picked = slice_1d(&data.vals, start, end, step.unwrap_or(1))?;
                let vals: Option<Vec<i64>> = picked.into_iter().collect();
                let vals = vals?;
                one(int_tensor(data.elem, vec![vals.len() as u64], &vals)?)
            }
            ("onnx", "Concat") => {
                let axis = d.attr("axis").and_then(Attribute::as_int)?;
                if !(axis == 0 || axis == -1) {
                    return None;
                }
                let mut elem = None;
                let mut vals = vec![];
                for &v in operands {
                    let part = self.int_vec(v)?;
                    if part.shape.len() != 1 || elem.is_some_and(|e| e != part.elem) {
                        return None;
                    }
                    elem = Some(part.elem);
                    for x in part.vals {
                        vals.push(x?);
                    }
                }
                one(int_tensor(elem?, vec![vals.len() as u64], &vals)?)
            }
            ("onnx", "Cast") => {
                let to = ScalarType::from_onnx_code(
                    i32::try_from(d.attr("to").and_then(Attribute::as_int)?).ok()?,
                )?;
                let x = self.int_vec(*operands.first()?)?;
                let vals: Option<Vec<i64>> = x.vals.into_iter().collect();
                one(int_tensor(to, x.shape, &vals?)?)
            }
            _ => None,
        }
    }

    /// The dims a `Shape` op selects (known or not).
    fn shape_of(&self, op: OpId) -> Option<IntVec> {
        let d = self.body.op(op);
        let x = *d.operands().first()?;
        // A default the user may override has no fixed shape.
        if self.is_overridable(x) {
            return None;
        }
        let dims = self.body.value_type(x).as_tensor()?.shape.as_ref()?;
        let rank = dims.len() as i64;
        let clamp = |i: i64| (if i < 0 { i + rank } else { i }).clamp(0, rank) as usize;
        let start = clamp(d.attr("start").and_then(Attribute::as_int).unwrap_or(0));
        let end = clamp(d.attr("end").and_then(Attribute::as_int).unwrap_or(rank));
        let vals: Vec<Option<i64>> = dims[start..end.max(start)]
            .iter()
            .map(|d| d.known().and_then(|n| i64::try_from(n).ok()))
            .collect();
        Some(IntVec {
            elem: ScalarType::I64,
            shape: vec![vals.len() as u64],
            vals,
        })
    }

    /// `v` as an integer vector with possibly unknown elements: an integer constant, or a `Shape`.
    fn int_vec(&self, v: ValueId) -> Option<IntVec> {
        match self.operand(v) {
            Operand::Const(t) if t.shape.len() <= 1 => {
                let vals = (0..t.num_elements() as usize)
                    .map(|i| t.int_at(i).map(Some))
                    .collect::<Option<Vec<_>>>()?;
                Some(IntVec {
                    elem: t.elem,
                    shape: t.shape.clone(),
                    vals,
                })
            }
            Operand::Const(_) | Operand::Absent => None,
            Operand::Other => {
                let def = self.body.defining_op(v)?;
                let d = self.body.op(def);
                (&*d.kind == "onnx.Shape" && d.attr(attrs::REF_ATTRS).is_none())
                    .then(|| self.shape_of(def))?
            }
        }
    }
}

/// The tensor a `Constant`'s `value_*` attribute stands for.
fn attr_tensor(name: &str, v: &Attribute) -> Option<TensorData> {
    match (name, v) {
        ("value_float", Attribute::Float(f)) => TensorData::from_f32(vec![], &[*f]).ok(),
        ("value_floats", Attribute::Floats(f)) => {
            TensorData::from_f32(vec![f.len() as u64], f).ok()
        }
        ("value_int", Attribute::Int(i)) => TensorData::from_i64(vec![], &[*i]).ok(),
        ("value_ints", Attribute::Ints(i)) => TensorData::from_i64(vec![i.len() as u64], i).ok(),
        ("value_string", Attribute::String(s)) => {
            TensorData::from_strings(vec![], vec![s.as_bytes().to_vec()]).ok()
        }
        ("value_strings", Attribute::Strings(s)) => TensorData::from_strings(
            vec![s.len() as u64],
            s.iter().map(|s| s.as_bytes().to_vec()).collect(),
        )
        .ok(),
        _ => None,
    }
}

/// Whether a computed tensor can stand for a value of the declared type (same element type, no known
/// dim contradicted).
fn compatible(declared: &Type, t: &TensorData) -> bool {
    match declared {
        Type::Unknown => true,
        Type::Tensor(tt) => {
            tt.elem == ElemType::Scalar(t.elem)
                && tt.shape.as_ref().is_none_or(|dims| {
                    dims.len() == t.shape.len()
                        && dims
                            .iter()
                            .zip(&t.shape)
                            .all(|(d, &n)| d.known().is_none_or(|k| k == n))
                })
        }
        _ => false,
    }
}

/// ONNX `Slice` of a 1-D vector (starts/ends clamped as the operator specifies).
fn slice_1d<T: Copy>(v: &[T], start: i64, end: i64, step: i64) -> Option<Vec<T>> {
    if step == 0 {
        return None;
    }
    let n = v.len() as i128;
    let (start, end, step) = (start as i128, end as i128, step as i128);
    let norm = |i: i128| if i < 0 { i + n } else { i };
    let mut out = vec![];
    if step > 0 {
        let (mut i, e) = (norm(start).clamp(0, n), norm(end).clamp(0, n));
        while i < e {
            out.push(v[i as usize]);
            i += step;
        }
    } else {
        let (mut i, e) = (norm(start).clamp(0, n - 1), norm(end).clamp(-1, n - 1));
        while i > e {
            out.push(v[i as usize]);
            i += step;
        }
    }
    Some(out)
}

/// An integer (or float, or bool) tensor of `elem` from integer values, converted as ONNX `Cast` does
/// (integers wrap, floats round to nearest); `None` for element types the pass does not write.
fn int_tensor(elem: ScalarType, shape: Vec<u64>, vals: &[i64]) -> Option<TensorData> {
    use ScalarType::*;
    let mut bytes = Vec::with_capacity(vals.len() * 8);
    for &v in vals {
        match elem {
            I8 => bytes.extend((v as i8).to_le_bytes()),
            U8 => bytes.extend((v as u8).to_le_bytes()),
            I16 => bytes.extend((v as i16).to_le_bytes()),
            U16 => bytes.extend((v as u16).to_le_bytes()),
            I32 => bytes.extend((v as i32).to_le_bytes()),
            U32 => bytes.extend((v as u32).to_le_bytes()),
            I64 => bytes.extend(v.to_le_bytes()),
            U64 => bytes.extend((v as u64).to_le_bytes()),
            Bool => bytes.push(u8::from(v != 0)),
            F32 => bytes.extend((v as f32).to_le_bytes()),
            F64 => bytes.extend((v as f64).to_le_bytes()),
            _ => return None,
        }
    }
    TensorData::from_bytes(elem, shape, Buffer::from_vec(bytes)).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ConstEvaluator;
    use onnxqc_ir::print::{print_module, PrintOptions};
    use std::cell::RefCell;

    /// Overridable initializers, ops referring to function attributes, and results of the wrong type.
    const INPUT: &str = r#"func.func @main(%x: tensor<2xf32>) -> (tensor<2xf32>, tensor<1xi64>, tensor<2xi32>, tensor<2xf32>, tensor<1xi64>) attributes {onnx.input_initializers = ["w"]} {
  %w = "onnx.Constant"() {value = dense<[1.0, 2.0]> : tensor<2xf32>} : () -> tensor<2xf32>
  %k = "onnx.Constant"() {value = dense<[3, 4]> : tensor<2xi64>} : () -> tensor<2xi64>
  %n = "onnx.Neg"(%w) : (tensor<2xf32>) -> tensor<2xf32>
  %s = "onnx.Shape"(%w) : (tensor<2xf32>) -> tensor<1xi64>
  %c = "onnx.Cast"(%k) {onnx.ref_attrs = {to = ["t", "INT"]}} : (tensor<2xi64>) -> tensor<2xi32>
  %i = "onnx.Identity"(%k) : (tensor<2xi64>) -> tensor<2xi64>
  %f = "onnx.Neg"(%i) : (tensor<2xi64>) -> tensor<2xf32>
  %s2 = "onnx.Shape"(%x) : (tensor<2xf32>) -> tensor<1xi64>
  func.return %n, %s, %c, %f, %s2 : tensor<2xf32>, tensor<1xi64>, tensor<2xi32>, tensor<2xf32>, tensor<1xi64>
}
"#;

    type Answer = fn(&[Option<&TensorData>]) -> Result<Vec<TensorData>, String>;

    /// An evaluator that records what it was asked and answers with `answer`.
    struct Mock {
        asked: RefCell<Vec<String>>,
        answer: Answer,
    }

    impl ConstEvaluator for Mock {
        fn eval(
            &self,
            op: &onnxqc_ir::OpData,
            inputs: &[Option<&TensorData>],
            _opset: i64,
        ) -> Result<Vec<TensorData>, String> {
            self.asked.borrow_mut().push(op.kind.to_string());
            (self.answer)(inputs)
        }
    }

    fn run(
        text: &str,
        eval: Option<&dyn ConstEvaluator>,
        pipeline_opts: &[(&'static str, crate::OptValue)],
    ) -> (String, Vec<(&'static str, u64)>) {
        let mut module = onnxqc_ir::parse::parse_module(text, 0).expect("parses");
        let ops = crate::default_op_registry();
        let mut opts = PassOptions::defaults(&OPTIONS);
        for (k, v) in pipeline_opts {
            opts.set(k, v.clone());
        }
        let mut pass = (info().create)(&opts);
        let out = pass
            .run(
                &mut module,
                &PassContext {
                    ops: &ops,
                    eval,
                    calib: None,
                },
            )
            .expect("runs");
        (print_module(&module, &PrintOptions::default()), out.stats)
    }

    fn stat(stats: &[(&'static str, u64)], name: &str) -> u64 {
        stats.iter().find(|(k, _)| *k == name).map_or(0, |s| s.1)
    }

    #[test]
    fn what_is_not_a_constant_is_not_folded() {
        // The evaluator answers with the first input (so Neg(i64) -> i64 contradicts its f32 type).
        let mock = Mock {
            asked: RefCell::new(vec![]),
            answer: |inputs| Ok(vec![inputs[0].expect("input").clone()]),
        };
        let (out, stats) = run(INPUT, Some(&mock), &[]);
        // `w` is an overridable initializer: neither its Neg nor its Shape fold, and nobody asks.
        assert!(out.contains(r#"%n = "onnx.Neg"(%w)"#), "{out}");
        assert!(out.contains(r#"%s = "onnx.Shape"(%w)"#), "{out}");
        // The Cast's `to` refers to a function attribute.
        assert!(out.contains(r#"%c = "onnx.Cast"(%k)"#), "{out}");
        // Identity folds; the Neg's computed type contradicts the declared one, so it stays.
        assert!(out.contains(r#"%i = "onnx.Constant"()"#), "{out}");
        assert!(out.contains(r#"%f = "onnx.Neg"(%i)"#), "{out}");
        assert!(
            out.contains(r#"%s2 = "onnx.Constant"() {value = dense<[2]>"#),
            "{out}"
        );
        assert_eq!(*mock.asked.borrow(), ["onnx.Identity", "onnx.Neg"]);
        assert_eq!(stat(&stats, "ops-folded"), 2);
        assert_eq!(stat(&stats, "skipped-unsupported"), 1);
    }

    #[test]
    fn refusals_and_shape_only_fall_back_to_the_own_rules() {
        let mock = Mock {
            asked: RefCell::new(vec![]),
            answer: |_| Err("no".into()),
        };
        let (out, stats) = run(INPUT, Some(&mock), &[]);
        assert!(out.contains(r#"%i = "onnx.Constant"()"#), "{out}");
        assert!(out.contains(r#"%s2 = "onnx.Constant"()"#), "{out}");
        assert_eq!(stat(&stats, "ops-folded"), 2);
        assert_eq!(stat(&stats, "skipped-unsupported"), 1);
        let (shape_only, _) = run(
            INPUT,
            Some(&mock),
            &[("shape-only", crate::OptValue::Bool(true))],
        );
        assert_eq!(shape_only, out);
        assert_eq!(mock.asked.borrow().len(), 2, "shape-only never asks");
        let (no_eval, _) = run(INPUT, None, &[]);
        assert_eq!(no_eval, out);
    }

    #[test]
    fn size_limit_is_checked_before_evaluating_static_results() {
        let text = "func.func @f() -> tensor<64xf32> {\n  %one = \"onnx.Constant\"() {value = dense<1.0> : tensor<f32>} : () -> tensor<f32>\n  %s = \"onnx.Constant\"() {value = dense<[64]> : tensor<1xi64>} : () -> tensor<1xi64>\n  %e = \"onnx.Expand\"(%one, %s) : (tensor<f32>, tensor<1xi64>) -> tensor<64xf32>\n  func.return %e : tensor<64xf32>\n}\n";
        let mock = Mock {
            asked: RefCell::new(vec![]),
            answer: |_| Err("not asked".into()),
        };
        let (out, stats) = run(
            text,
            Some(&mock),
            &[("size-limit", crate::OptValue::Int(100))],
        );
        assert!(out.contains("onnx.Expand"), "{out}");
        assert!(mock.asked.borrow().is_empty());
        assert_eq!(stat(&stats, "skipped-size"), 1);
    }

    #[test]
    fn slices_follow_onnx_clamping() {
        let v = [0, 1, 2, 3, 4];
        assert_eq!(slice_1d(&v, 1, 3, 1), Some(vec![1, 2]));
        assert_eq!(slice_1d(&v, -2, i64::MAX, 1), Some(vec![3, 4]));
        assert_eq!(
            slice_1d(&v, i64::MAX, i64::MIN, -1),
            Some(vec![4, 3, 2, 1, 0])
        );
        assert_eq!(slice_1d(&v, 0, 5, 2), Some(vec![0, 2, 4]));
        assert_eq!(slice_1d(&v, 3, 1, 1), Some(vec![]));
        assert_eq!(slice_1d(&v, 0, 1, 0), None);
    }

    #[test]
    fn int_tensors_wrap_like_cast() {
        let t = int_tensor(ScalarType::U8, vec![2], &[257, -1]).unwrap();
        assert_eq!(t.bytes(), Some(&[1u8, 255][..]));
        let f = int_tensor(ScalarType::F32, vec![], &[3]).unwrap();
        assert_eq!(f.float_at(0), Some(3.0));
        assert!(int_tensor(ScalarType::F16, vec![1], &[1]).is_none());
    }
}
