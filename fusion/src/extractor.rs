//! The `FeatureExtractor` trait: a frame sink that yields one named block of fixed length.

use sonority_mfcc::FrameSink;

use crate::{Error, Result};

/// A [`FrameSink`] that, once the pass is over, writes one named block of `dim()` values.
///
/// Key, tempo, roll-off and the spectral statistics are extractors. [`Fusion`](crate::Fusion)
/// standardises and weights blocks without knowing which extractor made which: the block name is
/// the link between the two.
///
/// # Examples
/// ```
/// use sonority_fusion::{FeatureExtractor, RolloffSink};
/// use sonority_mfcc::{MfccConfig, SliceSource, analyze};
/// let tone: Vec<f32> = (0..22_050).map(|i| (i as f32 * 0.2).sin()).collect();
/// let mut rolloff = RolloffSink::default();
/// analyze(&mut SliceSource::new(&tone, 22_050), &MfccConfig::default().stft_spec(), &mut [&mut rolloff])?;
/// let mut block = vec![0.0; rolloff.dim()];
/// rolloff.write_block(&mut block)?;
/// assert_eq!(rolloff.name(), "rolloff");
/// # Ok::<(), sonority_fusion::Error>(())
/// ```
pub trait FeatureExtractor: FrameSink {
    /// The block's name in a fusion layout (`"key"`, `"tempo"`, `"rolloff"`...).
    fn name(&self) -> &'static str;

    /// Number of values the block holds; fixed for a given configuration.
    fn dim(&self) -> usize;

    /// Writes the block, finite values only, into `out` (of length [`dim`](Self::dim)).
    ///
    /// Call it after the STFT pass has finished; before any frame it describes silence.
    ///
    /// # Errors
    /// [`Error::BlockSize`] if `out.len() != dim()`.
    fn write_block(&self, out: &mut [f32]) -> Result<()>;

    /// The block as a new vector.
    ///
    /// # For implementors
    /// The default allocates `dim()` zeros and calls [`write_block`](Self::write_block).
    ///
    /// # Errors
    /// As [`write_block`](Self::write_block).
    fn block(&self) -> Result<Vec<f32>> {
        let mut out = vec![0.0; self.dim()];
        self.write_block(&mut out)?;
        Ok(out)
    }
}

/// Checks an output buffer's length against a block's dimension.
pub(crate) fn check_out(name: &str, expected: usize, out: &[f32]) -> Result<()> {
    if out.len() == expected {
        Ok(())
    } else {
        Err(Error::BlockSize {
            block: name.to_owned(),
            expected,
            actual: out.len(),
        })
    }
}

/// Running mean and variance (Welford), in f64.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub(crate) struct Running {
    pub n: u64,
    mean: f64,
    m2: f64,
}

impl Running {
    pub fn push(&mut self, x: f64) {
        self.n += 1;
        let d = x - self.mean;
        self.mean += d / self.n as f64;
        self.m2 += d * (x - self.mean);
    }

    pub fn mean(&self) -> f64 {
        self.mean
    }

    /// Population standard deviation (numpy's default `ddof=0`).
    pub fn std(&self) -> f64 {
        if self.n == 0 {
            0.0
        } else {
            (self.m2 / self.n as f64).max(0.0).sqrt()
        }
    }
}
