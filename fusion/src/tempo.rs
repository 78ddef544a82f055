//! Tempo from the onset-strength envelope: windowed autocorrelation, a harmonic salience with a
//! log-normal prior, then a metrical check against octave errors, with a cross-band backbeat
//! test for beats whose strokes alternate low and high.

use serde::{Deserialize, Serialize};
use sonority_mfcc::{Frame, FrameSink, MelBands, StftSpec};

use crate::extractor::check_out;
use crate::{Error, FeatureExtractor, OnsetEnvelope, Result};

/// Parameters of [`estimate_tempo`].
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct TempoConfig {
    /// Slowest tempo reported, in BPM. Default: `50`.
    pub min_bpm: f32,
    /// Fastest tempo reported, in BPM. Default: `200`.
    pub max_bpm: f32,
    /// Centre of the log-normal tempo prior, in BPM. Default: `120`.
    pub prior_bpm: f32,
    /// Standard deviation of the prior, in octaves; larger trusts the signal more. Default: `1.41`.
    pub prior_octaves: f32,
    /// Autocorrelation window, in seconds: longer is steadier but blurs tempo changes.
    /// Default: `17.8` (768 frames at 22050 Hz, hop 512).
    pub window_s: f32,
    /// A pulse level is taken as the beat only if its autocorrelation is at least this share of
    /// the autocorrelation at twice its period; otherwise its pulses alternate strong and weak
    /// and are a subdivision, and the tempo is halved. Default: `0.75`.
    pub subdivision_ratio: f32,
    /// A pulse level that the subdivision test would halve is kept as the beat when its strokes
    /// alternate between the low and the high sub-band (kick drum and snare, bass and chord):
    /// when the cross-correlation of the two sub-band envelopes at odd multiples of the period
    /// (one and three) exceeds that at even multiples (two and four) by at least this much
    /// (cross-correlations are normalised, in `[-1, 1]`). Used only by
    /// [`estimate_tempo_with_bands`] and [`TempoSink`]; `f32::INFINITY` turns the test off.
    /// Default: `0.1`.
    pub backbeat_contrast: f32,
}

impl Default for TempoConfig {
    fn default() -> Self {
        Self {
            min_bpm: 50.0,
            max_bpm: 200.0,
            prior_bpm: 120.0,
            prior_octaves: 1.41,
            window_s: 17.8,
            subdivision_ratio: 0.75,
            backbeat_contrast: 0.1,
        }
    }
}

impl TempoConfig {
    /// Sets [`min_bpm`](Self::min_bpm) and [`max_bpm`](Self::max_bpm).
    #[must_use]
    pub fn with_range_bpm(mut self, min_bpm: f32, max_bpm: f32) -> Self {
        self.min_bpm = min_bpm;
        self.max_bpm = max_bpm;
        self
    }

    /// Sets [`prior_bpm`](Self::prior_bpm).
    #[must_use]
    pub fn with_prior_bpm(mut self, prior_bpm: f32) -> Self {
        self.prior_bpm = prior_bpm;
        self
    }

    /// Sets [`subdivision_ratio`](Self::subdivision_ratio).
    #[must_use]
    pub fn with_subdivision_ratio(mut self, ratio: f32) -> Self {
        self.subdivision_ratio = ratio;
        self
    }

    /// Sets [`backbeat_contrast`](Self::backbeat_contrast).
    #[must_use]
    pub fn with_backbeat_contrast(mut self, contrast: f32) -> Self {
        self.backbeat_contrast = contrast;
        self
    }

    /// Checks the ranges.
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] for a non-positive or inverted range (it must span an octave),
    /// a non-positive prior or window, a negative or non-finite subdivision ratio, a NaN
    /// backbeat contrast.
    pub fn validate(&self) -> Result<()> {
        if !(self.min_bpm > 0.0 && self.max_bpm >= 2.0 * self.min_bpm && self.max_bpm.is_finite()) {
            return Err(Error::config("max_bpm", "need 0 < 2·min_bpm <= max_bpm"));
        }
        if !(self.prior_bpm > 0.0 && self.prior_octaves > 0.0 && self.window_s > 0.0) {
            return Err(Error::config(
                "prior_bpm",
                "prior and window must be positive",
            ));
        }
        if !(self.subdivision_ratio.is_finite() && self.subdivision_ratio >= 0.0) {
            return Err(Error::config(
                "subdivision_ratio",
                "must be finite and >= 0",
            ));
        }
        if self.backbeat_contrast.is_nan() {
            return Err(Error::config("backbeat_contrast", "must not be NaN"));
        }
        Ok(())
    }
}

