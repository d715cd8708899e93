#!/usr/bin/env python
"""Oracle for onnxqc's quantization parameter math (dialects/quant/src/params.rs).

Prints, as one JSON object on stdout, what ONNX Runtime's quant_utils computes for seeded inputs:
- "ranges": compute_scale_zp(rmin, rmax, qmin, qmax, symmetric, min_real_range) with qmin/qmax from
  get_qmin_qmax_for_qType, for every storage type, reduce_range, symmetric, three minimum ranges and
  float32 / float16 ranges, over a few hundred ranges (tiny, huge, one-sided, degenerate);
- "data": quantize_data(data, qType, symmetric, reduce_range, min_real_range) on seeded weight arrays,
  with the quantized values;
- "float8": compute_data_quant_params for FLOAT8E4M3FN (the std-based scale) with the data's std.

Floats travel as bit patterns (float32 hex) so that the comparison in qparams_oracle.rs is exact.
Run by dialects/quant/tests/qparams_oracle.rs.
"""

import json

import numpy as np
from onnx import TensorProto
from onnxruntime.quantization.quant_utils import (
    compute_data_quant_params,
    compute_scale_zp,
    get_qmin_qmax_for_qType,
    quantize_data,
)

F32 = np.float32
TYPES = {
    "u8": TensorProto.UINT8,
    "i8": TensorProto.INT8,
    "u16": TensorProto.UINT16,
    "i16": TensorProto.INT16,
    "u4": TensorProto.UINT4,
    "i4": TensorProto.INT4,
}


def bits(x):
    return int(np.array(x, dtype=F32).reshape(()).view(np.uint32))


def f32_hex(a):
    return np.ascontiguousarray(a, dtype=F32).tobytes().hex()


def make_ranges(rng):
    out = [(0.0, 0.0), (0.0, 1.0), (-1.0, 0.0), (-1.0, 1.0), (-3.0, 1.0), (1.0, 1.0), (-2.0, -2.0),
           (1e-30, 2e-30), (-1e-38, 1e-38), (-1e-7, 3e-7), (0.5, 2.0), (-65504.0, 65504.0),
           (-3e38, 3e38), (2.5, 2.5), (-0.0, 0.0), (1e-5, 1e-4), (-6e-5, 6e-5)]
    for _ in range(240):
        kind = rng.integers(0, 4)
        mag = 10.0 ** rng.uniform(-9, 6)
        a, b = sorted(rng.uniform(-1, 1, 2) * mag)
        if kind == 1:
            a, b = abs(a), abs(b) + abs(a)
        elif kind == 2:
            a, b = -abs(b) - abs(a), -abs(a)
        out.append((float(F32(a)), float(F32(b))))
    return out


def ranges_cases(rng):
    cases = []
    for rmin, rmax in make_ranges(rng):
        for ty, qtype in TYPES.items():
            for reduce_range in (False, True):
                for symmetric in (False, True):
                    qmin, qmax = get_qmin_qmax_for_qType(qtype, reduce_range=reduce_range, symmetric=symmetric)
                    for mrr in (None, 1e-4, 1.0):
                        for fty in (np.float32, np.float16):
                            lo, hi = np.array(rmin, dtype=fty), np.array(rmax, dtype=fty)
                            if not (np.isfinite(lo) and np.isfinite(hi)):
                                continue
                            try:
                                zp, scale = compute_scale_zp(lo, hi, qmin, qmax, symmetric, mrr)
                            except (ValueError, AssertionError, FloatingPointError) as e:
                                zp, scale = None, str(e)
                            case = {
                                "rmin": bits(rmin), "rmax": bits(rmax), "type": ty,
                                "reduce_range": reduce_range, "symmetric": symmetric,
                                "min_real_range": None if mrr is None else bits(mrr),
                                "f16": fty is np.float16, "qmin": int(qmin), "qmax": int(qmax),
                            }
                            if zp is None:
                                case["error"] = scale
                            else:
                                s = float(np.asarray(scale).astype(F32))
                                case["scale"] = bits(s)
                                case["zero_point"] = int(np.asarray(zp).astype(np.int64))
                            cases.append(case)
    return cases


def data_cases(rng):
    cases = []
    arrays = [
        rng.standard_normal(257).astype(F32) * F32(0.05),
        rng.uniform(0.0, 3.0, 100).astype(F32),
        rng.uniform(-7.0, -0.5, 64).astype(F32),
        (rng.standard_t(2, 300) * 0.1).astype(F32),
        np.zeros(16, dtype=F32),
        np.round(rng.standard_normal(128) * 8).astype(F32) / F32(4),  # exact halves: round-half-even matters
    ]
    for i, data in enumerate(arrays):
        for ty, qtype in TYPES.items():
            for reduce_range in (False, True):
                for symmetric in (False, True):
                    for mrr in (None, 1e-4):
                        zp, scale, q = quantize_data(data, qtype, symmetric, reduce_range=reduce_range,
                                                     min_real_range=mrr)
                        cases.append({
                            "array": i, "type": ty, "reduce_range": reduce_range, "symmetric": symmetric,
                            "min_real_range": None if mrr is None else bits(mrr),
                            "scale": bits(scale), "zero_point": int(np.asarray(zp).astype(np.int64)),
                            "values": [int(v) for v in np.asarray(q).astype(np.int64).ravel()],
                        })
    return [f32_hex(a) for a in arrays], cases


def float8_cases(rng):
    cases = []
    for k in range(20):
        data = (rng.standard_normal(500) * 10.0 ** rng.uniform(-4, 3)).astype(F32)
        zp, scale = compute_data_quant_params(data, TensorProto.FLOAT8E4M3FN, True)
        cases.append({"std": bits(np.std(data)), "scale": bits(scale)})
    return cases


def main():
    rng = np.random.default_rng(20261124)
    with np.errstate(all="ignore"):
        ranges = ranges_cases(rng)
        arrays, data = data_cases(rng)
        float8 = float8_cases(rng)
    print(json.dumps({"ranges": ranges, "arrays": arrays, "data": data, "float8": float8}))


if __name__ == "__main__":
    main()
