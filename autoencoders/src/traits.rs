//! The two traits applications program against: [`Encoder`] (slices in, latent vectors out) and
//! [`Autoencoder`] (candle tensors, for training and inspection).

use crate::error::{Error, Result};
use candle_core::Tensor;

/// `Encoder` maps one input matrix to a latent vector of a length known up front.
///
/// Inputs are row-major `[rows, cols]` `f32` matrices (for mel tiles: `[n_mels, frames]`, the
/// layout of `sonority-mfcc`). Outputs are always finite.
///
/// # Examples
///
/// ```
/// use sonority_autoencoders::{ConvAeConfig, ConvAutoencoder, Encoder};
///
/// let model = ConvAutoencoder::seeded(&ConvAeConfig::published_1d(), 0)?;
/// let latent = model.encode(&[0.5f32; 67], [1, 67])?;
/// assert_eq!(latent.len(), model.output_dim());
/// # Ok::<(), sonority_autoencoders::Error>(())
/// ```
pub trait Encoder: Send + Sync {
    /// Encodes one `shape = [rows, cols]` row-major matrix into `out`
    /// (`out.len() == self.output_dim()`).
    ///
    /// # Errors
    ///
    /// [`Error::ShapeMismatch`] for a wrong input shape or output length, [`Error::NonFinite`] if
    /// the input or the result is not finite, and candle errors.
    fn encode_into(&self, input: &[f32], shape: [usize; 2], out: &mut [f32]) -> Result<()>;

    /// The length of the latent vector.
    fn output_dim(&self) -> usize;

    /// Encodes one matrix into a new vector.
    ///
    /// # Errors
    ///
    /// As [`encode_into`](Self::encode_into).
    ///
    /// # For implementors
    ///
    /// The default allocates and calls [`encode_into`](Self::encode_into).
    fn encode(&self, input: &[f32], shape: [usize; 2]) -> Result<Vec<f32>> {
        let mut out = vec![0.0; self.output_dim()];
        self.encode_into(input, shape, &mut out)?;
        Ok(out)
    }

    /// Encodes `n` matrices of one shape stored one after the other in `inputs` into `out`
    /// (`n × output_dim` values, row-major).
    ///
    /// # Errors
    ///
    /// As [`encode_into`](Self::encode_into).
    ///
    /// # For implementors
    ///
    /// The default calls [`encode_into`](Self::encode_into) once per matrix; models override it
    /// with one batched forward pass.
    fn encode_batch_into(
        &self,
        inputs: &[f32],
        n: usize,
        shape: [usize; 2],
        out: &mut [f32],
    ) -> Result<()> {
        let (len, dim) = (shape[0] * shape[1], self.output_dim());
        if inputs.len() != n * len || out.len() != n * dim {
            return Err(Error::ShapeMismatch {
                what: "batch input and output".into(),
                expected: vec![n * len, n * dim],
                actual: vec![inputs.len(), out.len()],
            });
        }
        for (x, o) in inputs
            .chunks_exact(len.max(1))
            .zip(out.chunks_exact_mut(dim.max(1)))
        {
            self.encode_into(x, shape, o)?;
        }
        Ok(())
    }

    /// Encodes `n` matrices into a new `n × output_dim` row-major vector.
    ///
    /// # Errors
    ///
    /// As [`encode_into`](Self::encode_into).
    fn encode_batch(&self, inputs: &[f32], n: usize, shape: [usize; 2]) -> Result<Vec<f32>> {
        let mut out = vec![0.0; n * self.output_dim()];
        self.encode_batch_into(inputs, n, shape, &mut out)?;
        Ok(out)
    }
}

impl<E: Encoder + ?Sized> Encoder for &E {
    fn encode_into(&self, input: &[f32], shape: [usize; 2], out: &mut [f32]) -> Result<()> {
        (**self).encode_into(input, shape, out)
    }
    fn output_dim(&self) -> usize {
        (**self).output_dim()
    }
    fn encode_batch_into(&self, i: &[f32], n: usize, s: [usize; 2], o: &mut [f32]) -> Result<()> {
        (**self).encode_batch_into(i, n, s, o)
    }
}

impl<E: Encoder + ?Sized> Encoder for Box<E> {
    fn encode_into(&self, input: &[f32], shape: [usize; 2], out: &mut [f32]) -> Result<()> {
        (**self).encode_into(input, shape, out)
    }
    fn output_dim(&self) -> usize {
        (**self).output_dim()
    }
    fn encode_batch_into(&self, i: &[f32], n: usize, s: [usize; 2], o: &mut [f32]) -> Result<()> {
        (**self).encode_batch_into(i, n, s, o)
    }
}

impl<E: Encoder + ?Sized> Encoder for std::sync::Arc<E> {
    fn encode_into(&self, input: &[f32], shape: [usize; 2], out: &mut [f32]) -> Result<()> {
        (**self).encode_into(input, shape, out)
    }
    fn output_dim(&self) -> usize {
        (**self).output_dim()
    }
    fn encode_batch_into(&self, i: &[f32], n: usize, s: [usize; 2], o: &mut [f32]) -> Result<()> {
        (**self).encode_batch_into(i, n, s, o)
    }
}

/// `Autoencoder` exposes a model's halves as candle tensors, for training and inspection.
///
/// Batches are `[B, rows, cols]` tensors in the caller's layout; the latent is the encoder's
/// feature map in the model's own layout, which only [`decode_tensor`](Self::decode_tensor) and
/// [`embed_tensor`](Self::embed_tensor) need to understand.
pub trait Autoencoder: Send + Sync {
    /// The `[rows, cols]` shape of one input.
    fn input_shape(&self) -> [usize; 2];

    /// The length of the vector [`embed_tensor`](Self::embed_tensor) returns per input.
    fn latent_dim(&self) -> usize;

    /// Encodes a `[B, rows, cols]` batch into the latent feature map.
    ///
    /// # Errors
    ///
    /// Candle errors, including shape errors.
    fn encode_tensor(&self, x: &Tensor) -> Result<Tensor>;

    /// Decodes a latent feature map into a `[B, rows, cols]` reconstruction (after the output
    /// activation).
    ///
    /// # Errors
    ///
    /// Candle errors, including shape errors.
    fn decode_tensor(&self, z: &Tensor) -> Result<Tensor>;

    /// The `[B, latent_dim]` latent vectors of a latent feature map.
    ///
    /// # Errors
    ///
    /// Candle errors, including shape errors.
    fn embed_tensor(&self, z: &Tensor) -> Result<Tensor>;

    /// `decode_tensor(encode_tensor(x))`.
    ///
    /// # Errors
    ///
    /// Candle errors, including shape errors.
    ///
    /// # For implementors
    ///
    /// The default composes [`encode_tensor`](Self::encode_tensor) and [`decode_tensor`](Self::decode_tensor).
    fn reconstruct(&self, x: &Tensor) -> Result<Tensor> {
        self.decode_tensor(&self.encode_tensor(x)?)
    }

    /// The scalar reconstruction loss of a `[B, rows, cols]` batch.
    ///
    /// # Errors
    ///
    /// Candle errors, including shape errors.
    fn loss(&self, x: &Tensor) -> Result<Tensor>;
}
