//! The training loops: [`train_tiles`] (mel tiles grouped by track, with the optional
//! contrastive term) and [`train_vectors`] (rows of a matrix, e.g. fused vectors).

use crate::config::ConvAeConfig;
use crate::contrastive::{Positives, ProjectionHead, info_nce, sorted_vars};
use crate::data::{Augment, TrackMatrix, copy_tile};
use crate::error::{Error, Result};
use crate::model::ConvAutoencoder;
use crate::rng::Rng;
use crate::train_config::{
    EpochStats, Progress, ProgressKind, Provenance, StopReason, TrainConfig,
};
use candle_core::{DType, Device, Tensor, Var};
use std::time::Instant;

/// A trained model and how it was trained (also stored in the model, see
/// [`ConvAutoencoder::provenance`]).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Trained {
    /// The model, with its provenance attached.
    pub model: ConvAutoencoder,
    /// The training record.
    pub provenance: Provenance,
}

/// Where batches come from.
trait Sampler {
    /// The groups of item indices forming one epoch's batches.
    fn plan_epoch(&self, rng: &mut Rng) -> Vec<Vec<usize>>;
    /// A `[n, rows, cols]` batch for a group; for paired samplers the first half and the
    /// second half are two views of the same items.
    fn batch(&self, group: &[usize], rng: &mut Rng, augment: bool) -> Result<Tensor>;
    /// Whether batches are same-track pairs.
    fn paired(&self) -> bool;
    /// The contrastive label of every row of a group's batch (both views), when rows of the
    /// same label other than the positive are to be left out of the negatives.
    fn labels(&self, _group: &[usize]) -> Option<Vec<u64>> {
        None
    }
    /// The `[g, g]` cosine similarities between the teacher vectors of a group's items (the
    /// distillation term's target), when every item has one.
    fn teacher_similarity(&self, _group: &[usize]) -> Option<Tensor> {
        None
    }
}

/// The `[n, n]` cosine similarities between `vectors` (computed in `f64`; a zero vector has
/// similarity 0 with everything).
fn cosine_matrix(vectors: &[&[f32]]) -> Result<Tensor> {
    let n = vectors.len();
    let norms: Vec<f64> = vectors
        .iter()
        .map(|v| {
            v.iter()
                .map(|&x| f64::from(x) * f64::from(x))
                .sum::<f64>()
                .sqrt()
        })
        .collect();
    let mut sim = vec![0f32; n * n];
    for i in 0..n {
        for j in 0..n {
            let dot: f64 = vectors[i]
                .iter()
                .zip(vectors[j])
                .map(|(&a, &b)| f64::from(a) * f64::from(b))
                .sum();
            let d = norms[i] * norms[j];
            sim[i * n + j] = if d > 0.0 { (dot / d) as f32 } else { 0.0 };
        }
    }
    Ok(Tensor::from_vec(sim, (n, n), &Device::Cpu)?)
}

/// The distillation term: the mean squared difference between the cosine similarities of the
/// rows of `emb` (`[g, d]`) and `target` (`[g, g]`).
pub(crate) fn similarity_distill(emb: &Tensor, target: &Tensor) -> candle_core::Result<Tensor> {
    let norm = (emb.sqr()?.sum_keepdim(1)? + 1e-12)?.sqrt()?;
    let unit = emb.broadcast_div(&norm)?;
    let sim = unit.matmul(&unit.t()?)?;
    (sim - target.to_dtype(emb.dtype())?)?.sqr()?.mean_all()
}

/// Random tiles of tracks, two per track per batch.
struct TileSampler<'a> {
    tracks: &'a [TrackMatrix],
    train: Vec<usize>,
    rows: usize,
    width: usize,
    group: usize,
    rounds: usize,
    drop_singletons: bool,
    augment: Augment,
    /// With [`Positives::SameGroup`]: every track's dense group label (tracks without a
    /// group get labels of their own) and the tracks of each label.
    groups: Option<(Vec<u64>, Vec<Vec<usize>>)>,
}

/// Dense labels of the tracks' groups (a track without one is alone in its label) and the
/// tracks of every label.
fn dense_groups(tracks: &[TrackMatrix]) -> (Vec<u64>, Vec<Vec<usize>>) {
    let mut ids = std::collections::BTreeMap::new();
    let mut labels = Vec::with_capacity(tracks.len());
    let mut members: Vec<Vec<usize>> = Vec::new();
    for (i, t) in tracks.iter().enumerate() {
        let next = members.len();
        let l = match t.group() {
            Some(g) => *ids.entry(g).or_insert(next),
            None => next,
        };
        if l == members.len() {
            members.push(Vec::new());
        }
        members[l].push(i);
        labels.push(l as u64);
    }
    (labels, members)
}

impl TileSampler<'_> {
    fn random_start(&self, t: &TrackMatrix, rng: &mut Rng) -> usize {
        if t.cols() > self.width {
            rng.below(t.cols() - self.width + 1)
        } else {
            0
        }
    }
}

