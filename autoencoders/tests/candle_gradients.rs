//! candle's own CPU layers against central finite differences in f64: the reason this crate
//! computes convolution and pooling with its own operations (see the README, "Why the crate has
//! its own convolution and pooling").
//!
//! These tests pin candle's current behaviour, wrong gradients included. If one of them fails
//! after a candle upgrade, candle has changed (perhaps fixed): re-check whether the custom
//! operations are still needed, and update the README and these expectations.
//! `cargo test -p sonority-autoencoders --test tests candle_gradients -- --nocapture` prints
//! the worst relative error of every gradient.

use candle_core::{DType, Device, Tensor, Var};
use sonority_testkit::Rng;

type Res<T> = anyhow::Result<T>;

/// A tensor of uniform values in [-1, 1), f64, on the CPU.
fn rand(shape: &[usize], seed: u64) -> Res<Tensor> {
    let mut rng = Rng::new(seed);
    let n: usize = shape.iter().product();
    let v: Vec<f64> = (0..n).map(|_| rng.next_f64() * 2.0 - 1.0).collect();
    Ok(Tensor::from_vec(v, shape, &Device::Cpu)?)
}

/// Worst relative error between candle's gradient of `f` and central differences, per variable
/// (over its first 200 elements).
fn audit(vars: &[&Var], f: &dyn Fn() -> Res<Tensor>) -> Res<Vec<f64>> {
    let grads = f()?.backward()?;
    let mut out = Vec::new();
    for v in vars {
        let g = match grads.get(v.as_tensor()) {
            Some(g) => g.flatten_all()?.to_vec1::<f64>()?,
            None => vec![0.0; v.elem_count()],
        };
        let base = v.as_tensor().flatten_all()?.to_vec1::<f64>()?;
        let mut worst: f64 = 0.0;
        for i in 0..base.len().min(200) {
            let mut p = base.clone();
            p[i] += 1e-5;
            v.set(&Tensor::from_vec(p.clone(), v.shape(), &Device::Cpu)?)?;
            let fp = f()?.to_scalar::<f64>()?;
            p[i] -= 2e-5;
            v.set(&Tensor::from_vec(p, v.shape(), &Device::Cpu)?)?;
            let fm = f()?.to_scalar::<f64>()?;
            v.set(&Tensor::from_vec(base.clone(), v.shape(), &Device::Cpu)?)?;
            let n = (fp - fm) / 2e-5;
            worst = worst.max((g[i] - n).abs() / (g[i].abs() + n.abs()).max(1e-4));
        }
        out.push(worst);
    }
    Ok(out)
}

/// A correct gradient agrees with finite differences in f64 to this relative error.
const RIGHT: f64 = 1e-4;
/// A wrong one is off by far more than this.
const WRONG: f64 = 0.1;

#[test]
fn candle_conv1d_weight_gradient_is_wrong() -> Res<()> {
    let x = Var::from_tensor(&rand(&[2, 3, 9], 1)?)?;
    let w = Var::from_tensor(&rand(&[4, 3, 3], 2)?)?;
    let r = rand(&[2, 4, 9], 3)?;
    let e = audit(&[&x, &w], &|| {
        Ok((x.as_tensor().conv1d(w.as_tensor(), 1, 1, 1, 1)? * &r)?.sum_all()?)
    })?;
    println!(
        "candle conv1d (k3, pad 1): input grad {:.1e}, weight grad {:.1e}",
        e[0], e[1]
    );
    assert!(e[0] < RIGHT, "conv1d input gradient: {:.1e}", e[0]);
    assert!(
        e[1] > WRONG,
        "candle's conv1d weight gradient is now right ({:.1e}): re-check the custom operations",
        e[1]
    );
    Ok(())
}

#[test]
fn candle_conv2d_gradients_are_right() -> Res<()> {
    let x = Var::from_tensor(&rand(&[2, 3, 6, 7], 4)?)?;
    let w = Var::from_tensor(&rand(&[4, 3, 3, 3], 5)?)?;
    let r = rand(&[2, 4, 6, 7], 6)?;
    let e = audit(&[&x, &w], &|| {
        Ok((x.as_tensor().conv2d(w.as_tensor(), 1, 1, 1, 1)? * &r)?.sum_all()?)
    })?;
    println!(
        "candle conv2d (3x3, pad 1): input grad {:.1e}, weight grad {:.1e}",
        e[0], e[1]
    );
    assert!(e[0] < RIGHT, "conv2d input gradient: {:.1e}", e[0]);
    assert!(e[1] < RIGHT, "conv2d weight gradient: {:.1e}", e[1]);
    Ok(())
}

#[test]
fn candle_max_pool2d_input_gradient_is_scaled_down() -> Res<()> {
    let x = Var::from_tensor(&rand(&[2, 3, 6, 8], 7)?)?;
    let r = rand(&[2, 3, 3, 4], 8)?;
    let e = audit(&[&x], &|| {
        Ok((x.as_tensor().max_pool2d(2)? * &r)?.sum_all()?)
    })?;
    println!("candle max_pool2d (2x2): input grad {:.1e}", e[0]);
    assert!(
        e[0] > WRONG,
        "candle's max_pool2d input gradient is now right ({:.1e}): re-check the custom operations",
        e[0]
    );

    // An all-ones output gradient should route exactly one 1 per output cell to its maximum:
    // 2 * 3 * 3 * 4 = 72 in all. candle spreads 1/(kernel area) over the window instead.
    let grads = (x.as_tensor().max_pool2d(2)?.sum_all()?).backward()?;
    let g = grads
        .get(x.as_tensor())
        .ok_or_else(|| anyhow::anyhow!("no gradient for the pooled input"))?;
    let total = g.sum_all()?.to_dtype(DType::F64)?.to_scalar::<f64>()?;
    let exact = f64::from(2 * 3 * 3 * 4);
    println!(
        "  sum of the input gradient for an all-ones output gradient: {total} (exact: {exact})"
    );
    assert!(
        (total - exact / 4.0).abs() < 1e-9,
        "candle's max_pool2d gradient sum is now {total} (was {}, exact {exact})",
        exact / 4.0
    );
    Ok(())
}

#[test]
fn candle_upsample_nearest2d_gradient_is_right() -> Res<()> {
    let x = Var::from_tensor(&rand(&[2, 3, 4, 4], 9)?)?;
    let r = rand(&[2, 3, 8, 8], 10)?;
    let e = audit(&[&x], &|| {
        Ok((x.as_tensor().upsample_nearest2d(8, 8)? * &r)?.sum_all()?)
    })?;
    println!("candle upsample_nearest2d (x2): input grad {:.1e}", e[0]);
    assert!(
        e[0] < RIGHT,
        "upsample_nearest2d input gradient: {:.1e}",
        e[0]
    );
    Ok(())
}
