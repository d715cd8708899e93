//! `calibrate`: finds the range of every tensor the lowering will quantize. It inserts a `qc.observe` op
//! on each such tensor, has the driver's [`CalibrationRunner`] run the model over the calibration data
//! (each observer hands what it sees to a streaming [`Statistic`], so nothing per sample is kept), writes
//! the chosen ranges into the module's calibration table (the `qc.calibration` attribute that `qdq`,
//! `qop` and `dynamic` read), and removes the observers. With `table=FILE` it reads the ranges from a
//! calibration table instead of running anything.
//!
//! Which tensors: the float inputs and outputs (not constants) of the ops of the types in `op-types`,
//! by default ONNX Runtime's set for `quantize_static` (the union of its QDQ and QOperator registries),
//! so that the same model gives the same tensor set as ONNX Runtime's calibrators; or exactly the
//! tensors named in `tensors`; or every float tensor with `all=true`. Tensors inside `If`/`Loop`/`Scan`
//! bodies count too (ONNX Runtime's calibrators look at the main graph only).

use std::path::Path;

use onnxqc_ir::graph::split_op_kind;
use onnxqc_ir::{Attribute, Body, ElemType, Module, OpId, ScalarType, ValueDef, ValueId};
use onnxqc_quant::calib::{Averaging, Method, Scenario, Statistic};
use onnxqc_quant::table::{read_table, write_table, CalibrationTable, TableFormat};
use onnxqc_quant::OBSERVE;
use rustc_hash::{FxHashMap, FxHashSet};

use crate::options::{OptKind, OptionSpec};
use crate::registry::PassInfo;
use crate::{ObservationSink, Pass, PassContext, PassError, PassOptions, PassOutcome};

/// The fact `calibrate` establishes: the module has a calibration table.
pub const RANGES_FACT: &str = "ranges";

/// ONNX Runtime's default `op_types_to_quantize` for `quantize_static`: the keys of its QOperator and
/// QDQ registries (`onnxruntime/quantization/registry.py`).
pub const DEFAULT_OP_TYPES: &[&str] = &[
    "ArgMax",
    "AveragePool",
    "BatchNormalization",
    "Clip",
    "Concat",
    "Conv",
    "ConvTranspose",
    "CumSum",
    "EmbedLayerNormalization",
    "Flatten",
    "Gather",
    "GatherElements",
    "Gemm",
    "GlobalAveragePool",
    "InstanceNormalization",
    "LayerNormalization",
    "LeakyRelu",
    "MatMul",
    "MaxPool",
    "Mul",
    "Add",
    "Pad",
    "Relu",
    "Reshape",
    "Resize",
    "Sigmoid",
    "Slice",
    "Softmax",
    "Split",
    "Squeeze",
    "TopK",
    "Transpose",
    "Unsqueeze",
    "Where",
];

const METHODS: &[&str] = &["minmax", "entropy", "percentile", "distribution", "mse"];

