//! The albums most like an album, and an album playlist in disc and track order.
//!
//! ```text
//! cargo run --release --example albums -- MUSIC_DIR ALBUM_TRACK [-k 5] [--with-self] [--m3u OUT.m3u8] [--json]
//! ```
//!
//! `ALBUM_TRACK` is any track of the album (in the folder). An album's vector is the mean of
//! its tracks' normalised vectors; a track without an album tag belongs to its folder's
//! album. The playlist (`--m3u`, and `tracks` in the JSON) holds every track of the `k`
//! albums (after the album itself with `--with-self`), each album in disc and track order.

mod common;

use std::path::PathBuf;
use std::time::Instant;

use clap::Parser;
use serde_json::json;
use sonority::{Library, PlaylistTrack};

/// Print the albums most like the album of a track.
#[derive(Parser, Debug)]
#[command(version, about)]
struct Args {
    /// The music folder (indexed first if new or changed).
    music_dir: PathBuf,
    /// Any track of the album (in the folder).
    album_track: PathBuf,
    /// Number of albums.
    #[arg(short, default_value_t = 5)]
    k: usize,
    /// Start the playlist with the album itself.
    #[arg(long)]
    with_self: bool,
    /// Write the album playlist as extended M3U8 to this file.
    #[arg(long, value_name = "OUT.m3u8")]
    m3u: Option<PathBuf>,
    /// Print one JSON document (schema in examples/README.md) instead of the list.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    library: common::LibraryArgs,
}

/// One album of the answer: name, artist, likeness and its tracks in order.
struct AlbumHit {
    name: Option<String>,
    artist: Option<String>,
    score: f32,
    tracks: Vec<PlaylistTrack>,
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
    let hits = lib.with_catalogue(|index| {
        let query = |reason: String| sonority::Error::Query { reason };
        let id = Library::track_id(index, &args.album_track).ok_or_else(|| {
            query(format!(
                "{} is not an analysed track of the library",
                args.album_track.display()
            ))
        })?;
        let albums = index.albums()?;
        let row = index
            .row_of(id)
            .ok_or_else(|| query("track not ranked".into()))?;
        let album = albums
            .album_of_row(row)
            .ok_or_else(|| query("the track has no album (nor folder)".into()))?;
        let mut chosen = Vec::new();
        if args.with_self {
            chosen.push((album, 1.0));
        }
        chosen.extend(albums.similar(album, args.k)?);
        Ok(chosen
            .into_iter()
            .map(|(a, score)| {
                let info = &albums.albums()[a];
                let rows: Vec<(usize, f32)> = info.rows.iter().map(|&r| (r, score)).collect();
                AlbumHit {
                    name: info.name.clone(),
                    artist: info.artist.clone(),
                    score,
                    tracks: index.tracks_of_rows(&rows),
                }
            })
            .collect::<Vec<_>>())
    })?;
    let secs = t.elapsed().as_secs_f64();
    let playlist: Vec<PlaylistTrack> = hits.iter().flat_map(|h| h.tracks.clone()).collect();
    if let Some(out) = &args.m3u {
        common::write_m3u(out, &playlist.iter().map(|t| &t.track).collect::<Vec<_>>())?;
    }
    if args.json {
        let mut doc = common::document(
            "albums",
            std::slice::from_ref(&args.album_track),
            secs,
            common::tracks_json(&playlist),
        );
        doc["albums"] = hits
            .iter()
            .map(|h| {
                json!({
                    "name": h.name,
                    "artist": h.artist,
                    "score": f64::from(h.score),
                    "tracks": common::tracks_json(&h.tracks),
                })
            })
            .collect();
        common::print_json(&doc);
        return Ok(());
    }
    println!(
        "\nAlbums most like that of {} ({:.0} ms):",
        args.album_track.display(),
        secs * 1e3
    );
    for (i, h) in hits.iter().enumerate() {
        println!(
            "{:>2}. {:>5.1}  {}{}  ({} tracks)",
            i + 1,
            sonority::similarity::similarity_0_100(h.score),
            h.name.as_deref().unwrap_or("?"),
            h.artist
                .as_deref()
                .map(|a| format!(" — {a}"))
                .unwrap_or_default(),
            h.tracks.len()
        );
    }
    Ok(())
}
