//! Value types: tensors of an element type and a shape, ONNX's sequence/map/optional types, and the
//! element types, covering every ONNX `TensorProto.DataType` plus quantized element types.
//!
//! Start at [`Type`]. A tensor's shape is a list of [`Dim`]s that are known, symbolic (`batch`, `seq+1`) or
//! unknown; an unranked tensor has no shape at all. Quantized element types live in [`crate::quant_type`].
//! Text syntax (see `print.rs`): `tensor<1x3x?xf32>`, `tensor<*xf32>`, symbolic dims in an encoding
//! `tensor<?x3xf32, #onnx.dims<["batch", 3]>>`, `!onnx.seq<...>`, `!onnx.map<i64, ...>`, `!onnx.opt<...>`,
//! `none` for an absent optional operand and `!onnx.unknown` where nothing is known.

use std::fmt;
use std::sync::Arc;

use crate::quant_type::QuantType;

/// Scalar element types: every ONNX tensor element type.
///
/// Integer types are spelled as onnx-mlir does: `i8` is ONNX INT8 (signed), `ui8` is UINT8; `i1` is BOOL.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ScalarType {
    F32,
    F16,
    BF16,
    F64,
    F8E4M3FN,
    F8E4M3FNUZ,
    F8E5M2,
    F8E5M2FNUZ,
    F8E8M0FNU,
    F4E2M1FN,
    I2,
    I4,
    I8,
    I16,
    I32,
    I64,
    U2,
    U4,
    U8,
    U16,
    U32,
    U64,
    Bool,
    String,
    Complex64,
    Complex128,
}

impl ScalarType {
    /// Every scalar type, in a fixed order (used by the parser and by tests).
    pub const ALL: [ScalarType; 26] = [
        ScalarType::F32,
        ScalarType::F16,
        ScalarType::BF16,
        ScalarType::F64,
        ScalarType::F8E4M3FN,
        ScalarType::F8E4M3FNUZ,
        ScalarType::F8E5M2,
        ScalarType::F8E5M2FNUZ,
        ScalarType::F8E8M0FNU,
        ScalarType::F4E2M1FN,
        ScalarType::I2,
        ScalarType::I4,
        ScalarType::I8,
        ScalarType::I16,
        ScalarType::I32,
        ScalarType::I64,
        ScalarType::U2,
        ScalarType::U4,
        ScalarType::U8,
        ScalarType::U16,
        ScalarType::U32,
        ScalarType::U64,
        ScalarType::Bool,
        ScalarType::String,
        ScalarType::Complex64,
        ScalarType::Complex128,
    ];

    /// The MLIR spelling used in the text form.
    pub fn mlir_name(self) -> &'static str {
        use ScalarType::*;
        match self {
            F32 => "f32",
            F16 => "f16",
            BF16 => "bf16",
            F64 => "f64",
            F8E4M3FN => "f8E4M3FN",
            F8E4M3FNUZ => "f8E4M3FNUZ",
            F8E5M2 => "f8E5M2",
            F8E5M2FNUZ => "f8E5M2FNUZ",
            F8E8M0FNU => "f8E8M0FNU",
            F4E2M1FN => "f4E2M1FN",
            I2 => "i2",
            I4 => "i4",
            I8 => "i8",
            I16 => "i16",
            I32 => "i32",
            I64 => "i64",
            U2 => "ui2",
            U4 => "ui4",
            U8 => "ui8",
            U16 => "ui16",
            U32 => "ui32",
            U64 => "ui64",
            Bool => "i1",
            String => "!onnx.string",
            Complex64 => "complex<f32>",
            Complex128 => "complex<f64>",
        }
    }

    pub fn from_mlir_name(s: &str) -> Option<ScalarType> {
        ScalarType::ALL.into_iter().find(|t| t.mlir_name() == s)
    }

    /// The ONNX `TensorProto.DataType` code.
    pub fn onnx_code(self) -> i32 {
        use ScalarType::*;
        match self {
            F32 => 1,
            U8 => 2,
            I8 => 3,
            U16 => 4,
            I16 => 5,
            I32 => 6,
            I64 => 7,
            String => 8,
            Bool => 9,
            F16 => 10,
            F64 => 11,
            U32 => 12,
            U64 => 13,
            Complex64 => 14,
            Complex128 => 15,
            BF16 => 16,
            F8E4M3FN => 17,
            F8E4M3FNUZ => 18,
            F8E5M2 => 19,
            F8E5M2FNUZ => 20,
            U4 => 21,
            I4 => 22,
            F4E2M1FN => 23,
            F8E8M0FNU => 24,
            U2 => 25,
            I2 => 26,
        }
    }

    pub fn from_onnx_code(code: i32) -> Option<ScalarType> {
        ScalarType::ALL.into_iter().find(|t| t.onnx_code() == code)
    }

    /// Storage width of one element in bits (sub-byte types are packed, as ONNX packs them).
    /// `None` for strings, which have no fixed width.
    pub fn bit_width(self) -> Option<u32> {
        use ScalarType::*;
        Some(match self {
            I2 | U2 => 2,
            I4 | U4 | F4E2M1FN => 4,
            I8 | U8 | Bool | F8E4M3FN | F8E4M3FNUZ | F8E5M2 | F8E5M2FNUZ | F8E8M0FNU => 8,
            I16 | U16 | F16 | BF16 => 16,
            I32 | U32 | F32 => 32,
            I64 | U64 | F64 | Complex64 => 64,
            Complex128 => 128,
            String => return None,
        })
    }

    /// Bytes needed for `count` elements in ONNX's packed little-endian layout.
    pub fn byte_size(self, count: u64) -> Option<u64> {
        let bits = self.bit_width()? as u64;
        Some(count.checked_mul(bits)?.div_ceil(8))
    }

    pub fn is_float(self) -> bool {
        use ScalarType::*;
        matches!(
            self,
            F32 | F16
                | BF16
                | F64
                | F8E4M3FN
                | F8E4M3FNUZ
                | F8E5M2
                | F8E5M2FNUZ
                | F8E8M0FNU
                | F4E2M1FN
        )
    }

    pub fn is_signed_int(self) -> bool {
        use ScalarType::*;
        matches!(self, I2 | I4 | I8 | I16 | I32 | I64)
    }

    pub fn is_unsigned_int(self) -> bool {
        use ScalarType::*;
        matches!(self, U2 | U4 | U8 | U16 | U32 | U64)
    }

    pub fn is_int(self) -> bool {
        self.is_signed_int() || self.is_unsigned_int()
    }
}

