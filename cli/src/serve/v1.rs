//! The native JSON API, `/v1/...`: similar tracks, playlists, paths, albums, one track, the
//! library's status, and an indexing run. Tracks are named by their path relative to a music
//! folder; errors are `{"error": {"code": ..., "message": ...}}` with a stable code.

use std::collections::{BTreeMap, HashSet};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use axum::Json;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use sonority::similarity::{Filter, PathConfig, PlaylistConfig, PlaylistMode, Rules};
use sonority::store::{TrackId, TrackInfo};
use sonority::{CatalogueIndex, Library};

use super::state::{AppState, IndexJob, name_of, resolve, roots};

/// The most seeds, exclusions and tracks one request may name or ask for.
pub const MAX_SEEDS: usize = 100;
/// The most exclusions one request may name.
pub const MAX_EXCLUDE: usize = 10_000;
/// The most tracks one answer holds.
pub const MAX_COUNT: usize = 500;

/// An error answer: a status, a stable code and a message.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    code: &'static str,
    message: String,
}

impl ApiError {
    /// A 400 `bad_request`.
    pub fn bad(message: impl Into<String>) -> Self {
        Self {
            status: StatusCode::BAD_REQUEST,
            code: "bad_request",
            message: message.into(),
        }
    }

    fn unknown(name: &str) -> Self {
        Self {
            status: StatusCode::NOT_FOUND,
            code: "unknown_track",
            message: format!("{name:?} is not a track of the library"),
        }
    }

    /// A 500 `internal` naming the library's error.
    pub fn internal(e: impl std::fmt::Display) -> Self {
        Self {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            code: "internal",
            message: crate::error::one_line(&e.to_string()),
        }
    }
}

impl From<sonority::Error> for ApiError {
    fn from(e: sonority::Error) -> Self {
        match e {
            sonority::Error::UnknownTrack { ref path, .. } => {
                Self::unknown(&path.to_string_lossy())
            }
            sonority::Error::Query { .. } | sonority::Error::Similarity(_) => Self {
                status: StatusCode::UNPROCESSABLE_ENTITY,
                code: "cannot_answer",
                message: crate::error::one_line(&e.to_string()),
            },
            e => Self::internal(e),
        }
    }
}

#[derive(Serialize)]
struct ErrorBody<'a> {
    error: ErrorDetail<'a>,
}

#[derive(Serialize)]
struct ErrorDetail<'a> {
    code: &'a str,
    message: &'a str,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ErrorBody {
            error: ErrorDetail {
                code: self.code,
                message: &self.message,
            },
        };
        (self.status, Json(body)).into_response()
    }
}

/// A JSON body parsed leniently about its content type (clients send `application/json`
/// with or without a charset, or none), strictly about its shape: a 400 otherwise.
pub fn parse<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    serde_json::from_slice(body).map_err(|e| ApiError::bad(format!("invalid request: {e}")))
}

/// A track in an answer.
#[derive(Debug, Serialize)]
pub struct TrackOut {
    /// The path relative to its music folder.
    pub name: String,
    /// Title tag.
    pub title: Option<String>,
    /// Artist tag.
    pub artist: Option<String>,
    /// Album artist tag.
    pub album_artist: Option<String>,
    /// Album tag.
    pub album: Option<String>,
    /// Disc number.
    pub disc: Option<u32>,
    /// Track number.
    pub track: Option<u32>,
    /// Genre tag.
    pub genre: Option<String>,
    /// Year.
    pub year: Option<i32>,
    /// Duration in seconds.
    pub duration_s: Option<f64>,
    /// Cosine in [-1, 1] with what it was chosen for (absent for `/v1/track`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub score: Option<f64>,
}

