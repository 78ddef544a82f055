//! Training a [`Model`] from a set of tracks: features once, then the tile autoencoder, the
//! fusion statistics and the optional fused-vector autoencoder.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sonority_autoencoders::{
    Augment, ConvAeConfig, ConvAutoencoder, Embedding, Progress, TrackMatrix, TrainConfig,
    fine_tune_tiles, train_tiles, train_vectors,
};
use sonority_fusion::{BlockScaling, BlockSpec, Fusion, Standardization};
use sonority_mfcc::FileSource;

use crate::model::{FinalStage, MODEL_FORMAT, MODEL_FORMAT_VERSION, Model, ModelHeader};
use crate::pipeline::{AnalysisSettings, BLOCKS, BlockPipeline, final_vector};
use crate::pooler::{BandStats, TilePooler};
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
}

impl Default for ExtractOptions {
    fn default() -> Self {
        Self {
            settings: AnalysisSettings::default(),
            max_blocks: Some(8),
            block_frames: 512,
            seed: 0,
        }
    }
}

impl ExtractOptions {
    /// Sets [`seed`](Self::seed).
    #[must_use]
    pub fn with_seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
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
    let pass = BlockPipeline::keeping_logmel(&opts.settings, opts.block_frames, blocks, seed)?
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
    })
}

impl TrackData {
    /// The model-independent block called `name`.
    #[must_use]
    pub fn block(&self, name: &str) -> Option<&[f32]> {
        self.blocks
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, b)| b.as_slice())
    }

    /// Every block by name, with `tiles` (the track's pooled tile vector under some model)
    /// first: what [`Fusion::concat_named`] and [`Fusion::fuse_named`] take.
    #[must_use]
    pub fn named_blocks<'a>(&'a self, tiles: &'a [f32]) -> Vec<(&'a str, &'a [f32])> {
        std::iter::once(("tiles", tiles))
            .chain(self.blocks.iter().map(|(n, b)| (*n, b.as_slice())))
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

