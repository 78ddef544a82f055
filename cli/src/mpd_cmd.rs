//! `sonority mpd`: MPD's queue filled with similar songs (`queue`), kept playing (`radio`),
//! MPD's music indexed (`index`, `--watch`).
//!
//! MPD names songs by their path relative to its `music_directory` (a CUE sheet's tracks as
//! `DIR/SHEET.cue/trackNNNN`, which is also how the library names them). The library answers
//! only from tracks under that directory, so every song it proposes is one MPD can play.

use std::collections::{HashSet, VecDeque};
use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::{Args, Subcommand};
use sonority::similarity::{PathConfig, PlaylistConfig};
use sonority::{IndexOptions, Library, StopFlag};

use crate::args::{RuleArgs, Settings, index_folder};
use crate::error::{CliError, Result};
use crate::mpd::{Mpd, MpdError, MpdTarget, Subsystem};
use crate::output::{Document, TrackJson};

/// `sonority mpd`.
#[derive(Args, Debug)]
pub struct MpdArgs {
    /// MPD's host: `host`, `password@host`, a Unix socket path or `@abstract` socket
    /// [env: MPD_HOST; config: mpd.host; default: $XDG_RUNTIME_DIR/mpd/socket or
    /// /run/mpd/socket when one exists, else localhost].
    #[arg(long, global = true, value_name = "HOST")]
    pub host: Option<String>,
    /// MPD's port [env: MPD_PORT; config: mpd.port; default: 6600].
    #[arg(long, global = true, value_name = "PORT")]
    pub port: Option<u16>,
    /// MPD's `music_directory` [env: SONORITY_MPD_MUSIC_DIR; config: mpd.music_directory;
    /// default: asked from MPD, which answers over a local socket only].
    #[arg(long, global = true, value_name = "DIR")]
    pub mpd_music_dir: Option<PathBuf>,
    #[command(subcommand)]
    pub command: MpdCommand,
}

/// The MPD commands.
#[derive(Subcommand, Debug)]
pub enum MpdCommand {
    /// After the playing song, N songs like it (the rest of the queue is replaced).
    Queue(QueueArgs),
    /// Stay running: whenever few songs remain after the playing one, add similar ones.
    Radio(RadioArgs),
    /// Index MPD's music directory; `--watch` re-indexes after each MPD database update.
    Index(MpdIndexArgs),
}

/// `sonority mpd queue`.
#[derive(Args, Debug)]
#[command(
    after_help = "Examples:\n  sonority mpd queue -n 20\n  sonority mpd queue -n 30 --keep-current-queue --max-per-artist 2 --min-artist-gap 3\n  sonority mpd queue --from-song 'Artist/Album/01.flac' --dry-run\n  sonority mpd queue --path-to 'Other/Album/07.flac' -n 12\n\nSongs are named as MPD names them: relative to its music directory."
)]
pub struct QueueArgs {
    /// Number of songs to add.
    #[arg(short, default_value_t = 20)]
    pub n: usize,
    /// Seed with this song instead of the playing one (MPD's name for it, or its path).
    #[arg(long, value_name = "SONG")]
    pub from_song: Option<PathBuf>,
    /// Seed with every song of the queue.
    #[arg(long, conflicts_with_all = ["from_song", "path_to"])]
    pub seeds_from_queue: bool,
    /// A path from the playing song (or `--from-song`) to this song, in even steps.
    #[arg(long, value_name = "SONG")]
    pub path_to: Option<PathBuf>,
    /// Append after the whole queue instead of replacing what follows the playing song.
    #[arg(long)]
    pub keep_current_queue: bool,
    /// Print the songs (the seed song first, then those that would be added, as MPD names
    /// them) and change nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Print one JSON document (as `playlist --json`) of the songs added.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub rules: RuleArgs,
}

/// `sonority mpd radio`.
#[derive(Args, Debug)]
#[command(
    after_help = "Example:\n  sonority mpd radio --min-queued 3 -n 10 --max-per-artist 2\n\nRuns until Ctrl-C; reconnects (with back-off) when MPD restarts."
)]
pub struct RadioArgs {
    /// Top up when fewer songs than this remain after the playing one.
    #[arg(long, default_value_t = 3)]
    pub min_queued: usize,
    /// Songs added at each top-up.
    #[arg(short, default_value_t = 10)]
    pub n: usize,
    /// Seed with this many of the songs played last.
    #[arg(long, default_value_t = 5)]
    pub seeds: usize,
    /// Never add again a song among this many played last.
    #[arg(long, default_value_t = 200)]
    pub history: usize,
    #[command(flatten)]
    pub rules: RuleArgs,
}

