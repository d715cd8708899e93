"""ONNX Runtime oracle for the ``fold`` pass (constant folding).

A small transformer-like model built here (initializer arithmetic, a transposed weight, a Constant
node, a Shape/Gather/Slice/Concat chain over a symbolic batch dim feeding a Reshape, a Cast of a
static shape, an If branch reading outer constants, a DequantizeLinear of an int8 weight) goes through
``onnxqc m.onnx -passes=fold -o out.onnx``. The output must pass ``onnx.checker`` (full check), give
bit-identical outputs in ONNX Runtime for several batch sizes (the folded ops are exact in float), keep
its output names, and actually be folded: what depends only on constants is gone, what depends on
the input (or is a quantized weight's DequantizeLinear) stays.
"""

from __future__ import annotations

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

import models
from conftest import assert_same_outputs, check_model, full_check_for, ort_run


def build_model() -> onnx.ModelProto:
    rng = np.random.default_rng(7)
    inits = [
        numpy_helper.from_array(rng.standard_normal((3, 4)).astype(np.float32), "w0"),
        numpy_helper.from_array(rng.standard_normal(3).astype(np.float32), "b1"),
        numpy_helper.from_array(rng.standard_normal(3).astype(np.float32), "b2"),
        numpy_helper.from_array(np.array([0], np.int64), "zero"),
        numpy_helper.from_array(np.array([1], np.int64), "one"),
        numpy_helper.from_array(np.array([2], np.int64), "two"),
        numpy_helper.from_array(np.array(0, np.int64), "idx0"),
        numpy_helper.from_array(np.array([1, -2, 3], np.int8), "wq"),
        numpy_helper.from_array(np.array(0.25, np.float32), "wscale"),
    ]
    then_branch = helper.make_graph(
        [helper.make_node("Neg", ["b1"], ["nb1"]), helper.make_node("Add", ["nb1", "b2"], ["tb"])],
        "then",
        [],
        [helper.make_tensor_value_info("tb", TensorProto.FLOAT, [3])],
    )
    else_branch = helper.make_graph(
        [helper.make_node("Sub", ["b1", "b2"], ["eb"])],
        "else",
        [],
        [helper.make_tensor_value_info("eb", TensorProto.FLOAT, [3])],
    )
    nodes = [
        helper.make_node("Transpose", ["w0"], ["wt"], perm=[1, 0]),
        helper.make_node("MatMul", ["x", "wt"], ["mm"]),
        helper.make_node("Add", ["b1", "b2"], ["bias"]),
        helper.make_node("Add", ["mm", "bias"], ["h"]),
        helper.make_node("Constant", [], ["gain"], name="gain_const", value_floats=[0.5, 2.0, -1.0]),
        helper.make_node("Mul", ["h", "gain"], ["hg"]),
        # Reshape to [batch, 3, 1]: [batch] from the input's shape, [3] sliced from the weight's.
        helper.make_node("Shape", ["x"], ["xs"]),
        helper.make_node("Gather", ["xs", "idx0"], ["batch"], axis=0),
        helper.make_node("Unsqueeze", ["batch", "zero"], ["batch1"]),
        helper.make_node("Shape", ["wt"], ["wts"]),
        helper.make_node("Slice", ["wts", "one", "two"], ["cols"]),
        helper.make_node("Concat", ["batch1", "cols", "one"], ["newshape"], axis=0),
        helper.make_node("Reshape", ["hg", "newshape"], ["y"]),
        helper.make_node("Shape", ["w0"], ["w0s"]),
        helper.make_node("Cast", ["w0s"], ["w0sf"], to=TensorProto.FLOAT),
        helper.make_node("If", ["cond"], ["branch"], then_branch=then_branch, else_branch=else_branch),
        helper.make_node("DequantizeLinear", ["wq", "wscale"], ["wdq"]),
        helper.make_node("Mul", ["branch", "wdq"], ["z"]),
    ]
    graph = helper.make_graph(
        nodes,
        "fold_oracle",
        [
            helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 4]),
            helper.make_tensor_value_info("cond", TensorProto.BOOL, []),
        ],
        [
            helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", 3, 1]),
            helper.make_tensor_value_info("w0sf", TensorProto.FLOAT, [2]),
            helper.make_tensor_value_info("bias", TensorProto.FLOAT, [3]),
            helper.make_tensor_value_info("z", TensorProto.FLOAT, [3]),
        ],
        inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.checker.check_model(model, full_check=True)
    return model


