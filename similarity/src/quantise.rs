//! Optional i8 prefilter: a quarter of the bytes per scan, the same exact results.
//!
//! Each unit row `r` is stored a second time as i8 codes with one scale (`r ≈ scale *
//! codes`, symmetric, `scale = max|r| / 127`) and the exact error `e_r = ‖r − r̂‖₂` of that
//! approximation. A query direction `q` is quantised the same way (error `e_q`). Then
//!
//! `|q̂·r̂ − q·r| ≤ |q·(r̂ − r)| + |(q̂ − q)·r̂| ≤ e_r + e_q (1 + e_r)`,
//!
//! so every row gets a certain interval for its cosine from a 64-byte scan. The scan keeps
//! the k best *lower* bounds of rows that are certainly not excluded; any row whose *upper*
//! bound reaches the k-th of them is a candidate and is rescored exactly from the f32 row.
//! No row of the exact top k can be missed, so results are identical to the f32 scan.

use rayon::prelude::*;

/// Extra width added to every bound, for the rounding of f32 dot products and scales.
pub(crate) const SLACK: f32 = 1e-4;

/// The i8 copy of an index's rows.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct QuantisedRows {
    /// Row-major codes in `-127..=127`.
    pub codes: Vec<i8>,
    /// Per row: `[scale, error]`.
    pub params: Vec<[f32; 2]>,
}

impl QuantisedRows {
    /// Quantises row-major unit (or zero) rows.
    pub(crate) fn new(data: &[f32], dim: usize) -> Self {
        let mut codes = vec![0_i8; data.len()];
        let params = data
            .par_chunks_exact(dim)
            .zip(codes.par_chunks_exact_mut(dim))
            .map(|(row, out)| quantise(row, out))
            .collect();
        Self { codes, params }
    }

    /// Bytes held.
    pub(crate) fn memory_bytes(&self) -> usize {
        self.codes.capacity() + self.params.capacity() * size_of::<[f32; 2]>()
    }
}

/// A query direction quantised for the prefilter: codes per direction (one for
/// [`AnchorMode::Mean`](crate::AnchorMode::Mean), one per anchor for `Max`).
#[derive(Debug, Clone)]
pub(crate) struct QuantisedQuery {
    codes: Vec<i8>,
    scales: Vec<f32>,
    /// The largest quantisation error over the directions.
    pub error: f32,
    dim: usize,
}

impl QuantisedQuery {
    /// Quantises the directions (row-major, each unit or zero).
    pub(crate) fn new<'a>(directions: impl Iterator<Item = &'a [f32]>, dim: usize) -> Self {
        let mut codes = Vec::new();
        let mut scales = Vec::new();
        let mut error = 0.0_f32;
        for d in directions {
            let start = codes.len();
            codes.resize(start + dim, 0);
            let [scale, e] = quantise(d, &mut codes[start..]);
            scales.push(scale);
            error = error.max(e);
        }
        Self {
            codes,
            scales,
            error,
            dim,
        }
    }

    /// The approximate score of a quantised row: the largest over directions.
    #[inline]
    pub(crate) fn approx(&self, row_codes: &[i8], row_scale: f32) -> f32 {
        let mut best = f32::NEG_INFINITY;
        for (c, &s) in self.codes.chunks_exact(self.dim).zip(&self.scales) {
            // An i32 of at most 64 * 127^2 per 64 dims: exact in f32 up to 2^24.
            #[allow(clippy::cast_precision_loss)]
            let a = dot_i8(c, row_codes) as f32 * (s * row_scale);
            best = best.max(a);
        }
        best
    }

    /// The half-width of a row's score interval.
    #[inline]
    pub(crate) fn bound(&self, row_error: f32) -> f32 {
        row_error + self.error * (1.0 + row_error) + SLACK
    }
}

/// Quantises `v` into `out`; returns `[scale, error]`.
fn quantise(v: &[f32], out: &mut [i8]) -> [f32; 2] {
    let max = v.iter().fold(0.0_f32, |m, x| m.max(x.abs()));
    if max == 0.0 {
        out.iter_mut().for_each(|c| *c = 0);
        return [0.0, 0.0];
    }
    let scale = max / 127.0;
    let mut err = 0.0_f64;
    for (c, &x) in out.iter_mut().zip(v) {
        // |x / scale| <= 127 by construction: the cast cannot overflow.
        #[allow(clippy::cast_possible_truncation)]
        let q = (x / scale).round().clamp(-127.0, 127.0) as i8;
        *c = q;
        err += (f64::from(x) - f64::from(q) * f64::from(scale)).powi(2);
    }
    // The error is at most the norm of a unit vector: the cast cannot overflow.
    #[allow(clippy::cast_possible_truncation)]
    let err = err.sqrt() as f32;
    [scale, err]
}

/// The i8 dot product in i32, in 16 lanes (LLVM emits `pmaddwd`).
#[inline]
pub(crate) fn dot_i8(a: &[i8], b: &[i8]) -> i32 {
    const LANES: usize = 16;
    let ca = a.chunks_exact(LANES);
    let cb = b.chunks_exact(LANES);
    let (ra, rb) = (ca.remainder(), cb.remainder());
    let mut acc = [0_i32; LANES];
    for (x, y) in ca.zip(cb) {
        for i in 0..LANES {
            acc[i] += i32::from(x[i]) * i32::from(y[i]);
        }
    }
    let tail: i32 = ra
        .iter()
        .zip(rb)
        .map(|(&x, &y)| i32::from(x) * i32::from(y))
        .sum();
    acc.iter().sum::<i32>() + tail
}

/// Unit-normalises a copy (a helper for tests of the bound).
#[cfg(test)]
fn unit(v: &[f32]) -> Vec<f32> {
    let mut v = v.to_vec();
    crate::kernel::normalise(&mut v);
    v
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernel::dot;

    #[test]
    fn bound_holds_on_many_pairs() {
        let dim = 37;
        let mut s = 12345_u64;
        let mut next = || {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            (s >> 40) as f32 / (1u64 << 23) as f32 - 1.0
        };
        for _ in 0..500 {
            let q = unit(&(0..dim).map(|_| next()).collect::<Vec<_>>());
            let r = unit(&(0..dim).map(|_| next().powi(5)).collect::<Vec<_>>());
            let rows = QuantisedRows::new(&r, dim);
            let qq = QuantisedQuery::new(std::iter::once(&q[..]), dim);
            let [scale, err] = rows.params[0];
            let a = qq.approx(&rows.codes, scale);
            let exact = dot(&q, &r);
            assert!((a - exact).abs() <= qq.bound(err), "{a} {exact}");
            // The bound is useful: well under the spread of cosines.
            assert!(qq.bound(err) < 0.05);
        }
    }

    #[test]
    fn zero_rows_quantise_to_zero() {
        let rows = QuantisedRows::new(&[0.0; 4], 4);
        assert_eq!(rows.codes, vec![0; 4]);
        assert_eq!(rows.params, vec![[0.0, 0.0]]);
    }

    #[test]
    fn dot_i8_matches_i64_reference() {
        for n in [0, 5, 16, 33, 64] {
            let a: Vec<i8> = (0..n).map(|i| (i * 37 % 255 - 127) as i8).collect();
            let b: Vec<i8> = (0..n).map(|i| (127 - i * 11 % 255) as i8).collect();
            let want: i64 = a
                .iter()
                .zip(&b)
                .map(|(&x, &y)| i64::from(x) * i64::from(y))
                .sum();
            assert_eq!(i64::from(dot_i8(&a, &b)), want);
        }
    }
}
