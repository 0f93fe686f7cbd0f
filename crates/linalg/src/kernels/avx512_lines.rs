//! Step 14: step 12's rows of pixels on 512-bit vectors.
//!
//! What changed from step 12 (avx2-lines): the pixel loop reads the main
//! part of W1's split copy with 512-bit loads. A row of the main part is
//! 48 floats on three whole 64-byte lines, so each non-zero pixel costs
//! three `vmovups zmm` loads and three `vfmadd231ps zmm`, each load on one
//! line, where step 12 does six 256-bit loads and FMAs. The tail (2
//! columns) and the epilogue are step 12's: the tail's 128-bit FMA, then
//! step 7's 8-lane epilogue on the halves of each 512-bit sum.
//!
//! This is what step 11's 16-lane rows of pixels lacked. On step 10's row
//! layout a row of W1 is 56 floats, 224 bytes, so every other row starts
//! in the middle of a line and each of its 512-bit loads spans two lines;
//! on an Intel Xeon that cost step 11 its gain on W1 (docs/performance.md).
//! Here no load spans two lines.
//!
//! Everything else is step 12's, hence step 10's, AVX2 code: the hidden
//! layers (with step 11's 512-bit tiles instead, W2 measured no faster in
//! the network on the Xeon below), float inputs, and B that step 12 does
//! not split.
//!
//! Grouping images, as step 13 does on AVX2, was tried on this step's
//! vectors too (a prototype, not kept): 2, 3, 4, 6 or 8 images over the
//! union of their pixels (the 24 accumulators of 8 images and the tails
//! of all 8 in one vector fit in AVX-512's 32 registers). On W1 alone at
//! batch 100 on the Xeon below every group size from 1 to 6 measured the
//! same within the noise (1.08–1.25× step 13, best of 11 rounds, three
//! runs each), 8 was slower (0.86–0.88× step 13), and in the network at
//! batch 100 groups of 4 and 6 were no faster than one image at a time.
//! So the step stays one image at a time: no union to gather, and the same
//! loop at batch 1.
//!
//! The same sums as step 12 (hence step 10): each lane adds the same
//! products in the same order (an FMA on 512-bit lanes rounds as on
//! 256-bit ones), then the same epilogue on the same 8-lane halves, so C
//! equals step 10's bit for bit (`tests/kernels.rs`, where the CPU has
//! AVX-512F).
//!
//! Loop order (BLIS names): i (one row), pieces of `KC_ROWS` p, the row's
//! non-zero p.
//!
//! Measured on an Intel Xeon (family 6 model 167 under KVM, AVX-512 with
//! two 512-bit FMA units, 2026-12-02, in a slow state of the VM; per-round
//! ratios of `infer sweep --batch-sizes 1,100 --kernel
//! avx2,...,avx512-lines`): the whole network 1.13–1.18× step 10 at batch
//! 1 (step 13 there 1.00–1.05×) and 1.18–1.28× at batch 100 (step 13
//! 1.16–1.22×), three sweeps; W1 alone on the pixels 0.528 µs at batch 1
//! against step 13's 0.598 and step 10's 0.737, 60.4 µs at batch 100
//! against 73.2 and 84.6 (`infer kernels`, `make measure`). There
//! [`crate::kernels::Kernel::best`] picked it, in 20 of 20 processes,
//! timing it against the faster of steps 12 and 13 wherever the CPU has
//! AVX-512F (since 2026-12-03 it times step 17, this step with 16-lane
//! epilogues, a prefetch and 512-bit rows for batch 1's hidden layers,
//! in its place). On AMD Zen 4, whose 512-bit FMAs run as two 256-bit halves
//! (2026-12-03): the whole network 1.13× step 10 at batch 1 and 1.15×
//! and 1.40× at batch 100 (two sweeps), 1.06–1.09× and 1.04–1.06× step 13
//! (two more); W1 alone on the pixels 0.300 µs at batch 1 against step
//! 13's 0.355 and step 10's 0.394, 33.3 µs at batch 100 against 34.2 and
//! 44.2; picked there in 40 of 40 processes. Tried on Zen 4 and dropped:
//! blocks of W1's rows shared by the batch (64 images a block, the sums
//! kept between blocks: 0.95–1.02× with 392 rows, down to 0.56–0.64× with
//! 128), `prefetchnta` of the rows 8 pixels ahead (0.89–0.99× at batch
//! 1), and the gathering of non-zero pixels on 512-bit vectors
//! (`vpcompressd`: W1 alone up to 1.2× faster, the network level).
//! Tried on the Xeon and dropped: the rows of floats left
//! over after step 10's tiles (batch 1: all of W2 and W3) on 512-bit
//! vectors, the same sums bit for bit: W2 alone 1.03–1.23× at batch 1,
//! W3 0.95×, the network within the noise. Tables: docs/matmul.md.

use super::avx2_lines;
use crate::activation::Activation;

