//! The chapter's small lessons: `infer softmax` and `infer argmax`, printed
//! as the book's numpy code prints them.

use crate::args::{Args, Flag};
use crate::pyfmt::{np_array, py_float};
use crate::{fail, out, outln, Failure};

const SOFTMAX_HELP: &str = "\
infer softmax: the book's two softmax functions on the numbers you give,
computed in float64 as numpy does.

  naive           exp(a) / sum(exp(a)): overflows for large inputs,
                  [1010 1000 990] gives [nan nan nan]
  max-subtracted  exp(a - max(a)) / sum(...): the same result, no overflow

Usage: infer softmax V V V...     e.g. infer softmax 1010 1000 990
";

const ARGMAX_HELP: &str = "\
infer argmax: numpy's argmax along an axis of a matrix you type.

Usage: infer argmax --axis 0|1 'ROWS'
  ROWS   rows separated by ';', values by ',' or spaces
  --axis 1 gives the largest column of each row, 0 the largest row of
         each column (the first one on ties)

  infer argmax --axis 1 '0.1,0.8,0.1;0.3,0.1,0.6;0.2,0.5,0.3;0.8,0.1,0.1'
  [1 2 1 0]
";

fn parse_number(s: &str) -> Result<f64, Failure> {
    s.trim().parse::<f64>().map_err(|_| Failure(format!("'{s}' is not a number")))
}

/// Runs `infer softmax`.
///
/// # Errors
/// No numbers, or one that does not parse.
pub fn softmax(argv: &[String]) -> Result<(), Failure> {
    // negative numbers look like flags: only --help is one here
    if argv.iter().any(|a| a == "--help" || a == "-h") {
        out!("{SOFTMAX_HELP}");
        return Ok(());
    }
    if argv.iter().any(|a| a == "--version" || a == "-V") {
        outln!("{}", crate::VERSION);
        return Ok(());
    }
    if argv.is_empty() {
        fail!("softmax needs numbers, e.g. 'infer softmax 0.3 2.9 4.0' (see 'infer softmax --help')");
    }
    let a: Vec<f64> = argv.iter().map(|s| parse_number(s)).collect::<Result<_, _>>()?;
    let exp: Vec<f64> = a.iter().map(|v| v.exp()).collect();
    let sum: f64 = exp.iter().sum();
    let naive: Vec<f64> = exp.iter().map(|e| e / sum).collect();
    let c = a.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let exp_c: Vec<f64> = a.iter().map(|v| (v - c).exp()).collect();
    let sum_c: f64 = exp_c.iter().sum();
    let y: Vec<f64> = exp_c.iter().map(|e| e / sum_c).collect();
    outln!("a                          {}", np_array(&a));
    outln!("naive softmax              {}", np_array(&naive));
    if exp.iter().any(|e| e.is_infinite()) {
        outln!("                           (exp overflows to inf, and inf / inf is nan)");
    }
    outln!("  sum                      {}", py_float(naive.iter().sum()));
    outln!("max-subtracted softmax     {}", np_array(&y));
    outln!("  sum                      {}", py_float(y.iter().sum()));
    Ok(())
}

/// Runs `infer argmax`.
///
/// # Errors
/// A missing or bad axis, ragged rows, or a value that does not parse.
pub fn argmax(argv: &[String]) -> Result<(), Failure> {
    let Some(args) = Args::parse("argmax", &[Flag::Value("axis")], argv, ARGMAX_HELP)? else {
        return Ok(());
    };
    let axis = match args.get("axis") {
        Some("0") => 0,
        Some("1") => 1,
        Some(other) => fail!("--axis '{other}', expected 0 or 1"),
        None => fail!("argmax needs --axis 0 or --axis 1 (see 'infer argmax --help')"),
    };
    let [rows] = &args.positional[..] else {
        fail!("argmax needs one quoted matrix such as '0.1,0.8;0.3,0.1' (see 'infer argmax --help')");
    };
    let matrix: Vec<Vec<f32>> = rows
        .split(';')
        .map(|row| {
            row.split(|c: char| c == ',' || c.is_whitespace())
                .filter(|v| !v.is_empty())
                .map(|v| parse_number(v).map(|x| x as f32))
                .collect::<Result<Vec<f32>, Failure>>()
        })
        .collect::<Result<_, _>>()?;
    let n = matrix[0].len();
    if n == 0 || matrix.iter().any(|r| r.len() != n) {
        fail!(
            "rows of {:?} values: every row needs the same number of values, at least one",
            matrix.iter().map(Vec::len).collect::<Vec<_>>()
        );
    }
    let flat: Vec<f32> = matrix.concat();
    let mut out = vec![0usize; if axis == 1 { matrix.len() } else { n }];
    if axis == 1 {
        linalg::activation::argmax_rows(&flat, n, &mut out);
    } else {
        linalg::activation::argmax_cols(&flat, &mut out);
    }
    outln!("[{}]", out.iter().map(|i| i.to_string()).collect::<Vec<_>>().join(" "));
    Ok(())
}
