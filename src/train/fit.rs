//! Fitting a model: the tile autoencoder, the fusion of a recipe and the optional final stage
//! ([`train_model`], [`continue_training`]), a fusion refitted over a model's tile encoder
//! ([`refit_fusion`]), and a track's final vector from its extracted data
//! ([`embed_track_data`]).

use sonority_autoencoders::{
    ConvAeConfig, Progress, TrackMatrix, fine_tune_tiles, train_tiles, train_vector_views,
    train_vectors,
};
use sonority_fusion::{BlockScaling, BlockSpec, Fusion, Standardization};

use super::data::{TrackData, fit_band_stats, fit_unit_range, standardised};
use super::options::{FusionRecipe, TileScaling, TrainOptions, VectorArchitecture, VectorTraining};
use super::views::{in_layout, tile_block, tile_block_and_tiles, track_views};
use crate::artist::ArtistPooling;
use crate::blocks::{ARTIST, BLOCKS, KEY, PUBLISHED_DESCRIPTORS, TILES, TIMBRE};
use crate::model::{
    AnalysisSettings, FinalStage, MODEL_FORMAT, MODEL_FORMAT_VERSION, Model, ModelHeader,
};
use crate::moments::Moments;
use crate::pipeline::final_vector;
use crate::rng::SplitMix64;
use crate::{Error, Result};

/// The fusion of a recipe, fitted on the raw vectors it returns (one per track).
fn fit_fusion(
    recipe: FusionRecipe,
    weights: &[(String, f32)],
    named: &[Vec<(&str, &[f32])>],
) -> Result<(Fusion, Vec<Vec<f32>>)> {
    let first = named.first().ok_or(Error::NoSignal)?;
    let mut fusion = match recipe {
        FusionRecipe::Published => {
            let tiles = first
                .iter()
                .find(|(n, _)| *n == TILES)
                .map_or(0, |(_, b)| b.len());
            Fusion::published_design_named(TILES, tiles)?
        }
        FusionRecipe::Standardized | FusionRecipe::PublishedBlocksStandardized => {
            let wanted = |name: &str| recipe == FusionRecipe::Standardized || name != TIMBRE;
            // The blocks the pipeline makes, in BLOCKS order.
            let specs: Vec<BlockSpec> = BLOCKS
                .iter()
                .filter(|(name, _)| wanted(name))
                .filter_map(|(name, _)| first.iter().find(|(n, _)| n == name))
                .map(|(name, b)| {
                    let spec = BlockSpec::new(*name, b.len());
                    // The key's circle-of-fifths geometry survives only with one scale for the
                    // whole block.
                    if *name == KEY {
                        spec.with_scaling(BlockScaling::Pooled)
                    } else {
                        spec
                    }
                })
                .collect();
            Fusion::new(specs, Standardization::MeanStd)?
        }
    };
    let raw: Vec<Vec<f32>> = named
        .iter()
        .map(|b| fusion.concat_named(&in_layout(&fusion, b)))
        .collect::<std::result::Result<_, _>>()?;
    fusion.fit(&raw)?;
    if recipe != FusionRecipe::Published {
        for (name, w) in weights {
            if fusion.layout().block(name).is_some() {
                fusion.set_weight(name, *w)?;
            }
        }
    }
    Ok((fusion, raw))
}

/// The fusion of `opts`' recipe fitted on the tracks' blocks (their `tiles` blocks and
/// published descriptors given), with
/// the raw vectors it was fitted on and every track's named blocks.
#[allow(clippy::type_complexity)]
fn fit_tracks_fusion<'a>(
    tracks: &[&'a TrackData],
    tiles: &'a [Vec<f32>],
    published: &'a [[f32; 3]],
    opts: &TrainOptions,
) -> Result<(Fusion, Vec<Vec<f32>>, Vec<Vec<(&'a str, &'a [f32])>>)> {
    let named: Vec<Vec<(&str, &[f32])>> = tracks
        .iter()
        .zip(tiles)
        .zip(published)
        .map(|((t, tb), pd)| fusion_blocks(t, tb, pd, opts.artist))
        .collect();
    let (fusion, raw) = fit_fusion(opts.fusion, &opts.weights, &named)?;
    Ok((fusion, raw, named))
}

/// The tracks' `artist` blocks, each dimension z-scored over `tracks`: the distillation
/// term's teacher vectors.
fn teacher_vectors(tracks: &[&TrackData]) -> Result<Vec<Vec<f32>>> {
    let blocks: Vec<&[f32]> = tracks
        .iter()
        .map(|t| t.block(ARTIST))
        .collect::<Option<_>>()
        .ok_or_else(|| Error::Model {
            reason: "distillation needs tracks extracted with the artist encoder".into(),
        })?;
    let dim = blocks.first().map_or(0, |b| b.len());
    let mut moments = Moments::new(dim);
    for b in &blocks {
        moments.push_rows(b);
    }
    let stats = moments.mean_std().ok_or(Error::NoSignal)?;
    let (mean, std) = stats.split_at(dim);
    Ok(blocks
        .iter()
        .map(|b| {
            b.iter()
                .zip(mean)
                .zip(std)
                .map(|((&x, &m), &s)| if s > 1e-6 { (x - m) / s } else { 0.0 })
                .collect()
        })
        .collect())
}

