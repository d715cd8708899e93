//! The ONNX dialect of onnxqc: what the compiler knows about ONNX ops. For now that is the op schemas
//! ([`schemas`], generated from onnx and onnxruntime by `scripts/gen_op_schemas.py`) registered into an
//! [`OpRegistry`] by [`register`], plus the mapping between ONNX `(domain, op_type)` pairs and IR op
//! kinds ([`op_kind`], [`domain_of`]). ONNX protobuf import and export will come here too.
//!
//! Op kinds are `<domain>.<OpType>`, with the default domain (`""`, also spelled `"ai.onnx"`) written
//! [`DEFAULT_DOMAIN_PREFIX`]: `onnx.Conv`, `com.microsoft.QLinearConv`,
//! `ai.onnx.ml.TreeEnsembleClassifier`.

use onnxqc_ir::{Arity, OpDef, OpRegistry};

pub mod attrs;
mod error;
pub mod export;
pub mod import;
pub mod proto;
pub mod schemas;
pub mod tensor_proto;
pub mod verify;

pub use error::{OnnxError, Result};
pub use export::{export_file, ExportOptions, ExternalData};
pub use import::{import_file, ImportOptions, Imported};

/// The prefix of op kinds from ONNX's default domain (`""` or `"ai.onnx"`).
pub const DEFAULT_DOMAIN_PREFIX: &str = "onnx";

/// Terminator of the body regions of `onnx.If`, `onnx.Loop` and `onnx.Scan`: its operands are the
/// region's outputs (the subgraph's `output` list).
pub const YIELD: &str = "onnx.Yield";

/// Stands for an absent optional input (an empty input name in ONNX), so that later inputs keep their
/// positions.
pub const NO_VALUE: &str = "onnx.NoValue";

/// Registers every ONNX op of [`schemas::ONNX_OPS`] plus [`YIELD`] and [`NO_VALUE`].
pub fn register(reg: &mut OpRegistry) {
    for def in schemas::ONNX_OPS {
        reg.insert(def.clone());
    }
    reg.insert(OpDef {
        terminator: true,
        ..OpDef::pure(YIELD, Arity::at_least(0), Arity::exactly(0))
    });
    reg.insert(OpDef::pure(NO_VALUE, Arity::exactly(0), Arity::exactly(1)));
    reg.add_verifier("onnx.Constant", verify::verify_constant);
    reg.add_verifier("onnx.If", verify::verify_if);
    for &kind in verify::SAME_TYPE_ELEMENTWISE {
        reg.add_verifier(kind, verify::verify_same_elem);
    }
}

/// The op kind of ONNX op `op_type` in `domain`: `("", "Conv")` and `("ai.onnx", "Conv")` give
/// `onnx.Conv`, `("com.microsoft", "QLinearConv")` gives `com.microsoft.QLinearConv`.
/// A model-local function's body for one call: ops that read a function attribute (`ref_attr_name`, kept
/// by the importer in [`attrs::REF_ATTRS`]) get the caller's value, else the function's default, else lose
/// the attribute. The runtime compiles calls from it and shape inference infers through it.
pub fn instantiate_function(f: &onnxqc_ir::Function, call: &onnxqc_ir::OpData) -> onnxqc_ir::Body {
    use onnxqc_ir::Attribute;
    let defaults = match f
        .attrs
        .iter()
        .find(|(k, _)| &**k == attrs::FUNCTION_ATTRIBUTE_DEFAULTS)
    {
        Some((_, Attribute::Dict(d))) => d.clone(),
        _ => vec![],
    };
    let mut body = f.body.clone();
    for op in body.all_ops() {
        let refs = match body.op(op).attr(attrs::REF_ATTRS) {
            Some(Attribute::Dict(r)) => r.clone(),
            _ => continue,
        };
        let data = body.op_mut(op);
        for (attr, referenced) in refs {
            // The importer stores `[referenced name, attribute type]`.
            let referenced = match &referenced {
                Attribute::String(r) => r.as_str(),
                Attribute::Strings(r) if !r.is_empty() => r[0].as_str(),
                _ => continue,
            };
            let value = call.attr(referenced).cloned().or_else(|| {
                defaults
                    .iter()
                    .find(|(k, _)| &**k == referenced)
                    .map(|(_, v)| v.clone())
            });
            match value {
                Some(v) => data.set_attr(&attr, v),
                None => {
                    data.remove_attr(&attr);
                }
            }
        }
        data.remove_attr(attrs::REF_ATTRS);
    }
    body
}

