//! Small ops about shapes, indices and counting: Shape, Size, ConstantOfShape, Range, TopK, NonZero,
//! OneHot, CumSum, ArgMax, ArgMin, Trilu and EyeLike.
//!
//! Most of these are plain loops already; TopK selects before it sorts (`select_nth_unstable` then a
//! sort of the first k), so asking for a few of many values costs one pass. Orderings on floats treat
//! NaN as larger than everything, which keeps the sort's comparator total; ties go to the lower index
//! as ONNX specifies.

use std::cmp::Ordering;

use half::{bf16, f16};

use super::movement::{checked_numel, dim_of, for_rows};
use super::reduce::Acc;
use super::{input, kernel, opt_input, BuildCtx, Kernel, Registry};
use crate::error::{Result, RuntimeError};
use crate::tensor::{norm_axis, numel, DType, Data, Elem, Tensor};
use crate::{bail, ensure, with_data};

pub fn register(r: &mut Registry) {
    r.add("onnx.Shape", build_shape);
    r.add("onnx.Size", build_size);
    r.add("onnx.ConstantOfShape", build_constant_of_shape);
    r.add("onnx.Range", build_range);
    r.add("onnx.TopK", build_topk);
    r.add("onnx.NonZero", build_nonzero);
    r.add("onnx.OneHot", build_onehot);
    r.add("onnx.CumSum", build_cumsum);
    r.add("onnx.ArgMax", |b| build_arg(b, true));
    r.add("onnx.ArgMin", |b| build_arg(b, false));
    r.add("onnx.Trilu", build_trilu);
    r.add("onnx.EyeLike", build_eyelike);
}

/// The single value of a scalar-like input (shape `[]` or `[1]`).
fn scalar_of<'t>(t: &'t Tensor, what: &str) -> Result<&'t Tensor> {
    ensure!(
        t.len() == 1,
        "{what} must hold one value, got shape {:?}",
        t.shape()
    );
    Ok(t)
}

fn build_shape(b: &BuildCtx) -> Result<Box<dyn Kernel>> {
    let start = b.attr_int("start", 0)?;
    let end = b.attr_int_opt("end")?;
    Ok(kernel(move |_, inputs| {
        let x = input(inputs, 0)?;
        let r = x.rank() as i64;
        let clamp = |v: i64| (if v < 0 { v.saturating_add(r) } else { v }).clamp(0, r) as usize;
        let (s, e) = (clamp(start), clamp(end.unwrap_or(r)));
        let dims: Vec<i64> = if e > s {
            x.shape()[s..e].iter().map(|&d| d as i64).collect()
        } else {
            vec![]
        };
        Ok(vec![Tensor::from_vec(vec![dims.len()], dims)])
    }))
}

fn build_size(_: &BuildCtx) -> Result<Box<dyn Kernel>> {
    Ok(kernel(|_, inputs| {
        Ok(vec![Tensor::scalar(input(inputs, 0)?.len() as i64)])
    }))
}

fn build_constant_of_shape(b: &BuildCtx) -> Result<Box<dyn Kernel>> {
    let value = b
        .attr_tensor("value")?
        .unwrap_or_else(|| Tensor::scalar(0f32));
    ensure!(
        value.len() == 1,
        "attribute 'value' must hold one element, got shape {:?}",
        value.shape()
    );
    Ok(kernel(move |_, inputs| {
        let shape = input(inputs, 0)?
            .to_i64_vec()
            .into_iter()
            .map(|d| dim_of(d, "the shape"))
            .collect::<Result<Vec<_>>>()?;
        let n = checked_numel(&shape)?;
        Ok(vec![
            with_data!(value.data(), v => Tensor::from_vec(shape, vec![v[0]; n])),
        ])
    }))
}

