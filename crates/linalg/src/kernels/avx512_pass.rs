//! Step 23: step 21 with batch 1's network checked once, not once a pass.
//!
//! What changed from step 21 (avx512-colour): who checks what, and how
//! often. Since step 18 a pass of fewer than 6 rows of pixels is checked
//! once and its layers' rows are then called straight. Still, every
//! image at batch 1 costs [`crate::network::Network`]'s checks: the
//! lengths of its buffers, whether this pass can take that path (every
//! layer's kernel and width, the first layer's shape, the activation),
//! and for each layer a dispatch through [`super::Kernel`] to the step's
//! function. Here [`crate::network::Network::pass`] does all of that
//! once and returns a [`Pass`]; [`Pass::classify`] then checks only the
//! lengths of its slices and calls step 21's unchecked layers
//! ([`dense_pixels_unchecked`], then [`dense_unchecked`] for each later
//! layer), then numpy's argmax of each row of logits. `infer` keeps one
//! `Pass` a thread for the whole run. The layers, their order and their
//! code are step 21's: the same logits bit for bit, and the same classes
//! (`tests/network.rs`; all 10,000 images in `infer`'s
//! `tests/accuracy.rs`).
//!
//! Loop order (BLIS names): as step 21.
//!
//! Measured on AMD Zen 4 (family 25 model 17, 2026-12-07; `infer sweep
//! --batch-sizes 1,2,100 --kernel avx512-colour,avx512-pass --repeat 11`
//! and the same at batch 1 alone, 32 runs, medians of the per-round
//! ratios): 0.98–1.07× step 21 at batch 1, 1.02× in the median of the
//! runs (per round 0.85–1.45); 0.98–1.03× at batch 2; 0.99–1.05× at
//! batch 100, where both run the network's own pass. About 12 ns of
//! some 620 an image.
//!
//! [`Pass::classify_without`] runs the same pass with some of its layers
//! left out, for timing only: `infer sweep --breakdown` subtracts such
//! times from the whole pass's to give each layer's cost inside the pass
//! and alone, with no clock read between the layers.
//!
//! Step 25's networks ([`super::avx512_fixed16`]) go through the same
//! `Pass`: its first layer's function is called by name in step 21's
//! place, and its later layers are step 21's on their part of the
//! prepared buffers.
//!
//! [`Pass`] keeps its own copy of the network's loop over the layers,
//! step 21's functions called by name: the same loop through the
//! network's per-layer dispatch (`Network::layer`, then [`super::Kernel`])
//! measured 0.98–0.99× step 21 in six runs, where this gave 1.01–1.03×.
//!
//! Tried first on the same CPU, not kept (docs/performance.md): the
//! whole pass of an image as one function written for the book's widths
//! (W1's walk, W2's and W3's rows, numpy's argmax in the register of
//! logits, the outputs between layers on the stack), called through this
//! `Pass`: 1.02–1.03× step 21 in rounds where the `Pass` calling step
//! 21's layers gave 1.04–1.06×, and level (1.00×, six runs) through the
//! network's checks. Variants of that function: W2 and W3 on rows of
//! exactly 100 and 10 floats (fewer lines in L1, loads across lines)
//! 0.95×; W1's tail and W2's last 4 columns on 8- and 4-lane vectors
//! 0.97× (separate processes, noisy); W1's pair of masks walked as one
//! `u128` without the branch between them, 0.95–0.97× step 21. Not yet
//! measured on an Intel CPU. Tables: docs/matmul.md.

use crate::activation::{argmax_rows, Activation};
use crate::mat::ShapeError;
use crate::network::Network;

#[cfg(target_arch = "x86_64")]
use super::avx512_fixed16 as fixed16;

pub use super::avx512_colour::{dense, dense_pixels, is_available, matmul, prepare, prepared_len};
#[cfg(target_arch = "x86_64")]
pub use super::avx512_colour::{dense_pixels_unchecked, dense_unchecked};

/// A network checked once for passes of fewer than
/// [`super::avx512_chain::M_CHAIN`] rows of pixels on this step (made by
/// [`crate::network::Network::pass`]).
#[derive(Clone, Copy, Debug)]
pub struct Pass<'w> {
    net: Network<'w>,
}

impl<'w> Pass<'w> {
    /// Wraps a network that [`crate::network::Network::pass`] has checked.
    pub(crate) const fn new(net: Network<'w>) -> Self {
        Pass { net }
    }

    /// Whether the layers are step 25's ([`super::avx512_fixed16`]): W1's
    /// sums in fixed point where its prepared buffer has that copy.
    fn fixed16(&self) -> bool {
        matches!(self.net.layers()[0].kernel(), super::Kernel::Avx512Fixed16)
    }

    /// The logits of `m` rows of u8 pixels (read as `p / 255`) to `y`
    /// (`m × n_last`) and numpy's `argmax(y, axis=1)` to `best`; `scratch`
    /// holds [`crate::network::Network::scratch_len`]`(m)` floats or more.
    /// From [`super::avx512_chain::M_CHAIN`] rows on, the network's own
    /// pass ([`crate::network::Network::logits_pixels`]).
    ///
    /// # Errors
    /// If `pixels`, `y` or `best` does not hold `m` rows, or `scratch` is
    /// too short.
    pub fn classify(
        &self,
        m: usize,
        pixels: &[u8],
        scratch: &mut [f32],
        y: &mut [f32],
        best: &mut [usize],
    ) -> Result<(), ShapeError> {
        let need = self.checked(m, pixels, scratch, y, best)?;
        if m >= super::avx512_chain::M_CHAIN {
            self.net.logits_pixels(m, pixels, scratch, y)?;
        } else {
            #[cfg(target_arch = "x86_64")]
            if self.fixed16() {
                self.layers::<false, true>(0, m, pixels, &mut scratch[..need], y);
            } else {
                self.layers::<false, false>(0, m, pixels, &mut scratch[..need], y);
            }
            #[cfg(not(target_arch = "x86_64"))]
            let _ = need;
        }
        argmax_rows(y, self.net.output_len(), best);
        Ok(())
    }

