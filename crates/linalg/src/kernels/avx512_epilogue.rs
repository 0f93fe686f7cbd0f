//! Step 15: step 14's epilogues on 512-bit vectors.
//!
//! What changed from step 14 (avx512-lines): the bias and the sigmoid run
//! on 16 lanes at a time where step 14, like every step since 7, runs them
//! on 8:
//!
//! - **W1's rows of pixels**: step 14 sums each row of C in `W = 3`
//!   512-bit vectors and the 2-column tail, then cuts the sums into six
//!   256-bit halves for step 7's epilogue. Here the bias is added to the
//!   three vectors as they are, their sigmoids are taken in 16 lanes, and
//!   they are stored with three 512-bit stores; the tail keeps step 7's
//!   8-lane code.
//! - **The hidden layers' register tiles** (W2, W3 at a batch of 6 or
//!   more rows): the sums are step 10's `6 × 16` tile of 256-bit FMAs,
//!   unchanged (step 11's 512-bit tiles measured no faster on W2 here and
//!   on an Intel Xeon); each row's two 256-bit sums are joined into one
//!   512-bit vector for the bias, the sigmoid and a masked store.
//!
//! The sigmoid is step 7's (`math::exp`'s range reduction and Cephes
//! polynomial, then `1 / (1 + e^-x)`), the same operations in the same
//! order on every lane, so C equals step 10's bit for bit (`tests/
//! kernels.rs`) and only the count of instructions changes: about 25 per
//! 16 outputs instead of 25 per 8. Why it pays: the sigmoids are about a
//! tenth of the network's time at batch 100 (the whole network 1.10–1.14×
//! faster with the identity in their place, a probe on AMD Zen 4).
//!
//! Everything else is step 14's: the sums of W1's rows, the rows of the
//! hidden layers at a batch of fewer than 6 (batch 1), float inputs.
//!
//! Loop order (BLIS names): as step 14 for the pixels (i, pieces of
//! `KC_ROWS` p, the row's non-zero p); step 10's for the tiles (ic, two
//! vectors of columns, p).
//!
//! Measured on AMD Zen 4 (family 25 model 17, 2026-12-03; `infer sweep
//! --batch-sizes 1,100 --kernel avx512-lines,avx512-epilogue,avx512-prefetch
//! --repeat 11`, two runs, medians of the per-round ratios): the whole
//! network 1.10× and 1.06× step 14 at batch 100 (per round 0.95–1.20),
//! 1.01× and 1.03× at batch 1 (0.76–1.22), where only W1's epilogue is
//! on 16 lanes (the hidden layers' single rows are step 10's). In
//! probes on the same CPU the W1 rows' epilogue gave about 1.02× and the
//! tiles' 1.06× at batch 100. Not yet measured on an Intel CPU, whose two
//! 512-bit FMA units should gain more. Tables: docs/matmul.md.

use super::avx2_lines;
use crate::activation::Activation;

pub use super::avx2_lines::{prepare, prepared_len};

/// `C = act(A·B + bias)`: step 10's register tiles with the epilogue on
/// 512-bit vectors for whole groups of 6 dense rows, step 10 for the rest.
///
/// # Panics
/// If a slice length does not match its shape, or the CPU lacks AVX-512F.
#[allow(clippy::too_many_arguments)]
pub fn dense(m: usize, k: usize, n: usize, a: &[f32], b: &[f32], bias: &[f32], act: Activation, c: &mut [f32]) {
    checked_floats(m, k, n, a, b, c, "avx512-epilogue");
    assert_eq!(bias.len(), n, "bias must have n = {n} elements");
    #[cfg(target_arch = "x86_64")]
    // SAFETY: AVX-512F, AVX2 and FMA are present; the slices hold m·k,
    // k·n_pad (the row layout first), m·n and n elements (checked above).
    unsafe {
        let rest =
            |m: usize, a: &[f32], c: &mut [f32]| super::avx2_row::x86::rows(m, k, n, a, b, Some((Some(bias), act)), c);
        x86::dense(m, k, n, a, b, bias, act, c, &rest)
    }
}

/// `C = A·B`: step 10 on the row layout.
///
/// # Panics
/// As [`dense`].
pub fn matmul(m: usize, k: usize, n: usize, a: &[f32], b: &[f32], c: &mut [f32]) {
    avx2_lines::matmul(m, k, n, a, b, c)
}

