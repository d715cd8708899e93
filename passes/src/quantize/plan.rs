//! The static quantization planner: walks the main graph's ops in order and, for each op that should
//! be quantized, marks tensors exactly as ONNX Runtime's QDQ quantizer and its per-op handlers do
//! (`qdq_quantizer.py`, `operators/*.py`), then computes every scale and zero point with
//! `onnxqc_quant::params` (ONNX Runtime's arithmetic, bit for bit):
//!
//! - activations get parameters from the calibration table (`qc.calibration`), after ONNX Runtime's
//!   range adjustments: a Relu/Clip's input takes the Relu/Clip's output range, and Softmax outputs get
//!   [0, 1];
//! - Conv/ConvTranspose/Gemm/MatMul/normalization weights are quantized from their data, per tensor or
//!   per channel (per-channel weights are always symmetric, so that every channel has zero point 0);
//! - shape ops (Reshape, Transpose, pools, Slice, Split, Gather, Pad with a zero pad, ...) give their
//!   outputs their input's parameters ("shared");
//! - Relu/Clip after a quantized producer with one consumer disappear when activations are asymmetric:
//!   the producer's output takes the activation's name and range, which clamps the same way;
//! - biases of Conv/Gemm/normalizations become int32 with scale `s_in · s_w · beta`; a weight's scale
//!   is raised first when that scale would put the bias out of int32 range.
//!
//! The planner only mutates the graph for Relu/Clip removal and for duplicating a bias shared by two
//! ops; the lowerings insert the Q/DQ (or QLinear) ops.

use std::collections::BTreeMap;
use std::sync::Arc;

use onnxqc_ir::graph::split_op_kind;
use onnxqc_ir::{Attribute, Body, OpId, ScalarType, ValueId};
use onnxqc_quant::params::{
    compute_scale_zp, power_of_two_scale, qmin_qmax, quantize_data, quantize_per_channel_with,
    DataOptions, QParams, RangeOptions, ScaleType,
};
use onnxqc_quant::table::CalibrationTable;
use rustc_hash::{FxHashMap, FxHashSet};

use super::consts::{const_data, float_elem, float_values, insert_const};
use super::overrides::Override;
use super::Settings;

/// ONNX Runtime's default `op_types_to_quantize` for `quantize_static`.
pub use crate::calibrate::DEFAULT_OP_TYPES;

/// How a marked tensor is quantized.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// Activation type; for a constant, quantized from its data with the activation settings.
    Activation,
    /// Weight type (only differs from `Activation` for constants).
    Weight,
}

/// A tensor marked for quantization.
#[derive(Clone, Debug)]
pub struct Marked {
    pub role: Role,
    /// Use the parameters of this input of this op (the op's own input), instead of its own range.
    pub shared: Option<(ValueId, OpId)>,
    /// Per-channel axis (constants only).
    pub axis: Option<usize>,
}

/// A bias to store as int32.
#[derive(Clone, Debug)]
pub struct BiasInfo {
    pub node: OpId,
    pub input: ValueId,
    pub weight: ValueId,
    pub beta: f32,
}

/// Scale(s) and zero point(s) of a quantized tensor.
#[derive(Clone, Debug, PartialEq)]
pub struct TensorParams {
    pub storage: ScalarType,
    /// One per channel when `axis` is set, else one.
    pub scales: Vec<f32>,
    pub zero_points: Vec<i64>,
    pub axis: Option<usize>,
    /// The float type of the scale (the tensor's own type).
    pub scale_elem: ScalarType,
}

impl TensorParams {
    fn per_tensor(storage: ScalarType, p: QParams, scale_elem: ScalarType) -> TensorParams {
        TensorParams {
            storage,
            scales: vec![p.scale],
            zero_points: vec![p.zero_point],
            axis: None,
            scale_elem,
        }
    }
}

/// Why an op that was looked at was not quantized, for the summary.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Skip {
    OpType,
    ExcludedNode,
    NotInNodes,
    InputNotQuantized,
    OpsetTooOld,
    NoFloatTensor,
}

impl Skip {
    pub fn reason(self) -> &'static str {
        match self {
            Skip::OpType => "op type not selected",
            Skip::ExcludedNode => "excluded by exclude-nodes",
            Skip::NotInNodes => "not in nodes",
            Skip::InputNotQuantized => "input not quantized",
            Skip::OpsetTooOld => "opset too old for a quantized form",
            Skip::NoFloatTensor => "no float tensor to quantize",
        }
    }
}

