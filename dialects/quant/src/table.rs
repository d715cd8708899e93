//! Calibration tables: the ranges chosen by calibration, per tensor name. The `calibrate` pass stores its
//! table in the module as the attribute [`CALIBRATION_ATTR`] (so the text IR shows it and the lowering
//! passes read it), and tables are written to and read from files (`--calibration-table`).
//!
//! In the IR: `qc.calibration = {method = "minmax", tensors = {x = [lo, hi], y = [lo, hi, avg, std]}}`,
//! the floats as an f32 array (`array<f32: -1.0, 2.5>`), tensors in the order calibration found them.

use std::path::Path;
use std::sync::Arc;

use onnxqc_ir::{Attribute, Module};

use crate::calib::TensorStats;

/// The module attribute that holds the calibration table.
pub const CALIBRATION_ATTR: &str = "qc.calibration";

/// Ranges per tensor name, with the method that produced them (`minmax`, `entropy`, `percentile`,
/// `distribution`, `mse`, or where a file came from, e.g. `ort-cache`).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct CalibrationTable {
    pub method: String,
    pub entries: Vec<(String, TensorStats)>,
}

impl CalibrationTable {
    pub fn new(method: impl Into<String>) -> CalibrationTable {
        CalibrationTable {
            method: method.into(),
            entries: vec![],
        }
    }

    pub fn get(&self, tensor: &str) -> Option<&TensorStats> {
        self.entries
            .iter()
            .find(|(n, _)| n == tensor)
            .map(|(_, s)| s)
    }

    /// The table as the module attribute's value.
    pub fn to_attribute(&self) -> Attribute {
        let tensors = self
            .entries
            .iter()
            .map(|(name, s)| {
                let mut v = vec![s.lowest, s.highest];
                if let (Some(a), Some(d)) = (s.avg, s.std) {
                    v.extend([a, d]);
                }
                (Arc::<str>::from(name.as_str()), Attribute::Floats(v))
            })
            .collect();
        Attribute::Dict(vec![
            ("method".into(), Attribute::String(self.method.clone())),
            ("tensors".into(), Attribute::Dict(tensors)),
        ])
    }

    /// Reads the module attribute's value back; the message says what is malformed.
    pub fn from_attribute(attr: &Attribute) -> Result<CalibrationTable, String> {
        let Attribute::Dict(d) = attr else {
            return Err(format!(
                "{CALIBRATION_ATTR} must be a dictionary, not a {}",
                attr.kind_name()
            ));
        };
        let mut table = CalibrationTable::default();
        for (k, v) in d {
            match (&**k, v) {
                ("method", Attribute::String(m)) => table.method = m.clone(),
                ("tensors", Attribute::Dict(ts)) => {
                    for (name, v) in ts {
                        let stats = match v {
                            Attribute::Floats(f) if f.len() == 2 => TensorStats::range(f[0], f[1]),
                            Attribute::Floats(f) if f.len() == 4 => TensorStats {
                                lowest: f[0],
                                highest: f[1],
                                avg: Some(f[2]),
                                std: Some(f[3]),
                            },
                            _ => {
                                return Err(format!(
                                    "{CALIBRATION_ATTR}: the entry of '{name}' must be [lowest, highest] \
                                     or [lowest, highest, avg, std]"
                                ))
                            }
                        };
                        table.entries.push((name.to_string(), stats));
                    }
                }
                _ => {
                    return Err(format!(
                        "{CALIBRATION_ATTR}: unexpected key '{k}' (expected method, tensors)"
                    ))
                }
            }
        }
        Ok(table)
    }

    /// The table stored in `module`, if any.
    pub fn from_module(module: &Module) -> Option<Result<CalibrationTable, String>> {
        module.attr(CALIBRATION_ATTR).map(Self::from_attribute)
    }

    /// Stores the table in `module`, replacing any previous one.
    pub fn store_in(&self, module: &mut Module) {
        let value = self.to_attribute();
        match module
            .attrs
            .iter_mut()
            .find(|(k, _)| &**k == CALIBRATION_ATTR)
        {
            Some((_, v)) => *v = value,
            None => module.attrs.push((CALIBRATION_ATTR.into(), value)),
        }
    }
}

