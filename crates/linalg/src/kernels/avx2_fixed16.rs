//! Step 26: step 25's idea on AVX2: step 22 with W1 in 16-bit fixed
//! point, two pixels a `vpmaddwd`.
//!
//! What changed from step 22 (avx2-colour): how W1's sums are made from
//! the pixels, as step 25 changed step 23's. The prepared weights are
//! step 25's, the same rounding to 16 bits a column and the same pairs
//! of rows interleaved, taken under the same bound (else this step is
//! step 22, bit for bit). Without VNNI a pair of pixels, broadcast as two
//! 16-bit words in every 32-bit lane, is multiplied by 8 columns of the
//! pair's two rows with `vpmaddwd` (AVX2), which adds the two products
//! into a 32-bit lane, and a `vpaddd` adds that to the sums: two
//! instructions for 16 multiply-adds, where step 22's `vfmadd231ps` does
//! 8 in one. What it saves is W1's bytes (about 88 pairs of rows an image,
//! 18 KB, against 151 rows of floats, 30 KB) and the walk's turns. The
//! pairs with a non-zero pixel are found as step 25 finds them, from
//! 64-pixel masks (two 256-bit compares and `vpmovmskb`), the pixels'
//! last piece copied to a zeroed block first. The integer sums are exact;
//! each is scaled by `s_c / 255`, then step 7's epilogue. Below 6 rows the
//! pairs come from step 25's coloured copy; W2, W3 and every call on floats
//! are step 22's.
//!
//! Loop order (BLIS names): i (one row), pieces of 64 p, the piece's
//! pairs of p with a non-zero pixel.
//!
//! Measured on AMD Zen 4 (family 25 model 17, 2026-12-07), the AVX2 code
//! on a CPU that runs step 25 instead (`infer sweep --batch-sizes 1,2,100
//! --kernel avx2-colour,avx2-fixed16 --repeat 11`, five runs, medians of
//! the per-round ratios): 1.20×, 1.21×, 1.22×, 1.23× and 1.24× step 22 at
//! batch 1, 1.11–1.16× at batch 2, 1.20–1.24× at batch 100 (where step
//! 22 runs step 13's pairs of images); W1 alone on u8 (`infer kernels
//! --layers W1`) 0.199 µs against 0.542 at batch 1 and 19.8 against 33.3
//! at batch 100. [`crate::kernels::Kernel::best`] times it against step
//! 22 where the CPU has no AVX-512F. Not yet run on an AVX2-only CPU (AMD
//! Zen 3: two 256-bit FMA pipes, W1 bound by its loads at batch 100,
//! docs/matmul.md step 13), the one it is for. Tables: docs/matmul.md.

use crate::activation::Activation;

pub use super::avx512_fixed16::{is_fixed, prepare, prepared_len, takes_fixed};
use super::avx512_fixed16::{is_fixed_unchecked, step_23, step_23_unchecked};

/// Whether this CPU runs the step: AVX2, FMA and POPCNT.
pub fn is_available() -> bool {
    super::avx2::is_available()
}

/// `C = act(A·B + bias)` on floats: step 22's, on its part of B.
///
/// # Panics
/// If a slice length does not match its shape.
#[allow(clippy::too_many_arguments)]
pub fn dense(m: usize, k: usize, n: usize, a: &[f32], b: &[f32], bias: &[f32], act: Activation, c: &mut [f32]) {
    super::avx2_colour::dense(m, k, n, a, step_23(k, n, b), bias, act, c)
}

/// `C = A·B`: step 22's, on its part of B.
///
/// # Panics
/// As [`dense`].
pub fn matmul(m: usize, k: usize, n: usize, a: &[f32], b: &[f32], c: &mut [f32]) {
    super::avx2_colour::matmul(m, k, n, a, step_23(k, n, b), c)
}

