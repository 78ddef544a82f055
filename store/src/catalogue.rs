//! The [`Catalogue`] trait: the track catalogue shared by every full backend.

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::scan::{KnownFile, ScanPlan, plan_from};
use crate::types::{
    AnalysedTrack, Analysis, FileError, FileFacts, ModelInfo, ModelVector, TrackId, TrackInfo,
    TrackRecord,
};
use crate::vector::VectorStore;

/// `Catalogue` is a [`VectorStore`] that also keeps the tracks, their analyses, the
/// models and the files that failed: what an indexer writes and a front end lists.
///
/// [`SqliteStore`](crate::SqliteStore) implements it (its inherent methods of the same
/// names stay, and are what `store.method()` calls when the trait is not needed), and so
/// does `PgStore` with the `postgres` feature. Code that should run against either is
/// written once over `S: Catalogue`; the crate's tests run one suite against both.
///
/// Every write is one transaction, and every check (dimension, NaN/Inf, ragged tiles,
/// paths, sizes) runs before it begins, so an error writes nothing.
///
/// # Examples
/// ```
/// use std::path::Path;
/// use sonority_store::{Analysis, Catalogue, ModelVector, FileFacts, SqliteStore, TrackRecord};
///
/// fn index_one<S: Catalogue>(store: &mut S) -> sonority_store::Result<()> {
///     let t = TrackRecord::new(FileFacts::new("/music/a.flac", 10, 0));
///     let id = store.put_track_analysis(&t, &Analysis::default(), &[ModelVector::new("m", &[1.0])])?;
///     assert_eq!(store.track_by_path(Path::new("/music/a.flac"))?.map(|t| t.id), Some(id));
///     Ok(())
/// }
/// index_one(&mut SqliteStore::open_in_memory()?)?;
/// # Ok::<(), sonority_store::Error>(())
/// ```
pub trait Catalogue: VectorStore<Error = Error> {
    /// Registers a model, or checks that an existing one has the same dimension and
    /// weights hash; registering again with identical settings does nothing.
    ///
    /// # Errors
    /// [`Error::EmptyVector`] for dimension 0, [`Error::InvalidConfig`],
    /// [`Error::ModelConflict`].
    fn register_model(&mut self, model: &ModelInfo) -> Result<()>;

    /// Lists the registered models, by name.
    ///
    /// # Errors
    /// On a database error.
    fn models(&self) -> Result<Vec<ModelInfo>>;

