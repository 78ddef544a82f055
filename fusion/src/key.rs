//! Musical key: 24 keys, profiles, estimation from a chroma, and the circle-of-fifths encoding.

use serde::{Deserialize, Serialize};
use sonority_mfcc::{Frame, FrameSink, StftSpec};

use crate::extractor::check_out;
use crate::{ChromaSink, FeatureExtractor, Result};

/// Pitch-class names used in [`Key`]'s display, C = 0.
pub const PITCH_NAMES: [&str; 12] = [
    "C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B",
];

/// Major or minor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub enum Mode {
    /// Major mode.
    Major,
    /// Minor mode.
    Minor,
}

/// One of the 24 major and minor keys.
///
/// # Examples
/// ```
/// use sonority_fusion::{Key, Mode};
/// let k = Key::new(6, Mode::Minor);
/// assert_eq!(k.to_string(), "F# minor");
/// assert_eq!(k.relative(), Key::new(9, Mode::Major));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Key {
    /// Tonic pitch class, 0 = C ... 11 = B.
    pub tonic: u8,
    /// Mode.
    pub mode: Mode,
}

impl Key {
    /// The key with tonic `tonic mod 12` and `mode`.
    #[must_use]
    pub fn new(tonic: u8, mode: Mode) -> Self {
        Self {
            tonic: tonic % 12,
            mode,
        }
    }

    /// The integer label of the published design: `tonic` for major keys, `12 + tonic` for
    /// minor keys (0..=23). Only for [`Fusion::published_design`](crate::Fusion::published_design):
    /// as a number it says nothing about how close two keys are.
    #[must_use]
    pub fn label(&self) -> u8 {
        match self.mode {
            Mode::Major => self.tonic,
            Mode::Minor => 12 + self.tonic,
        }
    }

    /// The relative key (C major ↔ A minor).
    #[must_use]
    pub fn relative(&self) -> Key {
        match self.mode {
            Mode::Major => Key::new(self.tonic + 9, Mode::Minor),
            Mode::Minor => Key::new(self.tonic + 3, Mode::Major),
        }
    }

    /// Position on the circle of fifths, 0..12 (C major and A minor = 0, G major = 1, F = 11):
    /// relative keys share a position.
    #[must_use]
    pub fn fifths(&self) -> u8 {
        let major_tonic = match self.mode {
            Mode::Major => self.tonic,
            Mode::Minor => (self.tonic + 3) % 12,
        };
        (major_tonic * 7) % 12
    }
}

impl std::fmt::Display for Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mode = match self.mode {
            Mode::Major => "major",
            Mode::Minor => "minor",
        };
        write!(f, "{} {}", PITCH_NAMES[usize::from(self.tonic % 12)], mode)
    }
}

/// Key profiles: the expected weight of each scale degree (tonic first) in a key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[non_exhaustive]
pub enum KeyProfile {
    /// Krumhansl & Kessler (1982), probe-tone ratings.
    Krumhansl,
    /// Temperley (2007), Kostka–Payne corpus frequencies.
    Temperley,
    /// Faraldo's EDMA profile (essentia `edma`), from electronic dance music.
    Edma,
    /// Faraldo's `bgate` profile (essentia's default for `KeyExtractor`): only scale degrees.
    #[default]
    Bgate,
}

impl KeyProfile {
    /// All profiles, for comparisons.
    pub const ALL: [KeyProfile; 4] = [
        KeyProfile::Krumhansl,
        KeyProfile::Temperley,
        KeyProfile::Edma,
        KeyProfile::Bgate,
    ];

