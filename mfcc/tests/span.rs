//! `FileSource::open_span`: one track of a CUE sheet is exactly its slice of the whole file,
//! whether the container seeks (WAV, FLAC) or not, with or without resampling.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;

use sonority_mfcc::{AudioSource, DecodeOptions, Error, FileSource};
use sonority_testkit::signal::write_wav_i16;
use sonority_testkit::{Rng, fixtures};

fn drain(mut src: FileSource) -> Vec<f32> {
    let mut out = Vec::new();
    while let Some(chunk) = src.next_chunk().unwrap() {
        out.extend_from_slice(chunk);
    }
    out
}

fn whole(path: &Path) -> Vec<f32> {
    drain(FileSource::open(path, &DecodeOptions::default()).unwrap())
}

fn span(path: &Path, start_s: f64, end_s: Option<f64>) -> Vec<f32> {
    drain(FileSource::open_span(path, &DecodeOptions::default(), start_s, end_s).unwrap())
}

/// 3 s of noise at 22,050 Hz: no resampling, so a span is bit-identical to its slice.
#[test]
fn wav_spans_are_exact_slices() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("noise.wav");
    let mut rng = Rng::new(7);
    let samples: Vec<f32> = (0..3 * 22_050).map(|_| rng.uniform(-0.25, 0.25)).collect();
    write_wav_i16(&path, 1, 22_050, &samples).unwrap();
    let all = whole(&path);
    assert_eq!(all.len(), samples.len());
    for (start_s, end_s) in [
        (0.0, Some(1.0)),
        (0.5, Some(2.0)),
        (1.234_567, Some(2.75)),
        (2.5, None),
    ] {
        let got = span(&path, start_s, end_s);
        let a = (start_s * 22_050.0_f64).round() as usize;
        let b = end_s.map_or(all.len(), |e| (e * 22_050.0_f64).round() as usize);
        assert_eq!(got.as_slice(), &all[a..b], "span {start_s}..{end_s:?}");
    }
}

/// A lossless file the reader seeks in (FLAC): the span equals the whole decode's slice.
#[test]
fn flac_spans_match_the_whole_decode() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("chord.flac");
    std::fs::write(&path, fixtures::FLAC_22K_MONO).unwrap();
    let all = whole(&path);
    for (start_s, end_s) in [(0.7, Some(1.6)), (0.05, Some(0.3)), (1.5, None)] {
        let got = span(&path, start_s, end_s);
        let a = (start_s * 22_050.0_f64).round() as usize;
        let b = end_s.map_or(all.len(), |e| (e * 22_050.0_f64).round() as usize);
        assert_eq!(got.len(), b - a, "span {start_s}..{end_s:?}");
        let worst = got
            .iter()
            .zip(&all[a..b])
            .map(|(x, y)| (x - y).abs())
            .fold(0.0_f32, f32::max);
        assert!(worst < 1e-6, "span {start_s}..{end_s:?}: off by {worst}");
    }
}

/// Resampled (44.1 kHz stereo to 22.05 kHz mono): the span has the right length, and away
/// from its first samples (where the resampler starts afresh) it follows the whole decode.
#[test]
fn resampled_spans_follow_the_whole_decode() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("chord44.flac");
    std::fs::write(&path, fixtures::FLAC_44K_STEREO).unwrap();
    let all = whole(&path);
    let got = span(&path, 1.0, Some(2.5));
    let (a, b) = (22_050, 55_125);
    assert!(
        got.len().abs_diff(b - a) <= 1,
        "{} samples for 1.5 s",
        got.len()
    );
    let n = got.len().min(b - a);
    let worst = got[500..n - 500]
        .iter()
        .zip(&all[a + 500..a + n - 500])
        .map(|(x, y)| (x - y).abs())
        .fold(0.0_f32, f32::max);
    assert!(worst < 1e-3, "off by {worst}");
}

/// Lossy files: a span has its length, whatever the container's seeking does.
#[test]
fn lossy_spans_have_their_length() {
    let dir = tempfile::tempdir().unwrap();
    for (name, bytes, rate) in [
        ("tones.ogg", fixtures::OGG_11K_MONO, 11_025_u32),
        ("tones.mp3", fixtures::MP3_22K_MONO, 22_050),
    ] {
        let path = dir.path().join(name);
        std::fs::write(&path, bytes).unwrap();
        let all = whole(&path);
        let got = span(&path, 0.5, Some(1.5));
        assert!(
            got.len().abs_diff(22_050) <= 2,
            "{name}: {} samples for 1 s",
            got.len()
        );
        let tail = span(&path, 1.0, None);
        assert!(
            tail.len().abs_diff(all.len() - 22_050) <= 2,
            "{name}: {} samples after 1 s of {}",
            tail.len(),
            all.len()
        );
        assert!(got.iter().all(|s| s.is_finite()));
        // Past the first packets (the decoder starts afresh after a seek), the span is the
        // whole decode's slice: it is placed right. It starts at the original rate's nearest
        // frame (5513 of 11,025 Hz is output sample 11,026).
        let first = (0.5 * f64::from(rate)).round() as usize * 22_050 / rate as usize;
        let n = got.len().min(22_050);
        let worst = got[4096..n - 64]
            .iter()
            .zip(&all[first + 4096..first + n - 64])
            .map(|(x, y)| (x - y).abs())
            .fold(0.0_f32, f32::max);
        assert!(worst < 2e-3, "{name}: off by {worst}");
    }
}

#[test]
fn spans_past_the_end_are_empty_and_bad_spans_are_typed_errors() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("chord.flac");
    std::fs::write(&path, fixtures::FLAC_22K_MONO).unwrap();
    assert!(span(&path, 30.0, Some(40.0)).is_empty());
    for (start_s, end_s) in [
        (-1.0, None),
        (f64::NAN, None),
        (1.0, Some(1.0)),
        (1.0, Some(0.5)),
        (0.0, Some(f64::INFINITY)),
    ] {
        match FileSource::open_span(&path, &DecodeOptions::default(), start_s, end_s) {
            Err(Error::InvalidConfig { .. }) => {}
            other => panic!("{start_s}..{end_s:?}: {other:?}"),
        }
    }
}