/// The planner's result.
#[derive(Default)]
pub struct Plan {
    /// Marked tensors in marking order.
    pub order: Vec<ValueId>,
    pub marked: FxHashMap<ValueId, Marked>,
    pub biases: Vec<(ValueId, BiasInfo)>,
    /// For each tensor, the ops that should be quantized and read it (ONNX Runtime's
    /// `tensor_to_its_receiving_nodes`, used for dedicated Q/DQ pairs).
    pub receivers: FxHashMap<ValueId, Vec<OpId>>,
    /// Activation parameters by tensor name (calibrated ranges after the Relu/Softmax adjustments).
    pub activation: FxHashMap<String, TensorParams>,
    /// Constant parameters (weights and constants quantized as activations).
    pub constants: FxHashMap<ValueId, TensorParams>,
    /// Relu/Clip ops folded into their producer.
    pub removed_activations: u64,
    /// Per op type: (looked at, with a quantized input or output), and skips by reason.
    pub by_op: BTreeMap<String, (u64, u64, BTreeMap<Skip, u64>)>,
    pub notes: Vec<String>,
}

impl Plan {
    pub fn is_marked(&self, v: ValueId) -> bool {
        self.marked.contains_key(&v) || self.biases.iter().any(|(b, _)| *b == v)
    }
}

struct Planner<'a> {
    body: &'a mut Body,
    s: &'a Settings,
    opset: i64,
    ranges: FxHashMap<String, (f32, f32)>,
    op_types: FxHashSet<String>,
    plan: Plan,
}

/// Plans the quantization of the main graph `body` (`opset`: the default-domain opset).
pub fn plan(
    body: &mut Body,
    settings: &Settings,
    opset: i64,
    table: &CalibrationTable,
) -> Result<Plan, String> {
    let op_types: FxHashSet<String> = if settings.op_types.is_empty() {
        DEFAULT_OP_TYPES.iter().map(|s| s.to_string()).collect()
    } else {
        settings.op_types.iter().cloned().collect()
    };
    let mut p = Planner {
        body,
        s: settings,
        opset,
        ranges: table
            .entries
            .iter()
            .map(|(n, st)| (n.clone(), (st.lowest, st.highest)))
            .collect(),
        op_types,
        plan: Plan::default(),
    };
    if !settings.overrides.is_empty() {
        p.check_overrides()?;
    }
    p.adjust_ranges();
    p.activation_params()?;
    let block = p.body.entry_block();
    let ops: Vec<OpId> = p.body.block_ops(block).collect();
    for op in ops {
        if !p.body.op(op).is_alive() || p.body.op(op).parent_block().is_none() {
            continue;
        }
        let op_type = split_op_kind(&p.body.op(op).kind).1.to_string();
        if op_type == "Constant" || p.body.return_op() == Some(op) {
            continue;
        }
        match p.should_quantize(op, &op_type) {
            Err(skip) => {
                // Only ops of quantizable types are worth a line in the summary.
                if skip != Skip::OpType {
                    p.count(&op_type, false, Some(skip));
                }
            }
            Ok(()) => {
                let before = p.plan.order.len() + p.plan.biases.len();
                let removed_before = p.plan.removed_activations;
                let skip = p.quantize_op(op, &op_type);
                let inputs: Vec<ValueId> = if p.body.op(op).is_alive() {
                    p.body.op(op).operands().to_vec()
                } else {
                    vec![]
                };
                for v in inputs {
                    p.plan.receivers.entry(v).or_default().push(op);
                }
                let did = p.plan.order.len() + p.plan.biases.len() > before
                    || p.plan.removed_activations > removed_before;
                p.count(
                    &op_type,
                    did,
                    if did {
                        None
                    } else {
                        skip.or(Some(Skip::NoFloatTensor))
                    },
                );
            }
        }
    }
    p.constant_params()?;
    if p.s.adjust_weight_for_bias {
        p.adjust_weights_for_biases();
    }
    Ok(p.plan)
}

