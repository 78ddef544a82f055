//! `sonority serve`: the similarity service. A native JSON API under `/v1/` (see
//! `docs/serve.md`, and `/v1/openapi.json` served by the program) and a drop-in for Bliss
//! Mixer (`/api/mix`, `/api/list`, `/api/ready`), so Lyrion's Bliss Mixer plugin can use it.
//!
//! Safe by default: it listens on 127.0.0.1; any other address needs a bearer token
//! (`SONORITY_TOKEN`, or `token` in the configuration's `[serve]`) or an explicit `--no-auth`.
//! Bodies, seed lists, counts and time per request are bounded; names never reach outside the
//! music folders; Ctrl-C and SIGTERM stop it gracefully (requests in flight finish).

mod bliss;
mod mixer;
mod openapi;
mod state;
mod v1;

use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use clap::Args;
use sonority::{Library, StopFlag};
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::timeout::TimeoutLayer;

use crate::args::Settings;
use crate::error::{CliError, Result};
use state::{AppState, Backend};

#[cfg(feature = "postgres")]
fn pg_backend(url: &str, model: &sonority::Model) -> Result<Backend> {
    Ok(Backend::Pg(Box::new(state::pg::PgBackend::connect(
        url,
        model.name(),
    )?)))
}

#[cfg(not(feature = "postgres"))]
fn pg_backend(_: &str, _: &sonority::Model) -> Result<Backend> {
    Err(CliError::option(
        "--postgres",
        "a postgres:// catalogue needs the PostgreSQL client: install with --features postgres",
    ))
}

/// The largest request body, in bytes.
pub const MAX_BODY: usize = 256 * 1024;
/// The longest a request may take.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// `sonority serve`.
#[derive(Args, Debug)]
#[command(
    after_help = "Examples:\n  sonority serve                                   # http://127.0.0.1:12000/v1/...\n  sonority serve --address 0.0.0.0 --port 8080     # needs SONORITY_TOKEN (or --no-auth)\n  sonority serve --bliss-mixer --db FILE --port 12000 --address 127.0.0.1 --logging warn\n  sonority serve --bliss-mixer --db FILE --lms 127.0.0.1:9000   # as Lyrion's Bliss Mixer plugin starts it\n\nRoutes: POST /v1/similar, /v1/playlist, /v1/path, /v1/albums, /v1/index; GET /v1/track?name=,\n/v1/status, /v1/index, /v1/openapi.json; Bliss Mixer: POST /api/mix, /api/list, GET /api/ready."
)]
pub struct ServeArgs {
    /// The address to listen on [config: serve.address; default: 127.0.0.1].
    #[arg(long, short = 'a')]
    pub address: Option<IpAddr>,
    /// The port [config: serve.port; default: 12000, Bliss Mixer's].
    #[arg(long, short = 'p')]
    pub port: Option<u16>,
    /// Listen on any address without a token (prints a warning): anyone who reaches the port
    /// can query the library and start index runs.
    #[arg(long)]
    pub no_auth: bool,
    /// Bliss Mixer compatibility: accepted (its routes are always served).
    #[arg(long)]
    pub bliss_mixer: bool,
    /// Bliss Mixer's analysis weights: accepted, not used (sonority's weights are the model's:
    /// `sonority weights`).
    #[arg(long, value_name = "W")]
    pub weights: Option<String>,
    /// Log level: error, warn, info (one line per request on standard error), debug, trace.
    #[arg(long, short = 'l', default_value = "warn")]
    pub logging: String,
    /// Lyrion Music Server's JSON-RPC address (`HOST:PORT`, port 9000 by default): listen on a
    /// free port and tell LMS which (`blissmixer port`), as Bliss Mixer does.
    #[arg(long, short = 'L', value_name = "HOST:PORT")]
    pub lms: Option<String>,
    /// Answer from a shared PostgreSQL catalogue (`postgres://...`; `--db postgres://...` too)
    /// that workers index into: several servers on several machines can answer from one.
    /// Needs a build with `--features postgres`. Tracks are named as the catalogue names them
    /// (`ROOT_NAME/relative/path`).
    #[arg(long, value_name = "URL")]
    pub postgres: Option<String>,
    /// The month (1-12) Bliss Mixer's `filterxmas` sees, instead of today's (for tests).
    #[arg(long, hide = true, value_parser = clap::value_parser!(u32).range(1..=12))]
    pub month: Option<u32>,
}

