//! Peak memory of analysing a multi-hour file, against a short one, in the same process: memory
//! is bounded whatever the length (the README's figure). Ignored by default (it writes a
//! 480 MB WAV and analyses three hours of audio); run it in release and read its figures:
//!
//! ```text
//! cargo test --release -p sonority --test memory -- --ignored --nocapture
//! ```
//!
//! Writes a long mono 16-bit WAV into a temporary directory (`TMPDIR`, deleted at the end), then
//! analyses a 3-minute file and the long file with the full pipeline, resetting the peak-RSS
//! counter (`/proc/self/clear_refs`) before each, and prints `VmHWM` (peak resident memory)
//! against the resident memory before each analysis. Linux only. Settings, from the environment:
//! `SONORITY_MEMORY_HOURS` (length of the long file, default 3), `SONORITY_MEMORY_RATE` (sample
//! rate in Hz, default 22050), `SONORITY_MEMORY_MODEL` (a model directory; default the shipped
//! model).
#![cfg(target_os = "linux")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::time::Instant;

use sonority::{Analyzer, Model};
use sonority_testkit::Rng;

type Res<T> = Result<T, Box<dyn std::error::Error>>;

/// How much the long file's analysis may raise peak RSS above the resident size before it, in
/// MiB. Holding the decoded 3-hour signal alone would take about 900 MiB (f32 at 22.05 kHz).
const BOUND_MIB: f64 = 64.0;

/// A setting from the environment, or its default.
fn setting<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(default)
}

/// A field of `/proc/self/status`, in MiB.
fn status_mib(field: &str) -> Res<f64> {
    let s = std::fs::read_to_string("/proc/self/status")?;
    let line = s
        .lines()
        .find(|l| l.starts_with(field))
        .ok_or_else(|| format!("no {field} in /proc/self/status"))?;
    let kb: f64 = line
        .split_whitespace()
        .nth(1)
        .ok_or("malformed /proc/self/status")?
        .parse()?;
    Ok(kb / 1024.0)
}

/// Resets `VmHWM` to the current resident size.
fn reset_peak() -> Res<()> {
    std::fs::write("/proc/self/clear_refs", "5")?;
    Ok(())
}

/// Writes `seconds` of a slowly changing chord with noise (so every stage has work to do).
fn write_wav(path: &Path, rate: u32, seconds: f64) -> Res<()> {
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: rate,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut w = hound::WavWriter::create(path, spec)?;
    let n = (seconds * f64::from(rate)) as u64;
    let mut rng = Rng::new(1);
    let (mut p1, mut p2) = (0.0_f64, 0.0_f64);
    for i in 0..n {
        let t = i as f64 / f64::from(rate);
        let f = 110.0 * 2f64.powf(((t / 20.0).floor() % 24.0) / 12.0);
        p1 += std::f64::consts::TAU * f / f64::from(rate);
        p2 += std::f64::consts::TAU * 1.5 * f / f64::from(rate);
        let beat = if (t * 2.0).fract() < 0.05 { 0.3 } else { 0.0 };
        let noise = rng.next_f64() - 0.5;
        let s = 0.3 * p1.sin() + 0.2 * p2.sin() + (0.05 + beat) * noise;
        w.write_sample((s * 20_000.0) as i16)?;
    }
    w.finalize()?;
    Ok(())
}

/// Analyses `path`, prints its figures and returns the rise of peak RSS over the resident size
/// before the analysis, in MiB.
fn analyse(analyzer: &Analyzer<'_>, path: &Path, what: &str) -> Res<f64> {
    reset_peak()?;
    let before = status_mib("VmRSS:")?;
    let t0 = Instant::now();
    let a = analyzer.analyze_file(path)?;
    let secs = t0.elapsed().as_secs_f64();
    let peak = status_mib("VmHWM:")?;
    println!(
        "{what:>10}: {:>8.0} s of audio in {secs:>6.1} s ({:>5.0}x real time); RSS before {before:.1} MiB, peak {peak:.1} MiB (+{:.1} MiB)",
        a.duration_s,
        a.duration_s / secs,
        peak - before
    );
    Ok(peak - before)
}

#[test]
#[ignore = "writes a 480 MB file and analyses 3 hours of audio: run in release with --ignored --nocapture"]
fn peak_memory_does_not_grow_with_the_file_length() -> Res<()> {
    let hours: f64 = setting("SONORITY_MEMORY_HOURS", 3.0);
    let rate: u32 = setting("SONORITY_MEMORY_RATE", 22_050);
    let model_dir: Option<PathBuf> = std::env::var_os("SONORITY_MEMORY_MODEL").map(PathBuf::from);

    println!("start: RSS {:.1} MiB", status_mib("VmRSS:")?);
    let model = match &model_dir {
        Some(d) => Model::load(d)?,
        None => Model::load_default()?,
    };
    println!("model loaded: RSS {:.1} MiB", status_mib("VmRSS:")?);
    let dir = tempfile::Builder::new()
        .prefix("sonority-memory-probe-")
        .tempdir()?;
    let short = dir.path().join("short.wav");
    let long = dir.path().join("long.wav");
    write_wav(&short, rate, 180.0)?;
    let t0 = Instant::now();
    write_wav(&long, rate, hours * 3600.0)?;
    println!(
        "wrote {hours} h at {rate} Hz ({:.0} MB) in {:.0} s",
        std::fs::metadata(&long)?.len() as f64 / 1e6,
        t0.elapsed().as_secs_f64()
    );
    let analyzer = Analyzer::new(&model);
    let short_rise = analyse(&analyzer, &short, "3 min")?;
    let long_rise = analyse(&analyzer, &long, &format!("{hours} h"))?;
    assert!(
        long_rise < short_rise.max(0.0) + BOUND_MIB,
        "analysing {hours} h raised peak RSS by {long_rise:.1} MiB (3 minutes: {short_rise:.1} MiB)"
    );
    Ok(())
}
