//! The rewrite rules of `fuse`. Each rule is an egg [`Rewrite`] whose searcher is a shallow pattern
//! (`(onnx.Add ?a ?b)`) and whose applier is a custom [`Applier`] that looks into the matched classes,
//! checks legality against attributes, types and constants, adds the fused form and unions it with the
//! matched class. Legality conditions are written next to each rule.
//!
//! Rule groups (the names the `rules` option takes): `bn-fold`, `conv-bias`, `matmul-gemm`,
//! `layernorm`, `gelu`, `swish`, `transpose`, `reshape`, `squeeze`, `identity`.

use egg::{Applier, Id, PatternAst, Rewrite, Subst, Symbol, Var};
use onnxqc_ir::{Attribute, Dim, NamedAttr, ScalarType, TensorData, Type};
use smallvec::SmallVec;

use super::lang::{Fuse, FuseGraph, Head, Node};

/// Every rule group, in the order they are listed.
pub const GROUPS: &[&str] = &[
    "bn-fold",
    "conv-bias",
    "matmul-gemm",
    "layernorm",
    "gelu",
    "swish",
    "transpose",
    "reshape",
    "squeeze",
    "identity",
];

#[derive(Clone, Copy, Debug)]
enum Rule {
    BnFold,
    ConvBias,
    MatMulGemm,
    LayerNorm,
    LayerNormScale,
    LayerNormBias,
    Gelu,
    Swish,
    Transpose,
    Reshape,
    SqueezeUnsqueeze,
    UnsqueezeSqueeze,
    Identity,
    Dropout,
    Cast,
}

struct Apply {
    rule: Rule,
    vars: Vec<Var>,
    kind: Symbol,
}

/// The rewrites of the enabled groups.
pub fn rewrites(groups: &[&str]) -> Vec<Rewrite<Node, Fuse>> {
    let table: &[(&str, &str, Rule, &str)] = &[
        (
            "bn-fold",
            "bn-fold",
            Rule::BnFold,
            "(onnx.BatchNormalization ?y ?s ?b ?m ?v)",
        ),
        ("conv-bias", "conv-bias", Rule::ConvBias, "(onnx.Add ?a ?b)"),
        (
            "matmul-gemm",
            "matmul-gemm",
            Rule::MatMulGemm,
            "(onnx.Add ?a ?b)",
        ),
        (
            "layernorm",
            "layernorm",
            Rule::LayerNorm,
            "(onnx.Div ?a ?b)",
        ),
        (
            "layernorm",
            "layernorm-scale",
            Rule::LayerNormScale,
            "(onnx.Mul ?a ?b)",
        ),
        (
            "layernorm",
            "layernorm-bias",
            Rule::LayerNormBias,
            "(onnx.Add ?a ?b)",
        ),
        ("gelu", "gelu", Rule::Gelu, "(onnx.Mul ?a ?b)"),
        ("swish", "swish", Rule::Swish, "(onnx.Mul ?a ?b)"),
        (
            "transpose",
            "transpose",
            Rule::Transpose,
            "(onnx.Transpose ?a)",
        ),
        ("reshape", "reshape", Rule::Reshape, "(onnx.Reshape ?a ?b)"),
        (
            "squeeze",
            "squeeze-unsqueeze",
            Rule::SqueezeUnsqueeze,
            "(onnx.Squeeze ?a)",
        ),
        (
            "squeeze",
            "squeeze-unsqueeze-2",
            Rule::SqueezeUnsqueeze,
            "(onnx.Squeeze ?a ?b)",
        ),
        (
            "squeeze",
            "unsqueeze-squeeze",
            Rule::UnsqueezeSqueeze,
            "(onnx.Unsqueeze ?a)",
        ),
        (
            "squeeze",
            "unsqueeze-squeeze-2",
            Rule::UnsqueezeSqueeze,
            "(onnx.Unsqueeze ?a ?b)",
        ),
        ("identity", "identity", Rule::Identity, "(onnx.Identity ?a)"),
        ("identity", "dropout", Rule::Dropout, "(onnx.Dropout ?a)"),
        (
            "identity",
            "dropout-2",
            Rule::Dropout,
            "(onnx.Dropout ?a ?b)",
        ),
        (
            "identity",
            "dropout-3",
            Rule::Dropout,
            "(onnx.Dropout ?a ?b ?c)",
        ),
        ("identity", "cast", Rule::Cast, "(onnx.Cast ?a)"),
    ];
    let mut out = Vec::new();
    for &(group, name, rule, pat) in table {
        if !groups.contains(&group) {
            continue;
        }
        let pattern: egg::Pattern<Node> = pat.parse().expect("rule pattern parses");
        let vars = pattern.vars();
        let kind = match pattern.ast.as_ref().last() {
            Some(egg::ENodeOrVar::ENode(n)) => n.kind,
            _ => unreachable!("patterns have an op at the root"),
        };
        out.push(Rewrite::new(name, pattern, Apply { rule, vars, kind }).expect("valid rewrite"));
    }
    out
}

