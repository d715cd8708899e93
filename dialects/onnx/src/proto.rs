//! The ONNX protobuf schema as Rust types: hand-written [`prost`] messages that mirror
//! `onnx-ml.proto` of onnx 1.23.2 (IR version 14, `Version::IrVersion`) field for field, with the
//! names, field numbers, wire types and module layout that `prost-build` would generate, so that
//! `.onnx` files can be read and written without a build script or `protoc`. This is the wire layer
//! under ONNX import and export; nothing here interprets a model.
//!
//! Choices that differ from a literal `prost-build` run on the proto2 file:
//! * proto2 `optional` scalars and strings are plain fields (`i64`, `String`, ...) rather than
//!   `Option`s: a field that is absent reads as its default, and a field equal to its default is not
//!   written. ONNX gives no meaning to the presence of any of them (`AttributeProto.type` discriminates
//!   attribute values since IR version 2), but an explicitly written default value (for example the
//!   `domain: ""` of a default-domain [`OperatorSetIdProto`], which onnx's python helper writes) does
//!   not survive a decode/encode round trip byte for byte.
//! * [`TensorProto::raw_data`] is a [`bytes::Bytes`]: decoding a model from a `Bytes` buffer (for
//!   example a memory-mapped file wrapped in one) makes every `raw_data` a view into that buffer
//!   instead of a copy.
//! * Fields that the schema types `int32` but that hold a [`tensor_proto::DataType`]
//!   (`TensorProto.data_type`, `TypeProto.Tensor.elem_type`, ...) stay `int32`, as in the schema.
//!
//! Repeated scalars keep proto2's encodings: unpacked (`packed = "false"`) except where the schema asks
//! for `[packed = true]` (the typed data fields of [`TensorProto`]). Like any encoder, prost writes
//! fields in field-number order, except that a oneof is written at the position of its smallest field
//! number: a [`TypeProto`] with both a `denotation` (6) and an `opaque_type` (7), `sparse_tensor_type`
//! (8) or `optional_type` (9) is written oneof first. Both orders decode to the same message.

/// The IR versions of ONNX. The IR version of a model is [`ModelProto::ir_version`]; `IrVersion` is
/// the version this schema describes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, prost::Enumeration)]
#[repr(i32)]
pub enum Version {
    /// proto3 requires the first enum value to be zero.
    StartVersion = 0,
    /// IR version 1, published on Oct 10, 2017.
    IrVersion20171010 = 1,
    /// IR version 2: added the type discriminator to `AttributeProto`.
    IrVersion20171030 = 2,
    /// IR version 3: operator set versioning (`OperatorSetIdProto`, `ModelProto.opset_import`) and
    /// `NodeProto.domain`.
    IrVersion2017113 = 3,
    /// IR version 4: initializers need not be graph inputs; `BFLOAT16`.
    IrVersion2019122 = 4,
    /// IR version 5: `TensorAnnotation` and `GraphProto.quantization_annotation`.
    IrVersion2019318 = 5,
    /// IR version 6: sparse tensors (`SparseTensorProto`, sparse initializers).
    IrVersion2019919 = 6,
    /// IR version 7: `TrainingInfoProto`, multiple opset imports in functions.
    IrVersion202058 = 7,
    /// IR version 8: `TypeProto.SparseTensor`, `TypeProto.Optional`, model-local functions.
    IrVersion2021730 = 8,
    /// IR version 9: the float 8 types.
    IrVersion202355 = 9,
    /// IR version 10: `UINT4`, `INT4`, function overloads, `metadata_props` on more messages.
    IrVersion2024325 = 10,
    /// IR version 11: `FLOAT4E2M1`, multi-device configurations.
    IrVersion20250512 = 11,
    /// IR version 12: `FLOAT8E8M0`.
    IrVersion20250826 = 12,
    /// IR version 13: `UINT2`, `INT2`.
    IrVersion20251106 = 13,
    /// IR version 14: `FLOAT6E2M3`, `FLOAT6E3M2`; `TypeProto.Opaque` outside ONNX-ML builds.
    IrVersion = 14,
}

impl Version {
    /// The name of the value in the `.proto` file.
    pub fn as_str_name(&self) -> &'static str {
        match self {
            Self::StartVersion => "_START_VERSION",
            Self::IrVersion20171010 => "IR_VERSION_2017_10_10",
            Self::IrVersion20171030 => "IR_VERSION_2017_10_30",
            Self::IrVersion2017113 => "IR_VERSION_2017_11_3",
            Self::IrVersion2019122 => "IR_VERSION_2019_1_22",
            Self::IrVersion2019318 => "IR_VERSION_2019_3_18",
            Self::IrVersion2019919 => "IR_VERSION_2019_9_19",
            Self::IrVersion202058 => "IR_VERSION_2020_5_8",
            Self::IrVersion2021730 => "IR_VERSION_2021_7_30",
            Self::IrVersion202355 => "IR_VERSION_2023_5_5",
            Self::IrVersion2024325 => "IR_VERSION_2024_3_25",
            Self::IrVersion20250512 => "IR_VERSION_2025_05_12",
            Self::IrVersion20250826 => "IR_VERSION_2025_08_26",
            Self::IrVersion20251106 => "IR_VERSION_2025_11_06",
            Self::IrVersion => "IR_VERSION",
        }
    }

    /// The value named `value` in the `.proto` file.
    pub fn from_str_name(value: &str) -> Option<Self> {
        match value {
            "_START_VERSION" => Some(Self::StartVersion),
            "IR_VERSION_2017_10_10" => Some(Self::IrVersion20171010),
            "IR_VERSION_2017_10_30" => Some(Self::IrVersion20171030),
            "IR_VERSION_2017_11_3" => Some(Self::IrVersion2017113),
            "IR_VERSION_2019_1_22" => Some(Self::IrVersion2019122),
            "IR_VERSION_2019_3_18" => Some(Self::IrVersion2019318),
            "IR_VERSION_2019_9_19" => Some(Self::IrVersion2019919),
            "IR_VERSION_2020_5_8" => Some(Self::IrVersion202058),
            "IR_VERSION_2021_7_30" => Some(Self::IrVersion2021730),
            "IR_VERSION_2023_5_5" => Some(Self::IrVersion202355),
            "IR_VERSION_2024_3_25" => Some(Self::IrVersion2024325),
            "IR_VERSION_2025_05_12" => Some(Self::IrVersion20250512),
            "IR_VERSION_2025_08_26" => Some(Self::IrVersion20250826),
            "IR_VERSION_2025_11_06" => Some(Self::IrVersion20251106),
            "IR_VERSION" => Some(Self::IrVersion),
            _ => None,
        }
    }
}

