//! Quantization parameter math shared by the passes and the runtime: the integer range of a storage type,
//! scale and zero point from a float range, quantizing values, per-channel parameters, power-of-two
//! scales and float8 scales. Everything integer-typed reproduces ONNX Runtime's `quant_utils.py`
//! (`get_qmin_qmax_for_qType`, `compute_scale_zp`, `quantize_nparray`, `quantize_data`) bit for bit,
//! including NumPy's dtype promotions (the range arithmetic in f64, the stored scale rounded to the
//! model's float type) and round-half-to-even; `tests/qparams_oracle.rs` checks it against ONNX Runtime.

use half::f16;
use onnxqc_ir::ScalarType;

/// `(qmin, qmax)` of a storage type as ONNX Runtime's `get_qmin_qmax_for_qType`: narrowed by one bit with
/// `reduce_range`, symmetric around 0 for signed 8/16-bit types with `symmetric`.
pub fn qmin_qmax(
    storage: ScalarType,
    reduce_range: bool,
    symmetric: bool,
) -> Result<(i64, i64), String> {
    use ScalarType::*;
    // ONNX Runtime's tables: reduced ranges for every type, symmetric ranges for the signed 8/16-bit
    // types only (symmetric unsigned keeps the full range there).
    Ok(match (storage, reduce_range, symmetric) {
        (U8, true, _) => (0, 127),
        (I8, true, _) => (-64, 64),
        (U16, true, _) => (0, 32767),
        (I16, true, _) => (-16384, 16384),
        (U4, true, _) => (0, 7),
        (I4, true, _) => (-4, 3),
        (I8, false, true) => (-127, 127),
        (I16, false, true) => (-32767, 32767),
        (U8, false, _) => (0, 255),
        (I8, false, false) => (-128, 127),
        (U16, false, _) => (0, 65535),
        (I16, false, false) => (-32768, 32767),
        (U4, false, _) => (0, 15),
        (I4, false, _) => (-8, 7),
        (s, _, _) => {
            return Err(format!(
                "{} is not a quantization storage type",
                s.mlir_name()
            ))
        }
    })
}

/// The float type a model's ranges and scales live in. ONNX Runtime keeps the range in the model's
/// type, so a float16 model gets a float16 scale, and the smallest usable scale differs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ScaleType {
    F32,
    F16,
}

impl ScaleType {
    /// The scale type of a float element type (f32 for anything that is not f16).
    pub fn of(elem: ScalarType) -> ScaleType {
        if elem == ScalarType::F16 {
            ScaleType::F16
        } else {
            ScaleType::F32
        }
    }

    /// Rounds to the nearest value of this type (what `numpy.astype` does).
    fn round(self, x: f64) -> f32 {
        match self {
            ScaleType::F32 => x as f32,
            ScaleType::F16 => f16::from_f64(x).to_f32(),
        }
    }

    /// A sum computed in this type, as NumPy does (float16 arithmetic goes through float32).
    fn add(self, a: f32, b: f32) -> f32 {
        match self {
            ScaleType::F32 => a + b,
            ScaleType::F16 => f16::from_f32(a + b).to_f32(),
        }
    }

    /// Scales below this are replaced by 1 (zero point 0): float32's smallest normal, float16's
    /// smallest subnormal (integer quantization divides float32 data by it, so a subnormal works).
    fn min_scale(self) -> f64 {
        match self {
            ScaleType::F32 => f32::MIN_POSITIVE as f64,
            ScaleType::F16 => 2f64.powi(-24),
        }
    }
}

/// A scale and zero point: `real = scale · (q − zero_point)`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct QParams {
    /// Exactly representable in the [`ScaleType`] it was computed for.
    pub scale: f32,
    pub zero_point: i64,
}

/// The options of [`compute_scale_zp`] besides the range and the integer bounds.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RangeOptions {
    /// Widen the range to `[-absmax, absmax]`; the zero point is then the middle of `[qmin, qmax]`.
    pub symmetric: bool,
    /// The least `rmax − rmin` (ONNX Runtime's `MinimumRealRange` extra option), in the scale type.
    pub min_real_range: Option<f32>,
    pub scale_type: ScaleType,
}

