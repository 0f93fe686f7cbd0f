//! Step 12: W1's rows on whole cache lines.
//!
//! What changed from step 10 (avx2): in step 10's row layout a row of W1
//! is 50 floats padded to 56, 224 bytes, so on a buffer that starts on a
//! line every row touches four 64-byte lines (rows at 0 and 32 bytes into
//! a line, alternately), and each non-zero pixel of an image brings its
//! row from L2 (W1 is 175 KB). This step keeps a second copy of such a B,
//! cut in two:
//!
//! - **the main part**: each row's first `n_main = 48` columns (the whole
//!   16-float lines of the row, `n_main = n - n % 16`), rows `n_main`
//!   floats apart: three lines per row, never four;
//! - **the tail**: the last `n - n_main = 2` columns of every row, rows
//!   `TW = 2` floats apart (`TW = 4` for tails of 3 or 4 columns): 6 KB
//!   for W1's 784 rows, which stays in L1.
//!
//! The pixel loop is step 7's row with one more accumulator: each non-zero
//! pixel costs six 256-bit loads and FMAs on the main part and one 128-bit
//! FMA on the tail, against seven and seven on four lines. It is used for
//! u8 pixels into such a B ([`dense_pixels`]; `splits`: more than 32
//! columns, a tail of 1 to 4 columns, at most 100, and B larger than a
//! 32 KB L1d, so that its rows come from L2). Everything else (the hidden
//! layers, float inputs, other shapes) is step 10 on the row layout, which
//! the prepared buffer also holds, first.
//!
//! The same sums as step 10: each lane adds the same products in the same
//! order (an FMA on the tail's 128-bit lanes rounds as on the 256-bit
//! ones), then the same epilogue, so C equals step 10's bit for bit
//! (`tests/kernels.rs`).
//!
//! Loop order (BLIS names): i (one row), pieces of `KC_ROWS` p, the row's
//! non-zero p.
//!
//! Measured on AMD EPYC Zen 3 (2026-12-02; `infer sweep --batch-sizes
//! 1,100 --kernel avx2,avx2-lines,avx2-pairs`, per-round ratios): 1.03–1.08×
//! step 10 on the whole network at batch 1 and at batch 100, six sweeps
//! of 7–11 rounds; W1 alone 1.03–1.06×. A small gain alone: the point is the
//! layout, on which steps 13 and 14 build. On an Intel Xeon (family 6
//! model 167, 2026-12-02): 1.01–1.03× at batch 1, 1.03–1.15× at batch 100
//! (three sweeps). On AMD Zen 4 (2026-12-03): 1.04–1.05× at batch 1,
//! 1.08–1.12× at batch 100 (two sweeps); W1 alone on the pixels 1.17× at
//! batch 1 and 1.11× at batch 100 (`infer kernels`). Tables: docs/matmul.md
//! (`infer kernels` and `infer sweep` with these kernels).

use super::avx2_row::prepared_len as row_len;
use crate::activation::Activation;

/// Columns of the tail: 2 for tails of 1 or 2 columns, else 4.
pub(super) const fn tail_width(n: usize) -> usize {
    if n % 16 <= 2 {
        2
    } else {
        4
    }
}

/// Whether a `k×n` B gets the split copy: rows wider than 32 columns (the
/// pixel path of step 10), a tail of 1 to 4 columns, at most 100 columns
/// (12 vectors and the tail in registers) and more than 32 KB in the row
/// layout. For the book's layers: W1 (784×50) only.
pub const fn splits(k: usize, n: usize) -> bool {
    n > 32 && n <= 100 && n % 16 >= 1 && n % 16 <= 4 && row_len(k, n) * 4 > 32 * 1024
}

/// Where the main part starts: after the row layout, rounded up to a whole
/// line (16 floats).
const fn main_start(k: usize, n: usize) -> usize {
    row_len(k, n).div_ceil(16) * 16
}

