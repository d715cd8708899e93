//! Run-time tensors: a shape and a reference-counted vector of one element type.
//!
//! Values flow between kernels as [`Tensor`]s. Cloning one is cheap (the data is behind an [`Arc`]), so
//! Reshape, Identity and sub-graph inputs share storage instead of copying. Kernels are written once,
//! generically over [`Elem`], and dispatched on the element type with [`with_data!`](crate::with_data).

use std::fmt;
use std::sync::Arc;

use half::{bf16, f16};
use onnxqc_ir::{Buffer, ScalarType, TensorData};

use crate::error::{Result, RuntimeError};

/// The element types the runtime computes with.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DType {
    F32,
    F64,
    F16,
    BF16,
    I8,
    I16,
    I32,
    I64,
    U8,
    U16,
    U32,
    U64,
    Bool,
}

impl DType {
    /// The runtime type of an IR scalar type, if the runtime computes with it.
    pub fn from_scalar(s: ScalarType) -> Option<DType> {
        Some(match s {
            ScalarType::F32 => DType::F32,
            ScalarType::F64 => DType::F64,
            ScalarType::F16 => DType::F16,
            ScalarType::BF16 => DType::BF16,
            ScalarType::I8 => DType::I8,
            ScalarType::I16 => DType::I16,
            ScalarType::I32 => DType::I32,
            ScalarType::I64 => DType::I64,
            ScalarType::U8 => DType::U8,
            ScalarType::U16 => DType::U16,
            ScalarType::U32 => DType::U32,
            ScalarType::U64 => DType::U64,
            ScalarType::Bool => DType::Bool,
            _ => return None,
        })
    }

    pub fn scalar(self) -> ScalarType {
        match self {
            DType::F32 => ScalarType::F32,
            DType::F64 => ScalarType::F64,
            DType::F16 => ScalarType::F16,
            DType::BF16 => ScalarType::BF16,
            DType::I8 => ScalarType::I8,
            DType::I16 => ScalarType::I16,
            DType::I32 => ScalarType::I32,
            DType::I64 => ScalarType::I64,
            DType::U8 => ScalarType::U8,
            DType::U16 => ScalarType::U16,
            DType::U32 => ScalarType::U32,
            DType::U64 => ScalarType::U64,
            DType::Bool => ScalarType::Bool,
        }
    }

    /// The ONNX `TensorProto.DataType` code.
    pub fn onnx_code(self) -> i32 {
        self.scalar().onnx_code()
    }

    pub fn from_onnx_code(code: i64) -> Option<DType> {
        i32::try_from(code)
            .ok()
            .and_then(ScalarType::from_onnx_code)
            .and_then(DType::from_scalar)
    }

    pub fn is_float(self) -> bool {
        matches!(self, DType::F32 | DType::F64 | DType::F16 | DType::BF16)
    }

    pub fn size(self) -> usize {
        match self {
            DType::I8 | DType::U8 | DType::Bool => 1,
            DType::F16 | DType::BF16 | DType::I16 | DType::U16 => 2,
            DType::F32 | DType::I32 | DType::U32 => 4,
            DType::F64 | DType::I64 | DType::U64 => 8,
        }
    }
}

impl fmt::Display for DType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.scalar())
    }
}

/// The elements of a tensor.
#[derive(Clone, Debug, PartialEq)]
pub enum Data {
    F32(Vec<f32>),
    F64(Vec<f64>),
    F16(Vec<f16>),
    BF16(Vec<bf16>),
    I8(Vec<i8>),
    I16(Vec<i16>),
    I32(Vec<i32>),
    I64(Vec<i64>),
    U8(Vec<u8>),
    U16(Vec<u16>),
    U32(Vec<u32>),
    U64(Vec<u64>),
    Bool(Vec<bool>),
}

