//! Shape and data-movement ops: Reshape, Transpose, Flatten, Squeeze, Unsqueeze, Concat, Split, Slice,
//! Gather, GatherElements, GatherND, ScatterND, ScatterElements (and the old Scatter), Expand, Tile, Pad,
//! DepthToSpace and SpaceToDepth.
//!
//! Reshape-like ops (Reshape, Flatten, Squeeze, Unsqueeze) never copy: they hand the same storage on
//! under a new shape. Most of the others are a *strided view* of their input (Transpose, Slice, Split,
//! Expand, Tile, DepthToSpace, SpaceToDepth): an output shape plus, per output dimension, the input
//! stride to step by (0 to repeat, negative to walk backwards). They all go through one copy routine,
//! [`strided_copy`], which merges dimensions that stay contiguous, copies whole rows when the innermost
//! dimension is contiguous in the input, switches to a tiled transpose when it is not, and splits the
//! output across threads. Its reference is [`strided_copy_reference`].
//!
//! Everything here is generic over the element type, and index inputs (Gather, Scatter) are checked:
//! an out-of-range index is an error, not a panic.

use std::any::Any;

use rayon::prelude::*;

use super::{input, kernel, opt_input, BuildCtx, Kernel, Registry};
use crate::error::{Result, RuntimeError};
use crate::plan::RunCtx;
use crate::tensor::{broadcast_shapes, norm_axis, numel, strides, DType, Elem, Tensor};
use crate::{bail, ensure, with_data};

pub fn register(r: &mut Registry) {
    r.add("onnx.Reshape", build_reshape);
    r.add("onnx.Transpose", build_transpose);
    r.add("onnx.Flatten", build_flatten);
    r.add("onnx.Squeeze", build_squeeze);
    r.add("onnx.Unsqueeze", build_unsqueeze);
    r.add("onnx.Concat", build_concat);
    r.add("onnx.Split", build_split);
    r.add("onnx.Slice", build_slice);
    r.add("onnx.Gather", build_gather);
    r.add("onnx.GatherElements", build_gather_elements);
    r.add("onnx.GatherND", build_gather_nd);
    r.add("onnx.ScatterND", build_scatter_nd);
    r.add("onnx.ScatterElements", build_scatter_elements);
    r.add("onnx.Scatter", build_scatter_elements);
    r.add("onnx.Expand", build_expand);
    r.add("onnx.Tile", build_tile);
    r.add("onnx.Pad", build_pad);
    r.add("onnx.DepthToSpace", build_depth_to_space);
    r.add("onnx.SpaceToDepth", build_space_to_depth);
}

// ---------------------------------------------------------------------------------------------------
// Shared helpers (also used by the reduction and misc kernels).

/// Elements below which work stays on the calling thread (rayon's overhead would dominate).
pub(crate) const PAR_MIN: usize = 1 << 15;

/// An output buffer of `n` elements: f32 comes from the run's buffer pool, other types are allocated.
pub(crate) fn alloc<T: Elem>(ctx: &mut RunCtx, n: usize) -> Vec<T> {
    if T::DTYPE == DType::F32 {
        let b: Box<dyn Any> = Box::new(ctx.alloc_f32(n));
        if let Ok(v) = b.downcast::<Vec<T>>() {
            return *v;
        }
    }
    vec![T::default(); n]
}

/// The element count of a shape computed from user data, with overflow as an error.
pub(crate) fn checked_numel(shape: &[usize]) -> Result<usize> {
    shape
        .iter()
        .try_fold(1usize, |a, &d| a.checked_mul(d))
        .ok_or_else(|| RuntimeError::new(format!("shape {shape:?} is too large")))
}

/// A dimension from an i64 shape value; negative is an error.
pub(crate) fn dim_of(v: i64, what: &str) -> Result<usize> {
    usize::try_from(v).map_err(|_| RuntimeError::new(format!("{what} has a negative value {v}")))
}

/// Resolves a possibly negative index into a dimension of size `dim`.
pub(crate) fn norm_index(i: i64, dim: usize) -> Result<usize> {
    let d = dim as i64;
    let j = if i < 0 { i.saturating_add(d) } else { i };
    if j < 0 || j >= d {
        bail!("index {i} is out of range for a dimension of size {dim}");
    }
    Ok(j as usize)
}

/// Normalised, duplicate-free axes.
pub(crate) fn norm_axes(axes: &[i64], rank: usize) -> Result<Vec<usize>> {
    let mut out = Vec::with_capacity(axes.len());
    for &a in axes {
        let n = norm_axis(a, rank)?;
        ensure!(!out.contains(&n), "axis {a} is repeated in {axes:?}");
        out.push(n);
    }
    Ok(out)
}

/// Runs `f(row_index, row)` on every `row`-long chunk of `out`, in parallel when `work` (a rough count
/// of element operations for the whole call) makes it worth it.
pub(crate) fn for_rows<T: Send>(
    out: &mut [T],
    row: usize,
    work: usize,
    f: impl Fn(usize, &mut [T]) + Sync + Send,
) {
    if row == 0 || out.is_empty() {
        return;
    }
    let threads = rayon::current_num_threads();
    let rows = out.len() / row;
    if threads <= 1 || work < PAR_MIN || rows < 2 {
        for (i, r) in out.chunks_mut(row).enumerate() {
            f(i, r);
        }
        return;
    }
    let per = rows.div_ceil(threads * 4).max(1);
    out.par_chunks_mut(per * row)
        .enumerate()
        .for_each(|(c, chunk)| {
            for (k, r) in chunk.chunks_mut(row).enumerate() {
                f(c * per + k, r);
            }
        });
}

/// Axes given either as an attribute (older opsets) or as input `i` (newer ones); `None` when neither.
pub(crate) fn axes_arg(
    attr: &Option<Vec<i64>>,
    inputs: &[Option<&Tensor>],
    i: usize,
) -> Option<Vec<i64>> {
    match opt_input(inputs, i) {
        Some(t) => Some(t.to_i64_vec()),
        None => attr.clone(),
    }
}

// ---------------------------------------------------------------------------------------------------
// Strided views.

/// Drops size-1 dimensions and merges neighbours that are contiguous with each other in the source, so
/// the copy loops run over as few and as long dimensions as possible.
fn simplify(shape: &[usize], strides: &[isize]) -> (Vec<usize>, Vec<isize>) {
    let mut s: Vec<usize> = Vec::with_capacity(shape.len());
    let mut st: Vec<isize> = Vec::with_capacity(shape.len());
    for (&d, &k) in shape.iter().zip(strides) {
        if d == 1 {
            continue;
        }
        if let (Some(ld), Some(lk)) = (s.last_mut(), st.last_mut()) {
            if *lk == k * d as isize {
                *ld *= d;
                *lk = k;
                continue;
            }
        }
        s.push(d);
        st.push(k);
    }
    (s, st)
}

/// Copies the view of `src` with element `i` (a multi-index of `shape`) at
/// `src[base + Σ i[d] * strides[d]]` into `out` (row-major, `numel(shape)` long). Every reachable
/// index must lie inside `src`.
pub(crate) fn strided_copy<T: Copy + Send + Sync>(
    src: &[T],
    base: usize,
    shape: &[usize],
    strides: &[isize],
    out: &mut [T],
) {
    let n = numel(shape);
    assert_eq!(out.len(), n, "output length");
    if n == 0 {
        return;
    }
    let (shape, strides) = simplify(shape, strides);
    par_copy(src, base as isize, &shape, &strides, out);
}