/// Per-band mean and standard deviation of the log-mel frames of `tracks`.
#[must_use]
pub fn fit_band_stats(tracks: &[&TrackData]) -> BandStats {
    let n_mels = tracks.first().map_or(0, |t| t.n_mels);
    let mut sum = vec![0.0_f64; n_mels];
    let mut sq = vec![0.0_f64; n_mels];
    let mut n = 0.0_f64;
    for t in tracks {
        for b in 0..n_mels {
            for &v in &t.logmel[b * t.frames..(b + 1) * t.frames] {
                sum[b] += f64::from(v);
                sq[b] += f64::from(v) * f64::from(v);
            }
        }
        n += t.frames as f64;
    }
    let n = n.max(1.0);
    BandStats {
        mean: sum.iter().map(|s| (s / n) as f32).collect(),
        std: sq
            .iter()
            .zip(&sum)
            .map(|(q, s)| (q / n - (s / n) * (s / n)).max(1e-6).sqrt().max(1e-3) as f32)
            .collect(),
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
    /// Block weights, by block name; blocks not listed weigh 1.
    pub weights: Vec<(String, f32)>,
    /// Where the final vector comes from.
    pub final_stage: FinalStage,
    /// The fused-vector autoencoder (its `cols` is set to the fused length) and its training,
    /// used when [`final_stage`](Self::final_stage) is [`FinalStage::VectorAutoencoder`].
    pub vector: (ConvAeConfig, TrainConfig),
}

impl Default for TrainOptions {
    fn default() -> Self {
        Self {
            name: "sonority-default".into(),
            tile: ConvAeConfig::default(),
            tile_training: TrainConfig::default(),
            weights: Vec::new(),
            final_stage: FinalStage::Fused,
            vector: (
                ConvAeConfig::published_1d().with_embedding(Embedding::Flatten),
                TrainConfig::default(),
            ),
        }
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
    let mut pooler = TilePooler::new(tile, stats, tile_frames, 16)?;
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
    pooler.finish()
}

/// Trains a model: the tile autoencoder on random tiles of `tracks` (standardised per band),
/// then the fusion statistics on every track's blocks, then (optionally) the fused-vector
/// autoencoder. `progress` receives the tile training's reports; return `false` to stop.
///
/// # Errors
/// Fewer than two tracks, training errors, non-finite features.
pub fn train_model<F>(tracks: &[&TrackData], opts: &TrainOptions, progress: F) -> Result<Model>
where
    F: FnMut(&Progress) -> bool,
{
    train_inner(None, tracks, opts, progress)
}

/// Trains `init`'s tile autoencoder further on `tracks` for `opts.tile_training`'s epochs
/// (its band statistics are kept; the optimiser and the contrastive projection head start
/// afresh), then refits the fusion statistics and the optional final stage as
/// [`train_model`] does. `opts.tile` is ignored: the architecture is `init`'s.
///
/// Evaluation uses it to score one training run at several lengths (train for E₁ epochs,
/// score, continue for E₂ − E₁, score). Give the continuation another seed than the first
/// run, or it replays the same tile positions.
///
/// # Errors
/// As [`train_model`]; tracks analysed with other settings than `init`'s.
pub fn continue_training<F>(
    init: &Model,
    tracks: &[&TrackData],
    opts: &TrainOptions,
    progress: F,
) -> Result<Model>
where
    F: FnMut(&Progress) -> bool,
{
    train_inner(Some(init), tracks, opts, progress)
}

fn train_inner<F>(
    init: Option<&Model>,
    tracks: &[&TrackData],
    opts: &TrainOptions,
    progress: F,
) -> Result<Model>
where
    F: FnMut(&Progress) -> bool,
{
    if tracks.len() < 2 {
        return Err(Error::Model {
            reason: "training needs at least two tracks".into(),
        });
    }
    let n_mels = tracks[0].n_mels;
    if let Some(m) = init
        && (m.header.n_mels != n_mels || m.header.settings() != tracks[0].settings)
    {
        return Err(Error::Model {
            reason: format!(
                "model {} was trained on features analysed with other settings than these tracks'",
                m.name()
            ),
        });
    }
    let band_stats = match init {
        Some(m) => m.header.band_stats.clone(),
        None => fit_band_stats(tracks),
    };
    let data: Vec<TrackMatrix> = tracks
        .iter()
        .map(|t| TrackMatrix::new(standardised(t, &band_stats), n_mels, t.frames))
        .collect::<std::result::Result<_, _>>()?;
    let (trained, tile_cfg) = match init {
        Some(m) => (
            fine_tune_tiles(&m.tile, &opts.tile_training, &data, progress)?,
            m.tile.config().clone(),
        ),
        None => {
            let cfg = opts.tile.clone().with_rows(n_mels);
            (
                train_tiles(&cfg, &opts.tile_training, &data, progress)?,
                cfg,
            )
        }
    };
    drop(data);
    let tile = trained.model;
    let tile_frames = tile_cfg.cols;
    let continued_from = init.map(|m| m.header.provenance["tile_training"].clone());

    let settings = tracks[0].settings.clone();
    if tracks.iter().any(|t| t.settings != settings) {
        return Err(Error::Model {
            reason: "the tracks were analysed with different settings".into(),
        });
    }
    let tiles: Vec<Vec<f32>> = tracks
        .iter()
        .map(|t| tile_block(&tile, &band_stats, tile_frames, t))
        .collect::<Result<_>>()?;
    let named: Vec<Vec<(&str, &[f32])>> = tracks
        .iter()
        .zip(&tiles)
        .map(|(t, tb)| t.named_blocks(tb))
        .collect();
    // Every block the pipeline makes, in BLOCKS order.
    let specs: Vec<BlockSpec> = BLOCKS
        .iter()
        .filter_map(|(name, _)| named[0].iter().find(|(n, _)| n == name))
        .map(|(name, b)| {
            let spec = BlockSpec::new(*name, b.len());
            // The key's circle-of-fifths geometry survives only with one scale for the whole
            // block.
            if *name == "key" {
                spec.with_scaling(BlockScaling::Pooled)
            } else {
                spec
            }
        })
        .collect();
    let mut fusion = Fusion::new(specs, Standardization::MeanStd)?;
    let raw: Vec<Vec<f32>> = named
        .iter()
        .map(|b| fusion.concat_named(b))
        .collect::<std::result::Result<_, _>>()?;
    fusion.fit(&raw)?;
    for (name, w) in &opts.weights {
        fusion.set_weight(name, *w)?;
    }
    let mut header = ModelHeader {
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
        provenance: serde_json::json!({
            "tile_training": trained.provenance,
            "options": opts,
            "tracks": tracks.len(),
        }),
    };
    if let Some(prev) = continued_from {
        header.provenance["continued_from"] = prev;
    }
    let mut model = Model {
        header,
        tile,
        fusion,
        vector: None,
    };
    if opts.final_stage == FinalStage::VectorAutoencoder {
        let fused: Vec<Vec<f32>> = raw
            .iter()
            .map(|r| model.fusion.fuse_raw(r))
            .collect::<std::result::Result<_, _>>()?;
        let dim = model.fusion.dim();
        let cfg = opts.vector.0.clone().with_rows(1).with_cols(dim);
        let flat: Vec<f32> = fused.concat();
        let v = train_vectors(&cfg, &opts.vector.1, &flat, fused.len(), |_| true)?;
        model.vector = Some(v.model);
        model.header.final_stage = FinalStage::VectorAutoencoder;
        model.header.provenance["vector_training"] =
            serde_json::to_value(&v.provenance).map_err(|e| Error::Model {
                reason: e.to_string(),
            })?;
    }
    model.check()?;
    Ok(model)
}

/// The final vector of a track under `model`, from its extracted data (the same computation
/// as [`Analyzer`](crate::Analyzer) on the file, when the data holds the whole track).
///
/// # Errors
/// Wrong block sizes, non-finite values, model errors.
pub fn embed_track_data(model: &Model, t: &TrackData) -> Result<Vec<f32>> {
    let tiles = tile_block(
        &model.tile,
        &model.header.band_stats,
        model.header.tile_frames,
        t,
    )?;
    final_vector(model, &t.named_blocks(&tiles))
}
