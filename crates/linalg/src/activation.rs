//! Element-wise and per-row functions of the network: bias add, sigmoid,
//! relu, softmax and argmax. Matrices are row-major `m × n` slices.

use crate::math::exp;

/// `z[i][j] += b[j]` for every row `i` of the `m × n` matrix `z`, where
/// `n = b.len()`.
///
/// # Panics
/// If `z.len()` is not a multiple of `b.len()`.
pub fn add_bias(z: &mut [f32], b: &[f32]) {
    assert!(!b.is_empty() && z.len().is_multiple_of(b.len()), "bias of {} does not divide {}", b.len(), z.len());
    for row in z.chunks_exact_mut(b.len()) {
        for (z, b) in row.iter_mut().zip(b) {
            *z += b;
        }
    }
}

/// `1 / (1 + e^-x)`.
#[inline]
pub fn sigmoid(x: f32) -> f32 {
    1.0 / (1.0 + exp(-x))
}

/// `max(0, x)`.
#[inline]
pub fn relu(x: f32) -> f32 {
    if x > 0.0 {
        x
    } else {
        0.0
    }
}

/// Applies [`sigmoid`] to every element in place.
pub fn sigmoid_in_place(z: &mut [f32]) {
    for v in z {
        *v = sigmoid(*v);
    }
}

/// Applies [`relu`] to every element in place.
pub fn relu_in_place(z: &mut [f32]) {
    for v in z {
        *v = relu(*v);
    }
}

/// Softmax of one row, in place: `e^(a - max a) / Σ e^(a - max a)`.
///
/// Subtracting the row's maximum first leaves the result unchanged and keeps
/// `exp` from overflowing: `[1010, 1000, 990]` gives
/// `[9.99954600e-01, 4.53978686e-05, 2.06106005e-09]`, not `[nan nan nan]`.
/// An empty row is left empty.
pub fn softmax(a: &mut [f32]) {
    let Some(&first) = a.first() else { return };
    let c = a.iter().fold(first, |m, &v| if v > m { v } else { m });
    let mut sum = 0.0f32;
    for v in a.iter_mut() {
        *v = exp(*v - c);
        sum += *v;
    }
    for v in a.iter_mut() {
        *v /= sum;
    }
}

/// The book's first softmax, without the max subtraction: `e^a / Σ e^a`.
/// Kept to show the overflow (`[1010, 1000, 990]` gives NaN everywhere);
/// use [`softmax`].
pub fn softmax_naive(a: &mut [f32]) {
    let mut sum = 0.0f32;
    for v in a.iter_mut() {
        *v = exp(*v);
        sum += *v;
    }
    for v in a.iter_mut() {
        *v /= sum;
    }
}

/// [`softmax`] of every row of the `rows × n` matrix `a`.
///
/// # Panics
/// If `n == 0` or `a.len()` is not a multiple of `n`.
pub fn softmax_rows(a: &mut [f32], n: usize) {
    assert!(n > 0 && a.len().is_multiple_of(n), "row length {n} does not divide {}", a.len());
    for row in a.chunks_exact_mut(n) {
        softmax(row);
    }
}

/// Index of the largest element, the first one on ties, as numpy's `argmax`.
/// A NaN counts as the largest (numpy returns the first NaN). `None` for an
/// empty slice.
pub fn argmax(v: &[f32]) -> Option<usize> {
    let (&first, _) = v.split_first()?;
    // (index, value) of the largest so far: no indexing, so no panic path
    let mut best = (0, first);
    for (i, &x) in v.iter().enumerate() {
        if x.is_nan() {
            return Some(i);
        }
        if x > best.1 {
            best = (i, x);
        }
    }
    Some(best.0)
}

/// numpy's `argmax(a, axis=1)`: for each row of the `m × n` matrix `a`, the
/// column of its largest element, written to `out[i]`.
///
/// # Panics
/// If `n == 0` or the shapes disagree (`a.len() != out.len() * n`).
pub fn argmax_rows(a: &[f32], n: usize, out: &mut [usize]) {
    assert!(n > 0 && a.len() == out.len() * n, "argmax_rows: {} elements, {} rows of {n}", a.len(), out.len());
    for (row, o) in a.chunks_exact(n).zip(out) {
        *o = argmax(row).unwrap_or(0);
    }
}

