//! Step 13: two images at a time over the union of their pixels.
//!
//! What changed from step 12 (avx2-lines): at a batch of 2 or more, rows
//! of pixels into W1 go two at a time. The indices of the pixels that are
//! non-zero in either image (the union: 227 on average for two MNIST
//! test images, against 151 in each) are gathered once, and each row of
//! B they select is loaded once for both images: six 256-bit loads of the
//! main part and one 8-byte load of the tail feed twelve FMAs and one
//! 128-bit FMA (the two images' tails side by side in its four lanes).
//! Per image that is 113 rows of B instead of 151, for 1.5× the FMAs,
//! some of them on a zero pixel of one of the two.
//!
//! Registers: 2 × 6 accumulators, one for both tails, two broadcast
//! pixels and the row of B being read: all 16 of AVX2. That is why this
//! step builds on step 12: with step 10's rows of seven vectors, two
//! images need 14 accumulators and there is no room left. So it applies
//! where step 12's split copy exists with at most 48 columns in the main
//! part and a tail of 1 or 2 columns (W1: 48 + 2); elsewhere, and for the
//! last row of an odd batch, step 12.
//!
//! The same sums as step 12 (hence step 10): a pixel that is zero in one
//! image of the pair adds `0 · w`, exactly +0 or -0, to a sum that is
//! never -0 (it starts at +0 and every other term is a non-zero pixel's),
//! which leaves it unchanged; the other terms come in the same order.
//! `tests/kernels.rs` checks C bit for bit against step 10.
//!
//! Where two images' rows of B are cheaper than one image's FMAs, this
//! gains; where the FMAs are the limit, it loses. Which holds is measured
//! on each machine: [`crate::kernels::Kernel::best`].
//!
//! Loop order (BLIS names): i (two rows), the union's p (rows of at most
//! `KC_ROWS = 1024` pixels, one piece; longer ones go to step 12).
//!
//! Measured on AMD EPYC Zen 3 (2026-12-02; `infer sweep --batch-sizes
//! 1,100 --kernel avx2,avx2-lines,avx2-pairs`, per-round ratios): the whole
//! network 1.11–1.21× step 10 at batch 100, six sweeps of 7–11 rounds
//! (0.99–1.04× at batch 1, where it runs step 12's rows); W1 alone
//! 1.19–1.24×. There a vector load costs about a cycle, twice Zen 3's
//! specification, and loads set the pace of the pixel loop. On an Intel
//! Xeon (family 6 model 167, 2026-12-02): 1.16–1.22× step 10 at batch 100,
//! 1.00–1.05× at batch 1 (three sweeps), where step 14 does as well at
//! batch 100 and better at batch 1. On AMD Zen 4 (2026-12-03): 1.20× and
//! 1.28× step 10 at batch 100, 0.96× and 1.12× at batch 1 (two sweeps);
//! W1 alone 1.29× at batch 100; step 14 there is 1.04–1.06× this step at
//! batch 100 and 1.06–1.09× at batch 1 (two sweeps of 11 rounds), and
//! `Kernel::best` picks step 14. Tables: docs/matmul.md.

use super::avx2_lines;
use crate::activation::Activation;

pub use super::avx2_lines::{prepare, prepared_len};

/// Whether pixel rows into a `k×n` B go in pairs: step 12's split copy
/// with a main part of at most 48 columns and a tail of 1 or 2, and rows
/// of at most `KC_ROWS` pixels, gathered in one piece (W1: 784).
pub const fn in_pairs(k: usize, n: usize) -> bool {
    avx2_lines::splits(k, n) && n - n % 16 <= 48 && n % 16 <= 2 && k <= super::params::KC_ROWS
}

/// `C = act(A·B + bias)`: step 10 on the row layout.
///
/// # Panics
/// If a slice length does not match its shape, or the CPU lacks AVX2/FMA.
#[allow(clippy::too_many_arguments)]
pub fn dense(m: usize, k: usize, n: usize, a: &[f32], b: &[f32], bias: &[f32], act: Activation, c: &mut [f32]) {
    avx2_lines::dense(m, k, n, a, b, bias, act, c)
}

/// `C = A·B`: step 10 on the row layout.
///
/// # Panics
/// As [`dense`].
pub fn matmul(m: usize, k: usize, n: usize, a: &[f32], b: &[f32], c: &mut [f32]) {
    avx2_lines::matmul(m, k, n, a, b, c)
}

