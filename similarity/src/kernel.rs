//! The numeric kernels: dot product, L2 normalisation and the finiteness check.
//!
//! The dot product keeps eight independent accumulators over `chunks_exact(8)`, which LLVM
//! turns into packed multiply-adds (two SSE registers on baseline x86-64, one AVX register
//! with `-C target-cpu=native`) without `unsafe`. The reduction order is fixed, so a score
//! never depends on where a row sits in a chunk or on how many threads scan.

use crate::error::{Error, Result};

/// The number of lanes the dot product accumulates in parallel.
const LANES: usize = 8;

/// Returns the dot product of two slices over their common length.
///
/// The summation order is fixed (eight lanes, then a pairwise reduction, then the tail), so
/// the result is bit-for-bit reproducible.
///
/// # Examples
///
/// ```
/// let a = [1.0_f32, 2.0, 3.0];
/// let b = [4.0_f32, 5.0, 6.0];
/// assert_eq!(sonority_similarity::dot(&a, &b), 32.0);
/// ```
#[must_use]
#[inline]
pub fn dot(a: &[f32], b: &[f32]) -> f32 {
    let n = a.len().min(b.len());
    let (a, b) = (&a[..n], &b[..n]);
    let ca = a.chunks_exact(LANES);
    let cb = b.chunks_exact(LANES);
    let (ra, rb) = (ca.remainder(), cb.remainder());
    let mut acc = [0.0_f32; LANES];
    for (x, y) in ca.zip(cb) {
        for i in 0..LANES {
            acc[i] += x[i] * y[i];
        }
    }
    let mut tail = 0.0_f32;
    for (x, y) in ra.iter().zip(rb) {
        tail += x * y;
    }
    // `+ 0.0` turns a -0.0 into 0.0, so that equal scores compare equal under `total_cmp`.
    (((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7])) + tail) + 0.0
}

/// Checks that every value is finite.
///
/// # Errors
///
/// [`Error::NonFinite`] naming `what`, `row` and the first bad column.
pub(crate) fn check_finite(what: &'static str, row: usize, v: &[f32]) -> Result<()> {
    match v.iter().position(|x| !x.is_finite()) {
        None => Ok(()),
        Some(col) => Err(Error::NonFinite {
            what,
            row,
            col,
            value: v[col],
        }),
    }
}

/// Scales `v` in place to unit L2 norm; a zero vector stays zero.
///
/// The norm and the scaling are computed in `f64`, so neither tiny (subnormal) nor huge
/// (above `1e19`) finite values overflow or lose the direction. Returns whether the vector
/// was non-zero.
pub(crate) fn normalise(v: &mut [f32]) -> bool {
    let norm = v
        .iter()
        .map(|&x| f64::from(x) * f64::from(x))
        .sum::<f64>()
        .sqrt();
    if norm == 0.0 || !norm.is_finite() {
        v.iter_mut().for_each(|x| *x = 0.0);
        return false;
    }
    let inv = 1.0 / norm;
    for x in v.iter_mut() {
        // The product is at most 1 in magnitude (up to rounding): the cast cannot overflow.
        #[allow(clippy::cast_possible_truncation)]
        let y = (f64::from(*x) * inv) as f32;
        *x = y;
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dot_matches_f64_reference_on_all_tail_lengths() {
        for n in 0..40 {
            let a: Vec<f32> = (0..n).map(|i| (i as f32 * 0.37).sin()).collect();
            let b: Vec<f32> = (0..n).map(|i| (i as f32 * 0.11).cos()).collect();
            let reference: f64 = a
                .iter()
                .zip(&b)
                .map(|(&x, &y)| f64::from(x) * f64::from(y))
                .sum();
            assert!((f64::from(dot(&a, &b)) - reference).abs() < 1e-5, "n = {n}");
        }
    }

    #[test]
    fn dot_never_returns_negative_zero() {
        let a = [0.0_f32; 9];
        let b = [-1.0_f32; 9];
        assert!(dot(&a, &b).is_sign_positive());
    }

    #[test]
    fn normalise_handles_zero_tiny_and_huge() {
        let mut z = [0.0_f32; 4];
        assert!(!normalise(&mut z));
        assert_eq!(z, [0.0; 4]);
        let mut tiny = [1e-40_f32, 0.0, 1e-40, 0.0];
        assert!(normalise(&mut tiny));
        assert!((tiny[0] - std::f32::consts::FRAC_1_SQRT_2).abs() < 1e-6);
        let mut huge = [3e38_f32, 3e38, 0.0, 0.0];
        assert!(normalise(&mut huge));
        assert!((huge[1] - std::f32::consts::FRAC_1_SQRT_2).abs() < 1e-6);
    }

    #[test]
    fn check_finite_names_the_column() {
        let err = check_finite("anchor", 2, &[0.0, f32::NAN]).unwrap_err();
        assert!(matches!(err, Error::NonFinite { row: 2, col: 1, .. }));
        assert!(check_finite("anchor", 0, &[f32::INFINITY]).is_err());
        assert!(check_finite("anchor", 0, &[1.0, -2.0]).is_ok());
    }
}
