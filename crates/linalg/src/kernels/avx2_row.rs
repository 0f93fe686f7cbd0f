//! Step 5: a whole row of C in AVX2 registers, for batch 1.
//!
//! What changed from step 4 (avx2-tile), whose `6 × 16` tile needs six rows
//! of A to fill it and leaves ten of its twelve accumulators idle at batch 1:
//!
//! - **Row layout.** B is prepared once as `k` rows of `n` rounded up to 8
//!   (`n_pad`), zero-padded, instead of 16-column panels.
//! - **A row of C in registers.** Up to `VMAX = 13` vectors (104 columns:
//!   every layer of the book) stay in registers for the whole `p` loop;
//!   each `A[i][p]` is broadcast once and feeds `⌈n/8⌉` FMAs, one per
//!   vector of the row `B[p]`. Narrow layers (n = 10: two vectors) keep
//!   `U` independent sets of accumulators over alternating `p` and add them
//!   at the end, so that the 4-cycle FMA latency is hidden: `U · V ≥ 8`.
//!   Wider rows are cut into column blocks of at most `VMAX` vectors.
//!
//! One row at a time, the whole of B streamed per row: at batch 1 this is a
//! matrix-vector product, and B (157 KB for W1) comes from L2. Dense: a
//! zero pixel still costs its FMAs (step 6 skips them).
//!
//! Loop order (BLIS names): i (one row), column block of ≤ `VMAX` vectors,
//! p. The pieces of this file (the row layout, the per-row micro-kernel
//! `x86::row` and the column blocks) are used unchanged by steps 6 to 10.
//!
//! Rounding: FMA rounds once per term; with `U > 1` the terms are summed in
//! `U` interleaved partial sums, a different order from the naive kernel,
//! within the tolerance of `tests/kernels.rs`; the predictions on all
//! 10,000 test images equal numpy's (`crates/infer/tests/accuracy.rs`).
//!
//! Measured: `infer kernels --kernel avx2-tile,avx2-row,avx2-sparse,avx2-l1,avx2-fused,avx2`;
//! the table per CPU is in docs/matmul.md.

use super::params::LANES;
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

/// The loop nests of steps 5 to 9, each `(m, k, n, A, B, epilogue, C)`.
#[derive(Clone, Copy)]
pub(super) enum Nest {
    /// Step 5: every `p`, row by row.
    Row,
    /// Steps 6 and 7: the non-zero `p`, row by row.
    Sparse,
    /// Step 8: the non-zero `p` of L1 blocks shared by the batch.
    L1,
    /// Step 9: union tiles of 6 rows.
    Union,
}

/// Bias and activation applied in registers on the last block (step 7), or
/// none.
pub(super) type Epilogue<'a> = Option<(Option<&'a [f32]>, Activation)>;

