//! Symbolic dimension expressions: integer polynomials over named symbols and over `floor(e/c)`,
//! `ceil(e/c)` and `e mod c` atoms (`c` a positive constant), kept in a canonical form so that equal
//! expressions built different ways compare equal (`seq+1` twice, `2*h-h` = `h`, `floor((2*w)/2)` = `w`).
//!
//! Canonical form: a sorted list of (monomial, non-zero coefficient) plus a constant; a monomial is a
//! sorted list of atoms. `floor`/`ceil` pull out every term whose coefficient the divisor divides, divide
//! out a common factor, move the constant into the remainder range (`[0, c)` for floor, `(-c, 0]` for
//! ceil) and merge nested divisions; `mod` reduces coefficients modulo `c`. That is not a decision
//! procedure for integer arithmetic (`ceil(h/2)` and `floor((h+1)/2)` stay different), but every
//! equality it reports is true, which is what shape inference needs.
//!
//! Text form (stored in `Dim::Symbolic`): `batch`, `seq+1`, `2*h`, `h*w`, `floor(w/32)`,
//! `ceil((h-1)/2)`, `(h mod 2)`. A symbol whose name is not an identifier prints bare when it is the
//! whole expression and in back-quotes inside a larger one. [`Expr::parse`] reads the text back; text that
//! does not parse (`batch size`, `N-dim:0`) is one opaque symbol ([`Expr::from_dim_text`]).

use std::fmt;
use std::sync::Arc;

/// An indivisible factor of a monomial.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Atom {
    Sym(Arc<str>),
    Floor(Box<Expr>, i64),
    Ceil(Box<Expr>, i64),
    Mod(Box<Expr>, i64),
}

/// A canonical integer expression (see the module docs).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Expr {
    /// Sorted by monomial, coefficients non-zero; a monomial is a sorted, non-empty atom list.
    terms: Vec<(Vec<Atom>, i64)>,
    konst: i64,
}

impl From<i64> for Expr {
    fn from(c: i64) -> Expr {
        Expr::constant(c)
    }
}

fn gcd(a: i64, b: i64) -> i64 {
    let (mut a, mut b) = (a.unsigned_abs(), b.unsigned_abs());
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a.min(i64::MAX as u64) as i64
}

fn merge_monomials(a: &[Atom], b: &[Atom]) -> Vec<Atom> {
    let mut out = Vec::with_capacity(a.len() + b.len());
    out.extend_from_slice(a);
    out.extend_from_slice(b);
    out.sort();
    out
}

/// Removes each atom of `d` from `m` once; `None` when `d` does not divide `m`.
fn divide_monomial(m: &[Atom], d: &[Atom]) -> Option<Vec<Atom>> {
    let mut rest = m.to_vec();
    for a in d {
        let i = rest.iter().position(|x| x == a)?;
        rest.remove(i);
    }
    Some(rest)
}

impl Expr {
    pub fn constant(c: i64) -> Expr {
        Expr {
            terms: vec![],
            konst: c,
        }
    }

    pub fn sym(name: &str) -> Expr {
        Expr::atom(Atom::Sym(Arc::from(name)))
    }

    fn atom(a: Atom) -> Expr {
        Expr {
            terms: vec![(vec![a], 1)],
            konst: 0,
        }
    }

    /// The value when the expression is a constant.
    pub fn as_const(&self) -> Option<i64> {
        self.terms.is_empty().then_some(self.konst)
    }

    /// The symbol name when the expression is exactly one symbol.
    pub fn as_sym(&self) -> Option<&str> {
        match (self.terms.as_slice(), self.konst) {
            ([(m, 1)], 0) => match m.as_slice() {
                [Atom::Sym(s)] => Some(s),
                _ => None,
            },
            _ => None,
        }
    }

    /// Every symbol name the expression mentions.
    pub fn symbols(&self, out: &mut Vec<Arc<str>>) {
        for (m, _) in &self.terms {
            for a in m {
                match a {
                    Atom::Sym(s) => out.push(s.clone()),
                    Atom::Floor(e, _) | Atom::Ceil(e, _) | Atom::Mod(e, _) => e.symbols(out),
                }
            }
        }
    }

