//! Oracle test of the calibration statistics against ONNX Runtime: runs `calib_oracle.py` (next to this
//! file) with the project's Python (`.venv/bin/python` at the repository root, or `$ONNXQC_PYTHON`),
//! which prints seeded batches and ONNX Runtime's results for every method and option, feeds the same
//! batches to [`Statistic`] one batch at a time, and requires MinMax to be bit-identical and the
//! histogram methods' ranges (and distribution's mean / deviation) to agree within 1e-6 relative.
//! Histograms must also end with ONNX Runtime's bin count. Where ONNX Runtime dropped values outside its
//! grid (magnitudes below the first edge of an absolute-value histogram), onnxqc deliberately keeps them
//! in the end bins; those cases are compared with ONNX Runtime's own computation on its histogram with
//! the dropped values kept, and counted separately.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Command;

use onnxqc_quant::calib::{Averaging, Method, Scenario, Statistic, TensorStats};
use serde_json::Value;

fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn oracle_output() -> Value {
    let root = repo_root();
    let python = std::env::var_os("ONNXQC_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join(".venv/bin/python"));
    assert!(
        python.exists(),
        "calib oracle: no Python at {} (create the venv with onnxruntime, or set ONNXQC_PYTHON)",
        python.display()
    );
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/calib_oracle.py");
    let out = Command::new(&python)
        .arg(&script)
        .output()
        .unwrap_or_else(|e| panic!("calib oracle: cannot run {}: {e}", python.display()));
    assert!(
        out.status.success(),
        "calib oracle: {} {} failed:\n{}",
        python.display(),
        script.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("calib oracle: the script's output is not JSON")
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

fn method_of(case: &Value) -> Method {
    let usize_of = |k: &str| case[k].as_u64().expect(k) as usize;
    let bool_of = |k: &str| case[k].as_bool().expect(k);
    match case["method"].as_str().expect("method") {
        "minmax" => Method::MinMax {
            symmetric: bool_of("symmetric"),
            averaging: match case["averaging"].as_str().expect("averaging") {
                "none" => Averaging::None,
                "mean" => Averaging::Mean,
                "ema" => Averaging::Ema(case["constant"].as_f64().expect("constant") as f32),
                other => panic!("averaging {other}"),
            },
        },
        "entropy" => Method::Entropy {
            num_bins: usize_of("num_bins"),
            num_quantized_bins: usize_of("num_quantized_bins"),
            symmetric: false,
        },
        "percentile" => Method::Percentile {
            num_bins: usize_of("num_bins"),
            percentile: case["percentile"].as_f64().expect("percentile"),
            symmetric: bool_of("symmetric"),
        },
        "distribution" => Method::Distribution {
            num_bins: usize_of("num_bins"),
            scenario: match case["scenario"].as_str().expect("scenario") {
                "same" => Scenario::Same,
                _ => Scenario::P3,
            },
        },
        other => panic!("method {other}"),
    }
}

fn f32_of(case: &Value, key: &str) -> f32 {
    f32::from_bits(case[key].as_u64().expect(key) as u32)
}

#[derive(Default)]
struct Tally {
    cases: usize,
    exact: usize,
    close: usize,
}

#[test]
fn statistics_match_onnx_runtime() {
    let oracle = oracle_output();
    let datasets: BTreeMap<String, Vec<Vec<f32>>> = oracle["datasets"]
        .as_object()
        .expect("datasets")
        .iter()
        .map(|(name, batches)| {
            let batches = batches
                .as_array()
                .expect("batches")
                .iter()
                .map(|b| decode(b.as_str().expect("hex")))
                .collect();
            (name.clone(), batches)
        })
        .collect();
    let mut tallies: BTreeMap<String, Tally> = BTreeMap::new();
    let mut failures = Vec::new();
    let (mut dropped_cases, mut dropped_differ) = (0, 0);
    for case in oracle["cases"].as_array().expect("cases") {
        let method = method_of(case);
        let name = case["dataset"].as_str().expect("dataset");
        let mut stat = Statistic::new(&method).expect("valid method");
        for batch in &datasets[name] {
            stat.observe(batch);
            stat.end_batch();
        }
        let got = stat.finish().expect("statistics of a non-empty dataset");
        let mut want = TensorStats::range(f32_of(case, "lowest"), f32_of(case, "highest"));
        if case.get("avg").is_some() {
            want.avg = Some(f32_of(case, "avg"));
            want.std = Some(f32_of(case, "std"));
        }
        let label = format!("{name} {method:?}");
        let mut kind = case["method"].as_str().unwrap_or_default().to_string();
        if let Some(kept) = case.get("kept") {
            // ONNX Runtime dropped values outside its grid, which onnxqc keeps in the end bins: compare
            // with ONNX Runtime's result on its histogram with them kept.
            dropped_cases += 1;
            if want.lowest != got.lowest || want.highest != got.highest {
                dropped_differ += 1;
            }
            want = TensorStats::range(f32_of(kept, "lowest"), f32_of(kept, "highest"));
            kind += " (drops kept)";
        }
        let tally = tallies.entry(kind.clone()).or_default();
        tally.cases += 1;
        let pairs = [
            (got.lowest, want.lowest),
            (got.highest, want.highest),
            (got.avg.unwrap_or(0.0), want.avg.unwrap_or(0.0)),
            (got.std.unwrap_or(0.0), want.std.unwrap_or(0.0)),
        ];
        let exact = pairs.iter().all(|(a, b)| a.to_bits() == b.to_bits());
        let close = pairs
            .iter()
            .all(|(a, b)| a == b || (a - b).abs() as f64 <= 1e-6 * a.abs().max(b.abs()) as f64);
        tally.exact += usize::from(exact);
        tally.close += usize::from(close);
        if kind == "minmax" && !exact || !close {
            failures.push(format!("{label}: got {got:?}, ONNX Runtime {want:?}"));
        } else if !exact {
            eprintln!("calib oracle: within 1e-6, not bit-identical: {label}: {got:?} vs {want:?}");
        }
        if let Some(bins) = case.get("bins").and_then(Value::as_u64) {
            let (ours, merges) = stat.histogram_shape().expect("a histogram");
            if ours as u64 != bins || merges != 0 {
                failures.push(format!(
                    "{label}: {ours} bins ({merges} merges), ONNX Runtime {bins} bins"
                ));
            }
        }
    }
    eprintln!(
        "calib oracle: ONNX Runtime dropped values in {dropped_cases} cases; the result differs from \
         onnxqc's (which keeps them) in {dropped_differ}"
    );
    for (kind, t) in &tallies {
        eprintln!(
            "calib oracle: {kind}: {} cases, {} bit-identical, {} within 1e-6",
            t.cases, t.exact, t.close
        );
    }
    assert!(
        failures.is_empty(),
        "{} mismatches:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
