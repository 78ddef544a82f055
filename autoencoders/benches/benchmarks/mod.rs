//! Shared setup for the benchmarks.

pub mod encode;
pub mod train;

use sonority_autoencoders::ConvAeConfig;

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
