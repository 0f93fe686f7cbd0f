//! What one core can do at most, measured in-process: loops of nothing but
//! independent multiply-adds, one per instruction set the ladder uses, so
//! that `infer kernels` divides each kernel's speed by the peak of its own
//! instruction set.
//!
//! | loop | instructions | FLOP per instruction pair or FMA |
//! |---|---|---|
//! | [`sse2_peak_loop`] | `mulps` + `addps` on 4 lanes (the portable kernels on the default x86_64 target) | 8 per pair |
//! | [`super::avx2::fma_peak_loop`] | `vfmadd231ps` on 8 lanes | 16 per FMA |
//! | [`avx512_peak_loop`] | `vfmadd231ps` on 16 lanes | 32 per FMA |
//! | [`avx2_int16_peak_loop`] | `vpmaddwd` + `vpaddd` on 16 i16 pairs | 32 integer ops per pair |
//! | [`vnni_peak_loop`] | `vpdpbusd` on 64 u8×i8 products | 128 integer ops |
//!
//! Each runs 12 independent chains (enough to hide a 4-cycle latency on two
//! pipes) and returns a value depending on every operation.
//!
//! And what the caches can deliver: [`read_loop`] reads one buffer over and
//! over with 256-bit loads (AVX2) and adds up what it read, so that `infer
//! kernels` can give the read bandwidth of the L1d and of the L2 beside the
//! peaks. W1 at batch 1 is bound by the second: its rows come from L2,
//! about 30 KB an image (docs/performance.md).

/// The instruction set a kernel is written for, and so whose peak it is
/// measured against.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Isa {
    /// Plain Rust on the default x86_64 target: SSE2, separate multiply
    /// and add.
    Sse2,
    /// AVX2 with FMA.
    Avx2,
    /// AVX-512F.
    Avx512,
    /// AVX2 integer multiply-adds (`vpmaddwd`), for the int8 passes.
    Avx2Int,
    /// AVX-512 VNNI (`vpdpbusd`: 64 u8×i8 multiply-adds into 16 sums), for
    /// the int8 VNNI pass.
    Vnni,
}

impl Isa {
    /// `sse2`, `avx2` or `avx512`.
    pub fn name(self) -> &'static str {
        match self {
            Isa::Sse2 => "sse2",
            Isa::Avx2 => "avx2",
            Isa::Avx512 => "avx512",
            Isa::Avx2Int => "avx2-int",
            Isa::Vnni => "avx512-vnni",
        }
    }

    /// FLOP per iteration of this instruction set's peak loop.
    pub fn flop_per_iteration(self) -> usize {
        match self {
            Isa::Sse2 => 12 * 8,
            Isa::Avx2 => 12 * 16,
            Isa::Avx512 => 12 * 32,
            Isa::Avx2Int => 12 * 32,
            Isa::Vnni => 12 * 128,
        }
    }

    /// Whether this CPU runs it (with `std`: detected at run time).
    pub fn is_available(self) -> bool {
        match self {
            Isa::Sse2 => cfg!(target_arch = "x86_64"),
            Isa::Avx2 => super::avx2::is_available(),
            Isa::Avx512 => avx512_available(),
            Isa::Avx2Int => super::avx2::is_available(),
            Isa::Vnni => crate::int8::vnni::is_available(),
        }
    }

    /// Runs this instruction set's peak loop for `iterations`, or `None`
    /// where the CPU lacks it.
    pub fn peak_loop(self, iterations: usize) -> Option<f32> {
        if !self.is_available() {
            return None;
        }
        Some(match self {
            Isa::Sse2 => sse2_peak_loop(iterations),
            Isa::Avx2 => super::avx2::fma_peak_loop(iterations),
            Isa::Avx512 => avx512_peak_loop(iterations),
            Isa::Avx2Int => avx2_int16_peak_loop(iterations) as f32,
            Isa::Vnni => vnni_peak_loop(iterations) as f32,
        })
    }
}

