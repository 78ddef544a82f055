//! A music library: index a folder into the embedded SQLite database, recommend for anchors.

use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use sonority_store::{AnalysedTrack, FileFacts, ModelVector, SqliteStore, VectorStore};

use crate::catalogue::{CatalogueIndex, LiveIndex, Recommendation, TrackRefresh};
use crate::indexer::{
    self, Analysed, JobSource, OutcomeSink, StoredTrack, VectorNames, model_infos,
};
use crate::model::Model;
use crate::parallel::StopFlag;
use crate::walk::{SkippedEntry, scan_folder};
use crate::{Analyzer, Error, Result};

pub use crate::indexer::IndexOptions;

/// Progress of an indexing run, reported after every file.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct IndexProgress {
    /// Files to analyse in this run.
    pub total: usize,
    /// Files finished (analysed or failed).
    pub done: usize,
    /// Files that failed.
    pub failed: usize,
    /// Seconds of audio analysed.
    pub audio_s: f64,
    /// The file just finished.
    pub last: Option<PathBuf>,
}

/// What an indexing run did.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct IndexReport {
    /// Audio files found.
    pub found: usize,
    /// Files analysed and stored in this run.
    pub analysed: usize,
    /// Files unchanged since the last run (skipped).
    pub unchanged: usize,
    /// Files recognised at a new path by their content (kept their analysis).
    pub moved: usize,
    /// Tracks removed because their file is gone.
    pub pruned: usize,
    /// Files that failed in this run, with the reason (also recorded in the database).
    pub failed: Vec<(PathBuf, String)>,
    /// Audio-looking entries skipped (FIFOs, directories, broken links).
    pub skipped: Vec<SkippedEntry>,
    /// Seconds of audio analysed.
    pub audio_s: f64,
    /// Wall-clock seconds.
    pub elapsed_s: f64,
    /// Whether the run was stopped before the end (what was analysed is kept).
    pub stopped: bool,
}

/// A track database bound to a model.
#[derive(Debug)]
pub struct Library<'m> {
    store: SqliteStore,
    model: &'m Model,
    /// The ranking index, loaded on the first query and kept current from then on.
    index: Mutex<Option<CachedIndex>>,
    /// The folders queries answer from (canonical); empty: the whole library.
    pub(crate) scope: Vec<PathBuf>,
}

/// The ranking index (with the change-log position it has applied) and what tells whether it
/// is current: the database's `data_version` when it was last brought up to date (`None` after
/// this library's own writes, which do not change `data_version`).
#[derive(Debug)]
struct CachedIndex {
    version: Option<i64>,
    live: LiveIndex,
}

fn facts(f: &crate::walk::FoundFile) -> FileFacts {
    FileFacts::new(f.path.clone(), f.size, f.mtime_ns)
}

impl<'m> Library<'m> {
    /// Opens (or creates) the database at `db` for `model`. The model is recorded with a
    /// fingerprint of its weights ([`Model::fingerprint`]): a database whose
    /// vectors were made by a same-named model with other weights (or, for a database from
    /// before fingerprints, unknown weights) is refused, never mixed.
    ///
    /// # Errors
    /// [`Error::ModelMismatch`] as above (see [`open_replacing`](Self::open_replacing)); store
    /// errors (not a database, newer schema, locked, read-only).
    pub fn open(db: &Path, model: &'m Model) -> Result<Self> {
        let (mut store, infos) = Self::open_store(db, model)?;
        for info in &infos {
            store.register_model(info).map_err(|e| match e {
                sonority_store::Error::ModelConflict { name, .. } => Error::ModelMismatch {
                    db: db.to_path_buf(),
                    name,
                },
                e => e.into(),
            })?;
        }
        Ok(Self::new(store, model))
    }

