//! # sonority
//!
//! Content-based music recommendation: "songs that sound like this one", from the audio alone.
//!
//! ```
//! use sonority::mfcc::SliceSource;
//! use sonority::{Analyzer, Model};
//!
//! let model = Model::load_default()?; // the shipped default, no training needed
//! let tone: Vec<f32> = (0..5 * 22_050).map(|i| (i as f32 * 0.0627).sin() * 0.3).collect();
//! let a = Analyzer::new(&model).analyze_source(&mut SliceSource::new(&tone, 22_050))?;
//! assert_eq!(a.vector.len(), model.output_dim()); // standardised fused vector, ready for cosine
//! # Ok::<(), sonority::Error>(())
//! ```
//!
//! For a music folder, [`Library`] indexes into an embedded SQLite database and recommends
//! (the `recommend` example; the `sonority` command of `sonority-cli` does it from the shell).
//!
//! ## The pipeline
//!
//! decode (symphonia, streaming) → one STFT pass feeding every consumer → log-mel tiles →
//! tile autoencoder (candle) → mean and std over the track → fused with MFCC statistics, key,
//! tempo and roll-off, each block standardised and weighted → final vector → SQLite →
//! exact cosine top-k. The one design decision: **every block is standardised on a training set
//! and weighted before the cosine**, so no feature's unit (Hz, BPM) can drown the others, which
//! is what made the published design rank by roll-off alone.
//!
//! ## Features
//!
//! | feature | crate | default |
//! |---|---|---|
//! | `mfcc` | [`sonority-mfcc`](mfcc): decoding, STFT, mel, MFCC | yes |
//! | `fusion` | [`sonority-fusion`](fusion): key, tempo, roll-off, standardised fusion | yes |
//! | `autoencoders` | [`sonority-autoencoders`](autoencoders): candle Conv1D/Conv2D autoencoders | yes |
//! | `store` | [`sonority-store`](store): embedded SQLite library | yes |
//! | `similarity` | [`sonority-similarity`](similarity): exact cosine ranking | yes |
//! | `full` | all of the above ([`Analyzer`], [`Library`], [`Model`], [`train`]) | yes |
//! | `postgres` | PostgreSQL catalogue and work queue for many indexing machines (`distributed`) | no |
#![cfg_attr(docsrs, feature(doc_cfg))]

mod error;
pub mod eval;
mod parallel;
mod rng;
#[cfg(feature = "mfcc")]
mod sheets;
#[cfg(all(feature = "autoencoders", feature = "fusion"))]
pub mod train;
mod walk;

#[cfg(feature = "mfcc")]
mod logmel;

#[cfg(all(feature = "autoencoders", feature = "fusion"))]
mod analyzer;
#[cfg(all(feature = "autoencoders", feature = "mfcc"))]
mod artist;
#[cfg(all(feature = "autoencoders", feature = "fusion"))]
mod blocks;
#[cfg(feature = "full")]
mod catalogue;
#[cfg(all(feature = "full", feature = "postgres"))]
pub mod distributed;
#[cfg(feature = "full")]
mod fingerprint;
#[cfg(feature = "full")]
mod indexer;
#[cfg(feature = "full")]
mod library;
#[cfg(feature = "full")]
pub mod m3u;
#[cfg(all(feature = "autoencoders", feature = "fusion"))]
pub mod model;
#[cfg(feature = "autoencoders")]
mod moments;
#[cfg(all(feature = "autoencoders", feature = "fusion"))]
mod pipeline;
#[cfg(feature = "autoencoders")]
mod pooler;
#[cfg(feature = "full")]
mod queries;
#[cfg(all(feature = "autoencoders", feature = "fusion"))]
mod stage_explain;

#[cfg(all(feature = "autoencoders", feature = "fusion"))]
pub use analyzer::{Analyzer, TrackAnalysis};
#[cfg(feature = "full")]
pub use catalogue::Recommendation;
pub use error::{Error, Result};
#[cfg(feature = "full")]
pub use library::{IndexOptions, IndexProgress, IndexReport, Library};
#[cfg(all(feature = "autoencoders", feature = "fusion"))]
pub use model::Model;
pub use parallel::StopFlag;

/// A catalogue loaded for ranking, from any store and without a [`Library`]: ranking for
/// [`Anchor`](ranking::Anchor)s, playlists, paths and albums over a
/// [`CatalogueIndex`](ranking::CatalogueIndex) (what [`Library::with_catalogue`] hands out, what
/// the `distributed` catalogue and the `sonority serve` server rank from), and the lists and
/// the status a [`Library`] answers with.
#[cfg(feature = "full")]
pub mod ranking {
    pub use crate::catalogue::{Anchor, CatalogueIndex, PlaylistTrack, meta_of};
    pub use crate::queries::{AlbumMatch, LibraryStatus};
}

/// The traits of the pipeline's seams, and the entry points, in one import.
///
/// ```
/// use sonority::prelude::*;
/// # fn f(_: &dyn FrameSink, _: &dyn AudioSource) {}
/// ```
pub mod prelude {
    #[cfg(feature = "full")]
    pub use crate::{Analyzer, IndexOptions, Library, Model, StopFlag};
    #[cfg(feature = "autoencoders")]
    pub use sonority_autoencoders::Encoder;
    #[cfg(feature = "fusion")]
    pub use sonority_fusion::FeatureExtractor;
    #[cfg(feature = "mfcc")]
    pub use sonority_mfcc::{AudioSource, FrameSink};
    #[cfg(feature = "similarity")]
    pub use sonority_similarity::Ranker;
    #[cfg(feature = "store")]
    pub use sonority_store::{Catalogue, VectorStore};
}

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
