//! Fusion of named blocks into one vector: layout, standardisation, per-block weights.

use std::ops::Range;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::check_finite;
use crate::{Error, Key, Result};

/// How each dimension is standardised before fusion.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[non_exhaustive]
pub enum Standardization {
    /// `(x − mean) / std`, fitted on a training set.
    #[default]
    MeanStd,
    /// `(x − median) / (IQR / 1.349)`, fitted on a training set: robust to outlying tracks (the
    /// 1.349 makes the scale equal the standard deviation for Gaussian data).
    MedianIqr,
    /// No standardisation (the published design).
    None,
}

/// Whether a block's dimensions get their own scale or share one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[non_exhaustive]
pub enum BlockScaling {
    /// Each dimension its own scale: every dimension ends with unit spread.
    #[default]
    PerDimension,
    /// One scale for the whole block (the root mean square of its dimensions' scales), each
    /// dimension still centred: keeps a block's internal geometry, as the key's circle of fifths.
    Pooled,
}

/// A block to fuse: its name, length, weight and scaling.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct BlockSpec {
    /// Block name, unique in a layout (`"latent"`, `"key"`, `"tempo"`, `"rolloff"`...).
    pub name: String,
    /// Number of values.
    pub dim: usize,
    /// Weight; a block's share of the squared norm of the fused vector scales with its
    /// square. Default: `1.0`.
    pub weight: f32,
    /// Scaling. Default: [`BlockScaling::PerDimension`].
    pub scaling: BlockScaling,
}

impl BlockSpec {
    /// A block of `dim` values with weight 1 and per-dimension scaling.
    #[must_use]
    pub fn new(name: impl Into<String>, dim: usize) -> Self {
        Self {
            name: name.into(),
            dim,
            weight: 1.0,
            scaling: BlockScaling::PerDimension,
        }
    }

    /// Sets the weight.
    #[must_use]
    pub fn with_weight(mut self, weight: f32) -> Self {
        self.weight = weight;
        self
    }

    /// Sets the scaling.
    #[must_use]
    pub fn with_scaling(mut self, scaling: BlockScaling) -> Self {
        self.scaling = scaling;
        self
    }
}

/// One block's place in the fused vector.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Block {
    /// Block name.
    pub name: String,
    /// Indices of the block in the raw and in the fused vector.
    pub range: Range<usize>,
    /// Weight applied.
    pub weight: f32,
}

/// The layout of a fused vector: which block sits where.
///
/// # Examples
/// ```
/// use sonority_fusion::{BlockSpec, Fusion, Standardization};
/// let f = Fusion::new(vec![BlockSpec::new("latent", 8), BlockSpec::new("key", 3)], Standardization::MeanStd)?;
/// let names: Vec<_> = f.layout().blocks.iter().map(|b| (b.name.as_str(), b.range.clone())).collect();
/// assert_eq!(names, [("latent", 0..8), ("key", 8..11)]);
/// # Ok::<(), sonority_fusion::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Layout {
    /// Blocks in order.
    pub blocks: Vec<Block>,
}

impl Layout {
    /// Total length of the vector.
    #[must_use]
    pub fn dim(&self) -> usize {
        self.blocks.last().map_or(0, |b| b.range.end)
    }

    /// The block called `name`.
    #[must_use]
    pub fn block(&self, name: &str) -> Option<&Block> {
        self.blocks.iter().find(|b| b.name == name)
    }

    /// Each block's share of the total variance of a set of vectors laid out this way (sum of
    /// the per-dimension variances in the block over the sum over all dimensions). Shares sum to
    /// 1 (all zero if the set has no variance).
    ///
    /// # Errors
    /// [`Error::BlockSize`] if a vector's length is not [`dim`](Self::dim);
    /// [`Error::NonFinite`] for NaN or infinity.
    pub fn variance_shares<R: AsRef<[f32]>>(&self, vectors: &[R]) -> Result<Vec<(String, f32)>> {
        let d = self.dim();
        let n = vectors.len().max(1) as f64;
        let mut mean = vec![0.0_f64; d];
        for v in vectors {
            let v = v.as_ref();
            check_len("vector", d, v.len())?;
            check_finite("vector", v)?;
            for (m, &x) in mean.iter_mut().zip(v) {
                *m += f64::from(x) / n;
            }
        }
        let mut var = vec![0.0_f64; d];
        for v in vectors {
            for ((s, &x), m) in var.iter_mut().zip(v.as_ref()).zip(&mean) {
                *s += (f64::from(x) - m).powi(2) / n;
            }
        }
        let total: f64 = var.iter().sum();
        Ok(self
            .blocks
            .iter()
            .map(|b| {
                let s: f64 = var[b.range.clone()].iter().sum();
                let share = if total > 0.0 { s / total } else { 0.0 };
                (b.name.clone(), share as f32)
            })
            .collect())
    }
}

