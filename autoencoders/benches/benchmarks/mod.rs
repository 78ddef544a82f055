//! Shared setup for the benchmarks.

pub mod encode;
pub mod train;

use sonority_autoencoders::ConvAeConfig;

/// A benchmark group's name, prefixed by the bench binary's allocator label
/// (`crate::ALLOCATOR`: empty for the system allocator, `mimalloc/` in `bench_mimalloc`), so
/// that the two binaries' results sit side by side instead of overwriting each other.
pub fn group(name: &str) -> String {
    format!("{}{name}", crate::ALLOCATOR)
}

/// The configurations benchmarked, by name.
pub fn presets() -> Vec<(&'static str, ConvAeConfig)> {
    vec![
        ("default_1d_time", ConvAeConfig::default()),
        ("small_2d", ConvAeConfig::small_2d()),
        ("published_1d_fused", ConvAeConfig::published_1d()),
        ("published_2d", ConvAeConfig::published_2d()),
    ]
}

/// Deterministic pseudo-random values in [0, 1).
pub fn values(n: usize, seed: u64) -> Vec<f32> {
    let mut rng = sonority_testkit::Rng::new(seed);
    (0..n).map(|_| rng.next_f32()).collect()
}
