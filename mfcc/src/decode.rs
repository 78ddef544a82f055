//! Audio files as an [`AudioSource`](crate::AudioSource): symphonia demuxes and decodes,
//! packets are downmixed to mono and resampled to the analysis rate, chunk by chunk.
//!
//! One module per concern: [`DecodeOptions`] (`options`), [`FileSource`] (`source`), the
//! whole-file helpers [`load`] and [`mfcc_file`] (`whole`), opening untrusted paths (`open`),
//! downmixing (`downmix`), the limits (`limits`) and symphonia's errors (`errors`).

mod downmix;
mod errors;
mod limits;
pub(crate) mod open;
mod options;
mod source;
mod whole;

pub use options::DecodeOptions;
pub use source::FileSource;
pub use whole::{load, mfcc_file};
