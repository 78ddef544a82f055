//! The library commands: `index`, `similar`, `playlist`, `path`, `albums`, `status`,
//! `weights`. Each is thin: the work is `sonority::Library`'s.

use std::path::PathBuf;
use std::time::Instant;

use clap::Args;
use serde::Serialize;
use sonority::similarity::{PathConfig, PlaylistConfig, PlaylistMode};
use sonority::{IndexOptions, Model, StopFlag};

use crate::args::{RuleArgs, ScopeArgs, Settings, expand_seeds, index_folder};
use crate::error::{CliError, Result};
use crate::output::{AlbumJson, Document, TrackJson, print_json, print_list, write_m3u};

/// `--m3u` and `--json`.
#[derive(Args, Debug, Clone, Default)]
pub struct OutputArgs {
    /// Also write the list as extended M3U8 to this file.
    #[arg(long, value_name = "OUT.m3u8")]
    pub m3u: Option<PathBuf>,
    /// Print one JSON document on standard output (schema in the README) instead of the list.
    #[arg(long)]
    pub json: bool,
}

/// `sonority index`.
#[derive(Args, Debug)]
#[command(
    after_help = "Examples:\n  sonority index ~/Music\n  sonority index ~/Music /mnt/nas/music --threads 2\n  sonority index            # the folders of the configuration's `music`"
)]
pub struct IndexArgs {
    /// Music folders [default: $SONORITY_MUSIC, else the configuration's `music`].
    pub music_dirs: Vec<PathBuf>,
    /// Worker threads [default: the configuration's `threads`, else every core].
    #[arg(long)]
    pub threads: Option<usize>,
    /// Per-file time limit, in seconds.
    #[arg(long, default_value_t = 600)]
    pub time_limit_s: u64,
    /// Replace the vectors of a same-named model with other weights (analyse every track
    /// again) instead of refusing to mix them.
    #[arg(long)]
    pub reanalyse: bool,
    /// Print the summary as one JSON document.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub pg: crate::pg::PgIndexArgs,
}

/// One folder's indexing run, in `index --json`.
#[derive(Serialize)]
struct IndexJson {
    folder: String,
    found: usize,
    analysed: usize,
    unchanged: usize,
    moved: usize,
    pruned: usize,
    failed: Vec<FailureJson>,
    audio_s: f64,
    elapsed_s: f64,
    stopped: bool,
}

#[derive(Serialize)]
struct FailureJson {
    path: String,
    reason: String,
}

/// Runs `sonority index`.
///
/// # Errors
/// Folder, library and configuration errors; [`CliError::Stopped`] after Ctrl-C.
pub fn index(s: &Settings, a: &IndexArgs, stop: &StopFlag) -> Result<()> {
    if crate::args::is_pg_url(&s.db) {
        return crate::pg::index(s, &a.pg, a.threads, stop);
    }
    if a.pg.any() {
        return Err(CliError::option(
            "--enqueue, --worker, --queue-status",
            "need a shared catalogue: --db postgres://...",
        ));
    }
    let dirs = s.music(&a.music_dirs);
    if dirs.is_empty() {
        return Err(CliError::option(
            "MUSIC_DIR",
            "no music folder: give one, set $SONORITY_MUSIC, or `music` in the configuration",
        ));
    }
    for d in &dirs {
        crate::args::check_folder(d)?;
    }
    let model = s.load_model()?;
    let mut lib = s.open(&model, a.reanalyse)?;
    let mut opts = IndexOptions::default()
        .with_time_limit(std::time::Duration::from_secs(a.time_limit_s.max(1)));
    if let Some(t) = a.threads.or(s.config.threads) {
        opts = opts.with_threads(t);
    }
    let mut runs = Vec::new();
    for d in &dirs {
        let r = index_folder(&mut lib, d, &opts, stop, a.json)?;
        if !a.json && r.analysed + r.failed.len() == 0 {
            eprintln!(
                "{}: up to date ({} tracks unchanged, {} moved, {} pruned)",
                d.display(),
                r.unchanged,
                r.moved,
                r.pruned
            );
        }
        let stopped = r.stopped;
        runs.push(IndexJson {
            folder: d.to_string_lossy().into_owned(),
            found: r.found,
            analysed: r.analysed,
            unchanged: r.unchanged,
            moved: r.moved,
            pruned: r.pruned,
            failed: r
                .failed
                .into_iter()
                .map(|(p, reason)| FailureJson {
                    path: p.to_string_lossy().into_owned(),
                    reason,
                })
                .collect(),
            audio_s: r.audio_s,
            elapsed_s: r.elapsed_s,
            stopped,
        });
        if stopped {
            break;
        }
    }
    if a.json {
        print_json(&serde_json::json!({ "command": "index", "folders": runs }))?;
    }
    if runs.iter().any(|r| r.stopped) {
        return Err(CliError::Stopped);
    }
    Ok(())
}

