//! Block sizes of every kernel, in one place (BLIS names).
//!
//! - `KC`, `NC`: the `KC × NC` block of B that the cache-blocked kernel keeps
//!   in L1 while every row of the batch passes over it.
//! - `NR`: the width of one packed column panel of B, the number of columns
//!   of C a register-tiled kernel holds in registers per row.
//! - `MR`: the rows of C a register-tiled kernel computes at once, sharing
//!   each load of B between them (`MR_FMA` for the AVX2 micro-kernel).
//! - `LANES`, `VMAX`, `KC_SPARSE`, `L1_BYTES`, `MC`: the avx2 kernel's vector
//!   width, row of registers, non-zero index buffer, L1 block of B and
//!   outer block of rows.

/// Rows of B in one cache block (blocked kernel).
pub const KC: usize = 128;
/// Columns of B in one cache block (blocked kernel).
pub const NC: usize = 64;

// One KC × NC block of f32 must fit in a 32 KB L1 data cache.
const _: () = assert!(KC * NC * 4 <= 32 * 1024);

/// Rows of C per register tile (tiled kernel).
pub const MR: usize = 4;
/// Columns of C per register tile, the width of a packed panel of B
/// (tiled kernel): two 8-float AVX vectors, four SSE vectors.
pub const NR: usize = 16;

// The tile's accumulators, MR × NR f32, are at most the 16 SSE registers.
const _: () = assert!(MR * NR * 4 <= 16 * 16);

/// Rows of C per register tile of the AVX2 micro-kernel (avx2-tile): with
/// `NR = 16`, 6 × 2 = 12 accumulators of the 16 AVX registers.
pub const MR_FMA: usize = 6;

/// Columns in one AVX2 vector of f32 (avx2 kernel).
pub const LANES: usize = 8;
/// The most vectors of C one row keeps in registers (avx2 kernel): 13
/// accumulators, one broadcast of A and one load of B fill the 16 AVX
/// registers; n = 100 is exactly 13 vectors.
pub const VMAX: usize = 13;
/// The most rows of B in one cache block of the avx2 kernel, and the size of
/// the stack buffer (`u32`s) holding the indices of a block's non-zero inputs.
pub const KC_SPARSE: usize = 256;
/// Bytes of B one cache block of the avx2 kernel may take: its rows are then
/// reused from L1 (32 KB on Zen 3/4) by every row of the batch. For W1
/// (n_pad = 56) that is 109 rows of 224 B.
pub const L1_BYTES: usize = 24 * 1024;
/// Rows of A and C per outer block of the avx2 kernel: their partial sums
/// (MC · n floats, 51 KB for n = 50) stay in L2 while the blocks of B pass
/// over them. Measured against 64 and unbounded (`infer sweep`, interleaved
/// runs, taskset -c 1): 64 lost ~25% at batch 100 (two W1 passes per batch),
/// unbounded lost ~45% at batch 10,000 (partial sums spill to L3).
pub const MC: usize = 256;