/// `C = act(X·B + bias)` for a batch of u8 pixels `X` (`m×k`) read as
/// `p / 255`: W1's sums in fixed point on the plain copy, where step 25's
/// [`prepare`] wrote one; otherwise step 22's.
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
    if !is_fixed(k, n, b) {
        return super::avx2_colour::dense_pixels(m, k, n, pixels, step_23(k, n, b), bias, act, c);
    }
    let needs = "the avx2-fixed16 kernel needs a CPU with AVX2, FMA and POPCNT";
    super::avx512_fixed16::check_pixels_call(m, k, n, pixels, bias, c, is_available(), needs);
    #[cfg(target_arch = "x86_64")]
    // SAFETY: AVX2, FMA and POPCNT are present; the slices hold m·k pixels,
    // m·n outputs and n biases (checked above); B holds its prepared
    // length, so the scales and the plain copy's pairs.
    unsafe {
        x86::rows::<false>(m, k, n, pixels, b, bias, act, c)
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = act;
}

/// [`dense_pixels`] with none of its checks, below
/// [`super::avx2_chain::M_CHAIN`] rows, on the coloured copy (the
/// network's path of steps 18 to 26 calls it for W1).
///
/// # Safety
/// AVX2, FMA and POPCNT present; [`super::avx2_chain::takes_pixels`]`(k,
/// n)`; `pixels`, `b`, `bias` and `c` hold `m·k`, [`prepared_len`]`(k, n)`
/// (written by [`prepare`]), `n` and `m·n` elements.
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
    if is_fixed_unchecked(k, n, b) {
        x86::rows::<true>(m, k, n, pixels, b, bias, act, c)
    } else {
        super::avx2_colour::dense_pixels_unchecked(m, k, n, pixels, step_23_unchecked(k, n, b), bias, act, c)
    }
}

