//! The verifier: checks the invariants every pass may rely on, and names the op that breaks one.
//!
//! Generic checks (every op): SSA dominance (a use follows its definition in the same block or an
//! enclosing one), use-lists consistent with operands, well-formed types (quantized parameters, per-axis
//! and block-wise scales that fit the tensor shape), graph attributes that point at existing regions,
//! `func.return` as the last op of each function body. Registry checks (known ops): operand, result and
//! region counts, terminators at the end of region blocks, and the op-specific verifiers the dialects
//! register (e.g. a constant's type matches its value).

use crate::attr::Attribute;
use crate::diag::Diagnostic;
use crate::graph::{BlockId, Body, Function, Module, OpId, RegionId, ValueDef};
use crate::print::print_type;
use crate::quant_type::Granularity;
use crate::registry::OpRegistry;
use crate::types::{Dim, ElemType, Type};

/// Stop collecting after this many errors: the first ones are the useful ones.
const MAX_ERRORS: usize = 20;

/// Verifies a module; returns every error found (up to a limit).
pub fn verify_module(module: &Module, reg: &OpRegistry) -> Result<(), Vec<Diagnostic>> {
    let mut errors = Vec::new();
    let mut seen = rustc_hash::FxHashSet::default();
    for f in &module.funcs {
        if !seen.insert(f.name.as_str()) {
            errors.push(
                Diagnostic::error(format!("function @{} is defined twice", f.name))
                    .with_span(f.span),
            );
        }
        verify_function(f, reg, &mut errors);
        if errors.len() >= MAX_ERRORS {
            break;
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors)
    }
}

/// Verifies one function.
pub fn verify_function(f: &Function, reg: &OpRegistry, errors: &mut Vec<Diagnostic>) {
    let body = &f.body;
    let mut v = Verifier {
        body,
        reg,
        errors,
        visible: vec![false; body.value_capacity()],
        fname: &f.name,
    };
    if body.return_op().is_none() {
        v.errors.push(
            Diagnostic::error(format!(
                "function @{} does not end with 'func.return'",
                f.name
            ))
            .with_span(f.span),
        );
    }
    for &a in body.inputs() {
        v.check_type(body.value_type(a), None, || {
            format!("argument of @{}", f.name)
        });
    }
    v.region(body.root(), true);
}

struct Verifier<'a> {
    body: &'a Body,
    reg: &'a OpRegistry,
    errors: &'a mut Vec<Diagnostic>,
    visible: Vec<bool>,
    fname: &'a str,
}

/// How an op names itself in messages: `'onnx.Conv' op "conv1"`.
pub fn describe_op(body: &Body, op: OpId) -> String {
    let d = body.op(op);
    match &d.name {
        Some(n) => format!("'{}' op \"{}\"", d.kind, n),
        None => format!("'{}' op", d.kind),
    }
}

