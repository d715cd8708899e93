//! Streaming histograms with ONNX Runtime's bins: [`ValueHistogram`] (`collect_value`: symmetric around 0,
//! widened by whole bins on both sides) and [`AbsHistogram`] (`collect_absolute_value`: |x| from the first
//! observation's smallest to largest |x|, widened by whole bins to the right). Bin assignment is numpy's
//! `np.histogram` in float32: edges from `np.linspace`, index from `(x - first) / (last - first) * n`,
//! corrected against the edges, the last bin closed on the right.

use super::{nan_min_max, MAX_BINS_FACTOR};

/// `np.linspace(start, stop, n + 1, dtype=float32)`.
fn linspace(start: f32, stop: f32, n: usize) -> Vec<f32> {
    let mut edges = Vec::with_capacity(n + 1);
    let step = (stop - start) / n as f32;
    for i in 0..=n {
        edges.push(if step == 0.0 {
            (i as f32 / n as f32) * (stop - start) + start
        } else {
            i as f32 * step + start
        });
    }
    edges[n] = stop;
    edges
}

/// Adds `values` (finite ones inside `[edges[0], edges[n]]`) to `hist` over uniform `edges`, as
/// `np.histogram(values, n, range=(edges[0], edges[n]))` does.
fn add_uniform(hist: &mut [u64], edges: &[f32], values: impl Iterator<Item = f32>) {
    let n = hist.len();
    let first = edges[0];
    let last = edges[n];
    let denom = last - first;
    for x in values {
        if !(x >= first && x <= last) {
            continue;
        }
        let mut i = if denom > 0.0 {
            (((x - first) / denom) * n as f32) as usize
        } else {
            0
        };
        if i >= n {
            i = n - 1;
        }
        if x < edges[i] && i > 0 {
            i -= 1;
        }
        if i + 1 < n && x >= edges[i + 1] {
            i += 1;
        }
        hist[i] += 1;
    }
}

/// A histogram of values over `[-threshold, threshold]`.
#[derive(Clone, Debug)]
pub struct ValueHistogram {
    pub hist: Vec<u64>,
    pub edges: Vec<f32>,
    pub threshold: f32,
    pub min: f32,
    pub max: f32,
    initial_bins: usize,
}

/// (min, max, threshold) of one observation as ONNX Runtime computes them (0 for an empty tensor).
fn value_range(values: &[f32]) -> (f32, f32, f32) {
    let (lo, hi) = nan_min_max(values).unwrap_or((0.0, 0.0));
    (lo, hi, lo.abs().max(hi.abs()))
}

impl ValueHistogram {
    pub fn new(values: &[f32], num_bins: usize) -> ValueHistogram {
        let (min, max, threshold) = value_range(values);
        let edges = linspace(-threshold, threshold, num_bins);
        let mut hist = vec![0; num_bins];
        add_uniform(&mut hist, &edges, values.iter().copied());
        ValueHistogram {
            hist,
            edges,
            threshold,
            min,
            max,
            initial_bins: num_bins,
        }
    }

