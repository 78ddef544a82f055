//! The native JSON API, `/v1/...`: similar tracks, playlists, paths, albums, one track, the
//! library's status, and an indexing run. Tracks are named by their path relative to a music
//! folder; errors are `{"error": {"code": ..., "message": ...}}` with a stable code.

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;
use std::time::Instant;

use axum::Json;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use sonority::ranking::{Anchor, CatalogueIndex, PlaylistTrack};
use sonority::similarity::{Filter, PathConfig, PlaylistConfig, PlaylistMode, Rules};
use sonority::store::{TrackId, TrackInfo};

use super::state::{AppState, IndexJob, Naming};
use crate::output::TagsJson;

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
    /// Tags and duration.
    #[serde(flatten)]
    pub tags: TagsJson,
    /// Cosine in [-1, 1] with what it was chosen for (absent for `/v1/track`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub score: Option<f64>,
}

impl TrackOut {
    fn new(naming: &Naming, t: &TrackInfo, score: Option<f32>) -> Option<Self> {
        Some(Self {
            name: naming.name_of(&t.record.file.path)?,
            tags: TagsJson::of(t),
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

/// Resolves names to the catalogue's ids; the first unknown one is a 404.
fn ids(
    index: &CatalogueIndex,
    naming: &Naming,
    names: &[String],
) -> Result<Vec<TrackId>, ApiError> {
    names
        .iter()
        .map(|n| naming.resolve(index, n).ok_or_else(|| ApiError::unknown(n)))
        .collect()
}

fn stored(ids: &[TrackId]) -> Vec<Anchor> {
    ids.iter().map(|&id| Anchor::Stored(id)).collect()
}

fn tracks_out(naming: &Naming, list: &[PlaylistTrack]) -> Vec<TrackOut> {
    list.iter()
        .filter_map(|t| TrackOut::new(naming, &t.track, Some(t.score)))
        .collect()
}

/// Runs `f` on the up-to-date catalogue off the async workers.
async fn with_index<T: Send + 'static>(
    state: &Arc<AppState>,
    f: impl FnOnce(&CatalogueIndex, &Naming) -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    let state = Arc::clone(state);
    tokio::task::spawn_blocking(move || state.query(false, |index, naming, _| f(index, naming)))
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
    with_index(&state, move |index, naming| {
        let t = Instant::now();
        let seeds = ids(index, naming, &req.tracks)?;
        let exclude: HashSet<TrackId> = req
            .exclude
            .iter()
            .filter_map(|n| naming.resolve(index, n))
            .collect();
        let recs = index.rank(&stored(&seeds), k + exclude.len(), req.exclude_album, None)?;
        let tracks = recs
            .iter()
            .filter(|r| !exclude.contains(&r.track.id))
            .filter_map(|r| TrackOut::new(naming, &r.track, Some(r.score)))
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
    fn rules(&self, index: &CatalogueIndex, naming: &Naming) -> Result<Rules<TrackId>, ApiError> {
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
        let exclude: Vec<TrackId> = self
            .exclude
            .iter()
            .filter_map(|n| naming.resolve(index, n))
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
    with_index(&state, move |index, naming| {
        let t = Instant::now();
        let seeds = ids(index, naming, &req.seeds)?;
        let mode = if req.walk {
            PlaylistMode::Walk { seed_weight: w }
        } else {
            PlaylistMode::Seeds
        };
        let cfg = PlaylistConfig::new(n)
            .with_mode(mode)
            .with_rules(req.rules.rules(index, naming)?);
        let list = index.playlist(&stored(&seeds), &cfg)?;
        Ok(Json(TracksOut {
            tracks: tracks_out(naming, &list),
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
    with_index(&state, move |index, naming| {
        let t = Instant::now();
        let ends = ids(index, naming, &[req.from.clone(), req.to.clone()])?;
        let cfg = PathConfig::new(n).with_rules(req.rules.rules(index, naming)?);
        let list = index.path(ends[0], ends[1], &cfg)?;
        Ok(Json(TracksOut {
            tracks: tracks_out(naming, &list),
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
    with_index(&state, move |index, naming| {
        let t = Instant::now();
        let id = ids(index, naming, std::slice::from_ref(&req.track))?[0];
        let albums = index.albums()?;
        let album = index
            .row_of(id)
            .and_then(|row| albums.album_of_row(row))
            .ok_or_else(|| {
                ApiError::from(sonority::Error::Query {
                    reason: format!("{}: the track belongs to no album", req.track),
                })
            })?;
        let mut chosen = Vec::with_capacity(k + 1);
        if req.with_self {
            chosen.push((album, 1.0));
        }
        chosen.extend(albums.similar(album, k).map_err(sonority::Error::from)?);
        Ok(Json(AlbumsOut {
            albums: chosen
                .into_iter()
                .map(|(a, score)| {
                    let info = &albums.albums()[a];
                    let rows: Vec<(usize, f32)> = info.rows.iter().map(|&r| (r, score)).collect();
                    AlbumOut {
                        name: info.name.clone(),
                        artist: info.artist.clone(),
                        score: f64::from(score),
                        tracks: tracks_out(naming, &index.tracks_of_rows(&rows)),
                    }
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
    with_index(&state, move |index, naming| {
        naming
            .resolve(index, &q.name)
            .and_then(|id| index.track(id))
            .and_then(|t| TrackOut::new(naming, t, None))
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
    let state2 = Arc::clone(&state);
    let st = tokio::task::spawn_blocking(move || state2.status())
        .await
        .map_err(ApiError::internal)??;
    Ok(Json(StatusOut {
        model: st.model,
        fingerprint: st.fingerprint,
        tracks: st.tracks,
        albums: st.albums,
        hours: st.audio_s / 3600.0,
        folders: st
            .folders
            .iter()
            .map(|(p, at)| FolderOut {
                path: p.to_string_lossy().into_owned(),
                indexed_at_unix_s: *at,
            })
            .collect(),
        failures: st.failures,
        index: job,
        uptime_s,
    }))
}

/// `POST /v1/index`: starts an incremental index run of every music folder (202), or says
/// one is running (409).
pub async fn start_index(State(state): State<Arc<AppState>>) -> Response {
    if !state.indexes_itself() {
        return ApiError::bad(
            "a shared catalogue is indexed by its workers (`sonority index --db postgres://... --worker`)",
        )
        .into_response();
    }
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
