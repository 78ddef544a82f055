//! Playlists, paths and albums over a loaded catalogue: `sonority-similarity`'s algorithms
//! with the catalogue's tracks and tags.

use sonority_similarity::{
    AlbumIndex, PathConfig, PlaylistConfig, Seeds, TrackMeta, path, playlist,
};
use sonority_store::{TrackId, TrackInfo};

use crate::ranking::{Anchor, CatalogueIndex, fnv};
use crate::{Error, Result};

/// `PlaylistTrack` is one track of a playlist, a path or an album list.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct PlaylistTrack {
    /// The track.
    pub track: TrackInfo,
    /// Its cosine with what it was chosen for (the seeds, its step of a path, or its
    /// album's likeness to the album asked about); `1.0` for a path's ends.
    pub score: f32,
}

/// The playlist metadata of a stored track: its tags, its duration, its content hash (as a
/// 64-bit label) and its folder (its album when it has no album tag).
#[must_use]
pub fn meta_of(t: &TrackInfo) -> TrackMeta {
    let r = &t.record;
    let mut m = TrackMeta::default();
    m.content = r.content_hash.map(|h| fnv(&h.0));
    m.artist.clone_from(&r.tags.artist);
    m.album_artist.clone_from(&r.tags.album_artist);
    m.album.clone_from(&r.tags.album);
    m.disc = r.tags.disc_number;
    m.track = r.tags.track_number;
    m.genre.clone_from(&r.tags.genre);
    m.year = r.tags.year;
    m.duration_s = r.duration_s;
    m.folder = r
        .file
        .path
        .parent()
        .map(|p| p.to_string_lossy().into_owned());
    m
}

/// Gives a track without an album tag the album of the tagged tracks in its folder, when
/// they all have one and the same album (a stray untagged file of an album); otherwise its
/// album stays its folder.
pub(crate) fn adopt_folder_albums(meta: &mut [TrackMeta]) {
    use std::collections::HashMap;
    // Per folder: the one (album, album artist) of its tagged tracks, or None if several.
    let mut by_folder: HashMap<String, Option<(String, Option<String>)>> = HashMap::new();
    for m in meta.iter() {
        if let (Some(folder), Some(album)) = (&m.folder, &m.album) {
            let tag = (album.clone(), m.album_artist.clone());
            by_folder
                .entry(folder.clone())
                .and_modify(|e| {
                    if e.as_ref() != Some(&tag) {
                        *e = None;
                    }
                })
                .or_insert(Some(tag));
        }
    }
    for m in meta.iter_mut().filter(|m| m.album.is_none()) {
        if let Some(Some((album, artist))) = m.folder.as_ref().and_then(|f| by_folder.get(f)) {
            m.album = Some(album.clone());
            m.album_artist.clone_from(artist);
        }
    }
}

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stray_untagged_track_joins_its_folders_album() {
        let tagged = |f: &str, a: &str| TrackMeta::default().with_folder(f).with_album(a);
        let mut meta = vec![
            tagged("/m/x", "X"),
            TrackMeta::default().with_folder("/m/x"),
            tagged("/m/y", "Y1"),
            tagged("/m/y", "Y2"),
            TrackMeta::default().with_folder("/m/y"),
            TrackMeta::default().with_folder("/m/z"),
        ];
        adopt_folder_albums(&mut meta);
        assert_eq!(meta[1].album_key(), meta[0].album_key());
        // A folder of several albums, or of none, keeps the folder as the album.
        assert_eq!(meta[4].album_key().as_deref(), Some("dir:/m/y"));
        assert_eq!(meta[5].album_key().as_deref(), Some("dir:/m/z"));
    }
}
