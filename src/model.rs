//! A model directory: the tile autoencoder, the band statistics, the fusion and the optional
//! fused-vector autoencoder, with a format version and provenance.
//!
//! Layout of a model directory:
//!
//! | file | what |
//! |---|---|
//! | `model.json` | format name and version, analysis parameters, band statistics, final stage, provenance |
//! | `tile.json`, `tile.safetensors` | the tile autoencoder (sonority-autoencoders format) |
//! | `fusion.json` | block layout, standardisation statistics and block weights (sonority-fusion format) |
//! | `vector.json`, `vector.safetensors` | the Conv1D autoencoder over fused vectors, when the final stage uses it |
//! | `artist.safetensors` | the pretrained artist encoder ([`ArtistEncoder`]), when the layout has an `artist` block |

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sonority_autoencoders::{ArtistEncoder, ConvAutoencoder, Encoder};
use sonority_fusion::Fusion;
use sonority_mfcc::MfccConfig;

pub use crate::artist::ArtistPooling;
pub use crate::blocks::{
    ARTIST, BLOCKS, KEY, PUBLISHED_DESCRIPTORS, ROLLOFF, TEMPO, TILES, TIMBRE,
};
use crate::{Error, Result};
use sonority_fusion::{Descriptors, FeatureExtractor, TimbreSink};
use sonority_mfcc::DecodeOptions;

/// The file of the pretrained artist encoder's weights in a model directory.
pub const ARTIST_FILE: &str = "artist.safetensors";

/// The format name written in `model.json`.
pub const MODEL_FORMAT: &str = "sonority-model";
/// The newest `model.json` format version this build reads and writes.
pub const MODEL_FORMAT_VERSION: u32 = 1;

/// `AnalysisSettings` is the one source of truth for how audio is analysed: the decoding rate,
/// the STFT, the mel bands and the roll-off. A model records them (in its header) and
/// everything that analyses audio for it reads them from there; training takes them from
/// [`ExtractOptions`](crate::train::ExtractOptions) and writes them into the model it makes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct AnalysisSettings {
    /// Analysis sample rate in Hz. Default: `22050`.
    pub sample_rate: u32,
    /// FFT length. Default: `2048`.
    pub n_fft: usize,
    /// Hop length. Default: `512`.
    pub hop_length: usize,
    /// Mel bands (of the tiles and of the timbre MFCCs). Default: `128`.
    pub n_mels: usize,
    /// Roll-off percentage of the `rolloff` block. Default: `0.85`.
    pub rolloff_percent: f32,
    /// The `artist` block encodes one 3-second segment in this many (segments `0, n, 2n, …`;
    /// the frames of the others are not even transformed): the encoder's cost divided by `n`.
    /// Default: `1` (every segment).
    #[serde(default = "one", skip_serializing_if = "is_one")]
    pub artist_segment_stride: usize,
}

fn one() -> usize {
    1
}

#[allow(clippy::trivially_copy_pass_by_ref)] // serde's `skip_serializing_if` passes a reference
fn is_one(n: &usize) -> bool {
    *n == 1
}

impl Default for AnalysisSettings {
    /// librosa's defaults, as [`MfccConfig::default`] has them, and librosa's roll-off.
    fn default() -> Self {
        let cfg = MfccConfig::default();
        Self {
            sample_rate: cfg.sample_rate,
            n_fft: cfg.n_fft,
            hop_length: cfg.hop_length,
            n_mels: cfg.n_mels,
            rolloff_percent: 0.85,
            artist_segment_stride: 1,
        }
    }
}

impl AnalysisSettings {
    /// Sets [`n_mels`](Self::n_mels).
    #[must_use]
    pub fn with_n_mels(mut self, n_mels: usize) -> Self {
        self.n_mels = n_mels;
        self
    }

    /// Sets [`artist_segment_stride`](Self::artist_segment_stride) (at least 1).
    #[must_use]
    pub fn with_artist_segment_stride(mut self, stride: usize) -> Self {
        self.artist_segment_stride = stride.max(1);
        self
    }

    /// Sets [`rolloff_percent`](Self::rolloff_percent).
    #[must_use]
    pub fn with_rolloff_percent(mut self, rolloff_percent: f32) -> Self {
        self.rolloff_percent = rolloff_percent;
        self
    }

