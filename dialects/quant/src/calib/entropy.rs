//! The entropy (KL divergence) range, exactly as ONNX Runtime's `get_entropy_threshold`: for every
//! symmetric window `[zero - i, zero + i]` of bins with `i` from `num_quantized_bins / 2` to `num_bins / 2`
//! (clipped on the right to the histogram), `p` is the window with the outside counts added to its end
//! bins, `q` merges the window (without the outside counts) into `num_quantized_bins` chunks of
//! `len / num_quantized_bins` bins (the remainder goes to the last chunk's sum but is not expanded back)
//! and gives every bin of a chunk the chunk's sum divided (integer division) by the number of nonzero
//! `p` entries in it, also to the bins where `p` is zero, as ONNX Runtime does. Both are smoothed
//! (`smooth_distribution`, eps = 0.0001), normalised and compared with `sum p log(p / q)`, in float32
//! with NumPy's summation order and logarithm. The first window with the smallest divergence wins; its
//! edges are clipped to the observed minimum and maximum.
//!
//! The Python code is quadratic with interpreted inner loops; here the integer parts (outliers, chunk
//! sums, nonzero counts) come from prefix sums, which does not change them, and the float part (whose
//! rounding decides near ties) is evaluated element by element in NumPy's order, windows in parallel.
//!
//! Where ONNX Runtime fails an assertion (the smoothing would make a count non-positive: more than 10000
//! zero bins per nonzero one), the window is given an infinite divergence.

use rayon::prelude::*;

use super::histogram::View;
use super::numpy::{log_f32, pairwise_sum};

/// Windows times bins above which the windows are evaluated on several threads.
const PARALLEL_WORK: usize = 1 << 20;

/// `smooth_distribution` parameters for a distribution with `zeros` zero entries out of `len`: the
/// value that zeros become and the (negative) amount added to the others, or None where ONNX Runtime
/// returns None (all zero) or fails its assertions.
fn smoothing(zeros: usize, len: usize) -> Option<(f32, f32)> {
    let nonzeros = len - zeros;
    if nonzeros == 0 {
        return None;
    }
    let eps = 0.0001f64;
    let eps1 = eps * zeros as f64 / nonzeros as f64;
    let minus_eps1 = (-eps1) as f32;
    // Counts are at least 1; 1 - eps1 must stay positive.
    if eps1 >= 1.0 || 1.0f32 + minus_eps1 <= 0.0 {
        return None;
    }
    Some((eps as f32, minus_eps1))
}

struct Search<'a> {
    counts: &'a [u64],
    /// cum[i] = counts[..i].sum(); nonzero[i] = number of nonzero counts[..i].
    cum: Vec<u64>,
    nonzero: Vec<usize>,
    nq: usize,
}

