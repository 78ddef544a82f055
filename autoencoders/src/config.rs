//! Model configuration: [`ConvAeConfig`] and its presets.

use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};

/// Added to the variance before the square root in [`Embedding::MeanStdOverTime`], so the
/// gradient stays finite for constant inputs.
pub(crate) const STD_EPS: f64 = 1e-5;

/// `Geometry` says how a `[rows, cols]` input is convolved.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub enum Geometry {
    /// 1-D convolution along the columns (time, or the positions of a vector); the rows are the
    /// input channels (the mel bands of a tile, or 1 for a fused vector). Pooling and upsampling
    /// act on the columns only.
    Time1d,
    /// 2-D convolution over rows × columns with one input channel; pooling and upsampling act on
    /// both axes.
    Image2d,
    /// A CPU-shaped 2-D model with one input channel: each encoder level is a `kernel × kernel`
    /// 'same' convolution evaluated only at every `pool`-th row and column (a strided
    /// convolution, no max-pool), so no convolution runs at full resolution; each decoder level
    /// is a 1 × 1 convolution to `pool² ×` its channels rearranged into a `pool ×` larger map
    /// (a transposed convolution with kernel and stride `pool`); the output layer is a
    /// `kernel × kernel` 'same' convolution to one channel.
    Strided2d,
}

/// `Activation` is the non-linearity after every hidden convolution.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub enum Activation {
    /// `max(x, 0)`.
    Relu,
    /// `x` for `x > 0`, `alpha (e^x - 1)` otherwise.
    Elu {
        /// The negative saturation value.
        alpha: f64,
    },
}

/// `OutputLoss` pairs the output layer with its reconstruction loss.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub enum OutputLoss {
    /// Linear output, mean squared error. For standardised inputs.
    Mse,
    /// Sigmoid output, binary cross-entropy (computed from the logits, so it is stable). For
    /// inputs scaled to `[0, 1]`, as in the published design.
    SigmoidBce,
}

/// `Embedding` says how the encoder's output feature map becomes the latent vector that
/// [`Encoder`](crate::Encoder) returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub enum Embedding {
    /// The whole feature map, flattened (the published design: 4×4×4 = 64 values for a tile,
    /// 2×4 = 8 for a fused vector).
    Flatten,
    /// The mean and the standard deviation over time (the columns) of every channel (and, for
    /// [`Geometry::Image2d`], every remaining row): `2 × C` values for [`Geometry::Time1d`]. This
    /// does not depend on where in the tile a sound happens.
    MeanStdOverTime,
}

/// `ConvAeConfig` describes a convolutional autoencoder.
///
/// The encoder has one level per entry of [`channels`](Self::channels): a 'same' convolution,
/// the activation and a max-pool (output size rounded up, like Keras' `padding="same"`). The
/// decoder mirrors it: for the channel counts in reverse, a 'same' convolution, the activation
/// and a nearest-neighbour upsampling; then a crop back to the input size (when pooling rounded
/// up) and a final convolution to the input channels with the output of [`output`](Self::output).
///
/// # Examples
///
/// ```
/// use sonority_autoencoders::ConvAeConfig;
///
/// let cfg = ConvAeConfig::default().with_channels(vec![64, 32]).with_cols(64);
/// assert_eq!(cfg.embedding_dim(), 2 * 32);
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ConvAeConfig {
    /// How the input is convolved. Default: [`Geometry::Time1d`].
    pub geometry: Geometry,
    /// Rows of one input (mel bands of a tile; 1 for a fused vector). Default: `128`.
    pub rows: usize,
    /// Columns of one input (frames of a tile; the fused vector's length). Raising it makes each
    /// training step and each encoded tile cost proportionally more. Default: `128`.
    pub cols: usize,
    /// Output channels of each encoder level; the decoder uses them in reverse. More or wider
    /// levels cost time roughly in proportion to the channel products. Default: `[128, 128, 64]`.
    pub channels: Vec<usize>,
    /// Convolution kernel length (`kernel × kernel` for [`Geometry::Image2d`]). Default: `3`.
    pub kernel: usize,
    /// Pooling and upsampling factor per level (1 disables pooling). Default: `2`.
    pub pool: usize,
    /// Hidden activation. Default: [`Activation::Relu`].
    pub activation: Activation,
    /// Output layer and reconstruction loss. Default: [`OutputLoss::Mse`].
    pub output: OutputLoss,
    /// How the encoder output becomes the latent vector. Default: [`Embedding::MeanStdOverTime`].
    pub embedding: Embedding,
}

