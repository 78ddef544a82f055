//! Slaney mel scale and filterbank, as `librosa.filters.mel(htk=False, norm='slaney')`.

use crate::{Error, Frame, FrameSink, Matrix, MfccConfig, Result, StftSpec, fastmath};

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

/// The band layout of a mel filterbank: how many bands between which edge frequencies.
///
/// With the STFT's sample rate and `n_fft` it determines the filterbank (Slaney scale and area
/// normalisation, as librosa's defaults). Sinks name the bands they want in
/// [`FrameSink::mel_bands`], so that one pass computes a shared mel spectrum once per frame.
///
/// # Examples
/// ```
/// use sonority_mfcc::{MelBands, MfccConfig};
/// let b = MelBands::from_config(&MfccConfig::default());
/// assert_eq!((b.n_mels, b.fmin_hz, b.fmax_hz), (128, 0.0, 11_025.0));
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub struct MelBands {
    /// Number of mel bands.
    pub n_mels: usize,
    /// Lower edge of the lowest band, in Hz.
    pub fmin_hz: f32,
    /// Upper edge of the highest band, in Hz.
    pub fmax_hz: f32,
}

impl MelBands {
    /// `n_mels` bands between `fmin_hz` and `fmax_hz`.
    #[must_use]
    pub fn new(n_mels: usize, fmin_hz: f32, fmax_hz: f32) -> Self {
        Self {
            n_mels,
            fmin_hz,
            fmax_hz,
        }
    }

    /// The bands of a configuration (`fmax` resolved to Nyquist when unset).
    #[must_use]
    pub fn from_config(cfg: &MfccConfig) -> Self {
        Self::new(cfg.n_mels, cfg.fmin_hz, cfg.fmax())
    }
}