impl Search<'_> {
    /// The divergence of window `i` (`chunk_q`: scratch of `nq` entries).
    fn divergence(&self, i: usize, chunk_q: &mut [u64]) -> f32 {
        let n = self.counts.len();
        let zero = n / 2;
        let start = zero - i;
        let end = (zero + i + 1).min(n);
        let m = end - start;
        let nq = self.nq;
        let left = self.cum[start];
        let right = self.cum[n] - self.cum[end];
        let p = |k: usize| -> u64 {
            let mut v = self.counts[start + k];
            if k == 0 {
                v += left;
            }
            if k == m - 1 {
                v += right;
            }
            v
        };
        let merged = m / nq;
        if merged == 0 {
            // No bin is expanded back: q is all zero.
            return f32::INFINITY;
        }
        // Nonzero entries of p in [a, b): those of the counts, corrected at p's two modified ends.
        let ends = [0, m - 1];
        let ends = &ends[..if m == 1 { 1 } else { 2 }];
        let nonzero_p = |a: usize, b: usize| -> usize {
            let mut c = self.nonzero[start + b] - self.nonzero[start + a];
            for &k in ends {
                if a <= k && k < b {
                    c = c + usize::from(p(k) != 0) - usize::from(self.counts[start + k] != 0);
                }
            }
            c
        };
        let covered = nq * merged;
        let mut q_zeros = m - covered;
        for (j, q) in chunk_q.iter_mut().enumerate() {
            let (a, b) = (j * merged, (j + 1) * merged);
            let mut sum = self.cum[start + b] - self.cum[start + a];
            if j == nq - 1 {
                sum += self.cum[end] - self.cum[start + covered];
            }
            let norm = nonzero_p(a, b) as u64;
            *q = sum.checked_div(norm).unwrap_or(0);
            if *q == 0 {
                q_zeros += merged;
            }
        }
        let q = |k: usize| -> u64 {
            if k < covered {
                chunk_q[k / merged]
            } else {
                0
            }
        };
        let Some((p_eps, p_minus)) = smoothing(m - nonzero_p(0, m), m) else {
            return f32::INFINITY;
        };
        let Some((q_eps, q_minus)) = smoothing(q_zeros, m) else {
            return f32::INFINITY;
        };
        let smooth = |v: u64, eps: f32, minus: f32| {
            if v == 0 {
                eps
            } else {
                v as f32 + minus
            }
        };
        let ps = |k: usize| smooth(p(k), p_eps, p_minus);
        let qs = |k: usize| smooth(q(k), q_eps, q_minus);
        let sum_p = pairwise_sum(m, &ps);
        let sum_q = pairwise_sum(m, &qs);
        pairwise_sum(m, &|k| {
            let pk = ps(k) / sum_p;
            let qk = qs(k) / sum_q;
            if pk > 0.0 && qk > 0.0 {
                pk * log_f32(pk / qk)
            } else {
                f32::INFINITY
            }
        })
    }
}

