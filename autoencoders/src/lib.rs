#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]

mod config;
mod error;
#[cfg(test)]
mod gradcheck;
mod layers;
mod model;
mod ops;
mod params;
mod rng;
mod traits;

pub use candle_core::{DType, Device, Tensor};
pub use config::{Activation, ConvAeConfig, Embedding, Geometry, OutputLoss};
pub use error::{Error, Result};
pub use model::ConvAutoencoder;
pub use traits::{Autoencoder, Encoder};