fn par_copy<T: Copy + Send + Sync>(
    src: &[T],
    base: isize,
    shape: &[usize],
    strides: &[isize],
    out: &mut [T],
) {
    let threads = rayon::current_num_threads();
    if threads <= 1 || out.len() < PAR_MIN || shape.is_empty() {
        copy_serial(src, base, shape, strides, out);
        return;
    }
    let d0 = shape[0];
    let inner = out.len() / d0;
    if d0 >= 2 * threads || shape.len() == 1 {
        // Split dimension 0 into runs of rows; each run is a smaller view of the same kind.
        let per = d0.div_ceil(threads * 4).max(1);
        out.par_chunks_mut(per * inner)
            .enumerate()
            .for_each(|(p, chunk)| {
                let mut sh = shape.to_vec();
                sh[0] = chunk.len() / inner;
                let b = base + (p * per) as isize * strides[0];
                copy_serial(src, b, &sh, strides, chunk);
            });
    } else {
        // Too few rows to keep every thread busy: split each one further.
        out.par_chunks_mut(inner)
            .enumerate()
            .for_each(|(i, chunk)| {
                par_copy(
                    src,
                    base + i as isize * strides[0],
                    &shape[1..],
                    &strides[1..],
                    chunk,
                );
            });
    }
}

fn copy_serial<T: Copy>(src: &[T], base: isize, shape: &[usize], strides: &[isize], out: &mut [T]) {
    let r = shape.len();
    if r == 0 {
        out[0] = src[base as usize];
        return;
    }
    let n = shape[r - 1];
    let s = strides[r - 1];
    if r >= 2 && s != 1 && s != 0 && n >= 2 {
        // The input's contiguous dimension is not the output's last one: a transpose. Reading rows of
        // the input and writing columns of the output (or the reverse) misses the cache on every
        // element, so go through tiles that stay in L1.
        if let Some(j) = (0..r - 1).rev().find(|&j| strides[j] == 1 && shape[j] >= 8) {
            copy_tiled(src, base, shape, strides, j, out);
            return;
        }
    }
    let outer = &shape[..r - 1];
    let mut idx = vec![0usize; r - 1];
    let mut off = base;
    for row in out.chunks_exact_mut(n) {
        let o = off as usize;
        match s {
            1 => row.copy_from_slice(&src[o..o + n]),
            0 => row.fill(src[o]),
            _ => {
                for (k, x) in row.iter_mut().enumerate() {
                    *x = src[(off + k as isize * s) as usize];
                }
            }
        }
        for d in (0..r - 1).rev() {
            idx[d] += 1;
            off += strides[d];
            if idx[d] < outer[d] {
                break;
            }
            off -= strides[d] * outer[d] as isize;
            idx[d] = 0;
        }
    }
}

/// The transpose case of [`copy_serial`]: dimension `j` (not the last) has input stride 1. Each tile
/// is first gathered into a small buffer, one contiguous input run per output column, then written
/// out one contiguous output run per row: every strided cache line is touched once and whole, which
/// matters when the strides are powers of two and would otherwise evict each other from the cache.
#[allow(clippy::needless_range_loop)]
fn copy_tiled<T: Copy>(
    src: &[T],
    base: isize,
    shape: &[usize],
    strides: &[isize],
    j: usize,
    out: &mut [T],
) {
    // Runs of TA elements along the input's contiguous dimension, TB of them per tile.
    const TA: usize = 128;
    const TB: usize = 32;
    let r = shape.len();
    let ostr = crate::tensor::strides(shape);
    let (an, bn) = (shape[j], shape[r - 1]);
    let (a_out, b_in) = (ostr[j], strides[r - 1]);
    let others: Vec<usize> = (0..r - 1).filter(|&d| d != j).collect();
    let count: usize = others.iter().map(|&d| shape[d]).product();
    let mut idx = vec![0usize; others.len()];
    let mut buf = [[src[base as usize]; TA]; TB];
    for _ in 0..count {
        let mut soff = base;
        let mut ooff = 0usize;
        for (k, &d) in others.iter().enumerate() {
            soff += idx[k] as isize * strides[d];
            ooff += idx[k] * ostr[d];
        }
        for a0 in (0..an).step_by(TA) {
            let ta = TA.min(an - a0);
            for b0 in (0..bn).step_by(TB) {
                let tb = TB.min(bn - b0);
                for (bb, line) in buf.iter_mut().enumerate().take(tb) {
                    let s0 = (soff + (b0 + bb) as isize * b_in) as usize + a0;
                    line[..ta].copy_from_slice(&src[s0..s0 + ta]);
                }
                for aa in 0..ta {
                    let o0 = ooff + (a0 + aa) * a_out + b0;
                    let dst = &mut out[o0..o0 + tb];
                    if let Ok(dst) = <&mut [T; TB]>::try_from(&mut *dst) {
                        // Full tile: fixed trip counts, no bounds checks, fully unrolled.
                        for (bb, y) in dst.iter_mut().enumerate() {
                            *y = buf[bb][aa];
                        }
                    } else {
                        for (bb, y) in dst.iter_mut().enumerate() {
                            *y = buf[bb][aa];
                        }
                    }
                }
            }
        }
        for k in (0..others.len()).rev() {
            idx[k] += 1;
            if idx[k] < shape[others[k]] {
                break;
            }
            idx[k] = 0;
        }
    }
}

/// The plain version of [`strided_copy`]: one index computation per element.
#[cfg_attr(not(test), allow(dead_code))]
pub(crate) fn strided_copy_reference<T: Copy>(
    src: &[T],
    base: usize,
    shape: &[usize],
    strides: &[isize],
) -> Vec<T> {
    let n = numel(shape);
    let mut out = Vec::with_capacity(n);
    for flat in 0..n {
        let mut rem = flat;
        let mut off = base as isize;
        for d in (0..shape.len()).rev() {
            off += (rem % shape[d]) as isize * strides[d];
            rem /= shape[d];
        }
        out.push(src[off as usize]);
    }
    out
}

/// Materialises a strided view of `x` (see [`strided_copy`]); when the view is `x`'s own layout the
/// storage is shared instead.
pub(crate) fn view_copy(
    ctx: &mut RunCtx,
    x: &Tensor,
    base: usize,
    shape: Vec<usize>,
    vstrides: &[isize],
) -> Tensor {
    let n = numel(&shape);
    if base == 0 && n == x.len() {
        let (s, st) = simplify(&shape, vstrides);
        if s.is_empty() || (s.len() == 1 && st[0] == 1) {
            return x.reshaped(shape).expect("same element count");
        }
    }
    with_data!(x.data(), v => view_copy_typed(ctx, v, base, shape, vstrides))
}

fn view_copy_typed<T: Elem>(
    ctx: &mut RunCtx,
    v: &[T],
    base: usize,
    shape: Vec<usize>,
    vstrides: &[isize],
) -> Tensor {
    let mut out = alloc::<T>(ctx, numel(&shape));
    strided_copy(v, base, &shape, vstrides, &mut out);
    Tensor::from_vec(shape, out)
}

/// Input strides of `shape` as a view's strides.
fn istrides(shape: &[usize]) -> Vec<isize> {
    strides(shape).into_iter().map(|s| s as isize).collect()
}

// ---------------------------------------------------------------------------------------------------
// Reshape, Flatten, Squeeze, Unsqueeze: new shapes for the same storage.

