//! The `artist` block: the ISMIR 2018 artist encoder ([`ArtistEncoder`]) over its own front end,
//! inside the one STFT pass.
//!
//! The encoder was trained on librosa frames of 1024 samples (hop 512, 22,050 Hz, Hann window,
//! magnitude), 128 Slaney mel bands, `log10(1 + 10 · mel)` standardised with fixed constants,
//! cut into consecutive 129-frame segments. The pass's frames are centred on the same samples
//! (`t · 512`) and longer (`n_fft` 2048), so [`ArtistSink`] takes the middle 1024 samples of
//! each frame: exactly librosa's centred 1024-sample frame, zero padded at the edges alike. It
//! windows them, takes their magnitude spectrum (one 1024-point FFT per frame beside the pass's
//! own), applies its filterbank, and fills segments; every few segments it encodes them and adds
//! their embeddings to a running mean and standard deviation. Memory is one batch of segments
//! whatever the track's length.
//!
//! A track shorter than one segment (3 s) is padded with silence to one segment; a trailing
//! part of a segment after at least one whole segment is left out, as the encoder's authors
//! did.

use serde::{Deserialize, Serialize};
use sonority_autoencoders::{ARTIST_BANDS, ARTIST_DIM, ARTIST_SEGMENT_FRAMES, ArtistEncoder};
use sonority_mfcc::{Frame, FrameSink, MelFilterbank, PowerFft, StftSpec, fastmath, hann_periodic};

use crate::moments::Moments;
use crate::rng::{Rng, XorShift64};
use crate::{Error, Result};

/// The encoder's sample rate, frame length and hop.
const RATE: u32 = 22_050;
const FRAME: usize = 1024;
const HOP: usize = 512;
/// The standardisation of the encoder's training (`mp3s_to_mel.py`).
const MEAN: f32 = 0.226_203_4;
const STD: f32 = 0.257_945_47;
/// Segments encoded at a time (8 × 129 × 128 values: half a megabyte).
const BATCH: usize = 8;

/// How the segment embeddings of a track become the `artist` block.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ArtistPooling {
    /// Their mean (256 values).
    Mean,
    /// Their mean and standard deviation (512 values).
    #[default]
    MeanStd,
}

impl ArtistPooling {
    /// The block's length.
    #[must_use]
    pub fn dim(self) -> usize {
        match self {
            Self::Mean => ARTIST_DIM,
            Self::MeanStd => 2 * ARTIST_DIM,
        }
    }

    /// The block of this pooling from the mean and std of a track's segment embeddings.
    #[must_use]
    pub fn of_mean_std(self, mean_std: &[f32]) -> &[f32] {
        &mean_std[..self.dim().min(mean_std.len())]
    }
}

/// The frame sink of the `artist` block.
pub(crate) struct ArtistSink<'a> {
    encoder: &'a ArtistEncoder,
    fft: PowerFft,
    window: Vec<f32>,
    filterbank: MelFilterbank,
    power: Vec<f32>,
    magnitude: Vec<f32>,
    /// Where the encoder's frame starts in the pass's frame.
    offset: usize,
    /// Whole segments waiting, then the one being filled (frame-major, standardised).
    pending: Vec<f32>,
    /// Frames in `pending`.
    frames: usize,
    out: Vec<f32>,
    moments: Moments,
    /// A uniform sample of the encoder's input segments, kept for fine-tuning.
    keep: Option<SegmentReservoir>,
    /// One segment in this many is encoded.
    stride: usize,
    /// Frames offered so far.
    seen: usize,
}

/// At most `max` of the segments offered, a uniform sample (reservoir sampling, algorithm R):
/// memory is `max` segments whatever the track's length.
struct SegmentReservoir {
    max: usize,
    seen: u64,
    kept: Vec<f32>,
    rng: XorShift64,
}

impl SegmentReservoir {
    const LEN: usize = ARTIST_SEGMENT_FRAMES * ARTIST_BANDS;

