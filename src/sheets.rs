//! CUE sheets as tracks: an audio file with a `.cue` sheet beside it is indexed as the sheet's
//! tracks, each named `DIR/SHEET.cue/trackNNNN` (MPD's convention: four digits, from 0001), and
//! the whole file is then not a track of its own.
//!
//! A sheet track's name is all it takes to analyse it again: [`resolve`] reads the sheet,
//! finds the track and its audio file, and the analyzer decodes only its span
//! ([`FileSource::open_span`](sonority_mfcc::FileSource::open_span)). So the folder index,
//! the PostgreSQL work queue and anchors given on the command line all treat sheet tracks like
//! files, with no state beyond the path.
//!
//! A FLAC file with a sheet in its `CUESHEET` Vorbis comment (and no `.cue` beside it that
//! cuts it) is indexed the same way, its tracks named `DIR/FILE.flac/trackNNNN`. Finding those
//! reads the metadata blocks of every FLAC file of the folder on each scan (a few KB each).
//!
//! Sheets from real rippers name their audio file in many ways: relative to the sheet, as an
//! absolute Windows path, or with the extension the file had before it was re-encoded
//! (`album.wav` for what is now `album.flac`). The file is looked up as named, then by its
//! bare name beside the sheet, then by its stem with any audio extension beside the sheet.

use std::path::{Path, PathBuf};

use sonority_mfcc::{CueSheet, CueTrack, Tags};

use crate::walk::{FoundFile, SkippedEntry, has_audio_extension, is_sheet_name};

/// One track of a sheet, located.
#[derive(Debug, Clone)]
pub(crate) struct SheetTrack {
    /// The audio file holding the track.
    pub audio: PathBuf,
    /// The track's span and tags.
    pub track: CueTrack,
    /// The sheet's album-level tags (title, performer, genre, year).
    pub sheet: CueSheet,
}

impl SheetTrack {
    /// The track's tags: the sheet's, then the audio file's for what the sheet lacks at album
    /// level (the file's title and track number describe the whole file, never the track).
    pub fn tags(&self, file: &Tags) -> Tags {
        let mut t = Tags::default();
        t.title.clone_from(&self.track.title);
        t.artist = self.track.performer.clone().or_else(|| file.artist.clone());
        t.album = self.sheet.title.clone().or_else(|| file.album.clone());
        t.album_artist = self
            .sheet
            .performer
            .clone()
            .or_else(|| file.album_artist.clone());
        t.track_number = Some(self.track.number);
        t.disc_number = file.disc_number;
        t.genre = self.sheet.genre.clone().or_else(|| file.genre.clone());
        t.year = self.sheet.year.or(file.year);
        t.extra.clone_from(&file.extra);
        t.extra.remove("cuesheet");
        t
    }
}

/// `SHEET.cue/trackNNNN` → the sheet's path and the track's position (from 1).
#[must_use]
pub(crate) fn parse_track_name(path: &Path) -> Option<(PathBuf, usize)> {
    let name = path.file_name()?.to_str()?;
    let digits = name.strip_prefix("track")?;
    if digits.len() != 4 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let position: usize = digits.parse().ok().filter(|&p| p >= 1)?;
    let sheet = path.parent()?;
    (is_sheet_name(sheet) || is_flac_name(sheet)).then(|| (sheet.to_path_buf(), position))
}

/// Whether `path` is named like a FLAC file (which may embed a sheet).
fn is_flac_name(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case("flac"))
}

/// The sheet at `path`: a `.cue` file, or the sheet a FLAC file embeds.
fn read_sheet(path: &Path) -> crate::Result<CueSheet> {
    if is_sheet_name(path) {
        return Ok(CueSheet::read(path)?);
    }
    CueSheet::embedded(path)?.ok_or_else(|| crate::Error::Query {
        reason: format!("{}: no embedded CUE sheet", path.display()),
    })
}

