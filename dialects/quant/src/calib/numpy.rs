//! The few NumPy primitives that ONNX Runtime's calibrators are built from, re-implemented so that our
//! statistics round exactly as theirs do: pairwise summation (`np.sum`), `np.linspace` in float32 (the
//! edges of `np.histogram(..., bins=n, range=...)`), float32 floor division (`//`) and the float32
//! logarithm that NumPy uses on x86-64 CPUs with AVX2/AVX-512 (its own rational approximation, which
//! differs from a correctly rounded log in about 5% of inputs). Each was checked against NumPy 2.4.
//!
//! Nothing here allocates: sums take the element as a function of its index so that callers can sum a
//! transformed sequence without materialising it.

/// The arithmetic that [`pairwise_sum`] needs: `f32` or `f64`.
pub(crate) trait Float: Copy + std::ops::Add<Output = Self> {
    const ZERO: Self;
}

impl Float for f32 {
    const ZERO: f32 = 0.0;
}

impl Float for f64 {
    const ZERO: f64 = 0.0;
}

/// `np.sum` of the `n` values `at(0) .. at(n - 1)` of a contiguous array, with NumPy's pairwise
/// summation: blocks of at most 128 elements are summed with 8 interleaved accumulators, larger ranges
/// are split in two halves whose size is a multiple of 8.
pub(crate) fn pairwise_sum<T: Float>(n: usize, at: &impl Fn(usize) -> T) -> T {
    pairwise_from(0, n, at)
}

fn pairwise_from<T: Float>(first: usize, n: usize, at: &impl Fn(usize) -> T) -> T {
    if n < 8 {
        let mut res = T::ZERO;
        for i in first..first + n {
            res = res + at(i);
        }
        res
    } else if n <= 128 {
        let mut r = [T::ZERO; 8];
        for (j, r) in r.iter_mut().enumerate() {
            *r = at(first + j);
        }
        let mut i = 8;
        while i < n - n % 8 {
            for (j, r) in r.iter_mut().enumerate() {
                *r = *r + at(first + i + j);
            }
            i += 8;
        }
        let mut res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
        while i < n {
            res = res + at(first + i);
            i += 1;
        }
        res
    } else {
        let mut n2 = n / 2;
        n2 -= n2 % 8;
        pairwise_from(first, n2, at) + pairwise_from(first + n2, n - n2, at)
    }
}

/// `np.linspace(start, stop, n + 1, dtype=float32)` for float32 `start < stop`: the `n + 1` edges of
/// `np.histogram(data, n, range=(start, stop))`. NumPy computes `i * step + start` in float32 with
/// `step = (stop - start) / n`, and sets the last edge to `stop` exactly.
pub(crate) fn linspace_f32(start: f32, stop: f32, n: usize) -> Vec<f32> {
    let delta = stop - start;
    let step = delta / n as f32;
    let mut edges: Vec<f32> = if step == 0.0 {
        // NumPy's path for subnormal steps; the edges are then not increasing and callers refuse them.
        (0..=n)
            .map(|i| (i as f32 / n as f32) * delta + start)
            .collect()
    } else {
        (0..=n).map(|i| i as f32 * step + start).collect()
    };
    edges[n] = stop;
    edges
}

/// Whether histogram edges are strictly increasing (NumPy refuses "too many bins for data range"
/// otherwise).
pub(crate) fn strictly_increasing<T: PartialOrd>(edges: &[T]) -> bool {
    edges.windows(2).all(|w| w[0] < w[1])
}

/// Python's `a // b` on float32 scalars (NumPy's `npy_floor_dividef`), for `b != 0`.
pub(crate) fn floor_divide_f32(a: f32, b: f32) -> f32 {
    // Rust's `%` on floats is C's fmod.
    let m = a % b;
    let mut div = (a - m) / b;
    if m != 0.0 && ((b < 0.0) != (m < 0.0)) {
        div -= 1.0;
    }
    if div != 0.0 {
        let mut floordiv = div.floor();
        if div - floordiv > 0.5 {
            floordiv += 1.0;
        }
        floordiv
    } else {
        0.0f32.copysign(a / b)
    }
}

