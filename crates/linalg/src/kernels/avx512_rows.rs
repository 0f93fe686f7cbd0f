//! Step 17: step 16 with batch 1's hidden layers on 512-bit rows.
//!
//! What changed from step 16 (avx512-prefetch): the rows of floats that
//! step 10's `6 × 16` tiles leave over (`m % 6` rows: at batch 1 every
//! row of W2 and W3) no longer go through step 5's row micro-kernel. That
//! kernel is written for any width: a row of C in up to 13 ymm vectors,
//! their masks worked out at each call, a store masked or not chosen per
//! vector, and a loop over `p` whose every term goes through its
//! `Inputs`/`Values` indirection. Here a row of C is `V` zmm vectors (`n ≤
//! 16V`, the last one masked on the columns before `n`), `V` and the
//! number of accumulator sets `U` are constants of the instantiation, and
//! the bias and the sigmoid run on the 16-lane vectors as step 15's
//! tiles do (its 16-lane sigmoid).
//!
//! For W2 (50×100) a row is 7 zmm vectors, for W3 (100×10) one, 10 lanes
//! of it, with four sets of accumulators over alternating `p` so that four
//! FMA chains hide each other's latency. The count of instructions per
//! image (callgrind on a probe): W2 about 1,630 in step 5's kernel without
//! the epilogue against 960 in a row written for its width; W3 about
//! 1,050 against 500.
//!
//! The same sums bit for bit: `U` is step 5's for the same width (8, 4, 3,
//! 2 sets for 1, 2, 3, 4 ymm vectors, else 1), each set takes the same
//! `p` in the same order, the sets are added in the same order, and each
//! lane of a zmm FMA rounds as a lane of a ymm FMA does; then step 7's
//! bias and sigmoid, the same operations on every lane. So C equals step
//! 10's (`tests/kernels.rs`). Wider rows (`n > 104`, none in the book)
//! stay on step 5's kernel, cut into its column blocks.
//!
//! Everything else is step 16's: W1's rows of pixels, the register tiles
//! of 6 rows at batch 6 and more, float inputs that are mostly zero.
//!
//! Loop order (BLIS names): i (one row), p (every input, `U` at a time),
//! the row's `V` vectors.
//!
//! Measured on AMD Zen 4 (family 25 model 17, 2026-12-03, in a slow state
//! of the VM): in a probe of batch 1 (W1 through step 16, in-process
//! rounds, weights on 64-byte lines), W2 and W3 written this way took the
//! pair from 469 to 266 ns an image and the whole network 1.15× and 1.24×
//! faster (two runs). This
//! step in the network (`infer sweep --batch-sizes 1,100 --kernel
//! avx512-prefetch,avx512-rows --repeat 11`, two runs, medians of the
//! per-round ratios): 1.11× and 1.12× step 16 at batch 1 (per round
//! 0.91–1.27), 0.99× and 1.02× at batch 100, where only the 4 rows after
//! the 16 tiles of 6 change. [`crate::kernels::Kernel::best`] times it in
//! step 16's place. Not yet measured on an Intel CPU. Tables:
//! docs/matmul.md.

use crate::activation::Activation;

pub use super::avx512_epilogue::{prepare, prepared_len};
pub use super::avx512_prefetch::dense_pixels;

/// The widest row (in columns) that one instantiation holds: step 5's
/// `VMAX` vectors of 8, so that `U` is the one step 5 uses for the row.
pub const N_MAX: usize = super::params::VMAX * super::params::LANES;

