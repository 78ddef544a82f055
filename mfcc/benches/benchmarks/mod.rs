//! Shared setup for the benchmarks.

pub mod decode;
pub mod mfcc;
pub mod stft;

/// A deterministic test signal: a chord and a little noise, `seconds` long at `sr` Hz.
pub fn music_like(seconds: f32, sr: u32) -> Vec<f32> {
    let n = (seconds * sr as f32) as usize;
    let mut rng = sonority_testkit::Rng::new(1);
    (0..n)
        .map(|i| {
            let t = i as f32 / sr as f32;
            let noise = rng.uniform(-0.5, 0.5);
            0.3 * (2.0 * std::f32::consts::PI * 220.0 * t).sin()
                + 0.2 * (2.0 * std::f32::consts::PI * 277.2 * t).sin()
                + 0.1 * (2.0 * std::f32::consts::PI * 329.6 * t).sin()
                + 0.02 * noise
        })
        .collect()
}
