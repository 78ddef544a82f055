//! Hubness reduction: mutual proximity and CSLS reranking (optional, off by default).
//!
//! In high dimensions a few vectors ("hubs") are near neighbours of very many others and
//! turn up in every recommendation list. Both methods here rescale a similarity by how
//! similar each side is to everything else:
//!
//! - **Mutual proximity** (Schnitzer et al., JMLR 2012) asks how unusual the similarity is
//!   for *both* sides: `MP(x, y) = P(S_x < s_xy) * P(S_y < s_xy)`, with each row's
//!   similarity distribution `S_x` modelled as a Gaussian (`MutualProximityGaussian`) or
//!   taken empirically from a reference sample (`MutualProximityEmpirical`).
//! - **CSLS** (Conneau et al., ICLR 2018): `2 s_xy - r_x - r_y`, where `r_x` is the mean
//!   similarity of `x` to its `k` nearest neighbours.
//!
//! Statistics are estimated against a fixed, evenly spaced sample of `sample_size` rows.
//!
//! **Cost.** [`HubnessModel::fit`] computes `len * sample_size` dot products once (1M rows
//! of 64 against a 1024 sample: about 6.6e10 flops, tens of seconds on two cores) and keeps
//! 12 bytes per row. A query then costs the exact cosine scan for `candidates` rows, plus
//! `sample_size` dot products, plus for the empirical method `candidates * sample_size`.
//! Reranking acts on the cosine top `candidates` only: it reorders likely neighbours, it
//! does not bring back rows from beyond them.

use rayon::prelude::*;

use crate::error::{Error, Result};
use crate::index::VectorIndex;
use crate::kernel::dot;
use crate::query::Query;
use crate::topk::Candidate;

/// `HubnessMethod` is the similarity rescaling applied by a [`HubnessModel`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum HubnessMethod {
    /// Mutual proximity with a Gaussian model of each row's similarities (mean and standard
    /// deviation against the sample). Cheapest at query time.
    #[default]
    MutualProximityGaussian,
    /// Mutual proximity counted on the sample: the share of sample rows less similar to
    /// both sides than they are to each other. `candidates * sample_size` extra dot
    /// products per query.
    MutualProximityEmpirical,
    /// Cross-domain similarity local scaling: `2 s - r_query - r_row`, with `r` the mean
    /// similarity to the `csls_k` nearest sample rows.
    Csls,
}

/// `HubnessConfig` is the configuration of a [`HubnessModel`].
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct HubnessConfig {
    /// The method. Default: [`HubnessMethod::MutualProximityGaussian`].
    pub method: HubnessMethod,
    /// Reference rows the statistics are estimated on (all rows if the index is smaller).
    /// Raising it makes fitting and querying proportionally slower and the estimates
    /// better. Default: `1024`.
    pub sample_size: usize,
    /// Neighbours averaged for CSLS's `r`. Default: `10`.
    pub csls_k: usize,
    /// Cosine top rows that are reranked (at least the ranking's `k` are). Default: `100`.
    pub candidates: usize,
}

impl Default for HubnessConfig {
    fn default() -> Self {
        Self {
            method: HubnessMethod::default(),
            sample_size: 1024,
            csls_k: 10,
            candidates: 100,
        }
    }
}

impl HubnessConfig {
    /// Sets the method.
    #[must_use]
    pub fn with_method(mut self, method: HubnessMethod) -> Self {
        self.method = method;
        self
    }

    /// Sets the sample size.
    #[must_use]
    pub fn with_sample_size(mut self, n: usize) -> Self {
        self.sample_size = n;
        self
    }

    /// Sets CSLS's neighbour count.
    #[must_use]
    pub fn with_csls_k(mut self, k: usize) -> Self {
        self.csls_k = k;
        self
    }

    /// Sets the number of reranked candidates.
    #[must_use]
    pub fn with_candidates(mut self, n: usize) -> Self {
        self.candidates = n;
        self
    }
}

/// Per-row similarity statistics against a sample.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
struct Stats {
    mean: f32,
    std: f32,
    /// Mean of the `csls_k` largest similarities.
    r: f32,
}

