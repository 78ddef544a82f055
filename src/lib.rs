//! # sonority
//!
//! Content-based music recommendation: decode → mel spectrogram → autoencoders → fused vector →
//! SQLite → cosine ranking.
#![cfg_attr(docsrs, feature(doc_cfg))]

mod error;
pub mod eval;
pub mod parallel;
pub mod scan;
#[cfg(all(feature = "autoencoders", feature = "fusion"))]
pub mod train;

#[cfg(feature = "mfcc")]
pub mod logmel;
#[cfg(feature = "mfcc")]
pub mod stats;

#[cfg(all(feature = "autoencoders", feature = "fusion"))]
mod analyzer;
#[cfg(all(feature = "full", feature = "postgres"))]
pub mod distributed;
#[cfg(feature = "full")]
mod library;
#[cfg(all(feature = "autoencoders", feature = "fusion"))]
pub mod model;
#[cfg(feature = "autoencoders")]
pub mod pooler;
#[cfg(feature = "full")]
mod ranking;

#[cfg(all(feature = "autoencoders", feature = "fusion"))]
pub use analyzer::{Analyzer, BLOCKS, TrackAnalysis, final_vector, timbre_config};
pub use error::{Error, Result};
#[cfg(feature = "full")]
pub use library::{IndexOptions, IndexProgress, IndexReport, Library, Recommendation};
#[cfg(all(feature = "autoencoders", feature = "fusion"))]
pub use model::{FinalStage, Model, ModelHeader};
#[cfg(feature = "full")]
pub use ranking::CatalogueIndex;

#[cfg(feature = "autoencoders")]
pub use sonority_autoencoders as autoencoders;
#[cfg(feature = "fusion")]
pub use sonority_fusion as fusion;
#[cfg(feature = "mfcc")]
pub use sonority_mfcc as mfcc;
#[cfg(feature = "similarity")]
pub use sonority_similarity as similarity;
#[cfg(feature = "store")]
pub use sonority_store as store;
