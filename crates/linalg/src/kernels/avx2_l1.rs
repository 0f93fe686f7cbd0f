//! Step 8: blocks of B kept in L1 and shared by the rows of the batch —
//! measured, and not kept on the CPUs measured so far.
//!
//! What changed from step 7 (avx2-fused), which streams the rows of B its
//! non-zero inputs select (of 157 KB for W1) once per row of the batch: B is
//! cut into blocks of `kc` rows that fit three quarters of the L1 data
//! cache (`params::l1_block_bytes`: read from Linux with `std`, else
//! `L1_BYTES`; 109 rows of W1 for a 32 KB L1d), and each block is used by
//! `MC = 256` rows of the batch before the next block is loaded, so that
//! the rows of B a pixel selects are read from L1. The partial sums of
//! those rows stay in C between blocks (51 KB for n = 50: in L2); the
//! epilogue of step 7 runs on the last block.
//!
//! On the AMD EPYC Zen 3 VM (2026-11-28) it gains nothing that survives
//! the VM's noise: 0.88× / 0.95× step 7 (batch 1 / batch 100, whole
//! network) in one 7-round sweep, 1.03× / 1.03× in another
//! (docs/matmul.md). W1 is 175 KB and the L2 512 KB, so step 7 already
//! reads it from L2, and the blocks cost a load and a store of each row's
//! partial sums per block (8 blocks for W1). Steps 9 and 10 therefore build
//! on step 7, not on this step. A CPU whose L2 does not hold W1 is where to
//! measure it again.
//!
//! Loop order (BLIS names): ic (MC rows), pc (kc rows of B), i (one row),
//! column block of ≤ `VMAX` vectors, the non-zero p of the block.
//!
//! Measured: `infer kernels --kernel avx2-fused,avx2-l1`; the table per
//! CPU is in docs/matmul.md.

use super::avx2_row::{layer, Nest};
use crate::activation::Activation;

/// `C = act(A·B + bias)`. A: `m×k`, B prepared by
/// [`super::avx2_row::prepare`], C: `m×n`.
///
/// # Panics
/// If a slice length does not match its shape, or the CPU lacks AVX2/FMA.
#[allow(clippy::too_many_arguments)]
pub fn dense(m: usize, k: usize, n: usize, a: &[f32], b: &[f32], bias: &[f32], act: Activation, c: &mut [f32]) {
    layer("avx2-l1", Nest::L1, m, k, n, a, b, Some((Some(bias), act)), c)
}

/// `C = A·B`, the same blocks without an epilogue.
///
/// # Panics
/// As [`dense`].
pub fn matmul(m: usize, k: usize, n: usize, a: &[f32], b: &[f32], c: &mut [f32]) {
    layer("avx2-l1", Nest::L1, m, k, n, a, b, None, c)
}

#[cfg(target_arch = "x86_64")]
pub(super) mod x86 {
    use crate::kernels::avx2_row::x86::Pass;
    use crate::kernels::avx2_row::{padded, Epilogue};
    use crate::kernels::avx2_sparse::x86::{piece_row, Indices};
    use crate::kernels::params::{l1_block_bytes, KC_SPARSE, LANES, MC};

    /// The loop nest of this step; `epilogue` (bias and activation, applied
    /// on the last block of B while the sums are in registers) is step 7's.
    ///
    /// Safety: AVX2, FMA and POPCNT present; `a`, `b` and `c` hold `m·k`,
    /// `k·n_pad` and `m·n` elements, the bias (if any) `n`.
    #[target_feature(enable = "avx2,fma,popcnt")]
    pub unsafe fn blocks(m: usize, k: usize, n: usize, a: &[f32], b: &[f32], epilogue: Epilogue<'_>, c: &mut [f32]) {
        let np = padded(n);
        // rows of B per cache block: kc·n_pad floats fit the L1 budget
        let kc = (l1_block_bytes() / (4 * np.max(LANES))).clamp(LANES, KC_SPARSE);
        let mut idx = Indices::new();
        // LOOP 4: MC rows of A and C, whose partial sums stay in cache
        for ic in (0..m).step_by(MC) {
            // LOOP 3: a block of kc rows of B, reused by each of the MC rows
            for (p0, p1, pass) in Pass::pieces(k, kc, epilogue) {
                // LOOP 2: the rows of the MC block
                for i in ic..m.min(ic + MC) {
                    let a_block = &a[i * k + p0..i * k + p1];
                    let c_row = &mut c[i * n..(i + 1) * n];
                    piece_row::<&[f32]>(a_block, b.as_ptr().add(p0 * np), np, n, c_row, pass, &mut idx);
                }
            }
        }
    }
}
