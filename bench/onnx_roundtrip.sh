#!/usr/bin/env bash
# Benchmark: ONNX import + export round trip of a ~1 GiB model with external data through onnxqc,
# with the `onnx` Python package doing the same round trip and ONNX Runtime loading + running the
# model as same-run references.
#
#   bash bench/onnx_roundtrip.sh               # from any folder; Markdown report on stdout
#   RUNS=1 bash bench/onnx_roundtrip.sh        # one timed run per case
#   SKIP_ONNXQC=1 bash bench/onnx_roundtrip.sh # references only (while onnxqc cannot do ONNX yet)
#   KEEP=1 bash bench/onnx_roundtrip.sh        # keep the work folder (outputs, logs)
#
# Steps:
#   1. The input: bench/gen_big_model.py writes $TARGET_DIR/bench/big_model/big.onnx + big.onnx.data
#      (LAYERS MatMuls chained on x: [batch, DIM], float32 weights alternating DIM x HIDDEN and
#      HIDDEN x DIM, all in one external data file; defaults 8 x 4096 x 8192 = 1 GiB) and checks it
#      with onnx.checker. It is cached: regenerated only when missing or when the parameters or
#      gen_big_model.py change. Needs numpy + onnx ($ROOT/.venv/bin/python, else python3).
#   2. cargo build --release -p onnxqc (retried while the tree does not build).
#   3. Each case runs once untimed (warm-up), then RUNS times under /usr/bin/time -v (outputs
#      removed and `sync` before each run, the input read once beforehand so it is in the page
#      cache); median wall time, largest "Maximum resident set size":
#        (onnxqc)  onnxqc big.onnx -o OUT/big.onnx $ONNXQC_ARGS     import + export, empty pipeline
#        (python)  onnx.load(big.onnx); onnx.save_model(m, OUT/big.onnx, save_as_external_data=True,
#                  all_tensors_to_one_file=True, location="big.onnx.data")
#        (ort)     onnxruntime.InferenceSession(big.onnx) + one run at batch BATCH (memory context)
#        (floor)   cp big.onnx big.onnx.data OUT/                   the I/O floor of a round trip
#   4. Checks, for the onnxqc and python outputs: onnx.checker.check_model(path, full_check=True),
#      same graph, same initializer names/types/shapes, every tensor's bytes equal by sha256
#      (offsets may differ), all external data in OUT/big.onnx.data (gen_big_model.py compare).
#      ORT's output must be finite.
#   5. Prints a Markdown report and, when every case ran and every check passed with the default
#      sizes, replaces (or appends) the section "## ONNX round trip (1 GiB external data)" of
#      bench/RESULTS.md with it.
# Exits 1 when onnxqc cannot read/write ONNX (it says so clearly; the references still run), when a
# case fails or a check fails. Outputs are written to a work folder under $TARGET_DIR/bench/ (same
# file system as the cached input, never /tmp which may be RAM) and removed at the end unless KEEP=1.
#
# Environment: LAYERS (8), DIM (4096), HIDDEN (8192), SEED (1), RUNS (3), BATCH (1), KEEP (0),
# SKIP_ONNXQC (0), ONNXQC_ARGS (empty, e.g. --external-data=always), UPDATE_RESULTS (auto: only a
# complete, passing, default-size run; 1: always; 0: never), BUILD_TRIES (3), BUILD_WAIT (60 s),
# PYTHON (see 1.), CARGO_TARGET_DIR (as cargo), ONNXQC (a binary to use instead of building
# $TARGET_DIR/release/onnxqc).

set -euo pipefail

