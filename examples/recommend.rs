//! Songs that sound like this one, with the library API: open a library, index a folder,
//! recommend. (The `sonority` command does the same with a progress bar and options:
//! `sonority index DIR && sonority similar TRACK`.)
//!
//! ```text
//! cargo run --release --example recommend -- ~/Music ~/Music/some/song.flac [library.sqlite]
//! ```

use std::path::PathBuf;

use sonority::{IndexOptions, Library, Model, StopFlag};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<PathBuf> = std::env::args_os().skip(1).map(PathBuf::from).collect();
    let [music, anchor, rest @ ..] = args.as_slice() else {
        return Err("usage: recommend MUSIC_DIR TRACK [LIBRARY.sqlite]".into());
    };
    let db = rest
        .first()
        .cloned()
        .unwrap_or_else(|| PathBuf::from("sonority-example.sqlite"));

    // The shipped model: no training needed. The library refuses vectors of another model.
    let model = Model::load_default()?;
    let mut lib = Library::open(&db, &model)?;

    // Incremental: only new or changed files are analysed, on every core. Raise the stop
    // flag (from a Ctrl-C handler, say) to stop early and keep what is done.
    let report = lib.index(music, &IndexOptions::default(), &StopFlag::new(), |p| {
        eprint!("\r{}/{} files", p.done, p.total);
    })?;
    eprintln!(
        "\n{} analysed, {} unchanged, {} failed",
        report.analysed,
        report.unchanged,
        report.failed.len()
    );

    // The ten closest tracks; the anchor may be any audio file (analysed on the spot if it
    // is not in the library). Answer from this folder only, in a library of several.
    let lib = lib.with_scope(std::slice::from_ref(music))?;
    for r in lib.recommend(std::slice::from_ref(anchor), 10, false)? {
        let tags = &r.track.record.tags;
        println!(
            "{:5.1}  {} - {}  ({})",
            r.similarity_0_100,
            tags.artist.as_deref().unwrap_or("?"),
            tags.title.as_deref().unwrap_or("?"),
            r.track.record.file.path.display()
        );
    }
    Ok(())
}