static OPTIONS: [OptionSpec; 16] = [
    OptionSpec {
        name: "method",
        kind: OptKind::Enum(METHODS),
        default: "minmax",
        help: "how a range is chosen from what was observed",
    },
    OptionSpec {
        name: "symmetric",
        kind: OptKind::Enum(&["auto", "true", "false"]),
        default: "auto",
        help: "make ranges symmetric around 0 (auto: true for percentile, false otherwise, as ONNX Runtime)",
    },
    OptionSpec {
        name: "moving-average",
        kind: OptKind::Bool,
        default: "false",
        help: "minmax: average the per-batch minima and maxima instead of taking the extremes",
    },
    OptionSpec {
        name: "averaging-constant",
        kind: OptKind::Float,
        default: "0",
        help: "minmax with moving-average: 0 = the plain mean of per-batch extremes (what ONNX Runtime \
               computes); c in (0, 1] = exponential moving average m += c * (batch - m)",
    },
    OptionSpec {
        name: "num-bins",
        kind: OptKind::Int { min: 0, max: 1 << 24 },
        default: "0",
        help: "histogram bins (0: the method's default: entropy 128, percentile/distribution/mse 2048)",
    },
    OptionSpec {
        name: "num-quantized-bins",
        kind: OptKind::Int { min: 1, max: 1 << 20 },
        default: "128",
        help: "entropy: bins of the quantized distribution",
    },
    OptionSpec {
        name: "percentile",
        kind: OptKind::Float,
        default: "99.999",
        help: "percentile: the share of values (in %) the range keeps",
    },
    OptionSpec {
        name: "scenario",
        kind: OptKind::Enum(&["same", "p3"]),
        default: "same",
        help: "distribution (float8): same = float8 follows the data's law; p3 = float8 ~ X^3",
    },
    OptionSpec {
        name: "quant-type",
        kind: OptKind::Enum(&["u8", "s8", "u16", "s16", "u4", "s4"]),
        default: "s8",
        help: "mse: the integer type the tensors will be quantized to",
    },
    OptionSpec {
        name: "op-types",
        kind: OptKind::List,
        default: "",
        help: "calibrate the inputs and outputs of these op types (empty: ONNX Runtime's quantize_static set)",
    },
    OptionSpec {
        name: "tensors",
        kind: OptKind::List,
        default: "",
        help: "calibrate exactly these tensors (by name) instead",
    },
    OptionSpec {
        name: "all",
        kind: OptKind::Bool,
        default: "false",
        help: "calibrate every float tensor that is not a constant",
    },
    OptionSpec {
        name: "table",
        kind: OptKind::String,
        default: "",
        help: "read the ranges from this calibration table (onnxqc JSON, ONNX Runtime's JSON or \
               calibration.cache) instead of running the model",
    },
    OptionSpec {
        name: "write-table",
        kind: OptKind::String,
        default: "",
        help: "also write the ranges to this file",
    },
    OptionSpec {
        name: "table-format",
        kind: OptKind::Enum(&["auto", "json", "ort", "tensorrt"]),
        default: "auto",
        help: "format of write-table (auto: .cache is ONNX Runtime's calibration.cache, else onnxqc JSON; \
               tensorrt: TensorRT's int8 cache, hex scales amax/127)",
    },
    OptionSpec {
        name: "require-all",
        kind: OptKind::Bool,
        default: "false",
        help: "fail when a selected tensor gets no range (never computed, or missing from the table)",
    },
];

pub fn info() -> PassInfo {
    PassInfo {
        name: "calibrate",
        summary:
            "Run the model over calibration data and record the range of every tensor to quantize",
        options: &OPTIONS,
        requires: &[],
        provides: &[RANGES_FACT],
        create: |o: &PassOptions| Box::new(Calibrate { opts: o.clone() }),
    }
}

struct Calibrate {
    opts: PassOptions,
}

fn err(msg: impl Into<String>) -> PassError {
    PassError::new("calibrate", msg)
}

impl Calibrate {
    /// The method and its parameters, with ONNX Runtime's per-method defaults.
    fn method(&self) -> Result<Method, PassError> {
        let o = &self.opts;
        let symmetric = match o.str("symmetric") {
            "true" => Some(true),
            "false" => Some(false),
            _ => None,
        };
        let bins = |default: usize| match o.int("num-bins") {
            0 => default,
            n => n as usize,
        };
        Ok(match o.str("method") {
            "minmax" => {
                let c = o.float("averaging-constant");
                if !(0.0..=1.0).contains(&c) {
                    return Err(err(format!(
                        "averaging-constant must be in [0, 1], got {c}"
                    )));
                }
                Method::MinMax {
                    symmetric: symmetric.unwrap_or(false),
                    averaging: match (o.bool("moving-average"), c) {
                        (false, _) => Averaging::None,
                        (true, 0.0) => Averaging::Mean,
                        (true, c) => Averaging::Ema(c as f32),
                    },
                }
            }
            "entropy" => Method::Entropy {
                num_bins: bins(128),
                num_quantized_bins: o.int("num-quantized-bins") as usize,
                symmetric: symmetric.unwrap_or(false),
            },
            "percentile" => Method::Percentile {
                num_bins: bins(2048),
                percentile: o.float("percentile"),
                symmetric: symmetric.unwrap_or(true),
            },
            "distribution" => Method::Distribution {
                num_bins: bins(2048),
                scenario: if o.str("scenario") == "p3" {
                    Scenario::P3
                } else {
                    Scenario::Same
                },
            },
            _ => {
                let symmetric = symmetric.unwrap_or(false);
                let storage = match o.str("quant-type") {
                    "u8" => ScalarType::U8,
                    "u16" => ScalarType::U16,
                    "s16" => ScalarType::I16,
                    "u4" => ScalarType::U4,
                    "s4" => ScalarType::I4,
                    _ => ScalarType::I8,
                };
                let (qmin, qmax) =
                    onnxqc_quant::params::qmin_qmax(storage, false, symmetric).map_err(err)?;
                Method::Mse {
                    num_bins: bins(2048),
                    symmetric,
                    qmin,
                    qmax,
                }
            }
        })
    }

