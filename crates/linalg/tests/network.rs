//! The network type: chaining checks, scratch sizes and a forward pass
//! computed by hand.

use linalg::activation::sigmoid;
use linalg::{Dense, Kernel, Network, ShapeError};

#[test]
fn forward_of_a_two_layer_net_by_hand() {
    // x (1×2) · W1 (2×2) + b1 -> sigmoid -> · W2 (2×2) + b2 -> softmax
    let w1 = [1.0, -1.0, 0.5, 2.0];
    let b1 = [0.0, 0.5];
    let w2 = [1.0, 0.0, 0.0, 1.0];
    let b2 = [0.0, 0.0];
    let layers =
        [Dense::new(Kernel::Naive, 2, 2, &w1, &b1).unwrap(), Dense::new(Kernel::Naive, 2, 2, &w2, &b2).unwrap()];
    let net = Network::new(&layers).unwrap();
    assert_eq!((net.input_len(), net.output_len(), net.macs_per_row()), (2, 2, 8));
    assert_eq!(net.scratch_len(3), 12);
    let x = [1.0, 2.0];
    let mut scratch = [0.0; 4];
    let mut y = [0.0; 2];
    net.logits(1, &x, &mut scratch, &mut y).unwrap();
    let z = [sigmoid(1.0 * 1.0 + 2.0 * 0.5), sigmoid(-1.0 + 4.0 + 0.5)];
    assert_eq!(y, z);
    net.forward(1, &x, &mut scratch, &mut y).unwrap();
    let e = [(z[0] - z[1]).exp(), 1.0];
    let s = e[0] + e[1];
    assert!((y[0] - e[0] / s).abs() < 1e-6 && (y[1] - e[1] / s).abs() < 1e-6, "{y:?}");
}

#[test]
fn layers_that_do_not_chain_are_refused() {
    let w = [0.0; 6];
    let b2 = [0.0; 2];
    let b3 = [0.0; 3];
    let layers = [Dense::new(Kernel::Naive, 2, 3, &w, &b3).unwrap(), Dense::new(Kernel::Naive, 2, 3, &w, &b3).unwrap()];
    assert_eq!(
        Network::new(&layers).unwrap_err(),
        ShapeError::Dim { what: "k (rows of the next W)", expected: 3, found: 2 }
    );
    assert_eq!(
        Dense::new(Kernel::Naive, 3, 2, &w, &b3).unwrap_err(),
        ShapeError::Len { what: "b", expected: 2, found: 3 }
    );
    assert!(Dense::new(Kernel::Naive, 3, 2, &w, &b2).is_ok());
    assert_eq!(Network::new(&[]).unwrap_err(), ShapeError::Len { what: "layers", expected: 1, found: 0 });
}

#[test]
fn buffers_of_the_wrong_size_are_errors_not_panics() {
    let w = [0.0; 4];
    let b = [0.0; 2];
    let layers = [Dense::new(Kernel::Naive, 2, 2, &w, &b).unwrap(), Dense::new(Kernel::Naive, 2, 2, &w, &b).unwrap()];
    let net = Network::new(&layers).unwrap();
    let mut y = [0.0; 4];
    let mut small = [0.0; 3];
    assert_eq!(
        net.forward(2, &[0.0; 4], &mut small, &mut y),
        Err(ShapeError::Len { what: "scratch", expected: 8, found: 3 })
    );
    let mut scratch = [0.0; 8];
    assert_eq!(
        net.forward(2, &[0.0; 3], &mut scratch, &mut y),
        Err(ShapeError::Len { what: "x", expected: 4, found: 3 })
    );
}

/// A xorshift generator: the same numbers on every run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    /// A float in [-1, 1).
    fn unit(&mut self) -> f32 {
        (self.next() % 2_000_000) as f32 / 1_000_000.0 - 1.0
    }
}