/// A named attribute of a node (or a function): exactly one value field, the one `type` names, is
/// set, unless `ref_attr_name` makes it a reference to an attribute of the enclosing function.
#[derive(Clone, PartialEq, prost::Message)]
pub struct AttributeProto {
    /// The attribute's name (required).
    #[prost(string, tag = "1")]
    pub name: String,
    /// If not empty, this attribute holds no value but refers to the attribute of this name of the
    /// function whose body the node is in. Only valid inside a `FunctionProto`.
    #[prost(string, tag = "21")]
    pub ref_attr_name: String,
    /// Human-readable documentation (Markdown).
    #[prost(string, tag = "13")]
    pub doc_string: String,
    /// Which of the value fields below is in use (required since IR version 2).
    #[prost(enumeration = "attribute_proto::AttributeType", tag = "20")]
    pub r#type: i32,
    /// `FLOAT` value.
    #[prost(float, tag = "2")]
    pub f: f32,
    /// `INT` value.
    #[prost(int64, tag = "3")]
    pub i: i64,
    /// `STRING` value (UTF-8, but typed `bytes` in the schema).
    #[prost(bytes = "vec", tag = "4")]
    pub s: Vec<u8>,
    /// `TENSOR` value.
    #[prost(message, optional, tag = "5")]
    pub t: Option<TensorProto>,
    /// `GRAPH` value.
    #[prost(message, optional, tag = "6")]
    pub g: Option<GraphProto>,
    /// `SPARSE_TENSOR` value.
    #[prost(message, optional, tag = "22")]
    pub sparse_tensor: Option<SparseTensorProto>,
    /// `TYPE_PROTO` value.
    #[prost(message, optional, tag = "14")]
    pub tp: Option<TypeProto>,
    /// `FLOATS` value.
    #[prost(float, repeated, packed = "false", tag = "7")]
    pub floats: Vec<f32>,
    /// `INTS` value.
    #[prost(int64, repeated, packed = "false", tag = "8")]
    pub ints: Vec<i64>,
    /// `STRINGS` value (UTF-8 each).
    #[prost(bytes = "vec", repeated, tag = "9")]
    pub strings: Vec<Vec<u8>>,
    /// `TENSORS` value.
    #[prost(message, repeated, tag = "10")]
    pub tensors: Vec<TensorProto>,
    /// `GRAPHS` value.
    #[prost(message, repeated, tag = "11")]
    pub graphs: Vec<GraphProto>,
    /// `SPARSE_TENSORS` value.
    #[prost(message, repeated, tag = "23")]
    pub sparse_tensors: Vec<SparseTensorProto>,
    /// `TYPE_PROTOS` value.
    #[prost(message, repeated, tag = "15")]
    pub type_protos: Vec<TypeProto>,
}

/// Nested types of [`AttributeProto`].
pub mod attribute_proto {
    /// The discriminator of an attribute's value ([`super::AttributeProto::r#type`]).
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, prost::Enumeration)]
    #[repr(i32)]
    pub enum AttributeType {
        Undefined = 0,
        Float = 1,
        Int = 2,
        String = 3,
        Tensor = 4,
        Graph = 5,
        SparseTensor = 11,
        TypeProto = 13,
        Floats = 6,
        Ints = 7,
        Strings = 8,
        Tensors = 9,
        Graphs = 10,
        SparseTensors = 12,
        TypeProtos = 14,
    }

    impl AttributeType {
        /// The name of the value in the `.proto` file.
        pub fn as_str_name(&self) -> &'static str {
            match self {
                Self::Undefined => "UNDEFINED",
                Self::Float => "FLOAT",
                Self::Int => "INT",
                Self::String => "STRING",
                Self::Tensor => "TENSOR",
                Self::Graph => "GRAPH",
                Self::SparseTensor => "SPARSE_TENSOR",
                Self::TypeProto => "TYPE_PROTO",
                Self::Floats => "FLOATS",
                Self::Ints => "INTS",
                Self::Strings => "STRINGS",
                Self::Tensors => "TENSORS",
                Self::Graphs => "GRAPHS",
                Self::SparseTensors => "SPARSE_TENSORS",
                Self::TypeProtos => "TYPE_PROTOS",
            }
        }

        /// The value named `value` in the `.proto` file.
        pub fn from_str_name(value: &str) -> Option<Self> {
            match value {
                "UNDEFINED" => Some(Self::Undefined),
                "FLOAT" => Some(Self::Float),
                "INT" => Some(Self::Int),
                "STRING" => Some(Self::String),
                "TENSOR" => Some(Self::Tensor),
                "GRAPH" => Some(Self::Graph),
                "SPARSE_TENSOR" => Some(Self::SparseTensor),
                "TYPE_PROTO" => Some(Self::TypeProto),
                "FLOATS" => Some(Self::Floats),
                "INTS" => Some(Self::Ints),
                "STRINGS" => Some(Self::Strings),
                "TENSORS" => Some(Self::Tensors),
                "GRAPHS" => Some(Self::Graphs),
                "SPARSE_TENSORS" => Some(Self::SparseTensors),
                "TYPE_PROTOS" => Some(Self::TypeProtos),
                _ => None,
            }
        }
    }
}

