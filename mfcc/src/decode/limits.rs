//! The limits of [`DecodeOptions`] on channels and sample rates, as typed errors naming the
//! file.

use std::path::Path;

use super::errors::decode_err;
use crate::resample::{MAX_RESAMPLE_RATIO, ratio_ok};
use crate::{DecodeOptions, Error, Result};

pub(super) fn check_channels(path: &Path, channels: usize, max: usize) -> Result<()> {
    if channels == 0 {
        return Err(decode_err(path, "zero channels"));
    }
    if channels > max {
        return Err(Error::Limit {
            path: path.to_path_buf(),
            reason: format!("{channels} channels, at most {max} allowed"),
        });
    }
    Ok(())
}

pub(super) fn check_rate(path: &Path, rate: u32, opts: &DecodeOptions) -> Result<()> {
    check_rate_in(path, rate, (opts.min_sample_rate, opts.max_sample_rate))
}

/// Rejects an original rate outside `min..=max` with [`Error::Limit`].
pub(super) fn check_rate_in(path: &Path, rate: u32, (min, max): (u32, u32)) -> Result<()> {
    if !(min..=max).contains(&rate) {
        return Err(Error::Limit {
            path: path.to_path_buf(),
            reason: format!("sample rate {rate} Hz, outside the {min}..={max} Hz allowed"),
        });
    }
    Ok(())
}

/// Rejects a resampling ratio whose buffers would be too large (see
/// [`MAX_RESAMPLE_RATIO`]): only reachable when the rate limits are widened.
pub(super) fn check_ratio(path: &Path, rate: u32, out_rate: u32) -> Result<()> {
    if !ratio_ok(rate, out_rate) {
        return Err(Error::Limit {
            path: path.to_path_buf(),
            reason: format!(
                "resampling {rate} Hz to {out_rate} Hz is a ratio above {MAX_RESAMPLE_RATIO}"
            ),
        });
    }
    Ok(())
}
