//! The int8 model: the f32 layers quantized once (`linalg::int8::quantize`),
//! owned here, and run by the integer-only forward pass (the AVX2 one in
//! batches, the AVX-512 VNNI one image by image with the next image of a
//! batch fetched ahead, the portable one image by image).

use linalg::int8::{self, avx2, vnni, QDense, QNetwork, QuantizeInto, HIDDEN_UNITS, LOGIT_UNITS, SIGMOID_LEN};
use mnist_data::{Images, Layer};

use crate::lines::Lines;
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

/// Which integer forward pass runs the int8 model.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IntKernel {
    /// `linalg::int8::QNetwork::logits`: scalar, any CPU, the oracle.
    Portable,
    /// `linalg::int8::avx2`: `vpmaddwd` on pairs of inputs, bit-identical.
    Avx2,
    /// `linalg::int8::vnni`: `vpdpbusd` on quads of inputs, bit-identical
    /// (checked on an Intel Xeon with VNNI and an emulated Ice Lake);
    /// needs AVX-512 VNNI.
    Vnni,
}

impl IntKernel {
    /// Every pass, oracle first.
    pub const ALL: [IntKernel; 3] = [IntKernel::Portable, IntKernel::Avx2, IntKernel::Vnni];

    /// `int8-portable`, `int8-avx2` or `int8-vnni`.
    pub fn name(self) -> &'static str {
        match self {
            IntKernel::Portable => "int8-portable",
            IntKernel::Avx2 => "int8-avx2",
            IntKernel::Vnni => "int8-vnni",
        }
    }

    /// Whether this CPU runs it.
    pub fn is_available(self) -> bool {
        match self {
            IntKernel::Portable => true,
            IntKernel::Avx2 => avx2::is_available(),
            IntKernel::Vnni => vnni::is_available(),
        }
    }

    /// The default: on a CPU with AVX-512 VNNI, whichever of the AVX2 and
    /// VNNI passes runs a miniature of the book's network faster on this
    /// core, measured once per process ([`faster`]: AMD Zen 4 runs 512-bit
    /// instructions on 256-bit halves, so a rule written from an Intel CPU
    /// would be a guess there); else AVX2 where the CPU has it; else
    /// portable.
    pub fn best() -> IntKernel {
        if vnni::is_available() && avx2::is_available() {
            static CHOICE: std::sync::OnceLock<IntKernel> = std::sync::OnceLock::new();
            return *CHOICE.get_or_init(|| faster(IntKernel::Avx2, IntKernel::Vnni));
        }
        if avx2::is_available() {
            IntKernel::Avx2
        } else {
            IntKernel::Portable
        }
    }
}

/// Of two passes this CPU runs, the one that classifies 12 synthetic
/// images (784 pixels, one in five non-zero as in MNIST) through a
/// 784-50-100-10 network in less time, as one batch: the AVX2 pass's hidden
/// layers in two tiles of 6, VNNI image by image, so the choice is made for
/// batches, the case the speed tables lead with. The two take turns, 8
/// passes per round, as `linalg`'s choice between the f32 kernels
/// ([`linalg::kernels::choose::faster_by`]: 5 rounds, each keeps its
/// fastest, `a` on a tie); about 2 ms in all, the quantizing and preparing
/// included (two AVX2 passes on AMD Zen 3).
///
/// # Panics
/// If this CPU cannot run `a` or `b`.
pub fn faster(a: IntKernel, b: IntKernel) -> IntKernel {
    const PASSES: usize = 8;
    const M: usize = 12;
    const WIDTHS: [usize; 4] = [784, 50, 100, 10];
    // fixed, varied values; no randomness needed to time
    let layers: Vec<Layer> = WIDTHS
        .windows(2)
        .map(|w| Layer {
            k: w[0],
            n: w[1],
            W: (0..w[0] * w[1]).map(|i| ((i * 37 % 101) as f32 - 50.0) / 500.0).collect(),
            b: vec![0.1; w[1]],
        })
        .collect();
    let xs: Vec<u8> = (0..M * WIDTHS[0])
        .map(|i| if (i * 7 + i / WIDTHS[0]).is_multiple_of(5) { (i % 251) as u8 + 1 } else { 0 })
        .collect();
    let base = QModel::new_with(&layers, IntKernel::Portable).expect("a network the int8 pass holds");
    let (model_a, model_b) = (base.clone().with_kernel(a), base.with_kernel(b));
    let mut out = [0u8; M];
    let time = |(_, model): (IntKernel, &QModel)| {
        model
            .with_network(|net| {
                let prepared = model.prepared();
                let vnni = model.vnni_pass(&net, &prepared);
                let mut scratch = Scratch::new(model.kernel, M, net.output_len());
                let start = std::time::Instant::now();
                for _ in 0..PASSES {
                    model.predict_slice(&net, &prepared, vnni.as_ref(), &mut scratch, &xs, WIDTHS[0], &mut out, |_| {});
                }
                std::hint::black_box(&out);
                start.elapsed()
            })
            .expect("a network the int8 pass holds")
    };
    linalg::kernels::choose::faster_by((a, &model_a), (b, &model_b), time).0
}

