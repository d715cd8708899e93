#!/usr/bin/env python3
"""Synthetic large ONNX model with external data, and a checker for round-tripped copies of it.

Generate (deterministic for a given seed and numpy version):

    python3 bench/gen_big_model.py gen --out DIR/big.onnx [--layers 8] [--dim 4096] [--hidden 8192]
                                       [--seed 1] [--align 4096] [--no-check]

writes DIR/big.onnx and DIR/big.onnx.data. The graph is a chain of LAYERS MatMuls on `x: [batch, DIM]`
(float32, `batch` symbolic); the weights alternate DIM x HIDDEN and HIDDEN x DIM (an odd LAYERS ends
on [batch, HIDDEN]), each a float32 initializer stored in the one external data file at an offset
aligned to ALIGN bytes. The defaults give 8 x 128 MiB = 1 GiB of weights. The data file is written
in chunks (at most ~8 MiB of weights in memory at a time) from one numpy PCG64 stream per weight,
scaled by 1/sqrt(fan_in) so activations stay O(1); the model is then checked with
`onnx.checker.check_model(path, full_check=True)`. Files are written under temporary names and
renamed at the end, so an interrupted run leaves no half-written model under the final names.

Compare a copy against the original:

    python3 bench/gen_big_model.py compare IN.onnx OUT.onnx [--expect-data big.onnx.data]

runs `onnx.checker.check_model(OUT, full_check=True)` (path form, so external data is allowed),
compares the graphs (node op types and inputs/outputs, graph inputs/outputs, initializer names,
types and shapes) and the bytes of every initializer by sha256, read from wherever each model keeps
them (external file at offset/length, raw_data, or typed fields). The data layouts may differ
(alignment padding, order); only the tensor bytes must be equal. Prints one summary line on stdout,
the details on stderr; exits 1 on any difference.
"""

import argparse
import hashlib
import os
import sys
import time

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper
from onnx.external_data_helper import uses_external_data

CHUNK_BYTES = 8 << 20  # generator chunk size and hashing block size


def log(msg):
    print(f"[gen_big_model] {msg}", file=sys.stderr, flush=True)


# ---------------------------------------------------------------------- gen ---------------------


def weight_shapes(layers, dim, hidden):
    return [(dim, hidden) if i % 2 == 0 else (hidden, dim) for i in range(layers)]


def write_weights(data_path, shapes, seed, align):
    """Writes the raw float32 weights; returns [(offset, length)] per weight."""
    spans = []
    streams = np.random.SeedSequence(seed).spawn(len(shapes))
    with open(data_path, "wb") as f:
        pos = 0
        for i, ((rows, cols), ss) in enumerate(zip(shapes, streams)):
            pad = (-pos) % align
            if pad:
                f.write(b"\0" * pad)
                pos += pad
            rng = np.random.Generator(np.random.PCG64(ss))
            scale = np.float32(1.0 / np.sqrt(rows))
            rows_per_chunk = max(1, CHUNK_BYTES // (cols * 4))
            start = pos
            for r in range(0, rows, rows_per_chunk):
                n = min(rows_per_chunk, rows - r)
                chunk = rng.standard_normal((n, cols), dtype=np.float32)
                chunk *= scale
                # ONNX raw data is little-endian.
                f.write(chunk.astype("<f4", copy=False).tobytes())
                pos += chunk.nbytes
            spans.append((start, pos - start))
            log(f"W{i} {rows}x{cols} at offset {start}, {pos - start} bytes")
    return spans


def build_model(shapes, spans, location, opset):
    inits, nodes = [], []
    cur = "x"
    for i, ((rows, cols), (offset, length)) in enumerate(zip(shapes, spans)):
        t = TensorProto()
        t.name = f"W{i}"
        t.data_type = TensorProto.FLOAT
        t.dims.extend([rows, cols])
        t.data_location = TensorProto.EXTERNAL
        for k, v in (("location", location), ("offset", offset), ("length", length)):
            e = t.external_data.add()
            e.key, e.value = k, str(v)
        inits.append(t)
        out = "y" if i == len(shapes) - 1 else f"h{i}"
        nodes.append(helper.make_node("MatMul", [cur, t.name], [out], name=f"matmul{i}"))
        cur = out
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", shapes[0][0]])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", shapes[-1][1]])
    graph = helper.make_graph(nodes, "big_matmul_chain", [x], [y], initializer=inits)
    model = helper.make_model(
        graph,
        producer_name="onnxqc-bench-gen_big_model",
        opset_imports=[helper.make_opsetid("", opset)],
    )
    model.ir_version = 8
    return model


