//! [`Statistic`]: what one `qc.observe` folds its tensor into during calibration, and the range it
//! chooses at the end. It dispatches on the [`Method`]: MinMax keeps per-batch extremes
//! (`minmax.rs`), the other methods keep a histogram (`histogram.rs`) and choose the range from it when
//! finished (`entropy.rs`, `percentile.rs`, `distribution.rs`, `mse.rs`).
//!
//! Each `observe` call on a histogram method is one `collect()` call of ONNX Runtime's collector: a
//! tensor observed several times per batch (inside a loop) is merged occurrence by occurrence, which is
//! what ONNX Runtime would compute if each occurrence were a batch. `end_batch` only matters to MinMax
//! (per-batch extremes for the averaging modes).

use super::histogram::{AbsHistogram, ValueHistogram};
use super::minmax::MinMax;
use super::{distribution, entropy, mse, percentile};
use super::{Averaging, Method, TensorStats};

/// The largest `num_bins` accepted: histograms grow up to 16 times this, and their float32 edge
/// arithmetic stays exact well beyond.
pub const MAX_NUM_BINS: usize = 1 << 16;

/// The running calibration statistic of one tensor.
#[derive(Clone, Debug)]
pub struct Statistic {
    method: Method,
    collector: Collector,
}

#[derive(Clone, Debug)]
enum Collector {
    MinMax(MinMax),
    Values(ValueHistogram),
    Magnitudes(AbsHistogram),
}

fn check_bins(method: &str, num_bins: usize, min: usize) -> Result<(), String> {
    if num_bins < min || num_bins > MAX_NUM_BINS {
        return Err(format!(
            "{method}: num_bins must be within [{min}, {MAX_NUM_BINS}], got {num_bins}"
        ));
    }
    Ok(())
}

impl Statistic {
    /// A statistic for `method`; refuses parameters that ONNX Runtime refuses (or fails on).
    pub fn new(method: &Method) -> Result<Statistic, String> {
        let collector = match *method {
            Method::MinMax {
                symmetric,
                averaging,
            } => {
                if let Averaging::Ema(c) = averaging {
                    if !(0.0..=1.0).contains(&c) {
                        return Err(format!(
                            "minmax: the averaging constant must be within [0, 1], got {c}"
                        ));
                    }
                }
                Collector::MinMax(MinMax::new(symmetric, averaging))
            }
            Method::Entropy {
                num_bins,
                num_quantized_bins,
                ..
            } => {
                check_bins("entropy", num_bins, 1)?;
                if num_quantized_bins == 0 || num_bins / 2 < num_quantized_bins / 2 {
                    return Err(format!(
                        "entropy: num_quantized_bins must be at least 1 and num_bins / 2 >= \
                         num_quantized_bins / 2, got num_bins = {num_bins}, num_quantized_bins = \
                         {num_quantized_bins}"
                    ));
                }
                Collector::Values(ValueHistogram::new(num_bins))
            }
            Method::Percentile {
                num_bins,
                percentile,
                symmetric,
            } => {
                check_bins("percentile", num_bins, 1)?;
                if !(0.0..=100.0).contains(&percentile) {
                    return Err(format!(
                        "percentile: the percentile must be within [0, 100], got {percentile}"
                    ));
                }
                if symmetric {
                    Collector::Magnitudes(AbsHistogram::new(num_bins))
                } else {
                    Collector::Values(ValueHistogram::new(num_bins))
                }
            }
            Method::Distribution { num_bins, .. } => {
                check_bins("distribution", num_bins, 512)?;
                Collector::Values(ValueHistogram::new(num_bins))
            }
            Method::Mse {
                num_bins,
                qmin,
                qmax,
                ..
            } => {
                check_bins("mse", num_bins, 1)?;
                if qmin >= qmax {
                    return Err(format!("mse: qmin must be below qmax, got {qmin}..{qmax}"));
                }
                Collector::Values(ValueHistogram::new(num_bins))
            }
        };
        Ok(Statistic {
            method: method.clone(),
            collector,
        })
    }

    pub fn method(&self) -> &Method {
        &self.method
    }

    /// Folds one occurrence of the tensor (its values in any order) into the statistic.
    pub fn observe(&mut self, values: &[f32]) {
        match &mut self.collector {
            Collector::MinMax(m) => m.observe(values),
            Collector::Values(h) => h.observe(values),
            Collector::Magnitudes(h) => h.observe(values),
        }
    }

    /// Marks the end of the current calibration batch.
    pub fn end_batch(&mut self) {
        if let Collector::MinMax(m) = &mut self.collector {
            m.end_batch();
        }
    }

