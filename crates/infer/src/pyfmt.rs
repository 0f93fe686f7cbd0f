//! Numbers printed as Python and numpy print them, so output can be set
//! beside the book's.

/// Python's `str(float)`: the shortest digits that read back to the same
/// `f64`, in positional form for exponents -4 to 15 (`0.9352`, `1.0`) and in
/// scientific form otherwise (`1e-05`).
pub fn py_float(v: f64) -> String {
    if v.is_nan() {
        return "nan".into();
    }
    if v.is_infinite() {
        return if v > 0.0 { "inf".into() } else { "-inf".into() };
    }
    let sci = format!("{v:e}"); // shortest round-trip digits, e.g. "9.352e-1"
    let (mant, exp) = sci.split_once('e').expect("{:e} has an exponent");
    let exp: i32 = exp.parse().expect("integer exponent");
    if (-4..16).contains(&exp) {
        let s = format!("{v}");
        if s.contains('.') {
            s
        } else {
            s + ".0"
        }
    } else {
        let sign = if exp < 0 { '-' } else { '+' };
        format!("{mant}e{sign}{:02}", exp.abs())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_like_python() {
        assert_eq!(py_float(9352.0 / 10000.0), "0.9352");
        assert_eq!(py_float(932.0 / 1000.0), "0.932");
        assert_eq!(py_float(982.0 / 10000.0), "0.0982");
        assert_eq!(py_float(1.0), "1.0");
        assert_eq!(py_float(0.0), "0.0");
        assert_eq!(py_float(1.0 / 100000.0), "1e-05");
        assert_eq!(py_float(1e16), "1e+16");
    }
}
