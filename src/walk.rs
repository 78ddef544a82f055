//! Finding the audio files in a music folder, safely.
//!
//! A music folder in the wild holds cover art, playlists, text, symlink loops, directories named
//! like audio files and even FIFOs (opening one blocks forever). The walk never opens a file: it
//! looks at each entry's type (following symlinks, with loop detection) and extension, and
//! reports what it skipped and why.

use std::path::{Path, PathBuf};
use std::time::UNIX_EPOCH;

/// File extensions treated as audio (compared case-insensitively).
pub const AUDIO_EXTENSIONS: &[&str] = &[
    "wav", "wave", "flac", "mp3", "ogg", "oga", "m4a", "mp4", "aac", "aif", "aiff", "aifc", "caf",
    "mka", "webm", "opus",
];

/// An audio file found by [`scan_folder`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct FoundFile {
    /// The file's path (as found, under the scanned root).
    pub path: PathBuf,
    /// Size in bytes.
    pub size: u64,
    /// Modification time in nanoseconds since the Unix epoch (0 if unknown).
    pub mtime_ns: i64,
}

/// An entry the walk did not take, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct SkippedEntry {
    /// The path.
    pub path: PathBuf,
    /// Why it was skipped.
    pub reason: String,
}

/// What [`scan_folder`] found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ScanResult {
    /// Audio files, sorted by path.
    pub files: Vec<FoundFile>,
    /// Entries that look like audio but cannot be analysed (FIFOs, directories, broken links),
    /// and unreadable directories. Files with other extensions are not listed.
    pub skipped: Vec<SkippedEntry>,
    /// CUE sheets (`.cue` files), sorted by path: not read by the walk.
    pub sheets: Vec<FoundFile>,
}

/// Whether `path` has an audio extension.
#[must_use]
pub fn has_audio_extension(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| AUDIO_EXTENSIONS.iter().any(|a| a.eq_ignore_ascii_case(e)))
}

/// Whether `path` is named like a CUE sheet (`.cue`, any case).
#[must_use]
pub fn is_sheet_name(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case("cue"))
}

/// The facts of one path if it is a regular file, or why not. Follows symlinks.
///
/// # Errors
/// A human-readable reason when the path is not a readable regular file.
pub fn file_facts(path: &Path) -> Result<FoundFile, String> {
    let meta = std::fs::metadata(path).map_err(|e| format!("cannot stat: {e}"))?;
    let ft = meta.file_type();
    if !ft.is_file() {
        return Err(file_kind(&ft).to_string());
    }
    let mtime_ns = meta
        .modified()
        .ok()
        .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        .map_or(0, |d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX));
    Ok(FoundFile {
        path: path.to_path_buf(),
        size: meta.len(),
        mtime_ns,
    })
}

fn file_kind(ft: &std::fs::FileType) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if ft.is_fifo() {
            return "a FIFO, not a regular file";
        }
        if ft.is_socket() {
            return "a socket, not a regular file";
        }
        if ft.is_block_device() || ft.is_char_device() {
            return "a device, not a regular file";
        }
    }
    if ft.is_dir() {
        "a directory, not a regular file"
    } else {
        "not a regular file"
    }
}

/// Walks `root` recursively (following symlinks, detecting loops) and returns the audio files,
/// sorted by path, with the audio-looking entries it had to skip.
#[must_use]
pub fn scan_folder(root: &Path) -> ScanResult {
    let mut out = ScanResult::default();
    if let Ok(meta) = std::fs::metadata(root)
        && meta.is_file()
    {
        match file_facts(root) {
            Ok(f) => out.files.push(f),
            Err(reason) => out.skipped.push(SkippedEntry {
                path: root.to_path_buf(),
                reason,
            }),
        }
        return out;
    }
    for entry in walkdir::WalkDir::new(root).follow_links(true) {
        match entry {
            Ok(e) => {
                let path = e.path();
                if e.depth() > 0
                    && e.file_type().is_file()
                    && is_sheet_name(path)
                    && let Ok(f) = file_facts(path)
                {
                    out.sheets.push(f);
                    continue;
                }
                if e.depth() == 0 || !has_audio_extension(path) {
                    continue;
                }
                if e.file_type().is_dir() {
                    out.skipped.push(SkippedEntry {
                        path: path.to_path_buf(),
                        reason: "a directory, not a regular file".into(),
                    });
                    continue;
                }
                match file_facts(path) {
                    Ok(f) => out.files.push(f),
                    Err(reason) => out.skipped.push(SkippedEntry {
                        path: path.to_path_buf(),
                        reason,
                    }),
                }
            }
            Err(err) => {
                let path = err
                    .path()
                    .map(Path::to_path_buf)
                    .unwrap_or_else(|| root.into());
                let reason = if err.loop_ancestor().is_some() {
                    "symlink loop".to_string()
                } else if let Some(io) = err.io_error() {
                    if io.kind() == std::io::ErrorKind::NotFound {
                        "dangling symlink".to_string()
                    } else {
                        format!("cannot read: {io}")
                    }
                } else {
                    err.to_string()
                };
                out.skipped.push(SkippedEntry { path, reason });
            }
        }
    }
    out.files.sort_by(|a, b| a.path.cmp(&b.path));
    out.sheets.sort_by(|a, b| a.path.cmp(&b.path));
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn finds_audio_and_reports_audio_named_directories() -> std::io::Result<()> {
        let dir = std::env::temp_dir().join(format!("sonority-walk-test-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("album.mp3"))?; // a directory named like audio
        std::fs::write(dir.join("a.wav"), b"RIFF")?;
        std::fs::write(dir.join("cover.jpg"), b"")?;
        let found = super::scan_folder(&dir);
        assert_eq!(found.files.len(), 1);
        assert_eq!(found.skipped.len(), 1);
        std::fs::remove_dir_all(&dir)
    }
}
