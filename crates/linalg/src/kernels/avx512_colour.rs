//! Step 21: step 20 with batch 1's W1 read from a second copy whose rows
//! sit on 25 of L1's 64 sets.
//!
//! What changed from step 20 (avx512-bits): where the rows of W1 are in
//! memory when a pass has fewer than 6 rows (batch 1). An L1 data cache
//! of 32 KB (or 48 KB) has 64 sets: the line at an address goes to set
//! `(address / 64) % 64`, so the 64 lines of every 4 KB page fall on the
//! 64 sets, one each. Step 20 reads an image's rows of W1 (about 150 rows
//! of three lines, 29 KB) from a plain copy, so they land on every set
//! and push out of L1 what W2 and W3 (24 KB) left there from the image
//! before: at batch 1 the two hidden layers then read their weights from
//! L2 again for every image. Here the first layer's prepared weights hold
//! a second copy of W1's rows in which each 4 KB page holds 8 rows (24
//! lines) and their tails (one line) on its first 25 lines and nothing on
//! the other 39: W1's rows can only ever take the lines of sets 0 to 24,
//! and W2's and W3's lines on sets 25 to 63 stay in L1 from one image to
//! the next. [`crate::network::Network`] reads that copy on step 18's
//! path (fewer than 6 rows, pixels in, sigmoid between the layers); the
//! layer calls ([`dense`], [`dense_pixels`], [`matmul`]) and batches of 6
//! and more read the plain copy, which is step 20's: for W1 alone, images
//! one after another as at batch 100, the coloured copy measured slower
//! (0.79–0.88×), since there nothing else shares L1 with W1.
//!
//! The copy costs memory: 98 pages of 4 KB for W1 (392 KB, of which 157
//! KB hold weights) beside the plain 157 KB copy, and a 4 KB margin to
//! start on a page. Where the prepared buffer starts is the caller's, so
//! [`prepare`] writes the copy from the first 4 KB boundary inside it and
//! stores that offset in the buffer: a buffer copied elsewhere still
//! gives the same results, only the placement on the sets may be lost.
//!
//! The same sums bit for bit: step 20's walk over the same pixels in the
//! same order, each row's same floats read from another address, step
//! 15's epilogue. So the logits equal step 20's (`tests/network.rs`,
//! batches of 1 to 8, and a prepared buffer moved to another alignment)
//! and the float path's on all 10,000 images (`infer`'s
//! `tests/accuracy.rs`).
//!
//! Loop order (BLIS names): as step 20.
//!
//! Measured on AMD Zen 4 (family 25 model 17, 2026-12-07): in a probe of
//! the whole pass at batch 1 (its own W1 epilogue, W2 and W3 through step
//! 18's rows; 11 rounds a run), the coloured copy against the plain one:
//! 7 sets (2 rows a page) 1.00×, 13 sets 1.01–1.07×, 19 sets 1.00–1.01×,
//! 22 sets 1.00–1.03×, 25 sets (8 rows) 1.02–1.11× (twelve runs, median
//! about 1.09×), 29 sets 1.05–1.08×, 32 sets
//! 0.95–1.06×, 38 sets 0.98–1.05×, 50 sets 1.04–1.06×; on 2 MB pages
//! (`madvise`) the same as on 4 KB ones. This step in the network
//! (`infer sweep --batch-sizes 1,100 --kernel avx512-bits,avx512-colour
//! --repeat 11`, eight runs, four of them with batch 2 too; medians of the
//! per-round ratios): 1.04×, 1.02×, 1.06×, 1.05×, 1.07×, 1.05×, 1.05× and
//! 1.07× step 20 at batch 1 (per round 0.84–1.17), 0.99–1.03× at batch 2
//! and 0.99–1.00× at batch 100, where it is step 20.
//! [`crate::kernels::Kernel::best`] puts it in step 20's place. Not yet
//! measured on an Intel CPU (Cascade Lake: 32 KB, 64 sets; later Intel
//! cores 48 KB, still 64 sets). Tables: docs/matmul.md.

use crate::activation::Activation;

