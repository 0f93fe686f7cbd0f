//! Step 20: step 18 with each image's non-zero pixels walked as the bits
//! of masks.
//!
//! What changed from step 18 (avx512-chain): how the pixel loop finds the
//! rows of W1 to add. Since step 6 a row of pixels is first gathered into
//! a list of the indices of its non-zero pixels (compares, a table of
//! lane numbers, a store of 8 indices for every 8 pixels), and the sums
//! then read the list back. Here each compare of 64 pixels with zero
//! (`vptestmb`, AVX-512BW) stays a 64-bit mask in a register, and the sums
//! take its lowest set bit (`tzcnt`), clear it (`blsr`) and add that
//! pixel's row, until the mask is empty: no list, no table, no store and
//! reload of each index. Two masks (128 pixels) are walked in one loop,
//! the second one computed before the first is walked.
//!
//! The same sums bit for bit: the same non-zero pixels, lowest first,
//! each through step 14's [`add_row`](super::avx512_lines) (one FMA per
//! vector of W1's row, one chain per lane), then step 15's epilogue. So
//! the logits equal step 18's (`tests/network.rs`), C equals step 10's
//! (`tests/kernels.rs`, rows whose last piece is short or whole), and the
//! pixels give the float path's logits on all 10,000 images (`infer`'s
//! `tests/accuracy.rs`).
//!
//! Everything else is step 18's: the next image's pixels fetched ahead
//! (step 16), batch 1's hidden rows on 512-bit vectors (step 17), the
//! layers of a batch below 6 rows checked once a pass (step 18).
//!
//! Loop order (BLIS names): i (one row), pairs of pieces of 64 p (two
//! masks), the pair's non-zero p.
//!
//! Measured on AMD Zen 4 (family 25 model 17, 2026-12-07). In a probe
//! (not kept) of W1's sums alone at batch 100, 11 in-process rounds a
//! run, the walk over one mask at a time took W1 from 357–402 to 328–351
//! ns an image. Slower or level there, each against the walk in the same
//! runs: every piece loaded under a mask (about 1.1× slower), masks from
//! two 256-bit compares and `vpmovmskb` instead of AVX-512BW (1.1×
//! slower), the walk on AVX2 in step 12's row (0.88–1.00× step 12), a
//! list of indices built with `vpcompressw` (slower), a second set of
//! accumulators (level, and no longer step 10's sums), W1's rows shared
//! by 4 to 100 images in blocks of 64 rows, the sums kept between blocks
//! (0.85–1.06×, one run each), two images over the union of their masks
//! (1.02–1.04×, not built). Walking two masks in one loop instead of one
//! took the network from 1.02–1.04× step 18 at batch 1 (four sweeps) to
//! 1.07–1.11× (ten sweeps, and one of 1.27×), the builds in turn; masks
//! of every piece computed first, then walked in pairs, measured
//! 1.01–1.06× at batch 1 and was not kept. This step in the
//! network (`infer sweep --batch-sizes 1,100 --kernel
//! avx512-chain,avx512-bits --repeat 11`, five runs, medians of the
//! per-round ratios): 1.08×, 1.09×, 1.10×, 1.08× and 1.08× step 18 at
//! batch 1 (per round 0.89–1.36), 1.09×, 1.12×, 1.09×, 1.08× and 1.09× at
//! batch 100 (0.83–1.29). [`crate::kernels::Kernel::best`] times it in
//! step 18's place. Not yet measured on an Intel CPU (Cascade Lake has
//! AVX-512BW). Tables: docs/matmul.md.

use crate::activation::Activation;

#[cfg(target_arch = "x86_64")]
pub use super::avx512_chain::dense_unchecked;
pub use super::avx512_chain::{takes, takes_pixels, M_CHAIN};
pub use super::avx512_rows::{dense, matmul, prepare, prepared_len, N_MAX};

