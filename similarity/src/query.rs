//! Queries: one or more anchors and how their similarities combine.

use std::hash::Hash;

use crate::error::{Error, Result};
use crate::index::VectorIndex;
use crate::kernel::{check_finite, dot, normalise};

/// `AnchorMode` is how a query with several anchors (a playlist seed) scores a row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum AnchorMode {
    /// The cosine between the row and the mean of the normalised anchors (the centroid
    /// direction). One dot product per row; favours rows close to all anchors.
    ///
    /// If the anchors cancel out (their mean is zero), every row scores `0.0`.
    #[default]
    Mean,
    /// The largest cosine between the row and any anchor. One dot product per anchor per
    /// row; favours rows very close to any one anchor.
    Max,
}

/// `Query` is what a ranking is for: one or more anchor vectors, normalised once, and an
/// [`AnchorMode`].
///
/// A zero anchor is allowed: its cosine with every row is `0.0`.
///
/// # Examples
///
/// ```
/// use sonority_similarity::{AnchorMode, Query};
///
/// let q = Query::from_anchors([&[1.0_f32, 0.0][..], &[0.0, 2.0][..]], AnchorMode::Mean)?;
/// let s = std::f32::consts::FRAC_1_SQRT_2;
/// assert!((q.score(&[1.0, 0.0]) - s).abs() < 1e-6);
/// # Ok::<(), sonority_similarity::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Query {
    dim: usize,
    mode: AnchorMode,
    /// The normalised anchors, row-major.
    anchors: Vec<f32>,
    /// The normalised mean of the anchors (used in [`AnchorMode::Mean`]).
    centroid: Vec<f32>,
}

impl Query {
    /// Builds a single-anchor query.
    ///
    /// # Errors
    ///
    /// [`Error::EmptyQuery`] if `anchor` is empty and [`Error::NonFinite`] for NaN or
    /// infinite values.
    pub fn new(anchor: &[f32]) -> Result<Self> {
        Self::from_anchors([anchor], AnchorMode::Mean)
    }

    /// Builds a query from several anchors of one dimension.
    ///
    /// # Errors
    ///
    /// [`Error::EmptyQuery`] if there is no anchor or the dimension is 0,
    /// [`Error::DimensionMismatch`] if the anchors differ in length and [`Error::NonFinite`]
    /// for NaN or infinite values.
    pub fn from_anchors<'a, I>(anchors: I, mode: AnchorMode) -> Result<Self>
    where
        I: IntoIterator<Item = &'a [f32]>,
    {
        let mut dim = None;
        let mut data = Vec::new();
        for (i, a) in anchors.into_iter().enumerate() {
            let d = *dim.get_or_insert(a.len());
            if a.len() != d {
                return Err(Error::DimensionMismatch {
                    what: "anchor",
                    expected: d,
                    actual: a.len(),
                });
            }
            check_finite("anchor", i, a)?;
            let start = data.len();
            data.extend_from_slice(a);
            normalise(&mut data[start..]);
        }
        match dim {
            None | Some(0) => Err(Error::EmptyQuery),
            Some(dim) => Ok(Self::from_unit_anchors(data, dim, mode)),
        }
    }

    /// Builds a query from the (already normalised) vectors of ids in an index.
    ///
    /// # Errors
    ///
    /// [`Error::EmptyQuery`] if `ids` is empty and [`Error::UnknownId`] if an id is not in
    /// the index.
    ///
    /// # Examples
    ///
    /// ```
    /// use sonority_similarity::{AnchorMode, Query, VectorIndex};
    ///
    /// let index = VectorIndex::from_rows(vec!["a", "b"], vec![1.0, 0.0, 0.0, 1.0], 2)?;
    /// let q = Query::from_ids(&index, &["a", "b"], AnchorMode::Max)?;
    /// assert_eq!(q.anchor_count(), 2);
    /// # Ok::<(), sonority_similarity::Error>(())
    /// ```
    pub fn from_ids<K: Clone + Eq + Hash>(
        index: &VectorIndex<K>,
        ids: &[K],
        mode: AnchorMode,
    ) -> Result<Self> {
        if ids.is_empty() {
            return Err(Error::EmptyQuery);
        }
        let mut data = Vec::with_capacity(ids.len() * index.dim());
        for (position, id) in ids.iter().enumerate() {
            let v = index.vector(id).ok_or(Error::UnknownId { position })?;
            data.extend_from_slice(v);
        }
        Ok(Self::from_unit_anchors(data, index.dim(), mode))
    }

    fn from_unit_anchors(anchors: Vec<f32>, dim: usize, mode: AnchorMode) -> Self {
        let mut centroid = vec![0.0_f32; dim];
        for a in anchors.chunks_exact(dim) {
            for (c, x) in centroid.iter_mut().zip(a) {
                *c += x;
            }
        }
        normalise(&mut centroid);
        Self {
            dim,
            mode,
            anchors,
            centroid,
        }
    }

