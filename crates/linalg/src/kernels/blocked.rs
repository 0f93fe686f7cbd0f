//! Step 2: cache blocking, so the rows of a batch share each block of B.
//!
//! What changed from step 1 (i-k-j): B is cut into `KC × NC` blocks and the
//! loop over the rows of A moves inside the loops over the blocks. Each block
//! is brought into cache once and then reused by all `m` rows of the batch,
//! instead of the whole of B streaming past once per row.
//! Loop order (BLIS names): jc (NC columns of B), pc (KC rows of B), i (rows
//! of A and C), p, j.
//! Block sizes: `KC = 128`, `NC = 64` (see `params`): one block is
//! 128·64·4 B = 32 KB, which stays in the 32–64 KB L1 data cache while the
//! whole batch passes over it. W1 (784×50, 157 KB) is 7 blocks.
//!
//! Each `C[i][j]` still receives its terms in order of increasing `p`: the
//! result equals the naive kernel's bit for bit.
//!
//! What it still wastes: C is loaded and stored once per `p` (no register
//! tiling), and each FMA needs its own load of B.
//!
//! Measured (`taskset -c 1 infer kernels`, 2026-11-27, AMD EPYC Zen 4, peak
//! 116.8 GFLOP/s): W1 784×50: 17.4 GFLOP/s at m = 1, 15.6 at m = 100; W2 50×100:
//! 17.4 / 17.7; W3 100×10: 5.65 / 6.12. Slower than step 1 on this machine:
//! W1 already fits its 1 MB L2 (docs/matmul.md).
//! Full table: docs/matmul.md.

use super::params::{KC, NC};

/// `C = A·B`, blocked for reuse of B across the rows of A. A: `m×k`,
/// B: `k×n`, C: `m×n`, all row-major.
///
/// # Panics
/// If a slice length does not match its shape.
pub fn matmul(m: usize, k: usize, n: usize, a: &[f32], b: &[f32], c: &mut [f32]) {
    super::assert_shapes(m, k, n, a, b, c);
    c.fill(0.0);
    // LOOP 5: a panel of NC columns of B and C
    for jc in (0..n).step_by(NC) {
        let nc = NC.min(n - jc);
        // LOOP 4: KC rows of that panel: one KC × NC block of B
        for pc in (0..k).step_by(KC) {
            let kc = KC.min(k - pc);
            // LOOP 3: every row of the batch reuses the block
            for i in 0..m {
                let c_row = &mut c[i * n + jc..i * n + jc + nc];
                for p in pc..pc + kc {
                    let a_ip = a[i * k + p];
                    let b_row = &b[p * n + jc..p * n + jc + nc];
                    for (c_ij, &b_pj) in c_row.iter_mut().zip(b_row) {
                        *c_ij += a_ip * b_pj;
                    }
                }
            }
        }
    }
}