    /// Opens (or creates) the database at `db` for `model`, replacing a same-named model with
    /// other weights or dimension: its vectors are deleted, so the next [`index`](Self::index)
    /// analyses every track again with `model` (tracks and tags stay). Returns the library and
    /// the number of vectors deleted (0 when the model was already the registered one).
    ///
    /// # Errors
    /// As [`open`](Self::open), without [`Error::ModelMismatch`].
    pub fn open_replacing(db: &Path, model: &'m Model) -> Result<(Self, usize)> {
        let (mut store, infos) = Self::open_store(db, model)?;
        let mut deleted = 0;
        for (k, info) in infos.iter().enumerate() {
            let n = store.replace_model(info)?;
            if k == 0 {
                deleted = n;
            }
        }
        Ok((Self::new(store, model), deleted))
    }

    fn new(store: SqliteStore, model: &'m Model) -> Self {
        Self {
            store,
            model,
            index: Mutex::new(None),
            scope: Vec::new(),
        }
    }

    /// The store and the models to register: the model itself and, for a model with a learned
    /// final stage, its fused vectors (`indexer::model_infos`).
    fn open_store(
        db: &Path,
        model: &Model,
    ) -> Result<(SqliteStore, Vec<sonority_store::ModelInfo>)> {
        if let Some(parent) = db.parent()
            && !parent.as_os_str().is_empty()
        {
            std::fs::create_dir_all(parent).map_err(|source| Error::Io {
                path: parent.to_path_buf(),
                source,
            })?;
        }
        let infos = model_infos(model)?;
        Ok((SqliteStore::open(db)?, infos))
    }

    /// Whether indexing takes a file of this name for audio (by its extension, any case).
    #[must_use]
    pub fn is_audio_name(path: &Path) -> bool {
        crate::walk::has_audio_extension(path)
    }

    /// The underlying store.
    #[must_use]
    pub fn store(&self) -> &SqliteStore {
        &self.store
    }

