//! `onnxqc quantize static|dynamic MODEL ...`: presets for people used to ONNX Runtime's
//! `quantize_static` and `quantize_dynamic`. Its
//! flags carry ONNX Runtime's parameter names (`--activation-type QInt8`, `--per-channel`,
//! `--calibrate-method Entropy`, `--extra-option ActivationSymmetric=True`, ...); it translates them
//! into an ordinary pipeline (`preprocess,calibrate{...},qdq{...}` by default) and runs it through the
//! main driver, saying which pipeline it runs (`--print-pipeline` prints it and stops).
//!
//! Every extra option ONNX Runtime documents is either translated or refused with a message naming it;
//! none is silently ignored.

use std::ffi::OsString;
use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};

use crate::calib_data::CalibDataArgs;
use crate::driver::{self, Cli, Emit, UserError};

#[derive(Debug, Parser)]
#[command(
    name = "onnxqc quantize",
    about = "Quantize a model with ONNX Runtime's parameters (presets that expand to pipelines)"
)]
pub struct QuantizeCli {
    #[command(subcommand)]
    pub mode: Mode,
}

#[derive(Debug, Subcommand)]
pub enum Mode {
    /// Static quantization (ONNX Runtime's quantize_static): calibrate, then lower to QDQ.
    Static(StaticArgs),
    /// Dynamic quantization (ONNX Runtime's quantize_dynamic): int8 weights, uint8 activations
    /// quantized at run time (MatMulInteger, ConvInteger).
    Dynamic(DynamicArgs),
}

#[derive(Debug, clap::Args)]
pub struct DynamicArgs {
    /// The float model (.onnx).
    #[arg(value_name = "MODEL")]
    pub model: PathBuf,

    /// The quantized model to write (.onnx).
    #[arg(short = 'o', value_name = "OUT")]
    pub output: PathBuf,

    /// weight_type: QInt8 (default) or QUInt8; activations are always QUInt8.
    #[arg(long, value_enum, default_value = "QInt8")]
    pub weight_type: QuantTypeArg,

    /// per_channel: one scale per column of MatMul weights.
    #[arg(long)]
    pub per_channel: bool,

    /// reduce_range: 7-bit weights (for CPUs without VNNI).
    #[arg(long)]
    pub reduce_range: bool,

    /// op_types_to_quantize (comma-separated), e.g. MatMul,Gather.
    #[arg(long, value_delimiter = ',')]
    pub op_types_to_quantize: Vec<String>,

    /// nodes_to_quantize (comma-separated node names).
    #[arg(long, value_delimiter = ',')]
    pub nodes_to_quantize: Vec<String>,

    /// nodes_to_exclude (comma-separated node names).
    #[arg(long, value_delimiter = ',')]
    pub nodes_to_exclude: Vec<String>,

    /// One of ONNX Runtime's extra_options as KEY=VALUE (repeatable): MatMulConstBOnly,
    /// WeightSymmetric, ActivationSymmetric.
    #[arg(long = "extra-option", value_name = "KEY=VALUE")]
    pub extra_options: Vec<String>,

    /// Skip the `preprocess` passes (folding, fusion); shape inference still runs.
    #[arg(long)]
    pub no_preprocess: bool,

    /// Print the pipeline this preset runs and stop.
    #[arg(long)]
    pub print_pipeline: bool,
}

/// ONNX Runtime's `QuantType`, by its Python name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum QuantTypeArg {
    #[value(name = "QInt8")]
    QInt8,
    #[value(name = "QUInt8")]
    QUInt8,
    #[value(name = "QInt16")]
    QInt16,
    #[value(name = "QUInt16")]
    QUInt16,
    #[value(name = "QInt4")]
    QInt4,
    #[value(name = "QUInt4")]
    QUInt4,
}

