//! `shape-infer`: symbolic shape inference that never gives up. For every function (main graph and local
//! functions) and every nested region it infers the element type and shape of each op result and stores
//! it in the IR; dims are known numbers or symbolic expressions ([`sym::Expr`]: `batch`, `seq+1`,
//! `floor(h/2)`).
//!
//! Besides types, small integer tensors carry their *values* as symbolic expressions (constants,
//! `Shape`, `Size`, and what is computed from them), so that `Shape → Gather → Unsqueeze → Concat →
//! Reshape` chains give exact symbolic shapes. The rules are in [`rules`]; control flow (`If`, `Loop`,
//! `Scan`) and calls of model-local functions are handled here.
//!
//! Policy: declared types (graph inputs, `value_info`, outputs) are facts. Graph inputs are never
//! changed; a declared result type is merged with the inferred one (known beats symbolic beats fresh);
//! two different known dims are a conflict, counted (`conflicts`) with the inferred dim kept, or an error
//! with `strict=true`. A dim that cannot be known (data-dependent) is a fresh symbol (`unk__0`, ...),
//! a rank that cannot be known leaves the tensor unranked, an op without a rule keeps its declared type.
//! An op that is provably wrong (Conv channels, MatMul inner dims, Reshape element counts that are all
//! known and disagree) is a [`PassError`] naming the op: such a model cannot run, and saying so early is
//! kinder than a runtime failure later; `ignore-errors=true` counts it (`errors-ignored`) and goes on
//! with fresh dims instead. Inside `If` branches such ops are always only counted: the branch may be
//! dead code for the shapes at hand (ONNX's expanded functions test the rank in an `If`).

pub mod rules;
pub mod sym;

use std::sync::Arc;

use onnxqc_ir::verify::describe_op;
use onnxqc_ir::{
    Attribute, BlockId, Body, Diagnostic, Dim, ElemType, Function, Module, OpId, ScalarType,
    TensorType, Type, ValueId,
};
use onnxqc_onnx::attrs::FUNCTION_DOMAIN;
use rustc_hash::{FxHashMap, FxHashSet};

use crate::options::{OptKind, OptionSpec};
use crate::registry::PassInfo;
use crate::{Pass, PassContext, PassError, PassOptions, PassOutcome};
use sym::Expr;

static OPTIONS: [OptionSpec; 4] = [
    OptionSpec {
        name: "strict",
        kind: OptKind::Bool,
        default: "false",
        help:
            "a known dim or element type that contradicts the declared one is an error (default: \
               counted as `conflicts`, the inferred one wins)",
    },
    OptionSpec {
        name: "ignore-errors",
        kind: OptKind::Bool,
        default: "false",
        help:
            "an op proven malformed (e.g. MatMul inner dims differ) gets fresh dims and is counted \
               as `errors-ignored` instead of failing the pass",
    },
    OptionSpec {
        name: "max-value-elements",
        kind: OptKind::Int {
            min: 0,
            max: 1 << 20,
        },
        default: "64",
        help: "largest integer tensor whose element values are tracked symbolically",
    },
    OptionSpec {
        name: "fresh-prefix",
        kind: OptKind::String,
        default: "unk__",
        help: "prefix of the names given to dims that cannot be known",
    },
];

pub fn info() -> PassInfo {
    PassInfo {
        name: "shape-infer",
        summary: "Infer element types and (symbolic) shapes of every value",
        options: &OPTIONS,
        requires: &[],
        provides: &[],
        create: |o: &PassOptions| {
            Box::new(ShapeInfer {
                strict: o.bool("strict"),
                ignore_errors: o.bool("ignore-errors"),
                max_elems: o.int("max-value-elements").max(0) as usize,
                prefix: o.str("fresh-prefix").to_string(),
            })
        },
    }
}

struct ShapeInfer {
    strict: bool,
    ignore_errors: bool,
    max_elems: usize,
    prefix: String,
}

/// What is known about one value: its element type and shape (a tensor), or a non-tensor type.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Ti {
    pub elem: Option<ElemType>,
    /// `None`: rank unknown.
    pub shape: Option<Vec<Expr>>,
    /// A sequence, optional, map or `none` type, carried as declared.
    pub other: Option<Type>,
}

impl Ti {
    pub fn new(elem: Option<ElemType>, shape: Option<Vec<Expr>>) -> Ti {
        Ti {
            elem,
            shape,
            other: None,
        }
    }

    pub fn tensor(elem: impl Into<ElemType>, shape: Vec<Expr>) -> Ti {
        Ti::new(Some(elem.into()), Some(shape))
    }

    pub fn is_none(&self) -> bool {
        matches!(self.other, Some(Type::None))
    }

    pub fn rank(&self) -> Option<usize> {
        self.shape.as_ref().map(Vec::len)
    }
}

/// A value's facts: its type and, for a small integer tensor, its element values.
type Fact = (Ti, Option<Vec<Expr>>);

/// Hands out names for dims that cannot be known, avoiding every symbol already in the module.
pub struct Fresh {
    prefix: String,
    next: u64,
    taken: FxHashSet<Arc<str>>,
    made: FxHashSet<Arc<str>>,
}

impl Fresh {
    pub fn new(prefix: &str, taken: FxHashSet<Arc<str>>) -> Fresh {
        Fresh {
            prefix: prefix.to_string(),
            next: 0,
            taken,
            made: FxHashSet::default(),
        }
    }

    pub fn dim(&mut self) -> Expr {
        loop {
            let name: Arc<str> = Arc::from(format!("{}{}", self.prefix, self.next));
            self.next += 1;
            if !self.taken.contains(&name) {
                self.made.insert(name.clone());
                return Expr::sym(&name);
            }
        }
    }

