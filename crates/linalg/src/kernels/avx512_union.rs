//! Step 24: step 23 with a batch's W1 in 512-bit register tiles over the
//! union of 6 images' non-zero pixels.
//!
//! What changed from step 23 (avx512-pass): W1 from the pixels at batch 6
//! and more. Since step 14 each image walks its own non-zero pixels and
//! loads the row of W1 each one selects: about 150 rows of three lines
//! an image, each row's 48 + 2 columns feeding that image's 3 + 1 FMAs.
//! Here a group of 6 images (`MR_FMA`, step 4's tile height) walks the
//! bits of the OR of its six 64-pixel masks (step 20's walk on the union),
//! loads each row of W1 the union selects once, and adds it to the six
//! images' sums: 6 × 3 zmm accumulators and 6 of 128 bits for the tail,
//! 24 FMAs a loaded row. For the test images a group's union holds about
//! 330 pixels against about 150 for one image: 2.2× the FMAs, a sixth of
//! the loads of W1 and of the walk's branches. An image whose pixel is
//! zero adds `0 · w = 0` there, exactly nothing (step 9's argument; for
//! finite weights, which `mnist-data`'s readers insist on), so
//! each image's sums are step 20's, bit for bit, and so is the epilogue
//! (step 15's, one image at a time). The rows after the last whole group,
//! and every pass below 6 images (batch 1), are step 23's.
//!
//! Why build it: the step trades W1's loads for FMAs. On AMD Zen 4, whose
//! 512-bit FMAs run as two 256-bit halves, 24 FMAs take 21 cycles: about
//! 116,000 a batch of 100, 31.6 µs at 3.67 GHz, and W1 measures 34.9 µs
//! (`infer kernels`), FMA-bound at about 90%, where step 23's rows take
//! 26.9. On a core with two 512-bit FMA units (the Intel Xeon this project
//! has run on: an AVX-512 peak of 228 GFLOP/s, twice its AVX2 peak) the
//! same FMAs take 12 cycles: about 19–21 µs a batch at that efficiency,
//! against the 34.9 µs step 10's W1 took there. That is a projection, not
//! a measurement: the step has not run on an Intel CPU.
//!
//! Loop order (BLIS names): ic (`MR_FMA` rows), pieces of 64 p (the six
//! masks OR-ed), the union's p; then each row's epilogue.
//!
//! Working set: W1's plain copy (784 rows of 48 floats and a tail of 2:
//! 157 KB) from L2, about 330 of its rows a group; the group's 6 rows of
//! pixels (4.7 KB); the sums in 24 of the 32 zmm registers (18 vectors
//! and 6 tails), the row of W1 in 4 more.
//!
//! Measured on AMD Zen 4 (family 25 model 17, 2026-12-07; `infer sweep
//! --batch-sizes 1,6,12,100 --kernel avx512-pass,avx512-union`, three
//! runs of 7 to 11 rounds, medians of the per-round ratios): 0.87–0.91×
//! step 23 at batch 100, 0.88–0.90× at batch 12, 0.89–0.94× at batch 6,
//! level at batch 1 (the same code); W1 alone at batch 100 0.77×, in the
//! network 402–406 ns an image against 328–332 (`--breakdown`). So
//! [`crate::kernels::Kernel::best`] does not time it on AMD's family 25
//! (Zen 4's 256-bit halves), and elsewhere takes it where it runs a batch
//! more than 10% faster than step 23: on a CPU with two 512-bit FMA units
//! (`infer sweep --kernel avx512-pass,avx512-union`; `make measure` sweeps
//! it), where it has not run yet. Tables: docs/matmul.md.

use crate::activation::Activation;

pub use super::avx512_colour::{dense, is_available, matmul, prepare, prepared_len};
#[cfg(target_arch = "x86_64")]
pub use super::avx512_colour::{dense_pixels_unchecked, dense_unchecked};
use super::avx512_colour::{plain, takes_pixels};

