"""Oracle for the `calibrate` pass: the ranges onnxqc chooses equal ONNX Runtime's calibrators' ranges
on the same model and the same data.

- MinMax (plain, symmetric, moving average): equal to ``MinMaxCalibrater`` within 1e-6 relative.
- Entropy / Percentile / Distribution with every sample in one batch (``--calib-batch-size N``): onnxqc
  builds its histograms from exactly the values ONNX Runtime's one-shot histogram sees, so the thresholds
  are equal within 1e-6 relative (of the tensor's absolute maximum).
- The same methods streamed one sample at a time (onnxqc's default; memory flat in the number of
  samples): ONNX Runtime fixes its bins after seeing *all* data, onnxqc after the first sample and then
  widens them, so the histograms differ in resolution. The thresholds then agree within a few bins of
  ONNX Runtime's histogram (TOLERANCE_BINS below, in units of absmax / num_bins), which is the deliberate,
  stated difference.

Models: the self-made models of ``preprocess_models.py`` and the three PaddleOCR models of
``rapidocr-onnxruntime`` with real-looking inputs (``ocr_inputs.py``), including inputs whose shapes vary
between samples (the detector on pages of different sizes).
"""

from __future__ import annotations

import json
import pathlib

import numpy as np
import onnx
import pytest
from onnxruntime.quantization.calibrate import CalibrationDataReader, CalibrationMethod, create_calibrator
from onnxruntime.quantization.registry import QDQRegistry, QLinearOpsRegistry

import ocr_inputs
import preprocess_models

# Intermediate tensors of the PaddleOCR models differ between onnxqc's runtime and ONNX Runtime by float
# rounding of their kernels (summation order; ~2e-5 relative at worst, see test_real_models.py), so their
# ranges can only agree that closely. The self-made models and the graph inputs agree to 1e-6, and the
# statistics themselves are checked bit for bit on identical tensors in dialects/quant/tests/.
KERNEL_REL = 5e-5

# In units of (absmax of the tensor) / num_bins: how far a streamed threshold may be from ONNX Runtime's
# one-shot threshold. Measured worst cases are in the closing note of issue 6 / RESULTS.md.
# Entropy has none: its KL minimum moves with the bin grid (up to 77 of 128 bins between ONNX Runtime's own
# one-shot and per-sample results on PaddleOCR det), so streamed entropy is checked against ONNX Runtime's
# per-sample collection (exact) and its distance to the one-shot result is only reported.
TOLERANCE_BINS = {"percentile": 2.0, "entropy": None, "distribution": 2.0}
import os
if os.environ.get("CALIB_MEASURE"):
    TOLERANCE_BINS = {k: 1e9 for k in TOLERANCE_BINS}

OP_TYPES = sorted(set(QLinearOpsRegistry) | set(QDQRegistry))


class Reader(CalibrationDataReader):
    def __init__(self, samples):
        self.samples = list(samples)
        self.i = 0

    def get_next(self):
        if self.i >= len(self.samples):
            return None
        self.i += 1
        return self.samples[self.i - 1]


def ort_ranges(model: pathlib.Path, samples, method: str, tmp: pathlib.Path, extra: dict, per_sample=False) -> dict:
    """{tensor: (lowest, highest)} from ONNX Runtime's calibrator. With ``per_sample``, ``collect_data`` is
    called once per sample: ONNX Runtime's own way to bound its memory, where its histogram collector
    widens its bins sample by sample exactly as onnxqc does."""
    methods = {
        "minmax": CalibrationMethod.MinMax,
        "entropy": CalibrationMethod.Entropy,
        "percentile": CalibrationMethod.Percentile,
        "distribution": CalibrationMethod.Distribution,
    }
    cal = create_calibrator(
        model,
        OP_TYPES,
        augmented_model_path=str(tmp / f"augmented_{method}.onnx"),
        calibrate_method=methods[method],
        extra_options=extra,
    )
    if per_sample:
        for sample in samples:
            cal.collect_data(Reader([sample]))
    else:
        cal.collect_data(Reader(samples))
    out = {}
    for name, td in cal.compute_data().items():
        lo, hi = td.range_value
        out[name] = (float(np.asarray(lo).reshape(-1)[0]), float(np.asarray(hi).reshape(-1)[0]))
    return out


def write_samples(samples, folder: pathlib.Path) -> pathlib.Path:
    folder.mkdir(parents=True, exist_ok=True)
    for i, feeds in enumerate(samples):
        np.savez(folder / f"{i:04d}.npz", **feeds)
    return folder


def read_table(path: pathlib.Path) -> dict:
    """onnxqc's JSON calibration table, read as docs/calibration-table.md shows."""
    doc = json.loads(path.read_text())
    return {name: (float(e["lowest"]), float(e["highest"])) for name, e in doc["tensors"].items()}


