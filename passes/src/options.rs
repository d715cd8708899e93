//! Pass options: typed declarations ([`OptionSpec`]) and the values parsed from a pipeline string
//! (`cse{include-unknown=true}`). Every declared option has a default, so a pass reads its options with
//! the typed getters of [`PassOptions`] and never sees a missing value.

use std::fmt;

/// The type of an option's value.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum OptKind {
    Bool,
    Int {
        min: i64,
        max: i64,
    },
    Float,
    String,
    /// One of a fixed set of words.
    Enum(&'static [&'static str]),
    /// A comma-separated list of words, written `[a,b]` or `a` in a pipeline.
    List,
}

impl fmt::Display for OptKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            OptKind::Bool => f.write_str("bool"),
            OptKind::Int { min, max } if *min == i64::MIN && *max == i64::MAX => f.write_str("int"),
            OptKind::Int { min, max } => write!(f, "int in [{min}, {max}]"),
            OptKind::Float => f.write_str("float"),
            OptKind::String => f.write_str("string"),
            OptKind::Enum(words) => write!(f, "one of {}", words.join("|")),
            OptKind::List => f.write_str("list"),
        }
    }
}

/// A declared option.
#[derive(Clone, Debug)]
pub struct OptionSpec {
    pub name: &'static str,
    pub kind: OptKind,
    /// The default, written as it would be in a pipeline.
    pub default: &'static str,
    pub help: &'static str,
}

/// A parsed option value.
#[derive(Clone, Debug, PartialEq)]
pub enum OptValue {
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    List(Vec<String>),
}

impl OptValue {
    /// Parses `text` as a value of `kind`; the error says what was expected.
    pub fn parse(kind: OptKind, text: &str) -> Result<OptValue, String> {
        let t = text.trim();
        match kind {
            OptKind::Bool => match t {
                "true" | "1" | "on" | "yes" | "" => Ok(OptValue::Bool(true)),
                "false" | "0" | "off" | "no" => Ok(OptValue::Bool(false)),
                _ => Err(format!("expected true or false, got '{t}'")),
            },
            OptKind::Int { min, max } => {
                let v: i64 = t
                    .parse()
                    .map_err(|_| format!("expected an integer, got '{t}'"))?;
                if v < min || v > max {
                    return Err(format!("{v} is out of range [{min}, {max}]"));
                }
                Ok(OptValue::Int(v))
            }
            OptKind::Float => t
                .parse::<f64>()
                .ok()
                .filter(|v| v.is_finite())
                .map(OptValue::Float)
                .ok_or_else(|| format!("expected a number, got '{t}'")),
            OptKind::String => Ok(OptValue::Str(unquote(t).to_string())),
            OptKind::Enum(words) => {
                if words.contains(&t) {
                    Ok(OptValue::Str(t.to_string()))
                } else {
                    Err(format!("expected one of {}, got '{t}'", words.join(", ")))
                }
            }
            OptKind::List => {
                let inner = t
                    .strip_prefix('[')
                    .and_then(|s| s.strip_suffix(']'))
                    .unwrap_or(t);
                Ok(OptValue::List(
                    inner
                        .split(',')
                        .map(|s| unquote(s.trim()).to_string())
                        .filter(|s| !s.is_empty())
                        .collect(),
                ))
            }
        }
    }
}

fn unquote(s: &str) -> &str {
    s.strip_prefix('"')
        .and_then(|s| s.strip_suffix('"'))
        .unwrap_or(s)
}

/// The option values of one pass instance: every declared option, defaults filled in.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct PassOptions {
    values: Vec<(&'static str, OptValue)>,
}

impl PassOptions {
    /// Options from the declared defaults.
    pub fn defaults(specs: &[OptionSpec]) -> PassOptions {
        let values = specs
            .iter()
            .map(|s| {
                (
                    s.name,
                    OptValue::parse(s.kind, s.default).expect("a declared default parses"),
                )
            })
            .collect();
        PassOptions { values }
    }

    pub fn set(&mut self, name: &'static str, value: OptValue) {
        match self.values.iter_mut().find(|(n, _)| *n == name) {
            Some(slot) => slot.1 = value,
            None => self.values.push((name, value)),
        }
    }

    fn get(&self, name: &str) -> &OptValue {
        &self
            .values
            .iter()
            .find(|(n, _)| *n == name)
            .unwrap_or_else(|| panic!("option '{name}' is not declared"))
            .1
    }

    pub fn bool(&self, name: &str) -> bool {
        matches!(self.get(name), OptValue::Bool(true))
    }

    pub fn int(&self, name: &str) -> i64 {
        match self.get(name) {
            OptValue::Int(v) => *v,
            other => panic!("option '{name}' is not an int: {other:?}"),
        }
    }

    pub fn float(&self, name: &str) -> f64 {
        match self.get(name) {
            OptValue::Float(v) => *v,
            other => panic!("option '{name}' is not a float: {other:?}"),
        }
    }

    pub fn str(&self, name: &str) -> &str {
        match self.get(name) {
            OptValue::Str(v) => v,
            other => panic!("option '{name}' is not a string: {other:?}"),
        }
    }

    pub fn list(&self, name: &str) -> &[String] {
        match self.get(name) {
            OptValue::List(v) => v,
            other => panic!("option '{name}' is not a list: {other:?}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_each_kind() {
        assert_eq!(
            OptValue::parse(OptKind::Bool, "false"),
            Ok(OptValue::Bool(false))
        );
        assert!(OptValue::parse(OptKind::Bool, "maybe").is_err());
        let k = OptKind::Int { min: 1, max: 8 };
        assert_eq!(OptValue::parse(k, "4"), Ok(OptValue::Int(4)));
        assert!(OptValue::parse(k, "9")
            .unwrap_err()
            .contains("out of range"));
        assert!(OptValue::parse(OptKind::Enum(&["rtn", "hqq"]), "gptq")
            .unwrap_err()
            .contains("rtn, hqq"));
        assert_eq!(
            OptValue::parse(OptKind::List, "[a, \"b c\"]"),
            Ok(OptValue::List(vec!["a".into(), "b c".into()]))
        );
        assert!(OptValue::parse(OptKind::Float, "nan").is_err());
    }
}
