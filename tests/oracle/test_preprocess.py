"""ONNX Runtime oracle for the `preprocess` pipeline (shape-infer, fold, fuse, cse, dce, shape-infer).

For the three PaddleOCR models of `rapidocr-onnxruntime` and the self-made models of
``preprocess_models.py`` (Conv/ConvTranspose/Gemm + BatchNorm, bias Adds, MatMul + Add, decomposed
LayerNorm, Erf and tanh Gelu, Swish, Shape/Reshape chains with symbolic dims), after
``onnxqc IN -passes=preprocess -o OUT``:

- OUT passes ``onnx.checker`` (full check: ONNX's own shape inference agrees with ours);
- every value of the graph has a type with a shape in OUT (``value_info``, inputs or outputs), each dim
  a number or a name;
- ONNX Runtime gives the same outputs for OUT as for IN within 1e-5 relative (relative L2 error, and the
  largest element error against the output's largest magnitude, unless the model's own rounding-noise
  floor is higher: see ``compare``), at every input shape;
- no BatchNormalization is left whose input came from a Conv, ConvTranspose or Gemm;
- the self-made models show the fusions they were built for (``EXPECTED_OPS``).

Node counts before/after are printed (``pytest -s``) for the issue notes.
"""

from __future__ import annotations

import collections

import numpy as np
import onnx
import pytest

import ocr_inputs
import preprocess_models
from conftest import check_model, ort_run

RTOL = 1e-5

# op_type -> count after preprocess (domain ignored), for the fusions each model was built to show.
EXPECTED_OPS = {
    "cnn_bn": {"BatchNormalization": 0, "Transpose": 0, "Identity": 0, "Conv": 4, "ConvTranspose": 1},
    "gemm_bn_matmul_add": {"BatchNormalization": 0, "Gemm": 2, "MatMul": 1},
    "transformer_erf_gelu_opset13": {"Erf": 0, "Gelu": 1},
    "transformer_erf_gelu_opset17": {"LayerNormalization": 2, "ReduceMean": 0, "Erf": 0, "Gelu": 1},
    "transformer_tanh_gelu_opset14": {"Tanh": 0},
    "transformer_swish_opset14": {"Sigmoid": 0},
}

OCR_FEEDS = {
    "det": [ocr_inputs.det_input(320, 320, seed=1), ocr_inputs.det_input(256, 384, seed=2)],
    "cls": [ocr_inputs.line_input(48, 192, seed=3)],
    "rec": [ocr_inputs.line_input(48, 320, seed=4), ocr_inputs.line_input(48, 160, seed=5)],
}


def op_counts(m: onnx.ModelProto) -> collections.Counter:
    return collections.Counter(n.op_type for n in m.graph.node)


def bn_after_linear(m: onnx.ModelProto) -> int:
    """BatchNormalization nodes whose input is produced by a Conv, ConvTranspose or Gemm."""
    producer = {o: n.op_type for n in m.graph.node for o in n.output}
    return sum(
        1
        for n in m.graph.node
        if n.op_type == "BatchNormalization" and producer.get(n.input[0]) in ("Conv", "ConvTranspose", "Gemm")
    )


def untyped_values(m: onnx.ModelProto) -> list:
    """Names of node outputs (any graph depth) with no shaped tensor type in the model."""
    missing = []

    def shaped(vi) -> bool:
        t = vi.type.tensor_type
        return (
            vi.type.HasField("tensor_type")
            and t.HasField("shape")
            and all(d.HasField("dim_value") or d.HasField("dim_param") for d in t.shape.dim)
        )

    def walk(g: onnx.GraphProto, known: dict):
        known = dict(known)
        for vi in list(g.input) + list(g.output) + list(g.value_info):
            known[vi.name] = shaped(vi)
        for init in g.initializer:
            known[init.name] = True
        for n in g.node:
            for o in n.output:
                if o and not known.get(o, False):
                    missing.append(o)
            for a in n.attribute:
                for sub in ([a.g] if a.type == onnx.AttributeProto.GRAPH else list(a.graphs)):
                    walk(sub, known)

    walk(m.graph, {})
    return missing


