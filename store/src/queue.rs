//! The shared work queue: jobs claimed with `FOR UPDATE SKIP LOCKED` under expiring leases.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::error::{Error, Result};
use crate::pg::PgStore;
use crate::pg_catalogue::{path_bytes, path_from_bytes, write_analyses};
use crate::pg_error::pg_error;
use crate::roots::{RootMap, check_rel_path, check_root_name};
use crate::types::{AnalysedTrack, ContentHash, FileFacts, TrackId, TrackRecord};

/// `QueuedFile` is one file to enqueue: a path relative to a named root and what a walk
/// knows about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueuedFile {
    /// Path relative to the root (plain names only, no `..`).
    pub rel_path: PathBuf,
    /// Size in bytes.
    pub size_bytes: u64,
    /// Modification time in nanoseconds since the Unix epoch.
    pub mtime_ns: i64,
    /// Content hash, if computed (see [`content_hash`](crate::content_hash)).
    pub content_hash: Option<ContentHash>,
}

impl QueuedFile {
    /// Creates a queued file from explicit values.
    #[must_use]
    pub fn new(rel_path: impl Into<PathBuf>, size_bytes: u64, mtime_ns: i64) -> Self {
        Self {
            rel_path: rel_path.into(),
            size_bytes,
            mtime_ns,
            content_hash: None,
        }
    }

    /// Sets the content hash.
    #[must_use]
    pub fn with_content_hash(mut self, h: ContentHash) -> Self {
        self.content_hash = Some(h);
        self
    }

    /// Makes a queued file from walk facts of a file under `root_path`.
    ///
    /// # Errors
    /// [`Error::InvalidRelativePath`] if `facts.path` is not below `root_path`.
    pub fn from_facts(root_path: impl AsRef<Path>, facts: &FileFacts) -> Result<Self> {
        let rel = facts
            .path
            .strip_prefix(root_path)
            .map_err(|_| Error::InvalidRelativePath {
                path: facts.path.clone(),
            })?;
        check_rel_path(rel)?;
        Ok(Self::new(rel, facts.size_bytes, facts.mtime_ns))
    }
}

/// `Job` is a claimed file: analyse it, then [`complete`](PgStore::complete) or
/// [`fail`](PgStore::fail) it before its lease expires (or [`renew`](PgStore::renew) it).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Job {
    /// The job id.
    pub id: i64,
    /// The root name (see [`RootMap`]).
    pub root: String,
    /// The path relative to the root.
    pub rel_path: PathBuf,
    /// Size in bytes when enqueued.
    pub size_bytes: u64,
    /// Modification time when enqueued, nanoseconds since the Unix epoch.
    pub mtime_ns: i64,
    /// Content hash when enqueued, if computed.
    pub content_hash: Option<ContentHash>,
    /// How many times the job has been claimed, this claim included.
    pub attempts: u32,
    /// The worker holding the lease.
    pub worker: String,
    /// Identifies this claim: a later claim of the same job gets another token.
    pub lease_token: i64,
    /// The lease length, used again by [`renew`](PgStore::renew).
    pub lease: Duration,
}

impl Job {
    /// The path the catalogue stores this file under: `root/rel_path`, the same on
    /// every machine whatever its mount point.
    #[must_use]
    pub fn catalogue_path(&self) -> PathBuf {
        Path::new(&self.root).join(&self.rel_path)
    }

    /// Where this machine finds the file.
    ///
    /// # Errors
    /// [`Error::UnknownRoot`] or [`Error::InvalidRelativePath`].
    pub fn local_path(&self, roots: &RootMap) -> Result<PathBuf> {
        roots.resolve(&self.root, &self.rel_path)
    }

    /// The file's facts when enqueued, under its [`catalogue_path`](Self::catalogue_path).
    #[must_use]
    pub fn facts(&self) -> FileFacts {
        FileFacts::new(self.catalogue_path(), self.size_bytes, self.mtime_ns)
    }

    fn lost(&self) -> Error {
        Error::LeaseLost {
            job: self.id,
            worker: self.worker.clone(),
        }
    }
}