/// `C = act(X·B + bias)` for a batch of u8 pixels `X` (`m×k`) read as
/// `p / 255`: where [`in_pairs`], the rows two at a time over their
/// union and the last of an odd batch alone; otherwise step 12's
/// [`avx2_lines::dense_pixels`]. Equal to step 10's result bit for bit.
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
    if m < 2 || !in_pairs(k, n) {
        return avx2_lines::dense_pixels(m, k, n, pixels, b, bias, act, c);
    }
    assert_eq!(b.len(), prepared_len(k, n), "prepared B length");
    assert_eq!(pixels.len(), m * k, "X must be m×k = {m}×{k}");
    assert_eq!(c.len(), m * n, "C must be m×n = {m}×{n}");
    assert_eq!(bias.len(), n, "bias must have n = {n} elements");
    assert!(super::avx2::is_available(), "the avx2-pairs kernel needs a CPU with AVX2 and FMA");
    let (main, tail) = avx2_lines::parts(k, n, b);
    #[cfg(target_arch = "x86_64")]
    // SAFETY: AVX2 and FMA are present; the slices hold m·k pixels, k rows
    // of the main part and of the tail, m·n outputs and n biases (checked
    // above), and B has a main part of 32 or 48 columns and a tail of 1 or
    // 2 (`in_pairs`).
    unsafe {
        if n - n % 16 == 32 {
            x86::rows::<4>(m, k, n, pixels, main, tail, bias, act, c)
        } else {
            x86::rows::<6>(m, k, n, pixels, main, tail, bias, act, c)
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = (main, tail, act);
}

#[cfg(target_arch = "x86_64")]
pub(super) mod x86 {
    use core::arch::x86_64::*;

    use crate::activation::Activation;
    use crate::kernels::avx2_fused::x86::epilogue_all;
    use crate::kernels::avx2_lines::x86::row;
    use crate::kernels::avx2_row::x86::{store, tail_mask};
    use crate::kernels::avx2_sparse::x86::{push, push_at, Indices};
    use crate::kernels::params::{KC_ROWS, LANES};

    /// LOOP 2: the rows two at a time ([`pair`]), an odd last one through
    /// step 12's row; the main part `V` vectors wide, the tail 2 columns.
    ///
    /// Safety: AVX2, FMA and POPCNT present; `pixels`, `main`, `tail`, `c`, `bias`
    /// hold `m·k`, `k·8V`, `2k`, `m·n` and `n` elements; `n - 8V` is 1 or 2.
    #[target_feature(enable = "avx2,fma,popcnt")]
    #[allow(clippy::too_many_arguments)]
    pub unsafe fn rows<const V: usize>(
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
        let mut idx = Indices::new();
        for i in (0..m - m % 2).step_by(2) {
            let (x0, x1) = (&pixels[i * k..(i + 1) * k], &pixels[(i + 1) * k..(i + 2) * k]);
            pair::<V>(x0, x1, main, tail, n, bias, act, &mut c[i * n..(i + 2) * n], &mut idx);
        }
        if m % 2 == 1 {
            let i = m - 1;
            row::<V, 2>(&pixels[i * k..(i + 1) * k], main, tail, n, bias, act, &mut c[i * n..(i + 1) * n], &mut idx);
        }
    }

    /// Two rows of C (`c`: both, `n` columns each): the union of the two
    /// rows' non-zero pixels gathered, then for each `p` of it both
    /// images' `a[p] · B[p]`, B's row loaded once ([`sums`]); then step 7's
    /// epilogue on both rows at once.
    ///
    /// Safety: as [`rows`], for two rows.
    #[inline(always)]
    #[allow(clippy::too_many_arguments)]
    unsafe fn pair<const V: usize>(
        x0: &[u8],
        x1: &[u8],
        main: &[f32],
        tail: &[f32],
        n: usize,
        bias: &[f32],
        act: Activation,
        c: &mut [f32],
        idx: &mut Indices,
    ) {
        let n_main = V * LANES;
        let nnz = union_pixels(x0, x1, idx);
        let (acc0, acc1, acc_t) = sums::<V>(x0, x1, main, tail, idx.first(nnz));
        // both rows as one of 2(V + 1) vectors for the epilogue
        let tail_cols = tail_mask(n - n_main);
        let mut s = [_mm256_setzero_ps(); 14];
        s[..V].copy_from_slice(&acc0);
        s[V] = _mm256_insertf128_ps::<0>(_mm256_setzero_ps(), acc_t);
        s[V + 1..2 * V + 1].copy_from_slice(&acc1);
        s[2 * V + 1] = _mm256_insertf128_ps::<0>(_mm256_setzero_ps(), _mm_movehl_ps(acc_t, acc_t));
        let mut masks = [_mm256_set1_epi32(-1); 7];
        masks[V] = tail_cols;
        epilogue_all(&mut s[..2 * V + 2], Some(bias), 0, &masks[..V + 1], act);
        for r in 0..2 {
            let (c_row, s_row) = (c.as_mut_ptr().add(r * n), &s[r * (V + 1)..]);
            for (v, s_v) in s_row[..V].iter().enumerate() {
                _mm256_storeu_ps(c_row.add(v * LANES), *s_v);
            }
            store(c_row.add(n_main), s_row[V], false, tail_cols);
        }
    }

    /// LOOP 0: both images' sums over the union's `p` (`ps`), each row of
    /// B loaded once: `V` vectors of the main part for each image, and the
    /// tails, image 0 in lanes 0 and 1 and image 1 in lanes 2 and 3. (A
    /// function of its own, so that its sixteen live vectors are all the
    /// register allocator sees: written inline after the gathering, LLVM
    /// kept half the sums on the stack.)
    ///
    /// Safety: as [`rows`]; every `p` of `ps` indexes `x0`, `x1` and a row
    /// of the main part and of the tail.
    #[inline(always)]
    unsafe fn sums<const V: usize>(
        x0: &[u8],
        x1: &[u8],
        main: &[f32],
        tail: &[f32],
        ps: &[u32],
    ) -> ([__m256; V], [__m256; V], __m128) {
        let (n_main, values) = (V * LANES, &crate::pixels::VALUES);
        let (mut acc0, mut acc1, mut acc_t) = ([_mm256_setzero_ps(); V], [_mm256_setzero_ps(); V], _mm_setzero_ps());
        for &p in ps {
            let p = p as usize;
            let a0 = _mm256_set1_ps(*values.get_unchecked(*x0.get_unchecked(p) as usize));
            let a1 = _mm256_set1_ps(*values.get_unchecked(*x1.get_unchecked(p) as usize));
            let b_row = main.as_ptr().add(p * n_main);
            for v in 0..V {
                let w = _mm256_loadu_ps(b_row.add(v * LANES));
                acc0[v] = _mm256_fmadd_ps(a0, w, acc0[v]);
                acc1[v] = _mm256_fmadd_ps(a1, w, acc1[v]);
            }
            // the tail's two columns twice, against a0, a0, a1, a1
            let w_t = _mm_castpd_ps(_mm_loaddup_pd(tail.as_ptr().add(p * 2) as *const f64));
            let a01 = _mm_blend_ps::<0b1100>(_mm256_castps256_ps128(a0), _mm256_castps256_ps128(a1));
            acc_t = _mm_fmadd_ps(a01, w_t, acc_t);
        }
        (acc0, acc1, acc_t)
    }

    /// Writes the indices `p` where `a0[p]` or `a1[p]` is not 0 to the front
    /// of `idx`, in order, and returns how many: step 6's gathering of
    /// pixels ([`crate::kernels::avx2_sparse`]) on the bytes `a0[p] | a1[p]`.
    ///
    /// Safety: AVX2 present; `a0.len() == a1.len() <= KC_ROWS`.
    #[inline(always)]
    unsafe fn union_pixels(a0: &[u8], a1: &[u8], idx: &mut Indices) -> usize {
        debug_assert!(a0.len() == a1.len() && a0.len() <= KC_ROWS);
        let (mut nnz, mut p) = (0, 0);
        let (mut base, eight) = (_mm256_setzero_si256(), _mm256_set1_epi32(LANES as i32));
        while p + 4 * LANES <= a0.len() {
            let v0 = _mm256_loadu_si256(a0.as_ptr().add(p) as *const __m256i);
            let v1 = _mm256_loadu_si256(a1.as_ptr().add(p) as *const __m256i);
            let v = _mm256_or_si256(v0, v1);
            let mask = !(_mm256_movemask_epi8(_mm256_cmpeq_epi8(v, _mm256_setzero_si256())) as u32) as usize;
            for q in 0..4 {
                nnz = push_at(idx, nnz, (mask >> (q * LANES)) & 0xff, base);
                base = _mm256_add_epi32(base, eight);
            }
            p += 4 * LANES;
        }
        while p + 2 * LANES <= a0.len() {
            let v0 = _mm_loadu_si128(a0.as_ptr().add(p) as *const __m128i);
            let v1 = _mm_loadu_si128(a1.as_ptr().add(p) as *const __m128i);
            let v = _mm_or_si128(v0, v1);
            let mask = !(_mm_movemask_epi8(_mm_cmpeq_epi8(v, _mm_setzero_si128())) as usize) & 0xffff;
            nnz = push(idx, nnz, mask & 0xff, p);
            nnz = push(idx, nnz, mask >> LANES, p + LANES);
            p += 2 * LANES;
        }
        while p < a0.len() {
            idx.set(nnz, p);
            nnz += (*a0.get_unchecked(p) | *a1.get_unchecked(p) != 0) as usize;
            p += 1;
        }
        nnz
    }
}
