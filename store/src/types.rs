//! Plain value types that cross the crate boundary.

use std::path::PathBuf;
use std::time::UNIX_EPOCH;

use crate::error::{Error, Result};

/// `TrackId` is the stable id of one track in a store.
///
/// It survives re-analysis and moves (a moved file keeps its id), and is the
/// key the similarity crate ranks by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TrackId(pub i64);

impl std::fmt::Display for TrackId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

/// `ContentHash` is the 128-bit XXH3 hash of a file's bytes, see [`content_hash`](crate::content_hash).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ContentHash(pub [u8; 16]);

impl std::fmt::Display for ContentHash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for b in self.0 {
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}

/// `FileFacts` is what a directory walk knows about a file without reading it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct FileFacts {
    /// The file's path, as the indexer will open it.
    pub path: PathBuf,
    /// Size in bytes.
    pub size_bytes: u64,
    /// Modification time in nanoseconds since the Unix epoch (negative before it).
    pub mtime_ns: i64,
}

impl FileFacts {
    /// Creates facts from explicit values.
    #[must_use]
    pub fn new(path: impl Into<PathBuf>, size_bytes: u64, mtime_ns: i64) -> Self {
        Self {
            path: path.into(),
            size_bytes,
            mtime_ns,
        }
    }

    /// Reads size and modification time from the file system (following symlinks).
    ///
    /// # Errors
    /// [`Error::Io`] if the metadata cannot be read.
    pub fn from_path(path: impl Into<PathBuf>) -> Result<Self> {
        let path = path.into();
        let meta = std::fs::metadata(&path).map_err(|source| Error::Io {
            path: path.clone(),
            source,
        })?;
        let mtime_ns = meta.modified().map_or(0, system_time_ns);
        Ok(Self {
            path,
            size_bytes: meta.len(),
            mtime_ns,
        })
    }
}

/// Nanoseconds since the Unix epoch, saturating, negative before it.
pub(crate) fn system_time_ns(t: std::time::SystemTime) -> i64 {
    match t.duration_since(UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_nanos()).unwrap_or(i64::MAX),
        Err(e) => i64::try_from(e.duration().as_nanos()).map_or(i64::MIN, |n| -n),
    }
}

/// `TrackTags` are the metadata read from a file's tags.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct TrackTags {
    /// Track title.
    pub title: Option<String>,
    /// Artist.
    pub artist: Option<String>,
    /// Album.
    pub album: Option<String>,
    /// Track number on its disc.
    pub track_number: Option<u32>,
    /// Album artist.
    pub album_artist: Option<String>,
    /// Disc number, from 1.
    pub disc_number: Option<u32>,
    /// Genre (several may be joined by `; `).
    pub genre: Option<String>,
    /// Year of release (or recording, when that is all the file has).
    pub year: Option<i32>,
    /// Any other tags by lower-case name (`composer`, `mood`, `comment`, ...), sorted.
    pub extra: std::collections::BTreeMap<String, String>,
}

impl TrackTags {
    /// Sets the title.
    #[must_use]
    pub fn with_title(mut self, v: impl Into<String>) -> Self {
        self.title = Some(v.into());
        self
    }
    /// Sets the artist.
    #[must_use]
    pub fn with_artist(mut self, v: impl Into<String>) -> Self {
        self.artist = Some(v.into());
        self
    }
    /// Sets the album.
    #[must_use]
    pub fn with_album(mut self, v: impl Into<String>) -> Self {
        self.album = Some(v.into());
        self
    }
    /// Sets the track number.
    #[must_use]
    pub fn with_track_number(mut self, v: u32) -> Self {
        self.track_number = Some(v);
        self
    }
    /// Sets the album artist.
    #[must_use]
    pub fn with_album_artist(mut self, v: impl Into<String>) -> Self {
        self.album_artist = Some(v.into());
        self
    }
    /// Sets the disc number.
    #[must_use]
    pub fn with_disc_number(mut self, v: u32) -> Self {
        self.disc_number = Some(v);
        self
    }
    /// Sets the genre.
    #[must_use]
    pub fn with_genre(mut self, v: impl Into<String>) -> Self {
        self.genre = Some(v.into());
        self
    }
    /// Sets the year.
    #[must_use]
    pub fn with_year(mut self, v: i32) -> Self {
        self.year = Some(v);
        self
    }
    /// Adds another tag (its name lower-cased).
    #[must_use]
    pub fn with_extra(mut self, name: &str, value: impl Into<String>) -> Self {
        self.extra.insert(name.to_lowercase(), value.into());
        self
    }
}

