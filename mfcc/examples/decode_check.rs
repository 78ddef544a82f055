//! `cargo run --release -p sonority-mfcc --example decode_check -- DIR [--limit-s 30]`
//!
//! Decodes every entry of a folder (for instance the bad-input corpus of
//! `../shared/badinput/make.sh DIR`) with [`FileSource`], each in its own thread with a time
//! limit, and prints one line per file: what it decoded to, or the error. If `DIR/cases.tsv`
//! exists, each line also shows the expected outcome (`ok`, `error`, `ok_or_error`, `skip`)
//! and the run ends with the number of mismatches.

use std::collections::HashMap;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use sonority_mfcc::{AudioSource, DecodeOptions, FileSource};

fn main() {
    if let Err(e) = run() {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}

enum Outcome {
    Ok(String),
    Err(String),
    Hang,
}

fn decode(path: &Path) -> Result<String, sonority_mfcc::Error> {
    let mut src = FileSource::open(path, &DecodeOptions::default())?;
    let (mut n, mut peak) = (0_usize, 0.0_f32);
    while let Some(chunk) = src.next_chunk()? {
        n += chunk.len();
        peak = chunk.iter().fold(peak, |p, s| p.max(s.abs()));
    }
    let spec = src.source_spec();
    Ok(format!(
        "{n} samples ({:.2} s) from {} Hz x{}, peak {peak:.3}, skipped {}, truncated {}, tags {:?}",
        n as f64 / f64::from(spec.sample_rate),
        spec.original_sample_rate,
        spec.original_channels,
        src.skipped_packets(),
        src.was_truncated(),
        src.tags()
    ))
}

fn run() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<OsString> = std::env::args_os().skip(1).collect();
    let dir = PathBuf::from(
        args.first()
            .ok_or("usage: decode_check DIR [--limit-s S]")?,
    );
    let limit = match args.get(1).and_then(|a| a.to_str()) {
        Some("--limit-s") => args
            .get(2)
            .and_then(|a| a.to_str())
            .ok_or("--limit-s needs a value")?
            .parse::<f64>()?,
        _ => 30.0,
    };
    let expected: HashMap<String, String> = std::fs::read_to_string(dir.join("cases.tsv"))
        .map(|t| {
            t.lines()
                .skip(1)
                .filter_map(|l| {
                    let f: Vec<&str> = l.split('\t').collect();
                    Some((f.first()?.to_string(), f.get(2)?.to_string()))
                })
                .collect()
        })
        .unwrap_or_default();
    let mut entries: Vec<PathBuf> = std::fs::read_dir(&dir)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.file_name().is_some_and(|n| n != "cases.tsv"))
        .collect();
    entries.sort();
    let mut mismatches = 0;
    for path in entries {
        let (tx, rx) = mpsc::channel();
        let p = path.clone();
        let t0 = Instant::now();
        std::thread::spawn(move || {
            let r = std::panic::catch_unwind(|| decode(&p));
            let _ = tx.send(match r {
                Ok(Ok(s)) => Outcome::Ok(s),
                Ok(Err(e)) => Outcome::Err(e.to_string()),
                Err(_) => Outcome::Err("PANIC".into()),
            });
        });
        let outcome = rx
            .recv_timeout(Duration::from_secs_f64(limit))
            .unwrap_or(Outcome::Hang);
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let expect = expected.get(&name).map_or("?", String::as_str);
        let (got, text) = match &outcome {
            Outcome::Ok(s) => ("ok", s.as_str()),
            Outcome::Err(e) => ("error", e.as_str()),
            Outcome::Hang => ("HANG", "no answer within the time limit"),
        };
        let fine = match (expect, got) {
            (_, "HANG") => false,
            ("ok", g) | ("error", g) => g == expect,
            _ => true, // ok_or_error, skip, unknown
        };
        if !fine {
            mismatches += 1;
        }
        println!(
            "{} {name:40} expect {expect:12} got {got:5} {:6.3}s  {text}",
            if fine { "  " } else { "!!" },
            t0.elapsed().as_secs_f64()
        );
    }
    println!("{mismatches} mismatches");
    Ok(())
}
