//! Choosing between two kernels by measuring them on this core, for
//! [`super::Kernel::best`] where a rule written from one CPU would be a
//! guess on another (AVX-512 on Intel against AMD Zen 4).
//!
//! The work is the book's network in miniature, at batch 12 (two of the
//! 6-row tiles): a first layer of 784 mostly-zero inputs (one in five
//! non-zero, as MNIST's pixels) to 50 sigmoid units, then a dense 50 → 100
//! layer. The two kernels take turns, round after round, so that a change
//! of the machine's speed between them shows in both; each keeps its
//! fastest round. About a millisecond in all.

use super::Kernel;
use crate::activation::Activation;
use std::time::{Duration, Instant};
use std::{vec, vec::Vec};

/// Rounds of the two kernels in turn.
const ROUNDS: usize = 5;
/// Passes over both layers per kernel per round.
const PASSES: usize = 8;
/// Rows of the batch: two tiles of 6.
const M: usize = 12;
/// The layers: `(k, n, one input in how many non-zero)`.
const LAYERS: [(usize, usize, usize); 2] = [(784, 50, 5), (50, 100, 1)];

/// Of `a` and `b` (both available on this CPU), the one that runs the
/// work above in less time; `a` on a tie.
pub fn faster(a: Kernel, b: Kernel) -> Kernel {
    faster_by(&Work::new(a), &Work::new(b), Work::time).kernel
}

/// Of `a` and `b`, the one `time` finds faster: the two take turns for
/// `ROUNDS` rounds and each keeps its fastest round; `a` on a tie. The
/// method of [`faster`], for other contenders (the int8 passes of `infer`).
pub fn faster_by<T: Copy>(a: T, b: T, mut time: impl FnMut(T) -> Duration) -> T {
    let (mut best_a, mut best_b) = (Duration::MAX, Duration::MAX);
    for _ in 0..ROUNDS {
        best_a = best_a.min(time(a));
        best_b = best_b.min(time(b));
    }
    if best_b < best_a {
        b
    } else {
        a
    }
}

/// One kernel's prepared weights and its inputs and outputs.
struct Work {
    kernel: Kernel,
    layers: Vec<Layer>,
}

struct Layer {
    k: usize,
    n: usize,
    x: Vec<f32>,
    prepared: Vec<f32>,
    bias: Vec<f32>,
}

impl Work {
    fn new(kernel: Kernel) -> Work {
        let layers = LAYERS
            .iter()
            .map(|&(k, n, every)| {
                // fixed, varied values; no randomness needed to time
                let w: Vec<f32> = (0..k * n).map(|i| ((i * 37 % 101) as f32 - 50.0) / 500.0).collect();
                let x = (0..M * k)
                    .map(|i| if (i * 7 + i / k) % every == 0 { ((i % 251) as f32 + 1.0) / 255.0 } else { 0.0 })
                    .collect();
                let mut prepared = vec![0.0; kernel.prepared_len(k, n)];
                kernel.prepare(k, n, &w, &mut prepared);
                Layer { k, n, x, prepared, bias: vec![0.1; n] }
            })
            .collect();
        Work { kernel, layers }
    }

    /// The time of `PASSES` passes over every layer.
    fn time(&self) -> Duration {
        let mut out: Vec<Vec<f32>> = self.layers.iter().map(|l| vec![0.0; M * l.n]).collect();
        let start = Instant::now();
        for _ in 0..PASSES {
            for (l, c) in self.layers.iter().zip(out.iter_mut()) {
                self.kernel.dense(M, l.k, l.n, &l.x, &l.prepared, &l.bias, Activation::Sigmoid, c);
            }
        }
        let elapsed = start.elapsed();
        std::hint::black_box(&out);
        elapsed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn faster_returns_one_of_the_two() {
        let chosen = faster(Kernel::Ikj, Kernel::Naive);
        assert!(chosen == Kernel::Ikj || chosen == Kernel::Naive);
    }
}
