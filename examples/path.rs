//! A path from one track to another in even steps (bliss-rs's `song_to_song`).
//!
//! ```text
//! cargo run --release --example path -- MUSIC_DIR FROM TO -n N [--m3u OUT.m3u8] [--json]
//! ```
//!
//! `FROM` first, `TO` last, and between them, for each even step along the line between the
//! two tracks' vectors, the track closest to it (taken among the tracks between the ends,
//! in order, never one recording twice). Both ends must be in the indexed folder.

mod common;

use std::path::PathBuf;
use std::time::Instant;

use clap::Parser;
use sonority::Library;
use sonority::similarity::PathConfig;

/// Print a path of N tracks from one track to another.
#[derive(Parser, Debug)]
#[command(version, about)]
struct Args {
    /// The music folder (indexed first if new or changed).
    music_dir: PathBuf,
    /// The first track (in the folder).
    from: PathBuf,
    /// The last track (in the folder).
    to: PathBuf,
    /// Number of tracks, both ends included.
    #[arg(short, default_value_t = 10)]
    n: usize,
    #[command(flatten)]
    rules: common::RuleArgs,
    /// Write the path as extended M3U8 to this file.
    #[arg(long, value_name = "OUT.m3u8")]
    m3u: Option<PathBuf>,
    /// Print one JSON document (schema in examples/README.md) instead of the list.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    library: common::LibraryArgs,
}

fn main() {
    if let Err(e) = run() {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}

fn run() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse();
    let model = args.library.model()?;
    let lib = args.library.open(&model, &args.music_dir)?;
    let t = Instant::now();
    let list = lib.with_catalogue(|index| {
        let id = |p: &PathBuf| {
            Library::track_id(index, p).ok_or_else(|| sonority::Error::Query {
                reason: format!("{} is not an analysed track of the library", p.display()),
            })
        };
        let (from, to) = (id(&args.from)?, id(&args.to)?);
        let rules = args
            .rules
            .rules(index)
            .map_err(|e| sonority::Error::Query {
                reason: e.to_string(),
            })?;
        index.path(from, to, &PathConfig::new(args.n).with_rules(rules))
    })?;
    let secs = t.elapsed().as_secs_f64();
    if let Some(out) = &args.m3u {
        common::write_m3u(out, &list.iter().map(|t| &t.track).collect::<Vec<_>>())?;
    }
    let ends = [args.from.clone(), args.to.clone()];
    if args.json {
        common::print_json(&common::document(
            "path",
            &ends,
            secs,
            common::tracks_json(&list),
        ));
    } else {
        common::print_list(
            &format!("A path of {} tracks ({:.0} ms):", list.len(), secs * 1e3),
            &list,
        );
    }
    Ok(())
}
