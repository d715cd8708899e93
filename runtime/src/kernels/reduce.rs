//! Reductions: ReduceSum, ReduceMean, ReduceMax, ReduceMin, ReduceProd, ReduceL1, ReduceL2,
//! ReduceLogSum, ReduceLogSumExp and ReduceSumSquare.
//!
//! Every reduction is brought to one shape, `[outer, r, inner]` reduced over the middle: size-1
//! dimensions are dropped and neighbouring dimensions that are all kept or all reduced are merged, so
//! "last axes", "all axes", "leading axes" and "one middle block" are a single pass with no copy.
//! Reduced blocks interleaved with kept ones take one pass per block, innermost first (a sum of
//! partial sums, a max of partial maxima, ...), which reads the big input once and never transposes.
//!
//! With `inner == 1` each output is a contiguous row, folded with 16 independent lanes so the loop
//! vectorises (rows too long for one thread are split across threads and the partial results merged).
//! With `inner > 1` whole rows of `inner` values are accumulated into the outputs, column tile by
//! column tile so the accumulators stay in cache.
//!
//! Arithmetic happens in an accumulator type ([`Acc`]): f32 for f32/f16/bf16, f64 for f64, and wrapping
//! i64/u64 for integers, so integer sums are exact. LogSumExp subtracts the maximum first and always
//! sums in f64. [`reduce_reference`] is the plain version the tests compare against.

use half::{bf16, f16};
use rayon::prelude::*;

use super::movement::{axes_arg, for_rows, norm_axes, PAR_MIN};
use super::{input, kernel, BuildCtx, Kernel, Registry};
use crate::error::Result;
use crate::tensor::{strides, Data, Tensor};

pub fn register(r: &mut Registry) {
    r.add("onnx.ReduceSum", |b| build(b, ReduceOp::Sum));
    r.add("onnx.ReduceMean", |b| build(b, ReduceOp::Mean));
    r.add("onnx.ReduceMax", |b| build(b, ReduceOp::Max));
    r.add("onnx.ReduceMin", |b| build(b, ReduceOp::Min));
    r.add("onnx.ReduceProd", |b| build(b, ReduceOp::Prod));
    r.add("onnx.ReduceL1", |b| build(b, ReduceOp::L1));
    r.add("onnx.ReduceL2", |b| build(b, ReduceOp::L2));
    r.add("onnx.ReduceLogSum", |b| build(b, ReduceOp::LogSum));
    r.add("onnx.ReduceLogSumExp", |b| build(b, ReduceOp::LogSumExp));
    r.add("onnx.ReduceSumSquare", |b| build(b, ReduceOp::SumSquare));
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ReduceOp {
    Sum,
    Mean,
    Max,
    Min,
    Prod,
    L1,
    L2,
    LogSum,
    LogSumExp,
    SumSquare,
}

fn build(b: &BuildCtx, op: ReduceOp) -> Result<Box<dyn Kernel>> {
    let keepdims = b.attr_int("keepdims", 1)? != 0;
    let noop = b.attr_int("noop_with_empty_axes", 0)? != 0;
    // Axes are an attribute before opset 13 (ReduceSum) or 18 (the others), an input after.
    let attr_axes = b.attr_ints("axes")?;
    Ok(kernel(move |_, inputs| {
        let x = input(inputs, 0)?;
        let axes = axes_arg(&attr_axes, inputs, 1).unwrap_or_default();
        let axes = if axes.is_empty() {
            if noop {
                // Reducing over no axis: each element on its own, which only changes it for the ops
                // that transform elements (|x|, x², ln x, ...).
                if matches!(
                    op,
                    ReduceOp::Sum | ReduceOp::Mean | ReduceOp::Max | ReduceOp::Min | ReduceOp::Prod
                ) {
                    return Ok(vec![x.clone()]);
                }
                vec![]
            } else {
                (0..x.rank()).collect()
            }
        } else {
            norm_axes(&axes, x.rank())?
        };
        Ok(vec![reduce(x, &axes, keepdims, op)?])
    }))
}

/// The arithmetic a reduction accumulates in.
pub(crate) trait Acc: Copy + Send + Sync + PartialOrd + 'static {
    const ZERO: Self;
    const ONE: Self;
    /// The identity of max (−∞ for floats).
    const LOWEST: Self;
    /// The identity of min (+∞ for floats).
    const HIGHEST: Self;
    fn add(self, o: Self) -> Self;
    fn mul(self, o: Self) -> Self;
    fn abs(self) -> Self;
    fn is_nan(self) -> bool;
    fn to_f64(self) -> f64;
    fn from_f64(v: f64) -> Self;
    /// `self / n` (the mean); integers truncate, and divide nothing by 0.
    fn div_count(self, n: usize) -> Self;
    /// NaN-propagating max, as numpy's.
    #[inline(always)]
    fn max(self, o: Self) -> Self {
        if o > self || o.is_nan() {
            o
        } else {
            self
        }
    }
    #[inline(always)]
    fn min(self, o: Self) -> Self {
        if o < self || o.is_nan() {
            o
        } else {
            self
        }
    }
}

