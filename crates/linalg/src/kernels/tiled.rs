//! Step 3: register tiling over packed panels of B.
//!
//! What changed from step 2 (blocked): C is computed in `MR × NR` tiles that
//! live in registers for the whole `k` loop, and B is packed once, at load,
//! into column panels `NR` wide (`k × NR` each, contiguous, zero-padded at the
//! right edge). For each `p`, the micro-kernel loads one row of the panel
//! (`NR` floats) and uses it for all `MR` rows of the tile, and each `A[i][p]`
//! is loaded once for `NR` multiply-adds.
//! Loop order (BLIS names): ic (MR rows of A and C), jr (one NR panel of B),
//! then the micro-kernel's p loop over all of k.
//! Block sizes: `MR = 4`, `NR = 16` (see `params`). The tile is
//! 4·16·4 B = 256 B of accumulators; a panel of W1 is 784·16·4 B = 50 KB.
//!
//! Why it is faster: step 2 loaded and stored C on every `p`; here C is
//! touched once per tile, and each loaded B value feeds `MR` FMAs instead of
//! one. It is still portable Rust: the compiler vectorises the `NR` loop with
//! whatever SIMD the target has (SSE2 on a plain x86-64 build). Each
//! `C[i][j]` still sums its terms in order of increasing `p`, so the result
//! equals the naive kernel's bit for bit. This is the kernel `linalg` uses by
//! default without `std` (no run-time CPU detection).
//!
//! Measured (`taskset -c 1 infer kernels`, 2026-11-27, AMD EPYC Zen 4, peak
//! 116.8 GFLOP/s): W1 784×50: 27.6 GFLOP/s at m = 1, 21.1 at m = 100; W2 50×100:
//! 25.9 / 22.9; W3 100×10: 18.7 / 16.3 (SSE2: the default x86-64 target).
//! Full table: docs/matmul.md.

use super::params::{MR, NR};

/// Elements of B packed into `NR`-wide panels: `⌈n / NR⌉ · NR · k`.
pub const fn packed_len(k: usize, n: usize) -> usize {
    n.div_ceil(NR) * NR * k
}

/// Packs B (`k×n`, row-major) into `⌈n/NR⌉` panels, each `k×NR` row-major,
/// columns past `n` set to zero.
///
/// # Panics
/// If `b.len() != k * n` or `out.len() != packed_len(k, n)`.
pub fn pack(k: usize, n: usize, b: &[f32], out: &mut [f32]) {
    assert_eq!(b.len(), k * n, "B must be k×n = {k}×{n}");
    assert_eq!(out.len(), packed_len(k, n), "packed B length");
    for (jp, panel) in out.chunks_exact_mut(NR * k.max(1)).enumerate().take(n.div_ceil(NR)) {
        let j0 = jp * NR;
        let width = NR.min(n - j0);
        for p in 0..k {
            let row = &mut panel[p * NR..(p + 1) * NR];
            row[..width].copy_from_slice(&b[p * n + j0..p * n + j0 + width]);
            row[width..].fill(0.0);
        }
    }
}

/// `C = A·B` with B packed by [`pack`]. A: `m×k`, C: `m×n`, row-major.
///
/// # Panics
/// If a slice length does not match its shape.
pub fn matmul(m: usize, k: usize, n: usize, a: &[f32], packed: &[f32], c: &mut [f32]) {
    assert_eq!(a.len(), m * k, "A must be m×k = {m}×{k}");
    assert_eq!(packed.len(), packed_len(k, n), "packed B length");
    assert_eq!(c.len(), m * n, "C must be m×n = {m}×{n}");
    if k == 0 {
        c.fill(0.0);
        return;
    }
    // LOOP 3: MR rows of A and C at a time
    for ic in (0..m).step_by(MR) {
        let mr = MR.min(m - ic);
        // LOOP 2: one NR-wide panel of B
        for (jp, panel) in packed.chunks_exact(NR * k).enumerate() {
            let j0 = jp * NR;
            let nr = NR.min(n - j0);
            match mr {
                4 => micro::<4>(k, n, &a[ic * k..], panel, &mut c[ic * n + j0..], nr),
                3 => micro::<3>(k, n, &a[ic * k..], panel, &mut c[ic * n + j0..], nr),
                2 => micro::<2>(k, n, &a[ic * k..], panel, &mut c[ic * n + j0..], nr),
                _ => micro::<1>(k, n, &a[ic * k..], panel, &mut c[ic * n + j0..], nr),
            }
        }
    }
}

// micro() is written for the tile height MR = 4 and below.
const _: () = assert!(MR == 4);

/// The micro-kernel: `R × NR` of C from `R` rows of A (row stride `k`) and
/// one `k × NR` panel; writes the first `nr` columns (row stride `n`).
#[inline(always)]
fn micro<const R: usize>(k: usize, n: usize, a: &[f32], panel: &[f32], c: &mut [f32], nr: usize) {
    let mut acc = [[0.0f32; NR]; R];
    // LOOP 1: the k loop, tile held in registers
    for (p, b_row) in panel.chunks_exact(NR).enumerate() {
        let b_row: &[f32; NR] = b_row.try_into().expect("NR wide");
        for (r, acc_r) in acc.iter_mut().enumerate() {
            let a_rp = a[r * k + p];
            for (acc_rj, &b_pj) in acc_r.iter_mut().zip(b_row) {
                *acc_rj += a_rp * b_pj;
            }
        }
    }
    for (r, acc_r) in acc.iter().enumerate() {
        c[r * n..r * n + nr].copy_from_slice(&acc_r[..nr]);
    }
}
