//! The per-op rules of `shape-infer`: from the facts about an op's operands (element type, symbolic shape,
//! and for small integer tensors their symbolic values) to the facts about its results.
//!
//! A rule returns one [`Out`] per result it knows (missing ones fall back to the declared type), or
//! `Err(message)` only when the op is provably malformed (two known dims that must agree and do not).
//! When a dim cannot be known the rule asks [`Fresh`] for a new symbol; when the rank cannot be known the
//! shape is `None`. Opset-dependent attributes (axes as attribute or input, Split's `num_outputs`, ...)
//! follow `OpCtx::opset`. Control flow and function calls are in the parent module.

use onnxqc_ir::graph::split_op_kind;
use onnxqc_ir::{Attribute, Body, ElemType, OpData, OpId, ScalarType, TensorData};

use super::sym::Expr;
use super::{norm_axis, Fresh, Ti};

/// The facts about one result.
#[derive(Clone, Debug, Default)]
pub struct Out {
    pub ti: Ti,
    /// Element values of a small integer tensor, row-major.
    pub val: Option<Vec<Expr>>,
}

impl Out {
    fn t(ti: Ti) -> Out {
        Out { ti, val: None }
    }

    fn v(ti: Ti, val: Option<Vec<Expr>>) -> Out {
        Out { ti, val }
    }
}

/// An op and what is known about its operands.
pub struct OpCtx<'a> {
    pub body: &'a Body,
    pub op: OpId,
    pub data: &'a OpData,
    pub ins: Vec<&'a Ti>,
    pub vals: Vec<Option<&'a [Expr]>>,
    pub opset: i64,
    pub max_elems: usize,
}

type R = Result<Vec<Out>, String>;

fn c(k: i64) -> Expr {
    Expr::constant(k)
}

fn product(dims: &[Expr]) -> Expr {
    dims.iter().fold(c(1), |acc, d| acc.mul(d))
}

fn consts(v: &[Expr]) -> Option<Vec<i64>> {
    v.iter().map(Expr::as_const).collect()
}

impl OpCtx<'_> {
    /// Operand `i` unless it is absent (out of range or `onnx.NoValue`).
    fn input(&self, i: usize) -> Option<&Ti> {
        self.ins.get(i).copied().filter(|t| !t.is_none())
    }

    fn x(&self, i: usize) -> Ti {
        self.input(i).cloned().unwrap_or_default()
    }

    fn shape(&self, i: usize) -> Option<&[Expr]> {
        self.input(i)?.shape.as_deref()
    }

    fn elem(&self, i: usize) -> Option<ElemType> {
        self.input(i)?.elem.clone()
    }

    fn val(&self, i: usize) -> Option<&[Expr]> {
        self.input(i)?;
        self.vals.get(i).copied().flatten()
    }

    fn ints(&self, i: usize) -> Option<Vec<i64>> {
        consts(self.val(i)?)
    }

    /// The tensor of operand `i` when an `onnx.Constant` defines it.
    fn tensor(&self, i: usize) -> Option<&TensorData> {
        let v = *self.data.operands().get(i)?;
        let def = self.body.defining_op(v)?;
        let d = self.body.op(def);
        if &*d.kind != "onnx.Constant" {
            return None;
        }
        d.attr("value")?.as_tensor()
    }

    fn floats(&self, i: usize) -> Option<Vec<f64>> {
        self.input(i)?;
        if let Some(v) = self.ints(i) {
            return Some(v.into_iter().map(|x| x as f64).collect());
        }
        let t = self.tensor(i)?;
        (0..t.num_elements() as usize)
            .map(|k| t.float_at(k).or_else(|| half_at(t, k)))
            .collect()
    }

    fn ai(&self, name: &str, default: i64) -> i64 {
        self.data
            .attr(name)
            .and_then(Attribute::as_int)
            .unwrap_or(default)
    }

    fn aints(&self, name: &str) -> Option<Vec<i64>> {
        self.data
            .attr(name)
            .and_then(Attribute::as_ints)
            .map(<[i64]>::to_vec)
    }

    fn astr(&self, name: &str) -> Option<&str> {
        self.data.attr(name).and_then(Attribute::as_str)
    }

    fn n_results(&self) -> usize {
        self.data.results().len()
    }
}

fn half_at(t: &TensorData, k: usize) -> Option<f64> {
    let b = t.bytes()?;
    let raw = u16::from_le_bytes(b.get(k * 2..k * 2 + 2)?.try_into().ok()?);
    match t.elem {
        ScalarType::BF16 => Some(f32::from_bits((raw as u32) << 16) as f64),
        ScalarType::F16 => {
            let sign = if raw >> 15 == 1 { -1.0 } else { 1.0 };
            let exp = ((raw >> 10) & 0x1f) as i32;
            let frac = (raw & 0x3ff) as f64;
            Some(
                sign * match exp {
                    0 => frac * 2f64.powi(-24),
                    31 => f64::INFINITY,
                    e => (1.0 + frac / 1024.0) * 2f64.powi(e - 15),
                },
            )
        }
        _ => None,
    }
}

fn elem_of_code(code: i64) -> Option<ElemType> {
    ScalarType::from_onnx_code(code as i32).map(ElemType::Scalar)
}

fn is_int_elem(e: &Option<ElemType>) -> bool {
    matches!(e, Some(ElemType::Scalar(s)) if s.is_int() || *s == ScalarType::Bool)
}

/// Numpy broadcasting over symbolic dims: 1 broadcasts, equal dims stay, a known dim > 1 beats a symbol
/// (which must then be 1 or equal), two different symbols give a fresh dim; two different known dims
/// other than 1 are an error. `None` when some rank is unknown.
fn broadcast(shapes: &[Option<&[Expr]>], fr: &mut Fresh) -> Result<Option<Vec<Expr>>, String> {
    let mut ss = vec![];
    for s in shapes {
        match s {
            Some(s) => ss.push(*s),
            None => return Ok(None),
        }
    }
    let rank = ss.iter().map(|s| s.len()).max().unwrap_or(0);
    let mut out = Vec::with_capacity(rank);
    for i in 0..rank {
        let mut known: Option<i64> = None;
        let mut syms: Vec<&Expr> = vec![];
        for s in &ss {
            let off = rank - s.len();
            if i < off {
                continue;
            }
            let d = &s[i - off];
            match d.as_const() {
                Some(1) => {}
                Some(k) => {
                    if let Some(x) = known.filter(|&x| x != k) {
                        return Err(format!("cannot broadcast dims {x} and {k}"));
                    }
                    known = Some(k);
                }
                None => {
                    if !syms.contains(&d) {
                        syms.push(d);
                    }
                }
            }
        }
        out.push(match (known, syms.as_slice()) {
            (Some(k), _) => c(k),
            (None, []) => c(1),
            (None, [one]) => (*one).clone(),
            _ => fr.dim(),
        });
    }
    Ok(Some(out))
}

/// Element-wise values of a broadcast op, when the operands are scalars or equally long and the result
/// has that many elements.
fn zip_vals(
    a: Option<&[Expr]>,
    b: Option<&[Expr]>,
    out_shape: &Option<Vec<Expr>>,
    f: impl Fn(&Expr, &Expr) -> Option<Expr>,
) -> Option<Vec<Expr>> {
    let (a, b) = (a?, b?);
    let n = a.len().max(b.len());
    if (a.len() != n && a.len() != 1) || (b.len() != n && b.len() != 1) {
        return None;
    }
    let count = product(out_shape.as_ref()?).as_const()?;
    if count != n as i64 {
        return None;
    }
    (0..n)
        .map(|i| f(&a[i.min(a.len() - 1)], &b[i.min(b.len() - 1)]))
        .collect()
}

pub fn infer(cx: &OpCtx, fr: &mut Fresh) -> R {
    let kind = cx.data.kind.clone();
    let (domain, op) = split_op_kind(&kind);
    match domain {
        "onnx" => onnx(cx, op, fr),
        "com.microsoft" => microsoft(cx, op, fr),
        _ => Ok(vec![]),
    }
}

fn same(cx: &OpCtx) -> R {
    Ok(vec![Out::t(cx.x(0))])
}

fn with_elem(cx: &OpCtx, i: usize, elem: Option<ElemType>) -> Ti {
    Ti::new(elem, cx.x(i).shape)
}

fn bool_elem() -> Option<ElemType> {
    Some(ElemType::Scalar(ScalarType::Bool))
}

fn i64_elem() -> Option<ElemType> {
    Some(ElemType::Scalar(ScalarType::I64))
}

