//! Kernels: what runs one op. A kernel is built once per op when the plan is made (attributes parsed,
//! constant weights prepacked) and then run many times.
//!
//! Each op family lives in its own module with a `register` function that adds its builders to the
//! [`Registry`]; [`registry`] holds them all. Every optimised kernel keeps a plain reference version
//! next to it that its tests compare against.

use std::sync::OnceLock;

use onnxqc_ir::{Attribute, Body, OpData, OpId, RegionId, Type};
use rustc_hash::FxHashMap;

use crate::error::{Result, RuntimeError};
use crate::plan::{Plan, RunCtx};
use crate::tensor::Tensor;

pub mod activation;
pub mod control;
pub mod conv;
pub mod elementwise;
pub mod gemm;
pub mod matmul;
pub mod misc;
pub mod movement;
pub mod norm;
pub mod pool;
pub mod quant;
pub mod reduce;
pub mod resize;
pub mod rnn;

/// One op's compiled computation.
pub trait Kernel: Send + Sync {
    /// Runs the op. `inputs` holds the op's operands in order (`None` for an absent optional input),
    /// followed, for ops with sub-graphs, by the outer values those sub-graphs read (see
    /// [`BuildCtx::compile_region`]). Returns one tensor per op result.
    fn run(&self, ctx: &mut RunCtx, inputs: &[Option<&Tensor>]) -> Result<Vec<Tensor>>;
}

/// Builds the kernel for one op.
pub type BuildFn = fn(&BuildCtx) -> Result<Box<dyn Kernel>>;

/// Op kind (`onnx.Conv`) → kernel builder.
#[derive(Default)]
pub struct Registry {
    builders: FxHashMap<&'static str, BuildFn>,
}

impl Registry {
    pub fn add(&mut self, kind: &'static str, build: BuildFn) {
        self.builders.insert(kind, build);
    }

    pub fn get(&self, kind: &str) -> Option<BuildFn> {
        self.builders.get(kind).copied()
    }

    /// Every op kind with a kernel, sorted.
    pub fn kinds(&self) -> Vec<&'static str> {
        let mut k: Vec<_> = self.builders.keys().copied().collect();
        k.sort_unstable();
        k
    }
}

/// The registry of every kernel the runtime has.
pub fn registry() -> &'static Registry {
    static REG: OnceLock<Registry> = OnceLock::new();
    REG.get_or_init(|| {
        let mut r = Registry::default();
        activation::register(&mut r);
        control::register(&mut r);
        conv::register(&mut r);
        elementwise::register(&mut r);
        matmul::register(&mut r);
        misc::register(&mut r);
        movement::register(&mut r);
        norm::register(&mut r);
        pool::register(&mut r);
        quant::register(&mut r);
        reduce::register(&mut r);
        resize::register(&mut r);
        rnn::register(&mut r);
        r
    })
}

/// Compiles the sub-graphs of control-flow ops; implemented by the planner.
pub(crate) trait RegionCompiler {
    fn compile(&self, region: RegionId, captures: &[onnxqc_ir::ValueId]) -> Result<Plan>;
}

/// What a kernel builder sees: the op, its attributes and operands, the model's opset, and a way to
/// compile the op's sub-graphs.
pub struct BuildCtx<'a> {
    pub body: &'a Body,
    pub op: OpId,
    /// The model's default-domain (`ai.onnx`) opset version.
    pub opset: i64,
    /// The outer values the op's sub-graphs read; they follow the operands in [`Kernel::run`]'s inputs.
    pub captures: &'a [onnxqc_ir::ValueId],
    pub(crate) regions: &'a dyn RegionCompiler,
}

