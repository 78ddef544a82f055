//! Songs that sound like this one: index a folder (if new or changed) and recommend.
//!
//! ```text
//! cargo run --release --example recommend -- ~/Music ~/Music/song.flac [more anchors...] [-k 10]
//! ```
//!
//! Uses the shipped default model and an embedded SQLite database (default
//! `~/.local/share/sonority/library.sqlite`, or `--db`). The anchors may be inside the folder or
//! outside it (then they are analysed on the fly); several anchors act as a playlist seed. The
//! anchors themselves, and exact copies of them, are never recommended.

mod common;

use std::path::PathBuf;
use std::time::Instant;

use clap::Parser;
use sonority::parallel::StopFlag;
use sonority::{IndexOptions, Library};

/// Index a music folder and print the tracks most similar to the anchor(s).
#[derive(Parser, Debug)]
#[command(version, about)]
struct Args {
    /// The music folder (indexed first if new or changed).
    music_dir: PathBuf,
    /// One or more anchor tracks (inside or outside the folder).
    #[arg(required = true)]
    anchors: Vec<PathBuf>,
    /// Number of recommendations.
    #[arg(short, default_value_t = 10)]
    k: usize,
    /// The database (default: $SONORITY_DB or ~/.local/share/sonority/library.sqlite).
    #[arg(long)]
    db: Option<PathBuf>,
    /// A model directory made by the `train` example (default: the shipped model).
    #[arg(long)]
    model: Option<PathBuf>,
    /// Do not recommend tracks from the anchors' own album (by tag).
    #[arg(long)]
    exclude_album: bool,
    /// Skip the indexing step and rank what the database holds.
    #[arg(long)]
    no_index: bool,
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
    if !args.no_index {
        let stop = StopFlag::new();
        let handler_stop = stop.clone();
        ctrlc::set_handler(move || handler_stop.stop())?;
        let bar = common::index_bar();
        let report = lib.index(&args.music_dir, &IndexOptions::default(), &stop, |p| {
            common::update_bar(&bar, p)
        })?;
        bar.finish_and_clear();
        if report.analysed + report.failed.len() > 0 {
            common::print_summary(&report);
        }
    }
    let t = Instant::now();
    let recs = lib.recommend(&args.anchors, args.k, args.exclude_album)?;
    let anchors: Vec<String> = args
        .anchors
        .iter()
        .map(|a| a.display().to_string())
        .collect();
    println!(
        "\nTracks most like {} ({:.0} ms):",
        anchors.join(" + "),
        t.elapsed().as_secs_f64() * 1e3
    );
    for (i, r) in recs.iter().enumerate() {
        let tags = &r.track.record.tags;
        let title = tags.title.clone().unwrap_or_else(|| {
            r.track
                .record
                .file
                .path
                .file_name()
                .map_or_else(String::new, |n| n.to_string_lossy().into_owned())
        });
        let who = [tags.artist.as_deref(), tags.album.as_deref()]
            .iter()
            .flatten()
            .copied()
            .collect::<Vec<_>>()
            .join(" / ");
        let why: Vec<String> = r
            .explanation
            .iter()
            .filter(|(_, c)| *c > 0.0)
            .take(2)
            .map(|(n, c)| format!("{n} {:+.2}", c))
            .collect();
        println!(
            "{:>2}. {:>5.1}  {title}{}  [{}]",
            i + 1,
            r.similarity_0_100,
            if who.is_empty() {
                String::new()
            } else {
                format!(" — {who}")
            },
            if why.is_empty() {
                "no single block dominates".to_string()
            } else {
                format!("closest in {}", why.join(", "))
            }
        );
        println!("           {}", r.track.record.file.path.display());
    }
    Ok(())
}
