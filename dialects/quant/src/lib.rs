//! The quantization dialect of onnxqc: the `qc.*` ops that the quantization passes insert between ONNX
//! ops (observers for calibration, then quantize / dequantize / requantize conversions), registered into
//! an [`OpRegistry`] by [`register`]. The quantization parameter math (scales and zero points from
//! observed ranges) shared by the passes and the runtime comes with the calibration work.

use onnxqc_ir::{Arity, OpDef, OpRegistry};

/// `qc.observe`: passes its operand through unchanged while recording statistics about it (min/max,
/// histogram) for calibration. It has side effects, so it is never removed by DCE nor merged by CSE even
/// when its result is unused.
pub const OBSERVE: &str = "qc.observe";

/// `qc.quantize`: converts a float tensor to a quantized one, with the quantization parameters carried
/// by its result type.
pub const QUANTIZE: &str = "qc.quantize";

/// `qc.dequantize`: converts a quantized tensor back to float, with the parameters of its operand type.
pub const DEQUANTIZE: &str = "qc.dequantize";

/// `qc.requantize`: converts a quantized tensor to another quantization (scale, zero point or storage
/// type) without going through float in the IR.
pub const REQUANTIZE: &str = "qc.requantize";

/// Registers the `qc.*` ops: [`OBSERVE`], [`QUANTIZE`], [`DEQUANTIZE`] and [`REQUANTIZE`].
pub fn register(reg: &mut OpRegistry) {
    let one = Arity::exactly(1);
    reg.insert(OpDef {
        has_side_effects: true,
        ..OpDef::pure(OBSERVE, one, one)
    });
    reg.insert(OpDef::pure(QUANTIZE, one, one));
    reg.insert(OpDef::pure(DEQUANTIZE, one, one));
    reg.insert(OpDef::pure(REQUANTIZE, one, one));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn qc_ops_registered() {
        let mut reg = OpRegistry::new();
        register(&mut reg);
        for kind in [OBSERVE, QUANTIZE, DEQUANTIZE, REQUANTIZE] {
            let def = reg
                .get(kind)
                .unwrap_or_else(|| panic!("{kind} not registered"));
            assert_eq!(def.kind, kind);
            assert_eq!(def.operands, Arity::exactly(1), "{kind}");
            assert_eq!(def.results, Arity::exactly(1), "{kind}");
            assert_eq!(def.regions, Arity::exactly(0), "{kind}");
            assert!(!def.terminator && !def.nondeterministic, "{kind}");
        }
        let observe = reg.get(OBSERVE).unwrap();
        assert!(observe.has_side_effects);
        assert!(!reg.removable_if_unused(&OBSERVE.into()));
        assert!(!reg.cse_allowed(&OBSERVE.into()));
        for kind in [QUANTIZE, DEQUANTIZE, REQUANTIZE] {
            assert!(!reg.get(kind).unwrap().has_side_effects, "{kind}");
            assert!(reg.cse_allowed(&kind.into()), "{kind}");
            assert!(reg.removable_if_unused(&kind.into()), "{kind}");
        }
    }
}
