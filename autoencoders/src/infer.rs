//! The inference path of [`Geometry::Time1d`] encoders: the same arithmetic as the tensor path
//! ([`ConvAutoencoder::encode_internal`](crate::ConvAutoencoder) and its embedding), with one
//! candle operation per layer instead of six to nine.
//!
//! Per layer: the 'same' patches are cut straight from the previous layer's channels-last
//! values into one `[tiles × steps, kernel × C_in]` buffer (the zero padding written, not
//! gathered), multiplied by the `[kernel × C_in, C_out]` weight in one matrix product (candle's
//! `gemm`, the same kernel the tensor path calls), and the bias, the activation and the max
//! pooling are applied together in one pass over the product. The pooling is taken before the
//! bias and the activation: both are non-decreasing, so `act(max(y) + b) = max(act(y + b))`
//! exactly. The embedding (mean and standard deviation over time, or the flattened map) is
//! computed in `f64` from the last layer's values.
//!
//! It is used for `f32` models whose parameters are not trainable variables (loaded or frozen
//! models), where the weights cannot change under it; a model being trained keeps the tensor
//! path. Tests check it against the tensor path for every activation, embedding, odd lengths
//! and kernel sizes.

use std::cell::RefCell;

use candle_core::{DType, Device, Storage, Tensor};

use crate::config::{Activation, ConvAeConfig, Embedding, Geometry, STD_EPS};
use crate::error::Result;
use crate::layers::Conv;
use crate::ops::same_pad;

/// Activations between levels, kept per thread so that encoding batch after batch (and file
/// after file, in an indexer's worker) reuses the same memory instead of faulting fresh pages
/// in: at most one batch's first-level activations, twice.
#[derive(Debug, Default)]
struct Scratch {
    x: Vec<f32>,
    next: Vec<f32>,
}

thread_local! {
    static SCRATCH: RefCell<Scratch> = RefCell::new(Scratch::default());
}

/// How a level's max pooling treats a last window shorter than the pool.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PoolEdge {
    /// Kept: `⌈steps / pool⌉` outputs (the tile encoders' "same" pooling).
    Keep,
    /// Dropped: `⌊steps / pool⌋` outputs (Keras' default "valid" pooling).
    Drop,
}

/// One encoder level: a 'same' convolution over time, then max pooling.
#[derive(Debug, Clone)]
pub(crate) struct Level {
    /// `[kernel × C_in, C_out]`, the rows in im2col order (tap-major, then channel).
    pub(crate) weight: Tensor,
    pub(crate) bias: Vec<f32>,
    pub(crate) cin: usize,
    pub(crate) cout: usize,
    pub(crate) kernel: usize,
    /// Max pooling over this many steps (1: none).
    pub(crate) pool: usize,
    pub(crate) edge: PoolEdge,
}

impl Level {
    /// Time steps after this level's pooling, for `steps` in.
    fn steps_out(&self, steps: usize) -> usize {
        match self.edge {
            PoolEdge::Keep => steps.div_ceil(self.pool),
            PoolEdge::Drop => steps / self.pool,
        }
    }
}

/// A frozen [`Geometry::Time1d`] encoder, ready for inference.
#[derive(Debug, Clone)]
pub(crate) struct Time1dPlan {
    levels: Vec<Level>,
    activation: Activation,
    embedding: Embedding,
    /// Input channels (the rows of a caller's matrix).
    rows: usize,
    /// Input time steps (its columns).
    cols: usize,
}

impl Time1dPlan {
    /// The plan for `encoder`, or `None` where the tensor path must be used: another geometry,
    /// `f64` weights, or trainable weights (they would change under a copy).
    pub(crate) fn new(cfg: &ConvAeConfig, encoder: &[Conv]) -> Result<Option<Self>> {
        if cfg.geometry != Geometry::Time1d || encoder.is_empty() {
            return Ok(None);
        }
        let mut levels = Vec::with_capacity(encoder.len());
        for conv in encoder {
            let [w, b] = conv.tensors();
            if w.dtype() != DType::F32
                || b.dtype() != DType::F32
                || w.is_variable()
                || b.is_variable()
            {
                return Ok(None);
            }
            let (k, cin, cout) = w.dims3()?;
            if k != cfg.kernel {
                return Ok(None);
            }
            levels.push(Level {
                weight: w.reshape((k * cin, cout))?.contiguous()?,
                bias: b.to_vec1::<f32>()?,
                cin,
                cout,
                kernel: k,
                pool: cfg.pool.max(1),
                edge: PoolEdge::Keep,
            });
        }
        Ok(Some(Self {
            levels,
            activation: cfg.activation,
            embedding: cfg.embedding,
            rows: cfg.rows,
            cols: cfg.cols,
        }))
    }

