//! The two parameterised layers: a 'same' convolution computed as im2col + one matrix product,
//! and a dense layer.

use crate::ops::{bias_relu_t, col2im_t, im2col_t};
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
        self.forward_impl(x, false)
    }

    /// `relu(conv(x))`, with the bias and the ReLU fused.
    pub(crate) fn forward_relu(&self, x: &Tensor) -> CResult<Tensor> {
        self.forward_impl(x, true)
    }

    /// The 'same' convolution (with the ReLU when `relu`) evaluated at rows `0, sh, 2sh, …`
    /// and columns `0, sw, 2sw, …` only: `[B, ⌈H/sh⌉, ⌈W/sw⌉, C_out]`. The patches are cut
    /// at full resolution (a copy) but multiplied only where the output is kept.
    pub(crate) fn forward_strided(
        &self,
        x: &Tensor,
        sh: usize,
        sw: usize,
        relu: bool,
    ) -> CResult<Tensor> {
        let (b, h, w, c) = x.dims4()?;
        if c != self.cin {
            candle_core::bail!("conv: input has {c} channels, expected {}", self.cin)
        }
        let k = self.kh * self.kw * self.cin;
        let rows: Vec<u32> = (0..h as u32).step_by(sh.max(1)).collect();
        let cols: Vec<u32> = (0..w as u32).step_by(sw.max(1)).collect();
        let (ho, wo) = (rows.len(), cols.len());
        let rows = Tensor::new(rows.as_slice(), x.device())?;
        let cols = Tensor::new(cols.as_slice(), x.device())?;
        let patches = im2col_t(x, self.kh, self.kw)?
            .index_select(&rows, 1)?
            .index_select(&cols, 2)?
            .reshape((b * ho * wo, k))?;
        let y = patches.matmul(&self.weight.reshape((k, self.cout))?)?;
        let y = if relu {
            bias_relu_t(&y, &self.bias)?
        } else {
            y.broadcast_add(&self.bias)?
        };
        y.reshape((b, ho, wo, self.cout))
    }

    fn forward_impl(&self, x: &Tensor, relu: bool) -> CResult<Tensor> {
        let (b, h, w, c) = x.dims4()?;
        if c != self.cin {
            candle_core::bail!("conv: input has {c} channels, expected {}", self.cin)
        }
        let taps = self.kh * self.kw;
        let k = taps * self.cin;
        let y = if taps == 1 {
            x.reshape((b * h * w, self.cin))?
                .matmul(&self.weight.reshape((k, self.cout))?)?
        } else if self.cout < self.cin && self.kh % 2 == 1 && self.kw % 2 == 1 {
            // Multiply first, then shift and add: y[p] = sum_t x[p + d_t] W_t is the adjoint
            // of im2col (col2im) applied to x W' with the taps reversed. It holds only
            // `taps × C_out` values per pixel instead of im2col's `taps × C_in`.
            let rev: Vec<u32> = (0..taps as u32).rev().collect();
            let rev = Tensor::new(rev.as_slice(), x.device())?;
            let wr = self
                .weight
                .reshape((taps, self.cin, self.cout))?
                .index_select(&rev, 0)?
                .transpose(0, 1)?
                .contiguous()?
                .reshape((self.cin, taps * self.cout))?;
            let q = x.reshape((b * h * w, self.cin))?.matmul(&wr)?;
            col2im_t(&q.reshape((b, h, w, taps * self.cout))?, self.kh, self.kw)?
                .reshape((b * h * w, self.cout))?
        } else {
            let cols = im2col_t(x, self.kh, self.kw)?.reshape((b * h * w, k))?;
            cols.matmul(&self.weight.reshape((k, self.cout))?)?
        };
        let y = if relu {
            bias_relu_t(&y, &self.bias)?
        } else {
            y.broadcast_add(&self.bias)?
        };
        y.reshape((b, h, w, self.cout))
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gradcheck::{check, rand_tensor};
    use crate::params::SeededBackend;
    use candle_core::{DType, Device, Var};
    use candle_nn::VarMap;

    fn conv(kh: usize, kw: usize, cin: usize, cout: usize) -> (Conv, Vec<Var>) {
        let map = VarMap::new();
        let vb = VarBuilder::from_backend(
            Box::new(SeededBackend::new(map.clone(), 1)),
            DType::F64,
            Device::Cpu,
        );
        let c = Conv::new(vb, (kh, kw), cin, cout).unwrap();
        (c, crate::contrastive::sorted_vars(&map))
    }

    /// Both convolution paths (im2col for widening layers, multiply-then-shift for narrowing
    /// ones) agree with a direct convolution and have correct gradients.
    #[test]
    fn both_convolution_paths_are_exact() {
        for (kh, kw, cin, cout) in [
            (3, 3, 2, 5),
            (3, 3, 5, 2),
            (1, 3, 4, 1),
            (1, 5, 3, 6),
            (3, 5, 4, 3),
            (2, 2, 3, 2),
        ] {
            let (c, vars) = conv(kh, kw, cin, cout);
            let x = rand_tensor(&[2, 4, 5, cin], 3);
            let y = c.forward(&x).unwrap();
            let wv = c.weight.flatten_all().unwrap().to_vec1::<f64>().unwrap();
            let bv = c.bias.to_vec1::<f64>().unwrap();
            let xv = x.flatten_all().unwrap().to_vec1::<f64>().unwrap();
            let yv = y.flatten_all().unwrap().to_vec1::<f64>().unwrap();
            let (pt, pl) = (
                crate::ops::same_pad(kh) as isize,
                crate::ops::same_pad(kw) as isize,
            );
            for bi in 0..2 {
                for yy in 0..4isize {
                    for xx in 0..5isize {
                        for o in 0..cout {
                            let mut s = bv[o];
                            for dy in 0..kh {
                                for dx in 0..kw {
                                    let (sy, sx) = (yy + dy as isize - pt, xx + dx as isize - pl);
                                    if !(0..4).contains(&sy) || !(0..5).contains(&sx) {
                                        continue;
                                    }
                                    for i in 0..cin {
                                        let xi =
                                            ((bi * 4 + sy as usize) * 5 + sx as usize) * cin + i;
                                        s += xv[xi] * wv[((dy * kw + dx) * cin + i) * cout + o];
                                    }
                                }
                            }
                            let got = yv[((bi * 4 + yy as usize) * 5 + xx as usize) * cout + o];
                            assert!(
                                (got - s).abs() < 1e-12,
                                "{kh}x{kw} {cin}->{cout}: {got} vs {s}"
                            );
                        }
                    }
                }
            }
            let xv = Var::from_tensor(&x).unwrap();
            let r = rand_tensor(&[2, 4, 5, cout], 4);
            let f = || {
                (c.forward(xv.as_tensor()).unwrap() * &r)
                    .unwrap()
                    .sum_all()
                    .unwrap()
            };
            let mut refs: Vec<&Var> = vars.iter().collect();
            refs.push(&xv);
            let err = check(&refs, f, 40);
            assert!(err < 1e-6, "{kh}x{kw} {cin}->{cout}: {err}");
        }
    }
}

