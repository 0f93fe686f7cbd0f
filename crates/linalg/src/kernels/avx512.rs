//! Step 11: step 10 with AVX-512: sixteen lanes, masked edges.
//!
//! What changed from step 10 (avx2):
//!
//! - **512-bit vectors.** One `vfmadd231ps zmm` does 16 multiply-adds where
//!   step 10 does 8. In the tiles, for whole groups of `MR_FMA = 6` rows of
//!   floats, a 6-row tile holds `6 × 4` vectors of C: 64
//!   columns, so W1 (n = 50) is one column block instead of four, and each
//!   index of the union costs 4 loads of B and 6 broadcasts of A instead of
//!   7 and 24. W2 (n = 100) is two blocks (4 + 3 vectors), W3 (n = 10) one.
//!   Registers: 24 accumulators, 4 of B, 1 of A, of the 32.
//! - **Masked edges.** The last vector of a row of B is read with a
//!   lane mask (`vmovups zmm{k}{z}`), so B keeps step 5's row layout,
//!   padded to 8 columns, and the same prepared weights serve steps 5 to 11:
//!   [`crate::kernels::Kernel::best`] can choose between them at run time.
//! - **The same sums.** Each lane of C adds the same products in the same
//!   order as step 9's union tiles (mostly-zero floats) or step 10's dense
//!   tiles (the hidden layers), and the epilogue is step 7's 8-lane code
//!   on each half of the vector: for whole groups of 6 rows the results
//!   equal step 10's bit for bit (`tests/kernels.rs` checks this where the
//!   CPU has AVX-512).
//! - **Rows of pixels.** u8 pixels into rows of C wider than 32 columns
//!   (W1) go, at every batch size, through step 7's zero-skipping row with
//!   16-lane vectors ([`dense_pixels`]): W1's 50 columns in 4 accumulators,
//!   so each non-zero pixel of an image costs 4 loads of B and 4 FMAs,
//!   where step 10's row costs 7 and 7 and the tiles above 24 FMAs per
//!   index of the union of 6 images' pixels, most of them on zeros. Step 10
//!   chose rows over union tiles for the pixels on AVX2, where they
//!   measured the same on W1 and saved the conversion pass. The same sums
//!   as step 7's rows, bit for bit.
//!
//! The float rows left over after the groups of 6 (batch 1 is all left
//! over) go through step 10 unchanged.
//!
//! Zen 4 executes a 512-bit FMA as two 256-bit halves, so there this step
//! saves instructions (loads, broadcasts, loop overhead) but not FMA
//! cycles; on Intel's server cores (two 512-bit FMA units) it doubles the
//! peak. Which step is faster is measured at run time, not assumed:
//! [`crate::kernels::Kernel::best`].
//!
//! Loop order (BLIS names): ic (MR_FMA rows), pieces of `KC_SPARSE` p,
//! column blocks of up to 4 vectors, the union's (or every) p; rows of
//! pixels: i (one row), pieces of `KC_ROWS` p, column blocks of up to 4
//! vectors, the row's non-zero p.
//!
//! Checked: kernel tests against the naive oracle and against step 10, and
//! the predictions on all 10,000 test images, on an Intel Xeon with
//! AVX-512 and on emulated ones (`make test-avx512`).
//!
//! Measured on that Xeon (family 6 model 167 under KVM, two 512-bit FMA
//! units; `infer sweep --kernel avx2,avx512`, 2026-12-02): 0.74× step 10
//! on the whole network at batch 1 and at batch 100, so there
//! `Kernel::best` keeps step 10. Its W1 rows are 56 floats, so every
//! other row's 512-bit loads span two cache lines; and in the network
//! its 512-bit layers and the AVX2 code beside them ran slower than alone.
//! (Step 14 reads W1's pixels rows with 512-bit loads on step 12's whole
//! lines. In a later session on the same CPU model, in a slower state of
//! the VM, step 11 measured 0.96–1.01× step 10 at batch 1 and 1.00–1.04×
//! at batch 100, three sweeps.) On AMD Zen 4, whose 512-bit FMAs run as
//! two halves: level with step 10 (2026-12-02: 0.92–1.06× at batch 1,
//! 1.01–1.04× at batch 100), and 0.88–0.92× step 14 at batch 1 and
//! 0.84–0.85× at batch 100 (2026-12-03). Slower than step 14 on both AVX-512 CPUs, so
//! `Kernel::best` no longer times it; it stays as the step that shows
//! what 16 lanes alone buy. Tables and the experiments: docs/matmul.md,
//! docs/performance.md.

