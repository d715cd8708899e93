//! NumPy `.npy` files: one array, as `np.save` writes it and `np.load` reads it.
//!
//! The format is a magic string, a version, a header that is a Python dict literal
//! (`{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }`) and the raw elements. Versions 1.0,
//! 2.0 (4-byte header length) and 3.0 (UTF-8 header) are read; Fortran-order arrays are transposed to
//! the runtime's C order; big-endian dtypes are byte-swapped. Files are written exactly as numpy
//! writes them (version 1.0 unless the header needs 2.0, same padding), so `np.save` and
//! [`encode_npy`] give identical bytes. Data streams through a small buffer in both directions, so a
//! large array is never held twice (as bytes and as elements).
//!
//! numpy has no bfloat16: `ml_dtypes.bfloat16` arrays are saved as 2-byte void (`'<V2'`). BF16
//! tensors are therefore written as `'<V2'`, and `'V2'` is read back as BF16 (in numpy:
//! `np.load(f).view(ml_dtypes.bfloat16)`).

use std::io::{BufReader, BufWriter, Read, Write};
use std::path::Path;

use half::{bf16, f16};

use crate::error::{Result, RuntimeError};
use crate::tensor::{numel, DType, Data, Elem, Tensor};

const MAGIC: &[u8; 6] = b"\x93NUMPY";

/// numpy aligns the start of the data to this many bytes (so files can be memory-mapped).
const ARRAY_ALIGN: usize = 64;

/// numpy leaves room in the header for the first dimension to grow to this many digits.
const GROWTH_AXIS_MAX_DIGITS: usize = 21;

/// Data is converted between bytes and elements through a buffer of this size, so reading or writing
/// never holds a second copy of a large array.
const CHUNK_BYTES: usize = 1 << 16;

/// Reads a `.npy` file.
pub fn read_npy(path: &Path) -> Result<Tensor> {
    let cannot =
        |e: std::io::Error| RuntimeError::new(format!("cannot read '{}': {e}", path.display()));
    let file = std::fs::File::open(path).map_err(cannot)?;
    let len = file.metadata().map_err(cannot)?.len();
    let mut r = BufReader::with_capacity(CHUNK_BYTES, file);
    read_npy_from(&mut r, Some(len))
        .map_err(|e| RuntimeError::new(format!("'{}': {e}", path.display())))
}

/// Writes `t` as a `.npy` file (atomically: a failure leaves no half-written file).
pub fn write_npy(path: &Path, t: &Tensor) -> Result<()> {
    crate::io::write_atomically_with(path, |f| {
        let mut w = BufWriter::with_capacity(CHUNK_BYTES, f);
        write_npy_to(&mut w, t)?;
        w.flush()
    })
}

/// The numpy dtype string the runtime writes for `dtype`.
pub fn npy_descr(dtype: DType) -> &'static str {
    match dtype {
        DType::F32 => "<f4",
        DType::F64 => "<f8",
        DType::F16 => "<f2",
        DType::BF16 => "<V2",
        DType::I8 => "|i1",
        DType::I16 => "<i2",
        DType::I32 => "<i4",
        DType::I64 => "<i8",
        DType::U8 => "|u1",
        DType::U16 => "<u2",
        DType::U32 => "<u4",
        DType::U64 => "<u8",
        DType::Bool => "|b1",
    }
}

/// The bytes of a `.npy` file holding `t`, identical to what `np.save` writes for the same array.
pub fn encode_npy(t: &Tensor) -> Vec<u8> {
    let mut out = Vec::with_capacity(npy_len(t) as usize);
    write_npy_to(&mut out, t).expect("writing to a Vec does not fail");
    out
}

/// The size of `t`'s `.npy` file in bytes.
pub fn npy_len(t: &Tensor) -> u64 {
    (header(t).len() + t.len() * t.dtype().size()) as u64
}

/// Writes `t` as `.npy` bytes (what [`encode_npy`] returns) to `w`.
pub fn write_npy_to(w: &mut impl Write, t: &Tensor) -> std::io::Result<()> {
    w.write_all(&header(t))?;
    write_le(w, t.data())
}