impl RangeOptions {
    /// Asymmetric, no minimum range, float32.
    pub const ASYMMETRIC: RangeOptions = RangeOptions {
        symmetric: false,
        min_real_range: None,
        scale_type: ScaleType::F32,
    };

    /// Symmetric, no minimum range, float32.
    pub const SYMMETRIC: RangeOptions = RangeOptions {
        symmetric: true,
        ..RangeOptions::ASYMMETRIC
    };
}

/// NumPy's `round` (half to even) on an f64.
pub fn round_half_even(x: f64) -> f64 {
    x.round_ties_even()
}

/// Scale and zero point for the range `[rmin, rmax]` over the integers `[qmin, qmax]`, exactly as ONNX
/// Runtime's `compute_scale_zp`: the range is widened to contain 0 (so that 0 is exactly representable),
/// then to `min_real_range`, then made symmetric if asked; the scale is `(rmax − rmin) / (qmax − qmin)`
/// in f64, rounded to the scale type; the zero point is `round(qmin − rmin / scale)` with the f64 scale,
/// or `round((qmin + qmax) / 2)` when symmetric. A scale below the type's smallest usable value (an
/// all-zero range) gives scale 1, zero point 0.
///
/// Errors on a non-finite range and on integer bounds that exclude 0; ONNX Runtime asserts or produces
/// NaN scales there.
pub fn compute_scale_zp(
    rmin: f32,
    rmax: f32,
    qmin: i64,
    qmax: i64,
    options: RangeOptions,
) -> Result<QParams, String> {
    if qmin > 0 || qmax < 0 || qmin > qmax {
        return Err(format!("the integer range [{qmin}, {qmax}] must contain 0"));
    }
    if !rmin.is_finite() || !rmax.is_finite() {
        return Err(format!(
            "the range [{rmin}, {rmax}] is not finite (the calibration saw NaN or infinity)"
        ));
    }
    let ty = options.scale_type;
    // The range arrives in the model's float type; round it there first, as NumPy holds it.
    let (mut rmin, mut rmax) = (ty.round(rmin as f64), ty.round(rmax as f64));
    rmin = rmin.min(0.0);
    rmax = rmax.max(0.0);
    if let Some(min_range) = options.min_real_range {
        let widened = ty.add(rmin, ty.round(min_range as f64));
        if widened > rmax {
            rmax = widened;
        }
    }
    if options.symmetric {
        let absmax = rmin.abs().max(rmax.abs());
        rmin = -absmax;
        rmax = absmax;
    }
    let scale = (rmax as f64 - rmin as f64) / (qmax as f64 - qmin as f64);
    if !scale.is_finite() {
        return Err(format!(
            "the range [{rmin}, {rmax}] is too wide for a finite scale"
        ));
    }
    let stored = ty.round(scale);
    // ONNX Runtime compares the stored float16 scale but the f64 scale for float32.
    let compared = match ty {
        ScaleType::F16 => stored as f64,
        ScaleType::F32 => scale,
    };
    if compared < ty.min_scale() {
        return Ok(QParams {
            scale: 1.0,
            zero_point: 0,
        });
    }
    if ty == ScaleType::F16 && stored.is_infinite() {
        return Err(format!(
            "the range [{rmin}, {rmax}] needs a scale beyond float16"
        ));
    }
    let zero_point = if options.symmetric {
        round_half_even((qmin + qmax) as f64 / 2.0)
    } else {
        round_half_even(qmin as f64 - rmin as f64 / scale)
    };
    Ok(QParams {
        scale: stored,
        zero_point: zero_point as i64,
    })
}

