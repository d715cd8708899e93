#!/usr/bin/env bash
# `preprocess` benchmark: onnxqc's preprocess pipeline vs ONNX Runtime's quant_pre_process on a synthetic
# 100k-node transformer-like graph and the PaddleOCR models; wall time and peak RSS as ratios from the same run
# (see bench/preprocess_bench.py).
#
# Usage: bench/preprocess.sh [--nodes N] [--runs R]     (writes target/bench/preprocess.md; copy it into RESULTS.md)
set -euo pipefail
cd "$(dirname "$0")/.."
BENCH_TAG=preprocess
. bench/common.sh
[ -x .venv/bin/python ] || scripts/install.sh --test-deps-only >&2
# ONNX Runtime's symbolic shape inference needs sympy (not a test dependency).
.venv/bin/python -c "import sympy" 2>/dev/null || .venv/bin/pip install -q sympy >&2
[ -x /usr/bin/time ] || apt_install time || die "/usr/bin/time is missing"
log "building onnxqc (release)"
cargo build --release -q -p onnxqc
mkdir -p target/bench
log "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(nproc) cores"
.venv/bin/python bench/preprocess_bench.py target/release/onnxqc --markdown target/bench/preprocess.md "$@"
