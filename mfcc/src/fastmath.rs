//! Branch-free `log2` and `exp2` for per-frame hot loops (the shared mel stage's dB values,
//! onset strength, chroma peak interpolation).
//!
//! `f32::log10` goes through libm one value at a time; this one splits the float into exponent
//! and mantissa, folds the mantissa into `[√½, √2)` and sums the series
//! `ln m = 2·atanh((m−1)/(m+1))` to the `t⁷` term. It compiles to a few vector instructions,
//! so 128 mel bands cost about as much as a handful of libm calls.
//!
//! **Error**: below `4e-7 + 1.2e-7·|log2 x|` absolute in `log2` (at most `1.3e-5` dB in
//! `10·log10` of a power between 1e-30 and 1e30) for every positive, normal, finite input; the
//! series' truncation error is `2t⁹/9 < 3e-8` with `|t| < 0.172`, the rest is `f32` rounding of
//! the result (one ulp of `log2 x`). Callers clamp their input to a positive floor first (zero,
//! subnormal, negative, NaN and infinite inputs give meaningless but finite-or-NaN results
//! and must not be passed).

/// `10·log10(2)` (to f32 precision): multiply a `log2` by it to get dB of a power.
pub const DB_PER_LOG2_POWER: f32 = 3.010_3;

/// `log2(x)` for a positive normal `x`, absolute error below `4e-7 + 1.2e-7·|log2 x|`.
///
/// # Examples
/// ```
/// use sonority_mfcc::fastmath::log2;
/// assert_eq!(log2(8.0), 3.0);
/// assert!((log2(10.0) - 10f32.log2()).abs() < 1e-6);
/// ```
#[must_use]
#[inline]
pub fn log2(x: f32) -> f32 {
    let bits = x.to_bits();
    let e = ((bits >> 23) & 0xff) as i32 - 127;
    let m = f32::from_bits((bits & 0x007f_ffff) | 0x3f80_0000);
    // Fold [√2, 2) onto [√½, 1) so that |t| stays below 0.172.
    let big = m > std::f32::consts::SQRT_2;
    let m = if big { 0.5 * m } else { m };
    let e = if big { e + 1 } else { e };
    let t = (m - 1.0) / (m + 1.0);
    let t2 = t * t;
    let ln_m = t * (2.0 + t2 * (2.0 / 3.0 + t2 * (2.0 / 5.0 + t2 * (2.0 / 7.0))));
    e as f32 + ln_m * std::f32::consts::LOG2_E
}

/// `2^x` for `x <= 1` (relative amplitudes; larger `x` count as 1), relative error below
/// `2e-7`; 0 below `−126`.
///
/// # Examples
/// ```
/// use sonority_mfcc::fastmath::exp2;
/// assert_eq!(exp2(-3.0), 0.125);
/// ```
///
/// Splits `x` into an integer and a fraction in `[−½, ½]`, and takes `2^frac` from its Taylor
/// series to the 7th power (truncation `(½·ln 2)⁸/8! < 2e-10`).
#[must_use]
#[inline]
pub fn exp2(x: f32) -> f32 {
    if x < -126.0 {
        return 0.0;
    }
    let x = x.min(1.0);
    // Round to the nearest integer (ties to even) by adding and removing 1.5·2²³, where the
    // float spacing is 1: a few instructions instead of a libm `roundf` call, and vectorisable.
    const ROUND: f32 = 12_582_912.0;
    let i = (x + ROUND) - ROUND;
    let t = (x - i) * std::f32::consts::LN_2;
    let p = 1.0
        + t * (1.0
            + t * (0.5
                + t * (1.0 / 6.0
                    + t * (1.0 / 24.0
                        + t * (1.0 / 120.0 + t * (1.0 / 720.0 + t * (1.0 / 5040.0)))))));
    // 2^i for i in [-126, 1] through the exponent bits.
    p * f32::from_bits(((i as i32 + 127) as u32) << 23)
}

