//! Resize and Upsample: nearest, (bi)linear and cubic resampling of N-D tensors, with every coordinate
//! transformation, rounding mode and sizing rule of Resize-10 through Resize-19 (axes, scales or sizes,
//! keep_aspect_ratio_policy, antialias, exclude_outside, tf_crop_and_resize with extrapolation).
//!
//! Each resized axis first gets a tap table ([`AxisMap`]): for every output index, the source indices
//! and weights the mode's kernel gives at the transformed coordinate. The semantics live there and
//! follow ONNX's reference implementation (which generates the node tests' expected outputs); the
//! data work is then table-driven:
//! - nearest is a gather, for every element type, with repeated rows copied and integer-factor
//!   upsampling of the last axis done by filling runs;
//! - linear and cubic are separable, one pass per resized axis, computed in f32 for f32/f16/bf16 and
//!   in f64 for f64 and integers (rounded half to even and saturated, as ONNX's reference does);
//! - the image case (only H and W resized, at most two taps per axis: bilinear, e.g. the 2×
//!   upsampling of detector necks) has a plane-by-plane f32 path that interpolates each source row
//!   once horizontally and blends pairs of such rows with contiguous vector loops.
//!
//! [`resize_reference`] computes every output element from the tap tables of all axes at once; the
//! tests compare the fast paths with it.

use std::ops::{Add, Mul};

use rayon::prelude::*;

use crate::error::{Result, RuntimeError};
use crate::kernels::{input, opt_input, BuildCtx, Kernel, Registry};
use crate::plan::RunCtx;
use crate::tensor::{numel, strides, DType, Data, Elem, Tensor};
use crate::{bail, ensure, with_data};