impl Applier<Node, Fuse> for Apply {
    fn apply_one(
        &self,
        eg: &mut FuseGraph,
        eclass: Id,
        subst: &Subst,
        _ast: Option<&PatternAst<Node>>,
        _rule: Symbol,
    ) -> Vec<Id> {
        let ids: SmallVec<[Id; 5]> = self.vars.iter().map(|v| eg.find(subst[*v])).collect();
        let Some(root) = matched(eg, eclass, self.kind, &ids) else {
            return vec![];
        };
        let new = match self.rule {
            Rule::BnFold => bn_fold(eg, eclass, &root, &ids),
            Rule::ConvBias => either(eg, &ids, |eg, a, b| conv_bias(eg, eclass, a, b)),
            Rule::MatMulGemm => either(eg, &ids, |eg, a, b| matmul_gemm(eg, eclass, &root, a, b)),
            Rule::LayerNorm => layernorm(eg, eclass, &root, ids[0], ids[1]),
            Rule::LayerNormScale => either(eg, &ids, |eg, a, b| {
                layernorm_affine(eg, eclass, a, b, false)
            }),
            Rule::LayerNormBias => either(eg, &ids, |eg, a, b| {
                layernorm_affine(eg, eclass, a, b, true)
            }),
            Rule::Gelu => either(eg, &ids, |eg, a, b| gelu(eg, eclass, &root, a, b)),
            Rule::Swish => either(eg, &ids, |eg, a, b| swish(eg, eclass, &root, a, b)),
            Rule::Transpose => transpose(eg, eclass, &root, ids[0]),
            Rule::Reshape => reshape(eg, eclass, &root, ids[0], ids[1]),
            Rule::SqueezeUnsqueeze => squeeze_pair(eg, eclass, &root, &ids, true),
            Rule::UnsqueezeSqueeze => squeeze_pair(eg, eclass, &root, &ids, false),
            Rule::Identity => Some(ids[0]),
            Rule::Dropout => dropout(eg, &ids),
            Rule::Cast => cast(eg, eclass, &root, ids[0]),
        };
        match new {
            Some(n) if eg.find(n) != eg.find(eclass) => {
                eg.union(eclass, n);
                vec![eclass]
            }
            _ => vec![],
        }
    }

    fn vars(&self) -> Vec<Var> {
        vec![]
    }
}

// ----- helpers -----

/// The node of `class` of `kind` whose children are `ids` (the one the pattern matched); its head.
fn matched(eg: &FuseGraph, class: Id, kind: Symbol, ids: &[Id]) -> Option<Head> {
    eg[class]
        .nodes
        .iter()
        .find(|n| {
            n.kind == kind
                && n.children.len() == ids.len()
                && n.children.iter().zip(ids).all(|(&c, &i)| eg.find(c) == i)
        })
        .map(|n| eg.analysis.heads[n.head as usize].clone())
        .filter(|h| !h.tuple)
}

fn either(
    eg: &mut FuseGraph,
    ids: &[Id],
    mut f: impl FnMut(&mut FuseGraph, Id, Id) -> Option<Id>,
) -> Option<Id> {
    f(eg, ids[0], ids[1]).or_else(|| f(eg, ids[1], ids[0]))
}

/// A value node of `kind` in `class`: (children, head).
fn find(eg: &FuseGraph, class: Id, kind: &str) -> Option<(SmallVec<[Id; 3]>, Head)> {
    let sym = Symbol::from(kind);
    eg[class].nodes.iter().find_map(|n| {
        let h = &eg.analysis.heads[n.head as usize];
        (n.kind == sym && !h.tuple)
            .then(|| (n.children.iter().map(|&c| eg.find(c)).collect(), h.clone()))
    })
}

fn ty(eg: &FuseGraph, c: Id) -> Option<&Type> {
    eg[c]
        .data
        .ty
        .and_then(|h| eg.analysis.heads[h as usize].ty.as_ref())
}

fn konst(eg: &FuseGraph, c: Id) -> Option<&TensorData> {
    eg[c]
        .data
        .konst
        .and_then(|h| eg.analysis.heads[h as usize].konst.as_ref())
}

fn is_const(eg: &FuseGraph, c: Id) -> bool {
    eg[c].data.is_const
}

/// The value of a one-element numeric constant.
fn scalar(eg: &FuseGraph, c: Id) -> Option<f64> {
    let t = konst(eg, c)?;
    if t.num_elements() != 1 {
        return None;
    }
    match t.elem {
        ScalarType::F32 | ScalarType::F64 => t.float_at(0),
        ScalarType::F16 | ScalarType::BF16 => super::weights::to_f32(t).ok().map(|v| v[0] as f64),
        _ => t.int_at(0).map(|v| v as f64),
    }
}

fn near(x: f64, want: f64) -> bool {
    (x - want).abs() <= 1e-4 * want.abs()
}