/// `sonority similar`.
#[derive(Args, Debug)]
#[command(
    after_help = "Examples:\n  sonority similar ~/Music/a/01.flac\n  sonority similar ~/Music/a/01.flac ~/Music/b/03.ogg -k 20 --exclude-album\n  sonority similar song.mp3 --json | jq '.tracks[].path'"
)]
pub struct SimilarArgs {
    /// Anchor tracks (in the library, or any audio file: analysed on the spot); several
    /// anchors act as one seed.
    #[arg(required = true, value_name = "TRACK")]
    pub anchors: Vec<PathBuf>,
    /// Number of tracks.
    #[arg(short, default_value_t = 10)]
    pub k: usize,
    /// Never a track of the anchors' own album.
    #[arg(long)]
    pub exclude_album: bool,
    #[command(flatten)]
    pub scope: ScopeArgs,
    #[command(flatten)]
    pub out: OutputArgs,
    #[command(flatten)]
    pub pg: crate::pg::PgQueryArgs,
}

/// Runs `sonority similar`.
///
/// # Errors
/// Library, analysis and output errors.
pub fn similar(s: &Settings, a: &SimilarArgs, stop: &StopFlag) -> Result<()> {
    if crate::args::is_pg_url(&s.db) {
        return crate::pg::similar(s, &a.pg, &a.anchors, a.k, a.exclude_album, a.out.json);
    }
    let model = s.load_model()?;
    let lib = a.scope.open(s, &model, stop, a.out.json)?;
    let anchors = expand_seeds(&a.anchors)?;
    let t = Instant::now();
    let recs = lib.recommend(&anchors, a.k, a.exclude_album)?;
    let secs = t.elapsed().as_secs_f64();
    if let Some(out) = &a.out.m3u {
        write_m3u(out, &recs.iter().map(|r| &r.track).collect::<Vec<_>>())?;
    }
    if a.out.json {
        return Document::new("similar", &anchors, secs, TrackJson::recommendations(&recs)).print();
    }
    let rows: Vec<_> = recs
        .iter()
        .map(|r| {
            let why: Vec<String> = r
                .explanation
                .iter()
                .filter(|(_, c)| *c > 0.0)
                .take(2)
                .map(|(n, c)| format!("{n} {c:+.2}"))
                .collect();
            let why = if why.is_empty() {
                String::new()
            } else {
                format!("closest in {}", why.join(", "))
            };
            (&r.track, r.score, why)
        })
        .collect();
    print_list(
        &format!(
            "Tracks most like {} ({:.0} ms):",
            names(&anchors),
            secs * 1e3
        ),
        &rows,
    );
    Ok(())
}

fn names(paths: &[PathBuf]) -> String {
    paths
        .iter()
        .map(|p| p.display().to_string())
        .collect::<Vec<_>>()
        .join(" + ")
}

