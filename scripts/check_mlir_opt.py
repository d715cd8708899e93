#!/usr/bin/env python3
"""Check that everything onnxqc prints is parseable by upstream mlir-opt.

For every *.mlir under DIR (skipping anything under an `invalid/`, `Output/`
or hidden folder):

  (a) onnxqc FILE --split-input-file
  (b) onnxqc FILE --split-input-file -passes=P   for every pipeline P given
      as -passes=P / --passes=P (or `-passes P`) to onnxqc on the file's
      `// RUN:` lines

and pipe the output into `mlir-opt --allow-unregistered-dialect
--split-input-file -`, which must exit 0.

Expected failures: a pipeline that only appears on `not onnxqc ...` RUN
commands is not checked; a file whose (a) run fails and that has a
`// RUN: not` line is skipped entirely.

Prints `OK: checked N outputs from M files` and exits 0 when everything
parses; otherwise reports each failure (file, command, stderr) on stderr and
exits 1.
"""

import argparse
import os
import re
import shlex
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

SKIP_DIRS = {"invalid", "Output"}
RUN_RE = re.compile(r"^\s*//\s*RUN:(.*)$")
RUN_NOT_RE = re.compile(r"^\s*//\s*RUN:\s*not\s")
CONTROL = {"|", "||", "&&", ";", "&", "|&"}
TIMEOUT = 120  # seconds per command


def find_inputs(root):
    files = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(
            d for d in dirnames if d not in SKIP_DIRS and not d.startswith(".")
        )
        files.extend(
            os.path.join(dirpath, f) for f in sorted(filenames) if f.endswith(".mlir")
        )
    return files


def run_lines(text):
    """The file's RUN commands, with `\\` continuations joined."""
    commands, current = [], None
    for line in text.splitlines():
        m = RUN_RE.match(line)
        if not m:
            continue
        body = m.group(1).rstrip()
        if current is None:
            current = ""
        if body.endswith("\\"):
            current += body[:-1] + " "
            continue
        commands.append(current + body)
        current = None
    if current is not None:
        commands.append(current)
    return commands


def tokenize(command):
    lexer = shlex.shlex(command, posix=True, punctuation_chars=True)
    lexer.whitespace_split = True
    lexer.commenters = ""
    try:
        return list(lexer)
    except ValueError:  # unbalanced quotes: fall back to plain splitting
        return command.split()


def is_onnxqc(word):
    return word in ("onnxqc", "%onnxqc") or os.path.basename(word) == "onnxqc"


def pipelines(text):
    """(checked, expected_failing) sets of -passes values on onnxqc commands."""
    ok, failing = set(), set()
    for command in run_lines(text):
        segment = []
        for tok in tokenize(command) + [";"]:
            if tok not in CONTROL:
                segment.append(tok)
                continue
            negated = False
            while segment and segment[0] in ("not", "%not"):
                negated = not negated
                segment = segment[1:]
                if segment and segment[0] == "--crash":
                    segment = segment[1:]
            if segment and is_onnxqc(segment[0]):
                args = segment[1:]
                for i, arg in enumerate(args):
                    value = None
                    for flag in ("-passes", "--passes"):
                        if arg.startswith(flag + "="):
                            value = arg[len(flag) + 1 :]
                        elif arg == flag and i + 1 < len(args):
                            value = args[i + 1]
                    if value is not None:
                        # Keep the data flags calibrate needs (--calib-data %S/Inputs/...), nothing else.
                        extra = []
                        for j, a in enumerate(args):
                            if a.startswith("--calib") or a == "--no-progress":
                                extra.append(a)
                                if "=" not in a and a != "--no-progress" and j + 1 < len(args):
                                    extra.append(args[j + 1])
                        # A run that reads a file an earlier RUN line wrote (%t...) cannot be replayed alone;
                        # its pipeline is checked through the other runs.
                        if any("%t" in a for a in extra):
                            continue
                        extra = tuple(extra)
                        (failing if negated else ok).add((value, extra))
            segment = []
    return ok, failing - ok


def run(cmd, stdin=None):
    try:
        return subprocess.run(
            cmd,
            input=stdin,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            timeout=TIMEOUT,
        )
    except subprocess.TimeoutExpired as e:
        return subprocess.CompletedProcess(
            cmd, 124, e.stdout or b"", (e.stderr or b"") + b"\ntimed out\n"
        )


def check_output(args, path, extra):
    """Run onnxqc + mlir-opt. Returns (onnxqc_failed, error_message or None)."""
    cmd = [args.onnxqc, path, "--split-input-file"] + extra
    produced = run(cmd)
    if produced.returncode != 0:
        return True, format_failure(path, cmd, "onnxqc", produced)
    opt_cmd = [args.mlir_opt, "--allow-unregistered-dialect", "--split-input-file", "-"]
    parsed = run(opt_cmd, stdin=produced.stdout)
    if parsed.returncode != 0:
        shown = " ".join(map(shlex.quote, cmd)) + " | " + " ".join(
            map(shlex.quote, opt_cmd)
        )
        return False, format_failure(path, shown, "mlir-opt", parsed)
    return False, None


def format_failure(path, cmd, who, proc):
    if not isinstance(cmd, str):
        cmd = " ".join(map(shlex.quote, cmd))
    stderr = proc.stderr.decode("utf-8", "replace").rstrip()
    return (
        "FAIL: %s\n  command: %s\n  %s exited with %d; its stderr:\n%s\n"
        % (path, cmd, who, proc.returncode, stderr or "  (empty)")
    )


def check_file(args, path):
    """Returns (outputs_checked, skipped, [failure messages])."""
    with open(path, encoding="utf-8", errors="replace") as f:
        text = f.read()
    expects_failure = any(RUN_NOT_RE.match(l) for l in text.splitlines())
    onnxqc_failed, err = check_output(args, path, [])
    if err is not None:
        if onnxqc_failed and expects_failure:
            return 0, True, []
        return 1, False, [err]
    checked, failures = 1, []
    ok, _ = pipelines(text)
    folder = os.path.dirname(os.path.abspath(path))
    for pipeline, extra in sorted(ok):
        checked += 1
        extra = [a.replace("%S", folder) for a in extra]
        _, err = check_output(args, path, ["-passes=" + pipeline.replace("%S", folder)] + extra)
        if err is not None:
            failures.append(err)
    return checked, False, failures


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--onnxqc", required=True, help="onnxqc binary")
    parser.add_argument("--mlir-opt", required=True, help="mlir-opt binary")
    parser.add_argument(
        "-j", "--jobs", type=int, default=os.cpu_count() or 1, help="parallel files"
    )
    parser.add_argument("dir", help="directory searched for *.mlir")
    args = parser.parse_args()

    files = find_inputs(args.dir)
    with ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        results = list(pool.map(lambda p: check_file(args, p), files))

    outputs = sum(r[0] for r in results)
    skipped = sum(1 for r in results if r[1])
    failures = [msg for r in results for msg in r[2]]
    for msg in failures:
        sys.stderr.write(msg + "\n")
    if failures:
        sys.stderr.write(
            "%d of %d outputs did not parse with mlir-opt\n" % (len(failures), outputs)
        )
        return 1
    note = " (%d expected-failure files skipped)" % skipped if skipped else ""
    print("OK: checked %d outputs from %d files%s" % (outputs, len(files) - skipped, note))
    return 0


if __name__ == "__main__":
    sys.exit(main())
