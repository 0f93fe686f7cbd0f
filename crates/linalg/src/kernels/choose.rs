//! Choosing between two kernels by measuring them on this core, for
//! [`super::Kernel::best`] where a rule written from one CPU would be a
//! guess on another (AVX-512 on Intel against AMD Zen 4).
//!
//! The work is the book's network in miniature, at batch 12 (two of the
//! 6-row tiles): a first layer of 784 mostly-zero u8 pixels (about one in
//! five non-zero, as MNIST's, drawn as rings that neighbouring rows partly
//! share, see `pixel`) to 50 sigmoid units, read as `infer` reads them
//! (in place where the kernel [reads them](Kernel::reads_pixels),
//! else converted to f32 first), then a dense 50 → 100 layer; the weights
//! on a cache line, as `infer` keeps them. The two kernels take turns,
//! round after round, so that a change of the machine's speed between them
//! shows in both; each keeps its fastest round. About a millisecond a
//! choice (2–4 ms on an Intel Xeon in a slow state of its VM).

use super::Kernel;
use crate::activation::Activation;
use std::time::{Duration, Instant};
use std::{vec, vec::Vec};

/// Rounds of the two kernels in turn.
const ROUNDS: usize = 7;
/// Passes over both layers per kernel per round.
const PASSES: usize = 8;
/// Rows of the batch: two tiles of 6.
const M: usize = 12;
/// The layers: `(k, n, one input in how many non-zero)`.
const LAYERS: [(usize, usize, usize); 2] = [(784, 50, 5), (50, 100, 1)];

/// `b` must take less than this share of `a`'s time to be chosen: 9/10,
/// i.e. be more than 10% faster. Where the two measure level, processes
/// would otherwise pick one or the other at random: on AMD Zen 4, where
/// steps 10 and 11 are within the VM's noise of each other in the network
/// (0.92–1.06× at batch 1, 1.01–1.04× at batch 100), `infer eval` picked
/// step 10 in 18 of 20 processes with no margin, 29 of 30 with 5%, 40 of
/// 40 with 10%; two measurements that each took the default had timed
/// different kernels (docs/performance.md).
const MARGIN: (u32, u32) = (9, 10);

/// Of `a` and `b` (both available on this CPU), `b` if it runs the work
/// above in less than 90% of `a`'s time, else `a`: where the two are
/// level, every process keeps `a`. For any two kernels, on both layers;
/// [`Kernel::best`] no longer calls it since it stopped timing step 11
/// (its steps differ on the first layer only).
pub fn faster(a: Kernel, b: Kernel) -> Kernel {
    pick(&Work::new(a, &LAYERS), &Work::new(b, &LAYERS), Work::time, MARGIN).kernel
}

/// [`faster`] on the first layer alone, the pixels into W1: for two
/// kernels that differ only there (steps 12 and 13), so that the hidden
/// layer's time, the same for both, does not dilute the difference.
pub fn faster_on_pixels(a: Kernel, b: Kernel) -> Kernel {
    pick(&Work::new(a, &LAYERS[..1]), &Work::new(b, &LAYERS[..1]), Work::time, MARGIN).kernel
}

/// For a kernel `b` that differs from `a` on the first layer only and
/// wins there on single images (step 14 against steps 12 and 13 on an
/// Intel Xeon: 1.22–1.34× on W1 at batch 1, 1.04–1.17× at batch 12,
/// docs/matmul.md): `b` if it runs the pixels of the work above one image
/// at a time faster than `a` (no margin: with one, 1.12–1.30× in ten
/// processes there, the choice flipped), and a batch of them in no more
/// than `BATCH_BOUND` (1.5) times `a`'s time; where `b` fails either,
/// both are timed once more with the stack 1,552 bytes deeper (a process
/// whose stack lands where the drawn images time `b` far slower, about
/// one in eighty on AMD Zen 4, then measures as the others do); else
/// `a`. So `b` is chosen where it gains on single images and does not
/// lose much on batches. (The bound is loose because the drawn rings favour step 13,
/// whose pairs of rings share more pixels than pairs of digits do: on
/// that Xeon step 14 ran this work's batch of 12 at 0.82–1.10× step 13's
/// speed in 22 processes, but W1 at batch 12 of the test images at
/// 1.04–1.17×, and the network at batch 100 level with it. With a bound
/// of 1.1, 1.15 or 1.2 the choice differed between processes there; with
/// 1.25 it did on AMD Zen 4, see `BATCH_BOUND` in this module.)
pub fn faster_on_pixels_one_by_one(a: Kernel, b: Kernel) -> Kernel {
    let works = (Work::new(a, &LAYERS[..1]), Work::new(b, &LAYERS[..1]));
    if wins_one_by_one(&works) || wins_with_the_stack_moved(&works) {
        b
    } else {
        a
    }
}

