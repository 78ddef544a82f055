//! The options every command shares, resolved against the environment and the configuration
//! file: the library, the model, the music folders, the playlist rules; opening the library and
//! indexing with a progress bar.

use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use sonority::similarity::{Filter, Rules};
use sonority::{IndexOptions, IndexProgress, IndexReport, Library, Model, StopFlag};

use crate::config::{Config, PlaylistDefaults};
use crate::error::{CliError, Result};

/// The most entries read from a seed playlist or an exclusion list.
pub const MAX_LIST_ENTRIES: usize = 1_000_000;

/// Whether a `--db` value is a PostgreSQL URL (a shared catalogue, see `crate::pg`).
pub fn is_pg_url(db: &Path) -> bool {
    db.to_str()
        .is_some_and(|s| s.starts_with("postgres://") || s.starts_with("postgresql://"))
}

/// Options of every command.
#[derive(Args, Debug, Clone, Default)]
pub struct GlobalArgs {
    /// The configuration file [default: $XDG_CONFIG_HOME/sonority/config.toml when it exists].
    #[arg(long, global = true, env = "SONORITY_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// The library file [default: the config's `db`, else
    /// $XDG_DATA_HOME/sonority/library.sqlite].
    #[arg(long, global = true, env = "SONORITY_DB", value_name = "FILE")]
    pub db: Option<PathBuf>,
    /// A model directory made by `sonority-lab`'s `train` [default: the config's `model`,
    /// else the shipped model].
    #[arg(long, global = true, env = "SONORITY_MODEL", value_name = "DIR")]
    pub model: Option<PathBuf>,
}

/// The resolved settings of one run: flags over environment over the configuration file.
#[derive(Debug)]
pub struct Settings {
    /// The configuration file's contents.
    pub config: Config,
    /// The library file.
    pub db: PathBuf,
    /// The model directory, `None` for the shipped model.
    pub model: Option<PathBuf>,
}

impl Settings {
    /// Loads the configuration file and resolves the shared options.
    ///
    /// # Errors
    /// Configuration file errors.
    pub fn resolve(g: &GlobalArgs) -> Result<Self> {
        let config = Config::load(g.config.as_deref())?;
        let db =
            g.db.clone()
                .or_else(|| config.db.clone())
                .unwrap_or_else(crate::config::default_db);
        let model = g.model.clone().or_else(|| config.model.clone());
        Ok(Self { config, db, model })
    }

    /// Loads the model.
    ///
    /// # Errors
    /// A model directory that cannot be loaded.
    pub fn load_model(&self) -> Result<Model> {
        Ok(match &self.model {
            Some(d) => Model::load(d)?,
            None => Model::load_default()?,
        })
    }

    /// Opens the library for `model` (a same-named model with other weights is replaced,
    /// every track analysed again, with `reanalyse`).
    ///
    /// # Errors
    /// A database that cannot be opened, or holds another model's vectors.
    pub fn open<'m>(&self, model: &'m Model, reanalyse: bool) -> Result<Library<'m>> {
        if is_pg_url(&self.db) {
            return Err(CliError::option(
                "--db",
                "a postgres:// catalogue answers `index` and `similar`; the other commands read a library file",
            ));
        }
        if self.db.is_dir() {
            return Err(CliError::path(
                &self.db,
                "is a folder; --db takes the library file",
            ));
        }
        if !reanalyse {
            return Ok(Library::open(&self.db, model)?);
        }
        let (lib, deleted) = Library::open_replacing(&self.db, model)?;
        if deleted > 0 {
            eprintln!(
                "replaced {deleted} vectors of another model named {:?}: every track is analysed again",
                model.name()
            );
        }
        Ok(lib)
    }

    /// The music folders: those given, else `$SONORITY_MUSIC` (colon-separated), else the
    /// configuration's `music`.
    pub fn music(&self, given: &[PathBuf]) -> Vec<PathBuf> {
        if !given.is_empty() {
            return given.to_vec();
        }
        if let Some(v) = std::env::var_os("SONORITY_MUSIC") {
            let dirs: Vec<PathBuf> = std::env::split_paths(&v)
                .filter(|p| !p.as_os_str().is_empty())
                .collect();
            if !dirs.is_empty() {
                return dirs;
            }
        }
        self.config.music.clone()
    }
}

/// Checks that a music folder exists and is a folder.
///
/// # Errors
/// [`CliError::Path`] otherwise.
pub fn check_folder(dir: &Path) -> Result<()> {
    match std::fs::metadata(dir) {
        Ok(m) if m.is_dir() => Ok(()),
        Ok(_) => Err(CliError::path(dir, "is a file, not a music folder")),
        Err(e) => Err(CliError::path(dir, format!("cannot open the folder: {e}"))),
    }
}

