//! Step 25: step 23 with W1 in 16-bit fixed point, two pixels a
//! multiply-add.
//!
//! What changed from step 23 (avx512-pass): how W1's sums are made from
//! the pixels. Since step 6 every non-zero pixel `p` adds `(p / 255) ·
//! W1[p]` in float32: at batch 1 about 151 rows of 50 floats an image,
//! 30 KB from L2, where the floors of `infer sweep --breakdown` put W1's
//! time. The pixels are integers, so the sums can be too. Each column `c`
//! of W1 gets a scale `s_c` and the weights become 16-bit integers
//! `q = round(w / s_c)`; neighbouring rows `2t` and `2t + 1` are stored
//! interleaved, so that one `vpdpwssd` (AVX-512 VNNI) multiplies a pair of
//! pixels, broadcast as two 16-bit words, by 16 columns of the pair's two
//! rows and adds both products to 32-bit sums. The walk is step 20's over
//! the bits of 64-pixel masks, on pairs of pixels (`m | m >> 1` keeps a bit
//! where either pixel of a pair is non-zero): about 88 pairs an image
//! instead of 151 pixels, each pair's 48 + 2 columns three lines and 8
//! bytes, 18 KB of W1 instead of 30. The integer sums are exact and
//! cannot overflow (below), so they do not depend on the order of the
//! pixels or on the batch size; the epilogue turns each into
//! `sum · (s_c / 255)` in float32 and goes on as step 15's (bias, sigmoid).
//! W2, W3 and every layer call on floats are step 23's; below 6 rows the
//! pairs are read from a copy on 25 of L1's 64 sets, as step 21 reads W1.
//!
//! What it costs: W1 is no longer the book's float32 W1 but its rounding
//! to 16 bits a column. `s_c` is the larger of `max |w| / 32767` (the
//! largest weight on the largest 16-bit integer) and `255 · Σ |w| /
//! (2^31 − 1 − 255 k)` (no image can overflow a 32-bit sum). Rounding moves
//! each product by at most `(p / 255) · |w − q s_c|`, so a column's sum by
//! at most `E_c = Σ_p |w − q s_c|`. [`prepare`] takes the fixed-point copy
//! only where, in every column, `E_c` is at most twice what float32's own
//! rounding may move a sum of `k` such terms in the worst case, `2 (k − 1)
//! 2^-24 Σ |w|`, and every weight and scale is finite and normal; for
//! any other layer (and odd `k`, and shapes outside step 20's) this step
//! is step 23, bit for bit. The book's W1 takes it (its largest `E_c` is
//! 0.64 of that bound): the logits differ from step 23's by at most
//! 7.9e-5 on the test images; from exact arithmetic (the network in f64)
//! by 7.9e-5 at the worst and 1.4e-5 on the mean, about 12× and 25×
//! float32's own 6.7e-6 and 5.4e-7, and 36 times below the test set's
//! smallest gap between an image's two largest logits (2.8e-3). The
//! predictions on all 10,000 equal numpy's (`infer`'s
//! `tests/accuracy.rs`, every batch size;
//! `tests/kernels.rs` checks each sum against the rounding above done in
//! f64, the bound on random layers, the largest sums and the fallback).
//!
//! Loop order (BLIS names): i (one row), pairs of pieces of 64 p (two
//! masks), the pair's non-zero pairs of p.
//!
//! Measured on AMD Zen 4 (family 25 model 17, 2026-12-07). In the
//! network (`infer sweep --batch-sizes 1,2,100 --kernel
//! avx512-pass,avx512-fixed16 --repeat 11`, and the same without batch 2
//! or 100; medians of the per-round ratios): 1.13–1.19× step 23 at batch
//! 1 (seven runs), 1.17–1.21× at batch 2 (four), 1.25–1.27× at batch 100
//! (five). Inside the pass at
//! batch 1 (`--breakdown`) W1 takes 283–299 ns an image where step 23's
//! takes 389–403, against a floor of 150 (18 KB from L2); W1 alone
//! (`infer kernels --layers W1`, on u8) 0.166 µs against 0.228 at batch
//! 1 and 15.3 against 27.0 at batch 100. In a first probe the pairs from
//! a plain copy gained 1.09× at batch 1 and from the coloured one 1.26×
//! (one run of 11 rounds each): the coloured copy is half the gain. Tried
//! and not kept: the pixels widened to 16 bits first (`vpmovzxbw`, each
//! pair then one 32-bit broadcast from memory), 0.95× at batch 1 and
//! 0.96× at batch 100; 4, 6 and 12 pairs a page instead of 8, 1.03×
//! (within the noise), 0.93× and 0.87×; two sets of sums, even and odd
//! pairs in turn, 0.99× and 0.98× (the chains' latency is not what W1
//! waits on). Not yet run on an Intel CPU,
//! where `vpdpwssd` on 512 bits has one port against two for the FMAs:
//! [`crate::kernels::Kernel::best`] times it against step 23 there.
//! Tables: docs/matmul.md.