/// Whether this CPU is one whose 512-bit FMAs run as two 256-bit halves,
/// by CPUID: AMD's family 25 (Zen 3, without AVX-512, and Zen 4). There
/// [`Kernel::best`] does not time step 24 ([`Kernel::Avx512Union`]), whose
/// union tiles do 2.2× the FMAs of step 23's rows for a sixth of W1's
/// loads: on AMD Zen 4 (2026-12-07) it ran 0.87–0.91× step 23 at batch
/// 100, and the choice cost `make run`'s process 1.6 ms (28.7 → 30.3 ms,
/// medians of 15 runs each in turn, pinned). Every other AVX-512 CPU,
/// Intel's with one or two 512-bit FMA units, AMD's family 26 (Zen 5,
/// 512-bit units), has it timed.
pub fn fma_units_256_bits_wide() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        use core::arch::x86_64::__cpuid;
        let vendor = __cpuid(0);
        let amd = [vendor.ebx, vendor.edx, vendor.ecx] == [*b"Auth", *b"enti", *b"cAMD"].map(u32::from_le_bytes);
        let eax = __cpuid(1).eax;
        let base = (eax >> 8) & 0xf;
        let family = if base == 0xf { base + ((eax >> 20) & 0xff) } else { base };
        amd && family == 25
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// How far [`wins_with_the_stack_moved`] moves the stack: 1,552 bytes,
/// neither a multiple of a 64-byte line nor near one of a 4 KB page.
const STACK_SHIFT: usize = 1552;

/// [`wins_one_by_one`] once more, called with the stack [`STACK_SHIFT`]
/// bytes deeper. On AMD Zen 4 (2026-12-07) about one process in eighty
/// (10 of 800, pinned) timed step 18 far slower than every other process
/// did in every round, on single images (1.08–1.18× the AVX2 step's time
/// where the others gave 0.54–1.00×, median 0.83×) or on the batch
/// (1.57–1.94× where they gave 0.71–1.36×, median 1.13×), and picked the
/// AVX2 step (7 of 500 before this retry); the same process,
/// timing the same buffers again here, gave 0.80–0.84× and 1.10–1.17×:
/// 10 of 10, and 0 wrong picks in the 800. So it is the stack's place in
/// its 4 KB page, which ASLR draws anew for each process (step 18 kept
/// its index buffer on the stack, step 20 keeps none; which access
/// suffered was not pinned down), against the few fixed page offsets of the drawn images (the
/// test images, on all offsets, showed no such process: step 18
/// 1.14–1.72× the AVX2 step at batch 1 in 200 of 200). Buffers allocated
/// anew, which the choice timed here until then, never turned such a
/// process around (0 of 1,300).
#[inline(never)]
fn wins_with_the_stack_moved(works: &(Work, Work)) -> bool {
    let pad = [0u8; STACK_SHIFT];
    std::hint::black_box(&pad);
    let won = wins_one_by_one(works);
    std::hint::black_box(&pad);
    won
}

/// Whether the second of `works` runs single images faster than the
/// first and the batch in no more than [`BATCH_BOUND`] times its time.
fn wins_one_by_one((work_a, work_b): &(Work, Work)) -> bool {
    pick(work_a, work_b, Work::time_one_by_one, (1, 1)).kernel == work_b.kernel
        && pick(work_a, work_b, Work::time, BATCH_BOUND).kernel == work_b.kernel
}

/// How much slower than `a` on the drawn batch of 12 `b` may be and still
/// be chosen by [`faster_on_pixels_one_by_one`]: 3/2. It was 5/4 until
/// 2026-12-07, when on AMD Zen 4 (family 25 model 17) `infer eval` picked
/// an AVX2 step instead of step 17 in 2 of 20 processes, pinned or not,
/// and those run the test images 0.89–0.90× as fast at batch 1 and
/// 0.84–0.97× at batch 100 (`infer sweep --kernel
/// avx512-rows,avx2-pairs,avx2-lines --repeat 7`). There step 17 ran this
/// batch of rings at 1.09–1.33× step 13's time in 30 processes (median
/// 1.17×; step 13's best round against step 17's, as here), while on the
/// test images at batch 100 it is the faster of the two: the rings' bias
/// towards step 13 is larger than the 1.25 left room for. 1.5 keeps the
/// guard against a kernel that loses badly on batches.
const BATCH_BOUND: (u32, u32) = (3, 2);

