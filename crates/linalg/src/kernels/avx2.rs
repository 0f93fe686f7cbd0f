//! Step 5: AVX2 + FMA shaped by the data: zero inputs skipped, a whole row
//! of C in registers for batch 1, L1 blocks shared by the batch, register
//! tiles for dense inputs, bias and sigmoid fused into the store.
//!
//! What changed from step 4 (avx2-tile), which is dense and needs a batch:
//!
//! - **Row layout.** B is prepared once as `k` rows of `n` rounded up to 8
//!   (`n_pad`), zero-padded, instead of 16-column panels.
//! - **Zero skipping.** Before the FMAs, the indices `p` where
//!   `A[i][p] ≠ 0` are gathered 8 at a time (a compare, a movemask and a
//!   table shuffle) into a stack buffer, and only those rows of B are read.
//!   About 81% of MNIST pixels are 0, so the first layer (87% of the
//!   network's FLOPs) does about a fifth of its dense work.
//!   `fma(0, w, acc) = acc` exactly, so skipping changes no result.
//! - **A row of C in registers.** Up to `VMAX = 13` vectors (104 columns:
//!   every layer of the book) stay in registers for the whole `k` loop; each
//!   non-zero `A[i][p]` is broadcast once and feeds `⌈n/8⌉` FMAs. Narrow
//!   layers (n = 10: two vectors) keep several independent sets of
//!   accumulators over alternating `p`, so the 4-cycle FMA latency is
//!   hidden. Batch 1 is this loop: a matrix-vector product reading about 150
//!   of W1's 784 rows, 224 B each, from L2.
//! - **Cache blocking across the batch.** B is cut into blocks of `kc` rows
//!   that fit three quarters of the L1 data cache (`params::l1_block_bytes`:
//!   read from Linux with `std`, else `L1_BYTES`; 109 rows of W1 for a 32 KB
//!   L1d); each block is reused from L1 by
//!   `MC = 256` rows of the batch before the next block is loaded, their
//!   partial sums kept in C (51 KB for n = 50, in L2).
//! - **Register tiles for dense inputs.** When the first `MR_FMA = 6` rows
//!   of A are mostly non-zero (sigmoid outputs: W2 and W3) and the batch has
//!   at least 6 rows, step 4's `6 × 16` tile runs on this row layout for
//!   whole groups of 6 rows; each loaded row of B then feeds 6 rows of C.
//! - **Fused epilogue.** `+ bias` and sigmoid (a vectorised version of
//!   `math::exp`'s Cephes polynomial) are applied while the results are
//!   still in registers, then stored; the last partial vector with a masked
//!   store.
//!
//! Loop order (BLIS names), row path: ic (MC rows), pc (kc rows of B), i
//! (one row), column block of ≤ VMAX vectors, the non-zero p. Tile path: ic
//! (MR_FMA rows), two-vector column blocks, p.
//!
//! Rounding differs from the naive kernel (FMA rounds once; narrow layers
//! sum in a different order), within the tolerance of `tests/kernels.rs`;
//! the predictions on all 10,000 test images still equal numpy's
//! (`crates/infer/tests/accuracy.rs`).
//!
//! Measured (`taskset -c 1 infer kernels`, 2026-11-27, AMD EPYC Zen 4, peak
//! 116.8 GFLOP/s): W1 784×50: 0.80 µs at m = 1, 67.9 µs at m = 100 (97.9 and
//! 115.5 dense-equivalent GFLOP/s: it does a fifth of the FLOPs); W2 50×100:
//! 40.8 / 91.5 GFLOP/s (78% of peak); W3 100×10: 14.7 / 57.6.
//! Full table: docs/matmul.md.

use super::params::{KC_SPARSE, LANES, MC, MR_FMA, VMAX};
use crate::activation::Activation;

/// `n` rounded up to whole vectors.
pub const fn padded(n: usize) -> usize {
    n.div_ceil(LANES) * LANES
}