def noise_floor(src, feeds: dict, name: str) -> float:
    """How far the original model's output `name` moves when every float input element moves by one ulp
    (random sign): the rounding noise the model itself amplifies. A rewrite that is not bit-exact (BN
    folding changes the order of float operations) cannot be held below it."""
    rng = np.random.default_rng(0)
    bumped = {
        k: (v * (1 + rng.choice([-1.0, 1.0], v.shape) * 2.0**-23)).astype(v.dtype) if v.dtype.kind == "f" else v
        for k, v in feeds.items()
    }
    a, b = ort_run(src, feeds)[name], ort_run(src, bumped)[name]
    return float(np.abs(a.astype(np.float64) - b.astype(np.float64)).max(initial=0.0))


def compare(src, out, feeds_list, what: str) -> None:
    """Outputs within 1e-5 relative: the relative L2 error is at most 1e-5, and the largest element error
    at most 1e-5 of the output's largest magnitude, or, where the model amplifies rounding noise beyond
    that, at most twice its own noise floor (see ``noise_floor``)."""
    for i, feeds in enumerate(feeds_list):
        expected = ort_run(src, feeds)
        actual = ort_run(out, feeds)
        assert list(actual) == list(expected), f"{what}: outputs {list(actual)} != {list(expected)}"
        for name, e in expected.items():
            a = actual[name]
            assert a.shape == e.shape and a.dtype == e.dtype, f"{what} {name}: {a.shape} {a.dtype} vs {e.shape} {e.dtype}"
            e64, a64 = e.astype(np.float64), a.astype(np.float64)
            scale = float(np.abs(e64).max(initial=0.0))
            err = float(np.abs(a64 - e64).max(initial=0.0))
            rel_l2 = float(np.linalg.norm(a64 - e64) / max(np.linalg.norm(e64), 1e-30))
            line = f"{what} output {name!r} feed set {i}: max error {err:.3g} (scale {scale:.3g}), relative L2 {rel_l2:.3g}"
            assert rel_l2 <= RTOL, f"{line}: relative L2 error over {RTOL}"
            if err > RTOL * max(scale, 1e-6):
                floor = noise_floor(src, feeds, name)
                line += f", noise floor {floor:.3g}"
                assert err <= 2 * floor, f"{line}: max error over {RTOL} x scale and over twice the noise floor"
            print(line)


def preprocess_and_check(onnxqc_ok, src, out, feeds_list, what: str) -> onnx.ModelProto:
    onnxqc_ok([src, "-passes=preprocess", "-o", out])
    check_model(out)
    before, after = onnx.load(str(src)), onnx.load(str(out))
    b, a = op_counts(before), op_counts(after)
    print(f"{what}: {sum(b.values())} nodes -> {sum(a.values())} nodes")
    print(f"  before: {dict(b.most_common())}")
    print(f"  after:  {dict(a.most_common())}")
    missing = untyped_values(after)
    assert not missing, f"{what}: {len(missing)} values without a shape after preprocess: {missing[:10]}"
    assert bn_after_linear(after) == 0, f"{what}: BatchNormalization after Conv/ConvTranspose/Gemm left"
    compare(src, out, feeds_list, what)
    return after


@pytest.mark.parametrize("name", sorted(preprocess_models.PREPROCESS_MODELS))
def test_self_made_model(name, onnxqc_ok, tmp_path):
    model, feeds = preprocess_models.PREPROCESS_MODELS[name]()
    src = tmp_path / f"{name}.onnx"
    onnx.save_model(model, str(src))
    check_model(src)
    after = preprocess_and_check(onnxqc_ok, src, tmp_path / "out.onnx", feeds, name)
    counts = op_counts(after)
    for op, n in EXPECTED_OPS.get(name, {}).items():
        assert counts.get(op, 0) == n, f"{name}: expected {n} {op} after preprocess, found {counts.get(op, 0)}"


@pytest.mark.parametrize("kind", list(OCR_FEEDS))
def test_paddleocr(kind, rapidocr_models, onnxqc_ok, tmp_path):
    src = rapidocr_models[kind]
    (inp,) = [i.name for i in onnx.load(str(src)).graph.input]
    feeds = [{inp: x} for x in OCR_FEEDS[kind]]
    after = preprocess_and_check(onnxqc_ok, src, tmp_path / "out.onnx", feeds, f"PaddleOCR {kind}")
    assert op_counts(after).get("Constant", 0) == 0, "Constant nodes should have become initializers"