/// The track a path names, if it names a sheet track (and is not a regular file of that name).
///
/// # Errors
/// The sheet cannot be read or parsed; the sheet has no track at that position; its audio file
/// cannot be found. Every error names the path.
pub(crate) fn resolve(path: &Path) -> crate::Result<Option<SheetTrack>> {
    let Some((sheet_path, position)) = parse_track_name(path) else {
        return Ok(None);
    };
    if std::fs::metadata(path).is_ok_and(|m| m.is_file()) {
        return Ok(None);
    }
    let sheet = read_sheet(&sheet_path)?;
    let Some(track) = sheet.tracks.get(position - 1).cloned() else {
        return Err(crate::Error::Query {
            reason: format!(
                "{}: the sheet has {} tracks, not {position}",
                path.display(),
                sheet.tracks.len()
            ),
        });
    };
    let audio =
        locate_audio(&sheet_path, &track.file).ok_or_else(|| missing(&sheet_path, &track))?;
    Ok(Some(SheetTrack {
        audio,
        track,
        sheet,
    }))
}

fn missing(sheet: &Path, track: &CueTrack) -> crate::Error {
    crate::Error::Query {
        reason: format!(
            "{}: audio file {:?} of track {} not found",
            sheet.display(),
            track.file.display().to_string(),
            track.number
        ),
    }
}

/// The audio file a sheet names: as named (relative to the sheet), else its bare name beside
/// the sheet, else its stem with any audio extension beside the sheet.
pub(crate) fn locate_audio(sheet: &Path, named: &Path) -> Option<PathBuf> {
    let dir = sheet.parent().unwrap_or_else(|| Path::new("."));
    let is_file = |p: &Path| std::fs::metadata(p).is_ok_and(|m| m.is_file());
    let as_named = dir.join(named);
    if is_file(&as_named) {
        return Some(as_named);
    }
    // A Windows path (`C:\rips\album.wav`) or a path from another machine: its last part.
    let text = named.to_string_lossy();
    let bare = text.rsplit(['/', '\\']).next().unwrap_or_default();
    if bare.is_empty() {
        return None;
    }
    let beside = dir.join(bare);
    if is_file(&beside) {
        return Some(beside);
    }
    let stem = Path::new(bare).file_stem()?.to_str()?.to_owned();
    let mut candidates: Vec<PathBuf> = std::fs::read_dir(dir)
        .ok()?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            has_audio_extension(p)
                && p.file_stem().and_then(|s| s.to_str()) == Some(stem.as_str())
                && is_file(p)
        })
        .collect();
    candidates.sort();
    candidates.into_iter().next()
}

/// What [`expand`] made of a folder's sheets.
#[derive(Debug, Default)]
pub(crate) struct Expanded {
    /// Sheets that could not be used, with the reason: their audio files stay whole tracks.
    pub failed: Vec<SkippedEntry>,
    /// Sheet tracks added.
    pub tracks: usize,
}

