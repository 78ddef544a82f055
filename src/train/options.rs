//! The options of extraction ([`ExtractOptions`]) and training ([`TrainOptions`]), and
//! their presets: the published system, the learned second stage, the shipped augmentation.

use std::sync::Arc;

use serde::{Deserialize, Serialize};
use sonority_autoencoders::{
    ArtistEncoder, Augment, ContrastiveConfig, ConvAeConfig, ConvAutoencoder, Embedding,
    TrainConfig,
};

use crate::artist::ArtistPooling;
use crate::blocks::BLOCKS;
use crate::model::{AnalysisSettings, FinalStage};
#[cfg(doc)]
use {
    super::{extract_track_data, fit_band_stats, fit_unit_range, train_model},
    crate::blocks::PUBLISHED_DESCRIPTORS,
    sonority_autoencoders::train_vector_views,
    sonority_fusion::Fusion,
};

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
    /// With [`artist`](Self::artist), keep a uniform sample of at most this many of the
    /// encoder's input segments in [`TrackData::artist_segments`](crate::train::TrackData)
    /// (66 KB each). Default: `0`.
    pub artist_segments: usize,
}

impl Default for ExtractOptions {
    fn default() -> Self {
        Self {
            settings: AnalysisSettings::default(),
            max_blocks: Some(8),
            block_frames: 512,
            seed: 0,
            artist: None,
            artist_segments: 0,
        }
    }
}

impl ExtractOptions {
    /// What `model` needs of a track (whole): its analysis settings, and its artist encoder
    /// when it has an `artist` block. [`embed_track_data`](crate::train::embed_track_data) then
    /// gives what [`Analyzer`](crate::Analyzer) gives for the file.
    ///
    /// # Examples
    /// ```
    /// let model = sonority::Model::load_default()?;
    /// let opts = sonority::train::ExtractOptions::for_model(&model);
    /// assert_eq!(opts.artist.is_some(), model.artist_encoder().is_some());
    /// # Ok::<(), sonority::Error>(())
    /// ```
    #[must_use]
    pub fn for_model(model: &crate::Model) -> Self {
        let opts = Self {
            settings: model.header.settings(),
            ..Self::default()
        }
        .whole_track();
        match &model.artist {
            Some(encoder) => opts.with_artist(Arc::new(encoder.clone())),
            None => opts,
        }
    }

    /// Sets [`artist`](Self::artist).
    #[must_use]
    pub fn with_artist(mut self, encoder: Arc<ArtistEncoder>) -> Self {
        self.artist = Some(encoder);
        self
    }

    /// Sets [`artist_segments`](Self::artist_segments).
    #[must_use]
    pub fn with_artist_segments(mut self, max: usize) -> Self {
        self.artist_segments = max;
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

    /// Continues training `model`'s tile autoencoder ([`resume_tile`](Self::resume_tile)).
    #[must_use]
    pub fn resuming_model(self, model: &crate::Model) -> Self {
        self.resuming(Some(model.tile.clone()))
    }

    /// The artist encoder a model made with these options keeps: the one given, when an
    /// `artist` block is fused.
    pub(super) fn kept_artist_encoder(&self) -> Option<ArtistEncoder> {
        self.artist
            .and_then(|_| self.artist_encoder.as_deref().cloned())
    }
}
