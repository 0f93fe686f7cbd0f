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

#[cfg(target_arch = "x86_64")]
mod x86 {
    use core::arch::x86_64::*;

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
