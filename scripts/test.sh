#!/usr/bin/env bash
# Run the whole onnxqc test-suite: cargo tests, the lit/FileCheck suite and the
# ONNX Runtime oracle suite (pytest).
#
#   scripts/test.sh
#
# Stages: scripts/install.sh --test-deps-only, cargo build (debug),
# cargo test --workspace --no-fail-fast, .venv/bin/lit -v lit-tests,
# .venv/bin/python -m pytest -q tests/oracle.
# Every stage runs even when an earlier one failed (lit and pytest are skipped
# when the build failed, so a stale binary is never tested). The last line
# printed is "N passed, N failed"; a crashed stage (install failure, compile
# error, test binary killed by a signal, lit config error, pytest crash or
# collection error) counts as one failure. Exit status is 0 only when nothing
# failed. Skipped pytest tests (with their reasons) are listed but not counted.
#
# Environment:
#   INSTA_UPDATE      forced to "no" when CI is set (default "no" otherwise too)
#   LIT_TIMEOUT       per-test lit timeout in seconds (default 600)
#   LIT_OPTS          extra lit options (read by lit itself)
#   ONNXQC_TIMEOUT    per-invocation onnxqc timeout in the oracle tests (default 600)
#   ONNXQC_ORACLE_CACHE  download cache of the real models (default target/oracle-cache)
#   CARGO_TARGET_DIR  honoured when locating target/debug/onnxqc
#   KEEP_LOGS=0       delete the log directory at the end
set -uo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO_ROOT" || exit 1

# Snapshots must be reviewed and committed; never write/accept them here.
if [ -n "${CI:-}" ]; then
    export INSTA_UPDATE=no
else
    export INSTA_UPDATE="${INSTA_UPDATE:-no}"
fi
unset INSTA_FORCE_PASS
# A clean CI build gains nothing from incremental state; it only costs disk.
if [ -n "${CI:-}" ]; then
    export CARGO_INCREMENTAL="${CARGO_INCREMENTAL:-0}"
fi

LOG_DIR="$(mktemp -d "${TMPDIR:-/tmp}/onnxqc-test.XXXXXX")"
if [ "${KEEP_LOGS:-1}" = "0" ]; then
    trap 'rm -rf "$LOG_DIR"' EXIT
fi

passed=0
failed=0
summary=()

stage() { printf '\n==== %s ====\n' "$*"; }
note() { summary+=("$*"); }
strip_ansi() { sed 's/\x1b\[[0-9;]*[A-Za-z]//g' "$1"; }

# ---------------------------------------------------------------- deps ------
stage "install test dependencies"
deps_ok=1
if ! bash "$REPO_ROOT/scripts/install.sh" --test-deps-only; then
    deps_ok=0
    failed=$((failed + 1))
    note "deps:  FAILED (scripts/install.sh --test-deps-only)"
fi

if ! command -v cargo >/dev/null 2>&1 && [ -x "$HOME/.cargo/bin/cargo" ]; then
    export PATH="$HOME/.cargo/bin:$PATH"