/// `sonority mpd index`.
#[derive(Args, Debug)]
#[command(
    after_help = "Examples:\n  sonority mpd index\n  sonority mpd index --watch     # stays running; re-indexes after each `mpc update`"
)]
pub struct MpdIndexArgs {
    /// Stay running and index again whenever MPD's database changes.
    #[arg(long)]
    pub watch: bool,
    /// Worker threads [default: the configuration's `threads`, else every core].
    #[arg(long)]
    pub threads: Option<usize>,
}

/// Runs `sonority mpd ...` on a single-threaded runtime.
///
/// # Errors
/// MPD, library and option errors.
pub fn run(s: &Settings, a: &MpdArgs, stop: &StopFlag) -> Result<()> {
    let port = match (a.port, std::env::var("MPD_PORT").ok()) {
        (Some(p), _) => Some(p),
        (None, Some(p)) if !p.is_empty() => Some(
            p.parse()
                .map_err(|_| CliError::option("MPD_PORT", format!("{p:?} is not a port")))?,
        ),
        _ => s.config.mpd.port,
    };
    let host = a
        .host
        .clone()
        .or_else(|| std::env::var("MPD_HOST").ok().filter(|h| !h.is_empty()))
        .or_else(|| s.config.mpd.host.clone())
        // A port alone names a TCP MPD on localhost.
        .or_else(|| port.is_none().then(default_socket).flatten());
    let target = MpdTarget::resolve(host.as_deref(), port);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| CliError::option("runtime", e.to_string()))?;
    rt.block_on(async {
        match &a.command {
            MpdCommand::Queue(q) => queue(s, a, &target, q).await,
            MpdCommand::Radio(r) => radio(s, a, &target, r, stop).await,
            MpdCommand::Index(i) => index(s, a, &target, i, stop).await,
        }
    })
}

/// Where nothing names MPD: its usual local sockets, as libmpdclient looks for them
/// (`$XDG_RUNTIME_DIR/mpd/socket` for a user's MPD, then `/run/mpd/socket`), when one exists;
/// else `localhost:6600`. A local socket also lets MPD tell its music directory.
fn default_socket() -> Option<String> {
    let user = std::env::var_os("XDG_RUNTIME_DIR").map(|d| PathBuf::from(d).join("mpd/socket"));
    user.into_iter()
        .chain([PathBuf::from("/run/mpd/socket")])
        .find(|p| p.exists())
        .and_then(|p| p.to_str().map(str::to_owned))
}

/// MPD's music directory, canonical: the option, the environment, the configuration, else
/// MPD's answer.
async fn music_dir(s: &Settings, a: &MpdArgs, mpd: &Mpd) -> Result<PathBuf> {
    let given = a
        .mpd_music_dir
        .clone()
        .or_else(|| std::env::var_os("SONORITY_MPD_MUSIC_DIR").map(PathBuf::from))
        .or_else(|| s.config.mpd.music_directory.clone());
    let dir = match given {
        Some(d) => d,
        None => mpd.music_directory().await?.ok_or_else(|| {
            CliError::option(
                "--mpd-music-dir",
                "MPD tells its music directory over a local socket only: give --mpd-music-dir or set mpd.music_directory in the configuration",
            )
        })?,
    };
    crate::args::check_folder(&dir)?;
    std::fs::canonicalize(&dir).map_err(|e| CliError::path(&dir, e.to_string()))
}

/// MPD's name of a library path (relative to the music directory, `/`-separated).
fn uri_of(music: &Path, path: &Path) -> Option<String> {
    let rel = path.strip_prefix(music).ok()?;
    let parts: Option<Vec<&str>> = rel.components().map(|c| c.as_os_str().to_str()).collect();
    parts.map(|p| p.join("/")).filter(|u| !u.is_empty())
}

/// A song as the user names it: MPD's name (relative to the music directory) or a path.
fn song_path(music: &Path, song: &Path) -> PathBuf {
    if song.is_absolute() {
        return song.to_path_buf();
    }
    let under = music.join(song);
    if under.exists() || !song.exists() {
        under
    } else {
        song.to_path_buf()
    }
}

fn canonical(p: &Path) -> PathBuf {
    std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf())
}

/// Opens the library for MPD's music: it answers from the music directory only.
fn open_library<'m>(s: &Settings, model: &'m sonority::Model, music: &Path) -> Result<Library<'m>> {
    Ok(s.open(model, false)?.with_scope(&[music.to_path_buf()])?)
}

