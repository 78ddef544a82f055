//! Max pooling with `ceil` ("same") output size and its backward pass.

use candle_core::{CpuStorage, CustomOp1, CustomOp2, Layout, Shape, Tensor, bail};
use rayon::prelude::*;

use super::{CResult, Elem, for_chunks};

/// Max pooling over non-overlapping `ph × pw` windows of `[B, H, W, C]`, with output size
/// `ceil(H/ph) × ceil(W/pw)` (Keras' `padding="same"`): the last window holds only the elements
/// that exist. The gradient goes to the first maximum of each window.
#[derive(Debug, Clone, Copy)]
pub(crate) struct MaxPool {
    pub ph: usize,
    pub pw: usize,
}

fn pooled(n: usize, p: usize) -> usize {
    n.div_ceil(p)
}

fn maxpool_fwd<T: Elem>(x: &[T], [b, h, w, c]: [usize; 4], ph: usize, pw: usize) -> Vec<T> {
    let (oh, ow) = (pooled(h, ph), pooled(w, pw));
    let mut out = vec![T::default(); b * oh * ow * c];
    if out.is_empty() {
        return out;
    }
    for_chunks(&mut out, ow * c, |row, o| {
        let (bi, oy) = (row / oh, row % oh);
        for ox in 0..ow {
            let dst = &mut o[ox * c..ox * c + c];
            let mut first = true;
            for iy in oy * ph..((oy + 1) * ph).min(h) {
                for ix in ox * pw..((ox + 1) * pw).min(w) {
                    let s = ((bi * h + iy) * w + ix) * c;
                    for (d, e) in dst.iter_mut().zip(&x[s..s + c]) {
                        if first || *e > *d {
                            *d = *e;
                        }
                    }
                    first = false;
                }
            }
        }
    });
    out
}

/// Routes `g` (`[B, OH, OW, C]`) to the first maximum of each window of `x` (`[B, H, W, C]`).
fn maxpool_bwd<T: Elem>(
    x: &[T],
    g: &[T],
    [b, h, w, c]: [usize; 4],
    ph: usize,
    pw: usize,
) -> Vec<T> {
    let (oh, ow) = (pooled(h, ph), pooled(w, pw));
    let mut out = vec![T::default(); b * h * w * c];
    if out.is_empty() {
        return out;
    }
    out.par_chunks_mut(h * w * c)
        .enumerate()
        .for_each(|(bi, o)| {
            let xb = &x[bi * h * w * c..(bi + 1) * h * w * c];
            for oy in 0..oh {
                for ox in 0..ow {
                    let gi = ((bi * oh + oy) * ow + ox) * c;
                    for ch in 0..c {
                        let mut best = usize::MAX;
                        let mut best_v = T::default();
                        for iy in oy * ph..((oy + 1) * ph).min(h) {
                            for ix in ox * pw..((ox + 1) * pw).min(w) {
                                let idx = (iy * w + ix) * c + ch;
                                if best == usize::MAX || xb[idx] > best_v {
                                    best = idx;
                                    best_v = xb[idx];
                                }
                            }
                        }
                        if best != usize::MAX {
                            o[best] += g[gi + ch];
                        }
                    }
                }
            }
        });
    out
}

impl CustomOp1 for MaxPool {
    fn name(&self) -> &'static str {
        "sonority-maxpool"
    }

    fn cpu_fwd(&self, s: &CpuStorage, l: &Layout) -> CResult<(CpuStorage, Shape)> {
        let (b, h, w, c) = l.shape().dims4()?;
        let (ph, pw) = (self.ph, self.pw);
        let out = dispatch!(self.name(), s, l, |v| maxpool_fwd(v, [b, h, w, c], ph, pw));
        Ok((out, Shape::from((b, pooled(h, ph), pooled(w, pw), c))))
    }

    fn bwd(&self, arg: &Tensor, _res: &Tensor, grad: &Tensor) -> CResult<Option<Tensor>> {
        let op = MaxPoolBwd {
            ph: self.ph,
            pw: self.pw,
        };
        Ok(Some(
            arg.contiguous()?
                .apply_op2_no_bwd(&grad.contiguous()?, &op)?,
        ))
    }
}