macro_rules! float_acc {
    ($t:ty) => {
        impl Acc for $t {
            const ZERO: Self = 0.0;
            const ONE: Self = 1.0;
            const LOWEST: Self = <$t>::NEG_INFINITY;
            const HIGHEST: Self = <$t>::INFINITY;
            #[inline(always)]
            fn add(self, o: Self) -> Self {
                self + o
            }
            #[inline(always)]
            fn mul(self, o: Self) -> Self {
                self * o
            }
            #[inline(always)]
            fn abs(self) -> Self {
                <$t>::abs(self)
            }
            #[inline(always)]
            fn is_nan(self) -> bool {
                <$t>::is_nan(self)
            }
            fn to_f64(self) -> f64 {
                self as f64
            }
            fn from_f64(v: f64) -> Self {
                v as $t
            }
            fn div_count(self, n: usize) -> Self {
                self / n as $t
            }
        }
    };
}

macro_rules! int_acc {
    ($t:ty, $abs:expr) => {
        impl Acc for $t {
            const ZERO: Self = 0;
            const ONE: Self = 1;
            const LOWEST: Self = <$t>::MIN;
            const HIGHEST: Self = <$t>::MAX;
            #[inline(always)]
            fn add(self, o: Self) -> Self {
                self.wrapping_add(o)
            }
            #[inline(always)]
            fn mul(self, o: Self) -> Self {
                self.wrapping_mul(o)
            }
            #[inline(always)]
            fn abs(self) -> Self {
                $abs(self)
            }
            #[inline(always)]
            fn is_nan(self) -> bool {
                false
            }
            fn to_f64(self) -> f64 {
                self as f64
            }
            fn from_f64(v: f64) -> Self {
                v as $t
            }
            fn div_count(self, n: usize) -> Self {
                if n == 0 {
                    0
                } else {
                    self / n as $t
                }
            }
        }
    };
}

float_acc!(f32);
float_acc!(f64);
int_acc!(i64, i64::wrapping_abs);
int_acc!(u64, |x| x);

/// The fold behind each op (LogSumExp has its own two passes).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Raw {
    Sum,
    SumAbs,
    SumSq,
    Prod,
    Max,
    Min,
}

impl Raw {
    fn of(op: ReduceOp) -> Raw {
        match op {
            ReduceOp::Sum | ReduceOp::Mean | ReduceOp::LogSum => Raw::Sum,
            ReduceOp::L1 => Raw::SumAbs,
            ReduceOp::L2 | ReduceOp::SumSquare => Raw::SumSq,
            ReduceOp::Prod => Raw::Prod,
            ReduceOp::Max | ReduceOp::LogSumExp => Raw::Max,
            ReduceOp::Min => Raw::Min,
        }
    }

    fn init<A: Acc>(self) -> A {
        match self {
            Raw::Sum | Raw::SumAbs | Raw::SumSq => A::ZERO,
            Raw::Prod => A::ONE,
            Raw::Max => A::LOWEST,
            Raw::Min => A::HIGHEST,
        }
    }

    /// Combines two partial results.
    fn merge<A: Acc>(self, a: A, b: A) -> A {
        match self {
            Raw::Sum | Raw::SumAbs | Raw::SumSq => a.add(b),
            Raw::Prod => a.mul(b),
            Raw::Max => a.max(b),
            Raw::Min => a.min(b),
        }
    }
}

