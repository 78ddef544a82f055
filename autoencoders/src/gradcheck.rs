//! Finite-difference gradient checks (tests only), in f64, for every layer type and loss.

use candle_core::{DType, Device, Tensor, Var};

/// Central differences of `f` at `vars`, compared with candle's backward pass on up to
/// `samples` entries of every variable. Returns the largest relative error
/// `|a - n| / max(|a| + |n|, 1e-4)` (the floor keeps rounding noise on near-zero gradients from counting).
pub(crate) fn check<F>(vars: &[&Var], f: F, samples: usize) -> f64
where
    F: Fn() -> Tensor,
{
    let loss = f();
    let grads = loss.backward().unwrap();
    let h = 1e-5;
    let mut worst: f64 = 0.0;
    let mut rng = crate::rng::Rng::new(99);
    for &v in vars {
        let analytic = match grads.get(v.as_tensor()) {
            Some(g) => g.flatten_all().unwrap().to_vec1::<f64>().unwrap(),
            None => vec![0.0; v.elem_count()],
        };
        let base = v
            .as_tensor()
            .flatten_all()
            .unwrap()
            .to_vec1::<f64>()
            .unwrap();
        let n = base.len();
        let idx: Vec<usize> = if n <= samples {
            (0..n).collect()
        } else {
            (0..samples).map(|_| rng.below(n)).collect()
        };
        for i in idx {
            let mut p = base.clone();
            p[i] += h;
            v.set(&Tensor::from_vec(p.clone(), v.shape(), &Device::Cpu).unwrap())
                .unwrap();
            let fp = f().to_scalar::<f64>().unwrap();
            p[i] -= 2.0 * h;
            v.set(&Tensor::from_vec(p, v.shape(), &Device::Cpu).unwrap())
                .unwrap();
            let fm = f().to_scalar::<f64>().unwrap();
            v.set(&Tensor::from_vec(base.clone(), v.shape(), &Device::Cpu).unwrap())
                .unwrap();
            let numeric = (fp - fm) / (2.0 * h);
            let a = analytic[i];
            let err = (a - numeric).abs() / (a.abs() + numeric.abs()).max(1e-4);
            worst = worst.max(err);
        }
    }
    eprintln!("gradient check: worst relative error {worst:.2e}");
    worst
}

/// A random f64 variable with entries uniform in `[-1, 1)`.
pub(crate) fn rand_var(shape: &[usize], seed: u64) -> Var {
    let mut rng = crate::rng::Rng::new(seed);
    let n: usize = shape.iter().product();
    let v: Vec<f64> = (0..n).map(|_| rng.uniform_range(-1.0, 1.0)).collect();
    Var::from_tensor(&Tensor::from_vec(v, shape, &Device::Cpu).unwrap()).unwrap()
}

/// A random constant f64 tensor (the weights of a linear functional on an output).
pub(crate) fn rand_tensor(shape: &[usize], seed: u64) -> Tensor {
    rand_var(shape, seed)
        .as_tensor()
        .detach()
        .to_dtype(DType::F64)
        .unwrap()
}
