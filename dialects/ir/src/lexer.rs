//! Tokenizer for the text form (the subset of MLIR syntax that onnxqc prints), with byte spans for
//! diagnostics. `//` comments are skipped. Dimension lists (`1x3x?x`) are scanned by the parser directly
//! from the bytes ([`Lexer::scan_dims`]), as MLIR does, because `3xf32` is not a sequence of ordinary tokens.

use crate::graph::Span;

#[derive(Clone, Debug, PartialEq)]
pub enum Tok<'a> {
    /// `%name` or `%name#3`.
    Value(&'a str, Option<u32>),
    /// `^bb0`.
    BlockLabel(&'a str),
    /// `@name` (or `@"quoted"`, already unescaped).
    Symbol(String),
    /// `#dialect.name` (an attribute alias or dialect attribute).
    Hash(&'a str),
    /// `!dialect.name` (a dialect type).
    Bang(&'a str),
    /// A bare identifier or keyword: `func.func`, `tensor`, `f32`, `onnx.ir_version`.
    Ident(&'a str),
    /// A string literal, unescaped.
    Str(Vec<u8>),
    /// An integer literal (with its sign).
    Int(i128),
    /// A hexadecimal integer literal `0x...` (as text, without the prefix).
    Hex(&'a str),
    /// A float literal, as written.
    Float(&'a str),
    Punct(&'static str),
    Eof,
}

impl Tok<'_> {
    /// How the token reads in "expected X, found Y" messages.
    pub fn describe(&self) -> String {
        match self {
            Tok::Value(n, _) => format!("value '%{n}'"),
            Tok::BlockLabel(n) => format!("block label '^{n}'"),
            Tok::Symbol(n) => format!("symbol '@{n}'"),
            Tok::Hash(n) => format!("'#{n}'"),
            Tok::Bang(n) => format!("'!{n}'"),
            Tok::Ident(n) => format!("'{n}'"),
            Tok::Str(_) => "a string".into(),
            Tok::Int(v) => format!("integer {v}"),
            Tok::Hex(h) => format!("0x{h}"),
            Tok::Float(f) => format!("float {f}"),
            Tok::Punct(p) => format!("'{p}'"),
            Tok::Eof => "end of input".into(),
        }
    }
}

/// A lexing error with its location.
#[derive(Clone, Debug)]
pub struct LexError {
    pub message: String,
    pub span: Span,
}

pub struct Lexer<'a> {
    src: &'a str,
    pos: usize,
    /// Offset added to every span (the start of this chunk in the whole file).
    base: usize,
}

const PUNCTS: [&str; 16] = [
    "{-#", "#-}", "->", "(", ")", "{", "}", "[", "]", "<", ">", ",", ":", "=", "*", "?",
];

fn is_ident_start(b: u8) -> bool {
    b.is_ascii_alphabetic() || b == b'_'
}

fn is_ident_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b == b'$' || b == b'.'
}

fn is_suffix_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b == b'$' || b == b'.' || b == b'-'
}

impl<'a> Lexer<'a> {
    pub fn new(src: &'a str, base: usize) -> Lexer<'a> {
        Lexer { src, pos: 0, base }
    }

    pub fn src(&self) -> &'a str {
        self.src
    }

    /// Current byte position within this chunk.
    pub fn pos(&self) -> usize {
        self.pos
    }

    pub fn set_pos(&mut self, pos: usize) {
        self.pos = pos;
    }

    pub fn span(&self, start: usize, end: usize) -> Span {
        Span::new(self.base + start, self.base + end)
    }

    fn bytes(&self) -> &'a [u8] {
        self.src.as_bytes()
    }

    fn peek_byte(&self) -> Option<u8> {
        self.bytes().get(self.pos).copied()
    }

    /// Skips whitespace and `//` comments.
    pub fn skip_trivia(&mut self) {
        let b = self.bytes();
        while self.pos < b.len() {
            match b[self.pos] {
                b' ' | b'\t' | b'\n' | b'\r' => self.pos += 1,
                b'/' if b.get(self.pos + 1) == Some(&b'/') => {
                    while self.pos < b.len() && b[self.pos] != b'\n' {
                        self.pos += 1;
                    }
                }
                _ => break,
            }
        }
    }

    /// The next token and its span.
    pub fn next_token(&mut self) -> Result<(Tok<'a>, Span), LexError> {
        self.skip_trivia();
        let start = self.pos;
        let b = self.bytes();
        let Some(&c) = b.get(start) else {
            return Ok((Tok::Eof, self.span(start, start)));
        };
        let tok = match c {
            b'%' => {
                self.pos += 1;
                let s = self.take_while(is_suffix_char);
                if s.is_empty() {
                    return Err(self.err(start, "expected a value name after '%'"));
                }
                let mut index = None;
                if self.peek_byte() == Some(b'#')
                    && b.get(self.pos + 1).is_some_and(u8::is_ascii_digit)
                {
                    self.pos += 1;
                    let digits = self.take_while(|b| b.is_ascii_digit());
                    index = Some(
                        digits
                            .parse()
                            .map_err(|_| self.err(start, "result index is too large"))?,
                    );
                }
                Tok::Value(s, index)
            }
            b'^' => {
                self.pos += 1;
                let s = self.take_while(is_suffix_char);
                if s.is_empty() {
                    return Err(self.err(start, "expected a block label after '^'"));
                }
                Tok::BlockLabel(s)
            }
            b'@' => {
                self.pos += 1;
                if self.peek_byte() == Some(b'"') {
                    let bytes = self.lex_string(start)?;
                    Tok::Symbol(
                        String::from_utf8(bytes)
                            .map_err(|_| self.err(start, "symbol is not UTF-8"))?,
                    )
                } else {
                    let s = self.take_while(is_suffix_char);
                    if s.is_empty() {
                        return Err(self.err(start, "expected a symbol name after '@'"));
                    }
                    Tok::Symbol(s.to_string())
                }
            }
            b'#' if b.get(start + 1) == Some(&b'-') && b.get(start + 2) == Some(&b'}') => {
                self.pos += 3;
                Tok::Punct("#-}")
            }
            b'#' => {
                self.pos += 1;
                let s = self.take_while(is_ident_char);
                if s.is_empty() {
                    return Err(self.err(start, "expected an attribute name after '#'"));
                }
                Tok::Hash(s)
            }
            b'!' => {
                self.pos += 1;
                let s = self.take_while(is_ident_char);
                if s.is_empty() {
                    return Err(self.err(start, "expected a type name after '!'"));
                }
                Tok::Bang(s)
            }
            b'"' => Tok::Str(self.lex_string(start)?),
            b'-' if b.get(start + 1) == Some(&b'>') => {
                self.pos += 2;
                Tok::Punct("->")
            }
            b'-' | b'0'..=b'9' => self.lex_number(start)?,
            c if is_ident_start(c) => Tok::Ident(self.take_while(is_ident_char)),
            _ => {
                let rest = &self.src[start..];
                match PUNCTS.iter().find(|p| rest.starts_with(**p)) {
                    Some(p) => {
                        self.pos += p.len();
                        Tok::Punct(p)
                    }
                    None => {
                        let ch = rest.chars().next().unwrap_or('?');
                        self.pos += ch.len_utf8();
                        return Err(self.err(start, &format!("unexpected character '{ch}'")));
                    }
                }
            }
        };
        Ok((tok, self.span(start, self.pos)))
    }

    fn take_while(&mut self, f: impl Fn(u8) -> bool) -> &'a str {
        let start = self.pos;
        while self.peek_byte().is_some_and(&f) {
            self.pos += 1;
        }
        &self.src[start..self.pos]
    }

    fn err(&self, start: usize, message: &str) -> LexError {
        LexError {
            message: message.to_string(),
            span: self.span(start, self.pos.max(start + 1)),
        }
    }

    fn lex_number(&mut self, start: usize) -> Result<Tok<'a>, LexError> {
        let b = self.bytes();
        if b[start] == b'-' {
            self.pos += 1;
            if !self.peek_byte().is_some_and(|c| c.is_ascii_digit()) {
                return Err(self.err(start, "expected a digit after '-'"));
            }
        }
        if b[self.pos] == b'0' && b.get(self.pos + 1) == Some(&b'x') && b[start] != b'-' {
            self.pos += 2;
            let hex = self.take_while(|c| c.is_ascii_hexdigit());
            if hex.is_empty() {
                return Err(self.err(start, "expected hex digits after '0x'"));
            }
            return Ok(Tok::Hex(hex));
        }
        self.take_while(|c| c.is_ascii_digit());
        let mut is_float = false;
        if self.peek_byte() == Some(b'.') {
            is_float = true;
            self.pos += 1;
            self.take_while(|c| c.is_ascii_digit());
            if matches!(self.peek_byte(), Some(b'e' | b'E')) {
                let save = self.pos;
                self.pos += 1;
                if matches!(self.peek_byte(), Some(b'+' | b'-')) {
                    self.pos += 1;
                }
                if self.take_while(|c| c.is_ascii_digit()).is_empty() {
                    self.pos = save;
                }
            }
        }
        let text = &self.src[start..self.pos];
        if is_float {
            Ok(Tok::Float(text))
        } else {
            text.parse::<i128>()
                .map(Tok::Int)
                .map_err(|_| self.err(start, "integer literal is too large"))
        }
    }

    /// Lexes a string literal at `self.pos` (on the opening quote): escapes `\n`, `\t`, `\"`, `\\` and
    /// `\XX` (two hex digits), as MLIR.
    fn lex_string(&mut self, start: usize) -> Result<Vec<u8>, LexError> {
        let b = self.bytes();
        self.pos += 1;
        let mut out = Vec::new();
        loop {
            let Some(&c) = b.get(self.pos) else {
                return Err(self.err(start, "unterminated string"));
            };
            match c {
                b'"' => {
                    self.pos += 1;
                    return Ok(out);
                }
                b'\n' => {
                    return Err(self.err(start, "unterminated string (strings end on their line)"))
                }
                b'\\' => {
                    let e = b.get(self.pos + 1).copied();
                    match e {
                        Some(b'n') => out.push(b'\n'),
                        Some(b't') => out.push(b'\t'),
                        Some(b'"') => out.push(b'"'),
                        Some(b'\\') => out.push(b'\\'),
                        Some(h) if h.is_ascii_hexdigit() => {
                            let l = b.get(self.pos + 2).copied().filter(u8::is_ascii_hexdigit);
                            let Some(l) = l else {
                                return Err(
                                    self.err(self.pos, "bad escape: expected two hex digits")
                                );
                            };
                            let v = u8::from_str_radix(
                                std::str::from_utf8(&[h, l]).unwrap_or("00"),
                                16,
                            )
                            .unwrap_or(0);
                            out.push(v);
                            self.pos += 1;
                        }
                        _ => return Err(self.err(self.pos, "unknown escape in string")),
                    }
                    self.pos += 2;
                }
                _ => {
                    out.push(c);
                    self.pos += 1;
                }
            }
        }
    }

    /// Scans a tensor dimension list `1x?x3x` at the current position: the dims (`None` for `?`), or
    /// `None` for an unranked `*x`. Stops before the element type.
    pub fn scan_dims(&mut self) -> Result<Option<Vec<Option<u64>>>, LexError> {
        self.skip_trivia();
        let start = self.pos;
        let b = self.bytes();
        if b.get(self.pos) == Some(&b'*') {
            if b.get(self.pos + 1) != Some(&b'x') {
                return Err(self.err(start, "expected 'x' after '*' in an unranked tensor type"));
            }
            self.pos += 2;
            return Ok(None);
        }
        let mut dims = Vec::new();
        loop {
            let save = self.pos;
            let dim = match b.get(self.pos) {
                Some(b'?') => {
                    self.pos += 1;
                    None
                }
                Some(c) if c.is_ascii_digit() => {
                    let digits = self.take_while(|c| c.is_ascii_digit());
                    Some(
                        digits
                            .parse::<u64>()
                            .map_err(|_| self.err(save, "dimension is too large"))?,
                    )
                }
                _ => break,
            };
            if b.get(self.pos) != Some(&b'x') {
                // Not a dimension after all (e.g. the `1` of `i1`? never: types start with a letter).
                return Err(self.err(save, "expected 'x' after a dimension"));
            }
            self.pos += 1;
            dims.push(dim);
        }
        Ok(Some(dims))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toks(s: &str) -> Vec<Tok<'_>> {
        let mut lx = Lexer::new(s, 0);
        let mut out = vec![];
        loop {
            let (t, _) = lx.next_token().unwrap();
            if t == Tok::Eof {
                return out;
            }
            out.push(t);
        }
    }

    #[test]
    fn lexes_op_line() {
        let t = toks(r#"%a, %q#1 = "onnx.Conv"(%x) {k = -3, f = 1.5e-3 : f32} : () -> none // c"#);
        assert_eq!(t[0], Tok::Value("a", None));
        assert_eq!(t[2], Tok::Value("q", Some(1)));
        assert_eq!(t[4], Tok::Str(b"onnx.Conv".to_vec()));
        assert!(t.contains(&Tok::Int(-3)));
        assert!(t.contains(&Tok::Float("1.5e-3")));
        assert!(t.contains(&Tok::Punct("->")));
        assert_eq!(t.last(), Some(&Tok::Ident("none")));
    }

    #[test]
    fn scans_dims() {
        let mut lx = Lexer::new("1x?x3xf32", 0);
        let dims = lx.scan_dims().unwrap();
        assert_eq!(dims, Some(vec![Some(1), None, Some(3)]));
        assert_eq!(lx.next_token().unwrap().0, Tok::Ident("f32"));
    }

    #[test]
    fn string_escapes() {
        assert_eq!(toks(r#""a\"b\0A\\""#), vec![Tok::Str(b"a\"b\n\\".to_vec())]);
    }
}
