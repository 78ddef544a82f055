//! The albums most like the album of a track, with the library API. (The command:
//! `sonority albums TRACK -k 5 --m3u albums.m3u8`.)
//!
//! ```text
//! cargo run --release --example albums -- library.sqlite ~/Music/album/01.flac
//! ```

use std::path::PathBuf;

use sonority::{Library, Model};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<PathBuf> = std::env::args_os().skip(1).map(PathBuf::from).collect();
    let [db, track] = args.as_slice() else {
        return Err("usage: albums LIBRARY.sqlite TRACK".into());
    };
    let model = Model::load_default()?;
    let lib = Library::open(db, &model)?;
    // An album's vector is the mean of its tracks'; an untagged track's album is its folder.
    for a in lib.albums(track, 5, false)? {
        println!(
            "{:5.1}  {} — {}  ({} tracks)",
            sonority::similarity::similarity_0_100(a.score),
            a.name.as_deref().unwrap_or("?"),
            a.artist.as_deref().unwrap_or("?"),
            a.tracks.len()
        );
    }
    Ok(())
}