def feeds(batch: int, cond: bool) -> dict:
    x = np.arange(batch * 4, dtype=np.float32).reshape(batch, 4) / 7.0
    return {"x": x, "cond": np.array(cond)}


def test_fold_keeps_outputs_and_folds_constants(tmp_path, onnxqc_ok):
    src = tmp_path / "m.onnx"
    onnx.save(build_model(), str(src))
    out = tmp_path / "folded.onnx"
    onnxqc_ok([src, "-passes=fold", "-o", out])
    check_model(out)

    for batch, cond in [(1, True), (2, False), (5, True)]:
        expected = ort_run(src, feeds(batch, cond))
        actual = ort_run(out, feeds(batch, cond))
        assert_same_outputs(expected, actual, f"batch {batch}, cond {cond}")

    folded = onnx.load(str(out))
    ops = [n.op_type for n in folded.graph.node]
    # Folded: the transposed weight, the bias sum, the weight's shape and its cast, the slice of a
    # static shape, the Constant node (now an initializer).
    for gone in ("Transpose", "Slice", "Cast", "Constant"):
        assert gone not in ops, f"{gone} should have been folded: {ops}"
    assert ops.count("Add") == 1, ops  # only mm + bias remains
    # Kept: everything that depends on the input, and the quantized weight's DequantizeLinear.
    for kept in ("MatMul", "Gather", "Concat", "Reshape", "If", "DequantizeLinear"):
        assert kept in ops, f"{kept} should have been kept: {ops}"
    inits = {t.name: numpy_helper.to_array(t) for t in folded.graph.initializer}
    assert "gain" in inits and "wt" in inits and "bias" in inits
    assert inits["w0sf"].tolist() == [3.0, 4.0]
    # Outputs keep their names, a folded one included.
    assert [o.name for o in folded.graph.output] == ["y", "w0sf", "bias", "z"]
    # Both If branches folded from the outer constants (into subgraph initializers).
    (if_node,) = [n for n in folded.graph.node if n.op_type == "If"]
    for a in if_node.attribute:
        assert [n.op_type for n in a.g.node] == [], f"{a.name}: {a.g.node}"
        assert [t.name for t in a.g.initializer] == [a.g.output[0].name], a.name


@pytest.mark.parametrize("name", list(models.MODELS))
def test_fold_on_every_oracle_model(name, tmp_path, model_file, onnxqc_ok):
    """Folding never breaks a model: every self-made oracle model (opsets 10-23, subgraphs, local
    functions, external data, sparse and old-style input initializers) still passes the checker and
    gives the same outputs in ONNX Runtime. Folded float ops may round differently from ONNX Runtime's
    own kernels (onnxqc computes them once, ONNX Runtime at each run), so values are compared with a
    tight tolerance; everything else (names, dtypes, shapes, integers) exactly."""
    in_path, feed_sets = model_file(name)
    out = tmp_path / "folded.onnx"
    onnxqc_ok([in_path, "-passes=fold", "-o", out])
    check_model(out, full_check=full_check_for(name))
    for i, f in enumerate(feed_sets):
        expected = ort_run(in_path, f)
        actual = ort_run(out, f)
        assert list(actual) == list(expected), f"{name}, feed set {i}: output names"
        for k, e in expected.items():
            a = actual[k]
            assert (a.dtype, a.shape) == (e.dtype, e.shape), f"{name}, feed set {i}: output {k!r}"
            if e.dtype.kind == "f":
                np.testing.assert_allclose(a, e, rtol=1e-5, atol=1e-6, err_msg=f"{name} {k!r}")
            else:
                assert np.array_equal(a, e), f"{name}, feed set {i}: output {k!r}"
