//! Fine-tuning the pretrained [`ArtistEncoder`] on one's own music: a same-track contrastive
//! term (InfoNCE over two segments of each track in a batch, the other tracks' segments as
//! negatives) on the segment embeddings themselves, from the published weights, at a low
//! learning rate (AdamW).
//!
//! The batch normalisation stays as it was folded at load time: its moving statistics are
//! frozen, and the folded convolutions (weights and biases) are what trains. A fine-tuned
//! encoder is written back in the layout of the converted file with an identity batch
//! normalisation (γ 1, β 0, mean 0, variance 1 − ε), so it loads, saves and runs like the
//! original; zero steps give back the same embeddings within rounding.
//!
//! Every operation is one of the crate's layers and operations under finite-difference tests
//! (the `same` convolution, the max pooling, InfoNCE); the whole network's gradient is checked
//! too (`gradient_matches_finite_differences`).

use std::path::Path;
use std::time::Instant;

use candle_core::{D, DType, Device, Tensor, Var};
use candle_nn::{VarBuilder, VarMap};
use safetensors::{Dtype, tensor::TensorView};

use crate::artist::{ARTIST_BANDS, ARTIST_SEGMENT_FRAMES, ArtistEncoder};
use crate::contrastive::{info_nce, sorted_vars};
use crate::error::{Error, Result};
use crate::infer::Level;
use crate::layers::Conv;
use crate::ops::max_pool_t;
use crate::optim::OptimizerConfig;
use crate::params::SeededBackend;
use crate::rng::Rng;

type CResult<T> = candle_core::Result<T>;

/// How [`ArtistEncoder::fine_tune`] trains.
///
/// # Examples
/// ```
/// use sonority_autoencoders::ArtistFineTune;
/// let cfg = ArtistFineTune::default().with_steps(300).with_seed(7);
/// assert_eq!(cfg.steps, 300);
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct ArtistFineTune {
    /// Optimiser steps.
    pub steps: usize,
    /// Tracks in a batch (two segments each): the negatives of a segment are the others'.
    pub tracks_per_batch: usize,
    /// AdamW's learning rate (weight decay `1e-4`, as [`OptimizerConfig::adamw`]).
    pub learning_rate: f64,
    /// InfoNCE's temperature on the cosine similarities.
    pub temperature: f64,
    /// Seed of the batches.
    pub seed: u64,
}

impl Default for ArtistFineTune {
    /// 200 steps of 32 tracks, learning rate `1e-5`, temperature 0.1, seed 0.
    fn default() -> Self {
        Self {
            steps: 200,
            tracks_per_batch: 32,
            learning_rate: 1e-5,
            temperature: 0.1,
            seed: 0,
        }
    }
}

impl ArtistFineTune {
    /// Sets [`steps`](Self::steps).
    #[must_use]
    pub fn with_steps(mut self, steps: usize) -> Self {
        self.steps = steps;
        self
    }

    /// Sets [`learning_rate`](Self::learning_rate).
    #[must_use]
    pub fn with_learning_rate(mut self, learning_rate: f64) -> Self {
        self.learning_rate = learning_rate;
        self
    }

    /// Sets [`tracks_per_batch`](Self::tracks_per_batch).
    #[must_use]
    pub fn with_tracks_per_batch(mut self, tracks: usize) -> Self {
        self.tracks_per_batch = tracks;
        self
    }

    /// Sets [`seed`](Self::seed).
    #[must_use]
    pub fn with_seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    fn validate(&self) -> Result<()> {
        let bad = |field, reason: &str| {
            Err(Error::InvalidConfig {
                field,
                reason: reason.into(),
            })
        };
        if self.tracks_per_batch < 2 {
            return bad("tracks_per_batch", "at least 2 (the negatives)");
        }
        if !(self.temperature.is_finite() && self.temperature > 0.0) {
            return bad("temperature", "positive and finite");
        }
        OptimizerConfig::adamw(self.learning_rate).validate()
    }
}

/// What a fine-tuning run did.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct FineTuneReport {
    /// The InfoNCE loss of every step, in order.
    pub losses: Vec<f64>,
    /// Tracks with at least two segments (those batches are drawn from).
    pub tracks: usize,
    /// Wall time, in seconds.
    pub seconds: f64,
}