/// `QueueProgress` counts the jobs by state, as seen from any machine.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
#[non_exhaustive]
pub struct QueueProgress {
    /// Waiting to be claimed.
    pub pending: u64,
    /// Claimed under a lease that has not expired.
    pub in_flight: u64,
    /// Claimed under a lease that has expired (its worker died or stalled); claimable again.
    pub expired: u64,
    /// Analysed and committed.
    pub done: u64,
    /// Failed (see [`PgStore::failed_jobs`]).
    pub failed: u64,
    /// Seconds of audio in the done jobs.
    pub audio_seconds_done: f64,
    /// Jobs done in the last hour.
    pub done_last_hour: u64,
    /// Seconds of audio done in the last hour: divided by 3600, audio hours per hour.
    pub audio_seconds_last_hour: f64,
    /// Distinct workers holding an unexpired lease.
    pub active_workers: u64,
}

impl QueueProgress {
    /// All jobs.
    #[must_use]
    pub fn total(&self) -> u64 {
        self.pending + self.in_flight + self.expired + self.done + self.failed
    }

    /// Whether no job is left to do (all done or failed).
    #[must_use]
    pub fn is_finished(&self) -> bool {
        self.pending + self.in_flight + self.expired == 0
    }

    /// Audio hours analysed per wall-clock hour, over the last hour.
    #[must_use]
    pub fn audio_hours_per_hour(&self) -> f64 {
        self.audio_seconds_last_hour / 3600.0
    }
}

/// `FailedJob` is a job that failed, with its reason.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct FailedJob {
    /// The job id.
    pub id: i64,
    /// The root name.
    pub root: String,
    /// The path relative to the root.
    pub rel_path: PathBuf,
    /// Why it failed.
    pub error: String,
    /// How many times it was claimed.
    pub attempts: u32,
}

fn lease_secs(lease: Duration) -> f64 {
    lease.as_secs_f64().max(0.001)
}

fn job_from_row(r: &postgres::Row, worker: &str, lease: Duration) -> Job {
    Job {
        id: r.get(0),
        root: r.get(1),
        rel_path: path_from_bytes(r.get(2)),
        size_bytes: u64::try_from(r.get::<_, i64>(3)).unwrap_or(0),
        mtime_ns: r.get(4),
        content_hash: r
            .get::<_, Option<Vec<u8>>>(5)
            .and_then(|b| <[u8; 16]>::try_from(b.as_slice()).ok().map(ContentHash)),
        attempts: u32::try_from(r.get::<_, i32>(6)).unwrap_or(0),
        worker: worker.to_owned(),
        lease_token: r.get(7),
        lease,
    }
}

/// Locks the job's row if this claim still holds it; `LeaseLost` otherwise.
fn lock_own_job(tx: &mut postgres::Transaction<'_>, target: &str, job: &Job) -> Result<()> {
    let held = tx
        .query_opt(
            "SELECT 1 FROM jobs WHERE id = $1 AND state = 'running' AND lease_token = $2 FOR UPDATE",
            &[&job.id, &job.lease_token],
        )
        .map_err(|e| pg_error(target, e))?;
    if held.is_none() {
        return Err(job.lost());
    }
    Ok(())
}

