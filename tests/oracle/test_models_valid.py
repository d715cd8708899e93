"""Checks the self-made oracle models themselves (no onnxqc needed): every builder in
models.py gives a model that passes onnx.checker (full_check unless exempted, with the
reason, in models.FULL_CHECK_EXEMPT), runs in ONNX Runtime on every feed set, and gives
bit-identical outputs in two separate sessions (so the round-trip comparisons are meaningful).
Also checks that the opset models cover every default-domain opset from 10 to 23."""

import numpy as np
import onnx
import pytest

import models
from conftest import assert_same_outputs, check_model, full_check_for, ort_run, ort_session

NAMES = list(models.MODELS)


@pytest.mark.parametrize("name", NAMES)
def test_model_is_valid_and_deterministic(name, model_file):
    path, feed_sets = model_file(name)
    check_model(path, full_check=full_check_for(name))
    first, second = ort_session(path), ort_session(path)
    for i, feeds in enumerate(feed_sets):
        out1 = ort_run(first, feeds)
        out2 = ort_run(second, feeds)
        assert out1, f"{name}: no outputs"
        assert_same_outputs(out1, out2, f"{name} feed set {i}")


@pytest.mark.parametrize("name", NAMES)
def test_builder_is_deterministic(name, tmp_path):
    """Two builds give byte-identical files and equal feeds."""
    a, fa = models.materialize(name, tmp_path / "a")
    b, fb = models.materialize(name, tmp_path / "b")
    assert a.read_bytes() == b.read_bytes()
    assert len(fa) == len(fb)
    for x, y in zip(fa, fb):
        assert list(x) == list(y)
        for k in x:
            assert x[k].dtype == y[k].dtype and np.array_equal(x[k], y[k], equal_nan=True)


def test_opsets_10_to_23_covered(tmp_path):
    versions = set()
    for name in NAMES:
        if name.startswith("opset"):
            path, _ = models.materialize(name, tmp_path / name)
            m = onnx.load(str(path), load_external_data=False)
            versions |= {o.version for o in m.opset_import if o.domain in ("", "ai.onnx")}
    assert set(range(10, 24)) <= versions, sorted(set(range(10, 24)) - versions)
