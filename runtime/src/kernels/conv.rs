//! Convolutions: Conv and ConvTranspose, plus the sliding-window geometry (auto_pad, pads, strides,
//! dilations, ceil_mode) that the pooling ops share.
//!
//! The fast paths are f32 (f16 and bf16 run through them in f32) for 1 to 3 spatial axes; 1-D and 2-D
//! are treated as 3-D with leading unit axes, so one set of loops serves every rank.
//! - Conv: im2col + [`sgemm`] per image and group. A 1×1, stride-1, unpadded convolution reads the
//!   input directly as the GEMM's right operand. Depthwise convolutions (one input and one output
//!   channel per group, MobileNet-style) get a direct kernel parallel over channels instead, because
//!   im2col would turn their small amount of arithmetic into a lot of copying.
//! - ConvTranspose: one GEMM per image and group (Wᵀ·X gives every tap's contribution), then col2im
//!   scatters the contributions into the output.
//!
//! f64 inputs and more than 3 spatial axes run the plain references ([`conv_reference`],
//! [`conv_transpose_reference`]), which accumulate in f64.

use std::borrow::Cow;
use std::cell::RefCell;
use std::ops::Range;

use rayon::prelude::*;

use super::gemm::{sgemm, MatRef};
use super::{input, opt_input, BuildCtx, Kernel, Registry};
use crate::error::Result;
use crate::plan::RunCtx;
use crate::tensor::{numel, DType, Elem, Tensor};
use crate::{bail, ensure};

pub fn register(r: &mut Registry) {
    r.add("onnx.Conv", build_conv);
    r.add("onnx.ConvTranspose", build_conv_transpose);
}

/// Elements of work below which a loop stays on the calling thread (rayon's overhead dominates).
const PARALLEL_MIN: usize = 1 << 15;

// ---------------------------------------------------------------------------------------------------
// Sliding-window geometry
// ---------------------------------------------------------------------------------------------------

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum AutoPad {
    NotSet,
    SameUpper,
    SameLower,
    Valid,
}

/// The window attributes of Conv, ConvTranspose and the pools, as written in the model; their lengths
/// are checked against the input's rank when it is known (at run time).
#[derive(Clone, Debug)]
pub(crate) struct Window {
    pub auto_pad: AutoPad,
    pub kernel_shape: Option<Vec<usize>>,
    strides: Option<Vec<usize>>,
    dilations: Option<Vec<usize>>,
    pads: Option<Vec<usize>>,
}

fn usize_list(ctx: &BuildCtx, name: &str, min: i64) -> Result<Option<Vec<usize>>> {
    let Some(v) = ctx.attr_ints(name)? else {
        return Ok(None);
    };
    // An empty list means "the default" in models written by some exporters.
    if v.is_empty() {
        return Ok(None);
    }
    v.iter()
        .map(|&x| {
            ensure!(
                x >= min && x <= i32::MAX as i64,
                "attribute '{name}' has value {x}, expected at least {min}"
            );
            Ok(x as usize)
        })
        .collect::<Result<Vec<_>>>()
        .map(Some)
}

impl Window {
    #[cfg(test)]
    pub(crate) fn for_test(
        auto_pad: AutoPad,
        kernel_shape: Option<Vec<usize>>,
        strides: Option<Vec<usize>>,
        dilations: Option<Vec<usize>>,
        pads: Option<Vec<usize>>,
    ) -> Window {
        Window {
            auto_pad,
            kernel_shape,
            strides,
            dilations,
            pads,
        }
    }

    pub(crate) fn from_ctx(ctx: &BuildCtx) -> Result<Window> {
        let auto_pad = match ctx.attr_str("auto_pad", "NOTSET")?.as_str() {
            "NOTSET" | "" => AutoPad::NotSet,
            "SAME_UPPER" => AutoPad::SameUpper,
            "SAME_LOWER" => AutoPad::SameLower,
            "VALID" => AutoPad::Valid,
            other => bail!("unknown auto_pad '{other}'"),
        };
        Ok(Window {
            auto_pad,
            kernel_shape: usize_list(ctx, "kernel_shape", 1)?,
            strides: usize_list(ctx, "strides", 1)?,
            dilations: usize_list(ctx, "dilations", 1)?,
            pads: usize_list(ctx, "pads", 0)?,
        })
    }

    fn per_axis(
        v: &Option<Vec<usize>>,
        name: &str,
        len: usize,
        default: usize,
    ) -> Result<Vec<usize>> {
        match v {
            None => Ok(vec![default; len]),
            Some(v) => {
                ensure!(
                    v.len() == len,
                    "attribute '{name}' has {} values, expected {len}",
                    v.len()
                );
                Ok(v.clone())
            }
        }
    }

    pub(crate) fn strides(&self, nd: usize) -> Result<Vec<usize>> {
        Self::per_axis(&self.strides, "strides", nd, 1)
    }

    pub(crate) fn dilations(&self, nd: usize) -> Result<Vec<usize>> {
        Self::per_axis(&self.dilations, "dilations", nd, 1)
    }

    /// Explicit pads, `[begin..., end...]`.
    pub(crate) fn pads(&self, nd: usize) -> Result<Vec<usize>> {
        Self::per_axis(&self.pads, "pads", 2 * nd, 0)
    }

    /// The kernel's spatial shape: the weights' when there are weights (the attribute must agree),
    /// the attribute otherwise.
    pub(crate) fn kernel(&self, nd: usize, weights: Option<&[usize]>) -> Result<Vec<usize>> {
        match (weights, &self.kernel_shape) {
            (Some(w), Some(k)) => {
                ensure!(
                    w == k.as_slice(),
                    "attribute kernel_shape {k:?} does not match the weights' spatial shape {w:?}"
                );
                Ok(w.to_vec())
            }
            (Some(w), None) => Ok(w.to_vec()),
            (None, Some(k)) => {
                ensure!(
                    k.len() == nd,
                    "attribute 'kernel_shape' has {} values, expected {nd}",
                    k.len()
                );
                Ok(k.clone())
            }
            (None, None) => bail!("missing attribute 'kernel_shape'"),
        }
    }
}

/// One spatial axis of a sliding-window op. For the forward ops, output position `o` with tap `k`
/// reads input position `o * stride + k * dilation - pad_begin`; for ConvTranspose, input position `i`
/// with tap `k` writes output position `i * stride + k * dilation - pad_begin`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Axis {
    pub input: usize,
    pub kernel: usize,
    pub stride: usize,
    pub dilation: usize,
    pub pad_begin: usize,
    pub pad_end: usize,
    pub output: usize,
}

/// The `t` in `0..count` for which `t * stride + offset - pad` lies in `0..limit`.
fn tap_range(count: usize, stride: usize, offset: usize, pad: usize, limit: usize) -> Range<usize> {
    let lo = if pad > offset {
        (pad - offset).div_ceil(stride)
    } else {
        0
    };
    let hi = if limit + pad > offset {
        (limit + pad - offset).div_ceil(stride)
    } else {
        0
    };
    let hi = hi.min(count);
    lo.min(hi)..hi
}

impl Axis {
    pub(crate) const UNIT: Axis = Axis {
        input: 1,
        kernel: 1,
        stride: 1,
        dilation: 1,
        pad_begin: 0,
        pad_end: 0,
        output: 1,
    };

    /// Forward ops: the output positions whose tap `k` reads inside the input.
    pub(crate) fn out_range(&self, k: usize) -> Range<usize> {
        tap_range(
            self.output,
            self.stride,
            k * self.dilation,
            self.pad_begin,
            self.input,
        )
    }