pub use super::avx512_bits::{is_available, takes, takes_pixels, M_CHAIN, N_MAX};

/// Rows of W1 a 4 KB page holds, their tails on the line after them.
pub(super) const ROWS_PER_PAGE: usize = 8;

/// Floats in a 4 KB page.
pub(super) const PAGE: usize = 1024;

/// Elements of B prepared by [`prepare`]: step 20's ([`super::avx2_lines`]'s
/// row layout, main part and tail), then, for a B that splits, the offset
/// of the coloured copy, room to reach a 4 KB boundary and the copy: a
/// page (1024 floats) for every 8 rows.
pub const fn prepared_len(k: usize, n: usize) -> usize {
    let plain = super::avx2_lines::prepared_len(k, n);
    if takes_pixels(k, n) {
        plain + PAGE + k.div_ceil(ROWS_PER_PAGE) * PAGE
    } else {
        plain
    }
}

/// Copies B (`k×n`) into step 20's layout and, for a B that splits, into
/// the coloured copy: row `p`'s main part (its first `n - n % 16`
/// columns) at float `(p / 8) · 1024 + (p % 8) · n_main` of the copy, its
/// tail at `(p / 8) · 1024 + 8 · n_main + (p % 8) · TW`; the copy starts
/// at the first 4 KB boundary after the offset that records it.
///
/// # Panics
/// If `b.len() != k * n` or `out.len() != prepared_len(k, n)`.
pub fn prepare(k: usize, n: usize, b: &[f32], out: &mut [f32]) {
    assert_eq!(b.len(), k * n, "B must be k×n = {k}×{n}");
    assert_eq!(out.len(), prepared_len(k, n), "prepared buffer length");
    let plain = super::avx2_lines::prepared_len(k, n);
    let (first, rest) = out.split_at_mut(plain);
    super::avx2_lines::prepare(k, n, b, first);
    if !takes_pixels(k, n) {
        return;
    }
    // the copy from the first float after the offset that is on a 4 KB
    // boundary (floats are 4-byte aligned, so one of the next 1024 is)
    let after = rest.as_ptr() as usize + 4;
    let start = 1 + (4096 - after % 4096) % 4096 / 4;
    rest.fill(0.0);
    rest[0] = f32::from_bits(start as u32);
    let copy = &mut rest[start..start + k.div_ceil(ROWS_PER_PAGE) * PAGE];
    let (n_main, tw) = (n - n % 16, super::avx2_lines::tail_width(n));
    for p in 0..k {
        let page = (p / ROWS_PER_PAGE) * PAGE;
        let (row, tail) =
            (page + (p % ROWS_PER_PAGE) * n_main, page + ROWS_PER_PAGE * n_main + (p % ROWS_PER_PAGE) * tw);
        copy[row..row + n_main].copy_from_slice(&b[p * n..p * n + n_main]);
        copy[tail..tail + n - n_main].copy_from_slice(&b[p * n + n_main..(p + 1) * n]);
    }
}

/// Step 20's part of a prepared B (step 12's layout): what the layer
/// calls read (step 22's too).
pub(super) fn plain(k: usize, n: usize, b: &[f32]) -> &[f32] {
    assert_eq!(b.len(), prepared_len(k, n), "prepared B length");
    &b[..super::avx2_lines::prepared_len(k, n)]
}

/// The coloured copy of a prepared B that splits, where its offset says.
///
/// # Panics
/// If the offset does not point inside the buffer's margin (a buffer that
/// [`prepare`] did not write).
pub(super) fn coloured(k: usize, n: usize, b: &[f32]) -> &[f32] {
    let rest = &b[super::avx2_lines::prepared_len(k, n)..];
    let start = rest[0].to_bits() as usize;
    assert!((1..=PAGE).contains(&start), "prepared B: the coloured copy's offset is {start}, expected 1 to {PAGE}");
    &rest[start..start + k.div_ceil(ROWS_PER_PAGE) * PAGE]
}

