//! Step 10: each input to the loop that suits it; the kernel `infer` runs.
//!
//! What changed from step 9 (avx2-union): the hidden layers' inputs are
//! sigmoid outputs, never exactly zero, so for W2 and W3 the gathering of
//! steps 6 and 9 finds every index: pure overhead. So, per layer call:
//!
//! - **sparse inputs** (the pixels: more than half of the first
//!   `MR_FMA = 6` rows' inputs are 0): step 9, union tiles for whole groups
//!   of 6 rows and step 7's rows for the rest, the epilogue fused;
//! - **dense inputs, a batch of 6 or more**: step 4's `6 × 16` register
//!   tile, on the row layout (row stride `n_pad`), for whole groups of 6
//!   rows, with the epilogue fused into the tile's store; the rows left over
//!   as below;
//! - **dense inputs, fewer rows**: step 5's loop over every `p`, with the
//!   epilogue;
//! - **u8 pixels** ([`dense_pixels`], the first layer, at every batch
//!   size): read in place, with no f32 copy of the batch, each row through
//!   step 7's loop (rows of C wider than 32 columns, W1 included; narrower
//!   ones through step 9's tiles, which sum them as the float path does):
//!   the non-zero pixels are found sixteen bytes at a time
//!   and each one's value, `p / 255`, is looked up in the 256-entry
//!   [`crate::pixels::VALUES`], equal to the f32 conversion bit for bit, so
//!   the products and results are those of the float path (for mostly-zero
//!   images, which that path sends to step 9, whose sums on W1 equal step
//!   7's). At batch 100 this beats converting the batch and running step
//!   9's tiles on it: the conversion pass (159 ns an image) is gone and
//!   W1 costs about the same (1,048 ns an image against 1,031; `infer
//!   sweep --breakdown`'s stages, median of 7 rounds). Whole network at
//!   batch 100, the two switched at run time in one process and timed in
//!   alternating rounds, the same predictions each time: 1.05×, 1.06×,
//!   1.08× in three runs of 5–11 rounds, 1.14× at batch 1000 (AMD EPYC
//!   Zen 3, one core, 2026-11-28).
//!
//! Step 8's L1 blocks are left out: no measurable gain where measured.
//!
//! Loop order, dense tile path (BLIS names): ic (MR_FMA rows), two-vector
//! column blocks, p. Other paths: steps 5, 7 and 9.
//!
//! This file also holds what every AVX2 step shares: [`is_available`] and
//! the FMA peak loop that `infer kernels` measures them against.
//!
//! Rounding: as step 5 (FMA, interleaved partial sums on narrow layers),
//! within the tolerance of `tests/kernels.rs`; the predictions on all
//! 10,000 test images equal numpy's (`crates/infer/tests/accuracy.rs`).
//!
//! Measured: `infer kernels --kernel avx2-row,avx2-union,avx2`; the table
//! per CPU is in docs/matmul.md.

use super::avx2_row::check;
use super::params::MR_FMA;
use crate::activation::Activation;

pub use super::avx2_row::{prepare, prepared_len};

