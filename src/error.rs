//! The facade's error: one variant per member crate, plus its own.

use std::path::PathBuf;

/// Everything the `sonority` pipeline can fail with.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Decoding or feature extraction failed.
    #[cfg(feature = "mfcc")]
    #[error(transparent)]
    Mfcc(#[from] sonority_mfcc::Error),
    /// A file could not be read.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// A manifest row is malformed.
    #[error("{}:{line}: {reason}", path.display())]
    Manifest {
        /// The manifest.
        path: PathBuf,
        /// 1-based line number.
        line: usize,
        /// What is wrong.
        reason: String,
    },
}

/// `Result` with the facade's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
