//! Integer-only int8 inference: the same network with int8 weights, int32
//! accumulators and u8 activations, and not one floating-point operation in
//! the forward pass, so it runs on a CPU without an FPU.
//!
//! The scheme is TensorFlow Lite's post-training quantization, per output
//! column:
//!
//! ```text
//! x   u8 pixels as they are: the real input is x / 255 (scale 1/255, zero 0)
//! W   int8, one scale per column j:  W[i][j] ≈ sw[j] · Wq[i][j],  |Wq| ≤ 127
//! acc int32: acc[j] = Σ_i x[i] · Wq[i][j] + bq[j],  bq[j] = round(b[j] / (sx · sw[j]))
//!     so that a[j] = sx · sw[j] · acc[j]  (the book's a1 = x·W1 + b1)
//! t   requantized: t[j] = (acc[j] · M[j] + 2^(s[j]-1)) >> s[j],  M[j] / 2^s[j] ≈ sx · sw[j] · L
//!     which is a[j] in units of 1/L, with M[j] a 31-bit integer
//! z   hidden layers: z = SIGMOID[clamp(t + 128, 0, 255)], a 256-entry table of
//!     round(255 · sigmoid((i - 128) / 16)); L = 16, z is u8 with scale 1/255
//! y   last layer: L = 2^16 and the answer is argmax(t), the first on ties
//! ```
//!
//! Zero inputs are skipped (about 80 % of MNIST pixels): an integer product
//! with 0 adds nothing, so the result is the same.
//!
//! [`quantize`] turns f32 weights into this form (it uses floating point,
//! once, when the model is made); [`QNetwork::predict`] is the integer-only
//! forward pass. Every buffer belongs to the caller; nothing allocates.

use crate::mat::ShapeError;

pub mod avx2;
pub mod vnni;

/// Entries of the sigmoid table.
pub const SIGMOID_LEN: usize = 256;
/// Units per 1.0 of a hidden pre-activation: the table covers `[-8, 8)` in
/// steps of 1/16.
pub const HIDDEN_UNITS: u32 = 16;
/// Units per 1.0 of a last-layer logit (argmax needs no table, only order).
pub const LOGIT_UNITS: u32 = 1 << 16;
/// The widest layer [`QNetwork::predict`] can hold on its stack.
pub const MAX_WIDTH: usize = 256;

/// One int8 dense layer, read in place (from a `static`, flash, a file):
/// `Wq` is `k×n` row-major, and `bias`, `mult` and `shift` have `n`
/// entries each.
#[derive(Clone, Copy, Debug)]
#[allow(non_snake_case)]
pub struct QDense<'w> {
    /// Inputs (rows of W).
    pub k: usize,
    /// Outputs (columns of W).
    pub n: usize,
    /// `k×n` int8 weights, row-major.
    pub Wq: &'w [i8],
    /// The bias in accumulator units.
    pub bias: &'w [i32],
    /// Requantization multipliers, in `[2^30, 2^31)`.
    pub mult: &'w [i32],
    /// Requantization right shifts, 1 to 62.
    pub shift: &'w [u8],
}