/// A tempo with its confidence.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct TempoEstimate {
    /// Tempo in beats per minute; [`TempoConfig::prior_bpm`] when nothing pulses.
    pub bpm: f32,
    /// Normalised autocorrelation of the onset envelope at the beat period, in `[0, 1]`: near 1
    /// for a steady beat, 0 for silence or no periodicity.
    pub confidence: f32,
}

/// Mean over windows of the normalised, mean-removed, Hann-windowed autocorrelation, lags
/// `0..=max_lag`.
fn windowed_acf(env: &[f32], win: usize, max_lag: usize) -> Vec<f64> {
    let n = env.len();
    let win = win.min(n).max(1);
    let max_lag = max_lag.min(win.saturating_sub(1));
    let w = hann(win);
    let mut acc = vec![0.0_f64; max_lag + 1];
    let mut x = vec![0.0_f64; win];
    let mut count = 0usize;
    for start in window_starts(n, win) {
        let e0 = prep_window(&env[start..start + win], &w, &mut x);
        if e0 > 1e-12 {
            for (lag, a) in acc.iter_mut().enumerate() {
                *a += dot(&x[..win - lag], &x[lag..]) / e0;
            }
            count += 1;
        }
    }
    if count > 0 {
        acc.iter_mut().for_each(|a| *a /= count as f64);
    }
    acc
}

/// Start of each analysis window of `win` frames over `n`: every quarter window, the last one
/// flush with the end (`win <= n`).
fn window_starts(n: usize, win: usize) -> impl Iterator<Item = usize> {
    let hop = (win / 4).max(1);
    let last = n.saturating_sub(win);
    std::iter::successors(Some(0), move |&s| (s < last).then(|| (s + hop).min(last)))
}

/// Writes `seg` mean-removed and weighted by `w` into `out`; returns the result's energy.
fn prep_window(seg: &[f32], w: &[f64], out: &mut [f64]) -> f64 {
    let mean = seg.iter().map(|&v| f64::from(v)).sum::<f64>() / seg.len() as f64;
    for ((d, &v), &wi) in out.iter_mut().zip(seg).zip(w) {
        *d = (f64::from(v) - mean) * wi;
    }
    out.iter().map(|v| v * v).sum()
}

/// Dot product with eight partial sums (vectorises, unlike a sequential `f64` sum).
fn dot(a: &[f64], b: &[f64]) -> f64 {
    let mut acc = [0.0_f64; 8];
    let (ca, cb) = (a.chunks_exact(8), b.chunks_exact(8));
    let tail: f64 = ca
        .remainder()
        .iter()
        .zip(cb.remainder())
        .map(|(p, q)| p * q)
        .sum();
    for (p, q) in ca.zip(cb) {
        for i in 0..8 {
            acc[i] += p[i] * q[i];
        }
    }
    acc.iter().sum::<f64>() + tail
}

/// Linear interpolation of the autocorrelation at a fractional lag (0 outside).
fn acf_at(acf: &[f64], lag: f64) -> f64 {
    if lag < 0.0 {
        return 0.0;
    }
    let i = lag.floor() as usize;
    if i + 1 >= acf.len() {
        return 0.0;
    }
    let f = lag - i as f64;
    acf[i] * (1.0 - f) + acf[i + 1] * f
}

/// Largest autocorrelation within ±3 % of `lag`.
fn acf_peak(acf: &[f64], lag: f64) -> f64 {
    let lo = (lag * 0.97).floor().max(1.0) as usize;
    let hi = ((lag * 1.03).ceil() as usize).min(acf.len().saturating_sub(1));
    acf.get(lo..=hi)
        .map_or(0.0, |s| s.iter().copied().fold(f64::NEG_INFINITY, f64::max))
}

