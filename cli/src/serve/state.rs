//! What every request shares: the catalogue (a SQLite library file, or a shared PostgreSQL
//! catalogue), how tracks are named, the indexing job, the clock.

use std::collections::HashMap;
use std::path::{Component, Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::Instant;

use sonority::ranking::CatalogueIndex;
use sonority::store::TrackId;
use sonority::{IndexOptions, Library, Model, StopFlag};

/// Where the vectors come from: the connection a refresher thread owns.
pub enum Backend {
    /// A SQLite library file: kept current by the store's change log.
    Sqlite(Box<Library<'static>>),
    /// A shared PostgreSQL catalogue that workers index into.
    #[cfg(feature = "postgres")]
    Pg(Box<pg::PgBackend>),
}

/// One consistent view of the catalogue, shared by every request without a lock: the
/// refresher thread builds the next one off the request path and swaps it in.
pub struct Snapshot {
    /// The ranking index; `None` while the catalogue has no vector.
    pub index: Option<CatalogueIndex>,
    /// How tracks are named.
    pub naming: Naming,
    /// Every track's tempo (SQLite).
    pub tempos: HashMap<TrackId, f64>,
    /// The folders and when each was indexed (SQLite).
    pub folders: Vec<(PathBuf, i64)>,
    /// Files that could not be analysed.
    pub failures: usize,
}

/// The shared state of the server.
pub struct AppState {
    /// The current view of the catalogue.
    pub snapshot: RwLock<Arc<Snapshot>>,
    /// Whether the catalogue is a library file this server can index.
    pub sqlite: bool,
    /// The model (for the indexing job's own library).
    pub model: &'static Model,
    /// The library file (SQLite).
    pub db: PathBuf,
    /// The indexing job started by `POST /v1/index`.
    pub job: Arc<Mutex<IndexJob>>,
    /// The month (1 to 12) for Bliss Mixer's `filterxmas`: fixed by `--month`, else today's.
    pub month: Option<u32>,
    /// The stop flag of the process (Ctrl-C, SIGTERM): also stops an indexing job.
    pub stop: StopFlag,
    /// When the server started.
    pub started: Instant,
    /// Wakes the refresher at once (after an index run).
    pub nudge: Mutex<Option<std::sync::mpsc::Sender<()>>>,
}

/// The state of the indexing job.
#[derive(Debug, Default, Clone, serde::Serialize)]
pub struct IndexJob {
    /// Whether a run is going on.
    pub running: bool,
    /// Files to analyse in the run.
    pub total: usize,
    /// Files finished.
    pub done: usize,
    /// Files that failed.
    pub failed: usize,
    /// Runs finished since the server started.
    pub runs: usize,
    /// The last run's summary, or why it could not run.
    pub last: Option<String>,
}

/// How clients name tracks.
pub enum Naming {
    /// Relative to one of these music folders (canonical, longest first).
    Roots(Vec<PathBuf>),
    /// As a shared catalogue stores them (`ROOT_NAME/relative/path`).
    #[cfg_attr(not(feature = "postgres"), allow(dead_code))]
    Catalogue,
}

impl Naming {
    /// A track's name for clients; `None` for one outside every folder (never shown).
    pub fn name_of(&self, path: &Path) -> Option<String> {
        match self {
            Self::Roots(roots) => name_of(roots, path),
            Self::Catalogue => path.to_str().map(str::to_owned),
        }
    }

    /// The track a client names, if the catalogue holds it.
    pub fn resolve(&self, index: &CatalogueIndex, name: &str) -> Option<TrackId> {
        match self {
            Self::Roots(roots) => resolve(index, roots, name),
            Self::Catalogue => safe_name(name)
                .then(|| index.id_of_path(Path::new(name)))
                .flatten(),
        }
    }

    /// The music folders, for absolute names (none for a shared catalogue).
    pub fn roots(&self) -> &[PathBuf] {
        match self {
            Self::Roots(r) => r,
            Self::Catalogue => &[],
        }
    }
}

/// What `/v1/status` reports of the catalogue.
pub struct CatalogueStatus {
    /// Model name.
    pub model: String,
    /// Model fingerprint.
    pub fingerprint: String,
    /// Tracks with a vector.
    pub tracks: usize,
    /// Albums.
    pub albums: usize,
    /// Seconds of audio.
    pub audio_s: f64,
    /// Folders and when each was indexed (SQLite).
    pub folders: Vec<(PathBuf, i64)>,
    /// Files that could not be analysed.
    pub failures: usize,
}

impl AppState {
    /// The month for `filterxmas`.
    pub fn month(&self) -> u32 {
        self.month
            .unwrap_or_else(|| u32::from(u8::from(time::OffsetDateTime::now_utc().month())))
    }

    /// Whether `POST /v1/index` can index (a library file; a shared catalogue has workers).
    pub fn indexes_itself(&self) -> bool {
        self.sqlite
    }

    /// The current snapshot.
    pub fn current(&self) -> Arc<Snapshot> {
        Arc::clone(&self.snapshot.read().unwrap_or_else(PoisonError::into_inner))
    }

    /// Runs `f` on the current snapshot: no lock is held while it runs, so requests answer in
    /// parallel and never wait for a refresh.
    ///
    /// # Errors
    /// [`sonority::Error::Query`] while the catalogue has no vector; `f`'s.
    pub fn query<T, E: From<sonority::Error>>(
        &self,
        _want_tempos: bool,
        f: impl FnOnce(&CatalogueIndex, &Naming, &HashMap<TrackId, f64>) -> Result<T, E>,
    ) -> Result<T, E> {
        let snap = self.current();
        let index = snap.index.as_ref().ok_or_else(|| sonority::Error::Query {
            reason: "the library has no analysed tracks yet: index a folder first".into(),
        })?;
        f(index, &snap.naming, &snap.tempos)
    }

    /// What the catalogue holds.
    ///
    /// # Errors
    /// The model's fingerprint.
    pub fn status(&self) -> Result<CatalogueStatus, sonority::Error> {
        let snap = self.current();
        let (tracks, albums, audio_s) = match &snap.index {
            Some(index) => {
                let audio_s = index.track_meta().iter().filter_map(|m| m.duration_s).sum();
                let albums = index.albums().map_or(0, |a| a.albums().len());
                (index.len(), albums, audio_s)
            }
            None => (0, 0, 0.0),
        };
        Ok(CatalogueStatus {
            model: self.model.name().to_owned(),
            fingerprint: self.model.fingerprint()?,
            tracks,
            albums,
            audio_s,
            folders: snap.folders.clone(),
            failures: snap.failures,
        })
    }

    /// Starts the thread that owns the catalogue's connection and swaps in a new snapshot
    /// whenever the catalogue changed (checked every quarter second, and at once after an
    /// index run). The first snapshot is built before this returns.
    ///
    /// # Errors
    /// The first snapshot's.
    pub fn start_refresher(state: &Arc<Self>, mut backend: Backend) -> sonority::Result<()> {
        let (tx, rx) = std::sync::mpsc::channel::<()>();
        *state.nudge.lock().unwrap_or_else(PoisonError::into_inner) = Some(tx);
        let mut seen = None;
        state.swap(refresh(&mut backend, &mut seen)?);
        let weak = Arc::downgrade(state);
        std::thread::spawn(move || {
            let mut last = Instant::now();
            loop {
                let nudged = match rx.recv_timeout(REFRESH_EVERY) {
                    Ok(()) => true,
                    Err(std::sync::mpsc::RecvTimeoutError::Timeout) => false,
                    Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => return,
                };
                let Some(state) = weak.upgrade() else { return };
                if state.stop.is_stopped() {
                    return;
                }
                // Under a stream of writes, one new snapshot a second at most (each costs a
                // few tens of milliseconds of one core at 10,000 tracks); at once when nudged.
                if !nudged && last.elapsed() < MIN_REBUILD_GAP {
                    continue;
                }
                match refresh(&mut backend, &mut seen) {
                    Ok(Some(snap)) => {
                        state.swap(Some(snap));
                        last = Instant::now();
                    }
                    Ok(None) => {}
                    // Kept: the last good snapshot; tried again next time.
                    Err(e) => eprintln!("refresh: {}", crate::error::one_line(&e.to_string())),
                }
            }
        });
        Ok(())
    }

    fn swap(&self, snap: Option<Snapshot>) {
        if let Some(snap) = snap {
            *self
                .snapshot
                .write()
                .unwrap_or_else(PoisonError::into_inner) = Arc::new(snap);
        }
    }

    /// Asks the refresher to look now.
    pub fn refresh_now(&self) {
        if let Some(tx) = self
            .nudge
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .as_ref()
        {
            let _ = tx.send(());
        }
    }

    /// Starts an incremental index run of every indexed folder on a thread of its own, with
    /// its own connection (queries go on meanwhile and see its tracks as batches commit).
    /// Returns `false` when one is running already.
    pub fn start_index(self: &Arc<Self>) -> bool {
        {
            let mut job = self.job.lock().unwrap_or_else(PoisonError::into_inner);
            if job.running {
                return false;
            }
            *job = IndexJob {
                running: true,
                runs: job.runs,
                last: job.last.clone(),
                ..IndexJob::default()
            };
        }
        let state = Arc::clone(self);
        std::thread::spawn(move || {
            let summary = state.run_index();
            let mut job = state.job.lock().unwrap_or_else(PoisonError::into_inner);
            job.running = false;
            job.runs += 1;
            job.last = Some(summary);
            drop(job);
            state.refresh_now();
        });
        true
    }

    fn run_index(&self) -> String {
        if !self.sqlite {
            return "error: a shared catalogue is indexed by its workers (`sonority index --db postgres://... --worker`)".into();
        }
        let mut lib = match Library::open(&self.db, self.model) {
            Ok(l) => l,
            Err(e) => return format!("error: {e}"),
        };
        let roots = match lib.store().roots() {
            Ok(r) => r,
            Err(e) => return format!("error: {e}"),
        };
        let (mut analysed, mut failed, mut pruned) = (0, 0, 0);
        for r in roots {
            let job = Arc::clone(&self.job);
            let res = lib.index(&r.path, &IndexOptions::default(), &self.stop, |p| {
                let mut j = job.lock().unwrap_or_else(PoisonError::into_inner);
                j.total = p.total;
                j.done = p.done;
                j.failed = p.failed;
            });
            match res {
                Ok(rep) => {
                    analysed += rep.analysed;
                    failed += rep.failed.len();
                    pruned += rep.pruned;
                }
                Err(e) => return format!("error: {}: {e}", r.path.display()),
            }
        }
        format!("{analysed} analysed, {failed} failed, {pruned} pruned")
    }
}

/// How often the refresher looks for changes.
const REFRESH_EVERY: std::time::Duration = std::time::Duration::from_millis(250);
/// The least time between two new snapshots while writes keep coming (not after an index run).
const MIN_REBUILD_GAP: std::time::Duration = std::time::Duration::from_secs(1);

/// The next snapshot, when the catalogue changed since `seen` (a SQLite `data_version`; a
/// PostgreSQL catalogue is asked for what its workers wrote).
fn refresh(backend: &mut Backend, seen: &mut Option<i64>) -> sonority::Result<Option<Snapshot>> {
    match backend {
        Backend::Sqlite(lib) => {
            let version = lib.store().data_version()?;
            if *seen == Some(version) {
                return Ok(None);
            }
            let index = match lib.with_catalogue(|index| Ok(index.clone())) {
                Ok(i) => Some(i),
                Err(sonority::Error::Query { .. }) => None,
                Err(e) => return Err(e),
            };
            let store = lib.store();
            let folders: Vec<(PathBuf, i64)> = store
                .roots()?
                .into_iter()
                .map(|r| (r.path, r.indexed_at_s))
                .collect();
            let mut roots: Vec<PathBuf> = folders.iter().map(|(p, _)| p.clone()).collect();
            roots.sort_by_key(|p| std::cmp::Reverse(p.as_os_str().len()));
            let snap = Snapshot {
                index,
                naming: Naming::Roots(roots),
                tempos: store.tempos()?.into_iter().collect(),
                folders,
                failures: store.errors()?.len(),
            };
            *seen = Some(version);
            Ok(Some(snap))
        }
        #[cfg(feature = "postgres")]
        Backend::Pg(pg) => {
            if !pg.changed()? {
                return Ok(None);
            }
            Ok(Some(Snapshot {
                index: pg.index().cloned(),
                naming: Naming::Catalogue,
                tempos: HashMap::new(),
                folders: Vec::new(),
                failures: pg.failures(),
            }))
        }
    }
}

#[cfg(feature = "postgres")]
pub mod pg {
    //! The shared PostgreSQL catalogue: loaded by the refresher, then refreshed with what
    //! workers wrote since, at most every quarter second.

    use sonority::distributed::PgCatalogueIndex;
    use sonority::ranking::CatalogueIndex;
    use sonority::store::PgStore;

    /// A connection to the catalogue and its loaded index.
    pub struct PgBackend {
        url: String,
        model: String,
        cat: Option<PgCatalogueIndex>,
        loaded: bool,
    }

    impl PgBackend {
        /// Connects (the index is loaded by the refresher: the catalogue may be empty yet).
        ///
        /// # Errors
        /// A catalogue that cannot be reached.
        pub fn connect(url: &str, model: &str) -> sonority::Result<Self> {
            drop(PgStore::connect(url)?);
            Ok(Self {
                url: url.to_owned(),
                model: model.to_owned(),
                cat: None,
                loaded: false,
            })
        }

        /// Loads the index, or applies what the workers wrote since; whether anything changed.
        ///
        /// # Errors
        /// Connection and index errors (a broken connection is opened again next time).
        pub fn changed(&mut self) -> sonority::Result<bool> {
            match self.cat.as_mut() {
                None => match PgCatalogueIndex::load(PgStore::connect(&self.url)?, &self.model) {
                    Ok(c) => {
                        self.cat = Some(c);
                        self.loaded = true;
                        Ok(true)
                    }
                    // No vector yet: an empty snapshot, once.
                    Err(sonority::Error::Query { .. }) => {
                        Ok(!std::mem::replace(&mut self.loaded, true))
                    }
                    Err(e) => Err(e),
                },
                Some(c) => match c.refresh() {
                    Ok((changed, removed)) => Ok(changed + removed > 0),
                    Err(e) => {
                        self.cat = None;
                        Err(e)
                    }
                },
            }
        }

        /// The loaded index.
        pub fn index(&self) -> Option<&CatalogueIndex> {
            self.cat.as_ref().map(PgCatalogueIndex::index)
        }

        /// Failed jobs of the queue (0 when they cannot be read).
        pub fn failures(&self) -> usize {
            self.cat
                .as_ref()
                .and_then(|c| c.store().failed_jobs().ok())
                .map_or(0, |f| f.len())
        }
    }
}

/// A track's name for clients: its path relative to the music folder it is under, with `/`;
/// `None` for a track outside every folder (never shown).
pub fn name_of(roots: &[PathBuf], path: &Path) -> Option<String> {
    roots.iter().find_map(|r| {
        let rel = path.strip_prefix(r).ok()?;
        let parts: Option<Vec<&str>> = rel.components().map(|c| c.as_os_str().to_str()).collect();
        parts.map(|p| p.join("/")).filter(|n| !n.is_empty())
    })
}

/// Whether a client's name is a plain relative path (no root, no `..`, no NUL), the only
/// kind ever looked up: nothing outside the music folders can be named.
pub fn safe_name(name: &str) -> bool {
    !name.is_empty()
        && !name.contains('\0')
        && Path::new(name)
            .components()
            .all(|c| matches!(c, Component::Normal(_) | Component::CurDir))
}

/// The track a client names (relative to one of the folders), if the library holds it.
pub fn resolve(index: &CatalogueIndex, roots: &[PathBuf], name: &str) -> Option<TrackId> {
    if !safe_name(name) {
        return None;
    }
    roots.iter().find_map(|r| {
        let id = Library::track_id(index, &r.join(name))?;
        // A symbolic link inside a folder must not lead to a track outside it.
        let t = index.track(id)?;
        t.record.file.path.starts_with(r).then_some(id)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_relative_and_never_escape() {
        let roots = vec![PathBuf::from("/m/deep"), PathBuf::from("/m")];
        assert_eq!(
            name_of(&roots, Path::new("/m/deep/a/b.ogg")).as_deref(),
            Some("a/b.ogg")
        );
        assert_eq!(
            name_of(&roots, Path::new("/m/x.cue/track0001")).as_deref(),
            Some("x.cue/track0001")
        );
        assert_eq!(name_of(&roots, Path::new("/other/x.ogg")), None);
        for bad in ["", "/etc/passwd", "../x.ogg", "a/../../x", "a\0b"] {
            assert!(!safe_name(bad), "{bad:?}");
        }
        for good in [
            "a.ogg",
            "Artist/Album/01 Song.flac",
            "./a.ogg",
            "x.cue/track0002",
        ] {
            assert!(safe_name(good), "{good:?}");
        }
    }
}
