//! A shared PostgreSQL catalogue (`--db postgres://...`, build with `--features postgres`):
//! `index --enqueue DIR`, `index --worker`, `index --queue-status`, and `similar` answered
//! from the catalogue. See `docs/distributed.md` for the set-up.

use std::path::PathBuf;

use clap::Args;

/// The PostgreSQL options of `index`.
#[derive(Args, Debug, Clone, Default)]
#[command(next_help_heading = "PostgreSQL catalogue (--db postgres://..., --features postgres)")]
pub struct PgIndexArgs {
    /// Record the audio files under this folder as jobs of the shared queue.
    #[arg(long, value_name = "MUSIC_DIR")]
    pub enqueue: Option<PathBuf>,
    /// The root name the enqueued folder is known by on every machine.
    #[arg(long, default_value = "music")]
    pub root_name: String,
    /// Claim and analyse jobs until the queue is finished.
    #[arg(long)]
    pub worker: bool,
    /// Where this machine mounts each root (`music=/mnt/music,b=/data/b`).
    #[arg(long, default_value = "")]
    pub roots: String,
    /// Keep polling for new jobs instead of exiting when the queue is done.
    #[arg(long)]
    pub follow: bool,
    /// Lease of a claimed job in seconds (renewed while it runs).
    #[arg(long, default_value_t = 300)]
    pub lease_s: u64,
    /// Print the queue's progress and failed jobs (`--status` too, as the old example had it).
    #[arg(long, alias = "status")]
    pub queue_status: bool,
}

impl PgIndexArgs {
    /// Whether any PostgreSQL-only option is given.
    pub fn any(&self) -> bool {
        self.enqueue.is_some() || self.worker || self.queue_status
    }
}

/// The PostgreSQL options of `similar`.
#[derive(Args, Debug, Clone, Default)]
#[command(next_help_heading = "PostgreSQL catalogue (--db postgres://..., --features postgres)")]
pub struct PgQueryArgs {
    /// Where this machine mounts each root (`music=/mnt/music`), to name anchors by their
    /// local path; catalogue names (`music/album/song.flac`) work too.
    #[arg(long, default_value = "")]
    pub roots: String,
}

#[cfg(not(feature = "postgres"))]
mod imp {
    use super::{PgIndexArgs, PgQueryArgs};
    use crate::args::Settings;
    use crate::error::{CliError, Result};

    fn needs() -> CliError {
        CliError::option(
            "--db",
            "a postgres:// catalogue needs the PostgreSQL client: install with --features postgres",
        )
    }

    /// Without the feature: an error naming it.
    pub fn index(
        _: &Settings,
        _: &PgIndexArgs,
        _: Option<usize>,
        _: &sonority::StopFlag,
    ) -> Result<()> {
        Err(needs())
    }

    /// Without the feature: an error naming it.
    pub fn similar(
        _: &Settings,
        _: &PgQueryArgs,
        _: &[std::path::PathBuf],
        _: usize,
        _: bool,
        _: bool,
    ) -> Result<()> {
        Err(needs())
    }
}

#[cfg(feature = "postgres")]
mod imp {
    use std::time::{Duration, Instant};

    use sonority::StopFlag;
    use sonority::distributed::{
        PgCatalogueIndex, WorkerOptions, enqueue_folder, queue_status, run_worker,
    };
    use sonority::store::{PgStore, QueueProgress, RootMap};

    use super::{PgIndexArgs, PgQueryArgs};
    use crate::args::Settings;
    use crate::error::{CliError, Result};
    use crate::output::{Document, TrackJson};

    /// The two blocks that made a recommendation closest, as `similar` prints them for a
    /// library file (`commands::similar`).
    fn why(explanation: &[(String, f32)]) -> String {
        let why: Vec<String> = explanation
            .iter()
            .filter(|(_, c)| *c > 0.0)
            .take(2)
            .map(|(n, c)| format!("{n} {c:+.2}"))
            .collect();
        if why.is_empty() {
            String::new()
        } else {
            format!("closest in {}", why.join(", "))
        }
    }

    fn url(s: &Settings) -> &str {
        s.db.to_str().unwrap_or_default()
    }

