//! Many indexing machines, one PostgreSQL catalogue: enqueue a folder, run workers, watch the
//! queue, rank from the shared catalogue (feature `postgres`).
//!
//! The database is the coordinator: [`enqueue_folder`] records the files to analyse (root
//! name + relative path, size, mtime, content hash) as jobs; [`run_worker`] (any number of
//! them, on any machine) claims one job per thread with `FOR UPDATE SKIP LOCKED` under an
//! expiring lease, analyses it with the [`Analyzer`], and commits the analysis and the job's
//! completion in one transaction; [`queue_status`] reads the progress from anywhere; and
//! [`PgCatalogueIndex`] loads one model's vectors in bulk (binary `COPY`) for ranking and
//! refreshes them incrementally ([`PgCatalogueIndex::refresh`]).
//!
//! # Examples
//! ```no_run
//! use std::path::PathBuf;
//! use sonority::distributed::{
//!     PgCatalogueIndex, WorkerOptions, enqueue_folder, queue_status, run_worker,
//! };
//! use sonority::StopFlag;
//! use sonority::store::{PgStore, RootMap};
//! use sonority::Model;
//!
//! let db = "postgres://indexer@db.example/music";
//! let mut store = PgStore::connect(db)?;
//! enqueue_folder(&mut store, "music", "/srv/music".as_ref(), 2)?;
//! // On every indexing machine, with its own mount point:
//! let model = Model::load_default()?;
//! let roots: RootMap = "music=/mnt/music".parse()?;
//! run_worker(db, &model, &roots, &WorkerOptions::default(), &StopFlag::new(), |_| {})?;
//! // From anywhere: recommendations from the shared catalogue, explained.
//! let catalogue = PgCatalogueIndex::load(PgStore::connect(db)?, model.name())?;
//! let anchor = PathBuf::from("/mnt/music/a/01.flac");
//! for r in catalogue.recommend(&model, &roots, &[anchor], 10, false)? {
//!     println!("{} {:.2} {:?}", r.track.record.file.path.display(), r.score, r.explanation);
//! }
//! println!("{:?}", queue_status(&store)?);
//! # Ok::<(), sonority::Error>(())
//! ```

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use sonority_store::{
    Catalogue, ContentHash, Job, PgStore, QueueProgress, QueuedFile, RootMap, VectorMatrix,
};

use crate::catalogue::{CatalogueIndex, LiveIndex, Recommendation, TrackRefresh};
use crate::indexer::{
    self, Analysed, IndexOptions, JobSource, OutcomeSink, StoredTrack, VectorNames, model_infos,
};
use crate::model::Model;
use crate::parallel::{StopFlag, for_each_parallel};
use crate::walk::{SkippedEntry, scan_folder};
use crate::{Analyzer, Error, Result};

pub use crate::fingerprint::{model_fingerprint, model_info};

/// What [`enqueue_folder`] did.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct EnqueueReport {
    /// Audio files found under the folder.
    pub found: usize,
    /// Jobs that became pending (new, changed or previously failed files).
    pub queued: usize,
    /// Audio-looking entries skipped (FIFOs, directories, broken links), and files that could
    /// not be hashed.
    pub skipped: Vec<SkippedEntry>,
    /// Wall-clock seconds.
    pub elapsed_s: f64,
}

