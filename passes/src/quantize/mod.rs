//! What the static quantization lowerings (`qdq`, and `qop` after it) share: their options
//! ([`Settings`], parsed from pass options with ONNX Runtime's names and defaults), and the planner
//! ([`plan::plan`]) that decides, op by op as ONNX Runtime's QDQ quantizer does, which tensors are
//! quantized, which share their producer's parameters, which weights are per channel, which biases
//! become int32, which Relu/Clip disappear into their producer, and the scale and zero point of each.
//! Emission (Q/DQ pairs, QLinear ops) is the passes' business.

pub mod consts;
pub mod overrides;
pub mod plan;

use onnxqc_ir::ScalarType;

use crate::options::{OptKind, OptionSpec};
use crate::PassOptions;

/// The options of the static lowerings, in ONNX Runtime's terms (`quantize_static` arguments and
/// `extra_options`).
#[derive(Clone, Debug)]
pub struct Settings {
    pub activation_type: ScalarType,
    pub weight_type: ScalarType,
    pub per_channel: bool,
    pub reduce_range: bool,
    pub activation_symmetric: bool,
    /// `None`: symmetric for signed weight types (ONNX Runtime's default).
    pub weight_symmetric: Option<bool>,
    /// Empty: ONNX Runtime's default set (its QDQ and QOperator registries).
    pub op_types: Vec<String>,
    pub nodes: Vec<String>,
    pub exclude_nodes: Vec<String>,
    pub exclude_output_op_types: Vec<String>,
    /// Channel axis of per-channel weights by op type (`QDQOpTypePerChannelSupportToAxis`).
    pub per_channel_axis: Vec<(String, i64)>,
    pub quantize_bias: bool,
    pub keep_removable_activations: bool,
    pub add_qdq_pair_to_weight: bool,
    pub dedicated_qdq_pair: bool,
    pub force_quantize_no_input_check: bool,
    pub adjust_weight_for_bias: bool,
    pub min_real_range: Option<f32>,
    /// Always the com.microsoft Q/DQ ops.
    pub contrib_ops: bool,
    /// Scales rounded up to powers of two.
    pub power_of_two: bool,
    pub overrides: overrides::Overrides,
}

/// Storage type names accepted by the `*-type` options (ONNX Runtime's `QuantType` spelled short).
pub const TYPE_NAMES: &[&str] = &["u8", "s8", "u16", "s16", "u4", "s4"];

fn storage_of(name: &str) -> Option<ScalarType> {
    Some(match name {
        "u8" => ScalarType::U8,
        "s8" => ScalarType::I8,
        "u16" => ScalarType::U16,
        "s16" => ScalarType::I16,
        "u4" => ScalarType::U4,
        "s4" => ScalarType::I4,
        _ => return None,
    })
}

/// Options the static lowerings share with `dynamic`.
pub const REDUCE_RANGE: OptionSpec = OptionSpec {
    name: "reduce-range",
    kind: OptKind::Bool,
    default: "false",
    help: "quantize weights with one bit less (7-bit int8), for CPUs without VNNI",
};

pub const NODES: OptionSpec = OptionSpec {
    name: "nodes",
    kind: OptKind::List,
    default: "",
    help: "quantize only these nodes (by node name)",
};

pub const EXCLUDE_NODES: OptionSpec = OptionSpec {
    name: "exclude-nodes",
    kind: OptKind::List,
    default: "",
    help: "never quantize these nodes (by node name)",
};

/// The option specs every static lowering accepts.
pub const OPTIONS: [OptionSpec; 21] = [
    OptionSpec {
        name: "activation-type",
        kind: OptKind::Enum(&["u8", "s8", "u16", "s16"]),
        default: "s8",
        help: "storage type of activations (ONNX Runtime's activation_type)",
    },
    OptionSpec {
        name: "weight-type",
        kind: OptKind::Enum(TYPE_NAMES),
        default: "s8",
        help: "storage type of weights (weight_type)",
    },
    OptionSpec {
        name: "per-channel",
        kind: OptKind::Bool,
        default: "false",
        help: "one scale per output channel for Conv/ConvTranspose/Gemm/MatMul weights (always symmetric)",
    },
    REDUCE_RANGE,
    OptionSpec {
        name: "activation-symmetric",
        kind: OptKind::Bool,
        default: "false",
        help: "symmetric activation ranges (ActivationSymmetric)",
    },
    OptionSpec {
        name: "weight-symmetric",
        kind: OptKind::Enum(&["auto", "true", "false"]),
        default: "auto",
        help: "symmetric weights (WeightSymmetric); auto: symmetric for signed weight types",
    },
    OptionSpec {
        name: "op-types",
        kind: OptKind::List,
        default: "",
        help: "op types to quantize (default: ONNX Runtime's quantize_static set)",
    },
    NODES,
    EXCLUDE_NODES,
    OptionSpec {
        name: "exclude-output-op-types",
        kind: OptKind::List,
        default: "",
        help: "op types whose outputs get no Q/DQ (OpTypesToExcludeOutputQuantization)",
    },
    OptionSpec {
        name: "per-channel-axis",
        kind: OptKind::List,
        default: "",
        help: "channel axis per op type, e.g. [MatMul:1] (QDQOpTypePerChannelSupportToAxis)",
    },
    OptionSpec {
        name: "quantize-bias",
        kind: OptKind::Bool,
        default: "true",
        help: "store Conv/Gemm biases as int32 with scale s_in·s_w (QuantizeBias)",
    },
    OptionSpec {
        name: "keep-removable-activations",
        kind: OptKind::Bool,
        default: "false",
        help: "keep Relu/Clip even when their range can be folded into the producer's Q/DQ",
    },
    OptionSpec {
        name: "add-qdq-pair-to-weight",
        kind: OptKind::Bool,
        default: "false",
        help: "keep float weights behind a Q/DQ pair instead of storing them quantized",
    },
    OptionSpec {
        name: "dedicated-qdq-pair",
        kind: OptKind::Bool,
        default: "false",
        help: "one Q/DQ pair per consumer instead of a shared one (DedicatedQDQPair, for TensorRT)",
    },
    OptionSpec {
        name: "force-quantize-no-input-check",
        kind: OptKind::Bool,
        default: "false",
        help: "quantize shape ops even when their input is not quantized (ForceQuantizeNoInputCheck)",
    },
    OptionSpec {
        name: "min-real-range",
        kind: OptKind::Float,
        default: "0",
        help: "least rmax-rmin of any range (MinimumRealRange); 0: none",
    },
    OptionSpec {
        name: "overrides",
        kind: OptKind::String,
        default: "",
        help: "JSON file of per-tensor overrides (ONNX Runtime's TensorQuantOverrides: quant_type, \
               scale/zero_point, symmetric, reduce_range, rmin/rmax, axis)",
    },
    OptionSpec {
        name: "power-of-two",
        kind: OptKind::Bool,
        default: "false",
        help: "round every scale up to a power of two (scale = 2^e, as Espressif's ESP-DL stores them)",
    },
    OptionSpec {
        name: "contrib-ops",
        kind: OptKind::Bool,
        default: "false",
        help: "use the com.microsoft QuantizeLinear/DequantizeLinear at any opset (UseQDQContribOps)",
    },
    OptionSpec {
        name: "adjust-weight-for-bias",
        kind: OptKind::Bool,
        default: "true",
        help: "raise a weight's scale when s_in·s_w would push the int32 bias out of range \
               (off: QDQDisableWeightAdjustForInt32Bias)",
    },
];

