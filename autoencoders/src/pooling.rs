//! Track-level encoding: cut a track's mel matrix into tiles, encode them in one batch, and pool
//! the tile vectors into one track vector.
//!
//! Tiling policy: tiles of the model's width start every `hop` frames from frame 0. When the
//! last full tile stops short of the end, [`LastTile`] decides what covers the rest (by default
//! one more tile aligned to the track's end, overlapping its neighbour, so every frame is seen
//! and no padding enters the statistics). A track shorter than one tile gives one tile padded
//! with zeros on the right (for inputs standardised per band, zero is the band mean), as in
//! training.

use crate::data::copy_tile;
use crate::error::{Error, Result};
use crate::gaussian::GaussianModel;
use crate::traits::{Autoencoder, Encoder};
use serde::{Deserialize, Serialize};

/// `LastTile` decides how the frames after the last full tile are covered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub enum LastTile {
    /// One more tile ending at the last frame (overlapping the previous tile).
    AlignEnd,
    /// Ignore the remaining frames.
    Drop,
    /// One more tile at the next hop, zero-padded past the end.
    Pad,
}

/// `TrackPooling` says how tile vectors become one track vector.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub enum TrackPooling {
    /// The mean and the (population) standard deviation over tiles of every dimension:
    /// `2 × tile_dim` values.
    MeanStd,
    /// The mean over tiles: `tile_dim` values.
    Mean,
}

/// `PoolConfig` sets how a track is tiled and pooled.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct PoolConfig {
    /// Frames between tile starts; `None` means the tile width (no overlap). Smaller hops cost
    /// proportionally more encoding time. Default: `None`.
    pub hop: Option<usize>,
    /// What covers the frames after the last full tile. Default: [`LastTile::AlignEnd`].
    pub last_tile: LastTile,
    /// The pooling of tile vectors. Default: [`TrackPooling::MeanStd`].
    pub pooling: TrackPooling,
}

impl Default for PoolConfig {
    fn default() -> Self {
        Self {
            hop: None,
            last_tile: LastTile::AlignEnd,
            pooling: TrackPooling::MeanStd,
        }
    }
}

impl PoolConfig {
    /// Sets [`hop`](Self::hop).
    #[must_use]
    pub fn with_hop(mut self, hop: Option<usize>) -> Self {
        self.hop = hop;
        self
    }

    /// Sets [`last_tile`](Self::last_tile).
    #[must_use]
    pub fn with_last_tile(mut self, last_tile: LastTile) -> Self {
        self.last_tile = last_tile;
        self
    }

    /// Sets [`pooling`](Self::pooling).
    #[must_use]
    pub fn with_pooling(mut self, pooling: TrackPooling) -> Self {
        self.pooling = pooling;
        self
    }
}

/// The start frames of the tiles of a `frames`-long track (see the module docs).
#[must_use]
pub fn tile_starts(frames: usize, width: usize, hop: usize, last: LastTile) -> Vec<usize> {
    let hop = hop.max(1);
    if frames <= width {
        return vec![0];
    }
    let mut starts: Vec<usize> = (0..=frames - width).step_by(hop).collect();
    let end = starts.last().map_or(0, |s| s + width);
    if end < frames {
        match last {
            LastTile::AlignEnd => starts.push(frames - width),
            LastTile::Pad => starts.push(starts.last().map_or(0, |s| s + hop)),
            LastTile::Drop => {}
        }
    }
    starts
}

/// `TrackEncoder` turns a whole track's `[n_mels, frames]` matrix (any number of frames) into
/// one vector: it tiles the track, encodes all tiles in one batch with a tile model and pools the
/// tile vectors.
///
/// # Examples
///
/// ```
/// use sonority_autoencoders::{ConvAeConfig, ConvAutoencoder, Encoder, PoolConfig, TrackEncoder};
///
/// let cfg = ConvAeConfig::default().with_rows(16).with_channels(vec![16, 8]);
/// let enc = TrackEncoder::new(ConvAutoencoder::seeded(&cfg, 0)?, PoolConfig::default());
/// let mel = vec![0.1f32; 16 * 1000];
/// let v = enc.encode(&mel, [16, 1000])?;
/// assert_eq!(v.len(), enc.output_dim()); // mean and std of 16-value tile vectors
/// # Ok::<(), sonority_autoencoders::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct TrackEncoder<M> {
    model: M,
    cfg: PoolConfig,
}

impl<M: Encoder + Autoencoder> TrackEncoder<M> {
    /// Wraps a tile model.
    #[must_use]
    pub fn new(model: M, cfg: PoolConfig) -> Self {
        Self { model, cfg }
    }

    /// The tile model.
    #[must_use]
    pub fn model(&self) -> &M {
        &self.model
    }