impl QDense<'_> {
    /// Checks that the slices have their lengths (`k·n` weights, `n` of
    /// each of the others) and every shift is in 1..=62.
    ///
    /// # Errors
    /// A [`ShapeError`] naming the first slice that is wrong.
    pub const fn check(&self) -> Result<(), ShapeError> {
        if self.Wq.len() != self.k * self.n {
            return Err(ShapeError::Len { what: "Wq", expected: self.k * self.n, found: self.Wq.len() });
        }
        if self.bias.len() != self.n {
            return Err(ShapeError::Len { what: "bias", expected: self.n, found: self.bias.len() });
        }
        if self.mult.len() != self.n {
            return Err(ShapeError::Len { what: "mult", expected: self.n, found: self.mult.len() });
        }
        if self.shift.len() != self.n {
            return Err(ShapeError::Len { what: "shift", expected: self.n, found: self.shift.len() });
        }
        let mut j = 0;
        while j < self.n {
            if self.shift[j] < 1 || self.shift[j] > 62 {
                return Err(ShapeError::Dim { what: "shift (1 to 62)", expected: 31, found: self.shift[j] as usize });
            }
            j += 1;
        }
        Ok(())
    }

    /// Bytes of the layer's data: weights, then 4 + 4 + 1 per output.
    pub const fn bytes(&self) -> usize {
        self.k * self.n + self.n * 9
    }

    /// This layer alone on one input (`k` u8), its requantized outputs
    /// (before any activation) into `t` (`n`): the portable pass's step,
    /// for timing one layer (`infer kernels`).
    ///
    /// # Errors
    /// [`ShapeError::Len`] if a slice has the wrong length.
    pub fn requantized(&self, x: &[u8], t: &mut [i32]) -> Result<(), ShapeError> {
        if x.len() != self.k || t.len() != self.n || self.n > MAX_WIDTH {
            return Err(ShapeError::Len { what: "x or t", expected: self.k, found: x.len() });
        }
        let mut out = [0i32; MAX_WIDTH];
        layer(self, x, &mut out);
        for (o, &v) in t.iter_mut().zip(&out) {
            *o = v;
        }
        Ok(())
    }
}

/// Int8 layers chained input to output, with the sigmoid table between
/// them.
#[derive(Clone, Copy, Debug)]
pub struct QNetwork<'w> {
    /// The layers, input first.
    pub layers: &'w [QDense<'w>],
    /// `SIGMOID[i] = round(255 · sigmoid((i - 128) / 16))`, see [`sigmoid_table`].
    pub sigmoid: &'w [u8; SIGMOID_LEN],
}

