//! [`RootMap`]: named music roots, mapped to each machine's own mount path.

use std::collections::BTreeMap;
use std::path::{Component, Path, PathBuf};
use std::str::FromStr;

use crate::error::{Error, Result};

/// `RootMap` maps root names (`music`, `archive`) to where this machine mounts them.
///
/// The shared work queue stores a file as a root *name* plus a path relative to it, so
/// machines that mount the same music at different places (`/mnt/music`,
/// `/Volumes/music`) work on the same jobs: each resolves names through its own map.
/// Relative paths are checked before they are joined: an absolute path or one with
/// `..` is refused, so a job row cannot make a worker open a file outside its roots.
///
/// # Examples
/// ```
/// use sonority_store::RootMap;
/// let roots: RootMap = "music=/mnt/music,archive=/data/archive".parse()?;
/// assert_eq!(roots.resolve("music", "a/b.flac")?, std::path::Path::new("/mnt/music/a/b.flac"));
/// let (name, rel) = roots.relativize("/data/archive/x.wav").unwrap();
/// assert_eq!((name, rel.to_str()), ("archive", Some("x.wav")));
/// # Ok::<(), sonority_store::Error>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RootMap {
    roots: BTreeMap<String, PathBuf>,
}

impl RootMap {
    /// Creates an empty map.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Parses `name=/path,name2=/path2` (whitespace around items is ignored).
    ///
    /// # Errors
    /// [`Error::InvalidRootMap`] for an item without `=`, an invalid or repeated name,
    /// or an empty or relative path.
    pub fn parse(spec: &str) -> Result<Self> {
        let mut map = Self::new();
        for item in spec.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            let (name, path) = item.split_once('=').ok_or_else(|| Error::InvalidRootMap {
                reason: format!("{item:?} is not name=path"),
            })?;
            let name = name.trim();
            if map.roots.contains_key(name) {
                return Err(Error::InvalidRootMap {
                    reason: format!("root {name:?} is given twice"),
                });
            }
            map = map.with_root(name, path.trim())?;
        }
        Ok(map)
    }

    /// Adds (or replaces) a root.
    ///
    /// # Errors
    /// [`Error::InvalidRootMap`] if the name is not `[A-Za-z0-9_.-]+` or the path is
    /// not absolute.
    pub fn with_root(mut self, name: &str, path: impl Into<PathBuf>) -> Result<Self> {
        check_root_name(name)?;
        let path = path.into();
        if !path.is_absolute() {
            return Err(Error::InvalidRootMap {
                reason: format!("root {name:?}: {} is not an absolute path", path.display()),
            });
        }
        self.roots.insert(name.to_owned(), path);
        Ok(self)
    }

    /// The mount path of a root, if mapped.
    #[must_use]
    pub fn get(&self, name: &str) -> Option<&Path> {
        self.roots.get(name).map(PathBuf::as_path)
    }

    /// Iterates over `(name, path)` pairs, by name.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Path)> {
        self.roots.iter().map(|(n, p)| (n.as_str(), p.as_path()))
    }

    /// The local path of `rel` under root `name`.
    ///
    /// # Errors
    /// [`Error::UnknownRoot`] if `name` is not mapped, [`Error::InvalidRelativePath`]
    /// if `rel` is absolute or contains `..`.
    pub fn resolve(&self, name: &str, rel: impl AsRef<Path>) -> Result<PathBuf> {
        let rel = rel.as_ref();
        check_rel_path(rel)?;
        let root = self.roots.get(name).ok_or_else(|| Error::UnknownRoot {
            name: name.to_owned(),
            known: self.roots.keys().cloned().collect::<Vec<_>>().join(","),
        })?;
        Ok(root.join(rel))
    }

    /// Splits a local path into `(root name, relative path)` using the longest
    /// matching root, or `None` if it lies under no root.
    #[must_use]
    pub fn relativize(&self, path: impl AsRef<Path>) -> Option<(&str, PathBuf)> {
        let path = path.as_ref();
        self.roots
            .iter()
            .filter_map(|(n, r)| Some((n.as_str(), r, path.strip_prefix(r).ok()?)))
            .max_by_key(|(_, r, _)| r.components().count())
            .map(|(n, _, rel)| (n, rel.to_path_buf()))
    }
}

impl FromStr for RootMap {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        Self::parse(s)
    }
}

/// Checks a root name: `[A-Za-z0-9_.-]+`.
pub(crate) fn check_root_name(name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'));
    if ok {
        Ok(())
    } else {
        Err(Error::InvalidRootMap {
            reason: format!("root name {name:?} is not [A-Za-z0-9_.-]+"),
        })
    }
}

/// Checks that `rel` is non-empty and made of plain names only (no root, `.` or `..`).
pub(crate) fn check_rel_path(rel: &Path) -> Result<()> {
    let plain = rel.components().next().is_some()
        && rel.components().all(|c| matches!(c, Component::Normal(_)));
    if plain {
        Ok(())
    } else {
        Err(Error::InvalidRelativePath {
            path: rel.to_path_buf(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_resolve_relativize() {
        let m = RootMap::parse(" music=/mnt/music , music.hd=/mnt/music/hd,").unwrap();
        assert_eq!(m.get("music"), Some(Path::new("/mnt/music")));
        assert_eq!(
            m.resolve("music.hd", "x/y.flac").unwrap(),
            Path::new("/mnt/music/hd/x/y.flac")
        );
        // Longest root wins.
        let (n, rel) = m.relativize("/mnt/music/hd/a.flac").unwrap();
        assert_eq!((n, rel.as_path()), ("music.hd", Path::new("a.flac")));
        assert!(m.relativize("/elsewhere/a.flac").is_none());
    }

    #[test]
    fn bad_specs_and_paths_are_refused() {
        for spec in ["music", "=/x", "a b=/x", "m=relative", "m=/a,m=/b", "m="] {
            assert!(
                matches!(RootMap::parse(spec), Err(Error::InvalidRootMap { .. })),
                "{spec}"
            );
        }
        let m = RootMap::parse("m=/mnt/m").unwrap();
        for rel in ["../etc/passwd", "/etc/passwd", "a/../../b", "", "./a"] {
            assert!(
                matches!(m.resolve("m", rel), Err(Error::InvalidRelativePath { .. })),
                "{rel}"
            );
        }
        assert!(matches!(
            m.resolve("x", "a.flac"),
            Err(Error::UnknownRoot { .. })
        ));
    }
}
