//! The int8 model: the f32 layers quantized once (`linalg::int8::quantize`),
//! owned here, and run image by image by the integer-only forward pass.

use linalg::int8::{self, QDense, QNetwork, QuantizeInto, HIDDEN_UNITS, LOGIT_UNITS, SIGMOID_LEN};
use mnist_data::{Images, Layer};

use crate::Failure;

/// One quantized layer, owned.
#[derive(Clone, Debug)]
#[allow(non_snake_case)]
pub struct QLayer {
    /// Inputs.
    pub k: usize,
    /// Outputs.
    pub n: usize,
    /// `k×n` int8 weights.
    pub Wq: Vec<i8>,
    /// Bias in accumulator units.
    pub bias: Vec<i32>,
    /// Requantization multipliers.
    pub mult: Vec<i32>,
    /// Requantization shifts.
    pub shift: Vec<u8>,
}

/// The int8 network: its layers and the sigmoid table.
#[derive(Clone, Debug)]
pub struct QModel {
    /// The layers, input first.
    pub layers: Vec<QLayer>,
    /// The hidden layers' activation.
    pub sigmoid: [u8; SIGMOID_LEN],
}

impl QModel {
    /// Quantizes `layers` (inputs are u8 pixels, scale 1/255).
    ///
    /// # Errors
    /// A layer wider than `linalg::int8::MAX_WIDTH`.
    pub fn new(layers: &[Layer]) -> Result<QModel, Failure> {
        let last = layers.len() - 1;
        let layers: Vec<QLayer> = layers
            .iter()
            .enumerate()
            .map(|(i, l)| {
                let mut q = QLayer {
                    k: l.k,
                    n: l.n,
                    Wq: vec![0; l.k * l.n],
                    bias: vec![0; l.n],
                    mult: vec![0; l.n],
                    shift: vec![0; l.n],
                };
                let units = if i == last { LOGIT_UNITS } else { HIDDEN_UNITS };
                let out = QuantizeInto { Wq: &mut q.Wq, bias: &mut q.bias, mult: &mut q.mult, shift: &mut q.shift };
                int8::quantize(l.k, l.n, &l.W, &l.b, 1.0 / 255.0, units, out);
                q
            })
            .collect();
        let model = QModel { layers, sigmoid: int8::sigmoid_table() };
        model.with_network(|_| ())?;
        Ok(model)
    }

    /// Runs `f` on the borrowed `linalg` network.
    ///
    /// # Errors
    /// A layer the integer forward pass cannot hold.
    pub fn with_network<R>(&self, f: impl FnOnce(QNetwork<'_>) -> R) -> Result<R, Failure> {
        let dense: Vec<QDense<'_>> = self
            .layers
            .iter()
            .map(|l| QDense { k: l.k, n: l.n, Wq: &l.Wq, bias: &l.bias, mult: &l.mult, shift: &l.shift })
            .collect();
        let net = QNetwork::new(&dense, &self.sigmoid).map_err(|e| Failure(format!("int8 model: {e}")))?;
        Ok(f(net))
    }

    /// Bytes of weights, biases, multipliers, shifts and the table.
    pub fn bytes(&self) -> usize {
        self.with_network(|n| n.bytes()).unwrap_or(0)
    }

    /// The predicted class of each of the first `predictions.len()` images,
    /// one image at a time (the integer pass has no batched form yet), on
    /// `threads` threads each taking a contiguous share.
    pub fn predict(&self, images: &Images, threads: usize, predictions: &mut [u8]) {
        let ppi = images.pixels_per_image();
        let run = |first: usize, out: &mut [u8]| {
            self.with_network(|net| {
                let mut t = vec![0i32; net.output_len()];
                for (i, p) in out.iter_mut().enumerate() {
                    let x = &images.pixels[(first + i) * ppi..(first + i + 1) * ppi];
                    *p = net.predict(x, &mut t).expect("image and logits sized by the network") as u8;
                }
            })
            .expect("checked when the model was made");
        };
        if threads <= 1 {
            return run(0, predictions);
        }
        let share = predictions.len().div_ceil(threads).max(1);
        std::thread::scope(|s| {
            for (c, chunk) in predictions.chunks_mut(share).enumerate() {
                s.spawn(move || run(c * share, chunk));
            }
        });
    }
}