/// The output shape of Reshape: `0` copies the input dimension (unless `allowzero`), `-1` is inferred.
pub(crate) fn reshape_target(shape: &[usize], spec: &[i64], allowzero: bool) -> Result<Vec<usize>> {
    let n = numel(shape);
    let mut out = Vec::with_capacity(spec.len());
    let mut infer = None;
    for (i, &d) in spec.iter().enumerate() {
        match d {
            -1 => {
                ensure!(infer.is_none(), "shape {spec:?} has more than one -1");
                infer = Some(i);
                out.push(1);
            }
            0 if !allowzero => {
                ensure!(
                    i < shape.len(),
                    "shape {spec:?} copies dimension {i}, but the input {shape:?} has rank {}",
                    shape.len()
                );
                out.push(shape[i]);
            }
            d => out.push(dim_of(d, "the shape")?),
        }
    }
    let known = checked_numel(&out)?;
    if let Some(i) = infer {
        ensure!(
            known != 0,
            "cannot infer the -1 in shape {spec:?}: the other dimensions hold no elements"
        );
        ensure!(
            n % known == 0,
            "cannot reshape {shape:?} ({n} elements) to {spec:?}"
        );
        out[i] = n / known;
    } else {
        ensure!(
            known == n,
            "cannot reshape {shape:?} ({n} elements) to {spec:?}"
        );
    }
    Ok(out)
}

fn build_reshape(b: &BuildCtx) -> Result<Box<dyn Kernel>> {
    let allowzero = b.attr_int("allowzero", 0)? != 0;
    let attr_shape = b.attr_ints("shape")?;
    Ok(kernel(move |_, inputs| {
        let x = input(inputs, 0)?;
        let spec = match (opt_input(inputs, 1), &attr_shape) {
            (Some(s), _) => s.to_i64_vec(),
            (None, Some(s)) => s.clone(),
            (None, None) => bail!("missing the shape input"),
        };
        let shape = reshape_target(x.shape(), &spec, allowzero)?;
        Ok(vec![x.reshaped(shape)?])
    }))
}

fn build_flatten(b: &BuildCtx) -> Result<Box<dyn Kernel>> {
    let axis = b.attr_int("axis", 1)?;
    Ok(kernel(move |_, inputs| {
        let x = input(inputs, 0)?;
        let r = x.rank() as i64;
        let a = if axis < 0 { axis + r } else { axis };
        ensure!(
            (0..=r).contains(&a),
            "axis {axis} is out of range for rank {r}"
        );
        let a = a as usize;
        let shape = vec![numel(&x.shape()[..a]), numel(&x.shape()[a..])];
        Ok(vec![x.reshaped(shape)?])
    }))
}

fn build_squeeze(b: &BuildCtx) -> Result<Box<dyn Kernel>> {
    let attr = b.attr_ints("axes")?;
    Ok(kernel(move |_, inputs| {
        let x = input(inputs, 0)?;
        let shape = x.shape();
        let axes = axes_arg(&attr, inputs, 1).unwrap_or_default();
        let out: Vec<usize> = if axes.is_empty() {
            shape.iter().copied().filter(|&d| d != 1).collect()
        } else {
            let axes = norm_axes(&axes, x.rank())?;
            for &a in &axes {
                ensure!(
                    shape[a] == 1,
                    "cannot squeeze axis {a} of shape {shape:?}: its size is not 1"
                );
            }
            (0..x.rank())
                .filter(|d| !axes.contains(d))
                .map(|d| shape[d])
                .collect()
        };
        Ok(vec![x.reshaped(out)?])
    }))
}

fn build_unsqueeze(b: &BuildCtx) -> Result<Box<dyn Kernel>> {
    let attr = b.attr_ints("axes")?;
    Ok(kernel(move |_, inputs| {
        let x = input(inputs, 0)?;
        let Some(axes) = axes_arg(&attr, inputs, 1) else {
            bail!("missing axes");
        };
        let r = x.rank() + axes.len();
        let axes = norm_axes(&axes, r)?;
        let mut dims = x.shape().iter();
        let out: Vec<usize> = (0..r)
            .map(|d| {
                if axes.contains(&d) {
                    1
                } else {
                    *dims.next().expect("rank counts match")
                }
            })
            .collect();
        Ok(vec![x.reshaped(out)?])
    }))
}

// ---------------------------------------------------------------------------------------------------
// Transpose.

fn build_transpose(b: &BuildCtx) -> Result<Box<dyn Kernel>> {
    let perm = b.attr_ints("perm")?;
    Ok(kernel(move |ctx, inputs| {
        let x = input(inputs, 0)?;
        let r = x.rank();
        let perm: Vec<usize> = match &perm {
            None => (0..r).rev().collect(),
            Some(p) => {
                ensure!(
                    p.len() == r,
                    "perm {p:?} has {} entries for an input of rank {r}",
                    p.len()
                );
                let mut seen = vec![false; r];
                let mut out = Vec::with_capacity(r);
                for &a in p {
                    let a = usize::try_from(a).ok().filter(|&a| a < r && !seen[a]);
                    let Some(a) = a else {
                        bail!("perm {p:?} is not a permutation of 0..{r}");
                    };
                    seen[a] = true;
                    out.push(a);
                }
                out
            }
        };
        Ok(vec![transpose(ctx, x, &perm)])
    }))
}

/// `x` with its dimensions permuted (`perm` must be a permutation of `0..rank`).
pub(crate) fn transpose(ctx: &mut RunCtx, x: &Tensor, perm: &[usize]) -> Tensor {
    let st = istrides(x.shape());
    let shape: Vec<usize> = perm.iter().map(|&p| x.shape()[p]).collect();
    let vs: Vec<isize> = perm.iter().map(|&p| st[p]).collect();
    view_copy(ctx, x, 0, shape, &vs)
}

/// The reference transpose: output element by output element.
#[cfg_attr(not(test), allow(dead_code))]
pub(crate) fn transpose_reference<T: Copy>(x: &[T], shape: &[usize], perm: &[usize]) -> Vec<T> {
    let st = strides(shape);
    let out_shape: Vec<usize> = perm.iter().map(|&p| shape[p]).collect();
    let n = numel(shape);
    let mut out = Vec::with_capacity(n);
    for flat in 0..n {
        let mut rem = flat;
        let mut off = 0;
        for d in (0..out_shape.len()).rev() {
            off += (rem % out_shape[d]) * st[perm[d]];
            rem /= out_shape[d];
        }
        out.push(x[off]);
    }
    out
}

// ---------------------------------------------------------------------------------------------------
// Concat and Split.

fn build_concat(b: &BuildCtx) -> Result<Box<dyn Kernel>> {
    let Some(axis) = b.attr_int_opt("axis")? else {
        bail!("missing attribute 'axis'");
    };
    Ok(kernel(move |ctx, inputs| {
        let ts: Vec<&Tensor> = inputs.iter().flatten().copied().collect();
        Ok(vec![concat(ctx, &ts, axis)?])
    }))
}

/// Concatenation of `ts` along `axis`.
pub(crate) fn concat(ctx: &mut RunCtx, ts: &[&Tensor], axis: i64) -> Result<Tensor> {
    let Some(first) = ts.first() else {
        bail!("nothing to concatenate");
    };
    let r = first.rank();
    ensure!(r > 0, "cannot concatenate scalars");
    let a = norm_axis(axis, r)?;
    let mut out_shape = first.shape().to_vec();
    out_shape[a] = 0;
    for (i, t) in ts.iter().enumerate() {
        ensure!(
            t.dtype() == first.dtype(),
            "input {i} is {}, input 0 is {}",
            t.dtype(),
            first.dtype()
        );
        let same = t.rank() == r && (0..r).all(|d| d == a || t.shape()[d] == first.shape()[d]);
        ensure!(
            same,
            "input {i} has shape {:?}, which does not match input 0's {:?} outside axis {a}",
            t.shape(),
            first.shape()
        );
        out_shape[a] += t.shape()[a];
    }
    with_data!(first.data(), v => concat_typed(ctx, v, ts, a, out_shape))
}

