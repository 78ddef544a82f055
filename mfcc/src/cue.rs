//! CUE sheets: one audio file (or several) cut into tracks by a text sheet.
//!
//! A small, strict parser of the keywords that matter for indexing (`FILE`, `TRACK`,
//! `INDEX 01`, `TITLE`, `PERFORMER`, `REM GENRE`, `REM DATE`); other keywords are skipped.
//! Sheets come from rippers of every age, so the text may be UTF-8 (with or without BOM) or
//! Latin-1, and lines end in LF or CRLF.

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// CD frames per second: CUE timings are `mm:ss:ff` with `ff` in `0..75`.
const FRAMES_PER_S: u32 = 75;
/// The largest sheet read, in bytes.
pub const MAX_CUE_BYTES: u64 = 1 << 20;
/// The most tracks in one sheet (a CD has at most 99).
pub const MAX_CUE_TRACKS: usize = 99;

/// `CueSheet` is a parsed sheet: album-level tags and its tracks, each with its audio file and
/// its span in that file.
#[derive(Debug, Clone, Default, PartialEq)]
#[non_exhaustive]
pub struct CueSheet {
    /// The album title (`TITLE` before the first track).
    pub title: Option<String>,
    /// The album artist (`PERFORMER` before the first track).
    pub performer: Option<String>,
    /// `REM GENRE`.
    pub genre: Option<String>,
    /// The year of `REM DATE`.
    pub year: Option<i32>,
    /// The tracks, in sheet order.
    pub tracks: Vec<CueTrack>,
}

/// `CueTrack` is one track of a [`CueSheet`].
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct CueTrack {
    /// Its position in the sheet, from 1 (the `trackNNNN` of its name).
    pub position: usize,
    /// The number the sheet gives it (`TRACK nn`).
    pub number: u32,
    /// The audio file, as the sheet names it (relative to the sheet's folder).
    pub file: PathBuf,
    /// `TITLE`.
    pub title: Option<String>,
    /// `PERFORMER` (else the sheet's).
    pub performer: Option<String>,
    /// Start in the file (`INDEX 01`), in seconds.
    pub start_s: f64,
    /// End in the file (the next track's `INDEX 01` in the same file), in seconds; `None`:
    /// to the end of the file.
    pub end_s: Option<f64>,
}

impl CueTrack {
    /// The name of the track in playlists: `SHEET/trackNNNN` (MPD's convention).
    #[must_use]
    pub fn name(&self, sheet: &Path) -> PathBuf {
        sheet.join(format!("track{:04}", self.position))
    }
}

/// A track being read: its line, number, title, performer and start.
type OpenTrack = (usize, u32, Option<String>, Option<String>, Option<f64>);

/// Splits a sheet line into words, a double-quoted string being one word.
fn words(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut chars = line.trim().chars().peekable();
    while let Some(&c) = chars.peek() {
        if c.is_whitespace() {
            chars.next();
        } else if c == '"' {
            chars.next();
            let w: String = chars.by_ref().take_while(|&c| c != '"').collect();
            out.push(w);
        } else {
            let mut w = String::new();
            while let Some(&c) = chars.peek() {
                if c.is_whitespace() {
                    break;
                }
                w.push(c);
                chars.next();
            }
            out.push(w);
        }
    }
    out
}

/// `mm:ss:ff` in seconds.
fn timing(s: &str) -> Option<f64> {
    let mut parts = s.split(':');
    let (m, sec, f) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() {
        return None;
    }
    let num = |p: &str| {
        (!p.is_empty() && p.len() <= 4 && p.bytes().all(|b| b.is_ascii_digit()))
            .then(|| p.parse::<u32>().ok())
            .flatten()
    };
    let (m, sec, f) = (num(m)?, num(sec)?, num(f)?);
    (sec < 60 && f < FRAMES_PER_S)
        .then(|| f64::from(m) * 60.0 + f64::from(sec) + f64::from(f) / f64::from(FRAMES_PER_S))
}

/// Text of a sheet: UTF-8 (BOM removed), else Latin-1.
fn text_of(bytes: &[u8]) -> String {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    match std::str::from_utf8(bytes) {
        Ok(s) => s.to_owned(),
        Err(_) => bytes.iter().map(|&b| char::from(b)).collect(),
    }
}

impl CueSheet {
    /// Reads and parses the sheet at `path` (at most [`MAX_CUE_BYTES`]).
    ///
    /// # Errors
    /// [`Error::Io`] when it cannot be read, [`Error::Limit`] when it is too large, and
    /// [`Error::CueSheet`] as [`parse`](Self::parse).
    pub fn read(path: &Path) -> Result<Self> {
        let io = |source| Error::Io {
            path: path.to_path_buf(),
            source,
        };
        let len = std::fs::metadata(path).map_err(io)?.len();
        if len > MAX_CUE_BYTES {
            return Err(Error::Limit {
                path: path.to_path_buf(),
                reason: format!("CUE sheet of {len} bytes (at most {MAX_CUE_BYTES})"),
            });
        }
        Self::parse(path, &std::fs::read(path).map_err(io)?)
    }

