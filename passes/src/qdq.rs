//! `qdq`: lowers a calibrated model to the QDQ format, as ONNX Runtime's `quantize_static` with
//! `QuantFormat.QDQ` does. The planner ([`crate::quantize::plan`]) decides what is quantized and with
//! which parameters; this pass inserts the ops:
//!
//! - an activation gets `QuantizeLinear → DequantizeLinear` right after its definition, read by all its
//!   consumers (or one pair per quantized consumer with `dedicated-qdq-pair`); a graph output keeps its
//!   name on the DequantizeLinear;
//! - a weight is stored quantized (`{w}_quantized`) behind a DequantizeLinear (per channel with `axis`),
//!   or stays float behind a Q/DQ pair with `add-qdq-pair-to-weight`;
//! - a bias becomes int32 (`{b}_quantized`, scale `s_in · s_w · beta`, zero point 0) behind a
//!   DequantizeLinear whose output keeps the bias's name;
//! - shared-parameter outputs (Reshape, Transpose, pools, ...) reuse their input's scale and zero point
//!   constants.
//!
//! Names follow ONNX Runtime (`x_scale`, `x_zero_point`, `x_QuantizeLinear`, ...), so that tools that
//! look tensors up by name see the same model. 16-bit and 4-bit types below opset 21, and per-channel
//! weights below opset 13, use the `com.microsoft` Q/DQ ops, which ONNX Runtime runs at any opset.

use std::sync::Arc;

use onnxqc_ir::{Attribute, Body, Module, OpId, ScalarType, ValueDef, ValueId};
use onnxqc_onnx::{default_opset, require_opset};
use onnxqc_quant::params::{quantize_value, QParams};
use onnxqc_quant::table::CalibrationTable;
use rustc_hash::FxHashMap;

use crate::quantize::consts::{
    const_data, float_tensor, float_values, insert_const, insert_op, insertion_point_after,
    int_tensor, with_elem, CONSTANT,
};
use crate::quantize::plan::{plan, Plan, TensorParams};
use crate::quantize::{Settings, OPTIONS};
use crate::registry::{PassInfo, Requirement};
use crate::{Pass, PassContext, PassError, PassOptions, PassOutcome};

pub fn info() -> PassInfo {
    PassInfo {
        name: "qdq",
        summary:
            "Insert QuantizeLinear/DequantizeLinear pairs from the calibrated ranges (QDQ format)",
        options: &OPTIONS,
        requires: &[Requirement {
            fact: crate::calibrate::RANGES_FACT,
            provided_by: &["calibrate"],
        }],
        provides: &[],
        create: |o: &PassOptions| Box::new(Qdq { opts: o.clone() }),
    }
}

struct Qdq {
    opts: PassOptions,
}

fn err(msg: impl Into<String>) -> PassError {
    PassError::new("qdq", msg)
}

/// The scale and zero point constants of a quantized tensor.
#[derive(Clone, Copy)]
struct QuantValue {
    scale: ValueId,
    zero_point: ValueId,
}

struct Emitter<'a> {
    body: &'a mut Body,
    s: &'a Settings,
    plan: &'a Plan,
    q_kind: String,
    dq_kind: String,
    /// The block's first op when the pass started: new scale / zero point constants go before it, in
    /// the order they are made.
    anchor: OpId,
    done: FxHashMap<ValueId, QuantValue>,
    float_constants: Vec<ValueId>,
    notes: Vec<String>,
    pairs: u64,
    weights: u64,
    biases: u64,
    missing: Vec<String>,
}

