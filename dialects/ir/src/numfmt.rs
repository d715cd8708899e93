//! Number formatting for the text form: the shortest decimal that reads back to the same bits, always
//! with a `.` (MLIR requires one in a float literal), exponent form for very large or small magnitudes,
//! and MLIR's hex bit pattern for NaN and infinities.

/// Formats an f32 so that `parse::<f32>()` of the result gives the same bits.
pub fn fmt_f32(v: f32) -> String {
    if !v.is_finite() {
        return format!("0x{:08X}", v.to_bits());
    }
    fmt_finite(format!("{v:e}"), v.abs() as f64)
}

/// Formats an f64 so that `parse::<f64>()` of the result gives the same bits.
pub fn fmt_f64(v: f64) -> String {
    if !v.is_finite() {
        return format!("0x{:016X}", v.to_bits());
    }
    fmt_finite(format!("{v:e}"), v.abs())
}

fn fmt_finite(sci: String, magnitude: f64) -> String {
    // `sci` is Rust's shortest round-trip form in exponent notation, e.g. "1.5e-7", "-3e0".
    let (mantissa, exp) = sci.split_once('e').expect("exponent form");
    let exp: i32 = exp.parse().expect("exponent");
    if magnitude == 0.0 || (-4..16).contains(&exp) {
        // Plain decimal: expand the mantissa digits around the decimal point.
        let neg = mantissa.starts_with('-');
        let digits: String = mantissa.chars().filter(|c| c.is_ascii_digit()).collect();
        let point = 1 + exp; // position of the decimal point within `digits`
        let mut out = String::new();
        if neg {
            out.push('-');
        }
        if point <= 0 {
            out.push_str("0.");
            out.extend(std::iter::repeat_n('0', (-point) as usize));
            out.push_str(&digits);
        } else if point as usize >= digits.len() {
            out.push_str(&digits);
            out.extend(std::iter::repeat_n('0', point as usize - digits.len()));
            out.push_str(".0");
        } else {
            out.push_str(&digits[..point as usize]);
            out.push('.');
            out.push_str(&digits[point as usize..]);
        }
        out
    } else {
        let mantissa = if mantissa.contains('.') {
            mantissa.to_string()
        } else {
            format!("{mantissa}.0")
        };
        format!("{mantissa}e{exp}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shortest_with_point() {
        assert_eq!(fmt_f32(1.0), "1.0");
        assert_eq!(fmt_f32(-0.0), "-0.0");
        assert_eq!(fmt_f32(0.1), "0.1");
        assert_eq!(fmt_f32(100000.0), "100000.0");
        assert_eq!(fmt_f32(1e-5), "1.0e-5");
        assert_eq!(fmt_f32(0.0125), "0.0125");
        assert_eq!(fmt_f32(1.5e20), "1.5e20");
        assert_eq!(fmt_f32(f32::NAN), "0x7FC00000");
        assert_eq!(fmt_f64(0.1), "0.1");
    }

    #[test]
    fn round_trips_bits() {
        let mut x: u32 = 0x1234_5678;
        for _ in 0..20000 {
            x = x.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            let v = f32::from_bits(x);
            if v.is_finite() {
                assert_eq!(fmt_f32(v).parse::<f32>().unwrap().to_bits(), x, "{v:e}");
            }
        }
    }
}