    /// The sheet embedded in a FLAC file as its `CUESHEET` Vorbis comment (as foobar2000 and
    /// other rippers write it), every track of it in that file; `Ok(None)` when the file is not
    /// a FLAC lofty can read or has no such comment. Only the metadata blocks are read.
    ///
    /// # Errors
    /// [`Error::NotAFile`], [`Error::Io`] and [`Error::Empty`] for a path that is not a
    /// readable regular file; [`Error::Limit`] for a comment over [`MAX_CUE_BYTES`];
    /// [`Error::CueSheet`] as [`parse`](Self::parse), naming the FLAC file.
    pub fn embedded(path: &Path) -> Result<Option<Self>> {
        use lofty::config::ParseOptions;
        use lofty::file::AudioFile;
        use lofty::flac::FlacFile;

        let mut file = crate::decode::open::open_regular_file(path)?;
        let opts = ParseOptions::new()
            .read_properties(false)
            .read_cover_art(false);
        let Ok(flac) = FlacFile::read_from(&mut file, opts) else {
            return Ok(None);
        };
        let Some(text) = flac.vorbis_comments().and_then(|c| c.get("CUESHEET")) else {
            return Ok(None);
        };
        if text.len() as u64 > MAX_CUE_BYTES {
            return Err(Error::Limit {
                path: path.to_path_buf(),
                reason: format!(
                    "embedded CUE sheet of {} bytes (at most {MAX_CUE_BYTES})",
                    text.len()
                ),
            });
        }
        let mut sheet = Self::parse(path, text.as_bytes())?;
        let own = PathBuf::from(path.file_name().unwrap_or_default());
        for t in &mut sheet.tracks {
            t.file.clone_from(&own);
        }
        Ok(Some(sheet))
    }

