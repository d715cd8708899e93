#!/usr/bin/env bash
# Fuzz onnxqc with cargo-fuzz (libFuzzer) on a stable toolchain.
#
#   scripts/fuzz.sh [TARGET [SECONDS]]   build seeds, then fuzz TARGET for SECONDS (default parse_text, 60)
#   scripts/fuzz.sh seeds                only (re)build the seed corpora under fuzz/seeds/
#
# Targets (fuzz/fuzz_targets/): parse_text (IR text parser + verifier + printer round trip),
# onnx_import (ONNX protobuf importer + verifier + exporter).
#
# Steps: installs cargo-fuzz if missing (cargo install cargo-fuzz --locked); rebuilds fuzz/seeds/TARGET
# (parse_text: every lit-tests/**/*.mlir split at `// -----` lines, and examples/*.mlir; onnx_import:
# dialects/onnx/tests/data/**/*.onnx, tests/oracle/**/*.onnx, examples/*.onnx, and the models
# fuzz/gen_onnx_seeds.py writes); builds the target; fuzzes with new inputs going to fuzz/corpus/TARGET and crash, timeout and
# OOM inputs to fuzz/artifacts/TARGET/. The last lines printed are the number of executions, exec/s and
# the crash files found by this run. Exit status: 0 when no new crash file, 1 when some, 2 on setup
# or build errors.
#
# cargo-fuzz passes nightly-only flags (-Zsanitizer=...) to rustc; on a stable toolchain this script sets
# RUSTC_BOOTSTRAP=1 so stable rustc accepts them (see fuzz/README.md).
#
# Environment:
#   FUZZ_SANITIZER  address (default, cargo-fuzz's default) or none (about 2x faster, no ASan checks)
#   FUZZ_JOBS       parallel fuzzing processes in fork mode (-fork=N; default: CPUs, at most 4)
#   FUZZ_FORK       1 (default): libFuzzer fork mode, which keeps going after a crash, timeout or OOM
#                   (-ignore_crashes/-ignore_timeouts/-ignore_ooms) so one run collects several crash
#                   files. 0: one in-process fuzzer (fastest per core; FUZZ_JOBS is ignored), which stops
#                   at the first crash.
#   FUZZ_MAX_LEN    -max_len (default 16384 for parse_text, 65536 for onnx_import)
#   FUZZ_TIMEOUT    per-input timeout in seconds (default 10)
#   FUZZ_RSS_MB     -rss_limit_mb (default 2048)
#   FUZZ_ARGS       extra libFuzzer arguments
#   PYTHON          interpreter with the onnx package (default: .venv/bin/python, else python3)
set -uo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO_ROOT" || exit 2

log() { printf '[fuzz] %s\n' "$*" >&2; }
die() { printf '[fuzz] error: %s\n' "$*" >&2; exit 2; }
usage() { awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "${BASH_SOURCE[0]}"; }

case "${1:-}" in
    -h | --help) usage; exit 0 ;;
esac
TARGET="${1:-parse_text}"
SECONDS_TO_RUN="${2:-60}"
case "$SECONDS_TO_RUN" in
    '' | *[!0-9]*) die "SECONDS must be a whole number, got '$SECONDS_TO_RUN'" ;;
esac

# --- toolchain -----------------------------------------------------------------------------------------
if ! rustc -V | grep -q nightly; then
    export RUSTC_BOOTSTRAP=1
fi
if ! command -v cargo-fuzz >/dev/null 2>&1; then
    log "installing cargo-fuzz"
    cargo install cargo-fuzz --locked || die "cargo install cargo-fuzz failed"
fi

