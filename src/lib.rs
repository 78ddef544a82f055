//! # sonority
//!
//! Content-based music recommendation: decode → mel spectrogram → autoencoders → fused vector →
//! SQLite → cosine ranking.
#![cfg_attr(docsrs, feature(doc_cfg))]

mod error;
pub mod eval;
#[cfg(feature = "mfcc")]
pub mod logmel;
pub mod parallel;
pub mod scan;
#[cfg(feature = "mfcc")]
pub mod stats;

pub use error::{Error, Result};

#[cfg(feature = "mfcc")]
pub use sonority_mfcc as mfcc;
