//! `exp` for `f32`, written by hand: `core` has no `f32::exp` on stable Rust.
//!
//! Source: the Cephes Math Library's `expf.c` (Stephen L. Moshier, 1984,
//! 1987, 1989), whose minimax polynomial and two-part `ln 2` are used as
//! published.
//!
//! Range reduction: write `x = n·ln2 + r` with `n = round(x / ln2)`, so that
//! `|r| ≤ ln2/2 ≈ 0.347`. `r` is formed in two steps, `x - n·C1 - n·C2` with
//! `C1 + C2 = ln2` and `C1` holding only 9 significant bits, so `n·C1` is exact
//! for every `|n| ≤ 150` and the subtraction loses nothing. `e^r` is then
//! `1 + r + r²·P(r)` with a degree-5 minimax `P`, and `e^x = 2^n · e^r`, where
//! `2^n` is built from its exponent bits (in two halves, so that results in the
//! subnormal range come out right).
//!
//! Measured error (test `exp_max_relative_error` in this file): at most 2 ulp
//! (relative error below 2.4e-7) against `std`'s `f32::exp` over
//! `[-87.3, 88.7]`, the whole range where `e^x` is a normal `f32`.

const LOG2_E: f32 = core::f32::consts::LOG2_E;
/// `ln 2 = C1 + C2`; `C1` has a short mantissa so `n * C1` is exact.
pub(crate) const C1: f32 = 0.693_359_4;
pub(crate) const C2: f32 = -2.121_944_4e-4;
/// Minimax coefficients of `(e^r - 1 - r) / r²` on `[-ln2/2, ln2/2]` (Cephes).
/// (Cephes' last coefficient, 5.0000001201e-1, rounds to 0.5 in f32.)
pub(crate) const P: [f32; 6] = [1.987_569_2e-4, 1.398_199_9e-3, 8.333_452e-3, 4.166_579_6e-2, 1.666_666_5e-1, 0.5];
/// Above this, `e^x` overflows `f32`.
pub const EXP_HI: f32 = 88.722_84;
/// Below this, `e^x` rounds to zero.
pub const EXP_LO: f32 = -103.972_08;
/// `1.5 · 2^23`: adding and subtracting it rounds an `f32` of magnitude
/// below `2^22` to the nearest integer (ties to even).
const ROUND_MAGIC: f32 = 12_582_912.0;

/// `e^x`, to within 2 ulp. `exp(NaN)` is NaN, `exp(+inf)` is `+inf`,
/// `exp(-inf)` is 0.
#[inline]
pub fn exp(x: f32) -> f32 {
    if x.is_nan() {
        return x;
    }
    if x > EXP_HI {
        return f32::INFINITY;
    }
    if x < EXP_LO {
        return 0.0;
    }
    let n = (x * LOG2_E + ROUND_MAGIC) - ROUND_MAGIC;
    let r = x - n * C1 - n * C2;
    let mut p = P[0];
    for c in &P[1..] {
        p = p * r + c;
    }
    let er = p * r * r + r + 1.0;
    // n is an integer in [-150, 128]; two halves keep each power normal.
    let n = n as i32;
    let half = n / 2;
    er * pow2(half) * pow2(n - half)
}

/// `2^n` for `n` in `[-126, 127]`, from its exponent bits.
#[inline]
fn pow2(n: i32) -> f32 {
    f32::from_bits(((n + 127) as u32) << 23)
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;

    fn ulps(a: f32, b: f32) -> u32 {
        (a.to_bits() as i64 - b.to_bits() as i64).unsigned_abs() as u32
    }

    #[test]
    fn exp_max_relative_error() {
        // Every 101st f32 bit pattern of magnitude up to 88.7, both signs.
        let (lo, hi) = (-87.3f32, 88.7f32);
        let mut worst_rel = 0.0f64;
        let mut worst_ulp = 0;
        let mut checked = 0u32;
        for bits in (0..=hi.to_bits()).step_by(101) {
            let m = f32::from_bits(bits);
            for x in [m, -m] {
                if x < lo {
                    continue;
                }
                let got = exp(x);
                let want = std::primitive::f32::exp(x);
                let rel = ((got as f64 - want as f64) / want as f64).abs();
                worst_rel = worst_rel.max(rel);
                worst_ulp = worst_ulp.max(ulps(got, want));
                checked += 1;
            }
        }
        assert!(checked > 15_000_000, "checked only {checked} points");
        assert!(worst_ulp <= 2, "max error {worst_ulp} ulp");
        assert!(worst_rel < 2.4e-7, "max relative error {worst_rel:e}");
    }

    #[test]
    fn exp_special_values() {
        assert_eq!(exp(0.0), 1.0);
        assert!(exp(f32::NAN).is_nan());
        assert_eq!(exp(f32::INFINITY), f32::INFINITY);
        assert_eq!(exp(f32::NEG_INFINITY), 0.0);
        assert_eq!(exp(89.0), f32::INFINITY);
        assert_eq!(exp(-104.0), 0.0);
        // the subnormal range stays close to std
        for x in [-88.0f32, -95.5, -100.0, -103.0] {
            let (got, want) = (exp(x), std::primitive::f32::exp(x));
            assert!(ulps(got, want) <= 2, "exp({x}) = {got:e}, std {want:e}");
        }
    }
}
