//! Batch size 1 against batch size 100: one forward pass over all 10,000
//! MNIST test images per iteration, one thread, the fastest kernel this CPU
//! runs. The accuracy is checked (9352 of 10,000) before anything is timed.
//!
//! `make bench`, or pinned to one core as the numbers in docs/ were taken:
//! `taskset -c 1 cargo bench -p benches --bench batch`.

use std::hint::black_box;
use std::path::PathBuf;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use infer::model::Model;
use linalg::Kernel;
use mnist_data::{LabeledImages, Weights, CLASSES};

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../fixtures")
}

fn batch_sizes(c: &mut Criterion) {
    let f = fixtures();
    let data = LabeledImages::read(&f.join("t10k-images-idx3-ubyte.gz"), &f.join("t10k-labels-idx1-ubyte.gz"))
        .expect("bundled test set");
    let layers =
        Weights::read(&f.join("sample_weight.pkl")).and_then(|w| w.layers(784, CLASSES)).expect("bundled weights");
    let model = Model::new(&layers, Kernel::best()).expect("best kernel runs here");
    let total = data.images.count;
    let mut group = c.benchmark_group(format!("forward_10k_images/{}", model.kernel().name()));
    group.throughput(Throughput::Elements(total as u64));
    for batch in [1usize, 100] {
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

criterion_group!(benches, batch_sizes);
criterion_main!(benches);
