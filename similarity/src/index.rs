//! The vector index: a contiguous row-major matrix of unit rows, with ids and group labels.

use std::collections::HashMap;
use std::hash::Hash;

use rayon::prelude::*;

use crate::error::{Error, Result};
use crate::kernel::{check_finite, normalise};
use crate::quantise::QuantisedRows;

/// Rows per parallel task when normalising.
const NORMALISE_CHUNK_ROWS: usize = 8192;

/// A named column of optional per-row group labels (content hash, album, artist, ...).
#[derive(Debug, Clone, PartialEq)]
struct GroupColumn {
    name: String,
    labels: Vec<Option<u64>>,
}

/// `VectorIndex` is an immutable set of vectors with caller ids, stored as one contiguous
/// row-major `f32` matrix whose rows are L2-normalised once, at build time.
///
/// A ranking is then one dot product per row. Zero vectors are kept as zero rows: their
/// cosine with anything is defined as `0.0`, never NaN. Non-finite input is rejected.
///
/// Rows can carry group labels in named columns (see [`VectorIndex::with_group`]), which
/// [`RankOptions::with_exclude_same_group`](crate::RankOptions::with_exclude_same_group) uses
/// to drop an anchor's duplicates, album or artist.
///
/// Memory: `dim * 4` bytes per row for the matrix, plus the id and an id-to-row hash map
/// entry (see [`VectorIndex::memory_bytes`]).
///
/// # Examples
///
/// ```
/// use sonority_similarity::VectorIndex;
///
/// let index = VectorIndex::from_rows(vec!["a", "b"], vec![3.0, 4.0, 0.0, 2.0], 2)?;
/// assert_eq!(index.vector(&"a"), Some(&[0.6_f32, 0.8][..]));
/// # Ok::<(), sonority_similarity::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct VectorIndex<K> {
    ids: Vec<K>,
    data: Vec<f32>,
    dim: usize,
    lookup: HashMap<K, usize>,
    groups: Vec<GroupColumn>,
    quantised: Option<QuantisedRows>,
}

impl<K: Clone + Eq + Hash> VectorIndex<K> {
    /// Builds an index from ids and a row-major matrix of `ids.len()` rows of `dim` values.
    ///
    /// The rows are normalised in place (in parallel for large inputs).
    ///
    /// # Errors
    ///
    /// [`Error::InvalidConfig`] if `dim` is 0, [`Error::LengthMismatch`] if `data.len()` is
    /// not `ids.len() * dim`, [`Error::NonFinite`] for NaN or infinite values and
    /// [`Error::DuplicateId`] if an id repeats.
    pub fn from_rows(ids: Vec<K>, mut data: Vec<f32>, dim: usize) -> Result<Self> {
        if dim == 0 {
            return Err(Error::InvalidConfig {
                field: "dim",
                reason: "must be at least 1".into(),
            });
        }
        let expected = ids.len().checked_mul(dim).ok_or(Error::LengthMismatch {
            what: "index data",
            expected: usize::MAX,
            actual: data.len(),
        })?;
        if data.len() != expected {
            return Err(Error::LengthMismatch {
                what: "index data",
                expected,
                actual: data.len(),
            });
        }
        if let Some(row) = data
            .par_chunks(dim)
            .position_first(|r| r.iter().any(|x| !x.is_finite()))
        {
            check_finite("index row", row, &data[row * dim..(row + 1) * dim])?;
        }
        let mut lookup = HashMap::with_capacity(ids.len());
        for (row, id) in ids.iter().enumerate() {
            if let Some(first_row) = lookup.insert(id.clone(), row) {
                return Err(Error::DuplicateId { first_row, row });
            }
        }
        data.par_chunks_mut(dim * NORMALISE_CHUNK_ROWS)
            .for_each(|block| {
                for row in block.chunks_exact_mut(dim) {
                    normalise(row);
                }
            });
        Ok(Self {
            ids,
            data,
            dim,
            lookup,
            groups: Vec::new(),
            quantised: None,
        })
    }

