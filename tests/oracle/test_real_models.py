"""ONNX Runtime oracle for onnxqc's ONNX import/export on real models: the PaddleOCR
detection, direction-classification and recognition models shipped in the
``rapidocr-onnxruntime`` wheel (opset 11/12 exports from paddle2onnx: hundreds of Constant
nodes, no initializers, dim_value -1 and dim_param "?" symbolic dims).

The wheel is fetched once with ``pip download --no-deps rapidocr-onnxruntime`` into the cache
(``target/oracle-cache``, or ``$ONNXQC_ORACLE_CACHE``) and reused afterwards. When the download
fails because there is no network, the tests are skipped with the reason; any other failure
fails them.

For each model: ``onnxqc m.onnx -o out.onnx`` exits 0, the output passes
``onnx.checker.check_model(path, full_check=True)``, and ONNX Runtime gives bit-identical
outputs on deterministic random inputs (symbolic dims filled with sizes the model accepts).
"""

from __future__ import annotations

import zlib

import numpy as np
import onnx
import pytest

from conftest import SHAPES, assert_same_outputs, check_model, ort_run

def input_feeds(model: onnx.ModelProto, kind: str) -> list:
    """One feed dict per shape in SHAPES[kind]: fixed dims from the model, symbolic ones from
    the table; values uniform in [-1, 1) from a generator seeded by the kind and shape."""
    initializers = {t.name for t in model.graph.initializer}
    inputs = [i for i in model.graph.input if i.name not in initializers]
    assert len(inputs) == 1, f"{kind}: expected one image input, got {[i.name for i in inputs]}"
    (inp,) = inputs
    dtype = onnx.helper.tensor_dtype_to_np_dtype(inp.type.tensor_type.elem_type)
    dims = inp.type.tensor_type.shape.dim
    feeds = []
    for wanted in SHAPES[kind]:
        assert len(dims) == len(wanted), f"{kind}: input rank {len(dims)}, table has {wanted}"
        shape = [d.dim_value if d.HasField("dim_value") and d.dim_value > 0 else w for d, w in zip(dims, wanted)]
        rng = np.random.default_rng(zlib.crc32(f"{kind}:{shape}".encode()))
        feeds.append({inp.name: rng.uniform(-1.0, 1.0, shape).astype(dtype)})
    return feeds


@pytest.mark.parametrize("kind", list(SHAPES))
def test_real_model_roundtrip(kind, rapidocr_models, onnxqc_ok, tmp_path):
    src = rapidocr_models[kind]
    out = tmp_path / "out.onnx"
    onnxqc_ok([src, "-o", out])
    assert out.is_file(), f"onnxqc exited 0 but wrote no {out}"
    check_model(out, full_check=True)
    feed_sets = input_feeds(onnx.load(str(src)), kind)
    for i, feeds in enumerate(feed_sets):
        shape = next(iter(feeds.values())).shape
        expected = ort_run(src, feeds)
        actual = ort_run(out, feeds)
        assert_same_outputs(expected, actual, f"{src.name} at input shape {shape} (feed set {i})")