/// Replaces a scale by the least power of two at least as large, as Espressif's ESP-DL toolkit stores
/// scales (`scale = 2^exponent`, so rescaling is a shift). Rounding up keeps the whole range
/// representable; an asymmetric zero point is recomputed for the new scale. Returns the parameters and
/// the exponent. Errors when the power of two is outside the scale type.
pub fn power_of_two_scale(
    params: QParams,
    rmin: f32,
    qmin: i64,
    qmax: i64,
    options: RangeOptions,
) -> Result<(QParams, i32), String> {
    let exponent = ceil_log2(params.scale as f64);
    let scale = 2f64.powi(exponent);
    let stored = options.scale_type.round(scale);
    if stored as f64 != scale {
        return Err(format!(
            "the power-of-two scale 2^{exponent} is not representable in {:?}",
            options.scale_type
        ));
    }
    let zero_point = if options.symmetric || params.scale == 1.0 && params.zero_point == 0 {
        params.zero_point
    } else {
        let rmin = options.scale_type.round(rmin.min(0.0) as f64) as f64;
        (round_half_even(qmin as f64 - rmin / scale) as i64).clamp(qmin, qmax)
    };
    Ok((
        QParams {
            scale: stored,
            zero_point,
        },
        exponent,
    ))
}

/// The least `e` with `2^e ≥ x`, for a positive finite `x`, computed exactly from the bits.
fn ceil_log2(x: f64) -> i32 {
    debug_assert!(x > 0.0 && x.is_finite());
    let bits = x.to_bits();
    let biased = ((bits >> 52) & 0x7ff) as i32;
    let mantissa = bits & ((1u64 << 52) - 1);
    if biased == 0 {
        // Subnormal: x = mantissa · 2^-1074.
        let floor = 63 - mantissa.leading_zeros() as i32 - 1074;
        return if mantissa.is_power_of_two() {
            floor
        } else {
            floor + 1
        };
    }
    let floor = biased - 1023;
    if mantissa == 0 {
        floor
    } else {
        floor + 1
    }
}

/// Quantizes one value as ONNX Runtime's `quantize_nparray`: `round(x / scale) + zero_point` in float32
/// (the division in float32, round half to even), clipped to `[qmin, qmax]`. NaN maps to the zero point.
pub fn quantize_value(x: f32, params: QParams, qmin: i64, qmax: i64) -> i64 {
    let q = (x / params.scale).round_ties_even() + params.zero_point as f32;
    if q.is_nan() {
        return params.zero_point;
    }
    (q.clamp(qmin as f32, qmax as f32)) as i64
}

/// Everything [`quantize_data`] decides: the range it used, the parameters and the quantized values.
#[derive(Clone, Debug, PartialEq)]
pub struct Quantized {
    pub rmin: f32,
    pub rmax: f32,
    pub params: QParams,
    /// One integer per input value, within the storage type's full range.
    pub values: Vec<i64>,
}

/// How [`quantize_data`] picks its parameters (ONNX Runtime's `quantize_data` arguments).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct DataOptions {
    pub storage: ScalarType,
    pub symmetric: bool,
    pub reduce_range: bool,
    pub min_real_range: Option<f32>,
    pub scale_type: ScaleType,
    /// Replace the data's minimum / maximum (ONNX Runtime's `rmin_override` / `rmax_override`).
    pub rmin_override: Option<f32>,
    pub rmax_override: Option<f32>,
}

impl DataOptions {
    /// Plain options for a storage type: asymmetric, full range, float32.
    pub fn new(storage: ScalarType) -> DataOptions {
        DataOptions {
            storage,
            symmetric: false,
            reduce_range: false,
            min_real_range: None,
            scale_type: ScaleType::F32,
            rmin_override: None,
            rmax_override: None,
        }
    }
}

/// Quantizes a weight tensor as ONNX Runtime's `quantize_data`: its range is the data's min and max
/// (0 for empty data, overrides first), the bounds come from [`qmin_qmax`] with `reduce_range` and
/// `symmetric`, and values are clipped to the storage type's *full* range as ONNX Runtime does.
pub fn quantize_data(data: &[f32], options: DataOptions) -> Result<Quantized, String> {
    if let Some(bad) = data.iter().find(|x| !x.is_finite()) {
        return Err(format!("the data holds the non-finite value {bad}"));
    }
    let (lo, hi) = data
        .iter()
        .fold(None, |acc: Option<(f32, f32)>, &x| match acc {
            None => Some((x, x)),
            Some((lo, hi)) => Some((lo.min(x), hi.max(x))),
        })
        .unwrap_or((0.0, 0.0));
    let rmin = options.rmin_override.unwrap_or(lo);
    let rmax = options.rmax_override.unwrap_or(hi);
    let (qmin, qmax) = qmin_qmax(options.storage, options.reduce_range, options.symmetric)?;
    let params = compute_scale_zp(
        rmin,
        rmax,
        qmin,
        qmax,
        RangeOptions {
            symmetric: options.symmetric,
            min_real_range: options.min_real_range,
            scale_type: options.scale_type,
        },
    )?;
    let (full_min, full_max) = qmin_qmax(options.storage, false, false)?;
    let values = data
        .iter()
        .map(|&x| quantize_value(x, params, full_min, full_max))
        .collect();
    Ok(Quantized {
        rmin,
        rmax,
        params,
        values,
    })
}