    /// The model the library's vectors are made with.
    #[must_use]
    pub fn model(&self) -> &'m Model {
        self.model
    }

    /// Indexes every audio file under `root`: new and changed files are analysed on all cores,
    /// unchanged ones skipped, moved ones recognised by content, gone ones pruned, failures
    /// recorded with their reason. Files are analysed largest first, so the workers finish
    /// together. Results are committed in batches, so a stop (raise `stop`, e.g. on Ctrl-C) or
    /// a crash keeps everything finished so far.
    ///
    /// # Errors
    /// Store errors. Per-file failures are not errors: they are in the report and the database.
    pub fn index<P>(
        &mut self,
        root: &Path,
        opts: &IndexOptions,
        stop: &StopFlag,
        mut progress: P,
    ) -> Result<IndexReport>
    where
        P: FnMut(&IndexProgress),
    {
        let t0 = Instant::now();
        // This connection's own commits do not change `data_version`: mark the cached index
        // for a refresh.
        if let Some(c) = self
            .index
            .get_mut()
            .unwrap_or_else(PoisonError::into_inner)
            .as_mut()
        {
            c.version = None;
        }
        let root = std::fs::canonicalize(root).map_err(|source| Error::Io {
            path: root.to_path_buf(),
            source,
        })?;
        let mut scan = scan_folder(&root);
        let sheets = crate::sheets::expand(&mut scan.files, &scan.sheets);
        let mut report = IndexReport {
            found: scan.files.len(),
            skipped: scan.skipped,
            ..IndexReport::default()
        };
        let mut plan = self
            .store
            .plan_scan_under(&root, scan.files.iter().map(facts))?;
        self.store.resolve_with_hashes(
            &mut plan,
            &mut |p| match crate::sheets::content_hash(p) {
                Ok(h) => Ok(h),
                Err(Error::Store(e)) => Err(e),
                Err(e) => Err(sonority_store::Error::Io {
                    path: p.to_path_buf(),
                    source: std::io::Error::other(e.to_string()),
                }),
            },
        )?;
        report.unchanged = plan.unchanged.len();
        report.moved = plan.moved.len();
        report.pruned = self.store.prune_gone(&plan)?;
        // A sheet that cannot be used fails alone; its audio file stays a whole track.
        for f in sheets.failed {
            self.store.record_error(&f.path, &f.reason)?;
            report.failed.push((f.path, f.reason));
        }
        // A file whose stored vector is missing for this model is analysed again.
        let mut todo: Vec<FileFacts> = plan.new.clone();
        todo.extend(plan.retry.iter().cloned());
        todo.extend(plan.changed.iter().map(|(_, f)| f.clone()));
        for id in &plan.unchanged {
            if self.store.get(self.model.name(), *id)?.is_none()
                && let Some(t) = self.store.track(*id)?
            {
                todo.push(t.record.file.clone());
            }
        }
        // Largest files first (a stable sort: scan order among equals), so that the last files
        // the workers take are short ones and no worker waits long for another at the end
        // (longest-processing-time-first scheduling, with size standing in for duration).
        todo.sort_by_key(|f| std::cmp::Reverse(f.size_bytes));
        let analyzer = opts.analyzer(self.model);
        let mut sink = SqliteSink {
            store: &mut self.store,
            model: self.model,
            names: VectorNames::of(self.model),
            batch: opts.batch.max(1),
            pending: Vec::new(),
            prog: IndexProgress {
                total: todo.len(),
                ..IndexProgress::default()
            },
            report: &mut report,
            progress: &mut progress,
            deferred: None,
        };
        let source = PlannedFiles(Mutex::new(todo.into_iter()));
        indexer::run(
            &source,
            &analyzer,
            opts.threads,
            stop,
            Duration::from_secs(1),
            &mut sink,
        )?;
        sink.commit()?;
        if let Some(e) = sink.deferred.take() {
            return Err(e);
        }
        report.stopped = stop.is_stopped();
        if !report.stopped {
            self.store.record_root(&root)?;
        }
        report.elapsed_s = t0.elapsed().as_secs_f64();
        Ok(report)
    }

    /// The tracks most similar to the anchors (files inside or outside the library; those
    /// outside are analysed on the fly). The anchors and exact duplicates of them (same
    /// content) are never recommended.
    ///
    /// # Errors
    /// [`Error::Query`] when there is nothing to rank or no anchor; analysis errors for an
    /// anchor that cannot be analysed; store and ranking errors.
    pub fn recommend(
        &self,
        anchors: &[PathBuf],
        k: usize,
        exclude_album: bool,
    ) -> Result<Vec<Recommendation>> {
        self.with_catalogue(|index| {
            crate::catalogue::recommend(
                index,
                &self.store,
                &Analyzer::new(self.model),
                anchors,
                &|a| Some(canonical(a)),
                k,
                exclude_album,
                self.out_of_scope(index),
            )
        })
    }

    /// Runs `f` on the catalogue loaded for ranking: loaded once, then kept current by
    /// applying only what changed (the store's change log) after any write.
    ///
    /// # Errors
    /// [`Error::Query`] when the library has no analysed track; store errors; `f`'s errors.
    pub fn with_catalogue<T>(&self, f: impl FnOnce(&CatalogueIndex) -> Result<T>) -> Result<T> {
        let mut cache = self.index.lock().unwrap_or_else(PoisonError::into_inner);
        f(self.current_index(&mut cache)?.live.index())
    }

    /// Resolves files for ranking, playlists and paths: a file of the library by its id, any
    /// other analysed on the spot.
    ///
    /// # Errors
    /// Analysis errors for a file outside the library that cannot be analysed.
    pub fn anchors(
        &self,
        index: &CatalogueIndex,
        files: &[PathBuf],
    ) -> Result<Vec<crate::catalogue::Anchor>> {
        Analyzer::new(self.model).resolve_anchors(index, files, &|a| Some(canonical(a)))
    }

    /// The id of a file of the library (any spelling of its path), if it is ranked.
    #[must_use]
    pub fn track_id(index: &CatalogueIndex, file: &Path) -> Option<sonority_store::TrackId> {
        index.id_of_path(&canonical(file))
    }
}

