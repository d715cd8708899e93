//! `dynamic`: dynamic quantization, as ONNX Runtime's `quantize_dynamic` (its `IntegerOps` mode). No
//! calibration: weights are quantized ahead of time, activations at run time by `DynamicQuantizeLinear`
//! (always uint8). Rewrites, with ONNX Runtime's names:
//!
//! - `MatMul(a, B)` → `DynamicQuantizeLinear(a)`, `MatMulInteger(a_q, B_q, a_zp, B_zp)`, `Cast` to
//!   float, `Mul(a_scale, B_scale)`, `Mul` (per-channel B: one scale per column);
//! - `Conv(x, W, b)` → the same with `ConvInteger` (per-tensor W), then `Add(Reshape(b))`;
//! - `Gather(E, ids)` with a constant table → `Gather` on the uint8 table; `Transpose` of a quantized
//!   tensor stays quantized; a `DequantizeLinear` gives the float back where a consumer needs it.
//!
//! With `matmul-const-b-only` (the default, as in ONNX Runtime's `quantize_dynamic`), a MatMul whose B is
//! not a constant stays float. Float16 activations stay float: `DynamicQuantizeLinear` takes float32 only.

use std::collections::BTreeMap;
use std::sync::Arc;

use onnxqc_ir::graph::split_op_kind;
use onnxqc_ir::{Attribute, Body, Module, OpId, ScalarType, Type, ValueId};
use onnxqc_onnx::default_opset;
use onnxqc_quant::params::{quantize_data, quantize_per_channel, DataOptions, ScaleType};
use rustc_hash::{FxHashMap, FxHashSet};

use crate::options::{OptKind, OptionSpec};
use crate::quantize;
use crate::quantize::consts::{
    const_data, float_elem, float_tensor, float_values, insert_const, insert_op, int_tensor,
    with_elem, CONSTANT,
};
use crate::registry::PassInfo;
use crate::{Pass, PassContext, PassError, PassOptions, PassOutcome};

/// ONNX Runtime's `IntegerOpsRegistry`. Attention, LSTM and EmbedLayerNormalization (its fused
/// `com.microsoft` forms) are not rewritten yet; the summary counts them.
pub const DEFAULT_OP_TYPES: [&str; 7] = [
    "Conv",
    "MatMul",
    "Gather",
    "Transpose",
    "Attention",
    "LSTM",
    "EmbedLayerNormalization",
];

pub const OPTIONS: [OptionSpec; 9] = [
    OptionSpec {
        name: "weight-type",
        kind: OptKind::Enum(&["s8", "u8"]),
        default: "s8",
        help: "storage type of weights (weight_type); activations are always uint8",
    },
    OptionSpec {
        name: "per-channel",
        kind: OptKind::Bool,
        default: "false",
        help: "one scale per column of MatMul weights (Conv weights stay per tensor, as in ONNX Runtime)",
    },
    quantize::REDUCE_RANGE,
    OptionSpec {
        name: "weight-symmetric",
        kind: OptKind::Enum(&["auto", "true", "false"]),
        default: "auto",
        help: "symmetric weights (WeightSymmetric); auto: symmetric for s8",
    },
    OptionSpec {
        name: "activation-symmetric",
        kind: OptKind::Bool,
        default: "false",
        help: "symmetric uint8 parameters for constants quantized as activations (Gather tables)",
    },
    OptionSpec {
        name: "op-types",
        kind: OptKind::List,
        default: "",
        help: "op types to quantize (default: ONNX Runtime's quantize_dynamic set)",
    },
    quantize::NODES,
    quantize::EXCLUDE_NODES,
    OptionSpec {
        name: "matmul-const-b-only",
        kind: OptKind::Bool,
        default: "true",
        help: "quantize only MatMuls whose B is a constant (MatMulConstBOnly)",
    },
];

pub fn info() -> PassInfo {
    PassInfo {
        name: "dynamic",
        summary: "Dynamic quantization: int8 weights, uint8 activations quantized at run time \
                  (MatMulInteger, ConvInteger)",
        options: &OPTIONS,
        requires: &[],
        provides: &[],
        create: |o: &PassOptions| Box::new(Dynamic { opts: o.clone() }),
    }
}

struct Dynamic {
    opts: PassOptions,
}

