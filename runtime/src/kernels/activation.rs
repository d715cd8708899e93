//! Activations: the point-wise ones (Relu, Sigmoid, Gelu, Swish, SwiGLU, Clip, ...) and the
//! normalising ones along an axis (Softmax, LogSoftmax, Hardmax).
//!
//! Point-wise formulas are written once over [`Real`] (f32 and f64; f16 and bf16 compute through
//! f32) and run through [`real_map`](super::elementwise::real_map), which splits large tensors
//! across the pool. Relu, PRelu, Shrink and Clip also take integer tensors, as ONNX allows.
//!
//! Softmax-like ops see their input as `[outer, n, inner]` and reduce over `n`. From opset 13 on,
//! `n` is the `axis` dimension (default -1); before, the input is coerced to 2-D at `axis` (default
//! 1), so `n` covers every dimension from `axis` on and `inner` is 1. With `inner > 1` the
//! reduction runs over whole `inner`-long rows at a time, so the loops stay contiguous either way.

use half::{bf16, f16};
use rayon::prelude::*;

use super::elementwise::{
    binary_vec, like, map_vec, par_chunk_len, real_op, with_num, Num, Real, RealFn,
};
use super::{input, kernel, opt_input, BuildCtx, Kernel, Registry};
use crate::error::Result;
use crate::plan::RunCtx;
use crate::tensor::{norm_axis, Data, Elem, Tensor};
use crate::{bail, ensure};

/// `ln(1 + e^x)` without overflow for large `x`.
#[inline(always)]
fn softplus<R: Real>(x: R) -> R {
    if x > R::c(0.0) {
        x + (-x).exp_().ln_1p_()
    } else {
        x.exp_().ln_1p_()
    }
}

/// Clamps to [0, 1], keeping NaN.
#[inline(always)]
fn clamp01<R: Real>(v: R) -> R {
    if v < R::c(0.0) {
        R::c(0.0)
    } else if v > R::c(1.0) {
        R::c(1.0)
    } else {
        v
    }
}

struct GeluErf;

impl RealFn for GeluErf {
    #[inline(always)]
    fn call<R: Real>(&self, x: R) -> R {
        R::c(0.5) * x * (R::c(1.0) + (x * R::c(std::f64::consts::FRAC_1_SQRT_2)).erf_())
    }
}

struct GeluTanh;

impl RealFn for GeluTanh {
    #[inline(always)]
    fn call<R: Real>(&self, x: R) -> R {
        // sqrt(2 / pi)
        let k = R::c(0.797_884_560_802_865_4);
        R::c(0.5) * x * (R::c(1.0) + (k * (x + R::c(0.044715) * x * x * x)).tanh_())
    }
}

#[inline(always)]
fn swish<R: Real>(x: R, alpha: R) -> R {
    x / (R::c(1.0) + (-(alpha * x)).exp_())
}

/// SwiGLU: `swish(a) * b` for same-shaped gate `a` and value `b` (no broadcasting, per the spec).
fn swiglu(ctx: &mut RunCtx, a: &Tensor, b: &Tensor, alpha: f64) -> Result<Tensor> {
    ensure!(
        a.shape() == b.shape(),
        "gate and value shapes differ: {:?} and {:?}",
        a.shape(),
        b.shape()
    );
    ensure!(
        a.dtype() == b.dtype(),
        "gate is {}, value is {}",
        a.dtype(),
        b.dtype()
    );
    let (sa, sb) = (a.shape(), b.shape());
    let al = alpha as f32;
    match (a.data(), b.data()) {
        (Data::F32(x), Data::F32(y)) => {
            binary_vec(ctx, sa, x, sb, y, |x: f32, y: f32| swish(x, al) * y)
        }
        (Data::F64(x), Data::F64(y)) => {
            binary_vec(ctx, sa, x, sb, y, |x: f64, y: f64| swish(x, alpha) * y)
        }
        (Data::F16(x), Data::F16(y)) => binary_vec(ctx, sa, x, sb, y, |x: f16, y: f16| {
            f16::from_f32(swish(x.to_f32(), al) * y.to_f32())
        }),
        (Data::BF16(x), Data::BF16(y)) => binary_vec(ctx, sa, x, sb, y, |x: bf16, y: bf16| {
            bf16::from_f32(swish(x.to_f32(), al) * y.to_f32())
        }),
        _ => bail!("expected float tensors, got {}", a.dtype()),
    }
}

