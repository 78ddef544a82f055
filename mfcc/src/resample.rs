//! Streaming mono resampling with rubato, tuned to sit close to libsoxr 'HQ' (librosa's default).
//!
//! # Design
//! librosa resamples with libsoxr at 'HQ' quality: a linear-phase low-pass whose pass band ends at
//! 91.3 % of the lower Nyquist frequency and whose stop band starts at Nyquist (120 dB), so its
//! −6 dB point sits near 0.957 · Nyquist. rubato's synchronous [`rubato::Fft`] resampler filters
//! with a windowed sinc as long as its FFT block, and places the cutoff from the block length; a
//! `BlackmanHarris2` window with a block of about [`TARGET_BLOCK`] frames on the lower-rate side
//! puts it at 0.957 · Nyquist as well. Measured on the golden 44.1 kHz stereo clip against
//! `librosa.load(sr=22050)`: max |Δy| 2.6e-4, mean |Δy| 1.2e-5, correlation 0.99999986, which is
//! as close as soxr 'VHQ' is to 'HQ' (2.6e-4 / 1.2e-5).
//!
//! That filter runs in overlap-add form with several rubato blocks per FFT (`resample/ola.rs`):
//! the same output within round-off, about 0.72× the instructions.
//!
//! Both FFT blocks are kept even so that the filter's delay (half a block) is a whole number of
//! output frames, which is trimmed: the output is time-aligned with the input. Rate pairs whose
//! smallest exact block would exceed [`MAX_FFT_BLOCK`] frames (rates with no common factor, such
//! as 44 101 Hz) use rubato's asynchronous sinc resampler instead, aligned to within one output
//! frame.
//!
//! The output has exactly `ceil(n_in · out_rate / in_rate)` samples, as `librosa.resample` gives
//! (it fixes the length to that value after soxr).

use audioadapter_buffers::direct::InterleavedSlice;
use rubato::{
    Async, FixedAsync, Indexing, Resampler as RubatoResampler, SincInterpolationParameters,
    SincInterpolationType, WindowFunction,
};

use crate::{Error, Result};

mod ola;
use ola::OlaResampler;

/// Target FFT block length, in frames of the lower of the two rates: it sets the cutoff near
/// soxr 'HQ''s −6 dB point (0.957 · Nyquist with a `BlackmanHarris2` window).
pub(crate) const TARGET_BLOCK: usize = 320;

/// Largest FFT block (either side) before falling back to the asynchronous sinc resampler.
pub(crate) const MAX_FFT_BLOCK: usize = 16_384;

/// Input frames handed to rubato per call (rounded to a whole number of FFT blocks).
const CHUNK_FRAMES: usize = 4096;

/// Largest resampling ratio, either way (`max(in, out) / min(in, out)`). The output buffer holds
/// about [`CHUNK_FRAMES`] · ratio frames (4 MiB at this bound); the default rate limits of
/// [`DecodeOptions`](crate::DecodeOptions) (4 kHz to 768 kHz, delivered at 22.05 kHz) stay
/// below 35, and even 4 kHz to 768 kHz is 192.
pub(crate) const MAX_RESAMPLE_RATIO: u32 = 256;

/// `true` if `in_rate` to `out_rate` is within [`MAX_RESAMPLE_RATIO`] (both positive).
pub(crate) fn ratio_ok(in_rate: u32, out_rate: u32) -> bool {
    let (lo, hi) = (in_rate.min(out_rate), in_rate.max(out_rate));
    lo > 0 && u64::from(hi) <= u64::from(lo) * u64::from(MAX_RESAMPLE_RATIO)
}

