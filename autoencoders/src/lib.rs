#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]

mod artist;
mod artist_tune;
mod config;
mod contrastive;
mod data;
mod error;
mod gaussian;
#[cfg(test)]
mod gradcheck;
mod infer;
mod layers;
mod model;
mod ops;
mod optim;
mod params;
mod persist;
mod rng;
mod threads;
mod train;
mod train_config;
mod traits;

pub use artist::{ARTIST_BANDS, ARTIST_DIM, ARTIST_SEGMENT_FRAMES, ArtistEncoder};
pub use artist_tune::{ArtistFineTune, FineTuneReport};
pub use candle_core::{DType, Device, Tensor};
pub use config::{Activation, ConvAeConfig, Embedding, Geometry, OutputLoss};
pub use contrastive::{ContrastiveConfig, Positives};
pub use data::{Augment, TrackMatrix};
pub use error::{Error, Result};
pub use gaussian::GaussianModel;
pub use model::ConvAutoencoder;
pub use optim::{Adadelta, OptimizerConfig, ParamsAdadelta};
pub use persist::{FORMAT_NAME, FORMAT_VERSION};
pub use threads::SerialMatmul;
pub use train::{Trained, fine_tune_tiles, train_tiles, train_vector_views, train_vectors};
pub use train_config::{EpochStats, Progress, ProgressKind, Provenance, StopReason, TrainConfig};
pub use traits::{Autoencoder, Encoder};