/// A value's name, type and documentation: graph inputs, outputs and `value_info` entries.
#[derive(Clone, PartialEq, prost::Message)]
pub struct ValueInfoProto {
    /// The value's name (required).
    #[prost(string, tag = "1")]
    pub name: String,
    /// The value's type; required for graph inputs and outputs.
    #[prost(message, optional, tag = "2")]
    pub r#type: Option<TypeProto>,
    /// Human-readable documentation (Markdown).
    #[prost(string, tag = "3")]
    pub doc_string: String,
    /// Named metadata values; keys should be distinct.
    #[prost(message, repeated, tag = "4")]
    pub metadata_props: Vec<StringStringEntryProto>,
}

/// A call of an operator (or of a model-local function) in a graph.
#[derive(Clone, PartialEq, prost::Message)]
pub struct NodeProto {
    /// Input value names; an empty name is an absent optional input.
    #[prost(string, repeated, tag = "1")]
    pub input: Vec<String>,
    /// Output value names; an empty name is an unused optional output.
    #[prost(string, repeated, tag = "2")]
    pub output: Vec<String>,
    /// An optional name of the node.
    #[prost(string, tag = "3")]
    pub name: String,
    /// The operator's name.
    #[prost(string, tag = "4")]
    pub op_type: String,
    /// The domain of the operator set that defines `op_type` (`""` is the default ONNX domain).
    #[prost(string, tag = "7")]
    pub domain: String,
    /// Overload identifier, used only to map the node to a model-local function.
    #[prost(string, tag = "8")]
    pub overload: String,
    /// The node's attributes.
    #[prost(message, repeated, tag = "5")]
    pub attribute: Vec<AttributeProto>,
    /// Human-readable documentation (Markdown).
    #[prost(string, tag = "6")]
    pub doc_string: String,
    /// Named metadata values; keys should be distinct.
    #[prost(message, repeated, tag = "9")]
    pub metadata_props: Vec<StringStringEntryProto>,
    /// Multi-device annotations of the node.
    #[prost(message, repeated, tag = "10")]
    pub device_configurations: Vec<NodeDeviceConfigurationProto>,
}

/// A map entry from an `int64` key to a list of `int64`s.
#[derive(Clone, PartialEq, Eq, Hash, prost::Message)]
pub struct IntIntListEntryProto {
    #[prost(int64, tag = "1")]
    pub key: i64,
    #[prost(int64, repeated, packed = "false", tag = "2")]
    pub value: Vec<i64>,
}

/// The multi-device configuration of one node.
#[derive(Clone, PartialEq, prost::Message)]
pub struct NodeDeviceConfigurationProto {
    /// The name of a [`DeviceConfigurationProto`] of the model (required).
    #[prost(string, tag = "1")]
    pub configuration_id: String,
    /// Sharding of the node's inputs and outputs.
    #[prost(message, repeated, tag = "2")]
    pub sharding_spec: Vec<ShardingSpecProto>,
    /// The pipeline stage of the node.
    #[prost(int32, tag = "3")]
    pub pipeline_stage: i32,
}

/// How one input or output of a node is sharded over devices.
#[derive(Clone, PartialEq, prost::Message)]
pub struct ShardingSpecProto {
    /// The input or output being sharded (required).
    #[prost(string, tag = "1")]
    pub tensor_name: String,
    /// The devices (or device groups, see `index_to_device_group_map`) the tensor is spread over.
    #[prost(int64, repeated, packed = "false", tag = "2")]
    pub device: Vec<i64>,
    /// Which entries of `device` are groups, and of which devices.
    #[prost(message, repeated, tag = "3")]
    pub index_to_device_group_map: Vec<IntIntListEntryProto>,
    /// The sharding of each axis.
    #[prost(message, repeated, tag = "4")]
    pub sharded_dim: Vec<ShardedDimProto>,
}

/// The sharding of one axis of a tensor.
#[derive(Clone, PartialEq, prost::Message)]
pub struct ShardedDimProto {
    /// The axis, in `[-r, r - 1]` (required).
    #[prost(int64, tag = "1")]
    pub axis: i64,
    /// Usually one entry; several when the axis fuses several reshaped axes.
    #[prost(message, repeated, tag = "2")]
    pub simple_sharding: Vec<SimpleShardedDimProto>,
}

/// A dimension (possibly symbolic) split into `num_shards` shards.
#[derive(Clone, PartialEq, Eq, Hash, prost::Message)]
pub struct SimpleShardedDimProto {
    /// The number of shards (required).
    #[prost(int64, tag = "3")]
    pub num_shards: i64,
    /// The dimension being sharded.
    #[prost(oneof = "simple_sharded_dim_proto::Dim", tags = "1, 2")]
    pub dim: Option<simple_sharded_dim_proto::Dim>,
}

