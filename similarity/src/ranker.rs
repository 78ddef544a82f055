//! The [`Ranker`] trait and its exact implementation, [`CosineRanker`].

use std::hash::Hash;
use std::ops::Range;

use rayon::prelude::*;

use crate::error::{Error, Result};
use crate::hubness::HubnessModel;
use crate::index::VectorIndex;
use crate::options::{Hit, RankOptions, similarity_0_100};
use crate::quantise::QuantisedQuery;
use crate::query::{AnchorMode, Query};
use crate::scan::{Excluder, scan, scan_i8};
use crate::topk::{Candidate, TopK};

/// Rows per parallel task. Big enough that a task's top-k merge is noise, small enough
/// (64 dimensions: 4 MiB) that two cores stay balanced.
const CHUNK_ROWS: usize = 16_384;

/// `Ranker` ranks the rows of a [`VectorIndex`] by similarity to a [`Query`].
///
/// Implementations return at most `opts.k` hits, best first, never a row excluded by `opts`
/// (see [`RankOptions`]), and order equal scores by row.
pub trait Ranker<K>: Send + Sync {
    /// Returns the top `opts.k` rows for `query`, best first.
    ///
    /// # Errors
    ///
    /// [`Error::DimensionMismatch`] if the query's dimension is not the index's,
    /// [`Error::UnknownGroup`] if `opts` names a group column the index lacks,
    /// [`Error::InvalidConfig`] for a non-finite duplicate threshold.
    fn rank(
        &self,
        query: &Query,
        index: &VectorIndex<K>,
        opts: &RankOptions<K>,
    ) -> Result<Vec<Hit<K>>>;

    /// Ranks for anchors given by id: builds the query from their stored vectors and adds
    /// them to `opts.anchors`, so they are never returned.
    ///
    /// # For implementors
    ///
    /// The default builds a [`Query::from_ids`] and calls [`Ranker::rank`] with a copy of
    /// `opts` (cloning its exclusion set).
    ///
    /// # Errors
    ///
    /// As [`Ranker::rank`], plus [`Error::EmptyQuery`] and [`Error::UnknownId`].
    ///
    /// # Examples
    ///
    /// ```
    /// use sonority_similarity::{AnchorMode, CosineRanker, RankOptions, Ranker, VectorIndex};
    ///
    /// let index = VectorIndex::from_rows(vec![1, 2, 3], vec![1.0, 0.0, 0.9, 0.1, 0.0, 1.0], 2)?;
    /// let hits = CosineRanker::new().rank_ids(&[1], AnchorMode::Mean, &index, &RankOptions::default())?;
    /// assert_eq!(hits.iter().map(|h| h.id).collect::<Vec<_>>(), vec![2, 3]);
    /// # Ok::<(), sonority_similarity::Error>(())
    /// ```
    fn rank_ids(
        &self,
        anchors: &[K],
        mode: AnchorMode,
        index: &VectorIndex<K>,
        opts: &RankOptions<K>,
    ) -> Result<Vec<Hit<K>>>
    where
        K: Clone + Eq + Hash,
    {
        let query = Query::from_ids(index, anchors, mode)?;
        let mut opts = opts.clone();
        opts.anchors.extend(anchors.iter().cloned());
        self.rank(&query, index, &opts)
    }
}

impl<K, R: Ranker<K> + ?Sized> Ranker<K> for Box<R> {
    fn rank(
        &self,
        query: &Query,
        index: &VectorIndex<K>,
        opts: &RankOptions<K>,
    ) -> Result<Vec<Hit<K>>> {
        (**self).rank(query, index, opts)
    }
}

impl<K, R: Ranker<K> + ?Sized> Ranker<K> for &R {
    fn rank(
        &self,
        query: &Query,
        index: &VectorIndex<K>,
        opts: &RankOptions<K>,
    ) -> Result<Vec<Hit<K>>> {
        (**self).rank(query, index, opts)
    }
}