/// A calibration table file format.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TableFormat {
    /// onnxqc's JSON (`docs/calibration-table.md`).
    Json,
    /// ONNX Runtime's plain-text `calibration.cache`: `name amax` per line, amax = max(|lowest|, |highest|).
    OrtCache,
    /// TensorRT's INT8 calibration cache: a `TRT-<version>-EntropyCalibration2` header line, then
    /// `name: <hex>` per tensor, the hex being the big-endian bits of the float32 scale `amax / 127`.
    TensorRt,
}

/// The header onnxqc writes on TensorRT caches. TensorRT compares the calibrator name; the version
/// number only produces a warning when it differs from the running TensorRT's.
pub const TENSORRT_HEADER: &str = "TRT-8601-EntropyCalibration2";

/// TensorRT's int8 scales are `amax / 127` (symmetric signed 8-bit, narrow range).
const TENSORRT_QMAX: f32 = 127.0;

/// The format for a file name: `.cache` (and `calibration.cache`) is ONNX Runtime's text form, the rest
/// onnxqc JSON.
pub fn format_from_path(path: &Path) -> TableFormat {
    match path.extension().and_then(|e| e.to_str()) {
        Some(e) if e.eq_ignore_ascii_case("cache") => TableFormat::OrtCache,
        _ => TableFormat::Json,
    }
}

/// The JSON text of a table: `{"format": "onnxqc-calibration", "version": 1, "method": ..., "tensors":
/// {name: {"lowest": f, "highest": f[, "avg": f, "std": f]}}}`, floats in their shortest f32 form so
/// they read back bit for bit.
pub fn to_json(table: &CalibrationTable) -> String {
    let q = |s: &str| serde_json::to_string(s).unwrap_or_else(|_| "\"\"".into());
    let f = |v: f32| {
        if v.is_finite() {
            format!("{v:?}")
        } else {
            "null".into()
        }
    };
    let mut out = format!(
        "{{\n  \"format\": \"onnxqc-calibration\",\n  \"version\": 1,\n  \"method\": {},\n  \"tensors\": {{",
        q(&table.method)
    );
    for (i, (name, s)) in table.entries.iter().enumerate() {
        out.push_str(if i == 0 { "\n" } else { ",\n" });
        out.push_str(&format!(
            "    {}: {{\"lowest\": {}, \"highest\": {}",
            q(name),
            f(s.lowest),
            f(s.highest)
        ));
        if let (Some(a), Some(d)) = (s.avg, s.std) {
            out.push_str(&format!(", \"avg\": {}, \"std\": {}", f(a), f(d)));
        }
        out.push('}');
    }
    out.push_str("\n  }\n}\n");
    out
}

/// Writes `table` to `path` through a temporary file in the same folder (never half-written).
pub fn write_table(
    table: &CalibrationTable,
    path: &Path,
    format: TableFormat,
) -> Result<(), String> {
    let text = match format {
        TableFormat::Json => to_json(table),
        TableFormat::OrtCache => table
            .entries
            .iter()
            .map(|(n, s)| format!("{n} {:?}\n", s.lowest.abs().max(s.highest.abs())))
            .collect(),
        TableFormat::TensorRt => {
            let mut text = format!("{TENSORRT_HEADER}\n");
            for (n, s) in &table.entries {
                let scale = s.lowest.abs().max(s.highest.abs()) / TENSORRT_QMAX;
                text.push_str(&format!("{n}: {:08x}\n", scale.to_bits()));
            }
            text
        }
    };
    let shown = path.display();
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => std::path::PathBuf::from("."),
    };
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{name}.tmp{}", std::process::id()));
    std::fs::write(&tmp, text)
        .and_then(|_| std::fs::rename(&tmp, path))
        .map_err(|e| {
            let _ = std::fs::remove_file(&tmp);
            format!("cannot write the calibration table '{shown}': {e}")
        })
}

