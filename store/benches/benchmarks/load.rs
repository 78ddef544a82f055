//! Load all 100k vectors of a model into a contiguous matrix, the ranking path.

use criterion::{Criterion, Throughput, criterion_group};
use sonority_store::VectorStore;

use super::{N, fill};

fn load(c: &mut Criterion) {
    let mut g = c.benchmark_group("load_matrix");
    g.throughput(Throughput::Elements(N as u64));
    for dim in [64, 256] {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut store = sonority_store::SqliteStore::open(dir.path().join("b.db")).expect("open");
        fill(&mut store, "m", dim);
        g.bench_function(format!("100k_x{dim}"), |b| {
            b.iter(|| store.load_matrix("m").expect("load"));
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