/// Walks `dir` and records every audio file under it as a job of root `root_name`: its path
/// relative to `dir`, size, modification time and content hash (hashed on `threads` threads).
///
/// New files, changed files (size, mtime or hash) and files that failed last time become
/// pending; done, unchanged files and running jobs are left alone, so enqueueing the same
/// folder again is cheap in database work (but rereads every file to hash it). All jobs are
/// written in one transaction.
///
/// # Errors
/// [`Error::Io`] if `dir` cannot be resolved, store errors (invalid root name, database
/// errors; nothing is queued then).
pub fn enqueue_folder(
    store: &mut PgStore,
    root_name: &str,
    dir: &Path,
    threads: usize,
) -> Result<EnqueueReport> {
    let t0 = Instant::now();
    let root = std::fs::canonicalize(dir).map_err(|source| Error::Io {
        path: dir.to_path_buf(),
        source,
    })?;
    let mut scan = scan_folder(&root);
    let sheets = crate::sheets::expand(&mut scan.files, &scan.sheets);
    scan.skipped.extend(sheets.failed);
    let mut report = EnqueueReport {
        found: scan.files.len(),
        skipped: scan.skipped,
        ..EnqueueReport::default()
    };
    let mut files: Vec<QueuedFile> = Vec::with_capacity(scan.files.len());
    let mut hash_errors = Vec::new();
    let work = |f: &crate::walk::FoundFile| -> Result<QueuedFile> {
        let facts = sonority_store::FileFacts::new(f.path.clone(), f.size, f.mtime_ns);
        let q = QueuedFile::from_facts(&root, &facts)?;
        Ok(q.with_content_hash(crate::sheets::content_hash(&f.path)?))
    };
    for_each_parallel(
        scan.files,
        threads,
        &StopFlag::new(),
        work,
        |f, r| match r {
            Ok(Ok(q)) => files.push(q),
            Ok(Err(e)) => hash_errors.push(SkippedEntry {
                path: f.path.clone(),
                reason: e.to_string(),
            }),
            Err(p) => hash_errors.push(SkippedEntry {
                path: f.path.clone(),
                reason: p.to_string(),
            }),
        },
    );
    files.sort_by(|a, b| a.rel_path.cmp(&b.rel_path));
    report.skipped.extend(hash_errors);
    report.queued = store.enqueue(root_name, &files)?;
    report.elapsed_s = t0.elapsed().as_secs_f64();
    Ok(report)
}

/// The queue's progress, as seen from any machine (see [`QueueProgress`]).
///
/// # Errors
/// Database errors.
pub fn queue_status(store: &PgStore) -> Result<QueueProgress> {
    Ok(store.progress()?)
}

/// Options of [`run_worker`].
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct WorkerOptions {
    /// What every indexer takes: analysis threads (here each with one claimed job at a time),
    /// the per-file time limit and the longest accepted track. Its `batch` is not used: each
    /// job commits with its completion, in its own transaction.
    pub index: IndexOptions,
    /// Lease of a claimed job; renewed every third of it while the analysis runs, so only a
    /// dead worker's jobs expire. Default: 5 minutes.
    pub lease: Duration,
    /// How long to wait before asking again when nothing is claimable. Default: 2 s.
    pub poll: Duration,
    /// Keep polling for new jobs when the queue is finished, instead of returning.
    /// Default: `false`.
    pub follow: bool,
    /// This worker's name in the queue (`lease_owner`); each thread appends `/N`.
    /// Default: `HOSTNAME:PID`.
    pub name: String,
    /// How often the progress callback runs at least. Default: 1 s.
    pub report_every: Duration,
}

impl Default for WorkerOptions {
    fn default() -> Self {
        let host = std::env::var("HOSTNAME")
            .ok()
            .or_else(|| {
                std::fs::read_to_string("/etc/hostname")
                    .ok()
                    .map(|h| h.trim().to_owned())
            })
            .filter(|h| !h.is_empty())
            .unwrap_or_else(|| "worker".into());
        Self {
            index: IndexOptions::default(),
            lease: Duration::from_secs(300),
            poll: Duration::from_secs(2),
            follow: false,
            name: format!("{host}:{}", std::process::id()),
            report_every: Duration::from_secs(1),
        }
    }
}