/// Hann window of `n` points (periodic, centred on half samples), as the autocorrelation uses.
fn hann(n: usize) -> Vec<f64> {
    (0..n)
        .map(|i| 0.5 - 0.5 * (2.0 * std::f64::consts::PI * (i as f64 + 0.5) / n as f64).cos())
        .collect()
}

/// Backbeat contrast of two sub-band envelopes at beat period `period` (frames): the
/// normalised cross-correlation at odd multiples of the period (1, 3) minus that at even
/// multiples (2, 4), each the larger of both directions and the best lag within ±3 %, averaged
/// over the same windows as the autocorrelation.
///
/// Kick on beats 1 and 3 and snare on 2 and 4 (or bass and chord strokes taking turns) put the
/// two bands a beat apart: a positive contrast. Under a pulse of eighth notes the bands meet on
/// the beats, two eighths apart: a contrast of zero or below.
fn backbeat_contrast(low: &[f32], high: &[f32], win: usize, period: f64) -> f64 {
    let n = low.len().min(high.len());
    let win = win.min(n);
    // Lags of each multiple k = 1..=4, ±3 %.
    let ranges: Vec<(usize, usize)> = (1..=4)
        .map(|k| {
            let l = period * k as f64;
            (
                ((l * 0.97).floor() as usize).max(1),
                (l * 1.03).ceil() as usize,
            )
        })
        .collect();
    if win < 8 || ranges.iter().any(|&(_, hi)| hi >= win) {
        return 0.0;
    }
    // acc[k][dir][lag - lo]
    let mut acc: Vec<[Vec<f64>; 2]> = ranges
        .iter()
        .map(|&(lo, hi)| [vec![0.0; hi - lo + 1], vec![0.0; hi - lo + 1]])
        .collect();
    let w = hann(win);
    let (mut x, mut y) = (vec![0.0_f64; win], vec![0.0_f64; win]);
    let mut count = 0usize;
    for start in window_starts(n, win) {
        let ex = prep_window(&low[start..start + win], &w, &mut x);
        let ey = prep_window(&high[start..start + win], &w, &mut y);
        let e = (ex * ey).sqrt();
        if e > 1e-12 {
            for (&(lo, _), a) in ranges.iter().zip(acc.iter_mut()) {
                let [fwd_acc, bwd_acc] = a;
                for (i, (fwd, bwd)) in fwd_acc.iter_mut().zip(bwd_acc.iter_mut()).enumerate() {
                    let lag = lo + i;
                    *fwd += dot(&x[..win - lag], &y[lag..]) / e;
                    *bwd += dot(&y[..win - lag], &x[lag..]) / e;
                }
            }
            count += 1;
        }
    }
    if count == 0 {
        return 0.0;
    }
    let best: Vec<f64> = acc
        .iter()
        .map(|a| {
            a.iter()
                .flatten()
                .copied()
                .fold(f64::NEG_INFINITY, f64::max)
                / count as f64
        })
        .collect();
    0.5 * (best[0] + best[2] - best[1] - best[3])
}

/// Estimates the tempo of an onset-strength envelope sampled at `frame_rate` Hz.
///
/// 1. Autocorrelation of the envelope in windows of [`TempoConfig::window_s`] (mean removed,
///    Hann weighted, each normalised by its energy), averaged over the track.
/// 2. Salience on a log-tempo grid: `A(τ) + A(2τ)/2 + A(4τ)/4` (a pulse is supported by its
///    slower multiples), weighted by a log-normal prior around [`TempoConfig::prior_bpm`].
/// 3. Metrical check: starting from the fastest octave of the best pulse within range, halve
///    while the pulse alternates strong and weak (`A(τ) < ratio · A(2τ)`), which is what a
///    subdivision (eighth notes under quarter-note beats) looks like and what a beat (kick and
///    snare alike) does not.
///
/// Without sub-band envelopes this cannot tell a subdivision from a beat whose strokes
/// alternate in timbre (kick and snare); [`estimate_tempo_with_bands`] can, and is what
/// [`TempoSink`] uses.
///
/// # Errors
/// [`Error::InvalidConfig`] for an invalid configuration or frame rate.
///
/// # Examples
/// ```
/// use sonority_fusion::{TempoConfig, estimate_tempo};
/// // Clicks at 100 BPM at 43 frames per second.
/// let fr = 22_050.0 / 512.0;
/// let env: Vec<f32> = (0..2000).map(|t| if (t as f32 % (60.0 * fr / 100.0)) < 1.0 { 1.0 } else { 0.0 }).collect();
/// let est = estimate_tempo(&env, fr, &TempoConfig::default())?;
/// assert!((est.bpm - 100.0).abs() < 2.0, "{}", est.bpm);
/// # Ok::<(), sonority_fusion::Error>(())
/// ```
pub fn estimate_tempo(env: &[f32], frame_rate: f32, cfg: &TempoConfig) -> Result<TempoEstimate> {
    estimate(env, None, frame_rate, cfg)
}

