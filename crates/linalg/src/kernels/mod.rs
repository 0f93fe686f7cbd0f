//! The matmul ladder: `C = A·B` with A `m×k`, B `k×n`, C `m×n`, row-major.
//!
//! One file per step, each opening with a card that says what changed from
//! the step before, its loop order and block sizes, and where its measured
//! speed is recorded:
//!
//! | step | file | idea |
//! |---|---|---|
//! | 0 | `naive.rs` | the definition, i-j-p: the oracle |
//! | 1 | `ikj.rs` | loop reorder, i-p-j: contiguous rows, vectorisable |
//! | 2 | `blocked.rs` | `KC × NC` blocks of B shared by every row of the batch |
//! | 3 | `tiled.rs` | `MR × NR` register tiles over packed panels of B |
//! | 4 | `avx2_tile.rs` | AVX2+FMA micro-kernel on `6 × 16` register tiles, dense |
//! | 5 | `avx2_row.rs` | a whole row of C in AVX2 registers (batch 1), B in rows of `n_pad` |
//! | 6 | `avx2_sparse.rs` | zero inputs skipped: only the rows of B a non-zero pixel selects |
//! | 7 | `avx2_fused.rs` | bias and sigmoid applied in registers before the store |
//! | 8 | `avx2_l1.rs` | blocks of B sized to the L1d, shared by `MC` rows of the batch (measured, not kept) |
//! | 9 | `avx2_union.rs` | step 4's register tiles over the union of 6 rows' non-zero inputs |
//! | 10 | `avx2.rs` | per input: step 9 for pixels (read as u8 in place), step 4's tiles or step 5's rows for dense inputs |
//! | 11 | `avx512.rs` | step 10's tiles on 16-lane AVX-512 vectors with masked edges; chosen by [`Kernel::best`] only where it measures faster |
//! | 12 | `avx2_lines.rs` | step 10 with W1's rows on whole cache lines: 48 columns on three lines, the last 2 in a table that stays in L1 |
//! | 13 | `avx2_pairs.rs` | step 12 two images at a time over the union of their pixels: each row of W1 loaded once for both |
//! | 14 | `avx512_lines.rs` | step 12's rows of pixels on 512-bit vectors: three loads of one line each and three FMAs per pixel |
//! | 15 | `avx512_epilogue.rs` | step 14 with the bias and sigmoid on 16 lanes: W1's rows and the hidden layers' tiles |
//! | 16 | `avx512_prefetch.rs` | step 15 with the next image's pixels fetched ahead while this one is summed |
//! | 17 | `avx512_rows.rs` | step 16 with the rows left over after the 6-row tiles (batch 1's W2 and W3) on 512-bit vectors |
//! | 18 | `avx512_chain.rs` | step 17 with batch 1's layers checked once a forward pass, not once a layer: the network calls the rows straight |
//! | 19 | `avx2_chain.rs` | step 18's idea on AVX2: step 13 with batch 1's layers checked once a forward pass (CPUs without AVX-512) |
//! | 20 | `avx512_bits.rs` | step 18 with each image's non-zero pixels walked as the bits of a mask, no list of indices |
//! | 21 | `avx512_colour.rs` | step 20 with batch 1's W1 from a second copy on 25 of L1's 64 sets, so that W2 and W3 stay in L1 |
//! | 22 | `avx2_colour.rs` | step 21's idea on AVX2: step 19 with batch 1's W1 from that copy (CPUs without AVX-512) |
//! | 23 | `avx512_pass.rs` | step 21 with batch 1's network checked once, not once a pass: a `Pass` calls step 21's layers straight |
//! | 24 | `avx512_union.rs` | step 23 with a batch's W1 in 512-bit tiles over the union of 6 images' pixels: each row of W1 loaded once for six (built for two 512-bit FMA units; slower on AMD Zen 4, not chosen there) |
//! | 25 | `avx512_fixed16.rs` | step 23 with W1 in 16-bit fixed point: pairs of pixels through `vpdpwssd` (AVX-512 VNNI) into exact integer sums, W1's bytes and multiply-adds about halved; taken only where the rounding stays within twice float32's own worst case |
//! | 26 | `avx2_fixed16.rs` | step 25's idea on AVX2: step 22 with W1 in 16-bit fixed point, pairs of pixels through `vpmaddwd` and `vpaddd` (CPUs without AVX-512) |
//!
//! Every kernel is tested against [`naive`] on seeded random shapes, block
//! edges and the network's real layer shapes (`tests/kernels.rs`).
//!
//! A kernel works on weights *prepared* for it once, at load
//! ([`Kernel::prepare`]): for the steps above that is a plain copy of B;
//! packing kernels reorder B into the layout their inner loop wants.

pub mod avx2;
pub mod avx2_chain;
pub mod avx2_colour;
pub mod avx2_fixed16;
pub mod avx2_fused;
pub mod avx2_l1;
pub mod avx2_lines;
pub mod avx2_pairs;
pub mod avx2_row;
pub mod avx2_sparse;
pub mod avx2_tile;
pub mod avx2_union;
pub mod avx512;
pub mod avx512_bits;
pub mod avx512_chain;
pub mod avx512_colour;
pub mod avx512_epilogue;
pub mod avx512_fixed16;
pub mod avx512_lines;
pub mod avx512_pass;
pub mod avx512_prefetch;
pub mod avx512_rows;
pub mod avx512_union;
pub mod blocked;
#[cfg(feature = "std")]
pub mod choose;
pub mod ikj;
pub mod naive;
pub mod params;
pub mod peak;
pub mod tiled;

use crate::activation::{self, Activation};
use crate::mat::{MatMut, MatRef, ShapeError};

/// Checks the slice lengths of `C = A·B`.
///
/// # Panics
/// If `a`, `b` or `c` does not hold `m×k`, `k×n` or `m×n` elements.
#[inline]
pub(crate) fn assert_shapes(m: usize, k: usize, n: usize, a: &[f32], b: &[f32], c: &[f32]) {
    assert_eq!(a.len(), m * k, "A must be m×k = {m}×{k}");
    assert_eq!(b.len(), k * n, "B must be k×n = {k}×{n}");
    assert_eq!(c.len(), m * n, "C must be m×n = {m}×{n}");
}