impl Pass for Qdq {
    fn name(&self) -> &'static str {
        "qdq"
    }

    fn run(&mut self, module: &mut Module, _cx: &PassContext) -> Result<PassOutcome, PassError> {
        let settings = Settings::from_options(&self.opts).map_err(err)?;
        let table = match CalibrationTable::from_module(module) {
            Some(t) => t.map_err(err)?,
            None => return Err(err(
                "no calibration ranges in the module: run calibrate first (-passes=calibrate,qdq \
                     --calib-data DIR, or calibrate{table=FILE})",
            )),
        };
        if module.funcs.is_empty() {
            return Err(err("the module has no function to quantize"));
        }
        let opset = default_opset(module);
        let mut notes = vec![];
        let contrib = if settings.contrib_ops {
            true
        } else if settings.needs_opset21() && opset < 21 {
            notes.push(format!(
                "16-bit/4-bit Q/DQ need opset 21; the model is at opset {opset}, so the com.microsoft \
                 QuantizeLinear/DequantizeLinear are used (ONNX Runtime runs them at any opset)"
            ));
            true
        } else if (settings.per_channel || settings.overrides.has_axis()) && opset < 13 {
            notes.push(format!(
                "per-channel DequantizeLinear needs opset 13; the model is at opset {opset}, so the \
                 com.microsoft QuantizeLinear/DequantizeLinear are used"
            ));
            true
        } else {
            false
        };
        let body = &mut module.funcs[0].body;
        let plan = plan(body, &settings, opset, &table).map_err(err)?;
        let prefix = if contrib { "com.microsoft" } else { "onnx" };
        let block = body.entry_block();
        let anchor = body
            .first_op(block)
            .expect("a block ends with its terminator");
        let mut e = Emitter {
            anchor,
            body,
            s: &settings,
            plan: &plan,
            q_kind: format!("{prefix}.QuantizeLinear"),
            dq_kind: format!("{prefix}.DequantizeLinear"),
            done: FxHashMap::default(),
            float_constants: vec![],
            notes: vec![],
            pairs: 0,
            weights: 0,
            biases: 0,
            missing: vec![],
        };
        e.normal_tensors();
        e.shared_tensors();
        if settings.quantize_bias {
            e.bias_tensors();
        }
        e.erase_dead_constants();
        let (pairs, weights, biases) = (e.pairs, e.weights, e.biases);
        notes.append(&mut e.notes);
        if !e.missing.is_empty() {
            let shown: Vec<&str> = e.missing.iter().take(8).map(String::as_str).collect();
            notes.push(format!(
                "{} tensors have no calibrated range and stay float: {}{}",
                e.missing.len(),
                shown.join(", "),
                if e.missing.len() > 8 { ", ..." } else { "" }
            ));
        }
        notes.extend(plan.notes.iter().cloned());
        notes.extend(summary(&plan));
        if contrib {
            require_opset(module, "com.microsoft", 1);
        }
        Ok(PassOutcome {
            changed: pairs + weights + biases + plan.removed_activations > 0,
            stats: vec![
                ("activation-qdq-pairs", pairs),
                ("weights-quantized", weights),
                ("biases-quantized", biases),
                ("activations-removed", plan.removed_activations),
            ],
            notes,
        })
    }
}

/// One line per op type: how many were quantized, and why the others were not.
pub fn summary(plan: &Plan) -> Vec<String> {
    let mut lines = vec![];
    let mut parts = vec![];
    for (op_type, (seen, quantized, skips)) in &plan.by_op {
        let mut s = format!("{op_type} {quantized}/{seen}");
        if !skips.is_empty() {
            let why: Vec<String> = skips
                .iter()
                .map(|(k, n)| format!("{n} {}", k.reason()))
                .collect();
            s.push_str(&format!(" ({})", why.join(", ")));
        }
        parts.push(s);
    }
    if !parts.is_empty() {
        lines.push(format!("quantized ops by type: {}", parts.join("; ")));
    }
    lines
}