impl BuildCtx<'_> {
    pub fn data(&self) -> &OpData {
        self.body.op(self.op)
    }

    pub fn kind(&self) -> &str {
        &self.data().kind
    }

    /// The node name, or "" when it has none.
    pub fn name(&self) -> &str {
        self.data().name.as_deref().unwrap_or("")
    }

    fn attr_err(&self, name: &str, want: &str, got: &Attribute) -> RuntimeError {
        RuntimeError::new(format!(
            "attribute '{name}' must be {want}, got {}",
            got.kind_name()
        ))
    }

    pub fn attr(&self, name: &str) -> Option<&Attribute> {
        self.data().attr(name)
    }

    pub fn attr_int_opt(&self, name: &str) -> Result<Option<i64>> {
        match self.attr(name) {
            None => Ok(None),
            Some(Attribute::Int(v)) => Ok(Some(*v)),
            Some(a) => Err(self.attr_err(name, "an int", a)),
        }
    }

    pub fn attr_int(&self, name: &str, default: i64) -> Result<i64> {
        Ok(self.attr_int_opt(name)?.unwrap_or(default))
    }

    pub fn attr_float(&self, name: &str, default: f32) -> Result<f32> {
        match self.attr(name) {
            None => Ok(default),
            Some(Attribute::Float(v)) => Ok(*v),
            Some(Attribute::Int(v)) => Ok(*v as f32),
            Some(a) => Err(self.attr_err(name, "a float", a)),
        }
    }

    pub fn attr_ints(&self, name: &str) -> Result<Option<Vec<i64>>> {
        match self.attr(name) {
            None => Ok(None),
            Some(Attribute::Ints(v)) => Ok(Some(v.clone())),
            // The text form reads an empty list back as ints; an empty float list is also "no values".
            Some(Attribute::Floats(v)) if v.is_empty() => Ok(Some(vec![])),
            Some(a) => Err(self.attr_err(name, "a list of ints", a)),
        }
    }

    pub fn attr_floats(&self, name: &str) -> Result<Option<Vec<f32>>> {
        match self.attr(name) {
            None => Ok(None),
            Some(Attribute::Floats(v)) => Ok(Some(v.clone())),
            Some(Attribute::Ints(v)) if v.is_empty() => Ok(Some(vec![])),
            Some(a) => Err(self.attr_err(name, "a list of floats", a)),
        }
    }

    pub fn attr_str(&self, name: &str, default: &str) -> Result<String> {
        match self.attr(name) {
            None => Ok(default.to_string()),
            Some(Attribute::String(v)) => Ok(v.clone()),
            Some(a) => Err(self.attr_err(name, "a string", a)),
        }
    }

    pub fn attr_strings(&self, name: &str) -> Result<Option<Vec<String>>> {
        match self.attr(name) {
            None => Ok(None),
            Some(Attribute::Strings(v)) => Ok(Some(v.clone())),
            Some(Attribute::Ints(v)) if v.is_empty() => Ok(Some(vec![])),
            Some(a) => Err(self.attr_err(name, "a list of strings", a)),
        }
    }

    pub fn attr_tensor(&self, name: &str) -> Result<Option<Tensor>> {
        match self.attr(name) {
            None => Ok(None),
            Some(Attribute::Tensor(t)) => Ok(Some(
                Tensor::from_tensor_data(t)
                    .map_err(|e| e.context(format!("attribute '{name}'")))?,
            )),
            Some(a) => Err(self.attr_err(name, "a tensor", a)),
        }
    }

    /// Index of the op region that graph attribute `name` refers to.
    pub fn attr_graph(&self, name: &str) -> Result<RegionId> {
        match self.attr(name) {
            Some(Attribute::Graph(i)) => self
                .data()
                .regions()
                .get(*i as usize)
                .copied()
                .ok_or_else(|| {
                    RuntimeError::new(format!("graph attribute '{name}' has no region"))
                }),
            Some(a) => Err(self.attr_err(name, "a graph", a)),
            None => Err(RuntimeError::new(format!(
                "missing graph attribute '{name}'"
            ))),
        }
    }

    /// Number of operands (absent optional ones included).
    pub fn num_inputs(&self) -> usize {
        self.data().operands().len()
    }

    pub fn num_outputs(&self) -> usize {
        self.data().results().len()
    }

    /// Whether operand `i` exists and is not an absent optional input.
    pub fn has_input(&self, i: usize) -> bool {
        self.data()
            .operands()
            .get(i)
            .is_some_and(|&v| !matches!(self.body.value_type(v), Type::None))
    }

    /// Operand `i`'s value when it is a constant of the graph (an initializer or `Constant` node), so
    /// kernels can prepare weights once at plan time.
    pub fn const_input(&self, i: usize) -> Option<Tensor> {
        let v = *self.data().operands().get(i)?;
        let def = self.body.defining_op(v)?;
        let d = self.body.op(def);
        if &*d.kind != "onnx.Constant" {
            return None;
        }
        crate::plan::constant_value(d).ok()
    }

    /// The declared type of operand `i`.
    pub fn input_type(&self, i: usize) -> Option<&Type> {
        self.data()
            .operands()
            .get(i)
            .map(|&v| self.body.value_type(v))
    }

    /// Compiles one of the op's sub-graphs into a plan whose inputs are the region's block arguments
    /// followed by [`BuildCtx::captures`].
    pub fn compile_region(&self, region: RegionId) -> Result<Plan> {
        self.regions.compile(region, self.captures)
    }

    /// Compiles the region behind graph attribute `name`.
    pub fn compile_graph_attr(&self, name: &str) -> Result<Plan> {
        let r = self.attr_graph(name)?;
        self.compile_region(r)
            .map_err(|e| e.context(format!("sub-graph '{name}'")))
    }
}

/// Fetches required input `i`, with an error naming it when absent.
pub fn input<'t>(inputs: &[Option<&'t Tensor>], i: usize) -> Result<&'t Tensor> {
    inputs
        .get(i)
        .copied()
        .flatten()
        .ok_or_else(|| RuntimeError::new(format!("missing required input {i}")))
}

/// Fetches optional input `i`.
pub fn opt_input<'t>(inputs: &[Option<&'t Tensor>], i: usize) -> Option<&'t Tensor> {
    inputs.get(i).copied().flatten()
}

/// A kernel from a closure, for simple ops.
pub struct FnKernel<F>(pub F);

impl<F> Kernel for FnKernel<F>
where
    F: Fn(&mut RunCtx, &[Option<&Tensor>]) -> Result<Vec<Tensor>> + Send + Sync,
{
    fn run(&self, ctx: &mut RunCtx, inputs: &[Option<&Tensor>]) -> Result<Vec<Tensor>> {
        (self.0)(ctx, inputs)
    }
}

/// Boxes a closure as a kernel.
pub fn kernel<F>(f: F) -> Box<dyn Kernel>
where
    F: Fn(&mut RunCtx, &[Option<&Tensor>]) -> Result<Vec<Tensor>> + Send + Sync + 'static,
{
    Box::new(FnKernel(f))
}