    /// ConvTranspose: the input positions whose tap `k` writes inside the output.
    fn in_range(&self, k: usize) -> Range<usize> {
        tap_range(
            self.input,
            self.stride,
            k * self.dilation,
            self.pad_begin,
            self.output,
        )
    }

    /// Input position read by output `o` through tap `k` (forward; `o` in [`Axis::out_range`]).
    #[inline]
    pub(crate) fn src(&self, o: usize, k: usize) -> usize {
        o * self.stride + k * self.dilation - self.pad_begin
    }

    /// Whether this axis changes nothing (a 1×1 tap at stride 1 without padding).
    fn is_identity(&self) -> bool {
        self.kernel == 1 && self.stride == 1 && self.pad_begin == 0 && self.pad_end == 0
    }
}

/// The extent of the window: `(kernel - 1) * dilation + 1`.
fn window_span(kernel: usize, dilation: usize) -> Result<usize> {
    (kernel - 1)
        .checked_mul(dilation)
        .and_then(|s| s.checked_add(1))
        .ok_or_else(|| crate::RuntimeError::new("kernel_shape × dilations overflows"))
}

/// The axes of a forward sliding window (Conv, the pools) over `input` (spatial dims).
pub(crate) fn forward_axes(
    win: &Window,
    input: &[usize],
    kernel: &[usize],
    ceil_mode: bool,
) -> Result<Vec<Axis>> {
    let nd = input.len();
    ensure!(
        kernel.len() == nd,
        "the kernel has {} spatial dims, the input {nd}",
        kernel.len()
    );
    let strides = win.strides(nd)?;
    let dilations = win.dilations(nd)?;
    let pads = match win.auto_pad {
        AutoPad::NotSet => win.pads(nd)?,
        _ => vec![0; 2 * nd],
    };
    (0..nd)
        .map(|i| {
            let (inp, k, s, d) = (input[i], kernel[i], strides[i], dilations[i]);
            ensure!(k >= 1, "kernel dim {i} is 0");
            let span = window_span(k, d)?;
            let (pad_begin, pad_end, output) = match win.auto_pad {
                AutoPad::NotSet => {
                    let (pb, pe) = (pads[i], pads[nd + i]);
                    let padded = inp + pb + pe;
                    ensure!(
                        padded >= span,
                        "spatial dim {i}: the window ({span}) is larger than the padded input ({padded})"
                    );
                    let q = padded - span;
                    let mut out = if ceil_mode {
                        q.div_ceil(s) + 1
                    } else {
                        q / s + 1
                    };
                    // With ceil_mode the last window must still start inside the input or its
                    // leading padding.
                    if ceil_mode && (out - 1) * s >= inp + pb {
                        out -= 1;
                    }
                    (pb, pe, out)
                }
                AutoPad::SameUpper | AutoPad::SameLower => {
                    let out = inp.div_ceil(s);
                    let total = (out.saturating_sub(1) * s + span).saturating_sub(inp);
                    let (small, big) = (total / 2, total - total / 2);
                    if win.auto_pad == AutoPad::SameUpper {
                        (small, big, out)
                    } else {
                        (big, small, out)
                    }
                }
                AutoPad::Valid => {
                    ensure!(
                        inp >= span,
                        "spatial dim {i}: the window ({span}) is larger than the input ({inp})"
                    );
                    (0, 0, (inp - span) / s + 1)
                }
            };
            Ok(Axis {
                input: inp,
                kernel: k,
                stride: s,
                dilation: d,
                pad_begin,
                pad_end,
                output,
            })
        })
        .collect()
}

/// 1 to 3 axes as exactly 3, with leading unit axes.
pub(crate) fn pad3(axes: &[Axis]) -> Option<[Axis; 3]> {
    match *axes {
        [a] => Some([Axis::UNIT, Axis::UNIT, a]),
        [a, b] => Some([Axis::UNIT, a, b]),
        [a, b, c] => Some([a, b, c]),
        _ => None,
    }
}

/// Product of a shape, or an error when it overflows.
pub(crate) fn checked_numel(shape: &[usize]) -> Result<usize> {
    shape
        .iter()
        .try_fold(1usize, |a, &d| a.checked_mul(d))
        .ok_or_else(|| crate::RuntimeError::new(format!("shape {shape:?} is too large")))
}

/// A scratch buffer per thread, reused by every convolution that runs on it (im2col and col2im
/// matrices are large; allocating and faulting them in on every call costs as much as a small conv).
/// Falls back to a fresh buffer when the thread's is in use (a conv re-entered through rayon's work
/// stealing while it waits).
fn with_scratch<R>(len: usize, f: impl FnOnce(&mut [f32]) -> R) -> R {
    thread_local! {
        static SCRATCH: RefCell<Vec<f32>> = const { RefCell::new(Vec::new()) };
    }
    SCRATCH.with(|cell| match cell.try_borrow_mut() {
        Ok(mut buf) => {
            if buf.len() < len {
                buf.resize(len, 0.0);
            }
            f(&mut buf[..len])
        }
        Err(_) => f(&mut vec![0.0; len]),
    })
}

/// Runs `f(i, chunk)` over the `len`-element chunks of `out`, in parallel when the work is large.
pub(crate) fn for_each_chunk(
    out: &mut [f32],
    len: usize,
    work: usize,
    f: impl Fn(usize, &mut [f32]) + Sync + Send,
) {
    if len == 0 {
        return;
    }
    if work >= PARALLEL_MIN && rayon::current_num_threads() > 1 {
        out.par_chunks_mut(len)
            .enumerate()
            .for_each(|(i, c)| f(i, c));
    } else {
        out.chunks_mut(len).enumerate().for_each(|(i, c)| f(i, c));
    }
}

// ---------------------------------------------------------------------------------------------------
// Conv
// ---------------------------------------------------------------------------------------------------

/// A Conv's shapes, resolved from the input and weight shapes.
#[derive(Clone, Debug)]
pub(crate) struct ConvGeom {
    pub batch: usize,
    pub in_channels: usize,
    pub out_channels: usize,
    pub group: usize,
    pub axes: Vec<Axis>,
    pub out_shape: Vec<usize>,
}

impl ConvGeom {
    pub(crate) fn new(win: &Window, group: usize, xs: &[usize], ws: &[usize]) -> Result<ConvGeom> {
        ensure!(
            xs.len() >= 3,
            "input has shape {xs:?}, expected [N, C, spatial...]"
        );
        ensure!(
            ws.len() == xs.len(),
            "weights have shape {ws:?}, expected rank {} like the input {xs:?}",
            xs.len()
        );
        ensure!(group >= 1, "group must be at least 1");
        let (c, m) = (xs[1], ws[0]);
        ensure!(
            c % group == 0 && ws[1] * group == c,
            "weights {ws:?} do not fit an input with {c} channels in {group} group(s)"
        );
        ensure!(
            m % group == 0,
            "{m} output channels do not split into {group} groups"
        );
        let axes = forward_axes(
            win,
            &xs[2..],
            &win.kernel(xs.len() - 2, Some(&ws[2..]))?,
            false,
        )?;
        let mut out_shape = vec![xs[0], m];
        out_shape.extend(axes.iter().map(|a| a.output));
        checked_numel(&out_shape)?;
        Ok(ConvGeom {
            batch: xs[0],
            in_channels: c,
            out_channels: m,
            group,
            axes,
            out_shape,
        })
    }

    fn is_depthwise(&self) -> bool {
        self.group == self.in_channels && self.out_channels == self.in_channels
    }
}

