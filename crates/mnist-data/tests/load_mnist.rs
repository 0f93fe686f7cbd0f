//! The book's `load_mnist` options on the bundled test set.

use std::path::PathBuf;

use mnist_data::mnist::Targets;
use mnist_data::{load_mnist, LabeledImages, Options};

fn test_set() -> LabeledImages {
    let f = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fixtures");
    LabeledImages::read(&f.join("t10k-images-idx3-ubyte.gz"), &f.join("t10k-labels-idx1-ubyte.gz")).unwrap()
}

#[test]
fn the_chapter_3_call_normalizes_and_flattens() {
    let data = test_set();
    let s = load_mnist(&data, Options::default());
    assert_eq!(s.shape, [10000, 784]);
    assert_eq!(s.x.len(), 10000 * 784);
    // image 0, row 7: pixels 6.. are 84 185 159 ...
    assert_eq!(data.images.image(0)[7 * 28 + 6..7 * 28 + 9], [84, 185, 159]);
    assert_eq!(s.x[7 * 28 + 6..7 * 28 + 9], [84.0 / 255.0, 185.0 / 255.0, 159.0 / 255.0]);
    assert!(s.x.iter().all(|&v| (0.0..=1.0).contains(&v)));
    let Targets::Digits(t) = &s.t else { panic!("integer labels expected") };
    assert_eq!(t[..10], [7, 2, 1, 0, 4, 1, 4, 9, 5, 9]);
}

#[test]
fn raw_pixels_images_and_one_hot_labels() {
    let data = test_set();
    let s = load_mnist(&data, Options { normalize: false, flatten: false, one_hot_label: true });
    assert_eq!(s.shape, [10000, 1, 28, 28]);
    assert_eq!(s.x[7 * 28 + 7], 185.0);
    assert_eq!(s.x.iter().copied().fold(0.0, f32::max), 255.0);
    let Targets::OneHot(t) = &s.t else { panic!("one-hot labels expected") };
    assert_eq!(t.len(), 10000 * 10);
    assert_eq!(t[..10], [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0]);
    assert!(t.chunks(10).all(|row| row.iter().sum::<f32>() == 1.0));
}