/// A streaming mono resampler close to librosa's `resample` (libsoxr 'HQ'): push any number of
/// samples, then [`finish`](Self::finish).
///
/// This is the resampler [`FileSource`](crate::FileSource) runs after the downmix; it is public
/// for audio that does not come from a file. Memory stays bounded whatever the stream's length
/// (one block of input and one of output). The total output of a stream is exactly
/// `ceil(n_in · out_rate / in_rate)` samples, time-aligned with the input (the filter's delay is
/// trimmed). Rate pairs with an exact FFT block up to 16,384 frames (44.1 or 48 kHz to
/// 22.05 kHz, say) run rubato's windowed-sinc FFT filter in overlap-add form; the others use
/// rubato's asynchronous sinc resampler, aligned to within one output frame.
///
/// Samples are not checked: a NaN or infinite input sample spreads over the filter's length
/// in the output. Check them before, as [`FileSource`](crate::FileSource) does (it refuses
/// such a file with [`Error::Decode`]), so that the hot loop makes no second pass.
///
/// # Example
/// ```
/// use sonority_mfcc::Resampler;
///
/// let tone: Vec<f32> = (0..44_100)
///     .map(|i| (2.0 * std::f32::consts::PI * 440.0 * i as f32 / 44_100.0).sin())
///     .collect();
/// let mut r = Resampler::new(44_100, 22_050)?;
/// let mut out = Vec::new();
/// for chunk in tone.chunks(1_000) {
///     r.process(chunk, &mut out)?;
/// }
/// r.finish(&mut out)?;
/// assert_eq!(out.len(), 22_050);
/// // The tone passes through with its amplitude.
/// let peak = out[1_000..21_000].iter().fold(0.0_f32, |m, x| m.max(x.abs()));
/// assert!((peak - 1.0).abs() < 0.01);
/// # Ok::<(), sonority_mfcc::Error>(())
/// ```
pub struct Resampler {
    in_rate: u32,
    out_rate: u32,
    inner: Option<Inner>,
    frames_in: u64,
    frames_out: u64,
}

struct Inner {
    engine: Engine,
    pending: Vec<f32>,
    chunk: usize,
    obuf: Vec<f32>,
    to_trim: usize,
}

/// What resamples: the overlap-add form of rubato's FFT resampler for rate pairs with an
/// exact block ([`OlaResampler`]), rubato's asynchronous sinc resampler for the others.
enum Engine {
    Ola(Box<OlaResampler>),
    Async(Box<dyn RubatoResampler<f32>>),
}

impl Engine {
    fn output_delay(&self) -> usize {
        match self {
            Self::Ola(o) => o.output_delay(),
            Self::Async(rs) => rs.output_delay(),
        }
    }

    fn reset(&mut self) {
        match self {
            Self::Ola(o) => o.reset(),
            Self::Async(rs) => rs.reset(),
        }
    }
}

impl std::fmt::Debug for Resampler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Resampler")
            .field("in_rate", &self.in_rate)
            .field("out_rate", &self.out_rate)
            .field("passthrough", &self.inner.is_none())
            .field("frames_in", &self.frames_in)
            .field("frames_out", &self.frames_out)
            .finish()
    }
}

fn gcd(mut a: u64, mut b: u64) -> u64 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

/// FFT block lengths `(input, output)` for a rate pair: an even multiple of the smallest exact
/// blocks, with the lower-rate side close to [`TARGET_BLOCK`].
pub(crate) fn fft_blocks(in_rate: u32, out_rate: u32) -> (usize, usize) {
    let g = gcd(u64::from(in_rate), u64::from(out_rate)).max(1);
    let min_in = (u64::from(in_rate) / g) as usize;
    let min_out = (u64::from(out_rate) / g) as usize;
    let small = min_in.min(min_out).max(1);
    let half_multiple = ((TARGET_BLOCK as f64 / (2 * small) as f64).round() as usize).max(1);
    let m = 2 * half_multiple;
    (m.saturating_mul(min_in), m.saturating_mul(min_out))
}

/// Output length for `frames_in` input frames: `ceil(frames_in · out_rate / in_rate)`.
pub(crate) fn output_len(frames_in: u64, in_rate: u32, out_rate: u32) -> u64 {
    let num = u128::from(frames_in) * u128::from(out_rate);
    let den = u128::from(in_rate.max(1));
    num.div_ceil(den) as u64
}