fn is_scalar(eg: &FuseGraph, c: Id, want: f64) -> bool {
    scalar(eg, c).is_some_and(|x| near(x, want))
}

fn static_shape(eg: &FuseGraph, c: Id) -> Option<Vec<u64>> {
    ty(eg, c)?.as_tensor()?.static_dims()
}

fn dims(eg: &FuseGraph, c: Id) -> Option<&[Dim]> {
    ty(eg, c)?.as_tensor()?.shape.as_deref()
}

fn elem(eg: &FuseGraph, c: Id) -> Option<ScalarType> {
    ty(eg, c)?.elem()?.scalar()
}

fn is_float(e: Option<ScalarType>) -> bool {
    matches!(
        e,
        Some(ScalarType::F32 | ScalarType::F16 | ScalarType::BF16 | ScalarType::F64)
    )
}

fn absent(eg: &FuseGraph, c: Id) -> bool {
    find(eg, c, "onnx.NoValue").is_some()
}

/// Read only by the matched op: folding into it does not duplicate its work.
fn single_use(eg: &FuseGraph, c: Id) -> bool {
    eg[c].data.uses <= 1 && !eg[c].data.root
}

fn ints_of(eg: &FuseGraph, c: Id) -> Option<Vec<i64>> {
    let t = konst(eg, c)?;
    (0..t.num_elements() as usize)
        .map(|i| t.int_at(i))
        .collect()
}

fn float_attr(h: &Head, name: &str, default: f32) -> f32 {
    h.attr(name)
        .and_then(Attribute::as_float)
        .unwrap_or(default)
}

fn int_attr(h: &Head, name: &str, default: i64) -> i64 {
    h.attr(name).and_then(Attribute::as_int).unwrap_or(default)
}

fn set(attrs: &mut Vec<NamedAttr>, name: &str, v: Attribute) {
    match attrs.iter_mut().find(|(k, _)| &**k == name) {
        Some(slot) => slot.1 = v,
        None => attrs.push((name.into(), v)),
    }
}

/// The original op of a matched head, if it is one (for naming new ops).
fn op_of(h: &Head) -> Option<onnxqc_ir::OpId> {
    match h.origin {
        super::lang::Origin::Op(o) => Some(o),
        _ => h.name_from,
    }
}

fn add(eg: &mut FuseGraph, head: Head, children: &[Id]) -> Id {
    let kind = Symbol::from(&*head.kind);
    let h = eg.analysis.intern(head);
    eg.add(Node {
        kind,
        head: h,
        children: children.iter().copied().collect(),
    })
}

fn virtual_weight(
    eg: &mut FuseGraph,
    kind: &str,
    attrs: Vec<NamedAttr>,
    ty: Type,
    children: &[Id],
) -> Id {
    let mut h = Head::new_op(kind, attrs, Some(ty), None);
    h.virtual_weight = true;
    add(eg, h, children)
}

fn class_ty(eg: &FuseGraph, c: Id) -> Option<Type> {
    ty(eg, c).cloned()
}

// ----- 1. BatchNormalization into Conv / ConvTranspose / Gemm -----