impl Sampler for TileSampler<'_> {
    fn plan_epoch(&self, rng: &mut Rng) -> Vec<Vec<usize>> {
        let mut plan = Vec::new();
        for _ in 0..self.rounds {
            let mut order = self.train.clone();
            rng.shuffle(&mut order);
            for g in order.chunks(self.group) {
                if g.len() >= 2 || !self.drop_singletons {
                    plan.push(g.to_vec());
                }
            }
        }
        plan
    }

    fn batch(&self, group: &[usize], rng: &mut Rng, augment: bool) -> Result<Tensor> {
        let (g, len) = (group.len(), self.rows * self.width);
        let mut buf = vec![0f32; 2 * g * len];
        for view in 0..2 {
            for (k, &i) in group.iter().enumerate() {
                let i = match &self.groups {
                    Some((labels, members)) if view == 1 => {
                        let m = &members[labels[i] as usize];
                        m[rng.below(m.len())]
                    }
                    _ => i,
                };
                let t = &self.tracks[i];
                let start = self.random_start(t, rng);
                let out = &mut buf[(view * g + k) * len..(view * g + k + 1) * len];
                copy_tile(t.as_slice(), t.rows(), t.cols(), start, self.width, out);
                if augment {
                    self.augment.apply(out, self.rows, self.width, rng);
                }
            }
        }
        Ok(Tensor::from_vec(
            buf,
            (2 * g, self.rows, self.width),
            &Device::Cpu,
        )?)
    }

    fn paired(&self) -> bool {
        true
    }

    fn labels(&self, group: &[usize]) -> Option<Vec<u64>> {
        let (labels, _) = self.groups.as_ref()?;
        let l: Vec<u64> = group.iter().map(|&i| labels[i]).collect();
        Some([l.as_slice(), l.as_slice()].concat())
    }

    fn teacher_similarity(&self, group: &[usize]) -> Option<Tensor> {
        let teachers: Option<Vec<&[f32]>> =
            group.iter().map(|&i| self.tracks[i].teacher()).collect();
        cosine_matrix(&teachers?).ok()
    }
}

/// Rows of a matrix, each one `[rows, cols]` input.
struct RowSampler<'a> {
    data: &'a [f32],
    rows: usize,
    cols: usize,
    train: Vec<usize>,
    group: usize,
}

impl Sampler for RowSampler<'_> {
    fn plan_epoch(&self, rng: &mut Rng) -> Vec<Vec<usize>> {
        let mut order = self.train.clone();
        rng.shuffle(&mut order);
        order.chunks(self.group).map(<[usize]>::to_vec).collect()
    }

    fn batch(&self, group: &[usize], _rng: &mut Rng, _augment: bool) -> Result<Tensor> {
        let dim = self.rows * self.cols;
        let mut buf = Vec::with_capacity(group.len() * dim);
        for &i in group {
            buf.extend_from_slice(&self.data[i * dim..(i + 1) * dim]);
        }
        Ok(Tensor::from_vec(
            buf,
            (group.len(), self.rows, self.cols),
            &Device::Cpu,
        )?)
    }

    fn paired(&self) -> bool {
        false
    }
}

/// Views of tracks (`n_views` vectors of `rows × cols` values per track, e.g. fused vectors
/// pooled from different sets of a track's tiles): two different views of each track per batch.
struct ViewSampler<'a> {
    views: &'a [f32],
    n_views: usize,
    rows: usize,
    cols: usize,
    train: Vec<usize>,
    group: usize,
    rounds: usize,
}

impl Sampler for ViewSampler<'_> {
    fn plan_epoch(&self, rng: &mut Rng) -> Vec<Vec<usize>> {
        let mut plan = Vec::new();
        for _ in 0..self.rounds {
            let mut order = self.train.clone();
            rng.shuffle(&mut order);
            plan.extend(
                order
                    .chunks(self.group)
                    .filter(|g| g.len() >= 2)
                    .map(<[usize]>::to_vec),
            );
        }
        plan
    }

    fn batch(&self, group: &[usize], rng: &mut Rng, _augment: bool) -> Result<Tensor> {
        let (g, len) = (group.len(), self.rows * self.cols);
        let mut buf = vec![0f32; 2 * g * len];
        for (k, &i) in group.iter().enumerate() {
            // Two different views of track i.
            let a = rng.below(self.n_views);
            let b = (a + 1 + rng.below(self.n_views - 1)) % self.n_views;
            for (view, v) in [a, b].into_iter().enumerate() {
                let at = (i * self.n_views + v) * len;
                buf[(view * g + k) * len..(view * g + k + 1) * len]
                    .copy_from_slice(&self.views[at..at + len]);
            }
        }
        Ok(Tensor::from_vec(
            buf,
            (2 * g, self.rows, self.cols),
            &Device::Cpu,
        )?)
    }

    fn paired(&self) -> bool {
        true
    }
}

/// Splits `0..n` into (train, validation) with the seed.
fn split(n: usize, fraction: f64, rng: &mut Rng) -> (Vec<usize>, Vec<usize>) {
    let mut idx: Vec<usize> = (0..n).collect();
    rng.shuffle(&mut idx);
    let n_val = if fraction > 0.0 && n >= 2 {
        ((n as f64 * fraction).round() as usize).clamp(1, n - 1)
    } else {
        0
    };
    let val = idx.split_off(n - n_val);
    (idx, val)
}

/// The total, reconstruction and contrastive losses of one batch; with a teacher similarity
/// (`[g, g]` for the first `g` rows of a paired batch) and [`TrainConfig::distill`] above 0, the
/// total includes the distillation term.
fn batch_loss(
    model: &ConvAutoencoder,
    head: Option<&ProjectionHead>,
    x: &Tensor,
    paired: bool,
    labels: Option<&[u64]>,
    teacher: Option<&Tensor>,
    tcfg: &TrainConfig,
) -> Result<(Tensor, f64, f64)> {
    let xi = model.to_internal(x)?;
    let z = model.encode_internal(&xi)?;
    let recon = model.recon_loss_internal(&xi, &z)?;
    let recon_v = recon.to_dtype(DType::F64)?.to_scalar::<f64>()?;
    let distill = match teacher {
        Some(target) if tcfg.distill > 0.0 => {
            let g = target.dim(0)?;
            let emb = model.embed_internal(&z)?.narrow(0, 0, g)?;
            Some((similarity_distill(&emb, target)? * tcfg.distill)?)
        }
        _ => None,
    };
    let (total, nce_v) = match head {
        Some(h) if paired && x.dim(0)? >= 4 => {
            let nce = info_nce(
                &h.forward(&model.embed_internal(&z)?)?,
                tcfg.contrastive.temperature,
                labels,
            )?;
            let nce_v = nce.to_dtype(DType::F64)?.to_scalar::<f64>()?;
            ((recon + (nce * tcfg.contrastive.weight)?)?, nce_v)
        }
        _ => (recon, 0.0),
    };
    match distill {
        Some(d) => Ok(((total + d)?, recon_v, nce_v)),
        None => Ok((total, recon_v, nce_v)),
    }
}

