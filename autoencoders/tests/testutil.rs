//! Toy data sets.

use sonority_autoencoders::TrackMatrix;

/// A tiny deterministic generator for test data.
pub struct Lcg(pub u64);

impl Lcg {
    pub fn next_f32(&mut self) -> f32 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        ((self.0 >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
    }
}

/// `n_sources` sources, each a fixed spectral envelope (a bump at its own band) modulated in time;
/// `per_source` tracks of `frames` frames each, with a little noise. Tiles of one source look
/// alike; tiles of different sources differ. Returns tracks and their source labels.
pub fn toy_tracks(
    n_sources: usize,
    per_source: usize,
    rows: usize,
    frames: usize,
    seed: u64,
) -> (Vec<TrackMatrix>, Vec<usize>) {
    let mut rng = Lcg(seed);
    let mut tracks = Vec::new();
    let mut labels = Vec::new();
    for s in 0..n_sources {
        let centre = (s as f32 + 0.5) * rows as f32 / n_sources as f32;
        let rate = 0.15 + 0.1 * s as f32;
        for _ in 0..per_source {
            let phase = rng.next_f32() * 3.0;
            let mut data = vec![0f32; rows * frames];
            for r in 0..rows {
                let env = (-((r as f32 - centre) / 2.0).powi(2)).exp() * 2.0 - 0.3;
                for t in 0..frames {
                    let m = 1.0 + 0.5 * (rate * t as f32 + phase).sin();
                    data[r * frames + t] = env * m + 0.05 * rng.next_f32();
                }
            }
            tracks.push(TrackMatrix::new(data, rows, frames).unwrap());
            labels.push(s);
        }
    }
    (tracks, labels)
}