fn onnx(cx: &OpCtx, op: &str, fr: &mut Fresh) -> R {
    match op {
        "Abs"
        | "Acos"
        | "Acosh"
        | "Asin"
        | "Asinh"
        | "Atan"
        | "Atanh"
        | "Ceil"
        | "Cos"
        | "Cosh"
        | "Erf"
        | "Exp"
        | "Floor"
        | "Log"
        | "Reciprocal"
        | "Relu"
        | "Round"
        | "Sigmoid"
        | "Sign"
        | "Sin"
        | "Sinh"
        | "Sqrt"
        | "Tan"
        | "Tanh"
        | "Softplus"
        | "Softsign"
        | "Elu"
        | "Selu"
        | "Celu"
        | "HardSigmoid"
        | "HardSwish"
        | "LeakyRelu"
        | "ThresholdedRelu"
        | "Mish"
        | "Shrink"
        | "Gelu"
        | "Swish"
        | "BitwiseNot"
        | "Softmax"
        | "LogSoftmax"
        | "Hardmax"
        | "LRN"
        | "MeanVarianceNormalization"
        | "InstanceNormalization"
        | "Clip"
        | "CumSum"
        | "Trilu"
        | "GroupNormalization"
        | "RMSNormalization"
        | "Scatter"
        | "ScatterElements"
        | "ScatterND"
        | "Det" => same(cx),
        "Identity" => Ok(vec![Out::v(cx.x(0), cx.val(0).map(<[Expr]>::to_vec))]),
        "Neg" => {
            let val = cx
                .val(0)
                .filter(|_| is_int_elem(&cx.elem(0)))
                .map(|v| v.iter().map(Expr::neg).collect());
            Ok(vec![Out::v(cx.x(0), val)])
        }
        "Not" | "IsInf" | "IsNaN" => Ok(vec![Out::t(with_elem(cx, 0, bool_elem()))]),
        "Dropout" => Ok(vec![Out::t(cx.x(0)), Out::t(with_elem(cx, 0, bool_elem()))]),
        "EyeLike" => {
            let elem = match cx.data.attr("dtype").and_then(Attribute::as_int) {
                Some(code) => elem_of_code(code),
                None => cx.elem(0),
            };
            Ok(vec![Out::t(with_elem(cx, 0, elem))])
        }
        "Cast" => {
            let elem = elem_of_code(cx.ai("to", 0));
            // Integer values survive a cast to another integer type; constant ones also a cast to float
            // (read back by Range and Resize; float values never enter integer arithmetic here).
            let to_float = matches!(&elem, Some(ElemType::Scalar(s)) if s.is_float());
            let val = cx
                .val(0)
                .filter(|v| {
                    (is_int_elem(&elem) && elem != bool_elem())
                        || (to_float && v.iter().all(|e| e.as_const().is_some()))
                })
                .map(<[Expr]>::to_vec);
            Ok(vec![Out::v(with_elem(cx, 0, elem), val)])
        }
        "CastLike" => {
            let elem = cx.elem(1);
            let val = cx
                .val(0)
                .filter(|_| is_int_elem(&elem) && elem != bool_elem())
                .map(<[Expr]>::to_vec);
            Ok(vec![Out::v(with_elem(cx, 0, elem), val)])
        }
        "BitCast" => {
            let elem = elem_of_code(cx.ai("to", 0));
            Ok(vec![Out::t(with_elem(cx, 0, elem))])
        }
        "Constant" => constant(cx),
        "NoValue" => Ok(vec![Out::t(Ti {
            elem: None,
            shape: None,
            other: Some(onnxqc_ir::Type::None),
        })]),
        "Add" | "Sub" | "Mul" | "Div" | "Mod" | "Pow" | "BitShift" | "BitwiseAnd" | "BitwiseOr"
        | "BitwiseXor" | "PRelu" | "SwiGLU" => binary(cx, op, fr),
        "And" | "Or" | "Xor" | "Equal" | "Greater" | "GreaterOrEqual" | "Less" | "LessOrEqual" => {
            let shape = broadcast(&[cx.shape(0), cx.shape(1)], fr)?;
            let val = match op {
                "Equal" if is_int_elem(&cx.elem(0)) => {
                    zip_vals(cx.val(0), cx.val(1), &shape, |a, b| {
                        if a == b {
                            Some(c(1))
                        } else {
                            Some(c(i64::from(a.as_const()? == b.as_const()?)))
                        }
                    })
                }
                _ => None,
            };
            Ok(vec![Out::v(Ti::new(bool_elem(), shape), val)])
        }
        "Max" | "Min" | "Sum" | "Mean" => {
            let shapes: Vec<_> = (0..cx.ins.len()).map(|i| cx.shape(i)).collect();
            let shape = broadcast(&shapes, fr)?;
            let val =
                if cx.ins.len() == 2 && matches!(op, "Max" | "Min") && is_int_elem(&cx.elem(0)) {
                    let max = op == "Max";
                    zip_vals(cx.val(0), cx.val(1), &shape, |a, b| {
                        if a == b {
                            return Some(a.clone());
                        }
                        let (x, y) = (a.as_const()?, b.as_const()?);
                        Some(c(if max { x.max(y) } else { x.min(y) }))
                    })
                } else if cx.ins.len() == 1 {
                    cx.val(0).map(<[Expr]>::to_vec)
                } else {
                    None
                };
            Ok(vec![Out::v(Ti::new(cx.elem(0), shape), val)])
        }
        "Where" => {
            let shape = broadcast(&[cx.shape(0), cx.shape(1), cx.shape(2)], fr)?;
            let val = cx.ints(0).and_then(|cond| {
                let (a, b) = (cx.val(1)?, cx.val(2)?);
                let n = product(shape.as_ref()?).as_const()? as usize;
                let pick = |v: &[Expr], i: usize| v.get(if v.len() == 1 { 0 } else { i }).cloned();
                (0..n)
                    .map(|i| {
                        let ci = *cond.get(if cond.len() == 1 { 0 } else { i })?;
                        if ci != 0 {
                            pick(a, i)
                        } else {
                            pick(b, i)
                        }
                    })
                    .collect()
            });
            let elem = cx.elem(1).or_else(|| cx.elem(2));
            Ok(vec![Out::v(Ti::new(elem, shape), val)])
        }
        "Shape" => shape_op(cx, fr),
        "Size" => {
            let val = cx.shape(0).map(|s| vec![product(s)]);
            Ok(vec![Out::v(Ti::tensor(ScalarType::I64, vec![]), val)])
        }
        "Reshape" => reshape(cx, fr),
        "Flatten" => {
            let x = cx.x(0);
            let shape = match &x.shape {
                Some(s) => {
                    let r = s.len() as i64;
                    let a = cx.ai("axis", 1);
                    let a = if a < 0 { a + r } else { a };
                    if !(0..=r).contains(&a) {
                        return Err(format!("axis {a} is out of range for rank {r}"));
                    }
                    let a = a as usize;
                    Some(vec![product(&s[..a]), product(&s[a..])])
                }
                None => Some(fr.dims(2)),
            };
            Ok(vec![Out::v(
                Ti::new(x.elem, shape),
                cx.val(0).map(<[Expr]>::to_vec),
            )])
        }
        "Transpose" => {
            let x = cx.x(0);
            let shape = match &x.shape {
                Some(s) => {
                    let perm = cx
                        .aints("perm")
                        .unwrap_or_else(|| (0..s.len() as i64).rev().collect());
                    if perm.len() != s.len() {
                        return Err(format!(
                            "perm has {} entries for rank {}",
                            perm.len(),
                            s.len()
                        ));
                    }
                    let mut out = vec![];
                    for p in perm {
                        match norm_axis(p, s.len()) {
                            Some(a) => out.push(s[a].clone()),
                            None => return Err(format!("perm entry {p} is out of range")),
                        }
                    }
                    Some(out)
                }
                None => None,
            };
            Ok(vec![Out::t(Ti::new(x.elem, shape))])
        }
        "Unsqueeze" => unsqueeze(cx, fr),
        "Squeeze" => squeeze(cx),
        "Concat" => concat(cx),
        "Split" => split(cx, fr),
        "Slice" => slice(cx, fr),
        "Gather" => gather(cx),
        "GatherElements" => Ok(vec![Out::t(Ti::new(cx.elem(0), cx.x(1).shape))]),
        "GatherND" => {
            let b = cx.ai("batch_dims", 0).max(0) as usize;
            let shape = match (cx.shape(0), cx.shape(1)) {
                (Some(d), Some(i)) if !i.is_empty() => i[i.len() - 1].as_const().and_then(|k| {
                    let k = k as usize;
                    let mut out = i[..i.len() - 1].to_vec();
                    out.extend_from_slice(d.get(b + k..)?);
                    Some(out)
                }),
                _ => None,
            };
            Ok(vec![Out::t(Ti::new(cx.elem(0), shape))])
        }
        "Expand" => {
            let x = cx.x(0);
            let shape = match (cx.val(1), cx.shape(1)) {
                (Some(t), _) => broadcast(&[x.shape.as_deref(), Some(t)], fr)?,
                (None, Some([n])) => n.as_const().map(|n| {
                    let r = x.rank().unwrap_or(0).max(n.max(0) as usize);
                    fr.dims(r)
                }),
                _ => None,
            };
            let val = match (cx.val(0), &shape) {
                (Some([v]), Some(s)) => product(s)
                    .as_const()
                    .filter(|&n| n >= 0 && (n as usize) <= cx.max_elems)
                    .map(|n| vec![v.clone(); n as usize]),
                _ => None,
            };
            Ok(vec![Out::v(Ti::new(x.elem, shape), val)])
        }
        "Tile" => {
            let x = cx.x(0);
            let shape = match (&x.shape, cx.val(1)) {
                (Some(s), Some(r)) if r.len() == s.len() => {
                    Some(s.iter().zip(r).map(|(d, k)| d.mul(k)).collect())
                }
                (Some(s), Some(r)) => {
                    return Err(format!("{} repeats for rank {}", r.len(), s.len()))
                }
                (Some(s), None) => Some(fr.dims(s.len())),
                _ => None,
            };
            Ok(vec![Out::t(Ti::new(x.elem, shape))])
        }
        "ConstantOfShape" => {
            let value = cx.data.attr("value").and_then(Attribute::as_tensor);
            let elem = Some(ElemType::Scalar(value.map_or(ScalarType::F32, |t| t.elem)));
            let shape = match (cx.val(0), cx.shape(0)) {
                (Some(v), _) => Some(v.to_vec()),
                (None, Some([n])) => n.as_const().map(|n| fr.dims(n.max(0) as usize)),
                _ => None,
            };
            let val = match (&shape, value.and_then(|t| t.int_at(0))) {
                (Some(s), Some(k)) if is_int_elem(&elem) => product(s)
                    .as_const()
                    .filter(|&n| n >= 0 && (n as usize) <= cx.max_elems)
                    .map(|n| vec![c(k); n as usize]),
                _ => None,
            };
            Ok(vec![Out::v(Ti::new(elem, shape), val)])
        }
        "Range" => range(cx, fr),
        "Pad" => pad(cx, fr),
        "DepthToSpace" | "SpaceToDepth" => {
            let b = cx.ai("blocksize", 1).max(1);
            let x = cx.x(0);
            let shape = match &x.shape {
                Some(s) if s.len() == 4 => {
                    let bb = b * b;
                    Some(if op == "DepthToSpace" {
                        let ch = s[1].div_exact_const(bb).or_else(|| s[1].floor_div(bb));
                        vec![
                            s[0].clone(),
                            ch.unwrap_or_else(|| fr.dim()),
                            s[2].scale(b),
                            s[3].scale(b),
                        ]
                    } else {
                        let h = s[2].div_exact_const(b).or_else(|| s[2].floor_div(b));
                        let w = s[3].div_exact_const(b).or_else(|| s[3].floor_div(b));
                        vec![
                            s[0].clone(),
                            s[1].scale(bb),
                            h.unwrap_or_else(|| fr.dim()),
                            w.unwrap_or_else(|| fr.dim()),
                        ]
                    })
                }
                Some(s) => return Err(format!("expects a 4-D input, got rank {}", s.len())),
                None => Some(fr.dims(4)),
            };
            Ok(vec![Out::t(Ti::new(x.elem, shape))])
        }
        "Resize" | "Upsample" => resize(cx, op, fr),
        "Conv" => conv(cx, fr, 0, 1, false, None),
        "ConvTranspose" => conv(cx, fr, 0, 1, true, None),
        "ConvInteger" => conv(cx, fr, 0, 1, false, Some(ScalarType::I32)),
        "QLinearConv" => {
            let elem = cx.elem(7).and_then(|e| e.scalar());
            conv(cx, fr, 0, 3, false, Some(elem.unwrap_or(ScalarType::U8)))
        }
        "AveragePool" | "MaxPool" | "LpPool" => pool(cx, op, fr),
        "GlobalAveragePool" | "GlobalMaxPool" | "GlobalLpPool" => {
            let x = cx.x(0);
            let shape = x.shape.as_ref().map(|s| {
                s.iter()
                    .enumerate()
                    .map(|(i, d)| if i < 2 { d.clone() } else { c(1) })
                    .collect()
            });
            Ok(vec![Out::t(Ti::new(x.elem, shape))])
        }
        "MaxUnpool" => max_unpool(cx, fr),
        "BatchNormalization" => {
            let stat = cx.x(3);
            let mut outs = vec![Out::t(cx.x(0))];
            for _ in 1..cx.n_results() {
                outs.push(Out::t(stat.clone()));
            }
            Ok(outs)
        }
        "LayerNormalization" => layer_norm(cx),
        "MatMul" | "MatMulInteger" => {
            let shape = matmul_shape(cx.shape(0), cx.shape(1), fr)?;
            let elem = if op == "MatMul" {
                cx.elem(0)
            } else {
                Some(ElemType::Scalar(ScalarType::I32))
            };
            Ok(vec![Out::t(Ti::new(elem, shape))])
        }
        "QLinearMatMul" => {
            let shape = matmul_shape(cx.shape(0), cx.shape(3), fr)?;
            Ok(vec![Out::t(Ti::new(cx.elem(7), shape))])
        }
        "Gemm" => gemm(cx),
        "Einsum" => einsum(cx, fr),
        "ReduceL1" | "ReduceL2" | "ReduceLogSum" | "ReduceLogSumExp" | "ReduceMax"
        | "ReduceMean" | "ReduceMin" | "ReduceProd" | "ReduceSum" | "ReduceSumSquare" => {
            reduce(cx, op, fr)
        }
        "ArgMax" | "ArgMin" => {
            let keep = cx.ai("keepdims", 1) != 0;
            let shape = match cx.shape(0) {
                Some(s) => {
                    let a = norm_axis(cx.ai("axis", 0), s.len())
                        .ok_or_else(|| format!("axis is out of range for rank {}", s.len()))?;
                    Some(reduce_dims(s, &[a], keep))
                }
                None => None,
            };
            Ok(vec![Out::t(Ti::new(i64_elem(), shape))])
        }
        "TopK" => {
            let x = cx.x(0);
            let k = cx
                .val(1)
                .and_then(|v| v.first().cloned())
                .or_else(|| cx.data.attr("k").and_then(Attribute::as_int).map(c));
            let shape = match &x.shape {
                Some(s) => {
                    let a = norm_axis(cx.ai("axis", -1), s.len())
                        .ok_or_else(|| format!("axis is out of range for rank {}", s.len()))?;
                    let mut out = s.clone();
                    out[a] = k.unwrap_or_else(|| fr.dim());
                    Some(out)
                }
                None => None,
            };
            Ok(vec![
                Out::t(Ti::new(x.elem, shape.clone())),
                Out::t(Ti::new(i64_elem(), shape)),
            ])
        }
        "NonZero" => {
            let r = cx
                .x(0)
                .rank()
                .map(|r| c(r as i64))
                .unwrap_or_else(|| fr.dim());
            Ok(vec![Out::t(Ti::new(i64_elem(), Some(vec![r, fr.dim()])))])
        }
        "OneHot" => {
            let depth = cx
                .val(1)
                .and_then(|v| v.first().cloned())
                .or_else(|| cx.floats(1).and_then(|v| v.first().map(|d| c(*d as i64))));
            let shape = match cx.shape(0) {
                Some(s) => {
                    let a = norm_axis(cx.ai("axis", -1), s.len() + 1)
                        .ok_or_else(|| "axis is out of range".to_string())?;
                    let mut out = s.to_vec();
                    out.insert(a, depth.unwrap_or_else(|| fr.dim()));
                    Some(out)
                }
                None => None,
            };
            Ok(vec![Out::t(Ti::new(cx.elem(2), shape))])
        }
        "LSTM" | "GRU" | "RNN" => rnn(cx, op, fr),
        "QuantizeLinear" => {
            let elem = cx.elem(2).or_else(|| match cx.ai("output_dtype", 0) {
                0 => Some(ElemType::Scalar(ScalarType::U8)),
                code => elem_of_code(code),
            });
            Ok(vec![Out::t(with_elem(cx, 0, elem))])
        }
        "DequantizeLinear" => {
            let elem = match cx.ai("output_dtype", 0) {
                0 => cx.elem(1),
                code => elem_of_code(code),
            };
            Ok(vec![Out::t(with_elem(cx, 0, elem))])
        }
        "DynamicQuantizeLinear" => Ok(vec![
            Out::t(with_elem(cx, 0, Some(ElemType::Scalar(ScalarType::U8)))),
            Out::t(Ti::tensor(ScalarType::F32, vec![])),
            Out::t(Ti::tensor(ScalarType::U8, vec![])),
        ]),
        _ => Ok(vec![]),
    }
}

