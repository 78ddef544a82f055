//! A path from one track to another in even steps, like bliss-rs's `song_to_song`.

use std::hash::Hash;

use crate::constraints::{Picker, Rules, check_meta};
use crate::error::{Error, Result};
use crate::index::VectorIndex;
use crate::kernel::{dot, normalise};
use crate::meta::TrackMeta;
use crate::playlist::PlaylistEntry;

/// `PathConfig` is what [`path`] makes.
///
/// # Examples
///
/// ```
/// use sonority_similarity::PathConfig;
///
/// assert_eq!(PathConfig::<u32>::new(12).n, 12);
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct PathConfig<K> {
    /// The number of tracks, both ends included (at least 2).
    pub n: usize,
    /// Filters, exclusions and caps (the ends count against the caps). The artist gap is
    /// not applied: a path's order is the order along the line. Default: none.
    pub rules: Rules<K>,
}

impl<K> PathConfig<K> {
    /// A path of `n` tracks with the default rules.
    #[must_use]
    pub fn new(n: usize) -> Self {
        Self {
            n,
            rules: Rules::default(),
        }
    }
    /// Sets [`rules`](Self::rules).
    #[must_use]
    pub fn with_rules(mut self, rules: Rules<K>) -> Self {
        self.rules = rules;
        self
    }
}

/// The progress of a unit row `x` from `a` to `b`: `cos(x, b) - cos(x, a)`.
///
/// It is `cos(a, b) - 1` at `a`, `1 - cos(a, b)` at `b`, and grows along the line from `a`
/// to `b`; a [`path`]'s tracks have non-decreasing progress.
///
/// # Examples
///
/// ```
/// let (a, b) = ([1.0_f32, 0.0], [0.0_f32, 1.0]);
/// assert_eq!(sonority_similarity::path_progress(&a, &b, &a), -1.0);
/// assert_eq!(sonority_similarity::path_progress(&a, &b, &b), 1.0);
/// ```
#[must_use]
pub fn path_progress(a: &[f32], b: &[f32], x: &[f32]) -> f32 {
    dot(x, b) - dot(x, a)
}

/// The unit point at fraction `t` of the line from `a` to `b`.
fn point(a: &[f32], b: &[f32], t: f32) -> Vec<f32> {
    let mut p: Vec<f32> = a
        .iter()
        .zip(b)
        .map(|(x, y)| (1.0 - t) * x + t * y)
        .collect();
    normalise(&mut p);
    p
}

/// Makes a path of up to `cfg.n` tracks from `from` to `to`: `from` first, `to` last, and in
/// between, for each of the `n - 2` even steps along the line from one end's vector to the
/// other's, the allowed track closest to that step's point.
///
/// The middle tracks are taken only among tracks between the ends (whose
/// [`path_progress`] lies between the ends'), then ordered by their progress, so the path
/// moves steadily from `from` to `to`. No track appears twice (by id or by content), neither
/// end's content reappears, and the rules' filters, exclusions and caps hold. When too few
/// tracks lie between the ends, the path is shorter than `n`.
///
/// Cost: one dot product per row, then `n - 2` passes over the rows between the ends.
///
/// # Errors
///
/// [`Error::LengthMismatch`] if `meta` is not one entry per row, [`Error::UnknownId`] for an
/// end not in the index (position 0 for `from`, 1 for `to`), [`Error::InvalidConfig`] for
/// `n < 2`, equal ends or a zero cap.
///
/// # Examples
///
/// ```
/// use sonority_similarity::{PathConfig, TrackMeta, VectorIndex, path};
///
/// let rows = vec![1.0, 0.0, 0.0, 1.0, 0.7, 0.7, 0.9, 0.3, 0.3, 0.9, -1.0, 0.0];
/// let index = VectorIndex::from_rows(vec![0, 1, 2, 3, 4, 5], rows, 2)?;
/// let meta = vec![TrackMeta::default(); 6];
/// let p = path(&index, &meta, &0, &1, &PathConfig::new(5))?;
/// assert_eq!(p.iter().map(|e| e.id).collect::<Vec<_>>(), vec![0, 3, 2, 4, 1]);
/// # Ok::<(), sonority_similarity::Error>(())
/// ```
pub fn path<K: Clone + Eq + Hash>(
    index: &VectorIndex<K>,
    meta: &[TrackMeta],
    from: &K,
    to: &K,
    cfg: &PathConfig<K>,
) -> Result<Vec<PlaylistEntry<K>>> {
    check_meta(index.len(), meta)?;
    cfg.rules.validate()?;
    if cfg.n < 2 {
        return Err(Error::InvalidConfig {
            field: "n",
            reason: format!("a path has at least its two ends, not {}", cfg.n),
        });
    }
    let ra = index.row_of(from).ok_or(Error::UnknownId { position: 0 })?;
    let rb = index.row_of(to).ok_or(Error::UnknownId { position: 1 })?;
    if ra == rb {
        return Err(Error::InvalidConfig {
            field: "to",
            reason: "a path needs two different ends".into(),
        });
    }
    let (a, b) = (index.row(ra), index.row(rb));
    let mut rules = cfg.rules.clone();
    rules.min_artist_gap = 0;
    let mut picker = Picker::new(&rules, index.ids(), meta, &[ra, rb]);
    picker.take(ra);
    picker.take(rb);
    let (pa, pb) = (path_progress(a, b, a), path_progress(a, b, b));
    let progress: Vec<f32> = (0..index.len())
        .map(|r| path_progress(a, b, index.row(r)))
        .collect();
    let between: Vec<usize> = (0..index.len())
        .filter(|&r| picker.eligible(r) && (pa..=pb).contains(&progress[r]))
        .collect();
    let steps = cfg.n - 1;
    let target = |i: usize| point(a, b, i as f32 / steps as f32);
    let mut middle = Vec::with_capacity(cfg.n - 2);
    for i in 1..steps {
        let t = target(i);
        let best = between
            .iter()
            .filter(|&&r| picker.admits(r))
            .map(|&r| (r, dot(&t, index.row(r))))
            .max_by(|x, y| x.1.total_cmp(&y.1).then(y.0.cmp(&x.0)));
        let Some((row, _)) = best else { break };
        picker.take(row);
        middle.push(row);
    }
    middle.sort_by(|&x, &y| progress[x].total_cmp(&progress[y]).then(x.cmp(&y)));
    let entry = |row: usize, score: f32| PlaylistEntry {
        id: index.ids()[row].clone(),
        row,
        score,
    };
    let mut out = Vec::with_capacity(middle.len() + 2);
    out.push(entry(ra, 1.0));
    let last = middle.len() + 1;
    for (i, &row) in middle.iter().enumerate() {
        let t = point(a, b, (i + 1) as f32 / last as f32);
        out.push(entry(row, dot(&t, index.row(row))));
    }
    out.push(entry(rb, 1.0));
    Ok(out)
}
