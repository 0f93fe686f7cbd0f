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
#![no_std]
#![warn(missing_docs)]

#[cfg(feature = "std")]
extern crate std;

pub mod activation;
pub mod kernels;
mod mat;
pub mod math;
pub mod network;

pub use kernels::{matmul, Kernel};
pub use mat::{MatMut, MatRef, ShapeError};
pub use network::{Dense, Network};