/// `out[i] = 10·log10(max(power[i], amin))`, through [`log2`]: absolute error below `1.3e-5`
/// dB for powers between `1e-30` and `1e30`. The loop vectorises, where `f32::log10` goes
/// through libm one value at a time.
///
/// `amin` must be positive and normal (it is clamped to `f32::MIN_POSITIVE`); NaN powers give
/// `10·log10(amin)`.
///
/// # Examples
/// ```
/// use sonority_mfcc::fastmath::power_to_db_into;
/// let mut out = [0.0_f32; 3];
/// power_to_db_into(&[1.0, 100.0, 0.0], 1e-10, &mut out);
/// assert!((out[0] - 0.0).abs() < 1e-5 && (out[1] - 20.0).abs() < 1e-4 && (out[2] + 100.0).abs() < 1e-3);
/// ```
pub fn power_to_db_into(power: &[f32], amin: f32, out: &mut [f32]) {
    let amin = amin.max(f32::MIN_POSITIVE);
    for (o, &p) in out.iter_mut().zip(power) {
        *o = DB_PER_LOG2_POWER * log2(p.max(amin));
    }
}

/// Whether every value is finite, in one pass the compiler vectorises (a short-circuiting
/// `iter().any(|x| !x.is_finite())` stays scalar): the exponent bits of NaN and infinities are
/// all ones.
///
/// # Examples
/// ```
/// use sonority_mfcc::fastmath::all_finite;
/// assert!(all_finite(&[0.0, -1.5, f32::MAX]));
/// assert!(!all_finite(&[0.0, f32::NAN]));
/// ```
#[must_use]
pub fn all_finite(x: &[f32]) -> bool {
    const EXP: u32 = 0x7f80_0000;
    let mut bad = [0_u32; 8];
    let chunks = x.chunks_exact(8);
    let tail = chunks
        .remainder()
        .iter()
        .fold(0, |b, s| b | u32::from(s.to_bits() & EXP == EXP));
    for c in chunks {
        for i in 0..8 {
            bad[i] |= u32::from(c[i].to_bits() & EXP == EXP);
        }
    }
    bad.iter().fold(tail, |b, &v| b | v) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log2_error_is_below_the_documented_bound() {
        let mut worst = 0.0_f64;
        // Every 997th float between 1e-30 and 1e30 (about 2 million values), and powers of two.
        let (lo, hi) = (1e-30_f32.to_bits(), 1e30_f32.to_bits());
        let mut b = lo;
        while b < hi {
            let x = f32::from_bits(b);
            let want = f64::from(x).log2();
            let err = (f64::from(log2(x)) - want).abs() - 1.2e-7 * want.abs();
            worst = worst.max(err);
            b += 997;
        }
        for k in -100..100 {
            let x = 2f32.powi(k);
            assert_eq!(log2(x), k as f32);
        }
        assert!(worst < 4e-7, "worst {worst}");
    }

    #[test]
    fn exp2_relative_error_is_below_the_documented_bound() {
        let mut worst = 0.0_f64;
        for i in 0..=1_000_000 {
            let x = 1.0 - 127.0 * i as f32 / 1e6;
            let want = f64::from(x).exp2();
            worst = worst.max((f64::from(exp2(x)) - want).abs() / want);
        }
        assert!(worst < 2e-7, "worst {worst}");
        assert_eq!(exp2(0.0), 1.0);
        assert_eq!(exp2(-200.0), 0.0);
    }

    #[test]
    fn all_finite_finds_any_nan_or_infinity_anywhere() {
        for n in [0_usize, 1, 7, 8, 9, 33] {
            let x: Vec<f32> = (0..n).map(|i| i as f32 * 1e30 - 3.0).collect();
            assert!(all_finite(&x), "{n}");
            for at in 0..n {
                for bad in [f32::NAN, f32::INFINITY, f32::NEG_INFINITY] {
                    let mut y = x.clone();
                    y[at] = bad;
                    assert!(!all_finite(&y), "{n} {at} {bad}");
                }
            }
        }
        assert!(all_finite(&[
            f32::MAX,
            f32::MIN,
            f32::MIN_POSITIVE,
            1e-45,
            -0.0
        ]));
    }
}
