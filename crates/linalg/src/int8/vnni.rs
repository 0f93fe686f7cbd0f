//! Integer step 2: the int8 forward pass with AVX-512 VNNI (`vpdpbusd`),
//! bit-identical to the portable pass ([`super::QNetwork::logits`]).
//!
//! What changed from step 1 ([`super::avx2`], `vpmaddwd` on `i16` pairs):
//!
//! - **`vpdpbusd` on the model's own types.** It multiplies unsigned bytes
//!   (the u8 activations) by signed bytes (the int8 weights), adds each
//!   lane's four products into its `i32` sum, with no intermediate
//!   saturation (the non-saturating form): 64 multiply-adds per
//!   instruction, against `vpmaddwd`'s 16 on AVX2. No widening: the prepared
//!   W1 is 39 KB of `i8` quads instead of 88 KB of `i16` pairs.
//! - **Weights as quads of rows.** For each group of four input rows
//!   `4t..4t+4` and each column `j`, the four weights side by side: one
//!   32-bit lane. Whole vectors of 16 columns, then (tenth session) the 1
//!   to 4 columns after them as a narrow tail of 2 or 4 words a quad,
//!   stored after every quad's main part and summed on 128-bit vectors
//!   ([`split`]); 5 to 15 left over are padded to a vector. Rows past `k`
//!   zero. For W1 (50 columns) a quad is three lines and 8 bytes of tail
//!   instead of four lines: 39 KB instead of 50, so that the quads most
//!   images use (100 of the 196 cover 96.5% of the non-zero quads of the
//!   test set) fit in a 32 KB L1 beside W2 and W3.
//! - **Zero skipping by quads.** Four input bytes read as one `u32`; a quad
//!   of four zero pixels adds nothing and is skipped. The masks of four
//!   blocks of 16 quads (`vptestmd`, 64 bytes each) go side by side into
//!   one `u64` (tenth session; before, one 16-bit mask a loop), so that the
//!   loop over the set bits ends, with a mispredicted branch, 4 times an
//!   image (784 pixels: 196 quads) instead of 13.
//! - **Hidden inputs summed without looking for zeros** (tenth session): a
//!   hidden layer's input is sigmoid bytes, rarely zero, so every quad is
//!   summed with no test, and a row of one or two vectors (the book's W3:
//!   25 quads on one vector) spreads its quads over 4 or 2 sets of sums
//!   in turn, added at the end, so that that many chains of `vpdpbusd`
//!   hide each other's latency. Integer sums are the same in any order.
//! - **A row of sums in registers**: up to 7 vectors (112 columns, every
//!   layer of the book) for the whole input loop.
//! - **The requantization 16 lanes at a time**, while the sums are in
//!   registers: `+ bias` (wrapping, as the portable pass), then
//!   `(acc · mult + 2^(s-1)) >> s` with 64-bit products of the even and the
//!   odd lanes (`vpmuldq`) and AVX-512's arithmetic shift of 64-bit lanes
//!   by a per-lane count (`vpsravq`), the low 32 bits kept: the portable
//!   pass's arithmetic, lane by lane. (Until the eighth session it ran in
//!   the portable pass's scalar code on stored sums: about ten scalar
//!   operations for each of the 160 outputs of an image, as many
//!   instructions as the products of W2 and W3 together.) Its constants
//!   are now prepared with the weights (2026-12-07, after the fetch below)
//!   ([`CONSTS`]: the bias, the multipliers of the even and of the odd
//!   lanes, each lane's clamped shift and `2^(s-1)` as 64-bit lanes), so
//!   a vector of 16 outputs costs ten instructions, their loads memory
//!   operands, where masked loads, a widening of the shifts, their clamp
//!   and the rounding terms took about 23 for every vector of every
//!   image: 1.05× and 1.04× at batch 1, 1.04× and 1.03× at batch 100 on
//!   AMD Zen 4 (the builds in turn, two runs of 21 rounds).
//! - **The sigmoid table in registers** (ninth session): a hidden layer's
//!   requantized vectors go through the 256-byte table held as 64 words in
//!   four vectors (two `vpermt2d`, a blend, a shift: about ten
//!   instructions for 16 outputs) and straight into the next layer's input
//!   row as bytes (`vpmovdb` with the row's mask), the last layer's sums
//!   straight into the caller's logits: no pass of the shared driver over
//!   stored sums (a clamp, a table load and a store for each of the 150
//!   hidden outputs of an image), as step 1's batched pass does with byte
//!   shuffles. (Not byte permutes: `vpermb` needs AVX-512 VBMI, which
//!   Cascade Lake lacks.)
//!
//! Image by image, every layer; over a batch ([`logits_batch`],
//! 2026-12-07) each image's 13 lines of pixels are asked of the cache
//! (`prefetcht0`) while the image before it is summed, as the f32
//! ladder's step 16 does: they come from L3 or memory, and W1's first
//! masks waited on them (`perf annotate`: about 12% of the pass's samples
//! on the four `vptestmd`). Step 1's register tiles for the hidden
//! layers are not carried over: there `MR` images share each load of the
//! weights because `vpmaddwd` and its add are two instructions per load;
//! `vpdpbusd` with its weights as a memory operand is one, so a tile would
//! save only loads (and with 7 vectors of sums per image, at most 4
//! images fit in the 32 registers). On AMD Zen 4 two images sharing each
//! load of W1 measured level (below): loads do not limit this pass there.
//!
//! Measured on AMD Zen 4 (family 25 model 17, AVX-512 VNNI on 256-bit
//! units, 2026-12-07, `infer sweep --batch-sizes 1,100 --precision int8
//! --repeat 5`, the builds before and after in turn, medians of the
//! per-round ratios): the tail and the dense hidden layers 1.10× at batch
//! 1 and 1.05× at batch 100 (nine rounds), then the walk over 64 quads
//! 1.30× and 1.26× (nine rounds); the two against the build before, 1.35×
//! and 1.35× (eleven rounds, 1.13–1.75). The f32 network's step 23 against
//! this pass in the same process (`--precision f32,int8 --repeat 11`, two
//! runs): int8 2.07× and 2.10× f32 at batch 1, 1.68× and 1.65× at batch
//! 100 (before: 1.60×). Tried there and not kept: W1's non-zero quads
//! over two sets of sums in turn (0.97×), the hidden bytes written by an
//! unmasked 16-byte store instead of `vpmovdb` with a mask (1.03×, within
//! the noise). Probes with the layers from one on left out (timing only,
//! six rounds, in a slow state of the VM) then put about 20 ns of an
//! image outside the layers, 130–200 in W1, 120–170 in W2 and 40–60 in
//! W3. W2's 13 quads on 7 vectors cost far more than their 91
//! `vpdpbusd`: the four sets of sums, sized by a count the compiler did
//! not see as a constant, lived on the stack, zeroed by a `memset` for
//! every row (`perf record -e cpu-clock`: 5.7% of the pass in `memset`).
//! With the sets a constant of each instantiation, W2 took about 75 ns
//! and W3 35 (seven rounds), and the pass 1.03–1.13× (two runs of nine
//! rounds, noisy). Then (`--precision f32,int8 --repeat 11`, two runs)
//! int8 2.20× and 2.09× f32 at batch 1, 1.67× and 1.76× at batch 100.
//! Tried and not kept: two images at a time in W1, walked over the union
//! of their non-zero quads with each row of weights loaded once for both
//! (76 quads a pair against 56 an image), 0.97× image by image at batch
//! 100 (seven rounds); with the pair's sums first left in memory by the
//! compiler, 0.73×. Each image's own walk of W1, the two images' walks
//! taking turns by 64 quads (each image's chains running while the other
//! walks): 0.92× at batch 100 (two runs of eleven rounds). The later
//! layers two images at a time, each row of W2 and W3 loaded once for
//! both, the two images' sums as independent chains: batch 100 over
//! batch 1 in one process said 1.04–1.07× against 0.99–1.00× (three runs
//! each), but the builds in turn at batch 100 said 0.97×, 0.94×, 0.95×,
//! 0.89× and 0.91× (runs of 15, 15, 9, 21 and 21 rounds), so it was
//! taken out again. The next image fetched ahead over a batch, the builds
//! in turn (`infer sweep --batch-sizes 1,100 --precision int8 --repeat
//! 5`, eleven rounds a run, in a noisy state of the VM): 1.24×, 1.08× and
//! 1.10× at batch 100, with batch 1 (the same code) at 1.06×, 0.96× and
//! 0.97×.
//!
//! Checked once a run ([`Pass`], as the f32 ladder's step 23; fourteenth
//! session, same CPU): the CPU's features and each prepared layer's
//! length and width were checked for every call, so for every image at
//! batch 1. `infer` now makes one [`Pass`] a run and its calls check only
//! their slices. The builds in turn (`infer sweep --batch-sizes 1
//! --precision int8 --repeat 5`, fifteen rounds, a noisy state of the
//! VM): 1.08× at batch 1, every round above 1.00× (1.01–1.86); with
//! batch 100 in the same sweeps 1.09× and 1.02× (0.91–1.49), where the
//! check ran once a batch of 100 before as after. `infer sweep
//! --breakdown` put the pass with no layer at 22–25 ns an image against
//! 30 before.
//!
//! Checked: written on AMD Zen 3 (no VNNI) and first run on an emulated
//! Ice Lake (Bochs 3, `AVX512_EMU_BOCHS=... make test-avx512`), then on
//! an Intel Xeon with VNNI (`make test`, 2026-12-02): in both
//! `crates/infer/tests/int8.rs` found the portable pass's logits on all
//! 10,000 images and on odd shapes, at every batch size and thread count.
//! The default (`infer::quant::IntKernel::best`) runs it only where a
//! timing at startup finds it faster than step 1.
//!
//! Measured on that Xeon (`infer sweep --precision f32,int8-avx2,int8-vnni
//! --batch-sizes 1,100`, one core, 7 interleaved rounds): 2.90M images/s
//! at batch 1 and 2.98M at batch 100, 1.96× and 1.70× step 1, 2.31× and
//! 1.77× the f32 network; `infer kernels`: W1 0.130 µs an image against
//! step 1's 0.226. Image by image, it gained only 1.02–1.08× from batch
//! 100 (before the changes of 2026-12-07 above, which are not yet timed
//! on an Intel CPU); on Zen 4, sharing loads between images (the tiles'
//! idea) did not pay, the next image fetched ahead did.