/// Folds a row with 16 independent accumulators: no dependency between neighbouring elements, so the
/// compiler keeps them in vector registers.
#[inline(always)]
fn fold_lanes<A: Acc>(
    row: &[A],
    init: A,
    step: impl Fn(A, A) -> A,
    merge: impl Fn(A, A) -> A,
) -> A {
    const L: usize = 16;
    let mut acc = [init; L];
    let chunks = row.chunks_exact(L);
    let rem = chunks.remainder();
    for c in chunks {
        for i in 0..L {
            acc[i] = step(acc[i], c[i]);
        }
    }
    let mut s = init;
    for &x in rem {
        s = step(s, x);
    }
    for a in acc {
        s = merge(s, a);
    }
    s
}

/// Max or min as one select per element, which vectorises (NaN-propagating comparisons do not):
/// NaNs are only noted on the side, and any NaN makes the result NaN.
#[inline(always)]
fn fold_select<A: Acc>(row: &[A], init: A, pick: impl Fn(A, A) -> bool) -> A {
    const L: usize = 16;
    let mut acc = [init; L];
    let mut nan = [false; L];
    let chunks = row.chunks_exact(L);
    let rem = chunks.remainder();
    for c in chunks {
        for i in 0..L {
            let x = c[i];
            acc[i] = if pick(x, acc[i]) { x } else { acc[i] };
            nan[i] |= x.is_nan();
        }
    }
    let mut s = init;
    for &x in rem.iter().chain(&acc) {
        if pick(x, s) || x.is_nan() {
            s = x;
        }
    }
    if nan.iter().any(|&n| n) {
        A::from_f64(f64::NAN)
    } else {
        s
    }
}

fn row_raw<A: Acc>(row: &[A], raw: Raw) -> A {
    // One arm per fold so each loop is compiled for its own operation.
    match raw {
        Raw::Sum => fold_lanes(row, A::ZERO, |a, x| a.add(x), A::add),
        Raw::SumAbs => fold_lanes(row, A::ZERO, |a, x| a.add(x.abs()), A::add),
        Raw::SumSq => fold_lanes(row, A::ZERO, |a, x| a.add(x.mul(x)), A::add),
        Raw::Prod => fold_lanes(row, A::ONE, |a, x| a.mul(x), A::mul),
        Raw::Max => fold_select(row, A::LOWEST, |x, a| x > a),
        Raw::Min => fold_select(row, A::HIGHEST, |x, a| x < a),
    }
}

#[inline(always)]
fn zip_apply<A: Acc>(acc: &mut [A], row: &[A], f: impl Fn(A, A) -> A) {
    for (a, &x) in acc.iter_mut().zip(row) {
        *a = f(*a, x);
    }
}

/// Like [`fold_select`] for columns: returns whether a NaN went by (the caller then patches those
/// columns).
#[inline(always)]
fn select_cols<A: Acc>(acc: &mut [A], row: &[A], pick: impl Fn(A, A) -> bool) -> bool {
    let mut nan = false;
    for (a, &x) in acc.iter_mut().zip(row) {
        *a = if pick(x, *a) { x } else { *a };
        nan |= x.is_nan();
    }
    nan
}

/// Folds one row into column accumulators; true when the row held a NaN that max/min skipped.
fn acc_cols<A: Acc>(acc: &mut [A], row: &[A], raw: Raw) -> bool {
    match raw {
        Raw::Sum => zip_apply(acc, row, |a, x| a.add(x)),
        Raw::SumAbs => zip_apply(acc, row, |a, x| a.add(x.abs())),
        Raw::SumSq => zip_apply(acc, row, |a, x| a.add(x.mul(x))),
        Raw::Prod => zip_apply(acc, row, |a, x| a.mul(x)),
        Raw::Max => return select_cols(acc, row, |x, a| x > a),
        Raw::Min => return select_cols(acc, row, |x, a| x < a),
    }
    false
}

/// Turns the fold of `n` elements into the op's result.
fn finish<A: Acc>(op: ReduceOp, v: A, n: usize) -> A {
    match op {
        ReduceOp::Mean => v.div_count(n),
        ReduceOp::L2 => A::from_f64(v.to_f64().sqrt()),
        ReduceOp::LogSum => A::from_f64(v.to_f64().ln()),
        _ => v,
    }
}

/// `m + ln(s)` where `s = Σ exp(x - m)`; an infinite maximum (or no element) is the result itself.
fn lse<A: Acc>(m: f64, s: f64) -> A {
    if m.is_infinite() {
        A::from_f64(m)
    } else {
        A::from_f64(m + s.ln())
    }
}

fn sum_exp<A: Acc>(row: &[A], m: f64) -> f64 {
    row.iter().map(|x| (x.to_f64() - m).exp()).sum()
}

