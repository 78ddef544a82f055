//! Tuning-robust pitch-class profile from spectral peaks, accumulated over a track.

use sonority_mfcc::{Frame, FrameSink, StftSpec};

/// Fine pitch bins per semitone of the accumulated histogram (10 cents each).
const FINE: usize = 10;
const FINE_OCTAVE: usize = 12 * FINE;
/// `12·log2(h)` for h = 1..=17: how far below a partial its h-th subharmonic lies.
const SUBHARMONIC_SEMITONES: [f32; 17] = [
    0.0, 12.0, 19.019_55, 24.0, 27.863_137, 31.019_55, 33.688_26, 36.0, 38.039_1, 39.863_137,
    41.513_18, 43.019_55, 44.405_276, 45.688_26, 46.882_69, 48.0, 49.049_55,
];

/// A [`FrameSink`] that accumulates a pitch-class profile (chroma) over a track.
///
/// Per frame: local maxima of the magnitude spectrum between `fmin_hz` and `fmax_hz` and within
/// `peak_floor_db` of the frame's strongest bin, their frequency and amplitude refined by
/// parabolic interpolation of the dB spectrum (accurate to a few cents even where a semitone is
/// narrower than a bin), folded into a 120-bin (10-cent) pitch-class histogram normalised to
/// unit maximum per frame, so that loud and quiet passages count alike, and summed.
///
/// At the end, the tuning is the circular mean of the histogram's position within the semitone
/// (robust to a detuned recording up to ±50 cents), and the 12 pitch classes are read with a
/// cos² window one semitone wide centred on the tuned pitches. Memory: 120 floats.
#[derive(Debug, Clone)]
pub struct ChromaSink {
    fmin_hz: f32,
    fmax_hz: f32,
    peak_floor_db: f32,
    harmonics: usize,
    spec: Option<StftSpec>,
    hist: Vec<f64>,
    frame_hist: Vec<f32>,
    frames: u64,
}

impl Default for ChromaSink {
    fn default() -> Self {
        Self {
            fmin_hz: 60.0,
            fmax_hz: 5000.0,
            peak_floor_db: 50.0,
            harmonics: 4,
            spec: None,
            hist: vec![0.0; FINE_OCTAVE],
            frame_hist: vec![0.0; FINE_OCTAVE],
            frames: 0,
        }
    }
}

impl ChromaSink {
    /// A sink with the default range (60 Hz to 5 kHz, peaks within 50 dB of the frame maximum).
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the frequency range of the spectral peaks used, in Hz.
    /// Default: `60.0` to `5000.0`.
    #[must_use]
    pub fn with_range_hz(mut self, fmin_hz: f32, fmax_hz: f32) -> Self {
        self.fmin_hz = fmin_hz;
        self.fmax_hz = fmax_hz;
        self
    }

    /// Sets how many subharmonics each peak also votes for (`f/2 ... f/(1+n)`, weights
    /// `0.6^(h-1)`), so that the partials of a note count towards its own pitch class rather than
    /// its fifth and third (as essentia's HPCP `harmonics`). Default: `4`.
    #[must_use]
    pub fn with_harmonics(mut self, harmonics: usize) -> Self {
        self.harmonics = harmonics.min(SUBHARMONIC_SEMITONES.len() - 1);
        self
    }

    /// Estimated tuning offset in semitones, in `[-0.5, 0.5)`: `+0.1` means the music sits 10
    /// cents sharp of A = 440 Hz.
    #[must_use]
    pub fn tuning_semitones(&self) -> f32 {
        let (mut re, mut im) = (0.0_f64, 0.0_f64);
        for (i, &h) in self.hist.iter().enumerate() {
            let phase = 2.0 * std::f64::consts::PI * (i % FINE) as f64 / FINE as f64;
            re += h * phase.cos();
            im += h * phase.sin();
        }
        if re == 0.0 && im == 0.0 {
            return 0.0;
        }
        let t = (im.atan2(re) / (2.0 * std::f64::consts::PI)) as f32;
        if t >= 0.5 { t - 1.0 } else { t }
    }

