//! Criterion benches of sonority-store: `cargo bench -p sonority-store`.
#![allow(missing_docs)]
// A bench that cannot set up its fixture has nothing to measure: fail loudly.
#![allow(clippy::expect_used)]

mod benchmarks;

#[cfg(not(feature = "postgres"))]
criterion::criterion_main!(benchmarks::insert::benches, benchmarks::load::benches);
#[cfg(feature = "postgres")]
criterion::criterion_main!(
    benchmarks::insert::benches,
    benchmarks::load::benches,
    benchmarks::pg::benches
);