impl<'w> QNetwork<'w> {
    /// Checks that every layer's slices have their lengths
    /// ([`QDense::check`]), the layers
    /// chain, the hidden ones are at most [`MAX_WIDTH`] wide, and every
    /// shift is in 1..=62.
    ///
    /// # Errors
    /// A [`ShapeError`] naming the first slice or dimension that is wrong.
    pub const fn new(layers: &'w [QDense<'w>], sigmoid: &'w [u8; SIGMOID_LEN]) -> Result<Self, ShapeError> {
        if layers.is_empty() {
            return Err(ShapeError::Len { what: "layers", expected: 1, found: 0 });
        }
        let mut i = 0;
        while i < layers.len() {
            let l = &layers[i];
            if let Err(e) = l.check() {
                return Err(e);
            }
            if l.n > MAX_WIDTH {
                return Err(ShapeError::Dim { what: "layer width", expected: MAX_WIDTH, found: l.n });
            }
            if i + 1 < layers.len() && layers[i + 1].k != l.n {
                return Err(ShapeError::Dim { what: "k (rows of the next W)", expected: l.n, found: layers[i + 1].k });
            }
            i += 1;
        }
        Ok(QNetwork { layers, sigmoid })
    }

    /// Inputs per image (`k` of the first layer).
    pub const fn input_len(&self) -> usize {
        self.layers[0].k
    }

    /// Classes (`n` of the last layer).
    pub const fn output_len(&self) -> usize {
        self.layers[self.layers.len() - 1].n
    }

    /// Bytes of the model: every layer's data and the sigmoid table.
    pub const fn bytes(&self) -> usize {
        let mut total = SIGMOID_LEN;
        let mut i = 0;
        while i < self.layers.len() {
            total += self.layers[i].bytes();
            i += 1;
        }
        total
    }

    /// The last layer's requantized logits of one image `x` (u8 pixels,
    /// `input_len` of them) into `t` (`output_len`), in units of
    /// 1/[`LOGIT_UNITS`]. Integer arithmetic only; two buffers of
    /// [`MAX_WIDTH`] bytes and one of `MAX_WIDTH` `i32` on the stack. No
    /// path in it can panic.
    ///
    /// # Errors
    /// [`ShapeError::Len`] if `x` or `t` has the wrong length.
    pub fn logits(&self, x: &[u8], t: &mut [i32]) -> Result<(), ShapeError> {
        self.logits_staged(x, t, |_| {})
    }

    /// [`QNetwork::logits`], calling `after(i)` as soon as layer `i`'s
    /// outputs are written (its sums, requantization and activation
    /// done): what `infer sweep --breakdown` reads its clock in.
    ///
    /// # Errors
    /// As [`QNetwork::logits`].
    pub fn logits_staged(&self, x: &[u8], t: &mut [i32], after: impl FnMut(usize)) -> Result<(), ShapeError> {
        // the book's a1 = x·W1 + b1, z1 = sigmoid(a1), …, in integers
        self.forward(x, t, |l, _, input, out| layer(l, input, out), after)
    }

    /// Whether `x` and `t` hold `m` images' inputs and logits, back to
    /// back: the batched passes' check.
    pub(crate) fn check_batch(&self, m: usize, x: &[u8], t: &[i32]) -> Result<(), ShapeError> {
        let (k0, classes) = (self.input_len(), self.output_len());
        if x.len() != m * k0 {
            return Err(ShapeError::Len { what: "x", expected: m * k0, found: x.len() });
        }
        if t.len() != m * classes {
            return Err(ShapeError::Len { what: "t", expected: m * classes, found: t.len() });
        }
        Ok(())
    }

    /// The layer chain that every int8 pass shares: `layer(l, i, input,
    /// dest)` runs layer `i` on `input` and sends its outputs to `dest`: a
    /// hidden layer's `n` activations (the sigmoid table applied) into the
    /// next layer's input row, the last layer's `n` requantized sums into
    /// `t`. Two buffers of [`MAX_WIDTH`] bytes on the stack; no path in it
    /// can panic.
    pub(crate) fn chain(
        &self,
        x: &[u8],
        t: &mut [i32],
        mut layer: impl FnMut(&QDense<'_>, usize, &[u8], Dest<'_>),
    ) -> Result<(), ShapeError> {
        if x.len() != self.input_len() {
            return Err(ShapeError::Len { what: "x", expected: self.input_len(), found: x.len() });
        }
        if t.len() != self.output_len() {
            return Err(ShapeError::Len { what: "t", expected: self.output_len(), found: t.len() });
        }
        let mut z = [[0u8; MAX_WIDTH]; 2];
        let last = self.layers.len().saturating_sub(1);
        for (i, l) in self.layers.iter().enumerate() {
            // layer i reads half (i - 1) % 2 of z and writes half i % 2
            let [even, odd] = &mut z;
            let (prev, next) = if i % 2 == 0 { (&*odd, even) } else { (&*even, odd) };
            let input: &[u8] = if i == 0 { x } else { prev.get(..l.k).unwrap_or(&[]) };
            layer(l, i, input, if i == last { Dest::Logits(&mut *t) } else { Dest::Hidden(next) });
        }
        Ok(())
    }

    /// [`QNetwork::chain`] for passes whose `layer(l, i, input, out)` writes
    /// layer `i`'s requantized outputs into `out`: this applies the sigmoid
    /// table, or copies the logits, one output at a time, then calls
    /// `after(i)`.
    pub(crate) fn forward(
        &self,
        x: &[u8],
        t: &mut [i32],
        mut layer: impl FnMut(&QDense<'_>, usize, &[u8], &mut [i32; MAX_WIDTH]),
        mut after: impl FnMut(usize),
    ) -> Result<(), ShapeError> {
        let mut out = [0i32; MAX_WIDTH];
        self.chain(x, t, |l, i, input, dest| {
            layer(l, i, input, &mut out);
            match dest {
                Dest::Logits(t) => {
                    for (o, &v) in t.iter_mut().zip(&out) {
                        *o = v;
                    }
                }
                Dest::Hidden(next) => {
                    for (o, &v) in next.iter_mut().zip(&out).take(l.n) {
                        *o = activate(self.sigmoid, v);
                    }
                }
            }
            after(i);
        })
    }

    /// The predicted class of one image: argmax of [`QNetwork::logits`],
    /// the first on ties. `t` is scratch of `output_len` elements.
    ///
    /// # Errors
    /// As [`QNetwork::logits`].
    pub fn predict(&self, x: &[u8], t: &mut [i32]) -> Result<usize, ShapeError> {
        self.logits(x, t)?;
        Ok(argmax(t))
    }
}

