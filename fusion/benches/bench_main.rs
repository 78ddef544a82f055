//! Benchmarks of sonority-fusion: `cargo bench -p sonority-fusion`.
#![allow(clippy::expect_used)] // setup failures abort the benchmark

mod benchmarks;

criterion::criterion_main!(benchmarks::descriptors::benches, benchmarks::sinks::benches);
