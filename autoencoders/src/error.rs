//! The crate's error type.

use std::path::PathBuf;

/// `Error` lists everything that can go wrong when building, training, saving, loading or running
/// an autoencoder.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    // === Configuration errors: fix the call ===
    /// A configuration field has a value the model cannot be built with.
    #[error("invalid config field `{field}`: {reason}")]
    InvalidConfig {
        /// The offending field.
        field: &'static str,
        /// Why it is rejected.
        reason: String,
    },

    // === Input errors ===
    /// An input slice or tensor does not have the shape the model expects.
    #[error("shape mismatch for {what}: expected {expected:?}, got {actual:?}")]
    ShapeMismatch {
        /// What was being checked (a tensor name, "input", "output buffer").
        what: String,
        /// The expected shape.
        expected: Vec<usize>,
        /// The shape found.
        actual: Vec<usize>,
    },
    /// There is nothing to work on (no tracks, no rows, an empty matrix).
    #[error("empty input: {what}")]
    Empty {
        /// What was empty.
        what: &'static str,
    },
    /// A value that must be finite is NaN or infinite.
    #[error("non-finite value in {what}")]
    NonFinite {
        /// Where the value was found (input, loss, embedding).
        what: &'static str,
    },

    // === Persistence errors ===
    /// Reading or writing a model file failed.
    #[error("i/o error on {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// A model file is truncated, garbage, or otherwise not what this crate writes.
    #[error("malformed model file {path}: {reason}")]
    Format {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// A model file was written by a newer (or unknown) format version.
    #[error(
        "unsupported model format version {found} in {path} (this build reads up to {supported})"
    )]
    UnsupportedVersion {
        /// The file.
        path: PathBuf,
        /// The version in the file.
        found: u32,
        /// The newest version this build reads.
        supported: u32,
    },
    /// A tensor the model needs is missing from the weights file.
    #[error("missing tensor `{name}` in {path}")]
    MissingTensor {
        /// The file.
        path: PathBuf,
        /// The tensor's name, e.g. `encoder.conv0.weight`.
        name: String,
    },

    // === Backend errors ===
    /// An error from candle.
    #[error(transparent)]
    Candle(#[from] candle_core::Error),
}

/// The crate's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
