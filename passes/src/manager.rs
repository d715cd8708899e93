//! The pass manager: parses pipeline strings (`a,b{opt=v,opt2=v},c`) against the registry and runs them
//! over a module, verifying after each pass (unless disabled), printing the IR after chosen passes, and
//! timing each pass (wall time and resident-memory change).
//!
//! Pipeline grammar: `pipeline := entry (',' entry)*`, `entry := NAME ('{' opt (',' opt)* '}')?`,
//! `opt := KEY ('=' VALUE)?`. A value may hold commas inside `[...]` or `"..."`. A bare `KEY` sets a bool
//! option to true. Errors carry the byte offset in the pipeline string so the CLI can point at it.

use std::time::{Duration, Instant};

use onnxqc_ir::{verify::verify_module, Diagnostic, Module};

use crate::options::{OptValue, PassOptions};
use crate::registry::{PassInfo, PassRegistry};
use crate::{PassContext, PassError, PassOutcome};

/// One pass of a pipeline with its options.
#[derive(Debug)]
pub struct PipelineEntry<'r> {
    pub info: &'r PassInfo,
    pub options: PassOptions,
    /// The options as written, for printing the pipeline back.
    pub text: String,
}

#[derive(Debug, Default)]
pub struct Pipeline<'r> {
    pub entries: Vec<PipelineEntry<'r>>,
}

impl Pipeline<'_> {
    /// The pipeline as a string that parses back to the same pipeline.
    pub fn to_text(&self) -> String {
        self.entries
            .iter()
            .map(|e| e.text.clone())
            .collect::<Vec<_>>()
            .join(",")
    }
}

/// A pipeline string that does not parse, with the offset of the problem.
#[derive(Debug, Clone, PartialEq)]
pub struct PipelineError {
    pub message: String,
    pub offset: usize,
    /// What exists (the registered passes, or the pass's options).
    pub help: String,
}

fn err(message: String, offset: usize, help: String) -> PipelineError {
    PipelineError {
        message,
        offset,
        help,
    }
}

