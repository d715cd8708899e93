//! Quantized element types, in the spirit of MLIR's `quant` dialect: uniform (affine) quantization with a
//! storage type, an expressed type, and scales/zero points per tensor, per axis, or per block (sub-channel).
//!
//! Text syntax is MLIR's own, so `mlir-opt` parses it:
//! - per tensor: `!quant.uniform<i8:f32, 0.0125:-3>` (zero point omitted when 0)
//! - per axis:   `!quant.uniform<u8:f32:1, {0.1:128, 0.2:120}>`
//! - per block:  `!quant.uniform<i4:f32:{1:32}, {{0.1, 0.2}, {0.3:1, 0.4}}>` — `{axis:block_size, ...}`, then
//!   the scales tensor (shape = the tensor's shape with each blocked dim divided by its block size) nested
//!   to the tensor's rank.
//!
//! A narrowed storage range prints as `i8<-127:127>`. Scales are `f32` because ONNX stores them as float32
//! and the quantization math must match ONNX Runtime's float32 arithmetic bit for bit.

use std::hash::{Hash, Hasher};

use crate::types::ScalarType;

/// How scales and zero points are laid out over the tensor.
#[derive(Clone, Debug)]
pub enum Granularity {
    PerTensor {
        scale: f32,
        zero_point: i64,
    },
    PerAxis {
        axis: u32,
        scales: Vec<f32>,
        zero_points: Vec<i64>,
    },
    /// Sub-channel (block-wise) quantization. `blocks` lists `(axis, block_size)`; `scales_shape` is the
    /// shape of the scales tensor (same rank as the quantized tensor), scales and zero points are row-major.
    Blocked {
        blocks: Vec<(u32, u64)>,
        scales_shape: Vec<u64>,
        scales: Vec<f32>,
        zero_points: Vec<i64>,
    },
}

/// A uniform quantized element type.
#[derive(Clone, Debug)]
pub struct QuantType {
    /// Integer storage type (i/u 2, 4, 8, 16, 32).
    pub storage: ScalarType,
    /// Narrowed storage range, when it differs from the storage type's full range.
    pub storage_range: Option<(i64, i64)>,
    /// The float type the values stand for (f32, f16, bf16).
    pub expressed: ScalarType,
    pub granularity: Granularity,
}

/// Full value range of an integer storage type.
pub fn storage_type_range(storage: ScalarType) -> Option<(i64, i64)> {
    let bits = storage.bit_width()? as i64;
    if bits >= 64 {
        return None;
    }
    if storage.is_signed_int() {
        Some((-(1i64 << (bits - 1)), (1i64 << (bits - 1)) - 1))
    } else if storage.is_unsigned_int() {
        Some((0, (1i64 << bits) - 1))
    } else {
        None
    }
}

/// The spelling of a storage type inside `!quant.uniform<...>` (`i8`, `u8`, ...), which differs from the
/// tensor element spelling (`ui8`).
pub fn storage_name(storage: ScalarType) -> String {
    if storage.is_unsigned_int() {
        format!("u{}", storage.bit_width().unwrap_or(0))
    } else {
        storage.mlir_name().to_string()
    }
}

pub fn storage_from_name(name: &str) -> Option<ScalarType> {
    use ScalarType::*;
    Some(match name {
        "i2" => I2,
        "i4" => I4,
        "i8" => I8,
        "i16" => I16,
        "i32" => I32,
        "u2" => U2,
        "u4" => U4,
        "u8" => U8,
        "u16" => U16,
        "u32" => U32,
        _ => return None,
    })
}

impl QuantType {
    pub fn per_tensor(
        storage: ScalarType,
        expressed: ScalarType,
        scale: f32,
        zero_point: i64,
    ) -> Self {
        QuantType {
            storage,
            storage_range: None,
            expressed,
            granularity: Granularity::PerTensor { scale, zero_point },
        }
    }

    pub fn per_axis(
        storage: ScalarType,
        expressed: ScalarType,
        axis: u32,
        scales: Vec<f32>,
        zero_points: Vec<i64>,
    ) -> Self {
        QuantType {
            storage,
            storage_range: None,
            expressed,
            granularity: Granularity::PerAxis {
                axis,
                scales,
                zero_points,
            },
        }
    }

    /// The effective (min, max) storage values.
    pub fn storage_bounds(&self) -> Option<(i64, i64)> {
        self.storage_range
            .or_else(|| storage_type_range(self.storage))
    }

    /// Scales, whatever the granularity.
    pub fn scales(&self) -> &[f32] {
        match &self.granularity {
            Granularity::PerTensor { scale, .. } => std::slice::from_ref(scale),
            Granularity::PerAxis { scales, .. } | Granularity::Blocked { scales, .. } => scales,
        }
    }

    /// Zero points, whatever the granularity.
    pub fn zero_points(&self) -> &[i64] {
        match &self.granularity {
            Granularity::PerTensor { zero_point, .. } => std::slice::from_ref(zero_point),
            Granularity::PerAxis { zero_points, .. } | Granularity::Blocked { zero_points, .. } => {
                zero_points
            }
        }
    }