/// What one pass over one reduced block computes. The first pass folds the elements (|x|, x², ...);
/// when the reduced axes form several blocks, later passes combine the partial results (a sum of
/// partial sums of squares is a plain sum). LogSumExp composes with itself.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Stage {
    Fold(Raw),
    Lse,
}

impl Stage {
    fn first(op: ReduceOp) -> Stage {
        match op {
            ReduceOp::LogSumExp => Stage::Lse,
            _ => Stage::Fold(Raw::of(op)),
        }
    }

    fn later(op: ReduceOp) -> Stage {
        match Stage::first(op) {
            Stage::Fold(Raw::SumAbs | Raw::SumSq) => Stage::Fold(Raw::Sum),
            s => s,
        }
    }
}

fn row_value<A: Acc>(row: &[A], stage: Stage) -> A {
    match stage {
        Stage::Fold(raw) => row_raw(row, raw),
        Stage::Lse => {
            let m = row_raw(row, Raw::Max).to_f64();
            lse(m, sum_exp(row, m))
        }
    }
}

/// [`row_value`] for one long row, split across threads.
fn row_value_par<A: Acc>(row: &[A], stage: Stage) -> A {
    const CHUNK: usize = 1 << 14;
    match stage {
        Stage::Fold(raw) => row
            .par_chunks(CHUNK)
            .map(|c| row_raw(c, raw))
            .reduce(|| raw.init(), |a, b| raw.merge(a, b)),
        Stage::Lse => {
            let m = row
                .par_chunks(CHUNK)
                .map(|c| row_raw(c, Raw::Max))
                .reduce(|| A::LOWEST, A::max)
                .to_f64();
            let s: f64 = row.par_chunks(CHUNK).map(|c| sum_exp(c, m)).sum();
            lse(m, s)
        }
    }
}

/// Reduces columns `[j0, j0 + dst.len())` of block `o` of `x` (viewed as `[outer, r, inner]`).
fn reduce_cols<A: Acc>(
    x: &[A],
    o: usize,
    r: usize,
    inner: usize,
    j0: usize,
    dst: &mut [A],
    stage: Stage,
) {
    // Accumulators for up to 32 KiB of columns: small enough to stay in L1/L2 while every row of the
    // block streams past, long enough that each row is read in long contiguous runs.
    let tile = (32 << 10) / std::mem::size_of::<A>();
    let width = dst.len();
    for t0 in (0..width).step_by(tile) {
        let w = tile.min(width - t0);
        let d = &mut dst[t0..t0 + w];
        let row = |k: usize| {
            let s = (o * r + k) * inner + j0 + t0;
            &x[s..s + w]
        };
        match stage {
            Stage::Fold(raw) => {
                d.fill(raw.init());
                let mut nan = false;
                for k in 0..r {
                    nan |= acc_cols(d, row(k), raw);
                }
                if nan {
                    patch_nan(d, r, row);
                }
            }
            Stage::Lse => {
                d.fill(A::LOWEST);
                let mut nan = false;
                for k in 0..r {
                    nan |= acc_cols(d, row(k), Raw::Max);
                }
                if nan {
                    patch_nan(d, r, row);
                }
                let m: Vec<f64> = d.iter().map(|v| v.to_f64()).collect();
                let mut s = vec![0f64; w];
                for k in 0..r {
                    for ((s, x), &m) in s.iter_mut().zip(row(k)).zip(&m) {
                        *s += (x.to_f64() - m).exp();
                    }
                }
                for ((y, &m), &s) in d.iter_mut().zip(&m).zip(&s) {
                    *y = lse(m, s);
                }
            }
        }
    }
}

/// Makes every column that saw a NaN NaN (the max/min fast path skipped them).
fn patch_nan<'x, A: Acc>(d: &mut [A], r: usize, row: impl Fn(usize) -> &'x [A]) {
    for k in 0..r {
        for (y, &x) in d.iter_mut().zip(row(k)) {
            if x.is_nan() {
                *y = x;
            }
        }
    }
}

