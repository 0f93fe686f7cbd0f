//! Step 16: step 15 with the next image's pixels fetched ahead.
//!
//! What changed from step 15 (avx512-epilogue): before the pixel loop
//! sums row `i` of a batch, it asks the cache for the pixels of row
//! `i + 1` (`prefetcht0` on each of the 13 lines of a 784-byte image).
//! In the network every batch brings images the core has not read yet:
//! their lines come from L3 or memory, and the gathering of an image's
//! non-zero pixels, the first thing that reads them, waited on them. With
//! the prefetch they arrive while the previous image is summed.
//!
//! The probe that found it (AMD Zen 4, W1 alone at batch 100, random
//! weights, in-process rounds): the same 100 images every call were
//! 1.12–1.17× faster than fresh ones; the prefetch won back about half of
//! that, 1.04–1.10× on W1 over two runs (2 images ahead measured the same
//! as 1, 4 no better). There is nothing to fetch at batch 1: one image a
//! call.
//!
//! The sums are step 15's, so C equals step 10's bit for bit
//! (`tests/kernels.rs`).
//!
//! Loop order (BLIS names): as step 15.
//!
//! Measured on AMD Zen 4 (family 25 model 17, 2026-12-03; `infer sweep
//! --batch-sizes 1,100 --kernel avx512-lines,avx512-epilogue,avx512-prefetch
//! --repeat 11`, two runs, medians of the per-round ratios): the whole
//! network 1.14× and 1.11× step 14 at batch 100 (per round 0.99–1.40),
//! where step 15 alone gave 1.10× and 1.06×; at batch 1, where this step
//! is step 15, 1.01× and 1.05×. In `make measure`'s sweep of seven
//! kernels (7 rounds) the gain was smaller: 1.31× step 10 at batch 100
//! where step 14 gave 1.29×; five later sweeps of the two alone gave
//! 1.05–1.08× step 14 at batch 100. [`crate::kernels::Kernel::best`]
//! timed it in step 14's place until step 17 (this step with batch 1's
//! hidden rows on 512-bit vectors) took its place, the same day. Not yet
//! measured on an Intel CPU. Tables: docs/matmul.md.

use super::avx2_lines;
use crate::activation::Activation;

pub use super::avx512_epilogue::{dense, matmul, prepare, prepared_len};

/// `C = act(X·B + bias)` for a batch of u8 pixels `X` (`m×k`) read as
/// `p / 255`: step 15's rows, each with the next row's pixels fetched
/// ahead, for a B that [`avx2_lines::splits`]; otherwise step 12's
/// [`avx2_lines::dense_pixels`]. Equal to step 10's result bit for bit.
///
/// # Panics
/// If a slice length does not match its shape, or the CPU lacks AVX-512F.
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
    assert_eq!(b.len(), prepared_len(k, n), "prepared B length");
    if !avx2_lines::splits(k, n) {
        return avx2_lines::dense_pixels(m, k, n, pixels, b, bias, act, c);
    }
    let (main, tail) = super::avx512_epilogue::checked_parts(m, k, n, pixels, b, bias, c, "avx512-prefetch");
    #[cfg(target_arch = "x86_64")]
    // SAFETY: as step 15's `dense_pixels`: AVX-512F, AVX2, FMA and POPCNT
    // are present, the slice lengths match (checked above) and B splits.
    unsafe {
        x86::rows(m, k, n, pixels, main, tail, bias, act, c)
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = (main, tail, act);
}

#[cfg(target_arch = "x86_64")]
pub(super) mod x86 {
    use core::arch::x86_64::*;

    use crate::activation::Activation;
    use crate::kernels::avx512_lines::x86::Gathered;

    /// Every row of pixels through step 15's rows, row `i + 1`'s pixels
    /// fetched into L1 before row `i` is summed.
    ///
    /// Safety: as step 15's `rows`.
    #[allow(clippy::too_many_arguments)]
    pub unsafe fn rows(
        m: usize,
        k: usize,
        n: usize,
        pixels: &[u8],
        main: &[f32],
        tail: &[f32],
        bias: &[f32],
        act: Activation,
        c: &mut [f32],
    ) {
        let fetch_next = next_row_fetcher(m, k, pixels);
        crate::kernels::avx512_epilogue::x86::rows::<Gathered, _>(
            m,
            k,
            n,
            pixels,
            main,
            tail,
            bias,
            act,
            c,
            &fetch_next,
        )
    }

    /// What runs before row `i` of `m` rows of `k` pixels: row `i + 1`'s
    /// lines asked for (steps 16 to 20).
    #[inline(always)]
    pub(in crate::kernels) fn next_row_fetcher(m: usize, k: usize, pixels: &[u8]) -> impl Fn(usize) + '_ {
        move |i: usize| {
            if i + 1 < m {
                fetch(&pixels[(i + 1) * k..(i + 2) * k]);
            }
        }
    }

    /// `prefetcht0` on every 64-byte line of `x` (a hint: it reads nothing
    /// and cannot fault).
    #[inline(always)]
    fn fetch(x: &[u8]) {
        for line in x.chunks(64) {
            // SAFETY: `_mm_prefetch` is SSE, part of every x86_64 CPU.
            unsafe { _mm_prefetch::<_MM_HINT_T0>(line.as_ptr() as *const i8) };
        }
    }
}
