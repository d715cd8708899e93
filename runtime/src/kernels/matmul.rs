//! Matrix products: MatMul (numpy batching and broadcasting, 1-D operands), Gemm and Einsum.
//!
//! f32 goes through [`sgemm`] (f16 and bf16 through it in f32). A MatMul whose right operand has no
//! batch dims folds the left operand's batch into the GEMM's rows (one large product instead of many
//! small ones); batched products of small matrices run in parallel over the batch. f64 and the
//! integer types use a plain loop accumulating in f64, or in wrapping i64 (exact modulo 2⁶⁴, which is
//! what a same-width integer product is).
//!
//! Constant right operands are prepared at build time: converted to f32 once, and Gemm's `transB`
//! operand stored transposed, so the one-row case (a classifier head, a token at a time) reads it
//! row-major, which vectorises.
//!
//! Einsum is a label-stride interpreter (diagonals, sums, transposes, broadcasting over `...`); a
//! two-operand contraction of floats is rearranged into a batched GEMM instead.

use std::borrow::Cow;

use rayon::prelude::*;

use super::gemm::{sgemm, MatRef};
use super::{input, opt_input, BuildCtx, Kernel, Registry};
use crate::error::Result;
use crate::plan::RunCtx;
use crate::tensor::{broadcast_shapes, numel, strides, DType, Elem, Tensor};
use crate::{bail, ensure, with_data};

pub fn register(r: &mut Registry) {
    r.add("onnx.MatMul", build_matmul);
    r.add("onnx.Gemm", build_gemm);
    r.add("onnx.Einsum", build_einsum);
}

/// Multiply-adds per product below which a batch of small products runs one product per task.
const SMALL_PRODUCT: usize = 1 << 20;

// ---------------------------------------------------------------------------------------------------
// Generic products (f64 and integers)
// ---------------------------------------------------------------------------------------------------

/// What the generic loops compute in: f64 for floats, wrapping i64 for integers.
trait Ring: Copy + Send + Sync + 'static {
    const ZERO: Self;
    fn add(self, o: Self) -> Self;
    fn mul(self, o: Self) -> Self;
    fn of<T: Elem>(v: T) -> Self;
    fn to<T: Elem>(self) -> T;
}

impl Ring for f64 {
    const ZERO: f64 = 0.0;
    fn add(self, o: f64) -> f64 {
        self + o
    }
    fn mul(self, o: f64) -> f64 {
        self * o
    }
    fn of<T: Elem>(v: T) -> f64 {
        v.to_f64()
    }
    fn to<T: Elem>(self) -> T {
        T::from_f64(self)
    }
}

impl Ring for i64 {
    const ZERO: i64 = 0;
    fn add(self, o: i64) -> i64 {
        self.wrapping_add(o)
    }
    fn mul(self, o: i64) -> i64 {
        self.wrapping_mul(o)
    }
    fn of<T: Elem>(v: T) -> i64 {
        v.to_i64()
    }
    fn to<T: Elem>(self) -> T {
        T::from_i64(self)
    }
}

