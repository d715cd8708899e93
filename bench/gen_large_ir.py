#!/usr/bin/env python3
"""Generate a large synthetic text-IR file for benchmarking onnxqc (python3 stdlib only).

The output is one `func.func @main` in the exact canonical form onnxqc's printer writes, so
`onnxqc FILE -o OUT` (parse + verify + print, no passes) must reproduce FILE byte for byte.

What it looks like (a CNN/transformer-ish chain on `tensor<1x64xf32>` activations):

  * function inputs: `%x` (the activation) and eight `tensor<64x64xf32>` weight matrices
    `%fc.w0` .. `%fc.w7` (too large for an inline constant, so they are inputs, as in a model
    whose weights are fed at run time);
  * two shape constants (`%shape.1x64`, `%shape.1x2x4x8`, i64) at the top, reused by every
    onnx.Reshape;
  * blocks, each taking and producing a `tensor<1x64xf32>` value:
      - mlp:       Constant bias, Gemm(x, W, bias) {alpha, beta, transB = 1}, Relu
      - swiglu-ish: MatMul(x, W), Constant bias, Add, Sigmoid, Mul
      - conv:      Reshape to 1x2x4x8, Constant W (2x2x3x3) and B (2), Conv, Relu, Constant W2/B2,
                   Conv, Add (residual), Reshape back to 1x64
      - transpose: Transpose {perm = [1, 0]} to 64x1, Relu, Reshape back to 1x64
      - residual:  Add(x, an older 1x64 value)  (fan-in to values defined earlier)
      - scale:     Constant (64), Mul
  * work for CSE: every 10th onnx.Constant repeats the value (and type) of an earlier constant,
    and every 20th compute op is an exact duplicate of the previous compute op (same operands,
    same attributes); the chain continues from the duplicate, so CSE has uses to redirect;
  * work for DCE: every 25th compute slot is followed by a dead op (a Sigmoid, Relu or a fresh
    Constant whose result nobody uses).

Format rules followed (they are the printer's): body ops indented two spaces; unnamed results are
`%0, %1, ...` in order of appearance; named values use `[A-Za-z0-9._-]`, never start with a digit
and never look like `%argN`; constants have at most 64 elements, are never splats (the printer
would print a splat as `dense<v>`), and f32 literals are multiples of 1/64 (exact in f32 and printed
identically by Python's repr and onnxqc's shortest round-trip formatter), all distinct except
for the intended duplicates; attributes are listed
in alphabetical order (as MLIR prints them); the last line is `func.return` of the last value.

Usage: gen_large_ir.py [--ops N] [--out PATH] [--seed S]
N counts every op line except the final func.return (constants included).
"""

import argparse
import random
import sys

ACT = "tensor<1x64xf32>"
ACT_T = "tensor<64x1xf32>"
IMG = "tensor<1x2x4x8xf32>"
WMAT = "tensor<64x64xf32>"
VEC64 = "tensor<64xf32>"
CONV_W = "tensor<2x2x3x3xf32>"
CONV_B = "tensor<2xf32>"
SHAPE2 = "tensor<2xi64>"
SHAPE4 = "tensor<4xi64>"

CONV_ATTRS = "{dilations = [1, 1], group = 1, kernel_shape = [3, 3], pads = [1, 1, 1, 1], strides = [1, 1]}"
GEMM_ATTRS = "{alpha = 1.0 : f32, beta = 1.0 : f32, transB = 1}"
TRANSPOSE_ATTRS = "{perm = [1, 0]}"

NUM_WEIGHTS = 8
SHAPES = {VEC64: [64], CONV_W: [2, 2, 3, 3], CONV_B: [2]}


# f32 literals are k/64 with |k| <= LIT_RANGE: exact in f32, and Python's repr (shortest round trip
# for f64) then writes the same digits as onnxqc's shortest round-trip f32 formatter.
LIT_RANGE = 192


def fmt_f32(k):
    """k/64 as the printer writes it."""
    return repr(k / 64.0)


