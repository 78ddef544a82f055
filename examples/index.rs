//! Index a music folder into the embedded SQLite library.
//!
//! ```text
//! cargo run --release --example index -- ~/Music [--db library.sqlite] [--model DIR] [--threads N]
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
use sonority::parallel::StopFlag;
use sonority::{IndexOptions, Library};

/// Index a music folder into the embedded SQLite library.
#[derive(Parser, Debug)]
#[command(version, about)]
struct Args {
    /// The music folder.
    music_dir: PathBuf,
    /// The database (default: $SONORITY_DB or ~/.local/share/sonority/library.sqlite).
    #[arg(long)]
    db: Option<PathBuf>,
    /// A model directory made by the `train` example (default: the shipped model).
    #[arg(long)]
    model: Option<PathBuf>,
    /// Worker threads (default: all cores).
    #[arg(long)]
    threads: Option<usize>,
    /// Per-file time limit in seconds.
    #[arg(long, default_value_t = 600)]
    time_limit_s: u64,
}

fn main() {
    if let Err(e) = run() {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}

fn run() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse();
    let model = common::load_model(args.model.as_ref())?;
    let db = args.db.clone().unwrap_or_else(common::default_db);
    let mut lib = Library::open(&db, &model)?;
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
    println!(
        "indexing {} into {}",
        args.music_dir.display(),
        db.display()
    );
    let bar = common::index_bar();
    let report = lib.index(&args.music_dir, &opts, &stop, |p| {
        common::update_bar(&bar, p)
    })?;
    bar.finish_and_clear();
    common::print_summary(&report);
    Ok(())
}
