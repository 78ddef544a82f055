//! Benchmarks of sonority-fusion: `cargo bench -p sonority-fusion`.

mod benchmarks;

criterion::criterion_main!(benchmarks::descriptors::benches, benchmarks::sinks::benches);
