//! The library's answers by file path: playlists, paths between two tracks, similar albums and
//! what the library holds, over the folders it answers from ([`Library::with_scope`]).

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use sonority_similarity::{PathConfig, PlaylistConfig, Rules};
use sonority_store::{FileError, LibraryRoot, TrackId, TrackInfo};

use crate::catalogue::{CatalogueIndex, PlaylistTrack};
use crate::library::{Library, canonical};
use crate::{Error, Result};

/// `AlbumMatch` is one album of [`Library::albums`]: its name, artist, likeness and tracks.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct AlbumMatch {
    /// The album tag, else the folder's name.
    pub name: Option<String>,
    /// The album artist, else the artist of its first track.
    pub artist: Option<String>,
    /// The cosine between the album's mean vector and that of the album asked about (`1.0`
    /// for the album itself).
    pub score: f32,
    /// Its tracks in disc and track order, each with the album's score.
    pub tracks: Vec<PlaylistTrack>,
}

/// `LibraryStatus` says what a library holds for its model ([`Library::status`]).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct LibraryStatus {
    /// The database file.
    pub db: PathBuf,
    /// The model's name.
    pub model: String,
    /// The model's fingerprint ([`Model::fingerprint`](crate::Model::fingerprint)).
    pub fingerprint: String,
    /// Tracks with a vector of the model, in the folders the library answers from.
    pub tracks: usize,
    /// Albums among them (an untagged track's album is its folder).
    pub albums: usize,
    /// Seconds of audio among them.
    pub audio_s: f64,
    /// The music folders indexed into the database, with when each was last indexed.
    pub roots: Vec<LibraryRoot>,
    /// Files that could not be analysed, with the reason (in the folders answered from).
    pub failures: Vec<FileError>,
}

impl<'m> Library<'m> {
    /// Answers only from tracks under `folders` (and rank only them) from now on; an empty
    /// list answers from the whole database. One database may hold several music folders:
    /// a command given one folder answers from that folder.
    ///
    /// # Errors
    /// [`Error::Io`] for a folder that does not exist.
    pub fn with_scope(mut self, folders: &[PathBuf]) -> Result<Self> {
        self.scope = folders
            .iter()
            .map(|f| {
                std::fs::canonicalize(f).map_err(|source| Error::Io {
                    path: f.clone(),
                    source,
                })
            })
            .collect::<Result<_>>()?;
        Ok(self)
    }

    /// The folders the library answers from (canonical); empty for the whole database.
    #[must_use]
    pub fn scope(&self) -> &[PathBuf] {
        &self.scope
    }

    /// Whether a stored (canonical) path is under the folders the library answers from.
    #[must_use]
    pub fn in_scope(&self, path: &Path) -> bool {
        self.scope.is_empty() || self.scope.iter().any(|r| path.starts_with(r))
    }

    /// The tracks of the index outside the folders the library answers from.
    pub(crate) fn out_of_scope(&self, index: &CatalogueIndex) -> Vec<TrackId> {
        if self.scope.is_empty() {
            return Vec::new();
        }
        index
            .tracks
            .values()
            .filter(|t| !self.in_scope(&t.record.file.path))
            .map(|t| t.id)
            .collect()
    }

    /// The id of a track of the library under the folders answered from, or
    /// [`Error::UnknownTrack`].
    fn require(&self, index: &CatalogueIndex, file: &Path) -> Result<TrackId> {
        let key = canonical(file);
        match index.id_of_path(&key) {
            Some(id) if self.in_scope(&key) => Ok(id),
            found => Err(Error::UnknownTrack {
                path: file.to_path_buf(),
                out_of_scope: found.is_some(),
            }),
        }
    }

    /// `rules` with tracks named by path resolved to the index's ids (paths the library does
    /// not hold are ignored) and the tracks outside the folders answered from excluded.
    fn resolve_rules(&self, index: &CatalogueIndex, rules: &Rules<PathBuf>) -> Rules<TrackId> {
        let mut r = Rules::default().with_min_artist_gap(rules.min_artist_gap);
        r.max_per_artist = rules.max_per_artist;
        r.max_per_album = rules.max_per_album;
        r.filters.clone_from(&rules.filters);
        r.exclude_content.clone_from(&rules.exclude_content);
        r.exclude = rules
            .exclude
            .iter()
            .filter_map(|p| Self::track_id(index, p))
            .chain(self.out_of_scope(index))
            .collect::<HashSet<_>>();
        r
    }

    /// A playlist from seed files (tracks of the library, or any file, analysed on the spot):
    /// every track close to the seeds, or a walk ([`PlaylistConfig::mode`]), with the rules
    /// of `cfg` (caps, artist gap, filters; exclusions by path). Never a seed nor a copy of
    /// one, never a track outside the folders answered from.
    ///
    /// ```no_run
    /// use std::path::PathBuf;
    /// use sonority::similarity::{PlaylistConfig, Rules};
    /// use sonority::{Library, Model};
    ///
    /// let model = Model::load_default()?;
    /// let lib = Library::open("library.sqlite".as_ref(), &model)?;
    /// let rules = Rules::default().with_min_artist_gap(3);
    /// let cfg = PlaylistConfig::<PathBuf>::new(20).with_rules(rules);
    /// for t in lib.playlist(&[PathBuf::from("/music/a/01.flac")], &cfg)? {
    ///     println!("{:.2} {}", t.score, t.track.record.file.path.display());
    /// }
    /// # Ok::<(), sonority::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::Query`] without seeds or with an empty library; analysis errors for a seed
    /// outside the library that cannot be analysed.
    pub fn playlist(
        &self,
        seeds: &[PathBuf],
        cfg: &PlaylistConfig<PathBuf>,
    ) -> Result<Vec<PlaylistTrack>> {
        self.with_catalogue(|index| {
            let anchors = self.anchors(index, seeds)?;
            let c = PlaylistConfig::new(cfg.n)
                .with_mode(cfg.mode)
                .with_rules(self.resolve_rules(index, &cfg.rules));
            index.playlist(&anchors, &c)
        })
    }

