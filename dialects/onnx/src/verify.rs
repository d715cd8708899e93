//! Op-specific verifier checks for ONNX ops, registered with the op registry by [`crate::register`]:
//! the type rules that must hold whatever the opset (a constant's type is its value's type, the operands of
//! same-type element-wise ops agree, an `If` has a boolean condition and branches that yield one value per
//! result). Shape rules belong to shape inference, not here.

use onnxqc_ir::attr::Attribute;
use onnxqc_ir::print::{print_elem_type, print_type};
use onnxqc_ir::{Body, ElemType, OpId, TensorType, Type};

/// Element-wise ops whose tensor operands share one element type (ONNX type constraint `T` for all inputs).
pub const SAME_TYPE_ELEMENTWISE: &[&str] = &[
    "onnx.Add",
    "onnx.Sub",
    "onnx.Mul",
    "onnx.Div",
    "onnx.Sum",
    "onnx.Max",
    "onnx.Min",
    "onnx.Mean",
    "onnx.Equal",
    "onnx.Less",
    "onnx.Greater",
    "onnx.LessOrEqual",
    "onnx.GreaterOrEqual",
    "onnx.And",
    "onnx.Or",
    "onnx.Xor",
    "onnx.PRelu",
];

/// The element type of a tensor value, when known.
fn elem(body: &Body, v: onnxqc_ir::ValueId) -> Option<&ElemType> {
    body.value_type(v).elem()
}

/// `onnx.Constant`: exactly one value attribute, and the result type is that value's type.
pub fn verify_constant(body: &Body, op: OpId) -> Result<(), String> {
    let data = body.op(op);
    let Some(&result) = data.results().first() else {
        return Err(format!("has {} results, needs 1", data.results().len()));
    };
    let result = body.value_type(result);
    let value_attrs = [
        "value",
        "value_float",
        "value_floats",
        "value_int",
        "value_ints",
        "value_string",
        "value_strings",
        "sparse_value",
    ];
    // Inside a local function the value may be a reference to the function's attribute.
    let referenced = |n: &str| match data.attr(crate::attrs::REF_ATTRS) {
        Some(Attribute::Dict(d)) => d.iter().any(|(k, _)| &**k == n),
        _ => false,
    };
    let present: Vec<&str> = value_attrs
        .iter()
        .copied()
        .filter(|n| data.attr(n).is_some() || referenced(n))
        .collect();
    if present.len() != 1 {
        return Err(format!(
            "needs exactly one of {}, has {}",
            value_attrs.join(", "),
            present.len()
        ));
    }
    if let Some(Attribute::Tensor(t)) = data.attr("value") {
        let expected = Type::Tensor(TensorType::known(t.elem, &t.shape));
        let ok = match result {
            Type::Tensor(rt) => {
                rt.elem == ElemType::Scalar(t.elem)
                    && rt.shape.as_ref().is_none_or(|dims| {
                        dims.len() == t.shape.len()
                            && dims
                                .iter()
                                .zip(&t.shape)
                                .all(|(d, &n)| d.known().is_none_or(|k| k == n))
                    })
            }
            Type::Unknown => true,
            _ => false,
        };
        if !ok {
            return Err(format!(
                "result type {} does not match its value of type {}",
                print_type(result),
                print_type(&expected)
            ));
        }
    }
    Ok(())
}

/// Same-type element-wise ops: every operand with a known element type has the same one.
pub fn verify_same_elem(body: &Body, op: OpId) -> Result<(), String> {
    let data = body.op(op);
    let mut first: Option<&ElemType> = None;
    for (i, &v) in data.operands().iter().enumerate() {
        let Some(e) = elem(body, v) else { continue };
        match first {
            None => first = Some(e),
            Some(f) if f != e => {
                return Err(format!(
                    "operand #{i} has type {} but operand #0 has element type {}",
                    print_type(body.value_type(v)),
                    print_elem_type(f)
                ))
            }
            _ => {}
        }
    }
    Ok(())
}

/// `onnx.If`: a boolean condition, and each branch yields as many values as the op has results.
pub fn verify_if(body: &Body, op: OpId) -> Result<(), String> {
    let data = body.op(op);
    if let Some(e) = data.operands().first().and_then(|&c| elem(body, c)) {
        if *e != ElemType::Scalar(onnxqc_ir::ScalarType::Bool) {
            return Err(format!(
                "condition has type {}, expected tensor<i1>",
                print_type(body.value_type(data.operands()[0]))
            ));
        }
    }
    for (i, &r) in data.regions().iter().enumerate() {
        let Some(&block) = body.region(r).blocks().first() else {
            continue;
        };
        let Some(last) = body.last_op(block) else {
            continue;
        };
        if &*body.op(last).kind == crate::YIELD
            && body.op(last).operands().len() != data.results().len()
        {
            return Err(format!(
                "branch #{i} yields {} values but the op has {} results",
                body.op(last).operands().len(),
                data.results().len()
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use onnxqc_ir::parse::parse_module;
    use onnxqc_ir::verify::verify_module;

    fn errors(text: &str) -> String {
        let m = parse_module(text, 0).expect("parses");
        let reg = crate::tests::registry();
        match verify_module(&m, &reg) {
            Ok(()) => String::new(),
            Err(d) => d
                .iter()
                .map(|d| d.message.clone())
                .collect::<Vec<_>>()
                .join("\n"),
        }
    }

    #[test]
    fn constant_type_must_match_value() {
        let bad = "func.func @f() {\n  %0 = \"onnx.Constant\"() {value = dense<[1.0, 2.0]> : tensor<2xf32>} : () -> tensor<3xf32>\n  func.return\n}\n";
        assert!(
            errors(bad).contains("does not match its value"),
            "{}",
            errors(bad)
        );
        let ok = "func.func @f() {\n  %0 = \"onnx.Constant\"() {value = dense<[1.0, 2.0]> : tensor<2xf32>} : () -> tensor<?xf32>\n  func.return\n}\n";
        assert_eq!(errors(ok), "");
        let none = "func.func @f() {\n  %0 = \"onnx.Constant\"() : () -> tensor<?xf32>\n  func.return\n}\n";
        assert!(errors(none).contains("needs exactly one of"));
    }

    #[test]
    fn elementwise_operands_agree() {
        let bad = "func.func @f(%a: tensor<2xf32>, %b: tensor<2xi64>) {\n  %0 = \"onnx.Add\"(%a, %b) : (tensor<2xf32>, tensor<2xi64>) -> tensor<2xf32>\n  func.return\n}\n";
        assert!(
            errors(bad)
                .contains("operand #1 has type tensor<2xi64> but operand #0 has element type f32"),
            "{}",
            errors(bad)
        );
    }

    #[test]
    fn if_condition_and_branch_arity() {
        let bad = "func.func @f(%c: tensor<f32>, %x: tensor<2xf32>) {\n  %0 = \"onnx.If\"(%c) ({\n    \"onnx.Yield\"(%x, %x) : (tensor<2xf32>, tensor<2xf32>) -> ()\n  }, {\n    \"onnx.Yield\"(%x) : (tensor<2xf32>) -> ()\n  }) : (tensor<f32>) -> tensor<2xf32>\n  func.return\n}\n";
        let e = errors(bad);
        assert!(e.contains("condition has type tensor<f32>"), "{e}");
    }
}
