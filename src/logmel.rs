//! Log-mel excerpts for training, with memory bounded whatever the track length.

use crate::rng::{Rng, XorShift64};
use sonority_mfcc::{
    Error as MfccError, Frame, FrameSink, LogMelStage, Matrix, MelBands, MfccConfig,
    Result as MfccResult, StftSpec,
};

/// A [`FrameSink`] that keeps a uniform random sample of fixed-length blocks of a track's
/// log-mel spectrogram (reservoir sampling over blocks), so training data can be drawn from
/// every part of a track without holding the whole track, and without trusting its duration.
///
/// Values are `10·log10(max(mel_power, amin))` dB, the same scale as
/// [`TileSink`](sonority_mfcc::TileSink). A track of at most `max_blocks` blocks is kept whole,
/// its partial last block included.
///
#[derive(Debug, Clone)]
pub struct LogMelReservoir {
    logmel: LogMelStage,
    block_frames: usize,
    max_blocks: usize,
    /// Kept blocks, each frame-major `[block_frames · n_mels]`, with their block number.
    kept: Vec<(usize, Vec<f32>)>,
    current: Vec<f32>,
    blocks_seen: usize,
    rng: XorShift64,
    mel: Vec<f32>,
}

impl LogMelReservoir {
    /// Keeps at most `max_blocks` blocks of `block_frames` frames, chosen with `seed`.
    ///
    /// # Errors
    /// An invalid configuration, or a zero block size or count.
    pub fn new(
        cfg: &MfccConfig,
        block_frames: usize,
        max_blocks: usize,
        seed: u64,
    ) -> MfccResult<Self> {
        if block_frames == 0 || max_blocks == 0 {
            return Err(MfccError::InvalidConfig {
                field: "block_frames",
                reason: "block size and count must be positive".into(),
            });
        }
        let logmel = LogMelStage::new(cfg)?;
        Ok(Self {
            mel: vec![0.0; logmel.n_mels()],
            logmel,
            block_frames,
            max_blocks,
            kept: Vec::new(),
            current: Vec::new(),
            blocks_seen: 0,
            rng: XorShift64::mixing(seed),
        })
    }

    fn close_block(&mut self) {
        let block = std::mem::take(&mut self.current);
        let n = self.blocks_seen;
        self.blocks_seen += 1;
        if self.kept.len() < self.max_blocks {
            self.kept.push((n, block));
        } else {
            let j = self.rng.below(n as u64 + 1) as usize;
            if j < self.max_blocks {
                self.kept[j] = (n, block);
            }
        }
    }

    /// The kept blocks in track order, concatenated: `[n_mels, kept_frames]`.
    #[must_use]
    pub fn into_matrix(mut self) -> Matrix {
        let n_mels = self.logmel.n_mels();
        // While the reservoir holds every block, the partial last block belongs to the sample
        // too (so a large enough reservoir gives the whole track).
        if self.blocks_seen < self.max_blocks && !self.current.is_empty() {
            let rest = std::mem::take(&mut self.current);
            self.kept.push((self.blocks_seen, rest));
        }
        self.kept.sort_by_key(|(n, _)| *n);
        let frame_major: Vec<f32> = self.kept.into_iter().flat_map(|(_, b)| b).collect();
        let frames = frame_major.len() / n_mels.max(1);
        Matrix::from_frame_major(n_mels, frames, &frame_major)
    }
}

impl FrameSink for LogMelReservoir {
    fn begin(&mut self, spec: &StftSpec) -> MfccResult<()> {
        self.logmel.check(spec)
    }

    fn mel_bands(&self) -> Option<MelBands> {
        Some(self.logmel.bands())
    }

    fn frame(&mut self, frame: &Frame<'_>) -> MfccResult<()> {
        self.logmel.frame_db(frame, &mut self.mel);
        self.current.extend_from_slice(&self.mel);
        if self.current.len() == self.block_frames * self.logmel.n_mels() {
            self.close_block();
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::LogMelReservoir;
    use sonority_mfcc::{MfccConfig, SliceSource, analyze};

    #[test]
    fn keeps_at_most_max_blocks_of_a_long_track() -> sonority_mfcc::Result<()> {
        let cfg = MfccConfig::default();
        let noise: Vec<f32> = (0..60 * 22_050_u64)
            .map(|i| ((i * 7919) % 997) as f32 / 997.0 - 0.5)
            .collect();
        let mut r = LogMelReservoir::new(&cfg, 256, 3, 42)?;
        analyze(
            &mut SliceSource::new(&noise, 22_050),
            &cfg.stft_spec(),
            &mut [&mut r],
        )?;
        assert_eq!(r.into_matrix().shape(), (128, 3 * 256));
        Ok(())
    }
}
