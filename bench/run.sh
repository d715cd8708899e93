#!/usr/bin/env bash
# Benchmark: a large (default 100,000-op) text IR file through onnxqc, with mlir-opt-22 as a same-run
# reference.
#
#   bash bench/run.sh                 # from any folder; prints a Markdown report on stdout
#   OPS=20000 RUNS=3 bash bench/run.sh
#   KEEP=1 bash bench/run.sh          # keep the temporary folder (input, outputs, logs)
#
# Steps: cargo build --release (retried while the tree does not build), generate the input with
# bench/gen_large_ir.py into a temporary folder (never inside the repository), then time each case
# RUNS times (after one untimed warm-up run) and report the median wall time and the largest
# "Maximum resident set size" that /usr/bin/time -v saw over the timed runs:
#   (a) onnxqc FILE --time-passes -o out.mlir                   parse + verify + print
#   (b) onnxqc FILE -passes=cse,dce --time-passes -o out2.mlir  ... + cse + dce (+ verify after each)
#   (ref a) mlir-opt-22 --allow-unregistered-dialect FILE -o /dev/null
#   (ref b) mlir-opt-22 --allow-unregistered-dialect --cse FILE -o /dev/null
# Checks: out.mlir must equal FILE byte for byte (print(parse(x)) == x), out2.mlir must read back to
# itself, and the op counts before/after cse,dce. Exits 1 when a check fails.
#
# Environment: OPS (100000), RUNS (5), SEED (1), KEEP (0), BUILD_TRIES (10), BUILD_WAIT (60 s),
# CARGO_TARGET_DIR (as cargo), MLIR_OPT (mlir-opt-22).

set -euo pipefail

