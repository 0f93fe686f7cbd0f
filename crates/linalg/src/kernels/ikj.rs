//! Step 1: loop reordering, i-k-j.
//!
//! What changed from step 0 (naive): the two inner loops swap. For each
//! `A[i][p]`, the kernel adds `A[i][p] · B[p][..]` to the whole row `C[i][..]`.
//! Loop order: i, p, j. No blocking, no packing.
//!
//! Why it is faster: the inner loop now reads a row of B and writes a row of C,
//! both contiguous, so each cache line is used in full and the compiler
//! vectorises the loop (no loop-carried sum: each `C[i][j]` is its own
//! accumulator). Each `C[i][j]` still receives its terms in order of increasing
//! `p`, so without FMA contraction the result equals the naive kernel's bit for
//! bit.
//!
//! What it still wastes: every row of A streams the whole of B through the
//! cache again (157 KB of W1 per image), and C is loaded and stored once per
//! `p`. A zero `A[i][p]` (most MNIST pixels) still costs a pass over a row of B.
//!
//! Measured (`taskset -c 1 infer kernels`, 2026-11-27, AMD EPYC Zen 4, peak
//! 116.8 GFLOP/s): W1 784×50: 18.8 GFLOP/s at m = 1, 17.0 at m = 100 (16% / 15% of
//! peak); W2 50×100: 21.2 / 21.5; W3 100×10: 5.65 / 5.69.
//! Full table: docs/matmul.md.

/// `C = A·B` with the i-p-j loop order. A: `m×k`, B: `k×n`, C: `m×n`, all
/// row-major.
///
/// # Panics
/// If a slice length does not match its shape.
pub fn matmul(m: usize, k: usize, n: usize, a: &[f32], b: &[f32], c: &mut [f32]) {
    super::assert_shapes(m, k, n, a, b, c);
    for i in 0..m {
        let c_row = &mut c[i * n..(i + 1) * n];
        c_row.fill(0.0);
        for p in 0..k {
            let a_ip = a[i * k + p];
            let b_row = &b[p * n..(p + 1) * n];
            for (c_ij, &b_pj) in c_row.iter_mut().zip(b_row) {
                *c_ij += a_ip * b_pj;
            }
        }
    }
}
