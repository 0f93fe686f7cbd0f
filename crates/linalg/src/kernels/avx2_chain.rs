//! Step 19: step 18's idea on AVX2: step 13 with batch 1's layers checked
//! once a forward pass.
//!
//! What changed from step 13 (avx2-pairs): not the sums, the calls, as
//! step 18 changed them for step 17 on AVX-512 CPUs. Below a tile of rows
//! (`m < MR_FMA`, batch 1 to 5), with u8 pixels in and sigmoid between
//! the layers, [`crate::network::Network`] checks the shapes and the CPU
//! once a pass and calls step 13's rows of pixels (pairs of images, an
//! odd last one through step 12's row) and step 5's rows for the hidden
//! layers straight ([`dense_pixels_unchecked`], [`dense_unchecked`]):
//! no per-layer checks, no scan of a sigmoid's output for zeros (it has
//! none), no way through step 10's dispatch. The layer calls themselves
//! ([`dense`], [`dense_pixels`], [`matmul`]) are step 13's. It is for CPUs
//! without AVX-512 (AMD Zen 3), where [`crate::kernels::Kernel::best`]
//! puts it in step 13's place; elsewhere step 18 runs the same path on
//! AVX-512.
//!
//! The same sums bit for bit: below 6 rows step 13's layer calls reach
//! these rows too, so the logits equal step 13's (`tests/network.rs`,
//! batches of 1 to 8, with sigmoid and with ReLU, and each layer alone)
//! and those of converting the pixels to floats first (`infer`'s
//! `tests/accuracy.rs`).
//!
//! Loop order (BLIS names): as step 13 (pairs of i, the union of their
//! non-zero p) for the pixels, step 5's (i, the row's column blocks, p)
//! for the hidden layers.
//!
//! Measured on AMD Zen 4 (family 25 model 17, 2026-12-07), the AVX2 code
//! on a CPU that runs step 18 instead (`infer sweep --batch-sizes 1,100
//! --kernel avx2-pairs,avx2-chain --repeat 11`, five runs, medians of the
//! per-round ratios): 1.03×, 1.07×, 1.08×, 1.07× and 1.04× step 13 at
//! batch 1 (per round 0.88–1.30), 0.99–1.01× at batch 100, where it is
//! not used; less than step 18 gains over step 17 (1.08–1.15×), whose
//! per-layer way to its rows was longer. Not yet measured on an AVX2-only
//! CPU (AMD Zen 3), the one it is for. Tables: docs/matmul.md.

use crate::activation::Activation;

pub use super::avx2_pairs::{dense, dense_pixels, matmul, prepare, prepared_len};
/// Step 18's bounds: the batches below a tile of rows, and a first layer
/// split as step 12 splits W1, which step 13's rows of pixels take too.
pub use super::avx512_chain::{takes_pixels, M_CHAIN};

/// `C = act(X·B + bias)` for `m` rows of u8 pixels read as `p / 255`:
/// step 13's rows (in pairs where its B allows them, else step 12's), with
/// none of [`dense_pixels`]' checks.
///
/// # Safety
/// The CPU has AVX2, FMA and POPCNT ([`super::avx2::is_available`]);
/// [`takes_pixels`]`(k, n)`; `pixels`, `b`, `bias` and `c` hold `m·k`,
/// [`prepared_len`]`(k, n)`, `n` and `m·n` elements.
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
    if m < 2 || !super::avx2_pairs::in_pairs(k, n) {
        super::avx2_lines::x86::rows(m, k, n, pixels, main, tail, bias, act, c)
    } else if n - n % 16 == 32 {
        super::avx2_pairs::x86::rows::<4>(m, k, n, pixels, main, tail, bias, act, c)
    } else {
        super::avx2_pairs::x86::rows::<6>(m, k, n, pixels, main, tail, bias, act, c)
    }
}

/// `C = act(A·B + bias)` for `m` rows of floats, each through step 5's
/// row with step 7's epilogue, with none of [`dense`]'s checks and no scan
/// for mostly-zero rows.
///
/// # Safety
/// The CPU has AVX2 and FMA; `a`, `b`, `bias` and `c` hold `m·k`,
/// [`prepared_len`]`(k, n)`, `n` and `m·n` elements.
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
    super::avx2_row::x86::rows(m, k, n, a, b, Some((Some(bias), act)), c)
}