/// Nested types of [`SimpleShardedDimProto`].
pub mod simple_sharded_dim_proto {
    /// A dimension being sharded: a number or a symbol.
    #[derive(Clone, PartialEq, Eq, Hash, prost::Oneof)]
    pub enum Dim {
        #[prost(int64, tag = "1")]
        DimValue(i64),
        #[prost(string, tag = "2")]
        DimParam(String),
    }
}

/// How to initialize and train a model: an initialization graph and an algorithm step graph, with
/// bindings of their outputs to initializers.
#[derive(Clone, PartialEq, prost::Message)]
pub struct TrainingInfoProto {
    /// Computes initial values of trainable tensors.
    #[prost(message, optional, tag = "1")]
    pub initialization: Option<GraphProto>,
    /// One training step, combined with the inference graph.
    #[prost(message, optional, tag = "2")]
    pub algorithm: Option<GraphProto>,
    /// Initializer name to `initialization` output name.
    #[prost(message, repeated, tag = "3")]
    pub initialization_binding: Vec<StringStringEntryProto>,
    /// Initializer name to `algorithm` output name.
    #[prost(message, repeated, tag = "4")]
    pub update_binding: Vec<StringStringEntryProto>,
}

/// The top-level ONNX message: a graph with its operator set imports and metadata.
#[derive(Clone, PartialEq, prost::Message)]
pub struct ModelProto {
    /// The IR version the model targets (see [`Version`]; required).
    #[prost(int64, tag = "1")]
    pub ir_version: i64,
    /// The operator sets the model's nodes bind against; at least one.
    #[prost(message, repeated, tag = "8")]
    pub opset_import: Vec<OperatorSetIdProto>,
    /// The tool that produced the model.
    #[prost(string, tag = "2")]
    pub producer_name: String,
    /// The version of the tool that produced the model.
    #[prost(string, tag = "3")]
    pub producer_version: String,
    /// The model's domain, a reverse domain name.
    #[prost(string, tag = "4")]
    pub domain: String,
    /// The version of the model.
    #[prost(int64, tag = "5")]
    pub model_version: i64,
    /// Human-readable documentation (Markdown).
    #[prost(string, tag = "6")]
    pub doc_string: String,
    /// The graph that is evaluated to execute the model.
    #[prost(message, optional, tag = "7")]
    pub graph: Option<GraphProto>,
    /// Named metadata values; keys should be distinct.
    #[prost(message, repeated, tag = "14")]
    pub metadata_props: Vec<StringStringEntryProto>,
    /// Training information.
    #[prost(message, repeated, tag = "20")]
    pub training_info: Vec<TrainingInfoProto>,
    /// Functions local to the model, unique by `(domain, name, overload)`.
    #[prost(message, repeated, tag = "25")]
    pub functions: Vec<FunctionProto>,
    /// Multi-device configurations the model can be run in.
    #[prost(message, repeated, tag = "26")]
    pub configuration: Vec<DeviceConfigurationProto>,
}

/// A multi-device configuration of a model.
#[derive(Clone, PartialEq, Eq, Hash, prost::Message)]
pub struct DeviceConfigurationProto {
    /// The configuration's name (required).
    #[prost(string, tag = "1")]
    pub name: String,
    /// The number of devices (required).
    #[prost(int32, tag = "2")]
    pub num_devices: i32,
    /// Optional device names, `num_devices` of them if given.
    #[prost(string, repeated, tag = "3")]
    pub device: Vec<String>,
}

/// A map entry from a string to a string (proto2 has no maps).
#[derive(Clone, PartialEq, Eq, Hash, prost::Message)]
pub struct StringStringEntryProto {
    #[prost(string, tag = "1")]
    pub key: String,
    #[prost(string, tag = "2")]
    pub value: String,
}

/// The quantization parameters of a tensor: `quant_parameter_tensor_names` maps keys such as
/// `SCALE_TENSOR` and `ZERO_POINT_TENSOR` to the names of the tensors that hold them.
#[derive(Clone, PartialEq, prost::Message)]
pub struct TensorAnnotation {
    #[prost(string, tag = "1")]
    pub tensor_name: String,
    #[prost(message, repeated, tag = "2")]
    pub quant_parameter_tensor_names: Vec<StringStringEntryProto>,
}

/// A computation graph: nodes in topological order, with inputs, outputs, initializers and type
/// information of intermediate values.
#[derive(Clone, PartialEq, prost::Message)]
pub struct GraphProto {
    /// The nodes, topologically sorted.
    #[prost(message, repeated, tag = "1")]
    pub node: Vec<NodeProto>,
    /// The graph's name.
    #[prost(string, tag = "2")]
    pub name: String,
    /// Constant (or, for training, initial) values of named tensors.
    #[prost(message, repeated, tag = "5")]
    pub initializer: Vec<TensorProto>,
    /// Sparse initializers.
    #[prost(message, repeated, tag = "15")]
    pub sparse_initializer: Vec<SparseTensorProto>,
    /// Human-readable documentation (Markdown).
    #[prost(string, tag = "10")]
    pub doc_string: String,
    /// The graph's inputs.
    #[prost(message, repeated, tag = "11")]
    pub input: Vec<ValueInfoProto>,
    /// The graph's outputs.
    #[prost(message, repeated, tag = "12")]
    pub output: Vec<ValueInfoProto>,
    /// Type information of values that are neither inputs nor outputs.
    #[prost(message, repeated, tag = "13")]
    pub value_info: Vec<ValueInfoProto>,
    /// Quantization parameters of tensors of the graph.
    #[prost(message, repeated, tag = "14")]
    pub quantization_annotation: Vec<TensorAnnotation>,
    /// Named metadata values; keys should be distinct.
    #[prost(message, repeated, tag = "16")]
    pub metadata_props: Vec<StringStringEntryProto>,
}

