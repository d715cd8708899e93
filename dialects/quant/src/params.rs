//! Quantization parameter math shared by the passes and the runtime: the integer range of a storage type
//! (ONNX Runtime's `get_qmin_qmax_for_qType`). Scale and zero point from a range come with the lowering.

use onnxqc_ir::ScalarType;

/// `(qmin, qmax)` of a storage type as ONNX Runtime's `get_qmin_qmax_for_qType`: narrowed by one bit with
/// `reduce_range`, symmetric around 0 for signed 8/16-bit types with `symmetric`.
pub fn qmin_qmax(
    storage: ScalarType,
    reduce_range: bool,
    symmetric: bool,
) -> Result<(i64, i64), String> {
    use ScalarType::*;
    // ONNX Runtime's tables: reduced ranges for every type, symmetric ranges for the signed 8/16-bit
    // types only (symmetric unsigned keeps the full range there).
    Ok(match (storage, reduce_range, symmetric) {
        (U8, true, _) => (0, 127),
        (I8, true, _) => (-64, 64),
        (U16, true, _) => (0, 32767),
        (I16, true, _) => (-16384, 16384),
        (U4, true, _) => (0, 7),
        (I4, true, _) => (-4, 3),
        (I8, false, true) => (-127, 127),
        (I16, false, true) => (-32767, 32767),
        (U8, false, _) => (0, 255),
        (I8, false, false) => (-128, 127),
        (U16, false, _) => (0, 65535),
        (I16, false, false) => (-32768, 32767),
        (U4, false, _) => (0, 15),
        (I4, false, _) => (-8, 7),
        (s, _, _) => {
            return Err(format!(
                "{} is not a quantization storage type",
                s.mlir_name()
            ))
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges() {
        assert_eq!(qmin_qmax(ScalarType::I8, false, true), Ok((-127, 127)));
        assert_eq!(qmin_qmax(ScalarType::U8, true, false), Ok((0, 127)));
        assert_eq!(qmin_qmax(ScalarType::U8, false, true), Ok((0, 255)));
        assert!(qmin_qmax(ScalarType::F32, false, false).is_err());
    }
}
