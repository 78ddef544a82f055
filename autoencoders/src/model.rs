//! [`ConvAutoencoder`]: the convolutional autoencoder every preset builds.

use crate::config::{Activation, ConvAeConfig, Embedding, Geometry, OutputLoss};
use crate::error::{Error, Result};
use crate::infer::Time1dPlan;
use crate::layers::Conv;
use crate::ops::{max_pool_t, upsample_t};
use crate::params::SeededBackend;
use crate::train_config::Provenance;
use crate::traits::{Autoencoder, Encoder};
use candle_core::{D, DType, Device, Tensor, Var};
use candle_nn::{VarBuilder, VarMap};
use std::collections::BTreeMap;
use std::sync::OnceLock;

use crate::config::STD_EPS;

/// Inputs per forward pass when encoding many matrices (bounds memory).
const ENCODE_CHUNK: usize = 64;

/// `ConvAutoencoder` is a convolutional autoencoder described by a [`ConvAeConfig`].
///
/// It implements [`Encoder`] (one `[rows, cols]` matrix in, a latent vector out) and
/// [`Autoencoder`] (tensors). Parameters are named `encoder.conv{i}.{weight,bias}`,
/// `decoder.conv{i}.{weight,bias}` and `output.{weight,bias}`.
///
/// # Examples
///
/// ```
/// use sonority_autoencoders::{ConvAeConfig, ConvAutoencoder, Encoder};
///
/// let model = ConvAutoencoder::seeded(&ConvAeConfig::published_1d(), 7)?;
/// assert_eq!(model.n_params(), 17_401);
/// assert_eq!(model.output_dim(), 8);
/// # Ok::<(), sonority_autoencoders::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct ConvAutoencoder {
    cfg: ConvAeConfig,
    encoder: Vec<Conv>,
    decoder: Vec<Conv>,
    output: Conv,
    /// Every parameter by name, sorted by name.
    params: Vec<(String, Tensor)>,
    dtype: DType,
    device: Device,
    provenance: Option<Provenance>,
    metadata: BTreeMap<String, serde_json::Value>,
    /// The inference path of a frozen 1-D encoder ([`Time1dPlan`]), built on first use; `None`
    /// inside where the tensor path is used.
    plan: OnceLock<Option<Time1dPlan>>,
}

impl ConvAutoencoder {
    /// Builds the model taking its parameters from `vb` (loaded weights, or a `VarMap` for
    /// training).
    ///
    /// # Errors
    ///
    /// [`Error::InvalidConfig`] for a bad configuration, candle errors for missing or
    /// mis-shaped parameters.
    pub fn new(cfg: &ConvAeConfig, vb: VarBuilder) -> Result<Self> {
        cfg.validate()?;
        let (kh, kw) = cfg.kernel_hw();
        let in_c = cfg.input_hwc()[2];
        let mut params = Vec::new();
        let mut record = |name: String, conv: &Conv| {
            let [w, b] = conv.tensors();
            params.push((format!("{name}.weight"), w.clone()));
            params.push((format!("{name}.bias"), b.clone()));
        };
        let mut encoder = Vec::new();
        let mut c = in_c;
        for (i, &out) in cfg.channels.iter().enumerate() {
            let name = format!("encoder.conv{i}");
            let conv = Conv::new(vb.pp(&name), (kh, kw), c, out)?;
            record(name, &conv);
            encoder.push(conv);
            c = out;
        }
        let mut decoder = Vec::new();
        let strided = cfg.geometry == Geometry::Strided2d;
        let (ph, pw) = cfg.pool_hw();
        for (i, &out) in cfg.channels.iter().rev().enumerate() {
            let name = format!("decoder.conv{i}");
            let conv = if strided {
                // 1 × 1 to pool² × out channels, rearranged into a pool × larger map.
                Conv::new(vb.pp(&name), (1, 1), c, out * ph * pw)?
            } else {
                Conv::new(vb.pp(&name), (kh, kw), c, out)?
            };
            record(name, &conv);
            decoder.push(conv);
            c = out;
        }
        let output = Conv::new(vb.pp("output"), (kh, kw), c, in_c)?;
        record("output".into(), &output);
        params.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(Self {
            cfg: cfg.clone(),
            encoder,
            decoder,
            output,
            params,
            dtype: vb.dtype(),
            device: vb.device().clone(),
            provenance: None,
            metadata: BTreeMap::new(),
            plan: OnceLock::new(),
        })
    }

