//! Index a music folder into the embedded SQLite library.
//!
//! ```text
//! cargo run --release --example index -- ~/Music [--db library.sqlite] [--model DIR] [--threads N]
//! ```
//!
//! With a shared PostgreSQL catalogue (`--features postgres`, see `docs/distributed.md`):
//!
//! ```text
//! cargo run --release --features postgres --example index -- --db postgres://... --enqueue ~/Music --root-name music
//! cargo run --release --features postgres --example index -- --db postgres://... --worker --roots music=/mnt/music [--threads N] [--follow]
//! cargo run --release --features postgres --example index -- --db postgres://... --status
//! ```
//!
//! Analyses every new or changed audio file on all cores (unchanged files are skipped, moved
//! files recognised by their content, deleted files pruned), with a progress bar, and prints a
//! summary of failures. Ctrl-C stops cleanly: everything analysed so far is kept, and the next
//! run finishes the job.

mod common;

use std::path::PathBuf;
use std::time::Duration;

use clap::Parser;
use sonority::IndexOptions;
use sonority::StopFlag;

/// Index a music folder into the embedded SQLite library.
#[derive(Parser, Debug)]
#[command(version, about)]
struct Args {
    /// The music folder.
    #[arg(required_unless_present_any = ["enqueue", "worker", "status"])]
    music_dir: Option<PathBuf>,
    /// The database (default: $SONORITY_DB or ~/.local/share/sonority/library.sqlite), or a
    /// `postgres://` URL of a shared catalogue (needs `--features postgres`).
    #[arg(long)]
    db: Option<PathBuf>,
    /// A model directory made by the `train` example (default: the shipped model).
    #[arg(long)]
    model: Option<PathBuf>,
    /// Replace the vectors of a same-named model with other weights (analyse every track
    /// again) instead of refusing to mix them.
    #[arg(long)]
    reanalyse: bool,
    /// Worker threads (default: all cores).
    #[arg(long)]
    threads: Option<usize>,
    /// Per-file time limit in seconds.
    #[arg(long, default_value_t = 600)]
    time_limit_s: u64,
    /// PostgreSQL: record the audio files under this folder as jobs.
    #[arg(long, value_name = "MUSIC_DIR")]
    enqueue: Option<PathBuf>,
    /// PostgreSQL: the root name the enqueued folder is known by on every machine.
    #[arg(long, default_value = "music")]
    root_name: String,
    /// PostgreSQL: claim and analyse jobs until the queue is finished.
    #[arg(long)]
    worker: bool,
    /// PostgreSQL worker: where this machine mounts each root (`music=/mnt/music,b=/data/b`).
    #[arg(long, default_value = "")]
    roots: String,
    /// PostgreSQL worker: keep polling for new jobs instead of exiting when the queue is done.
    #[arg(long)]
    follow: bool,
    /// PostgreSQL worker: lease of a claimed job in seconds (renewed while it runs).
    #[arg(long, default_value_t = 300)]
    lease_s: u64,
    /// PostgreSQL: print the queue's progress and failed jobs.
    #[arg(long)]
    status: bool,
}

fn main() {
    if let Err(e) = run() {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}

fn run() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse();
    if args.db.as_ref().is_some_and(|d| common::is_postgres_url(d)) {
        return distributed(&args);
    }
    if args.enqueue.is_some() || args.worker || args.status {
        return Err("--enqueue, --worker and --status need --db postgres://...".into());
    }
    let music_dir = args.music_dir.clone().ok_or("give the music folder")?;
    let model = common::load_model(args.model.as_ref())?;
    let db = args.db.clone().unwrap_or_else(common::default_db);
    let mut lib = common::open_library(&db, &model, args.reanalyse)?;
    let stop = StopFlag::new();
    let handler_stop = stop.clone();
    ctrlc::set_handler(move || {
        eprintln!("\nstopping after the files in progress (Ctrl-C again to abort)...");
        if handler_stop.is_stopped() {
            std::process::exit(130);
        }
        handler_stop.stop();
    })?;
    let mut opts = IndexOptions::default().with_time_limit(Duration::from_secs(args.time_limit_s));
    if let Some(t) = args.threads {
        opts = opts.with_threads(t);
    }
    println!("indexing {} into {}", music_dir.display(), db.display());
    let bar = common::index_bar();
    let report = lib.index(&music_dir, &opts, &stop, |p| common::update_bar(&bar, p))?;
    bar.finish_and_clear();
    common::print_summary(&report);
    Ok(())
}