fi
TARGET_DIR="${CARGO_TARGET_DIR:-$REPO_ROOT/target}"
case "$TARGET_DIR" in /*) ;; *) TARGET_DIR="$REPO_ROOT/$TARGET_DIR" ;; esac

# ---------------------------------------------------------------- build -----
stage "cargo build --workspace --bins"
build_ok=1
cargo build --workspace --bins 2>&1 | tee "$LOG_DIR/cargo-build.log"
build_rc=${PIPESTATUS[0]}
if [ "$build_rc" -ne 0 ]; then
    build_ok=0
    failed=$((failed + 1))
    note "build: FAILED (cargo build exit $build_rc, log $LOG_DIR/cargo-build.log)"
else
    note "build: ok"
fi

# ---------------------------------------------------------------- cargo test -
stage "cargo test --workspace --no-fail-fast"
CARGO_LOG="$LOG_DIR/cargo-test.log"
cargo test --workspace --no-fail-fast 2>&1 | tee "$CARGO_LOG"
test_rc=${PIPESTATUS[0]}

read -r c_passed c_failed < <(
    strip_ansi "$CARGO_LOG" | grep -E '^test result:' \
        | grep -oE '[0-9]+ passed; [0-9]+ failed' \
        | awk '{ p += $1; f += $3 } END { print p + 0, f + 0 }'
)
# Compile errors: each target that could not compile.
c_compile=$(strip_ansi "$CARGO_LOG" | grep -cE '^error: could not compile' || true)
# Test binaries that died without a "test result:" line (signal, abort, ...).
c_binfail=$(strip_ansi "$CARGO_LOG" | grep -cE '^error: test failed, to rerun' || true)
c_resfail=$(strip_ansi "$CARGO_LOG" | grep -cE '^test result: FAILED' || true)
c_crashed=$((c_binfail > c_resfail ? c_binfail - c_resfail : 0))
c_extra=$((c_compile + c_crashed))
if [ "$test_rc" -ne 0 ] && [ "$c_failed" -eq 0 ] && [ "$c_extra" -eq 0 ]; then
    c_extra=1 # failed for some other reason (e.g. cargo itself)
fi
passed=$((passed + c_passed))
failed=$((failed + c_failed + c_extra))
note "cargo: $c_passed passed, $c_failed failed, $c_compile compile errors, $c_crashed crashed binaries (exit $test_rc, log $CARGO_LOG)"

# ---------------------------------------------------------------- lit -------
stage "lit -v lit-tests"
LIT_LOG="$LOG_DIR/lit.log"
if [ "$deps_ok" -eq 0 ] || [ ! -x "$REPO_ROOT/.venv/bin/lit" ]; then
    note "lit:   not run (test dependencies missing)"
    [ "$deps_ok" -eq 0 ] || failed=$((failed + 1))
elif [ "$build_ok" -eq 0 ]; then
    note "lit:   not run (cargo build failed)"
else
    ONNXQC_BIN="$TARGET_DIR/debug/onnxqc" \
        "$REPO_ROOT/.venv/bin/lit" -v --timeout "${LIT_TIMEOUT:-600}" lit-tests 2>&1 | tee "$LIT_LOG"
    lit_rc=${PIPESTATUS[0]}
    read -r l_passed l_failed < <(
        strip_ansi "$LIT_LOG" | awk '
            /^Total Discovered Tests:/ { summary = 1; next }
            !summary { next }
            {
                line = $0
                if (!match(line, /^ *[A-Za-z][A-Za-z ]*[A-Za-z] *: *[0-9]+/)) next
                label = line; sub(/ *:.*$/, "", label); sub(/^ */, "", label)
                n = line; sub(/^[^:]*: */, "", n); sub(/[^0-9].*$/, "", n)
                if (label == "Passed" || label == "Expectedly Failed") p += n
                else if (label == "Failed" || label == "Unresolved" || label == "Timed Out" || label == "Unexpectedly Passed") f += n
            }
            END { print p + 0, f + 0 }'
    )
    l_extra=0
    if [ "$lit_rc" -ne 0 ] && [ "$l_failed" -eq 0 ]; then
        l_extra=1 # config error, no tests discovered, ...
    fi
    passed=$((passed + l_passed))
    failed=$((failed + l_failed + l_extra))
    note "lit:   $l_passed passed, $l_failed failed (exit $lit_rc, log $LIT_LOG)"
fi

# ---------------------------------------------------------------- pytest ----
stage "pytest -q tests/oracle"
PYTEST_LOG="$LOG_DIR/pytest.log"
if [ "$deps_ok" -eq 0 ] || [ ! -x "$REPO_ROOT/.venv/bin/python" ]; then
    note "pytest: not run (test dependencies missing)"
    [ "$deps_ok" -eq 0 ] || failed=$((failed + 1))
elif [ "$build_ok" -eq 0 ]; then
    note "pytest: not run (cargo build failed)"
else
    # -rs prints skip reasons (e.g. no network for the real models); no cache dir or
    # __pycache__ is written into the source tree.
    ONNXQC_BIN="$TARGET_DIR/debug/onnxqc" PYTHONDONTWRITEBYTECODE=1 \
        "$REPO_ROOT/.venv/bin/python" -m pytest -q -rs -p no:cacheprovider tests/oracle 2>&1 | tee "$PYTEST_LOG"
    pytest_rc=${PIPESTATUS[0]}
    # Final summary line, e.g. "2 failed, 310 passed, 3 skipped, 1 error in 12.3s".
    read -r y_passed y_failed y_skipped < <(
        strip_ansi "$PYTEST_LOG" \
            | grep -E '[0-9]+ (passed|failed|errors?|skipped|xfailed|xpassed|deselected|warnings?)\b.* in [0-9.]+s' \
            | tail -n 1 \
            | awk '{
                gsub(/[=,]/, " ")
                for (i = 2; i <= NF; i++) {
                    n = $(i - 1)
                    if (n !~ /^[0-9]+$/) continue
                    if ($i == "passed" || $i == "xfailed" || $i == "xpassed") p += n
                    else if ($i == "failed" || $i == "error" || $i == "errors") f += n
                    else if ($i == "skipped") s += n
                }
            } END { print p + 0, f + 0, s + 0 }'
    )
    y_extra=0
    if [ "$pytest_rc" -ne 0 ] && [ "$y_failed" -eq 0 ]; then
        y_extra=1 # crashed, interrupted, usage error, no tests collected, ...
    fi
    passed=$((passed + y_passed))
    failed=$((failed + y_failed + y_extra))
    note "pytest: $y_passed passed, $y_failed failed, $y_skipped skipped (exit $pytest_rc, log $PYTEST_LOG)"
fi

# ---------------------------------------------------------------- summary ---
stage "summary"
printf '%s\n' "${summary[@]}"
if [ "$passed" -eq 0 ] && [ "$failed" -eq 0 ]; then
    echo "warning: no tests were run"
fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
