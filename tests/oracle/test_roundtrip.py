"""ONNX Runtime oracle for onnxqc's ONNX import/export on the self-made models of models.py.

For every model:
- ``onnxqc m.onnx -o out.onnx`` (empty pipeline) exits 0, the output passes
  ``onnx.checker.check_model(path, full_check=True)`` and ONNX Runtime gives bit-identical
  outputs to the original on the same inputs;
- the output proto keeps what the input said: nodes (names, op types, domains, inputs,
  outputs, doc strings, attributes in order, subgraphs recursively), initializer names and
  values (dense and sparse), graph inputs/outputs (names, types, doc strings), opset imports,
  ir_version, metadata_props, doc strings, model-local functions;
- ``--external-data=always`` (threshold 256) writes ``out.onnx.data`` and still round-trips
  (and threshold 1 on the models without shape-giving tensors, see SAFE_FOR_THRESHOLD_1);
- ``--emit=ir`` then re-importing the text (``onnxqc out.mlir -o back.onnx``), and
  ``--emit=ir --elide-resources`` then ``--weights m.onnx``, give bit-identical outputs.

Plus targeted external-data tests (threshold boundary, custom threshold, file name, auto,
never) on the MLP models.
"""

from __future__ import annotations

import shutil
import struct

import numpy as np
import onnx
import pytest
from onnx import AttributeProto, TensorProto, external_data_helper, numpy_helper

import models
from conftest import assert_same_outputs, check_model, describe, full_check_for, ort_run

NAMES = list(models.MODELS)
EXTERNAL_INPUT_MODELS = [n for n in NAMES if n.startswith("external_data")]
MAX_REPORTED_DIFFERENCES = 25


# --------------------------------------------------------------------------- helpers


def load(path, external: bool = True) -> onnx.ModelProto:
    return onnx.load(str(path), load_external_data=external)


def assert_ort_matches(original, exported, feed_sets, context: str) -> None:
    for i, feeds in enumerate(feed_sets):
        expected = ort_run(original, feeds)
        actual = ort_run(exported, feeds)
        assert_same_outputs(expected, actual, f"{context}, feed set {i}")


def roundtrip(onnxqc_ok, in_path, tmp_path, *extra_args, out_name="out.onnx"):
    out_dir = tmp_path / "out"
    out_dir.mkdir(exist_ok=True)
    out = out_dir / out_name
    onnxqc_ok([in_path, "-o", out, *extra_args])
    assert out.is_file(), f"onnxqc exited 0 but wrote no {out}"
    return out


def externally_stored(model: onnx.ModelProto) -> dict:
    """{initializer name: location} for the main-graph initializers stored externally."""
    found = {}
    for t in model.graph.initializer:
        if external_data_helper.uses_external_data(t):
            info = external_data_helper.ExternalDataInfo(t)
            found[t.name] = info.location
    return found


def tensor_nbytes(t: TensorProto) -> int:
    """Size of the tensor's data as it is stored (4-bit types packed two to a byte)."""
    count = int(np.prod(t.dims, dtype=np.int64)) if len(t.dims) else 1
    if t.data_type in (TensorProto.INT4, TensorProto.UINT4, TensorProto.FLOAT4E2M1):
        return (count + 1) // 2
    return count * onnx.helper.tensor_dtype_to_np_dtype(t.data_type).itemsize


def assert_locations_safe(model: onnx.ModelProto, expected_file: str) -> None:
    for name, location in externally_stored(model).items():
        assert location == expected_file, f"initializer {name!r}: location {location!r} != {expected_file!r}"


# --------------------------------------------------------------------------- proto comparison


class Diff:
    """Collects differences between the original and the exported model."""

    def __init__(self):
        self.items: list[str] = []

    def eq(self, where: str, a, b) -> None:
        if a != b:
            self.items.append(f"{where}: {a!r} != {b!r}")

    def add(self, message: str) -> None:
        self.items.append(message)

    def check(self) -> None:
        if self.items:
            shown = "\n  ".join(self.items[:MAX_REPORTED_DIFFERENCES])
            more = len(self.items) - MAX_REPORTED_DIFFERENCES
            tail = f"\n  ... and {more} more" if more > 0 else ""
            raise AssertionError(f"{len(self.items)} differences after the round trip:\n  {shown}{tail}")


