//! Incremental indexing: which files are new, changed, unchanged, moved or gone.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

use rusqlite::params;

use crate::codec::{path_column, path_value, size_i64};
use crate::error::{Error, Result};
use crate::sqlite::SqliteStore;
use crate::types::{ContentHash, FileFacts, TrackId};

/// `KnownFile` is what the store remembers about a track's file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KnownFile {
    /// The track.
    pub id: TrackId,
    /// Stored path.
    pub path: PathBuf,
    /// Stored size in bytes.
    pub size_bytes: u64,
    /// Stored modification time, nanoseconds since the Unix epoch.
    pub mtime_ns: i64,
    /// Stored content hash, if one was recorded.
    pub content_hash: Option<ContentHash>,
}

/// `Moved` is a track recognised at a new path by its content hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Moved {
    /// The track, which keeps its id, analysis and vectors.
    pub id: TrackId,
    /// Where it was.
    pub from: PathBuf,
    /// Where it is now.
    pub to: FileFacts,
}

/// `ScanPlan` sorts a directory walk against the store: what to analyse, what to skip.
///
/// Made by [`SqliteStore::plan_scan`], refined by
/// [`SqliteStore::resolve_with_hashes`] (moves and touched files), applied by
/// [`SqliteStore::prune_gone`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ScanPlan {
    /// Files the store has never seen: analyse them.
    pub new: Vec<FileFacts>,
    /// Files whose last analysis failed (see [`SqliteStore::errors`]): analyse them again.
    pub retry: Vec<FileFacts>,
    /// Known files whose size or modification time differ: analyse them again
    /// (the stored track keeps its id).
    pub changed: Vec<(KnownFile, FileFacts)>,
    /// Known files with the same size and modification time: skip them.
    pub unchanged: Vec<TrackId>,
    /// Tracks whose file was not in the walk.
    pub gone: Vec<KnownFile>,
    /// Tracks found at a new path by [`SqliteStore::resolve_with_hashes`] (already updated).
    pub moved: Vec<Moved>,
    /// Recorded errors of paths that were not in the walk.
    pub stale_errors: Vec<PathBuf>,
}

impl ScanPlan {
    /// Number of files to analyse: `new + retry + changed`.
    #[must_use]
    pub fn to_analyse(&self) -> usize {
        self.new.len() + self.retry.len() + self.changed.len()
    }
}

impl SqliteStore {
    /// Sorts the files of a walk into new, retry, changed, unchanged and gone.
    ///
    /// Every stored track missing from `files` counts as gone; use
    /// [`plan_scan_under`](Self::plan_scan_under) when the walk covers one folder.
    /// Reads the store only.
    ///
    /// # Errors
    /// On a database error.
    ///
    /// # Examples
    /// ```
    /// use sonority_store::{FileFacts, SqliteStore};
    /// let store = SqliteStore::open_in_memory()?;
    /// let plan = store.plan_scan([FileFacts::new("/music/a.flac", 10, 0)])?;
    /// assert_eq!(plan.new.len(), 1);
    /// # Ok::<(), sonority_store::Error>(())
    /// ```
    pub fn plan_scan<I: IntoIterator<Item = FileFacts>>(&self, files: I) -> Result<ScanPlan> {
        self.plan(None, files)
    }

    /// As [`plan_scan`](Self::plan_scan), but only tracks and errors under `root`
    /// can be gone.
    ///
    /// # Errors
    /// On a database error.
    pub fn plan_scan_under<I: IntoIterator<Item = FileFacts>>(
        &self,
        root: impl AsRef<Path>,
        files: I,
    ) -> Result<ScanPlan> {
        self.plan(Some(root.as_ref()), files)
    }

    fn known_files(&self) -> Result<Vec<KnownFile>> {
        let mut st = self
            .conn
            .prepare_cached("SELECT id, path, size_bytes, mtime_ns, content_hash FROM tracks")
            .map_err(|e| self.sql(e))?;
        let rows = st
            .query_map([], |r| {
                let path = path_column(r, 1)?;
                let size: i64 = r.get(2)?;
                let hash: Option<[u8; 16]> = r.get(4)?;
                Ok(KnownFile {
                    id: TrackId(r.get(0)?),
                    path,
                    size_bytes: u64::try_from(size).unwrap_or(0),
                    mtime_ns: r.get(3)?,
                    content_hash: hash.map(ContentHash),
                })
            })
            .map_err(|e| self.sql(e))?;
        rows.collect::<Result<_, _>>().map_err(|e| self.sql(e))
    }

