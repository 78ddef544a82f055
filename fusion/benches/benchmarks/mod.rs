//! Shared setup of the benchmarks.

pub mod descriptors;
pub mod sinks;

/// A music-like test signal at 22050 Hz: a chord progression with harmonics and noise bursts
/// on the beat, `seconds` long.
pub fn music_like(seconds: f32) -> Vec<f32> {
    let n = (seconds * 22_050.0) as usize;
    let mut rng = sonority_testkit::Rng::new(1);
    (0..n)
        .map(|i| {
            let t = i as f32 / 22_050.0;
            let chord = [[0, 4, 7], [5, 9, 12], [7, 11, 14], [0, 4, 7]][(t / 2.0) as usize % 4];
            let mut v = 0.0;
            for iv in chord {
                let f = 261.63 * 2f32.powf(iv as f32 / 12.0);
                v += (2.0 * std::f32::consts::PI * f * t).sin() * 0.1;
            }
            let noise = rng.uniform(-0.5, 0.5);
            let beat = (t * 2.0).fract();
            v + noise * (-beat * 30.0).exp()
        })
        .collect()
}
