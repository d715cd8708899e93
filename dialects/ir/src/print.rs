//! The text printer: MLIR generic op syntax inside `func.func`, so `mlir-opt --allow-unregistered-dialect`
//! reads everything printed here, and [`crate::parse`] reads it back to the same text byte for byte.
//!
//! Layout of the output:
//! ```text
//! module attributes {onnx.ir_version = 8} {          // only with module attributes or several functions
//!   func.func @main(%x: tensor<1x3xf32>) -> tensor<1x3xf32> {
//!     %0 = "onnx.Relu"(%x) : (tensor<1x3xf32>) -> tensor<1x3xf32> loc("relu1")
//!     func.return %0 : tensor<1x3xf32>
//!   }
//! }
//! {-# dialect_resources: { builtin: { w: "0x04000000..." } } #-}   // large constants, when any
//! ```
//! Value names: named values print as their (escaped, see [`crate::names`]) name, unnamed results as
//! `%N` / `%N:k` (numbered per function in print order) and unnamed block arguments as `%argN`.
//! Constants: up to [`PrintOptions::inline_elements`] elements print as literals (`dense<[1.0, 2.0]>`),
//! up to [`PrintOptions::hex_bytes`] bytes as hex (`dense<"0x...">`), larger ones as
//! `dense_resource<key>` with the bytes in the resource section (or elided).

use std::fmt::Write;

use rustc_hash::{FxHashMap, FxHashSet};

use crate::attr::Attribute;
use crate::graph::{BlockId, Body, Function, Module, OpId, RegionId, ValueId};
use crate::names;
use crate::numfmt::{fmt_f32, fmt_f64};
use crate::quant_type::{storage_name, storage_type_range, Granularity, QuantType};
use crate::tensor::{Storage, TensorData};
use crate::types::{Dim, ElemType, ScalarType, TensorType, Type};

/// Choices that change how constants are printed.
#[derive(Clone, Debug)]
pub struct PrintOptions {
    /// Constants with at most this many elements print as literal values.
    pub inline_elements: u64,
    /// Constants up to this many bytes print as inline hex; larger ones go to the resource section.
    pub hex_bytes: usize,
    /// Print large constants as `dense_resource<key>` with no resource section: the text is then
    /// re-readable only with the same weights supplied ([`elided_resources`] lists them by key).
    pub elide_resources: bool,
}

impl Default for PrintOptions {
    fn default() -> Self {
        PrintOptions {
            inline_elements: 64,
            hex_bytes: 4096,
            elide_resources: false,
        }
    }
}

/// The constants that printing `module` with `elide_resources` leaves out, by resource key: the table
/// that re-reads such text against the weights it was printed from.
pub fn elided_resources(module: &Module, opts: &PrintOptions) -> Vec<(String, TensorData)> {
    let opts = PrintOptions {
        elide_resources: true,
        ..opts.clone()
    };
    let mut p = Printer::new(&opts);
    p.print_module(module);
    p.elided
}

/// The key MLIR uses for elided resources.
pub const ELIDED_RESOURCE: &str = "__elided__";

/// Prints a module.
pub fn print_module(module: &Module, opts: &PrintOptions) -> String {
    let mut p = Printer::new(opts);
    p.print_module(module);
    p.out
}

impl Printer<'_> {
    fn print_module(&mut self, module: &Module) {
        let p = self;
        let wrap = !module.attrs.is_empty() || module.funcs.len() != 1;
        let indent = if wrap { 1 } else { 0 };
        if wrap {
            p.out.push_str("module");
            if !module.attrs.is_empty() {
                p.out.push_str(" attributes ");
                p.print_attr_dict(&module.attrs, None);
            }
            p.out.push_str(" {\n");
        }
        for f in &module.funcs {
            p.print_function(f, indent);
        }
        if wrap {
            p.out.push_str("}\n");
        }
        if !p.resources.is_empty() {
            p.out
                .push_str("{-#\n  dialect_resources: {\n    builtin: {\n");
            let n = p.resources.len();
            for (i, (key, hex)) in std::mem::take(&mut p.resources).into_iter().enumerate() {
                let _ = write!(p.out, "      {key}: \"{hex}\"");
                p.out.push_str(if i + 1 < n { ",\n" } else { "\n" });
            }
            p.out.push_str("    }\n  }\n#-}\n");
        }
    }
}