/// numpy's `argmax(a, axis=0)`: for each column of the `m × n` matrix `a`
/// (`n = out.len()`), the row of its largest element (the first on ties).
///
/// # Panics
/// If `a.len()` is not `m * out.len()` for some `m ≥ 1`.
pub fn argmax_cols(a: &[f32], out: &mut [usize]) {
    let n = out.len();
    assert!(n > 0 && !a.is_empty() && a.len().is_multiple_of(n), "argmax_cols: {} elements, {n} columns", a.len());
    for (j, o) in out.iter_mut().enumerate() {
        let mut best = 0;
        for (i, row) in a.chunks_exact(n).enumerate() {
            let (x, b) = (row[j], a[best * n + j]);
            if x.is_nan() {
                best = i;
                break;
            }
            if x > b {
                best = i;
            }
        }
        *o = best;
    }
}

/// What a layer applies after `A·B + bias`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Activation {
    /// Nothing: the layer's output is `A·B + bias` (the book's `a3`).
    Identity,
    /// [`sigmoid`], the book's hidden-layer activation.
    Sigmoid,
    /// [`relu`].
    Relu,
}

impl Activation {
    /// Applies the activation to every element in place.
    pub fn apply(self, z: &mut [f32]) {
        match self {
            Activation::Identity => {}
            Activation::Sigmoid => sigmoid_in_place(z),
            Activation::Relu => relu_in_place(z),
        }
    }
}

// The expected values are numpy's printed float64 results for the book's examples.
#[cfg(test)]
#[allow(clippy::excessive_precision)]
mod tests {
    use super::*;

    fn close(got: &[f32], want: &[f32], rel: f32) {
        for (g, w) in got.iter().zip(want) {
            assert!(((g - w) / w).abs() <= rel, "got {got:?}, want {want:?}");
        }
    }

    #[test]
    fn softmax_subtracts_the_max() {
        let mut a = [1010.0, 1000.0, 990.0];
        softmax(&mut a);
        close(&a, &[9.99954600e-01, 4.53978686e-05, 2.06106005e-09], 5e-7);
    }

    #[test]
    fn naive_softmax_overflows_like_numpy() {
        let mut a = [1010.0f32, 1000.0, 990.0];
        softmax_naive(&mut a);
        assert!(a.iter().all(|v| v.is_nan()), "{a:?}");
    }

    #[test]
    fn softmax_of_the_book_example_sums_to_one() {
        let mut a = [0.3, 2.9, 4.0];
        softmax(&mut a);
        close(&a, &[0.01821127, 0.24519181, 0.73659691], 5e-7);
        assert_eq!(a.iter().sum::<f32>(), 1.0);
    }

    #[test]
    fn softmax_rows_is_per_row() {
        let mut a = [1010.0, 1000.0, 990.0, 0.3, 2.9, 4.0];
        softmax_rows(&mut a, 3);
        close(&a[..3], &[9.99954600e-01, 4.53978686e-05, 2.06106005e-09], 5e-7);
        close(&a[3..], &[0.01821127, 0.24519181, 0.73659691], 5e-7);
    }

    const BOOK: [f32; 12] = [0.1, 0.8, 0.1, 0.3, 0.1, 0.6, 0.2, 0.5, 0.3, 0.8, 0.1, 0.1];

    #[test]
    fn argmax_along_axis_1() {
        let mut out = [9; 4];
        argmax_rows(&BOOK, 3, &mut out);
        assert_eq!(out, [1, 2, 1, 0]);
    }

    #[test]
    fn argmax_along_axis_0() {
        let mut out = [9; 3];
        argmax_cols(&BOOK, &mut out);
        assert_eq!(out, [3, 0, 1]);
    }

    #[test]
    fn argmax_takes_the_first_of_ties_and_nan_wins() {
        assert_eq!(argmax(&[1.0, 3.0, 3.0]), Some(1));
        assert_eq!(argmax(&[1.0, f32::NAN, 5.0]), Some(1));
        assert_eq!(argmax(&[]), None);
    }

    #[test]
    fn sigmoid_and_relu() {
        assert_eq!(sigmoid(0.0), 0.5);
        assert_eq!(sigmoid(-200.0), 0.0);
        assert_eq!(sigmoid(200.0), 1.0);
        assert_eq!(relu(-1.5), 0.0);
        assert_eq!(relu(2.5), 2.5);
    }

    #[test]
    fn add_bias_adds_to_each_row() {
        let mut z = [1.0, 2.0, 3.0, 4.0];
        add_bias(&mut z, &[10.0, 20.0]);
        assert_eq!(z, [11.0, 22.0, 13.0, 24.0]);
    }
}
