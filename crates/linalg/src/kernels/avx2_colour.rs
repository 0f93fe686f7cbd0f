//! Step 22: step 21's idea on AVX2: step 19 with batch 1's W1 read from a
//! copy on 25 of L1's 64 sets.
//!
//! What changed from step 19 (avx2-chain): where the rows of W1 are when
//! the network runs a pass of fewer than 6 rows. The first layer's
//! prepared weights are step 21's: step 12's layout (the row layout, the
//! 48-column main part and the 2-column tail), then a second copy of W1
//! with 8 rows and their tails on the first 25 lines of each 4 KB page, so
//! that W1's rows leave the lines of L1's sets 25 to 63 to W2 and W3
//! between images (the reasons and the probe: step 21,
//! [`super::avx512_colour`]). At batch 1 [`crate::network::Network`]
//! sums the row of pixels with step 12's row (the pixels' indices
//! gathered, 256-bit FMAs) from that copy; batches of 2 to 5 keep step
//! 19's pairs, and the layer calls ([`dense`], [`dense_pixels`],
//! [`matmul`]) and batches of 6 and more step 13's, on the plain copy. It is for CPUs without AVX-512
//! (AMD Zen 3), where [`crate::kernels::Kernel::best`] puts it in step
//! 19's place.
//!
//! The same sums bit for bit: step 12's row, the same pixels in the same
//! order, the same floats read from another address; below 6 rows step
//! 19 sums the same rows (pairs at batches 2 to 5, whose extra terms on a
//! zero pixel add exactly nothing). So the logits equal step 19's
//! (`tests/network.rs`) and the float path's on all 10,000 images
//! (`infer`'s `tests/accuracy.rs`).
//!
//! Loop order (BLIS names): i (one row), the row's non-zero p (from the
//! coloured copy), as step 12.
//!
//! Measured on AMD Zen 4 (family 25 model 17, 2026-12-07), the AVX2 code
//! on a CPU that runs step 21 instead (`infer sweep --batch-sizes 1,2,100
//! --kernel avx2-chain,avx2-colour --repeat 11`, six runs, medians of the
//! per-round ratios): 1.05×, 1.05×, 1.06×, 1.07×, 1.04× and 1.06× step 19
//! at batch 1, 0.98–1.00× at batch 2 and 0.97–1.01× at batch 100, where
//! it is step 19. Not yet measured on an AVX2-only CPU (AMD Zen 3: 32 KB,
//! 8 ways, 64 sets), the one it is for. Tables: docs/matmul.md.

use crate::activation::Activation;

pub use super::avx2_chain::{takes_pixels, M_CHAIN};
use super::avx512_colour::{coloured, plain};
pub use super::avx512_colour::{prepare, prepared_len};

/// `C = act(A·B + bias)`: step 19's, on step 12's part of B.
///
/// # Panics
/// If a slice length does not match its shape, or the CPU lacks AVX2/FMA.
#[allow(clippy::too_many_arguments)]
pub fn dense(m: usize, k: usize, n: usize, a: &[f32], b: &[f32], bias: &[f32], act: Activation, c: &mut [f32]) {
    super::avx2_chain::dense(m, k, n, a, plain(k, n, b), bias, act, c)
}

/// `C = A·B`: step 19's, on step 12's part of B.
///
/// # Panics
/// As [`dense`].
pub fn matmul(m: usize, k: usize, n: usize, a: &[f32], b: &[f32], c: &mut [f32]) {
    super::avx2_chain::matmul(m, k, n, a, plain(k, n, b), c)
}

/// `C = act(X·B + bias)` for u8 pixels: step 19's, on step 12's part of
/// B (the plain copy; the coloured one is for the network's passes below
/// [`M_CHAIN`] rows).
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
    super::avx2_chain::dense_pixels(m, k, n, pixels, plain(k, n, b), bias, act, c)
}