fn microsoft(cx: &OpCtx, op: &str, fr: &mut Fresh) -> R {
    match op {
        "Gelu" | "FastGelu" | "QuickGelu" | "BiasGelu" | "BiasAdd" => same(cx),
        "LayerNormalization" | "SimplifiedLayerNormalization" => layer_norm(cx),
        "SkipLayerNormalization" | "SkipSimplifiedLayerNormalization" => {
            let x = cx.x(0);
            let stat = Ti::new(
                Some(ElemType::Scalar(ScalarType::F32)),
                x.shape.as_ref().map(|s| {
                    let mut s = s.clone();
                    if let Some(last) = s.last_mut() {
                        *last = c(1);
                    }
                    s
                }),
            );
            Ok(vec![
                Out::t(x.clone()),
                Out::t(stat.clone()),
                Out::t(stat),
                Out::t(x),
            ])
        }
        "QuantizeLinear" | "DequantizeLinear" | "DynamicQuantizeLinear" => onnx(cx, op, fr),
        "FusedMatMul" => {
            let t = |s: Option<&[Expr]>, on: bool| -> Option<Vec<Expr>> {
                let mut s = s?.to_vec();
                let n = s.len();
                if on && n >= 2 {
                    s.swap(n - 1, n - 2);
                }
                Some(s)
            };
            let a = t(cx.shape(0), cx.ai("transA", 0) != 0);
            let b = t(cx.shape(1), cx.ai("transB", 0) != 0);
            let shape = matmul_shape(a.as_deref(), b.as_deref(), fr)?;
            Ok(vec![Out::t(Ti::new(cx.elem(0), shape))])
        }
        _ => Ok(vec![]),
    }
}

