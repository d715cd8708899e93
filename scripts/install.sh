#!/usr/bin/env bash
# Install everything onnxqc needs, build it, and run the quickstart example.
#
#   scripts/install.sh                   apt tools + .venv + release build + example
#   scripts/install.sh --test-deps-only  apt tools + .venv only (used by scripts/test.sh)
#
# Idempotent and cwd-independent: every step is skipped when already satisfied.
#
# Environment:
#   CARGO_TARGET_DIR  honoured when locating the built binary
#   PYTHON            interpreter used to create .venv (default: python3)
set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO_ROOT"

APT_PACKAGES=(llvm-22-tools mlir-22-tools python3-venv)
LLVM_BIN=/usr/lib/llvm-22/bin
LLVM_TOOLS=(FileCheck not count mlir-opt)
VENV="$REPO_ROOT/.venv"
# Loose pins; bump deliberately. psutil lets lit enforce --timeout.
PY_REQUIREMENTS=(
    "lit>=18"
    "psutil>=5.9"
    "onnx>=1.17"
    "onnxruntime>=1.20"
    "numpy>=1.26"
    "pytest>=8"
)
PY_IMPORTS="import lit, psutil, onnx, onnxruntime, numpy, pytest"
EXAMPLE="examples/quickstart.onnx"

log() { printf '[install] %s\n' "$*" >&2; }
die() { printf '[install] error: %s\n' "$*" >&2; exit 1; }

usage() {
    awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "${BASH_SOURCE[0]}"
}

TEST_DEPS_ONLY=0
for arg in "$@"; do
    case "$arg" in
        --test-deps-only) TEST_DEPS_ONLY=1 ;;
        -h|--help) usage; exit 0 ;;
        *) usage >&2; die "unknown argument: $arg" ;;
    esac
done

# ---------------------------------------------------------------- apt -------
as_root() {
    if [ "$(id -u)" -eq 0 ]; then
        "$@"
    elif command -v sudo >/dev/null 2>&1; then
        sudo "$@"
    else
        die "need root (or sudo) to run: $*"
    fi
}

pkg_installed() {
    dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'
}

install_apt_packages() {
    local missing=() p t
    if command -v dpkg-query >/dev/null 2>&1; then
        for p in "${APT_PACKAGES[@]}"; do
            pkg_installed "$p" || missing+=("$p")
        done
    fi
    if [ "${#missing[@]}" -gt 0 ]; then
        command -v apt-get >/dev/null 2>&1 \
            || die "missing packages ${missing[*]} and no apt-get; install LLVM/MLIR 22 tools by hand"
        log "apt: installing ${missing[*]}"
        export DEBIAN_FRONTEND=noninteractive
        as_root apt-get -o DPkg::Lock::Timeout=300 update -q
        as_root apt-get -o DPkg::Lock::Timeout=300 install -y -q --no-install-recommends "${missing[@]}"
    else
        log "apt: ${APT_PACKAGES[*]} already installed"
    fi
    for t in "${LLVM_TOOLS[@]}"; do
        [ -x "$LLVM_BIN/$t" ] || die "$LLVM_BIN/$t missing after installing ${APT_PACKAGES[*]}"
    done
}

# ---------------------------------------------------------------- venv ------
venv_ok() {
    [ -x "$VENV/bin/python" ] && "$VENV/bin/python" -c 'import sys' >/dev/null 2>&1
}

create_venv() {
    local py="${PYTHON:-python3}"
    command -v "$py" >/dev/null 2>&1 || die "$py not found; install Python 3.9+"
    rm -rf "$VENV"
    log "venv: creating $VENV with $(command -v "$py")"
    if ! "$py" -m venv "$VENV"; then
        # Debian's system python ships venv/ensurepip separately.
        rm -rf "$VENV"
        log "venv: '$py -m venv' failed; installing python3-venv"
        command -v apt-get >/dev/null 2>&1 || die "python venv module unavailable"
        export DEBIAN_FRONTEND=noninteractive
        as_root apt-get -o DPkg::Lock::Timeout=300 update -q
        as_root apt-get -o DPkg::Lock::Timeout=300 install -y -q --no-install-recommends python3-venv
        "$py" -m venv "$VENV" || die "could not create $VENV"
    fi
}

setup_venv() {
    venv_ok || create_venv
    local stamp="$VENV/.onnxqc-requirements"
    local want
    want="$(printf '%s\n' "${PY_REQUIREMENTS[@]}")"
    if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] \
        && "$VENV/bin/python" -c "$PY_IMPORTS" >/dev/null 2>&1; then
        log "venv: requirements already satisfied"
        return
    fi
    log "venv: pip install ${PY_REQUIREMENTS[*]}"
    PIP_DISABLE_PIP_VERSION_CHECK=1 "$VENV/bin/python" -m pip install -q "${PY_REQUIREMENTS[@]}"
    "$VENV/bin/python" -c "$PY_IMPORTS" || die "venv packages do not import"
    printf '%s\n' "$want" >"$stamp"
    [ -x "$VENV/bin/lit" ] || die "$VENV/bin/lit missing after pip install"
}

# ---------------------------------------------------------------- cargo -----
check_cargo() {
    if ! command -v cargo >/dev/null 2>&1 && [ -x "$HOME/.cargo/bin/cargo" ]; then
        export PATH="$HOME/.cargo/bin:$PATH"
    fi
    if ! command -v cargo >/dev/null 2>&1; then
        cat >&2 <<'EOF'
[install] error: cargo not found. Install the Rust toolchain with rustup:
    curl --proto '=https' --tlsv1.2 -sSf https://sh.rustup.rs | sh -s -- -y
    . "$HOME/.cargo/env"
then re-run this script.
EOF
        exit 1
    fi
}

install_apt_packages
setup_venv
check_cargo

if [ "$TEST_DEPS_ONLY" -eq 1 ]; then
    log "test dependencies ready (lit: $VENV/bin/lit)"
    exit 0
fi

log "cargo build --release"
cargo build --release

TARGET_DIR="${CARGO_TARGET_DIR:-$REPO_ROOT/target}"
case "$TARGET_DIR" in /*) ;; *) TARGET_DIR="$REPO_ROOT/$TARGET_DIR" ;; esac
BIN="$TARGET_DIR/release/onnxqc"
[ -x "$BIN" ] || die "built binary not found at $BIN"
[ -f "$EXAMPLE" ] || die "$REPO_ROOT/$EXAMPLE not found"

OUT_DIR="$TARGET_DIR/quickstart"
mkdir -p "$OUT_DIR"
log "running: target/release/onnxqc $EXAMPLE -passes=preprocess --time-passes -o $OUT_DIR/quickstart.opt.onnx"
"$BIN" "$EXAMPLE" -passes=preprocess --time-passes -o "$OUT_DIR/quickstart.opt.onnx"
log "the optimised model, as text IR:"
"$BIN" "$OUT_DIR/quickstart.opt.onnx" --emit=ir
