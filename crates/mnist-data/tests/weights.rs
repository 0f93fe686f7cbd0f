//! Merging weights files like `dict.update`, and the chain checks, on small
//! text files written by the test.

use std::path::PathBuf;

use mnist_data::{ErrorKind, Weights};

fn write(name: &str, text: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("mnist-data-weights-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

#[test]
fn later_files_replace_arrays_by_name_and_keep_their_place() {
    let a = write("a.txt", "W1 2x2\n1 2 3 4\nb1 2\n0 0\n");
    let b = write("b.txt", "b1 2\n5 6\nW2 2x1\n1 1\nb2 1\n0\n");
    let w = Weights::read_all(&[&a, &b]).unwrap();
    let names: Vec<&str> = w.arrays().iter().map(|x| x.name.as_str()).collect();
    assert_eq!(names, ["W1", "b1", "W2", "b2"]);
    assert_eq!(w.get("b1").unwrap().data, [5.0, 6.0]);
    assert_eq!(w.get("b1").unwrap().source, b);
    let layers = w.layers(2, 1).unwrap();
    assert_eq!(layers.iter().map(|l| (l.k, l.n)).collect::<Vec<_>>(), [(2, 2), (2, 1)]);
    assert_eq!(layers[0].W, [1.0, 2.0, 3.0, 4.0]);
}

#[test]
fn a_bias_without_its_matrix_is_an_error() {
    let p = write("extra.txt", "W1 2x1\n1 1\nb1 1\n0\nb2 1\n0\n");
    let e = Weights::read(&p).unwrap().layers(2, 1).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Format);
    assert_eq!(e.detail(), "b2 has no W2, expected the layers to end at W1");
}

#[test]
fn a_matrix_must_have_two_dimensions_and_w1_must_exist() {
    let p = write("flat.txt", "W1 4\n1 2 3 4\nb1 2\n0 0\n");
    let e = Weights::read(&p).unwrap().layers(2, 2).unwrap_err();
    assert_eq!(e.detail(), "W1 has shape (4), expected 2 dimensions k×n");
    let q = write("none.txt", "V1 1\n0\n");
    let e = Weights::read(&q).unwrap().layers(2, 2).unwrap_err();
    assert_eq!(e.detail(), "W1 is missing, expected arrays W1, b1, W2, b2, …");
    assert_eq!(e.path(), q);
}
