//! Eight-lane sums and maxima written so that the compiler vectorises them (a sequential float
//! reduction cannot be reordered, so it stays scalar and latency-bound).

/// Adds eight partial sums pairwise.
#[inline]
pub(crate) fn hsum(acc: [f32; 8]) -> f32 {
    let s4 = [
        acc[0] + acc[4],
        acc[1] + acc[5],
        acc[2] + acc[6],
        acc[3] + acc[7],
    ];
    (s4[0] + s4[2]) + (s4[1] + s4[3])
}

/// Sum of `x`, eight partial sums.
#[inline]
pub(crate) fn sum(x: &[f32]) -> f32 {
    let mut acc = [0.0_f32; 8];
    let c = x.chunks_exact(8);
    let tail: f32 = c.remainder().iter().sum();
    for v in c {
        for i in 0..8 {
            acc[i] += v[i];
        }
    }
    hsum(acc) + tail
}

/// `Σ f(k, x[k])` in `f64`, with eight partial sums (lane `k mod 8`) and the tail summed apart:
/// the loop vectorises, where one running sum would be a chain of dependent additions.
#[inline]
pub(crate) fn sum_f64(x: &[f32], f: impl Fn(usize, f32) -> f64) -> f64 {
    let mut acc = [0.0_f64; 8];
    let c = x.chunks_exact(8);
    let start = x.len() - c.remainder().len();
    let tail: f64 = c
        .remainder()
        .iter()
        .enumerate()
        .map(|(j, &v)| f(start + j, v))
        .sum();
    for (b, v) in c.enumerate() {
        for i in 0..8 {
            acc[i] += f(8 * b + i, v[i]);
        }
    }
    acc.iter().sum::<f64>() + tail
}

/// Largest value of `x` (`init` if empty); NaN-free input assumed (a NaN may or may not win).
#[inline]
pub(crate) fn max(x: &[f32], init: f32) -> f32 {
    let mut lanes = [init; 8];
    let c = x.chunks_exact(8);
    let tail = c
        .remainder()
        .iter()
        .fold(init, |a, &b| if b > a { b } else { a });
    for v in c {
        for i in 0..8 {
            lanes[i] = if v[i] > lanes[i] { v[i] } else { lanes[i] };
        }
    }
    lanes.iter().fold(tail, |a, &b| if b > a { b } else { a })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lanes_agree_with_sequential_code() {
        for n in [0usize, 1, 7, 8, 9, 31, 1025] {
            let x: Vec<f32> = (0..n).map(|i| ((i * 37) % 101) as f32 - 50.0).collect();
            assert_eq!(sum(&x), x.iter().sum::<f32>(), "{n}");
            assert_eq!(max(&x, -1e9), x.iter().copied().fold(-1e9, f32::max));
            // Integer-valued terms: every order of summation is exact.
            let weighted: f64 = x
                .iter()
                .enumerate()
                .map(|(k, &v)| k as f64 * f64::from(v))
                .sum();
            assert_eq!(sum_f64(&x, |k, v| k as f64 * f64::from(v)), weighted, "{n}");
        }
    }
}