    /// The chosen range (and mean / deviation for Distribution), counting a batch still open; None
    /// if no usable value was ever observed.
    pub fn finish(&self) -> Option<TensorStats> {
        let view = match &self.collector {
            Collector::MinMax(m) => return m.finish(),
            Collector::Values(h) => h.view()?,
            Collector::Magnitudes(h) => h.view()?,
        };
        Some(match self.method {
            Method::MinMax { .. } => return None,
            Method::Entropy {
                num_quantized_bins, ..
            } => {
                let (lo, hi) = entropy::entropy_range(view, num_quantized_bins);
                TensorStats::range(lo, hi)
            }
            Method::Percentile {
                percentile,
                symmetric,
                ..
            } => {
                let (lo, hi) = percentile::percentile_range(view, percentile, symmetric);
                TensorStats::range(lo, hi)
            }
            Method::Distribution { scenario, .. } => {
                distribution::distribution_stats(view, scenario)
            }
            Method::Mse {
                symmetric,
                qmin,
                qmax,
                ..
            } => {
                let (lo, hi) = mse::mse_range(view, symmetric, qmin, qmax);
                TensorStats::range(lo, hi)
            }
        })
    }

    /// Approximate heap plus inline size, for reports.
    pub fn memory_bytes(&self) -> usize {
        std::mem::size_of::<Statistic>()
            + match &self.collector {
                Collector::MinMax(m) => m.memory_bytes(),
                Collector::Values(h) => h.memory_bytes(),
                Collector::Magnitudes(h) => h.memory_bytes(),
            }
    }