/// The backward pass of [`MaxPool`]: `(x, grad_out) -> grad_x`.
#[derive(Debug, Clone, Copy)]
struct MaxPoolBwd {
    ph: usize,
    pw: usize,
}

impl CustomOp2 for MaxPoolBwd {
    fn name(&self) -> &'static str {
        "sonority-maxpool-bwd"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> CResult<(CpuStorage, Shape)> {
        let (b, h, w, c) = l1.shape().dims4()?;
        let expected = Shape::from((b, pooled(h, self.ph), pooled(w, self.pw), c));
        if l2.shape() != &expected {
            bail!(
                "maxpool backward: gradient shape {:?}, expected {expected:?}",
                l2.shape()
            )
        }
        let (Some((s1a, s1b)), Some((s2a, s2b))) =
            (l1.contiguous_offsets(), l2.contiguous_offsets())
        else {
            bail!("maxpool backward: inputs must be contiguous")
        };
        let (ph, pw) = (self.ph, self.pw);
        let out = match (s1, s2) {
            (CpuStorage::F32(x), CpuStorage::F32(g)) => CpuStorage::F32(maxpool_bwd(
                &x[s1a..s1b],
                &g[s2a..s2b],
                [b, h, w, c],
                ph,
                pw,
            )),
            (CpuStorage::F64(x), CpuStorage::F64(g)) => CpuStorage::F64(maxpool_bwd(
                &x[s1a..s1b],
                &g[s2a..s2b],
                [b, h, w, c],
                ph,
                pw,
            )),
            _ => bail!("maxpool backward: only f32 and f64 of one type are supported"),
        };
        Ok((out, Shape::from((b, h, w, c))))
    }
}

/// Max pooling with ceil output size.
pub(crate) fn max_pool_t(x: &Tensor, ph: usize, pw: usize) -> CResult<Tensor> {
    if ph == 1 && pw == 1 {
        return Ok(x.clone());
    }
    x.contiguous()?.apply_op1(MaxPool { ph, pw })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gradcheck::{check, rand_tensor, rand_var};
    use crate::ops::vec_of;

    #[test]
    fn max_pool_forward_matches_naive_with_ceil_size() {
        let (b, h, w, c) = (2, 5, 7, 3);
        let x = rand_var(&[b, h, w, c], 5);
        let xv = vec_of(x.as_tensor());
        for (ph, pw) in [(2, 2), (1, 2), (1, 3), (3, 2)] {
            let y = max_pool_t(x.as_tensor(), ph, pw).unwrap();
            let (oh, ow) = (h.div_ceil(ph), w.div_ceil(pw));
            assert_eq!(y.dims4().unwrap(), (b, oh, ow, c));
            let yv = vec_of(&y);
            for bi in 0..b {
                for oy in 0..oh {
                    for ox in 0..ow {
                        for ch in 0..c {
                            let mut m = f64::NEG_INFINITY;
                            for iy in oy * ph..(oy * ph + ph).min(h) {
                                for ix in ox * pw..(ox * pw + pw).min(w) {
                                    m = m.max(xv[((bi * h + iy) * w + ix) * c + ch]);
                                }
                            }
                            assert_eq!(yv[((bi * oh + oy) * ow + ox) * c + ch], m);
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn max_pool_gradient_matches_finite_differences() {
        for (ph, pw) in [(2, 2), (1, 2), (1, 3), (3, 2)] {
            let x = rand_var(&[2, 5, 7, 3], 6);
            let (oh, ow) = (5usize.div_ceil(ph), 7usize.div_ceil(pw));
            let r = rand_tensor(&[2, oh, ow, 3], 7);
            let f = || {
                (max_pool_t(x.as_tensor(), ph, pw).unwrap() * &r)
                    .unwrap()
                    .sum_all()
                    .unwrap()
            };
            let err = check(&[&x], f, 300);
            assert!(err < 1e-6, "{ph}x{pw}: {err}");
        }
    }
}