/// Legal when: BN is in inference form (only `Y` used, `training_mode` absent or 0); its four parameters
/// are constants of shape `[C]`; the producer's output is read only by BN; its weight is a constant with
/// `C` output channels (Conv: `W[0]`; ConvTranspose: `W[1] * group`; Gemm: `N` from `transB`) and its bias
/// absent or constant (Gemm: broadcastable to `[N]`); element types are float.
fn bn_fold(eg: &mut FuseGraph, eclass: Id, bn: &Head, ids: &[Id]) -> Option<Id> {
    let (y, s, b, m, v) = (ids[0], ids[1], ids[2], ids[3], ids[4]);
    if int_attr(bn, "training_mode", 0) != 0 || !single_use(eg, y) {
        return None;
    }
    let eps = float_attr(bn, "epsilon", 1e-5);
    let params = [s, b, m, v];
    let c = static_shape(eg, s)?;
    if c.len() != 1
        || !params
            .iter()
            .all(|&p| is_const(eg, p) && static_shape(eg, p).as_deref() == Some(&c[..]))
    {
        return None;
    }
    let ch = c[0];
    let out_ty = class_ty(eg, eclass);
    for kind in ["onnx.Conv", "onnx.ConvTranspose", "onnx.Gemm"] {
        let Some((kids, head)) = find(eg, y, kind) else {
            continue;
        };
        let (w, bias) = (kids[1], kids.get(2).copied().filter(|&b| !absent(eg, b)));
        let ws = static_shape(eg, w)?;
        if !is_const(eg, w)
            || !is_float(elem(eg, w))
            || ws.len() < 2
            || bias.is_some_and(|b| !is_const(eg, b))
        {
            return None;
        }
        let (layout, out_ch) = match kind {
            "onnx.Conv" => ("rows", ws[0]),
            "onnx.ConvTranspose" => ("convT", ws[1] * int_attr(&head, "group", 1).max(1) as u64),
            _ => {
                if ws.len() != 2 {
                    return None;
                }
                if int_attr(&head, "transB", 0) != 0 {
                    ("rows", ws[0])
                } else {
                    ("cols", ws[1])
                }
            }
        };
        if out_ch != ch {
            return None;
        }
        let welem = elem(eg, w)?;
        let mut bias_shape = vec![ch];
        if let Some(bb) = bias {
            let bs = static_shape(eg, bb)?;
            if kind == "onnx.Gemm" {
                if bs.len() > 2 {
                    return None;
                }
                bias_shape = super::weights::broadcast_shape(&bs, &[ch])?;
            } else if bs != [ch] {
                return None;
            }
        }
        let wattrs = vec![
            ("epsilon".into(), Attribute::Float(eps)),
            ("layout".into(), Attribute::String(layout.into())),
            ("group".into(), Attribute::Int(int_attr(&head, "group", 1))),
        ];
        let wty = ty(eg, w)?.clone();
        let new_w = virtual_weight(eg, "qc.bn_fold_weight", wattrs, wty, &[w, s, v]);
        let beta = if kind == "onnx.Gemm" {
            float_attr(&head, "beta", 1.0)
        } else {
            1.0
        };
        let battrs = vec![
            ("epsilon".into(), Attribute::Float(eps)),
            ("beta".into(), Attribute::Float(beta)),
        ];
        let bty = Type::tensor(welem, &bias_shape);
        let mut bkids: Vec<Id> = bias.into_iter().collect();
        bkids.extend([s, b, m, v]);
        let new_b = virtual_weight(eg, "qc.bn_fold_bias", battrs, bty, &bkids);
        let mut attrs = head.attrs.clone();
        if kind == "onnx.Gemm" {
            set(&mut attrs, "beta", Attribute::Float(1.0));
        }
        let h = Head::new_op(kind, attrs, out_ty, op_of(&head));
        return Some(add(eg, h, &[kids[0], new_w, new_b]));
    }
    None
}

// ----- 2. Add of a per-channel constant into the Conv bias -----

/// Legal when: `a` is a Conv/ConvTranspose read only by this Add, with constant weight and constant or
/// absent bias; `c` is a constant that, right-aligned against the output `[N, M, spatial...]`, has size
/// 1 everywhere except possibly `M` on the channel axis (so `[M,1,1]`, `[1,M,1,1]` and one-element
/// tensors qualify, but `[M]` only when it would align with the channel axis, i.e. never for Conv).
fn conv_bias(eg: &mut FuseGraph, eclass: Id, a: Id, c: Id) -> Option<Id> {
    if !single_use(eg, a) || !is_const(eg, c) {
        return None;
    }
    let (kind, (kids, head)) = ["onnx.Conv", "onnx.ConvTranspose"]
        .into_iter()
        .find_map(|k| find(eg, a, k).map(|f| (k, f)))?;
    let w = kids[1];
    let ws = static_shape(eg, w)?;
    let bias = kids.get(2).copied().filter(|&b| !absent(eg, b));
    if !is_const(eg, w) || ws.len() < 3 || bias.is_some_and(|b| !is_const(eg, b)) {
        return None;
    }
    let m = if kind == "onnx.Conv" {
        ws[0]
    } else {
        ws[1] * int_attr(&head, "group", 1).max(1) as u64
    };
    let r = ws.len();
    let cs = static_shape(eg, c)?;
    let welem = elem(eg, w)?;
    if cs.len() > r || elem(eg, c) != Some(welem) || !is_float(Some(welem)) {
        return None;
    }
    let ok = cs.iter().enumerate().all(|(j, &d)| {
        let axis = r - cs.len() + j;
        d == 1 || (axis == 1 && d == m)
    });
    if !ok || bias.is_some_and(|b| static_shape(eg, b).as_deref() != Some(&[m][..])) {
        return None;
    }
    let mut bkids: Vec<Id> = bias.into_iter().collect();
    bkids.push(c);
    let new_b = virtual_weight(
        eg,
        "qc.add_bias",
        vec![("channels".into(), Attribute::Int(m as i64))],
        Type::tensor(welem, &[m]),
        &bkids,
    );
    let h = Head::new_op(kind, head.attrs.clone(), class_ty(eg, eclass), op_of(&head));
    Some(add(eg, h, &[kids[0], w, new_b]))
}

// ----- 3. MatMul + Add → Gemm -----

