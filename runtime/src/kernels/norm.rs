//! Normalisations: BatchNormalization (inference, and training mode's batch statistics),
//! LayerNormalization, RMSNormalization, InstanceNormalization, GroupNormalization, LRN and
//! MeanVarianceNormalization.
//!
//! Everything computes in f32 (f16, bf16 and f64 inputs are converted and the results converted
//! back), with means and variances accumulated in f64 over two passes, so large rows and values far
//! from zero keep their precision. Rows, planes and groups run in parallel when there is enough work.

use std::borrow::Cow;

use super::conv::for_each_chunk;
use super::{input, opt_input, BuildCtx, Kernel, Registry};
use crate::error::Result;
use crate::plan::RunCtx;
use crate::tensor::{norm_axis, numel, strides, DType, Tensor};
use crate::{bail, ensure};

pub fn register(r: &mut Registry) {
    r.add("onnx.BatchNormalization", build_batch_norm);
    r.add("onnx.LayerNormalization", |ctx| {
        build_layer_norm(ctx, false)
    });
    r.add("onnx.RMSNormalization", |ctx| build_layer_norm(ctx, true));
    r.add("onnx.InstanceNormalization", build_instance_norm);
    r.add("onnx.GroupNormalization", build_group_norm);
    r.add("onnx.LRN", build_lrn);
    r.add("onnx.MeanVarianceNormalization", build_mvn);
}

/// A float tensor's elements as f32 (borrowed when they already are).
fn f32s<'a>(t: &'a Tensor, what: &str) -> Result<Cow<'a, [f32]>> {
    ensure!(
        t.dtype().is_float(),
        "{what} is {}, expected a float tensor",
        t.dtype()
    );
    Ok(match t.as_slice::<f32>() {
        Some(v) => Cow::Borrowed(v),
        None => Cow::Owned(t.to_f32_vec()),
    })
}

/// A per-channel parameter: exactly `len` values (shape `[len]`, or with extra unit dims).
fn per_channel(t: &Tensor, len: usize, what: &str) -> Result<Vec<f32>> {
    ensure!(
        t.len() == len,
        "{what} has shape {:?}, expected [{len}]",
        t.shape()
    );
    Ok(f32s(t, what)?.into_owned())
}

/// `values` of shape `from` broadcast (numpy-style, right-aligned) to `to`.
fn expand_to(values: &[f32], from: &[usize], to: &[usize], what: &str) -> Result<Vec<f32>> {
    let mut from = from;
    while from.len() > to.len() && from[0] == 1 {
        from = &from[1..];
    }
    let fits = from.len() <= to.len()
        && from
            .iter()
            .rev()
            .zip(to.iter().rev())
            .all(|(&f, &t)| f == t || f == 1);
    ensure!(
        fits,
        "{what} has shape {from:?}, which does not broadcast to {to:?}"
    );
    if from.len() == to.len() && from == to {
        return Ok(values.to_vec());
    }
    let lead = to.len() - from.len();
    let src_strides = strides(from);
    let mut out = Vec::with_capacity(numel(to));
    let to_strides = strides(to);
    for i in 0..numel(to) {
        let mut s = 0;
        for (d, (&dim, &st)) in from.iter().zip(&src_strides).enumerate() {
            let coord = (i / to_strides[lead + d]) % to[lead + d];
            if dim != 1 {
                s += coord * st;
            }
        }
        out.push(values[s]);
    }
    Ok(out)
}

/// Mean and (population) variance of `v`, accumulated in f64.
fn moments(v: &[f32]) -> (f64, f64) {
    if v.is_empty() {
        return (f64::NAN, f64::NAN);
    }
    let n = v.len() as f64;
    let mean = v.iter().map(|&x| x as f64).sum::<f64>() / n;
    let var = v
        .iter()
        .map(|&x| {
            let d = x as f64 - mean;
            d * d
        })
        .sum::<f64>()
        / n;
    (mean, var)
}

/// The element type declared for result `i`, when the model states it.
fn result_dtype(ctx: &BuildCtx, i: usize) -> Option<DType> {
    let v = *ctx.data().results().get(i)?;
    let t = ctx.body.value_type(v).as_tensor()?;
    DType::from_scalar(t.elem.scalar()?)
}