/// Writes the im2col matrix of one image's channel group: row `(c, k0, k1, k2)` holds, for every
/// output position, the input value that tap reads (0 in the padding). `col` is
/// `channels * kernel_size × output_size`.
fn im2col(x: &[f32], channels: usize, ax: &[Axis; 3], col: &mut [f32]) {
    let [a0, a1, a2] = ax;
    let (k1k2, ksz) = (a1.kernel * a2.kernel, a0.kernel * a1.kernel * a2.kernel);
    let in_plane = a0.input * a1.input * a2.input;
    let (o1o2, out_sp) = (a1.output * a2.output, a0.output * a1.output * a2.output);
    let fill = |r: usize, row: &mut [f32]| {
        let (c, kk) = (r / ksz, r % ksz);
        let (k0, k1, k2) = (kk / k1k2, (kk / a2.kernel) % a1.kernel, kk % a2.kernel);
        let xc = &x[c * in_plane..][..in_plane];
        let (r0, r1, r2) = (a0.out_range(k0), a1.out_range(k1), a2.out_range(k2));
        for (o0, seg0) in row.chunks_mut(o1o2).enumerate() {
            if !r0.contains(&o0) || r2.is_empty() {
                seg0.fill(0.0);
                continue;
            }
            let i0 = a0.src(o0, k0);
            for (o1, seg) in seg0.chunks_mut(a2.output).enumerate() {
                if !r1.contains(&o1) {
                    seg.fill(0.0);
                    continue;
                }
                let src = &xc[(i0 * a1.input + a1.src(o1, k1)) * a2.input..][..a2.input];
                seg[..r2.start].fill(0.0);
                seg[r2.end..].fill(0.0);
                let base = a2.src(r2.start, k2);
                let dst = &mut seg[r2.clone()];
                if a2.stride == 1 {
                    dst.copy_from_slice(&src[base..base + dst.len()]);
                } else {
                    for (j, v) in dst.iter_mut().enumerate() {
                        *v = src[base + j * a2.stride];
                    }
                }
            }
        }
    };
    for_each_chunk(
        &mut col[..channels * ksz * out_sp],
        out_sp,
        channels * ksz * out_sp,
        fill,
    );
}

/// Depthwise convolution: every channel with its own kernel (group == C == M), written directly as
/// one axpy per tap and output row so the output row stays in L1.
fn depthwise(
    x: &[f32],
    w: &[f32],
    bias: Option<&[f32]>,
    channels: usize,
    ax: &[Axis; 3],
    y: &mut [f32],
) {
    let [a0, a1, a2] = ax;
    let in_plane = a0.input * a1.input * a2.input;
    let out_plane = a0.output * a1.output * a2.output;
    let ksz = a0.kernel * a1.kernel * a2.kernel;
    let r0: Vec<_> = (0..a0.kernel).map(|k| a0.out_range(k)).collect();
    let r1: Vec<_> = (0..a1.kernel).map(|k| a1.out_range(k)).collect();
    let r2: Vec<_> = (0..a2.kernel).map(|k| a2.out_range(k)).collect();
    // The common MobileNet case: 3×3 taps at stride 1, every output row's nine taps in one pass.
    let fused3x3 = [a1, a2]
        .iter()
        .all(|a| a.kernel == 3 && a.stride == 1 && a.dilation == 1);
    let run = |p: usize, yp: &mut [f32]| {
        let c = p % channels;
        let xp = &x[p * in_plane..][..in_plane];
        let wc = &w[c * ksz..][..ksz];
        yp.fill(bias.map_or(0.0, |b| b[c]));
        for (row, yrow) in yp.chunks_mut(a2.output).enumerate() {
            let (o0, o1) = (row / a1.output, row % a1.output);
            for k0 in 0..a0.kernel {
                if !r0[k0].contains(&o0) {
                    continue;
                }
                let i0 = a0.src(o0, k0);
                if fused3x3 && (0..3).all(|k1| r1[k1].contains(&o1)) {
                    let row =
                        |k1: usize| &xp[(i0 * a1.input + a1.src(o1, k1)) * a2.input..][..a2.input];
                    let wk = &wc[k0 * 9..][..9];
                    rows3x3(yrow, [row(0), row(1), row(2)], wk, &r2, a2.pad_begin);
                    continue;
                }
                for k1 in 0..a1.kernel {
                    if !r1[k1].contains(&o1) {
                        continue;
                    }
                    let xrow = &xp[(i0 * a1.input + a1.src(o1, k1)) * a2.input..][..a2.input];
                    let wk = &wc[(k0 * a1.kernel + k1) * a2.kernel..][..a2.kernel];
                    if a2.stride == 1 && a2.kernel == 3 && a2.dilation == 1 {
                        row3(yrow, xrow, wk, &r2, a2.pad_begin);
                        continue;
                    }
                    for (k2, &wv) in wk.iter().enumerate() {
                        let r = r2[k2].clone();
                        if r.is_empty() {
                            continue;
                        }
                        let base = a2.src(r.start, k2);
                        let n = r.len();
                        let dst = &mut yrow[r];
                        if a2.stride == 1 {
                            for (o, &v) in dst.iter_mut().zip(&xrow[base..base + n]) {
                                *o += wv * v;
                            }
                        } else {
                            for (j, o) in dst.iter_mut().enumerate() {
                                *o += wv * xrow[base + j * a2.stride];
                            }
                        }
                    }
                }
            }
        }
    };
    for_each_chunk(y, out_plane, y.len() * ksz, run);
}

/// One output row of a 3×3, stride-1, undilated depthwise kernel whose three input rows are all
/// inside the input: the nine taps fused in one pass where every column tap is inside too, the
/// per-row version at the borders.
#[inline]
fn rows3x3(yrow: &mut [f32], x: [&[f32]; 3], wk: &[f32], r2: &[Range<usize>], pad: usize) {
    let lo = r2[0].start.max(r2[1].start).max(r2[2].start);
    let hi = r2[0].end.min(r2[1].end).min(r2[2].end);
    if lo >= hi {
        for (k1, xr) in x.iter().enumerate() {
            row3(yrow, xr, &wk[k1 * 3..][..3], r2, pad);
        }
        return;
    }
    let n = hi - lo;
    let start = lo - pad;
    let [x0, x1, x2] = x.map(|r| &r[start..start + n + 2]);
    let w: [f32; 9] = wk.try_into().expect("nine taps");
    for (j, o) in yrow[lo..hi].iter_mut().enumerate() {
        let a = w[0] * x0[j] + w[1] * x0[j + 1] + w[2] * x0[j + 2];
        let b = w[3] * x1[j] + w[4] * x1[j + 1] + w[5] * x1[j + 2];
        let c = w[6] * x2[j] + w[7] * x2[j + 1] + w[8] * x2[j + 2];
        *o += a + b + c;
    }
    // The border columns, tap by tap.
    for (k1, xr) in x.iter().enumerate() {
        for (k2, r) in r2.iter().enumerate() {
            let wv = wk[k1 * 3 + k2];
            for o in (r.start..lo.min(r.end)).chain(hi.max(r.start)..r.end) {
                yrow[o] += wv * xr[o + k2 - pad];
            }
        }
    }
}