fn build_gelu(b: &BuildCtx) -> Result<Box<dyn Kernel>> {
    let approx = b.attr_str("approximate", "none")?;
    Ok(match approx.as_str() {
        "none" => super::elementwise::real_kernel(GeluErf),
        "tanh" => super::elementwise::real_kernel(GeluTanh),
        _ => bail!("attribute 'approximate' must be 'none' or 'tanh', got '{approx}'"),
    })
}

#[inline(always)]
fn prelu_one<T: Num>(x: T, slope: T) -> T {
    if x < T::ZERO {
        x.mul(slope)
    } else {
        x
    }
}

/// PRelu: `x < 0 ? slope * x : x`, the slope broadcasting to the input's shape.
fn prelu(ctx: &mut RunCtx, x: &Tensor, slope: &Tensor) -> Result<Tensor> {
    ensure!(
        x.dtype() == slope.dtype(),
        "slope is {}, input is {}",
        slope.dtype(),
        x.dtype()
    );
    let out = with_num!(x.data(), xv => {
        let sv = slope.typed()?;
        binary_vec(ctx, x.shape(), xv, slope.shape(), sv, prelu_one)?
    });
    ensure!(
        out.shape() == x.shape(),
        "slope of shape {:?} does not broadcast to the input shape {:?}",
        slope.shape(),
        x.shape()
    );
    Ok(out)
}

fn build_shrink(b: &BuildCtx) -> Result<Box<dyn Kernel>> {
    let bias = b.attr_float("bias", 0.0)? as f64;
    let lambd = b.attr_float("lambd", 0.5)? as f64;
    Ok(kernel(move |ctx, inputs| {
        let x = input(inputs, 0)?;
        let shape = x.shape().to_vec();
        // Computed in f64 so that integer inputs follow the same formula.
        let f = move |v: f64| {
            if v < -lambd {
                v + bias
            } else if v > lambd {
                v - bias
            } else {
                0.0
            }
        };
        Ok(vec![with_num!(x.data(), v => Tensor::from_vec(
            shape,
            map_vec(ctx, v, |a| like(a, f(a.to_f64()))),
        ))])
    }))
}

/// `min(max(x, lo), hi)`, keeping NaN; a bound of `None` does not clip.
fn clip_vec<T: Elem>(ctx: &mut RunCtx, x: &[T], lo: Option<T>, hi: Option<T>) -> Vec<T> {
    match (lo, hi) {
        (Some(lo), Some(hi)) => map_vec(ctx, x, |v| {
            let v = if v < lo { lo } else { v };
            if v > hi {
                hi
            } else {
                v
            }
        }),
        (Some(lo), None) => map_vec(ctx, x, |v| if v < lo { lo } else { v }),
        (None, Some(hi)) => map_vec(ctx, x, |v| if v > hi { hi } else { v }),
        (None, None) => map_vec(ctx, x, |v| v),
    }
}

/// A Clip bound input: absent, or a one-element tensor of the input's type.
fn clip_bound<T: Elem>(t: Option<&Tensor>, name: &str) -> Result<Option<T>> {
    let Some(t) = t else { return Ok(None) };
    ensure!(
        t.len() == 1,
        "'{name}' must be a scalar, got shape {:?}",
        t.shape()
    );
    Ok(Some(t.typed::<T>()?[0]))
}

fn build_clip(b: &BuildCtx) -> Result<Box<dyn Kernel>> {
    if b.opset < 11 {
        // Bounds are attributes (floats only) before opset 11.
        let lo = b.attr_float("min", f32::MIN)? as f64;
        let hi = b.attr_float("max", f32::MAX)? as f64;
        return Ok(kernel(move |ctx, inputs| {
            let x = input(inputs, 0)?;
            let shape = x.shape().to_vec();
            Ok(vec![match x.data() {
                Data::F32(v) => {
                    Tensor::from_vec(shape, clip_vec(ctx, v, Some(lo as f32), Some(hi as f32)))
                }
                Data::F64(v) => Tensor::from_vec(shape, clip_vec(ctx, v, Some(lo), Some(hi))),
                d => with_num!(d, v => Tensor::from_vec(
                    shape,
                    clip_vec(ctx, v, Some(Elem::from_f64(lo)), Some(Elem::from_f64(hi))),
                )),
            }])
        }));
    }
    Ok(kernel(|ctx, inputs| {
        let x = input(inputs, 0)?;
        let shape = x.shape().to_vec();
        Ok(vec![with_num!(x.data(), v => {
            let lo = clip_bound(opt_input(inputs, 1), "min")?;
            let hi = clip_bound(opt_input(inputs, 2), "max")?;
            Tensor::from_vec(shape, clip_vec(ctx, v, lo, hi))
        })])
    }))
}