    fn from_terms(mut terms: Vec<(Vec<Atom>, i64)>, konst: i64) -> Expr {
        terms.sort_by(|a, b| a.0.cmp(&b.0));
        let mut out: Vec<(Vec<Atom>, i64)> = Vec::with_capacity(terms.len());
        for (m, c) in terms {
            match out.last_mut() {
                Some(last) if last.0 == m => last.1 = last.1.wrapping_add(c),
                _ => out.push((m, c)),
            }
        }
        out.retain(|t| t.1 != 0);
        Expr { terms: out, konst }
    }

    pub fn add(&self, o: &Expr) -> Expr {
        let mut terms = self.terms.clone();
        terms.extend(o.terms.iter().cloned());
        Expr::from_terms(terms, self.konst.wrapping_add(o.konst))
    }

    pub fn neg(&self) -> Expr {
        self.scale(-1)
    }

    pub fn sub(&self, o: &Expr) -> Expr {
        self.add(&o.neg())
    }

    pub fn scale(&self, k: i64) -> Expr {
        if k == 0 {
            return Expr::constant(0);
        }
        Expr {
            terms: self
                .terms
                .iter()
                .map(|(m, c)| (m.clone(), c.wrapping_mul(k)))
                .collect(),
            konst: self.konst.wrapping_mul(k),
        }
    }

    pub fn mul(&self, o: &Expr) -> Expr {
        if let Some(k) = o.as_const() {
            return self.scale(k);
        }
        if let Some(k) = self.as_const() {
            return o.scale(k);
        }
        let mut terms = vec![];
        for (ma, ca) in &self.terms {
            for (mb, cb) in &o.terms {
                terms.push((merge_monomials(ma, mb), ca.wrapping_mul(*cb)));
            }
            if o.konst != 0 {
                terms.push((ma.clone(), ca.wrapping_mul(o.konst)));
            }
        }
        if self.konst != 0 {
            for (mb, cb) in &o.terms {
                terms.push((mb.clone(), cb.wrapping_mul(self.konst)));
            }
        }
        Expr::from_terms(terms, self.konst.wrapping_mul(o.konst))
    }

    /// Greatest common divisor of every coefficient and the constant (0 for the zero expression).
    fn content(&self) -> i64 {
        self.terms.iter().fold(self.konst, |g, (_, c)| gcd(g, *c))
    }

    /// `self / c` when `c` divides every coefficient and the constant.
    pub fn div_exact_const(&self, c: i64) -> Option<Expr> {
        if c == 0 || self.content() % c != 0 {
            return None;
        }
        Some(Expr {
            terms: self
                .terms
                .iter()
                .map(|(m, k)| (m.clone(), k.wrapping_div(c)))
                .collect(),
            konst: self.konst.wrapping_div(c),
        })
    }

    /// Splits off the terms whose coefficient `c` divides: `(q, r)` with `self = c*q + r`.
    fn split_divisible(&self, c: i64) -> (Expr, Expr) {
        let (mut q, mut r) = (vec![], vec![]);
        for (m, k) in &self.terms {
            if k % c == 0 {
                q.push((m.clone(), k / c));
            } else {
                r.push((m.clone(), *k));
            }
        }
        (
            Expr { terms: q, konst: 0 },
            Expr {
                terms: r,
                konst: self.konst,
            },
        )
    }

    /// `floor(self / c)`; `None` unless `c > 0`.
    pub fn floor_div(&self, c: i64) -> Option<Expr> {
        self.round_div(c, false)
    }

    /// `ceil(self / c)`; `None` unless `c > 0`.
    pub fn ceil_div(&self, c: i64) -> Option<Expr> {
        self.round_div(c, true)
    }

