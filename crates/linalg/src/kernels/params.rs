//! Block sizes of every kernel, in one place (BLIS names).
//!
//! - `KC`, `NC`: the `KC × NC` block of B that the cache-blocked kernel keeps
//!   in L1 while every row of the batch passes over it.
//! - `NR`: the width of one packed column panel of B, the number of columns
//!   of C a register-tiled kernel holds in registers per row.
//! - `MR`: the rows of C a register-tiled kernel computes at once, sharing
//!   each load of B between them (`MR_FMA` for the AVX2 micro-kernel).
//! - `LANES`, `VMAX`, `KC_ROWS`, `KC_SPARSE`, `L1_BYTES`, `MC`: the avx2
//!   kernel's vector width, row of registers, non-zero index buffer (the
//!   zero-skipping rows' piece), the union tiles' piece, L1 block of B and
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
/// The most rows of B in one cache block of the avx2 kernel, and the piece
/// of the inputs the union tiles (steps 9 and 11) gather and pack at once.
pub const KC_SPARSE: usize = 256;
/// The most inputs the zero-skipping rows (steps 6 and 7, and step 10's
/// pixels) gather in one piece, and the size of the stack buffer (`u32`s,
/// 4 KB) holding their indices: all 784 of W1's at once. Pieces of 256
/// cost W1 three more stores and loads of each row's partial sums and
/// three more loop exits per image. Builds in turn (`taskset -c 1 infer
/// sweep --batch-sizes 1,100 --repeat 3`, AMD EPYC Zen 3): the whole
/// network at batch 100 1.10×, 1.14×, 1.10×, 1.12× against pieces of 256
/// (a fifth pair, 0.81×, straddled a change of the VM's speed), at batch
/// 1 0.98–1.10×; an earlier build with every piece 800 long, 1.04–1.16× in
/// 6 of 6 pairs.
pub const KC_ROWS: usize = 1024;

// the index buffer holds the union tiles' pieces too
const _: () = assert!(KC_SPARSE <= KC_ROWS);
/// Bytes of B one cache block of the avx2 kernel may take when the L1 data
/// cache's size is not known: its rows are then reused from L1 by every row
/// of the batch. For W1 (n_pad = 56) that is 109 rows of 224 B. With `std`,
/// [`l1_block_bytes`] takes three quarters of the L1d this machine reports.
pub const L1_BYTES: usize = 24 * 1024;

/// The L1 data cache assumed where the machine cannot be asked (no `std`,
/// not Linux): 32 KB, what every CPU this project has run on has (AMD Zen
/// 3, Zen 4, Intel Cascade Lake).
pub const L1D_FALLBACK: usize = 32 * 1024;

/// Bytes of B per cache block of the avx2 kernel: three quarters of this
/// core's L1 data cache (the rest for the row of A, the index buffer and
/// the stack), read once from
/// `/sys/devices/system/cpu/cpu0/cache/index*/{level,type,size}` with `std`
/// on Linux; [`L1_BYTES`] otherwise.
pub fn l1_block_bytes() -> usize {
    #[cfg(all(feature = "std", target_os = "linux"))]
    {
        use core::sync::atomic::{AtomicUsize, Ordering};
        static BYTES: AtomicUsize = AtomicUsize::new(0);
        match BYTES.load(Ordering::Relaxed) {
            0 => {
                let l1d = l1d_from_sysfs().unwrap_or(L1D_FALLBACK);
                let bytes = (l1d / 4 * 3).clamp(8 * 1024, 96 * 1024);
                BYTES.store(bytes, Ordering::Relaxed);
                bytes
            }
            b => b,
        }
    }
    #[cfg(not(all(feature = "std", target_os = "linux")))]
    {
        L1_BYTES
    }
}

/// The size of cpu0's level-1 data cache as Linux reports it, e.g. `32K`.
#[cfg(all(feature = "std", target_os = "linux"))]
pub fn l1d_from_sysfs() -> Option<usize> {
    cache_from_sysfs("1", "Data")
}

/// The size of cpu0's level-2 cache as Linux reports it, e.g. `1024K`.
#[cfg(all(feature = "std", target_os = "linux"))]
pub fn l2_from_sysfs() -> Option<usize> {
    cache_from_sysfs("2", "Unified")
}

/// The size of cpu0's cache of `level` and `kind` (`Data`, `Unified`).
#[cfg(all(feature = "std", target_os = "linux"))]
fn cache_from_sysfs(level: &str, kind: &str) -> Option<usize> {
    let dir = std::path::Path::new("/sys/devices/system/cpu/cpu0/cache");
    for i in 0..8 {
        let read = |f: &str| std::fs::read_to_string(dir.join(std::format!("index{i}")).join(f)).ok();
        if read("level")?.trim() == level && read("type")?.trim() == kind {
            let size = read("size")?;
            let size = size.trim();
            let (digits, unit) = size.split_at(size.find(|c: char| !c.is_ascii_digit()).unwrap_or(size.len()));
            let n: usize = digits.parse().ok()?;
            return Some(match unit {
                "K" => n * 1024,
                "M" => n * 1024 * 1024,
                _ => n,
            });
        }
    }
    None
}
/// Rows of A and C per outer block of the avx2 kernel: their partial sums
/// (MC · n floats, 51 KB for n = 50) stay in L2 while the blocks of B pass
/// over them. Measured against 64 and unbounded (`infer sweep`, interleaved
/// runs, taskset -c 1): 64 lost ~25% at batch 100 (two W1 passes per batch),
/// unbounded lost ~45% at batch 10,000 (partial sums spill to L3).
pub const MC: usize = 256;
