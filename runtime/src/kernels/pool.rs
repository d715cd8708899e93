//! Pooling: MaxPool (with its optional Indices output), AveragePool and LpPool over 1 to 3 spatial
//! axes, MaxUnpool, and the global pools (GlobalAveragePool, GlobalMaxPool, GlobalLpPool) over any
//! number.
//!
//! The window geometry (auto_pad, pads, strides, dilations, ceil_mode) is the convolutions'
//! ([`super::conv::forward_axes`]). For every axis and output position the valid taps are worked out
//! once per run, so the inner loops never test for padding; planes (image × channel) run in parallel
//! when there is enough work. Sums accumulate in f64, so every float type shares one generic loop.

use std::ops::Range;

use rayon::prelude::*;

use super::conv::{forward_axes, pad3, Axis, Window};
use super::{input, kernel, opt_input, BuildCtx, Kernel, Registry};
use crate::error::Result;
use crate::plan::RunCtx;
use crate::tensor::{numel, DType, Elem, Tensor};
use crate::{bail, ensure, with_data};

pub fn register(r: &mut Registry) {
    r.add("onnx.MaxPool", |ctx| build_pool(ctx, Kind::Max));
    r.add("onnx.AveragePool", |ctx| {
        let include = ctx.attr_int("count_include_pad", 0)? != 0;
        build_pool(
            ctx,
            Kind::Avg {
                include_pad: include,
            },
        )
    });
    r.add("onnx.LpPool", |ctx| {
        build_pool(ctx, Kind::Lp { p: lp_norm(ctx)? })
    });
    r.add("onnx.MaxUnpool", build_max_unpool);
    r.add("onnx.GlobalAveragePool", |_| {
        Ok(global(Kind::Avg { include_pad: false }))
    });
    r.add("onnx.GlobalMaxPool", |_| Ok(global(Kind::Max)));
    r.add("onnx.GlobalLpPool", |ctx| {
        Ok(global(Kind::Lp { p: lp_norm(ctx)? }))
    });
}

/// Elements of work below which pooling stays on the calling thread.
const PARALLEL_MIN: usize = 1 << 15;

#[derive(Clone, Copy, Debug, PartialEq)]
enum Kind {
    Max,
    Avg { include_pad: bool },
    Lp { p: f64 },
}

impl Kind {
    fn accepts(self, t: DType) -> bool {
        match self {
            // MaxPool takes 8-bit integers too (opset 12).
            Kind::Max => t != DType::Bool,
            _ => t.is_float(),
        }
    }
}

/// LpPool's `p`: an int since opset 2, a float before.
fn lp_norm(ctx: &BuildCtx) -> Result<f64> {
    let p = match ctx.attr("p") {
        Some(onnxqc_ir::Attribute::Float(v)) => *v as f64,
        _ => ctx.attr_int("p", 2)? as f64,
    };
    if p.is_nan() || p <= 0.0 {
        bail!("attribute 'p' must be positive, got {p}");
    }
    Ok(p)
}

#[inline]
fn lp_term(v: f64, p: f64) -> f64 {
    if p == 2.0 {
        v * v
    } else if p == 1.0 {
        v.abs()
    } else {
        v.abs().powf(p)
    }
}

#[inline]
fn lp_root(s: f64, p: f64) -> f64 {
    if p == 2.0 {
        s.sqrt()
    } else if p == 1.0 {
        s
    } else {
        s.powf(1.0 / p)
    }
}

struct Pool {
    kind: Kind,
    win: Window,
    ceil_mode: bool,
    /// MaxPool's Indices output: 0 row-major, 1 column-major over the spatial dims.
    storage_order: i64,
    indices: bool,
}

fn build_pool(ctx: &BuildCtx, kind: Kind) -> Result<Box<dyn Kernel>> {
    let win = Window::from_ctx(ctx)?;
    ensure!(
        win.kernel_shape.is_some(),
        "missing attribute 'kernel_shape'"
    );
    let storage_order = ctx.attr_int("storage_order", 0)?;
    ensure!(
        matches!(storage_order, 0 | 1),
        "storage_order must be 0 or 1, got {storage_order}"
    );
    Ok(Box::new(Pool {
        kind,
        win,
        ceil_mode: ctx.attr_int("ceil_mode", 0)? != 0,
        storage_order,
        indices: kind == Kind::Max && ctx.num_outputs() > 1,
    }))
}