/// Runs `$body` with `$v` bound to the typed vector inside a [`Data`] (by reference), whatever its
/// element type. The body is instantiated once per type, so it can call generic functions.
#[macro_export]
macro_rules! with_data {
    ($data:expr, $v:ident => $body:expr) => {
        match $data {
            $crate::tensor::Data::F32($v) => $body,
            $crate::tensor::Data::F64($v) => $body,
            $crate::tensor::Data::F16($v) => $body,
            $crate::tensor::Data::BF16($v) => $body,
            $crate::tensor::Data::I8($v) => $body,
            $crate::tensor::Data::I16($v) => $body,
            $crate::tensor::Data::I32($v) => $body,
            $crate::tensor::Data::I64($v) => $body,
            $crate::tensor::Data::U8($v) => $body,
            $crate::tensor::Data::U16($v) => $body,
            $crate::tensor::Data::U32($v) => $body,
            $crate::tensor::Data::U64($v) => $body,
            $crate::tensor::Data::Bool($v) => $body,
        }
    };
}

/// A runtime element type: the link between a Rust type and its [`Data`] variant.
pub trait Elem:
    Copy + Default + PartialEq + PartialOrd + Send + Sync + fmt::Debug + 'static
{
    const DTYPE: DType;
    fn slice(data: &Data) -> Option<&[Self]>;
    fn wrap(v: Vec<Self>) -> Data;
    /// Conversions used by Cast and by kernels that compute in f64/f32 (value semantics, as `as` does).
    fn to_f64(self) -> f64;
    fn from_f64(v: f64) -> Self;
    fn to_f32(self) -> f32 {
        self.to_f64() as f32
    }
    fn from_f32(v: f32) -> Self {
        Self::from_f64(v as f64)
    }
    /// Integer view for index-like use (shape tensors, indices); floats truncate.
    fn to_i64(self) -> i64;
    fn from_i64(v: i64) -> Self;
}

macro_rules! prim_elem {
    ($t:ty, $variant:ident) => {
        impl Elem for $t {
            const DTYPE: DType = DType::$variant;
            fn slice(data: &Data) -> Option<&[Self]> {
                match data {
                    Data::$variant(v) => Some(v),
                    _ => None,
                }
            }
            fn wrap(v: Vec<Self>) -> Data {
                Data::$variant(v)
            }
            fn to_f64(self) -> f64 {
                self as f64
            }
            fn from_f64(v: f64) -> Self {
                v as $t
            }
            fn to_i64(self) -> i64 {
                self as i64
            }
            fn from_i64(v: i64) -> Self {
                v as $t
            }
        }
        impl From<Vec<$t>> for Data {
            fn from(v: Vec<$t>) -> Data {
                Data::$variant(v)
            }
        }
    };
}

prim_elem!(f32, F32);
prim_elem!(f64, F64);
prim_elem!(i8, I8);
prim_elem!(i16, I16);
prim_elem!(i32, I32);
prim_elem!(i64, I64);
prim_elem!(u8, U8);
prim_elem!(u16, U16);
prim_elem!(u32, U32);
prim_elem!(u64, U64);

macro_rules! half_elem {
    ($t:ty, $variant:ident) => {
        impl Elem for $t {
            const DTYPE: DType = DType::$variant;
            fn slice(data: &Data) -> Option<&[Self]> {
                match data {
                    Data::$variant(v) => Some(v),
                    _ => None,
                }
            }
            fn wrap(v: Vec<Self>) -> Data {
                Data::$variant(v)
            }
            fn to_f64(self) -> f64 {
                self.to_f64()
            }
            fn from_f64(v: f64) -> Self {
                <$t>::from_f64(v)
            }
            fn to_f32(self) -> f32 {
                self.to_f32()
            }
            fn from_f32(v: f32) -> Self {
                <$t>::from_f32(v)
            }
            fn to_i64(self) -> i64 {
                self.to_f32() as i64
            }
            fn from_i64(v: i64) -> Self {
                <$t>::from_f32(v as f32)
            }
        }
        impl From<Vec<$t>> for Data {
            fn from(v: Vec<$t>) -> Data {
                Data::$variant(v)
            }
        }
    };
}