fn check_len(block: &str, expected: usize, actual: usize) -> Result<()> {
    if expected == actual {
        Ok(())
    } else {
        Err(Error::BlockSize {
            block: block.to_owned(),
            expected,
            actual,
        })
    }
}

/// Builds fused vectors from named blocks: standardise each dimension (statistics fitted on a
/// training set), divide each block by `√dim`, multiply by its weight.
///
/// After standardisation every dimension has unit variance, so a block of `d` dimensions has an
/// expected squared norm of `d`: a 64-value latent would outweigh a 3-value key block 21 to 1 in
/// a cosine. Dividing by `√d` gives every block an expected squared norm of 1, so a block's share
/// of the squared norm of the fused vector, and so of the dot products behind a cosine, is
/// `w² / Σ w²` whatever its size. The weights are the knobs to tune (by cross-validation).
///
/// [`Fusion::published_design`] is the published design: no standardisation, no block
/// normalisation, everything divided by 255.
///
/// Serialisable with serde (JSON through [`to_json`](Self::to_json) /
/// [`from_json`](Self::from_json)), to be stored with a model.
///
/// # Examples
/// ```
/// use sonority_fusion::{BlockSpec, Fusion, Standardization};
/// let mut f = Fusion::new(vec![BlockSpec::new("a", 2), BlockSpec::new("b", 1)], Standardization::MeanStd)?;
/// let train = vec![vec![0.0, 10.0, 100.0], vec![2.0, 30.0, 300.0]];
/// f.fit(&train)?;
/// let v = f.fuse(&[&[2.0, 30.0], &[300.0]])?;
/// // Each dimension is +1 std from the mean; block "a" divided by √2.
/// assert!((v[0] - 1.0 / 2f32.sqrt()).abs() < 1e-6 && (v[2] - 1.0).abs() < 1e-6);
/// let g = Fusion::from_json(&f.to_json()?)?;
/// assert_eq!(g.fuse(&[&[2.0, 30.0], &[300.0]])?, v);
/// # Ok::<(), sonority_fusion::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Fusion {
    specs: Vec<BlockSpec>,
    layout: Layout,
    standardization: Standardization,
    /// Divide each block by the square root of its length.
    block_norm: bool,
    /// Divide the whole vector by this (255 in the published design, else 1).
    divisor: f32,
    /// Fitted per-dimension centre and scale (empty until fitted).
    center: Vec<f32>,
    scale: Vec<f32>,
}