/// Where [`QNetwork::chain`] sends a layer's outputs.
pub(crate) enum Dest<'a> {
    /// A hidden layer: its activations, bytes, into the next layer's input.
    Hidden(&'a mut [u8; MAX_WIDTH]),
    /// The last layer: its requantized sums, the logits.
    Logits(&'a mut [i32]),
}

/// `acc = x·Wq + bias`, requantized, each output handed to `store(j, t)`.
/// Zero inputs are skipped. Written with iterators only, so that no bounds
/// check (and no panic message formatting) is left in the code.
fn layer(l: &QDense<'_>, x: &[u8], out: &mut [i32; MAX_WIDTH]) {
    let mut acc = [0i32; MAX_WIDTH];
    for (a, &b) in acc.iter_mut().zip(l.bias) {
        *a = b;
    }
    if l.n == 0 {
        return;
    }
    for (row, &xi) in l.Wq.chunks_exact(l.n).zip(x) {
        if xi == 0 {
            continue;
        }
        for (a, &w) in acc.iter_mut().zip(row) {
            *a += xi as i32 * w as i32;
        }
    }
    for (o, ((&a, &m), &s)) in out.iter_mut().zip(acc.iter().zip(l.mult).zip(l.shift)) {
        *o = requantize(a, m, s);
    }
}

/// What a vector pass over prepared weights relies on: the CPU
/// (`available`, else [`ShapeError::Kernel`] naming `pass`), one prepared
/// buffer of `prepared_len(k, n)` elements per layer, and no layer whose
/// `padded(n)` columns exceed the pass's `max_width` registers' worth.
pub(crate) struct PassNeeds {
    pub pass: &'static str,
    pub available: bool,
    pub prepared_len: fn(usize, usize) -> usize,
    pub padded: fn(usize) -> usize,
    pub max_width: usize,
}

impl PassNeeds {
    /// Checks `net` and its `prepared` layers against these needs.
    pub(crate) fn check<T>(&self, net: &QNetwork<'_>, prepared: &[&[T]]) -> Result<(), ShapeError> {
        if !self.available {
            return Err(ShapeError::Kernel(self.pass));
        }
        if prepared.len() != net.layers.len() {
            return Err(ShapeError::Len { what: "prepared layers", expected: net.layers.len(), found: prepared.len() });
        }
        for (l, p) in net.layers.iter().zip(prepared) {
            let len = (self.prepared_len)(l.k, l.n);
            if p.len() != len {
                return Err(ShapeError::Len { what: "prepared W", expected: len, found: p.len() });
            }
            if (self.padded)(l.n) > self.max_width {
                return Err(ShapeError::Dim { what: "layer width", expected: self.max_width, found: l.n });
            }
        }
        Ok(())
    }
}

/// Index of the largest logit, the first on ties (as numpy's argmax).
pub fn argmax(t: &[i32]) -> usize {
    let mut best = (0, i32::MIN);
    for (j, &v) in t.iter().enumerate() {
        if v > best.1 {
            best = (j, v);
        }
    }
    best.0
}

/// `(acc · mult + 2^(shift-1)) >> shift`: an accumulator in the next
/// layer's units, rounded half up. Every int8 kernel calls this one
/// function, so they agree bit for bit.
#[inline(always)]
pub(crate) fn requantize(acc: i32, mult: i32, shift: u8) -> i32 {
    let s = (shift as u32).clamp(1, 62);
    ((acc as i64 * mult as i64 + (1i64 << (s - 1))) >> s) as i32
}

/// The hidden activation: `SIGMOID[clamp(t + 128, 0, 255)]`.
#[inline(always)]
pub fn activate(sigmoid: &[u8; SIGMOID_LEN], t: i32) -> u8 {
    sigmoid[(t + 128).clamp(0, SIGMOID_LEN as i32 - 1) as usize]
}

/// `round(255 · sigmoid((i - 128) / 16))` for `i` in `0..256`: the hidden
/// layers' activation as a table (made once, with floating point).
pub fn sigmoid_table() -> [u8; SIGMOID_LEN] {
    let mut t = [0u8; SIGMOID_LEN];
    for (i, v) in t.iter_mut().enumerate() {
        let a = (i as f64 - 128.0) / HIDDEN_UNITS as f64;
        let s = 1.0 / (1.0 + crate::math::exp(-a as f32) as f64);
        *v = round(255.0 * s).clamp(0, 255) as u8;
    }
    t
}

/// Rounds half away from zero (core has no `f64::round`).
pub(crate) fn round(x: f64) -> i64 {
    if x >= 0.0 {
        (x + 0.5) as i64
    } else {
        -((-x + 0.5) as i64)
    }
}

/// The int8 form of one f32 layer, written into the caller's buffers.
#[allow(non_snake_case)]
pub struct QuantizeInto<'a> {
    /// `k×n` int8 weights.
    pub Wq: &'a mut [i8],
    /// `n` biases in accumulator units.
    pub bias: &'a mut [i32],
    /// `n` multipliers.
    pub mult: &'a mut [i32],
    /// `n` shifts.
    pub shift: &'a mut [u8],
}