half_elem!(f16, F16);
half_elem!(bf16, BF16);

impl Elem for bool {
    const DTYPE: DType = DType::Bool;
    fn slice(data: &Data) -> Option<&[Self]> {
        match data {
            Data::Bool(v) => Some(v),
            _ => None,
        }
    }
    fn wrap(v: Vec<Self>) -> Data {
        Data::Bool(v)
    }
    fn to_f64(self) -> f64 {
        self as u8 as f64
    }
    fn from_f64(v: f64) -> Self {
        v != 0.0
    }
    fn to_i64(self) -> i64 {
        self as i64
    }
    fn from_i64(v: i64) -> Self {
        v != 0
    }
}

impl From<Vec<bool>> for Data {
    fn from(v: Vec<bool>) -> Data {
        Data::Bool(v)
    }
}

impl Data {
    pub fn dtype(&self) -> DType {
        with_data!(self, v => elem_dtype(v.as_slice()))
    }

    pub fn len(&self) -> usize {
        with_data!(self, v => v.len())
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// A vector of `len` default (zero) elements of `dtype`.
    pub fn zeros(dtype: DType, len: usize) -> Data {
        match dtype {
            DType::F32 => Data::F32(vec![0.0; len]),
            DType::F64 => Data::F64(vec![0.0; len]),
            DType::F16 => Data::F16(vec![f16::ZERO; len]),
            DType::BF16 => Data::BF16(vec![bf16::ZERO; len]),
            DType::I8 => Data::I8(vec![0; len]),
            DType::I16 => Data::I16(vec![0; len]),
            DType::I32 => Data::I32(vec![0; len]),
            DType::I64 => Data::I64(vec![0; len]),
            DType::U8 => Data::U8(vec![0; len]),
            DType::U16 => Data::U16(vec![0; len]),
            DType::U32 => Data::U32(vec![0; len]),
            DType::U64 => Data::U64(vec![0; len]),
            DType::Bool => Data::Bool(vec![false; len]),
        }
    }

    /// Every element converted to `dtype` with ONNX Cast semantics for the common cases (float → int
    /// truncates toward zero and saturates as Rust's `as` does; anything → bool is `!= 0`).
    pub fn cast(&self, dtype: DType) -> Data {
        if self.dtype() == dtype {
            return self.clone();
        }
        fn conv<S: Elem, T: Elem>(v: &[S]) -> Vec<T> {
            if S::DTYPE.is_float() || T::DTYPE.is_float() {
                v.iter().map(|&x| T::from_f64(x.to_f64())).collect()
            } else {
                // Integer to integer goes through i128-free wrapping casts: i64 holds every value of the
                // narrower types except u64 above i64::MAX, which wraps as C's cast does.
                v.iter().map(|&x| T::from_i64(x.to_i64())).collect()
            }
        }
        macro_rules! to {
            ($t:ty) => {
                with_data!(self, v => Data::from(conv::<_, $t>(v)))
            };
        }
        match dtype {
            DType::F32 => to!(f32),
            DType::F64 => to!(f64),
            DType::F16 => to!(f16),
            DType::BF16 => to!(bf16),
            DType::I8 => to!(i8),
            DType::I16 => to!(i16),
            DType::I32 => to!(i32),
            DType::I64 => to!(i64),
            DType::U8 => to!(u8),
            DType::U16 => to!(u16),
            DType::U32 => to!(u32),
            DType::U64 => to!(u64),
            DType::Bool => to!(bool),
        }
    }
}

fn elem_dtype<T: Elem>(_: &[T]) -> DType {
    T::DTYPE
}

/// A tensor value: shape plus shared elements. `data.len()` always equals the product of `shape`.
#[derive(Clone, PartialEq)]
pub struct Tensor {
    shape: Vec<usize>,
    data: Arc<Data>,
}

impl fmt::Debug for Tensor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Tensor<{}{:?}>", self.dtype(), self.shape)
    }
}