LAYERS=${LAYERS:-8}
DIM=${DIM:-4096}
HIDDEN=${HIDDEN:-8192}
SEED=${SEED:-1}
RUNS=${RUNS:-3}
BATCH=${BATCH:-1}
KEEP=${KEEP:-0}
SKIP_ONNXQC=${SKIP_ONNXQC:-0}
ONNXQC_ARGS=${ONNXQC_ARGS:-}
UPDATE_RESULTS=${UPDATE_RESULTS:-auto}
BUILD_TRIES=${BUILD_TRIES:-3}
BUILD_WAIT=${BUILD_WAIT:-60}

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$BENCH_DIR/.." && pwd)
TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
case $TARGET_DIR in /*) ;; *) TARGET_DIR=$ROOT/$TARGET_DIR ;; esac
ONNXQC_GIVEN=${ONNXQC:-}
ONNXQC=${ONNXQC:-$TARGET_DIR/release/onnxqc}
CACHE=$TARGET_DIR/bench/big_model
MODEL=$CACHE/big.onnx
DATA=$CACHE/big.onnx.data
SECTION="## ONNX round trip (1 GiB external data)"

BENCH_TAG=onnx-bench
# shellcheck source=bench/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

# ------------------------------------------------------------------ tools -----
if [ ! -x /usr/bin/time ]; then
    apt_install time || die "/usr/bin/time is missing and could not be installed (apt package 'time')"
fi
if [ -z "${PYTHON:-}" ]; then
    PYTHON=python3
    if [ -x "$ROOT/.venv/bin/python" ] && "$ROOT/.venv/bin/python" -c 'import numpy, onnx' 2>/dev/null; then
        PYTHON=$ROOT/.venv/bin/python
    fi
fi
"$PYTHON" -c 'import numpy, onnx' 2>/dev/null ||
    die "$PYTHON cannot import numpy and onnx (pip install numpy onnx, e.g. into $ROOT/.venv)"
HAVE_ORT=1
if ! "$PYTHON" -c 'import onnxruntime' 2>/dev/null; then
    log "warning: $PYTHON cannot import onnxruntime (pip install onnxruntime); the ORT row is skipped"
    HAVE_ORT=0
fi
PY_VERSIONS=$("$PYTHON" -c '
import sys, numpy, onnx
try:
    import onnxruntime; ort = onnxruntime.__version__
except ImportError:
    ort = "not installed"
print(f"Python {sys.version.split()[0]}, onnx {onnx.__version__}, numpy {numpy.__version__}, onnxruntime {ort}")')

# ------------------------------------------------------------------ disk ------
WEIGHT_BYTES=$(( LAYERS * DIM * HIDDEN * 4 ))
mkdir -p "$CACHE"
df -h "$CACHE" >&2
avail_kib=$(df -Pk "$CACHE" | awk 'NR == 2 { print $4 }')
# The cached input (if it must be written) + one output at a time (each case's output is removed
# after its checks) + 1 GiB of slack.
need_kib=$(( (WEIGHT_BYTES + (1 << 30)) / 1024 ))
[ -f "$MODEL" ] && [ -f "$DATA" ] || need_kib=$(( need_kib + WEIGHT_BYTES / 1024 ))
((avail_kib >= need_kib)) ||
    die "not enough disk space in $CACHE: $((avail_kib / 1024)) MiB free, need about $((need_kib / 1024)) MiB"

# ------------------------------------------------------------------ input -----
GEN_KEY="layers=$LAYERS dim=$DIM hidden=$HIDDEN seed=$SEED gen=$(sha256sum "$BENCH_DIR/gen_big_model.py" | cut -c1-16) numpy=$("$PYTHON" -c 'import numpy; print(numpy.__version__)')"
if [ -f "$MODEL" ] && [ -f "$DATA" ] && [ -f "$CACHE/params" ] && [ "$(cat "$CACHE/params")" = "$GEN_KEY" ]; then
    log "using the cached input $MODEL ($(cat "$CACHE/summary"))"
else
    log "generating $MODEL (${WEIGHT_BYTES} bytes of weights)"
    rm -f "$MODEL" "$DATA" "$CACHE/params" "$CACHE/summary"
    "$PYTHON" "$BENCH_DIR/gen_big_model.py" gen --out "$MODEL" --layers "$LAYERS" --dim "$DIM" \
        --hidden "$HIDDEN" --seed "$SEED" >"$CACHE/summary" || die "gen_big_model.py failed"
    printf '%s\n' "$GEN_KEY" >"$CACHE/params"
fi
GEN_SUMMARY=$(cat "$CACHE/summary")
MODEL_BYTES=$(stat -c %s "$MODEL")
DATA_BYTES=$(stat -c %s "$DATA")

# ------------------------------------------------------------------ build -----
ONNXQC_STATE=skipped   # skipped | ok | build-failed | no-onnx | failed
ONNXQC_ERROR=""
if [ "$SKIP_ONNXQC" != 1 ] && [ -n "$ONNXQC_GIVEN" ]; then
    log "using ONNXQC=$ONNXQC (no build)"
    ONNXQC_STATE=ok
    [ -x "$ONNXQC" ] || { ONNXQC_STATE=build-failed; ONNXQC_ERROR="ONNXQC=$ONNXQC is not an executable"; }
elif [ "$SKIP_ONNXQC" != 1 ]; then
    command -v cargo >/dev/null 2>&1 || die "cargo is required (or SKIP_ONNXQC=1)"
    ONNXQC_STATE=build-failed
    for ((try = 1; try <= BUILD_TRIES; try++)); do
        log "cargo build --release -p onnxqc (attempt $try/$BUILD_TRIES)"
        if (cd "$ROOT" && cargo build --release -p onnxqc >&2); then
            ONNXQC_STATE=ok
            break
        fi
        if ((try < BUILD_TRIES)); then
            log "build failed (the tree may be mid-edit); retrying in ${BUILD_WAIT}s"
            sleep "$BUILD_WAIT"
        fi
    done
    if [ "$ONNXQC_STATE" = build-failed ]; then
        ONNXQC_ERROR="cargo build --release -p onnxqc failed $BUILD_TRIES times"
    elif [ ! -x "$ONNXQC" ]; then
        ONNXQC_STATE=build-failed
        ONNXQC_ERROR="no binary at $ONNXQC"
    fi
    [ -z "$ONNXQC_ERROR" ] || log "error: $ONNXQC_ERROR"
fi

# ------------------------------------------------------------------ work dir --
WORK=$(mktemp -d "$TARGET_DIR/bench/onnx-roundtrip.XXXXXX")
if [ "$KEEP" = 1 ]; then
    log "keeping $WORK"
else
    trap 'rm -rf "$WORK"' EXIT
fi
OUT=$WORK/out
log "reading the input once (page cache)"
cat "$MODEL" "$DATA" >/dev/null

# time_case NAME CMD... : runs CMD once untimed (warm-up), then RUNS times under /usr/bin/time -v,
# each time after removing $OUT and `sync`. Sets CASE_WALL (median s), CASE_RSS (max KiB),
# CASE_WALLS. On failure returns 1 and leaves the output in $WORK/NAME.stdout / .stderr.
time_case() {
    local name=$1
    shift
    local walls=() rss_max=0 i t0 t1 rss
    for ((i = 0; i <= RUNS; i++)); do
        rm -rf "$OUT"
        mkdir -p "$OUT"
        sync
        if ((i == 0)); then
            "$@" >"$WORK/$name.stdout" 2>"$WORK/$name.stderr" || return 1
            continue
        fi
        t0=$(date +%s%N)
        if ! /usr/bin/time -v -o "$WORK/$name.time" "$@" >"$WORK/$name.stdout" 2>"$WORK/$name.stderr"; then
            return 1
        fi
        t1=$(date +%s%N)
        walls+=("$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", (b - a) / 1e9 }')")
        rss=$(awk -F': *' '/Maximum resident set size/ { print $2 }' "$WORK/$name.time")
        ((rss > rss_max)) && rss_max=$rss
    done
    CASE_WALL=$(printf '%s\n' "${walls[@]}" | sort -g | awk '{ v[NR] = $1 } END { printf "%.3f", (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }')
    CASE_RSS=$rss_max
    CASE_WALLS=${walls[*]}
    log "$(printf '%-7s median %ss of [%s], max RSS %s KiB' "$name" "$CASE_WALL" "$CASE_WALLS" "$CASE_RSS")"
}

# compare NAME : checks $OUT/big.onnx against the input; sets CMP_LINE, returns 1 on a difference.
compare() {
    local name=$1 rc=0
    CMP_LINE=$("$PYTHON" "$BENCH_DIR/gen_big_model.py" compare "$MODEL" "$OUT/big.onnx" \
        --expect-data big.onnx.data 2>"$WORK/$name.compare.log") || rc=1
    [ -n "$CMP_LINE" ] || CMP_LINE="FAIL: gen_big_model.py compare crashed: $(tail -1 "$WORK/$name.compare.log")"
    ((rc == 0)) || cat "$WORK/$name.compare.log" >&2
    log "$name: $CMP_LINE"
    return $rc
}

out_sizes() { du -b --apparent-size "$OUT"/* | awk '{ sub(".*/", "", $2); printf "%s%s %d B", sep, $2, $1; sep = ", " }'; }