impl Default for ConvAeConfig {
    /// The candidate default for mel tiles: a 1-D convolution over time with the 128 mel bands as
    /// input channels, levels of 128, 128 and 64 channels, kernel 3, max-pool 2, on 128-frame
    /// tiles standardised per band; the tile vector is the mean and std over time (128 values).
    fn default() -> Self {
        Self {
            geometry: Geometry::Time1d,
            rows: 128,
            cols: 128,
            channels: vec![128, 128, 64],
            kernel: 3,
            pool: 2,
            activation: Activation::Relu,
            output: OutputLoss::Mse,
            embedding: Embedding::MeanStdOverTime,
        }
    }
}

impl ConvAeConfig {
    /// The published 2-D design: 256×256×1 tiles, six levels of 3×3 'same' convolutions with
    /// 64, 32, 16, 8, 8 and 4 filters, ReLU and max-pool 2 (latent 4×4×4 = 64), a decoder with
    /// 4, 8, 8, 16, 32 and 64 filters and nearest upsampling, a final sigmoid convolution and
    /// binary cross-entropy: 51,673 parameters. Inputs must be scaled to `[0, 1]`.
    #[must_use]
    pub fn published_2d() -> Self {
        Self {
            geometry: Geometry::Image2d,
            rows: 256,
            cols: 256,
            channels: vec![64, 32, 16, 8, 8, 4],
            kernel: 3,
            pool: 2,
            activation: Activation::Relu,
            output: OutputLoss::SigmoidBce,
            embedding: Embedding::Flatten,
        }
    }

    /// The published 1-D design over a fused vector of 67 values (64 latent + 3 descriptors):
    /// six levels of kernel-3 'same' convolutions with 64, 32, 16, 8, 8 and 4 filters, ReLU and
    /// 'same' max-pool 2 (lengths 67→34→17→9→5→3→2, latent 2×4 = 8), a decoder with 4, 8, 8, 16,
    /// 32 and 64 filters and upsampling (2→128), a crop back to 67 (the first 67 positions are
    /// kept) and a final linear convolution with mean squared error: 17,401 parameters.
    #[must_use]
    pub fn published_1d() -> Self {
        Self {
            geometry: Geometry::Time1d,
            rows: 1,
            cols: 67,
            channels: vec![64, 32, 16, 8, 8, 4],
            kernel: 3,
            pool: 2,
            activation: Activation::Relu,
            output: OutputLoss::Mse,
            embedding: Embedding::Flatten,
        }
    }

    /// A small 2-D candidate in the published style for 128×128 standardised log-mel tiles:
    /// 3×3 kernels, max-pool 2, 16, 16, 8 and 8 channels, MSE, and the mean and std over time of
    /// the encoder output (8 rows × 8 channels × 2 = 128 values).
    #[must_use]
    pub fn small_2d() -> Self {
        Self {
            geometry: Geometry::Image2d,
            rows: 128,
            cols: 128,
            channels: vec![16, 16, 8, 8],
            kernel: 3,
            pool: 2,
            activation: Activation::Relu,
            output: OutputLoss::Mse,
            embedding: Embedding::MeanStdOverTime,
        }
    }

    /// The CPU-shaped 2-D candidate for 128×128 standardised log-mel tiles
    /// ([`Geometry::Strided2d`]): stride-2 3×3 convolutions with 16, 16, 16 and 8 channels
    /// (128 → 64 → 32 → 16 → 8), stride-2 transposed convolutions back, MSE, and the mean and
    /// std over time of the 8 × 8 × 8 encoder output (128 values), 9,145 parameters. Its
    /// encoder (what indexing runs) costs 3.6 M multiply-adds per tile, against 10 M for the
    /// 1-D default and 13 M for [`small_2d`](Self::small_2d), which convolves at full
    /// resolution before each max-pool and upsamples before each decoder convolution.
    ///
    /// # Examples
    /// ```
    /// use sonority_autoencoders::ConvAeConfig;
    /// assert_eq!(ConvAeConfig::strided_2d().embedding_dim(), 128);
    /// ```
    #[must_use]
    pub fn strided_2d() -> Self {
        Self {
            geometry: Geometry::Strided2d,
            channels: vec![16, 16, 16, 8],
            ..Self::small_2d()
        }
    }

