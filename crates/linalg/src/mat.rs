//! Row-major matrix views with their shape checked once, at construction.

use core::fmt;

/// A shape that does not fit: a buffer of the wrong length or matrices whose
/// inner dimensions disagree.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ShapeError {
    /// A buffer holds `found` elements where the shape needs `expected`.
    Len {
        /// What the buffer is (`"A"`, `"scratch"`, …).
        what: &'static str,
        /// Elements the shape needs.
        expected: usize,
        /// Elements the buffer holds.
        found: usize,
    },
    /// Two dimensions that must be equal are not.
    Dim {
        /// Which dimension (`"k"`, `"n"`, …).
        what: &'static str,
        /// The value the other operand fixes.
        expected: usize,
        /// The value found.
        found: usize,
    },
    /// `rows * cols` does not fit in `usize`.
    Overflow,
    /// The kernel needs CPU features this machine lacks (see
    /// [`crate::Kernel::is_available`]), or a plain row-major kernel was
    /// needed and this one packs its weights.
    Kernel(&'static str),
}

impl fmt::Display for ShapeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            ShapeError::Len { what, expected, found } => {
                write!(f, "{what} holds {found} elements, expected {expected}")
            }
            ShapeError::Dim { what, expected, found } => {
                write!(f, "dimension {what} is {found}, expected {expected}")
            }
            ShapeError::Overflow => f.write_str("matrix size overflows usize"),
            ShapeError::Kernel(name) => write!(f, "kernel {name} cannot run here"),
        }
    }
}

/// Whether `left_out`, a set of layers as bits (bit 0 for the first),
/// names only layers of a network of `layers`: the check of the passes
/// that leave layers out for timing (step 23's, the int8 VNNI pass's).
///
/// # Errors
/// [`ShapeError::Dim`] with the highest layer named that the network does
/// not have.
pub(crate) fn check_left_out(left_out: u64, layers: usize) -> Result<(), ShapeError> {
    // the highest layer named, if any
    match left_out.checked_ilog2().map(|h| h as usize).filter(|&h| h >= layers) {
        Some(highest) => {
            Err(ShapeError::Dim { what: "layer left out", expected: layers.saturating_sub(1), found: highest })
        }
        None => Ok(()),
    }
}

fn checked_len(what: &'static str, len: usize, rows: usize, cols: usize) -> Result<(), ShapeError> {
    let expected = rows.checked_mul(cols).ok_or(ShapeError::Overflow)?;
    if len != expected {
        return Err(ShapeError::Len { what, expected, found: len });
    }
    Ok(())
}

/// A read-only `rows × cols` row-major matrix: element `(i, j)` is
/// `data[i * cols + j]`.
#[derive(Clone, Copy, Debug)]
pub struct MatRef<'a> {
    data: &'a [f32],
    rows: usize,
    cols: usize,
}

impl<'a> MatRef<'a> {
    /// Views `data` as `rows × cols`.
    ///
    /// # Errors
    /// [`ShapeError::Len`] unless `data.len() == rows * cols`.
    pub fn new(data: &'a [f32], rows: usize, cols: usize) -> Result<Self, ShapeError> {
        checked_len("matrix", data.len(), rows, cols)?;
        Ok(MatRef { data, rows, cols })
    }

    /// Number of rows.
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Number of columns.
    pub fn cols(&self) -> usize {
        self.cols
    }

    /// The elements, row after row.
    pub fn as_slice(&self) -> &'a [f32] {
        self.data
    }

    /// Row `i`.
    ///
    /// # Panics
    /// If `i >= rows`.
    pub fn row(&self, i: usize) -> &'a [f32] {
        &self.data[i * self.cols..(i + 1) * self.cols]
    }
}

/// A mutable `rows × cols` row-major matrix.
#[derive(Debug)]
pub struct MatMut<'a> {
    data: &'a mut [f32],
    rows: usize,
    cols: usize,
}

impl<'a> MatMut<'a> {
    /// Views `data` as `rows × cols`.
    ///
    /// # Errors
    /// [`ShapeError::Len`] unless `data.len() == rows * cols`.
    pub fn new(data: &'a mut [f32], rows: usize, cols: usize) -> Result<Self, ShapeError> {
        checked_len("matrix", data.len(), rows, cols)?;
        Ok(MatMut { data, rows, cols })
    }

    /// Number of rows.
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Number of columns.
    pub fn cols(&self) -> usize {
        self.cols
    }

    /// The elements, row after row.
    pub fn as_mut_slice(&mut self) -> &mut [f32] {
        self.data
    }

    /// A read-only view of the same matrix.
    pub fn as_ref(&self) -> MatRef<'_> {
        MatRef { data: self.data, rows: self.rows, cols: self.cols }
    }
}