/// Per-channel quantization of a weight tensor along `axis`: every slice `data.take(i, axis)` gets its own
/// [`quantize_data`] parameters, as ONNX Runtime's per-channel weight quantization. Returns one
/// [`QParams`] per channel and the quantized values in the input's layout.
pub fn quantize_per_channel(
    data: &[f32],
    shape: &[usize],
    axis: usize,
    options: DataOptions,
) -> Result<(Vec<QParams>, Vec<i64>), String> {
    quantize_per_channel_with(data, shape, axis, |_| options)
}

/// [`quantize_per_channel`] with options chosen per channel (per-channel `rmin`/`rmax` overrides).
pub fn quantize_per_channel_with(
    data: &[f32],
    shape: &[usize],
    axis: usize,
    options_of: impl Fn(usize) -> DataOptions,
) -> Result<(Vec<QParams>, Vec<i64>), String> {
    if axis >= shape.len() {
        return Err(format!(
            "channel axis {axis} is out of range for a rank-{} tensor",
            shape.len()
        ));
    }
    if shape.iter().product::<usize>() != data.len() {
        return Err(format!(
            "shape {shape:?} does not match {} values",
            data.len()
        ));
    }
    let channels = shape[axis];
    let inner: usize = shape[axis + 1..].iter().product();
    let outer: usize = shape[..axis].iter().product();
    let mut params = Vec::with_capacity(channels);
    let mut values = vec![0i64; data.len()];
    let mut slice = Vec::with_capacity(outer * inner);
    for c in 0..channels {
        slice.clear();
        for o in 0..outer {
            let start = (o * channels + c) * inner;
            slice.extend_from_slice(&data[start..start + inner]);
        }
        let q = quantize_data(&slice, options_of(c))
            .map_err(|e| format!("channel {c} along axis {axis}: {e}"))?;
        for o in 0..outer {
            let start = (o * channels + c) * inner;
            values[start..start + inner].copy_from_slice(&q.values[o * inner..(o + 1) * inner]);
        }
        params.push(q.params);
    }
    Ok((params, values))
}

/// `numpy.std` of every finite float8 E4M3FN value, in float32 (ONNX Runtime's reference spread).
const STD_E4M3FN: f32 = f32::from_bits(0x42c8_1d8e);

