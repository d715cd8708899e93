//! onnxqc's IR core: an SSA graph of operations with typed values (quantized types included), attributes,
//! shared constant storage, a verifier, and a text form in MLIR's generic syntax that round-trips byte for
//! byte.
//!
//! Where to start: [`graph`] (the arena: [`Module`], [`Function`], [`Body`], ids), [`types`] and
//! [`quant_type`] (value types), [`print`] and [`parse`] (the text form), [`verify`] (invariants),
//! [`diag`] (errors rendered with codespan-reporting). This crate knows no particular op: op-specific
//! facts come through the [`registry::OpRegistry`] that the dialect crates fill.

pub mod attr;
pub mod diag;
pub mod graph;
pub mod lexer;
pub mod names;
pub mod numfmt;
pub mod parse;
pub mod print;
pub mod quant_type;
pub mod registry;
pub mod tensor;
pub mod types;
pub mod verify;

pub use attr::{Attribute, NamedAttr};
pub use diag::{Diagnostic, Severity, SourceFile};
pub use graph::{
    BlockId, Body, Function, Module, OpData, OpId, OpKind, RegionId, Span, Use, ValueDef, ValueId,
};
pub use quant_type::{Granularity, QuantType};
pub use registry::{Arity, OpDef, OpRegistry};
pub use tensor::{Buffer, MappedFile, Storage, TensorData};
pub use types::{Dim, ElemType, ScalarType, TensorType, Type};

/// The op that ends a function body and names its outputs.
pub const FUNC_RETURN: &str = "func.return";