/// Legal when: `a` is a MatMul read only by this Add; `A` has rank 2 (from its type: unknown or higher
/// ranks keep the MatMul); `B` is a constant `[K, N]`; `C` has a known shape unidirectionally
/// broadcastable to `[M, N]`; the element type is f32 or f64.
fn matmul_gemm(eg: &mut FuseGraph, eclass: Id, add_head: &Head, a: Id, c: Id) -> Option<Id> {
    if !single_use(eg, a) {
        return None;
    }
    let (kids, mm) = find(eg, a, "onnx.MatMul")?;
    let (x, w) = (kids[0], kids[1]);
    let xd = dims(eg, x)?.to_vec();
    let ws = static_shape(eg, w)?;
    if xd.len() != 2 || ws.len() != 2 || !is_const(eg, w) {
        return None;
    }
    if !matches!(elem(eg, x), Some(ScalarType::F32 | ScalarType::F64)) || elem(eg, c) != elem(eg, x)
    {
        return None;
    }
    let cd = dims(eg, c)?.to_vec();
    let n = ws[1];
    let ok = match cd.len() {
        0 => true,
        1 => matches!(cd[0], Dim::Known(d) if d == 1 || d == n),
        2 => {
            matches!(cd[1], Dim::Known(d) if d == 1 || d == n)
                && (cd[0] == Dim::Known(1) || cd[0] == xd[0])
        }
        _ => false,
    };
    if !ok {
        return None;
    }
    let _ = add_head;
    let h = Head::new_op("onnx.Gemm", vec![], class_ty(eg, eclass), op_of(&mm));
    Some(add(eg, h, &[x, w, c]))
}

// ----- 4. LayerNormalization -----

/// ReduceMean's input and reduced axes in negative form (`-k..-1` for the last `k`; positive axes need
/// the rank), when `keepdims` is 1.
fn reduce_mean(eg: &FuseGraph, c: Id) -> Option<(Id, Vec<i64>)> {
    let (kids, h) = find(eg, c, "onnx.ReduceMean")?;
    if int_attr(&h, "keepdims", 1) != 1 {
        return None;
    }
    let axes = match kids.len() {
        1 => h.attr("axes")?.as_ints()?.to_vec(),
        2 => ints_of(eg, kids[1])?,
        _ => return None,
    };
    let r = dims(eg, kids[0]).map(|d| d.len() as i64);
    let mut out = Vec::with_capacity(axes.len());
    for a in axes {
        out.push(if a < 0 { a } else { a - r? });
    }
    out.sort_unstable();
    out.dedup();
    Some((kids[0], out))
}

/// The decomposed core `(x - mean(x)) / sqrt(mean((x - mean(x))^2) + eps)` at `d / sd`: `(x, k, eps)`
/// where the last `k` axes are normalised.
fn ln_core(eg: &FuseGraph, d: Id, sd: Id) -> Option<(Id, usize, f64)> {
    // `LayerNormalization` is standard from opset 17. ONNX Runtime also runs it in the default domain at
    // 13-16, but `onnx.checker` rejects such a model, and ONNX Runtime has no `com.microsoft` form; below 17
    // the chain is left decomposed (the quantizer then sees its pieces).
    if eg.analysis.opset < 17 {
        return None;
    }
    let (sub, _) = find(eg, d, "onnx.Sub")?;
    let (x, mean) = (sub[0], sub[1]);
    let (mx, axes) = reduce_mean(eg, mean)?;
    if mx != x {
        return None;
    }
    let (sq, _) = find(eg, sd, "onnx.Sqrt")?;
    let (ve, _) = find(eg, sq[0], "onnx.Add")?;
    let (var, e) = if is_const(eg, ve[1]) {
        (ve[0], ve[1])
    } else {
        (ve[1], ve[0])
    };
    let eps = scalar(eg, e)?;
    let (vx, vaxes) = reduce_mean(eg, var)?;
    if vaxes != axes {
        return None;
    }
    let squared = find(eg, vx, "onnx.Pow")
        .is_some_and(|(k, _)| k[0] == d && is_scalar(eg, k[1], 2.0))
        || find(eg, vx, "onnx.Mul").is_some_and(|(k, _)| k[0] == d && k[1] == d);
    let k = axes.len();
    if !squared
        || k == 0
        || axes
            .iter()
            .enumerate()
            .any(|(i, &a)| a != i as i64 - k as i64)
    {
        return None;
    }
    if elem(eg, x).is_some() && !is_float(elem(eg, x)) {
        return None;
    }
    Some((x, k, eps))
}

fn ln_attrs(eg: &FuseGraph, x: Id, k: usize, eps: f64) -> Vec<NamedAttr> {
    let axis = match dims(eg, x) {
        Some(d) => d.len() as i64 - k as i64,
        None => -(k as i64),
    };
    vec![
        ("axis".into(), Attribute::Int(axis)),
        ("epsilon".into(), Attribute::Float(eps as f32)),
    ]
}