/// Trains a tile autoencoder on tracks.
///
/// Every epoch shuffles the training tracks and groups them `batch_size / 2` at a time; each
/// track in a group gives two tiles of `cfg.cols` frames at independent random positions (a
/// track shorter than a tile gives its whole length, zero-padded). With the contrastive term on,
/// the two tiles of a track are a positive pair and the other tracks' tiles negatives. Validation
/// tracks get fixed tile positions, drawn once from the seed.
///
/// `progress` is called after every step and every epoch; returning `false` stops training
/// (the best weights so far are kept).
///
/// # Errors
///
/// [`Error::InvalidConfig`] for bad configurations, [`Error::Empty`] for fewer than two tracks,
/// [`Error::ShapeMismatch`] when a track's rows differ from `cfg.rows`, [`Error::NonFinite`] if
/// the loss diverges, and candle errors.
///
/// # Examples
///
/// ```
/// use sonority_autoencoders::{ConvAeConfig, TrackMatrix, TrainConfig, train_tiles};
///
/// let cfg = ConvAeConfig::default().with_rows(8).with_cols(16).with_channels(vec![8, 4]);
/// let tracks: Vec<TrackMatrix> = (0..8)
///     .map(|k| TrackMatrix::new((0..8 * 40).map(|i| ((i * (k + 1)) as f32).sin()).collect(), 8, 40))
///     .collect::<Result<_, _>>()?;
/// let tcfg = TrainConfig::default().with_max_epochs(2).with_batch_size(8).with_seed(1);
/// let trained = train_tiles(&cfg, &tcfg, &tracks, |_| true)?;
/// assert_eq!(trained.provenance.epochs, 2);
/// # Ok::<(), sonority_autoencoders::Error>(())
/// ```
pub fn train_tiles<F>(
    cfg: &ConvAeConfig,
    tcfg: &TrainConfig,
    tracks: &[TrackMatrix],
    progress: F,
) -> Result<Trained>
where
    F: FnMut(&Progress) -> bool,
{
    tiles_inner(cfg, None, tcfg, tracks, progress)
}

/// Continues training `model` on tracks, as [`train_tiles`] does from fresh weights (the
/// optimiser state and projection head start afresh; the provenance records this run only).
///
/// # Errors
///
/// As [`train_tiles`].
pub fn fine_tune_tiles<F>(
    model: &ConvAutoencoder,
    tcfg: &TrainConfig,
    tracks: &[TrackMatrix],
    progress: F,
) -> Result<Trained>
where
    F: FnMut(&Progress) -> bool,
{
    tiles_inner(model.config(), Some(model), tcfg, tracks, progress)
}

fn tiles_inner<F>(
    cfg: &ConvAeConfig,
    init: Option<&ConvAutoencoder>,
    tcfg: &TrainConfig,
    tracks: &[TrackMatrix],
    progress: F,
) -> Result<Trained>
where
    F: FnMut(&Progress) -> bool,
{
    cfg.validate()?;
    tcfg.validate()?;
    if tracks.len() < 2 {
        return Err(Error::Empty {
            what: "training tracks (need at least two)",
        });
    }
    if let Some(t) = tracks.iter().find(|t| t.rows() != cfg.rows) {
        return Err(Error::ShapeMismatch {
            what: "track rows (mel bands)".into(),
            expected: vec![cfg.rows],
            actual: vec![t.rows()],
        });
    }
    if tcfg.distill > 0.0 {
        let dims: Vec<Option<usize>> = tracks
            .iter()
            .map(|t| t.teacher().map(<[f32]>::len))
            .collect();
        if dims.iter().any(Option::is_none) || dims.windows(2).any(|w| w[0] != w[1]) {
            return Err(Error::InvalidConfig {
                field: "distill",
                reason: "every training track needs a teacher vector, all of one length".into(),
            });
        }
    }
    let mut rng = Rng::new(tcfg.seed);
    let (train, val) = split(tracks.len(), tcfg.validation_fraction, &mut rng);
    let sampler = TileSampler {
        tracks,
        train,
        rows: cfg.rows,
        width: cfg.cols,
        group: (tcfg.batch_size / 2).max(2),
        rounds: tcfg.samples_per_track,
        drop_singletons: tcfg.contrastive.is_enabled(),
        augment: tcfg.augment.clone(),
        groups: (tcfg.contrastive.positives == Positives::SameGroup).then(|| dense_groups(tracks)),
    };
    let mut val_rng = Rng::new(tcfg.seed ^ 0x005E_ED0F_7A11);
    let mut val_batches = Vec::new();
    // A validation group of one track only gets the reconstruction loss.
    for g in val.chunks(sampler.group) {
        val_batches.push((sampler.batch(g, &mut val_rng, false)?, sampler.labels(g)));
    }
    let n = (sampler.train.len(), val.len());
    run(cfg, init, tcfg, &sampler, &val_batches, n, rng, progress)
}

