"""Self-made models for the `preprocess` pipeline oracle (test_preprocess.py): the graph patterns that
exporters emit and that `fuse` must clean up, on real-looking (symbolic) shapes.

Every builder returns ``(model, feeds)`` like ``models.py``: ``feeds`` is a list of input dicts (two
shapes where the model has symbolic dims, so the symbolic shapes are exercised twice). Registered in
``PREPROCESS_MODELS``; each must pass ``onnx.checker`` (full check) and run in ONNX Runtime.
"""

from __future__ import annotations

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from models import make_model, opsets, rng_for

F = TensorProto.FLOAT
PREPROCESS_MODELS: dict = {}


def register(fn):
    PREPROCESS_MODELS[fn.__name__] = fn
    return fn


class G:
    """A small graph builder: fresh names, initializers from arrays, nodes named after their op."""

    def __init__(self, name: str):
        self.rng = rng_for(name)
        self.nodes: list = []
        self.inits: list = []
        self.n = 0

    def fresh(self, base: str) -> str:
        self.n += 1
        return f"{base}{self.n}"

    def const(self, array, base: str = "c") -> str:
        name = self.fresh(base)
        self.inits.append(numpy_helper.from_array(np.asarray(array), name))
        return name

    def w(self, *shape, scale: float = 0.2) -> str:
        return self.const((self.rng.standard_normal(shape) * scale).astype(np.float32), "w")

    def op(self, op_type: str, inputs, n_out: int = 1, domain: str = "", **attrs):
        outs = [self.fresh(op_type.lower()) for _ in range(n_out)]
        self.nodes.append(helper.make_node(op_type, inputs, outs, name=self.fresh(op_type + "_"), domain=domain, **attrs))
        return outs[0] if n_out == 1 else outs

    def bn(self, x: str, c: int) -> str:
        r = self.rng
        return self.op(
            "BatchNormalization",
            [
                x,
                self.const((1 + 0.3 * r.standard_normal(c)).astype(np.float32), "scale"),
                self.const((0.2 * r.standard_normal(c)).astype(np.float32), "bias"),
                self.const((0.2 * r.standard_normal(c)).astype(np.float32), "mean"),
                self.const((0.5 + r.random(c)).astype(np.float32), "var"),
            ],
            epsilon=1e-5,
        )

    def graph(self, name, inputs, outputs):
        return helper.make_graph(self.nodes, name, inputs, outputs, self.inits)


def image_feeds(name: str, shapes, input_name: str = "x") -> list:
    rng = rng_for(name + "/feeds")
    return [{input_name: rng.standard_normal(s).astype(np.float32)} for s in shapes]


@register
def cnn_bn(_workdir=None):
    """Conv(+bias) -> BN -> Relu, Conv(no bias) -> BN, depthwise Conv -> BN -> Clip, an Add of a
    per-channel constant after a Conv (a bias), ConvTranspose -> BN -> Sigmoid, with symbolic batch,
    height and width; a Transpose pair that cancels and an Identity."""
    g = G("cnn_bn")
    x = g.op("Conv", ["x", g.w(8, 3, 3, 3), g.w(8)], pads=[1, 1, 1, 1])
    x = g.op("Relu", [g.bn(x, 8)])
    x = g.bn(g.op("Conv", [x, g.w(16, 8, 3, 3)], strides=[2, 2], pads=[1, 1, 1, 1]), 16)
    dw = g.bn(g.op("Conv", [x, g.w(16, 1, 3, 3)], group=16, pads=[1, 1, 1, 1]), 16)
    x = g.op("Clip", [dw, g.const(np.array(0.0, np.float32)), g.const(np.array(6.0, np.float32))])
    x = g.op("Add", [g.op("Conv", [x, g.w(16, 16, 1, 1)]), g.w(1, 16, 1, 1)])
    t = g.op("Transpose", [x], perm=[0, 2, 3, 1])
    x = g.op("Identity", [g.op("Transpose", [t], perm=[0, 3, 1, 2])])
    x = g.op("Sigmoid", [g.bn(g.op("ConvTranspose", [x, g.w(16, 4, 2, 2), g.w(4)], strides=[2, 2]), 4)])
    graph = g.graph(
        "cnn_bn",
        [helper.make_tensor_value_info("x", F, ["N", 3, "H", "W"])],
        [helper.make_tensor_value_info(x, F, ["N", 4, "OH", "OW"])],
    )
    return make_model(graph, opsets(13)), image_feeds("cnn_bn", [[1, 3, 32, 32], [2, 3, 24, 40]])


@register
def gemm_bn_matmul_add(_workdir=None):
    """Flatten -> Gemm -> BN (2-D) and a 2-D MatMul + Add that is a Gemm, then a 3-D MatMul + Add that
    must stay a MatMul (Gemm is 2-D only)."""
    g = G("gemm_bn_matmul_add")
    x = g.op("Flatten", ["x"], axis=1)
    x = g.bn(g.op("Gemm", [x, g.w(48, 32), g.w(32)]), 32)
    x = g.op("Add", [g.op("MatMul", [x, g.w(32, 16)]), g.w(16)])
    x = g.op("Reshape", [x, g.const(np.array([0, 4, 4], np.int64))])
    x = g.op("Add", [g.op("MatMul", [x, g.w(4, 8)]), g.w(8)])
    graph = g.graph(
        "gemm_bn_matmul_add",
        [helper.make_tensor_value_info("x", F, ["N", 3, 4, 4])],
        [helper.make_tensor_value_info(x, F, ["N", 4, 8])],
    )
    return make_model(graph, opsets(13)), image_feeds("gemm_bn_matmul_add", [[1, 3, 4, 4], [5, 3, 4, 4]])


