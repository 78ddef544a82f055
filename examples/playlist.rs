//! A playlist from one or more seeds: tracks or `.m3u`/`.m3u8` playlists.
//!
//! ```text
//! cargo run --release --example playlist -- MUSIC_DIR SEED [SEED...] -n N [--walk] [--max-per-artist K] [--max-per-album K] [--min-artist-gap G] [--m3u OUT.m3u8] [--json]
//! ```
//!
//! Indexes the folder first (incrementally, with a progress bar), like `recommend`. Two
//! modes: every track close to the seed set (default), or `--walk`, each next track close
//! to the previous one while staying near the seeds. Never a seed, never one recording twice
//! (by content), caps per artist and per album, a gap between two tracks of one artist,
//! filters on duration, genre, year or any tag, and `--exclude-list FILE` (paths already
//! played).

mod common;

use std::path::PathBuf;
use std::time::Instant;

use clap::Parser;
use sonority::similarity::{PlaylistConfig, PlaylistMode};

/// Make a playlist from seed tracks or playlists.
#[derive(Parser, Debug)]
#[command(version, about)]
struct Args {
    /// The music folder (indexed first if new or changed).
    music_dir: PathBuf,
    /// Seed tracks or `.m3u`/`.m3u8` playlists (inside or outside the folder).
    #[arg(required = true)]
    seeds: Vec<PathBuf>,
    /// Number of tracks.
    #[arg(short, default_value_t = 20)]
    n: usize,
    /// Walk: each next track close to the previous one while staying near the seeds.
    #[arg(long)]
    walk: bool,
    /// How strongly a walk is pulled back to the seeds, 0 to 1.
    #[arg(long, default_value_t = 0.3)]
    seed_weight: f32,
    #[command(flatten)]
    rules: common::RuleArgs,
    /// Write the playlist as extended M3U8 to this file.
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
    let seeds = common::expand_seeds(&args.seeds)?;
    if seeds.is_empty() {
        return Err("the seed playlists hold no track".into());
    }
    let t = Instant::now();
    let list = lib.with_catalogue(|index| {
        let anchors = lib.anchors(index, &seeds)?;
        let mode = if args.walk {
            PlaylistMode::Walk {
                seed_weight: args.seed_weight,
            }
        } else {
            PlaylistMode::Seeds
        };
        let rules = args
            .rules
            .rules(index)
            .map_err(|e| sonority::Error::Query {
                reason: e.to_string(),
            })?;
        let cfg = PlaylistConfig::new(args.n)
            .with_mode(mode)
            .with_rules(rules);
        index.playlist(&anchors, &cfg)
    })?;
    let secs = t.elapsed().as_secs_f64();
    if let Some(out) = &args.m3u {
        common::write_m3u(out, &list.iter().map(|t| &t.track).collect::<Vec<_>>())?;
    }
    if args.json {
        common::print_json(&common::document(
            "playlist",
            &seeds,
            secs,
            common::tracks_json(&list),
        ));
    } else {
        common::print_list(
            &format!(
                "{} tracks {} from {} seed(s) ({:.0} ms):",
                list.len(),
                if args.walk {
                    "walking"
                } else {
                    "close to the seeds"
                },
                seeds.len(),
                secs * 1e3
            ),
            &list,
        );
    }
    Ok(())
}