    fn plan<I: IntoIterator<Item = FileFacts>>(
        &self,
        root: Option<&Path>,
        files: I,
    ) -> Result<ScanPlan> {
        let (known, failed) = self.scan_state_impl()?;
        Ok(plan_from(known, failed, root, files))
    }

    /// The stored files and the paths with a recorded error, from one snapshot.
    pub(crate) fn scan_state_impl(&self) -> Result<(Vec<KnownFile>, Vec<PathBuf>)> {
        // One read transaction: tracks and errors from the same snapshot.
        let tx = self.conn.unchecked_transaction().map_err(|e| self.sql(e))?;
        let known = self.known_files()?;
        let failed = self.errors()?.into_iter().map(|e| e.path).collect();
        tx.finish().map_err(|e| self.sql(e))?;
        Ok((known, failed))
    }

    /// Uses content hashes to find moved files and files that were only touched.
    ///
    /// A new file with the size of a gone track is hashed; if the hash equals the gone
    /// track's, the track is moved to the new path (keeping its id, analysis and
    /// vectors) and listed in `moved`. A changed file with its old size and a stored
    /// hash is hashed; if the hash is unchanged its modification time is updated and it
    /// moves to `unchanged`. All updates are one transaction. Files whose hash fails
    /// stay where they were.
    ///
    /// # Errors
    /// On a database error (then nothing is updated and `plan` is unchanged).
    pub fn resolve_with_hashes(
        &mut self,
        plan: &mut ScanPlan,
        hash: &mut dyn FnMut(&Path) -> Result<ContentHash>,
    ) -> Result<()> {
        // Gone tracks with a hash, by size.
        let mut by_size: HashMap<u64, Vec<usize>> = HashMap::new();
        for (i, g) in plan.gone.iter().enumerate() {
            if g.content_hash.is_some() {
                by_size.entry(g.size_bytes).or_default().push(i);
            }
        }
        let mut moves: Vec<(usize, usize)> = Vec::new(); // (new index, gone index)
        let mut taken = HashSet::new();
        for (ni, f) in plan.new.iter().enumerate() {
            let Some(cands) = by_size.get(&f.size_bytes) else {
                continue;
            };
            if cands.iter().all(|gi| taken.contains(gi)) {
                continue;
            }
            let Ok(h) = hash(&f.path) else { continue };
            let hit = cands.iter().copied().find(|gi| {
                !taken.contains(gi) && plan.gone.get(*gi).and_then(|g| g.content_hash) == Some(h)
            });
            if let Some(gi) = hit {
                taken.insert(gi);
                moves.push((ni, gi));
            }
        }
        let mut touched: Vec<usize> = Vec::new();
        for (ci, (k, f)) in plan.changed.iter().enumerate() {
            if k.size_bytes != f.size_bytes || k.content_hash.is_none() {
                continue;
            }
            if hash(&f.path).ok() == k.content_hash {
                touched.push(ci);
            }
        }
        if moves.is_empty() && touched.is_empty() {
            return Ok(());
        }

        let path = self.path.clone();
        let sql = |e| Error::from_sqlite(&path, e);
        let tx = self.write_tx()?;
        {
            let mut mv = tx
                .prepare_cached(
                    "UPDATE tracks SET path = ?2, size_bytes = ?3, mtime_ns = ?4 WHERE id = ?1",
                )
                .map_err(sql)?;
            let mut clear_error = tx
                .prepare_cached("DELETE FROM file_errors WHERE path = ?1")
                .map_err(sql)?;
            for &(ni, gi) in &moves {
                if let (Some(f), Some(g)) = (plan.new.get(ni), plan.gone.get(gi)) {
                    let p = path_value(&f.path)?;
                    mv.execute(params![g.id.0, p, size_i64(f.size_bytes)?, f.mtime_ns])
                        .map_err(sql)?;
                    clear_error.execute([p]).map_err(sql)?;
                }
            }
            let mut touch = tx
                .prepare_cached("UPDATE tracks SET mtime_ns = ?2 WHERE id = ?1")
                .map_err(sql)?;
            for &ci in &touched {
                if let Some((k, f)) = plan.changed.get(ci) {
                    touch.execute(params![k.id.0, f.mtime_ns]).map_err(sql)?;
                }
            }
        }
        tx.commit().map_err(sql)?;

        // Apply to the plan, removing by descending index.
        let moved_new: HashSet<usize> = moves.iter().map(|m| m.0).collect();
        let moved_gone: HashSet<usize> = moves.iter().map(|m| m.1).collect();
        for &(ni, gi) in &moves {
            if let (Some(f), Some(g)) = (plan.new.get(ni), plan.gone.get(gi)) {
                plan.moved.push(Moved {
                    id: g.id,
                    from: g.path.clone(),
                    to: f.clone(),
                });
            }
        }
        plan.new = take_except(std::mem::take(&mut plan.new), &moved_new);
        plan.gone = take_except(std::mem::take(&mut plan.gone), &moved_gone);
        let touched: HashSet<usize> = touched.into_iter().collect();
        for &ci in &touched {
            if let Some((k, _)) = plan.changed.get(ci) {
                plan.unchanged.push(k.id);
            }
        }
        plan.changed = take_except(std::mem::take(&mut plan.changed), &touched);
        Ok(())
    }

