//! onnxqc's passes, the pass registry and the pass manager.
//!
//! Start at [`registry`] (what a pass declares: name, summary, options, requirements) and [`manager`]
//! (pipeline strings `a,b{opt=v},c`, running them with verification, IR printing and timing). Each pass is
//! one module here with one CLI name and one folder under `lit-tests/`: [`dce`], [`cse`], [`shape_infer`], [`fold`], [`fuse`], [`calibrate`]. Passes never
//! depend on the runtime: the pass that must execute the model (`calibrate`) receives a
//! [`CalibrationRunner`] through [`PassContext`].

pub mod calibrate;
pub mod cse;
pub mod dce;
pub mod dynamic;
pub mod fold;
pub mod fuse;
pub mod manager;
pub mod options;
pub mod qdq;
pub mod quantize;
pub mod registry;
pub mod shape_infer;

use onnxqc_ir::{Diagnostic, Module, OpData, OpRegistry, TensorData};

pub use manager::{parse_pipeline, Pipeline, PipelineEntry, PipelineError, RunConfig, RunReport};
pub use options::{OptKind, OptValue, OptionSpec, PassOptions};
pub use registry::{PassInfo, PassRegistry, Preset};

/// What passes may use besides the module.
pub struct PassContext<'a> {
    /// Op facts (counts, effects) from the dialects.
    pub ops: &'a OpRegistry,
    /// Evaluates single ops on constants (the runtime's kernels, supplied by the driver). `None` when the
    /// passes run without a runtime; passes then fold only what they can compute themselves.
    pub eval: Option<&'a dyn ConstEvaluator>,
    /// Runs the model over the calibration data (the runtime and the dataset, supplied by the driver).
    /// `None` when no data was given; `calibrate` then needs a table.
    pub calib: Option<&'a dyn CalibrationRunner>,
}

impl<'a> PassContext<'a> {
    /// A context without an evaluator.
    pub fn new(ops: &'a OpRegistry) -> PassContext<'a> {
        PassContext {
            ops,
            eval: None,
            calib: None,
        }
    }
}

/// Computes the results of one op whose inputs are all constants. Implemented outside this crate (the
/// driver wraps the runtime), so that passes never depend on the runtime.
pub trait ConstEvaluator {
    /// `op` gives the kind, attributes and node name; `inputs[i]` is operand `i` (`None` for an absent
    /// optional operand); `opset` is the module's default-domain opset. Returns one tensor per result, or
    /// a message saying why the op cannot be evaluated (unsupported op, bad input), which callers treat
    /// as "do not fold".
    fn eval(
        &self,
        op: &OpData,
        inputs: &[Option<&TensorData>],
        opset: i64,
    ) -> Result<Vec<TensorData>, String>;
}

/// Executes a module carrying `qc.observe` ops over the calibration data. Implemented outside this crate
/// (the driver wraps the runtime and the dataset), so that passes never depend on the runtime.
pub trait CalibrationRunner {
    /// Runs `module` once per calibration batch. Every executed `qc.observe` op hands its `tensor`
    /// attribute and the observed values (converted to f32) to [`ObservationSink::observe`]; after each
    /// batch, [`ObservationSink::end_batch`]. Returns what was run, or a message naming the failure (a
    /// sample that does not fit the model, a kernel error).
    fn run(
        &self,
        module: &Module,
        sink: &mut dyn ObservationSink,
    ) -> Result<CalibrationRunInfo, String>;
}

/// Receives observed tensors during a calibration run.
/// `Send` because the runtime calls observers from inside its thread pool.
pub trait ObservationSink: Send {
    fn observe(&mut self, tensor: &str, values: &[f32]);
    fn end_batch(&mut self);
}

/// What a calibration run did, for the pass's report.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CalibrationRunInfo {
    pub samples: usize,
    pub batches: usize,
}

/// What a pass run did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PassOutcome {
    pub changed: bool,
    /// Named counters (e.g. `ops-removed`), shown with `--time-passes`.
    pub stats: Vec<(&'static str, u64)>,
    /// Things the user should know (what was skipped and why), printed by the driver.
    pub notes: Vec<String>,
}

/// A pass that could not do its job (bad input it cannot handle, a missing requirement).
#[derive(Debug)]
pub struct PassError {
    pub pass: &'static str,
    pub diagnostics: Vec<Diagnostic>,
}

impl PassError {
    pub fn new(pass: &'static str, message: impl Into<String>) -> PassError {
        PassError {
            pass,
            diagnostics: vec![Diagnostic::error(message)],
        }
    }
}

/// A transformation of a module. Created from its options by the registry, run once per module.
pub trait Pass {
    fn name(&self) -> &'static str;
    fn run(&mut self, module: &mut Module, cx: &PassContext) -> Result<PassOutcome, PassError>;
}

/// The op registry of every dialect this build knows.
pub fn default_op_registry() -> OpRegistry {
    let mut reg = OpRegistry::new();
    onnxqc_onnx::register(&mut reg);
    onnxqc_quant::register(&mut reg);
    reg
}
