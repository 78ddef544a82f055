//! The shared mel stage: one filterbank product per frame for every sink over the same bands,
//! with values identical to what each sink computes alone.

use sonority_mfcc::{
    Frame, FrameSink, MelBands, MelSink, MelStage, MfccConfig, MfccSink, PartialTile, Result,
    SliceSource, StftSpec, TileSink, analyze,
};

/// Records what the pass handed it: whether a shared mel came, and the dB values it used.
struct Probe {
    bands: MelBands,
    stage: Option<MelStage>,
    shared_frames: usize,
    db: Vec<f32>,
}

impl Probe {
    fn new(bands: MelBands) -> Self {
        Self {
            bands,
            stage: None,
            shared_frames: 0,
            db: Vec::new(),
        }
    }
}

impl FrameSink for Probe {
    fn begin(&mut self, spec: &StftSpec) -> Result<()> {
        self.stage = Some(MelStage::new(spec, &self.bands)?);
        Ok(())
    }
    fn mel_bands(&self) -> Option<MelBands> {
        Some(self.bands)
    }
    fn frame(&mut self, frame: &Frame<'_>) -> Result<()> {
        let Some(stage) = &mut self.stage else {
            return Err(sonority_mfcc::Error::sink("frame before begin"));
        };
        if frame.mel_for(&self.bands).is_some() {
            self.shared_frames += 1;
        }
        self.db.extend_from_slice(stage.frame_mel(frame).db);
        Ok(())
    }
}

fn signal() -> Vec<f32> {
    let mut rng = sonority_testkit::Rng::new(1);
    (0..22_050 * 2)
        .map(|i| {
            let noise = rng.uniform(-0.5, 0.5);
            0.4 * (i as f32 * 0.07).sin() + 0.1 * noise
        })
        .collect()
}

#[test]
fn sinks_over_the_same_bands_share_one_mel_and_get_what_they_would_compute_alone() -> Result<()> {
    let y = signal();
    let cfg = MfccConfig::default();
    let spec = cfg.stft_spec();
    let bands = MelBands::from_config(&cfg);
    let other = MelBands::new(40, 0.0, 8_000.0);

    // Alone: the probe is the first (and only) to name bands, so it gets the shared mel.
    let mut alone = Probe::new(bands);
    let a = analyze(&mut SliceSource::new(&y, 22_050), &spec, &mut [&mut alone])?;
    assert_eq!(alone.shared_frames, a.frames);

    // Behind a sink with other bands: no shared mel for it, it computes its own, same values.
    let mut first = Probe::new(other);
    let mut second = Probe::new(bands);
    analyze(
        &mut SliceSource::new(&y, 22_050),
        &spec,
        &mut [&mut first, &mut second],
    )?;
    assert_eq!(first.shared_frames, a.frames);
    assert_eq!(second.shared_frames, 0);
    assert_eq!(
        second.db, alone.db,
        "fallback and shared mel must agree bit for bit"
    );

    // Behind a boxed sink with the same bands: wrappers forward `mel_bands`.
    let mut boxed: Box<dyn FrameSink> = Box::new(Probe::new(bands));
    let mut third = Probe::new(bands);
    analyze(
        &mut SliceSource::new(&y, 22_050),
        &spec,
        &mut [&mut boxed, &mut third],
    )?;
    assert_eq!(third.shared_frames, a.frames);
    assert_eq!(third.db, alone.db);
    Ok(())
}

#[test]
fn mel_and_tiles_are_the_same_with_or_without_a_shared_stage() -> Result<()> {
    let y = signal();
    let cfg = MfccConfig::default();
    let spec = cfg.stft_spec();

    let mut mel_alone = MelSink::new(&cfg)?;
    analyze(
        &mut SliceSource::new(&y, 22_050),
        &spec,
        &mut [&mut mel_alone],
    )?;
    // A sink over other bands first: MelSink falls back to its own filterbank.
    let mut first = Probe::new(MelBands::new(64, 100.0, 5_000.0));
    let mut mel_fallback = MelSink::new(&cfg)?;
    analyze(
        &mut SliceSource::new(&y, 22_050),
        &spec,
        &mut [&mut first, &mut mel_fallback],
    )?;
    assert_eq!(mel_alone.into_matrix(), mel_fallback.into_matrix());

    let collect = |shared_first: bool| -> Result<Vec<f32>> {
        let mut out = Vec::new();
        {
            let mut tiles = TileSink::new(&cfg, 32, 32, PartialTile::Drop, |t| {
                out.extend_from_slice(t.data);
                Ok(())
            })?;
            let mut mfcc = MfccSink::new(&cfg)?;
            let mut other = Probe::new(MelBands::new(20, 0.0, 4_000.0));
            if shared_first {
                analyze(
                    &mut SliceSource::new(&y, 22_050),
                    &spec,
                    &mut [&mut mfcc, &mut tiles],
                )?;
            } else {
                analyze(
                    &mut SliceSource::new(&y, 22_050),
                    &spec,
                    &mut [&mut other, &mut tiles, &mut mfcc],
                )?;
            }
        }
        Ok(out)
    };
    let shared = collect(true)?;
    assert!(!shared.is_empty());
    assert_eq!(shared, collect(false)?);
    Ok(())
}

#[test]
fn the_shared_db_is_within_the_documented_error_of_libm() -> Result<()> {
    let spec = StftSpec {
        sample_rate: 22_050,
        n_fft: 2048,
        hop_length: 512,
    };
    let mut stage = MelStage::new(&spec, &MelBands::new(128, 0.0, 11_025.0))?;
    let power: Vec<f32> = (0..1025).map(|k| 1e-12 * 1.05_f32.powi(k % 700)).collect();
    let mel = stage.compute(&power);
    for (&p, &d) in mel.power.iter().zip(mel.db) {
        let exact = 10.0 * f64::from(p.max(1e-10)).log10();
        assert!((f64::from(d) - exact).abs() < 1.3e-5, "{p}: {d} vs {exact}");
    }
    Ok(())
}
