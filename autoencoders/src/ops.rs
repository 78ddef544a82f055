//! Custom candle operations with hand-written backward passes, on channels-last `[B, H, W, C]`
//! tensors: `im2col` for convolution (the convolution itself is then one matrix product), max
//! pooling with `ceil` ("same") output size, and nearest-neighbour upsampling.
//!
//! Why not candle's own layers: on the CPU in candle 0.11 the weight gradient of `conv1d` is
//! wrong, `max_pool2d`'s backward pass is scaled by 1/(kernel area), there is no `max_pool1d`,
//! and `conv2d`'s input gradient goes through a slow transposed convolution. Each operation here
//! is checked against finite differences in the tests. All kernels write disjoint output chunks in
//! parallel, so results do not depend on the thread count.
//!
//! One submodule per operation (`im2col`, `maxpool`, `upsample`, `bias_relu`), each with its
//! tests; this file holds the kernel helpers they share.

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

mod bias_relu;
mod im2col;
mod maxpool;
mod upsample;

pub(crate) use bias_relu::bias_relu_t;
pub(crate) use im2col::{col2im_t, im2col_t};
pub(crate) use maxpool::max_pool_t;
pub(crate) use upsample::upsample_t;

/// The values of `t`, flattened, as f64 (tests only).
#[cfg(test)]
fn vec_of(t: &candle_core::Tensor) -> Vec<f64> {
    t.flatten_all().unwrap().to_vec1::<f64>().unwrap()
}