    /// ONNX Runtime's `merge_histogram`.
    pub fn add(&mut self, values: &[f32]) {
        let (min, max, new_threshold) = value_range(values);
        self.min = self.min.min(min);
        self.max = self.max.max(max);
        if new_threshold <= self.threshold {
            add_uniform(&mut self.hist, &self.edges, values.iter().copied());
            return;
        }
        let n = self.hist.len();
        if self.threshold == 0.0 {
            // As ONNX Runtime: the old counts are added bin by bin to the new bins.
            let edges = linspace(-new_threshold, new_threshold, n);
            let mut hist = vec![0; n];
            add_uniform(&mut hist, &edges, values.iter().copied());
            for (h, o) in hist.iter_mut().zip(&self.hist) {
                *h += o;
            }
            self.hist = hist;
            self.edges = edges;
            self.threshold = new_threshold;
            return;
        }
        let stride = 2.0 * self.threshold / n as f32;
        let mut half = (((new_threshold - self.threshold) / stride).floor() + 1.0) as usize;
        // Bounded memory (a deliberate difference): past the cap, widen in steps of merged bins.
        let cap = self.initial_bins * MAX_BINS_FACTOR;
        let mut old = std::mem::take(&mut self.hist);
        let mut stride = stride;
        let mut threshold = self.threshold;
        while old.len() + 2 * half > cap {
            // Merge pairs, symmetric around 0: pad one empty bin on each side when a half is odd.
            if (old.len() / 2) % 2 == 1 {
                old.insert(0, 0);
                old.push(0);
                threshold += stride;
            }
            old = old.chunks(2).map(|c| c.iter().sum()).collect();
            stride *= 2.0;
            half = (((new_threshold - threshold) / stride).floor() + 1.0) as usize;
        }
        let n_old = old.len();
        let new_n = n_old + 2 * half;
        let new_threshold = half as f32 * stride + threshold;
        let edges = linspace(-new_threshold, new_threshold, new_n);
        let mut hist = vec![0; new_n];
        add_uniform(&mut hist, &edges, values.iter().copied());
        for (h, o) in hist[half..new_n - half].iter_mut().zip(&old) {
            *h += o;
        }
        self.hist = hist;
        self.edges = edges;
        self.threshold = new_threshold;
    }

    pub fn memory_bytes(&self) -> usize {
        self.hist.capacity() * 8 + self.edges.capacity() * 4
    }
}

/// A histogram of absolute values.
#[derive(Clone, Debug)]
pub struct AbsHistogram {
    pub hist: Vec<u64>,
    pub edges: Vec<f32>,
    pub min: f32,
    pub max: f32,
    initial_bins: usize,
}

impl AbsHistogram {
    pub fn new(values: &[f32], num_bins: usize) -> AbsHistogram {
        let (min, max) = nan_min_max(values).unwrap_or((0.0, 0.0));
        // A deliberate difference: the bins start at 0, not at the first observation's smallest |x| as
        // ONNX Runtime's do. Values that later fall below that smallest |x| would otherwise be dropped,
        // which skews the distribution of tensors whose first sample is unusual (LayerNorm means: 500
        // bins off on PaddleOCR rec). For a large tensor the smallest |x| is ~0 anyway.
        let last = nan_min_max_abs(values).map_or(1.0, |(_, hi)| hi);
        let (mut first, mut last) = (0.0f32, last);
        if first == last {
            // np.histogram's default range for constant data.
            first -= 0.5;
            last += 0.5;
        }
        let edges = linspace(first, last, num_bins);
        let mut hist = vec![0; num_bins];
        add_uniform(&mut hist, &edges, values.iter().map(|v| v.abs()));
        AbsHistogram {
            hist,
            edges,
            min,
            max,
            initial_bins: num_bins,
        }
    }