/// The taps of one axis: for every output position, the kernel taps that land inside the input, and
/// how many land inside input + padding (AveragePool's divisor with count_include_pad).
struct Taps {
    valid: Vec<Range<usize>>,
    padded: Vec<usize>,
}

impl Taps {
    fn new(a: &Axis) -> Taps {
        let tap_range = |o: usize, pad: usize, limit: usize| {
            // Taps j with o·s + j·d − pad in 0..limit.
            let off = o * a.stride;
            let lo = if pad > off {
                (pad - off).div_ceil(a.dilation)
            } else {
                0
            };
            let hi = if limit + pad > off {
                (limit + pad - off).div_ceil(a.dilation).min(a.kernel)
            } else {
                0
            };
            lo.min(hi)..hi
        };
        let padded_limit = a.input + a.pad_begin + a.pad_end;
        Taps {
            valid: (0..a.output)
                .map(|o| tap_range(o, a.pad_begin, a.input))
                .collect(),
            padded: (0..a.output)
                .map(|o| tap_range(o, 0, padded_limit).len())
                .collect(),
        }
    }
}

/// Pools every plane of `x` (`planes` of them). Returns the output and, when asked, MaxPool's indices
/// (flat into the whole input tensor, as ONNX defines them).
fn pool_planes<T: Elem>(
    x: &[T],
    planes: usize,
    ax: &[Axis; 3],
    kind: Kind,
    storage_order: i64,
    want_indices: bool,
) -> (Vec<T>, Option<Vec<i64>>) {
    let [a0, a1, a2] = ax;
    let in_plane = a0.input * a1.input * a2.input;
    let out_plane = a0.output * a1.output * a2.output;
    let taps = [Taps::new(a0), Taps::new(a1), Taps::new(a2)];
    let mut y = vec![T::default(); planes * out_plane];
    let mut idx = vec![0i64; if want_indices { y.len() } else { 0 }];
    if out_plane == 0 {
        return (y, want_indices.then_some(idx));
    }
    let index_of = |p: usize, i0: usize, i1: usize, i2: usize| -> i64 {
        let within = if storage_order == 0 {
            (i0 * a1.input + i1) * a2.input + i2
        } else {
            i0 + i1 * a0.input + i2 * a0.input * a1.input
        };
        (p * in_plane + within) as i64
    };
    let run = |p: usize, yp: &mut [T], mut ip: Option<&mut [i64]>| {
        let xp = &x[p * in_plane..][..in_plane];
        let mut out = 0;
        for o0 in 0..a0.output {
            let r0 = taps[0].valid[o0].clone();
            for o1 in 0..a1.output {
                let r1 = taps[1].valid[o1].clone();
                for o2 in 0..a2.output {
                    let r2 = taps[2].valid[o2].clone();
                    let src = |j0: usize, j1: usize| {
                        let (i0, i1) = (a0.src(o0, j0), a1.src(o1, j1));
                        (i0, i1, &xp[(i0 * a1.input + i1) * a2.input..][..a2.input])
                    };
                    match kind {
                        Kind::Max => {
                            let mut best: Option<(T, i64)> = None;
                            for j0 in r0.clone() {
                                for j1 in r1.clone() {
                                    let (i0, i1, row) = src(j0, j1);
                                    for j2 in r2.clone() {
                                        let i2 = a2.src(o2, j2);
                                        let v = row[i2];
                                        if best.is_none_or(|(b, _)| v > b) {
                                            best = Some((v, index_of(p, i0, i1, i2)));
                                        }
                                    }
                                }
                            }
                            let (v, i) = best.unwrap_or((T::default(), -1));
                            yp[out] = v;
                            if let Some(ip) = ip.as_deref_mut() {
                                ip[out] = i;
                            }
                        }
                        Kind::Avg { include_pad } => {
                            let mut s = 0f64;
                            for j0 in r0.clone() {
                                for j1 in r1.clone() {
                                    let (_, _, row) = src(j0, j1);
                                    for j2 in r2.clone() {
                                        s += row[a2.src(o2, j2)].to_f64();
                                    }
                                }
                            }
                            let count = if include_pad {
                                taps[0].padded[o0] * taps[1].padded[o1] * taps[2].padded[o2]
                            } else {
                                r0.len() * r1.len() * r2.len()
                            };
                            // No tap inside: 0/0, as the ONNX reference gives.
                            yp[out] = T::from_f64(if count == 0 {
                                f64::NAN
                            } else {
                                s / count as f64
                            });
                        }
                        Kind::Lp { p: pw } => {
                            let mut s = 0f64;
                            for j0 in r0.clone() {
                                for j1 in r1.clone() {
                                    let (_, _, row) = src(j0, j1);
                                    for j2 in r2.clone() {
                                        s += lp_term(row[a2.src(o2, j2)].to_f64(), pw);
                                    }
                                }
                            }
                            yp[out] = T::from_f64(lp_root(s, pw));
                        }
                    }
                    out += 1;
                }
            }
        }
    };
    let ksz = a0.kernel * a1.kernel * a2.kernel;
    let parallel = y.len() * ksz >= PARALLEL_MIN && rayon::current_num_threads() > 1;
    match (want_indices, parallel) {
        (true, true) => y
            .par_chunks_mut(out_plane)
            .zip(idx.par_chunks_mut(out_plane))
            .enumerate()
            .for_each(|(p, (yp, ip))| run(p, yp, Some(ip))),
        (true, false) => y
            .chunks_mut(out_plane)
            .zip(idx.chunks_mut(out_plane))
            .enumerate()
            .for_each(|(p, (yp, ip))| run(p, yp, Some(ip))),
        (false, true) => y
            .par_chunks_mut(out_plane)
            .enumerate()
            .for_each(|(p, yp)| run(p, yp, None)),
        (false, false) => y
            .chunks_mut(out_plane)
            .enumerate()
            .for_each(|(p, yp)| run(p, yp, None)),
    }
    (y, want_indices.then_some(idx))
}