/// Elements of B prepared by [`prepare`]: step 10's row layout, then, for
/// a B that [`splits`], the main part and the tail.
pub const fn prepared_len(k: usize, n: usize) -> usize {
    if splits(k, n) {
        main_start(k, n) + k * (n - n % 16) + k * tail_width(n)
    } else {
        row_len(k, n)
    }
}

/// Copies B (`k×n`) into the row layout ([`super::avx2_row::prepare`]) and,
/// where it [`splits`], into the main part and the tail (zero-padded).
///
/// # Panics
/// If `b.len() != k * n` or `out.len() != prepared_len(k, n)`.
pub fn prepare(k: usize, n: usize, b: &[f32], out: &mut [f32]) {
    assert_eq!(b.len(), k * n, "B must be k×n = {k}×{n}");
    assert_eq!(out.len(), prepared_len(k, n), "prepared B length");
    let (rows, rest) = out.split_at_mut(row_len(k, n));
    super::avx2_row::prepare(k, n, b, rows);
    if !splits(k, n) {
        return;
    }
    let (n_main, tw) = (n - n % 16, tail_width(n));
    let (gap, rest) = rest.split_at_mut(main_start(k, n) - row_len(k, n));
    gap.fill(0.0);
    let (main, tail) = rest.split_at_mut(k * n_main);
    for p in 0..k {
        let row = &b[p * n..(p + 1) * n];
        main[p * n_main..(p + 1) * n_main].copy_from_slice(&row[..n_main]);
        let t = &mut tail[p * tw..(p + 1) * tw];
        t.fill(0.0);
        t[..n - n_main].copy_from_slice(&row[n_main..]);
    }
}

/// `C = act(A·B + bias)`: step 10 on the row layout.
///
/// # Panics
/// If a slice length does not match its shape, or the CPU lacks AVX2/FMA.
#[allow(clippy::too_many_arguments)]
pub fn dense(m: usize, k: usize, n: usize, a: &[f32], b: &[f32], bias: &[f32], act: Activation, c: &mut [f32]) {
    assert_eq!(b.len(), prepared_len(k, n), "prepared B length");
    super::avx2::dense(m, k, n, a, &b[..row_len(k, n)], bias, act, c)
}

/// `C = A·B`: step 10 on the row layout.
///
/// # Panics
/// As [`dense`].
pub fn matmul(m: usize, k: usize, n: usize, a: &[f32], b: &[f32], c: &mut [f32]) {
    assert_eq!(b.len(), prepared_len(k, n), "prepared B length");
    super::avx2::matmul(m, k, n, a, &b[..row_len(k, n)], c)
}

/// `C = act(X·B + bias)` for a batch of u8 pixels `X` (`m×k`) read as
/// `p / 255`: for a B that [`splits`], each row of C through the
/// zero-skipping row on the main part and the tail; otherwise step 10's
/// [`super::avx2::dense_pixels`]. Equal to step 10's result bit for bit.
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
    assert_eq!(b.len(), prepared_len(k, n), "prepared B length");
    if !splits(k, n) {
        return super::avx2::dense_pixels(m, k, n, pixels, b, bias, act, c);
    }
    assert_eq!(pixels.len(), m * k, "X must be m×k = {m}×{k}");
    assert_eq!(c.len(), m * n, "C must be m×n = {m}×{n}");
    assert_eq!(bias.len(), n, "bias must have n = {n} elements");
    assert!(super::avx2::is_available(), "the avx2-lines kernel needs a CPU with AVX2 and FMA");
    let (main, tail) = parts(k, n, b);
    #[cfg(target_arch = "x86_64")]
    // SAFETY: AVX2 and FMA are present; the slices hold m·k pixels, k rows
    // of the main part and of the tail, m·n outputs and n biases (checked
    // above), and 32 < n ≤ 100 with a tail of 1 to 4 columns (`splits`).
    unsafe {
        x86::rows(m, k, n, pixels, main, tail, bias, act, c)
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = (main, tail, act);
}

