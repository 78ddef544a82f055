//! A Gaussian track model (mean and covariance of the tile vectors) compared by the symmetric
//! Kullback–Leibler divergence, as Musly does with MFCC frames.
//!
//! With fewer tiles than dimensions the sample covariance is singular, so a ridge
//! `reg × mean(diag) + 1e-9` is added to its diagonal. The inverse is computed once (Cholesky)
//! when the model is built, so one comparison costs `O(D²)`.

use crate::error::{Error, Result};

/// `GaussianModel` is a multivariate Gaussian fitted to a track's tile vectors.
///
/// # Examples
///
/// ```
/// use sonority_autoencoders::GaussianModel;
///
/// let a = GaussianModel::from_samples(&[0.0, 1.0, 1.0, 0.0, 0.5, 0.5], 3, 2, 1e-3)?;
/// let b = GaussianModel::from_samples(&[2.0, 1.0, 1.0, 2.0, 1.5, 1.5], 3, 2, 1e-3)?;
/// assert!(a.symmetric_kl(&a)?.abs() < 1e-9);
/// assert!(a.symmetric_kl(&b)? > 0.0);
/// # Ok::<(), sonority_autoencoders::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct GaussianModel {
    dim: usize,
    mean: Vec<f64>,
    cov: Vec<f64>,
    inv: Vec<f64>,
}

impl GaussianModel {
    /// Fits `n` row-major `d`-dimensional samples; `reg` scales the diagonal ridge (a good
    /// starting point: `1e-2`).
    ///
    /// # Errors
    ///
    /// [`Error::Empty`] for no samples, [`Error::ShapeMismatch`] for a wrong length,
    /// [`Error::NonFinite`] for non-finite values.
    pub fn from_samples(samples: &[f32], n: usize, d: usize, reg: f64) -> Result<Self> {
        if n == 0 || d == 0 {
            return Err(Error::Empty {
                what: "gaussian samples",
            });
        }
        if samples.len() != n * d {
            return Err(Error::ShapeMismatch {
                what: "gaussian samples".into(),
                expected: vec![n, d],
                actual: vec![samples.len()],
            });
        }
        let mut mean = vec![0f64; d];
        for row in samples.chunks_exact(d) {
            for (m, x) in mean.iter_mut().zip(row) {
                *m += f64::from(*x) / n as f64;
            }
        }
        let mut cov = vec![0f64; d * d];
        for row in samples.chunks_exact(d) {
            for i in 0..d {
                let di = f64::from(row[i]) - mean[i];
                for j in i..d {
                    cov[i * d + j] += di * (f64::from(row[j]) - mean[j]) / n as f64;
                }
            }
        }
        for i in 0..d {
            for j in 0..i {
                cov[i * d + j] = cov[j * d + i];
            }
        }
        Self::new(mean, cov, reg)
    }

    /// Builds a model from a mean and a row-major covariance, adding the ridge.
    ///
    /// # Errors
    ///
    /// [`Error::ShapeMismatch`] for inconsistent sizes, [`Error::NonFinite`] for non-finite
    /// values or a covariance that is not positive definite even with the ridge.
    pub fn new(mean: Vec<f64>, mut cov: Vec<f64>, reg: f64) -> Result<Self> {
        let d = mean.len();
        if cov.len() != d * d || d == 0 {
            return Err(Error::ShapeMismatch {
                what: "covariance".into(),
                expected: vec![d, d],
                actual: vec![cov.len()],
            });
        }
        if mean.iter().chain(&cov).any(|x| !x.is_finite()) || !reg.is_finite() {
            return Err(Error::NonFinite {
                what: "gaussian model",
            });
        }
        let ridge = reg.max(0.0) * (0..d).map(|i| cov[i * d + i]).sum::<f64>() / d as f64 + 1e-9;
        for i in 0..d {
            cov[i * d + i] += ridge;
        }
        let inv = spd_inverse(&cov, d).ok_or(Error::NonFinite {
            what: "covariance inverse",
        })?;
        Ok(Self {
            dim: d,
            mean,
            cov,
            inv,
        })
    }

    /// The dimension.
    #[must_use]
    pub fn dim(&self) -> usize {
        self.dim
    }

    /// The mean.
    #[must_use]
    pub fn mean(&self) -> &[f64] {
        &self.mean
    }

    /// The covariance (with the ridge), row-major.
    #[must_use]
    pub fn cov(&self) -> &[f64] {
        &self.cov
    }