    /// The STFT and mel parameters (librosa's defaults with these settings).
    #[must_use]
    pub fn mfcc_config(&self) -> MfccConfig {
        MfccConfig::default()
            .with_sample_rate(self.sample_rate)
            .with_n_fft(self.n_fft)
            .with_hop_length(self.hop_length)
            .with_n_mels(self.n_mels)
    }

    /// Decoding options delivering the analysis rate (other limits at their defaults).
    #[must_use]
    pub fn decode_options(&self) -> DecodeOptions {
        DecodeOptions::default().with_sample_rate(self.sample_rate)
    }

    /// The length of each model-independent block (every block but `tiles`), by name, in
    /// [`BLOCKS`] order, then [`PUBLISHED_DESCRIPTORS`].
    ///
    /// # Errors
    /// Invalid settings.
    pub fn fixed_block_dims(&self) -> Result<Vec<(&'static str, usize)>> {
        let timbre = TimbreSink::librosa_20(&self.mfcc_config())?;
        let desc = Descriptors::with_rolloff_percent(self.rolloff_percent)?;
        let mut dims = vec![(timbre.name(), timbre.dim())];
        dims.extend(desc.block_dims());
        dims.push((PUBLISHED_DESCRIPTORS, 3));
        Ok(dims)
    }
}

/// Per-band standardisation of log-mel values, fitted on a training set.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct BandStats {
    /// Mean of each band, in dB.
    pub mean: Vec<f32>,
    /// Standard deviation of each band, in dB (at least 1e-3).
    pub std: Vec<f32>,
}

/// How much of a pair's cosine one block accounts for, by neutralisation (see
/// [`Model::explain_stage`](crate::Model::explain_stage)).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct StageContribution {
    /// The block's name in the model's fusion layout.
    pub block: String,
    /// The pair's cosine minus their cosine with this block neutralised in both tracks.
    pub cosine_lost: f32,
}

/// Where the final vector comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum FinalStage {
    /// The standardised, weighted fused vector itself.
    Fused,
    /// The latent of the Conv1D autoencoder over the fused vector (the published design).
    VectorAutoencoder,
}

/// The part of `model.json` that describes the analysis.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ModelHeader {
    /// Always [`MODEL_FORMAT`].
    pub format: String,
    /// Format version, at most [`MODEL_FORMAT_VERSION`].
    pub format_version: u32,
    /// Model name, used as the embedding's name in the database.
    pub name: String,
    /// Analysis sample rate in Hz.
    pub sample_rate: u32,
    /// FFT length.
    pub n_fft: usize,
    /// Hop length.
    pub hop_length: usize,
    /// Mel bands of the tiles.
    pub n_mels: usize,
    /// Frames per tile.
    pub tile_frames: usize,
    /// Per-band standardisation of the log-mel tiles.
    pub band_stats: BandStats,
    /// Roll-off percentage of the descriptor.
    pub rolloff_percent: f32,
    /// Where the final vector comes from.
    pub final_stage: FinalStage,
    /// The pooling of the `artist` block, for a model that has the pretrained artist encoder
    /// (`artist.safetensors`); absent otherwise (and then not written, so older models' files
    /// are unchanged).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artist: Option<ArtistPooling>,
    /// The `artist` block encodes one segment in this many
    /// ([`AnalysisSettings::artist_segment_stride`]); `1` is not written.
    #[serde(default = "one", skip_serializing_if = "is_one")]
    pub artist_segment_stride: usize,
    /// How the model was made: corpus, command, seed, hyperparameters, losses, scores.
    pub provenance: serde_json::Value,
}

impl ModelHeader {
    /// The analysis settings the model was trained with, which every analysis for it uses.
    #[must_use]
    pub fn settings(&self) -> AnalysisSettings {
        AnalysisSettings {
            sample_rate: self.sample_rate,
            n_fft: self.n_fft,
            hop_length: self.hop_length,
            n_mels: self.n_mels,
            rolloff_percent: self.rolloff_percent,
            artist_segment_stride: self.artist_segment_stride.max(1),
        }
    }
}

