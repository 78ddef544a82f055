//! Spectral roll-off, as `librosa.feature.spectral_rolloff`, summarised over a track.

use sonority_mfcc::{Frame, FrameSink, StftSpec};

use crate::extractor::{Running, check_out};
use crate::{Error, FeatureExtractor, Result, lanes};

/// Frequency floor of the log-frequency encoding, in Hz: silent frames and roll-offs below it
/// count as this.
pub const ROLLOFF_FLOOR_HZ: f32 = 20.0;

/// Roll-off of one magnitude spectrum: the lowest bin centre frequency `k · sr / n_fft` whose
/// cumulative magnitude over bins `0..=k` reaches `percent` of the frame's total; 0 Hz for a
/// silent frame. Exactly `librosa.feature.spectral_rolloff` on one column (float32 cumulative
/// sum, as numpy computes it).
///
/// Most frames skip the sequential float32 scan: vectorised block sums locate the crossing in
/// `f64`, and only where that crossing lies within the float32 cumulative sum's rounding bound
/// (`(2n + 128) · 2⁻²⁴ ·` total) of the threshold does the exact float32 scan decide. The result
/// is bit-identical to numpy's.
///
/// # Examples
/// ```
/// use sonority_fusion::rolloff_hz;
/// use sonority_mfcc::StftSpec;
/// let spec = StftSpec { sample_rate: 22_050, n_fft: 8, hop_length: 4 };
/// let mag = [0.0, 1.0, 1.0, 1.0, 1.0];
/// assert_eq!(rolloff_hz(&mag, &spec, 0.5), 2.0 * 22_050.0 / 8.0);
/// assert_eq!(rolloff_hz(&[0.0; 5], &spec, 0.85), 0.0);
/// ```
#[must_use]
pub fn rolloff_hz(magnitude: &[f32], spec: &StftSpec, percent: f32) -> f32 {
    spec.bin_hz(rolloff_bin(magnitude, percent).0)
}

/// Most blocks a spectrum is cut into in the fast path of [`rolloff_bin`].
const MAX_BLOCKS: usize = 64;

/// The roll-off bin as numpy's float32 `cumsum` gives it, and the frame's total magnitude.
pub(crate) fn rolloff_bin(mag: &[f32], percent: f32) -> (usize, f64) {
    // Blocks of a multiple of 8 bins, at most 64 of them, summed once (vectorised).
    let block = mag.len().div_ceil(MAX_BLOCKS).div_ceil(8).max(4) * 8;
    let mut sums = [0.0_f64; MAX_BLOCKS];
    let mut total = 0.0_f64;
    for (s, chunk) in sums.iter_mut().zip(mag.chunks(block)) {
        *s = f64::from(lanes::sum(chunk));
        total += *s;
    }
    let n_blocks = mag.len().div_ceil(block);
    if let Some(k) = fast_rolloff_bin(mag, percent, total, block, &sums[..n_blocks]) {
        return (k, total);
    }
    (exact_rolloff_bin(mag, percent), total)
}

/// The crossing in `f64`, if no float32 rounding can move it.
fn fast_rolloff_bin(
    mag: &[f32],
    percent: f32,
    total: f64,
    block: usize,
    sums: &[f64],
) -> Option<usize> {
    if !total.is_finite() {
        return None;
    }
    // Bound on |float32 cumsum − exact| (n·u·total), for the threshold as well, plus the block
    // sums' own rounding; doubled for safety.
    let delta = (2 * mag.len() + 128) as f64 * f64::from(f32::EPSILON) * 0.5 * total;
    let thr = f64::from(percent) * total;
    let (lo_t, hi_t) = (thr - delta, thr + delta);
    let mut prefix = 0.0_f64;
    for (b, &s) in sums.iter().enumerate() {
        if prefix + s < lo_t {
            prefix += s;
            continue;
        }
        let start = b * block;
        let mut c = prefix;
        let mut k_lo = None;
        for (i, &m) in mag[start..].iter().take(block).enumerate() {
            c += f64::from(m);
            if k_lo.is_none() && c >= lo_t {
                k_lo = Some(start + i);
            }
            if c >= hi_t {
                return (k_lo == Some(start + i)).then_some(start + i);
            }
        }
        return None;
    }
    None
}

/// numpy's float32 `cumsum` and `>=` threshold, sequentially.
fn exact_rolloff_bin(mag: &[f32], percent: f32) -> usize {
    let total: f32 = mag.iter().fold(0.0, |a, &m| a + m);
    let threshold = percent * total;
    let mut acc = 0.0_f32;
    for (k, &m) in mag.iter().enumerate() {
        acc += m;
        if acc >= threshold {
            return k;
        }
    }
    mag.len().saturating_sub(1)
}

/// Roll-off over a track: mean and spread in Hz (as librosa would average its frames) and, for
/// the fused vector, on a log-frequency scale.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
#[non_exhaustive]
pub struct RolloffStats {
    /// Mean roll-off over all frames in Hz (silent frames count as 0 Hz, as in librosa).
    pub mean_hz: f32,
    /// Population standard deviation over all frames in Hz.
    pub std_hz: f32,
    /// Mean of `log2(max(hz, 20) / 1000)` over the non-silent frames (octaves re 1 kHz).
    pub mean_log2_khz: f32,
    /// Standard deviation of the same, in octaves.
    pub std_log2_khz: f32,
    /// Frames seen.
    pub frames: u64,
    /// Frames that were silent (all-zero spectrum).
    pub silent_frames: u64,
}

