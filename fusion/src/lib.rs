#![doc = include_str!("../README.md")]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod chroma;
mod descriptors;
mod error;
mod extractor;
mod fusion;
mod key;
mod lanes;
mod onset;
mod rolloff;
mod spectral;
mod tempo;
mod timbre;

pub use chroma::ChromaSink;
pub use descriptors::{DescriptorSummary, Descriptors};
pub use error::{Error, Result};
pub use extractor::FeatureExtractor;
pub use fusion::{
    Block, BlockScaling, BlockSpec, Fusion, Layout, Standardization, published_descriptors,
};
pub use key::{Key, KeyEstimate, KeyProfile, KeySink, Mode, PITCH_NAMES, encode_key, estimate_key};
pub use onset::OnsetEnvelope;
pub use rolloff::{ROLLOFF_FLOOR_HZ, RolloffSink, RolloffStats, rolloff_hz};
pub use spectral::{
    LOUDNESS_FLOOR_DB, SpectralSink, SpectralStats, frame_rms, spectral_centroid_hz,
    spectral_flatness,
};
pub use tempo::{
    TempoConfig, TempoEstimate, TempoSink, encode_tempo, estimate_tempo, estimate_tempo_with_bands,
};
pub use timbre::{TIMBRE_DB_FLOOR, TimbreSink};