status=0

# ------------------------------------------------------------------ onnxqc ----
Q_WALL="" Q_RSS="" Q_CHECK="n/a" Q_FILES=""
if [ "$ONNXQC_STATE" = ok ]; then
    # shellcheck disable=SC2086 # ONNXQC_ARGS is a list of flags
    if time_case onnxqc "$ONNXQC" "$MODEL" -o "$OUT/big.onnx" $ONNXQC_ARGS; then
        Q_WALL=$CASE_WALL Q_RSS=$CASE_RSS Q_WALLS=$CASE_WALLS
        Q_FILES=$(out_sizes)
        if compare onnxqc; then Q_CHECK=$CMP_LINE; else Q_CHECK=$CMP_LINE; status=1; fi
    else
        err=$(head -c 2000 "$WORK/onnxqc.stderr")
        if grep -qiE 'not available|unsupported (input|format)|expected .*\.mlir|give a text IR' "$WORK/onnxqc.stderr"; then
            ONNXQC_STATE=no-onnx
            ONNXQC_ERROR="this onnxqc build cannot read/write ONNX models yet: $err"
        else
            ONNXQC_STATE=failed
            ONNXQC_ERROR="onnxqc $MODEL -o $OUT/big.onnx${ONNXQC_ARGS:+ $ONNXQC_ARGS} failed: $err"
        fi
        log "error: $ONNXQC_ERROR"
        log "(the reference cases still run; SKIP_ONNXQC=1 runs only them without this error)"
    fi