/// `C = act(X·B + bias)` for a batch of u8 pixels `X` (`m×k`) read as
/// `p / 255`: for a B that [`avx2_lines::splits`], each row of C summed as
/// step 14 does, the epilogue on 512-bit vectors; otherwise step 12's
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
    let (main, tail) = checked_parts(m, k, n, pixels, b, bias, c, "avx512-epilogue");
    #[cfg(target_arch = "x86_64")]
    // SAFETY: AVX-512F, AVX2, FMA and POPCNT are present; the slices hold
    // m·k pixels, k rows of the main part and of the tail, m·n outputs and
    // n biases (checked above), and 32 < n ≤ 100 with a tail of 1 to 4
    // columns (`splits`).
    unsafe {
        x86::rows::<crate::kernels::avx512_lines::x86::Gathered, _>(m, k, n, pixels, main, tail, bias, act, c, &|_| {})
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = (main, tail, act);
}

/// Checks the shapes of `C = A·B` on floats for a B prepared by
/// [`prepare`] (its row layout first) and that the CPU has AVX-512F
/// (steps 15 and 17).
///
/// # Panics
/// If a slice length does not match its shape, or the CPU lacks AVX-512F.
pub(super) fn checked_floats(m: usize, k: usize, n: usize, a: &[f32], b: &[f32], c: &[f32], step: &str) {
    assert_eq!(b.len(), prepared_len(k, n), "prepared B length");
    super::avx2_row::check(m, k, n, a, &b[..super::avx2_row::prepared_len(k, n)], c, step);
    assert!(super::avx512::is_available(), "the {step} kernel needs a CPU with AVX-512F, AVX2 and FMA");
}

/// The main part and the tail of a B that splits, after checking the
/// other slices' lengths and that the CPU has AVX-512F (steps 15 and 16).
///
/// # Panics
/// If a slice length does not match its shape, or the CPU lacks AVX-512F.
#[allow(clippy::too_many_arguments)]
pub(super) fn checked_parts<'b>(
    m: usize,
    k: usize,
    n: usize,
    pixels: &[u8],
    b: &'b [f32],
    bias: &[f32],
    c: &[f32],
    step: &str,
) -> (&'b [f32], &'b [f32]) {
    assert_eq!(pixels.len(), m * k, "X must be m×k = {m}×{k}");
    assert_eq!(c.len(), m * n, "C must be m×n = {m}×{n}");
    assert_eq!(bias.len(), n, "bias must have n = {n} elements");
    assert!(super::avx512::is_available(), "the {step} kernel needs a CPU with AVX-512F, AVX2 and FMA");
    avx2_lines::parts(k, n, b)
}

#[cfg(target_arch = "x86_64")]
pub(super) mod x86 {
    use core::arch::x86_64::*;

    use crate::activation::Activation;
    use crate::kernels::avx2::x86::tile_sums;
    use crate::kernels::avx2_fused::x86::sigmoid_lockstep;
    use crate::kernels::avx2_row::x86::{store, tail_mask};
    use crate::kernels::avx2_sparse::x86::Indices;
    use crate::kernels::avx512::LANES_512;
    use crate::kernels::avx512_lines::x86::{by_parts, RowSums};
    use crate::kernels::params::{LANES, MR_FMA};
    use crate::math;

    /// Every row of pixels through [`row`], its sums by `S` (step 14's
    /// [`crate::kernels::avx512_lines::x86::Gathered`] here and in steps
    /// 16 to 19, step 20's bits), `before_row(i)` called before row `i`
    /// (nothing here; step 16 fetches the next row's pixels).
    ///
    /// Safety: AVX-512F, AVX2, FMA and POPCNT present; `pixels`, `main`,
    /// `tail`, `c`, `bias` hold `m·k`, `k·n_main`, `k·TW`, `m·n` and `n`
    /// elements; 32 < n ≤ 100 with a tail of 1 to 4 columns.
    #[target_feature(enable = "avx512f,avx2,fma,popcnt")]
    #[allow(clippy::too_many_arguments)]
    pub unsafe fn rows<S: RowSums, F: Fn(usize)>(
        m: usize,
        k: usize,
        n: usize,
        pixels: &[u8],
        main: &[f32],
        tail: &[f32],
        bias: &[f32],
        act: Activation,
        c: &mut [f32],
        before_row: &F,
    ) {
        rows_inline::<S, F>(m, k, n, pixels, main, tail, bias, act, c, before_row)
    }

    /// [`rows`] for inlining into a function that enables more of the
    /// CPU's features (step 20: AVX-512BW and BMI1).
    ///
    /// Safety: as [`rows`], and the caller enables at least its features.
    #[inline(always)]
    #[allow(clippy::too_many_arguments)]
    pub unsafe fn rows_inline<S: RowSums, F: Fn(usize)>(
        m: usize,
        k: usize,
        n: usize,
        pixels: &[u8],
        main: &[f32],
        tail: &[f32],
        bias: &[f32],
        act: Activation,
        c: &mut [f32],
        before_row: &F,
    ) {
        by_parts!(n, each_row::<S>(m, k, n, pixels, main, tail, bias, act, c, before_row))
    }

