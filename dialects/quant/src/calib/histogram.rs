//! Streaming histograms, built as ONNX Runtime's `HistogramCollector` builds them when `collect()` is
//! called once per occurrence of a tensor: the first occurrence fixes `num_bins` bins over its range, later
//! ones widen the histogram when they fall outside it.
//!
//! - [`ValueHistogram`] (`collect_value`, used by entropy, distribution, asymmetric percentile and MSE):
//!   the bins are `np.linspace(-t, t)` with `t` the largest magnitude seen (`t == 0`: the range
//!   `[-0.5, 0.5]`). A wider occurrence adds whole old strides on both sides (`merge_histogram`), so the
//!   old counts keep their bins; if the stored `t` is 0 the bins are recomputed over the new range with
//!   the same count.
//! - [`AbsHistogram`] (`collect_absolute_value`, symmetric percentile): histogram of `|x|`, the first
//!   occurrence's bins span `[min |x|, max |x|]`; wider occurrences append bins of the same width with
//!   `np.arange`'s arithmetic (float32 start and length, float64 values that are binned against, then
//!   stored as float32).
//!
//! Values go to bins as `np.histogram` assigns them: a float64 guess from the uniform-grid formula,
//! corrected against the edges, the right-most bin closed. Deliberate differences from ONNX Runtime:
//! - values outside the grid are counted in the nearest end bin. ONNX Runtime drops them; this happens
//!   for `|x|` below the first edge of an [`AbsHistogram`] (its first edge is the first occurrence's
//!   smallest magnitude) and, by float32 rounding, for values within an ulp of a widened grid's end;
//! - memory is bounded: a widening that would need more than `MAX_GROWTH * num_bins` bins first merges
//!   adjacent bins (pairs; triples for an odd count of a symmetric grid), padding with empty bins so that
//!   the grid stays symmetric around 0 (value histograms, zero stays an edge when the count is even) or
//!   keeps its first edge (absolute values). Resolution halves, the grid then continues with ONNX
//!   Runtime's widening rule. 16 rather than more: the entropy search is quadratic in the bin count and
//!   a tensor whose range grows 16-fold after its first batch is better served by fewer, wider bins;
//! - NaN and infinities are ignored (ONNX Runtime ignores NaN in value histograms but fails on an
//!   infinity, and fails on NaN in the first occurrence of an absolute-value histogram), and so are
//!   magnitudes above [`HUGE`] (the float32 grid arithmetic would overflow). Occurrences with nothing
//!   left are skipped (ONNX Runtime would count an empty tensor as min = max = 0);
//! - a largest magnitude below [`TINY`] is treated as 0 (ONNX Runtime fails: its bins collapse), and an
//!   absolute-value first range too narrow for distinct float32 edges is widened to `[0, max |x|]`.
//!
//! Memory is O(bins) per tensor: counts (u64) and edges (f32); no observed value is kept. An occurrence
//! is read once when it fits the current grid (binned into a scratch histogram while its extremes are
//! found; large ones on several threads), twice when it is the first or widens the grid (ONNX Runtime
//! bins it on the new grid, which depends on its extremes).

use rayon::prelude::*;

use super::numpy::{floor_divide_f32, linspace_f32, strictly_increasing};

/// Largest magnitudes below this are treated as zero (far below anything float32 quantization resolves).
pub(crate) const TINY: f32 = 1e-30;
/// Magnitudes above this are ignored like infinities.
pub(crate) const HUGE: f32 = 1e37;
/// A histogram never holds more than this many times its initial bin count.
pub(crate) const MAX_GROWTH: usize = 16;
/// Tensors with at least this many values are scanned and binned on several threads.
const PARALLEL_MIN: usize = 1 << 20;
const CHUNK: usize = 1 << 17;
/// From this many values on, an occurrence is binned in the same pass that finds its extremes (into a
/// scratch histogram, redone if the grid must widen); smaller ones are scanned first, then binned.
const FUSED_MIN: usize = 1 << 16;

