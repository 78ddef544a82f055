//! Top-10 ranking: the exact ranker (f32, and i8-prefiltered; 1 and all threads) against a
//! naive full sort.

use criterion::{BenchmarkId, Criterion, criterion_group};
use sonority_similarity::{CosineRanker, Query, RankOptions, Ranker};

use super::{DIM, naive_top_k, random_data, random_index};

fn rank(c: &mut Criterion) {
    for (n, label) in [(100_000, "100k_x64"), (1_000_000, "1m_x64")] {
        let index = random_index(n);
        let prefiltered = index.clone().with_i8_prefilter();
        let query = Query::new(&random_data(1, DIM, 7)).expect("finite query");
        let opts = RankOptions::default().with_k(10).with_anchors([0_u64]);
        let parallel = CosineRanker::new();
        let single = CosineRanker::new().with_parallel_min_rows(usize::MAX);
        let mut group = c.benchmark_group(format!("rank/{label}"));
        group.sample_size(if n > 100_000 { 20 } else { 50 });
        group.bench_function(BenchmarkId::new("cosine_top10", "parallel"), |b| {
            b.iter(|| parallel.rank(&query, &index, &opts).expect("rank"))
        });
        group.bench_function(BenchmarkId::new("cosine_top10", "1_thread"), |b| {
            b.iter(|| single.rank(&query, &index, &opts).expect("rank"))
        });
        group.bench_function(BenchmarkId::new("i8_prefilter_top10", "parallel"), |b| {
            b.iter(|| parallel.rank(&query, &prefiltered, &opts).expect("rank"))
        });
        group.bench_function(BenchmarkId::new("i8_prefilter_top10", "1_thread"), |b| {
            b.iter(|| single.rank(&query, &prefiltered, &opts).expect("rank"))
        });
        group.bench_function(BenchmarkId::new("naive_sort_top10", "1_thread"), |b| {
            b.iter(|| naive_top_k(&query, &index, 10))
        });
        group.finish();
    }
}

criterion_group!(benches, rank);
