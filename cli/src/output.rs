//! What the commands print: the numbered list (text), one JSON document (`--json`, schema in
//! the crate README) and extended M3U8 files (`--m3u`).

use std::path::{Path, PathBuf};

use serde::Serialize;
use sonority::Recommendation;
use sonority::m3u::{M3uEntry, write_m3u8};
use sonority::ranking::{AlbumMatch, PlaylistTrack};
use sonority::store::TrackInfo;

use crate::error::{CliError, Result};

/// The JSON document of `similar`, `playlist`, `path` and `albums`.
#[derive(Debug, Serialize)]
pub struct Document {
    /// `"similar"`, `"playlist"`, `"path"`, `"albums"`, `"mpd queue"`.
    pub command: &'static str,
    /// The seeds as given (playlists expanded).
    pub seeds: Vec<String>,
    /// Time to rank or build the list, in milliseconds (indexing not included).
    pub elapsed_ms: f64,
    /// The list, in order.
    pub tracks: Vec<TrackJson>,
    /// `albums` only: the albums with their tracks.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub albums: Option<Vec<AlbumJson>>,
}

/// A track's tags and duration, as every JSON answer shows them (the command's documents and
/// the server's `Track`).
#[derive(Debug, Serialize)]
pub struct TagsJson {
    /// Title tag.
    pub title: Option<String>,
    /// Artist tag.
    pub artist: Option<String>,
    /// Album artist tag.
    pub album_artist: Option<String>,
    /// Album tag.
    pub album: Option<String>,
    /// Disc number.
    pub disc: Option<u32>,
    /// Track number.
    pub track: Option<u32>,
    /// Genre tag.
    pub genre: Option<String>,
    /// Year.
    pub year: Option<i32>,
    /// Duration in seconds.
    pub duration_s: Option<f64>,
}

impl TagsJson {
    /// The tags of a stored track.
    pub fn of(t: &TrackInfo) -> Self {
        let tags = &t.record.tags;
        Self {
            title: tags.title.clone(),
            artist: tags.artist.clone(),
            album_artist: tags.album_artist.clone(),
            album: tags.album.clone(),
            disc: tags.disc_number,
            track: tags.track_number,
            genre: tags.genre.clone(),
            year: tags.year,
            duration_s: t.record.duration_s,
        }
    }
}

/// One track of a document.
#[derive(Debug, Serialize)]
pub struct TrackJson {
    /// From 1.
    pub position: usize,
    /// The stored canonical path.
    pub path: String,
    /// Tags and duration.
    #[serde(flatten)]
    pub tags: TagsJson,
    /// Cosine in [-1, 1] with what the track was chosen for.
    pub score: f64,
    /// `similar` only: the blocks that made it close, largest share first.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub blocks: Vec<BlockShare>,
}

/// One block's share of a recommendation's cosine.
#[derive(Debug, Serialize)]
pub struct BlockShare {
    /// The block (`tiles`, `timbre`, `key`, `tempo`, `rolloff`, ...).
    pub block: String,
    /// Its share.
    pub share: f64,
}

/// One album of an `albums` document.
#[derive(Debug, Serialize)]
pub struct AlbumJson {
    /// Album tag, else the folder's name.
    pub name: Option<String>,
    /// Album artist, else the first track's artist.
    pub artist: Option<String>,
    /// Cosine between the albums' mean vectors.
    pub score: f64,
    /// Its tracks in disc and track order.
    pub tracks: Vec<TrackJson>,
}

impl TrackJson {
    /// A track at `position` (from 1) with its score.
    pub fn new(position: usize, t: &TrackInfo, score: f32) -> Self {
        Self {
            position,
            path: t.record.file.path.to_string_lossy().into_owned(),
            tags: TagsJson::of(t),
            score: f64::from(score),
            blocks: Vec::new(),
        }
    }

    /// The tracks of a list, numbered from 1.
    pub fn list(tracks: &[PlaylistTrack]) -> Vec<Self> {
        tracks
            .iter()
            .enumerate()
            .map(|(i, t)| Self::new(i + 1, &t.track, t.score))
            .collect()
    }

    /// Recommendations, numbered from 1, with their block shares.
    pub fn recommendations(recs: &[Recommendation]) -> Vec<Self> {
        recs.iter()
            .enumerate()
            .map(|(i, r)| {
                let mut t = Self::new(i + 1, &r.track, r.score);
                t.blocks = r
                    .explanation
                    .iter()
                    .map(|(b, s)| BlockShare {
                        block: b.clone(),
                        share: f64::from(*s),
                    })
                    .collect();
                t
            })
            .collect()
    }
}

impl AlbumJson {
    /// Albums as JSON.
    pub fn list(albums: &[AlbumMatch]) -> Vec<Self> {
        albums
            .iter()
            .map(|a| Self {
                name: a.name.clone(),
                artist: a.artist.clone(),
                score: f64::from(a.score),
                tracks: TrackJson::list(&a.tracks),
            })
            .collect()
    }
}

impl Document {
    /// A document without albums.
    pub fn new(
        command: &'static str,
        seeds: &[PathBuf],
        elapsed_s: f64,
        tracks: Vec<TrackJson>,
    ) -> Self {
        Self {
            command,
            seeds: seeds
                .iter()
                .map(|s| s.to_string_lossy().into_owned())
                .collect(),
            elapsed_ms: elapsed_s * 1e3,
            tracks,
            albums: None,
        }
    }

    /// Prints the document on one line of standard output.
    pub fn print(&self) -> Result<()> {
        print_json(self)
    }
}

/// Prints any serialisable value as one line of JSON on standard output.
pub fn print_json<T: Serialize>(v: &T) -> Result<()> {
    let s = serde_json::to_string(v).map_err(|e| CliError::Write {
        path: PathBuf::from("-"),
        source: std::io::Error::other(e),
    })?;
    println!("{s}");
    Ok(())
}

/// `Artist - Title  (Album)`, the file name when there is no title.
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

/// `m:ss` of a duration.
fn clock(secs: f64) -> String {
    let s = secs.max(0.0).round() as u64;
    format!("{}:{:02}", s / 60, s % 60)
}

/// Prints a heading and a numbered list: score on 0-100, label, duration, path.
pub fn print_list(heading: &str, tracks: &[(&TrackInfo, f32, String)]) {
    println!("{heading}");
    for (i, (t, score, why)) in tracks.iter().enumerate() {
        println!(
            "{:>3}. {:>5.1}  {}  [{}]{}",
            i + 1,
            sonority::similarity::similarity_0_100(*score),
            label(t),
            clock(t.record.duration_s.unwrap_or(0.0)),
            if why.is_empty() {
                String::new()
            } else {
                format!("  {why}")
            }
        );
        println!("            {}", t.record.file.path.display());
    }
}

/// Writes tracks as an extended M3U8 playlist and says so on standard error.
pub fn write_m3u(out: &Path, tracks: &[&TrackInfo]) -> Result<()> {
    let entries: Vec<M3uEntry> = tracks.iter().map(|t| M3uEntry::of_track(t)).collect();
    write_m3u8(out, &entries)?;
    eprintln!("wrote {} tracks to {}", entries.len(), out.display());
    Ok(())
}
