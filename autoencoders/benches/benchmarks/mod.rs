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
    let mut s = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..n)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            (s >> 40) as f32 / (1u64 << 24) as f32
        })
        .collect()
}
