//! Calibration statistics: what an observer folds each observed tensor into, and how a range is chosen
//! from it at the end (MinMax, Entropy, Percentile, Distribution, MSE). Definitions and defaults follow
//! ONNX Runtime's calibrators (`onnxruntime/quantization/calibrate.py`) so that results are comparable;
//! unlike them, every statistic is streaming: it sees one tensor at a time and keeps O(bins) memory.
//!
//! Histograms follow ONNX Runtime's `HistogramCollector` as if its `collect()` were called once per
//! observation: the first observation fixes the bins, later ones widen them by whole bins (its
//! `merge_histogram` rule for value histograms, its `np.arange` rule for absolute-value histograms), with
//! numpy's `np.histogram` bin assignment in float32, so that onnxqc's results equal ONNX Runtime's when it
//! is fed one batch per `collect_data` call, and equal its one-shot results when one batch holds every
//! sample. One deliberate difference: a histogram that would grow past [`MAX_BINS_FACTOR`] × `num_bins`
//! bins merges adjacent bins instead, so memory stays O(bins) whatever the data does.

mod histogram;
mod threshold;

pub use histogram::{AbsHistogram, ValueHistogram};

/// The result of calibrating one tensor: the range the lowering quantizes to, plus the mean and standard
/// deviation that the float8 (`distribution`) method computes.
#[derive(Clone, Debug, PartialEq)]
pub struct TensorStats {
    pub lowest: f32,
    pub highest: f32,
    pub avg: Option<f32>,
    pub std: Option<f32>,
}

impl TensorStats {
    pub fn range(lowest: f32, highest: f32) -> TensorStats {
        TensorStats {
            lowest,
            highest,
            avg: None,
            std: None,
        }
    }
}

/// How per-batch extremes are combined by [`Method::MinMax`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Averaging {
    /// The global minimum and maximum.
    None,
    /// The mean of the per-batch minima and maxima: what ONNX Runtime's `moving_average=True` computes
    /// when all data goes through one `collect_data` call.
    Mean,
    /// Exponential moving average with this constant: `m += c * (batch_m - m)`.
    Ema(f32),
}

/// The scenario of [`Method::Distribution`] (ONNX Runtime's `scenario`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scenario {
    /// Weights and float8 follow the same distribution.
    Same,
    /// float8 ~ X^3 with X Gaussian.
    P3,
}

/// A calibration method with its parameters (defaults as ONNX Runtime's `create_calibrator`).
#[derive(Clone, Debug, PartialEq)]
pub enum Method {
    MinMax {
        symmetric: bool,
        averaging: Averaging,
    },
    Entropy {
        num_bins: usize,
        num_quantized_bins: usize,
        symmetric: bool,
    },
    Percentile {
        num_bins: usize,
        /// In percent, e.g. 99.999.
        percentile: f64,
        symmetric: bool,
    },
    Distribution {
        num_bins: usize,
        scenario: Scenario,
    },
    /// Minimise the quantization mean squared error over candidate ranges, for a target integer range.
    Mse {
        num_bins: usize,
        symmetric: bool,
        /// The integer range the tensor will be quantized to, e.g. (-128, 127) or (0, 255).
        qmin: i64,
        qmax: i64,
    },
}

/// A histogram never grows past this many times its initial bin count; beyond, adjacent bins merge.
pub const MAX_BINS_FACTOR: usize = 64;

/// The running statistic of one observed tensor.
#[derive(Clone, Debug)]
pub struct Statistic {
    method: Method,
    state: State,
}

#[derive(Clone, Debug)]
enum State {
    MinMax(MinMax),
    Values(Option<ValueHistogram>),
    Abs(Option<AbsHistogram>),
}

/// Min/max over batches: the running extremes of the current batch, folded at [`Statistic::end_batch`].
#[derive(Clone, Debug, Default)]
struct MinMax {
    batch: Option<(f32, f32)>,
    folded: Option<(f32, f32)>,
    batches: u64,
    /// Sums of per-batch extremes for [`Averaging::Mean`] (f64: the mean of many f32 values).
    sum: (f64, f64),
}

/// NaN-ignoring minimum and maximum of a slice (`np.nanmin`/`np.nanmax`); `None` when empty or all NaN.
pub fn nan_min_max(values: &[f32]) -> Option<(f32, f32)> {
    let mut lo = f32::INFINITY;
    let mut hi = f32::NEG_INFINITY;
    let mut any = false;
    for &v in values {
        if v.is_nan() {
            continue;
        }
        any = true;
        lo = lo.min(v);
        hi = hi.max(v);
    }
    any.then_some((lo, hi))
}