/// Prints one type, as in the text form.
pub fn print_type(ty: &Type) -> String {
    let mut s = String::new();
    write_type(&mut s, ty);
    s
}

/// Prints one element type (`f32`, `!quant.uniform<...>`).
pub fn print_elem_type(e: &ElemType) -> String {
    let mut s = String::new();
    write_elem_type(&mut s, e);
    s
}

/// Prints one attribute value, as in the text form (large tensors print elided).
pub fn print_attr(attr: &Attribute) -> String {
    let opts = PrintOptions {
        elide_resources: true,
        ..PrintOptions::default()
    };
    let mut p = Printer::new(&opts);
    p.print_attr_value(attr, None);
    p.out
}

struct Printer<'a> {
    out: String,
    opts: &'a PrintOptions,
    resources: Vec<(String, String)>,
    resource_keys: FxHashSet<String>,
    /// Constants printed as `dense_resource<key>` without bytes (with `elide_resources`).
    elided: Vec<(String, TensorData)>,
}

impl<'a> Printer<'a> {
    fn new(opts: &'a PrintOptions) -> Printer<'a> {
        Printer {
            out: String::new(),
            opts,
            resources: vec![],
            resource_keys: FxHashSet::default(),
            elided: vec![],
        }
    }
}

/// Names of the values of one function, assigned in print order.
struct Namer {
    refs: FxHashMap<ValueId, String>,
    used: FxHashSet<String>,
    next_result: u32,
    next_arg: u32,
}

impl Namer {
    fn new() -> Namer {
        Namer {
            refs: FxHashMap::default(),
            used: FxHashSet::default(),
            next_result: 0,
            next_arg: 0,
        }
    }

    /// A unique encoded name for a named value.
    fn named(&mut self, name: &str) -> String {
        let enc = names::encode(name);
        let mut candidate = enc.clone();
        let mut k = 1;
        while !self.used.insert(candidate.clone()) {
            candidate = format!("{enc}$${k}");
            k += 1;
        }
        candidate
    }

    fn get(&self, v: ValueId) -> String {
        match self.refs.get(&v) {
            Some(s) => format!("%{s}"),
            // Only reachable for IR that the verifier rejects (use before definition).
            None => format!("%<undefined:{}>", v.index()),
        }
    }

    fn name_block_args(&mut self, body: &Body, block: BlockId) {
        for &a in body.block(block).args() {
            let text = match &body.value(a).name {
                Some(n) => self.named(n),
                None => {
                    let s = format!("arg{}", self.next_arg);
                    self.next_arg += 1;
                    s
                }
            };
            self.refs.insert(a, text);
        }
    }

    /// Names the results of `op` and returns the text before ` = ` (empty for no results).
    fn name_results(&mut self, body: &Body, op: OpId) -> String {
        let results = body.op(op).results();
        if results.is_empty() {
            return String::new();
        }
        if results.iter().all(|&r| body.value(r).name.is_none()) {
            let n = self.next_result;
            self.next_result += 1;
            if results.len() == 1 {
                self.refs.insert(results[0], n.to_string());
                return format!("%{n}");
            }
            for (i, &r) in results.iter().enumerate() {
                self.refs.insert(r, format!("{n}#{i}"));
            }
            return format!("%{n}:{}", results.len());
        }
        let mut parts = Vec::with_capacity(results.len());
        for &r in results {
            let text = match &body.value(r).name {
                Some(name) => self.named(name),
                None => {
                    let n = self.next_result;
                    self.next_result += 1;
                    n.to_string()
                }
            };
            parts.push(format!("%{text}"));
            self.refs.insert(r, text);
        }
        parts.join(", ")
    }
}

impl Printer<'_> {
    fn indent(&mut self, level: usize) {
        for _ in 0..level {
            self.out.push_str("  ");
        }
    }