fn channels_and_plane(shape: &[usize]) -> Result<(usize, usize, usize)> {
    ensure!(
        shape.len() >= 2,
        "input has shape {shape:?}, expected [N, C, ...]"
    );
    Ok((shape[0], shape[1], numel(&shape[2..])))
}

/// `y = x · a[c] + b[c]` over `[N, C, plane]`.
fn affine_per_channel(x: &[f32], a: &[f32], b: &[f32], plane: usize, y: &mut [f32]) {
    let c = a.len();
    for_each_chunk(y, plane, x.len(), |p, yp| {
        let (av, bv) = (a[p % c], b[p % c]);
        for (o, &v) in yp.iter_mut().zip(&x[p * plane..][..plane]) {
            *o = v * av + bv;
        }
    });
}

// ---------------------------------------------------------------------------------------------------
// BatchNormalization
// ---------------------------------------------------------------------------------------------------

struct BatchNorm {
    epsilon: f32,
    momentum: f32,
    training: bool,
    outputs: usize,
    /// Per-channel `(a, b)` of `y = x·a + b`, when scale, bias, mean and variance are constants.
    folded: Option<(Vec<f32>, Vec<f32>)>,
}

fn fold_batch_norm(
    scale: &[f32],
    bias: &[f32],
    mean: &[f32],
    var: &[f32],
    eps: f32,
) -> (Vec<f32>, Vec<f32>) {
    let a: Vec<f32> = scale
        .iter()
        .zip(var)
        .map(|(&s, &v)| (s as f64 / (v as f64 + eps as f64).sqrt()) as f32)
        .collect();
    let b = bias
        .iter()
        .zip(mean)
        .zip(&a)
        .map(|((&b, &m), &a)| b - m * a)
        .collect();
    (a, b)
}

fn build_batch_norm(ctx: &BuildCtx) -> Result<Box<dyn Kernel>> {
    let epsilon = ctx.attr_float("epsilon", 1e-5)?;
    let momentum = ctx.attr_float("momentum", 0.9)?;
    // Before opset 14 training mode was implied by asking for the statistics outputs.
    let training = if ctx.opset >= 14 {
        ctx.attr_int("training_mode", 0)? != 0
    } else {
        ctx.num_outputs() > 1
    };
    let consts: Option<Vec<Vec<f32>>> = (1..5)
        .map(|i| {
            ctx.const_input(i)
                .filter(|t| t.dtype().is_float())
                .map(|t| t.to_f32_vec())
        })
        .collect();
    let folded = match consts {
        Some(p) if !training && p.iter().all(|v| v.len() == p[0].len()) => {
            Some(fold_batch_norm(&p[0], &p[1], &p[2], &p[3], epsilon))
        }
        _ => None,
    };
    Ok(Box::new(BatchNorm {
        epsilon,
        momentum,
        training,
        outputs: ctx.num_outputs(),
        folded,
    }))
}