impl Fusion {
    /// A fusion of `blocks`, in order, standardised as `standardization` (to be fitted with
    /// [`fit`](Self::fit) unless it is [`Standardization::None`]).
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] for no blocks, an empty block, a duplicate name, or a negative or
    /// non-finite weight.
    pub fn new(blocks: Vec<BlockSpec>, standardization: Standardization) -> Result<Self> {
        if blocks.is_empty() {
            return Err(Error::config("blocks", "need at least one block"));
        }
        let mut layout = Layout { blocks: Vec::new() };
        let mut at = 0;
        for (i, b) in blocks.iter().enumerate() {
            if b.dim == 0 {
                return Err(Error::config(
                    "blocks",
                    format!("block {} is empty", b.name),
                ));
            }
            if blocks[..i].iter().any(|o| o.name == b.name) {
                return Err(Error::config(
                    "blocks",
                    format!("duplicate block {}", b.name),
                ));
            }
            check_weight(b.weight)?;
            layout.blocks.push(Block {
                name: b.name.clone(),
                range: at..at + b.dim,
                weight: b.weight,
            });
            at += b.dim;
        }
        Ok(Self {
            specs: blocks,
            layout,
            standardization,
            block_norm: true,
            divisor: 1.0,
            center: Vec::new(),
            scale: Vec::new(),
        })
    }

    /// The published design's fusion, reproduced exactly: blocks `"latent"` (`latent_dim`
    /// values) and `"descriptors"` ([roll-off Hz, tempo BPM, key integer label], see
    /// [`published_descriptors`]), concatenated and divided by 255, nothing else. Kept for
    /// comparison: roll-off in Hz is thousands of times larger than anything else, so it decides
    /// every cosine.
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] if `latent_dim` is 0.
    pub fn published_design(latent_dim: usize) -> Result<Self> {
        Self::published_design_named("latent", latent_dim)
    }

    /// [`published_design`](Self::published_design) with the latent block called
    /// `latent_name` (a model's pipeline calls its tile block `"tiles"`); the descriptor block
    /// is `"descriptors"`.
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] if `latent_dim` is 0 or `latent_name` is `"descriptors"`.
    pub fn published_design_named(latent_name: &str, latent_dim: usize) -> Result<Self> {
        let mut f = Self::new(
            vec![
                BlockSpec::new(latent_name, latent_dim),
                BlockSpec::new("descriptors", 3),
            ],
            Standardization::None,
        )?;
        f.block_norm = false;
        f.divisor = 255.0;
        Ok(f)
    }

    /// The layout: block names, ranges and weights.
    #[must_use]
    pub fn layout(&self) -> &Layout {
        &self.layout
    }

    /// Length of the fused vector.
    #[must_use]
    pub fn dim(&self) -> usize {
        self.layout.dim()
    }

    /// The standardisation.
    #[must_use]
    pub fn standardization(&self) -> Standardization {
        self.standardization
    }

    /// Whether the statistics are fitted (always true without standardisation).
    #[must_use]
    pub fn is_fitted(&self) -> bool {
        self.standardization == Standardization::None || self.center.len() == self.dim()
    }

    /// Sets the weight of block `name`.
    ///
    /// # Errors
    /// [`Error::UnknownBlock`]; [`Error::InvalidConfig`] for a negative or non-finite weight.
    pub fn set_weight(&mut self, name: &str, weight: f32) -> Result<()> {
        check_weight(weight)?;
        let i = self.index_of(name)?;
        self.specs[i].weight = weight;
        self.layout.blocks[i].weight = weight;
        Ok(())
    }

    /// The weight of block `name`.
    ///
    /// # Errors
    /// [`Error::UnknownBlock`].
    pub fn weight(&self, name: &str) -> Result<f32> {
        Ok(self.specs[self.index_of(name)?].weight)
    }

    fn index_of(&self, name: &str) -> Result<usize> {
        self.specs
            .iter()
            .position(|b| b.name == name)
            .ok_or_else(|| Error::UnknownBlock {
                name: name.to_owned(),
            })
    }

    /// Concatenates blocks, given in layout order, into a raw (unstandardised) vector, checking
    /// their lengths and values.
    ///
    /// # Errors
    /// [`Error::BlockSize`] for a missing or wrong-sized block; [`Error::NonFinite`].
    pub fn concat(&self, blocks: &[&[f32]]) -> Result<Vec<f32>> {
        check_len("blocks (count)", self.specs.len(), blocks.len())?;
        let mut raw = Vec::with_capacity(self.dim());
        for (spec, b) in self.specs.iter().zip(blocks) {
            check_len(&spec.name, spec.dim, b.len())?;
            check_finite(&spec.name, b)?;
            raw.extend_from_slice(b);
        }
        Ok(raw)
    }

    /// Concatenates named blocks, given in any order, into a raw vector in layout order:
    /// the link between an extractor and its place in the vector is its block's name, never
    /// its position. Every block of the layout must be given once; extra blocks are an error.
    ///
    /// # Errors
    /// [`Error::UnknownBlock`] for a name the layout lacks, or a layout block missing or given
    /// twice (named in the error); [`Error::BlockSize`]; [`Error::NonFinite`].
    ///
    /// # Examples
    /// ```
    /// use sonority_fusion::{BlockSpec, Fusion, Standardization};
    /// let f = Fusion::new(vec![BlockSpec::new("a", 2), BlockSpec::new("b", 1)], Standardization::None)?;
    /// let raw = f.concat_named(&[("b", &[3.0][..]), ("a", &[1.0, 2.0][..])])?;
    /// assert_eq!(raw, [1.0, 2.0, 3.0]);
    /// assert!(f.concat_named(&[("a", &[1.0, 2.0][..])]).is_err()); // "b" missing
    /// # Ok::<(), sonority_fusion::Error>(())
    /// ```
    pub fn concat_named(&self, blocks: &[(&str, &[f32])]) -> Result<Vec<f32>> {
        for (i, (name, _)) in blocks.iter().enumerate() {
            let known = self.specs.iter().any(|s| s.name == *name);
            let repeated = blocks[..i].iter().any(|(n, _)| n == name);
            if !known || repeated {
                return Err(Error::UnknownBlock {
                    name: if repeated {
                        format!("{name} (given twice)")
                    } else {
                        (*name).to_owned()
                    },
                });
            }
        }
        let ordered = self
            .specs
            .iter()
            .map(|spec| {
                blocks
                    .iter()
                    .find(|(n, _)| *n == spec.name)
                    .map(|(_, b)| *b)
                    .ok_or_else(|| Error::UnknownBlock {
                        name: format!("{} (missing)", spec.name),
                    })
            })
            .collect::<Result<Vec<&[f32]>>>()?;
        self.concat(&ordered)
    }

    /// The fused vector of one track's named blocks, given in any order (see
    /// [`concat_named`](Self::concat_named)).
    ///
    /// A block whose weight is 0 may be left out: its part of the fused vector is zeros
    /// whatever its values, so an analysis need not compute it (see
    /// [`unweighted_blocks`](Self::unweighted_blocks)). It is then taken at the fitted centre.
    ///
    /// # Errors
    /// As [`concat_named`](Self::concat_named) and [`fuse_raw`](Self::fuse_raw).
    ///
    /// # Examples
    /// ```
    /// use sonority_fusion::{BlockSpec, Fusion, Standardization};
    /// let f = Fusion::new(
    ///     vec![BlockSpec::new("a", 2), BlockSpec::new("b", 1).with_weight(0.0)],
    ///     Standardization::None,
    /// )?;
    /// assert_eq!(f.unweighted_blocks().collect::<Vec<_>>(), ["b"]);
    /// let with_b = f.fuse_named(&[("a", &[1.0, 2.0][..]), ("b", &[5.0][..])])?;
    /// let without_b = f.fuse_named(&[("a", &[1.0, 2.0][..])])?;
    /// assert_eq!(with_b, without_b);
    /// assert_eq!(without_b[2], 0.0);
    /// # Ok::<(), sonority_fusion::Error>(())
    /// ```
    pub fn fuse_named(&self, blocks: &[(&str, &[f32])]) -> Result<Vec<f32>> {
        let missing: Vec<(&str, Vec<f32>)> = if self.is_fitted() {
            self.specs
                .iter()
                .zip(&self.layout.blocks)
                .filter(|(spec, _)| spec.weight == 0.0)
                .filter(|(spec, _)| !blocks.iter().any(|(n, _)| *n == spec.name))
                .map(|(spec, block)| {
                    let centre = match self.center.get(block.range.clone()) {
                        Some(c) => c.to_vec(),
                        None => vec![0.0; spec.dim],
                    };
                    (spec.name.as_str(), centre)
                })
                .collect()
        } else {
            Vec::new()
        };
        if missing.is_empty() {
            return self.fuse_raw(&self.concat_named(blocks)?);
        }
        let mut all: Vec<(&str, &[f32])> = blocks.to_vec();
        all.extend(missing.iter().map(|(n, v)| (*n, v.as_slice())));
        self.fuse_raw(&self.concat_named(&all)?)
    }

    /// The names of the blocks whose weight is 0, in layout order: their part of the fused
    /// vector is zeros, so [`fuse_named`](Self::fuse_named) does not need them.
    pub fn unweighted_blocks(&self) -> impl Iterator<Item = &str> {
        self.specs
            .iter()
            .filter(|s| s.weight == 0.0)
            .map(|s| s.name.as_str())
    }

    /// Fits the standardisation statistics on raw vectors (each the [`concat`](Self::concat)
    /// of one track's blocks). A dimension that does not vary gets scale 1.
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] for an empty set; [`Error::BlockSize`] or [`Error::NonFinite`]
    /// for a bad vector.
    pub fn fit<R: AsRef<[f32]>>(&mut self, raw_vectors: &[R]) -> Result<()> {
        let d = self.dim();
        if raw_vectors.is_empty() {
            return Err(Error::config("raw_vectors", "cannot fit on an empty set"));
        }
        for v in raw_vectors {
            check_len("raw vector", d, v.as_ref().len())?;
            check_finite("raw vector", v.as_ref())?;
        }
        let (mut center, mut scale) = (vec![0.0_f32; d], vec![1.0_f32; d]);
        let mut spread = vec![0.0_f64; d];
        let mut column = vec![0.0_f64; raw_vectors.len()];
        for j in 0..d {
            for (c, v) in column.iter_mut().zip(raw_vectors) {
                *c = f64::from(v.as_ref()[j]);
            }
            let (c, s) = match self.standardization {
                Standardization::None => (0.0, 1.0),
                Standardization::MeanStd => mean_std(&column),
                Standardization::MedianIqr => {
                    let (m, iqr) = median_iqr(&mut column);
                    let s = iqr / 1.349;
                    if s > 0.0 {
                        (m, s)
                    } else {
                        (m, mean_std(&column).1)
                    }
                }
            };
            center[j] = c as f32;
            spread[j] = s;
        }
        for (spec, block) in self.specs.iter().zip(&self.layout.blocks) {
            let r = block.range.clone();
            if spec.scaling == BlockScaling::Pooled {
                let rms =
                    (spread[r.clone()].iter().map(|s| s * s).sum::<f64>() / r.len() as f64).sqrt();
                spread[r].iter_mut().for_each(|s| *s = rms);
            }
        }
        for j in 0..d {
            // A dimension that does not vary is centred and left unscaled.
            let (c, s) = (f64::from(center[j]), spread[j]);
            scale[j] = if s > 1e-12 * (1.0 + c.abs()) {
                s as f32
            } else {
                1.0
            };
        }
        check_finite("fitted centre", &center)?;
        check_finite("fitted scale", &scale)?;
        self.center = center;
        self.scale = scale;
        Ok(())
    }

    /// The fused vector of one track's blocks, given in layout order.
    ///
    /// # Errors
    /// [`Error::BlockSize`], [`Error::NonFinite`], or [`Error::NotFitted`] if the
    /// standardisation has not been fitted.
    pub fn fuse(&self, blocks: &[&[f32]]) -> Result<Vec<f32>> {
        self.fuse_raw(&self.concat(blocks)?)
    }

    /// The fused vector of a raw vector (the [`concat`](Self::concat) of the blocks).
    ///
    /// # Errors
    /// As [`fuse`](Self::fuse).
    pub fn fuse_raw(&self, raw: &[f32]) -> Result<Vec<f32>> {
        let mut out = vec![0.0; self.dim()];
        self.fuse_raw_into(raw, &mut out)?;
        Ok(out)
    }

    /// Writes the fused vector of a raw vector into `out`.
    ///
    /// # Errors
    /// As [`fuse`](Self::fuse), and [`Error::BlockSize`] if `out` has the wrong length.
    pub fn fuse_raw_into(&self, raw: &[f32], out: &mut [f32]) -> Result<()> {
        let d = self.dim();
        check_len("raw vector", d, raw.len())?;
        check_len("output", d, out.len())?;
        check_finite("raw vector", raw)?;
        if !self.is_fitted() {
            return Err(Error::NotFitted {
                reason: "call fit on a training set first".to_owned(),
            });
        }
        let fitted = self.standardization != Standardization::None;
        for (spec, block) in self.specs.iter().zip(&self.layout.blocks) {
            let mut k = spec.weight;
            if self.block_norm {
                k /= (spec.dim as f32).sqrt();
            }
            for j in block.range.clone() {
                let z = if fitted {
                    (raw[j] - self.center[j]) / self.scale[j]
                } else {
                    raw[j]
                };
                out[j] = z * k / self.divisor;
            }
        }
        check_finite("fused vector", out)
    }

    /// The model as pretty JSON.
    ///
    /// # Errors
    /// [`Error::Json`] (not expected for a valid fusion).
    pub fn to_json(&self) -> Result<String> {
        Ok(serde_json::to_string_pretty(self)?)
    }

    /// A model from JSON, checked for consistency.
    ///
    /// # Errors
    /// [`Error::Json`] for bad JSON; [`Error::InvalidConfig`] if the layout, weights or
    /// statistics are inconsistent; [`Error::NonFinite`].
    pub fn from_json(json: &str) -> Result<Self> {
        let f: Fusion = serde_json::from_str(json)?;
        let mut rebuilt = Fusion::new(f.specs.clone(), f.standardization)?;
        if rebuilt.layout != f.layout {
            return Err(Error::config(
                "layout",
                "layout does not match the block specs",
            ));
        }
        if !(f.divisor.is_finite() && f.divisor > 0.0) {
            return Err(Error::config("divisor", "must be positive"));
        }
        let d = rebuilt.dim();
        if !(f.center.is_empty() && f.scale.is_empty()) {
            if f.center.len() != d || f.scale.len() != d {
                return Err(Error::config(
                    "center",
                    "statistics do not match the layout",
                ));
            }
            check_finite("centre", &f.center)?;
            check_finite("scale", &f.scale)?;
            if f.scale.iter().any(|&s| s <= 0.0) {
                return Err(Error::config("scale", "scales must be positive"));
            }
        }
        rebuilt.block_norm = f.block_norm;
        rebuilt.divisor = f.divisor;
        rebuilt.center = f.center;
        rebuilt.scale = f.scale;
        Ok(rebuilt)
    }

    /// Writes the model as JSON to `path`.
    ///
    /// # Errors
    /// [`Error::Io`].
    pub fn save(&self, path: impl AsRef<Path>) -> Result<()> {
        let path = path.as_ref();
        std::fs::write(path, self.to_json()?).map_err(|source| Error::Io {
            path: path.to_owned(),
            source,
        })
    }

    /// Reads a model written by [`save`](Self::save).
    ///
    /// # Errors
    /// [`Error::Io`], and as [`from_json`](Self::from_json).
    pub fn load(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let s = std::fs::read_to_string(path).map_err(|source| Error::Io {
            path: path.to_owned(),
            source,
        })?;
        Self::from_json(&s)
    }
}

