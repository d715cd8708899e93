//! The library entry point: a [`Session`] compiles a model's main graph once and runs it many times.
//!
//! ```no_run
//! # fn demo(module: &onnxqc_ir::Module, x: onnxqc_runtime::Tensor) -> onnxqc_runtime::Result<()> {
//! use onnxqc_runtime::Session;
//! let session = Session::new(module)?;
//! let outputs = session.run([("x", x)])?;
//! println!("{:?}", outputs.get("y"));
//! # Ok(()) }
//! ```
//!
//! Threads: kernels split work with rayon inside the session's own thread pool, sized by
//! [`SessionOptions::threads`], else the `ONNXQC_NUM_THREADS` environment variable, else the number of
//! cores.

use onnxqc_ir::{Dim, Function, Module, Type};
use rustc_hash::FxHashMap;

use crate::error::{Result, RuntimeError};
use crate::plan::{type_label, Observer, Plan, RunCtx};
use crate::tensor::{DType, Tensor};

/// The environment variable that sets the default thread count.
pub const THREADS_ENV: &str = "ONNXQC_NUM_THREADS";

#[derive(Clone, Debug, Default)]
pub struct SessionOptions {
    /// Threads for kernels; `None` reads [`THREADS_ENV`], then uses every core.
    pub threads: Option<usize>,
}

/// A graph input or output as the session sees it.
#[derive(Clone, Debug)]
pub struct IoInfo {
    pub name: String,
    pub ty: Type,
}

/// A compiled model, ready to run.
pub struct Session {
    plan: Plan,
    inputs: Vec<IoInfo>,
    outputs: Vec<IoInfo>,
    pool: rayon::ThreadPool,
    threads: usize,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("plan", &self.plan)
            .field("threads", &self.threads)
            .finish()
    }
}

/// The outputs of a run, in the graph's output order.
#[derive(Clone, Debug)]
pub struct Outputs(pub Vec<(String, Tensor)>);

impl Outputs {
    pub fn get(&self, name: &str) -> Option<&Tensor> {
        self.0.iter().find(|(n, _)| n == name).map(|(_, t)| t)
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, &Tensor)> {
        self.0.iter().map(|(n, t)| (n.as_str(), t))
    }

    pub fn into_vec(self) -> Vec<(String, Tensor)> {
        self.0
    }
}

/// The thread count from [`THREADS_ENV`], if set to a positive number.
pub fn threads_from_env() -> Result<Option<usize>> {
    match std::env::var(THREADS_ENV) {
        Err(_) => Ok(None),
        Ok(s) => match s.trim().parse::<usize>() {
            Ok(n) if n > 0 => Ok(Some(n)),
            _ => Err(RuntimeError::new(format!(
                "{THREADS_ENV}='{s}' is not a positive number of threads"
            ))),
        },
    }
}

/// The model's default-domain opset version (the latest when the module does not say).
pub fn model_opset(module: &Module) -> i64 {
    onnxqc_onnx::default_opset(module)
}

/// The opset assumed for text-IR modules that do not record one.
pub const LATEST_OPSET: i64 = onnxqc_onnx::LATEST_OPSET;

impl Session {
    /// Compiles the module's main graph (its first function) with default options.
    pub fn new(module: &Module) -> Result<Session> {
        Session::with_options(module, &SessionOptions::default())
    }

    pub fn with_options(module: &Module, opts: &SessionOptions) -> Result<Session> {
        let func = module
            .funcs
            .first()
            .ok_or_else(|| RuntimeError::new("the module has no graph"))?;
        Session::for_function(func, model_opset(module), &module.funcs[1..], opts)
    }

    /// Compiles one function with an explicit opset; `functions` are the local functions it may call.
    pub fn for_function(
        func: &Function,
        opset: i64,
        functions: &[Function],
        opts: &SessionOptions,
    ) -> Result<Session> {
        let body = &func.body;
        let plan = Plan::compile(body, body.entry_block(), &[], opset, functions)?;
        let info = |(i, &v): (usize, &onnxqc_ir::ValueId), what: &str| IoInfo {
            name: body
                .value(v)
                .name
                .as_deref()
                .map(str::to_string)
                .unwrap_or_else(|| format!("{what}{i}")),
            ty: body.value_type(v).clone(),
        };
        let inputs = body
            .inputs()
            .iter()
            .enumerate()
            .map(|x| info(x, "input"))
            .collect();
        let outputs = body
            .outputs()
            .iter()
            .enumerate()
            .map(|x| info(x, "output"))
            .collect();
        let threads = match opts.threads {
            Some(n) if n > 0 => n,
            Some(_) => return Err(RuntimeError::new("the thread count must be positive")),
            None => threads_from_env()?.unwrap_or_else(|| {
                std::thread::available_parallelism()
                    .map(|n| n.get())
                    .unwrap_or(1)
            }),
        };
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .thread_name(|i| format!("onnxqc-rt-{i}"))
            .build()
            .map_err(|e| RuntimeError::new(format!("cannot start {threads} threads: {e}")))?;
        Ok(Session {
            plan,
            inputs,
            outputs,
            pool,
            threads,
        })
    }

    pub fn inputs(&self) -> &[IoInfo] {
        &self.inputs
    }

    pub fn outputs(&self) -> &[IoInfo] {
        &self.outputs
    }

    pub fn threads(&self) -> usize {
        self.threads
    }

