//! PostgreSQL against SQLite in the same run: insert and load 100k x 64 vectors.
//!
//! 1M x 64 takes about half a minute to insert into PostgreSQL, too long for a bench
//! iteration; `examples/pg_scale.rs` measures it once.

use criterion::{Criterion, Throughput, criterion_group};
use sonority_store::{PgStore, SqliteStore, VectorStore};

use super::pgcluster::cluster;
use super::{N, fill};

fn pg_vs_sqlite(c: &mut Criterion) {
    let dim = 64;
    let mut g = c.benchmark_group("pg_vs_sqlite");
    g.sample_size(10);
    g.throughput(Throughput::Elements(N as u64));
    g.bench_function("insert_100k_x64_batch1000/sqlite", |b| {
        b.iter_batched(
            || {
                let dir = tempfile::tempdir().expect("tempdir");
                let s = SqliteStore::open(dir.path().join("b.db")).expect("open");
                (dir, s)
            },
            |(dir, mut s)| {
                fill(&mut s, "m", dim);
                (dir, s)
            },
            criterion::BatchSize::PerIteration,
        );
    });
    g.bench_function("insert_100k_x64_batch1000/postgres", |b| {
        b.iter_batched(
            || PgStore::connect(&cluster().fresh("bench_insert")).expect("connect"),
            |mut s| {
                fill(&mut s, "m", dim);
                s
            },
            criterion::BatchSize::PerIteration,
        );
    });
    let dir = tempfile::tempdir().expect("tempdir");
    let mut lite = SqliteStore::open(dir.path().join("b.db")).expect("open");
    fill(&mut lite, "m", dim);
    let mut pg = PgStore::connect(&cluster().fresh("bench_load")).expect("connect");
    fill(&mut pg, "m", dim);
    g.sample_size(20);
    g.bench_function("load_100k_x64/sqlite", |b| {
        b.iter(|| lite.load_matrix("m").expect("load"));
    });
    g.bench_function("load_100k_x64/postgres_copy", |b| {
        b.iter(|| pg.load_matrix("m").expect("load"));
    });
    g.bench_function("load_100k_x64/postgres_for_each", |b| {
        b.iter(|| {
            let mut m = sonority_store::VectorMatrix::with_capacity(dim, N);
            pg.for_each("m", &mut |id, v| m.push(id, v)).expect("scan");
            m
        });
    });
    g.finish();
}

criterion_group!(benches, pg_vs_sqlite);