    /// The tensors to calibrate in `body`, in the order the ops use or define them.
    fn select(&self, body: &Body) -> Result<Vec<(String, ValueId)>, PassError> {
        let named = self.opts.list("tensors");
        let all = self.opts.bool("all");
        let op_types: Vec<&str> = if self.opts.list("op-types").is_empty() {
            DEFAULT_OP_TYPES.to_vec()
        } else {
            self.opts
                .list("op-types")
                .iter()
                .map(|s| s.as_str())
                .collect()
        };
        // Every named value with whether the selection rule picks it, in order of first appearance.
        let mut candidates: Vec<(ValueId, bool)> =
            body.inputs().iter().map(|&a| (a, all)).collect();
        for op in body.all_ops() {
            let d = body.op(op);
            let (_, op_type) = split_op_kind(&d.kind);
            let selected = all || op_types.contains(&op_type);
            candidates.extend(
                d.operands()
                    .iter()
                    .chain(d.results())
                    .map(|&v| (v, selected)),
            );
        }
        let name_of = |v: ValueId| body.value(v).name.as_deref();
        let mut seen: FxHashSet<ValueId> = FxHashSet::default();
        if named.is_empty() {
            return Ok(candidates
                .into_iter()
                .filter(|&(v, selected)| selected && calibratable(body, v))
                .filter_map(|(v, _)| Some((name_of(v)?.to_string(), v)))
                .filter(|(_, v)| seen.insert(*v))
                .collect());
        }
        let mut by_name: FxHashMap<&str, ValueId> = FxHashMap::default();
        for &(v, _) in &candidates {
            if let Some(n) = name_of(v) {
                by_name.entry(n).or_insert(v);
            }
        }
        let mut out = vec![];
        for n in named {
            let Some(&v) = by_name.get(n.as_str()) else {
                return Err(err(format!("tensors: the model has no tensor named '{n}'")));
            };
            if !calibratable(body, v) {
                return Err(err(format!(
                    "tensors: '{n}' cannot be calibrated: it is a constant or not a float32/float16 tensor"
                )));
            }
            if seen.insert(v) {
                out.push((n.clone(), v));
            }
        }
        Ok(out)
    }
}

/// A float32/float16 tensor that is computed or fed in (ONNX Runtime calibrates exactly those).
fn calibratable(body: &Body, v: ValueId) -> bool {
    let float = matches!(
        body.value_type(v).elem(),
        Some(ElemType::Scalar(ScalarType::F32 | ScalarType::F16))
    );
    let constant = body
        .defining_op(v)
        .is_some_and(|op| &*body.op(op).kind == "onnx.Constant");
    float && !constant
}

/// Inserts a `qc.observe` of each target right after its definition; returns the observers.
fn insert_observers(body: &mut Body, targets: &[(String, ValueId)]) -> Vec<OpId> {
    let mut observers = Vec::with_capacity(targets.len());
    for (name, v) in targets {
        let ty = body.value_type(*v).clone();
        let op = body.create_op(
            OBSERVE,
            &[*v],
            vec![ty],
            vec![("tensor".into(), Attribute::String(name.clone()))],
        );
        let at = match body.value(*v).def() {
            ValueDef::Result { op: def, .. } => body.next_op(def),
            ValueDef::BlockArg { block, .. } => body.first_op(block),
        };
        // A value's block always ends with its terminator, so there is always an op to insert before.
        let Some(at) = at else {
            body.erase_op(op);
            continue;
        };
        body.insert_before(at, op);
        observers.push(op);
    }
    observers
}

/// Collects observations into one statistic per tensor.
struct Collector {
    index: FxHashMap<String, usize>,
    stats: Vec<Statistic>,
    unknown_keys: u64,
}

impl ObservationSink for Collector {
    fn observe(&mut self, tensor: &str, values: &[f32]) {
        match self.index.get(tensor) {
            Some(&i) => self.stats[i].observe(values),
            None => self.unknown_keys += 1,
        }
    }

