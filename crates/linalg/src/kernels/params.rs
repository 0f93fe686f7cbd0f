//! Block sizes of every kernel, in one place (BLIS names).
//!
//! - `KC`, `NC`: the `KC × NC` block of B that the cache-blocked kernel keeps
//!   in L1 while every row of the batch passes over it.
//! - `NR`: the width of one packed column panel of B, the number of columns
//!   of C a register-tiled kernel holds in registers per row.
//! - `MR`: the rows of C a register-tiled kernel computes at once, sharing
//!   each load of B between them.

/// Rows of B in one cache block (blocked kernel).
pub const KC: usize = 128;
/// Columns of B in one cache block (blocked kernel).
pub const NC: usize = 64;

// One KC × NC block of f32 must fit in a 32 KB L1 data cache.
const _: () = assert!(KC * NC * 4 <= 32 * 1024);
