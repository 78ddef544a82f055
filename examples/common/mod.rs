//! Helpers shared by the examples: default paths, the model, the progress bar.
#![allow(dead_code)]

mod library_args;
mod output;
// Not every example uses every helper.
#[allow(unused_imports)]
pub use library_args::*;
#[allow(unused_imports)]
pub use output::*;

use std::path::PathBuf;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};
use sonority::{IndexProgress, IndexReport, Model};

/// The error of a `postgres://` database in a build without the `postgres` feature.
pub const NEEDS_POSTGRES_FEATURE: &str =
    "a postgres:// database needs the PostgreSQL client: rebuild with --features postgres";

/// The default database: `$SONORITY_DB`, else `$XDG_DATA_HOME/sonority/library.sqlite`, else
/// `~/.local/share/sonority/library.sqlite`, else `./sonority-library.sqlite`.
pub fn default_db() -> PathBuf {
    if let Some(p) = std::env::var_os("SONORITY_DB") {
        return PathBuf::from(p);
    }
    let base = std::env::var_os("XDG_DATA_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/share")));
    match base {
        Some(b) => b.join("sonority/library.sqlite"),
        None => PathBuf::from("sonority-library.sqlite"),
    }
}

/// The model in `dir`, or the shipped default.
pub fn load_model(dir: Option<&PathBuf>) -> Result<Model, sonority::Error> {
    match dir {
        Some(d) => Model::load(d),
        None => Model::load_default(),
    }
}

/// Opens the SQLite library for `model`; with `reanalyse`, a same-named model with other
/// weights is replaced (its vectors deleted, every track analysed again) instead of refused.
pub fn open_library<'m>(
    db: &std::path::Path,
    model: &'m Model,
    reanalyse: bool,
) -> Result<sonority::Library<'m>, sonority::Error> {
    if !reanalyse {
        return sonority::Library::open(db, model);
    }
    let (lib, deleted) = sonority::Library::open_replacing(db, model)?;
    if deleted > 0 {
        println!(
            "replaced {deleted} vectors of another model named {:?}: every track is analysed again",
            model.name()
        );
    }
    Ok(lib)
}

/// A progress bar for indexing: files, audio hours, rate, ETA.
pub fn index_bar() -> ProgressBar {
    let bar = ProgressBar::new(0);
    bar.set_style(
        ProgressStyle::with_template(
            "{spinner} [{elapsed_precise}] {bar:30} {pos}/{len} files, {msg} (ETA {eta})",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    bar.enable_steady_tick(Duration::from_millis(250));
    bar
}

/// Updates the bar from an indexing report.
pub fn update_bar(bar: &ProgressBar, p: &IndexProgress) {
    bar.set_length(p.total as u64);
    bar.set_position(p.done as u64);
    let rate = p.audio_s / bar.elapsed().as_secs_f64().max(1e-3);
    bar.set_message(format!(
        "{:.2} h of audio, {:.0}x real time, {} failed",
        p.audio_s / 3600.0,
        rate,
        p.failed
    ));
}

/// Prints the end-of-run summary, failures included.
pub fn print_summary(r: &IndexReport) {
    println!(
        "indexed {} new or changed files ({:.2} h of audio) in {:.1} s ({:.0}x real time); {} unchanged, {} moved, {} pruned, {} failed, {} skipped{}",
        r.analysed,
        r.audio_s / 3600.0,
        r.elapsed_s,
        r.audio_s / r.elapsed_s.max(1e-9),
        r.unchanged,
        r.moved,
        r.pruned,
        r.failed.len(),
        r.skipped.len(),
        if r.stopped {
            " (stopped early: the rest will be analysed next time)"
        } else {
            ""
        }
    );
    for (path, reason) in &r.failed {
        println!("  failed: {}: {reason}", path.display());
    }
    for s in &r.skipped {
        println!("  skipped: {}: {}", s.path.display(), s.reason);
    }
}

/// Whether a `--db` value is a PostgreSQL URL (`postgres://` or `postgresql://`).
pub fn is_postgres_url(db: &std::path::Path) -> bool {
    db.to_str()
        .is_some_and(|s| s.starts_with("postgres://") || s.starts_with("postgresql://"))
}

/// [`print_summary`] on standard error, for commands whose standard output is a document.
pub fn print_summary_to_stderr(r: &IndexReport) {
    eprintln!(
        "indexed {} new or changed files ({:.2} h of audio) in {:.1} s; {} unchanged, {} failed",
        r.analysed,
        r.audio_s / 3600.0,
        r.elapsed_s,
        r.unchanged,
        r.failed.len()
    );
    for (path, reason) in &r.failed {
        eprintln!("  failed: {}: {reason}", path.display());
    }
}
