//! Encoding of vectors and paths into SQLite values.

use std::path::{Path, PathBuf};

use rusqlite::types::{Value, ValueRef};

use crate::error::{Error, Result};

/// Encodes `v` as little-endian `f32` bytes, bit for bit.
pub(crate) fn encode_f32(v: &[f32]) -> Vec<u8> {
    let mut out = Vec::with_capacity(v.len() * 4);
    for x in v {
        out.extend_from_slice(&x.to_le_bytes());
    }
    out
}

/// Appends the little-endian `f32` values of `bytes` (a multiple of 4 long) to `out`.
pub(crate) fn decode_f32_into(bytes: &[u8], out: &mut Vec<f32>) {
    out.extend(
        bytes
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])),
    );
}

/// Encodes a path: TEXT when it is UTF-8, else (on Unix) a BLOB of its raw bytes.
///
/// The encoding is a function of the path, so the unique index finds it again.
pub(crate) fn path_value(path: &Path) -> Result<Value> {
    if let Some(s) = path.to_str() {
        return Ok(Value::Text(s.to_owned()));
    }
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStrExt;
        Ok(Value::Blob(path.as_os_str().as_bytes().to_vec()))
    }
    #[cfg(not(unix))]
    {
        Err(Error::InvalidPath {
            path: path.to_path_buf(),
        })
    }
}

/// Decodes a path written by [`path_value`].
pub(crate) fn path_from_ref(v: ValueRef<'_>) -> Result<PathBuf, rusqlite::types::FromSqlError> {
    match v {
        ValueRef::Text(t) => std::str::from_utf8(t)
            .map(PathBuf::from)
            .map_err(|e| rusqlite::types::FromSqlError::Other(Box::new(e))),
        #[cfg(unix)]
        ValueRef::Blob(b) => {
            use std::os::unix::ffi::OsStrExt;
            Ok(PathBuf::from(std::ffi::OsStr::from_bytes(b)))
        }
        _ => Err(rusqlite::types::FromSqlError::InvalidType),
    }
}

/// Reads column `i` of a row as a path written by [`path_value`].
pub(crate) fn path_column(r: &rusqlite::Row<'_>, i: usize) -> rusqlite::Result<PathBuf> {
    path_from_ref(r.get_ref(i)?).map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(i, rusqlite::types::Type::Blob, Box::new(e))
    })
}

/// Converts a size to SQLite's `i64`.
pub(crate) fn size_i64(size: u64) -> Result<i64> {
    i64::try_from(size).map_err(|_| Error::OutOfRange {
        what: "size_bytes",
        value: size.to_string(),
    })
}

/// Seconds since the Unix epoch, now.
pub(crate) fn now_s() -> i64 {
    crate::types::system_time_ns(std::time::SystemTime::now()) / 1_000_000_000
}

/// Reads a non-negative count or dimension column as `usize`.
pub(crate) fn get_usize(r: &rusqlite::Row<'_>, i: usize) -> rusqlite::Result<usize> {
    let v: i64 = r.get(i)?;
    usize::try_from(v).map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(i, rusqlite::types::Type::Integer, Box::new(e))
    })
}

/// Writes a `usize` as SQLite's `i64` (saturating; counts never reach it).
pub(crate) fn usize_i64(v: usize) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}