/// Which folders a query answers from.
#[derive(Args, Debug, Clone, Default)]
pub struct ScopeArgs {
    /// Answer from this music folder only (repeatable) [default: $SONORITY_MUSIC, else the
    /// config's `music`, else the whole library].
    #[arg(long, value_name = "DIR")]
    pub music: Vec<PathBuf>,
    /// Answer from every folder of the library, whatever `--music` or the configuration say.
    #[arg(long, conflicts_with = "music")]
    pub all_folders: bool,
    /// Index the music folders (incrementally) before answering.
    #[arg(long)]
    pub index: bool,
}

impl ScopeArgs {
    /// Opens the library for `model`, indexes first with `--index`, and restricts it to the
    /// folders asked for.
    ///
    /// # Errors
    /// Library and folder errors; [`CliError::Stopped`] after Ctrl-C while indexing.
    pub fn open<'m>(
        &self,
        s: &Settings,
        model: &'m Model,
        stop: &StopFlag,
        quiet: bool,
    ) -> Result<Library<'m>> {
        let folders = if self.all_folders {
            Vec::new()
        } else {
            s.music(&self.music)
        };
        for f in &folders {
            check_folder(f)?;
        }
        let mut lib = s.open(model, false)?;
        if self.index {
            if folders.is_empty() {
                return Err(CliError::option(
                    "--index",
                    "no music folder: give --music DIR or set `music` in the configuration",
                ));
            }
            for f in &folders {
                let r = index_folder(&mut lib, f, &IndexOptions::default(), stop, quiet)?;
                if r.stopped {
                    return Err(CliError::Stopped);
                }
            }
        }
        Ok(lib.with_scope(&folders)?)
    }
}

/// Indexes one folder with a progress bar on standard error (hidden when it is not a
/// terminal) and prints the summary there when something was analysed or failed.
///
/// # Errors
/// Library errors.
pub fn index_folder(
    lib: &mut Library<'_>,
    dir: &Path,
    opts: &IndexOptions,
    stop: &StopFlag,
    quiet: bool,
) -> Result<IndexReport> {
    check_folder(dir)?;
    let bar = index_bar(quiet);
    let report = lib.index(dir, opts, stop, |p| update_bar(&bar, p))?;
    bar.finish_and_clear();
    if !quiet && report.analysed + report.failed.len() > 0 {
        eprint_summary(dir, &report);
    }
    Ok(report)
}