fi
[ "$ONNXQC_STATE" = ok ] || [ "$ONNXQC_STATE" = skipped ] || status=1
rm -rf "$OUT"

# ------------------------------------------------------------------ python ----
PY_ROUNDTRIP='
import os, sys
import onnx
src, dst = sys.argv[1], sys.argv[2]
m = onnx.load(src)
onnx.save_model(m, dst, save_as_external_data=True, all_tensors_to_one_file=True,
                location=os.path.basename(dst) + ".data")
'
P_WALL="" P_RSS="" P_CHECK="n/a" P_FILES=""
if time_case python "$PYTHON" -c "$PY_ROUNDTRIP" "$MODEL" "$OUT/big.onnx"; then
    P_WALL=$CASE_WALL P_RSS=$CASE_RSS P_WALLS=$CASE_WALLS
    P_FILES=$(out_sizes)
    if compare python; then P_CHECK=$CMP_LINE; else P_CHECK=$CMP_LINE; status=1; fi
else
    cat "$WORK/python.stderr" >&2
    log "error: the onnx-python round trip failed"
    status=1
fi
rm -rf "$OUT"

# ------------------------------------------------------------------ ort -------
PY_ORT='
import sys, time
import numpy as np
import onnxruntime as ort
path, batch = sys.argv[1], int(sys.argv[2])
t0 = time.perf_counter()
s = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
t1 = time.perf_counter()
inp = s.get_inputs()[0]
x = np.random.default_rng(0).standard_normal((batch, inp.shape[1]), dtype=np.float32)
t2 = time.perf_counter()
y = s.run(None, {inp.name: x})[0]
t3 = time.perf_counter()
ok = bool(np.isfinite(y).all())
verdict = "PASS" if ok else "FAIL"
print(f"{verdict}: session {t1 - t0:.2f}s, run {t3 - t2:.3f}s, output {list(y.shape)}, finite {ok}, mean |y| {float(np.abs(y).mean()):.4g}")
sys.exit(0 if ok else 1)
'
O_WALL="" O_RSS="" O_CHECK="n/a"
if ((HAVE_ORT)); then
    if time_case ort "$PYTHON" -c "$PY_ORT" "$MODEL" "$BATCH"; then
        O_WALL=$CASE_WALL O_RSS=$CASE_RSS O_WALLS=$CASE_WALLS
        O_CHECK=$(cat "$WORK/ort.stdout")
    else
        cat "$WORK/ort.stdout" "$WORK/ort.stderr" >&2
        log "error: the ONNX Runtime case failed"
        O_CHECK="FAIL: $(tail -1 "$WORK/ort.stderr" 2>/dev/null)"
        status=1
    fi
