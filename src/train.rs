//! Training a [`Model`] from a set of tracks: features once, then the tile autoencoder, the
//! fusion statistics and the optional fused-vector autoencoder.

use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use sonority_autoencoders::{
    ArtistEncoder, Augment, ContrastiveConfig, ConvAeConfig, ConvAutoencoder, Embedding, Progress,
    TrackMatrix, TrainConfig, fine_tune_tiles, train_tiles, train_vector_views, train_vectors,
};
use sonority_fusion::{BlockScaling, BlockSpec, Fusion, Standardization, TimbreSink};
use sonority_mfcc::{FileSource, Tiler};

use crate::artist::ArtistPooling;
use crate::blocks::{ARTIST, BLOCKS, KEY, PUBLISHED_DESCRIPTORS, ROLLOFF, TEMPO, TILES, TIMBRE};
use crate::model::{
    AnalysisSettings, BandStats, FinalStage, MODEL_FORMAT, MODEL_FORMAT_VERSION, Model, ModelHeader,
};
use crate::moments::Moments;
use crate::pipeline::{BlockPipeline, final_vector, published_block};
use crate::pooler::TilePooler;
use crate::rng::{Rng, SplitMix64};
use crate::{Error, Result};

/// What one analysis pass keeps of a track for training and evaluation.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct TrackData {
    /// Mel bands of [`logmel`](Self::logmel).
    pub n_mels: usize,
    /// Frames kept (all of them, or a reservoir sample of blocks).
    pub frames: usize,
    /// Log-mel dB `[n_mels, frames]`, row-major.
    pub logmel: Vec<f32>,
    /// The model-independent blocks by name, in [`BLOCKS`] order after `tiles`: timbre, key,
    /// tempo, roll-off.
    pub blocks: Vec<(&'static str, Vec<f32>)>,
    /// The settings of the analysis that made them.
    pub settings: AnalysisSettings,
    /// Key, tempo and roll-off as values (for the published design's fusion and for display).
    pub descriptors: sonority_fusion::DescriptorSummary,
    /// Duration of the whole track, in seconds.
    pub duration_s: f64,
    /// The track's group for training with
    /// [`Positives::SameGroup`](sonority_autoencoders::Positives::SameGroup) (its album,
    /// say); `None` after extraction: the caller labels it.
    pub group: Option<u64>,
}

/// Options of [`extract_track_data`].
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct ExtractOptions {
    /// The analysis settings (the trained model records them). Default: `128` mel bands at
    /// 22,050 Hz, librosa's STFT, roll-off at 85 %.
    pub settings: AnalysisSettings,
    /// Keep at most this many blocks of `block_frames` (a uniform sample over the track);
    /// `None` keeps the whole track. Default: `Some(8)` (about 95 s).
    pub max_blocks: Option<usize>,
    /// Frames per kept block. Default: `512`.
    pub block_frames: usize,
    /// Seed of the block sample. Default: `0`.
    pub seed: u64,
    /// The pretrained artist encoder: when given, the `artist` block is extracted too (the
    /// mean and std of its segment embeddings). Default: `None`.
    pub artist: Option<Arc<ArtistEncoder>>,
}

impl Default for ExtractOptions {
    fn default() -> Self {
        Self {
            settings: AnalysisSettings::default(),
            max_blocks: Some(8),
            block_frames: 512,
            seed: 0,
            artist: None,
        }
    }
}

impl ExtractOptions {
    /// Sets [`artist`](Self::artist).
    #[must_use]
    pub fn with_artist(mut self, encoder: Arc<ArtistEncoder>) -> Self {
        self.artist = Some(encoder);
        self
    }

    /// Sets [`seed`](Self::seed).
    #[must_use]
    pub fn with_seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// The published preset's analysis: 256 mel bands (else as the default), up to eight
    /// 512-frame excerpts per track (two 256-frame tiles each).
    #[must_use]
    pub fn published() -> Self {
        Self {
            settings: AnalysisSettings::default().with_n_mels(256),
            ..Self::default()
        }
    }

    /// Keeps the whole track (for evaluation).
    #[must_use]
    pub fn whole_track(mut self) -> Self {
        self.max_blocks = None;
        self
    }
}