use super::avx2_row::check;
use super::params::MR_FMA;
use crate::activation::Activation;

pub use super::avx2_row::{prepare, prepared_len};

/// `f32` lanes per AVX-512 vector.
pub const LANES_512: usize = 16;
/// Vectors of C per row of a tile: 64 columns.
pub const V512: usize = 4;

/// Whether this CPU has AVX-512F (and AVX2 and FMA, for the rows left
/// over): detected at run time with `std`, fixed at compile time without it.
pub fn is_available() -> bool {
    #[cfg(all(target_arch = "x86_64", feature = "std"))]
    {
        std::is_x86_feature_detected!("avx512f") && super::avx2::is_available()
    }
    #[cfg(all(target_arch = "x86_64", not(feature = "std")))]
    {
        cfg!(all(target_feature = "avx512f", target_feature = "avx2", target_feature = "fma"))
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// `C = act(A·B + bias)`. A: `m×k`, B prepared by [`prepare`], C: `m×n`.
///
/// # Panics
/// If a slice length does not match its shape, or the CPU lacks AVX-512F.
#[allow(clippy::too_many_arguments)]
pub fn dense(m: usize, k: usize, n: usize, a: &[f32], b: &[f32], bias: &[f32], act: Activation, c: &mut [f32]) {
    assert_eq!(bias.len(), n, "bias must have n = {n} elements");
    run(m, k, n, a, b, Some(bias), act, c);
}

/// `C = A·B`: the same kernel with no bias and no activation.
///
/// # Panics
/// As [`dense`].
pub fn matmul(m: usize, k: usize, n: usize, a: &[f32], b: &[f32], c: &mut [f32]) {
    run(m, k, n, a, b, None, Activation::Identity, c);
}

/// `C = act(X·B + bias)` for u8 pixels read as `p / 255`, as
/// [`super::avx2::dense_pixels`]: the same result as converting them and
/// calling [`dense`], bit for bit, for mostly-zero images.
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
    assert_eq!(pixels.len(), m * k, "X must be m×k = {m}×{k}");
    assert_eq!(b.len(), prepared_len(k, n), "prepared B length");
    assert_eq!(c.len(), m * n, "C must be m×n = {m}×{n}");
    assert_eq!(bias.len(), n, "bias must have n = {n} elements");
    assert!(is_available(), "the avx512 kernel needs a CPU with AVX-512F, AVX2 and FMA");
    #[cfg(target_arch = "x86_64")]
    // SAFETY: AVX-512F, AVX2 and FMA are present and the slice lengths
    // match the shapes (checked above), which is all x86::rows and
    // x86::tiles rely on.
    unsafe {
        use super::avx2_sparse::x86::Pixels;
        let epilogue = Some((Some(bias), act));
        if super::avx2::pixels_by_rows(n) {
            return x86::rows(m, k, n, Pixels(pixels), b, epilogue, c);
        }
        let tile_rows = m - m % MR_FMA;
        x86::tiles(tile_rows, k, n, x86::Rows::Sparse(Pixels(pixels)), b, epilogue, c);
        let (pixels, c) = (&pixels[tile_rows * k..], &mut c[tile_rows * n..]);
        super::avx2::dense_pixels(m - tile_rows, k, n, pixels, b, bias, act, c);
    }
}

#[allow(clippy::too_many_arguments)]
fn run(m: usize, k: usize, n: usize, a: &[f32], b: &[f32], bias: Option<&[f32]>, act: Activation, c: &mut [f32]) {
    check(m, k, n, a, b, c, "avx512");
    assert!(is_available(), "the avx512 kernel needs a CPU with AVX-512F, AVX2 and FMA");
    let tile_rows = m - m % MR_FMA;
    #[cfg(target_arch = "x86_64")]
    // SAFETY: AVX-512F, AVX2 and FMA are present, and the slice lengths
    // match the shapes (checked above), which is all x86::tiles relies on.
    unsafe {
        let epilogue = match (bias, act) {
            (None, Activation::Identity) => None,
            fused => Some(fused),
        };
        // step 10's test, vectorised, and only where there are tiles to
        // run: at batch 1 the scalar count of 50 or 100 inputs was 45–47 ns
        // of W2's and W3's calls (`infer sweep --breakdown`, Intel Xeon)
        if tile_rows > 0 {
            let rows =
                if super::avx2::x86::mostly_zero(a, k) { x86::Rows::Sparse(a) } else { x86::Rows::<&[f32]>::Dense(a) };
            x86::tiles(tile_rows, k, n, rows, b, epilogue, c);
        }
    }
    // the rows left over: step 10
    let (a, c, m) = (&a[tile_rows * k..], &mut c[tile_rows * n..], m - tile_rows);
    match bias {
        Some(bias) => super::avx2::dense(m, k, n, a, b, bias, act, c),
        None => super::avx2::matmul(m, k, n, a, b, c),
    }
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use core::arch::x86_64::*;

    use super::{LANES_512, V512};
    use crate::kernels::avx2_fused::x86::epilogue_all;
    use crate::kernels::avx2_row::x86::{store, tail_mask, Pass, Values};
    use crate::kernels::avx2_row::{padded, Epilogue};
    use crate::kernels::avx2_sparse::x86::{Indices, SparseRows};
    use crate::kernels::avx2_union::x86::{Packed, UnionRows};
    use crate::kernels::params::{KC_ROWS, KC_SPARSE, LANES, MR_FMA};

    /// The rows of A a tile reads.
    #[derive(Clone, Copy)]
    pub enum Rows<'a, A> {
        /// Mostly zero (pixels): the union of the tile's non-zero inputs,
        /// packed per piece, as step 9 once packed floats too (step 9 now
        /// reads floats in place, measured on AVX2 only; here the pack
        /// stays until it can be timed on an AVX-512 CPU).
        Sparse(A),
        /// Dense floats: every `p`, read in place, as step 10's tiles.
        Dense(&'a [f32]),
    }

    /// The dense path's indices: every `p` of a piece, made at compile time.
    static EVERY: [u32; KC_SPARSE] = {
        let mut every = [0; KC_SPARSE];
        let mut p = 0;
        while p < every.len() {
            every[p] = p as u32;
            p += 1;
        }
        every
    };

    /// Whole groups of `MR_FMA` rows (`rows` a multiple of it) in tiles of
    /// `MR_FMA × ≤ V512` vectors.
    ///
    /// Safety: AVX-512F, AVX2, FMA and POPCNT present; A (either kind) and `c` hold
    /// at least `rows·k` and `rows·n` elements, `b` `k·n_pad`, the bias (if
    /// any) `n`.
    #[target_feature(enable = "avx512f,avx2,fma,popcnt")]
    pub unsafe fn tiles<A: UnionRows>(
        rows: usize,
        k: usize,
        n: usize,
        a: Rows<'_, A>,
        b: &[f32],
        epilogue: Epilogue<'_>,
        c: &mut [f32],
    ) {
        let np = padded(n);
        let nv = n.div_ceil(LANES_512);
        let mut idx = Indices::new();
        let mut packed: Packed = [0.0; KC_SPARSE * MR_FMA];
        // LOOP 4: MR_FMA rows of A and C
        for i0 in (0..rows).step_by(MR_FMA) {
            let c_tile = &mut c[i0 * n..(i0 + MR_FMA) * n];
            // LOOP 3: pieces of KC_SPARSE inputs
            for (p0, p1, pass) in Pass::pieces(k, KC_SPARSE, epilogue) {
                // A's values as (pointer, stride between rows, between indices)
                let (ids, a_tile, row_stride, idx_stride) = match a {
                    Rows::Sparse(a) => {
                        let nnz = a.union_nonzeros(i0, k, p0, p1, &mut idx);
                        a.pack(i0, k, p0, idx.first(nnz), &mut packed);
                        (idx.first(nnz), packed.as_ptr(), 1, MR_FMA)
                    }
                    Rows::Dense(a) => (&EVERY[..p1 - p0], a.as_ptr().add(i0 * k + p0), k, 1),
                };
                let b_piece = b.as_ptr().add(p0 * np);
                // LOOP 2: column blocks of up to V512 vectors (64 columns)
                for jv in (0..nv).step_by(V512) {
                    let job =
                        Tile { idx: ids, a: a_tile, row_stride, idx_stride, b: b_piece, np, n, j0: jv * LANES_512 };
                    match nv - jv {
                        1 => tile::<1>(job, c_tile, pass),
                        2 => tile::<2>(job, c_tile, pass),
                        3 => tile::<3>(job, c_tile, pass),
                        _ => tile::<4>(job, c_tile, pass),
                    }
                }
            }
        }
    }

    struct Tile<'a> {
        /// The indices `p` to add, relative to the piece.
        idx: &'a [u32],
        /// A's value of row `r` at the `t`-th index: `a[r·row_stride +
        /// t·idx_stride]`.
        a: *const f32,
        row_stride: usize,
        idx_stride: usize,
        /// B at the piece's first row.
        b: *const f32,
        np: usize,
        n: usize,
        j0: usize,
    }

    /// Lanes of the 16-wide vector at column `j` that lie before `n`.
    #[inline(always)]
    fn lanes(n: usize, j: usize) -> __mmask16 {
        let width = n.saturating_sub(j).min(LANES_512);
        ((1u32 << width) - 1) as __mmask16
    }

    /// `MR_FMA × V` vectors of C from column `j0`, over the tile's indices.
    #[inline(always)]
    unsafe fn tile<const V: usize>(job: Tile<'_>, c: &mut [f32], pass: Pass<'_>) {
        let Tile { idx, a, row_stride, idx_stride, b, np, n, j0 } = job;
        let mut masks = [0 as __mmask16; V];
        for (v, mask) in masks.iter_mut().enumerate() {
            *mask = lanes(n, j0 + v * LANES_512);
        }
        let mut acc = [[_mm512_setzero_ps(); V]; MR_FMA];
        if !pass.first {
            for (r, acc_r) in acc.iter_mut().enumerate() {
                for v in 0..V {
                    acc_r[v] = _mm512_maskz_loadu_ps(masks[v], c.as_ptr().add(r * n + j0 + v * LANES_512));
                }
            }
        }
        // LOOP 1: the indices, the tile in registers
        for (t, &p) in idx.iter().enumerate() {
            let b_row = b.add(p as usize * np + j0);
            let mut bv = [_mm512_setzero_ps(); V];
            for (v, bv_v) in bv.iter_mut().enumerate() {
                *bv_v = _mm512_maskz_loadu_ps(masks[v], b_row.add(v * LANES_512));
            }
            let a_t = a.add(t * idx_stride);
            for (r, acc_r) in acc.iter_mut().enumerate() {
                let a_rp = _mm512_set1_ps(*a_t.add(r * row_stride));
                for v in 0..V {
                    acc_r[v] = _mm512_fmadd_ps(a_rp, bv[v], acc_r[v]);
                }
            }
        }
        for (r, acc_r) in acc.iter().enumerate() {
            store_row(acc_r, c.as_mut_ptr().add(r * n), n, j0, pass);
        }
    }

    /// One row of C over one piece of its inputs, `V` vectors from column
    /// `j0`: step 7's loop with 16-lane vectors, `a[p] · B[p]` added for
    /// each `p` of `ps` (the piece's non-zero inputs); `b` points at B's
    /// row 0 of the piece.
    ///
    /// Safety: AVX-512F, AVX2 and FMA present; every `p` of `ps` indexes
    /// `a` and a row of B; `c_row` holds the row's `n` columns.
    #[inline(always)]
    #[allow(clippy::too_many_arguments)]
    unsafe fn row<const V: usize>(
        a: impl Values,
        ps: &[u32],
        b: *const f32,
        np: usize,
        n: usize,
        j0: usize,
        c_row: *mut f32,
        pass: Pass<'_>,
    ) {
        let mut masks = [0 as __mmask16; V];
        for (v, mask) in masks.iter_mut().enumerate() {
            *mask = lanes(n, j0 + v * LANES_512);
        }
        let mut acc = [_mm512_setzero_ps(); V];
        if !pass.first {
            for v in 0..V {
                acc[v] = _mm512_maskz_loadu_ps(masks[v], c_row.add(j0 + v * LANES_512));
            }
        }
        // LOOP 0: the non-zero p
        for &p in ps {
            let p = p as usize;
            let x = _mm512_set1_ps(a.at(p));
            let b_row = b.add(p * np + j0);
            for v in 0..V {
                acc[v] = _mm512_fmadd_ps(x, _mm512_maskz_loadu_ps(masks[v], b_row.add(v * LANES_512)), acc[v]);
            }
        }
        store_row(&acc, c_row, n, j0, pass);
    }

    /// Stores a row's `V` vectors of C from column `j0`, each as two 8-lane
    /// halves, through step 7's epilogue (its sigmoids side by side) on the
    /// last piece; halves past `n` are left out.
    ///
    /// Safety: AVX-512F, AVX2 and FMA present; `c_row` holds the row's `n`
    /// columns, the bias (if any) `n`.
    #[inline(always)]
    unsafe fn store_row<const V: usize>(acc: &[__m512; V], c_row: *mut f32, n: usize, j0: usize, pass: Pass<'_>) {
        let mut halves = [_mm256_setzero_ps(); 2 * V512];
        let mut masks = [_mm256_setzero_si256(); 2 * V512];
        for (v, &s) in acc.iter().enumerate() {
            halves[2 * v] = _mm512_castps512_ps256(s);
            halves[2 * v + 1] = _mm256_castpd_ps(_mm512_extractf64x4_pd::<1>(_mm512_castps_pd(s)));
        }
        for (q, mask) in masks.iter_mut().enumerate().take(2 * V) {
            *mask = tail_mask(n.saturating_sub(j0 + q * LANES).min(LANES));
        }
        let (halves, masks) = (&mut halves[..2 * V], &masks[..2 * V]);
        if let (true, Some((bias, act))) = (pass.last, pass.epilogue) {
            epilogue_all(halves, bias, j0, masks, act);
        }
        for (q, (&half, &mask)) in halves.iter().zip(masks).enumerate() {
            let j = j0 + q * LANES;
            if j >= n {
                break;
            }
            store(c_row.add(j), half, j + LANES <= n, mask);
        }
    }

    /// Every row of A (`m` of them) on its own, as step 10 runs u8 pixels
    /// for wide rows of C: each row's non-zero inputs gathered (step 6),
    /// then [`row`] over them, `KC_ROWS` inputs at a time.
    ///
    /// Safety: AVX-512F, AVX2, FMA and POPCNT present; `a` holds `m·k` entries,
    /// `b` `k·n_pad`, `c` `m·n`, the bias (if any) `n`.
    #[target_feature(enable = "avx512f,avx2,fma,popcnt")]
    pub unsafe fn rows<A: SparseRows>(
        m: usize,
        k: usize,
        n: usize,
        a: A,
        b: &[f32],
        epilogue: Epilogue<'_>,
        c: &mut [f32],
    ) {
        let np = padded(n);
        let nv = n.div_ceil(LANES_512);
        let mut idx = Indices::new();
        // LOOP 3: one row of A and C
        for i in 0..m {
            let c_row = c[i * n..(i + 1) * n].as_mut_ptr();
            // LOOP 2: pieces of KC_ROWS inputs
            for (p0, p1, pass) in Pass::pieces(k, KC_ROWS, epilogue) {
                let piece = a.piece(i, k, p0, p1);
                let nnz = A::nonzeros(piece, &mut idx);
                let (ps, b_piece) = (idx.first(nnz), b.as_ptr().add(p0 * np));
                // LOOP 1: column blocks of up to V512 vectors (64 columns)
                for jv in (0..nv).step_by(V512) {
                    let j0 = jv * LANES_512;
                    match nv - jv {
                        1 => row::<1>(piece, ps, b_piece, np, n, j0, c_row, pass),
                        2 => row::<2>(piece, ps, b_piece, np, n, j0, c_row, pass),
                        3 => row::<3>(piece, ps, b_piece, np, n, j0, c_row, pass),
                        _ => row::<4>(piece, ps, b_piece, np, n, j0, c_row, pass),
                    }
                }
            }
        }
    }
}
