//! A plain-text weights format that a learner can edit by hand.
//!
//! ```text
//! # comments run from '#' to the end of the line
//! W4 10x2        # a name, then its shape: ROWSxCOLS, or one size
//! 0.1 0.5        # then exactly ROWS·COLS numbers, row by row,
//! 0.7 0.2        # separated by spaces, commas or line breaks
//! …
//! b4 2
//! 0.3 0.4
//! ```
//!
//! Names start with a letter and hold letters, digits and `_`. Numbers are
//! anything Rust's `f32` parser takes (`1`, `-0.5`, `2e-3`); NaN and
//! infinities are refused.

use std::collections::HashSet;

use crate::error::{Parsed, Problem};
use crate::pickle::NdArray;

/// The largest text weights file accepted: 16 MiB.
pub const MAX_TEXT_BYTES: u64 = 16 << 20;

fn is_name(s: &str) -> bool {
    let mut chars = s.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic()) && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

fn parse_shape(s: &str, line: usize) -> Parsed<Vec<usize>> {
    s.split(['x', 'X', '×'])
        .map(|d| {
            d.parse::<usize>()
                .map_err(|_| Problem::format(format!("line {line}: shape '{s}', expected ROWSxCOLS or a size")))
        })
        .collect()
}

/// Parses the text format: the arrays in file order.
pub(crate) fn parse_text(text: &[u8]) -> Parsed<Vec<(String, NdArray)>> {
    let text = std::str::from_utf8(text).map_err(|e| {
        Problem::format(format!("byte {} is not UTF-8 text, expected a text weights file", e.valid_up_to()))
    })?;
    // (line number, token) for every token outside comments
    let tokens = text.lines().enumerate().flat_map(|(i, l)| {
        let l = l.split('#').next().unwrap_or("");
        l.split(|c: char| c.is_whitespace() || c == ',').filter(|t| !t.is_empty()).map(move |t| (i + 1, t))
    });
    let mut out: Vec<(String, NdArray)> = Vec::new();
    let mut seen: HashSet<&str> = HashSet::new();
    let mut tokens = tokens.peekable();
    while let Some((line, name)) = tokens.next() {
        if !is_name(name) {
            return Err(Problem::format(format!("line {line}: '{name}', expected an array name such as W4")));
        }
        let (line, shape) = tokens
            .next()
            .ok_or_else(|| Problem::format(format!("line {line}: {name} has no shape, expected e.g. '{name} 10x2'")))?;
        let shape = parse_shape(shape, line)?;
        let count = shape.iter().try_fold(1usize, |a, &d| a.checked_mul(d)).unwrap_or(usize::MAX);
        // the values come from the file, so the vector never outgrows it
        let mut data = Vec::new();
        while data.len() < count {
            match tokens.peek() {
                Some(&(l, t)) if !is_name(t) || t.parse::<f32>().is_ok() => {
                    let v: f32 = t
                        .parse()
                        .map_err(|_| Problem::format(format!("line {l}: '{t}', expected a number of {name}")))?;
                    if !v.is_finite() {
                        return Err(Problem::format(format!("line {l}: {name} holds {t}, expected finite weights")));
                    }
                    data.push(v);
                    tokens.next();
                }
                Some(&(l, t)) => {
                    return Err(Problem::format(format!(
                        "line {l}: {name} needs {count} values, found {} before '{t}'",
                        data.len()
                    )))
                }
                None => {
                    return Err(Problem::format(format!(
                        "{name} needs {count} values, found {} before the end of the file",
                        data.len()
                    )))
                }
            }
        }
        if !seen.insert(name) {
            return Err(Problem::format(format!("line {line}: {name} is defined twice")));
        }
        out.push((name.to_owned(), NdArray { shape, data }));
    }
    if out.is_empty() {
        return Err(Problem::format("no arrays, expected lines such as 'W4 10x2' followed by numbers"));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_names_shapes_and_numbers() {
        let w = parse_text(b"# test\nW4 2x2\n1 2, 3\n4\nb4 2 # bias\n0.5 -1e-1\n").unwrap();
        assert_eq!(w[0].0, "W4");
        assert_eq!(w[0].1, NdArray { shape: vec![2, 2], data: vec![1.0, 2.0, 3.0, 4.0] });
        assert_eq!(w[1].1, NdArray { shape: vec![2], data: vec![0.5, -0.1] });
    }

    #[test]
    fn too_few_values_name_the_array_and_line() {
        let e = parse_text(b"W4 2x2\n1 2 3\nb4 2\n0 0\n").unwrap_err();
        assert_eq!(e.detail, "line 3: W4 needs 4 values, found 3 before 'b4'");
    }

    #[test]
    fn nan_is_refused() {
        let e = parse_text(b"b1 2\n1 NaN\n").unwrap_err();
        assert_eq!(e.detail, "line 2: b1 holds NaN, expected finite weights");
    }
}
