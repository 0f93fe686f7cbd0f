//! The network with its weights prepared for one kernel, run over a set of
//! images in batches, on one or more threads.

use linalg::activation::argmax_rows;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, PoisonError};

use linalg::{Dense, Kernel, Network};
use mnist_data::{Images, Layer};

use crate::lines::Lines;
use crate::Failure;

/// One layer's weights in the kernel's layout.
#[derive(Clone, Debug)]
#[allow(non_snake_case)]
struct Prepared {
    k: usize,
    n: usize,
    W: Lines<f32>,
    b: Vec<f32>,
}

/// The book's network (any depth), weights prepared once for `kernel`.
#[derive(Clone, Debug)]
pub struct Model {
    kernel: Kernel,
    layers: Vec<Prepared>,
}

impl Model {
    /// Prepares `layers` for `kernel`.
    ///
    /// # Errors
    /// If the kernel cannot run on this CPU.
    pub fn new(layers: &[Layer], kernel: Kernel) -> Result<Model, Failure> {
        if !kernel.is_available() {
            crate::fail!("kernel '{}' needs CPU features this machine lacks", kernel.name());
        }
        let layers = layers
            .iter()
            .map(|l| {
                let mut w = Lines::zeroed(kernel.prepared_len(l.k, l.n));
                kernel.prepare(l.k, l.n, &l.W, w.get_mut());
                Prepared { k: l.k, n: l.n, W: w, b: l.b.clone() }
            })
            .collect();
        Ok(Model { kernel, layers })
    }

    /// The kernel the weights are prepared for.
    pub fn kernel(&self) -> Kernel {
        self.kernel
    }

    /// For steps 25 and 26, how the first layer's weights are held: in
    /// 16-bit fixed point, or in float32 where their rounding would pass
    /// the steps' bound (`linalg::kernels::avx512_fixed16`); `None` for
    /// every other kernel.
    pub fn first_layer_note(&self) -> Option<&'static str> {
        let first = &self.layers[0];
        matches!(self.kernel, Kernel::Avx512Fixed16 | Kernel::Avx2Fixed16).then(|| {
            if linalg::kernels::avx512_fixed16::is_fixed(first.k, first.n, first.W.get()) {
                "W1 in 16-bit fixed point"
            } else {
                "W1 kept in float32: its 16-bit rounding would pass the bound"
            }
        })
    }

    /// `(k, n)` of each layer.
    pub fn shapes(&self) -> Vec<(usize, usize)> {
        self.layers.iter().map(|l| (l.k, l.n)).collect()
    }

    /// Inputs per image.
    pub fn input_len(&self) -> usize {
        self.layers[0].k
    }

    /// Outputs per image (classes).
    pub fn output_len(&self) -> usize {
        self.layers[self.layers.len() - 1].n
    }

    /// `784-50-100-10`.
    pub fn describe(&self) -> String {
        let mut s = self.input_len().to_string();
        for l in &self.layers {
            s += &format!("-{}", l.n);
        }
        s
    }

    /// FLOPs per image: 2 × Σ k·n (90,400 for the book's network).
    pub fn flops_per_image(&self) -> usize {
        2 * self.layers.iter().map(|l| l.k * l.n).sum::<usize>()
    }

    fn with_network<R>(&self, f: impl FnOnce(Network<'_>) -> R) -> R {
        let dense: Vec<Dense<'_>> = self
            .layers
            .iter()
            .map(|l| Dense::new(self.kernel, l.k, l.n, l.W.get(), &l.b).expect("prepared for this kernel"))
            .collect();
        f(Network::new(&dense).expect("layers checked to chain when loaded"))
    }

    /// The softmax output `y` (`count × classes`) of images `first..first+count`.
    ///
    /// # Panics
    /// If the range is outside `images` or `images` does not match the
    /// network's input size.
    pub fn probabilities(&self, images: &Images, first: usize, count: usize) -> Vec<f32> {
        // what Network::forward does: the logits, then softmax per row
        let mut y = self.logits(images, first, count);
        linalg::activation::softmax_rows(&mut y, self.output_len());
        y
    }

    /// The last layer's output before softmax (the book's `a3`) for images
    /// `first..first+count`.
    ///
    /// # Panics
    /// As [`Model::probabilities`].
    pub fn logits(&self, images: &Images, first: usize, count: usize) -> Vec<f32> {
        self.with_network(|net| {
            let x = to_f32(&images.pixels[first * net.input_len()..(first + count) * net.input_len()]);
            let mut scratch = vec![0.0; net.scratch_len(count)];
            let mut a = vec![0.0; count * net.output_len()];
            net.logits(count, &x, &mut scratch, &mut a).expect("buffers sized by the network");
            a
        })
    }

    /// [`Model::logits`] through the path [`Model::predict`] takes when the
    /// kernel reads u8 pixels in place ([`linalg::Kernel::reads_pixels`]);
    /// `None` for a kernel that does not.
    ///
    /// # Panics
    /// As [`Model::probabilities`].
    pub fn logits_from_pixels(&self, images: &Images, first: usize, count: usize) -> Option<Vec<f32>> {
        self.kernel.reads_pixels().then(|| {
            self.with_network(|net| {
                let x = &images.pixels[first * net.input_len()..(first + count) * net.input_len()];
                let mut scratch = vec![0.0; net.scratch_len(count)];
                let mut a = vec![0.0; count * net.output_len()];
                net.logits_pixels(count, x, &mut scratch, &mut a).expect("buffers sized by the network");
                a
            })
        })
    }

    /// The activations `z_layer` (after sigmoid) of hidden layer `layer`
    /// (1-based) for images `first..first+count`: the input of layer
    /// `layer + 1`.
    ///
    /// # Panics
    /// If `layer` is 0 or not a hidden layer, or the range is outside
    /// `images`.
    pub fn hidden(&self, images: &Images, first: usize, count: usize, layer: usize) -> Vec<f32> {
        assert!(layer >= 1 && layer < self.layers.len(), "hidden layers are 1..{}", self.layers.len());
        // layers 1..=layer as a network of their own: its output before
        // softmax is a_layer, and z_layer = sigmoid(a_layer)
        let cut = Model { kernel: self.kernel, layers: self.layers[..layer].to_vec() };
        let mut a = cut.logits(images, first, count);
        linalg::activation::sigmoid_in_place(&mut a);
        a
    }

    /// The predicted class of each of the first `predictions.len()` images,
    /// `batch_size` images per forward pass (the last batch may be smaller).
    /// With `threads > 1`, spans of whole batches ([`in_spans`]) are handed
    /// out to `threads` workers (the calling thread is one) as they finish,
    /// so a worker that starts late or runs on a busy core takes fewer.
    ///
    /// # Panics
    /// If `batch_size` or `threads` is 0, or `images` holds fewer images than
    /// `predictions.len()` or a different image size.
    pub fn predict(&self, images: &Images, batch_size: usize, threads: usize, predictions: &mut [u8]) {
        assert!(batch_size > 0 && threads > 0, "batch size and threads must be at least 1");
        assert_eq!(images.pixels_per_image(), self.input_len(), "image size");
        assert!(predictions.len() <= images.count, "more predictions than images");
        let total = predictions.len();
        self.with_network(|net| {
            in_spans(predictions, batch_size, threads, || {
                let mut worker = Worker::new(&net, batch_size.min(total).max(1));
                move |first: usize, out: &mut [u8]| worker.run(images, first, batch_size, out)
            })
        })
    }
}