/// `(x - mean(x)) / sqrt(mean((x - mean(x))^2) + eps)` → `LayerNormalization(x, ones)`.
///
/// Legal when: both ReduceMeans keep dims and reduce the same axes, which are the last `k` axes of `x`
/// (rank known); the square is `Pow(d, 2)` or `Mul(d, d)`; `eps` is a scalar constant; the normalised
/// dims are static (the unit scale is a constant of that shape); the type is float; the model's opset is
/// at least 17, where `LayerNormalization` is standard (see `ln_core`).
fn layernorm(eg: &mut FuseGraph, eclass: Id, div: &Head, d: Id, sd: Id) -> Option<Id> {
    let (x, k, eps) = ln_core(eg, d, sd)?;
    let xd = dims(eg, x)?.to_vec();
    let norm: Option<Vec<u64>> = xd
        .get(xd.len().checked_sub(k)?..)?
        .iter()
        .map(Dim::known)
        .collect();
    let ones = virtual_weight(
        eg,
        "qc.fill",
        vec![("value".into(), Attribute::Float(1.0))],
        Type::tensor(elem(eg, x)?, &norm?),
        &[],
    );
    let attrs = ln_attrs(eg, x, k, eps);
    let h = Head::new_op(
        "onnx.LayerNormalization",
        attrs,
        class_ty(eg, eclass),
        op_of(div),
    );
    Some(add(eg, h, &[x, ones]))
}

/// `LayerNormalization(x, ones) * gamma` → `LayerNormalization(x, gamma)`; `LayerNormalization(x, g) + beta`
/// → `LayerNormalization(x, g, beta)`. Legal when the constant has exactly the normalised shape (so the
/// product does not broadcast the output any further) and the same element type.
fn layernorm_affine(eg: &mut FuseGraph, eclass: Id, a: Id, p: Id, bias: bool) -> Option<Id> {
    if !single_use(eg, a) || !is_const(eg, p) {
        return None;
    }
    let ps = static_shape(eg, p)?;
    if let Some((kids, ln)) = find(eg, a, "onnx.LayerNormalization") {
        let unit_scale = find(eg, kids[1], "qc.fill").is_some();
        if kids.len() != 2 || !bias && !unit_scale || elem(eg, p) != elem(eg, kids[1]) {
            return None;
        }
        if static_shape(eg, kids[1])? != ps {
            return None;
        }
        let children: Vec<Id> = if bias {
            vec![kids[0], kids[1], p]
        } else {
            vec![kids[0], p]
        };
        let h = Head::new_op(
            "onnx.LayerNormalization",
            ln.attrs.clone(),
            class_ty(eg, eclass),
            ln.name_from.or(op_of(&ln)),
        );
        return Some(add(eg, h, &children));
    }
    // The core without a static normalised shape (types not inferred): the scale gives the shape. Its
    // dims must all differ from 1, so that it cannot be broadcasting against the normalised dims.
    if bias {
        return None;
    }
    let (dk, div) = find(eg, a, "onnx.Div")?;
    let (x, k, eps) = ln_core(eg, dk[0], dk[1])?;
    if ps.len() != k || ps.contains(&1) || elem(eg, x).is_some_and(|e| Some(e) != elem(eg, p)) {
        return None;
    }
    if let Some(xd) = dims(eg, x) {
        let tail = &xd[xd.len().checked_sub(k)?..];
        if tail
            .iter()
            .zip(&ps)
            .any(|(d, &n)| d.known().is_some_and(|d| d != n))
        {
            return None;
        }
    }
    let attrs = ln_attrs(eg, x, k, eps);
    let h = Head::new_op(
        "onnx.LayerNormalization",
        attrs,
        class_ty(eg, eclass),
        op_of(&div),
    );
    Some(add(eg, h, &[x, p]))
}

// ----- 5. Gelu -----

fn mul_pair(eg: &FuseGraph, c: Id) -> Option<(Id, Id)> {
    find(eg, c, "onnx.Mul").map(|(k, _)| (k[0], k[1]))
}

/// `1 + erf(x / sqrt 2)` or `1 + tanh(sqrt(2/pi) * (x + 0.044715 x^3))`: `(x, is_tanh)`.
fn gelu_tail(eg: &FuseGraph, t: Id) -> Option<(Id, bool)> {
    let (k, _) = find(eg, t, "onnx.Add")?;
    let e = if is_scalar(eg, k[1], 1.0) {
        k[0]
    } else if is_scalar(eg, k[0], 1.0) {
        k[1]
    } else {
        return None;
    };
    if let Some((u, _)) = find(eg, e, "onnx.Erf") {
        let u = u[0];
        if let Some((d, _)) = find(eg, u, "onnx.Div") {
            if is_scalar(eg, d[1], std::f64::consts::SQRT_2) {
                return Some((d[0], false));
            }
        }
        let (p, q) = mul_pair(eg, u)?;
        let h = std::f64::consts::FRAC_1_SQRT_2;
        return if is_scalar(eg, q, h) {
            Some((p, false))
        } else if is_scalar(eg, p, h) {
            Some((q, false))
        } else {
            None
        };
    }
    let (v, _) = find(eg, e, "onnx.Tanh")?;
    let k2pi = (2.0 / std::f64::consts::PI).sqrt();
    let (p, q) = mul_pair(eg, v[0])?;
    let s = if is_scalar(eg, p, k2pi) {
        q
    } else if is_scalar(eg, q, k2pi) {
        p
    } else {
        return None;
    };
    let (sk, _) = find(eg, s, "onnx.Add")?;
    for (x, w) in [(sk[0], sk[1]), (sk[1], sk[0])] {
        let Some((a, b)) = mul_pair(eg, w) else {
            continue;
        };
        let cube = if is_scalar(eg, a, 0.044715) {
            b
        } else if is_scalar(eg, b, 0.044715) {
            a
        } else {
            continue;
        };
        if is_cube(eg, cube, x) {
            return Some((x, true));
        }
    }
    None
}

