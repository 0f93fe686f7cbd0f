//! Step 7: bias and sigmoid fused into the store.
//!
//! What changed from step 6 (avx2-sparse), after which the layer makes two
//! more passes over C (`+ bias`, then a scalar sigmoid per element, each
//! calling `math::exp`): while a row's sums are still in registers, the
//! kernel adds the bias and applies the activation eight lanes at a time
//! (sigmoid through a vectorised version of `math::exp`'s Cephes
//! polynomial, within 2 ulp of `std`'s `exp`), then stores; the last partial
//! vector with a masked store. Nothing else changes, and [`matmul`] without
//! bias or activation is step 6's.
//!
//! The sigmoids of a row (and of step 10's tiles) are computed four
//! vectors side by side, each step of `exp` for all four before the next
//! (`x86::sigmoid_lockstep`): one vector's sigmoid is a chain of about 20
//! dependent operations, and issued one after another the chains barely
//! overlapped. The same operations on every lane: the same results bit for
//! bit (a test). On AMD EPYC Zen 3, bias and sigmoid on 100 rows of 100
//! outputs (a dense layer with k = 1, separate builds in turn): about
//! 85–90 ns a row of 100 one vector at a time, 55–65 side by side; the
//! whole network, builds in turn (8 pairs of `infer sweep --batch-sizes
//! 1,100 --repeat 5`): 1.01× at batch 1 and at batch 100, the epilogue
//! being a small part of it.
//!
//! Loop order: step 6's.
//!
//! Measured: `infer sweep --kernel avx2-sparse,avx2-fused`, the whole
//! network (`infer kernels` times `C = A·B` alone, where this step is
//! step 6); the table per CPU is in docs/matmul.md.

use super::avx2_row::{layer, Nest};
use crate::activation::Activation;

/// `C = act(A·B + bias)`. A: `m×k`, B prepared by
/// [`super::avx2_row::prepare`], C: `m×n`.
///
/// # Panics
/// If a slice length does not match its shape, or the CPU lacks AVX2/FMA.
#[allow(clippy::too_many_arguments)]
pub fn dense(m: usize, k: usize, n: usize, a: &[f32], b: &[f32], bias: &[f32], act: Activation, c: &mut [f32]) {
    layer("avx2-fused", Nest::Sparse, m, k, n, a, b, Some((Some(bias), act)), c)
}

/// `C = A·B`: step 6's kernel (no epilogue to fuse).
///
/// # Panics
/// As [`dense`].
pub fn matmul(m: usize, k: usize, n: usize, a: &[f32], b: &[f32], c: &mut [f32]) {
    super::avx2_sparse::matmul(m, k, n, a, b, c)
}

#[cfg(target_arch = "x86_64")]
pub(super) mod x86 {
    use core::arch::x86_64::*;

    use crate::activation::Activation;
    use crate::kernels::params::LANES;
    use crate::math;

    /// `s + bias[j..j+8]`, the lanes outside `mask` of the bias read as 0.
    ///
    /// Safety: AVX2 and FMA present; `bias` holds the lanes of `mask` at `j`.
    #[inline(always)]
    unsafe fn add_bias(s: __m256, bias: Option<&[f32]>, j: usize, mask: __m256i) -> __m256 {
        match bias {
            Some(bias) => _mm256_add_ps(s, _mm256_maskload_ps(bias.as_ptr().add(j), mask)),
            None => s,
        }
    }

    /// [`epilogue`] on rows of `masks.len()` vectors: vector `q` of `s` is
    /// at column `j0 + (q % V)·8` of its row, with `masks[q % V]`; the
    /// sigmoids side by side ([`activate_all`]).
    ///
    /// Safety: AVX2 and FMA present; `bias` holds the lanes of each mask
    /// at its column.
    #[inline(always)]
    pub unsafe fn epilogue_all(s: &mut [__m256], bias: Option<&[f32]>, j0: usize, masks: &[__m256i], act: Activation) {
        let v = masks.len();
        for (q, s_q) in s.iter_mut().enumerate() {
            *s_q = add_bias(*s_q, bias, j0 + (q % v) * LANES, masks[q % v]);
        }
        activate_all(s, act);
    }