    fn print_function(&mut self, f: &Function, level: usize) {
        let body = &f.body;
        let mut namer = Namer::new();
        let entry = body.entry_block();
        namer.name_block_args(body, entry);
        self.indent(level);
        self.out.push_str("func.func @");
        write_symbol(&mut self.out, &f.name);
        self.out.push('(');
        for (i, &a) in body.block(entry).args().iter().enumerate() {
            if i > 0 {
                self.out.push_str(", ");
            }
            let _ = write!(self.out, "{}: ", namer.get(a));
            write_type(&mut self.out, body.value_type(a));
        }
        self.out.push(')');
        let outs = body.outputs();
        if !outs.is_empty() {
            self.out.push_str(" -> ");
            self.write_type_list(body, outs, true);
        }
        if !f.attrs.is_empty() {
            self.out.push_str(" attributes ");
            self.print_attr_dict(&f.attrs, None);
        }
        self.out.push_str(" {\n");
        self.print_block_ops(body, entry, &mut namer, level + 1, true);
        self.indent(level);
        self.out.push_str("}\n");
    }

    /// Writes `(t1, t2)` or a single type (`paren_single == false` keeps parens off a single type).
    fn write_type_list(&mut self, body: &Body, values: &[ValueId], function_result: bool) {
        let single = values.len() == 1 && function_result;
        if !single {
            self.out.push('(');
        }
        for (i, &v) in values.iter().enumerate() {
            if i > 0 {
                self.out.push_str(", ");
            }
            write_type(&mut self.out, body.value_type(v));
        }
        if !single {
            self.out.push(')');
        }
    }

    fn print_block_ops(
        &mut self,
        body: &Body,
        block: BlockId,
        namer: &mut Namer,
        level: usize,
        top: bool,
    ) {
        for op in body.block_ops(block) {
            self.print_op(body, op, namer, level, top);
        }
    }

    fn print_op(&mut self, body: &Body, op: OpId, namer: &mut Namer, level: usize, top: bool) {
        let data = body.op(op);
        self.indent(level);
        if top && &*data.kind == crate::FUNC_RETURN {
            self.out.push_str("func.return");
            if !data.operands().is_empty() {
                self.out.push(' ');
                let refs: Vec<String> = data.operands().iter().map(|&v| namer.get(v)).collect();
                self.out.push_str(&refs.join(", "));
                self.out.push_str(" : ");
                for (i, &v) in data.operands().iter().enumerate() {
                    if i > 0 {
                        self.out.push_str(", ");
                    }
                    write_type(&mut self.out, body.value_type(v));
                }
            }
            self.write_loc(data.name.as_deref());
            self.out.push('\n');
            return;
        }
        // Operands are named before the results (they are defined earlier), regions after them.
        let operands: Vec<String> = data.operands().iter().map(|&v| namer.get(v)).collect();
        let results = namer.name_results(body, op);
        if !results.is_empty() {
            self.out.push_str(&results);
            self.out.push_str(" = ");
        }
        self.out.push('"');
        write_escaped(&mut self.out, data.kind.as_bytes());
        self.out.push_str("\"(");
        self.out.push_str(&operands.join(", "));
        self.out.push(')');
        if !data.regions().is_empty() {
            self.out.push_str(" (");
            for (i, &r) in data.regions().iter().enumerate() {
                if i > 0 {
                    self.out.push_str(", ");
                }
                self.print_region(body, r, namer, level);
            }
            self.out.push(')');
        }
        if !data.attrs.is_empty() {
            self.out.push(' ');
            let hint = data
                .results()
                .first()
                .and_then(|&r| body.value(r).name.as_deref())
                .or(data.name.as_deref());
            self.print_attr_dict(&data.attrs, hint);
        }
        self.out.push_str(" : ");
        self.write_type_list(body, data.operands(), false);
        self.out.push_str(" -> ");
        let res = data.results();
        if res.len() == 1 {
            write_type(&mut self.out, body.value_type(res[0]));
        } else {
            self.write_type_list(body, res, false);
        }
        self.write_loc(data.name.as_deref());
        self.out.push('\n');
    }

    fn write_loc(&mut self, name: Option<&str>) {
        if let Some(name) = name {
            self.out.push_str(" loc(\"");
            write_escaped(&mut self.out, name.as_bytes());
            self.out.push_str("\")");
        }
    }

