//! Key, tempo and roll-off on generated signals with known answers.

use sonority_fusion::{
    Descriptors, FeatureExtractor, Key, KeyProfile, KeySink, Mode, RolloffSink, TempoSink,
    estimate_key,
};
use sonority_mfcc::{MfccConfig, SliceSource, analyze};

use crate::testutil::{Rng, sine};

fn run(y: &[f32], sinks: &mut [&mut dyn sonority_mfcc::FrameSink]) -> anyhow::Result<()> {
    analyze(
        &mut SliceSource::new(y, 22_050),
        &MfccConfig::default().stft_spec(),
        sinks,
    )?;
    Ok(())
}

/// A cadence I–IV–V–I in `tonic` (pitch class), triads with harmonics, `detune` semitones off.
fn cadence(tonic: u8, minor: bool, detune: f32) -> Vec<f32> {
    let third = if minor { 3 } else { 4 };
    let chords: [[i32; 3]; 4] = [
        [0, third, 7],
        [5, if minor { 8 } else { 9 }, 12],
        [7, 11, 14],
        [0, third, 7],
    ];
    let mut y = Vec::new();
    for _rep in 0..2 {
        for ch in chords {
            let n = 22_050 / 2;
            for i in 0..n {
                let t = i as f32 / 22_050.0;
                let mut v = 0.0;
                for &iv in &ch {
                    let midi = 48.0 + f32::from(tonic) + iv as f32 + detune;
                    let f = 440.0 * 2f32.powf((midi - 69.0) / 12.0);
                    for h in 1..4 {
                        v += (2.0 * std::f32::consts::PI * f * h as f32 * t).sin() / h as f32;
                    }
                }
                y.push(0.1 * v);
            }
        }
    }
    y
}

#[test]
fn key_of_cadences_in_all_keys_even_detuned() -> anyhow::Result<()> {
    for (tonic, minor, detune) in [
        (0, false, 0.0),
        (7, false, 0.3),
        (9, true, -0.35),
        (3, true, 0.0),
        (11, false, 0.45),
    ] {
        let y = cadence(tonic, minor, detune);
        let mut key = KeySink::default();
        run(&y, &mut [&mut key])?;
        let want = Key::new(tonic, if minor { Mode::Minor } else { Mode::Major });
        let est = key.estimate();
        assert_eq!(est.key, want, "detune {detune}: {est:?}");
        assert!(est.strength > 0.5);
        let tuning = key.chroma().tuning_semitones();
        let err = (tuning - detune + 0.5).rem_euclid(1.0) - 0.5;
        assert!(err.abs() < 0.08, "tuning {tuning} vs {detune}");
    }
    Ok(())
}

#[test]
fn key_of_silence_and_noise_is_weak_and_finite() -> anyhow::Result<()> {
    let mut rng = Rng(7);
    let noise: Vec<f32> = (0..66_150).map(|_| 0.3 * rng.next()).collect();
    for y in [vec![0.0; 44_100], noise] {
        let mut d = Descriptors::default();
        run(&y, &mut [&mut d])?;
        let s = d.summary()?;
        assert!(s.key.strength < 0.5, "{:?}", s.key);
        for (_, b) in d.blocks()? {
            assert!(b.iter().all(|v| v.is_finite()));
        }
    }
    let est = estimate_key(&[0.0; 12], KeyProfile::Bgate);
    assert_eq!(est.strength, 0.0);
    Ok(())
}

/// Kick-like low bursts on every beat and hi-hat-like noise bursts on the off-beat eighths.
fn drums(bpm: f32, seconds: f32) -> Vec<f32> {
    let mut rng = Rng(42);
    let n = (seconds * 22_050.0) as usize;
    let beat = 60.0 / bpm * 22_050.0;
    (0..n)
        .map(|i| {
            let pos = i as f32 % beat;
            let kick = if pos < 2000.0 {
                (-(pos / 400.0)).exp() * (2.0 * std::f32::consts::PI * 60.0 * pos / 22_050.0).sin()
            } else {
                0.0
            };
            let off = (i as f32 - beat / 2.0).rem_euclid(beat);
            let hat = if off < 600.0 {
                0.25 * (-(off / 150.0)).exp() * rng.next()
            } else {
                0.0
            };
            kick + hat
        })
        .collect()
}

#[test]
fn tempo_of_drum_patterns() -> anyhow::Result<()> {
    for bpm in [70.0_f32, 96.0, 128.0, 165.0] {
        let y = drums(bpm, 20.0);
        let mut t = TempoSink::default();
        run(&y, &mut [&mut t])?;
        let est = t.estimate()?;
        assert!((est.bpm - bpm).abs() <= 0.04 * bpm, "{bpm}: {est:?}");
        assert!(est.confidence > 0.2 && est.confidence <= 1.0);
    }
    Ok(())
}

#[test]
fn rolloff_follows_the_spectrum() -> anyhow::Result<()> {
    let mut lo = RolloffSink::default();
    let mut hi = RolloffSink::published_design();
    let y = sine(1000.0, 1.0, 0.5);
    run(&y, &mut [&mut lo, &mut hi])?;
    let (a, b) = (lo.stats(), hi.stats());
    // A 1 kHz sine: the roll-off sits on the sine's bins.
    assert!((a.mean_hz - 1000.0).abs() < 30.0, "{a:?}");
    assert!(b.mean_hz >= a.mean_hz);
    let block = lo.block()?;
    assert!(
        (block[0] - 0.0).abs() < 0.05,
        "log2 kHz of 1 kHz is 0: {block:?}"
    );
    let mut short = [0.0; 1];
    assert!(lo.write_block(&mut short).is_err());
    assert!(RolloffSink::new(1.5).is_err());
    Ok(())
}
