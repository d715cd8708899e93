//! Choosing a range from a histogram: ONNX Runtime's `get_entropy_threshold` (KL divergence, TensorRT's
//! method), `compute_percentile`, `compute_distribution` (`_avg_std`), with their numpy dtypes (counts in
//! int64, probabilities and KL terms in float32, cumulative sums in float64); and our `mse`.

use super::histogram::{AbsHistogram, ValueHistogram};
use super::{Scenario, TensorStats};

/// Clips a threshold pair to the observed extremes, as ONNX Runtime does after every method.
fn clip(lo: f32, hi: f32, min: f32, max: f32) -> TensorStats {
    TensorStats::range(
        if lo < min { min } else { lo },
        if hi > max { max } else { hi },
    )
}

/// `np.cumsum(hist / total)`: float64.
fn cdf(hist: &[u64]) -> Vec<f64> {
    let total: u64 = hist.iter().sum();
    let mut acc = 0.0f64;
    hist.iter()
        .map(|&h| {
            acc += h as f64 / total.max(1) as f64;
            acc
        })
        .collect()
}

/// `np.searchsorted(cdf, v)` (side "left"): the first index whose value is >= v.
fn search(cdf: &[f64], v: f64) -> usize {
    cdf.partition_point(|&c| c < v)
}

pub fn percentile_abs(h: &AbsHistogram, percentile: f64) -> TensorStats {
    let c = cdf(&h.hist);
    let t = h.edges[search(&c, percentile / 100.0)];
    clip(-t, t, h.min, h.max)
}

pub fn percentile_values(h: &ValueHistogram, percentile: f64) -> TensorStats {
    let c = cdf(&h.hist);
    let cut = (100.0 - percentile) / 200.0;
    let right = h.edges[search(&c, 1.0 - cut)];
    let left = h.edges[search(&c, cut)];
    clip(left, right, h.min, h.max)
}

/// quant_utils.smooth_distribution (eps = 0.0001) in float32; `None` when all entries are zero.
fn smooth(p: &[i64]) -> Option<Vec<f32>> {
    const EPS: f64 = 0.0001;
    let n_zeros = p.iter().filter(|&&v| v == 0).count();
    let n_nonzeros = p.len() - n_zeros;
    if n_nonzeros == 0 {
        return None;
    }
    let eps1 = EPS * n_zeros as f64 / n_nonzeros as f64;
    let out: Vec<f32> = p
        .iter()
        .map(|&v| {
            if v == 0 {
                EPS as f32
            } else {
                v as f32 + (-eps1) as f32
            }
        })
        .collect();
    // ONNX Runtime asserts here; a non-positive entry makes the divergence infinite instead.
    out.iter().all(|&v| v > 0.0).then_some(out)
}

/// calibrate.entropy: KL(p || q) with both normalised, float32 terms.
fn kl(p: &[f32], q: &[f32]) -> f32 {
    let sp: f32 = p.iter().sum();
    let sq: f32 = q.iter().sum();
    let mut s = 0.0f32;
    for (&a, &b) in p.iter().zip(q) {
        let (a, b) = (a / sp, b / sq);
        if a == 0.0 && b >= 0.0 {
            continue;
        }
        if !(a > 0.0 && b > 0.0) {
            return f32::INFINITY;
        }
        s += a * (a / b).ln();
    }
    s
}

pub fn entropy(h: &ValueHistogram, num_quantized_bins: usize) -> TensorStats {
    let hist: Vec<i64> = h.hist.iter().map(|&v| v as i64).collect();
    let num_bins = hist.len();
    let zero = num_bins / 2;
    let half_q = num_quantized_bins / 2;
    let mut prefix = vec![0i64; num_bins + 1];
    for i in 0..num_bins {
        prefix[i + 1] = prefix[i] + hist[i];
    }
    let mut best = (f32::INFINITY, (0.0f32, 0.0f32));
    let mut first = true;
    for i in half_q..=zero {
        let start = zero - i;
        let end = (zero + i + 1).min(num_bins);
        let thresholds = (h.edges[start], h.edges[end]);
        let sliced = &hist[start..end];
        let mut p = sliced.to_vec();
        p[0] += prefix[start];
        let last = p.len() - 1;
        p[last] += prefix[num_bins] - prefix[end];
        let merged = sliced.len() / num_quantized_bins;
        let mut quantized = vec![0i64; num_quantized_bins];
        for (index, qb) in quantized.iter_mut().enumerate() {
            *qb = sliced[index * merged..(index + 1) * merged].iter().sum();
        }
        quantized[num_quantized_bins - 1] +=
            sliced[num_quantized_bins * merged..].iter().sum::<i64>();
        let mut q = vec![0i64; p.len()];
        for (index, &qb) in quantized.iter().enumerate() {
            let (s, e) = (index * merged, (index + 1) * merged);
            let norm = p[s..e].iter().filter(|&&v| v != 0).count();
            if norm != 0 {
                // Assigned into an int64 array: truncated, as ONNX Runtime's `q[start:end] = x / norm`.
                let v = (qb as f64 / norm as f64) as i64;
                q[s..e].fill(v);
            }
        }
        let div = match (smooth(&p), smooth(&q)) {
            (Some(p), Some(q)) => kl(&p, &q),
            _ => f32::INFINITY,
        };
        // np.argmin: the first minimum (an all-infinite run keeps the first candidate).
        if first || div < best.0 {
            best = (div, thresholds);
            first = false;
        }
    }
    let (lo, hi) = best.1;
    clip(lo, hi, h.min, h.max)
}

