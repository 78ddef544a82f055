//! Streaming tile encoding: log-mel frames in, one pooled track vector out, memory bounded.
//!
//! The same code serves indexing (frames come from the STFT pass through [`TileEncoderSink`])
//! and evaluation (frames come from a cached log-mel matrix), so what is evaluated is exactly
//! what ships.

use sonority_autoencoders::Encoder;
use sonority_mfcc::{Frame, FrameSink, MelBands, MelFilterbank, MelStage, MfccConfig, StftSpec};

use crate::{Error, Result};

/// Per-band standardisation of log-mel values, fitted on a training set.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct BandStats {
    /// Mean of each band, in dB.
    pub mean: Vec<f32>,
    /// Standard deviation of each band, in dB (at least 1e-3).
    pub std: Vec<f32>,
}

/// Turns log-mel frames into tiles of `tile_frames` (non-overlapping; the last tile is aligned
/// to the end of the track, and a track shorter than one tile is looped to fill it), encodes
/// them in batches with a tile [`Encoder`], and pools the tile vectors into their mean and
/// standard deviation.
///
/// Memory is one tile ring plus one batch, whatever the track length.
pub struct TilePooler<'a> {
    encoder: &'a dyn Encoder,
    stats: &'a BandStats,
    n_mels: usize,
    tile_frames: usize,
    batch: usize,
    /// Ring of the last `tile_frames` standardised frames, frame-major.
    ring: Vec<f32>,
    frames_seen: usize,
    last_emitted_end: usize,
    /// Pending tiles, each `[n_mels, tile_frames]` row-major.
    pending: Vec<f32>,
    n_pending: usize,
    out: Vec<f32>,
    sum: Vec<f64>,
    sum_sq: Vec<f64>,
    tiles: usize,
}

impl std::fmt::Debug for TilePooler<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TilePooler")
            .field("n_mels", &self.n_mels)
            .field("tile_frames", &self.tile_frames)
            .field("frames_seen", &self.frames_seen)
            .field("tiles", &self.tiles)
            .finish_non_exhaustive()
    }
}

impl<'a> TilePooler<'a> {
    /// A pooler for tiles of `[stats.mean.len(), tile_frames]`, encoding `batch` tiles at a time.
    ///
    /// # Errors
    /// [`Error::Model`] if the statistics are empty or a size is zero.
    pub fn new(
        encoder: &'a dyn Encoder,
        stats: &'a BandStats,
        tile_frames: usize,
        batch: usize,
    ) -> Result<Self> {
        let n_mels = stats.mean.len();
        if n_mels == 0 || stats.std.len() != n_mels || tile_frames == 0 || batch == 0 {
            return Err(Error::Model {
                reason: "band statistics, tile size and batch must be non-empty".into(),
            });
        }
        let d = encoder.output_dim();
        Ok(Self {
            encoder,
            stats,
            n_mels,
            tile_frames,
            batch,
            ring: vec![0.0; n_mels * tile_frames],
            frames_seen: 0,
            last_emitted_end: 0,
            pending: Vec::with_capacity(batch * n_mels * tile_frames),
            n_pending: 0,
            out: vec![0.0; batch * d],
            sum: vec![0.0; d],
            sum_sq: vec![0.0; d],
            tiles: 0,
        })
    }

    /// Pushes one frame of `n_mels` log-mel dB values.
    ///
    /// # Errors
    /// Encoder errors.
    pub fn push_frame(&mut self, db: &[f32]) -> Result<()> {
        let n = self.n_mels;
        let slot = (self.frames_seen % self.tile_frames) * n;
        for (b, (d, &v)) in self.ring[slot..slot + n].iter_mut().zip(db).enumerate() {
            *d = (v - self.stats.mean[b]) / self.stats.std[b];
        }
        self.frames_seen += 1;
        let end = self.frames_seen;
        if end >= self.tile_frames && (end - self.tile_frames).is_multiple_of(self.tile_frames) {
            self.emit(end)?;
        }
        Ok(())
    }

    fn emit(&mut self, end: usize) -> Result<()> {
        let (n, tf) = (self.n_mels, self.tile_frames);
        let at = self.pending.len();
        self.pending.resize(at + n * tf, 0.0);
        let seen = self.frames_seen;
        for c in 0..tf {
            // Frame index of column c; before the start of a short track, loop it.
            let f = end as isize - tf as isize + c as isize;
            let src = if f >= 0 { f as usize } else { c % seen };
            let base = (src % tf) * n;
            for r in 0..n {
                self.pending[at + r * tf + c] = self.ring[base + r];
            }
        }
        self.n_pending += 1;
        self.last_emitted_end = end;
        if self.n_pending == self.batch {
            self.flush()?;
        }
        Ok(())
    }

