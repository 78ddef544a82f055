//! Onset strength, as `librosa.onset.onset_strength`, computed frame by frame.

use sonority_mfcc::{Frame, FrameSink, MelBands, MelStage, StftSpec};

use crate::lanes;

/// Mel bands of the onset-strength spectrogram (librosa's default).
const N_MELS: usize = 128;
/// `power_to_db`'s `top_db` (its `amin` is the shared mel stage's, `1e-10`).
const TOP_DB: f32 = 80.0;

/// A [`FrameSink`] that computes the onset-strength envelope, one value per frame.
///
/// As `librosa.onset.onset_strength(y, sr)`: 128-band mel power spectrogram of the same STFT,
/// `power_to_db(ref=1.0)`, first difference along time (lag 1), half-wave rectified, mean over
/// bands; the envelope is shifted so that it has one value per STFT frame (librosa pads
/// `1 + n_fft / (2·hop)` zeros at the front and trims the end).
///
/// One difference, for streaming: librosa clips the dB spectrogram at `max − 80 dB` with the
/// maximum of the whole track; this sink uses the maximum so far. The two differ only while the
/// track is still getting louder, and only on bands more than 80 dB below the peak.
///
/// Speed: the sink reads the pass's shared mel spectrum ([`FrameSink::mel_bands`]), so next to
/// an MFCC or log-mel sink over the same 128 bands it adds no filterbank product and no dB
/// conversion; alone, it computes them itself ([`MelStage`], dB within `1.3e-5` of libm).
///
/// Memory: one float per frame (2 MB for three hours at 22050 Hz, hop 512) and two frames of
/// mel bands.
#[derive(Debug, Clone, Default)]
pub struct OnsetEnvelope {
    /// The mel stage of `begin`'s STFT: the pass's shared spectrum when it has these bands,
    /// else computed here.
    stage: Option<MelStage>,
    pad: usize,
    prev: Vec<f32>,
    cur: Vec<f32>,
    max_db: f32,
    env: Vec<f32>,
    frames: usize,
}

impl OnsetEnvelope {
    /// An empty envelope; the filterbank is built in [`FrameSink::begin`].
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// The envelope so far; after [`FrameSink::finish`], one value per STFT frame.
    #[must_use]
    pub fn envelope(&self) -> &[f32] {
        &self.env
    }

    /// Number of frames seen.
    #[must_use]
    pub fn frames(&self) -> usize {
        self.frames
    }
}

impl FrameSink for OnsetEnvelope {
    fn begin(&mut self, spec: &StftSpec) -> sonority_mfcc::Result<()> {
        if spec.n_fft < 2 {
            return Err(sonority_mfcc::Error::sink(
                "onset: n_fft must be at least 2",
            ));
        }
        self.stage = Some(MelStage::new(spec, &bands_for(spec))?);
        self.pad = 1 + spec.n_fft / (2 * spec.hop_length);
        self.prev = vec![0.0; N_MELS];
        self.cur = vec![0.0; N_MELS];
        self.max_db = f32::NEG_INFINITY;
        self.env.clear();
        self.frames = 0;
        Ok(())
    }

    fn mel_bands(&self) -> Option<MelBands> {
        self.stage.as_ref().map(|s| s.filterbank().bands())
    }

    fn frame(&mut self, frame: &Frame<'_>) -> sonority_mfcc::Result<()> {
        let Some(stage) = &mut self.stage else {
            return Err(sonority_mfcc::Error::sink("onset: frame before begin"));
        };
        let n_bins = stage.filterbank().n_bins();
        if frame.power.len() != n_bins {
            return Err(sonority_mfcc::Error::sink(format!(
                "onset: frame has {} bins, expected {n_bins}",
                frame.power.len()
            )));
        }
        self.cur.copy_from_slice(stage.frame_mel(frame).db);
        self.max_db = lanes::max(&self.cur, self.max_db);
        if self.frames == 0 {
            self.env.resize(self.pad, 0.0);
        } else {
            let floor = self.max_db - TOP_DB;
            let mut acc = [0.0_f32; 8];
            for (c8, p8) in self.cur.chunks_exact(8).zip(self.prev.chunks_exact(8)) {
                for i in 0..8 {
                    acc[i] += (c8[i].max(floor) - p8[i].max(floor)).max(0.0);
                }
            }
            self.env.push(lanes::hsum(acc) / N_MELS as f32);
        }
        std::mem::swap(&mut self.cur, &mut self.prev);
        self.frames += 1;
        Ok(())
    }

    fn finish(&mut self) -> sonority_mfcc::Result<()> {
        self.env.truncate(self.frames);
        Ok(())
    }
}

/// librosa's onset bands: 128 mel bands from 0 Hz to Nyquist.
fn bands_for(spec: &StftSpec) -> MelBands {
    MelBands::new(N_MELS, 0.0, spec.sample_rate as f32 / 2.0)
}
