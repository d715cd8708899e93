//! The percentile range, as ONNX Runtime's `compute_percentile`: the cumulative distribution of the
//! histogram (`np.cumsum(hist / total)`, float64, sequential) is searched (`np.searchsorted`, first
//! index where it reaches the target) for `percentile / 100` in the histogram of magnitudes (symmetric:
//! the range is `(-edge, edge)`), or for `(100 - percentile) / 200` and its complement in the histogram of
//! values (asymmetric). The range is then clipped to the observed minimum and maximum, so a symmetric
//! range of non-negative data starts at its minimum, as in ONNX Runtime.

use super::histogram::View;

pub(crate) fn percentile_range(h: View<'_>, percentile: f64, symmetric: bool) -> (f32, f32) {
    let total: u64 = h.counts.iter().sum();
    let total = total as f64;
    // First index whose cumulative fraction is >= target, else the bin count.
    let search = |target: f64| -> usize {
        let mut cdf = 0.0f64;
        for (i, &c) in h.counts.iter().enumerate() {
            cdf += c as f64 / total;
            if cdf >= target {
                return i;
            }
        }
        h.counts.len()
    };
    let (lo, hi) = if symmetric {
        let t = h.edges[search(percentile / 100.0)];
        (-t, t)
    } else {
        let cut = (100.0 - percentile) / 200.0;
        let right = search(1.0 - cut);
        let left = search(cut);
        (h.edges[left], h.edges[right])
    };
    (
        if lo < h.min { h.min } else { lo },
        if hi > h.max { h.max } else { hi },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn searches_the_cdf_and_clips() {
        let counts = [10u64, 80, 9, 1];
        let edges = [0.0f32, 1.0, 2.0, 3.0, 4.0];
        let v = View {
            counts: &counts,
            edges: &edges,
            min: -3.5,
            max: 3.5,
        };
        // cdf = .1 .9 .99 1: 90% is reached in bin 1 -> edge 1.
        assert_eq!(percentile_range(v, 90.0, true), (-1.0, 1.0));
        assert_eq!(percentile_range(v, 99.5, true), (-3.0, 3.0));
        // 100%: cdf reaches 1 in the last bin; clipped to max.
        assert_eq!(percentile_range(v, 100.0, true), (-3.0, 3.0));
        let v = View {
            min: 0.5,
            max: 3.5,
            ..v
        };
        // Asymmetric 80: cut 10% each side: left = first cdf >= .1 -> 0 (edge 0, clipped to min .5).
        assert_eq!(percentile_range(v, 80.0, false), (0.5, 1.0));
    }
}