impl Settings {
    /// Reads the options; errors name the option.
    pub fn from_options(o: &PassOptions) -> Result<Settings, String> {
        let ty = |name: &str| {
            storage_of(o.str(name)).ok_or_else(|| format!("{name}: unknown type '{}'", o.str(name)))
        };
        let activation_type = ty("activation-type")?;
        let weight_type = ty("weight-type")?;
        if activation_type == ScalarType::I8 && weight_type == ScalarType::U8 {
            return Err(
                "activation-type=s8 with weight-type=u8 is not supported (ONNX Runtime has no \
                 kernels for it); use weight-type=s8"
                    .into(),
            );
        }
        let mut per_channel_axis = vec![];
        for item in o.list("per-channel-axis") {
            let (op, axis) = item
                .split_once(':')
                .ok_or_else(|| format!("per-channel-axis: expected OpType:axis, got '{item}'"))?;
            let axis: i64 = axis
                .trim()
                .parse()
                .map_err(|_| format!("per-channel-axis: '{axis}' in '{item}' is not an integer"))?;
            per_channel_axis.push((op.trim().to_string(), axis));
        }
        let min_real_range = o.float("min-real-range");
        if min_real_range < 0.0 || !min_real_range.is_finite() {
            return Err(format!(
                "min-real-range: {min_real_range} must be a finite number >= 0"
            ));
        }
        Ok(Settings {
            activation_type,
            weight_type,
            per_channel: o.bool("per-channel"),
            reduce_range: o.bool("reduce-range"),
            activation_symmetric: o.bool("activation-symmetric"),
            weight_symmetric: match o.str("weight-symmetric") {
                "true" => Some(true),
                "false" => Some(false),
                _ => None,
            },
            op_types: o.list("op-types").to_vec(),
            nodes: o.list("nodes").to_vec(),
            exclude_nodes: o.list("exclude-nodes").to_vec(),
            exclude_output_op_types: o.list("exclude-output-op-types").to_vec(),
            per_channel_axis,
            quantize_bias: o.bool("quantize-bias"),
            keep_removable_activations: o.bool("keep-removable-activations"),
            add_qdq_pair_to_weight: o.bool("add-qdq-pair-to-weight"),
            dedicated_qdq_pair: o.bool("dedicated-qdq-pair"),
            force_quantize_no_input_check: o.bool("force-quantize-no-input-check"),
            adjust_weight_for_bias: o.bool("adjust-weight-for-bias"),
            min_real_range: (min_real_range > 0.0).then_some(min_real_range as f32),
            contrib_ops: o.bool("contrib-ops"),
            power_of_two: o.bool("power-of-two"),
            overrides: match o.str("overrides") {
                "" => overrides::Overrides::default(),
                path => overrides::Overrides::read(std::path::Path::new(path))
                    .map_err(|e| format!("overrides: {e}"))?,
            },
        })
    }

    /// ONNX Runtime's `is_weight_symmetric`: explicit setting, else signed types are symmetric.
    pub fn weight_symmetric_for(&self, storage: ScalarType) -> bool {
        self.weight_symmetric.unwrap_or(matches!(
            storage,
            ScalarType::I4 | ScalarType::I8 | ScalarType::I16
        ))
    }

    /// Whether a type needs opset 21 for the standard Q/DQ ops.
    pub fn needs_opset21(&self) -> bool {
        let mut types = vec![self.activation_type, self.weight_type];
        types.extend(self.overrides.types());
        types.iter().any(|t| {
            matches!(
                t,
                ScalarType::U16 | ScalarType::I16 | ScalarType::U4 | ScalarType::I4
            )
        })
    }
}
