//! `im2col` and its adjoint `col2im`: a 'same' convolution becomes one matrix product of the
//! patches with the weight, and its input gradient one `col2im`.

use candle_core::{CpuStorage, CustomOp1, Layout, Shape, Tensor, bail};

use super::{CResult, Elem, for_chunks, same_pad};

/// `[B, H, W, C] -> [B, H, W, kh*kw*C]`: for each pixel, its zero-padded 'same' neighbourhood,
/// ordered `(dy, dx, c)`, which matches a weight of shape `[kh, kw, C, C_out]`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Im2Col {
    pub kh: usize,
    pub kw: usize,
}

fn im2col<T: Elem>(x: &[T], [b, h, w, c]: [usize; 4], kh: usize, kw: usize) -> Vec<T> {
    let k = kh * kw * c;
    let (pt, pl) = (same_pad(kh), same_pad(kw));
    let mut out = vec![T::default(); b * h * w * k];
    if out.is_empty() {
        return out;
    }
    for_chunks(&mut out, w * k, |row, o| {
        let (bi, y) = (row / h, row % h);
        for dy in 0..kh {
            let Some(sy) = (y + dy).checked_sub(pt).filter(|&s| s < h) else {
                continue;
            };
            let src_row = (bi * h + sy) * w;
            for dx in 0..kw {
                let off = (dy * kw + dx) * c;
                for ox in 0..w {
                    let Some(sx) = (ox + dx).checked_sub(pl).filter(|&s| s < w) else {
                        continue;
                    };
                    let src = (src_row + sx) * c;
                    let dst = ox * k + off;
                    o[dst..dst + c].copy_from_slice(&x[src..src + c]);
                }
            }
        }
    });
    out
}

/// The adjoint of [`im2col`]: `[B, H, W, kh*kw*C] -> [B, H, W, C]`, summing every column entry
/// back onto the pixel it was copied from (a gather, so each output is written by one thread).
fn col2im<T: Elem>(g: &[T], [b, h, w, k]: [usize; 4], kh: usize, kw: usize) -> Vec<T> {
    let c = k / (kh * kw);
    let (pt, pl) = (same_pad(kh), same_pad(kw));
    let mut out = vec![T::default(); b * h * w * c];
    if out.is_empty() {
        return out;
    }
    for_chunks(&mut out, w * c, |row, o| {
        let (bi, y) = (row / h, row % h);
        for dy in 0..kh {
            // Output pixel oy read input row y at offset dy when oy + dy - pt == y.
            let Some(oy) = (y + pt).checked_sub(dy).filter(|&s| s < h) else {
                continue;
            };
            let src_row = (bi * h + oy) * w;
            for dx in 0..kw {
                let off = (dy * kw + dx) * c;
                for x in 0..w {
                    let Some(ox) = (x + pl).checked_sub(dx).filter(|&s| s < w) else {
                        continue;
                    };
                    let src = (src_row + ox) * k + off;
                    for (d, s) in o[x * c..x * c + c].iter_mut().zip(&g[src..src + c]) {
                        *d += *s;
                    }
                }
            }
        }
    });
    out
}

impl CustomOp1 for Im2Col {
    fn name(&self) -> &'static str {
        "sonority-im2col"
    }

    fn cpu_fwd(&self, s: &CpuStorage, l: &Layout) -> CResult<(CpuStorage, Shape)> {
        let (b, h, w, c) = l.shape().dims4()?;
        let (kh, kw) = (self.kh, self.kw);
        let out = dispatch!(self.name(), s, l, |v| im2col(v, [b, h, w, c], kh, kw));
        Ok((out, Shape::from((b, h, w, kh * kw * c))))
    }

    fn bwd(&self, _arg: &Tensor, _res: &Tensor, grad: &Tensor) -> CResult<Option<Tensor>> {
        let op = Col2Im {
            kh: self.kh,
            kw: self.kw,
        };
        Ok(Some(grad.contiguous()?.apply_op1(op)?))
    }
}

/// The adjoint of [`Im2Col`], used as its backward pass.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Col2Im {
    pub kh: usize,
    pub kw: usize,
}

impl CustomOp1 for Col2Im {
    fn name(&self) -> &'static str {
        "sonority-col2im"
    }

    fn cpu_fwd(&self, s: &CpuStorage, l: &Layout) -> CResult<(CpuStorage, Shape)> {
        let (b, h, w, k) = l.shape().dims4()?;
        let (kh, kw) = (self.kh, self.kw);
        if k % (kh * kw) != 0 {
            bail!("col2im: last dim {k} is not a multiple of {}", kh * kw)
        }
        let out = dispatch!(self.name(), s, l, |v| col2im(v, [b, h, w, k], kh, kw));
        Ok((out, Shape::from((b, h, w, k / (kh * kw)))))
    }

    fn bwd(&self, _arg: &Tensor, _res: &Tensor, grad: &Tensor) -> CResult<Option<Tensor>> {
        let op = Im2Col {
            kh: self.kh,
            kw: self.kw,
        };
        Ok(Some(grad.contiguous()?.apply_op1(op)?))
    }
}