/// Post-training quantization of one layer `a = x·W + b` (W `k×n`
/// row-major, b `n`) whose input has scale `input_scale` (1/255 for pixels
/// and for the u8 sigmoid outputs), into `out`. `units` is
/// [`HIDDEN_UNITS`] for a hidden layer, [`LOGIT_UNITS`] for the last.
///
/// Each column j gets `sw[j] = max_i |W[i][j]| / 127` (1 for an all-zero
/// column) and `Wq[i][j] = round(W[i][j] / sw[j])`.
///
/// # Panics
/// If a buffer has the wrong length, or a bias does not fit in `i32`
/// accumulator units.
#[allow(non_snake_case)]
pub fn quantize(k: usize, n: usize, W: &[f32], b: &[f32], input_scale: f64, units: u32, out: QuantizeInto<'_>) {
    assert!(W.len() == k * n && b.len() == n, "W must be k×n and b n long");
    assert!(out.Wq.len() == k * n && out.bias.len() == n && out.mult.len() == n && out.shift.len() == n);
    for j in 0..n {
        let max = (0..k).map(|i| W[i * n + j].abs()).fold(0.0f32, f32::max) as f64;
        let sw = if max > 0.0 { max / 127.0 } else { 1.0 };
        for i in 0..k {
            out.Wq[i * n + j] = round(W[i * n + j] as f64 / sw).clamp(-127, 127) as i8;
        }
        let acc_scale = input_scale * sw;
        let bq = round(b[j] as f64 / acc_scale);
        out.bias[j] = i32::try_from(bq).expect("bias fits in i32 accumulator units");
        // M / 2^s = acc_scale · units, with M in [2^30, 2^31)
        let r = acc_scale * units as f64;
        let mut s = 0u32;
        while r * ((1u64 << s) as f64) < (1u64 << 30) as f64 && s < 62 {
            s += 1;
        }
        let m = round(r * (1u64 << s) as f64);
        let (m, s) = if m >= 1 << 31 { (m / 2, s - 1) } else { (m, s) };
        out.mult[j] = m as i32;
        out.shift[j] = s.max(1) as u8;
    }
}

#[cfg(all(test, feature = "std"))]
mod tests {
    extern crate std;
    use std::vec;
    use std::vec::Vec;

    use super::*;