/// The f32 fast path of MaxPool (without indices) and AveragePool, separable: for each output row,
/// the window's input rows are first combined element-wise over the whole row (contiguous, so it
/// vectorises), then each output takes its taps along the last axis from that combined row.
fn pool_planes_f32(x: &[f32], planes: usize, ax: &[Axis; 3], kind: Kind) -> Vec<f32> {
    let [a0, a1, a2] = ax;
    let in_plane = a0.input * a1.input * a2.input;
    let out_plane = a0.output * a1.output * a2.output;
    let taps = [Taps::new(a0), Taps::new(a1), Taps::new(a2)];
    let max = kind == Kind::Max;
    // Per tap along the last axis: the outputs it reaches and where its first one reads.
    let lanes: Vec<(Range<usize>, usize)> = (0..a2.kernel)
        .map(|j| {
            let r = a2.out_range(j);
            let base = if r.is_empty() { 0 } else { a2.src(r.start, j) };
            (r, base)
        })
        .collect();
    // Divisors along the last axis, and whether some output there has no tap inside at all.
    let recip2: Vec<f32> = (0..a2.output)
        .map(|o| {
            let n = match kind {
                Kind::Avg { include_pad: true } => taps[2].padded[o],
                _ => taps[2].valid[o].len(),
            };
            1.0 / n as f32
        })
        .collect();
    let hole2 = taps[2].valid.iter().any(|r| r.is_empty());
    let mut y = vec![0f32; planes * out_plane];
    if out_plane == 0 {
        return y;
    }
    let run = |p: usize, yp: &mut [f32]| {
        let xp = &x[p * in_plane..][..in_plane];
        let mut acc = vec![0f32; a2.input];
        for (row, yrow) in yp.chunks_mut(a2.output).enumerate() {
            let (o0, o1) = (row / a1.output, row % a1.output);
            let (r0, r1) = (taps[0].valid[o0].clone(), taps[1].valid[o1].clone());
            let mut first = true;
            for j0 in r0.clone() {
                for j1 in r1.clone() {
                    let (i0, i1) = (a0.src(o0, j0), a1.src(o1, j1));
                    let xr = &xp[(i0 * a1.input + i1) * a2.input..][..a2.input];
                    if first {
                        acc.copy_from_slice(xr);
                        first = false;
                    } else if max {
                        acc.iter_mut().zip(xr).for_each(|(a, &v)| *a = a.max(v));
                    } else {
                        acc.iter_mut().zip(xr).for_each(|(a, &v)| *a += v);
                    }
                }
            }
            // No tap inside on the leading axes: the divisions below give 0/n (or 0/0).
            let empty = first;
            yrow.fill(if max && !empty {
                f32::NEG_INFINITY
            } else {
                0.0
            });
            for (r, base) in lanes.iter().filter(|_| !empty) {
                let out = &mut yrow[r.clone()];
                if a2.stride == 1 {
                    let src = &acc[*base..*base + out.len()];
                    if max {
                        out.iter_mut().zip(src).for_each(|(o, &v)| *o = o.max(v));
                    } else {
                        out.iter_mut().zip(src).for_each(|(o, &v)| *o += v);
                    }
                } else {
                    for (k, o) in out.iter_mut().enumerate() {
                        let v = acc[base + k * a2.stride];
                        *o = if max { o.max(v) } else { *o + v };
                    }
                }
            }
            match kind {
                Kind::Max if empty => yrow.fill(0.0),
                Kind::Max if hole2 => {
                    for (o2, o) in yrow.iter_mut().enumerate() {
                        if taps[2].valid[o2].is_empty() {
                            *o = 0.0;
                        }
                    }
                }
                Kind::Max => {}
                _ => {
                    let rows = match kind {
                        Kind::Avg { include_pad: true } => taps[0].padded[o0] * taps[1].padded[o1],
                        _ => r0.len() * r1.len(),
                    };
                    let inv = 1.0 / rows as f32;
                    for (o, &r) in yrow.iter_mut().zip(&recip2) {
                        *o = *o * r * inv;
                    }
                }
            }
        }
    };
    let ksz = a0.kernel * a1.kernel * a2.kernel;
    if y.len() * ksz >= PARALLEL_MIN && rayon::current_num_threads() > 1 {
        y.par_chunks_mut(out_plane)
            .enumerate()
            .for_each(|(p, yp)| run(p, yp));
    } else {
        y.chunks_mut(out_plane)
            .enumerate()
            .for_each(|(p, yp)| run(p, yp));
    }
    y
}