    fn offer(&mut self, segment: &[f32]) {
        self.seen += 1;
        let kept = self.kept.len() / Self::LEN;
        if kept < self.max {
            self.kept.extend_from_slice(segment);
        } else {
            let j = self.rng.below(self.seen) as usize;
            if j < self.max {
                self.kept[j * Self::LEN..(j + 1) * Self::LEN].copy_from_slice(segment);
            }
        }
    }
}

impl std::fmt::Debug for ArtistSink<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ArtistSink")
            .field("segments", &self.moments.rows())
            .finish_non_exhaustive()
    }
}

impl<'a> ArtistSink<'a> {
    /// A sink encoding with `encoder`.
    ///
    /// # Errors
    /// Not expected (the filterbank's fixed parameters are valid).
    pub(crate) fn new(encoder: &'a ArtistEncoder) -> Result<Self> {
        Ok(Self {
            encoder,
            fft: PowerFft::new(FRAME)?,
            window: hann_periodic(FRAME),
            filterbank: MelFilterbank::new(RATE, FRAME, ARTIST_BANDS, 0.0, RATE as f32 / 2.0)?,
            power: vec![0.0; FRAME / 2 + 1],
            magnitude: vec![0.0; FRAME / 2 + 1],
            offset: 0,
            pending: Vec::with_capacity(BATCH * ARTIST_SEGMENT_FRAMES * ARTIST_BANDS),
            frames: 0,
            out: vec![0.0; BATCH * ARTIST_DIM],
            moments: Moments::new(ARTIST_DIM),
            keep: None,
            stride: 1,
            seen: 0,
        })
    }

    /// Encodes segments `0, stride, 2·stride, …` only: the frames of the others are skipped
    /// before their spectrum is taken. A stride of 0 is taken as 1.
    pub(crate) fn with_segment_stride(mut self, stride: usize) -> Self {
        self.stride = stride.max(1);
        self
    }

    /// Keeps a uniform sample of at most `max` of the encoder's input segments (drawn with
    /// `seed`), which [`finish_keeping`](Self::finish_keeping) returns.
    pub(crate) fn keeping_segments(mut self, max: usize, seed: u64) -> Self {
        self.keep = (max > 0).then(|| SegmentReservoir {
            max,
            seen: 0,
            kept: Vec::new(),
            rng: XorShift64::mixing(seed),
        });
        self
    }

    /// Encodes the whole segments waiting.
    fn flush(&mut self) -> Result<()> {
        let n = self.frames / ARTIST_SEGMENT_FRAMES;
        if n == 0 {
            return Ok(());
        }
        let whole = n * ARTIST_SEGMENT_FRAMES * ARTIST_BANDS;
        if let Some(keep) = &mut self.keep {
            for segment in self.pending[..whole].chunks_exact(SegmentReservoir::LEN) {
                keep.offer(segment);
            }
        }
        self.encoder
            .embed_segments(&self.pending[..whole], &mut self.out[..n * ARTIST_DIM])?;
        self.moments.push_rows(&self.out[..n * ARTIST_DIM]);
        self.pending.drain(..whole);
        self.frames -= n * ARTIST_SEGMENT_FRAMES;
        Ok(())
    }

    /// Encodes what is left and returns the mean and standard deviation of the segment
    /// embeddings (512 values; [`ArtistPooling::of_mean_std`] cuts the block).
    ///
    /// # Errors
    /// Encoder errors; [`Error::NonFinite`] if the encoder produced a non-finite value.
    #[cfg(test)]
    pub(crate) fn finish(self) -> Result<Vec<f32>> {
        self.finish_keeping().map(|(block, _)| block)
    }

    /// As [`finish`](Self::finish), with the segments kept ([`keeping_segments`]; empty
    /// without), one after the other.
    ///
    /// [`keeping_segments`]: Self::keeping_segments
    pub(crate) fn finish_keeping(mut self) -> Result<(Vec<f32>, Vec<f32>)> {
        self.flush()?;
        if self.moments.rows() == 0 {
            // Shorter than a segment: padded with silence (log-mel 0, standardised).
            self.pending
                .resize(ARTIST_SEGMENT_FRAMES * ARTIST_BANDS, -MEAN / STD);
            self.frames = ARTIST_SEGMENT_FRAMES;
            self.flush()?;
        }
        let v = block_of(&self.moments)?;
        Ok((v, self.keep.map(|k| k.kept).unwrap_or_default()))
    }
}

