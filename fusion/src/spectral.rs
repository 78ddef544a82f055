//! Loudness, spectral centroid and spectral flatness, as librosa computes them per frame,
//! summarised over a track.

use sonority_mfcc::fastmath::log2;
use sonority_mfcc::{Frame, FrameSink, StftSpec};

use crate::extractor::{Running, check_out};
use crate::lanes;
use crate::{FeatureExtractor, ROLLOFF_FLOOR_HZ, Result};

/// Loudness floor of the dB encoding: an RMS below `1e-5` (−100 dBFS) counts as this.
pub const LOUDNESS_FLOOR_DB: f32 = -100.0;

/// `librosa.feature.spectral_flatness`'s `amin`: power values below it count as it.
const FLATNESS_AMIN: f64 = 1e-10;

/// Root mean square of one frame's samples: `librosa.feature.rms(y=y)` for the frame (its
/// default `frame_length = 2048`, `hop_length = 512`, centred frames zero padded at the edges,
/// which is what [`Frame::samples`] holds for the default STFT); 0 for an empty slice.
///
/// # Examples
/// ```
/// use sonority_fusion::frame_rms;
/// assert_eq!(frame_rms(&[0.5, -0.5, 0.5, -0.5]), 0.5);
/// assert_eq!(frame_rms(&[]), 0.0);
/// ```
#[must_use]
pub fn frame_rms(samples: &[f32]) -> f32 {
    if samples.is_empty() {
        return 0.0;
    }
    let energy = lanes::sum_f64(samples, |_, v| f64::from(v) * f64::from(v));
    (energy / samples.len() as f64).sqrt() as f32
}

/// Spectral centroid of one magnitude spectrum in Hz: `Σ f_k |X_k| / Σ |X_k|` over the bins'
/// centre frequencies `f_k = k · sr / n_fft`, as `librosa.feature.spectral_centroid(S=|X|)`;
/// 0 Hz for a silent frame.
///
/// # Examples
/// ```
/// use sonority_fusion::spectral_centroid_hz;
/// use sonority_mfcc::StftSpec;
/// let spec = StftSpec { sample_rate: 8_000, n_fft: 8, hop_length: 4 };
/// // Equal magnitude at 1 and 3 kHz: the centroid lies half way.
/// assert_eq!(spectral_centroid_hz(&[0.0, 1.0, 0.0, 1.0, 0.0], &spec), 2_000.0);
/// assert_eq!(spectral_centroid_hz(&[0.0; 5], &spec), 0.0);
/// ```
#[must_use]
pub fn spectral_centroid_hz(magnitude: &[f32], spec: &StftSpec) -> f32 {
    let num = lanes::sum_f64(magnitude, |k, m| k as f64 * f64::from(m));
    let den = lanes::sum_f64(magnitude, |_, m| f64::from(m));
    if den > 0.0 && den.is_finite() {
        (num / den * f64::from(spec.sample_rate) / spec.n_fft as f64) as f32
    } else {
        0.0
    }
}

/// Spectral flatness of one power spectrum `|X|²`: geometric over arithmetic mean of the power,
/// each bin at least `1e-10`, as `librosa.feature.spectral_flatness` (its default `power = 2`).
/// In `(0, 1]`: near 1 for white noise over the whole band, near 0 for a few sinusoids; 1 for a
/// silent frame (every bin at the floor), as in librosa.
///
/// # Examples
/// ```
/// use sonority_fusion::spectral_flatness;
/// assert!((spectral_flatness(&[2.0; 16]) - 1.0).abs() < 1e-6);
/// assert!(spectral_flatness(&[1.0, 0.0, 0.0, 0.0]) < 1e-6);
/// ```
#[must_use]
pub fn spectral_flatness(power: &[f32]) -> f32 {
    if power.is_empty() {
        return 1.0;
    }
    // Base-2 logarithms through the branch-free `fastmath::log2` (error below 4e-7, in f32
    // as librosa's own float32 arithmetic), summed in eight `f64` lanes: the loop vectorises
    // instead of calling libm once per bin.
    let amin = FLATNESS_AMIN as f32;
    let log_sum = lanes::sum_f64(power, |_, p| f64::from(log2(p.max(amin))));
    let sum = lanes::sum_f64(power, |_, p| f64::from(p.max(amin)));
    let n = power.len() as f64;
    let flat = (log_sum / n).exp2() / (sum / n);
    if flat.is_finite() {
        flat.clamp(0.0, 1.0) as f32
    } else {
        1.0
    }
}

/// Loudness, centroid and flatness over a track.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
#[non_exhaustive]
pub struct SpectralStats {
    /// Mean per-frame RMS over all frames (linear, full scale = 1).
    pub rms_mean: f32,
    /// Mean loudness `20·log10(rms)` in dBFS over all frames (floored at
    /// [`LOUDNESS_FLOOR_DB`]).
    pub loudness_db_mean: f32,
    /// Standard deviation of the loudness in dB: the track's dynamics.
    pub loudness_db_std: f32,
    /// Mean spectral centroid in Hz over the non-silent frames (0 if none).
    pub centroid_hz_mean: f32,
    /// Mean of `log2(max(centroid, 20 Hz) / 1 kHz)` over the non-silent frames (octaves).
    pub centroid_log2_khz_mean: f32,
    /// Standard deviation of the same, in octaves.
    pub centroid_log2_khz_std: f32,
    /// Mean spectral flatness over the non-silent frames, in `(0, 1]` (1 if none, as librosa
    /// gives silence).
    pub flatness_mean: f32,
    /// Mean of `10·log10(flatness)` over the non-silent frames (dB, at most 0).
    pub flatness_db_mean: f32,
    /// Standard deviation of the same, in dB.
    pub flatness_db_std: f32,
    /// Frames seen.
    pub frames: u64,
    /// Frames that were silent (all-zero spectrum).
    pub silent_frames: u64,
}