/// A progress bar for indexing: files, audio hours, rate, ETA.
fn index_bar(quiet: bool) -> ProgressBar {
    if quiet {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(0);
    bar.set_style(
        ProgressStyle::with_template(
            "{spinner} [{elapsed_precise}] {bar:30} {pos}/{len} files, {msg} (ETA {eta})",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    bar.enable_steady_tick(Duration::from_millis(250));
    bar
}

fn update_bar(bar: &ProgressBar, p: &IndexProgress) {
    bar.set_length(p.total as u64);
    bar.set_position(p.done as u64);
    let rate = p.audio_s / bar.elapsed().as_secs_f64().max(1e-3);
    bar.set_message(format!(
        "{:.2} h of audio, {:.0}x real time, {} failed",
        p.audio_s / 3600.0,
        rate,
        p.failed
    ));
}

/// The end-of-run summary, failures included, on standard error.
pub fn eprint_summary(dir: &Path, r: &IndexReport) {
    eprintln!(
        "{}: analysed {} new or changed files ({:.2} h of audio) in {:.1} s ({:.0}x real time); {} unchanged, {} moved, {} pruned, {} failed, {} skipped{}",
        dir.display(),
        r.analysed,
        r.audio_s / 3600.0,
        r.elapsed_s,
        r.audio_s / r.elapsed_s.max(1e-9),
        r.unchanged,
        r.moved,
        r.pruned,
        r.failed.len(),
        r.skipped.len(),
        if r.stopped {
            " (stopped early: the rest is analysed next time)"
        } else {
            ""
        }
    );
    for (path, reason) in &r.failed {
        eprintln!(
            "  failed: {}: {}",
            path.display(),
            crate::error::one_line(reason)
        );
    }
    for s in &r.skipped {
        eprintln!("  skipped: {}: {}", s.path.display(), s.reason);
    }
}

/// Seeds as given: tracks, and `.m3u`/`.m3u8` playlists whose entries are seeds.
///
/// # Errors
/// A seed that does not exist (and is not a CUE track name), or a playlist that cannot be
/// read.
pub fn expand_seeds(seeds: &[PathBuf]) -> Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    for s in seeds {
        // A CUE sheet's track (`SHEET.cue/trackNNNN`) is named under its sheet file.
        if !s.exists() && !s.parent().is_some_and(Path::is_file) {
            return Err(CliError::path(s, "no such file"));
        }
        if sonority::m3u::is_playlist(s) {
            out.extend(sonority::m3u::read_path_list(s, MAX_LIST_ENTRIES)?);
        } else {
            out.push(s.clone());
        }
    }
    if out.is_empty() {
        return Err(CliError::option("SEED", "the seed playlists hold no track"));
    }
    Ok(out)
}

/// Caps, gap, filters and the exclusion list: the playlist rules.
#[derive(Args, Debug, Clone, Default)]
pub struct RuleArgs {
    /// The most tracks of one artist [config: playlist.max_per_artist].
    #[arg(long, value_name = "K")]
    pub max_per_artist: Option<usize>,
    /// The most tracks of one album (an untagged track's album is its folder)
    /// [config: playlist.max_per_album].
    #[arg(long, value_name = "K")]
    pub max_per_album: Option<usize>,
    /// The fewest other tracks between two tracks of one artist [config:
    /// playlist.min_artist_gap; default 0].
    #[arg(long, value_name = "G")]
    pub min_artist_gap: Option<usize>,
    /// Shortest track, in seconds.
    #[arg(long, value_name = "S")]
    pub min_duration: Option<f64>,
    /// Longest track, in seconds.
    #[arg(long, value_name = "S")]
    pub max_duration: Option<f64>,
    /// Only these genres (repeat the option for several; any one matches).
    #[arg(long)]
    pub genre: Vec<String>,
    /// Never these genres (repeatable).
    #[arg(long)]
    pub not_genre: Vec<String>,
    /// Earliest year.
    #[arg(long)]
    pub year_from: Option<i32>,
    /// Latest year.
    #[arg(long)]
    pub year_to: Option<i32>,
    /// Only tracks whose tag NAME equals VALUE (any tag; repeatable).
    #[arg(long, value_name = "NAME=VALUE")]
    pub tag: Vec<String>,
    /// A file of paths never to take (an M3U playlist or one path a line: tracks already
    /// played).
    #[arg(long, value_name = "FILE")]
    pub exclude_list: Option<PathBuf>,
}

impl RuleArgs {
    /// The rules: each flag, else the configuration's default; exclusions by path.
    ///
    /// # Errors
    /// A malformed `--tag`, a negative or non-finite duration, an exclusion list that cannot
    /// be read.
    pub fn rules(&self, d: &PlaylistDefaults) -> Result<Rules<PathBuf>> {
        let gap = self.min_artist_gap.or(d.min_artist_gap).unwrap_or(0);
        let mut rules = Rules::default().with_min_artist_gap(gap);
        rules.max_per_artist = self.max_per_artist.or(d.max_per_artist);
        rules.max_per_album = self.max_per_album.or(d.max_per_album);
        let (min, max) = (
            self.min_duration.or(d.min_duration),
            self.max_duration.or(d.max_duration),
        );
        for (name, v) in [("--min-duration", min), ("--max-duration", max)] {
            if v.is_some_and(|s| !s.is_finite() || s < 0.0) {
                return Err(CliError::option(
                    name,
                    "must be a number of seconds, 0 or more",
                ));
            }
        }
        if min.is_some() || max.is_some() {
            rules = rules.with_filter(Filter::DurationS { min, max });
        }
        if self.year_from.is_some() || self.year_to.is_some() {
            rules = rules.with_filter(Filter::Year {
                min: self.year_from,
                max: self.year_to,
            });
        }
        let genre = if self.genre.is_empty() {
            &d.genre
        } else {
            &self.genre
        };
        if !genre.is_empty() {
            rules = rules.with_filter(Filter::Genre(genre.clone()));
        }
        let not_genre = if self.not_genre.is_empty() {
            &d.not_genre
        } else {
            &self.not_genre
        };
        if !not_genre.is_empty() {
            rules = rules.with_filter(Filter::NotGenre(not_genre.clone()));
        }
        for t in &self.tag {
            let (name, value) = t
                .split_once('=')
                .filter(|(n, _)| !n.trim().is_empty())
                .ok_or_else(|| CliError::option("--tag", format!("{t:?}: expected NAME=VALUE")))?;
            rules = rules.with_filter(Filter::Tag {
                name: name.trim().to_owned(),
                value: value.to_owned(),
            });
        }
        if let Some(list) = &self.exclude_list {
            rules = rules.with_exclude(sonority::m3u::read_path_list(list, MAX_LIST_ENTRIES)?);
        }
        Ok(rules)
    }
}