fn avx512_available() -> bool {
    #[cfg(all(target_arch = "x86_64", feature = "std"))]
    {
        std::is_x86_feature_detected!("avx512f")
    }
    #[cfg(all(target_arch = "x86_64", not(feature = "std")))]
    {
        cfg!(target_feature = "avx512f")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// `iterations × 12` independent `mulps` + `addps` pairs on 4 lanes.
///
/// # Panics
/// Off x86_64.
pub fn sse2_peak_loop(iterations: usize) -> f32 {
    #[cfg(target_arch = "x86_64")]
    {
        use core::arch::x86_64::*;
        // SAFETY: SSE2 is part of x86_64
        unsafe {
            let mut acc = [_mm_set1_ps(0.0); 12];
            let (a, b) = (_mm_set1_ps(0.999_999), _mm_set1_ps(1e-7));
            for _ in 0..iterations {
                for acc_i in acc.iter_mut() {
                    *acc_i = _mm_add_ps(_mm_mul_ps(*acc_i, a), b);
                }
                core::arch::asm!("", options(nomem, nostack));
            }
            let mut sum = _mm_setzero_ps();
            for acc_i in acc {
                sum = _mm_add_ps(sum, acc_i);
            }
            let mut out = [0.0f32; 4];
            _mm_storeu_ps(out.as_mut_ptr(), sum);
            out.iter().sum()
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        let _ = iterations;
        panic!("the SSE2 peak loop is x86_64 only")
    }
}

/// `iterations × 12` independent 512-bit FMAs.
///
/// # Panics
/// If the CPU lacks AVX-512F.
pub fn avx512_peak_loop(iterations: usize) -> f32 {
    assert!(avx512_available(), "the AVX-512 peak loop needs a CPU with AVX-512F");
    #[cfg(target_arch = "x86_64")]
    // SAFETY: AVX-512F is present (checked above)
    unsafe {
        x86::avx512_peak_loop(iterations)
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        let _ = iterations;
        unreachable!()
    }
}

/// `iterations × 12` independent `vpmaddwd` + `vpaddd` pairs.
///
/// # Panics
/// If the CPU lacks AVX2.
pub fn avx2_int16_peak_loop(iterations: usize) -> i32 {
    assert!(super::avx2::is_available(), "the AVX2 integer peak loop needs a CPU with AVX2");
    #[cfg(target_arch = "x86_64")]
    // SAFETY: AVX2 is present (checked above)
    unsafe {
        x86::avx2_int16_peak_loop(iterations)
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        let _ = iterations;
        unreachable!()
    }
}

/// `iterations × 12` independent `vpdpbusd`.
///
/// # Panics
/// If the CPU lacks AVX-512 VNNI.
pub fn vnni_peak_loop(iterations: usize) -> i32 {
    assert!(crate::int8::vnni::is_available(), "the VNNI peak loop needs a CPU with AVX-512 VNNI");
    #[cfg(target_arch = "x86_64")]
    // SAFETY: AVX-512F and VNNI are present (checked above)
    unsafe {
        x86::vnni_peak_loop(iterations)
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        let _ = iterations;
        unreachable!()
    }
}

/// The floats [`read_loop`] reads per step: 64, four 64-byte lines.
pub const READ_STEP: usize = 64;

/// The sum of `buf` read `passes` times, 64 floats at a time: eight 256-bit
/// loads into eight sums where the CPU has AVX2 (eight chains of 3-cycle
/// adds can take two loads a cycle; with four, an L1d read measured 34
/// bytes a cycle where 58 are possible, AMD Zen 4), else the same order in
/// portable code (so the result is the same everywhere, and depends on
/// every load). The caller times it: bytes read / seconds is the read
/// bandwidth of whichever cache holds `buf`.
///
/// # Panics
/// If `buf.len()` is not a multiple of [`READ_STEP`].
pub fn read_loop(buf: &[f32], passes: usize) -> f32 {
    assert!(buf.len().is_multiple_of(READ_STEP), "the buffer holds whole steps of {READ_STEP} floats");
    #[cfg(target_arch = "x86_64")]
    if super::avx2::is_available() {
        // SAFETY: AVX2 is present (checked above); buf holds whole steps
        return unsafe { x86::read_loop(buf, passes) };
    }
    read_loop_portable(buf, passes)
}

/// [`read_loop`] without AVX2: the same sums in the same order.
fn read_loop_portable(buf: &[f32], passes: usize) -> f32 {
    let mut acc = [0.0f32; READ_STEP];
    for _ in 0..passes {
        for step in buf.chunks_exact(READ_STEP) {
            for (a, &v) in acc.iter_mut().zip(step) {
                *a += v;
            }
        }
    }
    reduce(&acc)
}

/// Lane `l` of sum `v` at `acc[8v + l]`: the eight 8-lane sums added in
/// the same order on every path, pairwise lane by lane, then the 8 lanes
/// in order.
fn reduce(acc: &[f32; READ_STEP]) -> f32 {
    let s = |v: usize, l: usize| acc[8 * v + l];
    (0..8)
        .map(|l| ((s(0, l) + s(1, l)) + (s(2, l) + s(3, l))) + ((s(4, l) + s(5, l)) + (s(6, l) + s(7, l))))
        .fold(0.0, |sum, v| sum + v)
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use core::arch::x86_64::*;

    /// See [`super::read_loop`]. Safety: AVX2 present; `buf.len()` a
    /// multiple of `READ_STEP`.
    #[target_feature(enable = "avx2")]
    pub unsafe fn read_loop(buf: &[f32], passes: usize) -> f32 {
        let mut acc = [_mm256_setzero_ps(); 8];
        for _ in 0..passes {
            for i in (0..buf.len()).step_by(super::READ_STEP) {
                let at = buf.as_ptr().add(i);
                for (v, acc_v) in acc.iter_mut().enumerate() {
                    *acc_v = _mm256_add_ps(*acc_v, _mm256_loadu_ps(at.add(8 * v)));
                }
            }
        }
        let mut out = [0.0f32; super::READ_STEP];
        for (v, acc_v) in acc.iter().enumerate() {
            _mm256_storeu_ps(out.as_mut_ptr().add(8 * v), *acc_v);
        }
        super::reduce(&out)
    }

    /// Safety: AVX-512F and VNNI present.
    #[target_feature(enable = "avx512f,avx512vnni")]
    pub unsafe fn vnni_peak_loop(iterations: usize) -> i32 {
        let mut acc = [_mm512_setzero_si512(); 12];
        let (a, b) = (_mm512_set1_epi8(3), _mm512_set1_epi8(-2));
        for _ in 0..iterations {
            for acc_i in acc.iter_mut() {
                *acc_i = _mm512_dpbusd_epi32(*acc_i, a, b);
            }
            core::arch::asm!("", options(nomem, nostack));
        }
        let mut sum = _mm512_setzero_si512();
        for acc_i in acc {
            sum = _mm512_add_epi32(sum, acc_i);
        }
        _mm512_reduce_add_epi32(sum)
    }

    /// Safety: AVX2 present.
    #[target_feature(enable = "avx2")]
    pub unsafe fn avx2_int16_peak_loop(iterations: usize) -> i32 {
        let mut acc = [_mm256_setzero_si256(); 12];
        let b = _mm256_set1_epi16(-2);
        for _ in 0..iterations {
            for acc_i in acc.iter_mut() {
                // each multiply depends on the chain, so none is hoisted
                *acc_i = _mm256_add_epi32(*acc_i, _mm256_madd_epi16(*acc_i, b));
            }
            core::arch::asm!("", options(nomem, nostack));
        }
        let mut sum = _mm256_setzero_si256();
        for acc_i in acc {
            sum = _mm256_add_epi32(sum, acc_i);
        }
        let mut out = [0i32; 8];
        _mm256_storeu_si256(out.as_mut_ptr() as *mut __m256i, sum);
        out.iter().fold(0i32, |s, &v| s.wrapping_add(v))
    }

    /// Safety: AVX-512F present.
    #[target_feature(enable = "avx512f")]
    pub unsafe fn avx512_peak_loop(iterations: usize) -> f32 {
        let mut acc = [_mm512_set1_ps(0.0); 12];
        let (a, b) = (_mm512_set1_ps(0.999_999), _mm512_set1_ps(1e-7));
        for _ in 0..iterations {
            for acc_i in acc.iter_mut() {
                *acc_i = _mm512_fmadd_ps(*acc_i, a, b);
            }
            core::arch::asm!("", options(nomem, nostack));
        }
        let mut sum = _mm512_setzero_ps();
        for acc_i in acc {
            sum = _mm512_add_ps(sum, acc_i);
        }
        _mm512_reduce_add_ps(sum)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::vec::Vec;

    #[test]
    fn read_loop_adds_up_everything_it_reads() {
        // 0 + 1 + … + 127 = 8128, twice; small integers add exactly
        let buf: Vec<f32> = (0..128).map(|i| i as f32).collect();
        assert_eq!(read_loop(&buf, 2), 16256.0);
        assert_eq!(read_loop(&buf, 0), 0.0);
        // fractions: the AVX2 path and the portable one, bit for bit
        let buf: Vec<f32> = (0..192).map(|i| i as f32 * 0.1 - 3.7).collect();
        assert_eq!(read_loop(&buf, 3).to_bits(), read_loop_portable(&buf, 3).to_bits());
    }

    #[test]
    #[should_panic(expected = "whole steps of 64 floats")]
    fn read_loop_takes_whole_steps_only() {
        read_loop(&[0.0; 80], 1);
    }
}
