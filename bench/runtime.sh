#!/usr/bin/env bash
# Runtime latency benchmark: the onnxqc runtime vs ONNX Runtime on the PaddleOCR det/cls/rec models,
# 1 and 2 threads, medians and ratios from the same run (see bench/runtime_bench.py).
#
# Usage: bench/runtime.sh [--repeat N]      (writes target/bench/runtime.md; copy it into RESULTS.md)
set -euo pipefail
cd "$(dirname "$0")/.."
BENCH_TAG=runtime
. bench/common.sh
[ -x .venv/bin/python ] || scripts/install.sh --test-deps-only >&2
log "building onnxqc (release)"
cargo build --release -q -p onnxqc
mkdir -p target/bench
log "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(nproc) cores"
.venv/bin/python bench/runtime_bench.py target/release/onnxqc --markdown target/bench/runtime.md "$@"