impl Resampler {
    /// A resampler from `in_rate` to `out_rate` Hz (a pass-through when they are equal).
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] if a rate is zero, the ratio exceeds 256 either way (the
    /// buffers grow with it) or rubato refuses the pair.
    pub fn new(in_rate: u32, out_rate: u32) -> Result<Self> {
        if in_rate == 0 || out_rate == 0 {
            return Err(Error::config(
                "sample_rate",
                format!("cannot resample {in_rate} Hz to {out_rate} Hz"),
            ));
        }
        if !ratio_ok(in_rate, out_rate) {
            return Err(Error::config(
                "sample_rate",
                format!(
                    "cannot resample {in_rate} Hz to {out_rate} Hz: ratio above {MAX_RESAMPLE_RATIO}"
                ),
            ));
        }
        let inner = if in_rate == out_rate {
            None
        } else {
            Some(Inner::new(in_rate, out_rate)?)
        };
        Ok(Self {
            in_rate,
            out_rate,
            inner,
            frames_in: 0,
            frames_out: 0,
        })
    }

    /// Pushes `input` and appends whatever output is ready to `out`.
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] if rubato reports an error (a bug, not bad input).
    pub fn process(&mut self, mut input: &[f32], out: &mut Vec<f32>) -> Result<()> {
        self.frames_in += input.len() as u64;
        let Some(inner) = self.inner.as_mut() else {
            out.extend_from_slice(input);
            self.frames_out += input.len() as u64;
            return Ok(());
        };
        while !input.is_empty() {
            let take = (inner.chunk - inner.pending.len()).min(input.len());
            inner.pending.extend_from_slice(&input[..take]);
            input = &input[take..];
            if inner.pending.len() == inner.chunk {
                self.frames_out += inner.run(None, out, u64::MAX)?;
            }
        }
        Ok(())
    }

    /// Flushes the filter and appends the remaining output, so that the total output is exactly
    /// [`output_len`](Self::output_len) of the total input. The resampler can then be reused
    /// for a new stream.
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] if rubato reports an error.
    pub fn finish(&mut self, out: &mut Vec<f32>) -> Result<()> {
        let expected = output_len(self.frames_in, self.in_rate, self.out_rate);
        if let Some(inner) = self.inner.as_mut() {
            let mut left = expected.saturating_sub(self.frames_out);
            let partial = inner.pending.len();
            if partial > 0 || left > 0 {
                let n = inner.run(Some(partial), out, left)?;
                left -= n;
            }
            // Pump zeros through until the delayed tail has come out.
            let mut guard = 0;
            while left > 0 {
                let n = inner.run(Some(0), out, left)?;
                left -= n;
                guard += 1;
                if guard > 1_000_000 {
                    return Err(Error::config("sample_rate", "resampler produced no output"));
                }
            }
            inner.engine.reset();
            inner.to_trim = inner.engine.output_delay();
        }
        self.frames_in = 0;
        self.frames_out = 0;
        Ok(())
    }

    /// The input rate in Hz.
    #[must_use]
    pub fn in_rate(&self) -> u32 {
        self.in_rate
    }

    /// The output rate in Hz.
    #[must_use]
    pub fn out_rate(&self) -> u32 {
        self.out_rate
    }

    /// The output length of a whole stream of `frames_in` input samples:
    /// `ceil(frames_in · out_rate / in_rate)`.
    #[must_use]
    pub fn output_len(&self, frames_in: u64) -> u64 {
        output_len(frames_in, self.in_rate, self.out_rate)
    }
}