impl WorkerOptions {
    /// Sets [`index`](Self::index).
    #[must_use]
    pub fn with_index(mut self, index: IndexOptions) -> Self {
        self.index = index;
        self
    }
    /// Sets the analysis threads of [`index`](Self::index) (at least 1).
    #[must_use]
    pub fn with_threads(mut self, threads: usize) -> Self {
        self.index = self.index.with_threads(threads);
        self
    }
    /// Sets [`lease`](Self::lease) (at least 1 s).
    #[must_use]
    pub fn with_lease(mut self, lease: Duration) -> Self {
        self.lease = lease.max(Duration::from_secs(1));
        self
    }
    /// Sets [`poll`](Self::poll).
    #[must_use]
    pub fn with_poll(mut self, poll: Duration) -> Self {
        self.poll = poll;
        self
    }
    /// Sets [`follow`](Self::follow).
    #[must_use]
    pub fn with_follow(mut self, follow: bool) -> Self {
        self.follow = follow;
        self
    }
    /// Sets [`name`](Self::name).
    #[must_use]
    pub fn with_name(mut self, name: impl Into<String>) -> Self {
        self.name = name.into();
        self
    }
}

/// Progress of a worker, reported at least every [`WorkerOptions::report_every`].
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct WorkerProgress {
    /// Jobs this worker completed.
    pub done: usize,
    /// Jobs this worker failed (analysis errors), with the file and reason.
    pub failed: Vec<(PathBuf, String)>,
    /// Jobs whose lease this worker lost (another worker took them over).
    pub lost: usize,
    /// Jobs this worker is analysing now.
    pub in_flight: usize,
    /// Seconds of audio this worker analysed.
    pub audio_s: f64,
    /// Seconds since the worker started.
    pub elapsed_s: f64,
    /// The whole queue, as last read.
    pub queue: QueueProgress,
}

impl WorkerProgress {
    /// Audio hours analysed by this worker per wall-clock hour.
    #[must_use]
    pub fn audio_hours_per_hour(&self) -> f64 {
        self.audio_s / self.elapsed_s.max(1e-9)
    }
}

/// The jobs this process holds, renewed by the coordinating thread.
type Held = Arc<Mutex<HashMap<i64, Job>>>;

/// Runs a worker until the queue is finished (or forever with
/// [`follow`](WorkerOptions::follow)), or until `stop` is raised: `opts.index.threads` threads
/// each claim one job at a time, resolve its root through `roots`, analyse it, and commit the
/// result and the job's completion in one transaction (a failed analysis marks the job
/// failed with its reason). What is stored is what [`Library::index`](crate::Library::index)
/// stores: the track, its analysis, the model's vector and, for a model with a learned final
/// stage, the fused vector (`NAME+fused`) its recommendations are explained from. The calling thread renews the leases of the jobs in progress and
/// calls `progress`.
///
/// "Finished" means no job is pending, running or expired anywhere: a worker waits for the
/// other workers' jobs, so that a job of a worker that dies (its lease expires) is still
/// taken over.
///
/// # Errors
/// [`Error::Store`] with `ModelConflict` when the catalogue's model of this name was made with
/// other weights (nothing is claimed then), connection and database errors. A job whose
/// commit failed for another reason than a lost lease is given back before the error is
/// returned.
pub fn run_worker<P>(
    conn: &str,
    model: &Model,
    roots: &RootMap,
    opts: &WorkerOptions,
    stop: &StopFlag,
    mut progress: P,
) -> Result<WorkerProgress>
where
    P: FnMut(&WorkerProgress),
{
    let t0 = Instant::now();
    let mut control = PgStore::connect(conn)?;
    for info in &model_infos(model)? {
        control.register_model(info)?;
    }
    let analyzer = opts.index.analyzer(model);
    let held: Held = Arc::default();
    let source = ClaimedJobs {
        claims: Mutex::new(PgStore::connect(conn)?),
        roots,
        opts,
        held: Arc::clone(&held),
    };
    let renew_every = (opts.lease / 3).max(Duration::from_millis(200));
    let mut sink = QueueSink {
        state: WorkerProgress {
            queue: control.progress()?,
            ..WorkerProgress::default()
        },
        control,
        model,
        names: VectorNames::of(model),
        held,
        t0,
        renew_every,
        report_every: opts.report_every,
        last_renew: Instant::now(),
        last_report: Instant::now(),
        progress: &mut progress,
    };
    let tick = renew_every.min(opts.report_every);
    indexer::run(
        &source,
        &analyzer,
        opts.index.threads,
        stop,
        tick,
        &mut sink,
    )?;
    let mut state = sink.state;
    state.in_flight = 0;
    state.queue = sink.control.progress()?;
    state.elapsed_s = t0.elapsed().as_secs_f64();
    progress(&state);
    Ok(state)
}