    /// A freshly initialised `f32` model (PyTorch's default initialisation) whose weights depend
    /// only on `cfg` and `seed`.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidConfig`] for a bad configuration.
    pub fn seeded(cfg: &ConvAeConfig, seed: u64) -> Result<Self> {
        Ok(Self::seeded_with_dtype(cfg, seed, DType::F32)?.0)
    }

    /// As [`seeded`](Self::seeded) with a chosen `dtype` (`F32` or `F64`), also returning the
    /// `VarMap` of trainable variables backing the model.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidConfig`] for a bad configuration.
    pub fn seeded_with_dtype(
        cfg: &ConvAeConfig,
        seed: u64,
        dtype: DType,
    ) -> Result<(Self, VarMap)> {
        cfg.validate()?;
        let map = VarMap::new();
        let backend = SeededBackend::new(map.clone(), seed);
        let vb = VarBuilder::from_backend(Box::new(backend), dtype, Device::Cpu);
        Ok((Self::new(cfg, vb)?, map))
    }

    /// A copy of this model whose parameters are plain tensors, no longer trainable variables
    /// (a loaded model already is one). Encoding a 1-D `f32` model then takes the inference
    /// path (one matrix product per level: 2.7x faster on the default shape, one thread), which a model
    /// being trained cannot use because its weights change under it.
    ///
    /// # Errors
    ///
    /// Candle errors (not expected).
    ///
    /// # Examples
    ///
    /// ```
    /// use sonority_autoencoders::{ConvAeConfig, ConvAutoencoder, Encoder};
    ///
    /// let cfg = ConvAeConfig::default().with_rows(8).with_cols(16).with_channels(vec![4]);
    /// let trained = ConvAutoencoder::seeded(&cfg, 1)?;
    /// let frozen = trained.frozen()?;
    /// let x = vec![0.5_f32; 8 * 16];
    /// let (a, b) = (trained.encode(&x, [8, 16])?, frozen.encode(&x, [8, 16])?);
    /// assert!(a.iter().zip(&b).all(|(p, q)| (p - q).abs() < 1e-5));
    /// # Ok::<(), sonority_autoencoders::Error>(())
    /// ```
    pub fn frozen(&self) -> Result<Self> {
        let tensors: std::collections::HashMap<String, Tensor> = self
            .params
            .iter()
            .map(|(name, t)| Ok((name.clone(), t.detach().copy()?)))
            .collect::<candle_core::Result<_>>()?;
        let vb = VarBuilder::from_tensors(tensors, self.dtype, &self.device);
        let mut m = Self::new(&self.cfg, vb)?;
        m.provenance.clone_from(&self.provenance);
        m.metadata.clone_from(&self.metadata);
        Ok(m)
    }

    /// A copy of this model whose parameters are fresh trainable variables, with their `VarMap`
    /// (for fine-tuning a loaded model).
    ///
    /// # Errors
    ///
    /// Candle errors.
    pub fn to_trainable(&self) -> Result<(Self, VarMap)> {
        let map = VarMap::new();
        {
            let Ok(mut data) = map.data().lock() else {
                return Err(candle_core::Error::Msg("parameter map lock poisoned".into()).into());
            };
            for (name, t) in &self.params {
                data.insert(name.clone(), Var::from_tensor(&t.copy()?)?);
            }
        }
        let vb = VarBuilder::from_varmap(&map, self.dtype, &self.device);
        let mut m = Self::new(&self.cfg, vb)?;
        m.provenance.clone_from(&self.provenance);
        m.metadata.clone_from(&self.metadata);
        Ok((m, map))
    }

    /// How the model was trained, if it was trained by this crate.
    #[must_use]
    pub fn provenance(&self) -> Option<&Provenance> {
        self.provenance.as_ref()
    }