fn build_range(_: &BuildCtx) -> Result<Box<dyn Kernel>> {
    Ok(kernel(|_, inputs| {
        let start = scalar_of(input(inputs, 0)?, "start")?;
        let limit = scalar_of(input(inputs, 1)?, "limit")?;
        let delta = scalar_of(input(inputs, 2)?, "delta")?;
        ensure!(
            limit.dtype() == start.dtype() && delta.dtype() == start.dtype(),
            "start, limit and delta have different types ({}, {}, {})",
            start.dtype(),
            limit.dtype(),
            delta.dtype()
        );
        Ok(vec![
            with_data!(start.data(), v => range_typed(v[0], limit, delta)?),
        ])
    }))
}

/// Largest Range output accepted; a bigger one is almost surely a wrong delta.
const RANGE_MAX: u128 = 1 << 36;

fn range_typed<T: Elem>(start: T, limit: &Tensor, delta: &Tensor) -> Result<Tensor> {
    let limit = limit.typed::<T>()?[0];
    let delta = delta.typed::<T>()?[0];
    let out: Vec<T> = if T::DTYPE.is_float() {
        let (s, l, d) = (start.to_f64(), limit.to_f64(), delta.to_f64());
        ensure!(d != 0.0, "delta is 0");
        let n = ((l - s) / d).ceil().max(0.0);
        ensure!(
            n.is_finite() && (n as u128) <= RANGE_MAX,
            "range from {s} to {l} by {d} is too long"
        );
        (0..n as usize)
            .map(|i| T::from_f64(s + i as f64 * d))
            .collect()
    } else {
        let (s, l, d) = (start.to_i64(), limit.to_i64(), delta.to_i64());
        ensure!(d != 0, "delta is 0");
        let (diff, d128) = (l as i128 - s as i128, d as i128);
        let n = if d > 0 && diff > 0 {
            (diff + d128 - 1) / d128
        } else if d < 0 && diff < 0 {
            (diff + d128 + 1) / d128
        } else {
            0
        };
        ensure!(
            n as u128 <= RANGE_MAX,
            "range from {s} to {l} by {d} is too long"
        );
        (0..n as i64)
            .map(|i| T::from_i64(s.wrapping_add(i.wrapping_mul(d))))
            .collect()
    };
    Ok(Tensor::from_vec(vec![out.len()], out))
}

/// A total order on elements: NaN above everything (and equal to itself).
fn total_cmp<T: Elem>(a: T, b: T) -> Ordering {
    match a.partial_cmp(&b) {
        Some(o) => o,
        #[allow(clippy::eq_op)]
        None => (a != a).cmp(&(b != b)),
    }
}

fn build_topk(b: &BuildCtx) -> Result<Box<dyn Kernel>> {
    let axis = b.attr_int("axis", -1)?;
    let largest = b.attr_int("largest", 1)? != 0;
    // `sorted = 0` leaves the order to the implementation; sorted output satisfies it too.
    let attr_k = b.attr_int_opt("k")?;
    Ok(kernel(move |_, inputs| {
        let x = input(inputs, 0)?;
        let k = match opt_input(inputs, 1) {
            Some(t) => scalar_of(t, "k")?.to_i64_vec()[0],
            None => attr_k.ok_or_else(|| RuntimeError::new("missing k"))?,
        };
        ensure!(x.rank() > 0, "TopK of a scalar");
        let a = norm_axis(axis, x.rank())?;
        let dim = x.shape()[a];
        let k = dim_of(k, "k")?;
        ensure!(k <= dim, "k = {k} exceeds the size {dim} of axis {a}");
        let shape = x.shape();
        let (outer, inner) = (numel(&shape[..a]), numel(&shape[a + 1..]));
        let mut out_shape = shape.to_vec();
        out_shape[a] = k;
        let (values, idx) = with_data!(x.data(), v => {
            let (vals, idx) = topk_typed(v, outer, dim, inner, k, largest);
            (Tensor::from_vec(out_shape.clone(), vals), idx)
        });
        Ok(vec![values, Tensor::from_vec(out_shape, idx)])
    }))
}

