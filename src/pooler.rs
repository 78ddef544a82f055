//! Streaming tile encoding: log-mel frames in, one pooled track vector out, memory bounded.
//!
//! The same code serves indexing (frames come from the STFT pass through [`TileEncoderSink`])
//! and evaluation (frames come from a cached log-mel matrix, through the same [`Tiler`]), so
//! what is evaluated is exactly what ships.

use crate::model::BandStats;
use crate::moments::Moments;
use sonority_autoencoders::Encoder;
use sonority_mfcc::{
    Frame, FrameSink, LogMelStage, MEL_DB_AMIN, MelBands, MfccConfig, PartialTile, StftSpec, Tiler,
};

use crate::{Error, Result};

/// Encodes tiles of `[n_mels, tile_frames]` log-mel dB values in batches with a tile
/// [`Encoder`], after standardising each band, and pools the tile vectors into their mean and
/// standard deviation. The tiles come from a [`Tiler`] (the tiling rule: non-overlapping,
/// the last tile aligned to the end of the track, a track shorter than one tile looped to fill
/// it).
///
/// Memory is one batch of tiles, whatever the track length.
pub struct TilePooler<'a> {
    encoder: &'a dyn Encoder,
    stats: &'a BandStats,
    n_mels: usize,
    tile_frames: usize,
    batch: usize,
    /// Pending tiles, each `[n_mels, tile_frames]` row-major, standardised.
    pending: Vec<f32>,
    n_pending: usize,
    out: Vec<f32>,
    moments: Moments,
    /// Every tile vector, row-major, when kept (training's views of a track).
    kept: Option<Vec<f32>>,
}

/// Values per encoded batch (tiles × bands × frames) above which the batch is made smaller:
/// 16 tiles of 128 × 128, 4 of the published 256 × 256 (whose activations are 4 × larger per
/// value too), so memory stays bounded for large tiles.
const MAX_BATCH_VALUES: usize = 16 * 128 * 128;

impl std::fmt::Debug for TilePooler<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TilePooler")
            .field("n_mels", &self.n_mels)
            .field("tile_frames", &self.tile_frames)
            .field("tiles", &self.moments.rows())
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
        let batch = batch.min((MAX_BATCH_VALUES / (n_mels * tile_frames)).max(1));
        Ok(Self {
            encoder,
            stats,
            n_mels,
            tile_frames,
            batch,
            pending: Vec::with_capacity(batch * n_mels * tile_frames),
            n_pending: 0,
            out: vec![0.0; batch * d],
            moments: Moments::new(d),
            kept: None,
        })
    }

    /// The tiler that cuts this pooler's tiles from log-mel frames.
    ///
    /// # Errors
    /// Not expected (the sizes were checked by [`new`](Self::new)).
    pub fn tiler(&self) -> Result<Tiler> {
        Ok(Tiler::new(
            self.n_mels,
            self.tile_frames,
            self.tile_frames,
            PartialTile::AlignEnd,
            10.0 * MEL_DB_AMIN.log10(),
        )?)
    }

    /// Adds one tile of `[n_mels, tile_frames]` row-major dB values (standardised here).
    ///
    /// # Errors
    /// Encoder errors; [`Error::Model`] for a tile of the wrong size.
    pub fn push_tile(&mut self, tile: &[f32]) -> Result<()> {
        let tf = self.tile_frames;
        if tile.len() != self.n_mels * tf {
            return Err(Error::Model {
                reason: format!(
                    "tile of {} values, the model takes {} x {tf}",
                    tile.len(),
                    self.n_mels
                ),
            });
        }
        let at = self.pending.len();
        self.pending.extend_from_slice(tile);
        for (b, row) in self.pending[at..].chunks_exact_mut(tf).enumerate() {
            let (m, s) = (self.stats.mean[b], self.stats.std[b]);
            for v in row {
                *v = (*v - m) / s;
            }
        }
        self.n_pending += 1;
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
        if let Some(kept) = &mut self.kept {
            kept.extend_from_slice(&self.out[..k * d]);
        }
        self.moments.push_rows(&self.out[..k * d]);
        self.pending.clear();
        self.n_pending = 0;
        Ok(())
    }

    /// Keeps every tile vector (memory grows with the track: for training, which pools
    /// subsets of a track's tiles), returned by [`finish_with_tiles`](Self::finish_with_tiles).
    #[must_use]
    pub(crate) fn keeping_tiles(mut self) -> Self {
        self.kept = Some(Vec::new());
        self
    }

    /// As [`finish`](Self::finish), with the tile vectors (row-major `[tiles, dim]`) when they
    /// were kept (else empty).
    ///
    /// # Errors
    /// As [`finish`](Self::finish).
    pub(crate) fn finish_with_tiles(mut self) -> Result<(Vec<f32>, Vec<f32>)> {
        self.flush()?;
        let kept = self.kept.take().unwrap_or_default();
        Ok((self.finish()?, kept))
    }

    /// Encodes what is left and returns `[mean of each dimension..., std of each dimension...]`
    /// over the tiles (all finite).
    ///
    /// # Errors
    /// [`Error::NoSignal`] if no tile was pushed; encoder errors; [`Error::NonFinite`] if the
    /// encoder produced a non-finite value.
    pub fn finish(mut self) -> Result<Vec<f32>> {
        self.flush()?;
        let v = self.moments.mean_std().ok_or(Error::NoSignal)?;
        if v.iter().any(|x| !x.is_finite()) {
            return Err(Error::NonFinite {
                what: "tile encoder",
            });
        }
        Ok(v)
    }
}

/// A [`FrameSink`] feeding a [`TilePooler`]: log-mel dB frames ([`LogMelStage`]) cut into
/// tiles ([`Tiler`]).
pub struct TileEncoderSink<'a> {
    logmel: LogMelStage,
    tiler: Tiler,
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
        let logmel = LogMelStage::new(cfg)?;
        if logmel.n_mels() != pooler.n_mels {
            return Err(Error::Model {
                reason: format!(
                    "model expects {} mel bands, configuration has {}",
                    pooler.n_mels,
                    logmel.n_mels()
                ),
            });
        }
        Ok(Self {
            tiler: pooler.tiler()?,
            logmel,
            pooler,
        })
    }

    /// The pooled track vector.
    ///
    /// # Errors
    /// As [`TilePooler::finish`].
    pub fn finish(mut self) -> Result<Vec<f32>> {
        if let Some(tile) = self.tiler.finish() {
            self.pooler.push_tile(tile.data)?;
        }
        self.pooler.finish()
    }
}

impl FrameSink for TileEncoderSink<'_> {
    fn begin(&mut self, spec: &StftSpec) -> sonority_mfcc::Result<()> {
        self.logmel.check(spec)
    }

    fn mel_bands(&self) -> Option<MelBands> {
        Some(self.logmel.bands())
    }

    fn frame(&mut self, frame: &Frame<'_>) -> sonority_mfcc::Result<()> {
        let logmel = &mut self.logmel;
        match self.tiler.push_frame(|db| logmel.frame_db(frame, db)) {
            Some(tile) => self
                .pooler
                .push_tile(tile.data)
                .map_err(sonority_mfcc::Error::sink),
            None => Ok(()),
        }
    }
}