/// `HubnessModel` holds the per-row statistics that hubness reduction needs, fitted once
/// on one [`VectorIndex`]; pass it to [`CosineRanker::with_hubness`](crate::CosineRanker::with_hubness).
///
/// # Examples
///
/// ```
/// use sonority_similarity::{CosineRanker, HubnessConfig, HubnessModel, Query, RankOptions, Ranker, VectorIndex};
///
/// let data: Vec<f32> = (0..40).map(|i| ((i * 7 % 11) as f32).sin()).collect();
/// let index = VectorIndex::from_rows((0..10).collect(), data, 4)?;
/// let model = HubnessModel::fit(&index, &HubnessConfig::default())?;
/// let ranker = CosineRanker::new().with_hubness(model);
/// let hits = ranker.rank(&Query::new(&[1.0, 0.0, 0.0, 0.0])?, &index, &RankOptions::default().with_k(3))?;
/// assert_eq!(hits.len(), 3);
/// # Ok::<(), sonority_similarity::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct HubnessModel {
    config: HubnessConfig,
    n_rows: usize,
    sample: Vec<usize>,
    stats: Vec<Stats>,
}

impl HubnessModel {
    /// Fits the statistics of every row of `index` against an evenly spaced sample.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidConfig`] if `sample_size < 2`, `csls_k` is 0 or `candidates` is 0.
    pub fn fit<K: Sync>(index: &VectorIndex<K>, config: &HubnessConfig) -> Result<Self> {
        let invalid = |field, reason: &str| {
            Err(Error::InvalidConfig {
                field,
                reason: reason.into(),
            })
        };
        if config.sample_size < 2 {
            return invalid("sample_size", "must be at least 2");
        }
        if config.csls_k == 0 {
            return invalid("csls_k", "must be at least 1");
        }
        if config.candidates == 0 {
            return invalid("candidates", "must be at least 1");
        }
        let n = index.len();
        let s = config.sample_size.min(n);
        let sample: Vec<usize> = (0..s).map(|i| i * n / s).collect();
        let stats = (0..n)
            .into_par_iter()
            .map_init(Vec::new, |sims, row| {
                sims.clear();
                let v = index.row(row);
                sims.extend(
                    sample
                        .iter()
                        .filter(|&&j| j != row)
                        .map(|&j| dot(v, index.row(j))),
                );
                stats_of(sims, config.csls_k)
            })
            .collect();
        Ok(Self {
            config: config.clone(),
            n_rows: n,
            sample,
            stats,
        })
    }

    /// Returns the configuration.
    #[must_use]
    pub fn config(&self) -> &HubnessConfig {
        &self.config
    }

    pub(crate) fn candidates(&self) -> usize {
        self.config.candidates
    }

    pub(crate) fn check_index<K>(&self, index: &VectorIndex<K>) -> Result<()> {
        if index.len() == self.n_rows {
            Ok(())
        } else {
            Err(Error::IndexMismatch {
                expected: self.n_rows,
                actual: index.len(),
            })
        }
    }

    /// Rescores cosine candidates; returns them in the new order with their new scores.
    pub(crate) fn rerank<K>(
        &self,
        query: &Query,
        index: &VectorIndex<K>,
        pool: Vec<Candidate>,
        is_anchor: &dyn Fn(usize) -> bool,
    ) -> Vec<(Candidate, f32)> {
        let qsims: Vec<(usize, f32)> = self
            .sample
            .iter()
            .filter(|&&j| !is_anchor(j))
            .map(|&j| (j, query.score(index.row(j))))
            .collect();
        let mut buf: Vec<f32> = qsims.iter().map(|&(_, s)| s).collect();
        let q = stats_of(&mut buf, self.config.csls_k);
        let mut keyed: Vec<(f64, Candidate)> = pool
            .into_iter()
            .map(|c| {
                let y = self.stats[c.row];
                let s = f64::from(c.score);
                let key = match self.config.method {
                    HubnessMethod::MutualProximityGaussian => {
                        let qx = upper_tail(s, q.mean, q.std);
                        let qy = upper_tail(s, y.mean, y.std);
                        1.0 - (qx + qy - qx * qy)
                    }
                    HubnessMethod::MutualProximityEmpirical => {
                        let v = index.row(c.row);
                        let (mut below, mut total) = (0_u32, 0_u32);
                        for &(j, sq) in qsims.iter().filter(|&&(j, _)| j != c.row) {
                            total += 1;
                            if sq < c.score && dot(v, index.row(j)) < c.score {
                                below += 1;
                            }
                        }
                        if total == 0 {
                            0.0
                        } else {
                            f64::from(below) / f64::from(total)
                        }
                    }
                    HubnessMethod::Csls => 2.0 * s - f64::from(q.r) - f64::from(y.r),
                };
                (key, c)
            })
            .collect();
        keyed.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp_best_first(&b.1)));
        keyed
            .into_iter()
            .map(|(key, c)| {
                // Scores are reported in f32; the order above was decided in f64.
                #[allow(clippy::cast_possible_truncation)]
                let score = key as f32;
                (c, score)
            })
            .collect()
    }
}

