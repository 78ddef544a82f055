//! Track metadata that playlists, paths and albums need, and filters over it.

use std::collections::BTreeMap;

/// `TrackMeta` is what the playlist algorithms know about a track besides its vector: the
/// facts that caps, gaps, filters, duplicate detection and album order use.
///
/// Every field is optional: a track without an artist is never capped or spaced by artist, a
/// track without a duration fails a duration filter. Strings are compared case-insensitively
/// and with surrounding white space trimmed.
///
/// # Examples
///
/// ```
/// use sonority_similarity::TrackMeta;
///
/// let m = TrackMeta::default().with_artist("Grieg").with_album("Peer Gynt");
/// assert_eq!(m.artist_key().as_deref(), Some("grieg"));
/// assert!(m.album_key().is_some());
/// // Without an album tag, the folder is the album.
/// let loose = TrackMeta::default().with_folder("/music/Untitled");
/// assert_eq!(loose.album_key().as_deref(), Some("dir:/music/Untitled"));
/// ```
#[derive(Debug, Clone, Default, PartialEq)]
#[non_exhaustive]
pub struct TrackMeta {
    /// A label of the recording's content (a hash of its bytes or samples): two rows with
    /// the same label are the same recording, and a playlist holds it once.
    pub content: Option<u64>,
    /// Track artist.
    pub artist: Option<String>,
    /// Album artist.
    pub album_artist: Option<String>,
    /// Album title.
    pub album: Option<String>,
    /// The folder the track's file is in: the album of a track without an album tag.
    pub folder: Option<String>,
    /// Disc number, from 1.
    pub disc: Option<u32>,
    /// Track number on its disc, from 1.
    pub track: Option<u32>,
    /// Genre (several may be separated by `;`, `/` or `,`).
    pub genre: Option<String>,
    /// Year of release.
    pub year: Option<i32>,
    /// Duration in seconds.
    pub duration_s: Option<f64>,
    /// Any other tags by lower-case name (`"composer"`, `"mood"`, ...), for [`Filter::Tag`].
    pub tags: BTreeMap<String, String>,
}

fn norm(s: &str) -> Option<String> {
    let s = s.trim();
    (!s.is_empty()).then(|| s.to_lowercase())
}

impl TrackMeta {
    /// Sets [`content`](Self::content).
    #[must_use]
    pub fn with_content(mut self, label: u64) -> Self {
        self.content = Some(label);
        self
    }
    /// Sets [`artist`](Self::artist).
    #[must_use]
    pub fn with_artist(mut self, v: impl Into<String>) -> Self {
        self.artist = Some(v.into());
        self
    }
    /// Sets [`album_artist`](Self::album_artist).
    #[must_use]
    pub fn with_album_artist(mut self, v: impl Into<String>) -> Self {
        self.album_artist = Some(v.into());
        self
    }
    /// Sets [`album`](Self::album).
    #[must_use]
    pub fn with_album(mut self, v: impl Into<String>) -> Self {
        self.album = Some(v.into());
        self
    }
    /// Sets [`folder`](Self::folder).
    #[must_use]
    pub fn with_folder(mut self, v: impl Into<String>) -> Self {
        self.folder = Some(v.into());
        self
    }
    /// Sets [`disc`](Self::disc) and [`track`](Self::track).
    #[must_use]
    pub fn with_position(mut self, disc: Option<u32>, track: Option<u32>) -> Self {
        self.disc = disc;
        self.track = track;
        self
    }
    /// Sets [`genre`](Self::genre).
    #[must_use]
    pub fn with_genre(mut self, v: impl Into<String>) -> Self {
        self.genre = Some(v.into());
        self
    }
    /// Sets [`year`](Self::year).
    #[must_use]
    pub fn with_year(mut self, v: i32) -> Self {
        self.year = Some(v);
        self
    }
    /// Sets [`duration_s`](Self::duration_s).
    #[must_use]
    pub fn with_duration_s(mut self, v: f64) -> Self {
        self.duration_s = Some(v);
        self
    }
    /// Adds a tag to [`tags`](Self::tags) (its name lower-cased).
    #[must_use]
    pub fn with_tag(mut self, name: &str, value: impl Into<String>) -> Self {
        self.tags.insert(name.to_lowercase(), value.into());
        self
    }

    /// The key caps and gaps count an artist by: the lower-cased, trimmed artist (else album
    /// artist); `None` for a track without either.
    #[must_use]
    pub fn artist_key(&self) -> Option<String> {
        self.artist
            .as_deref()
            .and_then(norm)
            .or_else(|| self.album_artist.as_deref().and_then(norm))
    }

    /// The key that identifies the track's album: the album title with its album artist (so
    /// that two albums called "Greatest Hits" stay apart), all lower-cased; without an album
    /// tag, the folder (`"dir:FOLDER"`, exactly as given); `None` without either.
    #[must_use]
    pub fn album_key(&self) -> Option<String> {
        match self.album.as_deref().and_then(norm) {
            Some(album) => {
                let by = self.album_artist.as_deref().and_then(norm);
                Some(format!("{}\u{1f}{album}", by.unwrap_or_default()))
            }
            None => self.folder.as_ref().map(|f| format!("dir:{f}")),
        }
    }