/// The fewest images a thread takes at a time when several share a pass:
/// enough that taking them (a lock) costs nothing next to classifying
/// them, few enough that a thread on a slower core takes fewer spans.
pub const SPAN_IMAGES: usize = 64;

/// Runs a worker over `out` (one prediction per image, in order) in spans
/// of whole batches of `batch_size`, at least [`SPAN_IMAGES`] images each:
/// on this thread alone when `threads` is 1 or there is one span, else on
/// `threads` threads (this one included), each made its worker by `make`
/// and taking the next span whenever it finishes one. On Linux each
/// thread after this one is pinned to a CPU of its own while the process
/// has CPUs left ([`crate::affinity`]: a kernel that packs threads onto
/// few vCPUs otherwise runs a short pass on one); those threads are kept
/// for the next call ([`crate::pool`]). A worker is called
/// with the index of the span's first image and its predictions. The
/// batches are those of one thread (`0..batch_size`, …), so the results
/// are too.
pub fn in_spans<W: FnMut(usize, &mut [u8])>(
    out: &mut [u8],
    batch_size: usize,
    threads: usize,
    make: impl Fn() -> W + Sync,
) {
    let span = batch_size * SPAN_IMAGES.div_ceil(batch_size);
    let spans = out.len().div_ceil(span);
    if threads <= 1 || spans <= 1 {
        return make()(0, out);
    }
    let next = Mutex::new(out.chunks_mut(span).enumerate());
    let workers = threads.min(spans);
    let (cpus, started) = (crate::affinity::other_cpus(), AtomicUsize::new(0));
    // the calling thread yields its CPU before each span until every
    // worker has started (and moved to its own CPU, if it was put on this
    // one): a yield costs about a microsecond when nothing else waits
    let work = |calling: bool| {
        let mut worker = make();
        loop {
            if calling && started.load(Ordering::Acquire) + 1 < workers {
                std::thread::yield_now();
            }
            // a panicking worker ends the scope anyway; the lock itself
            // cannot be left inconsistent by it
            let taken = next.lock().unwrap_or_else(PoisonError::into_inner).next();
            let Some((i, out)) = taken else { return };
            worker(i * span, out);
        }
    };
    let task = || {
        started.fetch_add(1, Ordering::Release);
        work(false);
    };
    // each worker on a CPU of its own while there are CPUs left
    // (crate::affinity: a kernel may start it on this one, and keep it
    // there until this thread is done), from the pool kept between passes
    // (crate::pool: spawning and pinning cost about 80 µs a pass); any
    // beyond the CPUs spawned for the pass and placed by the kernel
    let pinned = (workers - 1).min(cpus.len());
    std::thread::scope(|s| {
        for _ in pinned + 1..workers {
            s.spawn(task);
        }
        crate::pool::run_pinned(&cpus[..pinned], &task, || work(true));
    });
}