/// Parses a pipeline string against the registry.
pub fn parse_pipeline<'r>(
    text: &str,
    reg: &'r PassRegistry,
) -> Result<Pipeline<'r>, PipelineError> {
    let mut entries = Vec::new();
    let bytes = text.as_bytes();
    let mut i = 0;
    let skip_ws = |i: &mut usize| {
        while *i < bytes.len() && bytes[*i].is_ascii_whitespace() {
            *i += 1;
        }
    };
    skip_ws(&mut i);
    if i == bytes.len() {
        return Ok(Pipeline::default());
    }
    loop {
        skip_ws(&mut i);
        let start = i;
        while i < bytes.len()
            && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'-' || bytes[i] == b'_')
        {
            i += 1;
        }
        let name = &text[start..i];
        if name.is_empty() {
            return Err(err(
                "expected a pass name".into(),
                start,
                format!("registered passes: {}", reg.names()),
            ));
        }
        if let Some(preset) = reg.preset(name) {
            // A preset expands in place to its pipeline; it takes no options of its own.
            let expanded = parse_pipeline(preset.pipeline, reg).map_err(|e| {
                err(
                    format!("preset '{name}' does not parse: {}", e.message),
                    start,
                    e.help,
                )
            })?;
            entries.extend(expanded.entries);
            skip_ws(&mut i);
            if bytes.get(i) == Some(&b'{') {
                return Err(err(
                    format!("preset '{name}' takes no options"),
                    i,
                    format!("'{name}' = {}", preset.pipeline),
                ));
            }
            match bytes.get(i) {
                None => break,
                Some(b',') => {
                    i += 1;
                    continue;
                }
                Some(_) => {
                    return Err(err(
                        "expected ',' between passes".into(),
                        i,
                        format!("registered passes: {}", reg.names()),
                    ))
                }
            }
        }
        let Some(info) = reg.get(name) else {
            return Err(err(
                format!("unknown pass '{name}'"),
                start,
                format!("registered passes: {}", reg.names()),
            ));
        };
        let mut options = PassOptions::defaults(info.options);
        skip_ws(&mut i);
        let mut entry_end = i;
        if i < bytes.len() && bytes[i] == b'{' {
            i += 1;
            loop {
                skip_ws(&mut i);
                if i < bytes.len() && bytes[i] == b'}' {
                    i += 1;
                    break;
                }
                let key_start = i;
                while i < bytes.len() && !matches!(bytes[i], b'=' | b',' | b'}') {
                    i += 1;
                }
                let key = text[key_start..i].trim();
                let options_help = || {
                    if info.options.is_empty() {
                        format!("pass '{name}' has no options")
                    } else {
                        format!(
                            "options of '{name}': {}",
                            info.options
                                .iter()
                                .map(|o| format!("{} ({})", o.name, o.kind))
                                .collect::<Vec<_>>()
                                .join(", ")
                        )
                    }
                };
                let Some(spec) = info.options.iter().find(|o| o.name == key) else {
                    return Err(err(
                        format!("unknown option '{key}' for pass '{name}'"),
                        key_start,
                        options_help(),
                    ));
                };
                let mut value = String::new();
                let mut value_start = i;
                if i < bytes.len() && bytes[i] == b'=' {
                    i += 1;
                    value_start = i;
                    let mut depth = 0i32;
                    let mut quoted = false;
                    while i < bytes.len() {
                        match bytes[i] {
                            b'"' => quoted = !quoted,
                            b'[' if !quoted => depth += 1,
                            b']' if !quoted => depth -= 1,
                            b',' | b'}' if !quoted && depth == 0 => break,
                            _ => {}
                        }
                        i += 1;
                    }
                    value = text[value_start..i].to_string();
                } else if spec.kind != crate::OptKind::Bool {
                    return Err(err(
                        format!(
                            "option '{key}' of pass '{name}' needs a value ({})",
                            spec.kind
                        ),
                        key_start,
                        options_help(),
                    ));
                }
                let parsed = OptValue::parse(spec.kind, &value).map_err(|m| {
                    err(
                        format!("bad value for option '{key}' of pass '{name}': {m}"),
                        value_start,
                        options_help(),
                    )
                })?;
                options.set(spec.name, parsed);
                skip_ws(&mut i);
                match bytes.get(i) {
                    Some(b',') => i += 1,
                    Some(b'}') => {}
                    _ => {
                        return Err(err(
                            format!("expected ',' or '}}' in the options of '{name}'"),
                            i,
                            options_help(),
                        ))
                    }
                }
            }
            entry_end = i;
        }
        entries.push(PipelineEntry {
            info,
            options,
            text: text[start..entry_end].trim().to_string(),
        });
        skip_ws(&mut i);
        match bytes.get(i) {
            None => break,
            Some(b',') => i += 1,
            Some(_) => {
                return Err(err(
                    "expected ',' between passes".into(),
                    i,
                    format!("registered passes: {}", reg.names()),
                ))
            }
        }
    }
    Ok(Pipeline { entries })
}

/// How to run a pipeline.
pub struct RunConfig<'a> {
    pub verify_each: bool,
    /// Print the IR after passes with these names.
    pub print_after: Vec<String>,
    pub print_after_all: bool,
    /// Where IR dumps go (the CLI passes stderr).
    pub dump: &'a mut dyn FnMut(&str, &Module),
}

/// Timing and statistics of one pass run.
#[derive(Clone, Debug)]
pub struct PassTiming {
    pub name: &'static str,
    pub wall: Duration,
    /// Change of resident memory across the pass, in bytes (0 where the OS does not say).
    pub rss_delta: i64,
    pub outcome: PassOutcome,
}

#[derive(Clone, Debug, Default)]
pub struct RunReport {
    pub passes: Vec<PassTiming>,
    pub verify: Duration,
}

impl RunReport {
    /// The `--time-passes` table.
    pub fn table(&self) -> String {
        let total: Duration = self.passes.iter().map(|p| p.wall).sum::<Duration>() + self.verify;
        let mut out = String::new();
        out.push_str(
            "===-------------------------------------------------------------------------===\n",
        );
        out.push_str("                          onnxqc pass execution timing\n");
        out.push_str(
            "===-------------------------------------------------------------------------===\n",
        );
        out.push_str(&format!("  Total: {:.6} s\n\n", total.as_secs_f64()));
        out.push_str("   Wall Time (s)    (%)   RSS delta (MiB)   Name            Statistics\n");
        let pct = |d: Duration| {
            if total.is_zero() {
                0.0
            } else {
                100.0 * d.as_secs_f64() / total.as_secs_f64()
            }
        };
        for p in &self.passes {
            let stats = p
                .outcome
                .stats
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join(" ");
            out.push_str(&format!(
                "   {:>12.6}  {:>6.1}%   {:>15.1}   {:<15} {}\n",
                p.wall.as_secs_f64(),
                pct(p.wall),
                p.rss_delta as f64 / (1024.0 * 1024.0),
                p.name,
                stats
            ));
        }
        if !self.verify.is_zero() {
            out.push_str(&format!(
                "   {:>12.6}  {:>6.1}%   {:>15}   {:<15}\n",
                self.verify.as_secs_f64(),
                pct(self.verify),
                "",
                "(verifier)"
            ));
        }
        out.push_str(&format!(
            "   {:>12.6}  {:>6.1}%   {:>15}   Total\n",
            total.as_secs_f64(),
            100.0,
            ""
        ));
        out
    }
}