# --- seeds ---------------------------------------------------------------------------------------------
seeds_parse_text() {
    local out=fuzz/seeds/parse_text
    rm -rf "$out" && mkdir -p "$out"
    local file rel
    while IFS= read -r -d '' file; do
        rel="${file#lit-tests/}"
        rel="${rel//\//_}"
        # One seed per `// -----` case, as `onnxqc --split-input-file` reads them.
        awk -v prefix="$out/${rel%.mlir}_" '
            BEGIN { n = 0; f = prefix n ".mlir"; printf "" > f }
            /^\/\/ -----[ \t\r]*$/ { close(f); n++; f = prefix n ".mlir"; printf "" > f; next }
            { print > f }
        ' "$file"
    done < <(find lit-tests -name Output -prune -o -name '*.mlir' -type f -print0)
    for file in examples/*.mlir; do
        [ -f "$file" ] && cp "$file" "$out/examples_$(basename "$file")"
    done
    log "parse_text seeds: $(find "$out" -type f | wc -l) files in $out"
}

pick_python() {
    local py
    for py in "${PYTHON:-}" .venv/bin/python python3; do
        [ -n "$py" ] || continue
        if "$py" -c 'import onnx, numpy' >/dev/null 2>&1; then
            echo "$py"
            return 0
        fi
    done
    return 1
}

seeds_onnx_import() {
    local out=fuzz/seeds/onnx_import
    rm -rf "$out" && mkdir -p "$out"
    local dir file rel
    for dir in dialects/onnx/tests/data tests/oracle; do
        [ -d "$dir" ] || continue
        while IFS= read -r -d '' file; do
            rel="${file//\//_}"
            cp "$file" "$out/$rel"
        done < <(find "$dir" -name '*.onnx' -type f -size -1024k -print0)
    done
    for file in examples/*.onnx; do
        [ -f "$file" ] && cp "$file" "$out/examples_$(basename "$file")"
    done
    local py
    if py="$(pick_python)"; then
        "$py" fuzz/gen_onnx_seeds.py "$out" >/dev/null || log "warning: fuzz/gen_onnx_seeds.py failed"
    else
        log "warning: no python with the onnx and numpy packages; generated ONNX seeds skipped"
    fi
    log "onnx_import seeds: $(find "$out" -type f | wc -l) files in $out"
}

seeds_parse_text
seeds_onnx_import
if [ "$TARGET" = seeds ]; then
    exit 0
fi

# --- fuzz ----------------------------------------------------------------------------------------------
case "$TARGET" in
    parse_text) DEFAULT_MAX_LEN=16384 ;;
    onnx_import) DEFAULT_MAX_LEN=65536 ;;
    *) die "unknown target '$TARGET' (parse_text, onnx_import, seeds)" ;;
esac
SANITIZER="${FUZZ_SANITIZER:-address}"
CPUS="$(nproc 2>/dev/null || echo 1)"
JOBS="${FUZZ_JOBS:-$((CPUS < 4 ? CPUS : 4))}"
FORK="${FUZZ_FORK:-1}"
[ "$FORK" = 1 ] || JOBS=1

log "building $TARGET (sanitizer: $SANITIZER)"
cargo fuzz build -s "$SANITIZER" "$TARGET" || die "cargo fuzz build $TARGET failed"

CORPUS="fuzz/corpus/$TARGET"
ARTIFACTS="fuzz/artifacts/$TARGET"
LOG="fuzz/artifacts/$TARGET.log"
mkdir -p "$CORPUS" "$ARTIFACTS"
MARKER="$(mktemp)"
trap 'rm -f "$MARKER"' EXIT

ARGS=(
    "-max_total_time=$SECONDS_TO_RUN"
    "-max_len=${FUZZ_MAX_LEN:-$DEFAULT_MAX_LEN}"
    "-timeout=${FUZZ_TIMEOUT:-10}"
    "-rss_limit_mb=${FUZZ_RSS_MB:-2048}"
    -print_final_stats=1
)
if [ -f "fuzz/$TARGET.dict" ]; then
    ARGS+=("-dict=fuzz/$TARGET.dict")
fi
if [ "$FORK" = 1 ]; then
    ARGS+=("-fork=$JOBS" -ignore_crashes=1 -ignore_timeouts=1 -ignore_ooms=1)
fi
# shellcheck disable=SC2206
ARGS+=(${FUZZ_ARGS:-})

log "fuzzing $TARGET for ${SECONDS_TO_RUN}s (log: $LOG)"
# The seeds directory is read, never written: new inputs go to the first corpus directory.
cargo fuzz run -s "$SANITIZER" "$TARGET" "$CORPUS" "fuzz/seeds/$TARGET" -- "${ARGS[@]}" 2>&1 | tee "$LOG"
status="${PIPESTATUS[0]}"

# --- summary -------------------------------------------------------------------------------------------
echo
echo "== $TARGET: summary (sanitizer $SANITIZER, jobs $JOBS, fork $FORK, exit status $status)"
if [ "$FORK" = 1 ]; then
    # Fork mode prints `#EXECS: cov: .. exec/s: .. oom/timeout/crash: a/b/c time: Ns ...` lines.
    grep -E '^#[0-9]+: cov:' "$LOG" | tail -n 1 |
        sed -E 's/^#([0-9]+):.*oom\/timeout\/crash: ([0-9\/]+).*time: ([0-9]+)s.*/\1 \2 \3/' |
        awk '{ printf "executions: %d\nexec/s (all jobs): %d\noom/timeout/crash events: %s\ntime: %ds\n",
               $1, ($3 > 0 ? $1 / $3 : 0), $2, $3 }'
else
    grep -E '^stat::number_of_executed_units:' "$LOG" | tail -n 1 | sed -E 's/.*: */executions: /'
    grep -E '^stat::average_exec_per_sec:' "$LOG" | tail -n 1 | sed -E 's/.*: */exec\/s: /'
    grep -E '^stat::peak_rss_mb:' "$LOG" | tail -n 1 | sed -E 's/.*: */peak rss (MB): /'
fi
mapfile -t NEW < <(find "$ARTIFACTS" -type f -newer "$MARKER" | sort)
echo "new crash files: ${#NEW[@]} (in $ARTIFACTS/)"
# Each new crash file is re-run once (no fuzzing) to show what it triggers: the panic location and
# message, or the libFuzzer/sanitizer error (timeout, out-of-memory, stack overflow).
BIN="fuzz/target/$(rustc -vV | sed -n 's/^host: //p')/release/$TARGET"
for f in "${NEW[@]}"; do
    what="$("$BIN" -timeout="${FUZZ_TIMEOUT:-10}" -rss_limit_mb="${FUZZ_RSS_MB:-2048}" "$f" 2>&1 |
        grep -E -A1 'panicked at|ERROR: libFuzzer|ERROR: AddressSanitizer|has overflowed its stack' |
        grep -v '^--$' | head -n 2 | tr '\n' ' ')"
    echo "  $(basename "$f") ($(wc -c <"$f") bytes): ${what:-(does not reproduce alone)}"
done
if [ "${#NEW[@]}" -gt 0 ]; then
    echo "reproduce: RUSTC_BOOTSTRAP=1 cargo fuzz run -s $SANITIZER $TARGET FILE"
    echo "minimise:  RUSTC_BOOTSTRAP=1 cargo fuzz tmin -s $SANITIZER $TARGET FILE"
    exit 1
fi
[ "$status" -eq 0 ] || exit 2
exit 0