/// Steps 18 and 19 run a pass of fewer than 6 pixel rows through the
/// layers' rows straight, checked once; steps 17 and 13, which they are
/// built on, check each layer and scan each hidden input for zeros. Step
/// 20 walks each image's non-zero pixels as bits where step 18 gathers
/// their indices, on every path; steps 21 and 22 read W1 from their
/// coloured copy on that path (step 22 at batch 1 only). On the
/// book's shapes (784-50-100-10), images about a fifth non-zero, the
/// logits of every batch size from 1 to 13 must be the same bits, with
/// sigmoid between the layers (the checked-once path below 6 rows) and
/// with ReLU (the per-layer path throughout), and each layer alone
/// through `layer_pixels` the same as in the pass.
///
/// Step 23 checks the network once and then runs step 21's layers
/// through its `Pass`: the same logits, and as classes numpy's argmax of
/// them. Step 24 sums W1 for whole groups of 6 images over the union of
/// their pixels (batches 6 to 13: one or two groups and the rows left
/// over), each image's zero pixels adding exactly nothing.
#[test]
fn steps_18_to_24_give_the_logits_of_the_steps_they_build_on_bit_for_bit() {
    for (base, chain) in [
        (Kernel::Avx512Rows, Kernel::Avx512Chain),
        (Kernel::Avx2Pairs, Kernel::Avx2Chain),
        (Kernel::Avx512Chain, Kernel::Avx512Bits),
        (Kernel::Avx512Bits, Kernel::Avx512Colour),
        (Kernel::Avx2Chain, Kernel::Avx2Colour),
        (Kernel::Avx512Colour, Kernel::Avx512Pass),
        (Kernel::Avx512Pass, Kernel::Avx512Union),
    ] {
        if chain.is_available() {
            same_logits(base, chain);
        }
    }
}

fn same_logits(base: Kernel, chain: Kernel) {
    let shapes = [(784, 50), (50, 100), (100, 10)];
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let weights: Vec<(Vec<f32>, Vec<f32>)> = shapes
        .iter()
        .map(|&(k, n)| ((0..k * n).map(|_| rng.unit()).collect(), (0..n).map(|_| rng.unit()).collect()))
        .collect();
    let prepared = |kernel: Kernel| -> Vec<Vec<f32>> {
        shapes
            .iter()
            .zip(&weights)
            .map(|(&(k, n), (w, _))| {
                let mut out = vec![0.0; kernel.prepared_len(k, n)];
                kernel.prepare(k, n, w, &mut out);
                out
            })
            .collect()
    };
    let (w17, w18) = (prepared(base), prepared(chain));
    fn layers<'a>(
        kernel: Kernel,
        shapes: &[(usize, usize)],
        w: &'a [Vec<f32>],
        b: &'a [(Vec<f32>, Vec<f32>)],
    ) -> Vec<Dense<'a>> {
        shapes.iter().zip(w).zip(b).map(|((&(k, n), w), (_, b))| Dense::new(kernel, k, n, w, b).unwrap()).collect()
    }
    let l17 = layers(base, &shapes, &w17, &weights);
    let l18 = layers(chain, &shapes, &w18, &weights);
    let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<u32>>();
    for act in [linalg::activation::Activation::Sigmoid, linalg::activation::Activation::Relu] {
        let n17 = Network::new(&l17).unwrap().with_hidden_activation(act);
        let n18 = Network::new(&l18).unwrap().with_hidden_activation(act);
        for m in 1..=13 {
            let pixels: Vec<u8> =
                (0..m * 784).map(|_| if rng.next().is_multiple_of(5) { (rng.next() % 256) as u8 } else { 0 }).collect();
            let mut scratch = vec![0.0; n17.scratch_len(m)];
            let (mut a17, mut a18) = (vec![0.0; m * 10], vec![0.0; m * 10]);
            n17.logits_pixels(m, &pixels, &mut scratch, &mut a17).unwrap();
            n18.logits_pixels(m, &pixels, &mut scratch, &mut a18).unwrap();
            assert_eq!(bits(&a17), bits(&a18), "{}: batch {m}, {act:?}", chain.name());
            // step 23's pass: the logits and numpy's argmax of them
            if let Some(pass) = n18.pass() {
                let (mut want, mut best) = (vec![0; m], vec![usize::MAX; m]);
                linalg::activation::argmax_rows(&a17, 10, &mut want);
                let mut a = vec![0.0; m * 10];
                pass.classify(m, &pixels, &mut scratch, &mut a, &mut best).unwrap();
                assert_eq!((bits(&a), &best), (bits(&a17), &want), "{}: batch {m}, {act:?}, its pass", chain.name());
            }
            // the pass again, one layer at a time
            let mut prev: Vec<f32> = Vec::new();
            for (i, &(_, n)) in shapes.iter().enumerate() {
                let mut out = vec![0.0; m * n];
                n18.layer_pixels(i, m, &pixels, &prev, &mut out).unwrap();
                prev = out;
            }
            assert_eq!(bits(&prev), bits(&a18), "{}: batch {m}, {act:?}, layer by layer", chain.name());
        }
    }
}

