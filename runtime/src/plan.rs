//! The execution plan: a block of IR compiled into steps (one kernel per op, built once), value slots
//! with lifetimes, and the loop that runs it.
//!
//! Planning walks the block in order (the IR keeps blocks topologically sorted; a use before its
//! definition is an error), turns `onnx.Constant` ops into preloaded slots, gives every other op a
//! kernel from the [`registry`](crate::kernels::registry), and records after which step each value is
//! dead so its buffer is released (and, for f32, recycled through the [`RunCtx`] pool) as early as
//! possible. Shapes are not fixed at plan time: kernels compute them on every run, so one plan serves
//! every input size the model allows.
//!
//! Ops with sub-graphs (`If`, `Loop`, `Scan`) get their regions compiled into nested plans whose inputs
//! are the region's block arguments followed by the outer values the region reads ("captures"); the
//! op's step receives those captures after its own operands.

use std::sync::Arc;

use onnxqc_ir::{
    Attribute, BlockId, Body, Function, OpData, OpId, RegionId, Type, ValueId, FUNC_RETURN,
};
use onnxqc_onnx::attrs::{DEFAULT_DOMAIN_KEY, FUNCTION_DOMAIN, OPSET_IMPORT};
use onnxqc_onnx::op_kind;
use rustc_hash::{FxHashMap, FxHashSet};
use smallvec::SmallVec;

use crate::error::{Result, RuntimeError};
use crate::kernels::{registry, BuildCtx, Kernel, RegionCompiler};
use crate::tensor::{Data, Tensor};

/// Sees named values as they are computed (see [`crate::Session::observe`]).
pub trait Observer: Send {
    fn observe(&mut self, name: &str, value: &Tensor);
}

impl<F: FnMut(&str, &Tensor) + Send> Observer for F {
    fn observe(&mut self, name: &str, value: &Tensor) {
        self(name, value)
    }
}

/// Per-run state shared by every kernel: the buffer pool and the observer.
pub struct RunCtx<'o> {
    pool: Vec<Vec<f32>>,
    observer: Option<&'o mut dyn Observer>,
}

/// How many released f32 buffers the pool keeps for reuse.
const POOL_CAPACITY: usize = 32;

impl<'o> RunCtx<'o> {
    pub fn new(observer: Option<&'o mut dyn Observer>) -> RunCtx<'o> {
        RunCtx {
            pool: Vec::new(),
            observer,
        }
    }

    /// A zero-filled f32 vector of `len` elements, reusing a released buffer when one is big enough
    /// (the smallest that fits, so large buffers stay available for large tensors).
    pub fn alloc_f32(&mut self, len: usize) -> Vec<f32> {
        let best = self
            .pool
            .iter()
            .enumerate()
            .filter(|(_, v)| v.capacity() >= len)
            .min_by_key(|(_, v)| v.capacity())
            .map(|(i, _)| i);
        match best {
            // Reuse only when it does not waste more than half the buffer.
            Some(i) if self.pool[i].capacity() / 2 <= len.max(1) => {
                let mut v = self.pool.swap_remove(i);
                v.clear();
                v.resize(len, 0.0);
                v
            }
            _ => vec![0.0; len],
        }
    }

    /// Hands `value` to the run's observer, if any, under `key` (the `qc.observe` kernel).
    pub fn observe(&mut self, key: &str, value: &Tensor) {
        if let Some(obs) = self.observer.as_deref_mut() {
            obs.observe(key, value);
        }
    }

    /// Gives a dead tensor's buffer back to the pool when nothing else shares it.
    fn release(&mut self, t: Tensor) {
        if let Some(Data::F32(v)) = t.try_into_data() {
            if v.capacity() >= 1024 {
                if self.pool.len() == POOL_CAPACITY {
                    // Drop the smallest: big buffers are the expensive ones to re-fault.
                    if let Some((i, _)) = self
                        .pool
                        .iter()
                        .enumerate()
                        .min_by_key(|(_, b)| b.capacity())
                    {
                        self.pool.swap_remove(i);
                    }
                }
                self.pool.push(v);
            }
        }
    }
}

/// One op's step: its kernel and where its inputs and outputs live.
struct Step {
    kernel: Box<dyn Kernel>,
    /// Operand slots then capture slots; `None` for an absent optional input.
    inputs: SmallVec<[Option<usize>; 4]>,
    outputs: SmallVec<[usize; 1]>,
    /// Slots to release after this step.
    frees: Vec<usize>,
    /// For error messages: "node 'conv1' (onnx.Conv)".
    what: String,
}

/// A compiled block.
pub struct Plan {
    steps: Vec<Step>,
    num_slots: usize,
    /// Slots the plan's inputs go to (block arguments, then captures).
    input_slots: Vec<usize>,
    /// Slots released right after the inputs are stored (inputs nothing reads).
    unused_inputs: Vec<usize>,
    /// Output slots; `None` for an absent value.
    output_slots: Vec<Option<usize>>,
    constants: Vec<(usize, Tensor)>,
    /// The value name of each slot, when it has one.
    slot_names: Vec<Option<Arc<str>>>,
    /// Slots whose values go to the observer.
    observed: Vec<bool>,
}

impl std::fmt::Debug for Plan {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Plan")
            .field("steps", &self.steps.len())
            .field("slots", &self.num_slots)
            .finish()
    }
}