use super::{Dest, QDense, QNetwork, MAX_WIDTH};
use crate::mat::ShapeError;

/// `i32` lanes per 512-bit vector.
pub const LANES: usize = 16;
/// The most vectors of sums one row keeps in registers.
pub const VMAX: usize = 7;

// a layer's outputs land in the shared driver's buffer of MAX_WIDTH
const _: () = assert!(VMAX * LANES <= MAX_WIDTH);

/// `n` rounded up to whole vectors.
pub const fn padded(n: usize) -> usize {
    n.div_ceil(LANES) * LANES
}

/// A layer's columns as the prepared weights hold them: its main part,
/// whole vectors of 16 columns, and the words a quad of rows gives the
/// columns after them when there are 1 to 4 of those (2 or 4 words, the
/// narrow tail, summed on 128-bit vectors); with 5 to 15 left over the
/// main part is padded to a whole vector and there is no tail. For the
/// book's W1 (50 columns) a quad's main part is 48 words, three lines
/// where a padded row took four, and its tail 2 words.
pub const fn split(n: usize) -> (usize, usize) {
    match n % LANES {
        0 => (n, 0),
        1 | 2 => (n - n % LANES, 2),
        3 | 4 => (n - n % LANES, 4),
        _ => (padded(n), 0),
    }
}

