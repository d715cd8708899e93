//! Constant helpers for the quantization lowerings: reading float weights out of `onnx.Constant` ops,
//! writing integer tensors in ONNX's byte layout (4-bit values packed two per byte, low nibble first),
//! and inserting new named constants and ops into a block.

use std::sync::Arc;

use half::f16;
use onnxqc_ir::{
    Attribute, Body, Buffer, ElemType, OpId, ScalarType, TensorData, Type, ValueDef, ValueId,
};

pub const CONSTANT: &str = "onnx.Constant";

/// The tensor of a value defined by an `onnx.Constant` op.
pub fn const_data(body: &Body, v: ValueId) -> Option<&TensorData> {
    let op = body.defining_op(v)?;
    let d = body.op(op);
    if &*d.kind != CONSTANT {
        return None;
    }
    match d.attr("value") {
        Some(Attribute::Tensor(t)) => Some(t),
        _ => None,
    }
}

/// A float32 / float16 constant's values as f32 (exact), with its element type.
pub fn float_values(t: &TensorData) -> Option<Vec<f32>> {
    let bytes = t.bytes()?;
    match t.elem {
        ScalarType::F32 => Some(
            bytes
                .chunks_exact(4)
                .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                .collect(),
        ),
        ScalarType::F16 => Some(
            bytes
                .chunks_exact(2)
                .map(|c| f16::from_le_bytes([c[0], c[1]]).to_f32())
                .collect(),
        ),
        _ => None,
    }
}

/// Float values as a tensor of `elem` (f32 or f16; the values must be representable).
pub fn float_tensor(elem: ScalarType, shape: Vec<u64>, values: &[f32]) -> TensorData {
    let bytes: Vec<u8> = match elem {
        ScalarType::F16 => values
            .iter()
            .flat_map(|&v| f16::from_f32(v).to_le_bytes())
            .collect(),
        _ => values.iter().flat_map(|v| v.to_le_bytes()).collect(),
    };
    let elem = if elem == ScalarType::F16 {
        ScalarType::F16
    } else {
        ScalarType::F32
    };
    TensorData::from_bytes(elem, shape, Buffer::from_vec(bytes))
        .expect("float tensor bytes match the shape")
}

/// Integer values (already within the type's range) as a tensor of an integer storage type.
pub fn int_tensor(elem: ScalarType, shape: Vec<u64>, values: &[i64]) -> TensorData {
    use ScalarType::*;
    let bytes: Vec<u8> = match elem {
        I4 | U4 => values
            .chunks(2)
            .map(|p| {
                let lo = (p[0] as u8) & 0x0f;
                let hi = p.get(1).map_or(0, |&v| (v as u8) & 0x0f);
                lo | (hi << 4)
            })
            .collect(),
        I8 | U8 => values.iter().map(|&v| v as u8).collect(),
        I16 | U16 => values
            .iter()
            .flat_map(|&v| (v as u16).to_le_bytes())
            .collect(),
        I32 | U32 => values
            .iter()
            .flat_map(|&v| (v as u32).to_le_bytes())
            .collect(),
        _ => values.iter().flat_map(|&v| v.to_le_bytes()).collect(),
    };
    TensorData::from_bytes(elem, shape, Buffer::from_vec(bytes))
        .expect("integer tensor bytes match the shape")
}

/// The op before which a definition of something computed from `v` can go: right after `v`'s defining
/// op, or at the start of its block for a block argument.
pub fn insertion_point_after(body: &Body, v: ValueId) -> Option<OpId> {
    match body.value(v).def() {
        ValueDef::Result { op, .. } => body.next_op(op),
        ValueDef::BlockArg { block, .. } => body.first_op(block),
    }
}

/// Inserts a named constant before `at`; returns its value.
pub fn insert_const(body: &mut Body, at: OpId, name: &str, t: TensorData) -> ValueId {
    let ty = Type::tensor(t.elem, &t.shape);
    let op = body.create_op(
        CONSTANT,
        &[],
        vec![ty],
        vec![(Arc::from("value"), Attribute::Tensor(t))],
    );
    body.insert_before(at, op);
    let v = body.op(op).results()[0];
    body.value_mut(v).name = Some(Arc::from(name));
    v
}

/// Inserts a one-result op named `node` before `at`, its result named `result` and of type `ty`. An
/// empty `node` leaves the op unnamed (ONNX's convention for an empty node name).
#[allow(clippy::too_many_arguments)]
pub fn insert_op(
    body: &mut Body,
    at: OpId,
    kind: &str,
    operands: &[ValueId],
    ty: Type,
    attrs: Vec<(Arc<str>, Attribute)>,
    node: &str,
    result: &str,
) -> ValueId {
    let op = body.create_op(kind, operands, vec![ty], attrs);
    body.op_mut(op).name = (!node.is_empty()).then(|| Arc::from(node));
    body.insert_before(at, op);
    let v = body.op(op).results()[0];
    body.value_mut(v).name = Some(Arc::from(result));
    v
}

/// `ty` with its element type replaced (shape kept).
pub fn with_elem(ty: &Type, elem: ScalarType) -> Type {
    match ty.as_tensor() {
        Some(t) => {
            let mut t = t.clone();
            t.elem = ElemType::Scalar(elem);
            Type::Tensor(t)
        }
        None => Type::Unknown,
    }
}

/// The float element type of a value (f32 / f16), if it has one.
pub fn float_elem(body: &Body, v: ValueId) -> Option<ScalarType> {
    match body.value_type(v).elem() {
        Some(ElemType::Scalar(s @ (ScalarType::F32 | ScalarType::F16))) => Some(*s),
        _ => None,
    }
}