    /// Up to `cfg.n` tracks from `from` to `to` in even steps along the line between them,
    /// both ends included (see [`sonority_similarity::path`]).
    ///
    /// # Errors
    /// [`Error::UnknownTrack`] for an end that is not a track of the library (under the
    /// folders answered from); errors of [`sonority_similarity::path`] (`n < 2`, equal ends).
    pub fn path(
        &self,
        from: &Path,
        to: &Path,
        cfg: &PathConfig<PathBuf>,
    ) -> Result<Vec<PlaylistTrack>> {
        self.with_catalogue(|index| {
            let (a, b) = (self.require(index, from)?, self.require(index, to)?);
            let c = PathConfig::new(cfg.n).with_rules(self.resolve_rules(index, &cfg.rules));
            index.path(a, b, &c)
        })
    }

    /// The `k` albums most like the album of `track` (album = the mean of its tracks'
    /// vectors; an untagged track's album is its folder), best first, after the album itself
    /// when `with_self`. Only albums with a track under the folders answered from.
    ///
    /// # Errors
    /// [`Error::UnknownTrack`] for a track that is not in the library; [`Error::Query`] for a
    /// track that belongs to no album.
    pub fn albums(&self, track: &Path, k: usize, with_self: bool) -> Result<Vec<AlbumMatch>> {
        self.with_catalogue(|index| {
            let id = self.require(index, track)?;
            let albums = index.albums()?;
            let album = index
                .row_of(id)
                .and_then(|row| albums.album_of_row(row))
                .ok_or_else(|| Error::Query {
                    reason: format!("{}: the track belongs to no album", track.display()),
                })?;
            let in_scope = |a: usize| {
                albums.albums()[a].rows.iter().any(|&r| {
                    index
                        .index
                        .ids()
                        .get(r)
                        .and_then(|id| index.tracks.get(id))
                        .is_some_and(|t| self.in_scope(&t.record.file.path))
                })
            };
            let mut chosen = Vec::with_capacity(k + 1);
            if with_self {
                chosen.push((album, 1.0));
            }
            // Every album ranked when some are out of scope: they are filtered afterwards.
            let wanted = if self.scope.is_empty() {
                k
            } else {
                albums.albums().len()
            };
            chosen.extend(
                albums
                    .similar(album, wanted)?
                    .into_iter()
                    .filter(|&(a, _)| in_scope(a))
                    .take(k),
            );
            Ok(chosen
                .into_iter()
                .map(|(a, score)| {
                    let info = &albums.albums()[a];
                    let rows: Vec<(usize, f32)> = info.rows.iter().map(|&r| (r, score)).collect();
                    let mut tracks = index.tracks_of_rows(&rows);
                    // An album tagged alike in several folders: only its tracks in scope.
                    tracks.retain(|t| self.in_scope(&t.track.record.file.path));
                    AlbumMatch {
                        name: info.name.clone(),
                        artist: info.artist.clone(),
                        score,
                        tracks,
                    }
                })
                .collect())
        })
    }

    /// The stored record of a track of the library (under the folders answered from).
    ///
    /// # Errors
    /// [`Error::UnknownTrack`] when the library does not hold it; store errors.
    pub fn track(&self, file: &Path) -> Result<TrackInfo> {
        self.with_catalogue(|index| {
            let id = self.require(index, file)?;
            index.track(id).cloned().ok_or_else(|| Error::UnknownTrack {
                path: file.to_path_buf(),
                out_of_scope: false,
            })
        })
    }

    /// What the library holds for its model, in the folders it answers from: tracks, albums,
    /// hours of audio, the indexed folders and when, and the files that failed with why.
    /// An empty library is a status too (zero tracks), not an error.
    ///
    /// # Errors
    /// Store errors.
    pub fn status(&self) -> Result<LibraryStatus> {
        let (tracks, albums, audio_s) = match self.with_catalogue(|index| {
            let mut albums = HashSet::new();
            let (mut n, mut audio_s) = (0, 0.0);
            for (row, id) in index.index.ids().iter().enumerate() {
                let Some(t) = index.tracks.get(id) else {
                    continue;
                };
                if !self.in_scope(&t.record.file.path) {
                    continue;
                }
                n += 1;
                audio_s += t.record.duration_s.unwrap_or(0.0);
                if let Some(key) = index.meta.get(row).and_then(|m| m.album_key()) {
                    albums.insert(key);
                }
            }
            Ok((n, albums.len(), audio_s))
        }) {
            Ok(counts) => counts,
            // A library without a vector of the model has no index to load.
            Err(Error::Query { .. }) => (0, 0, 0.0),
            Err(e) => return Err(e),
        };
        let store = self.store();
        Ok(LibraryStatus {
            db: store.path().to_path_buf(),
            model: self.model().name().to_owned(),
            fingerprint: self.model().fingerprint()?,
            tracks,
            albums,
            audio_s,
            roots: store.roots()?,
            failures: store
                .errors()?
                .into_iter()
                .filter(|e| self.in_scope(&e.path))
                .collect(),
        })
    }
}
