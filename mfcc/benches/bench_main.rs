//! Criterion benchmarks of sonority-mfcc: `cargo bench -p sonority-mfcc`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod benchmarks;

criterion::criterion_main!(
    benchmarks::mfcc::benches,
    benchmarks::stft::benches,
    benchmarks::decode::benches
);
