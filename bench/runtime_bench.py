#!/usr/bin/env python3
"""Latency of the onnxqc runtime vs ONNX Runtime on the PaddleOCR models, in one run.

For each model (det at 1x3x640x640, cls at 1x3x48x192, rec at 1x3x48x320, realistic inputs from
tests/oracle/ocr_inputs.py) and each thread count (1, 2):
- ONNX Runtime: CPU provider, default graph optimizations (what users get), intra-op threads = T,
  warm-up runs, then the median of N timed runs of session.run;
- onnxqc: `onnxqc run MODEL --threads T --repeat N`, which times N runs after one warm-up inside the
  process (import and planning excluded, as for ONNX Runtime's session creation) and prints the median.
Ratio = onnxqc median / ONNX Runtime median (below 1: onnxqc is faster).

Usage: runtime_bench.py ONNXQC_BIN [--repeat N] [--markdown FILE]
"""

from __future__ import annotations

import argparse
import pathlib
import re
import subprocess
import sys
import tempfile
import time
import zipfile

import numpy as np
import onnxruntime as ort

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests" / "oracle"))
import ocr_inputs  # noqa: E402

CACHE = ROOT / "target" / "oracle-cache"
INPUTS = {
    "det": lambda: ocr_inputs.det_input(640, 640, seed=1),
    "cls": lambda: ocr_inputs.line_input(48, 192, seed=3),
    "rec": lambda: ocr_inputs.line_input(48, 320, seed=4),
}


def models() -> dict:
    wheels = sorted(CACHE.glob("rapidocr_onnxruntime-*.whl"))
    if not wheels:
        CACHE.mkdir(parents=True, exist_ok=True)
        subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "-q", "rapidocr-onnxruntime",
                        "-d", str(CACHE)], check=True)
        wheels = sorted(CACHE.glob("rapidocr_onnxruntime-*.whl"))
    dest = CACHE / "bench-models"
    dest.mkdir(parents=True, exist_ok=True)
    found = {}
    with zipfile.ZipFile(wheels[-1]) as z:
        for n in z.namelist():
            for kind in INPUTS:
                if n.endswith(".onnx") and f"_{kind}_" in n:
                    p = dest / n.rsplit("/", 1)[-1]
                    if not p.exists():
                        p.write_bytes(z.read(n))
                    found[kind] = p
    return found


def ort_median(path, x, threads: int, repeat: int) -> float:
    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    s = ort.InferenceSession(str(path), so, providers=["CPUExecutionProvider"])
    feeds = {s.get_inputs()[0].name: x}
    for _ in range(3):
        s.run(None, feeds)
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        s.run(None, feeds)
        times.append(time.perf_counter() - t)
    return float(np.median(times))


def onnxqc_median(binary, path, x, threads: int, repeat: int) -> float:
    with tempfile.TemporaryDirectory() as d:
        inp = pathlib.Path(d) / "x.npy"
        np.save(inp, x)
        out = subprocess.run([str(binary), "run", str(path), "--input", str(inp), "--output-dir", d,
                              "--threads", str(threads), "--repeat", str(repeat)],
                             capture_output=True, text=True, check=True)
    m = re.search(r"median ([0-9.]+) ms", out.stdout + out.stderr)
    if not m:
        raise SystemExit(f"no 'median ... ms' in onnxqc's output:\n{out.stdout}\n{out.stderr}")
    return float(m.group(1)) / 1000.0


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("onnxqc")
    ap.add_argument("--repeat", type=int, default=20)
    ap.add_argument("--markdown")
    args = ap.parse_args()
    rows = []
    for kind, path in models().items():
        x = INPUTS[kind]()
        for threads in (1, 2):
            o = ort_median(path, x, threads, args.repeat)
            q = onnxqc_median(args.onnxqc, path, x, threads, args.repeat)
            rows.append((kind, "x".join(map(str, x.shape)), threads, q * 1e3, o * 1e3, q / o))
            print(f"{kind:4} {threads} thread(s): onnxqc {q*1e3:8.2f} ms  onnxruntime {o*1e3:8.2f} ms  ratio {q/o:5.2f}",
                  flush=True)
    table = ["| model | input | threads | onnxqc (ms) | ONNX Runtime (ms) | ratio |", "|---|---|---:|---:|---:|---:|"]
    for kind, shape, t, q, o, r in rows:
        table.append(f"| {kind} | {shape} | {t} | {q:.2f} | {o:.2f} | {r:.2f} |")
    text = "\n".join(table) + "\n"
    print(text)
    if args.markdown:
        pathlib.Path(args.markdown).write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