/// Trains an autoencoder on the rows of a row-major `[n_rows, cfg.rows × cfg.cols]` matrix (for
/// the fused 1-D preset: one 67-value fused vector per row, `cfg.rows = 1`; for
/// [`ConvAeConfig::fused_dense`], `cfg.cols = 1`). The contrastive term and augmentations do not
/// apply.
///
/// # Errors
///
/// As [`train_tiles`]; [`Error::ShapeMismatch`] when `data.len() != n_rows × cfg.rows ×
/// cfg.cols`, [`Error::NonFinite`] for non-finite data.
///
/// # Examples
///
/// ```
/// use sonority_autoencoders::{ConvAeConfig, TrainConfig, train_vectors};
///
/// let cfg = ConvAeConfig::published_1d();
/// let data: Vec<f32> = (0..64 * 67).map(|i| (i as f32 * 0.01).sin()).collect();
/// let tcfg = TrainConfig::default().with_max_epochs(1);
/// let trained = train_vectors(&cfg, &tcfg, &data, 64, |_| true)?;
/// assert_eq!(trained.provenance.n_train + trained.provenance.n_val, 64);
/// # Ok::<(), sonority_autoencoders::Error>(())
/// ```
pub fn train_vectors<F>(
    cfg: &ConvAeConfig,
    tcfg: &TrainConfig,
    data: &[f32],
    n_rows: usize,
    progress: F,
) -> Result<Trained>
where
    F: FnMut(&Progress) -> bool,
{
    cfg.validate()?;
    tcfg.validate()?;
    if data.len() != n_rows * cfg.rows * cfg.cols {
        return Err(Error::ShapeMismatch {
            what: "vector matrix".into(),
            expected: vec![n_rows, cfg.rows, cfg.cols],
            actual: vec![data.len()],
        });
    }
    if n_rows < 2 {
        return Err(Error::Empty {
            what: "training rows (need at least two)",
        });
    }
    if data.iter().any(|x| !x.is_finite()) {
        return Err(Error::NonFinite {
            what: "training vectors",
        });
    }
    let mut rng = Rng::new(tcfg.seed);
    let (train, val) = split(n_rows, tcfg.validation_fraction, &mut rng);
    let sampler = RowSampler {
        data,
        rows: cfg.rows,
        cols: cfg.cols,
        train,
        group: tcfg.batch_size,
    };
    let mut val_batches = Vec::new();
    let mut dummy = Rng::new(0);
    for g in val.chunks(tcfg.batch_size) {
        val_batches.push((sampler.batch(g, &mut dummy, false)?, sampler.labels(g)));
    }
    let n = (sampler.train.len(), val.len());
    let mut tcfg = tcfg.clone();
    tcfg.contrastive.weight = 0.0;
    run(cfg, None, &tcfg, &sampler, &val_batches, n, rng, progress)
}

/// Trains an autoencoder on several views of each track with reconstruction plus the
/// same-track contrastive term: two different views of one track are a positive pair, the
/// other tracks' views in the batch negatives. For the learned second stage, a view is a
/// track's fused vector with its tile block pooled from one random half of its tiles, so that
/// the latent keeps what the whole track shares and drops what one excerpt happens to hold.
///
/// `views` is row-major `[n_tracks, n_views, cfg.rows × cfg.cols]` (a fused vector of `d`
/// values is `rows = 1, cols = d` for a 1-D convolution, or `rows = d, cols = 1` for the dense
/// preset [`ConvAeConfig::fused_dense`]). Each epoch shuffles the training tracks
/// `samples_per_track` times and groups them `batch_size / 2` at a time; augmentation does not
/// apply.
///
/// # Errors
///
/// As [`train_tiles`]; [`Error::ShapeMismatch`] when `views.len()` is not
/// `n_tracks × n_views × rows × cols`, [`Error::InvalidConfig`] for fewer than two views,
/// [`Error::NonFinite`] for non-finite data.
///
/// # Examples
///
/// ```
/// use sonority_autoencoders::{ConvAeConfig, TrainConfig, train_vector_views};
///
/// let cfg = ConvAeConfig::fused_dense(12, 4);
/// let views: Vec<f32> = (0..10 * 3 * 12).map(|i| (i as f32 * 0.37).sin()).collect();
/// let tcfg = TrainConfig::default().with_max_epochs(2).with_batch_size(8);
/// let trained = train_vector_views(&cfg, &tcfg, &views, 10, 3, |_| true)?;
/// assert!(trained.provenance.history[0].contrastive_loss > 0.0);
/// # Ok::<(), sonority_autoencoders::Error>(())
/// ```
pub fn train_vector_views<F>(
    cfg: &ConvAeConfig,
    tcfg: &TrainConfig,
    views: &[f32],
    n_tracks: usize,
    n_views: usize,
    progress: F,
) -> Result<Trained>
where
    F: FnMut(&Progress) -> bool,
{
    cfg.validate()?;
    tcfg.validate()?;
    let len = cfg.rows * cfg.cols;
    if views.len() != n_tracks * n_views * len {
        return Err(Error::ShapeMismatch {
            what: "track views".into(),
            expected: vec![n_tracks, n_views, len],
            actual: vec![views.len()],
        });
    }
    if n_views < 2 {
        return Err(Error::InvalidConfig {
            field: "n_views",
            reason: "a positive pair needs at least two views per track".into(),
        });
    }
    if n_tracks < 2 {
        return Err(Error::Empty {
            what: "training tracks (need at least two)",
        });
    }
    if views.iter().any(|x| !x.is_finite()) {
        return Err(Error::NonFinite {
            what: "training views",
        });
    }
    let mut rng = Rng::new(tcfg.seed);
    let (train, val) = split(n_tracks, tcfg.validation_fraction, &mut rng);
    let sampler = ViewSampler {
        views,
        n_views,
        rows: cfg.rows,
        cols: cfg.cols,
        train,
        group: (tcfg.batch_size / 2).max(2),
        rounds: tcfg.samples_per_track,
    };
    let mut val_rng = Rng::new(tcfg.seed ^ 0x005E_ED0F_7A11);
    let mut val_batches = Vec::new();
    for g in val.chunks(sampler.group).filter(|g| g.len() >= 2) {
        val_batches.push((sampler.batch(g, &mut val_rng, false)?, sampler.labels(g)));
    }
    let n = (sampler.train.len(), val.len());
    run(cfg, None, tcfg, &sampler, &val_batches, n, rng, progress)
}

