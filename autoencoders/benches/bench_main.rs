//! Criterion benchmarks: training steps and encoding throughput, batch 32.
//!
//! `cargo bench -p sonority-autoencoders --bench bench_main`

#![allow(clippy::expect_used)] // setup failures abort the benchmark

mod benchmarks;

/// Prefix of the benchmark groups: none, the system allocator (see `bench_mimalloc`).
const ALLOCATOR: &str = "";

criterion::criterion_main!(benchmarks::train::benches, benchmarks::encode::benches,);
