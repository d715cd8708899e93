#!/usr/bin/env python
"""Oracle for onnxqc's calibration statistics (dialects/quant/src/calib).

Generates seeded float32 batches, runs ONNX Runtime's calibrators on them and prints, as one JSON object
on stdout, the batches (float32 bit patterns in hex) and ONNX Runtime's results:
- histogram methods (entropy, percentile, distribution): ONNX Runtime's HistogramCollector with
  collect() called once per batch, then compute_collection_result();
- MinMax: ONNX Runtime's MinMaxCalibrater on a one-node model (ReduceMin/ReduceMax run by ONNX Runtime),
  all batches in one collect_data call (plain and moving_average=True, i.e. the mean of per-batch
  extremes), or one collect_data call per batch with moving_average=True (exponential moving average).

Run by dialects/quant/tests/calib_oracle.rs, which feeds the same batches to onnxqc's Statistic.
"""

import contextlib
import io
import json
import sys
import tempfile
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper
from onnxruntime.quantization.calibrate import (
    CalibrationDataReader,
    CalibrationMethod,
    HistogramCollector,
    create_calibrator,
)

F32 = np.float32


def make_datasets():
    rng = np.random.default_rng(20260515)
    d = {}
    d["normal"] = [rng.standard_normal(4000).astype(F32) for _ in range(5)]
    # ReLU-like: half of a shifted normal, exact zeros included.
    d["relu"] = [np.maximum(rng.normal(0.2, 1.0, 3000), 0).astype(F32) for _ in range(5)]
    heavy = []
    for k in range(5):
        b = (rng.standard_t(2, 5000) * 0.5).astype(F32)
        b[rng.integers(0, b.size, 3)] = F32(rng.choice([-1, 1]) * rng.uniform(20, 60))
        heavy.append(b)
    d["heavy"] = heavy
    # The range grows by 1.4x per batch (about 10x overall).
    d["growing"] = [(rng.standard_normal(2000) * 1.4**k).astype(F32) for k in range(8)]
    d["zero_first"] = [np.zeros(1500, dtype=F32)] + [
        rng.normal(0.5, 2.0, 3000).astype(F32) for _ in range(4)
    ]
    d["skewed"] = [rng.uniform(-0.3, 2.5, 3000).astype(F32) for _ in range(4)]
    return d


def bits(x):
    return int(np.array(x, dtype=F32).reshape(()).view(np.uint32))


def quiet(f, *args):
    # ONNX Runtime's calibrators print progress on stdout, which carries our JSON.
    with contextlib.redirect_stdout(io.StringIO()):
        return f(*args)


class Reader(CalibrationDataReader):
    def __init__(self, batches):
        self.it = iter(batches)

    def get_next(self):
        b = next(self.it, None)
        return None if b is None else {"X": b}


def minmax_model(path):
    x = helper.make_tensor_value_info("X", TensorProto.FLOAT, ["n"])
    y = helper.make_tensor_value_info("Y", TensorProto.FLOAT, ["n"])
    g = helper.make_graph([helper.make_node("Relu", ["X"], ["Y"])], "g", [x], [y])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
    onnx.save(m, path)


def run_minmax(tmp, batches, symmetric, averaging, constant):
    model = str(Path(tmp) / "model.onnx")
    minmax_model(model)
    options = {"symmetric": symmetric, "moving_average": averaging != "none"}
    if averaging == "ema":
        options["averaging_constant"] = constant
    cal = create_calibrator(
        model,
        None,
        augmented_model_path=str(Path(tmp) / "augmented.onnx"),
        calibrate_method=CalibrationMethod.MinMax,
        extra_options=options,
    )
    if averaging == "ema":
        for b in batches:
            quiet(cal.collect_data, Reader([b]))
    else:
        quiet(cal.collect_data, Reader(batches))
    lo, hi = cal.compute_data()["X"].range_value
    return bits(lo), bits(hi)


def run_histogram(batches, method, symmetric=False, num_bins=128, nq=128, percentile=99.999, scenario="same"):
    c = HistogramCollector(method, symmetric, num_bins, nq, percentile, scenario)
    for b in batches:
        quiet(c.collect, {"X": b})
    hist = c.histogram_dict["X"][0]
    out = {
        "bins": int(hist.size),
        # Values ONNX Runtime left out of the histogram (outside its grid).
        "dropped": int(sum(b.size for b in batches) - hist.sum()),
    }
    r = quiet(c.compute_collection_result)["X"]
    if method == "distribution":
        out.update(lowest=bits(r.lowest), highest=bits(r.highest), avg=bits(r.avg), std=bits(r.std))
    else:
        out.update(lowest=bits(r[0]), highest=bits(r[1]))
    if out["dropped"]:
        # onnxqc keeps what ONNX Runtime drops in the end bins. Where the dropped values are known (the
        # magnitudes below the first edge of an absolute-value histogram, whose first edge never moves),
        # also give ONNX Runtime's result on its histogram with them kept: what onnxqc must reproduce.
        assert method == "percentile" and symmetric, f"unexpected drops in a value histogram: {out}"
        hist, edges, *rest = c.histogram_dict["X"]
        below = int(sum(np.count_nonzero(np.abs(b) < edges[0]) for b in batches))
        kept = hist.copy()
        kept[0] += below
        kept[-1] += out["dropped"] - below
        c.histogram_dict["X"] = (kept, edges, *rest)
        r = quiet(c.compute_collection_result)["X"]
        out["kept"] = {"lowest": bits(r[0]), "highest": bits(r[1])}
    return out


def main():
    data = make_datasets()
    cases = []
    with tempfile.TemporaryDirectory() as tmp:
        for name, batches in data.items():
            for symmetric, averaging, constant in [
                (False, "none", None),
                (True, "none", None),
                (False, "mean", None),
                (True, "mean", None),
                (False, "ema", 0.01),
                (True, "ema", 0.5),
            ]:
                lo, hi = run_minmax(tmp, batches, symmetric, averaging, constant)
                case = {"method": "minmax", "symmetric": symmetric, "averaging": averaging}
                if constant is not None:
                    case["constant"] = constant
                cases.append({"dataset": name, **case, "lowest": lo, "highest": hi})
            for num_bins, nq in [(128, 128), (512, 128), (300, 64)]:
                case = {"method": "entropy", "num_bins": num_bins, "num_quantized_bins": nq}
                cases.append(
                    {"dataset": name, **case, **run_histogram(batches, "entropy", num_bins=num_bins, nq=nq)}
                )
            for num_bins, pct, symmetric in [
                (2048, 99.999, True),
                (2048, 99.9, True),
                (2048, 99.999, False),
                (2048, 99.9, False),
                (333, 99.0, True),
                (333, 95.0, False),
            ]:
                case = {"method": "percentile", "num_bins": num_bins, "percentile": pct, "symmetric": symmetric}
                cases.append(
                    {
                        "dataset": name,
                        **case,
                        **run_histogram(batches, "percentile", symmetric, num_bins=num_bins, percentile=pct),
                    }
                )
            for num_bins, scenario in [(2048, "same"), (2048, "p3"), (600, "same")]:
                case = {"method": "distribution", "num_bins": num_bins, "scenario": scenario}
                cases.append(
                    {
                        "dataset": name,
                        **case,
                        **run_histogram(batches, "distribution", num_bins=num_bins, scenario=scenario),
                    }
                )
    datasets = {name: [b.astype("<f4").tobytes().hex() for b in batches] for name, batches in data.items()}
    json.dump({"datasets": datasets, "cases": cases}, sys.stdout)


if __name__ == "__main__":
    main()
