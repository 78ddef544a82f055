//! Album-retrieval evaluation: precision@k and mean average precision, and folds by album.
//!
//! Each track in turn is the query; the other tracks are ranked by cosine similarity (the query
//! itself excluded); precision@k is the share of the k nearest that come from the query's album,
//! averaged over queries; average precision averages the precision at each rank where an
//! album-mate appears. This is the usual proxy for music similarity when no listening data exists.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use crate::rng::{GOLDEN_GAMMA, Rng, XorShift64};
use crate::{Error, Result};

/// One row of a corpus manifest (`path<TAB>album<TAB>...`, paths relative to the manifest).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ManifestEntry {
    /// Absolute path of the audio file.
    pub path: PathBuf,
    /// Album (the relevance label).
    pub album: String,
}

/// Reads a manifest in the dev-corpus format: a header line, then tab-separated rows whose first
/// two columns are a path relative to the manifest's folder and an album name.
///
/// # Errors
/// [`Error::Io`] if the file cannot be read, [`Error::Manifest`] for a malformed row.
pub fn read_manifest(path: &Path) -> Result<Vec<ManifestEntry>> {
    let text = std::fs::read_to_string(path).map_err(|source| Error::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let dir = path.parent().unwrap_or(Path::new("."));
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() || (i == 0 && line.starts_with("path\t")) {
            continue;
        }
        let mut cols = line.split('\t');
        let (Some(p), Some(album)) = (cols.next(), cols.next()) else {
            return Err(Error::Manifest {
                path: path.to_path_buf(),
                line: i + 1,
                reason: "expected at least two tab-separated columns".into(),
            });
        };
        out.push(ManifestEntry {
            path: dir.join(p),
            album: album.to_string(),
        });
    }
    Ok(out)
}

/// Album precision@5, @10 and mean average precision.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
#[non_exhaustive]
pub struct Metrics {
    /// Precision at 5.
    pub p5: f64,
    /// Precision at 10.
    pub p10: f64,
    /// Mean average precision.
    pub map: f64,
    /// Number of queries averaged.
    pub queries: usize,
}

fn cosine_matrix(vectors: &[Vec<f32>]) -> Vec<Vec<f64>> {
    let norm: Vec<Vec<f64>> = vectors
        .iter()
        .map(|v| {
            let n = v
                .iter()
                .map(|&x| f64::from(x) * f64::from(x))
                .sum::<f64>()
                .sqrt();
            v.iter()
                .map(|&x| if n > 0.0 { f64::from(x) / n } else { 0.0 })
                .collect()
        })
        .collect();
    norm.iter()
        .map(|a| {
            norm.iter()
                .map(|b| a.iter().zip(b).map(|(x, y)| x * y).sum())
                .collect()
        })
        .collect()
}

/// Album metrics for the queries in `query_rows`, ranking against every row of `vectors` by
/// cosine similarity (the query excluded). Ties are broken by row order.
///
/// # Examples
/// ```
/// use sonority::eval::album_metrics;
/// let v = vec![vec![1.0, 0.0], vec![0.9, 0.1], vec![0.0, 1.0], vec![0.1, 0.9]];
/// let albums = ["a", "a", "b", "b"];
/// let m = album_metrics(&v, &albums, &[0, 1, 2, 3]);
/// assert_eq!(m.map, 1.0);
/// ```
#[must_use]
pub fn album_metrics<S: AsRef<str>>(
    vectors: &[Vec<f32>],
    albums: &[S],
    query_rows: &[usize],
) -> Metrics {
    let sims = cosine_matrix(vectors);
    metrics_from_similarity(&sims, albums, query_rows)
}