/// The opset assumed for modules that do not record one (text-IR inputs).
pub const LATEST_OPSET: i64 = 23;

/// The module's opset version for `domain` (`""`, `"ai.onnx"` or `"onnx"` for the default domain), from
/// its opset imports; `None` when the module does not import the domain.
pub fn opset_version(module: &onnxqc_ir::Module, domain: &str) -> Option<i64> {
    let key = match domain {
        "" | "onnx" => attrs::DEFAULT_DOMAIN_KEY,
        d => d,
    };
    match module.attr(attrs::OPSET_IMPORT) {
        Some(onnxqc_ir::Attribute::Dict(d)) => d
            .iter()
            .find(|(k, _)| &**k == key || (key == attrs::DEFAULT_DOMAIN_KEY && k.is_empty()))
            .and_then(|(_, v)| v.as_int()),
        _ => None,
    }
}

/// The module's default-domain opset ([`LATEST_OPSET`] when the module does not say).
pub fn default_opset(module: &onnxqc_ir::Module) -> i64 {
    opset_version(module, "").unwrap_or(LATEST_OPSET)
}

/// Records that the module imports `domain` at `version` (raising an older import; never lowering it), so
/// that a pass that introduces ops of a new domain (`com.microsoft`) leaves a loadable model.
pub fn require_opset(module: &mut onnxqc_ir::Module, domain: &str, version: i64) {
    let key: std::sync::Arc<str> = match domain {
        "" | "onnx" => attrs::DEFAULT_DOMAIN_KEY.into(),
        d => d.into(),
    };
    let slot = module
        .attrs
        .iter_mut()
        .find(|(k, _)| &**k == attrs::OPSET_IMPORT);
    let dict = match slot {
        Some((_, onnxqc_ir::Attribute::Dict(d))) => d,
        _ => {
            module.attrs.retain(|(k, _)| &**k != attrs::OPSET_IMPORT);
            module.attrs.push((
                attrs::OPSET_IMPORT.into(),
                onnxqc_ir::Attribute::Dict(vec![]),
            ));
            match module.attrs.last_mut() {
                Some((_, onnxqc_ir::Attribute::Dict(d))) => d,
                _ => unreachable!("just pushed a dict"),
            }
        }
    };
    match dict.iter_mut().find(|(k, _)| *k == key) {
        Some((_, v)) => {
            if v.as_int().is_none_or(|old| old < version) {
                *v = onnxqc_ir::Attribute::Int(version);
            }
        }
        None => dict.push((key, onnxqc_ir::Attribute::Int(version))),
    }
}

pub fn op_kind(domain: &str, op_type: &str) -> String {
    let prefix = match domain {
        "" | "ai.onnx" => DEFAULT_DOMAIN_PREFIX,
        d => d,
    };
    format!("{prefix}.{op_type}")
}

