"""Bad ONNX inputs must be user errors: onnxqc exits 1 (never 0, never 2 = panic), writes no
output file, and says on stderr what is wrong, naming the tensor or node concerned.

EXPECTED_STDERR below lists, per case, the substrings the (lowercased) stderr must contain;
an entry that is a tuple means "any one of these". Adjust the wording there. Paths of the
test's temporary directory are replaced by "<tmp>" in stderr before matching, so words in
pytest's directory names cannot satisfy a check by accident.
"""

from __future__ import annotations

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

import models
from conftest import describe

NOT_FOUND = ("no such file", "not found", "does not exist", "cannot open", "could not open", "missing")
NOT_PROTOBUF = ("protobuf", "not an onnx", "decode", "wire")
TRUNCATED = ("truncated", "protobuf", "unexpected end", "end of", "eof")
DTYPE = ("data type", "data_type", "dtype", "element type", "elem_type")
SIZE = ("size", "bytes")
ESCAPES = ("escapes", "outside")

# case -> substrings that must all occur in stderr (lowercased); a tuple = any one of them.
EXPECTED_STDERR: dict[str, tuple] = {
    "missing_file": ("nowhere.onnx", NOT_FOUND),
    "random_bytes": (NOT_PROTOBUF,),
    "text_file": (NOT_PROTOBUF,),
    "empty_file": (("empty", "graph"),),
    "truncated": (TRUNCATED,),
    "opset_9": ("opset", "9", ("re-export", "reexport")),
    "opset_9_ai_onnx_domain": ("opset", "9", ("re-export", "reexport")),
    "opset_7": ("opset", "7", ("re-export", "reexport")),
    "unknown_data_type": ("bad_dtype_w", DTYPE),
    "undefined_data_type": ("undefined_dtype_w", DTYPE),
    "raw_data_size_mismatch": ("short_raw_w", SIZE),
    "typed_data_count_mismatch": ("short_typed_w", SIZE + ("elements", "count")),
    "undefined_node_input": ("add_node", "ghost"),
    "cycle": ("cycle", ("n_a", "n_b")),
    "external_location_dotdot": ("w_dotdot", ESCAPES),
    "external_location_nested_dotdot": ("w_nested_dotdot", ESCAPES),
    "external_location_absolute": ("w_abspath", ESCAPES + ("absolute",)),
    "external_file_missing": (("w_absent", "absent_weights.bin"), NOT_FOUND),
    "external_offset_beyond_file": ("w_offset", SIZE + ("beyond", "exceed", "out of range", "outside")),
    "external_length_beyond_file": ("w_length", SIZE + ("beyond", "exceed", "out of range", "outside")),
    "external_length_not_tensor_size": ("w_short_len", SIZE),
}


# --------------------------------------------------------------------------- builders


def save(m: onnx.ModelProto, path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(m.SerializeToString())


def simple_model(extra_init: TensorProto | None = None, opset: int = 17, domain: str = "", ir: int | None = None):
    """x[4,4] + w -> y, with w given by the caller."""
    g = helper.make_graph(
        [helper.make_node("Add", ["x", extra_init.name], ["y"], name="add_w")],
        "bad", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [4, 4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [4, 4])],
        [extra_init],
    )
    m = helper.make_model(g, opset_imports=[helper.make_opsetid(domain, opset)])
    m.ir_version = ir if ir is not None else helper.find_min_ir_version_for(m.opset_import)
    return m


def weights_bytes() -> bytes:
    return np.arange(16, dtype=np.float32).tobytes()  # 64 bytes: one [4, 4] float tensor


def external_tensor(name: str, location: str, offset: int | None = None, length: int | None = None) -> TensorProto:
    t = TensorProto(name=name, data_type=TensorProto.FLOAT, dims=[4, 4])
    t.data_location = TensorProto.EXTERNAL
    entries = [("location", location)]
    if offset is not None:
        entries.append(("offset", str(offset)))
    if length is not None:
        entries.append(("length", str(length)))
    for key, value in entries:
        e = t.external_data.add()
        e.key, e.value = key, value
    return t


def case_missing_file(d):
    return d / "nowhere.onnx"


def case_random_bytes(d):
    data = np.random.default_rng(1).integers(0, 256, 512, dtype=np.uint8).tobytes()
    (d / "model.onnx").write_bytes(data)
    return d / "model.onnx"


