# Shared by the benchmark scripts: logging with a per-script prefix ($BENCH_TAG) and installing Debian
# packages (as root or with sudo) when a tool is missing.

log() { printf '[%s] %s\n' "${BENCH_TAG:-bench}" "$*" >&2; }
die() { printf '[%s] error: %s\n' "${BENCH_TAG:-bench}" "$*" >&2; exit 1; }

as_root() {
    if [ "$(id -u)" = 0 ]; then "$@"
    elif command -v sudo >/dev/null 2>&1; then sudo "$@"
    else return 1
    fi
}

apt_install() {
    command -v apt-get >/dev/null 2>&1 || return 1
    log "apt: installing $*"
    as_root apt-get -o DPkg::Lock::Timeout=300 update -q >&2 || return 1
    as_root apt-get -o DPkg::Lock::Timeout=300 install -y -q --no-install-recommends "$@" >&2
}