/// Elements of B prepared by [`prepare`]: `k · n_pad`.
pub const fn prepared_len(k: usize, n: usize) -> usize {
    k * padded(n)
}

/// Copies B (`k×n`) into rows of `n_pad` floats, zero-padded.
///
/// # Panics
/// If `b.len() != k * n` or `out.len() != prepared_len(k, n)`.
pub fn prepare(k: usize, n: usize, b: &[f32], out: &mut [f32]) {
    assert_eq!(b.len(), k * n, "B must be k×n = {k}×{n}");
    assert_eq!(out.len(), prepared_len(k, n), "prepared B length");
    let np = padded(n);
    for p in 0..k {
        out[p * np..p * np + n].copy_from_slice(&b[p * n..(p + 1) * n]);
        out[p * np + n..(p + 1) * np].fill(0.0);
    }
}

/// Whether this CPU has AVX2 and FMA: detected at run time with `std`,
/// fixed at compile time (`-C target-feature`) without it.
pub fn is_available() -> bool {
    #[cfg(all(target_arch = "x86_64", feature = "std"))]
    {
        std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma")
    }
    #[cfg(all(target_arch = "x86_64", not(feature = "std")))]
    {
        cfg!(all(target_feature = "avx2", target_feature = "fma"))
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// `C = act(A·B + bias)`. A: `m×k`, B prepared by [`prepare`], C: `m×n`.
///
/// # Panics
/// If a slice length does not match its shape, or the CPU lacks AVX2/FMA.
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

#[allow(clippy::too_many_arguments)]
fn run(m: usize, k: usize, n: usize, a: &[f32], b: &[f32], bias: Option<&[f32]>, act: Activation, c: &mut [f32]) {
    assert_eq!(a.len(), m * k, "A must be m×k = {m}×{k}");
    assert_eq!(b.len(), prepared_len(k, n), "prepared B length");
    assert_eq!(c.len(), m * n, "C must be m×n = {m}×{n}");
    assert!(is_available(), "the avx2 kernel needs a CPU with AVX2 and FMA");
    #[cfg(target_arch = "x86_64")]
    // SAFETY: AVX2 and FMA are present (checked above), and the slice
    // lengths match the shapes (checked above), which is all x86::dense
    // relies on for its unchecked loads and stores.
    unsafe {
        x86::dense(m, k, n, a, b, bias, act, c)
    }
}

/// A loop of nothing but independent AVX2 FMAs, to measure this core's peak:
/// `iterations × 12` `vfmadd231ps` on 12 accumulators (12 chains hide the
/// 4-cycle latency of 2 FMA pipes), 16 FLOP each. Returns a value that
/// depends on every FMA, so none can be optimised away.
///
/// # Panics
/// If the CPU lacks AVX2/FMA.
pub fn fma_peak_loop(iterations: usize) -> f32 {
    assert!(is_available(), "the FMA peak loop needs a CPU with AVX2 and FMA");
    #[cfg(target_arch = "x86_64")]
    // SAFETY: AVX2 and FMA are present (checked above).
    unsafe {
        x86::fma_peak_loop(iterations)
    }
    #[cfg(not(target_arch = "x86_64"))]
    0.0
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use core::arch::x86_64::*;

    use super::{padded, KC_SPARSE, LANES, MC, MR_FMA, VMAX};
    use crate::activation::Activation;
    use crate::math;

    /// See [`super::dense`]. Safety: AVX2 and FMA present; `a`, `b`, `c`
    /// and `bias` hold `m·k`, `k·n_pad`, `m·n` and `n` elements.
    #[target_feature(enable = "avx2,fma")]
    #[allow(clippy::too_many_arguments)]
    pub unsafe fn dense(
        m: usize,
        k: usize,
        n: usize,
        a: &[f32],
        b: &[f32],
        bias: Option<&[f32]>,
        act: Activation,
        c: &mut [f32],
    ) {
        // dense inputs and a batch to fill the tiles: the register-tile path
        // for whole groups of MR_FMA rows, the row path for the rest
        let probe = &a[..(MR_FMA * k).min(a.len())];
        let dense_input = probe.iter().filter(|&&x| x != 0.0).count() * 2 > probe.len();
        let tile_rows = if dense_input && m >= MR_FMA { m - m % MR_FMA } else { 0 };
        if tile_rows > 0 {
            dense_tiles(tile_rows, k, n, a, b, bias, act, c);
        }
        let (a, c, m) = (&a[tile_rows * k..], &mut c[tile_rows * n..], m - tile_rows);
        let np = padded(n);
        let nv = np / LANES;
        // column blocks of at most VMAX vectors, as even as possible
        let blocks = nv.div_ceil(VMAX).max(1);
        // rows of B per cache block: KC·n_pad floats fit the L1 budget
        let kc = (super::super::params::l1_block_bytes() / (4 * np.max(LANES))).clamp(LANES, KC_SPARSE);
        let mut idx = [0u32; KC_SPARSE + LANES];
        // LOOP 5: MC rows of A and C, whose partial sums stay in cache
        for ic in (0..m).step_by(MC) {
            // LOOP 4: a block of kc rows of B, reused by each of the MC rows
            // (k = 0 still makes one pass, to store bias and activation)
            for pc in (0..k.max(1)).step_by(kc) {
                let p1 = k.min(pc + kc);
                let pass = Pass { first: pc == 0, last: p1 == k || k == 0, bias, act };
                // LOOP 3: the rows of the MC block
                for i in ic..m.min(ic + MC) {
                    let a_block = &a[i * k + pc.min(k)..i * k + p1];
                    let c_row = &mut c[i * n..(i + 1) * n];
                    let mut v0 = 0;
                    // LOOP 2: column blocks of at most VMAX vectors
                    for blk in 0..blocks {
                        let vb = (nv - v0) / (blocks - blk);
                        let job = Job { np, a_block, b: b.as_ptr().add(pc * np + v0 * LANES), idx: &mut idx };
                        let cols = (v0 * LANES, n.min((v0 + vb) * LANES));
                        // (V, U): V vectors of C, U sets of accumulators over alternating p
                        macro_rules! go {
                        ($($v:literal => $u:literal),*) => {
                            match vb {
                                $($v => row::<$v, $u>(job, pass, c_row, cols),)*
                                _ => {}
                            }
                        };
                    }
                        go!(1 => 8, 2 => 4, 3 => 3, 4 => 2, 5 => 1, 6 => 1, 7 => 1, 8 => 1, 9 => 1, 10 => 1, 11 => 1, 12 => 1, 13 => 1);
                        v0 += vb;
                    }
                }
            }
        }
    }

    // the dispatch above covers every block width up to VMAX
    const _: () = assert!(VMAX == 13);

    /// What one cache block of B does to a row: start from zero or from the
    /// partial sums in C; finish with bias and activation or store partials.
    #[derive(Clone, Copy)]
    struct Pass<'a> {
        first: bool,
        last: bool,
        bias: Option<&'a [f32]>,
        act: Activation,
    }

    struct Job<'a> {
        np: usize,
        /// The row of A restricted to this block's p.
        a_block: &'a [f32],
        /// B at the block's first row and first column.
        b: *const f32,
        idx: &'a mut [u32; KC_SPARSE + LANES],
    }

    /// One row of C over one column block of `V` vectors and one cache block
    /// of B, with `U` sets of accumulators. Columns `cols.0..cols.1`.
    #[inline(always)]
    unsafe fn row<const V: usize, const U: usize>(
        job: Job<'_>,
        pass: Pass<'_>,
        c_row: &mut [f32],
        cols: (usize, usize),
    ) {
        let Job { np, a_block, b, idx } = job;
        let (j0, j1) = cols;
        let masks: [__m256i; V] = core::array::from_fn(|v| tail_mask((j1 - (j0 + v * LANES).min(j1)).min(LANES)));
        let mut acc = [[_mm256_setzero_ps(); V]; U];
        if !pass.first {
            for v in 0..V {
                acc[0][v] = _mm256_maskload_ps(c_row.as_ptr().add(j0 + v * LANES), masks[v]);
            }
        }
        let nnz = nonzeros(a_block, idx);
        let nz = &idx[..nnz];
        let mut t = 0;
        while t + U <= nnz {
            for (u, acc_u) in acc.iter_mut().enumerate() {
                let p = *nz.get_unchecked(t + u) as usize;
                fma_row::<V>(acc_u, *a_block.get_unchecked(p), b.add(p * np));
            }
            t += U;
        }
        while t < nnz {
            let p = *nz.get_unchecked(t) as usize;
            fma_row::<V>(&mut acc[0], *a_block.get_unchecked(p), b.add(p * np));
            t += 1;
        }
        // fold the U sets; on the last block add the bias and apply the
        // activation; store (masked on the last partial vector)
        for v in 0..V {
            let mut s = acc[0][v];
            for acc_u in &acc[1..] {
                s = _mm256_add_ps(s, acc_u[v]);
            }
            let j = j0 + v * LANES;
            if pass.last {
                s = epilogue(s, pass.bias, j, masks[v], pass.act);
            }
            store(c_row.as_mut_ptr().add(j), s, j + LANES <= j1, masks[v]);
        }
    }

    /// `act(s + bias[j..j+8])`, the lanes outside `mask` of the bias read as 0.
    #[inline(always)]
    unsafe fn epilogue(s: __m256, bias: Option<&[f32]>, j: usize, mask: __m256i, act: Activation) -> __m256 {
        let s = match bias {
            Some(bias) => _mm256_add_ps(s, _mm256_maskload_ps(bias.as_ptr().add(j), mask)),
            None => s,
        };
        match act {
            Activation::Identity => s,
            Activation::Sigmoid => sigmoid(s),
            Activation::Relu => _mm256_max_ps(s, _mm256_setzero_ps()),
        }
    }

    /// Stores 8 lanes, or only those in `mask` when the vector is partial.
    #[inline(always)]
    unsafe fn store(dst: *mut f32, s: __m256, full: bool, mask: __m256i) {
        if full {
            _mm256_storeu_ps(dst, s);
        } else {
            _mm256_maskstore_ps(dst, mask, s);
        }
    }

    /// The dense path: `MR_FMA × 2`-vector register tiles read straight from
    /// the row layout of B (row stride `n_pad`), bias and activation fused
    /// into the store. For `rows` a multiple of `MR_FMA`.
    #[inline(always)]
    #[allow(clippy::too_many_arguments)]
    unsafe fn dense_tiles(
        rows: usize,
        k: usize,
        n: usize,
        a: &[f32],
        b: &[f32],
        bias: Option<&[f32]>,
        act: Activation,
        c: &mut [f32],
    ) {
        let np = padded(n);
        let nv = np / LANES;
        // LOOP 3: MR_FMA rows of A and C
        for ic in (0..rows).step_by(MR_FMA) {
            // LOOP 2: two vectors (16 columns) of B and C, one at the edge
            for jv in (0..nv).step_by(2) {
                let (a_tile, b_cols) = (a.as_ptr().add(ic * k), b.as_ptr().add(jv * LANES));
                let c_tile = &mut c[ic * n..];
                if nv - jv >= 2 {
                    tile::<2>(k, np, n, a_tile, b_cols, c_tile, jv * LANES, bias, act);
                } else {
                    tile::<1>(k, np, n, a_tile, b_cols, c_tile, jv * LANES, bias, act);
                }
            }
        }
    }

    /// `MR_FMA × V` vectors of C, columns from `j0`: the micro-kernel of
    /// avx2-tile on the row layout, with the epilogue fused.
    #[inline(always)]
    #[allow(clippy::too_many_arguments)]
    unsafe fn tile<const V: usize>(
        k: usize,
        np: usize,
        n: usize,
        a: *const f32,
        b: *const f32,
        c: &mut [f32],
        j0: usize,
        bias: Option<&[f32]>,
        act: Activation,
    ) {
        let mut acc = [[_mm256_setzero_ps(); V]; MR_FMA];
        // LOOP 1: p, the tile in registers
        for p in 0..k {
            let bv: [__m256; V] = core::array::from_fn(|v| _mm256_loadu_ps(b.add(p * np + v * LANES)));
            for (r, acc_r) in acc.iter_mut().enumerate() {
                let a_rp = _mm256_broadcast_ss(&*a.add(r * k + p));
                for v in 0..V {
                    acc_r[v] = _mm256_fmadd_ps(a_rp, bv[v], acc_r[v]);
                }
            }
        }
        for (r, acc_r) in acc.iter().enumerate() {
            for (v, &s) in acc_r.iter().enumerate() {
                let j = j0 + v * LANES;
                let mask = tail_mask(n.saturating_sub(j).min(LANES));
                let s = epilogue(s, bias, j, mask, act);
                store(c.as_mut_ptr().add(r * n + j), s, j + LANES <= n, mask);
            }
        }
    }

    /// See [`super::fma_peak_loop`].
    #[target_feature(enable = "avx2,fma")]
    pub unsafe fn fma_peak_loop(iterations: usize) -> f32 {
        let mut acc = [_mm256_set1_ps(0.0); 12];
        let (a, b) = (_mm256_set1_ps(0.999_999), _mm256_set1_ps(1e-7));
        for _ in 0..iterations {
            for acc_i in acc.iter_mut() {
                *acc_i = _mm256_fmadd_ps(*acc_i, a, b);
            }
            // keep the compiler from collapsing the loop
            core::arch::asm!("", options(nomem, nostack));
        }
        let mut sum = _mm256_setzero_ps();
        for acc_i in acc {
            sum = _mm256_add_ps(sum, acc_i);
        }
        let mut out = [0.0f32; 8];
        _mm256_storeu_ps(out.as_mut_ptr(), sum);
        out.iter().sum()
    }

    /// For each mask of 8 lanes, the positions of its set bits in order, one
    /// per byte: the shuffle that packs the selected lanes to the front.
    const COMPRESS: [u64; 256] = {
        let mut table = [0u64; 256];
        let mut mask = 0;
        while mask < 256 {
            let (mut packed, mut count, mut lane) = (0u64, 0, 0);
            while lane < 8 {
                if mask & (1 << lane) != 0 {
                    packed |= (lane as u64) << (8 * count);
                    count += 1;
                }
                lane += 1;
            }
            table[mask] = packed;
            mask += 1;
        }
        table
    };

    /// Writes the indices `p` with `a[p] != 0` (NaN included) to the front of
    /// `idx`, in order, and returns how many there are. Eight at a time: a
    /// compare gives an 8-bit mask, a table shuffle packs those lanes'
    /// indices together, and all 8 are stored (hence `LANES` of slack).
    #[inline(always)]
    unsafe fn nonzeros(a: &[f32], idx: &mut [u32; KC_SPARSE + LANES]) -> usize {
        debug_assert!(a.len() <= KC_SPARSE);
        let lanes = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
        let mut nnz = 0;
        let mut p = 0;
        while p + LANES <= a.len() {
            let v = _mm256_loadu_ps(a.as_ptr().add(p));
            let mask = _mm256_movemask_ps(_mm256_cmp_ps::<_CMP_NEQ_UQ>(v, _mm256_setzero_ps())) as usize;
            let shuffle = _mm256_cvtepu8_epi32(_mm_cvtsi64_si128(COMPRESS[mask] as i64));
            let ids = _mm256_add_epi32(_mm256_permutevar8x32_epi32(lanes, shuffle), _mm256_set1_epi32(p as i32));
            _mm256_storeu_si256(idx.as_mut_ptr().add(nnz) as *mut __m256i, ids);
            nnz += mask.count_ones() as usize;
            p += LANES;
        }
        while p < a.len() {
            *idx.get_unchecked_mut(nnz) = p as u32;
            nnz += (*a.get_unchecked(p) != 0.0) as usize;
            p += 1;
        }
        nnz
    }

    /// `acc[v] += a · B[p][8v..8v+8]` for the `V` vectors of one row of B.
    #[inline(always)]
    unsafe fn fma_row<const V: usize>(acc: &mut [__m256; V], a: f32, b_row: *const f32) {
        let av = _mm256_set1_ps(a);
        for (v, acc_v) in acc.iter_mut().enumerate() {
            *acc_v = _mm256_fmadd_ps(av, _mm256_loadu_ps(b_row.add(v * LANES)), *acc_v);
        }
    }

    /// Lanes `0..width` set.
    #[inline(always)]
    unsafe fn tail_mask(width: usize) -> __m256i {
        let lanes = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
        _mm256_cmpgt_epi32(_mm256_set1_epi32(width as i32), lanes)
    }

    /// `e^x` lane by lane: `math::exp`'s range reduction and Cephes
    /// polynomial, with FMA, for x clamped to `[-87, 88]` (outside it e^x is
    /// not a normal f32; sigmoid there is 0 or 1 to within 1e-38).
    #[inline(always)]
    pub unsafe fn exp(x: __m256) -> __m256 {
        let x = _mm256_min_ps(_mm256_max_ps(x, _mm256_set1_ps(-87.0)), _mm256_set1_ps(88.0));
        let n = _mm256_round_ps::<{ _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC }>(_mm256_mul_ps(
            x,
            _mm256_set1_ps(core::f32::consts::LOG2_E),
        ));
        let r = _mm256_fnmadd_ps(n, _mm256_set1_ps(math::C1), x);
        let r = _mm256_fnmadd_ps(n, _mm256_set1_ps(math::C2), r);
        let mut p = _mm256_set1_ps(math::P[0]);
        for &coef in &math::P[1..] {
            p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(coef));
        }
        let er = _mm256_add_ps(_mm256_fmadd_ps(p, _mm256_mul_ps(r, r), r), _mm256_set1_ps(1.0));
        let pow2 = _mm256_slli_epi32::<23>(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)));
        _mm256_mul_ps(er, _mm256_castsi256_ps(pow2))
    }

    /// `1 / (1 + e^-x)` lane by lane.
    #[inline(always)]
    pub unsafe fn sigmoid(x: __m256) -> __m256 {
        let one = _mm256_set1_ps(1.0);
        _mm256_div_ps(one, _mm256_add_ps(one, exp(_mm256_sub_ps(_mm256_setzero_ps(), x))))
    }

    #[cfg(all(test, feature = "std"))]
    mod tests {
        extern crate std;
        use super::*;

        #[test]
        fn vector_exp_is_within_2_ulp_of_std() {
            if !super::super::is_available() {
                return;
            }
            let mut worst = 0;
            let mut x = -87.0f32;
            while x <= 87.9 {
                let xs = [x, x + 1e-3, x + 2e-3, x + 3e-3, x + 4e-3, x + 5e-3, x + 6e-3, x + 7e-3];
                let mut out = [0.0f32; 8];
                // SAFETY: AVX2 and FMA checked above; 8 floats in and out.
                unsafe { _mm256_storeu_ps(out.as_mut_ptr(), exp(_mm256_loadu_ps(xs.as_ptr()))) };
                for (o, x) in out.iter().zip(xs) {
                    let want = std::primitive::f32::exp(x);
                    worst = worst.max((o.to_bits() as i64 - want.to_bits() as i64).unsigned_abs());
                }
                x += 8e-3;
            }
            assert!(worst <= 2, "max error {worst} ulp");
        }
    }
}