impl QLayer {
    /// The layer as `linalg` reads it, borrowing these buffers.
    pub fn dense(&self) -> QDense<'_> {
        QDense { k: self.k, n: self.n, Wq: &self.Wq, bias: &self.bias, mult: &self.mult, shift: &self.shift }
    }
}

/// The int8 network: its layers, the sigmoid table, and the pass that runs
/// it (with its prepared weights).
#[derive(Clone, Debug)]
pub struct QModel {
    /// The layers, input first.
    pub layers: Vec<QLayer>,
    /// The hidden layers' activation.
    pub sigmoid: [u8; SIGMOID_LEN],
    kernel: IntKernel,
    /// Each layer's weights prepared for the AVX2 pass (empty otherwise).
    prepared: Vec<Lines<i16>>,
    /// Each layer's weights prepared for the VNNI pass (empty otherwise).
    quads: Vec<Lines<u32>>,
}

impl QModel {
    /// Quantizes `layers` (inputs are u8 pixels, scale 1/255).
    ///
    /// # Errors
    /// A layer wider than `linalg::int8::MAX_WIDTH`.
    pub fn new(layers: &[Layer]) -> Result<QModel, Failure> {
        QModel::new_with(layers, IntKernel::best())
    }

    /// [`QModel::new`] with the pass chosen by the caller.
    ///
    /// # Errors
    /// As [`QModel::new`].
    ///
    /// # Panics
    /// If this CPU cannot run `kernel`.
    pub fn new_with(layers: &[Layer], kernel: IntKernel) -> Result<QModel, Failure> {
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
        let model = QModel {
            layers,
            sigmoid: int8::sigmoid_table(),
            kernel: IntKernel::Portable,
            prepared: Vec::new(),
            quads: Vec::new(),
        };
        model.with_network(|_| ())?;
        Ok(model.with_kernel(kernel))
    }

    /// The same model run by `kernel` (its weights prepared for it).
    ///
    /// # Panics
    /// If this CPU cannot run `kernel`.
    pub fn with_kernel(mut self, kernel: IntKernel) -> QModel {
        assert!(kernel.is_available(), "{} cannot run on this CPU", kernel.name());
        self.quads = match kernel {
            IntKernel::Vnni => self
                .layers
                .iter()
                .map(|l| {
                    let mut p = Lines::zeroed(vnni::prepared_len(l.k, l.n));
                    vnni::prepare(&l.dense(), p.get_mut());
                    p
                })
                .collect(),
            _ => Vec::new(),
        };
        self.prepared = match kernel {
            IntKernel::Portable | IntKernel::Vnni => Vec::new(),
            IntKernel::Avx2 => self
                .layers
                .iter()
                .map(|l| {
                    let mut p = Lines::zeroed(avx2::prepared_len(l.k, l.n));
                    avx2::prepare(&l.dense(), p.get_mut());
                    p
                })
                .collect(),
        };
        self.kernel = kernel;
        self
    }

    /// The pass this model runs.
    pub fn kernel(&self) -> IntKernel {
        self.kernel
    }

    /// The last layer's requantized logits of one image.
    pub fn logits(&self, image: &[u8]) -> Vec<i32> {
        self.with_network(|net| {
            let mut t = vec![0i32; net.output_len()];
            let prepared = self.prepared();
            self.logits_into(&net, &prepared, image, &mut t);
            t
        })
        .expect("checked when the model was made")
    }

