//! Peak memory of analysing a multi-hour file, against a short one, in the same process.
//!
//! ```text
//! cargo run --release --example memory_probe -- [--hours 3] [--rate 22050] [--model DIR]
//! ```
//!
//! Writes a long mono 16-bit WAV (3 h at 22.05 kHz is about 480 MB) into a temporary directory
//! (deleted at the end), then analyses a 3-minute file and the long file with the full
//! pipeline, resetting the peak-RSS counter (`/proc/self/clear_refs`) before each, and prints
//! `VmHWM` (peak resident memory) against the resident memory before each analysis. Linux only.

use std::path::{Path, PathBuf};
use std::time::Instant;

use clap::Parser;
use sonority::{Analyzer, Model};

/// Measure peak memory while analysing a long generated file.
#[derive(Parser, Debug)]
#[command(version, about)]
struct Args {
    /// Length of the long file, in hours.
    #[arg(long, default_value_t = 3.0)]
    hours: f64,
    /// Sample rate of the generated files, in Hz.
    #[arg(long, default_value_t = 22_050)]
    rate: u32,
    /// A model directory (default: the shipped model).
    #[arg(long)]
    model: Option<PathBuf>,
    /// Where to write the temporary files (default: the system temporary directory).
    #[arg(long)]
    tmp: Option<PathBuf>,
}

fn main() {
    if let Err(e) = run() {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}

/// A field of `/proc/self/status`, in MiB.
fn status_mib(field: &str) -> Result<f64, Box<dyn std::error::Error>> {
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
fn reset_peak() -> Result<(), Box<dyn std::error::Error>> {
    std::fs::write("/proc/self/clear_refs", "5")?;
    Ok(())
}

/// Writes `seconds` of a slowly changing chord with noise (so every stage has work to do).
fn write_wav(path: &Path, rate: u32, seconds: f64) -> Result<(), Box<dyn std::error::Error>> {
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: rate,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut w = hound::WavWriter::create(path, spec)?;
    let n = (seconds * f64::from(rate)) as u64;
    let mut x = 0x2545_f491_u32;
    let (mut p1, mut p2) = (0.0_f64, 0.0_f64);
    for i in 0..n {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        let t = i as f64 / f64::from(rate);
        let f = 110.0 * 2f64.powf(((t / 20.0).floor() % 24.0) / 12.0);
        p1 += std::f64::consts::TAU * f / f64::from(rate);
        p2 += std::f64::consts::TAU * 1.5 * f / f64::from(rate);
        let beat = if (t * 2.0).fract() < 0.05 { 0.3 } else { 0.0 };
        let noise = f64::from(x) / f64::from(u32::MAX) - 0.5;
        let s = 0.3 * p1.sin() + 0.2 * p2.sin() + (0.05 + beat) * noise;
        w.write_sample((s * 20_000.0) as i16)?;
    }
    w.finalize()?;
    Ok(())
}

fn analyse(
    analyzer: &Analyzer<'_>,
    path: &Path,
    what: &str,
) -> Result<(), Box<dyn std::error::Error>> {
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
    Ok(())
}

fn run() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse();
    println!("start: RSS {:.1} MiB", status_mib("VmRSS:")?);
    let model = match &args.model {
        Some(d) => Model::load(d)?,
        None => Model::load_default()?,
    };
    println!("model loaded: RSS {:.1} MiB", status_mib("VmRSS:")?);
    let tmp = args.tmp.clone().unwrap_or_else(std::env::temp_dir);
    let dir = tmp.join(format!("sonority-memory-probe-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let result = (|| {
        let short = dir.join("short.wav");
        let long = dir.join("long.wav");
        write_wav(&short, args.rate, 180.0)?;
        let t0 = Instant::now();
        write_wav(&long, args.rate, args.hours * 3600.0)?;
        println!(
            "wrote {:.1} h at {} Hz ({:.0} MB) in {:.0} s",
            args.hours,
            args.rate,
            std::fs::metadata(&long)?.len() as f64 / 1e6,
            t0.elapsed().as_secs_f64()
        );
        let analyzer = Analyzer::new(&model);
        analyse(&analyzer, &short, "3 min")?;
        analyse(&analyzer, &long, &format!("{:.1} h", args.hours))?;
        Ok::<(), Box<dyn std::error::Error>>(())
    })();
    std::fs::remove_dir_all(&dir)?;
    result
}
