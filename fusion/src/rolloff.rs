//! Spectral roll-off, as `librosa.feature.spectral_rolloff`, summarised over a track.

use sonority_mfcc::{Frame, FrameSink, StftSpec};

use crate::extractor::{Running, check_out};
use crate::{Error, FeatureExtractor, Result};

/// Frequency floor of the log-frequency encoding, in Hz: silent frames and roll-offs below it
/// count as this.
pub const ROLLOFF_FLOOR_HZ: f32 = 20.0;

/// Roll-off of one magnitude spectrum: the lowest bin centre frequency `k · sr / n_fft` whose
/// cumulative magnitude over bins `0..=k` reaches `percent` of the frame's total; 0 Hz for a
/// silent frame. Exactly `librosa.feature.spectral_rolloff` on one column (float32 cumulative
/// sum, as numpy computes it).
///
/// # Examples
/// ```
/// use sonority_fusion::rolloff_hz;
/// use sonority_mfcc::StftSpec;
/// let spec = StftSpec { sample_rate: 22_050, n_fft: 8, hop_length: 4 };
/// let mag = [0.0, 1.0, 1.0, 1.0, 1.0];
/// assert_eq!(rolloff_hz(&mag, &spec, 0.5), 2.0 * 22_050.0 / 8.0);
/// assert_eq!(rolloff_hz(&[0.0; 5], &spec, 0.85), 0.0);
/// ```
#[must_use]
pub fn rolloff_hz(magnitude: &[f32], spec: &StftSpec, percent: f32) -> f32 {
    let total: f32 = magnitude.iter().fold(0.0, |a, &m| a + m);
    let threshold = percent * total;
    let mut acc = 0.0_f32;
    for (k, &m) in magnitude.iter().enumerate() {
        acc += m;
        if acc >= threshold {
            return spec.bin_hz(k);
        }
    }
    spec.bin_hz(magnitude.len().saturating_sub(1))
}

/// Roll-off over a track: mean and spread in Hz (as librosa would average its frames) and, for
/// the fused vector, on a log-frequency scale.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
#[non_exhaustive]
pub struct RolloffStats {
    /// Mean roll-off over all frames in Hz (silent frames count as 0 Hz, as in librosa).
    pub mean_hz: f32,
    /// Population standard deviation over all frames in Hz.
    pub std_hz: f32,
    /// Mean of `log2(max(hz, 20) / 1000)` over the non-silent frames (octaves re 1 kHz).
    pub mean_log2_khz: f32,
    /// Standard deviation of the same, in octaves.
    pub std_log2_khz: f32,
    /// Frames seen.
    pub frames: u64,
    /// Frames that were silent (all-zero spectrum).
    pub silent_frames: u64,
}

/// A [`FeatureExtractor`] for spectral roll-off.
///
/// Block `"rolloff"`, 2 values: mean and standard deviation of the per-frame roll-off in octaves
/// relative to 1 kHz (`log2(max(hz, 20) / 1000)`), over the non-silent frames. A log scale
/// makes a shift from 2 to 4 kHz count as much as one from 4 to 8 kHz, as it sounds.
///
/// # Examples
/// ```
/// use sonority_fusion::RolloffSink;
/// use sonority_mfcc::{MfccConfig, SliceSource, analyze};
/// let noise: Vec<f32> = (0..22_050u32).map(|i| ((i.wrapping_mul(2_654_435_761) >> 8) as f32 / 8_388_608.0) - 1.0).collect();
/// let mut sink = RolloffSink::new(0.85)?;
/// analyze(&mut SliceSource::new(&noise, 22_050), &MfccConfig::default().stft_spec(), &mut [&mut sink])?;
/// // White noise: 85 % of the magnitude lies below about 0.85 × 11025 Hz.
/// assert!((sink.stats().mean_hz - 9_370.0).abs() < 300.0);
/// # Ok::<(), sonority_fusion::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct RolloffSink {
    percent: f32,
    spec: Option<StftSpec>,
    hz: Running,
    log: Running,
    silent: u64,
}

impl Default for RolloffSink {
    /// librosa's default, 85 %.
    fn default() -> Self {
        Self {
            percent: 0.85,
            spec: None,
            hz: Running::default(),
            log: Running::default(),
            silent: 0,
        }
    }
}

impl RolloffSink {
    /// A sink for roll-off at `percent` of the magnitude (librosa's `roll_percent`, 0.85 by
    /// default; the published design used 0.9).
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] unless `0 < percent < 1`.
    pub fn new(percent: f32) -> Result<Self> {
        if !(percent > 0.0 && percent < 1.0) {
            return Err(Error::config(
                "percent",
                "roll-off percent must be in (0, 1)",
            ));
        }
        Ok(Self {
            percent,
            ..Self::default()
        })
    }

    /// The published design's preset: roll-off at 90 %.
    #[must_use]
    pub fn published_design() -> Self {
        Self {
            percent: 0.9,
            ..Self::default()
        }
    }

    /// The roll-off percent.
    #[must_use]
    pub fn percent(&self) -> f32 {
        self.percent
    }

    /// The statistics so far.
    #[must_use]
    pub fn stats(&self) -> RolloffStats {
        let floor = (ROLLOFF_FLOOR_HZ / 1000.0).log2();
        RolloffStats {
            mean_hz: self.hz.mean() as f32,
            std_hz: self.hz.std() as f32,
            mean_log2_khz: if self.log.n == 0 {
                floor
            } else {
                self.log.mean() as f32
            },
            std_log2_khz: self.log.std() as f32,
            frames: self.hz.n,
            silent_frames: self.silent,
        }
    }
}

impl FrameSink for RolloffSink {
    fn begin(&mut self, spec: &StftSpec) -> sonority_mfcc::Result<()> {
        self.spec = Some(*spec);
        Ok(())
    }

    fn frame(&mut self, frame: &Frame<'_>) -> sonority_mfcc::Result<()> {
        let Some(spec) = self.spec else {
            return Err(sonority_mfcc::Error::sink("roll-off: frame before begin"));
        };
        let hz = rolloff_hz(frame.magnitude, &spec, self.percent);
        self.hz.push(f64::from(hz));
        if frame.magnitude.iter().all(|&m| m == 0.0) {
            self.silent += 1;
        } else {
            self.log
                .push(f64::from((hz.max(ROLLOFF_FLOOR_HZ) / 1000.0).log2()));
        }
        Ok(())
    }
}

impl FeatureExtractor for RolloffSink {
    fn name(&self) -> &'static str {
        "rolloff"
    }

    fn dim(&self) -> usize {
        2
    }

    fn write_block(&self, out: &mut [f32]) -> Result<()> {
        check_out(self.name(), self.dim(), out)?;
        let s = self.stats();
        out[0] = s.mean_log2_khz;
        out[1] = s.std_log2_khz;
        Ok(())
    }
}
