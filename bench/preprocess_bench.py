#!/usr/bin/env python3
"""`onnxqc -passes=preprocess` vs ONNX Runtime's `quant_pre_process`, in one run.

Models: the synthetic transformer-like graph of `gen_transformer.py` (`--nodes`, 100,000 by default,
cached in target/bench/) and the three PaddleOCR models of `rapidocr-onnxruntime` (from the oracle cache;
skipped when absent). For each model and tool: one untimed warm-up, then the median wall time of `--runs`
runs and the largest "Maximum resident set size" of `/usr/bin/time -v`; whether the tool succeeded (ONNX
Runtime's symbolic shape inference gives up on some models); node counts before and after. ONNX Runtime's
`quant_pre_process` is the closest peer: symbolic shape inference + ONNX Runtime's graph optimizer (basic
level: constant folding and fusions) + shape inference again. Ratio = onnxqc / ONNX Runtime.

Usage: preprocess_bench.py ONNXQC_BIN [--nodes N] [--runs R] [--markdown FILE]
"""

from __future__ import annotations

import argparse
import collections
import pathlib
import statistics
import subprocess
import sys
import tempfile

import onnx

ROOT = pathlib.Path(__file__).resolve().parent.parent
PY = sys.executable
ORT_SCRIPT = """
import sys
from onnxruntime.quantization.shape_inference import quant_pre_process
quant_pre_process(sys.argv[1], sys.argv[2])
"""


def timed(cmd: list, workdir: pathlib.Path, runs: int):
    """(ok, median seconds, max RSS MiB, stderr tail) over RUNS runs after one warm-up."""
    times, rss = [], 0
    for i in range(runs + 1):
        tfile = workdir / "time.txt"
        # In the scratch folder: ONNX Runtime's tool writes temporary files into the working directory.
        proc = subprocess.run(["/usr/bin/time", "-v", "-o", str(tfile)] + [str(c) for c in cmd],
                              capture_output=True, text=True, cwd=workdir)
        if proc.returncode != 0:
            tail = (proc.stderr.strip().splitlines() or ["?"])[-1]
            return False, None, None, tail[:160]
        info = dict(
            line.strip().split(": ", 1) for line in tfile.read_text().splitlines() if ": " in line
        )
        wall = info["Elapsed (wall clock) time (h:mm:ss or m:ss)"]
        parts = [float(p) for p in wall.split(":")]
        secs = parts[-1] + 60 * parts[-2] + (3600 * parts[-3] if len(parts) > 2 else 0)
        if i > 0:
            times.append(secs)
            rss = max(rss, int(info["Maximum resident set size (kbytes)"]) // 1024)
    return True, statistics.median(times), rss, ""


def nodes(path: pathlib.Path) -> int:
    return len(onnx.load(str(path), load_external_data=False).graph.node)


def ops(path: pathlib.Path) -> collections.Counter:
    return collections.Counter(n.op_type for n in onnx.load(str(path), load_external_data=False).graph.node)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("onnxqc", type=pathlib.Path)
    ap.add_argument("--nodes", type=int, default=100_000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--markdown", type=pathlib.Path)
    args = ap.parse_args()
    args.onnxqc = args.onnxqc.resolve()

    models = {}
    synth = ROOT / "target" / "bench" / f"transformer_{args.nodes}.onnx"
    if not synth.exists():
        subprocess.run([PY, str(ROOT / "bench" / "gen_transformer.py"), "--nodes", str(args.nodes), "--out", str(synth)],
                       check=True)
    models[f"synthetic transformer ({args.nodes:,} nodes)"] = synth
    for kind in ("det", "rec", "cls"):
        found = sorted((ROOT / "target" / "oracle-cache" / "rapidocr-models").glob(f"*/*{kind}*.onnx"))
        if found:
            models[f"PaddleOCR {kind}"] = found[0]

    rows = []
    with tempfile.TemporaryDirectory(dir=ROOT / "target" / "bench") as tmp:
        work = pathlib.Path(tmp)
        for label, path in models.items():
            ours_out, ort_out = work / "onnxqc.onnx", work / "ort.onnx"
            ours = timed([args.onnxqc, path, "-passes=preprocess", "-o", ours_out], work, args.runs)
            theirs = timed([PY, "-c", ORT_SCRIPT, path, ort_out], work, args.runs)
            before = nodes(path)
            row = {"model": label, "before": before, "ours": ours, "theirs": theirs,
                   "ours_nodes": nodes(ours_out) if ours[0] else None,
                   "ours_bn": ops(ours_out).get("BatchNormalization", 0) if ours[0] else None,
                   "theirs_nodes": nodes(ort_out) if theirs[0] else None}
            rows.append(row)
            print(row, file=sys.stderr)

    def cell(res):
        ok, t, rss, err = res
        return f"{t:.2f} s, {rss} MiB" if ok else f"fails: `{err}`"

    lines = [
        "| model | nodes before | onnxqc `preprocess` | nodes after (onnxqc) | ONNX Runtime `quant_pre_process` | nodes after (ORT) | time ratio | memory ratio |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        o, t = r["ours"], r["theirs"]
        ratio = f"{o[1] / t[1]:.3f}" if o[0] and t[0] else "—"
        mem = f"{o[2] / t[2]:.3f}" if o[0] and t[0] else "—"
        lines.append(
            f"| {r['model']} | {r['before']} | {cell(o)} | {r['ours_nodes'] or '—'} | {cell(t)} | "
            f"{r['theirs_nodes'] or '—'} | {ratio} | {mem} |"
        )
    text = "\n".join(lines) + "\n"
    print(text)
    if args.markdown:
        args.markdown.write_text(text)


if __name__ == "__main__":
    main()
