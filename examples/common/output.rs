//! Output shared by `recommend`, `playlist`, `path` and `albums`: the printed list, the JSON
//! document (schema in `examples/README.md`) and the M3U8 file.

use std::path::{Path, PathBuf};

use serde_json::{Value, json};
use sonority::PlaylistTrack;
use sonority::m3u::{M3uEntry, write_m3u8};
use sonority::store::TrackInfo;

/// One track as the JSON schema's `Track` object.
pub fn track_json(position: usize, t: &TrackInfo, score: f32) -> Value {
    let tags = &t.record.tags;
    json!({
        "position": position,
        "path": t.record.file.path.to_string_lossy(),
        "title": tags.title,
        "artist": tags.artist,
        "album_artist": tags.album_artist,
        "album": tags.album,
        "disc": tags.disc_number,
        "track": tags.track_number,
        "genre": tags.genre,
        "year": tags.year,
        "duration_s": t.record.duration_s,
        "score": f64::from(score),
    })
}

/// The tracks of a list as JSON `Track` objects, numbered from 1.
pub fn tracks_json(tracks: &[PlaylistTrack]) -> Vec<Value> {
    tracks
        .iter()
        .enumerate()
        .map(|(i, t)| track_json(i + 1, &t.track, t.score))
        .collect()
}

/// The document every command prints with `--json`.
pub fn document(command: &str, seeds: &[PathBuf], elapsed_s: f64, tracks: Vec<Value>) -> Value {
    json!({
        "command": command,
        "seeds": seeds.iter().map(|s| s.to_string_lossy()).collect::<Vec<_>>(),
        "elapsed_ms": elapsed_s * 1e3,
        "tracks": tracks,
    })
}

/// Prints a JSON document on one line of standard output.
pub fn print_json(doc: &Value) {
    println!("{doc}");
}

/// `Artist - Title (Album)` of a track, the file name when it has no title.
pub fn label(t: &TrackInfo) -> String {
    let tags = &t.record.tags;
    let title = tags.title.clone().unwrap_or_else(|| {
        t.record
            .file
            .path
            .file_name()
            .map_or_else(String::new, |n| n.to_string_lossy().into_owned())
    });
    let mut s = match &tags.artist {
        Some(a) => format!("{a} - {title}"),
        None => title,
    };
    if let Some(album) = &tags.album {
        s.push_str(&format!("  ({album})"));
    }
    s
}

/// Prints a numbered list: score on 0-100, label, path.
pub fn print_list(heading: &str, tracks: &[PlaylistTrack]) {
    println!("\n{heading}");
    for (i, t) in tracks.iter().enumerate() {
        let secs = t.track.record.duration_s.unwrap_or(0.0);
        println!(
            "{:>3}. {:>5.1}  {}  [{}:{:02}]",
            i + 1,
            sonority::similarity::similarity_0_100(t.score),
            label(&t.track),
            (secs / 60.0).floor() as u64,
            (secs % 60.0).round() as u64 % 60
        );
        println!("            {}", t.track.record.file.path.display());
    }
}

/// Writes the tracks as an extended M3U8 playlist and says so on standard error.
pub fn write_m3u(out: &Path, tracks: &[&TrackInfo]) -> Result<(), sonority::Error> {
    let entries: Vec<M3uEntry> = tracks.iter().map(|t| M3uEntry::of_track(t)).collect();
    write_m3u8(out, &entries)?;
    eprintln!("wrote {} tracks to {}", entries.len(), out.display());
    Ok(())
}