    pub fn dims(&mut self, n: usize) -> Vec<Expr> {
        (0..n).map(|_| self.dim()).collect()
    }

    /// Whether `e` mentions a symbol this pass made up.
    fn is_fresh(&self, e: &Expr) -> bool {
        if self.made.is_empty() {
            return false;
        }
        let mut syms = vec![];
        e.symbols(&mut syms);
        syms.iter().any(|s| self.made.contains(s))
    }
}

#[derive(Default)]
struct Stats {
    conflicts: u64,
    errors_ignored: u64,
}

/// Per-body side tables, indexed by value.
struct State {
    ti: Vec<Option<Ti>>,
    vals: Vec<Option<Vec<Expr>>>,
}

impl State {
    fn new(body: &Body) -> State {
        State {
            ti: vec![None; body.value_capacity()],
            vals: vec![None; body.value_capacity()],
        }
    }
}

struct Infer<'a> {
    opset: i64,
    strict: bool,
    ignore_errors: bool,
    max_elems: usize,
    fresh: Fresh,
    stats: Stats,
    /// `Dim::Symbolic` text → expression.
    parsed: FxHashMap<Arc<str>, Expr>,
    /// The module's local functions, for calls.
    funcs: &'a [Function],
    depth: usize,
    /// Values for region arguments, set by [`Infer::loop_body`] for the next region typed.
    pending_vals: Vec<(ValueId, Option<Vec<Expr>>)>,
    /// Inside an `If` branch: a provably wrong op there may be dead code, so it is not an error.
    in_branch: usize,
}

const MAX_CALL_DEPTH: usize = 16;

impl Pass for ShapeInfer {
    fn name(&self) -> &'static str {
        "shape-infer"
    }

    fn run(&mut self, module: &mut Module, _cx: &PassContext) -> Result<PassOutcome, PassError> {
        let opset = onnxqc_onnx::default_opset(module);
        let mut taken = FxHashSet::default();
        for f in &module.funcs {
            for v in all_values(&f.body) {
                collect_symbols(f.body.value_type(v), &mut taken);
            }
        }
        let funcs: Vec<Function> = module.funcs.iter().skip(1).cloned().collect();
        let mut inf = Infer {
            opset,
            strict: self.strict,
            ignore_errors: self.ignore_errors,
            max_elems: self.max_elems,
            fresh: Fresh::new(&self.prefix, taken),
            stats: Stats::default(),
            parsed: FxHashMap::default(),
            funcs: &funcs,
            depth: 0,
            pending_vals: vec![],
            in_branch: 0,
        };
        let mut changed = false;
        for f in &mut module.funcs {
            let values = all_values(&f.body);
            let before: Vec<Type> = values
                .iter()
                .map(|&v| f.body.value_type(v).clone())
                .collect();
            inf.function(&mut f.body)?;
            changed |= values
                .iter()
                .zip(&before)
                .any(|(&v, t)| t != f.body.value_type(v));
        }
        let (mut inferred, mut symbolic, mut untyped) = (0u64, 0u64, 0u64);
        for f in &module.funcs {
            for op in f.body.all_ops() {
                for &r in f.body.op(op).results() {
                    match f.body.value_type(r) {
                        Type::Unknown => untyped += 1,
                        Type::Tensor(t) => {
                            inferred += 1;
                            symbolic += t
                                .shape
                                .iter()
                                .flatten()
                                .filter(|d| matches!(d, Dim::Symbolic(_)))
                                .count() as u64;
                        }
                        _ => inferred += 1,
                    }
                }
            }
        }
        Ok(PassOutcome {
            changed,
            stats: vec![
                ("values-inferred", inferred),
                ("dims-symbolic", symbolic),
                ("dims-fresh", inf.fresh.made.len() as u64),
                ("values-untyped", untyped),
                ("conflicts", inf.stats.conflicts),
                ("errors-ignored", inf.stats.errors_ignored),
            ],
            notes: vec![],
        })
    }
}

/// Every live value of the body: inputs, op results and region arguments.
fn all_values(body: &Body) -> Vec<ValueId> {
    let mut out = body.inputs().to_vec();
    for op in body.all_ops() {
        let d = body.op(op);
        out.extend_from_slice(d.results());
        for &r in d.regions() {
            for &b in body.region(r).blocks() {
                out.extend_from_slice(body.block(b).args());
            }
        }
    }
    out
}

fn collect_symbols(ty: &Type, out: &mut FxHashSet<Arc<str>>) {
    match ty {
        Type::Tensor(t) | Type::SparseTensor(t) => {
            for d in t.shape.iter().flatten() {
                if let Dim::Symbolic(s) = d {
                    let mut syms = vec![];
                    Expr::from_dim_text(s).symbols(&mut syms);
                    out.extend(syms);
                    out.insert(s.clone());
                }
            }
        }
        Type::Sequence(t) | Type::Optional(t) | Type::Map(_, t) => collect_symbols(t, out),
        Type::None | Type::Unknown => {}
    }
}

