//! The `infer` command: MNIST inference with the book's pretrained network.
//!
//! The binary is a thin `main` around [`run`]; everything it does is here so
//! that tests and benchmarks call the same code.

pub mod affinity;
pub mod args;
pub mod cmd;
pub mod fixtures;
pub mod lines;
pub mod model;
pub mod png;
pub mod pool;
pub mod pyfmt;
pub mod quant;
pub mod stream;
pub mod svg;

use std::fmt;

/// Why a command failed: one line for stderr (the binary prefixes
/// `error: ` and exits with code 2).
#[derive(Debug)]
pub struct Failure(pub String);

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<mnist_data::Error> for Failure {
    fn from(e: mnist_data::Error) -> Self {
        Failure(e.to_string())
    }
}

impl Failure {
    /// A failed write to stdout. A closed pipe (`infer show 0 | head`) is
    /// not an error: it becomes the empty failure, which `main` ends quietly.
    pub fn stdout(e: std::io::Error) -> Failure {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            Failure(String::new())
        } else {
            Failure(format!("cannot write to stdout: {e}"))
        }
    }

    /// Whether this is the quiet end of a closed pipe.
    pub fn is_broken_pipe(&self) -> bool {
        self.0.is_empty()
    }
}

/// `print!` that returns a [`Failure`] instead of panicking when stdout is
/// closed.
#[macro_export]
macro_rules! out {
    ($($t:tt)*) => {{
        use std::io::Write as _;
        write!(std::io::stdout().lock(), $($t)*).map_err($crate::Failure::stdout)?
    }};
}

/// `println!` that returns a [`Failure`] instead of panicking when stdout is
/// closed.
#[macro_export]
macro_rules! outln {
    ($($t:tt)*) => {{
        use std::io::Write as _;
        writeln!(std::io::stdout().lock(), $($t)*).map_err($crate::Failure::stdout)?
    }};
}

/// `Err(Failure(format!(...)))`.
#[macro_export]
macro_rules! fail {
    ($($t:tt)*) => { return Err($crate::Failure(format!($($t)*))) };
}

/// What `--version` prints: `infer` and the package version.
pub const VERSION: &str = concat!("infer ", env!("CARGO_PKG_VERSION"));

/// The commands, in the order `--help` lists them.
pub const COMMANDS: &[&str] = &["eval", "sweep", "kernels", "show", "softmax", "argmax", "export", "help"];

const HELP: &str = "\
infer: chapter 3 of \"Deep Learning from Scratch\" in Rust.
A pretrained 3-layer network (784-50-100-10, sigmoid, softmax) classifies the
10,000 MNIST test images and prints the book's Accuracy:0.9352.

Usage: infer [COMMAND] [FLAGS]

Commands:
  eval     classify the test set and print the accuracy (the default)
  sweep    images/s against batch size: a table, JSON or an SVG chart
  kernels  the matmul ladder on the real layer shapes: checked, timed, % of peak
  show     one test image drawn in the terminal, its label and prediction
  softmax  the naive and the max-subtracted softmax of numbers you give
  argmax   numpy's argmax along axis 0 or 1 of a matrix you type
  export   the network as Rust static arrays, f32 or int8, for no_std crates
  help     print this help, or a command's: infer help eval

Every command takes --help and --version. Errors print one line on stderr
and exit with 2.
";

/// Runs the command line `args` (without the program name).
///
/// # Errors
/// A [`Failure`] with the one-line message for stderr.
pub fn run(args: &[String]) -> Result<(), Failure> {
    let (cmd, rest) = match args.split_first() {
        None => ("eval", args),
        Some((first, rest)) if !first.starts_with('-') => (first.as_str(), rest),
        Some((first, rest)) if first == "--help" || first == "-h" => ("help", rest),
        Some((first, _)) if first == "--version" || first == "-V" => {
            outln!("{VERSION}");
            return Ok(());
        }
        Some(_) => ("eval", args),
    };
    match cmd {
        "eval" => cmd::eval::run(rest),
        "sweep" => cmd::sweep::run(rest),
        "kernels" => cmd::kernels::run(rest),
        "show" => cmd::show::run(rest),
        "softmax" => cmd::lessons::softmax(rest),
        "argmax" => cmd::lessons::argmax(rest),
        "export" => cmd::export::run(rest),
        // `help COMMAND` is `COMMAND --help`; `help help`, `help --help` and
        // `help` alone print this help (never `help --help` again)
        "help" => match rest.first().map(String::as_str) {
            Some(c) if c != "help" && !c.starts_with('-') => {
                if !COMMANDS.contains(&c) {
                    return Err(unknown_command(c));
                }
                run(&[c.to_string(), "--help".to_string()])
            }
            _ => {
                out!("{HELP}");
                Ok(())
            }
        },
        other => Err(unknown_command(other)),
    }
}

fn unknown_command(name: &str) -> Failure {
    match args::nearest(name, COMMANDS.iter().copied()) {
        Some(c) => Failure(format!("unknown command '{name}', did you mean '{c}'? (see 'infer --help')")),
        None => {
            Failure(format!("unknown command '{name}', expected one of: {} (see 'infer --help')", COMMANDS.join(", ")))
        }
    }
}
