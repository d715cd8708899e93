//! The MSE range (our own method, not in ONNX Runtime): the range whose uniform quantization loses the
//! least, judged on the value histogram. Each bin stands for its count of values at its centre; a
//! candidate range `[lo, hi]` is quantized as ONNX Runtime's `compute_scale_zp` would (range extended to
//! include 0; symmetric: `[-a, a]` with `a` the larger magnitude, zero point the rounded middle of
//! `qmin..qmax`; asymmetric: zero point `round(qmin - lo / scale)`; `scale = (hi - lo) / (qmax - qmin)`),
//! and its error is `sum count * (centre - dequantize(quantize(centre)))^2` with round-half-even and
//! clipping to `qmin..qmax`, in float64.
//!
//! Candidates, from the widest down:
//! - symmetric: the largest observed magnitude, then every histogram edge from there down to 1/16 of it
//!   (at most [`MAX_CANDIDATES`], evenly thinned);
//! - asymmetric: `[f * min, f * max]` for [`MAX_CANDIDATES`] factors `f` evenly spaced from 1 down to 1/16.
//!
//! The smallest error wins, the widest range on ties. Cost: candidates times bins.

use super::histogram::View;

/// The number of candidate ranges tried.
pub(crate) const MAX_CANDIDATES: usize = 256;

/// The quantization error of the histogram for the range `[lo, hi]` (None: the range is too small to
/// give a usable scale).
fn error(h: &View<'_>, lo: f64, hi: f64, symmetric: bool, qmin: i64, qmax: i64) -> Option<f64> {
    let (mut rmin, mut rmax) = (lo.min(0.0), hi.max(0.0));
    if symmetric {
        let a = rmin.abs().max(rmax.abs());
        (rmin, rmax) = (-a, a);
    }
    let (qmin, qmax) = (qmin as f64, qmax as f64);
    let scale = (rmax - rmin) / (qmax - qmin);
    if scale.is_nan() || scale < f32::MIN_POSITIVE as f64 {
        return None;
    }
    let zero_point = if symmetric {
        ((qmin + qmax) / 2.0).round_ties_even()
    } else {
        (qmin - rmin / scale).round_ties_even()
    };
    let mut sum = 0.0;
    for (i, &c) in h.counts.iter().enumerate() {
        if c == 0 {
            continue;
        }
        let x = (h.edges[i] as f64 + h.edges[i + 1] as f64) * 0.5;
        let q = ((x / scale).round_ties_even() + zero_point).clamp(qmin, qmax);
        let d = x - (q - zero_point) * scale;
        sum += c as f64 * d * d;
    }
    Some(sum)
}

pub(crate) fn mse_range(h: View<'_>, symmetric: bool, qmin: i64, qmax: i64) -> (f32, f32) {
    let (min, max) = (h.min as f64, h.max as f64);
    let candidates: Vec<(f64, f64)> = if symmetric {
        let top = min.abs().max(max.abs());
        let mut ts: Vec<f64> = h
            .edges
            .iter()
            .rev()
            .map(|&e| e as f64)
            .filter(|&e| e < top && e >= top / 16.0)
            .collect();
        if ts.len() + 1 > MAX_CANDIDATES {
            let step = ts.len() as f64 / (MAX_CANDIDATES - 1) as f64;
            ts = (0..MAX_CANDIDATES - 1)
                .map(|k| ts[(k as f64 * step) as usize])
                .collect();
        }
        std::iter::once(top).chain(ts).map(|t| (-t, t)).collect()
    } else {
        (0..MAX_CANDIDATES)
            .map(|k| {
                let f = 1.0 - (15.0 / 16.0) * k as f64 / (MAX_CANDIDATES - 1) as f64;
                (f * min, f * max)
            })
            .collect()
    };
    let mut best: Option<(f64, (f64, f64))> = None;
    for &(lo, hi) in &candidates {
        if let Some(e) = error(&h, lo, hi, symmetric, qmin, qmax) {
            if best.is_none_or(|(b, _)| e < b) {
                best = Some((e, (lo, hi)));
            }
        }
    }
    match best {
        Some((_, (lo, hi))) => (lo as f32, hi as f32),
        // Everything is (almost) zero.
        None => (h.min, h.max),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grid(n: usize, t: f32) -> Vec<f32> {
        (0..=n)
            .map(|k| -t + 2.0 * t * k as f32 / n as f32)
            .collect()
    }

    #[test]
    fn outlier_is_clipped_when_it_pays() {
        // Mass spread over [-1, 1] and one far outlier at 7.9: int8 clips the outlier.
        let edges = grid(160, 8.0);
        let mut counts = vec![0u64; 160];
        for c in counts.iter_mut().take(90).skip(70) {
            *c = 1000;
        }
        counts[159] = 1;
        let v = View {
            counts: &counts,
            edges: &edges,
            min: -1.0,
            max: 7.95,
        };
        let (lo, hi) = mse_range(v, true, -128, 127);
        assert_eq!(lo, -hi);
        assert!((7.95 / 16.0..7.95).contains(&hi), "{hi}");
        // 2-bit quantization clips harder than 8-bit.
        let (_, hi2) = mse_range(v, true, -2, 1);
        assert!(hi2 <= hi, "{hi2} {hi}");
        let (lo, hi) = mse_range(v, false, 0, 255);
        assert!(lo < 0.0 && hi < 7.95, "{lo} {hi}");
    }

    #[test]
    fn uniform_data_keeps_its_range_and_zero_stays_zero() {
        let edges = grid(64, 1.0);
        let counts = vec![10u64; 64];
        let v = View {
            counts: &counts,
            edges: &edges,
            min: -1.0,
            max: 1.0,
        };
        let (lo, hi) = mse_range(v, true, -128, 127);
        assert!(hi > 0.9 && lo == -hi, "{hi}");
        let zero = [0u64, 5, 0];
        let e = [-0.5f32, -0.1, 0.1, 0.5];
        let v = View {
            counts: &zero,
            edges: &e,
            min: 0.0,
            max: 0.0,
        };
        assert_eq!(mse_range(v, true, -128, 127), (0.0, 0.0));
        assert_eq!(mse_range(v, false, 0, 255), (0.0, 0.0));
    }
}