// The coefficients of NumPy's float32 log (`npy_simd_data.h`): log(1 + y) ~ P(y) / Q(y).
#[allow(clippy::excessive_precision)]
const LOG_P: [f32; 6] = [
    0.000000000000000000000e+00,
    9.999999999999998702752e-01,
    2.112677543073053063722e+00,
    1.480000633576506585156e+00,
    3.808837741388407920751e-01,
    2.589979117907922693523e-02,
];
#[allow(clippy::excessive_precision)]
const LOG_Q: [f32; 6] = [
    1.000000000000000000000e+00,
    2.612677543073109236779e+00,
    2.453006071784736363091e+00,
    9.864942958519418960339e-01,
    1.546476374983906719538e-01,
    5.875095403124574342950e-03,
];

/// `np.log` on a float32 value as NumPy computes it with AVX2/AVX-512: `x = m * 2^e` with `m` in
/// `(sqrt(1/2), sqrt(2)]`, a rational approximation of `log(m)` evaluated with fused multiply-adds, then
/// `e * ln 2` added with one more fused multiply-add.
pub(crate) fn log_f32(x: f32) -> f32 {
    if x.is_nan() {
        return x;
    }
    if x < 0.0 {
        return -f32::NAN;
    }
    if x == 0.0 {
        return f32::NEG_INFINITY;
    }
    if x == f32::INFINITY {
        return x;
    }
    let (m, e) = frexp(x);
    let (mut m, mut e) = (m, e as f32);
    if m <= std::f32::consts::FRAC_1_SQRT_2 {
        m = m + m;
        e -= 1.0;
    }
    let y = m - 1.0;
    let mut num = LOG_P[5].mul_add(y, LOG_P[4]);
    let mut den = LOG_Q[5].mul_add(y, LOG_Q[4]);
    for k in (0..4).rev() {
        num = num.mul_add(y, LOG_P[k]);
        den = den.mul_add(y, LOG_Q[k]);
    }
    e.mul_add(std::f32::consts::LN_2, num / den)
}

/// `x = m * 2^e` with `m` in `[0.5, 1)`, for finite positive `x` (subnormals included).
fn frexp(x: f32) -> (f32, i32) {
    let bits = x.to_bits();
    let exp = ((bits >> 23) & 0xff) as i32;
    if exp == 0 {
        let (m, e) = frexp(x * 33_554_432.0); // 2^25
        return (m, e - 25);
    }
    (
        f32::from_bits((bits & 0x807f_ffff) | 0x3f00_0000),
        exp - 126,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pairwise_small_and_split() {
        let v: Vec<f32> = (0..300).map(|i| i as f32 * 0.1).collect();
        let s = pairwise_sum(v.len(), &|i| v[i]);
        assert!((s - 4485.0).abs() < 1e-2);
        assert_eq!(pairwise_sum::<f64>(0, &|_| 1.0), 0.0);
        assert_eq!(pairwise_sum::<f64>(5, &|_| 1.0), 5.0);
        assert_eq!(pairwise_sum::<f64>(1000, &|_| 1.0), 1000.0);
    }

    #[test]
    fn linspace_ends_are_exact() {
        let e = linspace_f32(-1.7, 1.7, 128);
        assert_eq!(e.len(), 129);
        assert_eq!(e[0], -1.7);
        assert_eq!(e[128], 1.7);
        assert!(strictly_increasing(&e));
        assert!(!strictly_increasing(&linspace_f32(
            1.0,
            1.0 + f32::EPSILON,
            64
        )));
    }

    #[test]
    fn floor_divide_matches_python() {
        assert_eq!(floor_divide_f32(7.0, 2.0), 3.0);
        assert_eq!(floor_divide_f32(6.0, 2.0), 3.0);
        assert_eq!(floor_divide_f32(0.5, 2.0), 0.0);
        assert_eq!(floor_divide_f32(-7.0, 2.0), -4.0);
    }

    #[test]
    fn log_is_close_to_ln() {
        for &x in &[
            1e-30f32, 1e-10, 0.3, 0.707, 0.708, 1.0, 1.5, 2.0, 10.0, 12345.0, 1e30,
        ] {
            let l = log_f32(x) as f64;
            let r = (x as f64).ln();
            assert!(
                (l - r).abs() <= 4.0 * f32::EPSILON as f64 * r.abs().max(1.0),
                "{x}"
            );
        }
        assert_eq!(log_f32(1.0), 0.0);
        assert_eq!(log_f32(0.0), f32::NEG_INFINITY);
        assert!(log_f32(-1.0).is_nan());
        assert!(log_f32(1e-45).is_finite());
    }
}