/// Of `a` and `b`, the one `time` finds faster: the two take turns for
/// `ROUNDS` rounds and each keeps its fastest round; `a` on a tie. The
/// method of [`faster`], without its margin, for other contenders (the
/// int8 passes of `infer`, whose choice is not close).
pub fn faster_by<T: Copy>(a: T, b: T, time: impl FnMut(T) -> Duration) -> T {
    pick(a, b, time, (1, 1))
}

/// `b` if its fastest round took less than `margin.0 / margin.1` of `a`'s.
fn pick<T: Copy>(a: T, b: T, mut time: impl FnMut(T) -> Duration, margin: (u32, u32)) -> T {
    let (mut best_a, mut best_b) = (Duration::MAX, Duration::MAX);
    for _ in 0..ROUNDS {
        best_a = best_a.min(time(a));
        best_b = best_b.min(time(b));
    }
    if best_b * margin.1 < best_a * margin.0 {
        b
    } else {
        a
    }
}

/// One kernel's prepared weights and its inputs and outputs.
struct Work {
    kernel: Kernel,
    layers: Vec<Layer>,
}

struct Layer {
    k: usize,
    n: usize,
    /// The inputs as u8 pixels (`x = p / 255`) and as floats.
    pixels: Vec<u8>,
    x: Vec<f32>,
    /// The prepared weights from `start` on, which is on a 64-byte line.
    prepared: Vec<f32>,
    start: usize,
    bias: Vec<f32>,
}

impl Layer {
    fn weights(&self) -> &[f32] {
        &self.prepared[self.start..]
    }
}

/// Input `p` of row `r`. For the pixels (`every` = 5, 784 of them, read as
/// a 28 × 28 image) a drawn zero: a ring three pixels wide whose radius,
/// 6 to 9, steps with the row, so that neighbouring rows overlap in part.
/// 151 of the 784 pixels are non-zero on average over the four radii, as
/// in the average MNIST test image,
/// and two neighbouring rows' union holds 204 (MNIST: 227); the strokes
/// run along the image's lines, as a digit's do, which matters for
/// step 13 (pairs of rows) against step 12. (A pattern of every 5th
/// pixel, with no strokes, had both run 1.4 times as long as on the test
/// images and step 13 gain 1.05× over step 12 there, against 1.18× on
/// the test images and 1.25× on these rings: AMD EPYC Zen 3.) For dense
/// inputs (`every` = 1) every input is non-zero.
fn pixel(r: usize, p: usize, every: usize) -> u8 {
    let value = ((r * 31 + p) % 251) as u8 + 1;
    if every == 1 {
        return value;
    }
    let (y, x) = ((p / 28) as i64 - 14, (p % 28) as i64 - 14);
    let (radius, d2) = (6 + (r % 4) as i64, y * y + x * x);
    if (radius - 1) * (radius - 1) <= d2 && d2 < (radius + 2) * (radius + 2) {
        value
    } else {
        0
    }
}

impl Work {
    fn new(kernel: Kernel, layers: &[(usize, usize, usize)]) -> Work {
        let layers = layers
            .iter()
            .map(|&(k, n, every)| {
                // fixed, varied values; no randomness needed to time
                let w: Vec<f32> = (0..k * n).map(|i| ((i * 37 % 101) as f32 - 50.0) / 500.0).collect();
                let pixels: Vec<u8> = (0..M * k).map(|i| pixel(i / k, i % k, every)).collect();
                let x = pixels.iter().map(|&p| crate::pixels::VALUES[p as usize]).collect();
                let len = kernel.prepared_len(k, n);
                let mut prepared = vec![0.0; len + 15];
                let start = prepared.as_ptr().align_offset(64).min(15);
                kernel.prepare(k, n, &w, &mut prepared[start..start + len]);
                prepared.truncate(start + len);
                Layer { k, n, pixels, x, prepared, start, bias: vec![0.1; n] }
            })
            .collect();
        Work { kernel, layers }
    }

