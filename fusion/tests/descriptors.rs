//! Key, tempo and roll-off on generated signals with known answers.

use sonority_fusion::{
    Descriptors, FeatureExtractor, Key, KeyProfile, KeySink, LOUDNESS_FLOOR_DB, Mode, RolloffSink,
    SpectralSink, SpectralStats, TempoConfig, TempoEstimate, TempoSink, estimate_key,
    estimate_tempo, estimate_tempo_with_bands,
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
    let mut rng = Rng::new(7);
    let noise: Vec<f32> = (0..66_150).map(|_| 0.3 * rng.uniform(-1.0, 1.0)).collect();
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

/// A decaying 60 Hz sine (a kick drum) `pos` samples after its stroke.
fn kick(pos: f32) -> f32 {
    if pos < 2000.0 {
        (-(pos / 400.0)).exp() * (2.0 * std::f32::consts::PI * 60.0 * pos / 22_050.0).sin()
    } else {
        0.0
    }
}

/// High-passed noise: white noise differenced `order` times (a 6 dB/octave tilt per order), so
/// that, as from real cymbals and snare wires, little reaches the kick's band.
struct Hiss {
    rng: Rng,
    prev: [f32; 2],
}

impl Hiss {
    fn new(seed: u64) -> Self {
        Self {
            rng: Rng::new(seed),
            prev: [0.0; 2],
        }
    }

    fn next(&mut self, order: usize) -> f32 {
        let x = self.rng.uniform(-1.0, 1.0);
        let d1 = x - self.prev[0];
        self.prev[0] = x;
        if order < 2 {
            return d1;
        }
        let d2 = d1 - self.prev[1];
        self.prev[1] = d1;
        d2
    }
}

/// A decaying burst of `amp`, `pos` samples after its stroke, with the time constant `decay`.
fn env(pos: f32, amp: f32, decay: f32) -> f32 {
    if pos < 6.0 * decay {
        amp * (-(pos / decay)).exp()
    } else {
        0.0
    }
}

/// A snare drum `pos` samples after its stroke: a 180 Hz body and high-passed noise.
fn snare(hiss: &mut Hiss, pos: f32) -> f32 {
    let body = (2.0 * std::f32::consts::PI * 180.0 * pos / 22_050.0).sin();
    env(pos, 0.4, 600.0) * body + env(pos, 0.5, 900.0) * hiss.next(1)
}

/// Kick on every beat, white-noise bursts on the off-beat eighths only (as disco's hi-hats).
fn kick_and_offbeat_hats(bpm: f32, seconds: f32) -> Vec<f32> {
    let mut rng = Rng::new(42);
    let beat = 60.0 / bpm * 22_050.0;
    (0..(seconds * 22_050.0) as usize)
        .map(|i| {
            let t = i as f32;
            kick(t % beat)
                + env((t - beat / 2.0).rem_euclid(beat), 0.25, 150.0) * rng.uniform(-1.0, 1.0)
        })
        .collect()
}

/// The rock beat: kick on beats 1 and 3, snare on 2 and 4, a quiet hi-hat on every eighth.
fn backbeat(bpm: f32, seconds: f32) -> Vec<f32> {
    let (mut snares, mut hats) = (Hiss::new(43), Hiss::new(44));
    let beat = 60.0 / bpm * 22_050.0;
    (0..(seconds * 22_050.0) as usize)
        .map(|i| {
            let t = i as f32;
            kick(t % (2.0 * beat))
                + snare(&mut snares, (t - beat).rem_euclid(2.0 * beat))
                + env(t % (beat / 2.0), 0.06, 150.0) * hats.next(2)
        })
        .collect()
}

fn tempo_of(y: &[f32], cfg: TempoConfig) -> anyhow::Result<TempoEstimate> {
    let mut t = TempoSink::new(cfg)?;
    run(y, &mut [&mut t])?;
    Ok(t.estimate()?)
}

#[test]
fn tempo_of_drum_patterns() -> anyhow::Result<()> {
    let within = |est: &TempoEstimate, bpm: f32| (est.bpm - bpm).abs() <= 0.04 * bpm;
    // Kick on every beat, hats between: the hats are a subdivision. (Below 100 BPM this
    // pattern reads at twice the tempo: kick and hat take turns as kick and snare do.)
    for bpm in [128.0_f32, 165.0] {
        let est = tempo_of(&kick_and_offbeat_hats(bpm, 20.0), TempoConfig::default())?;
        assert!(within(&est, bpm), "{bpm}: {est:?}");
        assert!(est.confidence > 0.2 && est.confidence <= 1.0);
    }
    // Kick and snare take turns on the beats; the hats' eighths are a subdivision.
    for bpm in [66.0_f32, 84.0, 96.0, 120.0, 132.0, 150.0, 168.0, 180.0] {
        let est = tempo_of(&backbeat(bpm, 20.0), TempoConfig::default())?;
        assert!(within(&est, bpm), "{bpm}: {est:?}");
    }
    Ok(())
}

#[test]
fn backbeat_test_keeps_a_fast_beat_whose_strokes_alternate() -> anyhow::Result<()> {
    // The kick-snare alternation makes these beats look like a subdivision of the half-tempo
    // pulse in the full-band autocorrelation; the sub-band test keeps them.
    for bpm in [120.0_f32, 168.0] {
        let y = backbeat(bpm, 20.0);
        let with = tempo_of(&y, TempoConfig::default())?;
        let off = TempoConfig::default().with_backbeat_contrast(f32::INFINITY);
        let without = tempo_of(&y, off)?;
        assert!((with.bpm - bpm).abs() <= 0.04 * bpm, "{with:?}");
        assert!((without.bpm - bpm / 2.0).abs() <= 0.02 * bpm, "{without:?}");
    }
    Ok(())
}

#[test]
fn backbeat_test_needs_aligned_bands() -> anyhow::Result<()> {
    let fr = 22_050.0 / 512.0;
    let y = backbeat(168.0, 20.0);
    let mut t = TempoSink::default();
    run(&y, &mut [&mut t])?;
    let o = t.onset();
    let (env, low, high) = (o.envelope(), o.low_envelope(), o.high_envelope());
    assert_eq!((low.len(), high.len()), (env.len(), env.len()));
    let cfg = TempoConfig::default();
    let banded = estimate_tempo_with_bands(env, low, high, fr, &cfg)?;
    assert_eq!(banded, t.estimate()?);
    // Misaligned, silent or non-finite sub-bands fall back to the full-band estimate.
    let plain = estimate_tempo(env, fr, &cfg)?;
    let zeros = vec![0.0; env.len()];
    let mut nan = low.to_vec();
    nan[10] = f32::NAN;
    for (l, h) in [
        (&low[1..], high),
        (&zeros[..], &zeros[..]),
        (&nan[..], high),
    ] {
        assert_eq!(estimate_tempo_with_bands(env, l, h, fr, &cfg)?, plain);
    }
    assert!(
        TempoConfig::default()
            .with_backbeat_contrast(f32::NAN)
            .validate()
            .is_err()
    );
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

#[test]
fn sub_band_onsets_hear_only_their_bands() -> anyhow::Result<()> {
    let sr = 22_050.0;
    let period = 0.5 * sr;
    // Kicks alone, then 2 kHz tone bursts (10 ms attack) alone, twice a second for 6 s.
    let kicks: Vec<f32> = (0..(6.0 * sr) as usize)
        .map(|i| kick(i as f32 % period))
        .collect();
    let tones: Vec<f32> = (0..(6.0 * sr) as usize)
        .map(|i| {
            let pos = i as f32 % period;
            let attack = (pos / (0.01 * sr)).min(1.0);
            attack
                * env(pos, 0.5, 3000.0)
                * (2.0 * std::f32::consts::PI * 2000.0 * i as f32 / sr).sin()
        })
        .collect();
    let energy = |v: &[f32]| v.iter().map(|x| x * x).sum::<f32>();
    let mut sums = Vec::new();
    for y in [&kicks, &tones] {
        let mut t = TempoSink::default();
        run(y, &mut [&mut t])?;
        let o = t.onset();
        sums.push((energy(o.low_envelope()), energy(o.high_envelope())));
    }
    let ((kick_low, kick_high), (tone_low, tone_high)) = (sums[0], sums[1]);
    assert!(kick_low > 100.0 * kick_high.max(1e-6), "{sums:?}");
    assert!(tone_high > 100.0 * tone_low.max(1e-6), "{sums:?}");
    Ok(())
}

#[test]
fn spectral_shape_follows_level_brightness_and_noisiness() -> anyhow::Result<()> {
    let stats = |y: &[f32]| -> anyhow::Result<(SpectralStats, Vec<f32>)> {
        let mut s = SpectralSink::default();
        run(y, &mut [&mut s])?;
        Ok((s.stats(), s.block()?))
    };
    let (tone, _) = stats(&sine(1000.0, 2.0, 0.5))?;
    assert!((tone.centroid_hz_mean - 1000.0).abs() < 30.0, "{tone:?}");
    assert!(tone.flatness_mean < 0.01, "{tone:?}");
    let (bright, _) = stats(&sine(4000.0, 2.0, 0.5))?;
    assert!(
        (bright.centroid_log2_khz_mean - tone.centroid_log2_khz_mean - 2.0).abs() < 0.05,
        "two octaves up: {bright:?}"
    );
    // Ten times the amplitude: +20 dB, every frame well above the floor.
    let loud: Vec<f32> = sine(1000.0, 2.0, 0.05).iter().map(|v| v * 10.0).collect();
    let (quiet, _) = stats(&sine(1000.0, 2.0, 0.05))?;
    let (loud, _) = stats(&loud)?;
    assert!((loud.loudness_db_mean - quiet.loudness_db_mean - 20.0).abs() < 1e-3);
    let mut rng = Rng::new(3);
    let noise: Vec<f32> = (0..44_100).map(|_| 0.3 * rng.uniform(-1.0, 1.0)).collect();
    let (noise, _) = stats(&noise)?;
    assert!(noise.flatness_mean > 0.3, "{noise:?}");
    assert!(noise.centroid_hz_mean > 4000.0, "{noise:?}");
    // Silence and no frames at all describe silence with finite values.
    let (silent, block) = stats(&vec![0.0; 22_050])?;
    assert_eq!(silent.silent_frames, silent.frames);
    assert_eq!(silent.loudness_db_mean, LOUDNESS_FLOOR_DB);
    assert_eq!(silent.flatness_mean, 1.0);
    assert!(block.iter().all(|v| v.is_finite()));
    let empty = SpectralSink::default();
    assert_eq!(empty.block()?, block);
    let mut short = [0.0; 5];
    assert!(empty.write_block(&mut short).is_err());
    Ok(())
}