    /// The 12-bin chroma, C, C#, ..., B, normalised to sum 1 (all zero for silence).
    #[must_use]
    pub fn chroma(&self) -> [f32; 12] {
        let tuning = f64::from(self.tuning_semitones());
        let mut c = [0.0_f64; 12];
        for (i, &h) in self.hist.iter().enumerate() {
            if h == 0.0 {
                continue;
            }
            let pitch = i as f64 / FINE as f64 - tuning;
            let lo = pitch.floor();
            let d = pitch - lo;
            // cos² window of one semitone: the two nearest classes share the bin, summing to 1.
            let w_lo = (std::f64::consts::PI * d / 2.0).cos().powi(2);
            let lo_i = (lo as i64).rem_euclid(12) as usize;
            c[lo_i] += h * w_lo;
            c[(lo_i + 1) % 12] += h * (1.0 - w_lo);
        }
        let total: f64 = c.iter().sum();
        let mut out = [0.0_f32; 12];
        if total > 0.0 {
            for (o, v) in out.iter_mut().zip(c) {
                *o = (v / total) as f32;
            }
        }
        out
    }

    /// Frames seen.
    #[must_use]
    pub fn frames(&self) -> u64 {
        self.frames
    }
}

impl FrameSink for ChromaSink {
    fn begin(&mut self, spec: &StftSpec) -> sonority_mfcc::Result<()> {
        self.spec = Some(*spec);
        self.hist.iter_mut().for_each(|h| *h = 0.0);
        self.frames = 0;
        Ok(())
    }

    fn frame(&mut self, frame: &Frame<'_>) -> sonority_mfcc::Result<()> {
        let Some(spec) = self.spec else {
            return Err(sonority_mfcc::Error::sink("chroma: frame before begin"));
        };
        self.frames += 1;
        let bin_hz = spec.bin_hz(1);
        let lo = ((self.fmin_hz / bin_hz).floor() as usize).max(1);
        let hi =
            ((self.fmax_hz / bin_hz).ceil() as usize).min(frame.magnitude.len().saturating_sub(2));
        if lo >= hi {
            return Ok(());
        }
        let mag = frame.magnitude;
        let peak = mag[lo - 1..=hi + 1].iter().copied().fold(0.0_f32, f32::max);
        if peak <= 1e-9 {
            return Ok(());
        }
        let floor_lin = peak * 10f32.powf(-self.peak_floor_db / 20.0);
        let peak_db = 20.0 * peak.log10();
        self.frame_hist.iter_mut().for_each(|h| *h = 0.0);
        let mut any = false;
        for k in lo..=hi {
            let m = mag[k];
            if m < floor_lin || !(m > mag[k - 1] && m >= mag[k + 1]) {
                continue;
            }
            // dB only around peaks: the hot loop stays free of logarithms.
            let db = |x: f32| 20.0 * x.max(1e-12).log10();
            let (a, b, c) = (db(mag[k - 1]), db(m), db(mag[k + 1]));
            let den = a - 2.0 * b + c;
            let p = if den.abs() > 1e-12 {
                0.5 * (a - c) / den
            } else {
                0.0
            };
            let p = p.clamp(-0.5, 0.5);
            let f = (k as f32 + p) * bin_hz;
            let amp_db = b - 0.25 * (a - c) * p;
            let amp = 10f32.powf((amp_db - peak_db) / 20.0);
            // MIDI pitch; pitch class 0 = C.
            let midi = 69.0 + 12.0 * (f / 440.0).log2();
            let mut w = amp;
            for h in 1..=1 + self.harmonics {
                let m = midi - SUBHARMONIC_SEMITONES[h - 1];
                let pos = m.rem_euclid(12.0) * FINE as f32;
                let i0 = pos.floor();
                let frac = pos - i0;
                let i0 = (i0 as usize) % FINE_OCTAVE;
                self.frame_hist[i0] += w * (1.0 - frac);
                self.frame_hist[(i0 + 1) % FINE_OCTAVE] += w * frac;
                w *= 0.6;
            }
            any = true;
        }
        if any {
            let m = self.frame_hist.iter().copied().fold(0.0_f32, f32::max);
            if m > 0.0 {
                for (h, &f) in self.hist.iter_mut().zip(&self.frame_hist) {
                    *h += f64::from(f / m);
                }
            }
        }
        Ok(())
    }
}