impl TrackOut {
    fn new(roots: &[PathBuf], t: &TrackInfo, score: Option<f32>) -> Option<Self> {
        let tags = &t.record.tags;
        Some(Self {
            name: name_of(roots, &t.record.file.path)?,
            title: tags.title.clone(),
            artist: tags.artist.clone(),
            album_artist: tags.album_artist.clone(),
            album: tags.album.clone(),
            disc: tags.disc_number,
            track: tags.track_number,
            genre: tags.genre.clone(),
            year: tags.year,
            duration_s: t.record.duration_s,
            score: score.map(f64::from),
        })
    }
}

/// A list of tracks.
#[derive(Debug, Serialize)]
pub struct TracksOut {
    /// The tracks, best first (a path: in order from one end to the other).
    pub tracks: Vec<TrackOut>,
    /// Milliseconds spent answering.
    pub elapsed_ms: f64,
}

fn count(c: Option<usize>, default: usize) -> Result<usize, ApiError> {
    match c.unwrap_or(default) {
        n if n > MAX_COUNT => Err(ApiError::bad(format!("count: at most {MAX_COUNT}"))),
        n => Ok(n),
    }
}

fn check_len(what: &str, n: usize, max: usize) -> Result<(), ApiError> {
    if n > max {
        return Err(ApiError::bad(format!("{what}: at most {max} entries")));
    }
    Ok(())
}

/// Resolves names to library files; the first unknown one is a 404.
fn files(
    index: &CatalogueIndex,
    roots: &[PathBuf],
    names: &[String],
) -> Result<Vec<PathBuf>, ApiError> {
    names
        .iter()
        .map(|n| {
            let id = resolve(index, roots, n).ok_or_else(|| ApiError::unknown(n))?;
            index
                .track(id)
                .map(|t| t.record.file.path.clone())
                .ok_or_else(|| ApiError::unknown(n))
        })
        .collect()
}

/// Runs `f` on the library and its catalogue off the async workers.
async fn with_library<T: Send + 'static>(
    state: &Arc<AppState>,
    f: impl FnOnce(&Library<'static>, &[PathBuf]) -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    let state = Arc::clone(state);
    tokio::task::spawn_blocking(move || {
        let lib = state.library();
        let roots = roots(&lib);
        f(&lib, &roots)
    })
    .await
    .map_err(ApiError::internal)?
}

/// `POST /v1/similar`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SimilarRequest {
    /// Seed tracks (one or several: their mean direction).
    pub tracks: Vec<String>,
    /// How many (default 10, at most 500).
    pub count: Option<usize>,
    /// Never a track of the seeds' albums.
    #[serde(default)]
    pub exclude_album: bool,
    /// Tracks never to return.
    #[serde(default)]
    pub exclude: Vec<String>,
}

/// `POST /v1/similar`: the tracks most like the seeds.
pub async fn similar(
    State(state): State<Arc<AppState>>,
    body: axum::body::Bytes,
) -> Result<Json<TracksOut>, ApiError> {
    let req: SimilarRequest = parse(&body)?;
    check_len("tracks", req.tracks.len(), MAX_SEEDS)?;
    check_len("exclude", req.exclude.len(), MAX_EXCLUDE)?;
    if req.tracks.is_empty() {
        return Err(ApiError::bad("tracks: give at least one seed"));
    }
    let k = count(req.count, 10)?;
    with_library(&state, move |lib, roots| {
        let t = Instant::now();
        let (seeds, exclude) = lib.with_catalogue(|index| {
            let seeds = files(index, roots, &req.tracks);
            let exclude: HashSet<TrackId> = req
                .exclude
                .iter()
                .filter_map(|n| resolve(index, roots, n))
                .collect();
            Ok((seeds, exclude))
        })?;
        let seeds = seeds?;
        let recs = lib.recommend(&seeds, k + exclude.len(), req.exclude_album)?;
        let tracks = recs
            .iter()
            .filter(|r| !exclude.contains(&r.track.id))
            .filter_map(|r| TrackOut::new(roots, &r.track, Some(r.score)))
            .take(k)
            .collect();
        Ok(Json(TracksOut {
            tracks,
            elapsed_ms: t.elapsed().as_secs_f64() * 1e3,
        }))
    })
    .await
}