fn constant(cx: &OpCtx) -> R {
    let d = cx.data;
    let ints_val = |v: &[i64]| v.iter().map(|&k| c(k)).collect::<Vec<_>>();
    for (name, a) in &d.attrs {
        let out = match (&**name, a) {
            ("value", Attribute::Tensor(t)) => {
                let shape = t.shape.iter().map(|&k| c(k as i64)).collect();
                let n = t.num_elements() as usize;
                let val = (n <= cx.max_elems && (t.elem.is_int() || t.elem == ScalarType::Bool))
                    .then(|| {
                        (0..n)
                            .map(|i| t.int_at(i).map(c))
                            .collect::<Option<Vec<_>>>()
                    })
                    .flatten();
                Out::v(Ti::tensor(t.elem, shape), val)
            }
            ("value_float", Attribute::Float(_)) => Out::t(Ti::tensor(ScalarType::F32, vec![])),
            ("value_floats", Attribute::Floats(v)) => {
                Out::t(Ti::tensor(ScalarType::F32, vec![c(v.len() as i64)]))
            }
            ("value_int", Attribute::Int(k)) => {
                Out::v(Ti::tensor(ScalarType::I64, vec![]), Some(vec![c(*k)]))
            }
            ("value_ints", Attribute::Ints(v)) => Out::v(
                Ti::tensor(ScalarType::I64, vec![c(v.len() as i64)]),
                Some(ints_val(v)),
            ),
            ("value_string", Attribute::String(_)) => {
                Out::t(Ti::tensor(ScalarType::String, vec![]))
            }
            ("value_strings", Attribute::Strings(v)) => {
                Out::t(Ti::tensor(ScalarType::String, vec![c(v.len() as i64)]))
            }
            _ => continue,
        };
        return Ok(vec![out]);
    }
    Ok(vec![])
}

fn binary(cx: &OpCtx, op: &str, fr: &mut Fresh) -> R {
    let shape = broadcast(&[cx.shape(0), cx.shape(1)], fr)?;
    let elem = cx
        .elem(0)
        .or_else(|| if op == "Pow" { None } else { cx.elem(1) });
    let val = if is_int_elem(&elem) {
        let f: Option<fn(&Expr, &Expr) -> Option<Expr>> = match op {
            "Add" => Some(|a, b| Some(a.add(b))),
            "Sub" => Some(|a, b| Some(a.sub(b))),
            "Mul" => Some(|a, b| Some(a.mul(b))),
            "Div" => Some(|a, b| match (a.as_const(), b.as_const()) {
                (Some(x), Some(y)) if y != 0 => Some(c(x.wrapping_div(y))),
                (None, Some(y)) if y > 0 => a.div_exact_const(y).or_else(|| a.floor_div(y)),
                _ => a.div_exact(b),
            }),
            "Mod" => Some(|a, b| match (a.as_const(), b.as_const()) {
                (Some(x), Some(y)) if y != 0 => Some(c(x.wrapping_rem(y))),
                (None, Some(y)) if y > 0 => a.modulo(y),
                _ => None,
            }),
            _ => None,
        };
        f.and_then(|f| zip_vals(cx.val(0), cx.val(1), &shape, f))
    } else {
        None
    };
    Ok(vec![Out::v(Ti::new(elem, shape), val)])
}

fn shape_op(cx: &OpCtx, fr: &mut Fresh) -> R {
    let Some(s) = cx.shape(0) else {
        return Ok(vec![Out::t(Ti::tensor(ScalarType::I64, vec![fr.dim()]))]);
    };
    let r = s.len() as i64;
    let clamp = |v: i64| (if v < 0 { v + r } else { v }).clamp(0, r) as usize;
    let start = clamp(cx.ai("start", 0));
    let end = clamp(cx.data.attr("end").and_then(Attribute::as_int).unwrap_or(r));
    let val = if end > start {
        s[start..end].to_vec()
    } else {
        vec![]
    };
    Ok(vec![Out::v(
        Ti::tensor(ScalarType::I64, vec![c(val.len() as i64)]),
        Some(val),
    )])
}

fn reshape(cx: &OpCtx, fr: &mut Fresh) -> R {
    let x = cx.x(0);
    let allowzero = cx.opset >= 14 && cx.ai("allowzero", 0) != 0;
    let in_shape = x.shape.as_deref();
    let shape = match cx.val(1) {
        Some(t) => {
            let mut out = Vec::with_capacity(t.len());
            let mut neg = None;
            for (i, d) in t.iter().enumerate() {
                match d.as_const() {
                    Some(0) if !allowzero => match in_shape {
                        Some(s) => match s.get(i) {
                            Some(e) => out.push(e.clone()),
                            None => {
                                return Err(format!(
                                    "shape entry {i} is 0 (copy) but the input has rank {}",
                                    s.len()
                                ))
                            }
                        },
                        None => out.push(fr.dim()),
                    },
                    Some(-1) => {
                        if neg.is_some() {
                            return Err("the shape has more than one -1".to_string());
                        }
                        neg = Some(i);
                        out.push(c(1));
                    }
                    Some(k) if k < -1 => return Err(format!("shape entry {i} is {k}")),
                    _ => out.push(d.clone()),
                }
            }
            let total = in_shape.map(product);
            let rest = product(&out);
            match (neg, &total) {
                (Some(i), Some(t)) => {
                    out[i] = match t.div_exact(&rest) {
                        Some(q) => q,
                        None => match (t.as_const(), rest.as_const()) {
                            (Some(a), Some(b)) => {
                                return Err(format!(
                            "cannot reshape {a} elements into a shape with {b} elements and a -1"
                        ))
                            }
                            _ => fr.dim(),
                        },
                    }
                }
                (Some(i), None) => out[i] = fr.dim(),
                (None, Some(t)) => {
                    if let (Some(a), Some(b)) = (t.as_const(), rest.as_const()) {
                        if a != b {
                            return Err(format!(
                                "cannot reshape {a} elements into a shape with {b} elements"
                            ));
                        }
                    }
                }
                (None, None) => {}
            }
            Some(out)
        }
        None => match cx.shape(1) {
            Some([n]) => n.as_const().map(|n| fr.dims(n.max(0) as usize)),
            _ => None,
        },
    };
    Ok(vec![Out::v(
        Ti::new(x.elem, shape),
        cx.val(0).map(<[Expr]>::to_vec),
    )])
}

fn axes_input_or_attr(cx: &OpCtx, from_input_since: i64) -> Option<Option<Vec<i64>>> {
    if cx.opset >= from_input_since {
        if cx.input(1).is_none() {
            return Some(None);
        }
        cx.ints(1).map(Some)
    } else {
        Some(cx.aints("axes"))
    }
}

fn unsqueeze(cx: &OpCtx, fr: &mut Fresh) -> R {
    let x = cx.x(0);
    let val = cx.val(0).map(<[Expr]>::to_vec);
    let shape = match (&x.shape, axes_input_or_attr(cx, 13)) {
        (Some(s), Some(Some(axes))) => {
            let r = s.len() + axes.len();
            let mut pos = vec![false; r];
            for a in &axes {
                let i = norm_axis(*a, r).ok_or_else(|| format!("axis {a} is out of range"))?;
                if pos[i] {
                    return Err(format!("axis {a} is repeated"));
                }
                pos[i] = true;
            }
            let mut it = s.iter();
            Some(
                pos.iter()
                    .map(|&p| {
                        if p {
                            c(1)
                        } else {
                            it.next().cloned().unwrap_or(c(1))
                        }
                    })
                    .collect(),
            )
        }
        (Some(s), _) => match cx.shape(1) {
            Some([n]) => n.as_const().map(|n| fr.dims(s.len() + n.max(0) as usize)),
            _ => None,
        },
        _ => None,
    };
    Ok(vec![Out::v(Ti::new(x.elem, shape), val)])
}