    fn print_region(&mut self, body: &Body, region: RegionId, namer: &mut Namer, level: usize) {
        self.out.push_str("{\n");
        let blocks = body.region(region).blocks();
        for (i, &b) in blocks.iter().enumerate() {
            namer.name_block_args(body, b);
            let args = body.block(b).args();
            if !args.is_empty() || i > 0 {
                self.indent(level);
                let _ = write!(self.out, "^bb{i}");
                if !args.is_empty() {
                    self.out.push('(');
                    for (j, &a) in args.iter().enumerate() {
                        if j > 0 {
                            self.out.push_str(", ");
                        }
                        let _ = write!(self.out, "{}: ", namer.get(a));
                        write_type(&mut self.out, body.value_type(a));
                    }
                    self.out.push(')');
                }
                self.out.push_str(":\n");
            }
            self.print_block_ops(body, b, namer, level + 1, false);
        }
        self.indent(level);
        self.out.push('}');
    }

    /// `{a = 1, b}`; `hint` names large constants' resources.
    fn print_attr_dict(&mut self, attrs: &[crate::attr::NamedAttr], hint: Option<&str>) {
        self.out.push('{');
        for (i, (k, v)) in attrs.iter().enumerate() {
            if i > 0 {
                self.out.push_str(", ");
            }
            write_attr_name(&mut self.out, k);
            if !matches!(v, Attribute::Unit) {
                self.out.push_str(" = ");
                self.print_attr_value(v, hint);
            }
        }
        self.out.push('}');
    }

    fn print_attr_value(&mut self, attr: &Attribute, hint: Option<&str>) {
        match attr {
            Attribute::Int(v) => {
                let _ = write!(self.out, "{v}");
            }
            Attribute::Float(v) => {
                let _ = write!(self.out, "{} : f32", fmt_f32(*v));
            }
            Attribute::String(s) => write_string(&mut self.out, s.as_bytes()),
            Attribute::Ints(v) => {
                self.out.push('[');
                for (i, x) in v.iter().enumerate() {
                    if i > 0 {
                        self.out.push_str(", ");
                    }
                    let _ = write!(self.out, "{x}");
                }
                self.out.push(']');
            }
            Attribute::Floats(v) => {
                self.out.push_str("array<f32");
                for (i, x) in v.iter().enumerate() {
                    self.out.push_str(if i == 0 { ": " } else { ", " });
                    self.out.push_str(&fmt_f32(*x));
                }
                self.out.push('>');
            }
            Attribute::Strings(v) => {
                self.out.push('[');
                for (i, s) in v.iter().enumerate() {
                    if i > 0 {
                        self.out.push_str(", ");
                    }
                    write_string(&mut self.out, s.as_bytes());
                }
                self.out.push(']');
            }
            Attribute::Tensor(t) => self.print_tensor(t, hint),
            Attribute::Tensors(ts) => {
                self.out.push('[');
                for (i, t) in ts.iter().enumerate() {
                    if i > 0 {
                        self.out.push_str(", ");
                    }
                    self.print_tensor(t, hint);
                }
                self.out.push(']');
            }
            Attribute::Graph(i) => {
                let _ = write!(self.out, "#onnx.graph<{i}>");
            }
            Attribute::Graphs(v) => {
                self.out.push('[');
                for (i, g) in v.iter().enumerate() {
                    if i > 0 {
                        self.out.push_str(", ");
                    }
                    let _ = write!(self.out, "#onnx.graph<{g}>");
                }
                self.out.push(']');
            }
            Attribute::Type(t) => write_type(&mut self.out, t),
            Attribute::Unit => self.out.push_str("unit"),
            Attribute::Dict(d) => self.print_attr_dict(d, hint),
        }
    }

