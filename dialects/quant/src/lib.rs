//! The quantization dialect of onnxqc: the `qc.*` ops that the quantization passes insert between ONNX
//! ops (observers for calibration, then quantize / dequantize / requantize conversions), registered into
//! an [`OpRegistry`] by [`register`]. The quantization parameter math (scales and zero points from
//! observed ranges) shared by the passes and the runtime comes with the calibration work.

use onnxqc_ir::{Arity, Body, ElemType, OpDef, OpId, OpRegistry};

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
    reg.add_verifier(QUANTIZE, verify_quantize);
    reg.add_verifier(DEQUANTIZE, verify_dequantize);
    reg.add_verifier(REQUANTIZE, verify_requantize);
}

/// The element type of value `v` split into (float type, quantized type) when it is a tensor.
fn elem_of(body: &Body, v: onnxqc_ir::ValueId) -> Option<&ElemType> {
    body.value_type(v).elem()
}

fn describe(e: Option<&ElemType>) -> String {
    e.map_or_else(
        || "an unknown type".to_string(),
        |e| format!("element type {}", onnxqc_ir::print::print_elem_type(e)),
    )
}

/// `qc.quantize`: a float operand and a quantized result expressing that float type.
fn verify_quantize(body: &Body, op: OpId) -> Result<(), String> {
    let d = body.op(op);
    let (src, dst) = (
        elem_of(body, d.operands()[0]),
        elem_of(body, d.results()[0]),
    );
    match (src, dst) {
        (Some(ElemType::Scalar(f)), Some(ElemType::Quant(q))) if *f == q.expressed => Ok(()),
        _ => Err(format!(
            "expects a float operand and a quantized result of that float type, got {} -> {}",
            describe(src),
            describe(dst)
        )),
    }
}

/// `qc.dequantize`: a quantized operand and a float result of its expressed type.
fn verify_dequantize(body: &Body, op: OpId) -> Result<(), String> {
    let d = body.op(op);
    let (src, dst) = (
        elem_of(body, d.operands()[0]),
        elem_of(body, d.results()[0]),
    );
    match (src, dst) {
        (Some(ElemType::Quant(q)), Some(ElemType::Scalar(f))) if *f == q.expressed => Ok(()),
        _ => Err(format!(
            "expects a quantized operand and a float result of its expressed type, got {} -> {}",
            describe(src),
            describe(dst)
        )),
    }
}

/// `qc.requantize`: quantized to quantized, same expressed type.
fn verify_requantize(body: &Body, op: OpId) -> Result<(), String> {
    let d = body.op(op);
    let (src, dst) = (
        elem_of(body, d.operands()[0]),
        elem_of(body, d.results()[0]),
    );
    match (src, dst) {
        (Some(ElemType::Quant(a)), Some(ElemType::Quant(b))) if a.expressed == b.expressed => {
            Ok(())
        }
        _ => Err(format!(
            "expects quantized operand and result of the same expressed type, got {} -> {}",
            describe(src),
            describe(dst)
        )),
    }
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