/// One rung of the matmul ladder.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Kernel {
    /// Step 0, [`naive`]: i-j-p dot products, the oracle.
    Naive,
    /// Step 1, [`ikj`]: loop reorder.
    Ikj,
    /// Step 2, [`blocked`]: cache blocks of B shared across the batch.
    Blocked,
    /// Step 3, [`tiled`]: register tiles over packed B, portable.
    Tiled,
    /// Step 4, [`avx2_tile`]: AVX2+FMA micro-kernel on register tiles;
    /// needs a CPU with AVX2 and FMA.
    Avx2Tile,
    /// Step 5, [`avx2_row`]: a row of C in AVX2 registers; needs a CPU
    /// with AVX2 and FMA (as do steps 6 to 10).
    Avx2Row,
    /// Step 6, [`avx2_sparse`]: zero inputs skipped.
    Avx2Sparse,
    /// Step 7, [`avx2_fused`]: bias and activation fused into the store.
    Avx2Fused,
    /// Step 8, [`avx2_l1`]: L1 blocks of B shared by the batch.
    Avx2L1,
    /// Step 9, [`avx2_union`]: register tiles over the union of the tile's
    /// non-zero inputs.
    Avx2Union,
    /// Step 10, [`avx2`]: each input to the loop that suits it; the fastest
    /// without AVX-512.
    Avx2,
    /// Step 11, [`avx512`]: step 10 with AVX-512 (its tiles, and its rows for
    /// the pixels, 16 lanes wide); needs a CPU with AVX-512F.
    Avx512,
    /// Step 12, [`avx2_lines`]: step 10 with W1's rows on whole cache
    /// lines for the pixels.
    Avx2Lines,
    /// Step 13, [`avx2_pairs`]: step 12 two images at a time over the
    /// union of their pixels.
    Avx2Pairs,
    /// Step 14, [`avx512_lines`]: step 12's rows of pixels on 512-bit
    /// vectors (W1's main part, three whole lines a row); needs a CPU
    /// with AVX-512F.
    Avx512Lines,
    /// Step 15, [`avx512_epilogue`]: step 14 with the bias and sigmoid on
    /// 512-bit vectors (W1's rows and the hidden layers' tiles); needs a
    /// CPU with AVX-512F.
    Avx512Epilogue,
    /// Step 16, [`avx512_prefetch`]: step 15 with the next image's pixels
    /// fetched ahead; needs a CPU with AVX-512F.
    Avx512Prefetch,
    /// Step 17, [`avx512_rows`]: step 16 with the rows left over after the
    /// tiles (batch 1's hidden layers) on 512-bit vectors, each width its
    /// own instantiation; needs a CPU with AVX-512F.
    Avx512Rows,
    /// Step 18, [`avx512_chain`]: step 17 with batch 1's layers checked
    /// once a forward pass ([`crate::network::Network`] calls the rows
    /// straight); needs a CPU with AVX-512F.
    Avx512Chain,
    /// Step 19, [`avx2_chain`]: step 13 with batch 1's layers checked once
    /// a forward pass, as step 18 does on AVX-512; needs a CPU with AVX2
    /// and FMA.
    Avx2Chain,
    /// Step 20, [`avx512_bits`]: step 18 with each image's non-zero pixels
    /// walked as the bits of a mask; needs a CPU with AVX-512F.
    Avx512Bits,
    /// Step 21, [`avx512_colour`]: step 20 with batch 1's W1 read from a
    /// second copy whose rows sit on 25 of L1's 64 sets; needs what step
    /// 20 needs.
    Avx512Colour,
    /// Step 22, [`avx2_colour`]: step 19 with batch 1's W1 read from step
    /// 21's coloured copy; needs a CPU with AVX2 and FMA.
    Avx2Colour,
    /// Step 23, [`avx512_pass`]: step 21 with batch 1's network checked
    /// once ([`crate::network::Network::pass`]), not once a pass; needs
    /// what step 20 needs.
    Avx512Pass,
    /// Step 24, [`avx512_union`]: step 23 with a batch's W1 in register
    /// tiles over the union of 6 images' non-zero pixels; needs what step
    /// 20 needs. [`Kernel::best`] times it against step 23 where it picks
    /// step 20's line, but not on AMD's family 25 (slower on Zen 4; not
    /// yet run on a CPU with two 512-bit FMA units).
    Avx512Union,
    /// Step 25, [`avx512_fixed16`]: step 23 with W1's sums over the pixels
    /// in 16-bit fixed point, two pixels a `vpdpwssd`; needs what step 20
    /// needs and AVX-512 VNNI and VL.
    Avx512Fixed16,
    /// Step 26, [`avx2_fixed16`]: step 22 with W1's sums over the pixels
    /// in step 25's fixed point, two pixels a `vpmaddwd`; needs a CPU with
    /// AVX2 and FMA.
    Avx2Fixed16,
}