impl Kernel for BatchNorm {
    fn run(&self, ctx: &mut RunCtx, inputs: &[Option<&Tensor>]) -> Result<Vec<Tensor>> {
        let x = input(inputs, 0)?;
        let (n, c, plane) = channels_and_plane(x.shape())?;
        let xv = f32s(x, "input")?;
        let mut y = ctx.alloc_f32(x.len());
        if !self.training {
            let (a, b) = match &self.folded {
                Some((a, b)) => {
                    ensure!(
                        a.len() == c,
                        "the parameters have {} channels, the input {c}",
                        a.len()
                    );
                    (Cow::Borrowed(a), Cow::Borrowed(b))
                }
                None => {
                    let p = (1..5)
                        .map(|i| per_channel(input(inputs, i)?, c, &format!("input {i}")))
                        .collect::<Result<Vec<_>>>()?;
                    let (a, b) = fold_batch_norm(&p[0], &p[1], &p[2], &p[3], self.epsilon);
                    (Cow::Owned(a), Cow::Owned(b))
                }
            };
            affine_per_channel(&xv, &a, &b, plane, &mut y);
            return Ok(vec![Tensor::from_vec(x.shape().to_vec(), y).cast(x.dtype())]);
        }
        // Training mode: normalise with the batch's statistics and update the running ones.
        let p = (1..5)
            .map(|i| per_channel(input(inputs, i)?, c, &format!("input {i}")))
            .collect::<Result<Vec<_>>>()?;
        let (mut bmean, mut bvar) = (vec![0f64; c], vec![0f64; c]);
        let count = (n * plane) as f64;
        for ch in 0..c {
            let planes = (0..n).map(|i| &xv[(i * c + ch) * plane..][..plane]);
            let s: f64 = planes.clone().flatten().map(|&v| v as f64).sum();
            let m = s / count;
            let ss: f64 = planes.flatten().map(|&v| (v as f64 - m).powi(2)).sum();
            bmean[ch] = m;
            bvar[ch] = ss / count;
        }
        let bm: Vec<f32> = bmean.iter().map(|&v| v as f32).collect();
        let bv: Vec<f32> = bvar.iter().map(|&v| v as f32).collect();
        let (a, b) = fold_batch_norm(&p[0], &p[1], &bm, &bv, self.epsilon);
        affine_per_channel(&xv, &a, &b, plane, &mut y);
        let mom = self.momentum;
        let running = |old: &[f32], cur: &[f32]| -> Vec<f32> {
            old.iter()
                .zip(cur)
                .map(|(&o, &c)| o * mom + c * (1.0 - mom))
                .collect()
        };
        let stat_type = input(inputs, 3)?.dtype();
        let stat = |v: Vec<f32>| Tensor::from_vec(vec![c], v).cast(stat_type);
        // Opset 14 has (Y, running_mean, running_var); before it, saved mean and variance follow.
        let mut outs = vec![
            Tensor::from_vec(x.shape().to_vec(), y).cast(x.dtype()),
            stat(running(&p[2], &bm)),
            stat(running(&p[3], &bv)),
            stat(bm),
            stat(bv),
        ];
        outs.truncate(self.outputs.max(1));
        Ok(outs)
    }
}

// ---------------------------------------------------------------------------------------------------
// LayerNormalization, RMSNormalization
// ---------------------------------------------------------------------------------------------------

struct LayerNorm {
    axis: i64,
    epsilon: f32,
    /// RMSNormalization: no mean subtraction, no bias, one output.
    rms: bool,
    /// Element types of the Mean and InvStdDev results (the input's when not declared).
    stat_types: [Option<DType>; 2],
}

fn build_layer_norm(ctx: &BuildCtx, rms: bool) -> Result<Box<dyn Kernel>> {
    Ok(Box::new(LayerNorm {
        axis: ctx.attr_int("axis", -1)?,
        epsilon: ctx.attr_float("epsilon", 1e-5)?,
        rms,
        stat_types: [result_dtype(ctx, 1), result_dtype(ctx, 2)],
    }))
}

/// LayerNormalization's (and RMSNormalization's) parameters, expanded to one row.
pub(crate) struct RowNorm<'a> {
    pub scale: &'a [f32],
    pub bias: Option<&'a [f32]>,
    pub epsilon: f32,
    /// RMSNormalization: no mean subtraction.
    pub rms: bool,
}

