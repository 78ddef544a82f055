//! Track tags (title, artist, album, track number) from ID3, Vorbis comments, MP4 atoms, RIFF INFO.

use symphonia::core::formats::FormatReader;
use symphonia::core::meta::{MetadataRevision, StandardTag, Tag};

/// Descriptive tags of a track, as far as the file carries them.
///
/// Read by [`FileSource::open`](crate::FileSource::open) from whatever metadata symphonia finds
/// (ID3v1/ID3v2 in MP3, Vorbis comments in Ogg and FLAC, MP4 atoms, RIFF INFO in WAV). When a
/// field appears more than once, the last revision read wins; a field the file lacks is `None`.
///
/// # Examples
/// ```
/// use sonority_mfcc::Tags;
/// let t = Tags::default().with_title("Åse's Death").with_track_number(Some(2));
/// assert_eq!(t.title.as_deref(), Some("Åse's Death"));
/// assert_eq!(t.artist, None);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Tags {
    /// Track title.
    pub title: Option<String>,
    /// Track artist (the album artist when only that is given).
    pub artist: Option<String>,
    /// Album title.
    pub album: Option<String>,
    /// Position of the track on its disc, from 1.
    pub track_number: Option<u32>,
}

impl Tags {
    /// Sets [`title`](Self::title).
    #[must_use]
    pub fn with_title(mut self, title: impl Into<String>) -> Self {
        self.title = Some(title.into());
        self
    }
    /// Sets [`artist`](Self::artist).
    #[must_use]
    pub fn with_artist(mut self, artist: impl Into<String>) -> Self {
        self.artist = Some(artist.into());
        self
    }
    /// Sets [`album`](Self::album).
    #[must_use]
    pub fn with_album(mut self, album: impl Into<String>) -> Self {
        self.album = Some(album.into());
        self
    }
    /// Sets [`track_number`](Self::track_number).
    #[must_use]
    pub fn with_track_number(mut self, track_number: Option<u32>) -> Self {
        self.track_number = track_number;
        self
    }

    /// `true` when no field is set.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }

    /// Reads every metadata revision queued in `format` (consuming all but the newest).
    pub(crate) fn read_from(format: &mut dyn FormatReader) -> Self {
        let mut tags = Tags::default();
        let mut album_artist = None;
        let mut log = format.metadata();
        loop {
            if let Some(rev) = log.current() {
                tags.merge_revision(rev, &mut album_artist);
            }
            if log.pop().is_none() {
                break;
            }
        }
        if tags.artist.is_none() {
            tags.artist = album_artist;
        }
        tags
    }

    fn merge_revision(&mut self, rev: &MetadataRevision, album_artist: &mut Option<String>) {
        let per_track = rev.per_track.iter().flat_map(|t| t.metadata.tags.iter());
        for tag in rev.media.tags.iter().chain(per_track) {
            self.merge_tag(tag, album_artist);
        }
    }

    fn merge_tag(&mut self, tag: &Tag, album_artist: &mut Option<String>) {
        let clean = |s: &str| {
            let s = s.trim_matches(|c: char| c.is_whitespace() || c == '\0');
            (!s.is_empty()).then(|| s.to_owned())
        };
        match &tag.std {
            Some(StandardTag::TrackTitle(s)) => self.title = clean(s).or(self.title.take()),
            Some(StandardTag::Artist(s)) => self.artist = clean(s).or(self.artist.take()),
            Some(StandardTag::AlbumArtist(s)) => *album_artist = clean(s).or(album_artist.take()),
            Some(StandardTag::Album(s)) => self.album = clean(s).or(self.album.take()),
            Some(StandardTag::TrackNumber(n)) => {
                if let Ok(n) = u32::try_from(*n) {
                    self.track_number = Some(n);
                }
            }
            _ => {}
        }
    }
}