    /// Deletes the gone tracks of a plan (with their analyses and vectors) and its
    /// stale errors, in one transaction; returns the number of tracks deleted.
    ///
    /// Call it only after a complete walk: a file on an unmounted drive looks gone.
    ///
    /// # Errors
    /// On a database error (then nothing is deleted).
    pub fn prune_gone(&mut self, plan: &ScanPlan) -> Result<usize> {
        let path = self.path.clone();
        let sql = |e| Error::from_sqlite(&path, e);
        let tx = self.write_tx()?;
        let mut n = 0;
        {
            let mut del = tx
                .prepare_cached("DELETE FROM tracks WHERE id = ?1")
                .map_err(sql)?;
            for g in &plan.gone {
                n += del.execute([g.id.0]).map_err(sql)?;
            }
            let mut del_err = tx
                .prepare_cached("DELETE FROM file_errors WHERE path = ?1")
                .map_err(sql)?;
            for p in &plan.stale_errors {
                del_err.execute([path_value(p)?]).map_err(sql)?;
            }
        }
        tx.commit().map_err(sql)?;
        Ok(n)
    }
}

/// Sorts a walk against the stored files and failed paths (shared by every catalogue).
pub(crate) fn plan_from<I: IntoIterator<Item = FileFacts>>(
    known: Vec<KnownFile>,
    failed: Vec<PathBuf>,
    root: Option<&Path>,
    files: I,
) -> ScanPlan {
    let mut known: HashMap<PathBuf, KnownFile> =
        known.into_iter().map(|k| (k.path.clone(), k)).collect();
    let mut failed: HashSet<PathBuf> = failed.into_iter().collect();
    let mut plan = ScanPlan::default();
    let mut seen = HashSet::new();
    for f in files {
        if !seen.insert(f.path.clone()) {
            continue;
        }
        let was_failed = failed.remove(&f.path);
        match known.remove(&f.path) {
            Some(k) if k.size_bytes == f.size_bytes && k.mtime_ns == f.mtime_ns => {
                plan.unchanged.push(k.id);
            }
            Some(k) => plan.changed.push((k, f)),
            None if was_failed => plan.retry.push(f),
            None => plan.new.push(f),
        }
    }
    let under = |p: &Path| root.is_none_or(|r| p.starts_with(r));
    plan.gone = known.into_values().filter(|k| under(&k.path)).collect();
    plan.gone.sort_by_key(|k| k.id);
    plan.stale_errors = failed.into_iter().filter(|p| under(p)).collect();
    plan.stale_errors.sort();
    plan
}

fn take_except<T>(v: Vec<T>, drop: &HashSet<usize>) -> Vec<T> {
    v.into_iter()
        .enumerate()
        .filter(|(i, _)| !drop.contains(i))
        .map(|(_, x)| x)
        .collect()
}
