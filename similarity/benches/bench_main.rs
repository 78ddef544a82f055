//! Benchmarks of `sonority-similarity`: `cargo bench -p sonority-similarity`.

// A benchmark that cannot set up should stop loudly.
#![allow(clippy::expect_used)]

mod benchmarks;

criterion::criterion_main!(
    benchmarks::rank::benches,
    benchmarks::rank_cpu::benches,
    benchmarks::build::benches,
);