impl Infer<'_> {
    fn expr_of(&mut self, d: &Dim) -> Option<Expr> {
        match d {
            Dim::Known(n) => Some(Expr::constant(*n as i64)),
            Dim::Symbolic(s) => Some(
                self.parsed
                    .entry(s.clone())
                    .or_insert_with(|| Expr::from_dim_text(s))
                    .clone(),
            ),
            Dim::Unknown => None,
        }
    }

    /// The declared type as inference facts; unknown dims become fresh symbols.
    fn ti_of(&mut self, ty: &Type) -> Ti {
        match ty {
            Type::Tensor(t) => {
                let shape = t.shape.as_ref().map(|s| {
                    s.iter()
                        .map(|d| self.expr_of(d).unwrap_or_else(|| self.fresh.dim()))
                        .collect()
                });
                Ti::new(Some(t.elem.clone()), shape)
            }
            Type::Unknown => Ti::default(),
            other => Ti {
                elem: None,
                shape: None,
                other: Some(other.clone()),
            },
        }
    }

    fn dim_of(&mut self, e: &Expr) -> Dim {
        match e.as_const() {
            Some(c) if c >= 0 => Dim::Known(c as u64),
            Some(_) => {
                let f = self.fresh.dim();
                Dim::Symbolic(Arc::from(f.to_string()))
            }
            None => Dim::Symbolic(Arc::from(e.to_string())),
        }
    }

    fn type_of(&mut self, ti: &Ti) -> Type {
        if let Some(o) = &ti.other {
            return o.clone();
        }
        let Some(elem) = &ti.elem else {
            return Type::Unknown;
        };
        match &ti.shape {
            None => Type::Tensor(TensorType::unranked(elem.clone())),
            Some(s) => {
                let dims = s.iter().map(|e| self.dim_of(e)).collect();
                Type::Tensor(TensorType::new(elem.clone(), dims))
            }
        }
    }

    fn get(&mut self, body: &Body, st: &mut State, v: ValueId) -> Ti {
        if let Some(t) = &st.ti[v.index()] {
            return t.clone();
        }
        let t = self.ti_of(body.value_type(v));
        st.ti[v.index()] = Some(t.clone());
        t
    }

    fn function(&mut self, body: &mut Body) -> Result<(), PassError> {
        let mut st = State::new(body);
        for &a in body.inputs() {
            self.get(body, &mut st, a);
        }
        let entry = body.entry_block();
        self.block(body, &mut st, entry)
    }

    fn block(&mut self, body: &mut Body, st: &mut State, block: BlockId) -> Result<(), PassError> {
        let ops: Vec<OpId> = body.block_ops(block).collect();
        for op in ops {
            self.op(body, st, op)?;
        }
        Ok(())
    }

    fn op(&mut self, body: &mut Body, st: &mut State, op: OpId) -> Result<(), PassError> {
        let kind = body.op(op).kind.clone();
        if matches!(&*kind, onnxqc_ir::FUNC_RETURN | onnxqc_onnx::YIELD) {
            return Ok(());
        }
        let operands = body.op(op).operands().to_vec();
        for &v in &operands {
            self.get(body, st, v);
        }
        let outs: Result<Vec<rules::Out>, String> = match &*kind {
            "onnx.If" => self.infer_if(body, st, op)?,
            "onnx.Loop" => self.infer_loop(body, st, op)?,
            "onnx.Scan" => self.infer_scan(body, st, op)?,
            _ => match self.callee(&kind) {
                Some(f) => Ok(self.infer_call(body, st, op, f)),
                None => {
                    let ins: Vec<&Ti> = operands
                        .iter()
                        .map(|v| st.ti[v.index()].as_ref().expect("operand typed above"))
                        .collect();
                    let vals: Vec<Option<&[Expr]>> = operands
                        .iter()
                        .map(|v| st.vals[v.index()].as_deref())
                        .collect();
                    let cx = rules::OpCtx {
                        body,
                        op,
                        data: body.op(op),
                        ins,
                        vals,
                        opset: self.opset,
                        max_elems: self.max_elems,
                    };
                    rules::infer(&cx, &mut self.fresh)
                }
            },
        };
        let outs = match outs {
            Ok(o) => o,
            Err(_) if self.ignore_errors || self.in_branch > 0 => {
                self.stats.errors_ignored += 1;
                vec![]
            }
            Err(msg) => {
                return Err(PassError {
                    pass: "shape-infer",
                    diagnostics: vec![Diagnostic::error(format!(
                        "{}: {msg}",
                        describe_op(body, op)
                    ))
                    .with_span(body.op(op).span)],
                })
            }
        };
        self.set_results(body, st, op, outs)
    }

    /// Merges the inferred results with the declared types and stores them.
    fn set_results(
        &mut self,
        body: &mut Body,
        st: &mut State,
        op: OpId,
        outs: Vec<rules::Out>,
    ) -> Result<(), PassError> {
        let results = body.op(op).results().to_vec();
        let mut outs = outs.into_iter();
        for r in results {
            let out = outs.next().unwrap_or_default();
            let declared = body.value_type(r).clone();
            let ti = self
                .merge_declared(&declared, out.ti)
                .map_err(|msg| PassError {
                    pass: "shape-infer",
                    diagnostics: vec![Diagnostic::error(format!(
                        "{}: {msg}",
                        describe_op(body, op)
                    ))
                    .with_span(body.op(op).span)],
                })?;
            let ty = self.type_of(&ti);
            body.value_mut(r).ty = ty;
            let val = out.val.filter(|v| v.len() <= self.max_elems);
            st.vals[r.index()] = val;
            st.ti[r.index()] = Some(ti);
        }
        Ok(())
    }

    fn conflict(&mut self, what: String) -> Result<(), String> {
        if self.strict {
            return Err(what);
        }
        self.stats.conflicts += 1;
        Ok(())
    }

    fn merge_declared(&mut self, declared: &Type, inferred: Ti) -> Result<Ti, String> {
        let t = match declared {
            Type::Unknown => return Ok(inferred),
            Type::Tensor(t) if inferred.other.is_none() => t,
            _ if inferred.other.is_none() && inferred.elem.is_none() => {
                return Ok(self.ti_of(declared))
            }
            _ => return Ok(inferred),
        };
        let elem = match inferred.elem {
            Some(e) => {
                if e != t.elem {
                    self.conflict(format!(
                        "inferred element type {} but the declared type says {}",
                        elem_name(&e),
                        elem_name(&t.elem)
                    ))?;
                }
                e
            }
            None => t.elem.clone(),
        };
        let shape = match (inferred.shape, &t.shape) {
            (None, _) => self.ti_of(declared).shape,
            (Some(s), None) => Some(s),
            (Some(s), Some(d)) if s.len() != d.len() => {
                self.conflict(format!(
                    "inferred rank {} but the declared type has rank {}",
                    s.len(),
                    d.len()
                ))?;
                Some(s)
            }
            (Some(s), Some(d)) => {
                let mut out = Vec::with_capacity(s.len());
                for (i, (e, d)) in s.into_iter().zip(d).enumerate() {
                    let de = self.expr_of(d);
                    out.push(match (e.as_const(), de) {
                        (_, None) => e,
                        (Some(a), Some(de)) => {
                            if let Some(b) = de.as_const() {
                                if a != b {
                                    self.conflict(format!(
                                        "inferred dim {i} = {a} but the declared type says {b}"
                                    ))?;
                                }
                            }
                            e
                        }
                        (None, Some(de)) if de.as_const().is_some() => de,
                        (None, Some(de)) => {
                            if self.fresh.is_fresh(&e) {
                                de
                            } else {
                                e
                            }
                        }
                    });
                }
                Some(out)
            }
        };
        Ok(Ti::new(Some(elem), shape))
    }

    // ----- control flow -----

    /// Types the region's block arguments (merging with their declared types) and infers its ops; returns
    /// the yielded values' facts.
    fn region(
        &mut self,
        body: &mut Body,
        st: &mut State,
        op: OpId,
        index: usize,
        args: &[Ti],
    ) -> Result<Option<Vec<Fact>>, PassError> {
        let Some(&r) = body.op(op).regions().get(index) else {
            return Ok(None);
        };
        let Some(&block) = body.region(r).blocks().first() else {
            return Ok(None);
        };
        let block_args = body.block(block).args().to_vec();
        for (i, &a) in block_args.iter().enumerate() {
            let inferred = args.get(i).cloned().unwrap_or_default();
            let declared = body.value_type(a).clone();
            // Sub-graph inputs often declare rank-0 or empty shapes loosely; the operand's facts win.
            let ti = match declared {
                Type::Unknown => inferred,
                _ if inferred.elem.is_none() && inferred.other.is_none() => self.ti_of(&declared),
                _ => self
                    .merge_declared(&declared, inferred.clone())
                    .unwrap_or(inferred),
            };
            body.value_mut(a).ty = self.type_of(&ti);
            st.ti[a.index()] = Some(ti);
            st.vals[a.index()] = self
                .pending_vals
                .iter()
                .find(|(v, _)| *v == a)
                .and_then(|(_, val)| val.clone());
        }
        self.block(body, st, block)?;
        let Some(term) = body.last_op(block) else {
            return Ok(Some(vec![]));
        };
        if &*body.op(term).kind != onnxqc_onnx::YIELD {
            return Ok(Some(vec![]));
        }
        let ys = body.op(term).operands().to_vec();
        let mut out = vec![];
        for y in ys {
            let t = self.get(body, st, y);
            out.push((t, st.vals[y.index()].clone()));
        }
        Ok(Some(out))
    }

    fn infer_if(
        &mut self,
        body: &mut Body,
        st: &mut State,
        op: OpId,
    ) -> Result<Result<Vec<rules::Out>, String>, PassError> {
        self.in_branch += 1;
        let a = self.region(body, st, op, 0, &[]);
        let b = self.region(body, st, op, 1, &[]);
        self.in_branch -= 1;
        let (a, b) = (a?.unwrap_or_default(), b?.unwrap_or_default());
        let n = body.op(op).results().len();
        // A condition known statically selects its branch.
        let cond = body
            .op(op)
            .operands()
            .first()
            .and_then(|v| st.vals[v.index()].as_deref())
            .and_then(|v| match v {
                [e] => e.as_const(),
                _ => None,
            });
        if let Some(k) = cond {
            let taken = if k != 0 { a } else { b };
            let mut outs: Vec<rules::Out> = taken
                .into_iter()
                .map(|(ti, val)| rules::Out { ti, val })
                .collect();
            outs.resize(n, rules::Out::default());
            return Ok(Ok(outs));
        }
        let mut outs = vec![];
        for i in 0..n {
            let ti = match (a.get(i), b.get(i)) {
                (Some(x), Some(y)) => self.join(&x.0, &y.0),
                (Some(x), None) | (None, Some(x)) => x.0.clone(),
                (None, None) => Ti::default(),
            };
            let val = match (a.get(i), b.get(i)) {
                (Some((_, Some(x))), Some((_, Some(y)))) if x == y => Some(x.clone()),
                _ => None,
            };
            outs.push(rules::Out { ti, val });
        }
        Ok(Ok(outs))
    }

    /// The facts true of both: equal dims kept, others fresh; different ranks give an unranked tensor.
    fn join(&mut self, a: &Ti, b: &Ti) -> Ti {
        if a.other.is_some() || b.other.is_some() {
            return if a == b { a.clone() } else { Ti::default() };
        }
        let elem = a.elem.clone().or_else(|| b.elem.clone());
        let shape = match (&a.shape, &b.shape) {
            (Some(x), Some(y)) if x.len() == y.len() => Some(
                x.iter()
                    .zip(y)
                    .map(|(p, q)| if p == q { p.clone() } else { self.fresh.dim() })
                    .collect(),
            ),
            _ => None,
        };
        Ti::new(elem, shape)
    }

    fn infer_loop(
        &mut self,
        body: &mut Body,
        st: &mut State,
        op: OpId,
    ) -> Result<Result<Vec<rules::Out>, String>, PassError> {
        let operands = body.op(op).operands().to_vec();
        let n_results = body.op(op).results().len();
        let carried: Vec<Ti> = operands
            .iter()
            .skip(2)
            .map(|v| st.ti[v.index()].clone().unwrap_or_default())
            .collect();
        let scalar = |s: ScalarType| Ti::tensor(s, vec![]);
        let mut args = vec![scalar(ScalarType::I64), scalar(ScalarType::Bool)];
        args.extend(carried.iter().cloned());
        let cond_in = operands.get(1).and_then(|v| st.vals[v.index()].clone());
        let mut ys = self.loop_body(body, st, op, &args, cond_in.clone())?;
        // Carried values whose facts change across iterations are generalized and the body re-inferred.
        let mut again = false;
        for (i, c) in carried.iter().enumerate() {
            if let Some((y, _)) = ys.get(i + 1) {
                if y.shape != c.shape || (y.elem.is_some() && y.elem != c.elem) {
                    args[i + 2] = self.join(c, y);
                    again = true;
                }
            }
        }
        if again {
            ys = self.loop_body(body, st, op, &args, cond_in.clone())?;
        }
        // The condition stays true when it starts true and the body computes it from the incoming
        // condition alone (every other body input has no known value): then only M stops the loop.
        let always_true = cond_in.as_deref() == Some(&[Expr::constant(1)])
            && ys.first().and_then(|y| y.1.as_deref()) == Some(&[Expr::constant(1)]);
        let m = operands
            .first()
            .and_then(|v| st.vals[v.index()].as_ref())
            .and_then(|v| v.first().and_then(Expr::as_const));
        let no_cond = operands
            .get(1)
            .is_none_or(|v| st.ti[v.index()].as_ref().is_some_and(Ti::is_none));
        let trip = match (m, no_cond || always_true) {
            (Some(m), true) if m >= 0 => Expr::constant(m),
            _ => self.fresh.dim(),
        };
        let n_carried = carried.len();
        let mut outs = vec![];
        for i in 0..n_results {
            let ti = if i < n_carried {
                args[i + 2].clone()
            } else {
                match ys.get(i + 1) {
                    Some((y, _)) => Ti::new(
                        y.elem.clone(),
                        y.shape.as_ref().map(|s| {
                            std::iter::once(trip.clone())
                                .chain(s.iter().cloned())
                                .collect()
                        }),
                    ),
                    None => Ti::default(),
                }
            };
            // The carried value's final facts: those of the body output when they agree with the input.
            let ti = if i < n_carried {
                match ys.get(i + 1) {
                    Some((y, _)) if y.shape == ti.shape => y.clone(),
                    _ => ti,
                }
            } else {
                ti
            };
            outs.push(rules::Out { ti, val: None });
        }
        Ok(Ok(outs))
    }

    /// Infers a Loop body; the condition argument carries the incoming condition's value.
    fn loop_body(
        &mut self,
        body: &mut Body,
        st: &mut State,
        op: OpId,
        args: &[Ti],
        cond_in: Option<Vec<Expr>>,
    ) -> Result<Vec<Fact>, PassError> {
        if let Some(&r) = body.op(op).regions().first() {
            if let Some(&b) = body.region(r).blocks().first() {
                let a = body.block(b).args();
                // The iteration number is some integer: a symbol, so that `Slice(x, i, i+1)` has length 1.
                if let Some(&i) = a.first() {
                    let sym = self.fresh.dim();
                    self.pending_vals.push((i, Some(vec![sym])));
                }
                if let Some(&c) = a.get(1) {
                    self.pending_vals.push((c, cond_in));
                }
            }
        }
        let ys = self.region(body, st, op, 0, args);
        self.pending_vals.clear();
        let ys = ys?.unwrap_or_default();
        Ok(ys)
    }

    fn infer_scan(
        &mut self,
        body: &mut Body,
        st: &mut State,
        op: OpId,
    ) -> Result<Result<Vec<rules::Out>, String>, PassError> {
        let data = body.op(op);
        let operands = data.operands().to_vec();
        let n_results = data.results().len();
        let m = data
            .attr("num_scan_inputs")
            .and_then(Attribute::as_int)
            .unwrap_or(0)
            .max(0) as usize;
        let get_ints = |name: &str| {
            data.attr(name)
                .and_then(Attribute::as_ints)
                .map(<[i64]>::to_vec)
        };
        let in_axes = get_ints("scan_input_axes");
        let out_axes = get_ints("scan_output_axes");
        let n_state = operands.len().saturating_sub(m);
        if m == 0 || operands.len() < m {
            return Ok(Err(format!(
                "num_scan_inputs = {m} does not fit {} operands",
                operands.len()
            )));
        }
        let ins: Vec<Ti> = operands
            .iter()
            .map(|v| st.ti[v.index()].clone().unwrap_or_default())
            .collect();
        let mut args: Vec<Ti> = ins[..n_state].to_vec();
        let mut seq_len: Option<Expr> = None;
        for (j, t) in ins[n_state..].iter().enumerate() {
            let axis = in_axes
                .as_ref()
                .and_then(|a| a.get(j).copied())
                .unwrap_or(0);
            let arg = match &t.shape {
                Some(s) if !s.is_empty() => {
                    let ax = norm_axis(axis, s.len());
                    match ax {
                        Some(ax) => {
                            if seq_len.is_none() {
                                seq_len = Some(s[ax].clone());
                            }
                            let mut s2 = s.clone();
                            s2.remove(ax);
                            Ti::new(t.elem.clone(), Some(s2))
                        }
                        None => Ti::new(t.elem.clone(), None),
                    }
                }
                _ => Ti::new(t.elem.clone(), None),
            };
            args.push(arg);
        }
        let ys = self.region(body, st, op, 0, &args)?.unwrap_or_default();
        let seq = seq_len.unwrap_or_else(|| self.fresh.dim());
        let mut outs = vec![];
        for i in 0..n_results {
            let Some((y, _)) = ys.get(i) else {
                outs.push(rules::Out::default());
                continue;
            };
            let ti = if i < n_state {
                y.clone()
            } else {
                let k = i - n_state;
                let axis = out_axes
                    .as_ref()
                    .and_then(|a| a.get(k).copied())
                    .unwrap_or(0);
                Ti::new(
                    y.elem.clone(),
                    y.shape.as_ref().and_then(|s| {
                        let ax = norm_axis(axis, s.len() + 1)?;
                        let mut s2 = s.clone();
                        s2.insert(ax, seq.clone());
                        Some(s2)
                    }),
                )
            };
            outs.push(rules::Out { ti, val: None });
        }
        Ok(Ok(outs))
    }

    // ----- calls of local functions -----

    fn callee(&self, kind: &str) -> Option<usize> {
        self.funcs
            .iter()
            .position(|f| domain(f).is_some_and(|d| onnxqc_onnx::op_kind(d, &f.name) == kind))
    }

    /// Infers a call by inferring a copy of the callee's body with the call's input facts and attributes.
    fn infer_call(&mut self, body: &Body, st: &State, op: OpId, f: usize) -> Vec<rules::Out> {
        let call = body.op(op);
        let n = call.results().len();
        let fallback = vec![rules::Out::default(); n];
        if self.depth >= MAX_CALL_DEPTH {
            return fallback;
        }
        let func = &self.funcs[f];
        let mut fbody = onnxqc_onnx::instantiate_function(func, call);
        let mut fst = State::new(&fbody);
        let inputs = fbody.inputs().to_vec();
        for (i, &a) in inputs.iter().enumerate() {
            let t = call
                .operands()
                .get(i)
                .and_then(|v| st.ti[v.index()].clone())
                .unwrap_or_default();
            fst.ti[a.index()] = Some(t);
            fst.vals[a.index()] = call
                .operands()
                .get(i)
                .and_then(|v| st.vals[v.index()].clone());
        }
        self.depth += 1;
        let entry = fbody.entry_block();
        let r = self.block(&mut fbody, &mut fst, entry);
        self.depth -= 1;
        if r.is_err() {
            return fallback;
        }
        let outs = fbody.outputs().to_vec();
        let mut res: Vec<rules::Out> = outs
            .iter()
            .map(|&o| rules::Out {
                ti: fst.ti[o.index()]
                    .clone()
                    .unwrap_or_else(|| self.ti_of(&fbody.value_type(o).clone())),
                val: fst.vals[o.index()].clone(),
            })
            .collect();
        res.resize(n, rules::Out::default());
        res
    }
}