/// Mean, standard deviation and top-`k` mean of `sims` (reordered in place).
fn stats_of(sims: &mut [f32], k: usize) -> Stats {
    if sims.is_empty() {
        return Stats::default();
    }
    #[allow(clippy::cast_precision_loss)]
    let n = sims.len() as f64;
    let mean = sims.iter().map(|&x| f64::from(x)).sum::<f64>() / n;
    let var = sims
        .iter()
        .map(|&x| (f64::from(x) - mean).powi(2))
        .sum::<f64>()
        / n;
    let k = k.min(sims.len());
    sims.select_nth_unstable_by(k - 1, |a, b| b.total_cmp(a));
    #[allow(clippy::cast_precision_loss)]
    let r = sims[..k].iter().map(|&x| f64::from(x)).sum::<f64>() / k as f64;
    #[allow(clippy::cast_possible_truncation)]
    Stats {
        mean: mean as f32,
        std: var.sqrt() as f32,
        r: r as f32,
    }
}

/// `P(S > s)` for `S ~ N(mean, std^2)`; a degenerate `std` is floored at `1e-6`.
fn upper_tail(s: f64, mean: f32, std: f32) -> f64 {
    let z = (s - f64::from(mean)) / f64::from(std).max(1e-6);
    0.5 * erfc(z / std::f64::consts::SQRT_2)
}

/// The complementary error function, with fractional error below 1.2e-7 everywhere
/// (Numerical Recipes' `erfcc`, a Chebyshev fit), so tails keep their relative accuracy.
fn erfc(x: f64) -> f64 {
    let z = x.abs();
    let t = 1.0 / (1.0 + 0.5 * z);
    let poly = -z * z - 1.265_512_23
        + t * (1.000_023_68
            + t * (0.374_091_96
                + t * (0.096_784_18
                    + t * (-0.186_288_06
                        + t * (0.278_868_07
                            + t * (-1.135_203_98
                                + t * (1.488_515_87 + t * (-0.822_152_23 + t * 0.170_872_77))))))));
    let r = t * poly.exp();
    if x >= 0.0 { r } else { 2.0 - r }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn erfc_matches_reference_values() {
        // Reference values from scipy.special.erfc.
        let cases = [
            (0.0, 1.0),
            (0.5, 0.479_500_122_186_953_5),
            (1.0, 0.157_299_207_050_285_13),
            (-1.0, 1.842_700_792_949_715),
            (3.0, 2.209_049_699_858_544e-5),
            (6.0, 2.151_973_671_249_891_3e-17),
        ];
        for (x, want) in cases {
            let got = erfc(x);
            assert!(
                ((got - want) / want).abs() < 2e-7,
                "erfc({x}) = {got}, want {want}"
            );
        }
    }

    #[test]
    fn stats_of_small_set() {
        let mut v = vec![0.1_f32, 0.5, 0.3, 0.9];
        let s = stats_of(&mut v, 2);
        assert!((s.mean - 0.45).abs() < 1e-6);
        assert!((s.r - 0.7).abs() < 1e-6);
        // Deviations from 0.45: 0.35, 0.05, 0.15, 0.45.
        let want_std2 =
            ((0.35_f64.powi(2) + 0.05_f64.powi(2) + 0.15_f64.powi(2) + 0.45_f64.powi(2)) / 4.0)
                .sqrt();
        assert!((f64::from(s.std) - want_std2).abs() < 1e-6);
        assert_eq!(stats_of(&mut [], 3), Stats::default());
    }

    #[test]
    fn fit_rejects_bad_config() {
        let index = VectorIndex::from_rows(vec![0, 1], vec![1.0, 0.0, 0.0, 1.0], 2).unwrap();
        for cfg in [
            HubnessConfig::default().with_sample_size(1),
            HubnessConfig::default().with_csls_k(0),
            HubnessConfig::default().with_candidates(0),
        ] {
            assert!(matches!(
                HubnessModel::fit(&index, &cfg),
                Err(Error::InvalidConfig { .. })
            ));
        }
    }
}