use crate::activation::Activation;

pub use super::avx512_colour::{takes, takes_pixels, M_CHAIN, N_MAX};

/// Whether this CPU runs the step: step 20's features, and AVX-512 VNNI
/// and VL (`vpdpwssd` on 512 and 128 bits).
pub fn is_available() -> bool {
    #[cfg(all(target_arch = "x86_64", feature = "std"))]
    {
        super::avx512_bits::is_available()
            && std::is_x86_feature_detected!("avx512vl")
            && std::is_x86_feature_detected!("avx512vnni")
    }
    #[cfg(all(target_arch = "x86_64", not(feature = "std")))]
    {
        super::avx512_bits::is_available() && cfg!(all(target_feature = "avx512vl", target_feature = "avx512vnni"))
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// Whether a `k×n` B can have the fixed-point copy: step 20's shapes
/// (32 < n ≤ 100, a tail of 1 to 4 columns) and an even `k`, so that
/// every pixel has its pair.
pub const fn takes_fixed(k: usize, n: usize) -> bool {
    takes_pixels(k, n) && k.is_multiple_of(2) && k > 0
}

/// Pairs of rows a 4 KB page of the coloured copy holds, their tails on
/// the line after them: step 21's 8 rows of three lines.
pub(super) const PAIRS_PER_PAGE: usize = 8;

/// Floats in a 4 KB page.
pub(super) const PAGE: usize = super::avx512_colour::PAGE;

/// Where the parts of the fixed-point copy are, in floats from the start
/// of the prepared buffer: after step 23's buffer, a flag (1 where the
/// copy is taken) and a float left 0, the scales `s_c / 255` (the main
/// columns, then 4 for the tail), then from a 64-byte boundary the plain
/// copy (the pairs' main parts, `n_main` floats a pair, then their tails,
/// `TW` a pair), then a page of margin, whose first float holds the
/// coloured copy's offset from it, and the coloured copy.
pub(super) struct Layout {
    pub(super) flag: usize,
    pub(super) scales: usize,
    pub(super) main: usize,
    pub(super) tails: usize,
    pub(super) margin: usize,
    end: usize,
}

pub(super) const fn layout(k: usize, n: usize) -> Layout {
    let flag = super::avx512_colour::prepared_len(k, n);
    let scales = flag + 2;
    let (n_main, tw) = (n - n % 16, super::avx2_lines::tail_width(n));
    let main = (scales + n_main + 4).div_ceil(16) * 16;
    let pairs = k / 2;
    let tails = main + pairs * n_main;
    let margin = tails + pairs * tw;
    let end = margin + PAGE + pairs.div_ceil(PAIRS_PER_PAGE) * PAGE;
    Layout { flag, scales, main, tails, margin, end }
}

/// Elements of B prepared by [`prepare`]: step 23's buffer, then, for a B
/// that [`takes_fixed`], the fixed-point copy (for W1: 78 KB of pairs,
/// then 49 pages of 4 KB, 25 of whose 64 lines hold the coloured copy).
pub const fn prepared_len(k: usize, n: usize) -> usize {
    if takes_fixed(k, n) {
        layout(k, n).end
    } else {
        super::avx512_colour::prepared_len(k, n)
    }
}

/// Copies B (`k×n`) into step 23's layout and, for a B that
/// [`takes_fixed`] and whose rounding stays within the bound of the file's
/// card, into the fixed-point copies: pair `t`'s main columns as
/// `n_main` floats each holding two `i16` (column `c` of rows `2t` and
/// `2t + 1`, in that order), its tail as `TW` such floats; in the
/// coloured copy pair `t` at float `(t / 8) · 1024 + (t % 8) · n_main`
/// of the copy, its tail at `(t / 8) · 1024 + 8 · n_main + (t % 8) ·
/// TW`. Allocates nothing: the column sums are kept on the stack.
///
/// # Panics
/// If `b.len() != k * n` or `out.len() != prepared_len(k, n)`.
pub fn prepare(k: usize, n: usize, b: &[f32], out: &mut [f32]) {
    assert_eq!(b.len(), k * n, "B must be k×n = {k}×{n}");
    assert_eq!(out.len(), prepared_len(k, n), "prepared buffer length");
    let l21 = super::avx512_colour::prepared_len(k, n);
    super::avx512_colour::prepare(k, n, b, &mut out[..l21]);
    if !takes_fixed(k, n) {
        return;
    }
    let at = layout(k, n);
    out[l21..].fill(0.0);
    let Some(scales) = scales(k, n, b) else {
        return;
    };
    let (n_main, tw) = (n - n % 16, super::avx2_lines::tail_width(n));
    for (c, s) in scales.iter().take(n).enumerate() {
        out[at.scales + c] = (*s / 255.0) as f32;
    }
    let q = |p: usize, c: usize| crate::int8::round(b[p * n + c] as f64 / scales[c]).clamp(-32767, 32767) as i16;
    let pair = |t: usize, c: usize| f32::from_bits(q(2 * t, c) as u16 as u32 | (q(2 * t + 1, c) as u16 as u32) << 16);
    // the coloured copy from the first float after the margin's first
    // that is on a 4 KB boundary, its offset in the margin's first float
    let after = out[at.margin..].as_ptr() as usize + 4;
    let start = at.margin + 1 + (4096 - after % 4096) % 4096 / 4;
    out[at.margin] = f32::from_bits((start - at.margin) as u32);
    for t in 0..k / 2 {
        let page = start + (t / PAIRS_PER_PAGE) * PAGE;
        let (row, tail) =
            (page + (t % PAIRS_PER_PAGE) * n_main, page + PAIRS_PER_PAGE * n_main + (t % PAIRS_PER_PAGE) * tw);
        for c in 0..n {
            let (plain, coloured) = if c < n_main {
                (at.main + t * n_main + c, row + c)
            } else {
                (at.tails + t * tw + c - n_main, tail + c - n_main)
            };
            let v = pair(t, c);
            (out[plain], out[coloured]) = (v, v);
        }
    }
    out[at.flag] = f32::from_bits(1);
}

/// The scale `s_c` of each column of B, or `None` where the fixed-point
/// copy is not taken: a weight or a scale that is not finite and normal,
/// or a column whose rounding moves its sum by more than twice float32's
/// worst case (the file's card).
fn scales(k: usize, n: usize, b: &[f32]) -> Option<[f64; N_MAX]> {
    let mut s = [0.0f64; N_MAX];
    let room = (i32::MAX as f64) - 255.0 * k as f64;
    for (c, s_c) in s.iter_mut().enumerate().take(n) {
        let (mut max, mut sum) = (0.0f64, 0.0f64);
        for p in 0..k {
            let w = b[p * n + c] as f64;
            if !w.is_finite() {
                return None;
            }
            max = max.max(w.abs());
            sum += w.abs();
        }
        if max == 0.0 {
            // a column of zeros: every q is 0, and so is every sum
            *s_c = 1.0;
            continue;
        }
        *s_c = (max / 32767.0).max(255.0 * sum / room);
        let scale = (*s_c / 255.0) as f32;
        if !scale.is_normal() || !((255.0 * sum) as f32).is_finite() {
            return None;
        }
        let moved: f64 = (0..k)
            .map(|p| {
                let w = b[p * n + c] as f64;
                (w - crate::int8::round(w / *s_c).clamp(-32767, 32767) as f64 * *s_c).abs()
            })
            .sum();
        if moved > 2.0 * (k - 1) as f64 * (1.0 / 16_777_216.0) * sum {
            return None;
        }
    }
    Some(s)
}

/// Whether [`prepare`] wrote the fixed-point copy into this prepared B:
/// for a B that [`takes_fixed`], whether its rounding stayed within the
/// bound; otherwise this step is step 23 on it.
///
/// # Panics
/// If `b.len() != prepared_len(k, n)`.
pub fn is_fixed(k: usize, n: usize, b: &[f32]) -> bool {
    assert_eq!(b.len(), prepared_len(k, n), "prepared B length");
    // SAFETY: the length is checked above
    unsafe { is_fixed_unchecked(k, n, b) }
}

/// [`is_fixed`] without its check of `b`'s length, for the unchecked
/// layer calls of steps 25 and 26.
///
/// # Safety
/// `b` holds [`prepared_len`]`(k, n)` elements.
#[inline]
pub(super) unsafe fn is_fixed_unchecked(k: usize, n: usize, b: &[f32]) -> bool {
    takes_fixed(k, n) && b.get_unchecked(layout(k, n).flag).to_bits() == 1
}

/// Step 23's part of a prepared B: what every call on floats reads.
///
/// # Panics
/// If `b.len() != prepared_len(k, n)`.
pub(super) fn step_23(k: usize, n: usize, b: &[f32]) -> &[f32] {
    assert_eq!(b.len(), prepared_len(k, n), "prepared B length");
    // SAFETY: the length is checked above
    unsafe { step_23_unchecked(k, n, b) }
}

/// [`step_23`] without its check of `b`'s length.
///
/// # Safety
/// `b` holds [`prepared_len`]`(k, n)` elements.
#[inline]
pub(super) unsafe fn step_23_unchecked(k: usize, n: usize, b: &[f32]) -> &[f32] {
    b.get_unchecked(..super::avx512_colour::prepared_len(k, n))
}

/// `C = act(A·B + bias)` on floats: step 23's, on its part of B.
///
/// # Panics
/// If a slice length does not match its shape.
#[allow(clippy::too_many_arguments)]
pub fn dense(m: usize, k: usize, n: usize, a: &[f32], b: &[f32], bias: &[f32], act: Activation, c: &mut [f32]) {
    super::avx512_colour::dense(m, k, n, a, step_23(k, n, b), bias, act, c)
}

/// `C = A·B`: step 23's, on its part of B.
///
/// # Panics
/// As [`dense`].
pub fn matmul(m: usize, k: usize, n: usize, a: &[f32], b: &[f32], c: &mut [f32]) {
    super::avx512_colour::matmul(m, k, n, a, step_23(k, n, b), c)
}

/// A hidden or last layer of a pass below [`M_CHAIN`] rows, on floats:
/// step 23's, unchecked, on its part of B.
///
/// # Safety
/// As [`super::avx512_colour::dense_unchecked`], with `b` of
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
    super::avx512_colour::dense_unchecked(m, k, n, a, step_23_unchecked(k, n, b), bias, act, c)
}

/// The checks of a layer call on pixels that takes the fixed-point copy
/// (steps 25 and 26).
///
/// # Panics
/// If a slice length does not match its shape, or `available` is false.
#[allow(clippy::too_many_arguments)]
pub(super) fn check_pixels_call(
    m: usize,
    k: usize,
    n: usize,
    pixels: &[u8],
    bias: &[f32],
    c: &[f32],
    available: bool,
    needs: &str,
) {
    assert_eq!(pixels.len(), m * k, "X must be m×k = {m}×{k}");
    assert_eq!(c.len(), m * n, "C must be m×n = {m}×{n}");
    assert_eq!(bias.len(), n, "bias must have n = {n} elements");
    assert!(available, "{needs}");
}

/// Where pair `t`'s `n_main` columns and its `TW` tail columns are, as
/// pairs of `i16`, in the coloured copy (`COLOURED`) or the plain one of
/// a buffer [`prepare`] wrote the fixed-point copy into (steps 25 and 26).
///
/// # Safety
/// `b` is such a buffer for a B of `n_main + 1..=n_main + TW` columns,
/// `at` its layout; the pointers are read only for `t < k / 2`.
pub(super) unsafe fn pair_rows<const COLOURED: bool, const TW: usize>(
    b: &[f32],
    at: &Layout,
    n_main: usize,
) -> impl Fn(usize) -> (*const i16, *const i16) {
    let base = b.as_ptr();
    let (main, tails) = (at.main, at.tails);
    let start = at.margin + b.get_unchecked(at.margin).to_bits() as usize;
    move |t: usize| {
        if COLOURED {
            let page = base.add(start + (t / PAIRS_PER_PAGE) * PAGE);
            (
                page.add((t % PAIRS_PER_PAGE) * n_main) as *const i16,
                page.add(PAIRS_PER_PAGE * n_main + (t % PAIRS_PER_PAGE) * TW) as *const i16,
            )
        } else {
            (base.add(main + t * n_main) as *const i16, base.add(tails + t * TW) as *const i16)
        }
    }
}

/// Pixels `p` and `p + 1` of `x` as the low and the high 16-bit word of
/// one 32-bit lane, the form `vpdpwssd` and `vpmaddwd` multiply.
///
/// # Safety
/// `p + 1 < x.len()`.
#[inline(always)]
pub(super) unsafe fn pair_word(x: &[u8], p: usize) -> i32 {
    let two = (x.as_ptr().add(p) as *const u16).read_unaligned() as u32;
    ((two & 0xff) | ((two << 8) & 0xff_0000)) as i32
}

/// `C = act(X·B + bias)` for a batch of u8 pixels `X` (`m×k`) read as
/// `p / 255`: W1's sums in fixed point on the plain copy, where [`prepare`]
/// wrote one; otherwise step 23's.
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
    if !is_fixed(k, n, b) {
        return super::avx512_colour::dense_pixels(m, k, n, pixels, step_23(k, n, b), bias, act, c);
    }
    let needs = "the avx512-fixed16 kernel needs a CPU with AVX-512F, BW, VL and VNNI, AVX2, FMA and BMI1";
    check_pixels_call(m, k, n, pixels, bias, c, is_available(), needs);
    let at = layout(k, n);
    #[cfg(target_arch = "x86_64")]
    // SAFETY: the CPU has the features; the slices hold m·k pixels, m·n
    // outputs and n biases (checked above); B holds its prepared length,
    // so the scales and the plain copy's pairs.
    unsafe {
        x86::rows::<false>(m, k, n, pixels, b, &at, bias, act, c)
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = (at, act);
}

/// [`dense_pixels`] with none of its checks, below [`M_CHAIN`] rows, on
/// the coloured copy (step 23's `Pass` calls it for W1).
///
/// # Safety
/// The CPU runs the step ([`is_available`]); [`takes_pixels`]`(k, n)`;
/// `pixels`, `b`, `bias` and `c` hold `m·k`, [`prepared_len`]`(k, n)`
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
        x86::rows::<true>(m, k, n, pixels, b, &layout(k, n), bias, act, c)
    } else {
        super::avx512_colour::dense_pixels_unchecked(m, k, n, pixels, step_23_unchecked(k, n, b), bias, act, c)
    }
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use core::arch::x86_64::*;

    use super::{pair_rows, pair_word, Layout};
    use crate::activation::Activation;
    use crate::kernels::avx512::LANES_512;
    use crate::kernels::avx512_bits::x86::{nonzero_bits, take_lowest, PIECE};
    use crate::kernels::avx512_epilogue::x86::finish;
    use crate::kernels::avx512_lines::x86::by_parts;
    use crate::kernels::avx512_prefetch::x86::next_row_fetcher;

    /// Every row of pixels: its fixed-point sums by [`walk`] on the
    /// coloured copy (`COLOURED`) or the plain one, scaled to floats, then
    /// step 15's epilogue; the next row's pixels fetched ahead (step 16).
    ///
    /// Safety: AVX-512F, BW, VL and VNNI, AVX2, FMA and BMI1 present;
    /// `pixels`, `c`, `bias` hold `m·k`, `m·n` and `n` elements; `b` is a
    /// buffer [`super::prepare`] wrote the fixed-point copy into, `at` its
    /// layout.
    #[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512vnni,avx2,fma,popcnt,bmi1")]
    #[allow(clippy::too_many_arguments)]
    pub unsafe fn rows<const COLOURED: bool>(
        m: usize,
        k: usize,
        n: usize,
        pixels: &[u8],
        b: &[f32],
        at: &Layout,
        bias: &[f32],
        act: Activation,
        c: &mut [f32],
    ) {
        by_parts!(n, each_row::<COLOURED>(m, k, n, pixels, b, at, bias, act, c))
    }

    /// LOOP 2: one row of pixels and of C at a time.
    #[inline(always)]
    #[allow(clippy::too_many_arguments)]
    unsafe fn each_row<const W: usize, const TW: usize, const COLOURED: bool>(
        m: usize,
        k: usize,
        n: usize,
        pixels: &[u8],
        b: &[f32],
        at: &Layout,
        bias: &[f32],
        act: Activation,
        c: &mut [f32],
    ) {
        let n_main = W * LANES_512;
        let fetch_next = next_row_fetcher(m, k, pixels);
        let pair_rows = pair_rows::<COLOURED, TW>(b, at, n_main);
        let scales = b.as_ptr().add(at.scales);
        for i in 0..m {
            fetch_next(i);
            let x = &pixels[i * k..(i + 1) * k];
            let (acc, acc_t) = walk::<W, TW>(x, &pair_rows);
            let mut sums = [_mm512_setzero_ps(); W];
            for (v, s) in sums.iter_mut().enumerate() {
                *s = _mm512_mul_ps(_mm512_cvtepi32_ps(acc[v]), _mm512_loadu_ps(scales.add(v * LANES_512)));
            }
            let sums_t = _mm_mul_ps(_mm_cvtepi32_ps(acc_t), _mm_loadu_ps(scales.add(n_main)));
            finish::<W, TW>(sums, sums_t, n, bias, act, &mut c[i * n..(i + 1) * n]);
        }
    }

    /// The 32-bit sums of a row of pixels `x` (even length): the pairs of
    /// pixels of which one or both are not 0, walked as the bits of two
    /// 64-pixel masks a loop (step 20's walk, each mask's bits OR-ed onto
    /// the even ones); each pair as two 16-bit words in every 32-bit lane,
    /// `vpdpwssd` against the pair's `W` vectors and its tail, where
    /// `rows(t)` says.
    ///
    /// Safety: AVX-512F, BW, VL and VNNI and BMI1 present; `rows(t)` gives
    /// `W` vectors of 32 `i16` and `TW` pairs of `i16` for every pair
    /// `t < x.len() / 2`.
    #[inline(always)]
    unsafe fn walk<const W: usize, const TW: usize>(
        x: &[u8],
        rows: &impl Fn(usize) -> (*const i16, *const i16),
    ) -> ([__m512i; W], __m128i) {
        let (mut acc, mut acc_t) = ([_mm512_setzero_si512(); W], _mm_setzero_si128());
        // LOOP 1: pairs of pieces of 64 inputs, 128 a pair
        for p0 in (0..x.len()).step_by(2 * PIECE) {
            let mut low = pair_bits(x, p0);
            let mut high = if p0 + PIECE < x.len() { pair_bits(x, p0 + PIECE) } else { 0 };
            // LOOP 0: the pieces' pairs with a non-zero pixel, lowest first
            while (low | high) != 0 {
                let p = p0 + take_lowest(&mut low, &mut high);
                let words = _mm512_set1_epi32(pair_word(x, p));
                let (row, tail) = rows(p / 2);
                for (v, a) in acc.iter_mut().enumerate() {
                    *a = _mm512_dpwssd_epi32(*a, words, _mm512_loadu_si512(row.add(v * 32) as *const _));
                }
                let t = if TW == 2 { _mm_loadl_epi64(tail as *const _) } else { _mm_loadu_si128(tail as *const _) };
                acc_t = _mm_dpwssd_epi32(acc_t, _mm512_castsi512_si128(words), t);
            }
        }
        (acc, acc_t)
    }

    /// Bit `2j` set where pixel `p0 + 2j` or `p0 + 2j + 1` is not 0, for
    /// the (up to) 64 pixels from `p0` (even).
    ///
    /// Safety: AVX-512BW present; `p0 < x.len()`.
    #[inline(always)]
    unsafe fn pair_bits(x: &[u8], p0: usize) -> u64 {
        let bits = nonzero_bits(x, p0);
        (bits | (bits >> 1)) & 0x5555_5555_5555_5555
    }
}
