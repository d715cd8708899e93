//! The text parser: reads what [`crate::print`] writes (MLIR generic op syntax in `func.func`, quantized
//! types as `!quant.uniform<...>`, a `{-# dialect_resources #-}` section) back into a [`Module`].
//!
//! Errors are [`Diagnostic`]s with the span of the offending token; render them against the source with
//! [`Diagnostic::render`]. Names: `%name` gives the value the ONNX name `name` (unescaped, see
//! [`crate::names`]); `%7`, `%7#1` and `%arg3` are unnamed values. Values must be defined before their
//! first use (ONNX graphs are topologically sorted); names defined in a region are not visible after it.
//! Type checking here is limited to "a use has the type of its definition"; [`crate::verify`] does the rest.

use std::sync::Arc;

use rustc_hash::FxHashMap;

use crate::attr::{Attribute, NamedAttr};
use crate::diag::Diagnostic;
use crate::graph::{BlockId, Body, Function, Module, OpId, RegionId, Span, ValueId};
use crate::lexer::{LexError, Lexer, Tok};
use crate::names;
use crate::print::{print_type, ELIDED_RESOURCE};
use crate::quant_type::{storage_from_name, Granularity, QuantType};
use crate::tensor::{Buffer, TensorData};
use crate::types::{Dim, ElemType, ScalarType, TensorType, Type};

type PResult<T> = Result<T, Diagnostic>;

/// Parses a whole text (one module). `base` is the offset of `text` in the file its spans refer to
/// (non-zero for a chunk of a `--split-input-file` input).
pub fn parse_module(text: &str, base: usize) -> PResult<Module> {
    parse_module_with(text, base, None)
}

/// Looks up the bytes of a `dense_resource<key>` that the resource section does not hold (text printed
/// with elided resources, paired with the model it came from).
pub type ResourceResolver<'r> = dyn Fn(&str) -> Option<TensorData> + 'r;

/// [`parse_module`], resolving resources missing from the text with `resolve`.
pub fn parse_module_with(
    text: &str,
    base: usize,
    resolve: Option<&ResourceResolver>,
) -> PResult<Module> {
    let mut p = Parser::new(text, base)?;
    p.resolve = resolve;
    let end = match find_resource_section(text) {
        Some(start) => {
            p.lex.set_pos(start);
            p.advance()?;
            p.parse_resources()?;
            p.expect_eof()?;
            start
        }
        None => text.len(),
    };
    p.lex.set_pos(0);
    p.limit = end;
    p.advance()?;
    let module = p.parse_top()?;
    Ok(module)
}

/// Splits a file at lines `// -----` (as `mlir-opt --split-input-file`): (chunk text, offset in file).
pub fn split_input(text: &str) -> Vec<(&str, usize)> {
    let mut chunks = Vec::new();
    let mut start = 0;
    let mut line_start = 0;
    for line in text.split_inclusive('\n') {
        let trimmed = line.trim_end();
        if trimmed == "// -----" {
            chunks.push((&text[start..line_start], start));
            start = line_start + line.len();
        }
        line_start += line.len();
    }
    chunks.push((&text[start..], start));
    chunks
}

/// The start of a `{-#` resource section at the beginning of a line, if any.
fn find_resource_section(text: &str) -> Option<usize> {
    let mut pos = 0;
    for line in text.split_inclusive('\n') {
        if line.starts_with("{-#") {
            return Some(pos);
        }
        pos += line.len();
    }
    None
}

struct Parser<'a> {
    resolve: Option<&'a ResourceResolver<'a>>,
    lex: Lexer<'a>,
    tok: Tok<'a>,
    span: Span,
    /// Byte position where the module text ends (the resource section starts).
    limit: usize,
    resources: FxHashMap<String, (Vec<u8>, Span)>,
    // Per-function name scope.
    names: FxHashMap<String, Vec<ValueId>>,
    scopes: Vec<Vec<String>>,
    /// Nesting depth of the recursive constructs, bounded so that hostile input cannot overflow the stack.
    depth: u32,
}

/// The largest constant a `dense<...>` literal (a splat included) may expand to.
const MAX_LITERAL_BYTES: u64 = 1 << 30;

/// How deep lists, types, attributes and regions may nest.
const MAX_DEPTH: u32 = 64;

/// A dense literal before its type is known.
enum Lit {
    Int(i128, Span),
    /// `0x...`: the bit pattern for float elements (as MLIR), the value for integers.
    Hex(u128, Span),
    Float(f64, Span),
    Bool(bool, Span),
    Str(Vec<u8>, Span),
    List(Vec<Lit>, Span),
}

impl Lit {
    fn span(&self) -> Span {
        match self {
            Lit::Int(_, s)
            | Lit::Hex(_, s)
            | Lit::Float(_, s)
            | Lit::Bool(_, s)
            | Lit::Str(_, s)
            | Lit::List(_, s) => *s,
        }
    }
}

fn lex_err(e: LexError) -> Diagnostic {
    Diagnostic::error(e.message).with_span(Some(e.span))
}

