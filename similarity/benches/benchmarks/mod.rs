//! Shared setup: deterministic random data and a naive baseline.

pub mod build;
pub mod rank;
pub mod rank_cpu;

use sonority_similarity::{Query, VectorIndex};

/// Dimension of every benchmarked vector.
pub const DIM: usize = 64;

/// `n * dim` pseudo-random values in `[-1, 1)` (the testkit's generator, seeded).
pub fn random_data(n: usize, dim: usize, seed: u64) -> Vec<f32> {
    let mut data = vec![0.0; n * dim];
    sonority_testkit::Rng::new(seed).fill_uniform(&mut data, 1.0);
    data
}

/// An index of `n` random rows with ids `0..n`.
pub fn random_index(n: usize) -> VectorIndex<u64> {
    VectorIndex::from_rows((0..n as u64).collect(), random_data(n, DIM, 42), DIM)
        .expect("finite random data")
}

/// The naive baseline: score every row, sort all, take k.
pub fn naive_top_k(query: &Query, index: &VectorIndex<u64>, k: usize) -> Vec<(u64, f32)> {
    let mut all: Vec<(u64, f32)> = index
        .ids()
        .iter()
        .enumerate()
        .map(|(r, &id)| (id, query.score(index.row(r))))
        .collect();
    all.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    all.truncate(k);
    all
}