/// Which normalisation along the axis.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Norm {
    Softmax,
    LogSoftmax,
    Hardmax,
}

/// Lanes of the row reductions below: independent accumulators let the loops vectorise (a single
/// float accumulator is a serial dependency the compiler may not reorder).
const LANES: usize = 8;

/// The largest element (NaNs are skipped; they reach the output through `x - max`).
fn max_lanes<R: Real>(x: &[R]) -> R {
    let mut acc = [x[0]; LANES];
    let chunks = x.chunks_exact(LANES);
    let rest = chunks.remainder();
    for c in chunks {
        for (a, &v) in acc.iter_mut().zip(c) {
            *a = if v > *a { v } else { *a };
        }
    }
    let mut m = acc[0];
    for &v in acc.iter().chain(rest) {
        m = if v > m { v } else { m };
    }
    m
}

fn sum_lanes<R: Real>(x: &[R]) -> R {
    let mut acc = [R::c(0.0); LANES];
    let chunks = x.chunks_exact(LANES);
    let rest = chunks.remainder();
    for c in chunks {
        for (a, &v) in acc.iter_mut().zip(c) {
            *a = *a + v;
        }
    }
    let mut s = R::c(0.0);
    for &v in acc.iter().chain(rest) {
        s = s + v;
    }
    s
}

/// One `[n, inner]` block of the `[outer, n, inner]` view.
fn normalize_block<R: Real>(x: &[R], out: &mut [R], n: usize, inner: usize, kind: Norm) {
    let zero = R::c(0.0);
    if inner == 1 {
        if kind == Norm::Hardmax {
            let mut arg = 0;
            for (i, &v) in x.iter().enumerate() {
                if v > x[arg] {
                    arg = i;
                }
            }
            out.fill(zero);
            out[arg] = R::c(1.0);
            return;
        }
        let m = max_lanes(x);
        for (o, &v) in out.iter_mut().zip(x) {
            *o = (v - m).exp_();
        }
        let s = sum_lanes(out);
        if kind == Norm::Softmax {
            let inv = R::c(1.0) / s;
            for o in out.iter_mut() {
                *o = *o * inv;
            }
        } else {
            // (x - max) - log(sum): subtracting max first keeps large inputs exact.
            let l = s.ln_();
            for (o, &v) in out.iter_mut().zip(x) {
                *o = (v - m) - l;
            }
        }
        return;
    }
    // Strided: reduce whole rows at a time so every loop is contiguous over `inner`.
    let mut m = x[..inner].to_vec();
    let mut arg = vec![0usize; inner];
    for i in 1..n {
        let row = &x[i * inner..(i + 1) * inner];
        for ((m, a), &v) in m.iter_mut().zip(arg.iter_mut()).zip(row) {
            if v > *m {
                *m = v;
                *a = i;
            }
        }
    }
    if kind == Norm::Hardmax {
        out.fill(zero);
        for (j, &a) in arg.iter().enumerate() {
            out[a * inner + j] = R::c(1.0);
        }
        return;
    }
    let mut s = vec![zero; inner];
    for i in 0..n {
        let (xr, or) = (
            &x[i * inner..(i + 1) * inner],
            &mut out[i * inner..(i + 1) * inner],
        );
        for (((o, s), &v), &m) in or.iter_mut().zip(s.iter_mut()).zip(xr).zip(&m) {
            let e = (v - m).exp_();
            *o = e;
            *s = *s + e;
        }
    }
    if kind == Norm::Softmax {
        for v in s.iter_mut() {
            *v = R::c(1.0) / *v;
        }
        for or in out.chunks_exact_mut(inner) {
            for (o, &inv) in or.iter_mut().zip(&s) {
                *o = *o * inv;
            }
        }
    } else {
        // (x - max) - log(sum): subtracting max first keeps large inputs exact.
        for v in s.iter_mut() {
            *v = v.ln_();
        }
        for (or, xr) in out.chunks_exact_mut(inner).zip(x.chunks_exact(inner)) {
            for (((o, &l), &v), &m) in or.iter_mut().zip(&s).zip(xr).zip(&m) {
                *o = (v - m) - l;
            }
        }
    }
}