/// `TrackRecord` is everything known about one audio file that is not an analysis result.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct TrackRecord {
    /// Path, size and modification time.
    pub file: FileFacts,
    /// Content hash, if computed (needed to recognise the file after a move).
    pub content_hash: Option<ContentHash>,
    /// Duration in seconds.
    pub duration_s: Option<f64>,
    /// Native sample rate in Hz.
    pub sample_rate_hz: Option<u32>,
    /// Number of channels.
    pub channels: Option<u16>,
    /// TrackTags read from the file.
    pub tags: TrackTags,
}

impl TrackRecord {
    /// Creates a record with only the file facts set.
    #[must_use]
    pub fn new(file: FileFacts) -> Self {
        Self {
            file,
            content_hash: None,
            duration_s: None,
            sample_rate_hz: None,
            channels: None,
            tags: TrackTags::default(),
        }
    }
    /// Sets the content hash.
    #[must_use]
    pub fn with_content_hash(mut self, h: ContentHash) -> Self {
        self.content_hash = Some(h);
        self
    }
    /// Sets the duration in seconds.
    #[must_use]
    pub fn with_duration_s(mut self, v: f64) -> Self {
        self.duration_s = Some(v);
        self
    }
    /// Sets the native sample rate in Hz.
    #[must_use]
    pub fn with_sample_rate_hz(mut self, v: u32) -> Self {
        self.sample_rate_hz = Some(v);
        self
    }
    /// Sets the channel count.
    #[must_use]
    pub fn with_channels(mut self, v: u16) -> Self {
        self.channels = Some(v);
        self
    }
    /// Sets the tags.
    #[must_use]
    pub fn with_tags(mut self, tags: TrackTags) -> Self {
        self.tags = tags;
        self
    }
}

/// `Analysis` holds the scalar descriptors computed for one track.
///
/// All numbers must be finite; `descriptors` holds any others by name.
#[derive(Debug, Clone, Default, PartialEq)]
#[non_exhaustive]
pub struct Analysis {
    /// Estimated key, for example `"A minor"`.
    pub key: Option<String>,
    /// Confidence of the key estimate (correlation, usually 0 to 1).
    pub key_strength: Option<f64>,
    /// Tempo in beats per minute.
    pub tempo_bpm: Option<f64>,
    /// Confidence of the tempo estimate.
    pub tempo_confidence: Option<f64>,
    /// Mean spectral roll-off in Hz.
    pub rolloff_hz: Option<f64>,
    /// Other named scalar descriptors, sorted by name when read back.
    pub descriptors: Vec<(String, f64)>,
}

impl Analysis {
    /// Sets key and key strength.
    #[must_use]
    pub fn with_key(mut self, key: impl Into<String>, strength: f64) -> Self {
        self.key = Some(key.into());
        self.key_strength = Some(strength);
        self
    }
    /// Sets tempo and its confidence.
    #[must_use]
    pub fn with_tempo(mut self, bpm: f64, confidence: f64) -> Self {
        self.tempo_bpm = Some(bpm);
        self.tempo_confidence = Some(confidence);
        self
    }
    /// Sets the roll-off in Hz.
    #[must_use]
    pub fn with_rolloff_hz(mut self, hz: f64) -> Self {
        self.rolloff_hz = Some(hz);
        self
    }
    /// Adds a named descriptor.
    #[must_use]
    pub fn with_descriptor(mut self, name: impl Into<String>, value: f64) -> Self {
        self.descriptors.push((name.into(), value));
        self
    }
}