fn concat_typed<T: Elem>(
    ctx: &mut RunCtx,
    _first: &[T],
    ts: &[&Tensor],
    a: usize,
    out_shape: Vec<usize>,
) -> Result<Tensor> {
    let parts: Vec<&[T]> = ts.iter().map(|t| t.typed::<T>()).collect::<Result<_>>()?;
    let outer = numel(&out_shape[..a]);
    let tail = numel(&out_shape[a + 1..]);
    let widths: Vec<usize> = ts.iter().map(|t| t.shape()[a] * tail).collect();
    let row: usize = widths.iter().sum();
    let n = outer * row;
    let mut out = alloc::<T>(ctx, n);
    for_rows(&mut out, row, n, |o, dst| {
        let mut off = 0;
        for (p, &w) in parts.iter().zip(&widths) {
            dst[off..off + w].copy_from_slice(&p[o * w..(o + 1) * w]);
            off += w;
        }
    });
    Ok(Tensor::from_vec(out_shape, out))
}

fn build_split(b: &BuildCtx) -> Result<Box<dyn Kernel>> {
    let axis = b.attr_int("axis", 0)?;
    let split_attr = b.attr_ints("split")?;
    let num_outputs = b.attr_int_opt("num_outputs")?;
    let nout = b.num_outputs();
    let opset = b.opset;
    if let Some(n) = num_outputs {
        ensure!(
            n == nout as i64,
            "num_outputs is {n}, but the node has {nout} outputs"
        );
    }
    Ok(kernel(move |ctx, inputs| {
        let x = input(inputs, 0)?;
        let a = norm_axis(axis, x.rank())?;
        let dim = x.shape()[a];
        let sizes: Vec<usize> = match axes_arg(&split_attr, inputs, 1) {
            Some(s) => {
                ensure!(
                    s.len() == nout,
                    "split {s:?} has {} entries for {nout} outputs",
                    s.len()
                );
                let s = s
                    .iter()
                    .map(|&v| dim_of(v, "split"))
                    .collect::<Result<Vec<_>>>()?;
                ensure!(
                    s.iter().try_fold(0usize, |acc, &v| acc.checked_add(v)) == Some(dim),
                    "split {s:?} does not add up to the dimension {dim} of axis {a}"
                );
                s
            }
            None => {
                ensure!(nout > 0, "Split has no outputs");
                if num_outputs.is_none() && opset < 18 {
                    ensure!(
                        dim % nout == 0,
                        "dimension {dim} of axis {a} does not split into {nout} equal parts"
                    );
                }
                // From opset 18, uneven splits give every part ceil(dim / n) and the last the rest.
                let chunk = dim.div_ceil(nout);
                (0..nout)
                    .map(|i| chunk.min(dim.saturating_sub(i * chunk)))
                    .collect()
            }
        };
        let st = istrides(x.shape());
        let mut outs = Vec::with_capacity(nout);
        let mut off = 0;
        for s in sizes {
            let mut shape = x.shape().to_vec();
            shape[a] = s;
            outs.push(view_copy(ctx, x, off * st[a] as usize, shape, &st));
            off += s;
        }
        Ok(outs)
    }))
}

// ---------------------------------------------------------------------------------------------------
// Slice.

/// The view Slice selects: base offset, output shape, strides. Clamping follows the ONNX spec: negative
/// starts/ends count from the end, then starts clamp to `[0, dim]` (`[0, dim - 1]` for negative steps)
/// and ends to `[0, dim]` (`[-1, dim - 1]`).
pub(crate) fn slice_view(
    shape: &[usize],
    starts: &[i64],
    ends: &[i64],
    axes: Option<&[i64]>,
    steps: Option<&[i64]>,
) -> Result<(usize, Vec<usize>, Vec<isize>)> {
    let r = shape.len();
    let k = starts.len();
    ensure!(
        ends.len() == k,
        "starts has {k} values but ends has {}",
        ends.len()
    );
    let default_axes: Vec<i64> = (0..k as i64).collect();
    let axes = axes.unwrap_or(&default_axes);
    ensure!(
        axes.len() == k,
        "axes has {} values for {k} starts",
        axes.len()
    );
    if let Some(s) = steps {
        ensure!(s.len() == k, "steps has {} values for {k} starts", s.len());
    }
    let axes = norm_axes(axes, r)?;
    let st = istrides(shape);
    let mut out_shape = shape.to_vec();
    let mut vs = st.clone();
    let mut base = 0usize;
    for (i, &a) in axes.iter().enumerate() {
        let step = steps.map_or(1, |s| s[i]) as i128;
        ensure!(step != 0, "step of axis {a} is 0");
        let dim = shape[a] as i128;
        let fix = |v: i64| {
            let v = v as i128;
            if v < 0 {
                v + dim
            } else {
                v
            }
        };
        let (mut s, mut e) = (fix(starts[i]), fix(ends[i]));
        let count = if dim == 0 {
            s = 0;
            0
        } else if step > 0 {
            s = s.clamp(0, dim);
            e = e.clamp(0, dim);
            if e > s {
                (e - s + step - 1) / step
            } else {
                0
            }
        } else {
            s = s.clamp(0, dim - 1);
            e = e.clamp(-1, dim - 1);
            if s > e {
                (s - e - step - 1) / -step
            } else {
                0
            }
        };
        out_shape[a] = count as usize;
        if count > 0 {
            base += s as usize * st[a] as usize;
        }
        // A huge step only matters when it selects one element, whose stride is never used.
        vs[a] = if count > 1 {
            (step as isize) * st[a]
        } else {
            st[a]
        };
    }
    if numel(&out_shape) == 0 {
        base = 0;
    }
    Ok((base, out_shape, vs))
}

fn build_slice(b: &BuildCtx) -> Result<Box<dyn Kernel>> {
    // Before opset 10 starts/ends/axes were attributes.
    let attrs = (
        b.attr_ints("starts")?,
        b.attr_ints("ends")?,
        b.attr_ints("axes")?,
    );
    Ok(kernel(move |ctx, inputs| {
        let x = input(inputs, 0)?;
        let (starts, ends, axes, steps) = match &attrs {
            (Some(s), Some(e), axes) if opt_input(inputs, 1).is_none() => {
                (s.clone(), e.clone(), axes.clone(), None)
            }
            _ => (
                input(inputs, 1)?.to_i64_vec(),
                input(inputs, 2)?.to_i64_vec(),
                opt_input(inputs, 3).map(|t| t.to_i64_vec()),
                opt_input(inputs, 4).map(|t| t.to_i64_vec()),
            ),
        };
        let (base, shape, vs) =
            slice_view(x.shape(), &starts, &ends, axes.as_deref(), steps.as_deref())?;
        Ok(vec![view_copy(ctx, x, base, shape, &vs)])
    }))
}

// ---------------------------------------------------------------------------------------------------
// Gather family.

fn build_gather(b: &BuildCtx) -> Result<Box<dyn Kernel>> {
    let axis = b.attr_int("axis", 0)?;
    Ok(kernel(move |ctx, inputs| {
        let x = input(inputs, 0)?;
        let idx = input(inputs, 1)?;
        ensure!(x.rank() > 0, "cannot gather from a scalar");
        let a = norm_axis(axis, x.rank())?;
        let shape = x.shape();
        let dim = shape[a];
        let ids = idx
            .to_i64_vec()
            .into_iter()
            .map(|i| norm_index(i, dim))
            .collect::<Result<Vec<_>>>()?;
        let mut out_shape = shape[..a].to_vec();
        out_shape.extend_from_slice(idx.shape());
        out_shape.extend_from_slice(&shape[a + 1..]);
        let (outer, inner) = (numel(&shape[..a]), numel(&shape[a + 1..]));
        Ok(vec![with_data!(x.data(), v => Tensor::from_vec(
            out_shape,
            gather_rows(ctx, v, outer, dim, inner, &ids),
        ))])
    }))
}

