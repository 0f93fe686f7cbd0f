//! Typed errors that name the file and the fact.

use std::fmt;
use std::path::{Path, PathBuf};

/// What went wrong, by category.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorKind {
    /// The file could not be opened or read.
    Io,
    /// The bytes are not what the format requires (bad magic, short body,
    /// a shape that does not fit, a label out of range, a NaN weight…).
    Format,
    /// The file is larger, or nests deeper, than this reader accepts.
    Limits,
    /// Valid in its format, but outside what this reader supports
    /// (a pickle global that is not on the allow-list, an integer dtype…).
    Unsupported,
}

/// An error reading one file: its path, the category and a one-line
/// description of the form `… expected …, found …`.
#[derive(Debug)]
pub struct Error {
    path: PathBuf,
    kind: ErrorKind,
    detail: String,
}

impl Error {
    /// An error about `path`.
    pub fn new(path: impl Into<PathBuf>, kind: ErrorKind, detail: impl Into<String>) -> Error {
        Error { path: path.into(), kind, detail: detail.into() }
    }

    /// The file the error is about.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The category.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// The description without the path.
    pub fn detail(&self) -> &str {
        &self.detail
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path.display(), self.detail)
    }
}

impl std::error::Error for Error {}

/// An error before the path is known: parsers work on bytes and return this;
/// [`Problem::at`] names the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Problem {
    pub kind: ErrorKind,
    pub detail: String,
}

impl Problem {
    pub fn format(detail: impl Into<String>) -> Problem {
        Problem { kind: ErrorKind::Format, detail: detail.into() }
    }
    pub fn limits(detail: impl Into<String>) -> Problem {
        Problem { kind: ErrorKind::Limits, detail: detail.into() }
    }
    pub fn unsupported(detail: impl Into<String>) -> Problem {
        Problem { kind: ErrorKind::Unsupported, detail: detail.into() }
    }
    pub fn at(self, path: &Path) -> Error {
        Error::new(path, self.kind, self.detail)
    }
}

/// Result of a parser that does not know the file name.
pub(crate) type Parsed<T> = Result<T, Problem>;