/// The mean and std of the segment embeddings pushed, checked finite.
fn block_of(moments: &Moments) -> Result<Vec<f32>> {
    let v = moments.mean_std().ok_or(Error::NoSignal)?;
    if v.iter().any(|x| !x.is_finite()) {
        return Err(Error::NonFinite {
            what: "artist encoder",
        });
    }
    Ok(v)
}

/// The mean and standard deviation of `encoder`'s embeddings of `segments` (whole segments of
/// standardised log-mel frames, as [`ArtistEncoder::embed_segments`] takes them): what the
/// analysis gives for a track whose segments these are, for segments kept by extraction
/// ([`ExtractOptions::with_artist_segments`](crate::train::ExtractOptions::with_artist_segments))
/// and an encoder fine-tuned on them ([`ArtistEncoder::fine_tune`]). Cut it to a pooling with
/// [`ArtistPooling::of_mean_std`].
///
/// # Errors
/// [`Error::NoSignal`] for no segment; encoder errors (a length that is not whole segments,
/// non-finite input); [`Error::NonFinite`] if the encoder produced a non-finite value.
///
/// # Examples
/// ```
/// use sonority::autoencoders::{ARTIST_BANDS, ARTIST_SEGMENT_FRAMES};
/// let model = sonority::Model::load_default()?;
/// let encoder = model.artist_encoder().expect("the default model has the artist block");
/// let silence = vec![-0.877; 2 * ARTIST_SEGMENT_FRAMES * ARTIST_BANDS];
/// let block = sonority::train::artist_mean_std(encoder, &silence)?;
/// assert_eq!(block.len(), 512);
/// # Ok::<(), sonority::Error>(())
/// ```
pub fn artist_mean_std(encoder: &ArtistEncoder, segments: &[f32]) -> Result<Vec<f32>> {
    let per = ARTIST_SEGMENT_FRAMES * ARTIST_BANDS;
    let mut moments = Moments::new(ARTIST_DIM);
    let mut out = vec![0.0; BATCH * ARTIST_DIM];
    for batch in segments.chunks(BATCH * per) {
        let n = batch.len() / per;
        encoder.embed_segments(batch, &mut out[..n * ARTIST_DIM])?;
        moments.push_rows(&out[..n * ARTIST_DIM]);
    }
    block_of(&moments)
}