/// Gather on `x` viewed as `[outer, dim, inner]` with already checked indices.
fn gather_rows<T: Elem>(
    ctx: &mut RunCtx,
    x: &[T],
    outer: usize,
    dim: usize,
    inner: usize,
    ids: &[usize],
) -> Vec<T> {
    let m = ids.len();
    let n = outer * m * inner;
    let mut out = alloc::<T>(ctx, n);
    if inner == 1 {
        for_rows(&mut out, m, n, |o, row| {
            let src = &x[o * dim..(o + 1) * dim];
            for (y, &i) in row.iter_mut().zip(ids) {
                *y = src[i];
            }
        });
    } else {
        for_rows(&mut out, inner, n, |p, row| {
            let (o, k) = (p / m, p % m);
            let s = (o * dim + ids[k]) * inner;
            row.copy_from_slice(&x[s..s + inner]);
        });
    }
    out
}

/// Offset into `data` for each position of `indices` (same rank), with the index value along `axis`
/// replacing that coordinate: the addressing shared by GatherElements and ScatterElements.
fn element_offsets(
    data_shape: &[usize],
    idx_shape: &[usize],
    idx: &[i64],
    axis: usize,
) -> Result<Vec<usize>> {
    let r = data_shape.len();
    ensure!(
        idx_shape.len() == r,
        "indices have rank {}, data has rank {r}",
        idx_shape.len()
    );
    for d in 0..r {
        ensure!(
            d == axis || idx_shape[d] <= data_shape[d],
            "indices shape {idx_shape:?} exceeds data shape {data_shape:?} outside axis {axis}"
        );
    }
    let st = strides(data_shape);
    let mut pos = vec![0usize; r];
    let mut out = Vec::with_capacity(idx.len());
    for &i in idx {
        let mut off = norm_index(i, data_shape[axis])? * st[axis];
        for d in 0..r {
            if d != axis {
                off += pos[d] * st[d];
            }
        }
        out.push(off);
        for d in (0..r).rev() {
            pos[d] += 1;
            if pos[d] < idx_shape[d] {
                break;
            }
            pos[d] = 0;
        }
    }
    Ok(out)
}

fn build_gather_elements(b: &BuildCtx) -> Result<Box<dyn Kernel>> {
    let axis = b.attr_int("axis", 0)?;
    Ok(kernel(move |_, inputs| {
        let x = input(inputs, 0)?;
        let idx = input(inputs, 1)?;
        ensure!(x.rank() > 0, "cannot gather from a scalar");
        let a = norm_axis(axis, x.rank())?;
        let offs = element_offsets(x.shape(), idx.shape(), &idx.to_i64_vec(), a)?;
        let shape = idx.shape().to_vec();
        Ok(vec![with_data!(x.data(), v => Tensor::from_vec(
            shape,
            offs.iter().map(|&o| v[o]).collect(),
        ))])
    }))
}

fn build_gather_nd(b: &BuildCtx) -> Result<Box<dyn Kernel>> {
    let batch_dims = b.attr_int("batch_dims", 0)?;
    Ok(kernel(move |ctx, inputs| {
        let x = input(inputs, 0)?;
        let idx = input(inputs, 1)?;
        let (ds, is) = (x.shape(), idx.shape());
        let (r, q) = (ds.len(), is.len());
        let bd = usize::try_from(batch_dims).ok().filter(|&b| b < q && b < r);
        let Some(bd) = bd else {
            bail!("batch_dims {batch_dims} must be in [0, min(rank of data {r}, rank of indices {q}))");
        };
        let k = is[q - 1];
        ensure!(
            k >= 1 && k <= r - bd,
            "indices' last dimension is {k}; it must be in [1, {}]",
            r - bd
        );
        ensure!(
            ds[..bd] == is[..bd],
            "batch dimensions differ: data {ds:?}, indices {is:?}"
        );
        let batch = numel(&ds[..bd]);
        let m = numel(&is[bd..q - 1]);
        let slice = numel(&ds[bd + k..]);
        let dbatch = numel(&ds[bd..]);
        let st = strides(ds);
        let raw = idx.to_i64_vec();
        let mut offs = Vec::with_capacity(batch * m);
        for bi in 0..batch {
            for t in 0..m {
                let tuple = &raw[(bi * m + t) * k..(bi * m + t + 1) * k];
                let mut off = bi * dbatch;
                for (j, &v) in tuple.iter().enumerate() {
                    off += norm_index(v, ds[bd + j])? * st[bd + j];
                }
                offs.push(off);
            }
        }
        let mut out_shape = is[..q - 1].to_vec();
        out_shape.extend_from_slice(&ds[bd + k..]);
        Ok(vec![with_data!(x.data(), v => Tensor::from_vec(
            out_shape,
            gather_slices(ctx, v, &offs, slice),
        ))])
    }))
}

/// Copies the `slice`-long runs of `x` starting at each offset, one after the other.
fn gather_slices<T: Elem>(ctx: &mut RunCtx, x: &[T], offs: &[usize], slice: usize) -> Vec<T> {
    let n = offs.len() * slice;
    let mut out = alloc::<T>(ctx, n);
    for_rows(&mut out, slice, n, |t, row| {
        row.copy_from_slice(&x[offs[t]..offs[t] + slice]);
    });
    out
}

// ---------------------------------------------------------------------------------------------------
// Scatter family.

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum ScatterReduce {
    None,
    Add,
    Mul,
    Max,
    Min,
}

fn scatter_reduction(b: &BuildCtx) -> Result<ScatterReduce> {
    Ok(match b.attr_str("reduction", "none")?.as_str() {
        "none" => ScatterReduce::None,
        "add" => ScatterReduce::Add,
        "mul" => ScatterReduce::Mul,
        "max" => ScatterReduce::Max,
        "min" => ScatterReduce::Min,
        other => bail!("unknown reduction '{other}'"),
    })
}

/// `old (op) new` in the element type: integers wrap, bool add/mul are or/and.
fn combine<T: Elem>(op: ScatterReduce, old: T, new: T) -> T {
    let arith = |f: fn(f64, f64) -> f64, g: fn(i64, i64) -> i64| {
        if T::DTYPE.is_float() {
            T::from_f64(f(old.to_f64(), new.to_f64()))
        } else {
            T::from_i64(g(old.to_i64(), new.to_i64()))
        }
    };
    match op {
        ScatterReduce::None => new,
        ScatterReduce::Add => arith(|a, b| a + b, i64::wrapping_add),
        ScatterReduce::Mul => arith(|a, b| a * b, i64::wrapping_mul),
        ScatterReduce::Max => {
            if new > old {
                new
            } else {
                old
            }
        }
        ScatterReduce::Min => {
            if new < old {
                new
            } else {
                old
            }
        }
    }
}

fn scatter_apply<T: Elem>(
    data: &[T],
    updates: &Tensor,
    offs: &[usize],
    slice: usize,
    op: ScatterReduce,
) -> Result<Vec<T>> {
    let upd = updates.typed::<T>()?;
    let mut out = data.to_vec();
    for (t, &o) in offs.iter().enumerate() {
        let src = &upd[t * slice..(t + 1) * slice];
        for (y, &u) in out[o..o + slice].iter_mut().zip(src) {
            *y = combine(op, *y, u);
        }
    }
    Ok(out)
}

