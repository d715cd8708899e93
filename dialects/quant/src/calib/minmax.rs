//! The MinMax statistic, bit for bit as ONNX Runtime's `MinMaxCalibrater` computes it in float32: each
//! batch contributes its minimum and maximum (NaN ignored, as `np.nanmin` does; infinities count, as
//! in ONNX Runtime's ReduceMin/ReduceMax), then
//! - [`Averaging::None`]: the global minimum and maximum;
//! - [`Averaging::Mean`]: `np.nanmean` of the per-batch minima and of the maxima (float32 pairwise sum,
//!   divided in float64), what `moving_average=True` gives when all batches go through one
//!   `collect_data` call. Reproducing NumPy's pairwise order needs every batch's extremes: 8 bytes per
//!   batch, the one statistic whose memory grows with the number of batches;
//! - [`Averaging::Ema`]: `m += c * (batch_m - m)` per batch, in float32 (`moving_average=True` with one
//!   `collect_data` call per batch), starting from the first batch.
//!
//! `symmetric` makes each result `(-a, a)` with `a` the larger magnitude, applied where ONNX Runtime
//! applies it: after averaging for None and Mean, to each batch before the moving average for Ema.
//!
//! A batch whose values are all NaN counts as NaN extremes: skipped by None, a zero term that is not
//! counted by Mean (as `np.nanmean`), skipped by Ema (where ONNX Runtime would propagate NaN). Empty
//! observations are ignored.

use super::numpy::pairwise_sum;
use super::{Averaging, TensorStats};

#[derive(Clone, Debug)]
pub(crate) struct MinMax {
    averaging: Averaging,
    symmetric: bool,
    /// The current batch: whether it has been observed, and its NaN-free extremes so far.
    batch_seen: bool,
    batch: Option<(f32, f32)>,
    /// Averaging::None: global extremes; Averaging::Ema: the moving averages.
    running: Option<(f32, f32)>,
    /// Averaging::Mean: per-batch extremes (0 for all-NaN batches) and how many are real.
    mins: Vec<f32>,
    maxs: Vec<f32>,
    counted: usize,
}

impl MinMax {
    pub(crate) fn new(symmetric: bool, averaging: Averaging) -> MinMax {
        MinMax {
            averaging,
            symmetric,
            batch_seen: false,
            batch: None,
            running: None,
            mins: Vec::new(),
            maxs: Vec::new(),
            counted: 0,
        }
    }

    pub(crate) fn memory_bytes(&self) -> usize {
        (self.mins.capacity() + self.maxs.capacity()) * 4
    }

    pub(crate) fn observe(&mut self, values: &[f32]) {
        if values.is_empty() {
            return;
        }
        self.batch_seen = true;
        // NaN fails both comparisons, so it never becomes an extreme; lo > hi means "only NaN".
        let (mut lo, mut hi) = self.batch.unwrap_or((f32::INFINITY, f32::NEG_INFINITY));
        for &x in values {
            lo = if x < lo { x } else { lo };
            hi = if x > hi { x } else { hi };
        }
        self.batch = (lo <= hi).then_some((lo, hi));
    }

    pub(crate) fn end_batch(&mut self) {
        if !self.batch_seen {
            return;
        }
        let batch = self.batch.take();
        self.batch_seen = false;
        match self.averaging {
            Averaging::None | Averaging::Ema(_) => self.running = self.fold(self.running, batch),
            Averaging::Mean => {
                let (lo, hi) = batch.unwrap_or((0.0, 0.0));
                self.mins.push(lo);
                self.maxs.push(hi);
                self.counted += usize::from(batch.is_some());
            }
        }
    }

    /// The running state after one more batch with extremes `batch` (None: all NaN).
    fn fold(&self, running: Option<(f32, f32)>, batch: Option<(f32, f32)>) -> Option<(f32, f32)> {
        let Some((lo, hi)) = batch else {
            return running;
        };
        Some(match (self.averaging, running) {
            (_, None) => self.shape((lo, hi), true),
            (Averaging::Ema(c), Some((m_lo, m_hi))) => {
                let (lo, hi) = self.shape((lo, hi), true);
                (m_lo + c * (lo - m_lo), m_hi + c * (hi - m_hi))
            }
            (_, Some((m_lo, m_hi))) => (
                if lo < m_lo { lo } else { m_lo },
                if hi > m_hi { hi } else { m_hi },
            ),
        })
    }

    /// Symmetric ranges for Ema are made per batch (`per_batch`), for the others at the end.
    fn shape(&self, (lo, hi): (f32, f32), per_batch: bool) -> (f32, f32) {
        let applies = matches!(self.averaging, Averaging::Ema(_)) == per_batch;
        if self.symmetric && applies {
            // np.nanmax([|lo|, |hi|])
            let (a, b) = (lo.abs(), hi.abs());
            let m = if a.is_nan() {
                b
            } else if b.is_nan() || a >= b {
                a
            } else {
                b
            };
            (-m, m)
        } else {
            (lo, hi)
        }
    }