impl Plan {
    /// Compiles `block` of `body`. `captures` are extra inputs after the block arguments (outer values
    /// a sub-graph reads).
    pub(crate) fn compile(
        body: &Body,
        block: BlockId,
        captures: &[ValueId],
        opset: i64,
        functions: &[Function],
    ) -> Result<Plan> {
        Planner {
            body,
            opset,
            functions,
            depth: 0,
        }
        .compile_block(block, captures)
    }

    /// Number of inputs the plan takes.
    pub fn num_inputs(&self) -> usize {
        self.input_slots.len()
    }

    pub fn num_outputs(&self) -> usize {
        self.output_slots.len()
    }

    /// Number of op steps (constants excluded).
    pub fn num_steps(&self) -> usize {
        self.steps.len()
    }

    /// The slot of a named value, for observation.
    pub(crate) fn slot_of_name(&self, name: &str) -> Option<usize> {
        self.slot_names
            .iter()
            .position(|n| n.as_deref() == Some(name))
    }

    pub(crate) fn named_slots(&self) -> impl Iterator<Item = (usize, &str)> {
        self.slot_names
            .iter()
            .enumerate()
            .filter_map(|(i, n)| n.as_deref().map(|n| (i, n)))
    }

    pub(crate) fn is_constant_slot(&self, slot: usize) -> bool {
        self.constants.iter().any(|(s, _)| *s == slot)
    }

    pub(crate) fn set_observed(&mut self, slot: usize, on: bool) {
        self.observed[slot] = on;
    }

    /// Runs the plan on `inputs` (one per [`Plan::num_inputs`], `None` for an absent value).
    pub fn run(&self, ctx: &mut RunCtx, inputs: Vec<Option<Tensor>>) -> Result<Vec<Tensor>> {
        if inputs.len() != self.input_slots.len() {
            return Err(RuntimeError::new(format!(
                "the plan takes {} inputs, got {}",
                self.input_slots.len(),
                inputs.len()
            )));
        }
        let mut slots: Vec<Option<Tensor>> = vec![None; self.num_slots];
        for (slot, t) in &self.constants {
            slots[*slot] = Some(t.clone());
        }
        for (&slot, t) in self.input_slots.iter().zip(inputs) {
            if let (Some(t), true) = (&t, self.observed[slot]) {
                if let Some(obs) = ctx.observer.as_deref_mut() {
                    obs.observe(self.slot_names[slot].as_deref().unwrap_or(""), t);
                }
            }
            slots[slot] = t;
        }
        for &slot in &self.unused_inputs {
            slots[slot] = None;
        }
        for step in &self.steps {
            let outs = {
                let ins: SmallVec<[Option<&Tensor>; 8]> = step
                    .inputs
                    .iter()
                    .map(|s| s.and_then(|s| slots[s].as_ref()))
                    .collect();
                step.kernel
                    .run(ctx, &ins)
                    .map_err(|e| e.context(step.what.clone()))?
            };
            if outs.len() < step.outputs.len() {
                // Kernels may leave trailing optional outputs out; a later read of one is an error.
                for &slot in &step.outputs[outs.len()..] {
                    slots[slot] = None;
                }
            }
            for (&slot, t) in step.outputs.iter().zip(outs) {
                if self.observed[slot] {
                    if let Some(obs) = ctx.observer.as_deref_mut() {
                        obs.observe(self.slot_names[slot].as_deref().unwrap_or(""), &t);
                    }
                }
                slots[slot] = Some(t);
            }
            for &slot in &step.frees {
                if let Some(t) = slots[slot].take() {
                    ctx.release(t);
                }
            }
        }
        self.output_slots
            .iter()
            .enumerate()
            .map(|(i, s)| {
                s.and_then(|s| slots[s].clone()).ok_or_else(|| {
                    RuntimeError::new(format!("output {i} was not produced by any op"))
                })
            })
            .collect()
    }
}