    /// Returns the dimension of the anchors.
    #[must_use]
    pub fn dim(&self) -> usize {
        self.dim
    }

    /// Returns the anchor mode.
    #[must_use]
    pub fn mode(&self) -> AnchorMode {
        self.mode
    }

    /// Returns the number of anchors.
    #[must_use]
    pub fn anchor_count(&self) -> usize {
        self.anchors.len() / self.dim
    }

    /// Returns the normalised anchors.
    pub fn anchors(&self) -> impl ExactSizeIterator<Item = &[f32]> {
        self.anchors.chunks_exact(self.dim)
    }

    /// Returns the normalised mean direction of the anchors (zero if they cancel out).
    #[must_use]
    pub fn centroid(&self) -> &[f32] {
        &self.centroid
    }

    /// The directions a score is the largest cosine with: the centroid, or every anchor.
    pub(crate) fn directions(&self) -> std::slice::ChunksExact<'_, f32> {
        match self.mode {
            AnchorMode::Mean => self.centroid.chunks_exact(self.dim),
            AnchorMode::Max => self.anchors.chunks_exact(self.dim),
        }
    }

    /// Returns the query's score for a normalised row (one taken from a [`VectorIndex`]).
    ///
    /// This is the cosine of the row with the centroid ([`AnchorMode::Mean`]) or the largest
    /// cosine with an anchor ([`AnchorMode::Max`]). Finite, in `[-1, 1]` up to rounding.
    #[must_use]
    #[inline]
    pub fn score(&self, unit_row: &[f32]) -> f32 {
        match self.mode {
            AnchorMode::Mean => dot(&self.centroid, unit_row),
            AnchorMode::Max => self
                .anchors
                .chunks_exact(self.dim)
                .map(|a| dot(a, unit_row))
                .fold(f32::NEG_INFINITY, f32::max),
        }
    }

    /// Returns the vector a row's score is the cosine with: the centroid, or in
    /// [`AnchorMode::Max`] the anchor that gives the row its score (the first on ties).
    #[must_use]
    pub fn direction_for(&self, unit_row: &[f32]) -> &[f32] {
        match self.mode {
            AnchorMode::Mean => &self.centroid,
            AnchorMode::Max => {
                let mut best: Option<(&[f32], f32)> = None;
                for a in self.anchors.chunks_exact(self.dim) {
                    let s = dot(a, unit_row);
                    if best.is_none_or(|(_, b)| s > b) {
                        best = Some((a, s));
                    }
                }
                best.map_or(&self.centroid, |(a, _)| a)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mean_and_max_scores() {
        let q = Query::from_anchors(
            [&[1.0_f32, 0.0, 0.0][..], &[0.0, 3.0, 0.0][..]],
            AnchorMode::Max,
        )
        .unwrap();
        assert_eq!(q.score(&[0.0, 1.0, 0.0]), 1.0);
        assert_eq!(q.score(&[0.0, 0.0, 1.0]), 0.0);
        assert_eq!(q.direction_for(&[0.0, 1.0, 0.0]), &[0.0, 1.0, 0.0]);
        let q = Query::from_anchors(q.anchors(), AnchorMode::Mean).unwrap();
        let h = std::f32::consts::FRAC_1_SQRT_2;
        assert!((q.score(&[0.0, 1.0, 0.0]) - h).abs() < 1e-6);
    }

    #[test]
    fn cancelling_or_zero_anchors_score_zero() {
        let q =
            Query::from_anchors([&[1.0_f32, 0.0][..], &[-1.0, 0.0][..]], AnchorMode::Mean).unwrap();
        assert_eq!(q.score(&[1.0, 0.0]), 0.0);
        let q = Query::new(&[0.0, 0.0]).unwrap();
        assert_eq!(q.score(&[0.6, 0.8]), 0.0);
    }

    #[test]
    fn rejects_bad_anchors() {
        assert_eq!(
            Query::from_anchors(std::iter::empty(), AnchorMode::Mean),
            Err(Error::EmptyQuery)
        );
        assert_eq!(Query::new(&[]), Err(Error::EmptyQuery));
        assert!(matches!(
            Query::from_anchors([&[1.0_f32][..], &[1.0, 2.0][..]], AnchorMode::Max),
            Err(Error::DimensionMismatch { .. })
        ));
        assert!(matches!(
            Query::new(&[f32::NAN]),
            Err(Error::NonFinite { .. })
        ));
        let index = VectorIndex::from_rows(vec![1], vec![1.0], 1).unwrap();
        assert_eq!(
            Query::from_ids(&index, &[1, 2], AnchorMode::Mean),
            Err(Error::UnknownId { position: 1 })
        );
    }
}