impl Inner {
    fn new(in_rate: u32, out_rate: u32) -> Result<Self> {
        let (blk_in, blk_out) = fft_blocks(in_rate, out_rate);
        let engine = if blk_in.max(blk_out) <= MAX_FFT_BLOCK {
            Engine::Ola(Box::new(OlaResampler::new(blk_in, blk_out)))
        } else {
            let params = SincInterpolationParameters {
                sinc_len: 256,
                f_cutoff: None,
                oversampling_factor: 256,
                interpolation: SincInterpolationType::Cubic,
                window: WindowFunction::BlackmanHarris2,
            };
            let ratio = f64::from(out_rate) / f64::from(in_rate);
            Engine::Async(Box::new(
                Async::<f32>::new_sinc(ratio, 1.0, &params, CHUNK_FRAMES, 1, FixedAsync::Input)
                    .map_err(rubato_config)?,
            ))
        };
        let (chunk, obuf) = match &engine {
            Engine::Ola(o) => (o.chunk_in(), Vec::with_capacity(o.chunk_out())),
            Engine::Async(rs) => (rs.input_frames_next(), vec![0.0; rs.output_frames_max()]),
        };
        let to_trim = engine.output_delay();
        Ok(Self {
            engine,
            pending: Vec::with_capacity(chunk),
            chunk,
            obuf,
            to_trim,
        })
    }

    /// Resamples `pending` (all of it, or `partial` frames padded with zeros), appends at most
    /// `limit` trimmed output frames to `out` and returns how many it appended.
    fn run(&mut self, partial: Option<usize>, out: &mut Vec<f32>, limit: u64) -> Result<u64> {
        let produced = match &mut self.engine {
            Engine::Ola(o) => {
                let n = partial
                    .unwrap_or(self.pending.len())
                    .min(self.pending.len());
                self.obuf.clear();
                o.process(&self.pending[..n], &mut self.obuf);
                self.obuf.len()
            }
            Engine::Async(rs) => {
                let frames = self.pending.len();
                let input =
                    InterleavedSlice::new(&self.pending[..], 1, frames).map_err(size_config)?;
                let obuf_len = self.obuf.len();
                let mut output = InterleavedSlice::new_mut(&mut self.obuf[..], 1, obuf_len)
                    .map_err(size_config)?;
                let indexing = partial.map(|p| Indexing {
                    input_offset: 0,
                    output_offset: 0,
                    partial_len: Some(p),
                    active_channels_mask: None,
                });
                let (_, produced) = rs
                    .process_into_buffer(&input, &mut output, indexing.as_ref())
                    .map_err(|e| Error::config("sample_rate", format!("resampler: {e}")))?;
                produced.min(obuf_len)
            }
        };
        self.pending.clear();
        let mut ready = &self.obuf[..produced];
        let trim = self.to_trim.min(ready.len());
        ready = &ready[trim..];
        self.to_trim -= trim;
        let n = ready
            .len()
            .min(usize::try_from(limit).unwrap_or(usize::MAX));
        out.extend_from_slice(&ready[..n]);
        Ok(n as u64)
    }
}

fn rubato_config(e: rubato::ResamplerConstructionError) -> Error {
    Error::config("sample_rate", format!("resampler: {e}"))
}

