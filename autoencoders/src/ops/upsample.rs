//! Nearest-neighbour upsampling and its adjoint, sum pooling.

use candle_core::{CpuStorage, CustomOp1, Layout, Shape, Tensor, bail};

use super::{CResult, Elem, for_chunks};

/// Nearest-neighbour upsampling of `[B, H, W, C]` by `(uh, uw)`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Upsample {
    pub uh: usize,
    pub uw: usize,
}

fn upsample<T: Elem>(x: &[T], [b, h, w, c]: [usize; 4], uh: usize, uw: usize) -> Vec<T> {
    let (oh, ow) = (h * uh, w * uw);
    let mut out = vec![T::default(); b * oh * ow * c];
    if out.is_empty() {
        return out;
    }
    for_chunks(&mut out, ow * c, |row, o| {
        let (bi, oy) = (row / oh, row % oh);
        let src_row = (bi * h + oy / uh) * w;
        for ox in 0..ow {
            let s = (src_row + ox / uw) * c;
            o[ox * c..ox * c + c].copy_from_slice(&x[s..s + c]);
        }
    });
    out
}

/// Sums `(uh, uw)` blocks: the adjoint of [`upsample`].
fn sum_pool<T: Elem>(g: &[T], [b, oh, ow, c]: [usize; 4], uh: usize, uw: usize) -> Vec<T> {
    let (h, w) = (oh / uh, ow / uw);
    let mut out = vec![T::default(); b * h * w * c];
    if out.is_empty() {
        return out;
    }
    for_chunks(&mut out, w * c, |row, o| {
        let (bi, y) = (row / h, row % h);
        for dy in 0..uh {
            let src_row = (bi * oh + y * uh + dy) * ow;
            for x in 0..w {
                for dx in 0..uw {
                    let s = (src_row + x * uw + dx) * c;
                    for (d, e) in o[x * c..x * c + c].iter_mut().zip(&g[s..s + c]) {
                        *d += *e;
                    }
                }
            }
        }
    });
    out
}

impl CustomOp1 for Upsample {
    fn name(&self) -> &'static str {
        "sonority-upsample"
    }

    fn cpu_fwd(&self, s: &CpuStorage, l: &Layout) -> CResult<(CpuStorage, Shape)> {
        let (b, h, w, c) = l.shape().dims4()?;
        let (uh, uw) = (self.uh, self.uw);
        let out = dispatch!(self.name(), s, l, |v| upsample(v, [b, h, w, c], uh, uw));
        Ok((out, Shape::from((b, h * uh, w * uw, c))))
    }

    fn bwd(&self, _arg: &Tensor, _res: &Tensor, grad: &Tensor) -> CResult<Option<Tensor>> {
        let op = SumPool {
            uh: self.uh,
            uw: self.uw,
        };
        Ok(Some(grad.contiguous()?.apply_op1(op)?))
    }
}

/// The adjoint of [`Upsample`], used as its backward pass.
#[derive(Debug, Clone, Copy)]
struct SumPool {
    uh: usize,
    uw: usize,
}

impl CustomOp1 for SumPool {
    fn name(&self) -> &'static str {
        "sonority-sumpool"
    }

    fn cpu_fwd(&self, s: &CpuStorage, l: &Layout) -> CResult<(CpuStorage, Shape)> {
        let (b, oh, ow, c) = l.shape().dims4()?;
        let (uh, uw) = (self.uh, self.uw);
        if oh % uh != 0 || ow % uw != 0 {
            bail!("sum pool: {oh}x{ow} is not a multiple of {uh}x{uw}")
        }
        let out = dispatch!(self.name(), s, l, |v| sum_pool(v, [b, oh, ow, c], uh, uw));
        Ok((out, Shape::from((b, oh / uh, ow / uw, c))))
    }

    fn bwd(&self, _arg: &Tensor, _res: &Tensor, grad: &Tensor) -> CResult<Option<Tensor>> {
        let op = Upsample {
            uh: self.uh,
            uw: self.uw,
        };
        Ok(Some(grad.contiguous()?.apply_op1(op)?))
    }
}

/// Nearest-neighbour upsampling.
pub(crate) fn upsample_t(x: &Tensor, uh: usize, uw: usize) -> CResult<Tensor> {
    if uh == 1 && uw == 1 {
        return Ok(x.clone());
    }
    x.contiguous()?.apply_op1(Upsample { uh, uw })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gradcheck::{check, rand_tensor, rand_var};
    use crate::ops::vec_of;

    #[test]
    fn upsample_forward_and_gradient() {
        let x = rand_var(&[2, 3, 4, 2], 8);
        let y = upsample_t(x.as_tensor(), 2, 3).unwrap();
        assert_eq!(y.dims4().unwrap(), (2, 6, 12, 2));
        let (xv, yv) = (vec_of(x.as_tensor()), vec_of(&y));
        for (i, &y) in yv.iter().enumerate() {
            let (ch, rest) = (i % 2, i / 2);
            let (ox, rest) = (rest % 12, rest / 12);
            let (oy, bi) = (rest % 6, rest / 6);
            assert_eq!(y, xv[((bi * 3 + oy / 2) * 4 + ox / 3) * 2 + ch]);
        }
        let r = rand_tensor(&[2, 6, 12, 2], 9);
        let f = || {
            (upsample_t(x.as_tensor(), 2, 3).unwrap() * &r)
                .unwrap()
                .sum_all()
                .unwrap()
        };
        assert!(check(&[&x], f, 100) < 1e-6);
    }

    /// Sum pooling is used as a backward pass; its own backward pass must be its adjoint too.
    #[test]
    fn sum_pool_has_gradients() {
        let g = rand_var(&[1, 4, 6, 2], 12);
        let r = rand_tensor(&[1, 2, 3, 2], 13);
        let f = || {
            (g.as_tensor().apply_op1(SumPool { uh: 2, uw: 2 }).unwrap() * &r)
                .unwrap()
                .sum_all()
                .unwrap()
        };
        assert!(check(&[&g], f, 100) < 1e-6);
    }
}
