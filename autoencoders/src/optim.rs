//! Optimisers: candle-nn's AdamW and an Adadelta written here (candle-nn has none), behind one
//! serialisable [`OptimizerConfig`].

use candle_core::backprop::GradStore;
use candle_core::{Tensor, Var};
use candle_nn::Optimizer;
use serde::{Deserialize, Serialize};

type CResult<T> = candle_core::Result<T>;

/// `OptimizerConfig` chooses the optimiser and its hyper-parameters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub enum OptimizerConfig {
    /// AdamW (decoupled weight decay), candle-nn's implementation.
    AdamW {
        /// Learning rate. A good starting point: `1e-3`.
        lr: f64,
        /// First-moment decay. Usually `0.9`.
        beta1: f64,
        /// Second-moment decay. Usually `0.999`.
        beta2: f64,
        /// Denominator term. Usually `1e-8`.
        eps: f64,
        /// Decoupled weight decay. A good starting point: `1e-4`.
        weight_decay: f64,
    },
    /// Adadelta, as in Keras (the published design's optimiser).
    Adadelta {
        /// Learning rate (Keras' published setting: `1.0`).
        lr: f64,
        /// Decay of the running averages. Keras: `0.95`.
        rho: f64,
        /// Denominator term. Keras: `1e-7`.
        eps: f64,
    },
}

impl Default for OptimizerConfig {
    /// AdamW with learning rate `1e-3` and weight decay `1e-4`.
    fn default() -> Self {
        Self::adamw(1e-3)
    }
}

impl OptimizerConfig {
    /// AdamW with learning rate `lr`, betas `(0.9, 0.999)`, eps `1e-8`, weight decay `1e-4`.
    #[must_use]
    pub fn adamw(lr: f64) -> Self {
        Self::AdamW {
            lr,
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            weight_decay: 1e-4,
        }
    }

    /// Adadelta with the Keras settings of the published design: `lr 1.0, rho 0.95, eps 1e-7`.
    #[must_use]
    pub fn adadelta() -> Self {
        Self::Adadelta {
            lr: 1.0,
            rho: 0.95,
            eps: 1e-7,
        }
    }

    pub(crate) fn build(&self, vars: Vec<Var>) -> CResult<AnyOptimizer> {
        Ok(match *self {
            Self::AdamW {
                lr,
                beta1,
                beta2,
                eps,
                weight_decay,
            } => {
                let p = candle_nn::ParamsAdamW {
                    lr,
                    beta1,
                    beta2,
                    eps,
                    weight_decay,
                };
                AnyOptimizer::AdamW(candle_nn::AdamW::new(vars, p)?)
            }
            Self::Adadelta { lr, rho, eps } => {
                AnyOptimizer::Adadelta(Adadelta::new(vars, ParamsAdadelta { lr, rho, eps })?)
            }
        })
    }

    pub(crate) fn validate(&self) -> crate::Result<()> {
        let ok = |x: f64| x.is_finite() && x >= 0.0;
        let good = match *self {
            Self::AdamW {
                lr,
                beta1,
                beta2,
                eps,
                weight_decay,
            } => {
                ok(lr)
                    && ok(eps)
                    && ok(weight_decay)
                    && (0.0..1.0).contains(&beta1)
                    && (0.0..1.0).contains(&beta2)
            }
            Self::Adadelta { lr, rho, eps } => ok(lr) && ok(eps) && (0.0..1.0).contains(&rho),
        };
        if good {
            Ok(())
        } else {
            Err(crate::Error::InvalidConfig {
                field: "optimizer",
                reason: format!("hyper-parameters out of range: {self:?}"),
            })
        }
    }
}

/// Either optimiser.
pub(crate) enum AnyOptimizer {
    AdamW(candle_nn::AdamW),
    Adadelta(Adadelta),
}

impl AnyOptimizer {
    pub(crate) fn step(&mut self, grads: &GradStore) -> CResult<()> {
        match self {
            Self::AdamW(o) => o.step(grads),
            Self::Adadelta(o) => o.step(grads),
        }
    }
}