/// The songs to add: a playlist from the seeds, or a path to `--path-to`.
fn choose(
    lib: &Library<'_>,
    s: &Settings,
    rules: &RuleArgs,
    seeds: &[PathBuf],
    path_to: Option<&Path>,
    n: usize,
    exclude: impl IntoIterator<Item = PathBuf>,
) -> Result<Vec<sonority::ranking::PlaylistTrack>> {
    let rules = rules.rules(&s.config.playlist)?;
    match (path_to, seeds) {
        (Some(to), [from, ..]) => {
            // `n` songs after the seed: a path of n + 1 with the seed first. Its ends are
            // never excluded (the seed is in the queue, playing).
            let (f, t) = (canonical(from), canonical(to));
            let exclude = exclude
                .into_iter()
                .filter(|p| canonical(p) != f && canonical(p) != t);
            let cfg = PathConfig::new(n + 1).with_rules(rules.with_exclude(exclude));
            Ok(lib.path(from, to, &cfg)?.into_iter().skip(1).collect())
        }
        _ => Ok(lib.playlist(
            seeds,
            &PlaylistConfig::new(n).with_rules(rules.with_exclude(exclude)),
        )?),
    }
}

async fn queue(s: &Settings, a: &MpdArgs, target: &MpdTarget, q: &QueueArgs) -> Result<()> {
    let mut mpd = Mpd::connect(target).await?;
    let music = music_dir(s, a, &mpd).await?;
    let model = s.load_model()?;
    let lib = open_library(s, &model, &music)?;
    let queue = mpd.queue().await?;
    let current = mpd.current().await?;
    let seeds: Vec<PathBuf> = if let Some(song) = &q.from_song {
        vec![song_path(&music, song)]
    } else if q.seeds_from_queue {
        if queue.is_empty() {
            return Err(CliError::option(
                "--seeds-from-queue",
                "MPD's queue is empty",
            ));
        }
        queue.iter().map(|e| music.join(&e.uri)).collect()
    } else {
        match &current {
            Some(c) => vec![music.join(&c.uri)],
            None => {
                return Err(CliError::option(
                    "mpd queue",
                    "MPD plays no song: start one, or give --from-song SONG",
                ));
            }
        }
    };
    let path_to = q.path_to.as_ref().map(|p| song_path(&music, p));
    let exclude = queue
        .iter()
        .map(|e| music.join(&e.uri))
        .chain(seeds.iter().cloned());
    let t = std::time::Instant::now();
    let list = choose(&lib, s, &q.rules, &seeds, path_to.as_deref(), q.n, exclude)?;
    let secs = t.elapsed().as_secs_f64();
    let uris: Vec<String> = list
        .iter()
        .filter_map(|t| uri_of(&music, &t.track.record.file.path))
        .collect();
    if q.json {
        Document::new("mpd queue", &seeds, secs, TrackJson::list(&list)).print()?;
    }
    if q.dry_run {
        if !q.json {
            let first = seeds
                .first()
                .and_then(|p| uri_of(&music, &std::fs::canonicalize(p).unwrap_or(p.clone())));
            for u in first.iter().chain(&uris) {
                println!("{u}");
            }
        }
        return Ok(());
    }
    if q.keep_current_queue {
        mpd.append(&uris).await?;
    } else {
        mpd.replace_after_current(&uris).await?;
    }
    if !q.json {
        eprintln!("added {} songs to MPD's queue ({target})", uris.len());
    }
    Ok(())
}