    /// Adds (or replaces) a named column of group labels, one per row in row order.
    ///
    /// `None` means "no group": such a row is never excluded by this column. Typical columns
    /// are a content hash (exact duplicates), an album and an artist, each hashed to `u64`.
    ///
    /// # Errors
    ///
    /// [`Error::LengthMismatch`] if `labels.len()` is not [`VectorIndex::len`].
    ///
    /// # Examples
    ///
    /// ```
    /// use sonority_similarity::VectorIndex;
    ///
    /// let index = VectorIndex::from_rows(vec![1_u32, 2], vec![1.0, 0.0, 0.0, 1.0], 2)?
    ///     .with_group("album", vec![Some(7), None])?;
    /// assert_eq!(index.group("album"), Some(&[Some(7), None][..]));
    /// # Ok::<(), sonority_similarity::Error>(())
    /// ```
    pub fn with_group(mut self, name: impl Into<String>, labels: Vec<Option<u64>>) -> Result<Self> {
        if labels.len() != self.len() {
            return Err(Error::LengthMismatch {
                what: "group labels",
                expected: self.len(),
                actual: labels.len(),
            });
        }
        let name = name.into();
        self.groups.retain(|g| g.name != name);
        self.groups.push(GroupColumn { name, labels });
        Ok(self)
    }
}

impl<K: Eq + Hash> VectorIndex<K> {
    /// Returns the row of an id.
    #[must_use]
    pub fn row_of(&self, id: &K) -> Option<usize> {
        self.lookup.get(id).copied()
    }

    /// Returns the normalised vector of an id.
    #[must_use]
    pub fn vector(&self, id: &K) -> Option<&[f32]> {
        self.row_of(id).map(|r| self.row(r))
    }
}

impl<K> VectorIndex<K> {
    /// Returns the number of rows.
    #[must_use]
    pub fn len(&self) -> usize {
        self.ids.len()
    }

    /// Returns whether the index has no row.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    /// Returns the dimension of every row.
    #[must_use]
    pub fn dim(&self) -> usize {
        self.dim
    }

    /// Returns the ids in row order.
    #[must_use]
    pub fn ids(&self) -> &[K] {
        &self.ids
    }

    /// Returns the normalised row `row`.
    ///
    /// # Panics
    ///
    /// If `row >= self.len()`.
    #[must_use]
    pub fn row(&self, row: usize) -> &[f32] {
        &self.data[row * self.dim..(row + 1) * self.dim]
    }

    /// Returns the whole normalised matrix, row-major.
    #[must_use]
    pub fn as_slice(&self) -> &[f32] {
        &self.data
    }

    /// Returns the labels of a group column, in row order.
    #[must_use]
    pub fn group(&self, name: &str) -> Option<&[Option<u64>]> {
        self.groups
            .iter()
            .find(|g| g.name == name)
            .map(|g| g.labels.as_slice())
    }

    /// Adds an i8 copy of the rows that rankers scan first, rescoring only the rows that
    /// can still reach the top k from the f32 rows: the results are identical, the scan
    /// reads about a quarter of the bytes, and the index holds `dim + 8` more bytes per row.
    ///
    /// Worth it for large indexes (hundreds of thousands of rows), where the f32 scan is
    /// limited by memory bandwidth. See the crate README for measured speed.
    ///
    /// # Examples
    ///
    /// ```
    /// use sonority_similarity::VectorIndex;
    ///
    /// let index = VectorIndex::from_rows(vec![1_u8, 2], vec![1.0, 0.0, 0.6, 0.8], 2)?.with_i8_prefilter();
    /// assert!(index.has_i8_prefilter());
    /// # Ok::<(), sonority_similarity::Error>(())
    /// ```
    #[must_use]
    pub fn with_i8_prefilter(mut self) -> Self {
        self.quantised = Some(QuantisedRows::new(&self.data, self.dim));
        self
    }

    /// Returns whether the index has the i8 prefilter (see [`VectorIndex::with_i8_prefilter`]).
    #[must_use]
    pub fn has_i8_prefilter(&self) -> bool {
        self.quantised.is_some()
    }

    pub(crate) fn quantised(&self) -> Option<&QuantisedRows> {
        self.quantised.as_ref()
    }

    /// Returns an estimate of the heap memory the index holds, in bytes.
    ///
    /// It counts the matrix (`4 * dim` per row), the ids, the id-to-row hash map (entries
    /// plus one control byte each, at hashbrown's 7/8 load factor), the group columns and
    /// the i8 prefilter.
    #[must_use]
    pub fn memory_bytes(&self) -> usize {
        let entry = size_of::<K>() + size_of::<usize>() + 1;
        let map = self.lookup.capacity() * entry;
        self.data.capacity() * size_of::<f32>()
            + self.ids.capacity() * size_of::<K>()
            + map
            + self
                .groups
                .iter()
                .map(|g| g.labels.capacity() * size_of::<Option<u64>>() + g.name.capacity())
                .sum::<usize>()
            + self
                .quantised
                .as_ref()
                .map_or(0, QuantisedRows::memory_bytes)
    }
}

