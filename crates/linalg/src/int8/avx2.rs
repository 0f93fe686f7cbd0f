//! Integer step 1: the int8 forward pass with AVX2, bit-identical to the
//! portable pass ([`super::QNetwork::logits`]).
//!
//! What changed from the portable pass (one `i32` multiply-add per weight,
//! in scalar code):
//!
//! - **`vpmaddwd` on pairs of inputs.** The weights are prepared once as
//!   `i16` pairs: for each pair of input rows `(2t, 2t+1)` and each column
//!   `j`, the two weights `W[2t][j], W[2t+1][j]` side by side, columns
//!   padded to 8. One `vpmaddwd` multiplies 8 such pairs by the broadcast
//!   input pair `(x[2t], x[2t+1])` and adds each pair's two products into
//!   an `i32` lane: 16 multiply-adds per instruction, exact.
//! - **Why not `vpmaddubsw`** (u8 × i8, 32 products per instruction): it
//!   adds two products into a *saturating* `i16`, and 255 · 127 · 2 =
//!   64,770 does not fit (the largest is 32,767). Making it fit would mean
//!   weights limited to ±63 (a different, less accurate model) or pixels
//!   split into high and low nibbles (twice the instructions). `vpmaddwd`
//!   costs a sign extension done once, when the weights are prepared (the
//!   prepared W1 is 88 KB of `i16` instead of 39 KB of `i8`), and no
//!   result can overflow: a sum of 784 products of at most 255 · 127 stays
//!   below 2^25.
//! - **Zero skipping by pairs.** A pair whose two inputs are both 0 adds
//!   nothing and is skipped: for MNIST's first layer that is most of them.
//! - **A row of accumulators in registers.** Up to 13 vectors (104
//!   columns: every layer of the book) stay in registers for the whole
//!   input loop.
//!
//! - **Requantization 8 lanes at a time.** `(a·m + 2^(s-1)) >> s` with
//!   64-bit products of the even and the odd lanes (`vpmuldq`) and the
//!   arithmetic shift done as a logical one of the value offset by 2^63
//!   (AVX2 has no `vpsravq`); the sigmoid table is the portable pass's.
//!   In [`logits_batch`] a hidden layer's requantized lanes go through
//!   that table in the kernel straight into the next layer's input row,
//!   instead of a store of `i32` sums and a scalar pass over them (the
//!   whole int8 pass 1.03× and 1.05× at batch 100, 1.01× at batch 1; `perf`
//!   had put 15% of the time in the scalar pass). Four vectors at a time
//!   are packed to 32 byte indices (the packs' saturation is the clamp to
//!   0..=255) and looked up with 16 byte shuffles, one per 16-byte piece
//!   of the table, each blended in where the index's high 4 bits pick that
//!   piece: against one `vpgatherdd` per vector from the table widened to
//!   `i32`, 1.06× at batch 1 and at batch 100 (builds in turn, 10 pairs of
//!   `infer sweep --precision int8 --batch-sizes 1,100 --repeat 5`; a
//!   gather costs many cycles on AMD Zen 3; all figures AMD EPYC Zen 3).
//!
//! Integer arithmetic has one right answer: `crates/infer/tests/int8.rs`
//! checks that this pass gives the portable pass's logits on all 10,000
//! test images and on random odd shapes.
//!
//! - **Register tiles for the hidden layers, over a batch**
//!   ([`logits_batch`]). W2's and W3's inputs are sigmoid outputs, dense:
//!   there `MR = 6` images share each loaded pair of weight rows in a
//!   `6 × 16` tile of `i32` sums (their input pairs packed once per tile),
//!   as the f32 kernel's step 4. The first layer stays image by image, its
//!   zero pairs skipped.
//!
//! Loop order: per layer, W1 image by image (input pairs `t`, zero pairs
//! skipped, then the column vectors); W2 and W3 by tiles of 6 images
//! (column pairs, then `t`). Sharing L1 blocks of W1 across a batch (the
//! f32 kernel's step 8) was tried and measured slower.
//!
//! Measured (`taskset -c 1 infer kernels`, 2026-11-28, AMD EPYC Zen 3, AVX2
//! integer peak 154 GOP/s): per image W1 0.28 µs (int8-portable 1.46, f32
//! avx2 1.2), W2 0.16 (1.0, 0.23), W3 0.11 (0.41, 0.17), image by image.
//! With the tiles, whole network, `taskset -c 1 infer sweep --precision
//! f32,int8 --batch-sizes 1,100 --repeat 7`, two runs: int8 batch 100
//! 1.18× / 1.27× its batch 1 (1.0× before the tiles), and 1.54× / 1.52×
//! the f32 kernel at batch 100 in the same rounds (1.29–1.36× before).