    /// A 9-4-3 network: k not a multiple of 4, widths under a vector.
    const SHAPE: [(usize, usize); 2] = [(9, 4), (4, 3)];

    struct Tiny {
        wq: [Vec<i8>; 2],
        bias: [Vec<i32>; 2],
        mult: [Vec<i32>; 2],
        shift: [Vec<u8>; 2],
        sigmoid: [u8; SIGMOID_LEN],
    }

    impl Tiny {
        fn new() -> Tiny {
            Tiny {
                wq: SHAPE.map(|(k, n)| (0..k * n).map(|i| (i as i32 * 37 % 255 - 127) as i8).collect()),
                bias: SHAPE.map(|(_, n)| (0..n as i32).map(|j| 100 * j - 150).collect()),
                mult: SHAPE.map(|(_, n)| vec![1 << 30; n]),
                shift: SHAPE.map(|(_, n)| vec![12; n]),
                sigmoid: core::array::from_fn(|i| i as u8),
            }
        }

        fn layers(&self) -> [QDense<'_>; 2] {
            core::array::from_fn(|i| QDense {
                k: SHAPE[i].0,
                n: SHAPE[i].1,
                Wq: &self.wq[i],
                bias: &self.bias[i],
                mult: &self.mult[i],
                shift: &self.shift[i],
            })
        }
    }