/// `C = act(A·B + bias)`: step 15's register tiles for whole groups of 6
/// dense rows, then the rows left over on 512-bit vectors (for `n ≤`
/// [`N_MAX`]; wider, step 5's row kernel).
///
/// # Panics
/// If a slice length does not match its shape, or the CPU lacks AVX-512F.
#[allow(clippy::too_many_arguments)]
pub fn dense(m: usize, k: usize, n: usize, a: &[f32], b: &[f32], bias: &[f32], act: Activation, c: &mut [f32]) {
    super::avx512_epilogue::checked_floats(m, k, n, a, b, c, "avx512-rows");
    assert_eq!(bias.len(), n, "bias must have n = {n} elements");
    #[cfg(target_arch = "x86_64")]
    // SAFETY: AVX-512F, AVX2 and FMA are present; the slices hold m·k,
    // k·n_pad (the row layout first), m·n and n elements (checked above).
    unsafe {
        let rest = |m: usize, a: &[f32], c: &mut [f32]| {
            if n <= N_MAX {
                x86::rows(m, k, n, a, b, Some(bias), act, c)
            } else {
                super::avx2_row::x86::rows(m, k, n, a, b, Some((Some(bias), act)), c)
            }
        };
        super::avx512_epilogue::x86::dense(m, k, n, a, b, bias, act, c, &rest)
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = act;
}

/// `C = A·B`: step 10's for whole groups of 6 dense rows and for inputs
/// that are mostly zero, the rows left over as in [`dense`] with no bias
/// and the identity.
///
/// # Panics
/// As [`dense`].
pub fn matmul(m: usize, k: usize, n: usize, a: &[f32], b: &[f32], c: &mut [f32]) {
    super::avx512_epilogue::checked_floats(m, k, n, a, b, c, "avx512-rows");
    #[cfg(target_arch = "x86_64")]
    // SAFETY: AVX-512F, AVX2 and FMA are present; the slices hold m·k,
    // k·n_pad (the row layout first) and m·n elements (checked above).
    unsafe {
        if n > N_MAX || super::avx2::x86::mostly_zero(a, k) {
            return super::avx512_epilogue::matmul(m, k, n, a, b, c);
        }
        let tile_rows = m - m % super::params::MR_FMA;
        let (a_tiles, a_rest) = a.split_at(tile_rows * k);
        let (c_tiles, c_rest) = c.split_at_mut(tile_rows * n);
        super::avx512_epilogue::matmul(tile_rows, k, n, a_tiles, b, c_tiles);
        x86::rows(m - tile_rows, k, n, a_rest, b, None, Activation::Identity, c_rest)
    }
}

#[cfg(target_arch = "x86_64")]
pub(super) mod x86 {
    use core::arch::x86_64::*;

    use crate::activation::Activation;
    use crate::kernels::avx2_row::padded;
    use crate::kernels::avx512::LANES_512;
    use crate::kernels::avx512_epilogue::x86::{relu, sigmoid};
    use crate::kernels::params::LANES;

    /// Every row of C through [`row`], `V` zmm vectors wide with step 5's
    /// `U` sets of accumulators for the width.
    ///
    /// Safety: AVX-512F present; `a`, `b`, `c` and the bias (if any) hold
    /// `m·k`, `k·n_pad`, `m·n` and `n` elements; `n ≤ N_MAX`.
    #[target_feature(enable = "avx512f,avx2,fma")]
    #[allow(clippy::too_many_arguments)]
    pub unsafe fn rows(
        m: usize,
        k: usize,
        n: usize,
        a: &[f32],
        b: &[f32],
        bias: Option<&[f32]>,
        act: Activation,
        c: &mut [f32],
    ) {
        // (V zmm, U sets): U as step 5's for ⌈n/8⌉ ymm vectors
        match n.div_ceil(LANES) {
            0 => {}
            1 => each_row::<1, 8>(m, k, n, a, b, bias, act, c),
            2 => each_row::<1, 4>(m, k, n, a, b, bias, act, c),
            3 => each_row::<2, 3>(m, k, n, a, b, bias, act, c),
            4 => each_row::<2, 2>(m, k, n, a, b, bias, act, c),
            5 | 6 => each_row::<3, 1>(m, k, n, a, b, bias, act, c),
            7 | 8 => each_row::<4, 1>(m, k, n, a, b, bias, act, c),
            9 | 10 => each_row::<5, 1>(m, k, n, a, b, bias, act, c),
            11 | 12 => each_row::<6, 1>(m, k, n, a, b, bias, act, c),
            13 => each_row::<7, 1>(m, k, n, a, b, bias, act, c),
            _ => unreachable!("rows take at most N_MAX columns"),
        }
    }

    /// LOOP 2: one row of A and C at a time.
    #[inline(always)]
    #[allow(clippy::too_many_arguments)]
    unsafe fn each_row<const V: usize, const U: usize>(
        m: usize,
        k: usize,
        n: usize,
        a: &[f32],
        b: &[f32],
        bias: Option<&[f32]>,
        act: Activation,
        c: &mut [f32],
    ) {
        for i in 0..m {
            row::<V, U>(&a[i * k..(i + 1) * k], b, n, bias, act, &mut c[i * n..(i + 1) * n]);
        }
    }

    /// One row of C: `U` sets of `V` accumulators, set `u` taking the
    /// terms `p ≡ u (mod U)` of the whole groups of `U` and set 0 the rest
    /// (step 5's order), the sets added in order, then the bias (if any),
    /// `act` and the stores, the last vector masked to the columns before
    /// `n`.
    ///
    /// Safety: as [`rows`], for one row of `k = a_row.len()` inputs.
    #[inline(always)]
    unsafe fn row<const V: usize, const U: usize>(
        a_row: &[f32],
        b: &[f32],
        n: usize,
        bias: Option<&[f32]>,
        act: Activation,
        c_row: &mut [f32],
    ) {
        let (k, np) = (a_row.len(), padded(n));
        // the last vector's columns, before n (its loads stay in B's row)
        let last: __mmask16 = ((1u32 << (n - (V - 1) * LANES_512)) - 1) as __mmask16;
        let mut acc = [[_mm512_setzero_ps(); V]; U];
        // LOOP 1: U inputs at a time, one into each set; LOOP 0: the vectors
        let mut p = 0;
        while p + U <= k {
            for (u, acc_u) in acc.iter_mut().enumerate() {
                fma_row::<V>(acc_u, *a_row.get_unchecked(p + u), b.as_ptr().add((p + u) * np), last);
            }
            p += U;
        }
        while p < k {
            fma_row::<V>(&mut acc[0], *a_row.get_unchecked(p), b.as_ptr().add(p * np), last);
            p += 1;
        }
        let mut s = acc[0];
        for acc_u in &acc[1..] {
            for (s_v, acc_uv) in s.iter_mut().zip(acc_u) {
                *s_v = _mm512_add_ps(*s_v, *acc_uv);
            }
        }
        if let Some(bias) = bias {
            for (v, s_v) in s.iter_mut().enumerate() {
                let mask = if v + 1 == V { last } else { !0 };
                *s_v = _mm512_add_ps(*s_v, _mm512_maskz_loadu_ps(mask, bias.as_ptr().add(v * LANES_512)));
            }
        }
        match act {
            Activation::Sigmoid => sigmoid(&mut s),
            Activation::Relu => relu(&mut s),
            Activation::Identity => {}
        }
        for (v, s_v) in s[..V - 1].iter().enumerate() {
            _mm512_storeu_ps(c_row.as_mut_ptr().add(v * LANES_512), *s_v);
        }
        _mm512_mask_storeu_ps(c_row.as_mut_ptr().add((V - 1) * LANES_512), last, s[V - 1]);
    }

    /// `acc[v] += a · B[p][16v..16v+16]` for the `V` vectors of one row of
    /// B, the last load masked to `last`.
    #[inline(always)]
    unsafe fn fma_row<const V: usize>(acc: &mut [__m512; V], a: f32, b_row: *const f32, last: __mmask16) {
        let av = _mm512_set1_ps(a);
        for (v, acc_v) in acc[..V - 1].iter_mut().enumerate() {
            *acc_v = _mm512_fmadd_ps(av, _mm512_loadu_ps(b_row.add(v * LANES_512)), *acc_v);
        }
        let b_last = _mm512_maskz_loadu_ps(last, b_row.add((V - 1) * LANES_512));
        acc[V - 1] = _mm512_fmadd_ps(av, b_last, acc[V - 1]);
    }
}