    /// Replaces the training record.
    pub fn set_provenance(&mut self, provenance: Option<Provenance>) {
        self.provenance = provenance;
    }

    /// Free-form metadata saved with the model (e.g. fusion weights chosen by cross-validation
    /// and why).
    #[must_use]
    pub fn metadata(&self) -> &BTreeMap<String, serde_json::Value> {
        &self.metadata
    }

    /// Mutable access to [`metadata`](Self::metadata).
    pub fn metadata_mut(&mut self) -> &mut BTreeMap<String, serde_json::Value> {
        &mut self.metadata
    }

    /// The configuration.
    #[must_use]
    pub fn config(&self) -> &ConvAeConfig {
        &self.cfg
    }

    /// The parameters by name, sorted by name.
    #[must_use]
    pub fn named_params(&self) -> &[(String, Tensor)] {
        &self.params
    }

    /// The number of scalar parameters.
    #[must_use]
    pub fn n_params(&self) -> usize {
        self.encoder
            .iter()
            .chain(&self.decoder)
            .chain([&self.output])
            .map(Conv::n_params)
            .sum()
    }

    /// The parameter tensors of the decoder half (decoder convolutions and output layer).
    #[must_use]
    pub fn decoder_params(&self) -> Vec<Tensor> {
        let dec = |n: &str| n.starts_with("decoder.") || n.starts_with("output.");
        self.params
            .iter()
            .filter(|(n, _)| dec(n))
            .map(|(_, t)| t.clone())
            .collect()
    }

    /// The element type of the parameters.
    #[must_use]
    pub fn dtype(&self) -> DType {
        self.dtype
    }

    /// A hidden convolution and its activation.
    fn conv_act(&self, conv: &Conv, x: &Tensor) -> candle_core::Result<Tensor> {
        match self.cfg.activation {
            Activation::Relu => conv.forward_relu(x),
            Activation::Elu { alpha } => conv.forward(x)?.elu(alpha),
        }
    }

    /// A hidden convolution and its activation, evaluated at every `ph`-th row and `pw`-th
    /// column only.
    fn strided_conv_act(
        &self,
        conv: &Conv,
        x: &Tensor,
        ph: usize,
        pw: usize,
    ) -> candle_core::Result<Tensor> {
        match self.cfg.activation {
            Activation::Relu => conv.forward_strided(x, ph, pw, true),
            Activation::Elu { alpha } => conv.forward_strided(x, ph, pw, false)?.elu(alpha),
        }
    }

    /// `[B, rows, cols]` → channels-last `[B, H, W, C]`.
    pub(crate) fn to_internal(&self, x: &Tensor) -> Result<Tensor> {
        let (b, r, c) = x.dims3()?;
        if [r, c] != [self.cfg.rows, self.cfg.cols] {
            return Err(Error::ShapeMismatch {
                what: "input batch".into(),
                expected: vec![b, self.cfg.rows, self.cfg.cols],
                actual: vec![b, r, c],
            });
        }
        let x = x.to_dtype(self.dtype)?;
        Ok(match self.cfg.geometry {
            Geometry::Time1d => x.transpose(1, 2)?.contiguous()?.reshape((b, 1, c, r))?,
            Geometry::Image2d | Geometry::Strided2d => x.reshape((b, r, c, 1))?,
        })
    }

    /// Channels-last `[B, H, W, C]` → `[B, rows, cols]`.
    fn internal_to_caller(&self, y: &Tensor) -> Result<Tensor> {
        let (b, h, w, c) = y.dims4()?;
        Ok(match self.cfg.geometry {
            Geometry::Time1d => y.reshape((b, w, c))?.transpose(1, 2)?.contiguous()?,
            Geometry::Image2d | Geometry::Strided2d => y.reshape((b, h, w))?,
        })
    }