def tensor_value(t: TensorProto):
    """(data_type, dims, comparable value) whatever the storage (raw_data or typed field)."""
    if t.data_type == TensorProto.STRING:
        value = list(t.string_data)
    else:
        value = numpy_helper.to_array(t).tobytes()
    return t.data_type, list(t.dims), value


def sparse_value(s: onnx.SparseTensorProto):
    """(data_type, dims, densified bytes): linearized [nnz] and coordinate [nnz, rank] indices
    compare equal when they describe the same tensor."""
    values = numpy_helper.to_array(s.values).reshape(-1)
    indices = numpy_helper.to_array(s.indices)
    if indices.ndim == 2:
        indices = np.ravel_multi_index(tuple(indices.T), tuple(s.dims))
    dense = np.zeros(int(np.prod(s.dims, dtype=np.int64)), values.dtype)
    dense[indices.reshape(-1)] = values
    return s.values.data_type, list(s.dims), dense.tobytes()


def compare_tensor(d: Diff, where: str, a: TensorProto, b: TensorProto) -> None:
    d.eq(f"{where}: name", a.name, b.name)
    d.eq(f"{where}: doc_string", a.doc_string, b.doc_string)
    ta, tb = tensor_value(a), tensor_value(b)
    d.eq(f"{where}: data_type", ta[0], tb[0])
    d.eq(f"{where}: dims", ta[1], tb[1])
    if ta[0] == tb[0] and ta[1] == tb[1] and ta[2] != tb[2]:
        d.add(f"{where}: values differ")


def float_bits(x: float) -> int:
    return struct.unpack("<I", struct.pack("<f", x))[0]


def compare_attribute(d: Diff, where: str, a: AttributeProto, b: AttributeProto) -> None:
    d.eq(f"{where}: name", a.name, b.name)
    d.eq(f"{where}: type", a.type, b.type)
    d.eq(f"{where}: ref_attr_name", a.ref_attr_name, b.ref_attr_name)
    d.eq(f"{where}: doc_string", a.doc_string, b.doc_string)
    if a.type != b.type or a.ref_attr_name:
        return
    t = a.type
    if t == AttributeProto.FLOAT:
        d.eq(f"{where}: f (bits)", float_bits(a.f), float_bits(b.f))
    elif t == AttributeProto.INT:
        d.eq(f"{where}: i", a.i, b.i)
    elif t == AttributeProto.STRING:
        d.eq(f"{where}: s", a.s, b.s)
    elif t == AttributeProto.FLOATS:
        d.eq(f"{where}: floats (bits)", [float_bits(x) for x in a.floats], [float_bits(x) for x in b.floats])
    elif t == AttributeProto.INTS:
        d.eq(f"{where}: ints", list(a.ints), list(b.ints))
    elif t == AttributeProto.STRINGS:
        d.eq(f"{where}: strings", list(a.strings), list(b.strings))
    elif t == AttributeProto.TENSOR:
        compare_tensor(d, f"{where}: t", a.t, b.t)
    elif t == AttributeProto.TENSORS:
        d.eq(f"{where}: tensor count", len(a.tensors), len(b.tensors))
        for i, (x, y) in enumerate(zip(a.tensors, b.tensors)):
            compare_tensor(d, f"{where}: tensors[{i}]", x, y)
    elif t == AttributeProto.SPARSE_TENSOR:
        d.eq(f"{where}: sparse_tensor", sparse_value(a.sparse_tensor), sparse_value(b.sparse_tensor))
    elif t == AttributeProto.GRAPH:
        compare_graph(d, f"{where}: g", a.g, b.g)
    elif t == AttributeProto.GRAPHS:
        d.eq(f"{where}: graph count", len(a.graphs), len(b.graphs))
        for i, (x, y) in enumerate(zip(a.graphs, b.graphs)):
            compare_graph(d, f"{where}: graphs[{i}]", x, y)
    elif t == AttributeProto.TYPE_PROTO:
        d.eq(f"{where}: tp", a.tp, b.tp)
    elif t == AttributeProto.TYPE_PROTOS:
        d.eq(f"{where}: type_protos", list(a.type_protos), list(b.type_protos))
    else:
        d.eq(f"{where}: value", a, b)


