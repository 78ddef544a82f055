//! A track's tiles under a tile model (its pooled `tiles` block, and every tile vector with
//! the frames it holds), and the learned second stage's views of a track made from them.

use std::ops::Range;

use sonority_autoencoders::ConvAutoencoder;
use sonority_fusion::{Fusion, TimbreSink};
use sonority_mfcc::Tiler;

use super::data::TrackData;
use crate::blocks::{KEY, ROLLOFF, TEMPO, TILES, TIMBRE};
use crate::model::BandStats;
use crate::moments::Moments;
use crate::pooler::TilePooler;
use crate::rng::{Rng, SplitMix64};
use crate::{Error, Result};

/// A track's data must have the bands the tile model's statistics have.
fn check_bands(stats: &BandStats, t: &TrackData) -> Result<()> {
    if stats.mean.len() == t.n_mels && t.logmel.len() == t.n_mels * t.frames {
        Ok(())
    } else {
        Err(Error::Model {
            reason: format!(
                "the track was analysed with {} mel bands, the model takes {} (analyse with the model's settings)",
                t.n_mels,
                stats.mean.len()
            ),
        })
    }
}

/// The pooled `tiles` block of a track under `model`'s tile autoencoder, its log-mel frames
/// standardised with `stats` (the model's own [`BandStats`], or others to compare with).
///
/// # Errors
/// Encoder errors, [`Error::NoSignal`] for a track with no frames, bands that do not match.
pub fn tile_block_of(model: &crate::Model, stats: &BandStats, t: &TrackData) -> Result<Vec<f32>> {
    tile_block(&model.tile, stats, model.header.tile_frames, t)
}

/// The pooled tile vector of a track under a tile model.
///
/// # Errors
/// Encoder errors, [`Error::NoSignal`] for a track with no frames.
pub fn tile_block(
    tile: &ConvAutoencoder,
    stats: &BandStats,
    tile_frames: usize,
    t: &TrackData,
) -> Result<Vec<f32>> {
    check_bands(stats, t)?;
    let mut pooler = TilePooler::new(tile, stats, tile_frames, 16)?;
    feed_tiles(&mut pooler, t)?;
    pooler.finish()
}

/// Streams a track's frames through the pooler's tiler into the pooler (the pipeline's one
/// tiling rule); returns the tiler, which knows each tile's frames ([`Tiler::tile_span`]).
fn feed_tiles(pooler: &mut TilePooler<'_>, t: &TrackData) -> Result<Tiler> {
    let mut tiler = pooler.tiler()?;
    for c in 0..t.frames {
        if let Some(tile) = tiler.push_frame(|db| t.frame_db(c, db)) {
            pooler.push_tile(tile.data)?;
        }
    }
    if let Some(tile) = tiler.finish() {
        pooler.push_tile(tile.data)?;
    }
    Ok(tiler)
}

/// A track's tiles under a tile model: what training pools subsets of.
pub(super) struct TrackTiles {
    /// The pooled tile vector (the track's `tiles` block).
    pub(super) pooled: Vec<f32>,
    /// Every tile vector, row-major `[tiles, dim]`.
    rows: Vec<f32>,
    /// Values per tile vector.
    dim: usize,
    /// The frames each tile holds.
    spans: Vec<Range<usize>>,
}

/// The pooled tile vector of a track under a tile model, with every tile vector and its
/// frames.
pub(super) fn tile_block_and_tiles(
    tile: &ConvAutoencoder,
    stats: &BandStats,
    tile_frames: usize,
    t: &TrackData,
) -> Result<TrackTiles> {
    check_bands(stats, t)?;
    let mut pooler = TilePooler::new(tile, stats, tile_frames, 16)?.keeping_tiles();
    let tiler = feed_tiles(&mut pooler, t)?;
    let (pooled, rows) = pooler.finish_with_tiles()?;
    let spans = (0..).map_while(|i| tiler.tile_span(i)).collect();
    Ok(TrackTiles {
        pooled,
        rows,
        dim: sonority_autoencoders::Encoder::output_dim(tile),
        spans,
    })
}

/// Mean and standard deviation (over the chosen rows) of each dimension of row-major
/// `[n, dim]` vectors, as [`TilePooler::finish`] pools a track's tiles.
fn pool_rows(rows: &[f32], dim: usize, chosen: &[usize]) -> Vec<f32> {
    let mut moments = Moments::new(dim);
    for &i in chosen {
        moments.push_rows(&rows[i * dim..(i + 1) * dim]);
    }
    moments.mean_std().unwrap_or_else(|| vec![0.0; 2 * dim])
}

/// The two halves of a random split of `0..n` (both the whole set when `n < 2`).
fn random_halves(n: usize, rng: &mut SplitMix64) -> (Vec<usize>, Vec<usize>) {
    let mut idx: Vec<usize> = (0..n).collect();
    rng.shuffle(&mut idx);
    if n < 2 {
        return (idx.clone(), idx);
    }
    let b = idx.split_off(n / 2);
    (idx, b)
}

