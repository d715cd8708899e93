//! Calibration statistics: what an observer folds each observed tensor into, and how a range is chosen
//! from it at the end (MinMax, Entropy, Percentile, Distribution, MSE). Definitions and defaults follow
//! ONNX Runtime's calibrators (`onnxruntime/quantization/calibrate.py`) so that results are comparable;
//! unlike them, every statistic is streaming: it sees one tensor at a time and keeps O(bins) memory.
//!
//! Start at [`Statistic`]. MinMax, entropy, percentile and distribution reproduce ONNX Runtime's float32
//! arithmetic (NumPy's rounding included) for histograms built with one `collect()` call per batch; the
//! deliberate differences (values outside a histogram's grid are kept in its end bins, a cap on the bin
//! count, non-finite values ignored) are listed in `histogram.rs` and in each method's module. MSE is our
//! own method (`mse.rs`).

mod distribution;
mod entropy;
mod histogram;
mod minmax;
mod mse;
mod numpy;
mod percentile;
mod statistic;

pub use statistic::{Statistic, MAX_NUM_BINS};

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
        /// Does not change the chosen range (ONNX Runtime's collector ignores it for entropy); kept for
        /// the lowering, which makes the quantization symmetric.
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