/// One output row of a 3-tap, stride-1, undilated depthwise row: the three taps fused in one pass
/// where all of them are inside the input, the generic axpy at the borders.
#[inline]
fn row3(yrow: &mut [f32], xrow: &[f32], wk: &[f32], r2: &[Range<usize>], pad: usize) {
    let (w0, w1, w2) = (wk[0], wk[1], wk[2]);
    // Outputs where taps 0..3 all read inside: the intersection of the three ranges.
    let lo = r2[0].start.max(r2[1].start).max(r2[2].start);
    let hi = r2[0].end.min(r2[1].end).min(r2[2].end);
    let tap = |o: usize, k: usize| o + k - pad;
    if lo < hi {
        let n = hi - lo;
        let xs = &xrow[tap(lo, 0)..tap(lo, 0) + n + 2];
        for (j, o) in yrow[lo..hi].iter_mut().enumerate() {
            *o += w0 * xs[j] + w1 * xs[j + 1] + w2 * xs[j + 2];
        }
    }
    for (k, r) in r2.iter().enumerate() {
        let wv = wk[k];
        let (head, tail) = if lo < hi {
            (r.start..lo.min(r.end), hi.max(r.start)..r.end)
        } else {
            (r.clone(), 0..0)
        };
        for o in head.chain(tail) {
            yrow[o] += wv * xrow[tap(o, k)];
        }
    }
}

/// f32 Conv for 1 to 3 spatial axes. `y` must hold the output (any contents).
pub(crate) fn conv_f32(x: &[f32], w: &[f32], bias: Option<&[f32]>, g: &ConvGeom, y: &mut [f32]) {
    let ax = pad3(&g.axes).expect("conv_f32 takes 1 to 3 spatial axes");
    let in_sp: usize = g.axes.iter().map(|a| a.input).product();
    let out_sp: usize = g.axes.iter().map(|a| a.output).product();
    let ksz: usize = g.axes.iter().map(|a| a.kernel).product();
    if y.is_empty() {
        return;
    }
    if g.is_depthwise() {
        depthwise(x, w, bias, g.in_channels, &ax, y);
        return;
    }
    let (cg, mg) = (g.in_channels / g.group, g.out_channels / g.group);
    let kdim = cg * ksz;
    let pointwise = ax.iter().all(Axis::is_identity);
    let scratch_len = if pointwise { 0 } else { kdim * out_sp };
    with_scratch(scratch_len, |col| {
        for n in 0..g.batch {
            for gi in 0..g.group {
                let xg = &x[(n * g.in_channels + gi * cg) * in_sp..][..cg * in_sp];
                let yg = &mut y[(n * g.out_channels + gi * mg) * out_sp..][..mg * out_sp];
                let beta = match bias {
                    Some(b) => {
                        for (row, &bv) in yg.chunks_mut(out_sp).zip(&b[gi * mg..]) {
                            row.fill(bv);
                        }
                        1.0
                    }
                    None => 0.0,
                };
                let rhs: &[f32] = if pointwise {
                    xg
                } else {
                    im2col(xg, cg, &ax, col);
                    col
                };
                sgemm(
                    mg,
                    kdim,
                    out_sp,
                    1.0,
                    MatRef::row_major(&w[gi * mg * kdim..][..mg * kdim], kdim, false),
                    MatRef::row_major(rhs, out_sp, false),
                    beta,
                    yg,
                    out_sp,
                );
            }
        }
    });
}

/// Calls `f` with every multi-index of `shape`, in row-major order.
fn for_each_index(shape: &[usize], mut f: impl FnMut(&[usize])) {
    if shape.contains(&0) {
        return;
    }
    let mut idx = vec![0; shape.len()];
    loop {
        f(&idx);
        let mut d = shape.len();
        loop {
            if d == 0 {
                return;
            }
            d -= 1;
            idx[d] += 1;
            if idx[d] < shape[d] {
                break;
            }
            idx[d] = 0;
        }
    }
}

/// Conv as the definition reads: direct nested loops, f64 accumulation, any number of spatial axes.
pub(crate) fn conv_reference<T: Elem>(
    x: &[T],
    w: &[T],
    bias: Option<&[T]>,
    g: &ConvGeom,
) -> Vec<T> {
    let nd = g.axes.len();
    let in_dims: Vec<usize> = g.axes.iter().map(|a| a.input).collect();
    let k_dims: Vec<usize> = g.axes.iter().map(|a| a.kernel).collect();
    let out_dims: Vec<usize> = g.axes.iter().map(|a| a.output).collect();
    let (in_sp, ksz, out_sp) = (numel(&in_dims), numel(&k_dims), numel(&out_dims));
    let (cg, mg) = (g.in_channels / g.group, g.out_channels / g.group);
    let mut y = vec![T::default(); g.batch * g.out_channels * out_sp];
    for n in 0..g.batch {
        for m in 0..g.out_channels {
            let gi = m / mg;
            let mut o_flat = 0;
            for_each_index(&out_dims, |o| {
                let mut acc = bias.map_or(0.0, |b| b[m].to_f64());
                for ci in 0..cg {
                    let c = gi * cg + ci;
                    let mut k_flat = 0;
                    for_each_index(&k_dims, |k| {
                        let mut i_flat = 0;
                        let mut inside = true;
                        for d in 0..nd {
                            let a = &g.axes[d];
                            let i =
                                (o[d] * a.stride + k[d] * a.dilation) as i64 - a.pad_begin as i64;
                            inside &= i >= 0 && i < a.input as i64;
                            i_flat = i_flat * a.input + i.max(0) as usize;
                        }
                        if inside {
                            acc += x[(n * g.in_channels + c) * in_sp + i_flat].to_f64()
                                * w[(m * cg + ci) * ksz + k_flat].to_f64();
                        }
                        k_flat += 1;
                    });
                }
                y[(n * g.out_channels + m) * out_sp + o_flat] = T::from_f64(acc);
                o_flat += 1;
            });
        }
    }
    y
}

/// Float weights (or a bias) converted to f32 once, when they are constants of the model.
#[derive(Clone, Debug)]
struct Prepared {
    dtype: DType,
    shape: Vec<usize>,
    values: Vec<f32>,
}

impl Prepared {
    fn from_const(ctx: &BuildCtx, i: usize) -> Option<Prepared> {
        let t = ctx.const_input(i)?;
        matches!(t.dtype(), DType::F32 | DType::F16 | DType::BF16).then(|| Prepared {
            dtype: t.dtype(),
            shape: t.shape().to_vec(),
            values: t.to_f32_vec(),
        })
    }
}

/// An operand as f32: prepared at build time, borrowed when it is f32, converted otherwise.
fn f32_operand<'a>(
    prepared: &'a Option<Prepared>,
    t: Option<&'a Tensor>,
) -> Option<Cow<'a, [f32]>> {
    match (prepared, t) {
        (Some(p), _) => Some(Cow::Borrowed(&p.values)),
        (None, Some(t)) => Some(match t.as_slice::<f32>() {
            Some(v) => Cow::Borrowed(v),
            None => Cow::Owned(t.to_f32_vec()),
        }),
        (None, None) => None,
    }
}

/// Weights or bias as f64 for the reference path, whether prepared (f32-family constants) or fed.
fn f64_operand(prepared: &Option<Prepared>, t: Option<&Tensor>) -> Option<Vec<f64>> {
    match (prepared, t) {
        (Some(p), _) => Some(p.values.iter().map(|&v| v as f64).collect()),
        (None, Some(t)) => Some(t.to_f64_vec()),
        (None, None) => None,
    }
}

/// The shape and type of weights or bias, whether prepared or fed.
fn operand_info(prepared: &Option<Prepared>, t: Option<&Tensor>) -> Option<(DType, Vec<usize>)> {
    match (prepared, t) {
        (Some(p), _) => Some((p.dtype, p.shape.clone())),
        (None, Some(t)) => Some((t.dtype(), t.shape().to_vec())),
        (None, None) => None,
    }
}

struct Conv {
    win: Window,
    group: usize,
    weights: Option<Prepared>,
    bias: Option<Prepared>,
}