/// Whether a value takes part in histograms: finite and not above [`HUGE`] (NaN fails the comparison).
#[inline]
pub(crate) fn usable(x: f32) -> bool {
    x.abs() <= HUGE
}

/// The extremes of the usable values of one tensor.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Scan {
    pub count: usize,
    pub min: f32,
    pub max: f32,
    pub abs_min: f32,
    pub abs_max: f32,
}

impl Scan {
    const EMPTY: Scan = Scan {
        count: 0,
        min: f32::INFINITY,
        max: f32::NEG_INFINITY,
        abs_min: f32::INFINITY,
        abs_max: 0.0,
    };

    pub(crate) fn new(values: &[f32]) -> Scan {
        if values.len() >= PARALLEL_MIN {
            values
                .par_chunks(CHUNK)
                .map(Scan::sequential)
                .reduce(|| Scan::EMPTY, Scan::merge)
        } else {
            Scan::sequential(values)
        }
    }

    fn sequential(values: &[f32]) -> Scan {
        let mut s = Scan::EMPTY;
        for &x in values {
            if usable(x) {
                s.add(x);
            }
        }
        s
    }

    #[inline]
    fn add(&mut self, x: f32) {
        self.count += 1;
        self.min = if x < self.min { x } else { self.min };
        self.max = if x > self.max { x } else { self.max };
        let a = x.abs();
        self.abs_min = if a < self.abs_min { a } else { self.abs_min };
        self.abs_max = if a > self.abs_max { a } else { self.abs_max };
    }

    fn merge(a: Scan, b: Scan) -> Scan {
        Scan {
            count: a.count + b.count,
            min: a.min.min(b.min),
            max: a.max.max(b.max),
            abs_min: a.abs_min.min(b.abs_min),
            abs_max: a.abs_max.max(b.abs_max),
        }
    }
}

/// Edge values: float32, or float64 for the batch that widens an [`AbsHistogram`].
pub(crate) trait Edge: Copy + PartialOrd + Send + Sync {
    fn of(x: f32) -> Self;
    fn as_f64(self) -> f64;
}

impl Edge for f32 {
    fn of(x: f32) -> f32 {
        x
    }
    fn as_f64(self) -> f64 {
        self as f64
    }
}

impl Edge for f64 {
    fn of(x: f32) -> f64 {
        x as f64
    }
    fn as_f64(self) -> f64 {
        self
    }
}

/// Adds the usable values (their magnitudes if `magnitude`) to `counts`, bins given by `edges`
/// (`counts.len() + 1` increasing values; values outside go to the end bins), and returns their
/// extremes: one pass over the data, no allocation per value.
pub(crate) fn bin<E: Edge>(
    values: &[f32],
    magnitude: bool,
    edges: &[E],
    counts: &mut [u64],
) -> Scan {
    let n = counts.len();
    if values.len() >= PARALLEL_MIN {
        let (scan, partial) = values
            .par_chunks(CHUNK)
            .fold(
                || (Scan::EMPTY, vec![0u64; n]),
                |(scan, mut acc), chunk| {
                    let s = bin_sequential(chunk, magnitude, edges, &mut acc);
                    (Scan::merge(scan, s), acc)
                },
            )
            .reduce(
                || (Scan::EMPTY, vec![0u64; n]),
                |(sa, mut a), (sb, b)| {
                    a.iter_mut().zip(b).for_each(|(a, b)| *a += b);
                    (Scan::merge(sa, sb), a)
                },
            );
        counts.iter_mut().zip(partial).for_each(|(c, p)| *c += p);
        scan
    } else {
        bin_sequential(values, magnitude, edges, counts)
    }
}