/// `C = act(X·B + bias)` for `m` rows of u8 pixels with none of
/// [`dense_pixels`]' checks but the copy's offset: one row (batch 1), or
/// rows that step 13 cannot pair, through step 12's row from the coloured
/// copy; 2 to 5 rows through step 19's pairs from the plain copy (one
/// row at a time from the coloured copy measured 0.91–0.95× step 19 at
/// batch 2).
///
/// # Safety
/// The CPU has AVX2, FMA and POPCNT ([`super::avx2::is_available`]);
/// [`takes_pixels`]`(k, n)`; `pixels`, `b`, `bias` and `c` hold `m·k`,
/// [`prepared_len`]`(k, n)`, `n` and `m·n` elements.
///
/// # Panics
/// If `b` was not written by [`prepare`] (its copy's offset out of range).
#[cfg(target_arch = "x86_64")]
#[allow(clippy::too_many_arguments)]
pub unsafe fn dense_pixels_unchecked(
    m: usize,
    k: usize,
    n: usize,
    pixels: &[u8],
    b: &[f32],
    bias: &[f32],
    act: Activation,
    c: &mut [f32],
) {
    if m < 2 || !super::avx2_pairs::in_pairs(k, n) {
        x86::rows(m, k, n, pixels, coloured(k, n, b), bias, act, c)
    } else {
        super::avx2_chain::dense_pixels_unchecked(m, k, n, pixels, plain(k, n, b), bias, act, c)
    }
}

/// Step 19's [`super::avx2_chain::dense_unchecked`] (step 5's rows) on
/// step 12's part of B, for the hidden layers of a pass below
/// [`M_CHAIN`] rows.
///
/// # Safety
/// As [`super::avx2_chain::dense_unchecked`], with `b` of
/// [`prepared_len`]`(k, n)` elements.
#[cfg(target_arch = "x86_64")]
#[allow(clippy::too_many_arguments)]
pub unsafe fn dense_unchecked(
    m: usize,
    k: usize,
    n: usize,
    a: &[f32],
    b: &[f32],
    bias: &[f32],
    act: Activation,
    c: &mut [f32],
) {
    super::avx2_chain::dense_unchecked(m, k, n, a, plain(k, n, b), bias, act, c)
}

#[cfg(target_arch = "x86_64")]
pub(super) mod x86 {
    use crate::activation::Activation;
    use crate::kernels::avx2_lines::x86::{by_vectors, row_at};
    use crate::kernels::avx2_sparse::x86::Indices;
    use crate::kernels::avx512_colour::{PAGE, ROWS_PER_PAGE};
    use crate::kernels::params::LANES;

    /// Every row of pixels through step 12's row, each pixel's row of W1
    /// from the coloured copy `copy`.
    ///
    /// Safety: AVX2, FMA and POPCNT present; `pixels`, `c`, `bias` hold
    /// `m·k`, `m·n` and `n` elements, `copy` a page of 1024 floats for
    /// every 8 of the `k` rows; 32 < n ≤ 100 with a tail of 1 to 4
    /// columns.
    #[target_feature(enable = "avx2,fma,popcnt")]
    #[allow(clippy::too_many_arguments)]
    pub unsafe fn rows(
        m: usize,
        k: usize,
        n: usize,
        pixels: &[u8],
        copy: &[f32],
        bias: &[f32],
        act: Activation,
        c: &mut [f32],
    ) {
        by_vectors!(n, each_row(m, k, n, pixels, copy, bias, act, c))
    }

    /// LOOP 2: one row of pixels and of C at a time, row `p` of W1's main
    /// part and its tail where step 21's layout puts them.
    #[inline(always)]
    #[allow(clippy::too_many_arguments)]
    unsafe fn each_row<const V: usize, const TW: usize>(
        m: usize,
        k: usize,
        n: usize,
        pixels: &[u8],
        copy: &[f32],
        bias: &[f32],
        act: Activation,
        c: &mut [f32],
    ) {
        let n_main = V * LANES;
        let rows = |p: usize| {
            let page = copy.as_ptr().add((p / ROWS_PER_PAGE) * PAGE);
            let r = p % ROWS_PER_PAGE;
            (page.add(r * n_main), page.add(ROWS_PER_PAGE * n_main + r * TW))
        };
        let mut idx = Indices::new();
        for i in 0..m {
            let x = &pixels[i * k..(i + 1) * k];
            row_at::<V, TW>(x, &rows, n, bias, act, &mut c[i * n..(i + 1) * n], &mut idx);
        }
    }
}