fn squeeze(cx: &OpCtx) -> R {
    let x = cx.x(0);
    let val = cx.val(0).map(<[Expr]>::to_vec);
    let shape = match (&x.shape, axes_input_or_attr(cx, 13)) {
        (Some(s), Some(Some(axes))) if !axes.is_empty() => {
            let mut drop = vec![false; s.len()];
            for a in &axes {
                let i =
                    norm_axis(*a, s.len()).ok_or_else(|| format!("axis {a} is out of range"))?;
                if let Some(k) = s[i].as_const().filter(|&k| k != 1) {
                    return Err(format!("cannot squeeze axis {a} of size {k}"));
                }
                drop[i] = true;
            }
            Some(
                s.iter()
                    .zip(&drop)
                    .filter(|(_, d)| !**d)
                    .map(|(e, _)| e.clone())
                    .collect(),
            )
        }
        (Some(s), Some(_)) => {
            // No axes: every dim of size 1 goes, which is only knowable when no dim is symbolic.
            if s.iter().all(|d| d.as_const().is_some()) {
                Some(
                    s.iter()
                        .filter(|d| d.as_const() != Some(1))
                        .cloned()
                        .collect(),
                )
            } else {
                None
            }
        }
        _ => None,
    };
    Ok(vec![Out::v(Ti::new(x.elem, shape), val)])
}

fn concat(cx: &OpCtx) -> R {
    let n = cx.ins.len();
    let elem = (0..n).find_map(|i| cx.elem(i));
    let mut shapes = vec![];
    for i in 0..n {
        match cx.shape(i) {
            Some(s) => shapes.push(s),
            None => return Ok(vec![Out::t(Ti::new(elem, None))]),
        }
    }
    let Some(first) = shapes.first() else {
        return Ok(vec![]);
    };
    let r = first.len();
    let axis = cx.ai("axis", 0);
    let a =
        norm_axis(axis, r).ok_or_else(|| format!("axis {axis} is out of range for rank {r}"))?;
    let mut out: Vec<Expr> = first.to_vec();
    out[a] = c(0);
    for s in &shapes {
        if s.len() != r {
            return Err(format!("inputs have ranks {r} and {}", s.len()));
        }
        for (i, d) in s.iter().enumerate() {
            if i == a {
                out[a] = out[a].add(d);
            } else if out[i].as_const().is_none() && d.as_const().is_some() {
                out[i] = d.clone();
            } else if let (Some(x), Some(y)) = (out[i].as_const(), d.as_const()) {
                if x != y {
                    return Err(format!("inputs disagree on dim {i}: {x} and {y}"));
                }
            }
        }
    }
    let val = if r == 1 {
        let mut v = vec![];
        let mut ok = true;
        for i in 0..n {
            match cx.val(i) {
                Some(x) => v.extend_from_slice(x),
                None => ok = false,
            }
        }
        ok.then_some(v)
    } else {
        None
    };
    Ok(vec![Out::v(Ti::new(elem, Some(out)), val)])
}

fn split(cx: &OpCtx, fr: &mut Fresh) -> R {
    let x = cx.x(0);
    let n = cx.n_results();
    let Some(s) = &x.shape else {
        return Ok(vec![Out::t(Ti::new(x.elem, None)); n]);
    };
    let axis = cx.ai("axis", 0);
    let a = norm_axis(axis, s.len())
        .ok_or_else(|| format!("axis {axis} is out of range for rank {}", s.len()))?;
    let d = &s[a];
    let given: Option<Vec<Expr>> = if cx.opset >= 13 {
        cx.val(1).map(<[Expr]>::to_vec)
    } else {
        cx.aints("split").map(|v| v.into_iter().map(c).collect())
    };
    let has_split = given.is_some() || (cx.opset >= 13 && cx.input(1).is_some());
    let sizes: Vec<Expr> = match given {
        Some(g) => {
            if g.len() != n {
                return Err(format!("split has {} entries for {n} outputs", g.len()));
            }
            if let (Some(total), Some(dk)) = (consts(&g), d.as_const()) {
                if total.iter().sum::<i64>() != dk {
                    return Err(format!("split sizes {total:?} do not add up to {dk}"));
                }
            }
            g
        }
        None if has_split => fr.dims(n),
        None if n == 0 => vec![],
        None if cx.opset >= 18 && cx.data.attr("num_outputs").is_some() => {
            let k = n as i64;
            let each = d.ceil_div(k).unwrap_or_else(|| fr.dim());
            let last = d.sub(&each.scale(k - 1));
            let mut v = vec![each; n - 1];
            v.push(last);
            v
        }
        None => {
            let k = n as i64;
            if let Some(dk) = d.as_const() {
                if dk % k != 0 {
                    return Err(format!("dim {dk} does not split into {n} equal parts"));
                }
            }
            let each = d
                .div_exact_const(k)
                .or_else(|| d.floor_div(k))
                .unwrap_or_else(|| fr.dim());
            vec![each; n]
        }
    };
    let xval = cx.val(0).filter(|_| s.len() == 1);
    let mut start = 0usize;
    let mut outs = vec![];
    for size in sizes {
        let mut sh = s.clone();
        let val = match (xval, size.as_const()) {
            (Some(v), Some(k)) if k >= 0 && start + k as usize <= v.len() => {
                let r = v[start..start + k as usize].to_vec();
                start += k as usize;
                Some(r)
            }
            _ => {
                start = usize::MAX / 2;
                None
            }
        };
        sh[a] = size;
        outs.push(Out::v(Ti::new(x.elem.clone(), Some(sh)), val));
    }
    Ok(outs)
}

/// An index that means "past the end" (ONNX uses INT_MAX and INT64_MAX).
const HUGE: i64 = i32::MAX as i64;

/// Length of `[s, e)` by `step` on a dim of size `d`, with ONNX's clamping when everything is known and
/// the usual "indices are in range" reading of symbolic dims otherwise.
fn slice_len(d: &Expr, s: &Expr, e: &Expr, step: i64) -> Option<Expr> {
    if step == 0 {
        return None;
    }
    if let (Some(d), Some(s), Some(e)) = (d.as_const(), s.as_const(), e.as_const()) {
        let norm = |v: i64| if v < 0 { v.saturating_add(d) } else { v };
        let (s, e) = (norm(s), norm(e));
        let len = if step > 0 {
            let (s, e) = (s.clamp(0, d), e.clamp(0, d));
            (e - s + step - 1).div_euclid(step)
        } else {
            let (s, e) = (s.clamp(-1, d - 1), e.clamp(-1, d - 1));
            (s - e + (-step) - 1).div_euclid(-step)
        };
        return Some(c(len.max(0)));
    }
    let norm = |v: &Expr, forward: bool| -> Expr {
        match v.as_const() {
            Some(k) if k >= HUGE => {
                if forward {
                    d.clone()
                } else {
                    d.sub(&c(1))
                }
            }
            Some(k) if k <= -HUGE => {
                if forward {
                    c(0)
                } else {
                    c(-1)
                }
            }
            Some(k) if k < 0 => d.add(&c(k)),
            Some(k) => match d.as_const() {
                Some(dk) if k > dk => d.clone(),
                _ => c(k),
            },
            None => v.clone(),
        }
    };
    if step > 0 {
        let (s, e) = (norm(s, true), norm(e, true));
        e.sub(&s).ceil_div(step)
    } else {
        let (s, e) = (norm(s, false), norm(e, false));
        s.sub(&e).ceil_div(-step)
    }
}

fn slice(cx: &OpCtx, fr: &mut Fresh) -> R {
    let x = cx.x(0);
    let Some(s) = &x.shape else {
        return Ok(vec![Out::t(Ti::new(x.elem, None))]);
    };
    let r = s.len();
    let (starts, ends) = (cx.val(1), cx.val(2));
    let axes: Option<Vec<usize>> = match cx.input(3) {
        None => match (starts, cx.shape(1)) {
            (Some(v), _) => Some((0..v.len()).collect()),
            (None, Some([k])) => k
                .as_const()
                .map(|k| (0..(k.max(0) as usize).min(r)).collect()),
            _ => None,
        },
        Some(_) => cx
            .ints(3)
            .map(|v| v.iter().filter_map(|&a| norm_axis(a, r)).collect()),
    };
    let steps: Option<Vec<i64>> = match cx.input(4) {
        None => starts.map(|v| vec![1; v.len()]),
        Some(_) => cx.ints(4),
    };
    let mut out = s.clone();
    match (starts, ends, &axes, &steps) {
        (Some(st), Some(en), Some(ax), Some(sp))
            if st.len() == en.len() && st.len() == ax.len() && st.len() == sp.len() =>
        {
            for i in 0..ax.len() {
                let a = ax[i];
                out[a] = slice_len(&s[a], &st[i], &en[i], sp[i]).unwrap_or_else(|| fr.dim());
            }
        }
        (_, _, Some(ax), _) => {
            for &a in ax {
                out[a] = fr.dim();
            }
        }
        _ => out = fr.dims(r),
    }
    let val = match (
        cx.val(0),
        starts.and_then(consts),
        ends.and_then(consts),
        &axes,
        &steps,
    ) {
        (Some(v), Some(st), Some(en), Some(ax), Some(sp))
            if r == 1 && ax.as_slice() == [0] && st.len() == 1 && en.len() == 1 =>
        {
            let n = v.len() as i64;
            let step = sp.first().copied().unwrap_or(1);
            slice_len(&c(n), &c(st[0]), &c(en[0]), step)
                .and_then(|l| l.as_const())
                .map(|len| {
                    let mut i = if st[0] < 0 { st[0] + n } else { st[0] };
                    i = if step > 0 {
                        i.clamp(0, n)
                    } else {
                        i.clamp(-1, n - 1)
                    };
                    (0..len)
                        .filter_map(|k| v.get((i + k * step) as usize).cloned())
                        .collect()
                })
        }
        _ => None,
    };
    Ok(vec![Out::v(Ti::new(x.elem, Some(out)), val)])
}

