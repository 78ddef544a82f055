//! The same-track contrastive term: a projection head (used only in training) and the InfoNCE
//! (NT-Xent) loss.
//!
//! A batch holds two tiles of each of `B` tracks: rows `0..B` are the first views and rows
//! `B..2B` the second, so row `i` and row `(i + B) mod 2B` are a positive pair and the other
//! `2B - 2` rows are negatives. The loss only depends on the encoder (through the tile
//! embedding) and the head, never on the decoder.
//!
//! With [`Positives::SameGroup`] the tracks carry group labels (an album, say: see
//! [`TrackMatrix::with_group`](crate::TrackMatrix::with_group)); the second view of a track is
//! a tile of a random track of its group, and rows of the same group other than the positive
//! are left out of the negatives (a supervised contrastive loss with one positive per anchor).

use crate::layers::Dense;
use crate::params::SeededBackend;
use candle_core::{D, DType, Device, Tensor, Var};
use candle_nn::{VarBuilder, VarMap};
use serde::{Deserialize, Serialize};

type CResult<T> = candle_core::Result<T>;

/// `ContrastiveConfig` sets the contrastive term added to the reconstruction loss in training.
///
/// # Examples
///
/// ```
/// use sonority_autoencoders::ContrastiveConfig;
///
/// let plain = ContrastiveConfig::default().with_weight(0.0); // a plain autoencoder
/// assert!(!plain.is_enabled());
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ContrastiveConfig {
    /// Weight of the InfoNCE term against the reconstruction loss; `0` trains a plain
    /// autoencoder. Default: `0.1`.
    pub weight: f64,
    /// Softmax temperature of the cosine similarities; lower values punish hard negatives more.
    /// Default: `0.1`.
    pub temperature: f64,
    /// Hidden width of the projection head (Dense, ReLU, Dense). Default: `128`.
    pub hidden: usize,
    /// Output width of the projection head. Default: `64`.
    pub projection_dim: usize,
    /// What a positive pair is. Default: [`Positives::SameTrack`] (not written when default,
    /// so models saved before the field existed keep their bytes).
    #[serde(default, skip_serializing_if = "Positives::is_same_track")]
    pub positives: Positives,
}

/// `Positives` says which two tiles the contrastive term pulls together.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[non_exhaustive]
pub enum Positives {
    /// Two tiles of the same track; every other track's tiles are negatives.
    #[default]
    SameTrack,
    /// A tile of a track and a tile of a random track of the same group (possibly itself);
    /// the tiles of other groups are negatives, the group's other tiles in the batch are
    /// neither. A track without a group is a group of its own.
    SameGroup,
}

impl Positives {
    fn is_same_track(&self) -> bool {
        *self == Self::SameTrack
    }
}

impl Default for ContrastiveConfig {
    fn default() -> Self {
        Self {
            weight: 0.1,
            temperature: 0.1,
            hidden: 128,
            projection_dim: 64,
            positives: Positives::SameTrack,
        }
    }
}

impl ContrastiveConfig {
    /// Sets [`weight`](Self::weight).
    #[must_use]
    pub fn with_weight(mut self, weight: f64) -> Self {
        self.weight = weight;
        self
    }

    /// Sets [`temperature`](Self::temperature).
    #[must_use]
    pub fn with_temperature(mut self, temperature: f64) -> Self {
        self.temperature = temperature;
        self
    }

    /// Sets [`hidden`](Self::hidden).
    #[must_use]
    pub fn with_hidden(mut self, hidden: usize) -> Self {
        self.hidden = hidden;
        self
    }

    /// Sets [`projection_dim`](Self::projection_dim).
    #[must_use]
    pub fn with_projection_dim(mut self, projection_dim: usize) -> Self {
        self.projection_dim = projection_dim;
        self
    }

    /// Sets [`positives`](Self::positives).
    #[must_use]
    pub fn with_positives(mut self, positives: Positives) -> Self {
        self.positives = positives;
        self
    }

    /// Whether the term is on (`weight > 0`).
    #[must_use]
    pub fn is_enabled(&self) -> bool {
        self.weight > 0.0
    }
}

/// The projection head: `Dense(d, hidden) → ReLU → Dense(hidden, p)`, then L2 normalisation.
pub(crate) struct ProjectionHead {
    l1: Dense,
    l2: Dense,
    pub(crate) vars: Vec<Var>,
}

impl ProjectionHead {
    pub(crate) fn seeded(
        din: usize,
        cfg: &ContrastiveConfig,
        seed: u64,
        dtype: DType,
    ) -> CResult<Self> {
        let map = VarMap::new();
        let vb = VarBuilder::from_backend(
            Box::new(SeededBackend::new(map.clone(), seed)),
            dtype,
            Device::Cpu,
        );
        let l1 = Dense::new(vb.pp("proj.l1"), din, cfg.hidden)?;
        let l2 = Dense::new(vb.pp("proj.l2"), cfg.hidden, cfg.projection_dim)?;
        let vars = sorted_vars(&map);
        Ok(Self { l1, l2, vars })
    }

    /// `[N, d]` embeddings → `[N, p]` unit vectors.
    pub(crate) fn forward(&self, e: &Tensor) -> CResult<Tensor> {
        let p = self.l2.forward(&self.l1.forward(e)?.relu()?)?;
        let norm = (p.sqr()?.sum_keepdim(D::Minus1)? + 1e-12)?.sqrt()?;
        p.broadcast_div(&norm)
    }
}