/// Scale of a float8 E4M3FN tensor from the standard deviation of its values, as ONNX Runtime's
/// `compute_scale_zp_float8`: `std / std(E4M3FN values)`, so the data's spread matches the format's.
/// The zero point is 0.
pub fn float8_e4m3fn_scale(std: f32) -> Result<f32, String> {
    if !std.is_finite() || std < 0.0 {
        return Err(format!("the standard deviation {std} is not usable"));
    }
    Ok(std / STD_E4M3FN)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges() {
        assert_eq!(qmin_qmax(ScalarType::I8, false, true), Ok((-127, 127)));
        assert_eq!(qmin_qmax(ScalarType::U8, true, false), Ok((0, 127)));
        assert_eq!(qmin_qmax(ScalarType::U8, false, true), Ok((0, 255)));
        assert!(qmin_qmax(ScalarType::F32, false, false).is_err());
    }

    #[test]
    fn zero_is_representable_and_symmetric_zero_points_are_fixed() {
        let p = compute_scale_zp(0.5, 2.0, 0, 255, RangeOptions::ASYMMETRIC).unwrap();
        assert_eq!(p.zero_point, 0);
        assert_eq!(p.scale, (2.0f64 / 255.0) as f32);
        let p = compute_scale_zp(-1.0, 3.0, 0, 255, RangeOptions::SYMMETRIC).unwrap();
        assert_eq!(p.zero_point, 128); // round(127.5) to even
        let p = compute_scale_zp(-1.0, 3.0, -127, 127, RangeOptions::SYMMETRIC).unwrap();
        assert_eq!(p.zero_point, 0);
        assert_eq!(p.scale, (6.0f64 / 254.0) as f32);
    }

    #[test]
    fn degenerate_and_bad_ranges() {
        let p = compute_scale_zp(0.0, 0.0, -128, 127, RangeOptions::ASYMMETRIC).unwrap();
        assert_eq!(
            p,
            QParams {
                scale: 1.0,
                zero_point: 0
            }
        );
        let mut opts = RangeOptions::ASYMMETRIC;
        opts.min_real_range = Some(0.0001);
        let p = compute_scale_zp(0.0, 0.0, 0, 255, opts).unwrap();
        assert_eq!(p.scale, (0.0001f32 as f64 / 255.0) as f32);
        assert!(compute_scale_zp(f32::NAN, 1.0, 0, 255, opts).is_err());
        assert!(compute_scale_zp(0.0, f32::INFINITY, 0, 255, opts).is_err());
        assert!(compute_scale_zp(0.0, 1.0, 1, 255, opts).is_err());
    }

    #[test]
    fn power_of_two_rounds_up() {
        assert_eq!(ceil_log2(1.0), 0);
        assert_eq!(ceil_log2(0.75), 0);
        assert_eq!(ceil_log2(0.5), -1);
        assert_eq!(ceil_log2(3.0), 2);
        assert_eq!(ceil_log2(f64::from_bits(1)), -1074);
        assert_eq!(ceil_log2(f64::from_bits(3)), -1072);
        let p = compute_scale_zp(-1.0, 1.0, -127, 127, RangeOptions::SYMMETRIC).unwrap();
        let (q, e) = power_of_two_scale(p, -1.0, -127, 127, RangeOptions::SYMMETRIC).unwrap();
        assert_eq!((q.scale, q.zero_point, e), (1.0 / 64.0, 0, -6));
        let p = compute_scale_zp(-1.0, 3.0, 0, 255, RangeOptions::ASYMMETRIC).unwrap();
        let (q, e) = power_of_two_scale(p, -1.0, 0, 255, RangeOptions::ASYMMETRIC).unwrap();
        assert_eq!((q.scale, q.zero_point, e), (1.0 / 32.0, 32, -5));
        // The whole range stays representable.
        assert!(q.scale * (255 - q.zero_point) as f32 >= 3.0);
    }

    #[test]
    fn quantize_rounds_half_to_even_and_clips() {
        let p = QParams {
            scale: 1.0,
            zero_point: 0,
        };
        assert_eq!(quantize_value(2.5, p, -128, 127), 2);
        assert_eq!(quantize_value(-3.5, p, -128, 127), -4);
        assert_eq!(quantize_value(1000.0, p, -128, 127), 127);
        assert_eq!(quantize_value(f32::NAN, p, -128, 127), 0);
    }

    #[test]
    fn per_channel_slices_along_the_axis() {
        // Shape [2, 3], axis 1: channels are columns.
        let data = [1.0, -2.0, 0.0, 2.0, 4.0, 0.0];
        let mut opts = DataOptions::new(ScalarType::I8);
        opts.symmetric = true;
        let (params, values) = quantize_per_channel(&data, &[2, 3], 1, opts).unwrap();
        assert_eq!(params.len(), 3);
        assert_eq!(params[0].scale, (4.0f64 / 254.0) as f32);
        assert_eq!(
            params[2],
            QParams {
                scale: 1.0,
                zero_point: 0
            }
        );
        assert_eq!(values[3], 127);
        assert_eq!(values[4], 127);
        assert!(quantize_per_channel(&data, &[2, 3], 2, opts).is_err());
    }
}