/// [`estimate_tempo`] with a backbeat test: `low` and `high` are onset envelopes of a low and a
/// high sub-band (as [`OnsetEnvelope::low_envelope`] and [`OnsetEnvelope::high_envelope`]),
/// aligned with `env`.
///
/// Where the metrical check would halve a pulse level because its strokes alternate strong and
/// weak, the level is kept if the two sub-bands take turns at its period (cross-correlation at
/// one and three periods above that at two and four by [`TempoConfig::backbeat_contrast`]):
/// kick on beats 1 and 3 and snare on 2 and 4 make a beat look like a subdivision in the
/// full-band autocorrelation, but not in this test. Envelopes of another length than `env`,
/// or silent sub-bands, leave the estimate as [`estimate_tempo`]'s.
///
/// # Errors
/// [`Error::InvalidConfig`] for an invalid configuration or frame rate.
///
/// # Examples
/// ```
/// use sonority_fusion::{TempoConfig, estimate_tempo_with_bands};
/// // 170 BPM: a kick (low band) on beats 1 and 3, a snare (high band) on 2 and 4, louder in
/// // the full band than the kick.
/// let fr = 22_050.0 / 512.0;
/// let beat = 60.0 * fr / 170.0;
/// let on = |t: usize, phase: f32| ((t as f32 - phase).rem_euclid(2.0 * beat) < 1.0) as u8 as f32;
/// let low: Vec<f32> = (0..1500).map(|t| on(t, 0.0)).collect();
/// let high: Vec<f32> = (0..1500).map(|t| on(t, beat)).collect();
/// let env: Vec<f32> = low.iter().zip(&high).map(|(l, h)| 0.3 * l + h).collect();
/// let cfg = TempoConfig::default();
/// let est = estimate_tempo_with_bands(&env, &low, &high, fr, &cfg)?;
/// assert!((est.bpm - 170.0).abs() < 4.0, "{}", est.bpm);
/// # Ok::<(), sonority_fusion::Error>(())
/// ```
pub fn estimate_tempo_with_bands(
    env: &[f32],
    low: &[f32],
    high: &[f32],
    frame_rate: f32,
    cfg: &TempoConfig,
) -> Result<TempoEstimate> {
    let bands = (low.len() == env.len()
        && high.len() == env.len()
        && low.iter().chain(high).all(|v| v.is_finite()))
    .then_some((low, high));
    estimate(env, bands, frame_rate, cfg)
}