fn size_config(e: audioadapter_buffers::SizeError) -> Error {
    Error::config("sample_rate", format!("resampler buffer: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resample_all(x: &[f32], in_rate: u32, out_rate: u32, push: usize) -> Vec<f32> {
        let mut r = Resampler::new(in_rate, out_rate).unwrap();
        let mut out = Vec::new();
        for c in x.chunks(push.max(1)) {
            r.process(c, &mut out).unwrap();
        }
        r.finish(&mut out).unwrap();
        out
    }

    #[test]
    fn blocks_are_even_and_exact() {
        for &(a, b) in &[
            (44_100, 22_050),
            (48_000, 22_050),
            (96_000, 22_050),
            (8_000, 22_050),
            (11_025, 22_050),
            (32_000, 16_000),
        ] {
            let (i, o) = fft_blocks(a, b);
            assert_eq!(i % 2, 0, "{a}->{b}");
            assert_eq!(o % 2, 0, "{a}->{b}");
            assert_eq!(i as u64 * u64::from(b), o as u64 * u64::from(a));
        }
        assert_eq!(fft_blocks(44_100, 22_050), (640, 320));
    }

    #[test]
    fn output_length_is_ceil_for_any_push_size() {
        for &(a, b) in &[
            (44_100, 22_050),
            (48_000, 22_050),
            (8_000, 22_050),
            (44_101, 22_050),
        ] {
            for &n in &[0usize, 1, 7, 1000, 12_345] {
                let x = vec![0.25_f32; n];
                for &push in &[1usize, 333, 5000] {
                    let y = resample_all(&x, a, b, push);
                    assert_eq!(y.len() as u64, output_len(n as u64, a, b), "{a}->{b} n={n}");
                }
            }
        }
    }

    #[test]
    fn chunking_does_not_change_the_result() {
        let x: Vec<f32> = (0..20_000).map(|i| ((i as f32) * 0.01).sin()).collect();
        let a = resample_all(&x, 48_000, 22_050, 20_000);
        let b = resample_all(&x, 48_000, 22_050, 77);
        assert_eq!(a, b);
    }

    /// A band-limited impulse comes out where it went in (time-aligned, linear phase).
    #[test]
    fn impulse_is_time_aligned() {
        for &(a, b) in &[
            (44_100, 22_050),
            (48_000, 22_050),
            (22_050, 44_100),
            (8_000, 22_050),
        ] {
            // An impulse at an input position that maps to a whole output sample.
            let g = gcd(a, b) as usize;
            let step_in = a as usize / g;
            let pos_in = step_in * (2000 / step_in + 1);
            let pos_out = pos_in * b as usize / a as usize;
            let mut x = vec![0.0_f32; pos_in * 2 + 4000];
            x[pos_in] = 1.0;
            let y = resample_all(
                &x,
                u32::try_from(a).unwrap(),
                u32::try_from(b).unwrap(),
                999,
            );
            let peak = y
                .iter()
                .enumerate()
                .max_by(|p, q| p.1.abs().total_cmp(&q.1.abs()))
                .map(|(i, _)| i)
                .unwrap();
            assert_eq!(peak, pos_out, "{a}->{b}");
            // Symmetric around the peak: linear phase.
            for k in 1..20 {
                assert!((y[peak - k] - y[peak + k]).abs() < 1e-5, "{a}->{b} k={k}");
            }
        }
    }

    /// A 1 kHz sine keeps its amplitude; a tone above the new Nyquist is removed.
    #[test]
    fn passband_and_stopband() {
        // Phases in f64: an f32 phase of 2π·12000·t is itself noisy at -60 dB.
        let make = |f: f64| -> Vec<f32> {
            (0..44_100)
                .map(|i| (2.0 * std::f64::consts::PI * f * f64::from(i) / 44_100.0).sin() as f32)
                .collect()
        };
        let rms = |y: &[f32]| {
            let mid = &y[2000..y.len() - 2000];
            (mid.iter().map(|v| v * v).sum::<f32>() / mid.len() as f32).sqrt()
        };
        let pass = resample_all(&make(1000.0), 44_100, 22_050, 4096);
        assert!((rms(&pass) - std::f32::consts::FRAC_1_SQRT_2).abs() < 1e-3);
        // soxr 'HQ' rejects from Nyquist on by 120 dB; so does this filter (about 140 dB).
        for f in [11_100.0, 12_000.0, 15_000.0, 20_000.0] {
            let stop = resample_all(&make(f), 44_100, 22_050, 4096);
            assert!(rms(&stop) < 1e-6, "{f} Hz leaks with rms {}", rms(&stop));
        }
        // The -3 dB point sits near soxr's (0.95 of the output Nyquist frequency).
        let edge = resample_all(&make(10_500.0), 44_100, 22_050, 4096);
        let db = 20.0 * (rms(&edge) / std::f32::consts::FRAC_1_SQRT_2).log10();
        assert!((-4.0..-2.0).contains(&db), "{db} dB at 10.5 kHz");
    }

    /// rubato's own FFT resampler, one block per call, its delay trimmed and its length fixed
    /// as `Resampler` does: the reference the overlap-add form must match.
    fn rubato_reference(x: &[f32], in_rate: u32, out_rate: u32) -> Vec<f32> {
        use rubato::{Fft, FixedSync};
        let (blk_in, _) = fft_blocks(in_rate, out_rate);
        let mut rs = Fft::<f32>::new_custom(
            in_rate as usize,
            out_rate as usize,
            blk_in,
            1,
            1,
            WindowFunction::BlackmanHarris2,
            FixedSync::Input,
        )
        .unwrap();
        let want = output_len(x.len() as u64, in_rate, out_rate) as usize;
        let delay = rs.output_delay();
        let mut padded = x.to_vec();
        while !padded.len().is_multiple_of(blk_in) || (padded.len() - x.len()) < 2 * blk_in {
            padded.push(0.0);
        }
        let mut out = Vec::new();
        let mut obuf = vec![0.0_f32; rs.output_frames_max()];
        for block in padded.chunks(blk_in) {
            let input = InterleavedSlice::new(block, 1, blk_in).unwrap();
            let n = obuf.len();
            let mut output = InterleavedSlice::new_mut(&mut obuf[..], 1, n).unwrap();
            let (_, produced) = rs.process_into_buffer(&input, &mut output, None).unwrap();
            out.extend_from_slice(&obuf[..produced]);
        }
        out.drain(..delay);
        out.truncate(want);
        out
    }

    #[test]
    fn overlap_add_matches_rubato_fft() {
        // Noise plus tones near the band edge, where the longer frame's truncation would show.
        let mut state = 12_345_u32;
        for &(a, b) in &[
            (44_100, 22_050),
            (48_000, 22_050),
            (96_000, 22_050),
            (32_000, 16_000),
            (11_025, 22_050),
            (8_000, 22_050),
        ] {
            let n = a as usize * 3 + 777;
            let x: Vec<f32> = (0..n)
                .map(|i| {
                    state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                    let noise = (state >> 8) as f32 / (1 << 24) as f32 - 0.5;
                    let t = i as f32 / a as f32;
                    let edge = 0.47 * a.min(b) as f32;
                    0.3 * noise
                        + 0.3 * (2.0 * std::f32::consts::PI * edge * t).sin()
                        + 0.2 * (2.0 * std::f32::consts::PI * 440.0 * t).sin()
                })
                .collect();
            let ours = resample_all(&x, a, b, 1_000);
            let theirs = rubato_reference(&x, a, b);
            assert_eq!(ours.len(), theirs.len(), "{a}->{b}");
            let max = ours
                .iter()
                .zip(&theirs)
                .map(|(p, q)| (p - q).abs())
                .fold(0.0_f32, f32::max);
            assert!(max < 2e-6, "{a}->{b}: max |difference| {max}");
        }
    }

    #[test]
    fn passthrough_is_identity() {
        let x: Vec<f32> = (0..1000).map(|i| i as f32).collect();
        assert_eq!(resample_all(&x, 22_050, 22_050, 100), x);
    }

    #[test]
    fn zero_rate_is_rejected() {
        assert!(Resampler::new(0, 22_050).is_err());
    }

    #[test]
    fn extreme_ratios_are_rejected() {
        assert!(Resampler::new(1, 22_050).is_err());
        assert!(Resampler::new(u32::MAX, 22_050).is_err());
        assert!(Resampler::new(22_050, 22_050 * 257).is_err());
        assert!(ratio_ok(22_050 * 256, 22_050));
        assert!(!ratio_ok(0, 22_050));
    }

    /// Buffers stay small at the edges of the accepted ratios (4 kHz and 768 kHz to 22.05 kHz,
    /// and the bound itself), whatever rubato path the pair takes.
    #[test]
    fn buffers_are_bounded_by_the_ratio() {
        for &(a, b) in &[
            (4_000, 22_050),
            (4_001, 22_050),
            (768_000, 22_050),
            (767_999, 22_050),
            (4_000, 768_000),
            (3_000, 768_000),
            (768_000, 3_000),
        ] {
            let r = Resampler::new(a, b).unwrap();
            let inner = r.inner.as_ref().unwrap();
            let frames = inner.obuf.len() + inner.pending.capacity();
            assert!(frames <= 1 << 21, "{a}->{b}: {frames} frames buffered");
        }
    }
}