    /// `KL(p‖q) + KL(q‖p) = ½ [tr(Σq⁻¹Σp) + tr(Σp⁻¹Σq) + Δμᵀ(Σp⁻¹ + Σq⁻¹)Δμ] − D`; 0 for equal
    /// models and positive otherwise.
    ///
    /// # Errors
    ///
    /// [`Error::ShapeMismatch`] when the dimensions differ.
    pub fn symmetric_kl(&self, other: &Self) -> Result<f64> {
        let d = self.dim;
        if other.dim != d {
            return Err(Error::ShapeMismatch {
                what: "gaussian dimension".into(),
                expected: vec![d],
                actual: vec![other.dim],
            });
        }
        // tr(A B) for symmetric A, B is the sum of the elementwise product.
        let tr = |a: &[f64], b: &[f64]| a.iter().zip(b).map(|(x, y)| x * y).sum::<f64>();
        let dm: Vec<f64> = self
            .mean
            .iter()
            .zip(&other.mean)
            .map(|(a, b)| a - b)
            .collect();
        let mut quad = 0.0;
        for i in 0..d {
            let row = (0..d)
                .map(|j| (self.inv[i * d + j] + other.inv[i * d + j]) * dm[j])
                .sum::<f64>();
            quad += dm[i] * row;
        }
        Ok(0.5 * (tr(&other.inv, &self.cov) + tr(&self.inv, &other.cov) + quad) - d as f64)
    }
}

/// The inverse of a symmetric positive-definite matrix through its Cholesky factor.
fn spd_inverse(a: &[f64], d: usize) -> Option<Vec<f64>> {
    let mut l = vec![0f64; d * d];
    for i in 0..d {
        for j in 0..=i {
            let s = a[i * d + j] - (0..j).map(|k| l[i * d + k] * l[j * d + k]).sum::<f64>();
            if i == j {
                if s <= 0.0 || !s.is_finite() {
                    return None;
                }
                l[i * d + i] = s.sqrt();
            } else {
                l[i * d + j] = s / l[j * d + j];
            }
        }
    }
    // Solve L Lᵀ X = I column by column.
    let mut inv = vec![0f64; d * d];
    let mut y = vec![0f64; d];
    for c in 0..d {
        for i in 0..d {
            let b = if i == c { 1.0 } else { 0.0 };
            y[i] = (b - (0..i).map(|k| l[i * d + k] * y[k]).sum::<f64>()) / l[i * d + i];
        }
        for i in (0..d).rev() {
            let s = y[i]
                - (i + 1..d)
                    .map(|k| l[k * d + i] * inv[k * d + c])
                    .sum::<f64>();
            inv[i * d + c] = s / l[i * d + i];
        }
    }
    Some(inv)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_dimensional_closed_form() {
        let a = GaussianModel::new(vec![1.0], vec![4.0], 0.0).unwrap();
        let b = GaussianModel::new(vec![-0.5], vec![0.25], 0.0).unwrap();
        let (s1, s2, dm) = (4.0f64, 0.25f64, 1.5f64);
        let want = 0.5 * (s1 / s2 + s2 / s1 + dm * dm * (1.0 / s1 + 1.0 / s2)) - 1.0;
        let got = a.symmetric_kl(&b).unwrap();
        assert!((got - want).abs() < 1e-6, "{got} vs {want}");
        assert!((b.symmetric_kl(&a).unwrap() - got).abs() < 1e-9);
    }

    #[test]
    fn inverse_is_an_inverse_and_kl_properties_hold() {
        let s: Vec<f32> = (0..40 * 3)
            .map(|i| ((i * 37 % 17) as f32 - 8.0) / 5.0 + (i % 3) as f32)
            .collect();
        let a = GaussianModel::from_samples(&s, 40, 3, 0.0).unwrap();
        for i in 0..3 {
            for j in 0..3 {
                let p: f64 = (0..3).map(|k| a.cov[i * 3 + k] * a.inv[k * 3 + j]).sum();
                assert!((p - f64::from(u8::from(i == j))).abs() < 1e-9);
            }
        }
        assert!(a.symmetric_kl(&a).unwrap().abs() < 1e-9);
        let shifted: Vec<f32> = s.iter().map(|x| x + 0.3).collect();
        let b = GaussianModel::from_samples(&shifted, 40, 3, 0.0).unwrap();
        assert!(a.symmetric_kl(&b).unwrap() > 0.0);
        // Fewer samples than dimensions: the ridge keeps it invertible.
        assert!(GaussianModel::from_samples(&s[..6], 2, 3, 1e-2).is_ok());
        assert!(GaussianModel::from_samples(&[], 0, 3, 1e-2).is_err());
    }
}