    /// Names of the values [`Session::observe`] accepts: every named value that is computed or fed in
    /// (constants excluded), in plan order.
    pub fn observable(&self) -> Vec<&str> {
        self.plan
            .named_slots()
            .filter(|(s, _)| !self.plan.is_constant_slot(*s))
            .map(|(_, n)| n)
            .collect()
    }

    /// Chooses the named values passed to the observer of [`Session::run_observed`]. Each is handed
    /// over as soon as it is computed and then released as usual, so observing costs no memory.
    pub fn observe<S: AsRef<str>>(&mut self, names: &[S]) -> Result<()> {
        let mut slots = vec![];
        for n in names {
            let n = n.as_ref();
            match self.plan.slot_of_name(n) {
                Some(s) if !self.plan.is_constant_slot(s) => slots.push(s),
                Some(_) => {
                    return Err(RuntimeError::new(format!(
                        "'{n}' is a constant; only computed values and inputs can be observed"
                    )))
                }
                None => {
                    return Err(RuntimeError::new(format!(
                        "the graph has no value named '{n}'"
                    )))
                }
            }
        }
        let all: Vec<usize> = self.plan.named_slots().map(|(s, _)| s).collect();
        for s in all {
            self.plan.set_observed(s, false);
        }
        for s in slots {
            self.plan.set_observed(s, true);
        }
        Ok(())
    }

    /// Runs the model on named inputs; every graph input must be given.
    pub fn run<K: AsRef<str>>(
        &self,
        inputs: impl IntoIterator<Item = (K, Tensor)>,
    ) -> Result<Outputs> {
        self.run_impl(inputs, None)
    }

    /// Runs the model, passing every value chosen with [`Session::observe`] to `observer`.
    pub fn run_observed<K: AsRef<str>>(
        &self,
        inputs: impl IntoIterator<Item = (K, Tensor)>,
        observer: &mut dyn Observer,
    ) -> Result<Outputs> {
        self.run_impl(inputs, Some(observer))
    }

    fn run_impl<K: AsRef<str>>(
        &self,
        inputs: impl IntoIterator<Item = (K, Tensor)>,
        observer: Option<&mut dyn Observer>,
    ) -> Result<Outputs> {
        let mut given: FxHashMap<String, Tensor> = FxHashMap::default();
        for (k, t) in inputs {
            let k = k.as_ref();
            if !self.inputs.iter().any(|i| i.name == k) {
                let names: Vec<_> = self.inputs.iter().map(|i| i.name.as_str()).collect();
                return Err(RuntimeError::new(format!(
                    "the model has no input named '{k}' (its inputs: {})",
                    names.join(", ")
                )));
            }
            if given.insert(k.to_string(), t).is_some() {
                return Err(RuntimeError::new(format!("input '{k}' is given twice")));
            }
        }
        let mut ordered = Vec::with_capacity(self.inputs.len());
        let mut symbols: FxHashMap<String, (usize, String)> = FxHashMap::default();
        for info in &self.inputs {
            let t = given
                .remove(&info.name)
                .ok_or_else(|| RuntimeError::new(format!("input '{}' is missing", info.name)))?;
            check_input(info, &t, &mut symbols)?;
            ordered.push(Some(t));
        }
        let mut ctx = RunCtx::new(observer);
        let outs = self.pool.install(|| self.plan.run(&mut ctx, ordered))?;
        Ok(Outputs(
            self.outputs
                .iter()
                .map(|o| o.name.clone())
                .zip(outs)
                .collect(),
        ))
    }
}

/// Checks a fed tensor against the declared input type; symbolic dims must agree across inputs.
fn check_input(
    info: &IoInfo,
    t: &Tensor,
    symbols: &mut FxHashMap<String, (usize, String)>,
) -> Result<()> {
    let Some(tt) = info.ty.as_tensor() else {
        return Ok(());
    };
    let mismatch = |why: String| {
        RuntimeError::new(format!(
            "input '{}' expects a {}, got a {} tensor of shape {:?}: {why}",
            info.name,
            type_label(&info.ty),
            t.dtype(),
            t.shape()
        ))
    };
    if let Some(s) = tt.elem.scalar() {
        if DType::from_scalar(s) != Some(t.dtype()) {
            return Err(mismatch("the element type differs".into()));
        }
    }
    if let Some(dims) = &tt.shape {
        if dims.len() != t.rank() {
            return Err(mismatch(format!(
                "rank {} instead of {}",
                t.rank(),
                dims.len()
            )));
        }
        for (i, (d, &n)) in dims.iter().zip(t.shape()).enumerate() {
            match d {
                Dim::Known(k) if *k as usize != n => {
                    return Err(mismatch(format!("dimension {i} is {n}, not {k}")))
                }
                // Exporters write "?" (paddle2onnx) or "" for "unknown", not for a shared size.
                Dim::Symbolic(s) if &**s == "?" || s.is_empty() => {}
                Dim::Symbolic(s) => match symbols.get(&**s) {
                    Some((m, other)) if *m != n => {
                        return Err(mismatch(format!(
                            "dimension {i} ('{s}') is {n}, but input '{other}' gave '{s}' = {m}"
                        )))
                    }
                    Some(_) => {}
                    None => {
                        symbols.insert(s.to_string(), (n, info.name.clone()));
                    }
                },
                _ => {}
            }
        }
    }
    Ok(())
}