fn snapshot(vars: &[Var]) -> Result<Vec<Tensor>> {
    Ok(vars
        .iter()
        .map(|v| v.as_tensor().copy())
        .collect::<candle_core::Result<_>>()?)
}

fn restore(vars: &[Var], snap: &[Tensor]) -> Result<()> {
    for (v, t) in vars.iter().zip(snap) {
        v.set(t)?;
    }
    Ok(())
}

fn mean(xs: &[f64]) -> f64 {
    if xs.is_empty() {
        0.0
    } else {
        xs.iter().sum::<f64>() / xs.len() as f64
    }
}

/// The shared loop.
#[allow(clippy::too_many_lines)]
#[allow(clippy::too_many_arguments)]
fn run<F>(
    cfg: &ConvAeConfig,
    init: Option<&ConvAutoencoder>,
    tcfg: &TrainConfig,
    sampler: &dyn Sampler,
    val_batches: &[(Tensor, Option<Vec<u64>>)],
    (n_train, n_val): (usize, usize),
    mut rng: Rng,
    mut progress: F,
) -> Result<Trained>
where
    F: FnMut(&Progress) -> bool,
{
    let start = Instant::now();
    let (model, map) = match init {
        Some(m) => m.to_trainable()?,
        None => ConvAutoencoder::seeded_with_dtype(cfg, tcfg.seed, DType::F32)?,
    };
    let model_vars = sorted_vars(&map);
    let head = if tcfg.contrastive.is_enabled() && sampler.paired() {
        let seed = tcfg.seed ^ 0xC047_4A57;
        Some(ProjectionHead::seeded(
            cfg.embedding_dim(),
            &tcfg.contrastive,
            seed,
            DType::F32,
        )?)
    } else {
        None
    };
    let mut all_vars = model_vars.clone();
    if let Some(h) = &head {
        all_vars.extend(h.vars.iter().cloned());
    }
    let mut opt = tcfg.optimizer.build(all_vars)?;
    let augment = tcfg.augment.is_enabled();
    let budget = tcfg.time_budget_s;
    let over_budget = |start: &Instant| budget.is_some_and(|b| start.elapsed().as_secs_f64() >= b);

    let mut history: Vec<EpochStats> = Vec::new();
    let mut best: Option<(f64, usize, Vec<Tensor>)> = None;
    let mut since_best = 0usize;
    let mut step = 0usize;
    let mut stop = StopReason::MaxEpochs;
    for epoch in 0..tcfg.max_epochs {
        let plan = sampler.plan_epoch(&mut rng);
        let (mut tl, mut rl, mut cl) = (Vec::new(), Vec::new(), Vec::new());
        let mut halted = None;
        for (k, group) in plan.iter().enumerate() {
            let x = sampler.batch(group, &mut rng, augment)?;
            let labels = sampler.labels(group);
            let teacher = sampler.teacher_similarity(group);
            let (loss, r, c) = batch_loss(
                &model,
                head.as_ref(),
                &x,
                sampler.paired(),
                labels.as_deref(),
                teacher.as_ref(),
                tcfg,
            )?;
            let total = loss.to_dtype(DType::F64)?.to_scalar::<f64>()?;
            if !total.is_finite() {
                return Err(Error::NonFinite {
                    what: "training loss",
                });
            }
            let grads = loss.backward()?;
            opt.step(&grads)?;
            step += 1;
            tl.push(total);
            rl.push(r);
            cl.push(c);
            let p = Progress {
                kind: ProgressKind::Step,
                epoch,
                step,
                epoch_step: k + 1,
                steps_per_epoch: plan.len(),
                loss: total,
                recon_loss: r,
                contrastive_loss: c,
                val_loss: None,
                elapsed_s: start.elapsed().as_secs_f64(),
            };
            if !progress(&p) {
                halted = Some(StopReason::Callback);
                break;
            }
            if over_budget(&start) {
                halted = Some(StopReason::TimeBudget);
                break;
            }
        }
        let val_loss = if val_batches.is_empty() {
            None
        } else {
            let mut v = Vec::new();
            for (x, labels) in val_batches {
                let (loss, _, _) = batch_loss(
                    &model,
                    head.as_ref(),
                    x,
                    sampler.paired(),
                    labels.as_deref(),
                    None,
                    tcfg,
                )?;
                v.push(loss.to_dtype(DType::F64)?.to_scalar::<f64>()?);
            }
            Some(mean(&v))
        };
        let stats = EpochStats {
            epoch,
            train_loss: mean(&tl),
            recon_loss: mean(&rl),
            contrastive_loss: mean(&cl),
            val_loss,
        };
        log::debug!("epoch {epoch}: {stats:?}");
        let p = Progress {
            kind: ProgressKind::EpochEnd,
            epoch,
            step,
            epoch_step: tl.len(),
            steps_per_epoch: plan.len(),
            loss: stats.train_loss,
            recon_loss: stats.recon_loss,
            contrastive_loss: stats.contrastive_loss,
            val_loss,
            elapsed_s: start.elapsed().as_secs_f64(),
        };
        history.push(stats);
        if let Some(v) = val_loss {
            if !v.is_finite() {
                return Err(Error::NonFinite {
                    what: "validation loss",
                });
            }
            let improved = best.as_ref().is_none_or(|(b, _, _)| v < b - tcfg.min_delta);
            if improved {
                let snap = if tcfg.restore_best {
                    snapshot(&model_vars)?
                } else {
                    Vec::new()
                };
                best = Some((v, epoch, snap));
                since_best = 0;
            } else {
                since_best += 1;
            }
        }
        let keep_going = progress(&p);
        if let Some(reason) = halted {
            stop = reason;
            break;
        }
        if !keep_going {
            stop = StopReason::Callback;
            break;
        }
        if tcfg
            .patience
            .is_some_and(|pat| val_loss.is_some() && since_best >= pat)
        {
            stop = StopReason::EarlyStopping;
            break;
        }
    }
    let epochs = history.len();
    let mut best_epoch = epochs.saturating_sub(1);
    if let Some((_, e, snap)) = best
        && tcfg.restore_best
        && !snap.is_empty()
    {
        restore(&model_vars, &snap)?;
        best_epoch = e;
    }
    let provenance = Provenance {
        data: tcfg.data_description.clone(),
        n_train,
        n_val,
        seed: tcfg.seed,
        epochs,
        steps: step,
        best_epoch,
        stop_reason: stop,
        history,
        elapsed_s: start.elapsed().as_secs_f64(),
        threads: candle_core::utils::get_num_threads(),
        config: tcfg.clone(),
        crate_version: env!("CARGO_PKG_VERSION").to_string(),
    };
    // Detach the trained weights from the optimiser's variables.
    let (mut model, _) = model.to_trainable()?;
    model.set_provenance(Some(provenance.clone()));
    Ok(Trained { model, provenance })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::contrastive::ContrastiveConfig;
    use crate::gradcheck::check;

    #[test]
    fn same_group_views_come_from_the_group_and_carry_its_label() {
        // Track k is the constant k, so a tile tells which track it came from.
        let groups = [Some(10), Some(10), Some(10), Some(20), Some(20), None];
        let tracks: Vec<TrackMatrix> = groups
            .iter()
            .enumerate()
            .map(|(k, g)| {
                let t = TrackMatrix::new(vec![k as f32; 2 * 12], 2, 12).unwrap();
                g.map_or(t.clone(), |g| t.with_group(g))
            })
            .collect();
        let sampler = TileSampler {
            tracks: &tracks,
            train: (0..tracks.len()).collect(),
            rows: 2,
            width: 4,
            group: 3,
            rounds: 1,
            drop_singletons: true,
            augment: Augment::default(),
            groups: Some(dense_groups(&tracks)),
        };
        let mut rng = Rng::new(5);
        let mut partners = std::collections::BTreeSet::new();
        for _ in 0..50 {
            for group in sampler.plan_epoch(&mut rng) {
                let x = sampler.batch(&group, &mut rng, false).unwrap();
                let rows = x.flatten_from(1).unwrap().to_vec2::<f32>().unwrap();
                let labels = sampler.labels(&group).unwrap();
                let g = group.len();
                assert_eq!(labels.len(), 2 * g);
                for (k, &i) in group.iter().enumerate() {
                    assert_eq!(rows[k][0] as usize, i, "the first view is the track's own");
                    let j = rows[g + k][0] as usize;
                    assert_eq!(labels[k], labels[g + k]);
                    match groups[i] {
                        Some(gi) => assert_eq!(groups[j], Some(gi), "track {i}'s partner {j}"),
                        None => assert_eq!(j, i, "an ungrouped track is its own partner"),
                    }
                    partners.insert((i, j));
                    for (m, &o) in group.iter().enumerate() {
                        let same = groups[i].is_some() && groups[i] == groups[o];
                        assert_eq!(labels[k] == labels[m], same || i == o);
                    }
                }
            }
        }
        // Other tracks of the group do turn up as partners.
        assert!(
            partners.contains(&(0, 2)) && partners.contains(&(4, 3)),
            "{partners:?}"
        );
    }

    #[test]
    fn contrastive_loss_gives_no_gradient_to_the_decoder() {
        let cfg = ConvAeConfig::default()
            .with_rows(4)
            .with_cols(8)
            .with_channels(vec![6, 3]);
        let (model, _) = ConvAutoencoder::seeded_with_dtype(&cfg, 1, DType::F64).unwrap();
        let ccfg = ContrastiveConfig::default()
            .with_hidden(5)
            .with_projection_dim(4);
        let head = ProjectionHead::seeded(cfg.embedding_dim(), &ccfg, 2, DType::F64).unwrap();
        let x = crate::gradcheck::rand_tensor(&[6, 4, 8], 3);
        let nce = |m: &ConvAutoencoder| {
            let z = m.encode_internal(&m.to_internal(&x).unwrap()).unwrap();
            info_nce(
                &head.forward(&m.embed_internal(&z).unwrap()).unwrap(),
                0.1,
                None,
            )
            .unwrap()
        };
        let grads = nce(&model).backward().unwrap();
        let dec = model.decoder_params();
        assert_eq!(dec.len(), 2 * 3);
        for t in &dec {
            let g = grads.get(t).map(|g| {
                g.abs()
                    .unwrap()
                    .sum_all()
                    .unwrap()
                    .to_scalar::<f64>()
                    .unwrap()
            });
            assert!(g.is_none_or(|g| g == 0.0), "decoder gradient {g:?}");
        }
        // ... while every encoder parameter gets one, and it matches finite differences.
        let enc: Vec<_> = model
            .named_params()
            .iter()
            .filter(|(n, _)| n.starts_with("encoder."))
            .collect();
        assert!(enc.iter().all(|(_, t)| grads.get(t).is_some()));
        let (m2, map) = ConvAutoencoder::seeded_with_dtype(&cfg, 1, DType::F64).unwrap();
        let vars = sorted_vars(&map);
        let refs: Vec<&Var> = vars.iter().collect();
        let err = check(&refs, || nce(&m2), 20);
        assert!(err < 1e-5, "{err}");
    }

    /// The learned second stage: both presets over a fused vector, with the same-track
    /// contrastive term on batches of two views per track, every parameter (model and head).
    #[test]
    fn fused_vector_stage_gradients_with_contrastive_term_match_finite_differences() {
        let dim = 13;
        let cases = [
            ConvAeConfig::fused_conv1d(dim, 6),
            ConvAeConfig::fused_dense(dim, 5),
        ];
        let ccfg = ContrastiveConfig::default()
            .with_hidden(5)
            .with_projection_dim(4);
        let tcfg = TrainConfig::default().with_contrastive(ccfg.clone());
        let (n_tracks, n_views) = (4, 3);
        let views: Vec<f32> = crate::gradcheck::rand_tensor(&[n_tracks * n_views * dim], 11)
            .to_vec1::<f64>()
            .unwrap()
            .into_iter()
            .map(|v| v as f32)
            .collect();
        for (ci, cfg) in cases.iter().enumerate() {
            let [rows, cols] = cfg.vector_shape(dim).unwrap();
            let sampler = ViewSampler {
                views: &views,
                n_views,
                rows,
                cols,
                train: (0..n_tracks).collect(),
                group: 4,
                rounds: 1,
            };
            let x = sampler
                .batch(&[0, 1, 2, 3], &mut Rng::new(ci as u64), false)
                .unwrap()
                .to_dtype(DType::F64)
                .unwrap();
            // The two halves are two different views of the same tracks.
            let (a, b) = (x.narrow(0, 0, 4).unwrap(), x.narrow(0, 4, 4).unwrap());
            assert!(
                (a - b)
                    .unwrap()
                    .abs()
                    .unwrap()
                    .sum_all()
                    .unwrap()
                    .to_scalar::<f64>()
                    .unwrap()
                    > 0.0
            );
            let (model, map) =
                ConvAutoencoder::seeded_with_dtype(cfg, 7 + ci as u64, DType::F64).unwrap();
            let head = ProjectionHead::seeded(cfg.embedding_dim(), &ccfg, 8, DType::F64).unwrap();
            let mut vars = sorted_vars(&map);
            vars.extend(head.vars.iter().cloned());
            let refs: Vec<&Var> = vars.iter().collect();
            let f = || {
                let (loss, _, c) =
                    batch_loss(&model, Some(&head), &x, true, None, None, &tcfg).unwrap();
                assert!(c > 0.0);
                loss
            };
            let err = check(&refs, f, 15);
            assert!(err < 1e-5, "case {ci}: {err}");
        }
    }

    #[test]
    fn vector_views_training_is_deterministic_and_rejects_bad_input() {
        let cfg = ConvAeConfig::fused_dense(6, 3);
        let views: Vec<f32> = (0..8 * 2 * 6).map(|i| (i as f32 * 0.71).sin()).collect();
        let tcfg = TrainConfig::default().with_max_epochs(2).with_batch_size(4);
        let a = train_vector_views(&cfg, &tcfg, &views, 8, 2, |_| true).unwrap();
        let b = train_vector_views(&cfg, &tcfg, &views, 8, 2, |_| true).unwrap();
        let bytes = |m: &ConvAutoencoder| m.to_bytes("w.safetensors").unwrap().1;
        assert_eq!(bytes(&a.model), bytes(&b.model));
        assert!(
            a.provenance
                .history
                .iter()
                .all(|h| h.contrastive_loss > 0.0)
        );
        assert!(matches!(
            train_vector_views(&cfg, &tcfg, &views[1..], 8, 2, |_| true),
            Err(Error::ShapeMismatch { .. })
        ));
        assert!(matches!(
            train_vector_views(&cfg, &tcfg, &views, 16, 1, |_| true),
            Err(Error::InvalidConfig { .. })
        ));
        let mut bad = views.clone();
        bad[5] = f32::NAN;
        assert!(matches!(
            train_vector_views(&cfg, &tcfg, &bad, 8, 2, |_| true),
            Err(Error::NonFinite { .. })
        ));
    }

    #[test]
    fn total_loss_gradient_matches_finite_differences() {
        let cfg = ConvAeConfig::default()
            .with_rows(3)
            .with_cols(8)
            .with_channels(vec![4, 2]);
        let (model, map) = ConvAutoencoder::seeded_with_dtype(&cfg, 4, DType::F64).unwrap();
        let tcfg = TrainConfig::default();
        let head =
            ProjectionHead::seeded(cfg.embedding_dim(), &tcfg.contrastive, 5, DType::F64).unwrap();
        let x = crate::gradcheck::rand_tensor(&[8, 3, 8], 6);
        let mut vars = sorted_vars(&map);
        vars.extend(head.vars.iter().cloned());
        let refs: Vec<&Var> = vars.iter().collect();
        let f = || {
            batch_loss(&model, Some(&head), &x, true, None, None, &tcfg)
                .unwrap()
                .0
        };
        let err = check(&refs, f, 15);
        assert!(err < 1e-5, "{err}");
    }

    /// The distillation term's gradient, alone and inside the total loss with every parameter.
    #[test]
    fn distillation_gradient_matches_finite_differences() {
        let emb = crate::gradcheck::rand_var(&[5, 7], 8);
        let target = crate::gradcheck::rand_tensor(&[5, 5], 9);
        let err = check(
            &[&emb],
            || similarity_distill(emb.as_tensor(), &target).unwrap(),
            35,
        );
        assert!(err < 1e-5, "{err}");

        let cfg = ConvAeConfig::default()
            .with_rows(3)
            .with_cols(8)
            .with_channels(vec![4, 2]);
        let (model, map) = ConvAutoencoder::seeded_with_dtype(&cfg, 4, DType::F64).unwrap();
        let tcfg = TrainConfig::default().with_distill(2.0);
        let head =
            ProjectionHead::seeded(cfg.embedding_dim(), &tcfg.contrastive, 5, DType::F64).unwrap();
        let x = crate::gradcheck::rand_tensor(&[8, 3, 8], 6);
        let teachers: Vec<Vec<f32>> = (0..4)
            .map(|i| (0..6).map(|k| ((i * 7 + k) as f32).sin()).collect())
            .collect();
        let refs: Vec<&[f32]> = teachers.iter().map(Vec::as_slice).collect();
        let target = cosine_matrix(&refs).unwrap();
        let mut vars = sorted_vars(&map);
        vars.extend(head.vars.iter().cloned());
        let refs: Vec<&Var> = vars.iter().collect();
        let with = || {
            batch_loss(&model, Some(&head), &x, true, None, Some(&target), &tcfg)
                .unwrap()
                .0
        };
        let err = check(&refs, with, 15);
        assert!(err < 1e-5, "{err}");
        let without = batch_loss(&model, Some(&head), &x, true, None, None, &tcfg).unwrap();
        let with = with().to_scalar::<f64>().unwrap();
        assert!(
            with > without.0.to_scalar::<f64>().unwrap(),
            "the term adds to the loss"
        );
    }

    /// Training with the term brings the tiles' similarity structure toward the teacher's (two
    /// teacher clusters, told apart in the tiles only by a small energy offset in half the
    /// bands, which reconstruction alone does not make dominant), and needs a teacher for every
    /// track.
    #[test]
    fn distillation_pulls_the_similarities_toward_the_teacher() {
        let cfg = ConvAeConfig::default()
            .with_rows(6)
            .with_cols(8)
            .with_channels(vec![8, 4]);
        let mut rng = Rng::new(3);
        let tracks: Vec<TrackMatrix> = (0..12)
            .map(|k| {
                // The two clusters differ in which bands carry a little more energy.
                let data: Vec<f32> = (0..6 * 40)
                    .map(|i| {
                        let louder = (i / 40 < 3) == (k % 2 == 0);
                        rng.uniform_range(-1.0, 1.0) as f32 + if louder { 0.3 } else { 0.0 }
                    })
                    .collect();
                let teacher: Vec<f32> = if k % 2 == 0 {
                    vec![1.0, 0.1, 0.0]
                } else {
                    vec![0.0, 0.1, 1.0]
                };
                TrackMatrix::new(data, 6, 40)
                    .unwrap()
                    .with_teacher(teacher)
                    .unwrap()
            })
            .collect();
        let base = TrainConfig::default()
            .with_max_epochs(150)
            .with_batch_size(12)
            .with_validation_fraction(0.0)
            .with_patience(None)
            .with_contrastive(ContrastiveConfig::default().with_weight(0.0))
            .with_seed(2);
        let mismatch = |tcfg: &TrainConfig| {
            let m = train_tiles(&cfg, tcfg, &tracks, |_| true)
                .unwrap()
                .model
                .frozen()
                .unwrap();
            let mut embs = Vec::new();
            for t in &tracks {
                let mut tile = vec![0.0; 6 * 8];
                copy_tile(t.as_slice(), 6, 40, 0, 8, &mut tile);
                let mut e = vec![0.0; cfg.embedding_dim()];
                crate::Encoder::encode_into(&m, &tile, [6, 8], &mut e).unwrap();
                embs.push(e);
            }
            let refs: Vec<&[f32]> = embs.iter().map(Vec::as_slice).collect();
            let teachers: Vec<&[f32]> = tracks.iter().map(|t| t.teacher().unwrap()).collect();
            let s = cosine_matrix(&refs)
                .unwrap()
                .flatten_all()
                .unwrap()
                .to_vec1::<f32>()
                .unwrap();
            let t = cosine_matrix(&teachers)
                .unwrap()
                .flatten_all()
                .unwrap()
                .to_vec1::<f32>()
                .unwrap();
            s.iter()
                .zip(&t)
                .map(|(a, b)| f64::from((a - b) * (a - b)))
                .sum::<f64>()
        };
        let plain = mismatch(&base);
        let distilled = mismatch(&base.clone().with_distill(10.0));
        // (ReLU embeddings cannot reach the teachers' near-zero cross-cluster cosines: about
        // 0.65 of the plain mismatch here.)
        assert!(
            distilled < 0.8 * plain,
            "distilled {distilled}, plain {plain}"
        );

        let mut missing = tracks.clone();
        missing[3] = TrackMatrix::new(vec![0.0; 6 * 40], 6, 40).unwrap();
        let err = train_tiles(&cfg, &base.with_distill(1.0), &missing, |_| true).unwrap_err();
        assert!(
            matches!(
                err,
                Error::InvalidConfig {
                    field: "distill",
                    ..
                }
            ),
            "{err:?}"
        );
    }
}