impl Kernel for Pool {
    fn run(&self, _ctx: &mut RunCtx, inputs: &[Option<&Tensor>]) -> Result<Vec<Tensor>> {
        let x = input(inputs, 0)?;
        let xs = x.shape();
        ensure!(
            (3..=5).contains(&xs.len()),
            "input has shape {xs:?}, expected [N, C, spatial...] with 1 to 3 spatial dims"
        );
        ensure!(
            self.kind.accepts(x.dtype()),
            "{} inputs are not supported",
            x.dtype()
        );
        let nd = xs.len() - 2;
        let kernel = self.win.kernel(nd, None)?;
        let axes = forward_axes(&self.win, &xs[2..], &kernel, self.ceil_mode)?;
        let ax = pad3(&axes).expect("1 to 3 spatial axes");
        let mut out_shape = vec![xs[0], xs[1]];
        out_shape.extend(axes.iter().map(|a| a.output));
        super::conv::checked_numel(&out_shape)?;
        let want_indices = self.indices;
        if let (Some(v), false, Kind::Max | Kind::Avg { .. }) =
            (x.as_slice::<f32>(), want_indices, self.kind)
        {
            let y = pool_planes_f32(v, xs[0] * xs[1], &ax, self.kind);
            return Ok(vec![Tensor::from_vec(out_shape, y)]);
        }
        let (y, idx) = with_data!(x.data(), v => {
            let (y, idx) = pool_planes(v, xs[0] * xs[1], &ax, self.kind, self.storage_order, want_indices);
            (Tensor::from_vec(out_shape.clone(), y), idx)
        });
        let mut outs = vec![y];
        if let Some(idx) = idx {
            outs.push(Tensor::from_vec(out_shape, idx));
        }
        Ok(outs)
    }
}