/// The playlist rules of a request.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RulesIn {
    /// The most tracks of one artist.
    pub max_per_artist: Option<usize>,
    /// The most tracks of one album.
    pub max_per_album: Option<usize>,
    /// The fewest other tracks between two of one artist.
    #[serde(default)]
    pub min_artist_gap: usize,
    /// Shortest track, seconds.
    pub min_duration: Option<f64>,
    /// Longest track, seconds.
    pub max_duration: Option<f64>,
    /// Only these genres (any one).
    #[serde(default)]
    pub genre: Vec<String>,
    /// Never these genres.
    #[serde(default)]
    pub not_genre: Vec<String>,
    /// Earliest year.
    pub year_from: Option<i32>,
    /// Latest year.
    pub year_to: Option<i32>,
    /// Tags that must have these values.
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
    /// Tracks never to take.
    #[serde(default)]
    pub exclude: Vec<String>,
}

impl RulesIn {
    fn rules(&self, index: &CatalogueIndex, roots: &[PathBuf]) -> Result<Rules<PathBuf>, ApiError> {
        check_len("exclude", self.exclude.len(), MAX_EXCLUDE)?;
        let mut r = Rules::default().with_min_artist_gap(self.min_artist_gap);
        r.max_per_artist = self.max_per_artist;
        r.max_per_album = self.max_per_album;
        for (what, v) in [
            ("min_duration", self.min_duration),
            ("max_duration", self.max_duration),
        ] {
            if v.is_some_and(|s| !s.is_finite() || s < 0.0) {
                return Err(ApiError::bad(format!("{what}: seconds, 0 or more")));
            }
        }
        if self.min_duration.is_some() || self.max_duration.is_some() {
            r = r.with_filter(Filter::DurationS {
                min: self.min_duration,
                max: self.max_duration,
            });
        }
        if self.year_from.is_some() || self.year_to.is_some() {
            r = r.with_filter(Filter::Year {
                min: self.year_from,
                max: self.year_to,
            });
        }
        if !self.genre.is_empty() {
            r = r.with_filter(Filter::Genre(self.genre.clone()));
        }
        if !self.not_genre.is_empty() {
            r = r.with_filter(Filter::NotGenre(self.not_genre.clone()));
        }
        for (name, value) in &self.tags {
            r = r.with_filter(Filter::Tag {
                name: name.clone(),
                value: value.clone(),
            });
        }
        let exclude: Vec<PathBuf> = self
            .exclude
            .iter()
            .filter_map(|n| resolve(index, roots, n))
            .filter_map(|id| index.track(id).map(|t| t.record.file.path.clone()))
            .collect();
        Ok(r.with_exclude(exclude))
    }
}

/// `POST /v1/playlist`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlaylistRequest {
    /// Seed tracks.
    pub seeds: Vec<String>,
    /// How many (default 20).
    pub count: Option<usize>,
    /// Walk from track to track near the seeds instead of taking the closest to the seeds.
    #[serde(default)]
    pub walk: bool,
    /// How strongly a walk is pulled back to the seeds, 0 to 1 (default 0.3).
    pub seed_weight: Option<f32>,
    /// Caps, gaps, filters, exclusions.
    #[serde(default)]
    pub rules: RulesIn,
}

