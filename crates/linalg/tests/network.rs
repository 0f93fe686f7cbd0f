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
