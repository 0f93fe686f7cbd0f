//! Step 18: step 17 with batch 1's layers checked once a forward pass.
//!
//! What changed from step 17 (avx512-rows): not the sums, the calls. At
//! batch 1 an image costs about 850 ns here, and each of the three layer
//! calls spent part of it before and after its sums, on work that does
//! not depend on the image:
//!
//! - the checks of every slice length against its shape and of the CPU's
//!   features (AVX-512F, AVX2, FMA, POPCNT), again in each layer;
//! - the scan of a hidden layer's input for mostly-zero rows (step 10's
//!   test for the union tiles), which at batch 1 reads the whole input to
//!   choose between paths only batches of 6 or more rows can take;
//! - the way from the public function to step 17's rows, through step
//!   15's dispatch and a closure.
//!
//! Here [`crate::network::Network`] checks all of that once a pass and
//! calls the rows of steps 16 and 17 straight
//! ([`dense_pixels_unchecked`], [`dense_unchecked`]), where every layer is
//! on this step, the batch is below a tile of rows (`m < MR_FMA`, batch 1
//! to 5), the input is u8 pixels and the hidden activation is sigmoid. A
//! sigmoid's output is never 0 (its input is clamped to ±88 first, so the
//! smallest is about 6e-39), so the scan it skips always finds a hidden
//! layer's input dense and sends it to the rows these calls reach. The
//! layer calls themselves ([`dense`], [`dense_pixels`], [`matmul`]) are
//! step 17's, checks and all.
//!
//! The same sums bit for bit: the same rows of steps 16 and 17 on the
//! same inputs, so the logits equal step 17's (`tests/network.rs`, batches
//! of 1 to 8, with sigmoid and with ReLU, and each layer alone) and those
//! of converting the pixels to floats first (`infer`'s
//! `tests/accuracy.rs`, all 10,000 images in batches of 1, 3, 7, 100 and
//! 10,000).
//!
//! Loop order (BLIS names): as step 17 (i, the row's non-zero p for the
//! pixels; i, p, the row's vectors for the hidden layers).
//!
//! Measured on AMD Zen 4 (family 25 model 17, 2026-12-07). Why: in a
//! probe of batch 1 (not kept) W2, W3 and the argmax took 290 ns an image
//! through step 17's calls and 193 ns written as one function with the
//! same loops; in a loop of calls on weights in L1, step 17's W2 call
//! took 196–212 ns against 130–147 ns for its loop alone, and a call with
//! no rows (m = 0) 21.7 ns. This step in the network (`infer sweep
//! --batch-sizes 1,100 --kernel avx512-rows,avx512-chain --repeat 11`,
//! five runs, medians of the per-round ratios): 1.11×, 1.12×, 1.13×,
//! 1.15× and, an hour later in a slow state of the VM, 1.08× step 17 at
//! batch 1 (per round 1.02–1.44), 0.99–1.01× at batch 100, where it is
//! not used. `--breakdown`, ns an image at batch 1 in
//! two processes a minute apart, step 17 then this step: W1 497 → 478,
//! W2 293 → 266, W3 131 → 103. Not yet measured on an Intel CPU.
//! [`crate::kernels::Kernel::best`] times it in step 17's place (on the
//! first layer, which the choice times, the two are the same code).
//! Tables: docs/matmul.md.

use crate::activation::Activation;

pub use super::avx512_rows::{dense, dense_pixels, matmul, prepare, prepared_len, N_MAX};

/// Batches of fewer rows than this (a register tile of step 10) take this
/// step's path through the network.
pub const M_CHAIN: usize = super::params::MR_FMA;

/// Whether a first layer of `k` pixel inputs and `n` outputs can go
/// through [`dense_pixels_unchecked`]: one whose B is split as step 12
/// splits W1 (784×50).
pub const fn takes_pixels(k: usize, n: usize) -> bool {
    super::avx2_lines::splits(k, n)
}

/// Whether a layer of `n` outputs fits [`dense_unchecked`]'s rows: at most
/// [`N_MAX`] columns.
pub const fn takes(n: usize) -> bool {
    n <= N_MAX
}

/// `C = act(X·B + bias)` for `m` rows of u8 pixels read as `p / 255`: step
/// 16's rows of pixels, with none of [`dense_pixels`]' checks.
///
/// # Safety
/// The CPU has AVX-512F, AVX2, FMA and POPCNT
/// ([`super::avx512::is_available`]); [`takes_pixels`]`(k, n)`; `pixels`,
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
    super::avx512_prefetch::x86::rows(m, k, n, pixels, main, tail, bias, act, c)
}

/// `C = act(A·B + bias)` for `m` rows of floats, each through step 17's
/// 512-bit row, with none of [`dense`]'s checks and no scan for
/// mostly-zero rows.
///
/// # Safety
/// The CPU has AVX-512F, AVX2 and FMA; [`takes`]`(n)`; `a`, `b`, `bias`
/// and `c` hold `m·k`, [`prepared_len`]`(k, n)`, `n` and `m·n` elements.
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
    super::avx512_rows::x86::rows(m, k, n, a, b, Some(bias), act, c)
}