/// A tensor value: shape, element type and data, the data stored in exactly one of the typed `*_data`
/// fields, `raw_data` (little-endian, fixed width) or an external file (`data_location` `EXTERNAL`).
#[derive(Clone, PartialEq, prost::Message)]
pub struct TensorProto {
    /// The shape.
    #[prost(int64, repeated, packed = "false", tag = "1")]
    pub dims: Vec<i64>,
    /// The element type, a [`tensor_proto::DataType`] (typed `int32` in the schema).
    #[prost(int32, tag = "2")]
    pub data_type: i32,
    /// Which chunk of a large tensor this message stores.
    #[prost(message, optional, tag = "3")]
    pub segment: Option<tensor_proto::Segment>,
    /// `FLOAT` and `COMPLEX64` data.
    #[prost(float, repeated, tag = "4")]
    pub float_data: Vec<f32>,
    /// `INT32`, `INT16`, `INT8`, `INT4`, `INT2`, `UINT16`, `UINT8`, `UINT4`, `UINT2`, `BOOL`,
    /// `FLOAT16`, `BFLOAT16` and the float 8/6/4 types, one element (or, for 4 and 2 bit types, one
    /// packed byte) per entry.
    #[prost(int32, repeated, tag = "5")]
    pub int32_data: Vec<i32>,
    /// `STRING` data (UTF-8, typed `bytes` in the schema).
    #[prost(bytes = "vec", repeated, tag = "6")]
    pub string_data: Vec<Vec<u8>>,
    /// `INT64` data.
    #[prost(int64, repeated, tag = "7")]
    pub int64_data: Vec<i64>,
    /// The tensor's name; required for initializers.
    #[prost(string, tag = "8")]
    pub name: String,
    /// Human-readable documentation (Markdown).
    #[prost(string, tag = "12")]
    pub doc_string: String,
    /// The data as fixed-width little-endian elements. A view into the decoded buffer when the
    /// message was decoded from a [`bytes::Bytes`].
    #[prost(bytes = "bytes", tag = "9")]
    pub raw_data: bytes::Bytes,
    /// Where the data is when `data_location` is `EXTERNAL`: keys `location` (required, relative to
    /// the model file), `offset`, `length` and `checksum`.
    #[prost(message, repeated, tag = "13")]
    pub external_data: Vec<StringStringEntryProto>,
    /// Whether the data is in this message or in an external file.
    #[prost(enumeration = "tensor_proto::DataLocation", tag = "14")]
    pub data_location: i32,
    /// `DOUBLE` and `COMPLEX128` data.
    #[prost(double, repeated, tag = "10")]
    pub double_data: Vec<f64>,
    /// `UINT32` and `UINT64` data.
    #[prost(uint64, repeated, tag = "11")]
    pub uint64_data: Vec<u64>,
    /// Named metadata values; keys should be distinct.
    #[prost(message, repeated, tag = "16")]
    pub metadata_props: Vec<StringStringEntryProto>,
}

/// Nested types of [`TensorProto`].
pub mod tensor_proto {
    /// The range `[begin, end)` of the flattened tensor that one message of a chunked tensor stores.
    #[derive(Clone, Copy, PartialEq, Eq, Hash, prost::Message)]
    pub struct Segment {
        #[prost(int64, tag = "1")]
        pub begin: i64,
        #[prost(int64, tag = "2")]
        pub end: i64,
    }

    /// The element types of tensors.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, prost::Enumeration)]
    #[repr(i32)]
    pub enum DataType {
        Undefined = 0,
        Float = 1,
        Uint8 = 2,
        Int8 = 3,
        Uint16 = 4,
        Int16 = 5,
        Int32 = 6,
        Int64 = 7,
        String = 8,
        Bool = 9,
        /// IEEE 754 half precision.
        Float16 = 10,
        Double = 11,
        Uint32 = 12,
        Uint64 = 13,
        /// Complex with float32 real and imaginary parts.
        Complex64 = 14,
        /// Complex with float64 real and imaginary parts.
        Complex128 = 15,
        /// float32 truncated to 16 bits (1 sign, 8 exponent, 7 mantissa bits).
        Bfloat16 = 16,
        /// 8-bit float, 4 exponent and 3 mantissa bits, NaN but no infinities.
        Float8e4m3fn = 17,
        /// Like `Float8e4m3fn`, without negative zero.
        Float8e4m3fnuz = 18,
        /// 8-bit float, 5 exponent and 2 mantissa bits, NaN and infinities.
        Float8e5m2 = 19,
        /// Like `Float8e5m2`, no infinities, no negative zero.
        Float8e5m2fnuz = 20,
        /// Unsigned integer in `[0, 15]`.
        Uint4 = 21,
        /// Signed integer in `[-8, 7]`.
        Int4 = 22,
        /// 4-bit float, 2 exponent and 1 mantissa bit.
        Float4e2m1 = 23,
        /// 8-bit exponent-only float (E8M0), used for scales.
        Float8e8m0 = 24,
        /// Unsigned integer in `[0, 3]`.
        Uint2 = 25,
        /// Signed integer in `[-2, 1]`.
        Int2 = 26,
        /// 6-bit float, 2 exponent and 3 mantissa bits.
        Float6e2m3 = 27,
        /// 6-bit float, 3 exponent and 2 mantissa bits.
        Float6e3m2 = 28,
    }

