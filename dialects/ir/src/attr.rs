//! Op attributes: the ONNX attribute kinds (int, float, string, tensor, graph and their lists, type) plus the
//! unit and dictionary attributes onnxqc uses for its own flags and for module-level data.
//!
//! Attribute lists keep their insertion order (ONNX's order survives a round trip); equality for CSE is
//! order-insensitive (see [`attrs_equal`]). A graph attribute refers to one of the op's regions by index,
//! printed `#onnx.graph<0>`.

use std::hash::{Hash, Hasher};
use std::sync::Arc;

use crate::tensor::TensorData;
use crate::types::Type;

#[derive(Clone, Debug)]
pub enum Attribute {
    Int(i64),
    Float(f32),
    String(String),
    Ints(Vec<i64>),
    Floats(Vec<f32>),
    Strings(Vec<String>),
    Tensor(TensorData),
    Tensors(Vec<TensorData>),
    /// Index of the op's region that holds this graph.
    Graph(u32),
    Graphs(Vec<u32>),
    Type(Type),
    /// A flag that is present or absent.
    Unit,
    Dict(Vec<NamedAttr>),
}

impl Attribute {
    pub fn as_int(&self) -> Option<i64> {
        match self {
            Attribute::Int(v) => Some(*v),
            _ => None,
        }
    }

    pub fn as_float(&self) -> Option<f32> {
        match self {
            Attribute::Float(v) => Some(*v),
            _ => None,
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Attribute::String(v) => Some(v),
            _ => None,
        }
    }

    pub fn as_ints(&self) -> Option<&[i64]> {
        match self {
            Attribute::Ints(v) => Some(v),
            _ => None,
        }
    }

    pub fn as_tensor(&self) -> Option<&TensorData> {
        match self {
            Attribute::Tensor(t) => Some(t),
            _ => None,
        }
    }

    /// A short name of the kind, for error messages.
    pub fn kind_name(&self) -> &'static str {
        match self {
            Attribute::Int(_) => "int",
            Attribute::Float(_) => "float",
            Attribute::String(_) => "string",
            Attribute::Ints(_) => "ints",
            Attribute::Floats(_) => "floats",
            Attribute::Strings(_) => "strings",
            Attribute::Tensor(_) => "tensor",
            Attribute::Tensors(_) => "tensors",
            Attribute::Graph(_) => "graph",
            Attribute::Graphs(_) => "graphs",
            Attribute::Type(_) => "type",
            Attribute::Unit => "unit",
            Attribute::Dict(_) => "dictionary",
        }
    }
}

// Floats compare by bits: attribute equality is "prints the same", which CSE relies on.
impl PartialEq for Attribute {
    fn eq(&self, other: &Self) -> bool {
        use Attribute::*;
        match (self, other) {
            (Int(a), Int(b)) => a == b,
            (Float(a), Float(b)) => a.to_bits() == b.to_bits(),
            (String(a), String(b)) => a == b,
            (Ints(a), Ints(b)) => a == b,
            (Floats(a), Floats(b)) => {
                a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.to_bits() == y.to_bits())
            }
            (Strings(a), Strings(b)) => a == b,
            (Tensor(a), Tensor(b)) => a == b,
            (Tensors(a), Tensors(b)) => a == b,
            (Graph(a), Graph(b)) => a == b,
            (Graphs(a), Graphs(b)) => a == b,
            (Type(a), Type(b)) => a == b,
            (Unit, Unit) => true,
            (Dict(a), Dict(b)) => a == b,
            _ => false,
        }
    }
}

impl Eq for Attribute {}

impl Hash for Attribute {
    fn hash<H: Hasher>(&self, state: &mut H) {
        use Attribute::*;
        std::mem::discriminant(self).hash(state);
        match self {
            Int(v) => v.hash(state),
            Float(v) => v.to_bits().hash(state),
            String(v) => v.hash(state),
            Ints(v) => v.hash(state),
            Floats(v) => v.iter().for_each(|f| f.to_bits().hash(state)),
            Strings(v) => v.hash(state),
            Tensor(t) => t.content_hash().hash(state),
            Tensors(ts) => ts.iter().for_each(|t| t.content_hash().hash(state)),
            Graph(v) => v.hash(state),
            Graphs(v) => v.hash(state),
            Type(t) => t.hash(state),
            Unit => {}
            Dict(d) => d.hash(state),
        }
    }
}

/// A named attribute as stored on an op.
pub type NamedAttr = (Arc<str>, Attribute);

/// Order-insensitive equality of two attribute lists.
pub fn attrs_equal(a: &[NamedAttr], b: &[NamedAttr]) -> bool {
    a.len() == b.len()
        && a.iter()
            .all(|(k, v)| b.iter().any(|(k2, v2)| k == k2 && v == v2))
}

/// Order-insensitive hash of an attribute list.
pub fn attrs_hash<H: Hasher>(attrs: &[NamedAttr], state: &mut H) {
    let mut combined: u64 = 0;
    for (k, v) in attrs {
        let mut h = rustc_hash::FxHasher::default();
        k.hash(&mut h);
        v.hash(&mut h);
        combined = combined.wrapping_add(h.finish());
    }
    combined.hash(state);
    attrs.len().hash(state);
}