/// Jobs claimed from the queue, one at a time per thread, under a lease.
struct ClaimedJobs<'a> {
    /// The connection the threads claim through (a claim is one short statement).
    claims: Mutex<PgStore>,
    roots: &'a RootMap,
    opts: &'a WorkerOptions,
    held: Held,
}

impl JobSource for ClaimedJobs<'_> {
    type Job = Job;

    fn next_job(&self, stop: &StopFlag) -> Result<Option<Job>> {
        while !stop.is_stopped() {
            {
                let mut store = self.claims.lock().unwrap_or_else(PoisonError::into_inner);
                if let Some(job) = store
                    .claim(&self.opts.name, 1, self.opts.lease)?
                    .into_iter()
                    .next()
                {
                    if let Ok(mut h) = self.held.lock() {
                        h.insert(job.id, job.clone());
                    }
                    return Ok(Some(job));
                }
                if !self.opts.follow && store.progress()?.is_finished() {
                    return Ok(None);
                }
            }
            nap(self.opts.poll, stop);
        }
        Ok(None)
    }

    fn path(&self, job: &Job) -> Result<PathBuf> {
        Ok(job.local_path(self.roots)?)
    }

    fn content_hash(&self, job: &Job, _path: &Path) -> Option<ContentHash> {
        job.content_hash
    }
}

/// Outcomes into the catalogue: each job completed (or failed) in its own transaction, leases
/// renewed and progress reported on the way.
struct QueueSink<'a, P> {
    control: PgStore,
    model: &'a Model,
    names: VectorNames,
    held: Held,
    state: WorkerProgress,
    t0: Instant,
    renew_every: Duration,
    report_every: Duration,
    last_renew: Instant,
    last_report: Instant,
    progress: &'a mut P,
}

impl<P: FnMut(&WorkerProgress)> OutcomeSink<Job> for QueueSink<'_, P> {
    fn outcome(&mut self, job: Job, outcome: Result<Analysed>) -> Result<()> {
        let committed = match outcome {
            Ok((a, hash)) => {
                let duration_s = a.duration_s;
                let track = StoredTrack::new(job.facts(), hash, a, self.model);
                let embeddings = track.embeddings(&self.names);
                self.control
                    .complete(&job, &track.analysed(&embeddings))
                    .map(|_| {
                        self.state.done += 1;
                        self.state.audio_s += duration_s;
                    })
            }
            Err(e) => {
                let reason = e.to_string();
                self.control.fail(&job, &reason).map(|()| {
                    self.state.failed.push((job.catalogue_path(), reason));
                })
            }
        };
        forget(&self.held, &job);
        match committed {
            Ok(()) => Ok(()),
            Err(sonority_store::Error::LeaseLost { .. }) => {
                self.state.lost += 1;
                Ok(())
            }
            Err(e) => {
                let _ = self.control.release(&job);
                Err(e.into())
            }
        }
    }

    fn tick(&mut self) -> Result<()> {
        if self.last_renew.elapsed() >= self.renew_every {
            self.last_renew = Instant::now();
            renew_all(&mut self.control, &self.held);
        }
        if self.last_report.elapsed() >= self.report_every {
            self.last_report = Instant::now();
            if let Ok(q) = self.control.progress() {
                self.state.queue = q;
            }
            self.state.in_flight = self.held.lock().map_or(0, |h| h.len());
            self.state.elapsed_s = self.t0.elapsed().as_secs_f64();
            (self.progress)(&self.state);
        }
        Ok(())
    }
}

/// Renews every held lease; a lost one is dropped (its commit will be refused).
fn renew_all(control: &mut PgStore, held: &Held) {
    let jobs: Vec<Job> = match held.lock() {
        Ok(h) => h.values().cloned().collect(),
        Err(_) => return,
    };
    for job in jobs {
        if let Err(e) = control.renew(&job) {
            log::warn!("job {}: cannot renew its lease: {e}", job.id);
        }
    }
}