/// A [`FeatureExtractor`] for spectral roll-off.
///
/// Block `"rolloff"`, 2 values: mean and standard deviation of the per-frame roll-off in octaves
/// relative to 1 kHz (`log2(max(hz, 20) / 1000)`), over the non-silent frames. A log scale
/// makes a shift from 2 to 4 kHz count as much as one from 4 to 8 kHz, as it sounds.
///
/// # Examples
/// ```
/// use sonority_fusion::RolloffSink;
/// use sonority_mfcc::{MfccConfig, SliceSource, analyze};
/// let noise: Vec<f32> = (0..22_050u32).map(|i| ((i.wrapping_mul(2_654_435_761) >> 8) as f32 / 8_388_608.0) - 1.0).collect();
/// let mut sink = RolloffSink::new(0.85)?;
/// analyze(&mut SliceSource::new(&noise, 22_050), &MfccConfig::default().stft_spec(), &mut [&mut sink])?;
/// // White noise: 85 % of the magnitude lies below about 0.85 × 11025 Hz.
/// assert!((sink.stats().mean_hz - 9_370.0).abs() < 300.0);
/// # Ok::<(), sonority_fusion::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct RolloffSink {
    percent: f32,
    spec: Option<StftSpec>,
    hz: Running,
    log: Running,
    silent: u64,
}

impl Default for RolloffSink {
    /// librosa's default, 85 %.
    fn default() -> Self {
        Self {
            percent: 0.85,
            spec: None,
            hz: Running::default(),
            log: Running::default(),
            silent: 0,
        }
    }
}

impl RolloffSink {
    /// A sink for roll-off at `percent` of the magnitude (librosa's `roll_percent`, 0.85 by
    /// default; the published design used 0.9).
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] unless `0 < percent < 1`.
    pub fn new(percent: f32) -> Result<Self> {
        if !(percent > 0.0 && percent < 1.0) {
            return Err(Error::config(
                "percent",
                "roll-off percent must be in (0, 1)",
            ));
        }
        Ok(Self {
            percent,
            ..Self::default()
        })
    }

    /// The published design's preset: roll-off at 90 %.
    #[must_use]
    pub fn published_design() -> Self {
        Self {
            percent: 0.9,
            ..Self::default()
        }
    }

    /// The roll-off percent.
    #[must_use]
    pub fn percent(&self) -> f32 {
        self.percent
    }

    /// The statistics so far.
    #[must_use]
    pub fn stats(&self) -> RolloffStats {
        let floor = (ROLLOFF_FLOOR_HZ / 1000.0).log2();
        RolloffStats {
            mean_hz: self.hz.mean() as f32,
            std_hz: self.hz.std() as f32,
            mean_log2_khz: if self.log.n == 0 {
                floor
            } else {
                self.log.mean() as f32
            },
            std_log2_khz: self.log.std() as f32,
            frames: self.hz.n,
            silent_frames: self.silent,
        }
    }
}

impl FrameSink for RolloffSink {
    fn begin(&mut self, spec: &StftSpec) -> sonority_mfcc::Result<()> {
        self.spec = Some(*spec);
        Ok(())
    }

    fn frame(&mut self, frame: &Frame<'_>) -> sonority_mfcc::Result<()> {
        let Some(spec) = self.spec else {
            return Err(sonority_mfcc::Error::sink("roll-off: frame before begin"));
        };
        let (bin, total) = rolloff_bin(frame.magnitude, self.percent);
        let hz = spec.bin_hz(bin);
        self.hz.push(f64::from(hz));
        // Magnitudes are >= 0: a zero total is an all-zero spectrum.
        if total == 0.0 {
            self.silent += 1;
        } else {
            self.log
                .push(f64::from((hz.max(ROLLOFF_FLOOR_HZ) / 1000.0).log2()));
        }
        Ok(())
    }
}

impl FeatureExtractor for RolloffSink {
    fn name(&self) -> &'static str {
        "rolloff"
    }

    fn dim(&self) -> usize {
        2
    }

    fn write_block(&self, out: &mut [f32]) -> Result<()> {
        check_out(self.name(), self.dim(), out)?;
        let s = self.stats();
        out[0] = s.mean_log2_khz;
        out[1] = s.std_log2_khz;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The fast path agrees with the sequential float32 scan on spectra built to sit on the
    /// threshold (ties, plateaus, one dominant bin, sparse ones) and on random ones.
    #[test]
    fn fast_path_is_bit_identical_to_the_float32_scan() {
        let mut state = 0x2545_f491_4f6c_dd1d_u64;
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 40) as f32 / (1u64 << 24) as f32
        };
        let mut cases: Vec<Vec<f32>> = vec![vec![1.0; 1025], vec![0.0; 1025], vec![1e-30; 1025]];
        let mut spike = vec![0.0; 1025];
        spike[700] = 3.0;
        cases.push(spike);
        for _ in 0..3000 {
            let decay = 0.001 + 0.02 * next();
            let sparse = next() < 0.3;
            let v: Vec<f32> = (0..1025)
                .map(|k| {
                    let r = next();
                    if sparse && r < 0.9 {
                        0.0
                    } else {
                        r * (-(k as f32) * decay).exp() * 1e3
                    }
                })
                .collect();
            cases.push(v);
        }
        for v in &cases {
            for percent in [0.5, 0.85, 0.9, 0.99] {
                assert_eq!(rolloff_bin(v, percent).0, exact_rolloff_bin(v, percent));
            }
        }
    }
}
