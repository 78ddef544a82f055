//! Analysis parameters, with librosa's defaults.

use crate::{Error, Result, StftSpec};

/// Parameters of the STFT, mel filterbank, dB conversion and MFCC.
///
/// Defaults equal librosa 0.11's (`sr=22050, n_fft=2048, hop_length=512, n_mels=128,
/// n_mfcc=20`, Slaney mel scale with Slaney area normalisation, `amin=1e-10`, `top_db=80`).
/// [`MfccConfig::published_design`] reproduces the published design (256 mel bands, 13 MFCCs).
///
/// # Examples
/// ```
/// use sonority_mfcc::MfccConfig;
/// let cfg = MfccConfig::default().with_n_mels(64).with_n_mfcc(13);
/// assert_eq!(cfg.n_fft, 2048);
/// cfg.validate()?;
/// # Ok::<(), sonority_mfcc::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct MfccConfig {
    /// Analysis sample rate in Hz; sources are resampled to it. Default: `22050`.
    pub sample_rate: u32,
    /// FFT length in samples. Raising it sharpens frequency resolution and costs time per frame.
    /// Default: `2048`.
    pub n_fft: usize,
    /// Hop between frames in samples. Halving it doubles the frames and the cost. Default: `512`.
    pub hop_length: usize,
    /// Number of mel bands. Default: `128`.
    pub n_mels: usize,
    /// Number of MFCCs kept (at most `n_mels`). Default: `20`.
    pub n_mfcc: usize,
    /// Lowest filterbank frequency in Hz. Default: `0.0`.
    pub fmin_hz: f32,
    /// Highest filterbank frequency in Hz; `None` means `sample_rate / 2`. Default: `None`.
    pub fmax_hz: Option<f32>,
    /// Floor applied to power before the logarithm. Default: `1e-10`.
    pub amin: f32,
    /// Dynamic range kept below the maximum, in dB; `None` keeps everything. Default: `Some(80.0)`.
    pub top_db: Option<f32>,
}

impl Default for MfccConfig {
    fn default() -> Self {
        Self {
            sample_rate: 22_050,
            n_fft: 2048,
            hop_length: 512,
            n_mels: 128,
            n_mfcc: 20,
            fmin_hz: 0.0,
            fmax_hz: None,
            amin: 1e-10,
            top_db: Some(80.0),
        }
    }
}

impl MfccConfig {
    /// The published design's parameters: 256 mel bands and 13 MFCCs, otherwise librosa's defaults.
    #[must_use]
    pub fn published_design() -> Self {
        Self {
            n_mels: 256,
            n_mfcc: 13,
            ..Self::default()
        }
    }

    /// Sets [`sample_rate`](Self::sample_rate).
    #[must_use]
    pub fn with_sample_rate(mut self, sample_rate: u32) -> Self {
        self.sample_rate = sample_rate;
        self
    }
    /// Sets [`n_fft`](Self::n_fft).
    #[must_use]
    pub fn with_n_fft(mut self, n_fft: usize) -> Self {
        self.n_fft = n_fft;
        self
    }
    /// Sets [`hop_length`](Self::hop_length).
    #[must_use]
    pub fn with_hop_length(mut self, hop_length: usize) -> Self {
        self.hop_length = hop_length;
        self
    }
    /// Sets [`n_mels`](Self::n_mels).
    #[must_use]
    pub fn with_n_mels(mut self, n_mels: usize) -> Self {
        self.n_mels = n_mels;
        self
    }
    /// Sets [`n_mfcc`](Self::n_mfcc).
    #[must_use]
    pub fn with_n_mfcc(mut self, n_mfcc: usize) -> Self {
        self.n_mfcc = n_mfcc;
        self
    }
    /// Sets [`fmin_hz`](Self::fmin_hz).
    #[must_use]
    pub fn with_fmin_hz(mut self, fmin_hz: f32) -> Self {
        self.fmin_hz = fmin_hz;
        self
    }
    /// Sets [`fmax_hz`](Self::fmax_hz).
    #[must_use]
    pub fn with_fmax_hz(mut self, fmax_hz: Option<f32>) -> Self {
        self.fmax_hz = fmax_hz;
        self
    }
    /// Sets [`amin`](Self::amin).
    #[must_use]
    pub fn with_amin(mut self, amin: f32) -> Self {
        self.amin = amin;
        self
    }
    /// Sets [`top_db`](Self::top_db).
    #[must_use]
    pub fn with_top_db(mut self, top_db: Option<f32>) -> Self {
        self.top_db = top_db;
        self
    }

    /// The STFT part of this configuration.
    #[must_use]
    pub fn stft_spec(&self) -> StftSpec {
        StftSpec {
            sample_rate: self.sample_rate,
            n_fft: self.n_fft,
            hop_length: self.hop_length,
        }
    }

    /// The upper filterbank edge in Hz.
    #[must_use]
    pub fn fmax(&self) -> f32 {
        self.fmax_hz.unwrap_or(self.sample_rate as f32 / 2.0)
    }

    /// Checks every field.
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] naming the first field out of range.
    pub fn validate(&self) -> Result<()> {
        validate_stft(&self.stft_spec())?;
        if self.n_mels == 0 || self.n_mels > 4096 {
            return Err(Error::config("n_mels", "must be in 1..=4096"));
        }
        if self.n_mfcc == 0 || self.n_mfcc > self.n_mels {
            return Err(Error::config("n_mfcc", "must be in 1..=n_mels"));
        }
        let nyquist = self.sample_rate as f32 / 2.0;
        if !(self.fmin_hz.is_finite() && self.fmin_hz >= 0.0) {
            return Err(Error::config("fmin_hz", "must be finite and >= 0"));
        }
        let fmax = self.fmax();
        if !(fmax.is_finite() && fmax > self.fmin_hz && fmax <= nyquist) {
            return Err(Error::config(
                "fmax_hz",
                "must be in (fmin_hz, sample_rate / 2]",
            ));
        }
        if !(self.amin.is_finite() && self.amin > 0.0) {
            return Err(Error::config("amin", "must be finite and > 0"));
        }
        if let Some(t) = self.top_db
            && !(t.is_finite() && t >= 0.0)
        {
            return Err(Error::config("top_db", "must be finite and >= 0"));
        }
        Ok(())
    }
}

pub(crate) fn validate_stft(spec: &StftSpec) -> Result<()> {
    if !(1000..=384_000).contains(&spec.sample_rate) {
        return Err(Error::config("sample_rate", "must be in 1000..=384000 Hz"));
    }
    if spec.n_fft < 16 || spec.n_fft > 1 << 16 || !spec.n_fft.is_multiple_of(2) {
        return Err(Error::config("n_fft", "must be even and in 16..=65536"));
    }
    if spec.hop_length == 0 || spec.hop_length > spec.n_fft {
        return Err(Error::config("hop_length", "must be in 1..=n_fft"));
    }
    Ok(())
}