fn is_cube(eg: &FuseGraph, c: Id, x: Id) -> bool {
    if find(eg, c, "onnx.Pow").is_some_and(|(k, _)| k[0] == x && is_scalar(eg, k[1], 3.0)) {
        return true;
    }
    let Some((a, b)) = mul_pair(eg, c) else {
        return false;
    };
    let sq = |s: Id| {
        mul_pair(eg, s) == Some((x, x))
            || find(eg, s, "onnx.Pow").is_some_and(|(k, _)| k[0] == x && is_scalar(eg, k[1], 2.0))
    };
    (a == x && sq(b)) || (b == x && sq(a))
}

/// `0.5 * x * tail` in every association and operand order ONNX exporters produce:
/// `(x*0.5)*t`, `(0.5*x)*t`, `(x*t)*0.5`, `(t*x)*0.5`, `x*(t*0.5)`, `x*(0.5*t)` (and the mirrored
/// outer products). Legal for float types; `onnx.Gelu` at opset ≥ 20, else `com.microsoft.Gelu`
/// (erf) / `com.microsoft.FastGelu` (tanh).
fn gelu(eg: &mut FuseGraph, eclass: Id, root: &Head, a: Id, b: Id) -> Option<Id> {
    let half = |eg: &FuseGraph, c: Id| is_scalar(eg, c, 0.5);
    let found = (|| {
        // a = tail, b = 0.5 * x
        if let Some((x, tanh)) = gelu_tail(eg, a) {
            if let Some((p, q)) = mul_pair(eg, b) {
                if (p == x && half(eg, q)) || (q == x && half(eg, p)) {
                    return Some((x, tanh));
                }
            }
        }
        // b = 0.5, a = x * tail
        if half(eg, b) {
            let (p, q) = mul_pair(eg, a)?;
            for (x, t) in [(p, q), (q, p)] {
                if let Some((x2, tanh)) = gelu_tail(eg, t) {
                    if x2 == x {
                        return Some((x, tanh));
                    }
                }
            }
        }
        // b = x, a = tail * 0.5
        let (p, q) = mul_pair(eg, a)?;
        let t = if half(eg, q) {
            p
        } else if half(eg, p) {
            q
        } else {
            return None;
        };
        let (x, tanh) = gelu_tail(eg, t)?;
        (x == b).then_some((x, tanh))
    })();
    let (x, tanh) = found?;
    // Erf and Tanh take only floats, so an unknown type is a float type.
    if elem(eg, x).is_some() && !is_float(elem(eg, x)) {
        return None;
    }
    let ty = class_ty(eg, eclass);
    let h = if eg.analysis.opset >= 20 {
        let attrs = if tanh {
            vec![("approximate".into(), Attribute::String("tanh".into()))]
        } else {
            vec![]
        };
        Head::new_op("onnx.Gelu", attrs, ty, op_of(root))
    } else if tanh {
        Head::new_op("com.microsoft.FastGelu", vec![], ty, op_of(root))
    } else {
        Head::new_op("com.microsoft.Gelu", vec![], ty, op_of(root))
    };
    Some(add(eg, h, &[x]))
}

// ----- 6. Swish -----

/// `x * Sigmoid(x)` → `onnx.Swish` (opset ≥ 24, where ONNX defines it), else
/// `com.microsoft.QuickGelu{alpha = 1.0}` (`x * sigmoid(alpha * x)`). Float types only.
fn swish(eg: &mut FuseGraph, eclass: Id, root: &Head, a: Id, b: Id) -> Option<Id> {
    let (k, _) = find(eg, b, "onnx.Sigmoid")?;
    if k[0] != a || elem(eg, a).is_some() && !is_float(elem(eg, a)) {
        return None;
    }
    let ty = class_ty(eg, eclass);
    let h = if eg.analysis.opset >= 24 {
        Head::new_op("onnx.Swish", vec![], ty, op_of(root))
    } else {
        Head::new_op(
            "com.microsoft.QuickGelu",
            vec![("alpha".into(), Attribute::Float(1.0))],
            ty,
            op_of(root),
        )
    };
    Some(add(eg, h, &[a]))
}

// ----- 7. Transpose, Reshape, Squeeze/Unsqueeze -----

fn perm_of(eg: &FuseGraph, h: &Head, input: Id) -> Option<Vec<i64>> {
    match h.attr("perm").and_then(Attribute::as_ints) {
        Some(p) => Some(p.to_vec()),
        None => {
            let r = dims(eg, input)?.len() as i64;
            Some((0..r).rev().collect())
        }
    }
}

