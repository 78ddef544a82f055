//! The one error type of `sonority-mfcc`.

use std::path::PathBuf;

/// Everything that can go wrong while decoding audio or computing features.
///
/// Variants are chosen by what the caller does next: skip the file (`Decode`, `Unsupported`,
/// `Empty`, `NotAFile`, `Io`), fix the call (`InvalidConfig`), refuse untrusted input (`Limit`),
/// or report a downstream consumer's failure (`Sink`).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The file could not be opened or read.
    #[error("{}: cannot read: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The path is not a regular file (a directory, a FIFO, a socket, a device).
    #[error("{}: not a regular file ({kind})", path.display())]
    NotAFile {
        /// The path.
        path: PathBuf,
        /// What it is instead.
        kind: &'static str,
    },
    /// The container or codec is not supported, or the bytes are not audio at all.
    #[error("{}: unsupported or not audio: {reason}", path.display())]
    Unsupported {
        /// The file.
        path: PathBuf,
        /// Why, in a few words.
        reason: String,
    },
    /// The stream is malformed (bad header, zero channels, zero sample rate, corrupt packets).
    #[error("{}: cannot decode: {reason}", path.display())]
    Decode {
        /// The file.
        path: PathBuf,
        /// Why, in a few words.
        reason: String,
    },
    /// The file decoded to no audio samples at all.
    #[error("{}: no audio samples", path.display())]
    Empty {
        /// The file.
        path: PathBuf,
    },
    /// A CUE sheet is malformed: a track before any file, a missing or out-of-order
    /// `INDEX 01`, a timing that is not `mm:ss:ff`.
    #[error("{}:{line}: invalid CUE sheet: {reason}", path.display())]
    CueSheet {
        /// The sheet.
        path: PathBuf,
        /// The line (from 1; 0 for the whole sheet).
        line: usize,
        /// Why, in a few words.
        reason: String,
    },
    /// Untrusted input exceeded a configured limit (duration, channels, sample rate).
    #[error("{}: limit exceeded: {reason}", path.display())]
    Limit {
        /// The file.
        path: PathBuf,
        /// Which limit.
        reason: String,
    },
    /// A configuration value is out of range.
    #[error("invalid configuration: {field}: {reason}")]
    InvalidConfig {
        /// The offending field.
        field: &'static str,
        /// Why it is invalid.
        reason: String,
    },
    /// Input samples or a result contained NaN or infinity.
    #[error("non-finite value in {what}")]
    NonFinite {
        /// Where the value was found.
        what: &'static str,
    },
    /// A [`FrameSink`](crate::FrameSink) failed.
    #[error("frame sink failed: {source}")]
    Sink {
        /// The sink's own error.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync + 'static>,
    },
}

impl Error {
    /// Wraps a consumer's error so a [`FrameSink`](crate::FrameSink) can return it.
    pub fn sink(source: impl Into<Box<dyn std::error::Error + Send + Sync + 'static>>) -> Self {
        Error::Sink {
            source: source.into(),
        }
    }

    pub(crate) fn config(field: &'static str, reason: impl Into<String>) -> Self {
        Error::InvalidConfig {
            field,
            reason: reason.into(),
        }
    }
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