/// Sleeps for `d` in small steps, returning early when `stop` is raised.
fn nap(d: Duration, stop: &StopFlag) {
    let end = Instant::now() + d;
    while !stop.is_stopped() {
        let left = end.saturating_duration_since(Instant::now());
        if left.is_zero() {
            break;
        }
        std::thread::sleep(left.min(Duration::from_millis(100)));
    }
}

fn forget(held: &Held, job: &Job) {
    if let Ok(mut h) = held.lock() {
        h.remove(&job.id);
    }
}

/// A ranking index over a PostgreSQL catalogue that stays current: loaded once in bulk,
/// then refreshed with only the vectors written (and deleted) since, and the records of their
/// tracks.
#[derive(Debug)]
pub struct PgCatalogueIndex {
    store: PgStore,
    live: LiveIndex,
}

impl PgCatalogueIndex {
    /// Loads `model`'s vectors and tracks from `store`.
    ///
    /// # Errors
    /// Store and index errors.
    pub fn load(store: PgStore, model: &str) -> Result<Self> {
        let live = LiveIndex::load(&store, model, TrackRefresh::WithVectors)?;
        Ok(Self { store, live })
    }

    /// Applies what indexers wrote since the last load or refresh; returns the number of
    /// vectors added or replaced and removed.
    ///
    /// # Errors
    /// Store and index errors (the index is unchanged then).
    pub fn refresh(&mut self) -> Result<(usize, usize)> {
        self.live.refresh(&self.store)
    }

    /// The index, for [`CatalogueIndex::rank`].
    #[must_use]
    pub fn index(&self) -> &CatalogueIndex {
        self.live.index()
    }

    /// The `k` tracks most like `anchors` (named by their path on this machine, mapped through
    /// `roots`, or by their catalogue name `root/relative`; a file the catalogue does not hold
    /// is analysed on the spot), never of their album with `exclude_album`, each explained
    /// block by block as [`Library::recommend`](crate::Library::recommend) explains it: for a
    /// model with a learned final stage, from the fused vectors the workers store.
    ///
    /// # Errors
    /// [`Error::Query`] when `model` is not the model this index was loaded for; as
    /// [`Library::recommend`](crate::Library::recommend).
    pub fn recommend(
        &self,
        model: &Model,
        roots: &RootMap,
        anchors: &[PathBuf],
        k: usize,
        exclude_album: bool,
    ) -> Result<Vec<Recommendation>> {
        if model.name() != self.live.model() {
            return Err(Error::Query {
                reason: format!(
                    "this index holds the vectors of model {:?}, not of {:?}",
                    self.live.model(),
                    model.name()
                ),
            });
        }
        let index = self.index();
        crate::catalogue::recommend(
            index,
            &self.store,
            &Analyzer::new(model),
            anchors,
            &|a| anchor_key(index, roots, a),
            k,
            exclude_album,
            Vec::new(),
        )
    }

    /// The store.
    #[must_use]
    pub fn store(&self) -> &PgStore {
        &self.store
    }
}

/// Loads a ranking index from any catalogue (SQLite or PostgreSQL) for `model`.
///
/// # Errors
/// Store and index errors.
pub fn load_index<S: Catalogue + ?Sized>(store: &S, model: &str) -> Result<CatalogueIndex> {
    let m: VectorMatrix = store.load_matrix(model)?;
    CatalogueIndex::from_parts(m, store.tracks()?)
}

/// Maps an anchor to the key the catalogue stores it under: as given if the catalogue has it,
/// else `root/relative` through `roots`.
#[must_use]
pub fn anchor_key(index: &CatalogueIndex, roots: &RootMap, anchor: &Path) -> Option<PathBuf> {
    if index.id_of_path(anchor).is_some() {
        return Some(anchor.to_path_buf());
    }
    let canon = std::fs::canonicalize(anchor).ok()?;
    let (name, rel) = roots.relativize(&canon)?;
    Some(Path::new(name).join(rel))
}