impl Kernel {
    /// Every kernel, in ladder order.
    pub const ALL: &'static [Kernel] = &[
        Kernel::Naive,
        Kernel::Ikj,
        Kernel::Blocked,
        Kernel::Tiled,
        Kernel::Avx2Tile,
        Kernel::Avx2Row,
        Kernel::Avx2Sparse,
        Kernel::Avx2Fused,
        Kernel::Avx2L1,
        Kernel::Avx2Union,
        Kernel::Avx2,
        Kernel::Avx512,
        Kernel::Avx2Lines,
        Kernel::Avx2Pairs,
        Kernel::Avx512Lines,
        Kernel::Avx512Epilogue,
        Kernel::Avx512Prefetch,
        Kernel::Avx512Rows,
        Kernel::Avx512Chain,
        Kernel::Avx2Chain,
        Kernel::Avx512Bits,
        Kernel::Avx512Colour,
        Kernel::Avx2Colour,
        Kernel::Avx512Pass,
        Kernel::Avx512Union,
        Kernel::Avx512Fixed16,
        Kernel::Avx2Fixed16,
    ];

    /// The kernel's name, as `infer --kernel` takes it.
    pub fn name(self) -> &'static str {
        match self {
            Kernel::Naive => "naive",
            Kernel::Ikj => "ikj",
            Kernel::Blocked => "blocked",
            Kernel::Tiled => "tiled",
            Kernel::Avx2Tile => "avx2-tile",
            Kernel::Avx2Row => "avx2-row",
            Kernel::Avx2Sparse => "avx2-sparse",
            Kernel::Avx2L1 => "avx2-l1",
            Kernel::Avx2Fused => "avx2-fused",
            Kernel::Avx2Union => "avx2-union",
            Kernel::Avx2 => "avx2",
            Kernel::Avx512 => "avx512",
            Kernel::Avx2Lines => "avx2-lines",
            Kernel::Avx2Pairs => "avx2-pairs",
            Kernel::Avx512Lines => "avx512-lines",
            Kernel::Avx512Epilogue => "avx512-epilogue",
            Kernel::Avx512Prefetch => "avx512-prefetch",
            Kernel::Avx512Rows => "avx512-rows",
            Kernel::Avx512Chain => "avx512-chain",
            Kernel::Avx2Chain => "avx2-chain",
            Kernel::Avx512Bits => "avx512-bits",
            Kernel::Avx512Colour => "avx512-colour",
            Kernel::Avx2Colour => "avx2-colour",
            Kernel::Avx512Pass => "avx512-pass",
            Kernel::Avx512Union => "avx512-union",
            Kernel::Avx512Fixed16 => "avx512-fixed16",
            Kernel::Avx2Fixed16 => "avx2-fixed16",
        }
    }

    /// The kernel called `name` (see [`Kernel::name`]).
    pub fn from_name(name: &str) -> Option<Kernel> {
        Kernel::ALL.iter().copied().find(|k| k.name() == name)
    }

    /// Whether the kernel skips zero inputs (steps 6 on): where it does,
    /// a first layer reads only the rows of B that an image's non-zero
    /// pixels select, about 151 of W1's 784 for an MNIST test image.
    pub fn skips_zero_inputs(self) -> bool {
        !matches!(
            self,
            Kernel::Naive | Kernel::Ikj | Kernel::Blocked | Kernel::Tiled | Kernel::Avx2Tile | Kernel::Avx2Row
        )
    }

    /// The instruction set the kernel is written for: the peak its speed is
    /// measured against.
    pub fn isa(self) -> peak::Isa {
        if self.is_avx512() {
            peak::Isa::Avx512
        } else if self.is_avx2() {
            peak::Isa::Avx2
        } else {
            peak::Isa::Sse2
        }
    }

    /// Whether the kernel is written with AVX-512F (steps 11, 14 to 18, 20
    /// and 21).
    fn is_avx512(self) -> bool {
        matches!(
            self,
            Kernel::Avx512
                | Kernel::Avx512Lines
                | Kernel::Avx512Epilogue
                | Kernel::Avx512Prefetch
                | Kernel::Avx512Rows
                | Kernel::Avx512Chain
                | Kernel::Avx512Bits
                | Kernel::Avx512Colour
                | Kernel::Avx512Pass
                | Kernel::Avx512Union
                | Kernel::Avx512Fixed16
        )
    }

    /// Whether the kernel is written with AVX2 and FMA (steps 4 to 10, 12,
    /// 13, 19 and 22).
    fn is_avx2(self) -> bool {
        matches!(
            self,
            Kernel::Avx2Tile
                | Kernel::Avx2Row
                | Kernel::Avx2Sparse
                | Kernel::Avx2L1
                | Kernel::Avx2Fused
                | Kernel::Avx2Union
                | Kernel::Avx2
                | Kernel::Avx2Lines
                | Kernel::Avx2Pairs
                | Kernel::Avx2Chain
                | Kernel::Avx2Colour
                | Kernel::Avx2Fixed16
        )
    }

    /// Whether this CPU can run the kernel. With the `std` feature AVX2,
    /// FMA and POPCNT are detected at run time; without it, only if the
    /// build enables them (`-C target-feature=+avx2,+fma,+popcnt`).
    pub fn is_available(self) -> bool {
        match self {
            Kernel::Avx512Bits | Kernel::Avx512Colour | Kernel::Avx512Pass | Kernel::Avx512Union => {
                avx512_bits::is_available()
            }
            Kernel::Avx512Fixed16 => avx512_fixed16::is_available(),
            _ if self.is_avx512() => avx512::is_available(),
            _ => !self.is_avx2() || avx2::is_available(),
        }
    }

    /// With `std`: the fastest kernel this CPU can run. Without AVX2 that
    /// is the portable [`Kernel::Tiled`]. With AVX2 and FMA, step 12
    /// ([`Kernel::Avx2Lines`]: step 10 with W1's rows on whole cache lines,
    /// the same instructions on fewer lines) or step 13
    /// ([`Kernel::Avx2Pairs`]: images two at a time; as step 19,
    /// [`Kernel::Avx2Chain`], its batch 1 checked once), whichever
    /// [`choose::faster_on_pixels`] measures faster on this core (on the
    /// first layer, where alone they differ); where the CPU also has
    /// AVX-512F, that one or step 18 ([`Kernel::Avx512Chain`]: step
    /// 12's rows on 512-bit vectors, the epilogues on 16 lanes, the next
    /// image's pixels fetched ahead, batch 1's hidden rows on 512-bit
    /// vectors, its layers checked once a pass), again on the first layer, by
    /// [`choose::faster_on_pixels_one_by_one`] (faster on single images,
    /// no more than 1.5× slower on a batch). Once per process, about a
    /// millisecond a choice (2–4 ms on an Intel Xeon in a slow state of
    /// its VM); the second of a pair, but for step 17's single images, only
    /// if more than 10% faster, so that where the two are level every
    /// process picks the first.
    ///
    /// Step 19 ([`Kernel::Avx2Chain`]) takes step 13's place where the
    /// choice picks step 13, from 2026-12-07: the same code on the first
    /// layer, and step 18's path below 6 rows (on AMD Zen 4's AVX2 code
    /// 1.03–1.08× step 13 at batch 1, five sweeps; not measured on an
    /// AVX2-only CPU).
    ///
    /// Step 22 ([`Kernel::Avx2Colour`]) takes step 19's place in the same
    /// way, from 2026-12-07 (on AMD Zen 4's AVX2 code 1.04–1.07× step 19
    /// at batch 1, five sweeps; level at batches 2 and 100; not measured on
    /// an AVX2-only CPU).
    ///
    /// Step 21 ([`Kernel::Avx512Colour`]) takes step 20's place where the
    /// choice picks step 20, from 2026-12-07: on the first layer's calls,
    /// which the choice times, the two are the same code; below 6 rows the
    /// network reads W1 from step 21's copy on 25 of L1's 64 sets, which
    /// leaves W2 and W3 in L1 between images (on AMD Zen 4 1.02–1.07× step
    /// 20 at batch 1, seven sweeps; level at batches 2 and 100). A rule
    /// from one CPU: every x86 L1d met so far has 64 sets (32 KB of 8 ways,
    /// 48 KB of 12), but the gain has not been measured on an Intel CPU.
    ///
    /// Step 23 ([`Kernel::Avx512Pass`]) takes step 21's place in the same
    /// way, from 2026-12-07: the same layer code, with the network
    /// checked once for its passes below 6 rows
    /// ([`crate::network::Network::pass`]) where callers keep the
    /// [`avx512_pass::Pass`] (`infer` does): on AMD Zen 4 1.02× step 21 at
    /// batch 1 in the median of 32 sweeps (0.98–1.07), level at batches 2
    /// and 100. Not measured on an Intel CPU.
    ///
    /// Step 24 ([`Kernel::Avx512Union`]) is timed against step 23 where
    /// the choice picks step 20 ([`choose::faster_on_pixels`], at a batch
    /// of 12, taken if more than 10% faster), from 2026-12-07: the same
    /// code below 6 rows, and at a batch W1 in union tiles, 2.2× the FMAs
    /// for a sixth of the loads, built for cores with two 512-bit FMA
    /// units. Not on AMD family 25 ([`choose::fma_units_256_bits_wide`]):
    /// on Zen 4 it ran 0.87–0.91× step 23 at batch 100, and step 23 won
    /// the timing in 30 of 30 processes before that rule spared them its
    /// cost. Not yet run on an Intel CPU.
    ///
    /// Step 25 ([`Kernel::Avx512Fixed16`]) takes step 23's place where the
    /// CPU also has AVX-512 VNNI and VL, from 2026-12-07: W1's sums over
    /// pairs of pixels in 16-bit fixed point, its bytes and multiply-adds
    /// about halved, the predictions numpy's on all 10,000 test images.
    /// Where the FP units are 256 bits wide (AMD family 25, whose only
    /// CPU with AVX-512 is Zen 4) it is taken without timing anything, the
    /// choice between the AVX2 and the AVX-512 steps included (the AVX-512
    /// step won it in 1,000 of 1,000 processes there, and in every one
    /// since; skipping it saves each process about 3 ms of timing): on AMD Zen 4 1.13–1.19× step 23 at batch 1 and
    /// 1.25–1.27× at batch 100 (docs/performance.md, the sixteenth
    /// session).
    /// Elsewhere it is timed against step 23 on single images
    /// ([`choose::faster_on_pixels_one_by_one`]) before step 24 is timed
    /// against the winner: on Intel's cores `vpdpwssd` on 512 bits has
    /// one port where the FMAs have two, and it has not run on one yet.
    ///
    /// Step 26 ([`Kernel::Avx2Fixed16`], step 25's fixed-point W1 on AVX2)
    /// is timed first, against step 22, where the CPU has no AVX-512F,
    /// from 2026-12-07, and taken if more than 10% faster on the first
    /// layer; only where it is not are steps 12 and 13 timed, so that a
    /// process makes one choice where step 26 wins, as before it: on AMD Zen 4's AVX2 code it ran 1.20–1.24× step 22 at
    /// batch 1 and 1.20–1.24× at batch 100 (five sweeps), but it has not
    /// run on an AVX2-only CPU (AMD Zen 3), the one it is for. On CPUs
    /// with AVX-512 it is not timed: the AVX-512 steps, step 25 among
    /// them, are the ones chosen from there.
    ///
    /// Step 20 ([`Kernel::Avx512Bits`]) took step 18's place on
    /// 2026-12-07 where the CPU also has AVX-512BW and BMI1: the same
    /// logits bit for bit, W1's non-zero pixels walked as bits instead of
    /// gathered into a list (on AMD Zen 4, see its file for the sweeps).
    /// Not timed on an Intel CPU.
    ///
    /// Step 18 ([`Kernel::Avx512Chain`]) took step 17's place on
    /// 2026-12-07: on the first layer, which the choice times, the two are
    /// the same code, and step 18 differs only in how
    /// [`crate::network::Network`] calls the layers of a batch below 6
    /// rows (checked once a pass, not once a layer). On AMD Zen 4 the
    /// whole network ran 1.08–1.15× faster than step 17 at batch 1 and
    /// 0.99–1.01× at batch 100 (five sweeps of 11 rounds), the same logits
    /// bit for bit. Not timed on an Intel CPU.
    ///
    /// Step 17 took step 16's place on 2026-12-03: on the first layer,
    /// which the choice times, the two are the same code; on AMD Zen 4 the
    /// whole network ran 1.11× and 1.12× faster than step 16 at batch 1
    /// and 0.99× and 1.02× at batch 100 (two sweeps of 11 rounds), the
    /// same results bit for bit. Not timed on an Intel CPU, where its W2
    /// rows do 7 FMAs a term instead of 13 on twice the FMA width.
    ///
    /// Step 16 took step 14's place in that choice on 2026-12-03: its
    /// results equal step 14's bit for bit, and on AMD Zen 4 the whole
    /// network ran 1.11–1.14× faster at batch 100 and 1.01–1.05× at batch
    /// 1 (two sweeps of 11 rounds). On the Intel Xeon it has not been
    /// timed; what it adds to step 14 (16-lane epilogues, a prefetch of 13
    /// lines an image) should cost nothing there, and the choice still
    /// times it against the AVX2 steps.
    ///
    /// Step 11 ([`Kernel::Avx512`]) is not timed: on both AVX-512 CPUs
    /// measured it is slower in the network than step 14, which was
    /// chosen there before step 16. On AMD Zen 4 (2026-12-03, `infer sweep --batch-sizes
    /// 1,100 --kernel avx512-lines,avx512,avx2-pairs --repeat 11`, two
    /// runs) 0.88–0.92× step 14 at batch 1 and 0.84–0.85× at batch 100,
    /// and below step 13 too at batch 100; on the Intel Xeon 0.96–1.04×
    /// step 10 where step 14 gave 1.13–1.28×. Timing it cost a fourth
    /// choice: on Zen 4 the four took 4.4–6.7 ms, the three 3.2–6.2 ms
    /// (0.72× in the median of 8 processes of each in turn), of a process
    /// meant to take 30 ms; on the Xeon the four took 7–9 ms.
    ///
    /// Step 13 loads each row of W1 once for two images and does more
    /// FMAs: it gains where the loads are the limit (AMD EPYC Zen 3: W1
    /// 1.19–1.24× step 10 at batch 100) and may lose where the FMAs are.
    /// AVX-512 doubles the FMA width on Intel's server cores but runs on
    /// 256-bit halves on AMD Zen 4. Rules written from one of these CPUs
    /// would be guesses on the others. (On an Intel Xeon with two 512-bit
    /// FMA units, step 11 measured 0.74× step 10 on the whole network and
    /// in a later session 0.96–1.04×, and step 14 1.13–1.18× at batch 1
    /// and 1.18–1.28× at batch 100, where step 13 gave 1.00–1.05× and
    /// 1.16–1.22×: there this picked step 14, in 20 of 20 processes. On AMD
    /// Zen 4, step 14 1.13× step 10 at batch 1 and 1.15–1.40× at
    /// batch 100, and 1.06–1.09× step 13 at batch 1 and 1.04–1.06× at
    /// batch 100 (two sweeps of 11 rounds; per-round ratios from 0.74 to
    /// 1.41): this picked step 14 there, in 40 of 40 `infer eval`
    /// processes (step 13 in one of 8 others): docs/performance.md.)
    ///
    /// Without `std`, for embedded builds: [`Kernel::Ikj`], which reads
    /// plain row-major weights in place (from a `static`, so from flash),
    /// with no prepared copy in RAM; or step 10 ([`Kernel::Avx2`], one copy
    /// of the weights) if the build enables AVX2, FMA and POPCNT.
    pub fn best() -> Kernel {
        #[cfg(feature = "std")]
        if avx2::is_available() {
            static CHOICE: std::sync::OnceLock<Kernel> = std::sync::OnceLock::new();
            return *CHOICE.get_or_init(|| {
                // AMD family 25 with AVX-512 VNNI is Zen 4, where the
                // AVX-512 line won the timing below in every process
                // measured and step 25 is its fastest step: no timing
                if choose::fma_units_256_bits_wide() && avx512_fixed16::is_available() {
                    return Kernel::Avx512Fixed16;
                }
                // step 19 is step 13 with batch 1 checked once: the same
                // code on the first layer, which the choice times
                // and step 22 is step 19 with batch 1's W1 from a
                // coloured copy: the same code on the first layer's calls
                let lines_or_pairs = || match choose::faster_on_pixels(Kernel::Avx2Lines, Kernel::Avx2Pairs) {
                    Kernel::Avx2Pairs => Kernel::Avx2Colour,
                    lines => lines,
                };
                // step 26 is step 22 with W1 in fixed point: timed first
                // where the AVX2 steps are the end of the line (no
                // AVX-512F), taken if more than 10% faster on the first
                // layer, and only where it is not are steps 12 and 13
                // timed (one choice a process, as before, where it wins)
                let avx2 = if avx512::is_available() {
                    lines_or_pairs()
                } else {
                    match choose::faster_on_pixels(Kernel::Avx2Colour, Kernel::Avx2Fixed16) {
                        Kernel::Avx2Fixed16 => Kernel::Avx2Fixed16,
                        _ => lines_or_pairs(),
                    }
                };
                // step 20 is step 18 with W1's pixels walked as bits; on a
                // CPU with AVX-512F but not BW (none met so far), step 18
                if avx512_bits::is_available() {
                    // step 21 is step 20 with batch 1's W1 from a coloured
                    // copy, and step 23 is step 21 with the network checked
                    // once: the same code on the first layer's calls
                    match choose::faster_on_pixels_one_by_one(avx2, Kernel::Avx512Bits) {
                        // step 24 is step 23 below 6 rows; at a batch its
                        // union tiles trade W1's loads for FMAs, which pays
                        // only where the FMAs are cheap: not timed where
                        // the FP units are 256 bits wide (measured slower)
                        // step 25 halves W1's bytes and multiply-adds
                        // with VNNI: taken where the FP units are 256 bits
                        // wide (measured faster on Zen 4), timed against
                        // step 23 elsewhere (VNNI's 512-bit multiply-adds
                        // have one port there, the FMAs two)
                        Kernel::Avx512Bits if choose::fma_units_256_bits_wide() => {
                            if avx512_fixed16::is_available() {
                                Kernel::Avx512Fixed16
                            } else {
                                Kernel::Avx512Pass
                            }
                        }
                        Kernel::Avx512Bits => {
                            let rows = if avx512_fixed16::is_available() {
                                choose::faster_on_pixels_one_by_one(Kernel::Avx512Pass, Kernel::Avx512Fixed16)
                            } else {
                                Kernel::Avx512Pass
                            };
                            choose::faster_on_pixels(rows, Kernel::Avx512Union)
                        }
                        other => other,
                    }
                } else if avx512::is_available() {
                    choose::faster_on_pixels_one_by_one(avx2, Kernel::Avx512Chain)
                } else {
                    avx2
                }
            });
        }
        if avx2::is_available() {
            Kernel::Avx2
        } else if cfg!(feature = "std") {
            Kernel::Tiled
        } else {
            Kernel::Ikj
        }
    }

    /// Whether [`crate::network::Network::pass`] runs a network on this
    /// kernel through step 23's [`avx512_pass::Pass`] below 6 rows: steps
    /// 23 and 24 (whose passes below 6 rows are step 23's).
    pub fn runs_step_23_pass(self) -> bool {
        matches!(self, Kernel::Avx512Pass | Kernel::Avx512Union | Kernel::Avx512Fixed16)
    }

    /// Whether the kernel reads u8 pixels in place ([`Kernel::dense_pixels`]),
    /// as `infer` then does at every batch size: steps 10 to 19. All run
    /// a wide first layer (W1) through step 7's zero-skipping rows on the
    /// pixels themselves (step 11 with 16-lane vectors, step 12 on whole
    /// lines, step 13 two rows at a time): no conversion
    /// pass, and on AVX2 step 10's W1 as fast as step 9's union tiles on the
    /// converted batch, the whole network 1.05–1.08× at batch 100 (AMD EPYC
    /// Zen 3, 2026-11-28; on an Intel Xeon step 10 on the pixels is also
    /// W1's fastest f32 form, docs/matmul.md). (Narrow layers of
    /// pixels, in no network of the book, go through union tiles that
    /// gather and pack each tile's pixels: 2–6% slower than converting
    /// first, measured on AVX2.)
    pub fn reads_pixels(self) -> bool {
        matches!(
            self,
            Kernel::Avx2
                | Kernel::Avx2Lines
                | Kernel::Avx2Pairs
                | Kernel::Avx2Chain
                | Kernel::Avx2Colour
                | Kernel::Avx2Fixed16
        ) || self.is_avx512()
    }

    /// One dense layer over u8 pixels read as `p / 255`, without the f32
    /// copy: for mostly-zero images (MNIST) the same result as
    /// [`crate::pixels::normalize`] then [`Kernel::dense`], bit for bit (see
    /// [`avx2::dense_pixels`]).
    ///
    /// # Panics
    /// If a slice length does not match its shape, or the kernel does not
    /// [read pixels](Kernel::reads_pixels).
    #[allow(clippy::too_many_arguments)]
    pub fn dense_pixels(
        self,
        m: usize,
        k: usize,
        n: usize,
        pixels: &[u8],
        b: &[f32],
        bias: &[f32],
        act: Activation,
        c: &mut [f32],
    ) {
        match self {
            Kernel::Avx512 => avx512::dense_pixels(m, k, n, pixels, b, bias, act, c),
            Kernel::Avx2Lines => avx2_lines::dense_pixels(m, k, n, pixels, b, bias, act, c),
            Kernel::Avx2Pairs | Kernel::Avx2Chain => avx2_pairs::dense_pixels(m, k, n, pixels, b, bias, act, c),
            Kernel::Avx512Lines => avx512_lines::dense_pixels(m, k, n, pixels, b, bias, act, c),
            Kernel::Avx512Epilogue => avx512_epilogue::dense_pixels(m, k, n, pixels, b, bias, act, c),
            Kernel::Avx512Prefetch => avx512_prefetch::dense_pixels(m, k, n, pixels, b, bias, act, c),
            Kernel::Avx512Rows | Kernel::Avx512Chain => avx512_rows::dense_pixels(m, k, n, pixels, b, bias, act, c),
            Kernel::Avx512Bits => avx512_bits::dense_pixels(m, k, n, pixels, b, bias, act, c),
            Kernel::Avx512Colour | Kernel::Avx512Pass => avx512_colour::dense_pixels(m, k, n, pixels, b, bias, act, c),
            Kernel::Avx512Union => avx512_union::dense_pixels(m, k, n, pixels, b, bias, act, c),
            Kernel::Avx512Fixed16 => avx512_fixed16::dense_pixels(m, k, n, pixels, b, bias, act, c),
            Kernel::Avx2Fixed16 => avx2_fixed16::dense_pixels(m, k, n, pixels, b, bias, act, c),
            Kernel::Avx2Colour => avx2_colour::dense_pixels(m, k, n, pixels, b, bias, act, c),
            _ => {
                assert!(self.reads_pixels(), "the {} kernel does not read pixels", self.name());
                avx2::dense_pixels(m, k, n, pixels, b, bias, act, c)
            }
        }
    }

    /// Whether a layer of `n` outputs on this kernel can go through
    /// [`crate::network::Network`]'s path of steps 18 to 23, checked once a
    /// pass ([`Kernel::dense_pixels_unchecked`],
    /// [`Kernel::dense_unchecked`]): a kernel of one of those steps whose
    /// rows take `n` columns (at most `N_MAX` on the AVX-512 steps).
    pub(crate) fn checks_once_a_pass(self, n: usize) -> bool {
        match self {
            Kernel::Avx512Chain
            | Kernel::Avx512Bits
            | Kernel::Avx512Colour
            | Kernel::Avx512Pass
            | Kernel::Avx512Union
            | Kernel::Avx512Fixed16 => avx512_chain::takes(n),
            Kernel::Avx2Chain | Kernel::Avx2Colour | Kernel::Avx2Fixed16 => true,
            _ => false,
        }
    }

    /// The first layer of a pass below [`avx512_chain::M_CHAIN`] rows of
    /// pixels on steps 18 to 23, with none of the layer call's checks.
    ///
    /// # Safety
    /// [`Kernel::checks_once_a_pass`]`(n)`; the CPU runs the kernel;
    /// [`avx512_chain::takes_pixels`]`(k, n)`; `pixels`, `b`, `bias` and
    /// `c` hold `m·k`, [`Kernel::prepared_len`]`(k, n)` (written by
    /// [`Kernel::prepare`]), `n` and `m·n` elements.
    #[cfg(target_arch = "x86_64")]
    #[allow(clippy::too_many_arguments)]
    pub(crate) unsafe fn dense_pixels_unchecked(
        self,
        m: usize,
        k: usize,
        n: usize,
        pixels: &[u8],
        b: &[f32],
        bias: &[f32],
        act: Activation,
        c: &mut [f32],
    ) {
        match self {
            Kernel::Avx512Chain => avx512_chain::dense_pixels_unchecked(m, k, n, pixels, b, bias, act, c),
            Kernel::Avx2Chain => avx2_chain::dense_pixels_unchecked(m, k, n, pixels, b, bias, act, c),
            Kernel::Avx512Bits => avx512_bits::dense_pixels_unchecked(m, k, n, pixels, b, bias, act, c),
            Kernel::Avx512Colour | Kernel::Avx512Pass | Kernel::Avx512Union => {
                avx512_colour::dense_pixels_unchecked(m, k, n, pixels, b, bias, act, c)
            }
            Kernel::Avx2Colour => avx2_colour::dense_pixels_unchecked(m, k, n, pixels, b, bias, act, c),
            Kernel::Avx512Fixed16 => avx512_fixed16::dense_pixels_unchecked(m, k, n, pixels, b, bias, act, c),
            Kernel::Avx2Fixed16 => avx2_fixed16::dense_pixels_unchecked(m, k, n, pixels, b, bias, act, c),
            _ => unreachable!("only steps 18 to 26 check once a pass"),
        }
    }

    /// A hidden or last layer of such a pass, on floats, with none of the
    /// layer call's checks and no scan for mostly-zero inputs.
    ///
    /// # Safety
    /// [`Kernel::checks_once_a_pass`]`(n)`; the CPU runs the kernel; `a`,
    /// `b`, `bias` and `c` hold `m·k`, [`Kernel::prepared_len`]`(k, n)`,
    /// `n` and `m·n` elements.
    #[cfg(target_arch = "x86_64")]
    #[allow(clippy::too_many_arguments)]
    pub(crate) unsafe fn dense_unchecked(
        self,
        m: usize,
        k: usize,
        n: usize,
        a: &[f32],
        b: &[f32],
        bias: &[f32],
        act: Activation,
        c: &mut [f32],
    ) {
        match self {
            Kernel::Avx512Chain | Kernel::Avx512Bits => avx512_chain::dense_unchecked(m, k, n, a, b, bias, act, c),
            Kernel::Avx2Chain => avx2_chain::dense_unchecked(m, k, n, a, b, bias, act, c),
            Kernel::Avx512Colour | Kernel::Avx512Pass | Kernel::Avx512Union => {
                avx512_colour::dense_unchecked(m, k, n, a, b, bias, act, c)
            }
            Kernel::Avx2Colour => avx2_colour::dense_unchecked(m, k, n, a, b, bias, act, c),
            Kernel::Avx512Fixed16 => avx512_fixed16::dense_unchecked(m, k, n, a, b, bias, act, c),
            Kernel::Avx2Fixed16 => avx2_fixed16::dense_unchecked(m, k, n, a, b, bias, act, c),
            _ => unreachable!("only steps 18 to 26 check once a pass"),
        }
    }

    /// Elements of the buffer that [`Kernel::prepare`] fills for a `k×n` B.
    pub const fn prepared_len(self, k: usize, n: usize) -> usize {
        match self {
            Kernel::Naive | Kernel::Ikj | Kernel::Blocked => k * n,
            Kernel::Tiled => tiled::packed_len(k, n),
            Kernel::Avx2Tile => avx2_tile::packed_len(k, n),
            Kernel::Avx2Row
            | Kernel::Avx2Sparse
            | Kernel::Avx2L1
            | Kernel::Avx2Fused
            | Kernel::Avx2Union
            | Kernel::Avx2
            | Kernel::Avx512 => avx2_row::prepared_len(k, n),
            Kernel::Avx2Lines
            | Kernel::Avx2Pairs
            | Kernel::Avx512Lines
            | Kernel::Avx512Epilogue
            | Kernel::Avx512Prefetch
            | Kernel::Avx512Rows
            | Kernel::Avx512Chain
            | Kernel::Avx2Chain
            | Kernel::Avx512Bits => avx2_lines::prepared_len(k, n),
            Kernel::Avx512Colour | Kernel::Avx2Colour | Kernel::Avx512Pass | Kernel::Avx512Union => {
                avx512_colour::prepared_len(k, n)
            }
            Kernel::Avx512Fixed16 | Kernel::Avx2Fixed16 => avx512_fixed16::prepared_len(k, n),
        }
    }

    /// Writes B (`k×n`, row-major) into `out` in this kernel's layout.
    ///
    /// Any `out` works; one that starts on a 64-byte boundary is faster
    /// for the vector kernels, whose 32-byte loads along B's rows then never
    /// span two cache lines (the whole network 1.07–1.12× on AMD Zen 3
    /// against a buffer 16 bytes into a line, where a large `Vec` lands;
    /// `infer` keeps its prepared weights in such a buffer,
    /// `infer::lines::Lines`).
    ///
    /// # Panics
    /// If `b.len() != k * n` or `out.len() != self.prepared_len(k, n)`.
    pub fn prepare(self, k: usize, n: usize, b: &[f32], out: &mut [f32]) {
        assert_eq!(b.len(), k * n, "B must be k×n = {k}×{n}");
        assert_eq!(out.len(), self.prepared_len(k, n), "prepared buffer length");
        match self {
            Kernel::Naive | Kernel::Ikj | Kernel::Blocked => out.copy_from_slice(b),
            Kernel::Tiled => tiled::pack(k, n, b, out),
            Kernel::Avx2Tile => avx2_tile::pack(k, n, b, out),
            Kernel::Avx2Row
            | Kernel::Avx2Sparse
            | Kernel::Avx2L1
            | Kernel::Avx2Fused
            | Kernel::Avx2Union
            | Kernel::Avx2
            | Kernel::Avx512 => avx2_row::prepare(k, n, b, out),
            Kernel::Avx2Lines
            | Kernel::Avx2Pairs
            | Kernel::Avx512Lines
            | Kernel::Avx512Epilogue
            | Kernel::Avx512Prefetch
            | Kernel::Avx512Rows
            | Kernel::Avx512Chain
            | Kernel::Avx2Chain
            | Kernel::Avx512Bits => avx2_lines::prepare(k, n, b, out),
            Kernel::Avx512Colour | Kernel::Avx2Colour | Kernel::Avx512Pass | Kernel::Avx512Union => {
                avx512_colour::prepare(k, n, b, out)
            }
            Kernel::Avx512Fixed16 | Kernel::Avx2Fixed16 => avx512_fixed16::prepare(k, n, b, out),
        }
    }

    /// `C = A·B` with B prepared by [`Kernel::prepare`].
    ///
    /// # Panics
    /// If a slice length does not match its shape, or the kernel is not
    /// [available](Kernel::is_available).
    pub fn run(self, m: usize, k: usize, n: usize, a: &[f32], b: &[f32], c: &mut [f32]) {
        match self {
            Kernel::Naive => naive::matmul(m, k, n, a, b, c),
            Kernel::Ikj => ikj::matmul(m, k, n, a, b, c),
            Kernel::Blocked => blocked::matmul(m, k, n, a, b, c),
            Kernel::Tiled => tiled::matmul(m, k, n, a, b, c),
            Kernel::Avx2Tile => avx2_tile::matmul(m, k, n, a, b, c),
            Kernel::Avx2Row => avx2_row::matmul(m, k, n, a, b, c),
            Kernel::Avx2Sparse => avx2_sparse::matmul(m, k, n, a, b, c),
            Kernel::Avx2L1 => avx2_l1::matmul(m, k, n, a, b, c),
            Kernel::Avx2Fused => avx2_fused::matmul(m, k, n, a, b, c),
            Kernel::Avx2Union => avx2_union::matmul(m, k, n, a, b, c),
            Kernel::Avx2 => avx2::matmul(m, k, n, a, b, c),
            Kernel::Avx512 => avx512::matmul(m, k, n, a, b, c),
            Kernel::Avx2Lines => avx2_lines::matmul(m, k, n, a, b, c),
            Kernel::Avx2Pairs | Kernel::Avx2Chain => avx2_pairs::matmul(m, k, n, a, b, c),
            Kernel::Avx512Lines => avx512_lines::matmul(m, k, n, a, b, c),
            Kernel::Avx512Epilogue | Kernel::Avx512Prefetch => avx512_epilogue::matmul(m, k, n, a, b, c),
            Kernel::Avx512Rows | Kernel::Avx512Chain | Kernel::Avx512Bits => avx512_rows::matmul(m, k, n, a, b, c),
            Kernel::Avx512Colour | Kernel::Avx512Pass | Kernel::Avx512Union => avx512_colour::matmul(m, k, n, a, b, c),
            Kernel::Avx2Colour => avx2_colour::matmul(m, k, n, a, b, c),
            Kernel::Avx512Fixed16 => avx512_fixed16::matmul(m, k, n, a, b, c),
            Kernel::Avx2Fixed16 => avx2_fixed16::matmul(m, k, n, a, b, c),
        }
    }

    /// One dense layer: `C = act(A·B + bias)`, with B prepared by
    /// [`Kernel::prepare`] and `bias` of length `n`.
    ///
    /// # Panics
    /// If a slice length does not match its shape.
    #[allow(clippy::too_many_arguments)]
    pub fn dense(
        self,
        m: usize,
        k: usize,
        n: usize,
        a: &[f32],
        b: &[f32],
        bias: &[f32],
        act: Activation,
        c: &mut [f32],
    ) {
        match self {
            Kernel::Avx2Fused => return avx2_fused::dense(m, k, n, a, b, bias, act, c),
            Kernel::Avx2L1 => return avx2_l1::dense(m, k, n, a, b, bias, act, c),
            Kernel::Avx2Union => return avx2_union::dense(m, k, n, a, b, bias, act, c),
            Kernel::Avx2 => return avx2::dense(m, k, n, a, b, bias, act, c),
            Kernel::Avx512 => return avx512::dense(m, k, n, a, b, bias, act, c),
            Kernel::Avx2Lines => return avx2_lines::dense(m, k, n, a, b, bias, act, c),
            Kernel::Avx2Pairs | Kernel::Avx2Chain => return avx2_pairs::dense(m, k, n, a, b, bias, act, c),
            Kernel::Avx512Lines => return avx512_lines::dense(m, k, n, a, b, bias, act, c),
            Kernel::Avx512Epilogue | Kernel::Avx512Prefetch => {
                return avx512_epilogue::dense(m, k, n, a, b, bias, act, c)
            }
            Kernel::Avx512Rows | Kernel::Avx512Chain | Kernel::Avx512Bits => {
                return avx512_rows::dense(m, k, n, a, b, bias, act, c)
            }
            Kernel::Avx512Colour | Kernel::Avx512Pass | Kernel::Avx512Union => {
                return avx512_colour::dense(m, k, n, a, b, bias, act, c)
            }
            Kernel::Avx2Colour => return avx2_colour::dense(m, k, n, a, b, bias, act, c),
            Kernel::Avx512Fixed16 => return avx512_fixed16::dense(m, k, n, a, b, bias, act, c),
            Kernel::Avx2Fixed16 => return avx2_fixed16::dense(m, k, n, a, b, bias, act, c),
            _ => {}
        }
        assert_eq!(bias.len(), n, "bias must have n = {n} elements");
        self.run(m, k, n, a, b, c);
        if n > 0 {
            activation::add_bias(c, bias);
        }
        act.apply(c);
    }
}