/// MaxUnpool: scatters the pooled values back to where MaxPool's indices say they came from, in a
/// tensor of the pool's natural input shape; an explicit larger `output_shape` gets that tensor in
/// its leading corner (as the ONNX reference and test data do).
fn build_max_unpool(ctx: &BuildCtx) -> Result<Box<dyn Kernel>> {
    let win = Window::from_ctx(ctx)?;
    Ok(kernel(move |_ctx, inputs| {
        let x = input(inputs, 0)?;
        let idx = input(inputs, 1)?;
        let xs = x.shape();
        ensure!(
            xs.len() >= 3,
            "input has shape {xs:?}, expected [N, C, spatial...]"
        );
        ensure!(
            idx.shape() == xs,
            "indices have shape {:?}, the input {xs:?}",
            idx.shape()
        );
        let nd = xs.len() - 2;
        let kernel = win.kernel(nd, None)?;
        let (strides, pads) = (win.strides(nd)?, win.pads(nd)?);
        let mut natural = xs[..2].to_vec();
        for d in 0..nd {
            let full = (xs[d + 2].max(1) - 1) * strides[d] + kernel[d];
            ensure!(
                full >= pads[d] + pads[nd + d],
                "spatial dim {d}: pads {} and {} exceed the unpooled size {full}",
                pads[d],
                pads[nd + d]
            );
            natural.push(full - pads[d] - pads[nd + d]);
        }
        super::conv::checked_numel(&natural)?;
        let out_shape = match opt_input(inputs, 2) {
            Some(t) => {
                let v = t.to_i64_vec();
                ensure!(
                    v.len() == xs.len() && v.iter().zip(&natural).all(|(&o, &n)| o >= n as i64),
                    "output_shape {v:?} must have rank {} and hold the natural shape {natural:?}",
                    xs.len()
                );
                v.iter().map(|&d| d as usize).collect()
            }
            None => natural.clone(),
        };
        super::conv::checked_numel(&out_shape)?;
        let positions = idx.to_i64_vec();
        let len = numel(&natural);
        if let Some(&bad) = positions.iter().find(|&&i| i < 0 || i as usize >= len) {
            bail!("index {bad} is outside the unpooled tensor of {len} elements");
        }
        Ok(vec![with_data!(x.data(), v => {
            let mut y = vec![Default::default(); len];
            for (&i, &val) in positions.iter().zip(v.iter()) {
                y[i as usize] = val;
            }
            Tensor::from_vec(out_shape.clone(), embed(&y, &natural, &out_shape))
        })])
    }))
}

/// `v` (shape `from`) placed in the leading corner of a zero tensor of shape `to`.
fn embed<T: Elem>(v: &[T], from: &[usize], to: &[usize]) -> Vec<T> {
    if from == to {
        return v.to_vec();
    }
    let mut out = vec![T::default(); numel(to)];
    let last = from[from.len() - 1];
    if last == 0 {
        return out;
    }
    let to_strides = crate::tensor::strides(to);
    for (r, row) in v.chunks(last).enumerate() {
        // The row's coordinates in `from` (all dims but the last), mapped into `to`.
        let mut rem = r;
        let mut off = 0;
        for d in (0..from.len() - 1).rev() {
            off += (rem % from[d]) * to_strides[d];
            rem /= from[d];
        }
        out[off..off + last].copy_from_slice(row);
    }
    out
}

/// Global pools: one value per (image, channel) over all spatial dims.
fn global(kind: Kind) -> Box<dyn Kernel> {
    kernel(move |_ctx, inputs| {
        let x = input(inputs, 0)?;
        let xs = x.shape();
        ensure!(
            xs.len() >= 2,
            "input has shape {xs:?}, expected [N, C, spatial...]"
        );
        ensure!(
            kind.accepts(x.dtype()),
            "{} inputs are not supported",
            x.dtype()
        );
        let planes = xs[0] * xs[1];
        let plane = numel(&xs[2..]);
        let mut out_shape = vec![xs[0], xs[1]];
        out_shape.extend(std::iter::repeat_n(1, xs.len() - 2));
        Ok(vec![with_data!(x.data(), v => {
            Tensor::from_vec(out_shape, global_planes(v, planes, plane, kind))
        })])
    })
}

