//! Onset strength, as `librosa.onset.onset_strength`, computed frame by frame.

use sonority_mfcc::{Frame, FrameSink, MelFilterbank, StftSpec};

/// Mel bands of the onset-strength spectrogram (librosa's default).
const N_MELS: usize = 128;
/// `power_to_db`'s `amin` and `top_db`.
const AMIN: f32 = 1e-10;
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
/// Memory: one float per frame (2 MB for three hours at 22050 Hz, hop 512) and two frames of
/// mel bands.
#[derive(Debug, Clone, Default)]
pub struct OnsetEnvelope {
    fb: Option<MelFilterbank>,
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
        let fb = MelFilterbank::new(
            spec.sample_rate,
            spec.n_fft,
            N_MELS,
            0.0,
            spec.sample_rate as f32 / 2.0,
        )?;
        self.fb = Some(fb);
        self.pad = 1 + spec.n_fft / (2 * spec.hop_length);
        self.prev = vec![0.0; N_MELS];
        self.cur = vec![0.0; N_MELS];
        self.max_db = f32::NEG_INFINITY;
        self.env.clear();
        self.frames = 0;
        Ok(())
    }

    fn frame(&mut self, frame: &Frame<'_>) -> sonority_mfcc::Result<()> {
        let Some(fb) = &self.fb else {
            return Err(sonority_mfcc::Error::sink("onset: frame before begin"));
        };
        fb.apply(frame.power, &mut self.cur);
        for v in &mut self.cur {
            *v = 10.0 * v.max(AMIN).log10();
            self.max_db = self.max_db.max(*v);
        }
        if self.frames == 0 {
            self.env.resize(self.pad, 0.0);
        } else {
            let floor = self.max_db - TOP_DB;
            let sum: f32 = self
                .cur
                .iter()
                .zip(&self.prev)
                .map(|(&c, &p)| (c.max(floor) - p.max(floor)).max(0.0))
                .sum();
            self.env.push(sum / N_MELS as f32);
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