/// The training augmentation of the shipped default: each tile gets a gain offset of up to
/// ±0.25 of a band's standard deviation, a circular time shift of up to ±16 frames (0.37 s) and
/// Gaussian noise of 0.05 standard deviations.
///
/// The values were fixed before any measurement (mild enough to keep a tile recognisably the
/// same music) and kept because album cross-validation on the dev corpus showed the
/// contrastive model doing better with them than without (see the README).
///
/// # Examples
/// ```
/// let a = sonority::train::shipped_augment();
/// assert!(a.is_enabled());
/// ```
#[must_use]
pub fn shipped_augment() -> Augment {
    Augment::default()
        .with_gain(0.25)
        .with_time_shift(16)
        .with_noise(0.05)
}

/// Decodes a file once and keeps its log-mel frames (bounded by `opts.max_blocks`) and its
/// model-independent blocks.
///
/// # Errors
/// Decoding errors naming the file, [`Error::NoSignal`].
pub fn extract_track_data(path: &Path, opts: &ExtractOptions) -> Result<TrackData> {
    let mut src = FileSource::open(path, &opts.settings.decode_options())?;
    let blocks = opts
        .max_blocks
        .unwrap_or(usize::MAX / (opts.block_frames + 1));
    let seed = opts.seed
        ^ path
            .to_string_lossy()
            .bytes()
            .fold(0_u64, |h, b| h.wrapping_mul(31) ^ u64::from(b));
    let pass = BlockPipeline::keeping_logmel(
        &opts.settings,
        opts.block_frames,
        blocks,
        seed,
        opts.artist.as_deref(),
    )?
    .run(&mut src)?;
    let m = pass.logmel.ok_or(Error::NoSignal)?;
    Ok(TrackData {
        n_mels: m.rows(),
        frames: m.cols(),
        logmel: m.into_vec(),
        blocks: pass.blocks,
        settings: opts.settings.clone(),
        descriptors: pass.descriptors,
        duration_s: pass.duration_s,
        group: None,
    })
}

/// Group labels for [`TrackData::group`] from names (albums, say): each name's index among the
/// distinct names in sorted order, so equal names get equal labels whatever the order.
///
/// # Examples
///
/// ```
/// let ids = sonority::train::group_ids(&["b", "a", "b", "c"]);
/// assert_eq!(ids, [1, 0, 1, 2]);
/// ```
#[must_use]
pub fn group_ids<S: AsRef<str>>(names: &[S]) -> Vec<u64> {
    let mut distinct: Vec<&str> = names.iter().map(AsRef::as_ref).collect();
    distinct.sort_unstable();
    distinct.dedup();
    names
        .iter()
        .map(|n| distinct.binary_search(&n.as_ref()).unwrap_or(0) as u64)
        .collect()
}

impl TrackData {
    /// The model-independent block called `name`.
    #[must_use]
    pub fn block(&self, name: &str) -> Option<&[f32]> {
        crate::pipeline::named_block(&self.blocks, name)
    }

    /// The published design's descriptor block ([`PUBLISHED_DESCRIPTORS`]): roll-off Hz,
    /// tempo BPM, key label.
    #[must_use]
    pub fn published_descriptors(&self) -> [f32; 3] {
        published_block(&self.descriptors)
    }

    /// Every block by name, with `tiles` (the track's pooled tile vector under some model)
    /// first: what [`Fusion::concat_named`] and [`Fusion::fuse_named`] take (the published
    /// design's [`PUBLISHED_DESCRIPTORS`] block is not among them; see
    /// [`published_descriptors`](Self::published_descriptors)). The `artist` block, when the
    /// track has one, is cut to `artist`'s pooling, or left out for `None`.
    #[must_use]
    pub fn named_blocks<'a>(
        &'a self,
        tiles: &'a [f32],
        artist: Option<ArtistPooling>,
    ) -> Vec<(&'a str, &'a [f32])> {
        std::iter::once((TILES, tiles))
            .chain(self.blocks.iter().filter_map(|(n, b)| match *n {
                ARTIST => artist.map(|p| (*n, p.of_mean_std(b))),
                _ => Some((*n, b.as_slice())),
            }))
            .collect()
    }
}