impl FineTuneReport {
    /// The mean loss of the first and of the last `k` steps (fewer when there are fewer steps;
    /// `(0, 0)` without steps): how far the run moved.
    #[must_use]
    pub fn loss_start_end(&self, k: usize) -> (f64, f64) {
        let n = self.losses.len();
        let k = k.min(n);
        let mean = |l: &[f64]| l.iter().sum::<f64>() / l.len().max(1) as f64;
        (mean(&self.losses[..k]), mean(&self.losses[n - k..]))
    }
}

/// The encoder's levels as trainable layers: `(convolution, pool)`.
struct Trainable {
    levels: Vec<(Conv, usize)>,
    vars: Vec<Var>,
}

impl Trainable {
    /// Trainable copies of `(kernel [k, C_in, C_out], bias, pool)` levels in `dtype`.
    fn new(levels: &[(Tensor, Tensor, usize)], dtype: DType) -> CResult<Self> {
        let map = VarMap::new();
        {
            let Ok(mut data) = map.data().lock() else {
                candle_core::bail!("parameter map lock poisoned")
            };
            for (i, (w, b, _)) in levels.iter().enumerate() {
                data.insert(
                    format!("l{i}.weight"),
                    Var::from_tensor(&w.to_dtype(dtype)?)?,
                );
                data.insert(format!("l{i}.bias"), Var::from_tensor(&b.to_dtype(dtype)?)?);
            }
        }
        let vb = VarBuilder::from_backend(
            Box::new(SeededBackend::new(map.clone(), 0)),
            dtype,
            Device::Cpu,
        );
        let mut out = Vec::with_capacity(levels.len());
        for (i, (w, _, pool)) in levels.iter().enumerate() {
            let (k, cin, cout) = w.dims3()?;
            out.push((Conv::new(vb.pp(format!("l{i}")), (1, k), cin, cout)?, *pool));
        }
        Ok(Self {
            levels: out,
            vars: sorted_vars(&map),
        })
    }

    /// `[n, steps, C]` channels-last segments → `[n, out_steps · C_out]` embeddings: per level
    /// `relu(conv + bias)`, a short last pooling window dropped, max pooling.
    fn forward(&self, x: &Tensor) -> CResult<Tensor> {
        let (n, steps, c) = x.dims3()?;
        let mut x = x.reshape((n, 1, steps, c))?;
        for (conv, pool) in &self.levels {
            let y = conv.forward_relu(&x)?;
            let w = y.dim(2)?;
            let keep = w / pool * pool;
            if keep == 0 {
                candle_core::bail!("artist fine-tuning: {w} steps left for a pool of {pool}")
            }
            let y = if keep < w { y.narrow(2, 0, keep)? } else { y };
            x = max_pool_t(&y, 1, *pool)?;
        }
        let (n, _, s, c) = x.dims4()?;
        x.reshape((n, s * c))
    }

    /// InfoNCE of `[2B, steps, C]` segments (row `i` and row `i + B` from one track) on their
    /// unit-length embeddings.
    fn loss(&self, x: &Tensor, temperature: f64) -> CResult<Tensor> {
        let e = self.forward(x)?;
        let norm = (e.sqr()?.sum_keepdim(D::Minus1)? + 1e-12)?.sqrt()?;
        info_nce(&e.broadcast_div(&norm)?, temperature, None)
    }
}

