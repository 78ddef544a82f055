//! The options every library command shares (`--db`, `--model`, `--reanalyse`, `--no-index`),
//! indexing with a progress bar, seeds from files and playlists, and the playlist rules.

use std::path::{Path, PathBuf};

use clap::Args;
use sonority::similarity::{Filter, Rules};
use sonority::store::TrackId;
use sonority::{CatalogueIndex, IndexOptions, Library, Model, StopFlag};

/// The most entries read from a seed playlist or an exclusion list.
pub const MAX_LIST_ENTRIES: usize = 1_000_000;

/// `--db`, `--model`, `--reanalyse`, `--no-index`.
#[derive(Args, Debug, Clone)]
pub struct LibraryArgs {
    /// The database (default: $SONORITY_DB or ~/.local/share/sonority/library.sqlite).
    #[arg(long)]
    pub db: Option<PathBuf>,
    /// A model directory made by the `train` example (default: the shipped model).
    #[arg(long)]
    pub model: Option<PathBuf>,
    /// Replace the vectors of a same-named model with other weights (analyse every track
    /// again) instead of refusing to mix them.
    #[arg(long)]
    pub reanalyse: bool,
    /// Skip the indexing step and use what the database holds.
    #[arg(long)]
    pub no_index: bool,
}

impl LibraryArgs {
    /// Loads the model.
    pub fn model(&self) -> Result<Model, sonority::Error> {
        super::load_model(self.model.as_ref())
    }

    /// Opens the library and indexes `music_dir` (unless `--no-index`), with a progress bar
    /// on standard error and the summary when something was analysed or failed.
    pub fn open<'m>(
        &self,
        model: &'m Model,
        music_dir: &Path,
    ) -> Result<Library<'m>, Box<dyn std::error::Error>> {
        let db = self.db.clone().unwrap_or_else(super::default_db);
        let mut lib = super::open_library(&db, model, self.reanalyse)?;
        if !self.no_index {
            let stop = StopFlag::new();
            let handler_stop = stop.clone();
            ctrlc::set_handler(move || handler_stop.stop())?;
            let bar = super::index_bar();
            let report = lib.index(music_dir, &IndexOptions::default(), &stop, |p| {
                super::update_bar(&bar, p)
            })?;
            bar.finish_and_clear();
            if report.analysed + report.failed.len() > 0 {
                super::print_summary_to_stderr(&report);
            }
        }
        Ok(lib)
    }
}

/// Seeds as given: tracks, and `.m3u`/`.m3u8` playlists whose entries are seeds.
pub fn expand_seeds(seeds: &[PathBuf]) -> Result<Vec<PathBuf>, sonority::Error> {
    let mut out = Vec::new();
    for s in seeds {
        if sonority::m3u::is_playlist(s) {
            out.extend(sonority::m3u::read_path_list(s, MAX_LIST_ENTRIES)?);
        } else {
            out.push(s.clone());
        }
    }
    Ok(out)
}

/// Caps, gap, filters and the exclusion list.
#[derive(Args, Debug, Clone, Default)]
pub struct RuleArgs {
    /// The most tracks of one artist.
    #[arg(long)]
    pub max_per_artist: Option<usize>,
    /// The most tracks of one album (an untagged track's album is its folder).
    #[arg(long)]
    pub max_per_album: Option<usize>,
    /// The fewest other tracks between two tracks of one artist.
    #[arg(long, default_value_t = 0)]
    pub min_artist_gap: usize,
    /// Shortest track, in seconds.
    #[arg(long)]
    pub min_duration: Option<f64>,
    /// Longest track, in seconds.
    #[arg(long)]
    pub max_duration: Option<f64>,
    /// Only these genres (repeat the option for several; any one matches).
    #[arg(long)]
    pub genre: Vec<String>,
    /// Never these genres.
    #[arg(long)]
    pub not_genre: Vec<String>,
    /// Earliest year.
    #[arg(long)]
    pub year_from: Option<i32>,
    /// Latest year.
    #[arg(long)]
    pub year_to: Option<i32>,
    /// Only tracks whose tag NAME equals VALUE, as NAME=VALUE (any tag; repeatable).
    #[arg(long, value_name = "NAME=VALUE")]
    pub tag: Vec<String>,
    /// A file of paths never to take (an M3U playlist or one path a line: tracks already
    /// played).
    #[arg(long, value_name = "FILE")]
    pub exclude_list: Option<PathBuf>,
}

impl RuleArgs {
    /// The rules, with the exclusion list resolved to the catalogue's ids.
    pub fn rules(
        &self,
        index: &CatalogueIndex,
    ) -> Result<Rules<TrackId>, Box<dyn std::error::Error>> {
        let mut rules = Rules::default().with_min_artist_gap(self.min_artist_gap);
        rules.max_per_artist = self.max_per_artist;
        rules.max_per_album = self.max_per_album;
        if self.min_duration.is_some() || self.max_duration.is_some() {
            rules = rules.with_filter(Filter::DurationS {
                min: self.min_duration,
                max: self.max_duration,
            });
        }
        if self.year_from.is_some() || self.year_to.is_some() {
            rules = rules.with_filter(Filter::Year {
                min: self.year_from,
                max: self.year_to,
            });
        }
        if !self.genre.is_empty() {
            rules = rules.with_filter(Filter::Genre(self.genre.clone()));
        }
        if !self.not_genre.is_empty() {
            rules = rules.with_filter(Filter::NotGenre(self.not_genre.clone()));
        }
        for t in &self.tag {
            let (name, value) = t
                .split_once('=')
                .ok_or_else(|| format!("--tag {t:?}: expected NAME=VALUE"))?;
            rules = rules.with_filter(Filter::Tag {
                name: name.to_owned(),
                value: value.to_owned(),
            });
        }
        if let Some(list) = &self.exclude_list {
            let paths = sonority::m3u::read_path_list(list, MAX_LIST_ENTRIES)?;
            rules = rules.with_exclude(paths.iter().filter_map(|p| Library::track_id(index, p)));
        }
        Ok(rules)
    }
}
