//! Playlists, paths and albums over a loaded catalogue: `sonority-similarity`'s algorithms
//! with the catalogue's tracks and tags.

use sonority_similarity::{
    AlbumIndex, PathConfig, PlaylistConfig, Seeds, TrackMeta, path, playlist,
};
use sonority_store::TrackId;

use super::index::{Anchor, CatalogueIndex};
use super::meta::{PlaylistTrack, fnv};
use crate::{Error, Result};

impl CatalogueIndex {
    /// The playlist metadata of every ranked track, in the index's row order.
    #[must_use]
    pub fn track_meta(&self) -> &[TrackMeta] {
        &self.meta
    }

    /// The vectors, for the algorithms of [`similarity`](crate::similarity).
    #[must_use]
    pub fn vectors(&self) -> &sonority_similarity::VectorIndex<TrackId> {
        &self.index
    }

    fn entry(&self, row: usize, score: f32) -> Option<PlaylistTrack> {
        let id = self.index.ids().get(row)?;
        Some(PlaylistTrack {
            track: self.tracks.get(id)?.clone(),
            score,
        })
    }

    /// A playlist from seed tracks (see [`sonority_similarity::playlist`]): never a seed nor
    /// a copy of one (by content), and the rules of `cfg` (caps, gaps, filters, exclusions).
    ///
    /// # Errors
    /// [`Error::Query`] without seeds; errors of [`sonority_similarity::playlist`].
    pub fn playlist(
        &self,
        seeds: &[Anchor],
        cfg: &PlaylistConfig<TrackId>,
    ) -> Result<Vec<PlaylistTrack>> {
        if seeds.is_empty() {
            return Err(Error::Query {
                reason: "no seed given".into(),
            });
        }
        let mut s = Seeds::default();
        let mut cfg = cfg.clone();
        for a in seeds {
            match a {
                Anchor::Stored(id) => s.ids.push(*id),
                Anchor::Unstored { vector, content } => {
                    s.vectors.push(vector.clone());
                    cfg.rules.exclude_content.extend(content.map(|h| fnv(&h.0)));
                }
            }
        }
        let list = playlist(&self.index, &self.meta, &s, &cfg)?;
        Ok(list
            .into_iter()
            .filter_map(|e| self.entry(e.row, e.score))
            .collect())
    }

    /// A path of up to `cfg.n` tracks from `from` to `to` (see
    /// [`sonority_similarity::path`]).
    ///
    /// # Errors
    /// Errors of [`sonority_similarity::path`] (an end not in the index, `n < 2`, equal ends).
    pub fn path(
        &self,
        from: TrackId,
        to: TrackId,
        cfg: &PathConfig<TrackId>,
    ) -> Result<Vec<PlaylistTrack>> {
        let list = path(&self.index, &self.meta, &from, &to, cfg)?;
        Ok(list
            .into_iter()
            .filter_map(|e| self.entry(e.row, e.score))
            .collect())
    }

    /// The catalogue's albums (see [`AlbumIndex`]): rows of the album index are rows of
    /// [`vectors`](Self::vectors).
    ///
    /// # Errors
    /// [`Error::Similarity`] when no track has an album (nor a folder).
    pub fn albums(&self) -> Result<AlbumIndex> {
        Ok(AlbumIndex::build(&self.index, &self.meta)?)
    }

    /// The tracks of index rows, in the order given, with a score each.
    #[must_use]
    pub fn tracks_of_rows(&self, rows: &[(usize, f32)]) -> Vec<PlaylistTrack> {
        rows.iter().filter_map(|&(r, s)| self.entry(r, s)).collect()
    }

    /// The row of a track id, if ranked.
    #[must_use]
    pub fn row_of(&self, id: TrackId) -> Option<usize> {
        self.index.row_of(&id)
    }
}
