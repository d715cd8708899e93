#!/usr/bin/env python3
"""Calibration: `onnxqc -passes=shape-infer,calibrate{method=M}` vs ONNX Runtime's `create_calibrator` +
`collect_data` + `compute_data`, in one run, on the same model and the same data files.

Model: the PaddleOCR detector of `rapidocr-onnxruntime` (from the oracle cache, see tests/oracle) on
synthetic document pages (tests/oracle/ocr_inputs.py) of `--size` pixels, one `.npz` per sample; both tools
read the samples lazily, one at a time. For every method and sample count: one run per tool (calibration is
long; `--runs` repeats), wall time and the peak RSS of `/usr/bin/time -v`. ONNX Runtime keeps every
calibrated tensor of every sample in memory, so its runs get a memory limit (`--ort-limit-gib`, enforced
with `ulimit -v`): a run that hits it is reported as failed with the limit. Ratio = onnxqc / ONNX Runtime.

Usage: calibrate_bench.py ONNXQC_BIN [--samples 16,128] [--methods minmax,...] [--size 320] [--markdown FILE]
"""

from __future__ import annotations

import argparse
import pathlib
import subprocess
import sys
import tempfile

import numpy as np

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests" / "oracle"))
sys.path.insert(0, str(ROOT / "bench"))
import ocr_inputs  # noqa: E402
from preprocess_bench import timed  # noqa: E402

PY = sys.executable
ORT_SCRIPT = """
import glob, sys
import numpy as np
from onnxruntime.quantization.calibrate import CalibrationDataReader, CalibrationMethod, create_calibrator
from onnxruntime.quantization.registry import QDQRegistry, QLinearOpsRegistry
model, data, method, aug = sys.argv[1:5]
files = sorted(glob.glob(data + "/*.npz"))
class Reader(CalibrationDataReader):
    def __init__(self):
        self.i = 0
    def get_next(self):
        if self.i >= len(files):
            return None
        self.i += 1
        with np.load(files[self.i - 1]) as z:
            return {k: z[k] for k in z.files}
methods = {"minmax": CalibrationMethod.MinMax, "entropy": CalibrationMethod.Entropy,
           "percentile": CalibrationMethod.Percentile, "distribution": CalibrationMethod.Distribution}
cal = create_calibrator(model, sorted(set(QDQRegistry) | set(QLinearOpsRegistry)), augmented_model_path=aug,
                        calibrate_method=methods[method])
cal.collect_data(Reader())
cal.compute_data()
"""


def make_data(folder: pathlib.Path, input_name: str, n: int, size: int) -> None:
    if folder.is_dir() and len(list(folder.glob("*.npz"))) == n:
        return
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        np.savez(folder / f"{i:04d}.npz", **{input_name: ocr_inputs.det_input(size, size, seed=i)})


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("onnxqc", type=pathlib.Path)
    ap.add_argument("--samples", default="16,128")
    ap.add_argument("--methods", default="minmax,entropy,percentile,distribution,mse")
    ap.add_argument("--size", type=int, default=320)
    ap.add_argument("--runs", type=int, default=1)
    ap.add_argument("--ort-limit-gib", type=float, default=20.0)
    ap.add_argument("--markdown", type=pathlib.Path)
    args = ap.parse_args()
    args.onnxqc = args.onnxqc.resolve()
    found = sorted((ROOT / "target" / "oracle-cache" / "rapidocr-models").glob("*/*det*.onnx"))
    if not found:
        sys.exit("the PaddleOCR detector is not in target/oracle-cache: run the oracle tests once (scripts/test.sh)")
    model = found[0]
    import onnx

    (input_name,) = [i.name for i in onnx.load(str(model), load_external_data=False).graph.input]
    limit_kib = int(args.ort_limit_gib * 1024 * 1024)
    rows = []
    with tempfile.TemporaryDirectory(dir=ROOT / "target" / "bench") as tmp:
        work = pathlib.Path(tmp)
        for n in [int(s) for s in args.samples.split(",")]:
            data = ROOT / "target" / "bench" / f"calib-det-{args.size}-{n}"
            make_data(data, input_name, n, args.size)
            for method in args.methods.split(","):
                ours = timed([args.onnxqc, model, f"-passes=shape-infer,calibrate{{method={method}}}",
                              "--calib-data", data, "--no-progress", "--write-calibration-table",
                              work / "table.json", "-o", work / "out.onnx"], work, args.runs)
                if method == "mse":  # not an ONNX Runtime method
                    theirs = (False, None, None, "no such method in ONNX Runtime")
                else:
                    script = f"ulimit -v {limit_kib}; exec {PY} -c \"$0\" \"$@\""
                    theirs = timed(["bash", "-c", script, ORT_SCRIPT, model, data, method, work / "aug.onnx"],
                                   work, args.runs)
                    if not theirs[0]:
                        theirs = (False, None, None, f"fails under a {args.ort_limit_gib:g} GiB limit: {theirs[3]}")
                row = {"method": method, "samples": n, "ours": ours, "theirs": theirs}
                rows.append(row)
                print(row, file=sys.stderr)

    def cell(res):
        ok, t, rss, err = res
        return f"{t:.1f} s, {rss} MiB" if ok else err

    lines = [
        f"PaddleOCR det, {args.size}×{args.size} pages, one `.npz` per sample.",
        "",
        "| method | samples | onnxqc | ONNX Runtime | time ratio | memory ratio |",
        "|---|---|---|---|---|---|",
    ]
    for r in rows:
        o, t = r["ours"], r["theirs"]
        ratio = f"{o[1] / t[1]:.3f}" if o[0] and t[0] else "—"
        mem = f"{o[2] / t[2]:.3f}" if o[0] and t[0] else "—"
        lines.append(f"| {r['method']} | {r['samples']} | {cell(o)} | {cell(t)} | {ratio} | {mem} |")
    text = "\n".join(lines) + "\n"
    print(text)
    if args.markdown:
        args.markdown.write_text(text)


if __name__ == "__main__":
    main()