/// Stored paths are canonical (the indexed root is canonicalised first); a sheet track's is
/// its canonical sheet's path and its `trackNNNN`.
pub(crate) fn canonical(p: &Path) -> PathBuf {
    std::fs::canonicalize(p).unwrap_or_else(|_| {
        match (crate::sheets::parse_track_name(p), p.file_name()) {
            (Some((sheet, _)), Some(name)) => std::fs::canonicalize(&sheet)
                .map_or_else(|_| p.to_path_buf(), |sheet| sheet.join(name)),
            _ => p.to_path_buf(),
        }
    })
}

impl Library<'_> {
    /// Brings the cached index up to date: the whole matrix on the first query, then only the
    /// vectors written or deleted since (the store's change log), after this library's own
    /// writes or another process's. A failed refresh leaves no index, so the next query loads
    /// everything again.
    fn current_index<'c>(&self, cache: &'c mut Option<CachedIndex>) -> Result<&'c CachedIndex> {
        let version = Some(self.store.data_version()?);
        let fresh = match cache.take() {
            Some(c) if c.version == version => c,
            Some(mut c) => {
                c.live.refresh(&self.store)?;
                c.version = version;
                c
            }
            None => CachedIndex {
                version,
                live: LiveIndex::load(&self.store, self.model.name(), TrackRefresh::All)?,
            },
        };
        Ok(cache.insert(fresh))
    }
}

/// The files a folder scan planned, handed out one at a time.
struct PlannedFiles(Mutex<std::vec::IntoIter<FileFacts>>);

impl JobSource for PlannedFiles {
    type Job = FileFacts;

    fn next_job(&self, _stop: &StopFlag) -> Result<Option<FileFacts>> {
        Ok(self.0.lock().unwrap_or_else(PoisonError::into_inner).next())
    }

    fn path(&self, job: &FileFacts) -> Result<PathBuf> {
        Ok(job.path.clone())
    }
}

/// Outcomes into SQLite: analyses committed in batches, failures recorded one by one.
struct SqliteSink<'a, P> {
    store: &'a mut SqliteStore,
    model: &'a Model,
    names: VectorNames,
    batch: usize,
    pending: Vec<StoredTrack>,
    prog: IndexProgress,
    report: &'a mut IndexReport,
    progress: &'a mut P,
    /// The first failure to record a file's error: returned at the end, the run goes on.
    deferred: Option<Error>,
}

impl<P: FnMut(&IndexProgress)> OutcomeSink<FileFacts> for SqliteSink<'_, P> {
    fn outcome(&mut self, f: FileFacts, outcome: Result<Analysed>) -> Result<()> {
        self.prog.done += 1;
        self.prog.last = Some(f.path.clone());
        match outcome {
            Ok((a, hash)) => {
                self.prog.audio_s += a.duration_s;
                self.report.audio_s += a.duration_s;
                self.pending.push(StoredTrack::new(f, hash, a, self.model));
            }
            Err(e) => {
                let reason = e.to_string();
                self.prog.failed += 1;
                if let Err(e) = self.store.record_error(&f.path, &reason) {
                    self.deferred.get_or_insert(e.into());
                }
                self.report.failed.push((f.path, reason));
            }
        }
        if self.pending.len() >= self.batch {
            self.commit()?;
        }
        (self.progress)(&self.prog);
        Ok(())
    }
}

impl<P> SqliteSink<'_, P> {
    fn commit(&mut self) -> Result<()> {
        if self.pending.is_empty() {
            return Ok(());
        }
        let embeddings: Vec<Vec<ModelVector<'_>>> = self
            .pending
            .iter()
            .map(|t| t.embeddings(&self.names))
            .collect();
        let batch: Vec<AnalysedTrack<'_>> = self
            .pending
            .iter()
            .zip(&embeddings)
            .map(|(t, e)| t.analysed(e))
            .collect();
        self.store.put_track_analyses(&batch)?;
        self.report.analysed += self.pending.len();
        self.pending.clear();
        Ok(())
    }
}