/// Whether this CPU has AVX2 and FMA (and POPCNT, which the gathering of
/// non-zero inputs counts with, and every CPU with AVX2 has): detected at
/// run time with `std`, fixed at compile time (`-C target-feature`)
/// without it.
pub fn is_available() -> bool {
    #[cfg(all(target_arch = "x86_64", feature = "std"))]
    {
        std::is_x86_feature_detected!("avx2")
            && std::is_x86_feature_detected!("fma")
            && std::is_x86_feature_detected!("popcnt")
    }
    #[cfg(all(target_arch = "x86_64", not(feature = "std")))]
    {
        cfg!(all(target_feature = "avx2", target_feature = "fma", target_feature = "popcnt"))
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// `C = act(A·B + bias)`. A: `m×k`, B prepared by [`prepare`], C: `m×n`.
///
/// # Panics
/// If a slice length does not match its shape, or the CPU lacks AVX2/FMA.
#[allow(clippy::too_many_arguments)]
pub fn dense(m: usize, k: usize, n: usize, a: &[f32], b: &[f32], bias: &[f32], act: Activation, c: &mut [f32]) {
    assert_eq!(bias.len(), n, "bias must have n = {n} elements");
    run(m, k, n, a, b, Some(bias), act, c);
}

/// `C = act(X·B + bias)` for a batch of u8 pixels `X` (`m×k`) read as
/// `p / 255` (the book's `normalize=True`), without the f32 copy, at any
/// batch size: for rows of C wider than 32 columns (W1: 50) each row
/// through step 7's zero-skipping loop, its non-zero pixels only; narrower
/// ones, which step 7 sums in several sets of accumulators, through step
/// 9's union tiles. Step 9 adds the same non-zero products in the same
/// order as step 7 on wide rows (a zero adds nothing), so the result equals
/// converting the pixels with [`crate::pixels::normalize`] and calling
/// [`dense`] bit for bit whenever `dense` takes its sparse path: more than
/// half of the first rows' pixels 0, as in every MNIST image. (For denser
/// images `dense` uses dense tiles, which add the same products in another
/// order.)
///
/// # Panics
/// If a slice length does not match its shape, or the CPU lacks AVX2/FMA.
#[allow(clippy::too_many_arguments)]
pub fn dense_pixels(
    m: usize,
    k: usize,
    n: usize,
    pixels: &[u8],
    b: &[f32],
    bias: &[f32],
    act: Activation,
    c: &mut [f32],
) {
    assert_eq!(pixels.len(), m * k, "X must be m×k = {m}×{k}");
    assert_eq!(b.len(), super::avx2_row::prepared_len(k, n), "prepared B length");
    assert_eq!(c.len(), m * n, "C must be m×n = {m}×{n}");
    assert_eq!(bias.len(), n, "bias must have n = {n} elements");
    assert!(is_available(), "the avx2 kernel needs a CPU with AVX2 and FMA");
    #[cfg(target_arch = "x86_64")]
    // SAFETY: AVX2 and FMA are present and the slice lengths match the
    // shapes (checked above), which is all x86::rows relies on.
    unsafe {
        use super::avx2_sparse::x86::Pixels;
        let epilogue = Some((Some(bias), act));
        if pixels_by_rows(n) {
            super::avx2_sparse::x86::rows(m, k, n, Pixels(pixels), b, epilogue, c)
        } else {
            super::avx2_union::x86::pixel_tiles(m, k, n, pixels, b, epilogue, c)
        }
    }
}

/// Whether u8 pixels into rows of C of `n` columns go through step 7's
/// zero-skipping rows (steps 10 and 11): for rows wider than 32 columns
/// (W1: 50). Step 7 sums narrower rows in several sets of accumulators,
/// step 9 in one, so those go through step 9's tiles, which keep the
/// result equal to the float path's.
pub(super) fn pixels_by_rows(n: usize) -> bool {
    super::avx2_row::padded(n) > 4 * super::params::LANES
}

/// `C = A·B`: the same kernel with no bias and no activation.
///
/// # Panics
/// As [`dense`].
pub fn matmul(m: usize, k: usize, n: usize, a: &[f32], b: &[f32], c: &mut [f32]) {
    run(m, k, n, a, b, None, Activation::Identity, c);
}

#[allow(clippy::too_many_arguments)]
fn run(m: usize, k: usize, n: usize, a: &[f32], b: &[f32], bias: Option<&[f32]>, act: Activation, c: &mut [f32]) {
    check(m, k, n, a, b, c, "avx2");
    #[cfg(target_arch = "x86_64")]
    // SAFETY: AVX2 and FMA are present, and the slice lengths match the
    // shapes (checked above), which is all x86::dense relies on for its
    // unchecked loads and stores.
    unsafe {
        x86::dense(m, k, n, a, b, bias, act, c)
    }
}

/// A loop of nothing but independent AVX2 FMAs, to measure this core's peak:
/// `iterations × 12` `vfmadd231ps` on 12 accumulators (12 chains hide the
/// 4-cycle latency of 2 FMA pipes), 16 FLOP each. Returns a value that
/// depends on every FMA, so none can be optimised away.
///
/// # Panics
/// If the CPU lacks AVX2/FMA.
pub fn fma_peak_loop(iterations: usize) -> f32 {
    assert!(is_available(), "the FMA peak loop needs a CPU with AVX2 and FMA");
    #[cfg(target_arch = "x86_64")]
    // SAFETY: AVX2 and FMA are present (checked above).
    unsafe {
        x86::fma_peak_loop(iterations)
    }
    #[cfg(not(target_arch = "x86_64"))]
    0.0
}

#[cfg(target_arch = "x86_64")]
pub(super) mod x86 {
    use core::arch::x86_64::*;

    use super::MR_FMA;
    use crate::activation::Activation;
    use crate::kernels::avx2_fused::x86::epilogue_all;
    use crate::kernels::avx2_row::padded;
    use crate::kernels::avx2_row::x86::{store, tail_mask};
    use crate::kernels::params::LANES;

    /// See [`super::dense`]. Safety: AVX2 and FMA present; `a`, `b`, `c`
    /// and `bias` hold `m·k`, `k·n_pad`, `m·n` and `n` elements.
    #[target_feature(enable = "avx2,fma")]
    #[allow(clippy::too_many_arguments)]
    pub unsafe fn dense(
        m: usize,
        k: usize,
        n: usize,
        a: &[f32],
        b: &[f32],
        bias: Option<&[f32]>,
        act: Activation,
        c: &mut [f32],
    ) {
        let epilogue = match (bias, act) {
            (None, Activation::Identity) => None,
            fused => Some(fused),
        };
        if mostly_zero(a, k) {
            return crate::kernels::avx2_union::x86::tiles(m, k, n, a, b, epilogue, c);
        }
        // whole groups of MR_FMA rows in register tiles, the rest row by row
        let tile_rows = m - m % MR_FMA;
        if tile_rows > 0 {
            dense_tiles(tile_rows, k, n, a, b, bias, act, c);
        }
        let (a, c, m) = (&a[tile_rows * k..], &mut c[tile_rows * n..], m - tile_rows);
        crate::kernels::avx2_row::x86::rows(m, k, n, a, b, epilogue, c);
    }

    /// Whether A (rows of `k`) is a sparse input such as the pixels: at
    /// least half of the first `MR_FMA` rows' entries 0. Steps 10 and 11
    /// choose their loops by it.
    ///
    /// Compiled with AVX2 itself, so that the count's intrinsics inline
    /// into it when it is called from outside an AVX2 function (step 11's
    /// `run`).
    ///
    /// Safety: AVX2 present.
    #[inline]
    #[target_feature(enable = "avx2")]
    pub unsafe fn mostly_zero(a: &[f32], k: usize) -> bool {
        let probe = &a[..(MR_FMA * k).min(a.len())];
        nonzero_count(probe) * 2 <= probe.len()
    }

    /// How many of `a` are not 0 (NaN counts), eight at a time: each
    /// compare gives -1 in the lanes that are not 0, subtracted from eight
    /// lane counters summed at the end. (The iterator `filter(..).count()`
    /// took about a third of a microsecond for one row of W1's 784 inputs,
    /// as long as step 9's whole product on it.)
    #[inline(always)]
    unsafe fn nonzero_count(a: &[f32]) -> usize {
        let mut lanes = _mm256_setzero_si256();
        let mut chunks = a.chunks_exact(LANES);
        for v in &mut chunks {
            let x = _mm256_loadu_ps(v.as_ptr());
            let nonzero = _mm256_castps_si256(_mm256_cmp_ps::<_CMP_NEQ_UQ>(x, _mm256_setzero_ps()));
            lanes = _mm256_sub_epi32(lanes, nonzero);
        }
        let mut each = [0u32; LANES];
        _mm256_storeu_si256(each.as_mut_ptr() as *mut __m256i, lanes);
        each.iter().map(|&c| c as usize).sum::<usize>() + chunks.remainder().iter().filter(|&&x| x != 0.0).count()
    }

    /// The dense path: `MR_FMA × 2`-vector register tiles read straight from
    /// the row layout of B (row stride `n_pad`), bias and activation fused
    /// into the store. For `rows` a multiple of `MR_FMA`.
    #[inline(always)]
    #[allow(clippy::too_many_arguments)]
    unsafe fn dense_tiles(
        rows: usize,
        k: usize,
        n: usize,
        a: &[f32],
        b: &[f32],
        bias: Option<&[f32]>,
        act: Activation,
        c: &mut [f32],
    ) {
        let np = padded(n);
        let nv = np / LANES;
        // LOOP 3: MR_FMA rows of A and C
        for ic in (0..rows).step_by(MR_FMA) {
            // LOOP 2: two vectors (16 columns) of B and C, one at the edge
            for jv in (0..nv).step_by(2) {
                let (a_tile, b_cols) = (a.as_ptr().add(ic * k), b.as_ptr().add(jv * LANES));
                let c_tile = &mut c[ic * n..];
                if nv - jv >= 2 {
                    tile::<2>(k, np, n, a_tile, b_cols, c_tile, jv * LANES, bias, act);
                } else {
                    tile::<1>(k, np, n, a_tile, b_cols, c_tile, jv * LANES, bias, act);
                }
            }
        }
    }

    /// `MR_FMA × V` vectors of C, columns from `j0`: the micro-kernel of
    /// avx2-tile on the row layout, with the epilogue fused.
    #[inline(always)]
    #[allow(clippy::too_many_arguments)]
    unsafe fn tile<const V: usize>(
        k: usize,
        np: usize,
        n: usize,
        a: *const f32,
        b: *const f32,
        c: &mut [f32],
        j0: usize,
        bias: Option<&[f32]>,
        act: Activation,
    ) {
        let acc = tile_sums::<V>(k, np, a, b);
        // the epilogue on the whole tile, its sigmoids side by side
        let mut masks = [_mm256_setzero_si256(); V];
        for (v, mask) in masks.iter_mut().enumerate() {
            *mask = tail_mask(n.saturating_sub(j0 + v * LANES).min(LANES));
        }
        let mut s = [_mm256_setzero_ps(); MR_FMA * 2];
        for (r, acc_r) in acc.iter().enumerate() {
            s[r * V..(r + 1) * V].copy_from_slice(acc_r);
        }
        epilogue_all(&mut s[..MR_FMA * V], bias, j0, &masks, act);
        for r in 0..MR_FMA {
            for v in 0..V {
                let j = j0 + v * LANES;
                store(c.as_mut_ptr().add(r * n + j), s[r * V + v], j + LANES <= n, masks[v]);
            }
        }
    }

    /// The sums of an `MR_FMA × V` tile: `A` rows `k` apart, B rows `np`
    /// apart, each p's `V` vectors of B loaded once for the `MR_FMA` rows
    /// (step 15 puts its own epilogue after them).
    ///
    /// Safety: AVX2 and FMA present; `a` holds `MR_FMA` rows of `k`, `b`
    /// `k` rows of `V·8` floats at stride `np`.
    #[inline(always)]
    pub(in crate::kernels) unsafe fn tile_sums<const V: usize>(
        k: usize,
        np: usize,
        a: *const f32,
        b: *const f32,
    ) -> [[__m256; V]; MR_FMA] {
        let mut acc = [[_mm256_setzero_ps(); V]; MR_FMA];
        // LOOP 1: p, the tile in registers
        for p in 0..k {
            let bv: [__m256; V] = core::array::from_fn(|v| _mm256_loadu_ps(b.add(p * np + v * LANES)));
            for (r, acc_r) in acc.iter_mut().enumerate() {
                let a_rp = _mm256_broadcast_ss(&*a.add(r * k + p));
                for v in 0..V {
                    acc_r[v] = _mm256_fmadd_ps(a_rp, bv[v], acc_r[v]);
                }
            }
        }
        acc
    }

    /// See [`super::fma_peak_loop`].
    #[target_feature(enable = "avx2,fma")]
    pub unsafe fn fma_peak_loop(iterations: usize) -> f32 {
        let mut acc = [_mm256_set1_ps(0.0); 12];
        let (a, b) = (_mm256_set1_ps(0.999_999), _mm256_set1_ps(1e-7));
        for _ in 0..iterations {
            for acc_i in acc.iter_mut() {
                *acc_i = _mm256_fmadd_ps(*acc_i, a, b);
            }
            // keep the compiler from collapsing the loop
            core::arch::asm!("", options(nomem, nostack));
        }
        let mut sum = _mm256_setzero_ps();
        for acc_i in acc {
            sum = _mm256_add_ps(sum, acc_i);
        }
        let mut out = [0.0f32; 8];
        _mm256_storeu_ps(out.as_mut_ptr(), sum);
        out.iter().sum()
    }
}