/// A mel filterbank with Slaney area normalisation, stored sparsely (each band keeps only its
/// non-zero bins, padded with zero weights to a multiple of eight), so applying it costs about
/// `2 · n_bins` multiply-adds per frame, summed in eight independent lanes that vectorise.
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
    sample_rate: u32,
    n_bins: usize,
    bands: MelBands,
    /// Per band: first bin, offset into `weights`, length (a multiple of 8 unless the band
    /// reaches the last bins of a tiny spectrum).
    spans: Vec<(usize, usize, usize)>,
    weights: Vec<f32>,
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
        let bin_hz = (sr / 2.0) / (n_bins - 1) as f64;
        let (mlo, mhi) = (hz_to_mel(f64::from(fmin_hz)), hz_to_mel(f64::from(fmax_hz)));
        let pts = n_mels + 2;
        let mel_f: Vec<f64> = (0..pts)
            .map(|i| mel_to_hz(mlo + (mhi - mlo) * i as f64 / (pts - 1) as f64))
            .collect();
        let mut spans = Vec::with_capacity(n_mels);
        let mut weights = Vec::new();
        for i in 0..n_mels {
            let (f0, f1, f2) = (mel_f[i], mel_f[i + 1], mel_f[i + 2]);
            let enorm = 2.0 / (f2 - f0);
            // librosa's triangle at bin k (fft frequency k·sr/n_fft, computed as librosa does).
            let w = |k: usize| {
                let f = k as f64 * bin_hz;
                let lower = (f - f0) / (f1 - f0);
                let upper = (f2 - f) / (f2 - f1);
                (lower.min(upper).max(0.0) * enorm) as f32
            };
            // Only bins inside (f0, f2) can be non-zero: evaluate those (widened by one bin
            // for rounding), not the whole spectrum, so building costs O(n_bins), not
            // O(n_mels · n_bins).
            let k0 = ((f0 / bin_hz).floor().max(1.0) as usize - 1).min(n_bins);
            let k1 = ((f2 / bin_hz).ceil() as usize + 2).min(n_bins);
            let first = (k0..k1).find(|&k| w(k) > 0.0).unwrap_or(k0.min(n_bins - 1));
            let last = (k0..k1)
                .rev()
                .find(|&k| w(k) > 0.0)
                .map_or(first, |l| l + 1);
            let len = (last - first).div_ceil(8) * 8;
            // Pad at the end, or shift the start down where the end would pass the last bin.
            let start = first.min(n_bins.saturating_sub(len));
            let len = len.min(n_bins - start);
            spans.push((start, weights.len(), len));
            weights.extend((start..start + len).map(w));
        }
        Ok(Self {
            sample_rate,
            n_bins,
            bands: MelBands::new(n_mels, fmin_hz, fmax_hz),
            spans,
            weights,
        })
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

    /// Builds the filterbank of `bands` for the STFT `spec`.
    ///
    /// # Errors
    /// As [`MelFilterbank::new`].
    pub fn for_stft(spec: &StftSpec, bands: &MelBands) -> Result<Self> {
        Self::new(
            spec.sample_rate,
            spec.n_fft,
            bands.n_mels,
            bands.fmin_hz,
            bands.fmax_hz,
        )
    }

    /// Number of mel bands.
    #[must_use]
    pub fn n_mels(&self) -> usize {
        self.spans.len()
    }

    /// Number of FFT bins expected per frame.
    #[must_use]
    pub fn n_bins(&self) -> usize {
        self.n_bins
    }

    /// Whether the filterbank was built for this STFT (same sample rate and `n_fft`), so that
    /// it equals [`MelFilterbank::for_stft`] of its [`bands`](Self::bands).
    #[must_use]
    pub fn matches(&self, spec: &StftSpec) -> bool {
        self.sample_rate == spec.sample_rate && self.n_bins == spec.n_bins()
    }

    /// The band layout this filterbank was built for.
    #[must_use]
    pub fn bands(&self) -> MelBands {
        self.bands
    }

    /// The dense `[n_mels, n_bins]` weight matrix, row-major (as librosa returns it).
    #[must_use]
    pub fn to_dense(&self) -> Matrix {
        let mut data = vec![0.0; self.spans.len() * self.n_bins];
        for (i, &(first, off, len)) in self.spans.iter().enumerate() {
            data[i * self.n_bins + first..i * self.n_bins + first + len]
                .copy_from_slice(&self.weights[off..off + len]);
        }
        Matrix::from_vec(self.spans.len(), self.n_bins, data)
    }

    /// `mel = filterbank · power` for one frame.
    ///
    /// # Panics
    /// If `power.len() != n_bins()` or `mel.len() != n_mels()`.
    pub fn apply(&self, power: &[f32], mel: &mut [f32]) {
        assert_eq!(power.len(), self.n_bins, "power spectrum length");
        assert_eq!(mel.len(), self.spans.len(), "mel output length");
        for (m, &(first, off, len)) in mel.iter_mut().zip(&self.spans) {
            *m = dot8(&self.weights[off..off + len], &power[first..first + len]);
        }
    }
}

/// `Σ a[i]·b[i]` with eight partial sums (a sequential float sum cannot be reordered, so it
/// would stay scalar).
#[inline]
fn dot8(a: &[f32], b: &[f32]) -> f32 {
    let mut acc = [0.0_f32; 8];
    let (ca, cb) = (a.chunks_exact(8), b.chunks_exact(8));
    let tail: f32 = ca
        .remainder()
        .iter()
        .zip(cb.remainder())
        .map(|(p, q)| p * q)
        .sum();
    for (p, q) in ca.zip(cb) {
        for i in 0..8 {
            acc[i] += p[i] * q[i];
        }
    }
    ((acc[0] + acc[4]) + (acc[2] + acc[6])) + ((acc[1] + acc[5]) + (acc[3] + acc[7])) + tail
}