fn build_conv(ctx: &BuildCtx) -> Result<Box<dyn Kernel>> {
    let group = ctx.attr_int("group", 1)?;
    ensure!(group >= 1, "group must be at least 1, got {group}");
    Ok(Box::new(Conv {
        win: Window::from_ctx(ctx)?,
        group: group as usize,
        weights: Prepared::from_const(ctx, 1),
        bias: Prepared::from_const(ctx, 2),
    }))
}

/// Checks the weights' and bias' types and the bias' length against the input.
fn check_operands(
    x: &Tensor,
    w: &(DType, Vec<usize>),
    b: &Option<(DType, Vec<usize>)>,
    channels: usize,
) -> Result<()> {
    ensure!(
        w.0 == x.dtype(),
        "weights are {}, the input is {}",
        w.0,
        x.dtype()
    );
    if let Some((bt, bs)) = b {
        ensure!(*bt == x.dtype(), "bias is {bt}, the input is {}", x.dtype());
        ensure!(
            bs.len() == 1 && bs[0] == channels,
            "bias has shape {bs:?}, expected [{channels}]"
        );
    }
    Ok(())
}

impl Kernel for Conv {
    fn run(&self, ctx: &mut RunCtx, inputs: &[Option<&Tensor>]) -> Result<Vec<Tensor>> {
        let x = input(inputs, 0)?;
        let w_in = if self.weights.is_some() {
            None
        } else {
            Some(input(inputs, 1)?)
        };
        let b_in = if self.bias.is_some() {
            None
        } else {
            opt_input(inputs, 2)
        };
        let w_info = operand_info(&self.weights, w_in).expect("weights are present");
        let b_info = operand_info(&self.bias, b_in);
        let g = ConvGeom::new(&self.win, self.group, x.shape(), &w_info.1)?;
        check_operands(x, &w_info, &b_info, g.out_channels)?;
        let out_shape = g.out_shape.clone();
        match x.dtype() {
            DType::F32 | DType::F16 | DType::BF16 if g.axes.len() <= 3 => {
                let xf = f32_operand(&None, Some(x)).expect("input");
                let wf = f32_operand(&self.weights, w_in).expect("weights");
                let bf = f32_operand(&self.bias, b_in);
                let mut y = ctx.alloc_f32(numel(&out_shape));
                conv_f32(&xf, &wf, bf.as_deref(), &g, &mut y);
                Ok(vec![Tensor::from_vec(out_shape, y).cast(x.dtype())])
            }
            DType::F32 | DType::F16 | DType::BF16 | DType::F64 => {
                let xf = x.to_f64_vec();
                let wf = f64_operand(&self.weights, w_in).expect("weights");
                let bf = f64_operand(&self.bias, b_in);
                let y = conv_reference(&xf, &wf, bf.as_deref(), &g);
                Ok(vec![Tensor::from_vec(out_shape, y).cast(x.dtype())])
            }
            t => bail!("Conv does not support {t} inputs"),
        }
    }
}

// ---------------------------------------------------------------------------------------------------
// ConvTranspose
// ---------------------------------------------------------------------------------------------------

/// A ConvTranspose's shapes. `axes[i].input` is the input's spatial size, `.output` the output's.
#[derive(Clone, Debug)]
pub(crate) struct TransposeGeom {
    pub batch: usize,
    pub in_channels: usize,
    pub out_channels: usize,
    pub group: usize,
    pub axes: Vec<Axis>,
    pub out_shape: Vec<usize>,
}

impl TransposeGeom {
    pub(crate) fn new(
        win: &Window,
        group: usize,
        output_padding: &Option<Vec<usize>>,
        output_shape: &Option<Vec<usize>>,
        xs: &[usize],
        ws: &[usize],
    ) -> Result<TransposeGeom> {
        ensure!(
            xs.len() >= 3,
            "input has shape {xs:?}, expected [N, C, spatial...]"
        );
        ensure!(
            ws.len() == xs.len(),
            "weights have shape {ws:?}, expected rank {} like the input {xs:?}",
            xs.len()
        );
        ensure!(group >= 1, "group must be at least 1");
        let nd = xs.len() - 2;
        let c = xs[1];
        ensure!(
            ws[0] == c && c % group == 0,
            "weights {ws:?} do not fit an input with {c} channels in {group} group(s)"
        );
        let m = ws[1] * group;
        let kernel = win.kernel(nd, Some(&ws[2..]))?;
        let strides = win.strides(nd)?;
        let dilations = win.dilations(nd)?;
        let out_pad = Window::per_axis(output_padding, "output_padding", nd, 0)?;
        // Older exporters wrote output_shape with the batch and channel dims.
        let out_req = match output_shape {
            Some(v) if v.len() == nd + 2 => Some(v[2..].to_vec()),
            Some(v) => {
                ensure!(
                    v.len() == nd,
                    "attribute 'output_shape' has {} values, expected {nd}",
                    v.len()
                );
                Some(v.clone())
            }
            None => None,
        };
        let pads = if win.auto_pad == AutoPad::NotSet {
            win.pads(nd)?
        } else {
            vec![0; 2 * nd]
        };
        let mut axes = vec![];
        for i in 0..nd {
            let (inp, k, s, d) = (xs[i + 2], kernel[i], strides[i], dilations[i]);
            let span = window_span(k, d)?;
            let natural = (inp.max(1) - 1)
                .checked_mul(s)
                .and_then(|v| v.checked_add(out_pad[i] + span))
                .ok_or_else(|| crate::RuntimeError::new("output size overflows"))?;
            let split = |total: usize| {
                if win.auto_pad == AutoPad::SameUpper {
                    (total / 2, total - total / 2)
                } else {
                    (total - total / 2, total / 2)
                }
            };
            let (pb, pe, out) = if let Some(req) = &out_req {
                let (pb, pe) = split(natural.saturating_sub(req[i]));
                (pb, pe, req[i])
            } else if matches!(win.auto_pad, AutoPad::SameUpper | AutoPad::SameLower) {
                let out = inp * s;
                let (pb, pe) = split(natural.saturating_sub(out));
                (pb, pe, out)
            } else {
                let (pb, pe) = (pads[i], pads[nd + i]);
                ensure!(
                    natural > pb + pe,
                    "spatial dim {i}: pads {pb}+{pe} leave no output"
                );
                (pb, pe, natural - pb - pe)
            };
            axes.push(Axis {
                input: inp,
                kernel: k,
                stride: s,
                dilation: d,
                pad_begin: pb,
                pad_end: pe,
                output: out,
            });
        }
        let mut out_shape = vec![xs[0], m];
        out_shape.extend(axes.iter().map(|a| a.output));
        checked_numel(&out_shape)?;
        Ok(TransposeGeom {
            batch: xs[0],
            in_channels: c,
            out_channels: m,
            group,
            axes,
            out_shape,
        })
    }
}

/// Adds the columns of one output channel (`ksz × input_size`, one row per tap) into its plane.
fn col2im(col: &[f32], ax: &[Axis; 3], plane: &mut [f32]) {
    let [a0, a1, a2] = ax;
    let in_sp = a0.input * a1.input * a2.input;
    let mut r = 0;
    for k0 in 0..a0.kernel {
        let r0 = a0.in_range(k0);
        for k1 in 0..a1.kernel {
            let r1 = a1.in_range(k1);
            for k2 in 0..a2.kernel {
                let row = &col[r * in_sp..][..in_sp];
                r += 1;
                let r2 = a2.in_range(k2);
                if r2.is_empty() {
                    continue;
                }
                for i0 in r0.clone() {
                    let o0 = a0.src(i0, k0);
                    for i1 in r1.clone() {
                        let o1 = a1.src(i1, k1);
                        let src = &row[(i0 * a1.input + i1) * a2.input..][..a2.input];
                        let dst = &mut plane[(o0 * a1.output + o1) * a2.output..][..a2.output];
                        for i2 in r2.clone() {
                            dst[a2.src(i2, k2)] += src[i2];
                        }
                    }
                }
            }
        }
    }
}

