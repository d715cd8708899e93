#!/usr/bin/env python3
"""Writes ONNX's backend node test cases to a folder, one folder per case.

Usage: gen_node_tests.py OUT_DIR

The `onnx` wheel does not ship `onnx/backend/test/data/node`; it ships the case generators, so this
runs them (`onnx.backend.test.case.node.collect_testcases()`) and writes what the data folder would
hold: `OUT_DIR/<case>/model.onnx`, `OUT_DIR/<case>/test_data_set_N/{input,output}_K.pb`, plus
`OUT_DIR/<case>/case.json` with the case's tolerances. `OUT_DIR/VERSION` records the onnx version; the
folder is rebuilt when it differs.
"""

import json
import os
import shutil
import sys
import warnings


def main() -> int:
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    out = sys.argv[1]
    import numpy as np
    import onnx
    from onnx import numpy_helper
    from onnx.backend.test.case.node import collect_testcases

    stamp = os.path.join(out, "VERSION")
    if os.path.exists(stamp) and open(stamp).read().strip() == onnx.__version__:
        return 0
    if os.path.exists(out):
        shutil.rmtree(out)
    os.makedirs(out)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        np.seterr(all="ignore")
        cases = collect_testcases()
    written = 0
    for case in cases:
        d = os.path.join(out, case.name)
        os.makedirs(d)
        with open(os.path.join(d, "model.onnx"), "wb") as f:
            f.write(case.model.SerializeToString())
        with open(os.path.join(d, "case.json"), "w") as f:
            json.dump({"rtol": case.rtol, "atol": case.atol}, f)
        for i, (inputs, outputs) in enumerate(case.data_sets):
            ds = os.path.join(d, f"test_data_set_{i}")
            os.makedirs(ds)
            for kind, values, infos in (
                ("input", inputs, case.model.graph.input),
                ("output", outputs, case.model.graph.output),
            ):
                for j, v in enumerate(values):
                    name = infos[j].name if j < len(infos) else ""
                    path = os.path.join(ds, f"{kind}_{j}.pb")
                    ty = infos[j].type if j < len(infos) else None
                    if isinstance(v, onnx.TensorProto):
                        proto = v
                    elif ty is not None and ty.HasField("sequence_type"):
                        proto = numpy_helper.from_list(v, name)
                    elif ty is not None and ty.HasField("optional_type"):
                        proto = numpy_helper.from_optional(v, name)
                    elif ty is not None and ty.HasField("map_type"):
                        proto = numpy_helper.from_dict(v, name)
                    else:
                        proto = numpy_helper.from_array(np.asarray(v), name)
                    with open(path, "wb") as f:
                        f.write(proto.SerializeToString())
        written += 1
    with open(stamp, "w") as f:
        f.write(onnx.__version__ + "\n")
    print(f"wrote {written} node test cases to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
