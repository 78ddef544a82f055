//! Slaney mel scale and filterbank, as `librosa.filters.mel(htk=False, norm='slaney')`.

use crate::{Error, Frame, FrameSink, Matrix, MfccConfig, Result, StftSpec};

const F_SP: f64 = 200.0 / 3.0;
const MIN_LOG_HZ: f64 = 1000.0;
const MIN_LOG_MEL: f64 = MIN_LOG_HZ / F_SP;

fn logstep() -> f64 {
    6.4_f64.ln() / 27.0
}

/// Hz to Slaney mel: linear below 1 kHz (`f / (200/3)`), logarithmic above.
#[must_use]
pub fn hz_to_mel(hz: f64) -> f64 {
    if hz >= MIN_LOG_HZ {
        MIN_LOG_MEL + (hz / MIN_LOG_HZ).ln() / logstep()
    } else {
        hz / F_SP
    }
}

/// Slaney mel to Hz, the inverse of [`hz_to_mel`].
#[must_use]
pub fn mel_to_hz(mel: f64) -> f64 {
    if mel >= MIN_LOG_MEL {
        MIN_LOG_HZ * (logstep() * (mel - MIN_LOG_MEL)).exp()
    } else {
        F_SP * mel
    }
}

/// A mel filterbank with Slaney area normalisation, stored sparsely (each band keeps only its
/// non-zero bins), so applying it costs about `2 · n_bins` multiply-adds per frame.
///
/// # Examples
/// ```
/// use sonority_mfcc::MelFilterbank;
/// let fb = MelFilterbank::new(22_050, 2048, 128, 0.0, 11_025.0)?;
/// assert_eq!((fb.n_mels(), fb.n_bins()), (128, 1025));
/// let power = vec![1.0_f32; 1025];
/// let mut mel = vec![0.0_f32; 128];
/// fb.apply(&power, &mut mel);
/// assert!(mel.iter().all(|&m| m > 0.0));
/// # Ok::<(), sonority_mfcc::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct MelFilterbank {
    n_bins: usize,
    /// Per band: first non-zero bin and the weights from there.
    bands: Vec<(usize, Vec<f32>)>,
}

impl MelFilterbank {
    /// Builds the filterbank for `n_fft`-point frames at `sample_rate` Hz, `n_mels` bands
    /// between `fmin_hz` and `fmax_hz`.
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] if a size is zero or the band edges are out of order.
    pub fn new(
        sample_rate: u32,
        n_fft: usize,
        n_mels: usize,
        fmin_hz: f32,
        fmax_hz: f32,
    ) -> Result<Self> {
        if n_fft < 2 || n_mels == 0 {
            return Err(Error::config("n_mels", "n_fft and n_mels must be positive"));
        }
        if !(fmin_hz >= 0.0 && fmax_hz > fmin_hz && fmax_hz.is_finite()) {
            return Err(Error::config("fmax_hz", "need 0 <= fmin_hz < fmax_hz"));
        }
        let n_bins = n_fft / 2 + 1;
        let sr = f64::from(sample_rate);
        let fft_freqs: Vec<f64> = (0..n_bins)
            .map(|k| k as f64 * (sr / 2.0) / (n_bins - 1) as f64)
            .collect();
        let (mlo, mhi) = (hz_to_mel(f64::from(fmin_hz)), hz_to_mel(f64::from(fmax_hz)));
        let pts = n_mels + 2;
        let mel_f: Vec<f64> = (0..pts)
            .map(|i| mel_to_hz(mlo + (mhi - mlo) * i as f64 / (pts - 1) as f64))
            .collect();
        let mut bands = Vec::with_capacity(n_mels);
        for i in 0..n_mels {
            let (f0, f1, f2) = (mel_f[i], mel_f[i + 1], mel_f[i + 2]);
            let enorm = 2.0 / (f2 - f0);
            let w: Vec<f64> = fft_freqs
                .iter()
                .map(|&f| {
                    let lower = (f - f0) / (f1 - f0);
                    let upper = (f2 - f) / (f2 - f1);
                    lower.min(upper).max(0.0) * enorm
                })
                .collect();
            let first = w.iter().position(|&x| x > 0.0).unwrap_or(0);
            let last = w.iter().rposition(|&x| x > 0.0).map_or(first, |l| l + 1);
            bands.push((first, w[first..last].iter().map(|&x| x as f32).collect()));
        }
        Ok(Self { n_bins, bands })
    }

    /// Builds the filterbank that a configuration describes.
    ///
    /// # Errors
    /// As [`MelFilterbank::new`].
    pub fn from_config(cfg: &MfccConfig) -> Result<Self> {
        Self::new(
            cfg.sample_rate,
            cfg.n_fft,
            cfg.n_mels,
            cfg.fmin_hz,
            cfg.fmax(),
        )
    }

    /// Number of mel bands.
    #[must_use]
    pub fn n_mels(&self) -> usize {
        self.bands.len()
    }

    /// Number of FFT bins expected per frame.
    #[must_use]
    pub fn n_bins(&self) -> usize {
        self.n_bins
    }

    /// The dense `[n_mels, n_bins]` weight matrix, row-major (as librosa returns it).
    #[must_use]
    pub fn to_dense(&self) -> Matrix {
        let mut data = vec![0.0; self.bands.len() * self.n_bins];
        for (i, (first, w)) in self.bands.iter().enumerate() {
            data[i * self.n_bins + first..i * self.n_bins + first + w.len()].copy_from_slice(w);
        }
        Matrix::from_vec(self.bands.len(), self.n_bins, data)
    }

    /// `mel = filterbank · power` for one frame.
    ///
    /// # Panics
    /// If `power.len() != n_bins()` or `mel.len() != n_mels()`.
    pub fn apply(&self, power: &[f32], mel: &mut [f32]) {
        assert_eq!(power.len(), self.n_bins, "power spectrum length");
        assert_eq!(mel.len(), self.bands.len(), "mel output length");
        for (m, (first, w)) in mel.iter_mut().zip(&self.bands) {
            *m = w.iter().zip(&power[*first..]).map(|(a, b)| a * b).sum();
        }
    }
}