/// The audio files under `dir`, as indexing finds them (symlinks followed, FIFOs and other
/// special files left out), sorted by path.
///
/// # Examples
/// ```
/// let dir = std::env::temp_dir().join(format!("sonority-audio-files-doc-{}", std::process::id()));
/// std::fs::create_dir_all(dir.join("album.mp3"))?; // a directory named like audio
/// std::fs::write(dir.join("a.wav"), b"RIFF")?;
/// std::fs::write(dir.join("cover.jpg"), b"")?;
/// assert_eq!(sonority::train::audio_files(&dir), [dir.join("a.wav")]);
/// std::fs::remove_dir_all(&dir)?;
/// # Ok::<(), std::io::Error>(())
/// ```
#[must_use]
pub fn audio_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = crate::walk::scan_folder(dir)
        .files
        .into_iter()
        .map(|f| f.path)
        .collect();
    files.sort();
    files
}

/// [`extract_track_data`] for many files on `threads` threads. The results are in the order
/// of `paths` (an error names its file; a panic while analysing one file fails that file
/// only); `progress` is called after each file, in completion order.
#[must_use]
pub fn extract_all<F>(
    paths: &[PathBuf],
    opts: &ExtractOptions,
    threads: usize,
    mut progress: F,
) -> Vec<Result<TrackData>>
where
    F: FnMut(&Path, Option<&Error>),
{
    let mut out: Vec<Option<Result<TrackData>>> = (0..paths.len()).map(|_| None).collect();
    let items: Vec<usize> = (0..paths.len()).collect();
    crate::parallel::for_each_parallel(
        items,
        threads,
        &crate::StopFlag::new(),
        |&i| extract_track_data(&paths[i], opts),
        |&i, r| {
            let r = r.unwrap_or_else(|panic| {
                Err(Error::Query {
                    reason: format!("{}: analysis panicked: {panic}", paths[i].display()),
                })
            });
            progress(&paths[i], r.as_ref().err());
            out[i] = Some(r);
        },
    );
    out.into_iter()
        .zip(paths)
        .map(|(r, p)| {
            r.unwrap_or_else(|| {
                Err(Error::Query {
                    reason: format!("{}: not analysed", p.display()),
                })
            })
        })
        .collect()
}

/// Per-band mean and standard deviation of the log-mel frames of `tracks` (a standard
/// deviation of at least `1e-3`).
#[must_use]
pub fn fit_band_stats(tracks: &[&TrackData]) -> BandStats {
    let n_mels = tracks.first().map_or(0, |t| t.n_mels);
    let mut moments = Moments::new(n_mels);
    for t in tracks {
        moments.push_columns(&t.logmel, t.frames);
    }
    let mean_std = moments.mean_std().unwrap_or_else(|| vec![0.0; 2 * n_mels]);
    let (mean, std) = mean_std.split_at(n_mels);
    BandStats {
        mean: mean.to_vec(),
        std: std.iter().map(|s| s.max(1e-3)).collect(),
    }
}

/// One scale for all bands mapping the training frames' dB range to `[0, 1]`:
/// `(dB − min) / (max − min)`, stored as a [`BandStats`] whose every band has mean `min` and
/// std `max − min` (the published design's tiles are images in `[0, 1]`).
#[must_use]
pub fn fit_unit_range(tracks: &[&TrackData]) -> BandStats {
    let n_mels = tracks.first().map_or(0, |t| t.n_mels);
    let (mut lo, mut hi) = (f32::INFINITY, f32::NEG_INFINITY);
    for v in tracks.iter().flat_map(|t| t.logmel.iter()) {
        lo = lo.min(*v);
        hi = hi.max(*v);
    }
    if !(lo.is_finite() && hi.is_finite()) {
        (lo, hi) = (0.0, 1.0);
    }
    let range = (hi - lo).max(1e-3);
    BandStats {
        mean: vec![lo; n_mels],
        std: vec![range; n_mels],
    }
}

fn standardised(t: &TrackData, stats: &BandStats) -> Vec<f32> {
    let mut out = t.logmel.clone();
    for (b, row) in out.chunks_exact_mut(t.frames.max(1)).enumerate() {
        for v in row {
            *v = (*v - stats.mean[b]) / stats.std[b];
        }
    }
    out
}

/// How log-mel frames are scaled before the tile autoencoder.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum TileScaling {
    /// Each band z-scored with statistics of the training frames ([`fit_band_stats`]).
    #[default]
    PerBand,
    /// One range for every band, the training frames' dB range mapped to `[0, 1]`
    /// ([`fit_unit_range`]): what the published sigmoid output and binary cross-entropy take
    /// (music outside the range is clipped by the loss, never by the encoder).
    UnitRange,
}

