//! SSA value names in the text form: ONNX tensor names become MLIR value names (`%conv1.weight`).
//!
//! MLIR allows `[A-Za-z0-9$._-]` after `%` (and no leading digit for a named value). Other bytes, a
//! leading digit, and `$` itself are escaped as `$XX` (two uppercase hex digits of the UTF-8 byte), so
//! `/backbone/Conv_output_0` prints as `%$2Fbackbone$2FConv_output_0` and reads back unchanged. Names that
//! would look like the printer's own numbering (`%7`, `%arg3`) are escaped too. When two values in one
//! function share a name, the later ones get a `$$N` suffix, which the parser strips.

/// Encodes a value name as an MLIR SSA suffix (without the `%`).
pub fn encode(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for (i, b) in name.bytes().enumerate() {
        let plain = b.is_ascii_alphanumeric() || b == b'.' || b == b'_' || b == b'-';
        if plain && !(i == 0 && b.is_ascii_digit()) {
            out.push(b as char);
        } else {
            out.push_str(&format!("${b:02X}"));
        }
    }
    if looks_numbered(&out) {
        // Escape the first letter so the parser does not take it for an unnamed value.
        let first = out.as_bytes()[0];
        out = format!("${first:02X}{}", &out[1..]);
    }
    out
}

/// True for the printer's names of unnamed values: `123` and `arg123`.
pub fn looks_numbered(s: &str) -> bool {
    let digits = s.strip_prefix("arg").unwrap_or(s);
    !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit())
}

/// Decodes an SSA suffix written by [`encode`] (plus an optional `$$N` duplicate suffix). Unknown `$`
/// sequences are kept literally, so hand-written names still read.
pub fn decode(s: &str) -> String {
    let s = match s.rfind("$$") {
        Some(i) if i + 2 < s.len() && s[i + 2..].bytes().all(|b| b.is_ascii_digit()) => &s[..i],
        _ => s,
    };
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'$' && i + 2 < bytes.len() {
            if let (Some(hi), Some(lo)) = (upper_hex(bytes[i + 1]), upper_hex(bytes[i + 2])) {
                out.push(hi * 16 + lo);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn upper_hex(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        for name in [
            "x",
            "input.1",
            "/backbone/conv1/Conv_output_0",
            "123",
            "arg0",
            "a$b",
            "ünï",
            "-x",
            "_",
            "onnx::Conv_5",
        ] {
            let enc = encode(name);
            assert!(!looks_numbered(&enc), "{enc}");
            assert!(
                enc.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"$._-".contains(&b)),
                "{enc}"
            );
            assert!(!enc.as_bytes()[0].is_ascii_digit(), "{enc}");
            assert_eq!(decode(&enc), name);
            assert_eq!(decode(&format!("{enc}$$3")), name);
        }
        assert_eq!(encode("input.1"), "input.1");
        assert_eq!(encode("/a"), "$2Fa");
    }
}