/// Trains a model: the tile autoencoder on random tiles of `tracks` (scaled as
/// [`TrainOptions::tile_scaling`] says), then the fusion statistics on every track's blocks,
/// then (optionally) the fused-vector autoencoder. `progress` receives the tile training's
/// reports; return `false` to stop it (the model is still made, from the weights so far).
///
/// # Errors
/// [`Error::TooFewTracks`] for fewer than two tracks, [`Error::SettingsMismatch`] for tracks
/// analysed with different settings, [`Error::ArtistBlockUnavailable`] for an `artist` block
/// without the encoder or tracks extracted without it (all before any training), training
/// errors, non-finite features, a [`resume_tile`](TrainOptions::resume_tile) of another
/// configuration.
#[allow(clippy::too_many_lines)]
pub fn train_model<F>(tracks: &[&TrackData], opts: &TrainOptions, progress: F) -> Result<Model>
where
    F: FnMut(&Progress) -> bool,
{
    let first = tracks.first().ok_or(Error::TooFewTracks {
        needed: 2,
        given: 0,
    })?;
    let settings = first.settings.clone();
    check_tracks(tracks, &settings, opts)?;
    let n_mels = first.n_mels;
    // (A resumed run refits the scaling on its tracks: the same numbers for the same tracks.)
    let band_stats = match opts.tile_scaling {
        TileScaling::UnitRange => fit_unit_range(tracks),
        TileScaling::PerBand => fit_band_stats(tracks),
    };
    // Distillation: each track's teacher vector is its `artist` block, z-scored over the
    // training tracks (as the block is fused).
    let teachers = if opts.tile_training.distill > 0.0 {
        Some(teacher_vectors(tracks)?)
    } else {
        None
    };
    let data: Vec<TrackMatrix> = tracks
        .iter()
        .enumerate()
        .map(|(i, t)| {
            let m = TrackMatrix::new(standardised(t, &band_stats), n_mels, t.frames)?;
            let m = match t.group {
                Some(g) => m.with_group(g),
                None => m,
            };
            match &teachers {
                Some(v) => m.with_teacher(v[i].clone()),
                None => Ok(m),
            }
        })
        .collect::<std::result::Result<_, sonority_autoencoders::Error>>()?;
    let tile_cfg = opts.tile.clone().with_rows(n_mels);
    let trained = match &opts.resume_tile {
        Some(init) if *init.config() != tile_cfg => {
            return Err(Error::Model {
                reason: "the tile model to resume has another configuration than the preset".into(),
            });
        }
        Some(init) => fine_tune_tiles(init, &opts.tile_training, &data, progress)?,
        None => train_tiles(&tile_cfg, &opts.tile_training, &data, progress)?,
    };
    drop(data);
    // Frozen: the model is only evaluated from here on, through the inference path.
    let tile = trained.model.frozen()?;
    let tile_frames = tile_cfg.cols;

    let views = match (opts.final_stage, opts.vector_training) {
        (FinalStage::VectorAutoencoder, VectorTraining::SameTrackViews { views }) => {
            if views < 2 || views % 2 != 0 {
                return Err(Error::Model {
                    reason: format!("views per track must be even and at least 2, not {views}"),
                });
            }
            views
        }
        _ => 0,
    };
    let mut tiles = Vec::with_capacity(tracks.len());
    let mut kept_tiles = Vec::new();
    for t in tracks {
        if views > 0 {
            let mut kept = tile_block_and_tiles(&tile, &band_stats, tile_frames, t)?;
            tiles.push(std::mem::take(&mut kept.pooled));
            kept_tiles.push(kept);
        } else {
            tiles.push(tile_block(&tile, &band_stats, tile_frames, t)?);
        }
    }
    let published: Vec<[f32; 3]> = tracks.iter().map(|t| t.published_descriptors()).collect();
    let (fusion, raw, named) = fit_tracks_fusion(tracks, &tiles, &published, opts)?;
    let header = ModelHeader {
        format: MODEL_FORMAT.into(),
        format_version: MODEL_FORMAT_VERSION,
        name: opts.name.clone(),
        sample_rate: settings.sample_rate,
        n_fft: settings.n_fft,
        hop_length: settings.hop_length,
        n_mels,
        tile_frames,
        band_stats,
        rolloff_percent: settings.rolloff_percent,
        final_stage: FinalStage::Fused,
        artist: opts.artist,
        artist_segment_stride: settings.artist_segment_stride,
        provenance: serde_json::json!({
            "tile_training": trained.provenance,
            "options": opts,
            "tracks": tracks.len(),
        }),
    };
    let mut model = Model {
        header,
        tile,
        fusion,
        vector: None,
        artist: opts.kept_artist_encoder(),
    };
    if opts.final_stage == FinalStage::VectorAutoencoder {
        let dim = model.fusion.dim();
        let cfg = match opts.vector_architecture {
            VectorArchitecture::AsGiven => opts.vector.0.clone().with_rows(1).with_cols(dim),
            VectorArchitecture::Conv1d { latent } => ConvAeConfig::fused_conv1d(dim, latent),
            VectorArchitecture::Dense { latent } => ConvAeConfig::fused_dense(dim, latent),
        };
        let v = if views > 0 {
            let mut rng = SplitMix64::new(opts.vector.1.seed ^ 0x5EC0_4D57_A6E5);
            let mut flat = Vec::with_capacity(tracks.len() * views * dim);
            for (i, kept) in kept_tiles.iter().enumerate() {
                track_views(
                    &model.fusion,
                    tracks[i],
                    &named[i],
                    kept,
                    views,
                    &mut rng,
                    &mut flat,
                )?;
            }
            train_vector_views(&cfg, &opts.vector.1, &flat, tracks.len(), views, |_| true)?
        } else {
            let fused: Vec<Vec<f32>> = raw
                .iter()
                .map(|r| model.fusion.fuse_raw(r))
                .collect::<std::result::Result<_, _>>()?;
            let flat: Vec<f32> = fused.concat();
            train_vectors(&cfg, &opts.vector.1, &flat, fused.len(), |_| true)?
        };
        model.vector = Some(v.model.frozen()?);
        model.header.final_stage = FinalStage::VectorAutoencoder;
        model.header.provenance["vector_training"] =
            serde_json::to_value(&v.provenance).map_err(|e| Error::Model {
                reason: e.to_string(),
            })?;
    }
    model.check()?;
    Ok(model)
}