fn global_planes<T: Elem>(x: &[T], planes: usize, plane: usize, kind: Kind) -> Vec<T> {
    let reduce = |p: usize| -> T {
        let xp = &x[p * plane..][..plane];
        match kind {
            Kind::Max => xp
                .iter()
                .copied()
                .fold(None, |b: Option<T>, v| match b {
                    Some(b) if v > b => Some(v),
                    Some(b) => Some(b),
                    None => Some(v),
                })
                .unwrap_or_default(),
            Kind::Avg { .. } => {
                T::from_f64(xp.iter().map(|v| v.to_f64()).sum::<f64>() / plane as f64)
            }
            Kind::Lp { p } => T::from_f64(lp_root(
                xp.iter().map(|v| lp_term(v.to_f64(), p)).sum::<f64>(),
                p,
            )),
        }
    };
    if planes * plane >= PARALLEL_MIN && rayon::current_num_threads() > 1 {
        (0..planes).into_par_iter().map(reduce).collect()
    } else {
        (0..planes).map(reduce).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernels::conv::AutoPad;

    /// A pool written from the definition: every output position, every tap, explicit bounds tests.
    fn pool_reference(x: &[f32], planes: usize, axes: &[Axis], kind: Kind) -> (Vec<f32>, Vec<i64>) {
        let in_sp: usize = axes.iter().map(|a| a.input).product();
        let out_dims: Vec<usize> = axes.iter().map(|a| a.output).collect();
        let k_dims: Vec<usize> = axes.iter().map(|a| a.kernel).collect();
        let mut y = vec![];
        let mut idx = vec![];
        for p in 0..planes {
            for o in multi(&out_dims) {
                let (mut best, mut best_i) = (f32::NEG_INFINITY, -1i64);
                let (mut s, mut n, mut n_pad) = (0f64, 0usize, 0usize);
                for k in multi(&k_dims) {
                    let mut flat = 0usize;
                    let (mut inside, mut in_pad) = (true, true);
                    for (d, a) in axes.iter().enumerate() {
                        let i = (o[d] * a.stride + k[d] * a.dilation) as i64 - a.pad_begin as i64;
                        inside &= i >= 0 && i < a.input as i64;
                        in_pad &= i < (a.input + a.pad_end) as i64;
                        flat = flat * a.input + i.max(0) as usize;
                    }
                    if in_pad {
                        n_pad += 1;
                    }
                    if inside {
                        let v = x[p * in_sp + flat];
                        if v > best || best_i < 0 {
                            best = v;
                            best_i = (p * in_sp + flat) as i64;
                        }
                        s += match kind {
                            Kind::Lp { p } => (v as f64).abs().powf(p),
                            _ => v as f64,
                        };
                        n += 1;
                    }
                }
                y.push(match kind {
                    Kind::Max if best_i < 0 => 0.0,
                    Kind::Max => best,
                    Kind::Avg { include_pad } => {
                        (s / if include_pad { n_pad } else { n } as f64) as f32
                    }
                    Kind::Lp { p } => s.powf(1.0 / p) as f32,
                });
                idx.push(best_i);
            }
        }
        (y, idx)
    }

    fn multi(dims: &[usize]) -> Vec<Vec<usize>> {
        let mut out = vec![vec![]];
        for &d in dims {
            out = out
                .into_iter()
                .flat_map(|p| {
                    (0..d).map(move |i| {
                        let mut q = p.clone();
                        q.push(i);
                        q
                    })
                })
                .collect();
        }
        out
    }

    fn lcg(seed: &mut u64) -> f32 {
        *seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((*seed >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
    }

    fn window(auto_pad: AutoPad, s: Vec<usize>, d: Vec<usize>, pads: Vec<usize>) -> Window {
        Window::for_test(auto_pad, None, Some(s), Some(d), Some(pads))
    }

    #[test]
    fn pools_match_reference_on_random_configs() {
        let mut seed = 7u64;
        let mut pick = |n: usize| ((lcg(&mut seed) + 1.0) * 0.5 * n as f32) as usize % n;
        let kinds = [
            Kind::Max,
            Kind::Avg { include_pad: false },
            Kind::Avg { include_pad: true },
            Kind::Lp { p: 2.0 },
            Kind::Lp { p: 3.0 },
        ];
        let mut data_seed = 99u64;
        for case in 0..300 {
            let nd = 1 + case % 3;
            let kind = kinds[case % kinds.len()];
            let dims: Vec<usize> = (0..nd).map(|_| 1 + pick(9)).collect();
            let kernel: Vec<usize> = (0..nd).map(|_| 1 + pick(3)).collect();
            let strides: Vec<usize> = (0..nd).map(|_| 1 + pick(3)).collect();
            let dil: Vec<usize> = (0..nd).map(|_| 1 + pick(2)).collect();
            let pads: Vec<usize> = (0..2 * nd).map(|i| pick(kernel[i % nd])).collect();
            let auto_pad = [
                AutoPad::NotSet,
                AutoPad::NotSet,
                AutoPad::SameUpper,
                AutoPad::SameLower,
                AutoPad::Valid,
            ][pick(5)];
            let ceil = pick(2) == 1;
            let win = window(auto_pad, strides, dil, pads);
            let Ok(axes) = forward_axes(&win, &dims, &kernel, ceil) else {
                continue;
            };
            let planes = 1 + pick(3);
            let x: Vec<f32> = (0..planes * numel(&dims))
                .map(|_| lcg(&mut data_seed))
                .collect();
            let ax = pad3(&axes).unwrap();
            let (got, got_idx) = pool_planes(&x, planes, &ax, kind, 0, true);
            let (want, want_idx) = pool_reference(&x, planes, &axes, kind);
            if !matches!(kind, Kind::Lp { .. }) {
                let fast = pool_planes_f32(&x, planes, &ax, kind);
                for (i, (g, w)) in fast.iter().zip(&want).enumerate() {
                    assert!(
                        (g - w).abs() <= 1e-5 * (1.0 + w.abs()) || g.is_nan() && w.is_nan(),
                        "f32 path, case {case} {kind:?} {axes:?}: [{i}] {g} vs {w}"
                    );
                }
            }
            assert_eq!(got.len(), want.len());
            for (i, (g, w)) in got.iter().zip(&want).enumerate() {
                assert!(
                    (g - w).abs() <= 1e-5 * (1.0 + w.abs()) || g.is_nan() && w.is_nan(),
                    "case {case} {kind:?} {axes:?}: [{i}] {g} vs {w}"
                );
            }
            if kind == Kind::Max {
                assert_eq!(got_idx.unwrap(), want_idx, "case {case} {axes:?}");
            }
        }
    }

    #[test]
    fn indices_in_column_major_order() {
        // 2×3 input, 1×1 windows: index of (h, w) is h + w·H.
        let x: Vec<f32> = (0..6).map(|v| v as f32).collect();
        let win = window(AutoPad::NotSet, vec![1, 1], vec![1, 1], vec![0; 4]);
        let axes = forward_axes(&win, &[2, 3], &[1, 1], false).unwrap();
        let (_, idx) = pool_planes(&x, 1, &pad3(&axes).unwrap(), Kind::Max, 1, true);
        assert_eq!(idx.unwrap(), vec![0, 2, 4, 1, 3, 5]);
    }

    #[test]
    fn embed_in_corner() {
        let v: Vec<i32> = (1..=4).collect();
        assert_eq!(embed(&v, &[2, 2], &[3, 3]), vec![1, 2, 0, 3, 4, 0, 0, 0, 0]);
        assert_eq!(embed(&v, &[1, 2, 2], &[2, 2, 3])[..6], [1, 2, 0, 3, 4, 0]);
    }

    #[test]
    fn global_pools() {
        let x: Vec<f32> = vec![1.0, -2.0, 3.0, 4.0, 0.5, -0.5];
        assert_eq!(global_planes(&x, 2, 3, Kind::Max), vec![3.0, 4.0]);
        assert_eq!(
            global_planes(&x, 2, 3, Kind::Avg { include_pad: false }),
            vec![2.0 / 3.0, 4.0 / 3.0]
        );
        let l2 = global_planes(&x, 2, 3, Kind::Lp { p: 2.0 });
        assert!((l2[0] - 14f32.sqrt()).abs() < 1e-6);
    }

    /// `cargo test --release -p onnxqc-runtime pool_speed -- --ignored --nocapture`
    #[test]
    #[ignore]
    fn pool_speed() {
        let mut seed = 1u64;
        for (name, xs, k, s, p, kind) in [
            (
                "maxpool 3x3/2 [1,64,112,112]",
                [1, 64, 112, 112],
                3,
                2,
                1,
                Kind::Max,
            ),
            (
                "avgpool 2x2/2 [1,256,56,56]",
                [1, 256, 56, 56],
                2,
                2,
                0,
                Kind::Avg { include_pad: false },
            ),
        ] {
            let win = window(AutoPad::NotSet, vec![s; 2], vec![1; 2], vec![p; 4]);
            let axes = forward_axes(&win, &xs[2..], &[k, k], false).unwrap();
            let ax = pad3(&axes).unwrap();
            let x: Vec<f32> = (0..numel(&xs)).map(|_| lcg(&mut seed)).collect();
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(1)
                .build()
                .unwrap();
            pool.install(|| {
                let mut best = f64::INFINITY;
                for _ in 0..20 {
                    let t = std::time::Instant::now();
                    let y = pool_planes_f32(&x, xs[0] * xs[1], &ax, kind);
                    best = best.min(t.elapsed().as_secs_f64());
                    assert!(!y.is_empty());
                }
                println!(
                    "{name}: {:.3} ms ({:.2} GB/s in)",
                    best * 1e3,
                    x.len() as f64 * 4.0 / best / 1e9
                );
            });
        }
    }
}