/// The ONNX domain of an op kind, the inverse of [`op_kind`]: everything before the last `.`, with
/// [`DEFAULT_DOMAIN_PREFIX`] mapped back to `""`. `onnx.Conv` gives `""`, `ai.onnx.ml.Binarizer` gives
/// `ai.onnx.ml`. A kind without a `.` has no domain and gives `""`.
pub fn domain_of(kind: &str) -> &str {
    match kind.rsplit_once('.') {
        Some((DEFAULT_DOMAIN_PREFIX, _)) | None => "",
        Some((domain, _)) => domain,
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) fn registry() -> OpRegistry {
        let mut reg = OpRegistry::new();
        register(&mut reg);
        reg
    }

    #[test]
    fn opset_imports_are_read_and_raised() {
        let mut m = onnxqc_ir::Module::default();
        assert_eq!(opset_version(&m, ""), None);
        assert_eq!(default_opset(&m), LATEST_OPSET);
        require_opset(&mut m, "", 13);
        require_opset(&mut m, "com.microsoft", 1);
        require_opset(&mut m, "onnx", 11);
        assert_eq!(opset_version(&m, "ai.onnx"), Some(13));
        assert_eq!(opset_version(&m, "com.microsoft"), Some(1));
        require_opset(&mut m, "", 17);
        assert_eq!(default_opset(&m), 17);
    }

    #[test]
    fn conv_arity() {
        let reg = registry();
        let conv = reg.get("onnx.Conv").expect("onnx.Conv registered");
        assert_eq!(conv.operands, Arity::range(2, 3));
        assert_eq!(conv.results, Arity::exactly(1));
        assert_eq!(conv.regions, Arity::exactly(0));
        assert!(conv.cse_allowed());
    }

    #[test]
    fn control_flow_regions() {
        let reg = registry();
        assert_eq!(reg.get("onnx.If").unwrap().regions, Arity::exactly(2));
        assert_eq!(reg.get("onnx.Loop").unwrap().regions, Arity::exactly(1));
        assert_eq!(reg.get("onnx.Scan").unwrap().regions, Arity::exactly(1));
    }

    #[test]
    fn concat_is_variadic() {
        let concat = registry().get("onnx.Concat").cloned().unwrap();
        assert_eq!(concat.operands, Arity::at_least(1));
        assert!(concat.operands.contains(1000));
    }

    #[test]
    fn random_ops_are_nondeterministic() {
        let reg = registry();
        for kind in [
            "onnx.RandomNormal",
            "onnx.RandomUniformLike",
            "onnx.Multinomial",
            "onnx.Bernoulli",
        ] {
            let def = reg.get(kind).unwrap();
            assert!(def.nondeterministic, "{kind}");
            assert!(!def.cse_allowed(), "{kind}");
            assert!(reg.removable_if_unused(&kind.into()), "{kind}");
        }
        assert!(!reg.get("onnx.Dropout").unwrap().nondeterministic);
    }

    #[test]
    fn other_domains_present() {
        let reg = registry();
        let qconv = reg
            .get("com.microsoft.QLinearConv")
            .expect("contrib op registered");
        assert_eq!(qconv.operands, Arity::range(8, 9));
        assert!(reg.get("ai.onnx.ml.TreeEnsembleClassifier").is_some());
        assert!(reg.get("ai.onnx.preview.training.Adam").is_some());
    }

    #[test]
    fn yield_and_no_value() {
        let reg = registry();
        let y = reg.get(YIELD).unwrap();
        assert!(y.terminator);
        assert_eq!(y.operands, Arity::at_least(0));
        assert_eq!(y.results, Arity::exactly(0));
        let nv = reg.get(NO_VALUE).unwrap();
        assert_eq!(
            (nv.operands, nv.results),
            (Arity::exactly(0), Arity::exactly(1))
        );
        assert!(nv.cse_allowed());
    }

    #[test]
    fn table_is_sorted_and_pure() {
        assert!(schemas::ONNX_OPS.windows(2).all(|w| w[0].kind < w[1].kind));
        assert!(schemas::ONNX_OPS
            .iter()
            .all(|d| !d.has_side_effects && !d.terminator));
        let latest = |d: &str| {
            schemas::ONNX_DOMAIN_LATEST_OPSET
                .iter()
                .find(|(n, _)| *n == d)
                .map(|p| p.1)
        };
        assert!(latest("").is_some_and(|v| v >= 21));
        assert!(latest("com.microsoft").is_some());
    }

    #[test]
    fn kind_domain_round_trip() {
        assert_eq!(op_kind("", "Conv"), "onnx.Conv");
        assert_eq!(op_kind("ai.onnx", "Conv"), "onnx.Conv");
        assert_eq!(domain_of("onnx.Conv"), "");
        assert_eq!(domain_of("ai.onnx.ml.TreeEnsembleClassifier"), "ai.onnx.ml");
        assert_eq!(domain_of("NoDot"), "");
        for def in schemas::ONNX_OPS {
            let (_, op_type) = def.kind.rsplit_once('.').unwrap();
            assert_eq!(op_kind(domain_of(def.kind), op_type), def.kind);
        }
        for (domain, op_type) in [
            ("", "Relu"),
            ("com.microsoft", "QLinearConv"),
            ("ai.onnx.ml", "Scaler"),
        ] {
            let kind = op_kind(domain, op_type);
            assert_eq!(domain_of(&kind), domain);
        }
    }
}