/// Reads a table: onnxqc JSON, ONNX Runtime's JSON (`save_tensors_data`: `{"data": {name: {"lowest":
/// ..., "highest": ...}}}`, values possibly as `{"CLS": "numpy.array", "data": ...}`), or ONNX Runtime's
/// `calibration.cache` text (`name amax`, read as the symmetric range [-amax, amax]), or a TensorRT cache
/// (recognised by its `TRT-` header; `name: hex scale`, read as [-127·scale, 127·scale]).
pub fn read_table(path: &Path) -> Result<CalibrationTable, String> {
    let shown = path.display().to_string();
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read the calibration table '{shown}': {e}"))?;
    let table = if text.trim_start().starts_with('{') {
        read_json(&text).map_err(|e| format!("{shown}: {e}"))?
    } else if text.trim_start().starts_with("TRT-") {
        read_tensorrt_cache(&text).map_err(|e| format!("{shown}:{e}"))?
    } else {
        read_ort_cache(&text).map_err(|e| format!("{shown}:{e}"))?
    };
    let mut seen = std::collections::HashSet::new();
    for (n, s) in &table.entries {
        if !seen.insert(n.as_str()) {
            return Err(format!("{shown}: tensor '{n}' appears twice"));
        }
        if !(s.lowest.is_finite() && s.highest.is_finite()) || s.lowest > s.highest {
            return Err(format!(
                "{shown}: tensor '{n}' has an invalid range [{}, {}]",
                s.lowest, s.highest
            ));
        }
    }
    Ok(table)
}

fn read_ort_cache(text: &str) -> Result<CalibrationTable, String> {
    let mut table = CalibrationTable::new("ort-cache");
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let (name, value) = line
            .rsplit_once(char::is_whitespace)
            .ok_or_else(|| format!("{}: expected 'name value', got '{line}'", i + 1))?;
        let amax: f32 = value
            .trim()
            .parse()
            .map_err(|_| format!("{}: '{value}' is not a number", i + 1))?;
        let amax = amax.abs();
        table
            .entries
            .push((name.trim().to_string(), TensorStats::range(-amax, amax)));
    }
    Ok(table)
}

fn read_tensorrt_cache(text: &str) -> Result<CalibrationTable, String> {
    let mut lines = text
        .lines()
        .enumerate()
        .skip_while(|(_, l)| l.trim().is_empty());
    let header = lines.next().map(|(_, l)| l.trim()).unwrap_or_default();
    let method = header.rsplit('-').next().unwrap_or_default();
    let mut table = CalibrationTable::new(format!("tensorrt-{method}"));
    for (i, line) in lines {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let (name, value) = line
            .rsplit_once(':')
            .ok_or_else(|| format!("{}: expected 'name: hex scale', got '{line}'", i + 1))?;
        let bits = u32::from_str_radix(value.trim(), 16).map_err(|_| {
            format!(
                "{}: '{}' is not the hex bits of a float32 scale",
                i + 1,
                value.trim()
            )
        })?;
        let scale = f32::from_bits(bits);
        if !scale.is_finite() || scale < 0.0 {
            return Err(format!(
                "{}: tensor '{}' has the scale {scale}",
                i + 1,
                name.trim()
            ));
        }
        let amax = scale * TENSORRT_QMAX;
        table
            .entries
            .push((name.trim().to_string(), TensorStats::range(-amax, amax)));
    }
    Ok(table)
}

/// A number, or a numpy array/scalar as ONNX Runtime's JSON encoder writes it (first element).
fn json_f32(v: &serde_json::Value) -> Option<f32> {
    match v {
        serde_json::Value::Number(n) => n.as_f64().map(|f| f as f32),
        serde_json::Value::Array(a) => a.first().and_then(json_f32),
        serde_json::Value::Object(o) => o.get("data").and_then(json_f32),
        serde_json::Value::String(s) => match s.as_str() {
            "NaN" => Some(f32::NAN),
            "Infinity" => Some(f32::INFINITY),
            "-Infinity" => Some(f32::NEG_INFINITY),
            _ => None,
        },
        _ => None,
    }
}