/// The variables of a `VarMap`, sorted by name (a fixed order keeps training deterministic).
pub(crate) fn sorted_vars(map: &VarMap) -> Vec<Var> {
    let Ok(data) = map.data().lock() else {
        return Vec::new();
    };
    let mut named: Vec<(&String, &Var)> = data.iter().collect();
    named.sort_by(|a, b| a.0.cmp(b.0));
    named.into_iter().map(|(_, v)| v.clone()).collect()
}

/// InfoNCE over `2B` unit vectors arranged as described in the module docs; the mean over all
/// `2B` anchors of `-log softmax(sim / t)[positive]`, with each anchor's self-similarity
/// excluded. With `labels` (one per row), rows sharing the anchor's label other than its
/// positive are excluded from its softmax too.
pub(crate) fn info_nce(z: &Tensor, temperature: f64, labels: Option<&[u64]>) -> CResult<Tensor> {
    let (n, _) = z.dims2()?;
    if n < 4 || n % 2 != 0 {
        candle_core::bail!("info_nce needs an even number of at least 4 rows, got {n}")
    }
    if labels.is_some_and(|l| l.len() != n) {
        candle_core::bail!("info_nce needs one label per row ({n})")
    }
    let b = n / 2;
    let dtype = z.dtype();
    let sim = (z.matmul(&z.t()?)? / temperature)?;
    // Mask the diagonal (and same-label non-positives) out with a large negative number and
    // pick the positives with a 0/1 matrix.
    let mut mask = vec![0f64; n * n];
    let mut pos = vec![0f64; n * n];
    for i in 0..n {
        let p = (i + b) % n;
        if let Some(l) = labels {
            for j in 0..n {
                if j != p && l[j] == l[i] {
                    mask[i * n + j] = -1e4;
                }
            }
        }
        mask[i * n + i] = -1e4;
        pos[i * n + p] = 1.0;
    }
    let mask = Tensor::from_vec(mask, (n, n), z.device())?.to_dtype(dtype)?;
    let pos = Tensor::from_vec(pos, (n, n), z.device())?.to_dtype(dtype)?;
    let logits = (sim + mask)?;
    let max = logits.max_keepdim(1)?.detach();
    let lse = (logits.broadcast_sub(&max)?.exp()?.sum_keepdim(1)?.log()? + &max)?;
    let positive = (&logits * pos)?.sum_keepdim(1)?;
    (lse - positive)?.mean_all()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gradcheck::{check, rand_var};

    /// The rows of a seeded `[n, d]` matrix scaled to unit length.
    fn unit_rows(n: usize, d: usize, seed: u64) -> Tensor {
        let z = rand_var(&[n, d], seed);
        let t = z.as_tensor();
        let norm = t.sqr().unwrap().sum_keepdim(1).unwrap().sqrt().unwrap();
        t.broadcast_div(&norm).unwrap()
    }

    /// InfoNCE computed row by row, with same-label rows other than the positive left out.
    fn direct_info_nce(zn: &Tensor, t: f64, labels: Option<&[u64]>) -> f64 {
        let v = zn.to_vec2::<f64>().unwrap();
        let n = v.len();
        let dot = |a: &[f64], b: &[f64]| a.iter().zip(b).map(|(x, y)| x * y).sum::<f64>();
        let mut want = 0.0;
        for i in 0..n {
            let p = (i + n / 2) % n;
            let denom: f64 = (0..n)
                .filter(|&j| j != i && (j == p || labels.is_none_or(|l| l[j] != l[i])))
                .map(|j| (dot(&v[i], &v[j]) / t).exp())
                .sum();
            want += -((dot(&v[i], &v[p]) / t).exp() / denom).ln();
        }
        want / n as f64
    }

    #[test]
    fn info_nce_matches_a_direct_computation() {
        let zn = unit_rows(6, 3, 1);
        let got = info_nce(&zn, 0.5, None)
            .unwrap()
            .to_scalar::<f64>()
            .unwrap();
        let want = direct_info_nce(&zn, 0.5, None);
        assert!((got - want).abs() < 1e-10, "{got} vs {want}");
    }

    #[test]
    fn labelled_info_nce_leaves_same_label_rows_out_of_the_softmax() {
        let zn = unit_rows(8, 3, 4);
        // Rows 0 and 2 share a label with their positives 4 and 6 (and with each other).
        let labels = [7, 8, 7, 9, 7, 8, 7, 9];
        let got = info_nce(&zn, 0.5, Some(&labels))
            .unwrap()
            .to_scalar::<f64>()
            .unwrap();
        let want = direct_info_nce(&zn, 0.5, Some(&labels));
        assert!((got - want).abs() < 1e-10, "{got} vs {want}");
        // Without labels the same rows give another loss: the mask did something.
        let plain = info_nce(&zn, 0.5, None)
            .unwrap()
            .to_scalar::<f64>()
            .unwrap();
        assert!((plain - got).abs() > 1e-3, "{plain} vs {got}");
    }

    #[test]
    fn head_and_info_nce_gradients_match_finite_differences() {
        let cfg = ContrastiveConfig::default()
            .with_hidden(5)
            .with_projection_dim(3);
        let head = ProjectionHead::seeded(4, &cfg, 3, DType::F64).unwrap();
        let e = rand_var(&[8, 4], 2);
        let labels = [0, 1, 0, 2, 0, 1, 0, 2];
        let f = || info_nce(&head.forward(e.as_tensor()).unwrap(), 0.1, Some(&labels)).unwrap();
        let mut vars: Vec<&Var> = head.vars.iter().collect();
        vars.push(&e);
        let err = check(&vars, f, 30);
        assert!(err < 1e-5, "{err}");
    }
}
