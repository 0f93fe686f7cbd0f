//! The integer-only int8 model and the flash-friendly f32 path: exact
//! accuracy and agreement figures, the model size, and the u8-input f32
//! path predicting exactly what numpy predicts.

mod common;

use common::{infer, root};
use infer::quant::QModel;
use linalg::{Dense, Network};
use mnist_data::{LabeledImages, Weights, CLASSES};

fn test_set() -> LabeledImages {
    let f = root().join("fixtures");
    LabeledImages::read(&f.join("t10k-images-idx3-ubyte.gz"), &f.join("t10k-labels-idx1-ubyte.gz")).unwrap()
}

fn book_layers() -> Vec<mnist_data::Layer> {
    Weights::read(&root().join("fixtures/sample_weight.pkl")).unwrap().layers(784, CLASSES).unwrap()
}

/// int8 on the 10,000 test images: 0.9352 (f32 too), the same prediction
/// as f32 on 9,988 of them, in 46,896 bytes (targets: ≥ 0.9345, ≥ 0.997,
/// ≤ 48 KB).
#[test]
fn int8_accuracy_agreement_and_size() {
    let r = infer(&["eval", "--precision", "int8", "--json"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    for field in
        ["\"accuracy\":0.9352,", "\"agreement_with_f32\":0.9988,", "\"model_bytes\":46896", "\"precision\":\"int8\""]
    {
        assert!(r.stdout.contains(field), "{field} not in {}", r.stdout);
    }
    let q = QModel::new(&book_layers()).unwrap();
    assert_eq!(q.bytes(), 39_200 + 5_000 + 1_000 + 160 * 9 + 256);
}

/// The report says where int8 and f32 differ: 12 images, and on how many
/// of them each was right.
#[test]
fn int8_report_lists_the_differences() {
    let r = infer(&["eval", "--precision", "int8", "--report"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let line = r.stdout.lines().find(|l| l.starts_with("int8 against f32:")).expect("a comparison line");
    assert!(line.starts_with("int8 against f32: 12 of 10000 images predicted differently;"), "{line}");
    assert!(r.stdout.ends_with("Accuracy:0.9352\n"));
}

/// The int8 predictions do not depend on the thread count.
#[test]
fn int8_predictions_are_the_same_on_two_threads() {
    let data = test_set();
    let q = QModel::new(&book_layers()).unwrap();
    let (mut one, mut two) = (vec![0u8; 10_000], vec![0u8; 10_000]);
    q.predict(&data.images, 100, 1, &mut one);
    q.predict(&data.images, 100, 2, &mut two);
    assert_eq!(one, two);
}

/// `QModel::breakdown`, which times each layer of every int8 pass, predicts
/// what `QModel::predict` does at batch sizes 1, 7 and 100, and gives each
/// stage its time: one entry per stage, the layers' positive.
#[test]
fn int8_breakdown_predicts_as_predict_and_times_every_layer() {
    use infer::quant::IntKernel;
    let data = test_set();
    let q = QModel::new(&book_layers()).unwrap();
    let names = q.stage_names();
    assert_eq!(
        names,
        [
            "pixels (none: the int8 layers read the u8 pixels)",
            "W1 784×50 + b1, requantized, sigmoid table",
            "W2 50×100 + b2, requantized, sigmoid table",
            "W3 100×10 + b3, requantized",
            "argmax of the logits",
        ]
    );
    for kernel in [IntKernel::Portable, IntKernel::Avx2, IntKernel::Vnni].into_iter().filter(|k| k.is_available()) {
        let q = q.clone().with_kernel(kernel);
        for batch in [1, 7, 100] {
            let (mut want, mut got) = (vec![0u8; 700], vec![0u8; 700]);
            q.predict(&data.images, batch, 1, &mut want);
            let seconds = q.breakdown(&data.images, batch, &mut got);
            assert_eq!(got, want, "{} batch {batch}", kernel.name());
            assert_eq!(seconds.len(), names.len());
            assert!(seconds[1..4].iter().all(|&s| s > 0.0), "{} batch {batch}: {seconds:?}", kernel.name());
        }
    }
}

/// `Network::classify_u8` over `Dense::row_major` layers (weights read in
/// place, pixels never widened into a buffer) predicts exactly what numpy
/// predicts on all 10,000 images.
#[test]
fn u8_input_row_major_path_equals_numpy() {
    let data = test_set();
    let layers = book_layers();
    let dense: Vec<Dense<'_>> = layers.iter().map(|l| Dense::row_major(l.k, l.n, &l.W, &l.b).unwrap()).collect();
    let net = Network::new(&dense).unwrap();
    let mut scratch = vec![0.0; net.scratch_len(1)];
    let mut a = [0.0f32; 10];
    let numpy = std::fs::read(root().join("fixtures/reference/numpy_predictions_t10k.u8")).unwrap();
    for (i, &want) in numpy.iter().enumerate() {
        let c = net.classify_u8(data.images.image(i), &mut scratch, &mut a).unwrap();
        assert_eq!(c as u8, want, "image {i}");
    }
    assert_eq!(numpy.len(), 10_000);
}

#[test]
fn an_unavailable_or_packing_kernel_is_refused() {
    let w = [0.0f32; 6];
    let b = [0.0f32; 3];
    // tiled packs its weights: classify_u8 needs plain row-major ones
    let tiled = linalg::Kernel::Tiled;
    let mut p = vec![0.0; tiled.prepared_len(2, 3)];
    tiled.prepare(2, 3, &w, &mut p);
    let layers = [Dense::new(tiled, 2, 3, &p, &b).unwrap()];
    let net = Network::new(&layers).unwrap();
    let e = net.classify_u8(&[1, 2], &mut [], &mut [0.0; 3]).unwrap_err();
    assert_eq!(e, linalg::ShapeError::Kernel("tiled"));
    if !linalg::Kernel::Avx2.is_available() {
        let e = Dense::new(linalg::Kernel::Avx2, 2, 3, &w, &b).unwrap_err();
        assert_eq!(e, linalg::ShapeError::Kernel("avx2"));
    }
}

/// Integer arithmetic has one right answer: every int8 pass gives exactly
/// the portable pass's logits on all 10,000 images, and the same
/// predictions at every batch size and thread count.
#[test]
fn every_int8_kernel_gives_the_portable_logits_on_every_image() {
    use infer::quant::IntKernel;
    let data = test_set();
    let portable = QModel::new(&book_layers()).unwrap().with_kernel(IntKernel::Portable);
    let mut want = vec![0u8; 10_000];
    portable.predict(&data.images, 1, 1, &mut want);
    for kernel in IntKernel::ALL.into_iter().filter(|k| k.is_available()) {
        let q = portable.clone().with_kernel(kernel);
        for i in 0..10_000 {
            assert_eq!(
                q.logits(data.images.image(i)),
                portable.logits(data.images.image(i)),
                "{} image {i}",
                kernel.name()
            );
        }
        // the batched pass: the same integers in batches of 100 and 7 (a
        // tile of 6 and one image left over)
        for batch in [100, 7] {
            for first in (0..10_000).step_by(batch) {
                let m = batch.min(10_000 - first);
                let Some(got) = q.logits_batch(&data.images.pixels[first * 784..(first + m) * 784], m) else {
                    break;
                };
                for (r, got) in got.chunks_exact(10).enumerate() {
                    let want = portable.logits(data.images.image(first + r));
                    assert_eq!(got, want.as_slice(), "{} batch {batch}, image {}", kernel.name(), first + r);
                }
            }
        }
        // batch sizes: one image, a batch that splits W1's blocks unevenly,
        // the default, more than a thread's share
        for (batch, threads) in [(1, 1), (37, 2), (100, 1), (100, 2), (10_000, 1)] {
            let mut got = vec![0u8; 10_000];
            q.predict(&data.images, batch, threads, &mut got);
            assert_eq!(got, want, "{} at batch {batch} on {threads} threads", kernel.name());
        }
    }
}

/// The AVX2 and VNNI passes on networks of odd widths (pairs and quads
/// padded with zero, a ragged last vector, a one-input layer, a 64-input
/// block and a tail): the portable logits exactly.
#[test]
fn int8_fast_passes_on_odd_shapes_equal_portable() {
    use infer::quant::IntKernel;
    for kernel in [IntKernel::Avx2, IntKernel::Vnni].into_iter().filter(|k| k.is_available()) {
        odd_shapes_equal_portable(kernel);
    }
}

fn odd_shapes_equal_portable(kernel: infer::quant::IntKernel) {
    let mut seed = 0x9e37_79b9u32;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 17;
        seed ^= seed << 5;
        seed
    };
    for shape in [
        &[7usize, 1, 3][..],
        &[33, 13, 9],
        &[64, 104, 17],
        &[1, 5, 2],
        &[130, 104, 3],
        // the VNNI pass's narrow tails (2 and 4 words) after 0, 1, 3 and 6 vectors
        &[70, 50, 100, 20, 4],
        &[199, 2, 35, 36],
    ] {
        let layers: Vec<mnist_data::Layer> = shape
            .windows(2)
            .map(|w| mnist_data::Layer {
                k: w[0],
                n: w[1],
                W: (0..w[0] * w[1]).map(|_| (next() % 2001) as f32 / 1000.0 - 1.0).collect(),
                b: (0..w[1]).map(|_| (next() % 201) as f32 / 100.0 - 1.0).collect(),
            })
            .collect();
        let portable = QModel::new(&layers).unwrap().with_kernel(infer::quant::IntKernel::Portable);
        let fast = portable.clone().with_kernel(kernel);
        for _ in 0..200 {
            // about half the inputs zero, as in MNIST
            let x: Vec<u8> = (0..shape[0]).map(|_| if next() % 2 == 0 { 0 } else { next() as u8 }).collect();
            assert_eq!(fast.logits(&x), portable.logits(&x), "{} shape {shape:?}, input {x:?}", kernel.name());
        }
        // 13 images at once: two tiles of 6 and one left over (the passes
        // that batch)
        let xs: Vec<u8> = (0..13 * shape[0]).map(|_| if next() % 2 == 0 { 0 } else { next() as u8 }).collect();
        let Some(got) = fast.logits_batch(&xs, 13) else {
            continue;
        };
        for (r, x) in xs.chunks_exact(shape[0]).enumerate() {
            let n = shape[shape.len() - 1];
            assert_eq!(&got[r * n..(r + 1) * n], portable.logits(x).as_slice(), "shape {shape:?}, image {r}");
        }
    }
}

/// [`IntKernel::best`] picks a pass this CPU runs, the same one each time:
/// AVX2 or (measured faster here) VNNI where the CPU has AVX2.
#[test]
fn the_best_int8_pass_runs_here_and_stays_chosen() {
    use infer::quant::IntKernel;
    let best = IntKernel::best();
    assert!(best.is_available(), "{}", best.name());
    assert_eq!(IntKernel::best(), best);
    if IntKernel::Avx2.is_available() {
        assert!(matches!(best, IntKernel::Avx2 | IntKernel::Vnni), "{}", best.name());
    }
    if !IntKernel::Vnni.is_available() {
        assert_ne!(best, IntKernel::Vnni);
    }
    // the timing that chooses returns one of the two it was given
    let chosen = infer::quant::faster(IntKernel::Portable, best);
    assert!(chosen == IntKernel::Portable || chosen == best, "{}", chosen.name());
}