    fn round_div(&self, c: i64, ceil: bool) -> Option<Expr> {
        if c <= 0 {
            return None;
        }
        if let Some(k) = self.as_const() {
            let q = if ceil {
                k.div_euclid(c) + i64::from(k.rem_euclid(c) != 0)
            } else {
                k.div_euclid(c)
            };
            return Some(Expr::constant(q));
        }
        if c == 1 {
            return Some(self.clone());
        }
        // A common factor of the non-constant terms that divides c can be divided out of both when the
        // constant's rounding does not change: floor((g*e + k)/(g*c')) = floor((e + floor(k/g))/c').
        let (q, mut r) = self.split_divisible(c);
        let mut c = c;
        let g = r.terms.iter().fold(0, |g, (_, k)| gcd(g, *k));
        let g = gcd(g, c);
        if g > 1 {
            let k = r.konst;
            let kg = if ceil {
                k.div_euclid(g) + i64::from(k.rem_euclid(g) != 0)
            } else {
                k.div_euclid(g)
            };
            r = Expr {
                terms: r.terms.iter().map(|(m, k)| (m.clone(), k / g)).collect(),
                konst: kg,
            };
            c /= g;
            if c == 1 {
                return Some(q.add(&r));
            }
        }
        // Constant into the remainder range.
        let (kq, kr) = if ceil {
            let kq = r.konst.div_euclid(c) + i64::from(r.konst.rem_euclid(c) != 0);
            (kq, r.konst.wrapping_sub(kq.wrapping_mul(c)))
        } else {
            (r.konst.div_euclid(c), r.konst.rem_euclid(c))
        };
        r.konst = kr;
        let q = q.add(&Expr::constant(kq));
        if r.terms.is_empty() {
            return Some(q);
        }
        // floor((floor(e/a) + k)/c) = floor((e + k*a)/(a*c)) for integers e, k and a, c > 0 (because
        // floor(e/a) + k = floor((e + k*a)/a) and floor(floor(y/a)/c) = floor(y/(a*c))); the same for
        // ceil. This keeps stacked stride-2 Conv/Pool sizes flat: floor((h+3)/4), not nested floors.
        if let [(m, 1)] = r.terms.as_slice() {
            let nested = match m.as_slice() {
                [Atom::Floor(e, a)] if !ceil => Some((e, *a)),
                [Atom::Ceil(e, a)] if ceil => Some((e, *a)),
                _ => None,
            };
            if let Some((e, a)) = nested {
                if let (Some(ac), Some(ka)) = (a.checked_mul(c), r.konst.checked_mul(a)) {
                    return Some(q.add(&e.add(&Expr::constant(ka)).round_div(ac, ceil)?));
                }
            }
        }
        let atom = if ceil {
            Atom::Ceil(Box::new(r), c)
        } else {
            Atom::Floor(Box::new(r), c)
        };
        Some(q.add(&Expr::atom(atom)))
    }

    /// `self mod c` (the non-negative remainder, as ONNX's integer `Mod` with `fmod=0` and a positive
    /// divisor); `None` unless `c > 0`.
    pub fn modulo(&self, c: i64) -> Option<Expr> {
        if c <= 0 {
            return None;
        }
        if let Some(k) = self.as_const() {
            return Some(Expr::constant(k.rem_euclid(c)));
        }
        let terms: Vec<_> = self
            .terms
            .iter()
            .filter_map(|(m, k)| {
                let k = k.rem_euclid(c);
                (k != 0).then(|| (m.clone(), k))
            })
            .collect();
        let r = Expr::from_terms(terms, self.konst.rem_euclid(c));
        if r.terms.is_empty() {
            return Some(Expr::constant(r.konst));
        }
        Some(Expr::atom(Atom::Mod(Box::new(r), c)))
    }

    /// The highest term under a degree-then-monomial order, for [`Expr::div_exact`].
    fn lead(&self) -> Option<&(Vec<Atom>, i64)> {
        self.terms
            .iter()
            .max_by(|a, b| a.0.len().cmp(&b.0.len()).then_with(|| a.0.cmp(&b.0)))
    }

    /// `self / d` when it is exactly a polynomial (checked by multiplying back): Reshape's `-1` is the
    /// element count divided by the product of the other dims.
    pub fn div_exact(&self, d: &Expr) -> Option<Expr> {
        if let Some(c) = d.as_const() {
            return self.div_exact_const(c);
        }
        if self == d {
            return Some(Expr::constant(1));
        }
        let mut q = Expr::constant(0);
        let mut r = self.clone();
        let (dm, dc) = d.lead()?.clone();
        for _ in 0..64 {
            if r.as_const() == Some(0) {
                return (q.mul(d) == *self).then_some(q);
            }
            let (rm, rc) = r.lead()?.clone();
            if dc == 0 || rc.wrapping_rem(dc) != 0 {
                return None;
            }
            let m = divide_monomial(&rm, &dm)?;
            let t = Expr::from_terms(vec![(m, rc.wrapping_div(dc))], 0);
            let t = normalize_empty(t);
            q = q.add(&t);
            r = r.sub(&t.mul(d));
        }
        None
    }