def case_text_file(d):
    (d / "model.onnx").write_text("this is not an ONNX model, just text\n")
    return d / "model.onnx"


def case_empty_file(d):
    (d / "model.onnx").write_bytes(b"")
    return d / "model.onnx"


def case_opset(version: int, domain: str = ""):
    def build(d):
        g = helper.make_graph(
            [helper.make_node("Relu", ["x"], ["y"], name="relu")], "old",
            [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2])],
            [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2])],
        )
        m = helper.make_model(g, opset_imports=[helper.make_opsetid(domain, version)])
        m.ir_version = 4 if version >= 9 else 3
        save(m, d / "model.onnx")
        return d / "model.onnx"

    return build


def case_unknown_data_type(d):
    t = TensorProto(name="bad_dtype_w", data_type=99, dims=[4, 4], raw_data=weights_bytes())
    save(simple_model(t), d / "model.onnx")
    return d / "model.onnx"


def case_undefined_data_type(d):
    t = TensorProto(name="undefined_dtype_w", data_type=TensorProto.UNDEFINED, dims=[4, 4], raw_data=weights_bytes())
    save(simple_model(t), d / "model.onnx")
    return d / "model.onnx"


def case_raw_data_size_mismatch(d):
    t = TensorProto(name="short_raw_w", data_type=TensorProto.FLOAT, dims=[4, 4], raw_data=weights_bytes()[:60])
    save(simple_model(t), d / "model.onnx")
    return d / "model.onnx"


def case_typed_data_count_mismatch(d):
    t = helper.make_tensor("short_typed_w", TensorProto.FLOAT, [15], np.ones(15, np.float32).tolist())
    t.dims[:] = [4, 4]
    save(simple_model(t), d / "model.onnx")
    return d / "model.onnx"


def case_undefined_node_input(d):
    g = helper.make_graph(
        [helper.make_node("Add", ["x", "ghost"], ["y"], name="add_node")], "dangling",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2])],
    )
    save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)]), d / "model.onnx")
    return d / "model.onnx"


def case_cycle(d):
    g = helper.make_graph(
        [
            helper.make_node("Add", ["x", "b_out"], ["a_out"], name="n_a"),
            helper.make_node("Relu", ["a_out"], ["b_out"], name="n_b"),
        ],
        "cyclic",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2])],
        [helper.make_tensor_value_info("b_out", TensorProto.FLOAT, [2])],
    )
    save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)]), d / "model.onnx")
    return d / "model.onnx"


def external_case(name: str, location, offset=None, length=None, data_at=None, data=None):
    """A model in d/m/ with one external tensor; DATA_AT (relative to d) gets DATA (64 valid
    bytes by default) unless None. LOCATION may be a callable of d (for absolute paths)."""

    def build(d):
        model_dir = d / "m"
        model_dir.mkdir(parents=True, exist_ok=True)
        if data_at is not None:
            target = d / data_at
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(weights_bytes() if data is None else data)
        loc = location(d) if callable(location) else location
        save(simple_model(external_tensor(name, loc, offset, length)), model_dir / "model.onnx")
        return model_dir / "model.onnx"

    return build


CASES = {
    "missing_file": case_missing_file,
    "random_bytes": case_random_bytes,
    "text_file": case_text_file,
    "empty_file": case_empty_file,
    "opset_9": case_opset(9),
    "opset_9_ai_onnx_domain": case_opset(9, "ai.onnx"),
    "opset_7": case_opset(7),
    "unknown_data_type": case_unknown_data_type,
    "undefined_data_type": case_undefined_data_type,
    "raw_data_size_mismatch": case_raw_data_size_mismatch,
    "typed_data_count_mismatch": case_typed_data_count_mismatch,
    "undefined_node_input": case_undefined_node_input,
    "cycle": case_cycle,
    # The data file exists in each escape case: the location itself must be refused.
    "external_location_dotdot": external_case("w_dotdot", "../elsewhere.bin", data_at="elsewhere.bin"),
    "external_location_nested_dotdot": external_case(
        "w_nested_dotdot", "sub/../../elsewhere.bin", data_at="elsewhere.bin"
    ),
    "external_location_absolute": external_case(
        "w_abspath", lambda d: str(d / "m" / "abs_weights.bin"), data_at="m/abs_weights.bin"
    ),
    "external_file_missing": external_case("w_absent", "absent_weights.bin"),
    "external_offset_beyond_file": external_case("w_offset", "weights.bin", offset=32, data_at="m/weights.bin"),
    "external_length_beyond_file": external_case(
        "w_length", "weights.bin", offset=0, length=128, data_at="m/weights.bin"
    ),
    "external_length_not_tensor_size": external_case(
        "w_short_len", "weights.bin", offset=0, length=32, data_at="m/weights.bin"
    ),
}