/// Step 23's pass with some layers left out, which `infer sweep
/// --breakdown` times to give each layer's cost inside the pass and
/// alone: a left-out layer's buffer keeps what it held, so without W1 or
/// W2 the logits no longer depend on the image: they are those of the
/// image whose pass last wrote that buffer. Without W3, or without every
/// layer, they are what `y` held; with none left out, the image's own.
/// A layer that is not there, or a batch the network's own pass takes
/// (6 rows), is an error.
#[test]
fn step_23_leaves_layers_out_for_timing() {
    if !Kernel::Avx512Pass.is_available() {
        return;
    }
    let shapes = [(784, 50), (50, 100), (100, 10)];
    let mut rng = Rng(0x2545_f491_4f6c_dd1d);
    let weights: Vec<(Vec<f32>, Vec<f32>)> = shapes
        .iter()
        .map(|&(k, n)| {
            let (w, b) = ((0..k * n).map(|_| rng.unit()).collect::<Vec<f32>>(), (0..n).map(|_| rng.unit()).collect());
            let mut prepared = vec![0.0; Kernel::Avx512Pass.prepared_len(k, n)];
            Kernel::Avx512Pass.prepare(k, n, &w, &mut prepared);
            (prepared, b)
        })
        .collect();
    let layers: Vec<Dense<'_>> = shapes
        .iter()
        .zip(&weights)
        .map(|(&(k, n), (w, b))| Dense::new(Kernel::Avx512Pass, k, n, w, b).unwrap())
        .collect();
    let net = Network::new(&layers).unwrap();
    let pass = net.pass().unwrap();
    let images: Vec<Vec<u8>> = (0..2)
        .map(|_| (0..784).map(|_| if rng.next().is_multiple_of(5) { (rng.next() % 256) as u8 } else { 0 }).collect())
        .collect();
    let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<u32>>();
    let (mut scratch, mut best) = (vec![0.0; net.scratch_len(1)], vec![0; 1]);
    // every layer in: the two images' own logits, which differ
    let mut own = [vec![0.0; 10], vec![0.0; 10]];
    for (x, y) in images.iter().zip(&mut own) {
        pass.classify(1, x, &mut scratch, y, &mut best).unwrap();
    }
    assert_ne!(bits(&own[0]), bits(&own[1]));
    let mut y = vec![0.0; 10];
    pass.classify_without(0, 1, &images[0], &mut scratch, &mut y, &mut best).unwrap();
    assert_eq!(bits(&y), bits(&own[0]), "nothing left out");
    for left_out in [0b001, 0b010, 0b011] {
        let mut y = [vec![0.0; 10], vec![0.0; 10]];
        for (x, y) in images.iter().zip(&mut y) {
            pass.classify_without(left_out, 1, x, &mut scratch, y, &mut best).unwrap();
        }
        // the buffers as the last pass with every layer left them, the
        // first image's just above (the passes in between recompute the
        // same values from them)
        assert_eq!(bits(&y[0]), bits(&own[0]), "{left_out:#b} left out, the first image");
        assert_eq!(bits(&y[1]), bits(&own[0]), "{left_out:#b} left out, the second image");
    }
    for left_out in [0b100, 0b111] {
        let mut y = vec![7.0; 10];
        y[3] = 8.0;
        pass.classify_without(left_out, 1, &images[0], &mut scratch, &mut y, &mut best).unwrap();
        assert_eq!(
            (bits(&y), best[0]),
            (bits(&[7.0, 7.0, 7.0, 8.0, 7.0, 7.0, 7.0, 7.0, 7.0, 7.0]), 3),
            "{left_out:#b}"
        );
    }
    assert_eq!(
        pass.classify_without(0b1001, 1, &images[0], &mut scratch, &mut y, &mut best),
        Err(ShapeError::Dim { what: "layer left out", expected: 2, found: 3 })
    );
    let mut scratch6 = vec![0.0; net.scratch_len(6)];
    assert_eq!(
        pass.classify_without(1, 6, &[0; 6 * 784], &mut scratch6, &mut [0.0; 60], &mut [0; 6]),
        Err(ShapeError::Dim { what: "rows", expected: 5, found: 6 })
    );
    assert_eq!(
        pass.classify_without(1, 1, &images[0][..700], &mut scratch, &mut y, &mut best),
        Err(ShapeError::Len { what: "pixels", expected: 784, found: 700 })
    );
}