    fn flush(&mut self) -> Result<()> {
        if self.n_pending == 0 {
            return Ok(());
        }
        let d = self.encoder.output_dim();
        let k = self.n_pending;
        self.encoder.encode_batch_into(
            &self.pending,
            k,
            [self.n_mels, self.tile_frames],
            &mut self.out[..k * d],
        )?;
        for row in self.out[..k * d].chunks_exact(d) {
            for ((s, q), &v) in self.sum.iter_mut().zip(&mut self.sum_sq).zip(row) {
                let v = f64::from(v);
                *s += v;
                *q += v * v;
            }
        }
        self.tiles += k;
        self.pending.clear();
        self.n_pending = 0;
        Ok(())
    }

    /// Encodes what is left and returns `[mean of each dimension..., std of each dimension...]`
    /// over the tiles (all finite).
    ///
    /// # Errors
    /// [`Error::NoSignal`] if no frame was pushed; encoder errors; [`Error::Model`] if the
    /// encoder produced a non-finite value.
    pub fn finish(mut self) -> Result<Vec<f32>> {
        let end = self.frames_seen;
        if end == 0 {
            return Err(Error::NoSignal);
        }
        if end != self.last_emitted_end {
            self.emit(end)?;
        }
        self.flush()?;
        let n = self.tiles.max(1) as f64;
        let mean: Vec<f64> = self.sum.iter().map(|s| s / n).collect();
        let std = self
            .sum_sq
            .iter()
            .zip(&mean)
            .map(|(q, m)| (q / n - m * m).max(0.0).sqrt());
        let v: Vec<f32> = mean.iter().copied().chain(std).map(|x| x as f32).collect();
        if v.iter().any(|x| !x.is_finite()) {
            return Err(Error::Model {
                reason: "tile encoder produced a non-finite value".into(),
            });
        }
        Ok(v)
    }
}

/// A [`FrameSink`] computing log-mel dB frames (`10·log10(max(mel, amin))`) for a [`TilePooler`].
pub struct TileEncoderSink<'a> {
    stage: MelStage,
    amin: f32,
    mel: Vec<f32>,
    pooler: TilePooler<'a>,
}

impl std::fmt::Debug for TileEncoderSink<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TileEncoderSink")
            .field("pooler", &self.pooler)
            .finish_non_exhaustive()
    }
}

impl<'a> TileEncoderSink<'a> {
    /// A sink feeding `pooler` with the mel bands of `cfg`.
    ///
    /// # Errors
    /// An invalid configuration, or one whose band count differs from the pooler's.
    pub fn new(cfg: &MfccConfig, pooler: TilePooler<'a>) -> Result<Self> {
        let fb = MelFilterbank::from_config(cfg)?;
        if fb.n_mels() != pooler.n_mels {
            return Err(Error::Model {
                reason: format!(
                    "model expects {} mel bands, configuration has {}",
                    pooler.n_mels,
                    fb.n_mels()
                ),
            });
        }
        Ok(Self {
            mel: vec![0.0; fb.n_mels()],
            stage: MelStage::with_filterbank(fb),
            amin: cfg.amin,
            pooler,
        })
    }

    /// The pooled track vector.
    ///
    /// # Errors
    /// As [`TilePooler::finish`].
    pub fn finish(self) -> Result<Vec<f32>> {
        self.pooler.finish()
    }
}

impl FrameSink for TileEncoderSink<'_> {
    fn begin(&mut self, spec: &StftSpec) -> sonority_mfcc::Result<()> {
        if !self.stage.filterbank().matches(spec) {
            return Err(sonority_mfcc::Error::sink(Error::Model {
                reason: "filterbank and STFT disagree".into(),
            }));
        }
        Ok(())
    }

    fn mel_bands(&self) -> Option<MelBands> {
        Some(self.stage.filterbank().bands())
    }

    fn frame(&mut self, frame: &Frame<'_>) -> sonority_mfcc::Result<()> {
        self.stage
            .frame_mel(frame)
            .db_with_amin(self.amin, &mut self.mel);
        self.pooler
            .push_frame(&self.mel)
            .map_err(sonority_mfcc::Error::sink)
    }
}