    /// Reads the text form; `None` when it is not an expression.
    pub fn parse(text: &str) -> Option<Expr> {
        let mut p = Parser {
            s: text.as_bytes(),
            i: 0,
        };
        let e = p.expr()?;
        p.skip_ws();
        (p.i == p.s.len()).then_some(e)
    }

    /// The expression a `Dim::Symbolic` text stands for: parsed when it is an expression, otherwise one
    /// opaque symbol of that name.
    pub fn from_dim_text(text: &str) -> Expr {
        Expr::parse(text).unwrap_or_else(|| Expr::sym(text))
    }
}

/// A term whose monomial became empty is a constant.
fn normalize_empty(e: Expr) -> Expr {
    let mut konst = e.konst;
    let terms = e
        .terms
        .into_iter()
        .filter(|(m, c)| {
            if m.is_empty() {
                konst = konst.wrapping_add(*c);
                false
            } else {
                true
            }
        })
        .collect();
    Expr { terms, konst }
}

fn is_ident(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.')
        && !matches!(s, "floor" | "ceil" | "mod")
}

impl Atom {
    fn fmt_in(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Atom::Sym(s) if is_ident(s) => f.write_str(s),
            Atom::Sym(s) => write!(f, "`{s}`"),
            Atom::Floor(e, c) => write!(f, "floor({}/{c})", Paren(e)),
            Atom::Ceil(e, c) => write!(f, "ceil({}/{c})", Paren(e)),
            Atom::Mod(e, c) => write!(f, "({} mod {c})", Paren(e)),
        }
    }
}

/// An expression in parentheses unless it is a single atom.
struct Paren<'a>(&'a Expr);

impl fmt::Display for Paren<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let e = self.0;
        let single = e.konst == 0 && matches!(e.terms.as_slice(), [(m, 1)] if m.len() == 1)
            || e.terms.is_empty() && e.konst >= 0;
        if single {
            e.fmt_inner(f)
        } else {
            write!(f, "(")?;
            e.fmt_inner(f)?;
            write!(f, ")")
        }
    }
}

impl Expr {
    fn fmt_inner(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.terms.is_empty() {
            return write!(f, "{}", self.konst);
        }
        // Positive terms first reads better (`seq-1`, not `-1+seq`); the order is otherwise canonical.
        for (i, (m, c)) in self.terms.iter().enumerate() {
            if *c < 0 {
                f.write_str("-")?;
            } else if i > 0 {
                f.write_str("+")?;
            }
            let a = c.unsigned_abs();
            if a != 1 {
                write!(f, "{a}*")?;
            }
            for (j, atom) in m.iter().enumerate() {
                if j > 0 {
                    f.write_str("*")?;
                }
                atom.fmt_in(f)?;
            }
        }
        match self.konst {
            0 => Ok(()),
            k if k > 0 => write!(f, "+{k}"),
            k => write!(f, "-{}", k.unsigned_abs()),
        }
    }
}

impl fmt::Display for Expr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // A lone opaque symbol prints as its name, so that `dim_param`s survive unchanged.
        if let Some(s) = self.as_sym() {
            return f.write_str(s);
        }
        self.fmt_inner(f)
    }
}

struct Parser<'a> {
    s: &'a [u8],
    i: usize,
}