/// `C = A·B` with any kernel, shapes checked. `prepared` is scratch of
/// `kernel.prepared_len(k, n)` elements that receives B in the kernel's
/// layout.
///
/// # Errors
/// [`ShapeError`] if the inner dimensions, the shape of C or the scratch
/// length do not match.
pub fn matmul(
    kernel: Kernel,
    a: MatRef<'_>,
    b: MatRef<'_>,
    prepared: &mut [f32],
    mut c: MatMut<'_>,
) -> Result<(), ShapeError> {
    let (m, k, n) = (a.rows(), a.cols(), b.cols());
    if b.rows() != k {
        return Err(ShapeError::Dim { what: "k (rows of B)", expected: k, found: b.rows() });
    }
    if c.rows() != m {
        return Err(ShapeError::Dim { what: "m (rows of C)", expected: m, found: c.rows() });
    }
    if c.cols() != n {
        return Err(ShapeError::Dim { what: "n (columns of C)", expected: n, found: c.cols() });
    }
    let len = kernel.prepared_len(k, n);
    if prepared.len() != len {
        return Err(ShapeError::Len { what: "prepared B", expected: len, found: prepared.len() });
    }
    kernel.prepare(k, n, b.as_slice(), prepared);
    kernel.run(m, k, n, a.as_slice(), prepared, c.as_mut_slice());
    Ok(())
}
