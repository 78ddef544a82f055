//! The one error type of `sonority-fusion`.

/// Everything that can go wrong while computing descriptors or fusing blocks.
///
/// Variants are chosen by what the caller does next: fix the call (`InvalidConfig`,
/// `BlockSize`, `UnknownBlock`, `NotFitted`), reject the input (`NonFinite`), or report a
/// failure underneath (`Mfcc`, `Json`, `Io`).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A configuration value is out of range.
    #[error("invalid configuration: {field}: {reason}")]
    InvalidConfig {
        /// The offending field.
        field: &'static str,
        /// Why it is invalid.
        reason: String,
    },
    /// A block or output buffer has the wrong length.
    #[error("block {block}: expected {expected} values, got {actual}")]
    BlockSize {
        /// The block's name.
        block: String,
        /// Length the layout expects.
        expected: usize,
        /// Length given.
        actual: usize,
    },
    /// A block name that the layout does not contain.
    #[error("unknown block {name}")]
    UnknownBlock {
        /// The name asked for.
        name: String,
    },
    /// A value is NaN or infinite.
    #[error("non-finite value in {what} at index {index}")]
    NonFinite {
        /// Where the value was found.
        what: String,
        /// Its index there.
        index: usize,
    },
    /// Standardisation statistics are needed but were never fitted.
    #[error("fusion statistics not fitted: {reason}")]
    NotFitted {
        /// What is missing.
        reason: String,
    },
    /// An error from the STFT, decoding or another frame sink.
    #[error(transparent)]
    Mfcc(#[from] sonority_mfcc::Error),
    /// A fusion model could not be serialised or parsed.
    #[error("fusion json: {source}")]
    Json {
        /// The underlying serde error.
        #[from]
        source: serde_json::Error,
    },
    /// A fusion model file could not be read or written.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: std::path::PathBuf,
        /// The underlying I/O error.
        #[source]
        source: std::io::Error,
    },
}

impl Error {
    pub(crate) fn config(field: &'static str, reason: impl Into<String>) -> Self {
        Error::InvalidConfig {
            field,
            reason: reason.into(),
        }
    }
}

/// Checks that every value is finite.
pub(crate) fn check_finite(what: &str, values: &[f32]) -> Result<()> {
    match values.iter().position(|v| !v.is_finite()) {
        Some(index) => Err(Error::NonFinite {
            what: what.to_owned(),
            index,
        }),
        None => Ok(()),
    }
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
