"""Oracle for the `dynamic` pass: onnxqc's dynamically quantized model matches ONNX Runtime's
``quantize_dynamic`` on the same model and settings.

For each model and setting: the output passes ``onnx.checker`` (full check) and runs in ONNX Runtime;
every weight parameter ONNX Runtime writes (``{w}_scale``, ``{w}_zero_point``, ``{w}_quantized``) exists
in onnxqc's output with the same value (scales within 1e-6 relative, integers exactly); both outputs
have the same ops (by type and count); onnxqc's output is at least as close to the float model
(cosine, minus 0.001).

Models: the self-made ones of ``qdq_models.py`` and ``preprocess_models.py``, one with an embedding
table (Gather → Transpose → MatMul, a MatMul of two activations, a Conv with bias), and the three
PaddleOCR models (weights as initializers, as ONNX Runtime quantizes only those).
"""

from __future__ import annotations

import collections
import pathlib

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper
from onnxruntime.quantization import QuantType, quantize_dynamic

from conftest import check_model, ort_run
from test_qdq import (
    assert_same_params,
    constants_to_initializers,
    cosine,
    materialize,
    ocr_samples,
    quant_session,
    self_made,
)

SETTINGS = {
    "s8": ({}, "", dict(weight_type=QuantType.QInt8)),
    "s8-per-channel": ({}, "per-channel=true", dict(weight_type=QuantType.QInt8, per_channel=True)),
    "u8": ({}, "weight-type=u8", dict(weight_type=QuantType.QUInt8)),
    "u8-per-channel": ({}, "weight-type=u8,per-channel=true", dict(weight_type=QuantType.QUInt8, per_channel=True)),
    "u8-reduce-range": ({}, "weight-type=u8,reduce-range=true", dict(weight_type=QuantType.QUInt8, reduce_range=True)),
    "s8-any-b-asymmetric": (
        {"MatMulConstBOnly": False, "WeightSymmetric": False},
        "matmul-const-b-only=false,weight-symmetric=false",
        dict(weight_type=QuantType.QInt8),
    ),
}