fn estimate(
    env: &[f32],
    bands: Option<(&[f32], &[f32])>,
    frame_rate: f32,
    cfg: &TempoConfig,
) -> Result<TempoEstimate> {
    cfg.validate()?;
    if !(frame_rate > 0.0 && frame_rate.is_finite()) {
        return Err(Error::config("frame_rate", "must be positive"));
    }
    let none = TempoEstimate {
        bpm: cfg.prior_bpm,
        confidence: 0.0,
    };
    if env.len() < 4 || env.iter().any(|v| !v.is_finite()) {
        return Ok(none);
    }
    let fr = f64::from(frame_rate);
    let lag_of = |bpm: f64| 60.0 * fr / bpm;
    let (min_bpm, max_bpm) = (f64::from(cfg.min_bpm), f64::from(cfg.max_bpm));
    let win = (f64::from(cfg.window_s) * fr).round() as usize;
    let max_lag = (4.0 * lag_of(min_bpm * 0.8)).ceil() as usize;
    let acf = windowed_acf(env, win.max(8), max_lag);

    // Salience on a log grid from 0.8·min to max.
    let (lo, hi) = ((min_bpm * 0.8).ln(), max_bpm.ln());
    let n_grid = 600;
    let prior_c = f64::from(cfg.prior_bpm).log2();
    let prior_s = f64::from(cfg.prior_octaves);
    let mut best = (f64::NEG_INFINITY, 0.0_f64);
    for i in 0..n_grid {
        let bpm = (lo + (hi - lo) * i as f64 / (n_grid - 1) as f64).exp();
        let l = lag_of(bpm);
        let h = acf_at(&acf, l) + 0.5 * acf_at(&acf, 2.0 * l) + 0.25 * acf_at(&acf, 4.0 * l);
        let z = (bpm.log2() - prior_c) / prior_s;
        let s = h.max(0.0) * (-0.5 * z * z).exp();
        if s > best.0 {
            best = (s, bpm);
        }
    }
    if best.0 <= 0.0 {
        return Ok(none);
    }
    // Metrical check: fastest octave in range, halved while it looks like a subdivision.
    let ratio = f64::from(cfg.subdivision_ratio);
    let mut c = best.1;
    while c * 2.0 <= max_bpm {
        c *= 2.0;
    }
    while c > max_bpm {
        c /= 2.0;
    }
    while c / 2.0 >= min_bpm {
        let p = lag_of(c);
        let (a1, a2) = (acf_peak(&acf, p), acf_peak(&acf, 2.0 * p));
        let backbeat = || {
            bands.is_some_and(|(low, high)| {
                backbeat_contrast(low, high, win.max(8), p) >= f64::from(cfg.backbeat_contrast)
            })
        };
        if a2 > 0.0 && a1 < ratio * a2 && !backbeat() {
            c /= 2.0;
        } else {
            break;
        }
    }
    // Refine within ±4 %: the beat period that best explains the peaks at one, two and four
    // beats together. A single lag is quantised to whole frames (2.5 % at 180 BPM); the peaks
    // at 2τ and 4τ pin the period down to a half and a quarter of a frame.
    let mut refined = (f64::NEG_INFINITY, c);
    for i in 0..=160 {
        let bpm = c * (0.96 + 0.08 * i as f64 / 160.0);
        let l = lag_of(bpm);
        let a = acf_at(&acf, l) + acf_at(&acf, 2.0 * l) + acf_at(&acf, 4.0 * l);
        if a > refined.0 {
            refined = (a, bpm);
        }
    }
    let confidence = acf_at(&acf, lag_of(refined.1));
    Ok(TempoEstimate {
        bpm: refined.1 as f32,
        confidence: confidence.clamp(0.0, 1.0) as f32,
    })
}

/// The tempo encoding: `[cos 2πu, sin 2πu, log2(bpm / 120), confidence]` with `u = log2(bpm)`.
///
/// The first two place the tempo on a circle one octave round, so 60, 120 and 240 BPM coincide
/// and an octave error costs nothing there; the third keeps the raw log tempo.
///
/// # Examples
/// ```
/// use sonority_fusion::encode_tempo;
/// let a = encode_tempo(60.0, 1.0);
/// let b = encode_tempo(120.0, 1.0);
/// assert!((a[0] - b[0]).abs() < 1e-5 && (a[1] - b[1]).abs() < 1e-5);
/// assert!((b[2] - 0.0).abs() < 1e-6 && (a[2] + 1.0).abs() < 1e-6);
/// ```
#[must_use]
pub fn encode_tempo(bpm: f32, confidence: f32) -> [f32; 4] {
    let bpm = if bpm.is_finite() && bpm > 0.0 {
        bpm
    } else {
        120.0
    };
    let u = bpm.log2();
    let phase = 2.0 * std::f32::consts::PI * u.fract();
    let c = if confidence.is_finite() {
        confidence.clamp(0.0, 1.0)
    } else {
        0.0
    };
    [phase.cos(), phase.sin(), (bpm / 120.0).log2(), c]
}

