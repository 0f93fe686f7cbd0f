//! A chain of dense layers run over a batch, the book's `predict`:
//!
//! ```text
//! a1 = x·W1 + b1;  z1 = sigmoid(a1)
//! a2 = z1·W2 + b2; z2 = sigmoid(a2)
//! a3 = z2·W3 + b3; y  = softmax(a3)
//! ```
//!
//! for any number of layers. `x` is `m×k1` (one image per row), `Wi` is
//! `ki×ni`, `bi` has `ni` elements, and `y` is `m×n_last`. Nothing is
//! allocated: the caller provides `scratch` of [`Network::scratch_len`]
//! elements for the hidden activations, and the output buffer.

use crate::activation::{softmax_rows, Activation};
use crate::kernels::Kernel;
use crate::mat::ShapeError;

/// The first layer's input: floats, or u8 pixels read as `p / 255`.
#[derive(Clone, Copy)]
enum Input<'x> {
    Floats(&'x [f32]),
    Pixels(&'x [u8]),
}

impl Input<'_> {
    fn len(self) -> usize {
        match self {
            Input::Floats(x) => x.len(),
            Input::Pixels(x) => x.len(),
        }
    }
}

/// One layer, `z = act(a·W + b)`, with `W` prepared for a kernel.
#[derive(Clone, Copy, Debug)]
#[allow(non_snake_case)]
pub struct Dense<'w> {
    kernel: Kernel,
    k: usize,
    n: usize,
    W: &'w [f32],
    b: &'w [f32],
}

impl<'w> Dense<'w> {
    /// A layer of `k` inputs and `n` outputs. `W` is the `k×n` weight matrix
    /// as [`Kernel::prepare`] wrote it for `kernel`; `b` has `n` elements.
    ///
    /// # Errors
    /// [`ShapeError::Len`] if `W` or `b` has the wrong length,
    /// [`ShapeError::Kernel`] if this CPU cannot run `kernel` (refused
    /// here, rather than failing later inside `forward`).
    #[allow(non_snake_case)]
    pub fn new(kernel: Kernel, k: usize, n: usize, W: &'w [f32], b: &'w [f32]) -> Result<Self, ShapeError> {
        if !kernel.is_available() {
            return Err(ShapeError::Kernel(kernel.name()));
        }
        Self::checked(kernel, k, n, W, b)
    }

    /// A layer that reads `W` (`k×n`, plain row-major, as the book and
    /// `infer export` store it) in place with the portable row-major kernel
    /// ([`Kernel::Ikj`]): nothing is prepared or copied, so `W` can be a
    /// `static` in flash. A `const fn`, so a `static` can hold the layer.
    ///
    /// # Errors
    /// [`ShapeError::Len`] if `W` or `b` has the wrong length.
    #[allow(non_snake_case)]
    pub const fn row_major(k: usize, n: usize, W: &'w [f32], b: &'w [f32]) -> Result<Self, ShapeError> {
        Self::checked(Kernel::Ikj, k, n, W, b)
    }

    #[allow(non_snake_case)]
    const fn checked(kernel: Kernel, k: usize, n: usize, W: &'w [f32], b: &'w [f32]) -> Result<Self, ShapeError> {
        let expected = kernel.prepared_len(k, n);
        if W.len() != expected {
            return Err(ShapeError::Len { what: "W", expected, found: W.len() });
        }
        if b.len() != n {
            return Err(ShapeError::Len { what: "b", expected: n, found: b.len() });
        }
        Ok(Dense { kernel, k, n, W, b })
    }

    /// The kernel the weights are prepared for.
    pub const fn kernel(&self) -> Kernel {
        self.kernel
    }

    /// Inputs of the layer (rows of W).
    pub const fn k(&self) -> usize {
        self.k
    }

    /// Outputs of the layer (columns of W).
    pub const fn n(&self) -> usize {
        self.n
    }

    /// The prepared weights.
    pub(crate) const fn weights(&self) -> &'w [f32] {
        self.W
    }

    /// The bias.
    pub(crate) const fn bias(&self) -> &'w [f32] {
        self.b
    }
}

/// Layers chained input to output: sigmoid after every hidden layer,
/// softmax after the last.
#[derive(Clone, Copy, Debug)]
pub struct Network<'w> {
    layers: &'w [Dense<'w>],
    hidden: Activation,
}

