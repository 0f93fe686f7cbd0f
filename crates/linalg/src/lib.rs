//! Row-major dense linear algebra for the inference of small networks.
//!
//! `linalg` is `#![no_std]` always, has no dependencies and never allocates:
//! every output and every scratch buffer is a slice the caller provides.
//! The optional `std` feature only adds run-time CPU detection (AVX2 and
//! FMA, for [`Kernel::is_available`] and [`Kernel::best`]); without it the
//! portable kernels run, or the AVX2 ones if the build enables them.
//!
//! What is here:
//!
//! - [`MatRef`] / [`MatMut`]: row-major views whose shape is checked once,
//!   when they are made.
//! - [`kernels`]: the matmul ladder, from the naive triple loop (kept as the
//!   oracle) through cache blocking and register tiling to AVX2 kernels.
//!   [`matmul`] is the checked entry point.
//! - [`activation`]: bias add, sigmoid, relu, softmax and argmax, per row.
//! - [`math::exp`]: a hand-written `expf`, since `core` has none on stable.
//! - [`network`]: any chain of dense layers (sigmoid hidden, softmax last),
//!   run over a batch into caller buffers.
//!
//! # Example
//!
//! A 2-input, 3-hidden, 2-output network on one row, every buffer on the
//! stack, as a `#![no_std]` caller would run it:
//!
//! ```
//! use linalg::{Dense, Kernel, Network};
//!
//! let kernel = Kernel::best(); // AVX2 if this CPU has it, else portable
//! # #[allow(non_snake_case)]
//! let (W1, b1) = ([0.5f32, -1.0, 0.25, 1.0, 0.5, -0.5], [0.0f32, 0.1, 0.2]); // 2×3
//! # #[allow(non_snake_case)]
//! let (W2, b2) = ([1.0f32, -1.0, 0.5, 0.5, -1.0, 1.0], [0.0f32, 0.0]); // 3×2
//! // weights are prepared once, into the kernel's layout
//! let (mut p1, mut p2) = ([0.0f32; 64], [0.0f32; 64]);
//! let (n1, n2) = (kernel.prepared_len(2, 3), kernel.prepared_len(3, 2));
//! kernel.prepare(2, 3, &W1, &mut p1[..n1]);
//! kernel.prepare(3, 2, &W2, &mut p2[..n2]);
//! let layers = [
//!     Dense::new(kernel, 2, 3, &p1[..n1], &b1).unwrap(),
//!     Dense::new(kernel, 3, 2, &p2[..n2], &b2).unwrap(),
//! ];
//! let net = Network::new(&layers).unwrap();
//! let x = [1.0f32, 2.0]; // one row
//! let mut scratch = [0.0f32; 6];
//! assert!(scratch.len() >= net.scratch_len(1));
//! let mut y = [0.0f32; 2];
//! net.forward(1, &x, &mut scratch, &mut y).unwrap(); // y = softmax(sigmoid(x·W1 + b1)·W2 + b2)
//! assert!((y[0] + y[1] - 1.0).abs() < 1e-6);
//! // a2 = [0.821, -0.296]: class 0
//! assert_eq!(linalg::activation::argmax(&y), Some(0));
//! ```
#![no_std]
#![warn(missing_docs)]
// Off x86_64 the SIMD steps keep their entry points, whose checks panic
// before any SIMD code (their CPUs are never available there), and their
// x86 bodies are configured out: what those bodies alone use would warn.
// `make cross-check` builds the crate for aarch64 with warnings as errors.
#![cfg_attr(not(target_arch = "x86_64"), allow(unused_variables, unused_imports, unused_mut, dead_code))]

#[cfg(feature = "std")]
extern crate std;

pub mod activation;
pub mod int8;
pub mod kernels;
mod mat;
pub mod math;
pub mod network;
pub mod pixels;

pub use kernels::{matmul, Kernel};
pub use mat::{MatMut, MatRef, ShapeError};
pub use network::{Dense, Network};