    /// Parses a sheet's bytes; `path` names it in errors.
    ///
    /// # Errors
    /// [`Error::CueSheet`] for a `TRACK` before any `FILE`, a track without `INDEX 01`, a
    /// timing that is not `mm:ss:ff`, a track starting before the one before it in the same
    /// file, no track at all or more than [`MAX_CUE_TRACKS`].
    ///
    /// # Examples
    /// ```
    /// use sonority_mfcc::CueSheet;
    /// let sheet = CueSheet::parse(
    ///     "a.cue".as_ref(),
    ///     b"PERFORMER \"Band\"\nTITLE \"Live\"\nFILE \"live.wav\" WAVE\n  TRACK 01 AUDIO\n    TITLE \"One\"\n    INDEX 01 00:00:00\n  TRACK 02 AUDIO\n    TITLE \"Two\"\n    INDEX 01 03:10:30\n",
    /// )?;
    /// assert_eq!(sheet.tracks.len(), 2);
    /// assert_eq!(sheet.tracks[0].end_s, Some(190.4));
    /// assert_eq!(sheet.tracks[1].performer.as_deref(), Some("Band"));
    /// # Ok::<(), sonority_mfcc::Error>(())
    /// ```
    pub fn parse(path: &Path, bytes: &[u8]) -> Result<Self> {
        let err = |line: usize, reason: String| Error::CueSheet {
            path: path.to_path_buf(),
            line,
            reason,
        };
        let mut sheet = Self::default();
        let mut file: Option<PathBuf> = None;
        // The track being read: its line, number, title, performer and start.
        let mut open: Option<OpenTrack> = None;
        let mut tracks: Vec<CueTrack> = Vec::new();
        let close = |open: Option<OpenTrack>,
                     file: &Option<PathBuf>,
                     tracks: &mut Vec<CueTrack>|
         -> Result<()> {
            let Some((line, number, title, performer, start)) = open else {
                return Ok(());
            };
            let start_s =
                start.ok_or_else(|| err(line, format!("track {number} has no INDEX 01")))?;
            let file = file
                .clone()
                .ok_or_else(|| err(line, "TRACK before any FILE".into()))?;
            if tracks.len() == MAX_CUE_TRACKS {
                return Err(err(line, format!("more than {MAX_CUE_TRACKS} tracks")));
            }
            if let Some(prev) = tracks.last_mut().filter(|p| p.file == file) {
                if start_s <= prev.start_s {
                    return Err(err(
                        line,
                        format!(
                            "track {number} starts at {start_s} s, not after the track before it ({} s)",
                            prev.start_s
                        ),
                    ));
                }
                prev.end_s = Some(start_s);
            }
            tracks.push(CueTrack {
                position: tracks.len() + 1,
                number,
                file,
                title,
                performer,
                start_s,
                end_s: None,
            });
            Ok(())
        };
        for (i, raw) in text_of(bytes).lines().enumerate() {
            let line = i + 1;
            let w = words(raw);
            let Some(key) = w.first() else { continue };
            let arg = |k: usize| w.get(k).cloned().filter(|s| !s.trim().is_empty());
            match key.to_ascii_uppercase().as_str() {
                "FILE" => {
                    close(open.take(), &file, &mut tracks)?;
                    file = Some(PathBuf::from(
                        arg(1).ok_or_else(|| err(line, "FILE without a name".into()))?,
                    ));
                }
                "TRACK" => {
                    close(open.take(), &file, &mut tracks)?;
                    if file.is_none() {
                        return Err(err(line, "TRACK before any FILE".into()));
                    }
                    let number = arg(1)
                        .and_then(|n| n.parse().ok())
                        .ok_or_else(|| err(line, "TRACK without a number".into()))?;
                    open = Some((line, number, None, None, None));
                }
                "INDEX" => {
                    let Some(o) = open.as_mut() else {
                        return Err(err(line, "INDEX outside a track".into()));
                    };
                    let t = arg(2).as_deref().and_then(timing).ok_or_else(|| {
                        err(
                            line,
                            format!("bad INDEX timing {:?}", arg(2).unwrap_or_default()),
                        )
                    })?;
                    if arg(1).and_then(|n| n.parse::<u32>().ok()) == Some(1) {
                        o.4 = Some(t);
                    }
                }
                "TITLE" => match open.as_mut() {
                    Some(o) => o.2 = arg(1),
                    None => sheet.title = arg(1),
                },
                "PERFORMER" => match open.as_mut() {
                    Some(o) => o.3 = arg(1),
                    None => sheet.performer = arg(1),
                },
                "REM" => match arg(1).map(|k| k.to_ascii_uppercase()).as_deref() {
                    Some("GENRE") => sheet.genre = arg(2),
                    Some("DATE") => {
                        sheet.year = arg(2).and_then(|d| d.get(..4).and_then(|y| y.parse().ok()));
                    }
                    _ => {}
                },
                _ => {}
            }
        }
        close(open.take(), &file, &mut tracks)?;
        if tracks.is_empty() {
            return Err(err(0, "no track".into()));
        }
        for t in &mut tracks {
            if t.performer.is_none() {
                t.performer.clone_from(&sheet.performer);
            }
        }
        sheet.tracks = tracks;
        Ok(sheet)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Result<CueSheet> {
        CueSheet::parse(Path::new("t.cue"), s.as_bytes())
    }

    #[test]
    fn reads_tracks_spans_and_tags() {
        let s = parse(
            "\u{feff}REM GENRE Jazz\r\nREM DATE 1999-01-02\r\nPERFORMER \"Ann\"\r\nTITLE \"Album\"\r\n\
             FILE \"a b.flac\" WAVE\r\n  TRACK 01 AUDIO\r\n    TITLE \"One\"\r\n    INDEX 01 00:00:00\r\n\
             TRACK 02 AUDIO\r\n  PERFORMER \"Guest\"\r\n  INDEX 00 01:00:00\r\n  INDEX 01 01:02:37\r\n\
             FILE \"c.wav\" WAVE\r\n  TRACK 03 AUDIO\r\n  INDEX 01 00:00:10\r\n",
        )
        .unwrap();
        assert_eq!(
            (s.genre.as_deref(), s.year, s.title.as_deref()),
            (Some("Jazz"), Some(1999), Some("Album"))
        );
        let t = &s.tracks;
        assert_eq!(t.len(), 3);
        assert_eq!(
            (t[0].file.as_path(), t[0].start_s, t[0].end_s),
            (Path::new("a b.flac"), 0.0, Some(62.0 + 37.0 / 75.0))
        );
        assert_eq!(
            (t[1].performer.as_deref(), t[1].end_s),
            (Some("Guest"), None)
        );
        assert_eq!(
            (
                t[2].file.as_path(),
                t[2].position,
                t[2].performer.as_deref()
            ),
            (Path::new("c.wav"), 3, Some("Ann"))
        );
        assert_eq!(
            t[2].name(Path::new("/m/x.cue")),
            PathBuf::from("/m/x.cue/track0003")
        );
    }

    #[test]
    fn broken_sheets_are_typed_errors_naming_the_line() {
        for (text, line) in [
            ("TRACK 01 AUDIO\nINDEX 01 00:00:00\n", 1),
            ("FILE a.wav WAVE\nTRACK 01 AUDIO\nTITLE x\n", 2),
            ("FILE a.wav WAVE\nTRACK 01 AUDIO\nINDEX 01 00:61:00\n", 3),
            ("FILE a.wav WAVE\nTRACK 01 AUDIO\nINDEX 01 00:01:75\n", 3),
            (
                "FILE a.wav WAVE\nTRACK 01 AUDIO\nINDEX 01 01:00:00\nTRACK 02 AUDIO\nINDEX 01 00:30:00\n",
                4,
            ),
            ("REM nothing\n", 0),
            ("FILE a.wav WAVE\nINDEX 01 00:00:00\n", 2),
        ] {
            match parse(text) {
                Err(Error::CueSheet { line: l, .. }) => assert_eq!(l, line, "{text:?}"),
                other => panic!("{text:?}: {other:?}"),
            }
        }
    }

    #[test]
    fn latin1_sheets_read() {
        let s = CueSheet::parse(
            Path::new("t.cue"),
            b"FILE x.wav WAVE\nTRACK 1 AUDIO\nTITLE \"Caf\xe9\"\nINDEX 01 0:0:0\n",
        )
        .unwrap();
        assert_eq!(s.tracks[0].title.as_deref(), Some("Café"));
    }
}