fn err(msg: impl Into<String>) -> PassError {
    PassError::new("dynamic", msg)
}

struct Settings {
    weight_type: ScalarType,
    per_channel: bool,
    reduce_range: bool,
    weight_symmetric: bool,
    activation_symmetric: bool,
    op_types: FxHashSet<String>,
    nodes: Vec<String>,
    exclude_nodes: Vec<String>,
    const_b_only: bool,
}

impl Settings {
    fn from_options(o: &PassOptions) -> Settings {
        let weight_type = if o.str("weight-type") == "u8" {
            ScalarType::U8
        } else {
            ScalarType::I8
        };
        let op_types = if o.list("op-types").is_empty() {
            DEFAULT_OP_TYPES.iter().map(|s| s.to_string()).collect()
        } else {
            o.list("op-types").iter().cloned().collect()
        };
        Settings {
            weight_type,
            per_channel: o.bool("per-channel"),
            reduce_range: o.bool("reduce-range"),
            weight_symmetric: match o.str("weight-symmetric") {
                "true" => true,
                "false" => false,
                _ => weight_type == ScalarType::I8,
            },
            activation_symmetric: o.bool("activation-symmetric"),
            op_types,
            nodes: o.list("nodes").to_vec(),
            exclude_nodes: o.list("exclude-nodes").to_vec(),
            const_b_only: o.bool("matmul-const-b-only"),
        }
    }
}

/// A quantized form of a float value: the integer tensor and its scale and zero point.
#[derive(Clone, Copy)]
struct QValue {
    q: ValueId,
    scale: ValueId,
    zero_point: ValueId,
}

/// Why an op of a quantizable type stayed float.
const NOT_SELECTED: &str = "not selected (nodes / exclude-nodes)";
const NO_FLOAT_INPUT: &str = "no float32 input";
const B_NOT_CONST: &str = "B is not a constant (matmul-const-b-only)";
const W_NOT_CONST: &str = "weight is not a float constant";
const TABLE_NOT_CONST: &str = "data is not a float constant";
const INPUT_NOT_QUANTIZED: &str = "input not quantized";
const OPSET: &str = "opset below 11 (no DynamicQuantizeLinear)";
const NO_FORM: &str = "no integer form in onnxqc yet";
const FLOAT16: &str = "float16 input (DynamicQuantizeLinear takes float32)";

struct Rewriter<'a> {
    body: &'a mut Body,
    s: &'a Settings,
    opset: i64,
    /// Quantized forms by float value (a constant, a DynamicQuantizeLinear input, or the float output of
    /// a `DequantizeLinear` after a quantized Gather/Transpose).
    quantized: FxHashMap<ValueId, QValue>,
    /// DequantizeLinear ops added for quantized outputs; removed at the end when nothing reads them.
    dequantizers: Vec<OpId>,
    /// Float constants that were quantized; removed at the end when nothing reads them.
    float_constants: Vec<ValueId>,
    by_op: BTreeMap<String, (u64, u64, BTreeMap<&'static str, u64>)>,
    weights: u64,
    dynamic_inputs: u64,
}

