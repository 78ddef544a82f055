//! Track tags from ID3, Vorbis comments, MP4 atoms, APE, RIFF INFO and AIFF text chunks:
//! lofty first, symphonia's metadata for whatever lofty did not find.

use std::collections::BTreeMap;
use std::path::Path;

use symphonia::core::formats::FormatReader;
use symphonia::core::meta::{MetadataRevision, StandardTag, Tag};

/// Descriptive tags of a track, as far as the file carries them.
///
/// Read by [`FileSource::open`](crate::FileSource::open) with [lofty](https://docs.rs/lofty)
/// (ID3v1/ID3v2 in MP3, WAV and AIFF, Vorbis comments in Ogg and FLAC, MP4 atoms, APE, RIFF
/// INFO, AIFF text chunks), then from whatever metadata symphonia finds for the fields lofty
/// left empty. A field the file lacks is `None`.
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
    /// Album artist.
    pub album_artist: Option<String>,
    /// Disc number, from 1.
    pub disc_number: Option<u32>,
    /// Genre (several joined by `; `).
    pub genre: Option<String>,
    /// Year of release (else of recording).
    pub year: Option<i32>,
    /// Other text tags by lower-case name (`composer`, `mood`, `label`, ...): at most
    /// [`MAX_EXTRA_TAGS`] of them, each value cut to [`MAX_TAG_CHARS`] characters.
    pub extra: BTreeMap<String, String>,
}

/// The most [`Tags::extra`] entries kept per file.
pub const MAX_EXTRA_TAGS: usize = 32;
/// The longest tag value kept, in characters (longer ones are cut).
pub const MAX_TAG_CHARS: usize = 512;

fn clean(s: &str) -> Option<String> {
    let s = s.trim_matches(|c: char| c.is_whitespace() || c == '\0');
    (!s.is_empty()).then(|| s.chars().take(MAX_TAG_CHARS).collect())
}

/// The year at the start of a date (`"1999"`, `"1999-03-01"`).
fn year_of(s: &str) -> Option<i32> {
    let digits: String = s.trim().chars().take_while(char::is_ascii_digit).collect();
    (digits.len() == 4).then(|| digits.parse().ok()).flatten()
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

    /// Reads a file's tags with lofty (no pictures; lofty's 16 MiB allocation limit holds).
    /// Returns empty tags for a file lofty cannot read: tags are never a reason to fail.
    #[must_use]
    pub fn read_path(path: &Path) -> Self {
        use lofty::config::ParseOptions;
        use lofty::prelude::{Accessor, ItemKey, TaggedFileExt};

        let opts = ParseOptions::new()
            .read_properties(false)
            .read_cover_art(false);
        let file = match lofty::probe::Probe::open(path).and_then(|p| p.options(opts).read()) {
            Ok(f) => f,
            Err(e) => {
                log::debug!("{}: no tags read by lofty: {e}", path.display());
                return Self::default();
            }
        };
        let mut t = Self::default();
        // The primary tag first, then the others for what it lacks.
        let mut tags: Vec<&lofty::tag::Tag> = file.primary_tag().into_iter().collect();
        tags.extend(
            file.tags()
                .iter()
                .filter(|x| Some(x.tag_type()) != file.primary_tag().map(|p| p.tag_type())),
        );
        for tag in tags {
            let text = |k: ItemKey| tag.get_string(k).and_then(clean);
            t.title = t
                .title
                .take()
                .or_else(|| tag.title().as_deref().and_then(clean));
            t.artist = t
                .artist
                .take()
                .or_else(|| tag.artist().as_deref().and_then(clean));
            t.album = t
                .album
                .take()
                .or_else(|| tag.album().as_deref().and_then(clean));
            t.album_artist = t.album_artist.take().or_else(|| text(ItemKey::AlbumArtist));
            t.track_number = t.track_number.or_else(|| tag.track());
            t.disc_number = t.disc_number.or_else(|| tag.disk());
            if t.genre.is_none() {
                let genres: Vec<String> =
                    tag.get_strings(ItemKey::Genre).filter_map(clean).collect();
                t.genre = (!genres.is_empty()).then(|| genres.join("; "));
            }
            t.year = t.year.or_else(|| {
                tag.date()
                    .map(|d| i32::from(d.year))
                    .or_else(|| text(ItemKey::Year).as_deref().and_then(year_of))
                    .or_else(|| text(ItemKey::RecordingDate).as_deref().and_then(year_of))
                    .or_else(|| {
                        text(ItemKey::OriginalReleaseDate)
                            .as_deref()
                            .and_then(year_of)
                    })
            });
            for item in tag.items() {
                let key = item.key();
                let skip = matches!(
                    key,
                    ItemKey::TrackTitle
                        | ItemKey::TrackArtist
                        | ItemKey::AlbumTitle
                        | ItemKey::AlbumArtist
                        | ItemKey::TrackNumber
                        | ItemKey::TrackTotal
                        | ItemKey::DiscNumber
                        | ItemKey::DiscTotal
                        | ItemKey::Genre
                        | ItemKey::Year
                        | ItemKey::RecordingDate
                        | ItemKey::Lyrics
                );
                if skip || t.extra.len() >= MAX_EXTRA_TAGS {
                    continue;
                }
                let name = format!("{key:?}").to_lowercase();
                if name.ends_with("sortorder") {
                    continue;
                }
                if let Some(v) = item.value().text().and_then(clean) {
                    t.extra.entry(name).or_insert(v);
                }
            }
        }
        t
    }

    /// Fills the fields this lacks from `other` (extra tags: names this lacks).
    #[must_use]
    pub fn or(mut self, other: Self) -> Self {
        self.title = self.title.or(other.title);
        self.artist = self.artist.or(other.artist);
        self.album = self.album.or(other.album);
        self.track_number = self.track_number.or(other.track_number);
        self.album_artist = self.album_artist.or(other.album_artist);
        self.disc_number = self.disc_number.or(other.disc_number);
        self.genre = self.genre.or(other.genre);
        self.year = self.year.or(other.year);
        for (k, v) in other.extra {
            if self.extra.len() >= MAX_EXTRA_TAGS {
                break;
            }
            self.extra.entry(k).or_insert(v);
        }
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
        tags.album_artist = tags.album_artist.take().or(album_artist);
        tags
    }

    fn merge_revision(&mut self, rev: &MetadataRevision, album_artist: &mut Option<String>) {
        let per_track = rev.per_track.iter().flat_map(|t| t.metadata.tags.iter());
        for tag in rev.media.tags.iter().chain(per_track) {
            self.merge_tag(tag, album_artist);
        }
    }

    fn merge_tag(&mut self, tag: &Tag, album_artist: &mut Option<String>) {
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
            Some(StandardTag::DiscNumber(n)) => {
                if let Ok(n) = u32::try_from(*n) {
                    self.disc_number = Some(n);
                }
            }
            Some(StandardTag::Genre(s)) => self.genre = clean(s).or(self.genre.take()),
            Some(StandardTag::ReleaseYear(y) | StandardTag::RecordingYear(y)) => {
                self.year = self.year.or(Some(i32::from(*y)));
            }
            Some(StandardTag::ReleaseDate(s) | StandardTag::RecordingDate(s)) => {
                self.year = self.year.or_else(|| year_of(s));
            }
            Some(StandardTag::Composer(s)) => {
                if let Some(v) = clean(s) {
                    self.extra.insert("composer".into(), v);
                }
            }
            Some(StandardTag::Mood(s)) => {
                if let Some(v) = clean(s) {
                    self.extra.insert("mood".into(), v);
                }
            }
            _ => {}
        }
    }
}
