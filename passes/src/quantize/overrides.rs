//! Tensor quantization overrides: a JSON file in ONNX Runtime's `TensorQuantOverrides` form, mapping a
//! tensor name to a list of dictionaries (one for per-tensor settings, one per channel for per-channel
//! weights), each with optional `quant_type` (`"QInt8"`, ... or `"s8"`, ...), `scale` + `zero_point`,
//! `symmetric`, `reduce_range`, `rmin`, `rmax` and `axis`. Validation follows ONNX Runtime's
//! `TensorQuantOverridesHelper.is_valid`, with errors naming the file and the tensor.

use std::path::Path;

use onnxqc_ir::ScalarType;
use rustc_hash::FxHashMap;
use serde_json::Value;

/// One dictionary of overrides.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Override {
    pub quant_type: Option<ScalarType>,
    pub scale: Option<f32>,
    pub zero_point: Option<i64>,
    pub symmetric: Option<bool>,
    pub reduce_range: Option<bool>,
    pub rmin: Option<f32>,
    pub rmax: Option<f32>,
    pub axis: Option<i64>,
}

impl Override {
    pub fn scale_zp(&self) -> Option<(f32, i64)> {
        Some((self.scale?, self.zero_point?))
    }
}

/// The overrides of a model, by tensor name.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Overrides {
    pub tensors: FxHashMap<String, Vec<Override>>,
}

fn quant_type(name: &str) -> Option<ScalarType> {
    Some(match name {
        "QInt8" | "s8" | "int8" => ScalarType::I8,
        "QUInt8" | "u8" | "uint8" => ScalarType::U8,
        "QInt16" | "s16" | "int16" => ScalarType::I16,
        "QUInt16" | "u16" | "uint16" => ScalarType::U16,
        "QInt4" | "s4" | "int4" => ScalarType::I4,
        "QUInt4" | "u4" | "uint4" => ScalarType::U4,
        _ => return None,
    })
}

impl Overrides {
    pub fn is_empty(&self) -> bool {
        self.tensors.is_empty()
    }

    pub fn get(&self, tensor: &str) -> Option<&[Override]> {
        self.tensors.get(tensor).map(Vec::as_slice)
    }

    /// Per-tensor overrides of `tensor` (its first dictionary when it has no axis).
    pub fn per_tensor(&self, tensor: &str) -> Option<&Override> {
        self.get(tensor)
            .and_then(|l| l.first())
            .filter(|o| o.axis.is_none())
    }

    /// Per-channel overrides of `tensor` (when its first dictionary has an axis).
    pub fn per_channel(&self, tensor: &str) -> Option<&[Override]> {
        self.get(tensor)
            .filter(|l| l.first().is_some_and(|o| o.axis.is_some()))
    }

    /// Whether some tensor has per-channel overrides.
    pub fn has_axis(&self) -> bool {
        self.tensors.values().any(|l| l[0].axis.is_some())
    }

    /// Every storage type the overrides use.
    pub fn types(&self) -> Vec<ScalarType> {
        self.tensors
            .values()
            .flatten()
            .filter_map(|o| o.quant_type)
            .collect()
    }

    /// Reads and checks the file's syntax; [`Overrides::check`] checks it against the model.
    pub fn read(path: &Path) -> Result<Overrides, String> {
        let shown = path.display();
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read the overrides file '{shown}': {e}"))?;
        Overrides::parse(&text).map_err(|e| format!("{shown}: {e}"))
    }

    pub fn parse(text: &str) -> Result<Overrides, String> {
        let doc: Value = serde_json::from_str(text)
            .map_err(|e| format!("{}:{}: invalid JSON: {e}", e.line(), e.column()))?;
        let map = doc
            .as_object()
            .ok_or("expected an object mapping tensor names to lists of overrides")?;
        let mut tensors = FxHashMap::default();
        for (name, list) in map {
            let items = match list {
                Value::Array(a) => a.clone(),
                Value::Object(_) => vec![list.clone()],
                _ => {
                    return Err(format!(
                        "tensor '{name}': expected a list of override dictionaries"
                    ))
                }
            };
            let mut out = vec![];
            for (i, item) in items.iter().enumerate() {
                out.push(parse_one(item).map_err(|e| format!("tensor '{name}', entry {i}: {e}"))?);
            }
            if out.is_empty() {
                return Err(format!("tensor '{name}': the list of overrides is empty"));
            }
            tensors.insert(name.clone(), out);
        }
        Ok(Overrides { tensors })
    }

