//! Explanations: how much each block of a vector layout contributes to a cosine score.
//!
//! The cosine of two vectors is the dot product of their normalised forms, a sum over
//! dimensions; grouping the terms by block (for example the fused vector's `latent`, `key`,
//! `tempo` and `rolloff` ranges) splits the score exactly. A block's contribution is
//! positive when the two tracks agree on it and negative when they differ.

use std::hash::Hash;
use std::ops::Range;

use crate::error::{Error, Result};
use crate::index::VectorIndex;
use crate::kernel::check_finite;
use crate::query::Query;

/// The name of the block gathering the dimensions that no layout block covers.
pub const UNASSIGNED_BLOCK: &str = "unassigned";

/// `BlockContribution` is one block's share of a cosine score.
#[derive(Debug, Clone, PartialEq)]
pub struct BlockContribution {
    /// The block's name, from the layout (or [`UNASSIGNED_BLOCK`]).
    pub name: String,
    /// Its share of the cosine: the dot product of the normalised vectors over its range.
    pub contribution: f32,
}

/// Splits the cosine of `query` and `row` into per-block contributions.
///
/// `layout` lists named, non-overlapping ranges of dimensions. The result has one entry per
/// block in layout order, plus an [`UNASSIGNED_BLOCK`] entry if some dimensions are not
/// covered, so the contributions always sum to the cosine (to within 1e-6, summed in `f64`).
/// Both vectors are normalised here; a zero vector gives all contributions 0.
///
/// # Errors
///
/// [`Error::DimensionMismatch`] if the vectors differ in length, [`Error::NonFinite`] for
/// NaN or infinite values, [`Error::InvalidLayout`] for a block that is empty-named,
/// reversed, beyond the vector or overlapping another.
///
/// # Examples
///
/// ```
/// use sonority_similarity::explain;
///
/// let layout = [("timbre".to_string(), 0..2), ("tempo".to_string(), 2..3)];
/// let parts = explain(&[1.0, 0.0, 1.0], &[1.0, 0.0, -1.0], &layout)?;
/// assert_eq!(parts[0].contribution, 0.5);
/// assert_eq!(parts[1].contribution, -0.5); // they disagree on tempo: cosine 0
/// # Ok::<(), sonority_similarity::Error>(())
/// ```
pub fn explain<S: AsRef<str>>(
    query: &[f32],
    row: &[f32],
    layout: &[(S, Range<usize>)],
) -> Result<Vec<BlockContribution>> {
    if query.len() != row.len() {
        return Err(Error::DimensionMismatch {
            what: "explain row",
            expected: query.len(),
            actual: row.len(),
        });
    }
    check_finite("explain query", 0, query)?;
    check_finite("explain row", 0, row)?;
    let dim = query.len();
    let mut covered = vec![false; dim];
    for (name, range) in layout {
        let name = name.as_ref();
        let bad = |reason: &str| {
            Err(Error::InvalidLayout {
                block: name.to_string(),
                reason: reason.to_string(),
            })
        };
        if range.start > range.end {
            return bad("range is reversed");
        }
        if range.end > dim {
            return bad(&format!(
                "range ends at {} beyond dimension {dim}",
                range.end
            ));
        }
        if covered[range.clone()].iter().any(|&c| c) {
            return bad("range overlaps another block");
        }
        covered[range.clone()].iter_mut().for_each(|c| *c = true);
    }
    let norm = |v: &[f32]| {
        let n = v.iter().map(|&x| f64::from(x).powi(2)).sum::<f64>().sqrt();
        if n > 0.0 { 1.0 / n } else { 0.0 }
    };
    let scale = norm(query) * norm(row);
    let term = |i: usize| f64::from(query[i]) * f64::from(row[i]) * scale;
    // Contributions lie within [-1, 1]: the casts cannot overflow.
    #[allow(clippy::cast_possible_truncation)]
    let mut out: Vec<BlockContribution> = layout
        .iter()
        .map(|(name, range)| BlockContribution {
            name: name.as_ref().to_string(),
            contribution: range.clone().map(term).sum::<f64>() as f32,
        })
        .collect();
    if covered.iter().any(|&c| !c) {
        #[allow(clippy::cast_possible_truncation)]
        let contribution = (0..dim).filter(|&i| !covered[i]).map(term).sum::<f64>() as f32;
        out.push(BlockContribution {
            name: UNASSIGNED_BLOCK.to_string(),
            contribution,
        });
    }
    Ok(out)
}

/// Explains a ranked hit: splits the score of the row of `id` for `query` by block.
///
/// The query side is the vector the score is the cosine with (see
/// [`Query::direction_for`]), so the contributions sum to the hit's `score`.
///
/// # Errors
///
/// [`Error::UnknownId`] if `id` is not in the index, and the errors of [`explain`].
pub fn explain_hit<K: Eq + Hash, S: AsRef<str>>(
    query: &Query,
    index: &VectorIndex<K>,
    id: &K,
    layout: &[(S, Range<usize>)],
) -> Result<Vec<BlockContribution>> {
    let row = index.vector(id).ok_or(Error::UnknownId { position: 0 })?;
    explain(query.direction_for(row), row, layout)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn contributions_sum_to_cosine_with_unassigned_rest() {
        let q = [1.0_f32, 2.0, -1.0, 0.5, 3.0];
        let r = [0.5_f32, -1.0, 2.0, 0.5, 1.0];
        let layout = [("a", 0..2), ("b", 3..4)];
        let parts = explain(&q, &r, &layout).unwrap();
        assert_eq!(parts.len(), 3);
        assert_eq!(parts[2].name, UNASSIGNED_BLOCK);
        let total: f32 = parts.iter().map(|p| p.contribution).sum();
        let nq = q.iter().map(|x| x * x).sum::<f32>().sqrt();
        let nr = r.iter().map(|x| x * x).sum::<f32>().sqrt();
        let cos = q.iter().zip(&r).map(|(a, b)| a * b).sum::<f32>() / (nq * nr);
        assert!((total - cos).abs() < 1e-6);
        // Block a: (0.5 - 2) / (nq nr).
        assert!((parts[0].contribution - (-1.5 / (nq * nr))).abs() < 1e-6);
    }

    #[test]
    fn rejects_bad_layouts() {
        let v = [1.0_f32; 4];
        for layout in [
            vec![("a", 0..3), ("b", 2..4)],
            vec![("a", 0..5)],
            vec![("a", Range { start: 3, end: 1 })],
        ] {
            assert!(matches!(
                explain(&v, &v, &layout),
                Err(Error::InvalidLayout { .. })
            ));
        }
        assert!(explain::<&str>(&v, &v[..3], &[]).is_err());
        assert!(explain::<&str>(&[f32::NAN; 4], &v, &[]).is_err());
    }

    #[test]
    fn zero_vector_explains_to_zero() {
        let parts = explain(&[0.0_f32; 3], &[1.0, 2.0, 3.0], &[("all", 0..3)]).unwrap();
        assert_eq!(parts[0].contribution, 0.0);
    }
}