/// Replaces, in `files`, each audio file that a readable sheet of `sheets` cuts into tracks by
/// those tracks (named `SHEET.cue/trackNNNN`, with the audio file's size and the later of the
/// two modification times, so editing the sheet analyses its tracks again). A sheet that
/// cannot be read or parsed, or names a file that cannot be found, fails alone.
pub(crate) fn expand(files: &mut Vec<FoundFile>, sheets: &[FoundFile]) -> Expanded {
    let mut out = Expanded::default();
    let mut cut: std::collections::HashSet<PathBuf> = std::collections::HashSet::new();
    let mut added: Vec<FoundFile> = Vec::new();
    for s in sheets {
        let sheet = match CueSheet::read(&s.path) {
            Ok(sheet) => sheet,
            Err(e) => {
                out.failed.push(SkippedEntry {
                    path: s.path.clone(),
                    reason: e.to_string(),
                });
                continue;
            }
        };
        let located: Option<Vec<(PathBuf, FoundFile)>> = sheet
            .tracks
            .iter()
            .map(|t| {
                let audio = locate_audio(&s.path, &t.file)?;
                let facts = crate::walk::file_facts(&audio).ok()?;
                Some((audio, facts))
            })
            .collect();
        let Some(located) = located else {
            let t = sheet
                .tracks
                .iter()
                .find(|t| locate_audio(&s.path, &t.file).is_none());
            out.failed.push(SkippedEntry {
                path: s.path.clone(),
                reason: t.map_or_else(
                    || "its audio file cannot be read".to_owned(),
                    |t| missing(&s.path, t).to_string(),
                ),
            });
            continue;
        };
        for (t, (audio, facts)) in sheet.tracks.iter().zip(located) {
            added.push(FoundFile {
                path: t.name(&s.path),
                size: facts.size,
                mtime_ns: facts.mtime_ns.max(s.mtime_ns),
            });
            cut.insert(audio);
        }
    }
    // FLAC files that embed a sheet, unless a `.cue` file already cuts them.
    for f in files.iter() {
        if !is_flac_name(&f.path) || cut.contains(&f.path) {
            continue;
        }
        match CueSheet::embedded(&f.path) {
            Ok(Some(sheet)) => {
                for t in &sheet.tracks {
                    added.push(FoundFile {
                        path: t.name(&f.path),
                        size: f.size,
                        mtime_ns: f.mtime_ns,
                    });
                }
                cut.insert(f.path.clone());
            }
            Ok(None) => {}
            // A broken embedded sheet fails alone: the file is indexed whole.
            Err(
                e @ (sonority_mfcc::Error::CueSheet { .. } | sonority_mfcc::Error::Limit { .. }),
            ) => {
                out.failed.push(SkippedEntry {
                    path: f.path.clone(),
                    reason: e.to_string(),
                });
            }
            // A file that cannot be read at all is the file's failure, reported once, by its
            // own analysis.
            Err(_) => {}
        }
    }
    out.tracks = added.len();
    files.retain(|f| !cut.contains(&f.path));
    files.extend(added);
    files.sort_by(|a, b| a.path.cmp(&b.path));
    out
}

/// The content hash of a file, or of a sheet track: the hash of its audio file, its span and
/// the tags the sheet gives it, so that a sheet track is one recording wherever its sheet lies,
/// two tracks of one file are two recordings, and editing a sheet's titles reads them again.
///
/// # Errors
/// As [`resolve`], and I/O errors hashing the audio file.
#[cfg(feature = "store")]
pub(crate) fn content_hash(path: &Path) -> crate::Result<sonority_store::ContentHash> {
    match resolve(path)? {
        None => Ok(sonority_store::content_hash(path)?),
        Some(t) => {
            let audio = sonority_store::content_hash(&t.audio)?;
            Ok(t.hash_with(audio))
        }
    }
}

#[cfg(feature = "store")]
impl SheetTrack {
    /// The track's content hash, given its audio file's.
    pub fn hash_with(&self, audio: sonority_store::ContentHash) -> sonority_store::ContentHash {
        let mut bytes = Vec::with_capacity(256);
        bytes.extend_from_slice(&audio.0);
        bytes.extend_from_slice(&self.track.start_s.to_le_bytes());
        bytes.extend_from_slice(&self.track.end_s.unwrap_or(-1.0).to_le_bytes());
        bytes.extend_from_slice(&self.track.number.to_le_bytes());
        for text in [
            &self.track.title,
            &self.track.performer,
            &self.sheet.title,
            &self.sheet.performer,
            &self.sheet.genre,
        ] {
            bytes.extend_from_slice(text.as_deref().unwrap_or_default().as_bytes());
            bytes.push(0);
        }
        bytes.extend_from_slice(&self.sheet.year.unwrap_or(0).to_le_bytes());
        sonority_store::content_hash_bytes(&bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn track_names_follow_mpd() {
        assert_eq!(
            parse_track_name(Path::new("/m/Album.CUE/track0012")),
            Some((PathBuf::from("/m/Album.CUE"), 12))
        );
        assert_eq!(
            parse_track_name(Path::new("/m/image.flac/track0001")),
            Some((PathBuf::from("/m/image.flac"), 1))
        );
        for bad in [
            "/m/a.cue/track0000",
            "/m/a.cue/track12",
            "/m/a.cue/track00012",
            "/m/a.wav/track0001",
            "/m/a.cue/Track0001",
            "track0001",
        ] {
            assert_eq!(parse_track_name(Path::new(bad)), None, "{bad}");
        }
    }
}