impl PgStore {
    /// Records files of root `root` to analyse; returns how many jobs became pending.
    ///
    /// A new file becomes a pending job. A known one is queued again when its last
    /// attempt failed, or when its size, modification time or hash changed since it
    /// was done (or while it waits); a done, unchanged file and a running job are left
    /// alone. All files are written in one transaction.
    ///
    /// # Errors
    /// [`Error::InvalidRootMap`] for a bad root name, [`Error::InvalidRelativePath`],
    /// [`Error::OutOfRange`], or a database error; nothing is written then.
    ///
    /// # Examples
    /// ```no_run
    /// use sonority_store::{PgStore, QueuedFile};
    /// let mut store = PgStore::connect("postgres://indexer@db/music")?;
    /// let n = store.enqueue("music", &[QueuedFile::new("album/01.flac", 4_000_000, 0)])?;
    /// # Ok::<(), sonority_store::Error>(())
    /// ```
    pub fn enqueue(&mut self, root: &str, files: &[QueuedFile]) -> Result<usize> {
        check_root_name(root)?;
        let mut paths = Vec::with_capacity(files.len());
        let mut sizes = Vec::with_capacity(files.len());
        let mut mtimes = Vec::with_capacity(files.len());
        let mut hashes: Vec<Option<Vec<u8>>> = Vec::with_capacity(files.len());
        let mut seen = std::collections::HashSet::new();
        for f in files {
            check_rel_path(&f.rel_path)?;
            let p = path_bytes(&f.rel_path)?;
            if !seen.insert(p.clone()) {
                continue;
            }
            paths.push(p);
            sizes.push(crate::codec::size_i64(f.size_bytes)?);
            mtimes.push(f.mtime_ns);
            hashes.push(f.content_hash.map(|h| h.0.to_vec()));
        }
        self.in_tx(|tx, target| {
            let mut n = 0;
            for start in (0..paths.len()).step_by(10_000) {
                let end = (start + 10_000).min(paths.len());
                let (p, s, m, h) = (
                    paths.get(start..end).unwrap_or_default(),
                    sizes.get(start..end).unwrap_or_default(),
                    mtimes.get(start..end).unwrap_or_default(),
                    hashes.get(start..end).unwrap_or_default(),
                );
                n += tx
                    .execute(
                        "INSERT INTO jobs (root, rel_path, size_bytes, mtime_ns, content_hash)
                         SELECT $1, p, s, m, h
                         FROM unnest($2::bytea[], $3::int8[], $4::int8[], $5::bytea[]) AS u(p, s, m, h)
                         ON CONFLICT (root, rel_path) DO UPDATE SET
                            size_bytes = excluded.size_bytes, mtime_ns = excluded.mtime_ns,
                            content_hash = excluded.content_hash, state = 'pending',
                            attempts = 0, error = NULL, done_at = NULL, audio_s = NULL,
                            lease_owner = NULL, lease_token = NULL, lease_expires = NULL
                         WHERE jobs.state = 'failed'
                            OR (jobs.state IN ('done', 'pending')
                                AND (jobs.size_bytes, jobs.mtime_ns, jobs.content_hash)
                                    IS DISTINCT FROM
                                    (excluded.size_bytes, excluded.mtime_ns, excluded.content_hash))",
                        &[&root, &p, &s, &m, &h],
                    )
                    .map_err(|e| pg_error(target, e))?;
            }
            Ok(usize::try_from(n).unwrap_or(usize::MAX))
        })
    }

