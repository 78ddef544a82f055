//! The scans behind [`CosineRanker`](crate::CosineRanker): exact f32, and i8-prefiltered
//! with exact rescoring; plus the exclusions they test.

use std::collections::HashSet;
use std::hash::Hash;
use std::ops::Range;

use crate::error::{Error, Result};
use crate::index::VectorIndex;
use crate::options::RankOptions;
use crate::quantise::{QuantisedQuery, QuantisedRows};
use crate::query::Query;
use crate::topk::{Candidate, TopK};

/// Scans `rows`, keeping the best `k` rows that are not excluded.
pub(crate) fn scan<K: Eq + Hash>(
    query: &Query,
    index: &VectorIndex<K>,
    rows: Range<usize>,
    k: usize,
    excluder: &Excluder<'_, K>,
) -> TopK {
    let mut top = TopK::new(k);
    if k == 0 {
        return top;
    }
    let mut threshold = top.threshold();
    let dim = index.dim();
    let start = rows.start;
    let data = &index.as_slice()[rows.start * dim..rows.end * dim];
    for (i, v) in data.chunks_exact(dim).enumerate() {
        let score = query.score(v);
        if score < threshold {
            continue;
        }
        let c = Candidate {
            score,
            row: start + i,
        };
        if top.accepts(c) && !excluder.excludes(c) {
            top.push(c);
            threshold = top.threshold();
        }
    }
    top
}

/// The exclusions of one ranking, resolved once.
pub(crate) struct Excluder<'a, K> {
    ids: &'a [K],
    anchors: HashSet<&'a K>,
    anchor_rows: HashSet<usize>,
    opts: &'a RankOptions<K>,
    groups: Vec<(&'a [Option<u64>], HashSet<u64>)>,
}

impl<'a, K: Eq + Hash> Excluder<'a, K> {
    pub(crate) fn new(index: &'a VectorIndex<K>, opts: &'a RankOptions<K>) -> Result<Self> {
        if opts.duplicate_threshold.is_some_and(|t| !t.is_finite()) {
            return Err(Error::InvalidConfig {
                field: "duplicate_threshold",
                reason: "must be finite".into(),
            });
        }
        let anchor_rows: HashSet<usize> = opts
            .anchors
            .iter()
            .filter_map(|id| index.row_of(id))
            .collect();
        let mut groups = Vec::with_capacity(opts.exclude_same_group.len());
        for name in &opts.exclude_same_group {
            let labels = index
                .group(name)
                .ok_or_else(|| Error::UnknownGroup { name: name.clone() })?;
            let set = anchor_rows.iter().filter_map(|&r| labels[r]).collect();
            groups.push((labels, set));
        }
        Ok(Self {
            ids: index.ids(),
            anchors: opts.anchors.iter().collect(),
            anchor_rows,
            opts,
            groups,
        })
    }

    pub(crate) fn is_anchor(&self, row: usize) -> bool {
        self.anchor_rows.contains(&row)
    }

    pub(crate) fn excludes(&self, c: Candidate) -> bool {
        let id = &self.ids[c.row];
        self.opts.duplicate_threshold.is_some_and(|t| c.score >= t)
            || self.anchors.contains(id)
            || self.opts.exclude.contains(id)
            || self.opts.exclude_if.as_ref().is_some_and(|f| f(id))
            || self
                .groups
                .iter()
                .any(|(labels, set)| labels[c.row].is_some_and(|l| set.contains(&l)))
    }
}

/// Scans `rows` through the i8 prefilter, then rescores the candidates exactly.
///
/// Gives the same top k as [`scan`]: see the `quantise` module for the bound.
pub(crate) fn scan_i8<K: Eq + Hash>(
    query: &Query,
    qquery: &QuantisedQuery,
    qrows: &QuantisedRows,
    index: &VectorIndex<K>,
    rows: Range<usize>,
    k: usize,
    excluder: &Excluder<'_, K>,
) -> TopK {
    if k == 0 {
        return TopK::new(0);
    }
    let dim = index.dim();
    // The k best lower bounds among rows certainly not excluded.
    let mut lower = TopK::new(k);
    let mut threshold = lower.threshold();
    let mut candidates: Vec<(usize, f32)> = Vec::new();
    let codes = &qrows.codes[rows.start * dim..rows.end * dim];
    let params = &qrows.params[rows.clone()];
    for (i, (c, &[scale, error])) in codes.chunks_exact(dim).zip(params).enumerate() {
        let approx = qquery.approx(c, scale);
        let bound = qquery.bound(error);
        let upper = approx + bound;
        if upper < threshold {
            continue;
        }
        let row = rows.start + i;
        candidates.push((row, upper));
        let lo = Candidate {
            score: approx - bound,
            row,
        };
        // The upper bound stands in for the score: a row that might reach the duplicate
        // threshold is not counted as certainly included.
        if lower.accepts(lo) && !excluder.excludes(Candidate { score: upper, row }) {
            lower.push(lo);
            threshold = lower.threshold();
        }
    }
    let mut top = TopK::new(k);
    for (row, upper) in candidates {
        if upper < threshold {
            continue;
        }
        let c = Candidate {
            score: query.score(index.row(row)),
            row,
        };
        if top.accepts(c) && !excluder.excludes(c) {
            top.push(c);
        }
    }
    top
}
