//! Step 0: the naive triple loop, the oracle every other kernel is tested
//! against.
//!
//! What it is: the definition of the product, `C[i][j] = Σ_p A[i][p]·B[p][j]`,
//! one dot product per element of C, summed in order of increasing `p`.
//! Loop order: i, j, p. No blocking, no packing.
//!
//! Why it is slow: the inner loop walks down a column of B, `n` floats apart,
//! so every FMA touches a new cache line of B (64 B for 4 B of use), and the
//! loop-carried sum serialises the additions. The whole of B is re-read for
//! every row of A: for W1 (784×50, 157 KB) that is 157 KB per image.
//!
//! Measured (`taskset -c 1 infer kernels`, 2026-11-27, AMD EPYC Zen 4, peak
//! 116.8 GFLOP/s): W1 784×50: 2.47 GFLOP/s at m = 1, 2.44 at m = 100 (2.1% of peak);
//! W2 50×100: 3.38 / 3.42; W3 100×10: 2.82 / 2.92.
//! Full table: docs/matmul.md.

/// `C = A·B` by definition. A: `m×k`, B: `k×n`, C: `m×n`, all row-major.
///
/// # Panics
/// If a slice length does not match its shape.
pub fn matmul(m: usize, k: usize, n: usize, a: &[f32], b: &[f32], c: &mut [f32]) {
    super::assert_shapes(m, k, n, a, b, c);
    for i in 0..m {
        for j in 0..n {
            let mut sum = 0.0f32;
            for p in 0..k {
                sum += a[i * k + p] * b[p * n + j];
            }
            c[i * n + j] = sum;
        }
    }
}