use core::mem::MaybeUninit;

use super::{QNetwork, MAX_WIDTH};
use crate::mat::ShapeError;

/// `i32` lanes per AVX2 vector.
pub const LANES: usize = 8;
/// The most vectors of accumulators one row keeps in registers.
pub const VMAX: usize = 13;

// a layer's outputs land in the shared driver's buffer of MAX_WIDTH
const _: () = assert!(VMAX * LANES <= MAX_WIDTH);

/// `n` rounded up to whole vectors.
pub const fn padded(n: usize) -> usize {
    n.div_ceil(LANES) * LANES
}

/// `i16` elements of one layer prepared by [`prepare`]: `⌈k/2⌉` pairs of
/// rows, each `padded(n)` columns of 2; then the bias and the multipliers
/// (`padded(n)` `i32` each, as two `i16`) and the shifts (`padded(n)`).
pub const fn prepared_len(k: usize, n: usize) -> usize {
    weights_len(k, n) + 5 * padded(n)
}

const fn weights_len(k: usize, n: usize) -> usize {
    k.div_ceil(2) * padded(n) * 2
}

/// Writes the layer's weights as pairs of rows interleaved column by
/// column, sign-extended to `i16`, zero past `k` and `n`; then its bias,
/// multipliers and shifts padded to whole vectors, so that the pass loads
/// them with no bounds to check.
///
/// # Panics
/// If a slice has the wrong length.
pub fn prepare(l: &super::QDense<'_>, out: &mut [i16]) {
    let (k, n) = (l.k, l.n);
    assert_eq!(l.Wq.len(), k * n, "Wq must be k×n");
    assert_eq!(out.len(), prepared_len(k, n), "prepared length");
    let np = padded(n);
    out.fill(0);
    for i in 0..k {
        for j in 0..n {
            out[((i / 2) * np + j) * 2 + i % 2] = l.Wq[i * n + j] as i16;
        }
    }
    let (_, rest) = out.split_at_mut(weights_len(k, n));
    let (bias, rest) = rest.split_at_mut(2 * np);
    let (mult, shift) = rest.split_at_mut(2 * np);
    for j in 0..n {
        for (dst, src) in [(&mut *bias, l.bias[j]), (&mut *mult, l.mult[j])] {
            let b = src.to_le_bytes();
            dst[2 * j] = i16::from_le_bytes([b[0], b[1]]);
            dst[2 * j + 1] = i16::from_le_bytes([b[2], b[3]]);
        }
        shift[j] = l.shift[j] as i16;
    }
    // padded lanes: any valid shift, their results are never read
    for s in &mut shift[n..] {
        *s = 1;
    }
}

/// Whether this CPU runs the AVX2 pass (detected at run time with `std`).
pub fn is_available() -> bool {
    crate::kernels::avx2::is_available()
}