class Gen:
    def __init__(self, n_ops, seed, out):
        self.n_ops = n_ops
        self.rng = random.Random(seed)
        self.out = out
        self.ops = 0  # op lines written (func.return excluded)
        self.next_num = 0  # next unnamed result number
        self.n_const = 0  # constants written (for "every 10th is a duplicate")
        self.n_compute = 0  # compute ops written (for "every 20th is a duplicate")
        self.n_slots = 0  # compute slots (for "every 25th is followed by a dead op")
        self.n_named = 0
        self.const_values = {}  # type -> literal texts of live constants (sources for duplicates)
        self.used_literals = {}  # type -> every literal text written (fresh ones must be new)
        self.history = []  # live tensor<1x64xf32> values, oldest first (fan-in sources)
        self.block = 0
        self.stats = {"const": 0, "const_dup": 0, "compute": 0, "compute_dup": 0, "dead": 0}

    # ----- low-level emission -----

    def line(self, text):
        self.out.write("  ")
        self.out.write(text)
        self.out.write("\n")
        self.ops += 1

    def fresh(self, name=None):
        if name is not None:
            return "%" + name
        v = "%{}".format(self.next_num)
        self.next_num += 1
        return v

    def literal(self, ty):
        """A fresh non-splat literal (never equal to an earlier one of the same type, so CSE merges
        exactly the intended duplicates), nested like the printer writes it ([[..], [..]] for rank 2)."""
        shape = SHAPES[ty]
        n = 1
        for d in shape:
            n *= d
        used = self.used_literals.setdefault(ty, set())
        while True:
            vals = [self.rng.randint(-LIT_RANGE, LIT_RANGE) for _ in range(n)]
            if all(v == vals[0] for v in vals):  # a splat would print as dense<v>
                continue
            it = iter(vals)

            def nest(dims):
                if len(dims) == 1:
                    return "[" + ", ".join(fmt_f32(next(it)) for _ in range(dims[0])) + "]"
                return "[" + ", ".join(nest(dims[1:]) for _ in range(dims[0])) + "]"

            text = nest(shape)
            if text not in used:
                used.add(text)
                return text

    def constant(self, ty, name=None, allow_dup=True):
        """An f32 weight constant; every 10th repeats an earlier constant's value (same type)."""
        self.n_const += 1
        seen = self.const_values.setdefault(ty, [])
        if allow_dup and self.n_const % 10 == 0 and seen:
            lit = seen[self.rng.randrange(len(seen))]
            self.stats["const_dup"] += 1
        else:
            lit = self.literal(ty)
            seen.append(lit)
        if name is None:
            self.n_named += 1
            name = "w{}".format(self.n_named)
        v = self.fresh(name)
        self.line('{} = "onnx.Constant"() {{value = dense<{}> : {}}} : () -> {}'.format(v, lit, ty, ty))
        self.stats["const"] += 1
        return v

    def compute(self, kind, operands, in_types, out_type, attrs="", loc=None, name=None, dup=True):
        """One compute op; every 20th compute op is an exact duplicate of the one before it."""
        text_ops = ", ".join(operands)
        sig = "({}) -> {}".format(", ".join(in_types), out_type)
        attr = " " + attrs if attrs else ""
        locs = ' loc("{}")'.format(loc) if loc else ""

        def emit(result):
            self.line('{} = "{}"({}){} : {}{}'.format(result, kind, text_ops, attr, sig, locs))
            self.n_compute += 1
            self.stats["compute"] += 1

        v = self.fresh(name)
        emit(v)
        if dup and self.n_compute % 20 == 19 and self.room(1):
            # The duplicate gets no name (so it does not collide) and the chain continues from it.
            v = self.fresh()
            emit(v)
            self.stats["compute_dup"] += 1
        return v

    def room(self, k):
        """True when k more ops still leave space for closing the function."""
        return self.ops + k <= self.n_ops

    def dead_op(self, cur):
        """An op whose result nobody uses (DCE removes it)."""
        self.stats["dead"] += 1
        kind = self.n_slots // 25 % 3
        if kind == 0:
            self.line('{} = "onnx.Sigmoid"({}) : ({}) -> {}'.format(self.fresh(), cur, ACT, ACT))
        elif kind == 1:
            self.line('{} = "onnx.Relu"({}) : ({}) -> {}'.format(self.fresh(), cur, ACT, ACT))
        else:
            self.n_named += 1
            self.line(
                '{} = "onnx.Constant"() {{value = dense<{}> : {}}} : () -> {}'.format(
                    self.fresh("unused{}".format(self.n_named)), self.literal(VEC64), VEC64, VEC64
                )
            )

    def slot(self, cur):
        """Called after each block step; sometimes adds a dead op."""
        self.n_slots += 1
        if self.n_slots % 25 == 0 and self.room(1):
            self.dead_op(cur)

    # ----- blocks (each maps a 1x64 value to a new 1x64 value) -----

    def weight(self):
        return "%fc.w{}".format(self.rng.randrange(NUM_WEIGHTS))

    def mlp(self, cur, b):
        bias = self.constant(VEC64)
        h = self.compute(
            "onnx.Gemm", [cur, self.weight(), bias], [ACT, WMAT, VEC64], ACT, GEMM_ATTRS,
            loc="/layers.{}/mlp/Gemm".format(b),
        )
        return self.compute("onnx.Relu", [h], [ACT], ACT, loc="/layers.{}/mlp/Relu".format(b))

    def gated(self, cur, b):
        mm = self.compute("onnx.MatMul", [cur, self.weight()], [ACT, WMAT], ACT,
                          loc="/layers.{}/attn/MatMul".format(b))
        bias = self.constant(VEC64)
        a = self.compute("onnx.Add", [mm, bias], [ACT, VEC64], ACT)
        s = self.compute("onnx.Sigmoid", [a], [ACT], ACT, loc="/layers.{}/attn/Sigmoid".format(b))
        return self.compute("onnx.Mul", [s, a], [ACT, ACT], ACT,
                            name="layers.{}.attn.out".format(b) if b % 4 == 0 else None)

    def conv(self, cur, b):
        x = self.compute("onnx.Reshape", [cur, "%shape.1x2x4x8"], [ACT, SHAPE4], IMG)
        w1 = self.constant(CONV_W)
        b1 = self.constant(CONV_B)
        c1 = self.compute("onnx.Conv", [x, w1, b1], [IMG, CONV_W, CONV_B], IMG, CONV_ATTRS,
                          loc="/backbone/stage{}/conv1/Conv".format(b))
        r1 = self.compute("onnx.Relu", [c1], [IMG], IMG)
        w2 = self.constant(CONV_W)
        if b % 3 == 0:  # a bias-less Conv (2 operands) now and then
            c2 = self.compute("onnx.Conv", [r1, w2], [IMG, CONV_W], IMG, CONV_ATTRS,
                              loc="/backbone/stage{}/conv2/Conv".format(b))
        else:
            b2 = self.constant(CONV_B)
            c2 = self.compute("onnx.Conv", [r1, w2, b2], [IMG, CONV_W, CONV_B], IMG, CONV_ATTRS,
                              loc="/backbone/stage{}/conv2/Conv".format(b))
        res = self.compute("onnx.Add", [c2, x], [IMG, IMG], IMG)
        return self.compute("onnx.Reshape", [res, "%shape.1x64"], [IMG, SHAPE2], ACT,
                            loc="/backbone/stage{}/Flatten".format(b))

    def transpose(self, cur, b):
        t = self.compute("onnx.Transpose", [cur], [ACT], ACT_T, TRANSPOSE_ATTRS)
        r = self.compute("onnx.Relu", [t], [ACT_T], ACT_T)
        return self.compute("onnx.Reshape", [r, "%shape.1x64"], [ACT_T, SHAPE2], ACT)

    def residual(self, cur, b):
        # Fan-in: mostly recent values, sometimes far back.
        h = self.history
        if self.rng.random() < 0.8:
            older = h[max(0, len(h) - 1 - self.rng.randrange(1, 50)) if len(h) > 1 else 0]
        else:
            older = h[self.rng.randrange(len(h))]
        return self.compute("onnx.Add", [cur, older], [ACT, ACT], ACT,
                            loc="/layers.{}/residual/Add".format(b))

    def scale(self, cur, b):
        s = self.constant(VEC64)
        return self.compute("onnx.Mul", [cur, s], [ACT, VEC64], ACT)

    # Ops a block can write at most (duplicates and dead ops included).
    BLOCKS = [
        ("mlp", 6, 4),
        ("gated", 9, 3),
        ("conv", 14, 2),
        ("transpose", 6, 2),
        ("residual", 3, 3),
        ("scale", 4, 2),
    ]

    def run(self):
        w = self.out
        args = ["%x: {}".format(ACT)] + ["%fc.w{}: {}".format(i, WMAT) for i in range(NUM_WEIGHTS)]
        w.write("func.func @main({}) -> {} {{\n".format(", ".join(args), ACT))
        # Shape constants, shared by all Reshapes.
        self.line('%shape.1x64 = "onnx.Constant"() {{value = dense<[1, 64]> : {}}} : () -> {}'.format(SHAPE2, SHAPE2))
        self.line('%shape.1x2x4x8 = "onnx.Constant"() {{value = dense<[1, 2, 4, 8]> : {}}} : () -> {}'.format(SHAPE4, SHAPE4))
        cur = "%x"
        self.history.append(cur)
        names = [b[0] for b in self.BLOCKS]
        weights = [b[2] for b in self.BLOCKS]
        max_block = max(b[1] for b in self.BLOCKS)
        while self.ops < self.n_ops:
            if self.room(max_block + 1):
                kind = self.rng.choices(names, weights)[0]
                cur = getattr(self, kind)(cur, self.block)
                self.block += 1
            else:
                # Fill the tail one op at a time so that the count is exact.
                cur = self.compute("onnx.Relu", [cur], [ACT], ACT, dup=False)
            self.history.append(cur)
            self.slot(cur)
        w.write("  func.return {} : {}\n".format(cur, ACT))
        w.write("}\n")
        assert self.ops == self.n_ops, (self.ops, self.n_ops)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--ops", type=int, default=100000, help="number of ops (default 100000)")
    ap.add_argument("--out", default="-", help="output file (default: stdout)")
    ap.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    ap.add_argument("--stats", action="store_true", help="print op statistics to stderr")
    a = ap.parse_args()
    if a.ops < 3:
        ap.error("--ops must be at least 3")
    out = sys.stdout if a.out == "-" else open(a.out, "w", encoding="utf-8", newline="\n")
    try:
        g = Gen(a.ops, a.seed, out)
        g.run()
    finally:
        if out is not sys.stdout:
            out.close()
    if a.stats:
        s = g.stats
        print(
            "ops={} constants={} (dup {}) compute={} (dup {}) dead={} blocks={}".format(
                g.ops, s["const"] + 2, s["const_dup"], s["compute"], s["compute_dup"], s["dead"], g.block
            ),
            file=sys.stderr,
        )


if __name__ == "__main__":
    main()