impl Statistic {
    /// A fresh statistic; the message names a bad parameter.
    pub fn new(method: &Method) -> Result<Statistic, String> {
        let state = match method {
            Method::MinMax { averaging, .. } => {
                if let Averaging::Ema(c) = averaging {
                    if !(0.0..=1.0).contains(c) {
                        return Err(format!("averaging constant must be in [0, 1], got {c}"));
                    }
                }
                State::MinMax(MinMax::default())
            }
            Method::Entropy {
                num_bins,
                num_quantized_bins,
                ..
            } => {
                if *num_bins < 2 || *num_quantized_bins < 2 {
                    return Err("entropy needs num-bins and num-quantized-bins >= 2".into());
                }
                if num_quantized_bins / 2 > num_bins / 2 {
                    return Err(format!(
                        "entropy needs num-quantized-bins ({num_quantized_bins}) <= num-bins ({num_bins})"
                    ));
                }
                State::Values(None)
            }
            Method::Percentile {
                num_bins,
                percentile,
                symmetric,
            } => {
                if !(0.0..=100.0).contains(percentile) {
                    return Err(format!("percentile must be in [0, 100], got {percentile}"));
                }
                if *num_bins < 1 {
                    return Err("percentile needs num-bins >= 1".into());
                }
                if *symmetric {
                    State::Abs(None)
                } else {
                    State::Values(None)
                }
            }
            Method::Distribution { num_bins, .. } => {
                // ONNX Runtime's own lower limit for this method.
                if *num_bins < 512 {
                    return Err(format!(
                        "distribution needs num-bins >= 512, got {num_bins}"
                    ));
                }
                State::Values(None)
            }
            Method::Mse {
                num_bins,
                qmin,
                qmax,
                ..
            } => {
                if *num_bins < 2 || qmin >= qmax {
                    return Err("mse needs num-bins >= 2 and a non-empty integer range".into());
                }
                State::Values(None)
            }
        };
        Ok(Statistic {
            method: method.clone(),
            state,
        })
    }

    fn num_bins(&self) -> usize {
        match &self.method {
            Method::MinMax { .. } => 0,
            Method::Entropy { num_bins, .. }
            | Method::Percentile { num_bins, .. }
            | Method::Distribution { num_bins, .. }
            | Method::Mse { num_bins, .. } => *num_bins,
        }
    }

    /// Folds one occurrence of the tensor in.
    pub fn observe(&mut self, values: &[f32]) {
        let num_bins = self.num_bins();
        match &mut self.state {
            State::MinMax(m) => {
                if let Some((lo, hi)) = nan_min_max(values) {
                    m.batch = Some(match m.batch {
                        Some((a, b)) => (a.min(lo), b.max(hi)),
                        None => (lo, hi),
                    });
                }
            }
            State::Values(h) => match h {
                Some(h) => h.add(values),
                None => *h = Some(ValueHistogram::new(values, num_bins)),
            },
            State::Abs(h) => match h {
                Some(h) => h.add(values),
                None => *h = Some(AbsHistogram::new(values, num_bins)),
            },
        }
    }

    /// The current calibration batch is over (only MinMax's averaging cares).
    pub fn end_batch(&mut self) {
        let (State::MinMax(m), Method::MinMax { averaging, .. }) = (&mut self.state, &self.method)
        else {
            return;
        };
        let Some((lo, hi)) = m.batch.take() else {
            return;
        };
        m.batches += 1;
        m.sum.0 += lo as f64;
        m.sum.1 += hi as f64;
        m.folded = Some(match (m.folded, averaging) {
            (None, _) => (lo, hi),
            (Some((a, b)), Averaging::None) => (a.min(lo), b.max(hi)),
            (Some(_), Averaging::Mean) => (
                (m.sum.0 / m.batches as f64) as f32,
                (m.sum.1 / m.batches as f64) as f32,
            ),
            (Some((a, b)), Averaging::Ema(c)) => (a + c * (lo - a), b + c * (hi - b)),
        });
    }

    /// The chosen range; `None` if nothing was ever observed.
    pub fn finish(&self) -> Option<TensorStats> {
        match (&self.state, &self.method) {
            (State::MinMax(m), Method::MinMax { symmetric, .. }) => {
                // A batch still open (observe without end_batch) counts as the last batch.
                let mut m = m.clone();
                let mut tmp = Statistic {
                    method: self.method.clone(),
                    state: State::MinMax(MinMax::default()),
                };
                if m.batch.is_some() {
                    tmp.state = State::MinMax(m.clone());
                    tmp.end_batch();
                    if let State::MinMax(done) = tmp.state {
                        m = done;
                    }
                }
                let (lo, hi) = m.folded?;
                Some(if *symmetric {
                    let a = lo.abs().max(hi.abs());
                    TensorStats::range(-a, a)
                } else {
                    TensorStats::range(lo, hi)
                })
            }
            (State::Values(h), _) => {
                let h = h.as_ref()?;
                Some(match &self.method {
                    Method::Entropy {
                        num_quantized_bins, ..
                    } => threshold::entropy(h, *num_quantized_bins),
                    Method::Percentile { percentile, .. } => {
                        threshold::percentile_values(h, *percentile)
                    }
                    Method::Distribution { scenario, .. } => threshold::distribution(h, *scenario),
                    Method::Mse {
                        symmetric,
                        qmin,
                        qmax,
                        ..
                    } => threshold::mse(h, *symmetric, *qmin, *qmax),
                    Method::MinMax { .. } => return None,
                })
            }
            (State::Abs(h), Method::Percentile { percentile, .. }) => {
                Some(threshold::percentile_abs(h.as_ref()?, *percentile))
            }
            _ => None,
        }
    }

    /// Approximate heap use, for reports.
    pub fn memory_bytes(&self) -> usize {
        match &self.state {
            State::MinMax(_) => 0,
            State::Values(h) => h.as_ref().map_or(0, |h| h.memory_bytes()),
            State::Abs(h) => h.as_ref().map_or(0, |h| h.memory_bytes()),
        }
    }
}
