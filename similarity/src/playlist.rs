//! Playlists from seeds: the tracks closest to the seed set, or a walk that moves from track
//! to track while staying near the seeds.

use std::hash::Hash;

use crate::constraints::{Picker, Rules, check_meta};
use crate::error::{Error, Result};
use crate::index::VectorIndex;
use crate::kernel::dot;
use crate::meta::TrackMeta;
use crate::query::{AnchorMode, Query};

/// `PlaylistMode` is how a playlist chooses each next track.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
#[non_exhaustive]
pub enum PlaylistMode {
    /// Every track is close to the seed set: tracks in order of their cosine with the mean
    /// direction of the seeds, each the best one the rules allow at its place.
    #[default]
    Seeds,
    /// Each next track is close to the previous one while staying near the seeds: it
    /// maximises `(1 - seed_weight) * cos(previous, t) + seed_weight * cos(seeds, t)`, among
    /// the [`WALK_POOL_PER_TRACK`] × `n` tracks (at least [`WALK_POOL_MIN`]) closest to the
    /// seeds. The first track follows the seeds' mean direction.
    Walk {
        /// How strongly every step is pulled back to the seeds, in `[0, 1]`. `0.3` is a good
        /// start: lower drifts further, higher is close to [`PlaylistMode::Seeds`].
        seed_weight: f32,
    },
}

/// A walk chooses among this many tracks per playlist track closest to the seeds.
pub const WALK_POOL_PER_TRACK: usize = 50;
/// A walk chooses among at least this many tracks closest to the seeds.
pub const WALK_POOL_MIN: usize = 2000;

/// `PlaylistConfig` is what [`playlist`] makes.
///
/// # Examples
///
/// ```
/// use sonority_similarity::{PlaylistConfig, PlaylistMode};
///
/// let cfg = PlaylistConfig::<u32>::new(20)
///     .with_mode(PlaylistMode::Walk { seed_weight: 0.3 });
/// assert_eq!(cfg.n, 20);
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct PlaylistConfig<K> {
    /// The number of tracks wanted (fewer come back when the rules leave fewer).
    pub n: usize,
    /// How each next track is chosen. Default: [`PlaylistMode::Seeds`].
    pub mode: PlaylistMode,
    /// Caps, gaps, filters and exclusions. Default: none beyond the always-on rules.
    pub rules: Rules<K>,
}

impl<K> PlaylistConfig<K> {
    /// A configuration for `n` tracks with the defaults.
    #[must_use]
    pub fn new(n: usize) -> Self {
        Self {
            n,
            mode: PlaylistMode::Seeds,
            rules: Rules::default(),
        }
    }
    /// Sets [`mode`](Self::mode).
    #[must_use]
    pub fn with_mode(mut self, mode: PlaylistMode) -> Self {
        self.mode = mode;
        self
    }
    /// Sets [`rules`](Self::rules).
    #[must_use]
    pub fn with_rules(mut self, rules: Rules<K>) -> Self {
        self.rules = rules;
        self
    }
}

/// `Seeds` is what a playlist is made from: tracks of the index by id, and vectors of tracks
/// outside it.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Seeds<K> {
    /// Seeds in the index: never in the playlist, nor any track with the same content.
    pub ids: Vec<K>,
    /// Vectors of seeds outside the index (put their content labels in
    /// [`Rules::exclude_content`] to keep copies of them out).
    pub vectors: Vec<Vec<f32>>,
}

impl<K> Default for Seeds<K> {
    fn default() -> Self {
        Self {
            ids: Vec::new(),
            vectors: Vec::new(),
        }
    }
}

impl<K> Seeds<K> {
    /// Seeds from ids of the index.
    #[must_use]
    pub fn from_ids(ids: impl IntoIterator<Item = K>) -> Self {
        Self {
            ids: ids.into_iter().collect(),
            vectors: Vec::new(),
        }
    }
    /// Adds a vector of a seed outside the index.
    #[must_use]
    pub fn with_vector(mut self, v: Vec<f32>) -> Self {
        self.vectors.push(v);
        self
    }
}

/// `PlaylistEntry` is one track of a playlist or path.
#[derive(Debug, Clone, PartialEq)]
pub struct PlaylistEntry<K> {
    /// The track's id.
    pub id: K,
    /// Its row in the index.
    pub row: usize,
    /// Its cosine with what it was chosen for: the seeds' mean direction (playlists), its
    /// step's point on the line between the ends (paths; `1.0` for the ends).
    pub score: f32,
}

/// Resolves the seeds into a mean-direction query and their rows.
pub(crate) fn seed_query<K: Clone + Eq + Hash>(
    index: &VectorIndex<K>,
    seeds: &Seeds<K>,
) -> Result<(Query, Vec<usize>)> {
    let mut rows = Vec::with_capacity(seeds.ids.len());
    for (position, id) in seeds.ids.iter().enumerate() {
        rows.push(index.row_of(id).ok_or(Error::UnknownId { position })?);
    }
    let vectors = rows
        .iter()
        .map(|&r| index.row(r))
        .chain(seeds.vectors.iter().map(Vec::as_slice));
    let query = Query::from_anchors(vectors, AnchorMode::Mean)?;
    if query.dim() != index.dim() {
        return Err(Error::DimensionMismatch {
            what: "seed",
            expected: index.dim(),
            actual: query.dim(),
        });
    }
    Ok((query, rows))
}

