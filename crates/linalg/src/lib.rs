//! Row-major dense linear algebra for the inference of small networks.
//!
//! `linalg` is `#![no_std]` always, has no dependencies and never allocates:
//! every output and every scratch buffer is a slice the caller provides.
//! The optional `std` feature only adds run-time CPU detection
//! ([`Kernel::detect`]).
//!
//! What is here:
//!
//! - [`MatRef`] / [`MatMut`]: row-major views whose shape is checked once,
//!   when they are made.
//! - [`kernels`]: the matmul ladder, from the naive triple loop (kept as the
//!   oracle) to cache-blocked and register-tiled kernels. [`matmul`] is the
//!   checked entry point.
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