    /// ONNX Runtime's validity rules, against the model: `exists(name)` says whether the model has the
    /// tensor, `constant_shape(name)` gives a constant's shape.
    pub fn check(
        &self,
        exists: &dyn Fn(&str) -> bool,
        constant_shape: &dyn Fn(&str) -> Option<Vec<u64>>,
    ) -> Result<(), String> {
        let mut names: Vec<&String> = self.tensors.keys().collect();
        names.sort();
        for name in names {
            let list = &self.tensors[name];
            if !exists(name) {
                return Err(format!("tensor '{name}' is not in the model"));
            }
            let shape = constant_shape(name);
            let first = &list[0];
            if let Some(axis) = first.axis {
                let Some(shape) = &shape else {
                    return Err(format!(
                        "tensor '{name}' has per-channel overrides (axis), but is not a constant"
                    ));
                };
                let rank = shape.len() as i64;
                let a = if axis < 0 { axis + rank } else { axis };
                if !(0..rank).contains(&a) {
                    return Err(format!(
                        "tensor '{name}': axis {axis} is out of range for rank {rank}"
                    ));
                }
                let with_params = list.iter().any(|o| o.scale.is_some());
                if (list.len() > 1 || with_params) && list.len() as u64 != shape[a as usize] {
                    return Err(format!(
                        "tensor '{name}': {} channel overrides for {} channels along axis {axis}",
                        list.len(),
                        shape[a as usize]
                    ));
                }
            } else if list.len() > 1 {
                return Err(format!(
                    "tensor '{name}': several override dictionaries need an 'axis' (per channel)"
                ));
            }
            for o in list {
                if o.scale.is_some() != o.zero_point.is_some() {
                    return Err(format!(
                        "tensor '{name}': give both 'scale' and 'zero_point', or neither"
                    ));
                }
                if o.scale.is_some()
                    && (o.symmetric.is_some()
                        || o.reduce_range.is_some()
                        || o.rmin.is_some()
                        || o.rmax.is_some())
                {
                    return Err(format!(
                        "tensor '{name}': 'symmetric', 'reduce_range', 'rmin' and 'rmax' cannot be combined \
                         with 'scale' and 'zero_point'"
                    ));
                }
                if o.reduce_range.is_some() && shape.is_none() {
                    return Err(format!(
                        "tensor '{name}': 'reduce_range' applies to constants (weights), not to activations"
                    ));
                }
                if let Some(scale) = o.scale.filter(|s| !(s.is_finite() && *s > 0.0)) {
                    return Err(format!(
                        "tensor '{name}': scale {scale} must be finite and positive"
                    ));
                }
                if let (Some(zp), Some(t)) = (o.zero_point, o.quant_type) {
                    let (lo, hi) = onnxqc_quant::params::qmin_qmax(t, false, false)?;
                    if !(lo..=hi).contains(&zp) {
                        return Err(format!(
                            "tensor '{name}': zero point {zp} is out of range for {}",
                            t.mlir_name()
                        ));
                    }
                }
            }
        }
        Ok(())
    }
}

fn parse_one(v: &Value) -> Result<Override, String> {
    let obj = v.as_object().ok_or("expected a dictionary")?;
    let mut o = Override::default();
    for (k, x) in obj {
        let f = || {
            x.as_f64()
                .map(|f| f as f32)
                .ok_or_else(|| format!("'{k}' must be a number"))
        };
        let b = || {
            x.as_bool()
                .ok_or_else(|| format!("'{k}' must be true or false"))
        };
        match k.as_str() {
            "quant_type" => {
                let s = x.as_str().ok_or("'quant_type' must be a string such as \"QUInt16\"")?;
                let s = s.strip_prefix("QuantType.").unwrap_or(s);
                o.quant_type = Some(quant_type(s).ok_or_else(|| {
                    format!("unknown quant_type '{s}' (QInt8, QUInt8, QInt16, QUInt16, QInt4, QUInt4)")
                })?);
            }
            "scale" => o.scale = Some(f()?),
            "zero_point" => {
                o.zero_point = Some(x.as_i64().ok_or("'zero_point' must be an integer")?)
            }
            "symmetric" => o.symmetric = Some(b()?),
            "reduce_range" => o.reduce_range = Some(b()?),
            "rmin" => o.rmin = Some(f()?),
            "rmax" => o.rmax = Some(f()?),
            "axis" => o.axis = Some(x.as_i64().ok_or("'axis' must be an integer")?),
            "convert" => {
                return Err(
                    "'convert' (a type change for some consumers) is not supported by onnxqc yet".into(),
                )
            }
            other => {
                return Err(format!(
                    "unknown key '{other}' (quant_type, scale, zero_point, symmetric, reduce_range, rmin, \
                     rmax, axis)"
                ))
            }
        }
    }
    Ok(o)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_checks_like_onnx_runtime() {
        let o = Overrides::parse(
            r#"{"x": [{"quant_type": "QUInt16", "rmin": -2, "rmax": 2}],
                "w": [{"axis": 0, "symmetric": false}, {"axis": 0}],
                "y": [{"scale": 0.5, "zero_point": 3}]}"#,
        )
        .unwrap();
        assert_eq!(o.per_tensor("x").unwrap().quant_type, Some(ScalarType::U16));
        assert_eq!(o.per_channel("w").unwrap().len(), 2);
        assert_eq!(o.per_tensor("y").unwrap().scale_zp(), Some((0.5, 3)));
        let exists = |n: &str| ["x", "w", "y"].contains(&n);
        let shape = |n: &str| (n == "w").then(|| vec![2, 3]);
        o.check(&exists, &shape).unwrap();
        let shape1 = |n: &str| (n == "w").then(|| vec![4, 3]);
        assert!(o
            .check(&exists, &shape1)
            .unwrap_err()
            .contains("2 channel overrides for 4"));
    }

    #[test]
    fn bad_overrides_are_named() {
        let bad = |text: &str| {
            Overrides::parse(text)
                .and_then(|o| {
                    o.check(&|n| n == "x", &|_| None)?;
                    Ok(o)
                })
                .unwrap_err()
        };
        assert!(bad(r#"{"x": [{"scale": 1.0}]}"#).contains("both 'scale' and 'zero_point'"));
        assert!(
            bad(r#"{"x": [{"scale": 1.0, "zero_point": 0, "rmin": 0}]}"#)
                .contains("cannot be combined")
        );
        assert!(bad(r#"{"x": [{"reduce_range": true}]}"#).contains("applies to constants"));
        assert!(bad(r#"{"z": [{"rmin": 0}]}"#).contains("'z' is not in the model"));
        assert!(bad(r#"{"x": [{"quant_type": "QInt3"}]}"#).contains("unknown quant_type 'QInt3'"));
        assert!(bad(r#"{"x": [{"convert": {}}]}"#).contains("not supported"));
        assert!(bad(r#"{"x": [{"axis": 0}]}"#).contains("not a constant"));
        assert!(bad(r#"{"x": [{"rmn": 0}]}"#).contains("unknown key 'rmn'"));
    }
}
