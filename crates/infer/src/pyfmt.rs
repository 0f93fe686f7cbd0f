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

/// Shortest round-trip digits of a finite `v` as (sign, digits, exponent):
/// `v = ±0.d1d2d3… × 10^exponent`.
fn shortest_digits(v: f64) -> (bool, String, i32) {
    let sci = format!("{:e}", v.abs()); // "9.352e-1"
    let (mant, exp) = sci.split_once('e').expect("{:e} has an exponent");
    let digits: String = mant.chars().filter(|c| c.is_ascii_digit()).collect();
    (v.is_sign_negative(), digits, exp.parse::<i32>().expect("integer exponent") + 1)
}

/// numpy's `dragon4_positional(v, precision=8, unique=True, trim='.')`:
/// the shortest digits that read back, cut (rounded) to at most 8
/// fractional digits; `1.0` prints as `1.`.
fn positional(v: f64, precision: usize) -> String {
    let s = format!("{v}");
    let s = match s.split_once('.') {
        Some((_, frac)) if frac.len() > precision => {
            let r = format!("{v:.precision$}");
            r.trim_end_matches('0').to_string()
        }
        Some(_) => s,
        None => s + ".",
    };
    s
}

/// numpy's `dragon4_scientific(v, precision=8, unique=True)`: mantissa
/// digits (at most 9 significant), exponent separately.
fn scientific(v: f64, precision: usize) -> (String, String, i32) {
    let (neg, digits, exp10) = shortest_digits(v);
    let (int, mut frac, mut exp) = if digits.len() > precision + 1 {
        let r = format!("{:.precision$e}", v.abs());
        let (m, e) = r.split_once('e').expect("exponent");
        let (i, f) = m.split_once('.').unwrap_or((m, ""));
        (i.to_string(), f.trim_end_matches('0').to_string(), e.parse::<i32>().expect("exponent"))
    } else {
        (digits[..1].to_string(), digits[1..].to_string(), exp10 - 1)
    };
    if v == 0.0 {
        frac.clear();
        exp = 0;
    }
    (format!("{}{int}", if neg { "-" } else { "" }), frac, exp)
}

/// A 1-D float64 array printed as numpy prints it with its defaults
/// (`precision=8`, `floatmode='maxprec'`, `suppress=False`):
/// `[0.01821127 0.24519181 0.73659691]`,
/// `[9.99954600e-01 4.53978686e-05 2.06106005e-09]`, `[nan nan nan]`.
pub fn np_array(values: &[f64]) -> String {
    const PRECISION: usize = 8;
    let finite: Vec<f64> = values.iter().copied().filter(|v| v.is_finite()).collect();
    let nonzero: Vec<f64> = finite.iter().map(|v| v.abs()).filter(|&v| v != 0.0).collect();
    let (min, max) = nonzero.iter().fold((f64::INFINITY, 0.0f64), |(lo, hi), &v| (lo.min(v), hi.max(v)));
    let exp_format = !nonzero.is_empty() && (max >= 1e8 || min < 1e-4 || max / min > 1e3);
    let cells: Vec<String> = if exp_format {
        let parts: Vec<(String, String, i32)> = finite.iter().map(|&v| scientific(v, PRECISION)).collect();
        let precision = parts.iter().map(|p| p.1.len()).max().unwrap_or(0);
        let exp_size = parts.iter().map(|p| format!("{:02}", p.2.abs()).len()).max().unwrap_or(2);
        let pad_left = parts.iter().map(|p| p.0.len()).max().unwrap_or(1);
        let mut parts = parts.into_iter();
        values
            .iter()
            .map(|v| {
                let width = pad_left + 1 + precision + 2 + exp_size;
                if !v.is_finite() {
                    return format!("{:>width$}", nonfinite(*v));
                }
                let (int, frac, exp) = parts.next().expect("one part per finite value");
                let sign = if exp < 0 { '-' } else { '+' };
                let body = format!("{int}.{frac:0<precision$}e{sign}{:0exp_size$}", exp.abs());
                format!("{body:>width$}")
            })
            .collect()
    } else {
        let strs: Vec<String> = finite.iter().map(|&v| positional(v, PRECISION)).collect();
        let pad_left = strs.iter().map(|s| s.split('.').next().unwrap_or("").len()).max().unwrap_or(1);
        let pad_right = strs.iter().map(|s| s.split('.').nth(1).unwrap_or("").len()).max().unwrap_or(0);
        let mut strs = strs.into_iter();
        values
            .iter()
            .map(|v| {
                if !v.is_finite() {
                    return format!("{:>w$}", nonfinite(*v), w = pad_left + 1 + pad_right);
                }
                let s = strs.next().expect("one string per finite value");
                let (int, frac) = s.split_once('.').expect("positional has a point");
                format!("{int:>pad_left$}.{frac:<pad_right$}")
            })
            .collect()
    };
    format!("[{}]", cells.join(" "))
}

fn nonfinite(v: f64) -> &'static str {
    if v.is_nan() {
        "nan"
    } else if v > 0.0 {
        "inf"
    } else {
        "-inf"
    }
}

#[cfg(test)]
mod np_tests {
    use super::np_array;

    #[test]
    fn prints_like_numpy() {
        assert_eq!(
            np_array(&[0.018211273295547534, 0.24519181293507392, 0.7365969137693786]),
            "[0.01821127 0.24519181 0.73659691]"
        );
        assert_eq!(np_array(&[f64::NAN; 3]), "[nan nan nan]");
        assert_eq!(np_array(&[0.5, 0.25]), "[0.5  0.25]");
        assert_eq!(np_array(&[1.0, 0.5]), "[1.  0.5]");
        assert_eq!(np_array(&[1e-5, 1.5]), "[1.0e-05 1.5e+00]");
        assert_eq!(np_array(&[-1.0, 2.0]), "[-1.  2.]");
    }
}