/// As [`album_metrics`], from a precomputed similarity matrix (higher is closer).
#[must_use]
pub fn metrics_from_similarity<S: AsRef<str>>(
    sims: &[Vec<f64>],
    albums: &[S],
    query_rows: &[usize],
) -> Metrics {
    let mut m = Metrics::default();
    for &q in query_rows {
        let mut order: Vec<usize> = (0..sims.len()).filter(|&j| j != q).collect();
        order.sort_by(|&a, &b| sims[q][b].total_cmp(&sims[q][a]).then(a.cmp(&b)));
        let rel: Vec<bool> = order
            .iter()
            .map(|&j| albums[j].as_ref() == albums[q].as_ref())
            .collect();
        let n_rel = rel.iter().filter(|&&r| r).count();
        if n_rel == 0 {
            continue;
        }
        let prec_at = |k: usize| rel.iter().take(k).filter(|&&r| r).count() as f64 / k as f64;
        let (mut hits, mut ap) = (0usize, 0.0);
        for (i, &r) in rel.iter().enumerate() {
            if r {
                hits += 1;
                ap += hits as f64 / (i + 1) as f64;
            }
        }
        m.p5 += prec_at(5);
        m.p10 += prec_at(10);
        m.map += ap / n_rel as f64;
        m.queries += 1;
    }
    if m.queries > 0 {
        let n = m.queries as f64;
        m.p5 /= n;
        m.p10 /= n;
        m.map /= n;
    }
    m
}

/// Splits the distinct albums into `k` folds (albums sorted by name, then dealt round-robin
/// after a seeded shuffle), returning for each fold the set of held-out albums.
#[must_use]
pub fn album_folds<S: AsRef<str>>(albums: &[S], k: usize, seed: u64) -> Vec<BTreeSet<String>> {
    let mut names: Vec<String> = albums
        .iter()
        .map(|a| a.as_ref().to_string())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    XorShift64::from_state(seed ^ GOLDEN_GAMMA).shuffle(&mut names);
    let k = k.clamp(1, names.len().max(1));
    let mut folds = vec![BTreeSet::new(); k];
    for (i, n) in names.into_iter().enumerate() {
        folds[i % k].insert(n);
    }
    folds
}

/// Mean and standard deviation of a metric over folds.
#[must_use]
pub fn mean_std(values: &[f64]) -> (f64, f64) {
    if values.is_empty() {
        return (0.0, 0.0);
    }
    let n = values.len() as f64;
    let mean = values.iter().sum::<f64>() / n;
    let var = values.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / n;
    (mean, var.sqrt())
}

/// Percentiles (5th and 95th) of the cosine similarity between tracks of different albums: a
/// spread near 1.0 means every pair looks alike, the published design's failure.
#[must_use]
pub fn unrelated_cosine_spread<S: AsRef<str>>(vectors: &[Vec<f32>], albums: &[S]) -> (f64, f64) {
    let sims = cosine_matrix(vectors);
    let mut vals = Vec::new();
    for i in 0..sims.len() {
        for j in i + 1..sims.len() {
            if albums[i].as_ref() != albums[j].as_ref() {
                vals.push(sims[i][j]);
            }
        }
    }
    if vals.is_empty() {
        return (0.0, 0.0);
    }
    vals.sort_by(f64::total_cmp);
    let at = |p: f64| vals[((vals.len() - 1) as f64 * p).round() as usize];
    (at(0.05), at(0.95))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn perfect_and_worst_rankings() {
        // Two albums of three, perfectly separated.
        let v = vec![
            vec![1.0, 0.0],
            vec![0.95, 0.05],
            vec![0.9, 0.1],
            vec![0.0, 1.0],
            vec![0.05, 0.95],
            vec![0.1, 0.9],
        ];
        let a = ["x", "x", "x", "y", "y", "y"];
        let all: Vec<usize> = (0..6).collect();
        let m = album_metrics(&v, &a, &all);
        assert_eq!(m.map, 1.0);
        // 2 relevant of the 5 others: P@5 = 2/5.
        assert!((m.p5 - 0.4).abs() < 1e-12);
        // Swap the labels so that neighbours are from the other album.
        let b = ["x", "y", "x", "y", "x", "y"];
        let worse = album_metrics(&v, &b, &all);
        assert!(worse.map < m.map);
    }

    #[test]
    fn average_precision_by_hand() {
        // Query 0: ranking by similarity is rows 1 (rel), 2 (not), 3 (rel).
        let sims = vec![
            vec![1.0, 0.9, 0.8, 0.7],
            vec![0.9, 1.0, 0.0, 0.0],
            vec![0.8, 0.0, 1.0, 0.0],
            vec![0.7, 0.0, 0.0, 1.0],
        ];
        let a = ["x", "x", "y", "x"];
        let m = metrics_from_similarity(&sims, &a, &[0]);
        assert!((m.map - (1.0 + 2.0 / 3.0) / 2.0).abs() < 1e-12);
    }

    #[test]
    fn folds_partition_albums() {
        let a = ["a", "b", "c", "d", "e", "f", "g", "h", "i", "a"];
        let f = album_folds(&a, 3, 7);
        assert_eq!(f.len(), 3);
        let all: BTreeSet<String> = f.iter().flatten().cloned().collect();
        assert_eq!(all.len(), 9);
        assert_eq!(f.iter().map(BTreeSet::len).sum::<usize>(), 9);
        assert_eq!(album_folds(&a, 3, 7), f, "deterministic for a seed");
    }
}

