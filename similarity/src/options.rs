//! What a ranking returns ([`Hit`]) and how it is asked for ([`RankOptions`]).

use std::collections::HashSet;
use std::fmt;
use std::sync::Arc;

/// A caller-supplied exclusion test: returns `true` for ids that must not be returned.
pub type ExcludeFn<K> = Arc<dyn Fn(&K) -> bool + Send + Sync>;

/// Maps a cosine in `[-1, 1]` to a similarity a person can read, on `0..=100`.
///
/// The mapping is linear, `50 * (1 + cosine)`, clamped: opposite vectors give 0, orthogonal
/// (unrelated) ones 50, identical directions 100. It is monotone, so it never changes an
/// order, and it is invertible (`cosine = similarity / 50 - 1`).
///
/// # Examples
///
/// ```
/// use sonority_similarity::similarity_0_100;
///
/// assert_eq!(similarity_0_100(1.0), 100.0);
/// assert_eq!(similarity_0_100(0.0), 50.0);
/// assert_eq!(similarity_0_100(-1.0), 0.0);
/// ```
#[must_use]
pub fn similarity_0_100(cosine: f32) -> f32 {
    (50.0 * (1.0 + cosine)).clamp(0.0, 100.0)
}

/// `Hit` is one ranked result.
#[derive(Debug, Clone, PartialEq)]
pub struct Hit<K> {
    /// The caller's id of the row.
    pub id: K,
    /// The row in the index.
    pub row: usize,
    /// The query's cosine score for the row (see [`Query::score`](crate::Query::score)).
    pub score: f32,
    /// [`similarity_0_100`] of `score`.
    pub similarity_0_100: f32,
    /// The score the ranking is ordered by: `score` itself, or the hubness-reduced score
    /// when the ranker uses a [`HubnessModel`](crate::HubnessModel).
    pub rank_score: f32,
}

/// `RankOptions` is what a ranking returns and what it leaves out.
///
/// A row is excluded when any of these holds: its id is one of `anchors` or in `exclude`;
/// `exclude_if` returns `true` for its id; for a column named in `exclude_same_group`, its
/// label equals the label of one of the `anchors`; or its score is at least
/// `duplicate_threshold`. Exclusions are tested only on rows that would enter the top k,
/// so they cost next to nothing; `exclude_if` must therefore be a pure function of the id.
///
/// # Examples
///
/// ```
/// use sonority_similarity::RankOptions;
///
/// let opts = RankOptions::default()
///     .with_k(20)
///     .with_anchors([42_u64])
///     .with_exclude([7, 8])
///     .with_exclude_same_group("album");
/// assert_eq!(opts.k, 20);
/// ```
#[derive(Clone)]
#[non_exhaustive]
pub struct RankOptions<K> {
    /// The number of hits to return (fewer if fewer rows remain). Default: `10`.
    pub k: usize,
    /// The ids of the query's anchors: never returned, and the source of the labels for
    /// `exclude_same_group` (anchors not in the index bring no label). Default: empty.
    pub anchors: Vec<K>,
    /// Ids never to return. Default: empty.
    pub exclude: HashSet<K>,
    /// A test on ids; `true` excludes. Default: `None`.
    pub exclude_if: Option<ExcludeFn<K>>,
    /// Names of group columns of the index (content hash, album, artist) in which a row
    /// sharing a label with an anchor is excluded. Default: empty.
    pub exclude_same_group: Vec<String>,
    /// Rows scoring at least this are treated as duplicates of the query and excluded,
    /// for collections without content hashes (`0.9999` catches re-encodes of one file).
    /// Default: `None`.
    pub duplicate_threshold: Option<f32>,
}

impl<K> Default for RankOptions<K> {
    fn default() -> Self {
        Self {
            k: 10,
            anchors: Vec::new(),
            exclude: HashSet::new(),
            exclude_if: None,
            exclude_same_group: Vec::new(),
            duplicate_threshold: None,
        }
    }
}

impl<K: fmt::Debug> fmt::Debug for RankOptions<K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RankOptions")
            .field("k", &self.k)
            .field("anchors", &self.anchors)
            .field("exclude", &self.exclude)
            .field("exclude_if", &self.exclude_if.as_ref().map(|_| "<fn>"))
            .field("exclude_same_group", &self.exclude_same_group)
            .field("duplicate_threshold", &self.duplicate_threshold)
            .finish()
    }
}

impl<K: Eq + std::hash::Hash> RankOptions<K> {
    /// Sets the number of hits.
    #[must_use]
    pub fn with_k(mut self, k: usize) -> Self {
        self.k = k;
        self
    }

    /// Adds anchor ids (never returned; their group labels drive `exclude_same_group`).
    #[must_use]
    pub fn with_anchors(mut self, ids: impl IntoIterator<Item = K>) -> Self {
        self.anchors.extend(ids);
        self
    }

    /// Adds ids never to return.
    #[must_use]
    pub fn with_exclude(mut self, ids: impl IntoIterator<Item = K>) -> Self {
        self.exclude.extend(ids);
        self
    }

    /// Sets the exclusion test (`true` excludes).
    #[must_use]
    pub fn with_exclude_if(mut self, f: impl Fn(&K) -> bool + Send + Sync + 'static) -> Self {
        self.exclude_if = Some(Arc::new(f));
        self
    }

    /// Adds a group column in which rows sharing an anchor's label are excluded.
    #[must_use]
    pub fn with_exclude_same_group(mut self, column: impl Into<String>) -> Self {
        self.exclude_same_group.push(column.into());
        self
    }

    /// Sets the score at or above which a row counts as a duplicate of the query.
    #[must_use]
    pub fn with_duplicate_threshold(mut self, threshold: f32) -> Self {
        self.duplicate_threshold = Some(threshold);
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mapping_is_monotone_and_clamped() {
        let xs = [-2.0_f32, -1.0, -0.5, 0.0, 0.3, 1.0, 1.000_001];
        let ys: Vec<f32> = xs.iter().map(|&x| similarity_0_100(x)).collect();
        assert!(ys.windows(2).all(|w| w[0] <= w[1]));
        assert_eq!(ys[0], 0.0);
        assert_eq!(ys[6], 100.0);
        assert!((similarity_0_100(0.3) - 65.0).abs() < 1e-4);
    }

    #[test]
    fn debug_hides_the_closure() {
        let o = RankOptions::<u8>::default().with_exclude_if(|_| true);
        assert!(format!("{o:?}").contains("<fn>"));
    }
}