/// `C = epilogue(A·B)` through `nest`, for the step named `step`: A `m×k`,
/// B prepared by [`prepare`], C `m×n`, the bias (if any) `n` elements.
///
/// # Panics
/// If a slice length does not match its shape, or the CPU lacks AVX2/FMA.
#[allow(clippy::too_many_arguments)]
pub(super) fn layer(
    step: &str,
    nest: Nest,
    m: usize,
    k: usize,
    n: usize,
    a: &[f32],
    b: &[f32],
    epilogue: Epilogue<'_>,
    c: &mut [f32],
) {
    check(m, k, n, a, b, c, step);
    if let Some((Some(bias), _)) = epilogue {
        assert_eq!(bias.len(), n, "bias must have n = {n} elements");
    }
    #[cfg(target_arch = "x86_64")]
    // SAFETY: AVX2 and FMA are present and the slice lengths match the
    // shapes (checked above), which is all the loop nests rely on.
    unsafe {
        use super::{avx2_l1, avx2_sparse, avx2_union};
        match nest {
            Nest::Row => x86::rows(m, k, n, a, b, epilogue, c),
            Nest::Sparse => avx2_sparse::x86::rows(m, k, n, a, b, epilogue, c),
            Nest::L1 => avx2_l1::x86::blocks(m, k, n, a, b, epilogue, c),
            Nest::Union => avx2_union::x86::tiles(m, k, n, a, b, epilogue, c),
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = nest;
}

/// Checks the shapes of `C = A·B` for the row layout and that the CPU has
/// AVX2 and FMA: what the unchecked loads of steps 5 to 10 rely on.
///
/// # Panics
/// If a slice length does not match its shape, or the CPU lacks AVX2/FMA.
pub(super) fn check(m: usize, k: usize, n: usize, a: &[f32], b: &[f32], c: &[f32], step: &str) {
    assert_eq!(a.len(), m * k, "A must be m×k = {m}×{k}");
    assert_eq!(b.len(), prepared_len(k, n), "prepared B length");
    assert_eq!(c.len(), m * n, "C must be m×n = {m}×{n}");
    assert!(super::avx2::is_available(), "the {step} kernel needs a CPU with AVX2 and FMA");
}

/// `C = A·B`. A: `m×k`, B prepared by [`prepare`], C: `m×n`.
///
/// # Panics
/// If a slice length does not match its shape, or the CPU lacks AVX2/FMA.
pub fn matmul(m: usize, k: usize, n: usize, a: &[f32], b: &[f32], c: &mut [f32]) {
    layer("avx2-row", Nest::Row, m, k, n, a, b, None, c)
}

#[cfg(target_arch = "x86_64")]
pub(super) mod x86 {
    use core::arch::x86_64::*;

    use super::{padded, Epilogue};
    use crate::kernels::params::{LANES, VMAX};

    /// Runs `$body` once per column block of a row of `$n` columns: at most
    /// `VMAX` vectors each, as even as possible, with the constants `$V`
    /// (vectors in the block) and `$U` (sets of accumulators, `U · V ≥ 8`
    /// where registers allow) and `$cols`, the block's columns `(j0, j1)`.
    macro_rules! column_blocks {
        ($n:expr, |$V:ident, $U:ident, $cols:ident| $body:expr) => {{
            use $crate::kernels::params::{LANES, VMAX};
            let n: usize = $n;
            let nv = $crate::kernels::avx2_row::padded(n) / LANES;
            let blocks = nv.div_ceil(VMAX).max(1);
            let mut v0 = 0;
            for blk in 0..blocks {
                let vb = (nv - v0) / (blocks - blk);
                let $cols = (v0 * LANES, n.min((v0 + vb) * LANES));
                $crate::kernels::avx2_row::x86::with_constants!(vb, $V, $U, $body;
                    1 => 8, 2 => 4, 3 => 3, 4 => 2, 5 => 1, 6 => 1, 7 => 1,
                    8 => 1, 9 => 1, 10 => 1, 11 => 1, 12 => 1, 13 => 1);
                v0 += vb;
            }
        }};
    }
    pub(crate) use column_blocks;

    /// `$body` with `$V` and `$U` as constants, for the `$v => $u` pair
    /// whose `$v` is `$vb`.
    macro_rules! with_constants {
        ($vb:expr, $V:ident, $U:ident, $body:expr; $($v:literal => $u:literal),*) => {
            match $vb {
                $($v => {
                    const $V: usize = $v;
                    const $U: usize = $u;
                    $body
                })*
                _ => {}
            }
        };
    }
    pub(crate) use with_constants;

    // `column_blocks!` covers every block width up to VMAX
    const _: () = assert!(VMAX == 13);

    /// What one pass over a block of B's rows does to a row of C: start from
    /// zero or from the partial sums already in C (steps 6 and 8 cut `p`
    /// into blocks); on the last block, apply `epilogue` (bias and
    /// activation, step 7) before the store.
    #[derive(Clone, Copy)]
    pub struct Pass<'a> {
        pub first: bool,
        pub last: bool,
        pub epilogue: Epilogue<'a>,
    }

    impl<'a> Pass<'a> {
        /// The pieces of at most `kc` inputs that a row of `k` inputs is cut
        /// into, each as `(p0, p1, pass)`: inputs `p0..p1` and what the pass
        /// over them does (k = 0 still makes one empty pass, which stores
        /// the epilogue).
        #[inline(always)]
        pub fn pieces(k: usize, kc: usize, epilogue: Epilogue<'a>) -> impl Iterator<Item = (usize, usize, Pass<'a>)> {
            (0..k.max(1)).step_by(kc).map(move |pc| {
                let (p0, p1) = (pc.min(k), k.min(pc + kc));
                (p0, p1, Pass { first: pc == 0, last: p1 == k, epilogue })
            })
        }
    }

    /// The inputs `p` a row visits: all of them (`0..k`, step 5) or the
    /// indices of the non-zero ones (`&[u32]`, from step 6 on).
    pub trait Inputs: Copy {
        /// How many.
        fn len(self) -> usize;
        /// The `t`-th, unchecked: `t < len`.
        unsafe fn get(self, t: usize) -> usize;
    }

    impl Inputs for (usize, usize) {
        #[inline(always)]
        fn len(self) -> usize {
            self.1 - self.0
        }
        #[inline(always)]
        unsafe fn get(self, t: usize) -> usize {
            self.0 + t
        }
    }

    impl Inputs for &[u32] {
        #[inline(always)]
        fn len(self) -> usize {
            <[u32]>::len(self)
        }
        #[inline(always)]
        unsafe fn get(self, t: usize) -> usize {
            *self.get_unchecked(t) as usize
        }
    }

    /// Where a row reads `A[i][p]`: a row of floats, or (step 10, first
    /// layer) a row of u8 pixels and the table of their values,
    /// [`crate::pixels::VALUES`].
    pub trait Values: Copy {
        /// `A[i][p]`, unchecked: `p` is in the row.
        unsafe fn at(self, p: usize) -> f32;
    }

    impl Values for &[f32] {
        #[inline(always)]
        unsafe fn at(self, p: usize) -> f32 {
            *self.get_unchecked(p)
        }
    }

    impl Values for (&[u8], &[f32; 256]) {
        #[inline(always)]
        unsafe fn at(self, p: usize) -> f32 {
            *self.1.get_unchecked(*self.0.get_unchecked(p) as usize)
        }
    }

    /// The micro-kernel of steps 5 to 10: one row of C, columns
    /// `cols.0..cols.1` (`V` vectors), plus `a[p] · B[p]` for each `p` of
    /// `ps`, with `U` sets of accumulators. `b` points at B's row 0 (of this
    /// block of `p`) and column `cols.0`; rows are `np` floats apart.
    ///
    /// Safety: AVX2 and FMA present; every `p` of `ps` indexes `a` and a
    /// row of B; `c_row` holds the columns `cols`.
    #[inline(always)]
    #[allow(clippy::too_many_arguments)]
    pub unsafe fn row<const V: usize, const U: usize>(
        a: impl Values,
        b: *const f32,
        np: usize,
        ps: impl Inputs,
        c_row: &mut [f32],
        cols: (usize, usize),
        pass: Pass<'_>,
    ) {
        let (j0, j1) = cols;
        // (a loop, not array::from_fn: its closure is a function of its own,
        // compiled without AVX2 when not inlined)
        let mut masks = [_mm256_setzero_si256(); V];
        for (v, mask) in masks.iter_mut().enumerate() {
            *mask = tail_mask((j1 - (j0 + v * LANES).min(j1)).min(LANES));
        }
        let mut acc = [[_mm256_setzero_ps(); V]; U];
        if !pass.first {
            for v in 0..V {
                acc[0][v] = _mm256_maskload_ps(c_row.as_ptr().add(j0 + v * LANES), masks[v]);
            }
        }
        // U terms at a time, one into each set of accumulators, then the rest
        let nnz = ps.len();
        let mut t = 0;
        while t + U <= nnz {
            for (u, acc_u) in acc.iter_mut().enumerate() {
                let p = ps.get(t + u);
                fma_row::<V>(acc_u, a.at(p), b.add(p * np));
            }
            t += U;
        }
        while t < nnz {
            let p = ps.get(t);
            fma_row::<V>(&mut acc[0], a.at(p), b.add(p * np));
            t += 1;
        }
        // fold the U sets; on the last block the epilogue, its sigmoids side
        // by side; store (masked on the last partial vector)
        let mut s = acc[0];
        for acc_u in &acc[1..] {
            for v in 0..V {
                s[v] = _mm256_add_ps(s[v], acc_u[v]);
            }
        }
        if let (true, Some((bias, act))) = (pass.last, pass.epilogue) {
            crate::kernels::avx2_fused::x86::epilogue_all(&mut s, bias, j0, &masks, act);
        }
        for v in 0..V {
            let j = j0 + v * LANES;
            store(c_row.as_mut_ptr().add(j), s[v], j + LANES <= j1, masks[v]);
        }
    }

    /// The loop nest of this step, for [`super::matmul`] and, with the
    /// epilogue of step 7, for step 10's dense rows.
    ///
    /// Safety: AVX2 and FMA present; `a`, `b` and `c` hold `m·k`,
    /// `k·n_pad` and `m·n` elements, the bias (if any) `n`.
    #[target_feature(enable = "avx2,fma")]
    pub unsafe fn rows(m: usize, k: usize, n: usize, a: &[f32], b: &[f32], epilogue: Epilogue<'_>, c: &mut [f32]) {
        let np = padded(n);
        let pass = Pass { first: true, last: true, epilogue };
        // LOOP 2: one row of A and C
        for i in 0..m {
            let (a_row, c_row) = (&a[i * k..(i + 1) * k], &mut c[i * n..(i + 1) * n]);
            // LOOP 1: column blocks; LOOP 0, inside row: every p
            column_blocks!(n, |V, U, cols| row::<V, U>(a_row, b.as_ptr().add(cols.0), np, (0, k), c_row, cols, pass));
        }
    }

    /// `acc[v] += a · B[p][8v..8v+8]` for the `V` vectors of one row of B.
    #[inline(always)]
    pub unsafe fn fma_row<const V: usize>(acc: &mut [__m256; V], a: f32, b_row: *const f32) {
        let av = _mm256_set1_ps(a);
        for (v, acc_v) in acc.iter_mut().enumerate() {
            *acc_v = _mm256_fmadd_ps(av, _mm256_loadu_ps(b_row.add(v * LANES)), *acc_v);
        }
    }

    /// Lanes `0..width` set.
    #[inline(always)]
    pub unsafe fn tail_mask(width: usize) -> __m256i {
        let lanes = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
        _mm256_cmpgt_epi32(_mm256_set1_epi32(width as i32), lanes)
    }

    /// Stores 8 lanes, or only those in `mask` when the vector is partial.
    #[inline(always)]
    pub unsafe fn store(dst: *mut f32, s: __m256, full: bool, mask: __m256i) {
        if full {
            _mm256_storeu_ps(dst, s);
        } else {
            _mm256_maskstore_ps(dst, mask, s);
        }
    }
}