def _layer_norm(g: G, x: str, hidden: int, mul_form: bool = False) -> str:
    mean = g.op("ReduceMean", [x], axes=[-1])
    d = g.op("Sub", [x, mean])
    sq = g.op("Mul", [d, d]) if mul_form else g.op("Pow", [d, g.const(np.array(2.0, np.float32))])
    var = g.op("ReduceMean", [sq], axes=[-1])
    std = g.op("Sqrt", [g.op("Add", [var, g.const(np.array(1e-5, np.float32))])])
    y = g.op("Mul", [g.op("Div", [d, std]), g.const((1 + 0.1 * g.rng.standard_normal(hidden)).astype(np.float32))])
    return g.op("Add", [y, g.const((0.1 * g.rng.standard_normal(hidden)).astype(np.float32))])


def _transformer(name: str, opset: int, gelu: str):
    hidden, heads, ffn = 16, 2, 32
    g = G(name)
    x = "x"
    h = _layer_norm(g, x, hidden)
    shape = g.op("Shape", [h])
    ax0 = g.const(np.array([0], np.int64))
    b = g.op("Unsqueeze", [g.op("Gather", [shape, g.const(np.array(0, np.int64))], axis=0), ax0])
    s = g.op("Unsqueeze", [g.op("Gather", [shape, g.const(np.array(1, np.int64))], axis=0), ax0])

    def heads_of(t):
        shp = g.op("Concat", [b, s, g.const(np.array([heads, hidden // heads], np.int64))], axis=0)
        return g.op("Transpose", [g.op("Reshape", [t, shp])], perm=[0, 2, 1, 3])

    def linear(t, k, n):
        return g.op("Add", [g.op("MatMul", [t, g.w(k, n)]), g.w(n)])

    q, k, v = (heads_of(linear(h, hidden, hidden)) for _ in range(3))
    att = g.op("Div", [g.op("MatMul", [q, g.op("Transpose", [k], perm=[0, 1, 3, 2])]),
                       g.const(np.array((hidden // heads) ** 0.5, np.float32))])
    ctx = g.op("Transpose", [g.op("MatMul", [g.op("Softmax", [att], axis=-1), v])], perm=[0, 2, 1, 3])
    ctx = g.op("Reshape", [ctx, g.op("Concat", [b, s, g.const(np.array([hidden], np.int64))], axis=0)])
    x = g.op("Add", [x, linear(ctx, hidden, hidden)])
    f = linear(_layer_norm(g, x, hidden, mul_form=True), hidden, ffn)
    if gelu == "erf":
        erf = g.op("Erf", [g.op("Div", [f, g.const(np.array(1.4142135, np.float32))])])
        act = g.op("Mul", [g.op("Mul", [f, g.op("Add", [erf, g.const(np.array(1.0, np.float32))])]),
                           g.const(np.array(0.5, np.float32))])
    elif gelu == "tanh":
        cube = g.op("Pow", [f, g.const(np.array(3.0, np.float32))])
        inner = g.op("Add", [f, g.op("Mul", [cube, g.const(np.array(0.044715, np.float32))])])
        th = g.op("Tanh", [g.op("Mul", [inner, g.const(np.array(0.7978846, np.float32))])])
        act = g.op("Mul", [g.op("Mul", [g.const(np.array(0.5, np.float32)), f]),
                           g.op("Add", [g.const(np.array(1.0, np.float32)), th])])
    else:  # swish
        act = g.op("Mul", [f, g.op("Sigmoid", [f])])
    x = g.op("Add", [x, linear(act, ffn, hidden)])
    graph = g.graph(
        name,
        [helper.make_tensor_value_info("x", F, ["batch", "seq", hidden])],
        [helper.make_tensor_value_info(x, F, ["batch", "seq", hidden])],
    )
    rng = rng_for(name + "/feeds")
    feeds = [{"x": rng.standard_normal(s).astype(np.float32)} for s in ([1, 7, hidden], [3, 5, hidden])]
    return make_model(graph, opsets(opset)), feeds


@register
def transformer_erf_gelu_opset13(_workdir=None):
    """A pre-LN encoder layer as exporters write it at opset 13: decomposed LayerNorm (Pow and Mul
    forms), Shape/Gather/Unsqueeze/Concat/Reshape head splits with symbolic batch and seq, Erf Gelu."""
    return _transformer("transformer_erf_gelu_opset13", 13, "erf")


@register
def transformer_erf_gelu_opset17(_workdir=None):
    """The same layer at opset 17, where LayerNormalization is a standard op."""
    return _transformer("transformer_erf_gelu_opset17", 17, "erf")


@register
def transformer_tanh_gelu_opset14(_workdir=None):
    """The tanh approximation of Gelu (GPT-2 style)."""
    return _transformer("transformer_tanh_gelu_opset14", 14, "tanh")


@register
def transformer_swish_opset14(_workdir=None):
    """x * Sigmoid(x) (SiLU) in the FFN."""
    return _transformer("transformer_swish_opset14", 14, "swish")