/// `sonority playlist`.
#[derive(Args, Debug)]
#[command(
    after_help = "Examples:\n  sonority playlist ~/Music/a/01.flac -n 30 --max-per-artist 2 --m3u mix.m3u8\n  sonority playlist seeds.m3u8 -n 40 --walk --min-artist-gap 4 --not-genre christmas"
)]
pub struct PlaylistArgs {
    /// Seed tracks or `.m3u`/`.m3u8` playlists (in the library or not).
    #[arg(required = true, value_name = "SEED")]
    pub seeds: Vec<PathBuf>,
    /// Number of tracks.
    #[arg(short, default_value_t = 20)]
    pub n: usize,
    /// Walk: each next track close to the previous one while staying near the seeds.
    #[arg(long)]
    pub walk: bool,
    /// How strongly a walk is pulled back to the seeds, 0 to 1.
    #[arg(long, default_value_t = 0.3)]
    pub seed_weight: f32,
    #[command(flatten)]
    pub rules: RuleArgs,
    #[command(flatten)]
    pub scope: ScopeArgs,
    #[command(flatten)]
    pub out: OutputArgs,
}

/// Runs `sonority playlist`.
///
/// # Errors
/// Library, analysis, option and output errors.
pub fn playlist(s: &Settings, a: &PlaylistArgs, stop: &StopFlag) -> Result<()> {
    if !(0.0..=1.0).contains(&a.seed_weight) {
        return Err(CliError::option("--seed-weight", "must be between 0 and 1"));
    }
    let model = s.load_model()?;
    let lib = a.scope.open(s, &model, stop, a.out.json)?;
    let seeds = expand_seeds(&a.seeds)?;
    let mode = if a.walk {
        PlaylistMode::Walk {
            seed_weight: a.seed_weight,
        }
    } else {
        PlaylistMode::Seeds
    };
    let cfg = PlaylistConfig::new(a.n)
        .with_mode(mode)
        .with_rules(a.rules.rules(&s.config.playlist)?);
    let t = Instant::now();
    let list = lib.playlist(&seeds, &cfg)?;
    let secs = t.elapsed().as_secs_f64();
    if let Some(out) = &a.out.m3u {
        write_m3u(out, &list.iter().map(|t| &t.track).collect::<Vec<_>>())?;
    }
    if a.out.json {
        return Document::new("playlist", &seeds, secs, TrackJson::list(&list)).print();
    }
    let rows: Vec<_> = list
        .iter()
        .map(|t| (&t.track, t.score, String::new()))
        .collect();
    print_list(
        &format!(
            "{} tracks {} from {} seed(s) ({:.0} ms):",
            list.len(),
            if a.walk {
                "walking"
            } else {
                "close to the seeds"
            },
            seeds.len(),
            secs * 1e3
        ),
        &rows,
    );
    Ok(())
}

/// `sonority path`.
#[derive(Args, Debug)]
#[command(
    after_help = "Example:\n  sonority path ~/Music/a/01.flac ~/Music/z/09.flac -n 12 --m3u journey.m3u8"
)]
pub struct PathArgs {
    /// The first track (in the library).
    pub from: PathBuf,
    /// The last track (in the library).
    pub to: PathBuf,
    /// Number of tracks, both ends included.
    #[arg(short, default_value_t = 10)]
    pub n: usize,
    #[command(flatten)]
    pub rules: RuleArgs,
    #[command(flatten)]
    pub scope: ScopeArgs,
    #[command(flatten)]
    pub out: OutputArgs,
}

/// Runs `sonority path`.
///
/// # Errors
/// Library, option and output errors.
pub fn path(s: &Settings, a: &PathArgs, stop: &StopFlag) -> Result<()> {
    if a.n < 2 {
        return Err(CliError::option("-n", "a path has at least its two ends"));
    }
    let model = s.load_model()?;
    let lib = a.scope.open(s, &model, stop, a.out.json)?;
    let cfg = PathConfig::new(a.n).with_rules(a.rules.rules(&s.config.playlist)?);
    let t = Instant::now();
    let list = lib.path(&a.from, &a.to, &cfg)?;
    let secs = t.elapsed().as_secs_f64();
    if let Some(out) = &a.out.m3u {
        write_m3u(out, &list.iter().map(|t| &t.track).collect::<Vec<_>>())?;
    }
    let ends = [a.from.clone(), a.to.clone()];
    if a.out.json {
        return Document::new("path", &ends, secs, TrackJson::list(&list)).print();
    }
    let rows: Vec<_> = list
        .iter()
        .map(|t| (&t.track, t.score, String::new()))
        .collect();
    print_list(
        &format!("A path of {} tracks ({:.0} ms):", list.len(), secs * 1e3),
        &rows,
    );
    Ok(())
}

