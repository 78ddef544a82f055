//! The block pipeline: one function builds the frame sinks of an analysis pass from block names,
//! and one pass yields every block by name. Indexing ([`Analyzer`](crate::Analyzer)), training
//! and evaluation ([`extract_track_data`](crate::train::extract_track_data)) all go through it,
//! with the analysis settings of one [`AnalysisSettings`].
//!
//! | block | sink | what it holds |
//! |---|---|---|
//! | `tiles` | [`TileEncoderSink`] (or a [`LogMelReservoir`] for training) | mean and std over the track of the tile autoencoder's latent |
//! | `timbre` | [`TimbreSink`] | mean and std of 20 MFCCs |
//! | `key` | [`Descriptors`] | key on the circle of fifths (sin, cos) and mode |
//! | `tempo` | [`Descriptors`] | tempo on a log scale, folded and raw, with confidence |
//! | `rolloff` | [`Descriptors`] | spectral roll-off on a log-frequency scale, mean and spread |
//! | `artist` | `ArtistSink` (`src/artist.rs`) | the pretrained artist encoder's segment embeddings, pooled over the track |
//!
//! The descriptors always run (their values are stored with every track); the tile encoder and
//! the timbre statistics run when the model's layout names their block with a weight above 0
//! (a block of weight 0 is zeros in the final vector, so it is not computed). One more block exists
//! for the published design only, made when a layout names it:
//! [`PUBLISHED_DESCRIPTORS`] (`descriptors`: roll-off in Hz, tempo in BPM and the key's integer
//! label, unscaled, as the published ÷255 fusion takes them).

use sonority_autoencoders::ArtistEncoder;
use sonority_fusion::{DescriptorSummary, Descriptors, FeatureExtractor, TimbreSink};
use sonority_mfcc::{AudioSource, FrameSink, Matrix, MfccConfig, analyze};

use crate::artist::{ArtistPooling, ArtistSink};
use crate::blocks::{ARTIST, BLOCKS, PUBLISHED_DESCRIPTORS, TILES, TIMBRE};
use crate::logmel::LogMelReservoir;
use crate::model::{AnalysisSettings, Model};
use crate::pooler::{TileEncoderSink, TilePooler};
use crate::{Error, Result};

/// How the pass treats the log-mel frames of the `tiles` block.
// One per analysis pass, never in a collection: the variants' sizes do not matter.
#[allow(clippy::large_enum_variant)]
enum TileStage<'a> {
    /// Encoded with the model's tile autoencoder and pooled: the block itself.
    Encode(TileEncoderSink<'a>),
    /// Kept (a bounded sample) for training and evaluation, which encode them later.
    Keep(LogMelReservoir),
}

/// The frame sinks of one analysis pass, built from block names.
pub(crate) struct BlockPipeline<'a> {
    cfg: MfccConfig,
    tiles: Option<TileStage<'a>>,
    timbre: Option<TimbreSink>,
    /// The artist encoder's sink and the block's pooling (`None`: mean and std, as training
    /// keeps it).
    artist: Option<(ArtistSink<'a>, Option<ArtistPooling>)>,
    descriptors: Descriptors,
    /// Whether to add the [`PUBLISHED_DESCRIPTORS`] block.
    published: bool,
}

/// What one pass gave.
#[derive(Debug)]
pub(crate) struct PassOutput {
    /// The blocks, by name, in [`BLOCKS`] order (raw, before standardisation).
    pub blocks: Vec<(&'static str, Vec<f32>)>,
    /// Key, tempo and roll-off as values.
    pub descriptors: DescriptorSummary,
    /// The kept log-mel frames `[n_mels, frames]`, for a pipeline that keeps them.
    pub logmel: Option<Matrix>,
    /// The artist encoder's input segments kept (empty unless asked).
    pub artist_segments: Vec<f32>,
    /// Duration of the analysed audio, in seconds.
    pub duration_s: f64,
}

impl<'a> BlockPipeline<'a> {
    /// The sinks for `model`: those its fusion layout names with a weight above 0, and the
    /// descriptors.
    ///
    /// `batch` tiles are encoded at a time.
    pub(crate) fn for_model(model: &'a Model, batch: usize) -> Result<Self> {
        let settings = model.header.settings();
        let cfg = settings.mfcc_config();
        // A block of weight 0 is zeros in the fused vector whatever its values
        // (`Fusion::fuse_named` takes it at its centre): not computed.
        let wants = |name: &str| {
            model
                .fusion
                .layout()
                .block(name)
                .is_some_and(|b| b.weight != 0.0)
        };
        let tiles = if wants(TILES) {
            let pooler = TilePooler::new(
                &model.tile,
                &model.header.band_stats,
                model.header.tile_frames,
                batch,
            )?;
            Some(TileStage::Encode(TileEncoderSink::new(&cfg, pooler)?))
        } else {
            None
        };
        let timbre = if wants(TIMBRE) {
            Some(TimbreSink::librosa_20(&cfg)?)
        } else {
            None
        };
        let artist = match (&model.artist, model.header.artist) {
            (Some(encoder), Some(pooling)) if wants(ARTIST) => Some((
                ArtistSink::new(encoder)?.with_segment_stride(settings.artist_segment_stride),
                Some(pooling),
            )),
            _ => None,
        };
        Ok(Self {
            descriptors: Descriptors::with_rolloff_percent(settings.rolloff_percent)?,
            cfg,
            tiles,
            timbre,
            artist,
            published: wants(PUBLISHED_DESCRIPTORS),
        })
    }