def onnxqc_ranges(onnxqc_ok, model, data_dir, tmp, options: str, batch_size: int = 1) -> dict:
    table = tmp / f"table_{abs(hash((options, batch_size)))}.json"
    onnxqc_ok(
        [
            str(model),
            f"-passes=shape-infer,calibrate{{{options}}}" if options else "-passes=shape-infer,calibrate",
            "--calib-data",
            str(data_dir),
            "--calib-batch-size",
            str(batch_size),
            "--write-calibration-table",
            str(table),
            "--no-progress",
            "-o",
            str(tmp / "out.onnx"),
        ]
    )
    return read_table(table)


def constants(model: pathlib.Path) -> set:
    """Initializers and Constant-node outputs. ONNX Runtime's calibrators skip only initializers, so they
    also "calibrate" weights stored as Constant nodes (as paddle2onnx writes them); onnxqc treats both as
    weights, whose exact range the lowering reads from the data."""
    m = onnx.load(str(model), load_external_data=False)
    return {i.name for i in m.graph.initializer} | {
        o for n in m.graph.node if n.op_type == "Constant" for o in n.output
    }


def compare(ours: dict, theirs: dict, what: str, rel: float = 1e-6, bins: float | None = None, num_bins=None,
            model: pathlib.Path | None = None):
    if model is not None:
        theirs = {k: v for k, v in theirs.items() if k not in constants(model)}
    missing = sorted(set(theirs) - set(ours))
    assert not missing, f"{what}: onnxqc did not calibrate {len(missing)} tensors ONNX Runtime did: {missing[:10]}"
    worst = (0.0, None)
    for name, (lo, hi) in theirs.items():
        olo, ohi = ours[name]
        scale = max(abs(lo), abs(hi), abs(olo), abs(ohi), 1e-30)
        if bins is None and num_bins:
            tol = float("inf")
        elif bins is None:
            tol = rel * scale
        else:
            tol = bins * scale / num_bins + rel * scale
        err = max(abs(olo - lo), abs(ohi - hi))
        in_bins = err / (scale / num_bins) if num_bins else err / scale
        if in_bins > worst[0]:
            worst = (in_bins, name)
        assert err <= tol, (
            f"{what}: tensor '{name}': onnxqc ({olo!r}, {ohi!r}) vs ONNX Runtime ({lo!r}, {hi!r}), "
            f"difference {err:.3g} > tolerance {tol:.3g}"
        )
    print(f"{what}: worst {worst[0]:.3g} {'bins' if num_bins else 'relative'} at {worst[1]}")
    return worst


def exact_streaming(method: str, extra: dict) -> bool:
    """Whether onnxqc's streamed result must equal ONNX Runtime's per-sample collection to float rounding.
    Not for the symmetric percentile: ONNX Runtime's absolute-value bins start at the first sample's
    smallest |x| and it silently drops later values below that (500 bins off on PaddleOCR rec's LayerNorm
    means); onnxqc counts them in the end bin (dialects/quant/src/calib/histogram.rs) and is held to
    within TOLERANCE_BINS of the one-shot result instead."""
    return not (method == "percentile" and extra.get("symmetric", True))


def self_made_cases():
    for name, build in sorted(preprocess_models.PREPROCESS_MODELS.items()):
        yield name, build


@pytest.fixture(scope="module")
def self_made(tmp_path_factory):
    """{name: (model path, samples)}: 6 samples per model (its feeds, repeated with noise)."""
    root = tmp_path_factory.mktemp("calib-self-made")
    out = {}
    for name, build in self_made_cases():
        model, feeds = build()
        path = root / f"{name}.onnx"
        onnx.save_model(model, str(path))
        rng = np.random.default_rng(len(name))
        base = feeds[0]
        samples = [
            {k: (v + rng.standard_normal(v.shape).astype(v.dtype) * 0.5) if v.dtype == np.float32 else v for k, v in base.items()}
            for _ in range(6)
        ]
        out[name] = (path, samples)
    return out


MINMAX_OPTIONS = [
    ("", {}),
    ("symmetric=true", {"symmetric": True}),
    ("moving-average=true", {"moving_average": True}),
]


@pytest.mark.parametrize("options,extra", MINMAX_OPTIONS, ids=["plain", "symmetric", "moving-average"])
@pytest.mark.parametrize("name", [n for n, _ in self_made_cases()])
def test_minmax_self_made(name, options, extra, self_made, onnxqc_ok, tmp_path):
    path, samples = self_made[name]
    data = write_samples(samples, tmp_path / "data")
    theirs = ort_ranges(path, samples, "minmax", tmp_path, extra)
    ours = onnxqc_ranges(onnxqc_ok, path, data, tmp_path, ("method=minmax," + options).rstrip(","))
    compare(ours, theirs, f"{name} minmax {options}")


