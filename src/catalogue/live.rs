//! [`LiveIndex`]: a [`CatalogueIndex`] kept current from the store's change log, the same way
//! for a library file and for a shared PostgreSQL catalogue: loaded once in bulk, then brought
//! up to date with only the vectors written (and deleted) since the position it has applied.

use sonority_store::{Catalogue, MatrixDelta, SqliteStore, Watermark};

use super::index::CatalogueIndex;
use crate::Result;

/// `ChangeLog` is a catalogue whose vectors can be read from a position of its change log on:
/// what [`LiveIndex`] loads and refreshes from. The SQLite library file and the PostgreSQL
/// catalogue implement it.
pub(crate) trait ChangeLog: Catalogue {
    /// `model`'s vectors written after `since`, the tracks whose vector was deleted since,
    /// and the position to ask from next time (`Watermark::default()`: everything).
    ///
    /// # Errors
    /// Store errors.
    fn vectors_since(&self, model: &str, since: Watermark) -> sonority_store::Result<MatrixDelta>;
}

impl ChangeLog for SqliteStore {
    fn vectors_since(&self, model: &str, since: Watermark) -> sonority_store::Result<MatrixDelta> {
        self.load_matrix_since(model, since)
    }
}

#[cfg(feature = "postgres")]
impl ChangeLog for sonority_store::PgStore {
    fn vectors_since(&self, model: &str, since: Watermark) -> sonority_store::Result<MatrixDelta> {
        self.load_matrix_since(model, since)
    }
}

/// Which track records a refresh reads again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TrackRefresh {
    /// Every record, at every refresh, even when no vector changed: a moved or retagged file
    /// keeps its vector, so only its record tells (a library file, refreshed when its
    /// `data_version` says another connection wrote, or after the library's own writes). A
    /// fraction of what reading the vectors again would cost.
    All,
    /// Only the records of the tracks whose vector was written, and only when a vector
    /// changed (a shared catalogue: its workers write a track's record with its vector).
    #[cfg_attr(not(feature = "postgres"), allow(dead_code))]
    WithVectors,
}

/// `LiveIndex` is a [`CatalogueIndex`] with the change-log position it has applied and how it
/// refreshes track records.
#[derive(Debug, Clone)]
pub(crate) struct LiveIndex {
    model: String,
    watermark: Watermark,
    tracks: TrackRefresh,
    index: CatalogueIndex,
}

impl LiveIndex {
    /// Loads `model`'s vectors and every track from `store`.
    ///
    /// # Errors
    /// Store errors; [`Error::Query`](crate::Error::Query) when the model has no vector yet;
    /// index errors.
    pub(crate) fn load<S: ChangeLog + ?Sized>(
        store: &S,
        model: &str,
        tracks: TrackRefresh,
    ) -> Result<Self> {
        let delta = store.vectors_since(model, Watermark::default())?;
        let index = CatalogueIndex::from_parts(delta.rows, store.tracks()?)?;
        Ok(Self {
            model: model.to_owned(),
            watermark: delta.watermark,
            tracks,
            index,
        })
    }

    /// Applies what was written and deleted in `store` since the last load or refresh;
    /// returns the number of vectors added or replaced and the number removed.
    ///
    /// # Errors
    /// Store and index errors (the index is unchanged then).
    pub(crate) fn refresh<S: ChangeLog + ?Sized>(&mut self, store: &S) -> Result<(usize, usize)> {
        let delta = store.vectors_since(&self.model, self.watermark)?;
        let (changed, removed) = (delta.rows.len(), delta.deleted.len());
        let tracks = match self.tracks {
            TrackRefresh::All => Some(store.tracks()?),
            TrackRefresh::WithVectors if changed + removed > 0 => {
                let mut tracks = Vec::with_capacity(changed);
                for id in &delta.rows.ids {
                    tracks.extend(store.track(*id)?);
                }
                Some(tracks)
            }
            TrackRefresh::WithVectors => None,
        };
        if let Some(tracks) = tracks {
            self.index = self.index.merged(&delta.deleted, delta.rows, tracks)?;
        }
        self.watermark = delta.watermark;
        Ok((changed, removed))
    }

    /// The index.
    pub(crate) fn index(&self) -> &CatalogueIndex {
        &self.index
    }

    /// The name of the model whose vectors the index holds.
    #[cfg_attr(not(feature = "postgres"), allow(dead_code))]
    pub(crate) fn model(&self) -> &str {
        &self.model
    }
}
