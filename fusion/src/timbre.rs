//! Streaming timbre statistics: mean and standard deviation of MFCCs over a track.
//!
//! This is the classic MFCC-statistics baseline of music similarity, computed in the same STFT
//! pass as everything else, with memory independent of track length. It is both a fusion block
//! (`timbre`, a [`FeatureExtractor`] like key and tempo) and the baseline that `evaluate`
//! compares models against.

use sonority_mfcc::{
    Frame, FrameSink, LogMelStage, MelBands, MfccConfig, Result as MfccResult, StftSpec,
    dct_ortho_matrix,
};

use crate::extractor::check_out;
use crate::{FeatureExtractor, Result};

/// A [`FrameSink`] accumulating the per-coefficient mean and standard deviation of MFCCs: the
/// `timbre` block.
///
/// Per frame: mel power → dB (`ref = 1.0`, floor at `amin`; the pass's shared mel spectrum when
/// another sink reads the same bands) → orthonormal DCT-II, as librosa's
/// MFCC except that librosa's whole-track `top_db` clipping, which needs the whole track, is
/// replaced by a fixed floor of −100 dB per value (so silence stays finite and bounded).
///
/// # Examples
/// ```
/// use sonority_fusion::{FeatureExtractor, TimbreSink};
/// use sonority_mfcc::{MfccConfig, SliceSource, analyze};
/// let cfg = MfccConfig::default();
/// let tone: Vec<f32> = (0..22_050).map(|i| (i as f32 * 0.2).sin()).collect();
/// let mut timbre = TimbreSink::new(&cfg)?;
/// analyze(&mut SliceSource::new(&tone, 22_050), &cfg.stft_spec(), &mut [&mut timbre])?;
/// let v = timbre.block()?;
/// assert_eq!((timbre.name(), v.len()), ("timbre", 40));
/// assert!(v.iter().all(|x| x.is_finite()));
/// # Ok::<(), sonority_fusion::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct TimbreSink {
    logmel: LogMelStage,
    dct: Vec<f32>,
    mel: Vec<f32>,
    coef: Vec<f32>,
    sum: Vec<f64>,
    sum_sq: Vec<f64>,
    frames: u64,
}

/// The floor of the per-frame dB values of [`TimbreSink`], in dB.
pub const TIMBRE_DB_FLOOR: f32 = -100.0;

impl TimbreSink {
    /// Statistics of `cfg.n_mfcc` coefficients over `cfg.n_mels` bands.
    ///
    /// # Errors
    /// An invalid configuration.
    pub fn new(cfg: &MfccConfig) -> MfccResult<Self> {
        let logmel = LogMelStage::new(cfg)?;
        let dct = dct_ortho_matrix(cfg.n_mfcc, cfg.n_mels).into_vec();
        Ok(Self {
            mel: vec![0.0; logmel.n_mels()],
            logmel,
            dct,
            coef: vec![0.0; cfg.n_mfcc],
            sum: vec![0.0; cfg.n_mfcc],
            sum_sq: vec![0.0; cfg.n_mfcc],
            frames: 0,
        })
    }

    /// Frames seen.
    #[must_use]
    pub fn frames(&self) -> u64 {
        self.frames
    }

    /// Librosa's 20 MFCCs over `cfg`'s mel bands (the shipped models' `timbre` block).
    ///
    /// # Errors
    /// An invalid configuration.
    pub fn librosa_20(cfg: &MfccConfig) -> MfccResult<Self> {
        Self::new(&cfg.clone().with_n_mfcc(20))
    }

    /// `[mean of each coefficient..., standard deviation of each coefficient...]`
    /// (`2 · n_mfcc` values, all finite; zeros before any frame).
    #[must_use]
    pub fn mean_std(&self) -> Vec<f32> {
        let n = self.frames.max(1) as f64;
        let mean: Vec<f64> = self.sum.iter().map(|s| s / n).collect();
        let std = self
            .sum_sq
            .iter()
            .zip(&mean)
            .map(|(s, m)| (s / n - m * m).max(0.0).sqrt());
        mean.iter().copied().chain(std).map(|v| v as f32).collect()
    }