/// Which blocks are fused, and how.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum FusionRecipe {
    /// Every block of [`BLOCKS`] (tiles, timbre, key, tempo, roll-off): each dimension
    /// z-scored on the training tracks, each block divided by `√dim` and weighted
    /// ([`TrainOptions::weights`]).
    #[default]
    Standardized,
    /// The published design's: the tile block and [`PUBLISHED_DESCRIPTORS`] (roll-off Hz,
    /// tempo BPM, key label) concatenated and divided by 255, nothing else
    /// ([`Fusion::published_design_named`]).
    Published,
    /// The published design's blocks (tiles, key, tempo, roll-off) fused as
    /// [`Standardized`](Self::Standardized) fuses them.
    PublishedBlocksStandardized,
}

/// The architecture of the fused-vector autoencoder, sized once the fused length is known.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum VectorArchitecture {
    /// [`TrainOptions::vector`]'s configuration, its input length set to the fused vector's
    /// (the published Conv1D, [`ConvAeConfig::published_1d`]).
    #[default]
    AsGiven,
    /// [`ConvAeConfig::fused_conv1d`]: the published Conv1D levels with a latent of at least
    /// `latent` values.
    Conv1d {
        /// Smallest latent length.
        latent: usize,
    },
    /// [`ConvAeConfig::fused_dense`]: one dense layer to `latent` units and back.
    Dense {
        /// Latent length.
        latent: usize,
    },
}

/// How the fused-vector autoencoder is trained.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum VectorTraining {
    /// Reconstruction of each track's fused vector (the published design).
    #[default]
    Reconstruction,
    /// Reconstruction plus the same-track contrastive term
    /// ([`train_vector_views`]): `views` fused vectors per track (even, at least 2), made in
    /// pairs from the two halves of a random split of the track's tiles (each view's tile
    /// block pooled from its half, its timbre block the MFCC statistics of its half's frames,
    /// its key, tempo and roll-off with noise of 0.5 standard deviations, since those are
    /// whole-track values that would otherwise identify a track by themselves); two views of
    /// one track are a positive pair.
    SameTrackViews {
        /// Views per track.
        views: usize,
    },
}

/// Everything [`train_model`] needs besides the data.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[non_exhaustive]
pub struct TrainOptions {
    /// Model name (the embedding's name in the database).
    pub name: String,
    /// The tile autoencoder.
    pub tile: ConvAeConfig,
    /// How to train it.
    pub tile_training: TrainConfig,
    /// How log-mel frames are scaled for it. Default: [`TileScaling::PerBand`].
    #[serde(default)]
    pub tile_scaling: TileScaling,
    /// Which blocks are fused, and how. Default: [`FusionRecipe::Standardized`].
    #[serde(default)]
    pub fusion: FusionRecipe,
    /// Block weights, by block name; blocks not listed weigh 1 (ignored by
    /// [`FusionRecipe::Published`]).
    pub weights: Vec<(String, f32)>,
    /// Where the final vector comes from.
    pub final_stage: FinalStage,
    /// The fused-vector autoencoder (its input length is set to the fused length) and its
    /// training, used when [`final_stage`](Self::final_stage) is
    /// [`FinalStage::VectorAutoencoder`].
    pub vector: (ConvAeConfig, TrainConfig),
    /// How the fused-vector autoencoder is sized. Default: [`VectorArchitecture::AsGiven`].
    #[serde(default)]
    pub vector_architecture: VectorArchitecture,
    /// How it is trained. Default: [`VectorTraining::Reconstruction`].
    #[serde(default)]
    pub vector_training: VectorTraining,
    /// A tile autoencoder to continue training (resuming an interrupted or budget-stopped
    /// run) instead of fresh weights; its configuration must be [`tile`](Self::tile)'s with
    /// the data's bands. The optimiser state starts afresh. Default: `None`.
    #[serde(skip)]
    pub resume_tile: Option<ConvAutoencoder>,
    /// The pooling of the `artist` block, fused when set (the tracks must have been extracted
    /// with the encoder, [`ExtractOptions::artist`]). Default: `None` (no `artist` block).
    #[serde(default)]
    pub artist: Option<ArtistPooling>,
    /// The pretrained artist encoder the model keeps for its `artist` block (see
    /// [`with_artist`](Self::with_artist)).
    #[serde(skip)]
    pub artist_encoder: Option<Arc<ArtistEncoder>>,
}

