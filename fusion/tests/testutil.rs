//! Fixtures shared by the tests.

use std::path::PathBuf;

pub fn data(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name)
}

/// A 16-bit mono WAV as float samples (/32768, as librosa).
pub fn wav(name: &str) -> anyhow::Result<(Vec<f32>, u32)> {
    let mut r = hound::WavReader::open(data(name))?;
    let sr = r.spec().sample_rate;
    let y = r
        .samples::<i16>()
        .map(|s| s.map(|v| f32::from(v) / 32768.0))
        .collect::<Result<Vec<_>, _>>()?;
    Ok((y, sr))
}

/// Raw little-endian float32.
pub fn f32s(name: &str) -> anyhow::Result<Vec<f32>> {
    let bytes = std::fs::read(data(name))?;
    Ok(bytes
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect())
}

/// A sine of `hz` at 22050 Hz.
pub fn sine(hz: f32, seconds: f32, amp: f32) -> Vec<f32> {
    let n = (seconds * 22_050.0) as usize;
    (0..n)
        .map(|i| amp * (2.0 * std::f32::consts::PI * hz * i as f32 / 22_050.0).sin())
        .collect()
}

/// The workspace's seeded test generator (`uniform(-1.0, 1.0)` for noise in [-1, 1)).
pub use sonority_testkit::Rng;