    /// `dense<...> : tensor<...>` or `dense_resource<key> : tensor<...>`.
    fn print_tensor(&mut self, t: &TensorData, hint: Option<&str>) {
        let n = t.num_elements();
        let ty = Type::Tensor(TensorType::known(t.elem, &t.shape));
        if n == 0 {
            // As MLIR prints every zero-element constant (and a `[]` per row of a 10⁸×0 tensor would
            // be gigabytes of text).
            self.out.push_str("dense<> : ");
            write_type(&mut self.out, &ty);
            return;
        }
        match &t.storage {
            Storage::Strings(strings) => {
                self.out.push_str("dense<");
                if t.shape.is_empty() || (n > 1 && strings.iter().all(|s| *s == strings[0])) {
                    write_string(&mut self.out, &strings[0]);
                } else {
                    let mut i = 0;
                    self.write_nested(&t.shape, &mut |out| {
                        write_string(out, &strings[i]);
                        i += 1;
                    });
                }
                self.out.push('>');
            }
            Storage::Bytes(buf) => {
                let bytes = buf.as_bytes();
                let literal_ok = literal_printable(t.elem);
                if n > 1 && literal_ok && is_splat(t) {
                    self.out.push_str("dense<");
                    write_element(&mut self.out, t, 0);
                    self.out.push('>');
                } else if literal_ok && n <= self.opts.inline_elements {
                    self.out.push_str("dense<");
                    if t.shape.is_empty() {
                        write_element(&mut self.out, t, 0);
                    } else {
                        let mut i = 0;
                        self.write_nested(&t.shape, &mut |out| {
                            write_element(out, t, i);
                            i += 1;
                        });
                    }
                    self.out.push('>');
                } else if hex_printable(t.elem) && bytes.len() <= self.opts.hex_bytes {
                    self.out.push_str("dense<\"0x");
                    write_hex(&mut self.out, &mlir_hex_bytes(t));
                    self.out.push_str("\">");
                } else if self.opts.elide_resources {
                    let key = self.resource_key(hint);
                    let _ = write!(self.out, "dense_resource<{key}>");
                    self.elided.push((key, t.clone()));
                } else {
                    let key = self.resource_key(hint);
                    let mut hex = String::with_capacity(10 + 2 * bytes.len());
                    hex.push_str("0x");
                    let align = resource_alignment(t.elem);
                    write_hex(&mut hex, &align.to_le_bytes());
                    write_hex(&mut hex, bytes);
                    let _ = write!(self.out, "dense_resource<{key}>");
                    self.resources.push((key, hex));
                }
            }
        }
        self.out.push_str(" : ");
        write_type(&mut self.out, &ty);
    }

    fn resource_key(&mut self, hint: Option<&str>) -> String {
        let base: String = match hint {
            Some(h) if !h.is_empty() => h
                .chars()
                .map(|c| {
                    if c.is_ascii_alphanumeric() || c == '_' || c == '.' {
                        c
                    } else {
                        '_'
                    }
                })
                .collect(),
            _ => "tensor".into(),
        };
        let base = if base.as_bytes()[0].is_ascii_digit() || base.starts_with('.') {
            format!("r_{base}")
        } else {
            base
        };
        let base = if base == ELIDED_RESOURCE {
            "r_elided".to_string()
        } else {
            base
        };
        let mut key = base.clone();
        let mut k = 1;
        while !self.resource_keys.insert(key.clone()) {
            key = format!("{base}_{k}");
            k += 1;
        }
        key
    }

    /// Writes `[[a, b], [c, d]]` for a shape, calling `elem` once per element in row-major order.
    fn write_nested(&mut self, shape: &[u64], elem: &mut dyn FnMut(&mut String)) {
        self.out.push('[');
        if shape.len() == 1 {
            for i in 0..shape[0] {
                if i > 0 {
                    self.out.push_str(", ");
                }
                elem(&mut self.out);
            }
        } else {
            for i in 0..shape[0] {
                if i > 0 {
                    self.out.push_str(", ");
                }
                self.write_nested(&shape[1..], elem);
            }
        }
        self.out.push(']');
    }
}

/// Element types that print as literal values.
fn literal_printable(t: ScalarType) -> bool {
    use ScalarType::*;
    matches!(
        t,
        F32 | F64 | I2 | I4 | I8 | I16 | I32 | I64 | U2 | U4 | U8 | U16 | U32 | U64 | Bool
    )
}

/// Element types that print as MLIR hex (`dense<"0x...">`): MLIR's byte layout must be known.
fn hex_printable(t: ScalarType) -> bool {
    !matches!(t, ScalarType::Bool | ScalarType::String)
}

/// The bytes MLIR's hex form expects: ONNX's layout, except sub-byte types take one byte per element.
pub(crate) fn mlir_hex_bytes(t: &TensorData) -> Vec<u8> {
    let bytes = t.bytes().unwrap_or(&[]);
    match t.elem.bit_width() {
        Some(4) => (0..t.num_elements() as usize)
            .map(|i| (bytes[i / 2] >> (4 * (i % 2))) & 0x0f)
            .collect(),
        Some(2) => (0..t.num_elements() as usize)
            .map(|i| (bytes[i / 4] >> (2 * (i % 4))) & 0x03)
            .collect(),
        _ => bytes.to_vec(),
    }
}

