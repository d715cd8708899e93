//! The quantization dialect of onnxqc: the `qc.*` ops that the quantization passes insert between ONNX
//! ops (observers for calibration, then quantize / dequantize / requantize conversions), registered into
//! an [`OpRegistry`] by [`register`]. Also the quantization parameter math shared by the passes and the
//! runtime ([`params`]), the calibration statistics ([`calib`]) and calibration tables ([`table`]).

pub mod calib;
pub mod params;
pub mod table;

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

fn describe(e: Option<&ElemType>) -> String {
    e.map_or_else(
        || "an unknown type".to_string(),
        |e| format!("element type {}", onnxqc_ir::print::print_elem_type(e)),
    )
}

/// The check shared by the conversion ops: `legal(operand element type, result element type)`, and the
/// expectation to state when it fails.
fn verify_conversion(
    body: &Body,
    op: OpId,
    legal: fn(&ElemType, &ElemType) -> bool,
    expects: &str,
) -> Result<(), String> {
    let d = body.op(op);
    let src = body.value_type(d.operands()[0]).elem();
    let dst = body.value_type(d.results()[0]).elem();
    match (src, dst) {
        (Some(a), Some(b)) if legal(a, b) => Ok(()),
        _ => Err(format!(
            "expects {expects}, got {} -> {}",
            describe(src),
            describe(dst)
        )),
    }
}

/// `qc.quantize`: a float operand and a quantized result expressing that float type.
fn verify_quantize(body: &Body, op: OpId) -> Result<(), String> {
    verify_conversion(
        body,
        op,
        |a, b| matches!((a, b), (ElemType::Scalar(f), ElemType::Quant(q)) if *f == q.expressed),
        "a float operand and a quantized result of that float type",
    )
}

/// `qc.dequantize`: a quantized operand and a float result of its expressed type.
fn verify_dequantize(body: &Body, op: OpId) -> Result<(), String> {
    verify_conversion(
        body,
        op,
        |a, b| matches!((a, b), (ElemType::Quant(q), ElemType::Scalar(f)) if *f == q.expressed),
        "a quantized operand and a float result of its expressed type",
    )
}

/// `qc.requantize`: quantized to quantized, same expressed type.
fn verify_requantize(body: &Body, op: OpId) -> Result<(), String> {
    verify_conversion(
        body,
        op,
        |a, b| matches!((a, b), (ElemType::Quant(x), ElemType::Quant(y)) if x.expressed == y.expressed),
        "quantized operand and result of the same expressed type",
    )
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