impl<'w> Network<'w> {
    /// Chains `layers`: each layer's `n` must be the next one's `k`.
    ///
    /// # Errors
    /// [`ShapeError::Len`] for an empty chain, [`ShapeError::Dim`] naming the
    /// first layer whose `k` does not match the previous `n`.
    pub const fn new(layers: &'w [Dense<'w>]) -> Result<Self, ShapeError> {
        if layers.is_empty() {
            return Err(ShapeError::Len { what: "layers", expected: 1, found: 0 });
        }
        let mut i = 1;
        while i < layers.len() {
            if layers[i].k != layers[i - 1].n {
                return Err(ShapeError::Dim {
                    what: "k (rows of the next W)",
                    expected: layers[i - 1].n,
                    found: layers[i].k,
                });
            }
            i += 1;
        }
        Ok(Network { layers, hidden: Activation::Sigmoid })
    }

    /// Uses `act` instead of sigmoid after the hidden layers.
    pub fn with_hidden_activation(mut self, act: Activation) -> Self {
        self.hidden = act;
        self
    }

    /// This network checked once for step 23's passes below 6 rows of
    /// pixels ([`crate::kernels::avx512_pass::Pass`]), if it takes them:
    /// every layer on [`Kernel::Avx512Pass`] (or on step 24's
    /// [`Kernel::Avx512Union`], whose passes below 6 rows are step 23's,
    /// or on step 25's [`Kernel::Avx512Fixed16`], whose pass calls its own
    /// first layer),
    /// sigmoid between the layers,
    /// and the shapes of step 18's path (a first layer that
    /// [`crate::kernels::avx512_chain::takes_pixels`], every layer at most
    /// [`crate::kernels::avx512_chain::N_MAX`] wide).
    pub fn pass(&self) -> Option<crate::kernels::avx512_pass::Pass<'w>> {
        (self.layers[0].kernel.runs_step_23_pass() && self.chains_once())
            .then(|| crate::kernels::avx512_pass::Pass::new(*self))
    }

    /// The layers, input first.
    pub fn layers(&self) -> &'w [Dense<'w>] {
        self.layers
    }

    /// Inputs per row of `x` (`k` of the first layer).
    pub const fn input_len(&self) -> usize {
        self.layers[0].k
    }

    /// Outputs per row of `y` (`n` of the last layer).
    pub const fn output_len(&self) -> usize {
        self.layers[self.layers.len() - 1].n
    }

    /// Multiply-adds per row, summed over the layers (`Σ k·n`). Twice this is
    /// the FLOP count per image: 2 × 45,200 = 90,400 for the book's network.
    pub fn macs_per_row(&self) -> usize {
        self.layers.iter().map(|l| l.k * l.n).sum()
    }

    /// Elements of scratch that [`Network::forward`] needs for a batch of `m`
    /// rows: two buffers of the widest hidden layer, used in turn.
    pub const fn scratch_len(&self, m: usize) -> usize {
        let mut widest = 0;
        let mut i = 0;
        while i + 1 < self.layers.len() {
            if self.layers[i].n > widest {
                widest = self.layers[i].n;
            }
            i += 1;
        }
        2 * m * widest
    }

    /// The predicted class of one image of u8 pixels, read as `pixel / 255`
    /// (the book's `normalize=True`) without widening the image into an f32
    /// buffer, with every layer's weights read in place: the path for a
    /// freestanding build. Zero pixels are skipped (their products add
    /// nothing). `scratch` needs [`Network::scratch_len`]`(1)` elements and
    /// `a` receives the last layer's logits (`output_len`). Written with
    /// iterators only: no path in it can panic.
    ///
    /// The result equals [`Network::logits`] with the [`Kernel::Ikj`]
    /// kernel on `pixel / 255.0`: the same products, added in the same
    /// order.
    ///
    /// # Errors
    /// [`ShapeError::Len`] for a buffer of the wrong length,
    /// [`ShapeError::Kernel`] if a layer's weights are not plain row-major
    /// (prepared for a packing kernel).
    pub fn classify_u8(&self, x: &[u8], scratch: &mut [f32], a: &mut [f32]) -> Result<usize, ShapeError> {
        if x.len() != self.input_len() {
            return Err(ShapeError::Len { what: "x", expected: self.input_len(), found: x.len() });
        }
        if a.len() != self.output_len() {
            return Err(ShapeError::Len { what: "a", expected: self.output_len(), found: a.len() });
        }
        let need = self.scratch_len(1);
        if scratch.len() < need {
            return Err(ShapeError::Len { what: "scratch", expected: need, found: scratch.len() });
        }
        for l in self.layers {
            if !matches!(l.kernel, Kernel::Naive | Kernel::Ikj | Kernel::Blocked) {
                return Err(ShapeError::Kernel(l.kernel.name()));
            }
        }
        let (b0, b1) = scratch.split_at_mut(need / 2);
        let count = self.layers.len();
        for (i, l) in self.layers.iter().enumerate() {
            // hidden layer i writes half i % 2 of scratch and reads the other
            let (prev, out): (&[f32], &mut [f32]) = match (i == count - 1, i % 2 == 0) {
                (true, true) => (&*b1, &mut *a),
                (true, false) => (&*b0, &mut *a),
                (false, true) => (&*b1, &mut *b0),
                (false, false) => (&*b0, &mut *b1),
            };
            let width = l.n.min(out.len());
            let c = &mut out[..width];
            c.fill(0.0);
            if l.n > 0 {
                for (p, w_row) in l.W.chunks_exact(l.n).enumerate() {
                    // the book's x / 255.0 for the first layer, z_prev after
                    let a_p = if i == 0 {
                        x.get(p).map_or(0.0, |&v| v as f32 / 255.0)
                    } else {
                        prev.get(p).copied().unwrap_or(0.0)
                    };
                    if a_p == 0.0 {
                        continue;
                    }
                    for (c_j, &w) in c.iter_mut().zip(w_row) {
                        *c_j += a_p * w;
                    }
                }
            }
            for (c_j, &b) in c.iter_mut().zip(l.b) {
                *c_j += b;
            }
            if i < count - 1 {
                self.hidden.apply(c);
            }
        }
        Ok(crate::activation::argmax(a).unwrap_or(0))
    }

    /// The book's `predict`: `y = softmax(...sigmoid(x·W1 + b1)...·Wn + bn)`
    /// for a batch of `m` rows.
    ///
    /// # Errors
    /// [`ShapeError::Len`] if `x` is not `m × input_len`, `y` not
    /// `m × output_len`, or `scratch` shorter than [`Network::scratch_len`].
    pub fn forward(&self, m: usize, x: &[f32], scratch: &mut [f32], y: &mut [f32]) -> Result<(), ShapeError> {
        self.logits(m, x, scratch, y)?;
        softmax_rows(y, self.output_len());
        Ok(())
    }

    /// The last layer's `a = z·Wn + bn`, before softmax. Softmax keeps the
    /// order within a row, so `argmax` of these equals `argmax` of
    /// [`Network::forward`]'s `y`.
    ///
    /// # Errors
    /// As [`Network::forward`].
    pub fn logits(&self, m: usize, x: &[f32], scratch: &mut [f32], a: &mut [f32]) -> Result<(), ShapeError> {
        self.run(m, Input::Floats(x), scratch, a)
    }

    /// [`Network::logits`] for a batch of u8 pixels read as `p / 255` (the
    /// book's `normalize=True`), with no f32 copy of the batch: the first
    /// layer's kernel reads them in place ([`Kernel::dense_pixels`]). For
    /// mostly-zero images (MNIST) the same logits as converting them first,
    /// bit for bit.
    ///
    /// # Errors
    /// As [`Network::forward`], and [`ShapeError::Kernel`] if the first
    /// layer's kernel does not [read pixels](Kernel::reads_pixels).
    pub fn logits_pixels(&self, m: usize, x: &[u8], scratch: &mut [f32], a: &mut [f32]) -> Result<(), ShapeError> {
        let first = self.layers[0].kernel;
        if !first.reads_pixels() {
            return Err(ShapeError::Kernel(first.name()));
        }
        self.run(m, Input::Pixels(x), scratch, a)
    }

    /// Whether a pass of `m` rows takes the path of steps 18 to 23
    /// ([`crate::kernels::avx512_chain`], [`crate::kernels::avx2_chain`],
    /// [`crate::kernels::avx512_bits`], [`crate::kernels::avx512_colour`],
    /// [`crate::kernels::avx2_colour`], [`crate::kernels::avx512_pass`]):
    /// every layer on one of those steps, fewer rows than a register tile,
    /// u8 pixels in, sigmoid between the layers (whose outputs are never
    /// 0, so no hidden input is mostly zero), a first layer whose B splits
    /// and, for steps 18, 20 and 21, rows of at most `N_MAX` columns. (That the CPU
    /// runs the step, [`Dense::new`] checked.)
    fn checked_once(&self, m: usize, x: Input<'_>) -> bool {
        m < crate::kernels::avx512_chain::M_CHAIN && matches!(x, Input::Pixels(_)) && self.chains_once()
    }

    /// What [`Network::checked_once`] asks of the network itself, whatever
    /// the pass (and [`Network::pass`] of step 23's): every layer on the
    /// same one of steps 18 to 23 and taking its `n`, sigmoid between the
    /// layers, a first layer whose B splits.
    fn chains_once(&self) -> bool {
        let first = &self.layers[0];
        self.layers.iter().all(|l| l.kernel == first.kernel && first.kernel.checks_once_a_pass(l.n))
            && self.hidden == Activation::Sigmoid
            && crate::kernels::avx512_chain::takes_pixels(first.k, first.n)
    }

    /// Layer `i` (0-based) alone, on `m` rows, as [`Network::logits_pixels`]
    /// runs it in a pass of `m` u8 pixel rows: `out = act(prev·W + b)`, or
    /// `act(pixels·W + b)` for layer 0 (`prev` unused), with step 18's
    /// path where the pass takes it. For timing the stages one by one
    /// (`infer sweep --breakdown`).
    ///
    /// # Errors
    /// [`ShapeError::Len`] if `pixels` is not `m × input_len`, or, for
    /// layer `i`, `prev` not `m × k` (but for layer 0) or `out` not
    /// `m × n`; [`ShapeError::Dim`] if there is no layer `i`;
    /// [`ShapeError::Kernel`] if the first layer's kernel does not read
    /// pixels.
    pub fn layer_pixels(
        &self,
        i: usize,
        m: usize,
        pixels: &[u8],
        prev: &[f32],
        out: &mut [f32],
    ) -> Result<(), ShapeError> {
        let Some(l) = self.layers.get(i) else {
            return Err(ShapeError::Dim { what: "layer", expected: self.layers.len(), found: i });
        };
        let first = self.layers[0].kernel;
        if !first.reads_pixels() {
            return Err(ShapeError::Kernel(first.name()));
        }
        expect_len("pixels", m * self.input_len(), pixels.len())?;
        if i > 0 {
            expect_len("prev", m * l.k, prev.len())?;
        }
        expect_len("out", m * l.n, out.len())?;
        let x = Input::Pixels(pixels);
        self.layer(i, m, x, prev, out, self.checked_once(m, x));
        Ok(())
    }

    /// Layer `i` of a pass whose input `x`, `prev` (`m × k`, for `i > 0`)
    /// and `out` (`m × n`) have been checked; `once` from
    /// [`Network::checked_once`] for the pass.
    fn layer(&self, i: usize, m: usize, x: Input<'_>, prev: &[f32], out: &mut [f32], once: bool) {
        let l = &self.layers[i];
        let act = if i == self.layers.len() - 1 { Activation::Identity } else { self.hidden };
        // steps 18 to 23: the rows straight, everything checked once
        #[cfg(target_arch = "x86_64")]
        if once {
            // SAFETY: `checked_once`: every layer is on the same step of
            // 18 to 23 and takes its n, the input is pixels and the first
            // layer's B splits; `Dense::new`: the CPU runs the step and
            // every W and b has its layer's prepared length; the callers:
            // x, prev and out hold m·k0, m·k and m·n.
            unsafe {
                match (i, x) {
                    (0, Input::Pixels(x)) => l.kernel.dense_pixels_unchecked(m, l.k, l.n, x, l.W, l.b, act, out),
                    _ => l.kernel.dense_unchecked(m, l.k, l.n, prev, l.W, l.b, act, out),
                }
            }
            return;
        }
        #[cfg(not(target_arch = "x86_64"))]
        let _ = once;
        // the book's a1 = x·W1 + b1, z1 = sigmoid(a1); then z1 feeds W2 …
        match (i, x) {
            (0, Input::Floats(x)) => l.kernel.dense(m, l.k, l.n, x, l.W, l.b, act, out),
            (0, Input::Pixels(x)) => l.kernel.dense_pixels(m, l.k, l.n, x, l.W, l.b, act, out),
            _ => l.kernel.dense(m, l.k, l.n, prev, l.W, l.b, act, out),
        }
    }

    fn run(&self, m: usize, x: Input<'_>, scratch: &mut [f32], a: &mut [f32]) -> Result<(), ShapeError> {
        expect_len("x", m * self.input_len(), x.len())?;
        expect_len("y", m * self.output_len(), a.len())?;
        let need = self.scratch_len(m);
        if scratch.len() < need {
            return Err(ShapeError::Len { what: "scratch", expected: need, found: scratch.len() });
        }
        // Hidden layer i writes half i % 2 of scratch and reads the other.
        let (b0, b1) = scratch[..need].split_at_mut(need / 2);
        let count = self.layers.len();
        let once = self.checked_once(m, x);
        for (i, l) in self.layers.iter().enumerate() {
            let (prev, out): (&[f32], &mut [f32]) = match (i == count - 1, i % 2 == 0) {
                // the last layer stops at a (the book's a3): forward applies
                // softmax
                (true, _) => (if i % 2 == 0 { &*b1 } else { &*b0 }, &mut *a),
                (false, true) => (&*b1, &mut b0[..m * l.n]),
                (false, false) => (&*b0, &mut b1[..m * l.n]),
            };
            self.layer(i, m, x, &prev[..if i == 0 { 0 } else { m * l.k }], out, once);
        }
        Ok(())
    }
}

/// `Ok` if a buffer holds the `expected` elements, else the error naming
/// it.
fn expect_len(what: &'static str, expected: usize, found: usize) -> Result<(), ShapeError> {
    if expected == found {
        Ok(())
    } else {
        Err(ShapeError::Len { what, expected, found })
    }
}
