//! Load all 100k vectors of a model into a contiguous matrix, the ranking path.

use criterion::{Criterion, Throughput, criterion_group};
use sonority_store::VectorStore;

use super::{N, fill};

fn load(c: &mut Criterion) {
    let mut g = c.benchmark_group("load_matrix");
    g.sample_size(20);
    g.throughput(Throughput::Elements(N as u64));
    for dim in [64, 256] {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut store = sonority_store::SqliteStore::open(dir.path().join("b.db")).expect("open");
        fill(&mut store, "m", dim);
        g.bench_function(format!("100k_x{dim}"), |b| {
            b.iter(|| store.load_matrix("m").expect("load"));
        });
        let plain = sonority_store::SqliteStore::open_with(
            dir.path().join("b.db"),
            &sonority_store::SqliteOptions::default().with_mmap_size_bytes(0),
        )
        .expect("open");
        g.bench_function(format!("100k_x{dim}_no_mmap"), |b| {
            b.iter(|| plain.load_matrix("m").expect("load"));
        });
        g.bench_function(format!("100k_x{dim}_count_only"), |b| {
            b.iter(|| store.count("m").expect("count"));
        });
        // The trait's provided method (for_each into a matrix), as another backend gets it.
        g.bench_function(format!("100k_x{dim}_for_each"), |b| {
            b.iter(|| {
                let mut m = sonority_store::VectorMatrix::with_capacity(dim, N);
                store
                    .for_each("m", &mut |id, v| m.push(id, v))
                    .expect("scan");
                m
            });
        });
    }
    g.finish();
}

criterion_group!(benches, load);