/// 'same' `kh × kw` patches of `x` (`[B, H, W, C]`), `[B, H, W, kh*kw*C]`.
pub(crate) fn im2col_t(x: &Tensor, kh: usize, kw: usize) -> CResult<Tensor> {
    x.contiguous()?.apply_op1(Im2Col { kh, kw })
}

/// The adjoint of [`im2col_t`]: `[B, H, W, kh*kw*C] -> [B, H, W, C]`.
pub(crate) fn col2im_t(x: &Tensor, kh: usize, kw: usize) -> CResult<Tensor> {
    x.contiguous()?.apply_op1(Col2Im { kh, kw })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gradcheck::{check, rand_tensor, rand_var};
    use crate::ops::vec_of;

    /// Direct 'same' convolution of `[B, H, W, C]` with a `[kh, kw, C, O]` kernel.
    fn naive_conv(
        x: &[f64],
        [b, h, w, c]: [usize; 4],
        k: &[f64],
        kh: usize,
        kw: usize,
        o: usize,
    ) -> Vec<f64> {
        let (pt, pl) = (same_pad(kh) as isize, same_pad(kw) as isize);
        let mut out = vec![0.0; b * h * w * o];
        for bi in 0..b {
            for y in 0..h {
                for xx in 0..w {
                    for oc in 0..o {
                        let mut s = 0.0;
                        for dy in 0..kh {
                            for dx in 0..kw {
                                let sy = y as isize + dy as isize - pt;
                                let sx = xx as isize + dx as isize - pl;
                                if sy < 0 || sx < 0 || sy >= h as isize || sx >= w as isize {
                                    continue;
                                }
                                for ic in 0..c {
                                    let xi = ((bi * h + sy as usize) * w + sx as usize) * c + ic;
                                    let ki = ((dy * kw + dx) * c + ic) * o + oc;
                                    s += x[xi] * k[ki];
                                }
                            }
                        }
                        out[((bi * h + y) * w + xx) * o + oc] = s;
                    }
                }
            }
        }
        out
    }

    #[test]
    fn im2col_matmul_equals_direct_convolution() {
        for (kh, kw) in [(3, 3), (1, 3), (1, 5), (2, 2), (3, 1)] {
            let (b, h, w, c, o) = (2, 5, 6, 3, 4);
            let x = rand_var(&[b, h, w, c], 1);
            let k = rand_var(&[kh * kw * c, o], 2);
            let cols = im2col_t(x.as_tensor(), kh, kw).unwrap();
            let y = cols
                .reshape((b * h * w, kh * kw * c))
                .unwrap()
                .matmul(k.as_tensor())
                .unwrap();
            let want = naive_conv(
                &vec_of(x.as_tensor()),
                [b, h, w, c],
                &vec_of(k.as_tensor()),
                kh,
                kw,
                o,
            );
            for (a, e) in vec_of(&y).iter().zip(&want) {
                assert!((a - e).abs() < 1e-12, "{kh}x{kw}: {a} vs {e}");
            }
        }
    }

    #[test]
    fn im2col_gradient_matches_finite_differences() {
        for (kh, kw) in [(3, 3), (1, 3), (2, 4)] {
            let x = rand_var(&[2, 4, 5, 3], 3);
            let r = rand_tensor(&[2, 4, 5, kh * kw * 3], 4);
            let f = || {
                (im2col_t(x.as_tensor(), kh, kw).unwrap() * &r)
                    .unwrap()
                    .sum_all()
                    .unwrap()
            };
            let err = check(&[&x], f, 200);
            assert!(err < 1e-6, "{kh}x{kw}: {err}");
        }
    }

    /// col2im is used as a backward pass; its own backward pass must be its adjoint too.
    #[test]
    fn col2im_has_gradients() {
        let g = rand_var(&[1, 3, 4, 18], 10);
        let r = rand_tensor(&[1, 3, 4, 2], 11);
        let f = || {
            (g.as_tensor().apply_op1(Col2Im { kh: 3, kw: 3 }).unwrap() * &r)
                .unwrap()
                .sum_all()
                .unwrap()
        };
        assert!(check(&[&g], f, 100) < 1e-6);
    }

    #[test]
    fn f32_matches_f64() {
        let x = rand_var(&[1, 4, 6, 2], 14);
        let x32 = x.as_tensor().to_dtype(candle_core::DType::F32).unwrap();
        let a = vec_of(
            &im2col_t(&x32, 3, 3)
                .unwrap()
                .to_dtype(candle_core::DType::F64)
                .unwrap(),
        );
        let b = vec_of(&im2col_t(x.as_tensor(), 3, 3).unwrap());
        for (p, q) in a.iter().zip(&b) {
            assert!((p - q).abs() < 1e-6);
        }
    }
}