impl Verifier<'_> {
    fn error(&mut self, op: OpId, msg: String) {
        if self.errors.len() < MAX_ERRORS {
            let d = Diagnostic::error(format!("{}: {msg}", describe_op(self.body, op)))
                .with_span(self.body.op(op).span);
            self.errors.push(d);
        }
    }

    fn region(&mut self, region: RegionId, top: bool) {
        for &b in self.body.region(region).blocks() {
            self.block(b, top);
        }
    }

    fn block(&mut self, block: BlockId, top: bool) {
        let body = self.body;
        let mut defined = Vec::new();
        for &a in body.block(block).args() {
            self.visible[a.index()] = true;
            defined.push(a);
        }
        let last = body.last_op(block);
        for op in body.block_ops(block) {
            self.op(op, top, Some(op) == last);
            for &r in body.op(op).results() {
                self.visible[r.index()] = true;
                defined.push(r);
            }
        }
        // Values of this block are not visible outside it (sibling regions, later ops of the parent).
        for v in defined {
            self.visible[v.index()] = false;
        }
        if !top {
            if let Some(parent) = body.region(body.block(block).parent_region()).parent_op() {
                let known_parent = self.reg.get(&body.op(parent).kind).is_some();
                let ends_with_terminator = last
                    .is_some_and(|l| self.reg.get(&body.op(l).kind).is_some_and(|d| d.terminator));
                if known_parent && !ends_with_terminator {
                    self.error(
                        parent,
                        "a region block does not end with a terminator (e.g. 'onnx.Yield')".into(),
                    );
                }
            }
        }
    }

    fn op(&mut self, op: OpId, top: bool, is_last: bool) {
        let body = self.body;
        let data = body.op(op);
        // Dominance and use-lists.
        for (i, &v) in data.operands().iter().enumerate() {
            if v.index() >= self.visible.len() {
                self.error(
                    op,
                    format!("operand #{i} refers to a value that does not exist"),
                );
                continue;
            }
            if !self.visible[v.index()] {
                let what = match body.value(v).def() {
                    ValueDef::Result { op: d, .. } if !body.op(d).is_alive() => {
                        "an erased op's result".to_string()
                    }
                    ValueDef::Result { op: d, .. } => {
                        format!("a result of {}", describe_op(body, d))
                    }
                    ValueDef::BlockArg { .. } => "a block argument of another region".to_string(),
                };
                self.error(
                    op,
                    format!("operand #{i} ({what}) does not dominate this use"),
                );
            }
            if !body
                .value(v)
                .uses()
                .iter()
                .any(|u| u.op == op && u.index as usize == i)
            {
                self.error(op, format!("operand #{i} is missing from its value's use-list (IR corrupted by a rewrite)"));
            }
        }
        for (i, &r) in data.results().iter().enumerate() {
            self.check_type(body.value_type(r), Some(op), || format!("result #{i}"));
        }
        // Graph attributes.
        for (name, attr) in &data.attrs {
            let refs: &[u32] = match attr {
                Attribute::Graph(i) => std::slice::from_ref(i),
                Attribute::Graphs(v) => v,
                _ => &[],
            };
            for &r in refs {
                if r as usize >= data.regions().len() {
                    self.error(
                        op,
                        format!(
                            "attribute '{name}' refers to region #{r}, but the op has {} regions",
                            data.regions().len()
                        ),
                    );
                }
            }
        }
        let is_return = &*data.kind == crate::FUNC_RETURN;
        if is_return && !(top && is_last) {
            self.error(
                op,
                format!(
                    "'func.return' must be the last op of the body of @{}",
                    self.fname
                ),
            );
        }
        // Op-specific verifiers may index operands and results: they run only when the counts fit.
        let mut counts_ok = true;
        if let Some(def) = self.reg.get(&data.kind) {
            let checks = [
                ("operands", def.operands, data.operands().len()),
                ("results", def.results, data.results().len()),
                ("regions", def.regions, data.regions().len()),
            ];
            for (what, arity, n) in checks {
                if !arity.contains(n) {
                    counts_ok = false;
                    self.error(op, format!("expected {} {what}, got {n}", arity.describe()));
                }
            }
            if def.terminator && !is_last {
                self.error(op, "a terminator must be the last op of its block".into());
            }
        }
        if let Some(check) = self.reg.verifier(&data.kind).filter(|_| counts_ok) {
            if let Err(msg) = check(body, op) {
                self.error(op, msg);
            }
        }
        for &r in data.regions() {
            self.region(r, false);
        }
    }

    fn check_type(&mut self, ty: &Type, op: Option<OpId>, what: impl Fn() -> String) {
        if let Err(msg) = check_type(ty) {
            let msg = format!("{} has type {}: {msg}", what(), print_type(ty));
            match op {
                Some(op) => self.error(op, msg),
                None => self.errors.push(Diagnostic::error(msg)),
            }
        }
    }
}

/// Checks that a type is well formed (quantization parameters fit the shape).
pub fn check_type(ty: &Type) -> Result<(), String> {
    match ty {
        Type::Tensor(t) | Type::SparseTensor(t) => {
            let ElemType::Quant(q) = &t.elem else {
                return Ok(());
            };
            q.check()?;
            let Some(shape) = &t.shape else { return Ok(()) };
            match &q.granularity {
                Granularity::PerTensor { .. } => Ok(()),
                Granularity::PerAxis { axis, scales, .. } => {
                    let Some(d) = shape.get(*axis as usize) else {
                        return Err(format!(
                            "quantized axis {axis} is out of range for rank {}",
                            shape.len()
                        ));
                    };
                    match d {
                        Dim::Known(n) if *n as usize != scales.len() => Err(format!(
                            "axis {axis} has {n} channels but the type has {} scales",
                            scales.len()
                        )),
                        _ => Ok(()),
                    }
                }
                Granularity::Blocked {
                    blocks,
                    scales_shape,
                    ..
                } => {
                    if scales_shape.len() != shape.len() {
                        return Err(format!(
                            "scales have rank {} but the tensor has rank {}",
                            scales_shape.len(),
                            shape.len()
                        ));
                    }
                    for (axis, d) in shape.iter().enumerate() {
                        let Dim::Known(n) = d else { continue };
                        let block = blocks
                            .iter()
                            .find(|(a, _)| *a as usize == axis)
                            .map_or(1, |b| b.1);
                        let expected = n.div_ceil(block);
                        if scales_shape[axis] != expected {
                            return Err(format!(
                                "dim {axis} of size {n} with block size {block} needs {expected} scales, the type has {}",
                                scales_shape[axis]
                            ));
                        }
                    }
                    Ok(())
                }
            }
        }
        Type::Sequence(t) | Type::Optional(t) | Type::Map(_, t) => check_type(t),
        Type::None | Type::Unknown => Ok(()),
    }
}