/// A [`FrameSink`] that collects the mel power spectrogram of every frame.
///
/// Memory grows with the track (`n_mels` floats per frame, about 4 MB for 3 minutes at 128
/// bands); to stay bounded on long files, consume frames as they come (for example with
/// [`TileSink`](crate::TileSink)).
///
/// # Examples
/// ```
/// use sonority_mfcc::{MelSink, MfccConfig, SliceSource, analyze};
/// let cfg = MfccConfig::default();
/// let tone: Vec<f32> = (0..22_050).map(|i| (i as f32 * 0.1).sin()).collect();
/// let mut mel = MelSink::new(&cfg)?;
/// analyze(&mut SliceSource::new(&tone, 22_050), &cfg.stft_spec(), &mut [&mut mel])?;
/// let m = mel.into_matrix();
/// assert_eq!((m.rows(), m.cols()), (128, 1 + 22_050 / 512));
/// # Ok::<(), sonority_mfcc::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct MelSink {
    fb: MelFilterbank,
    /// Frame-major mel power: frame t occupies `[t·n_mels, (t+1)·n_mels)`.
    frames: Vec<f32>,
    n_frames: usize,
}

impl MelSink {
    /// A sink for the configuration's filterbank.
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] if the configuration is invalid.
    pub fn new(cfg: &MfccConfig) -> Result<Self> {
        cfg.validate()?;
        Ok(Self::with_filterbank(MelFilterbank::from_config(cfg)?))
    }

    /// A sink over a ready filterbank.
    #[must_use]
    pub fn with_filterbank(fb: MelFilterbank) -> Self {
        Self {
            fb,
            frames: Vec::new(),
            n_frames: 0,
        }
    }

    /// Frames collected so far.
    #[must_use]
    pub fn n_frames(&self) -> usize {
        self.n_frames
    }

    /// The mel power spectrogram, `[n_mels, frames]` (bins × frames).
    #[must_use]
    pub fn into_matrix(self) -> Matrix {
        Matrix::from_frame_major(self.fb.n_mels(), self.n_frames, &self.frames)
    }
}

impl FrameSink for MelSink {
    fn begin(&mut self, spec: &StftSpec) -> Result<()> {
        if spec.n_bins() != self.fb.n_bins() {
            return Err(Error::config("n_fft", "filterbank and STFT disagree"));
        }
        Ok(())
    }

    fn frame(&mut self, frame: &Frame<'_>) -> Result<()> {
        let n = self.fb.n_mels();
        let at = self.frames.len();
        self.frames.resize(at + n, 0.0);
        self.fb.apply(frame.power, &mut self.frames[at..]);
        self.n_frames += 1;
        Ok(())
    }
}
