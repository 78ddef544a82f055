//! Index build (validation, id map, normalisation) of one million 64-d vectors, and the
//! i8 prefilter's quantisation.

use criterion::{Criterion, criterion_group};
use sonority_similarity::VectorIndex;

use super::{DIM, random_data};

fn build(c: &mut Criterion) {
    let n = 1_000_000;
    let data = random_data(n, DIM, 42);
    let ids: Vec<u64> = (0..n as u64).collect();
    let mut group = c.benchmark_group("build/1m_x64");
    group.sample_size(10);
    group.bench_function("from_rows", |b| {
        b.iter_batched(
            || (ids.clone(), data.clone()),
            |(ids, data)| VectorIndex::from_rows(ids, data, DIM).expect("build"),
            criterion::BatchSize::LargeInput,
        )
    });
    let index = VectorIndex::from_rows(ids, data, DIM).expect("build");
    group.bench_function("with_i8_prefilter", |b| {
        b.iter_batched(
            || index.clone(),
            VectorIndex::with_i8_prefilter,
            criterion::BatchSize::LargeInput,
        )
    });
    group.finish();
    let prefiltered = index.clone().with_i8_prefilter();
    println!(
        "memory with i8 prefilter: {:.1} bytes per vector",
        prefiltered.memory_bytes() as f64 / n as f64
    );
    println!(
        "memory: {} bytes for {n} rows of {DIM} = {:.1} bytes per vector ({} for the f32 row)",
        index.memory_bytes(),
        index.memory_bytes() as f64 / n as f64,
        DIM * 4
    );
}

criterion_group!(benches, build);