    /// LOOP 2: one row of pixels and of C at a time.
    #[inline(always)]
    #[allow(clippy::too_many_arguments)]
    unsafe fn each_row<const W: usize, const TW: usize, S: RowSums>(
        m: usize,
        k: usize,
        n: usize,
        pixels: &[u8],
        main: &[f32],
        tail: &[f32],
        bias: &[f32],
        act: Activation,
        c: &mut [f32],
        before_row: &impl Fn(usize),
    ) {
        let mut idx = Indices::new();
        for i in 0..m {
            before_row(i);
            let x = &pixels[i * k..(i + 1) * k];
            row::<W, TW, S>(x, main, tail, n, bias, act, &mut c[i * n..(i + 1) * n], &mut idx);
        }
    }

    /// One row of C: its sums by `S`, then the bias and `act` on the `W`
    /// 512-bit vectors and step 7's epilogue on the tail, and the stores.
    ///
    /// Safety: as [`rows`], for one row.
    #[inline(always)]
    #[allow(clippy::too_many_arguments)]
    unsafe fn row<const W: usize, const TW: usize, S: RowSums>(
        x: &[u8],
        main: &[f32],
        tail: &[f32],
        n: usize,
        bias: &[f32],
        act: Activation,
        c_row: &mut [f32],
        idx: &mut Indices,
    ) {
        let (acc, acc_t) = S::row_sums::<W, TW>(x, main, tail, idx);
        finish::<W, TW>(acc, acc_t, n, bias, act, c_row)
    }

    /// A row of C from its sums (`W` 512-bit vectors and the tail's 128
    /// bits): the bias and `act` on the vectors and step 7's epilogue on
    /// the tail, then the stores ([`row`]'s, and step 24's union tiles').
    ///
    /// Safety: AVX-512F, AVX2 and FMA present; `bias` and `c_row` hold `n`
    /// elements, `n - 16W` of them (1 to 4) in the tail.
    #[inline(always)]
    pub(in crate::kernels) unsafe fn finish<const W: usize, const TW: usize>(
        mut acc: [__m512; W],
        acc_t: __m128,
        n: usize,
        bias: &[f32],
        act: Activation,
        c_row: &mut [f32],
    ) {
        let n_main = W * LANES_512;
        let tail_cols = tail_mask(n - n_main);
        for (v, acc_v) in acc.iter_mut().enumerate() {
            *acc_v = _mm512_add_ps(*acc_v, _mm512_loadu_ps(bias.as_ptr().add(v * LANES_512)));
        }
        let t = _mm256_insertf128_ps::<0>(_mm256_setzero_ps(), acc_t);
        let mut t = [_mm256_add_ps(t, _mm256_maskload_ps(bias.as_ptr().add(n_main), tail_cols))];
        match act {
            Activation::Sigmoid => {
                sigmoid(&mut acc);
                sigmoid_lockstep(&mut t);
            }
            Activation::Relu => {
                relu(&mut acc);
                t[0] = _mm256_max_ps(t[0], _mm256_setzero_ps());
            }
            Activation::Identity => {}
        }
        for (v, acc_v) in acc.iter().enumerate() {
            _mm512_storeu_ps(c_row.as_mut_ptr().add(v * LANES_512), *acc_v);
        }
        store(c_row.as_mut_ptr().add(n_main), t[0], false, tail_cols);
    }

    /// See [`super::dense`]: step 10's choice of loops, its tiles with
    /// [`tile`]'s epilogue, and `rest(m_rest, a_rest, c_rest)` for the
    /// rows after the last whole tile (here step 10's rows; step 17 its
    /// own). Safety: AVX-512F, AVX2 and FMA present; `a`, `b`, `c` and
    /// `bias` hold `m·k`, `k·n_pad`, `m·n` and `n` elements.
    #[target_feature(enable = "avx512f,avx2,fma")]
    #[allow(clippy::too_many_arguments)]
    pub unsafe fn dense<R: Fn(usize, &[f32], &mut [f32])>(
        m: usize,
        k: usize,
        n: usize,
        a: &[f32],
        b: &[f32],
        bias: &[f32],
        act: Activation,
        c: &mut [f32],
        rest: &R,
    ) {
        if crate::kernels::avx2::x86::mostly_zero(a, k) {
            return crate::kernels::avx2_union::x86::tiles(m, k, n, a, b, Some((Some(bias), act)), c);
        }
        // whole groups of MR_FMA rows in register tiles, the rest row by row
        let tile_rows = m - m % MR_FMA;
        let nv = crate::kernels::avx2_row::padded(n) / LANES;
        // LOOP 3: MR_FMA rows of A and C
        for ic in (0..tile_rows).step_by(MR_FMA) {
            // LOOP 2: two vectors (16 columns) of B and C, one at the edge
            for jv in (0..nv).step_by(2) {
                let (a_tile, b_cols, c_tile) = (a.as_ptr().add(ic * k), b.as_ptr().add(jv * LANES), &mut c[ic * n..]);
                if nv - jv >= 2 {
                    tile::<2>(k, n, a_tile, b_cols, c_tile, jv * LANES, bias, act);
                } else {
                    tile::<1>(k, n, a_tile, b_cols, c_tile, jv * LANES, bias, act);
                }
            }
        }
        rest(m - tile_rows, &a[tile_rows * k..], &mut c[tile_rows * n..]);
    }