    impl DataType {
        /// The name of the value in the `.proto` file.
        pub fn as_str_name(&self) -> &'static str {
            match self {
                Self::Undefined => "UNDEFINED",
                Self::Float => "FLOAT",
                Self::Uint8 => "UINT8",
                Self::Int8 => "INT8",
                Self::Uint16 => "UINT16",
                Self::Int16 => "INT16",
                Self::Int32 => "INT32",
                Self::Int64 => "INT64",
                Self::String => "STRING",
                Self::Bool => "BOOL",
                Self::Float16 => "FLOAT16",
                Self::Double => "DOUBLE",
                Self::Uint32 => "UINT32",
                Self::Uint64 => "UINT64",
                Self::Complex64 => "COMPLEX64",
                Self::Complex128 => "COMPLEX128",
                Self::Bfloat16 => "BFLOAT16",
                Self::Float8e4m3fn => "FLOAT8E4M3FN",
                Self::Float8e4m3fnuz => "FLOAT8E4M3FNUZ",
                Self::Float8e5m2 => "FLOAT8E5M2",
                Self::Float8e5m2fnuz => "FLOAT8E5M2FNUZ",
                Self::Uint4 => "UINT4",
                Self::Int4 => "INT4",
                Self::Float4e2m1 => "FLOAT4E2M1",
                Self::Float8e8m0 => "FLOAT8E8M0",
                Self::Uint2 => "UINT2",
                Self::Int2 => "INT2",
                Self::Float6e2m3 => "FLOAT6E2M3",
                Self::Float6e3m2 => "FLOAT6E3M2",
            }
        }

        /// The value named `value` in the `.proto` file.
        pub fn from_str_name(value: &str) -> Option<Self> {
            match value {
                "UNDEFINED" => Some(Self::Undefined),
                "FLOAT" => Some(Self::Float),
                "UINT8" => Some(Self::Uint8),
                "INT8" => Some(Self::Int8),
                "UINT16" => Some(Self::Uint16),
                "INT16" => Some(Self::Int16),
                "INT32" => Some(Self::Int32),
                "INT64" => Some(Self::Int64),
                "STRING" => Some(Self::String),
                "BOOL" => Some(Self::Bool),
                "FLOAT16" => Some(Self::Float16),
                "DOUBLE" => Some(Self::Double),
                "UINT32" => Some(Self::Uint32),
                "UINT64" => Some(Self::Uint64),
                "COMPLEX64" => Some(Self::Complex64),
                "COMPLEX128" => Some(Self::Complex128),
                "BFLOAT16" => Some(Self::Bfloat16),
                "FLOAT8E4M3FN" => Some(Self::Float8e4m3fn),
                "FLOAT8E4M3FNUZ" => Some(Self::Float8e4m3fnuz),
                "FLOAT8E5M2" => Some(Self::Float8e5m2),
                "FLOAT8E5M2FNUZ" => Some(Self::Float8e5m2fnuz),
                "UINT4" => Some(Self::Uint4),
                "INT4" => Some(Self::Int4),
                "FLOAT4E2M1" => Some(Self::Float4e2m1),
                "FLOAT8E8M0" => Some(Self::Float8e8m0),
                "UINT2" => Some(Self::Uint2),
                "INT2" => Some(Self::Int2),
                "FLOAT6E2M3" => Some(Self::Float6e2m3),
                "FLOAT6E3M2" => Some(Self::Float6e3m2),
                _ => None,
            }
        }
    }

    /// Where a tensor's data is stored.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, prost::Enumeration)]
    #[repr(i32)]
    pub enum DataLocation {
        /// In the message: `raw_data` if set, otherwise the typed field.
        Default = 0,
        /// In an external file, as `external_data` describes.
        External = 1,
    }

    impl DataLocation {
        /// The name of the value in the `.proto` file.
        pub fn as_str_name(&self) -> &'static str {
            match self {
                Self::Default => "DEFAULT",
                Self::External => "EXTERNAL",
            }
        }

        /// The value named `value` in the `.proto` file.
        pub fn from_str_name(value: &str) -> Option<Self> {
            match value {
                "DEFAULT" => Some(Self::Default),
                "EXTERNAL" => Some(Self::External),
                _ => None,
            }
        }
    }
}

/// A sparse tensor: the non-default `values` and their `indices` in a dense tensor of shape `dims`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct SparseTensorProto {
    /// The non-default values, of shape `[NNZ]`; its name names the sparse tensor.
    #[prost(message, optional, tag = "1")]
    pub values: Option<TensorProto>,
    /// Indices of shape `[NNZ, rank]`, or linearized indices of shape `[NNZ]`, ascending.
    #[prost(message, optional, tag = "2")]
    pub indices: Option<TensorProto>,
    /// The shape of the dense tensor.
    #[prost(int64, repeated, packed = "false", tag = "3")]
    pub dims: Vec<i64>,
}

/// A tensor shape: one entry per axis, each a number, a symbol or unknown.
#[derive(Clone, PartialEq, prost::Message)]
pub struct TensorShapeProto {
    #[prost(message, repeated, tag = "1")]
    pub dim: Vec<tensor_shape_proto::Dimension>,
}