    /// The encoder on a channels-last batch.
    pub(crate) fn encode_internal(&self, x: &Tensor) -> Result<Tensor> {
        let (ph, pw) = self.cfg.pool_hw();
        let mut h = x.clone();
        for conv in &self.encoder {
            h = if self.cfg.geometry == Geometry::Strided2d {
                self.strided_conv_act(conv, &h, ph, pw)?
            } else {
                max_pool_t(&self.conv_act(conv, &h)?, ph, pw)?
            };
        }
        Ok(h)
    }

    /// The decoder up to the output layer's pre-activation, channels-last.
    pub(crate) fn decode_logits_internal(&self, z: &Tensor) -> Result<Tensor> {
        let (ph, pw) = self.cfg.pool_hw();
        let mut h = z.clone();
        for conv in &self.decoder {
            h = if self.cfg.geometry == Geometry::Strided2d {
                depth_to_space(&self.conv_act(conv, &h)?, ph, pw)?
            } else {
                upsample_t(&self.conv_act(conv, &h)?, ph, pw)?
            };
        }
        let [ih, iw, _] = self.cfg.input_hwc();
        let (_, hh, hw, _) = h.dims4()?;
        if hh != ih {
            h = h.narrow(1, 0, ih)?;
        }
        if hw != iw {
            h = h.narrow(2, 0, iw)?;
        }
        Ok(self.output.forward(&h)?)
    }

    /// The reconstruction loss of a channels-last batch given its latent.
    pub(crate) fn recon_loss_internal(&self, x: &Tensor, z: &Tensor) -> Result<Tensor> {
        let logits = self.decode_logits_internal(z)?;
        Ok(match self.cfg.output {
            OutputLoss::Mse => (logits - x)?.sqr()?.mean_all()?,
            OutputLoss::SigmoidBce => {
                // max(l, 0) - l y + log(1 + exp(-|l|)), with the target clipped to [0, 1]: a
                // value outside (music louder or quieter than the training set's range) would
                // make the loss unbounded below.
                let y = x.clamp(0.0, 1.0)?;
                let soft = (logits.abs()?.neg()?.exp()? + 1.0)?.log()?;
                ((logits.relu()? - (&logits * &y)?)? + soft)?.mean_all()?
            }
        })
    }

    /// The `[B, D]` embedding of a channels-last latent.
    pub(crate) fn embed_internal(&self, z: &Tensor) -> Result<Tensor> {
        let (b, h, w, c) = z.dims4()?;
        Ok(match self.cfg.embedding {
            Embedding::Flatten => z.reshape((b, h * w * c))?,
            Embedding::MeanStdOverTime => {
                let mean = z.mean_keepdim(2)?;
                let var = z.broadcast_sub(&mean)?.sqr()?.mean_keepdim(2)?;
                let std = (var + STD_EPS)?.sqrt()?;
                Tensor::cat(
                    &[mean.reshape((b, h * c))?, std.reshape((b, h * c))?],
                    D::Minus1,
                )?
            }
        })
    }

    /// The encoder's convolutions, first level first.
    #[cfg(test)]
    pub(crate) fn encoder_levels(&self) -> &[Conv] {
        &self.encoder
    }

    /// The inference path, where this model has one (see [`Time1dPlan::new`]).
    fn plan(&self) -> Option<&Time1dPlan> {
        self.plan
            .get_or_init(|| {
                if self.device.is_cpu() {
                    Time1dPlan::new(&self.cfg, &self.encoder).ok().flatten()
                } else {
                    None
                }
            })
            .as_ref()
    }

    /// Embeds rows of `inputs` (`n` matrices of the model's input shape) into `out`, through
    /// the inference path where there is one.
    fn embed_slices(&self, inputs: &[f32], n: usize, out: &mut [f32]) -> Result<()> {
        self.embed_slices_with(inputs, n, out, self.plan())
    }