/// 32-bit words of one layer prepared by [`prepare`]: `⌈k/4⌉` quads of
/// rows, each [`split`]`(n)`'s main part, then every quad's tail, then
/// [`CONSTS`] words of requantization constants for each vector of
/// outputs (the main part's, and the tail's if there is one).
pub const fn prepared_len(k: usize, n: usize) -> usize {
    weights_len(k, n) + vectors(n) * CONSTS
}

/// Words of the quads and their tails: where the constants start.
const fn weights_len(k: usize, n: usize) -> usize {
    let (main, tail) = split(n);
    k.div_ceil(4) * (main + tail)
}

/// Vectors of outputs a layer of `n` requantizes: the main part's and
/// the tail's (one, summed on 128 bits and requantized on 512).
const fn vectors(n: usize) -> usize {
    let (main, tail) = split(n);
    main / LANES + (tail > 0) as usize
}

/// Words of one output vector's requantization constants, seven vectors
/// of 16: its bias, its multipliers, the odd lanes' multipliers moved to
/// the even words, then, as 64-bit lanes, the even lanes' shifts, the odd
/// lanes' shifts, and `2^(s-1)` for each (the rounding). What the
/// portable pass works out from `bias`, `mult` and `shift` for every
/// output of every image, prepared once; lanes past `n` hold bias 0,
/// multiplier 0 and shift 1, whose result is 0.
pub const CONSTS: usize = 7 * LANES;

/// Writes the layer's weights as quads of rows, four `i8` per `u32` word
/// (row `4t + q` in byte `q`): quad `t`'s main columns at word `t · main`,
/// its tail columns at `quads · main + t · tail` ([`split`]), zero past `k`
/// and `n`; then each output vector's [`CONSTS`].
///
/// # Panics
/// If the layer fails [`QDense::check`] (a slice of the wrong length, a
/// shift outside 1..=62) or `out` is not [`prepared_len`] long.
pub fn prepare(l: &QDense<'_>, out: &mut [u32]) {
    let (k, n) = (l.k, l.n);
    assert_eq!(l.check(), Ok(()), "the layer's slices");
    assert_eq!(out.len(), prepared_len(k, n), "prepared length");
    let ((main, tail), quads) = (split(n), k.div_ceil(4));
    out.fill(0);
    for i in 0..k {
        for j in 0..n {
            let word = if j < main { (i / 4) * main + j } else { quads * main + (i / 4) * tail + (j - main) };
            out[word] |= (l.Wq[i * n + j] as u8 as u32) << (8 * (i % 4));
        }
    }
    let consts = &mut out[weights_len(k, n)..];
    for (v, c) in consts.chunks_exact_mut(CONSTS).enumerate() {
        let (bias, rest) = c.split_at_mut(LANES);
        let (mult, rest) = rest.split_at_mut(LANES);
        let (mult_odd, rest) = rest.split_at_mut(LANES);
        let (shifts, halves) = rest.split_at_mut(2 * LANES);
        for lane in 0..LANES {
            let j = v * LANES + lane;
            // past n: bias 0, multiplier 0, shift 1
            let (b, m, s) = if j < n { (l.bias[j], l.mult[j], l.shift[j]) } else { (0, 0, 1) };
            let s = s.clamp(1, 62) as u64;
            bias[lane] = b as u32;
            mult[lane] = m as u32;
            // the 64-bit lane lane / 2 of the even (lane even) or odd constants
            let (pair, odd) = (lane / 2, lane % 2);
            if odd == 1 {
                mult_odd[2 * pair] = m as u32;
            }
            for (words, value) in [(&mut *shifts, s), (&mut *halves, 1u64 << (s - 1))] {
                let at = odd * LANES + 2 * pair;
                words[at] = value as u32;
                words[at + 1] = (value >> 32) as u32;
            }
        }
    }
}

