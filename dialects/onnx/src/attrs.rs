//! Names of the IR attributes that carry ONNX model data with no op semantics (metadata, markers), shared
//! by the importer and the exporter so a model survives the round trip. All start with `onnx.`, which no
//! ONNX attribute name does.

/// Module: `ModelProto.ir_version` (int).
pub const IR_VERSION: &str = "onnx.ir_version";
/// Module and local functions: opset imports, a dict from domain to version (int).
pub const OPSET_IMPORT: &str = "onnx.opset_import";
/// The key of the default ONNX domain in [`OPSET_IMPORT`] (MLIR has no empty dictionary keys).
pub const DEFAULT_DOMAIN_KEY: &str = "ai.onnx";
/// Module: `producer_name`, `producer_version`, `domain` (strings), `model_version` (int).
pub const PRODUCER_NAME: &str = "onnx.producer_name";
pub const PRODUCER_VERSION: &str = "onnx.producer_version";
pub const DOMAIN: &str = "onnx.domain";
pub const MODEL_VERSION: &str = "onnx.model_version";
/// Module, function or op: the doc string (string).
pub const DOC_STRING: &str = "onnx.doc_string";
/// Module, function or op: `metadata_props`, a dict of strings.
pub const METADATA_PROPS: &str = "onnx.metadata_props";
/// Main graph: initializers that were also listed as graph inputs (strings, in input order).
pub const INPUT_INITIALIZERS: &str = "onnx.input_initializers";
/// Main graph: `quantization_annotation`, a dict from tensor name to a dict of strings.
pub const QUANTIZATION_ANNOTATION: &str = "onnx.quantization_annotation";
/// Local function: its domain (string); its presence marks a function as a `FunctionProto`.
pub const FUNCTION_DOMAIN: &str = "onnx.function_domain";
/// Local function: attribute names without defaults (strings), and defaults (dict).
pub const FUNCTION_ATTRIBUTES: &str = "onnx.attributes";
pub const FUNCTION_ATTRIBUTE_DEFAULTS: &str = "onnx.attribute_defaults";
/// Op or function: `overload` (string).
pub const OVERLOAD: &str = "onnx.overload";
/// `onnx.Constant`: the op is a `Constant` node, not an initializer (unit).
pub const CONSTANT_NODE: &str = "onnx.constant_node";
/// `onnx.Constant`: the initializer was stored sparse (unit).
pub const SPARSE_INITIALIZER: &str = "onnx.sparse_initializer";
/// Op inside a local function: attributes that refer to the function's attributes, a dict from the
/// attribute name to `[ref_attr_name, TYPE]`.
pub const REF_ATTRS: &str = "onnx.ref_attrs";
/// Op with subgraphs: the subgraphs' names, a dict from the graph attribute's name to the name.
pub const GRAPH_NAMES: &str = "onnx.graph_names";

/// Op: names of its tensor-valued attributes' tensors, a dict from attribute name to name (only the
/// non-empty ones).
pub const TENSOR_NAMES: &str = "onnx.tensor_names";
/// Main graph: doc strings of graph inputs, outputs and `value_info` entries, a dict from tensor name.
pub const VALUE_DOC_STRINGS: &str = "onnx.value_doc_strings";

/// True for the attribute names above (they are not exported as ONNX attributes).
pub fn is_onnx_meta(name: &str) -> bool {
    name.starts_with("onnx.")
}
