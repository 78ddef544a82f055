//! Custom candle operations with hand-written backward passes, on channels-last `[B, H, W, C]`
//! tensors: `im2col` for convolution (the convolution itself is then one matrix product), max
//! pooling with `ceil` ("same") output size, and nearest-neighbour upsampling.
//!
//! Why not candle's own layers: on the CPU in candle 0.11 the weight gradient of `conv1d` is
//! wrong, `max_pool2d`'s backward pass is scaled by 1/(kernel area), there is no `max_pool1d`,
//! and `conv2d`'s input gradient goes through a slow transposed convolution. Each operation here
//! is checked against finite differences in the tests. All kernels write disjoint output chunks in
//! parallel, so results do not depend on the thread count.

use candle_core::{CpuStorage, CustomOp1, CustomOp2, Layout, Shape, Tensor, bail};
use rayon::prelude::*;
use std::ops::AddAssign;

type CResult<T> = candle_core::Result<T>;

/// The element types the kernels run on.
trait Elem: Copy + Default + AddAssign + PartialOrd + Send + Sync {}
impl Elem for f32 {}
impl Elem for f64 {}

/// Runs `f` on the contiguous data of a f32 or f64 storage.
macro_rules! dispatch {
    ($name:expr, $storage:expr, $layout:expr, |$v:ident| $body:expr) => {{
        let Some((start, end)) = $layout.contiguous_offsets() else {
            bail!("{}: input must be contiguous", $name)
        };
        match $storage {
            CpuStorage::F32(all) => {
                let $v = &all[start..end];
                CpuStorage::F32($body)
            }
            CpuStorage::F64(all) => {
                let $v = &all[start..end];
                CpuStorage::F64($body)
            }
            _ => bail!("{}: only f32 and f64 are supported", $name),
        }
    }};
}

/// Outputs below this many elements are computed on the calling thread: for small tensors the
/// cost of waking other threads (large on a busy machine) exceeds the work.
const PAR_MIN_ELEMS: usize = 1 << 16;

/// Calls `f(chunk_index, chunk)` for every `chunk`-sized piece of `out`, in parallel when `out`
/// is large. Each output element is written by exactly one call, so the result does not depend
/// on the thread count.
fn for_chunks<T: Send>(out: &mut [T], chunk: usize, f: impl Fn(usize, &mut [T]) + Sync + Send) {
    let chunk = chunk.max(1);
    if out.len() >= PAR_MIN_ELEMS {
        out.par_chunks_mut(chunk)
            .enumerate()
            .for_each(|(i, c)| f(i, c));
    } else {
        out.chunks_mut(chunk).enumerate().for_each(|(i, c)| f(i, c));
    }
}

/// Padding before the first element for a 'same' convolution with kernel `k`
/// (Keras and PyTorch put the odd extra element after).
pub(crate) fn same_pad(k: usize) -> usize {
    (k.saturating_sub(1)) / 2
}

// ---------------------------------------------------------------------------------------------
// im2col / col2im

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

// ---------------------------------------------------------------------------------------------
// Max pooling

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

// ---------------------------------------------------------------------------------------------
// Nearest-neighbour upsampling and its adjoint

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

// ---------------------------------------------------------------------------------------------
// Fused bias + ReLU

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

// ---------------------------------------------------------------------------------------------
// Tensor-level helpers

/// 'same' `kh × kw` patches of `x` (`[B, H, W, C]`), `[B, H, W, kh*kw*C]`.
pub(crate) fn im2col_t(x: &Tensor, kh: usize, kw: usize) -> CResult<Tensor> {
    x.contiguous()?.apply_op1(Im2Col { kh, kw })
}

/// The adjoint of [`im2col_t`]: `[B, H, W, kh*kw*C] -> [B, H, W, C]`.
pub(crate) fn col2im_t(x: &Tensor, kh: usize, kw: usize) -> CResult<Tensor> {
    x.contiguous()?.apply_op1(Col2Im { kh, kw })
}

/// Max pooling with ceil output size.
pub(crate) fn max_pool_t(x: &Tensor, ph: usize, pw: usize) -> CResult<Tensor> {
    if ph == 1 && pw == 1 {
        return Ok(x.clone());
    }
    x.contiguous()?.apply_op1(MaxPool { ph, pw })
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

    fn vec_of(t: &Tensor) -> Vec<f64> {
        t.flatten_all().unwrap().to_vec1::<f64>().unwrap()
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

    #[test]
    fn second_order_adjoints_have_gradients() {
        // col2im and sum-pool are used as backward passes; their own backward passes must be
        // their adjoints too.
        let g = rand_var(&[1, 3, 4, 18], 10);
        let r = rand_tensor(&[1, 3, 4, 2], 11);
        let f = || {
            (g.as_tensor().apply_op1(Col2Im { kh: 3, kw: 3 }).unwrap() * &r)
                .unwrap()
                .sum_all()
                .unwrap()
        };
        assert!(check(&[&g], f, 100) < 1e-6);
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