/// One frame's mel spectrum, computed once per pass for every sink that asked for these bands.
///
/// `db` is `10·log10(max(power, 1e-10))` through [`fastmath::power_to_db_into`]
/// (within `1.3e-5` dB of libm): librosa's `power_to_db(ref=1.0, amin=1e-10)` per frame, without
/// the whole-track `top_db` clipping, which needs the whole track.
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub struct MelFrame<'a> {
    /// The bands.
    pub bands: MelBands,
    /// Mel power, `n_mels` values.
    pub power: &'a [f32],
    /// Mel power in dB (`amin = 1e-10`), `n_mels` values.
    pub db: &'a [f32],
}

impl MelFrame<'_> {
    /// Writes the dB values with floor `amin` into `out`: a copy of [`db`](Self::db) for the
    /// default [`MEL_DB_AMIN`], else computed from [`power`](Self::power) the same way.
    ///
    /// # Examples
    /// ```
    /// use sonority_mfcc::{MelBands, MelStage, StftSpec};
    /// let spec = StftSpec { sample_rate: 16_000, n_fft: 512, hop_length: 128 };
    /// let mut stage = MelStage::new(&spec, &MelBands::new(40, 0.0, 8_000.0))?;
    /// let mel = stage.compute(&vec![0.0; 257]);
    /// let mut out = vec![0.0; 40];
    /// mel.db_with_amin(1e-5, &mut out);
    /// assert!(out.iter().all(|&d| (d + 50.0).abs() < 1e-3));
    /// # Ok::<(), sonority_mfcc::Error>(())
    /// ```
    pub fn db_with_amin(&self, amin: f32, out: &mut [f32]) {
        if amin.to_bits() == MEL_DB_AMIN.to_bits() {
            out.copy_from_slice(self.db);
        } else {
            fastmath::power_to_db_into(self.power, amin, out);
        }
    }
}

/// The floor of [`MelFrame::db`]'s power, librosa's default `amin`.
pub const MEL_DB_AMIN: f32 = 1e-10;

/// A filterbank with its output buffers: what the STFT runs once per frame when sinks share a
/// mel spectrum, and what a sink runs itself when the pass's shared bands are not its own.
///
/// # Examples
/// ```
/// use sonority_mfcc::{MelBands, MelStage, StftSpec};
/// let spec = StftSpec { sample_rate: 22_050, n_fft: 2048, hop_length: 512 };
/// let mut stage = MelStage::new(&spec, &MelBands::new(128, 0.0, 11_025.0))?;
/// let mel = stage.compute(&vec![1.0; 1025]);
/// assert_eq!(mel.db.len(), 128);
/// # Ok::<(), sonority_mfcc::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct MelStage {
    fb: MelFilterbank,
    power: Vec<f32>,
    db: Vec<f32>,
}

impl MelStage {
    /// The stage of `bands` for the STFT `spec`.
    ///
    /// # Errors
    /// As [`MelFilterbank::new`].
    pub fn new(spec: &StftSpec, bands: &MelBands) -> Result<Self> {
        Ok(Self::with_filterbank(MelFilterbank::for_stft(spec, bands)?))
    }

    /// The stage of a ready filterbank.
    #[must_use]
    pub fn with_filterbank(fb: MelFilterbank) -> Self {
        let n = fb.n_mels();
        Self {
            fb,
            power: vec![0.0; n],
            db: vec![0.0; n],
        }
    }

    /// The filterbank.
    #[must_use]
    pub fn filterbank(&self) -> &MelFilterbank {
        &self.fb
    }

    /// The mel spectrum of `frame`: the pass's shared one when its bands are this stage's,
    /// else computed here from the frame's power spectrum. Either way the values are the same.
    ///
    /// # Panics
    /// If the frame's power spectrum does not have the filterbank's `n_bins` (check
    /// [`MelFilterbank::matches`] in [`FrameSink::begin`]).
    pub fn frame_mel<'s>(&'s mut self, frame: &'s Frame<'_>) -> MelFrame<'s> {
        match frame.mel_for(&self.fb.bands) {
            Some(m) => *m,
            None => self.compute(frame.power),
        }
    }

    /// Mel power and dB of one power spectrum.
    ///
    /// # Panics
    /// If `power.len()` is not the filterbank's `n_bins`.
    pub fn compute(&mut self, power: &[f32]) -> MelFrame<'_> {
        self.fb.apply(power, &mut self.power);
        fastmath::power_to_db_into(&self.power, MEL_DB_AMIN, &mut self.db);
        MelFrame {
            bands: self.fb.bands,
            power: &self.power,
            db: &self.db,
        }
    }
}