fn domain(f: &Function) -> Option<&str> {
    f.attrs
        .iter()
        .find(|(k, _)| &**k == FUNCTION_DOMAIN)
        .and_then(|(_, v)| v.as_str())
}

fn elem_name(e: &ElemType) -> String {
    match e {
        ElemType::Scalar(s) => s.to_string(),
        ElemType::Quant(_) => "a quantized type".to_string(),
    }
}

/// `axis` (negative counts from the end) as an index below `rank`.
pub fn norm_axis(axis: i64, rank: usize) -> Option<usize> {
    let r = rank as i64;
    let a = if axis < 0 { axis + r } else { axis };
    (0..r).contains(&a).then_some(a as usize)
}

#[cfg(test)]
mod tests {
    use onnxqc_ir::parse::parse_module;
    use onnxqc_ir::print::{print_module, PrintOptions};

    use crate::{default_op_registry, PassContext, PassOptions, PassRegistry};

    /// Runs shape-infer (with extra options) on text IR and returns the printed result or the error.
    fn run(text: &str, opts: &[(&'static str, crate::OptValue)]) -> Result<String, String> {
        let mut m = parse_module(text, 0).map_err(|e| format!("{e:?}"))?;
        let reg = PassRegistry::builtin();
        let info = reg.get("shape-infer").unwrap();
        let mut o = PassOptions::defaults(info.options);
        for (k, v) in opts {
            o.set(k, v.clone());
        }
        let ops = default_op_registry();
        (info.create)(&o)
            .run(&mut m, &PassContext::new(&ops))
            .map_err(|e| e.diagnostics[0].message.clone())?;
        Ok(print_module(&m, &PrintOptions::default()))
    }

    fn infer(text: &str) -> String {
        run(text, &[]).unwrap()
    }

    #[test]
    fn unsqueeze_axes_follow_the_opset() {
        let attr = r#"module attributes {onnx.opset_import = {ai.onnx = 11}} {
  func.func @f(%x: tensor<3xf32>) -> !onnx.unknown {
    %0 = "onnx.Unsqueeze"(%x) {axes = [0, -1]} : (tensor<3xf32>) -> !onnx.unknown
    func.return %0 : !onnx.unknown
  }
}"#;
        assert!(
            infer(attr).contains("-> tensor<1x3x1xf32>"),
            "{}",
            infer(attr)
        );
        let input = r#"module attributes {onnx.opset_import = {ai.onnx = 13}} {
  func.func @f(%x: tensor<3xf32>) -> !onnx.unknown {
    %a = "onnx.Constant"() {value = dense<[1]> : tensor<1xi64>} : () -> tensor<1xi64>
    %0 = "onnx.Unsqueeze"(%x, %a) : (tensor<3xf32>, tensor<1xi64>) -> !onnx.unknown
    func.return %0 : !onnx.unknown
  }
}"#;
        assert!(infer(input).contains("-> tensor<3x1xf32>"));
        // ReduceMean takes axes as an attribute before opset 18 and as an input from 18.
        let reduce = |opset: i64| {
            format!(
                r#"module attributes {{onnx.opset_import = {{ai.onnx = {opset}}}}} {{
  func.func @f(%x: tensor<2x3x4xf32>) -> !onnx.unknown {{
    %0 = "onnx.ReduceMean"(%x) {{axes = [1], keepdims = 0}} : (tensor<2x3x4xf32>) -> !onnx.unknown
    func.return %0 : !onnx.unknown
  }}
}}"#
            )
        };
        assert!(infer(&reduce(13)).contains("-> tensor<2x4xf32>"));
        assert!(infer(&reduce(18)).contains("-> tensor<f32>"));
    }

    #[test]
    fn if_with_known_condition_takes_its_branch() {
        let text = r#"func.func @f(%x: tensor<?x4xf32, #onnx.dims<["n", 4]>>) -> !onnx.unknown {
  %c = "onnx.Constant"() {value = dense<false> : tensor<i1>} : () -> tensor<i1>
  %0 = "onnx.If"(%c) ({
    %1 = "onnx.Squeeze"(%x) : (tensor<?x4xf32, #onnx.dims<["n", 4]>>) -> !onnx.unknown
    %t = "onnx.Transpose"(%x) : (tensor<?x4xf32, #onnx.dims<["n", 4]>>) -> !onnx.unknown
    "onnx.Yield"(%t) : (!onnx.unknown) -> ()
  }, {
    "onnx.Yield"(%x) : (tensor<?x4xf32, #onnx.dims<["n", 4]>>) -> ()
  }) {then_branch = #onnx.graph<0>, else_branch = #onnx.graph<1>} : (tensor<i1>) -> !onnx.unknown
  func.return %0 : !onnx.unknown
}"#;
        let out = infer(text);
        assert!(
            out.contains(r#"-> tensor<?x4xf32, #onnx.dims<["n", 4]>>"#),
            "{out}"
        );
        assert!(!out.contains("unk__"), "{out}");
    }

    #[test]
    fn loop_with_a_condition_that_stays_true_has_a_known_trip_count() {
        let text = r#"func.func @f(%x: tensor<1xf32>) -> (!onnx.unknown, !onnx.unknown) {
  %m = "onnx.Constant"() {value = dense<5> : tensor<i64>} : () -> tensor<i64>
  %c = "onnx.Constant"() {value = dense<true> : tensor<i1>} : () -> tensor<i1>
  %d = "onnx.Constant"() {value = dense<[1.0, 2.0, 3.0, 4.0, 5.0]> : tensor<5xf32>} : () -> tensor<5xf32>
  %y, %s = "onnx.Loop"(%m, %c, %x) ({
  ^bb0(%i: tensor<i64>, %cond: tensor<i1>, %v: tensor<1xf32>):
    %one = "onnx.Constant"() {value = dense<1> : tensor<i64>} : () -> tensor<i64>
    %e = "onnx.Add"(%i, %one) : (tensor<i64>, tensor<i64>) -> !onnx.unknown
    %a = "onnx.Constant"() {value = dense<[0]> : tensor<1xi64>} : () -> tensor<1xi64>
    %st = "onnx.Unsqueeze"(%i, %a) : (tensor<i64>, tensor<1xi64>) -> !onnx.unknown
    %en = "onnx.Unsqueeze"(%e, %a) : (!onnx.unknown, tensor<1xi64>) -> !onnx.unknown
    %sl = "onnx.Slice"(%d, %st, %en) : (tensor<5xf32>, !onnx.unknown, !onnx.unknown) -> !onnx.unknown
    %nv = "onnx.Add"(%v, %sl) : (tensor<1xf32>, !onnx.unknown) -> !onnx.unknown
    %co = "onnx.Identity"(%cond) : (tensor<i1>) -> !onnx.unknown
    "onnx.Yield"(%co, %nv, %nv) : (!onnx.unknown, !onnx.unknown, !onnx.unknown) -> ()
  }) {body = #onnx.graph<0>} : (tensor<i64>, tensor<i1>, tensor<1xf32>) -> (!onnx.unknown, !onnx.unknown)
  func.return %y, %s : !onnx.unknown, !onnx.unknown
}"#;
        let out = infer(text);
        assert!(out.contains("-> (tensor<1xf32>, tensor<5x1xf32>)"), "{out}");
    }

    #[test]
    fn integer_values_flow_through_arithmetic() {
        let text = r#"func.func @f(%x: tensor<?x?xf32, #onnx.dims<["b", "s"]>>) -> (!onnx.unknown, !onnx.unknown, !onnx.unknown) {
  %sh = "onnx.Shape"(%x) {start = -1} : (tensor<?x?xf32, #onnx.dims<["b", "s"]>>) -> !onnx.unknown
  %two = "onnx.Constant"() {value = dense<[2]> : tensor<1xi64>} : () -> tensor<1xi64>
  %h = "onnx.Div"(%sh, %two) : (!onnx.unknown, tensor<1xi64>) -> !onnx.unknown
  %z = "onnx.ConstantOfShape"(%h) {value = dense<[0]> : tensor<1xi64>} : (!onnx.unknown) -> !onnx.unknown
  %zero = "onnx.Constant"() {value = dense<0> : tensor<i64>} : () -> tensor<i64>
  %one = "onnx.Constant"() {value = dense<1> : tensor<i64>} : () -> tensor<i64>
  %s = "onnx.Squeeze"(%sh) : (!onnx.unknown) -> !onnx.unknown
  %r = "onnx.Range"(%zero, %s, %one) : (tensor<i64>, !onnx.unknown, tensor<i64>) -> !onnx.unknown
  %m = "onnx.Shape"(%x) : (tensor<?x?xf32, #onnx.dims<["b", "s"]>>) -> !onnx.unknown
  %e = "onnx.Expand"(%r, %m) : (!onnx.unknown, !onnx.unknown) -> !onnx.unknown
  func.return %z, %r, %e : !onnx.unknown, !onnx.unknown, !onnx.unknown
}"#;
        let out = infer(text);
        assert!(out.contains(r#"%z = "onnx.ConstantOfShape"(%h) {value = dense<[0]> : tensor<1xi64>} : (tensor<1xi64>) -> tensor<?xi64, #onnx.dims<["floor(s/2)"]>>"#), "{out}");
        assert!(
            out.contains(r#"-> tensor<?xi64, #onnx.dims<["s"]>>"#),
            "{out}"
        );
        assert!(out.contains(r#"%e = "onnx.Expand"(%r, %m) : (tensor<?xi64, #onnx.dims<["s"]>>, tensor<2xi64>) -> tensor<?x?xi64, #onnx.dims<["b", "s"]>>"#), "{out}");
    }

    #[test]
    fn local_function_calls_are_instantiated() {
        let text = r#"module attributes {onnx.opset_import = {ai.onnx = 17, local = 1}} {
  func.func @g(%x: tensor<?x3xf32, #onnx.dims<["n", 3]>>) -> tensor<*xf32> {
    %y = "local.Twice"(%x) : (tensor<?x3xf32, #onnx.dims<["n", 3]>>) -> tensor<*xf32>
    func.return %y : tensor<*xf32>
  }
  func.func @Twice(%a: !onnx.unknown) -> !onnx.unknown attributes {onnx.function_domain = "local", onnx.opset_import = {ai.onnx = 17}} {
    %b = "onnx.Concat"(%a, %a) {axis = 0} : (!onnx.unknown, !onnx.unknown) -> !onnx.unknown
    func.return %b : !onnx.unknown
  }
}"#;
        let out = infer(text);
        assert!(
            out.contains(r#"-> tensor<?x3xf32, #onnx.dims<["2*n", 3]>>"#),
            "{out}"
        );
    }

    #[test]
    fn einsum_and_matmul_shapes() {
        let text = r#"func.func @f(%a: tensor<2x?x4xf32, #onnx.dims<[2, "s", 4]>>, %b: tensor<4x5xf32>, %v: tensor<4xf32>) -> (!onnx.unknown, !onnx.unknown, !onnx.unknown) {
  %0 = "onnx.Einsum"(%a, %b) {equation = "bij,jk->bik"} : (tensor<2x?x4xf32, #onnx.dims<[2, "s", 4]>>, tensor<4x5xf32>) -> !onnx.unknown
  %1 = "onnx.Einsum"(%a) {equation = "...ij"} : (tensor<2x?x4xf32, #onnx.dims<[2, "s", 4]>>) -> !onnx.unknown
  %2 = "onnx.MatMul"(%a, %v) : (tensor<2x?x4xf32, #onnx.dims<[2, "s", 4]>>, tensor<4xf32>) -> !onnx.unknown
  func.return %0, %1, %2 : !onnx.unknown, !onnx.unknown, !onnx.unknown
}"#;
        let out = infer(text);
        assert!(
            out.contains(r#"-> tensor<2x?x5xf32, #onnx.dims<[2, "s", 5]>>"#),
            "{out}"
        );
        assert!(out.contains(r#"(tensor<2x?x4xf32, #onnx.dims<[2, "s", 4]>>) -> tensor<2x?x4xf32, #onnx.dims<[2, "s", 4]>>"#), "{out}");
        assert!(
            out.contains(r#"tensor<4xf32>) -> tensor<2x?xf32, #onnx.dims<[2, "s"]>>"#),
            "{out}"
        );
    }

    #[test]
    fn graph_inputs_are_never_changed_and_errors_name_the_op() {
        let text = r#"func.func @f(%x: tensor<?x4xf32>) -> !onnx.unknown {
  %0 = "onnx.Relu"(%x) : (tensor<?x4xf32>) -> !onnx.unknown
  func.return %0 : !onnx.unknown
}"#;
        let out = infer(text);
        assert!(out.contains("@f(%x: tensor<?x4xf32>)"), "{out}");
        assert!(
            out.contains(r#"-> tensor<?x4xf32, #onnx.dims<["unk__0", 4]>>"#),
            "{out}"
        );
        let bad = r#"func.func @f(%x: tensor<2x3xf32>, %y: tensor<2x4xf32>) -> !onnx.unknown {
  %0 = "onnx.Concat"(%x, %y) {axis = 1} : (tensor<2x3xf32>, tensor<2x4xf32>) -> !onnx.unknown
  %1 = "onnx.Gemm"(%x, %y) : (tensor<2x3xf32>, tensor<2x4xf32>) -> !onnx.unknown
  func.return %1 : !onnx.unknown
}"#;
        let err = run(bad, &[]).unwrap_err();
        assert!(
            err.contains("'onnx.Gemm' op: inner dims differ: 3 and 2"),
            "{err}"
        );
        let lenient = run(bad, &[("ignore-errors", crate::OptValue::Bool(true))]).unwrap();
        assert!(lenient.contains("-> tensor<2x7xf32>"), "{lenient}");
        let prefixed = run(text, &[("fresh-prefix", crate::OptValue::Str("d".into()))]).unwrap();
        assert!(prefixed.contains(r#"#onnx.dims<["d0", 4]>"#), "{prefixed}");
    }
}