/// `_avg_std` and the range of the edges (the float8 `distribution` method).
pub fn distribution(h: &ValueHistogram, scenario: Scenario) -> TensorStats {
    let centres: Vec<f32> = h.edges.windows(2).map(|w| (w[0] + w[1]) * 0.5).collect();
    let values: Vec<f32> = match scenario {
        Scenario::Same => centres,
        Scenario::P3 => centres
            .iter()
            .map(|&v| {
                let fact = if v == 0.0 || !v.is_finite() {
                    1.0
                } else {
                    v.abs() / v
                };
                v.abs().powf(1.0 / 3.0) * fact
            })
            .collect(),
    };
    let total: f64 = h.hist.iter().map(|&c| c as f64).sum();
    let mut s1 = 0.0f64;
    let mut s2 = 0.0f64;
    for (&c, &v) in h.hist.iter().zip(&values) {
        s1 += c as f64 * v as f64;
        s2 += c as f64 * (v * v) as f64;
    }
    let avg = s1 / total.max(1.0);
    let std = (s2 / total.max(1.0) - avg * avg).max(0.0).sqrt();
    let lowest = h.edges.iter().copied().fold(f32::INFINITY, f32::min);
    let highest = h.edges.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    TensorStats {
        lowest,
        highest,
        avg: Some(avg as f32),
        std: Some(std as f32),
    }
}

/// Candidate ranges tried by [`mse`]: the full range scaled by k/CANDIDATES, k from CANDIDATES/16 up.
const CANDIDATES: usize = 128;

/// The range with the least expected squared quantization error for integers in `[qmin, qmax]`, from the
/// histogram (each bin's count at its centre): symmetric candidates are `[-t, t]`, asymmetric ones scale
/// both ends of `[min, max]` by the same factor. Round half to even and saturation as the lowering does.
pub fn mse(h: &ValueHistogram, symmetric: bool, qmin: i64, qmax: i64) -> TensorStats {
    let lo0 = h.min.min(0.0);
    let hi0 = h.max.max(0.0);
    let absmax = lo0.abs().max(hi0.abs());
    if absmax == 0.0 {
        return TensorStats::range(0.0, 0.0);
    }
    let centres: Vec<f64> = h
        .edges
        .windows(2)
        .map(|w| (w[0] as f64 + w[1] as f64) * 0.5)
        .collect();
    let levels = (qmax - qmin) as f64;
    let mut best = (f64::INFINITY, (lo0, hi0));
    for k in (CANDIDATES / 16).max(1)..=CANDIDATES {
        let f = k as f64 / CANDIDATES as f64;
        let (lo, hi) = if symmetric {
            (-(absmax as f64) * f, absmax as f64 * f)
        } else {
            (lo0 as f64 * f, hi0 as f64 * f)
        };
        let scale = (hi - lo) / levels;
        if scale <= 0.0 {
            continue;
        }
        let zp = (qmin as f64 - lo / scale).round_ties_even();
        let mut err = 0.0f64;
        for (&c, &n) in h.hist.iter().zip(&centres) {
            if c == 0 {
                continue;
            }
            let q = ((n / scale).round_ties_even() + zp).clamp(qmin as f64, qmax as f64);
            let d = n - (q - zp) * scale;
            err += c as f64 * d * d;
        }
        if err < best.0 {
            best = (err, (lo as f32, hi as f32));
        }
    }
    TensorStats::range(best.1 .0, best.1 .1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentile_cuts_the_tail() {
        let mut v: Vec<f32> = (0..1000).map(|i| i as f32 / 1000.0).collect();
        v.push(100.0);
        let h = AbsHistogram::new(&v, 2048);
        let r = percentile_abs(&h, 99.0);
        assert!(r.highest < 1.01 && r.highest > 0.95, "{r:?}");
        // No negative values: the lower end is clipped to the observed minimum, 0.
        assert_eq!(r.lowest, 0.0);
    }

    #[test]
    fn entropy_ignores_rare_outliers() {
        let mut v: Vec<f32> = (0..10_000)
            .map(|i| ((i % 200) as f32 - 100.0) / 100.0)
            .collect();
        v.push(50.0);
        let h = ValueHistogram::new(&v, 2048);
        let r = entropy(&h, 128);
        assert!(r.highest < 10.0 && r.highest > 0.9, "{r:?}");
    }

    #[test]
    fn distribution_mean_and_std() {
        let v = [-1.0f32, 1.0, -1.0, 1.0];
        let h = ValueHistogram::new(&v, 512);
        let r = distribution(&h, Scenario::Same);
        assert!(r.avg.unwrap().abs() < 1e-6);
        assert!((r.std.unwrap() - 1.0).abs() < 0.01, "{r:?}");
        assert_eq!((r.lowest, r.highest), (-1.0, 1.0));
    }

    #[test]
    fn mse_clips_outliers_but_not_the_bulk() {
        let mut v: Vec<f32> = (0..10_000)
            .map(|i| ((i % 200) as f32 - 100.0) / 100.0)
            .collect();
        v.push(40.0);
        let h = ValueHistogram::new(&v, 2048);
        let r = mse(&h, true, -127, 127);
        assert!(r.highest < 40.0 && r.highest >= 1.0, "{r:?}");
    }
}