/// A model with `base`'s tile autoencoder and band statistics, untrained further, and a fusion
/// fitted afresh on `tracks` with `opts`' recipe, weights and `artist` block: how a frozen block
/// (the pretrained artist encoder) joins a trained model without training its tiles again.
/// `opts`' tile settings and final stage are not used: the final vector is the fused one.
///
/// # Errors
/// [`Error::TooFewTracks`] for fewer than two tracks, [`Error::SettingsMismatch`] for tracks
/// analysed with other settings than `base`'s, [`Error::ArtistBlockUnavailable`] for an
/// `artist` block without the encoder or tracks extracted without it, fusion errors.
pub fn refit_fusion(base: &Model, tracks: &[&TrackData], opts: &TrainOptions) -> Result<Model> {
    // The tile encoder fixes every setting but the artist block's stride, which the tracks'
    // analysis gives.
    let mut expected = base.header.settings();
    if let Some(first) = tracks.first() {
        expected.artist_segment_stride = first.settings.artist_segment_stride;
    }
    check_tracks(tracks, &expected, opts)?;
    let tiles: Vec<Vec<f32>> = tracks
        .iter()
        .map(|t| {
            tile_block(
                &base.tile,
                &base.header.band_stats,
                base.header.tile_frames,
                t,
            )
        })
        .collect::<Result<_>>()?;
    let published: Vec<[f32; 3]> = tracks.iter().map(|t| t.published_descriptors()).collect();
    let (fusion, _, _) = fit_tracks_fusion(tracks, &tiles, &published, opts)?;
    let mut header = base.header.clone();
    header.name.clone_from(&opts.name);
    header.artist = opts.artist;
    header.artist_segment_stride = expected.artist_segment_stride;
    header.final_stage = FinalStage::Fused;
    header.provenance = serde_json::json!({
        "tile_training": base.header.provenance["tile_training"].clone(),
        "tile_from": {"name": base.header.name, "provenance": base.header.provenance},
        "options": opts,
        "tracks": tracks.len(),
    });
    let model = Model {
        header,
        tile: base.tile.clone(),
        fusion,
        vector: None,
        artist: opts.kept_artist_encoder(),
    };
    model.check()?;
    Ok(model)
}