#[cfg(not(feature = "postgres"))]
fn distributed(_: &Args) -> Result<(), Box<dyn std::error::Error>> {
    Err(common::NEEDS_POSTGRES_FEATURE.into())
}

/// `--enqueue`, `--worker` and `--status` against a shared PostgreSQL catalogue.
#[cfg(feature = "postgres")]
fn distributed(args: &Args) -> Result<(), Box<dyn std::error::Error>> {
    use sonority::distributed::{WorkerOptions, enqueue_folder, queue_status, run_worker};
    use sonority::store::{PgStore, QueueProgress, RootMap};

    let url = args
        .db
        .as_ref()
        .and_then(|d| d.to_str())
        .unwrap_or_default();
    let mut store = PgStore::connect(url)?;
    let threads = args
        .threads
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(2, usize::from));
    let line = |q: &QueueProgress| {
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
    };
    if let Some(dir) = &args.enqueue {
        println!(
            "enqueueing {} as root {:?} into {}",
            dir.display(),
            args.root_name,
            store.target()
        );
        let r = enqueue_folder(&mut store, &args.root_name, dir, threads)?;
        println!(
            "{} audio files found, {} queued (new, changed or failed before) in {:.1} s, {} skipped",
            r.found,
            r.queued,
            r.elapsed_s,
            r.skipped.len()
        );
        for s in &r.skipped {
            println!("  skipped: {}: {}", s.path.display(), s.reason);
        }
    }
    if args.worker {
        let model = common::load_model(args.model.as_ref())?;
        let roots = RootMap::parse(&args.roots)?;
        let opts = WorkerOptions::default()
            .with_threads(threads)
            .with_follow(args.follow)
            .with_lease(Duration::from_secs(args.lease_s))
            .with_time_limit(Duration::from_secs(args.time_limit_s));
        let stop = StopFlag::new();
        let handler_stop = stop.clone();
        ctrlc::set_handler(move || {
            eprintln!("\nstopping after the files in progress (Ctrl-C again to abort)...");
            if handler_stop.is_stopped() {
                std::process::exit(130);
            }
            handler_stop.stop();
        })?;
        println!(
            "worker {} on {} with {threads} threads",
            opts.name,
            store.target()
        );
        let bar = common::index_bar();
        let report = run_worker(url, &model, &roots, &opts, &stop, |p| {
            bar.set_length(p.queue.total());
            bar.set_position(p.queue.done + p.queue.failed);
            bar.set_message(format!(
                "this worker: {} done, {} failed, {} in flight, {:.1} audio h/h; queue: {} in flight, {} pending",
                p.done,
                p.failed.len(),
                p.in_flight,
                p.audio_hours_per_hour(),
                p.queue.in_flight,
                p.queue.pending
            ));
        })?;
        bar.finish_and_clear();
        println!(
            "this worker: {} done, {} failed, {} lost leases, {:.2} h of audio in {:.1} s ({:.1} audio h/h)",
            report.done,
            report.failed.len(),
            report.lost,
            report.audio_s / 3600.0,
            report.elapsed_s,
            report.audio_hours_per_hour()
        );
        for (path, reason) in &report.failed {
            println!("  failed: {}: {reason}", path.display());
        }
        println!("queue: {}", line(&report.queue));
    }
    if args.status {
        println!("{}: {}", store.target(), line(&queue_status(&store)?));
        for f in store.failed_jobs()?.iter().take(50) {
            println!(
                "  failed: {}/{} (after {} attempts): {}",
                f.root,
                f.rel_path.display(),
                f.attempts,
                f.error
            );
        }
    }
    Ok(())
}
