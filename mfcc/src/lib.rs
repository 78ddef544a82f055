#![doc = include_str!("../README.md")]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod analyze;
mod config;
mod cue;
mod db;
mod decode;
mod error;
pub mod fastmath;
mod matrix;
mod mel;
mod mfcc;
mod power_fft;
mod resample;
mod sink;
mod source;
mod split_fft;
mod stft;
mod tags;
mod tiles;

pub use analyze::{Analysis, analyze};
pub use config::MfccConfig;
pub use cue::{CueSheet, CueTrack, MAX_CUE_BYTES, MAX_CUE_TRACKS};
pub use db::{DbRef, power_to_db};
pub use decode::{DecodeOptions, FileSource, load, mfcc_file};
pub use error::{Error, Result};
pub use matrix::Matrix;
pub use mel::{
    LogMelStage, MEL_DB_AMIN, MelBands, MelFilterbank, MelFrame, MelSink, MelStage, hz_to_mel,
    mel_to_hz,
};
pub use mfcc::{MfccSink, dct_ortho_matrix, mfcc_from_mel};
pub use power_fft::PowerFft;
pub use resample::Resampler;
pub use sink::{Frame, FrameCounter, FrameSink, StftSpec};
pub use source::{AudioSource, SliceSource, SourceSpec};
pub use stft::{Stft, hann_periodic};
pub use tags::{MAX_EXTRA_TAGS, MAX_TAG_CHARS, Tags};
pub use tiles::{PartialTile, Tile, TileSink, Tiler};
