//! A playlist and a path between two songs, with the library API and the playlist rules.
//! (The command: `sonority playlist SEED -n 20 --max-per-artist 2 --min-artist-gap 3` and
//! `sonority path FROM TO -n 8`.)
//!
//! ```text
//! cargo run --release --example playlist -- library.sqlite SEED.flac [TO.flac]
//! ```
//!
//! Reads a library made by `sonority index` or the `recommend` example.

use std::path::PathBuf;

use sonority::similarity::{Filter, PathConfig, PlaylistConfig, PlaylistMode, Rules};
use sonority::{Library, Model};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<PathBuf> = std::env::args_os().skip(1).map(PathBuf::from).collect();
    let [db, seed, rest @ ..] = args.as_slice() else {
        return Err("usage: playlist LIBRARY.sqlite SEED [TO]".into());
    };
    let model = Model::load_default()?;
    let lib = Library::open(db, &model)?;

    // 20 tracks walking from the seed: at most two per artist, three others between two
    // tracks of one artist, nothing over eight minutes. Exclusions are paths.
    let rules = Rules::<PathBuf>::default()
        .with_max_per_artist(2)
        .with_min_artist_gap(3)
        .with_filter(Filter::DurationS {
            min: None,
            max: Some(480.0),
        });
    let cfg = PlaylistConfig::new(20)
        .with_mode(PlaylistMode::Walk { seed_weight: 0.3 })
        .with_rules(rules);
    println!("A walk from {}:", seed.display());
    for t in lib.playlist(std::slice::from_ref(seed), &cfg)? {
        println!("{:.3}  {}", t.score, t.track.record.file.path.display());
    }

    // Eight tracks from the seed to another track, in even steps.
    if let Some(to) = rest.first() {
        println!("\nA path to {}:", to.display());
        for t in lib.path(seed, to, &PathConfig::new(8))? {
            println!("{:.3}  {}", t.score, t.track.record.file.path.display());
        }
    }
    Ok(())
}
