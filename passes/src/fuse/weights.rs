//! Weights that `fuse` computes after extraction: the virtual nodes of the e-graph (`qc.bn_fold_weight`,
//! `qc.bn_fold_bias`, `qc.add_bias`, `qc.fill`) become `onnx.Constant`s whose tensors are computed here.
//!
//! The math is f32, as ONNX Runtime's own fusions do it: f16, bf16 and f64 weights are converted to f32,
//! computed, and converted back (rounding to nearest even); f64 weights therefore lose precision beyond
//! f32's, which is far below what BatchNormalization folding changes anyway. Other element types are
//! refused (the rules never produce them).

use half::{bf16, f16};
use onnxqc_ir::{Buffer, ScalarType, TensorData};

/// The elements of a float tensor as f32.
pub fn to_f32(t: &TensorData) -> Result<Vec<f32>, String> {
    let b = t.bytes().ok_or("string tensor")?;
    Ok(match t.elem {
        ScalarType::F32 => b
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect(),
        ScalarType::F64 => b
            .chunks_exact(8)
            .map(|c| f64::from_le_bytes(c.try_into().unwrap_or([0; 8])) as f32)
            .collect(),
        ScalarType::F16 => b
            .chunks_exact(2)
            .map(|c| f16::from_le_bytes([c[0], c[1]]).to_f32())
            .collect(),
        ScalarType::BF16 => b
            .chunks_exact(2)
            .map(|c| bf16::from_le_bytes([c[0], c[1]]).to_f32())
            .collect(),
        e => return Err(format!("cannot fold {e} weights")),
    })
}

/// A tensor of `elem` from f32 values.
pub fn from_f32(elem: ScalarType, shape: Vec<u64>, v: &[f32]) -> Result<TensorData, String> {
    let bytes: Vec<u8> = match elem {
        ScalarType::F32 => v.iter().flat_map(|x| x.to_le_bytes()).collect(),
        ScalarType::F64 => v.iter().flat_map(|&x| (x as f64).to_le_bytes()).collect(),
        ScalarType::F16 => v
            .iter()
            .flat_map(|&x| f16::from_f32(x).to_le_bytes())
            .collect(),
        ScalarType::BF16 => v
            .iter()
            .flat_map(|&x| bf16::from_f32(x).to_le_bytes())
            .collect(),
        e => return Err(format!("cannot fold {e} weights")),
    };
    TensorData::from_bytes(elem, shape, Buffer::from_vec(bytes))
}

/// `scale[c] = s[c] / sqrt(var[c] + eps)`.
fn bn_scale(s: &TensorData, var: &TensorData, eps: f32) -> Result<Vec<f32>, String> {
    let (s, v) = (to_f32(s)?, to_f32(var)?);
    if s.len() != v.len() {
        return Err("BatchNormalization scale and variance differ in size".into());
    }
    Ok(s.iter()
        .zip(&v)
        .map(|(s, v)| s / (v + eps).sqrt())
        .collect())
}

/// Where the output channel of a weight element lies.
#[derive(Clone, Copy, Debug)]
pub enum Layout {
    /// Dimension 0 (Conv `[M, C/g, k...]`, Gemm with transB `[N, K]`).
    Rows,
    /// Dimension 1 of a 2-D weight (Gemm `[K, N]`).
    Cols,
    /// ConvTranspose `[C, M/g, k...]`: channel `(i0 / (C/g)) * (M/g) + i1`.
    ConvTranspose { group: u64 },
}

/// `W' = W * scale[channel]`.
pub fn bn_fold_weight(
    w: &TensorData,
    s: &TensorData,
    var: &TensorData,
    eps: f32,
    layout: Layout,
) -> Result<TensorData, String> {
    let scale = bn_scale(s, var, eps)?;
    let mut x = to_f32(w)?;
    let d = &w.shape;
    if d.len() < 2 {
        return Err("weight of rank < 2".into());
    }
    let (d0, d1) = (d[0] as usize, d[1] as usize);
    let inner: usize = d[2..].iter().map(|&n| n as usize).product();
    for (i, v) in x.iter_mut().enumerate() {
        let i0 = i / (d1 * inner);
        let i1 = (i / inner) % d1;
        let c = match layout {
            Layout::Rows => i0,
            Layout::Cols => i1,
            Layout::ConvTranspose { group } => (i0 / (d0 / group.max(1) as usize).max(1)) * d1 + i1,
        };
        *v *= *scale.get(c).ok_or("weight channel out of range")?;
    }
    from_f32(w.elem, w.shape.clone(), &x)
}

/// Numpy broadcasting of two shapes.
pub fn broadcast_shape(a: &[u64], b: &[u64]) -> Option<Vec<u64>> {
    let r = a.len().max(b.len());
    (0..r)
        .map(|i| {
            let x = if i + a.len() >= r {
                a[i + a.len() - r]
            } else {
                1
            };
            let y = if i + b.len() >= r {
                b[i + b.len() - r]
            } else {
                1
            };
            match (x, y) {
                (x, y) if x == y => Some(x),
                (1, y) => Some(y),
                (x, 1) => Some(x),
                _ => None,
            }
        })
        .collect()
}