impl Planner<'_> {
    fn count(&mut self, op_type: &str, quantized: bool, skip: Option<Skip>) {
        let e = self.plan.by_op.entry(op_type.to_string()).or_default();
        e.0 += 1;
        if quantized {
            e.1 += 1;
        }
        if let Some(s) = skip {
            *e.2.entry(s).or_default() += 1;
        }
    }

    fn node_name(&self, op: OpId) -> &str {
        self.body.op(op).name.as_deref().unwrap_or("")
    }

    fn should_quantize(&self, op: OpId, op_type: &str) -> Result<(), Skip> {
        let kind = &self.body.op(op).kind;
        if kind.starts_with("qc.") || op_type == "QuantizeLinear" || op_type == "DequantizeLinear" {
            return Err(Skip::OpType);
        }
        if !self.op_types.contains(op_type) {
            return Err(Skip::OpType);
        }
        let name = self.node_name(op);
        if !self.s.nodes.is_empty() && !self.s.nodes.iter().any(|n| n == name) {
            return Err(Skip::NotInNodes);
        }
        if self.s.exclude_nodes.iter().any(|n| n == name) {
            return Err(Skip::ExcludedNode);
        }
        Ok(())
    }

    fn name_of(&self, v: ValueId) -> Option<&str> {
        self.body.value(v).name.as_deref()
    }

    /// Ops reading `v` (each counted once), as ONNX Runtime's `input_name_to_nodes`.
    fn consumers(&self, v: ValueId) -> Vec<OpId> {
        let ret = self.body.return_op();
        let mut out: Vec<OpId> = vec![];
        for u in self.body.value(v).uses() {
            if Some(u.op) != ret && !out.contains(&u.op) {
                out.push(u.op);
            }
        }
        out
    }

    fn is_graph_output(&self, v: ValueId) -> bool {
        self.body.outputs().contains(&v)
    }

    fn is_graph_input(&self, v: ValueId) -> bool {
        self.body.inputs().contains(&v)
    }

    fn is_const(&self, v: ValueId) -> bool {
        const_data(self.body, v).is_some()
    }

    /// The overrides name tensors of this model, with shapes that fit.
    fn check_overrides(&self) -> Result<(), String> {
        let mut by_name: FxHashMap<&str, ValueId> = FxHashMap::default();
        let ops = self.body.all_ops();
        let values = self.body.inputs().iter().copied().chain(
            ops.iter()
                .flat_map(|&op| self.body.op(op).results().to_vec()),
        );
        for v in values {
            if let Some(n) = self.name_of(v) {
                by_name.insert(n, v);
            }
        }
        let exists = |n: &str| by_name.contains_key(n);
        let shape = |n: &str| {
            let v = *by_name.get(n)?;
            const_data(self.body, v).map(|t| t.shape.clone())
        };
        self.s
            .overrides
            .check(&exists, &shape)
            .map_err(|e| format!("overrides: {e}"))
    }

    /// ONNX Runtime's `adjust_tensor_ranges`.
    fn adjust_ranges(&mut self) {
        let block = self.body.entry_block();
        let ops: Vec<OpId> = self.body.block_ops(block).collect();
        for op in ops {
            let op_type = split_op_kind(&self.body.op(op).kind).1.to_string();
            if !matches!(op_type.as_str(), "Relu" | "Clip" | "Softmax")
                || self.should_quantize(op, &op_type).is_err()
            {
                continue;
            }
            let d = self.body.op(op);
            let (Some(&input), Some(&output)) = (d.operands().first(), d.results().first()) else {
                continue;
            };
            let (Some(out_name), in_name) = (
                self.name_of(output).map(str::to_string),
                self.name_of(input).map(str::to_string),
            ) else {
                continue;
            };
            if op_type == "Softmax" {
                self.ranges.insert(out_name, (0.0, 1.0));
                continue;
            }
            let Some(in_name) = in_name else { continue };
            if self.consumers(input).len() != 1 {
                continue;
            }
            if let (true, Some(&r)) = (
                self.ranges.contains_key(&in_name),
                self.ranges.get(&out_name),
            ) {
                self.ranges.insert(in_name, r);
            }
        }
    }

    /// Parameters of every calibrated tensor (ONNX Runtime's `calc_graph_quant_params`).
    fn activation_params(&mut self) -> Result<(), String> {
        let (qmin, qmax) = qmin_qmax(self.s.activation_type, false, self.s.activation_symmetric)?;
        // The scale type follows the tensor's float type; look the names up once.
        let mut elem_by_name: FxHashMap<&str, ScalarType> = FxHashMap::default();
        for op in self.body.all_ops() {
            for &v in self.body.op(op).results() {
                if let (Some(n), Some(e)) = (self.name_of(v), float_elem(self.body, v)) {
                    elem_by_name.insert(n, e);
                }
            }
        }
        for &v in self.body.inputs() {
            if let (Some(n), Some(e)) = (self.name_of(v), float_elem(self.body, v)) {
                elem_by_name.insert(n, e);
            }
        }
        let mut out = FxHashMap::default();
        let no_override = Override::default();
        for (name, &(lo, hi)) in &self.ranges {
            let scale_elem = elem_by_name
                .get(name.as_str())
                .copied()
                .unwrap_or(ScalarType::F32);
            // ONNX Runtime's `calc_quant_params`: a tensor override replaces the type, the range,
            // symmetry, reduce-range or the parameters themselves.
            let o = self.s.overrides.per_tensor(name).unwrap_or(&no_override);
            let storage = o.quant_type.unwrap_or(self.s.activation_type);
            let p = if let Some((scale, zero_point)) = o.scale_zp() {
                check_zero_point(name, zero_point, storage)?;
                QParams { scale, zero_point }
            } else {
                let symmetric = o.symmetric.unwrap_or(self.s.activation_symmetric);
                let (lo, hi) = (o.rmin.unwrap_or(lo), o.rmax.unwrap_or(hi));
                let (qmin, qmax) = if o.quant_type.is_some() || o.symmetric.is_some() {
                    qmin_qmax(storage, false, symmetric)?
                } else {
                    (qmin, qmax)
                };
                let options = RangeOptions {
                    symmetric,
                    min_real_range: self.s.min_real_range,
                    scale_type: ScaleType::of(scale_elem),
                };
                let mut p = compute_scale_zp(lo, hi, qmin, qmax, options)
                    .map_err(|e| format!("tensor '{name}': {e}"))?;
                if self.s.power_of_two {
                    p = power_of_two_scale(p, lo, qmin, qmax, options)
                        .map_err(|e| format!("tensor '{name}': {e}"))?
                        .0;
                }
                p
            };
            out.insert(
                name.clone(),
                TensorParams::per_tensor(storage, p, scale_elem),
            );
        }
        self.plan.activation = out;
        Ok(())
    }

    // ----- marking (ONNX Runtime's quantize_* methods) -----

    fn quantizable(&self, v: ValueId) -> bool {
        float_elem(self.body, v).is_some()
    }

    fn mark(&mut self, v: ValueId, role: Role, shared: Option<(ValueId, OpId)>) {
        if !self.quantizable(v) {
            return;
        }
        if shared.is_some() {
            if !self.plan.marked.contains_key(&v) {
                self.plan.order.push(v);
            }
            self.plan.marked.insert(
                v,
                Marked {
                    role,
                    shared,
                    axis: None,
                },
            );
        } else if !self.plan.marked.contains_key(&v) {
            self.plan.order.push(v);
            self.plan.marked.insert(
                v,
                Marked {
                    role,
                    shared: None,
                    axis: None,
                },
            );
        }
    }

    fn activation(&mut self, v: ValueId) {
        self.mark(v, Role::Activation, None);
    }

    fn shared(&mut self, out: ValueId, input: ValueId, op: OpId) {
        self.mark(out, Role::Activation, Some((input, op)));
    }

    fn weight(&mut self, v: ValueId) {
        self.mark(v, Role::Weight, None);
    }

    fn weight_per_channel(&mut self, v: ValueId, axis: usize) {
        if self.is_const(v) && self.quantizable(v) {
            if !self.plan.marked.contains_key(&v) {
                self.plan.order.push(v);
            }
            self.plan.marked.insert(
                v,
                Marked {
                    role: Role::Weight,
                    shared: None,
                    axis: Some(axis),
                },
            );
        } else {
            self.weight(v);
        }
    }

    fn unmark(&mut self, v: ValueId) {
        if self.plan.marked.remove(&v).is_some() {
            self.plan.order.retain(|&x| x != v);
        }
    }

    /// ONNX Runtime's `is_tensor_per_channel`: the channel axis when `v` is a constant quantized per
    /// channel.
    fn per_channel_axis(&self, v: ValueId, default_axis: i64, op_type: &str) -> Option<usize> {
        let name = self.name_of(v).unwrap_or("");
        if self.s.overrides.per_tensor(name).is_some() {
            return None;
        }
        let overridden = self.s.overrides.per_channel(name).and_then(|l| l[0].axis);
        if !self.s.per_channel && overridden.is_none() {
            return None;
        }
        let t = const_data(self.body, v)?;
        let axis = overridden.unwrap_or_else(|| {
            self.s
                .per_channel_axis
                .iter()
                .find(|(o, _)| o == op_type)
                .map_or(default_axis, |(_, a)| *a)
        });
        let rank = t.shape.len() as i64;
        let axis = if axis < 0 { axis + rank } else { axis };
        (0..rank).contains(&axis).then_some(axis as usize)
    }

    fn bias(&mut self, op: OpId, index: usize, input: ValueId, weight: ValueId, beta: f32) {
        let Some(&b) = self.body.op(op).operands().get(index) else {
            return;
        };
        if self
            .name_of(b)
            .is_some_and(|n| self.s.overrides.get(n).is_some())
        {
            // ONNX Runtime: a bias with overrides is quantized as a regular weight.
            match self.per_channel_axis(b, 0, "") {
                Some(axis) => self.weight_per_channel(b, axis),
                None => self.weight(b),
            }
            return;
        }
        let Some(t) = const_data(self.body, b) else {
            return;
        };
        if !matches!(t.elem, ScalarType::F32 | ScalarType::F16) {
            return;
        }
        let mut b = b;
        if self.plan.biases.iter().any(|(x, _)| *x == b) {
            // A bias read by two ops gets a copy per op: its scale depends on the op's input and weight.
            let t = t.clone();
            let base = self.name_of(b).unwrap_or("bias").to_string();
            let mut k = 1;
            let name = loop {
                let candidate = format!("{base}{k}");
                if !self.name_taken(&candidate) {
                    break candidate;
                }
                k += 1;
            };
            let at = self.body.defining_op(b).expect("constant op");
            let copy = insert_const(self.body, at, &name, t);
            self.body.set_operand(op, index, copy);
            b = copy;
        }
        self.plan.biases.push((
            b,
            BiasInfo {
                node: op,
                input,
                weight,
                beta,
            },
        ));
    }

    fn name_taken(&self, name: &str) -> bool {
        self.body
            .all_ops()
            .iter()
            .flat_map(|&op| self.body.op(op).results().to_vec())
            .any(|v| self.name_of(v) == Some(name))
    }

    fn output_excluded(&self, op_type: &str) -> bool {
        self.s.exclude_output_op_types.iter().any(|t| t == op_type)
    }

    /// Marks the tensors of one op; returns why nothing was marked when that is the op's own choice.
    fn quantize_op(&mut self, op: OpId, op_type: &str) -> Option<Skip> {
        let d = self.body.op(op);
        let ins: Vec<ValueId> = d.operands().to_vec();
        let outs: Vec<ValueId> = d.results().to_vec();
        let no_out = self.output_excluded(op_type);
        let in0 = ins.first().copied();
        let present_values: Vec<Option<ValueId>> = ins
            .iter()
            .map(|&v| (!self.is_none_value(v)).then_some(v))
            .collect();
        let present = |i: usize| present_values.get(i).copied().flatten();
        match op_type {
            "Conv" | "ConvTranspose" | "Gemm" => {
                let (Some(x), Some(w)) = (present(0), present(1)) else {
                    return None;
                };
                self.activation(x);
                if !no_out {
                    self.activation(outs[0]);
                }
                let default_axis = match op_type {
                    "Conv" => 0,
                    "ConvTranspose" => 1,
                    _ => {
                        if self.int_attr(op, "transB").unwrap_or(0) != 0 {
                            0
                        } else {
                            1
                        }
                    }
                };
                match self.per_channel_axis(w, default_axis, op_type) {
                    Some(axis) => self.weight_per_channel(w, axis),
                    None => self.weight(w),
                }
                if let Some(b) = present(2) {
                    if op_type == "Gemm" {
                        if self.is_const(b) {
                            let beta = self.float_attr(op, "beta").unwrap_or(1.0);
                            self.bias(op, 2, x, w, beta);
                        } else {
                            self.plan.notes.push(format!(
                                "Gemm '{}': the bias is not a constant, so it stays float",
                                self.node_name(op)
                            ));
                        }
                    } else {
                        self.bias(op, 2, x, w, 1.0);
                    }
                }
                None
            }
            "MatMul" => {
                let list: Vec<ValueId> = if no_out {
                    ins.clone()
                } else {
                    ins.iter().chain(&outs).copied().collect()
                };
                for v in list {
                    if self.is_const(v) {
                        match self.per_channel_axis(v, 1, op_type) {
                            Some(axis) => self.weight_per_channel(v, axis),
                            None => self.weight(v),
                        }
                    } else {
                        self.activation(v);
                    }
                }
                None
            }
            "Relu" | "Clip" => {
                let x = in0?;
                if !self.plan.is_marked(x) {
                    return Some(Skip::InputNotQuantized);
                }
                if !self.s.activation_symmetric
                    && !self.s.keep_removable_activations
                    && self.try_replacing_upstream_output(x, outs[0], op)
                {
                    self.plan.removed_activations += 1;
                } else {
                    self.activation(x);
                }
                if !no_out {
                    // After a removal, the producer's output stands for the activation's.
                    let out = if self.body.op(op).is_alive() {
                        outs[0]
                    } else {
                        x
                    };
                    self.activation(out);
                }
                None
            }
            "Reshape" | "Transpose" | "Squeeze" | "Unsqueeze" | "Flatten" | "AveragePool"
            | "Slice" | "TopK" | "Resize" | "MaxPool" => {
                if (op_type == "Resize" && self.opset < 11)
                    || (op_type == "MaxPool" && self.opset < 12)
                {
                    return Some(Skip::OpsetTooOld);
                }
                let x = in0?;
                if self.s.force_quantize_no_input_check {
                    self.activation(x);
                    if !no_out {
                        self.shared(outs[0], x, op);
                    }
                } else if self.plan.is_marked(x) && !no_out {
                    self.shared(outs[0], x, op);
                } else {
                    return Some(Skip::InputNotQuantized);
                }
                None
            }
            "Pad" => {
                for &v in &ins {
                    if !self.is_none_value(v) {
                        self.activation(v);
                    }
                }
                if !no_out {
                    let x = in0?;
                    if self.pad_keeps_range(op) {
                        self.shared(outs[0], x, op);
                    } else {
                        self.activation(outs[0]);
                    }
                }
                None
            }
            "Split" => {
                let x = in0?;
                if !self.plan.is_marked(x) {
                    self.activation(x);
                }
                if !no_out {
                    for &o in &outs {
                        self.shared(o, x, op);
                    }
                }
                None
            }
            "Gather" | "GatherElements" => {
                let x = in0?;
                if (self.is_const(x) && self.quantizable(x)) || self.s.force_quantize_no_input_check
                {
                    self.activation(x);
                    self.shared(outs[0], x, op);
                } else if self.plan.is_marked(x) {
                    self.shared(outs[0], x, op);
                } else {
                    return Some(Skip::InputNotQuantized);
                }
                None
            }
            "Where" => {
                let (Some(a), Some(b)) = (present(1), present(2)) else {
                    return None;
                };
                if self.s.force_quantize_no_input_check {
                    for v in [a, b] {
                        if !self.plan.is_marked(v) {
                            self.activation(v);
                        }
                    }
                    if !no_out {
                        for &o in &outs {
                            self.activation(o);
                        }
                    }
                } else if self.plan.is_marked(a) && self.plan.is_marked(b) && !no_out {
                    for &o in &outs {
                        self.activation(o);
                    }
                } else {
                    return Some(Skip::InputNotQuantized);
                }
                None
            }
            "InstanceNormalization" | "LayerNormalization" | "BatchNormalization" => {
                let (Some(x), Some(scale)) = (present(0), present(1)) else {
                    return None;
                };
                self.activation(x);
                match self.per_channel_axis(scale, 1, op_type) {
                    Some(axis) => self.weight_per_channel(scale, axis),
                    None if self.is_const(scale) => self.weight(scale),
                    None => self.activation(scale),
                }
                if present(2).is_some() {
                    self.bias(op, 2, x, scale, 1.0);
                }
                if !no_out {
                    for &o in &outs {
                        self.activation(o);
                    }
                }
                None
            }
            _ => {
                for &v in &ins {
                    if !self.is_none_value(v) {
                        self.activation(v);
                    }
                }
                if !no_out {
                    for &o in &outs {
                        self.activation(o);
                    }
                }
                None
            }
        }
    }

    fn is_none_value(&self, v: ValueId) -> bool {
        self.body
            .defining_op(v)
            .is_some_and(|op| &*self.body.op(op).kind == "onnx.NoValue")
    }

    fn int_attr(&self, op: OpId, name: &str) -> Option<i64> {
        self.body.op(op).attr(name).and_then(Attribute::as_int)
    }

    fn float_attr(&self, op: OpId, name: &str) -> Option<f32> {
        match self.body.op(op).attr(name) {
            Some(Attribute::Float(f)) => Some(*f),
            _ => None,
        }
    }

    /// ONNX Runtime's `QDQPad._should_quantize_output_same_as_input`: padding repeats input values, or
    /// pads with a constant 0 (every range contains 0).
    fn pad_keeps_range(&self, op: OpId) -> bool {
        let mode = match self.body.op(op).attr("mode") {
            Some(Attribute::String(s)) => s.as_str(),
            _ => "constant",
        };
        if matches!(mode, "reflect" | "edge" | "wrap") {
            return true;
        }
        if mode != "constant" {
            return false;
        }
        if self.opset < 11 {
            return self.float_attr(op, "value").unwrap_or(0.0) == 0.0;
        }
        match self.body.op(op).operands().get(2) {
            Some(&v) if !self.is_none_value(v) => const_data(self.body, v)
                .and_then(float_values)
                .is_some_and(|vals| vals.first() == Some(&0.0)),
            _ => true,
        }
    }

    /// ONNX Runtime's `try_replacing_upstream_output`: the producer of `upstream` writes the
    /// activation's output directly and the activation goes away.
    fn try_replacing_upstream_output(&mut self, upstream: ValueId, out: ValueId, op: OpId) -> bool {
        let Some(out_name) = self.name_of(out).map(str::to_string) else {
            return false;
        };
        if !self.plan.activation.contains_key(&out_name)
            || self.consumers(upstream).len() != 1
            || self.is_graph_output(upstream)
            || self.is_graph_input(upstream)
            || self.body.defining_op(upstream).is_none()
        {
            return false;
        }
        self.body.value_mut(out).name = None;
        self.body.value_mut(upstream).name = Some(Arc::from(out_name.as_str()));
        self.body.replace_all_uses(out, upstream);
        self.body.erase_op(op);
        self.unmark(upstream);
        true
    }

    // ----- parameters of constants -----

    /// ONNX Runtime's `_calc_initializer_quant_params`.
    fn constant_params(&mut self) -> Result<(), String> {
        let mut out = FxHashMap::default();
        for &v in &self.plan.order {
            let m = &self.plan.marked[&v];
            let Some(t) = const_data(self.body, v) else {
                continue;
            };
            let Some(values) = float_values(t) else {
                continue;
            };
            let is_weight = m.role == Role::Weight;
            let name = self.name_of(v).unwrap_or("?").to_string();
            let no_override = [Override::default()];
            let overrides = self.s.overrides.get(&name).unwrap_or(&no_override);
            let o = &overrides[0];
            let default_storage = if is_weight {
                self.s.weight_type
            } else {
                self.s.activation_type
            };
            let storage = o.quant_type.unwrap_or(default_storage);
            let rank = t.shape.len() as i64;
            let axis = match o.axis {
                Some(a) => Some((if a < 0 { a + rank } else { a }) as usize),
                None => m.axis,
            };
            if o.scale_zp().is_some() {
                // The user's parameters as given (ONNX Runtime's `overrides_scale_zp`).
                let channels = axis.map_or(1, |a| t.shape[a] as usize);
                if overrides.len() != channels {
                    return Err(format!(
                        "constant '{name}': the overrides give {} scale/zero point(s) for {channels} channel(s)",
                        overrides.len()
                    ));
                }
                let pairs: Vec<(f32, i64)> =
                    overrides.iter().filter_map(Override::scale_zp).collect();
                if pairs.len() != channels {
                    return Err(format!(
                        "constant '{name}': every channel override needs 'scale' and 'zero_point'"
                    ));
                }
                for &(_, zp) in &pairs {
                    check_zero_point(&name, zp, storage)?;
                }
                out.insert(
                    v,
                    TensorParams {
                        storage,
                        scales: pairs.iter().map(|p| p.0).collect(),
                        zero_points: pairs.iter().map(|p| p.1).collect(),
                        axis,
                        scale_elem: t.elem,
                    },
                );
                continue;
            }
            let symmetric = o.symmetric.unwrap_or(
                axis.is_some()
                    || if is_weight {
                        self.s.weight_symmetric_for(storage)
                    } else {
                        self.s.activation_symmetric
                    },
            );
            let options = DataOptions {
                storage,
                symmetric,
                reduce_range: o.reduce_range.unwrap_or(self.s.reduce_range),
                min_real_range: self.s.min_real_range,
                scale_type: ScaleType::of(t.elem),
                rmin_override: o.rmin,
                rmax_override: o.rmax,
            };
            let params = match axis {
                None => {
                    let q = quantize_data(&values, options)
                        .map_err(|e| format!("constant '{name}': {e}"))?;
                    let mut p = q.params;
                    if self.s.power_of_two {
                        let (qmin, qmax) = qmin_qmax(storage, options.reduce_range, symmetric)?;
                        let range = RangeOptions {
                            symmetric,
                            min_real_range: self.s.min_real_range,
                            scale_type: ScaleType::of(t.elem),
                        };
                        p = power_of_two_scale(p, q.rmin, qmin, qmax, range)
                            .map_err(|e| format!("constant '{name}': {e}"))?
                            .0;
                    }
                    TensorParams::per_tensor(storage, p, t.elem)
                }
                Some(axis) => {
                    let shape: Vec<usize> = t.shape.iter().map(|&d| d as usize).collect();
                    // Channel i takes rmin/rmax from the i-th dictionary, as ONNX Runtime.
                    let (ps, _) = quantize_per_channel_with(&values, &shape, axis, |c| {
                        let co = overrides.get(c);
                        DataOptions {
                            rmin_override: co.and_then(|o| o.rmin),
                            rmax_override: co.and_then(|o| o.rmax),
                            ..options
                        }
                    })
                    .map_err(|e| format!("constant '{name}': {e}"))?;
                    let ps = if self.s.power_of_two {
                        // Per-channel weights are symmetric: the zero point stays, the scale rounds up.
                        ps.into_iter()
                            .map(|p| {
                                round_up_to_power_of_two(p.scale, t.elem)
                                    .map(|scale| QParams { scale, ..p })
                            })
                            .collect::<Result<Vec<_>, _>>()
                            .map_err(|e| format!("constant '{name}': {e}"))?
                    } else {
                        ps
                    };
                    TensorParams {
                        storage,
                        scales: ps.iter().map(|p| p.scale).collect(),
                        zero_points: ps.iter().map(|p| p.zero_point).collect(),
                        axis: Some(axis),
                        scale_elem: t.elem,
                    }
                }
            };
            out.insert(v, params);
        }
        self.plan.constants = out;
        Ok(())
    }

    /// ONNX Runtime's `_adjust_weight_quant_params_for_bias_tensors`: raises a symmetric int8/int16
    /// weight's scale where `s_in · s_w` is too small for the bias to fit in int32.
    fn adjust_weights_for_biases(&mut self) {
        for (b, info) in self.plan.biases.clone() {
            let Some(in_name) = self.name_of(info.input).map(str::to_string) else {
                continue;
            };
            let Some(input) = self.plan.activation.get(&in_name) else {
                continue;
            };
            if !self.plan.marked.contains_key(&info.input) {
                continue;
            }
            let input_scale = input.scales[0] as f64;
            let Some(w) = self.plan.constants.get_mut(&info.weight) else {
                continue;
            };
            if !matches!(w.storage, ScalarType::I8 | ScalarType::I16)
                || w.zero_points.iter().any(|&z| z != 0)
            {
                continue;
            }
            let Some(bias) = const_data(self.body, b).and_then(float_values) else {
                continue;
            };
            let qrange = i32::MAX as f64 - (i32::MIN as f64 + 1.0);
            let eps = 1.0001;
            let f16_scale = w.scale_elem == ScalarType::F16;
            let pow2 = self.s.power_of_two;
            let elem = w.scale_elem;
            let raise = |scale: f32, smallest: f64| -> Option<f32> {
                let candidate = input_scale * scale as f64;
                if candidate < smallest && candidate > 0.0 {
                    let new = round_scale_up(scale as f64 * (smallest / candidate), f16_scale);
                    // A raised power-of-two scale stays a power of two (rounded up, so the bias fits).
                    Some(if pow2 {
                        round_up_to_power_of_two(new, elem).unwrap_or(new)
                    } else {
                        new
                    })
                } else {
                    None
                }
            };
            if w.axis.is_none() {
                // numpy: min/max of the float bias (in its own type), widened to include 0, in f64.
                let lo = bias.iter().copied().fold(f32::INFINITY, f32::min).min(0.0) as f64;
                let hi = bias
                    .iter()
                    .copied()
                    .fold(f32::NEG_INFINITY, f32::max)
                    .max(0.0) as f64;
                let smallest = eps * (2.0 * lo.abs().max(hi.abs())) / qrange;
                if let Some(s) = raise(w.scales[0], smallest) {
                    w.scales[0] = s;
                }
            } else {
                for (scale, b) in w.scales.iter_mut().zip(&bias) {
                    // Here numpy computes `1.0001 * (2 * |b|)` in the bias's float32.
                    let smallest = (eps as f32 * (2.0 * b.abs())) as f64 / qrange;
                    if let Some(s) = raise(*scale, smallest) {
                        *scale = s;
                    }
                }
            }
        }
    }
}