/// The tensor an `onnx.Constant` op holds (initializer or `Constant` node in any of its forms).
pub fn constant_value(op: &OpData) -> Result<Tensor> {
    for (name, value) in &op.attrs {
        let t = match (&**name, value) {
            ("value" | "sparse_value", Attribute::Tensor(t)) => Tensor::from_tensor_data(t)?,
            ("value_float", Attribute::Float(v)) => Tensor::scalar(*v),
            ("value_floats", Attribute::Floats(v)) => Tensor::from_vec(vec![v.len()], v.clone()),
            ("value_int", Attribute::Int(v)) => Tensor::scalar(*v),
            ("value_ints", Attribute::Ints(v)) => Tensor::from_vec(vec![v.len()], v.clone()),
            _ => continue,
        };
        return Ok(t);
    }
    Err(RuntimeError::new(
        "constant has no value the runtime supports (string constants are not supported)",
    ))
}

struct Planner<'a> {
    body: &'a Body,
    opset: i64,
    /// The module's local functions (ONNX `FunctionProto`s), called by ops of kind `<domain>.<name>`.
    functions: &'a [Function],
    /// Function-call nesting, to stop recursive functions.
    depth: usize,
}

/// How deep function calls may nest (ONNX forbids recursion; this catches it in a bad model).
const MAX_CALL_DEPTH: usize = 32;

impl RegionCompiler for Planner<'_> {
    fn compile(&self, region: RegionId, captures: &[ValueId]) -> Result<Plan> {
        let blocks = self.body.region(region).blocks();
        let [block] = blocks else {
            return Err(RuntimeError::new(format!(
                "sub-graph has {} blocks, expected 1",
                blocks.len()
            )));
        };
        self.compile_block(*block, captures)
    }
}

/// The outer values that the ops inside `regions` read, in first-use order.
pub(crate) fn region_captures(body: &Body, regions: &[RegionId]) -> Vec<ValueId> {
    let mut inside: FxHashSet<ValueId> = FxHashSet::default();
    let mut ops = vec![];
    for &r in regions {
        for op in body.walk(r) {
            ops.push(op);
        }
    }
    for &op in &ops {
        inside.extend(body.op(op).results().iter().copied());
        for &r in body.op(op).regions() {
            for &b in body.region(r).blocks() {
                inside.extend(body.block(b).args().iter().copied());
            }
        }
    }
    for &r in regions {
        for &b in body.region(r).blocks() {
            inside.extend(body.block(b).args().iter().copied());
        }
    }
    let mut seen = FxHashSet::default();
    let mut out = vec![];
    for &op in &ops {
        for &v in body.op(op).operands() {
            if !inside.contains(&v) && seen.insert(v) {
                out.push(v);
            }
        }
    }
    out
}