impl Parser<'_> {
    fn skip_ws(&mut self) {
        while self.s.get(self.i).is_some_and(|c| *c == b' ') {
            self.i += 1;
        }
    }

    fn peek(&mut self) -> Option<u8> {
        self.skip_ws();
        self.s.get(self.i).copied()
    }

    fn eat(&mut self, c: u8) -> bool {
        if self.peek() == Some(c) {
            self.i += 1;
            true
        } else {
            false
        }
    }

    fn keyword(&mut self, kw: &str) -> bool {
        self.skip_ws();
        let end = self.i + kw.len();
        if self.s.get(self.i..end) == Some(kw.as_bytes())
            && !self
                .s
                .get(end)
                .is_some_and(|c| c.is_ascii_alphanumeric() || *c == b'_' || *c == b'.')
        {
            self.i = end;
            true
        } else {
            false
        }
    }

    fn int(&mut self) -> Option<i64> {
        self.skip_ws();
        let start = self.i;
        while self.s.get(self.i).is_some_and(u8::is_ascii_digit) {
            self.i += 1;
        }
        std::str::from_utf8(&self.s[start..self.i])
            .ok()?
            .parse()
            .ok()
    }

    fn expr(&mut self) -> Option<Expr> {
        let mut e = if self.eat(b'-') {
            self.term()?.neg()
        } else {
            self.term()?
        };
        loop {
            if self.eat(b'+') {
                e = e.add(&self.term()?);
            } else if self.eat(b'-') {
                e = e.sub(&self.term()?);
            } else {
                return Some(e);
            }
        }
    }

    fn term(&mut self) -> Option<Expr> {
        let mut e = self.primary()?;
        loop {
            if self.eat(b'*') {
                e = e.mul(&self.primary()?);
            } else if self.keyword("mod") {
                e = e.modulo(self.int()?)?;
            } else {
                return Some(e);
            }
        }
    }

    fn primary(&mut self) -> Option<Expr> {
        match self.peek()? {
            b'(' => {
                self.i += 1;
                let e = self.expr()?;
                self.eat(b')').then_some(e)
            }
            b'`' => {
                self.i += 1;
                let start = self.i;
                while self.s.get(self.i).is_some_and(|c| *c != b'`') {
                    self.i += 1;
                }
                let name = std::str::from_utf8(&self.s[start..self.i]).ok()?;
                self.i += 1;
                (self.i <= self.s.len()).then(|| Expr::sym(name))
            }
            c if c.is_ascii_digit() => Some(Expr::constant(self.int()?)),
            _ => {
                for (kw, ceil) in [("floor", false), ("ceil", true)] {
                    if self.keyword(kw) {
                        if !self.eat(b'(') {
                            return None;
                        }
                        let e = self.expr()?;
                        if !self.eat(b'/') {
                            return None;
                        }
                        let c = self.int()?;
                        if !self.eat(b')') {
                            return None;
                        }
                        return if ceil { e.ceil_div(c) } else { e.floor_div(c) };
                    }
                }
                let start = self.i;
                while self
                    .s
                    .get(self.i)
                    .is_some_and(|c| c.is_ascii_alphanumeric() || *c == b'_' || *c == b'.')
                {
                    self.i += 1;
                }
                let name = std::str::from_utf8(&self.s[start..self.i]).ok()?;
                is_ident(name).then(|| Expr::sym(name))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(n: &str) -> Expr {
        Expr::sym(n)
    }

    fn c(k: i64) -> Expr {
        Expr::constant(k)
    }

    #[test]
    fn equal_built_two_ways() {
        let a = s("seq").add(&c(1));
        let b = c(1).add(&s("seq"));
        assert_eq!(a, b);
        assert_eq!(s("h").scale(2).sub(&s("h")), s("h"));
        assert_eq!(s("h").mul(&s("w")), s("w").mul(&s("h")));
        assert_eq!(c(3).mul(&c(4)).add(&c(-2)), c(10));
        assert_eq!(s("h").sub(&s("h")), c(0));
        let p = s("a").add(&c(1)).mul(&s("a").sub(&c(1)));
        assert_eq!(p, s("a").mul(&s("a")).sub(&c(1)));
    }

    #[test]
    fn division() {
        assert_eq!(s("w").scale(2).floor_div(2), Some(s("w")));
        assert_eq!(
            s("w").scale(4).add(&c(6)).div_exact_const(2),
            Some(s("w").scale(2).add(&c(3)))
        );
        assert_eq!(s("w").add(&c(1)).div_exact_const(2), None);
        assert_eq!(c(7).floor_div(2), Some(c(3)));
        assert_eq!(c(-7).floor_div(2), Some(c(-4)));
        assert_eq!(c(7).ceil_div(2), Some(c(4)));
        assert_eq!(c(-7).ceil_div(2), Some(c(-3)));
        assert_eq!(s("w").floor_div(0), None);
        // floor((4h+w+5)/4) = h+1+floor((w+1)/4)
        let e = s("h")
            .scale(4)
            .add(&s("w"))
            .add(&c(5))
            .floor_div(4)
            .unwrap();
        assert_eq!(e.to_string(), "h+floor((w+1)/4)+1");
        // Conv output with pads 1, kernel 3, stride 2: floor((h+2-2-1)/2)+1 = floor((h+1)/2).
        let conv = s("h").add(&c(-1)).floor_div(2).unwrap().add(&c(1));
        assert_eq!(conv, s("h").add(&c(1)).floor_div(2).unwrap());
        // Nested: floor(floor(w/2)/16) = floor(w/32).
        let n = s("w").floor_div(2).unwrap().floor_div(16).unwrap();
        assert_eq!(n, s("w").floor_div(32).unwrap());
        // Stacked stride-2 Conv sizes flatten: floor((floor((h+1)/2)+1)/2) = floor((h+3)/4).
        let two = s("h").add(&c(1)).floor_div(2).unwrap();
        let four = two.add(&c(1)).floor_div(2).unwrap();
        assert_eq!(four, s("h").add(&c(3)).floor_div(4).unwrap());
        assert_eq!(four.to_string(), "floor((h+3)/4)");
        // ceil((ceil(h/2)+1)/2) = ceil((h+2)/4).
        let cc = s("h").ceil_div(2).unwrap().add(&c(1)).ceil_div(2).unwrap();
        assert_eq!(cc, s("h").add(&c(2)).ceil_div(4).unwrap());
        // Common factor: floor((2w+2)/4) = floor((w+1)/2).
        let g = s("w").scale(2).add(&c(2)).floor_div(4).unwrap();
        assert_eq!(g, s("w").add(&c(1)).floor_div(2).unwrap());
        // ceil keeps its constant in (-c, 0].
        assert_eq!(
            s("h").sub(&c(1)).ceil_div(2).unwrap().to_string(),
            "ceil((h-1)/2)"
        );
        assert_eq!(
            s("h").add(&c(3)).ceil_div(2).unwrap().to_string(),
            "ceil((h-1)/2)+2"
        );
    }

    #[test]
    fn modulo() {
        assert_eq!(c(-7).modulo(3), Some(c(2)));
        assert_eq!(s("h").scale(4).modulo(2), Some(c(0)));
        assert_eq!(
            s("h").scale(3).add(&c(5)).modulo(2).unwrap().to_string(),
            "((h+1) mod 2)"
        );
        assert_eq!(s("h").modulo(0), None);
    }

    #[test]
    fn exact_polynomial_division() {
        let bs = s("batch").mul(&s("seq"));
        let n = bs.scale(768);
        assert_eq!(n.div_exact(&bs), Some(c(768)));
        assert_eq!(n.div_exact(&s("batch").scale(12)), Some(s("seq").scale(64)));
        let p = s("seq").add(&c(1)).mul(&s("batch")).scale(4);
        assert_eq!(p.div_exact(&s("seq").add(&c(1))), Some(s("batch").scale(4)));
        assert_eq!(s("a").div_exact(&s("b")), None);
        assert_eq!(s("a").add(&c(1)).div_exact(&s("a")), None);
    }

    #[test]
    fn print_and_parse() {
        let cases = [
            ("batch", s("batch")),
            ("seq+1", s("seq").add(&c(1))),
            ("2*h", s("h").scale(2)),
            ("h*w", s("h").mul(&s("w"))),
            ("floor(w/32)", s("w").floor_div(32).unwrap()),
            ("ceil((h-1)/2)", s("h").sub(&c(1)).ceil_div(2).unwrap()),
            ("-h+3", c(3).sub(&s("h"))),
            ("(h mod 2)", s("h").modulo(2).unwrap()),
            ("7", c(7)),
            ("-2", c(-2)),
            (
                "2*floor(w/2)+1",
                s("w").floor_div(2).unwrap().scale(2).add(&c(1)),
            ),
        ];
        for (text, e) in cases {
            assert_eq!(e.to_string(), text);
            assert_eq!(Expr::parse(text).as_ref(), Some(&e), "{text}");
        }
        assert_eq!(Expr::parse("2 * h - h"), Some(s("h")));
        assert_eq!(Expr::parse("floor((2*w)/2)"), Some(s("w")));
        assert_eq!(
            Expr::parse("h mod 2 + 1"),
            Some(s("h").modulo(2).unwrap().add(&c(1)))
        );
        for bad in [
            "batch size",
            "N-dim:0",
            "",
            "floor(w)",
            "h/2",
            "(h",
            "w mod x",
            "1x",
        ] {
            assert_eq!(Expr::parse(bad), None, "{bad}");
        }
        let opaque = Expr::from_dim_text("N-dim:0");
        assert_eq!(opaque.to_string(), "N-dim:0");
        let plus = opaque.add(&c(1));
        assert_eq!(plus.to_string(), "`N-dim:0`+1");
        assert_eq!(Expr::from_dim_text(&plus.to_string()), plus);
    }
}