    /// `(major, minor)` weights by scale degree, tonic first.
    #[must_use]
    pub fn weights(&self) -> ([f32; 12], [f32; 12]) {
        match self {
            KeyProfile::Krumhansl => (
                [
                    6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88,
                ],
                [
                    6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17,
                ],
            ),
            KeyProfile::Temperley => (
                [
                    0.748, 0.060, 0.488, 0.082, 0.670, 0.460, 0.096, 0.715, 0.104, 0.366, 0.057,
                    0.400,
                ],
                [
                    0.712, 0.084, 0.474, 0.618, 0.049, 0.460, 0.105, 0.747, 0.404, 0.067, 0.133,
                    0.330,
                ],
            ),
            KeyProfile::Edma => (
                [
                    1.0, 0.2875, 0.5020, 0.4048, 0.6050, 0.5614, 0.3205, 0.7966, 0.3159, 0.4506,
                    0.4202, 0.3889,
                ],
                [
                    1.0, 0.3096, 0.4415, 0.5827, 0.3262, 0.4948, 0.2889, 0.7804, 0.4328, 0.2903,
                    0.5331, 0.3217,
                ],
            ),
            KeyProfile::Bgate => (
                [
                    1.0, 0.0, 0.42, 0.0, 0.53, 0.37, 0.0, 0.77, 0.0, 0.38, 0.21, 0.30,
                ],
                [
                    1.0, 0.0, 0.36, 0.39, 0.0, 0.38, 0.0, 0.74, 0.27, 0.0, 0.42, 0.23,
                ],
            ),
        }
    }
}

/// A key with its strength.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct KeyEstimate {
    /// The best-matching key.
    pub key: Key,
    /// Pearson correlation of the chroma with the key's profile, in `[-1, 1]`; near 1 for clearly
    /// tonal music, near 0 for noise, drums or atonal music.
    pub strength: f32,
    /// Correlation of the best key minus that of the runner-up (any other key), `>= 0`.
    pub margin: f32,
}

fn pearson(x: &[f32; 12], y: &[f32; 12], shift: usize) -> f32 {
    let mx = x.iter().sum::<f32>() / 12.0;
    let my = y.iter().sum::<f32>() / 12.0;
    let (mut sxy, mut sxx, mut syy) = (0.0_f32, 0.0_f32, 0.0_f32);
    for i in 0..12 {
        let a = x[(i + shift) % 12] - mx;
        let b = y[i] - my;
        sxy += a * b;
        sxx += a * a;
        syy += b * b;
    }
    if sxx <= 0.0 || syy <= 0.0 {
        0.0
    } else {
        sxy / (sxx * syy).sqrt()
    }
}

/// The key whose rotated profile correlates best with `chroma` (C first).
///
/// A flat or all-zero chroma gives C major with strength 0.
///
/// # Examples
/// ```
/// use sonority_fusion::{Key, KeyProfile, Mode, estimate_key};
/// // The G major scale, tonic and fifth weighted.
/// let mut chroma = [0.0_f32; 12];
/// for (pc, w) in [(7, 3.0), (9, 1.0), (11, 1.5), (0, 1.0), (2, 2.0), (4, 1.0), (6, 1.0)] {
///     chroma[pc] = w;
/// }
/// let est = estimate_key(&chroma, KeyProfile::Bgate);
/// assert_eq!(est.key, Key::new(7, Mode::Major));
/// ```
#[must_use]
pub fn estimate_key(chroma: &[f32; 12], profile: KeyProfile) -> KeyEstimate {
    let (maj, min) = profile.weights();
    let mut scores = Vec::with_capacity(24);
    for tonic in 0..12u8 {
        scores.push((
            Key::new(tonic, Mode::Major),
            pearson(chroma, &maj, usize::from(tonic)),
        ));
        scores.push((
            Key::new(tonic, Mode::Minor),
            pearson(chroma, &min, usize::from(tonic)),
        ));
    }
    scores.sort_by(|a, b| b.1.total_cmp(&a.1));
    let (key, strength) = scores[0];
    let second = scores.get(1).map_or(strength, |s| s.1);
    if !strength.is_finite() || strength <= 0.0 && chroma.iter().all(|&c| c == 0.0) {
        return KeyEstimate {
            key: Key::new(0, Mode::Major),
            strength: 0.0,
            margin: 0.0,
        };
    }
    KeyEstimate {
        key,
        strength,
        margin: (strength - second).max(0.0),
    }
}

