//! Choosing between two kernels by measuring them on this core, for
//! [`super::Kernel::best`] where a rule written from one CPU would be a
//! guess on another (AVX-512 on Intel against AMD Zen 4).
//!
//! The work is the book's network in miniature, at batch 12 (two of the
//! 6-row tiles): a first layer of 784 mostly-zero u8 pixels (one in five
//! non-zero, as MNIST's) to 50 sigmoid units, read as `infer` reads them
//! (in place where the kernel [reads them](Kernel::reads_pixels),
//! else converted to f32 first), then a dense 50 → 100 layer; the weights
//! on a cache line, as `infer` keeps them. The two kernels take turns,
//! round after round, so that a change of the machine's speed between them
//! shows in both; each keeps its fastest round. About a millisecond in all.

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
    /// The inputs as u8 pixels (`x = p / 255`) and as floats.
    pixels: Vec<u8>,
    x: Vec<f32>,
    /// The prepared weights from `start` on, which is on a 64-byte line.
    prepared: Vec<f32>,
    start: usize,
    bias: Vec<f32>,
}

impl Layer {
    fn weights(&self) -> &[f32] {
        &self.prepared[self.start..]
    }
}

impl Work {
    fn new(kernel: Kernel) -> Work {
        let layers = LAYERS
            .iter()
            .map(|&(k, n, every)| {
                // fixed, varied values; no randomness needed to time
                let w: Vec<f32> = (0..k * n).map(|i| ((i * 37 % 101) as f32 - 50.0) / 500.0).collect();
                let pixels: Vec<u8> =
                    (0..M * k).map(|i| if (i * 7 + i / k) % every == 0 { (i % 251) as u8 + 1 } else { 0 }).collect();
                let x = pixels.iter().map(|&p| crate::pixels::VALUES[p as usize]).collect();
                let len = kernel.prepared_len(k, n);
                let mut prepared = vec![0.0; len + 15];
                let start = prepared.as_ptr().align_offset(64).min(15);
                kernel.prepare(k, n, &w, &mut prepared[start..start + len]);
                prepared.truncate(start + len);
                Layer { k, n, pixels, x, prepared, start, bias: vec![0.1; n] }
            })
            .collect();
        Work { kernel, layers }
    }

    /// The time of `PASSES` passes over every layer.
    fn time(&self) -> Duration {
        let mut out: Vec<Vec<f32>> = self.layers.iter().map(|l| vec![0.0; M * l.n]).collect();
        let mut x0 = vec![0.0; self.layers[0].x.len()];
        let in_place = self.kernel.reads_pixels();
        let start = Instant::now();
        for _ in 0..PASSES {
            for (i, (l, c)) in self.layers.iter().zip(out.iter_mut()).enumerate() {
                let (k, n, w, b, act) = (l.k, l.n, l.weights(), &l.bias, Activation::Sigmoid);
                match i {
                    0 if in_place => self.kernel.dense_pixels(M, k, n, &l.pixels, w, b, act, c),
                    0 => {
                        crate::pixels::normalize(&l.pixels, &mut x0);
                        self.kernel.dense(M, k, n, &x0, w, b, act, c)
                    }
                    _ => self.kernel.dense(M, k, n, &l.x, w, b, act, c),
                }
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
        // one that reads the pixels in place against one that converts them
        if Kernel::Avx2.is_available() {
            let chosen = faster(Kernel::Avx2, Kernel::Avx2Union);
            assert!(chosen == Kernel::Avx2 || chosen == Kernel::Avx2Union);
        }
    }
}