    /// Each layer's prepared weights, borrowed.
    fn prepared(&self) -> (Vec<&[i16]>, Vec<&[u32]>) {
        (self.prepared.iter().map(Lines::get).collect(), self.quads.iter().map(Lines::get).collect())
    }

    /// One image through this model's pass (`prepared`: its weights as
    /// [`QModel::prepared`] lends them).
    fn logits_into(&self, net: &QNetwork<'_>, prepared: &(Vec<&[i16]>, Vec<&[u32]>), image: &[u8], t: &mut [i32]) {
        match self.kernel {
            IntKernel::Portable => net.logits(image, t),
            IntKernel::Avx2 => avx2::logits(net, &prepared.0, image, t),
            IntKernel::Vnni => vnni::logits(net, &prepared.1, image, t),
        }
        .expect("image and logits sized by the network")
    }

    /// Runs `f` on the borrowed `linalg` network.
    ///
    /// # Errors
    /// A layer the integer forward pass cannot hold.
    pub fn with_network<R>(&self, f: impl FnOnce(QNetwork<'_>) -> R) -> Result<R, Failure> {
        let dense: Vec<QDense<'_>> = self.layers.iter().map(QLayer::dense).collect();
        let net = QNetwork::new(&dense, &self.sigmoid).map_err(|e| Failure(format!("int8 model: {e}")))?;
        Ok(f(net))
    }

    /// Bytes of weights, biases, multipliers, shifts and the table.
    pub fn bytes(&self) -> usize {
        self.with_network(|n| n.bytes()).unwrap_or(0)
    }

    /// The last layer's requantized logits of `m` images (`images`: `m`
    /// of them back to back) by the batched AVX2 or VNNI pass, or `None`
    /// for the portable pass, which runs image by image.
    pub fn logits_batch(&self, images: &[u8], m: usize) -> Option<Vec<i32>> {
        (self.kernel != IntKernel::Portable).then(|| {
            self.with_network(|net| {
                let prepared = self.prepared();
                let vnni = self.vnni_pass(&net, &prepared);
                let Scratch { mut z, mut t, .. } = Scratch::new(self.kernel, m, net.output_len());
                self.batch_staged(&net, &prepared, vnni.as_ref(), m, images, &mut z, 0, &mut t, |_| {});
                t
            })
            .expect("checked when the model was made")
        })
    }

    /// The VNNI pass over `net` and its `prepared` quads, checked once
    /// for a whole run ([`vnni::Pass`]), where this model runs that pass.
    fn vnni_pass<'p, 'w>(
        &self,
        net: &'p QNetwork<'w>,
        prepared: &'p (Vec<&[i16]>, Vec<&[u32]>),
    ) -> Option<vnni::Pass<'p, 'w>> {
        (self.kernel == IntKernel::Vnni)
            .then(|| vnni::Pass::new(net, &prepared.1).expect("checked when the model was made"))
    }

    /// The logits of the `m` images in `xs` into `t` by this model's pass,
    /// as [`QModel::predict`] runs a batch, calling `after(i)` as layer
    /// `i` finishes (once a batch in the AVX2 pass, which runs each layer
    /// over the batch in register tiles; once an image in the others): the
    /// VNNI pass (`vnni`, checked once a run by [`QModel::vnni_pass`])
    /// from batch 2 on with the next image's pixels fetched ahead, at
    /// batch 1 one image a call; the portable one image by image. With
    /// `left_out` set (only [`QModel::time_pass_without`] sets it), the
    /// VNNI pass leaves those layers out and calls no `after`.
    #[allow(clippy::too_many_arguments)]
    #[inline(always)]
    fn batch_staged(
        &self,
        net: &QNetwork<'_>,
        prepared: &(Vec<&[i16]>, Vec<&[u32]>),
        vnni: Option<&vnni::Pass<'_, '_>>,
        m: usize,
        xs: &[u8],
        z: &mut [u8],
        left_out: u64,
        t: &mut [i32],
        mut after: impl FnMut(usize),
    ) {
        match (self.kernel, vnni) {
            (IntKernel::Avx2, _) => avx2::logits_batch_staged(net, &prepared.0, m, xs, z, t, after),
            (IntKernel::Vnni, Some(pass)) if left_out != 0 => pass.logits_batch_without(m, xs, t, left_out),
            (IntKernel::Vnni, Some(pass)) if m > 1 => pass.logits_batch_staged(m, xs, t, after),
            (IntKernel::Vnni, Some(pass)) => pass.logits_staged(xs, t, after),
            (IntKernel::Vnni, None) => unreachable!("the VNNI pass is made with the model's network"),
            (IntKernel::Portable, _) => xs
                .chunks_exact(net.input_len())
                .zip(t.chunks_exact_mut(net.output_len()))
                .try_for_each(|(x, t)| net.logits_staged(x, t, &mut after)),
        }
        .expect("sized by the network");
    }

    /// The predicted class of each of the first `predictions.len()` images,
    /// on `threads` threads taking spans of whole batches as they finish
    /// ([`crate::model::in_spans`]). The AVX2 pass
    /// takes `batch_size` images at a time (its hidden layers in register
    /// tiles of 6 images); the VNNI pass too (image by image, each
    /// image's pixels fetched while the one before it is summed), and
    /// image by image at batch 1; the portable one image by image. Either
    /// way the logits are the same integers.
    pub fn predict(&self, images: &Images, batch_size: usize, threads: usize, predictions: &mut [u8]) {
        let (ppi, total) = (images.pixels_per_image(), predictions.len());
        self.with_network(|net| {
            let prepared = self.prepared();
            let vnni = self.vnni_pass(&net, &prepared);
            let (net, prepared, vnni) = (&net, &prepared, vnni.as_ref());
            crate::model::in_spans(predictions, batch_size, threads, || {
                // one thread's buffers, for all the spans it takes
                let mut scratch = Scratch::new(self.kernel, batch_size.min(total).max(1), net.output_len());
                move |first: usize, out: &mut [u8]| {
                    let xs = &images.pixels[first * ppi..(first + out.len()) * ppi];
                    self.predict_slice(net, prepared, vnni, &mut scratch, xs, ppi, out, |_| {});
                }
            })
        })
        .expect("checked when the model was made");
    }

    /// Names of the stages [`QModel::breakdown`] times, in order, in the
    /// shape of the f32 ones ([`crate::model::stage_names`]): no pixel
    /// conversion (the first layer reads the u8 pixels), each layer's
    /// sums with its requantization and, for a hidden layer, the sigmoid
    /// table, then the argmax.
    pub fn stage_names(&self) -> Vec<String> {
        let mut v = vec!["pixels (none: the int8 layers read the u8 pixels)".to_string()];
        for (i, l) in self.layers.iter().enumerate() {
            let act = if i + 1 < self.layers.len() { ", requantized, sigmoid table" } else { ", requantized" };
            v.push(format!("W{} {}×{} + b{}{act}", i + 1, l.k, l.n, i + 1));
        }
        v.push("argmax of the logits".to_string());
        v
    }

    /// One pass over the images of `out`, `batch_size` at a time, one
    /// thread, as [`QModel::predict`] runs them, with the clock read as
    /// each layer finishes (image by image in the VNNI and portable
    /// passes, once a batch in the AVX2 one): the seconds spent in each of
    /// [`QModel::stage_names`]. The predictions go to `out`.
    pub fn breakdown(&self, images: &Images, batch_size: usize, out: &mut [u8]) -> Vec<f64> {
        use std::time::Instant;
        self.with_network(|net| {
            let (net, prepared) = (&net, self.prepared());
            let vnni = self.vnni_pass(net, &prepared);
            let ppi = images.pixels_per_image();
            let mut scratch = Scratch::new(self.kernel, batch_size.min(out.len()).max(1), net.output_len());
            let (mut t, mut seconds) = (Instant::now(), vec![0.0; net.layers.len() + 2]);
            let xs = &images.pixels[..out.len() * ppi];
            self.predict_slice(net, &prepared, vnni.as_ref(), &mut scratch, xs, ppi, out, |stage| {
                let now = Instant::now();
                seconds[stage] += (now - t).as_secs_f64();
                t = now;
            });
            seconds
        })
        .expect("checked when the model was made")
    }

    /// Seconds of one pass over the first `out.len()` images on this
    /// thread, `batch_size` at a time, through the VNNI pass with the
    /// layers whose bits are set in `left_out` left out
    /// ([`vnni::Pass::logits_batch_without`]; 0: every layer in, the
    /// classes of [`QModel::predict`]): the times `infer sweep
    /// --breakdown` subtracts to give each layer's cost inside the pass and
    /// alone, with no clock read inside the pass, all through the loop
    /// that [`QModel::predict`] runs. `None` for the AVX2 pass (each layer
    /// over the whole batch: its breakdown reads the clock once a layer a
    /// batch) and the portable one. With a layer left out, `out` gets no
    /// real predictions.
    ///
    /// # Panics
    /// If `left_out` names a layer the network does not have, or `images`
    /// holds fewer than `out.len()` images.
    pub fn time_pass_without(&self, images: &Images, batch_size: usize, left_out: u64, out: &mut [u8]) -> Option<f64> {
        if self.kernel != IntKernel::Vnni || batch_size == 0 {
            return None;
        }
        self.with_network(|net| {
            let prepared = self.prepared();
            let vnni = self.vnni_pass(&net, &prepared);
            let ppi = images.pixels_per_image();
            let mut scratch = Scratch::new(self.kernel, batch_size.min(out.len()).max(1), net.output_len());
            scratch.left_out = left_out;
            let xs = &images.pixels[..out.len() * ppi];
            let start = std::time::Instant::now();
            self.predict_slice(&net, &prepared, vnni.as_ref(), &mut scratch, xs, ppi, out, |_| {});
            Some(start.elapsed().as_secs_f64())
        })
        .expect("checked when the model was made")
    }

    /// The predicted class of each of the `out.len()` images in `xs`
    /// (`ppi` pixels each, back to back), on this thread, in batches of
    /// `scratch.batch` images (`prepared`: the weights as
    /// [`QModel::prepared`] lends them), calling `stage(0)` as each batch
    /// starts, `stage(1 + i)` as layer `i` finishes
    /// ([`QModel::batch_staged`]) and `stage(layers + 1)` once the batch's
    /// argmax is taken: the stages of [`QModel::stage_names`].
    #[allow(clippy::too_many_arguments)]
    #[inline(always)]
    fn predict_slice(
        &self,
        net: &QNetwork<'_>,
        prepared: &(Vec<&[i16]>, Vec<&[u32]>),
        vnni: Option<&vnni::Pass<'_, '_>>,
        scratch: &mut Scratch,
        xs: &[u8],
        ppi: usize,
        out: &mut [u8],
        mut stage: impl FnMut(usize),
    ) {
        let (classes, depth) = (net.output_len(), net.layers.len());
        let m = scratch.batch.min(out.len()).max(1);
        if m == 1 {
            // batch 1, image by image without the batches' slicing (3.5%
            // of the VNNI pass's time at batch 1 on Zen 4)
            let t = &mut scratch.t[..classes];
            for (p, x) in out.iter_mut().zip(xs.chunks_exact(ppi)) {
                stage(0);
                self.batch_staged(net, prepared, vnni, 1, x, &mut scratch.z, scratch.left_out, t, |i| stage(1 + i));
                *p = int8::argmax(t) as u8;
                stage(depth + 1);
            }
            return;
        }
        for (out, xs) in out.chunks_mut(m).zip(xs.chunks(m * ppi)) {
            let rows = out.len();
            let t = &mut scratch.t[..rows * classes];
            stage(0);
            self.batch_staged(net, prepared, vnni, rows, xs, &mut scratch.z, scratch.left_out, t, |i| stage(1 + i));
            for (p, t) in out.iter_mut().zip(t.chunks_exact(classes)) {
                *p = int8::argmax(t) as u8;
            }
            stage(depth + 1);
        }
    }
}

/// One thread's buffers for [`QModel::predict_slice`]: batches of up to
/// `batch` images (the AVX2 pass's layer outputs, only for that pass) and
/// their logits.
struct Scratch {
    batch: usize,
    z: Vec<u8>,
    t: Vec<i32>,
    /// The layers the VNNI pass leaves out, as bits
    /// ([`vnni::Pass::logits_batch_without`]): 0, but for
    /// [`QModel::time_pass_without`].
    left_out: u64,
}

impl Scratch {
    fn new(kernel: IntKernel, batch: usize, classes: usize) -> Scratch {
        let z = if kernel == IntKernel::Avx2 { vec![0; avx2::batch_scratch_len(batch)] } else { Vec::new() };
        Scratch { batch, z, t: vec![0; batch * classes], left_out: 0 }
    }
}