def embedding_model():
    """ids → Gather(table) → Transpose → Transpose → MatMul(W); the Gather output is also a graph
    output; a MatMul of two activations; an image through Conv(bias) → Relu."""
    rng = np.random.default_rng(7)
    init = [
        numpy_helper.from_array(rng.standard_normal((50, 16)).astype(np.float32), "table"),
        numpy_helper.from_array(rng.standard_normal((16, 8)).astype(np.float32) * 0.2, "W"),
        numpy_helper.from_array(rng.standard_normal((4, 3, 3, 3)).astype(np.float32) * 0.3, "CW"),
        numpy_helper.from_array(rng.standard_normal(4).astype(np.float32), "CB"),
    ]
    nodes = [
        helper.make_node("Gather", ["table", "ids"], ["emb"], name="embed"),
        helper.make_node("Transpose", ["emb"], ["embT"], name="t1", perm=[1, 0]),
        helper.make_node("Transpose", ["embT"], ["emb2"], name="t2", perm=[1, 0]),
        helper.make_node("MatMul", ["emb2", "W"], ["proj"], name="proj"),
        helper.make_node("MatMul", ["proj", "projT"], ["scores"], name="scores"),
        helper.make_node("Transpose", ["proj"], ["projT"], name="t3", perm=[1, 0]),
        helper.make_node("Conv", ["img", "CW", "CB"], ["conv"], name="conv", pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["conv"], ["act"], name="relu"),
    ]
    # Topological order: t3 before scores.
    nodes = nodes[:4] + [nodes[5], nodes[4]] + nodes[6:]
    graph = helper.make_graph(
        nodes,
        "embedding",
        [helper.make_tensor_value_info("ids", TensorProto.INT64, [6]),
         helper.make_tensor_value_info("img", TensorProto.FLOAT, [1, 3, 8, 8])],
        [helper.make_tensor_value_info("scores", TensorProto.FLOAT, [6, 6]),
         helper.make_tensor_value_info("emb", TensorProto.FLOAT, [6, 16]),
         helper.make_tensor_value_info("act", TensorProto.FLOAT, [1, 4, 8, 8])],
        init,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    feeds = [{"ids": rng.integers(0, 50, 6), "img": rng.standard_normal((1, 3, 8, 8)).astype(np.float32)} for _ in range(3)]
    return model, feeds


def models():
    yield "embedding", embedding_model
    yield from self_made()


def ops(path: pathlib.Path) -> collections.Counter:
    return collections.Counter(n.op_type for n in onnx.load(str(path)).graph.node)


def quantize_both(onnxqc_ok, model, tmp, setting, preset=False):
    extra, options, kwargs = SETTINGS[setting]
    theirs, ours = tmp / "ort.onnx", tmp / "onnxqc.onnx"
    quantize_dynamic(str(model), str(theirs), extra_options=dict(extra), **kwargs)
    passes = f"shape-infer,dynamic{{{options}}}" if options else "shape-infer,dynamic"
    onnxqc_ok([str(model), f"-passes={passes}", "-o", str(ours)])
    return theirs, ours


def compare(theirs, ours, model, feeds):
    check_model(ours)
    params = assert_same_params(theirs, ours)
    assert ops(ours) == ops(theirs), f"ops: ours {ops(ours)} vs ONNX Runtime {ops(theirs)}"
    so, st = quant_session(ours), quant_session(theirs)
    cos_o, cos_t = [], []
    for f in feeds:
        ref, o, t = ort_run(model, f), ort_run(so, f), ort_run(st, f)
        for k in ref:
            cos_o.append(cosine(ref[k], o[k]))
            cos_t.append(cosine(ref[k], t[k]))
    figures = {"ours": min(cos_o), "theirs": min(cos_t), "params": len(params)}
    assert figures["ours"] >= figures["theirs"] - 1e-3, figures
    return figures


@pytest.mark.parametrize("setting", sorted(SETTINGS))
@pytest.mark.parametrize("name", [n for n, _ in models()])
def test_dynamic_self_made(name, setting, onnxqc_ok, tmp_path):
    model, feeds = materialize(name, dict(models())[name], tmp_path)
    theirs, ours = quantize_both(onnxqc_ok, model, tmp_path, setting)
    compare(theirs, ours, model, feeds)


@pytest.mark.parametrize("setting", ["s8", "s8-per-channel", "u8"])
@pytest.mark.parametrize("kind", ["det", "cls", "rec"])
def test_dynamic_paddleocr(kind, setting, rapidocr_models, onnxqc_ok, tmp_path):
    model = constants_to_initializers(rapidocr_models[kind], tmp_path / f"{kind}.onnx")
    feeds = ocr_samples(kind, model, 2)
    theirs, ours = quantize_both(onnxqc_ok, model, tmp_path, setting)
    f = compare(theirs, ours, model, feeds)
    print(f"{kind} dynamic {setting}: cosine ours {f['ours']:.5f}, ONNX Runtime {f['theirs']:.5f}, "
          f"{f['params']} parameters equal")


def test_quantize_dynamic_preset(onnxqc_ok, run_onnxqc, tmp_path):
    """`onnxqc quantize dynamic` with ONNX Runtime's parameter names runs `shape-infer,dynamic{...}`
    (with --no-preprocess) and gives the same model as quantize_dynamic."""
    model, feeds = materialize("embedding", embedding_model, tmp_path)
    printed = onnxqc_ok(["quantize", "dynamic", str(model), "-o", str(tmp_path / "x.onnx"), "--print-pipeline"])
    assert printed.stdout.strip() == "preprocess,dynamic{weight-type=s8}"
    ours = tmp_path / "preset.onnx"
    proc = onnxqc_ok(["quantize", "dynamic", str(model), "-o", str(ours), "--no-preprocess", "--per-channel",
                      "--weight-type", "QUInt8", "--extra-option", "MatMulConstBOnly=False"])
    assert "quantized ops by type" in proc.stderr
    theirs = tmp_path / "ort.onnx"
    quantize_dynamic(str(model), str(theirs), per_channel=True, weight_type=QuantType.QUInt8,
                     extra_options={"MatMulConstBOnly": False})
    compare(theirs, ours, model, feeds)
    # With preprocess (the default) the model still matches the float one as well as ONNX Runtime's.
    default = tmp_path / "default.onnx"
    onnxqc_ok(["quantize", "dynamic", str(model), "-o", str(default)])
    check_model(default)


def test_quantize_dynamic_errors(run_onnxqc, tmp_path):
    model, _ = materialize("embedding", embedding_model, tmp_path)
    out = tmp_path / "q.onnx"
    for args, expected in [
        (["--weight-type", "QInt16"], "--weight-type"),
        (["--extra-option", "Nope=1"], "Nope: unknown option"),
        (["--extra-option", "EnableSubgraph=True"], "EnableSubgraph"),
    ]:
        proc = run_onnxqc(["quantize", "dynamic", str(model), "-o", str(out)] + args)
        assert proc.returncode != 0, (args, proc.stderr)
        assert expected in proc.stderr, (args, proc.stderr)
        assert not out.exists()