def compare_node(d: Diff, where: str, a: onnx.NodeProto, b: onnx.NodeProto) -> None:
    d.eq(f"{where}: name", a.name, b.name)
    d.eq(f"{where}: op_type", a.op_type, b.op_type)
    d.eq(f"{where}: domain", a.domain, b.domain)
    d.eq(f"{where}: overload", a.overload, b.overload)
    d.eq(f"{where}: inputs", list(a.input), list(b.input))
    d.eq(f"{where}: outputs", list(a.output), list(b.output))
    d.eq(f"{where}: doc_string", a.doc_string, b.doc_string)
    d.eq(f"{where}: attribute names (in order)", [x.name for x in a.attribute], [x.name for x in b.attribute])
    if [x.name for x in a.attribute] == [x.name for x in b.attribute]:
        for x, y in zip(a.attribute, b.attribute):
            compare_attribute(d, f"{where}: attribute {x.name!r}", x, y)


def compare_value_infos(d: Diff, where: str, a, b) -> None:
    d.eq(f"{where} names", [v.name for v in a], [v.name for v in b])
    if [v.name for v in a] != [v.name for v in b]:
        return
    for x, y in zip(a, b):
        if x.type != y.type:
            d.add(f"{where} {x.name!r}: type {onnx.helper.printable_type(x.type)} "
                  f"!= {onnx.helper.printable_type(y.type)}")
        d.eq(f"{where} {x.name!r}: doc_string", x.doc_string, y.doc_string)


def compare_graph(d: Diff, where: str, a: onnx.GraphProto, b: onnx.GraphProto) -> None:
    d.eq(f"{where}: doc_string", a.doc_string, b.doc_string)
    compare_value_infos(d, f"{where}: input", a.input, b.input)
    compare_value_infos(d, f"{where}: output", a.output, b.output)

    na, nb = list(a.node), list(b.node)
    d.eq(f"{where}: node (name, op_type) list",
         [(n.name, n.op_type) for n in na], [(n.name, n.op_type) for n in nb])
    if len(na) == len(nb):
        for i, (x, y) in enumerate(zip(na, nb)):
            compare_node(d, f"{where}: node #{i} {x.name or x.op_type!r}", x, y)

    ia = {t.name: t for t in a.initializer}
    ib = {t.name: t for t in b.initializer}
    d.eq(f"{where}: initializer names", sorted(ia), sorted(ib))
    for name in sorted(set(ia) & set(ib)):
        compare_tensor(d, f"{where}: initializer {name!r}", ia[name], ib[name])

    sa = {s.values.name: s for s in a.sparse_initializer}
    sb = {s.values.name: s for s in b.sparse_initializer}
    d.eq(f"{where}: sparse initializer names", sorted(sa), sorted(sb))
    for name in sorted(set(sa) & set(sb)):
        d.eq(f"{where}: sparse initializer {name!r}", sparse_value(sa[name]), sparse_value(sb[name]))


def opset_map(opsets) -> dict:
    return {o.domain: o.version for o in opsets}


def compare_function(d: Diff, where: str, a: onnx.FunctionProto, b: onnx.FunctionProto) -> None:
    d.eq(f"{where}: inputs", list(a.input), list(b.input))
    d.eq(f"{where}: outputs", list(a.output), list(b.output))
    d.eq(f"{where}: attributes", list(a.attribute), list(b.attribute))
    d.eq(f"{where}: attribute_proto names", [x.name for x in a.attribute_proto], [x.name for x in b.attribute_proto])
    for x, y in zip(a.attribute_proto, b.attribute_proto):
        compare_attribute(d, f"{where}: attribute_proto {x.name!r}", x, y)
    d.eq(f"{where}: opset_import", opset_map(a.opset_import), opset_map(b.opset_import))
    d.eq(f"{where}: doc_string", a.doc_string, b.doc_string)
    d.eq(f"{where}: node (name, op_type) list",
         [(n.name, n.op_type) for n in a.node], [(n.name, n.op_type) for n in b.node])
    if len(a.node) == len(b.node):
        for i, (x, y) in enumerate(zip(a.node, b.node)):
            compare_node(d, f"{where}: node #{i} {x.name or x.op_type!r}", x, y)


