//! Step 6: zero inputs skipped.
//!
//! What changed from step 5 (avx2-row): before the FMAs, the indices `p`
//! where `A[i][p] ≠ 0` are gathered, eight at a time (a compare gives an
//! 8-bit mask, a table lists those lanes' numbers, packed to the front), into
//! a stack buffer of `KC_ROWS = 1024` indices (4 KB); the micro-kernel of step 5
//! then reads only those rows of B. About 81% of MNIST pixels are 0, so the
//! first layer (87% of the network's FLOPs) does about a fifth of its dense
//! work and reads about 150 of W1's 784 rows. `fma(0, w, acc) = acc`
//! exactly, so skipping changes no result. The hidden layers' inputs are
//! sigmoid outputs, never exactly 0: there the gathering is pure overhead
//! (step 10 sends dense inputs back to step 5's loop or to tiles).
//!
//! A row longer than the buffer is done `KC_ROWS` inputs at a time, its
//! partial sums kept in C between the pieces.
//!
//! Loop order (BLIS names): i (one row), pieces of `KC_ROWS` p, column
//! block of ≤ `VMAX` vectors, the non-zero p.
//!
//! Measured: `infer kernels --kernel avx2-row,avx2-sparse`; the table per
//! CPU is in docs/matmul.md.

use super::avx2_row::{layer, Nest};

/// `C = A·B` with B prepared by [`super::avx2_row::prepare`] (the row
/// layout). A: `m×k`, C: `m×n`.
///
/// # Panics
/// If a slice length does not match its shape, or the CPU lacks AVX2/FMA.
pub fn matmul(m: usize, k: usize, n: usize, a: &[f32], b: &[f32], c: &mut [f32]) {
    layer("avx2-sparse", Nest::Sparse, m, k, n, a, b, None, c)
}

#[cfg(target_arch = "x86_64")]
pub(super) mod x86 {
    use core::arch::x86_64::*;
    use core::mem::MaybeUninit;

    use crate::kernels::avx2_row::x86::{column_blocks, row, Pass, Values};
    use crate::kernels::avx2_row::{padded, Epilogue};
    use crate::kernels::params::{KC_ROWS, LANES};

    /// The index buffer: `KC_ROWS` indices and `LANES` of slack, since
    /// [`nonzeros`] stores 8 at a time. Not zeroed when made: the gathering
    /// writes every index it counts before anything reads it, and at batch
    /// 1 zeroing the 4 KB was a `memset` per image, 6% of the network's
    /// samples in `perf` (and 4 KB of L1 overwritten). Without it: the
    /// whole network at batch 1 1.11×, 1.09×, 1.07×, 1.07× in four
    /// in-process runs of 11–15 alternating rounds, batch 100 1.00×; builds
    /// in turn, 8 pairs: 1.06× at batch 1, 1.01× at batch 100 (AMD EPYC
    /// Zen 3).
    pub struct Indices([MaybeUninit<u32>; KC_ROWS + LANES]);

    impl Indices {
        /// A buffer with nothing written yet.
        #[inline(always)]
        pub fn new() -> Self {
            Indices([MaybeUninit::uninit(); KC_ROWS + LANES])
        }

        /// The buffer's start, for [`push`]'s stores of 8 indices at once.
        #[inline(always)]
        pub fn as_mut_ptr(&mut self) -> *mut u32 {
            self.0.as_mut_ptr() as *mut u32
        }

        /// Writes index `t`.
        ///
        /// Safety: `t < KC_ROWS + LANES`.
        #[inline(always)]
        pub unsafe fn set(&mut self, t: usize, p: usize) {
            self.0.get_unchecked_mut(t).write(p as u32);
        }

        /// The first `nnz` indices.
        ///
        /// Safety: each of them has been written (by [`nonzeros`],
        /// [`push`] or [`Indices::set`]).
        #[inline(always)]
        pub unsafe fn first(&self, nnz: usize) -> &[u32] {
            debug_assert!(nnz <= KC_ROWS + LANES);
            core::slice::from_raw_parts(self.0.as_ptr() as *const u32, nnz)
        }
    }