    /// Adds one frame given as its mel dB values rather than its spectrum: `write` fills the
    /// `n_mels` values in place (from a cached log-mel spectrogram of the same bands, say).
    /// They are floored and transformed as a streamed frame's are, so the frames of an excerpt
    /// give the timbre block of that excerpt.
    ///
    /// # Examples
    /// ```
    /// use sonority_fusion::TimbreSink;
    /// use sonority_mfcc::MfccConfig;
    /// let mut timbre = TimbreSink::librosa_20(&MfccConfig::default())?;
    /// for db in [-20.0, -40.0] {
    ///     timbre.push_db(|mel| mel.fill(db));
    /// }
    /// let v = timbre.mean_std();
    /// assert_eq!((timbre.frames(), v.len()), (2, 40));
    /// timbre.reset();
    /// assert_eq!((timbre.frames(), timbre.mean_std()), (0, vec![0.0; 40]));
    /// # Ok::<(), sonority_mfcc::Error>(())
    /// ```
    pub fn push_db(&mut self, write: impl FnOnce(&mut [f32])) {
        write(&mut self.mel);
        self.accumulate();
    }

    /// Forgets every frame seen (the configuration stays), to start another track or excerpt.
    pub fn reset(&mut self) {
        self.sum.fill(0.0);
        self.sum_sq.fill(0.0);
        self.frames = 0;
    }

    /// Floors the dB values in `mel`, transforms them and adds the coefficients.
    fn accumulate(&mut self) {
        for m in &mut self.mel {
            *m = m.max(TIMBRE_DB_FLOOR);
        }
        let n_mels = self.mel.len();
        for (k, c) in self.coef.iter_mut().enumerate() {
            let row = &self.dct[k * n_mels..(k + 1) * n_mels];
            *c = row.iter().zip(&self.mel).map(|(a, b)| a * b).sum();
        }
        for ((s, q), &c) in self.sum.iter_mut().zip(&mut self.sum_sq).zip(&self.coef) {
            let c = f64::from(c);
            *s += c;
            *q += c * c;
        }
        self.frames += 1;
    }
}

impl FrameSink for TimbreSink {
    fn begin(&mut self, spec: &StftSpec) -> MfccResult<()> {
        self.logmel.check(spec)
    }

    fn mel_bands(&self) -> Option<MelBands> {
        Some(self.logmel.bands())
    }

    fn frame(&mut self, frame: &Frame<'_>) -> MfccResult<()> {
        self.logmel.frame_db(frame, &mut self.mel);
        self.accumulate();
        Ok(())
    }
}

impl FeatureExtractor for TimbreSink {
    fn name(&self) -> &'static str {
        "timbre"
    }

    fn dim(&self) -> usize {
        2 * self.sum.len()
    }

    fn write_block(&self, out: &mut [f32]) -> Result<()> {
        check_out(self.name(), self.dim(), out)?;
        out.copy_from_slice(&self.mean_std());
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sonority_mfcc::{LogMelStage, SliceSource, analyze};

    /// A track's dB frames pushed with [`TimbreSink::push_db`] give the block the streamed
    /// frames give, bit for bit.
    #[test]
    fn pushed_db_frames_give_the_streamed_block() -> MfccResult<()> {
        struct Both {
            logmel: LogMelStage,
            db: Vec<f32>,
            streamed: TimbreSink,
            pushed: TimbreSink,
        }
        impl FrameSink for Both {
            fn begin(&mut self, spec: &StftSpec) -> MfccResult<()> {
                self.streamed.begin(spec)?;
                self.logmel.check(spec)
            }
            fn mel_bands(&self) -> Option<MelBands> {
                Some(self.logmel.bands())
            }
            fn frame(&mut self, frame: &Frame<'_>) -> MfccResult<()> {
                self.streamed.frame(frame)?;
                self.logmel.frame_db(frame, &mut self.db);
                let db = &self.db;
                self.pushed.push_db(|mel| mel.copy_from_slice(db));
                Ok(())
            }
        }
        let cfg = MfccConfig::default();
        let y: Vec<f32> = (0..30_000)
            .map(|i| (i as f32 * 0.031).sin() * 0.3 + (i as f32 * 0.17).sin() * 0.1)
            .collect();
        let logmel = LogMelStage::new(&cfg)?;
        let mut both = Both {
            db: vec![0.0; logmel.n_mels()],
            logmel,
            streamed: TimbreSink::librosa_20(&cfg)?,
            pushed: TimbreSink::librosa_20(&cfg)?,
        };
        analyze(
            &mut SliceSource::new(&y, 22_050),
            &cfg.stft_spec(),
            &mut [&mut both],
        )?;
        assert!(both.pushed.frames() > 10);
        assert_eq!(both.pushed.mean_std(), both.streamed.mean_std());
        both.pushed.reset();
        assert_eq!(both.pushed.mean_std(), vec![0.0; 40]);
        Ok(())
    }
}