OPS=${OPS:-100000}
RUNS=${RUNS:-5}
SEED=${SEED:-1}
KEEP=${KEEP:-0}
BUILD_TRIES=${BUILD_TRIES:-10}
BUILD_WAIT=${BUILD_WAIT:-60}
MLIR_OPT=${MLIR_OPT:-mlir-opt-22}

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$BENCH_DIR/.." && pwd)
TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
case $TARGET_DIR in /*) ;; *) TARGET_DIR=$ROOT/$TARGET_DIR ;; esac
ONNXQC=$TARGET_DIR/release/onnxqc

BENCH_TAG=bench
# shellcheck source=bench/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

# ------------------------------------------------------------------ tools -----
command -v python3 >/dev/null 2>&1 || die "python3 is required"
command -v cargo >/dev/null 2>&1 || die "cargo is required"
if [ ! -x /usr/bin/time ]; then
    apt_install time || die "/usr/bin/time is missing and could not be installed (apt package 'time')"
fi
HAVE_MLIR=1
if ! command -v "$MLIR_OPT" >/dev/null 2>&1; then
    if [ "$MLIR_OPT" = mlir-opt-22 ] && apt_install mlir-22-tools && command -v mlir-opt-22 >/dev/null 2>&1; then
        :
    else
        log "warning: $MLIR_OPT not available (Debian package mlir-22-tools); reference rows are skipped"
        HAVE_MLIR=0
    fi
fi

# ------------------------------------------------------------------ build -----
build_ok=0
for ((try = 1; try <= BUILD_TRIES; try++)); do
    log "cargo build --release (attempt $try/$BUILD_TRIES)"
    if (cd "$ROOT" && cargo build --release >&2); then
        build_ok=1
        break
    fi
    if ((try < BUILD_TRIES)); then
        log "build failed (the tree may be mid-edit); retrying in ${BUILD_WAIT}s"
        sleep "$BUILD_WAIT"
    fi
done
((build_ok)) || die "cargo build --release failed $BUILD_TRIES times"
[ -x "$ONNXQC" ] || die "no binary at $ONNXQC"

# ------------------------------------------------------------------ input -----
WORK=$(mktemp -d "${TMPDIR:-/tmp}/onnxqc-bench.XXXXXX")
if [ "$KEEP" = 1 ]; then
    log "keeping $WORK"
else
    trap 'rm -rf "$WORK"' EXIT
fi
INPUT=$WORK/large.mlir
log "generating $OPS ops into $INPUT"
python3 "$BENCH_DIR/gen_large_ir.py" --ops "$OPS" --seed "$SEED" --out "$INPUT" --stats 2>"$WORK/gen.log"
GEN_STATS=$(cat "$WORK/gen.log")
INPUT_BYTES=$(wc -c <"$INPUT")

# ------------------------------------------------------------------ timing ----
# time_case NAME CMD... : runs CMD once untimed, then RUNS times under /usr/bin/time -v.
# Sets CASE_WALL (median seconds) and CASE_RSS (max KiB). stdout/stderr of the last run are kept in
# $WORK/NAME.stdout / .stderr.
time_case() {
    local name=$1
    shift
    local walls=() rss_max=0 i t0 t1 rss
    if ! "$@" >"$WORK/$name.stdout" 2>"$WORK/$name.stderr"; then
        cat "$WORK/$name.stderr" >&2
        die "$name: command failed: $*"
    fi
    for ((i = 1; i <= RUNS; i++)); do
        t0=$(date +%s%N)
        if ! /usr/bin/time -v -o "$WORK/$name.time" "$@" >"$WORK/$name.stdout" 2>"$WORK/$name.stderr"; then
            cat "$WORK/$name.stderr" >&2
            die "$name: command failed: $*"
        fi
        t1=$(date +%s%N)
        walls+=("$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.4f", (b - a) / 1e9 }')")
        rss=$(awk -F': *' '/Maximum resident set size/ { print $2 }' "$WORK/$name.time")
        ((rss > rss_max)) && rss_max=$rss
    done
    CASE_WALL=$(printf '%s\n' "${walls[@]}" | sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }')
    CASE_RSS=$rss_max
    log "$(printf '%-14s median %ss of [%s], max RSS %s KiB' "$name" "$CASE_WALL" "${walls[*]}" "$CASE_RSS")"
}

count_ops() { grep -cE ' = "|"onnx\.' "$1" || true; }

cd "$WORK"
time_case a "$ONNXQC" "$INPUT" --time-passes -o "$WORK/out.mlir"
A_WALL=$CASE_WALL A_RSS=$CASE_RSS
time_case b "$ONNXQC" "$INPUT" -passes=cse,dce --time-passes -o "$WORK/out2.mlir"
B_WALL=$CASE_WALL B_RSS=$CASE_RSS
if ((HAVE_MLIR)); then
    time_case ref_a "$MLIR_OPT" --allow-unregistered-dialect "$INPUT" -o /dev/null
    RA_WALL=$CASE_WALL RA_RSS=$CASE_RSS
    time_case ref_b "$MLIR_OPT" --allow-unregistered-dialect --cse "$INPUT" -o /dev/null
    RB_WALL=$CASE_WALL RB_RSS=$CASE_RSS
    # One extra untimed run to see what mlir-opt's cse leaves.
    "$MLIR_OPT" --allow-unregistered-dialect --cse "$INPUT" -o "$WORK/mlir_cse.mlir"
fi

# ------------------------------------------------------------------ checks ----
status=0
if cmp -s "$INPUT" "$WORK/out.mlir"; then
    ROUNDTRIP=PASS
else
    ROUNDTRIP=FAIL
    status=1
    cmp "$INPUT" "$WORK/out.mlir" >&2 || true
    diff "$INPUT" "$WORK/out.mlir" | head -20 >&2 || true
fi
"$ONNXQC" "$WORK/out2.mlir" -o "$WORK/out3.mlir"
if cmp -s "$WORK/out2.mlir" "$WORK/out3.mlir"; then
    ROUNDTRIP2=PASS
else
    ROUNDTRIP2=FAIL
    status=1
fi
OPS_IN=$(count_ops "$INPUT")
OPS_A=$(count_ops "$WORK/out.mlir")
OPS_B=$(count_ops "$WORK/out2.mlir")
MLIR_CHECK="n/a"
if ((HAVE_MLIR)); then
    if "$MLIR_OPT" --allow-unregistered-dialect "$WORK/out2.mlir" -o /dev/null 2>"$WORK/mlir_out2.stderr"; then
        MLIR_CHECK=PASS
    else
        MLIR_CHECK=FAIL
        status=1
    fi
    OPS_MLIR_CSE=$(count_ops "$WORK/mlir_cse.mlir")
fi

# ------------------------------------------------------------------ report ----
mib() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }'; }
cpu=$(awk -F': *' '/^model name/ { print $2; exit }' /proc/cpuinfo 2>/dev/null || true)
rev=$(cd "$ROOT" && git rev-parse --short HEAD 2>/dev/null || echo unknown)
dirty=$(cd "$ROOT" && git status --porcelain -- ':!bench' 2>/dev/null | wc -l)
mlir_version=$( ((HAVE_MLIR)) && "$MLIR_OPT" --version 2>/dev/null | awk '/version/ { print $NF; exit }' || echo n/a)

echo "## onnxqc large-IR benchmark"
echo
echo "- date: $(date -u '+%Y-%m-%d %H:%M UTC')"
echo "- machine: $(nproc) CPUs, ${cpu:-unknown CPU}, $(uname -sr)"
echo "- onnxqc: git $rev (+$dirty uncommitted changes outside bench/), release build; $(rustc --version 2>/dev/null || echo rustc ?)"
echo "- reference: $MLIR_OPT ${mlir_version:-}"
echo "- input: $OPS ops, $INPUT_BYTES bytes (gen_large_ir.py --seed $SEED: $GEN_STATS)"
echo "- each case: 1 warm-up run, then $RUNS timed runs; median wall time, largest max RSS of the timed runs"
echo
echo "| case | median wall (s) | max RSS (MiB) | ratio vs mlir-opt (wall) | ratio vs mlir-opt (RSS) |"
echo "|---|---:|---:|---:|---:|"
if ((HAVE_MLIR)); then
    echo "| (a) onnxqc parse+verify+print | $A_WALL | $(mib "$A_RSS") | $(ratio "$A_WALL" "$RA_WALL") | $(ratio "$A_RSS" "$RA_RSS") |"
    echo "| (b) onnxqc -passes=cse,dce | $B_WALL | $(mib "$B_RSS") | $(ratio "$B_WALL" "$RB_WALL") | $(ratio "$B_RSS" "$RB_RSS") |"
    echo "| (ref a) mlir-opt parse+verify+print | $RA_WALL | $(mib "$RA_RSS") | 1.00 | 1.00 |"
    echo "| (ref b) mlir-opt --cse | $RB_WALL | $(mib "$RB_RSS") | 1.00 | 1.00 |"
else
    echo "| (a) onnxqc parse+verify+print | $A_WALL | $(mib "$A_RSS") | n/a | n/a |"
    echo "| (b) onnxqc -passes=cse,dce | $B_WALL | $(mib "$B_RSS") | n/a | n/a |"
fi
echo
echo "Ratios: (a) against (ref a), (b) against (ref b); below 1 means onnxqc is faster / smaller."
echo
echo "Checks:"
echo
echo "- round trip, out.mlir == input byte for byte: **$ROUNDTRIP**"
echo "- out2.mlir (after cse,dce) reads back to itself: **$ROUNDTRIP2**; accepted by $MLIR_OPT: **$MLIR_CHECK**"
echo "- op count (lines with \` = \"\` or \`\"onnx.\`): input $OPS_IN, after (a) $OPS_A, after cse,dce $OPS_B (removed $((OPS_IN - OPS_B)))"
if ((HAVE_MLIR)); then
    echo "- for comparison, ops left by \`$MLIR_OPT --cse\`: $OPS_MLIR_CSE (MLIR does not merge unregistered ops, so its cse has no work here)"
fi
echo
echo "\`--time-passes\` of the last (b) run:"
echo
echo '```'
cat "$WORK/b.stderr"
echo '```'
exit $status