/// f32 ConvTranspose for 1 to 3 spatial axes. `y` must be zero-filled.
pub(crate) fn conv_transpose_f32(
    x: &[f32],
    w: &[f32],
    bias: Option<&[f32]>,
    g: &TransposeGeom,
    y: &mut [f32],
) {
    let ax = pad3(&g.axes).expect("conv_transpose_f32 takes 1 to 3 spatial axes");
    let in_sp: usize = g.axes.iter().map(|a| a.input).product();
    let out_sp: usize = g.axes.iter().map(|a| a.output).product();
    let ksz: usize = g.axes.iter().map(|a| a.kernel).product();
    if out_sp == 0 || y.is_empty() {
        return;
    }
    let (cg, mg) = (g.in_channels / g.group, g.out_channels / g.group);
    let rows = mg * ksz;
    with_scratch(rows * in_sp, |col| {
        for n in 0..g.batch {
            for gi in 0..g.group {
                let xg = &x[(n * g.in_channels + gi * cg) * in_sp..][..cg * in_sp];
                let wg = &w[gi * cg * rows..][..cg * rows];
                // col (mg·ksz × in_sp) = Wgᵀ (mg·ksz × cg) · Xg (cg × in_sp)
                sgemm(
                    rows,
                    cg,
                    in_sp,
                    1.0,
                    MatRef::row_major(wg, rows, true),
                    MatRef::row_major(xg, in_sp, false),
                    0.0,
                    col,
                    in_sp,
                );
                let yg = &mut y[(n * g.out_channels + gi * mg) * out_sp..][..mg * out_sp];
                let col = &*col;
                for_each_chunk(yg, out_sp, rows * in_sp, |mm, plane| {
                    col2im(&col[mm * ksz * in_sp..][..ksz * in_sp], &ax, plane);
                    if let Some(b) = bias {
                        let bv = b[gi * mg + mm];
                        plane.iter_mut().for_each(|v| *v += bv);
                    }
                });
            }
        }
    });
}

/// ConvTranspose as the definition reads: every input element times every tap, added where it lands.
pub(crate) fn conv_transpose_reference<T: Elem>(
    x: &[T],
    w: &[T],
    bias: Option<&[T]>,
    g: &TransposeGeom,
) -> Vec<T> {
    let nd = g.axes.len();
    let in_dims: Vec<usize> = g.axes.iter().map(|a| a.input).collect();
    let k_dims: Vec<usize> = g.axes.iter().map(|a| a.kernel).collect();
    let out_dims: Vec<usize> = g.axes.iter().map(|a| a.output).collect();
    let (in_sp, ksz, out_sp) = (numel(&in_dims), numel(&k_dims), numel(&out_dims));
    let (cg, mg) = (g.in_channels / g.group, g.out_channels / g.group);
    let mut acc = vec![0f64; g.batch * g.out_channels * out_sp];
    for n in 0..g.batch {
        for c in 0..g.in_channels {
            let gi = c / cg;
            let mut i_flat = 0;
            for_each_index(&in_dims, |i| {
                let xv = x[(n * g.in_channels + c) * in_sp + i_flat].to_f64();
                i_flat += 1;
                let mut k_flat = 0;
                for_each_index(&k_dims, |k| {
                    let mut o_flat = 0;
                    let mut inside = true;
                    for d in 0..nd {
                        let a = &g.axes[d];
                        let o = (i[d] * a.stride + k[d] * a.dilation) as i64 - a.pad_begin as i64;
                        inside &= o >= 0 && o < a.output as i64;
                        o_flat = o_flat * a.output + o.max(0) as usize;
                    }
                    if inside {
                        for mm in 0..mg {
                            let m = gi * mg + mm;
                            acc[(n * g.out_channels + m) * out_sp + o_flat] +=
                                xv * w[(c * mg + mm) * ksz + k_flat].to_f64();
                        }
                    }
                    k_flat += 1;
                });
            });
        }
    }
    if let Some(b) = bias {
        for (i, v) in acc.iter_mut().enumerate() {
            *v += b[(i / out_sp) % g.out_channels].to_f64();
        }
    }
    acc.into_iter().map(T::from_f64).collect()
}

struct ConvTranspose {
    win: Window,
    group: usize,
    output_padding: Option<Vec<usize>>,
    output_shape: Option<Vec<usize>>,
    weights: Option<Prepared>,
    bias: Option<Prepared>,
}

fn build_conv_transpose(ctx: &BuildCtx) -> Result<Box<dyn Kernel>> {
    let group = ctx.attr_int("group", 1)?;
    ensure!(group >= 1, "group must be at least 1, got {group}");
    Ok(Box::new(ConvTranspose {
        win: Window::from_ctx(ctx)?,
        group: group as usize,
        output_padding: usize_list(ctx, "output_padding", 0)?,
        output_shape: usize_list(ctx, "output_shape", 0)?,
        weights: Prepared::from_const(ctx, 1),
        bias: Prepared::from_const(ctx, 2),
    }))
}

impl Kernel for ConvTranspose {
    fn run(&self, ctx: &mut RunCtx, inputs: &[Option<&Tensor>]) -> Result<Vec<Tensor>> {
        let x = input(inputs, 0)?;
        let w_in = if self.weights.is_some() {
            None
        } else {
            Some(input(inputs, 1)?)
        };
        let b_in = if self.bias.is_some() {
            None
        } else {
            opt_input(inputs, 2)
        };
        let w_info = operand_info(&self.weights, w_in).expect("weights are present");
        let b_info = operand_info(&self.bias, b_in);
        let g = TransposeGeom::new(
            &self.win,
            self.group,
            &self.output_padding,
            &self.output_shape,
            x.shape(),
            &w_info.1,
        )?;
        check_operands(x, &w_info, &b_info, g.out_channels)?;
        let out_shape = g.out_shape.clone();
        match x.dtype() {
            DType::F32 | DType::F16 | DType::BF16 if g.axes.len() <= 3 => {
                let xf = f32_operand(&None, Some(x)).expect("input");
                let wf = f32_operand(&self.weights, w_in).expect("weights");
                let bf = f32_operand(&self.bias, b_in);
                let mut y = ctx.alloc_f32(numel(&out_shape));
                conv_transpose_f32(&xf, &wf, bf.as_deref(), &g, &mut y);
                Ok(vec![Tensor::from_vec(out_shape, y).cast(x.dtype())])
            }
            DType::F32 | DType::F16 | DType::BF16 | DType::F64 => {
                let xf = x.to_f64_vec();
                let wf = f64_operand(&self.weights, w_in).expect("weights");
                let bf = f64_operand(&self.bias, b_in);
                let y = conv_transpose_reference(&xf, &wf, bf.as_deref(), &g);
                Ok(vec![Tensor::from_vec(out_shape, y).cast(x.dtype())])
            }
            t => bail!("ConvTranspose does not support {t} inputs"),
        }
    }
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

    fn random(n: usize, seed: &mut u64) -> Vec<f32> {
        (0..n).map(|_| lcg(seed)).collect()
    }

    fn close(got: &[f32], want: &[f32], k: usize, what: &str) {
        assert_eq!(got.len(), want.len(), "{what}");
        let tol = 1e-5 * (k as f32).sqrt().max(1.0);
        for (i, (g, w)) in got.iter().zip(want).enumerate() {
            assert!(
                (g - w).abs() <= tol * (1.0 + w.abs()),
                "{what}: [{i}] {g} vs {w}"
            );
        }
    }

