//! Checks candle's own CPU layers against finite differences in f64 and prints the worst
//! relative error of each gradient: the reason this crate computes convolution and pooling with
//! its own operations.
//!
//! `cargo run --release -p sonority-autoencoders --example candle_gradient_audit`

use candle_core::{DType, Device, Tensor, Var};

type Res<T> = Result<T, Box<dyn std::error::Error>>;

fn rand(shape: &[usize], seed: u64) -> Res<Tensor> {
    let mut s = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let n: usize = shape.iter().product();
    let v: Vec<f64> = (0..n)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            (s >> 11) as f64 / (1u64 << 53) as f64 * 2.0 - 1.0
        })
        .collect();
    Ok(Tensor::from_vec(v, shape, &Device::Cpu)?)
}

/// Worst relative error between candle's gradient of `f` and central differences, per variable.
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

fn run() -> Res<()> {
    let x = Var::from_tensor(&rand(&[2, 3, 9], 1)?)?;
    let w = Var::from_tensor(&rand(&[4, 3, 3], 2)?)?;
    let r = rand(&[2, 4, 9], 3)?;
    let e = audit(&[&x, &w], &|| {
        Ok((x.as_tensor().conv1d(w.as_tensor(), 1, 1, 1, 1)? * &r)?.sum_all()?)
    })?;
    println!(
        "candle conv1d (k3, pad 1):      input grad {:.1e}, weight grad {:.1e}",
        e[0], e[1]
    );

    let x = Var::from_tensor(&rand(&[2, 3, 6, 7], 4)?)?;
    let w = Var::from_tensor(&rand(&[4, 3, 3, 3], 5)?)?;
    let r = rand(&[2, 4, 6, 7], 6)?;
    let e = audit(&[&x, &w], &|| {
        Ok((x.as_tensor().conv2d(w.as_tensor(), 1, 1, 1, 1)? * &r)?.sum_all()?)
    })?;
    println!(
        "candle conv2d (3x3, pad 1):     input grad {:.1e}, weight grad {:.1e}",
        e[0], e[1]
    );

    let x = Var::from_tensor(&rand(&[2, 3, 6, 8], 7)?)?;
    let r = rand(&[2, 3, 3, 4], 8)?;
    let e = audit(&[&x], &|| {
        Ok((x.as_tensor().max_pool2d(2)? * &r)?.sum_all()?)
    })?;
    println!("candle max_pool2d (2x2):        input grad {:.1e}", e[0]);
    let grads = (x.as_tensor().max_pool2d(2)?.sum_all()?).backward()?;
    if let Some(g) = grads.get(x.as_tensor()) {
        let total = g.sum_all()?.to_dtype(DType::F64)?.to_scalar::<f64>()?;
        println!(
            "  sum of max_pool2d input grad for an all-ones output grad: {total} (exact: {})",
            2 * 3 * 3 * 4
        );
    }

    let x = Var::from_tensor(&rand(&[2, 3, 4, 4], 9)?)?;
    let r = rand(&[2, 3, 8, 8], 10)?;
    let e = audit(&[&x], &|| {
        Ok((x.as_tensor().upsample_nearest2d(8, 8)? * &r)?.sum_all()?)
    })?;
    println!("candle upsample_nearest2d (x2): input grad {:.1e}", e[0]);
    Ok(())
}

fn main() {
    if let Err(e) = run() {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}
