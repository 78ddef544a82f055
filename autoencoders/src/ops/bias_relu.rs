//! `relu(y + bias)` fused into one operation, with its backward pass.

use candle_core::{CpuStorage, CustomOp2, Layout, Shape, Tensor, bail};

use super::{CResult, Elem, for_chunks};

/// `relu(y + bias)` for `y` of shape `[..., C]` and `bias` of shape `[C]`, in one pass; the
/// backward pass is one masked copy plus a column sum (candle's separate add and ReLU make about
/// five full-size temporaries).
#[derive(Debug, Clone, Copy)]
pub(crate) struct BiasRelu;

fn bias_relu<T: Elem>(y: &[T], b: &[T]) -> Vec<T> {
    let mut out = vec![T::default(); y.len()];
    let c = b.len();
    if c == 0 {
        return out;
    }
    for_chunks(&mut out, c * 64, |i, o| {
        let base = i * c * 64;
        for (k, d) in o.iter_mut().enumerate() {
            let mut v = y[base + k];
            v += b[k % c];
            if v > T::default() {
                *d = v;
            }
        }
    });
    out
}

/// `grad * (res > 0)`.
fn relu_mask<T: Elem>(res: &[T], g: &[T]) -> Vec<T> {
    let mut out = vec![T::default(); res.len()];
    for_chunks(&mut out, 4096, |i, o| {
        let base = i * 4096;
        for (k, d) in o.iter_mut().enumerate() {
            if res[base + k] > T::default() {
                *d = g[base + k];
            }
        }
    });
    out
}

/// Runs a two-input kernel on same-typed contiguous f32 or f64 storages.
macro_rules! dispatch2 {
    ($name:expr, $s1:expr, $l1:expr, $s2:expr, $l2:expr, |$a:ident, $b:ident| $body:expr) => {{
        let (Some((a0, a1)), Some((b0, b1))) = ($l1.contiguous_offsets(), $l2.contiguous_offsets())
        else {
            bail!("{}: inputs must be contiguous", $name)
        };
        match ($s1, $s2) {
            (CpuStorage::F32(x), CpuStorage::F32(y)) => {
                let ($a, $b) = (&x[a0..a1], &y[b0..b1]);
                CpuStorage::F32($body)
            }
            (CpuStorage::F64(x), CpuStorage::F64(y)) => {
                let ($a, $b) = (&x[a0..a1], &y[b0..b1]);
                CpuStorage::F64($body)
            }
            _ => bail!("{}: only f32 and f64 of one type are supported", $name),
        }
    }};
}

impl CustomOp2 for BiasRelu {
    fn name(&self) -> &'static str {
        "sonority-bias-relu"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> CResult<(CpuStorage, Shape)> {
        let c = l1.shape().dims().last().copied().unwrap_or(0);
        if l2.shape().dims() != [c] {
            bail!(
                "bias relu: bias shape {:?} does not match last dim {c}",
                l2.shape()
            )
        }
        let out = dispatch2!(self.name(), s1, l1, s2, l2, |y, b| bias_relu(y, b));
        Ok((out, l1.shape().clone()))
    }

    fn bwd(
        &self,
        _y: &Tensor,
        b: &Tensor,
        res: &Tensor,
        grad: &Tensor,
    ) -> CResult<(Option<Tensor>, Option<Tensor>)> {
        let gy = res
            .contiguous()?
            .apply_op2_no_bwd(&grad.contiguous()?, &ReluMask)?;
        let c = b.dim(0)?;
        let gb = gy.reshape(((), c))?.sum(0)?;
        Ok((Some(gy), Some(gb)))
    }
}

/// The backward pass of [`BiasRelu`] for its first input.
#[derive(Debug, Clone, Copy)]
struct ReluMask;

impl CustomOp2 for ReluMask {
    fn name(&self) -> &'static str {
        "sonority-relu-mask"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> CResult<(CpuStorage, Shape)> {
        if l1.shape() != l2.shape() {
            bail!(
                "relu mask: shapes {:?} and {:?} differ",
                l1.shape(),
                l2.shape()
            )
        }
        let out = dispatch2!(self.name(), s1, l1, s2, l2, |r, g| relu_mask(r, g));
        Ok((out, l1.shape().clone()))
    }
}

/// `relu(y + bias)`, fused.
pub(crate) fn bias_relu_t(y: &Tensor, bias: &Tensor) -> CResult<Tensor> {
    y.contiguous()?.apply_op2(&bias.contiguous()?, BiasRelu)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gradcheck::{check, rand_tensor, rand_var};
    use crate::ops::vec_of;

    #[test]
    fn bias_relu_forward_and_gradients() {
        let y = rand_var(&[3, 4, 5], 15);
        let b = rand_var(&[5], 16);
        let out = vec_of(&bias_relu_t(y.as_tensor(), b.as_tensor()).unwrap());
        let want = vec_of(
            &y.as_tensor()
                .broadcast_add(b.as_tensor())
                .unwrap()
                .relu()
                .unwrap(),
        );
        assert_eq!(out, want);
        let r = rand_tensor(&[3, 4, 5], 17);
        let f = || {
            (bias_relu_t(y.as_tensor(), b.as_tensor()).unwrap() * &r)
                .unwrap()
                .sum_all()
                .unwrap()
        };
        assert!(check(&[&y, &b], f, 60) < 1e-6);
    }
}