/// Runs the server until Ctrl-C or SIGTERM.
///
/// # Errors
/// Options, the library, the address; never a request's error.
pub fn run(s: &Settings, a: &ServeArgs, stop: &StopFlag) -> Result<()> {
    let level = a.logging.to_ascii_lowercase();
    if !["error", "warn", "info", "debug", "trace"].contains(&level.as_str()) {
        return Err(CliError::option(
            "--logging",
            format!("{:?}: one of error, warn, info, debug, trace", a.logging),
        ));
    }
    let verbose = matches!(level.as_str(), "info" | "debug" | "trace");
    let token = std::env::var("SONORITY_TOKEN")
        .ok()
        .or_else(|| s.config.serve.token.clone())
        .filter(|t| !t.is_empty());
    let address = a
        .address
        .or(s.config.serve.address)
        .unwrap_or(IpAddr::from([127, 0, 0, 1]));
    if !address.is_loopback() && token.is_none() {
        if !a.no_auth {
            return Err(CliError::option(
                "--address",
                format!(
                    "{address} is reachable from other machines: set a token (SONORITY_TOKEN or serve.token) or pass --no-auth"
                ),
            ));
        }
        eprintln!(
            "warning: listening on {address} without a token: anyone who reaches it can query the library and start index runs"
        );
    }
    let lms = a.lms.as_deref().map(lms_address).transpose()?;
    let port = if lms.is_some() {
        0
    } else {
        a.port.or(s.config.serve.port).unwrap_or(12_000)
    };
    let model: &'static sonority::Model = Box::leak(Box::new(s.load_model()?));
    let pg_url = a
        .postgres
        .clone()
        .or_else(|| crate::args::is_pg_url(&s.db).then(|| s.db.to_string_lossy().into_owned()));
    let backend = match pg_url {
        Some(url) => pg_backend(&url, model)?,
        None => {
            if !s.db.exists() {
                return Err(CliError::path(
                    &s.db,
                    "no library file: run `sonority index MUSIC_DIR` first",
                ));
            }
            let lib: Library<'static> = s.open(model, false)?;
            Backend::Sqlite(Box::new(lib))
        }
    };
    let state = Arc::new(AppState {
        snapshot: RwLock::new(Arc::new(state::Snapshot {
            index: None,
            naming: state::Naming::Roots(Vec::new()),
            tempos: std::collections::HashMap::new(),
            folders: Vec::new(),
            failures: 0,
        })),
        sqlite: matches!(backend, Backend::Sqlite(_)),
        nudge: Mutex::new(None),
        model,
        db: s.db.clone(),
        job: Arc::default(),
        month: a.month,
        stop: stop.clone(),
        started: Instant::now(),
    });
    AppState::start_refresher(&state, backend)?;
    let app = router(Arc::clone(&state), token, verbose);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| CliError::option("runtime", e.to_string()))?;
    rt.block_on(async move {
        let listener = tokio::net::TcpListener::bind(SocketAddr::new(address, port))
            .await
            .map_err(|e| CliError::option("--address/--port", format!("{address}:{port}: {e}")))?;
        let bound = listener
            .local_addr()
            .map_err(|e| CliError::option("--port", e.to_string()))?;
        // The line scripts and tests wait for.
        eprintln!("listening on http://{bound}");
        if let Some(lms) = lms {
            announce(&lms, bound.port()).await?;
        }
        let stop = stop.clone();
        axum::serve(listener, app)
            .with_graceful_shutdown(async move {
                while !stop.is_stopped() {
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            })
            .await
            .map_err(|e| CliError::option("serve", e.to_string()))
    })?;
    eprintln!("stopped");
    Ok(())
}