impl FrameSink for ArtistSink<'_> {
    fn begin(&mut self, spec: &StftSpec) -> sonority_mfcc::Result<()> {
        if spec.sample_rate != RATE
            || spec.hop_length != HOP
            || spec.n_fft < FRAME
            || !spec.n_fft.is_multiple_of(2)
        {
            return Err(sonority_mfcc::Error::sink(
                "the artist block needs 22050 Hz, a hop of 512 and an even n_fft of at least 1024",
            ));
        }
        self.offset = (spec.n_fft - FRAME) / 2;
        Ok(())
    }

    fn frame(&mut self, frame: &Frame<'_>) -> sonority_mfcc::Result<()> {
        let position = self.seen % (self.stride * ARTIST_SEGMENT_FRAMES);
        self.seen += 1;
        if position >= ARTIST_SEGMENT_FRAMES {
            return Ok(());
        }
        let samples = &frame.samples[self.offset..self.offset + FRAME];
        self.fft
            .process(samples, &self.window, &mut self.power, &mut self.magnitude)?;
        let start = self.pending.len();
        self.pending.resize(start + ARTIST_BANDS, 0.0);
        let mel = &mut self.pending[start..];
        self.filterbank.apply(&self.magnitude, mel);
        // log10(1 + 10·mel) through the pass's branch-free log2 (1 + 10·mel ≥ 1 is normal).
        const LOG10_2: f32 = std::f32::consts::LN_2 / std::f32::consts::LN_10;
        for v in mel.iter_mut() {
            *v = (fastmath::log2(1.0 + 10.0 * *v) * LOG10_2 - MEAN) / STD;
        }
        self.frames += 1;
        if self.frames == BATCH * ARTIST_SEGMENT_FRAMES {
            self.flush().map_err(sonority_mfcc::Error::sink)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sonority_mfcc::{SliceSource, analyze};
    use std::path::Path;

    fn encoder() -> ArtistEncoder {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("models/default/artist.safetensors");
        ArtistEncoder::load(&path).unwrap()
    }

    fn spec() -> StftSpec {
        StftSpec {
            sample_rate: RATE,
            n_fft: 2048,
            hop_length: HOP,
        }
    }

    /// The sink's log-mel frames (before standardising) and segment embeddings for `samples`.
    fn run(encoder: &ArtistEncoder, samples: &[f32]) -> (Vec<Vec<f32>>, Vec<Vec<f32>>, Vec<f32>) {
        struct Recorder<'a> {
            sink: ArtistSink<'a>,
            logmel: Vec<Vec<f32>>,
        }
        impl FrameSink for Recorder<'_> {
            fn begin(&mut self, spec: &StftSpec) -> sonority_mfcc::Result<()> {
                self.sink.begin(spec)
            }
            fn frame(&mut self, frame: &Frame<'_>) -> sonority_mfcc::Result<()> {
                let before = self.sink.pending.len();
                self.sink.frame(frame)?;
                // (A flush drains whole segments; the golden clips hold fewer than a batch.)
                let row = &self.sink.pending[before..before + ARTIST_BANDS];
                self.logmel
                    .push(row.iter().map(|z| z * STD + MEAN).collect());
                Ok(())
            }
        }
        let mut rec = Recorder {
            sink: ArtistSink::new(encoder).unwrap(),
            logmel: Vec::new(),
        };
        analyze(
            &mut SliceSource::new(samples, RATE),
            &spec(),
            &mut [&mut rec],
        )
        .unwrap();
        let whole = rec.sink.frames / ARTIST_SEGMENT_FRAMES;
        let mut segments = vec![0.0; whole * ARTIST_DIM];
        encoder
            .embed_segments(
                &rec.sink.pending[..whole * ARTIST_SEGMENT_FRAMES * ARTIST_BANDS],
                &mut segments,
            )
            .unwrap();
        let block = rec.sink.finish().unwrap();
        (
            rec.logmel,
            segments.chunks(ARTIST_DIM).map(<[f32]>::to_vec).collect(),
            block,
        )
    }

    fn wav(name: &str) -> Vec<f32> {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/data/ismir2018")
            .join(name);
        let mut r = hound::WavReader::open(path).unwrap();
        assert_eq!(r.spec().sample_rate, RATE);
        r.samples::<i16>()
            .map(|s| f32::from(s.unwrap()) / 32_768.0)
            .collect()
    }

    fn floats(v: &serde_json::Value) -> Vec<f32> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_f64().unwrap() as f32)
            .collect()
    }

    fn max_diff(a: &[f32], b: &[f32]) -> f32 {
        assert_eq!(a.len(), b.len());
        a.iter()
            .zip(b)
            .map(|(x, y)| (x - y).abs())
            .fold(0.0, f32::max)
    }

    /// The port against the golden outputs of the reference (numpy, float64, matching Keras):
    /// the front end's log-mel frames, every segment's embedding, and the pooled block.
    #[test]
    fn matches_the_reference_within_1e_4() {
        let reference: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(
                Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/ismir2018/reference.json"),
            )
            .unwrap(),
        )
        .unwrap();
        let encoder = encoder();
        for (clip, r) in reference.as_object().unwrap() {
            let (logmel, segments, block) = run(&encoder, &wav(r["wav"].as_str().unwrap()));
            assert_eq!(logmel.len() as u64, r["frames"].as_u64().unwrap(), "{clip}");
            assert_eq!(
                segments.len() as u64,
                r["segments"].as_u64().unwrap(),
                "{clip}"
            );
            let d0 = max_diff(&logmel[0], &floats(&r["logmel_first_frame"]));
            let d100 = max_diff(&logmel[100], &floats(&r["logmel_frame_100"]));
            assert!(
                d0 < 1e-4 && d100 < 1e-4,
                "{clip}: log-mel off by {d0}, {d100}"
            );
            let mut mean = vec![0.0_f64; ARTIST_DIM];
            for (s, (seg, avg)) in segments
                .iter()
                .zip(r["segment_avg"].as_array().unwrap())
                .enumerate()
            {
                let avg = floats(avg);
                // One step is left after the last level: the average is the maximum.
                let max = floats(&r["segment_max"][s]);
                let d = max_diff(seg, &avg).max(max_diff(seg, &max));
                assert!(d < 1e-4, "{clip} segment {s}: off by {d}");
                assert!(
                    avg.iter().any(|v| v.abs() > 0.1),
                    "{clip}: not trivially zero"
                );
                for (m, v) in mean.iter_mut().zip(&avg) {
                    *m += f64::from(*v) / segments.len() as f64;
                }
            }
            let mean: Vec<f32> = mean.iter().map(|m| *m as f32).collect();
            let d = max_diff(&block[..ARTIST_DIM], &mean);
            assert!(d < 1e-4, "{clip}: pooled mean off by {d}");
        }
    }

    /// Silence, a 1 s file and a file of one sample give one padded segment: finite, the
    /// same on every run, and (for silence) the embedding of the padding itself.
    #[test]
    fn short_and_silent_input_is_finite_and_deterministic() {
        let encoder = encoder();
        let silence = vec![0.0_f32; RATE as usize * 10];
        let (_, segments, block) = run(&encoder, &silence);
        // 1 + 220,500 / 512 = 431 frames: three whole segments, the rest left out.
        assert_eq!(segments.len(), 3);
        assert!(block.iter().all(|v| v.is_finite()));
        let (_, _, again) = run(&encoder, &silence);
        assert_eq!(block, again);
        // Every silent segment is the same: no spread.
        assert!(block[ARTIST_DIM..].iter().all(|&s| s < 1e-5), "{block:?}");
        let (_, _, tiny) = run(&encoder, &[0.0]);
        assert_eq!(tiny[..ARTIST_DIM], block[..ARTIST_DIM]);
        let tone: Vec<f32> = (0..RATE as usize)
            .map(|i| (i as f32 * 0.05).sin() * 0.5)
            .collect();
        let (_, segments, short) = run(&encoder, &tone);
        assert!(segments.is_empty());
        assert_eq!(short.len(), 2 * ARTIST_DIM);
        assert!(short.iter().all(|v| v.is_finite()));
        assert_ne!(short[..ARTIST_DIM], block[..ARTIST_DIM]);
    }

    /// Frames pushed straight into the sink (no decoding, no STFT): `minutes` of a
    /// deterministic signal; returns the block and the most values the sink ever held.
    fn long_run(encoder: &ArtistEncoder, minutes: usize) -> (Vec<f32>, usize) {
        let (block, most, _) = long_run_keeping(encoder, minutes, 0, 1);
        (block, most)
    }

    /// As `long_run`, keeping at most `keep` segments: also the segments kept.
    fn long_run_keeping(
        encoder: &ArtistEncoder,
        minutes: usize,
        keep: usize,
        stride: usize,
    ) -> (Vec<f32>, usize, Vec<f32>) {
        let mut sink = ArtistSink::new(encoder)
            .unwrap()
            .with_segment_stride(stride)
            .keeping_segments(keep, 11);
        sink.begin(&spec()).unwrap();
        let frames = minutes * 60 * RATE as usize / HOP;
        let mut samples = vec![0.0_f32; 2048];
        let mut most = 0;
        for t in 0..frames {
            for (i, s) in samples.iter_mut().enumerate() {
                let x = (t * HOP + i) as f32;
                *s = 0.3 * (x * 0.031).sin() * (1.0 + (t as f32 * 0.01).sin());
            }
            let zeros = [0.0_f32; 1025];
            let frame = Frame {
                index: t,
                power: &zeros,
                magnitude: &zeros,
                samples: &samples,
                mel: None,
            };
            sink.frame(&frame).unwrap();
            most = most.max(sink.pending.capacity());
        }
        let (block, kept) = sink.finish_keeping().unwrap();
        (block, most, kept)
    }

    /// Segments kept whole give back the sink's own block through `artist_mean_std`; a
    /// smaller reservoir keeps a deterministic subset of them.
    #[test]
    fn kept_segments_give_the_block_and_a_smaller_sample_is_a_subset() {
        let encoder = encoder();
        let per = ARTIST_SEGMENT_FRAMES * ARTIST_BANDS;
        let (block, _, all) = long_run_keeping(&encoder, 2, 1000, 1);
        let n = 2 * 60 * RATE as usize / HOP / ARTIST_SEGMENT_FRAMES;
        assert_eq!(all.len(), n * per);
        let again = artist_mean_std(&encoder, &all).unwrap();
        for (a, b) in again.iter().zip(&block) {
            assert!((a - b).abs() <= 1e-6 * (1.0 + b.abs()), "{a} vs {b}");
        }
        let (_, _, five) = long_run_keeping(&encoder, 2, 5, 1);
        assert_eq!(five.len(), 5 * per);
        for segment in five.chunks_exact(per) {
            assert!(all.chunks_exact(per).any(|s| s == segment));
        }
        assert_eq!(long_run_keeping(&encoder, 2, 5, 1).2, five);
        assert!(matches!(
            artist_mean_std(&encoder, &[]),
            Err(Error::NoSignal)
        ));
        assert!(artist_mean_std(&encoder, &all[..per + 3]).is_err());
    }

    /// Memory is one batch of segments whatever the length: 20 minutes here (the 3-hour
    /// run below, by hand, gives the same bound).
    #[test]
    fn memory_stays_one_batch_and_the_block_is_deterministic() {
        let encoder = encoder();
        let bound = BATCH * ARTIST_SEGMENT_FRAMES * ARTIST_BANDS;
        let (block, most) = long_run(&encoder, 20);
        assert!(most <= bound, "{most} values held, bound {bound}");
        assert!(block.iter().all(|v| v.is_finite()));
        assert!(
            block[ARTIST_DIM..].iter().any(|&s| s > 1e-4),
            "segments differ"
        );
        assert_eq!(long_run(&encoder, 20).0, block);
    }

    /// A stride of 2 encodes segments 0, 2, 4, … of the same frames: its block is the block of
    /// those segments, and only they are kept.
    #[test]
    fn a_stride_encodes_every_other_segment() {
        let encoder = encoder();
        let per = ARTIST_SEGMENT_FRAMES * ARTIST_BANDS;
        let (_, _, all) = long_run_keeping(&encoder, 2, 1000, 1);
        let (block, _, kept) = long_run_keeping(&encoder, 2, 1000, 2);
        let even: Vec<f32> = all
            .chunks_exact(per)
            .step_by(2)
            .flatten()
            .copied()
            .collect();
        assert_eq!(kept, even);
        let expected = artist_mean_std(&encoder, &even).unwrap();
        for (a, b) in block.iter().zip(&expected) {
            assert!((a - b).abs() <= 1e-6 * (1.0 + b.abs()), "{a} vs {b}");
        }
        let (full, _, _) = long_run_keeping(&encoder, 2, 0, 1);
        assert_ne!(block, full);
    }

    /// `cargo test --release -p sonority --lib artist -- --ignored` (about a minute).
    #[test]
    #[ignore = "three hours of frames: run by hand"]
    fn three_hours_stay_bounded() {
        let encoder = encoder();
        let (block, most) = long_run(&encoder, 180);
        assert!(most <= BATCH * ARTIST_SEGMENT_FRAMES * ARTIST_BANDS);
        assert!(block.iter().all(|v| v.is_finite()));
    }

    #[test]
    fn refuses_other_rates_and_hops() {
        let encoder = encoder();
        let mut sink = ArtistSink::new(&encoder).unwrap();
        for (sample_rate, n_fft, hop_length) in
            [(44_100, 2048, 512), (22_050, 2048, 256), (22_050, 512, 512)]
        {
            let spec = StftSpec {
                sample_rate,
                n_fft,
                hop_length,
            };
            assert!(sink.begin(&spec).is_err(), "{spec:?}");
        }
        assert!(sink.begin(&spec()).is_ok());
    }
}