/// Magic, version, header length and the header dict, padded with spaces and a newline so the data
/// starts on an [`ARRAY_ALIGN`] boundary. Version 1.0 (2-byte length) when it fits, else 2.0.
fn header(t: &Tensor) -> Vec<u8> {
    let shape = t.shape();
    let shape_repr = match shape {
        [] => "()".to_string(),
        [d] => format!("({d},)"),
        _ => {
            let dims: Vec<String> = shape.iter().map(|d| d.to_string()).collect();
            format!("({})", dims.join(", "))
        }
    };
    let mut dict = format!(
        "{{'descr': '{}', 'fortran_order': False, 'shape': {shape_repr}, }}",
        npy_descr(t.dtype())
    );
    if let Some(first) = shape.first() {
        let digits = first.to_string().len();
        dict.push_str(&" ".repeat(GROWTH_AXIS_MAX_DIGITS.saturating_sub(digits)));
    }
    let hlen = dict.len() + 1;
    let (major, len_bytes) = {
        let pad = ARRAY_ALIGN - (MAGIC.len() + 2 + 2 + hlen) % ARRAY_ALIGN;
        if hlen + pad <= u16::MAX as usize {
            (1u8, 2usize)
        } else {
            (2u8, 4usize)
        }
    };
    let pad = ARRAY_ALIGN - (MAGIC.len() + 2 + len_bytes + hlen) % ARRAY_ALIGN;
    let total = hlen + pad;
    let mut out = Vec::with_capacity(MAGIC.len() + 2 + len_bytes + total);
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&[major, 0]);
    if len_bytes == 2 {
        out.extend_from_slice(&(total as u16).to_le_bytes());
    } else {
        out.extend_from_slice(&(total as u32).to_le_bytes());
    }
    out.extend_from_slice(dict.as_bytes());
    out.resize(out.len() + pad, b' ');
    out.push(b'\n');
    out
}

/// Writes the elements as little-endian bytes, a chunk at a time.
fn write_le(w: &mut impl Write, data: &Data) -> std::io::Result<()> {
    macro_rules! put {
        ($v:expr, $n:literal) => {{
            let mut buf = vec![0u8; CHUNK_BYTES];
            for c in $v.chunks(CHUNK_BYTES / $n) {
                let b = &mut buf[..c.len() * $n];
                for (dst, x) in b.chunks_exact_mut($n).zip(c) {
                    dst.copy_from_slice(&x.to_le_bytes());
                }
                w.write_all(b)?;
            }
            Ok(())
        }};
    }
    match data {
        Data::F32(v) => put!(v, 4),
        Data::F64(v) => put!(v, 8),
        Data::F16(v) => put!(v, 2),
        Data::BF16(v) => put!(v, 2),
        Data::I8(v) => put!(v, 1),
        Data::I16(v) => put!(v, 2),
        Data::I32(v) => put!(v, 4),
        Data::I64(v) => put!(v, 8),
        Data::U8(v) => w.write_all(v),
        Data::U16(v) => put!(v, 2),
        Data::U32(v) => put!(v, 4),
        Data::U64(v) => put!(v, 8),
        Data::Bool(v) => {
            for c in v.chunks(CHUNK_BYTES) {
                let b: Vec<u8> = c.iter().map(|&x| x as u8).collect();
                w.write_all(&b)?;
            }
            Ok(())
        }
    }
}

/// Parses the bytes of a `.npy` file. Errors do not name the file; callers add it.
pub fn decode_npy(bytes: &[u8]) -> Result<Tensor> {
    read_npy_from(&mut &bytes[..], Some(bytes.len() as u64))
}

/// What a `.npy` header declares, and how many bytes the header took: the elements start right after.
/// With [`read_npy_header`] and [`read_npy_data`] an array can be read a slice at a time (rows of a C-order
/// array are contiguous), never whole.
#[derive(Clone, Debug, PartialEq)]
pub struct NpyHeader {
    /// The numpy dtype string, as written (`'<f4'`).
    pub descr: String,
    pub dtype: DType,
    pub big_endian: bool,
    pub fortran_order: bool,
    pub shape: Vec<usize>,
    /// Bytes from the start of the file to the first element.
    pub data_offset: u64,
}