fn build_scatter_elements(b: &BuildCtx) -> Result<Box<dyn Kernel>> {
    let axis = b.attr_int("axis", 0)?;
    let op = scatter_reduction(b)?;
    Ok(kernel(move |_, inputs| {
        let x = input(inputs, 0)?;
        let idx = input(inputs, 1)?;
        let upd = input(inputs, 2)?;
        ensure!(x.rank() > 0, "cannot scatter into a scalar");
        ensure!(
            upd.shape() == idx.shape(),
            "updates have shape {:?}, indices {:?}",
            upd.shape(),
            idx.shape()
        );
        let a = norm_axis(axis, x.rank())?;
        let offs = element_offsets(x.shape(), idx.shape(), &idx.to_i64_vec(), a)?;
        let shape = x.shape().to_vec();
        Ok(vec![with_data!(x.data(), v => Tensor::from_vec(
            shape,
            scatter_apply(v, upd, &offs, 1, op)?,
        ))])
    }))
}

fn build_scatter_nd(b: &BuildCtx) -> Result<Box<dyn Kernel>> {
    let op = scatter_reduction(b)?;
    Ok(kernel(move |_, inputs| {
        let x = input(inputs, 0)?;
        let idx = input(inputs, 1)?;
        let upd = input(inputs, 2)?;
        let (ds, is) = (x.shape(), idx.shape());
        let q = is.len();
        ensure!(q >= 1, "indices must have rank >= 1");
        let k = is[q - 1];
        ensure!(
            k <= ds.len(),
            "indices' last dimension {k} exceeds the data rank {}",
            ds.len()
        );
        let mut want = is[..q - 1].to_vec();
        want.extend_from_slice(&ds[k..]);
        ensure!(
            upd.shape() == want,
            "updates have shape {:?}, expected {want:?}",
            upd.shape()
        );
        let slice = numel(&ds[k..]);
        let st = strides(ds);
        let raw = idx.to_i64_vec();
        let m = numel(&is[..q - 1]);
        let mut offs = Vec::with_capacity(m);
        for t in 0..m {
            let mut off = 0;
            for (j, &v) in raw[t * k..(t + 1) * k].iter().enumerate() {
                off += norm_index(v, ds[j])? * st[j];
            }
            offs.push(off);
        }
        let shape = ds.to_vec();
        Ok(vec![with_data!(x.data(), v => Tensor::from_vec(
            shape,
            scatter_apply(v, upd, &offs, slice, op)?,
        ))])
    }))
}

// ---------------------------------------------------------------------------------------------------
// Expand, Tile.

fn build_expand(_: &BuildCtx) -> Result<Box<dyn Kernel>> {
    Ok(kernel(move |ctx, inputs| {
        let x = input(inputs, 0)?;
        let spec = input(inputs, 1)?
            .to_i64_vec()
            .into_iter()
            .map(|d| dim_of(d, "the shape"))
            .collect::<Result<Vec<_>>>()?;
        let out_shape = broadcast_shapes(x.shape(), &spec)?;
        checked_numel(&out_shape)?;
        let st = istrides(x.shape());
        let lead = out_shape.len() - x.rank();
        let vs: Vec<isize> = (0..out_shape.len())
            .map(|i| {
                if i < lead || x.shape()[i - lead] == 1 {
                    0
                } else {
                    st[i - lead]
                }
            })
            .collect();
        Ok(vec![view_copy(ctx, x, 0, out_shape, &vs)])
    }))
}

fn build_tile(_: &BuildCtx) -> Result<Box<dyn Kernel>> {
    Ok(kernel(move |ctx, inputs| {
        let x = input(inputs, 0)?;
        let reps = input(inputs, 1)?.to_i64_vec();
        ensure!(
            reps.len() == x.rank(),
            "repeats has {} values for an input of rank {}",
            reps.len(),
            x.rank()
        );
        // Tiling is the view [r0, d0, r1, d1, ...] with stride 0 on every repeat dimension.
        let st = istrides(x.shape());
        let mut vshape = Vec::with_capacity(2 * x.rank());
        let mut vs = Vec::with_capacity(2 * x.rank());
        let mut out_shape = Vec::with_capacity(x.rank());
        for (d, &r) in reps.iter().enumerate() {
            let r = dim_of(r, "repeats")?;
            vshape.extend([r, x.shape()[d]]);
            vs.extend([0, st[d]]);
            out_shape.push(r.checked_mul(x.shape()[d]).ok_or_else(|| {
                RuntimeError::new(format!("tiling {:?} by {reps:?} is too large", x.shape()))
            })?);
        }
        checked_numel(&out_shape)?;
        Ok(vec![view_copy(ctx, x, 0, vshape, &vs).reshaped(out_shape)?])
    }))
}

// ---------------------------------------------------------------------------------------------------
// Pad.

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum PadMode {
    Constant,
    Reflect,
    Edge,
    Wrap,
}

fn build_pad(b: &BuildCtx) -> Result<Box<dyn Kernel>> {
    let mode = match b.attr_str("mode", "constant")?.as_str() {
        "constant" => PadMode::Constant,
        "reflect" => PadMode::Reflect,
        "edge" => PadMode::Edge,
        "wrap" => PadMode::Wrap,
        m => bail!("unknown mode '{m}'"),
    };
    // Before opset 11 pads and the value were attributes.
    let attr_pads = b.attr_ints("pads")?;
    let attr_value = b.attr_float("value", 0.0)?;
    Ok(kernel(move |ctx, inputs| {
        let x = input(inputs, 0)?;
        let r = x.rank();
        let pads = match (opt_input(inputs, 1), &attr_pads) {
            (Some(p), _) => p.to_i64_vec(),
            (None, Some(p)) => p.clone(),
            (None, None) => bail!("missing pads"),
        };
        let axes = match opt_input(inputs, 3) {
            Some(a) => norm_axes(&a.to_i64_vec(), r)?,
            None => (0..r).collect(),
        };
        ensure!(
            pads.len() == 2 * axes.len(),
            "pads has {} values for {} axes",
            pads.len(),
            axes.len()
        );
        let mut begin = vec![0i64; r];
        let mut end = vec![0i64; r];
        for (i, &a) in axes.iter().enumerate() {
            begin[a] = pads[i];
            end[a] = pads[axes.len() + i];
        }
        let value = opt_input(inputs, 2);
        if let Some(v) = value {
            ensure!(
                v.len() == 1,
                "constant_value has {} elements, expected 1",
                v.len()
            );
            ensure!(
                v.dtype() == x.dtype(),
                "constant_value is {}, data is {}",
                v.dtype(),
                x.dtype()
            );
        }
        let Some(maps) = pad_maps(x.shape(), &begin, &end, mode)? else {
            return Ok(vec![Tensor::zeros(
                x.dtype(),
                pad_shape(x.shape(), &begin, &end)?,
            )]);
        };
        let out =
            with_data!(x.data(), v => pad_typed(ctx, v, x.shape(), &maps, value, attr_value)?);
        Ok(vec![out])
    }))
}

fn pad_typed<T: Elem>(
    ctx: &mut RunCtx,
    x: &[T],
    shape: &[usize],
    maps: &[Vec<Option<usize>>],
    value: Option<&Tensor>,
    attr_value: f32,
) -> Result<Tensor> {
    let fill = match value {
        Some(t) => t.typed::<T>()?[0],
        None => T::from_f64(attr_value as f64),
    };
    let (shape, out) = pad_apply(ctx, x, shape, maps, fill);
    Ok(Tensor::from_vec(shape, out))
}