    /// Commits many tracks' results in one transaction: all of them or none.
    ///
    /// Tracks are matched by path: an existing track keeps its id and everything stored
    /// for it is replaced. A recorded error for the path is cleared; models not yet
    /// registered are registered with the dimension of their vector. Returns the ids in
    /// input order.
    ///
    /// # Errors
    /// [`Error::DimensionMismatch`], [`Error::NonFinite`], [`Error::EmptyVector`],
    /// [`Error::BadTiles`], [`Error::InvalidPath`], [`Error::OutOfRange`], or a
    /// database error; in every case nothing is written.
    fn put_track_analyses(&mut self, batch: &[AnalysedTrack<'_>]) -> Result<Vec<TrackId>>;

    /// Commits one track's complete result (record, analysis, vectors) in one transaction.
    ///
    /// # For implementors
    /// The default calls [`put_track_analyses`](Self::put_track_analyses) with one item.
    ///
    /// # Errors
    /// As [`put_track_analyses`](Self::put_track_analyses).
    fn put_track_analysis(
        &mut self,
        track: &TrackRecord,
        analysis: &Analysis,
        embeddings: &[ModelVector<'_>],
    ) -> Result<TrackId> {
        let ids = self.put_track_analyses(&[AnalysedTrack {
            track,
            analysis,
            embeddings,
        }])?;
        ids.first().copied().ok_or_else(|| Error::Corrupt {
            path: track.file.path.clone(),
            reason: "no id returned for the committed track".to_owned(),
        })
    }

    /// Lists all tracks, by id.
    ///
    /// # Errors
    /// On a database error.
    fn tracks(&self) -> Result<Vec<TrackInfo>>;

    /// Number of tracks.
    ///
    /// # Errors
    /// On a database error.
    fn track_count(&self) -> Result<usize>;

    /// The track with this id, if any.
    ///
    /// # Errors
    /// On a database error.
    fn track(&self, id: TrackId) -> Result<Option<TrackInfo>>;

    /// The track stored under this path, if any.
    ///
    /// # Errors
    /// [`Error::InvalidPath`] or a database error.
    fn track_by_path(&self, path: &Path) -> Result<Option<TrackInfo>>;

    /// The analysis of a track (descriptors sorted by name), if any.
    ///
    /// # Errors
    /// On a database error.
    fn analysis(&self, id: TrackId) -> Result<Option<Analysis>>;

    /// The per-tile vectors of a track under a model: `(tile_dim, row-major values)`.
    ///
    /// # Errors
    /// [`Error::Corrupt`] if the stored value has the wrong length, or a database error.
    fn tiles(&self, model: &str, id: TrackId) -> Result<Option<(usize, Vec<f32>)>>;

    /// Deletes a track and everything stored for it; returns whether it existed.
    ///
    /// # Errors
    /// On a database error.
    fn delete_track(&mut self, id: TrackId) -> Result<bool>;

    /// Records (or replaces) why a file could not be analysed; a later successful
    /// commit of the path clears it.
    ///
    /// # Errors
    /// [`Error::InvalidPath`] or a database error.
    fn record_error(&mut self, path: &Path, reason: &str) -> Result<()>;

    /// Lists the recorded per-file errors, by path.
    ///
    /// # Errors
    /// On a database error.
    fn errors(&self) -> Result<Vec<FileError>>;

    /// Removes the recorded error of a path; returns whether there was one.
    ///
    /// # Errors
    /// [`Error::InvalidPath`] or a database error.
    fn clear_error(&mut self, path: &Path) -> Result<bool>;

    /// The stored files and the paths with a recorded error, read from one snapshot.
    ///
    /// # Errors
    /// On a database error.
    fn scan_state(&self) -> Result<(Vec<KnownFile>, Vec<PathBuf>)>;

    /// Sorts the files of a walk into new, retry, changed, unchanged and gone (every
    /// stored track missing from `files` counts as gone).
    ///
    /// # For implementors
    /// The default sorts [`scan_state`](Self::scan_state) in memory.
    ///
    /// # Errors
    /// On a database error.
    fn plan_scan<I: IntoIterator<Item = FileFacts>>(&self, files: I) -> Result<ScanPlan>
    where
        Self: Sized,
    {
        let (known, failed) = self.scan_state()?;
        Ok(plan_from(known, failed, None, files))
    }

    /// As [`plan_scan`](Self::plan_scan), but only tracks and errors under `root` can be gone.
    ///
    /// # Errors
    /// On a database error.
    fn plan_scan_under<I: IntoIterator<Item = FileFacts>>(
        &self,
        root: impl AsRef<Path>,
        files: I,
    ) -> Result<ScanPlan>
    where
        Self: Sized,
    {
        let (known, failed) = self.scan_state()?;
        Ok(plan_from(known, failed, Some(root.as_ref()), files))
    }

    /// Deletes the gone tracks of a plan (with their analyses and vectors) and its stale
    /// errors, in one transaction; returns the number of tracks deleted.
    ///
    /// # Errors
    /// On a database error (then nothing is deleted).
    fn prune_gone(&mut self, plan: &ScanPlan) -> Result<usize>;
}

impl Catalogue for crate::SqliteStore {
    fn register_model(&mut self, model: &ModelInfo) -> Result<()> {
        crate::SqliteStore::register_model(self, model)
    }
    fn models(&self) -> Result<Vec<ModelInfo>> {
        crate::SqliteStore::models(self)
    }
    fn put_track_analyses(&mut self, batch: &[AnalysedTrack<'_>]) -> Result<Vec<TrackId>> {
        crate::SqliteStore::put_track_analyses(self, batch)
    }
    fn tracks(&self) -> Result<Vec<TrackInfo>> {
        crate::SqliteStore::tracks(self)
    }
    fn track_count(&self) -> Result<usize> {
        crate::SqliteStore::track_count(self)
    }
    fn track(&self, id: TrackId) -> Result<Option<TrackInfo>> {
        crate::SqliteStore::track(self, id)
    }
    fn track_by_path(&self, path: &Path) -> Result<Option<TrackInfo>> {
        crate::SqliteStore::track_by_path(self, path)
    }
    fn analysis(&self, id: TrackId) -> Result<Option<Analysis>> {
        crate::SqliteStore::analysis(self, id)
    }
    fn tiles(&self, model: &str, id: TrackId) -> Result<Option<(usize, Vec<f32>)>> {
        crate::SqliteStore::tiles(self, model, id)
    }
    fn delete_track(&mut self, id: TrackId) -> Result<bool> {
        crate::SqliteStore::delete_track(self, id)
    }
    fn record_error(&mut self, path: &Path, reason: &str) -> Result<()> {
        crate::SqliteStore::record_error(self, path, reason)
    }
    fn errors(&self) -> Result<Vec<FileError>> {
        crate::SqliteStore::errors(self)
    }
    fn clear_error(&mut self, path: &Path) -> Result<bool> {
        crate::SqliteStore::clear_error(self, path)
    }
    fn scan_state(&self) -> Result<(Vec<KnownFile>, Vec<PathBuf>)> {
        self.scan_state_impl()
    }
    fn prune_gone(&mut self, plan: &ScanPlan) -> Result<usize> {
        crate::SqliteStore::prune_gone(self, plan)
    }
}