/// `LogMelStage` is the one log-mel adapter of a frame sink: a [`MelStage`] (the pass's shared
/// mel spectrum when the bands match) and the dB conversion `10·log10(max(mel, amin))`
/// (`ref = 1.0`, no `top_db`, which would need the whole track), with the checks and the band
/// description every log-mel sink needs in [`FrameSink::begin`] and
/// [`FrameSink::mel_bands`].
///
/// # Examples
/// ```
/// use sonority_mfcc::{LogMelStage, MfccConfig};
/// let stage = LogMelStage::new(&MfccConfig::default())?;
/// assert_eq!(stage.n_mels(), 128);
/// assert!((stage.floor_db() + 100.0).abs() < 1e-3); // amin = 1e-10
/// # Ok::<(), sonority_mfcc::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct LogMelStage {
    stage: MelStage,
    amin: f32,
}

impl LogMelStage {
    /// The stage of `cfg`'s mel filterbank and `amin`.
    ///
    /// # Errors
    /// An invalid configuration.
    pub fn new(cfg: &MfccConfig) -> Result<Self> {
        cfg.validate()?;
        Ok(Self {
            stage: MelStage::with_filterbank(MelFilterbank::from_config(cfg)?),
            amin: cfg.amin,
        })
    }

    /// Mel bands.
    #[must_use]
    pub fn n_mels(&self) -> usize {
        self.stage.filterbank().n_mels()
    }

    /// The dB value of silence, `10·log10(amin)`.
    #[must_use]
    pub fn floor_db(&self) -> f32 {
        10.0 * self.amin.max(f32::MIN_POSITIVE).log10()
    }

    /// The bands, for [`FrameSink::mel_bands`].
    #[must_use]
    pub fn bands(&self) -> MelBands {
        self.stage.filterbank().bands()
    }

    /// Checks that the STFT of a pass is the one the filterbank was built for, for
    /// [`FrameSink::begin`].
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] when the sample rate or `n_fft` differ.
    pub fn check(&self, spec: &StftSpec) -> Result<()> {
        if self.stage.filterbank().matches(spec) {
            Ok(())
        } else {
            Err(Error::config(
                "n_fft",
                "filterbank and STFT disagree (sample rate or n_fft)",
            ))
        }
    }

    /// Writes `frame`'s log-mel dB values into `out` (`n_mels` values).
    ///
    /// # Panics
    /// As [`MelStage::frame_mel`]; and if `out.len()` is not `n_mels`.
    pub fn frame_db(&mut self, frame: &Frame<'_>, out: &mut [f32]) {
        self.stage.frame_mel(frame).db_with_amin(self.amin, out);
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
        if !self.fb.matches(spec) {
            return Err(Error::config(
                "n_fft",
                "filterbank and STFT disagree (sample rate or n_fft)",
            ));
        }
        Ok(())
    }

    fn mel_bands(&self) -> Option<MelBands> {
        Some(self.fb.bands())
    }

    fn frame(&mut self, frame: &Frame<'_>) -> Result<()> {
        let n = self.fb.n_mels();
        let at = self.frames.len();
        if let Some(mel) = frame.mel_for(&self.fb.bands()) {
            self.frames.extend_from_slice(mel.power);
        } else {
            self.frames.resize(at + n, 0.0);
            self.fb.apply(frame.power, &mut self.frames[at..]);
        }
        self.n_frames += 1;
        Ok(())
    }
}