impl Default for TrainOptions {
    fn default() -> Self {
        Self {
            name: "sonority-default".into(),
            tile: ConvAeConfig::default(),
            tile_training: TrainConfig::default(),
            tile_scaling: TileScaling::PerBand,
            fusion: FusionRecipe::Standardized,
            weights: Vec::new(),
            final_stage: FinalStage::Fused,
            vector: (
                ConvAeConfig::published_1d().with_embedding(Embedding::Flatten),
                TrainConfig::default(),
            ),
            vector_architecture: VectorArchitecture::AsGiven,
            vector_training: VectorTraining::Reconstruction,
            resume_tile: None,
            artist: None,
            artist_encoder: None,
        }
    }
}

impl TrainOptions {
    /// The published system (analyse with [`ExtractOptions::published`]): 256 mel bands,
    /// 256 × 256-frame tiles scaled to `[0, 1]` ([`TileScaling::UnitRange`]; the last partial
    /// tile of a track is aligned to its end, a track shorter than a tile looped to fill it),
    /// the published Conv2D autoencoder ([`ConvAeConfig::published_2d`], 51,673 parameters,
    /// sigmoid output and binary cross-entropy, trained as a plain autoencoder), its 4 × 4 × 4
    /// latent flattened (64 values per tile; the track's tile block is their mean and std over
    /// the tiles, 128 values), fused with the published descriptors by the ÷255 fusion
    /// ([`FusionRecipe::Published`], 131 values), then the published Conv1D autoencoder
    /// ([`ConvAeConfig::published_1d`], 17,401 parameters whatever the input length) over the
    /// fused vector: lengths 131 → 66 → 33 → 17 → 9 → 5 → 3, so its flattened latent, the final
    /// vector, has 3 × 4 = 12 values (8 for the published 67-value input).
    ///
    /// Training: 4 tiles per step (2 tracks × 2 tiles: the 2-D model's activations are large),
    /// AdamW as the default, no validation split, no augmentation; 150 epochs of 4 tile pairs
    /// per track unless a budget stops it first ([`with_budget_s`](Self::with_budget_s)).
    #[must_use]
    pub fn published() -> Self {
        let tile_training = TrainConfig::default()
            .with_batch_size(4)
            .with_max_epochs(150)
            .with_samples_per_track(4)
            .with_patience(None)
            .with_validation_fraction(0.0)
            .with_contrastive(ContrastiveConfig::default().with_weight(0.0));
        let vector_training = TrainConfig::default()
            .with_max_epochs(200)
            .with_patience(None)
            .with_validation_fraction(0.0);
        Self {
            name: "sonority-published".into(),
            tile: ConvAeConfig::published_2d(),
            tile_training,
            tile_scaling: TileScaling::UnitRange,
            fusion: FusionRecipe::Published,
            weights: Vec::new(),
            final_stage: FinalStage::VectorAutoencoder,
            vector: (ConvAeConfig::published_1d(), vector_training),
            vector_architecture: VectorArchitecture::AsGiven,
            vector_training: VectorTraining::Reconstruction,
            resume_tile: None,
            artist: None,
            artist_encoder: None,
        }
    }

    /// Fuses the `artist` block of `encoder` with `pooling` (the model keeps the encoder).
    #[must_use]
    pub fn with_artist(mut self, encoder: Arc<ArtistEncoder>, pooling: ArtistPooling) -> Self {
        self.artist = Some(pooling);
        self.artist_encoder = Some(encoder);
        self
    }

    /// The learned second stage over the standardised fused vector of every block (tiles,
    /// timbre, key, tempo, roll-off at weight 1): `architecture`'s autoencoder trained with
    /// reconstruction plus the same-track contrastive term on 8 views per track (tile blocks
    /// pooled from the halves of random splits of the track's tiles), 300 epochs of batches of
    /// 16 tracks × 2 views; its latent is the final vector. Only the final stage changes: the
    /// tile autoencoder stays as set.
    #[must_use]
    pub fn with_learned_stage(mut self, architecture: VectorArchitecture) -> Self {
        self.fusion = FusionRecipe::Standardized;
        self.weights = BLOCKS.iter().map(|(n, _)| ((*n).to_owned(), 1.0)).collect();
        self.final_stage = FinalStage::VectorAutoencoder;
        self.vector_architecture = architecture;
        self.vector_training = VectorTraining::SameTrackViews { views: 8 };
        self.vector.1 = TrainConfig::default()
            .with_seed(self.tile_training.seed)
            .with_max_epochs(300)
            .with_batch_size(32)
            .with_samples_per_track(1)
            .with_patience(None)
            .with_validation_fraction(0.0)
            .with_contrastive(ContrastiveConfig::default().with_weight(0.1));
        self
    }

