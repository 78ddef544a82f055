//! Tuning-robust pitch-class profile from spectral peaks, accumulated over a track.

use sonority_mfcc::{Frame, FrameSink, StftSpec};

use crate::lanes;
use sonority_mfcc::fastmath::{exp2, log2};

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
/// cos² window one semitone wide centred on the tuned pitches. Memory: 120 floats, plus one
/// float per bin in range for the bins' pitches.
///
/// Speed: only every [`with_frame_stride`](Self::with_frame_stride)-th frame is used (2 by
/// default: with a Hann window, frames at half the window length still weigh every sample
/// equally), at most [`with_max_peaks`](Self::with_max_peaks) peaks per frame (the strongest),
/// each bin's pitch is computed once per pass, and logarithms use a branch-free `log2` (error
/// below `4e-7`, i.e. 0.00005 cent).
#[derive(Debug, Clone)]
pub struct ChromaSink {
    fmin_hz: f32,
    fmax_hz: f32,
    peak_floor_db: f32,
    harmonics: usize,
    max_peaks: usize,
    frame_stride: usize,
    spec: Option<StftSpec>,
    hist: Vec<f64>,
    frame_hist: Vec<f32>,
    frames: u64,
    /// First and last bin searched for peaks (`lo >= 1`, `hi + 1 < n_bins`); empty if `lo > hi`.
    lo: usize,
    hi: usize,
    /// `FINE · (69 + 12·log2(k · bin_hz / 440))` for bin `k`, indexed from `lo`.
    bin_fine: Vec<f32>,
    /// Peak candidates of the current frame: bin and magnitude.
    peaks: Vec<(usize, f32)>,
    /// Per bin in range, 1 where the current frame has a peak; padded to a multiple of 8.
    mask: Vec<u8>,
    /// Per peak of the current frame: the log2 magnitudes of the bin below, the peak and the bin
    /// above; then the interpolated offset, the vote weight (relative amplitude, times 0.6 per
    /// harmonic) and the fine pitch.
    logs: [Vec<f32>; 3],
    /// The current frame's histogram votes, harmonic-major: lower bin, its weight, the next
    /// bin's weight.
    votes: Vec<(u32, f32, f32)>,
}