/// Normalises `x` viewed as `[outer, n, inner]` over `n`, blocks split across the pool.
fn normalize<R: Real>(x: &[R], out: &mut [R], n: usize, inner: usize, kind: Norm) {
    let block = n * inner;
    if block == 0 {
        return;
    }
    match par_chunk_len(x.len()) {
        None => {
            for (xb, ob) in x.chunks_exact(block).zip(out.chunks_exact_mut(block)) {
                normalize_block(xb, ob, n, inner, kind);
            }
        }
        Some(c) => {
            let chunk = (c / block).max(1) * block;
            out.par_chunks_mut(chunk)
                .zip(x.par_chunks(chunk))
                .for_each(|(oc, xc)| {
                    for (xb, ob) in xc.chunks_exact(block).zip(oc.chunks_exact_mut(block)) {
                        normalize_block(xb, ob, n, inner, kind);
                    }
                });
        }
    }
}

/// The reference: every output computed on its own in f64 with strided indexing.
#[cfg_attr(not(test), allow(dead_code))]
fn normalize_reference(x: &[f64], n: usize, inner: usize, kind: Norm) -> Vec<f64> {
    let mut out = vec![0.0; x.len()];
    let outer = x.len().checked_div(n * inner).unwrap_or(0);
    for o in 0..outer {
        for j in 0..inner {
            let at = |i: usize| o * n * inner + i * inner + j;
            let mut m = f64::NEG_INFINITY;
            let mut arg = 0;
            for i in 0..n {
                if x[at(i)] > m {
                    m = x[at(i)];
                    arg = i;
                }
            }
            let s: f64 = (0..n).map(|i| (x[at(i)] - m).exp()).sum();
            for i in 0..n {
                out[at(i)] = match kind {
                    Norm::Softmax => (x[at(i)] - m).exp() / s,
                    Norm::LogSoftmax => x[at(i)] - m - s.ln(),
                    Norm::Hardmax => (i == arg) as u8 as f64,
                };
            }
        }
    }
    out
}

/// `(n, inner)` of the `[outer, n, inner]` view for `shape`, with the opset's axis semantics.
fn norm_dims(shape: &[usize], axis: i64, coerce_2d: bool) -> Result<(usize, usize)> {
    let a = norm_axis(axis, shape.len())?;
    Ok(if coerce_2d {
        (shape[a..].iter().product(), 1)
    } else {
        (shape[a], shape[a + 1..].iter().product())
    })
}

fn normalize_tensor(
    ctx: &mut RunCtx,
    x: &Tensor,
    axis: i64,
    coerce_2d: bool,
    kind: Norm,
) -> Result<Tensor> {
    let (n, inner) = norm_dims(x.shape(), axis, coerce_2d)?;
    let shape = x.shape().to_vec();
    Ok(match x.data() {
        Data::F32(v) => {
            let mut out = ctx.alloc_f32(v.len());
            normalize(v, &mut out, n, inner, kind);
            Tensor::from_vec(shape, out)
        }
        Data::F64(v) => {
            let mut out = vec![0.0; v.len()];
            normalize(v, &mut out, n, inner, kind);
            Tensor::from_vec(shape, out)
        }
        Data::F16(_) | Data::BF16(_) => {
            let dtype = x.dtype();
            let v = x.to_f32_vec();
            let mut out = vec![0.0; v.len()];
            normalize(&v, &mut out, n, inner, kind);
            Tensor::from_vec(shape, out).cast(dtype)
        }
        d => bail!("expected a float tensor, got {}", d.dtype()),
    })
}

fn build_norm(b: &BuildCtx, kind: Norm) -> Result<Box<dyn Kernel>> {
    let coerce_2d = b.opset < 13;
    let axis = b.attr_int("axis", if coerce_2d { 1 } else { -1 })?;
    Ok(kernel(move |ctx, inputs| {
        Ok(vec![normalize_tensor(
            ctx,
            input(inputs, 0)?,
            axis,
            coerce_2d,
            kind,
        )?])
    }))
}