/// Step 21's prepared W1 (steps 22's and 23's too) holds its coloured copy from the
/// first 4 KB boundary inside the buffer and records where: the same
/// buffer copied to another place (another offset within its page) must
/// give the same logits, and those of the step each builds on.
#[test]
fn steps_21_to_23_read_their_copy_wherever_the_buffer_lands() {
    for (base, kernel) in [
        (Kernel::Avx512Bits, Kernel::Avx512Colour),
        (Kernel::Avx2Chain, Kernel::Avx2Colour),
        (Kernel::Avx512Bits, Kernel::Avx512Pass),
    ] {
        if kernel.is_available() {
            same_logits_when_moved(base, kernel);
        }
    }
}

fn same_logits_when_moved(base: Kernel, kernel: Kernel) {
    let shapes = [(784, 50), (50, 100), (100, 10)];
    let mut rng = Rng(21);
    let weights: Vec<(Vec<f32>, Vec<f32>)> = shapes
        .iter()
        .map(|&(k, n)| ((0..k * n).map(|_| rng.unit()).collect(), (0..n).map(|_| rng.unit()).collect()))
        .collect();
    let prepare = |kernel: Kernel, k: usize, n: usize, w: &[f32]| {
        let mut out = vec![0.0; kernel.prepared_len(k, n)];
        kernel.prepare(k, n, w, &mut out);
        out
    };
    let pixels: Vec<u8> =
        (0..3 * 784).map(|_| if rng.next().is_multiple_of(5) { (rng.next() % 256) as u8 } else { 0 }).collect();
    let logits = |kernel: Kernel, w1: &[f32]| {
        let rest: Vec<Vec<f32>> =
            shapes[1..].iter().zip(&weights[1..]).map(|(&(k, n), (w, _))| prepare(kernel, k, n, w)).collect();
        let layers = [
            Dense::new(kernel, 784, 50, w1, &weights[0].1).unwrap(),
            Dense::new(kernel, 50, 100, &rest[0], &weights[1].1).unwrap(),
            Dense::new(kernel, 100, 10, &rest[1], &weights[2].1).unwrap(),
        ];
        let net = Network::new(&layers).unwrap();
        let mut out = Vec::new();
        for m in 1..=3 {
            let mut scratch = vec![0.0; net.scratch_len(m)];
            let mut a = vec![0.0; m * 10];
            net.logits_pixels(m, &pixels[..m * 784], &mut scratch, &mut a).unwrap();
            out.extend(a.iter().map(|x| x.to_bits()));
        }
        out
    };
    let w1 = prepare(kernel, 784, 50, &weights[0].0);
    let want = logits(base, &prepare(base, 784, 50, &weights[0].0));
    assert_eq!(logits(kernel, &w1), want, "{}", kernel.name());
    for shift in 1..4 {
        let mut moved = vec![0.0; shift + w1.len()];
        moved[shift..].copy_from_slice(&w1);
        assert_eq!(logits(kernel, &moved[shift..]), want, "{}: buffer moved by {shift} floats", kernel.name());
    }
}