/// Normalises each of the `rows` `cols`-long rows of `x` into `y`; returns every row's mean and 1/σ.
pub(crate) fn layer_norm_rows(
    x: &[f32],
    rows: usize,
    cols: usize,
    p: &RowNorm,
    y: &mut [f32],
) -> (Vec<f32>, Vec<f32>) {
    let RowNorm {
        scale,
        bias,
        epsilon,
        rms,
    } = *p;
    let mut stats = vec![0f32; 2 * rows];
    // Stats first (cheap, sequential), then the normalisation in parallel.
    for r in 0..rows {
        let row = &x[r * cols..][..cols];
        let (mean, var) = if rms {
            let ms = row.iter().map(|&v| (v as f64) * (v as f64)).sum::<f64>() / cols as f64;
            (0.0, ms)
        } else {
            moments(row)
        };
        stats[2 * r] = mean as f32;
        stats[2 * r + 1] = (1.0 / (var + epsilon as f64).sqrt()) as f32;
    }
    for_each_chunk(y, cols, x.len(), |r, yr| {
        let (mean, inv) = (stats[2 * r], stats[2 * r + 1]);
        let xr = &x[r * cols..][..cols];
        match bias {
            Some(b) => {
                for (((o, &v), &s), &bb) in yr.iter_mut().zip(xr).zip(scale).zip(b) {
                    *o = (v - mean) * inv * s + bb;
                }
            }
            None => {
                for ((o, &v), &s) in yr.iter_mut().zip(xr).zip(scale) {
                    *o = (v - mean) * inv * s;
                }
            }
        }
    });
    (
        stats.iter().step_by(2).copied().collect(),
        stats.iter().skip(1).step_by(2).copied().collect(),
    )
}

impl Kernel for LayerNorm {
    fn run(&self, ctx: &mut RunCtx, inputs: &[Option<&Tensor>]) -> Result<Vec<Tensor>> {
        let x = input(inputs, 0)?;
        let shape = x.shape();
        ensure!(!shape.is_empty(), "input is a scalar");
        let axis = norm_axis(self.axis, shape.len())?;
        let norm_shape = &shape[axis..];
        let cols = numel(norm_shape);
        let s = input(inputs, 1)?;
        let scale = expand_to(&f32s(s, "scale")?, s.shape(), norm_shape, "scale")?;
        let bias = match opt_input(inputs, 2).filter(|_| !self.rms) {
            Some(b) => Some(expand_to(&f32s(b, "bias")?, b.shape(), norm_shape, "bias")?),
            None => None,
        };
        let xv = f32s(x, "input")?;
        let mut y = ctx.alloc_f32(x.len());
        let (mean, inv) = layer_norm_rows(
            &xv,
            numel(&shape[..axis]),
            cols,
            &RowNorm {
                scale: &scale,
                bias: bias.as_deref(),
                epsilon: self.epsilon,
                rms: self.rms,
            },
            &mut y,
        );
        let y = Tensor::from_vec(shape.to_vec(), y).cast(x.dtype());
        if self.rms {
            return Ok(vec![y]);
        }
        let mut stat_shape = shape[..axis].to_vec();
        stat_shape.resize(shape.len(), 1);
        let [mt, it] = self.stat_types.map(|t| t.unwrap_or(x.dtype()));
        Ok(vec![
            y,
            Tensor::from_vec(stat_shape.clone(), mean).cast(mt),
            Tensor::from_vec(stat_shape, inv).cast(it),
        ])
    }
}

// ---------------------------------------------------------------------------------------------------
// InstanceNormalization, GroupNormalization
// ---------------------------------------------------------------------------------------------------

/// Normalises each `group_len`-long group of `x` with its own statistics, then applies the
/// per-channel affine transform (`channel_len` elements per channel, `channels` channels).
fn normalize_groups(
    x: &[f32],
    group_len: usize,
    channel_len: usize,
    scale: &[f32],
    bias: &[f32],
    epsilon: f32,
    y: &mut [f32],
) {
    let channels = scale.len();
    let per_group = group_len / channel_len.max(1);
    for_each_chunk(y, group_len, x.len(), |gi, yg| {
        let xg = &x[gi * group_len..][..group_len];
        let (mean, var) = moments(xg);
        let inv = 1.0 / (var + epsilon as f64).sqrt();
        for (ci, (yc, xc)) in yg
            .chunks_mut(channel_len.max(1))
            .zip(xg.chunks(channel_len.max(1)))
            .enumerate()
        {
            let ch = (gi * per_group + ci) % channels;
            let a = (scale[ch] as f64 * inv) as f32;
            let b = (bias[ch] as f64 - mean * scale[ch] as f64 * inv) as f32;
            for (o, &v) in yc.iter_mut().zip(xc) {
                *o = v * a + b;
            }
        }
    });
}