/// `CosineRanker` is the exact ranker: it scores every row (one dot product per row and
/// anchor), keeps the best in a bounded heap, and scans chunks of rows in parallel with
/// rayon once the index is large.
///
/// With a [`HubnessModel`] it reranks the cosine top candidates by mutual proximity or
/// CSLS (see [`CosineRanker::with_hubness`]); off by default.
///
/// # Examples
///
/// ```
/// use sonority_similarity::{CosineRanker, Query, RankOptions, Ranker, VectorIndex};
///
/// let index = VectorIndex::from_rows(vec!["a", "b", "c"], vec![1.0, 0.0, 0.8, 0.6, 0.0, 1.0], 2)?;
/// let hits = CosineRanker::new().rank(&Query::new(&[1.0, 0.1])?, &index, &RankOptions::default().with_k(2))?;
/// assert_eq!(hits[0].id, "a");
/// assert_eq!(hits[1].id, "b");
/// # Ok::<(), sonority_similarity::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct CosineRanker {
    parallel_min_rows: usize,
    chunk_rows: usize,
    hubness: Option<HubnessModel>,
}

impl Default for CosineRanker {
    fn default() -> Self {
        Self {
            parallel_min_rows: 2 * CHUNK_ROWS,
            chunk_rows: CHUNK_ROWS,
            hubness: None,
        }
    }
}

impl CosineRanker {
    /// An exact cosine ranker with the default settings.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the number of rows from which scans run in parallel (on rayon's global pool).
    /// `usize::MAX` never parallelises. Default: `32768`.
    #[must_use]
    pub fn with_parallel_min_rows(mut self, rows: usize) -> Self {
        self.parallel_min_rows = rows;
        self
    }

    /// Sets the rows per parallel task (at least 1). Smaller chunks balance better and
    /// merge more heaps. Default: `16384`.
    #[must_use]
    pub fn with_chunk_rows(mut self, rows: usize) -> Self {
        self.chunk_rows = rows.max(1);
        self
    }

    /// Reranks with a hubness model fitted on the index it will rank (see
    /// [`HubnessModel::fit`]).
    #[must_use]
    pub fn with_hubness(mut self, model: HubnessModel) -> Self {
        self.hubness = Some(model);
        self
    }

    /// Returns the hubness model, if any.
    #[must_use]
    pub fn hubness(&self) -> Option<&HubnessModel> {
        self.hubness.as_ref()
    }
}

impl<K: Clone + Eq + Hash + Send + Sync> Ranker<K> for CosineRanker {
    fn rank(
        &self,
        query: &Query,
        index: &VectorIndex<K>,
        opts: &RankOptions<K>,
    ) -> Result<Vec<Hit<K>>> {
        if query.dim() != index.dim() {
            return Err(Error::DimensionMismatch {
                what: "query",
                expected: index.dim(),
                actual: query.dim(),
            });
        }
        let excluder = Excluder::new(index, opts)?;
        let pool = match &self.hubness {
            None => opts.k,
            Some(m) => {
                m.check_index(index)?;
                opts.k.max(m.candidates())
            }
        };
        let qquery = index
            .quantised()
            .map(|_| QuantisedQuery::new(query.directions(), query.dim()));
        let scan_rows = |rows: Range<usize>| match (&qquery, index.quantised()) {
            (Some(qq), Some(qr)) => scan_i8(query, qq, qr, index, rows, pool, &excluder),
            _ => scan(query, index, rows, pool, &excluder),
        };
        let top = if index.len() >= self.parallel_min_rows {
            let chunk = self.chunk_rows;
            let n_chunks = index.len().div_ceil(chunk);
            (0..n_chunks)
                .into_par_iter()
                .map(|c| scan_rows(c * chunk..((c + 1) * chunk).min(index.len())))
                .reduce(|| TopK::new(pool), TopK::merge)
        } else {
            scan_rows(0..index.len())
        };
        let ranked: Vec<(Candidate, f32)> = match &self.hubness {
            None => top
                .into_sorted()
                .into_iter()
                .map(|c| (c, c.score))
                .collect(),
            Some(m) => m.rerank(query, index, top.into_sorted(), &|row| {
                excluder.is_anchor(row)
            }),
        };
        Ok(ranked
            .into_iter()
            .take(opts.k)
            .map(|(c, rank_score)| Hit {
                id: index.ids()[c.row].clone(),
                row: c.row,
                score: c.score,
                similarity_0_100: similarity_0_100(c.score),
                rank_score,
            })
            .collect())
    }
}