impl<'a> Parser<'a> {
    fn new(text: &'a str, base: usize) -> PResult<Parser<'a>> {
        Ok(Parser {
            resolve: None,
            lex: Lexer::new(text, base),
            tok: Tok::Eof,
            span: Span::new(base, base),
            limit: text.len(),
            resources: FxHashMap::default(),
            names: FxHashMap::default(),
            scopes: vec![],
            depth: 0,
        })
    }

    /// Runs `f` one nesting level deeper; fails past [`MAX_DEPTH`].
    fn nested<T>(&mut self, f: impl FnOnce(&mut Self) -> PResult<T>) -> PResult<T> {
        if self.depth >= MAX_DEPTH {
            return self.err(format!("nesting deeper than {MAX_DEPTH} levels"));
        }
        self.depth += 1;
        let r = f(self);
        self.depth -= 1;
        r
    }

    fn advance(&mut self) -> PResult<()> {
        self.lex.skip_trivia();
        if self.lex.pos() >= self.limit {
            let at = self.lex.pos();
            self.tok = Tok::Eof;
            self.span = self.lex.span(at, at);
            return Ok(());
        }
        let (t, s) = self.lex.next_token().map_err(lex_err)?;
        self.tok = t;
        self.span = s;
        Ok(())
    }

    fn err<T>(&self, msg: impl Into<String>) -> PResult<T> {
        Err(Diagnostic::error(msg).with_span(Some(self.span)))
    }

    fn expected<T>(&self, what: &str) -> PResult<T> {
        self.err(format!("expected {what}, found {}", self.tok.describe()))
    }

    fn is_punct(&self, p: &str) -> bool {
        matches!(self.tok, Tok::Punct(q) if q == p)
    }

    fn is_ident(&self, s: &str) -> bool {
        matches!(self.tok, Tok::Ident(i) if i == s)
    }

    fn eat_punct(&mut self, p: &str) -> PResult<bool> {
        if self.is_punct(p) {
            self.advance()?;
            Ok(true)
        } else {
            Ok(false)
        }
    }

    fn expect_punct(&mut self, p: &str) -> PResult<Span> {
        if self.is_punct(p) {
            let s = self.span;
            self.advance()?;
            Ok(s)
        } else {
            self.expected(&format!("'{p}'"))
        }
    }

    /// Parses `item (',' item)*` up to `close` (which is left for the caller); nothing before `close`
    /// gives an empty list.
    fn comma_separated<T>(
        &mut self,
        close: &str,
        mut item: impl FnMut(&mut Self) -> PResult<T>,
    ) -> PResult<Vec<T>> {
        let mut out = Vec::new();
        if !self.is_punct(close) {
            loop {
                out.push(item(self)?);
                if !self.eat_punct(",")? {
                    break;
                }
            }
        }
        Ok(out)
    }

    fn expect_eof(&mut self) -> PResult<()> {
        if self.tok == Tok::Eof {
            Ok(())
        } else {
            self.expected("end of input")
        }
    }

    fn expect_int(&mut self, what: &str) -> PResult<i128> {
        match self.tok {
            Tok::Int(v) => {
                self.advance()?;
                Ok(v)
            }
            _ => self.expected(what),
        }
    }

    // ----- module and functions -----

    fn parse_top(&mut self) -> PResult<Module> {
        let mut module = Module::default();
        if self.is_ident("module") {
            self.advance()?;
            if self.is_ident("attributes") {
                self.advance()?;
                module.attrs = self.parse_attr_dict()?;
            }
            self.expect_punct("{")?;
            while !self.is_punct("}") {
                if self.tok == Tok::Eof {
                    return self.expected("'}' to close the module");
                }
                module.funcs.push(self.parse_function()?);
            }
            self.advance()?;
        } else {
            while self.tok != Tok::Eof {
                module.funcs.push(self.parse_function()?);
            }
        }
        self.expect_eof()?;
        if module.funcs.is_empty() {
            return Err(
                Diagnostic::error("the input contains no function").with_span(Some(self.span))
            );
        }
        Ok(module)
    }

    fn parse_function(&mut self) -> PResult<Function> {
        let start = self.span;
        if !self.is_ident("func.func") {
            return self.expected("'func.func'");
        }
        self.advance()?;
        if self.is_ident("private") {
            // MLIR symbol visibility: onnxqc functions have none, so it is read and dropped.
            self.advance()?;
        }
        let name = match &self.tok {
            Tok::Symbol(s) => s.clone(),
            _ => return self.expected("a function name '@name'"),
        };
        self.advance()?;
        let mut f = Function::new(&name);
        f.span = Some(start);
        self.names.clear();
        self.scopes = vec![vec![]];
        let entry = f.body.entry_block();
        self.expect_punct("(")?;
        self.comma_separated(")", |p| p.parse_block_arg(&mut f.body, entry))?;
        self.expect_punct(")")?;
        let mut declared_results = None;
        if self.eat_punct("->")? {
            let rs = self.span;
            declared_results = Some((self.parse_type_list_or_single()?, rs));
        }
        if self.is_ident("attributes") {
            self.advance()?;
            f.attrs = self.parse_attr_dict()?;
        }
        self.expect_punct("{")?;
        let root = f.body.root();
        self.parse_region_body(&mut f.body, root, true)?;
        // The declared result types must match the returned values.
        let outs: Vec<Type> = f
            .body
            .outputs()
            .iter()
            .map(|&v| f.body.value_type(v).clone())
            .collect();
        if f.body.return_op().is_none() {
            return Err(Diagnostic::error(format!(
                "function @{name} does not end with 'func.return'"
            ))
            .with_span(Some(start)));
        }
        let declared = declared_results
            .as_ref()
            .map(|(t, _)| t.clone())
            .unwrap_or_default();
        if declared != outs {
            let span = declared_results.map(|(_, s)| s).unwrap_or(start);
            return Err(Diagnostic::error(format!(
                "function @{name} declares results ({}) but returns ({})",
                declared
                    .iter()
                    .map(print_type)
                    .collect::<Vec<_>>()
                    .join(", "),
                outs.iter().map(print_type).collect::<Vec<_>>().join(", ")
            ))
            .with_span(Some(span)));
        }
        Ok(f)
    }

    fn parse_block_arg(&mut self, body: &mut Body, block: BlockId) -> PResult<ValueId> {
        let (text, span) = match self.tok {
            Tok::Value(n, None) => (n.to_string(), self.span),
            _ => return self.expected("a block argument '%name'"),
        };
        self.advance()?;
        self.expect_punct(":")?;
        let ty = self.parse_type()?;
        let name = value_name(&text);
        let v = body.add_block_arg(block, ty, name);
        body.value_mut(v).span = Some(span);
        self.define(&text, vec![v], span)?;
        Ok(v)
    }

    fn define(&mut self, text: &str, values: Vec<ValueId>, span: Span) -> PResult<()> {
        if self.names.contains_key(text) {
            return Err(
                Diagnostic::error(format!("redefinition of value '%{text}'")).with_span(Some(span)),
            );
        }
        self.names.insert(text.to_string(), values);
        self.scopes
            .last_mut()
            .expect("scope")
            .push(text.to_string());
        Ok(())
    }

    /// Parses blocks until the closing `}` of a region (consumed).
    fn parse_region_body(&mut self, body: &mut Body, region: RegionId, top: bool) -> PResult<()> {
        let mut block = body.region(region).blocks()[0];
        let mut first = true;
        loop {
            match &self.tok {
                Tok::Punct("}") => {
                    self.advance()?;
                    return Ok(());
                }
                Tok::BlockLabel(_) => {
                    if !first || body.first_op(block).is_some() {
                        block = body.add_block(region);
                    }
                    self.advance()?;
                    if self.eat_punct("(")? {
                        loop {
                            self.parse_block_arg(body, block)?;
                            if !self.eat_punct(",")? {
                                break;
                            }
                        }
                        self.expect_punct(")")?;
                    }
                    self.expect_punct(":")?;
                }
                Tok::Eof => return self.expected("'}' to close the region"),
                _ => {
                    self.parse_op(body, block, top)?;
                }
            }
            first = false;
        }
    }

    // ----- ops -----

    fn parse_op(&mut self, body: &mut Body, block: BlockId, top: bool) -> PResult<OpId> {
        let start = self.span;
        // Results.
        let mut result_defs: Vec<(String, usize, Span)> = Vec::new();
        while let Tok::Value(n, idx) = self.tok {
            if idx.is_some() {
                return self.err("a result definition cannot have a '#index'");
            }
            let (name, span) = (n.to_string(), self.span);
            self.advance()?;
            let mut count = 1;
            if self.eat_punct(":")? {
                let c = self.expect_int("a result count")?;
                if c < 1 || c > u32::MAX as i128 {
                    return Err(
                        Diagnostic::error("result count must be at least 1").with_span(Some(span))
                    );
                }
                count = c as usize;
            }
            result_defs.push((name, count, span));
            if self.eat_punct(",")? {
                continue;
            }
            self.expect_punct("=")?;
            break;
        }
        if top && (self.is_ident("func.return") || self.is_ident("return")) {
            if !result_defs.is_empty() {
                return self.err("'func.return' has no results");
            }
            return self.parse_return(body, block, start);
        }
        let kind = match &self.tok {
            Tok::Str(s) => String::from_utf8(s.clone()).map_err(|_| {
                Diagnostic::error("op name is not valid UTF-8").with_span(Some(self.span))
            })?,
            Tok::Ident(i) => {
                return self.err(format!(
                    "custom op syntax is not supported; write the op in generic form \"{i}\"(...)"
                ))
            }
            _ => return self.expected("an op name in quotes, e.g. \"onnx.Relu\""),
        };
        let kind_span = self.span;
        self.advance()?;
        self.expect_punct("(")?;
        let operands = self.comma_separated(")", Self::parse_use)?;
        self.expect_punct(")")?;
        // Create the op now (results come after the signature), so regions can be attached to it.
        let operand_ids: Vec<ValueId> = operands.iter().map(|(v, _)| *v).collect();
        let op = body.create_op(&kind, &operand_ids, vec![], vec![]);
        body.op_mut(op).span = Some(kind_span);
        body.append_op(block, op);
        if self.is_punct("(") {
            self.advance()?;
            loop {
                self.expect_punct("{")?;
                let r = body.add_region(op);
                self.scopes.push(vec![]);
                let res = self.nested(|p| p.parse_region_body(body, r, false));
                for name in self.scopes.pop().unwrap_or_default() {
                    self.names.remove(&name);
                }
                res?;
                if !self.eat_punct(",")? {
                    break;
                }
            }
            self.expect_punct(")")?;
        }
        if self.is_punct("{") {
            let attrs = self.parse_attr_dict()?;
            body.op_mut(op).attrs = attrs;
        }
        self.expect_punct(":")?;
        let sig_span = self.span;
        self.expect_punct("(")?;
        let in_types = self.comma_separated(")", Self::parse_type)?;
        self.expect_punct(")")?;
        self.expect_punct("->")?;
        let out_types = self.parse_type_list_or_single()?;
        if in_types.len() != operands.len() {
            return Err(Diagnostic::error(format!(
                "'{kind}' has {} operands but its signature lists {} types",
                operands.len(),
                in_types.len()
            ))
            .with_span(Some(sig_span)));
        }
        for ((v, use_span), ty) in operands.iter().zip(&in_types) {
            let defined = body.value_type(*v);
            if defined != ty {
                return Err(Diagnostic::error(format!(
                    "use of a value with type {} where the signature says {}",
                    print_type(defined),
                    print_type(ty)
                ))
                .with_span(Some(*use_span))
                .with_secondary(body.value(*v).span, "defined here"));
            }
        }
        let declared: usize = result_defs.iter().map(|(_, c, _)| c).sum();
        if declared != out_types.len() {
            return Err(Diagnostic::error(format!(
                "'{kind}' defines {declared} results but its signature lists {} result types",
                out_types.len()
            ))
            .with_span(Some(start)));
        }
        // Results: one value per type, grouped by definition.
        let results = body.add_results(op, out_types);
        let mut next = 0;
        for (text, count, span) in result_defs {
            let vals = results[next..next + count].to_vec();
            next += count;
            if count == 1 {
                body.value_mut(vals[0]).name = value_name(&text);
            }
            for &v in &vals {
                body.value_mut(v).span = Some(span);
            }
            self.define(&text, vals, span)?;
        }
        if self.is_ident("loc") {
            body.op_mut(op).name = self.parse_loc()?;
        }
        Ok(op)
    }

    fn parse_return(&mut self, body: &mut Body, block: BlockId, start: Span) -> PResult<OpId> {
        self.advance()?;
        let mut operands = Vec::new();
        if matches!(self.tok, Tok::Value(..)) {
            loop {
                operands.push(self.parse_use()?);
                if !self.eat_punct(",")? {
                    break;
                }
            }
            self.expect_punct(":")?;
            for (i, (v, use_span)) in operands.iter().enumerate() {
                if i > 0 {
                    self.expect_punct(",")?;
                }
                let ty = self.parse_type()?;
                if body.value_type(*v) != &ty {
                    return Err(Diagnostic::error(format!(
                        "returned value has type {} but the return lists {}",
                        print_type(body.value_type(*v)),
                        print_type(&ty)
                    ))
                    .with_span(Some(*use_span)));
                }
            }
        }
        let ids: Vec<ValueId> = operands.iter().map(|(v, _)| *v).collect();
        let op = body.create_op(crate::FUNC_RETURN, &ids, vec![], vec![]);
        body.op_mut(op).span = Some(start);
        body.append_op(block, op);
        if self.is_ident("loc") {
            body.op_mut(op).name = self.parse_loc()?;
        }
        Ok(op)
    }

    /// `loc("name")`, `loc(unknown)` or `loc("file":line:col)`; only a plain name is kept.
    fn parse_loc(&mut self) -> PResult<Option<Arc<str>>> {
        self.advance()?;
        self.expect_punct("(")?;
        let name = match &self.tok {
            Tok::Ident("unknown") => {
                self.advance()?;
                None
            }
            Tok::Str(s) => {
                let s = String::from_utf8_lossy(s).into_owned();
                self.advance()?;
                if self.eat_punct(":")? {
                    self.expect_int("a line number")?;
                    self.expect_punct(":")?;
                    self.expect_int("a column number")?;
                    None
                } else {
                    Some(Arc::from(s.as_str()))
                }
            }
            _ => return self.expected("a location name in quotes"),
        };
        self.expect_punct(")")?;
        Ok(name)
    }

    fn parse_use(&mut self) -> PResult<(ValueId, Span)> {
        let Tok::Value(name, idx) = self.tok else {
            return self.expected("a value '%name'");
        };
        let span = self.span;
        let Some(group) = self.names.get(name) else {
            return self.err(format!("use of undefined value '%{name}'"));
        };
        let v = match (idx, group.len()) {
            (None, 1) => group[0],
            (None, n) => {
                return self.err(format!(
                    "'%{name}' names {n} results; pick one with '%{name}#0'"
                ))
            }
            (Some(i), n) if (i as usize) < n => group[i as usize],
            (Some(i), n) => {
                return self.err(format!(
                    "result #{i} of '%{name}' does not exist ({n} results)"
                ))
            }
        };
        self.advance()?;
        Ok((v, span))
    }

    // ----- types -----

    fn parse_type_list_or_single(&mut self) -> PResult<Vec<Type>> {
        if self.eat_punct("(")? {
            let v = self.comma_separated(")", Self::parse_type)?;
            self.expect_punct(")")?;
            Ok(v)
        } else {
            Ok(vec![self.parse_type()?])
        }
    }

    fn parse_type(&mut self) -> PResult<Type> {
        self.nested(Self::parse_type_inner)
    }

    fn parse_type_inner(&mut self) -> PResult<Type> {
        match self.tok.clone() {
            Tok::Ident("tensor") => Ok(Type::Tensor(self.parse_tensor_type()?)),
            Tok::Ident("none") => {
                self.advance()?;
                Ok(Type::None)
            }
            Tok::Bang("onnx.unknown") => {
                self.advance()?;
                Ok(Type::Unknown)
            }
            Tok::Bang(b @ ("onnx.seq" | "onnx.opt")) => {
                self.advance()?;
                self.expect_punct("<")?;
                let inner = Box::new(self.parse_type()?);
                self.expect_punct(">")?;
                Ok(if b == "onnx.seq" {
                    Type::Sequence(inner)
                } else {
                    Type::Optional(inner)
                })
            }
            Tok::Bang("onnx.sparse") => {
                self.advance()?;
                self.expect_punct("<")?;
                if !self.is_ident("tensor") {
                    return self.expected("'tensor'");
                }
                let t = self.parse_tensor_type()?;
                self.expect_punct(">")?;
                Ok(Type::SparseTensor(t))
            }
            Tok::Bang("onnx.map") => {
                self.advance()?;
                self.expect_punct("<")?;
                let key = match self.parse_elem_type()? {
                    ElemType::Scalar(s) => s,
                    ElemType::Quant(_) => return self.err("a map key cannot be a quantized type"),
                };
                self.expect_punct(",")?;
                let v = self.parse_type()?;
                self.expect_punct(">")?;
                Ok(Type::Map(key, Box::new(v)))
            }
            _ => self.expected("a type"),
        }
    }

    fn parse_tensor_type(&mut self) -> PResult<TensorType> {
        self.advance()?;
        if !self.is_punct("<") {
            return self.expected("'<'");
        }
        // The dims are scanned straight from the bytes after '<' (where the lexer stands now).
        let dims = self.lex.scan_dims().map_err(lex_err)?;
        self.advance()?;
        let elem = self.parse_elem_type()?;
        let mut shape: Option<Vec<Dim>> = dims.map(|d| {
            d.into_iter()
                .map(|x| x.map_or(Dim::Unknown, Dim::Known))
                .collect()
        });
        if self.eat_punct(",")? {
            // Encoding: `#onnx.dims<[...]>` names the symbolic dims.
            if self.tok != Tok::Hash("onnx.dims") {
                return self
                    .expected("'#onnx.dims<[...]>' (the only tensor encoding onnxqc knows)");
            }
            let enc_span = self.span;
            self.advance()?;
            self.expect_punct("<")?;
            self.expect_punct("[")?;
            let mut sym = Vec::new();
            if !self.is_punct("]") {
                loop {
                    match &self.tok {
                        Tok::Int(v) if *v >= 0 => sym.push(Dim::Known(*v as u64)),
                        Tok::Str(s) if s == b"?" => sym.push(Dim::Unknown),
                        Tok::Str(s) => sym.push(Dim::Symbolic(Arc::from(
                            String::from_utf8_lossy(s).as_ref(),
                        ))),
                        _ => return self.expected("a dimension (an integer or a quoted symbol)"),
                    }
                    self.advance()?;
                    if !self.eat_punct(",")? {
                        break;
                    }
                }
            }
            self.expect_punct("]")?;
            self.expect_punct(">")?;
            let Some(shape) = shape.as_mut() else {
                return Err(Diagnostic::error("an unranked tensor cannot name its dims")
                    .with_span(Some(enc_span)));
            };
            if sym.len() != shape.len() {
                return Err(Diagnostic::error(format!(
                    "#onnx.dims names {} dims for a rank-{} tensor",
                    sym.len(),
                    shape.len()
                ))
                .with_span(Some(enc_span)));
            }
            for (d, s) in shape.iter_mut().zip(sym) {
                match (&*d, s) {
                    (Dim::Known(a), Dim::Known(b)) if *a == b => {}
                    (Dim::Unknown, s @ (Dim::Symbolic(_) | Dim::Unknown)) => *d = s,
                    _ => {
                        return Err(Diagnostic::error(
                            "#onnx.dims does not match the shape: known dims must repeat, '?' dims must be symbols or \"?\"",
                        )
                        .with_span(Some(enc_span)))
                    }
                }
            }
        }
        self.expect_punct(">")?;
        Ok(TensorType { elem, shape })
    }

    fn parse_elem_type(&mut self) -> PResult<ElemType> {
        match self.tok.clone() {
            Tok::Ident("complex") => {
                self.advance()?;
                self.expect_punct("<")?;
                let t = match self.tok {
                    Tok::Ident("f32") => ScalarType::Complex64,
                    Tok::Ident("f64") => ScalarType::Complex128,
                    _ => return self.expected("'f32' or 'f64'"),
                };
                self.advance()?;
                self.expect_punct(">")?;
                Ok(ElemType::Scalar(t))
            }
            Tok::Ident(name) => match ScalarType::from_mlir_name(name) {
                Some(t) => {
                    self.advance()?;
                    Ok(ElemType::Scalar(t))
                }
                None => self.err(format!("unknown element type '{name}'")),
            },
            Tok::Bang("onnx.string") => {
                self.advance()?;
                Ok(ElemType::Scalar(ScalarType::String))
            }
            Tok::Bang("quant.uniform") => Ok(ElemType::Quant(Arc::new(self.parse_quant_type()?))),
            Tok::Bang(other) => self.err(format!("unknown element type '!{other}'")),
            _ => self.expected("an element type"),
        }
    }

    fn parse_quant_type(&mut self) -> PResult<QuantType> {
        let start = self.span;
        self.advance()?;
        self.expect_punct("<")?;
        let storage = match self.tok {
            Tok::Ident(n) => match storage_from_name(n) {
                Some(s) => s,
                None => {
                    return self.err(format!(
                        "'{n}' is not a quantized storage type (i8, u8, i4, u16, ...)"
                    ))
                }
            },
            _ => return self.expected("a storage type"),
        };
        self.advance()?;
        let mut storage_range = None;
        if self.eat_punct("<")? {
            let lo = self.expect_int("the storage minimum")?;
            self.expect_punct(":")?;
            let hi = self.expect_int("the storage maximum")?;
            self.expect_punct(">")?;
            storage_range = Some((lo as i64, hi as i64));
        }
        self.expect_punct(":")?;
        let expressed = match self.tok {
            Tok::Ident(n) => match ScalarType::from_mlir_name(n) {
                Some(t) => t,
                None => return self.err(format!("unknown expressed type '{n}'")),
            },
            _ => return self.expected("an expressed type (f32, f16, bf16)"),
        };
        self.advance()?;
        let granularity = if self.eat_punct(":")? {
            if self.eat_punct("{")? {
                let mut blocks = Vec::new();
                loop {
                    let axis = self.expect_int("a blocked axis")?;
                    self.expect_punct(":")?;
                    let size = self.expect_int("a block size")?;
                    if axis < 0 || size < 1 {
                        return self.err("block axes are non-negative and block sizes positive");
                    }
                    blocks.push((axis as u32, size as u64));
                    if !self.eat_punct(",")? {
                        break;
                    }
                }
                self.expect_punct("}")?;
                self.expect_punct(",")?;
                let mut scales = Vec::new();
                let mut zps = Vec::new();
                let shape = self.parse_nested_scales(&mut scales, &mut zps)?;
                Granularity::Blocked {
                    blocks,
                    scales_shape: shape,
                    scales,
                    zero_points: zps,
                }
            } else {
                let axis = self.expect_int("a quantized axis")?;
                if axis < 0 {
                    return self.err("the quantized axis must be non-negative");
                }
                self.expect_punct(",")?;
                self.expect_punct("{")?;
                let mut scales = Vec::new();
                let mut zps = Vec::new();
                loop {
                    let (s, z) = self.parse_scale_zp()?;
                    scales.push(s);
                    zps.push(z);
                    if !self.eat_punct(",")? {
                        break;
                    }
                }
                self.expect_punct("}")?;
                Granularity::PerAxis {
                    axis: axis as u32,
                    scales,
                    zero_points: zps,
                }
            }
        } else {
            self.expect_punct(",")?;
            let (scale, zero_point) = self.parse_scale_zp()?;
            Granularity::PerTensor { scale, zero_point }
        };
        let end = self.expect_punct(">")?;
        let q = QuantType {
            storage,
            storage_range,
            expressed,
            granularity,
        };
        if let Err(msg) = q.check() {
            return Err(
                Diagnostic::error(format!("invalid quantized type: {msg}")).with_span(Some(Span {
                    start: start.start,
                    end: end.end,
                })),
            );
        }
        Ok(q)
    }

    fn parse_scale_zp(&mut self) -> PResult<(f32, i64)> {
        let scale = match self.tok {
            Tok::Float(f) => f
                .parse::<f32>()
                .map_err(|_| Diagnostic::error("bad scale").with_span(Some(self.span)))?,
            Tok::Int(v) => v as f32,
            Tok::Hex(h) => f32::from_bits(u32::from_str_radix(h, 16).unwrap_or(0)),
            _ => return self.expected("a scale"),
        };
        self.advance()?;
        let mut zp = 0;
        if self.eat_punct(":")? {
            zp = self.expect_int("a zero point")? as i64;
        }
        Ok((scale, zp))
    }

    /// `{{s:z, s}, {s, s}}` → row-major scales and zero points; returns the nesting shape.
    fn parse_nested_scales(
        &mut self,
        scales: &mut Vec<f32>,
        zps: &mut Vec<i64>,
    ) -> PResult<Vec<u64>> {
        let open = self.expect_punct("{")?;
        if self.is_punct("{") {
            let mut inner_shape: Option<Vec<u64>> = None;
            let mut n = 0u64;
            loop {
                let s = self.parse_nested_scales(scales, zps)?;
                if inner_shape.as_ref().is_some_and(|prev| *prev != s) {
                    return Err(
                        Diagnostic::error("scales are not rectangular").with_span(Some(open))
                    );
                }
                inner_shape = Some(s);
                n += 1;
                if !self.eat_punct(",")? {
                    break;
                }
            }
            self.expect_punct("}")?;
            let mut shape = vec![n];
            shape.extend(inner_shape.unwrap_or_default());
            Ok(shape)
        } else {
            let mut n = 0;
            loop {
                let (s, z) = self.parse_scale_zp()?;
                scales.push(s);
                zps.push(z);
                n += 1;
                if !self.eat_punct(",")? {
                    break;
                }
            }
            self.expect_punct("}")?;
            Ok(vec![n])
        }
    }

    // ----- attributes -----

    fn parse_attr_dict(&mut self) -> PResult<Vec<NamedAttr>> {
        self.expect_punct("{")?;
        let mut attrs: Vec<NamedAttr> = Vec::new();
        if !self.is_punct("}") {
            loop {
                let name_span = self.span;
                let name = match &self.tok {
                    Tok::Ident(n) => n.to_string(),
                    Tok::Str(s) => String::from_utf8_lossy(s).into_owned(),
                    _ => return self.expected("an attribute name"),
                };
                self.advance()?;
                let value = if self.eat_punct("=")? {
                    self.parse_attr_value()?
                } else {
                    Attribute::Unit
                };
                if attrs.iter().any(|(k, _)| **k == *name) {
                    return Err(
                        Diagnostic::error(format!("attribute '{name}' is given twice"))
                            .with_span(Some(name_span)),
                    );
                }
                attrs.push((Arc::from(name.as_str()), value));
                if !self.eat_punct(",")? {
                    break;
                }
            }
        }
        self.expect_punct("}")?;
        Ok(attrs)
    }

    fn parse_attr_value(&mut self) -> PResult<Attribute> {
        self.nested(Self::parse_attr_value_inner)
    }

    fn parse_attr_value_inner(&mut self) -> PResult<Attribute> {
        match self.tok.clone() {
            Tok::Int(v) => {
                let span = self.span;
                self.advance()?;
                if self.eat_punct(":")? {
                    let t = self.parse_elem_type()?;
                    if let ElemType::Scalar(t) = t {
                        if t.is_float() {
                            return Ok(Attribute::Float(v as f32));
                        }
                    }
                }
                i64::try_from(v).map(Attribute::Int).map_err(|_| {
                    Diagnostic::error("integer attribute does not fit in 64 bits")
                        .with_span(Some(span))
                })
            }
            Tok::Float(f) => {
                let span = self.span;
                self.advance()?;
                let v: f64 = f
                    .parse()
                    .map_err(|_| Diagnostic::error("bad float").with_span(Some(span)))?;
                if self.eat_punct(":")? {
                    self.parse_elem_type()?;
                }
                Ok(Attribute::Float(v as f32))
            }
            Tok::Hex(h) => {
                let span = self.span;
                self.advance()?;
                let bits = u64::from_str_radix(h, 16).map_err(|_| {
                    Diagnostic::error("hex literal is too large").with_span(Some(span))
                })?;
                if self.eat_punct(":")? {
                    if let ElemType::Scalar(t) = self.parse_elem_type()? {
                        if t.is_float() {
                            return Ok(Attribute::Float(f32::from_bits(bits as u32)));
                        }
                    }
                }
                Ok(Attribute::Int(bits as i64))
            }
            Tok::Str(s) => {
                let span = self.span;
                self.advance()?;
                String::from_utf8(s).map(Attribute::String).map_err(|_| {
                    Diagnostic::error("string attribute is not valid UTF-8").with_span(Some(span))
                })
            }
            Tok::Ident("unit") => {
                self.advance()?;
                Ok(Attribute::Unit)
            }
            Tok::Ident(b @ ("true" | "false")) => {
                self.advance()?;
                Ok(Attribute::Int((b == "true") as i64))
            }
            Tok::Ident("dense" | "dense_resource") => Ok(Attribute::Tensor(self.parse_dense()?)),
            Tok::Ident("array") => self.parse_dense_array(),
            Tok::Hash("onnx.graph") => Ok(Attribute::Graph(self.parse_graph_ref()?)),
            Tok::Punct("{") => Ok(Attribute::Dict(self.parse_attr_dict()?)),
            Tok::Punct("[") => self.parse_list_attr(),
            Tok::Ident(_) | Tok::Bang(_) => Ok(Attribute::Type(self.parse_type()?)),
            _ => self.expected("an attribute value"),
        }
    }

    fn parse_graph_ref(&mut self) -> PResult<u32> {
        self.advance()?;
        self.expect_punct("<")?;
        let i = self.expect_int("a region index")?;
        self.expect_punct(">")?;
        u32::try_from(i)
            .map_err(|_| Diagnostic::error("bad region index").with_span(Some(self.span)))
    }

    /// `array<f32: 1.0, 2.0>` (Floats) or `array<i64: 1, 2>` (Ints).
    fn parse_dense_array(&mut self) -> PResult<Attribute> {
        self.advance()?;
        self.expect_punct("<")?;
        let t = match self.tok {
            Tok::Ident("f32") => ScalarType::F32,
            Tok::Ident("i64") => ScalarType::I64,
            _ => return self.expected("'f32' or 'i64'"),
        };
        self.advance()?;
        let mut ints = Vec::new();
        let mut floats = Vec::new();
        if self.eat_punct(":")? {
            loop {
                match self.tok {
                    Tok::Int(v) if t == ScalarType::I64 => ints.push(v as i64),
                    Tok::Int(v) => floats.push(v as f32),
                    Tok::Float(f) if t == ScalarType::F32 => {
                        floats.push(f.parse::<f32>().unwrap_or(f32::NAN))
                    }
                    Tok::Hex(h) if t == ScalarType::F32 => {
                        floats.push(f32::from_bits(u32::from_str_radix(h, 16).unwrap_or(0)))
                    }
                    _ => return self.expected("a number"),
                }
                self.advance()?;
                if !self.eat_punct(",")? {
                    break;
                }
            }
        }
        self.expect_punct(">")?;
        Ok(if t == ScalarType::F32 {
            Attribute::Floats(floats)
        } else {
            Attribute::Ints(ints)
        })
    }

    fn parse_list_attr(&mut self) -> PResult<Attribute> {
        self.advance()?;
        if self.eat_punct("]")? {
            return Ok(Attribute::Ints(vec![]));
        }
        let first = self.tok.clone();
        let result = match first {
            Tok::Int(_) => {
                let mut v = Vec::new();
                loop {
                    let n = self.expect_int("an integer")?;
                    v.push(i64::try_from(n).map_err(|_| {
                        Diagnostic::error("integer does not fit in 64 bits")
                            .with_span(Some(self.span))
                    })?);
                    if self.eat_punct(":")? {
                        self.parse_elem_type()?;
                    }
                    if !self.eat_punct(",")? {
                        break;
                    }
                }
                Attribute::Ints(v)
            }
            Tok::Float(_) => {
                let mut v = Vec::new();
                loop {
                    match self.parse_attr_value()? {
                        Attribute::Float(f) => v.push(f),
                        Attribute::Int(i) => v.push(i as f32),
                        _ => return self.expected("a float"),
                    }
                    if !self.eat_punct(",")? {
                        break;
                    }
                }
                Attribute::Floats(v)
            }
            Tok::Str(_) => {
                let mut v = Vec::new();
                loop {
                    match &self.tok {
                        Tok::Str(s) => v.push(String::from_utf8_lossy(s).into_owned()),
                        _ => return self.expected("a string"),
                    }
                    self.advance()?;
                    if !self.eat_punct(",")? {
                        break;
                    }
                }
                Attribute::Strings(v)
            }
            Tok::Ident("dense" | "dense_resource") => {
                let mut v = Vec::new();
                loop {
                    v.push(self.parse_dense()?);
                    if !self.eat_punct(",")? {
                        break;
                    }
                }
                Attribute::Tensors(v)
            }
            Tok::Hash("onnx.graph") => {
                let mut v = Vec::new();
                loop {
                    if self.tok != Tok::Hash("onnx.graph") {
                        return self.expected("'#onnx.graph<N>'");
                    }
                    v.push(self.parse_graph_ref()?);
                    if !self.eat_punct(",")? {
                        break;
                    }
                }
                Attribute::Graphs(v)
            }
            _ => return self.expected("a list of integers, floats, strings, tensors or graphs"),
        };
        self.expect_punct("]")?;
        Ok(result)
    }

    // ----- dense tensors -----

    fn parse_dense(&mut self) -> PResult<TensorData> {
        let start = self.span;
        let resource = self.is_ident("dense_resource");
        self.advance()?;
        self.expect_punct("<")?;
        let lit = if resource {
            let key = match &self.tok {
                Tok::Ident(k) => k.to_string(),
                Tok::Str(s) => String::from_utf8_lossy(s).into_owned(),
                _ => return self.expected("a resource key"),
            };
            let key_span = self.span;
            self.advance()?;
            Err((key, key_span))
        } else if self.is_punct(">") {
            Ok(None)
        } else {
            Ok(Some(self.parse_lit()?))
        };
        self.expect_punct(">")?;
        self.expect_punct(":")?;
        let ty_span = self.span;
        let ty = self.parse_type()?;
        let end = self.span;
        let Type::Tensor(tt) = &ty else {
            return Err(
                Diagnostic::error("a dense constant needs a tensor type").with_span(Some(ty_span))
            );
        };
        let ElemType::Scalar(elem) = tt.elem else {
            return Err(Diagnostic::error(
                "constants are stored in their storage type, not a quantized type",
            )
            .with_span(Some(ty_span)));
        };
        let Some(shape) = tt.static_dims() else {
            return Err(
                Diagnostic::error("a dense constant needs a static shape").with_span(Some(ty_span))
            );
        };
        let whole = Span {
            start: start.start,
            end: end.start,
        };
        match lit {
            Err((key, key_span)) => {
                if key == ELIDED_RESOURCE {
                    return Err(Diagnostic::error(
                        "this constant's data was elided when the IR was printed; print without eliding to re-read it",
                    )
                    .with_span(Some(key_span)));
                }
                let Some((bytes, _)) = self.resources.get(&key) else {
                    let resolved = self.resolve.and_then(|r| r(&key));
                    return match resolved {
                        Some(t) if t.elem == elem && t.shape == shape => Ok(t),
                        Some(t) => Err(Diagnostic::error(format!(
                            "resource '{key}' from the weights is a {} tensor of shape {:?}, but the text says {elem} of shape {shape:?}",
                            t.elem, t.shape
                        ))
                        .with_span(Some(key_span))),
                        None => Err(Diagnostic::error(format!(
                            "no resource named '{key}' in the dialect_resources section{}",
                            if self.resolve.is_some() {
                                " nor in the weights given with --weights"
                            } else {
                                " (if the IR was printed with --elide-resources, pass --weights MODEL.onnx with the model it came from)"
                            }
                        ))
                        .with_span(Some(key_span))),
                    };
                };
                TensorData::from_bytes(elem, shape, Buffer::from_vec(bytes.clone())).map_err(|e| {
                    Diagnostic::error(format!("resource '{key}': {e}")).with_span(Some(key_span))
                })
            }
            Ok(lit) => lit_to_tensor(lit, elem, shape, whole),
        }
    }

    fn parse_lit(&mut self) -> PResult<Lit> {
        self.nested(Self::parse_lit_inner)
    }

    fn parse_lit_inner(&mut self) -> PResult<Lit> {
        let span = self.span;
        let lit = match self.tok.clone() {
            Tok::Int(v) => Lit::Int(v, span),
            Tok::Float(f) => Lit::Float(
                f.parse()
                    .map_err(|_| Diagnostic::error("bad float").with_span(Some(span)))?,
                span,
            ),
            Tok::Hex(h) => Lit::Hex(
                u128::from_str_radix(h, 16).map_err(|_| {
                    Diagnostic::error("hex literal too large").with_span(Some(span))
                })?,
                span,
            ),
            Tok::Str(s) => Lit::Str(s, span),
            Tok::Ident("true") => Lit::Bool(true, span),
            Tok::Ident("false") => Lit::Bool(false, span),
            Tok::Punct("[") => {
                self.advance()?;
                let mut items = Vec::new();
                if !self.is_punct("]") {
                    loop {
                        items.push(self.parse_lit()?);
                        if !self.eat_punct(",")? {
                            break;
                        }
                    }
                }
                let end = self.expect_punct("]")?;
                return Ok(Lit::List(
                    items,
                    Span {
                        start: span.start,
                        end: end.end,
                    },
                ));
            }
            _ => return self.expected("a constant value"),
        };
        self.advance()?;
        Ok(lit)
    }

    // ----- resources -----

    fn parse_resources(&mut self) -> PResult<()> {
        self.expect_punct("{-#")?;
        while !self.is_punct("#-}") {
            let section = match self.tok {
                Tok::Ident(s) => s.to_string(),
                _ => return self.expected("'dialect_resources'"),
            };
            if section != "dialect_resources" {
                return self.err(format!("unsupported resource section '{section}'"));
            }
            self.advance()?;
            self.expect_punct(":")?;
            self.expect_punct("{")?;
            while !self.is_punct("}") {
                if !self.is_ident("builtin") {
                    return self.expected("'builtin' (the dialect of dense_resource blobs)");
                }
                self.advance()?;
                self.expect_punct(":")?;
                self.expect_punct("{")?;
                while !self.is_punct("}") {
                    let key = match &self.tok {
                        Tok::Ident(k) => k.to_string(),
                        Tok::Str(s) => String::from_utf8_lossy(s).into_owned(),
                        _ => return self.expected("a resource key"),
                    };
                    let key_span = self.span;
                    self.advance()?;
                    self.expect_punct(":")?;
                    let blob = match &self.tok {
                        Tok::Str(s) => s.clone(),
                        _ => return self.expected("a hex blob string"),
                    };
                    let blob_span = self.span;
                    self.advance()?;
                    let bytes = decode_hex_blob(&blob).ok_or_else(|| {
                        Diagnostic::error("resource blob is not \"0x\" followed by hex digits")
                            .with_span(Some(blob_span))
                    })?;
                    if bytes.len() < 4 {
                        return Err(Diagnostic::error(
                            "resource blob lacks its 4-byte alignment header",
                        )
                        .with_span(Some(blob_span)));
                    }
                    if self
                        .resources
                        .insert(key.clone(), (bytes[4..].to_vec(), key_span))
                        .is_some()
                    {
                        return Err(Diagnostic::error(format!(
                            "resource '{key}' is defined twice"
                        ))
                        .with_span(Some(key_span)));
                    }
                    if !self.eat_punct(",")? {
                        break;
                    }
                }
                self.expect_punct("}")?;
                if !self.eat_punct(",")? {
                    break;
                }
            }
            self.expect_punct("}")?;
            if !self.eat_punct(",")? {
                break;
            }
        }
        self.expect_punct("#-}")?;
        Ok(())
    }
}

/// The value name a `%text` definition gives: `None` for the printer's numbering (`%7`, `%arg2`).
fn value_name(text: &str) -> Option<Arc<str>> {
    if names::looks_numbered(text) {
        None
    } else {
        // `%$$1` decodes to the empty name (only a dedup suffix): that is no name at all.
        let name = names::decode(text);
        (!name.is_empty()).then(|| Arc::from(name.as_str()))
    }
}

fn decode_hex_blob(s: &[u8]) -> Option<Vec<u8>> {
    let hex = s.strip_prefix(b"0x")?;
    if hex.len() % 2 != 0 {
        return None;
    }
    hex.chunks_exact(2)
        .map(|c| {
            let h = (c[0] as char).to_digit(16)?;
            let l = (c[1] as char).to_digit(16)?;
            Some((h * 16 + l) as u8)
        })
        .collect()
}

/// Converts a literal to a tensor of `elem` and `shape`: a splat (one scalar), a nested list matching the
/// shape, a hex string (MLIR's byte layout), or strings for string tensors.
fn lit_to_tensor(
    lit: Option<Lit>,
    elem: ScalarType,
    shape: Vec<u64>,
    span: Span,
) -> PResult<TensorData> {
    let err = |msg: String, s: Span| Diagnostic::error(msg).with_span(Some(s));
    let n = shape
        .iter()
        .try_fold(1u64, |acc, &d| acc.checked_mul(d))
        .ok_or_else(|| err(format!("shape {shape:?} has too many elements"), span))?;
    // Literals are materialised; a splat of a huge shape would exhaust memory instead of failing.
    let bytes = elem.byte_size(n).unwrap_or(n.saturating_mul(8));
    if bytes > MAX_LITERAL_BYTES {
        return Err(err(
            format!(
                "a {elem} constant of shape {shape:?} would take {bytes} bytes; text literals are limited to {MAX_LITERAL_BYTES} bytes (store large weights in an ONNX file)"
            ),
            span,
        ));
    }
    let Some(lit) = lit else {
        if n == 0 {
            return empty_tensor(elem, shape).map_err(|e| err(e, span));
        }
        return Err(err(
            format!("empty dense<> for a tensor of {n} elements"),
            span,
        ));
    };
    if elem == ScalarType::String {
        let mut flat = Vec::new();
        let splat = !matches!(lit, Lit::List(..));
        flatten(&lit, &shape, &mut flat, splat).map_err(|(m, s)| err(m, s))?;
        let mut strings = Vec::with_capacity(flat.len());
        for l in flat {
            match l {
                Lit::Str(s, _) => strings.push(s.clone()),
                other => return Err(err("expected a string element".into(), other.span())),
            }
        }
        if splat {
            strings = vec![strings[0].clone(); n as usize];
        }
        return TensorData::from_strings(shape, strings).map_err(|e| err(e, span));
    }
    if let Lit::Str(s, sspan) = &lit {
        // Hex form, in MLIR's layout (one byte per sub-byte element).
        let bytes = decode_hex_blob(s)
            .ok_or_else(|| err("expected a hex string \"0x...\"".into(), *sspan))?;
        let bits = elem.bit_width().unwrap_or(8);
        let per = if bits < 8 { 1 } else { (bits / 8) as usize };
        let total = n as usize * per;
        let bytes = if bytes.len() == per && n != 1 {
            bytes.repeat(n as usize) // hex splat
        } else {
            bytes
        };
        if bytes.len() != total {
            return Err(err(
                format!(
                    "hex data has {} bytes but a {elem} tensor of shape {shape:?} needs {total}",
                    bytes.len()
                ),
                *sspan,
            ));
        }
        let packed = if bits < 8 {
            pack_sub_byte(&bytes, bits)
        } else {
            bytes
        };
        return TensorData::from_bytes(elem, shape, Buffer::from_vec(packed))
            .map_err(|e| err(e, *sspan));
    }
    let splat = !matches!(lit, Lit::List(..));
    let mut flat = Vec::new();
    flatten(&lit, &shape, &mut flat, splat).map_err(|(m, s)| err(m, s))?;
    let count = if splat { 1 } else { n as usize };
    let bits = elem.bit_width().unwrap_or(8);
    let mut raw: Vec<u8> = Vec::with_capacity(count * (bits as usize).div_ceil(8));
    let mut small: Vec<u8> = Vec::new();
    for l in &flat {
        encode_elem(l, elem, &mut raw, &mut small)?;
    }
    if bits < 8 {
        if splat {
            small = vec![small[0]; n as usize];
        }
        raw = pack_sub_byte(&small, bits);
    } else if splat {
        raw = raw.repeat(n as usize);
    }
    TensorData::from_bytes(elem, shape, Buffer::from_vec(raw)).map_err(|e| err(e, span))
}

fn empty_tensor(elem: ScalarType, shape: Vec<u64>) -> Result<TensorData, String> {
    if elem == ScalarType::String {
        TensorData::from_strings(shape, vec![])
    } else {
        TensorData::from_bytes(elem, shape, Buffer::from_vec(vec![]))
    }
}

fn flatten<'l>(
    lit: &'l Lit,
    shape: &[u64],
    out: &mut Vec<&'l Lit>,
    splat: bool,
) -> Result<(), (String, Span)> {
    if splat {
        out.push(lit);
        return Ok(());
    }
    match (lit, shape.split_first()) {
        (Lit::List(items, s), Some((&d, rest))) => {
            if items.len() as u64 != d {
                return Err((
                    format!("expected {d} elements here, found {}", items.len()),
                    *s,
                ));
            }
            for it in items {
                flatten(it, rest, out, false)?;
            }
            Ok(())
        }
        (Lit::List(_, s), None) => Err((
            "the list is nested deeper than the tensor's rank".into(),
            *s,
        )),
        (other, Some(_)) => Err((
            "expected a nested list matching the tensor's shape".into(),
            other.span(),
        )),
        (other, None) => {
            out.push(other);
            Ok(())
        }
    }
}