/// Reads the magic, version and header of a `.npy` file from `r`, leaving `r` at the first element.
/// Errors do not name the file; callers add it.
pub fn read_npy_header(r: &mut impl Read) -> Result<NpyHeader> {
    let io = |e: std::io::Error| RuntimeError::new(e.to_string());
    let mut prefix = [0u8; 8];
    let got = read_full(r, &mut prefix).map_err(io)?;
    if got < 6 || &prefix[..6] != MAGIC {
        crate::bail!("not a .npy file (it does not start with the \\x93NUMPY magic)");
    }
    crate::ensure!(got == 8, "the .npy header is cut short");
    let (major, minor) = (prefix[6], prefix[7]);
    let len_bytes = match (major, minor) {
        (1, 0) => 2,
        (2, 0) | (3, 0) => 4,
        _ => crate::bail!(
            "unsupported .npy format version {major}.{minor} (1.0, 2.0 and 3.0 are supported)"
        ),
    };
    let mut hl = [0u8; 4];
    crate::ensure!(
        read_full(r, &mut hl[..len_bytes]).map_err(io)? == len_bytes,
        "the .npy header is cut short"
    );
    let header_len = u32::from_le_bytes(hl) as u64;
    let mut raw = Vec::new();
    r.by_ref()
        .take(header_len)
        .read_to_end(&mut raw)
        .map_err(io)?;
    crate::ensure!(
        raw.len() as u64 == header_len,
        "the .npy header is cut short"
    );
    // Versions 1 and 2 store the header in latin-1, version 3 in UTF-8.
    let header: String = if major == 3 {
        String::from_utf8(raw)
            .map_err(|_| RuntimeError::new("the .npy header is not valid UTF-8"))?
    } else {
        raw.iter().map(|&b| b as char).collect()
    };
    let h = parse_header(&header)?;
    Ok(NpyHeader {
        descr: h.descr,
        dtype: h.dtype,
        big_endian: h.big_endian,
        fortran_order: h.fortran_order,
        shape: h.shape,
        data_offset: 8 + len_bytes as u64 + header_len,
    })
}

/// Reads the next `n` elements of the array `h` describes from `r` (in file order: C order unless
/// `h.fortran_order`). Errors do not name the file; callers add it.
pub fn read_npy_data(r: &mut impl Read, h: &NpyHeader, n: usize) -> Result<Data> {
    read_data(r, h.dtype, n, h.big_endian).map_err(|e| {
        if e.kind() == std::io::ErrorKind::UnexpectedEof {
            RuntimeError::new(format!(
                "the data of the array (shape {:?}, '{}') is cut short",
                h.shape, h.descr
            ))
        } else {
            RuntimeError::new(e.to_string())
        }
    })
}

/// Reads one array from `r`, which holds the whole `.npy` file: `len` bytes when the caller knows
/// (for exact messages about missing or extra data). Errors do not name the file; callers add it.
pub fn read_npy_from(r: &mut impl Read, len: Option<u64>) -> Result<Tensor> {
    let io = |e: std::io::Error| RuntimeError::new(e.to_string());
    let h = read_npy_header(r)?;
    let sizes = h
        .shape
        .iter()
        .try_fold(1usize, |a, &d| a.checked_mul(d))
        .and_then(|n| n.checked_mul(h.dtype.size()).map(|b| (n, b)));
    let Some((n, nbytes)) = sizes else {
        crate::bail!("shape {:?} is too large", h.shape);
    };
    let needs = || {
        format!(
            "the header's shape {:?} of '{}' needs {nbytes} bytes of data",
            h.shape, h.descr
        )
    };
    const EXTRA: &str = "several arrays saved into one file? use .npz for that";
    if let Some(len) = len {
        let data_len = len.saturating_sub(h.data_offset);
        if data_len != nbytes as u64 {
            let why = if data_len > nbytes as u64 {
                EXTRA
            } else {
                "the file is cut short"
            };
            crate::bail!("{}, the file has {data_len} ({why})", needs());
        }
    }
    let data = read_data(r, h.dtype, n, h.big_endian).map_err(|e| {
        if e.kind() == std::io::ErrorKind::UnexpectedEof {
            RuntimeError::new(format!("{} (the file is cut short)", needs()))
        } else {
            io(e)
        }
    })?;
    // Reading to the end also makes a zip member check its CRC.
    let mut extra = [0u8; 1];
    if read_full(r, &mut extra).map_err(io)? != 0 {
        crate::bail!("{}, the file has more ({EXTRA})", needs());
    }
    if h.fortran_order && h.shape.len() > 1 {
        let data = crate::with_data!(&data, v => from_fortran(v, &h.shape));
        return Tensor::new(h.shape, data);
    }
    Tensor::new(h.shape, data)
}