/// Cosine similarity matrix of `vectors` (zero vectors score 0).
#[must_use]
pub fn cosine_similarities(vectors: &[Vec<f32>]) -> Vec<Vec<f64>> {
    cosine_matrix(vectors)
}

/// Mutual proximity (Schnitzer et al., 2012), Gaussian form: each track's distances
/// (`1 − cosine`) to the others are modelled as a normal distribution, and the similarity of
/// `i` and `j` becomes the probability that both see the other closer than their typical
/// neighbour: `P(X_i > d_ij) · P(X_j > d_ij)`. It reduces hubness (a few tracks that are
/// everybody's neighbour), which grows with collection size.
#[must_use]
pub fn mutual_proximity(sims: &[Vec<f64>]) -> Vec<Vec<f64>> {
    let n = sims.len();
    let stats: Vec<(f64, f64)> = (0..n)
        .map(|i| {
            let d: Vec<f64> = (0..n)
                .filter(|&j| j != i)
                .map(|j| 1.0 - sims[i][j])
                .collect();
            let m = d.iter().sum::<f64>() / d.len().max(1) as f64;
            let v = d.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / d.len().max(1) as f64;
            (m, v.sqrt().max(1e-9))
        })
        .collect();
    let sf = |x: f64, (m, s): (f64, f64)| 0.5 * erfc((x - m) / (s * std::f64::consts::SQRT_2));
    (0..n)
        .map(|i| {
            (0..n)
                .map(|j| {
                    if i == j {
                        1.0
                    } else {
                        let d = 1.0 - sims[i][j];
                        sf(d, stats[i]) * sf(d, stats[j])
                    }
                })
                .collect()
        })
        .collect()
}

/// The complementary error function (Numerical Recipes' Chebyshev fit, relative error < 1.2e-7).
fn erfc(x: f64) -> f64 {
    let z = x.abs();
    let t = 1.0 / (1.0 + 0.5 * z);
    let r = t
        * (-z * z - 1.265_512_23
            + t * (1.000_023_68
                + t * (0.374_091_96
                    + t * (0.096_784_18
                        + t * (-0.186_288_06
                            + t * (0.278_868_07
                                + t * (-1.135_203_98
                                    + t * (1.488_515_87
                                        + t * (-0.822_152_23 + t * 0.170_872_77)))))))))
            .exp();
    if x >= 0.0 { r } else { 2.0 - r }
}

#[cfg(test)]
mod mp_tests {
    use super::*;

    #[test]
    fn erfc_reference_values() {
        // scipy.special.erfc
        for (x, want) in [
            (0.0, 1.0),
            (0.5, 0.479_500_122_186_953_5),
            (-1.0, 1.842_700_792_949_715),
            (2.0, 0.004_677_734_981_047_266),
        ] {
            assert!((erfc(x) - want).abs() < 2e-7 * want.max(1e-3), "erfc({x})");
        }
    }

    #[test]
    fn mutual_proximity_is_symmetric_and_demotes_a_hub() {
        // Row 0 is a hub: close to everybody.
        let v = vec![
            vec![1.0, 1.0, 1.0],
            vec![1.0, 0.1, 0.0],
            vec![0.1, 1.0, 0.0],
            vec![0.0, 0.1, 1.0],
            vec![0.9, 0.2, 0.0],
        ];
        let s = cosine_similarities(&v);
        let mp = mutual_proximity(&s);
        for (i, row) in mp.iter().enumerate() {
            for (j, &v) in row.iter().enumerate() {
                assert!((v - mp[j][i]).abs() < 1e-12);
            }
        }
        // The hub (row 0) is close to everybody, so mutual proximity discounts it: row 1's
        // nearest neighbour under cosine is row 4, and stays ahead of the hub.
        assert!(s[1][4] > s[1][0]);
        assert!(mp[1][4] > mp[1][0]);
    }
}