/// `C = act(X·B + bias)` for a batch of u8 pixels `X` (`m×k`) read as
/// `p / 255`: whole groups of 6 rows in union tiles, the rest through step
/// 20's walk, on the plain copy of B (step 23's prepared buffer), for a B
/// that [`super::avx2_lines::splits`]; otherwise step 12's. Equal to step
/// 10's result bit for bit.
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
    let b = plain(k, n, b);
    if !takes_pixels(k, n) {
        return super::avx2_lines::dense_pixels(m, k, n, pixels, b, bias, act, c);
    }
    let (main, tail) = super::avx512_epilogue::checked_parts(m, k, n, pixels, b, bias, c, "avx512-union");
    assert!(is_available(), "the avx512-union kernel needs a CPU with AVX-512F, AVX-512BW, AVX2, FMA and BMI1");
    #[cfg(target_arch = "x86_64")]
    // SAFETY: AVX-512F/BW, AVX2, FMA, POPCNT and BMI1 are present; the slices
    // hold m·k pixels, k rows of the main part and of the tail, m·n outputs
    // and n biases (checked above), and B splits.
    unsafe {
        x86::rows(m, k, n, pixels, main, tail, bias, act, c)
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = (main, tail, act);
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use core::arch::x86_64::*;

    use crate::activation::Activation;
    use crate::kernels::avx512::LANES_512;
    use crate::kernels::avx512_bits::x86::{nonzero_bits, PIECE};
    use crate::kernels::avx512_epilogue::x86::finish;
    use crate::kernels::avx512_lines::x86::by_parts;
    use crate::kernels::params::MR_FMA;

    /// Whole groups of [`MR_FMA`] rows through [`tiles`], the rest
    /// through step 20's rows.
    ///
    /// Safety: AVX-512F and BW, AVX2, FMA, POPCNT and BMI1 present;
    /// `pixels`, `main`, `tail`, `c`, `bias` hold `m·k`, `k·n_main`,
    /// `k·TW`, `m·n` and `n` elements; 32 < n ≤ 100 with a tail of 1 to 4
    /// columns.
    #[target_feature(enable = "avx512f,avx512bw,avx2,fma,popcnt,bmi1")]
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
        let tile_rows = m - m % MR_FMA;
        let (tile_pixels, rest_pixels) = pixels.split_at(tile_rows * k);
        let (tile_c, rest_c) = c.split_at_mut(tile_rows * n);
        if tile_rows > 0 {
            by_parts!(n, tiles(tile_rows, k, n, tile_pixels, main, tail, bias, act, tile_c));
        }
        crate::kernels::avx512_bits::x86::rows(m - tile_rows, k, n, rest_pixels, main, tail, bias, act, rest_c)
    }

    /// LOOP 3: groups of [`MR_FMA`] rows (`m` a multiple of it); LOOP 2:
    /// pieces of 64 pixels, the group's six masks OR-ed; LOOP 1: the
    /// union's pixels, lowest first, each row of B loaded once and added
    /// to every row of the group (`0 · w` where that row's pixel is 0);
    /// then each row's epilogue ([`finish`]).
    ///
    /// Safety: as [`rows`], with `m % MR_FMA == 0`.
    #[inline(always)]
    #[allow(clippy::too_many_arguments)]
    unsafe fn tiles<const W: usize, const TW: usize>(
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
        let n_main = W * LANES_512;
        for i0 in (0..m).step_by(MR_FMA) {
            let x: [&[u8]; MR_FMA] = core::array::from_fn(|r| &pixels[(i0 + r) * k..(i0 + r + 1) * k]);
            let mut acc = [[_mm512_setzero_ps(); W]; MR_FMA];
            let mut acc_t = [_mm_setzero_ps(); MR_FMA];
            for p0 in (0..k).step_by(PIECE) {
                let mut union = 0u64;
                for x_r in &x {
                    union |= nonzero_bits(x_r, p0);
                }
                while union != 0 {
                    let p = p0 + union.trailing_zeros() as usize;
                    union &= union - 1;
                    let (b_row, t_row) = (main.as_ptr().add(p * n_main), tail.as_ptr().add(p * TW));
                    let b: [__m512; W] = core::array::from_fn(|v| _mm512_loadu_ps(b_row.add(v * LANES_512)));
                    let b_t =
                        if TW == 2 { _mm_castpd_ps(_mm_load_sd(t_row as *const f64)) } else { _mm_loadu_ps(t_row) };
                    for r in 0..MR_FMA {
                        let a = *crate::pixels::VALUES.get_unchecked(*x[r].get_unchecked(p) as usize);
                        let av = _mm512_set1_ps(a);
                        for v in 0..W {
                            acc[r][v] = _mm512_fmadd_ps(av, b[v], acc[r][v]);
                        }
                        acc_t[r] = _mm_fmadd_ps(_mm_set1_ps(a), b_t, acc_t[r]);
                    }
                }
            }
            for r in 0..MR_FMA {
                finish::<W, TW>(acc[r], acc_t[r], n, bias, act, &mut c[(i0 + r) * n..(i0 + r + 1) * n]);
            }
        }
    }
}