    /// The pooling configuration.
    #[must_use]
    pub fn pool_config(&self) -> &PoolConfig {
        &self.cfg
    }

    /// A Gaussian model of a track's tile vectors (compare with
    /// [`GaussianModel::symmetric_kl`]); `reg` scales the diagonal ridge.
    ///
    /// # Errors
    ///
    /// As [`Encoder::encode_into`].
    pub fn gaussian(&self, input: &[f32], shape: [usize; 2], reg: f64) -> Result<GaussianModel> {
        let (vecs, n) = self.tile_vectors(input, shape)?;
        GaussianModel::from_samples(&vecs, n, self.model.output_dim(), reg)
    }

    /// The `[n_tiles, tile_dim]` row-major tile vectors of a track.
    ///
    /// # Errors
    ///
    /// As [`Encoder::encode_into`].
    pub fn tile_vectors(&self, input: &[f32], shape: [usize; 2]) -> Result<(Vec<f32>, usize)> {
        let [rows, frames] = shape;
        let [mr, width] = self.model.input_shape();
        if rows != mr || frames == 0 {
            return Err(Error::ShapeMismatch {
                what: "track matrix".into(),
                expected: vec![mr, frames.max(1)],
                actual: shape.to_vec(),
            });
        }
        if input.len() != rows * frames {
            return Err(Error::ShapeMismatch {
                what: "track matrix length".into(),
                expected: vec![rows * frames],
                actual: vec![input.len()],
            });
        }
        let starts = tile_starts(
            frames,
            width,
            self.cfg.hop.unwrap_or(width),
            self.cfg.last_tile,
        );
        let len = rows * width;
        let mut tiles = vec![0f32; starts.len() * len];
        for (s, out) in starts.iter().zip(tiles.chunks_exact_mut(len)) {
            copy_tile(input, rows, frames, *s, width, out);
        }
        let vecs = self
            .model
            .encode_batch(&tiles, starts.len(), [rows, width])?;
        Ok((vecs, starts.len()))
    }
}

impl<M: Encoder + Autoencoder> Encoder for TrackEncoder<M> {
    fn encode_into(&self, input: &[f32], shape: [usize; 2], out: &mut [f32]) -> Result<()> {
        if out.len() != self.output_dim() {
            return Err(Error::ShapeMismatch {
                what: "output buffer".into(),
                expected: vec![self.output_dim()],
                actual: vec![out.len()],
            });
        }
        let (vecs, n) = self.tile_vectors(input, shape)?;
        let d = self.model.output_dim();
        let mut mean = vec![0f64; d];
        for row in vecs.chunks_exact(d) {
            for (m, x) in mean.iter_mut().zip(row) {
                *m += f64::from(*x);
            }
        }
        mean.iter_mut().for_each(|m| *m /= n as f64);
        for (o, m) in out.iter_mut().zip(&mean) {
            *o = *m as f32;
        }
        if self.cfg.pooling == TrackPooling::MeanStd {
            let mut var = vec![0f64; d];
            for row in vecs.chunks_exact(d) {
                for ((v, x), m) in var.iter_mut().zip(row).zip(&mean) {
                    *v += (f64::from(*x) - m).powi(2);
                }
            }
            for (o, v) in out[d..].iter_mut().zip(&var) {
                *o = (v / n as f64).sqrt() as f32;
            }
        }
        if out.iter().any(|x| !x.is_finite()) {
            return Err(Error::NonFinite {
                what: "track vector",
            });
        }
        Ok(())
    }

    fn output_dim(&self) -> usize {
        match self.cfg.pooling {
            TrackPooling::MeanStd => 2 * self.model.output_dim(),
            TrackPooling::Mean => self.model.output_dim(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tiling_policies() {
        assert_eq!(tile_starts(50, 128, 128, LastTile::AlignEnd), vec![0]);
        assert_eq!(tile_starts(128, 128, 128, LastTile::AlignEnd), vec![0]);
        assert_eq!(
            tile_starts(300, 128, 128, LastTile::AlignEnd),
            vec![0, 128, 172]
        );
        assert_eq!(tile_starts(300, 128, 128, LastTile::Drop), vec![0, 128]);
        assert_eq!(tile_starts(300, 128, 128, LastTile::Pad), vec![0, 128, 256]);
        assert_eq!(
            tile_starts(256, 128, 64, LastTile::AlignEnd),
            vec![0, 64, 128]
        );
        // Every frame is covered with AlignEnd.
        for frames in [129, 200, 7750] {
            let s = tile_starts(frames, 128, 128, LastTile::AlignEnd);
            assert_eq!(s.last().map(|x| x + 128), Some(frames));
        }
    }
}