/// Nested types of [`TensorShapeProto`].
pub mod tensor_shape_proto {
    /// One axis of a shape.
    #[derive(Clone, PartialEq, Eq, Hash, prost::Message)]
    pub struct Dimension {
        /// A standard denotation of the axis, such as `DATA_BATCH` or `DATA_CHANNEL`.
        #[prost(string, tag = "3")]
        pub denotation: String,
        /// The axis' size; `None` is unknown.
        #[prost(oneof = "dimension::Value", tags = "1, 2")]
        pub value: Option<dimension::Value>,
    }

    /// Nested types of [`Dimension`].
    pub mod dimension {
        /// The size of an axis.
        #[derive(Clone, PartialEq, Eq, Hash, prost::Oneof)]
        pub enum Value {
            /// A known size.
            #[prost(int64, tag = "1")]
            DimValue(i64),
            /// A symbolic size.
            #[prost(string, tag = "2")]
            DimParam(String),
        }
    }
}

/// The type of a value: a tensor, sequence, map, optional, sparse tensor or opaque type.
#[derive(Clone, PartialEq, prost::Message)]
pub struct TypeProto {
    /// A standard denotation of the type, such as `IMAGE` or `AUDIO`.
    #[prost(string, tag = "6")]
    pub denotation: String,
    /// The type itself.
    #[prost(oneof = "type_proto::Value", tags = "1, 4, 5, 9, 8, 7")]
    pub value: Option<type_proto::Value>,
}

/// Nested types of [`TypeProto`].
pub mod type_proto {
    /// A tensor type.
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct Tensor {
        /// The element type, a [`super::tensor_proto::DataType`]; must not be `UNDEFINED`.
        #[prost(int32, tag = "1")]
        pub elem_type: i32,
        /// The shape; `None` is unknown rank.
        #[prost(message, optional, tag = "2")]
        pub shape: Option<super::TensorShapeProto>,
    }

    /// A sequence type, all elements of the same type.
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct Sequence {
        #[prost(message, optional, boxed, tag = "1")]
        pub elem_type: Option<Box<super::TypeProto>>,
    }

    /// A map type.
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct Map {
        /// The key type, a [`super::tensor_proto::DataType`]: an integer type or `STRING`.
        #[prost(int32, tag = "1")]
        pub key_type: i32,
        #[prost(message, optional, boxed, tag = "2")]
        pub value_type: Option<Box<super::TypeProto>>,
    }

    /// An optional type: a value of `elem_type`, or none.
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct Optional {
        #[prost(message, optional, boxed, tag = "1")]
        pub elem_type: Option<Box<super::TypeProto>>,
    }

    /// A sparse tensor type.
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct SparseTensor {
        /// The element type, a [`super::tensor_proto::DataType`]; must not be `UNDEFINED`.
        #[prost(int32, tag = "1")]
        pub elem_type: i32,
        /// The shape; `None` is unknown rank.
        #[prost(message, optional, tag = "2")]
        pub shape: Option<super::TensorShapeProto>,
    }

    /// A type ONNX knows nothing about but its domain and name.
    #[derive(Clone, PartialEq, Eq, Hash, prost::Message)]
    pub struct Opaque {
        #[prost(string, tag = "1")]
        pub domain: String,
        #[prost(string, tag = "2")]
        pub name: String,
    }

    /// The kinds of types.
    #[derive(Clone, PartialEq, prost::Oneof)]
    pub enum Value {
        /// A tensor.
        #[prost(message, tag = "1")]
        TensorType(Tensor),
        /// A sequence.
        #[prost(message, boxed, tag = "4")]
        SequenceType(Box<Sequence>),
        /// A map.
        #[prost(message, boxed, tag = "5")]
        MapType(Box<Map>),
        /// An optional value.
        #[prost(message, boxed, tag = "9")]
        OptionalType(Box<Optional>),
        /// A sparse tensor.
        #[prost(message, tag = "8")]
        SparseTensorType(SparseTensor),
        /// An opaque type.
        #[prost(message, tag = "7")]
        OpaqueType(Opaque),
    }
}

/// An operator set a model or function imports: `(domain, version)`, the domain `""` (or
/// `"ai.onnx"`) being ONNX's default operator set.
#[derive(Clone, PartialEq, Eq, Hash, prost::Message)]
pub struct OperatorSetIdProto {
    /// The operator set's domain.
    #[prost(string, tag = "1")]
    pub domain: String,
    /// The operator set's version (required).
    #[prost(int64, tag = "2")]
    pub version: i64,
}

/// The status of an operator or function (no longer used by any field).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, prost::Enumeration)]
#[repr(i32)]
pub enum OperatorStatus {
    Experimental = 0,
    Stable = 1,
}

impl OperatorStatus {
    /// The name of the value in the `.proto` file.
    pub fn as_str_name(&self) -> &'static str {
        match self {
            Self::Experimental => "EXPERIMENTAL",
            Self::Stable => "STABLE",
        }
    }

    /// The value named `value` in the `.proto` file.
    pub fn from_str_name(value: &str) -> Option<Self> {
        match value {
            "EXPERIMENTAL" => Some(Self::Experimental),
            "STABLE" => Some(Self::Stable),
            _ => None,
        }
    }
}