    /// The album's display name: the album tag, else the folder's last component.
    #[must_use]
    pub fn album_name(&self) -> Option<String> {
        self.album
            .as_deref()
            .map(str::trim)
            .filter(|a| !a.is_empty())
            .map(str::to_owned)
            .or_else(|| {
                self.folder.as_deref().map(|f| {
                    f.trim_end_matches(['/', '\\'])
                        .rsplit(['/', '\\'])
                        .next()
                        .unwrap_or(f)
                        .to_owned()
                })
            })
    }

    /// The position used to keep album order: `(disc, track)`, a missing disc counting as 1
    /// and a missing track number as after every numbered track.
    #[must_use]
    pub fn album_position(&self) -> (u32, u32) {
        (self.disc.unwrap_or(1), self.track.unwrap_or(u32::MAX))
    }
}

/// `Filter` is a condition every track of a playlist or path meets.
///
/// A track lacking the field a filter tests fails it (a duration filter drops tracks of
/// unknown duration).
///
/// # Examples
///
/// ```
/// use sonority_similarity::{Filter, TrackMeta};
///
/// let m = TrackMeta::default().with_genre("Jazz; Blues").with_year(1959).with_duration_s(300.0);
/// assert!(Filter::Genre(vec!["blues".into()]).accepts(&m));
/// assert!(Filter::Year { min: Some(1950), max: Some(1969) }.accepts(&m));
/// assert!(!Filter::DurationS { min: None, max: Some(240.0) }.accepts(&m));
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Filter {
    /// Duration within `[min, max]` seconds (either bound optional).
    DurationS {
        /// Shortest accepted duration.
        min: Option<f64>,
        /// Longest accepted duration.
        max: Option<f64>,
    },
    /// Year within `[min, max]` (either bound optional).
    Year {
        /// Earliest accepted year.
        min: Option<i32>,
        /// Latest accepted year.
        max: Option<i32>,
    },
    /// One of the track's genres (split at `;`, `/` and `,`) is one of these, ignoring case.
    Genre(Vec<String>),
    /// The track's genre is none of these (a track without a genre passes).
    NotGenre(Vec<String>),
    /// The tag `name` (a field name such as `artist`, `album`, `genre`, `year`, or any name
    /// in [`TrackMeta::tags`]) equals `value`, ignoring case.
    Tag {
        /// The tag's name.
        name: String,
        /// The value it must have.
        value: String,
    },
}

impl Filter {
    /// Whether `meta` meets this filter.
    #[must_use]
    pub fn accepts(&self, meta: &TrackMeta) -> bool {
        let genres = || {
            meta.genre
                .as_deref()
                .unwrap_or_default()
                .split([';', '/', ','])
                .filter_map(norm)
                .collect::<Vec<_>>()
        };
        match self {
            Self::DurationS { min, max } => meta
                .duration_s
                .is_some_and(|d| min.is_none_or(|m| d >= m) && max.is_none_or(|m| d <= m)),
            Self::Year { min, max } => meta
                .year
                .is_some_and(|y| min.is_none_or(|m| y >= m) && max.is_none_or(|m| y <= m)),
            Self::Genre(wanted) => {
                let have = genres();
                wanted
                    .iter()
                    .filter_map(|w| norm(w))
                    .any(|w| have.contains(&w))
            }
            Self::NotGenre(unwanted) => {
                let have = genres();
                !unwanted
                    .iter()
                    .filter_map(|w| norm(w))
                    .any(|w| have.contains(&w))
            }
            Self::Tag { name, value } => {
                let name = name.trim().to_lowercase();
                let field = match name.as_str() {
                    "artist" => meta.artist.clone(),
                    "album_artist" | "albumartist" => meta.album_artist.clone(),
                    "album" => meta.album_name(),
                    "genre" => meta.genre.clone(),
                    "year" | "date" => meta.year.map(|y| y.to_string()),
                    "disc" | "discnumber" => meta.disc.map(|y| y.to_string()),
                    "track" | "tracknumber" => meta.track.map(|y| y.to_string()),
                    _ => meta.tags.get(&name).cloned(),
                };
                field.as_deref().and_then(norm) == norm(value)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_ignore_case_and_space() {
        let a = TrackMeta::default()
            .with_artist(" ABBA ")
            .with_album("Gold");
        let b = TrackMeta::default().with_artist("abba").with_album("gold ");
        assert_eq!(a.artist_key(), b.artist_key());
        assert_eq!(a.album_key(), b.album_key());
        let other = b.clone().with_album_artist("Someone");
        assert_ne!(a.album_key(), other.album_key());
        assert_eq!(TrackMeta::default().artist_key(), None);
        assert_eq!(TrackMeta::default().album_key(), None);
        let loose = TrackMeta::default().with_folder("/m/Live 1999/");
        assert_eq!(loose.album_name().as_deref(), Some("Live 1999"));
    }

    #[test]
    fn filters_drop_unknowns() {
        let none = TrackMeta::default();
        assert!(
            !Filter::DurationS {
                min: Some(1.0),
                max: None
            }
            .accepts(&none)
        );
        assert!(!Filter::Genre(vec!["rock".into()]).accepts(&none));
        assert!(Filter::NotGenre(vec!["rock".into()]).accepts(&none));
        let m = TrackMeta::default()
            .with_tag("Mood", "Calm")
            .with_year(2001);
        assert!(
            Filter::Tag {
                name: "mood".into(),
                value: "calm".into()
            }
            .accepts(&m)
        );
        assert!(
            Filter::Tag {
                name: "year".into(),
                value: "2001".into()
            }
            .accepts(&m)
        );
    }
}
