//! The command's one error type: every failure is one line naming the file or the option.

use std::path::PathBuf;

/// What went wrong, as the user reads it on one line.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CliError {
    /// An error of the library (analysis, database, query), which names its file.
    #[error("{0}")]
    Sonority(#[from] sonority::Error),
    /// An error of the catalogue (SQLite or PostgreSQL), which names its file or server.
    #[error("{0}")]
    Store(#[from] sonority::store::Error),
    /// The configuration file cannot be read.
    #[error("{}: cannot read the configuration file: {source}", path.display())]
    ConfigRead {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The configuration file is not valid TOML, or holds an unknown or mistyped key.
    #[error("{}: {reason}", path.display())]
    ConfigParse {
        /// The file.
        path: PathBuf,
        /// Where and why, on one line.
        reason: String,
    },
    /// An option's value is wrong.
    #[error("{option}: {reason}")]
    Option {
        /// The option, as typed (`--tag`, `-n`, a positional name).
        option: String,
        /// Why.
        reason: String,
    },
    /// A file or folder given cannot be used.
    #[error("{}: {reason}", path.display())]
    Path {
        /// The path.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// Talking to MPD failed (the message names MPD and where it is).
    #[error("{0}")]
    Mpd(#[from] crate::mpd::MpdError),
    /// Writing the output failed.
    #[error("{}: {source}", path.display())]
    Write {
        /// The file (`-` for standard output).
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// Stopped by Ctrl-C or SIGTERM before the end.
    #[error("stopped")]
    Stopped,
}

impl CliError {
    /// An option error.
    pub fn option(option: impl Into<String>, reason: impl Into<String>) -> Self {
        Self::Option {
            option: option.into(),
            reason: reason.into(),
        }
    }

    /// A path error.
    pub fn path(path: impl Into<PathBuf>, reason: impl Into<String>) -> Self {
        Self::Path {
            path: path.into(),
            reason: reason.into(),
        }
    }

    /// The process exit code: 130 after Ctrl-C (as shells report it), else 1 (usage errors
    /// are clap's, 2).
    pub fn exit_code(&self) -> i32 {
        match self {
            Self::Stopped => 130,
            _ => 1,
        }
    }
}

/// `Result` with [`CliError`].
pub type Result<T, E = CliError> = std::result::Result<T, E>;

/// One line: newlines and runs of whitespace in a message become single spaces.
pub fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_become_one_line() {
        assert_eq!(one_line("a\n  b\tc\n"), "a b c");
        assert_eq!(one_line(""), "");
    }
}