/// Reduces `x`, viewed as `[outer, r, inner]`, over the middle axis into `outer × inner` values.
fn reduce_core<A: Acc>(x: &[A], outer: usize, r: usize, inner: usize, stage: Stage) -> Vec<A> {
    let n = outer * inner;
    let mut out = vec![A::ZERO; n];
    let work = n.saturating_mul(r.max(1));
    let threads = rayon::current_num_threads();
    let parallel = threads > 1 && work >= PAR_MIN;
    if inner == 1 {
        if parallel && outer < threads {
            for (o, y) in out.iter_mut().enumerate() {
                *y = row_value_par(&x[o * r..(o + 1) * r], stage);
            }
        } else {
            for_rows(&mut out, 1, work, |o, y| {
                y[0] = row_value(&x[o * r..(o + 1) * r], stage)
            });
        }
    } else if !parallel || outer >= 2 * threads {
        for_rows(&mut out, inner, work, |o, dst| {
            reduce_cols(x, o, r, inner, 0, dst, stage)
        });
    } else {
        // Few blocks: split each block's columns across threads instead.
        let seg = inner.div_ceil(threads * 2).max(256);
        for (o, dst) in out.chunks_mut(inner).enumerate() {
            dst.par_chunks_mut(seg)
                .enumerate()
                .for_each(|(s, d)| reduce_cols(x, o, r, inner, s * seg, d, stage));
        }
    }
    out
}

/// How a reduction runs on a given input shape: one `[outer, r, inner]` pass per block of reduced
/// dimensions, innermost block first, so interleaved axes need no transposed copy.
struct Layout {
    passes: Vec<(usize, usize, usize)>,
    /// Number of elements reduced into each output (the mean's divisor).
    count: usize,
}

impl Layout {
    fn new(shape: &[usize], reduced: &[bool]) -> Layout {
        // Merge neighbours of the same kind; size-1 dimensions belong to neither.
        let mut groups: Vec<(bool, usize)> = vec![];
        let push = |groups: &mut Vec<(bool, usize)>, red: bool, d: usize| match groups.last_mut() {
            Some((gr, gd)) if *gr == red => *gd *= d,
            _ => groups.push((red, d)),
        };
        for (&d, &red) in shape.iter().zip(reduced) {
            if d != 1 {
                push(&mut groups, red, d);
            }
        }
        let prod = |g: &[(bool, usize)]| g.iter().map(|x| x.1).product::<usize>();
        let mut passes = vec![];
        while let Some(p) = groups.iter().rposition(|g| g.0) {
            passes.push((prod(&groups[..p]), groups[p].1, prod(&groups[p + 1..])));
            // The block is gone; its kept neighbours now touch and merge.
            let rest: Vec<(bool, usize)> = groups[..p]
                .iter()
                .chain(&groups[p + 1..])
                .copied()
                .collect();
            groups.clear();
            for (red, d) in rest {
                push(&mut groups, red, d);
            }
        }
        if passes.is_empty() {
            // Nothing reduced: every element is its own group (this still applies |x|, x², ...).
            passes.push((prod(&groups), 1, 1));
        }
        let count = (0..shape.len())
            .filter(|&d| reduced[d])
            .map(|d| shape[d])
            .product();
        Layout { passes, count }
    }

    fn run<A: Acc>(&self, x: &[A], op: ReduceOp) -> Vec<A> {
        let mut cur: Option<Vec<A>> = None;
        for (i, &(outer, r, inner)) in self.passes.iter().enumerate() {
            let stage = if i == 0 {
                Stage::first(op)
            } else {
                Stage::later(op)
            };
            let src = cur.as_deref().unwrap_or(x);
            cur = Some(reduce_core(src, outer, r, inner, stage));
        }
        let mut out = cur.expect("at least one pass");
        if matches!(op, ReduceOp::Mean | ReduceOp::L2 | ReduceOp::LogSum) {
            for y in &mut out {
                *y = finish(op, *y, self.count);
            }
        }
        out
    }
}

/// Runs the reduction in accumulator type `A` for elements of another type.
fn via<T: Copy, A: Acc>(
    v: &[T],
    layout: &Layout,
    op: ReduceOp,
    to: impl Fn(T) -> A,
    from: impl Fn(A) -> T,
) -> Vec<T> {
    let a: Vec<A> = v.iter().map(|&x| to(x)).collect();
    layout.run(&a, op).into_iter().map(from).collect()
}