impl Pass for Dynamic {
    fn name(&self) -> &'static str {
        "dynamic"
    }

    fn run(&mut self, module: &mut Module, _cx: &PassContext) -> Result<PassOutcome, PassError> {
        let settings = Settings::from_options(&self.opts);
        if module.funcs.is_empty() {
            return Err(err("the module has no function to quantize"));
        }
        let opset = default_opset(module);
        let body = &mut module.funcs[0].body;
        let mut r = Rewriter {
            body,
            s: &settings,
            opset,
            quantized: FxHashMap::default(),
            dequantizers: vec![],
            float_constants: vec![],
            by_op: BTreeMap::new(),
            weights: 0,
            dynamic_inputs: 0,
        };
        let gemms = r.gemms_to_matmuls();
        let block = r.body.entry_block();
        let ops: Vec<OpId> = r.body.block_ops(block).collect();
        for op in ops {
            if !r.body.op(op).is_alive() || r.body.return_op() == Some(op) {
                continue;
            }
            let op_type = split_op_kind(&r.body.op(op).kind).1.to_string();
            if &*r.body.op(op).kind == CONSTANT {
                continue;
            }
            if !(r.s.op_types.contains(&op_type)) {
                continue;
            }
            let outcome = if !r.selected(op) {
                Err(NOT_SELECTED)
            } else {
                match op_type.as_str() {
                    "MatMul" => r.matmul(op),
                    "Conv" => r.conv(op),
                    "Gather" => r.gather(op),
                    "Transpose" => r.transpose(op),
                    _ => Err(NO_FORM),
                }
            };
            let e = r.by_op.entry(op_type).or_default();
            e.0 += 1;
            match outcome {
                Ok(()) => e.1 += 1,
                Err(why) => *e.2.entry(why).or_default() += 1,
            }
        }
        r.remove_unused_dequantizers();
        let mut notes = vec![];
        if gemms > 0 {
            notes.push(format!(
                "{gemms} Gemm op(s) rewritten as MatMul (+ Add), as ONNX Runtime's quantize_dynamic does"
            ));
        }
        let parts: Vec<String> = r
            .by_op
            .iter()
            .map(|(t, (seen, done, why))| {
                let mut s = format!("{t} {done}/{seen}");
                if !why.is_empty() {
                    let w: Vec<String> = why.iter().map(|(k, n)| format!("{n} {k}")).collect();
                    s.push_str(&format!(" ({})", w.join(", ")));
                }
                s
            })
            .collect();
        if !parts.is_empty() {
            notes.push(format!("quantized ops by type: {}", parts.join("; ")));
        }
        let quantized_ops: u64 = r.by_op.values().map(|e| e.1).sum();
        Ok(PassOutcome {
            changed: quantized_ops > 0,
            stats: vec![
                ("ops-quantized", quantized_ops),
                ("weights-quantized", r.weights),
                ("dynamic-quantize-linear", r.dynamic_inputs),
            ],
            notes,
        })
    }
}

/// `{node}{suffix}` for a named node; empty (an unnamed op) otherwise, as ONNX Runtime names derived ops.
fn derived(node: &Option<String>, suffix: &str) -> String {
    node.as_ref()
        .map(|n| format!("{n}{suffix}"))
        .unwrap_or_default()
}