    /// Embeds `n` matrices of `[rows, cols]` (row-major, one after the other) into `out`
    /// (`n × embedding_dim`). The caller has checked the lengths and that the input is finite.
    pub(crate) fn embed(&self, inputs: &[f32], n: usize, out: &mut [f32]) -> Result<()> {
        self.embed_laid_out(inputs, n, out, true)
    }

    /// As [`embed`](Self::embed), for inputs already channels-last: `n` matrices of
    /// `[cols, rows]` (time steps of `rows` channels each).
    pub(crate) fn embed_channels_last(
        &self,
        inputs: &[f32],
        n: usize,
        out: &mut [f32],
    ) -> Result<()> {
        self.embed_laid_out(inputs, n, out, false)
    }

    fn embed_laid_out(
        &self,
        inputs: &[f32],
        n: usize,
        out: &mut [f32],
        transposed: bool,
    ) -> Result<()> {
        SCRATCH.with(|scratch| {
            let mut scratch = scratch.borrow_mut();
            let Scratch { x, next } = &mut *scratch;
            let (rows, cols) = (self.rows, self.cols);
            // Channels-last: x[tile][step][channel].
            x.clear();
            if transposed {
                x.resize(n * cols * rows, 0.0);
                for (tile, xt) in inputs
                    .chunks_exact(rows * cols)
                    .zip(x.chunks_exact_mut(cols * rows))
                {
                    transpose(tile, rows, cols, xt);
                }
            } else {
                x.extend_from_slice(&inputs[..n * cols * rows]);
            }
            self.embed_with(n, out, x, next)
        })
    }

    /// A plan over explicit levels (a pretrained network), for `rows` channels of `cols` steps.
    pub(crate) fn from_levels(
        levels: Vec<Level>,
        activation: Activation,
        embedding: Embedding,
        rows: usize,
        cols: usize,
    ) -> Self {
        Self {
            levels,
            activation,
            embedding,
            rows,
            cols,
        }
    }

    /// The levels, in order.
    pub(crate) fn levels(&self) -> &[Level] {
        &self.levels
    }

    /// Time steps after the last level.
    pub(crate) fn out_steps(&self) -> usize {
        self.levels
            .iter()
            .fold(self.cols, |steps, level| level.steps_out(steps))
    }

    fn embed_with(
        &self,
        n: usize,
        out: &mut [f32],
        x: &mut Vec<f32>,
        next: &mut Vec<f32>,
    ) -> Result<()> {
        let rows = self.rows;
        let mut steps = self.cols;
        for level in &self.levels {
            let patches = Self::patches(x, n, steps, level);
            let k = level.kernel * level.cin;
            let y =
                Tensor::from_vec(patches, (n * steps, k), &Device::Cpu)?.matmul(&level.weight)?;
            {
                let (storage, layout) = y.storage_and_layout();
                let (Storage::Cpu(cpu), Some((start, end))) =
                    (&*storage, layout.contiguous_offsets())
                else {
                    return Err(candle_core::Error::Msg(
                        "inference path: the product is not a contiguous CPU tensor".into(),
                    )
                    .into());
                };
                let y = &cpu.as_slice::<f32>()?[start..end];
                self.bias_act_pool(y, n, steps, level, next);
            }
            std::mem::swap(x, next);
            steps = level.steps_out(steps);
        }
        let c = self.levels.last().map_or(rows, |l| l.cout);
        self.embedding_of(x, n, steps, c, out);
        Ok(())
    }

    /// im2col of `x` (`[n, steps, cin]`): row `(tile, t)` holds the `kernel` input steps
    /// `t - pad .. t - pad + kernel` of its tile, zero outside it.
    fn patches(x: &[f32], n: usize, steps: usize, level: &Level) -> Vec<f32> {
        let (k, cin) = (level.kernel, level.cin);
        let pad = same_pad(k);
        let mut out = Vec::with_capacity(n * steps * k * cin);
        for tile in x.chunks_exact(steps * cin) {
            for t in 0..steps {
                for tap in 0..k {
                    match (t + tap).checked_sub(pad).filter(|&s| s < steps) {
                        Some(s) => out.extend_from_slice(&tile[s * cin..(s + 1) * cin]),
                        None => out.resize(out.len() + cin, 0.0),
                    }
                }
            }
        }
        out
    }

