//! MFCC: dB mel spectrogram, then an orthonormal DCT-II, as `librosa.feature.mfcc`.

use crate::{
    DbRef, Frame, FrameSink, Matrix, MelBands, MelSink, MfccConfig, Result, StftSpec, power_to_db,
};

/// The orthonormal DCT-II matrix `[n_out, n_in]` (`scipy.fft.dct(type=2, norm='ortho')`),
/// row-major: `c_k = s_k Σ_n x_n cos(πk(2n+1)/(2N))`, `s_0 = √(1/N)`, `s_k = √(2/N)`.
#[must_use]
pub fn dct_ortho_matrix(n_out: usize, n_in: usize) -> Matrix {
    let n = n_in as f64;
    let mut data = Vec::with_capacity(n_out * n_in);
    for k in 0..n_out {
        let s = if k == 0 {
            (1.0 / n).sqrt()
        } else {
            (2.0 / n).sqrt()
        };
        for i in 0..n_in {
            let v =
                s * (std::f64::consts::PI * k as f64 * (2.0 * i as f64 + 1.0) / (2.0 * n)).cos();
            data.push(v as f32);
        }
    }
    Matrix::from_vec(n_out, n_in, data)
}

/// Turns a mel power spectrogram `[n_mels, frames]` into MFCCs `[n_mfcc, frames]`:
/// `power_to_db(ref=1.0, amin, top_db)` over the whole matrix, then the orthonormal DCT-II.
///
/// # Examples
/// ```
/// use sonority_mfcc::{Matrix, MfccConfig, mfcc_from_mel};
/// let mel = Matrix::from_vec(128, 2, vec![1.0; 256]);
/// let m = mfcc_from_mel(&mel, &MfccConfig::default());
/// assert_eq!(m.shape(), (20, 2));
/// ```
#[must_use]
pub fn mfcc_from_mel(mel_power: &Matrix, cfg: &MfccConfig) -> Matrix {
    let mut db = mel_power.clone();
    power_to_db(db.as_mut_slice(), DbRef::Value(1.0), cfg.amin, cfg.top_db);
    let (n_mels, frames) = db.shape();
    let n_mfcc = cfg.n_mfcc.min(n_mels);
    let dct = dct_ortho_matrix(n_mfcc, n_mels);
    let mut out = vec![0.0_f32; n_mfcc * frames];
    for k in 0..n_mfcc {
        let o = &mut out[k * frames..(k + 1) * frames];
        for (m, &w) in dct.row(k).iter().enumerate() {
            for (dst, &x) in o.iter_mut().zip(db.row(m)) {
                *dst += w * x;
            }
        }
    }
    Matrix::from_vec(n_mfcc, frames, out)
}

/// A [`FrameSink`] that computes MFCCs exactly as `librosa.feature.mfcc`.
///
/// librosa's `top_db` clipping uses the maximum over the whole track, so this sink keeps the
/// mel spectrogram until [`into_matrix`](Self::into_matrix) (`n_mels` floats per frame). For
/// bounded memory on very long files use per-tile features ([`TileSink`](crate::TileSink)).
///
/// # Examples
/// ```
/// use sonority_mfcc::{MfccConfig, MfccSink, SliceSource, analyze};
/// let cfg = MfccConfig::default();
/// let tone: Vec<f32> = (0..22_050).map(|i| 0.5 * (i as f32 * 0.125).sin()).collect();
/// let mut mfcc = MfccSink::new(&cfg)?;
/// analyze(&mut SliceSource::new(&tone, 22_050), &cfg.stft_spec(), &mut [&mut mfcc])?;
/// let m = mfcc.into_matrix();
/// assert_eq!(m.shape(), (20, 44));
/// assert!(m.as_slice().iter().all(|v| v.is_finite()));
/// # Ok::<(), sonority_mfcc::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct MfccSink {
    cfg: MfccConfig,
    mel: MelSink,
}

impl MfccSink {
    /// A sink for `cfg`.
    ///
    /// # Errors
    /// [`Error::InvalidConfig`](crate::Error::InvalidConfig) if the configuration is invalid.
    pub fn new(cfg: &MfccConfig) -> Result<Self> {
        Ok(Self {
            cfg: cfg.clone(),
            mel: MelSink::new(cfg)?,
        })
    }

    /// The MFCC matrix `[n_mfcc, frames]`.
    #[must_use]
    pub fn into_matrix(self) -> Matrix {
        mfcc_from_mel(&self.mel.into_matrix(), &self.cfg)
    }

    /// Both the mel power spectrogram `[n_mels, frames]` and the MFCCs `[n_mfcc, frames]`.
    #[must_use]
    pub fn into_mel_and_mfcc(self) -> (Matrix, Matrix) {
        let mel = self.mel.into_matrix();
        let mfcc = mfcc_from_mel(&mel, &self.cfg);
        (mel, mfcc)
    }
}

impl FrameSink for MfccSink {
    fn begin(&mut self, spec: &StftSpec) -> Result<()> {
        self.mel.begin(spec)
    }
    fn mel_bands(&self) -> Option<MelBands> {
        self.mel.mel_bands()
    }
    fn frame(&mut self, frame: &Frame<'_>) -> Result<()> {
        self.mel.frame(frame)
    }
}