/// A [`FeatureExtractor`] for loudness, brightness and noisiness: per-frame RMS, spectral
/// centroid and spectral flatness (each as librosa computes it), summarised over the track.
///
/// Block `"spectral"`, 6 values: mean and standard deviation of the loudness in dBFS ÷ 20
/// (decades of amplitude), of the centroid in octaves re 1 kHz, and of the flatness in dB ÷ 10
/// (decades). Log scales throughout, so that doubling the brightness or the amplitude counts
/// the same wherever it happens. Silent frames count in the loudness (at −100 dBFS) but not in
/// the centroid and flatness.
///
/// Optional: not part of [`Descriptors`](crate::Descriptors) (whose blocks a stored model's
/// layout names); add it to the same pass where wanted.
///
/// # Examples
/// ```
/// use sonority_fusion::{FeatureExtractor, SpectralSink};
/// use sonority_mfcc::{MfccConfig, SliceSource, analyze};
/// let tone: Vec<f32> = (0..44_100).map(|i| 0.5 * (i as f32 * 2.0 * std::f32::consts::PI * 1_000.0 / 22_050.0).sin()).collect();
/// let mut spectral = SpectralSink::default();
/// analyze(&mut SliceSource::new(&tone, 22_050), &MfccConfig::default().stft_spec(), &mut [&mut spectral])?;
/// let s = spectral.stats();
/// assert!((s.centroid_hz_mean - 1_000.0).abs() < 50.0, "{s:?}");
/// assert!(s.flatness_mean < 0.01);
/// assert_eq!(spectral.block()?.len(), 6);
/// # Ok::<(), sonority_fusion::Error>(())
/// ```
#[derive(Debug, Clone, Default)]
pub struct SpectralSink {
    spec: Option<StftSpec>,
    rms: Running,
    loudness: Running,
    centroid_hz: Running,
    centroid_log: Running,
    flatness: Running,
    flatness_db: Running,
    frames: u64,
    silent: u64,
}

impl SpectralSink {
    /// An empty sink.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// The statistics of the frames seen so far.
    #[must_use]
    pub fn stats(&self) -> SpectralStats {
        let f = |x: f64| if x.is_finite() { x as f32 } else { 0.0 };
        // With no frames, or no sounding frame, the values describe silence.
        let sounding = self.centroid_log.n > 0;
        SpectralStats {
            rms_mean: f(self.rms.mean()),
            loudness_db_mean: if self.loudness.n > 0 {
                f(self.loudness.mean())
            } else {
                LOUDNESS_FLOOR_DB
            },
            loudness_db_std: f(self.loudness.std()),
            centroid_hz_mean: f(self.centroid_hz.mean()),
            centroid_log2_khz_mean: if sounding {
                f(self.centroid_log.mean())
            } else {
                (ROLLOFF_FLOOR_HZ / 1000.0).log2()
            },
            centroid_log2_khz_std: f(self.centroid_log.std()),
            flatness_mean: if sounding {
                f(self.flatness.mean())
            } else {
                1.0
            },
            flatness_db_mean: f(self.flatness_db.mean()),
            flatness_db_std: f(self.flatness_db.std()),
            frames: self.frames,
            silent_frames: self.silent,
        }
    }
}

impl FrameSink for SpectralSink {
    fn begin(&mut self, spec: &StftSpec) -> sonority_mfcc::Result<()> {
        *self = Self {
            spec: Some(*spec),
            ..Self::default()
        };
        Ok(())
    }

    fn frame(&mut self, frame: &Frame<'_>) -> sonority_mfcc::Result<()> {
        let Some(spec) = self.spec else {
            return Err(sonority_mfcc::Error::sink("spectral: frame before begin"));
        };
        self.frames += 1;
        let rms = f64::from(frame_rms(frame.samples));
        let rms = if rms.is_finite() { rms } else { 0.0 };
        self.rms.push(rms);
        let floor = f64::from(LOUDNESS_FLOOR_DB);
        self.loudness.push((20.0 * rms.log10()).max(floor));
        if frame.power.iter().all(|&p| p == 0.0) {
            self.silent += 1;
            return Ok(());
        }
        let centroid = f64::from(spectral_centroid_hz(frame.magnitude, &spec));
        self.centroid_hz.push(centroid);
        let khz = centroid.max(f64::from(ROLLOFF_FLOOR_HZ)) / 1000.0;
        self.centroid_log.push(khz.log2());
        let flat = f64::from(spectral_flatness(frame.power));
        self.flatness.push(flat);
        self.flatness_db
            .push(10.0 * flat.max(FLATNESS_AMIN).log10());
        Ok(())
    }
}

impl FeatureExtractor for SpectralSink {
    fn name(&self) -> &'static str {
        "spectral"
    }

    fn dim(&self) -> usize {
        6
    }

    fn write_block(&self, out: &mut [f32]) -> Result<()> {
        check_out(self.name(), self.dim(), out)?;
        let s = self.stats();
        let values = [
            s.loudness_db_mean / 20.0,
            s.loudness_db_std / 20.0,
            s.centroid_log2_khz_mean,
            s.centroid_log2_khz_std,
            s.flatness_db_mean / 10.0,
            s.flatness_db_std / 10.0,
        ];
        for (o, v) in out.iter_mut().zip(values) {
            *o = if v.is_finite() { v } else { 0.0 };
        }
        Ok(())
    }
}
