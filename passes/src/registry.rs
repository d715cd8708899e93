//! The pass registry: every pass declares its CLI name, a one-line summary, its options and the facts it
//! requires from earlier passes. The registry drives `--list-passes`, pipeline parsing and
//! `docs/adding-a-pass.md`'s checklist; adding a pass means adding one [`PassInfo`] to [`PassRegistry::builtin`].

use crate::options::{OptionSpec, PassOptions};
use crate::Pass;

/// A fact a pass needs about the module (e.g. "quantization parameters are known") and the passes that
/// establish it.
#[derive(Clone, Debug)]
pub struct Requirement {
    pub fact: &'static str,
    pub provided_by: &'static [&'static str],
}

/// The declaration of a pass.
pub struct PassInfo {
    pub name: &'static str,
    pub summary: &'static str,
    pub options: &'static [OptionSpec],
    /// Facts that must hold before the pass runs.
    pub requires: &'static [Requirement],
    /// Facts that hold after the pass ran.
    pub provides: &'static [&'static str],
    pub create: fn(&PassOptions) -> Box<dyn Pass>,
}

impl std::fmt::Debug for PassInfo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PassInfo")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

/// A named pipeline (`preprocess`): written in a pipeline string like a pass, it expands in place.
#[derive(Clone, Debug)]
pub struct Preset {
    pub name: &'static str,
    pub summary: &'static str,
    pub pipeline: &'static str,
}

/// The passes and presets known to this build.
#[derive(Debug, Default)]
pub struct PassRegistry {
    passes: Vec<PassInfo>,
    presets: Vec<Preset>,
}

impl PassRegistry {
    /// Every built-in pass.
    pub fn builtin() -> PassRegistry {
        let mut r = PassRegistry::default();
        r.register(crate::dce::info());
        r.register(crate::cse::info());
        r.register(crate::shape_infer::info());
        r.register(crate::fold::info());
        r.register(crate::fuse::info());
        r.register(crate::calibrate::info());
        r.register(crate::qdq::info());
        r.register(crate::dynamic::info());
        r.register_preset(Preset {
            name: "preprocess",
            summary: "Clean the graph for quantization: shapes, folding, fusion, CSE, DCE",
            pipeline: "shape-infer,fold,fuse,cse,dce,shape-infer",
        });
        r
    }

    /// Adds a preset; a preset may not share a pass's name.
    pub fn register_preset(&mut self, preset: Preset) {
        assert!(
            self.get(preset.name).is_none(),
            "preset '{}' has the name of a pass",
            preset.name
        );
        self.presets.retain(|p| p.name != preset.name);
        self.presets.push(preset);
        self.presets.sort_by_key(|p| p.name);
    }

    pub fn preset(&self, name: &str) -> Option<&Preset> {
        self.presets.iter().find(|p| p.name == name)
    }

    pub fn presets(&self) -> impl Iterator<Item = &Preset> {
        self.presets.iter()
    }

    /// Adds a pass; a later pass with the same name replaces the earlier one.
    pub fn register(&mut self, info: PassInfo) {
        self.passes.retain(|p| p.name != info.name);
        self.passes.push(info);
        self.passes.sort_by_key(|p| p.name);
    }

    pub fn get(&self, name: &str) -> Option<&PassInfo> {
        self.passes.iter().find(|p| p.name == name)
    }

    pub fn iter(&self) -> impl Iterator<Item = &PassInfo> {
        self.passes.iter()
    }

    /// The text of `--list-passes`: each pass, its summary and options.
    pub fn describe(&self) -> String {
        let mut out = String::from("Registered passes:\n");
        let width = self.passes.iter().map(|p| p.name.len()).max().unwrap_or(0);
        for p in &self.passes {
            out.push_str(&format!("  {:width$}  {}\n", p.name, p.summary));
            for o in p.options {
                out.push_str(&format!(
                    "  {:width$}    {}=<value>  ({}, default {}) {}\n",
                    "", o.name, o.kind, o.default, o.help
                ));
            }
        }
        if !self.presets.is_empty() {
            out.push_str("\nPresets (expand in place in a pipeline):\n");
            for p in &self.presets {
                out.push_str(&format!("  {:width$}  {}\n", p.name, p.summary));
                out.push_str(&format!("  {:width$}    = {}\n", "", p.pipeline));
            }
        }
        out
    }

    /// "a, b, c": the names, for error messages.
    pub fn names(&self) -> String {
        self.passes
            .iter()
            .map(|p| p.name)
            .chain(self.presets.iter().map(|p| p.name))
            .collect::<Vec<_>>()
            .join(", ")
    }
}