/// Python's `json` writes non-finite floats as the bare words `NaN`, `Infinity` and `-Infinity`, which
/// are not JSON; quote them (outside strings) so that they parse, as strings [`json_f32`] understands.
fn quote_python_non_finite(text: &str) -> std::borrow::Cow<'_, str> {
    if !(text.contains("NaN") || text.contains("Infinity")) {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 16);
    let (mut in_string, mut escaped) = (false, false);
    let mut rest = text;
    while let Some(c) = rest.chars().next() {
        if in_string {
            out.push(c);
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                in_string = false;
            }
            rest = &rest[c.len_utf8()..];
            continue;
        }
        let word = ["-Infinity", "Infinity", "NaN"]
            .into_iter()
            .find(|w| rest.starts_with(w));
        match word {
            Some(w) => {
                out.push('"');
                out.push_str(w);
                out.push('"');
                rest = &rest[w.len()..];
            }
            None => {
                if c == '"' {
                    in_string = true;
                }
                out.push(c);
                rest = &rest[c.len_utf8()..];
            }
        }
    }
    std::borrow::Cow::Owned(out)
}

fn read_json(text: &str) -> Result<CalibrationTable, String> {
    let text = quote_python_non_finite(text);
    let doc: serde_json::Value = serde_json::from_str(&text)
        .map_err(|e| format!("{}:{}: invalid JSON: {e}", e.line(), e.column()))?;
    let method = doc
        .get("method")
        .and_then(|m| m.as_str())
        .unwrap_or("json")
        .to_string();
    // onnxqc: "tensors"; ONNX Runtime's save_tensors_data: "data"; write_calibration_table: the map itself.
    let tensors = doc
        .get("tensors")
        .or_else(|| doc.get("data"))
        .unwrap_or(&doc)
        .as_object()
        .ok_or("expected an object of tensors")?;
    let mut table = CalibrationTable::new(method);
    for (name, e) in tensors {
        if matches!(
            name.as_str(),
            "format" | "version" | "method" | "CLS" | "calibration_method" | "smooth_quant"
        ) {
            continue;
        }
        let get = |k: &str| e.get(k).and_then(json_f32);
        let (lowest, highest) = match (get("lowest"), get("highest")) {
            (Some(l), Some(h)) => (l, h),
            // ONNX Runtime's write_calibration_table JSON: [lowest, highest].
            _ => match e
                .as_array()
                .map(|a| a.iter().map(json_f32).collect::<Vec<_>>())
            {
                Some(v) if v.len() >= 2 && v[0].is_some() && v[1].is_some() => {
                    (v[0].unwrap_or(0.0), v[1].unwrap_or(0.0))
                }
                _ => return Err(format!("tensor '{name}': expected lowest and highest")),
            },
        };
        // ONNX Runtime writes infinite ranges (e.g. for a constant holding inf); such a range cannot be
        // quantized, so the tensor is left out, as if never calibrated (calibrate reports it).
        if !(lowest.is_finite() && highest.is_finite()) {
            continue;
        }
        table.entries.push((
            name.clone(),
            TensorStats {
                lowest,
                highest,
                avg: get("avg"),
                std: get("std"),
            },
        ));
    }
    Ok(table)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attribute_round_trip() {
        let mut t = CalibrationTable::new("distribution");
        t.entries.push(("x".into(), TensorStats::range(-1.0, 2.5)));
        t.entries.push((
            "conv out:0".into(),
            TensorStats {
                lowest: -3.0,
                highest: 3.0,
                avg: Some(0.25),
                std: Some(1.5),
            },
        ));
        let mut m = Module::default();
        t.store_in(&mut m);
        t.store_in(&mut m);
        assert_eq!(m.attrs.len(), 1);
        assert_eq!(CalibrationTable::from_module(&m).unwrap().unwrap(), t);
        assert_eq!(t.get("x"), Some(&TensorStats::range(-1.0, 2.5)));
    }

    #[test]
    fn files_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let mut t = CalibrationTable::new("entropy");
        t.entries
            .push(("a\"b".into(), TensorStats::range(-0.1, 3.3333333)));
        t.entries.push((
            "c".into(),
            TensorStats {
                lowest: -1.0,
                highest: 2.0,
                avg: Some(0.1),
                std: Some(0.7),
            },
        ));
        let json = dir.path().join("t.json");
        write_table(&t, &json, format_from_path(&json)).unwrap();
        assert_eq!(read_table(&json).unwrap(), t);
        let cache = dir.path().join("calibration.cache");
        write_table(&t, &cache, format_from_path(&cache)).unwrap();
        let back = read_table(&cache).unwrap();
        // Absolute-max semantics: [-0.1, 3.33] is stored as 3.33 and read as [-3.33, 3.33].
        assert_eq!(back.entries[0].1, TensorStats::range(-3.3333333, 3.3333333));
        assert_eq!(back.entries[1].1, TensorStats::range(-2.0, 2.0));

        let trt = dir.path().join("trt.cache");
        write_table(&t, &trt, TableFormat::TensorRt).unwrap();
        let text = std::fs::read_to_string(&trt).unwrap();
        let scale = 2.0f32 / 127.0;
        assert!(text.starts_with("TRT-8601-EntropyCalibration2\n"));
        assert!(
            text.contains(&format!("c: {:08x}\n", scale.to_bits())),
            "{text}"
        );
        let back = read_table(&trt).unwrap();
        assert_eq!(back.method, "tensorrt-EntropyCalibration2");
        assert_eq!(
            back.entries[1].1,
            TensorStats::range(-scale * 127.0, scale * 127.0)
        );
    }

    #[test]
    fn python_non_finite_values_are_read_and_left_out() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("ort.json");
        std::fs::write(
            &p,
            r#"{"CLS": "TensorsData", "data": {"a": {"lowest": -1.0, "highest": 2.0}, "c": {"lowest": {"data": [Infinity], "CLS": "numpy.array"}, "highest": {"data": [-Infinity]}}, "n\"NaN": {"lowest": NaN, "highest": 1.0}}}"#,
        )
        .unwrap();
        let t = read_table(&p).unwrap();
        assert_eq!(
            t.entries,
            vec![("a".to_string(), TensorStats::range(-1.0, 2.0))]
        );
    }

    #[test]
    fn reads_a_tensorrt_cache() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("calib.cache");
        std::fs::write(
            &p,
            "TRT-7000-EntropyCalibration2\ninput: 3c010a14\nconv/1:0: 0\n",
        )
        .unwrap();
        let t = read_table(&p).unwrap();
        let amax = f32::from_bits(0x3c01_0a14) * 127.0;
        assert!((amax - 1.0003).abs() < 1e-3);
        assert_eq!(
            t.entries[0],
            ("input".into(), TensorStats::range(-amax, amax))
        );
        assert_eq!(
            t.entries[1],
            ("conv/1:0".into(), TensorStats::range(-0.0, 0.0))
        );
        std::fs::write(&p, "TRT-7000-EntropyCalibration2\ninput: xyz\n").unwrap();
        let e = read_table(&p).unwrap_err();
        assert!(
            e.contains("calib.cache:2: 'xyz' is not the hex bits"),
            "{e}"
        );
    }

    #[test]
    fn reads_onnx_runtime_json() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("ort.json");
        std::fs::write(
            &p,
            r#"{"CLS": "TensorsData", "data": {"x": {"lowest": {"data": -1.5, "dtype": "float32", "CLS": "numpy.array"}, "highest": {"data": 2.5, "dtype": "float32", "CLS": "numpy.array"}, "CLS": "TensorData"}}}"#,
        )
        .unwrap();
        assert_eq!(
            read_table(&p).unwrap().entries[0].1,
            TensorStats::range(-1.5, 2.5)
        );
    }

    #[test]
    fn bad_files_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("bad.json");
        std::fs::write(
            &p,
            "{\"tensors\": {\"x\": {\"lowest\": 2, \"highest\": 1}}}",
        )
        .unwrap();
        assert!(read_table(&p).unwrap_err().contains("'x'"));
        std::fs::write(&p, "{oops").unwrap();
        assert!(read_table(&p).unwrap_err().contains("bad.json"));
        let c = dir.path().join("c.cache");
        std::fs::write(&c, "x 1.0\ny nan-ish\n").unwrap();
        assert!(read_table(&c).unwrap_err().contains(":2:"));
        assert!(read_table(&dir.path().join("missing.json"))
            .unwrap_err()
            .contains("missing.json"));
    }

    #[test]
    fn malformed_entries_are_named() {
        let bad = Attribute::Dict(vec![(
            "tensors".into(),
            Attribute::Dict(vec![("y".into(), Attribute::Floats(vec![1.0]))]),
        )]);
        let e = CalibrationTable::from_attribute(&bad).unwrap_err();
        assert!(e.contains("'y'"), "{e}");
    }
}