/// The output shape of Pad (negative pads crop).
fn pad_shape(shape: &[usize], begin: &[i64], end: &[i64]) -> Result<Vec<usize>> {
    let mut out = Vec::with_capacity(shape.len());
    for (d, &dim) in shape.iter().enumerate() {
        let (pb, pe) = (begin[d] as i128, end[d] as i128);
        let kept = dim as i128 - (-pb).max(0) - (-pe).max(0);
        ensure!(
            kept >= 0,
            "pads {pb}/{pe} crop more than the {dim} elements of axis {d}"
        );
        let n = usize::try_from(dim as i128 + pb + pe)
            .map_err(|_| RuntimeError::new(format!("pads {pb}/{pe} on axis {d} are too large")))?;
        out.push(n);
    }
    checked_numel(&out)?;
    Ok(out)
}

/// For each dimension, the input index of every output index (`None`: the constant), or `None`
/// when the output is empty. Negative pads crop first; the mode then pads the cropped range.
#[allow(clippy::type_complexity)]
fn pad_maps(
    shape: &[usize],
    begin: &[i64],
    end: &[i64],
    mode: PadMode,
) -> Result<Option<Vec<Vec<Option<usize>>>>> {
    let out_shape = pad_shape(shape, begin, end)?;
    if numel(&out_shape) == 0 {
        return Ok(None);
    }
    let mut maps = Vec::with_capacity(shape.len());
    for (d, &dim) in shape.iter().enumerate() {
        let (pb, pe) = (begin[d] as i128, end[d] as i128);
        let lo = (-pb).max(0);
        let kept = dim as i128 - lo - (-pe).max(0);
        let pb = pb.max(0);
        if kept == 0 && mode != PadMode::Constant {
            bail!("cannot pad the empty axis {d} in {mode:?} mode");
        }
        let map = (0..out_shape[d] as i128)
            .map(|o| {
                let i = o - pb;
                let j = if (0..kept).contains(&i) {
                    i
                } else {
                    match mode {
                        PadMode::Constant => return None,
                        PadMode::Edge => i.clamp(0, kept - 1),
                        PadMode::Wrap => i.rem_euclid(kept),
                        PadMode::Reflect => {
                            if kept == 1 {
                                0
                            } else {
                                let p = 2 * (kept - 1);
                                let m = i.rem_euclid(p);
                                if m >= kept {
                                    p - m
                                } else {
                                    m
                                }
                            }
                        }
                    }
                };
                Some((lo + j) as usize)
            })
            .collect();
        maps.push(map);
    }
    Ok(Some(maps))
}

fn pad_apply<T: Elem>(
    ctx: &mut RunCtx,
    x: &[T],
    shape: &[usize],
    maps: &[Vec<Option<usize>>],
    fill: T,
) -> (Vec<usize>, Vec<T>) {
    let out_shape: Vec<usize> = maps.iter().map(|m| m.len()).collect();
    let n = numel(&out_shape);
    let mut out = alloc::<T>(ctx, n);
    let r = shape.len();
    if r == 0 {
        out[0] = x[0];
        return (out_shape, out);
    }
    let st = strides(shape);
    let last = &maps[r - 1];
    // The contiguous middle of the last axis, when the map is a plain run there.
    let first_in = last.iter().position(|m| m.is_some());
    let run = first_in.map(|p| {
        let s = last[p].expect("position found");
        let len = last[p..]
            .iter()
            .enumerate()
            .take_while(|(k, m)| **m == Some(s + k))
            .count();
        (p, s, len)
    });
    let orows = &out_shape[..r - 1];
    for_rows(&mut out, out_shape[r - 1], n, |row_i, row| {
        let mut rem = row_i;
        let mut off = 0usize;
        let mut inside = true;
        for d in (0..r - 1).rev() {
            let i = rem % orows[d];
            rem /= orows[d];
            match maps[d][i] {
                Some(j) => off += j * st[d],
                None => inside = false,
            }
        }
        if !inside {
            row.fill(fill);
            return;
        }
        for (y, m) in row.iter_mut().zip(last) {
            *y = match m {
                Some(j) => x[off + j],
                None => fill,
            };
        }
        if let Some((p, s, len)) = run {
            row[p..p + len].copy_from_slice(&x[off + s..off + s + len]);
        }
    });
    (out_shape, out)
}

// ---------------------------------------------------------------------------------------------------
// DepthToSpace, SpaceToDepth.

fn block_args(b: &BuildCtx) -> Result<(usize, bool)> {
    let bs = b.attr_int("blocksize", 0)?;
    ensure!(bs >= 1, "blocksize must be positive, got {bs}");
    let crd = match b.attr_str("mode", "DCR")?.as_str() {
        "DCR" => false,
        "CRD" => true,
        m => bail!("unknown mode '{m}'"),
    };
    Ok((bs as usize, crd))
}

fn nchw(x: &Tensor) -> Result<[usize; 4]> {
    match *x.shape() {
        [n, c, h, w] => Ok([n, c, h, w]),
        _ => bail!("input has shape {:?}, expected rank 4", x.shape()),
    }
}

fn build_depth_to_space(b: &BuildCtx) -> Result<Box<dyn Kernel>> {
    let (bs, crd) = block_args(b)?;
    Ok(kernel(move |ctx, inputs| {
        let x = input(inputs, 0)?;
        let [n, c, h, w] = nchw(x)?;
        let bb = bs.saturating_mul(bs);
        ensure!(
            c % bb == 0,
            "channels {c} are not a multiple of blocksize² ({bs}²)"
        );
        let oc = c / bb;
        let hw = (h * w) as isize;
        // Output [n, oc, h, b1, w, b2] reads input channel (b1·b + b2)·oc + c (DCR) or c·b² + b1·b + b2
        // (CRD).
        let (sc, sb1, sb2) = if crd {
            ((bs * bs) as isize * hw, bs as isize * hw, hw)
        } else {
            (hw, (bs * oc) as isize * hw, oc as isize * hw)
        };
        let vshape = vec![n, oc, h, bs, w, bs];
        let vs = [(c as isize) * hw, sc, w as isize, sb1, 1, sb2];
        let out = view_copy(ctx, x, 0, vshape, &vs);
        Ok(vec![out.reshaped(vec![n, oc, h * bs, w * bs])?])
    }))
}