fn bin_sequential<E: Edge>(
    values: &[f32],
    magnitude: bool,
    edges: &[E],
    counts: &mut [u64],
) -> Scan {
    let n = counts.len();
    let lo = edges[0].as_f64();
    let scale = n as f64 / (edges[n].as_f64() - lo);
    let mut s = Scan::EMPTY;
    for &v in values {
        if !usable(v) {
            continue;
        }
        s.add(v);
        let x = if magnitude { v.abs() } else { v };
        // np.histogram's index formula, then its correction against the edges (here until exact).
        let guess = (x as f64 - lo) * scale;
        let mut i = if guess <= 0.0 {
            0
        } else if guess >= n as f64 {
            n - 1
        } else {
            guess as usize
        };
        let xe = E::of(x);
        while i > 0 && xe < edges[i] {
            i -= 1;
        }
        while i + 1 < n && xe >= edges[i + 1] {
            i += 1;
        }
        counts[i] += 1;
    }
    s
}

/// Bins `values` against the current grid in one pass into a scratch histogram and keeps the result
/// if the grid did not need to change (`fits`), which is the common case after the first batch; else
/// returns the extremes for the caller to widen the grid and bin again.
fn bin_if_fits(
    values: &[f32],
    magnitude: bool,
    edges: &[f32],
    counts: &mut [u64],
    fits: impl Fn(&Scan) -> bool,
) -> Result<Scan, Scan> {
    if values.len() < FUSED_MIN {
        let s = Scan::new(values);
        if s.count == 0 || !fits(&s) {
            return Err(s);
        }
        bin(values, magnitude, edges, counts);
        return Ok(s);
    }
    let mut scratch = vec![0u64; counts.len()];
    let s = bin(values, magnitude, edges, &mut scratch);
    if s.count == 0 || !fits(&s) {
        return Err(s);
    }
    counts.iter_mut().zip(scratch).for_each(|(c, p)| *c += p);
    Ok(s)
}

/// A finished histogram, as the range-choosing methods read it.
#[derive(Clone, Copy, Debug)]
pub(crate) struct View<'a> {
    pub counts: &'a [u64],
    pub edges: &'a [f32],
    /// Smallest and largest usable value seen (signed, also for absolute-value histograms).
    pub min: f32,
    pub max: f32,
}

/// The histogram of values, symmetric around zero (`collect_value` / `merge_histogram`).
#[derive(Clone, Debug)]
pub(crate) struct ValueHistogram {
    num_bins: usize,
    /// ONNX Runtime's stored threshold: the grid is `[-t, t]`, or `[-0.5, 0.5]` when `t == 0`.
    threshold: f32,
    counts: Vec<u64>,
    edges: Vec<f32>,
    min: f32,
    max: f32,
    /// How many times adjacent bins were merged to respect the cap.
    pub merges: usize,
}

/// ONNX Runtime's threshold of one occurrence: its largest magnitude (below [`TINY`]: 0).
fn threshold(s: &Scan) -> f32 {
    let t = s.min.abs().max(s.max.abs());
    if t < TINY {
        0.0
    } else {
        t
    }
}

fn value_grid(t: f32, n: usize) -> Vec<f32> {
    let edges = if t == 0.0 {
        linspace_f32(-0.5, 0.5, n)
    } else {
        linspace_f32(-t, t, n)
    };
    debug_assert!(strictly_increasing(&edges), "t={t} n={n}");
    edges
}

impl ValueHistogram {
    pub(crate) fn new(num_bins: usize) -> ValueHistogram {
        ValueHistogram {
            num_bins,
            threshold: 0.0,
            counts: Vec::new(),
            edges: Vec::new(),
            min: 0.0,
            max: 0.0,
            merges: 0,
        }
    }

    fn cap(&self) -> usize {
        self.num_bins * MAX_GROWTH
    }

