//! [`DecodeOptions`]: the rate to deliver and the limits applied to untrusted files.

use crate::{Error, Result};

/// Options for decoding a file into mono samples at the analysis rate.
///
/// # Examples
/// ```
/// use sonority_mfcc::DecodeOptions;
/// let opts = DecodeOptions::default().with_sample_rate(16_000).with_max_duration_s(Some(600.0));
/// assert_eq!(opts.max_channels, 32);
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct DecodeOptions {
    /// Rate of the delivered samples in Hz; the stream is resampled to it. Default: `22050`.
    pub sample_rate: u32,
    /// Longest audio accepted, in seconds of decoded audio (not the container's claim); longer
    /// files give [`Error::Limit`] when decoding passes the limit. `None` accepts any length
    /// (memory does not grow with length). Default: `None`.
    pub max_duration_s: Option<f64>,
    /// Most channels accepted. Default: `32`.
    pub max_channels: usize,
    /// Highest original sample rate accepted, in Hz. Raising it lets hostile headers ask for
    /// larger resampler buffers. Default: `768000`.
    pub max_sample_rate: u32,
    /// Lowest original sample rate accepted, in Hz. A header claiming a lower rate (1 Hz, say)
    /// would make a few bytes of audio resample to millions of samples; lowering it accepts
    /// more such files. Default: `4000`.
    pub min_sample_rate: u32,
    /// Malformed packets skipped in a row before the file is given up. Default: `64`.
    pub max_consecutive_errors: usize,
    /// Smallest part of the container's declared length that a truncated file must still hold
    /// to be kept, in `[0, 1]`; `0.0` keeps any truncated file. Default: `0.1`.
    pub min_truncated_fraction: f64,
}

impl Default for DecodeOptions {
    fn default() -> Self {
        Self {
            sample_rate: 22_050,
            max_duration_s: None,
            max_channels: 32,
            max_sample_rate: 768_000,
            min_sample_rate: 4_000,
            max_consecutive_errors: 64,
            min_truncated_fraction: 0.1,
        }
    }
}

impl DecodeOptions {
    /// Sets [`sample_rate`](Self::sample_rate).
    #[must_use]
    pub fn with_sample_rate(mut self, sample_rate: u32) -> Self {
        self.sample_rate = sample_rate;
        self
    }
    /// Sets [`max_duration_s`](Self::max_duration_s).
    #[must_use]
    pub fn with_max_duration_s(mut self, max_duration_s: Option<f64>) -> Self {
        self.max_duration_s = max_duration_s;
        self
    }
    /// Sets [`max_channels`](Self::max_channels).
    #[must_use]
    pub fn with_max_channels(mut self, max_channels: usize) -> Self {
        self.max_channels = max_channels;
        self
    }
    /// Sets [`max_sample_rate`](Self::max_sample_rate).
    #[must_use]
    pub fn with_max_sample_rate(mut self, max_sample_rate: u32) -> Self {
        self.max_sample_rate = max_sample_rate;
        self
    }
    /// Sets [`min_sample_rate`](Self::min_sample_rate).
    #[must_use]
    pub fn with_min_sample_rate(mut self, min_sample_rate: u32) -> Self {
        self.min_sample_rate = min_sample_rate;
        self
    }
    /// Sets [`max_consecutive_errors`](Self::max_consecutive_errors).
    #[must_use]
    pub fn with_max_consecutive_errors(mut self, max_consecutive_errors: usize) -> Self {
        self.max_consecutive_errors = max_consecutive_errors;
        self
    }

    /// Sets [`min_truncated_fraction`](Self::min_truncated_fraction).
    #[must_use]
    pub fn with_min_truncated_fraction(mut self, min_truncated_fraction: f64) -> Self {
        self.min_truncated_fraction = min_truncated_fraction;
        self
    }

    /// Checks that every value is in range.
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] naming the first bad field.
    pub fn validate(&self) -> Result<()> {
        if self.sample_rate == 0 {
            return Err(Error::config("sample_rate", "must be positive"));
        }
        if self.max_channels == 0 {
            return Err(Error::config("max_channels", "must be at least 1"));
        }
        if self.max_sample_rate == 0 {
            return Err(Error::config("max_sample_rate", "must be positive"));
        }
        if self.min_sample_rate == 0 {
            return Err(Error::config("min_sample_rate", "must be positive"));
        }
        if self.min_sample_rate > self.max_sample_rate {
            return Err(Error::config(
                "min_sample_rate",
                format!(
                    "must be at most max_sample_rate ({} Hz), got {} Hz",
                    self.max_sample_rate, self.min_sample_rate
                ),
            ));
        }
        if !(0.0..=1.0).contains(&self.min_truncated_fraction) {
            return Err(Error::config(
                "min_truncated_fraction",
                format!("must be in [0, 1], got {}", self.min_truncated_fraction),
            ));
        }
        if let Some(d) = self.max_duration_s
            && !(d.is_finite() && d > 0.0)
        {
            return Err(Error::config(
                "max_duration_s",
                format!("must be finite and positive, got {d}"),
            ));
        }
        Ok(())
    }
}