    /// `act` on every vector of `s`, the same lanes as [`epilogue`]'s; the
    /// sigmoids [`LOCKSTEP`] vectors at a time ([`sigmoid_lockstep`]).
    ///
    /// Safety: AVX2 and FMA present.
    #[inline(always)]
    pub unsafe fn activate_all(s: &mut [__m256], act: Activation) {
        match act {
            Activation::Identity => {}
            Activation::Sigmoid => {
                // the last chunk at its own width (W1's 7 vectors are 4 + 3,
                // W2's 13 are 4 + 4 + 4 + 1), not padded to four and copied
                // in and out at a run-time length
                for chunk in s.chunks_mut(LOCKSTEP) {
                    match chunk.len() {
                        1 => chunk[0] = sigmoid(chunk[0]),
                        2 => in_lockstep::<2>(chunk),
                        3 => in_lockstep::<3>(chunk),
                        _ => in_lockstep::<LOCKSTEP>(chunk),
                    }
                }
            }
            Activation::Relu => {
                for s_v in s.iter_mut() {
                    *s_v = _mm256_max_ps(*s_v, _mm256_setzero_ps());
                }
            }
        }
    }

    /// [`sigmoid_lockstep`] on the `G` vectors of `chunk`.
    #[inline(always)]
    unsafe fn in_lockstep<const G: usize>(chunk: &mut [__m256]) {
        let mut group = [_mm256_setzero_ps(); G];
        group.copy_from_slice(&chunk[..G]);
        sigmoid_lockstep(&mut group);
        chunk[..G].copy_from_slice(&group);
    }

    /// How many sigmoids [`activate_all`] computes side by side. Against
    /// one vector at a time, the whole network at batch 100 behind a
    /// run-time switch in one process: 1.045×, 1.044×, 1.056× and 1.003×
    /// for 2, 3, 4 and 8 (8 runs out of registers; AMD EPYC Zen 3). The
    /// switch overstates the gain, which across separate builds is 1.01×
    /// (see the module's card), but ranks the sizes.
    pub const LOCKSTEP: usize = 4;
    // activate_all's match has an arm for each shorter last chunk
    const _: () = assert!(LOCKSTEP == 4);

    /// [`sigmoid`] of `G` vectors, each step of [`exp_lockstep`] issued for
    /// all of them before the next: the same operations on every lane, so
    /// the same results bit for bit. One vector's sigmoid is a chain of
    /// about 20 dependent operations; issued one vector after another, the
    /// chains of a row of C filled the scheduler and ran barely overlapped
    /// (about 20 cycles a vector with the division, 19 without it: the
    /// chain, not the division, was the cost); side by side they overlap.
    ///
    /// Safety: AVX2 and FMA present.
    #[inline(always)]
    pub unsafe fn sigmoid_lockstep<const G: usize>(x: &mut [__m256; G]) {
        // sigmoid(x) = 1 / (1 + e^-x)
        for x_g in x.iter_mut() {
            *x_g = _mm256_sub_ps(_mm256_setzero_ps(), *x_g);
        }
        exp_lockstep(x);
        let one = _mm256_set1_ps(1.0);
        for x_g in x.iter_mut() {
            *x_g = _mm256_div_ps(one, _mm256_add_ps(one, *x_g));
        }
    }

    /// `e^x` of `G` vectors in place, lane by lane, each step for all `G`
    /// before the next: `math::exp`'s range reduction and Cephes
    /// polynomial, with FMA, for x clamped to `[-87, 88]` (outside it e^x is
    /// not a normal f32; sigmoid there is 0 or 1 to within 1e-38).
    ///
    /// Safety: AVX2 and FMA present.
    #[inline(always)]
    pub unsafe fn exp_lockstep<const G: usize>(x: &mut [__m256; G]) {
        let mut n = [_mm256_setzero_ps(); G];
        for x_g in x.iter_mut() {
            *x_g = _mm256_min_ps(_mm256_max_ps(*x_g, _mm256_set1_ps(-87.0)), _mm256_set1_ps(88.0));
        }
        for g in 0..G {
            n[g] = _mm256_round_ps::<{ _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC }>(_mm256_mul_ps(
                x[g],
                _mm256_set1_ps(core::f32::consts::LOG2_E),
            ));
        }
        // r = x - n·ln 2, in two parts
        for g in 0..G {
            x[g] = _mm256_fnmadd_ps(n[g], _mm256_set1_ps(math::C1), x[g]);
        }
        for g in 0..G {
            x[g] = _mm256_fnmadd_ps(n[g], _mm256_set1_ps(math::C2), x[g]);
        }
        let mut p = [_mm256_set1_ps(math::P[0]); G];
        for &coef in &math::P[1..] {
            for g in 0..G {
                p[g] = _mm256_fmadd_ps(p[g], x[g], _mm256_set1_ps(coef));
            }
        }
        for g in 0..G {
            let r = x[g];
            let er = _mm256_add_ps(_mm256_fmadd_ps(p[g], _mm256_mul_ps(r, r), r), _mm256_set1_ps(1.0));
            let pow2 = _mm256_slli_epi32::<23>(_mm256_add_epi32(_mm256_cvtps_epi32(n[g]), _mm256_set1_epi32(127)));
            x[g] = _mm256_mul_ps(er, _mm256_castsi256_ps(pow2));
        }
    }

