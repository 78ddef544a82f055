//! The two parameterised layers: a 'same' convolution computed as im2col + one matrix product,
//! and a dense layer.

use crate::ops::im2col_t;
use candle_core::Tensor;
use candle_nn::{Init, VarBuilder};

type CResult<T> = candle_core::Result<T>;

/// PyTorch's default initialisation: weights and biases uniform in `±1/sqrt(fan_in)`.
fn torch_init(fan_in: usize) -> Init {
    let b = 1.0 / (fan_in.max(1) as f64).sqrt();
    Init::Uniform { lo: -b, up: b }
}

/// A 'same' convolution on channels-last `[B, H, W, C_in]` tensors. The weight is stored as
/// `[kw, C_in, C_out]` (Keras' Conv1D layout) when `kh == 1` and `[kh, kw, C_in, C_out]`
/// (Keras' Conv2D layout) otherwise, so that it reshapes to the `[kh*kw*C_in, C_out]` matrix
/// the im2col columns are multiplied by.
#[derive(Debug, Clone)]
pub(crate) struct Conv {
    weight: Tensor,
    bias: Tensor,
    kh: usize,
    kw: usize,
    cin: usize,
    cout: usize,
}

impl Conv {
    pub(crate) fn new(
        vb: VarBuilder,
        (kh, kw): (usize, usize),
        cin: usize,
        cout: usize,
    ) -> CResult<Self> {
        let init = torch_init(kh * kw * cin);
        let weight = if kh == 1 {
            vb.get_with_hints((kw, cin, cout), "weight", init)?
        } else {
            vb.get_with_hints((kh, kw, cin, cout), "weight", init)?
        };
        let bias = vb.get_with_hints(cout, "bias", init)?;
        Ok(Self {
            weight,
            bias,
            kh,
            kw,
            cin,
            cout,
        })
    }

    /// The weight and the bias.
    pub(crate) fn tensors(&self) -> [&Tensor; 2] {
        [&self.weight, &self.bias]
    }

    /// The parameter count.
    pub(crate) fn n_params(&self) -> usize {
        self.kh * self.kw * self.cin * self.cout + self.cout
    }

    pub(crate) fn forward(&self, x: &Tensor) -> CResult<Tensor> {
        let (b, h, w, c) = x.dims4()?;
        if c != self.cin {
            candle_core::bail!("conv: input has {c} channels, expected {}", self.cin)
        }
        let k = self.kh * self.kw * self.cin;
        let cols = if self.kh * self.kw == 1 {
            x.clone()
        } else {
            im2col_t(x, self.kh, self.kw)?
        };
        let cols = cols.reshape((b * h * w, k))?;
        let wm = self.weight.reshape((k, self.cout))?;
        cols.matmul(&wm)?
            .broadcast_add(&self.bias)?
            .reshape((b, h, w, self.cout))
    }
}

/// A dense layer `x W + b` with `W` of shape `[in, out]`.
#[derive(Debug, Clone)]
pub(crate) struct Dense {
    weight: Tensor,
    bias: Tensor,
}

impl Dense {
    pub(crate) fn new(vb: VarBuilder, din: usize, dout: usize) -> CResult<Self> {
        let init = torch_init(din);
        let weight = vb.get_with_hints((din, dout), "weight", init)?;
        let bias = vb.get_with_hints(dout, "bias", init)?;
        Ok(Self { weight, bias })
    }

    pub(crate) fn forward(&self, x: &Tensor) -> CResult<Tensor> {
        x.matmul(&self.weight)?.broadcast_add(&self.bias)
    }
}