/// Whether this CPU runs the step: step 18's AVX-512F, AVX2, FMA and
/// POPCNT, and AVX-512BW (the compare of 64 bytes into a mask) and BMI1
/// (`tzcnt`, `blsr`), which every CPU with AVX-512BW so far also has.
pub fn is_available() -> bool {
    #[cfg(all(target_arch = "x86_64", feature = "std"))]
    {
        super::avx512::is_available()
            && std::is_x86_feature_detected!("avx512bw")
            && std::is_x86_feature_detected!("bmi1")
    }
    #[cfg(all(target_arch = "x86_64", not(feature = "std")))]
    {
        super::avx512::is_available() && cfg!(all(target_feature = "avx512bw", target_feature = "bmi1"))
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// `C = act(X·B + bias)` for a batch of u8 pixels `X` (`m×k`) read as
/// `p / 255`: step 16's rows with each row's non-zero pixels walked as
/// bits, for a B that [`super::avx2_lines::splits`]; otherwise step 12's
/// [`super::avx2_lines::dense_pixels`]. Equal to step 10's result bit for
/// bit.
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
    assert_eq!(b.len(), prepared_len(k, n), "prepared B length");
    if !takes_pixels(k, n) {
        return super::avx2_lines::dense_pixels(m, k, n, pixels, b, bias, act, c);
    }
    let (main, tail) = super::avx512_epilogue::checked_parts(m, k, n, pixels, b, bias, c, "avx512-bits");
    assert!(is_available(), "the avx512-bits kernel needs a CPU with AVX-512F, AVX-512BW, AVX2, FMA and BMI1");
    #[cfg(target_arch = "x86_64")]
    // SAFETY: AVX-512F/BW, AVX2, FMA, POPCNT and BMI1 are present; the slices hold
    // m·k pixels, k rows of the main part and of the tail, m·n outputs and
    // n biases (checked above), and B splits.
    unsafe {
        x86::rows(m, k, n, pixels, main, tail, bias, act, c)
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = (main, tail, act);
}

/// [`dense_pixels`] with none of its checks, for
/// [`crate::network::Network`]'s batches below [`M_CHAIN`] rows.
///
/// # Safety
/// The CPU has AVX-512F and BW, AVX2, FMA, POPCNT and BMI1
/// ([`is_available`]); [`takes_pixels`]`(k, n)`; `pixels`,
/// `b`, `bias` and `c` hold `m·k`, [`prepared_len`]`(k, n)`, `n` and `m·n`
/// elements.
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
    let (main, tail) = super::avx2_lines::parts(k, n, b);
    x86::rows(m, k, n, pixels, main, tail, bias, act, c)
}

#[cfg(target_arch = "x86_64")]
pub(super) mod x86 {
    use core::arch::x86_64::*;

    use crate::activation::Activation;
    use crate::kernels::avx2_sparse::x86::Indices;
    use crate::kernels::avx512_lines::x86::{add_row_at, RowSums};
    use crate::kernels::avx512_prefetch::x86::next_row_fetcher;

    /// The pixels of a piece: 64, one bit each.
    pub(in crate::kernels) const PIECE: usize = 64;

    /// Step 16's rows (the next row's pixels fetched ahead, then step 15's
    /// row and epilogue) with each row's sums by [`Bits`].
    ///
    /// Safety: AVX-512F and BW, AVX2, FMA, POPCNT and BMI1 present;
    /// `pixels`, `main`, `tail`, `c`, `bias` hold `m·k`, `k·n_main`,
    /// `k·TW`, `m·n` and `n` elements; 32 < n ≤ 100 with a tail of 1 to 4
    /// columns.
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
        rows_summed_by::<Bits>(m, k, n, pixels, main, tail, bias, act, c)
    }

    /// [`rows`] with each row's sums by `S` (step 21: the same walk over
    /// another copy of B, which comes as `main`).
    ///
    /// Safety: as [`rows`], for what `S` reads of `main` and `tail`.
    #[target_feature(enable = "avx512f,avx512bw,avx2,fma,popcnt,bmi1")]
    #[allow(clippy::too_many_arguments)]
    pub unsafe fn rows_summed_by<S: RowSums>(
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
        crate::kernels::avx512_epilogue::x86::rows_inline::<S, _>(
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

    /// This step's [`RowSums`]: the pixels 64 at a time, each piece's
    /// non-zero ones found by walking the bits of [`nonzero_bits`].
    pub(in crate::kernels) struct Bits;

    impl RowSums for Bits {
        #[inline(always)]
        unsafe fn row_sums<const W: usize, const TW: usize>(
            x: &[u8],
            main: &[f32],
            tail: &[f32],
            _idx: &mut Indices,
        ) -> ([__m512; W], __m128) {
            let n_main = W * crate::kernels::avx512::LANES_512;
            walk::<W, TW>(x, |p| (main.as_ptr().add(p * n_main), tail.as_ptr().add(p * TW)))
        }
    }

    /// The sums of a row of pixels `x`: its non-zero pixels walked as the
    /// bits of masks, two 64-pixel masks a loop, each pixel's row of B
    /// (its main part and its tail) where `rows(p)` says.
    ///
    /// Safety: AVX-512F and BW and BMI1 present; `rows(p)` gives `W`
    /// vectors and `TW` floats for every `p < x.len()`.
    #[inline(always)]
    pub(in crate::kernels) unsafe fn walk<const W: usize, const TW: usize>(
        x: &[u8],
        rows: impl Fn(usize) -> (*const f32, *const f32),
    ) -> ([__m512; W], __m128) {
        let (mut acc, mut acc_t) = ([_mm512_setzero_ps(); W], _mm_setzero_ps());
        // LOOP 1: pairs of pieces of 64 inputs, 128 a pair
        for p0 in (0..x.len()).step_by(2 * PIECE) {
            let mut low = nonzero_bits(x, p0);
            let mut high = if p0 + PIECE < x.len() { nonzero_bits(x, p0 + PIECE) } else { 0 };
            // LOOP 0: the pair's non-zero p, lowest first
            while (low | high) != 0 {
                let p = p0 + take_lowest(&mut low, &mut high);
                let a = *crate::pixels::VALUES.get_unchecked(*x.get_unchecked(p) as usize);
                let (b_row, t_row) = rows(p);
                add_row_at::<W, TW>(a, b_row, t_row, &mut acc, &mut acc_t);
            }
        }
        (acc, acc_t)
    }

    /// The lowest set bit of the 128-bit mask `high:low` (`low` first),
    /// cleared: its place, 0 to 127 (steps 20 and 25's walks). Called only
    /// while `low | high` is not 0.
    #[inline(always)]
    pub(in crate::kernels) fn take_lowest(low: &mut u64, high: &mut u64) -> usize {
        if *low != 0 {
            let q = low.trailing_zeros() as usize;
            *low &= *low - 1;
            q
        } else {
            let q = PIECE + high.trailing_zeros() as usize;
            *high &= *high - 1;
            q
        }
    }

    /// Bit `q` set where `x[p0 + q]` is not 0, for the (up to) 64 pixels
    /// from `p0`: one 64-byte load and one `vptestmb`. Only the last
    /// piece of a row (W1's 784 = 12·64 + 16) is loaded under a mask of
    /// its length, so as not to read past the row; with every piece
    /// loaded under a mask, W1's sums measured about 1.1× slower (AMD Zen
    /// 4, a probe at batches 1 and 100).
    ///
    /// Safety: AVX-512BW present; `p0 < x.len()`.
    #[inline(always)]
    pub(in crate::kernels) unsafe fn nonzero_bits(x: &[u8], p0: usize) -> u64 {
        let (from, len) = (x.as_ptr().add(p0) as *const i8, x.len() - p0);
        let v = if len >= PIECE {
            _mm512_loadu_si512(from as *const _)
        } else {
            _mm512_maskz_loadu_epi8((1u64 << len) - 1, from)
        };
        _mm512_test_epi8_mask(v, v)
    }
}