fn build_instance_norm(ctx: &BuildCtx) -> Result<Box<dyn Kernel>> {
    let epsilon = ctx.attr_float("epsilon", 1e-5)?;
    Ok(super::kernel(move |ctx, inputs| {
        let x = input(inputs, 0)?;
        let (_, c, plane) = channels_and_plane(x.shape())?;
        let scale = per_channel(input(inputs, 1)?, c, "scale")?;
        let bias = per_channel(input(inputs, 2)?, c, "bias")?;
        let xv = f32s(x, "input")?;
        let mut y = ctx.alloc_f32(x.len());
        normalize_groups(&xv, plane, plane, &scale, &bias, epsilon, &mut y);
        Ok(vec![Tensor::from_vec(x.shape().to_vec(), y).cast(x.dtype())])
    }))
}

fn build_group_norm(ctx: &BuildCtx) -> Result<Box<dyn Kernel>> {
    let epsilon = ctx.attr_float("epsilon", 1e-5)?;
    let groups = ctx.attr_int("num_groups", 0)?;
    ensure!(groups >= 1, "attribute 'num_groups' must be at least 1");
    let groups = groups as usize;
    Ok(super::kernel(move |ctx, inputs| {
        let x = input(inputs, 0)?;
        let (_, c, plane) = channels_and_plane(x.shape())?;
        ensure!(
            c % groups == 0,
            "{c} channels do not split into {groups} groups"
        );
        let (s, b) = (input(inputs, 1)?, input(inputs, 2)?);
        // Opset 18 has one scale and bias per group, opset 21 one per channel; the length tells
        // which (and both agree when there is one channel per group).
        let expand = |t: &Tensor, what: &str| -> Result<Vec<f32>> {
            if t.len() == c {
                per_channel(t, c, what)
            } else if t.len() == groups {
                let v = per_channel(t, groups, what)?;
                Ok((0..c).map(|ch| v[ch / (c / groups)]).collect())
            } else {
                bail!(
                    "{what} has shape {:?}, expected [{c}] (or [{groups}] before opset 21)",
                    t.shape()
                )
            }
        };
        let (scale, bias) = (expand(s, "scale")?, expand(b, "bias")?);
        let xv = f32s(x, "input")?;
        let mut y = ctx.alloc_f32(x.len());
        normalize_groups(
            &xv,
            c / groups * plane,
            plane,
            &scale,
            &bias,
            epsilon,
            &mut y,
        );
        Ok(vec![Tensor::from_vec(x.shape().to_vec(), y).cast(x.dtype())])
    }))
}

// ---------------------------------------------------------------------------------------------------
// LRN, MeanVarianceNormalization
// ---------------------------------------------------------------------------------------------------

fn build_lrn(ctx: &BuildCtx) -> Result<Box<dyn Kernel>> {
    let size = ctx.attr_int("size", 0)?;
    ensure!(size >= 1, "attribute 'size' must be at least 1");
    let size = size as usize;
    let alpha = ctx.attr_float("alpha", 1e-4)?;
    let beta = ctx.attr_float("beta", 0.75)?;
    let bias = ctx.attr_float("bias", 1.0)?;
    Ok(super::kernel(move |ctx, inputs| {
        let x = input(inputs, 0)?;
        let (_, c, plane) = channels_and_plane(x.shape())?;
        let xv = f32s(x, "input")?;
        let mut y = ctx.alloc_f32(x.len());
        let (before, after) = ((size - 1) / 2, (size - 1).div_ceil(2));
        for_each_chunk(&mut y, plane, x.len() * size, |p, yp| {
            let (img, ch) = (p / c, p % c);
            let lo = ch.saturating_sub(before);
            let hi = (ch + after + 1).min(c);
            let mut sq = vec![0f32; plane];
            for cc in lo..hi {
                for (s, &v) in sq.iter_mut().zip(&xv[(img * c + cc) * plane..][..plane]) {
                    *s += v * v;
                }
            }
            let k = alpha / size as f32;
            for ((o, &v), &s) in yp.iter_mut().zip(&xv[p * plane..][..plane]).zip(&sq) {
                *o = v / (bias + k * s).powf(beta);
            }
        });
        Ok(vec![Tensor::from_vec(x.shape().to_vec(), y).cast(x.dtype())])
    }))
}