    /// As [`embed_slices`](Self::embed_slices), with the tensor path when `plan` is `None`.
    pub(crate) fn embed_slices_with(
        &self,
        inputs: &[f32],
        n: usize,
        out: &mut [f32],
        plan: Option<&Time1dPlan>,
    ) -> Result<()> {
        let [r, c] = [self.cfg.rows, self.cfg.cols];
        let dim = self.cfg.embedding_dim();
        for (start, o) in (0..n)
            .step_by(ENCODE_CHUNK)
            .zip(out.chunks_mut(ENCODE_CHUNK * dim))
        {
            let m = (n - start).min(ENCODE_CHUNK);
            let input = &inputs[start * r * c..(start + m) * r * c];
            if let Some(plan) = plan {
                plan.embed(input, m, o)?;
            } else {
                let x = Tensor::from_slice(input, (m, r, c), &self.device)?;
                let e = self.embed_internal(&self.encode_internal(&self.to_internal(&x)?)?)?;
                let v = e.to_dtype(DType::F32)?.flatten_all()?.to_vec1::<f32>()?;
                o.copy_from_slice(&v);
            }
            if o.iter().any(|x| !x.is_finite()) {
                return Err(Error::NonFinite {
                    what: "latent vector",
                });
            }
        }
        Ok(())
    }

    fn check_io(&self, input: &[f32], n: usize, shape: [usize; 2], out: &[f32]) -> Result<()> {
        let expected = [self.cfg.rows, self.cfg.cols];
        if shape != expected {
            return Err(Error::ShapeMismatch {
                what: "input matrix".into(),
                expected: expected.to_vec(),
                actual: shape.to_vec(),
            });
        }
        let (len, dim) = (shape[0] * shape[1], self.cfg.embedding_dim());
        if input.len() != n * len {
            return Err(Error::ShapeMismatch {
                what: "input length".into(),
                expected: vec![n * len],
                actual: vec![input.len()],
            });
        }
        if out.len() != n * dim {
            return Err(Error::ShapeMismatch {
                what: "output buffer".into(),
                expected: vec![n * dim],
                actual: vec![out.len()],
            });
        }
        if input.iter().any(|x| !x.is_finite()) {
            return Err(Error::NonFinite { what: "input" });
        }
        Ok(())
    }
}

/// `[B, H, W, ph·pw·C]` → `[B, H·ph, W·pw, C]`: channel block `(i, j)` of a pixel becomes
/// the pixel at offset `(i, j)` of its `ph × pw` cell.
fn depth_to_space(x: &Tensor, ph: usize, pw: usize) -> candle_core::Result<Tensor> {
    let (b, h, w, k) = x.dims4()?;
    let c = k / (ph * pw);
    x.reshape((b, h, w, ph, pw, c))?
        .permute((0, 1, 3, 2, 4, 5))?
        .contiguous()?
        .reshape((b, h * ph, w * pw, c))
}

impl Encoder for ConvAutoencoder {
    fn encode_into(&self, input: &[f32], shape: [usize; 2], out: &mut [f32]) -> Result<()> {
        self.check_io(input, 1, shape, out)?;
        self.embed_slices(input, 1, out)
    }

    fn output_dim(&self) -> usize {
        self.cfg.embedding_dim()
    }

    fn encode_batch_into(
        &self,
        input: &[f32],
        n: usize,
        shape: [usize; 2],
        out: &mut [f32],
    ) -> Result<()> {
        self.check_io(input, n, shape, out)?;
        self.embed_slices(input, n, out)
    }
}

impl Autoencoder for ConvAutoencoder {
    fn input_shape(&self) -> [usize; 2] {
        [self.cfg.rows, self.cfg.cols]
    }

    fn latent_dim(&self) -> usize {
        self.cfg.embedding_dim()
    }

    fn encode_tensor(&self, x: &Tensor) -> Result<Tensor> {
        self.encode_internal(&self.to_internal(x)?)
    }

    fn decode_tensor(&self, z: &Tensor) -> Result<Tensor> {
        let logits = self.decode_logits_internal(z)?;
        let y = match self.cfg.output {
            OutputLoss::Mse => logits,
            OutputLoss::SigmoidBce => candle_nn::ops::sigmoid(&logits)?,
        };
        self.internal_to_caller(&y)
    }

    fn embed_tensor(&self, z: &Tensor) -> Result<Tensor> {
        self.embed_internal(z)
    }