impl Planner<'_> {
    fn compile_block(&self, block: BlockId, captures: &[ValueId]) -> Result<Plan> {
        let body = self.body;
        let mut slot_of: FxHashMap<ValueId, Option<usize>> = FxHashMap::default();
        let mut slot_names: Vec<Option<Arc<str>>> = vec![];
        let new_slot = |v: ValueId, names: &mut Vec<Option<Arc<str>>>| {
            names.push(body.value(v).name.clone());
            names.len() - 1
        };
        let mut input_slots = vec![];
        for &v in body.block(block).args().iter().chain(captures) {
            let s = new_slot(v, &mut slot_names);
            slot_of.insert(v, Some(s));
            input_slots.push(s);
        }
        let mut steps: Vec<Step> = vec![];
        let mut constants = vec![];
        let mut output_slots = None;
        let mut unsupported: Vec<String> = vec![];
        let lookup = |slot_of: &FxHashMap<ValueId, Option<usize>>, v: ValueId, op: OpId| {
            slot_of.get(&v).copied().ok_or_else(|| {
                RuntimeError::new(format!(
                    "{} reads value {} before it is defined (the block is not in topological order)",
                    describe(body, op),
                    value_label(body, v)
                ))
            })
        };
        for op in body.block_ops(block) {
            let d = body.op(op);
            match &*d.kind {
                FUNC_RETURN | "onnx.Yield" => {
                    let outs = d
                        .operands()
                        .iter()
                        .map(|&v| lookup(&slot_of, v, op))
                        .collect::<Result<Vec<_>>>()?;
                    output_slots = Some(outs);
                    continue;
                }
                "onnx.NoValue" => {
                    for &r in d.results() {
                        slot_of.insert(r, None);
                    }
                    continue;
                }
                "onnx.Constant" => {
                    let t = constant_value(d).map_err(|e| e.context(describe(body, op)))?;
                    let s = new_slot(d.results()[0], &mut slot_names);
                    slot_of.insert(d.results()[0], Some(s));
                    constants.push((s, t));
                    continue;
                }
                _ => {}
            }
            let callee = || {
                self.functions.iter().find(|f| {
                    matches!(f.attrs.iter().find(|(k, _)| &**k == FUNCTION_DOMAIN),
                        Some((_, Attribute::String(dom))) if op_kind(dom, &f.name) == *d.kind)
                })
            };
            let build = registry().get(&d.kind);
            if build.is_none() {
                if let Some(f) = callee() {
                    let kernel = self
                        .compile_call(d, f)
                        .map_err(|e| e.context(describe(body, op)))?;
                    let mut inputs = SmallVec::new();
                    for &v in d.operands() {
                        inputs.push(lookup(&slot_of, v, op)?);
                    }
                    let mut outputs = SmallVec::new();
                    for &r in d.results() {
                        let s = new_slot(r, &mut slot_names);
                        slot_of.insert(r, Some(s));
                        outputs.push(s);
                    }
                    steps.push(Step {
                        kernel,
                        inputs,
                        outputs,
                        frees: vec![],
                        what: describe(body, op),
                    });
                    continue;
                }
            }
            let Some(build) = build else {
                unsupported.push(describe(body, op));
                for &r in d.results() {
                    let s = new_slot(r, &mut slot_names);
                    slot_of.insert(r, Some(s));
                }
                continue;
            };
            let op_captures = region_captures(body, d.regions());
            let ctx = BuildCtx {
                body,
                op,
                opset: self.opset,
                captures: &op_captures,
                regions: self,
            };
            let kernel = build(&ctx).map_err(|e| e.context(describe(body, op)))?;
            let mut inputs = SmallVec::new();
            for &v in d.operands().iter().chain(&op_captures) {
                inputs.push(lookup(&slot_of, v, op)?);
            }
            let mut outputs = SmallVec::new();
            for &r in d.results() {
                let s = new_slot(r, &mut slot_names);
                slot_of.insert(r, Some(s));
                outputs.push(s);
            }
            steps.push(Step {
                kernel,
                inputs,
                outputs,
                frees: vec![],
                what: describe(body, op),
            });
        }
        if !unsupported.is_empty() {
            let n = unsupported.len();
            let shown: Vec<_> = unsupported.into_iter().take(10).collect();
            return Err(RuntimeError::new(format!(
                "{n} op(s) have no runtime kernel: {}{}",
                shown.join(", "),
                if n > 10 { ", ..." } else { "" }
            )));
        }
        let output_slots = output_slots.ok_or_else(|| {
            RuntimeError::new("the block has no terminator (func.return or onnx.Yield)")
        })?;
        let num_slots = slot_names.len();
        // Lifetimes: a slot dies after the last step that reads it, unless it is an output.
        let mut last_use: Vec<Option<usize>> = vec![None; num_slots];
        for (i, step) in steps.iter().enumerate() {
            for s in step.inputs.iter().flatten() {
                last_use[*s] = Some(i);
            }
            for &s in &step.outputs {
                last_use[s] = last_use[s].or(Some(i));
            }
        }
        let mut keep = vec![false; num_slots];
        for s in output_slots.iter().flatten() {
            keep[*s] = true;
        }
        let mut unused_inputs = vec![];
        for s in 0..num_slots {
            if keep[s] {
                continue;
            }
            match last_use[s] {
                Some(i) => steps[i].frees.push(s),
                None if input_slots.contains(&s) => unused_inputs.push(s),
                None => {}
            }
        }
        Ok(Plan {
            steps,
            num_slots,
            input_slots,
            unused_inputs,
            output_slots,
            constants,
            slot_names,
            observed: vec![false; num_slots],
        })
    }
}