fn topk_typed<T: Elem>(
    x: &[T],
    outer: usize,
    dim: usize,
    inner: usize,
    k: usize,
    largest: bool,
) -> (Vec<T>, Vec<i64>) {
    let mut vals = vec![T::default(); outer * k * inner];
    let mut idx = vec![0i64; outer * k * inner];
    let cmp = |a: &(T, usize), b: &(T, usize)| {
        let c = total_cmp(a.0, b.0);
        let c = if largest { c.reverse() } else { c };
        c.then(a.1.cmp(&b.1))
    };
    let mut buf: Vec<(T, usize)> = Vec::with_capacity(dim);
    for o in 0..outer {
        for j in 0..inner {
            buf.clear();
            buf.extend((0..dim).map(|i| (x[(o * dim + i) * inner + j], i)));
            if k == 0 {
                continue;
            }
            if k < dim {
                buf.select_nth_unstable_by(k - 1, cmp);
                buf.truncate(k);
            }
            buf.sort_unstable_by(cmp);
            for (t, &(v, i)) in buf.iter().enumerate() {
                let p = (o * k + t) * inner + j;
                vals[p] = v;
                idx[p] = i as i64;
            }
        }
    }
    (vals, idx)
}

fn build_nonzero(_: &BuildCtx) -> Result<Box<dyn Kernel>> {
    Ok(kernel(|_, inputs| {
        let x = input(inputs, 0)?;
        let pos = with_data!(x.data(), v => nonzero_positions(v));
        // A scalar counts as a one-element vector, as numpy did.
        let shape: Vec<usize> = if x.rank() == 0 {
            vec![1]
        } else {
            x.shape().to_vec()
        };
        let r = shape.len();
        let nnz = pos.len();
        let mut out = vec![0i64; r * nnz];
        for (j, &p) in pos.iter().enumerate() {
            let mut rem = p;
            for d in (0..r).rev() {
                out[d * nnz + j] = (rem % shape[d]) as i64;
                rem /= shape[d];
            }
        }
        Ok(vec![Tensor::from_vec(vec![r, nnz], out)])
    }))
}

fn nonzero_positions<T: Elem>(v: &[T]) -> Vec<usize> {
    let zero = T::default();
    v.iter()
        .enumerate()
        .filter(|(_, &x)| x != zero)
        .map(|(i, _)| i)
        .collect()
}

fn build_onehot(b: &BuildCtx) -> Result<Box<dyn Kernel>> {
    let axis = b.attr_int("axis", -1)?;
    Ok(kernel(move |_, inputs| {
        let idx = input(inputs, 0)?;
        let depth = scalar_of(input(inputs, 1)?, "depth")?.to_f64_vec()[0];
        let values = input(inputs, 2)?;
        ensure!(
            values.len() == 2,
            "values must hold [off, on], got shape {:?}",
            values.shape()
        );
        ensure!(depth.is_finite(), "depth is {depth}");
        let depth = dim_of(depth as i64, "depth")?;
        let a = norm_axis(axis, idx.rank() + 1)?;
        let mut out_shape = idx.shape()[..a].to_vec();
        out_shape.push(depth);
        out_shape.extend_from_slice(&idx.shape()[a..]);
        checked_numel(&out_shape)?;
        let (outer, inner) = (numel(&idx.shape()[..a]), numel(&idx.shape()[a..]));
        // Negative indices count from the end; anything still outside [0, depth) is all "off".
        let ids: Vec<Option<usize>> = idx
            .to_i64_vec()
            .into_iter()
            .map(|i| {
                let i = if i < 0 {
                    i.saturating_add(depth as i64)
                } else {
                    i
                };
                usize::try_from(i).ok().filter(|&i| i < depth)
            })
            .collect();
        Ok(vec![with_data!(values.data(), v => {
            let (off, on) = (v[0], v[1]);
            let mut out = vec![off; outer * depth * inner];
            for o in 0..outer {
                for j in 0..inner {
                    if let Some(d) = ids[o * inner + j] {
                        out[(o * depth + d) * inner + j] = on;
                    }
                }
            }
            Tensor::from_vec(out_shape, out)
        })])
    }))
}