    /// Each layer's weights as a pass prepares them.
    fn prepared<T: Copy + Default>(
        layers: &[QDense<'_>],
        len: fn(usize, usize) -> usize,
        prepare: fn(&QDense<'_>, &mut [T]),
    ) -> Vec<Vec<T>> {
        layers
            .iter()
            .map(|l| {
                let mut p = vec![T::default(); len(l.k, l.n)];
                prepare(l, &mut p);
                p
            })
            .collect()
    }

    /// The batched passes take `m` images and `m` rows of logits, refuse
    /// any other length with an error (no panic), and give each image the
    /// portable pass's logits.
    #[test]
    fn batched_passes_check_lengths_and_equal_the_portable_logits() {
        let tiny = Tiny::new();
        let layers = tiny.layers();
        let net = QNetwork::new(&layers, &tiny.sigmoid).unwrap();
        let m = 3;
        let x: Vec<u8> = (0..m * 9).map(|i| if i % 3 == 0 { 0 } else { (i * 29) as u8 }).collect();
        let mut want = vec![0i32; m * 3];
        for (x, t) in x.chunks_exact(9).zip(want.chunks_exact_mut(3)) {
            net.logits(x, t).unwrap();
        }
        let short = ShapeError::Len { what: "x", expected: m * 9, found: m * 9 - 1 };
        let narrow = ShapeError::Len { what: "t", expected: m * 3, found: m * 3 - 1 };
        assert_eq!(net.check_batch(m, &x[1..], &want), Err(short));
        assert_eq!(net.check_batch(m, &x, &want[1..]), Err(narrow));
        if avx2::is_available() {
            let prepared = prepared(&layers, avx2::prepared_len, avx2::prepare);
            let prepared: Vec<&[i16]> = prepared.iter().map(Vec::as_slice).collect();
            let mut z = vec![0u8; avx2::batch_scratch_len(m)];
            let mut t = vec![0i32; m * 3];
            avx2::logits_batch(&net, &prepared, m, &x, &mut z, &mut t).unwrap();
            assert_eq!(t, want);
            assert_eq!(avx2::logits_batch(&net, &prepared, m, &x[1..], &mut z, &mut t), Err(short));
            assert_eq!(avx2::logits_batch(&net, &prepared, m, &x, &mut z, &mut t[1..]), Err(narrow));
        }
        if vnni::is_available() {
            let prepared = prepared(&layers, vnni::prepared_len, vnni::prepare);
            let prepared: Vec<&[u32]> = prepared.iter().map(Vec::as_slice).collect();
            let mut t = vec![0i32; m * 3];
            vnni::logits_batch(&net, &prepared, m, &x, &mut t).unwrap();
            assert_eq!(t, want);
            assert_eq!(vnni::logits_batch(&net, &prepared, m, &x[1..], &mut t), Err(short));
            assert_eq!(vnni::logits_batch(&net, &prepared, m, &x, &mut t[1..]), Err(narrow));
        }
    }

    /// The VNNI pass with layers left out, for `infer sweep --breakdown`'s
    /// timing: with none left out, each image's own logits; with the last
    /// layer out, `t` as it was; with the first out, the last layer of an
    /// input of zeros (the pass's own buffers) whatever the image; a layer
    /// the network does not have, an error.
    #[test]
    fn vnni_pass_leaves_layers_out_for_timing() {
        if !vnni::is_available() {
            return;
        }
        let tiny = Tiny::new();
        let layers = tiny.layers();
        let net = QNetwork::new(&layers, &tiny.sigmoid).unwrap();
        let prepared = prepared(&layers, vnni::prepared_len, vnni::prepare);
        let prepared: Vec<&[u32]> = prepared.iter().map(Vec::as_slice).collect();
        let pass = vnni::Pass::new(&net, &prepared).unwrap();
        let m = 3;
        let x: Vec<u8> = (0..m * 9).map(|i| if i % 4 == 0 { 0 } else { (i * 53 + 11) as u8 }).collect();
        let mut own = vec![0i32; m * 3];
        for (x, t) in x.chunks_exact(9).zip(own.chunks_exact_mut(3)) {
            net.logits(x, t).unwrap();
        }
        assert!(own.chunks_exact(3).any(|t| t != &own[..3]), "the images' logits differ");
        let mut t = vec![0i32; m * 3];
        pass.logits_batch_without(m, &x, &mut t, 0).unwrap();
        assert_eq!(t, own, "nothing left out");
        let mut zeros = vec![0i32; 3];
        layers[1].requantized(&[0; 4], &mut zeros).unwrap();
        pass.logits_batch_without(m, &x, &mut t, 0b01).unwrap();
        assert_eq!(t, [zeros.clone(), zeros.clone(), zeros].concat(), "the first layer left out");
        for left_out in [0b10, 0b11] {
            let mut t: Vec<i32> = (0..m as i32 * 3).map(|i| 1000 + i).collect();
            pass.logits_batch_without(m, &x, &mut t, left_out).unwrap();
            assert_eq!(t, (0..m as i32 * 3).map(|i| 1000 + i).collect::<Vec<_>>(), "{left_out:#b} left out");
        }
        assert_eq!(
            pass.logits_batch_without(m, &x, &mut t, 0b101),
            Err(ShapeError::Dim { what: "layer left out", expected: 1, found: 2 })
        );
        let short = ShapeError::Len { what: "x", expected: m * 9, found: m * 9 - 1 };
        assert_eq!(pass.logits_batch_without(m, &x[1..], &mut t, 0b01), Err(short));
    }

    /// One VNNI layer alone (what `infer kernels` times) gives the
    /// portable layer's integers whether its input is summed as the
    /// pixels are (zero quads skipped) or as a hidden layer's (every quad).
    #[test]
    fn vnni_layer_alone_equals_the_portable_layer_either_way() {
        if !vnni::is_available() {
            return;
        }
        let tiny = Tiny::new();
        let layers = tiny.layers();
        for (l, p) in layers.iter().zip(prepared(&layers, vnni::prepared_len, vnni::prepare)) {
            // zero quads, a partial last quad, and bytes up to 255
            let x: Vec<u8> = (0..l.k).map(|i| if i % 5 < 2 { 0 } else { (i * 83 + 7) as u8 }).collect();
            let mut want = vec![0i32; l.n];
            l.requantized(&x, &mut want).unwrap();
            for hidden in [false, true] {
                let mut t = vec![0i32; l.n];
                vnni::requantized(l, &p, &x, &mut t, hidden).unwrap();
                assert_eq!(t, want, "hidden: {hidden}");
            }
        }
    }
}