/// `ModelVector` is one model's vector for a track, with optional per-tile vectors.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ModelVector<'a> {
    /// The model name (see [`ModelInfo`]).
    pub model: &'a str,
    /// The track's vector; its length must equal the model's dimension.
    pub vector: &'a [f32],
    /// Optional per-tile vectors, row-major.
    pub tiles: Option<Tiles<'a>>,
}

impl<'a> ModelVector<'a> {
    /// Creates an embedding without tiles.
    #[must_use]
    pub fn new(model: &'a str, vector: &'a [f32]) -> Self {
        Self {
            model,
            vector,
            tiles: None,
        }
    }
    /// Adds per-tile vectors.
    #[must_use]
    pub fn with_tiles(mut self, tiles: Tiles<'a>) -> Self {
        self.tiles = Some(tiles);
        self
    }
}

/// `Tiles` is a row-major matrix of per-tile vectors (one row per spectrogram tile).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Tiles<'a> {
    /// Length of one tile vector.
    pub dim: usize,
    /// `n_tiles * dim` values.
    pub data: &'a [f32],
}

/// `AnalysedTrack` is one track's complete result, committed atomically.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AnalysedTrack<'a> {
    /// The file and its tags.
    pub track: &'a TrackRecord,
    /// Scalar descriptors.
    pub analysis: &'a Analysis,
    /// One vector per model.
    pub embeddings: &'a [ModelVector<'a>],
}

/// `TrackInfo` is a stored track, as listed for showing results.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct TrackInfo {
    /// The track's id.
    pub id: TrackId,
    /// The stored record.
    pub record: TrackRecord,
    /// When it was last written, in seconds since the Unix epoch.
    pub indexed_at_s: i64,
}

/// `ModelInfo` describes a model whose vectors a store holds.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ModelInfo {
    /// Unique name, for example `"conv1d-v1"`.
    pub name: String,
    /// Vector dimension.
    pub dim: usize,
    /// Model configuration as JSON. Default: `{}`.
    pub config_json: String,
    /// Hash of the weights file, if known.
    pub weights_hash: Option<String>,
    /// When it was registered, in seconds since the Unix epoch (set by the store).
    pub created_at_s: i64,
}

impl ModelInfo {
    /// Creates a model description with an empty config.
    #[must_use]
    pub fn new(name: impl Into<String>, dim: usize) -> Self {
        Self {
            name: name.into(),
            dim,
            config_json: "{}".to_owned(),
            weights_hash: None,
            created_at_s: 0,
        }
    }
    /// Sets the configuration JSON.
    #[must_use]
    pub fn with_config_json(mut self, json: impl Into<String>) -> Self {
        self.config_json = json.into();
        self
    }
    /// Sets the weights hash.
    #[must_use]
    pub fn with_weights_hash(mut self, hash: impl Into<String>) -> Self {
        self.weights_hash = Some(hash.into());
        self
    }
}

/// `FileError` records why a file could not be analysed.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct FileError {
    /// The file.
    pub path: PathBuf,
    /// A human-readable reason.
    pub reason: String,
    /// When it failed, in seconds since the Unix epoch.
    pub at_s: i64,
}

/// `LibraryRoot` is a music folder indexed into a database.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct LibraryRoot {
    /// The folder (canonical, as indexed).
    pub path: PathBuf,
    /// When an indexing run of it last finished, in seconds since the Unix epoch.
    pub indexed_at_s: i64,
}

/// Checks that `values` are all finite, naming them `what` in the error.
pub(crate) fn check_finite(what: impl FnOnce() -> String, values: &[f32]) -> Result<()> {
    match values.iter().position(|v| !v.is_finite()) {
        None => Ok(()),
        Some(index) => Err(Error::NonFinite {
            what: what(),
            index,
            value: f64::from(values[index]),
        }),
    }
}

/// Checks one optional f64.
pub(crate) fn check_finite_f64(what: &str, v: Option<f64>) -> Result<()> {
    match v {
        Some(x) if !x.is_finite() => Err(Error::NonFinite {
            what: what.to_owned(),
            index: 0,
            value: x,
        }),
        _ => Ok(()),
    }
}