def compare_models(a: onnx.ModelProto, b: onnx.ModelProto) -> None:
    d = Diff()
    d.eq("ir_version", a.ir_version, b.ir_version)
    d.eq("opset_import", opset_map(a.opset_import), opset_map(b.opset_import))
    d.eq("doc_string", a.doc_string, b.doc_string)
    d.eq("metadata_props", {p.key: p.value for p in a.metadata_props}, {p.key: p.value for p in b.metadata_props})
    d.eq("metadata_props count", len(a.metadata_props), len(b.metadata_props))
    compare_graph(d, "graph", a.graph, b.graph)
    fa = {(f.domain, f.name, f.overload): f for f in a.functions}
    fb = {(f.domain, f.name, f.overload): f for f in b.functions}
    d.eq("functions", sorted(fa), sorted(fb))
    for key in sorted(set(fa) & set(fb)):
        compare_function(d, f"function {key[0]}.{key[1]}", fa[key], fb[key])
    d.check()


# --------------------------------------------------------------------------- per-model tests


@pytest.mark.parametrize("name", NAMES)
def test_roundtrip_ort_bit_identical(name, model_file, onnxqc_ok, tmp_path):
    in_path, feed_sets = model_file(name)
    out = roundtrip(onnxqc_ok, in_path, tmp_path)
    check_model(out, full_check=full_check_for(name))
    assert_ort_matches(in_path, out, feed_sets, name)


@pytest.mark.parametrize("name", NAMES)
def test_roundtrip_preserves_proto(name, model_file, onnxqc_ok, tmp_path):
    in_path, _ = model_file(name)
    out = roundtrip(onnxqc_ok, in_path, tmp_path)
    compare_models(load(in_path), load(out))


@pytest.mark.parametrize("name", NAMES)
def test_external_data_always(name, model_file, onnxqc_ok, tmp_path):
    in_path, feed_sets = model_file(name)
    # Threshold 256, not 0: ONNX Runtime cannot read small shape tensors (Slice starts, Reshape shape)
    # from external data during its shape inference, whoever wrote the file (onnx's own
    # convert_model_to_external_data with size_threshold=0 fails the same way).
    out = roundtrip(onnxqc_ok, in_path, tmp_path, "--external-data=always", "--external-data-threshold=256")
    original = load(in_path)
    m = load(out, external=False)
    stored = externally_stored(m)
    expected_external = {
        t.name for t in original.graph.initializer if t.data_type != TensorProto.STRING and tensor_nbytes(t) >= 256
    }
    if expected_external:
        assert (out.parent / "out.onnx.data").is_file(), "--external-data=always wrote no out.onnx.data"
    missing = expected_external - set(stored)
    assert not missing, f"initializers kept inline despite --external-data=always and threshold 256: {sorted(missing)}"
    strings = {t.name for t in original.graph.initializer if t.data_type == TensorProto.STRING}
    assert not (strings & set(stored)), f"string tensors cannot be stored externally: {sorted(strings & set(stored))}"
    assert_locations_safe(m, "out.onnx.data")
    check_model(out, full_check=full_check_for(name))
    assert_ort_matches(in_path, out, feed_sets, f"{name} (external data)")
    compare_models(original, load(out))


# Models with no initializer that ONNX Runtime must read during its shape inference (shapes,
# axes, pads, sizes...), so every tensor of them may go external.
SAFE_FOR_THRESHOLD_1 = ["int4_uint4_initializers", "float16_bfloat16_initializers", "special_float_values",
                        "mlp_mixed_sizes", "if_outer_scope_nested", "com_microsoft_fusedmatmul_gelu"]


@pytest.mark.parametrize("name", SAFE_FOR_THRESHOLD_1)
def test_external_data_every_tensor(name, model_file, onnxqc_ok, tmp_path):
    """Threshold 1: every non-empty, non-string main-graph initializer goes external,
    including 4-bit, float16, bfloat16, NaN-payload and scalar tensors."""
    in_path, feed_sets = model_file(name)
    out = roundtrip(onnxqc_ok, in_path, tmp_path, "--external-data=always", "--external-data-threshold=1")
    original = load(in_path)
    m = load(out, external=False)
    expected = {t.name for t in original.graph.initializer if t.data_type != TensorProto.STRING and tensor_nbytes(t) > 0}
    assert expected, f"{name} has no initializer to store externally"
    assert set(externally_stored(m)) == expected
    assert_locations_safe(m, "out.onnx.data")
    check_model(out, full_check=full_check_for(name))
    assert_ort_matches(in_path, out, feed_sets, f"{name} (threshold 1)")
    compare_models(original, load(out))