/// The entropy range of a value histogram (see the module comment).
pub(crate) fn entropy_range(h: View<'_>, num_quantized_bins: usize) -> (f32, f32) {
    let counts = h.counts;
    let n = counts.len();
    let zero = n / 2;
    let half_q = num_quantized_bins / 2;
    let clip = |(lo, hi): (f32, f32)| {
        (
            if lo < h.min { h.min } else { lo },
            if hi > h.max { h.max } else { hi },
        )
    };
    if zero < half_q {
        // Excluded by Statistic::new (the histogram never has fewer bins than asked for).
        return clip((h.edges[0], h.edges[n]));
    }
    let mut cum = Vec::with_capacity(n + 1);
    let mut nonzero = Vec::with_capacity(n + 1);
    let (mut c, mut z) = (0u64, 0usize);
    cum.push(0);
    nonzero.push(0);
    for &v in counts {
        c += v;
        z += usize::from(v != 0);
        cum.push(c);
        nonzero.push(z);
    }
    let search = Search {
        counts,
        cum,
        nonzero,
        nq: num_quantized_bins,
    };
    let windows = half_q..zero + 1;
    let divergences: Vec<f32> = if windows.len() * n >= PARALLEL_WORK {
        windows
            .clone()
            .into_par_iter()
            .map_init(
                || vec![0u64; num_quantized_bins],
                |buf, i| search.divergence(i, buf),
            )
            .collect()
    } else {
        let mut buf = vec![0u64; num_quantized_bins];
        windows
            .clone()
            .map(|i| search.divergence(i, &mut buf))
            .collect()
    };
    // np.argmin: the first NaN if any, else the first smallest.
    let mut best = 0;
    for (k, &d) in divergences.iter().enumerate() {
        if d.is_nan() {
            best = k;
            break;
        }
        if d < divergences[best] {
            best = k;
        }
    }
    let i = windows.start + best;
    let start = zero - i;
    let end = (zero + i + 1).min(n);
    clip((h.edges[start], h.edges[end]))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// ONNX Runtime's algorithm transcribed naively (materialised p and q, no prefix sums), to check
    /// the prefix-sum version against.
    fn naive(counts: &[u64], nq: usize) -> Vec<f32> {
        let n = counts.len();
        let zero = n / 2;
        let mut out = Vec::new();
        for i in nq / 2..=zero {
            let start = zero - i;
            let end = (zero + i + 1).min(n);
            let sliced = &counts[start..end];
            let m = sliced.len();
            let mut p = sliced.to_vec();
            p[0] += counts[..start].iter().sum::<u64>();
            p[m - 1] += counts[end..].iter().sum::<u64>();
            let merged = m / nq;
            let mut qb = vec![0u64; nq];
            for (j, b) in qb.iter_mut().enumerate() {
                *b = sliced[j * merged..(j + 1) * merged].iter().sum();
            }
            qb[nq - 1] += sliced[nq * merged..].iter().sum::<u64>();
            let mut q = vec![0u64; m];
            for j in 0..nq {
                let norm = p[j * merged..(j + 1) * merged]
                    .iter()
                    .filter(|&&v| v != 0)
                    .count() as u64;
                if let Some(v) = qb[j].checked_div(norm) {
                    q[j * merged..(j + 1) * merged].fill(v);
                }
            }
            let smooth = |d: &[u64]| -> Option<Vec<f32>> {
                let zeros = d.iter().filter(|&&v| v == 0).count();
                let (e, mnus) = smoothing(zeros, d.len())?;
                Some(
                    d.iter()
                        .map(|&v| if v == 0 { e } else { v as f32 + mnus })
                        .collect(),
                )
            };
            let d = match (smooth(&p), smooth(&q)) {
                (Some(p), Some(q)) => {
                    let sp = pairwise_sum(m, &|k| p[k]);
                    let sq = pairwise_sum(m, &|k| q[k]);
                    pairwise_sum(m, &|k| {
                        let (a, b) = (p[k] / sp, q[k] / sq);
                        a * log_f32(a / b)
                    })
                }
                _ => f32::INFINITY,
            };
            out.push(d);
        }
        out
    }

    fn fast(counts: &[u64], nq: usize) -> Vec<f32> {
        let n = counts.len();
        let mut cum = vec![0];
        let mut nonzero = vec![0];
        for &v in counts {
            cum.push(cum.last().unwrap() + v);
            nonzero.push(nonzero.last().unwrap() + usize::from(v != 0));
        }
        let s = Search {
            counts,
            cum,
            nonzero,
            nq,
        };
        let mut buf = vec![0; nq];
        (nq / 2..=n / 2)
            .map(|i| s.divergence(i, &mut buf))
            .collect()
    }

    #[test]
    fn prefix_sums_match_the_naive_transcription() {
        let mut seed = 12345u64;
        let mut rnd = || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        for &(n, nq) in &[
            (64, 8),
            (65, 8),
            (40, 7),
            (33, 33),
            (100, 1),
            (128, 128),
            (16, 2),
        ] {
            for sparse in [false, true] {
                let counts: Vec<u64> = (0..n)
                    .map(|k| {
                        let r = rnd();
                        if sparse && r % 3 != 0 {
                            0
                        } else {
                            (r % 50) * (1 + (k as u64 % 7))
                        }
                    })
                    .collect();
                let a = naive(&counts, nq);
                let b = fast(&counts, nq);
                assert_eq!(a.len(), b.len());
                for (x, y) in a.iter().zip(&b) {
                    assert!(x.to_bits() == y.to_bits(), "n={n} nq={nq}: {a:?} vs {b:?}");
                }
            }
        }
    }

    #[test]
    fn picks_a_window_and_clips() {
        // A peak in the middle and a far outlier: the best window excludes the outlier.
        let mut counts = vec![0u64; 64];
        for (k, c) in counts.iter_mut().enumerate().take(36).skip(28) {
            *c = 1000 - 100 * (k as i64 - 32).unsigned_abs();
        }
        counts[63] = 1;
        let edges: Vec<f32> = (0..=64).map(|k| (k as f32 - 32.0) / 8.0).collect();
        let v = View {
            counts: &counts,
            edges: &edges,
            min: -0.4,
            max: 3.9,
        };
        let (lo, hi) = entropy_range(v, 8);
        assert!(hi < 3.9 && hi > 0.0, "{hi}");
        assert_eq!(lo, -0.4, "clipped to the minimum");
    }
}