/// `POST /v1/playlist`: a playlist from seeds with every rule of `Library::playlist`.
pub async fn playlist(
    State(state): State<Arc<AppState>>,
    body: axum::body::Bytes,
) -> Result<Json<TracksOut>, ApiError> {
    let req: PlaylistRequest = parse(&body)?;
    check_len("seeds", req.seeds.len(), MAX_SEEDS)?;
    if req.seeds.is_empty() {
        return Err(ApiError::bad("seeds: give at least one"));
    }
    let n = count(req.count, 20)?;
    let w = req.seed_weight.unwrap_or(0.3);
    if !(0.0..=1.0).contains(&w) {
        return Err(ApiError::bad("seed_weight: between 0 and 1"));
    }
    with_library(&state, move |lib, roots| {
        let t = Instant::now();
        let (seeds, rules) = lib.with_catalogue(|index| {
            Ok((
                files(index, roots, &req.seeds),
                req.rules.rules(index, roots),
            ))
        })?;
        let mode = if req.walk {
            PlaylistMode::Walk { seed_weight: w }
        } else {
            PlaylistMode::Seeds
        };
        let cfg = PlaylistConfig::new(n).with_mode(mode).with_rules(rules?);
        let list = lib.playlist(&seeds?, &cfg)?;
        Ok(Json(TracksOut {
            tracks: list
                .iter()
                .filter_map(|t| TrackOut::new(roots, &t.track, Some(t.score)))
                .collect(),
            elapsed_ms: t.elapsed().as_secs_f64() * 1e3,
        }))
    })
    .await
}

/// `POST /v1/path`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PathRequest {
    /// The first track.
    pub from: String,
    /// The last track.
    pub to: String,
    /// How many, both ends included (default 10, at least 2).
    pub count: Option<usize>,
    /// Filters, caps, exclusions.
    #[serde(default)]
    pub rules: RulesIn,
}

/// `POST /v1/path`: tracks from one track to another in even steps.
pub async fn path(
    State(state): State<Arc<AppState>>,
    body: axum::body::Bytes,
) -> Result<Json<TracksOut>, ApiError> {
    let req: PathRequest = parse(&body)?;
    let n = count(req.count, 10)?;
    if n < 2 {
        return Err(ApiError::bad("count: a path has at least its two ends"));
    }
    with_library(&state, move |lib, roots| {
        let t = Instant::now();
        let (ends, rules) = lib.with_catalogue(|index| {
            Ok((
                files(index, roots, &[req.from.clone(), req.to.clone()]),
                req.rules.rules(index, roots),
            ))
        })?;
        let ends = ends?;
        let list = lib.path(&ends[0], &ends[1], &PathConfig::new(n).with_rules(rules?))?;
        Ok(Json(TracksOut {
            tracks: list
                .iter()
                .filter_map(|t| TrackOut::new(roots, &t.track, Some(t.score)))
                .collect(),
            elapsed_ms: t.elapsed().as_secs_f64() * 1e3,
        }))
    })
    .await
}

/// `POST /v1/albums`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlbumsRequest {
    /// Any track of the album.
    pub track: String,
    /// How many albums (default 5, at most 100).
    pub count: Option<usize>,
    /// Start with the album itself.
    #[serde(default)]
    pub with_self: bool,
}

/// One album of an answer.
#[derive(Debug, Serialize)]
pub struct AlbumOut {
    /// Album tag, else the folder's name.
    pub name: Option<String>,
    /// Album artist, else the first track's artist.
    pub artist: Option<String>,
    /// Cosine between the albums' mean vectors.
    pub score: f64,
    /// Its tracks in disc and track order.
    pub tracks: Vec<TrackOut>,
}

/// The albums of an answer.
#[derive(Debug, Serialize)]
pub struct AlbumsOut {
    /// Best first.
    pub albums: Vec<AlbumOut>,
    /// Milliseconds spent answering.
    pub elapsed_ms: f64,
}