fn build_space_to_depth(b: &BuildCtx) -> Result<Box<dyn Kernel>> {
    let (bs, crd) = block_args(b)?;
    Ok(kernel(move |ctx, inputs| {
        let x = input(inputs, 0)?;
        let [n, c, h, w] = nchw(x)?;
        ensure!(
            h % bs == 0 && w % bs == 0,
            "spatial size {h}x{w} is not a multiple of blocksize {bs}"
        );
        let (oh, ow) = (h / bs, w / bs);
        let oc = bs
            .checked_mul(bs)
            .and_then(|bb| bb.checked_mul(c))
            .ok_or_else(|| RuntimeError::new(format!("blocksize {bs} is too large")))?;
        let (chw, hw, wi, b) = (
            (c * h * w) as isize,
            (h * w) as isize,
            w as isize,
            bs as isize,
        );
        // Output channel (b1·b + b2)·c + ci (DCR) or ci·b² + b1·b + b2 (CRD) holds input pixel
        // (h·b + b1, w·b + b2) of channel ci.
        let (vshape, vs) = if crd {
            (vec![n, c, bs, bs, oh, ow], [chw, hw, wi, 1, b * wi, b])
        } else {
            (vec![n, bs, bs, c, oh, ow], [chw, wi, 1, hw, b * wi, b])
        };
        let out = view_copy(ctx, x, 0, vshape, &vs);
        Ok(vec![out.reshaped(vec![n, oc, oh, ow])?])
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn lcg(seed: &mut u64) -> u64 {
        *seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        *seed >> 33
    }

    fn ctx() -> RunCtx<'static> {
        RunCtx::new(None)
    }

    #[test]
    fn strided_copy_matches_reference() {
        let mut seed = 7u64;
        for case in 0..400 {
            let r = 1 + (lcg(&mut seed) % 5) as usize;
            let shape: Vec<usize> = (0..r).map(|_| (lcg(&mut seed) % 12) as usize).collect();
            let shape: Vec<usize> = if case % 7 == 0 {
                shape.iter().map(|&d| d * 9 + 1).take(3).collect()
            } else {
                shape
            };
            let r = shape.len();
            // A random permutation with random reversals and broadcasts of a source big enough.
            let mut perm: Vec<usize> = (0..r).collect();
            for i in (1..r).rev() {
                perm.swap(i, (lcg(&mut seed) % (i as u64 + 1)) as usize);
            }
            let src_shape: Vec<usize> = perm.iter().map(|&p| shape[p].max(1)).collect();
            let sst = strides(&src_shape);
            let mut vs = vec![0isize; r];
            let mut base = 0usize;
            for (k, &p) in perm.iter().enumerate() {
                let mut s = sst[k] as isize;
                match lcg(&mut seed) % 6 {
                    0 => s = 0,
                    1 if shape[p] > 0 => {
                        base += (shape[p] - 1) * sst[k];
                        s = -s;
                    }
                    _ => {}
                }
                vs[p] = s;
            }
            let src: Vec<u32> = (0..numel(&src_shape) as u32).collect();
            let want = strided_copy_reference(&src, base, &shape, &vs);
            for threads in [1, 3] {
                let pool = rayon::ThreadPoolBuilder::new()
                    .num_threads(threads)
                    .build()
                    .unwrap();
                let mut got = vec![0u32; numel(&shape)];
                pool.install(|| strided_copy(&src, base, &shape, &vs, &mut got));
                assert_eq!(got, want, "shape {shape:?} strides {vs:?} base {base}");
            }
        }
    }

    #[test]
    fn transpose_matches_reference() {
        let mut c = ctx();
        let mut seed = 3u64;
        let shapes: &[&[usize]] = &[
            &[1, 64, 56, 56],
            &[2, 3, 40, 50],
            &[300, 200],
            &[7, 1, 9],
            &[0, 3, 2],
            &[5],
            &[],
            &[2, 3, 4, 5, 6],
        ];
        for shape in shapes {
            let n = numel(shape);
            let x: Vec<f32> = (0..n).map(|_| lcg(&mut seed) as f32).collect();
            let t = Tensor::from_vec(shape.to_vec(), x.clone());
            let r = shape.len();
            let mut perms: Vec<Vec<usize>> = vec![(0..r).rev().collect(), (0..r).collect()];
            if r == 4 {
                perms.push(vec![0, 2, 3, 1]);
                perms.push(vec![0, 3, 1, 2]);
            }
            let mut p: Vec<usize> = (0..r).collect();
            for i in (1..r).rev() {
                p.swap(i, (lcg(&mut seed) % (i as u64 + 1)) as usize);
            }
            perms.push(p);
            for perm in perms {
                let got = transpose(&mut c, &t, &perm);
                let want = transpose_reference(&x, shape, &perm);
                assert_eq!(got.f32s().unwrap(), &want[..], "{shape:?} {perm:?}");
            }
        }
    }

    #[test]
    fn slice_clamps_as_the_spec_says() {
        let shape = [20usize, 10, 5];
        let (_, s, _) = slice_view(
            &shape,
            &[20, 10, 4],
            &[0, 0, 1],
            Some(&[0, 1, 2]),
            Some(&[-1, -3, -2]),
        )
        .unwrap();
        assert_eq!(s, vec![19, 3, 2]);
        let (_, s, _) = slice_view(&shape, &[1000], &[1000], Some(&[1]), None).unwrap();
        assert_eq!(s, vec![20, 0, 5]);
        let (_, s, _) = slice_view(&shape, &[0], &[-1], Some(&[1]), None).unwrap();
        assert_eq!(s, vec![20, 9, 5]);
        let (_, s, _) =
            slice_view(&shape, &[-1], &[i64::MIN], Some(&[0]), Some(&[i64::MIN])).unwrap();
        assert_eq!(s, vec![1, 10, 5]);
        let (_, s, _) = slice_view(&[0], &[0], &[i64::MAX], None, Some(&[-1])).unwrap();
        assert_eq!(s, vec![0]);
        assert!(slice_view(&shape, &[0], &[1], None, Some(&[0])).is_err());
        assert!(slice_view(&shape, &[0, 0], &[1, 1], Some(&[1, 1]), None).is_err());
    }

    #[test]
    fn reshape_targets() {
        assert_eq!(
            reshape_target(&[2, 3, 4], &[2, 0, 1, -1], false).unwrap(),
            vec![2, 3, 1, 4]
        );
        assert_eq!(
            reshape_target(&[0, 3, 4], &[3, 4, 0], true).unwrap(),
            vec![3, 4, 0]
        );
        assert!(reshape_target(&[2, 3], &[-1, -1], false).is_err());
        assert!(reshape_target(&[2, 3], &[4, -1], false).is_err());
        assert!(reshape_target(&[0, 3], &[0, -1], true).is_err());
        assert!(reshape_target(&[2, 3], &[7], false).is_err());
        assert!(reshape_target(&[2, 3], &[-2, 3], false).is_err());
    }

    #[test]
    fn pad_modes() {
        let maps = pad_maps(&[3], &[4], &[4], PadMode::Reflect)
            .unwrap()
            .unwrap();
        let m: Vec<usize> = maps[0].iter().map(|m| m.unwrap()).collect();
        // numpy.pad([0, 1, 2], 4, 'reflect')
        assert_eq!(m, vec![0, 1, 2, 1, 0, 1, 2, 1, 0, 1, 2]);
        let maps = pad_maps(&[3], &[4], &[2], PadMode::Wrap).unwrap().unwrap();
        let m: Vec<usize> = maps[0].iter().map(|m| m.unwrap()).collect();
        assert_eq!(m, vec![2, 0, 1, 2, 0, 1, 2, 0, 1]);
        let maps = pad_maps(&[4], &[-1], &[2], PadMode::Edge).unwrap().unwrap();
        let m: Vec<usize> = maps[0].iter().map(|m| m.unwrap()).collect();
        assert_eq!(m, vec![1, 2, 3, 3, 3]);
        assert!(pad_maps(&[2], &[-3], &[0], PadMode::Constant).is_err());
        assert!(pad_maps(&[0], &[1], &[0], PadMode::Edge).is_err());
        // An empty output needs no maps, however large the pads on other axes.
        let empty = pad_maps(&[0, 2], &[0, 1 << 50], &[0, 0], PadMode::Constant).unwrap();
        assert!(empty.is_none());
        assert!(pad_maps(&[1, 2], &[0, i64::MAX], &[0, i64::MAX], PadMode::Constant).is_err());
    }

    #[test]
    fn gather_errors_on_bad_indices() {
        assert!(norm_index(3, 3).is_err());
        assert!(norm_index(-4, 3).is_err());
        assert_eq!(norm_index(-3, 3).unwrap(), 0);
        assert!(norm_index(0, 0).is_err());
        assert!(element_offsets(&[2, 2], &[2, 2], &[0, 5, 0, 0], 1).is_err());
    }
}
