//! What every request shares: the catalogue (a SQLite library file, or a shared PostgreSQL
//! catalogue), how tracks are named, the indexing job, the clock.

use std::collections::HashMap;
use std::path::{Component, Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Instant;

use sonority::store::TrackId;
use sonority::{CatalogueIndex, IndexOptions, Library, Model, StopFlag};

/// Where the vectors come from.
pub enum Backend {
    /// A SQLite library file: one connection, kept current by the store's change log.
    Sqlite(Box<Mutex<Library<'static>>>),
    /// A shared PostgreSQL catalogue that workers index into.
    #[cfg(feature = "postgres")]
    Pg(Box<Mutex<pg::PgBackend>>),
}

/// The shared state of the server.
pub struct AppState {
    /// The catalogue.
    pub backend: Backend,
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
        matches!(self.backend, Backend::Sqlite(_))
    }

    /// Runs `f` on the up-to-date catalogue index, with the naming and (when asked) every
    /// track's tempo. Blocking: call it off the async workers.
    ///
    /// # Errors
    /// The catalogue's (an empty one included), or `f`'s.
    pub fn query<T, E: From<sonority::Error>>(
        &self,
        want_tempos: bool,
        f: impl FnOnce(&CatalogueIndex, &Naming, HashMap<TrackId, f64>) -> Result<T, E>,
    ) -> Result<T, E> {
        match &self.backend {
            Backend::Sqlite(lib) => {
                let lib = lib.lock().unwrap_or_else(PoisonError::into_inner);
                let naming = Naming::Roots(roots(&lib));
                let tempos = if want_tempos {
                    lib.store()
                        .tempos()
                        .map_err(sonority::Error::from)?
                        .into_iter()
                        .collect()
                } else {
                    HashMap::new()
                };
                let mut f = Some(f);
                let mut out = None;
                lib.with_catalogue(|index| {
                    out = f.take().map(|f| f(index, &naming, tempos));
                    Ok(())
                })?;
                out.unwrap_or_else(|| {
                    Err(sonority::Error::Query {
                        reason: "no answer".into(),
                    }
                    .into())
                })
            }
            #[cfg(feature = "postgres")]
            Backend::Pg(pg) => {
                let mut pg = pg.lock().unwrap_or_else(PoisonError::into_inner);
                let index = pg.current()?;
                f(index, &Naming::Catalogue, HashMap::new())
            }
        }
    }

    /// What the catalogue holds.
    ///
    /// # Errors
    /// The catalogue's.
    pub fn status(&self) -> Result<CatalogueStatus, sonority::Error> {
        match &self.backend {
            Backend::Sqlite(lib) => {
                let lib = lib.lock().unwrap_or_else(PoisonError::into_inner);
                let st = lib.status()?;
                Ok(CatalogueStatus {
                    model: st.model,
                    fingerprint: st.fingerprint,
                    tracks: st.tracks,
                    albums: st.albums,
                    audio_s: st.audio_s,
                    folders: st
                        .roots
                        .into_iter()
                        .map(|r| (r.path, r.indexed_at_s))
                        .collect(),
                    failures: st.failures.len(),
                })
            }
            #[cfg(feature = "postgres")]
            Backend::Pg(pg) => {
                let mut pg = pg.lock().unwrap_or_else(PoisonError::into_inner);
                let failures = pg.failures();
                let (tracks, albums, audio_s) = match pg.current() {
                    Ok(index) => {
                        let audio_s = index.track_meta().iter().filter_map(|m| m.duration_s).sum();
                        let albums = index.albums().map_or(0, |a| a.albums().len());
                        (index.len(), albums, audio_s)
                    }
                    Err(sonority::Error::Query { .. }) => (0, 0, 0.0),
                    Err(e) => return Err(e),
                };
                Ok(CatalogueStatus {
                    model: self.model.name().to_owned(),
                    fingerprint: self.model.fingerprint()?,
                    tracks,
                    albums,
                    audio_s,
                    folders: Vec::new(),
                    failures,
                })
            }
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
        });
        true
    }

    fn run_index(&self) -> String {
        let roots = match &self.backend {
            Backend::Sqlite(lib) => match lib
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .store()
                .roots()
            {
                Ok(r) => r,
                Err(e) => return format!("error: {e}"),
            },
            #[cfg(feature = "postgres")]
            Backend::Pg(_) => {
                return "error: a shared catalogue is indexed by its workers (`sonority index --db postgres://... --worker`)".into();
            }
        };
        let mut lib = match Library::open(&self.db, self.model) {
            Ok(l) => l,
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

#[cfg(feature = "postgres")]
pub mod pg {
    //! The shared PostgreSQL catalogue: loaded on the first query, then refreshed with what
    //! workers wrote since, at most every quarter second.

    use std::time::{Duration, Instant};

    use sonority::CatalogueIndex;
    use sonority::distributed::PgCatalogueIndex;
    use sonority::store::PgStore;

    /// How often the catalogue is asked for new vectors, at most.
    const REFRESH_EVERY: Duration = Duration::from_millis(250);

    /// A connection to the catalogue and its loaded index.
    pub struct PgBackend {
        url: String,
        model: String,
        cat: Option<PgCatalogueIndex>,
        refreshed: Instant,
    }

    impl PgBackend {
        /// Connects (the index is loaded on the first query: the catalogue may be empty yet).
        ///
        /// # Errors
        /// A catalogue that cannot be reached.
        pub fn connect(url: &str, model: &str) -> sonority::Result<Self> {
            drop(PgStore::connect(url)?);
            Ok(Self {
                url: url.to_owned(),
                model: model.to_owned(),
                cat: None,
                refreshed: Instant::now(),
            })
        }

        /// The index, loaded or refreshed as needed.
        ///
        /// # Errors
        /// Connection errors; [`sonority::Error::Query`] while the catalogue has no vector.
        pub fn current(&mut self) -> sonority::Result<&CatalogueIndex> {
            let stale = self.refreshed.elapsed() >= REFRESH_EVERY;
            if self.cat.is_none() {
                self.cat = Some(PgCatalogueIndex::load(
                    PgStore::connect(&self.url)?,
                    &self.model,
                )?);
                self.refreshed = Instant::now();
            } else if stale && let Some(c) = self.cat.as_mut() {
                if let Err(e) = c.refresh() {
                    // A broken connection: load again on the next query.
                    self.cat = None;
                    return Err(e);
                }
                self.refreshed = Instant::now();
            }
            self.cat
                .as_ref()
                .map(PgCatalogueIndex::index)
                .ok_or_else(|| sonority::Error::Query {
                    reason: "the catalogue is not loaded".into(),
                })
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

/// The music folders of the library (canonical), longest first so that a nested folder wins.
pub fn roots(lib: &Library<'_>) -> Vec<PathBuf> {
    let mut r: Vec<PathBuf> = lib
        .store()
        .roots()
        .map(|rs| rs.into_iter().map(|r| r.path).collect())
        .unwrap_or_default();
    r.sort_by_key(|p| std::cmp::Reverse(p.as_os_str().len()));
    r
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