fn resource_alignment(t: ScalarType) -> u32 {
    match t.bit_width() {
        Some(b) if b >= 8 => (b / 8).next_power_of_two().min(16),
        _ => 1,
    }
}

fn is_splat(t: &TensorData) -> bool {
    let n = t.num_elements() as usize;
    match t.elem.bit_width() {
        Some(b) if b >= 8 => {
            let w = (b / 8) as usize;
            let bytes = t.bytes().unwrap_or(&[]);
            let first = &bytes[..w];
            bytes.chunks_exact(w).all(|c| c == first)
        }
        _ => {
            let first = t.int_at(0);
            (1..n).all(|i| t.int_at(i) == first)
        }
    }
}

fn write_element(out: &mut String, t: &TensorData, i: usize) {
    match t.elem {
        // Read the bits directly: widening a signalling NaN to f64 would quiet it.
        ScalarType::F32 => {
            let b = t.bytes().unwrap_or(&[]);
            let bits = b
                .get(i * 4..i * 4 + 4)
                .map_or(0, |b| u32::from_le_bytes(b.try_into().unwrap_or([0; 4])));
            out.push_str(&fmt_f32(f32::from_bits(bits)))
        }
        ScalarType::F64 => out.push_str(&fmt_f64(t.float_at(i).unwrap_or(0.0))),
        ScalarType::Bool => out.push_str(if t.int_at(i).unwrap_or(0) != 0 {
            "true"
        } else {
            "false"
        }),
        ScalarType::U64 => {
            let b = t.bytes().unwrap_or(&[]);
            let v = u64::from_le_bytes(b[i * 8..i * 8 + 8].try_into().unwrap_or([0; 8]));
            let _ = write!(out, "{v}");
        }
        _ => {
            let _ = write!(out, "{}", t.int_at(i).unwrap_or(0));
        }
    }
}

fn write_hex(out: &mut String, bytes: &[u8]) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    out.reserve(bytes.len() * 2);
    for &b in bytes {
        out.push(HEX[(b >> 4) as usize] as char);
        out.push(HEX[(b & 15) as usize] as char);
    }
}

/// Writes a string literal with MLIR escapes.
pub fn write_string(out: &mut String, bytes: &[u8]) {
    out.push('"');
    write_escaped(out, bytes);
    out.push('"');
}

fn write_escaped(out: &mut String, bytes: &[u8]) {
    // Valid UTF-8 text is kept as is (escaping only quotes, backslashes and control bytes); bytes that are
    // not UTF-8 are written as `\XX`.
    let mut rest = bytes;
    while !rest.is_empty() {
        let (valid, bad) = match std::str::from_utf8(rest) {
            Ok(s) => (s, &[][..]),
            Err(e) => {
                let (v, b) = rest.split_at(e.valid_up_to());
                (std::str::from_utf8(v).unwrap_or(""), b)
            }
        };
        for c in valid.chars() {
            match c {
                '"' => out.push_str("\\\""),
                '\\' => out.push_str("\\\\"),
                '\n' => out.push_str("\\n"),
                '\t' => out.push_str("\\t"),
                c if (c as u32) < 0x20 || c == '\u{7f}' => {
                    let _ = write!(out, "\\{:02X}", c as u32);
                }
                c => out.push(c),
            }
        }
        if let Some((&b, tail)) = bad.split_first() {
            let _ = write!(out, "\\{b:02X}");
            rest = tail;
        } else {
            rest = &[];
        }
    }
}

/// Attribute names print bare when they are MLIR bare identifiers, quoted otherwise.
fn write_attr_name(out: &mut String, name: &str) {
    let bare = name
        .as_bytes()
        .first()
        .is_some_and(|&b| b.is_ascii_alphabetic() || b == b'_')
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'$' || b == b'.');
    if bare {
        out.push_str(name);
    } else {
        write_string(out, name.as_bytes());
    }
}

fn write_symbol(out: &mut String, name: &str) {
    let bare = name
        .as_bytes()
        .first()
        .is_some_and(|&b| b.is_ascii_alphabetic() || b == b'_')
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_$.".contains(&b));
    if bare {
        out.push_str(name);
    } else {
        write_string(out, name.as_bytes());
    }
}