    fn end_batch(&mut self) {
        for s in &mut self.stats {
            s.end_batch();
        }
    }
}

impl Pass for Calibrate {
    fn name(&self) -> &'static str {
        "calibrate"
    }

    fn run(&mut self, module: &mut Module, cx: &PassContext) -> Result<PassOutcome, PassError> {
        let method = self.method()?;
        // Bad parameters (percentile > 100, too few bins) fail before any work.
        Statistic::new(&method).map_err(err)?;
        let Some(main) = module.funcs.first() else {
            return Err(err("the module has no function to calibrate"));
        };
        let targets = self.select(&main.body)?;
        let mut notes = vec![];
        let table_path = self.opts.str("table").to_string();
        let (mut table, run_stats) = if !table_path.is_empty() {
            let table = read_table(Path::new(&table_path)).map_err(err)?;
            (table, vec![])
        } else {
            let Some(runner) = cx.calib else {
                return Err(err(
                    "calibration needs data: give --calib-data PATH (or --calib-data random for a smoke \
                     test), or a calibration table with calibrate{table=FILE}",
                ));
            };
            let body = &mut module.funcs[0].body;
            let observers = insert_observers(body, &targets);
            let mut collector = Collector {
                index: targets
                    .iter()
                    .enumerate()
                    .map(|(i, (n, _))| (n.clone(), i))
                    .collect(),
                stats: targets
                    .iter()
                    .map(|_| Statistic::new(&method))
                    .collect::<Result<_, _>>()
                    .map_err(err)?,
                unknown_keys: 0,
            };
            let result = runner.run(module, &mut collector);
            let body = &mut module.funcs[0].body;
            for op in observers {
                body.erase_op(op);
            }
            let info = result.map_err(|e| err(format!("calibration run failed: {e}")))?;
            let mut table = CalibrationTable::new(self.opts.str("method"));
            let mut memory = 0usize;
            for ((name, _), stat) in targets.iter().zip(&collector.stats) {
                memory += stat.memory_bytes();
                if let Some(s) = stat.finish() {
                    table.entries.push((name.clone(), s));
                }
            }
            (
                table,
                vec![
                    ("samples", info.samples as u64),
                    ("batches", info.batches as u64),
                    ("statistics-bytes", memory as u64),
                ],
            )
        };
        // Only the selected tensors, in selection order; say what is missing.
        let mut selected = CalibrationTable::new(table.method.clone());
        let mut missing = vec![];
        for (name, _) in &targets {
            match table.get(name) {
                Some(s) => selected.entries.push((name.clone(), s.clone())),
                None => missing.push(name.as_str()),
            }
        }
        if !missing.is_empty() {
            let shown: Vec<&str> = missing.iter().take(8).copied().collect();
            let more = if missing.len() > shown.len() {
                format!(" and {} more", missing.len() - shown.len())
            } else {
                String::new()
            };
            let why = if table_path.is_empty() {
                "never computed on the calibration data (e.g. in an If branch not taken)"
                    .to_string()
            } else {
                format!("not in '{table_path}'")
            };
            let msg = format!(
                "{} of {} tensors have no range ({why}): {}{more}; they stay in float",
                missing.len(),
                targets.len(),
                shown.join(", ")
            );
            if self.opts.bool("require-all") {
                return Err(err(msg));
            }
            notes.push(msg);
        }
        if !table_path.is_empty() {
            // Keep entries of the file for tensors the selection did not name: a later pass (or a
            // different op-types setting) may want them, and they cost nothing.
            for (name, s) in table.entries.drain(..) {
                if selected.get(&name).is_none() {
                    selected.entries.push((name, s));
                }
            }
        }
        let write_path = self.opts.str("write-table");
        if !write_path.is_empty() {
            let format = match self.opts.str("table-format") {
                "json" => TableFormat::Json,
                "ort" => TableFormat::OrtCache,
                "tensorrt" => TableFormat::TensorRt,
                _ => onnxqc_quant::table::format_from_path(Path::new(write_path)),
            };
            write_table(&selected, Path::new(write_path), format).map_err(err)?;
        }
        let n = selected.entries.len() as u64;
        selected.store_in(module);
        let mut stats = vec![
            ("tensors-calibrated", n),
            ("tensors-missing", missing.len() as u64),
        ];
        stats.extend(run_stats);
        Ok(PassOutcome {
            changed: true,
            stats,
            notes,
        })
    }
}