/// Names of the stages [`Model::breakdown`] times, in order, for a network
/// of `layers` (k, n) shapes whose first layer runs on `kernel`: the stages
/// of [`Model::predict`].
pub fn stage_names(layers: &[(usize, usize)], kernel: Kernel) -> Vec<String> {
    // a kernel that reads the pixels in place (linalg::Kernel::reads_pixels)
    // needs no conversion
    let (convert, on) = if kernel.reads_pixels() {
        ("pixels → f32 (none: W1 reads the u8 pixels)", " (u8 pixels)")
    } else {
        ("pixels → f32 (x / 255)", "")
    };
    let mut v = vec![convert.to_string()];
    for (i, (k, n)) in layers.iter().enumerate() {
        let act = if i + 1 < layers.len() { ", sigmoid" } else { "" };
        let on = if i == 0 { on } else { "" };
        v.push(format!("W{} {k}×{n}{on} + b{}{act}", i + 1, i + 1));
    }
    v.push("argmax of the logits".to_string());
    v
}

impl Model {
    /// One pass over the first `total` images, `batch_size` at a time, one
    /// thread, with every stage timed on its own: the seconds spent in each
    /// of [`stage_names`] (the clock is read between stages, about 20 ns a
    /// read, which a batch-1 pass of about 1.5 µs an image feels).
    /// The predictions go to `out`.
    pub fn breakdown(&self, images: &Images, batch_size: usize, out: &mut [u8]) -> Vec<f64> {
        self.with_network(|net| self.breakdown_on(self.kernel.reads_pixels().then_some(&net), images, batch_size, out))
    }

    /// [`Model::breakdown`], the layers through `net` where the kernel
    /// reads pixels, else one by one through the kernel.
    fn breakdown_on(&self, net: Option<&Network<'_>>, images: &Images, batch_size: usize, out: &mut [u8]) -> Vec<f64> {
        use std::time::Instant;
        let layers = &self.layers;
        let k0 = self.input_len();
        let classes = self.output_len();
        let widest = layers.iter().map(|l| l.n).max().unwrap_or(0);
        let m = batch_size.min(out.len()).max(1);
        let mut x = vec![0.0f32; m * k0];
        let mut bufs = [vec![0.0f32; m * widest], vec![0.0f32; m * widest]];
        let mut best = vec![0usize; m];
        let mut seconds = vec![0.0f64; layers.len() + 2];
        for (b, out) in out.chunks_mut(m).enumerate() {
            let rows = out.len();
            let start = b * m * k0;
            let mut t = Instant::now();
            let mut lap = |stage: usize, t: &mut Instant| {
                let now = Instant::now();
                seconds[stage] += (now - *t).as_secs_f64();
                *t = now;
            };
            let pixels = &images.pixels[start..start + rows * k0];
            let reads_pixels = self.kernel.reads_pixels();
            if !reads_pixels {
                normalize_into(pixels, &mut x[..rows * k0]);
            }
            lap(0, &mut t);
            for (i, l) in layers.iter().enumerate() {
                let act = if i + 1 < layers.len() {
                    linalg::activation::Activation::Sigmoid
                } else {
                    linalg::activation::Activation::Identity
                };
                let [even, odd] = &mut bufs;
                let (prev, next) = if i % 2 == 0 { (&*odd, even) } else { (&*even, odd) };
                let next = &mut next[..rows * l.n];
                // a kernel that reads pixels: each layer as a pass of
                // `rows` pixel rows runs it (step 18's path included)
                let prev = &prev[..if i == 0 { 0 } else { rows * l.k }];
                match net {
                    Some(net) => net.layer_pixels(i, rows, pixels, prev, next).expect("buffers sized by the network"),
                    None if i == 0 => self.kernel.dense(rows, l.k, l.n, &x[..rows * k0], l.W.get(), &l.b, act, next),
                    None => self.kernel.dense(rows, l.k, l.n, prev, l.W.get(), &l.b, act, next),
                }
                lap(1 + i, &mut t);
            }
            let y = &bufs[(layers.len() - 1) % 2][..rows * classes];
            argmax_rows(y, classes, &mut best[..rows]);
            for (o, &c) in out.iter_mut().zip(&best) {
                *o = c as u8;
            }
            lap(layers.len() + 1, &mut t);
        }
        seconds
    }