fi

# ------------------------------------------------------------------ floor -----
F_WALL="" F_RSS=""
if time_case floor cp "$MODEL" "$DATA" "$OUT/"; then
    F_WALL=$CASE_WALL F_RSS=$CASE_RSS F_WALLS=$CASE_WALLS
else
    cat "$WORK/floor.stderr" >&2
    status=1
fi
rm -rf "$OUT"

# ------------------------------------------------------------------ report ----
mib() { [ -n "$1" ] && awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }' || printf 'n/a'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a != "" && b > 0) printf "%.2f", a / b; else print "n/a" }'; }
cpu=$(awk -F': *' '/^model name/ { print $2; exit }' /proc/cpuinfo 2>/dev/null || true)
mem=$(awk '/^MemTotal/ { printf "%.0f GiB RAM", $2 / 1048576 }' /proc/meminfo 2>/dev/null || true)
rev=$(cd "$ROOT" && git rev-parse --short HEAD 2>/dev/null || echo unknown)
dirty=$(cd "$ROOT" && git status --porcelain -- ':!bench' 2>/dev/null | wc -l)
fs=$(df -PT "$CACHE" | awk 'NR == 2 { print $2 " on " $1 }')
md_code() { printf '%s' "$1" | tr '\n' ' ' | sed 's/|/\\|/g; s/`/'"'"'/g; s/ *$//'; }

case $ONNXQC_STATE in
ok) Q_ROW="| onnxqc \`big.onnx -o out/big.onnx${ONNXQC_ARGS:+ $ONNXQC_ARGS}\` | $Q_WALL | $(mib "$Q_RSS") | $(ratio "$Q_WALL" "$P_WALL") | $(ratio "$Q_RSS" "$P_RSS") |" ;;
skipped) Q_ROW="| onnxqc | skipped (SKIP_ONNXQC=1) | | | |" ;;
no-onnx) Q_ROW="| onnxqc | **not available**: this build cannot read/write ONNX yet | | | |" ;;
build-failed) Q_ROW="| onnxqc | **build failed**, see below | | | |" ;;
*) Q_ROW="| onnxqc | **failed**, see below | | | |" ;;
esac