impl Planner<'_> {
    /// Compiles a call of local function `f`: the function body with the caller's attributes bound
    /// (ops that read an attribute through `ref_attr_name` get the caller's value or the default).
    fn compile_call(&self, call: &OpData, f: &Function) -> Result<Box<dyn Kernel>> {
        if self.depth >= MAX_CALL_DEPTH {
            return Err(RuntimeError::new(format!(
                "function calls nest deeper than {MAX_CALL_DEPTH} (is '{}' recursive?)",
                f.name
            )));
        }
        let fbody = onnxqc_onnx::instantiate_function(f, call);
        let opset = match f.attrs.iter().find(|(k, _)| &**k == OPSET_IMPORT) {
            Some((_, Attribute::Dict(d))) => d
                .iter()
                .find(|(k, _)| &**k == DEFAULT_DOMAIN_KEY)
                .and_then(|(_, v)| v.as_int())
                .unwrap_or(self.opset),
            _ => self.opset,
        };
        let plan = Planner {
            body: &fbody,
            opset,
            functions: self.functions,
            depth: self.depth + 1,
        }
        .compile_block(fbody.entry_block(), &[])
        .map_err(|e| e.context(format!("function '{}'", f.name)))?;
        Ok(Box::new(Call { plan }))
    }
}

/// A call of a model-local function: runs its compiled body.
struct Call {
    plan: Plan,
}

impl Kernel for Call {
    fn run(&self, ctx: &mut RunCtx, inputs: &[Option<&Tensor>]) -> Result<Vec<Tensor>> {
        self.plan
            .run(ctx, inputs.iter().map(|t| t.cloned()).collect())
    }
}

/// "node 'conv1' (onnx.Conv)", or "onnx.Conv op" for an unnamed node.
pub(crate) fn describe(body: &Body, op: OpId) -> String {
    let d = body.op(op);
    match &d.name {
        Some(n) => format!("node '{n}' ({})", d.kind),
        None => format!("unnamed {} op", d.kind),
    }
}

fn value_label(body: &Body, v: ValueId) -> String {
    match &body.value(v).name {
        Some(n) => format!("'{n}'"),
        None => format!("#{}", v.index()),
    }
}

/// The declared type of a value as text, for input-mismatch messages.
pub fn type_label(ty: &Type) -> String {
    match ty.as_tensor() {
        Some(t) => {
            let elem = t
                .elem
                .scalar()
                .map(|s| s.to_string())
                .unwrap_or_else(|| "quantized".into());
            match &t.shape {
                None => format!("{elem} tensor of any shape"),
                Some(dims) => {
                    let ds: Vec<String> = dims
                        .iter()
                        .map(|d| match d {
                            onnxqc_ir::Dim::Known(n) => n.to_string(),
                            onnxqc_ir::Dim::Symbolic(s) => s.to_string(),
                            onnxqc_ir::Dim::Unknown => "?".into(),
                        })
                        .collect();
                    format!("{elem} tensor of shape [{}]", ds.join(", "))
                }
            }
        }
        None => "non-tensor value".into(),
    }
}