/// Whether this CPU runs the VNNI pass: AVX-512F, BW, VL and VNNI (every
/// CPU with VNNI so far has the other three), detected at run time with
/// `std`, fixed at compile time without it.
pub fn is_available() -> bool {
    #[cfg(all(target_arch = "x86_64", feature = "std"))]
    {
        std::is_x86_feature_detected!("avx512f")
            && std::is_x86_feature_detected!("avx512bw")
            && std::is_x86_feature_detected!("avx512vl")
            && std::is_x86_feature_detected!("avx512vnni")
    }
    #[cfg(all(target_arch = "x86_64", not(feature = "std")))]
    {
        cfg!(all(
            target_feature = "avx512f",
            target_feature = "avx512bw",
            target_feature = "avx512vl",
            target_feature = "avx512vnni"
        ))
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// A network and its layers prepared by [`prepare`], checked once for
/// this pass ([`Pass::new`]: the CPU's features, each prepared layer's
/// length, each layer's width); its calls then check only the lengths of
/// their own slices. `infer` makes one a run: checked for every image at
/// batch 1, the checks cost about a tenth of the pass's time there (a
/// throwaway build without them 1.11×, this [`Pass`] 1.08×, AMD Zen 4,
/// the builds in turn: the module's header).
#[derive(Clone, Copy)]
pub struct Pass<'p, 'w> {
    net: &'p QNetwork<'w>,
    prepared: &'p [&'p [u32]],
}

impl<'p, 'w> Pass<'p, 'w> {
    /// `net` with each layer's weights prepared by [`prepare`] in
    /// `prepared` (input layer first), checked for this pass.
    ///
    /// # Errors
    /// [`ShapeError::Len`] for a prepared layer of the wrong length,
    /// [`ShapeError::Dim`] for a layer wider than [`VMAX`] vectors,
    /// [`ShapeError::Kernel`] without AVX-512 VNNI.
    pub fn new(net: &'p QNetwork<'w>, prepared: &'p [&'p [u32]]) -> Result<Self, ShapeError> {
        check(net, prepared)?;
        Ok(Pass { net, prepared })
    }

    /// The last layer's requantized logits of one image `x` into `t`, as
    /// [`QNetwork::logits`] computes them, calling `after(i)` as soon as
    /// layer `i`'s outputs are written (what `infer sweep --breakdown`
    /// reads its clock in).
    ///
    /// # Errors
    /// [`ShapeError::Len`] for `x` or `t` of the wrong length.
    pub fn logits_staged(&self, x: &[u8], t: &mut [i32], mut after: impl FnMut(usize)) -> Result<(), ShapeError> {
        // SAFETY: Pass::new checked the network and its prepared layers
        unsafe { pass::<false>(self.net, self.prepared, x, t, 0, &mut after) }
    }

    /// The logits of `m` images, back to back in `x`, into `t` (`m` rows
    /// of the last layer's width): image by image, each image's pixels
    /// asked of the cache (`prefetcht0` on its 13 lines for the book's 784
    /// bytes) while the image before it is summed, as the f32 ladder's
    /// step 16 does; `after(i)` as layer `i` of each image is written (`m`
    /// times each). Batch 1 has nothing to fetch.
    ///
    /// # Errors
    /// [`ShapeError::Len`] for `x` or `t` not sized for `m` images.
    pub fn logits_batch_staged(
        &self,
        m: usize,
        x: &[u8],
        t: &mut [i32],
        mut after: impl FnMut(usize),
    ) -> Result<(), ShapeError> {
        self.images::<false>(m, x, t, 0, &mut after)
    }

    /// [`Pass::logits_batch_staged`] with the layers whose bits are set in
    /// `left_out` (bit 0 for the first layer) left out: what the pass
    /// costs without them, so that `infer sweep --breakdown` can give each
    /// layer's cost inside the pass (the pass less the pass without it)
    /// and alone (the pass with only it, less the pass with none) with no
    /// clock read between the layers. A left-out hidden layer leaves the
    /// next layer's input as the pass found it (zeros: the buffers are the
    /// pass's own) and a left-out last layer leaves `t` as it was, so only
    /// the time means anything; `left_out == 0` gives the logits.
    ///
    /// # Errors
    /// As [`Pass::logits_batch_staged`]; [`ShapeError::Dim`] if `left_out`
    /// names a layer the network does not have.
    pub fn logits_batch_without(&self, m: usize, x: &[u8], t: &mut [i32], left_out: u64) -> Result<(), ShapeError> {
        crate::mat::check_left_out(left_out, self.net.layers.len())?;
        self.images::<true>(m, x, t, left_out, &mut |_| {})
    }

    /// The images of [`Pass::logits_batch_staged`], with `LEAVE_OUT` those
    /// of [`Pass::logits_batch_without`].
    fn images<const LEAVE_OUT: bool>(
        &self,
        m: usize,
        x: &[u8],
        t: &mut [i32],
        left_out: u64,
        after: &mut impl FnMut(usize),
    ) -> Result<(), ShapeError> {
        self.net.check_batch(m, x, t)?;
        let (k0, classes) = (self.net.input_len(), self.net.output_len());
        for i in 0..m {
            if let Some(next) = x.get((i + 1) * k0..(i + 2) * k0) {
                fetch(next);
            }
            let (x, t) = (&x[i * k0..(i + 1) * k0], &mut t[i * classes..(i + 1) * classes]);
            // SAFETY: Pass::new checked the network and its prepared layers
            unsafe { pass::<LEAVE_OUT>(self.net, self.prepared, x, t, left_out, after)? };
        }
        Ok(())
    }
}