    /// The time of `PASSES` passes over the first layer's `M` rows of
    /// pixels one at a time, as `infer` runs batch 1.
    fn time_one_by_one(&self) -> Duration {
        let l = &self.layers[0];
        let (k, n, w, b, act) = (l.k, l.n, l.weights(), &l.bias, Activation::Sigmoid);
        let (mut c, mut x0) = (vec![0.0; M * n], vec![0.0; k]);
        let start = Instant::now();
        for _ in 0..PASSES {
            for (r, c_row) in c.chunks_exact_mut(n).enumerate() {
                let pixels = &l.pixels[r * k..(r + 1) * k];
                if self.kernel.reads_pixels() {
                    self.kernel.dense_pixels(1, k, n, pixels, w, b, act, c_row)
                } else {
                    crate::pixels::normalize(pixels, &mut x0);
                    self.kernel.dense(1, k, n, &x0, w, b, act, c_row)
                }
            }
        }
        let elapsed = start.elapsed();
        std::hint::black_box(&c);
        elapsed
    }

    /// The time of `PASSES` passes over every layer.
    fn time(&self) -> Duration {
        let mut out: Vec<Vec<f32>> = self.layers.iter().map(|l| vec![0.0; M * l.n]).collect();
        let mut x0 = vec![0.0; self.layers[0].x.len()];
        let in_place = self.kernel.reads_pixels();
        let start = Instant::now();
        for _ in 0..PASSES {
            for (i, (l, c)) in self.layers.iter().zip(out.iter_mut()).enumerate() {
                let (k, n, w, b, act) = (l.k, l.n, l.weights(), &l.bias, Activation::Sigmoid);
                match i {
                    0 if in_place => self.kernel.dense_pixels(M, k, n, &l.pixels, w, b, act, c),
                    0 => {
                        crate::pixels::normalize(&l.pixels, &mut x0);
                        self.kernel.dense(M, k, n, &x0, w, b, act, c)
                    }
                    _ => self.kernel.dense(M, k, n, &l.x, w, b, act, c),
                }
            }
        }
        let elapsed = start.elapsed();
        std::hint::black_box(&out);
        elapsed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn b_is_chosen_only_when_more_than_10_percent_faster_or_within_the_batch_bound() {
        let ms = Duration::from_micros;
        // `a` takes 1000 µs in every round; `b` the time given
        let with_margin = |b_time: u64| pick(1000, b_time, ms, MARGIN);
        assert_eq!(with_margin(1000), 1000);
        assert_eq!(with_margin(900), 1000);
        assert_eq!(with_margin(899), 899);
        assert_eq!(with_margin(700), 700);
        assert_eq!(with_margin(1200), 1000);
        // the batch bound of faster_on_pixels_one_by_one: `b` may take up
        // to (not including) 1.5 times `a`'s time
        let bounded = |b_time: u64| pick(1000, b_time, ms, BATCH_BOUND);
        assert_eq!(bounded(1499), 1499);
        assert_eq!(bounded(1500), 1000);
        assert_eq!(bounded(1250), 1250);
        // without it (the int8 passes), the faster one, `a` on a tie
        let without = |b_time: u64| faster_by(1000, b_time, ms);
        assert_eq!(without(1000), 1000);
        assert_eq!(without(999), 999);
    }

    /// This machine's CPUID: the VMs this project has run on report AMD
    /// family 25 for Zen 3 and Zen 4 and Intel family 6 for the Xeon.
    /// (Under qemu-aarch64 /proc/cpuinfo is the x86 host's.)
    #[cfg(target_arch = "x86_64")]
    #[test]
    fn fma_units_256_bits_wide_only_on_amd_family_25() {
        let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let field =
            |name: &str| cpuinfo.lines().find(|l| l.starts_with(name)).and_then(|l| l.split(':').nth(1)).map(str::trim);
        if let (Some(vendor), Some(family)) = (field("vendor_id"), field("cpu family")) {
            assert_eq!(
                fma_units_256_bits_wide(),
                vendor == "AuthenticAMD" && family == "25",
                "{vendor} family {family}"
            );
        }
    }

    #[test]
    fn faster_returns_one_of_the_two() {
        let chosen = faster(Kernel::Ikj, Kernel::Naive);
        assert!(chosen == Kernel::Ikj || chosen == Kernel::Naive);
        // one that reads the pixels in place against one that converts them
        if Kernel::Avx2.is_available() {
            let chosen = faster(Kernel::Avx2, Kernel::Avx2Union);
            assert!(chosen == Kernel::Avx2 || chosen == Kernel::Avx2Union);
        }
    }
}