/// Index into a tensor of `shape` broadcast to `out` for the flat output index `i`.
fn bcast_index(i: usize, out: &[u64], shape: &[u64]) -> usize {
    let mut rem = i;
    let mut idx = 0usize;
    let mut stride = 1usize;
    let off = out.len() - shape.len();
    for k in (0..out.len()).rev() {
        let o = out[k] as usize;
        let coord = rem % o.max(1);
        rem /= o.max(1);
        if k >= off {
            let s = shape[k - off] as usize;
            if s != 1 {
                idx += coord * stride;
            }
            stride *= s;
        }
    }
    idx
}

/// `B' = (beta * B - mean) * scale + bias`, `B` broadcast against `[C]` (absent: zero).
#[allow(clippy::too_many_arguments)]
pub fn bn_fold_bias(
    b: Option<&TensorData>,
    s: &TensorData,
    bias: &TensorData,
    mean: &TensorData,
    var: &TensorData,
    eps: f32,
    beta: f32,
) -> Result<TensorData, String> {
    let scale = bn_scale(s, var, eps)?;
    let (bb, m) = (to_f32(bias)?, to_f32(mean)?);
    let c = scale.len() as u64;
    let (shape, vals, elem) = match b {
        Some(b) => (b.shape.clone(), to_f32(b)?, b.elem),
        None => (vec![c], vec![0.0; c as usize], s.elem),
    };
    let out = broadcast_shape(&shape, &[c]).ok_or("bias does not broadcast to the channels")?;
    let n: usize = out.iter().map(|&d| d as usize).product();
    let mut res = Vec::with_capacity(n);
    for i in 0..n {
        let x = vals[bcast_index(i, &out, &shape)];
        let ch = i % c as usize;
        res.push((beta * x - m[ch]) * scale[ch] + bb[ch]);
    }
    from_f32(elem, out, &res)
}

/// `B' = B + C` for a per-channel constant `C` (one element, or one per channel).
pub fn add_bias(
    b: Option<&TensorData>,
    c: &TensorData,
    channels: u64,
    elem: ScalarType,
) -> Result<TensorData, String> {
    let cv = to_f32(c)?;
    let bv = match b {
        Some(b) => to_f32(b)?,
        None => vec![0.0; channels as usize],
    };
    if bv.len() != channels as usize || (cv.len() != 1 && cv.len() != channels as usize) {
        return Err("bias sizes do not match the channels".into());
    }
    let res: Vec<f32> = (0..channels as usize)
        .map(|m| bv[m] + if cv.len() == 1 { cv[0] } else { cv[m] })
        .collect();
    from_f32(elem, vec![channels], &res)
}

/// A tensor of `shape` filled with `value`.
pub fn fill(elem: ScalarType, shape: Vec<u64>, value: f32) -> Result<TensorData, String> {
    let n: u64 = shape.iter().product();
    from_f32(elem, shape, &vec![value; n as usize])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(shape: &[u64], v: &[f32]) -> TensorData {
        TensorData::from_f32(shape.to_vec(), v).unwrap()
    }

    #[test]
    fn folds_per_channel() {
        let w = t(&[2, 1, 1, 1], &[1.0, 2.0]);
        let s = t(&[2], &[2.0, 3.0]);
        let v = t(&[2], &[3.0, 0.0]);
        let folded = bn_fold_weight(&w, &s, &v, 1.0, Layout::Rows).unwrap();
        assert_eq!(to_f32(&folded).unwrap(), vec![1.0, 6.0]);
        let bias = bn_fold_bias(
            None,
            &s,
            &t(&[2], &[1.0, 1.0]),
            &t(&[2], &[1.0, 2.0]),
            &v,
            1.0,
            1.0,
        )
        .unwrap();
        assert_eq!(to_f32(&bias).unwrap(), vec![0.0, -5.0]);
        let w = t(&[2, 2], &[1.0, 1.0, 1.0, 1.0]);
        let cols = bn_fold_weight(&w, &s, &v, 1.0, Layout::Cols).unwrap();
        assert_eq!(to_f32(&cols).unwrap(), vec![1.0, 3.0, 1.0, 3.0]);
        // ConvTranspose, group 2: W [2, 1, 1, 1], out channels 2.
        let w = t(&[2, 1, 1, 1], &[1.0, 1.0]);
        let ct = bn_fold_weight(&w, &s, &v, 1.0, Layout::ConvTranspose { group: 2 }).unwrap();
        assert_eq!(to_f32(&ct).unwrap(), vec![1.0, 3.0]);
    }

    #[test]
    fn half_types_round_trip() {
        let x = from_f32(ScalarType::F16, vec![2], &[0.5, -2.0]).unwrap();
        assert_eq!(to_f32(&x).unwrap(), vec![0.5, -2.0]);
        let y = from_f32(ScalarType::BF16, vec![1], &[3.0]).unwrap();
        assert_eq!(to_f32(&y).unwrap(), vec![3.0]);
    }
}
