//! Oracle test of the quantization parameter math against ONNX Runtime: runs `qparams_oracle.py` (next to
//! this file) with the project's Python (`.venv/bin/python` at the repository root, or `$ONNXQC_PYTHON`)
//! and requires onnxqc's `compute_scale_zp`, `quantize_data` and float8 scale to equal ONNX Runtime's bit
//! for bit, over every storage type, reduce-range, symmetric, minimum range and float32/float16 ranges.

use std::path::PathBuf;
use std::process::Command;

use onnxqc_ir::ScalarType;
use onnxqc_quant::params::{
    compute_scale_zp, float8_e4m3fn_scale, qmin_qmax, quantize_data, quantize_per_channel,
    DataOptions, RangeOptions, ScaleType,
};
use serde_json::Value;

fn oracle_output() -> Value {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let python = std::env::var_os("ONNXQC_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join(".venv/bin/python"));
    assert!(
        python.exists(),
        "qparams oracle: no Python at {} (create the venv with onnxruntime, or set ONNXQC_PYTHON)",
        python.display()
    );
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/qparams_oracle.py");
    let out = Command::new(&python)
        .arg(&script)
        .output()
        .unwrap_or_else(|e| panic!("qparams oracle: cannot run {}: {e}", python.display()));
    assert!(
        out.status.success(),
        "qparams oracle: {} failed:\n{}",
        script.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("qparams oracle: the script's output is not JSON")
}

fn f32_of(v: &Value) -> f32 {
    f32::from_bits(v.as_u64().expect("f32 bits") as u32)
}

fn storage(name: &str) -> ScalarType {
    match name {
        "u8" => ScalarType::U8,
        "i8" => ScalarType::I8,
        "u16" => ScalarType::U16,
        "i16" => ScalarType::I16,
        "u4" => ScalarType::U4,
        "i4" => ScalarType::I4,
        other => panic!("type {other}"),
    }
}

fn decode(hex: &str) -> Vec<f32> {
    let bytes: Vec<u8> = (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).expect("hex"))
        .collect();
    bytes
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect()
}

#[test]
fn params_equal_onnxruntime() {
    let oracle = oracle_output();

    let ranges = oracle["ranges"].as_array().expect("ranges");
    let mut mismatches = Vec::new();
    for case in ranges {
        let ty = storage(case["type"].as_str().unwrap());
        let reduce_range = case["reduce_range"].as_bool().unwrap();
        let symmetric = case["symmetric"].as_bool().unwrap();
        let (qmin, qmax) = qmin_qmax(ty, reduce_range, symmetric).unwrap();
        assert_eq!(
            (qmin, qmax),
            (
                case["qmin"].as_i64().unwrap(),
                case["qmax"].as_i64().unwrap()
            ),
            "qmin/qmax for {case}"
        );
        let options = RangeOptions {
            symmetric,
            min_real_range: case
                .get("min_real_range")
                .filter(|v| !v.is_null())
                .map(f32_of),
            scale_type: if case["f16"].as_bool().unwrap() {
                ScaleType::F16
            } else {
                ScaleType::F32
            },
        };
        let got = compute_scale_zp(
            f32_of(&case["rmin"]),
            f32_of(&case["rmax"]),
            qmin,
            qmax,
            options,
        );
        let ok = match (&got, case.get("error")) {
            (Err(_), Some(_)) => true,
            (Ok(p), None) => {
                p.scale.to_bits() == f32_of(&case["scale"]).to_bits()
                    && p.zero_point == case["zero_point"].as_i64().unwrap()
            }
            _ => false,
        };
        if !ok {
            mismatches.push(format!("{case} → {got:?}"));
        }
    }
    assert!(
        mismatches.is_empty(),
        "{} of {} compute_scale_zp cases differ from ONNX Runtime, e.g.:\n{}",
        mismatches.len(),
        ranges.len(),
        mismatches[..mismatches.len().min(10)].join("\n")
    );
    eprintln!(
        "qparams oracle: {} compute_scale_zp cases bit-identical",
        ranges.len()
    );

    let arrays: Vec<Vec<f32>> = oracle["arrays"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| decode(a.as_str().unwrap()))
        .collect();
    let data = oracle["data"].as_array().expect("data");
    for case in data {
        let values = &arrays[case["array"].as_u64().unwrap() as usize];
        let mut options = DataOptions::new(storage(case["type"].as_str().unwrap()));
        options.symmetric = case["symmetric"].as_bool().unwrap();
        options.reduce_range = case["reduce_range"].as_bool().unwrap();
        options.min_real_range = case
            .get("min_real_range")
            .filter(|v| !v.is_null())
            .map(f32_of);
        let q = quantize_data(values, options).unwrap();
        let expected: Vec<i64> = case["values"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_i64().unwrap())
            .collect();
        assert_eq!(
            q.params.scale.to_bits(),
            f32_of(&case["scale"]).to_bits(),
            "scale of {case}"
        );
        assert_eq!(
            q.params.zero_point,
            case["zero_point"].as_i64().unwrap(),
            "zero point"
        );
        assert_eq!(q.values, expected, "quantized values");

        // Per-channel over a [k, n] view along axis 1 must equal quantize_data on each column.
        let n = 4;
        let k = values.len() / n;
        let view = &values[..k * n];
        let (params, per_channel) = quantize_per_channel(view, &[k, n], 1, options).unwrap();
        for c in 0..n {
            let column: Vec<f32> = (0..k).map(|r| view[r * n + c]).collect();
            let qc = quantize_data(&column, options).unwrap();
            assert_eq!(params[c], qc.params);
            let got: Vec<i64> = (0..k).map(|r| per_channel[r * n + c]).collect();
            assert_eq!(got, qc.values);
        }
    }
    eprintln!(
        "qparams oracle: {} quantize_data cases bit-identical",
        data.len()
    );

    for case in oracle["float8"].as_array().expect("float8") {
        let scale = float8_e4m3fn_scale(f32_of(&case["std"])).unwrap();
        assert_eq!(scale.to_bits(), f32_of(&case["scale"]).to_bits(), "{case}");
    }
}
