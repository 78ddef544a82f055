//! Test signals as `Vec<f32>` in `[-1, 1]`, and WAV files: well-formed ones written with hound
//! (16-bit, 24-bit, 32-bit float, any channel count), and raw headers that may lie.

use std::f64::consts::TAU;
use std::io::{self, Cursor};
use std::path::Path;

use crate::Rng;

/// The number of samples in `seconds` at `rate` Hz (rounded, never negative).
#[must_use]
pub fn n_samples(rate: u32, seconds: f64) -> usize {
    (seconds * f64::from(rate)).round().max(0.0) as usize
}

/// A sine of `freq_hz` with peak `amplitude`, `seconds` long at `rate` Hz.
#[must_use]
pub fn sine(rate: u32, seconds: f64, freq_hz: f64, amplitude: f32) -> Vec<f32> {
    tones(rate, seconds, &[freq_hz], amplitude)
}

/// The sum of sines at `freqs_hz` (equal levels, phase 0), scaled so that its peak is at most
/// `amplitude`. `tones(rate, s, &[220.0, 330.0, 440.0], 0.5)` is the chord the bad-input
/// corpus uses.
#[must_use]
pub fn tones(rate: u32, seconds: f64, freqs_hz: &[f64], amplitude: f32) -> Vec<f32> {
    let n = n_samples(rate, seconds);
    let scale = f64::from(amplitude) / freqs_hz.len().max(1) as f64;
    (0..n)
        .map(|i| {
            let t = i as f64 / f64::from(rate);
            let s: f64 = freqs_hz.iter().map(|f| (TAU * f * t).sin()).sum();
            (s * scale) as f32
        })
        .collect()
}

/// Uniform white noise in `[-amplitude, amplitude)`, reproducible from `seed`.
#[must_use]
pub fn white_noise(rate: u32, seconds: f64, amplitude: f32, seed: u64) -> Vec<f32> {
    let mut rng = Rng::new(seed);
    let mut v = vec![0.0; n_samples(rate, seconds)];
    rng.fill_uniform(&mut v, amplitude);
    v
}

/// Digital silence: all zeros.
#[must_use]
pub fn silence(rate: u32, seconds: f64) -> Vec<f32> {
    vec![0.0; n_samples(rate, seconds)]
}

/// A constant `level` (DC offset only, no signal).
#[must_use]
pub fn dc(rate: u32, seconds: f64, level: f32) -> Vec<f32> {
    vec![level; n_samples(rate, seconds)]
}

/// A square wave of `freq_hz` at full scale (`+1` / `-1`), like a clipped square.
#[must_use]
pub fn clipped_square(rate: u32, seconds: f64, freq_hz: f64) -> Vec<f32> {
    let n = n_samples(rate, seconds);
    (0..n)
        .map(|i| {
            let phase = (i as f64 * freq_hz / f64::from(rate)).fract();
            if phase < 0.5 { 1.0 } else { -1.0 }
        })
        .collect()
}

/// Interleaves equal-length channels (`[left, right]` → `l r l r …`). Shorter channels are
/// padded with zeros to the longest.
#[must_use]
pub fn interleave(channels: &[Vec<f32>]) -> Vec<f32> {
    let n = channels.iter().map(Vec::len).max().unwrap_or(0);
    let mut out = Vec::with_capacity(n * channels.len());
    for i in 0..n {
        for c in channels {
            out.push(c.get(i).copied().unwrap_or(0.0));
        }
    }
    out
}

/// `mono` copied to each of `channels` channels, interleaved.
#[must_use]
pub fn to_channels(mono: &[f32], channels: u16) -> Vec<f32> {
    mono.iter()
        .flat_map(|&x| std::iter::repeat_n(x, usize::from(channels)))
        .collect()
}

/// How a WAV file stores its samples.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WavEncoding {
    /// 16-bit signed integers.
    Int16,
    /// 24-bit signed integers.
    Int24,
    /// 32-bit IEEE floats.
    Float32,
}

impl WavEncoding {
    fn spec(self, channels: u16, rate: u32) -> hound::WavSpec {
        let (bits_per_sample, sample_format) = match self {
            Self::Int16 => (16, hound::SampleFormat::Int),
            Self::Int24 => (24, hound::SampleFormat::Int),
            Self::Float32 => (32, hound::SampleFormat::Float),
        };
        hound::WavSpec {
            channels,
            sample_rate: rate,
            bits_per_sample,
            sample_format,
        }
    }
}

fn to_io(e: hound::Error) -> io::Error {
    match e {
        hound::Error::IoError(e) => e,
        other => io::Error::new(io::ErrorKind::InvalidInput, other),
    }
}