    pub(crate) fn finish(&self) -> Option<TensorStats> {
        let pending = if self.batch_seen {
            Some(self.batch)
        } else {
            None
        };
        let (lo, hi) = match self.averaging {
            Averaging::None | Averaging::Ema(_) => match pending {
                Some(batch) => self.fold(self.running, batch)?,
                None => self.running?,
            },
            Averaging::Mean => {
                let (extra, extra_counted) = match pending {
                    Some(Some(b)) => (Some(b), 1),
                    Some(None) => (Some((0.0, 0.0)), 0),
                    None => (None, 0),
                };
                let counted = self.counted + extra_counted;
                if counted == 0 {
                    return None;
                }
                let n = self.mins.len() + usize::from(extra.is_some());
                let mean = |v: &[f32], last: f32| {
                    let sum = pairwise_sum(n, &|i| if i < v.len() { v[i] } else { last });
                    (sum as f64 / counted as f64) as f32
                };
                let (e_lo, e_hi) = extra.unwrap_or((0.0, 0.0));
                (mean(&self.mins, e_lo), mean(&self.maxs, e_hi))
            }
        };
        let (lo, hi) = self.shape((lo, hi), false);
        Some(TensorStats::range(lo, hi))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(sym: bool, avg: Averaging, batches: &[&[f32]]) -> Option<(f32, f32)> {
        let mut m = MinMax::new(sym, avg);
        for b in batches {
            m.observe(b);
            m.end_batch();
        }
        m.finish().map(|s| (s.lowest, s.highest))
    }

    #[test]
    fn global_mean_and_ema() {
        let b: [&[f32]; 3] = [&[1.0, -2.0, 3.0], &[0.5, 4.0], &[-1.0, 2.0]];
        assert_eq!(run(false, Averaging::None, &b), Some((-2.0, 4.0)));
        assert_eq!(run(true, Averaging::None, &b), Some((-4.0, 4.0)));
        let (lo, hi) = run(false, Averaging::Mean, &b).unwrap();
        assert_eq!(lo, ((-2.0f32 + 0.5 - 1.0) as f64 / 3.0) as f32);
        assert_eq!(hi, 3.0);
        // Mean then symmetric: max(|mean lo|, |mean hi|).
        assert_eq!(run(true, Averaging::Mean, &b), Some((-3.0, 3.0)));
        // EMA with c = 0.5: lo: -2 -> -2 + 0.5 * (0.5 + 2) = -0.75 -> -0.75 + 0.5 * (-1 + 0.75).
        assert_eq!(
            run(false, Averaging::Ema(0.5), &b),
            Some((-0.875, 2.75)) // hi: 3 -> 3.5 -> 2.75
        );
        // Symmetric EMA symmetrises each batch: 3, 4, 2 -> 3.5 -> 2.75.
        assert_eq!(run(true, Averaging::Ema(0.5), &b), Some((-2.75, 2.75)));
    }

    #[test]
    fn nan_inf_and_empty() {
        assert_eq!(run(false, Averaging::None, &[]), None);
        assert_eq!(run(false, Averaging::None, &[&[]]), None);
        assert_eq!(run(false, Averaging::None, &[&[f32::NAN]]), None);
        assert_eq!(run(false, Averaging::Mean, &[&[f32::NAN]]), None);
        assert_eq!(
            run(false, Averaging::None, &[&[f32::NAN, 1.0, -1.0], &[]]),
            Some((-1.0, 1.0))
        );
        assert_eq!(
            run(false, Averaging::None, &[&[f32::INFINITY, 1.0]]),
            Some((1.0, f32::INFINITY))
        );
        // An all-NaN batch is a zero term that np.nanmean does not count.
        assert_eq!(
            run(false, Averaging::Mean, &[&[2.0], &[f32::NAN], &[4.0]]),
            Some((3.0, 3.0))
        );
        assert_eq!(
            run(false, Averaging::Ema(0.5), &[&[2.0], &[f32::NAN], &[4.0]]),
            Some((3.0, 3.0))
        );
    }

    #[test]
    fn several_observations_per_batch_and_pending_batch() {
        let mut m = MinMax::new(false, Averaging::Mean);
        m.observe(&[1.0]);
        m.observe(&[3.0]);
        m.end_batch();
        m.observe(&[5.0]);
        // The open batch counts in finish().
        let s = m.finish().unwrap();
        assert_eq!((s.lowest, s.highest), (3.0, 4.0));
        m.end_batch();
        let s = m.finish().unwrap();
        assert_eq!((s.lowest, s.highest), (3.0, 4.0));
        // end_batch without observations is not a batch.
        m.end_batch();
        assert_eq!(m.finish().unwrap().lowest, 3.0);
    }
}
