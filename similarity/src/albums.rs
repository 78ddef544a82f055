//! Albums as vectors: the albums most like an album, and album playlists in disc and track
//! order.

use std::collections::HashMap;

use crate::error::{Error, Result};
use crate::index::VectorIndex;
use crate::meta::TrackMeta;
use crate::options::RankOptions;
use crate::query::Query;
use crate::ranker::{CosineRanker, Ranker};

/// `Album` is one album of an [`AlbumIndex`]: its key, its name and its tracks in order.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Album {
    /// The album's key ([`TrackMeta::album_key`]).
    pub key: String,
    /// Its display name ([`TrackMeta::album_name`] of its first track).
    pub name: Option<String>,
    /// Its album artist, else the artist of its first track.
    pub artist: Option<String>,
    /// Its tracks' rows in the track index, in disc and track order (ties by row).
    pub rows: Vec<usize>,
}

/// `AlbumIndex` holds one vector per album: the mean of its tracks' normalised vectors,
/// normalised again, so that an album is as close to another as its tracks are on average.
///
/// Tracks without an album key (no album tag and no folder) belong to no album.
///
/// # Examples
///
/// ```
/// use sonority_similarity::{AlbumIndex, TrackMeta, VectorIndex};
///
/// let index = VectorIndex::from_rows(vec![1, 2, 3, 4], vec![1.0, 0.0, 0.9, 0.1, 0.0, 1.0, 0.1, 0.9], 2)?;
/// let meta = vec![
///     TrackMeta::default().with_album("A").with_position(None, Some(2)),
///     TrackMeta::default().with_album("A").with_position(None, Some(1)),
///     TrackMeta::default().with_album("B"),
///     TrackMeta::default().with_album("C"),
/// ];
/// let albums = AlbumIndex::build(&index, &meta)?;
/// let a = albums.album_of_row(0).unwrap();
/// assert_eq!(albums.albums()[a].rows, vec![1, 0]); // track 1, then track 2
/// let similar = albums.similar(a, 1)?;
/// assert_eq!(albums.albums()[similar[0].0].name.as_deref(), Some("C"));
/// # Ok::<(), sonority_similarity::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct AlbumIndex {
    albums: Vec<Album>,
    of_row: Vec<Option<usize>>,
    vectors: VectorIndex<usize>,
}

impl AlbumIndex {
    /// Groups the rows of `index` into albums by [`TrackMeta::album_key`] and computes each
    /// album's vector. Albums are numbered in the order of their first row.
    ///
    /// # Errors
    ///
    /// [`Error::LengthMismatch`] if `meta` is not one entry per row, [`Error::EmptyQuery`]
    /// when no row has an album.
    pub fn build<K>(index: &VectorIndex<K>, meta: &[TrackMeta]) -> Result<Self> {
        crate::constraints::check_meta(index.len(), meta)?;
        let mut by_key: HashMap<String, usize> = HashMap::new();
        let mut albums: Vec<Album> = Vec::new();
        let mut of_row = Vec::with_capacity(meta.len());
        for (row, m) in meta.iter().enumerate() {
            let Some(key) = m.album_key() else {
                of_row.push(None);
                continue;
            };
            let a = *by_key.entry(key.clone()).or_insert_with(|| {
                albums.push(Album {
                    key,
                    name: m.album_name(),
                    artist: m.album_artist.clone().or_else(|| m.artist.clone()),
                    rows: Vec::new(),
                });
                albums.len() - 1
            });
            albums[a].rows.push(row);
            of_row.push(Some(a));
        }
        if albums.is_empty() {
            return Err(Error::EmptyQuery);
        }
        let dim = index.dim();
        let mut data = vec![0.0_f32; albums.len() * dim];
        for (a, album) in albums.iter_mut().enumerate() {
            album.rows.sort_by_key(|&r| (meta[r].album_position(), r));
            let sum = &mut data[a * dim..(a + 1) * dim];
            for &r in &album.rows {
                for (s, x) in sum.iter_mut().zip(index.row(r)) {
                    *s += x;
                }
            }
        }
        let vectors = VectorIndex::from_rows((0..albums.len()).collect(), data, dim)?;
        Ok(Self {
            albums,
            of_row,
            vectors,
        })
    }

    /// The albums, by number.
    #[must_use]
    pub fn albums(&self) -> &[Album] {
        &self.albums
    }

    /// The album number of a track row, if it has an album.
    #[must_use]
    pub fn album_of_row(&self, row: usize) -> Option<usize> {
        self.of_row.get(row).copied().flatten()
    }

    /// The album number of a key, if any.
    #[must_use]
    pub fn find(&self, key: &str) -> Option<usize> {
        self.albums.iter().position(|a| a.key == key)
    }

    /// The album's normalised mean vector.
    ///
    /// # Panics
    ///
    /// If `album` is not an album number.
    #[must_use]
    pub fn vector(&self, album: usize) -> &[f32] {
        self.vectors.row(album)
    }

    /// The `k` albums most like `album` (never itself), best first, with their cosine.
    ///
    /// # Errors
    ///
    /// [`Error::UnknownId`] if `album` is not an album number.
    pub fn similar(&self, album: usize, k: usize) -> Result<Vec<(usize, f32)>> {
        let v = self
            .vectors
            .vector(&album)
            .ok_or(Error::UnknownId { position: 0 })?;
        let opts = RankOptions::default().with_k(k).with_anchors([album]);
        let hits = CosineRanker::new().rank(&Query::new(v)?, &self.vectors, &opts)?;
        Ok(hits.into_iter().map(|h| (h.id, h.score)).collect())
    }

    /// An album playlist: `album` itself (when `include_self`), then the `k` albums most like
    /// it, each album's tracks in disc and track order. Returns track rows.
    ///
    /// # Errors
    ///
    /// As [`similar`](Self::similar).
    pub fn album_playlist(&self, album: usize, k: usize, include_self: bool) -> Result<Vec<usize>> {
        let mut order: Vec<usize> = Vec::with_capacity(k + 1);
        if include_self {
            order.push(album);
        }
        order.extend(self.similar(album, k)?.into_iter().map(|(a, _)| a));
        Ok(order
            .into_iter()
            .flat_map(|a| self.albums[a].rows.iter().copied())
            .collect())
    }
}
