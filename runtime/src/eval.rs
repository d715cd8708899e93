//! Evaluating one op on constant inputs, for constant folding: [`eval_op`] builds the op's kernel
//! straight from the kernel registry in a throw-away one-op body and runs it once on the calling
//! thread's context. No [`crate::Session`] is made (a session owns a thread pool; making one per folded
//! op would spawn threads each time); kernels that split work use rayon's global pool, created once per
//! process.
//!
//! The one-op body holds the inputs as `onnx.Constant` ops, so kernels that read constant operands at
//! build time (shapes, weights) see them as they would in a real plan. Result types are unknown there:
//! the evaluator computes them, and the caller checks them against what its IR declares. Ops with
//! sub-graphs are refused (their bodies read outer values that a single op cannot carry).

use std::sync::Arc;

use onnxqc_ir::{Attribute, Body, OpData, RegionId, TensorData, Type, ValueId};

use crate::error::{Result, RuntimeError};
use crate::kernels::{registry, BuildCtx, RegionCompiler};
use crate::plan::{Plan, RunCtx};
use crate::tensor::Tensor;

/// Refuses to compile sub-graphs: [`eval_op`] only runs ops without regions.
struct NoRegions;

impl RegionCompiler for NoRegions {
    fn compile(&self, _region: RegionId, _captures: &[ValueId]) -> Result<Plan> {
        Err(RuntimeError::new(
            "sub-graphs are not evaluated on constants",
        ))
    }
}

/// Runs `op` (kind, attributes, node name; its operand and result ids are not read, only the number of
/// results) on `inputs` (`None` for an absent optional operand) under default-domain opset `opset`, and
/// returns one tensor per result. Errors (no kernel, an op with regions, an input type the runtime
/// cannot hold, a kernel error) are messages naming the op; constant folding treats them as "do not
/// fold".
pub fn eval_op(
    op: &OpData,
    inputs: &[Option<&TensorData>],
    opset: i64,
) -> std::result::Result<Vec<TensorData>, String> {
    let what = match &op.name {
        Some(n) => format!("{} '{n}'", op.kind),
        None => op.kind.to_string(),
    };
    eval_inner(op, inputs, opset).map_err(|e| format!("cannot evaluate {what}: {e}"))
}