/// Reduces `x` over `axes` (normalised, distinct; empty means no axis).
pub(crate) fn reduce(x: &Tensor, axes: &[usize], keepdims: bool, op: ReduceOp) -> Result<Tensor> {
    let shape = x.shape();
    let reduced: Vec<bool> = (0..shape.len()).map(|d| axes.contains(&d)).collect();
    let out_shape: Vec<usize> = shape
        .iter()
        .zip(&reduced)
        .filter_map(|(&d, &r)| if r { keepdims.then_some(1) } else { Some(d) })
        .collect();
    let l = Layout::new(shape, &reduced);
    let data = match x.data() {
        Data::F32(v) => Data::F32(l.run(v, op)),
        Data::F64(v) => Data::F64(l.run(v, op)),
        Data::I64(v) => Data::I64(l.run(v, op)),
        Data::U64(v) => Data::U64(l.run(v, op)),
        Data::F16(v) => Data::F16(via(v, &l, op, f16::to_f32, f16::from_f32)),
        Data::BF16(v) => Data::BF16(via(v, &l, op, bf16::to_f32, bf16::from_f32)),
        Data::I8(v) => Data::I8(via(v, &l, op, |x| x as i64, |y| y as i8)),
        Data::I16(v) => Data::I16(via(v, &l, op, |x| x as i64, |y| y as i16)),
        Data::I32(v) => Data::I32(via(v, &l, op, |x| x as i64, |y| y as i32)),
        Data::U8(v) => Data::U8(via(v, &l, op, |x| x as i64, |y| y as u8)),
        Data::U16(v) => Data::U16(via(v, &l, op, |x| x as i64, |y| y as u16)),
        Data::U32(v) => Data::U32(via(v, &l, op, |x| x as i64, |y| y as u32)),
        // `> 0` rather than `!= 0`: the max of nothing (i64::MIN) is false, the min of nothing true.
        Data::Bool(v) => Data::Bool(via(v, &l, op, |x| x as i64, |y| y > 0)),
    };
    Tensor::new(out_shape, data)
}