/// A hidden or last layer of a pass below [`super::avx2_chain::M_CHAIN`]
/// rows, on floats: step 22's, unchecked, on its part of B.
///
/// # Safety
/// As [`super::avx2_colour::dense_unchecked`], with `b` of
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
    super::avx2_colour::dense_unchecked(m, k, n, a, step_23_unchecked(k, n, b), bias, act, c)
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use core::arch::x86_64::*;

    use crate::activation::Activation;
    use crate::kernels::avx2_fused::x86::epilogue_all;
    use crate::kernels::avx2_lines::x86::by_vectors;
    use crate::kernels::avx2_row::x86::{store, tail_mask};
    use crate::kernels::avx512_fixed16::{layout, pair_rows, pair_word};
    use crate::kernels::params::LANES;

    /// Pixels a mask covers.
    const PIECE: usize = 64;

    /// Every row of pixels: its fixed-point sums by [`walk`] on the
    /// coloured copy (`COLOURED`) or the plain one, scaled to floats, then
    /// step 7's epilogue.
    ///
    /// Safety: AVX2, FMA and POPCNT present; `pixels`, `c`, `bias` hold
    /// `m·k`, `m·n` and `n` elements; `b` is a buffer step 25's `prepare`
    /// wrote the fixed-point copy into.
    #[target_feature(enable = "avx2,fma,popcnt")]
    #[allow(clippy::too_many_arguments)]
    pub unsafe fn rows<const COLOURED: bool>(
        m: usize,
        k: usize,
        n: usize,
        pixels: &[u8],
        b: &[f32],
        bias: &[f32],
        act: Activation,
        c: &mut [f32],
    ) {
        by_vectors!(n, each_row::<COLOURED>(m, k, n, pixels, b, bias, act, c))
    }

    /// LOOP 2: one row of pixels and of C at a time.
    #[inline(always)]
    #[allow(clippy::too_many_arguments)]
    unsafe fn each_row<const V: usize, const TW: usize, const COLOURED: bool>(
        m: usize,
        k: usize,
        n: usize,
        pixels: &[u8],
        b: &[f32],
        bias: &[f32],
        act: Activation,
        c: &mut [f32],
    ) {
        let at = layout(k, n);
        let n_main = V * LANES;
        let pair_rows = pair_rows::<COLOURED, TW>(b, &at, n_main);
        let scales = b.as_ptr().add(at.scales);
        let tail_cols = tail_mask(n - n_main);
        for i in 0..m {
            let x = &pixels[i * k..(i + 1) * k];
            let (acc, acc_t) = walk::<V, TW>(x, &pair_rows);
            // the sums scaled, then step 7's epilogue on the row of V + 1
            // vectors, as step 12's
            let mut s = [_mm256_setzero_ps(); 13];
            for (v, s_v) in s[..V].iter_mut().enumerate() {
                *s_v = _mm256_mul_ps(_mm256_cvtepi32_ps(acc[v]), _mm256_loadu_ps(scales.add(v * LANES)));
            }
            let t = _mm_mul_ps(_mm_cvtepi32_ps(acc_t), _mm_loadu_ps(scales.add(n_main)));
            s[V] = _mm256_insertf128_ps::<0>(_mm256_setzero_ps(), t);
            let mut masks = [_mm256_set1_epi32(-1); 13];
            masks[V] = tail_cols;
            epilogue_all(&mut s[..V + 1], Some(bias), 0, &masks[..V + 1], act);
            let c_row = c.as_mut_ptr().add(i * n);
            for (v, s_v) in s[..V].iter().enumerate() {
                _mm256_storeu_ps(c_row.add(v * LANES), *s_v);
            }
            store(c_row.add(n_main), s[V], false, tail_cols);
        }
    }

    /// The 32-bit sums of a row of pixels `x` (even length): the pairs of
    /// pixels of which one or both are not 0, walked as the bits of
    /// 64-pixel masks; each pair as two 16-bit words in every 32-bit lane,
    /// `vpmaddwd` against the pair's `V` vectors and its tail, `vpaddd`
    /// into the sums.
    ///
    /// Safety: AVX2 present; `rows(t)` gives `V` vectors of 16 `i16` and
    /// `TW` pairs of `i16` for every pair `t < x.len() / 2`.
    #[inline(always)]
    unsafe fn walk<const V: usize, const TW: usize>(
        x: &[u8],
        rows: &impl Fn(usize) -> (*const i16, *const i16),
    ) -> ([__m256i; V], __m128i) {
        let (mut acc, mut acc_t) = ([_mm256_setzero_si256(); V], _mm_setzero_si128());
        // LOOP 1: pieces of 64 pixels
        for p0 in (0..x.len()).step_by(PIECE) {
            let mut bits = pair_bits(x, p0);
            // LOOP 0: the piece's pairs with a non-zero pixel, lowest first
            while bits != 0 {
                let p = p0 + bits.trailing_zeros() as usize;
                bits &= bits - 1;
                let words = _mm256_set1_epi32(pair_word(x, p));
                let (row, tail) = rows(p / 2);
                for (v, a) in acc.iter_mut().enumerate() {
                    let w = _mm256_loadu_si256(row.add(v * 16) as *const __m256i);
                    *a = _mm256_add_epi32(*a, _mm256_madd_epi16(words, w));
                }
                let t = if TW == 2 { _mm_loadl_epi64(tail as *const _) } else { _mm_loadu_si128(tail as *const _) };
                acc_t = _mm_add_epi32(acc_t, _mm_madd_epi16(_mm256_castsi256_si128(words), t));
            }
        }
        (acc, acc_t)
    }

    /// Bit `2j` set where pixel `p0 + 2j` or `p0 + 2j + 1` is not 0, for
    /// the (up to) 64 pixels from `p0` (even): two 32-byte compares with
    /// zero; a last piece shorter than 64 is first copied into a zeroed
    /// block, so as not to read past the row.
    ///
    /// Safety: AVX2 present; `p0 < x.len()`.
    #[inline(always)]
    unsafe fn pair_bits(x: &[u8], p0: usize) -> u64 {
        let mut block = [0u8; PIECE];
        let len = (x.len() - p0).min(PIECE);
        let from = if len == PIECE {
            x.as_ptr().add(p0)
        } else {
            block[..len].copy_from_slice(&x[p0..p0 + len]);
            block.as_ptr()
        };
        let zero = _mm256_setzero_si256();
        let lo = _mm256_movemask_epi8(_mm256_cmpeq_epi8(_mm256_loadu_si256(from as *const __m256i), zero)) as u32;
        let hi =
            _mm256_movemask_epi8(_mm256_cmpeq_epi8(_mm256_loadu_si256(from.add(32) as *const __m256i), zero)) as u32;
        let bits = !((lo as u64) | ((hi as u64) << 32));
        (bits | (bits >> 1)) & 0x5555_5555_5555_5555
    }
}