/// A [`FeatureExtractor`] for tempo: an [`OnsetEnvelope`] and [`estimate_tempo_with_bands`] at
/// the end.
///
/// Block `"tempo"`, 4 values: [`encode_tempo`] of the estimate.
///
/// # Examples
/// ```
/// use sonority_fusion::TempoSink;
/// use sonority_mfcc::{MfccConfig, SliceSource, analyze};
/// // Noise bursts at 120 BPM for 12 s.
/// let sr = 22_050;
/// let y: Vec<f32> = (0..12 * sr).map(|i| {
///     let in_beat = i % (sr / 2);
///     if in_beat < 1000 { ((i as u32).wrapping_mul(2_654_435_761) >> 16) as f32 / 32_768.0 - 1.0 } else { 0.0 }
/// }).collect();
/// let mut tempo = TempoSink::default();
/// analyze(&mut SliceSource::new(&y, 22_050), &MfccConfig::default().stft_spec(), &mut [&mut tempo])?;
/// let est = tempo.estimate()?;
/// assert!((est.bpm - 120.0).abs() < 3.0, "{}", est.bpm);
/// # Ok::<(), sonority_fusion::Error>(())
/// ```
#[derive(Debug, Clone, Default)]
pub struct TempoSink {
    onset: OnsetEnvelope,
    cfg: TempoConfig,
    frame_rate: f32,
    /// The estimate, computed once in `finish` (cleared by any new frame).
    done: Option<TempoEstimate>,
}

impl TempoSink {
    /// A tempo sink with `cfg`.
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] if `cfg` is invalid.
    pub fn new(cfg: TempoConfig) -> Result<Self> {
        cfg.validate()?;
        Ok(Self {
            onset: OnsetEnvelope::new(),
            cfg,
            frame_rate: 0.0,
            done: None,
        })
    }

    /// The onset-strength envelope so far.
    #[must_use]
    pub fn onset(&self) -> &OnsetEnvelope {
        &self.onset
    }

    /// The tempo of the frames seen so far (call after the pass).
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] if called before any STFT pass began.
    pub fn estimate(&self) -> Result<TempoEstimate> {
        match self.done {
            Some(est) => Ok(est),
            None => self.compute(),
        }
    }
}

impl TempoSink {
    /// [`estimate_tempo_with_bands`] of the envelopes so far.
    fn compute(&self) -> Result<TempoEstimate> {
        estimate_tempo_with_bands(
            self.onset.envelope(),
            self.onset.low_envelope(),
            self.onset.high_envelope(),
            self.frame_rate,
            &self.cfg,
        )
    }
}

impl FrameSink for TempoSink {
    fn begin(&mut self, spec: &StftSpec) -> sonority_mfcc::Result<()> {
        self.frame_rate = spec.frame_rate();
        self.done = None;
        self.onset.begin(spec)
    }
    fn mel_bands(&self) -> Option<MelBands> {
        self.onset.mel_bands()
    }
    fn frame(&mut self, frame: &Frame<'_>) -> sonority_mfcc::Result<()> {
        self.done = None;
        self.onset.frame(frame)
    }
    fn finish(&mut self) -> sonority_mfcc::Result<()> {
        self.onset.finish()?;
        self.done = Some(self.compute().map_err(sonority_mfcc::Error::sink)?);
        Ok(())
    }
}

impl FeatureExtractor for TempoSink {
    fn name(&self) -> &'static str {
        "tempo"
    }

    fn dim(&self) -> usize {
        4
    }

    fn write_block(&self, out: &mut [f32]) -> Result<()> {
        check_out(self.name(), self.dim(), out)?;
        let est = if self.frame_rate > 0.0 {
            self.estimate()?
        } else {
            TempoEstimate {
                bpm: self.cfg.prior_bpm,
                confidence: 0.0,
            }
        };
        out.copy_from_slice(&encode_tempo(est.bpm, est.confidence));
        Ok(())
    }
}
