#!/usr/bin/env bash
# Calibration benchmark: onnxqc's calibrate pass vs ONNX Runtime's calibrators on the PaddleOCR detector,
# 16 and 128 samples, every method; wall time and peak RSS as ratios from the same run
# (see bench/calibrate_bench.py).
#
# Usage: bench/calibrate.sh [--samples 16,128] [--methods minmax,entropy,...] [--size 320]
#        (writes target/bench/calibrate.md; copy it into RESULTS.md)
set -euo pipefail
cd "$(dirname "$0")/.."
BENCH_TAG=calibrate
. bench/common.sh
[ -x .venv/bin/python ] || scripts/install.sh --test-deps-only >&2
[ -x /usr/bin/time ] || apt_install time || die "/usr/bin/time is missing"
log "building onnxqc (release)"
cargo build --release -q -p onnxqc
mkdir -p target/bench
log "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(nproc) cores"
.venv/bin/python bench/calibrate_bench.py target/release/onnxqc --markdown target/bench/calibrate.md "$@"
