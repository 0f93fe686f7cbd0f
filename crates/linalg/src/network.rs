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
    /// [`ShapeError::Len`] if `W` or `b` has the wrong length.
    #[allow(non_snake_case)]
    pub fn new(kernel: Kernel, k: usize, n: usize, W: &'w [f32], b: &'w [f32]) -> Result<Self, ShapeError> {
        let expected = kernel.prepared_len(k, n);
        if W.len() != expected {
            return Err(ShapeError::Len { what: "W", expected, found: W.len() });
        }
        if b.len() != n {
            return Err(ShapeError::Len { what: "b", expected: n, found: b.len() });
        }
        Ok(Dense { kernel, k, n, W, b })
    }

    /// Inputs of the layer (rows of W).
    pub fn k(&self) -> usize {
        self.k
    }

    /// Outputs of the layer (columns of W).
    pub fn n(&self) -> usize {
        self.n
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
    pub fn new(layers: &'w [Dense<'w>]) -> Result<Self, ShapeError> {
        if layers.is_empty() {
            return Err(ShapeError::Len { what: "layers", expected: 1, found: 0 });
        }
        for pair in layers.windows(2) {
            if pair[1].k != pair[0].n {
                return Err(ShapeError::Dim { what: "k (rows of the next W)", expected: pair[0].n, found: pair[1].k });
            }
        }
        Ok(Network { layers, hidden: Activation::Sigmoid })
    }

    /// Uses `act` instead of sigmoid after the hidden layers.
    pub fn with_hidden_activation(mut self, act: Activation) -> Self {
        self.hidden = act;
        self
    }

    /// The layers, input first.
    pub fn layers(&self) -> &'w [Dense<'w>] {
        self.layers
    }

    /// Inputs per row of `x` (`k` of the first layer).
    pub fn input_len(&self) -> usize {
        self.layers[0].k
    }

    /// Outputs per row of `y` (`n` of the last layer).
    pub fn output_len(&self) -> usize {
        self.layers[self.layers.len() - 1].n
    }

    /// Multiply-adds per row, summed over the layers (`Σ k·n`). Twice this is
    /// the FLOP count per image: 2 × 45,200 = 90,400 for the book's network.
    pub fn macs_per_row(&self) -> usize {
        self.layers.iter().map(|l| l.k * l.n).sum()
    }

    /// Elements of scratch that [`Network::forward`] needs for a batch of `m`
    /// rows: two buffers of the widest hidden layer, used in turn.
    pub fn scratch_len(&self, m: usize) -> usize {
        let hidden = &self.layers[..self.layers.len() - 1];
        2 * m * hidden.iter().map(|l| l.n).max().unwrap_or(0)
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
        let expect = |what, expected: usize, found: usize| {
            if expected == found {
                Ok(())
            } else {
                Err(ShapeError::Len { what, expected, found })
            }
        };
        expect("x", m * self.input_len(), x.len())?;
        expect("y", m * self.output_len(), a.len())?;
        let need = self.scratch_len(m);
        if scratch.len() < need {
            return Err(ShapeError::Len { what: "scratch", expected: need, found: scratch.len() });
        }
        // Hidden layer i writes half i % 2 of scratch and reads the other.
        let (b0, b1) = scratch[..need].split_at_mut(need / 2);
        let (last, hidden) = self.layers.split_last().expect("a network has at least one layer");
        for (i, l) in hidden.iter().enumerate() {
            let (prev, out) = if i % 2 == 0 { (&*b1, &mut *b0) } else { (&*b0, &mut *b1) };
            // the book's a1 = x·W1 + b1, z1 = sigmoid(a1); then z1 feeds W2 …
            let z_prev = if i == 0 { x } else { &prev[..m * l.k] };
            l.kernel.dense(m, l.k, l.n, z_prev, l.W, l.b, self.hidden, &mut out[..m * l.n]);
        }
        let input = match hidden.len() {
            0 => x,
            h if (h - 1) % 2 == 0 => &b0[..m * last.k],
            _ => &b1[..m * last.k],
        };
        // the last layer stops at a (the book's a3): forward applies softmax
        last.kernel.dense(m, last.k, last.n, input, last.W, last.b, Activation::Identity, a);
        Ok(())
    }
}