    /// Seconds of one pass over the first `out.len()` images on this
    /// thread, `batch_size` at a time, through step 23's pass with the
    /// layers whose bits are set in `left_out` left out (0: every layer
    /// in, the classes of [`Model::predict`]): the times `infer sweep
    /// --breakdown` subtracts to give each layer's cost inside the pass and
    /// alone, all through the loop that [`Model::predict`] runs. `None`
    /// where this model's network does not run step 23's pass, or where
    /// `batch_size` is not below its
    /// [`linalg::kernels::avx512_chain::M_CHAIN`] rows. With a layer left
    /// out, `out` gets no real predictions.
    ///
    /// # Panics
    /// If `left_out` names a layer the network does not have, or `images`
    /// holds fewer than `out.len()` images.
    pub fn time_pass_without(&self, images: &Images, batch_size: usize, left_out: u64, out: &mut [u8]) -> Option<f64> {
        if batch_size == 0 || batch_size >= linalg::kernels::avx512_chain::M_CHAIN {
            return None;
        }
        self.with_network(|net| {
            let mut worker = Worker::new(&net, batch_size);
            worker.pass?;
            worker.left_out = left_out;
            let start = std::time::Instant::now();
            worker.run(images, 0, batch_size, out);
            Some(start.elapsed().as_secs_f64())
        })
    }
}

/// One thread's buffers for forward passes of up to `m` images.
struct Worker<'n, 'w> {
    net: &'n Network<'w>,
    pass: Option<linalg::kernels::avx512_pass::Pass<'w>>,
    /// The layers the pass leaves out, as bits
    /// ([`linalg::kernels::avx512_pass::Pass::classify_without`]): 0, but
    /// for [`Model::time_pass_without`].
    left_out: u64,
    x: Vec<f32>,
    scratch: Vec<f32>,
    y: Vec<f32>,
    best: Vec<usize>,
}

impl<'n, 'w> Worker<'n, 'w> {
    fn new(net: &'n Network<'w>, m: usize) -> Self {
        Worker {
            net,
            pass: net.pass(),
            left_out: 0,
            x: vec![0.0; m * net.input_len()],
            scratch: vec![0.0; net.scratch_len(m)],
            y: vec![0.0; m * net.output_len()],
            best: vec![0; m],
        }
    }

    /// Predicts images `first..first + out.len()` into `out`, `batch_size`
    /// at a time.
    fn run(&mut self, images: &Images, first: usize, batch_size: usize, out: &mut [u8]) {
        let (k, classes) = (self.net.input_len(), self.net.output_len());
        for (b, out) in out.chunks_mut(batch_size).enumerate() {
            let rows = out.len();
            let start = (first + b * batch_size) * k;
            let (pixels, y) = (&images.pixels[start..start + rows * k], &mut self.y[..rows * classes]);
            // the logits, not softmax(logits): softmax keeps the order within
            // a row, so argmax is the same (a test checks all 10,000 images);
            // a kernel that reads the pixels in place needs no f32 copy
            // (step 23: the network checked once, in Worker::new)
            let best = &mut self.best[..rows];
            if let Some(pass) = &self.pass {
                if self.left_out == 0 {
                    pass.classify(rows, pixels, &mut self.scratch, y, best)
                } else {
                    pass.classify_without(self.left_out, rows, pixels, &mut self.scratch, y, best)
                }
            } else if self.net.layers()[0].kernel().reads_pixels() {
                self.net.logits_pixels(rows, pixels, &mut self.scratch, y).map(|()| argmax_rows(y, classes, best))
            } else {
                let x = &mut self.x[..rows * k];
                normalize_into(pixels, x);
                self.net.logits(rows, x, &mut self.scratch, y).map(|()| argmax_rows(y, classes, best))
            }
            .expect("buffers sized by the network");
            for (o, &c) in out.iter_mut().zip(&self.best) {
                *o = c as u8;
            }
        }
    }
}

/// Pixels `0..=255` as the book's `normalize=True` floats, `p / 255`.
pub fn to_f32(pixels: &[u8]) -> Vec<f32> {
    let mut x = vec![0.0; pixels.len()];
    normalize_into(pixels, &mut x);
    x
}

/// `x[i] = pixels[i] / 255`, as numpy's `x.astype(float32) / 255.0`.
pub fn normalize_into(pixels: &[u8], x: &mut [f32]) {
    linalg::pixels::normalize(pixels, x);
}