    fn loss(&self, x: &Tensor) -> Result<Tensor> {
        let xi = self.to_internal(x)?;
        let z = self.encode_internal(&xi)?;
        self.recon_loss_internal(&xi, &z)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gradcheck::{check, rand_tensor, rand_var};

    #[test]
    fn published_presets_have_the_published_parameter_counts() {
        let m2 = ConvAutoencoder::seeded(&ConvAeConfig::published_2d(), 0).unwrap();
        assert_eq!(m2.n_params(), 51_673);
        assert_eq!(m2.output_dim(), 64);
        assert_eq!(m2.config().latent_hwc(), [4, 4, 4]);
        let m1 = ConvAutoencoder::seeded(&ConvAeConfig::published_1d(), 0).unwrap();
        assert_eq!(m1.n_params(), 17_401);
        assert_eq!(m1.config().latent_hwc(), [1, 2, 4]);
        assert_eq!(m1.output_dim(), 8);
        let counted: usize = m1.named_params().iter().map(|(_, t)| t.elem_count()).sum();
        assert_eq!(counted, 17_401);
    }

    #[test]
    fn default_and_small_2d_shapes() {
        let m = ConvAutoencoder::seeded(&ConvAeConfig::default(), 0).unwrap();
        assert_eq!(m.output_dim(), 128);
        assert_eq!(m.n_params(), 258_816);
        let x = Tensor::zeros((2, 128, 128), DType::F32, &Device::Cpu).unwrap();
        let z = m.encode_tensor(&x).unwrap();
        assert_eq!(z.dims4().unwrap(), (2, 1, 16, 64));
        assert_eq!(m.reconstruct(&x).unwrap().dims3().unwrap(), (2, 128, 128));
        let s = ConvAutoencoder::seeded(&ConvAeConfig::small_2d(), 0).unwrap();
        assert_eq!(s.output_dim(), 2 * 8 * 8);
        assert_eq!(s.n_params(), 9_025);
        let st = ConvAutoencoder::seeded(&ConvAeConfig::strided_2d(), 0).unwrap();
        assert_eq!(st.output_dim(), 2 * 8 * 8);
        assert_eq!(st.n_params(), 9_145);
        let fc = ConvAutoencoder::seeded(&ConvAeConfig::fused_conv1d(305, 64), 0).unwrap();
        assert_eq!((fc.n_params(), fc.output_dim()), (18_310, 65));
        let x = Tensor::zeros((2, 128, 128), DType::F32, &Device::Cpu).unwrap();
        assert_eq!(st.encode_tensor(&x).unwrap().dims4().unwrap(), (2, 8, 8, 8));
        assert_eq!(st.reconstruct(&x).unwrap().dims3().unwrap(), (2, 128, 128));
        for m in [&m, &s, &st] {
            let shapes: Vec<(String, Vec<usize>)> = m
                .named_params()
                .iter()
                .map(|(n, t)| (n.clone(), t.dims().to_vec()))
                .collect();
            assert_eq!(shapes, crate::persist::param_shapes(m.config()));
        }
    }

    /// Whole-model gradient checks in f64: every parameter of every layer type (convolutions
    /// 1-D and 2-D, pooling with ceil sizes, upsampling, crop, both losses, both embeddings,
    /// both activations).
    #[test]
    fn model_gradients_match_finite_differences() {
        let cases = [
            ConvAeConfig::default()
                .with_rows(4)
                .with_cols(11)
                .with_channels(vec![5, 3]),
            ConvAeConfig::published_1d()
                .with_cols(13)
                .with_channels(vec![4, 3, 2]),
            ConvAeConfig::small_2d()
                .with_rows(6)
                .with_cols(7)
                .with_channels(vec![3, 2]),
            ConvAeConfig::published_2d()
                .with_rows(8)
                .with_cols(8)
                .with_channels(vec![3, 2]),
            ConvAeConfig::strided_2d()
                .with_rows(7)
                .with_cols(6)
                .with_channels(vec![3, 2]),
            ConvAeConfig::strided_2d()
                .with_rows(8)
                .with_cols(5)
                .with_channels(vec![2])
                .with_activation(Activation::Elu { alpha: 1.0 }),
            ConvAeConfig::default()
                .with_rows(3)
                .with_cols(8)
                .with_channels(vec![4])
                .with_kernel(5)
                .with_activation(Activation::Elu { alpha: 1.0 }),
        ];
        for (ci, cfg) in cases.iter().enumerate() {
            let (m, map) = ConvAutoencoder::seeded_with_dtype(cfg, ci as u64, DType::F64).unwrap();
            let mut x = rand_tensor(&[3, cfg.rows, cfg.cols], 20 + ci as u64);
            if cfg.output == OutputLoss::SigmoidBce {
                x = ((x + 1.0).unwrap() * 0.5).unwrap();
            }
            let r = rand_tensor(&[3, cfg.embedding_dim()], 40);
            let mut vars: Vec<Var> = map.all_vars();
            vars.sort_by_key(|v| v.elem_count());
            let f = || {
                let xi = m.to_internal(&x).unwrap();
                let z = m.encode_internal(&xi).unwrap();
                let emb = (m.embed_internal(&z).unwrap() * &r)
                    .unwrap()
                    .sum_all()
                    .unwrap();
                (m.recon_loss_internal(&xi, &z).unwrap() + (emb * 0.1).unwrap()).unwrap()
            };
            let refs: Vec<&Var> = vars.iter().collect();
            let err = check(&refs, f, 25);
            assert!(err < 1e-5, "case {ci}: worst relative error {err}");
        }
    }

    #[test]
    fn bce_clips_targets_outside_the_unit_interval() {
        let cfg = ConvAeConfig::published_2d()
            .with_rows(8)
            .with_cols(8)
            .with_channels(vec![2]);
        let m = ConvAutoencoder::seeded(&cfg, 1).unwrap();
        let x = rand_tensor(&[2, 8, 8], 3).to_dtype(DType::F32).unwrap();
        let wide = (&x * 3.0).unwrap();
        let clipped = wide.clamp(0.0, 1.0).unwrap();
        let (a, b) = (m.loss(&wide).unwrap(), m.loss(&clipped).unwrap());
        let (a, b) = (a.to_scalar::<f32>().unwrap(), b.to_scalar::<f32>().unwrap());
        // The encoder sees the unclipped input, so the losses differ, but both are binary
        // cross-entropies of targets in [0, 1]: finite and not negative (an unclipped target
        // of 3 would reward ever larger logits without bound).
        assert!(a.is_finite() && a >= 0.0 && b >= 0.0, "{a} {b}");
    }

    #[test]
    fn input_gradient_matches_finite_differences() {
        let cfg = ConvAeConfig::default()
            .with_rows(3)
            .with_cols(9)
            .with_channels(vec![4, 2]);
        let (m, _) = ConvAutoencoder::seeded_with_dtype(&cfg, 3, DType::F64).unwrap();
        let x = rand_var(&[2, 3, 9], 5);
        let f = || m.loss(x.as_tensor()).unwrap();
        assert!(check(&[&x], f, 54) < 1e-5);
    }

    #[test]
    fn encoder_rejects_bad_shapes_and_non_finite_input() {
        let m = ConvAutoencoder::seeded(&ConvAeConfig::published_1d(), 0).unwrap();
        assert!(matches!(
            m.encode(&[0.0; 66], [1, 66]),
            Err(Error::ShapeMismatch { .. })
        ));
        assert!(matches!(
            m.encode(&[0.0; 66], [1, 67]),
            Err(Error::ShapeMismatch { .. })
        ));
        let mut v = vec![0.0f32; 67];
        v[3] = f32::NAN;
        assert!(matches!(
            m.encode(&v, [1, 67]),
            Err(Error::NonFinite { .. })
        ));
        let batch: Vec<f32> = (0..3 * 67).map(|i| (i as f32 * 0.1).sin()).collect();
        let all = m.encode_batch(&batch, 3, [1, 67]).unwrap();
        let one = m.encode(&batch[67..134], [1, 67]).unwrap();
        for (a, b) in all[8..16].iter().zip(&one) {
            assert!((a - b).abs() < 1e-5);
        }
    }
}