/// The circle-of-fifths encoding of a key: `[c·cos θ, c·sin θ, c·m/2]`, where θ is the key's
/// position on the circle of fifths (relative keys share it), `m` is +1 for major and −1 for
/// minor, and `c = clamp(strength, 0, 1)` pulls unclear keys towards the centre.
///
/// Between two clear keys, the Euclidean distance is 0.52 a fifth apart, 1.0 between relative
/// keys, 1.73 between parallel keys and 2.0 at the tritone, as on the circle of fifths.
///
/// # Examples
/// ```
/// use sonority_fusion::{Key, Mode, encode_key};
/// let c = encode_key(Key::new(0, Mode::Major), 1.0);
/// let a = encode_key(Key::new(9, Mode::Minor), 1.0);
/// let d: f32 = c.iter().zip(&a).map(|(x, y)| (x - y).powi(2)).sum::<f32>().sqrt();
/// assert!((d - 1.0).abs() < 1e-6);
/// ```
#[must_use]
pub fn encode_key(key: Key, strength: f32) -> [f32; 3] {
    let c = if strength.is_finite() {
        strength.clamp(0.0, 1.0)
    } else {
        0.0
    };
    let theta = 2.0 * std::f32::consts::PI * f32::from(key.fifths()) / 12.0;
    let m = match key.mode {
        Mode::Major => 0.5,
        Mode::Minor => -0.5,
    };
    [c * theta.cos(), c * theta.sin(), c * m]
}

/// A [`FeatureExtractor`] for the key: a [`ChromaSink`] and a profile.
///
/// Block `"key"`, 3 values: [`encode_key`] of the estimate. The profile is
/// [`KeyProfile::Bgate`] by default (see the crate docs for the comparison).
///
/// # Examples
/// ```
/// use sonority_fusion::{KeySink, Mode};
/// use sonority_mfcc::{MfccConfig, SliceSource, analyze};
/// // An A minor triad, A3 C4 E4, for two seconds.
/// let y: Vec<f32> = (0..44_100).map(|i| {
///     let t = i as f32 / 22_050.0;
///     [220.0_f32, 261.63, 329.63].iter().map(|f| (2.0 * std::f32::consts::PI * f * t).sin()).sum::<f32>() / 3.0
/// }).collect();
/// let mut key = KeySink::default();
/// analyze(&mut SliceSource::new(&y, 22_050), &MfccConfig::default().stft_spec(), &mut [&mut key])?;
/// let est = key.estimate();
/// assert_eq!(est.key.to_string(), "A minor");
/// # Ok::<(), sonority_fusion::Error>(())
/// ```
#[derive(Debug, Clone, Default)]
pub struct KeySink {
    chroma: ChromaSink,
    profile: KeyProfile,
}

impl KeySink {
    /// A key sink using `profile`.
    #[must_use]
    pub fn new(profile: KeyProfile) -> Self {
        Self {
            chroma: ChromaSink::new(),
            profile,
        }
    }

    /// A key sink over a configured chroma accumulator.
    #[must_use]
    pub fn with_chroma(chroma: ChromaSink, profile: KeyProfile) -> Self {
        Self { chroma, profile }
    }

    /// The estimate from the frames seen so far.
    #[must_use]
    pub fn estimate(&self) -> KeyEstimate {
        estimate_key(&self.chroma.chroma(), self.profile)
    }

    /// The estimate under another profile, from the same chroma.
    #[must_use]
    pub fn estimate_with(&self, profile: KeyProfile) -> KeyEstimate {
        estimate_key(&self.chroma.chroma(), profile)
    }

    /// The underlying chroma accumulator (chroma vector, tuning).
    #[must_use]
    pub fn chroma(&self) -> &ChromaSink {
        &self.chroma
    }
}

impl FrameSink for KeySink {
    fn begin(&mut self, spec: &StftSpec) -> sonority_mfcc::Result<()> {
        self.chroma.begin(spec)
    }
    fn frame(&mut self, frame: &Frame<'_>) -> sonority_mfcc::Result<()> {
        self.chroma.frame(frame)
    }
}

impl FeatureExtractor for KeySink {
    fn name(&self) -> &'static str {
        "key"
    }

    fn dim(&self) -> usize {
        3
    }

    fn write_block(&self, out: &mut [f32]) -> Result<()> {
        check_out(self.name(), self.dim(), out)?;
        let est = self.estimate();
        out.copy_from_slice(&encode_key(est.key, est.strength));
        Ok(())
    }
}
