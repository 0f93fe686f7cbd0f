//! Step 9: register tiles over the union of the tile's non-zero inputs.
//!
//! What changed from step 7 (avx2-fused), whose zero skipping works one row
//! of the batch at a time, so that each row of B it loads feeds the FMAs of
//! one image only (step 4's tiles share each load among 6 images but do
//! every FMA, zero or not): for a group of `MR_FMA = 6` rows of A, the
//! indices `p` where *any* of the six is non-zero are gathered (the six rows
//! OR-ed, then step 6's compare and table lookup), and step 4's `6 × 16`
//! register tile runs over those indices only, broadcasting each of the six
//! rows' values at `p` from the rows themselves: each loaded row of B feeds
//! 6 images, and the rows no image of the group needs are not read. (u8
//! pixels, which step 10 reads in place, are packed first: the six rows'
//! bytes at the union's indices side by side, then converted to floats.)
//! For MNIST a group of 6 test images needs 332 of W1's 784 rows on
//! average, against 151 for one image: 2.2× the FMAs of step 7 for a sixth
//! of its loads of B per image. The bias and sigmoid are fused into the
//! store as in step 7. Rows of the batch left over (fewer than 6) take
//! step 7's path.
//!
//! A zero entry of the union adds `0 · w = 0` to its sum: exactly nothing.
//! The non-zero products are added in the same order as step 7 (increasing
//! `p`, one accumulator per element where step 7 has one set: rows wider
//! than 32 columns, W1 included), so on W1 the result is step 7's bit for
//! bit; on narrow rows step 7 interleaves several sets of accumulators.
//!
//! Loop order (BLIS names): ic (MR_FMA rows), pieces of `KC_SPARSE` p
//! (gather the union; pack A if pixels), two-vector column blocks, the
//! union's p.
//!
//! Measured: `infer kernels --kernel avx2-fused,avx2-union`; the table per
//! CPU is in docs/matmul.md. An earlier version packed the float rows too
//! (`6 × nnz` floats per piece, copied one by one). Broadcasting from the
//! rows instead, on AMD EPYC Zen 3, 5 runs of each build of `taskset -c 1
//! infer kernels --kernel avx2-fused,avx2-union,avx2 --layers W1
//! --batch-sizes 100`: step 10's W1 time over step 7's, in the same
//! process, went from a median of 1.06× (0.87–1.21) to 0.95× (0.95–0.98);
//! the whole network at batch 100 (`infer sweep`, the two builds in turn, 6
//! pairs) 1.04× faster (0.91–1.08).

use super::avx2_row::{layer, Nest};
use crate::activation::Activation;

/// `C = act(A·B + bias)`. A: `m×k`, B prepared by
/// [`super::avx2_row::prepare`], C: `m×n`.
///
/// # Panics
/// If a slice length does not match its shape, or the CPU lacks AVX2/FMA.
#[allow(clippy::too_many_arguments)]
pub fn dense(m: usize, k: usize, n: usize, a: &[f32], b: &[f32], bias: &[f32], act: Activation, c: &mut [f32]) {
    layer("avx2-union", Nest::Union, m, k, n, a, b, Some((Some(bias), act)), c)
}

/// `C = A·B`, the same tiles without an epilogue.
///
/// # Panics
/// As [`dense`].
pub fn matmul(m: usize, k: usize, n: usize, a: &[f32], b: &[f32], c: &mut [f32]) {
    layer("avx2-union", Nest::Union, m, k, n, a, b, None, c)
}

#[cfg(target_arch = "x86_64")]
pub(super) mod x86 {
    use core::arch::x86_64::*;

    use crate::kernels::avx2_fused::x86::epilogue;
    use crate::kernels::avx2_row::x86::{store, tail_mask, Pass};
    use crate::kernels::avx2_row::{padded, Epilogue};
    use crate::kernels::avx2_sparse::x86::{push, rows, Indices, Pixels, SparseRows};
    use crate::kernels::params::{KC_SPARSE, LANES, MR_FMA};