    /// The learned second stage over a fused vector of `dim` values, in the published Conv1D
    /// style: six levels of kernel-3 'same' convolutions with 64, 32, 16, 8, 8 and `c` filters,
    /// ReLU and 'same' max-pool 2, a mirrored decoder, a linear output and mean squared error;
    /// the latent is the flattened encoder output (`⌈…⌈dim / 2⌉… / 2⌉ × c` values, six halvings),
    /// with `c` the smallest channel count that gives at least `latent` values. For
    /// `dim = 305` (the five blocks of the default analysis) and `latent = 64`: length 5,
    /// `c = 13`, a 65-value latent.
    ///
    /// # Examples
    /// ```
    /// use sonority_autoencoders::ConvAeConfig;
    /// assert_eq!(ConvAeConfig::fused_conv1d(305, 64).embedding_dim(), 65);
    /// ```
    #[must_use]
    pub fn fused_conv1d(dim: usize, latent: usize) -> Self {
        let levels = 6;
        let mut len = dim.max(1);
        for _ in 0..levels {
            len = len.div_ceil(2);
        }
        let c = latent.div_ceil(len).max(1);
        Self {
            cols: dim,
            channels: vec![64, 32, 16, 8, 8, c],
            ..Self::published_1d()
        }
    }

    /// The smallest second stage that does the job: one dense layer from the fused vector of
    /// `dim` values to `latent` ELU units (the final vector), one dense hidden layer of `latent`
    /// units and a linear dense output back to `dim` values, with mean squared error. It is a
    /// [`Geometry::Time1d`] model over a `[dim, 1]` input with kernel 1 and no pooling, so
    /// every layer is the finite-difference-checked convolution; parameters:
    /// `2·dim·latent + latent² + 2·latent + dim` (43,569 for `dim = 305, latent = 64`).
    ///
    /// # Examples
    /// ```
    /// use sonority_autoencoders::{ConvAeConfig, ConvAutoencoder};
    /// let m = ConvAutoencoder::seeded(&ConvAeConfig::fused_dense(305, 64), 0)?;
    /// assert_eq!((m.n_params(), m.config().embedding_dim()), (43_569, 64));
    /// # Ok::<(), sonority_autoencoders::Error>(())
    /// ```
    #[must_use]
    pub fn fused_dense(dim: usize, latent: usize) -> Self {
        Self {
            geometry: Geometry::Time1d,
            rows: dim,
            cols: 1,
            channels: vec![latent],
            kernel: 1,
            pool: 1,
            activation: Activation::Elu { alpha: 1.0 },
            output: OutputLoss::Mse,
            embedding: Embedding::Flatten,
        }
    }

    /// The `[rows, cols]` shape of one input of this model when it takes a vector of `dim`
    /// values: `[1, dim]` for a 1-D convolution along the vector, `[dim, 1]` for the dense
    /// preset. `None` when the model does not take `dim` values.
    #[must_use]
    pub fn vector_shape(&self, dim: usize) -> Option<[usize; 2]> {
        match (self.geometry, self.rows, self.cols) {
            (Geometry::Time1d, 1, c) if c == dim => Some([1, dim]),
            (Geometry::Time1d, r, 1) if r == dim => Some([dim, 1]),
            _ => None,
        }
    }

    /// Sets [`geometry`](Self::geometry).
    #[must_use]
    pub fn with_geometry(mut self, geometry: Geometry) -> Self {
        self.geometry = geometry;
        self
    }

    /// Sets [`rows`](Self::rows).
    #[must_use]
    pub fn with_rows(mut self, rows: usize) -> Self {
        self.rows = rows;
        self
    }

    /// Sets [`cols`](Self::cols) (the tile length in frames for mel tiles).
    #[must_use]
    pub fn with_cols(mut self, cols: usize) -> Self {
        self.cols = cols;
        self
    }