/// `POST /v1/albums`: the albums most like the album of a track.
pub async fn albums(
    State(state): State<Arc<AppState>>,
    body: axum::body::Bytes,
) -> Result<Json<AlbumsOut>, ApiError> {
    let req: AlbumsRequest = parse(&body)?;
    let k = count(req.count, 5)?.min(100);
    with_library(&state, move |lib, roots| {
        let t = Instant::now();
        let file =
            lib.with_catalogue(|index| Ok(files(index, roots, std::slice::from_ref(&req.track))))??;
        let hits = lib.albums(&file[0], k, req.with_self)?;
        Ok(Json(AlbumsOut {
            albums: hits
                .iter()
                .map(|a| AlbumOut {
                    name: a.name.clone(),
                    artist: a.artist.clone(),
                    score: f64::from(a.score),
                    tracks: a
                        .tracks
                        .iter()
                        .filter_map(|t| TrackOut::new(roots, &t.track, Some(t.score)))
                        .collect(),
                })
                .collect(),
            elapsed_ms: t.elapsed().as_secs_f64() * 1e3,
        }))
    })
    .await
}

/// `GET /v1/track?name=...`.
#[derive(Debug, Deserialize)]
pub struct TrackQuery {
    /// The track's name.
    pub name: String,
}

/// `GET /v1/track?name=...`: one track's record.
pub async fn track(
    State(state): State<Arc<AppState>>,
    Query(q): Query<TrackQuery>,
) -> Result<Json<TrackOut>, ApiError> {
    with_library(&state, move |lib, roots| {
        lib.with_catalogue(|index| {
            Ok(resolve(index, roots, &q.name)
                .and_then(|id| index.track(id))
                .and_then(|t| TrackOut::new(roots, t, None)))
        })?
        .map(Json)
        .ok_or_else(|| ApiError::unknown(&q.name))
    })
    .await
}

/// `GET /v1/status`.
#[derive(Debug, Serialize)]
pub struct StatusOut {
    /// The model's name.
    pub model: String,
    /// The model's fingerprint.
    pub fingerprint: String,
    /// Tracks with a vector.
    pub tracks: usize,
    /// Albums.
    pub albums: usize,
    /// Hours of audio.
    pub hours: f64,
    /// The music folders and when each was last indexed (Unix seconds).
    pub folders: Vec<FolderOut>,
    /// Files that could not be analysed.
    pub failures: usize,
    /// The indexing job.
    pub index: IndexJob,
    /// Seconds since the server started.
    pub uptime_s: f64,
}

/// A music folder.
#[derive(Debug, Serialize)]
pub struct FolderOut {
    /// The folder.
    pub path: String,
    /// When it was last indexed, Unix seconds.
    pub indexed_at_unix_s: i64,
}

/// `GET /v1/status`: what the library holds.
pub async fn status(State(state): State<Arc<AppState>>) -> Result<Json<StatusOut>, ApiError> {
    let job = state.job.lock().map(|j| j.clone()).unwrap_or_default();
    let uptime_s = state.started.elapsed().as_secs_f64();
    with_library(&state, move |lib, _| {
        let st = lib.status()?;
        Ok(Json(StatusOut {
            model: st.model,
            fingerprint: st.fingerprint,
            tracks: st.tracks,
            albums: st.albums,
            hours: st.audio_s / 3600.0,
            folders: st
                .roots
                .iter()
                .map(|r| FolderOut {
                    path: r.path.to_string_lossy().into_owned(),
                    indexed_at_unix_s: r.indexed_at_s,
                })
                .collect(),
            failures: st.failures.len(),
            index: job,
            uptime_s,
        }))
    })
    .await
}

/// `POST /v1/index`: starts an incremental index run of every music folder (202), or says
/// one is running (409).
pub async fn start_index(State(state): State<Arc<AppState>>) -> Response {
    if state.start_index() {
        let job = state.job.lock().map(|j| j.clone()).unwrap_or_default();
        (StatusCode::ACCEPTED, Json(job)).into_response()
    } else {
        ApiError {
            status: StatusCode::CONFLICT,
            code: "index_running",
            message: "an index run is going on: GET /v1/index for its progress".into(),
        }
        .into_response()
    }
}

/// `GET /v1/index`: the indexing job's progress.
pub async fn index_progress(State(state): State<Arc<AppState>>) -> Json<IndexJob> {
    Json(state.job.lock().map(|j| j.clone()).unwrap_or_default())
}
