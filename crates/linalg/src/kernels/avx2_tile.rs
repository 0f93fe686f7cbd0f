//! Step 4: an AVX2+FMA micro-kernel on register tiles, BLIS style, dense.
//!
//! What changed from step 3 (tiled): the same packed panels of B (`NR = 16`
//! columns, zero-padded), but the `MR_FMA × NR = 6 × 16` tile of C is held
//! in twelve 8-float `__m256` registers and updated with explicit fused
//! multiply-adds. Per `p`: two loads of the panel row, six broadcasts of
//! `A[i][p]`, twelve FMAs: 12 FMAs per 2 loads of B, where step 3's portable
//! code managed 4 per load with SSE2 (the default x86-64 target has no AVX).
//! Loop order (BLIS names): ic (MR_FMA rows), jr (one NR panel), p.
//! Block sizes: `MR_FMA = 6`, `NR = 16`; registers: 12 accumulators, 2 of B,
//! 1 broadcast = 15 of the 16 AVX registers.
//!
//! It is dense: every `A[i][p]`, zero or not, costs its FMAs. At batch 1 the
//! tile has one row, so only two accumulators carry a chain of `k`
//! dependent FMAs (4 cycles each): this kernel needs a batch to fill its
//! tile. Step 5 (avx2) fixes both.
//!
//! Rounding differs from the naive kernel only by FMA (one rounding per
//! multiply-add instead of two); the order of the terms is the same.
//!
//! Measured (`taskset -c 1 infer kernels`, 2026-11-27, AMD EPYC Zen 4, peak
//! 116.8 GFLOP/s): W1 784×50: 22.3 GFLOP/s at m = 1, 88.9 at m = 100 (76% of
//! peak); W2 50×100: 38.2 / 68.0; W3 100×10: 15.7 / 57.8.
//! Full table: docs/matmul.md.

use super::params::{LANES, MR_FMA, NR};
use super::tiled;

/// Elements of B packed for this kernel: the same panels as [`tiled`].
pub const fn packed_len(k: usize, n: usize) -> usize {
    tiled::packed_len(k, n)
}

/// Packs B into `NR`-wide panels, as [`tiled::pack`].
///
/// # Panics
/// As [`tiled::pack`].
pub fn pack(k: usize, n: usize, b: &[f32], out: &mut [f32]) {
    tiled::pack(k, n, b, out)
}

/// `C = A·B` with B packed by [`pack`]. A: `m×k`, C: `m×n`, row-major.
///
/// # Panics
/// If a slice length does not match its shape, or the CPU lacks AVX2/FMA.
pub fn matmul(m: usize, k: usize, n: usize, a: &[f32], packed: &[f32], c: &mut [f32]) {
    assert_eq!(a.len(), m * k, "A must be m×k = {m}×{k}");
    assert_eq!(packed.len(), packed_len(k, n), "packed B length");
    assert_eq!(c.len(), m * n, "C must be m×n = {m}×{n}");
    assert!(super::avx2::is_available(), "the avx2-tile kernel needs a CPU with AVX2 and FMA");
    if k == 0 {
        c.fill(0.0);
        return;
    }
    #[cfg(target_arch = "x86_64")]
    // SAFETY: AVX2 and FMA are present and the lengths match (checked above).
    unsafe {
        x86::matmul(m, k, n, a, packed, c)
    }
}

// the tile is two vectors wide
const _: () = assert!(NR == 2 * LANES && MR_FMA == 6);

#[cfg(target_arch = "x86_64")]
mod x86 {
    use core::arch::x86_64::*;

    use super::{LANES, MR_FMA, NR};

    /// Safety: AVX2 and FMA present, `k > 0`, slices of `m·k`,
    /// `⌈n/NR⌉·NR·k` and `m·n` elements.
    #[target_feature(enable = "avx2,fma")]
    pub unsafe fn matmul(m: usize, k: usize, n: usize, a: &[f32], packed: &[f32], c: &mut [f32]) {
        // LOOP 3: MR_FMA rows of A and C
        for ic in (0..m).step_by(MR_FMA) {
            let a_tile = a.as_ptr().add(ic * k);
            // LOOP 2: one NR-wide panel of B
            for (jp, panel) in packed.chunks_exact(NR * k).enumerate() {
                let j0 = jp * NR;
                let c_tile = c.as_mut_ptr().add(ic * n + j0);
                let nr = NR.min(n - j0);
                match MR_FMA.min(m - ic) {
                    6 => micro::<6>(k, n, a_tile, panel.as_ptr(), c_tile, nr),
                    5 => micro::<5>(k, n, a_tile, panel.as_ptr(), c_tile, nr),
                    4 => micro::<4>(k, n, a_tile, panel.as_ptr(), c_tile, nr),
                    3 => micro::<3>(k, n, a_tile, panel.as_ptr(), c_tile, nr),
                    2 => micro::<2>(k, n, a_tile, panel.as_ptr(), c_tile, nr),
                    _ => micro::<1>(k, n, a_tile, panel.as_ptr(), c_tile, nr),
                }
            }
        }
    }

    /// `R × NR` of C: `R` rows of A (stride `k`) times a `k × NR` panel;
    /// stores the first `nr` columns (C's row stride `n`).
    #[inline(always)]
    unsafe fn micro<const R: usize>(k: usize, n: usize, a: *const f32, panel: *const f32, c: *mut f32, nr: usize) {
        let mut acc = [[_mm256_setzero_ps(); 2]; R];
        // LOOP 1: p, the tile held in registers
        for p in 0..k {
            let b0 = _mm256_loadu_ps(panel.add(p * NR));
            let b1 = _mm256_loadu_ps(panel.add(p * NR + LANES));
            for (r, acc_r) in acc.iter_mut().enumerate() {
                let a_rp = _mm256_broadcast_ss(&*a.add(r * k + p));
                acc_r[0] = _mm256_fmadd_ps(a_rp, b0, acc_r[0]);
                acc_r[1] = _mm256_fmadd_ps(a_rp, b1, acc_r[1]);
            }
        }
        let lanes = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
        let mask0 = _mm256_cmpgt_epi32(_mm256_set1_epi32(nr as i32), lanes);
        let mask1 = _mm256_cmpgt_epi32(_mm256_set1_epi32(nr as i32 - LANES as i32), lanes);
        for (r, acc_r) in acc.iter().enumerate() {
            let row = c.add(r * n);
            if nr == NR {
                _mm256_storeu_ps(row, acc_r[0]);
                _mm256_storeu_ps(row.add(LANES), acc_r[1]);
            } else {
                _mm256_maskstore_ps(row, mask0, acc_r[0]);
                _mm256_maskstore_ps(row.add(LANES), mask1, acc_r[1]);
            }
        }
    }
}
