#!/usr/bin/env python3
"""Writes a synthetic transformer-like ONNX model for the `preprocess` benchmark.

Each layer is what a PyTorch/HF export of a BERT-style encoder looks like before any optimizer ran:
decomposed LayerNormalization (ReduceMean, Sub, Pow, ReduceMean, Add, Sqrt, Div, Mul, Add), Q/K/V MatMul +
Add, the `Shape -> Gather -> Unsqueeze -> Concat -> Reshape` chains that split heads with symbolic batch and
sequence dims, Transpose, scaled dot product with a mask Add and Softmax, the merge Reshape, output MatMul +
Add, residual Adds, and an FFN with the Erf form of Gelu. About 60 nodes per layer; `--nodes 100000` picks
the layer count. Weights are small (hidden 32) so the file stays around 50 MB; the point is the node count.

    python3 bench/gen_transformer.py --nodes 100000 --out target/bench/transformer.onnx [--seed 1]

Needs numpy and onnx (the project's .venv has both). Deterministic for a given seed.
"""

from __future__ import annotations

import argparse
import pathlib

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

HIDDEN, HEADS, FFN = 32, 2, 64
HEAD_DIM = HIDDEN // HEADS


class Builder:
    def __init__(self, seed: int):
        self.nodes: list[onnx.NodeProto] = []
        self.inits: list[onnx.TensorProto] = []
        self.rng = np.random.default_rng(seed)
        self.count = 0

    def fresh(self, base: str) -> str:
        self.count += 1
        return f"{base}_{self.count}"

    def const(self, base: str, array) -> str:
        name = self.fresh(base)
        self.inits.append(numpy_helper.from_array(np.asarray(array), name))
        return name

    def weight(self, base: str, *shape) -> str:
        return self.const(base, (self.rng.standard_normal(shape) * 0.1).astype(np.float32))

    def op(self, op_type: str, inputs, n_out: int = 1, **attrs):
        outs = [self.fresh(op_type.lower()) for _ in range(n_out)]
        self.nodes.append(helper.make_node(op_type, inputs, outs, name=self.fresh(op_type), **attrs))
        return outs[0] if n_out == 1 else outs

    def layer_norm(self, x: str) -> str:
        mean = self.op("ReduceMean", [x], axes=[-1])
        d = self.op("Sub", [x, mean])
        sq = self.op("Pow", [d, self.const("two", np.array(2.0, np.float32))])
        var = self.op("ReduceMean", [sq], axes=[-1])
        std = self.op("Sqrt", [self.op("Add", [var, self.const("eps", np.array(1e-5, np.float32))])])
        y = self.op("Div", [d, std])
        y = self.op("Mul", [y, self.const("gamma", np.ones(HIDDEN, np.float32))])
        return self.op("Add", [y, self.const("beta", np.zeros(HIDDEN, np.float32))])

    def linear(self, x: str, k: int, n: int) -> str:
        return self.op("Add", [self.op("MatMul", [x, self.weight("w", k, n)]), self.weight("b", n)])

    def dims(self, x: str):
        """batch and seq of x as 1-D int64 tensors, from Shape -> Gather -> Unsqueeze."""
        shape = self.op("Shape", [x])
        axes0 = self.const("ax0", np.array([0], np.int64))
        b = self.op("Unsqueeze", [self.op("Gather", [shape, self.const("i0", np.array(0, np.int64))], axis=0), axes0])
        s = self.op("Unsqueeze", [self.op("Gather", [shape, self.const("i1", np.array(1, np.int64))], axis=0), axes0])
        return b, s

    def split_heads(self, x: str, b: str, s: str) -> str:
        shape = self.op("Concat", [b, s, self.const("h", np.array([HEADS, HEAD_DIM], np.int64))], axis=0)
        return self.op("Transpose", [self.op("Reshape", [x, shape])], perm=[0, 2, 1, 3])

    def layer(self, x: str, mask: str) -> str:
        h = self.layer_norm(x)
        b, s = self.dims(h)
        q = self.split_heads(self.linear(h, HIDDEN, HIDDEN), b, s)
        k = self.split_heads(self.linear(h, HIDDEN, HIDDEN), b, s)
        v = self.split_heads(self.linear(h, HIDDEN, HIDDEN), b, s)
        kt = self.op("Transpose", [k], perm=[0, 1, 3, 2])
        scores = self.op("Div", [self.op("MatMul", [q, kt]), self.const("scale", np.array(HEAD_DIM**0.5, np.float32))])
        probs = self.op("Softmax", [self.op("Add", [scores, mask])], axis=-1)
        ctx = self.op("Transpose", [self.op("MatMul", [probs, v])], perm=[0, 2, 1, 3])
        merged = self.op("Concat", [b, s, self.const("hd", np.array([HIDDEN], np.int64))], axis=0)
        ctx = self.op("Reshape", [ctx, merged])
        x = self.op("Add", [x, self.linear(ctx, HIDDEN, HIDDEN)])
        h = self.layer_norm(x)
        f = self.linear(h, HIDDEN, FFN)
        erf = self.op("Erf", [self.op("Div", [f, self.const("sqrt2", np.array(2**0.5, np.float32))])])
        gelu = self.op("Mul", [self.op("Mul", [f, self.op("Add", [erf, self.const("one", np.array(1.0, np.float32))])]),
                               self.const("half", np.array(0.5, np.float32))])
        return self.op("Add", [x, self.linear(gelu, FFN, HIDDEN)])


def build(nodes: int, seed: int) -> onnx.ModelProto:
    b = Builder(seed)
    x, mask = "input", "mask"
    layers = 0
    while len(b.nodes) < nodes:
        x = b.layer(x, mask)
        layers += 1
    out = b.op("Identity", [x])
    graph = helper.make_graph(
        b.nodes,
        f"transformer_{layers}_layers",
        [
            helper.make_tensor_value_info("input", TensorProto.FLOAT, ["batch", "seq", HIDDEN]),
            helper.make_tensor_value_info("mask", TensorProto.FLOAT, ["batch", 1, 1, "seq"]),
        ],
        [helper.make_tensor_value_info(out, TensorProto.FLOAT, ["batch", "seq", HIDDEN])],
        b.inits,
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--nodes", type=int, default=100_000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--out", type=pathlib.Path, required=True)
    args = ap.parse_args()
    m = build(args.nodes, args.seed)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    onnx.save_model(m, str(args.out))
    onnx.checker.check_model(str(args.out))
    print(f"{args.out}: {len(m.graph.node)} nodes, {len(m.graph.initializer)} initializers")


if __name__ == "__main__":
    main()