pub fn register(r: &mut Registry) {
    r.add("onnx.Resize", build_resize);
    r.add("onnx.Upsample", build_upsample);
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Mode {
    Nearest,
    Linear,
    Cubic,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Coord {
    HalfPixel,
    HalfPixelSymmetric,
    PytorchHalfPixel,
    AlignCorners,
    Asymmetric,
    /// Resize-11 only.
    TfHalfPixelForNn,
    TfCropAndResize,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Rounding {
    RoundPreferFloor,
    RoundPreferCeil,
    Floor,
    Ceil,
    /// Resize-10 and Upsample, which predate `nearest_mode`: floor when upsampling, ceil when
    /// downsampling (onnxruntime's behaviour for them).
    Legacy,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Policy {
    Stretch,
    NotLarger,
    NotSmaller,
}

#[derive(Clone, Debug)]
struct Attrs {
    mode: Mode,
    coord: Coord,
    rounding: Rounding,
    cubic_a: f64,
    exclude_outside: bool,
    extrapolation: f64,
    antialias: bool,
    axes: Option<Vec<i64>>,
    policy: Policy,
}

impl Attrs {
    fn mode(name: &str) -> Result<Mode> {
        Ok(match name {
            "nearest" => Mode::Nearest,
            "linear" | "bilinear" => Mode::Linear,
            "cubic" => Mode::Cubic,
            m => bail!("unknown mode '{m}'"),
        })
    }

    /// Resize-10 and Upsample: only `mode`; asymmetric coordinates.
    fn legacy(b: &BuildCtx) -> Result<Attrs> {
        Ok(Attrs {
            mode: Attrs::mode(&b.attr_str("mode", "nearest")?)?,
            coord: Coord::Asymmetric,
            rounding: Rounding::Legacy,
            cubic_a: -0.75,
            exclude_outside: false,
            extrapolation: 0.0,
            antialias: false,
            axes: None,
            policy: Policy::Stretch,
        })
    }

    fn modern(b: &BuildCtx) -> Result<Attrs> {
        let coord = match b
            .attr_str("coordinate_transformation_mode", "half_pixel")?
            .as_str()
        {
            "half_pixel" => Coord::HalfPixel,
            "half_pixel_symmetric" => Coord::HalfPixelSymmetric,
            "pytorch_half_pixel" => Coord::PytorchHalfPixel,
            "align_corners" => Coord::AlignCorners,
            "asymmetric" => Coord::Asymmetric,
            "tf_half_pixel_for_nn" => Coord::TfHalfPixelForNn,
            "tf_crop_and_resize" => Coord::TfCropAndResize,
            m => bail!("unknown coordinate_transformation_mode '{m}'"),
        };
        let rounding = match b.attr_str("nearest_mode", "round_prefer_floor")?.as_str() {
            "round_prefer_floor" => Rounding::RoundPreferFloor,
            "round_prefer_ceil" => Rounding::RoundPreferCeil,
            "floor" => Rounding::Floor,
            "ceil" => Rounding::Ceil,
            m => bail!("unknown nearest_mode '{m}'"),
        };
        let policy = match b.attr_str("keep_aspect_ratio_policy", "stretch")?.as_str() {
            "stretch" => Policy::Stretch,
            "not_larger" => Policy::NotLarger,
            "not_smaller" => Policy::NotSmaller,
            m => bail!("unknown keep_aspect_ratio_policy '{m}'"),
        };
        let flag = |name: &str| -> Result<bool> {
            match b.attr_int(name, 0)? {
                0 => Ok(false),
                1 => Ok(true),
                v => bail!("{name} must be 0 or 1, got {v}"),
            }
        };
        Ok(Attrs {
            mode: Attrs::mode(&b.attr_str("mode", "nearest")?)?,
            coord,
            rounding,
            cubic_a: b.attr_float("cubic_coeff_a", -0.75)? as f64,
            exclude_outside: flag("exclude_outside")?,
            extrapolation: b.attr_float("extrapolation_value", 0.0)? as f64,
            antialias: flag("antialias")?,
            axes: b.attr_ints("axes")?,
            policy,
        })
    }
}

/// Where the op's operands are.
#[derive(Clone, Debug)]
enum Operands {
    /// Resize-11 and later: X, roi, scales, sizes.
    RoiScalesSizes,
    /// Resize-10 and Upsample-9: X, scales.
    Scales,
    /// Upsample-7: X, with the scales as an attribute.
    ScalesAttr(Vec<f64>),
}

struct Resize {
    attrs: Attrs,
    operands: Operands,
}

fn build_resize(b: &BuildCtx) -> Result<Box<dyn Kernel>> {
    let legacy = b.opset < 11;
    Ok(Box::new(Resize {
        attrs: if legacy {
            Attrs::legacy(b)?
        } else {
            Attrs::modern(b)?
        },
        operands: if legacy {
            Operands::Scales
        } else {
            Operands::RoiScalesSizes
        },
    }))
}

fn build_upsample(b: &BuildCtx) -> Result<Box<dyn Kernel>> {
    let operands = match b.attr_floats("scales")? {
        Some(s) if b.num_inputs() < 2 => {
            Operands::ScalesAttr(s.into_iter().map(|v| v as f64).collect())
        }
        _ => Operands::Scales,
    };
    Ok(Box::new(Resize {
        attrs: Attrs::legacy(b)?,
        operands,
    }))
}

/// How one axis is resampled: output index `o` reads source indices `idx[o·taps..][..taps]` (already
/// clamped into the input) with weights `wts[o·taps..][..taps]`.
#[derive(Clone, Debug, PartialEq)]
struct AxisMap {
    in_len: usize,
    out_len: usize,
    taps: usize,
    idx: Vec<usize>,
    wts: Vec<f64>,
    /// Output positions outside the crop box (tf_crop_and_resize), which take the extrapolation
    /// value; empty when there are none.
    outside: Vec<bool>,
}

impl AxisMap {
    fn identity(n: usize) -> AxisMap {
        AxisMap {
            in_len: n,
            out_len: n,
            taps: 1,
            idx: (0..n).collect(),
            wts: vec![1.0; n],
            outside: vec![],
        }
    }

    fn is_identity(&self) -> bool {
        self.in_len == self.out_len
            && self.outside.is_empty()
            && (0..self.out_len).all(|o| {
                let (i, w) = self.taps_of(o);
                i.iter()
                    .zip(w)
                    .all(|(&i, &w)| if i == o { w == 1.0 } else { w == 0.0 })
            })
    }

    fn taps_of(&self, o: usize) -> (&[usize], &[f64]) {
        let r = o * self.taps..(o + 1) * self.taps;
        (&self.idx[r.clone()], &self.wts[r])
    }

    fn is_outside(&self, o: usize) -> bool {
        !self.outside.is_empty() && self.outside[o]
    }
}

/// One axis's sizing: output length, the scale the coordinate transformation uses, and the crop box.
#[derive(Clone, Copy, Debug, PartialEq)]
struct AxisSize {
    out: usize,
    scale: f64,
    roi: (f64, f64),
}

/// The source coordinate of output index `y` (ONNX reference semantics: `out_w` is the unrounded
/// `scale · in`, which is what align_corners and the crop box divide by).
fn source_coord(a: &Attrs, y: usize, in_len: usize, s: &AxisSize) -> f64 {
    let y = y as f64;
    let n = in_len as f64;
    let scale = s.scale;
    let out_w = scale * n;
    match a.coord {
        Coord::HalfPixel => (y + 0.5) / scale - 0.5,
        Coord::HalfPixelSymmetric => {
            let adjustment = s.out as f64 / out_w;
            let offset = n / 2.0 * (1.0 - adjustment);
            offset + (y + 0.5) / scale - 0.5
        }
        // The spec (and onnxruntime) map a single output to 0; ONNX's reference uses -0.5, which
        // only differs for cubic.
        Coord::PytorchHalfPixel if out_w > 1.0 => (y + 0.5) / scale - 0.5,
        Coord::PytorchHalfPixel => 0.0,
        Coord::AlignCorners if out_w == 1.0 => 0.0,
        Coord::AlignCorners => y * (n - 1.0) / (out_w - 1.0),
        Coord::Asymmetric => y / scale,
        Coord::TfHalfPixelForNn => (y + 0.5) / scale,
        Coord::TfCropAndResize => {
            let (start, end) = s.roi;
            let x = if out_w == 1.0 {
                (end - start) * (n - 1.0) / 2.0
            } else {
                y * (end - start) * (n - 1.0) / (out_w - 1.0)
            };
            x + start * (n - 1.0)
        }
    }
}

fn cubic_coeffs(ratio: f64, a: f64) -> [f64; 4] {
    let r1 = ratio + 1.0;
    let q = 1.0 - ratio;
    let q1 = q + 1.0;
    [
        ((a * r1 - 5.0 * a) * r1 + 8.0 * a) * r1 - 4.0 * a,
        ((a + 2.0) * ratio - (a + 3.0)) * ratio * ratio + 1.0,
        ((a + 2.0) * q - (a + 3.0)) * q * q + 1.0,
        ((a * q1 - 5.0 * a) * q1 + 8.0 * a) * q1 - 4.0 * a,
    ]
}

fn cubic_kernel(x: f64, a: f64) -> f64 {
    let x = x.abs();
    let (x2, x3) = (x * x, x * x * x);
    if x <= 1.0 {
        (a + 2.0) * x3 - (a + 3.0) * x2 + 1.0
    } else if x < 2.0 {
        a * x3 - 5.0 * a * x2 + 8.0 * a * x - 4.0 * a
    } else {
        0.0
    }
}

/// Builds one axis's tap table.
fn axis_map(a: &Attrs, in_len: usize, s: &AxisSize) -> AxisMap {
    // Kernel footprint: taps are at p + start + i for i < taps.
    let (start, taps): (i64, usize) = match a.mode {
        Mode::Nearest => (0, 1),
        Mode::Linear if a.antialias => {
            let start = (-1.0 / s.scale.min(1.0)).floor() as i64 + 1;
            (start, (2 - 2 * start) as usize)
        }
        Mode::Linear => (0, 2),
        Mode::Cubic if a.antialias => {
            let start = (-2.0 / s.scale.min(1.0)).floor() as i64 + 1;
            (start, (2 - 2 * start) as usize)
        }
        Mode::Cubic => (-1, 4),
    };
    let mut idx = Vec::with_capacity(s.out * taps);
    let mut wts = Vec::with_capacity(s.out * taps);
    let mut outside = vec![];
    let last = in_len as i64 - 1;
    let mut coeffs = vec![0f64; taps];
    for y in 0..s.out {
        let x = source_coord(a, y, in_len, s);
        if a.coord == Coord::TfCropAndResize && (x < 0.0 || x > last as f64) {
            if outside.is_empty() {
                outside = vec![false; s.out];
            }
            outside[y] = true;
        }
        // The reference takes the taps left of x: an integer x has ratio 1 to the tap before it.
        let fl = x.floor();
        let (p, ratio) = if x == fl {
            (fl as i64 - 1, 1.0)
        } else {
            (fl as i64, x - fl)
        };
        if a.mode == Mode::Nearest {
            let up = match a.rounding {
                _ if ratio == 1.0 => true,
                Rounding::RoundPreferFloor => ratio > 0.5,
                Rounding::RoundPreferCeil => ratio >= 0.5,
                Rounding::Floor => false,
                Rounding::Ceil => true,
                Rounding::Legacy => s.scale < 1.0,
            };
            let i = if up { p.saturating_add(1) } else { p };
            idx.push(i.clamp(0, last.max(0)) as usize);
            wts.push(1.0);
            continue;
        }
        match (a.mode, a.antialias) {
            (Mode::Linear, false) => coeffs.copy_from_slice(&[1.0 - ratio, ratio]),
            (Mode::Cubic, false) => coeffs.copy_from_slice(&cubic_coeffs(ratio, a.cubic_a)),
            (mode, _) => {
                let sc = s.scale.min(1.0);
                for (i, c) in coeffs.iter_mut().enumerate() {
                    let d = (start + i as i64) as f64 - ratio;
                    *c = if mode == Mode::Linear {
                        (1.0 - (d * sc).abs()).clamp(0.0, 1.0)
                    } else {
                        cubic_kernel(d * sc, a.cubic_a)
                    };
                }
                let sum: f64 = coeffs.iter().sum();
                coeffs.iter_mut().for_each(|c| *c /= sum);
            }
        }
        let tap = |i: usize| p.saturating_add(start).saturating_add(i as i64);
        if a.exclude_outside {
            for (i, c) in coeffs.iter_mut().enumerate() {
                if !(0..=last).contains(&tap(i)) {
                    *c = 0.0;
                }
            }
            let sum: f64 = coeffs.iter().sum();
            if sum != 0.0 {
                coeffs.iter_mut().for_each(|c| *c /= sum);
            }
        }
        for (i, &c) in coeffs.iter().enumerate() {
            idx.push(tap(i).clamp(0, last.max(0)) as usize);
            wts.push(c);
        }
    }
    AxisMap {
        in_len,
        out_len: s.out,
        taps,
        idx,
        wts,
        outside,
    }
}

/// Output length, scale and crop box of every axis, from scales or sizes (and axes, the aspect ratio
/// policy and roi), following the reference: scales give `floor(in · scale)`; sizes give
/// `scale = out / in`.
fn axis_sizes(
    a: &Attrs,
    shape: &[usize],
    scales: Option<&[f64]>,
    sizes: Option<&[i64]>,
    roi: Option<&[f64]>,
) -> Result<Vec<AxisSize>> {
    let r = shape.len();
    let axes: Vec<usize> = match &a.axes {
        None => (0..r).collect(),
        Some(ax) => {
            let mut out = Vec::with_capacity(ax.len());
            for &v in ax {
                let n = crate::tensor::norm_axis(v, r)?;
                ensure!(!out.contains(&n), "axis {v} is repeated in axes {ax:?}");
                out.push(n);
            }
            out
        }
    };
    let mut res: Vec<AxisSize> = shape
        .iter()
        .map(|&n| AxisSize {
            out: n,
            scale: 1.0,
            roi: (0.0, 1.0),
        })
        .collect();
    match (scales, sizes) {
        (Some(sc), _) => {
            ensure!(
                sc.len() == axes.len(),
                "{} scales for {} axes (input shape {shape:?})",
                sc.len(),
                axes.len()
            );
            for (&ax, &s) in axes.iter().zip(sc) {
                ensure!(
                    s.is_finite() && s > 0.0,
                    "scales must be positive, got {sc:?}"
                );
                let out = (s * shape[ax] as f64).floor();
                if out > (isize::MAX as usize / 16) as f64 {
                    bail!("scale {s} makes axis {ax} too large");
                }
                res[ax].out = out as usize;
                res[ax].scale = s;
            }
        }
        (None, Some(sz)) => {
            ensure!(
                sz.len() == axes.len(),
                "{} sizes for {} axes (input shape {shape:?})",
                sz.len(),
                axes.len()
            );
            for (&ax, &s) in axes.iter().zip(sz) {
                let out = usize::try_from(s)
                    .map_err(|_| RuntimeError::new(format!("negative size in sizes {sz:?}")))?;
                let n = shape[ax];
                ensure!(
                    n > 0 || out == 0,
                    "cannot resize the empty axis {ax} to {out} elements"
                );
                res[ax].out = out;
                res[ax].scale = if n == 0 { 1.0 } else { out as f64 / n as f64 };
            }
            if a.policy != Policy::Stretch && !axes.is_empty() {
                let pick = axes.iter().map(|&ax| res[ax].scale);
                let scale = if a.policy == Policy::NotLarger {
                    pick.fold(f64::INFINITY, f64::min)
                } else {
                    pick.fold(0.0, f64::max)
                };
                for &ax in &axes {
                    res[ax].scale = scale;
                    // The reference rounds half up.
                    res[ax].out = (scale * shape[ax] as f64 + 0.5).floor() as usize;
                }
            }
        }
        (None, None) => bail!("one of scales and sizes must be given"),
    }
    if let (Coord::TfCropAndResize, Some(roi)) = (a.coord, roi) {
        ensure!(
            roi.len() == 2 * axes.len(),
            "roi has {} values, expected {} (starts then ends of {} axes)",
            roi.len(),
            2 * axes.len(),
            axes.len()
        );
        for (i, &ax) in axes.iter().enumerate() {
            res[ax].roi = (roi[i], roi[axes.len() + i]);
        }
    }
    Ok(res)
}

/// Whether an axis is left as it is (the reference skips those, which matters for cubic and the
/// crop box only through rounding).
fn axis_unchanged(a: &Attrs, n: usize, s: &AxisSize) -> bool {
    s.out == n
        && (s.scale - 1.0).abs() <= 1e-9
        && (a.coord != Coord::TfCropAndResize
            || (s.roi.0.abs() <= 1e-9 && (s.roi.1 - 1.0).abs() <= 1e-9))
}

/// The float types the interpolating paths compute in.
trait Real: Elem + Add<Output = Self> + Mul<Output = Self> {}
impl Real for f32 {}
impl Real for f64 {}

/// Nearest neighbour for any element type: a gather through every axis's index table.
fn gather_nearest<T: Copy + Send + Sync>(
    src: &[T],
    in_shape: &[usize],
    maps: &[AxisMap],
    extrapolation: T,
) -> Vec<T> {
    let total: usize = maps.iter().map(|m| m.out_len).product();
    let mut out = vec![extrapolation; total];
    gather_nearest_into(src, in_shape, maps, extrapolation, &mut out);
    out
}

/// Writes every element of `src` `K` times in a row into `out` (integer-factor upsampling of the
/// last axis), in fixed-size stores the compiler can vectorise.
fn repeat_into<T: Copy, const K: usize>(out: &mut [T], src: &[T]) {
    for (c, &v) in out.chunks_exact_mut(K).zip(src) {
        let c: &mut [T; K] = c.try_into().expect("K elements");
        *c = [v; K];
    }
}

/// [`repeat_into`] for the most common factor, 2, four source elements at a time so the
/// duplication becomes vector shuffles.
fn repeat2_into<T: Copy>(out: &mut [T], src: &[T]) {
    for (o, s) in out.chunks_exact_mut(8).zip(src.chunks_exact(4)) {
        let o: &mut [T; 8] = o.try_into().expect("8 elements");
        *o = [s[0], s[0], s[1], s[1], s[2], s[2], s[3], s[3]];
    }
    let done = src.len() / 4 * 4;
    repeat_into::<T, 2>(&mut out[2 * done..], &src[done..]);
}

/// [`gather_nearest`] into `out`, which holds exactly the output's elements.
fn gather_nearest_into<T: Copy + Send + Sync>(
    src: &[T],
    in_shape: &[usize],
    maps: &[AxisMap],
    extrapolation: T,
    out: &mut [T],
) {
    let r = in_shape.len();
    let out_shape: Vec<usize> = maps.iter().map(|m| m.out_len).collect();
    let total = numel(&out_shape);
    if total == 0 {
        return;
    }
    if r == 0 {
        out.copy_from_slice(src);
        return;
    }
    let st = strides(in_shape);
    let offs: Vec<Vec<usize>> = maps
        .iter()
        .zip(&st)
        .map(|(m, &s)| m.idx.iter().map(|&i| i * s).collect())
        .collect();
    let w = out_shape[r - 1];
    let last = &maps[r - 1];
    // Integer-factor upsampling of the last axis: runs of one source element.
    let run = (last.out_len % last.in_len.max(1) == 0)
        .then(|| last.out_len / last.in_len.max(1))
        .filter(|&k| k > 1 && last.outside.is_empty() && (0..w).all(|j| last.idx[j] == j / k));
    let rows = total / w;
    let row_source = |row: usize| -> Option<usize> {
        let mut rem = row;
        let mut base = 0;
        for d in (0..r - 1).rev() {
            let i = rem % out_shape[d];
            rem /= out_shape[d];
            if maps[d].is_outside(i) {
                return None;
            }
            base += offs[d][i];
        }
        Some(base)
    };
    let fill_rows = |first: usize, out: &mut [T]| {
        let mut prev: Option<(usize, usize)> = None;
        for k in 0..out.len() / w {
            let Some(base) = row_source(first + k) else {
                out[k * w..(k + 1) * w].fill(extrapolation);
                prev = None;
                continue;
            };
            if let Some((pk, pb)) = prev {
                if pb == base {
                    // Upsampled rows repeat: copy the one already written.
                    out.copy_within(pk * w..(pk + 1) * w, k * w);
                    continue;
                }
            }
            let o = &mut out[k * w..(k + 1) * w];
            if let Some(f) = run {
                let srow = &src[base..base + w / f];
                match f {
                    2 => repeat2_into(o, srow),
                    3 => repeat_into::<T, 3>(o, srow),
                    4 => repeat_into::<T, 4>(o, srow),
                    _ => {
                        for (chunk, &v) in o.chunks_exact_mut(f).zip(srow) {
                            chunk.fill(v);
                        }
                    }
                }
            } else {
                for (j, x) in o.iter_mut().enumerate() {
                    *x = if last.is_outside(j) {
                        extrapolation
                    } else {
                        src[base + offs[r - 1][j]]
                    };
                }
            }
            prev = Some((k, base));
        }
    };
    if total >= PARALLEL_MIN && rayon::current_num_threads() > 1 {
        let per = rows.div_ceil(rayon::current_num_threads() * 4).max(1);
        out.par_chunks_mut(per * w)
            .enumerate()
            .for_each(|(c, o)| fill_rows(c * per, o));
    } else {
        fill_rows(0, out);
    }
}

/// Elements above which the data passes use several threads.
const PARALLEL_MIN: usize = 1 << 16;

/// One separable pass: resamples `axis` of `src` (shape `shape`) through its tap table.
fn interp_axis<F: Real>(
    src: &[F],
    shape: &[usize],
    axis: usize,
    map: &AxisMap,
    extrapolation: F,
) -> Vec<F> {
    let outer: usize = shape[..axis].iter().product();
    let inner: usize = shape[axis + 1..].iter().product();
    let (n_in, n_out, taps) = (shape[axis], map.out_len, map.taps);
    let total = outer * n_out * inner;
    if total == 0 {
        return vec![];
    }
    let wts: Vec<F> = map.wts.iter().map(|&w| F::from_f64(w)).collect();
    // One output row: `inner` contiguous elements of (outer, o).
    let row = |i: usize, dst: &mut [F]| {
        let (b, o) = (i / n_out, i % n_out);
        if map.is_outside(o) {
            dst.fill(extrapolation);
            return;
        }
        let base = b * n_in;
        let (idx, w) = (
            &map.idx[o * taps..(o + 1) * taps],
            &wts[o * taps..(o + 1) * taps],
        );
        let s0 = &src[(base + idx[0]) * inner..][..inner];
        for (d, &s) in dst.iter_mut().zip(s0) {
            *d = w[0] * s;
        }
        for k in 1..taps {
            let s = &src[(base + idx[k]) * inner..][..inner];
            let wk = w[k];
            for (d, &s) in dst.iter_mut().zip(s) {
                *d = *d + wk * s;
            }
        }
    };
    let mut out = vec![F::default(); total];
    let parallel = total * taps >= PARALLEL_MIN && rayon::current_num_threads() > 1;
    if inner == 1 {
        // Along the last axis: short dot products over one source line per output line.
        let line = |b: usize, dst: &mut [F]| {
            let srow = &src[b * n_in..(b + 1) * n_in];
            for (o, d) in dst.iter_mut().enumerate() {
                if map.is_outside(o) {
                    *d = extrapolation;
                    continue;
                }
                let idx = &map.idx[o * taps..(o + 1) * taps];
                let w = &wts[o * taps..(o + 1) * taps];
                let mut acc = w[0] * srow[idx[0]];
                for k in 1..taps {
                    acc = acc + w[k] * srow[idx[k]];
                }
                *d = acc;
            }
        };
        if parallel {
            out.par_chunks_mut(n_out)
                .with_min_len((4096 / n_out).max(1))
                .enumerate()
                .for_each(|(b, d)| line(b, d));
        } else {
            out.chunks_exact_mut(n_out)
                .enumerate()
                .for_each(|(b, d)| line(b, d));
        }
    } else if parallel {
        out.par_chunks_mut(inner)
            .with_min_len((4096 / inner).max(1))
            .enumerate()
            .for_each(|(i, d)| row(i, d));
    } else {
        out.chunks_exact_mut(inner)
            .enumerate()
            .for_each(|(i, d)| row(i, d));
    }
    out
}

/// The separable path: one pass per resized axis.
fn interp_separable<F: Real>(
    src: Vec<F>,
    in_shape: &[usize],
    maps: &[AxisMap],
    extrapolation: F,
) -> Vec<F> {
    let mut shape = in_shape.to_vec();
    let mut cur = src;
    // The last axis's pass gathers element by element while the others move whole contiguous
    // lines: run it while the tensor is smallest (first when it upsamples, last otherwise).
    let r = maps.len();
    let mut order: Vec<usize> = (0..r).collect();
    if r > 1 && maps[r - 1].out_len > maps[r - 1].in_len {
        order.rotate_right(1);
    }
    for axis in order {
        let m = &maps[axis];
        if m.is_identity() {
            continue;
        }
        cur = interp_axis(&cur, &shape, axis, m, extrapolation);
        shape[axis] = m.out_len;
    }
    cur
}

/// Whether the plane path applies: every resized axis is one of the last two, each has at most two
/// taps, and nothing lies outside a crop box.
fn plane_path_applies(maps: &[AxisMap]) -> bool {
    let r = maps.len();
    r >= 1
        && maps.iter().all(|m| m.taps <= 2 && m.outside.is_empty())
        && maps[..r.saturating_sub(2)].iter().all(|m| m.is_identity())
}

/// A two-tap table in f32: `(i0, i1, w0, w1)` per output index.
fn two_taps(m: &AxisMap) -> Vec<(usize, usize, f32, f32)> {
    (0..m.out_len)
        .map(|o| {
            let (i, w) = m.taps_of(o);
            if m.taps == 1 {
                (i[0], i[0], 1.0, 0.0)
            } else {
                (i[0], i[1], w[0] as f32, w[1] as f32)
            }
        })
        .collect()
}

/// The image path (f32): bilinear (or nearest) over the last two axes, plane by plane. Output rows
/// are blends of two horizontally interpolated source rows; those are computed once each and kept
/// while consecutive output rows read them.
fn resize_planes(src: &[f32], in_shape: &[usize], maps: &[AxisMap], out: &mut [f32]) {
    let r = maps.len();
    let (hmap, wmap) = if r >= 2 {
        (maps[r - 2].clone(), &maps[r - 1])
    } else {
        (AxisMap::identity(1), &maps[0])
    };
    let (h_in, w_in) = (hmap.in_len, wmap.in_len);
    let (h_out, w_out) = (hmap.out_len, wmap.out_len);
    let planes: usize = in_shape[..r.saturating_sub(2)].iter().product();
    let total = planes * h_out * w_out;
    if total == 0 {
        return;
    }
    let xt = two_taps(wmap);
    let yt = two_taps(&hmap);
    let h_row = |src_row: &[f32], dst: &mut [f32]| {
        for (d, &(i0, i1, w0, w1)) in dst.iter_mut().zip(&xt) {
            *d = w0 * src_row[i0] + w1 * src_row[i1];
        }
    };
    // Output rows [y0, y0 + rows) of one plane.
    let band = |plane: &[f32], y0: usize, out: &mut [f32]| {
        // Two cached horizontally resampled source rows, tagged with their index.
        let mut cache = [
            (usize::MAX, vec![0f32; w_out]),
            (usize::MAX, vec![0f32; w_out]),
        ];
        for (k, o) in out.chunks_exact_mut(w_out).enumerate() {
            let (a, b, wa, wb) = yt[y0 + k];
            for want in [a, b] {
                if cache[0].0 != want && cache[1].0 != want {
                    // Evict the slot the current row does not need.
                    let slot = if cache[0].0 == a || cache[0].0 == b {
                        1
                    } else {
                        0
                    };
                    h_row(&plane[want * w_in..(want + 1) * w_in], &mut cache[slot].1);
                    cache[slot].0 = want;
                }
            }
            let ra = if cache[0].0 == a {
                &cache[0].1
            } else {
                &cache[1].1
            };
            if wb == 0.0 || a == b {
                let wsum = if a == b { wa + wb } else { wa };
                if wsum == 1.0 {
                    o.copy_from_slice(ra);
                } else {
                    for (d, &x) in o.iter_mut().zip(ra) {
                        *d = wsum * x;
                    }
                }
            } else {
                let rb = if cache[0].0 == b {
                    &cache[0].1
                } else {
                    &cache[1].1
                };
                for ((d, &x), &y) in o.iter_mut().zip(ra).zip(rb) {
                    *d = wa * x + wb * y;
                }
            }
        }
    };
    let threads = rayon::current_num_threads();
    let plane_out = h_out * w_out;
    if total >= PARALLEL_MIN && threads > 1 {
        // Split planes into row bands so a single large image also uses every thread.
        let bands = threads.div_ceil(planes).max(1);
        let rows = h_out.div_ceil(bands).max(1);
        out.par_chunks_mut(plane_out)
            .enumerate()
            .for_each(|(p, po)| {
                let plane = &src[p * h_in * w_in..(p + 1) * h_in * w_in];
                po.par_chunks_mut(rows * w_out)
                    .enumerate()
                    .for_each(|(bi, o)| band(plane, bi * rows, o));
            });
    } else {
        for (p, po) in out.chunks_exact_mut(plane_out).enumerate() {
            band(&src[p * h_in * w_in..(p + 1) * h_in * w_in], 0, po);
        }
    }
}

/// The plain version: every output element as the sum over all combinations of its taps on every
/// axis, in f64.
#[cfg_attr(not(test), allow(dead_code))]
fn resize_reference(
    src: &[f64],
    in_shape: &[usize],
    maps: &[AxisMap],
    extrapolation: f64,
) -> Vec<f64> {
    let out_shape: Vec<usize> = maps.iter().map(|m| m.out_len).collect();
    let st = strides(in_shape);
    let r = in_shape.len();
    let mut out = Vec::with_capacity(numel(&out_shape));
    let mut pos = vec![0usize; r];
    for _ in 0..numel(&out_shape) {
        if (0..r).any(|d| maps[d].is_outside(pos[d])) {
            out.push(extrapolation);
        } else {
            let combos: usize = maps.iter().map(|m| m.taps).product();
            let mut sum = 0.0;
            for c in 0..combos {
                let (mut rem, mut off, mut w) = (c, 0, 1.0);
                for d in (0..r).rev() {
                    let t = rem % maps[d].taps;
                    rem /= maps[d].taps;
                    let (idx, wts) = maps[d].taps_of(pos[d]);
                    off += idx[t] * st[d];
                    w *= wts[t];
                }
                sum += w * src[off];
            }
            out.push(sum);
        }
        for d in (0..r).rev() {
            pos[d] += 1;
            if pos[d] < out_shape[d] {
                break;
            }
            pos[d] = 0;
        }
    }
    out
}

/// Converts the interpolated values back to the element type: integers round half to even and
/// saturate (as ONNX's reference does), floats round to nearest.
fn from_real<F: Real, T: Elem>(v: Vec<F>) -> Vec<T> {
    if T::DTYPE.is_float() {
        v.into_iter().map(|x| T::from_f64(x.to_f64())).collect()
    } else {
        v.into_iter()
            .map(|x| T::from_f64(x.to_f64().round_ties_even()))
            .collect()
    }
}

/// Linear and cubic for one element type.
fn interpolate<T: Elem>(
    src: &[T],
    in_shape: &[usize],
    maps: &[AxisMap],
    extrapolation: f64,
) -> Vec<T> {
    if matches!(T::DTYPE, DType::F32 | DType::F16 | DType::BF16) {
        let x: Vec<f32> = src.iter().map(|v| v.to_f32()).collect();
        let y = if plane_path_applies(maps) {
            let mut y = vec![0f32; maps.iter().map(|m| m.out_len).product()];
            resize_planes(&x, in_shape, maps, &mut y);
            y
        } else {
            interp_separable(x, in_shape, maps, extrapolation as f32)
        };
        from_real(y)
    } else {
        let x: Vec<f64> = src.iter().map(|v| v.to_f64()).collect();
        from_real(interp_separable(x, in_shape, maps, extrapolation))
    }
}

fn interpolate_f32(
    src: &[f32],
    in_shape: &[usize],
    maps: &[AxisMap],
    extrapolation: f32,
    ctx: &mut RunCtx,
) -> Vec<f32> {
    if plane_path_applies(maps) {
        let mut y = ctx.alloc_f32(maps.iter().map(|m| m.out_len).product());
        resize_planes(src, in_shape, maps, &mut y);
        y
    } else {
        interp_separable(src.to_vec(), in_shape, maps, extrapolation)
    }
}

/// A non-empty optional input.
fn present<'t>(inputs: &[Option<&'t Tensor>], i: usize) -> Option<&'t Tensor> {
    opt_input(inputs, i).filter(|t| !t.is_empty())
}

impl Kernel for Resize {
    fn run(&self, ctx: &mut RunCtx, inputs: &[Option<&Tensor>]) -> Result<Vec<Tensor>> {
        let a = &self.attrs;
        let x = input(inputs, 0)?;
        let shape = x.shape();
        let float_vec = |t: &Tensor, name: &str| -> Result<Vec<f64>> {
            ensure!(
                t.dtype().is_float(),
                "{name} is {}, expected a float type",
                t.dtype()
            );
            ensure!(
                t.rank() <= 1,
                "{name} has shape {:?}, expected rank 1",
                t.shape()
            );
            Ok(t.to_f64_vec())
        };
        let (scales, sizes, roi) = match &self.operands {
            Operands::ScalesAttr(s) => (Some(s.clone()), None, None),
            Operands::Scales => (Some(float_vec(input(inputs, 1)?, "scales")?), None, None),
            Operands::RoiScalesSizes => {
                let scales = present(inputs, 2)
                    .map(|t| float_vec(t, "scales"))
                    .transpose()?;
                let sizes = match present(inputs, 3) {
                    Some(t) => {
                        ensure!(
                            t.dtype() == DType::I64,
                            "sizes is {}, expected int64",
                            t.dtype()
                        );
                        ensure!(
                            t.rank() <= 1,
                            "sizes has shape {:?}, expected rank 1",
                            t.shape()
                        );
                        Some(t.to_i64_vec())
                    }
                    None => None,
                };
                ensure!(
                    scales.is_none() || sizes.is_none(),
                    "only one of scales and sizes may be given"
                );
                let roi = present(inputs, 1)
                    .map(|t| float_vec(t, "roi"))
                    .transpose()?;
                (scales, sizes, roi)
            }
        };
        if let (Operands::Scales | Operands::ScalesAttr(_), Some(s)) = (&self.operands, &scales) {
            ensure!(
                s.len() == shape.len(),
                "{} scales for input of shape {shape:?}",
                s.len()
            );
        }
        let sizes_per_axis = axis_sizes(
            a,
            shape,
            scales.as_deref(),
            sizes.as_deref(),
            roi.as_deref(),
        )?;
        let maps: Vec<AxisMap> = shape
            .iter()
            .zip(&sizes_per_axis)
            .map(|(&n, s)| {
                if axis_unchanged(a, n, s) {
                    AxisMap::identity(n)
                } else {
                    axis_map(a, n, s)
                }
            })
            .collect();
        let out_shape: Vec<usize> = maps.iter().map(|m| m.out_len).collect();
        if maps.iter().all(|m| m.is_identity()) {
            return Ok(vec![x.clone()]);
        }
        let ext = a.extrapolation;
        let out = match (a.mode, x.data()) {
            (Mode::Nearest, Data::F32(v)) => {
                let mut y = ctx.alloc_f32(numel(&out_shape));
                gather_nearest_into(v, shape, &maps, ext as f32, &mut y);
                Tensor::from_vec(out_shape, y)
            }
            (Mode::Nearest, d) => with_data!(d, v => Tensor::from_vec(
                out_shape,
                gather_nearest(v, shape, &maps, elem_from_f64(ext)),
            )),
            (_, Data::F32(v)) => {
                Tensor::from_vec(out_shape, interpolate_f32(v, shape, &maps, ext as f32, ctx))
            }
            (_, d) => {
                with_data!(d, v => Tensor::from_vec(out_shape, interpolate(v, shape, &maps, ext)))
            }
        };
        Ok(vec![out])
    }
}

/// The extrapolation value in the element type (rounded and saturated for integers).
fn elem_from_f64<T: Elem>(v: f64) -> T {
    if T::DTYPE.is_float() {
        T::from_f64(v)
    } else {
        T::from_f64(v.round_ties_even())
    }
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

    fn attrs(mode: Mode, coord: Coord) -> Attrs {
        Attrs {
            mode,
            coord,
            rounding: Rounding::RoundPreferFloor,
            cubic_a: -0.75,
            exclude_outside: false,
            extrapolation: 0.0,
            antialias: false,
            axes: None,
            policy: Policy::Stretch,
        }
    }

    fn maps_for(
        a: &Attrs,
        shape: &[usize],
        scales: Option<&[f64]>,
        sizes: Option<&[i64]>,
        roi: Option<&[f64]>,
    ) -> Vec<AxisMap> {
        let s = axis_sizes(a, shape, scales, sizes, roi).unwrap();
        shape
            .iter()
            .zip(&s)
            .map(|(&n, s)| {
                if axis_unchanged(a, n, s) {
                    AxisMap::identity(n)
                } else {
                    axis_map(a, n, s)
                }
            })
            .collect()
    }

    #[test]
    fn onnx_doc_examples() {
        // Resize's documented upsample_scales_linear (half_pixel) and nearest cases.
        let x = [1.0, 2.0, 3.0, 4.0];
        let a = attrs(Mode::Linear, Coord::HalfPixel);
        let maps = maps_for(&a, &[1, 1, 2, 2], Some(&[1.0, 1.0, 2.0, 2.0]), None, None);
        let got = resize_reference(&x, &[1, 1, 2, 2], &maps, 0.0);
        assert_eq!(&got[..4], &[1.0, 1.25, 1.75, 2.0]);
        let a = attrs(Mode::Nearest, Coord::HalfPixel);
        let maps = maps_for(&a, &[1, 1, 2, 2], Some(&[1.0, 1.0, 2.0, 3.0]), None, None);
        let got = gather_nearest(&x, &[1, 1, 2, 2], &maps, 0.0);
        assert_eq!(&got[..6], &[1.0, 1.0, 1.0, 2.0, 2.0, 2.0]);
        assert_eq!(got.len(), 24);
    }

    #[test]
    fn sizes_policies_and_axes() {
        let mut a = attrs(Mode::Nearest, Coord::HalfPixel);
        a.axes = Some(vec![3, 2]);
        a.policy = Policy::NotLarger;
        let s = axis_sizes(&a, &[1, 1, 2, 4], None, Some(&[3, 1]), None).unwrap();
        let outs: Vec<usize> = s.iter().map(|s| s.out).collect();
        // min(3/4, 1/2) = 0.5 → [1, 2]
        assert_eq!(outs, vec![1, 1, 1, 2]);
        a.policy = Policy::NotSmaller;
        let s = axis_sizes(&a, &[1, 1, 2, 4], None, Some(&[3, 1]), None).unwrap();
        let outs: Vec<usize> = s.iter().map(|s| s.out).collect();
        assert_eq!(outs, vec![1, 1, 2, 3]);
        assert!(axis_sizes(&a, &[1, 1, 2, 4], None, Some(&[3]), None).is_err());
        assert!(axis_sizes(&a, &[1, 1, 2, 4], Some(&[0.0, 1.0]), None, None).is_err());
        assert!(axis_sizes(&a, &[1, 1, 2, 4], None, None, None).is_err());
        a.axes = Some(vec![2, -2]);
        assert!(axis_sizes(&a, &[1, 1, 2, 4], Some(&[1.0, 1.0]), None, None).is_err());
    }

    fn random_attrs(seed: &mut u64) -> Attrs {
        let pick =
            |seed: &mut u64, n: usize| (((lcg(seed) + 1.0) * 0.5 * n as f64) as usize).min(n - 1);
        let mode = [Mode::Nearest, Mode::Linear, Mode::Cubic][pick(seed, 3)];
        let coord = [
            Coord::HalfPixel,
            Coord::HalfPixelSymmetric,
            Coord::PytorchHalfPixel,
            Coord::AlignCorners,
            Coord::Asymmetric,
            Coord::TfHalfPixelForNn,
            Coord::TfCropAndResize,
        ][pick(seed, 7)];
        let rounding = [
            Rounding::RoundPreferFloor,
            Rounding::RoundPreferCeil,
            Rounding::Floor,
            Rounding::Ceil,
            Rounding::Legacy,
        ][pick(seed, 5)];
        Attrs {
            mode,
            coord,
            rounding,
            cubic_a: -0.5 - 0.25 * pick(seed, 2) as f64,
            exclude_outside: pick(seed, 2) == 1,
            extrapolation: 7.5,
            antialias: mode != Mode::Nearest && pick(seed, 3) == 0,
            axes: None,
            policy: Policy::Stretch,
        }
    }

    /// Fast paths against the reference on random shapes, scales and attributes.
    #[test]
    fn fast_paths_match_reference() {
        let mut seed = 5u64;
        for case in 0..400 {
            let a = random_attrs(&mut seed);
            let rank = 1 + case % 4;
            let shape: Vec<usize> = (0..rank)
                .map(|_| (1.0 + (lcg(&mut seed) + 1.0) * 3.0) as usize)
                .collect();
            // Resize only the last two axes half of the time (the plane path).
            let scales: Vec<f64> = (0..rank)
                .map(|d| {
                    if case % 2 == 0 && d + 2 < rank {
                        1.0
                    } else {
                        [0.5, 0.6, 1.0, 1.5, 2.0, 3.0, 0.34]
                            [((lcg(&mut seed) + 1.0) * 3.5) as usize % 7]
                    }
                })
                .collect();
            let roi: Vec<f64> = (0..2 * rank)
                .map(|i| {
                    if i < rank {
                        0.3 * lcg(&mut seed)
                    } else {
                        1.0 + 0.3 * lcg(&mut seed)
                    }
                })
                .collect();
            let maps = if case % 3 == 0 {
                let sizes: Vec<i64> = shape
                    .iter()
                    .zip(&scales)
                    .map(|(&n, &s)| ((n as f64 * s) as i64).max(1))
                    .collect();
                maps_for(&a, &shape, None, Some(&sizes), Some(&roi))
            } else {
                maps_for(&a, &shape, Some(&scales), None, Some(&roi))
            };
            let n = numel(&shape);
            let src: Vec<f64> = (0..n)
                .map(|_| (lcg(&mut seed) * 100.0).round() / 8.0)
                .collect();
            let want = resize_reference(&src, &shape, &maps, a.extrapolation);
            let what = format!("case {case}: {a:?} shape {shape:?} scales {scales:?}");
            let close = |got: &[f64], tol: f64| {
                assert_eq!(got.len(), want.len(), "{what}");
                for (i, (g, w)) in got.iter().zip(&want).enumerate() {
                    assert!(
                        (g - w).abs() <= tol * (1.0 + w.abs()),
                        "{what}: [{i}] {g} vs {w}"
                    );
                }
            };
            if a.mode == Mode::Nearest {
                close(&gather_nearest(&src, &shape, &maps, a.extrapolation), 0.0);
                let s32: Vec<f32> = src.iter().map(|&v| v as f32).collect();
                let g: Vec<f64> = gather_nearest(&s32, &shape, &maps, 7.5f32)
                    .iter()
                    .map(|&v| v as f64)
                    .collect();
                close(&g, 0.0);
                continue;
            }
            close(
                &interp_separable(src.clone(), &shape, &maps, a.extrapolation),
                1e-12,
            );
            let s32: Vec<f32> = src.iter().map(|&v| v as f32).collect();
            for threads in [1, 3] {
                let pool = rayon::ThreadPoolBuilder::new()
                    .num_threads(threads)
                    .build()
                    .unwrap();
                let g = pool
                    .install(|| interpolate_f32(&s32, &shape, &maps, 7.5, &mut RunCtx::new(None)));
                close(&g.iter().map(|&v| v as f64).collect::<Vec<_>>(), 1e-5);
            }
            // Integers: rounded half to even and saturated.
            let si: Vec<i8> = src.iter().map(|&v| v as i8).collect();
            let wi = resize_reference(
                &si.iter().map(|&v| v as f64).collect::<Vec<_>>(),
                &shape,
                &maps,
                a.extrapolation,
            );
            let gi = interpolate(&si, &shape, &maps, a.extrapolation);
            for (g, w) in gi.iter().zip(&wi) {
                // Ties may round either way: the passes sum in another order than the reference.
                let w = w.clamp(-128.0, 127.0);
                assert!((*g as f64 - w).abs() <= 0.5 + 1e-9, "{what}: {g} vs {w}");
            }
        }
    }

    /// The plane path on larger images, threaded, including the 2× nearest and bilinear upsampling
    /// of detector necks.
    #[test]
    fn plane_path_on_images() {
        let mut seed = 9u64;
        for (mode, coord, shape, scale) in [
            (Mode::Nearest, Coord::Asymmetric, [2, 3, 40, 50], 2.0),
            (Mode::Linear, Coord::HalfPixel, [2, 3, 40, 50], 2.0),
            (Mode::Linear, Coord::AlignCorners, [1, 2, 33, 17], 2.0),
            (Mode::Linear, Coord::PytorchHalfPixel, [1, 1, 120, 90], 0.5),
            (Mode::Linear, Coord::HalfPixel, [1, 4, 64, 64], 1.7),
        ] {
            let a = attrs(mode, coord);
            let maps = maps_for(&a, &shape, Some(&[1.0, 1.0, scale, scale]), None, None);
            assert!(plane_path_applies(&maps));
            let src: Vec<f32> = (0..numel(&shape)).map(|_| lcg(&mut seed) as f32).collect();
            let want = resize_reference(
                &src.iter().map(|&v| v as f64).collect::<Vec<_>>(),
                &shape,
                &maps,
                0.0,
            );
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(3)
                .build()
                .unwrap();
            let got = pool.install(|| {
                if mode == Mode::Nearest {
                    gather_nearest(&src, &shape, &maps, 0.0)
                } else {
                    interpolate_f32(&src, &shape, &maps, 0.0, &mut RunCtx::new(None))
                }
            });
            assert_eq!(got.len(), want.len());
            for (g, w) in got.iter().zip(&want) {
                assert!((*g as f64 - w).abs() < 1e-5, "{mode:?} {coord:?} {shape:?}");
            }
        }
        // Integer factors with floor rounding: runs of repeated elements.
        for k in [2usize, 3, 4, 5] {
            let mut a = attrs(Mode::Nearest, Coord::Asymmetric);
            a.rounding = Rounding::Floor;
            let shape = [2, 3, 7, 9];
            let maps = maps_for(
                &a,
                &shape,
                Some(&[1.0, 1.0, k as f64, k as f64]),
                None,
                None,
            );
            let src: Vec<f64> = (0..numel(&shape)).map(|_| lcg(&mut seed)).collect();
            let want = resize_reference(&src, &shape, &maps, 0.0);
            assert_eq!(gather_nearest(&src, &shape, &maps, 0.0), want, "x{k}");
        }
    }

    fn run(k: &Resize, inputs: &[Option<&Tensor>]) -> Result<Tensor> {
        let mut ctx = RunCtx::new(None);
        Ok(k.run(&mut ctx, inputs)?.remove(0))
    }

    /// The operand forms of Upsample and the Resize versions, and element types, end to end.
    #[test]
    fn kernel_operand_forms_and_types() {
        let x = Tensor::from_vec(vec![1, 1, 2, 2], vec![1f32, 2.0, 3.0, 4.0]);
        let mut legacy = attrs(Mode::Nearest, Coord::Asymmetric);
        legacy.rounding = Rounding::Legacy;
        let k = Resize {
            attrs: legacy.clone(),
            operands: Operands::Scales,
        };
        let scales = Tensor::from_vec(vec![4], vec![1f32, 1.0, 2.0, 2.0]);
        let y = run(&k, &[Some(&x), Some(&scales)]).unwrap();
        assert_eq!(y.shape(), &[1, 1, 4, 4]);
        assert_eq!(
            y.f32s().unwrap(),
            &[1., 1., 2., 2., 1., 1., 2., 2., 3., 3., 4., 4., 3., 3., 4., 4.]
        );
        let k7 = Resize {
            attrs: legacy.clone(),
            operands: Operands::ScalesAttr(vec![1.0, 1.0, 2.0, 2.0]),
        };
        assert_eq!(run(&k7, &[Some(&x)]).unwrap(), y);
        let short = Tensor::from_vec(vec![2], vec![2f32, 2.0]);
        assert!(run(&k, &[Some(&x), Some(&short)]).is_err());

        // Resize-11: empty scales, sizes; u8 bilinear rounds half to even.
        let k = Resize {
            attrs: attrs(Mode::Linear, Coord::AlignCorners),
            operands: Operands::RoiScalesSizes,
        };
        let xu = Tensor::from_vec(vec![1, 3], vec![0u8, 1, 255]);
        let empty = Tensor::from_vec(vec![0], Vec::<f32>::new());
        let sizes = Tensor::from_vec(vec![2], vec![1i64, 5]);
        let y = run(&k, &[Some(&xu), Some(&empty), Some(&empty), Some(&sizes)]).unwrap();
        // Positions 0, 0.5, 1, 1.5, 2: values 0, 0.5, 1, 128, 255.
        assert_eq!(y.as_slice::<u8>().unwrap(), &[0, 0, 1, 128, 255]);
        let scales = Tensor::from_vec(vec![2], vec![1f32, 2.0]);
        let err = run(&k, &[Some(&xu), None, Some(&scales), Some(&sizes)]).unwrap_err();
        assert!(err.to_string().contains("only one"), "{err}");
        let bad = Tensor::from_vec(vec![2], vec![1i32, 5]);
        assert!(run(&k, &[Some(&xu), None, None, Some(&bad)]).is_err());
        assert!(run(&k, &[Some(&xu), None, None, None]).is_err());

        // Nearest works on every type (bool here); unchanged shapes hand the input back.
        let k = Resize {
            attrs: attrs(Mode::Nearest, Coord::HalfPixel),
            operands: Operands::RoiScalesSizes,
        };
        let xb = Tensor::from_vec(vec![2], vec![true, false]);
        let s2 = Tensor::from_vec(vec![1], vec![2f32]);
        let y = run(&k, &[Some(&xb), None, Some(&s2)]).unwrap();
        assert_eq!(y.as_slice::<bool>().unwrap(), &[true, true, false, false]);
        let s1 = Tensor::from_vec(vec![1], vec![1f32]);
        assert_eq!(run(&k, &[Some(&xb), None, Some(&s1)]).unwrap(), xb);

        // f16 and f64 keep their type.
        let k = Resize {
            attrs: attrs(Mode::Cubic, Coord::HalfPixel),
            operands: Operands::RoiScalesSizes,
        };
        let s = Tensor::from_vec(vec![4], vec![1f32, 1.0, 1.5, 2.0]);
        for dt in [DType::F16, DType::F64, DType::BF16] {
            let xt = x.cast(dt);
            let y = run(&k, &[Some(&xt), None, Some(&s)]).unwrap();
            assert_eq!(y.dtype(), dt);
            assert_eq!(y.shape(), &[1, 1, 3, 4]);
            let want = run(&k, &[Some(&x), None, Some(&s)]).unwrap();
            for (a, b) in y.to_f64_vec().iter().zip(want.to_f64_vec()) {
                assert!((a - b).abs() < 0.02, "{dt:?}: {a} vs {b}");
            }
        }
    }
}
