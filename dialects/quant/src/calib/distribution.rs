//! The distribution statistic (ONNX Runtime's `compute_distribution`, used for float8): mean and
//! standard deviation of the histogram's bin centres weighted by their counts, after mapping each
//! centre `v` to `sign(v) |v|^(1/3)` for [`Scenario::P3`] (float8 ~ X^3 with X Gaussian). The centres
//! and the mapping are float32, the weighted sums float64 in NumPy's pairwise order. The range is the
//! histogram's whole grid (its first and last edges), not clipped.
//!
//! One deliberate difference: a variance that rounds below zero (all counts in one bin) gives a
//! standard deviation of 0 where ONNX Runtime computes NaN.

use super::histogram::View;
use super::numpy::pairwise_sum;
use super::{Scenario, TensorStats};

pub(crate) fn distribution_stats(h: View<'_>, scenario: Scenario) -> TensorStats {
    let n = h.counts.len();
    let centre = |i: usize| (h.edges[i] + h.edges[i + 1]) * 0.5;
    let third = (1.0f64 / 3.0) as f32;
    let value = |i: usize| -> f32 {
        let v = centre(i);
        match scenario {
            Scenario::Same => v,
            Scenario::P3 => {
                // np.abs(v) / v with NaN (v = 0) replaced by 1.
                let sign = if v < 0.0 { -1.0 } else { 1.0 };
                v.abs().powf(third) * sign
            }
        }
    };
    let total: u64 = h.counts.iter().sum();
    let total = total as f64;
    let avg = pairwise_sum(n, &|i| h.counts[i] as f64 * value(i) as f64) / total;
    let square = pairwise_sum(n, &|i| {
        let v = value(i);
        h.counts[i] as f64 * (v * v) as f64
    }) / total;
    let var = square - avg * avg;
    let std = if var > 0.0 { var.sqrt() } else { 0.0 };
    TensorStats {
        lowest: h.edges[0],
        highest: h.edges[n],
        avg: Some(avg as f32),
        std: Some(std as f32),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mean_and_std_of_centres() {
        let counts = [1u64, 0, 0, 1];
        let edges = [-2.0f32, -1.0, 0.0, 1.0, 2.0];
        let v = View {
            counts: &counts,
            edges: &edges,
            min: -2.0,
            max: 2.0,
        };
        let s = distribution_stats(v, Scenario::Same);
        assert_eq!((s.lowest, s.highest), (-2.0, 2.0));
        assert_eq!(s.avg, Some(0.0));
        assert_eq!(s.std, Some(1.5));
        let s = distribution_stats(v, Scenario::P3);
        assert_eq!(s.avg, Some(0.0));
        let c = 1.5f32.powf((1.0f64 / 3.0) as f32);
        assert_eq!(s.std, Some(((c * c) as f64).sqrt() as f32));
        // All mass in one bin: std 0 (not NaN).
        let counts = [0u64, 0, 7, 0];
        let s = distribution_stats(
            View {
                counts: &counts,
                ..v
            },
            Scenario::Same,
        );
        assert_eq!(s.avg, Some(0.5));
        assert_eq!(s.std, Some(0.0));
    }
}