pub(crate) fn write_type(out: &mut String, ty: &Type) {
    match ty {
        Type::Tensor(t) => write_tensor_type(out, "tensor", t),
        Type::SparseTensor(t) => {
            out.push_str("!onnx.sparse<");
            write_tensor_type(out, "tensor", t);
            out.push('>');
        }
        Type::Sequence(e) => {
            out.push_str("!onnx.seq<");
            write_type(out, e);
            out.push('>');
        }
        Type::Optional(e) => {
            out.push_str("!onnx.opt<");
            write_type(out, e);
            out.push('>');
        }
        Type::Map(k, v) => {
            let _ = write!(out, "!onnx.map<{}, ", k.mlir_name());
            write_type(out, v);
            out.push('>');
        }
        Type::None => out.push_str("none"),
        Type::Unknown => out.push_str("!onnx.unknown"),
    }
}

fn write_tensor_type(out: &mut String, kw: &str, t: &TensorType) {
    out.push_str(kw);
    out.push('<');
    match &t.shape {
        None => out.push_str("*x"),
        Some(dims) => {
            for d in dims {
                match d {
                    Dim::Known(n) => {
                        let _ = write!(out, "{n}x");
                    }
                    _ => out.push_str("?x"),
                }
            }
        }
    }
    write_elem_type(out, &t.elem);
    if let Some(dims) = &t.shape {
        if dims.iter().any(|d| matches!(d, Dim::Symbolic(_))) {
            out.push_str(", #onnx.dims<[");
            for (i, d) in dims.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                match d {
                    Dim::Known(n) => {
                        let _ = write!(out, "{n}");
                    }
                    Dim::Symbolic(s) => write_string(out, s.as_bytes()),
                    Dim::Unknown => out.push_str("\"?\""),
                }
            }
            out.push_str("]>");
        }
    }
    out.push('>');
}

pub(crate) fn write_elem_type(out: &mut String, e: &ElemType) {
    match e {
        ElemType::Scalar(s) => out.push_str(s.mlir_name()),
        ElemType::Quant(q) => write_quant_type(out, q),
    }
}

fn write_scale_zp(out: &mut String, scale: f32, zp: i64) {
    out.push_str(&fmt_f32(scale));
    if zp != 0 {
        let _ = write!(out, ":{zp}");
    }
}

pub(crate) fn write_quant_type(out: &mut String, q: &QuantType) {
    out.push_str("!quant.uniform<");
    out.push_str(&storage_name(q.storage));
    if let Some((lo, hi)) = q.storage_range {
        if Some((lo, hi)) != storage_type_range(q.storage) {
            let _ = write!(out, "<{lo}:{hi}>");
        }
    }
    out.push(':');
    out.push_str(q.expressed.mlir_name());
    match &q.granularity {
        Granularity::PerTensor { scale, zero_point } => {
            out.push_str(", ");
            write_scale_zp(out, *scale, *zero_point);
        }
        Granularity::PerAxis {
            axis,
            scales,
            zero_points,
        } => {
            let _ = write!(out, ":{axis}, {{");
            for (i, (s, z)) in scales.iter().zip(zero_points).enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_scale_zp(out, *s, *z);
            }
            out.push('}');
        }
        Granularity::Blocked {
            blocks,
            scales_shape,
            scales,
            zero_points,
        } => {
            out.push_str(":{");
            for (i, (axis, size)) in blocks.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                let _ = write!(out, "{axis}:{size}");
            }
            out.push_str("}, ");
            let mut i = 0;
            write_blocked(out, scales_shape, &mut |out| {
                write_scale_zp(out, scales[i], zero_points[i]);
                i += 1;
            });
        }
    }
    out.push('>');
}

fn write_blocked(out: &mut String, shape: &[u64], elem: &mut dyn FnMut(&mut String)) {
    out.push('{');
    if shape.len() <= 1 {
        for i in 0..shape.first().copied().unwrap_or(1) {
            if i > 0 {
                out.push_str(", ");
            }
            elem(out);
        }
    } else {
        for i in 0..shape[0] {
            if i > 0 {
                out.push_str(", ");
            }
            write_blocked(out, &shape[1..], elem);
        }
    }
    out.push('}');
}