/// Reads until `buf` is full or the input ends; returns how many bytes were read.
fn read_full(r: &mut impl Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut got = 0;
    while got < buf.len() {
        match r.read(&mut buf[got..]) {
            Ok(0) => break,
            Ok(k) => got += k,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(got)
}

/// Reads `n` elements of `dtype`, a chunk at a time.
fn read_data(r: &mut impl Read, dtype: DType, n: usize, big_endian: bool) -> std::io::Result<Data> {
    // `n` comes from the file; when its length is unknown, do not trust it with a huge allocation.
    let cap = n.min(CHUNK_BYTES * 1024);
    macro_rules! get {
        ($t:ty, $n:literal) => {{
            let mut out: Vec<$t> = Vec::with_capacity(cap);
            let mut buf = vec![0u8; CHUNK_BYTES];
            let mut left = n;
            while left > 0 {
                let m = left.min(CHUNK_BYTES / $n);
                let b = &mut buf[..m * $n];
                r.read_exact(b)?;
                let chunks = b
                    .chunks_exact($n)
                    .map(|c| <[u8; $n]>::try_from(c).expect("chunk size"));
                if big_endian {
                    out.extend(chunks.map(<$t>::from_be_bytes));
                } else {
                    out.extend(chunks.map(<$t>::from_le_bytes));
                }
                left -= m;
            }
            Data::from(out)
        }};
    }
    Ok(match dtype {
        DType::F32 => get!(f32, 4),
        DType::F64 => get!(f64, 8),
        DType::F16 => get!(f16, 2),
        DType::BF16 => get!(bf16, 2),
        DType::I8 => get!(i8, 1),
        DType::I16 => get!(i16, 2),
        DType::I32 => get!(i32, 4),
        DType::I64 => get!(i64, 8),
        DType::U8 => get!(u8, 1),
        DType::U16 => get!(u16, 2),
        DType::U32 => get!(u32, 4),
        DType::U64 => get!(u64, 8),
        DType::Bool => {
            let Data::U8(bytes) = get!(u8, 1) else {
                unreachable!("u8 in, u8 out")
            };
            Data::Bool(bytes.into_iter().map(|b| b != 0).collect())
        }
    })
}

/// Reorders elements stored in Fortran (column-major) order for `shape` into C (row-major) order.
fn from_fortran<T: Elem>(src: &[T], shape: &[usize]) -> Data {
    let n = numel(shape);
    let rank = shape.len();
    let mut fstrides = vec![1usize; rank];
    for k in 1..rank {
        fstrides[k] = fstrides[k - 1] * shape[k - 1];
    }
    let mut out = Vec::with_capacity(n);
    let mut idx = vec![0usize; rank];
    let mut off = 0usize;
    for _ in 0..n {
        out.push(src[off]);
        // Odometer over the C-order index, last axis fastest, tracking the Fortran offset.
        for k in (0..rank).rev() {
            idx[k] += 1;
            off += fstrides[k];
            if idx[k] < shape[k] {
                break;
            }
            off -= fstrides[k] * shape[k];
            idx[k] = 0;
        }
    }
    T::wrap(out)
}

/// What a `.npy` header says.
#[derive(Debug)]
struct Header {
    descr: String,
    dtype: DType,
    big_endian: bool,
    fortran_order: bool,
    shape: Vec<usize>,
}

fn parse_header(text: &str) -> Result<Header> {
    let shown: String = text.chars().take(200).collect();
    let bad = |why: &str| RuntimeError::new(format!("malformed .npy header ({why}): {shown:?}"));
    let mut p = Lexer {
        s: text.as_bytes(),
        i: 0,
    };
    let value = p.value(0).map_err(|e| bad(&e))?;
    p.skip_ws();
    if p.i != p.s.len() {
        return Err(bad("unexpected text after the dict"));
    }
    let Lit::Dict(entries) = value else {
        return Err(bad("not a dict"));
    };
    let get = |key: &str| {
        entries
            .iter()
            .find(|(k, _)| matches!(k, Lit::Str(s) if s == key))
            .map(|(_, v)| v)
    };
    let descr = match get("descr") {
        Some(Lit::Str(s)) => s.clone(),
        Some(Lit::List(_)) | Some(Lit::Tuple(_)) => crate::bail!(
            "structured arrays (record dtypes) are not supported; save each field as its own array"
        ),
        _ => return Err(bad("no 'descr' string")),
    };
    let fortran_order = match get("fortran_order") {
        Some(Lit::Bool(b)) => *b,
        _ => return Err(bad("no 'fortran_order' boolean")),
    };
    let shape = match get("shape") {
        Some(Lit::Tuple(items)) | Some(Lit::List(items)) => items
            .iter()
            .map(|d| match d {
                Lit::Int(v) => usize::try_from(*v).map_err(|_| bad("negative or huge dimension")),
                _ => Err(bad("a dimension is not an integer")),
            })
            .collect::<Result<Vec<_>>>()?,
        _ => return Err(bad("no 'shape' tuple")),
    };
    let (dtype, big_endian) = parse_descr(&descr)?;
    Ok(Header {
        descr,
        dtype,
        big_endian,
        fortran_order,
        shape,
    })
}

/// A numpy dtype string (`'<f4'`, `'>i8'`, `'|b1'`) as a runtime type and whether it is big-endian.
fn parse_descr(descr: &str) -> Result<(DType, bool)> {
    let (order, rest) = match descr.as_bytes().first() {
        Some(b'<' | b'>' | b'|' | b'=') => (descr.as_bytes()[0], &descr[1..]),
        _ => (b'=', descr),
    };
    let big_endian = match order {
        b'>' => true,
        b'=' => cfg!(target_endian = "big"),
        _ => false,
    };
    let dtype = match rest {
        "f2" => DType::F16,
        "f4" => DType::F32,
        "f8" => DType::F64,
        "i1" => DType::I8,
        "i2" => DType::I16,
        "i4" => DType::I32,
        "i8" => DType::I64,
        "u1" => DType::U8,
        "u2" => DType::U16,
        "u4" => DType::U32,
        "u8" => DType::U64,
        "b1" => DType::Bool,
        "V2" => DType::BF16,
        _ => {
            let why = match rest.as_bytes().first() {
                Some(b'O') => "object arrays hold Python objects, not numbers",
                Some(b'U' | b'S' | b'a') => "string arrays are not supported",
                Some(b'c') => "complex numbers are not supported",
                Some(b'M' | b'm') => "datetime and timedelta arrays are not supported",
                Some(b'f') => "only 2-, 4- and 8-byte floats are supported",
                Some(b'V') => "raw void data is not supported (only 2-byte void, read as bfloat16)",
                _ => "not a dtype the runtime computes with",
            };
            crate::bail!("unsupported dtype '{descr}': {why}");
        }
    };
    Ok((dtype, big_endian))
}

/// The Python literals a `.npy` header uses.
#[derive(Debug)]
enum Lit {
    Str(String),
    Int(i128),
    Bool(bool),
    None,
    Tuple(Vec<Lit>),
    List(Vec<Lit>),
    Dict(Vec<(Lit, Lit)>),
}

/// A recursive-descent reader of Python literals (what `ast.literal_eval` accepts in a header).
struct Lexer<'a> {
    s: &'a [u8],
    i: usize,
}

/// Headers nest at most a few levels (a structured dtype's field list); deeper is not a real file.
const MAX_DEPTH: usize = 32;

impl Lexer<'_> {
    fn skip_ws(&mut self) {
        while self.i < self.s.len() && self.s[self.i].is_ascii_whitespace() {
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

    fn value(&mut self, depth: usize) -> std::result::Result<Lit, String> {
        if depth > MAX_DEPTH {
            return Err("nested too deeply".into());
        }
        match self.peek() {
            Some(b'{') => {
                self.i += 1;
                let mut entries = vec![];
                while !self.eat(b'}') {
                    let k = self.value(depth + 1)?;
                    if !self.eat(b':') {
                        return Err("expected ':'".into());
                    }
                    let v = self.value(depth + 1)?;
                    entries.push((k, v));
                    if !self.eat(b',') {
                        if !self.eat(b'}') {
                            return Err("expected ',' or '}'".into());
                        }
                        break;
                    }
                }
                Ok(Lit::Dict(entries))
            }
            Some(open @ (b'(' | b'[')) => {
                self.i += 1;
                let close = if open == b'(' { b')' } else { b']' };
                let mut items = vec![];
                let mut saw_comma = false;
                while !self.eat(close) {
                    items.push(self.value(depth + 1)?);
                    saw_comma = self.eat(b',');
                    if !saw_comma {
                        if !self.eat(close) {
                            return Err(format!("expected ',' or '{}'", close as char));
                        }
                        break;
                    }
                }
                Ok(match open {
                    // `(x)` without a comma is just x in parentheses.
                    b'(' if items.len() == 1 && !saw_comma => items.pop().expect("one item"),
                    b'(' => Lit::Tuple(items),
                    _ => Lit::List(items),
                })
            }
            Some(q @ (b'\'' | b'"')) => {
                self.i += 1;
                let mut out = Vec::new();
                loop {
                    let Some(&c) = self.s.get(self.i) else {
                        return Err("unterminated string".into());
                    };
                    self.i += 1;
                    if c == q {
                        break;
                    }
                    if c == b'\\' {
                        let Some(&e) = self.s.get(self.i) else {
                            return Err("unterminated string".into());
                        };
                        self.i += 1;
                        out.push(match e {
                            b'n' => b'\n',
                            b't' => b'\t',
                            other => other,
                        });
                    } else {
                        out.push(c);
                    }
                }
                Ok(Lit::Str(String::from_utf8_lossy(&out).into_owned()))
            }
            Some(c) if c.is_ascii_digit() || c == b'-' || c == b'+' => {
                let start = self.i;
                self.i += 1;
                while self.i < self.s.len() && self.s[self.i].is_ascii_digit() {
                    self.i += 1;
                }
                let text = std::str::from_utf8(&self.s[start..self.i]).expect("ascii");
                let v: i128 = text.parse().map_err(|_| format!("bad integer '{text}'"))?;
                // Python 2 wrote long integers with an `L` suffix.
                if matches!(self.s.get(self.i), Some(b'L' | b'l')) {
                    self.i += 1;
                }
                Ok(Lit::Int(v))
            }
            Some(c) if c.is_ascii_alphabetic() => {
                let start = self.i;
                while self.i < self.s.len()
                    && (self.s[self.i].is_ascii_alphanumeric() || self.s[self.i] == b'_')
                {
                    self.i += 1;
                }
                match &self.s[start..self.i] {
                    b"True" => Ok(Lit::Bool(true)),
                    b"False" => Ok(Lit::Bool(false)),
                    b"None" => Ok(Lit::None),
                    w => Err(format!("unexpected word '{}'", String::from_utf8_lossy(w))),
                }
            }
            Some(c) => Err(format!("unexpected character '{}'", c as char)),
            None => Err("unexpected end".into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A tensor of `dtype` with varied values (negative, fractional, extreme where the type allows).
    fn sample(dtype: DType, shape: Vec<usize>) -> Tensor {
        let n = numel(&shape);
        let vals: Vec<f64> = (0..n)
            .map(|i| ((i as f64) * 7.25 - 20.5) * if i % 3 == 0 { -1.0 } else { 1.0 })
            .collect();
        Tensor::from_vec(shape, vals).cast(dtype)
    }

    const ALL: [DType; 13] = [
        DType::F32,
        DType::F64,
        DType::F16,
        DType::BF16,
        DType::I8,
        DType::I16,
        DType::I32,
        DType::I64,
        DType::U8,
        DType::U16,
        DType::U32,
        DType::U64,
        DType::Bool,
    ];

    #[test]
    fn round_trip_every_dtype_and_rank() {
        for dtype in ALL {
            for shape in [
                vec![],
                vec![0],
                vec![5],
                vec![2, 3],
                vec![2, 0, 3],
                vec![1, 2, 3, 2],
            ] {
                let t = sample(dtype, shape.clone());
                let bytes = encode_npy(&t);
                let header_end = bytes.len() - t.len() * dtype.size();
                assert_eq!(header_end % ARRAY_ALIGN, 0, "{dtype} {shape:?}");
                assert_eq!(bytes[header_end - 1], b'\n');
                let back = decode_npy(&bytes).unwrap();
                assert_eq!(back, t, "{dtype} {shape:?}");
            }
        }
    }

    #[test]
    fn header_matches_numpy_byte_for_byte() {
        // The exact bytes np.save writes for np.zeros((2, 3), np.float32) and np.float32(3).
        let t = Tensor::from_vec(vec![2, 3], vec![0f32; 6]);
        let mut want =
            b"\x93NUMPY\x01\x00v\x00{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }"
                .to_vec();
        want.resize(127, b' ');
        want.push(b'\n');
        assert_eq!(&encode_npy(&t)[..128], &want[..]);
        let s = encode_npy(&Tensor::scalar(3f32));
        assert_eq!(s.len(), 128 + 4);
        assert!(s.starts_with(
            b"\x93NUMPY\x01\x00v\x00{'descr': '<f4', 'fortran_order': False, 'shape': (), }"
        ));
    }

    /// Builds a file by hand from a header dict and data bytes, as another writer might.
    fn file(version: (u8, u8), dict: &str, data: &[u8]) -> Vec<u8> {
        let mut out = MAGIC.to_vec();
        out.extend_from_slice(&[version.0, version.1]);
        let h = format!("{dict}\n");
        if version.0 == 1 {
            out.extend_from_slice(&(h.len() as u16).to_le_bytes());
        } else {
            out.extend_from_slice(&(h.len() as u32).to_le_bytes());
        }
        out.extend_from_slice(h.as_bytes());
        out.extend_from_slice(data);
        out
    }

    #[test]
    fn versions_byte_orders_and_fortran_order() {
        let le: Vec<u8> = [1i32, 2, 3, 4, 5, 6]
            .iter()
            .flat_map(|x| x.to_le_bytes())
            .collect();
        let be: Vec<u8> = [1i32, 2, 3, 4, 5, 6]
            .iter()
            .flat_map(|x| x.to_be_bytes())
            .collect();
        let want = Tensor::from_vec(vec![2, 3], vec![1i32, 2, 3, 4, 5, 6]);
        for v in [(1, 0), (2, 0), (3, 0)] {
            let d = "{'descr': '<i4', 'fortran_order': False, 'shape': (2, 3), }";
            assert_eq!(decode_npy(&file(v, d, &le)).unwrap(), want);
            let d = "{\"shape\": [2, 3], \"descr\": \">i4\", \"fortran_order\": False}";
            assert_eq!(decode_npy(&file(v, d, &be)).unwrap(), want);
        }
        // Column-major storage of [[1, 2, 3], [4, 5, 6]] is 1 4 2 5 3 6.
        let f: Vec<u8> = [1i32, 4, 2, 5, 3, 6]
            .iter()
            .flat_map(|x| x.to_le_bytes())
            .collect();
        let d = "{'descr': '<i4', 'fortran_order': True, 'shape': (2L, 3L), }";
        assert_eq!(decode_npy(&file((1, 0), d, &f)).unwrap(), want);
        // Fortran order on a rank-1 or rank-0 array changes nothing.
        let d = "{'descr': '<i4', 'fortran_order': True, 'shape': (6,), }";
        assert_eq!(
            decode_npy(&file((1, 0), d, &le)).unwrap(),
            want.reshaped(vec![6]).unwrap()
        );
        // Big-endian half floats and bfloat16 as 2-byte void.
        let d = "{'descr': '>f2', 'fortran_order': False, 'shape': (1,), }";
        let t = decode_npy(&file((1, 0), d, &f16::from_f32(1.5).to_be_bytes())).unwrap();
        assert_eq!(t.as_slice::<f16>().unwrap(), &[f16::from_f32(1.5)]);
        let d = "{'descr': '|V2', 'fortran_order': False, 'shape': (), }";
        let t = decode_npy(&file((1, 0), d, &bf16::from_f32(-2.0).to_le_bytes())).unwrap();
        assert_eq!(t.as_slice::<bf16>().unwrap(), &[bf16::from_f32(-2.0)]);
    }

    /// The plain definition: element (i, j, k) of a C-order array sits at i*J*K + j*K + k, of a
    /// Fortran-order array at i + j*I + k*I*J.
    #[test]
    fn fortran_transpose_matches_the_index_formula() {
        let mut seed = 12345u64;
        let mut next = |m: usize| {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((seed >> 33) as usize) % m
        };
        for _ in 0..50 {
            let shape: Vec<usize> = (0..3).map(|_| next(5)).collect();
            let (a, b, c) = (shape[0], shape[1], shape[2]);
            let src: Vec<u32> = (0..a * b * c).map(|x| x as u32).collect();
            let Data::U32(got) = from_fortran(&src, &shape) else {
                panic!("u32 in, u32 out")
            };
            for i in 0..a {
                for j in 0..b {
                    for k in 0..c {
                        assert_eq!(got[i * b * c + j * c + k], src[i + j * a + k * a * b]);
                    }
                }
            }
        }
    }

    #[test]
    fn errors_say_what_is_wrong() {
        let err = |bytes: &[u8]| decode_npy(bytes).unwrap_err().to_string();
        assert!(err(b"PK\x03\x04 not npy").contains("not a .npy file"));
        assert!(err(&file((4, 0), "{}", &[])).contains("unsupported .npy format version 4.0"));
        let d = "{'descr': '|O', 'fortran_order': False, 'shape': (1,), }";
        assert_eq!(
            err(&file((1, 0), d, &[0; 8])),
            "unsupported dtype '|O': object arrays hold Python objects, not numbers"
        );
        let d = "{'descr': '<U3', 'fortran_order': False, 'shape': (1,), }";
        assert!(err(&file((1, 0), d, &[0; 12])).contains("string arrays"));
        let d = "{'descr': '<c8', 'fortran_order': False, 'shape': (1,), }";
        assert!(err(&file((1, 0), d, &[0; 8])).contains("complex"));
        let d = "{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (1,), }";
        assert!(err(&file((1, 0), d, &[0; 4])).contains("structured arrays"));
        let d = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }";
        assert_eq!(
            err(&file((1, 0), d, &[0; 20])),
            "the header's shape [2, 3] of '<f4' needs 24 bytes of data, the file has 20 (the file is cut short)"
        );
        assert!(err(&file((1, 0), d, &[0; 28])).contains("use .npz"));
        let d = "{'descr': '<f4', 'fortran_order': False, 'shape': (-1,), }";
        assert!(err(&file((1, 0), d, &[])).contains("negative"));
        let d = "{'descr': '<f4', 'fortran_order': False, 'shape': (4294967296, 4294967296, 4294967296), }";
        assert!(err(&file((1, 0), d, &[])).contains("too large"));
        for d in [
            "{'descr': '<f4'",
            "{'descr' '<f4'}",
            "[1, 2]",
            "{'descr': '<f4', 'shape': (1,)}",
        ] {
            assert!(
                err(&file((1, 0), d, &[0; 4])).contains("malformed .npy header"),
                "{d}"
            );
        }
        let deep = format!("{}{}", "[".repeat(100), "]".repeat(100));
        assert!(err(&file((1, 0), &deep, &[])).contains("nested too deeply"));
        // A stream of unknown length: the same checks, made while reading.
        let good = encode_npy(&Tensor::from_vec(vec![2], vec![1i16, -1]));
        assert_eq!(
            read_npy_from(&mut &good[..], None).unwrap(),
            decode_npy(&good).unwrap()
        );
        let mut more = good.clone();
        more.push(0);
        let e = read_npy_from(&mut &more[..], None).unwrap_err().to_string();
        assert!(
            e.ends_with(
                "the file has more (several arrays saved into one file? use .npz for that)"
            ),
            "{e}"
        );
        let e = read_npy_from(&mut &good[..good.len() - 1], None)
            .unwrap_err()
            .to_string();
        assert_eq!(
            e,
            "the header's shape [2] of '<i2' needs 4 bytes of data (the file is cut short)"
        );
        // Every prefix of a valid file is an error, never a panic.
        let good = encode_npy(&Tensor::from_vec(vec![3], vec![1f64, 2.0, 3.0]));
        for n in 0..good.len() {
            assert!(decode_npy(&good[..n]).is_err(), "prefix {n}");
        }
    }
}
