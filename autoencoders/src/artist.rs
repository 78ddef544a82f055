//! A pretrained, frozen music encoder: the artist-label siamese network of Park, Lee, Park, Ha
//! and Nam, "Representation Learning of Music Using Artist Labels" (ISMIR 2018), trained on
//! 10,000 artists of the Million Song Dataset. MIT-licensed weights by Jongpil Lee; the audio
//! they were trained on (MSD previews) is not free.
//!
//! The network is the shape of this crate's 1-D tile encoder: five convolutions over time with
//! the 128 log-mel bands as input channels, each followed by batch normalisation and ReLU and
//! four of them by max pooling (kernels 4, 4, 4, 2, 1; pools 4, 4, 4, 2; 128 channels, then
//! 256). TensorFlow's "same" padding puts `(k − 1) / 2` zeros before and the rest after, which
//! is this crate's padding too; the pooling drops a short last window (Keras' "valid"). A
//! 129-frame segment comes out as one step of 256 values: the segment's embedding.
//!
//! The batch normalisation is folded into the convolutions when the weights are loaded
//! (inference form, moving statistics, ε = 10⁻³), and the segments go through the same
//! inference path as a loaded tile encoder (one matrix product per level). The weights file is
//! the Keras file converted once, unchanged, by `lab/tools/convert_ismir2018.py`.

use std::path::Path;

use candle_core::{Device, Tensor};
use safetensors::SafeTensors;

use crate::config::{Activation, Embedding};
use crate::error::{Error, Result};
use crate::infer::{Level, PoolEdge, Time1dPlan};
use crate::persist::f32_tensor;

/// Frames of one segment (about 3 s at 22,050 Hz with a hop of 512).
pub const ARTIST_SEGMENT_FRAMES: usize = 129;
/// Log-mel bands of a frame (the network's input channels).
pub const ARTIST_BANDS: usize = 128;
/// Values of one segment's embedding.
pub const ARTIST_DIM: usize = 256;

/// (kernel, pool, output channels) of the five levels.
pub(crate) const LEVELS: [(usize, usize, usize); 5] = [
    (4, 4, 128),
    (4, 4, 128),
    (4, 4, 128),
    (2, 2, 128),
    (1, 1, 256),
];

/// Keras' batch-normalisation epsilon.
pub(crate) const BN_EPS: f64 = 1e-3;

/// The frozen ISMIR 2018 artist encoder: 129 × 128 standardised log-mel segments in, one
/// 256-value embedding per segment out.
///
/// # Examples
/// ```no_run
/// use sonority_autoencoders::{ARTIST_BANDS, ARTIST_DIM, ARTIST_SEGMENT_FRAMES, ArtistEncoder};
/// let encoder = ArtistEncoder::load("models/default/artist.safetensors".as_ref())?;
/// // One segment of silence (log10(1 + 10·0) = 0, standardised), frames × bands.
/// let segment = vec![-0.877; ARTIST_SEGMENT_FRAMES * ARTIST_BANDS];
/// let mut out = vec![0.0; ARTIST_DIM];
/// encoder.embed_segments(&segment, &mut out)?;
/// assert!(out.iter().all(|v| v.is_finite()));
/// # Ok::<(), sonority_autoencoders::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct ArtistEncoder {
    plan: Time1dPlan,
    /// The weights file as read (saved back unchanged with a model).
    bytes: Vec<u8>,
}

/// Two encoders are equal when they were read from the same weights.
impl PartialEq for ArtistEncoder {
    fn eq(&self, other: &Self) -> bool {
        self.bytes == other.bytes
    }
}

impl ArtistEncoder {
    /// Reads the converted weights file.
    ///
    /// # Errors
    /// [`Error::Io`] if the file cannot be read; as [`from_bytes`](Self::from_bytes).
    pub fn load(path: &Path) -> Result<Self> {
        let bytes = std::fs::read(path).map_err(|source| Error::Io {
            path: path.to_path_buf(),
            source,
        })?;
        Self::from_bytes(bytes, path)
    }