@pytest.mark.parametrize("name", NAMES)
def test_emit_ir_and_reimport(name, model_file, onnxqc_ok, tmp_path):
    """--emit=ir keeps every constant in the text (resource section), so the text alone is
    enough: the input model is deleted before re-importing."""
    in_path, feed_sets = model_file(name)
    keep = tmp_path / "keep"
    shutil.copytree(in_path.parent, keep)
    mlir = tmp_path / "ir" / "out.mlir"
    mlir.parent.mkdir()
    onnxqc_ok([in_path, "--emit=ir", "-o", mlir])
    assert mlir.is_file() and mlir.stat().st_size > 0
    shutil.rmtree(in_path.parent)
    back = tmp_path / "back" / "back.onnx"
    back.parent.mkdir()
    onnxqc_ok([mlir, "-o", back])
    check_model(back, full_check=full_check_for(name))
    assert_ort_matches(keep / in_path.name, back, feed_sets, f"{name} (via text IR)")


@pytest.mark.parametrize("name", NAMES)
def test_emit_ir_elided_then_weights(name, model_file, onnxqc_ok, tmp_path):
    in_path, feed_sets = model_file(name)
    mlir = tmp_path / "ir" / "out.mlir"
    mlir.parent.mkdir()
    onnxqc_ok([in_path, "--emit=ir", "--elide-resources", "-o", mlir])
    back = tmp_path / "back" / "back.onnx"
    back.parent.mkdir()
    onnxqc_ok([mlir, "--weights", in_path, "-o", back])
    check_model(back, full_check=full_check_for(name))
    assert_ort_matches(in_path, back, feed_sets, f"{name} (via elided text IR + --weights)")


# --------------------------------------------------------------------------- external data, targeted


def test_elided_text_is_smaller_and_not_self_contained(model_file, onnxqc_ok, run_onnxqc, tmp_path):
    """The MLP's 8 KiB W1 goes to the resource section; --elide-resources leaves its bytes out,
    and the elided text cannot be turned back into ONNX without --weights (a user error)."""
    in_path, _ = model_file("mlp_mixed_sizes")
    full, elided = tmp_path / "full.mlir", tmp_path / "elided.mlir"
    onnxqc_ok([in_path, "--emit=ir", "-o", full])
    onnxqc_ok([in_path, "--emit=ir", "--elide-resources", "-o", elided])
    full_text, elided_text = full.read_text(), elided.read_text()
    assert "dense_resource<" in full_text and "dialect_resources" in full_text
    assert "dense_resource<" in elided_text
    assert len(elided_text) < len(full_text) - 8192, "elided text still carries the 8 KiB W1"
    proc = run_onnxqc([elided, "-o", tmp_path / "back.onnx"])
    assert proc.returncode == 1, "re-importing elided text without --weights must be a user error\n" + describe(proc)
    assert not (tmp_path / "back.onnx").exists()


def test_external_data_default_threshold_boundary(model_file, onnxqc_ok, tmp_path):
    """Default threshold 1024: W1 (8192 B) and W2 (exactly 1024 B) go external; b1 (512 B)
    and b2 (8 B) stay inline."""
    in_path, feed_sets = model_file("mlp_mixed_sizes")
    out = roundtrip(onnxqc_ok, in_path, tmp_path, "--external-data=always")
    m = load(out, external=False)
    sizes = {t.name: tensor_nbytes(t) for t in m.graph.initializer}
    assert sizes == models.MLP_INIT_BYTES
    assert set(externally_stored(m)) == {"W1", "W2"}
    assert (out.parent / "out.onnx.data").is_file()
    assert_locations_safe(m, "out.onnx.data")
    check_model(out)
    assert_ort_matches(in_path, out, feed_sets, "threshold 1024")


