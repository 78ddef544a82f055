//! The one error type of `sonority-store`.

use std::path::PathBuf;

/// `Error` lists everything that can go wrong in `sonority-store`.
///
/// Variants are chosen by what the caller does next: fix the input
/// ([`Error::DimensionMismatch`], [`Error::NonFinite`], [`Error::EmptyVector`]),
/// pick another file ([`Error::NotADatabase`], [`Error::ForeignDatabase`],
/// [`Error::NewerSchema`]), retry later ([`Error::Busy`]) or fix permissions
/// ([`Error::ReadOnly`], [`Error::CannotOpen`]). Every check happens before a write,
/// so an error leaves the database unchanged.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    // === Opening a database ===
    /// The file exists but is not a SQLite database (or is empty).
    #[error("{path}: not a sonority database: {reason}")]
    NotADatabase {
        /// The database file.
        path: PathBuf,
        /// Why it was refused.
        reason: String,
    },
    /// The file is a SQLite database that belongs to another application.
    #[error(
        "{path}: a SQLite database of another application (application_id {application_id:#x}, user_version {user_version}), refusing to modify it"
    )]
    ForeignDatabase {
        /// The database file.
        path: PathBuf,
        /// Its `PRAGMA application_id`.
        application_id: i32,
        /// Its `PRAGMA user_version`.
        user_version: i32,
    },
    /// The database was written by a newer version of this crate.
    #[error(
        "{path}: database schema version {found} is newer than the newest this build knows ({supported}); upgrade sonority"
    )]
    NewerSchema {
        /// The database file.
        path: PathBuf,
        /// The version found in `PRAGMA user_version`.
        found: i32,
        /// The newest version this build can read.
        supported: i32,
    },
    /// A read-only open found an older schema that needs a (writing) migration first.
    #[error(
        "{path}: database schema version {found} must be migrated to {supported}; open it once for writing"
    )]
    NeedsMigration {
        /// The database file.
        path: PathBuf,
        /// The version found in `PRAGMA user_version`.
        found: i32,
        /// The version this build uses.
        supported: i32,
    },
    /// The database (or its directory) cannot be written.
    #[error("{path}: database is read-only: {source}")]
    ReadOnly {
        /// The database file.
        path: PathBuf,
        /// The SQLite error.
        source: rusqlite::Error,
    },
    /// The database file cannot be opened or created (missing directory, permissions).
    #[error("{path}: cannot open database: {source}")]
    CannotOpen {
        /// The database file.
        path: PathBuf,
        /// The SQLite error.
        source: rusqlite::Error,
    },
    /// Another connection held a lock for longer than the busy timeout.
    #[error("{path}: database is locked by another connection: {source}")]
    Busy {
        /// The database file.
        path: PathBuf,
        /// The SQLite error.
        source: rusqlite::Error,
    },
    /// The database content is inconsistent (for example a vector BLOB of the wrong length).
    #[error("{path}: corrupt database: {reason}")]
    Corrupt {
        /// The database file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },

    // === Bad input (nothing was written) ===
    /// A vector's length differs from the dimension registered for its model.
    #[error("model {model:?}: vector has dimension {actual}, expected {expected}")]
    DimensionMismatch {
        /// The model name.
        model: String,
        /// The model's registered dimension.
        expected: usize,
        /// The length of the rejected vector.
        actual: usize,
    },
    /// A value is NaN or infinite.
    #[error("{what}: non-finite value {value} at index {index}")]
    NonFinite {
        /// Which value (model vector, tiles, descriptor name).
        what: String,
        /// Position of the first offending value.
        index: usize,
        /// The offending value.
        value: f64,
    },
    /// A vector (or a model dimension) is empty.
    #[error("model {model:?}: empty vector")]
    EmptyVector {
        /// The model name.
        model: String,
    },
    /// Per-tile vectors whose length is not a multiple of their dimension.
    #[error("model {model:?}: {len} tile values is not a multiple of tile dimension {dim}")]
    BadTiles {
        /// The model name.
        model: String,
        /// Number of values given.
        len: usize,
        /// The tile dimension given.
        dim: usize,
    },
    /// A model is registered again with different settings.
    #[error("model {name:?} is already registered with a different {field}")]
    ModelConflict {
        /// The model name.
        name: String,
        /// Which setting differs (`dim`, `weights_hash`).
        field: &'static str,
    },
    /// The model's configuration is not valid JSON.
    #[error("model {name:?}: config is not valid JSON")]
    InvalidConfig {
        /// The model name.
        name: String,
    },
    /// No track has this id.
    #[error("no track with id {id}")]
    UnknownTrack {
        /// The missing id.
        id: i64,
    },
    /// A path that this platform cannot store (not UTF-8 outside Unix).
    #[error("{path}: path cannot be stored on this platform")]
    InvalidPath {
        /// The path.
        path: PathBuf,
    },
    /// A number does not fit its column (for example a size above `i64::MAX`).
    #[error("{what}: value {value} out of range")]
    OutOfRange {
        /// Which value.
        what: &'static str,
        /// The value, as text.
        value: String,
    },

    // === Server databases and the work queue ===
    /// The connection string (URL or `key=value` list) cannot be used; it is never
    /// repeated in the message because it may hold a password.
    #[error("invalid PostgreSQL connection string: {reason}")]
    InvalidConnection {
        /// What is wrong, without the string itself.
        reason: String,
    },
    /// The server cannot be reached (refused, timed out, no such host or socket).
    #[cfg(feature = "postgres")]
    #[error("{target}: server unreachable: {source}")]
    Unreachable {
        /// The server, with the password removed.
        target: String,
        /// The client error.
        source: postgres::Error,
    },
    /// The server refused the credentials (wrong user or password, no `pg_hba.conf` entry).
    #[cfg(feature = "postgres")]
    #[error("{target}: authentication failed: {source}")]
    AuthFailed {
        /// The server, with the password removed.
        target: String,
        /// The client error (the server's message, which never holds the password).
        source: postgres::Error,
    },
    /// The role lacks a privilege (see the grants in the crate docs).
    #[cfg(feature = "postgres")]
    #[error("{target}: permission denied: {source}")]
    PermissionDenied {
        /// The server, with the password removed.
        target: String,
        /// The client error.
        source: postgres::Error,
    },
    /// Any other PostgreSQL error.
    #[cfg(feature = "postgres")]
    #[error("{target}: {source}")]
    Postgres {
        /// The server, with the password removed.
        target: String,
        /// The client error.
        source: postgres::Error,
    },
    /// A job's lease was lost (it expired and another worker claimed the job, or the
    /// job was completed, failed or released meanwhile); nothing was written.
    #[error("job {job}: lease of worker {worker:?} lost, the result was not written")]
    LeaseLost {
        /// The job id.
        job: i64,
        /// The worker that held the lease.
        worker: String,
    },
    /// A root map (`name=/path,...`) cannot be parsed.
    #[error("invalid root map: {reason}")]
    InvalidRootMap {
        /// What is wrong.
        reason: String,
    },
    /// A job names a root this machine has not mapped to a path.
    #[error("root {name:?} is not mapped on this machine (known: {known})")]
    UnknownRoot {
        /// The root name.
        name: String,
        /// The mapped root names, comma-separated.
        known: String,
    },
    /// A job's relative path is absolute or climbs out of its root (`..`).
    #[error("{path}: not a plain relative path below a root")]
    InvalidRelativePath {
        /// The path.
        path: PathBuf,
    },

    // === Other ===
    /// Reading a file (to hash it or read its metadata) failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// Any other SQLite error.
    #[error("sqlite: {0}")]
    Sqlite(#[from] rusqlite::Error),
}

/// `Result` with this crate's [`Error`] as the default error type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// Classifies a SQLite error on database `path` into the variant a caller can act on.
    pub(crate) fn from_sqlite(path: &std::path::Path, source: rusqlite::Error) -> Self {
        use rusqlite::ErrorCode;
        let path = path.to_path_buf();
        match source.sqlite_error_code() {
            Some(ErrorCode::NotADatabase) => Error::NotADatabase {
                path,
                reason: source.to_string(),
            },
            Some(ErrorCode::ReadOnly) => Error::ReadOnly { path, source },
            Some(ErrorCode::CannotOpen | ErrorCode::PermissionDenied) => {
                Error::CannotOpen { path, source }
            }
            Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked) => {
                Error::Busy { path, source }
            }
            Some(ErrorCode::DatabaseCorrupt) => Error::Corrupt {
                path,
                reason: source.to_string(),
            },
            _ => Error::Sqlite(source),
        }
    }
}
