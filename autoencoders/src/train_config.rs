//! [`TrainConfig`], progress reports and the training record.

use crate::contrastive::ContrastiveConfig;
use crate::data::Augment;
use crate::error::{Error, Result};
use crate::optim::OptimizerConfig;
use serde::{Deserialize, Serialize};

/// `TrainConfig` sets how a model is trained.
///
/// # Examples
///
/// ```
/// use sonority_autoencoders::{OptimizerConfig, TrainConfig};
///
/// let cfg = TrainConfig::default()
///     .with_seed(7)
///     .with_time_budget_s(Some(600.0))
///     .with_optimizer(OptimizerConfig::adamw(1e-3));
/// assert_eq!(cfg.batch_size, 32);
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct TrainConfig {
    /// Seed of everything random: initial weights, validation split, shuffling, tile positions,
    /// augmentations. The same seed and thread count give the same model. Default: `0`.
    pub seed: u64,
    /// Largest number of epochs. For tiles an epoch gives every training track
    /// [`samples_per_track`](Self::samples_per_track) pairs of tiles at fresh random positions.
    /// Default: `100`.
    pub max_epochs: usize,
    /// Inputs per step: for tiles, `batch_size / 2` tracks with two tiles each (at least 2
    /// tracks); for vectors, rows. Larger batches give the contrastive term more negatives and
    /// cost proportionally more per step. Default: `32`.
    pub batch_size: usize,
    /// Tile pairs drawn from each training track per epoch (tiles only). Default: `1`.
    pub samples_per_track: usize,
    /// The optimiser. Default: AdamW, learning rate `1e-3`, weight decay `1e-4`.
    pub optimizer: OptimizerConfig,
    /// The same-track contrastive term (tiles only; ignored for vectors). Default: weight `0.1`,
    /// temperature `0.1`.
    pub contrastive: ContrastiveConfig,
    /// Augmentations of training tiles. Default: all off.
    pub augment: Augment,
    /// Fraction of tracks (or rows) held out for validation, chosen with the seed. `0` disables
    /// validation, early stopping and best-epoch restoring. Default: `0.1`.
    pub validation_fraction: f64,
    /// Epochs without a validation improvement of more than [`min_delta`](Self::min_delta)
    /// before stopping; `None` never stops early. Default: `Some(5)`.
    pub patience: Option<usize>,
    /// Smallest validation-loss decrease that counts as an improvement. Default: `0.0`.
    pub min_delta: f64,
    /// Stop after this many seconds of training (checked after every step); `None` for no limit.
    /// Default: `None`.
    pub time_budget_s: Option<f64>,
    /// With validation, give back the weights of the epoch with the lowest validation loss rather
    /// than the last ones. Default: `true`.
    pub restore_best: bool,
    /// A free-form description of the training data, recorded in the provenance (corpus name,
    /// feature settings). Default: empty.
    pub data_description: String,
    /// Weight of the distillation term (tiles only; every training track needs a teacher vector,
    /// [`TrackMatrix::with_teacher`](crate::TrackMatrix::with_teacher)): in each batch the
    /// cosine similarities between the tracks' first tiles' embeddings are pulled toward the
    /// cosine similarities between their teacher vectors (mean squared difference over the
    /// batch's pairs), so the tile encoder learns the teacher's similarity structure. `0` turns it
    /// off. Default: `0` (then not written, so the records of models trained without it keep
    /// their bytes).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub distill: f64,
}

impl Default for TrainConfig {
    fn default() -> Self {
        Self {
            seed: 0,
            max_epochs: 100,
            batch_size: 32,
            samples_per_track: 1,
            optimizer: OptimizerConfig::default(),
            contrastive: ContrastiveConfig::default(),
            augment: Augment::default(),
            validation_fraction: 0.1,
            patience: Some(5),
            min_delta: 0.0,
            time_budget_s: None,
            restore_best: true,
            data_description: String::new(),
            distill: 0.0,
        }
    }
}

/// Whether a weight is exactly zero (a term that is off is left out of the record).
#[allow(clippy::trivially_copy_pass_by_ref)] // serde's `skip_serializing_if` passes a reference
fn is_zero(x: &f64) -> bool {
    *x == 0.0
}

macro_rules! setter {
    ($name:ident, $field:ident, $ty:ty) => {
        #[doc = concat!("Sets [`", stringify!($field), "`](Self::", stringify!($field), ").")]
        #[must_use]
        pub fn $name(mut self, $field: $ty) -> Self {
            self.$field = $field;
            self
        }
    };
}

impl TrainConfig {
    setter!(with_seed, seed, u64);
    setter!(with_max_epochs, max_epochs, usize);
    setter!(with_batch_size, batch_size, usize);
    setter!(with_samples_per_track, samples_per_track, usize);
    setter!(with_optimizer, optimizer, OptimizerConfig);
    setter!(with_contrastive, contrastive, ContrastiveConfig);
    setter!(with_augment, augment, Augment);
    setter!(with_validation_fraction, validation_fraction, f64);
    setter!(with_patience, patience, Option<usize>);
    setter!(with_min_delta, min_delta, f64);
    setter!(with_time_budget_s, time_budget_s, Option<f64>);
    setter!(with_restore_best, restore_best, bool);
    setter!(with_data_description, data_description, String);
    setter!(with_distill, distill, f64);