/// Eligible rows sorted by score, best first (ties by row).
fn by_score(scores: &[f32], keep: impl Fn(usize) -> bool) -> Vec<usize> {
    let mut rows: Vec<usize> = (0..scores.len()).filter(|&r| keep(r)).collect();
    rows.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]).then(a.cmp(&b)));
    rows
}

/// Makes a playlist of up to `cfg.n` tracks from `seeds`.
///
/// `meta[r]` describes row `r` of `index`. Whatever the mode, the playlist never holds a
/// seed, a track with a seed's content, two tracks with one content label, an excluded id or
/// a track failing a filter; it respects the caps per artist and album and the minimum gap
/// between two tracks of one artist. It is greedy: each place takes the best track the
/// rules allow there, and the list ends early when no track is allowed.
///
/// Cost: one dot product per row, a sort of the eligible rows, then at most `n` passes over
/// them (a walk: over its pool, one dot product each).
///
/// # Errors
///
/// [`Error::LengthMismatch`] if `meta` is not one entry per row, [`Error::EmptyQuery`]
/// without seeds, [`Error::UnknownId`] for a seed id not in the index,
/// [`Error::DimensionMismatch`]/[`Error::NonFinite`] for a bad seed vector and
/// [`Error::InvalidConfig`] for a zero cap or a seed weight outside `[0, 1]`.
///
/// # Examples
///
/// ```
/// use sonority_similarity::{PlaylistConfig, Rules, Seeds, TrackMeta, VectorIndex, playlist};
///
/// let index = VectorIndex::from_rows(vec![1, 2, 3, 4], vec![1.0, 0.0, 0.9, 0.1, 0.8, 0.2, 0.0, 1.0], 2)?;
/// let meta = vec![
///     TrackMeta::default().with_artist("A"),
///     TrackMeta::default().with_artist("B"),
///     TrackMeta::default().with_artist("B"),
///     TrackMeta::default().with_artist("C"),
/// ];
/// let cfg = PlaylistConfig::new(2).with_rules(Rules::default().with_max_per_artist(1));
/// let list = playlist(&index, &meta, &Seeds::from_ids([1]), &cfg)?;
/// assert_eq!(list.iter().map(|e| e.id).collect::<Vec<_>>(), vec![2, 4]);
/// # Ok::<(), sonority_similarity::Error>(())
/// ```
pub fn playlist<K: Clone + Eq + Hash>(
    index: &VectorIndex<K>,
    meta: &[TrackMeta],
    seeds: &Seeds<K>,
    cfg: &PlaylistConfig<K>,
) -> Result<Vec<PlaylistEntry<K>>> {
    check_meta(index.len(), meta)?;
    cfg.rules.validate()?;
    let (query, seed_rows) = seed_query(index, seeds)?;
    let mut picker = Picker::new(&cfg.rules, index.ids(), meta, &seed_rows);
    let scores: Vec<f32> = (0..index.len())
        .map(|r| query.score(index.row(r)))
        .collect();
    let ranked = by_score(&scores, |r| picker.eligible(r));
    let entry = |row: usize| PlaylistEntry {
        id: index.ids()[row].clone(),
        row,
        score: scores[row],
    };
    let mut out = Vec::with_capacity(cfg.n.min(ranked.len()));
    match cfg.mode {
        PlaylistMode::Seeds => {
            // `start` skips the prefix of rows already taken, so a long list stays linear
            // when the rules rarely bite.
            let mut start = 0;
            while out.len() < cfg.n {
                while start < ranked.len() && !picker.eligible(ranked[start]) {
                    start += 1;
                }
                let Some(&row) = ranked[start..].iter().find(|&&r| picker.admits(r)) else {
                    break;
                };
                picker.take(row);
                out.push(entry(row));
            }
        }
        PlaylistMode::Walk { seed_weight } => {
            if !(0.0..=1.0).contains(&seed_weight) {
                return Err(Error::InvalidConfig {
                    field: "seed_weight",
                    reason: format!("{seed_weight} is not in [0, 1]"),
                });
            }
            let pool_len = cfg.n.saturating_mul(WALK_POOL_PER_TRACK).max(WALK_POOL_MIN);
            let pool = &ranked[..ranked.len().min(pool_len)];
            let mut previous: &[f32] = query.centroid();
            while out.len() < cfg.n {
                let best = pool
                    .iter()
                    .filter(|&&r| picker.admits(r))
                    .map(|&r| {
                        let step = dot(previous, index.row(r));
                        (r, (1.0 - seed_weight) * step + seed_weight * scores[r])
                    })
                    .max_by(|a, b| a.1.total_cmp(&b.1).then(b.0.cmp(&a.0)));
                let Some((row, _)) = best else { break };
                picker.take(row);
                out.push(entry(row));
                previous = index.row(row);
            }
        }
    }
    Ok(out)
}