/// `C = act(A·B + bias)`: step 20's, on its part of B.
///
/// # Panics
/// If a slice length does not match its shape, or the CPU lacks AVX-512F.
#[allow(clippy::too_many_arguments)]
pub fn dense(m: usize, k: usize, n: usize, a: &[f32], b: &[f32], bias: &[f32], act: Activation, c: &mut [f32]) {
    super::avx512_bits::dense(m, k, n, a, plain(k, n, b), bias, act, c)
}

/// `C = A·B`: step 20's, on its part of B.
///
/// # Panics
/// As [`dense`].
pub fn matmul(m: usize, k: usize, n: usize, a: &[f32], b: &[f32], c: &mut [f32]) {
    super::avx512_bits::matmul(m, k, n, a, plain(k, n, b), c)
}

/// `C = act(X·B + bias)` for u8 pixels: step 20's, on its part of B (the
/// plain copy; the coloured one is for the network's passes below
/// [`M_CHAIN`] rows).
///
/// # Panics
/// If a slice length does not match its shape, or the CPU lacks one of
/// the features of [`is_available`].
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
    super::avx512_bits::dense_pixels(m, k, n, pixels, plain(k, n, b), bias, act, c)
}

/// `C = act(X·B + bias)` for `m` rows of u8 pixels, each summed by step
/// 20's walk from the coloured copy, with none of [`dense_pixels`]'
/// checks but the copy's offset.
///
/// # Safety
/// The CPU has AVX-512F and BW, AVX2, FMA, POPCNT and BMI1
/// ([`is_available`]); [`takes_pixels`]`(k, n)`; `pixels`, `b`, `bias`
/// and `c` hold `m·k`, [`prepared_len`]`(k, n)`, `n` and `m·n` elements.
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
    x86::rows(m, k, n, pixels, coloured(k, n, b), bias, act, c)
}

/// [`super::avx512_chain::dense_unchecked`] (step 17's 512-bit rows) on
/// step 20's part of B, for the hidden layers of a pass below [`M_CHAIN`]
/// rows.
///
/// # Safety
/// As [`super::avx512_chain::dense_unchecked`], with `b` of
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
    super::avx512_chain::dense_unchecked(m, k, n, a, plain(k, n, b), bias, act, c)
}

#[cfg(target_arch = "x86_64")]
pub(super) mod x86 {
    use core::arch::x86_64::*;

    use super::{PAGE, ROWS_PER_PAGE};
    use crate::activation::Activation;
    use crate::kernels::avx2_sparse::x86::Indices;
    use crate::kernels::avx512::LANES_512;
    use crate::kernels::avx512_bits::x86::{rows_summed_by, walk};
    use crate::kernels::avx512_lines::x86::RowSums;

    /// Step 20's rows with each row's sums by [`Coloured`], from the
    /// coloured copy `copy`.
    ///
    /// Safety: AVX-512F and BW, AVX2, FMA, POPCNT and BMI1 present;
    /// `pixels`, `c`, `bias` hold `m·k`, `m·n` and `n` elements, `copy` a
    /// page of 1024 floats for every 8 of the `k` rows; 32 < n ≤ 100 with
    /// a tail of 1 to 4 columns.
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
        rows_summed_by::<Coloured>(m, k, n, pixels, copy, &[], bias, act, c)
    }

    /// This step's [`RowSums`]: step 20's walk, each row's main part and
    /// tail in the coloured copy, which comes as `main` (`tail` is empty).
    pub(in crate::kernels) struct Coloured;

    impl RowSums for Coloured {
        #[inline(always)]
        unsafe fn row_sums<const W: usize, const TW: usize>(
            x: &[u8],
            main: &[f32],
            _tail: &[f32],
            _idx: &mut Indices,
        ) -> ([__m512; W], __m128) {
            let n_main = W * LANES_512;
            walk::<W, TW>(x, |p| {
                let page = main.as_ptr().add((p / ROWS_PER_PAGE) * PAGE);
                let r = p % ROWS_PER_PAGE;
                (page.add(r * n_main), page.add(ROWS_PER_PAGE * n_main + r * TW))
            })
        }
    }
}