/// The `timbre` block over the frames of some of a track's tiles, through the timbre sink
/// itself (`sink` is reset first).
fn view_timbre(
    sink: &mut TimbreSink,
    t: &TrackData,
    spans: &[Range<usize>],
    tiles: &[usize],
) -> Vec<f32> {
    sink.reset();
    for &i in tiles {
        for c in spans[i].clone() {
            sink.push_db(|db| t.frame_db(c, db));
        }
    }
    sink.mean_std()
}

/// Standard deviation, in standardised units, of the noise added to each view's key, tempo
/// and roll-off blocks: whole-track descriptors are the same in every view, so without it two
/// views of one track would be told apart from the other tracks by those nine values alone,
/// and the second stage would learn to identify tracks by them rather than by what their
/// excerpts share.
const VIEW_DESCRIPTOR_NOISE: f32 = 0.5;

/// `views` fused vectors of one track for the learned second stage, appended to `out`: in
/// pairs, the two halves of a random split of its tiles give each view its tile block (their
/// pooled vectors) and its timbre block (MFCC statistics over their frames); key, tempo and
/// roll-off get [`VIEW_DESCRIPTOR_NOISE`].
pub(super) fn track_views(
    fusion: &Fusion,
    t: &TrackData,
    named: &[(&str, &[f32])],
    tiles: &TrackTiles,
    views: usize,
    rng: &mut SplitMix64,
    out: &mut Vec<f32>,
) -> Result<()> {
    let n = tiles.spans.len();
    let mut timbre_sink = TimbreSink::librosa_20(&t.settings.mfcc_config())?;
    for _ in 0..views / 2 {
        let (a, b) = random_halves(n, rng);
        for half in [a, b] {
            let pooled = pool_rows(&tiles.rows, tiles.dim, &half);
            let timbre = view_timbre(&mut timbre_sink, t, &tiles.spans, &half);
            let blocks: Vec<(&str, &[f32])> = named
                .iter()
                .map(|&(name, v)| match name {
                    TILES => (name, pooled.as_slice()),
                    TIMBRE if v.len() == timbre.len() => (name, timbre.as_slice()),
                    _ => (name, v),
                })
                .collect();
            let raw = fusion.concat_named(&in_layout(fusion, &blocks))?;
            let mut fused = fusion.fuse_raw(&raw)?;
            for block in &fusion.layout().blocks {
                if matches!(block.name.as_str(), KEY | TEMPO | ROLLOFF) {
                    let k =
                        VIEW_DESCRIPTOR_NOISE * block.weight / (block.range.len() as f32).sqrt();
                    for v in &mut fused[block.range.clone()] {
                        *v += k * rng.normal();
                    }
                }
            }
            out.extend(fused);
        }
    }
    Ok(())
}

/// The blocks of `blocks` that `fusion`'s layout names.
pub(super) fn in_layout<'a>(
    fusion: &Fusion,
    blocks: &[(&'a str, &'a [f32])],
) -> Vec<(&'a str, &'a [f32])> {
    blocks
        .iter()
        .filter(|(n, _)| fusion.layout().block(n).is_some())
        .copied()
        .collect()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::train::data::whole_signal as track;

    /// The views' timbre over every tile of a track whose tiles do not overlap is the track's
    /// timbre block, and a random split's halves are disjoint and cover every tile.
    #[test]
    fn view_timbre_over_all_tiles_is_the_track_timbre() {
        // 1 + 39 hops = 40 frames: ten 4-frame tiles, none aligned to the end.
        let y: Vec<f32> = (0..39 * 512)
            .map(|i| (i as f32 * 0.031).sin() * 0.3 + (i as f32 * 0.17).sin() * 0.1)
            .collect();
        let t = track(&y);
        assert_eq!(t.frames, 40);
        let mut tiler =
            Tiler::new(t.n_mels, 4, 4, sonority_mfcc::PartialTile::AlignEnd, -100.0).unwrap();
        for _ in 0..t.frames {
            tiler.push_frame(|db| db.fill(0.0));
        }
        let spans: Vec<Range<usize>> = (0..).map_while(|i| tiler.tile_span(i)).collect();
        assert_eq!((spans.len(), spans[9].clone()), (10, 36..40));
        let all: Vec<usize> = (0..10).collect();
        let mut sink = TimbreSink::librosa_20(&t.settings.mfcc_config()).unwrap();
        let got = view_timbre(&mut sink, &t, &spans, &all);
        let want = t.block("timbre").unwrap();
        assert_eq!(got.len(), want.len());
        for (g, w) in got.iter().zip(want) {
            assert!((g - w).abs() <= 1e-3 * w.abs().max(1.0), "{g} vs {w}");
        }
        let (a, b) = random_halves(10, &mut SplitMix64::new(3));
        let mut both: Vec<usize> = a.iter().chain(&b).copied().collect();
        both.sort_unstable();
        assert_eq!((a.len(), b.len(), both), (5, 5, all));
    }
}