/// The routes, with authentication, body limit and time limit.
pub fn router(state: Arc<AppState>, token: Option<String>, verbose: bool) -> Router {
    let api = Router::new()
        .route("/v1/similar", post(v1::similar))
        .route("/v1/playlist", post(v1::playlist))
        .route("/v1/path", post(v1::path))
        .route("/v1/albums", post(v1::albums))
        .route("/v1/track", get(v1::track))
        .route("/v1/status", get(v1::status))
        .route("/v1/index", post(v1::start_index).get(v1::index_progress))
        .route("/v1/openapi.json", get(openapi::document))
        .route("/api/mix", post(bliss::mix))
        .route("/api/list", post(bliss::list))
        .route("/api/ready", get(bliss::ready))
        .with_state(state);
    let auth = Arc::new(Auth { token, verbose });
    api.layer(axum::middleware::from_fn_with_state(auth, guard))
        .layer(RequestBodyLimitLayer::new(MAX_BODY))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            REQUEST_TIMEOUT,
        ))
}

struct Auth {
    token: Option<String>,
    verbose: bool,
}

/// Checks the bearer token (when one is set) and logs the request (`--logging info`).
async fn guard(State(auth): State<Arc<Auth>>, req: Request, next: Next) -> Response {
    if let Some(token) = &auth.token {
        let given = req
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "));
        if !given.is_some_and(|g| constant_time_eq(g.as_bytes(), token.as_bytes())) {
            return (
                StatusCode::UNAUTHORIZED,
                [(header::WWW_AUTHENTICATE, "Bearer")],
                axum::Json(serde_json::json!({"error": {"code": "unauthorized", "message": "a bearer token is required"}})),
            )
                .into_response();
        }
    }
    let (method, uri) = (req.method().clone(), req.uri().path().to_owned());
    let t = Instant::now();
    let res = next.run(req).await;
    if auth.verbose {
        eprintln!(
            "{method} {uri} {} {:.1} ms",
            res.status().as_u16(),
            t.elapsed().as_secs_f64() * 1e3
        );
    }
    res
}

/// Compares without leaking where the first difference is.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// `HOST:PORT` (port 9000, LMS's, when absent).
fn lms_address(s: &str) -> Result<String> {
    let s = s.trim();
    if s.is_empty() || s.contains('/') || s.chars().any(char::is_whitespace) {
        return Err(CliError::option(
            "--lms",
            format!("{s:?}: expected HOST:PORT"),
        ));
    }
    let has_port = s
        .rsplit_once(':')
        .is_some_and(|(h, p)| !h.is_empty() && !h.ends_with(':') && p.parse::<u16>().is_ok());
    Ok(if has_port {
        s.to_owned()
    } else {
        format!("{s}:9000")
    })
}

/// Tells LMS the port, with the JSON-RPC call Bliss Mixer makes
/// (`["blissmixer", "port", "number:PORT"]`).
async fn announce(lms: &str, port: u16) -> Result<()> {
    let url = format!("http://{lms}/jsonrpc.js");
    let body = serde_json::json!({
        "id": 1,
        "method": "slim.request",
        "params": ["", ["blissmixer", "port", format!("number:{port}")]],
    });
    let url2 = url.clone();
    tokio::task::spawn_blocking(move || {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .timeout_global(Some(Duration::from_secs(10)))
            .build()
            .into();
        agent.post(&url2).send_json(&body).map(|_| ())
    })
    .await
    .map_err(|e| CliError::option("--lms", e.to_string()))?
    .map_err(|e| CliError::option("--lms", format!("{url}: {e}")))?;
    eprintln!("told LMS at {lms} the port {port}");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lms_addresses_get_a_port() {
        assert_eq!(
            lms_address("127.0.0.1:9001").ok().as_deref(),
            Some("127.0.0.1:9001")
        );
        assert_eq!(
            lms_address("lms.local").ok().as_deref(),
            Some("lms.local:9000")
        );
        assert!(lms_address("").is_err());
        assert!(lms_address("http://x/").is_err());
    }

    #[test]
    fn tokens_compare_whole() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"ab"));
    }
}
