//! Bliss Mixer's routes (`/api/mix`, `/api/list`, `/api/ready`), answered from the library:
//! the request contract is `mixer.rs`'s, the catalogue the library's loaded index. Answers are
//! `text/plain; charset=utf-8`, one track a line; an unknown seed gives 200 and an empty body,
//! a malformed or incomplete request a 400.
//!
//! Tracks are named as the client names them. Seeds given relative to a music folder
//! (`Artist/Album/01.flac`, as Bliss Mixer's database stores them) get answers relative to
//! their folder; seeds given as absolute paths or `file://` URLs (what Lyrion's plugin sends:
//! each track's LMS URL, and it checks that each answer exists on disk) get absolute paths.
//! Either way, nothing outside the library's music folders is looked up or answered.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use sonority::ranking::{Anchor, CatalogueIndex};
use sonority::store::TrackId;

use super::mixer::{ListRequest, MixCatalogue, MixRequest, TrackFacts};
use super::state::{AppState, Naming};

/// The most seeds and previous tracks a request may name.
const MAX_TRACKS: usize = 10_000;

/// The library's loaded index as the mixer's catalogue.
struct Catalogue<'a> {
    index: &'a CatalogueIndex,
    naming: &'a Naming,
    tempos: &'a HashMap<TrackId, f64>,
    /// Answer absolute paths (the client named its seeds so).
    absolute: bool,
}

/// Whether a client names tracks by absolute path or `file://` URL.
fn is_absolute_name(name: &str) -> bool {
    name.starts_with('/') || name.starts_with("file://")
}

/// The path of an absolute name: a path, or a `file://` URL (percent-decoded). A URL with a
/// fragment (LMS's `#start-end` for a CUE track) names a span of a file, not a track here.
fn absolute_path(name: &str) -> Option<PathBuf> {
    use std::os::unix::ffi::OsStringExt;
    let raw = match name.strip_prefix("file://") {
        Some(rest) => {
            if rest.contains('#') {
                return None;
            }
            let bytes: Vec<u8> = percent_encoding::percent_decode_str(rest).collect();
            PathBuf::from(std::ffi::OsString::from_vec(bytes))
        }
        None => PathBuf::from(name),
    };
    (raw.is_absolute()
        && !raw
            .components()
            .any(|c| c == std::path::Component::ParentDir))
    .then_some(raw)
}

impl MixCatalogue for Catalogue<'_> {
    type Id = TrackId;

    fn resolve(&self, name: &str) -> Option<TrackId> {
        if !is_absolute_name(name) {
            return self.naming.resolve(self.index, name);
        }
        let id = sonority::Library::track_id(self.index, &absolute_path(name)?)?;
        let path = &self.index.track(id)?.record.file.path;
        self.naming
            .roots()
            .iter()
            .any(|r| path.starts_with(r))
            .then_some(id)
    }

    fn similar(&self, seeds: &[TrackId], n: usize) -> Vec<(TrackId, f32)> {
        let anchors: Vec<Anchor> = seeds.iter().map(|&id| Anchor::Stored(id)).collect();
        self.index
            .rank(&anchors, n, false, None)
            .map(|recs| recs.into_iter().map(|r| (r.track.id, r.score)).collect())
            .unwrap_or_default()
    }

    fn info(&self, id: TrackId) -> Option<TrackFacts> {
        let t = self.index.track(id)?;
        let tags = &t.record.tags;
        Some(TrackFacts {
            title: tags.title.clone(),
            artist: tags.artist.clone(),
            album_artist: tags.album_artist.clone(),
            // An untagged track's album is its folder, as everywhere in sonority.
            album: tags.album.clone().or_else(|| {
                t.record
                    .file
                    .path
                    .parent()
                    .map(|p| format!("dir:{}", p.display()))
            }),
            genre: tags.genre.clone(),
            duration_s: t.record.duration_s,
            bpm: self.tempos.get(&id).copied(),
        })
    }

    fn name(&self, id: TrackId) -> Option<String> {
        let path = &self.index.track(id)?.record.file.path;
        if self.absolute {
            // Lyrion keeps an answer only if the file exists: a CUE sheet's track
            // (`SHEET.cue/trackNNNN`) is not one, and LMS names it by time span instead.
            return (self.naming.roots().iter().any(|r| path.starts_with(r)) && path.is_file())
                .then(|| path.to_str().map(str::to_owned))?;
        }
        self.naming.name_of(path)
    }
}