pub fn register(r: &mut Registry) {
    super::elementwise::num_op!(r, "onnx.Relu", |x| if x < T::ZERO { T::ZERO } else { x });
    r.add("onnx.PRelu", |_| {
        Ok(kernel(|ctx, inputs| {
            Ok(vec![prelu(ctx, input(inputs, 0)?, input(inputs, 1)?)?])
        }))
    });
    real_op!(r, "onnx.LeakyRelu", [alpha = 0.01], |x| if x < R::c(0.0) {
        alpha * x
    } else {
        x
    });
    real_op!(r, "onnx.Elu", [alpha = 1.0], |x| if x < R::c(0.0) {
        alpha * x.exp_m1_()
    } else {
        x
    });
    real_op!(
        r,
        "onnx.Selu",
        [alpha = 1.673_263_2, gamma = 1.050_701],
        |x| if x > R::c(0.0) {
            gamma * x
        } else {
            gamma * (alpha * x.exp_() - alpha)
        }
    );
    real_op!(r, "onnx.Celu", [alpha = 1.0], |x| if x > R::c(0.0) {
        x
    } else {
        alpha * (x / alpha).exp_m1_()
    });
    real_op!(r, "onnx.Sigmoid", |x| R::c(1.0) / (R::c(1.0) + (-x).exp_()));
    real_op!(r, "onnx.HardSigmoid", [alpha = 0.2, beta = 0.5], |x| {
        clamp01(alpha * x + beta)
    });
    real_op!(r, "onnx.HardSwish", |x| x * clamp01(
        x * R::c(1.0 / 6.0) + R::c(0.5)
    ));
    real_op!(r, "onnx.Tanh", |x| x.tanh_());
    real_op!(r, "onnx.Softplus", |x| softplus(x));
    real_op!(r, "onnx.Softsign", |x| x / (R::c(1.0) + x.abs_()));
    real_op!(r, "onnx.Mish", |x| x * softplus(x).tanh_());
    real_op!(r, "onnx.ThresholdedRelu", [alpha = 1.0], |x| if x > alpha {
        x
    } else {
        R::c(0.0)
    });
    real_op!(r, "onnx.Swish", [alpha = 1.0], |x| swish(x, alpha));
    r.add("onnx.SwiGLU", |b| {
        let alpha = b.attr_float("alpha", 1.0)? as f64;
        Ok(kernel(move |ctx, inputs| {
            Ok(vec![swiglu(
                ctx,
                input(inputs, 0)?,
                input(inputs, 1)?,
                alpha,
            )?])
        }))
    });
    r.add("onnx.Gelu", build_gelu);
    // ONNX Runtime's contrib forms, which the `fuse` pass emits below the opsets that define Gelu (20).
    r.add("com.microsoft.Gelu", |_| {
        Ok(super::elementwise::real_kernel(GeluErf))
    });
    r.add("com.microsoft.FastGelu", |b| {
        ensure!(
            b.num_inputs() == 1,
            "FastGelu with a bias input is not supported"
        );
        Ok(super::elementwise::real_kernel(GeluTanh))
    });
    real_op!(r, "com.microsoft.QuickGelu", [alpha = 1.702], |x| swish(
        x, alpha
    ));
    r.add("onnx.Shrink", build_shrink);
    r.add("onnx.Clip", build_clip);
    r.add("onnx.Softmax", |b| build_norm(b, Norm::Softmax));
    r.add("onnx.LogSoftmax", |b| build_norm(b, Norm::LogSoftmax));
    r.add("onnx.Hardmax", |b| build_norm(b, Norm::Hardmax));
}

#[cfg(test)]
mod tests {
    use super::super::elementwise::tests::Lcg;
    use super::*;