impl ArtistEncoder {
    /// Fine-tunes a copy of this encoder on `tracks`: each holds a track's segments, `n ×`
    /// [`ARTIST_SEGMENT_FRAMES`] frames of [`ARTIST_BANDS`] standardised log-mel values, as
    /// [`embed_segments`](Self::embed_segments) takes them. Each step draws
    /// [`tracks_per_batch`](ArtistFineTune::tracks_per_batch) tracks with at least two segments
    /// and two different segments of each, and takes one AdamW step on InfoNCE (module docs).
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] for a bad `cfg`; [`Error::ShapeMismatch`] if a track is not a
    /// whole number of segments; [`Error::Empty`] if fewer than two tracks have two segments;
    /// [`Error::NonFinite`] for non-finite input or a loss that diverged.
    ///
    /// # Examples
    /// ```no_run
    /// use sonority_autoencoders::{ArtistEncoder, ArtistFineTune};
    /// let encoder = ArtistEncoder::load("models/default/artist.safetensors".as_ref())?;
    /// let tracks: Vec<Vec<f32>> = Vec::new(); // each: a track's segments, frame-major
    /// let slices: Vec<&[f32]> = tracks.iter().map(Vec::as_slice).collect();
    /// let (tuned, report) = encoder.fine_tune(&slices, &ArtistFineTune::default())?;
    /// println!("loss {:?} -> {:?}", report.losses.first(), report.losses.last());
    /// # Ok::<(), sonority_autoencoders::Error>(())
    /// ```
    pub fn fine_tune(
        &self,
        tracks: &[&[f32]],
        cfg: &ArtistFineTune,
    ) -> Result<(ArtistEncoder, FineTuneReport)> {
        cfg.validate()?;
        let per = ARTIST_SEGMENT_FRAMES * ARTIST_BANDS;
        for t in tracks {
            if !t.len().is_multiple_of(per) {
                return Err(Error::ShapeMismatch {
                    what: "artist fine-tuning track".into(),
                    expected: vec![ARTIST_SEGMENT_FRAMES, ARTIST_BANDS],
                    actual: vec![t.len()],
                });
            }
            if t.iter().any(|v| !v.is_finite()) {
                return Err(Error::NonFinite {
                    what: "artist fine-tuning input",
                });
            }
        }
        let eligible: Vec<&[f32]> = tracks
            .iter()
            .copied()
            .filter(|t| t.len() >= 2 * per)
            .collect();
        if eligible.len() < 2 {
            return Err(Error::Empty {
                what: "tracks with two segments for artist fine-tuning",
            });
        }
        let t0 = Instant::now();
        let levels = self.levels_as_tensors()?;
        let net = Trainable::new(&levels, DType::F32)?;
        let mut opt = OptimizerConfig::adamw(cfg.learning_rate).build(net.vars.clone())?;
        let mut rng = Rng::new(cfg.seed);
        let b = cfg.tracks_per_batch.min(eligible.len());
        let mut order: Vec<usize> = (0..eligible.len()).collect();
        let mut losses = Vec::with_capacity(cfg.steps);
        let mut batch = vec![0.0_f32; 2 * b * per];
        for _ in 0..cfg.steps {
            rng.shuffle(&mut order);
            for (j, &t) in order[..b].iter().enumerate() {
                let track = eligible[t];
                let n = track.len() / per;
                let s1 = rng.below(n);
                let s2 = (s1 + 1 + rng.below(n - 1)) % n;
                batch[j * per..(j + 1) * per].copy_from_slice(&track[s1 * per..(s1 + 1) * per]);
                batch[(b + j) * per..(b + j + 1) * per]
                    .copy_from_slice(&track[s2 * per..(s2 + 1) * per]);
            }
            let x = Tensor::from_slice(
                &batch,
                (2 * b, ARTIST_SEGMENT_FRAMES, ARTIST_BANDS),
                &Device::Cpu,
            )?;
            let loss = net.loss(&x, cfg.temperature)?;
            let value = f64::from(loss.to_scalar::<f32>()?);
            if !value.is_finite() {
                return Err(Error::NonFinite {
                    what: "artist fine-tuning loss",
                });
            }
            losses.push(value);
            opt.step(&loss.backward()?)?;
        }
        let mut trained = Vec::with_capacity(net.levels.len());
        for (conv, pool) in &net.levels {
            let [w, bias] = conv.tensors();
            trained.push((w.detach(), bias.detach(), *pool));
        }
        let bytes = identity_bn_safetensors(&trained)?;
        let tuned = ArtistEncoder::from_bytes(bytes, Path::new("fine-tuned artist encoder"))?;
        Ok((
            tuned,
            FineTuneReport {
                losses,
                tracks: eligible.len(),
                seconds: t0.elapsed().as_secs_f64(),
            },
        ))
    }

    /// The folded levels: `(kernel [k, C_in, C_out], bias [C_out], pool)`.
    fn levels_as_tensors(&self) -> Result<Vec<(Tensor, Tensor, usize)>> {
        self.plan_levels()
            .iter()
            .map(|l: &Level| {
                Ok((
                    l.weight.reshape((l.kernel, l.cin, l.cout))?,
                    Tensor::from_slice(&l.bias, l.cout, &Device::Cpu)?,
                    l.pool,
                ))
            })
            .collect()
    }
}