@pytest.mark.parametrize(
    "threshold, expected",
    [("4096", {"W1"}), ("8192", {"W1"}), ("8193", set()), ("512", {"W1", "W2", "b1"}), ("1", {"W1", "W2", "b1", "b2"})],
)
def test_external_data_custom_threshold(threshold, expected, model_file, onnxqc_ok, tmp_path):
    in_path, feed_sets = model_file("mlp_mixed_sizes")
    out = roundtrip(onnxqc_ok, in_path, tmp_path, "--external-data=always", f"--external-data-threshold={threshold}")
    m = load(out, external=False)
    assert set(externally_stored(m)) == expected
    if expected:
        assert (out.parent / "out.onnx.data").is_file()
    check_model(out)
    assert_ort_matches(in_path, out, feed_sets, f"threshold {threshold}")


def test_external_data_file_name(model_file, onnxqc_ok, tmp_path):
    in_path, feed_sets = model_file("mlp_mixed_sizes")
    out = roundtrip(onnxqc_ok, in_path, tmp_path, "--external-data=always", "--external-data-file", "weights.bin")
    assert (out.parent / "weights.bin").is_file()
    assert not (out.parent / "out.onnx.data").exists()
    m = load(out, external=False)
    assert set(externally_stored(m)) == {"W1", "W2"}
    assert_locations_safe(m, "weights.bin")
    check_model(out)
    assert_ort_matches(in_path, out, feed_sets, "--external-data-file")


@pytest.mark.parametrize("name", EXTERNAL_INPUT_MODELS)
def test_external_data_auto_keeps_external(name, model_file, onnxqc_ok, tmp_path):
    """auto (the default) keeps external data when the input had it. The output must not
    depend on the input's files: they are deleted before the output is checked and run."""
    in_path, feed_sets = model_file(name)
    keep = tmp_path / "keep"
    shutil.copytree(in_path.parent, keep)
    out = roundtrip(onnxqc_ok, in_path, tmp_path)
    shutil.rmtree(in_path.parent)
    assert (out.parent / "out.onnx.data").is_file(), "auto dropped the input's external data"
    m = load(out, external=False)
    assert {"W1", "W2"} <= set(externally_stored(m))
    assert_locations_safe(m, "out.onnx.data")
    check_model(out)
    assert_ort_matches(keep / in_path.name, out, feed_sets, f"{name} (auto)")
    compare_models(load(keep / in_path.name), load(out))


def test_external_data_auto_inline_input_stays_inline(model_file, onnxqc_ok, tmp_path):
    in_path, feed_sets = model_file("mlp_mixed_sizes")
    out = roundtrip(onnxqc_ok, in_path, tmp_path, "--external-data=auto")
    assert not externally_stored(load(out, external=False))
    assert sorted(p.name for p in out.parent.iterdir()) == ["out.onnx"], "auto wrote extra files for an inline model"
    assert_ort_matches(in_path, out, feed_sets, "auto, inline input")


@pytest.mark.parametrize("name", EXTERNAL_INPUT_MODELS)
def test_external_data_never_inlines(name, model_file, onnxqc_ok, tmp_path):
    in_path, feed_sets = model_file(name)
    out = roundtrip(onnxqc_ok, in_path, tmp_path, "--external-data=never")
    assert not externally_stored(load(out, external=False))
    assert sorted(p.name for p in out.parent.iterdir()) == ["out.onnx"], "--external-data=never wrote extra files"
    check_model(out)
    assert_ort_matches(in_path, out, feed_sets, f"{name} (never)")
    compare_models(load(in_path), load(out))


def test_export_is_deterministic(model_file, onnxqc_ok, tmp_path):
    """Two exports of the same model give the same bytes, and re-exporting an export keeps it."""
    in_path, _ = model_file("metadata_docs_names")
    first = roundtrip(onnxqc_ok, in_path, tmp_path, out_name="first.onnx")
    second = roundtrip(onnxqc_ok, first, tmp_path, out_name="second.onnx")
    third = roundtrip(onnxqc_ok, first, tmp_path, out_name="third.onnx")
    assert second.read_bytes() == third.read_bytes(), "two exports of the same model differ"
    compare_models(load(first), load(second))