    /// [`Pass::classify`] below [`super::avx512_chain::M_CHAIN`] rows
    /// with the layers whose bits are set in `left_out` (bit 0 for the
    /// first layer) left out: what the pass costs without them, so that
    /// the differences say what each layer costs inside the pass, where
    /// each layer waits on the last result of the one before, and what it
    /// costs with the others gone (`infer sweep --breakdown`). The buffer
    /// a left-out layer would have written keeps what it held, so `y` and
    /// `best` are not the network's: only the time means anything.
    ///
    /// # Errors
    /// As [`Pass::classify`]; [`ShapeError::Dim`] if `left_out` names a
    /// layer the network does not have, or if `m` is not below `M_CHAIN`
    /// (the network's own pass takes those, and leaves no layer out).
    pub fn classify_without(
        &self,
        left_out: u64,
        m: usize,
        pixels: &[u8],
        scratch: &mut [f32],
        y: &mut [f32],
        best: &mut [usize],
    ) -> Result<(), ShapeError> {
        crate::mat::check_left_out(left_out, self.net.layers().len())?;
        if m >= super::avx512_chain::M_CHAIN {
            return Err(ShapeError::Dim { what: "rows", expected: super::avx512_chain::M_CHAIN - 1, found: m });
        }
        let need = self.checked(m, pixels, scratch, y, best)?;
        #[cfg(target_arch = "x86_64")]
        if self.fixed16() {
            self.layers::<true, true>(left_out, m, pixels, &mut scratch[..need], y);
        } else {
            self.layers::<true, false>(left_out, m, pixels, &mut scratch[..need], y);
        }
        #[cfg(not(target_arch = "x86_64"))]
        let _ = need;
        argmax_rows(y, self.net.output_len(), best);
        Ok(())
    }

    /// The lengths of [`Pass::classify`]'s slices checked; the floats of
    /// `scratch` a pass of `m` rows uses.
    fn checked(
        &self,
        m: usize,
        pixels: &[u8],
        scratch: &[f32],
        y: &[f32],
        best: &[usize],
    ) -> Result<usize, ShapeError> {
        let n_last = self.net.output_len();
        for (what, expected, found) in
            [("pixels", m * self.net.input_len(), pixels.len()), ("y", m * n_last, y.len()), ("best", m, best.len())]
        {
            if expected != found {
                return Err(ShapeError::Len { what, expected, found });
            }
        }
        let need = self.net.scratch_len(m);
        if scratch.len() < need {
            return Err(ShapeError::Len { what: "scratch", expected: need, found: scratch.len() });
        }
        Ok(need)
    }

    /// Step 21's layers of a pass below `M_CHAIN` rows, unchecked; hidden
    /// layer i writes half i % 2 of `scratch`, as the network's pass does.
    /// With `LEAVE_OUT`, the layers whose bits are set in `left_out` are
    /// left out ([`Pass::classify_without`]). With `FIXED16`, step 25's
    /// layers: its W1, and step 21's others on their part of the buffers.
    #[cfg(target_arch = "x86_64")]
    fn layers<const LEAVE_OUT: bool, const FIXED16: bool>(
        &self,
        left_out: u64,
        m: usize,
        pixels: &[u8],
        scratch: &mut [f32],
        y: &mut [f32],
    ) {
        let layers = self.net.layers();
        let (b0, b1) = scratch.split_at_mut(scratch.len() / 2);
        for (i, l) in layers.iter().enumerate() {
            if LEAVE_OUT && (left_out >> i) & 1 == 1 {
                continue;
            }
            let last = i + 1 == layers.len();
            let act = if last { Activation::Identity } else { Activation::Sigmoid };
            let (prev, out): (&[f32], &mut [f32]) = match (last, i % 2 == 0) {
                (true, _) => (if i % 2 == 0 { &*b1 } else { &*b0 }, &mut *y),
                (false, true) => (&*b1, &mut b0[..m * l.n()]),
                (false, false) => (&*b0, &mut b1[..m * l.n()]),
            };
            // SAFETY: Network::pass checked every layer's kernel and
            // width and the first layer's shape; Dense::new the CPU and
            // the prepared lengths; Network::new that the layers chain;
            // classify the lengths of pixels, y and scratch
            unsafe {
                let (k, n, w, bias) = (l.k(), l.n(), l.weights(), l.bias());
                match (i == 0, FIXED16) {
                    (true, false) => dense_pixels_unchecked(m, k, n, pixels, w, bias, act, out),
                    (false, false) => dense_unchecked(m, k, n, &prev[..m * k], w, bias, act, out),
                    (true, true) => fixed16::dense_pixels_unchecked(m, k, n, pixels, w, bias, act, out),
                    (false, true) => fixed16::dense_unchecked(m, k, n, &prev[..m * k], w, bias, act, out),
                }
            }
        }
    }
}