/// The weights file of folded levels: each level's kernel and bias as `conv{n}`, and an
/// identity batch normalisation (`bn{n}`: γ 1, β 0, mean 0, variance 1 − ε, so that the scale
/// `γ / √(var + ε)` is 1).
fn identity_bn_safetensors(levels: &[(Tensor, Tensor, usize)]) -> Result<Vec<u8>> {
    let origin = Path::new("fine-tuned artist encoder");
    let mut tensors: Vec<(String, Vec<usize>, Vec<u8>)> = Vec::new();
    let le = |v: &[f32]| v.iter().flat_map(|x| x.to_le_bytes()).collect::<Vec<u8>>();
    for (i, (w, b, _)) in levels.iter().enumerate() {
        let n = i + 1;
        let cout = b.dim(0)?;
        let w32 = w.to_dtype(DType::F32)?.flatten_all()?.to_vec1::<f32>()?;
        let b32 = b.to_dtype(DType::F32)?.to_vec1::<f32>()?;
        tensors.push((format!("conv{n}.kernel"), w.dims().to_vec(), le(&w32)));
        tensors.push((format!("conv{n}.bias"), vec![cout], le(&b32)));
        tensors.push((format!("bn{n}.gamma"), vec![cout], le(&vec![1.0; cout])));
        tensors.push((format!("bn{n}.beta"), vec![cout], le(&vec![0.0; cout])));
        tensors.push((format!("bn{n}.mean"), vec![cout], le(&vec![0.0; cout])));
        let var = (1.0 - crate::artist::BN_EPS) as f32;
        tensors.push((format!("bn{n}.var"), vec![cout], le(&vec![var; cout])));
    }
    let mut views = Vec::with_capacity(tensors.len());
    for (name, shape, bytes) in &tensors {
        let view =
            TensorView::new(Dtype::F32, shape.clone(), bytes).map_err(|e| Error::Format {
                path: origin.to_path_buf(),
                reason: e.to_string(),
            })?;
        views.push((name.clone(), view));
    }
    safetensors::serialize(views, None).map_err(|e| Error::Format {
        path: origin.to_path_buf(),
        reason: e.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::artist::{ARTIST_DIM, LEVELS};
    use crate::gradcheck::{check, rand_tensor};

    /// A random encoder of the published shape (weights scaled to keep activations moderate).
    fn random_encoder(seed: u64) -> ArtistEncoder {
        let mut rng = Rng::new(seed);
        let mut cin = ARTIST_BANDS;
        let mut levels = Vec::new();
        for &(k, pool, cout) in &LEVELS {
            let scale = (3.0 / (k * cin) as f64).sqrt();
            let w: Vec<f32> = (0..k * cin * cout)
                .map(|_| rng.uniform_range(-scale, scale) as f32)
                .collect();
            let b: Vec<f32> = (0..cout)
                .map(|_| rng.uniform_range(0.0, 0.1) as f32)
                .collect();
            levels.push((
                Tensor::from_vec(w, (k, cin, cout), &Device::Cpu).unwrap(),
                Tensor::from_vec(b, cout, &Device::Cpu).unwrap(),
                pool,
            ));
            cin = cout;
        }
        let bytes = identity_bn_safetensors(&levels).unwrap();
        ArtistEncoder::from_bytes(bytes, Path::new("random")).unwrap()
    }

    /// `n` segments of a track whose bands follow its own random profile, plus noise.
    fn track(seed: u64, n: usize) -> Vec<f32> {
        let mut rng = Rng::new(seed);
        let profile: Vec<f64> = (0..ARTIST_BANDS).map(|_| rng.normal()).collect();
        (0..n * ARTIST_SEGMENT_FRAMES)
            .flat_map(|_| {
                profile
                    .iter()
                    .map(|p| (p + 0.5 * rng.normal()) as f32)
                    .collect::<Vec<_>>()
            })
            .collect()
    }

    fn embed(e: &ArtistEncoder, segments: &[f32]) -> Vec<f32> {
        let n = segments.len() / (ARTIST_SEGMENT_FRAMES * ARTIST_BANDS);
        let mut out = vec![0.0; n * ARTIST_DIM];
        e.embed_segments(segments, &mut out).unwrap();
        out
    }

    #[test]
    fn gradient_matches_finite_differences() {
        // A small network of the same kinds of levels (kernels 3 and 2 with "same" padding, a
        // pool that drops a short window, a last 1×1 level), in f64.
        let levels: Vec<(Tensor, Tensor, usize)> = [(3, 2, 3, 4), (2, 2, 4, 3), (1, 1, 3, 5)]
            .iter()
            .enumerate()
            .map(|(i, &(k, pool, cin, cout))| {
                (
                    rand_tensor(&[k, cin, cout], 10 + i as u64),
                    (rand_tensor(&[cout], 20 + i as u64) * 0.1).unwrap(),
                    pool,
                )
            })
            .collect();
        let net = Trainable::new(&levels, DType::F64).unwrap();
        // 4 segments (2 tracks × 2) of 9 steps of 3 channels: 9 → 4 → 2 steps.
        let x = rand_tensor(&[4, 9, 3], 3);
        assert_eq!(net.forward(&x).unwrap().dims2().unwrap(), (4, 10));
        let vars: Vec<&Var> = net.vars.iter().collect();
        let worst = check(
            &vars,
            || net.loss(&x, 0.5).unwrap().to_dtype(DType::F64).unwrap(),
            40,
        );
        assert!(worst < 1e-4, "worst relative error {worst:.2e}");
    }

    #[test]
    fn training_path_matches_the_inference_path() {
        let e = random_encoder(1);
        let segments = track(5, 3);
        let net = Trainable::new(&e.levels_as_tensors().unwrap(), DType::F32).unwrap();
        let x = Tensor::from_slice(
            &segments,
            (3, ARTIST_SEGMENT_FRAMES, ARTIST_BANDS),
            &Device::Cpu,
        )
        .unwrap();
        let trained = net.forward(&x).unwrap().flatten_all().unwrap();
        let trained = trained.to_vec1::<f32>().unwrap();
        let inferred = embed(&e, &segments);
        for (a, b) in trained.iter().zip(&inferred) {
            assert!((a - b).abs() <= 1e-4 * (1.0 + b.abs()), "{a} vs {b}");
        }
    }

    #[test]
    fn zero_steps_give_back_the_same_embeddings_and_training_lowers_the_loss() {
        let e = random_encoder(2);
        let tracks: Vec<Vec<f32>> = (0..4).map(|t| track(100 + t, 2)).collect();
        let slices: Vec<&[f32]> = tracks.iter().map(Vec::as_slice).collect();
        let (same, report) = e
            .fine_tune(&slices, &ArtistFineTune::default().with_steps(0))
            .unwrap();
        assert!(report.losses.is_empty());
        let (a, b) = (embed(&e, &tracks[0]), embed(&same, &tracks[0]));
        for (x, y) in a.iter().zip(&b) {
            assert!((x - y).abs() <= 1e-5 * (1.0 + x.abs()), "{x} vs {y}");
        }
        let cfg = ArtistFineTune::default()
            .with_steps(12)
            .with_learning_rate(1e-3)
            .with_tracks_per_batch(4);
        let (tuned, report) = e.fine_tune(&slices, &cfg).unwrap();
        assert_eq!(report.losses.len(), 12);
        assert_eq!(report.tracks, 4);
        let (start, end) = report.loss_start_end(3);
        assert!((start - report.losses[..3].iter().sum::<f64>() / 3.0).abs() < 1e-12);
        assert!((end - report.losses[9..].iter().sum::<f64>() / 3.0).abs() < 1e-12);
        let first: f64 = report.losses[..3].iter().sum();
        let last: f64 = report.losses[9..].iter().sum();
        assert!(last < first, "loss {:?}", report.losses);
        assert!(embed(&tuned, &tracks[1]).iter().all(|v| v.is_finite()));
        assert_ne!(embed(&tuned, &tracks[1]), embed(&e, &tracks[1]));
    }

    #[test]
    fn bad_input_is_refused() {
        let e = random_encoder(3);
        let one = track(1, 1);
        let two = track(2, 2);
        let cfg = ArtistFineTune::default().with_steps(1);
        assert!(matches!(
            e.fine_tune(&[&one, &two], &cfg),
            Err(Error::Empty { .. })
        ));
        assert!(matches!(
            e.fine_tune(&[&two[..10], &two], &cfg),
            Err(Error::ShapeMismatch { .. })
        ));
        let mut nan = two.clone();
        nan[7] = f32::NAN;
        assert!(matches!(
            e.fine_tune(&[&nan, &two], &cfg),
            Err(Error::NonFinite { .. })
        ));
        assert!(matches!(
            e.fine_tune(&[&two, &two], &cfg.clone().with_tracks_per_batch(1)),
            Err(Error::InvalidConfig { .. })
        ));
    }
}