    #[test]
    fn normalize_matches_reference() {
        let mut rng = Lcg(5);
        let shapes: &[&[usize]] = &[
            &[1],
            &[7],
            &[3, 4, 5],
            &[2, 1, 3],
            &[4, 0, 2],
            &[2, 3, 2, 5],
            &[300, 257],
            &[17, 64, 70],
        ];
        for &shape in shapes {
            let x: Vec<f32> = (0..shape.iter().product::<usize>())
                .map(|_| rng.f32() * 20.0)
                .collect();
            let x64: Vec<f64> = x.iter().map(|&v| v as f64).collect();
            for axis in -(shape.len() as i64)..shape.len() as i64 {
                for coerce in [false, true] {
                    let (n, inner) = norm_dims(shape, axis, coerce).unwrap();
                    for kind in [Norm::Softmax, Norm::LogSoftmax, Norm::Hardmax] {
                        let want = normalize_reference(&x64, n, inner, kind);
                        for threads in [1, 2] {
                            let mut got = vec![0f32; x.len()];
                            rayon::ThreadPoolBuilder::new()
                                .num_threads(threads)
                                .build()
                                .unwrap()
                                .install(|| normalize(&x, &mut got, n, inner, kind));
                            for (i, (&g, &w)) in got.iter().zip(&want).enumerate() {
                                assert!(
                                    (g as f64 - w).abs() <= 1e-5 * (1.0 + w.abs()),
                                    "{shape:?} axis {axis} coerce {coerce} {kind:?}: [{i}] {g} vs {w}"
                                );
                            }
                        }
                    }
                }
            }
        }
    }

    #[test]
    #[ignore = "timing: cargo test --release -p onnxqc-runtime speed -- --ignored --nocapture"]
    fn softmax_speed() {
        let n = 8 * 64 * 56 * 56;
        let mut rng = Lcg(2);
        let x: Vec<f32> = (0..n).map(|_| rng.f32() * 10.0).collect();
        let mut out = vec![0f32; n];
        for (what, len, inner) in [
            ("Softmax rows of 128", 128, 1),
            ("Softmax rows of 3136", 3136, 1),
            ("Softmax over axis 1 of [8,64,3136]", 64, 3136),
        ] {
            let ms = super::super::elementwise::tests::best_ms(5, || {
                normalize(&x, &mut out, len, inner, Norm::Softmax)
            });
            println!(
                "{what:<44} {ms:8.3} ms  {:6.2} ns/elem",
                ms * 1e6 / n as f64
            );
        }
    }

    #[test]
    fn softmax_handles_large_and_infinite_inputs() {
        let x = [1000.0f32, 1000.0, -f32::INFINITY, 0.0];
        let mut out = [0f32; 4];
        normalize(&x, &mut out, 4, 1, Norm::Softmax);
        assert_eq!(out, [0.5, 0.5, 0.0, 0.0]);
        normalize(&x, &mut out, 4, 1, Norm::LogSoftmax);
        assert!((out[0] + std::f32::consts::LN_2).abs() < 1e-6);
        assert_eq!(out[2], f32::NEG_INFINITY);
        // The same along a strided axis: [4, 2] over axis 0.
        let xt = [
            1000.0f32,
            1000.0,
            1000.0,
            1000.0,
            -f32::INFINITY,
            0.0,
            0.0,
            0.0,
        ];
        let mut out = [0f32; 8];
        normalize(&xt, &mut out, 4, 2, Norm::LogSoftmax);
        assert!((out[0] + std::f32::consts::LN_2).abs() < 1e-6);
        assert_eq!(out[4], f32::NEG_INFINITY);
    }

    #[test]
    fn clip_keeps_nan_and_applies_min_before_max() {
        let mut ctx = RunCtx::new(None);
        let x = [f32::NAN, -3.0, 0.5, 9.0];
        let got = clip_vec(&mut ctx, &x, Some(0.0), Some(1.0));
        assert!(got[0].is_nan());
        assert_eq!(&got[1..], &[0.0, 0.5, 1.0]);
        // min > max: everything becomes max.
        assert_eq!(
            clip_vec(&mut ctx, &[-2i8, 0, 6], Some(2), Some(1)),
            vec![1, 1, 1]
        );
    }

    #[test]
    fn activations_match_formulas() {
        let xs = [-30.0f64, -2.5, -0.1, 0.0, 0.3, 4.0, 50.0];
        for &x in &xs {
            let sp = softplus(x);
            assert!((sp - (1.0 + x.exp()).ln()).abs() < 1e-12, "softplus({x})");
            let g = GeluErf.call(x);
            let want = 0.5 * x * (1.0 + super::super::elementwise::erf_f64(x / 2f64.sqrt()));
            assert!((g - want).abs() < 1e-12);
            let g32 = GeluErf.call(x as f32) as f64;
            assert!((g32 - want).abs() < 1e-5 * (1.0 + want.abs()), "gelu({x})");
        }
        assert!(softplus(f32::NAN).is_nan());
        assert_eq!(softplus(100.0f32), 100.0);
    }
}