/// A network is checked once for step 23's pass only where every layer
/// is on step 23, with sigmoid between the layers; the pass checks the
/// lengths of what each call gives it.
#[test]
fn step_23_checks_a_network_once_and_each_call_s_buffers() {
    if !Kernel::Avx512Pass.is_available() {
        return;
    }
    let shapes = [(784, 50), (50, 100), (100, 10)];
    let prepared = |kernel: Kernel| -> Vec<Vec<f32>> {
        shapes
            .iter()
            .map(|&(k, n)| {
                let mut out = vec![0.0; kernel.prepared_len(k, n)];
                kernel.prepare(k, n, &vec![0.01; k * n], &mut out);
                out
            })
            .collect()
    };
    let biases: Vec<Vec<f32>> = shapes.iter().map(|&(_, n)| vec![0.0; n]).collect();
    let (w23, w21) = (prepared(Kernel::Avx512Pass), prepared(Kernel::Avx512Colour));
    fn layer<'a>(
        kernel: Kernel,
        i: usize,
        shapes: &[(usize, usize)],
        w: &'a [Vec<f32>],
        b: &'a [Vec<f32>],
    ) -> Dense<'a> {
        Dense::new(kernel, shapes[i].0, shapes[i].1, &w[i], &b[i]).unwrap()
    }
    let all23 = [0, 1, 2].map(|i| layer(Kernel::Avx512Pass, i, &shapes, &w23, &biases));
    let mixed = [
        layer(Kernel::Avx512Pass, 0, &shapes, &w23, &biases),
        layer(Kernel::Avx512Colour, 1, &shapes, &w21, &biases),
        layer(Kernel::Avx512Pass, 2, &shapes, &w23, &biases),
    ];
    let all21 = [0, 1, 2].map(|i| layer(Kernel::Avx512Colour, i, &shapes, &w21, &biases));
    let net = Network::new(&all23).unwrap();
    assert!(net.pass().is_some());
    assert!(net.with_hidden_activation(linalg::activation::Activation::Relu).pass().is_none());
    assert!(Network::new(&mixed).unwrap().pass().is_none());
    assert!(Network::new(&all21).unwrap().pass().is_none());
    let pass = net.pass().unwrap();
    let (mut scratch, mut y, mut best) = (vec![0.0; net.scratch_len(2)], vec![0.0; 20], vec![0; 2]);
    assert_eq!(
        pass.classify(2, &[0; 784], &mut scratch, &mut y, &mut best),
        Err(ShapeError::Len { what: "pixels", expected: 1568, found: 784 })
    );
    assert_eq!(
        pass.classify(2, &[0; 1568], &mut scratch, &mut y[..10], &mut best),
        Err(ShapeError::Len { what: "y", expected: 20, found: 10 })
    );
    assert_eq!(
        pass.classify(2, &[0; 1568], &mut scratch, &mut y, &mut best[..1]),
        Err(ShapeError::Len { what: "best", expected: 2, found: 1 })
    );
    assert_eq!(
        pass.classify(2, &[0; 1568], &mut scratch[..10], &mut y, &mut best),
        Err(ShapeError::Len { what: "scratch", expected: 400, found: 10 })
    );
    assert_eq!(pass.classify(2, &[0; 1568], &mut scratch, &mut y, &mut best), Ok(()));
}

#[test]
fn a_layer_alone_checks_its_buffers() {
    let w = [0.0; 4];
    let b = [0.0; 2];
    let layers = [Dense::new(Kernel::Naive, 2, 2, &w, &b).unwrap(), Dense::new(Kernel::Naive, 2, 2, &w, &b).unwrap()];
    let net = Network::new(&layers).unwrap();
    let mut out = [0.0; 2];
    assert_eq!(net.layer_pixels(0, 1, &[0; 2], &[], &mut out), Err(ShapeError::Kernel("naive")));
    if !Kernel::Avx2Lines.is_available() {
        return;
    }
    let k = Kernel::Avx2Lines;
    let mut wp = vec![0.0; k.prepared_len(2, 2)];
    k.prepare(2, 2, &w, &mut wp);
    let layers = [Dense::new(k, 2, 2, &wp, &b).unwrap(), Dense::new(k, 2, 2, &wp, &b).unwrap()];
    let net = Network::new(&layers).unwrap();
    assert_eq!(
        net.layer_pixels(2, 1, &[0; 2], &[0.0; 2], &mut out),
        Err(ShapeError::Dim { what: "layer", expected: 2, found: 2 })
    );
    assert_eq!(
        net.layer_pixels(0, 1, &[0; 3], &[], &mut out),
        Err(ShapeError::Len { what: "pixels", expected: 2, found: 3 })
    );
    assert_eq!(
        net.layer_pixels(1, 1, &[0; 2], &[0.0; 3], &mut out),
        Err(ShapeError::Len { what: "prev", expected: 2, found: 3 })
    );
    assert_eq!(
        net.layer_pixels(1, 1, &[0; 2], &[0.0; 2], &mut [0.0; 3]),
        Err(ShapeError::Len { what: "out", expected: 2, found: 3 })
    );
    net.layer_pixels(1, 1, &[0; 2], &[0.5; 2], &mut out).unwrap();
    assert_eq!(out, [0.0; 2], "zero weights and biases, the last layer's identity");
}