/// A loaded model: everything needed to turn audio into a final vector.
#[derive(Debug)]
pub struct Model {
    /// The analysis description.
    pub header: ModelHeader,
    /// The tile autoencoder (candle inside: reached through [`Model::tile_params`],
    /// [`train::tile_block_of`](crate::train::tile_block_of) and the analysis, not named here).
    pub(crate) tile: ConvAutoencoder,
    /// The fusion (layout, statistics, weights).
    pub fusion: Fusion,
    /// The autoencoder over fused vectors, for a learned final stage
    /// ([`Model::with_vector_stage`]).
    pub(crate) vector: Option<ConvAutoencoder>,
    /// The pretrained artist encoder of the `artist` block (frozen).
    pub(crate) artist: Option<ArtistEncoder>,
}

/// The shipped default model's files, embedded in the program at build time, so that a
/// built program finds its default model wherever it is copied (no source tree needed).
const EMBEDDED_DEFAULT: [(&str, &[u8]); 5] = [
    (
        "artist.safetensors",
        include_bytes!("../models/default/artist.safetensors"),
    ),
    (
        "fusion.json",
        include_bytes!("../models/default/fusion.json"),
    ),
    ("model.json", include_bytes!("../models/default/model.json")),
    ("tile.json", include_bytes!("../models/default/tile.json")),
    (
        "tile.safetensors",
        include_bytes!("../models/default/tile.safetensors"),
    ),
];

/// Where a model's files come from.
enum Files<'a> {
    /// A model directory.
    Dir(&'a Path),
    /// The shipped default, embedded in the program.
    Embedded,
}

impl Files<'_> {
    /// The path that names `name` in errors.
    fn path(&self, name: &str) -> PathBuf {
        match self {
            Self::Dir(dir) => dir.join(name),
            Self::Embedded => Path::new("<embedded default model>").join(name),
        }
    }

    fn read(&self, name: &str) -> Result<std::borrow::Cow<'static, [u8]>> {
        match self {
            Self::Dir(dir) => {
                let path = dir.join(name);
                std::fs::read(&path)
                    .map(std::borrow::Cow::Owned)
                    .map_err(|source| Error::Io { path, source })
            }
            Self::Embedded => EMBEDDED_DEFAULT
                .iter()
                .find(|(n, _)| *n == name)
                .map(|(_, b)| std::borrow::Cow::Borrowed(*b))
                .ok_or_else(|| Error::Model {
                    reason: format!("the embedded default model has no {name}"),
                }),
        }
    }

    /// An autoencoder saved under `stem` (`stem.json`, `stem.safetensors`).
    fn autoencoder(&self, stem: &str) -> Result<ConvAutoencoder> {
        let json = self.read(&format!("{stem}.json"))?;
        let weights = self.read(&format!("{stem}.safetensors"))?;
        Ok(ConvAutoencoder::from_bytes(
            &json,
            &weights,
            &self.path(stem),
        )?)
    }
}