    /// The current number of histogram bins and how many times bins were merged to respect the cap
    /// (None for MinMax).
    pub fn histogram_shape(&self) -> Option<(usize, usize)> {
        match &self.collector {
            Collector::MinMax(_) => None,
            Collector::Values(h) => Some((h.view().map_or(0, |v| v.counts.len()), h.merges)),
            Collector::Magnitudes(h) => Some((h.view().map_or(0, |v| v.counts.len()), h.merges)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::calib::Scenario;

    fn all_methods() -> Vec<Method> {
        vec![
            Method::MinMax {
                symmetric: false,
                averaging: Averaging::None,
            },
            Method::MinMax {
                symmetric: true,
                averaging: Averaging::Mean,
            },
            Method::MinMax {
                symmetric: false,
                averaging: Averaging::Ema(0.01),
            },
            Method::Entropy {
                num_bins: 128,
                num_quantized_bins: 128,
                symmetric: false,
            },
            Method::Entropy {
                num_bins: 64,
                num_quantized_bins: 16,
                symmetric: false,
            },
            Method::Percentile {
                num_bins: 2048,
                percentile: 99.999,
                symmetric: true,
            },
            Method::Percentile {
                num_bins: 100,
                percentile: 99.0,
                symmetric: false,
            },
            Method::Distribution {
                num_bins: 512,
                scenario: Scenario::Same,
            },
            Method::Distribution {
                num_bins: 512,
                scenario: Scenario::P3,
            },
            Method::Mse {
                num_bins: 256,
                symmetric: true,
                qmin: -128,
                qmax: 127,
            },
            Method::Mse {
                num_bins: 256,
                symmetric: false,
                qmin: 0,
                qmax: 255,
            },
        ]
    }

    fn run(method: &Method, batches: &[&[f32]]) -> Option<TensorStats> {
        let mut s = Statistic::new(method).unwrap();
        for b in batches {
            s.observe(b);
            s.end_batch();
        }
        s.finish()
    }

    #[test]
    fn bad_parameters_are_refused_with_their_name() {
        let bad = [
            (
                Method::Percentile {
                    num_bins: 2048,
                    percentile: 100.5,
                    symmetric: true,
                },
                "percentile must be within [0, 100], got 100.5",
            ),
            (
                Method::Percentile {
                    num_bins: 2048,
                    percentile: f64::NAN,
                    symmetric: false,
                },
                "got NaN",
            ),
            (
                Method::Distribution {
                    num_bins: 511,
                    scenario: Scenario::Same,
                },
                "distribution: num_bins must be within [512, 65536], got 511",
            ),
            (
                Method::Entropy {
                    num_bins: 100,
                    num_quantized_bins: 128,
                    symmetric: false,
                },
                "num_bins = 100, num_quantized_bins = 128",
            ),
            (
                Method::Entropy {
                    num_bins: 128,
                    num_quantized_bins: 0,
                    symmetric: false,
                },
                "num_quantized_bins must be at least 1",
            ),
            (
                Method::Mse {
                    num_bins: 128,
                    symmetric: true,
                    qmin: 5,
                    qmax: 5,
                },
                "qmin must be below qmax, got 5..5",
            ),
            (
                Method::MinMax {
                    symmetric: false,
                    averaging: Averaging::Ema(1.5),
                },
                "averaging constant must be within [0, 1], got 1.5",
            ),
            (
                Method::Percentile {
                    num_bins: 0,
                    percentile: 99.0,
                    symmetric: true,
                },
                "num_bins must be within [1, 65536], got 0",
            ),
        ];
        for (method, message) in bad {
            let err = Statistic::new(&method).unwrap_err();
            assert!(err.contains(message), "{err}");
        }
    }

    #[test]
    fn nothing_usable_observed_gives_none() {
        for m in all_methods() {
            assert_eq!(run(&m, &[]), None, "{m:?}");
            assert_eq!(run(&m, &[&[], &[]]), None, "{m:?}");
            assert_eq!(run(&m, &[&[f32::NAN, f32::NAN]]), None, "{m:?}");
            let s = Statistic::new(&m).unwrap();
            assert!(s.memory_bytes() >= std::mem::size_of::<Statistic>());
        }
    }

    #[test]
    fn all_zero_tensors() {
        for m in all_methods() {
            let s = run(&m, &[&[0.0; 100], &[0.0; 7]]).unwrap();
            if let Method::Distribution { scenario, .. } = m {
                // ONNX Runtime's grid for an all-zero tensor is [-0.5, 0.5]; all mass in one bin,
                // whose centre is the mean (the deviation is rounding noise, as in ONNX Runtime).
                assert_eq!((s.lowest, s.highest), (-0.5, 0.5), "{m:?}");
                let centre = 0.5f32 / 512.0;
                let avg = match scenario {
                    Scenario::Same => centre,
                    Scenario::P3 => centre.powf((1.0f64 / 3.0) as f32),
                };
                assert_eq!(s.avg, Some(avg));
                assert!(s.std.unwrap() < 1e-5, "{s:?}");
            } else {
                assert_eq!((s.lowest, s.highest), (0.0, 0.0), "{m:?}");
            }
        }
    }

    #[test]
    fn infinities_are_ignored_by_histograms_kept_by_minmax() {
        let data: Vec<f32> = (0..1000).map(|i| (i as f32 - 500.0) / 100.0).collect();
        let mut with_inf = data.clone();
        with_inf.extend([f32::INFINITY, f32::NEG_INFINITY, f32::NAN]);
        for m in all_methods() {
            let a = run(&m, &[&data]).unwrap();
            let b = run(&m, &[&with_inf]).unwrap();
            if let Method::MinMax { .. } = m {
                // ONNX Runtime's ReduceMin/ReduceMax keep infinities (symmetric or not).
                assert_eq!((b.lowest, b.highest), (f32::NEG_INFINITY, f32::INFINITY));
            } else {
                assert_eq!(a, b, "{m:?}");
            }
        }
    }

    #[test]
    fn ranges_are_sensible_on_a_heavy_tail() {
        // Normal-ish bulk in [-1, 1] plus a few outliers at +-40.
        let mut batch: Vec<f32> = (0..20000)
            .map(|i| ((i as f32 * 0.754_877_7).fract() * 2.0 - 1.0) * ((i % 7) as f32 / 7.0))
            .collect();
        batch[17] = 40.0;
        batch[4000] = -40.0;
        for m in all_methods() {
            let s = run(&m, &[&batch, &batch[..5000]]).unwrap();
            // Percentile returns the lower edge of the bin where the cdf crosses: 100 bins over
            // [-40, 40] are 0.8 wide, so its range may end at 0.
            assert!(s.lowest < 0.0 && s.highest >= 0.0, "{m:?}: {s:?}");
            let clips = matches!(
                m,
                Method::Entropy {
                    num_quantized_bins: 16,
                    ..
                } | Method::Percentile {
                    symmetric: false,
                    ..
                } | Method::Mse { .. }
            );
            if clips {
                assert!(s.highest < 40.0, "{m:?} should clip the outlier: {s:?}");
            }
        }
    }

    #[test]
    fn memory_stays_bounded_over_many_growing_batches() {
        for m in all_methods() {
            let mut s = Statistic::new(&m).unwrap();
            let mut scale = 1e-3f32;
            for _ in 0..200 {
                let batch: Vec<f32> = (0..64).map(|i| (i as f32 - 31.5) * scale).collect();
                s.observe(&batch);
                s.end_batch();
                scale *= 1.1;
            }
            let bins = match m {
                Method::MinMax { .. } => 0,
                Method::Entropy { num_bins, .. }
                | Method::Percentile { num_bins, .. }
                | Method::Distribution { num_bins, .. }
                | Method::Mse { num_bins, .. } => num_bins,
            };
            // Bins (u64 count + f32 edge) up to the cap; MinMax Mean keeps 8 bytes per batch (the
            // vectors may have doubled their capacity).
            let limit = std::mem::size_of::<Statistic>() + bins * 16 * 12 + 2 * 200 * 8;
            assert!(
                s.memory_bytes() <= limit,
                "{m:?}: {} bytes",
                s.memory_bytes()
            );
            if let Some((n, merges)) = s.histogram_shape() {
                assert!(
                    n <= bins * 16 && merges > 0,
                    "{m:?}: {n} bins, {merges} merges"
                );
            }
            let r = s.finish().unwrap();
            assert!(r.highest > 0.0 && r.highest.is_finite(), "{m:?}: {r:?}");
        }
    }
}