    /// Checks the values.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidConfig`] naming the first bad field.
    pub fn validate(&self) -> Result<()> {
        let bad = |field, reason: &str| {
            Err(Error::InvalidConfig {
                field,
                reason: reason.into(),
            })
        };
        if self.batch_size < 2 {
            return bad("batch_size", "must be at least 2");
        }
        if self.samples_per_track == 0 {
            return bad("samples_per_track", "must be at least 1");
        }
        if !(0.0..1.0).contains(&self.validation_fraction) {
            return bad("validation_fraction", "must be in [0, 1)");
        }
        if !self.min_delta.is_finite() {
            return bad("min_delta", "must be finite");
        }
        if self
            .time_budget_s
            .is_some_and(|t| !(t.is_finite() && t >= 0.0))
        {
            return bad("time_budget_s", "must be finite and non-negative");
        }
        if !(self.distill.is_finite() && self.distill >= 0.0) {
            return bad("distill", "must be finite and non-negative");
        }
        let c = &self.contrastive;
        if !(c.weight.is_finite() && c.weight >= 0.0) {
            return bad("contrastive.weight", "must be finite and non-negative");
        }
        if !(c.temperature.is_finite() && c.temperature > 0.0) {
            return bad("contrastive.temperature", "must be finite and positive");
        }
        if c.hidden == 0 || c.projection_dim == 0 {
            return bad("contrastive", "head widths must be positive");
        }
        let a = &self.augment;
        if !(a.gain.is_finite() && a.gain >= 0.0 && a.noise.is_finite() && a.noise >= 0.0) {
            return bad("augment", "gain and noise must be finite and non-negative");
        }
        self.optimizer.validate()
    }
}

/// `ProgressKind` says what a [`Progress`] report follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ProgressKind {
    /// One optimisation step.
    Step,
    /// The end of an epoch (validation loss filled in when there is a validation set).
    EpochEnd,
}

/// `Progress` is what the training callback receives after every step and every epoch.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Progress {
    /// What this report follows.
    pub kind: ProgressKind,
    /// The epoch, from 0.
    pub epoch: usize,
    /// Steps taken so far in all epochs.
    pub step: usize,
    /// Steps taken so far in this epoch.
    pub epoch_step: usize,
    /// Steps in one epoch.
    pub steps_per_epoch: usize,
    /// Total loss: of this step ([`ProgressKind::Step`]) or the epoch's mean.
    pub loss: f64,
    /// Reconstruction part of [`loss`](Self::loss).
    pub recon_loss: f64,
    /// Contrastive (InfoNCE) part, before weighting; 0 when off.
    pub contrastive_loss: f64,
    /// Validation loss (epoch ends with a validation set only).
    pub val_loss: Option<f64>,
    /// Seconds since training started.
    pub elapsed_s: f64,
}

/// `StopReason` says why training ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub enum StopReason {
    /// [`TrainConfig::max_epochs`] reached.
    MaxEpochs,
    /// No validation improvement for [`TrainConfig::patience`] epochs.
    EarlyStopping,
    /// [`TrainConfig::time_budget_s`] used up.
    TimeBudget,
    /// The progress callback returned `false`.
    Callback,
}

/// `EpochStats` are one epoch's mean losses.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct EpochStats {
    /// The epoch, from 0.
    pub epoch: usize,
    /// Mean total training loss.
    pub train_loss: f64,
    /// Mean reconstruction loss.
    pub recon_loss: f64,
    /// Mean contrastive loss (unweighted).
    pub contrastive_loss: f64,
    /// Validation loss, if there is a validation set.
    pub val_loss: Option<f64>,
}

/// `Provenance` records how a model was trained; it is saved with the model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Provenance {
    /// [`TrainConfig::data_description`].
    pub data: String,
    /// Training tracks (or rows).
    pub n_train: usize,
    /// Validation tracks (or rows).
    pub n_val: usize,
    /// The seed.
    pub seed: u64,
    /// Epochs run (a partial last epoch counts).
    pub epochs: usize,
    /// Optimisation steps taken.
    pub steps: usize,
    /// The epoch whose weights were kept (the last one without validation).
    pub best_epoch: usize,
    /// Why training stopped.
    pub stop_reason: StopReason,
    /// Mean losses per epoch.
    pub history: Vec<EpochStats>,
    /// Wall-clock training time, seconds.
    pub elapsed_s: f64,
    /// Threads candle and rayon used.
    pub threads: usize,
    /// The training configuration.
    pub config: TrainConfig,
    /// The crate version that trained the model.
    pub crate_version: String,
}

impl Provenance {
    /// The last epoch's statistics.
    #[must_use]
    pub fn final_stats(&self) -> Option<&EpochStats> {
        self.history.last()
    }
}
