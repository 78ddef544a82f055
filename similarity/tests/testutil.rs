//! Shared fixtures: a naive reference ranker and deterministic data.

use std::collections::HashSet;

use sonority_similarity::{Query, VectorIndex};

/// What the reference ranker excludes, by id and by row label.
#[derive(Debug, Clone, Default)]
pub struct NaiveExclusions {
    pub ids: HashSet<u32>,
    /// Labels excluded per row (one column).
    pub labels: Option<(Vec<Option<u64>>, HashSet<u64>)>,
    pub predicate_mod: Option<u32>,
    pub duplicate_threshold: Option<f32>,
}

/// Scores every row, drops excluded ones, sorts all by score descending then row, takes k.
pub fn naive_rank(
    query: &Query,
    index: &VectorIndex<u32>,
    k: usize,
    ex: &NaiveExclusions,
) -> Vec<(u32, f32)> {
    let mut all: Vec<(usize, u32, f32)> = (0..index.len())
        .map(|r| (r, index.ids()[r], query.score(index.row(r))))
        .filter(|&(r, id, s)| {
            !ex.ids.contains(&id)
                && ex.predicate_mod.is_none_or(|m| !id.is_multiple_of(m))
                && ex.duplicate_threshold.is_none_or(|t| s < t)
                && ex
                    .labels
                    .as_ref()
                    .is_none_or(|(l, set)| l[r].is_none_or(|x| !set.contains(&x)))
        })
        .collect();
    all.sort_by(|a, b| b.2.total_cmp(&a.2).then(a.0.cmp(&b.0)));
    all.into_iter().take(k).map(|(_, id, s)| (id, s)).collect()
}

/// `n * dim` pseudo-random values in `[-1, 1)` (the testkit's generator, seeded).
pub fn random_data(n: usize, dim: usize, seed: u64) -> Vec<f32> {
    let mut data = vec![0.0; n * dim];
    sonority_testkit::Rng::new(seed).fill_uniform(&mut data, 1.0);
    data
}