/// The last layer's requantized logits of one image, as
/// [`QNetwork::logits`] computes them, with each layer's weights prepared
/// by [`prepare`] in `prepared` (input layer first): [`Pass::new`], then
/// [`Pass::logits_staged`].
///
/// # Errors
/// As [`Pass::new`], and [`ShapeError::Len`] for `x` or `t` of the wrong
/// length.
pub fn logits(net: &QNetwork<'_>, prepared: &[&[u32]], x: &[u8], t: &mut [i32]) -> Result<(), ShapeError> {
    Pass::new(net, prepared)?.logits_staged(x, t, |_| {})
}

/// [`logits`] of `m` images, back to back in `x`, into `t` (`m` rows of
/// the last layer's width): [`Pass::new`], then
/// [`Pass::logits_batch_staged`].
///
/// # Errors
/// As [`logits`], and [`ShapeError::Len`] for `x` or `t` not sized for
/// `m` images.
pub fn logits_batch(
    net: &QNetwork<'_>,
    prepared: &[&[u32]],
    m: usize,
    x: &[u8],
    t: &mut [i32],
) -> Result<(), ShapeError> {
    Pass::new(net, prepared)?.logits_batch_staged(m, x, t, |_| {})
}

/// `prefetcht0` on every 64-byte line of `x`: a hint, it reads nothing
/// and cannot fault.
fn fetch(x: &[u8]) {
    #[cfg(target_arch = "x86_64")]
    for line in x.chunks(64) {
        // SAFETY: `_mm_prefetch` is SSE, part of every x86_64 CPU
        unsafe { core::arch::x86_64::_mm_prefetch::<{ core::arch::x86_64::_MM_HINT_T0 }>(line.as_ptr() as *const i8) };
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = x;
}

/// One image through the layers, after [`check`]; with `LEAVE_OUT`, the
/// layers whose bits are set in `left_out` left out
/// ([`Pass::logits_batch_without`]). Safety: `check(net, prepared)`
/// passed.
unsafe fn pass<const LEAVE_OUT: bool>(
    net: &QNetwork<'_>,
    prepared: &[&[u32]],
    x: &[u8],
    t: &mut [i32],
    left_out: u64,
    after: &mut impl FnMut(usize),
) -> Result<(), ShapeError> {
    // the sigmoid table in four vectors, for the rows' lookups
    #[cfg(target_arch = "x86_64")]
    // SAFETY: AVX-512F present (checked by the caller)
    let table = unsafe { x86::table(net.sigmoid) };
    // chain checks the lengths of x and t
    net.chain(x, t, |l, i, input, dest| {
        if LEAVE_OUT && (left_out >> i) & 1 == 1 {
            return;
        }
        let w = prepared.get(i).copied().unwrap_or(&[]);
        #[cfg(target_arch = "x86_64")]
        // SAFETY: AVX-512F, BW, VL and VNNI present, w holds
        // prepared_len(k, n) and padded(n) ≤ VMAX·LANES ≤ MAX_WIDTH (all
        // checked by the caller); input holds k bytes; dest holds the
        // layer's n outputs; QNetwork::new checked that bias, mult and
        // shift hold n each
        unsafe {
            let sink = match dest {
                Dest::Logits(t) => x86::Sink::Sums(t.as_mut_ptr()),
                Dest::Hidden(next) => x86::Sink::Sigmoid(&table, next.as_mut_ptr()),
            };
            x86::layer_to(l, input, w, sink, i > 0)
        };
        after(i);
    })
}

/// One layer alone on one input (`k` u8), its requantized outputs into `t`
/// (`n`), with weights prepared by [`prepare`]: for timing one layer as
/// the network's pass runs it. `hidden`: the input is a hidden layer's
/// (sigmoid bytes), summed without looking for zero quads as the pass
/// sums every layer after the first; else its zero quads are skipped, as
/// the pass does for the pixels.
///
/// # Errors
/// [`ShapeError::Len`] for a slice of the wrong length,
/// [`ShapeError::Kernel`] without AVX-512 VNNI.
pub fn requantized(l: &QDense<'_>, prepared: &[u32], x: &[u8], t: &mut [i32], hidden: bool) -> Result<(), ShapeError> {
    if !is_available() {
        return Err(ShapeError::Kernel("int8-vnni"));
    }
    if x.len() != l.k || t.len() != l.n || prepared.len() != prepared_len(l.k, l.n) || padded(l.n) > VMAX * LANES {
        return Err(ShapeError::Len {
            what: "x, t or prepared W",
            expected: prepared_len(l.k, l.n),
            found: prepared.len(),
        });
    }
    l.check()?;
    let mut out = [0i32; MAX_WIDTH];
    #[cfg(target_arch = "x86_64")]
    // SAFETY: AVX-512F, BW, VL and VNNI present; every length checked above
    unsafe {
        x86::requantized(l, x, prepared, &mut out, hidden)
    };
    t.copy_from_slice(&out[..l.n]);
    Ok(())
}

/// What the pass relies on: the CPU, one prepared buffer of the right
/// length per layer, no layer wider than [`VMAX`] vectors.
fn check(net: &QNetwork<'_>, prepared: &[&[u32]]) -> Result<(), ShapeError> {
    let needs = super::PassNeeds {
        pass: "int8-vnni",
        available: is_available(),
        prepared_len,
        padded,
        max_width: VMAX * LANES,
    };
    needs.check(net, prepared)
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use core::arch::x86_64::*;

    use super::{QDense, CONSTS, LANES, MAX_WIDTH};

    /// Where a row's requantized outputs go: its `n` `i32` into a row of
    /// sums (the last layer: the caller's logits), or through the sigmoid
    /// table as `n` bytes into the next layer's input row.
    #[derive(Clone, Copy)]
    pub enum Sink<'a> {
        Sums(*mut i32),
        Sigmoid(&'a Table, *mut u8),
    }

    /// The 256-byte sigmoid table as 64 32-bit words in four vectors: what
    /// [`sigmoid`] looks up with two `vpermt2d`.
    pub type Table = [__m512i; 4];

    /// `sigmoid` as a [`Table`]. Safety: AVX-512F present.
    #[target_feature(enable = "avx512f")]
    pub unsafe fn table(sigmoid: &[u8; super::super::SIGMOID_LEN]) -> Table {
        const _: () = assert!(super::super::SIGMOID_LEN == 256);
        let mut out = [_mm512_setzero_si512(); 4];
        for (q, words) in out.iter_mut().enumerate() {
            *words = _mm512_loadu_si512(sigmoid.as_ptr().add(64 * q) as *const _);
        }
        out
    }

    /// `out[j] = requantize(Σ_p x[p] · W[p][j] + bias[j])` for one layer,
    /// `np` columns (a multiple of 16), its `n` outputs into `out`. Safety:
    /// AVX-512F, BW, VL and VNNI; `w` holds `prepared_len(k, n)` words
    /// (the requantization constants after the weights), `x` at least `k`
    /// bytes. `dense`: as [`layer_to`].
    #[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512vnni")]
    pub unsafe fn requantized(l: &QDense<'_>, x: &[u8], w: &[u32], out: &mut [i32; MAX_WIDTH], dense: bool) {
        layer_to(l, x, w, Sink::Sums(out.as_mut_ptr()), dense)
    }

    /// [`requantized`] with the outputs sent to `sink`, which is valid
    /// for the layer's `n` writes. `dense`: the input is a hidden layer's
    /// (sigmoid bytes, rarely zero), summed without looking for zeros.
    #[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512vnni")]
    pub unsafe fn layer_to(l: &QDense<'_>, x: &[u8], w: &[u32], sink: Sink<'_>, dense: bool) {
        let (main, tail) = super::split(l.n);
        // (vectors, tail words, sets of sums for a dense input)
        macro_rules! rows {
            ($(($v:literal, $t:literal, $u:literal))*) => {
                match (main / LANES, tail, dense) {
                    $(
                        ($v, $t, false) => row::<$v, $t, 1, false>(l, x, w, sink),
                        ($v, $t, true) => row::<$v, $t, $u, true>(l, x, w, sink),
                    )*
                    _ => {}
                }
            };
        }
        rows! {
            (0, 2, 4) (0, 4, 4)
            (1, 0, 4) (1, 2, 2) (1, 4, 2)
            (2, 0, 2) (2, 2, 1) (2, 4, 1)
            (3, 0, 1) (3, 2, 1) (3, 4, 1)
            (4, 0, 1) (4, 2, 1) (4, 4, 1)
            (5, 0, 1) (5, 2, 1) (5, 4, 1)
            (6, 0, 1) (6, 2, 1) (6, 4, 1)
            (7, 0, 1) (7, 2, 1) (7, 4, 1)
        }
    }

    /// One row of sums: `V` vectors of 16 columns and a tail of `T` words
    /// (0, 2 or 4), requantized into `sink`.
    #[inline(always)]
    unsafe fn row<const V: usize, const T: usize, const U: usize, const DENSE: bool>(
        l: &QDense<'_>,
        x: &[u8],
        w: &[u32],
        sink: Sink<'_>,
    ) {
        let k = l.k;
        let tails = w.as_ptr().add(k.div_ceil(4) * V * LANES);
        // a dense input's quads go to the U sets of sums in turn, so that U
        // chains of vpdpbusd hide each other's latency where a row has one
        // or two vectors (the book's W3: 25 quads on one vector); integer
        // sums are the same in any order
        let mut sums = [[_mm512_setzero_si512(); V]; U];
        let mut tsums = [_mm_setzero_si128(); U];
        let xp = x.as_ptr();
        let word_at = |t: usize| (xp.add(4 * t) as *const u32).read_unaligned();
        if DENSE {
            let mut t = 0;
            while t + U <= k / 4 {
                for (s, (sum, tsum)) in sums.iter_mut().zip(&mut tsums).enumerate() {
                    quad::<V, T>(sum, tsum, w, tails, t + s, word_at(t + s));
                }
                t += U;
            }
            for t in t..k / 4 {
                quad::<V, T>(&mut sums[0], &mut tsums[0], w, tails, t, word_at(t));
            }
        } else {
            // 64 quads (256 inputs) a loop: the masks of four blocks of 16
            // quads (vptestmd) side by side in one u64, its set bits (the
            // quads with a non-zero input) visited in order
            let whole = k / 64;
            let mut b = 0;
            while b < whole {
                let blocks = (whole - b).min(4);
                let mut nonzero = 0u64;
                for i in 0..blocks {
                    let v = _mm512_loadu_si512(xp.add(64 * (b + i)) as *const _);
                    nonzero |= (_mm512_test_epi32_mask(v, v) as u64) << (16 * i);
                }
                while nonzero != 0 {
                    let t = 16 * b + nonzero.trailing_zeros() as usize;
                    quad::<V, T>(&mut sums[0], &mut tsums[0], w, tails, t, word_at(t));
                    nonzero &= nonzero - 1;
                }
                b += blocks;
            }
            for t in 16 * whole..k / 4 {
                let word = word_at(t);
                if word != 0 {
                    quad::<V, T>(&mut sums[0], &mut tsums[0], w, tails, t, word);
                }
            }
        }
        if !k.is_multiple_of(4) {
            // the last quad's inputs past k read as zero
            let t = k / 4;
            let mut word = 0u32;
            for q in 0..k % 4 {
                word |= (*xp.add(4 * t + q) as u32) << (8 * q);
            }
            quad::<V, T>(&mut sums[0], &mut tsums[0], w, tails, t, word);
        }
        let (sum, others) = sums.split_at_mut(1);
        let (tsum, tothers) = tsums.split_at_mut(1);
        for (set, &tset) in others.iter().zip(&*tothers) {
            for (s, &o) in sum[0].iter_mut().zip(set) {
                *s = _mm512_add_epi32(*s, o);
            }
            tsum[0] = _mm_add_epi32(tsum[0], tset);
        }
        // every vector requantized first, then the sinks, so that the
        // chains of several vectors overlap (as in step 1); the tail as
        // vector V, its lanes past the tail zero
        let vectors = V + (T > 0) as usize;
        // weights_len(k, n) from this instantiation's constants (the call,
        // with split's match at run time, measured 0.92× at batch 1)
        let consts = w.as_ptr().add(k.div_ceil(4) * (V * LANES + T));
        let mut out = [_mm512_setzero_si512(); 8];
        for (v, o) in out.iter_mut().enumerate().take(vectors) {
            let s = if v < V { sum[0][v] } else { _mm512_zextsi128_si512(tsum[0]) };
            *o = requantize(s, consts.add(v * CONSTS));
        }
        for (v, &o) in out.iter().enumerate().take(vectors) {
            let j = v * LANES;
            match sink {
                Sink::Sums(t) => _mm512_mask_storeu_epi32(t.add(j), lanes(l.n, j), o),
                Sink::Sigmoid(table, next) => {
                    _mm512_mask_cvtepi32_storeu_epi8(next.add(j) as *mut i8, lanes(l.n, j), sigmoid(table, o))
                }
            }
        }
    }

    /// The lanes of vector `j / 16` that hold one of the `n` outputs.
    #[inline(always)]
    fn lanes(n: usize, j: usize) -> __mmask16 {
        ((1u32 << n.saturating_sub(j).min(LANES)) - 1) as __mmask16
    }

    /// `super::super::activate` lane by lane: `table[clamp(t + 128, 0,
    /// 255)]`, in the low byte of each lane. The index's top 6 bits pick
    /// one of the table's 64 words (`vpermt2d` on the first and on the
    /// last 32, a blend by bit 7), its low 2 bits the byte in that word.
    /// About ten instructions for 16 outputs, against a scalar clamp, load
    /// and store for each.
    #[inline(always)]
    unsafe fn sigmoid(table: &Table, t: __m512i) -> __m512i {
        let i = _mm512_add_epi32(t, _mm512_set1_epi32(128));
        let i = _mm512_min_epi32(_mm512_max_epi32(i, _mm512_setzero_si512()), _mm512_set1_epi32(255));
        let word = _mm512_srli_epi32::<2>(i);
        let first = _mm512_permutex2var_epi32(table[0], word, table[1]);
        let second = _mm512_permutex2var_epi32(table[2], word, table[3]);
        let words = _mm512_mask_blend_epi32(_mm512_test_epi32_mask(i, _mm512_set1_epi32(128)), first, second);
        let bits = _mm512_slli_epi32::<3>(_mm512_and_si512(i, _mm512_set1_epi32(3)));
        _mm512_and_si512(_mm512_srlv_epi32(words, bits), _mm512_set1_epi32(0xff))
    }

    /// `super::super::requantize(acc + bias)` lane by lane, `(acc · mult +
    /// 2^(s-1)) >> s` in 64 bits, the low 32 bits kept, with the output
    /// vector's constants prepared at `c` ([`super::CONSTS`]: bias, mult,
    /// the odd lanes' mult, the even and the odd lanes' `s` and `2^(s-1)`).
    /// The even lanes' products come from `vpmuldq` on the sums as they
    /// are, the odd lanes' from the same on the sums shifted down 32 bits;
    /// the shifts are arithmetic (`vpsravq`).
    #[inline(always)]
    unsafe fn requantize(acc: __m512i, c: *const u32) -> __m512i {
        let at = |i: usize| _mm512_loadu_si512(c.add(i * LANES) as *const _);
        // + bias, wrapping as the portable pass's i32 addition
        let acc = _mm512_add_epi32(acc, at(0));
        let even = _mm512_srav_epi64(_mm512_add_epi64(_mm512_mul_epi32(acc, at(1)), at(5)), at(3));
        let odd = _mm512_mul_epi32(_mm512_srli_epi64::<32>(acc), at(2));
        let odd = _mm512_srav_epi64(_mm512_add_epi64(odd, at(6)), at(4));
        // the even lanes' results in the low halves, the odd lanes' in the high
        _mm512_mask_blend_epi32(0xaaaa, even, _mm512_slli_epi64::<32>(odd))
    }

    /// Input quad `t` (four u8 in `word`) into every vector of sums and
    /// the tail's (`tails`: where the tails start in `w`).
    #[inline(always)]
    unsafe fn quad<const V: usize, const T: usize>(
        sum: &mut [__m512i; V],
        tsum: &mut __m128i,
        w: &[u32],
        tails: *const u32,
        t: usize,
        word: u32,
    ) {
        let xv = _mm512_set1_epi32(word as i32);
        let wrow = w.as_ptr().add(t * V * LANES);
        for (v, s) in sum.iter_mut().enumerate() {
            let wv = _mm512_loadu_si512(wrow.add(v * LANES) as *const _);
            *s = _mm512_dpbusd_epi32(*s, xv, wv);
        }
        if T > 0 {
            let trow = tails.add(t * T) as *const __m128i;
            let wt = if T == 2 { _mm_loadl_epi64(trow) } else { _mm_loadu_si128(trow) };
            *tsum = _mm_dpbusd_epi32(*tsum, _mm512_castsi512_si128(xv), wt);
        }
    }
}