/// Why a pipeline stopped.
#[derive(Debug)]
pub enum RunError {
    /// A pass refused the input (user error).
    Pass(PassError),
    /// A requirement of a pass is not established by the passes before it (user error).
    Requirement {
        pass: &'static str,
        fact: &'static str,
        provided_by: &'static [&'static str],
    },
    /// A pass produced IR that does not verify (a bug in the pass).
    InvalidIr {
        pass: &'static str,
        diagnostics: Vec<Diagnostic>,
    },
}

impl std::fmt::Display for RunError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RunError::Pass(e) => {
                write!(f, "pass '{}' failed", e.pass)?;
                for d in &e.diagnostics {
                    write!(f, "\n{d}")?;
                }
                Ok(())
            }
            RunError::Requirement {
                pass,
                fact,
                provided_by,
            } => write!(
                f,
                "pass '{pass}' needs {fact}; run {} before it",
                provided_by
                    .iter()
                    .map(|p| format!("'{p}'"))
                    .collect::<Vec<_>>()
                    .join(" or ")
            ),
            RunError::InvalidIr { pass, diagnostics } => {
                write!(f, "internal error: pass '{pass}' produced invalid IR")?;
                for d in diagnostics {
                    write!(f, "\n{d}")?;
                }
                Ok(())
            }
        }
    }
}

/// Facts a module already has, recorded by earlier runs in the module attribute `onnxqc.facts`.
fn module_facts(module: &Module) -> Vec<String> {
    match module.attr("onnxqc.facts") {
        Some(onnxqc_ir::Attribute::Strings(v)) => v.clone(),
        _ => vec![],
    }
}

/// Records facts a pass established in the module, so that a later run (e.g. on the printed IR) knows them.
fn record_facts(module: &mut Module, facts: &[&str]) {
    if facts.is_empty() {
        return;
    }
    let mut all = module_facts(module);
    for f in facts {
        if !all.iter().any(|x| x == f) {
            all.push(f.to_string());
        }
    }
    let value = onnxqc_ir::Attribute::Strings(all);
    match module
        .attrs
        .iter_mut()
        .find(|(k, _)| &**k == "onnxqc.facts")
    {
        Some(slot) => slot.1 = value,
        None => module.attrs.push(("onnxqc.facts".into(), value)),
    }
}

/// Checks every pass's requirements against the passes before it, before anything runs.
pub fn check_requirements(pipeline: &Pipeline, module: &Module) -> Result<(), RunError> {
    let mut facts = module_facts(module);
    for e in &pipeline.entries {
        for r in e.info.requires {
            if !facts.iter().any(|f| f == r.fact) {
                return Err(RunError::Requirement {
                    pass: e.info.name,
                    fact: r.fact,
                    provided_by: r.provided_by,
                });
            }
        }
        facts.extend(e.info.provides.iter().map(|s| s.to_string()));
    }
    Ok(())
}

/// Runs a pipeline over a module.
pub fn run_pipeline(
    pipeline: &Pipeline,
    module: &mut Module,
    cx: &PassContext,
    config: &mut RunConfig,
) -> Result<RunReport, RunError> {
    check_requirements(pipeline, module)?;
    let mut report = RunReport::default();
    for e in &pipeline.entries {
        let mut pass = (e.info.create)(&e.options);
        let rss_before = resident_bytes();
        let start = Instant::now();
        let outcome = pass.run(module, cx).map_err(RunError::Pass)?;
        let wall = start.elapsed();
        let rss_delta = resident_bytes() as i64 - rss_before as i64;
        report.passes.push(PassTiming {
            name: e.info.name,
            wall,
            rss_delta,
            outcome,
        });
        record_facts(module, e.info.provides);
        if config.verify_each {
            let t = Instant::now();
            let res = verify_module(module, cx.ops);
            report.verify += t.elapsed();
            if let Err(diagnostics) = res {
                return Err(RunError::InvalidIr {
                    pass: e.info.name,
                    diagnostics,
                });
            }
        }
        if config.print_after_all || config.print_after.iter().any(|n| n == e.info.name) {
            (config.dump)(e.info.name, module);
        }
    }
    Ok(report)
}