def cmd_gen(a):
    out = os.path.abspath(a.out)
    d = os.path.dirname(out)
    os.makedirs(d, exist_ok=True)
    location = os.path.basename(out) + ".data"
    data_path = os.path.join(d, location)
    shapes = weight_shapes(a.layers, a.dim, a.hidden)
    t0 = time.monotonic()
    tmp_data = data_path + ".partial"
    tmp_model = out + ".partial"
    try:
        spans = write_weights(tmp_data, shapes, a.seed, a.align)
        model = build_model(shapes, spans, location, a.opset)
        with open(tmp_model, "wb") as f:
            f.write(model.SerializeToString())
        os.replace(tmp_data, data_path)
        os.replace(tmp_model, out)
    finally:
        for p in (tmp_data, tmp_model):
            if os.path.exists(p):
                os.remove(p)
    t1 = time.monotonic()
    if not a.no_check:
        try:
            onnx.checker.check_model(out, full_check=True)
        except Exception:
            os.remove(out)
            os.remove(data_path)
            raise
    t2 = time.monotonic()
    total = sum(n for _, n in spans)
    log(
        f"wrote {out} ({os.path.getsize(out)} bytes) + {location} ({os.path.getsize(data_path)} bytes, "
        f"{total / 2**20:.0f} MiB of weights) in {t1 - t0:.1f}s; checker {'skipped' if a.no_check else f'OK in {t2 - t1:.1f}s'}"
    )
    print(
        f"{a.layers} MatMul, weights {' '.join(f'{r}x{c}' for r, c in shapes)} float32, "
        f"{total} bytes external ({total / 2**30:.2f} GiB), seed {a.seed}, align {a.align}"
    )


# ---------------------------------------------------------------------- compare -----------------


def tensor_digest(t, model_dir):
    """sha256 and byte count of a tensor's data, wherever it is stored."""
    h = hashlib.sha256()
    if uses_external_data(t):
        info = {e.key: e.value for e in t.external_data}
        path = os.path.join(model_dir, info["location"])
        offset = int(info.get("offset", 0))
        length = int(info["length"]) if "length" in info else os.path.getsize(path) - offset
        with open(path, "rb") as f:
            f.seek(offset)
            left = length
            while left:
                b = f.read(min(CHUNK_BYTES, left))
                if not b:
                    raise ValueError(f"{t.name}: {path} ends before offset {offset} + length {length}")
                h.update(b)
                left -= len(b)
        where = f"{info['location']}@{offset}+{length}"
        return h.hexdigest(), length, where
    if t.HasField("raw_data"):
        h.update(t.raw_data)
        return h.hexdigest(), len(t.raw_data), "raw_data"
    arr = numpy_helper.to_array(t)
    b = np.ascontiguousarray(arr.astype(arr.dtype.newbyteorder("<"), copy=False)).tobytes()
    h.update(b)
    return h.hexdigest(), len(b), "typed fields"


def graph_summary(m):
    g = m.graph
    return {
        "nodes": [(n.op_type, tuple(n.input), tuple(n.output)) for n in g.node],
        "inputs": [(v.name, v.type.SerializeToString()) for v in g.input],
        "outputs": [(v.name, v.type.SerializeToString()) for v in g.output],
    }


