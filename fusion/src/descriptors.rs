//! All descriptors in one sink, for one STFT pass next to the mel spectrogram.

use sonority_mfcc::{Frame, FrameSink, MelBands, StftSpec};

use crate::{
    FeatureExtractor, KeyEstimate, KeySink, Result, RolloffSink, RolloffStats, TempoEstimate,
    TempoSink,
};

/// Key, tempo and roll-off of one track, read after the pass.
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub struct DescriptorSummary {
    /// Key and strength.
    pub key: KeyEstimate,
    /// Tempo and confidence.
    pub tempo: TempoEstimate,
    /// Roll-off statistics.
    pub rolloff: RolloffStats,
    /// The 12-bin chroma, C first, summing to 1 (0 for silence).
    pub chroma: [f32; 12],
    /// Tuning offset in semitones re A = 440 Hz.
    pub tuning_semitones: f32,
}

/// A [`FrameSink`] that runs the key, tempo and roll-off extractors together.
///
/// # Examples
/// ```
/// use sonority_fusion::Descriptors;
/// use sonority_mfcc::{MfccConfig, MfccSink, SliceSource, analyze};
/// let cfg = MfccConfig::default();
/// let y: Vec<f32> = (0..44_100).map(|i| (i as f32 * 0.0627).sin() * 0.5).collect();
/// let mut mfcc = MfccSink::new(&cfg)?;
/// let mut desc = Descriptors::default();
/// analyze(&mut SliceSource::new(&y, 22_050), &cfg.stft_spec(), &mut [&mut mfcc, &mut desc])?;
/// let s = desc.summary()?;
/// assert!(s.rolloff.mean_hz > 200.0 && s.rolloff.mean_hz < 250.0);
/// let blocks = desc.blocks()?;
/// assert_eq!(blocks.iter().map(|(n, _)| *n).collect::<Vec<_>>(), ["key", "tempo", "rolloff"]);
/// # Ok::<(), sonority_fusion::Error>(())
/// ```
#[derive(Debug, Clone, Default)]
pub struct Descriptors {
    /// The key extractor.
    pub key: KeySink,
    /// The tempo extractor.
    pub tempo: TempoSink,
    /// The roll-off extractor.
    pub rolloff: RolloffSink,
}

impl Descriptors {
    /// The default extractors with roll-off at `rolloff_percent` (0.85 by default, 0.9 in the
    /// published design).
    ///
    /// # Errors
    /// [`Error::InvalidConfig`](crate::Error::InvalidConfig) for a percent outside (0, 1).
    pub fn with_rolloff_percent(rolloff_percent: f32) -> Result<Self> {
        Ok(Self {
            rolloff: RolloffSink::new(rolloff_percent)?,
            ..Self::default()
        })
    }

    /// Names and lengths of the blocks, in the order of [`blocks`](Self::blocks): `key` (3),
    /// `tempo` (4), `rolloff` (2).
    #[must_use]
    pub fn block_dims(&self) -> [(&'static str, usize); 3] {
        [
            (self.key.name(), self.key.dim()),
            (self.tempo.name(), self.tempo.dim()),
            (self.rolloff.name(), self.rolloff.dim()),
        ]
    }

    /// Every extractor's block, by name, after the pass.
    ///
    /// # Errors
    /// As [`FeatureExtractor::write_block`].
    pub fn blocks(&self) -> Result<Vec<(&'static str, Vec<f32>)>> {
        let ex: [&dyn FeatureExtractor; 3] = [&self.key, &self.tempo, &self.rolloff];
        ex.iter().map(|e| Ok((e.name(), e.block()?))).collect()
    }

    /// The descriptors in their own units.
    ///
    /// # Errors
    /// As [`TempoSink::estimate`].
    pub fn summary(&self) -> Result<DescriptorSummary> {
        Ok(DescriptorSummary {
            key: self.key.estimate(),
            tempo: self.tempo.estimate()?,
            rolloff: self.rolloff.stats(),
            chroma: self.key.chroma().chroma(),
            tuning_semitones: self.key.chroma().tuning_semitones(),
        })
    }
}

impl FrameSink for Descriptors {
    fn begin(&mut self, spec: &StftSpec) -> sonority_mfcc::Result<()> {
        self.key.begin(spec)?;
        self.tempo.begin(spec)?;
        self.rolloff.begin(spec)
    }
    fn mel_bands(&self) -> Option<MelBands> {
        self.tempo.mel_bands()
    }
    fn frame(&mut self, frame: &Frame<'_>) -> sonority_mfcc::Result<()> {
        self.key.frame(frame)?;
        self.tempo.frame(frame)?;
        self.rolloff.frame(frame)
    }
    fn finish(&mut self) -> sonority_mfcc::Result<()> {
        self.key.finish()?;
        self.tempo.finish()?;
        self.rolloff.finish()
    }
}
