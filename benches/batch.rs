//! criterion benchmarks on this project's real work.
//!
//! - `forward/<kernel>/batch/N`: one pass over all 10,000 MNIST test images,
//!   N images per forward pass, one thread, the fastest kernel this CPU runs;
//!   N = 1, 10, 100, 1000, 10000. The accuracy (9352 of 10,000) is checked
//!   before anything is timed. Throughput is in images.
//! - `matmul/<layer>/m=<M>/<kernel>`: each matmul kernel on each layer's
//!   shape (784×50, 50×100, 100×10) at M = 1 and 100 rows, with real
//!   inputs (test images for W1, the previous layer's activations for W2 and
//!   W3), each kernel checked against the naive result first. Throughput is
//!   in rows (images).
//!
//! - `int8/<pass>/batch/N`: the integer-only int8 model over all 10,000
//!   images at N = 1 and 100 (accuracy checked first), with the fastest
//!   integer pass this CPU runs.
//!
//! `make bench`; pinned to one core as the numbers in docs/ were taken:
//! `taskset -c 1 cargo bench -p benches`. criterion's HTML report, with the
//! batch sizes of `forward/<kernel>` compared on one chart, is left in
//! `target/criterion/report/index.html`.

use std::hint::black_box;
use std::path::PathBuf;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use infer::model::{to_f32, Model};
use linalg::Kernel;
use mnist_data::{LabeledImages, Layer, Weights, CLASSES};

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../fixtures")
}

fn load() -> (LabeledImages, Vec<Layer>) {
    let f = fixtures();
    let data = LabeledImages::read(&f.join("t10k-images-idx3-ubyte.gz"), &f.join("t10k-labels-idx1-ubyte.gz"))
        .expect("bundled test set");
    let layers =
        Weights::read(&f.join("sample_weight.pkl")).and_then(|w| w.layers(784, CLASSES)).expect("bundled weights");
    (data, layers)
}

fn forward(c: &mut Criterion) {
    let (data, layers) = load();
    let model = Model::new(&layers, Kernel::best()).expect("best kernel runs here");
    let total = data.images.count;
    let mut group = c.benchmark_group(format!("forward/{}", model.kernel().name()));
    group.throughput(Throughput::Elements(total as u64));
    group.sample_size(20).measurement_time(Duration::from_secs(3));
    for batch in [1usize, 10, 100, 1000, 10000] {
        let mut predictions = vec![0u8; total];
        model.predict(&data.images, batch, 1, &mut predictions);
        let correct = predictions.iter().zip(&data.labels.labels).filter(|(p, t)| p == t).count();
        assert_eq!(correct, 9352, "batch size {batch}: accuracy must be the book's 0.9352 before timing");
        group.bench_with_input(BenchmarkId::new("batch", batch), &batch, |b, &batch| {
            b.iter(|| model.predict(black_box(&data.images), batch, 1, black_box(&mut predictions)))
        });
    }
    group.finish();
}

fn int8(c: &mut Criterion) {
    let (data, layers) = load();
    let q = infer::quant::QModel::new(&layers).expect("the book's layers quantize");
    let total = data.images.count;
    let mut predictions = vec![0u8; total];
    q.predict(&data.images, 1, 1, &mut predictions);
    let correct = predictions.iter().zip(&data.labels.labels).filter(|(p, t)| p == t).count();
    assert_eq!(correct, 9352, "int8 accuracy must be 0.9352 before timing");
    let mut group = c.benchmark_group("int8");
    group.throughput(Throughput::Elements(total as u64));
    group.sample_size(20).measurement_time(Duration::from_secs(3));
    for batch in [1usize, 100] {
        group.bench_with_input(BenchmarkId::new(format!("{}/batch", q.kernel().name()), batch), &batch, |b, &batch| {
            b.iter(|| q.predict(black_box(&data.images), batch, 1, black_box(&mut predictions)))
        });
    }
    group.finish();
}

fn matmul(c: &mut Criterion) {
    let (data, layers) = load();
    // real inputs of each layer: pixels for W1, activations for W2 and W3
    let model = Model::new(&layers, Kernel::Naive).expect("naive runs anywhere");
    let x = to_f32(&data.images.pixels[..100 * 784]);
    let z1 = model.hidden(&data.images, 0, 100, 1);
    let z2 = model.hidden(&data.images, 0, 100, 2);
    let inputs = [&x, &z1, &z2];
    for (l, (layer, a_full)) in layers.iter().zip(inputs).enumerate() {
        let (k, n) = (layer.k, layer.n);
        for m in [1usize, 100] {
            let a = &a_full[..m * k];
            let mut want = vec![0.0; m * n];
            linalg::kernels::naive::matmul(m, k, n, a, &layer.W, &mut want);
            let mut group = c.benchmark_group(format!("matmul/W{}_{k}x{n}/m={m}", l + 1));
            group.throughput(Throughput::Elements(m as u64));
            group.sample_size(20).measurement_time(Duration::from_secs(1)).warm_up_time(Duration::from_millis(300));
            for &kernel in Kernel::ALL.iter().filter(|k| k.is_available()) {
                // on a cache line, as the network's (infer::lines)
                let mut b = infer::lines::Lines::zeroed(kernel.prepared_len(k, n));
                kernel.prepare(k, n, &layer.W, b.get_mut());
                let b = b.get();
                let mut got = vec![0.0; m * n];
                kernel.run(m, k, n, a, b, &mut got);
                for (g, w) in got.iter().zip(&want) {
                    assert!((g - w).abs() <= 1e-4 * (1.0 + w.abs()), "{} disagrees with naive", kernel.name());
                }
                group.bench_function(kernel.name(), |bench| {
                    bench.iter(|| kernel.run(m, k, n, black_box(a), black_box(b), black_box(&mut got)))
                });
            }
            group.finish();
        }
    }
}

criterion_group!(benches, forward, int8, matmul);
criterion_main!(benches);