# "truncated" is built by test_truncated_model_is_a_user_error (several prefix lengths).
assert set(CASES) | {"truncated"} == set(EXPECTED_STDERR), set(CASES) ^ set(EXPECTED_STDERR)


# --------------------------------------------------------------------------- checks


def assert_user_error(proc, case: str, tmp_path, out) -> None:
    assert proc.returncode == 1, f"{case}: expected exit 1 (user error)\n" + describe(proc)
    stderr = proc.stderr.replace(str(tmp_path), "<tmp>").lower()
    assert "panicked" not in stderr, f"{case}: onnxqc panicked\n" + describe(proc)
    assert stderr.strip(), f"{case}: no message on stderr"
    for expected in EXPECTED_STDERR[case]:
        options = expected if isinstance(expected, tuple) else (expected,)
        assert any(o in stderr for o in options), (
            f"{case}: stderr does not mention {' or '.join(repr(o) for o in options)}\n" + describe(proc)
        )
    assert not out.exists(), f"{case}: a failed run left {out.name} behind"
    leftovers = [p.name for p in out.parent.iterdir()] if out.parent.exists() else []
    assert not leftovers, f"{case}: a failed run left files in the output directory: {leftovers}"


@pytest.mark.parametrize("case", list(CASES))
def test_bad_input_is_a_user_error(case, run_onnxqc, tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    in_path = CASES[case](src)
    out = tmp_path / "out" / "out.onnx"
    out.parent.mkdir()
    proc = run_onnxqc([in_path, "-o", out])
    assert_user_error(proc, case, tmp_path, out)


@pytest.mark.parametrize("which", ["1", "10", "half", "len-1"])
def test_truncated_model_is_a_user_error(which, run_onnxqc, tmp_path):
    path, _ = models.materialize("metadata_docs_names", tmp_path / "whole")
    data = path.read_bytes()
    n = {"1": 1, "10": 10, "half": len(data) // 2, "len-1": len(data) - 1}[which]
    prefix = data[:n]
    with pytest.raises(Exception):  # precondition: really not a complete ModelProto
        onnx.ModelProto().ParseFromString(prefix)
    truncated = tmp_path / "src" / "model.onnx"
    truncated.parent.mkdir()
    truncated.write_bytes(prefix)
    out = tmp_path / "out" / "out.onnx"
    out.parent.mkdir()
    proc = run_onnxqc([truncated, "-o", out])
    assert_user_error(proc, "truncated", tmp_path, out)


@pytest.mark.parametrize("case", ["random_bytes", "text_file"])
def test_not_protobuf_precondition(case, tmp_path):
    """The 'not protobuf' inputs really are not parseable as a ModelProto."""
    path = CASES[case](tmp_path)
    with pytest.raises(Exception):
        onnx.ModelProto().ParseFromString(path.read_bytes())


def test_valid_twin_of_error_models_is_accepted(run_onnxqc, tmp_path):
    """The error models differ from a valid model only in the defect: the same model with a
    good inline initializer round-trips (so the error cases test the defect, not the frame)."""
    w = numpy_helper.from_array(np.arange(16, dtype=np.float32).reshape(4, 4), "good_w")
    path = tmp_path / "src" / "model.onnx"
    save(simple_model(w), path)
    onnx.checker.check_model(str(path), full_check=True)
    out = tmp_path / "out" / "out.onnx"
    out.parent.mkdir()
    proc = run_onnxqc([path, "-o", out])
    assert proc.returncode == 0, describe(proc)


def test_valid_twin_of_external_error_models_is_accepted(run_onnxqc, tmp_path):
    path = external_case("w_good", "weights.bin", offset=0, length=64, data_at="m/weights.bin")(tmp_path / "src")
    onnx.checker.check_model(str(path), full_check=True)
    out = tmp_path / "out" / "out.onnx"
    out.parent.mkdir()
    proc = run_onnxqc([path, "-o", out])
    assert proc.returncode == 0, describe(proc)
