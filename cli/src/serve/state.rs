//! What every request shares: the library (one connection, kept current by the catalogue's
//! change log), the music folders that names are relative to, the indexing job, the clock.

use std::path::{Component, Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Instant;

use sonority::store::TrackId;
use sonority::{CatalogueIndex, IndexOptions, Library, Model, StopFlag};

/// The shared state of the server.
pub struct AppState {
    /// The library, answering from every indexed folder; one query at a time.
    pub lib: Mutex<Library<'static>>,
    /// The model (for the indexing job's own library).
    pub model: &'static Model,
    /// The library file.
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

impl AppState {
    /// Locks the library (a panic elsewhere does not poison it for good).
    pub fn library(&self) -> std::sync::MutexGuard<'_, Library<'static>> {
        self.lib.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The month for `filterxmas`.
    pub fn month(&self) -> u32 {
        self.month
            .unwrap_or_else(|| u32::from(u8::from(time::OffsetDateTime::now_utc().month())))
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
        let roots = match self.library().store().roots() {
            Ok(r) => r,
            Err(e) => return format!("error: {e}"),
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
