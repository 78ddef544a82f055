//! Extended M3U8 playlists: written for other players, read as seeds and exclusion lists.

use std::io::Write;
use std::path::{Component, Path, PathBuf};

use crate::{Error, Result};

/// `M3uEntry` is one line of an extended M3U8 playlist: a path and its `#EXTINF` facts.
#[derive(Debug, Clone, PartialEq, Default)]
#[non_exhaustive]
pub struct M3uEntry {
    /// The track's file.
    pub path: PathBuf,
    /// Duration in seconds (written rounded; `-1` when unknown, as the format says).
    pub duration_s: Option<f64>,
    /// Artist.
    pub artist: Option<String>,
    /// Title (the file name when unknown).
    pub title: Option<String>,
}

impl M3uEntry {
    /// An entry for `path` with nothing else known.
    #[must_use]
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self {
            path: path.into(),
            ..Self::default()
        }
    }
    /// The entry of a stored track: its path, duration, artist and title.
    #[must_use]
    pub fn of_track(t: &sonority_store::TrackInfo) -> Self {
        Self {
            path: t.record.file.path.clone(),
            duration_s: t.record.duration_s,
            artist: t.record.tags.artist.clone(),
            title: t.record.tags.title.clone(),
        }
    }
}

/// One line of text: control characters (line breaks included) become spaces.
fn one_line(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect::<String>()
        .trim()
        .to_owned()
}

/// The absolute, lexically normalised form of `p` (`.` and `..` resolved without touching
/// the file system beyond the current directory).
fn absolute(p: &Path) -> PathBuf {
    let p = std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf());
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            Component::ParentDir => {
                out.pop();
            }
            Component::CurDir => {}
            c => out.push(c),
        }
    }
    out
}

/// How `track` is written in a playlist at `playlist`: relative to the playlist's folder when
/// the track is under it, else absolute. Symbolic links in the playlist's folder are
/// resolved, so that the stored (canonical) track paths compare with it.
#[must_use]
pub fn m3u_path(playlist: &Path, track: &Path) -> PathBuf {
    let dir = absolute(playlist)
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default();
    let dir = std::fs::canonicalize(&dir).unwrap_or(dir);
    let track = absolute(track);
    match track.strip_prefix(&dir) {
        Ok(rel) if !rel.as_os_str().is_empty() => rel.to_path_buf(),
        _ => track,
    }
}

/// The text of an extended M3U8 playlist saved at `playlist` (which decides relative paths,
/// see [`m3u_path`]): `#EXTM3U`, then `#EXTINF:seconds,Artist - Title` and the path for each
/// entry. UTF-8; a path that is not UTF-8 is written lossily.
#[must_use]
pub fn m3u8_string(playlist: &Path, entries: &[M3uEntry]) -> String {
    let mut s = String::from("#EXTM3U\n");
    for e in entries {
        let secs = e
            .duration_s
            .filter(|d| d.is_finite() && *d >= 0.0)
            .map_or(-1, |d| d.round() as i64);
        let title = e.title.as_deref().map(one_line).filter(|t| !t.is_empty());
        let title = title.unwrap_or_else(|| {
            e.path
                .file_name()
                .map_or_else(String::new, |n| one_line(&n.to_string_lossy()))
        });
        let label = match e.artist.as_deref().map(one_line).filter(|a| !a.is_empty()) {
            Some(a) => format!("{a} - {title}"),
            None => title,
        };
        s.push_str(&format!("#EXTINF:{secs},{label}\n"));
        s.push_str(&one_line(&m3u_path(playlist, &e.path).to_string_lossy()));
        s.push('\n');
    }
    s
}

/// Writes an extended M3U8 playlist to `playlist` (see [`m3u8_string`]), through a temporary
/// file renamed into place, so that a reader never sees half a playlist.
///
/// # Errors
/// [`Error::Io`] naming the file.
pub fn write_m3u8(playlist: &Path, entries: &[M3uEntry]) -> Result<()> {
    let io = |source| Error::Io {
        path: playlist.to_path_buf(),
        source,
    };
    let text = m3u8_string(playlist, entries);
    let mut tmp = playlist.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = PathBuf::from(tmp);
    let mut f = std::fs::File::create(&tmp).map_err(io)?;
    f.write_all(text.as_bytes()).map_err(io)?;
    f.sync_all().map_err(io)?;
    drop(f);
    std::fs::rename(&tmp, playlist).map_err(io)
}

/// Whether a path names an M3U playlist (`.m3u` or `.m3u8`, any case).
#[must_use]
pub fn is_playlist(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case("m3u") || e.eq_ignore_ascii_case("m3u8"))
}

/// The entries of an M3U/M3U8 playlist, or of a plain list of paths (one a line): comment
/// lines (`#...`) and blank lines skipped, relative paths taken from the list's folder, URLs
/// skipped. At most `max_entries` are read.
///
/// # Errors
/// [`Error::Io`] when the file cannot be read; [`Error::Query`] when it is not UTF-8 or holds
/// more than `max_entries` entries.
pub fn read_path_list(list: &Path, max_entries: usize) -> Result<Vec<PathBuf>> {
    let bytes = std::fs::read(list).map_err(|source| Error::Io {
        path: list.to_path_buf(),
        source,
    })?;
    let text = String::from_utf8(bytes).map_err(|_| Error::Query {
        reason: format!("{}: not UTF-8", list.display()),
    })?;
    let dir = list.parent().unwrap_or(Path::new(""));
    let mut out = Vec::new();
    for line in text.lines() {
        let line = line.trim_start_matches('\u{feff}').trim();
        if line.is_empty() || line.starts_with('#') || line.contains("://") {
            continue;
        }
        if out.len() == max_entries {
            return Err(Error::Query {
                reason: format!("{}: more than {max_entries} entries", list.display()),
            });
        }
        let p = Path::new(line);
        out.push(if p.is_absolute() {
            p.to_path_buf()
        } else {
            dir.join(p)
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_relative_only_under_the_playlist() {
        let dir = std::env::temp_dir();
        let dir = std::fs::canonicalize(&dir).unwrap_or(dir);
        let list = dir.join("x.m3u8");
        assert_eq!(
            m3u_path(&list, &dir.join("a/b.ogg")),
            PathBuf::from("a/b.ogg")
        );
        assert_eq!(
            m3u_path(&list, Path::new("/elsewhere/b.ogg")),
            PathBuf::from("/elsewhere/b.ogg")
        );
        let text = m3u8_string(
            &list,
            &[M3uEntry {
                path: dir.join("c.flac"),
                duration_s: Some(61.6),
                artist: Some("A\nB".into()),
                title: None,
            }],
        );
        assert_eq!(text, "#EXTM3U\n#EXTINF:62,A B - c.flac\nc.flac\n");
    }
}