    /// Checks internal consistency; the message says what is wrong.
    pub fn check(&self) -> Result<(), String> {
        let Some((lo, hi)) = storage_type_range(self.storage) else {
            return Err(format!(
                "storage type {} is not an integer type of at most 32 bits",
                self.storage
            ));
        };
        if let Some((rlo, rhi)) = self.storage_range {
            if rlo < lo || rhi > hi || rlo >= rhi {
                return Err(format!(
                    "storage range [{rlo}, {rhi}] does not fit in {} [{lo}, {hi}]",
                    storage_name(self.storage)
                ));
            }
        }
        if !matches!(
            self.expressed,
            ScalarType::F32 | ScalarType::F16 | ScalarType::BF16 | ScalarType::F64
        ) {
            return Err(format!(
                "expressed type {} is not a float type",
                self.expressed
            ));
        }
        let (lo, hi) = self.storage_bounds().unwrap_or((lo, hi));
        for &s in self.scales() {
            if !(s.is_finite() && s > 0.0) {
                return Err(format!("scale {s} is not a positive finite number"));
            }
        }
        for &z in self.zero_points() {
            if z < lo || z > hi {
                return Err(format!(
                    "zero point {z} is outside the storage range [{lo}, {hi}]"
                ));
            }
        }
        match &self.granularity {
            Granularity::PerTensor { .. } => {}
            Granularity::PerAxis {
                scales,
                zero_points,
                ..
            } => {
                if scales.is_empty() || scales.len() != zero_points.len() {
                    return Err(format!(
                        "per-axis type has {} scales and {} zero points",
                        scales.len(),
                        zero_points.len()
                    ));
                }
            }
            Granularity::Blocked {
                blocks,
                scales_shape,
                scales,
                zero_points,
            } => {
                let Some(n) = scales_shape
                    .iter()
                    .try_fold(1u64, |acc, &d| acc.checked_mul(d))
                else {
                    return Err(format!(
                        "scales shape {scales_shape:?} has too many elements"
                    ));
                };
                if blocks.is_empty() {
                    return Err("block-wise type names no blocked axis".into());
                }
                for &(axis, size) in blocks {
                    if axis as usize >= scales_shape.len() || size == 0 {
                        return Err(format!(
                            "block {axis}:{size} is not valid for a rank-{} tensor",
                            scales_shape.len()
                        ));
                    }
                }
                if scales.len() as u64 != n || zero_points.len() as u64 != n {
                    return Err(format!(
                        "block-wise type has scales shape {scales_shape:?} ({n} entries) but {} scales and {} zero points",
                        scales.len(),
                        zero_points.len()
                    ));
                }
            }
        }
        Ok(())
    }
}

// Equality and hashing compare scales by their bits, so that types can be interned and CSE'd.
impl PartialEq for Granularity {
    fn eq(&self, other: &Self) -> bool {
        fn bits(v: &[f32]) -> impl Iterator<Item = u32> + '_ {
            v.iter().map(|f| f.to_bits())
        }
        match (self, other) {
            (
                Granularity::PerTensor {
                    scale: a,
                    zero_point: za,
                },
                Granularity::PerTensor {
                    scale: b,
                    zero_point: zb,
                },
            ) => a.to_bits() == b.to_bits() && za == zb,
            (
                Granularity::PerAxis {
                    axis: a,
                    scales: sa,
                    zero_points: za,
                },
                Granularity::PerAxis {
                    axis: b,
                    scales: sb,
                    zero_points: zb,
                },
            ) => a == b && bits(sa).eq(bits(sb)) && za == zb,
            (
                Granularity::Blocked {
                    blocks: a,
                    scales_shape: ha,
                    scales: sa,
                    zero_points: za,
                },
                Granularity::Blocked {
                    blocks: b,
                    scales_shape: hb,
                    scales: sb,
                    zero_points: zb,
                },
            ) => a == b && ha == hb && bits(sa).eq(bits(sb)) && za == zb,
            _ => false,
        }
    }
}

impl Eq for Granularity {}

impl Hash for Granularity {
    fn hash<H: Hasher>(&self, state: &mut H) {
        std::mem::discriminant(self).hash(state);
        match self {
            Granularity::PerTensor { scale, zero_point } => {
                scale.to_bits().hash(state);
                zero_point.hash(state);
            }
            Granularity::PerAxis {
                axis,
                scales,
                zero_points,
            } => {
                axis.hash(state);
                scales.iter().for_each(|s| s.to_bits().hash(state));
                zero_points.hash(state);
            }
            Granularity::Blocked {
                blocks,
                scales_shape,
                scales,
                zero_points,
            } => {
                blocks.hash(state);
                scales_shape.hash(state);
                scales.iter().for_each(|s| s.to_bits().hash(state));
                zero_points.hash(state);
            }
        }
    }
}

impl PartialEq for QuantType {
    fn eq(&self, other: &Self) -> bool {
        self.storage == other.storage
            && self.storage_range == other.storage_range
            && self.expressed == other.expressed
            && self.granularity == other.granularity
    }
}

impl Eq for QuantType {}

impl Hash for QuantType {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.storage.hash(state);
        self.storage_range.hash(state);
        self.expressed.hash(state);
        self.granularity.hash(state);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges() {
        assert_eq!(storage_type_range(ScalarType::I8), Some((-128, 127)));
        assert_eq!(storage_type_range(ScalarType::U4), Some((0, 15)));
        assert_eq!(storage_type_range(ScalarType::U16), Some((0, 65535)));
        assert_eq!(storage_type_range(ScalarType::F32), None);
    }

    #[test]
    fn check_rejects_bad_parameters() {
        let ok = QuantType::per_tensor(ScalarType::U8, ScalarType::F32, 0.1, 128);
        assert!(ok.check().is_ok());
        let bad_zp = QuantType::per_tensor(ScalarType::I8, ScalarType::F32, 0.1, 200);
        assert!(bad_zp.check().unwrap_err().contains("zero point 200"));
        let bad_scale = QuantType::per_tensor(ScalarType::I8, ScalarType::F32, 0.0, 0);
        assert!(bad_scale.check().unwrap_err().contains("scale"));
        let bad_axis =
            QuantType::per_axis(ScalarType::I8, ScalarType::F32, 0, vec![0.1, 0.2], vec![0]);
        assert!(bad_axis.check().is_err());
    }
}
