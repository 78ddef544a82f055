//! Streaming content hash used to recognise moved and touched files.

use std::io::Read;
use std::path::Path;

use crate::error::{Error, Result};
use crate::types::ContentHash;

/// Size of the read buffer: memory use of [`content_hash`] is bounded by it.
const BUF_BYTES: usize = 256 * 1024;

/// Hashes a file's bytes with 128-bit XXH3, streaming through a 256 KiB buffer.
///
/// XXH3 is not cryptographic: it identifies a file the user already owns after a
/// move, at several GB/s, so hashing a library costs about as much as reading it.
///
/// # Errors
/// [`Error::Io`] if the file cannot be opened or read.
///
/// # Examples
/// ```
/// let dir = tempfile::tempdir()?;
/// let p = dir.path().join("a.bin");
/// std::fs::write(&p, b"hello")?;
/// assert_eq!(sonority_store::content_hash(&p)?, sonority_store::content_hash_bytes(b"hello"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn content_hash(path: impl AsRef<Path>) -> Result<ContentHash> {
    let path = path.as_ref();
    let io = |source| Error::Io {
        path: path.to_path_buf(),
        source,
    };
    let mut file = std::fs::File::open(path).map_err(io)?;
    let mut hasher = xxhash_rust::xxh3::Xxh3::new();
    let mut buf = vec![0u8; BUF_BYTES];
    loop {
        match file.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => hasher.update(buf.get(..n).unwrap_or_default()),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(io(e)),
        }
    }
    Ok(ContentHash(hasher.digest128().to_le_bytes()))
}

/// Hashes bytes in memory, the same way as [`content_hash`] hashes a file.
#[must_use]
pub fn content_hash_bytes(bytes: &[u8]) -> ContentHash {
    ContentHash(xxhash_rust::xxh3::xxh3_128(bytes).to_le_bytes())
}