    /// Sets [`channels`](Self::channels) (widths and depth).
    #[must_use]
    pub fn with_channels(mut self, channels: Vec<usize>) -> Self {
        self.channels = channels;
        self
    }

    /// Sets [`kernel`](Self::kernel).
    #[must_use]
    pub fn with_kernel(mut self, kernel: usize) -> Self {
        self.kernel = kernel;
        self
    }

    /// Sets [`pool`](Self::pool).
    #[must_use]
    pub fn with_pool(mut self, pool: usize) -> Self {
        self.pool = pool;
        self
    }

    /// Sets [`activation`](Self::activation).
    #[must_use]
    pub fn with_activation(mut self, activation: Activation) -> Self {
        self.activation = activation;
        self
    }

    /// Sets [`output`](Self::output).
    #[must_use]
    pub fn with_output(mut self, output: OutputLoss) -> Self {
        self.output = output;
        self
    }

    /// Sets [`embedding`](Self::embedding).
    #[must_use]
    pub fn with_embedding(mut self, embedding: Embedding) -> Self {
        self.embedding = embedding;
        self
    }

    /// Checks that a model can be built from this configuration.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidConfig`] naming the first bad field.
    pub fn validate(&self) -> Result<()> {
        let bad = |field, reason: &str| {
            Err(Error::InvalidConfig {
                field,
                reason: reason.to_string(),
            })
        };
        if self.rows == 0 || self.rows > 1 << 16 {
            return bad("rows", "must be in 1..=65536");
        }
        if self.cols == 0 || self.cols > 1 << 20 {
            return bad("cols", "must be in 1..=1048576");
        }
        if self.channels.is_empty() || self.channels.len() > 16 {
            return bad("channels", "must have 1 to 16 levels");
        }
        if self.channels.iter().any(|&c| c == 0 || c > 4096) {
            return bad("channels", "each must be in 1..=4096");
        }
        if self.kernel == 0 || self.kernel > 31 {
            return bad("kernel", "must be in 1..=31");
        }
        if self.pool == 0 || self.pool > 16 {
            return bad("pool", "must be in 1..=16");
        }
        if let Activation::Elu { alpha } = self.activation
            && !(alpha.is_finite() && alpha >= 0.0)
        {
            return bad("activation", "elu alpha must be finite and non-negative");
        }
        Ok(())
    }

    /// The internal channels-last shape `[H, W, C]` of one input.
    pub(crate) fn input_hwc(&self) -> [usize; 3] {
        match self.geometry {
            Geometry::Time1d => [1, self.cols, self.rows],
            Geometry::Image2d | Geometry::Strided2d => [self.rows, self.cols, 1],
        }
    }

    /// Pooling factors `(ph, pw)` of one level.
    pub(crate) fn pool_hw(&self) -> (usize, usize) {
        match self.geometry {
            Geometry::Time1d => (1, self.pool),
            Geometry::Image2d | Geometry::Strided2d => (self.pool, self.pool),
        }
    }

    /// Kernel sizes `(kh, kw)`.
    pub(crate) fn kernel_hw(&self) -> (usize, usize) {
        match self.geometry {
            Geometry::Time1d => (1, self.kernel),
            Geometry::Image2d | Geometry::Strided2d => (self.kernel, self.kernel),
        }
    }

    /// The encoder output's channels-last shape `[H, W, C]`.
    #[must_use]
    pub fn latent_hwc(&self) -> [usize; 3] {
        let [mut h, mut w, _] = self.input_hwc();
        let (ph, pw) = self.pool_hw();
        for _ in &self.channels {
            h = h.div_ceil(ph);
            w = w.div_ceil(pw);
        }
        [h, w, self.channels.last().copied().unwrap_or(0)]
    }

    /// The length of the latent vector that [`Encoder`](crate::Encoder) returns.
    #[must_use]
    pub fn embedding_dim(&self) -> usize {
        let [h, w, c] = self.latent_hwc();
        match self.embedding {
            Embedding::Flatten => h * w * c,
            Embedding::MeanStdOverTime => 2 * h * c,
        }
    }
}