/// `sonority albums`.
#[derive(Args, Debug)]
#[command(
    after_help = "Example:\n  sonority albums ~/Music/a/01.flac -k 3 --with-self --m3u albums.m3u8"
)]
pub struct AlbumsArgs {
    /// Any track of the album (in the library).
    pub track: PathBuf,
    /// Number of albums.
    #[arg(short, default_value_t = 5)]
    pub k: usize,
    /// Start the album playlist with the album itself.
    #[arg(long)]
    pub with_self: bool,
    #[command(flatten)]
    pub scope: ScopeArgs,
    #[command(flatten)]
    pub out: OutputArgs,
}

/// Runs `sonority albums`.
///
/// # Errors
/// Library and output errors.
pub fn albums(s: &Settings, a: &AlbumsArgs, stop: &StopFlag) -> Result<()> {
    let model = s.load_model()?;
    let lib = a.scope.open(s, &model, stop, a.out.json)?;
    let t = Instant::now();
    let hits = lib.albums(&a.track, a.k, a.with_self)?;
    let secs = t.elapsed().as_secs_f64();
    let playlist: Vec<_> = hits.iter().flat_map(|h| h.tracks.clone()).collect();
    if let Some(out) = &a.out.m3u {
        write_m3u(out, &playlist.iter().map(|t| &t.track).collect::<Vec<_>>())?;
    }
    if a.out.json {
        let mut doc = Document::new(
            "albums",
            std::slice::from_ref(&a.track),
            secs,
            TrackJson::list(&playlist),
        );
        doc.albums = Some(AlbumJson::list(&hits));
        return doc.print();
    }
    println!(
        "Albums most like that of {} ({:.0} ms):",
        a.track.display(),
        secs * 1e3
    );
    for (i, h) in hits.iter().enumerate() {
        println!(
            "{:>3}. {:>5.1}  {}{}  ({} tracks)",
            i + 1,
            sonority::similarity::similarity_0_100(h.score),
            h.name.as_deref().unwrap_or("?"),
            h.artist
                .as_deref()
                .map(|a| format!(" — {a}"))
                .unwrap_or_default(),
            h.tracks.len()
        );
    }
    Ok(())
}

/// `sonority status`.
#[derive(Args, Debug)]
#[command(after_help = "Examples:\n  sonority status\n  sonority status --json | jq .failures")]
pub struct StatusArgs {
    /// Answer for this music folder only (repeatable) [default: $SONORITY_MUSIC, else the
    /// config's `music`, else the whole library].
    #[arg(long, value_name = "DIR")]
    pub music: Vec<PathBuf>,
    /// Print one JSON document.
    #[arg(long)]
    pub json: bool,
}

#[derive(Serialize)]
struct StatusJson {
    command: &'static str,
    db: String,
    model: String,
    fingerprint: String,
    tracks: usize,
    albums: usize,
    hours: f64,
    folders: Vec<FolderJson>,
    last_index_unix_s: Option<i64>,
    failures: Vec<FailureJson>,
}

#[derive(Serialize)]
struct FolderJson {
    path: String,
    indexed_at_unix_s: i64,
}

