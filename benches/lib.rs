//! Benchmarks live in `batch.rs`; this library is empty.