/// The main part and the tail of a prepared B that [`splits`].
pub(super) fn parts(k: usize, n: usize, b: &[f32]) -> (&[f32], &[f32]) {
    b[main_start(k, n)..].split_at(k * (n - n % 16))
}

#[cfg(target_arch = "x86_64")]
pub(super) mod x86 {
    use core::arch::x86_64::*;

    use crate::activation::Activation;
    use crate::kernels::avx2_fused::x86::epilogue_all;
    use crate::kernels::avx2_row::x86::{store, tail_mask};
    use crate::kernels::avx2_sparse::x86::{nonzero_pixels, Indices};
    use crate::kernels::params::{KC_ROWS, LANES};

    /// Every row of pixels through [`row`], its main part `V` vectors and
    /// its tail `TW` columns wide.
    ///
    /// Safety: AVX2, FMA and POPCNT present; `pixels`, `main`, `tail`, `c`, `bias`
    /// hold `m·k`, `k·n_main`, `k·TW`, `m·n` and `n` elements; 32 < n ≤ 100
    /// with a tail of 1 to 4 columns.
    #[target_feature(enable = "avx2,fma,popcnt")]
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
        by_vectors!(n, each_row(m, k, n, pixels, main, tail, bias, act, c))
    }

    /// `$f::<V, TW>(args)` for a B of `n` columns that `splits`: `V`
    /// 256-bit vectors of the main part (4, 6, 8, 10 or 12: n from 33 to
    /// 100) and a tail of `TW` columns, then the one generic argument
    /// given, if any; for steps 12, 22 and 26.
    macro_rules! by_vectors {
        ($n:expr, $f:ident $(::<$s:ident>)? ($($arg:expr),*)) => {
            match (($n - $n % 16) / $crate::kernels::params::LANES, $crate::kernels::avx2_lines::tail_width($n)) {
                (4, 2) => $f::<4, 2 $(, $s)?>($($arg),*),
                (4, _) => $f::<4, 4 $(, $s)?>($($arg),*),
                (6, 2) => $f::<6, 2 $(, $s)?>($($arg),*),
                (6, _) => $f::<6, 4 $(, $s)?>($($arg),*),
                (8, 2) => $f::<8, 2 $(, $s)?>($($arg),*),
                (8, _) => $f::<8, 4 $(, $s)?>($($arg),*),
                (10, 2) => $f::<10, 2 $(, $s)?>($($arg),*),
                (10, _) => $f::<10, 4 $(, $s)?>($($arg),*),
                (12, 2) => $f::<12, 2 $(, $s)?>($($arg),*),
                (12, _) => $f::<12, 4 $(, $s)?>($($arg),*),
                _ => unreachable!("splits() admits 32 < n <= 100 only"),
            }
        };
    }
    pub(in crate::kernels) use by_vectors;

    /// LOOP 2: one row of pixels and of C at a time.
    #[inline(always)]
    #[allow(clippy::too_many_arguments)]
    unsafe fn each_row<const V: usize, const TW: usize>(
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
            row::<V, TW>(x, main, tail, n, bias, act, &mut c[i * n..(i + 1) * n], &mut idx);
        }
    }

    /// One row of C: the non-zero pixels gathered `KC_ROWS` at a time
    /// (step 6), then for each `a[p] · B[p]` on `V` vectors of the main part
    /// and the `TW` columns of the tail, the sums in registers throughout;
    /// then the epilogue in registers (step 7) and a store.
    ///
    /// Safety: as [`rows`], for one row.
    #[inline(always)]
    #[allow(clippy::too_many_arguments)]
    pub unsafe fn row<const V: usize, const TW: usize>(
        x: &[u8],
        main: &[f32],
        tail: &[f32],
        n: usize,
        bias: &[f32],
        act: Activation,
        c_row: &mut [f32],
        idx: &mut Indices,
    ) {
        let n_main = V * LANES;
        let rows = |p: usize| (main.as_ptr().add(p * n_main), tail.as_ptr().add(p * TW));
        row_at::<V, TW>(x, &rows, n, bias, act, c_row, idx)
    }

    /// [`row`] with each pixel's row of B (its main part and its tail)
    /// where `rows(p)` says (step 22 reads another copy).
    ///
    /// Safety: as [`rows`], for one row; `rows(p)` gives `V` vectors and
    /// `TW` floats for every `p < x.len()`.
    #[inline(always)]
    #[allow(clippy::too_many_arguments)]
    pub unsafe fn row_at<const V: usize, const TW: usize>(
        x: &[u8],
        rows: &impl Fn(usize) -> (*const f32, *const f32),
        n: usize,
        bias: &[f32],
        act: Activation,
        c_row: &mut [f32],
        idx: &mut Indices,
    ) {
        let n_main = V * LANES;
        let tail_cols = tail_mask(n - n_main);
        let k = x.len();
        let (mut acc, mut acc_t) = ([_mm256_setzero_ps(); V], _mm_setzero_ps());
        let mut p0 = 0;
        // LOOP 1: pieces of KC_ROWS inputs (one for W1's 784)
        loop {
            let p1 = k.min(p0 + KC_ROWS);
            let nnz = nonzero_pixels(&x[p0..p1], idx);
            (acc, acc_t) = sums::<V, TW>(x, p0, rows, idx.first(nnz), acc, acc_t);
            if p1 == k {
                break;
            }
            p0 = p1;
        }
        // the epilogue on the main vectors and the tail, as step 7's on its
        // row of V + 1 vectors
        let mut s = [_mm256_setzero_ps(); 13];
        s[..V].copy_from_slice(&acc);
        s[V] = _mm256_insertf128_ps::<0>(_mm256_setzero_ps(), acc_t);
        let mut masks = [_mm256_set1_epi32(-1); 13];
        masks[V] = tail_cols;
        epilogue_all(&mut s[..V + 1], Some(bias), 0, &masks[..V + 1], act);
        for (v, s_v) in s[..V].iter().enumerate() {
            _mm256_storeu_ps(c_row.as_mut_ptr().add(v * LANES), *s_v);
        }
        store(c_row.as_mut_ptr().add(n_main), s[V], false, tail_cols);
    }

    /// LOOP 0: `acc` and `acc_t` plus `a[p] · B[p]` for the non-zero `p` of
    /// a piece (`p0` plus each of `ps`): `V` vectors of the main part, the
    /// tail's `TW` columns. (A function of its own, so that the register
    /// allocator sees only the loop's live vectors: written inline, LLVM
    /// kept some of the sums on the stack for the wider rows.)
    ///
    /// Safety: as [`rows`]; each `p0 + p` indexes `x` and a row of the main
    /// part and of the tail.
    #[inline(always)]
    unsafe fn sums<const V: usize, const TW: usize>(
        x: &[u8],
        p0: usize,
        rows: &impl Fn(usize) -> (*const f32, *const f32),
        ps: &[u32],
        mut acc: [__m256; V],
        mut acc_t: __m128,
    ) -> ([__m256; V], __m128) {
        let values = &crate::pixels::VALUES;
        for &q in ps {
            let p = p0 + q as usize;
            let av = _mm256_set1_ps(*values.get_unchecked(*x.get_unchecked(p) as usize));
            let (b_row, t_row) = rows(p);
            for (v, acc_v) in acc.iter_mut().enumerate() {
                *acc_v = _mm256_fmadd_ps(av, _mm256_loadu_ps(b_row.add(v * LANES)), *acc_v);
            }
            let b_t = if TW == 2 { _mm_castpd_ps(_mm_load_sd(t_row as *const f64)) } else { _mm_loadu_ps(t_row) };
            acc_t = _mm_fmadd_ps(_mm256_castps256_ps128(av), b_t, acc_t);
        }
        (acc, acc_t)
    }
}
