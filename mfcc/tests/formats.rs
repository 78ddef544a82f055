//! The formats of real libraries (AIFF, AIFF-C, ALAC in M4A and CAF, PCM in CAF) decode to the
//! right length, rate and tone; Ogg Opus is refused with a typed error naming the file.
//! Fixtures: `tests/data/formats/` (see its `PROVENANCE.md`).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::f64::consts::PI;

use realfft::RealFftPlanner;
use sonority_mfcc::{AudioSource, DecodeOptions, Error, FileSource, load};

/// Every fixture is a sine of peak amplitude 1/16 (ffmpeg's lavfi `sine`, amplitude 1/8, at
/// volume 0.5), one second long.
const AMPLITUDE: f64 = 1.0 / 16.0;

struct Fixture {
    name: &'static str,
    freq: f64,
    rate: u32,
    channels: usize,
    /// The exact length in frames (the ALAC files' last packet is short, not padded).
    frames: u64,
}

const FIXTURES: &[Fixture] = &[
    #[cfg(feature = "aiff")]
    Fixture {
        name: "tone440_16k_mono.aiff",
        freq: 440.0,
        rate: 16_000,
        channels: 1,
        frames: 16_000,
    },
    #[cfg(feature = "aiff")]
    Fixture {
        name: "tone660_16k_mono_sowt.aifc",
        freq: 660.0,
        rate: 16_000,
        channels: 1,
        frames: 16_000,
    },
    #[cfg(feature = "alac")]
    Fixture {
        name: "tone1000_44k_stereo_alac.m4a",
        freq: 1000.0,
        rate: 44_100,
        channels: 2,
        frames: 44_100,
    },
    #[cfg(all(feature = "caf", feature = "alac"))]
    Fixture {
        name: "tone880_22k_mono_alac.caf",
        freq: 880.0,
        rate: 22_050,
        channels: 1,
        frames: 22_050,
    },
    #[cfg(feature = "caf")]
    Fixture {
        name: "tone550_8k_mono_pcm.caf",
        freq: 550.0,
        rate: 8_000,
        channels: 1,
        frames: 8_000,
    },
];

fn path(name: &str) -> std::path::PathBuf {
    common::data(&format!("formats/{name}"))
}

/// The frequency (Hz) of the largest bin of the Hann-windowed spectrum of `y` at `rate`.
fn spectral_peak(y: &[f32], rate: u32) -> f64 {
    let n = y.len();
    let mut input: Vec<f64> = y
        .iter()
        .enumerate()
        .map(|(i, &s)| f64::from(s) * (0.5 - 0.5 * (2.0 * PI * i as f64 / n as f64).cos()))
        .collect();
    let fft = RealFftPlanner::<f64>::new().plan_fft_forward(n);
    let mut spectrum = fft.make_output_vec();
    fft.process(&mut input, &mut spectrum).unwrap();
    let (bin, _) = spectrum
        .iter()
        .enumerate()
        .map(|(k, c)| (k, c.norm_sqr()))
        .fold((0, f64::MIN), |best, x| if x.1 > best.1 { x } else { best });
    bin as f64 * f64::from(rate) / n as f64
}

/// The least-squares fit of `a sin + b cos` at `freq` to `y`: (amplitude, fraction of `y`'s
/// energy it explains).
fn sine_fit(y: &[f32], freq: f64, rate: u32) -> (f64, f64) {
    let w = 2.0 * PI * freq / f64::from(rate);
    let (mut ss, mut cc, mut sc, mut ys, mut yc, mut yy) = (0.0, 0.0, 0.0, 0.0, 0.0, 0.0);
    for (i, &v) in y.iter().enumerate() {
        let (s, c) = (w * i as f64).sin_cos();
        let v = f64::from(v);
        ss += s * s;
        cc += c * c;
        sc += s * c;
        ys += v * s;
        yc += v * c;
        yy += v * v;
    }
    let det = ss * cc - sc * sc;
    let a = (ys * cc - yc * sc) / det;
    let b = (yc * ss - ys * sc) / det;
    let explained = a * ys + b * yc;
    (a.hypot(b), explained / yy)
}