fn encode_elem(l: &Lit, elem: ScalarType, raw: &mut Vec<u8>, small: &mut Vec<u8>) -> PResult<()> {
    use ScalarType::*;
    let span = l.span();
    let bad = |msg: std::string::String| Diagnostic::error(msg).with_span(Some(span));
    let int = |l: &Lit| -> PResult<i128> {
        match l {
            Lit::Int(v, _) => Ok(*v),
            Lit::Hex(v, _) => i128::try_from(*v)
                .map_err(|_| Diagnostic::error("hex literal too large").with_span(Some(span))),
            Lit::Bool(b, _) => Ok(*b as i128),
            _ => Err(
                Diagnostic::error(format!("expected an integer for a {elem} constant"))
                    .with_span(Some(span)),
            ),
        }
    };
    let float = |l: &Lit| -> PResult<f64> {
        match l {
            Lit::Float(v, _) => Ok(*v),
            Lit::Int(v, _) => Ok(*v as f64),
            _ => Err(
                Diagnostic::error(format!("expected a number for a {elem} constant"))
                    .with_span(Some(span)),
            ),
        }
    };
    if let Some((lo, hi)) = crate::quant_type::storage_type_range(elem) {
        let v = int(l)?;
        if v < lo as i128 || v > hi as i128 {
            return Err(bad(format!("{v} does not fit in {elem}")));
        }
    }
    match elem {
        F32 => {
            // Integer-looking floats and exact bit patterns: float literals parse as f64 then narrow, which
            // is exact for every value the printer writes (the shortest f32 representation).
            let v = match l {
                Lit::Float(_, _) | Lit::Int(..) => float(l)? as f32,
                Lit::Hex(bits, _) => match u32::try_from(*bits) {
                    Ok(bits) => f32::from_bits(bits),
                    Err(_) => return Err(bad("hex bit pattern wider than 32 bits".into())),
                },
                _ => return Err(bad("expected a number".into())),
            };
            raw.extend_from_slice(&v.to_le_bytes());
        }
        F64 => {
            let v = match l {
                Lit::Hex(bits, _) => match u64::try_from(*bits) {
                    Ok(bits) => f64::from_bits(bits),
                    Err(_) => return Err(bad("hex bit pattern wider than 64 bits".into())),
                },
                _ => float(l)?,
            };
            raw.extend_from_slice(&v.to_le_bytes())
        }
        Bool => match l {
            Lit::Bool(b, _) => raw.push(*b as u8),
            Lit::Int(v @ (0 | 1), _) => raw.push(*v as u8),
            _ => return Err(bad("expected true or false".into())),
        },
        I8 | U8 => raw.push(int(l)? as u8),
        I16 | U16 => raw.extend_from_slice(&(int(l)? as u16).to_le_bytes()),
        I32 | U32 => raw.extend_from_slice(&(int(l)? as u32).to_le_bytes()),
        I64 => {
            let v = int(l)?;
            let v = i64::try_from(v).map_err(|_| bad(format!("{v} does not fit in i64")))?;
            raw.extend_from_slice(&v.to_le_bytes());
        }
        U64 => {
            let v = int(l)?;
            if !(0..=u64::MAX as i128).contains(&v) {
                return Err(bad(format!("{v} does not fit in ui64")));
            }
            raw.extend_from_slice(&(v as u64).to_le_bytes());
        }
        I4 | U4 | I2 | U2 => small.push(int(l)? as u8),
        _ => {
            return Err(bad(format!(
                "{elem} constants must be written in hex form dense<\"0x...\">"
            )));
        }
    }
    Ok(())
}

/// Packs one-element-per-byte values into ONNX's sub-byte layout (low bits first).
fn pack_sub_byte(values: &[u8], bits: u32) -> Vec<u8> {
    let per_byte = (8 / bits) as usize;
    let mask = ((1u16 << bits) - 1) as u8;
    let mut out = vec![0u8; values.len().div_ceil(per_byte)];
    for (i, &v) in values.iter().enumerate() {
        out[i / per_byte] |= (v & mask) << (bits as usize * (i % per_byte));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_marks_offsets() {
        let text = "a\n// -----\nb\n// -----\nc";
        let chunks = split_input(text);
        assert_eq!(chunks.len(), 3);
        assert_eq!(chunks[1], ("b\n", 11));
        assert_eq!(&text[chunks[2].1..], "c");
    }

    #[test]
    fn sub_byte_packing() {
        assert_eq!(pack_sub_byte(&[1, 0xF, 7], 4), vec![0xF1, 0x07]);
    }
}