report() {
    echo "$SECTION"
    echo
    echo "Written by \`bench/onnx_roundtrip.sh\`; rerun it to replace this section."
    echo
    echo "- date: $(date -u '+%Y-%m-%d %H:%M UTC')"
    echo "- machine: $(nproc) CPUs (\`nproc\`), ${cpu:-unknown CPU}, ${mem:-? RAM}, $(uname -sr); files on $fs; load average $(cut -d' ' -f1-3 /proc/loadavg)"
    echo "- onnxqc: git $rev (+$dirty uncommitted changes outside bench/), \`cargo build --release -p onnxqc\`; $(rustc --version 2>/dev/null || echo rustc ?)"
    echo "- references: $PY_VERSIONS"
    echo "- input: \`bench/gen_big_model.py\` (cached in \`target/bench/big_model/\`): $GEN_SUMMARY;" \
        "\`big.onnx\` $MODEL_BYTES bytes + \`big.onnx.data\` $DATA_BYTES bytes"
    echo "- each case: 1 untimed warm-up run, then $RUNS timed run(s); the input read once into the page cache first; outputs removed and \`sync\` before each run;" \
        "median wall time, largest \"Maximum resident set size\" of \`/usr/bin/time -v\`"
    echo
    echo "| case | median wall (s) | max RSS (MiB) | wall vs onnx-python | RSS vs onnx-python |"
    echo "|---|---:|---:|---:|---:|"
    echo "$Q_ROW"
    if [ -n "$P_WALL" ]; then
        echo "| onnx-python \`onnx.load\` + \`onnx.save_model(..., save_as_external_data=True, all_tensors_to_one_file=True)\` | $P_WALL | $(mib "$P_RSS") | 1.00 | 1.00 |"
    else
        echo "| onnx-python load + save_model | **failed** | | | |"
    fi
    if ((HAVE_ORT)); then
        echo "| onnxruntime \`InferenceSession\` + 1 run at batch $BATCH (context) | ${O_WALL:-**failed**} | $(mib "$O_RSS") | – | – |"
    fi
    echo "| floor: \`cp big.onnx big.onnx.data out/\` | ${F_WALL:-**failed**} | $(mib "$F_RSS") | $(ratio "$F_WALL" "$P_WALL") | – |"
    echo
    if [ "$ONNXQC_STATE" = ok ] && [ -n "$P_WALL" ]; then
        echo "**onnxqc / onnx-python: wall $(ratio "$Q_WALL" "$P_WALL"), max RSS $(ratio "$Q_RSS" "$P_RSS")** (below 1: onnxqc is faster / smaller)."
    else
        echo "onnxqc / onnx-python ratios: n/a (no onnxqc numbers in this run)."
    fi
    echo
    echo "Individual timed runs (s):${Q_WALLS:+ onnxqc $Q_WALLS;}${P_WALLS:+ onnx-python $P_WALLS;}${O_WALLS:+ onnxruntime $O_WALLS;}${F_WALLS:+ cp $F_WALLS}"
    echo
    echo "Checks (\`gen_big_model.py compare\`: \`onnx.checker.check_model(path, full_check=True)\`, same graph and initializers, every tensor's bytes equal by sha256, data in \`out/big.onnx.data\`):"
    echo
    case $ONNXQC_STATE in
    ok) echo "- onnxqc output: **$Q_CHECK**; files: $Q_FILES" ;;
    skipped) echo "- onnxqc output: skipped" ;;
    no-onnx) echo "- onnxqc: **not available** (this build cannot read/write ONNX yet): \`$(md_code "$ONNXQC_ERROR")\`" ;;
    *) echo "- onnxqc: **$ONNXQC_STATE**: \`$(md_code "$ONNXQC_ERROR")\`" ;;
    esac
    echo "- onnx-python output: **$P_CHECK**${P_FILES:+; files: $P_FILES}"
    ((HAVE_ORT)) && echo "- onnxruntime (last run): **$O_CHECK**"
    echo
    echo "Notes:"
    echo
    echo "- RSS counts file pages a process maps (e.g. an mmap'ed data file) as well as its heap."
    echo "- onnx-python holds every tensor in memory (\`onnx.load\` reads the external data into \`raw_data\`), so its RSS is at least the data size."
    echo "- ONNX Runtime is not a round trip: it loads the weights, prepares the MatMul kernels and runs once; it is here for the memory a consumer of the same file needs."
    echo "- The floor row is plain file copying (read from the page cache, write to the file system), the least any round trip that rewrites the data can take."
    echo "- Times include writing 1 GiB into the page cache (not waiting for the disk); the machine may be shared, so compare the ratios of one run rather than absolute times across runs."
}

REPORT=$(report)
printf '%s\n' "$REPORT"

# ------------------------------------------------------------------ RESULTS.md
default_size=0
[ "$LAYERS/$DIM/$HIDDEN" = 8/4096/8192 ] && default_size=1
update=0
case $UPDATE_RESULTS in
1) update=1 ;;
auto) ((status == 0 && default_size)) && update=1 ;;
esac
if ((update)); then
    REPORT=$REPORT SECTION=$SECTION "$PYTHON" - "$BENCH_DIR/RESULTS.md" <<'EOF'
import os, sys
path, section, report = sys.argv[1], os.environ["SECTION"], os.environ["REPORT"].rstrip("\n") + "\n"
lines = open(path, encoding="utf-8").read().splitlines(keepends=True) if os.path.exists(path) else []
start = next((i for i, l in enumerate(lines) if l.rstrip("\n") == section), None)
if start is None:
    text = "".join(lines).rstrip("\n")
    text = (text + "\n\n" if text else "") + report
else:
    end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("## ")), len(lines))
    tail = "".join(lines[end:])
    text = "".join(lines[:start]) + report + ("\n" + tail if tail else "")
tmp = path + ".tmp"
with open(tmp, "w", encoding="utf-8") as f:
    f.write(text)
os.replace(tmp, path)
EOF
    log "updated the section \"$SECTION\" of bench/RESULTS.md"
else
    log "bench/RESULTS.md not updated (status $status, default sizes $default_size, UPDATE_RESULTS=$UPDATE_RESULTS)"
fi

if [ -n "$ONNXQC_ERROR" ]; then
    log "FAILED: onnxqc: $ONNXQC_ERROR"
fi
exit $status
