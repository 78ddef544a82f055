//! Parameter creation: a `VarBuilder` backend that draws initial weights from the crate's seeded
//! generator (candle's CPU initialisers cannot be seeded).

use crate::rng::Rng;
use candle_core::{DType, Device, Shape, Tensor, Var, bail};
use candle_nn::{Init, VarMap, var_builder::SimpleBackend};
use std::sync::Mutex;

type CResult<T> = candle_core::Result<T>;

/// A `VarMap` whose missing entries are created from a seeded generator, in the order the model
/// asks for them.
pub(crate) struct SeededBackend {
    map: VarMap,
    rng: Mutex<Rng>,
}

impl SeededBackend {
    pub(crate) fn new(map: VarMap, seed: u64) -> Self {
        Self {
            map,
            rng: Mutex::new(Rng::new(seed)),
        }
    }
}

impl SimpleBackend for SeededBackend {
    fn get(&self, s: Shape, name: &str, h: Init, dtype: DType, dev: &Device) -> CResult<Tensor> {
        let Ok(mut data) = self.map.data().lock() else {
            bail!("parameter map lock poisoned")
        };
        if let Some(v) = data.get(name) {
            if v.shape() != &s {
                bail!("shape mismatch on {name}: {s:?} <> {:?}", v.shape())
            }
            return Ok(v.as_tensor().clone());
        }
        let Ok(mut rng) = self.rng.lock() else {
            bail!("generator lock poisoned")
        };
        let n = s.elem_count();
        let vals: Vec<f64> = match h {
            Init::Const(c) => vec![c; n],
            Init::Uniform { lo, up } => (0..n).map(|_| rng.uniform_range(lo, up)).collect(),
            Init::Randn { mean, stdev } => (0..n).map(|_| mean + stdev * rng.normal()).collect(),
            Init::Kaiming { .. } => bail!("kaiming init is not supported by the seeded backend"),
        };
        let t = Tensor::from_vec(vals, s, dev)?.to_dtype(dtype)?;
        let var = Var::from_tensor(&t)?;
        let out = var.as_tensor().clone();
        data.insert(name.to_string(), var);
        Ok(out)
    }

    fn get_unchecked(&self, name: &str, _dtype: DType, _dev: &Device) -> CResult<Tensor> {
        let Ok(data) = self.map.data().lock() else {
            bail!("parameter map lock poisoned")
        };
        match data.get(name) {
            Some(v) => Ok(v.as_tensor().clone()),
            None => bail!("missing parameter {name}"),
        }
    }

    fn contains_tensor(&self, name: &str) -> bool {
        self.map
            .data()
            .lock()
            .map(|d| d.contains_key(name))
            .unwrap_or(false)
    }
}