/// A function: a named, attribute-parameterized body of nodes that nodes can call like an operator
/// (model-local functions live in [`ModelProto::functions`]).
#[derive(Clone, PartialEq, prost::Message)]
pub struct FunctionProto {
    /// The function's name; with `domain` (and `overload`) its identity, like a node's `op_type`.
    #[prost(string, tag = "1")]
    pub name: String,
    /// The names of the formal inputs.
    #[prost(string, repeated, tag = "4")]
    pub input: Vec<String>,
    /// The names of the formal outputs.
    #[prost(string, repeated, tag = "5")]
    pub output: Vec<String>,
    /// The names of attribute parameters without default values.
    #[prost(string, repeated, tag = "6")]
    pub attribute: Vec<String>,
    /// Attribute parameters with default values (the values are the defaults).
    #[prost(message, repeated, tag = "11")]
    pub attribute_proto: Vec<AttributeProto>,
    /// The body.
    #[prost(message, repeated, tag = "7")]
    pub node: Vec<NodeProto>,
    /// Human-readable documentation (Markdown).
    #[prost(string, tag = "8")]
    pub doc_string: String,
    /// The operator sets the body's nodes bind against.
    #[prost(message, repeated, tag = "9")]
    pub opset_import: Vec<OperatorSetIdProto>,
    /// The function's domain.
    #[prost(string, tag = "10")]
    pub domain: String,
    /// Overload identifier, to tell apart functions of the same domain and name.
    #[prost(string, tag = "13")]
    pub overload: String,
    /// Type information of the function's inputs, outputs and intermediate values.
    #[prost(message, repeated, tag = "12")]
    pub value_info: Vec<ValueInfoProto>,
    /// Named metadata values; keys should be distinct.
    #[prost(message, repeated, tag = "14")]
    pub metadata_props: Vec<StringStringEntryProto>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use prost::Message;

    fn tensor_with_raw(name: &str, raw: &'static [u8]) -> TensorProto {
        TensorProto {
            dims: vec![raw.len() as i64],
            data_type: tensor_proto::DataType::Uint8 as i32,
            name: name.into(),
            raw_data: bytes::Bytes::from_static(raw),
            ..Default::default()
        }
    }

    #[test]
    fn raw_data_decoded_from_bytes_is_zero_copy() {
        let model = ModelProto {
            ir_version: Version::IrVersion as i64,
            graph: Some(GraphProto {
                initializer: vec![tensor_with_raw("w", &[1, 2, 3, 4, 5, 6, 7, 8])],
                node: vec![NodeProto {
                    op_type: "Constant".into(),
                    attribute: vec![AttributeProto {
                        name: "value".into(),
                        r#type: attribute_proto::AttributeType::Tensor as i32,
                        t: Some(tensor_with_raw("c", &[9, 10, 11])),
                        ..Default::default()
                    }],
                    ..Default::default()
                }],
                ..Default::default()
            }),
            ..Default::default()
        };
        let buf = bytes::Bytes::from(model.encode_to_vec());
        let range = buf.as_ptr_range();
        let decoded = ModelProto::decode(buf.clone()).unwrap();
        assert_eq!(decoded, model);

        let graph = decoded.graph.as_ref().unwrap();
        let raws = [
            &graph.initializer[0].raw_data,
            &graph.node[0].attribute[0].t.as_ref().unwrap().raw_data,
        ];
        for raw in raws {
            assert!(!raw.is_empty());
            let start = raw.as_ptr();
            assert!(
                range.contains(&start) && raw.len() <= range.end as usize - start as usize,
                "raw_data was copied out of the decoded buffer"
            );
            // It is exactly the bytes of the field's payload in the buffer.
            let offset = start as usize - range.start as usize;
            assert_eq!(&buf[offset..offset + raw.len()], &raw[..]);
        }
    }

    #[test]
    fn enum_names_round_trip() {
        for v in 0..=28 {
            let dt = tensor_proto::DataType::try_from(v).unwrap();
            assert_eq!(
                tensor_proto::DataType::from_str_name(dt.as_str_name()),
                Some(dt)
            );
        }
        assert!(tensor_proto::DataType::try_from(29).is_err());
        for v in 0..=14 {
            let at = attribute_proto::AttributeType::try_from(v).unwrap();
            assert_eq!(
                attribute_proto::AttributeType::from_str_name(at.as_str_name()),
                Some(at)
            );
            let ver = Version::try_from(v).unwrap();
            assert_eq!(Version::from_str_name(ver.as_str_name()), Some(ver));
        }
        assert_eq!(Version::IrVersion as i32, 14);
        assert_eq!(
            tensor_proto::DataType::Float8e4m3fn.as_str_name(),
            "FLOAT8E4M3FN"
        );
    }

    #[test]
    fn proto2_repeated_scalars_are_unpacked_except_tensor_data() {
        let tensor = TensorProto {
            dims: vec![2, 3],
            int64_data: vec![1, 2],
            ..Default::default()
        };
        // dims (field 1, varint) one tag per element; int64_data (field 7) packed (wire type 2).
        assert_eq!(tensor.encode_to_vec(), [0x08, 2, 0x08, 3, 0x3a, 2, 1, 2]);
        let attr = AttributeProto {
            floats: vec![1.0],
            ints: vec![4, 5],
            ..Default::default()
        };
        assert_eq!(
            attr.encode_to_vec(),
            [0x3d, 0, 0, 0x80, 0x3f, 0x40, 4, 0x40, 5]
        );
        // Both encodings decode.
        let packed_dims = [0x0a, 2, 2, 3];
        assert_eq!(TensorProto::decode(&packed_dims[..]).unwrap().dims, [2, 3]);
    }
}