def cmd_compare(a):
    problems = []
    t0 = time.monotonic()
    try:
        onnx.checker.check_model(a.output, full_check=True)
        checker = "OK"
    except Exception as e:  # noqa: BLE001 - report any checker failure
        checker = "FAIL"
        problems.append(f"onnx.checker.check_model({a.output}): {type(e).__name__}: {e}")
    t1 = time.monotonic()
    mi = onnx.load(a.input, load_external_data=False)
    mo = onnx.load(a.output, load_external_data=False)
    di, do = os.path.dirname(os.path.abspath(a.input)), os.path.dirname(os.path.abspath(a.output))

    gi, go = graph_summary(mi), graph_summary(mo)
    for k in gi:
        if gi[k] != go[k]:
            problems.append(f"graph {k} differ: input {[x[0] for x in gi[k]][:8]}... vs output {[x[0] for x in go[k]][:8]}...")

    ii = {t.name: t for t in mi.graph.initializer}
    io = {t.name: t for t in mo.graph.initializer}
    if set(ii) != set(io):
        problems.append(f"initializer names differ: only in input {sorted(set(ii) - set(io))}, only in output {sorted(set(io) - set(ii))}")
    locations = set()
    same_layout = True
    nbytes = 0
    for name in sorted(set(ii) & set(io)):
        ti, to = ii[name], io[name]
        if ti.data_type != to.data_type or list(ti.dims) != list(to.dims):
            problems.append(f"{name}: type/shape {ti.data_type}{list(ti.dims)} vs {to.data_type}{list(to.dims)}")
            continue
        hi, ni, wi = tensor_digest(ti, di)
        ho, no, wo = tensor_digest(to, do)
        nbytes += ni
        if wo.split("@")[0] not in ("raw_data", "typed fields"):
            locations.add(wo.split("@")[0])
        if wi.split("@", 1)[-1] != wo.split("@", 1)[-1]:
            same_layout = False
        status = "OK" if (hi, ni) == (ho, no) else "DIFFERENT"
        log(f"{name}: {status} sha256 {hi[:16]}.. in {wi}; out {ho[:16]}.. in {wo}")
        if status != "OK":
            problems.append(f"{name}: bytes differ (input {ni} bytes sha256 {hi}, output {no} bytes sha256 {ho})")
    if a.expect_data is not None:
        if locations != {a.expect_data}:
            problems.append(f"output external data locations {sorted(locations)}, expected only {a.expect_data!r}")
        elif not os.path.exists(os.path.join(do, a.expect_data)):
            problems.append(f"{a.expect_data} does not exist next to {a.output}")
    t2 = time.monotonic()
    for p in problems:
        log(f"FAIL: {p}")
    ok = not problems
    print(
        f"{'PASS' if ok else 'FAIL'}: checker {checker} ({t1 - t0:.1f}s); {len(io)} initializers, "
        f"{nbytes} bytes compared by sha256 ({t2 - t1:.1f}s); output data in {', '.join(sorted(locations)) or 'the model file'}, "
        f"layout {'identical to' if same_layout else 'different from'} the input's"
        + (f"; {len(problems)} problem(s), first: {problems[0][:300]}" if problems else "")
    )
    return 0 if ok else 1


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    g = sub.add_parser("gen", help="write the synthetic model and its external data file")
    g.add_argument("--out", required=True, help="model path; the data file is OUT.data")
    g.add_argument("--layers", type=int, default=8)
    g.add_argument("--dim", type=int, default=4096)
    g.add_argument("--hidden", type=int, default=8192)
    g.add_argument("--seed", type=int, default=1)
    g.add_argument("--align", type=int, default=4096, help="offset alignment of each weight (bytes)")
    g.add_argument("--opset", type=int, default=17)
    g.add_argument("--no-check", action="store_true", help="skip onnx.checker.check_model")
    c = sub.add_parser("compare", help="check OUTPUT and compare it with INPUT tensor by tensor")
    c.add_argument("input")
    c.add_argument("output")
    c.add_argument("--expect-data", help="the one external data file name OUTPUT must use")
    a = p.parse_args()
    if a.cmd == "gen":
        if a.layers < 1 or a.dim < 1 or a.hidden < 1 or a.align < 1:
            p.error("--layers, --dim, --hidden and --align must be positive")
        cmd_gen(a)
        return 0
    return cmd_compare(a)


if __name__ == "__main__":
    sys.exit(main())