    pub(crate) fn view(&self) -> Option<View<'_>> {
        (!self.counts.is_empty()).then_some(View {
            counts: &self.counts,
            edges: &self.edges,
            min: self.min,
            max: self.max,
        })
    }

    pub(crate) fn memory_bytes(&self) -> usize {
        self.counts.capacity() * 8 + self.edges.capacity() * 4
    }

    pub(crate) fn observe(&mut self, values: &[f32]) {
        if self.counts.is_empty() {
            let s = Scan::new(values);
            if s.count == 0 {
                return;
            }
            let t = threshold(&s);
            self.threshold = t;
            self.counts = vec![0; self.num_bins];
            self.edges = value_grid(t, self.num_bins);
            self.min = s.min;
            self.max = s.max;
            bin(values, false, &self.edges, &mut self.counts);
            return;
        }
        let old = self.threshold;
        let s = match bin_if_fits(values, false, &self.edges, &mut self.counts, |s| {
            threshold(s) <= old
        }) {
            Ok(s) => s,
            Err(s) if s.count == 0 => return,
            Err(s) => {
                self.widen(threshold(&s));
                bin(values, false, &self.edges, &mut self.counts);
                s
            }
        };
        self.min = self.min.min(s.min);
        self.max = self.max.max(s.max);
    }

    /// `merge_histogram` for a new threshold `t` above the stored one.
    fn widen(&mut self, t: f32) {
        if self.threshold == 0.0 {
            self.threshold = t;
            self.edges = value_grid(t, self.counts.len());
            return;
        }
        let half_increased = loop {
            let n = self.counts.len();
            let stride = 2.0 * self.threshold / n as f32;
            let steps = floor_divide_f32(t - self.threshold, stride) + 1.0;
            if n as f64 + 2.0 * steps as f64 <= self.cap() as f64 {
                break steps as usize;
            }
            self.halve();
        };
        let n = self.counts.len();
        let stride = 2.0 * self.threshold / n as f32;
        let new_t = half_increased as f32 * stride + self.threshold;
        let mut counts = vec![0u64; n + 2 * half_increased];
        counts[half_increased..half_increased + n].copy_from_slice(&self.counts);
        self.counts = counts;
        self.threshold = new_t;
        self.edges = value_grid(new_t, self.counts.len());
    }

    /// Merges adjacent bins (pairs, or triples for an odd count), after padding both ends with as many
    /// empty bins as keep the grid symmetric (and zero an edge when the count is even).
    fn halve(&mut self) {
        let n = self.counts.len();
        let stride = 2.0 * self.threshold / n as f32;
        let (factor, pad) = if n % 2 == 0 {
            (2, (n / 2) % 2)
        } else {
            // n + 2 * pad must be a multiple of 3: pad = n mod 3.
            (3, n % 3)
        };
        let mut merged = vec![0u64; (n + 2 * pad) / factor];
        for (i, &c) in self.counts.iter().enumerate() {
            merged[(i + pad) / factor] += c;
        }
        self.threshold += pad as f32 * stride;
        self.counts = merged;
        self.edges = value_grid(self.threshold, self.counts.len());
        self.merges += 1;
    }
}

/// The histogram of magnitudes `|x|` (`collect_absolute_value`).
#[derive(Clone, Debug)]
pub(crate) struct AbsHistogram {
    num_bins: usize,
    counts: Vec<u64>,
    edges: Vec<f32>,
    min: f32,
    max: f32,
    /// How many times adjacent bins were merged to respect the cap.
    pub merges: usize,
}

/// The first occurrence's bins: `np.histogram(|x|, num_bins)` over `[min |x|, max |x|]`.
fn magnitude_grid(lo: f32, hi: f32, n: usize) -> Vec<f32> {
    if hi < TINY {
        return linspace_f32(-0.5, 0.5, n);
    }
    let edges = if lo == hi {
        linspace_f32(lo - 0.5, hi + 0.5, n)
    } else {
        linspace_f32(lo, hi, n)
    };
    if strictly_increasing(&edges) {
        edges
    } else {
        linspace_f32(0.0, hi, n)
    }
}

impl AbsHistogram {
    pub(crate) fn new(num_bins: usize) -> AbsHistogram {
        AbsHistogram {
            num_bins,
            counts: Vec::new(),
            edges: Vec::new(),
            min: 0.0,
            max: 0.0,
            merges: 0,
        }
    }

    fn cap(&self) -> usize {
        self.num_bins * MAX_GROWTH
    }

