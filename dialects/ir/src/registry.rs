//! The op registry: what the verifier and the generic passes know about each op kind (operand, result and
//! region counts, effects), filled in by the dialect crates (`onnxqc_onnx::register`,
//! `onnxqc_quant::register`) so that this crate never depends on them.
//!
//! An op kind missing from the registry is "unknown": the verifier checks only what holds for every op
//! (SSA dominance, types), DCE treats it as free of side effects (ONNX graphs are pure functions, as in
//! ONNX Runtime's own DCE) and CSE leaves it alone (it might be non-deterministic).

use rustc_hash::FxHashMap;

use crate::graph::OpKind;

/// A count constraint: `min..=max` (`max == u32::MAX` for variadic).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Arity {
    pub min: u32,
    pub max: u32,
}

impl Arity {
    pub const fn exactly(n: u32) -> Arity {
        Arity { min: n, max: n }
    }

    pub const fn range(min: u32, max: u32) -> Arity {
        Arity { min, max }
    }

    pub const fn at_least(min: u32) -> Arity {
        Arity { min, max: u32::MAX }
    }

    pub fn contains(self, n: usize) -> bool {
        n as u64 >= self.min as u64 && n as u64 <= self.max as u64
    }

    /// "2", "2 or 3", "2 to 5", "at least 1".
    pub fn describe(self) -> String {
        if self.min == self.max {
            self.min.to_string()
        } else if self.max == u32::MAX {
            format!("at least {}", self.min)
        } else if self.max == self.min + 1 {
            format!("{} or {}", self.min, self.max)
        } else {
            format!("{} to {}", self.min, self.max)
        }
    }
}

/// What is known about one op kind.
#[derive(Clone, Debug)]
pub struct OpDef {
    pub kind: &'static str,
    pub operands: Arity,
    pub results: Arity,
    pub regions: Arity,
    /// Writes state or observes data (e.g. `qc.observe`): never removed by DCE nor merged by CSE.
    pub has_side_effects: bool,
    /// May give different results for the same inputs (ONNX `RandomNormal`...): never merged by CSE.
    pub nondeterministic: bool,
    /// Ends a block (`func.return`, `onnx.Yield`).
    pub terminator: bool,
}

impl OpDef {
    /// A pure op with the given operand and result counts and no regions.
    pub const fn pure(kind: &'static str, operands: Arity, results: Arity) -> OpDef {
        OpDef {
            kind,
            operands,
            results,
            regions: Arity::exactly(0),
            has_side_effects: false,
            nondeterministic: false,
            terminator: false,
        }
    }

    /// Whether CSE may merge two identical instances of this op.
    pub fn cse_allowed(&self) -> bool {
        !self.has_side_effects && !self.nondeterministic && !self.terminator
    }
}

/// An op-specific check run by the verifier after the generic ones; the message says what is wrong.
pub type OpVerifier = fn(&crate::graph::Body, crate::graph::OpId) -> Result<(), String>;

/// Op kinds known to this build, by full name.
#[derive(Clone, Debug, Default)]
pub struct OpRegistry {
    defs: FxHashMap<&'static str, OpDef>,
    verifiers: FxHashMap<&'static str, OpVerifier>,
}

impl OpRegistry {
    pub fn new() -> OpRegistry {
        let mut r = OpRegistry::default();
        r.insert(OpDef {
            terminator: true,
            ..OpDef::pure(crate::FUNC_RETURN, Arity::at_least(0), Arity::exactly(0))
        });
        r
    }

    /// Adds or replaces a definition.
    pub fn insert(&mut self, def: OpDef) {
        self.defs.insert(def.kind, def);
    }

    /// Adds an op-specific check for `kind` (one per kind; a later one replaces it).
    pub fn add_verifier(&mut self, kind: &'static str, verifier: OpVerifier) {
        self.verifiers.insert(kind, verifier);
    }

    pub fn verifier(&self, kind: &str) -> Option<OpVerifier> {
        self.verifiers.get(kind).copied()
    }

    pub fn get(&self, kind: &str) -> Option<&OpDef> {
        self.defs.get(kind)
    }

    pub fn len(&self) -> usize {
        self.defs.len()
    }

    pub fn is_empty(&self) -> bool {
        self.defs.is_empty()
    }

    /// True when DCE may remove an op of this kind whose results are unused.
    pub fn removable_if_unused(&self, kind: &OpKind) -> bool {
        match self.get(kind) {
            Some(def) => !def.has_side_effects && !def.terminator,
            None => true,
        }
    }

    /// True when CSE may merge ops of this kind.
    pub fn cse_allowed(&self, kind: &OpKind) -> bool {
        self.get(kind).is_some_and(OpDef::cse_allowed)
    }
}
