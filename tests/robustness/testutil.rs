//! Shared fixtures: the model under test, generated WAVs, vector checks.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use sonority::Model;
use sonority::autoencoders::{ConvAeConfig, TrainConfig};
use sonority::train::{ExtractOptions, TrainOptions, extract_track_data, train_model};
use sonority_testkit::signal;

/// The directory of the model the tests run with: the shipped default model when the
/// repository has one, else a tiny model trained once per test process on generated tones
/// (so the tests also run before a default model is committed).
pub fn model_dir() -> PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        if let Ok(d) = std::env::var("SONORITY_TEST_MODEL") {
            return PathBuf::from(d);
        }
        let shipped = Model::default_dir();
        if shipped.join("model.json").exists() {
            return shipped;
        }
        let dir = std::env::temp_dir().join(format!("sonority-tiny-model-{}", std::process::id()));
        let tracks = dir.join("tracks");
        std::fs::create_dir_all(&tracks).unwrap();
        let data: Vec<_> = (0..3)
            .map(|i| {
                let p = tracks.join(format!("t{i}.wav"));
                write_tone(&p, 22_050, 8.0, 110.0 * f64::from(i + 2), i);
                extract_track_data(&p, &ExtractOptions::default()).unwrap()
            })
            .collect();
        let refs: Vec<_> = data.iter().collect();
        let mut opts = TrainOptions::default();
        opts.name = "tiny-test-model".into();
        opts.tile = ConvAeConfig::default().with_channels(vec![8, 8]);
        opts.tile_training = TrainConfig::default()
            .with_max_epochs(1)
            .with_batch_size(4)
            .with_validation_fraction(0.0);
        let m = train_model(&refs, &opts, |_| true).unwrap();
        m.save(&dir).unwrap();
        dir
    })
    .clone()
}

/// Writes a 16-bit WAV: a chord on `f0` with a little noise, so every track differs.
pub fn write_tone(path: &Path, rate: u32, seconds: f64, f0: f64, seed: u32) {
    let chord = signal::tones(rate, seconds, &[f0, f0 * 1.5], 0.5);
    let noise = signal::white_noise(rate, seconds, 0.025, u64::from(seed));
    let x: Vec<f32> = chord.iter().zip(&noise).map(|(a, b)| a + b).collect();
    signal::write_wav_i16(path, 1, rate, &x).unwrap();
}

/// Whether every value is finite.
pub fn all_finite(v: &[f32]) -> bool {
    v.iter().all(|x| x.is_finite())
}

/// The tests' seeded generator; [`Rng::from_env`] reads the seed from `SONORITY_TEST_SEED`.
pub use sonority_testkit::Rng;

/// The environment variable that replays a random test's seed.
pub const SEED_ENV: &str = "SONORITY_TEST_SEED";