    /// Rows whose union of non-zero entries this step gathers: floats, or
    /// u8 pixels.
    pub trait UnionRows: SparseRows {
        /// Writes the indices `p` in `p0..p1` (relative to `p0`) where any of
        /// rows `i0..i0 + MR_FMA` is non-zero to the front of `idx`; returns
        /// how many.
        ///
        /// Safety: AVX2 present; the rows exist; `p1 - p0 <= KC_SPARSE`.
        unsafe fn union_nonzeros(self, i0: usize, k: usize, p0: usize, p1: usize, idx: &mut Indices) -> usize;

        /// Writes, for each index `p` of `idx` (relative to `p0`), the values
        /// of rows `i0..i0 + MR_FMA` at `p` side by side into `packed`.
        ///
        /// Safety: AVX2 and FMA present; the rows exist; `idx.len() <=
        /// KC_SPARSE`.
        unsafe fn pack(self, i0: usize, k: usize, p0: usize, idx: &[u32], packed: &mut Packed);

        /// Row `i0` of A from input `p0`, where the tile broadcasts A's
        /// values straight from the rows (floats); `None` where they must be
        /// packed first (u8 pixels, converted as they are packed).
        ///
        /// Safety: the row exists.
        unsafe fn in_place(self, _i0: usize, _k: usize, _p0: usize) -> Option<*const f32> {
            None
        }
    }

    /// A piece of `MR_FMA` rows of A, packed: `MR_FMA` values per index.
    pub type Packed = [f32; KC_SPARSE * MR_FMA];

    impl UnionRows for &[f32] {
        #[inline(always)]
        unsafe fn in_place(self, i0: usize, k: usize, p0: usize) -> Option<*const f32> {
            Some(self.as_ptr().add(i0 * k + p0))
        }

        #[inline(always)]
        unsafe fn union_nonzeros(self, i0: usize, k: usize, p0: usize, p1: usize, idx: &mut Indices) -> usize {
            let rows = self.as_ptr().add(i0 * k + p0);
            let (len, mut nnz, mut p) = (p1 - p0, 0, 0);
            while p + LANES <= len {
                let mut any = _mm256_setzero_ps();
                for r in 0..MR_FMA {
                    let v = _mm256_loadu_ps(rows.add(r * k + p));
                    any = _mm256_or_ps(any, _mm256_cmp_ps::<_CMP_NEQ_UQ>(v, _mm256_setzero_ps()));
                }
                nnz = push(idx, nnz, _mm256_movemask_ps(any) as usize, p);
                p += LANES;
            }
            while p < len {
                let mut any = false;
                for r in 0..MR_FMA {
                    any |= *rows.add(r * k + p) != 0.0;
                }
                idx.set(nnz, p);
                nnz += any as usize;
                p += 1;
            }
            nnz
        }

        #[inline(always)]
        unsafe fn pack(self, i0: usize, k: usize, p0: usize, idx: &[u32], packed: &mut Packed) {
            let rows = self.as_ptr().add(i0 * k + p0);
            for (t, &p) in idx.iter().enumerate() {
                for r in 0..MR_FMA {
                    *packed.get_unchecked_mut(t * MR_FMA + r) = *rows.add(r * k + p as usize);
                }
            }
        }
    }

    impl UnionRows for Pixels<'_> {
        #[inline(always)]
        unsafe fn union_nonzeros(self, i0: usize, k: usize, p0: usize, p1: usize, idx: &mut Indices) -> usize {
            let rows = self.0.as_ptr().add(i0 * k + p0);
            let (len, mut nnz, mut p) = (p1 - p0, 0, 0);
            while p + 2 * LANES <= len {
                let mut any = _mm_setzero_si128();
                for r in 0..MR_FMA {
                    any = _mm_or_si128(any, _mm_loadu_si128(rows.add(r * k + p) as *const __m128i));
                }
                let mask = !(_mm_movemask_epi8(_mm_cmpeq_epi8(any, _mm_setzero_si128())) as usize) & 0xffff;
                nnz = push(idx, nnz, mask & 0xff, p);
                nnz = push(idx, nnz, mask >> LANES, p + LANES);
                p += 2 * LANES;
            }
            while p < len {
                let mut any = 0;
                for r in 0..MR_FMA {
                    any |= *rows.add(r * k + p);
                }
                idx.set(nnz, p);
                nnz += (any != 0) as usize;
                p += 1;
            }
            nnz
        }