    /// ONNX Runtime's widening: append bins of the first bin's width up to the new largest |x|.
    pub fn add(&mut self, values: &[f32]) {
        if let Some((lo, hi)) = nan_min_max(values) {
            self.min = self.min.min(lo);
            self.max = self.max.max(hi);
        }
        let Some((_, amax)) = nan_min_max_abs(values) else {
            return;
        };
        let mut width = self.edges[1] - self.edges[0];
        let mut last = *self.edges.last().unwrap_or(&0.0);
        if amax > last && width > 0.0 {
            // np.arange(last + width, amax + width, width): one more edge per whole width.
            let cap = self.initial_bins * MAX_BINS_FACTOR;
            loop {
                let extra = (((amax + width) - (last + width)) / width).ceil().max(0.0) as usize;
                if self.hist.len() + extra <= cap {
                    break;
                }
                // Bounded memory (a deliberate difference): merge bin pairs, doubling the width.
                if self.hist.len() % 2 == 1 {
                    self.hist.push(0);
                    self.edges.push(last + width);
                }
                self.hist = self.hist.chunks(2).map(|c| c.iter().sum()).collect();
                self.edges = self.edges.iter().step_by(2).copied().collect();
                width = self.edges[1] - self.edges[0];
                last = *self.edges.last().unwrap_or(&0.0);
            }
            // numpy's arange: the length from float64 arithmetic, the values start + i * delta in
            // float32 with delta = (start + width) - start.
            let start = last + width;
            let stop = amax + width;
            let count = ((stop as f64 - start as f64) / width as f64)
                .ceil()
                .max(0.0) as usize;
            let delta = (start + width) - start;
            for i in 0..count {
                self.edges.push(start + i as f32 * delta);
                self.hist.push(0);
            }
        }
        let edges = &self.edges;
        let n = self.hist.len();
        for x in values.iter().map(|v| v.abs()) {
            // Outside the edges: not counted, as np.histogram with explicit edges (so values below
            // the first observation's smallest |x| are dropped, as ONNX Runtime drops them; they only
            // move the cumulative distribution by their share, and matching keeps results comparable).
            if x.is_nan() || x > edges[n] || x < edges[0] {
                continue;
            }
            let i = edges
                .partition_point(|&e| e <= x)
                .saturating_sub(1)
                .min(n - 1);
            self.hist[i] += 1;
        }
    }

    pub fn memory_bytes(&self) -> usize {
        self.hist.capacity() * 8 + self.edges.capacity() * 4
    }
}

/// Smallest and largest |x| over the non-NaN values.
fn nan_min_max_abs(values: &[f32]) -> Option<(f32, f32)> {
    let mut lo = f32::INFINITY;
    let mut hi = f32::NEG_INFINITY;
    let mut any = false;
    for &v in values {
        if v.is_nan() {
            continue;
        }
        any = true;
        let a = v.abs();
        lo = lo.min(a);
        hi = hi.max(a);
    }
    any.then_some((lo, hi))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn value_histogram_bins_like_numpy() {
        // np.histogram([-1, -0.5, 0, 0.5, 1], 4, range=(-1, 1)) -> [1, 1, 1, 2]
        let h = ValueHistogram::new(&[-1.0, -0.5, 0.0, 0.5, 1.0], 4);
        assert_eq!(h.hist, vec![1, 1, 1, 2]);
        assert_eq!(h.edges, vec![-1.0, -0.5, 0.0, 0.5, 1.0]);
    }

    #[test]
    fn value_histogram_widens_by_whole_bins() {
        let mut h = ValueHistogram::new(&[-1.0, 1.0], 4);
        // stride 0.5; new threshold 1.6 -> half = floor(0.6 / 0.5) + 1 = 2 bins each side, t = 2.
        h.add(&[1.6]);
        assert_eq!(h.hist.len(), 8);
        assert_eq!(h.threshold, 2.0);
        assert_eq!(h.hist.iter().sum::<u64>(), 3);
        assert_eq!(h.hist[2], 1);
        assert_eq!(h.hist[5], 1);
        assert_eq!(h.hist[7], 1);
    }

    #[test]
    fn value_histogram_stays_bounded() {
        let mut h = ValueHistogram::new(&[-1e-3, 1e-3], 8);
        h.add(&[1e6]);
        assert!(h.hist.len() <= 8 * MAX_BINS_FACTOR, "{}", h.hist.len());
        assert_eq!(h.hist.iter().sum::<u64>(), 3);
        assert!(h.threshold >= 1e6);
    }

    #[test]
    fn abs_histogram_starts_at_zero_and_widens() {
        let mut h = AbsHistogram::new(&[1.0, -2.0, 3.0], 2);
        assert_eq!(h.edges, vec![0.0, 1.5, 3.0]);
        h.add(&[-4.5, 0.25]);
        assert_eq!(h.edges, vec![0.0, 1.5, 3.0, 4.5]);
        assert_eq!(h.hist, vec![2, 2, 1]);
        assert_eq!((h.min, h.max), (-4.5, 3.0));
    }
}