    /// A matrix A whose zero entries this step skips: rows of floats, or
    /// (step 10's first layer) rows of u8 pixels read through
    /// [`crate::pixels::VALUES`].
    pub trait SparseRows: Copy {
        /// A piece of a row, as the micro-kernel reads it.
        type Piece: Values;
        /// Entries `p0..p1` of row `i` (rows of `k` entries).
        ///
        /// Safety: the entries exist.
        unsafe fn piece(self, i: usize, k: usize, p0: usize, p1: usize) -> Self::Piece;
        /// Writes the indices of a piece's non-zero entries (at most
        /// `KC_ROWS` entries) to the front of `idx`; returns how many.
        ///
        /// Safety: AVX2 present.
        unsafe fn nonzeros(piece: Self::Piece, idx: &mut Indices) -> usize;
    }

    impl SparseRows for &[f32] {
        type Piece = Self;
        #[inline(always)]
        unsafe fn piece(self, i: usize, k: usize, p0: usize, p1: usize) -> Self {
            self.get_unchecked(i * k + p0..i * k + p1)
        }
        #[inline(always)]
        unsafe fn nonzeros(piece: Self, idx: &mut Indices) -> usize {
            nonzeros(piece, idx)
        }
    }

    /// Rows of u8 pixels.
    #[derive(Clone, Copy)]
    pub struct Pixels<'a>(pub &'a [u8]);

    impl<'a> SparseRows for Pixels<'a> {
        type Piece = (&'a [u8], &'static [f32; 256]);
        #[inline(always)]
        unsafe fn piece(self, i: usize, k: usize, p0: usize, p1: usize) -> Self::Piece {
            (self.0.get_unchecked(i * k + p0..i * k + p1), &crate::pixels::VALUES)
        }
        #[inline(always)]
        unsafe fn nonzeros(piece: Self::Piece, idx: &mut Indices) -> usize {
            nonzero_pixels(piece.0, idx)
        }
    }

    /// The loop nest of this step, for [`super::matmul`] and, with its
    /// epilogue, for step 7 and the rows steps 9 and 10 leave over (floats or pixels).
    ///
    /// Safety: AVX2, FMA and POPCNT present; `a`, `b` and `c` hold `m·k`,
    /// `k·n_pad` and `m·n` elements, the bias (if any) `n`.
    #[target_feature(enable = "avx2,fma,popcnt")]
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
        let mut idx = Indices::new();
        // LOOP 3: one row of A and C
        for i in 0..m {
            let c_row = &mut c[i * n..(i + 1) * n];
            // LOOP 2: pieces of KC_ROWS inputs
            for (p0, p1, pass) in Pass::pieces(k, KC_ROWS, epilogue) {
                let piece = a.piece(i, k, p0, p1);
                piece_row::<A>(piece, b.as_ptr().add(p0 * np), np, n, c_row, pass, &mut idx);
            }
        }
    }

    /// One row of C over one piece of its inputs: the indices of the
    /// piece's non-zero entries gathered into `idx`, then step 5's
    /// micro-kernel over those rows of B (`b`: B at the piece's first row).
    ///
    /// Safety: AVX2 and FMA present; the piece holds at most `KC_ROWS`
    /// entries, each with its row of B; `c_row` holds `n` columns.
    #[inline(always)]
    #[allow(clippy::too_many_arguments)]
    pub unsafe fn piece_row<A: SparseRows>(
        piece: A::Piece,
        b: *const f32,
        np: usize,
        n: usize,
        c_row: &mut [f32],
        pass: Pass<'_>,
        idx: &mut Indices,
    ) {
        let nnz = A::nonzeros(piece, idx);
        let ps = idx.first(nnz);
        // LOOP 1: column blocks; LOOP 0, inside row: the non-zero p
        column_blocks!(n, |V, U, cols| row::<V, U>(piece, b.add(cols.0), np, ps, c_row, cols, pass));
    }

    /// For each mask of 8 lanes, the positions of its set bits in order, one
    /// per byte: the selected lanes' numbers packed to the front.
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
    /// compare gives an 8-bit mask, a table lookup packs those lanes'
    /// indices together, and all 8 are stored (hence `LANES` of slack).
    ///
    /// Safety: AVX2 present; `a.len() <= KC_ROWS`.
    #[inline(always)]
    pub unsafe fn nonzeros(a: &[f32], idx: &mut Indices) -> usize {
        debug_assert!(a.len() <= KC_ROWS);
        let mut nnz = 0;
        let mut p = 0;
        while p + LANES <= a.len() {
            let v = _mm256_loadu_ps(a.as_ptr().add(p));
            let mask = _mm256_movemask_ps(_mm256_cmp_ps::<_CMP_NEQ_UQ>(v, _mm256_setzero_ps())) as usize;
            nnz = push(idx, nnz, mask, p);
            p += LANES;
        }
        while p < a.len() {
            idx.set(nnz, p);
            nnz += (*a.get_unchecked(p) != 0.0) as usize;
            p += 1;
        }
        nnz
    }

    /// [`nonzeros`] for u8 pixels, thirty-two at a time: a byte compare
    /// with zero gives a 32-bit mask, and each 8-bit quarter goes through
    /// the same table lookup; then sixteen at a time, then one. (Thirty-two
    /// at a time against sixteen: 1.03–1.04× the whole network at batches 1
    /// and 100, with the count of each mask's bits from a table, as it was
    /// then; AMD EPYC Zen 3, in-process alternating rounds.)
    ///
    /// Safety: AVX2 present; `a.len() <= KC_ROWS`.
    #[inline(always)]
    pub unsafe fn nonzero_pixels(a: &[u8], idx: &mut Indices) -> usize {
        debug_assert!(a.len() <= KC_ROWS);
        let mut nnz = 0;
        let mut p = 0;
        // p in every lane, one add per eight inputs
        let (mut base, eight) = (_mm256_setzero_si256(), _mm256_set1_epi32(LANES as i32));
        while p + 4 * LANES <= a.len() {
            let v = _mm256_loadu_si256(a.as_ptr().add(p) as *const __m256i);
            let zero = _mm256_movemask_epi8(_mm256_cmpeq_epi8(v, _mm256_setzero_si256())) as u32;
            let mask = !zero as usize;
            for q in 0..4 {
                nnz = push_at(idx, nnz, (mask >> (q * LANES)) & 0xff, base);
                base = _mm256_add_epi32(base, eight);
            }
            p += 4 * LANES;
        }
        while p + 2 * LANES <= a.len() {
            let v = _mm_loadu_si128(a.as_ptr().add(p) as *const __m128i);
            let zero = _mm_movemask_epi8(_mm_cmpeq_epi8(v, _mm_setzero_si128())) as usize;
            let mask = !zero & 0xffff;
            nnz = push(idx, nnz, mask & 0xff, p);
            nnz = push(idx, nnz, mask >> LANES, p + LANES);
            p += 2 * LANES;
        }
        while p < a.len() {
            idx.set(nnz, p);
            nnz += (*a.get_unchecked(p) != 0) as usize;
            p += 1;
        }
        nnz
    }

    /// The table lookup: appends `base + lane` for each set bit of the
    /// 8-bit `mask` to `idx[nnz..]` (storing all 8 lanes: the buffer's
    /// slack); returns the new count, `nnz` plus the mask's bits.
    ///
    /// The count is `popcnt`, so every function this is inlined into
    /// enables that feature beside AVX2 (without it `count_ones` is a
    /// dozen instructions). It was a load from a table of 256 counts: one
    /// more load for every eight inputs, on a core whose loads are the
    /// limit. `popcnt` instead, W1 alone on the test images (AMD EPYC Zen
    /// 3): in step 13 only, step 13 went from 1.18–1.19× step 12 to
    /// 1.26–1.27× in three runs of 15 in-process rounds each; in every
    /// step, the builds with and without it alternated ten times, the
    /// median ratio was 1.08× (0.86–1.45) for step 12 at batch 1 and 1.05×
    /// (0.75–1.30) for step 13 at batch 100 (the spread is the VM's, from
    /// one process to the next).
    ///
    /// Safety: AVX2 and POPCNT present; `mask < 256`; `nnz + LANES <=
    /// idx.len()`.
    #[inline(always)]
    pub unsafe fn push(idx: &mut Indices, nnz: usize, mask: usize, base: usize) -> usize {
        push_at(idx, nnz, mask, _mm256_set1_epi32(base as i32))
    }

    /// [`push`] with `base` already in every lane. The mask's entry of
    /// [`COMPRESS`] is the set lanes' numbers, widened to `i32` they are
    /// the indices less `base`. (A permute of the lanes `0..8` by those
    /// numbers, an identity the compiler kept, was one more instruction in
    /// the dependency chain of every eight inputs.)
    ///
    /// Safety: as [`push`].
    #[inline(always)]
    pub unsafe fn push_at(idx: &mut Indices, nnz: usize, mask: usize, base: __m256i) -> usize {
        let lanes = _mm256_cvtepu8_epi32(_mm_cvtsi64_si128(*COMPRESS.get_unchecked(mask) as i64));
        _mm256_storeu_si256(idx.as_mut_ptr().add(nnz) as *mut __m256i, _mm256_add_epi32(lanes, base));
        nnz + (mask as u32).count_ones() as usize
    }
}