    /// Claims up to `n` jobs for `worker` under a lease of `lease`, oldest first.
    ///
    /// Pending jobs and jobs whose lease expired (their worker died) are claimable; rows
    /// another worker is claiming at the same moment are skipped (`FOR UPDATE SKIP
    /// LOCKED`), so workers never wait on each other or get the same job. A job whose
    /// lease has expired [`max_attempts`](crate::PgOptions::max_attempts) times is
    /// marked failed instead. An empty result means nothing is claimable now (see
    /// [`progress`](Self::progress) to tell "finished" from "all in flight").
    ///
    /// # Errors
    /// On a database error (then nothing is claimed).
    ///
    /// # Examples
    /// ```no_run
    /// use std::time::Duration;
    /// use sonority_store::{PgStore, RootMap};
    /// let mut store = PgStore::connect("postgres://indexer@db/music")?;
    /// let roots: RootMap = "music=/mnt/music".parse()?;
    /// for job in store.claim("host-a:1", 16, Duration::from_secs(300))? {
    ///     let path = job.local_path(&roots)?;
    ///     // analyse `path`, then store.complete(&job, &result)? or store.fail(&job, "why")?
    /// }
    /// # Ok::<(), sonority_store::Error>(())
    /// ```
    pub fn claim(&mut self, worker: &str, n: usize, lease: Duration) -> Result<Vec<Job>> {
        let limit = i64::try_from(n).unwrap_or(i64::MAX);
        let max_attempts = i32::try_from(self.opts.max_attempts).unwrap_or(i32::MAX);
        self.in_tx(|tx, target| {
            let pg = |e| pg_error(target, e);
            // Jobs that killed their worker too often fail instead of being claimed again.
            tx.execute(
                "WITH dead AS (
                    SELECT id FROM jobs
                    WHERE state = 'running' AND lease_expires < now() AND attempts >= $1
                    FOR UPDATE SKIP LOCKED)
                 UPDATE jobs j SET state = 'failed',
                    error = 'lease expired ' || j.attempts || ' times (did the worker crash on it?)',
                    lease_owner = NULL, lease_token = NULL, lease_expires = NULL
                 FROM dead WHERE j.id = dead.id",
                &[&max_attempts],
            )
            .map_err(pg)?;
            let rows = tx
                .query(
                    "WITH c AS (
                        SELECT id FROM jobs
                        WHERE state = 'pending' OR (state = 'running' AND lease_expires < now())
                        ORDER BY id LIMIT $2
                        FOR UPDATE SKIP LOCKED)
                     UPDATE jobs j SET state = 'running', lease_owner = $1,
                        lease_token = nextval('job_lease_tokens'),
                        lease_expires = now() + make_interval(secs => $3),
                        attempts = j.attempts + 1
                     FROM c WHERE j.id = c.id
                     RETURNING j.id, j.root, j.rel_path, j.size_bytes, j.mtime_ns,
                        j.content_hash, j.attempts, j.lease_token",
                    &[&worker, &limit, &lease_secs(lease)],
                )
                .map_err(pg)?;
            let mut jobs: Vec<Job> = rows
                .iter()
                .map(|r| job_from_row(r, worker, lease))
                .collect();
            jobs.sort_by_key(|j| j.id);
            Ok(jobs)
        })
    }

    /// Commits a job's result and its completion in one transaction, and returns the
    /// track's id.
    ///
    /// The track is stored under [`Job::catalogue_path`] (whatever `result.track.file.path`
    /// says), so every machine writes the same key; the job's content hash fills in a
    /// missing one. Everything is checked first (as in
    /// [`put_track_analyses`](crate::Catalogue::put_track_analyses)), including that this
    /// claim still holds the lease; a refused call writes nothing and leaves the job
    /// claimed (to be failed, or to expire).
    ///
    /// # Errors
    /// [`Error::LeaseLost`] if the lease was taken over (the job may be done by
    /// another worker), the errors of `put_track_analyses` (for example
    /// [`Error::DimensionMismatch`] when this worker's model differs from the
    /// catalogue's), or a database error.
    pub fn complete(&mut self, job: &Job, result: &AnalysedTrack<'_>) -> Result<TrackId> {
        let mut record: TrackRecord = result.track.clone();
        record.file.path = job.catalogue_path();
        if record.content_hash.is_none() {
            record.content_hash = job.content_hash;
        }
        let item = AnalysedTrack {
            track: &record,
            analysis: result.analysis,
            embeddings: result.embeddings,
        };
        self.in_tx(|tx, target| {
            lock_own_job(tx, target, job)?;
            let ids = write_analyses(tx, target, std::slice::from_ref(&item))?;
            let id = ids.first().copied().ok_or_else(|| job.lost())?;
            tx.execute(
                "UPDATE jobs SET state = 'done', done_at = now(), track_id = $2, audio_s = $3,
                    error = NULL, lease_owner = NULL, lease_token = NULL, lease_expires = NULL
                 WHERE id = $1",
                &[&job.id, &id.0, &record.duration_s],
            )
            .map_err(|e| pg_error(target, e))?;
            Ok(id)
        })
    }

    /// Marks a claimed job failed with `reason`, and records the reason in the
    /// catalogue's per-file errors (under [`Job::catalogue_path`]), in one transaction.
    /// The next [`enqueue`](Self::enqueue) of the file queues it again.
    ///
    /// # Errors
    /// [`Error::LeaseLost`] or a database error; nothing is written then.
    pub fn fail(&mut self, job: &Job, reason: &str) -> Result<()> {
        let path = path_bytes(&job.catalogue_path())?;
        let size = crate::codec::size_i64(job.size_bytes)?;
        self.in_tx(|tx, target| {
            lock_own_job(tx, target, job)?;
            let pg = |e| pg_error(target, e);
            tx.execute(
                "UPDATE jobs SET state = 'failed', error = $2,
                    lease_owner = NULL, lease_token = NULL, lease_expires = NULL
                 WHERE id = $1",
                &[&job.id, &reason],
            )
            .map_err(pg)?;
            tx.execute(
                "INSERT INTO file_errors (path, size_bytes, mtime_ns, reason, at_s)
                 VALUES ($1, $2, $3, $4, $5)
                 ON CONFLICT (path) DO UPDATE SET size_bytes = excluded.size_bytes,
                    mtime_ns = excluded.mtime_ns, reason = excluded.reason, at_s = excluded.at_s",
                &[&path, &size, &job.mtime_ns, &reason, &crate::codec::now_s()],
            )
            .map_err(pg)?;
            Ok(())
        })
    }

    /// Extends a claimed job's lease by its lease length from now (call it well before
    /// the lease ends when an analysis runs long).
    ///
    /// # Errors
    /// [`Error::LeaseLost`] if the lease was taken over, or a database error.
    pub fn renew(&mut self, job: &Job) -> Result<()> {
        let n = self
            .client()?
            .execute(
                "UPDATE jobs SET lease_expires = now() + make_interval(secs => $3)
                 WHERE id = $1 AND state = 'running' AND lease_token = $2",
                &[&job.id, &job.lease_token, &lease_secs(job.lease)],
            )
            .map_err(|e| self.pg(e))?;
        if n == 0 {
            return Err(job.lost());
        }
        Ok(())
    }

    /// Gives a claimed job back unprocessed (a worker shutting down): it is pending
    /// again and this attempt does not count.
    ///
    /// # Errors
    /// [`Error::LeaseLost`] or a database error.
    pub fn release(&mut self, job: &Job) -> Result<()> {
        let n = self
            .client()?
            .execute(
                "UPDATE jobs SET state = 'pending', attempts = greatest(attempts - 1, 0),
                    lease_owner = NULL, lease_token = NULL, lease_expires = NULL
                 WHERE id = $1 AND state = 'running' AND lease_token = $2",
                &[&job.id, &job.lease_token],
            )
            .map_err(|e| self.pg(e))?;
        if n == 0 {
            return Err(job.lost());
        }
        Ok(())
    }

    /// Counts the jobs by state, with audio throughput over the last hour.
    ///
    /// # Errors
    /// On a database error.
    pub fn progress(&self) -> Result<QueueProgress> {
        let r = self
            .client()?
            .query_one(
                "SELECT count(*) FILTER (WHERE state = 'pending'),
                    count(*) FILTER (WHERE state = 'running' AND lease_expires >= now()),
                    count(*) FILTER (WHERE state = 'running' AND lease_expires < now()),
                    count(*) FILTER (WHERE state = 'done'),
                    count(*) FILTER (WHERE state = 'failed'),
                    coalesce(sum(audio_s) FILTER (WHERE state = 'done'), 0),
                    count(*) FILTER (WHERE state = 'done' AND done_at > now() - interval '1 hour'),
                    coalesce(sum(audio_s) FILTER (WHERE state = 'done'
                        AND done_at > now() - interval '1 hour'), 0),
                    count(DISTINCT lease_owner) FILTER (WHERE state = 'running'
                        AND lease_expires >= now())
                 FROM jobs",
                &[],
            )
            .map_err(|e| self.pg(e))?;
        let u = |i: usize| u64::try_from(r.get::<_, i64>(i)).unwrap_or(0);
        Ok(QueueProgress {
            pending: u(0),
            in_flight: u(1),
            expired: u(2),
            done: u(3),
            failed: u(4),
            audio_seconds_done: r.get(5),
            done_last_hour: u(6),
            audio_seconds_last_hour: r.get(7),
            active_workers: u(8),
        })
    }

    /// Lists the failed jobs, by id.
    ///
    /// # Errors
    /// On a database error.
    pub fn failed_jobs(&self) -> Result<Vec<FailedJob>> {
        let rows = self
            .client()?
            .query(
                "SELECT id, root, rel_path, coalesce(error, ''), attempts FROM jobs
                 WHERE state = 'failed' ORDER BY id",
                &[],
            )
            .map_err(|e| self.pg(e))?;
        Ok(rows
            .iter()
            .map(|r| FailedJob {
                id: r.get(0),
                root: r.get(1),
                rel_path: path_from_bytes(r.get(2)),
                error: r.get(3),
                attempts: u32::try_from(r.get::<_, i32>(4)).unwrap_or(0),
            })
            .collect())
    }
}