/// The last layer's requantized logits of one image, as
/// [`QNetwork::logits`] computes them, with each layer's weights prepared
/// by [`prepare`] in `prepared` (input layer first).
///
/// # Errors
/// [`ShapeError::Len`] for a buffer or prepared layer of the wrong length,
/// [`ShapeError::Dim`] for a layer wider than [`VMAX`] vectors,
/// [`ShapeError::Kernel`] without AVX2.
pub fn logits(net: &QNetwork<'_>, prepared: &[&[i16]], x: &[u8], t: &mut [i32]) -> Result<(), ShapeError> {
    check(net, prepared)?;
    // forward checks the lengths of x and t
    net.forward(
        x,
        t,
        |l, i, input, out| {
            let w = prepared.get(i).copied().unwrap_or(&[]);
            #[cfg(target_arch = "x86_64")]
            // SAFETY: AVX2 present, w holds prepared_len(k, n) and padded(n) ≤
            // VMAX·LANES (all checked above); input holds k bytes
            unsafe {
                x86::layer(l.k, padded(l.n), input, w, out)
            };
        },
        |_| {},
    )
}

/// What the AVX2 passes rely on: AVX2, one prepared buffer of the right
/// length per layer, no layer wider than [`VMAX`] vectors.
fn check(net: &QNetwork<'_>, prepared: &[&[i16]]) -> Result<(), ShapeError> {
    let needs = super::PassNeeds {
        pass: "int8-avx2",
        available: is_available(),
        prepared_len,
        padded,
        max_width: VMAX * LANES,
    };
    needs.check(net, prepared)
}

/// Images per register tile of [`logits_batch`].
pub const MR: usize = 6;

/// Bytes of scratch [`logits_batch`] needs for `m` images: two rows of
/// [`MAX_WIDTH`] activations per image.
pub const fn batch_scratch_len(m: usize) -> usize {
    2 * m * MAX_WIDTH
}

/// [`logits`] for `m` images at once (`x`: `m × input_len` pixels, `t`:
/// `m × output_len`), equal to it image by image (integer sums have one
/// answer). The first layer runs image by image (its zero pixels skipped);
/// the hidden layers' inputs, sigmoid outputs, are dense, and there `MR = 6`
/// images share each load of the weights in a `6 × 16` register tile, as
/// in the f32 kernel. `z` is scratch of [`batch_scratch_len`]`(m)` bytes.
///
/// # Errors
/// As [`logits`], and [`ShapeError::Len`] for `x`, `t` or `z` not sized
/// for `m` images.
pub fn logits_batch(
    net: &QNetwork<'_>,
    prepared: &[&[i16]],
    m: usize,
    x: &[u8],
    z: &mut [u8],
    t: &mut [i32],
) -> Result<(), ShapeError> {
    logits_batch_staged(net, prepared, m, x, z, t, |_| {})
}