/// A zero point given by the overrides fits the storage type.
fn check_zero_point(name: &str, zero_point: i64, storage: ScalarType) -> Result<(), String> {
    let (lo, hi) = qmin_qmax(storage, false, false)?;
    if (lo..=hi).contains(&zero_point) {
        Ok(())
    } else {
        Err(format!(
            "overrides: tensor '{name}': zero point {zero_point} is out of range for {}",
            storage.mlir_name()
        ))
    }
}

/// The least power of two at least `scale`, representable in the scale's float type.
fn round_up_to_power_of_two(scale: f32, elem: ScalarType) -> Result<f32, String> {
    let p = QParams {
        scale,
        zero_point: 0,
    };
    let options = RangeOptions {
        symmetric: true,
        min_real_range: None,
        scale_type: ScaleType::of(elem),
    };
    power_of_two_scale(p, 0.0, 0, 0, options).map(|(p, _)| p.scale)
}

/// An f64 scale rounded to f32, or to f16 rounding up so that the bias still fits (ONNX Runtime's
/// `nextafter` correction).
fn round_scale_up(x: f64, f16_scale: bool) -> f32 {
    if f16_scale {
        let h = half::f16::from_f64(x);
        if (h.to_f64()) < x {
            half::f16::from_bits(h.to_bits() + 1).to_f32()
        } else {
            h.to_f32()
        }
    } else {
        x as f32
    }
}
