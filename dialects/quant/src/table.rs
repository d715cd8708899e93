//! Calibration tables: the ranges chosen by calibration, per tensor name. The `calibrate` pass stores its
//! table in the module as the attribute [`CALIBRATION_ATTR`] (so the text IR shows it and the lowering
//! passes read it), and tables are written to and read from files (`--calibration-table`).
//!
//! In the IR: `qc.calibration = {method = "minmax", tensors = {x = [lo, hi], y = [lo, hi, avg, std]}}`,
//! the floats as f32 (`[-1.0 : f32, 2.5 : f32]`), tensors in the order calibration found them.

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
    fn malformed_entries_are_named() {
        let bad = Attribute::Dict(vec![(
            "tensors".into(),
            Attribute::Dict(vec![("y".into(), Attribute::Floats(vec![1.0]))]),
        )]);
        let e = CalibrationTable::from_attribute(&bad).unwrap_err();
        assert!(e.contains("'y'"), "{e}");
    }
}