/// [`logits_batch`], calling `after(i)` once layer `i` is done for all `m`
/// images: what `infer sweep --breakdown` reads its clock in.
///
/// # Errors
/// As [`logits_batch`].
pub fn logits_batch_staged(
    net: &QNetwork<'_>,
    prepared: &[&[i16]],
    m: usize,
    x: &[u8],
    z: &mut [u8],
    t: &mut [i32],
    mut after: impl FnMut(usize),
) -> Result<(), ShapeError> {
    check(net, prepared)?;
    net.check_batch(m, x, t)?;
    if z.len() < batch_scratch_len(m) {
        return Err(ShapeError::Len { what: "z", expected: batch_scratch_len(m), found: z.len() });
    }
    let (z0, z1) = z[..batch_scratch_len(m)].split_at_mut(m * MAX_WIDTH);
    let last = net.layers.len() - 1;
    // the last layer's sums of up to MR images, rows MAX_WIDTH apart: not
    // zeroed, since the kernels write each row's padded(n) sums before
    // `emit` reads its first n (zeroing these 6 KB, and `tile`'s 3 KB of
    // packed inputs, was a `memset` per image at batch 1, 10% of int8's
    // samples in `perf`; without them: 1.12×, 1.12× at batch 1, 1.01×,
    // 1.04× at batch 100 behind a run-time switch in one process, AMD EPYC
    // Zen 3; `make compare`'s int8 batch 1 went from 702k–733k to
    // 771k–801k images/s)
    let mut out = [[MaybeUninit::<i32>::uninit(); MAX_WIDTH]; MR];
    let out = out.as_mut_ptr() as *mut i32;
    // the sigmoid table in 16 pieces of 16 bytes, for the kernels' byte
    // shuffles
    #[cfg(target_arch = "x86_64")]
    // SAFETY: AVX2 present (checked above)
    let table = unsafe { x86::pieces(net.sigmoid) };
    for (i, (l, w)) in net.layers.iter().zip(prepared).enumerate() {
        // layer i reads half (i - 1) % 2 of z (rows MAX_WIDTH apart) and
        // writes half i % 2
        let (prev, next) = if i % 2 == 0 { (&*z1, &mut *z0) } else { (&*z0, &mut *z1) };
        let (input, stride) = if i == 0 { (x, l.k) } else { (prev, MAX_WIDTH) };
        // the last layer's sums of `rows` images from image r on
        //
        // SAFETY (of each call): the kernel has just written the first
        // padded(n) ≥ n sums of each of `rows` rows of `out`
        let mut emit = |r: usize, rows: usize| {
            for q in 0..rows {
                let o = unsafe { core::slice::from_raw_parts(out.add(q * MAX_WIDTH), l.n) };
                t[(r + q) * l.n..(r + q + 1) * l.n].copy_from_slice(o);
            }
        };
        // a hidden layer's activations go straight to the next layer's rows
        // (the kernels apply the sigmoid table to each vector of sums)
        #[cfg(target_arch = "x86_64")]
        let sink = |r: usize, next: &mut [u8]| {
            if i == last {
                x86::Sink::Sums
            } else {
                x86::Sink::Sigmoid(&table, next[r * MAX_WIDTH..].as_mut_ptr())
            }
        };
        let mut r = 0;
        #[cfg(target_arch = "x86_64")]
        // SAFETY: AVX2 present, w holds prepared_len(k, n), padded(n) ≤
        // VMAX·LANES (all checked above); rows r..r+MR of the input hold k
        // bytes each, `stride` apart; a hidden layer's k is at most
        // MAX_WIDTH (QNetwork::new checks it); a hidden layer writes
        // padded(n) ≤ MAX_WIDTH bytes into each of its rows of `next`, rows
        // MAX_WIDTH apart and below m (no reference to `next` is live then)
        unsafe {
            // dense inputs: MR images at a time
            while i > 0 && r + MR <= m {
                let sink = sink(r, next);
                x86::tile(l.k, padded(l.n), input.as_ptr().add(r * stride), stride, w, out, sink);
                if i == last {
                    emit(r, MR);
                }
                r += MR;
            }
            while r < m {
                let sink = sink(r, next);
                x86::layer_to(l.k, padded(l.n), &input[r * stride..r * stride + l.k], w, out, sink);
                if i == last {
                    emit(r, 1);
                }
                r += 1;
            }
        }
        after(i);
    }
    Ok(())
}