/// A text answer.
fn text(status: StatusCode, body: String) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        body,
    )
        .into_response()
}

/// One name a line.
fn lines(names: &[String]) -> String {
    let mut s = names.join("\n");
    if !s.is_empty() {
        s.push('\n');
    }
    s
}

/// Runs the mixer on the library's index off the async workers; an empty library answers
/// nothing, as an unknown seed does.
async fn answer(
    state: &Arc<AppState>,
    want_tempos: bool,
    absolute: bool,
    f: impl FnOnce(&Catalogue<'_>) -> Vec<String> + Send + 'static,
) -> Response {
    let state = Arc::clone(state);
    let res = tokio::task::spawn_blocking(move || {
        match state.query(want_tempos, |index, naming, tempos| {
            Ok::<_, sonority::Error>(f(&Catalogue {
                index,
                naming,
                tempos,
                absolute,
            }))
        }) {
            Err(sonority::Error::Query { .. }) => Ok(Vec::new()),
            other => other,
        }
    })
    .await;
    match res {
        Ok(Ok(names)) => text(StatusCode::OK, lines(&names)),
        Ok(Err(e)) => text(
            StatusCode::INTERNAL_SERVER_ERROR,
            crate::error::one_line(&e.to_string()),
        ),
        Err(e) => text(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
    }
}

fn bad(e: impl std::fmt::Display) -> Response {
    text(
        StatusCode::BAD_REQUEST,
        format!(
            "invalid request: {}",
            crate::error::one_line(&e.to_string())
        ),
    )
}

/// `POST /api/mix`: tracks to follow the seeds, with Bliss Mixer's filters.
pub async fn mix(State(state): State<Arc<AppState>>, body: axum::body::Bytes) -> Response {
    let req: MixRequest = match MixRequest::from_json_slice(&body) {
        Ok(r) => r,
        Err(e) => return bad(e),
    };
    if req.tracks.len() > MAX_TRACKS || req.previous.as_ref().is_some_and(|p| p.len() > MAX_TRACKS)
    {
        return bad(format!("at most {MAX_TRACKS} tracks and previous tracks"));
    }
    let month = state.month();
    let tempos = req.maxbpmdiff.is_some_and(|d| d > 0.0);
    let absolute = req.tracks.first().is_some_and(|t| is_absolute_name(t));
    answer(&state, tempos, absolute, move |cat| {
        super::mixer::mix(cat, &req, month, &mut fastrand::Rng::new())
    })
    .await
}

/// `POST /api/list`: the tracks most like one track, with Bliss Mixer's filters.
pub async fn list(State(state): State<Arc<AppState>>, body: axum::body::Bytes) -> Response {
    let req: ListRequest = match ListRequest::from_json_slice(&body) {
        Ok(r) => r,
        Err(e) => return bad(e),
    };
    let tempos = req.maxbpmdiff.is_some_and(|d| d > 0.0);
    let absolute = is_absolute_name(&req.track);
    answer(&state, tempos, absolute, move |cat| {
        super::mixer::list(cat, &req)
    })
    .await
}

/// `GET /api/ready`: the server answers.
pub async fn ready() -> Response {
    text(StatusCode::OK, "ready\n".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lms_urls_and_paths_are_read_safely() {
        assert!(is_absolute_name("file:///m/a.flac") && is_absolute_name("/m/a.flac"));
        assert!(!is_absolute_name("Artist/a.flac"));
        assert_eq!(
            absolute_path("file:///m/Ann%20Example/caf%C3%A9.flac"),
            Some(PathBuf::from("/m/Ann Example/café.flac"))
        );
        assert_eq!(absolute_path("/m/a.flac"), Some(PathBuf::from("/m/a.flac")));
        assert_eq!(absolute_path("file:///m/live.flac#12.5-200.1"), None);
        assert_eq!(absolute_path("file:///m/../etc/passwd"), None);
        assert_eq!(absolute_path("file://relative/x"), None);
    }
}