impl Model {
    /// The directory of the default model in this crate's source tree (what
    /// [`load_default`](Self::load_default) embeds at build time). Programs do not need it:
    /// it exists only where the source tree does.
    #[must_use]
    pub fn default_dir() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("models/default")
    }

    /// Loads the default model shipped with this crate. Its files are embedded in the
    /// program, so this works wherever a built program is copied.
    ///
    /// # Errors
    /// As [`Model::load`] (not expected for the shipped files).
    pub fn load_default() -> Result<Self> {
        Self::load_from(&Files::Embedded)
    }

    /// Loads a model directory, checking the format version and that the parts agree.
    ///
    /// # Errors
    /// [`Error::Io`] for a missing file, [`Error::ModelVersion`] for a newer format version,
    /// [`Error::Model`] for an unknown format or parts that disagree, and the member crates'
    /// errors for malformed parts.
    pub fn load(dir: &Path) -> Result<Self> {
        Self::load_from(&Files::Dir(dir))
    }

    fn load_from(files: &Files<'_>) -> Result<Self> {
        let jpath = files.path("model.json");
        let bytes = files.read("model.json")?;
        let value: serde_json::Value =
            serde_json::from_slice(&bytes).map_err(|e| Error::Model {
                reason: format!("{}: {e}", jpath.display()),
            })?;
        if value.get("format").and_then(|v| v.as_str()) != Some(MODEL_FORMAT) {
            return Err(Error::Model {
                reason: format!("{}: not a {MODEL_FORMAT} file", jpath.display()),
            });
        }
        let version = value
            .get("format_version")
            .and_then(serde_json::Value::as_u64);
        match version {
            Some(v) if v >= 1 && v <= u64::from(MODEL_FORMAT_VERSION) => {}
            Some(v) if v > u64::from(MODEL_FORMAT_VERSION) => {
                return Err(Error::ModelVersion {
                    path: jpath,
                    found: v,
                    supported: MODEL_FORMAT_VERSION,
                });
            }
            _ => {
                return Err(Error::Model {
                    reason: format!("{}: missing or invalid format_version", jpath.display()),
                });
            }
        }
        let header: ModelHeader = serde_json::from_value(value).map_err(|e| Error::Model {
            reason: format!("{}: {e}", jpath.display()),
        })?;
        let tile = files.autoencoder("tile")?;
        let fpath = files.path("fusion.json");
        // sonority-fusion's errors do not name the file: add it.
        let fusion = std::str::from_utf8(&files.read("fusion.json")?)
            .map_err(|e| e.to_string())
            .and_then(|s| Fusion::from_json(s).map_err(|e| e.to_string()))
            .map_err(|e| Error::Model {
                reason: format!("{}: {e}", fpath.display()),
            })?;
        let vector = match header.final_stage {
            FinalStage::Fused => None,
            FinalStage::VectorAutoencoder => Some(files.autoencoder("vector")?),
        };
        let artist = match header.artist {
            Some(_) => Some(ArtistEncoder::from_bytes(
                files.read(ARTIST_FILE)?.into_owned(),
                &files.path(ARTIST_FILE),
            )?),
            None => None,
        };
        let model = Self {
            header,
            tile,
            fusion,
            vector,
            artist,
        };
        model.check().map_err(|e| match e {
            Error::Model { reason } => Error::Model {
                reason: format!("{}: {reason}", files.path("").display()),
            },
            e => e,
        })?;
        Ok(model)
    }

    /// Checks that the parts agree (band counts, tile size, block sizes).
    ///
    /// # Errors
    /// [`Error::Model`] naming the disagreement.
    pub fn check(&self) -> Result<()> {
        let h = &self.header;
        let bad = |reason: String| Err(Error::Model { reason });
        if h.band_stats.mean.len() != h.n_mels || h.band_stats.std.len() != h.n_mels {
            return bad(format!("band statistics do not have {} bands", h.n_mels));
        }
        if h.band_stats
            .std
            .iter()
            .any(|s| !(s.is_finite() && *s > 0.0))
            || h.band_stats.mean.iter().any(|m| !m.is_finite())
        {
            return bad("band statistics are not finite and positive".into());
        }
        let cfg = self.tile.config();
        if cfg.rows != h.n_mels || cfg.cols != h.tile_frames {
            return bad(format!(
                "tile model expects [{}, {}] tiles, header says [{}, {}]",
                cfg.rows, cfg.cols, h.n_mels, h.tile_frames
            ));
        }
        // The whole layout: every block is one the pipeline makes, at the length it makes it.
        self.mfcc_config().validate()?;
        let mut dims = vec![(TILES, 2 * self.tile.output_dim())];
        dims.extend(h.settings().fixed_block_dims()?);
        match (h.artist, &self.artist) {
            (Some(pooling), Some(_)) => dims.push((ARTIST, pooling.dim())),
            (None, None) => {}
            (Some(_), None) => {
                return bad(format!(
                    "model.json names an artist block pooling but there is no {ARTIST_FILE}"
                ));
            }
            (None, Some(_)) => {
                return bad(format!(
                    "{ARTIST_FILE} is loaded but model.json gives no artist block pooling"
                ));
            }
        }
        let layout = self.fusion.layout();
        if layout.blocks.is_empty() {
            return bad("fusion has no blocks".into());
        }
        for b in &layout.blocks {
            match dims.iter().find(|(n, _)| *n == b.name) {
                None => {
                    return bad(format!(
                        "fusion block `{}` is not one the analysis makes ({})",
                        b.name,
                        dims.iter().map(|(n, _)| *n).collect::<Vec<_>>().join(", ")
                    ));
                }
                Some((_, d)) if *d != b.range.len() => {
                    return bad(format!(
                        "fusion block `{}` has {} values, the analysis makes {d}",
                        b.name,
                        b.range.len()
                    ));
                }
                Some(_) => {}
            }
        }
        match (&self.vector, h.final_stage) {
            (Some(v), FinalStage::VectorAutoencoder) => {
                if v.config().vector_shape(self.fusion.dim()).is_none() {
                    let c = v.config();
                    return bad(format!(
                        "vector.json: the vector autoencoder takes [{}, {}] inputs, the fusion (fusion.json) makes {} values",
                        c.rows,
                        c.cols,
                        self.fusion.dim()
                    ));
                }
            }
            (None, FinalStage::Fused) => {}
            (None, stage) => {
                return bad(format!(
                    "model.json: final stage {stage:?} needs vector.json and vector.safetensors"
                ));
            }
            (Some(_), stage) => {
                return bad(format!(
                    "model.json: final stage {stage:?} has no use for a vector autoencoder"
                ));
            }
        }
        Ok(())
    }

    /// Saves the model into `dir` (created if missing). Deterministic: saving the same model
    /// twice writes the same bytes.
    ///
    /// # Errors
    /// I/O and serialisation errors.
    pub fn save(&self, dir: &Path) -> Result<()> {
        std::fs::create_dir_all(dir).map_err(|source| Error::Io {
            path: dir.to_path_buf(),
            source,
        })?;
        for (name, bytes) in self.to_files()? {
            let path = dir.join(name);
            std::fs::write(&path, bytes).map_err(|source| Error::Io { path, source })?;
        }
        Ok(())
    }

    /// The files [`save`](Self::save) writes, in memory, sorted by name: `model.json`,
    /// `tile.*`, `fusion.json` and `vector.*` when there is a vector autoencoder.
    ///
    /// # Errors
    /// Serialisation errors (not expected for a valid model).
    pub fn to_files(&self) -> Result<Vec<(&'static str, Vec<u8>)>> {
        let json = serde_json::to_vec_pretty(&self.header).map_err(|e| Error::Model {
            reason: e.to_string(),
        })?;
        let mut files = vec![
            ("model.json", json),
            ("fusion.json", self.fusion.to_json()?.into_bytes()),
        ];
        let (tj, tw) = self.tile.to_bytes("tile.safetensors")?;
        files.extend([("tile.json", tj), ("tile.safetensors", tw)]);
        if let Some(v) = &self.vector {
            let (vj, vw) = v.to_bytes("vector.safetensors")?;
            files.extend([("vector.json", vj), ("vector.safetensors", vw)]);
        }
        if let Some(a) = &self.artist {
            files.push((ARTIST_FILE, a.to_bytes().to_vec()));
        }
        files.sort_by_key(|(n, _)| *n);
        Ok(files)
    }

    /// The STFT and mel parameters of the model's analysis (see [`ModelHeader::settings`]).
    #[must_use]
    pub fn mfcc_config(&self) -> MfccConfig {
        self.header.settings().mfcc_config()
    }

    /// Parameters of the tile autoencoder.
    #[must_use]
    pub fn tile_params(&self) -> usize {
        self.tile.n_params()
    }

    /// The pretrained artist encoder of the `artist` block, for a model that has one.
    #[must_use]
    pub fn artist_encoder(&self) -> Option<&ArtistEncoder> {
        self.artist.as_ref()
    }

    /// This model with `stage` as its learned final stage over the fused vector
    /// ([`FinalStage::VectorAutoencoder`]): the final vector becomes `stage`'s latent.
    ///
    /// # Errors
    /// [`Error::Model`] if `stage` does not take this model's fused vector.
    pub fn with_vector_stage(mut self, stage: ConvAutoencoder) -> Result<Self> {
        self.vector = Some(stage);
        self.header.final_stage = FinalStage::VectorAutoencoder;
        self.check()?;
        Ok(self)
    }

    /// The model's name (the embedding's name in the database).
    #[must_use]
    pub fn name(&self) -> &str {
        &self.header.name
    }

    /// Dimension of the final vector.
    #[must_use]
    pub fn output_dim(&self) -> usize {
        match &self.vector {
            Some(v) => v.output_dim(),
            None => self.fusion.dim(),
        }
    }

    /// The block layout of the final vector, as `(name, range)` pairs, when the final vector is
    /// the fused one (explanations need it); `None` after a vector autoencoder.
    #[must_use]
    pub fn layout(&self) -> Option<Vec<(String, std::ops::Range<usize>)>> {
        match self.header.final_stage {
            FinalStage::Fused => Some(
                self.fusion
                    .layout()
                    .blocks
                    .iter()
                    .map(|b| (b.name.clone(), b.range.clone()))
                    .collect(),
            ),
            FinalStage::VectorAutoencoder => None,
        }
    }
}