#[test]
fn every_enabled_format_decodes_to_its_length_rate_and_tone() {
    for fx in FIXTURES {
        let p = path(fx.name);
        let opts = DecodeOptions::default();
        let mut src = FileSource::open(&p, &opts)
            .unwrap_or_else(|e| panic!("{}: does not open: {e}", fx.name));
        let spec = src.source_spec();
        assert_eq!(spec.original_sample_rate, fx.rate, "{}", fx.name);
        assert_eq!(spec.original_channels, fx.channels, "{}", fx.name);
        assert_eq!(spec.sample_rate, 22_050, "{}", fx.name);
        let mut y = Vec::new();
        while let Some(chunk) = src.next_chunk().unwrap() {
            y.extend_from_slice(chunk);
        }
        let frames = src.decoded_frames();
        assert_eq!(frames, fx.frames, "{}: frames decoded", fx.name);
        assert_eq!(src.skipped_packets(), 0, "{}", fx.name);
        assert!(!src.was_truncated(), "{}", fx.name);

        // The delivered length is the decoded length at 22050 Hz.
        let expected = (frames as f64 * 22_050.0 / f64::from(fx.rate)).round() as i64;
        assert!(
            (y.len() as i64 - expected).abs() <= 1,
            "{}: {} samples at 22050 Hz, {expected} expected",
            fx.name,
            y.len()
        );

        // The tone: spectral peak at its frequency (bins are 22050 / n Hz wide), and a sine of
        // the right amplitude explains the signal away from the edges (the resampler's).
        let peak = spectral_peak(&y, 22_050);
        let bin = 22_050.0 / y.len() as f64;
        assert!(
            (peak - fx.freq).abs() <= bin,
            "{}: spectral peak at {peak:.1} Hz, tone at {} Hz",
            fx.name,
            fx.freq
        );
        let body = &y[1_000..y.len() - 1_000];
        let (amp, explained) = sine_fit(body, fx.freq, 22_050);
        assert!(
            (amp / AMPLITUDE - 1.0).abs() < 0.01,
            "{}: tone amplitude {amp:.5}, {AMPLITUDE} expected",
            fx.name
        );
        assert!(
            explained > 0.999,
            "{}: the tone explains only {:.4} of the energy",
            fx.name,
            explained
        );
    }
}

#[test]
fn the_extension_is_only_a_hint() {
    // An AIFF under a `.wav` name (and ALAC M4A under `.mp3`) still opens by its content.
    let dir = tempfile::Builder::new()
        .prefix("sonority-formats-")
        .tempdir()
        .unwrap();
    for fx in FIXTURES {
        let renamed = dir
            .path()
            .join(format!("{}.mp3", fx.name.replace('.', "_")));
        std::fs::copy(path(fx.name), &renamed).unwrap();
        let y = load(&renamed, &DecodeOptions::default())
            .unwrap_or_else(|e| panic!("{}: does not open renamed: {e}", fx.name));
        assert!(y.len() > 20_000, "{}: {} samples", fx.name, y.len());
    }
}

/// Ogg Opus: symphonia 0.6 has no Opus decoder, so it is a typed `Unsupported` error naming the
/// file (not a panic, not noise), whatever the extension.
#[test]
fn ogg_opus_is_refused_with_a_typed_error_naming_the_file() {
    for name in ["tone440_48k_mono.opus", "tone440_48k_stereo_opus.ogg"] {
        let p = path(name);
        let err = FileSource::open(&p, &DecodeOptions::default())
            .err()
            .unwrap_or_else(|| panic!("{name}: opened, but no Opus decoder is enabled"));
        match &err {
            Error::Unsupported { path, reason } => {
                assert_eq!(path, &p);
                assert!(!reason.is_empty());
            }
            other => panic!("{name}: {other:?}, Unsupported expected"),
        }
        assert!(err.to_string().contains(name), "{err}");
        assert!(load(&p, &DecodeOptions::default()).is_err());
    }
}