/// The number of elements of a shape (1 for a scalar).
pub fn numel(shape: &[usize]) -> usize {
    shape.iter().product()
}

impl Tensor {
    /// A tensor from a shape and elements; errors when the counts differ.
    pub fn new(shape: Vec<usize>, data: impl Into<Data>) -> Result<Tensor> {
        let data = data.into();
        let n = shape
            .iter()
            .try_fold(1usize, |a, &d| a.checked_mul(d))
            .ok_or_else(|| RuntimeError::new(format!("shape {shape:?} is too large")))?;
        if n != data.len() {
            return Err(RuntimeError::new(format!(
                "{} elements for shape {shape:?}, which needs {n}",
                data.len()
            )));
        }
        Ok(Tensor {
            shape,
            data: Arc::new(data),
        })
    }

    /// Like [`Tensor::new`] for callers that computed the shape from the data (a mismatch is a bug).
    pub fn from_vec<T: Elem>(shape: Vec<usize>, v: Vec<T>) -> Tensor {
        assert_eq!(
            numel(&shape),
            v.len(),
            "shape {shape:?} vs {} elements",
            v.len()
        );
        Tensor {
            shape,
            data: Arc::new(T::wrap(v)),
        }
    }

    pub fn scalar<T: Elem>(v: T) -> Tensor {
        Tensor::from_vec(vec![], vec![v])
    }

    pub fn zeros(dtype: DType, shape: Vec<usize>) -> Tensor {
        let n = numel(&shape);
        Tensor {
            shape,
            data: Arc::new(Data::zeros(dtype, n)),
        }
    }

    pub fn shape(&self) -> &[usize] {
        &self.shape
    }

    pub fn rank(&self) -> usize {
        self.shape.len()
    }

    pub fn len(&self) -> usize {
        self.data.len()
    }

    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    pub fn dtype(&self) -> DType {
        self.data.dtype()
    }

    pub fn data(&self) -> &Data {
        &self.data
    }

    /// The shared storage, for kernels that hand the same elements on (Reshape, Identity).
    pub fn data_arc(&self) -> &Arc<Data> {
        &self.data
    }

    /// The same elements under another shape (no copy).
    pub fn reshaped(&self, shape: Vec<usize>) -> Result<Tensor> {
        if numel(&shape) != self.len() {
            return Err(RuntimeError::new(format!(
                "cannot reshape {:?} ({} elements) to {shape:?}",
                self.shape,
                self.len()
            )));
        }
        Ok(Tensor {
            shape,
            data: self.data.clone(),
        })
    }

    /// Takes the elements out, copying only when they are shared.
    pub fn into_data(self) -> Data {
        Arc::try_unwrap(self.data).unwrap_or_else(|a| (*a).clone())
    }

    /// The elements when this tensor is their only owner (for buffer recycling).
    pub fn try_into_data(self) -> Option<Data> {
        Arc::try_unwrap(self.data).ok()
    }

    /// The elements if they are of type `T`.
    pub fn as_slice<T: Elem>(&self) -> Option<&[T]> {
        T::slice(&self.data)
    }

    /// The elements as `T`, or an error naming the actual type.
    pub fn typed<T: Elem>(&self) -> Result<&[T]> {
        T::slice(&self.data).ok_or_else(|| {
            RuntimeError::new(format!(
                "expected a {} tensor, got {}",
                T::DTYPE,
                self.dtype()
            ))
        })
    }

    /// f32 elements (the common case for float kernels).
    pub fn f32s(&self) -> Result<&[f32]> {
        self.typed::<f32>()
    }

    /// Elements converted to i64 (for shape, axes and index inputs of any integer type).
    pub fn to_i64_vec(&self) -> Vec<i64> {
        with_data!(&*self.data, v => v.iter().map(|x| x.to_i64()).collect())
    }