    /// The encoder of a converted weights file's bytes (`origin` names it in errors).
    ///
    /// # Errors
    /// [`Error::Format`] for a file that is not safetensors or has a tensor of another type,
    /// [`Error::MissingTensor`], [`Error::ShapeMismatch`], [`Error::NonFinite`] weights.
    pub fn from_bytes(bytes: Vec<u8>, origin: &Path) -> Result<Self> {
        let path = origin.to_path_buf();
        let st = SafeTensors::deserialize(&bytes).map_err(|e| Error::Format {
            path: path.to_path_buf(),
            reason: e.to_string(),
        })?;
        let mut levels = Vec::with_capacity(LEVELS.len());
        let mut cin = ARTIST_BANDS;
        for (i, &(kernel, pool, cout)) in LEVELS.iter().enumerate() {
            let n = i + 1;
            let get = |name: String, shape: &[usize]| {
                f32_tensor(&st, &path, &name, shape, "artist encoder weights")
            };
            let w = get(format!("conv{n}.kernel"), &[kernel, cin, cout])?;
            let b = get(format!("conv{n}.bias"), &[cout])?;
            let gamma = get(format!("bn{n}.gamma"), &[cout])?;
            let beta = get(format!("bn{n}.beta"), &[cout])?;
            let mean = get(format!("bn{n}.mean"), &[cout])?;
            let var = get(format!("bn{n}.var"), &[cout])?;
            // BN(conv(x)) = scale · (W x + b − mean) + beta: the scale goes into the weights.
            let scale: Vec<f64> = gamma
                .iter()
                .zip(&var)
                .map(|(&g, &v)| f64::from(g) / (f64::from(v) + BN_EPS).sqrt())
                .collect();
            if scale.iter().any(|s| !s.is_finite()) {
                return Err(Error::NonFinite {
                    what: "artist encoder batch-norm scale",
                });
            }
            // Kernel (k, C_in, C_out) row-major is the im2col order: rows tap-major, then channel.
            let folded: Vec<f32> = w
                .chunks_exact(cout)
                .flat_map(|row| {
                    row.iter()
                        .zip(&scale)
                        .map(|(&x, &s)| (f64::from(x) * s) as f32)
                })
                .collect();
            let bias: Vec<f32> = (0..cout)
                .map(|c| {
                    ((f64::from(b[c]) - f64::from(mean[c])) * scale[c] + f64::from(beta[c])) as f32
                })
                .collect();
            levels.push(Level {
                weight: Tensor::from_vec(folded, (kernel * cin, cout), &Device::Cpu)?,
                bias,
                cin,
                cout,
                kernel,
                pool,
                edge: PoolEdge::Drop,
            });
            cin = cout;
        }
        let plan = Time1dPlan::from_levels(
            levels,
            Activation::Relu,
            Embedding::Flatten,
            ARTIST_BANDS,
            ARTIST_SEGMENT_FRAMES,
        );
        debug_assert_eq!(plan.out_steps(), 1);
        Ok(Self { plan, bytes })
    }

    /// The folded levels, as the inference path runs them.
    pub(crate) fn plan_levels(&self) -> &[Level] {
        self.plan.levels()
    }

    /// The weights file's bytes, as read.
    #[must_use]
    pub fn to_bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// Embeds whole segments: `segments` holds `n` segments of [`ARTIST_SEGMENT_FRAMES`]
    /// frames of [`ARTIST_BANDS`] standardised log-mel values (frame-major), `out` receives
    /// `n × ARTIST_DIM` values.
    ///
    /// # Errors
    /// [`Error::ShapeMismatch`] if `segments` is not a whole number of segments or `out` has
    /// not the room; [`Error::NonFinite`] for non-finite input.
    pub fn embed_segments(&self, segments: &[f32], out: &mut [f32]) -> Result<()> {
        let per = ARTIST_SEGMENT_FRAMES * ARTIST_BANDS;
        let n = segments.len() / per;
        if !segments.len().is_multiple_of(per) || out.len() != n * ARTIST_DIM {
            return Err(Error::ShapeMismatch {
                what: "artist encoder segments".into(),
                expected: vec![n, ARTIST_SEGMENT_FRAMES, ARTIST_BANDS, ARTIST_DIM],
                actual: vec![segments.len(), out.len()],
            });
        }
        if segments.iter().any(|v| !v.is_finite()) {
            return Err(Error::NonFinite {
                what: "artist encoder input",
            });
        }
        if n == 0 {
            return Ok(());
        }
        self.plan.embed_channels_last(segments, n, out)
    }
}
