# -*- Python -*-
# lit configuration for the onnxqc FileCheck test-suite. See README.md here.
#
# Run:  .venv/bin/lit -v lit-tests            (all)
#       .venv/bin/lit -v lit-tests/cse/foo.mlir (one)
#
# Environment:
#   ONNXQC_BIN   path of the onnxqc binary (default: <repo>/target/debug/onnxqc)

import os
import re
import shlex
import shutil
import sys

import lit.formats

config.name = "onnxqc"
config.test_format = lit.formats.ShTest(execute_external=False)
config.suffixes = [".mlir", ".test"]
config.excludes = ["lit.cfg.py", "Inputs", "Output", "README.md"]
config.test_source_root = os.path.dirname(os.path.abspath(__file__))
config.test_exec_root = config.test_source_root

repo_root = os.path.dirname(config.test_source_root)
llvm_bin = "/usr/lib/llvm-22/bin"


def find_tool(name, fallbacks=()):
    """Absolute path of an LLVM tool: llvm_bin/NAME, else a fallback on PATH."""
    candidate = os.path.join(llvm_bin, name)
    if os.access(candidate, os.X_OK):
        return candidate
    for alt in (name,) + tuple(fallbacks):
        found = shutil.which(alt)
        if found:
            return os.path.abspath(found)
    lit_config.fatal(
        "cannot find '%s' (looked for %s and %s on PATH); "
        "run scripts/install.sh --test-deps-only"
        % (name, candidate, ", ".join((name,) + tuple(fallbacks)))
    )


# --- onnxqc ----------------------------------------------------------------
onnxqc = os.environ.get("ONNXQC_BIN") or os.path.join(
    repo_root, "target", "debug", "onnxqc"
)
onnxqc = os.path.abspath(onnxqc)
if not (os.path.isfile(onnxqc) and os.access(onnxqc, os.X_OK)):
    lit_config.fatal(
        "onnxqc binary not found at %s; build it first (cargo build -p onnxqc) "
        "or point ONNXQC_BIN at it" % onnxqc
    )

# --- LLVM / MLIR tools -------------------------------------------------------
filecheck = find_tool("FileCheck", ["FileCheck-22"])
not_tool = find_tool("not", ["not-22"])
count_tool = find_tool("count", ["count-22"])
mlir_opt = find_tool("mlir-opt", ["mlir-opt-22"])

venv_python = os.path.join(repo_root, ".venv", "bin", "python")
python = venv_python if os.access(venv_python, os.X_OK) else sys.executable

# --- environment --------------------------------------------------------------
path_dirs = [llvm_bin, os.path.dirname(onnxqc)]
for tool in (filecheck, mlir_opt):
    if os.path.dirname(tool) not in path_dirs:
        path_dirs.append(os.path.dirname(tool))
config.environment["PATH"] = os.pathsep.join(
    [d for d in path_dirs if os.path.isdir(d)] + [config.environment.get("PATH", "")]
)
for var in ("HOME", "TMPDIR", "RUST_BACKTRACE", "RUST_LOG", "NO_COLOR"):
    if var in os.environ:
        config.environment[var] = os.environ[var]
for var, value in os.environ.items():
    if var.startswith("ONNXQC_"):
        config.environment[var] = value
config.environment["ONNXQC_BIN"] = onnxqc

# --- substitutions -------------------------------------------------------------
q = shlex.quote

# %-style substitutions first (lit applies them in list order, before its own
# %s/%t/%p..., so %python is not eaten by %p).
config.substitutions.append(("%onnxqc", q(onnxqc)))
config.substitutions.append(("%mlir_opt", q(mlir_opt)))
config.substitutions.append(("%python", q(python)))
config.substitutions.append(("%repo", q(repo_root)))
config.substitutions.append(("%FileCheck", q(filecheck)))


def command_position(name):
    """Regex for NAME used as a command: at the start of a RUN command (after
    lit's '%dbg(RUN: at line N)' prefix), after '|', '&&', '||', ';', or after
    an already-substituted 'not' / 'not --crash'. Elsewhere (paths, quoted
    text, FileCheck patterns) the word is left alone; such uses still resolve
    through PATH above."""
    # Python lookbehinds must be fixed-width: enumerate 0-4 blanks after each
    # separator (lit keeps the blank after "RUN:", giving "%dbg(...)  cmd").
    not_path = re.escape(not_tool)
    separators = ["^", r"\d\)", r"\|", "&&", ";", not_path, not_path + " --crash"]
    lookbehinds = [
        "(?<=%s%s)" % (sep, " " * n) for sep in separators for n in range(5)
    ]
    return "(?:%s)%s(?![\\w.\\-/])" % ("|".join(lookbehinds), re.escape(name))


# `not` first: the other tools are then recognised after its substituted path.
for name, path in (
    ("not", not_tool),
    ("onnxqc", onnxqc),
    ("FileCheck", filecheck),
    ("mlir-opt", mlir_opt),
    ("count", count_tool),
):
    config.substitutions.append((command_position(name), q(path)))

lit_config.note("onnxqc: %s" % onnxqc)
lit_config.note("FileCheck: %s, mlir-opt: %s" % (filecheck, mlir_opt))
