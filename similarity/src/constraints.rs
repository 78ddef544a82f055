//! The rules every playlist and path obeys while it is built: no recording twice, caps per
//! artist and album, a gap between two tracks of one artist, filters and exclusions.

use std::collections::{HashMap, HashSet};
use std::hash::Hash;

use crate::error::{Error, Result};
use crate::meta::{Filter, TrackMeta};

/// `Rules` is what limits the tracks a playlist or a path may take.
///
/// Shared by [`PlaylistConfig`](crate::PlaylistConfig) and
/// [`PathConfig`](crate::PathConfig); every field's default imposes nothing beyond the
/// always-on rules (no recording twice, no seed or end repeated).
///
/// # Examples
///
/// ```
/// use sonority_similarity::{Filter, Rules};
///
/// let rules = Rules::<u32>::default()
///     .with_max_per_artist(2)
///     .with_min_artist_gap(3)
///     .with_filter(Filter::Year { min: Some(1990), max: None })
///     .with_exclude([7, 8]);
/// assert_eq!(rules.max_per_artist, Some(2));
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Rules<K> {
    /// The most tracks of one artist ([`TrackMeta::artist_key`]). Default: no cap.
    pub max_per_artist: Option<usize>,
    /// The most tracks of one album ([`TrackMeta::album_key`]). Default: no cap.
    pub max_per_album: Option<usize>,
    /// The fewest other tracks between two tracks of one artist. Default: `0`.
    pub min_artist_gap: usize,
    /// Conditions every track meets. Default: none.
    pub filters: Vec<Filter>,
    /// Ids never to take (tracks already played, say). Default: empty.
    pub exclude: HashSet<K>,
    /// Content labels never to take ([`TrackMeta::content`]: copies of a seed that is not in
    /// the index, say). Default: empty.
    pub exclude_content: HashSet<u64>,
}

impl<K> Default for Rules<K> {
    fn default() -> Self {
        Self {
            max_per_artist: None,
            max_per_album: None,
            min_artist_gap: 0,
            filters: Vec::new(),
            exclude: HashSet::new(),
            exclude_content: HashSet::new(),
        }
    }
}

impl<K: Eq + Hash> Rules<K> {
    /// Sets [`max_per_artist`](Self::max_per_artist).
    #[must_use]
    pub fn with_max_per_artist(mut self, k: usize) -> Self {
        self.max_per_artist = Some(k);
        self
    }
    /// Sets [`max_per_album`](Self::max_per_album).
    #[must_use]
    pub fn with_max_per_album(mut self, k: usize) -> Self {
        self.max_per_album = Some(k);
        self
    }
    /// Sets [`min_artist_gap`](Self::min_artist_gap).
    #[must_use]
    pub fn with_min_artist_gap(mut self, g: usize) -> Self {
        self.min_artist_gap = g;
        self
    }
    /// Adds a filter.
    #[must_use]
    pub fn with_filter(mut self, f: Filter) -> Self {
        self.filters.push(f);
        self
    }
    /// Adds ids to [`exclude`](Self::exclude).
    #[must_use]
    pub fn with_exclude(mut self, ids: impl IntoIterator<Item = K>) -> Self {
        self.exclude.extend(ids);
        self
    }
    /// Adds labels to [`exclude_content`](Self::exclude_content).
    #[must_use]
    pub fn with_exclude_content(mut self, labels: impl IntoIterator<Item = u64>) -> Self {
        self.exclude_content.extend(labels);
        self
    }

    pub(crate) fn validate(&self) -> Result<()> {
        if self.max_per_artist == Some(0) || self.max_per_album == Some(0) {
            return Err(Error::InvalidConfig {
                field: "max_per_artist/max_per_album",
                reason: "a cap must be at least 1".into(),
            });
        }
        Ok(())
    }
}

/// Checks that the metadata has one entry per index row.
pub(crate) fn check_meta(rows: usize, meta: &[TrackMeta]) -> Result<()> {
    if meta.len() == rows {
        Ok(())
    } else {
        Err(Error::LengthMismatch {
            what: "track metadata",
            expected: rows,
            actual: meta.len(),
        })
    }
}

/// The state of a list being built: what it holds, and whether a row may come next.
pub(crate) struct Picker<'a, K> {
    rules: &'a Rules<K>,
    meta: &'a [TrackMeta],
    /// Rows that pass the static rules (filters, exclusions, not a fixed row).
    eligible: Vec<bool>,
    content: HashSet<u64>,
    artists: HashMap<String, (usize, usize)>,
    albums: HashMap<String, usize>,
    len: usize,
}

impl<'a, K: Eq + Hash> Picker<'a, K> {
    /// A picker over `ids`/`meta` rows; the rows in `fixed` (seeds, a path's ends) and rows
    /// sharing their content are never eligible.
    pub(crate) fn new(
        rules: &'a Rules<K>,
        ids: &[K],
        meta: &'a [TrackMeta],
        fixed: &[usize],
    ) -> Self {
        let mut content: HashSet<u64> = rules.exclude_content.clone();
        content.extend(fixed.iter().filter_map(|&r| meta[r].content));
        let fixed: HashSet<usize> = fixed.iter().copied().collect();
        let eligible = ids
            .iter()
            .zip(meta)
            .enumerate()
            .map(|(row, (id, m))| {
                !fixed.contains(&row)
                    && !rules.exclude.contains(id)
                    && m.content.is_none_or(|c| !content.contains(&c))
                    && rules.filters.iter().all(|f| f.accepts(m))
            })
            .collect();
        Self {
            rules,
            meta,
            eligible,
            content: HashSet::new(),
            artists: HashMap::new(),
            albums: HashMap::new(),
            len: 0,
        }
    }

    /// Whether `row` passes the static rules.
    pub(crate) fn eligible(&self, row: usize) -> bool {
        self.eligible[row]
    }

    /// Whether `row` may be the next track.
    pub(crate) fn admits(&self, row: usize) -> bool {
        if !self.eligible[row] {
            return false;
        }
        let m = &self.meta[row];
        if m.content.is_some_and(|c| self.content.contains(&c)) {
            return false;
        }
        if let Some(a) = m.artist_key()
            && let Some(&(count, last)) = self.artists.get(&a)
        {
            if self.rules.max_per_artist.is_some_and(|cap| count >= cap) {
                return false;
            }
            if self.len - last <= self.rules.min_artist_gap {
                return false;
            }
        }
        if let (Some(cap), Some(album)) = (self.rules.max_per_album, m.album_key())
            && self.albums.get(&album).copied().unwrap_or(0) >= cap
        {
            return false;
        }
        true
    }

    /// Takes `row` as the next track; it is never eligible again.
    pub(crate) fn take(&mut self, row: usize) {
        self.eligible[row] = false;
        let m = &self.meta[row];
        if let Some(c) = m.content {
            self.content.insert(c);
        }
        if let Some(a) = m.artist_key() {
            let e = self.artists.entry(a).or_insert((0, 0));
            *e = (e.0 + 1, self.len);
        }
        if let Some(album) = m.album_key() {
            *self.albums.entry(album).or_insert(0) += 1;
        }
        self.len += 1;
    }
}
