"""Writes the numpy-made fixtures that runtime/tests/npy_fixtures.rs reads.

Run from the repository root: .venv/bin/python runtime/tests/data/make_npy_fixtures.py
The files are committed; rerun only to add cases. Values are fixed formulas, so the Rust test
knows what to expect without numpy.
"""

import pathlib

import ml_dtypes
import numpy as np

OUT = pathlib.Path(__file__).resolve().parent / "npy"
OUT.mkdir(exist_ok=True)

# The base values: 2x3, negative, fractional and whole. Unsigned and bool types take abs / != 0.
BASE = np.array([[-3.0, -1.5, 0.0], [1.0, 2.5, 100.0]])


def values(dtype):
    if np.dtype(dtype).kind == "u":
        return np.abs(BASE).astype(dtype)
    if np.dtype(dtype).kind == "b":
        return BASE != 0
    return BASE.astype(dtype)


for code in ["f2", "f4", "f8", "i1", "i2", "i4", "i8", "u1", "u2", "u4", "u8", "b1"]:
    np.save(OUT / f"{code}.npy", values(code))

# Byte order, memory order, rank 0 and 1, empty, old and new format versions, bfloat16.
np.save(OUT / "be_i4.npy", values(">i4"))
np.save(OUT / "be_f8.npy", values(">f8"))
cube = np.arange(24, dtype=np.float32).reshape(2, 3, 4) * 0.5 - 3
np.save(OUT / "c_f4_3d.npy", cube)
np.save(OUT / "fortran_f4_3d.npy", np.asfortranarray(cube))
assert np.load(OUT / "fortran_f4_3d.npy").flags.f_contiguous
np.save(OUT / "scalar_f8.npy", np.float64(-0.25))
np.save(OUT / "vec_i8.npy", np.arange(5, dtype=np.int64) - 2)
np.save(OUT / "empty_f4.npy", np.zeros((0, 3), np.float32))
for version in [(2, 0), (3, 0)]:
    with open(OUT / f"v{version[0]}_f4.npy", "wb") as f:
        np.lib.format.write_array(f, values("f4"), version=version)
np.save(OUT / "bf16.npy", values(ml_dtypes.bfloat16))

# Things the runtime cannot hold.
np.save(OUT / "object.npy", np.array([1, "a", None], dtype=object), allow_pickle=True)
np.save(OUT / "strings.npy", np.array(["ab", "c"]))
np.save(OUT / "complex.npy", np.array([1 + 2j], np.complex64))

# Archives: stored (np.savez) and deflated (np.savez_compressed), same arrays in the same order.
arrays = {"x": values("f4"), "idx": np.arange(5, dtype=np.int64) - 2, "mask": values("b1")}
arrays["big"] = np.tile(np.arange(100, dtype=np.float32), 20)  # compresses, so deflate really runs
np.savez(OUT / "stored.npz", **arrays)
np.savez_compressed(OUT / "deflated.npz", **arrays)