    /// `pool(act(y + bias))` over time, `[n, steps, cout]` → `[n, out_steps, cout]`; a last
    /// window shorter than the pool holds only the steps that exist ([`PoolEdge::Keep`]) or is
    /// dropped ([`PoolEdge::Drop`]).
    fn bias_act_pool(&self, y: &[f32], n: usize, steps: usize, level: &Level, out: &mut Vec<f32>) {
        let (c, p) = (level.cout, level.pool);
        let out_steps = level.steps_out(steps);
        out.clear();
        out.resize(n * out_steps * c, 0.0);
        for (yt, ot) in y
            .chunks_exact(steps * c)
            .zip(out.chunks_exact_mut(out_steps * c))
        {
            for (window, o) in yt.chunks(p * c).zip(ot.chunks_exact_mut(c)) {
                let mut rows = window.chunks_exact(c);
                if let Some(first) = rows.next() {
                    o.copy_from_slice(first);
                }
                for row in rows {
                    for (m, &v) in o.iter_mut().zip(row) {
                        *m = m.max(v);
                    }
                }
                match self.activation {
                    Activation::Relu => {
                        for (m, &b) in o.iter_mut().zip(&level.bias) {
                            *m = (*m + b).max(0.0);
                        }
                    }
                    Activation::Elu { alpha } => {
                        let alpha = alpha as f32;
                        for (m, &b) in o.iter_mut().zip(&level.bias) {
                            let v = *m + b;
                            *m = if v.is_sign_positive() {
                                v
                            } else {
                                (v.exp() - 1.0) * alpha
                            };
                        }
                    }
                }
            }
        }
    }

    /// The embedding of the last level's `[n, steps, c]` values.
    fn embedding_of(&self, z: &[f32], n: usize, steps: usize, c: usize, out: &mut [f32]) {
        match self.embedding {
            Embedding::Flatten => out[..n * steps * c].copy_from_slice(z),
            Embedding::MeanStdOverTime => {
                for (zt, o) in z.chunks_exact(steps * c).zip(out.chunks_exact_mut(2 * c)) {
                    let (mean, std) = o.split_at_mut(c);
                    let mut sum = vec![0.0_f64; c];
                    for row in zt.chunks_exact(c) {
                        for (s, &v) in sum.iter_mut().zip(row) {
                            *s += f64::from(v);
                        }
                    }
                    let inv = 1.0 / steps as f64;
                    sum.iter_mut().for_each(|s| *s *= inv);
                    let mut var = vec![0.0_f64; c];
                    for row in zt.chunks_exact(c) {
                        for ((q, &v), &m) in var.iter_mut().zip(row).zip(&sum) {
                            let d = f64::from(v) - m;
                            *q += d * d;
                        }
                    }
                    for (((mo, so), &m), &q) in
                        mean.iter_mut().zip(std.iter_mut()).zip(&sum).zip(&var)
                    {
                        *mo = m as f32;
                        *so = (q * inv + STD_EPS).sqrt() as f32;
                    }
                }
            }
        }
    }
}