fn eval_inner(op: &OpData, inputs: &[Option<&TensorData>], opset: i64) -> Result<Vec<TensorData>> {
    if !op.regions().is_empty() {
        return Err(RuntimeError::new("ops with sub-graphs are not evaluated"));
    }
    let build = registry()
        .get(&op.kind)
        .ok_or_else(|| RuntimeError::new("the runtime has no kernel for it"))?;
    let mut body = Body::new();
    let entry = body.entry_block();
    let mut operands = Vec::with_capacity(inputs.len());
    let mut tensors = Vec::with_capacity(inputs.len());
    for (i, input) in inputs.iter().enumerate() {
        match input {
            Some(t) => {
                let tensor =
                    Tensor::from_tensor_data(t).map_err(|e| e.context(format!("input {i}")))?;
                let c = body.append_new_op(
                    entry,
                    "onnx.Constant",
                    &[],
                    vec![Type::tensor(t.elem, &t.shape)],
                    vec![(Arc::from("value"), Attribute::Tensor((*t).clone()))],
                );
                operands.push(body.op(c).results()[0]);
                tensors.push(Some(tensor));
            }
            None => {
                let c =
                    body.append_new_op(entry, onnxqc_onnx::NO_VALUE, &[], vec![Type::None], vec![]);
                operands.push(body.op(c).results()[0]);
                tensors.push(None);
            }
        }
    }
    let results = vec![Type::Unknown; op.results().len()];
    let id = body.append_new_op(entry, &op.kind, &operands, results, op.attrs.clone());
    body.op_mut(id).name = op.name.clone();
    let ctx = BuildCtx {
        body: &body,
        op: id,
        opset,
        captures: &[],
        regions: &NoRegions,
    };
    let kernel = build(&ctx)?;
    let refs: Vec<Option<&Tensor>> = tensors.iter().map(Option::as_ref).collect();
    let mut run = RunCtx::new(None);
    let out = kernel.run(&mut run, &refs)?;
    if out.len() != op.results().len() {
        return Err(RuntimeError::new(format!(
            "the kernel gave {} results, the op has {}",
            out.len(),
            op.results().len()
        )));
    }
    Ok(out.iter().map(Tensor::to_tensor_data).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use onnxqc_ir::ScalarType;

    /// A detached op of `kind` with `results` results and `attrs`, as a pass would hand it over.
    fn op(kind: &str, results: usize, attrs: Vec<(&str, Attribute)>) -> OpData {
        let mut body = Body::new();
        let attrs = attrs.into_iter().map(|(k, v)| (Arc::from(k), v)).collect();
        let id = body.create_op(kind, &[], vec![Type::Unknown; results], attrs);
        body.op(id).clone()
    }

    fn f32s(t: &TensorData) -> Vec<f32> {
        (0..t.num_elements() as usize)
            .map(|i| t.float_at(i).unwrap() as f32)
            .collect()
    }

    #[test]
    fn adds_two_constants_with_broadcasting() {
        let a = TensorData::from_f32(vec![2, 2], &[1.0, 2.0, 3.0, 4.0]).unwrap();
        let b = TensorData::from_f32(vec![2], &[10.0, 20.0]).unwrap();
        let out = eval_op(&op("onnx.Add", 1, vec![]), &[Some(&a), Some(&b)], 17).unwrap();
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].shape, vec![2, 2]);
        assert_eq!(f32s(&out[0]), vec![11.0, 22.0, 13.0, 24.0]);
    }

    #[test]
    fn reads_attributes_and_constant_operands() {
        let x = TensorData::from_f32(vec![2, 3], &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]).unwrap();
        let t = eval_op(
            &op(
                "onnx.Transpose",
                1,
                vec![("perm", Attribute::Ints(vec![1, 0]))],
            ),
            &[Some(&x)],
            17,
        )
        .unwrap();
        assert_eq!(t[0].shape, vec![3, 2]);
        assert_eq!(f32s(&t[0]), vec![1.0, 4.0, 2.0, 5.0, 3.0, 6.0]);
        // Reshape's shape operand is read from the one-op body's constant.
        let shape = TensorData::from_i64(vec![1], &[-1]).unwrap();
        let r = eval_op(
            &op("onnx.Reshape", 1, vec![]),
            &[Some(&x), Some(&shape)],
            17,
        )
        .unwrap();
        assert_eq!(r[0].shape, vec![6]);
    }

    #[test]
    fn absent_optional_inputs_and_casts() {
        let x = TensorData::from_i64(vec![3], &[1, 2, 3]).unwrap();
        let c = eval_op(
            &op("onnx.Cast", 1, vec![("to", Attribute::Int(1))]),
            &[Some(&x)],
            17,
        )
        .unwrap();
        assert_eq!(c[0].elem, ScalarType::F32);
        assert_eq!(f32s(&c[0]), vec![1.0, 2.0, 3.0]);
        // Slice with its optional axes absent and steps given.
        let (s, e, st) = (
            TensorData::from_i64(vec![1], &[0]).unwrap(),
            TensorData::from_i64(vec![1], &[3]).unwrap(),
            TensorData::from_i64(vec![1], &[2]).unwrap(),
        );
        let out = eval_op(
            &op("onnx.Slice", 1, vec![]),
            &[Some(&x), Some(&s), Some(&e), None, Some(&st)],
            17,
        )
        .unwrap();
        assert_eq!(out[0].shape, vec![2]);
        assert_eq!((out[0].int_at(0), out[0].int_at(1)), (Some(1), Some(3)));
    }

    #[test]
    fn refusals_are_messages() {
        let x = TensorData::from_f32(vec![2], &[1.0, 2.0]).unwrap();
        let err = eval_op(&op("custom.Nope", 1, vec![]), &[Some(&x)], 17).unwrap_err();
        assert!(
            err.contains("custom.Nope") && err.contains("no kernel"),
            "{err}"
        );
        // A kernel error (incompatible shapes) is an error, not a panic.
        let y = TensorData::from_f32(vec![3], &[1.0, 2.0, 3.0]).unwrap();
        let err = eval_op(&op("onnx.Add", 1, vec![]), &[Some(&x), Some(&y)], 17).unwrap_err();
        assert!(err.contains("onnx.Add"), "{err}");
        // Strings have no run-time representation.
        let s = TensorData::from_strings(vec![1], vec![b"a".to_vec()]).unwrap();
        assert!(eval_op(&op("onnx.Identity", 1, vec![]), &[Some(&s)], 17).is_err());
        // An op with a region is refused before any kernel is built.
        let mut body = Body::new();
        let entry = body.entry_block();
        let iff = body.append_new_op(entry, "onnx.If", &[], vec![Type::Unknown], vec![]);
        body.add_region(iff);
        let c = TensorData::from_bytes(
            ScalarType::Bool,
            vec![],
            onnxqc_ir::Buffer::from_vec(vec![1]),
        )
        .unwrap();
        let err = eval_op(body.op(iff), &[Some(&c)], 17).unwrap_err();
        assert!(err.contains("sub-graphs"), "{err}");
    }
}