/// One layer alone on one input (`k` u8), its requantized outputs into `t`
/// (`n`), with weights prepared by [`prepare`]: as
/// [`super::QDense::requantized`], for timing one layer.
///
/// # Errors
/// [`ShapeError::Len`] for a slice of the wrong length,
/// [`ShapeError::Kernel`] without AVX2.
pub fn requantized(l: &super::QDense<'_>, prepared: &[i16], x: &[u8], t: &mut [i32]) -> Result<(), ShapeError> {
    if !is_available() {
        return Err(ShapeError::Kernel("int8-avx2"));
    }
    if x.len() != l.k || t.len() != l.n || prepared.len() != prepared_len(l.k, l.n) || padded(l.n) > VMAX * LANES {
        return Err(ShapeError::Len {
            what: "x, t or prepared W",
            expected: prepared_len(l.k, l.n),
            found: prepared.len(),
        });
    }
    let mut out = [0i32; MAX_WIDTH];
    #[cfg(target_arch = "x86_64")]
    // SAFETY: AVX2 present; every length checked above
    unsafe {
        x86::layer(l.k, padded(l.n), x, prepared, &mut out)
    };
    t.copy_from_slice(&out[..l.n]);
    Ok(())
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use core::arch::x86_64::*;
    use core::mem::MaybeUninit;

    use super::{LANES, MAX_WIDTH, MR};

    /// `t[j] = requantize(Σ_p x[p] · W[p][j] + bias[j])` for one layer, `np`
    /// columns (a multiple of 8). Safety: AVX2; `w` holds
    /// `prepared_len(k, np)` elements, `x` at least `k`.
    #[target_feature(enable = "avx2")]
    pub unsafe fn layer(k: usize, np: usize, x: &[u8], w: &[i16], t: &mut [i32; MAX_WIDTH]) {
        layer_to(k, np, x, w, t.as_mut_ptr(), Sink::Sums)
    }

    /// Where a layer's requantized outputs go: as `i32` sums into the
    /// caller's row, or (a hidden layer) through the sigmoid table (in
    /// [`pieces`]) as bytes into the next layer's input row, `n_pad` of
    /// them.
    #[derive(Clone, Copy)]
    pub enum Sink<'a> {
        Sums,
        Sigmoid(&'a Pieces, *mut u8),
    }

    /// The 256-byte sigmoid table as 16 pieces of 16 bytes, each in both
    /// 128-bit halves of a vector: what [`lookup`] shuffles.
    pub type Pieces = [__m256i; 16];

    /// `table` cut into [`Pieces`]. Safety: AVX2 present.
    #[target_feature(enable = "avx2")]
    pub unsafe fn pieces(table: &[u8; super::super::SIGMOID_LEN]) -> Pieces {
        const _: () = assert!(super::super::SIGMOID_LEN == 256);
        let mut out = [_mm256_setzero_si256(); 16];
        for (h, piece) in out.iter_mut().enumerate() {
            *piece = _mm256_broadcastsi128_si256(_mm_loadu_si128(table.as_ptr().add(16 * h) as *const __m128i));
        }
        out
    }

    /// `table[i]` for each of 32 byte indices `i`: the low 4 bits pick a
    /// byte of each piece (`vpshufb`), the high 4 bits the piece (a
    /// compare and a blend per piece).
    #[inline(always)]
    unsafe fn lookup(table: &Pieces, i: __m256i) -> __m256i {
        let low = _mm256_and_si256(i, _mm256_set1_epi8(0x0f));
        let mut high = _mm256_and_si256(_mm256_srli_epi16::<4>(i), _mm256_set1_epi8(0x0f));
        let mut y = _mm256_setzero_si256();
        for piece in table {
            // this piece's lanes: high == 0 before this step's decrement
            let here = _mm256_cmpeq_epi8(high, _mm256_setzero_si256());
            y = _mm256_blendv_epi8(y, _mm256_shuffle_epi8(*piece, low), here);
            high = _mm256_sub_epi8(high, _mm256_set1_epi8(1));
        }
        y
    }

    /// `super::super::activate` on 4 vectors of requantized outputs:
    /// `table[clamp(t + 128, 0, 255)]`, 32 bytes in lane order. The clamp
    /// is the packing's saturation (to i16, then to u8); the packs work
    /// within 128-bit halves, so a permute restores the order.
    #[inline(always)]
    unsafe fn sigmoid_bytes(table: &Pieces, t: [__m256i; 4]) -> __m256i {
        let c = _mm256_set1_epi32(128);
        let t01 = _mm256_packs_epi32(_mm256_add_epi32(t[0], c), _mm256_add_epi32(t[1], c));
        let t23 = _mm256_packs_epi32(_mm256_add_epi32(t[2], c), _mm256_add_epi32(t[3], c));
        let i = _mm256_packus_epi16(t01, t23);
        let i = _mm256_permutevar8x32_epi32(i, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
        lookup(table, i)
    }

    /// The vectors `t` of requantized outputs through the sigmoid, 8 bytes
    /// each to `dest(q)` for the `q`-th, four vectors at a time.
    ///
    /// Safety: AVX2; each `dest(q)` is valid for 8 bytes.
    #[inline(always)]
    unsafe fn sigmoid_to(table: &Pieces, t: &[__m256i], dest: impl Fn(usize) -> *mut u8) {
        for (g, group) in t.chunks(4).enumerate() {
            let mut four = [_mm256_setzero_si256(); 4];
            four[..group.len()].copy_from_slice(group);
            let mut y = [0u64; 4];
            _mm256_storeu_si256(y.as_mut_ptr() as *mut __m256i, sigmoid_bytes(table, four));
            for (q, &y_q) in y.iter().enumerate().take(group.len()) {
                (dest(4 * g + q) as *mut u64).write_unaligned(y_q);
            }
        }
    }

    /// [`layer`] with its outputs sent to `sink`: `Sums` to `t`. Safety:
    /// as [`layer`]; `t` is valid for `np` writes; a `Sigmoid` row holds
    /// `np` bytes.
    #[target_feature(enable = "avx2")]
    pub unsafe fn layer_to(k: usize, np: usize, x: &[u8], w: &[i16], t: *mut i32, sink: Sink<'_>) {
        let acc = t;
        macro_rules! go {
            ($($v:literal),*) => {
                match np / LANES {
                    $($v => row::<$v>(k, np, x, w, acc, sink),)*
                    _ => {}
                }
            };
        }
        go!(1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13);
    }

    #[inline(always)]
    unsafe fn row<const V: usize>(k: usize, np: usize, x: &[u8], w: &[i16], acc: *mut i32, sink: Sink<'_>) {
        let mut sum = [_mm256_setzero_si256(); V];
        let xp = x.as_ptr();
        // 16 pairs (32 inputs) at a time: a compare and a movemask give
        // the pairs with a non-zero input, which are visited in order with
        // no branch on the data (most of MNIST's first layer is zero)
        let whole = k / 32;
        for b in 0..whole {
            let v = _mm256_loadu_si256(xp.add(32 * b) as *const __m256i);
            let zero = _mm256_movemask_epi8(_mm256_cmpeq_epi16(v, _mm256_setzero_si256())) as u32;
            let mut nonzero = !zero & 0x5555_5555; // bit 2q: pair q has a non-zero input
            while nonzero != 0 {
                let q = (nonzero.trailing_zeros() / 2) as usize;
                let t = 16 * b + q;
                pair::<V>(&mut sum, w, np, t, *xp.add(2 * t) as u32, *xp.add(2 * t + 1) as u32);
                nonzero &= nonzero - 1;
            }
        }
        let mut t = 16 * whole;
        while 2 * t < k {
            let x0 = *xp.add(2 * t) as u32;
            let x1 = if 2 * t + 1 < k { *xp.add(2 * t + 1) as u32 } else { 0 };
            if x0 | x1 != 0 {
                pair::<V>(&mut sum, w, np, t, x0, x1);
            }
            t += 1;
        }
        // + bias, then requantized 8 lanes at a time
        let consts = w.as_ptr().add(pairs_len(k, np));
        finish_all(&sum, consts, np, acc, sink);
    }

    /// A row's `V` column vectors of sums: `+ bias`, requantized 8 lanes at
    /// a time, stored into `out` (or through the sigmoid into the sink's
    /// row). `consts`: the bias, multipliers and shifts after the prepared
    /// weights. Every requantization first, then the sinks, so that the
    /// chains of several vectors overlap.
    #[inline(always)]
    unsafe fn finish_all<const V: usize>(
        s: &[__m256i; V],
        consts: *const i16,
        np: usize,
        out: *mut i32,
        sink: Sink<'_>,
    ) {
        let mut t = [_mm256_setzero_si256(); V];
        for v in 0..V {
            t[v] = requantized(s[v], consts, np, v);
        }
        match sink {
            Sink::Sums => {
                for (v, &t) in t.iter().enumerate() {
                    _mm256_storeu_si256(out.add(v * LANES) as *mut __m256i, t);
                }
            }
            Sink::Sigmoid(table, row) => sigmoid_to(table, &t, |v| row.add(v * LANES)),
        }
    }

    /// Column vector `v`'s sums `+ bias`, requantized.
    #[inline(always)]
    unsafe fn requantized(s: __m256i, consts: *const i16, np: usize, v: usize) -> __m256i {
        let bias = _mm256_loadu_si256(consts.add(v * LANES * 2) as *const __m256i);
        let mult = _mm256_loadu_si256(consts.add(np * 2 + v * LANES * 2) as *const __m256i);
        let shift = _mm256_cvtepi16_epi32(_mm_loadu_si128(consts.add(np * 4 + v * LANES) as *const __m128i));
        requantize(_mm256_add_epi32(s, bias), mult, shift)
    }

    /// [`layer`] for `MR` images whose inputs start at `x`, `stride` bytes
    /// apart: a `MR × 16` register tile of sums per pair of column vectors,
    /// each loaded pair of weight rows feeding all `MR` images. The input
    /// pairs are packed once, as the 32-bit lanes `pair` broadcasts.
    /// Safety: AVX2; `w` holds `prepared_len(k, np)` elements; each of the
    /// `MR` inputs holds `k ≤ MAX_WIDTH` bytes; with `Sums`, `out` is valid
    /// for `MR` rows of `np` writes, `MAX_WIDTH` apart.
    #[target_feature(enable = "avx2")]
    pub unsafe fn tile(k: usize, np: usize, x: *const u8, stride: usize, w: &[i16], out: *mut i32, sink: Sink<'_>) {
        debug_assert!(k <= MAX_WIDTH);
        let pairs = k.div_ceil(2);
        // (x[2t], x[2t+1]) of each image as one u32 per lane, MR per t (not
        // zeroed first: every one that is read is written here)
        let mut packed = [MaybeUninit::<u32>::uninit(); MAX_WIDTH / 2 * MR];
        for t in 0..pairs {
            for r in 0..MR {
                let row = x.add(r * stride);
                let x1 = if 2 * t + 1 < k { *row.add(2 * t + 1) as u32 } else { 0 };
                packed.get_unchecked_mut(t * MR + r).write(*row.add(2 * t) as u32 | (x1 << 16));
            }
        }
        let packed = core::slice::from_raw_parts(packed.as_ptr() as *const u32, pairs * MR);
        let consts = w.as_ptr().add(pairs_len(k, np));
        let nv = np / LANES;
        for v0 in (0..nv).step_by(2) {
            if nv - v0 >= 2 {
                tile_cols::<2>(pairs, np, packed, w, v0, consts, out, sink);
            } else {
                tile_cols::<1>(pairs, np, packed, w, v0, consts, out, sink);
            }
        }
    }

    /// Column vectors `v0..v0 + V` of the `MR` images' sums.
    #[inline(always)]
    #[allow(clippy::too_many_arguments)]
    unsafe fn tile_cols<const V: usize>(
        pairs: usize,
        np: usize,
        packed: &[u32],
        w: &[i16],
        v0: usize,
        consts: *const i16,
        out: *mut i32,
        sink: Sink<'_>,
    ) {
        let mut sum = [[_mm256_setzero_si256(); V]; MR];
        for t in 0..pairs {
            let wrow = w.as_ptr().add(t * np * 2 + v0 * LANES * 2);
            let mut wv = [_mm256_setzero_si256(); V];
            for (v, wv_v) in wv.iter_mut().enumerate() {
                *wv_v = _mm256_loadu_si256(wrow.add(v * LANES * 2) as *const __m256i);
            }
            for (r, sum_r) in sum.iter_mut().enumerate() {
                let xv = _mm256_set1_epi32(*packed.get_unchecked(t * MR + r) as i32);
                for v in 0..V {
                    sum_r[v] = _mm256_add_epi32(sum_r[v], _mm256_madd_epi16(xv, wv[v]));
                }
            }
        }
        // every requantization of the tile first, then the sinks, so that
        // the chains of several vectors overlap: the int8 network 1.03× at
        // batch 100, 1.02× at batch 1 against one vector at a time (builds
        // in turn, 8 pairs, AMD EPYC Zen 3)
        let mut t = [[_mm256_setzero_si256(); V]; MR];
        for (t_r, sum_r) in t.iter_mut().zip(&sum) {
            for v in 0..V {
                t_r[v] = requantized(sum_r[v], consts, np, v0 + v);
            }
        }
        match sink {
            Sink::Sums => {
                for (r, t_r) in t.iter().enumerate() {
                    for (v, &t_rv) in t_r.iter().enumerate() {
                        _mm256_storeu_si256(out.add(r * MAX_WIDTH + (v0 + v) * LANES) as *mut __m256i, t_rv);
                    }
                }
            }
            // image r's row of the next layer's inputs, MAX_WIDTH apart
            Sink::Sigmoid(table, rows) => {
                let flat = core::slice::from_raw_parts(t.as_ptr() as *const __m256i, MR * V);
                sigmoid_to(table, flat, |q| rows.add((q / V) * MAX_WIDTH + (v0 + q % V) * LANES))
            }
        }
    }

    /// The even lanes of [`requantize`], as four 64-bit results (a plain
    /// function, not a closure: a closure would not inherit AVX2 and every
    /// intrinsic in it would become a call).
    #[inline(always)]
    unsafe fn requantize_even(x: __m256i, m: __m256i, s: __m256i) -> __m256i {
        let one = _mm256_set1_epi64x(1);
        let top = _mm256_set1_epi64x(i64::MIN);
        // s in the low 32 bits of each 64-bit lane
        let s = _mm256_and_si256(s, _mm256_set1_epi64x(0xffff_ffff));
        let p = _mm256_mul_epi32(x, m); // the low 32 bits of each lane, signed
        let round = _mm256_sllv_epi64(one, _mm256_sub_epi64(s, one));
        let y = _mm256_add_epi64(_mm256_add_epi64(p, round), top);
        _mm256_sub_epi64(_mm256_srlv_epi64(y, s), _mm256_srlv_epi64(top, s))
    }

    fn pairs_len(k: usize, np: usize) -> usize {
        k.div_ceil(2) * np * 2
    }

    /// `(a · m + 2^(s-1)) >> s` in each of 8 lanes, as `super::super::requantize`:
    /// the products in 64 bits (even lanes, then odd ones), the arithmetic
    /// shift as a logical one of the value offset by 2^63, which AVX2 has.
    #[inline(always)]
    unsafe fn requantize(a: __m256i, m: __m256i, s: __m256i) -> __m256i {
        let s = _mm256_min_epi32(_mm256_max_epi32(s, _mm256_set1_epi32(1)), _mm256_set1_epi32(62));
        let even = requantize_even(a, m, s);
        let odd = requantize_even(_mm256_srli_epi64::<32>(a), _mm256_srli_epi64::<32>(m), _mm256_srli_epi64::<32>(s));
        // the low 32 bits of each result: even lanes from `even`, odd from `odd`
        _mm256_blend_epi32::<0b1010_1010>(even, _mm256_slli_epi64::<32>(odd))
    }

    /// Input pair `t`, `(x0, x1)`, into every accumulator.
    #[inline(always)]
    unsafe fn pair<const V: usize>(sum: &mut [__m256i; V], w: &[i16], np: usize, t: usize, x0: u32, x1: u32) {
        // (x0, x1) as two i16 in every 32-bit lane
        let xv = _mm256_set1_epi32((x0 | (x1 << 16)) as i32);
        let wrow = w.as_ptr().add(t * np * 2);
        for (v, s) in sum.iter_mut().enumerate() {
            let wv = _mm256_loadu_si256(wrow.add(v * LANES * 2) as *const __m256i);
            *s = _mm256_add_epi32(*s, _mm256_madd_epi16(xv, wv));
        }
    }
}