fn build_cumsum(b: &BuildCtx) -> Result<Box<dyn Kernel>> {
    let exclusive = b.attr_int("exclusive", 0)? != 0;
    let reverse = b.attr_int("reverse", 0)? != 0;
    Ok(kernel(move |_, inputs| {
        let x = input(inputs, 0)?;
        let axis = scalar_of(input(inputs, 1)?, "axis")?.to_i64_vec()[0];
        ensure!(x.rank() > 0, "CumSum of a scalar");
        let a = norm_axis(axis, x.rank())?;
        let s = x.shape();
        let g = Scan {
            outer: numel(&s[..a]),
            n: s[a],
            inner: numel(&s[a + 1..]),
            exclusive,
            reverse,
        };
        let data = match x.data() {
            Data::F32(v) => Data::F32(g.run(v)),
            Data::F64(v) => Data::F64(g.run(v)),
            Data::I64(v) => Data::I64(g.run(v)),
            Data::U64(v) => Data::U64(g.run(v)),
            Data::F16(v) => Data::F16(g.via(v, f16::to_f32, f16::from_f32)),
            Data::BF16(v) => Data::BF16(g.via(v, bf16::to_f32, bf16::from_f32)),
            Data::I8(v) => Data::I8(g.via(v, |x| x as i64, |y| y as i8)),
            Data::I16(v) => Data::I16(g.via(v, |x| x as i64, |y| y as i16)),
            Data::I32(v) => Data::I32(g.via(v, |x| x as i64, |y| y as i32)),
            Data::U8(v) => Data::U8(g.via(v, |x| x as i64, |y| y as u8)),
            Data::U16(v) => Data::U16(g.via(v, |x| x as i64, |y| y as u16)),
            Data::U32(v) => Data::U32(g.via(v, |x| x as i64, |y| y as u32)),
            Data::Bool(_) => bail!("CumSum does not take bool tensors"),
        };
        Ok(vec![Tensor::new(s.to_vec(), data)?])
    }))
}

/// A running sum along the middle axis of `[outer, n, inner]`.
struct Scan {
    outer: usize,
    n: usize,
    inner: usize,
    exclusive: bool,
    reverse: bool,
}

impl Scan {
    fn run<A: Acc>(&self, x: &[A]) -> Vec<A> {
        let (n, inner) = (self.n, self.inner);
        let mut out = vec![A::ZERO; x.len()];
        let block = n * inner;
        for_rows(&mut out, block, x.len(), |o, dst| {
            let src = &x[o * block..(o + 1) * block];
            let mut acc = vec![A::ZERO; inner];
            for t in 0..n {
                let i = if self.reverse { n - 1 - t } else { t };
                let (xs, ys) = (
                    &src[i * inner..(i + 1) * inner],
                    &mut dst[i * inner..(i + 1) * inner],
                );
                for ((a, &v), y) in acc.iter_mut().zip(xs).zip(ys) {
                    if self.exclusive {
                        *y = *a;
                        *a = a.add(v);
                    } else {
                        *a = a.add(v);
                        *y = *a;
                    }
                }
            }
        });
        debug_assert_eq!(out.len(), self.outer * block);
        out
    }

    fn via<T: Copy, A: Acc>(&self, v: &[T], to: impl Fn(T) -> A, from: impl Fn(A) -> T) -> Vec<T> {
        let a: Vec<A> = v.iter().map(|&x| to(x)).collect();
        self.run(&a).into_iter().map(from).collect()
    }
}