impl Default for ChromaSink {
    fn default() -> Self {
        Self {
            fmin_hz: 60.0,
            fmax_hz: 5000.0,
            peak_floor_db: 50.0,
            harmonics: 4,
            max_peaks: 60,
            frame_stride: 2,
            spec: None,
            hist: vec![0.0; FINE_OCTAVE],
            frame_hist: vec![0.0; FINE_OCTAVE + 1],
            frames: 0,
            lo: 1,
            hi: 0,
            bin_fine: Vec::new(),
            peaks: Vec::new(),
            mask: Vec::new(),
            logs: Default::default(),
            votes: Vec::new(),
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

    /// Sets the most spectral peaks used per frame, the strongest first (essentia's
    /// `KeyExtractor` keeps 60). Fewer is faster; noisy frames (drums) have hundreds of small
    /// peaks that mostly add noise to the profile. `0` means no limit. Default: `60`.
    #[must_use]
    pub fn with_max_peaks(mut self, max_peaks: usize) -> Self {
        self.max_peaks = if max_peaks == 0 {
            usize::MAX
        } else {
            max_peaks
        };
        self
    }

    /// Sets which frames are used: every `stride`-th, from the first (`0` counts as `1`).
    /// Key needs a track's pitch content, not every 23 ms: `2` halves the cost and, with a Hann
    /// window whose length is twice the resulting hop, still weighs every sample equally; `4`
    /// (essentia's default, non-overlapping frames) under-weighs the window edges.
    /// Default: `2`.
    #[must_use]
    pub fn with_frame_stride(mut self, stride: usize) -> Self {
        self.frame_stride = stride.max(1);
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
        let bin_hz = spec.bin_hz(1);
        self.lo = ((self.fmin_hz / bin_hz).floor() as usize).max(1);
        self.hi = ((self.fmax_hz / bin_hz).ceil() as usize).min(spec.n_bins().saturating_sub(2));
        self.bin_fine = (self.lo..=self.hi)
            .map(|k| {
                let f = f64::from(bin_hz) * k as f64;
                (FINE as f64 * (69.0 + 12.0 * (f / 440.0).log2())) as f32
            })
            .collect();
        let n = (self.hi + 1).saturating_sub(self.lo);
        self.peaks = Vec::with_capacity(n);
        self.mask = vec![0; n.div_ceil(8) * 8];
        Ok(())
    }

    fn frame(&mut self, frame: &Frame<'_>) -> sonority_mfcc::Result<()> {
        let Some(spec) = self.spec else {
            return Err(sonority_mfcc::Error::sink("chroma: frame before begin"));
        };
        let used = self.frames.is_multiple_of(self.frame_stride as u64);
        self.frames += 1;
        let (lo, hi) = (self.lo, self.hi);
        if !used || lo >= hi {
            return Ok(());
        }
        let mag = frame.magnitude;
        if mag.len() != spec.n_bins() {
            return Err(sonority_mfcc::Error::sink(format!(
                "chroma: frame has {} bins, expected {}",
                mag.len(),
                spec.n_bins()
            )));
        }
        let peak = lanes::max(&mag[lo - 1..=hi + 1], 0.0);
        if peak <= 1e-9 {
            return Ok(());
        }
        let floor_lin = peak * 10f32.powf(-self.peak_floor_db / 20.0);
        // Two passes: a branch-free comparison of every bin with its neighbours into a byte
        // mask (vectorises), then the set bytes read eight at a time, so the cost of a bin that
        // is no peak is a few vector lanes.
        let (left, mid, right) = (&mag[lo - 1..hi], &mag[lo..=hi], &mag[lo + 1..=hi + 1]);
        for (((m, &b), &a), &c) in self.mask.iter_mut().zip(mid).zip(left).zip(right) {
            *m = u8::from((b >= floor_lin) & (b > a) & (b >= c));
        }
        self.peaks.clear();
        for (c, bytes) in self.mask.chunks_exact(8).enumerate() {
            let mut bits = u64::from_le_bytes([
                bytes[0], bytes[1], bytes[2], bytes[3], bytes[4], bytes[5], bytes[6], bytes[7],
            ]);
            while bits != 0 {
                let k = lo + 8 * c + (bits.trailing_zeros() / 8) as usize;
                self.peaks.push((k, mag[k]));
                bits &= bits - 1;
            }
        }
        let peaks = &mut self.peaks[..];
        if peaks.is_empty() {
            return Ok(());
        }
        let peaks = if peaks.len() > self.max_peaks {
            peaks.select_nth_unstable_by(self.max_peaks - 1, |a, b| b.1.total_cmp(&a.1));
            &peaks[..self.max_peaks]
        } else {
            &peaks[..]
        };
        let log_peak = log2(peak);
        // The peaks' interpolation, one array pass per step so that the branch-free
        // logarithms vectorise; then the histogram votes, which cannot.
        let n = peaks.len();
        let [la, lb, lc] = &mut self.logs;
        for v in [&mut *la, &mut *lb, &mut *lc] {
            v.clear();
            v.resize(n, 0.0);
        }
        for (((&(k, m), a), b), c) in peaks
            .iter()
            .zip(la.iter_mut())
            .zip(lb.iter_mut())
            .zip(lc.iter_mut())
        {
            *a = mag[k - 1].max(1e-12);
            *b = m;
            *c = mag[k + 1].max(1e-12);
        }
        for v in [&mut *la, &mut *lb, &mut *lc] {
            v.iter_mut().for_each(|x| *x = log2(*x));
        }
        // Parabolic interpolation of the log spectrum (any log base gives the same offset):
        // the offset `p` replaces the bin below's log, the amplitude relative to the frame's
        // peak the peak's.
        for ((a, b), &c) in la.iter_mut().zip(lb.iter_mut()).zip(lc.iter()) {
            let den = *a - 2.0 * *b + c;
            let p = if den.abs() > 1e-12 {
                (0.5 * (*a - c) / den).clamp(-0.5, 0.5)
            } else {
                0.0
            };
            *b = exp2(*b - 0.25 * (*a - c) * p - log_peak);
            *a = p;
        }
        // Pitch of bin k + p: bin k's pitch plus 12·log2(1 + p/k) semitones (series to x³,
        // |x| <= 0.5: error below 0.02 cent from bin 5 up, where 60 Hz lies); into `lc`.
        for ((&(k, _), &p), f) in peaks.iter().zip(la.iter()).zip(lc.iter_mut()) {
            let x = p / k as f32;
            let ln1p = x * (1.0 - x * (0.5 - x * (1.0 / 3.0)));
            *f = self.bin_fine[k - lo] + (FINE as f32 * 12.0 * std::f32::consts::LOG2_E) * ln1p;
        }
        // Every vote's bin and two weights, harmonic by harmonic over all peaks (array passes
        // that vectorise); the weight `lb` starts at the amplitude and loses 0.6 per harmonic.
        let votes = &mut self.votes;
        votes.clear();
        for &sub in &SUBHARMONIC_SEMITONES[..=self.harmonics] {
            // Shift by whole octaves to stay positive; the histogram wraps every octave (its
            // extra last bin is folded onto the first below).
            votes.extend(lc.iter().zip(lb.iter()).map(|(&fine, &w)| {
                let pos = (fine - FINE as f32 * sub + 100.0 * FINE_OCTAVE as f32).max(0.0);
                let i0 = pos as u32;
                let frac = pos - i0 as f32;
                (i0 % FINE_OCTAVE as u32, w * (1.0 - frac), w * frac)
            }));
            lb.iter_mut().for_each(|w| *w *= 0.6);
        }
        // The votes, peak by peak and harmonic by harmonic as they always were added.
        self.frame_hist.iter_mut().for_each(|h| *h = 0.0);
        for i in 0..n {
            for &(bin, lo_w, hi_w) in votes[i..].iter().step_by(n) {
                let bin = bin as usize;
                self.frame_hist[bin] += lo_w;
                self.frame_hist[bin + 1] += hi_w;
            }
        }
        let wrapped = self.frame_hist[FINE_OCTAVE];
        self.frame_hist[0] += wrapped;
        let frame_hist = &self.frame_hist[..FINE_OCTAVE];
        let m = lanes::max(frame_hist, 0.0);
        if m > 0.0 {
            let inv = 1.0 / m;
            for (h, &f) in self.hist.iter_mut().zip(frame_hist) {
                *h += f64::from(f * inv);
            }
        }
        Ok(())
    }
}