impl Rewriter<'_> {
    /// ONNX Runtime's `replace_gemm_with_matmul`: a Gemm with alpha = beta = 1 and no transA becomes
    /// `MatMul` (+ `Add` of C); a transposed constant B is stored transposed as `{B}_Transposed`, another
    /// transposed B gets a `Transpose`. Returns how many Gemms were rewritten.
    fn gemms_to_matmuls(&mut self) -> u64 {
        let block = self.body.entry_block();
        let ops: Vec<OpId> = self.body.block_ops(block).collect();
        let mut transposed: FxHashMap<ValueId, ValueId> = FxHashMap::default();
        let mut taken: FxHashSet<String> = FxHashSet::default();
        for op in self.body.all_ops() {
            for &v in self.body.op(op).results() {
                taken.insert(self.name(v));
            }
        }
        for &v in self.body.inputs() {
            taken.insert(self.name(v));
        }
        let mut n = 0;
        for op in ops {
            if &*self.body.op(op).kind != "onnx.Gemm" {
                continue;
            }
            let d = self.body.op(op);
            let f = |k: &str, default: f32| match d.attr(k) {
                Some(Attribute::Float(x)) => *x,
                _ => default,
            };
            let i = |k: &str| match d.attr(k) {
                Some(Attribute::Int(x)) => *x,
                _ => 0,
            };
            if f("alpha", 1.0) != 1.0 || f("beta", 1.0) != 1.0 || i("transA") != 0 {
                continue;
            }
            let trans_b = i("transB") != 0;
            let operands = d.operands().to_vec();
            let (a, mut b) = (operands[0], operands[1]);
            let c = operands.get(2).copied();
            let y = d.results()[0];
            let y_name = self.name(y);
            let node = self.node_name(op);
            if trans_b {
                let b_name = self.name(b);
                let constant = const_data(self.body, b)
                    .filter(|t| t.shape.len() == 2)
                    .and_then(|t| Some((t.elem, t.shape.clone(), float_values(t)?)));
                if let Some(&done) = transposed.get(&b) {
                    b = done;
                } else if let Some((elem, shape, values)) = constant {
                    let (rows, cols) = (shape[0] as usize, shape[1] as usize);
                    let mut t = vec![0f32; values.len()];
                    for r in 0..rows {
                        for c in 0..cols {
                            t[c * rows + r] = values[r * cols + c];
                        }
                    }
                    let mut name = format!("{b_name}_Transposed");
                    let mut k = 0;
                    let suffixes = ["", "_quantized", "_scale", "_zero_point"];
                    while suffixes
                        .iter()
                        .any(|s| taken.contains(&format!("{name}{s}")))
                    {
                        k += 1;
                        name = format!("{b_name}_Transposed_{k}");
                    }
                    for s in suffixes {
                        taken.insert(format!("{name}{s}"));
                    }
                    let new_b = insert_const(
                        self.body,
                        op,
                        &name,
                        float_tensor(elem, vec![shape[1], shape[0]], &t),
                    );
                    transposed.insert(b, new_b);
                    self.float_constants.push(b);
                    b = new_b;
                } else {
                    let ty = match self.body.value_type(b).as_tensor() {
                        Some(t) if t.shape.as_ref().is_some_and(|d| d.len() == 2) => {
                            let mut t = t.clone();
                            if let Some(d) = t.shape.as_mut() {
                                d.reverse();
                            }
                            Type::Tensor(t)
                        }
                        _ => Type::Unknown,
                    };
                    b = insert_op(
                        self.body,
                        op,
                        "onnx.Transpose",
                        &[b],
                        ty,
                        vec![],
                        &derived(&node, "_Transpose"),
                        &format!("{b_name}_Transposed"),
                    );
                }
            }
            let ty = self.body.value_type(y).clone();
            let mm_name = if c.is_some() {
                format!("{y_name}_MatMul")
            } else {
                y_name.clone()
            };
            let mut new_y = insert_op(
                self.body,
                op,
                "onnx.MatMul",
                &[a, b],
                ty.clone(),
                vec![],
                &derived(&node, "_MatMul"),
                &mm_name,
            );
            if let Some(c) = c {
                new_y = insert_op(
                    self.body,
                    op,
                    "onnx.Add",
                    &[new_y, c],
                    ty,
                    vec![],
                    &derived(&node, "_Add"),
                    &y_name,
                );
            }
            self.replace_result(op, y, new_y);
            n += 1;
        }
        n
    }

    fn node_name(&self, op: OpId) -> Option<String> {
        self.body.op(op).name.as_deref().map(str::to_string)
    }

    fn selected(&self, op: OpId) -> bool {
        let name = self.node_name(op).unwrap_or_default();
        (self.s.nodes.is_empty() || self.s.nodes.contains(&name))
            && !self.s.exclude_nodes.contains(&name)
    }

    fn name(&self, v: ValueId) -> String {
        self.body
            .value(v)
            .name
            .as_deref()
            .map(str::to_string)
            .unwrap_or_else(|| format!("v{}", v.index()))
    }

    fn is_f32(&self, v: ValueId) -> bool {
        float_elem(self.body, v) == Some(ScalarType::F32)
    }

    fn float_constant(&self, v: ValueId) -> bool {
        const_data(self.body, v).is_some_and(|t| t.elem == ScalarType::F32)
    }

    /// A value's quantized form, made if needed: a constant is quantized now (as a weight, or as a
    /// uint8 activation); another float32 value gets a `DynamicQuantizeLinear` before `at`.
    fn quantize_input(
        &mut self,
        v: ValueId,
        at: OpId,
        as_weight: bool,
        reduce_range: bool,
        per_channel: bool,
    ) -> Option<QValue> {
        if let Some(&q) = self.quantized.get(&v) {
            return Some(q);
        }
        if self.float_constant(v) {
            let q = self.quantize_constant(v, at, as_weight, reduce_range, per_channel)?;
            self.quantized.insert(v, q);
            return Some(q);
        }
        if !self.is_f32(v) || self.opset < 11 {
            return None;
        }
        let name = self.name(v);
        let ty = self.body.value_type(v).clone();
        let scalar = |e: ScalarType| Type::tensor(e, &[]);
        let op = self.body.create_op(
            "onnx.DynamicQuantizeLinear",
            &[v],
            vec![
                with_elem(&ty, ScalarType::U8),
                scalar(ScalarType::F32),
                scalar(ScalarType::U8),
            ],
            vec![],
        );
        self.body.op_mut(op).name = Some(Arc::from(format!("{name}_QuantizeLinear")));
        self.body.insert_before(at, op);
        let r = self.body.op(op).results().to_vec();
        for (v, suffix) in r.iter().zip(["_quantized", "_scale", "_zero_point"]) {
            self.body.value_mut(*v).name = Some(Arc::from(format!("{name}{suffix}")));
        }
        let q = QValue {
            q: r[0],
            scale: r[1],
            zero_point: r[2],
        };
        self.quantized.insert(v, q);
        self.dynamic_inputs += 1;
        Some(q)
    }

    /// ONNX Runtime's `quantize_initializer` / `quantize_weight_per_channel` (axis -1).
    fn quantize_constant(
        &mut self,
        v: ValueId,
        at: OpId,
        as_weight: bool,
        reduce_range: bool,
        per_channel: bool,
    ) -> Option<QValue> {
        let t = const_data(self.body, v)?.clone();
        let values = float_values(&t)?;
        let storage = if as_weight {
            self.s.weight_type
        } else {
            ScalarType::U8
        };
        let symmetric = if storage == self.s.weight_type {
            self.s.weight_symmetric
        } else {
            self.s.activation_symmetric
        };
        let options = DataOptions {
            symmetric,
            reduce_range: self.s.reduce_range && reduce_range,
            scale_type: ScaleType::of(t.elem),
            ..DataOptions::new(storage)
        };
        let name = self.name(v);
        let (scales, zps, q, shape) = if per_channel && !t.shape.is_empty() {
            let axis = t.shape.len() - 1;
            let shape: Vec<usize> = t.shape.iter().map(|&d| d as usize).collect();
            let (ps, q) = quantize_per_channel(&values, &shape, axis, options).ok()?;
            (
                ps.iter().map(|p| p.scale).collect::<Vec<_>>(),
                ps.iter().map(|p| p.zero_point).collect::<Vec<_>>(),
                q,
                vec![t.shape[axis]],
            )
        } else {
            let q = quantize_data(&values, options).ok()?;
            (
                vec![q.params.scale],
                vec![q.params.zero_point],
                q.values,
                vec![],
            )
        };
        let qv = insert_const(
            self.body,
            at,
            &format!("{name}_quantized"),
            int_tensor(storage, t.shape.clone(), &q),
        );
        let scale = insert_const(
            self.body,
            at,
            &format!("{name}_scale"),
            float_tensor(t.elem, shape.clone(), &scales),
        );
        let zero_point = insert_const(
            self.body,
            at,
            &format!("{name}_zero_point"),
            int_tensor(storage, shape, &zps),
        );
        self.weights += 1;
        self.float_constants.push(v);
        Some(QValue {
            q: qv,
            scale,
            zero_point,
        })
    }

    /// `Cast(int) → Mul(·, a_scale · w_scale)` writing `out`'s value; returns the new value.
    fn rescale(
        &mut self,
        op: OpId,
        int_out: ValueId,
        scales: (ValueId, ValueId),
        out: ValueId,
        out_name: &str,
    ) -> ValueId {
        let node = self.node_name(op).map(|n| format!("{n}_quant"));
        let out_ty = self.body.value_type(out).clone();
        let elem = float_elem(self.body, out).unwrap_or(ScalarType::F32);
        let int_name = self.name(int_out);
        let cast = insert_op(
            self.body,
            op,
            "onnx.Cast",
            &[int_out],
            out_ty.clone(),
            vec![(Arc::from("to"), Attribute::Int(elem.onnx_code() as i64))],
            &format!("{int_name}_cast"),
            &format!("{int_name}_cast_output"),
        );
        let mul_name = match &node {
            Some(n) => format!("{n}_scales_mul"),
            None => format!("{}_{}_mul", self.name(scales.0), self.name(scales.1)),
        };
        let scale_ty = self.body.value_type(scales.1).clone();
        let scales_mul = insert_op(
            self.body,
            op,
            "onnx.Mul",
            &[scales.0, scales.1],
            scale_ty,
            vec![],
            &mul_name,
            &format!("{mul_name}:0"),
        );
        insert_op(
            self.body,
            op,
            "onnx.Mul",
            &[cast, scales_mul],
            out_ty,
            vec![],
            &derived(&node, "_output_scale_mul"),
            out_name,
        )
    }

    /// `kind` (MatMulInteger / ConvInteger) on the quantized input and weight before `op`, then the
    /// rescale to float; returns the float value, named `out_name`.
    fn integer_op(
        &mut self,
        op: OpId,
        kind: &str,
        (x, w): (QValue, QValue),
        attrs: Vec<onnxqc_ir::NamedAttr>,
        out_name: &str,
    ) -> ValueId {
        let y = self.body.op(op).results()[0];
        let y_name = self.name(y);
        let node = self.node_name(op).map(|n| format!("{n}_quant"));
        let int_ty = with_elem(self.body.value_type(y), ScalarType::I32);
        let int_out = insert_op(
            self.body,
            op,
            kind,
            &[x.q, w.q, x.zero_point, w.zero_point],
            int_ty,
            attrs,
            &derived(&node, ""),
            &format!("{y_name}_output_quantized"),
        );
        self.rescale(op, int_out, (x.scale, w.scale), y, out_name)
    }

    fn matmul(&mut self, op: OpId) -> Result<(), &'static str> {
        let (a, b) = match self.body.op(op).operands() {
            [a, b] => (*a, *b),
            _ => return Err(NO_FLOAT_INPUT),
        };
        if !self.is_f32(a) && !self.is_f32(b) {
            return Err(NO_FLOAT_INPUT);
        }
        if self.s.const_b_only && !self.float_constant(b) {
            return Err(B_NOT_CONST);
        }
        if !self.is_f32(a) {
            return Err(self.not_float32(a));
        }
        if !self.is_f32(b) {
            return Err(self.not_float32(b));
        }
        if self.opset < 11 && !self.quantized.contains_key(&a) {
            return Err(OPSET);
        }
        let qa = self
            .quantize_input(a, op, false, false, false)
            .ok_or(NO_FLOAT_INPUT)?;
        let per_channel = self.s.per_channel;
        let qb = self
            .quantize_input(b, op, true, true, per_channel)
            .ok_or(NO_FLOAT_INPUT)?;
        let y = self.body.op(op).results()[0];
        let y_name = self.name(y);
        let new_y = self.integer_op(op, "onnx.MatMulInteger", (qa, qb), vec![], &y_name);
        self.replace_result(op, y, new_y);
        Ok(())
    }

    fn conv(&mut self, op: OpId) -> Result<(), &'static str> {
        let operands = self.body.op(op).operands().to_vec();
        let (x, w) = match operands.as_slice() {
            [x, w, ..] => (*x, *w),
            _ => return Err(NO_FLOAT_INPUT),
        };
        if !self.is_f32(x) {
            return Err(self.not_float32(x));
        }
        if !self.float_constant(w) {
            return Err(W_NOT_CONST);
        }
        if self.opset < 11 && !self.quantized.contains_key(&x) {
            return Err(OPSET);
        }
        let bias = operands.get(2).copied();
        let qx = self
            .quantize_input(x, op, false, false, false)
            .ok_or(NO_FLOAT_INPUT)?;
        let qw = self
            .quantize_input(w, op, true, true, false)
            .ok_or(W_NOT_CONST)?;
        let y = self.body.op(op).results()[0];
        let y_name = self.name(y);
        let attrs = self.body.op(op).attrs.clone();
        let scaled_name = if bias.is_some() {
            format!("{y_name}quant_scaled_output")
        } else {
            y_name.clone()
        };
        let mut new_y = self.integer_op(op, "onnx.ConvInteger", (qx, qw), attrs, &scaled_name);
        if let Some(b) = bias {
            // The bias stays float: Reshape to [1, C, 1, ...] and Add.
            let rank = const_data(self.body, w).map_or(4, |t| t.shape.len());
            let mut shape = vec![1i64; rank];
            if rank > 1 {
                shape[1] = -1;
            }
            let shape_c = insert_const(
                self.body,
                op,
                &format!("{y_name}_bias_reshape_shape"),
                int_tensor(ScalarType::I64, vec![rank as u64], &shape),
            );
            let b_elem = float_elem(self.body, b).unwrap_or(ScalarType::F32);
            let channels = const_data(self.body, w).map_or(0, |t| t.shape[0]);
            let mut b_shape = vec![1u64; rank];
            if rank > 1 {
                b_shape[1] = channels;
            }
            let reshaped = insert_op(
                self.body,
                op,
                "onnx.Reshape",
                &[b, shape_c],
                Type::tensor(b_elem, &b_shape),
                vec![],
                "",
                &format!("{y_name}_bias_reshape_output"),
            );
            let ty = self.body.value_type(y).clone();
            new_y = insert_op(
                self.body,
                op,
                "onnx.Add",
                &[new_y, reshaped],
                ty,
                vec![],
                &format!("{y_name}_bias_add"),
                &y_name,
            );
        }
        self.replace_result(op, y, new_y);
        Ok(())
    }

    fn gather(&mut self, op: OpId) -> Result<(), &'static str> {
        let operands = self.body.op(op).operands().to_vec();
        let [data, indices] = operands.as_slice() else {
            return Err(TABLE_NOT_CONST);
        };
        if !self.float_constant(*data) {
            return Err(TABLE_NOT_CONST);
        }
        let q = self
            .quantize_input(*data, op, false, false, false)
            .ok_or(TABLE_NOT_CONST)?;
        let attrs = self.body.op(op).attrs.clone();
        self.rewrite_on_quantized(op, &[q.q, *indices], attrs, q);
        Ok(())
    }

    fn transpose(&mut self, op: OpId) -> Result<(), &'static str> {
        let x = self.body.op(op).operands()[0];
        let Some(&q) = self.quantized.get(&x) else {
            return Err(INPUT_NOT_QUANTIZED);
        };
        let attrs = self.body.op(op).attrs.clone();
        self.rewrite_on_quantized(op, &[q.q], attrs, q);
        Ok(())
    }

    /// `op` again on the quantized operands, its result `{y}_quantized` with the input's parameters;
    /// a `DequantizeLinear` named after the old result gives the float value to other consumers.
    fn rewrite_on_quantized(
        &mut self,
        op: OpId,
        operands: &[ValueId],
        attrs: Vec<onnxqc_ir::NamedAttr>,
        params: QValue,
    ) {
        let y = self.body.op(op).results()[0];
        let y_name = self.name(y);
        let kind = self.body.op(op).kind.to_string();
        let node = self.node_name(op);
        let storage = const_data(self.body, params.zero_point)
            .map(|t| t.elem)
            .unwrap_or(ScalarType::U8);
        let q_ty = with_elem(self.body.value_type(y), storage);
        let qy = insert_op(
            self.body,
            op,
            &kind,
            operands,
            q_ty,
            attrs,
            &node.unwrap_or_default(),
            &format!("{y_name}_quantized"),
        );
        let ty = self.body.value_type(y).clone();
        let dq = insert_op(
            self.body,
            op,
            "onnx.DequantizeLinear",
            &[qy, params.scale, params.zero_point],
            ty,
            vec![],
            &format!("{y_name}_DequantizeLinear"),
            &y_name,
        );
        self.dequantizers
            .push(self.body.defining_op(dq).expect("dq"));
        self.replace_result(op, y, dq);
        self.quantized.insert(
            dq,
            QValue {
                q: qy,
                scale: params.scale,
                zero_point: params.zero_point,
            },
        );
    }

    /// Uses of `old` (the erased op's result) now read `new`, which takes the name.
    fn replace_result(&mut self, op: OpId, old: ValueId, new: ValueId) {
        let name = self.body.value(old).name.clone();
        self.body.replace_all_uses(old, new);
        self.body.value_mut(new).name = name;
        self.body.erase_op(op);
    }

    fn remove_unused_dequantizers(&mut self) {
        for op in std::mem::take(&mut self.dequantizers).into_iter().rev() {
            if self.body.op(op).is_alive() && self.body.results_unused(op) {
                self.body.erase_op(op);
            }
        }
        for v in std::mem::take(&mut self.float_constants) {
            if let Some(op) = self.body.defining_op(v) {
                if &*self.body.op(op).kind == CONSTANT && self.body.results_unused(op) {
                    self.body.erase_op(op);
                }
            }
        }
    }

    /// Why a float input cannot be quantized at run time.
    fn not_float32(&self, v: ValueId) -> &'static str {
        if float_elem(self.body, v) == Some(ScalarType::F16) {
            FLOAT16
        } else {
            NO_FLOAT_INPUT
        }
    }
}