    /// A random convolution configuration; `kind` steers it to depthwise (1), pointwise (2) or
    /// grouped/general (0).
    struct Config {
        xs: Vec<usize>,
        ws: Vec<usize>,
        win: Window,
        group: usize,
        bias: bool,
    }

    fn config(case: usize, seed: &mut u64, transpose: bool) -> Config {
        let mut pick = |n: usize| ((lcg(seed) + 1.0) * 0.5 * n as f32) as usize % n;
        let nd = 1 + case % 3;
        let kind = (case / 3) % 3;
        let group = match kind {
            1 => 0, // depthwise: decided below
            _ => 1 + pick(3),
        };
        let cg = 1 + pick(3);
        let mg = 1 + pick(3);
        let (group, cg, mg) = if kind == 1 && !transpose {
            let c = 1 + pick(6);
            (c, 1, 1)
        } else {
            (group, cg, mg)
        };
        let max_dim = if nd == 3 { 6 } else { 11 };
        let spatial: Vec<usize> = (0..nd).map(|_| 1 + pick(max_dim)).collect();
        let pointwise = kind == 2;
        let kernel: Vec<usize> = (0..nd)
            .map(|_| if pointwise { 1 } else { 1 + pick(4) })
            .collect();
        let strides: Vec<usize> = (0..nd)
            .map(|_| {
                if pointwise && pick(2) == 0 {
                    1
                } else {
                    1 + pick(3)
                }
            })
            .collect();
        let dil: Vec<usize> = (0..nd).map(|_| 1 + pick(2)).collect();
        let pads: Vec<usize> = (0..2 * nd)
            .map(|_| {
                if pointwise && pick(2) == 0 {
                    0
                } else {
                    pick(3)
                }
            })
            .collect();
        let auto_pad = [
            AutoPad::NotSet,
            AutoPad::NotSet,
            AutoPad::NotSet,
            AutoPad::SameUpper,
            AutoPad::SameLower,
            AutoPad::Valid,
        ][pick(6)];
        let batch = 1 + pick(2);
        let mut xs = vec![batch, group * cg];
        xs.extend(&spatial);
        let mut ws = if transpose {
            vec![group * cg, mg]
        } else {
            vec![group * mg, cg]
        };
        ws.extend(&kernel);
        Config {
            xs,
            ws,
            win: Window::for_test(auto_pad, None, Some(strides), Some(dil), Some(pads)),
            group,
            bias: pick(2) == 1,
        }
    }

    #[test]
    fn conv_matches_reference_on_random_configs() {
        let mut seed = 1u64;
        let mut checked = 0;
        for case in 0..400 {
            let c = config(case, &mut seed, false);
            let Ok(g) = ConvGeom::new(&c.win, c.group, &c.xs, &c.ws) else {
                continue;
            };
            let x = random(numel(&c.xs), &mut seed);
            let w = random(numel(&c.ws), &mut seed);
            let b = c.bias.then(|| random(g.out_channels, &mut seed));
            let want = conv_reference(&x, &w, b.as_deref(), &g);
            // Garbage in the output buffer must not leak (the pool hands out recycled buffers).
            let mut got = vec![f32::NAN; numel(&g.out_shape)];
            for threads in [1, 2] {
                let pool = rayon::ThreadPoolBuilder::new()
                    .num_threads(threads)
                    .build()
                    .unwrap();
                pool.install(|| conv_f32(&x, &w, b.as_deref(), &g, &mut got));
                let k = c.ws[1..].iter().product();
                close(
                    &got,
                    &want,
                    k,
                    &format!("case {case}: {:?} {:?} {g:?}", c.xs, c.ws),
                );
            }
            checked += 1;
        }
        assert!(checked > 300, "only {checked} valid configs");
    }

    #[test]
    fn conv_fast_paths_on_larger_shapes() {
        // Big enough to take the parallel branches of im2col, the depthwise kernel and sgemm.
        let mut seed = 5u64;
        for (xs, ws, group, s, p, d) in [
            (vec![1, 8, 40, 40], vec![16, 8, 3, 3], 1, 1, 1, 1),
            (vec![2, 16, 33, 31], vec![16, 1, 3, 3], 16, 1, 1, 1),
            (vec![1, 16, 33, 31], vec![16, 1, 3, 3], 16, 2, 1, 1),
            (vec![1, 24, 30, 30], vec![24, 1, 5, 5], 24, 1, 2, 2),
            // The fused 3×3 depthwise rows: no padding, wide padding, rows narrower than the kernel.
            (vec![1, 8, 9, 9], vec![8, 1, 3, 3], 8, 1, 0, 1),
            (vec![1, 8, 9, 9], vec![8, 1, 3, 3], 8, 1, 2, 1),
            (vec![1, 8, 5, 2], vec![8, 1, 3, 3], 8, 1, 1, 1),
            (vec![1, 8, 5, 6, 7], vec![8, 1, 3, 3, 3], 8, 1, 1, 1),
            (vec![1, 32, 30, 30], vec![64, 32, 1, 1], 1, 1, 0, 1),
            (vec![1, 32, 30, 30], vec![64, 8, 3, 3], 4, 2, 1, 1),
        ] {
            let nd = xs.len() - 2;
            let win = Window::for_test(
                AutoPad::NotSet,
                None,
                Some(vec![s; nd]),
                Some(vec![d; nd]),
                Some(vec![p; 2 * nd]),
            );
            let g = ConvGeom::new(&win, group, &xs, &ws).unwrap();
            let x = random(numel(&xs), &mut seed);
            let w = random(numel(&ws), &mut seed);
            let b = random(g.out_channels, &mut seed);
            let want = conv_reference(&x, &w, Some(&b), &g);
            let mut got = vec![f32::NAN; want.len()];
            conv_f32(&x, &w, Some(&b), &g, &mut got);
            close(
                &got,
                &want,
                ws[1..].iter().product(),
                &format!("{xs:?} {ws:?}"),
            );
        }
    }

    #[test]
    fn conv_transpose_matches_reference_on_random_configs() {
        let mut seed = 2u64;
        let mut checked = 0;
        for case in 0..400 {
            let c = config(case, &mut seed, true);
            let nd = c.xs.len() - 2;
            let mut pick = |n: usize| ((lcg(&mut seed) + 1.0) * 0.5 * n as f32) as usize % n;
            let output_padding = (pick(3) == 0).then(|| (0..nd).map(|_| pick(2)).collect());
            let output_shape = (pick(5) == 0).then(|| (0..nd).map(|_| 1 + pick(12)).collect());
            let Ok(g) = TransposeGeom::new(
                &c.win,
                c.group,
                &output_padding,
                &output_shape,
                &c.xs,
                &c.ws,
            ) else {
                continue;
            };
            let x = random(numel(&c.xs), &mut seed);
            let w = random(numel(&c.ws), &mut seed);
            let b = c.bias.then(|| random(g.out_channels, &mut seed));
            let want = conv_transpose_reference(&x, &w, b.as_deref(), &g);
            let mut got = vec![0.0; numel(&g.out_shape)];
            conv_transpose_f32(&x, &w, b.as_deref(), &g, &mut got);
            close(
                &got,
                &want,
                c.xs[1],
                &format!("case {case}: {:?} {:?} {g:?}", c.xs, c.ws),
            );
            checked += 1;
        }
        assert!(checked > 200, "only {checked} valid configs");
    }