pub use super::avx2_lines::{prepare, prepared_len};

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
/// `p / 255`: for a B that [`avx2_lines::splits`], each row of C through
/// the zero-skipping row on 512-bit vectors of the main part and the
/// tail; otherwise step 12's [`avx2_lines::dense_pixels`]. Equal to step
/// 10's result bit for bit.
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
    assert_eq!(pixels.len(), m * k, "X must be m×k = {m}×{k}");
    assert_eq!(c.len(), m * n, "C must be m×n = {m}×{n}");
    assert_eq!(bias.len(), n, "bias must have n = {n} elements");
    assert!(super::avx512::is_available(), "the avx512-lines kernel needs a CPU with AVX-512F, AVX2 and FMA");
    let (main, tail) = avx2_lines::parts(k, n, b);
    #[cfg(target_arch = "x86_64")]
    // SAFETY: AVX-512F, AVX2, FMA and POPCNT are present; the slices hold
    // m·k pixels, k rows of the main part and of the tail, m·n outputs and
    // n biases (checked above), and 32 < n ≤ 100 with a tail of 1 to 4
    // columns (`splits`).
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
    use crate::kernels::avx2_fused::x86::epilogue_all;
    use crate::kernels::avx2_row::x86::{store, tail_mask};
    use crate::kernels::avx2_sparse::x86::{nonzero_pixels, Indices};
    use crate::kernels::avx512::LANES_512;
    use crate::kernels::params::{KC_ROWS, LANES};

    /// `$f::<W, TW>(args)` (or `$f::<W, TW, S>` for `$f::<S>(args)`) for a
    /// B of `n` columns that `splits`: `W` 512-bit vectors of the main
    /// part (2 to 6, n from 33 to 100) and a tail of `TW` columns; for
    /// steps 14 to 16 and 20.
    macro_rules! by_parts {
        ($n:expr, $f:ident $(::<$s:ty>)? ($($arg:expr),*)) => {
            match (($n - $n % 16) / $crate::kernels::avx512::LANES_512, $crate::kernels::avx2_lines::tail_width($n)) {
                (2, 2) => $f::<2, 2 $(, $s)?>($($arg),*),
                (2, _) => $f::<2, 4 $(, $s)?>($($arg),*),
                (3, 2) => $f::<3, 2 $(, $s)?>($($arg),*),
                (3, _) => $f::<3, 4 $(, $s)?>($($arg),*),
                (4, 2) => $f::<4, 2 $(, $s)?>($($arg),*),
                (4, _) => $f::<4, 4 $(, $s)?>($($arg),*),
                (5, 2) => $f::<5, 2 $(, $s)?>($($arg),*),
                (5, _) => $f::<5, 4 $(, $s)?>($($arg),*),
                (6, 2) => $f::<6, 2 $(, $s)?>($($arg),*),
                (6, _) => $f::<6, 4 $(, $s)?>($($arg),*),
                _ => unreachable!("splits() admits 32 < n <= 100 only"),
            }
        };
    }
    pub(in crate::kernels) use by_parts;

    /// Every row of pixels through [`row`], its main part `W` 512-bit
    /// vectors and its tail `TW` columns wide.
    ///
    /// Safety: AVX-512F, AVX2, FMA and POPCNT present; `pixels`, `main`,
    /// `tail`, `c`, `bias` hold `m·k`, `k·n_main`, `k·TW`, `m·n` and `n`
    /// elements; 32 < n ≤ 100 with a tail of 1 to 4 columns.
    #[target_feature(enable = "avx512f,avx2,fma,popcnt")]
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
        by_parts!(n, each_row(m, k, n, pixels, main, tail, bias, act, c))
    }

    /// LOOP 2: one row of pixels and of C at a time.
    #[inline(always)]
    #[allow(clippy::too_many_arguments)]
    unsafe fn each_row<const W: usize, const TW: usize>(
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
        for i in 0..m {
            let x = &pixels[i * k..(i + 1) * k];
            row::<W, TW>(x, main, tail, n, bias, act, &mut c[i * n..(i + 1) * n], &mut idx);
        }
    }

    /// One row of C: its sums ([`row_sums`]: for each non-zero `p`,
    /// `a[p] · B[p]` on `W` 512-bit vectors of the main part and the `TW`
    /// columns of the tail), then step 7's epilogue on the `2W` 256-bit
    /// halves and the tail, and a store.
    ///
    /// Safety: as [`rows`], for one row.
    #[inline(always)]
    #[allow(clippy::too_many_arguments)]
    unsafe fn row<const W: usize, const TW: usize>(
        x: &[u8],
        main: &[f32],
        tail: &[f32],
        n: usize,
        bias: &[f32],
        act: Activation,
        c_row: &mut [f32],
        idx: &mut Indices,
    ) {
        let n_main = W * LANES_512;
        let tail_cols = tail_mask(n - n_main);
        let (acc, acc_t) = row_sums::<W, TW>(x, main, tail, idx);
        // the 512-bit sums as 256-bit halves, then as step 12's row of
        // 2W + 1 vectors
        let mut s = [_mm256_setzero_ps(); 13];
        for (v, acc_v) in acc.iter().enumerate() {
            s[2 * v] = _mm512_castps512_ps256(*acc_v);
            s[2 * v + 1] = _mm256_castpd_ps(_mm512_extractf64x4_pd::<1>(_mm512_castps_pd(*acc_v)));
        }
        s[2 * W] = _mm256_insertf128_ps::<0>(_mm256_setzero_ps(), acc_t);
        let mut masks = [_mm256_set1_epi32(-1); 13];
        masks[2 * W] = tail_cols;
        epilogue_all(&mut s[..2 * W + 1], Some(bias), 0, &masks[..2 * W + 1], act);
        for (v, s_v) in s[..2 * W].iter().enumerate() {
            _mm256_storeu_ps(c_row.as_mut_ptr().add(v * LANES), *s_v);
        }
        store(c_row.as_mut_ptr().add(n_main), s[2 * W], false, tail_cols);
    }

    /// How a row of pixels becomes its sums before the epilogue: step 14
    /// gathers the indices of the non-zero pixels ([`Gathered`]), step 20
    /// walks the bits of a mask ([`crate::kernels::avx512_bits`]).
    pub(in crate::kernels) trait RowSums {
        /// For each non-zero `p` of `x`, lowest first, `x[p]/255 · B[p]`
        /// added to `W` 512-bit vectors of the main part and the `TW`
        /// columns of the tail ([`add_row`]).
        ///
        /// Safety: as [`rows`], for one row `x` of `k` pixels.
        unsafe fn row_sums<const W: usize, const TW: usize>(
            x: &[u8],
            main: &[f32],
            tail: &[f32],
            idx: &mut Indices,
        ) -> ([__m512; W], __m128);
    }

    /// Step 14's [`RowSums`]: [`row_sums`].
    pub(in crate::kernels) struct Gathered;

    impl RowSums for Gathered {
        #[inline(always)]
        unsafe fn row_sums<const W: usize, const TW: usize>(
            x: &[u8],
            main: &[f32],
            tail: &[f32],
            idx: &mut Indices,
        ) -> ([__m512; W], __m128) {
            row_sums::<W, TW>(x, main, tail, idx)
        }
    }

    /// One row's sums before the epilogue: the non-zero pixels gathered
    /// `KC_ROWS` at a time (step 6), each piece through [`sums`].
    ///
    /// Safety: as [`rows`], for one row.
    #[inline(always)]
    pub(in crate::kernels) unsafe fn row_sums<const W: usize, const TW: usize>(
        x: &[u8],
        main: &[f32],
        tail: &[f32],
        idx: &mut Indices,
    ) -> ([__m512; W], __m128) {
        let k = x.len();
        let (mut acc, mut acc_t) = ([_mm512_setzero_ps(); W], _mm_setzero_ps());
        let mut p0 = 0;
        // LOOP 1: pieces of KC_ROWS inputs (one for W1's 784)
        loop {
            let p1 = k.min(p0 + KC_ROWS);
            let nnz = nonzero_pixels(&x[p0..p1], idx);
            for &q in idx.first(nnz) {
                // LOOP 0: the piece's non-zero p
                add_row::<W, TW>(x, p0 + q as usize, main, tail, &mut acc, &mut acc_t);
            }
            if p1 == k {
                return (acc, acc_t);
            }
            p0 = p1;
        }
    }

    /// `acc` and `acc_t` plus `a[p] · B[p]` for one non-zero `p`: `W`
    /// 512-bit vectors of the main part, each on one line, and the tail's
    /// `TW` columns as in step 12.
    ///
    /// Safety: as [`rows`]; `p` indexes `x` and a row of the main part and
    /// of the tail.
    #[inline(always)]
    pub(in crate::kernels) unsafe fn add_row<const W: usize, const TW: usize>(
        x: &[u8],
        p: usize,
        main: &[f32],
        tail: &[f32],
        acc: &mut [__m512; W],
        acc_t: &mut __m128,
    ) {
        let n_main = W * LANES_512;
        let a = *crate::pixels::VALUES.get_unchecked(*x.get_unchecked(p) as usize);
        add_row_at::<W, TW>(a, main.as_ptr().add(p * n_main), tail.as_ptr().add(p * TW), acc, acc_t);
    }

    /// [`add_row`] with the pixel's value `a` and its row's main part and
    /// tail found already (step 21 keeps them elsewhere).
    ///
    /// Safety: AVX-512F present; `b_row` holds `W` vectors, `t_row` `TW`
    /// floats.
    #[inline(always)]
    pub(in crate::kernels) unsafe fn add_row_at<const W: usize, const TW: usize>(
        a: f32,
        b_row: *const f32,
        t_row: *const f32,
        acc: &mut [__m512; W],
        acc_t: &mut __m128,
    ) {
        let av = _mm512_set1_ps(a);
        for (v, acc_v) in acc.iter_mut().enumerate() {
            *acc_v = _mm512_fmadd_ps(av, _mm512_loadu_ps(b_row.add(v * LANES_512)), *acc_v);
        }
        let b_t = if TW == 2 { _mm_castpd_ps(_mm_load_sd(t_row as *const f64)) } else { _mm_loadu_ps(t_row) };
        *acc_t = _mm_fmadd_ps(_mm_set1_ps(a), b_t, *acc_t);
    }
}