fn write_samples<W: io::Write + io::Seek>(
    w: &mut hound::WavWriter<W>,
    encoding: WavEncoding,
    samples: &[f32],
) -> io::Result<()> {
    for &x in samples {
        let x = x.clamp(-1.0, 1.0);
        match encoding {
            WavEncoding::Int16 => w.write_sample((x * 32767.0).round() as i16),
            WavEncoding::Int24 => w.write_sample((x * 8_388_607.0).round() as i32),
            WavEncoding::Float32 => w.write_sample(x),
        }
        .map_err(to_io)?;
    }
    Ok(())
}

/// A complete WAV file in memory: `samples` interleaved over `channels` channels at `rate` Hz,
/// clamped to `[-1, 1]` and stored as `encoding`.
///
/// # Errors
/// hound refuses the format (0 channels, for example; use [`wav_bytes_with_header`] for
/// broken headers), or `samples.len()` is not a multiple of `channels`.
pub fn wav_bytes(
    channels: u16,
    rate: u32,
    encoding: WavEncoding,
    samples: &[f32],
) -> io::Result<Vec<u8>> {
    let mut buf = Cursor::new(Vec::new());
    {
        let mut w =
            hound::WavWriter::new(&mut buf, encoding.spec(channels, rate)).map_err(to_io)?;
        write_samples(&mut w, encoding, samples)?;
        w.finalize().map_err(to_io)?;
    }
    Ok(buf.into_inner())
}

/// Writes a WAV file (see [`wav_bytes`]), streaming the samples to disk.
///
/// # Errors
/// As [`wav_bytes`], or the file cannot be written.
pub fn write_wav(
    path: &Path,
    channels: u16,
    rate: u32,
    encoding: WavEncoding,
    samples: &[f32],
) -> io::Result<()> {
    let mut w = hound::WavWriter::create(path, encoding.spec(channels, rate)).map_err(to_io)?;
    write_samples(&mut w, encoding, samples)?;
    w.finalize().map_err(to_io)
}

/// Writes a 16-bit WAV (the common case of [`write_wav`]).
///
/// # Errors
/// As [`write_wav`].
pub fn write_wav_i16(path: &Path, channels: u16, rate: u32, samples: &[f32]) -> io::Result<()> {
    write_wav(path, channels, rate, WavEncoding::Int16, samples)
}

/// Every field of a canonical 44-byte WAV header (`RIFF`, `WAVE`, a 16-byte `fmt ` chunk,
/// `data`), written as given: nothing is checked, so a header can claim anything.
///
/// [`WavHeader::new`] fills the derived fields the way a correct writer would (saturating at
/// `u32::MAX` / `u16::MAX` instead of overflowing); change any field afterwards to lie.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WavHeader {
    /// The RIFF chunk size (bytes after the first 8). Correct: `36 + data_len`.
    pub riff_len: u32,
    /// `wFormatTag`: 1 for integer PCM, 3 for IEEE float.
    pub format_tag: u16,
    /// The channel count.
    pub channels: u16,
    /// The sample rate in Hz.
    pub rate: u32,
    /// Bytes per second. Correct: `rate * channels * bits / 8`.
    pub byte_rate: u32,
    /// Bytes per frame. Correct: `channels * bits / 8`.
    pub block_align: u16,
    /// Bits per sample.
    pub bits: u16,
    /// The `data` chunk's claimed length in bytes.
    pub data_len: u32,
}

impl WavHeader {
    /// A header for `channels` × `bits`-bit integer PCM at `rate` Hz with `data_len` bytes of
    /// data, derived fields computed as a writer would (with `max(channels, 1)`, as the
    /// corpus script does, so that a zero-channel header still has a non-zero frame size).
    #[must_use]
    pub fn new(channels: u16, rate: u32, bits: u16, data_len: u32) -> Self {
        let frame = u64::from(channels.max(1)) * u64::from(bits) / 8;
        Self {
            riff_len: data_len.saturating_add(36),
            format_tag: 1,
            channels,
            rate,
            byte_rate: u32::try_from(u64::from(rate) * frame).unwrap_or(u32::MAX),
            block_align: u16::try_from(frame).unwrap_or(u16::MAX),
            bits,
            data_len,
        }
    }

    /// The 44 header bytes.
    #[must_use]
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut h = Vec::with_capacity(44);
        h.extend_from_slice(b"RIFF");
        h.extend_from_slice(&self.riff_len.to_le_bytes());
        h.extend_from_slice(b"WAVEfmt ");
        h.extend_from_slice(&16u32.to_le_bytes());
        h.extend_from_slice(&self.format_tag.to_le_bytes());
        h.extend_from_slice(&self.channels.to_le_bytes());
        h.extend_from_slice(&self.rate.to_le_bytes());
        h.extend_from_slice(&self.byte_rate.to_le_bytes());
        h.extend_from_slice(&self.block_align.to_le_bytes());
        h.extend_from_slice(&self.bits.to_le_bytes());
        h.extend_from_slice(b"data");
        h.extend_from_slice(&self.data_len.to_le_bytes());
        h
    }
}