    /// `act(s + bias[j..j+8])`, the lanes outside `mask` of the bias read
    /// as 0.
    ///
    /// Safety: AVX2 and FMA present; `bias` holds the lanes of `mask` at `j`.
    #[inline(always)]
    pub unsafe fn epilogue(s: __m256, bias: Option<&[f32]>, j: usize, mask: __m256i, act: Activation) -> __m256 {
        let s = add_bias(s, bias, j, mask);
        match act {
            Activation::Identity => s,
            Activation::Sigmoid => sigmoid(s),
            Activation::Relu => _mm256_max_ps(s, _mm256_setzero_ps()),
        }
    }

    /// `1 / (1 + e^-x)` lane by lane: [`sigmoid_lockstep`] on one vector.
    #[inline(always)]
    pub unsafe fn sigmoid(x: __m256) -> __m256 {
        let mut x = [x];
        sigmoid_lockstep(&mut x);
        x[0]
    }

    #[cfg(all(test, feature = "std"))]
    mod tests {
        extern crate std;
        use super::*;

        #[test]
        fn sigmoids_side_by_side_equal_one_at_a_time_bit_for_bit() {
            if !crate::kernels::avx2::is_available() {
                return;
            }
            // floats from -100 to 100 in steps of about 1e-3, and the
            // clamps' edges, in calls of 1 to 13 vectors (every width of a
            // last chunk)
            let mut xs: std::vec::Vec<f32> = (0..200_000).map(|i| -100.0 + i as f32 * 1e-3).collect();
            xs.extend([-87.0, 88.0, -88.0, 87.0, 0.0, -0.0, f32::MIN_POSITIVE]);
            while !xs.len().is_multiple_of(8) {
                xs.push(0.5);
            }
            let (mut at, mut vectors) = (0, 1);
            while at < xs.len() {
                let chunk = &xs[at..xs.len().min(at + 8 * vectors)];
                // SAFETY: AVX2 and FMA checked above; 8 floats per vector.
                unsafe {
                    let mut v: std::vec::Vec<__m256> = chunk.chunks(8).map(|c| _mm256_loadu_ps(c.as_ptr())).collect();
                    activate_all(&mut v, Activation::Sigmoid);
                    for (c, got) in chunk.chunks(8).zip(&v) {
                        let (mut a, mut b) = ([0.0f32; 8], [0.0f32; 8]);
                        _mm256_storeu_ps(a.as_mut_ptr(), *got);
                        _mm256_storeu_ps(b.as_mut_ptr(), sigmoid(_mm256_loadu_ps(c.as_ptr())));
                        for ((x, a), b) in c.iter().zip(a).zip(b) {
                            assert_eq!(a.to_bits(), b.to_bits(), "sigmoid({x}): {a} side by side, {b} alone");
                        }
                    }
                }
                at += chunk.len();
                vectors = vectors % 13 + 1;
            }
        }

        #[test]
        fn vector_exp_is_within_2_ulp_of_std() {
            if !crate::kernels::avx2::is_available() {
                return;
            }
            let mut worst = 0;
            let mut x = -87.0f32;
            while x <= 87.9 {
                let xs = [x, x + 1e-3, x + 2e-3, x + 3e-3, x + 4e-3, x + 5e-3, x + 6e-3, x + 7e-3];
                let mut out = [0.0f32; 8];
                // SAFETY: AVX2 and FMA checked above; 8 floats in and out.
                unsafe {
                    {
                        let mut v = [_mm256_loadu_ps(xs.as_ptr())];
                        exp_lockstep(&mut v);
                        _mm256_storeu_ps(out.as_mut_ptr(), v[0])
                    }
                };
                for (o, x) in out.iter().zip(xs) {
                    let want = std::primitive::f32::exp(x);
                    worst = worst.max((o.to_bits() as i64 - want.to_bits() as i64).unsigned_abs());
                }
                x += 8e-3;
            }
            assert!(worst <= 2, "max error {worst} ulp");
        }
    }
}