/// Runs `sonority status`.
///
/// # Errors
/// Library errors (a missing library file is not one: it reads as empty).
pub fn status(s: &Settings, a: &StatusArgs) -> Result<()> {
    let model = s.load_model()?;
    let folders = s.music(&a.music);
    for f in &folders {
        crate::args::check_folder(f)?;
    }
    let lib = s.open(&model, false)?.with_scope(&folders)?;
    let st = lib.status()?;
    let doc = StatusJson {
        command: "status",
        db: st.db.to_string_lossy().into_owned(),
        model: st.model,
        fingerprint: st.fingerprint,
        tracks: st.tracks,
        albums: st.albums,
        hours: st.audio_s / 3600.0,
        last_index_unix_s: st.roots.iter().map(|r| r.indexed_at_s).max(),
        folders: st
            .roots
            .iter()
            .map(|r| FolderJson {
                path: r.path.to_string_lossy().into_owned(),
                indexed_at_unix_s: r.indexed_at_s,
            })
            .collect(),
        failures: st
            .failures
            .iter()
            .map(|f| FailureJson {
                path: f.path.to_string_lossy().into_owned(),
                reason: f.reason.clone(),
            })
            .collect(),
    };
    if a.json {
        return print_json(&doc);
    }
    println!("library   {}", doc.db);
    println!("model     {} ({})", doc.model, &doc.fingerprint);
    println!(
        "tracks    {} in {} albums, {:.1} h of audio{}",
        doc.tracks,
        doc.albums,
        doc.hours,
        if folders.is_empty() {
            String::new()
        } else {
            format!(" (under {})", names(&folders))
        }
    );
    let now = unix_now();
    for f in &doc.folders {
        println!(
            "folder    {} (indexed {})",
            f.path,
            ago(now - f.indexed_at_unix_s)
        );
    }
    if doc.folders.is_empty() {
        println!("folder    none indexed yet: run `sonority index MUSIC_DIR`");
    }
    println!("failures  {}", doc.failures.len());
    for f in &doc.failures {
        println!("  {}: {}", f.path, crate::error::one_line(&f.reason));
    }
    Ok(())
}

fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

/// "5 min ago", "3 h ago", "2 days ago".
fn ago(s: i64) -> String {
    match s.max(0) {
        s if s < 120 => format!("{s} s ago"),
        s if s < 7200 => format!("{} min ago", s / 60),
        s if s < 172_800 => format!("{} h ago", s / 3600),
        s => format!("{} days ago", s / 86_400),
    }
}

/// `sonority weights`.
#[derive(Args, Debug)]
#[command(
    after_help = "Examples:\n  sonority weights --model ~/models/mine tiles=1 timbre=0.7 key=0.25\n  sonority weights --model ~/models/mine      # prints the blocks and their weights\n\nA block's share of the cosine grows with the square of its weight. Vectors already in a\nlibrary were made with the old weights: index again with --reanalyse afterwards."
)]
pub struct WeightsArgs {
    /// `BLOCK=WEIGHT` pairs (blocks: tiles, timbre, key, tempo, rolloff, ...); none prints
    /// the weights.
    #[arg(value_name = "BLOCK=W")]
    pub weights: Vec<String>,
}

/// Runs `sonority weights`: changes the block weights of the model directory given with
/// `--model` (the shipped model is read-only).
///
/// # Errors
/// No `--model`, a malformed pair, an unknown block, a model that cannot be saved.
pub fn weights(s: &Settings, a: &WeightsArgs) -> Result<()> {
    let Some(dir) = &s.model else {
        if a.weights.is_empty() {
            return print_weights(&Model::load_default()?);
        }
        return Err(CliError::option(
            "--model",
            "the shipped model cannot be changed: give a model directory (copy models/default)",
        ));
    };
    let mut model = Model::load(dir)?;
    for w in &a.weights {
        let (name, value) = w
            .split_once('=')
            .ok_or_else(|| CliError::option(w.as_str(), "expected BLOCK=WEIGHT"))?;
        let v: f32 = value
            .trim()
            .parse()
            .ok()
            .filter(|v: &f32| v.is_finite() && *v >= 0.0)
            .ok_or_else(|| {
                CliError::option(w.as_str(), "the weight must be a number, 0 or more")
            })?;
        model.fusion.set_weight(name.trim(), v).map_err(|e| {
            let known: Vec<String> = model
                .fusion
                .layout()
                .blocks
                .iter()
                .map(|b| b.name.clone())
                .collect();
            CliError::option(w.as_str(), format!("{e} (blocks: {})", known.join(", ")))
        })?;
    }
    if !a.weights.is_empty() {
        model.save(dir)?;
    }
    print_weights(&model)
}

fn print_weights(model: &Model) -> Result<()> {
    for b in &model.fusion.layout().blocks {
        println!("{:>8}: {} dims, weight {}", b.name, b.range.len(), b.weight);
    }
    Ok(())
}
