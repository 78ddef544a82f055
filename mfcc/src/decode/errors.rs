//! symphonia's errors and panics as this crate's [`Error`], naming the file.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::Path;

use symphonia::core::errors::Error as SymError;

use crate::Error;
use crate::Result;

/// Runs a call into symphonia, turning a panic into [`Error::Decode`].
pub(super) fn guarded<T>(path: &Path, what: &str, f: impl FnOnce() -> T) -> Result<T> {
    catch_unwind(AssertUnwindSafe(f)).map_err(|payload| {
        let msg = payload
            .downcast_ref::<&str>()
            .map(|s| (*s).to_owned())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown panic".to_owned());
        decode_err(path, format!("symphonia {what} panicked: {msg}"))
    })
}

pub(super) fn decode_err(path: &Path, reason: impl Into<String>) -> Error {
    Error::Decode {
        path: path.to_path_buf(),
        reason: reason.into(),
    }
}

pub(super) fn unsupported(path: &Path, reason: impl Into<String>) -> Error {
    Error::Unsupported {
        path: path.to_path_buf(),
        reason: reason.into(),
    }
}

pub(super) fn map_symphonia(path: &Path, e: SymError) -> Error {
    match e {
        SymError::IoError(source) => Error::Io {
            path: path.to_path_buf(),
            source,
        },
        SymError::DecodeError(msg) => decode_err(path, msg),
        SymError::Unsupported(msg) => unsupported(path, msg),
        SymError::LimitError(msg) => Error::Limit {
            path: path.to_path_buf(),
            reason: msg.to_owned(),
        },
        other => decode_err(path, other.to_string()),
    }
}