    /// `MR_FMA × V` 256-bit vectors of C from column `j0`: step 10's tile
    /// (LOOP 1, p), then each row's `V` vectors as one 512-bit vector for
    /// the bias, `act` and a store masked to the columns before `n`.
    #[inline(always)]
    #[allow(clippy::too_many_arguments)]
    unsafe fn tile<const V: usize>(
        k: usize,
        n: usize,
        a: *const f32,
        b: *const f32,
        c: &mut [f32],
        j0: usize,
        bias: &[f32],
        act: Activation,
    ) {
        let acc = tile_sums::<V>(k, crate::kernels::avx2_row::padded(n), a, b);
        let cols: __mmask16 = ((1u32 << (n - j0).min(V * LANES)) - 1) as __mmask16;
        let bias_v = _mm512_maskz_loadu_ps(cols, bias.as_ptr().add(j0));
        let mut z = [_mm512_setzero_ps(); MR_FMA];
        for (z_r, acc_r) in z.iter_mut().zip(&acc) {
            let high = if V == 2 { acc_r[1] } else { _mm256_setzero_ps() };
            let joined =
                _mm512_insertf64x4::<1>(_mm512_castpd256_pd512(_mm256_castps_pd(acc_r[0])), _mm256_castps_pd(high));
            *z_r = _mm512_add_ps(_mm512_castpd_ps(joined), bias_v);
        }
        match act {
            Activation::Sigmoid => sigmoid(&mut z),
            Activation::Relu => relu(&mut z),
            Activation::Identity => {}
        }
        for (r, z_r) in z.iter().enumerate() {
            _mm512_mask_storeu_ps(c.as_mut_ptr().add(r * n + j0), cols, *z_r);
        }
    }

    /// `max(x, 0)` on each vector.
    #[inline(always)]
    pub(in crate::kernels) unsafe fn relu<const G: usize>(x: &mut [__m512; G]) {
        for x_g in x.iter_mut() {
            *x_g = _mm512_max_ps(*x_g, _mm512_setzero_ps());
        }
    }

    /// Step 7's sigmoid ([`sigmoid_lockstep`]) on 16 lanes: the same
    /// operations in the same order, each step for all `G` vectors before
    /// the next.
    #[inline(always)]
    pub(in crate::kernels) unsafe fn sigmoid<const G: usize>(x: &mut [__m512; G]) {
        // e^-x, x clamped to [-87, 88] (math::exp)
        let mut n = [_mm512_setzero_ps(); G];
        for x_g in x.iter_mut() {
            *x_g = _mm512_sub_ps(_mm512_setzero_ps(), *x_g);
            *x_g = _mm512_min_ps(_mm512_max_ps(*x_g, _mm512_set1_ps(-87.0)), _mm512_set1_ps(88.0));
        }
        for g in 0..G {
            let scaled = _mm512_mul_ps(x[g], _mm512_set1_ps(core::f32::consts::LOG2_E));
            n[g] = _mm512_roundscale_ps::<{ _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC }>(scaled);
        }
        // r = x - n·ln 2, in two parts
        for g in 0..G {
            x[g] = _mm512_fnmadd_ps(n[g], _mm512_set1_ps(math::C1), x[g]);
        }
        for g in 0..G {
            x[g] = _mm512_fnmadd_ps(n[g], _mm512_set1_ps(math::C2), x[g]);
        }
        let mut p = [_mm512_set1_ps(math::P[0]); G];
        for &coef in &math::P[1..] {
            for g in 0..G {
                p[g] = _mm512_fmadd_ps(p[g], x[g], _mm512_set1_ps(coef));
            }
        }
        let one = _mm512_set1_ps(1.0);
        for g in 0..G {
            let r = x[g];
            let er = _mm512_add_ps(_mm512_fmadd_ps(p[g], _mm512_mul_ps(r, r), r), one);
            let pow2 = _mm512_slli_epi32::<23>(_mm512_add_epi32(_mm512_cvtps_epi32(n[g]), _mm512_set1_epi32(127)));
            x[g] = _mm512_mul_ps(er, _mm512_castsi512_ps(pow2));
        }
        // 1 / (1 + e^-x)
        for x_g in x.iter_mut() {
            *x_g = _mm512_div_ps(one, _mm512_add_ps(one, *x_g));
        }
    }
}