/// A WAV file whose header says what it is told, followed by `payload` as the data, whatever
/// its real length: rate 0, 1 Hz or 4294967295 Hz, 0 or 64 channels, `claimed_data_len`
/// 4 GB over a few bytes of payload. The format tag is integer PCM; derived fields are as
/// [`WavHeader::new`] computes them (build a [`WavHeader`] by hand to lie about those too).
///
/// ```
/// use sonority_testkit::signal::wav_bytes_with_header;
/// // Two channels at 0 Hz, 4000 zero bytes.
/// let wav = wav_bytes_with_header(2, 0, 16, 4000, &[0; 4000]);
/// assert_eq!(wav.len(), 44 + 4000);
/// // Claims 4 GB of data and holds 16 bytes.
/// let wav = wav_bytes_with_header(2, 44_100, 16, u32::MAX, &[0; 16]);
/// assert_eq!(&wav[40..44], &u32::MAX.to_le_bytes());
/// ```
#[must_use]
pub fn wav_bytes_with_header(
    channels: u16,
    rate: u32,
    bits: u16,
    claimed_data_len: u32,
    payload: &[u8],
) -> Vec<u8> {
    let mut out = WavHeader::new(channels, rate, bits, claimed_data_len).to_bytes();
    out.extend_from_slice(payload);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generators_have_the_right_length_and_range() {
        let r = 8000;
        for v in [
            sine(r, 0.5, 440.0, 0.5),
            tones(r, 0.5, &[220.0, 330.0, 440.0], 0.5),
            white_noise(r, 0.5, 0.5, 1),
            silence(r, 0.5),
            dc(r, 0.5, 0.5),
        ] {
            assert_eq!(v.len(), 4000);
            assert!(v.iter().all(|x| x.abs() <= 0.5));
        }
        let sq = clipped_square(r, 0.5, 100.0);
        assert!(sq.iter().all(|x| x.abs() == 1.0));
        assert!(sq.iter().filter(|&&x| x > 0.0).count().abs_diff(2000) <= 40);
        assert_eq!(
            interleave(&[vec![1.0, 2.0], vec![3.0]]),
            [1.0, 3.0, 2.0, 0.0]
        );
        assert_eq!(to_channels(&[1.0, 2.0], 3), [1.0, 1.0, 1.0, 2.0, 2.0, 2.0]);
    }

    #[test]
    fn wav_round_trips_in_every_encoding() {
        let x = to_channels(&tones(22_050, 0.1, &[220.0, 330.0], 0.8), 6);
        for enc in [WavEncoding::Int16, WavEncoding::Int24, WavEncoding::Float32] {
            let bytes = wav_bytes(6, 22_050, enc, &x).unwrap();
            let mut r = hound::WavReader::new(Cursor::new(bytes)).unwrap();
            let spec = r.spec();
            assert_eq!((spec.channels, spec.sample_rate), (6, 22_050));
            let back: Vec<f32> = match enc {
                WavEncoding::Float32 => r.samples::<f32>().map(Result::unwrap).collect(),
                WavEncoding::Int16 => r
                    .samples::<i16>()
                    .map(|s| f32::from(s.unwrap()) / 32767.0)
                    .collect(),
                WavEncoding::Int24 => r
                    .samples::<i32>()
                    .map(|s| s.unwrap() as f32 / 8_388_607.0)
                    .collect(),
            };
            assert_eq!(back.len(), x.len());
            assert!(back.iter().zip(&x).all(|(a, b)| (a - b).abs() < 1e-4));
        }
    }

    #[test]
    fn an_honest_header_reads_back_and_a_lying_one_says_what_it_was_told() {
        let payload = vec![0u8; 400];
        let ok = wav_bytes_with_header(2, 44_100, 16, 400, &payload);
        let r = hound::WavReader::new(Cursor::new(ok)).unwrap();
        assert_eq!(r.spec().sample_rate, 44_100);
        assert_eq!(r.len(), 200);
        let lie = wav_bytes_with_header(64, u32::MAX, 16, u32::MAX, &payload);
        assert_eq!(lie.len(), 444);
        assert_eq!(&lie[22..24], &64u16.to_le_bytes());
        assert_eq!(&lie[24..28], &u32::MAX.to_le_bytes());
        assert_eq!(&lie[28..32], &u32::MAX.to_le_bytes(), "byte rate saturates");
        assert_eq!(&lie[4..8], &u32::MAX.to_le_bytes(), "RIFF length saturates");
        let zero = WavHeader::new(0, 44_100, 16, 4000);
        assert_eq!((zero.block_align, zero.byte_rate), (2, 88_200));
    }
}