    /// Every model-independent block, with a bounded sample of the log-mel frames kept for
    /// the tiles (`max_blocks` blocks of `block_frames` frames, chosen with `seed`).
    /// With `artist`, the `artist` block too, as the mean and std of its segment embeddings,
    /// and a uniform sample of at most `artist_segments` of its input segments (drawn with
    /// `seed`).
    pub(crate) fn keeping_logmel(
        settings: &AnalysisSettings,
        block_frames: usize,
        max_blocks: usize,
        seed: u64,
        artist: Option<&'a ArtistEncoder>,
        artist_segments: usize,
    ) -> Result<Self> {
        let cfg = settings.mfcc_config();
        Ok(Self {
            tiles: Some(TileStage::Keep(LogMelReservoir::new(
                &cfg,
                block_frames,
                max_blocks,
                seed,
            )?)),
            timbre: Some(TimbreSink::librosa_20(&cfg)?),
            artist: match artist {
                Some(encoder) => Some((
                    ArtistSink::new(encoder)?
                        .with_segment_stride(settings.artist_segment_stride)
                        .keeping_segments(artist_segments, seed),
                    None,
                )),
                None => None,
            },
            descriptors: Descriptors::with_rolloff_percent(settings.rolloff_percent)?,
            cfg,
            published: false,
        })
    }

    /// Runs one pass over `source` (delivering the settings' sample rate) and collects every
    /// block.
    ///
    /// # Errors
    /// [`Error::NoSignal`] for a source with no samples; decoding, sink and encoder errors.
    pub(crate) fn run(self, source: &mut dyn AudioSource) -> Result<PassOutput> {
        let Self {
            cfg,
            mut tiles,
            mut timbre,
            mut artist,
            mut descriptors,
            published,
        } = self;
        // The order matters only for the shared mel stage: the first sink that names its mel
        // bands gives the pass's shared spectrum (the tiles' bands, which timbre reads too).
        let mut sinks: Vec<&mut dyn FrameSink> = Vec::with_capacity(3);
        match &mut tiles {
            Some(TileStage::Encode(s)) => sinks.push(s),
            Some(TileStage::Keep(s)) => sinks.push(s),
            None => {}
        }
        if let Some(t) = &mut timbre {
            sinks.push(t);
        }
        if let Some((a, _)) = &mut artist {
            sinks.push(a);
        }
        sinks.push(&mut descriptors);
        let a = analyze(source, &cfg.stft_spec(), &mut sinks)?;
        drop(sinks);
        if a.samples == 0 {
            return Err(Error::NoSignal);
        }
        let mut blocks = Vec::with_capacity(BLOCKS.len());
        let mut logmel = None;
        match tiles {
            Some(TileStage::Encode(s)) => blocks.push((TILES, s.finish()?)),
            Some(TileStage::Keep(r)) => logmel = Some(r.into_matrix()),
            None => {}
        }
        if let Some(t) = &timbre {
            blocks.push((t.name(), t.block()?));
        }
        blocks.extend(descriptors.blocks()?);
        let mut artist_segments = Vec::new();
        if let Some((a, pooling)) = artist {
            let (mean_std, kept) = a.finish_keeping()?;
            artist_segments = kept;
            let block = match pooling {
                Some(p) => p.of_mean_std(&mean_std).to_vec(),
                None => mean_std,
            };
            blocks.push((ARTIST, block));
        }
        let summary = descriptors.summary()?;
        if published {
            blocks.push((PUBLISHED_DESCRIPTORS, published_block(&summary).to_vec()));
        }
        Ok(PassOutput {
            blocks,
            descriptors: summary,
            logmel,
            artist_segments,
            duration_s: a.duration_s,
        })
    }
}

/// The block called `name` among a pass's named blocks ([`PassOutput::blocks`]).
pub(crate) fn named_block<'b>(
    blocks: &'b [(&'static str, Vec<f32>)],
    name: &str,
) -> Option<&'b [f32]> {
    blocks
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, b)| b.as_slice())
}

/// The [`PUBLISHED_DESCRIPTORS`] block of a track's descriptors.
pub(crate) fn published_block(d: &DescriptorSummary) -> [f32; 3] {
    sonority_fusion::published_descriptors(d.rolloff.mean_hz, d.tempo.bpm, d.key.key)
}

/// Standardises and weights named blocks with the model's fusion (blocks its layout does not
/// name are left out), then applies the final stage.
///
/// # Errors
/// A layout block missing or of the wrong size, non-finite values, model errors.
pub(crate) fn final_vector(model: &Model, blocks: &[(&str, &[f32])]) -> Result<Vec<f32>> {
    let layout = model.fusion.layout();
    let named: Vec<(&str, &[f32])> = blocks
        .iter()
        .filter(|(n, _)| layout.block(n).is_some())
        .copied()
        .collect();
    final_stage(model, model.fusion.fuse_named(&named)?)
}

/// The model's final stage applied to a fused vector: the vector itself, or the latent of the
/// fused-vector autoencoder.
///
/// # Errors
/// A vector autoencoder that does not take the fused length; non-finite values.
pub(crate) fn final_stage(model: &Model, fused: Vec<f32>) -> Result<Vec<f32>> {
    let v = match &model.vector {
        Some(ae) => {
            use sonority_autoencoders::Encoder;
            let shape = ae
                .config()
                .vector_shape(fused.len())
                .ok_or_else(|| Error::Model {
                    reason: format!(
                        "the vector autoencoder does not take the {}-value fused vector",
                        fused.len()
                    ),
                })?;
            ae.encode(&fused, shape)?
        }
        None => fused,
    };
    if v.iter().any(|x| !x.is_finite()) {
        return Err(Error::NonFinite {
            what: "final stage",
        });
    }
    Ok(v)
}
