//! u8 pixels to the book's normalized floats, `x = p / 255` in f32, as
//! numpy's `x.astype(np.float32) / 255.0` computes them, bit for bit.
//!
//! With a division per pixel, the conversion took about 220 ns of 1,370
//! per image at batch 100 (`infer sweep --breakdown`, AMD Zen 3, one run
//! while a fuzzer used the other core: indicative only); with this
//! function, 132–190 ns of 1,250–1,890 in quiet runs of the same command
//! (docs/performance.md). With AVX2 and FMA, [`normalize`] multiplies by
//! `r = 1/255` and corrects the product once:
//!
//! ```text
//! q = p · r;  e = fma(-q, 255, p);  x = fma(e, r, q)
//! ```
//!
//! `e` is the exact remainder of `q`, so `x` is `p / 255` correctly
//! rounded; the test below checks all 256 inputs against the division.
//! A plain `p · r` would differ from numpy in 126 of them.

/// `VALUES[p] = p as f32 / 255.0` for every pixel value: what a kernel that
/// reads the pixels themselves ([`crate::Kernel::reads_pixels`]) multiplies
/// by, equal to [`normalize`]'s output bit for bit (a test).
pub const VALUES: [f32; 256] = {
    let mut table = [0.0f32; 256];
    let mut p = 0;
    while p < 256 {
        table[p] = p as f32 / 255.0;
        p += 1;
    }
    table
};

/// `x[i] = pixels[i] as f32 / 255.0` for every pixel.
///
/// # Panics
/// If the slices differ in length.
pub fn normalize(pixels: &[u8], x: &mut [f32]) {
    assert_eq!(pixels.len(), x.len(), "one float per pixel");
    #[cfg(target_arch = "x86_64")]
    if crate::kernels::avx2::is_available() {
        // SAFETY: AVX2 and FMA are present; the lengths are equal
        unsafe { x86::normalize(pixels, x) };
        return;
    }
    for (x, &p) in x.iter_mut().zip(pixels) {
        *x = p as f32 / 255.0;
    }
}

#[cfg(target_arch = "x86_64")]
pub(crate) mod x86 {
    use core::arch::x86_64::*;

    /// Safety: AVX2 and FMA present, `pixels.len() == x.len()`.
    #[target_feature(enable = "avx2,fma")]
    pub unsafe fn normalize(pixels: &[u8], x: &mut [f32]) {
        let r = _mm256_set1_ps(1.0 / 255.0);
        let d = _mm256_set1_ps(255.0);
        let n = pixels.len();
        let mut i = 0;
        while i + 8 <= n {
            let p = _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(_mm_loadl_epi64(pixels.as_ptr().add(i) as *const __m128i)));
            let q = _mm256_mul_ps(p, r);
            let e = _mm256_fnmadd_ps(q, d, p);
            _mm256_storeu_ps(x.as_mut_ptr().add(i), _mm256_fmadd_ps(e, r, q));
            i += 8;
        }
        while i < n {
            *x.get_unchecked_mut(i) = *pixels.get_unchecked(i) as f32 / 255.0;
            i += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every u8 value, at every position of an 8-lane vector and in the
    /// scalar tail: bit-identical to the division.
    #[test]
    fn equals_the_division_for_every_pixel_value() {
        let pixels: [u8; 256 + 3] = core::array::from_fn(|i| (i * 7 % 256) as u8);
        let mut x = [0.0f32; 256 + 3];
        normalize(&pixels, &mut x);
        for (&p, &v) in pixels.iter().zip(&x) {
            assert_eq!(v.to_bits(), (p as f32 / 255.0).to_bits(), "pixel {p}");
        }
        let all: [u8; 256] = core::array::from_fn(|i| i as u8);
        let mut x = [0.0f32; 256];
        normalize(&all, &mut x);
        for (p, &v) in x.iter().enumerate() {
            assert_eq!(v.to_bits(), (p as f32 / 255.0).to_bits(), "pixel {p}");
            assert_eq!(v.to_bits(), VALUES[p].to_bits(), "pixel {p}");
        }
    }
}