/// Hyper-parameters of [`Adadelta`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ParamsAdadelta {
    /// Learning rate. Keras: `1.0`.
    pub lr: f64,
    /// Decay of the running averages. Keras: `0.95`.
    pub rho: f64,
    /// Denominator term. Keras: `1e-7`.
    pub eps: f64,
}

impl Default for ParamsAdadelta {
    fn default() -> Self {
        Self {
            lr: 1.0,
            rho: 0.95,
            eps: 1e-7,
        }
    }
}

struct AdadeltaState {
    var: Var,
    acc_grad: Tensor,
    acc_delta: Tensor,
}

/// Adadelta (Zeiler 2012) as Keras implements it:
/// `E[g²] ← ρ E[g²] + (1-ρ) g²`, `Δ = g √(E[Δ²] + ε) / √(E[g²] + ε)`,
/// `E[Δ²] ← ρ E[Δ²] + (1-ρ) Δ²`, `w ← w - lr Δ`.
pub struct Adadelta {
    state: Vec<AdadeltaState>,
    params: ParamsAdadelta,
}

impl std::fmt::Debug for Adadelta {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Adadelta")
            .field("vars", &self.state.len())
            .field("params", &self.params)
            .finish()
    }
}

impl Optimizer for Adadelta {
    type Config = ParamsAdadelta;

    fn new(vars: Vec<Var>, params: ParamsAdadelta) -> CResult<Self> {
        let state = vars
            .into_iter()
            .filter(|v| v.dtype().is_float())
            .map(|var| {
                let acc_grad = var.as_tensor().zeros_like()?;
                let acc_delta = var.as_tensor().zeros_like()?;
                Ok(AdadeltaState {
                    var,
                    acc_grad,
                    acc_delta,
                })
            })
            .collect::<CResult<Vec<_>>>()?;
        Ok(Self { state, params })
    }

    fn step(&mut self, grads: &GradStore) -> CResult<()> {
        let ParamsAdadelta { lr, rho, eps } = self.params;
        for s in &mut self.state {
            let Some(g) = grads.get(s.var.as_tensor()) else {
                continue;
            };
            let acc_grad = ((&s.acc_grad * rho)? + (g.sqr()? * (1.0 - rho))?)?;
            let delta = ((s.acc_delta.clone() + eps)?.sqrt()?
                / (acc_grad.clone() + eps)?.sqrt()?)?
            .mul(g)?;
            let acc_delta = ((&s.acc_delta * rho)? + (delta.sqr()? * (1.0 - rho))?)?;
            s.var.set(&(s.var.as_tensor() - (delta * lr)?)?)?;
            s.acc_grad = acc_grad.detach();
            s.acc_delta = acc_delta.detach();
        }
        Ok(())
    }

    fn learning_rate(&self) -> f64 {
        self.params.lr
    }

    fn set_learning_rate(&mut self, lr: f64) {
        self.params.lr = lr;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::{Device, Tensor};

    #[test]
    fn adadelta_matches_a_scalar_reference() {
        // Three steps on f(w) = w² / 2 (gradient w), compared with the formulas in plain f64.
        let var = Var::from_tensor(&Tensor::new(&[2.0f64], &Device::Cpu).unwrap()).unwrap();
        let mut opt = Adadelta::new(vec![var.clone()], ParamsAdadelta::default()).unwrap();
        let (mut w, mut eg, mut ed) = (2.0f64, 0.0f64, 0.0f64);
        let (rho, eps) = (0.95, 1e-7);
        for _ in 0..3 {
            let loss = (var.as_tensor().sqr().unwrap() * 0.5)
                .unwrap()
                .sum_all()
                .unwrap();
            opt.backward_step(&loss).unwrap();
            let g = w;
            eg = rho * eg + (1.0 - rho) * g * g;
            let d = g * (ed + eps).sqrt() / (eg + eps).sqrt();
            ed = rho * ed + (1.0 - rho) * d * d;
            w -= d;
        }
        let got = var.as_tensor().to_vec1::<f64>().unwrap()[0];
        assert!((got - w).abs() < 1e-12, "{got} vs {w}");
        assert!(w < 2.0);
    }
}