    #[test]
    fn geometry_follows_onnx() {
        let same = |ap, input: usize, k: usize, s: usize| {
            let win = Window::for_test(ap, None, Some(vec![s]), None, None);
            let a = forward_axes(&win, &[input], &[k], false).unwrap()[0];
            (a.pad_begin, a.pad_end, a.output)
        };
        assert_eq!(same(AutoPad::SameUpper, 5, 3, 2), (1, 1, 3));
        assert_eq!(same(AutoPad::SameUpper, 4, 2, 1), (0, 1, 4));
        assert_eq!(same(AutoPad::SameLower, 4, 2, 1), (1, 0, 4));
        assert_eq!(same(AutoPad::Valid, 7, 3, 2), (0, 0, 3));
        // ceil_mode: the last window must start inside input + leading padding.
        let win = Window::for_test(AutoPad::NotSet, None, Some(vec![2]), None, None);
        assert_eq!(forward_axes(&win, &[2], &[1], true).unwrap()[0].output, 1);
        assert_eq!(forward_axes(&win, &[4], &[3], true).unwrap()[0].output, 2);
        // A window larger than the padded input is an error, not a panic.
        let win = Window::for_test(AutoPad::NotSet, None, None, Some(vec![4]), None);
        assert!(forward_axes(&win, &[5], &[3], false).is_err());
    }

    #[test]
    fn bad_shapes_are_errors() {
        let win = Window::for_test(AutoPad::NotSet, None, None, None, None);
        assert!(ConvGeom::new(&win, 1, &[1, 3, 8], &[4, 2, 3]).is_err());
        assert!(ConvGeom::new(&win, 2, &[1, 3, 8], &[4, 1, 3]).is_err());
        assert!(ConvGeom::new(&win, 1, &[1, 3], &[4, 3]).is_err());
        assert!(ConvGeom::new(&win, 1, &[1, 3, 8, 8], &[4, 3, 3]).is_err());
        let win = Window::for_test(AutoPad::NotSet, Some(vec![5]), None, None, None);
        assert!(ConvGeom::new(&win, 1, &[1, 3, 8], &[4, 3, 3]).is_err());
    }

    /// `cargo test --release -p onnxqc-runtime conv_speed -- --ignored --nocapture`
    #[test]
    #[ignore]
    fn conv_speed() {
        let mut seed = 3u64;
        for (name, xs, ws, group) in [
            (
                "3x3 conv 64->64 @56x56",
                vec![1, 64, 56, 56],
                vec![64, 64, 3, 3],
                1,
            ),
            (
                "depthwise 3x3 96 @56x56",
                vec![1, 96, 56, 56],
                vec![96, 1, 3, 3],
                96,
            ),
            (
                "1x1 conv 64->256 @56x56",
                vec![1, 64, 56, 56],
                vec![256, 64, 1, 1],
                1,
            ),
        ] {
            let win = Window::for_test(AutoPad::NotSet, None, None, None, Some(vec![ws[2] / 2; 4]));
            let g = ConvGeom::new(&win, group, &xs, &ws).unwrap();
            let x = random(numel(&xs), &mut seed);
            let w = random(numel(&ws), &mut seed);
            let b = random(g.out_channels, &mut seed);
            let mut y = vec![0.0; numel(&g.out_shape)];
            let flops = 2.0 * numel(&g.out_shape) as f64 * (ws[1] * ws[2] * ws[3]) as f64;
            for threads in [1, 2] {
                let pool = rayon::ThreadPoolBuilder::new()
                    .num_threads(threads)
                    .build()
                    .unwrap();
                pool.install(|| {
                    // The best of many runs: the machine is shared, the minimum is the kernel's.
                    let mut s = f64::INFINITY;
                    for _ in 0..40 {
                        let t = std::time::Instant::now();
                        conv_f32(&x, &w, Some(&b), &g, &mut y);
                        s = s.min(t.elapsed().as_secs_f64());
                    }
                    println!(
                        "{name}, {threads} thread(s): {:.3} ms, {:.1} GFLOP/s",
                        s * 1e3,
                        flops / s / 1e9
                    );
                });
            }
        }
    }
}

#[cfg(test)]
mod session_tests {
    use crate::tensor::{numel, DType, Tensor};
    use crate::Session;

    fn lcg(seed: &mut u64) -> f32 {
        *seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((*seed >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
    }

    /// A constant as a text-IR literal (hex, so values are exact).
    fn literal(t: &Tensor) -> String {
        let hex: String = crate::tensor::encode_le(t.data())
            .iter()
            .map(|b| format!("{b:02X}"))
            .collect();
        format!("dense<\"0x{hex}\"> : {}", ty(t.shape(), t.dtype()))
    }

    fn ty(shape: &[usize], dtype: DType) -> String {
        let dims: String = shape.iter().map(|d| format!("{d}x")).collect();
        format!("tensor<{dims}{}>", dtype.scalar())
    }

    /// Runs `op` on x, w, b with w and b either constants of the graph or fed inputs.
    fn run(op: &str, attrs: &str, x: &Tensor, w: &Tensor, b: &Tensor, consts: bool) -> Tensor {
        let (xt, wt, bt) = (
            ty(x.shape(), x.dtype()),
            ty(w.shape(), w.dtype()),
            ty(b.shape(), b.dtype()),
        );
        let (args, defs) = if consts {
            (
                String::new(),
                format!(
                    "%w = \"onnx.Constant\"() {{value = {}}} : () -> {wt}\n  %b = \"onnx.Constant\"() {{value = {}}} : () -> {bt}",
                    literal(w),
                    literal(b)
                ),
            )
        } else {
            (format!(", %w: {wt}, %b: {bt}"), String::new())
        };
        let text = format!(
            "func.func @main(%x: {xt}{args}) -> tensor<*x{}> {{
  {defs}
  %y = \"onnx.{op}\"(%x, %w, %b) {{{attrs}}} : ({xt}, {wt}, {bt}) -> tensor<*x{}>
  func.return %y : tensor<*x{}>
}}",
            x.dtype().scalar(),
            x.dtype().scalar(),
            x.dtype().scalar()
        );
        let m = onnxqc_ir::parse::parse_module(&text, 0).expect("test IR parses");
        let s = Session::new(&m).unwrap();
        let mut inputs = vec![("x", x.clone())];
        if !consts {
            inputs.push(("w", w.clone()));
            inputs.push(("b", b.clone()));
        }
        s.run(inputs).unwrap().into_vec().remove(0).1
    }

    #[test]
    fn constant_weights_give_the_same_results() {
        let mut seed = 21u64;
        let mut rand = |shape: Vec<usize>, dtype: DType| {
            let v: Vec<f32> = (0..numel(&shape)).map(|_| lcg(&mut seed)).collect();
            Tensor::from_vec(shape, v).cast(dtype)
        };
        for dtype in [DType::F32, DType::F16, DType::F64] {
            for (op, attrs, xs, ws, bs) in [
                (
                    "Conv",
                    "pads = [1, 1, 1, 1]",
                    vec![1, 4, 6, 6],
                    vec![6, 4, 3, 3],
                    6,
                ),
                (
                    "Conv",
                    "group = 4, strides = [2, 2]",
                    vec![2, 4, 7, 7],
                    vec![4, 1, 3, 3],
                    4,
                ),
                (
                    "ConvTranspose",
                    "strides = [2, 2], group = 2",
                    vec![1, 4, 3, 3],
                    vec![4, 3, 2, 2],
                    6,
                ),
            ] {
                let x = rand(xs, dtype);
                let w = rand(ws, dtype);
                let b = rand(vec![bs], dtype);
                let fed = run(op, attrs, &x, &w, &b, false);
                let folded = run(op, attrs, &x, &w, &b, true);
                assert_eq!(fed.dtype(), dtype);
                assert_eq!(fed, folded, "{op} {attrs} {dtype}");
            }
        }
    }
}
