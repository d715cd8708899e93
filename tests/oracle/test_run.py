"""``onnxqc run``'s file formats end to end, against numpy itself.

A model that passes its inputs straight through (so no kernel is involved) is fed numpy's
Fortran-order, big-endian, version-2 and bfloat16 ``.npy`` files, compressed archives and ONNX
test-data-set folders; numpy reads every output back unchanged, byte for byte what ``np.save``
writes. Bad inputs exit 1 with a message naming the problem and write nothing.

(The outputs of real models against ONNX Runtime are test_runtime.py's.)
"""

from __future__ import annotations

import io

import ml_dtypes
import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from conftest import describe


def parse_summary(stdout: str) -> dict:
    """{output name: written file} from onnxqc run's 'NAME  DTYPE[SHAPE]  stats  -> FILE' lines."""
    outputs = {}
    for line in stdout.splitlines():
        head, _, path = line.rpartition("  -> ")
        assert head, f"unexpected output line {line!r}"
        outputs[head.split("  ")[0]] = path
    return outputs


# --------------------------------------------------------------------------- file formats


def passthrough_model(path, inputs) -> None:
    """A model whose outputs are its inputs: [(name, TensorProto type, shape)]."""
    vis = [helper.make_tensor_value_info(n, t, s) for n, t, s in inputs]
    g = helper.make_graph([], "passthrough", vis, vis)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
    onnx.checker.check_model(m)
    onnx.save(m, str(path))


def test_numpy_layouts_go_in_and_come_back_unchanged(onnxqc_ok, tmp_path):
    model = tmp_path / "m.onnx"
    passthrough_model(model, [
        ("f", TensorProto.FLOAT, [2, 3, 4]),
        ("be", TensorProto.INT32, [3]),
        ("v2", TensorProto.DOUBLE, []),
        ("bf", TensorProto.BFLOAT16, [2]),
        ("h", TensorProto.FLOAT16, [2, 2]),
        ("b", TensorProto.BOOL, [3]),
    ])
    values = {
        "f": np.asfortranarray(np.arange(24, dtype=np.float32).reshape(2, 3, 4) - 7.5),
        "be": np.array([1, -2, 300000], dtype=">i4"),
        "v2": np.array(-0.125),
        "bf": np.array([1.5, -3.0], dtype=ml_dtypes.bfloat16),
        "h": np.array([[0.5, -1], [65504, np.nan]], np.float16),
        "b": np.array([True, False, True]),
    }
    args = ["run", model, "--output-dir", tmp_path / "out"]
    for name, a in values.items():
        f = tmp_path / f"{name}.npy"
        if name == "v2":
            with open(f, "wb") as fh:
                np.lib.format.write_array(fh, a, version=(2, 0))
        else:
            np.save(f, a)
        args += ["--input", f"{name}={f}"]
    proc = onnxqc_ok(args)
    written = parse_summary(proc.stdout)
    assert list(written) == list(values)
    for name, a in values.items():
        got = np.load(written[name])
        want = a.astype(a.dtype.newbyteorder("<"), order="C")
        if name == "bf":
            assert got.dtype == np.dtype("<V2")
            got = got.view(ml_dtypes.bfloat16)
        assert got.dtype == want.dtype and got.shape == want.shape, name
        assert got.tobytes() == want.tobytes(), name
        # Our bytes are np.save's bytes.
        with open(written[name], "rb") as fh:
            ours = fh.read()
        assert ours[:6] == b"\x93NUMPY"
        if name != "bf":
            buf = io.BytesIO()
            np.save(buf, want)
            assert ours == buf.getvalue(), f"{name}: our .npy differs from np.save's"
    assert "h  f16[2, 2]  min=-1.0 max=65504.0 mean=21834.5 nan=1  -> " in proc.stdout


def test_compressed_archive_and_test_data_set_folder(onnxqc_ok, tmp_path):
    model = tmp_path / "m.onnx"
    passthrough_model(model, [("x", TensorProto.FLOAT, ["N", 2]), ("ids", TensorProto.INT64, [2])])
    x = np.random.default_rng(0).standard_normal((50, 2)).astype(np.float32)
    ids = np.array([7, -1])
    np.savez_compressed(tmp_path / "feeds.npz", x=x, ids=ids)
    proc = onnxqc_ok(["run", model, "--inputs", tmp_path / "feeds.npz", "--output-dir", tmp_path / "a"])
    written = parse_summary(proc.stdout)
    np.testing.assert_array_equal(np.load(written["x"]), x)
    np.testing.assert_array_equal(np.load(written["ids"]), ids)

    # ONNX's test data set layout: input_N.pb (the first one unnamed), expected output_N.pb.
    tds = tmp_path / "test_data_set_0"
    tds.mkdir()
    unnamed = numpy_helper.from_array(x)
    (tds / "input_0.pb").write_bytes(unnamed.SerializeToString())
    (tds / "input_1.pb").write_bytes(numpy_helper.from_array(ids, "ids").SerializeToString())
    (tds / "output_0.pb").write_bytes(numpy_helper.from_array(x, "x").SerializeToString())
    proc = onnxqc_ok(["run", model, "--inputs", tds, "--output-dir", tmp_path / "b"])
    written = parse_summary(proc.stdout)
    np.testing.assert_array_equal(np.load(written["x"]), x)
    np.testing.assert_array_equal(np.load(written["ids"]), ids)


def test_bad_inputs_exit_1_naming_the_problem(run_onnxqc, tmp_path):
    model = tmp_path / "m.onnx"
    passthrough_model(model, [("x", TensorProto.FLOAT, [2, 3])])
    np.save(tmp_path / "f64.npy", np.zeros((2, 3)))
    np.save(tmp_path / "obj.npy", np.array([1, None], dtype=object), allow_pickle=True)
    cases = [
        (["--input", tmp_path / "f64.npy"], "input 'x' expects a f32 tensor of shape [2, 3], got a f64"),
        (["--input", tmp_path / "obj.npy"], "unsupported dtype '|O'"),
        (["--input", tmp_path / "none.npy"], "cannot read"),
        (["--input", f"y={tmp_path / 'f64.npy'}"], "the model has no input named 'y'"),
        ([], "no value for the model's input 'x' (f32[2, 3])"),
    ]
    for args, want in cases:
        proc = run_onnxqc(["run", model, "--output-dir", tmp_path / "out", *args])
        assert proc.returncode == 1, describe(proc)
        assert want in proc.stderr, describe(proc)
        assert "panicked" not in proc.stderr
    assert not (tmp_path / "out").exists(), "no output is written when the run fails"
