//! PostgreSQL client errors as the store's [`Error`]: one classification for the connection,
//! the schema, the catalogue, the bulk loads and the work queue.

use postgres::error::SqlState;

use crate::error::Error;

/// Classifies a client error into the variant a caller can act on.
pub(crate) fn pg_error(target: &str, source: postgres::Error) -> Error {
    let target = target.to_owned();
    match source.code() {
        Some(c)
            if *c == SqlState::INVALID_PASSWORD
                || *c == SqlState::INVALID_AUTHORIZATION_SPECIFICATION =>
        {
            Error::AuthFailed { target, source }
        }
        Some(c) if *c == SqlState::INSUFFICIENT_PRIVILEGE => {
            Error::PermissionDenied { target, source }
        }
        _ => Error::Postgres { target, source },
    }
}