    fn line(q: &QueueProgress) -> String {
        format!(
            "{}/{} done, {} failed, {} in flight, {} pending, {} expired; {:.2} h of audio, {:.1} audio h/h over the last hour, {} active workers",
            q.done,
            q.total(),
            q.failed,
            q.in_flight,
            q.pending,
            q.expired,
            q.audio_seconds_done / 3600.0,
            q.audio_hours_per_hour(),
            q.active_workers
        )
    }

    /// `index --enqueue`, `--worker` and `--queue-status` against the catalogue.
    ///
    /// # Errors
    /// Connection, queue and analysis errors.
    pub fn index(
        s: &Settings,
        a: &PgIndexArgs,
        threads: Option<usize>,
        stop: &StopFlag,
    ) -> Result<()> {
        if !a.any() {
            return Err(CliError::option(
                "--db",
                "with a postgres:// catalogue, give --enqueue DIR, --worker or --queue-status",
            ));
        }
        let mut store = PgStore::connect(url(s))?;
        let threads = threads
            .or(s.config.threads)
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(2, usize::from));
        if let Some(dir) = &a.enqueue {
            crate::args::check_folder(dir)?;
            eprintln!(
                "enqueueing {} as root {:?} into {}",
                dir.display(),
                a.root_name,
                store.target()
            );
            let r = enqueue_folder(&mut store, &a.root_name, dir, threads)?;
            eprintln!(
                "{} audio files found, {} queued (new, changed or failed before) in {:.1} s, {} skipped",
                r.found,
                r.queued,
                r.elapsed_s,
                r.skipped.len()
            );
            for sk in &r.skipped {
                eprintln!("  skipped: {}: {}", sk.path.display(), sk.reason);
            }
        }
        if a.worker {
            let model = s.load_model()?;
            let roots = RootMap::parse(&a.roots)?;
            let opts = WorkerOptions::default()
                .with_threads(threads)
                .with_follow(a.follow)
                .with_lease(Duration::from_secs(a.lease_s.max(1)));
            eprintln!(
                "worker {} on {} with {threads} threads",
                opts.name,
                store.target()
            );
            let report = run_worker(url(s), &model, &roots, &opts, stop, |p| {
                eprint!(
                    "\rthis worker: {} done, {} failed, {} in flight; queue: {} pending   ",
                    p.done,
                    p.failed.len(),
                    p.in_flight,
                    p.queue.pending
                );
            })?;
            eprintln!(
                "\nthis worker: {} done, {} failed, {} lost leases, {:.2} h of audio in {:.1} s",
                report.done,
                report.failed.len(),
                report.lost,
                report.audio_s / 3600.0,
                report.elapsed_s
            );
            for (path, reason) in &report.failed {
                eprintln!(
                    "  failed: {}: {}",
                    path.display(),
                    crate::error::one_line(reason)
                );
            }
            eprintln!("queue: {}", line(&report.queue));
        }
        if a.queue_status {
            println!("{}: {}", store.target(), line(&queue_status(&store)?));
            for f in store.failed_jobs()?.iter().take(50) {
                println!(
                    "  failed: {}/{} (after {} attempts): {}",
                    f.root,
                    f.rel_path.display(),
                    f.attempts,
                    crate::error::one_line(&f.error)
                );
            }
        }
        Ok(())
    }

    /// `similar` from the catalogue: one bulk load, then the `k` tracks most like `anchors`
    /// (never of their album with `exclude_album`), printed as text or JSON.
    ///
    /// # Errors
    /// Connection, analysis and ranking errors.
    pub fn similar(
        s: &Settings,
        p: &PgQueryArgs,
        anchors: &[std::path::PathBuf],
        k: usize,
        exclude_album: bool,
        json: bool,
    ) -> Result<()> {
        let model = s.load_model()?;
        let roots = RootMap::parse(&p.roots)?;
        let catalogue = PgCatalogueIndex::load(PgStore::connect(url(s))?, model.name())?;
        let t = Instant::now();
        let recs = catalogue.recommend(&model, &roots, anchors, k, exclude_album)?;
        let secs = t.elapsed().as_secs_f64();
        if json {
            return Document::new("similar", anchors, secs, TrackJson::recommendations(&recs))
                .print();
        }
        let rows: Vec<_> = recs
            .iter()
            .map(|r| (&r.track, r.score, why(&r.explanation)))
            .collect();
        crate::output::print_list(
            &format!("Tracks most like the anchor(s) ({:.0} ms):", secs * 1e3),
            &rows,
        );
        Ok(())
    }
}

pub use imp::{index, similar};