/// Trains `init`'s tile autoencoder further on `tracks` for `opts.tile_training`'s epochs
/// (the optimiser and the contrastive projection head start afresh), then refits the fusion
/// statistics and the optional final stage as [`train_model`] does: [`train_model`] with
/// [`resume_tile`](TrainOptions::resume_tile) set to `init`'s tile model and `opts.tile` to
/// its architecture. The band statistics are refitted on `tracks`, so continue on the tracks
/// the first run trained on to keep them.
///
/// Evaluation uses it to score one training run at several lengths (train for E₁ epochs,
/// score, continue for E₂ − E₁, score). Give the continuation another seed than the first
/// run, or it replays the same tile positions.
///
/// # Errors
/// As [`train_model`].
pub fn continue_training<F>(
    init: &Model,
    tracks: &[&TrackData],
    opts: &TrainOptions,
    progress: F,
) -> Result<Model>
where
    F: FnMut(&Progress) -> bool,
{
    let mut o = opts.clone();
    o.tile = init.tile.config().clone();
    o.resume_tile = Some(init.tile.clone());
    let mut model = train_model(tracks, &o, progress)?;
    model.header.provenance["continued_from"] = init.header.provenance["tile_training"].clone();
    Ok(model)
}

/// The final vector of a track under `model`, from its extracted data (the same computation
/// as [`Analyzer`](crate::Analyzer) on the file, when the data holds the whole track).
///
/// # Errors
/// [`Error::SettingsMismatch`] for a track analysed with other settings than the model's,
/// wrong block sizes, non-finite values, model errors.
pub fn embed_track_data(model: &Model, t: &TrackData) -> Result<Vec<f32>> {
    check_settings(&model.header.settings(), t)?;
    let tiles = tile_block(
        &model.tile,
        &model.header.band_stats,
        model.header.tile_frames,
        t,
    )?;
    let published = t.published_descriptors();
    let blocks = fusion_blocks(t, &tiles, &published, model.header.artist);
    final_vector(model, &blocks)
}

/// A track's blocks by name, as a fusion takes them: its `tiles` block (`tiles`), its own
/// blocks (the `artist` block cut to `artist`'s pooling, or left out), and the published
/// design's descriptors (`published`, its [`TrackData::published_descriptors`]).
fn fusion_blocks<'a>(
    t: &'a TrackData,
    tiles: &'a [f32],
    published: &'a [f32; 3],
    artist: Option<ArtistPooling>,
) -> Vec<(&'a str, &'a [f32])> {
    let mut blocks = t.named_blocks(tiles, artist);
    blocks.push((PUBLISHED_DESCRIPTORS, published.as_slice()));
    blocks
}

/// What fitting a model or a fusion takes of its tracks: at least two, each analysed with
/// `expected`, and when `opts` fuses an `artist` block, the encoder and the block of every
/// track.
fn check_tracks(
    tracks: &[&TrackData],
    expected: &AnalysisSettings,
    opts: &TrainOptions,
) -> Result<()> {
    if tracks.len() < 2 {
        return Err(Error::TooFewTracks {
            needed: 2,
            given: tracks.len(),
        });
    }
    for t in tracks {
        check_settings(expected, t)?;
    }
    if opts.artist.is_some() {
        let tracks_without = tracks.iter().filter(|t| t.block(ARTIST).is_none()).count();
        if opts.artist_encoder.is_none() || tracks_without > 0 {
            return Err(Error::ArtistBlockUnavailable {
                encoder_given: opts.artist_encoder.is_some(),
                tracks_without,
            });
        }
    }
    Ok(())
}

/// A track's data must come from an analysis with `expected` settings.
fn check_settings(expected: &AnalysisSettings, t: &TrackData) -> Result<()> {
    if t.settings == *expected {
        Ok(())
    } else {
        Err(Error::SettingsMismatch {
            expected: Box::new(expected.clone()),
            found: Box::new(t.settings.clone()),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::train::data::whole_signal;

    fn tracks() -> (TrackData, TrackData) {
        let tone =
            |f: f32| -> Vec<f32> { (0..40 * 512).map(|i| (i as f32 * f).sin() * 0.3).collect() };
        (whole_signal(&tone(0.031)), whole_signal(&tone(0.047)))
    }

    /// The errors a caller can act on come typed, and before any training.
    #[test]
    fn typed_errors_before_training() {
        let (a, b) = tracks();
        let opts = TrainOptions::default();
        let e = train_model(&[&a], &opts, |_| true).unwrap_err();
        assert!(
            matches!(
                e,
                Error::TooFewTracks {
                    needed: 2,
                    given: 1
                }
            ),
            "{e}"
        );
        let mut other = b.clone();
        other.settings = other.settings.with_rolloff_percent(0.5);
        let e = train_model(&[&a, &other], &opts, |_| true).unwrap_err();
        assert!(matches!(e, Error::SettingsMismatch { .. }), "{e}");
        let mut with_artist = opts.clone();
        with_artist.artist = Some(ArtistPooling::default());
        let e = train_model(&[&a, &b], &with_artist, |_| true).unwrap_err();
        assert!(
            matches!(
                e,
                Error::ArtistBlockUnavailable {
                    encoder_given: false,
                    tracks_without: 2
                }
            ),
            "{e}"
        );
    }
}
