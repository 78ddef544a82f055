//! Insert 100k tracks (record, analysis, one vector) in batches of 1,000.

use criterion::{Criterion, Throughput, criterion_group};

use super::{N, fill};

fn insert(c: &mut Criterion) {
    let mut g = c.benchmark_group("insert");
    g.sample_size(10);
    g.throughput(Throughput::Elements(N as u64));
    for dim in [64, 256] {
        g.bench_function(format!("100k_x{dim}_batch1000"), |b| {
            b.iter_batched(
                || {
                    let dir = tempfile::tempdir().expect("tempdir");
                    let store =
                        sonority_store::SqliteStore::open(dir.path().join("b.db")).expect("open");
                    (dir, store)
                },
                |(dir, mut store)| {
                    fill(&mut store, "m", dim);
                    (dir, store)
                },
                criterion::BatchSize::PerIteration,
            );
        });
    }
    g.finish();
}

criterion_group!(benches, insert);