    /// Sets the training time budget, in seconds: nine tenths for the tile autoencoder (the
    /// cost), one tenth for the fused-vector autoencoder. The analysis is not counted.
    #[must_use]
    pub fn with_budget_s(mut self, budget_s: Option<f64>) -> Self {
        self.tile_training.time_budget_s = budget_s.map(|b| b * 0.9);
        self.vector.1.time_budget_s = budget_s.map(|b| b * 0.1);
        self
    }

    /// Sets [`resume_tile`](Self::resume_tile).
    #[must_use]
    pub fn resuming(mut self, tile: Option<ConvAutoencoder>) -> Self {
        self.resume_tile = tile;
        self
    }
}

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
        let column = |frame: &mut [f32]| {
            for (b, f) in frame.iter_mut().enumerate() {
                *f = t.logmel[b * t.frames + c];
            }
        };
        if let Some(tile) = tiler.push_frame(column) {
            pooler.push_tile(tile.data)?;
        }
    }
    if let Some(tile) = tiler.finish() {
        pooler.push_tile(tile.data)?;
    }
    Ok(tiler)
}

/// A track's tiles under a tile model: what training pools subsets of.
struct TrackTiles {
    /// The pooled tile vector (the track's `tiles` block).
    pooled: Vec<f32>,
    /// Every tile vector, row-major `[tiles, dim]`.
    rows: Vec<f32>,
    /// Values per tile vector.
    dim: usize,
    /// The frames each tile holds.
    spans: Vec<Range<usize>>,
}