/// `VectorIndexBuilder` collects rows one at a time, checking each as it comes, then builds
/// a [`VectorIndex`].
///
/// # Examples
///
/// ```
/// use sonority_similarity::VectorIndexBuilder;
///
/// let mut builder = VectorIndexBuilder::new(3)?;
/// builder.push(10_u64, &[1.0, 2.0, 2.0])?;
/// builder.push(11_u64, &[0.0, 0.0, 0.0])?; // a zero vector: allowed, scores 0
/// let index = builder.build()?;
/// assert_eq!(index.len(), 2);
/// # Ok::<(), sonority_similarity::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct VectorIndexBuilder<K> {
    dim: usize,
    ids: Vec<K>,
    data: Vec<f32>,
}

impl<K: Clone + Eq + Hash> VectorIndexBuilder<K> {
    /// Starts an empty builder for rows of `dim` values.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidConfig`] if `dim` is 0.
    pub fn new(dim: usize) -> Result<Self> {
        Self::with_capacity(dim, 0)
    }

    /// Starts an empty builder with room for `rows` rows.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidConfig`] if `dim` is 0.
    pub fn with_capacity(dim: usize, rows: usize) -> Result<Self> {
        if dim == 0 {
            return Err(Error::InvalidConfig {
                field: "dim",
                reason: "must be at least 1".into(),
            });
        }
        Ok(Self {
            dim,
            ids: Vec::with_capacity(rows),
            data: Vec::with_capacity(rows.saturating_mul(dim)),
        })
    }

    /// Appends one row.
    ///
    /// # Errors
    ///
    /// [`Error::DimensionMismatch`] if `v.len()` is not the builder's dimension and
    /// [`Error::NonFinite`] for NaN or infinite values; the builder is unchanged then.
    pub fn push(&mut self, id: K, v: &[f32]) -> Result<()> {
        if v.len() != self.dim {
            return Err(Error::DimensionMismatch {
                what: "index row",
                expected: self.dim,
                actual: v.len(),
            });
        }
        check_finite("index row", self.ids.len(), v)?;
        self.ids.push(id);
        self.data.extend_from_slice(v);
        Ok(())
    }

    /// Returns the number of rows pushed so far.
    #[must_use]
    pub fn len(&self) -> usize {
        self.ids.len()
    }

    /// Returns whether no row was pushed.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    /// Normalises the rows and builds the index.
    ///
    /// # Errors
    ///
    /// [`Error::DuplicateId`] if an id was pushed twice.
    pub fn build(self) -> Result<VectorIndex<K>> {
        VectorIndex::from_rows(self.ids, self.data, self.dim)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_are_unit_or_zero() {
        let index = VectorIndex::from_rows(vec![0, 1, 2], vec![3.0, 4.0, 0.0, 0.0, -1.0, 1e-30], 2)
            .unwrap();
        assert_eq!(index.row(0), &[0.6, 0.8]);
        assert_eq!(index.row(1), &[0.0, 0.0]);
        let r = index.row(2);
        assert!((r[0] * r[0] + r[1] * r[1] - 1.0).abs() < 1e-6);
    }

    #[test]
    fn rejects_bad_input() {
        assert!(matches!(
            VectorIndex::from_rows(vec![0], vec![1.0, f32::NAN], 2),
            Err(Error::NonFinite { row: 0, col: 1, .. })
        ));
        assert!(matches!(
            VectorIndex::from_rows(vec![0, 1], vec![1.0, 2.0, 3.0], 2),
            Err(Error::LengthMismatch { .. })
        ));
        assert!(matches!(
            VectorIndex::from_rows(vec![0, 0], vec![1.0; 4], 2),
            Err(Error::DuplicateId {
                first_row: 0,
                row: 1
            })
        ));
        assert!(matches!(
            VectorIndex::<u8>::from_rows(vec![], vec![], 0),
            Err(Error::InvalidConfig { field: "dim", .. })
        ));
        let mut b = VectorIndexBuilder::new(2).unwrap();
        assert!(b.push(1, &[1.0]).is_err());
        assert!(b.push(1, &[1.0, f32::INFINITY]).is_err());
        assert!(b.is_empty());
    }

    #[test]
    fn groups_have_one_label_per_row() {
        let index = VectorIndex::from_rows(vec![0, 1], vec![1.0; 4], 2).unwrap();
        assert!(index.clone().with_group("album", vec![Some(1)]).is_err());
        let index = index
            .with_group("album", vec![Some(1), Some(2)])
            .unwrap()
            .with_group("album", vec![None, Some(3)])
            .unwrap();
        assert_eq!(index.group("album"), Some(&[None, Some(3)][..]));
        assert_eq!(index.group("artist"), None);
    }
}
