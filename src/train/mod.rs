//! Training a [`Model`](crate::Model) from a set of tracks: features once, then the tile
//! autoencoder, the fusion statistics and the optional fused-vector autoencoder.
//!
//! By concern: the options and presets ([`TrainOptions`], [`ExtractOptions`]), the data a
//! pass keeps of each track ([`TrackData`], [`extract_all`]) and the band statistics fitted on
//! it, a track's tiles and the learned stage's views of it, and the fitting of a model
//! ([`train_model`], [`refit_fusion`], [`continue_training`]) and its use on extracted data
//! ([`embed_track_data`]).

mod data;
mod fit;
mod options;
mod views;

pub use data::{
    TrackData, audio_files, extract_all, extract_track_data, fit_band_stats, fit_unit_range,
    group_ids,
};
pub use fit::{continue_training, embed_track_data, refit_fusion, train_model};
pub use options::{
    ExtractOptions, FusionRecipe, TileScaling, TrainOptions, VectorArchitecture, VectorTraining,
    shipped_augment,
};
pub use views::{tile_block, tile_block_of};

pub use crate::artist::artist_mean_std;
