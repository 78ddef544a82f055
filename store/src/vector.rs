//! The [`VectorStore`] trait: the seam between ranking and storage.

use crate::types::TrackId;

/// `VectorMatrix` is all vectors of one model as a contiguous row-major matrix, ready for ranking.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct VectorMatrix {
    /// Row `i` belongs to `ids[i]`.
    pub ids: Vec<TrackId>,
    /// `ids.len() * dim` values, row-major.
    pub data: Vec<f32>,
    /// Vector dimension (0 when the model is unknown).
    pub dim: usize,
}

impl VectorMatrix {
    /// Creates an empty matrix of dimension `dim` with room for `rows` rows.
    #[must_use]
    pub fn with_capacity(dim: usize, rows: usize) -> Self {
        Self {
            ids: Vec::with_capacity(rows),
            data: Vec::with_capacity(rows.saturating_mul(dim)),
            dim,
        }
    }

    /// Number of rows.
    #[must_use]
    pub fn len(&self) -> usize {
        self.ids.len()
    }

    /// Whether the matrix has no rows.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    /// The vector of row `i`, if it exists.
    #[must_use]
    pub fn row(&self, i: usize) -> Option<&[f32]> {
        let start = i.checked_mul(self.dim)?;
        self.data.get(start..start.checked_add(self.dim)?)
    }

    /// Appends a row; returns `false` (and appends nothing) if its length is not `dim`.
    pub fn push(&mut self, id: TrackId, v: &[f32]) -> bool {
        if v.len() != self.dim {
            return false;
        }
        self.ids.push(id);
        self.data.extend_from_slice(v);
        true
    }

    /// Splits into `(ids, row-major data, dim)`.
    #[must_use]
    pub fn into_parts(self) -> (Vec<TrackId>, Vec<f32>, usize) {
        (self.ids, self.data, self.dim)
    }
}

/// `VectorStore` keeps one vector per (track, model) and hands them to a ranker.
///
/// This is the seam for storage backends: [`SqliteStore`](crate::SqliteStore) is the
/// embedded default and [`MemoryStore`](crate::MemoryStore) a test double; a server
/// database or a vector engine implements the same six required methods (see the crate
/// docs). Vectors are plain `&[f32]` so that ranking needs no storage types.
///
/// Every implementation must:
/// - return exactly the bits that were put (no rounding, `-0.0` and subnormals kept),
/// - refuse empty vectors, NaN and infinities, and a length other than the model's
///   dimension, changing nothing,
/// - fix a model's dimension the first time a vector of it is stored (or when the model is
///   registered by other means),
/// - make each `put` and `delete` atomic: a reader sees the old vector or the new one.
///
/// # Examples
/// ```
/// use sonority_store::{MemoryStore, TrackId, VectorStore};
/// let mut store = MemoryStore::new();
/// store.put("m", TrackId(1), &[1.0, 0.0])?;
/// assert_eq!(store.get("m", TrackId(1))?, Some(vec![1.0, 0.0]));
/// assert_eq!(store.load_matrix("m")?.data, [1.0, 0.0]);
/// # Ok::<(), sonority_store::Error>(())
/// ```
pub trait VectorStore: Send {
    /// The backend's error type.
    type Error: std::error::Error + Send + Sync + 'static;

    /// Stores (or replaces) the vector of track `id` under `model`.
    ///
    /// # Errors
    /// A typed error if the vector is empty, non-finite or of the wrong dimension, if
    /// the backend knows its tracks and `id` is not one of them, or on a storage failure.
    fn put(&mut self, model: &str, id: TrackId, vector: &[f32]) -> Result<(), Self::Error>;

    /// Returns the vector of track `id` under `model`, or `None`.
    ///
    /// # Errors
    /// On a storage failure.
    fn get(&self, model: &str, id: TrackId) -> Result<Option<Vec<f32>>, Self::Error>;

    /// Removes the vector of track `id` under `model`; returns whether one existed.
    ///
    /// # Errors
    /// On a storage failure.
    fn delete(&mut self, model: &str, id: TrackId) -> Result<bool, Self::Error>;

    /// Number of vectors stored under `model`.
    ///
    /// # Errors
    /// On a storage failure.
    fn count(&self, model: &str) -> Result<usize, Self::Error>;

    /// The dimension of `model`'s vectors, or `None` if the model is unknown.
    ///
    /// # Errors
    /// On a storage failure.
    fn dim(&self, model: &str) -> Result<Option<usize>, Self::Error>;

    /// Pushes every vector of `model` to `f`, in ascending [`TrackId`] order; `f`
    /// returns `false` to stop early.
    ///
    /// The slice is only valid during the call (a backend may reuse its buffer).
    ///
    /// # Errors
    /// On a storage failure.
    fn for_each(
        &self,
        model: &str,
        f: &mut dyn FnMut(TrackId, &[f32]) -> bool,
    ) -> Result<(), Self::Error>;

    /// Loads every vector of `model` into one contiguous matrix, in ascending
    /// [`TrackId`] order. An unknown model gives an empty matrix of dimension 0.
    ///
    /// # For implementors
    /// The default calls [`dim`](Self::dim), [`count`](Self::count) and
    /// [`for_each`](Self::for_each); override it when the backend can fill the
    /// matrix faster (bulk copy, decoding BLOBs straight into the buffer).
    ///
    /// # Errors
    /// On a storage failure.
    fn load_matrix(&self, model: &str) -> Result<VectorMatrix, Self::Error> {
        let Some(dim) = self.dim(model)? else {
            return Ok(VectorMatrix::default());
        };
        let mut m = VectorMatrix::with_capacity(dim, self.count(model)?);
        self.for_each(model, &mut |id, v| {
            // Rows of another length cannot exist by the trait's contract.
            m.push(id, v);
            true
        })?;
        Ok(m)
    }
}

impl<S: VectorStore + ?Sized> VectorStore for Box<S> {
    type Error = S::Error;
    fn put(&mut self, model: &str, id: TrackId, vector: &[f32]) -> Result<(), Self::Error> {
        (**self).put(model, id, vector)
    }
    fn get(&self, model: &str, id: TrackId) -> Result<Option<Vec<f32>>, Self::Error> {
        (**self).get(model, id)
    }
    fn delete(&mut self, model: &str, id: TrackId) -> Result<bool, Self::Error> {
        (**self).delete(model, id)
    }
    fn count(&self, model: &str) -> Result<usize, Self::Error> {
        (**self).count(model)
    }
    fn dim(&self, model: &str) -> Result<Option<usize>, Self::Error> {
        (**self).dim(model)
    }
    fn for_each(
        &self,
        model: &str,
        f: &mut dyn FnMut(TrackId, &[f32]) -> bool,
    ) -> Result<(), Self::Error> {
        (**self).for_each(model, f)
    }
    fn load_matrix(&self, model: &str) -> Result<VectorMatrix, Self::Error> {
        (**self).load_matrix(model)
    }
}