/// `out (m×n) = A (m×k) · B (k×n)`, all row-major and contiguous.
fn matmul_ring<R: Ring>(a: &[R], b: &[R], m: usize, k: usize, n: usize, out: &mut [R]) {
    for i in 0..m {
        let row = &mut out[i * n..][..n];
        row.fill(R::ZERO);
        for kk in 0..k {
            let av = a[i * k + kk];
            for (o, &bv) in row.iter_mut().zip(&b[kk * n..][..n]) {
                *o = o.add(av.mul(bv));
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------------
// MatMul
// ---------------------------------------------------------------------------------------------------

/// MatMul's shapes after numpy's rules: 1-D operands become a row (left) or a column (right), batch
/// dims broadcast.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct MatMulShape {
    pub m: usize,
    pub k: usize,
    pub n: usize,
    pub batch: Vec<usize>,
    /// Element offset of each batch's matrix in A and in B (broadcast batches repeat).
    pub a_offsets: Vec<usize>,
    pub b_offsets: Vec<usize>,
    pub out_shape: Vec<usize>,
}

impl MatMulShape {
    pub(crate) fn new(a: &[usize], b: &[usize]) -> Result<MatMulShape> {
        ensure!(
            !a.is_empty() && !b.is_empty(),
            "MatMul operands must have rank ≥ 1, got {a:?} and {b:?}"
        );
        let (a_vec, b_vec) = (a.len() == 1, b.len() == 1);
        let (m, ka) = if a_vec {
            (1, a[0])
        } else {
            (a[a.len() - 2], a[a.len() - 1])
        };
        let (kb, n) = if b_vec {
            (b[0], 1)
        } else {
            (b[b.len() - 2], b[b.len() - 1])
        };
        ensure!(
            ka == kb,
            "shapes {a:?} and {b:?} do not fit a matrix product ({ka} vs {kb})"
        );
        let a_batch = &a[..a.len().saturating_sub(2)];
        let b_batch = &b[..b.len().saturating_sub(2)];
        let batch = broadcast_shapes(a_batch, b_batch)?;
        let offsets = |own: &[usize], mat: usize| -> Vec<usize> {
            // Stride of each broadcast batch dim in this operand (0 where it repeats).
            let lead = batch.len() - own.len();
            let own_strides = strides(own);
            let bstr: Vec<usize> = (0..batch.len())
                .map(|d| {
                    if d < lead || own[d - lead] == 1 {
                        0
                    } else {
                        own_strides[d - lead] * mat
                    }
                })
                .collect();
            let bs = strides(&batch);
            (0..numel(&batch))
                .map(|i| {
                    (0..batch.len())
                        .map(|d| (i / bs[d]) % batch[d] * bstr[d])
                        .sum()
                })
                .collect()
        };
        let a_offsets = offsets(a_batch, m * ka);
        let b_offsets = offsets(b_batch, ka * n);
        let mut out_shape = batch.clone();
        if !a_vec {
            out_shape.push(m);
        }
        if !b_vec {
            out_shape.push(n);
        }
        crate::kernels::conv::checked_numel(&out_shape)?;
        Ok(MatMulShape {
            m,
            k: ka,
            n,
            batch,
            a_offsets,
            b_offsets,
            out_shape,
        })
    }

    /// Whether every batch uses the same B and A's batches are consecutive: then A's batches fold into
    /// the rows of one product.
    fn folds(&self) -> bool {
        self.b_offsets.iter().all(|&o| o == 0)
            && self
                .a_offsets
                .iter()
                .enumerate()
                .all(|(i, &o)| o == i * self.m * self.k)
    }
}

/// f32 batched MatMul into `out` (any contents).
pub(crate) fn matmul_f32(a: &[f32], b: &[f32], s: &MatMulShape, out: &mut [f32]) {
    let (m, k, n) = (s.m, s.k, s.n);
    let count = s.a_offsets.len();
    if out.is_empty() {
        return;
    }
    if s.folds() {
        sgemm(
            count * m,
            k,
            n,
            1.0,
            MatRef::row_major(&a[..count * m * k], k, false),
            MatRef::row_major(&b[..k * n], n, false),
            0.0,
            out,
            n,
        );
        return;
    }
    let one = |i: usize, o: &mut [f32]| {
        sgemm(
            m,
            k,
            n,
            1.0,
            MatRef::row_major(&a[s.a_offsets[i]..][..m * k], k, false),
            MatRef::row_major(&b[s.b_offsets[i]..][..k * n], n, false),
            0.0,
            o,
            n,
        )
    };
    if count > 1 && m * k * n < SMALL_PRODUCT && rayon::current_num_threads() > 1 {
        out.par_chunks_mut(m * n)
            .enumerate()
            .for_each(|(i, o)| one(i, o));
    } else {
        out.chunks_mut(m * n)
            .enumerate()
            .for_each(|(i, o)| one(i, o));
    }
}

/// Batched MatMul in a [`Ring`]: the reference for [`matmul_f32`] and the path of f64 and integers.
fn matmul_generic<T: Elem, R: Ring>(a: &[T], b: &[T], s: &MatMulShape) -> Vec<T> {
    let (m, k, n) = (s.m, s.k, s.n);
    let ar: Vec<R> = a.iter().map(|&v| R::of(v)).collect();
    let br: Vec<R> = b.iter().map(|&v| R::of(v)).collect();
    let mut out = vec![R::ZERO; s.a_offsets.len() * m * n];
    let one = |i: usize, o: &mut [R]| {
        matmul_ring(
            &ar[s.a_offsets[i]..][..m * k],
            &br[s.b_offsets[i]..][..k * n],
            m,
            k,
            n,
            o,
        )
    };
    if m * n == 0 {
    } else if out.len() * k >= SMALL_PRODUCT / 8 {
        out.par_chunks_mut(m * n)
            .enumerate()
            .for_each(|(i, o)| one(i, o));
    } else {
        out.chunks_mut(m * n)
            .enumerate()
            .for_each(|(i, o)| one(i, o));
    }
    out.into_iter().map(R::to).collect()
}

/// A constant operand converted to f32 at build time.
#[derive(Clone, Debug)]
struct Prepared {
    dtype: DType,
    shape: Vec<usize>,
    values: Vec<f32>,
}

struct MatMul {
    /// B as f32 when it is a constant f16/bf16 (an f32 constant is used as is).
    b: Option<Prepared>,
}

fn build_matmul(ctx: &BuildCtx) -> Result<Box<dyn Kernel>> {
    let b = ctx
        .const_input(1)
        .filter(|t| matches!(t.dtype(), DType::F16 | DType::BF16))
        .map(|t| Prepared {
            dtype: t.dtype(),
            shape: t.shape().to_vec(),
            values: t.to_f32_vec(),
        });
    Ok(Box::new(MatMul { b }))
}

/// A float tensor's elements as f32 (borrowed when they already are).
fn f32s(t: &Tensor) -> Cow<'_, [f32]> {
    match t.as_slice::<f32>() {
        Some(v) => Cow::Borrowed(v),
        None => Cow::Owned(t.to_f32_vec()),
    }
}

impl Kernel for MatMul {
    fn run(&self, ctx: &mut RunCtx, inputs: &[Option<&Tensor>]) -> Result<Vec<Tensor>> {
        let a = input(inputs, 0)?;
        let b = input(inputs, 1)?;
        ensure!(
            a.dtype() == b.dtype(),
            "operands are {} and {}",
            a.dtype(),
            b.dtype()
        );
        let s = MatMulShape::new(a.shape(), b.shape())?;
        let out_shape = s.out_shape.clone();
        match a.dtype() {
            DType::F32 | DType::F16 | DType::BF16 => {
                let bv = match &self.b {
                    Some(p) if p.dtype == b.dtype() && p.shape == b.shape() => {
                        Cow::Borrowed(&p.values[..])
                    }
                    _ => f32s(b),
                };
                let mut out = ctx.alloc_f32(numel(&out_shape));
                matmul_f32(&f32s(a), &bv, &s, &mut out);
                Ok(vec![Tensor::from_vec(out_shape, out).cast(a.dtype())])
            }
            DType::F64 => {
                let y = matmul_generic::<f64, f64>(a.typed()?, b.typed()?, &s);
                Ok(vec![Tensor::from_vec(out_shape, y)])
            }
            DType::Bool => bail!("MatMul does not take bool tensors"),
            _ => Ok(vec![with_data!(a.data(), av => {
                let bv = b.as_slice().expect("same type");
                Tensor::from_vec(out_shape, matmul_generic::<_, i64>(av, bv, &s))
            })]),
        }
    }
}

// ---------------------------------------------------------------------------------------------------
// Gemm
// ---------------------------------------------------------------------------------------------------

struct Gemm {
    alpha: f32,
    beta: f32,
    trans_a: bool,
    trans_b: bool,
    /// A constant B as row-major `K×N` f32 (transposed already when `transB`).
    b: Option<Prepared>,
}

fn build_gemm(ctx: &BuildCtx) -> Result<Box<dyn Kernel>> {
    let trans_b = ctx.attr_int("transB", 0)? != 0;
    let b = ctx
        .const_input(1)
        .filter(|t| matches!(t.dtype(), DType::F32 | DType::F16 | DType::BF16) && t.rank() == 2)
        .map(|t| {
            let (r, c) = (t.shape()[0], t.shape()[1]);
            let v = t.to_f32_vec();
            let values = if trans_b {
                let mut tv = vec![0f32; v.len()];
                for i in 0..r {
                    for j in 0..c {
                        tv[j * r + i] = v[i * c + j];
                    }
                }
                tv
            } else {
                v
            };
            Prepared {
                dtype: t.dtype(),
                shape: t.shape().to_vec(),
                values,
            }
        });
    Ok(Box::new(Gemm {
        alpha: ctx.attr_float("alpha", 1.0)?,
        beta: ctx.attr_float("beta", 1.0)?,
        trans_a: ctx.attr_int("transA", 0)? != 0,
        trans_b,
        b,
    }))
}

/// Gemm's `(M, K, N)` from the operand shapes and transpositions.
fn gemm_dims(a: &[usize], b: &[usize], ta: bool, tb: bool) -> Result<(usize, usize, usize)> {
    ensure!(
        a.len() == 2 && b.len() == 2,
        "Gemm takes matrices, got shapes {a:?} and {b:?}"
    );
    let (m, k) = if ta { (a[1], a[0]) } else { (a[0], a[1]) };
    let (kb, n) = if tb { (b[1], b[0]) } else { (b[0], b[1]) };
    ensure!(
        k == kb,
        "shapes {a:?} and {b:?} (transA={}, transB={}) do not fit a matrix product",
        ta as u8,
        tb as u8
    );
    Ok((m, k, n))
}

/// Index into C for output element (i, j), C broadcast unidirectionally to `[m, n]`.
fn c_indexer(c: &[usize], m: usize, n: usize) -> Result<impl Fn(usize, usize) -> usize> {
    let (cm, cn) = match *c {
        [] => (1, 1),
        [x] => (1, x),
        [x, y] => (x, y),
        _ => bail!("C has shape {c:?}, expected rank ≤ 2"),
    };
    ensure!(
        (cm == m || cm == 1) && (cn == n || cn == 1),
        "C has shape {c:?}, which does not broadcast to [{m}, {n}]"
    );
    let (rs, cs) = (if cm == 1 { 0 } else { cn }, usize::from(cn != 1));
    Ok(move |i: usize, j: usize| i * rs + j * cs)
}

impl Kernel for Gemm {
    fn run(&self, ctx: &mut RunCtx, inputs: &[Option<&Tensor>]) -> Result<Vec<Tensor>> {
        let a = input(inputs, 0)?;
        let b = input(inputs, 1)?;
        let c = opt_input(inputs, 2);
        for (t, what) in [(Some(b), "B"), (c, "C")] {
            if let Some(t) = t {
                ensure!(
                    t.dtype() == a.dtype(),
                    "{what} is {}, A is {}",
                    t.dtype(),
                    a.dtype()
                );
            }
        }
        let (m, k, n) = gemm_dims(a.shape(), b.shape(), self.trans_a, self.trans_b)?;
        let c_at = match c {
            Some(c) => Some(c_indexer(c.shape(), m, n)?),
            None => None,
        };
        match a.dtype() {
            DType::F32 | DType::F16 | DType::BF16 => {
                let mut y = ctx.alloc_f32(m * n);
                let av = f32s(a);
                let prepared = self
                    .b
                    .as_ref()
                    .filter(|p| p.dtype == b.dtype() && p.shape == b.shape());
                let fed;
                let (bv, b_trans) = match prepared {
                    Some(p) => (&p.values[..], false),
                    None => {
                        fed = f32s(b);
                        (&fed[..], self.trans_b)
                    }
                };
                let mut beta = 0.0;
                if let (Some(c), Some(at)) = (c, &c_at) {
                    if self.beta != 0.0 {
                        let cv = f32s(c);
                        for (i, row) in y.chunks_mut(n.max(1)).enumerate().take(m) {
                            for (j, v) in row.iter_mut().enumerate() {
                                *v = self.beta * cv[at(i, j)];
                            }
                        }
                        beta = 1.0;
                    }
                }
                sgemm(
                    m,
                    k,
                    n,
                    self.alpha,
                    MatRef::row_major(&av, if self.trans_a { m } else { k }, self.trans_a),
                    MatRef::row_major(bv, if b_trans { k } else { n }, b_trans),
                    beta,
                    &mut y,
                    n,
                );
                Ok(vec![Tensor::from_vec(vec![m, n], y).cast(a.dtype())])
            }
            DType::Bool => bail!("Gemm does not take bool tensors"),
            dtype => {
                let (av, bv) = (a.to_f64_vec(), b.to_f64_vec());
                let cv = c.map(|c| c.to_f64_vec());
                let (alpha, beta) = (self.alpha as f64, self.beta as f64);
                let mut y = vec![0f64; m * n];
                for i in 0..m {
                    for j in 0..n {
                        let mut s = 0f64;
                        for kk in 0..k {
                            let x = if self.trans_a {
                                av[kk * m + i]
                            } else {
                                av[i * k + kk]
                            };
                            let w = if self.trans_b {
                                bv[j * k + kk]
                            } else {
                                bv[kk * n + j]
                            };
                            s += x * w;
                        }
                        let cterm = match (&cv, &c_at) {
                            (Some(cv), Some(at)) => beta * cv[at(i, j)],
                            _ => 0.0,
                        };
                        y[i * n + j] = alpha * s + cterm;
                    }
                }
                Ok(vec![Tensor::from_vec(vec![m, n], y).cast(dtype)])
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------------
// Einsum
// ---------------------------------------------------------------------------------------------------

/// A parsed equation: per operand, its labels (ellipsis dims expanded at run time).
#[derive(Clone, Debug, PartialEq)]
struct Equation {
    inputs: Vec<Term>,
    /// `None`: implicit output (ellipsis, then the letters used once, alphabetically).
    output: Option<Term>,
}

#[derive(Clone, Debug, PartialEq)]
struct Term {
    /// Letters before the ellipsis (or all letters without one).
    head: Vec<u8>,
    /// Letters after the ellipsis, when there is one.
    tail: Option<Vec<u8>>,
}

fn parse_term(s: &str) -> Result<Term> {
    let letters = |p: &str| -> Result<Vec<u8>> {
        p.bytes()
            .map(|c| {
                ensure!(
                    c.is_ascii_alphabetic(),
                    "Einsum equation has '{}' where a letter belongs",
                    c as char
                );
                Ok(c)
            })
            .collect()
    };
    match s.split_once("...") {
        Some((h, t)) => Ok(Term {
            head: letters(h)?,
            tail: Some(letters(t)?),
        }),
        None => Ok(Term {
            head: letters(s)?,
            tail: None,
        }),
    }
}

fn parse_equation(eq: &str) -> Result<Equation> {
    let eq: String = eq.chars().filter(|c| !c.is_whitespace()).collect();
    let (lhs, rhs) = match eq.split_once("->") {
        Some((l, r)) => (l, Some(r)),
        None => (eq.as_str(), None),
    };
    Ok(Equation {
        inputs: lhs.split(',').map(parse_term).collect::<Result<_>>()?,
        output: rhs.map(parse_term).transpose()?,
    })
}

/// Labels are letters (their byte) or ellipsis dims (256 + position).
type Label = u16;
const ELLIPSIS: Label = 256;

/// Every operand's labels per dim, the output's labels, and every label's size.
struct Resolved {
    operands: Vec<Vec<Label>>,
    output: Vec<Label>,
    size: Vec<(Label, usize)>,
}

impl Resolved {
    fn size_of(&self, l: Label) -> usize {
        self.size
            .iter()
            .find(|(x, _)| *x == l)
            .map_or(1, |&(_, s)| s)
    }
}

fn resolve(eq: &Equation, shapes: &[&[usize]]) -> Result<Resolved> {
    ensure!(
        eq.inputs.len() == shapes.len(),
        "the Einsum equation has {} operands, the op {}",
        eq.inputs.len(),
        shapes.len()
    );
    let ell_rank = |t: &Term, rank: usize| -> Result<usize> {
        let named = t.head.len() + t.tail.as_ref().map_or(0, Vec::len);
        match &t.tail {
            None => {
                ensure!(
                    named == rank,
                    "an Einsum term has {named} labels for a rank-{rank} operand"
                );
                Ok(0)
            }
            Some(_) => {
                ensure!(
                    named <= rank,
                    "an Einsum term has {named} labels for a rank-{rank} operand"
                );
                Ok(rank - named)
            }
        }
    };
    let ranks: Vec<usize> = eq
        .inputs
        .iter()
        .zip(shapes)
        .map(|(t, s)| ell_rank(t, s.len()))
        .collect::<Result<_>>()?;
    let max_ell = ranks.iter().copied().max().unwrap_or(0);
    let expand = |t: &Term, ell: usize| -> Vec<Label> {
        let mut v: Vec<Label> = t.head.iter().map(|&c| c as Label).collect();
        if let Some(tail) = &t.tail {
            v.extend((max_ell - ell..max_ell).map(|i| ELLIPSIS + i as Label));
            v.extend(tail.iter().map(|&c| c as Label));
        }
        v
    };
    let operands: Vec<Vec<Label>> = eq
        .inputs
        .iter()
        .zip(&ranks)
        .map(|(t, &e)| expand(t, e))
        .collect();
    let mut size: Vec<(Label, usize)> = vec![];
    for (labels, shape) in operands.iter().zip(shapes) {
        for (&l, &d) in labels.iter().zip(shape.iter()) {
            match size.iter_mut().find(|(x, _)| *x == l) {
                None => size.push((l, d)),
                Some((_, s)) if *s == d => {}
                // Ellipsis dims broadcast numpy-style.
                Some((_, s)) if l >= ELLIPSIS && (*s == 1 || d == 1) => *s = (*s).max(d),
                Some((_, s)) => bail!(
                    "Einsum label '{}' has sizes {s} and {d}",
                    if l < ELLIPSIS {
                        (l as u8 as char).to_string()
                    } else {
                        "...".into()
                    }
                ),
            }
        }
    }
    let output = match &eq.output {
        Some(t) => {
            let out = expand(t, if t.tail.is_some() { max_ell } else { 0 });
            for &l in &out {
                ensure!(
                    l >= ELLIPSIS || operands.iter().any(|o| o.contains(&l)),
                    "Einsum output label '{}' is not in any operand",
                    l as u8 as char
                );
            }
            let mut seen = out.clone();
            seen.sort_unstable();
            seen.dedup();
            ensure!(seen.len() == out.len(), "Einsum output repeats a label");
            out
        }
        None => {
            let mut letters: Vec<Label> = vec![];
            for o in &operands {
                for &l in o {
                    if l < ELLIPSIS {
                        letters.push(l);
                    }
                }
            }
            let mut once: Vec<Label> = letters
                .iter()
                .copied()
                .filter(|l| letters.iter().filter(|x| *x == l).count() == 1)
                .collect();
            once.sort_unstable();
            let mut out: Vec<Label> = (0..max_ell).map(|i| ELLIPSIS + i as Label).collect();
            out.extend(once);
            out
        }
    };
    Ok(Resolved {
        operands,
        output,
        size,
    })
}

/// The stride of `label` in an operand (the sum over its dims with that label, so repeated labels
/// walk the diagonal; 0 where a size-1 dim broadcasts).
fn label_stride(labels: &[Label], shape: &[usize], label: Label) -> usize {
    let st = strides(shape);
    labels
        .iter()
        .zip(shape)
        .zip(&st)
        .filter(|((&l, &d), _)| l == label && d != 1)
        .map(|(_, &s)| s)
        .sum()
}

/// The offsets `Σ idx·strides` of every index of `sizes`, in row-major order.
fn offsets(sizes: &[usize], strides: &[usize]) -> Vec<usize> {
    let total = numel(sizes);
    let mut out = Vec::with_capacity(total);
    let mut idx = vec![0usize; sizes.len()];
    let mut off = 0usize;
    for _ in 0..total {
        out.push(off);
        for d in (0..sizes.len()).rev() {
            idx[d] += 1;
            off += strides[d];
            if idx[d] < sizes[d] {
                break;
            }
            off -= strides[d] * idx[d];
            idx[d] = 0;
        }
    }
    out
}

/// `src` read in the order of `sizes` (row-major), element `Σ idx·strides` at each index.
fn gather<T: Copy>(src: &[T], sizes: &[usize], strides: &[usize]) -> Vec<T> {
    offsets(sizes, strides)
        .into_iter()
        .map(|o| src[o])
        .collect()
}

/// The interpreter: every output element sums, over the labels not in the output, the product of
/// the operands' elements.
fn einsum_generic<T: Elem, R: Ring>(ops: &[&[T]], shapes: &[&[usize]], r: &Resolved) -> Vec<T> {
    let mut summed: Vec<Label> = vec![];
    for o in &r.operands {
        for &l in o {
            if !r.output.contains(&l) && !summed.contains(&l) {
                summed.push(l);
            }
        }
    }
    let out_sizes: Vec<usize> = r.output.iter().map(|&l| r.size_of(l)).collect();
    let sum_sizes: Vec<usize> = summed.iter().map(|&l| r.size_of(l)).collect();
    let stride_table = |labels: &[Label]| -> Vec<Vec<usize>> {
        r.operands
            .iter()
            .zip(shapes)
            .map(|(ol, s)| labels.iter().map(|&l| label_stride(ol, s, l)).collect())
            .collect()
    };
    let out_str = stride_table(&r.output);
    let sum_str = stride_table(&summed);
    let vals: Vec<Vec<R>> = ops
        .iter()
        .map(|o| o.iter().map(|&v| R::of(v)).collect())
        .collect();
    // Per operand, the offset of every output position and every summed position.
    let out_offs: Vec<Vec<usize>> = out_str.iter().map(|st| offsets(&out_sizes, st)).collect();
    let sum_offs: Vec<Vec<usize>> = sum_str.iter().map(|st| offsets(&sum_sizes, st)).collect();
    let n_out = numel(&out_sizes);
    let n_sum = numel(&sum_sizes);
    (0..n_out)
        .map(|o| {
            let mut acc = R::ZERO;
            for s in 0..n_sum {
                let mut p: Option<R> = None;
                for (i, v) in vals.iter().enumerate() {
                    let x = v[out_offs[i][o] + sum_offs[i][s]];
                    p = Some(match p {
                        None => x,
                        Some(q) => q.mul(x),
                    });
                }
                acc = acc.add(p.unwrap_or(R::ZERO));
            }
            acc.to()
        })
        .collect()
}

/// A two-operand float contraction as a batched GEMM: A gathered to `[batch, m, k]`, B to
/// `[batch, k, n]`, the products, then the output gathered from `[batch, m, n]`. `None` when the
/// equation is not of that form (a diagonal, or a label summed inside one operand).
fn einsum_as_gemm(a: &[f32], b: &[f32], shapes: &[&[usize]], r: &Resolved) -> Option<Vec<f32>> {
    let (la, lb) = (&r.operands[0], &r.operands[1]);
    let distinct = |l: &[Label]| (1..l.len()).all(|i| !l[..i].contains(&l[i]));
    if !distinct(la) || !distinct(lb) {
        return None;
    }
    let (mut batch, mut ms, mut ns, mut ks) = (vec![], vec![], vec![], vec![]);
    for &l in la.iter().chain(lb.iter()) {
        let (in_a, in_b, in_out) = (la.contains(&l), lb.contains(&l), r.output.contains(&l));
        let class = match (in_a, in_b, in_out) {
            (true, true, true) => &mut batch,
            (true, false, true) => &mut ms,
            (false, true, true) => &mut ns,
            (true, true, false) => &mut ks,
            _ => return None,
        };
        if !class.contains(&l) {
            class.push(l);
        }
    }
    let size = |ls: &[Label]| -> Vec<usize> { ls.iter().map(|&l| r.size_of(l)).collect() };
    let (nb, m, n, k) = (
        numel(&size(&batch)),
        numel(&size(&ms)),
        numel(&size(&ns)),
        numel(&size(&ks)),
    );
    let arrange = |src: &[f32], labels: &[Label], shape: &[usize], order: &[&[Label]]| {
        let all: Vec<Label> = order.iter().flat_map(|o| o.iter().copied()).collect();
        let st: Vec<usize> = all
            .iter()
            .map(|&l| label_stride(labels, shape, l))
            .collect();
        gather(src, &size(&all), &st)
    };
    let a2 = arrange(a, la, shapes[0], &[&batch, &ms, &ks]);
    let b2 = arrange(b, lb, shapes[1], &[&batch, &ks, &ns]);
    let mut c2 = vec![0f32; nb * m * n];
    if m * n > 0 {
        c2.par_chunks_mut(m * n).enumerate().for_each(|(i, c)| {
            sgemm(
                m,
                k,
                n,
                1.0,
                MatRef::row_major(&a2[i * m * k..][..m * k], k, false),
                MatRef::row_major(&b2[i * k * n..][..k * n], n, false),
                0.0,
                c,
                n,
            )
        });
    }
    let c_labels: Vec<Label> = batch.iter().chain(&ms).chain(&ns).copied().collect();
    let c_shape = size(&c_labels);
    Some(arrange(&c2, &c_labels, &c_shape, &[&r.output]))
}

fn build_einsum(ctx: &BuildCtx) -> Result<Box<dyn Kernel>> {
    let eq = parse_equation(&ctx.attr_str("equation", "")?)?;
    Ok(super::kernel(move |_ctx, inputs| {
        let ops: Vec<&Tensor> = (0..inputs.len())
            .map(|i| input(inputs, i))
            .collect::<Result<_>>()?;
        ensure!(!ops.is_empty(), "Einsum needs at least one operand");
        let dtype = ops[0].dtype();
        ensure!(
            ops.iter().all(|t| t.dtype() == dtype),
            "Einsum operands have different types"
        );
        ensure!(dtype != DType::Bool, "Einsum does not take bool tensors");
        let shapes: Vec<&[usize]> = ops.iter().map(|t| t.shape()).collect();
        let r = resolve(&eq, &shapes)?;
        let out_shape: Vec<usize> = r.output.iter().map(|&l| r.size_of(l)).collect();
        crate::kernels::conv::checked_numel(&out_shape)?;
        if ops.len() == 2 && matches!(dtype, DType::F32 | DType::F16 | DType::BF16) {
            if let Some(y) = einsum_as_gemm(&f32s(ops[0]), &f32s(ops[1]), &shapes, &r) {
                return Ok(vec![Tensor::from_vec(out_shape, y).cast(dtype)]);
            }
        }
        let y = with_data!(ops[0].data(), v => {
            let vals: Vec<&[_]> = std::iter::once(v.as_slice())
                .chain(ops[1..].iter().map(|t| t.as_slice().expect("same type")))
                .collect();
            if dtype.is_float() {
                Tensor::from_vec(out_shape, einsum_generic::<_, f64>(&vals, &shapes, &r))
            } else {
                Tensor::from_vec(out_shape, einsum_generic::<_, i64>(&vals, &shapes, &r))
            }
        });
        Ok(vec![y])
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Session;

    fn lcg(seed: &mut u64) -> f32 {
        *seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((*seed >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
    }

    fn random(n: usize, seed: &mut u64) -> Vec<f32> {
        (0..n).map(|_| lcg(seed)).collect()
    }

    fn close(got: &[f32], want: &[f32], k: usize, what: &str) {
        assert_eq!(got.len(), want.len(), "{what}");
        for (i, (g, w)) in got.iter().zip(want).enumerate() {
            assert!(
                (g - w).abs() <= 1e-5 * (k as f32).sqrt().max(1.0) * (1.0 + w.abs()),
                "{what}: [{i}] {g} vs {w}"
            );
        }
    }

    #[test]
    fn matmul_matches_reference_with_broadcasting() {
        let mut seed = 1u64;
        for (a, b) in [
            (vec![3], vec![3]),
            (vec![4], vec![2, 4, 5]),
            (vec![2, 3, 4], vec![4]),
            (vec![2, 3, 4], vec![4, 5]),
            (vec![3, 1, 3, 4], vec![1, 2, 4, 2]),
            (vec![1, 3, 4], vec![5, 4, 6]),
            (vec![40, 8, 16], vec![40, 16, 8]),
            (vec![7, 33, 65], vec![65, 130]),
            (vec![0, 3, 4], vec![4, 2]),
            (vec![2, 3, 0], vec![2, 0, 5]),
        ] {
            let s = MatMulShape::new(&a, &b).unwrap();
            let av = random(numel(&a), &mut seed);
            let bv = random(numel(&b), &mut seed);
            let want = matmul_generic::<f32, f64>(&av, &bv, &s);
            let mut got = vec![f32::NAN; numel(&s.out_shape)];
            matmul_f32(&av, &bv, &s, &mut got);
            close(&got, &want, s.k, &format!("{a:?} x {b:?}"));
        }
        assert_eq!(
            MatMulShape::new(&[4], &[2, 4, 1]).unwrap().out_shape,
            vec![2, 1]
        );
        assert_eq!(
            MatMulShape::new(&[3], &[3]).unwrap().out_shape,
            Vec::<usize>::new()
        );
        assert!(MatMulShape::new(&[2, 3], &[4, 2]).is_err());
        assert!(MatMulShape::new(&[2, 2, 3], &[3, 3, 2]).is_err());
        assert!(MatMulShape::new(&[], &[3]).is_err());
    }

    #[test]
    fn integer_matmul_wraps() {
        let s = MatMulShape::new(&[1, 2], &[2, 1]).unwrap();
        let y = matmul_generic::<i32, i64>(&[i32::MAX, 1], &[2, 3], &s);
        assert_eq!(y, vec![i32::MAX.wrapping_mul(2).wrapping_add(3)]);
        let y = matmul_generic::<u64, i64>(&[u64::MAX, 2], &[1, 1], &s);
        assert_eq!(y, vec![1]);
    }

    fn run(text: &str, inputs: Vec<(&str, Tensor)>) -> Vec<Tensor> {
        let m = onnxqc_ir::parse::parse_module(text, 0).expect("test IR parses");
        let s = Session::new(&m).unwrap();
        s.run(inputs)
            .unwrap()
            .into_vec()
            .into_iter()
            .map(|(_, t)| t)
            .collect()
    }

    /// A row-major matrix as a text-IR literal.
    fn dense(v: &[f32], cols: usize) -> String {
        let rows: Vec<String> = v
            .chunks(cols)
            .map(|r| {
                let items: Vec<String> = r.iter().map(|x| format!("{x:.6}")).collect();
                format!("[{}]", items.join(", "))
            })
            .collect();
        format!("[{}]", rows.join(", "))
    }

    #[test]
    fn constant_right_operands_are_prepared() {
        let mut seed = 9u64;
        let (m, k, n) = (1, 6, 5);
        let a = random(m * k, &mut seed);
        let b = random(n * k, &mut seed);
        let c = random(n, &mut seed);
        // Gemm with a constant transposed B against the same Gemm with B fed.
        let gemm = |b_const: bool| {
            let (arg, def) = if b_const {
                (
                    String::new(),
                    format!(
                        "%b = \"onnx.Constant\"() {{value = dense<{}> : tensor<{n}x{k}xf32>}} : () -> tensor<{n}x{k}xf32>",
                        dense(&b, k)
                    ),
                )
            } else {
                (format!(", %b: tensor<{n}x{k}xf32>"), String::new())
            };
            format!(
                "func.func @main(%a: tensor<{m}x{k}xf32>{arg}, %c: tensor<{n}xf32>) -> tensor<{m}x{n}xf32> {{
  {def}
  %y = \"onnx.Gemm\"(%a, %b, %c) {{alpha = 0.5, beta = 2.0, transB = 1}} : (tensor<{m}x{k}xf32>, tensor<{n}x{k}xf32>, tensor<{n}xf32>) -> tensor<{m}x{n}xf32>
  func.return %y : tensor<{m}x{n}xf32>
}}"
            )
        };
        let ta = Tensor::from_vec(vec![m, k], a.clone());
        let tc = Tensor::from_vec(vec![n], c.clone());
        // Constants go through the text format with 6 decimals; feed the same rounded values.
        let rounded: Vec<f32> = b
            .iter()
            .map(|x| format!("{x:.6}").parse().unwrap())
            .collect();
        let tb_r = Tensor::from_vec(vec![n, k], rounded);
        let fed = run(
            &gemm(false),
            vec![("a", ta.clone()), ("b", tb_r), ("c", tc.clone())],
        );
        let folded = run(&gemm(true), vec![("a", ta.clone()), ("c", tc)]);
        close(folded[0].f32s().unwrap(), fed[0].f32s().unwrap(), k, "Gemm");

        // MatMul with a constant f16 B.
        let b16 = Tensor::from_vec(vec![k, n], b).cast(DType::F16);
        let hex: String = crate::tensor::encode_le(b16.data())
            .iter()
            .map(|byte| format!("{byte:02X}"))
            .collect();
        let text = format!(
            "func.func @main(%a: tensor<{m}x{k}xf16>) -> tensor<{m}x{n}xf16> {{
  %b = \"onnx.Constant\"() {{value = dense<\"0x{hex}\"> : tensor<{k}x{n}xf16>}} : () -> tensor<{k}x{n}xf16>
  %y = \"onnx.MatMul\"(%a, %b) : (tensor<{m}x{k}xf16>, tensor<{k}x{n}xf16>) -> tensor<{m}x{n}xf16>
  func.return %y : tensor<{m}x{n}xf16>
}}"
        );
        let a16 = Tensor::from_vec(vec![m, k], a.clone()).cast(DType::F16);
        let got = run(&text, vec![("a", a16.clone())]);
        assert_eq!(got[0].dtype(), DType::F16);
        let s = MatMulShape::new(&[m, k], &[k, n]).unwrap();
        let want = matmul_generic::<f32, f64>(&a16.to_f32_vec(), &b16.to_f32_vec(), &s);
        let got = got[0].to_f32_vec();
        for (g, w) in got.iter().zip(&want) {
            assert!((g - w).abs() < 1e-2 * (1.0 + w.abs()), "{g} vs {w}");
        }
    }

    fn einsum(
        eq: &str,
        ops: &[(Vec<usize>, Vec<f32>)],
    ) -> (Vec<usize>, Vec<f32>, Option<Vec<f32>>) {
        let e = parse_equation(eq).unwrap();
        let shapes: Vec<&[usize]> = ops.iter().map(|(s, _)| s.as_slice()).collect();
        let r = resolve(&e, &shapes).unwrap();
        let vals: Vec<&[f32]> = ops.iter().map(|(_, v)| v.as_slice()).collect();
        let generic = einsum_generic::<f32, f64>(&vals, &shapes, &r);
        let fast = (ops.len() == 2)
            .then(|| einsum_as_gemm(vals[0], vals[1], &shapes, &r))
            .flatten();
        let shape = r.output.iter().map(|&l| r.size_of(l)).collect();
        (shape, generic, fast)
    }

    #[test]
    fn einsum_gemm_path_matches_interpreter() {
        let mut seed = 4u64;
        for (eq, sa, sb, out) in [
            ("bij,bjk->bik", vec![3, 4, 5], vec![3, 5, 6], vec![3, 4, 6]),
            (
                "bhqd,bhkd->bhqk",
                vec![2, 3, 4, 8],
                vec![2, 3, 5, 8],
                vec![2, 3, 4, 5],
            ),
            ("ij,jk", vec![4, 5], vec![5, 3], vec![4, 3]),
            ("ij,kj->ki", vec![4, 5], vec![3, 5], vec![3, 4]),
            ("i,j->ij", vec![4], vec![3], vec![4, 3]),
            ("i,i", vec![7], vec![7], vec![]),
            (
                "...ij,...jk->...ik",
                vec![2, 1, 3, 4],
                vec![5, 4, 2],
                vec![2, 5, 3, 2],
            ),
            ("bij,jk->bik", vec![3, 4, 5], vec![5, 6], vec![3, 4, 6]),
        ] {
            let a = random(numel(&sa), &mut seed);
            let b = random(numel(&sb), &mut seed);
            let (shape, generic, fast) = einsum(eq, &[(sa, a), (sb, b)]);
            assert_eq!(shape, out, "{eq}");
            close(&fast.expect("gemm path"), &generic, 8, eq);
        }
    }

    #[test]
    fn einsum_interpreter_cases() {
        let x: Vec<f32> = (0..9).map(|v| v as f32).collect();
        let (s, y, fast) = einsum("ii->i", &[(vec![3, 3], x.clone())]);
        assert_eq!((s, y, fast), (vec![3], vec![0.0, 4.0, 8.0], None));
        let (s, y, _) = einsum("ij->", &[(vec![3, 3], x.clone())]);
        assert_eq!((s, y), (vec![], vec![36.0]));
        let (s, y, _) = einsum("ij", &[(vec![3, 3], x.clone())]);
        assert_eq!((s, y), (vec![3, 3], x.clone()));
        let (s, y, _) = einsum("ji", &[(vec![3, 3], x.clone())]);
        assert_eq!((s, y[..3].to_vec()), (vec![3, 3], vec![0.0, 3.0, 6.0]));
        let (_, y, fast) = einsum(
            "ij,j->",
            &[(vec![3, 3], x.clone()), (vec![3], vec![1.0; 3])],
        );
        assert_eq!((y, fast), (vec![36.0], None));
        // Labels summed inside one operand are not a GEMM.
        let (_, y, fast) = einsum("ij,k->k", &[(vec![3, 3], x), (vec![2], vec![1.0, 2.0])]);
        assert_eq!((y, fast), (vec![36.0, 72.0], None));
        let e = parse_equation("ij,jk->ik").unwrap();
        assert!(resolve(&e, &[&[2, 3], &[4, 5]]).is_err());
        assert!(resolve(&e, &[&[2, 3]]).is_err());
        assert!(parse_equation("i1->i").is_err());
    }
}