impl Emitter<'_> {
    fn name(&self, v: ValueId) -> String {
        self.body
            .value(v)
            .name
            .as_deref()
            .map(str::to_string)
            .unwrap_or_else(|| format!("v{}", v.index()))
    }

    /// Scale and zero point constants of `params`, named `{base}_scale` / `{base}_zero_point`, at the
    /// start of the block (like initializers, they are then visible everywhere).
    fn param_constants(&mut self, base: &str, params: &TensorParams) -> QuantValue {
        let at = self.anchor;
        let shape: Vec<u64> = if params.axis.is_some() {
            vec![params.scales.len() as u64]
        } else {
            vec![]
        };
        let scale = insert_const(
            self.body,
            at,
            &format!("{base}_scale"),
            float_tensor(params.scale_elem, shape.clone(), &params.scales),
        );
        let zero_point = insert_const(
            self.body,
            at,
            &format!("{base}_zero_point"),
            int_tensor(params.storage, shape, &params.zero_points),
        );
        QuantValue { scale, zero_point }
    }

    fn axis_attr(axis: Option<usize>) -> Vec<(Arc<str>, Attribute)> {
        axis.map(|a| vec![(Arc::from("axis"), Attribute::Int(a as i64))])
            .unwrap_or_default()
    }

    fn normal_tensors(&mut self) {
        for &v in &self.plan.order {
            let m = &self.plan.marked[&v];
            if m.shared.is_some() || self.done.contains_key(&v) {
                continue;
            }
            if const_data(self.body, v).is_some() {
                self.weight(v);
                continue;
            }
            // A tensor that a DequantizeLinear already produces (a pre-quantized model) stays.
            if self.body.defining_op(v).is_some_and(|op| {
                onnxqc_ir::graph::split_op_kind(&self.body.op(op).kind).1 == "DequantizeLinear"
            }) {
                continue;
            }
            let name = self.name(v);
            let Some(params) = self.plan.activation.get(&name) else {
                self.missing.push(name);
                continue;
            };
            let qv = self.param_constants(&name, params);
            self.pair(v, qv, params.storage);
            self.done.insert(v, qv);
        }
    }

    fn shared_tensors(&mut self) {
        let mut pending: Vec<ValueId> = self
            .plan
            .order
            .iter()
            .copied()
            .filter(|v| self.plan.marked[v].shared.is_some())
            .collect();
        loop {
            let before = pending.len();
            let mut rest = vec![];
            for v in pending {
                let (input, _) = self.plan.marked[&v].shared.expect("shared");
                match self.done.get(&input).copied() {
                    Some(qv) if const_data(self.body, v).is_none() => {
                        let storage = self.storage_of(qv);
                        self.pair(v, qv, storage);
                        self.done.insert(v, qv);
                    }
                    Some(_) => {}
                    None => rest.push(v),
                }
            }
            if rest.is_empty() || rest.len() == before {
                for v in rest {
                    let n = self.name(v);
                    self.notes.push(format!(
                        "'{n}' shares its input's parameters, but the input was not quantized; it stays float"
                    ));
                }
                break;
            }
            pending = rest;
        }
    }

    fn storage_of(&self, qv: QuantValue) -> ScalarType {
        const_data(self.body, qv.zero_point)
            .map(|t| t.elem)
            .unwrap_or(self.s.activation_type)
    }

    /// `Q → DQ` after `v`, read by its consumers.
    fn pair(&mut self, v: ValueId, qv: QuantValue, storage: ScalarType) {
        let name = self.name(v);
        // After the definition; a graph input's pair goes after the new constants, which sit before
        // the block's original first op.
        let at = match self.body.value(v).def() {
            ValueDef::BlockArg { .. } => self.anchor,
            ValueDef::Result { .. } => {
                insertion_point_after(self.body, v).expect("a value's block ends with a terminator")
            }
        };
        let receivers = self.plan.receivers.get(&v).cloned().unwrap_or_default();
        if self.s.dedicated_qdq_pair && receivers.len() > 1 {
            for (i, &op) in receivers.iter().enumerate() {
                let suffix = format!("_{}", i + 1);
                let (_, dq) = self.q_dq(at, v, qv, storage, vec![], &suffix);
                let uses: Vec<usize> = self
                    .body
                    .op(op)
                    .operands()
                    .iter()
                    .enumerate()
                    .filter(|(_, &x)| x == v)
                    .map(|(k, _)| k)
                    .collect();
                for k in uses {
                    self.body.set_operand(op, k, dq);
                }
                self.pairs += 1;
            }
            return;
        }
        let is_output = self.body.outputs().contains(&v);
        let (q, dq) = self.q_dq(at, v, qv, storage, vec![], "");
        let q_op = self.body.defining_op(q).expect("q op");
        self.redirect_uses(v, dq, q_op);
        if is_output {
            // The graph output keeps its name on the DequantizeLinear (ONNX Runtime's convention).
            self.body.value_mut(dq).name = Some(Arc::from(name.as_str()));
            self.body.value_mut(v).name = Some(Arc::from(format!("{name}_QuantizeLinear_Input")));
        }
        self.pairs += 1;
    }

    /// `QuantizeLinear → DequantizeLinear` of `v` before `at`, named `{v}_QuantizeLinear{suffix}` and so on;
    /// returns (q, dq). Uses of `v` are left to the caller.
    fn q_dq(
        &mut self,
        at: OpId,
        v: ValueId,
        qv: QuantValue,
        storage: ScalarType,
        attrs: Vec<(Arc<str>, Attribute)>,
        suffix: &str,
    ) -> (ValueId, ValueId) {
        let name = self.name(v);
        let ty = self.body.value_type(v).clone();
        let q = insert_op(
            self.body,
            at,
            &self.q_kind.clone(),
            &[v, qv.scale, qv.zero_point],
            with_elem(&ty, storage),
            attrs.clone(),
            &format!("{name}_QuantizeLinear{suffix}"),
            &format!("{name}_QuantizeLinear_Output{suffix}"),
        );
        let dq = insert_op(
            self.body,
            at,
            &self.dq_kind.clone(),
            &[q, qv.scale, qv.zero_point],
            ty,
            attrs,
            &format!("{name}_DequantizeLinear{suffix}"),
            &format!("{name}_DequantizeLinear_Output{suffix}"),
        );
        (q, dq)
    }

    /// Points every use of `v` except `keep`'s at `new`.
    fn redirect_uses(&mut self, v: ValueId, new: ValueId, keep: OpId) {
        let uses: Vec<(OpId, usize)> = self
            .body
            .value(v)
            .uses()
            .iter()
            .filter(|u| u.op != keep)
            .map(|u| (u.op, u.index as usize))
            .collect();
        for (op, k) in uses {
            self.body.set_operand(op, k, new);
        }
    }

    /// A constant: stored quantized behind a DequantizeLinear (or float behind Q/DQ).
    fn weight(&mut self, v: ValueId) {
        let Some(params) = self.plan.constants.get(&v) else {
            return;
        };
        let t = const_data(self.body, v).expect("constant").clone();
        let Some(values) = float_values(&t) else {
            return;
        };
        let name = self.name(v);
        let def = self.body.defining_op(v).expect("constant op");
        let at = self
            .body
            .next_op(def)
            .expect("a constant is followed by a terminator at least");
        let qv = self.param_constants(&name, params);
        let ty = self.body.value_type(v).clone();
        let dq_out = format!("{name}_DequantizeLinear_Output");
        let attrs = Self::axis_attr(params.axis);
        if self.s.add_qdq_pair_to_weight {
            let (q, dq) = self.q_dq(at, v, qv, params.storage, attrs, "");
            let q_op = self.body.defining_op(q).expect("q op");
            self.redirect_uses(v, dq, q_op);
        } else {
            let q = quantize_constant(&values, &t.shape, params);
            let qc = insert_const(
                self.body,
                at,
                &format!("{name}_quantized"),
                int_tensor(params.storage, t.shape.clone(), &q),
            );
            let dq = insert_op(
                self.body,
                at,
                &self.dq_kind.clone(),
                &[qc, qv.scale, qv.zero_point],
                ty,
                attrs,
                &format!("{name}_DequantizeLinear"),
                &dq_out,
            );
            self.body.replace_all_uses(v, dq);
            self.float_constants.push(v);
        }
        self.done.insert(v, qv);
        self.weights += 1;
    }

    fn bias_tensors(&mut self) {
        for (b, info) in &self.plan.biases {
            let name = self.name(*b);
            let (Some(&input), Some(&weight)) =
                (self.done.get(&info.input), self.done.get(&info.weight))
            else {
                self.notes.push(format!(
                    "bias '{name}' stays float: its op's input or weight is not quantized"
                ));
                continue;
            };
            let Some(t) = const_data(self.body, *b).cloned() else {
                continue;
            };
            let Some(values) = float_values(&t) else {
                continue;
            };
            let input_scale = scalar_values(self.body, input.scale);
            let weight_scales = scalar_values(self.body, weight.scale);
            let (Some(&s_in), false) = (input_scale.first(), weight_scales.is_empty()) else {
                continue;
            };
            // numpy: float32 products (input_scale * weight_scale * beta), then the division in f64.
            let scales: Vec<f32> = weight_scales
                .iter()
                .map(|&w| s_in * w * info.beta)
                .collect();
            let per_channel = scales.len() > 1;
            let mut clipped = false;
            let q: Vec<i64> = values
                .iter()
                .enumerate()
                .map(|(i, &x)| {
                    let s = if per_channel {
                        scales[i % scales.len()]
                    } else {
                        scales[0]
                    };
                    // Beta is part of the scale, so the integer holds beta·bias (the Gemm's beta goes to 1).
                    let r = (x as f64 * info.beta as f64 / s as f64).round_ties_even();
                    if r < i32::MIN as f64 || r > i32::MAX as f64 {
                        clipped = true;
                    }
                    r.clamp(i32::MIN as f64, i32::MAX as f64) as i64
                })
                .collect();
            if clipped {
                self.notes.push(format!(
                    "bias '{name}': some values exceed int32 at scale s_in·s_w and were clipped"
                ));
            }
            let def = self.body.defining_op(*b).expect("constant op");
            let at = self.body.next_op(def).expect("terminator");
            let qb = insert_const(
                self.body,
                at,
                &format!("{name}_quantized"),
                int_tensor(ScalarType::I32, t.shape.clone(), &q),
            );
            let scale = insert_const(
                self.body,
                at,
                &format!("{name}_quantized_scale"),
                float_tensor(t.elem, vec![scales.len() as u64], &scales),
            );
            let zp_shape = if per_channel {
                vec![scales.len() as u64]
            } else {
                vec![]
            };
            let zp = insert_const(
                self.body,
                at,
                &format!("{name}_quantized_zero_point"),
                int_tensor(ScalarType::I32, zp_shape, &vec![0; scales.len()]),
            );
            let ty = self.body.value_type(*b).clone();
            let dq = insert_op(
                self.body,
                at,
                &self.dq_kind.clone(),
                &[qb, scale, zp],
                ty,
                Self::axis_attr(per_channel.then_some(0)),
                &format!("{name}_DequantizeLinear"),
                &format!("{name}_DequantizeLinear_Output"),
            );
            self.body.replace_all_uses(*b, dq);
            self.body.value_mut(*b).name = None;
            self.body.value_mut(dq).name = Some(Arc::from(name.as_str()));
            self.float_constants.push(*b);
            if info.beta != 1.0 {
                self.body
                    .op_mut(info.node)
                    .set_attr("beta", Attribute::Float(1.0));
            }
            self.biases += 1;
        }
    }

    fn erase_dead_constants(&mut self) {
        for v in std::mem::take(&mut self.float_constants) {
            if let Some(op) = self.body.defining_op(v) {
                if &*self.body.op(op).kind == CONSTANT && self.body.results_unused(op) {
                    self.body.erase_op(op);
                }
            }
        }
    }
}

/// The float values of a scale constant.
fn scalar_values(body: &Body, v: ValueId) -> Vec<f32> {
    const_data(body, v)
        .and_then(float_values)
        .unwrap_or_default()
}

/// Quantizes a constant with its parameters (per channel along `axis`), clipping to the full type.
fn quantize_constant(values: &[f32], shape: &[u64], params: &TensorParams) -> Vec<i64> {
    let (lo, hi) =
        onnxqc_quant::params::qmin_qmax(params.storage, false, false).unwrap_or((0, 255));
    let p = |c: usize| QParams {
        scale: params.scales[c],
        zero_point: params.zero_points[c],
    };
    match params.axis {
        None => values
            .iter()
            .map(|&x| quantize_value(x, p(0), lo, hi))
            .collect(),
        Some(axis) => {
            let channels = shape[axis] as usize;
            let inner: usize = shape[axis + 1..].iter().product::<u64>() as usize;
            values
                .iter()
                .enumerate()
                .map(|(i, &x)| quantize_value(x, p((i / inner.max(1)) % channels), lo, hi))
                .collect()
        }
    }
}