#[cfg(test)]
mod strided_tests {
    use super::*;
    use crate::gradcheck::{check, rand_tensor};
    use crate::params::SeededBackend;
    use candle_core::{DType, Device, Var};
    use candle_nn::VarMap;

    /// The strided convolution is the full convolution subsampled, and its gradients match
    /// finite differences.
    #[test]
    fn strided_convolution_is_the_subsampled_full_one() {
        for (h, w, sh, sw) in [(5, 6, 2, 2), (4, 7, 2, 3), (6, 6, 3, 1)] {
            let map = VarMap::new();
            let vb = VarBuilder::from_backend(
                Box::new(SeededBackend::new(map.clone(), 2)),
                DType::F64,
                Device::Cpu,
            );
            let c = Conv::new(vb, (3, 3), 2, 3).unwrap();
            let x = rand_tensor(&[2, h, w, 2], 5);
            let full = c.forward(&x).unwrap();
            let strided = c.forward_strided(&x, sh, sw, false).unwrap();
            let (ho, wo) = (h.div_ceil(sh), w.div_ceil(sw));
            assert_eq!(strided.dims4().unwrap(), (2, ho, wo, 3));
            let fv = full.flatten_all().unwrap().to_vec1::<f64>().unwrap();
            let sv = strided.flatten_all().unwrap().to_vec1::<f64>().unwrap();
            for bi in 0..2 {
                for y in 0..ho {
                    for x in 0..wo {
                        for o in 0..3 {
                            let a = sv[((bi * ho + y) * wo + x) * 3 + o];
                            let b = fv[((bi * h + y * sh) * w + x * sw) * 3 + o];
                            assert!((a - b).abs() < 1e-12);
                        }
                    }
                }
            }
            let xv = Var::from_tensor(&x).unwrap();
            let r = rand_tensor(&[2, ho, wo, 3], 6);
            let g = || {
                (c.forward_strided(xv.as_tensor(), sh, sw, true).unwrap() * &r)
                    .unwrap()
                    .sum_all()
                    .unwrap()
            };
            let vars = crate::contrastive::sorted_vars(&map);
            let mut refs: Vec<&Var> = vars.iter().collect();
            refs.push(&xv);
            let err = check(&refs, g, 40);
            assert!(err < 1e-6, "{h}x{w} stride {sh}x{sw}: {err}");
        }
    }
}