    /// Elements converted to f64.
    pub fn to_f64_vec(&self) -> Vec<f64> {
        with_data!(&*self.data, v => v.iter().map(|x| x.to_f64()).collect())
    }

    /// Elements converted to f32.
    pub fn to_f32_vec(&self) -> Vec<f32> {
        with_data!(&*self.data, v => v.iter().map(|x| x.to_f32()).collect())
    }

    pub fn cast(&self, dtype: DType) -> Tensor {
        if self.dtype() == dtype {
            return self.clone();
        }
        Tensor {
            shape: self.shape.clone(),
            data: Arc::new(self.data.cast(dtype)),
        }
    }

    /// A tensor from an IR constant (copies: constants may live unaligned in a memory map).
    pub fn from_tensor_data(t: &TensorData) -> Result<Tensor> {
        let dtype = DType::from_scalar(t.elem).ok_or_else(|| {
            RuntimeError::new(format!(
                "{} tensors are not supported by the runtime",
                t.elem
            ))
        })?;
        let bytes = t
            .bytes()
            .ok_or_else(|| RuntimeError::new("string tensors are not supported by the runtime"))?;
        let shape: Vec<usize> = t.shape.iter().map(|&d| d as usize).collect();
        let n = numel(&shape);
        if bytes.len() != n * dtype.size() {
            return Err(RuntimeError::new(format!(
                "{} bytes for a {dtype} tensor of shape {shape:?}",
                bytes.len()
            )));
        }
        Tensor::new(shape, decode_le(dtype, bytes))
    }

    /// The IR constant holding this tensor (little-endian bytes).
    pub fn to_tensor_data(&self) -> TensorData {
        let bytes = encode_le(&self.data);
        TensorData::from_bytes(
            self.dtype().scalar(),
            self.shape.iter().map(|&d| d as u64).collect(),
            Buffer::from_vec(bytes),
        )
        .expect("a tensor's byte count matches its shape")
    }
}

/// Decodes packed little-endian elements (`bytes.len()` must be a multiple of the element size).
pub fn decode_le(dtype: DType, bytes: &[u8]) -> Data {
    macro_rules! dec {
        ($t:ty, $n:literal, $conv:expr) => {
            Data::from(
                bytes
                    .chunks_exact($n)
                    .map(|c| {
                        let a: [u8; $n] = c.try_into().expect("chunk size");
                        $conv(a)
                    })
                    .collect::<Vec<$t>>(),
            )
        };
    }
    match dtype {
        DType::F32 => dec!(f32, 4, f32::from_le_bytes),
        DType::F64 => dec!(f64, 8, f64::from_le_bytes),
        DType::F16 => dec!(f16, 2, f16::from_le_bytes),
        DType::BF16 => dec!(bf16, 2, bf16::from_le_bytes),
        DType::I8 => dec!(i8, 1, i8::from_le_bytes),
        DType::I16 => dec!(i16, 2, i16::from_le_bytes),
        DType::I32 => dec!(i32, 4, i32::from_le_bytes),
        DType::I64 => dec!(i64, 8, i64::from_le_bytes),
        DType::U8 => Data::U8(bytes.to_vec()),
        DType::U16 => dec!(u16, 2, u16::from_le_bytes),
        DType::U32 => dec!(u32, 4, u32::from_le_bytes),
        DType::U64 => dec!(u64, 8, u64::from_le_bytes),
        DType::Bool => Data::Bool(bytes.iter().map(|&b| b != 0).collect()),
    }
}