/// `Transpose(Transpose(x, p1), p2)` → `Transpose(x, q)` with `q[j] = p1[p2[j]]`, or `x` when `q` is the
/// identity. Legal when both perms are known (explicit, or the input rank is) and of equal length.
fn transpose(eg: &mut FuseGraph, eclass: Id, outer: &Head, t: Id) -> Option<Id> {
    let (kids, inner) = find(eg, t, "onnx.Transpose")?;
    let x = kids[0];
    let p1 = perm_of(eg, &inner, x)?;
    let p2 = perm_of(eg, outer, t)?;
    if p1.len() != p2.len() {
        return None;
    }
    let q: Option<Vec<i64>> = p2
        .iter()
        .map(|&j| usize::try_from(j).ok().and_then(|j| p1.get(j).copied()))
        .collect();
    let q = q?;
    if q.iter().enumerate().all(|(i, &v)| v == i as i64) {
        return Some(x);
    }
    let h = Head::new_op(
        "onnx.Transpose",
        vec![("perm".into(), Attribute::Ints(q))],
        class_ty(eg, eclass),
        op_of(outer),
    );
    Some(add(eg, h, &[x]))
}

/// `Reshape(Reshape(x, s1), s2)` → `Reshape(x, s2)` when `s2` is a constant without 0 (or the outer
/// Reshape has `allowzero = 1`, where 0 means an empty dim, not "copy the input's"); `Reshape(x, s)` → `x`
/// when both types are static and equal.
fn reshape(eg: &mut FuseGraph, eclass: Id, outer: &Head, r: Id, s: Id) -> Option<Id> {
    if let (Some(a), Some(b)) = (static_shape(eg, r), static_shape(eg, eclass)) {
        if a == b && elem(eg, r).is_some() && elem(eg, r) == elem(eg, eclass) {
            return Some(r);
        }
    }
    let (kids, _) = find(eg, r, "onnx.Reshape")?;
    let shape = ints_of(eg, s)?;
    if shape.contains(&0) && int_attr(outer, "allowzero", 0) != 1 {
        return None;
    }
    let h = Head::new_op(
        "onnx.Reshape",
        outer.attrs.clone(),
        class_ty(eg, eclass),
        op_of(outer),
    );
    Some(add(eg, h, &[kids[0], s]))
}

fn axes_of(eg: &FuseGraph, h: &Head, kids: &[Id]) -> Option<Vec<i64>> {
    match kids.len() {
        1 => Some(h.attr("axes")?.as_ints()?.to_vec()),
        2 => ints_of(eg, kids[1]),
        _ => None,
    }
}

fn normalized(axes: &[i64], rank: Option<usize>) -> Option<Vec<i64>> {
    let mut out = Vec::with_capacity(axes.len());
    for &a in axes {
        out.push(if a < 0 { a + rank? as i64 } else { a });
    }
    out.sort_unstable();
    Some(out)
}

/// `Squeeze(Unsqueeze(x, a), a)` → `x` and `Unsqueeze(Squeeze(x, a), a)` → `x`, with explicit axes
/// (attribute or constant input) that are the same after normalising negative axes (against the rank
/// of the unsqueezed tensor, which must then be known). A Squeeze without axes is left alone.
fn squeeze_pair(
    eg: &mut FuseGraph,
    eclass: Id,
    outer: &Head,
    ids: &[Id],
    squeeze_outer: bool,
) -> Option<Id> {
    let inner_kind = if squeeze_outer {
        "onnx.Unsqueeze"
    } else {
        "onnx.Squeeze"
    };
    let (kids, inner) = find(eg, ids[0], inner_kind)?;
    let x = kids[0];
    let a_outer = axes_of(eg, outer, ids)?;
    let a_inner = axes_of(eg, &inner, &kids)?;
    // The rank of the tensor with the extra dims.
    let big = if squeeze_outer {
        dims(eg, ids[0]).map(<[Dim]>::len)
    } else {
        dims(eg, x).map(<[Dim]>::len)
    };
    if normalized(&a_outer, big)? != normalized(&a_inner, big)? || a_outer.is_empty() {
        return None;
    }
    let _ = eclass;
    Some(x)
}

// ----- 8. Identity removal -----

/// Dropout in inference: `training_mode` absent or a constant false (the ratio does not matter then).
/// Only the output is used (a Dropout whose mask is read is a tuple node and never matches).
fn dropout(eg: &mut FuseGraph, ids: &[Id]) -> Option<Id> {
    if let Some(&t) = ids.get(2) {
        if !absent(eg, t) && scalar(eg, t) != Some(0.0) {
            return None;
        }
    }
    Some(ids[0])
}

/// `Cast(x, to)` → `x` when `x`'s element type is already `to`.
fn cast(eg: &mut FuseGraph, _eclass: Id, h: &Head, x: Id) -> Option<Id> {
    let to = int_attr(h, "to", -1);
    (elem(eg, x)?.onnx_code() as i64 == to).then_some(x)
}