fn build_mvn(ctx: &BuildCtx) -> Result<Box<dyn Kernel>> {
    let axes = ctx.attr_ints("axes")?.unwrap_or_else(|| vec![0, 2, 3]);
    Ok(super::kernel(move |_ctx, inputs| {
        let x = input(inputs, 0)?;
        let shape = x.shape();
        let mut reduced = vec![false; shape.len()];
        for &a in &axes {
            reduced[norm_axis(a, shape.len())?] = true;
        }
        // Elements sharing the kept coordinates form one group.
        let gshape: Vec<usize> = shape
            .iter()
            .zip(&reduced)
            .map(|(&d, &r)| if r { 1 } else { d })
            .collect();
        let gstrides: Vec<usize> = strides(&gshape)
            .into_iter()
            .zip(&reduced)
            .map(|(s, &r)| if r { 0 } else { s })
            .collect();
        let xstrides = strides(shape);
        let group_of = |i: usize| -> usize {
            (0..shape.len())
                .map(|d| (i / xstrides[d]) % shape[d] * gstrides[d])
                .sum()
        };
        let xv = f32s(x, "input")?;
        let groups = numel(&gshape);
        let (mut sum, mut count) = (vec![0f64; groups], vec![0usize; groups]);
        for (i, &v) in xv.iter().enumerate() {
            let g = group_of(i);
            sum[g] += v as f64;
            count[g] += 1;
        }
        let mean: Vec<f64> = sum
            .iter()
            .zip(&count)
            .map(|(&s, &n)| s / n.max(1) as f64)
            .collect();
        let mut sq = vec![0f64; groups];
        for (i, &v) in xv.iter().enumerate() {
            let g = group_of(i);
            sq[g] += (v as f64 - mean[g]).powi(2);
        }
        let y: Vec<f32> = xv
            .iter()
            .enumerate()
            .map(|(i, &v)| {
                let g = group_of(i);
                let std = (sq[g] / count[g].max(1) as f64).sqrt();
                ((v as f64 - mean[g]) / (std + 1e-9)) as f32
            })
            .collect();
        Ok(vec![Tensor::from_vec(shape.to_vec(), y).cast(x.dtype())])
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lcg(seed: &mut u64) -> f32 {
        *seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((*seed >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
    }

    /// Layer norm as the definition reads, one row at a time, in f64.
    fn layer_norm_reference(x: &[f32], cols: usize, s: &[f32], b: &[f32], eps: f64) -> Vec<f32> {
        let mut y = vec![];
        for row in x.chunks(cols) {
            let mean = row.iter().map(|&v| v as f64).sum::<f64>() / cols as f64;
            let var = row.iter().map(|&v| (v as f64 - mean).powi(2)).sum::<f64>() / cols as f64;
            for (j, &v) in row.iter().enumerate() {
                y.push(((v as f64 - mean) / (var + eps).sqrt() * s[j] as f64 + b[j] as f64) as f32);
            }
        }
        y
    }

    #[test]
    fn layer_norm_matches_reference() {
        let mut seed = 11u64;
        for (rows, cols) in [(1, 1), (3, 7), (64, 768), (1000, 40), (5, 0)] {
            // An offset far from zero checks the two-pass variance.
            let x: Vec<f32> = (0..rows * cols).map(|_| 1000.0 + lcg(&mut seed)).collect();
            let s: Vec<f32> = (0..cols).map(|_| lcg(&mut seed)).collect();
            let b: Vec<f32> = (0..cols).map(|_| lcg(&mut seed)).collect();
            let mut y = vec![f32::NAN; x.len()];
            let p = RowNorm {
                scale: &s,
                bias: Some(&b),
                epsilon: 1e-5,
                rms: false,
            };
            layer_norm_rows(&x, rows, cols, &p, &mut y);
            if cols == 0 {
                continue;
            }
            let want = layer_norm_reference(&x, cols, &s, &b, 1e-5);
            for (g, w) in y.iter().zip(&want) {
                assert!(
                    (g - w).abs() < 1e-3 * (1.0 + w.abs()),
                    "{rows}x{cols}: {g} vs {w}"
                );
            }
        }
    }

    #[test]
    fn group_norm_matches_layer_norm_per_group() {
        // GroupNormalization of [N, C, H] with unit scale equals a layer norm of each group's rows.
        let mut seed = 3u64;
        let (n, c, h, groups) = (2, 6, 5, 3);
        let x: Vec<f32> = (0..n * c * h).map(|_| lcg(&mut seed)).collect();
        let mut y = vec![0.0; x.len()];
        normalize_groups(&x, c / groups * h, h, &[1.0; 6], &[0.0; 6], 1e-5, &mut y);
        let cols = c / groups * h;
        let want = layer_norm_reference(&x, cols, &vec![1.0; cols], &vec![0.0; cols], 1e-5);
        for (g, w) in y.iter().zip(&want) {
            assert!((g - w).abs() < 1e-4, "{g} vs {w}");
        }
    }

    #[test]
    fn broadcast_parameters() {
        let v = expand_to(&[1.0, 2.0], &[1, 2], &[3, 2], "s").unwrap();
        assert_eq!(v, vec![1.0, 2.0, 1.0, 2.0, 1.0, 2.0]);
        let v = expand_to(&[1.0, 2.0, 3.0], &[1, 1, 3], &[3], "s").unwrap();
        assert_eq!(v, vec![1.0, 2.0, 3.0]);
        assert_eq!(expand_to(&[5.0], &[], &[2], "s").unwrap(), vec![5.0, 5.0]);
        assert!(expand_to(&[1.0, 2.0], &[2], &[3], "s").is_err());
    }

    #[test]
    fn batch_norm_folds() {
        let (a, b) = fold_batch_norm(&[2.0], &[1.0], &[3.0], &[4.0 - 1e-5], 1e-5);
        assert!((a[0] - 1.0).abs() < 1e-6 && (b[0] + 2.0).abs() < 1e-6);
    }

    #[test]
    fn batch_norm_constant_parameters_fold() {
        let vec3 = |v: [f32; 3]| {
            let hex: String = v
                .iter()
                .flat_map(|x| x.to_le_bytes())
                .map(|b| format!("{b:02X}"))
                .collect();
            format!("dense<\"0x{hex}\"> : tensor<3xf32>")
        };
        let params = [
            [1.0, 2.0, 0.5],
            [0.0, -1.0, 3.0],
            [0.5, 0.0, -2.0],
            [1.0, 4.0, 0.25],
        ];
        let defs: String = params
            .iter()
            .enumerate()
            .map(|(i, p)| {
                format!(
                    "  %p{i} = \"onnx.Constant\"() {{value = {}}} : () -> tensor<3xf32>\n",
                    vec3(*p)
                )
            })
            .collect();
        let text = format!(
            "func.func @main(%x: tensor<2x3x2xf32>) -> tensor<2x3x2xf32> {{
{defs}  %y = \"onnx.BatchNormalization\"(%x, %p0, %p1, %p2, %p3) {{epsilon = 0.0}} : (tensor<2x3x2xf32>, tensor<3xf32>, tensor<3xf32>, tensor<3xf32>, tensor<3xf32>) -> tensor<2x3x2xf32>
  func.return %y : tensor<2x3x2xf32>
}}"
        );
        let m = onnxqc_ir::parse::parse_module(&text, 0).expect("test IR parses");
        let s = crate::Session::new(&m).unwrap();
        let mut seed = 5u64;
        let x: Vec<f32> = (0..12).map(|_| lcg(&mut seed)).collect();
        let y = s
            .run([("x", Tensor::from_vec(vec![2, 3, 2], x.clone()))])
            .unwrap()
            .into_vec()
            .remove(0)
            .1;
        for (i, (&g, &v)) in y.f32s().unwrap().iter().zip(&x).enumerate() {
            let c = (i / 2) % 3;
            let want = (v - params[2][c]) / params[3][c].sqrt() * params[0][c] + params[1][c];
            assert!((g - want).abs() < 1e-5, "[{i}] {g} vs {want}");
        }
    }
}
