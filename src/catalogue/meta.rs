//! What playlists know of a stored track ([`meta_of`]: tags, duration, content, folder), and
//! [`PlaylistTrack`], one track of a list.

use std::collections::HashMap;

use sonority_similarity::TrackMeta;
use sonority_store::TrackInfo;

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

/// The 64-bit FNV-1a hash of `bytes`: the label of a content hash or an album key in the
/// index's groups and in playlist rules.
pub(super) fn fnv(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x100_0000_01b3)
    })
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
pub(super) fn adopt_folder_albums(meta: &mut [TrackMeta]) {
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