fn gather(cx: &OpCtx) -> R {
    let x = cx.x(0);
    let (Some(ds), Some(is)) = (cx.shape(0), cx.shape(1)) else {
        return Ok(vec![Out::t(Ti::new(x.elem, None))]);
    };
    let axis = cx.ai("axis", 0);
    let a = norm_axis(axis, ds.len())
        .ok_or_else(|| format!("axis {axis} is out of range for rank {}", ds.len()))?;
    let mut out = ds[..a].to_vec();
    out.extend_from_slice(is);
    out.extend_from_slice(&ds[a + 1..]);
    let val = match (cx.val(0), cx.ints(1)) {
        (Some(v), Some(idx)) if ds.len() == 1 => {
            let n = v.len() as i64;
            let mut r = vec![];
            for i in idx {
                let j = if i < 0 { i + n } else { i };
                if !(0..n).contains(&j) {
                    return Err(format!("index {i} is out of range for {n} elements"));
                }
                r.push(v[j as usize].clone());
            }
            Some(r)
        }
        _ => None,
    };
    Ok(vec![Out::v(Ti::new(x.elem, Some(out)), val)])
}

fn range(cx: &OpCtx, fr: &mut Fresh) -> R {
    let elem = cx.elem(0);
    let first = |i: usize| cx.val(i).and_then(|v| v.first().cloned());
    let (start, limit, delta) = (first(0), first(1), first(2));
    let fl = |i: usize| cx.floats(i).and_then(|v| v.first().copied());
    let mut val = None;
    let len = match (&start, &limit, &delta) {
        (Some(s), Some(l), Some(d)) => match (s.as_const(), l.as_const(), d.as_const()) {
            (Some(s), Some(l), Some(d)) if d != 0 => {
                let n = ((l - s) as f64 / d as f64).ceil().max(0.0) as i64;
                if n as usize <= cx.max_elems {
                    val = Some((0..n).map(|k| c(s + k * d)).collect());
                }
                Some(c(n))
            }
            (_, _, Some(d)) if d > 0 => l.sub(s).ceil_div(d),
            (_, _, Some(d)) if d < 0 => s.sub(l).ceil_div(-d),
            _ => None,
        },
        _ => match (fl(0), fl(1), fl(2)) {
            (Some(s), Some(l), Some(d)) if d != 0.0 => {
                Some(c(((l - s) / d).ceil().max(0.0) as i64))
            }
            _ => None,
        },
    };
    let len = len.unwrap_or_else(|| fr.dim());
    Ok(vec![Out::v(Ti::new(elem, Some(vec![len])), val)])
}

fn pad(cx: &OpCtx, fr: &mut Fresh) -> R {
    let x = cx.x(0);
    let Some(s) = &x.shape else {
        return Ok(vec![Out::t(Ti::new(x.elem, None))]);
    };
    let r = s.len();
    let pads: Option<Vec<Expr>> = if cx.opset >= 11 {
        cx.val(1).map(<[Expr]>::to_vec)
    } else {
        cx.aints("pads").map(|v| v.into_iter().map(c).collect())
    };
    let axes: Option<Vec<usize>> = match cx.input(3) {
        Some(_) => cx
            .ints(3)
            .map(|v| v.iter().filter_map(|&a| norm_axis(a, r)).collect()),
        None => Some((0..r).collect()),
    };
    let shape = match (pads, axes) {
        (Some(p), Some(ax)) if p.len() == 2 * ax.len() => {
            let mut out = s.clone();
            let k = ax.len();
            for (i, &a) in ax.iter().enumerate() {
                out[a] = out[a].add(&p[i]).add(&p[i + k]);
            }
            out
        }
        (Some(p), Some(ax)) => return Err(format!("{} pads for {} axes", p.len(), ax.len())),
        _ => fr.dims(r),
    };
    Ok(vec![Out::t(Ti::new(x.elem, Some(shape)))])
}

/// `d * scale` as ONNX's Resize computes it (`floor`), symbolically when the scale is an integer or the
/// inverse of one.
fn scale_dim(d: &Expr, scale: f64, fr: &mut Fresh) -> Expr {
    if let Some(k) = d.as_const() {
        return c((k as f64 * scale).floor() as i64);
    }
    if scale > 0.0 && scale.fract() == 0.0 {
        return d.scale(scale as i64);
    }
    if scale > 0.0 {
        let inv = 1.0 / scale;
        if (inv - inv.round()).abs() < 1e-9 && inv.round() >= 1.0 {
            if let Some(e) = d.floor_div(inv.round() as i64) {
                return e;
            }
        }
    }
    fr.dim()
}

fn resize(cx: &OpCtx, op: &str, fr: &mut Fresh) -> R {
    let x = cx.x(0);
    let Some(s) = &x.shape else {
        return Ok(vec![Out::t(Ti::new(x.elem, None))]);
    };
    let r = s.len();
    let (scales_i, sizes_i) = if op == "Upsample" || cx.opset < 11 {
        (1, usize::MAX)
    } else {
        (2, 3)
    };
    let axes: Vec<usize> = match cx.aints("axes") {
        Some(a) if op == "Resize" => a.iter().filter_map(|&v| norm_axis(v, r)).collect(),
        _ => (0..r).collect(),
    };
    let mut out = s.clone();
    let sizes = cx.val(sizes_i).filter(|v| !v.is_empty());
    let scales = if op == "Upsample" && cx.input(1).is_none() {
        cx.data.attr("scales").and_then(|a| match a {
            Attribute::Floats(f) => Some(f.iter().map(|&v| v as f64).collect::<Vec<_>>()),
            _ => None,
        })
    } else {
        cx.floats(scales_i)
    }
    .filter(|v| !v.is_empty());
    if let Some(sz) = sizes {
        if sz.len() != axes.len() {
            return Err(format!("{} sizes for {} axes", sz.len(), axes.len()));
        }
        let policy = cx.astr("keep_aspect_ratio_policy").unwrap_or("stretch");
        if policy == "stretch" {
            for (i, &a) in axes.iter().enumerate() {
                out[a] = sz[i].clone();
            }
        } else {
            let known: Option<Vec<(i64, i64)>> = axes
                .iter()
                .zip(sz)
                .map(|(&a, z)| Some((s[a].as_const()?, z.as_const()?)))
                .collect();
            match known {
                Some(k) => {
                    let ratios = k.iter().map(|(d, z)| *z as f64 / *d as f64);
                    let scale = if policy == "not_larger" {
                        ratios.fold(f64::INFINITY, f64::min)
                    } else {
                        ratios.fold(0.0, f64::max)
                    };
                    for (&a, (d, _)) in axes.iter().zip(&k) {
                        out[a] = c((*d as f64 * scale + 0.5).floor() as i64);
                    }
                }
                None => {
                    for &a in &axes {
                        out[a] = fr.dim();
                    }
                }
            }
        }
    } else if let Some(sc) = scales {
        if sc.len() != axes.len() {
            return Err(format!("{} scales for {} axes", sc.len(), axes.len()));
        }
        for (i, &a) in axes.iter().enumerate() {
            out[a] = scale_dim(&s[a], sc[i], fr);
        }
    } else {
        for &a in &axes {
            out[a] = fr.dim();
        }
    }
    Ok(vec![Out::t(Ti::new(x.elem, Some(out)))])
}

/// The spatial attributes shared by Conv, ConvTranspose and the pools.
struct Window {
    kernel: Vec<Expr>,
    strides: Vec<i64>,
    dilations: Vec<i64>,
    pads: Vec<Expr>,
    auto_pad: String,
}