/// Resident set size of this process in bytes (Linux; 0 elsewhere).
pub fn resident_bytes() -> u64 {
    let Ok(statm) = std::fs::read_to_string("/proc/self/statm") else {
        return 0;
    };
    let pages: u64 = statm
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    pages * 4096
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_names_and_options() {
        let reg = PassRegistry::builtin();
        let p = parse_pipeline(" dce , cse{include-unknown=true} ", &reg).unwrap();
        assert_eq!(p.entries.len(), 2);
        assert!(p.entries[1].options.bool("include-unknown"));
        assert_eq!(p.to_text(), "dce,cse{include-unknown=true}");
        let p = parse_pipeline("cse{include-unknown}", &reg).unwrap();
        assert!(p.entries[0].options.bool("include-unknown"));
        assert!(parse_pipeline("", &reg).unwrap().entries.is_empty());
    }

    #[test]
    fn requirements_are_checked_before_anything_runs() {
        use crate::registry::{PassInfo, Requirement};
        static NEEDS: [Requirement; 1] = [Requirement {
            fact: "ranges",
            provided_by: &["calibrate"],
        }];
        let mut reg = PassRegistry::builtin();
        reg.register(PassInfo {
            name: "calibrate",
            summary: "test provider",
            options: &[],
            requires: &[],
            provides: &["ranges"],
            create: crate::dce::info().create,
        });
        reg.register(PassInfo {
            name: "lower",
            summary: "test consumer",
            options: &[],
            requires: &NEEDS,
            provides: &[],
            create: crate::dce::info().create,
        });
        let mut module = Module::default();
        let err =
            check_requirements(&parse_pipeline("dce,lower", &reg).unwrap(), &module).unwrap_err();
        assert_eq!(
            err.to_string(),
            "pass 'lower' needs ranges; run 'calibrate' before it"
        );
        assert!(
            check_requirements(&parse_pipeline("calibrate,lower", &reg).unwrap(), &module).is_ok()
        );
        // A fact recorded in the module by an earlier run counts too.
        module.attrs.push((
            "onnxqc.facts".into(),
            onnxqc_ir::Attribute::Strings(vec!["ranges".into()]),
        ));
        assert!(check_requirements(&parse_pipeline("lower", &reg).unwrap(), &module).is_ok());
    }

    #[test]
    fn presets_expand_in_place() {
        let reg = PassRegistry::builtin();
        let p = parse_pipeline("dce, preprocess ,cse", &reg).unwrap();
        assert_eq!(
            p.to_text(),
            "dce,shape-infer,fold,fuse,cse,dce,shape-infer,cse"
        );
        let e = parse_pipeline("preprocess{x=1}", &reg).unwrap_err();
        assert_eq!(e.message, "preset 'preprocess' takes no options");
        assert_eq!(e.offset, 10);
        assert!(reg.describe().contains("preprocess"));
    }

    #[test]
    fn errors_point_at_the_problem_and_list_what_exists() {
        let reg = PassRegistry::builtin();
        let e = parse_pipeline("dce,nope", &reg).unwrap_err();
        assert_eq!(e.offset, 4);
        assert!(e.message.contains("unknown pass 'nope'"));
        assert!(e.help.contains("cse") && e.help.contains("dce"));
        let e = parse_pipeline("cse{bogus=1}", &reg).unwrap_err();
        assert!(e.message.contains("unknown option 'bogus'"));
        assert!(e.help.contains("include-unknown"));
        let e = parse_pipeline("cse{include-unknown=maybe}", &reg).unwrap_err();
        assert!(e.message.contains("expected true or false"));
        assert!(parse_pipeline("dce cse", &reg).is_err());
        assert!(parse_pipeline("cse{include-unknown=true", &reg).is_err());
    }
}