fn build_arg(b: &BuildCtx, max: bool) -> Result<Box<dyn Kernel>> {
    let axis = b.attr_int("axis", 0)?;
    let keepdims = b.attr_int("keepdims", 1)? != 0;
    let last = b.attr_int("select_last_index", 0)? != 0;
    Ok(kernel(move |_, inputs| {
        let x = input(inputs, 0)?;
        ensure!(
            x.rank() > 0,
            "cannot take the arg{} of a scalar",
            if max { "max" } else { "min" }
        );
        let a = norm_axis(axis, x.rank())?;
        let s = x.shape();
        ensure!(s[a] > 0, "axis {a} of shape {s:?} is empty");
        let (outer, dim, inner) = (numel(&s[..a]), s[a], numel(&s[a + 1..]));
        let idx = with_data!(x.data(), v => arg_extreme(v, outer, dim, inner, max, last));
        let mut out_shape = s.to_vec();
        if keepdims {
            out_shape[a] = 1;
        } else {
            out_shape.remove(a);
        }
        Ok(vec![Tensor::from_vec(out_shape, idx)])
    }))
}

/// Whether `v` replaces `best` as the extreme so far. NaN wins over numbers (as numpy's argmax and
/// argmin both return the first NaN); equal values win only when the last index is asked for.
#[inline(always)]
#[allow(clippy::eq_op)]
fn beats<T: Elem>(v: T, best: T, max: bool, last: bool) -> bool {
    let (vn, bn) = (v != v, best != best);
    if bn || vn {
        return vn && (!bn || last);
    }
    if last && v == best {
        return true;
    }
    if max {
        v > best
    } else {
        v < best
    }
}

fn arg_extreme<T: Elem>(
    x: &[T],
    outer: usize,
    dim: usize,
    inner: usize,
    max: bool,
    last: bool,
) -> Vec<i64> {
    let mut out = vec![0i64; outer * inner];
    for_rows(&mut out, inner, x.len(), |o, dst| {
        let block = &x[o * dim * inner..(o + 1) * dim * inner];
        let mut best: Vec<T> = block[..inner].to_vec();
        for i in 1..dim {
            let row = &block[i * inner..(i + 1) * inner];
            for ((b, y), &v) in best.iter_mut().zip(dst.iter_mut()).zip(row) {
                if beats(v, *b, max, last) {
                    *b = v;
                    *y = i as i64;
                }
            }
        }
    });
    out
}

fn build_trilu(b: &BuildCtx) -> Result<Box<dyn Kernel>> {
    let upper = b.attr_int("upper", 1)? != 0;
    Ok(kernel(move |_, inputs| {
        let x = input(inputs, 0)?;
        let k = match opt_input(inputs, 1) {
            Some(t) => scalar_of(t, "k")?.to_i64_vec()[0],
            None => 0,
        };
        let r = x.rank();
        ensure!(
            r >= 2,
            "input has shape {:?}, expected rank >= 2",
            x.shape()
        );
        let (rows, cols) = (x.shape()[r - 2], x.shape()[r - 1]);
        let shape = x.shape().to_vec();
        Ok(vec![
            with_data!(x.data(), v => Tensor::from_vec(shape, trilu(v, rows, cols, k, upper))),
        ])
    }))
}

/// Keeps the elements on and above (upper) or on and below (lower) diagonal `k` of every matrix.
fn trilu<T: Elem>(x: &[T], rows: usize, cols: usize, k: i64, upper: bool) -> Vec<T> {
    let mut out = x.to_vec();
    if rows == 0 || cols == 0 {
        return out;
    }
    for m in out.chunks_mut(rows * cols) {
        for (i, row) in m.chunks_mut(cols).enumerate() {
            for (j, y) in row.iter_mut().enumerate() {
                let d = j as i64 - i as i64;
                let keep = if upper { d >= k } else { d <= k };
                if !keep {
                    *y = T::default();
                }
            }
        }
    }
    out
}