impl fmt::Display for ScalarType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.mlir_name())
    }
}

/// A tensor element type: a plain scalar or a quantized type.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum ElemType {
    Scalar(ScalarType),
    Quant(Arc<QuantType>),
}

impl ElemType {
    pub fn scalar(&self) -> Option<ScalarType> {
        match self {
            ElemType::Scalar(s) => Some(*s),
            ElemType::Quant(_) => None,
        }
    }

    pub fn quant(&self) -> Option<&QuantType> {
        match self {
            ElemType::Quant(q) => Some(q),
            ElemType::Scalar(_) => None,
        }
    }
}

impl From<ScalarType> for ElemType {
    fn from(s: ScalarType) -> Self {
        ElemType::Scalar(s)
    }
}

/// One dimension of a tensor shape.
///
/// `Symbolic` holds a name or a small expression over names (`batch`, `seq+1`, `floor(w/32)`), kept as
/// text here; shape inference gives it arithmetic meaning. Two equal symbols denote equal sizes.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Dim {
    Known(u64),
    Symbolic(Arc<str>),
    Unknown,
}

impl Dim {
    pub fn known(&self) -> Option<u64> {
        match self {
            Dim::Known(n) => Some(*n),
            _ => None,
        }
    }

    pub fn sym(name: &str) -> Dim {
        Dim::Symbolic(Arc::from(name))
    }
}

/// A tensor type. `shape == None` means unranked.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct TensorType {
    pub elem: ElemType,
    pub shape: Option<Vec<Dim>>,
}

impl TensorType {
    pub fn new(elem: impl Into<ElemType>, shape: Vec<Dim>) -> TensorType {
        TensorType {
            elem: elem.into(),
            shape: Some(shape),
        }
    }

    pub fn known(elem: impl Into<ElemType>, dims: &[u64]) -> TensorType {
        TensorType::new(elem, dims.iter().map(|&d| Dim::Known(d)).collect())
    }

    pub fn unranked(elem: impl Into<ElemType>) -> TensorType {
        TensorType {
            elem: elem.into(),
            shape: None,
        }
    }

    pub fn rank(&self) -> Option<usize> {
        self.shape.as_ref().map(|s| s.len())
    }

    /// The dims when every one is known.
    pub fn static_dims(&self) -> Option<Vec<u64>> {
        self.shape.as_ref()?.iter().map(Dim::known).collect()
    }

    /// Element count when the shape is fully known.
    pub fn num_elements(&self) -> Option<u64> {
        self.static_dims()
            .and_then(|d| d.iter().try_fold(1u64, |acc, &n| acc.checked_mul(n)))
    }
}

/// The type of an SSA value.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Type {
    Tensor(TensorType),
    /// ONNX sequence of the element type.
    Sequence(Box<Type>),
    /// ONNX map from a scalar key type to a value type.
    Map(ScalarType, Box<Type>),
    /// ONNX optional of a type.
    Optional(Box<Type>),
    /// ONNX sparse tensor.
    SparseTensor(TensorType),
    /// An absent optional operand (ONNX's empty input name).
    None,
    /// Nothing is known about the value's type yet.
    Unknown,
}

impl Type {
    pub fn tensor(elem: impl Into<ElemType>, dims: &[u64]) -> Type {
        Type::Tensor(TensorType::known(elem, dims))
    }

    pub fn as_tensor(&self) -> Option<&TensorType> {
        match self {
            Type::Tensor(t) => Some(t),
            _ => None,
        }
    }

    pub fn elem(&self) -> Option<&ElemType> {
        self.as_tensor().map(|t| &t.elem)
    }
}

impl From<TensorType> for Type {
    fn from(t: TensorType) -> Self {
        Type::Tensor(t)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn onnx_codes_round_trip_and_are_unique() {
        let mut seen = std::collections::HashSet::new();
        for t in ScalarType::ALL {
            assert!(seen.insert(t.onnx_code()));
            assert_eq!(ScalarType::from_onnx_code(t.onnx_code()), Some(t));
            assert_eq!(ScalarType::from_mlir_name(t.mlir_name()), Some(t));
        }
        assert_eq!(ScalarType::from_onnx_code(0), None);
    }

    #[test]
    fn packed_sizes() {
        assert_eq!(ScalarType::I4.byte_size(3), Some(2));
        assert_eq!(ScalarType::U2.byte_size(5), Some(2));
        assert_eq!(ScalarType::F32.byte_size(3), Some(12));
        assert_eq!(ScalarType::String.byte_size(3), None);
    }
}