fn window(cx: &OpCtx, n: usize, kernel: Vec<Expr>) -> Result<Window, String> {
    let get = |name: &str, default: i64, len: usize| -> Result<Vec<i64>, String> {
        match cx.aints(name) {
            Some(v) if v.len() == len => Ok(v),
            Some(v) if v.is_empty() => Ok(vec![default; len]),
            Some(v) => Err(format!(
                "{name} has {} entries for {n} spatial dims",
                v.len()
            )),
            None => Ok(vec![default; len]),
        }
    };
    let strides = get("strides", 1, n)?;
    if strides.iter().any(|&s| s <= 0) {
        return Err(format!("strides {strides:?} must be positive"));
    }
    Ok(Window {
        kernel,
        strides,
        dilations: get("dilations", 1, n)?,
        pads: get("pads", 0, 2 * n)?.into_iter().map(c).collect(),
        auto_pad: cx.astr("auto_pad").unwrap_or("NOTSET").to_string(),
    })
}

/// Output size of a sliding window over `d` (Conv and pools).
fn window_out(w: &Window, i: usize, d: &Expr, ceil_mode: bool, fr: &mut Fresh) -> Expr {
    let n = w.strides.len();
    let s = w.strides[i];
    let eff = w.kernel[i].sub(&c(1)).scale(w.dilations[i]).add(&c(1));
    let r = match w.auto_pad.as_str() {
        "SAME_UPPER" | "SAME_LOWER" => d.ceil_div(s),
        "VALID" => {
            let num = d.sub(&eff);
            if ceil_mode {
                num.ceil_div(s).map(|e| e.add(&c(1)))
            } else {
                num.floor_div(s).map(|e| e.add(&c(1)))
            }
        }
        _ => {
            let num = d.add(&w.pads[i]).add(&w.pads[i + n]).sub(&eff);
            let out = if ceil_mode {
                num.ceil_div(s)
            } else {
                num.floor_div(s)
            }
            .map(|e| e.add(&c(1)));
            // With ceil_mode, a last window that would start in the end padding is dropped.
            match (
                ceil_mode,
                out.as_ref().and_then(Expr::as_const),
                d.as_const(),
            ) {
                (true, Some(o), Some(dk)) => {
                    let pb = w.pads[i].as_const().unwrap_or(0);
                    Some(c(if (o - 1) * s >= dk + pb { o - 1 } else { o }))
                }
                _ => out,
            }
        }
    };
    r.unwrap_or_else(|| fr.dim())
}

fn conv(
    cx: &OpCtx,
    fr: &mut Fresh,
    xi: usize,
    wi: usize,
    transpose: bool,
    elem: Option<ScalarType>,
) -> R {
    let x = cx.x(xi);
    let elem = elem.map(ElemType::Scalar).or_else(|| x.elem.clone());
    let Some(xs) = &x.shape else {
        return Ok(vec![Out::t(Ti::new(elem, None))]);
    };
    if xs.len() < 3 {
        return Err(format!(
            "expects an input of rank 3 or more, got {}",
            xs.len()
        ));
    }
    let n = xs.len() - 2;
    let ws = cx.shape(wi);
    if let Some(ws) = ws {
        if ws.len() != xs.len() {
            return Err(format!(
                "weights have rank {} for an input of rank {}",
                ws.len(),
                xs.len()
            ));
        }
    }
    let group = cx.ai("group", 1).max(1);
    let kernel: Vec<Expr> = match (cx.aints("kernel_shape"), ws) {
        (Some(k), _) if k.len() == n => k.into_iter().map(c).collect(),
        (_, Some(ws)) => ws[2..].to_vec(),
        _ => fr.dims(n),
    };
    let w = window(cx, n, kernel)?;
    let out_ch = match ws {
        Some(ws) if !transpose => {
            if let (Some(ci), Some(wc)) = (xs[1].as_const(), ws[1].as_const()) {
                if ci != wc * group {
                    return Err(format!(
                        "input has {ci} channels but the weights expect {} ({} per group, group = {group})",
                        wc * group,
                        wc
                    ));
                }
            }
            ws[0].clone()
        }
        Some(ws) => {
            if let (Some(ci), Some(wc)) = (xs[1].as_const(), ws[0].as_const()) {
                if ci != wc {
                    return Err(format!(
                        "input has {ci} channels but the weights expect {wc}"
                    ));
                }
            }
            ws[1].scale(group)
        }
        None => fr.dim(),
    };
    let mut out = vec![xs[0].clone(), out_ch];
    if transpose {
        let output_shape = cx.aints("output_shape");
        let op = cx.aints("output_padding").unwrap_or_else(|| vec![0; n]);
        for i in 0..n {
            let d = &xs[i + 2];
            if let Some(os) = output_shape.as_ref().filter(|v| v.len() >= n) {
                out.push(c(os[os.len() - n + i]));
                continue;
            }
            let s = w.strides[i];
            let e = match w.auto_pad.as_str() {
                "SAME_UPPER" | "SAME_LOWER" => d.scale(s),
                _ => d
                    .sub(&c(1))
                    .scale(s)
                    .add(&c(op.get(i).copied().unwrap_or(0)))
                    .add(&w.kernel[i].sub(&c(1)).scale(w.dilations[i]))
                    .add(&c(1))
                    .sub(&w.pads[i])
                    .sub(&w.pads[i + n]),
            };
            out.push(e);
        }
    } else {
        for i in 0..n {
            out.push(window_out(&w, i, &xs[i + 2], false, fr));
        }
    }
    Ok(vec![Out::t(Ti::new(elem, Some(out)))])
}

fn pool(cx: &OpCtx, op: &str, fr: &mut Fresh) -> R {
    let x = cx.x(0);
    let Some(xs) = &x.shape else {
        return Ok(vec![
            Out::t(Ti::new(x.elem, None)),
            Out::t(Ti::new(i64_elem(), None)),
        ]);
    };
    if xs.len() < 3 {
        return Err(format!(
            "expects an input of rank 3 or more, got {}",
            xs.len()
        ));
    }
    let n = xs.len() - 2;
    let kernel: Vec<Expr> = match cx.aints("kernel_shape") {
        Some(k) if k.len() == n => k.into_iter().map(c).collect(),
        Some(k) => {
            return Err(format!(
                "kernel_shape has {} entries for {n} spatial dims",
                k.len()
            ))
        }
        None => fr.dims(n),
    };
    let w = window(cx, n, kernel)?;
    let ceil_mode = cx.ai("ceil_mode", 0) != 0;
    let mut out = vec![xs[0].clone(), xs[1].clone()];
    for i in 0..n {
        out.push(window_out(&w, i, &xs[i + 2], ceil_mode, fr));
    }
    let mut outs = vec![Out::t(Ti::new(x.elem, Some(out.clone())))];
    if op == "MaxPool" {
        outs.push(Out::t(Ti::new(i64_elem(), Some(out))));
    }
    Ok(outs)
}

fn max_unpool(cx: &OpCtx, fr: &mut Fresh) -> R {
    let x = cx.x(0);
    if let Some(v) = cx.val(2) {
        return Ok(vec![Out::t(Ti::new(x.elem, Some(v.to_vec())))]);
    }
    let Some(xs) = &x.shape else {
        return Ok(vec![Out::t(Ti::new(x.elem, None))]);
    };
    if xs.len() < 3 {
        return Err(format!(
            "expects an input of rank 3 or more, got {}",
            xs.len()
        ));
    }
    let n = xs.len() - 2;
    let kernel: Vec<Expr> = match cx.aints("kernel_shape") {
        Some(k) if k.len() == n => k.into_iter().map(c).collect(),
        _ => fr.dims(n),
    };
    let w = window(cx, n, kernel)?;
    let mut out = vec![xs[0].clone(), xs[1].clone()];
    for i in 0..n {
        out.push(
            xs[i + 2]
                .sub(&c(1))
                .scale(w.strides[i])
                .add(&w.kernel[i])
                .sub(&w.pads[i])
                .sub(&w.pads[i + n]),
        );
    }
    Ok(vec![Out::t(Ti::new(x.elem, Some(out)))])
}

fn layer_norm(cx: &OpCtx) -> R {
    let x = cx.x(0);
    let stat_shape = x.shape.as_ref().and_then(|s| {
        let a = norm_axis(cx.ai("axis", -1), s.len())?;
        Some(
            s.iter()
                .enumerate()
                .map(|(i, d)| if i < a { d.clone() } else { c(1) })
                .collect(),
        )
    });
    let stat_elem = match cx.ai("stash_type", 1) {
        1 => Some(ElemType::Scalar(ScalarType::F32)),
        code => elem_of_code(code),
    };
    let stat = Ti::new(stat_elem, stat_shape);
    Ok(vec![Out::t(x), Out::t(stat.clone()), Out::t(stat)])
}