/// Packs elements as little-endian bytes.
pub fn encode_le(data: &Data) -> Vec<u8> {
    match data {
        Data::F32(v) => v.iter().flat_map(|x| x.to_le_bytes()).collect(),
        Data::F64(v) => v.iter().flat_map(|x| x.to_le_bytes()).collect(),
        Data::F16(v) => v.iter().flat_map(|x| x.to_le_bytes()).collect(),
        Data::BF16(v) => v.iter().flat_map(|x| x.to_le_bytes()).collect(),
        Data::I8(v) => v.iter().flat_map(|x| x.to_le_bytes()).collect(),
        Data::I16(v) => v.iter().flat_map(|x| x.to_le_bytes()).collect(),
        Data::I32(v) => v.iter().flat_map(|x| x.to_le_bytes()).collect(),
        Data::I64(v) => v.iter().flat_map(|x| x.to_le_bytes()).collect(),
        Data::U8(v) => v.clone(),
        Data::U16(v) => v.iter().flat_map(|x| x.to_le_bytes()).collect(),
        Data::U32(v) => v.iter().flat_map(|x| x.to_le_bytes()).collect(),
        Data::U64(v) => v.iter().flat_map(|x| x.to_le_bytes()).collect(),
        Data::Bool(v) => v.iter().map(|&b| b as u8).collect(),
    }
}

/// Row-major strides of a shape.
pub fn strides(shape: &[usize]) -> Vec<usize> {
    let mut s = vec![1; shape.len()];
    for i in (0..shape.len().saturating_sub(1)).rev() {
        s[i] = s[i + 1] * shape[i + 1];
    }
    s
}

/// Normalises a possibly negative axis against `rank`.
pub fn norm_axis(axis: i64, rank: usize) -> Result<usize> {
    let r = rank as i64;
    let a = if axis < 0 { axis + r } else { axis };
    if a < 0 || a >= r {
        return Err(RuntimeError::new(format!(
            "axis {axis} is out of range for rank {rank}"
        )));
    }
    Ok(a as usize)
}

/// The numpy-style broadcast of two shapes.
pub fn broadcast_shapes(a: &[usize], b: &[usize]) -> Result<Vec<usize>> {
    let r = a.len().max(b.len());
    let mut out = vec![0; r];
    for i in 0..r {
        let da = if i + a.len() >= r {
            a[i + a.len() - r]
        } else {
            1
        };
        let db = if i + b.len() >= r {
            b[i + b.len() - r]
        } else {
            1
        };
        out[i] = if da == db || db == 1 {
            da
        } else if da == 1 {
            db
        } else {
            return Err(RuntimeError::new(format!(
                "shapes {a:?} and {b:?} do not broadcast"
            )));
        };
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_round_trip_every_type() {
        for dtype in [
            DType::F32,
            DType::F64,
            DType::F16,
            DType::BF16,
            DType::I8,
            DType::I16,
            DType::I32,
            DType::I64,
            DType::U8,
            DType::U16,
            DType::U32,
            DType::U64,
            DType::Bool,
        ] {
            let t = Tensor::new(vec![2, 3], Data::zeros(dtype, 6).cast(dtype)).unwrap();
            let td = t.to_tensor_data();
            assert_eq!(Tensor::from_tensor_data(&td).unwrap(), t);
        }
    }

    #[test]
    fn broadcast_and_axes() {
        assert_eq!(
            broadcast_shapes(&[2, 1, 4], &[3, 1]).unwrap(),
            vec![2, 3, 4]
        );
        assert!(broadcast_shapes(&[2, 3], &[4]).is_err());
        assert_eq!(norm_axis(-1, 3).unwrap(), 2);
        assert!(norm_axis(3, 3).is_err());
        assert_eq!(strides(&[2, 3, 4]), vec![12, 4, 1]);
    }

    #[test]
    fn cast_truncates_and_saturates() {
        let t = Tensor::from_vec(vec![3], vec![1.7f32, -2.5, 300.0]);
        assert_eq!(t.cast(DType::I64).to_i64_vec(), vec![1, -2, 300]);
        assert_eq!(t.cast(DType::U8).as_slice::<u8>().unwrap(), &[1, 0, 255]);
    }
}