/// `dst[t · rows + c] = src[c · cols + t]`, in 16 × 16 blocks so that both sides stay in cache
/// lines already loaded (a straight loop writes one value per line across the whole tile).
fn transpose(src: &[f32], rows: usize, cols: usize, dst: &mut [f32]) {
    const B: usize = 16;
    for c0 in (0..rows).step_by(B) {
        let c1 = (c0 + B).min(rows);
        for t0 in (0..cols).step_by(B) {
            let t1 = (t0 + B).min(cols);
            for c in c0..c1 {
                let row = &src[c * cols + t0..c * cols + t1];
                for (t, &v) in (t0..t1).zip(row) {
                    dst[t * rows + c] = v;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ConvAutoencoder;
    use crate::traits::Encoder;

    /// `cfg`'s seeded model with its weights copied into plain (non-trainable) tensors.
    fn frozen(cfg: &ConvAeConfig, seed: u64) -> ConvAutoencoder {
        ConvAutoencoder::seeded(cfg, seed)
            .unwrap()
            .frozen()
            .unwrap()
    }

    fn inputs(n: usize, len: usize, seed: u64) -> Vec<f32> {
        let mut rng = sonority_testkit::Rng::new(seed);
        (0..n * len).map(|_| rng.normal() * 1.5).collect()
    }

    /// Both paths on the same model and inputs: the largest difference relative to the
    /// largest value.
    fn both_paths(cfg: &ConvAeConfig, n: usize) -> (Vec<f32>, Vec<f32>) {
        let model = frozen(cfg, 11);
        let plan = Time1dPlan::new(cfg, model.encoder_levels()).unwrap();
        assert!(
            plan.is_some(),
            "a frozen 1-D f32 model has an inference path"
        );
        let x = inputs(n, cfg.rows * cfg.cols, 5);
        let dim = cfg.embedding_dim();
        let (mut fast, mut slow) = (vec![0.0; n * dim], vec![0.0; n * dim]);
        model
            .embed_slices_with(&x, n, &mut fast, plan.as_ref())
            .unwrap();
        model.embed_slices_with(&x, n, &mut slow, None).unwrap();
        (fast, slow)
    }

    fn assert_close(cfg: &ConvAeConfig, n: usize) {
        let (fast, slow) = both_paths(cfg, n);
        let scale = slow.iter().fold(0.0_f32, |m, v| m.max(v.abs()));
        assert!(scale > 1e-3, "{cfg:?}: the output is not trivially zero");
        for (i, (a, b)) in fast.iter().zip(&slow).enumerate() {
            assert!(
                (a - b).abs() <= 2e-5 * scale,
                "{cfg:?}: value {i}: inference path {a}, tensor path {b}"
            );
        }
    }

    #[test]
    fn matches_the_tensor_path_for_the_default_shape() {
        // The shipped geometry (channels 128, 128, 64; the last level narrower than its input
        // goes through the tensor path's col2im branch), 17 tiles: more than one product row
        // block and an odd count.
        assert_close(&ConvAeConfig::default(), 17);
    }

    #[test]
    fn matches_the_tensor_path_for_odd_lengths_kernels_and_pools() {
        let base = ConvAeConfig::default().with_rows(6);
        for (cols, kernel, pool, channels) in [
            (13, 3, 2, vec![5, 7]),
            (9, 4, 3, vec![8, 3, 2]),
            (7, 5, 1, vec![4]),
            (1, 3, 2, vec![3, 3]),
            (16, 1, 2, vec![6, 6]),
        ] {
            let cfg = base
                .clone()
                .with_cols(cols)
                .with_kernel(kernel)
                .with_pool(pool)
                .with_channels(channels);
            assert_close(&cfg, 3);
            assert_close(&cfg.clone().with_embedding(Embedding::Flatten), 2);
            assert_close(
                &cfg.with_activation(Activation::Elu { alpha: 0.7 })
                    .with_embedding(Embedding::Flatten),
                2,
            );
        }
    }

    #[test]
    fn blocked_transpose_is_a_transpose() {
        for (rows, cols) in [(1, 1), (3, 40), (17, 16), (128, 128), (33, 1)] {
            let src: Vec<f32> = (0..rows * cols).map(|i| i as f32).collect();
            let mut dst = vec![-1.0; rows * cols];
            transpose(&src, rows, cols, &mut dst);
            for c in 0..rows {
                for t in 0..cols {
                    assert_eq!(
                        dst[t * rows + c],
                        src[c * cols + t],
                        "{rows}x{cols} {c} {t}"
                    );
                }
            }
        }
    }

    #[test]
    fn matches_the_tensor_path_for_the_fused_vector_model() {
        assert_close(&ConvAeConfig::fused_conv1d(40, 8), 5);
    }

    #[test]
    fn trainable_or_f64_models_keep_the_tensor_path() {
        let cfg = ConvAeConfig::default()
            .with_rows(4)
            .with_cols(8)
            .with_channels(vec![3]);
        let trainable = ConvAutoencoder::seeded(&cfg, 1).unwrap();
        assert!(
            Time1dPlan::new(&cfg, trainable.encoder_levels())
                .unwrap()
                .is_none()
        );
        let (f64_model, _) = ConvAutoencoder::seeded_with_dtype(&cfg, 1, DType::F64).unwrap();
        assert!(
            Time1dPlan::new(&cfg, f64_model.encoder_levels())
                .unwrap()
                .is_none()
        );
        let image = ConvAeConfig::small_2d();
        let model = frozen(&image, 1);
        assert!(
            Time1dPlan::new(&image, model.encoder_levels())
                .unwrap()
                .is_none()
        );
        // A frozen model encodes the same through `Encoder` either way.
        let model = frozen(&cfg, 2);
        let x = inputs(1, 32, 9);
        let mut a = vec![0.0; cfg.embedding_dim()];
        model.encode_into(&x, [4, 8], &mut a).unwrap();
        let mut b = a.clone();
        model.embed_slices_with(&x, 1, &mut b, None).unwrap();
        for (p, q) in a.iter().zip(&b) {
            assert!((p - q).abs() <= 1e-5 * (1.0 + q.abs()), "{p} vs {q}");
        }
    }
}