HIST_CASES = [
    ("entropy", "method=entropy", {}, 128),
    ("percentile", "method=percentile", {}, 2048),
    ("percentile", "method=percentile,percentile=99.9,symmetric=false", {"percentile": 99.9, "symmetric": False}, 2048),
    ("distribution", "method=distribution", {}, 2048),
]


@pytest.mark.parametrize("method,options,extra,num_bins", HIST_CASES, ids=[c[1] for c in HIST_CASES])
@pytest.mark.parametrize("name", ["cnn_bn", "transformer_erf_gelu_opset17"])
def test_histograms_self_made(name, method, options, extra, num_bins, self_made, onnxqc_ok, tmp_path):
    path, samples = self_made[name]
    data = write_samples(samples, tmp_path / "data")
    theirs = ort_ranges(path, samples, method, tmp_path, extra)
    # All samples in one batch: the same values in one histogram as ONNX Runtime's one-shot collection.
    one_batch = onnxqc_ranges(onnxqc_ok, path, data, tmp_path, options, batch_size=len(samples))
    compare(one_batch, theirs, f"{name} {options} (one batch)", rel=1e-5)
    streamed = onnxqc_ranges(onnxqc_ok, path, data, tmp_path, options)
    if exact_streaming(method, extra):
        theirs_streamed = ort_ranges(path, samples, method, tmp_path, extra, per_sample=True)
        compare(streamed, theirs_streamed, f"{name} {options} (streamed, both)", rel=1e-5)
    compare(streamed, theirs, f"{name} {options} (streamed vs one-shot)", bins=TOLERANCE_BINS[method], num_bins=num_bins)


def ocr_samples(kind: str, model: pathlib.Path, n: int, varying: bool):
    (inp,) = [i.name for i in onnx.load(str(model)).graph.input]
    if kind == "det":
        sizes = [(160 + 32 * (i % 3), 192 + 32 * (i % 2)) if varying else (192, 192) for i in range(n)]
        return [{inp: ocr_inputs.det_input(h, w, seed=i)} for i, (h, w) in enumerate(sizes)]
    if kind == "cls":
        return [{inp: ocr_inputs.line_input(48, 192, seed=i)} for i in range(n)]
    widths = [160 + 32 * (i % 3) if varying else 160 for i in range(n)]
    return [{inp: ocr_inputs.line_input(48, w, seed=i)} for i, w in enumerate(widths)]


@pytest.mark.parametrize("kind", ["det", "cls", "rec"])
def test_paddleocr_minmax(kind, rapidocr_models, onnxqc_ok, tmp_path):
    model = rapidocr_models[kind]
    samples = ocr_samples(kind, model, 4, varying=True)
    data = write_samples(samples, tmp_path / "data")
    theirs = ort_ranges(model, samples, "minmax", tmp_path, {})
    ours = onnxqc_ranges(onnxqc_ok, model, data, tmp_path, "method=minmax")
    compare(ours, theirs, f"PaddleOCR {kind} minmax", rel=KERNEL_REL, model=model)


@pytest.mark.parametrize("method,options,extra,num_bins", HIST_CASES[:2], ids=["entropy", "percentile"])
@pytest.mark.parametrize("kind", ["det", "rec"])
def test_paddleocr_histograms(kind, method, options, extra, num_bins, rapidocr_models, onnxqc_ok, tmp_path):
    model = rapidocr_models[kind]
    samples = ocr_samples(kind, model, 3, varying=False)
    data = write_samples(samples, tmp_path / "data")
    theirs = ort_ranges(model, samples, method, tmp_path, extra)
    one_batch = onnxqc_ranges(onnxqc_ok, model, data, tmp_path, options, batch_size=len(samples))
    compare(one_batch, theirs, f"PaddleOCR {kind} {options} (one batch)", rel=KERNEL_REL, model=model)
    streamed = onnxqc_ranges(onnxqc_ok, model, data, tmp_path, options)
    if exact_streaming(method, extra):
        theirs_streamed = ort_ranges(model, samples, method, tmp_path, extra, per_sample=True)
        compare(streamed, theirs_streamed, f"PaddleOCR {kind} {options} (streamed, both)", rel=KERNEL_REL,
                model=model)
    compare(streamed, theirs, f"PaddleOCR {kind} {options} (streamed)", bins=TOLERANCE_BINS[method], num_bins=num_bins,
            rel=KERNEL_REL, model=model)