        /// The bytes first, then all of them converted at once with
        /// [`crate::pixels::normalize`]'s vector code (8 at a time, exact):
        /// cheaper than a table lookup per value.
        #[inline(always)]
        unsafe fn pack(self, i0: usize, k: usize, p0: usize, idx: &[u32], packed: &mut Packed) {
            let rows = self.0.as_ptr().add(i0 * k + p0);
            let mut bytes = [0u8; KC_SPARSE * MR_FMA];
            for (t, &p) in idx.iter().enumerate() {
                for r in 0..MR_FMA {
                    *bytes.get_unchecked_mut(t * MR_FMA + r) = *rows.add(r * k + p as usize);
                }
            }
            let len = idx.len() * MR_FMA;
            crate::pixels::x86::normalize(bytes.get_unchecked(..len), packed.get_unchecked_mut(..len));
        }
    }

    /// The loop nest of this step for floats; see [`tiles_of`].
    ///
    /// Safety: AVX2, FMA and POPCNT present; `a`, `b` and `c` hold `m·k`,
    /// `k·n_pad` and `m·n` elements, the bias (if any) `n`.
    #[target_feature(enable = "avx2,fma,popcnt")]
    pub unsafe fn tiles(m: usize, k: usize, n: usize, a: &[f32], b: &[f32], epilogue: Epilogue<'_>, c: &mut [f32]) {
        tiles_of(m, k, n, a, b, epilogue, c)
    }

    /// The loop nest of this step for u8 pixels (the first layer of steps
    /// 10 and 11 where its rows are 32 columns or narrower).
    ///
    /// Safety: as [`tiles`].
    #[target_feature(enable = "avx2,fma,popcnt")]
    pub unsafe fn pixel_tiles(
        m: usize,
        k: usize,
        n: usize,
        a: &[u8],
        b: &[f32],
        epilogue: Epilogue<'_>,
        c: &mut [f32],
    ) {
        tiles_of(m, k, n, Pixels(a), b, epilogue, c)
    }

    /// Whole groups of `MR_FMA` rows in union tiles; the rows left over
    /// through step 7.
    #[inline(always)]
    unsafe fn tiles_of<A: UnionRows>(
        m: usize,
        k: usize,
        n: usize,
        a: A,
        b: &[f32],
        epilogue: Epilogue<'_>,
        c: &mut [f32],
    ) {
        let tile_rows = m - m % MR_FMA;
        if tile_rows > 0 {
            union_tiles(tile_rows, k, n, a, b, epilogue, c);
        }
        let (m, c) = (m - tile_rows, &mut c[tile_rows * n..]);
        if m > 0 {
            rows(m, k, n, RowsFrom(a, tile_rows), b, epilogue, c);
        }
    }

    /// `rows` (a multiple of `MR_FMA`) rows in union tiles.
    #[inline(always)]
    unsafe fn union_tiles<A: UnionRows>(
        rows: usize,
        k: usize,
        n: usize,
        a: A,
        b: &[f32],
        epilogue: Epilogue<'_>,
        c: &mut [f32],
    ) {
        let np = padded(n);
        let nv = np / LANES;
        let mut idx = Indices::new();
        // A packed per piece: for each gathered p, the MR_FMA rows' values
        let mut packed: Packed = [0.0; KC_SPARSE * MR_FMA];
        // LOOP 4: MR_FMA rows of A and C
        for i0 in (0..rows).step_by(MR_FMA) {
            let c_tile = &mut c[i0 * n..(i0 + MR_FMA) * n];
            // LOOP 3: pieces of KC_SPARSE inputs
            for (p0, p1, pass) in Pass::pieces(k, KC_SPARSE, epilogue) {
                let nnz = a.union_nonzeros(i0, k, p0, p1, &mut idx);
                let in_place = a.in_place(i0, k, p0);
                if in_place.is_none() {
                    a.pack(i0, k, p0, idx.first(nnz), &mut packed);
                }
                let b_piece = b.as_ptr().add(p0 * np);
                // LOOP 2: two vectors (16 columns) of B and C, one at the edge
                for jv in (0..nv).step_by(2) {
                    let job = Tile {
                        idx: idx.first(nnz),
                        a: in_place.unwrap_or(packed.as_ptr()),
                        k,
                        b: b_piece,
                        np,
                        n,
                        j0: jv * LANES,
                    };
                    match (nv - jv >= 2, in_place.is_some()) {
                        (true, true) => tile::<2, true>(job, c_tile, pass),
                        (false, true) => tile::<1, true>(job, c_tile, pass),
                        (true, false) => tile::<2, false>(job, c_tile, pass),
                        (false, false) => tile::<1, false>(job, c_tile, pass),
                    }
                }
            }
        }
    }

    /// Rows `i0..` of `A`, as step 7's loop reads them.
    #[derive(Clone, Copy)]
    struct RowsFrom<A>(A, usize);

    impl<A: SparseRows> SparseRows for RowsFrom<A> {
        type Piece = A::Piece;
        #[inline(always)]
        unsafe fn piece(self, i: usize, k: usize, p0: usize, p1: usize) -> A::Piece {
            self.0.piece(self.1 + i, k, p0, p1)
        }
        #[inline(always)]
        unsafe fn nonzeros(piece: A::Piece, idx: &mut Indices) -> usize {
            A::nonzeros(piece, idx)
        }
    }

    struct Tile<'a> {
        /// The union's indices, relative to the piece.
        idx: &'a [u32],
        /// A's values: the tile's first row at the piece's first input
        /// (row stride `k`; `IN_PLACE`), or the packed piece (`MR_FMA`
        /// values per index).
        a: *const f32,
        k: usize,
        /// B at the piece's first row.
        b: *const f32,
        np: usize,
        n: usize,
        j0: usize,
    }

    /// `MR_FMA × V` vectors of C from column `j0`, over the union's indices.
    #[inline(always)]
    unsafe fn tile<const V: usize, const IN_PLACE: bool>(job: Tile<'_>, c: &mut [f32], pass: Pass<'_>) {
        let Tile { idx, a, k, b, np, n, j0 } = job;
        let mut masks = [_mm256_setzero_si256(); V];
        for (v, mask) in masks.iter_mut().enumerate() {
            *mask = tail_mask(n.saturating_sub(j0 + v * LANES).min(LANES));
        }
        let mut acc = [[_mm256_setzero_ps(); V]; MR_FMA];
        if !pass.first {
            for (r, acc_r) in acc.iter_mut().enumerate() {
                for v in 0..V {
                    acc_r[v] = _mm256_maskload_ps(c.as_ptr().add(r * n + j0 + v * LANES), masks[v]);
                }
            }
        }
        // LOOP 1: the union's p, the tile in registers
        for (t, &p) in idx.iter().enumerate() {
            let b_row = b.add(p as usize * np + j0);
            let mut bv = [_mm256_setzero_ps(); V];
            for (v, bv_v) in bv.iter_mut().enumerate() {
                *bv_v = _mm256_loadu_ps(b_row.add(v * LANES));
            }
            for (r, acc_r) in acc.iter_mut().enumerate() {
                let a_rp = if IN_PLACE {
                    _mm256_broadcast_ss(&*a.add(r * k + p as usize))
                } else {
                    _mm256_broadcast_ss(&*a.add(t * MR_FMA + r))
                };
                for v in 0..V {
                    acc_r[v] = _mm256_fmadd_ps(a_rp, bv[v], acc_r[v]);
                }
            }
        }
        for (r, acc_r) in acc.iter().enumerate() {
            for (v, &s) in acc_r.iter().enumerate() {
                let j = j0 + v * LANES;
                let s = match (pass.last, pass.epilogue) {
                    (true, Some((bias, act))) => epilogue(s, bias, j, masks[v], act),
                    _ => s,
                };
                store(c.as_mut_ptr().add(r * n + j), s, j + LANES <= n, masks[v]);
            }
        }
    }
}