fn build_eyelike(b: &BuildCtx) -> Result<Box<dyn Kernel>> {
    let dtype = match b.attr_int_opt("dtype")? {
        Some(code) => Some(DType::from_onnx_code(code).ok_or_else(|| {
            RuntimeError::new(format!("dtype {code} is not supported by the runtime"))
        })?),
        None => None,
    };
    let k = b.attr_int("k", 0)?;
    Ok(kernel(move |_, inputs| {
        let x = input(inputs, 0)?;
        let [rows, cols] = *x.shape() else {
            bail!("input has shape {:?}, expected rank 2", x.shape());
        };
        let dt = dtype.unwrap_or(x.dtype());
        let mut data = Data::zeros(dt, rows * cols);
        with_data!(&mut data, v => set_diagonal(v, rows, cols, k));
        Ok(vec![Tensor::new(vec![rows, cols], data)?])
    }))
}

fn set_diagonal<T: Elem>(v: &mut [T], rows: usize, cols: usize, k: i64) {
    for i in 0..rows {
        let j = i as i64 + k;
        if (0..cols as i64).contains(&j) {
            v[i * cols + j as usize] = T::from_i64(1);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn topk_breaks_ties_by_index() {
        let x = [3i64, 1, 3, 2, 3];
        let (v, i) = topk_typed(&x, 1, 5, 1, 3, true);
        assert_eq!(v, vec![3, 3, 3]);
        assert_eq!(i, vec![0, 2, 4]);
        let (v, i) = topk_typed(&x, 1, 5, 1, 2, false);
        assert_eq!(v, vec![1, 2]);
        assert_eq!(i, vec![1, 3]);
        let f = [1.0f32, f32::NAN, 5.0, 5.0];
        let (v, i) = topk_typed(&f, 1, 4, 1, 2, true);
        assert!(v[0].is_nan());
        assert_eq!((v[1], i), (5.0, vec![1, 2]));
    }

    #[test]
    fn topk_matches_full_sort_on_columns() {
        // [2, 7, 3] along axis 1: compare with a full stable sort.
        let mut seed = 9u64;
        let x: Vec<i32> = (0..42)
            .map(|_| {
                seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1);
                ((seed >> 33) % 5) as i32
            })
            .collect();
        let (v, i) = topk_typed(&x, 2, 7, 3, 4, true);
        for o in 0..2 {
            for j in 0..3 {
                let mut col: Vec<(i32, usize)> =
                    (0..7).map(|t| (x[(o * 7 + t) * 3 + j], t)).collect();
                col.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
                for (t, want) in col.iter().take(4).enumerate() {
                    let p = (o * 4 + t) * 3 + j;
                    assert_eq!((v[p], i[p] as usize), *want);
                }
            }
        }
    }

    #[test]
    fn argmax_nan_and_last_index() {
        let x = [1.0f32, f32::NAN, 3.0, f32::NAN];
        assert_eq!(arg_extreme(&x, 1, 4, 1, true, false), vec![1]);
        assert_eq!(arg_extreme(&x, 1, 4, 1, false, true), vec![3]);
        let y = [2.0f32, 2.0, 1.0];
        assert_eq!(arg_extreme(&y, 1, 3, 1, true, true), vec![1]);
        assert_eq!(arg_extreme(&y, 1, 3, 1, true, false), vec![0]);
    }

    #[test]
    fn cumsum_modes() {
        let s = Scan {
            outer: 1,
            n: 5,
            inner: 1,
            exclusive: true,
            reverse: true,
        };
        assert_eq!(s.run(&[1i64, 2, 3, 4, 5]), vec![14, 12, 9, 5, 0]);
    }

    #[test]
    fn range_lengths() {
        let t = |v: i32| Tensor::scalar(v);
        let r = range_typed(10i32, &t(6), &t(-3)).unwrap();
        assert_eq!(r.as_slice::<i32>().unwrap(), &[10, 7]);
        let r = range_typed(0i32, &t(5), &t(-1)).unwrap();
        assert_eq!(r.len(), 0);
        assert!(range_typed(0i32, &t(5), &t(0)).is_err());
        let f = |v: f32| Tensor::scalar(v);
        assert!(range_typed(0f32, &f(1.0), &f(1e-30)).is_err());
    }
}