fn check_weight(w: f32) -> Result<()> {
    if w.is_finite() && w >= 0.0 {
        Ok(())
    } else {
        Err(Error::config("weight", "weights must be finite and >= 0"))
    }
}

fn mean_std(x: &[f64]) -> (f64, f64) {
    let n = x.len() as f64;
    let m = x.iter().sum::<f64>() / n;
    let v = x.iter().map(|v| (v - m).powi(2)).sum::<f64>() / n;
    (m, v.sqrt())
}

/// Median and interquartile range (linear interpolation, as numpy's default).
fn median_iqr(x: &mut [f64]) -> (f64, f64) {
    x.sort_by(f64::total_cmp);
    let q = |p: f64| {
        let pos = p * (x.len() - 1) as f64;
        let i = pos.floor() as usize;
        let f = pos - i as f64;
        if i + 1 < x.len() {
            x[i] * (1.0 - f) + x[i + 1] * f
        } else {
            x[i]
        }
    };
    (q(0.5), q(0.75) - q(0.25))
}

/// The published design's descriptor block: `[roll-off Hz, tempo BPM, key label]` with
/// [`Key::label`] (0..=23), for [`Fusion::published_design`].
#[must_use]
pub fn published_descriptors(rolloff_hz: f32, tempo_bpm: f32, key: Key) -> [f32; 3] {
    [rolloff_hz, tempo_bpm, f32::from(key.label())]
}