/// The plain reduction: gathers every output's elements, then applies the op's formula in f64.
#[cfg_attr(not(test), allow(dead_code))]
pub(crate) fn reduce_reference(
    x: &[f64],
    shape: &[usize],
    axes: &[usize],
    op: ReduceOp,
) -> Vec<f64> {
    let out_shape: Vec<usize> = (0..shape.len())
        .map(|d| if axes.contains(&d) { 1 } else { shape[d] })
        .collect();
    let ost = strides(&out_shape);
    let n_out: usize = out_shape.iter().product();
    let mut groups: Vec<Vec<f64>> = vec![vec![]; n_out];
    for (flat, &v) in x.iter().enumerate() {
        let mut rem = flat;
        let mut o = 0;
        for d in (0..shape.len()).rev() {
            let i = rem % shape[d];
            rem /= shape[d];
            if !axes.contains(&d) {
                o += i * ost[d];
            }
        }
        groups[o].push(v);
    }
    groups
        .iter()
        .map(|g| {
            let sum = |f: fn(f64) -> f64| g.iter().map(|&v| f(v)).sum::<f64>();
            match op {
                ReduceOp::Sum => sum(|v| v),
                ReduceOp::Mean => sum(|v| v) / g.len() as f64,
                ReduceOp::Max => g.iter().copied().fold(f64::NEG_INFINITY, f64::max),
                ReduceOp::Min => g.iter().copied().fold(f64::INFINITY, f64::min),
                ReduceOp::Prod => g.iter().product(),
                ReduceOp::L1 => sum(f64::abs),
                ReduceOp::L2 => sum(|v| v * v).sqrt(),
                ReduceOp::LogSum => sum(|v| v).ln(),
                ReduceOp::LogSumExp => sum(f64::exp).ln(),
                ReduceOp::SumSquare => sum(|v| v * v),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lcg(seed: &mut u64) -> f64 {
        *seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((*seed >> 40) as f64 / (1u64 << 24) as f64) * 2.0 - 1.0
    }

    const OPS: [ReduceOp; 10] = [
        ReduceOp::Sum,
        ReduceOp::Mean,
        ReduceOp::Max,
        ReduceOp::Min,
        ReduceOp::Prod,
        ReduceOp::L1,
        ReduceOp::L2,
        ReduceOp::LogSum,
        ReduceOp::LogSumExp,
        ReduceOp::SumSquare,
    ];

    fn check(shape: &[usize], axes: &[usize], seed: &mut u64, threads: usize) {
        let n: usize = shape.iter().product();
        let x: Vec<f32> = (0..n).map(|_| lcg(seed) as f32).collect();
        for op in OPS {
            // LogSum needs positive sums; Prod of many values near 1 stays representable.
            let xs: Vec<f32> = match op {
                ReduceOp::LogSum => x.iter().map(|v| v.abs() + 0.1).collect(),
                ReduceOp::Prod => x.iter().map(|v| 1.0 + v / 64.0).collect(),
                _ => x.clone(),
            };
            let t = Tensor::from_vec(shape.to_vec(), xs.clone());
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap();
            let got = pool.install(|| reduce(&t, axes, true, op)).unwrap();
            let x64: Vec<f64> = xs.iter().map(|&v| v as f64).collect();
            let want = reduce_reference(&x64, shape, axes, op);
            let got = got.f32s().unwrap();
            assert_eq!(got.len(), want.len());
            let r: usize = axes.iter().map(|&a| shape[a]).product();
            for (i, (&g, &w)) in got.iter().zip(&want).enumerate() {
                let tol = 1e-5 * (r as f64).sqrt().max(1.0) * (1.0 + w.abs()) + 1e-6;
                let ok = (g as f64 - w).abs() <= tol || (g.is_nan() && w.is_nan()) || g as f64 == w;
                assert!(
                    ok,
                    "{op:?} shape {shape:?} axes {axes:?} threads {threads}: [{i}] {g} vs {w}"
                );
            }
        }
    }

    #[test]
    fn matches_reference_on_random_shapes() {
        let mut seed = 11u64;
        for case in 0..150 {
            let rank = case % 5;
            let shape: Vec<usize> = (0..rank)
                .map(|_| ((lcg(&mut seed) + 1.0) * 3.5) as usize)
                .collect();
            let axes: Vec<usize> = (0..rank).filter(|_| lcg(&mut seed) > 0.0).collect();
            check(&shape, &axes, &mut seed, 1 + case % 3);
        }
    }

    #[test]
    fn matches_reference_on_large_shapes() {
        let mut seed = 5u64;
        for (shape, axes) in [
            (vec![3, 40000], vec![1]),
            (vec![50000], vec![0]),
            (vec![2, 300, 700], vec![1]),
            (vec![300, 2, 90], vec![0]),
            (vec![40, 30, 50], vec![0, 2]),
            (vec![2, 0, 4], vec![1]),
            (vec![2, 0, 4], vec![2]),
        ] {
            for threads in [1, 3] {
                check(&shape, &axes, &mut seed, threads);
            }
        }
    }

    #[test]
    fn integers_and_bools() {
        let t = Tensor::from_vec(vec![2, 3], vec![1i32, -2, 3, 4, 5, 6]);
        let s = reduce(&t, &[1], false, ReduceOp::Sum).unwrap();
        assert_eq!(s.as_slice::<i32>().unwrap(), &[2, 15]);
        let m = reduce(&t, &[0], false, ReduceOp::Mean).unwrap();
        assert_eq!(m.as_slice::<i32>().unwrap(), &[2, 1, 4]);
        let b = Tensor::from_vec(vec![2, 0], Vec::<bool>::new());
        let mx = reduce(&b, &[1], false, ReduceOp::Max).unwrap();
        assert_eq!(mx.as_slice::<bool>().unwrap(), &[false, false]);
        let mn = reduce(&b, &[1], false, ReduceOp::Min).unwrap();
        assert_eq!(mn.as_slice::<bool>().unwrap(), &[true, true]);
        let big = Tensor::from_vec(vec![2], vec![u64::MAX, 1]);
        let mx = reduce(&big, &[0], false, ReduceOp::Max).unwrap();
        assert_eq!(mx.as_slice::<u64>().unwrap(), &[u64::MAX]);
    }

    #[test]
    fn max_propagates_nan() {
        let t = Tensor::from_vec(vec![40], {
            let mut v = vec![1.0f32; 40];
            v[17] = f32::NAN;
            v
        });
        for op in [ReduceOp::Max, ReduceOp::Min, ReduceOp::LogSumExp] {
            let m = reduce(&t, &[0], false, op).unwrap();
            assert!(m.f32s().unwrap()[0].is_nan(), "{op:?}");
            // The same column-wise: only the column holding the NaN is NaN.
            let c = t.reshaped(vec![4, 10]).unwrap();
            let m = reduce(&c, &[0], false, op).unwrap();
            let nans: Vec<bool> = m.f32s().unwrap().iter().map(|v| v.is_nan()).collect();
            assert_eq!(nans, (0..10).map(|j| j == 7).collect::<Vec<_>>(), "{op:?}");
        }
    }
}