    pub(crate) fn view(&self) -> Option<View<'_>> {
        (!self.counts.is_empty()).then_some(View {
            counts: &self.counts,
            edges: &self.edges,
            min: self.min,
            max: self.max,
        })
    }

    pub(crate) fn memory_bytes(&self) -> usize {
        self.counts.capacity() * 8 + self.edges.capacity() * 4
    }

    pub(crate) fn observe(&mut self, values: &[f32]) {
        if self.counts.is_empty() {
            let s = Scan::new(values);
            if s.count == 0 {
                return;
            }
            self.edges = magnitude_grid(s.abs_min, s.abs_max, self.num_bins);
            self.counts = vec![0; self.num_bins];
            self.min = s.min;
            self.max = s.max;
            bin(values, true, &self.edges, &mut self.counts);
            return;
        }
        let last = self.edges[self.counts.len()];
        let s = match bin_if_fits(values, true, &self.edges, &mut self.counts, |s| {
            s.abs_max <= last
        }) {
            Ok(s) => s,
            Err(s) if s.count == 0 => return,
            Err(s) => {
                let wide = self.widened_edges(s.abs_max);
                self.counts.resize(wide.len() - 1, 0);
                bin(values, true, &wide, &mut self.counts);
                self.edges = wide.iter().map(|&e| e as f32).collect();
                s
            }
        };
        self.min = self.min.min(s.min);
        self.max = self.max.max(s.max);
    }

    /// The edges `np.hstack((edges, np.arange(last + w, amax + w, w)))` that the widening occurrence
    /// is binned against (`w` the first bin's width), merging bins first while they would exceed the
    /// cap or would not be increasing.
    fn widened_edges(&mut self, amax: f32) -> Vec<f64> {
        loop {
            let n = self.counts.len();
            let w = self.edges[1] - self.edges[0];
            let start = self.edges[n] + w;
            let stop = amax + w;
            // np.arange's length: ceil of the float32 quotient.
            let q = ((stop - start) / w) as f64;
            let len = if q > 0.0 { q.ceil() } else { 0.0 };
            if n as f64 + len > self.cap() as f64 {
                self.halve();
                continue;
            }
            let len = len as usize;
            // np.arange's values: the second is start + w in float32, then start + i * delta in f64.
            let b0 = start as f64;
            let b1 = (start + w) as f64;
            let delta = b1 - b0;
            let mut wide: Vec<f64> = Vec::with_capacity(n + 1 + len);
            wide.extend(self.edges.iter().map(|&e| e as f64));
            wide.extend((0..len).map(|i| match i {
                0 => b0,
                1 => b1,
                _ => b0 + i as f64 * delta,
            }));
            if strictly_increasing(&wide[n..]) {
                return wide;
            }
            self.halve();
        }
    }

    /// Merges adjacent pairs of bins from the first edge on (an odd count first gets one more bin).
    fn halve(&mut self) {
        if self.counts.len() % 2 == 1 {
            let w = self.edges[1] - self.edges[0];
            let last = self.edges[self.counts.len()];
            self.edges.push(last + w);
            self.counts.push(0);
        }
        self.counts = self.counts.chunks(2).map(|p| p[0] + p[1]).collect();
        self.edges = self.edges.iter().step_by(2).copied().collect();
        self.merges += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(h: &ValueHistogram) -> (Vec<u64>, Vec<f32>) {
        let v = h.view().unwrap();
        (v.counts.to_vec(), v.edges.to_vec())
    }

    fn total(counts: &[u64]) -> u64 {
        counts.iter().sum()
    }

    #[test]
    fn first_occurrence_bins_like_np_histogram() {
        let mut h = ValueHistogram::new(4);
        h.observe(&[-1.0, 0.0, 0.5, 1.0, -0.25]);
        let (counts, edges) = values(&h);
        assert_eq!(edges, [-1.0, -0.5, 0.0, 0.5, 1.0]);
        // Bins are [a, b) except the last, which is closed.
        assert_eq!(counts, [1, 1, 1, 2]);
        assert_eq!((h.min, h.max, h.threshold), (-1.0, 1.0, 1.0));
    }

    #[test]
    fn widening_adds_whole_old_strides() {
        let mut h = ValueHistogram::new(4);
        h.observe(&[-1.0, 1.0]);
        // Stride 0.5; |1.6| needs (1.6 - 1) // 0.5 + 1 = 2 more bins per side: 8 bins over [-2, 2].
        h.observe(&[1.6]);
        let (counts, edges) = values(&h);
        assert_eq!(edges, [-2.0, -1.5, -1.0, -0.5, 0.0, 0.5, 1.0, 1.5, 2.0]);
        assert_eq!(counts, [0, 0, 1, 0, 0, 1, 0, 1]);
        // A narrower occurrence reuses the grid.
        h.observe(&[0.1, -1.9]);
        assert_eq!(values(&h).0, [1, 0, 1, 0, 1, 1, 0, 1]);
        assert_eq!((h.min, h.max), (-1.9, 1.6));
    }

    #[test]
    fn zero_first_occurrence_then_real_range() {
        let mut h = ValueHistogram::new(8);
        h.observe(&[0.0; 10]);
        let (counts, edges) = values(&h);
        assert_eq!((edges[0], edges[8]), (-0.5, 0.5));
        assert_eq!(counts, [0, 0, 0, 0, 10, 0, 0, 0]);
        // Stored threshold 0: the same 8 bins are recomputed over the new range, zeros stay at 0.
        h.observe(&[3.0, -3.0]);
        let (counts, edges) = values(&h);
        assert_eq!((edges[0], edges[8], edges[4]), (-3.0, 3.0, 0.0));
        assert_eq!(counts, [1, 0, 0, 0, 10, 0, 0, 1]);
        assert_eq!((h.min, h.max), (-3.0, 3.0));
    }

    #[test]
    fn many_growing_batches_merge_bins_under_the_cap() {
        for num_bins in [8usize, 7, 10] {
            let mut h = ValueHistogram::new(num_bins);
            let mut seen = 0u64;
            let mut scale = 0.01f32;
            for k in 0..60 {
                let batch: Vec<f32> = (0..50)
                    .map(|i| {
                        scale * ((i as f32 / 49.0) * 2.0 - 1.0) * if k % 2 == 0 { 1.0 } else { 0.7 }
                    })
                    .collect();
                h.observe(&batch);
                seen += 50;
                scale *= 1.3;
                let (counts, edges) = values(&h);
                assert!(
                    counts.len() <= num_bins * MAX_GROWTH,
                    "{} bins",
                    counts.len()
                );
                assert_eq!(total(&counts), seen);
                assert_eq!(edges[0], -edges[counts.len()], "symmetric grid");
                if counts.len() % 2 == 0 {
                    // Up to float32 rounding of np.linspace, as in ONNX Runtime.
                    let mid = edges[counts.len() / 2].abs();
                    assert!(
                        mid <= edges[counts.len()] * 1e-6,
                        "zero stays an edge: {mid}"
                    );
                }
                assert!(edges[counts.len()] >= h.max && edges[0] <= h.min);
            }
            assert!(h.merges > 0);
            // Memory stays O(bins).
            assert!(h.memory_bytes() <= num_bins * MAX_GROWTH * 12 * 2);
        }
    }

    #[test]
    fn non_finite_huge_tiny_and_empty() {
        let mut h = ValueHistogram::new(4);
        h.observe(&[]);
        h.observe(&[f32::NAN, f32::INFINITY, f32::NEG_INFINITY, 1e38]);
        assert!(h.view().is_none());
        h.observe(&[f32::NAN, 2.0, -1.0, f32::INFINITY]);
        let (counts, edges) = values(&h);
        assert_eq!(total(&counts), 2);
        assert_eq!((edges[0], edges[4]), (-2.0, 2.0));
        // Magnitudes below TINY make an all-zero grid.
        let mut h = ValueHistogram::new(4);
        h.observe(&[1e-35, -1e-36]);
        assert_eq!(h.threshold, 0.0);
        assert_eq!(values(&h).0, [0, 1, 1, 0]);
    }

    #[test]
    fn magnitudes_start_at_the_smallest_and_keep_values_below() {
        let mut h = AbsHistogram::new(4);
        h.observe(&[-1.0, 2.0, 3.0]);
        let v = h.view().unwrap();
        assert_eq!(v.edges, [1.0, 1.5, 2.0, 2.5, 3.0]);
        assert_eq!(v.counts, [1, 0, 1, 1]);
        assert_eq!((v.min, v.max), (-1.0, 3.0));
        // 0.2 is below the first edge: ONNX Runtime drops it, we count it in bin 0. 3.9 widens the
        // grid by np.arange(3.5, 4.4, 0.5): two more bins.
        h.observe(&[0.2, -3.9]);
        let v = h.view().unwrap();
        assert_eq!(v.edges, [1.0, 1.5, 2.0, 2.5, 3.0, 3.5, 4.0]);
        assert_eq!(v.counts, [2, 0, 1, 1, 0, 1]);
        assert_eq!((v.min, v.max), (-3.9, 3.0));
    }

    #[test]
    fn magnitude_grids_for_degenerate_ranges() {
        // Equal magnitudes: numpy's [x - 0.5, x + 0.5].
        assert_eq!(magnitude_grid(2.0, 2.0, 2), [1.5, 2.0, 2.5]);
        // All zero.
        assert_eq!(magnitude_grid(0.0, 0.0, 2), [-0.5, 0.0, 0.5]);
        // Too narrow for distinct float32 edges: from zero.
        let e = magnitude_grid(1.0, 1.0 + f32::EPSILON, 64);
        assert_eq!((e[0], e[64]), (0.0, 1.0 + f32::EPSILON));
        assert!(strictly_increasing(&e));
    }

    #[test]
    fn magnitude_cap_merges_pairs_from_the_first_edge() {
        let mut h = AbsHistogram::new(4);
        h.observe(&[0.0, 1.0]);
        for k in 1..30 {
            h.observe(&[k as f32 * 10.0]);
            let v = h.view().unwrap();
            assert!(v.counts.len() <= 4 * MAX_GROWTH);
            assert_eq!(v.edges[0], 0.0);
            assert_eq!(total(v.counts), k + 2);
            assert!(*v.edges.last().unwrap() >= k as f32 * 10.0);
        }
        assert!(h.merges > 0);
    }

    #[test]
    fn large_occurrences_bin_in_one_pass_like_small_ones() {
        // One large occurrence (fused single pass, in parallel above PARALLEL_MIN) must count exactly
        // as the same values observed in small pieces (scan, then bin) on the same grid.
        let n = PARALLEL_MIN + 12345;
        let data: Vec<f32> = (0..n)
            .map(|i| ((i as f32 * 0.618_034).fract() - 0.5) * 4.0)
            .collect();
        let mut big = ValueHistogram::new(256);
        let mut small = ValueHistogram::new(256);
        big.observe(&[-2.0, 2.0]);
        small.observe(&[-2.0, 2.0]);
        big.observe(&data);
        for c in data.chunks(1000) {
            small.observe(c);
        }
        assert_eq!(values(&big), values(&small));
        // A large occurrence that widens the grid is binned again on the wider grid.
        let wider: Vec<f32> = data.iter().map(|x| x * 1.5).collect();
        big.observe(&wider);
        let mut reference = small.clone();
        reference.widen(3.0);
        let mut counts = reference.counts.clone();
        bin_sequential(&wider, false, &reference.edges, &mut counts);
        assert_eq!(values(&big).0, counts);
        let mut abs_big = AbsHistogram::new(64);
        let mut abs_small = AbsHistogram::new(64);
        abs_big.observe(&[0.0, 2.0]);
        abs_small.observe(&[0.0, 2.0]);
        abs_big.observe(&data[..FUSED_MIN * 2]);
        for c in data[..FUSED_MIN * 2].chunks(1000) {
            abs_small.observe(c);
        }
        assert_eq!(
            abs_big.view().unwrap().counts,
            abs_small.view().unwrap().counts
        );
    }
}