/// Waits until `stop` is raised.
async fn stopped(stop: &StopFlag) {
    while !stop.is_stopped() {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Connects, retrying with back-off (1 s doubling to 30 s) while MPD is away; `None` once
/// stopped. A wrong password is not retried.
async fn connect_retrying(target: &MpdTarget, stop: &StopFlag) -> Result<Option<Mpd>> {
    let mut wait = Duration::from_secs(1);
    loop {
        if stop.is_stopped() {
            return Ok(None);
        }
        match Mpd::connect(target).await {
            Ok(m) => return Ok(Some(m)),
            Err(e @ MpdError::WrongPassword { .. }) => return Err(e.into()),
            Err(e) => {
                eprintln!(
                    "{}; retrying in {} s",
                    crate::error::one_line(&e.to_string()),
                    wait.as_secs()
                );
                tokio::select! {
                    () = tokio::time::sleep(wait) => {}
                    () = stopped(stop) => return Ok(None),
                }
                wait = (wait * 2).min(Duration::from_secs(30));
            }
        }
    }
}

async fn radio(
    s: &Settings,
    a: &MpdArgs,
    target: &MpdTarget,
    r: &RadioArgs,
    stop: &StopFlag,
) -> Result<()> {
    if r.n == 0 {
        return Err(CliError::option("-n", "must be at least 1"));
    }
    let model = s.load_model()?;
    let mut played: VecDeque<String> = VecDeque::new();
    let mut lib: Option<(PathBuf, Library<'_>)> = None;
    while let Some(mut mpd) = connect_retrying(target, stop).await? {
        let music = music_dir(s, a, &mpd).await?;
        if lib.as_ref().is_none_or(|(m, _)| *m != music) {
            lib = Some((music.clone(), open_library(s, &model, &music)?));
        }
        let Some((_, library)) = lib.as_ref() else {
            continue;
        };
        eprintln!(
            "radio: connected to {target}; keeping {} songs queued",
            r.min_queued
        );
        loop {
            match top_up(&mut mpd, library, s, r, &music, &mut played).await {
                Ok(added) if added > 0 => eprintln!("radio: added {added} songs"),
                Ok(_) => {}
                Err(CliError::Mpd(MpdError::ConnectionClosed { .. } | MpdError::Io { .. })) => {
                    break;
                }
                Err(e) => eprintln!("radio: {}", crate::error::one_line(&e.to_string())),
            }
            tokio::select! {
                ev = mpd.next_event(&[Subsystem::Player, Subsystem::Queue]) => if let Err(e) = ev {
                    eprintln!("radio: {}; reconnecting", crate::error::one_line(&e.to_string()));
                    break;
                },
                () = stopped(stop) => return Ok(()),
            }
        }
    }
    Ok(())
}

/// Adds `r.n` songs when fewer than `r.min_queued` follow the playing one; returns how many.
async fn top_up(
    mpd: &mut Mpd,
    lib: &Library<'_>,
    s: &Settings,
    r: &RadioArgs,
    music: &Path,
    played: &mut VecDeque<String>,
) -> Result<usize> {
    let queue = mpd.queue().await?;
    let current = mpd.current().await?;
    if let Some(c) = &current
        && played.back() != Some(&c.uri)
    {
        played.push_back(c.uri.clone());
        while played.len() > r.history.max(r.seeds).max(1) {
            played.pop_front();
        }
    }
    let remaining = match &current {
        Some(c) => queue.len().saturating_sub(c.position + 1),
        None => queue.len(),
    };
    if remaining >= r.min_queued {
        return Ok(0);
    }
    let mut seeds: Vec<PathBuf> = played
        .iter()
        .rev()
        .take(r.seeds.max(1))
        .map(|u| music.join(u))
        .collect();
    if seeds.is_empty() {
        match queue.last() {
            Some(e) => seeds.push(music.join(&e.uri)),
            // Nothing played yet and nothing queued: wait for the listener's first song.
            None => return Ok(0),
        }
    }
    let exclude: HashSet<PathBuf> = queue
        .iter()
        .map(|e| music.join(&e.uri))
        .chain(played.iter().map(|u| music.join(u)))
        .collect();
    let list = choose(lib, s, &r.rules, &seeds, None, r.n, exclude)?;
    let uris: Vec<String> = list
        .iter()
        .filter_map(|t| uri_of(music, &t.track.record.file.path))
        .collect();
    mpd.append(&uris).await?;
    Ok(uris.len())
}

async fn index(
    s: &Settings,
    a: &MpdArgs,
    target: &MpdTarget,
    i: &MpdIndexArgs,
    stop: &StopFlag,
) -> Result<()> {
    let model = s.load_model()?;
    let mut opts = IndexOptions::default();
    if let Some(t) = i.threads.or(s.config.threads) {
        opts = opts.with_threads(t);
    }
    let mut lib: Option<(PathBuf, Library<'_>)> = None;
    loop {
        let mpd = if i.watch {
            match connect_retrying(target, stop).await? {
                Some(m) => m,
                None => return Ok(()),
            }
        } else {
            Mpd::connect(target).await?
        };
        let music = music_dir(s, a, &mpd).await?;
        if lib.as_ref().is_none_or(|(m, _)| *m != music) {
            lib = Some((music.clone(), s.open(&model, false)?));
        }
        let Some((_, library)) = lib.as_mut() else {
            continue;
        };
        let report = index_folder(library, &music, &opts, stop, false)?;
        if report.analysed + report.failed.len() == 0 {
            eprintln!(
                "{}: up to date ({} tracks)",
                music.display(),
                report.unchanged
            );
        }
        if report.stopped {
            return Err(CliError::Stopped);
        }
        if !i.watch {
            return Ok(());
        }
        eprintln!("watching MPD's database ({target}); Ctrl-C to stop");
        let mut mpd = mpd;
        loop {
            tokio::select! {
                ev = mpd.next_event(&[Subsystem::Database]) => match ev {
                    Ok(_) => {
                        let report = index_folder(library, &music, &opts, stop, false)?;
                        if report.stopped {
                            return Err(CliError::Stopped);
                        }
                    }
                    Err(e) => {
                        eprintln!("{}; reconnecting", crate::error::one_line(&e.to_string()));
                        break;
                    }
                },
                () = stopped(stop) => return Ok(()),
            }
        }
    }
}