fn matmul_shape(
    a: Option<&[Expr]>,
    b: Option<&[Expr]>,
    fr: &mut Fresh,
) -> Result<Option<Vec<Expr>>, String> {
    let (Some(a), Some(b)) = (a, b) else {
        return Ok(None);
    };
    if a.is_empty() || b.is_empty() {
        return Err("MatMul operands must have rank 1 or more".to_string());
    }
    let a2: Vec<Expr> = if a.len() == 1 {
        vec![c(1), a[0].clone()]
    } else {
        a.to_vec()
    };
    let b2: Vec<Expr> = if b.len() == 1 {
        vec![b[0].clone(), c(1)]
    } else {
        b.to_vec()
    };
    let (ka, kb) = (&a2[a2.len() - 1], &b2[b2.len() - 2]);
    if let (Some(x), Some(y)) = (ka.as_const(), kb.as_const()) {
        if x != y {
            return Err(format!("inner dims differ: {x} and {y}"));
        }
    }
    let batch = broadcast(&[Some(&a2[..a2.len() - 2]), Some(&b2[..b2.len() - 2])], fr)?;
    let mut out = batch.unwrap_or_default();
    if a.len() > 1 {
        out.push(a2[a2.len() - 2].clone());
    }
    if b.len() > 1 {
        out.push(b2[b2.len() - 1].clone());
    }
    Ok(Some(out))
}

fn gemm(cx: &OpCtx) -> R {
    let elem = cx.elem(0);
    let (Some(a), Some(b)) = (cx.shape(0), cx.shape(1)) else {
        return Ok(vec![Out::t(Ti::new(elem, None))]);
    };
    if a.len() != 2 || b.len() != 2 {
        return Err(format!(
            "expects 2-D operands, got ranks {} and {}",
            a.len(),
            b.len()
        ));
    }
    let (m, ka) = if cx.ai("transA", 0) != 0 {
        (&a[1], &a[0])
    } else {
        (&a[0], &a[1])
    };
    let (kb, n) = if cx.ai("transB", 0) != 0 {
        (&b[1], &b[0])
    } else {
        (&b[0], &b[1])
    };
    if let (Some(x), Some(y)) = (ka.as_const(), kb.as_const()) {
        if x != y {
            return Err(format!("inner dims differ: {x} and {y}"));
        }
    }
    Ok(vec![Out::t(Ti::new(
        elem,
        Some(vec![m.clone(), n.clone()]),
    ))])
}

fn einsum(cx: &OpCtx, fr: &mut Fresh) -> R {
    let elem = cx.elem(0);
    let none = || Ok(vec![Out::t(Ti::new(cx.elem(0), None))]);
    let Some(eq) = cx.astr("equation") else {
        return none();
    };
    let eq: String = eq.chars().filter(|c| !c.is_whitespace()).collect();
    let (lhs, rhs) = match eq.split_once("->") {
        Some((l, r)) => (l, Some(r)),
        None => (eq.as_str(), None),
    };
    let terms: Vec<&str> = lhs.split(',').collect();
    if terms.len() != cx.ins.len() {
        return Err(format!(
            "equation has {} terms for {} inputs",
            terms.len(),
            cx.ins.len()
        ));
    }
    let mut dims: Vec<(char, Expr)> = vec![];
    let mut count: Vec<(char, usize)> = vec![];
    let mut ell: Vec<Vec<Expr>> = vec![];
    for (i, t) in terms.iter().enumerate() {
        let Some(s) = cx.shape(i) else {
            return none();
        };
        let letters: Vec<char> = t.replace("...", "").chars().collect();
        let has_ell = t.contains("...");
        let n_ell = s.len().checked_sub(letters.len()).ok_or_else(|| {
            format!(
                "term '{t}' has more letters than input {i} has dims ({})",
                s.len()
            )
        })?;
        if !has_ell && n_ell != 0 {
            return Err(format!(
                "term '{t}' does not match input {i} of rank {}",
                s.len()
            ));
        }
        let pre = t
            .find("...")
            .map_or(letters.len(), |p| t[..p].chars().count());
        let mut k = 0;
        for (j, ch) in letters.iter().enumerate() {
            if j == pre {
                ell.push(s[k..k + n_ell].to_vec());
                k += n_ell;
            }
            let d = s[k].clone();
            k += 1;
            match dims.iter_mut().find(|(c, _)| c == ch) {
                Some((_, e)) => {
                    if e.as_const().is_none() || e.as_const() == Some(1) {
                        *e = d;
                    }
                }
                None => dims.push((*ch, d)),
            }
            match count.iter_mut().find(|(c, _)| c == ch) {
                Some((_, n)) => *n += 1,
                None => count.push((*ch, 1)),
            }
        }
        if has_ell && pre == letters.len() {
            ell.push(s[k..k + n_ell].to_vec());
        }
    }
    let ell_refs: Vec<Option<&[Expr]>> = ell.iter().map(|e| Some(e.as_slice())).collect();
    let ell_shape = broadcast(&ell_refs, fr)?.unwrap_or_default();
    let mut out = vec![];
    let dim_of = |ch: char| dims.iter().find(|(c, _)| *c == ch).map(|(_, e)| e.clone());
    match rhs {
        Some(r) => {
            let pre = r.find("...");
            let letters: Vec<char> = r.replace("...", "").chars().collect();
            let pre_n = pre.map(|p| r[..p].chars().count());
            for (j, ch) in letters.iter().enumerate() {
                if Some(j) == pre_n {
                    out.extend(ell_shape.iter().cloned());
                }
                out.push(
                    dim_of(*ch).ok_or_else(|| format!("output letter '{ch}' is not an input's"))?,
                );
            }
            if pre_n == Some(letters.len()) {
                out.extend(ell_shape.iter().cloned());
            }
        }
        None => {
            out.extend(ell_shape.iter().cloned());
            let mut once: Vec<char> = count
                .iter()
                .filter(|(_, n)| *n == 1)
                .map(|(c, _)| *c)
                .collect();
            once.sort_unstable();
            for ch in once {
                out.extend(dim_of(ch));
            }
        }
    }
    Ok(vec![Out::t(Ti::new(elem, Some(out)))])
}

fn reduce_dims(s: &[Expr], axes: &[usize], keep: bool) -> Vec<Expr> {
    s.iter()
        .enumerate()
        .filter_map(|(i, d)| {
            if axes.contains(&i) {
                keep.then(|| c(1))
            } else {
                Some(d.clone())
            }
        })
        .collect()
}

fn reduce(cx: &OpCtx, op: &str, fr: &mut Fresh) -> R {
    let x = cx.x(0);
    let keep = cx.ai("keepdims", 1) != 0;
    let since = if op == "ReduceSum" { 13 } else { 18 };
    let Some(s) = &x.shape else {
        return Ok(vec![Out::t(Ti::new(x.elem, None))]);
    };
    let shape =
        match axes_input_or_attr(cx, since) {
            Some(axes) => {
                let axes = axes.unwrap_or_default();
                if axes.is_empty() {
                    if cx.ai("noop_with_empty_axes", 0) != 0 {
                        Some(s.clone())
                    } else {
                        Some(reduce_dims(s, &(0..s.len()).collect::<Vec<_>>(), keep))
                    }
                } else {
                    let mut idx = vec![];
                    for a in axes {
                        idx.push(norm_axis(a, s.len()).ok_or_else(|| {
                            format!("axis {a} is out of range for rank {}", s.len())
                        })?);
                    }
                    Some(reduce_dims(s, &idx, keep))
                }
            }
            None if keep => Some(fr.dims(s.len())),
            None => match cx.shape(1) {
                Some([n]) => n
                    .as_const()
                    .map(|n| fr.dims(s.len().saturating_sub(n.max(0) as usize))),
                _ => None,
            },
        };
    Ok(vec![Out::t(Ti::new(x.elem, shape))])
}

fn rnn(cx: &OpCtx, op: &str, fr: &mut Fresh) -> R {
    let x = cx.x(0);
    let nd: i64 = if cx.astr("direction") == Some("bidirectional") {
        2
    } else {
        1
    };
    let layout = cx.ai("layout", 0);
    let hidden = match cx.data.attr("hidden_size").and_then(Attribute::as_int) {
        Some(h) => c(h),
        None => cx
            .shape(2)
            .and_then(|r| r.get(2).cloned())
            .unwrap_or_else(|| fr.dim()),
    };
    let (seq, batch) = match cx.shape(0) {
        Some(s) if s.len() == 3 => {
            if layout == 0 {
                (s[0].clone(), s[1].clone())
            } else {
                (s[1].clone(), s[0].clone())
            }
        }
        Some(s) => return Err(format!("expects a 3-D input, got rank {}", s.len())),
        None => (fr.dim(), fr.dim()),
    };
    let y = if layout == 0 {
        vec![seq, c(nd), batch.clone(), hidden.clone()]
    } else {
        vec![batch.clone(), seq, c(nd), hidden.clone()]
    };
    let yh = if layout == 0 {
        vec![c(nd), batch, hidden]
    } else {
        vec![batch, c(nd), hidden]
    };
    let mut outs = vec![
        Out::t(Ti::new(x.elem.clone(), Some(y))),
        Out::t(Ti::new(x.elem.clone(), Some(yh.clone()))),
    ];
    if op == "LSTM" {
        outs.push(Out::t(Ti::new(x.elem, Some(yh))));
    }
    Ok(outs)
}