/// The pooled tile vector of a track under a tile model, with every tile vector and its
/// frames.
fn tile_block_and_tiles(
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
            sink.push_db(|mel| {
                for (k, m) in mel.iter_mut().enumerate() {
                    *m = t.logmel[k * t.frames + c];
                }
            });
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
fn track_views(
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

/// The blocks of `blocks` that `fusion`'s layout names.
fn in_layout<'a>(fusion: &Fusion, blocks: &[(&'a str, &'a [f32])]) -> Vec<(&'a str, &'a [f32])> {
    blocks
        .iter()
        .filter(|(n, _)| fusion.layout().block(n).is_some())
        .copied()
        .collect()
}

/// Trains a model: the tile autoencoder on random tiles of `tracks` (scaled as
/// [`TrainOptions::tile_scaling`] says), then the fusion statistics on every track's blocks,
/// then (optionally) the fused-vector autoencoder. `progress` receives the tile training's
/// reports; return `false` to stop it (the model is still made, from the weights so far).
///
/// # Errors
/// Fewer than two tracks, training errors, non-finite features, a
/// [`resume_tile`](TrainOptions::resume_tile) of another configuration.
#[allow(clippy::too_many_lines)]
pub fn train_model<F>(tracks: &[&TrackData], opts: &TrainOptions, progress: F) -> Result<Model>
where
    F: FnMut(&Progress) -> bool,
{
    if tracks.len() < 2 {
        return Err(Error::Model {
            reason: "training needs at least two tracks".into(),
        });
    }
    let n_mels = tracks[0].n_mels;
    let settings = tracks[0].settings.clone();
    if tracks.iter().any(|t| t.settings != settings) {
        return Err(Error::Model {
            reason: "the tracks were analysed with different settings".into(),
        });
    }
    // (A resumed run refits the scaling on its tracks: the same numbers for the same tracks.)
    let band_stats = match opts.tile_scaling {
        TileScaling::UnitRange => fit_unit_range(tracks),
        TileScaling::PerBand => fit_band_stats(tracks),
    };
    let data: Vec<TrackMatrix> = tracks
        .iter()
        .map(|t| {
            let m = TrackMatrix::new(standardised(t, &band_stats), n_mels, t.frames)?;
            Ok::<_, sonority_autoencoders::Error>(match t.group {
                Some(g) => m.with_group(g),
                None => m,
            })
        })
        .collect::<std::result::Result<_, _>>()?;
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
    let named: Vec<Vec<(&str, &[f32])>> = tracks
        .iter()
        .zip(&tiles)
        .zip(&published)
        .map(|((t, tb), pd)| {
            let mut v = t.named_blocks(tb, opts.artist);
            v.push((PUBLISHED_DESCRIPTORS, pd.as_slice()));
            v
        })
        .collect();
    if opts.artist.is_some()
        && (opts.artist_encoder.is_none() || tracks.iter().any(|t| t.block(ARTIST).is_none()))
    {
        return Err(Error::Model {
            reason: "an artist block needs the encoder and tracks extracted with it".into(),
        });
    }
    let (fusion, raw) = fit_fusion(opts.fusion, &opts.weights, &named)?;
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
        artist: match opts.artist {
            Some(_) => opts.artist_encoder.as_deref().cloned(),
            None => None,
        },
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
/// Fewer than two tracks, tracks analysed with other settings than `base`'s, an `artist` block
/// without the encoder or tracks extracted without it, fusion errors.
pub fn refit_fusion(base: &Model, tracks: &[&TrackData], opts: &TrainOptions) -> Result<Model> {
    if tracks.len() < 2 {
        return Err(Error::Model {
            reason: "fitting a fusion needs at least two tracks".into(),
        });
    }
    if opts.artist.is_some()
        && (opts.artist_encoder.is_none() || tracks.iter().any(|t| t.block(ARTIST).is_none()))
    {
        return Err(Error::Model {
            reason: "an artist block needs the encoder and tracks extracted with it".into(),
        });
    }
    let tiles: Vec<Vec<f32>> = tracks
        .iter()
        .map(|t| {
            if t.settings != base.header.settings() {
                return Err(Error::Model {
                    reason: "the tracks were analysed with other settings than the model's".into(),
                });
            }
            tile_block(
                &base.tile,
                &base.header.band_stats,
                base.header.tile_frames,
                t,
            )
        })
        .collect::<Result<_>>()?;
    let published: Vec<[f32; 3]> = tracks.iter().map(|t| t.published_descriptors()).collect();
    let named: Vec<Vec<(&str, &[f32])>> = tracks
        .iter()
        .zip(&tiles)
        .zip(&published)
        .map(|((t, tb), pd)| {
            let mut v = t.named_blocks(tb, opts.artist);
            v.push((PUBLISHED_DESCRIPTORS, pd.as_slice()));
            v
        })
        .collect();
    let (fusion, _) = fit_fusion(opts.fusion, &opts.weights, &named)?;
    let mut header = base.header.clone();
    header.name.clone_from(&opts.name);
    header.artist = opts.artist;
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
        artist: match opts.artist {
            Some(_) => opts.artist_encoder.as_deref().cloned(),
            None => None,
        },
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
/// Wrong block sizes, non-finite values, model errors.
pub fn embed_track_data(model: &Model, t: &TrackData) -> Result<Vec<f32>> {
    if t.settings != model.header.settings() {
        return Err(Error::Model {
            reason: format!(
                "the track was analysed with other settings ({:?}) than the model's ({:?})",
                t.settings,
                model.header.settings()
            ),
        });
    }
    let tiles = tile_block(
        &model.tile,
        &model.header.band_stats,
        model.header.tile_frames,
        t,
    )?;
    let published = t.published_descriptors();
    let mut blocks = t.named_blocks(&tiles, model.header.artist);
    blocks.push((PUBLISHED_DESCRIPTORS, published.as_slice()));
    final_vector(model, &blocks)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use sonority_mfcc::SliceSource;

    fn track(y: &[f32]) -> TrackData {
        let settings = AnalysisSettings::default();
        let pass = BlockPipeline::keeping_logmel(&settings, 512, usize::MAX / 513, 0, None)
            .unwrap()
            .run(&mut SliceSource::new(y, 22_050))
            .unwrap();
        let m = pass.logmel.unwrap();
        TrackData {
            n_mels: m.rows(),
            frames: m.cols(),
            logmel: m.into_vec(),
            blocks: pass.blocks,
            settings,
            descriptors: pass.descriptors,
            duration_s: pass.duration_s,
            group: None,
        }
    }

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