impl QuantTypeArg {
    fn short(self) -> &'static str {
        match self {
            QuantTypeArg::QInt8 => "s8",
            QuantTypeArg::QUInt8 => "u8",
            QuantTypeArg::QInt16 => "s16",
            QuantTypeArg::QUInt16 => "u16",
            QuantTypeArg::QInt4 => "s4",
            QuantTypeArg::QUInt4 => "u4",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum FormatArg {
    #[value(name = "QDQ", alias = "qdq")]
    Qdq,
    #[value(name = "QOperator", alias = "qop")]
    QOperator,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum MethodArg {
    #[value(name = "MinMax")]
    MinMax,
    #[value(name = "Entropy")]
    Entropy,
    #[value(name = "Percentile")]
    Percentile,
    #[value(name = "Distribution")]
    Distribution,
    /// onnxqc's: the range with the least quantization error.
    #[value(name = "MSE")]
    Mse,
}

#[derive(Debug, clap::Args)]
pub struct StaticArgs {
    /// The float model (.onnx).
    #[arg(value_name = "MODEL")]
    pub model: PathBuf,

    /// The quantized model to write (.onnx).
    #[arg(short = 'o', value_name = "OUT")]
    pub output: PathBuf,

    /// quant_format: QDQ (default) or QOperator.
    #[arg(
        long = "quant-format",
        alias = "format",
        value_enum,
        default_value = "QDQ"
    )]
    pub quant_format: FormatArg,

    /// activation_type.
    #[arg(long, value_enum, default_value = "QInt8")]
    pub activation_type: QuantTypeArg,

    /// weight_type.
    #[arg(long, value_enum, default_value = "QInt8")]
    pub weight_type: QuantTypeArg,

    /// per_channel: one scale per output channel for weights.
    #[arg(long)]
    pub per_channel: bool,

    /// reduce_range: 7-bit weights (for CPUs without VNNI).
    #[arg(long)]
    pub reduce_range: bool,

    /// Round every scale up to a power of two, for shift-only integer hardware (ESP-DL); not in ONNX
    /// Runtime.
    #[arg(long)]
    pub power_of_two: bool,

    /// calibrate_method.
    #[arg(long, value_enum, default_value = "MinMax")]
    pub calibrate_method: MethodArg,

    /// op_types_to_quantize (comma-separated; default: ONNX Runtime's set).
    #[arg(long, value_delimiter = ',', value_name = "OP")]
    pub op_types_to_quantize: Vec<String>,

    /// nodes_to_quantize (comma-separated node names).
    #[arg(long, value_delimiter = ',', value_name = "NODE")]
    pub nodes_to_quantize: Vec<String>,

    /// nodes_to_exclude (comma-separated node names).
    #[arg(long, value_delimiter = ',', value_name = "NODE")]
    pub nodes_to_exclude: Vec<String>,

    /// One of ONNX Runtime's extra_options as KEY=VALUE (repeatable), e.g. ActivationSymmetric=True,
    /// OpTypesToExcludeOutputQuantization=Conv,MatMul, QDQOpTypePerChannelSupportToAxis=MatMul:1.
    #[arg(long = "extra-option", value_name = "KEY=VALUE")]
    pub extra_options: Vec<String>,

    /// Skip the `preprocess` passes (folding, fusion) before calibration; shape inference still runs,
    /// as in ONNX Runtime's quantizer, since only tensors of known float type are quantized.
    #[arg(long)]
    pub no_preprocess: bool,

    /// Print the pipeline this preset runs and stop.
    #[arg(long)]
    pub print_pipeline: bool,

    #[command(flatten)]
    pub calib: CalibDataArgs,

    /// Take the ranges from this calibration table instead of running the model.
    #[arg(long, value_name = "FILE")]
    pub calibration_table: Option<PathBuf>,

    /// Also write the ranges to this file.
    #[arg(long, value_name = "FILE")]
    pub write_calibration_table: Option<PathBuf>,

    /// No progress output during calibration.
    #[arg(long)]
    pub no_progress: bool,
}

pub fn main_with_args(args: Vec<OsString>) -> std::process::ExitCode {
    driver::parse_and_run::<QuantizeCli>(args, run)
}

fn run(cli: &QuantizeCli) -> Result<(), UserError> {
    match &cli.mode {
        Mode::Static(a) => run_static(a),
        Mode::Dynamic(a) => run_dynamic(a),
    }
}

/// The pipeline `quantize dynamic` runs for these flags.
fn dynamic_pipeline(a: &DynamicArgs) -> Result<String, UserError> {
    let mut o = vec![match a.weight_type {
        QuantTypeArg::QInt8 => "weight-type=s8".to_string(),
        QuantTypeArg::QUInt8 => "weight-type=u8".to_string(),
        other => {
            return Err(UserError::msg(format!(
                "--weight-type {}: dynamic quantization takes QInt8 or QUInt8 weights \
                 (MatMulInteger and ConvInteger are 8-bit); for 4-bit weights see the nbits lowering",
                other.to_possible_value().map_or("?".into(), |v| v.get_name().to_string())
            )))
        }
    }];
    if a.per_channel {
        o.push("per-channel=true".into());
    }
    if a.reduce_range {
        o.push("reduce-range=true".into());
    }
    let list = |v: &[String]| format!("[{}]", v.join(","));
    if !a.op_types_to_quantize.is_empty() {
        o.push(format!("op-types={}", list(&a.op_types_to_quantize)));
    }
    if !a.nodes_to_quantize.is_empty() {
        o.push(format!("nodes={}", list(&a.nodes_to_quantize)));
    }
    if !a.nodes_to_exclude.is_empty() {
        o.push(format!("exclude-nodes={}", list(&a.nodes_to_exclude)));
    }
    for item in &a.extra_options {
        let (key, value) = item.split_once('=').ok_or_else(|| {
            UserError::msg(format!(
                "--extra-option '{item}': expected KEY=VALUE (ONNX Runtime's extra_options)"
            ))
        })?;
        let (key, value) = (key.trim(), value.trim());
        match key {
            "MatMulConstBOnly" => {
                o.push(format!("matmul-const-b-only={}", bool_value(key, value)?))
            }
            "WeightSymmetric" => o.push(format!("weight-symmetric={}", bool_value(key, value)?)),
            "ActivationSymmetric" => {
                o.push(format!("activation-symmetric={}", bool_value(key, value)?))
            }
            "EnableSubgraph" | "TensorQuantOverrides" | "ForceQuantizeNoInputCheck" => {
                return Err(UserError::msg(format!(
                    "--extra-option {key} is not supported by onnxqc's dynamic quantization yet"
                )))
            }
            _ => {
                return Err(UserError::msg(format!(
                "--extra-option {key}: unknown option (quantize dynamic takes MatMulConstBOnly, \
                     WeightSymmetric, ActivationSymmetric)"
            )))
            }
        }
    }
    let first = if a.no_preprocess {
        "shape-infer"
    } else {
        "preprocess"
    };
    Ok(format!("{first},dynamic{{{}}}", o.join(",")))
}

fn run_dynamic(a: &DynamicArgs) -> Result<(), UserError> {
    let pipeline = dynamic_pipeline(a)?;
    if a.print_pipeline {
        println!("{pipeline}");
        return Ok(());
    }
    eprintln!("onnxqc: note: quantize dynamic runs -passes='{pipeline}'");
    driver::run(&preset_cli(&a.model, &a.output, pipeline))
}

/// The driver's command line for a preset: read `model`, run `pipeline`, write ONNX to `output`.
fn preset_cli(model: &std::path::Path, output: &std::path::Path, pipeline: String) -> Cli {
    Cli {
        input: Some(model.to_path_buf()),
        passes: pipeline,
        output: Some(output.to_path_buf()),
        emit: Some(Emit::Onnx),
        split_input_file: false,
        list_passes: false,
        print_ir_after: vec![],
        print_ir_after_all: false,
        time_passes: false,
        no_verify_each: false,
        elide_resources: false,
        weights: None,
        external_data: None,
        external_data_threshold: None,
        external_data_file: None,
        calib: CalibDataArgs::default(),
        calibration_table: None,
        write_calibration_table: None,
        calibration_table_format: None,
        no_progress: true,
    }
}

/// Option lists of the calibrate and qdq passes, built from the flags.
#[derive(Default)]
struct Options {
    calibrate: Vec<String>,
    lower: Vec<String>,
}

fn bool_value(key: &str, v: &str) -> Result<bool, UserError> {
    match v {
        "True" | "true" | "1" => Ok(true),
        "False" | "false" | "0" => Ok(false),
        _ => Err(UserError::msg(format!(
            "--extra-option {key}={v}: expected True or False"
        ))),
    }
}

fn list_value(v: &str) -> String {
    let items: Vec<&str> = v
        .trim_matches(|c| c == '[' || c == ']')
        .split([',', ';'])
        .map(|s| s.trim().trim_matches(|c| c == '\'' || c == '"'))
        .filter(|s| !s.is_empty())
        .collect();
    format!("[{}]", items.join(","))
}

/// Translates one of ONNX Runtime's extra options.
fn extra_option(item: &str, o: &mut Options) -> Result<(), UserError> {
    let (key, value) = item.split_once('=').ok_or_else(|| {
        UserError::msg(format!(
            "--extra-option '{item}': expected KEY=VALUE (ONNX Runtime's extra_options)"
        ))
    })?;
    let (key, value) = (key.trim(), value.trim());
    let b = |o: &mut Vec<String>, name: &str| -> Result<(), UserError> {
        o.push(format!("{name}={}", bool_value(key, value)?));
        Ok(())
    };
    match key {
        "ActivationSymmetric" => b(&mut o.lower, "activation-symmetric")?,
        "WeightSymmetric" => b(&mut o.lower, "weight-symmetric")?,
        "ForceQuantizeNoInputCheck" => b(&mut o.lower, "force-quantize-no-input-check")?,
        "AddQDQPairToWeight" => b(&mut o.lower, "add-qdq-pair-to-weight")?,
        "DedicatedQDQPair" => b(&mut o.lower, "dedicated-qdq-pair")?,
        "QuantizeBias" => b(&mut o.lower, "quantize-bias")?,
        "QDQKeepRemovableActivations" => b(&mut o.lower, "keep-removable-activations")?,
        "UseQDQContribOps" => b(&mut o.lower, "contrib-ops")?,
        "QDQDisableWeightAdjustForInt32Bias" => {
            let v = bool_value(key, value)?;
            o.lower.push(format!("adjust-weight-for-bias={}", !v));
        }
        "OpTypesToExcludeOutputQuantization" => o
            .lower
            .push(format!("exclude-output-op-types={}", list_value(value))),
        "QDQOpTypePerChannelSupportToAxis" => o
            .lower
            .push(format!("per-channel-axis={}", list_value(value))),
        "MinimumRealRange" => {
            let f: f64 = value.parse().map_err(|_| {
                UserError::msg(format!("--extra-option {key}={value}: expected a number"))
            })?;
            o.lower.push(format!("min-real-range={f}"));
        }
        "CalibTensorRangeSymmetric" => b(&mut o.calibrate, "symmetric")?,
        "CalibMovingAverage" => b(&mut o.calibrate, "moving-average")?,
        "CalibMovingAverageConstant" => o.calibrate.push(format!("averaging-constant={value}")),
        "CalibPercentile" => o.calibrate.push(format!("percentile={value}")),
        "CalibMaxIntermediateOutputs" | "CalibOptimizeMem" => {
            eprintln!(
                "onnxqc: note: --extra-option {key} has no effect: onnxqc's calibration streams, its \
                 memory does not grow with the number of samples"
            );
        }
        "MatMulConstBOnly" => {
            return Err(UserError::msg(format!(
                "--extra-option {key} applies to the QOperator and dynamic formats, not to QDQ"
            )))
        }
        "TensorQuantOverrides" => {
            if value.contains('"') {
                return Err(UserError::msg(format!(
                    "--extra-option {key}={value}: the file name cannot contain '\"'"
                )));
            }
            if !std::path::Path::new(value).is_file() {
                return Err(UserError::msg(format!(
                    "--extra-option {key}={value}: no such file (give a JSON file of overrides; \
                     ONNX Runtime's QuantType values are written as strings such as \"QUInt16\")"
                )));
            }
            o.lower.push(format!("overrides=\"{value}\""));
        }
        "EnableSubgraph"
        | "SmoothQuant"
        | "SmoothQuantAlpha"
        | "SmoothQuantFolding"
        | "CalibStridedMinMax"
        | "ActivationRestrictedAsymmetric"
        | "BlockSize" => {
            return Err(UserError::msg(format!(
                "--extra-option {key} is not supported by onnxqc yet"
            )))
        }
        _ => {
            return Err(UserError::msg(format!(
            "--extra-option {key}: unknown option (expected one of ONNX Runtime's extra_options, \
                 e.g. ActivationSymmetric, WeightSymmetric, QuantizeBias, MinimumRealRange)"
        )))
        }
    }
    Ok(())
}

/// The pipeline `quantize static` runs for these flags.
fn static_pipeline(a: &StaticArgs) -> Result<String, UserError> {
    if a.quant_format == FormatArg::QOperator {
        return Err(UserError::msg(
            "--quant-format QOperator: the qop lowering is not available yet; use --quant-format QDQ",
        ));
    }
    if matches!(
        a.activation_type,
        QuantTypeArg::QInt4 | QuantTypeArg::QUInt4
    ) {
        return Err(UserError::msg(
            "--activation-type: 4-bit activations are not supported (ONNX Runtime neither); use QInt8, \
             QUInt8, QInt16 or QUInt16",
        ));
    }
    if a.activation_type == QuantTypeArg::QInt8 && a.weight_type == QuantTypeArg::QUInt8 {
        return Err(UserError::msg(
            "--activation-type QInt8 with --weight-type QUInt8 is not supported (ONNX Runtime has no \
             kernels for it); use --weight-type QInt8",
        ));
    }
    let mut o = Options::default();
    o.calibrate.push(format!(
        "method={}",
        match a.calibrate_method {
            MethodArg::MinMax => "minmax",
            MethodArg::Entropy => "entropy",
            MethodArg::Percentile => "percentile",
            MethodArg::Distribution => "distribution",
            MethodArg::Mse => "mse",
        }
    ));
    o.lower
        .push(format!("activation-type={}", a.activation_type.short()));
    o.lower
        .push(format!("weight-type={}", a.weight_type.short()));
    if a.per_channel {
        o.lower.push("per-channel=true".into());
    }
    if a.reduce_range {
        o.lower.push("reduce-range=true".into());
    }
    if a.power_of_two {
        o.lower.push("power-of-two=true".into());
    }
    let list = |v: &[String]| format!("[{}]", v.join(","));
    if !a.op_types_to_quantize.is_empty() {
        o.lower
            .push(format!("op-types={}", list(&a.op_types_to_quantize)));
        o.calibrate
            .push(format!("op-types={}", list(&a.op_types_to_quantize)));
    }
    if !a.nodes_to_quantize.is_empty() {
        o.lower
            .push(format!("nodes={}", list(&a.nodes_to_quantize)));
    }
    if !a.nodes_to_exclude.is_empty() {
        o.lower
            .push(format!("exclude-nodes={}", list(&a.nodes_to_exclude)));
    }
    for item in &a.extra_options {
        extra_option(item, &mut o)?;
    }
    let mut passes = vec![];
    passes.push(
        if a.no_preprocess {
            "shape-infer"
        } else {
            "preprocess"
        }
        .to_string(),
    );
    passes.push(format!("calibrate{{{}}}", o.calibrate.join(",")));
    passes.push(format!("qdq{{{}}}", o.lower.join(",")));
    Ok(passes.join(","))
}

fn run_static(a: &StaticArgs) -> Result<(), UserError> {
    let pipeline = static_pipeline(a)?;
    if a.print_pipeline {
        println!("{pipeline}");
        return Ok(());
    }
    if a.calib.calib_data.is_none() && a.calibration_table.is_none() {
        return Err(UserError::msg(
            "static quantization needs calibration data: give --calib-data DIR (or --calib-data random \
             for a smoke test), or --calibration-table FILE",
        ));
    }
    eprintln!("onnxqc: note: quantize static runs -passes='{pipeline}'");
    let cli = Cli {
        calib: a.calib.clone(),
        calibration_table: a.calibration_table.clone(),
        write_calibration_table: a.write_calibration_table.clone(),
        no_progress: a.no_progress,
        ..preset_cli(&a.model, &a.output, pipeline)
    };
    driver::run(&cli)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> StaticArgs {
        let mut argv = vec!["onnxqc quantize", "static"];
        argv.extend_from_slice(args);
        match QuantizeCli::try_parse_from(argv).unwrap().mode {
            Mode::Static(a) => a,
            Mode::Dynamic(_) => unreachable!("parsed as static"),
        }
    }

    #[test]
    fn default_pipeline_is_preprocess_calibrate_qdq_s8s8() {
        let a = parse(&["m.onnx", "-o", "q.onnx"]);
        assert_eq!(
            static_pipeline(&a).unwrap_or_else(|e| panic!("{}", e.diagnostics[0])),
            "preprocess,calibrate{method=minmax},qdq{activation-type=s8,weight-type=s8}"
        );
    }

    #[test]
    fn onnx_runtime_flags_translate() {
        let a = parse(&[
            "m.onnx",
            "-o",
            "q.onnx",
            "--activation-type",
            "QUInt8",
            "--per-channel",
            "--calibrate-method",
            "Percentile",
            "--nodes-to-exclude",
            "a,b",
            "--extra-option",
            "ActivationSymmetric=True",
            "--extra-option",
            "OpTypesToExcludeOutputQuantization=['Conv', 'MatMul']",
            "--extra-option",
            "QDQDisableWeightAdjustForInt32Bias=True",
            "--extra-option",
            "CalibPercentile=99.9",
            "--no-preprocess",
        ]);
        let p = static_pipeline(&a).unwrap_or_else(|e| panic!("{}", e.diagnostics[0]));
        assert_eq!(
            p,
            "shape-infer,calibrate{method=percentile,percentile=99.9},qdq{activation-type=u8,weight-type=s8,\
             per-channel=true,exclude-nodes=[a,b],activation-symmetric=true,\
             exclude-output-op-types=[Conv,MatMul],adjust-weight-for-bias=false}"
        );
    }

    #[test]
    fn bad_combinations_name_the_flag() {
        let msg = |args: &[&str]| {
            let a = parse(args);
            match static_pipeline(&a) {
                Err(e) => e.diagnostics[0].to_string(),
                Ok(p) => panic!("accepted: {p}"),
            }
        };
        assert!(msg(&["m", "-o", "o", "--weight-type", "QUInt8"]).contains("--weight-type QInt8"));
        assert!(msg(&["m", "-o", "o", "--extra-option", "Foo=1"]).contains("Foo: unknown option"));
        assert!(
            msg(&["m", "-o", "o", "--extra-option", "SmoothQuant=True"]).contains("not supported")
        );
        assert!(msg(&[
            "m",
            "-o",
            "o",
            "--extra-option",
            "ActivationSymmetric=maybe"
        ])
        .contains("expected True or False"));
        assert!(msg(&["m", "-o", "o", "--quant-format", "QOperator"]).contains("--quant-format"));
        assert!(msg(&["m", "-o", "o", "--activation-type", "QInt4"]).contains("--activation-type"));
    }
}
