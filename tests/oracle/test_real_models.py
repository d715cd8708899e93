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

import shutil
import subprocess
import sys
import zipfile
import zlib

import numpy as np
import onnx
import pytest

from conftest import assert_same_outputs, check_model, oracle_cache_dir, ort_run

PACKAGE = "rapidocr-onnxruntime"
WHEEL_GLOB = "rapidocr_onnxruntime-*.whl"

# Input shapes per model kind (NCHW); a model's fixed dims win over these, symbolic ones take
# these values. Two shapes where the model allows it, to run the symbolic dims twice.
SHAPES = {
    "det": [[1, 3, 640, 640], [1, 3, 320, 480]],
    "cls": [[1, 3, 48, 192]],
    "rec": [[1, 3, 48, 320], [1, 3, 48, 160]],
}

# pip output that means "no network" (only then is the test skipped).
NETWORK_ERRORS = (
    "network is unreachable",
    "temporary failure in name resolution",
    "name or service not known",
    "nodename nor servname",
    "failed to establish a new connection",
    "connection refused",
    "connection reset",
    "connection aborted",
    "connecttimeout",
    "read timed out",
    "max retries exceeded",
    "proxyerror",
    "no route to host",
    "could not fetch url",
    "sslerror",
)


def _valid_wheel(path) -> bool:
    try:
        with zipfile.ZipFile(path) as z:
            return any(n.endswith(".onnx") for n in z.namelist())
    except (zipfile.BadZipFile, OSError):
        return False


def _download_wheel(cache):
    wheels = [w for w in sorted(cache.glob(WHEEL_GLOB)) if _valid_wheel(w)]
    if wheels:
        return wheels[-1]
    for broken in cache.glob(WHEEL_GLOB):  # an interrupted earlier download
        broken.unlink()
    cache.mkdir(parents=True, exist_ok=True)
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--disable-pip-version-check",
           "--retries", "1", "--timeout", "30", PACKAGE, "-d", str(cache)]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, errors="replace", timeout=1800)
    except subprocess.TimeoutExpired:
        pytest.fail(f"{' '.join(cmd)} timed out", pytrace=False)
    output = proc.stdout + proc.stderr
    if proc.returncode != 0:
        lowered = output.lower()
        hit = next((p for p in NETWORK_ERRORS if p in lowered), None)
        if hit is not None:
            reason = f"cannot download {PACKAGE} (no network: pip says {hit!r}); real-model oracle tests skipped"
            print(reason)
            pytest.skip(reason)
        pytest.fail(f"{' '.join(cmd)} failed (exit {proc.returncode}):\n{output[-4000:]}", pytrace=False)
    wheels = [w for w in sorted(cache.glob(WHEEL_GLOB)) if _valid_wheel(w)]
    if not wheels:
        pytest.fail(f"pip download succeeded but no usable {WHEEL_GLOB} in {cache}:\n{output[-4000:]}", pytrace=False)
    return wheels[-1]


def _kind(filename: str):
    for kind in SHAPES:
        if f"_{kind}_" in filename or filename.startswith(f"{kind}_"):
            return kind
    return None


@pytest.fixture(scope="session")
def rapidocr_models() -> dict:
    """{kind: path of the extracted .onnx} for det, cls and rec."""
    cache = oracle_cache_dir()
    wheel = _download_wheel(cache)
    dest = cache / "rapidocr-models" / wheel.stem
    found = {}
    if not dest.is_dir():
        staging = dest.with_name(dest.name + ".partial")
        shutil.rmtree(staging, ignore_errors=True)
        staging.mkdir(parents=True)
        with zipfile.ZipFile(wheel) as z:
            for info in z.infolist():
                if info.filename.endswith(".onnx"):
                    (staging / info.filename.rsplit("/", 1)[-1]).write_bytes(z.read(info))
        staging.rename(dest)
    for path in sorted(dest.glob("*.onnx")):
        kind = _kind(path.name)
        if kind is not None:
            found.setdefault(kind, path)
    missing = set(SHAPES) - set(found)
    assert not missing, f"{wheel.name} has no {sorted(missing)} model (files: {sorted(p.name for p in dest.iterdir())})"
    return found


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
