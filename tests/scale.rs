//! Indexing at scale: a library of many small generated files (100,000 by default) indexed
//! into SQLite with the shipped model, with the wall time, throughput, peak memory, database
//! size, recommendation latency and the time of an incremental re-index (nothing changed).
//! Ignored by default (it writes gigabytes and analyses tens of hours of audio); run it in
//! release and read its figures:
//!
//! ```text
//! # first run: generates the files (skipped when the folder already holds them), then indexes
//! SONORITY_SCALE_DIR=/path/to/scale-music \
//!     cargo test --release -p sonority --test scale -- --ignored --nocapture
//! # second run: generation skipped, so the memory figures are the indexer's alone
//! SONORITY_SCALE_DIR=/path/to/scale-music \
//!     cargo test --release -p sonority --test scale -- --ignored --nocapture
//! ```
//!
//! The files are mono 16-bit WAVs, 2 seconds each at `SONORITY_SCALE_RATE` Hz (default 11,025,
//! so every file is also resampled to the analysis rate), each a different mix of three sines
//! and white noise drawn from a seeded [`Rng`], in album folders of 100 files. The database is
//! always a fresh one in a temporary directory, so every run indexes everything.
//!
//! Peak memory is `VmHWM` from `/proc/self/status`; the counter is reset
//! (`/proc/self/clear_refs`) after generation where the kernel allows it, else the generator's
//! own peak is included (hence the second run). Linux only. Settings, from the environment:
//! `SONORITY_SCALE_FILES` (default 100000), `SONORITY_SCALE_DIR` (default a temporary
//! directory, deleted at the end), `SONORITY_SCALE_RATE` (default 11025),
//! `SONORITY_SCALE_SECONDS` (default 2).
//!
//! Only real properties are asserted (every file analysed, no failure, recommendations
//! non-empty and without the anchor, nothing to do on the second pass), never timings.
#![cfg(target_os = "linux")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::time::Instant;

use sonority::StopFlag;
use sonority::store::VectorStore;
use sonority::{IndexOptions, Library, Model};
use sonority_testkit::Rng;
use sonority_testkit::signal::{tones, white_noise, write_wav_i16};

/// Files per album folder.
const PER_ALBUM: usize = 100;
/// Recommendations asked for.
const K: usize = 10;
/// Timed recommendation calls after the first (cached index).
const REPEATS: usize = 20;
/// Progress lines (with the resident memory) while indexing: about this many.
const PROGRESS_LINES: usize = 20;

/// A setting from the environment, or its default.
fn setting<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(default)
}

/// A field of `/proc/self/status`, in MiB.
fn status_mib(field: &str) -> f64 {
    let s = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = s
        .lines()
        .find(|l| l.starts_with(field))
        .unwrap_or_else(|| panic!("no {field} in /proc/self/status"));
    let kb: f64 = line.split_whitespace().nth(1).unwrap().parse().unwrap();
    kb / 1024.0
}

/// The resident size split into anonymous memory and file-backed pages (SQLite memory-maps the
/// database: its pages count in RSS but are the page cache, not the process's own memory).
fn split() -> String {
    format!(
        "anon {:.1} + file {:.1} MiB",
        status_mib("RssAnon:"),
        status_mib("RssFile:")
    )
}

/// Resets `VmHWM` to the current resident size; false where the kernel does not allow it.
fn reset_peak() -> bool {
    std::fs::write("/proc/self/clear_refs", "5").is_ok()
}

/// The path of file `i`: `album{i / 100}/track{i % 100}.wav`.
fn file_path(dir: &Path, i: usize) -> PathBuf {
    dir.join(format!("album{:05}", i / PER_ALBUM))
        .join(format!("track{:03}.wav", i % PER_ALBUM))
}

/// Writes file `i`: three sines (60 Hz to 3 kHz, random levels) and white noise (random level),
/// all drawn from a generator seeded with `i`. Written under a temporary name and renamed, so an
/// interrupted run never leaves a truncated file behind.
fn write_file(path: &Path, i: usize, rate: u32, seconds: f64) {
    let mut rng = Rng::new(i as u64);
    let mut y = vec![0.0_f32; sonority_testkit::signal::n_samples(rate, seconds)];
    for _ in 0..3 {
        let freq = 60.0 * 50.0_f64.powf(rng.next_f64());
        let level = rng.uniform(0.05, 0.3);
        for (s, t) in y.iter_mut().zip(tones(rate, seconds, &[freq], level)) {
            *s += t;
        }
    }
    let noise = white_noise(rate, seconds, rng.uniform(0.0, 0.2), rng.next_u64());
    for (s, n) in y.iter_mut().zip(noise) {
        *s += n;
    }
    let tmp = path.with_extension("wav.part");
    write_wav_i16(&tmp, 1, rate, &y).unwrap();
    std::fs::rename(&tmp, path).unwrap();
}

/// Generates the files of `0..n` that are missing (on two threads); returns how many it wrote.
fn generate(dir: &Path, n: usize, rate: u32, seconds: f64) -> usize {
    let missing: Vec<usize> = (0..n).filter(|&i| !file_path(dir, i).is_file()).collect();
    if missing.is_empty() {
        return 0;
    }
    for album in 0..n.div_ceil(PER_ALBUM) {
        std::fs::create_dir_all(dir.join(format!("album{album:05}"))).unwrap();
    }
    let threads = std::thread::available_parallelism().map_or(2, usize::from);
    let chunk = missing.len().div_ceil(threads);
    std::thread::scope(|s| {
        for part in missing.chunks(chunk) {
            s.spawn(move || {
                for &i in part {
                    write_file(&file_path(dir, i), i, rate, seconds);
                }
            });
        }
    });
    missing.len()
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn file_mib(p: &Path) -> f64 {
    std::fs::metadata(p).map_or(0.0, |m| m.len() as f64 / (1024.0 * 1024.0))
}

#[test]
#[ignore = "writes gigabytes and analyses tens of hours of audio: run in release with --ignored --nocapture"]
fn index_a_large_library() {
    let n: usize = setting("SONORITY_SCALE_FILES", 100_000);
    let rate: u32 = setting("SONORITY_SCALE_RATE", 11_025);
    let seconds: f64 = setting("SONORITY_SCALE_SECONDS", 2.0);
    let tmp = tempfile::Builder::new()
        .prefix("sonority-scale-")
        .tempdir()
        .unwrap();
    let music = std::env::var_os("SONORITY_SCALE_DIR")
        .map_or_else(|| tmp.path().join("music"), PathBuf::from);
    let db = tmp.path().join("library.sqlite");

    let rss_start = status_mib("VmRSS:");
    let model = Model::load_default().unwrap();
    let rss_model = status_mib("VmRSS:");

    let t0 = Instant::now();
    let generated = generate(&music, n, rate, seconds);
    let gen_s = t0.elapsed().as_secs_f64();
    let hwm_after_gen = status_mib("VmHWM:");
    let rss_before_index = status_mib("VmRSS:");
    let reset = reset_peak();

    // First pass: everything is new.
    let mut lib = Library::open(&db, &model).unwrap();
    let opts = IndexOptions::default();
    let t0 = Instant::now();
    let mut first_done_s = None;
    let mut rss_samples = Vec::new();
    let every = n.div_ceil(PROGRESS_LINES).max(1);
    let report = lib
        .index(&music, &opts, &StopFlag::new(), |p| {
            if first_done_s.is_none() {
                first_done_s = Some(t0.elapsed().as_secs_f64());
            }
            if p.done % every == 0 || p.done == p.total {
                let rss = status_mib("VmRSS:");
                rss_samples.push((p.done, rss));
                eprintln!(
                    "  {:>7}/{} files, {:>7.1} s, RSS {rss:.1} MiB",
                    p.done,
                    p.total,
                    t0.elapsed().as_secs_f64()
                );
            }
        })
        .unwrap();
    let index_s = t0.elapsed().as_secs_f64();
    let hwm_after_index = status_mib("VmHWM:");
    let rss_after_index = status_mib("VmRSS:");
    let split_after_index = split();
    assert_eq!(report.found, n, "{:?}", report.skipped);
    assert!(
        report.failed.is_empty(),
        "{:?}",
        &report.failed[..5.min(report.failed.len())]
    );
    assert_eq!(report.analysed, n);
    assert!(!report.stopped);
    assert_eq!(lib.store().track_count().unwrap(), n);

    // Recommendations for an anchor inside the library: the first call loads the index.
    let anchor = std::fs::canonicalize(file_path(&music, n / 2)).unwrap();
    let anchors = std::slice::from_ref(&anchor);
    reset_peak();
    let rss_before_recommend = status_mib("VmRSS:");
    let split_before_recommend = split();
    let t0 = Instant::now();
    let recs = lib.recommend(anchors, K, false).unwrap();
    let first_ms = t0.elapsed().as_secs_f64() * 1e3;
    assert_eq!(recs.len(), K.min(n - 1));
    assert!(recs.iter().all(|r| r.track.record.file.path != anchor));
    let times: Vec<f64> = (0..REPEATS)
        .map(|_| {
            let t0 = Instant::now();
            let r = lib.recommend(anchors, K, false).unwrap();
            let ms = t0.elapsed().as_secs_f64() * 1e3;
            assert!(!r.is_empty() && r.iter().all(|r| r.track.record.file.path != anchor));
            ms
        })
        .collect();
    let median_ms = median(times);
    let hwm_after_recommend = status_mib("VmHWM:");
    let rss_after_recommend = status_mib("VmRSS:");
    let split_after_recommend = split();

    // Second pass over the unchanged folder: nothing to analyse.
    let t0 = Instant::now();
    let again = lib.index(&music, &opts, &StopFlag::new(), |_| {}).unwrap();
    let reindex_s = t0.elapsed().as_secs_f64();
    assert_eq!((again.found, again.analysed, again.unchanged), (n, 0, n));
    assert!(again.failed.is_empty() && again.pruned == 0 && again.moved == 0);
    let hwm_end = status_mib("VmHWM:");

    // What loading the ranking index costs, part by part (peak rise over the resident size).
    reset_peak();
    let rss0 = status_mib("VmRSS:");
    let m = lib.store().load_matrix(model.name()).unwrap();
    let matrix_peak = status_mib("VmHWM:") - rss0;
    let (dim, matrix_mib) = (m.dim, (m.data.len() * 4) as f64 / (1024.0 * 1024.0));
    drop(m);
    reset_peak();
    let rss0 = status_mib("VmRSS:");
    let tracks = lib.store().tracks().unwrap();
    let tracks_peak = status_mib("VmHWM:") - rss0;
    assert_eq!(tracks.len(), n);
    drop(tracks);

    let db_mib = file_mib(&db);
    let wal_mib = file_mib(&db.with_extension("sqlite-wal"));
    let growth = match (rss_samples.first(), rss_samples.last()) {
        (Some(a), Some(b)) if b.0 > a.0 => format!(
            "{:.1} MiB at {} files -> {:.1} MiB at {} files",
            a.1, a.0, b.1, b.0
        ),
        _ => "-".into(),
    };
    let audio_h = report.audio_s / 3600.0;
    println!(
        "\n==== sonority scale test ====\n\
         files                  {n} ({seconds} s mono 16-bit WAV at {rate} Hz, {PER_ALBUM} per folder) in {}\n\
         generated this run     {generated} files in {gen_s:.1} s\n\
         threads                {}\n\
         audio                  {:.0} s = {audio_h:.2} h\n\
         index wall time        {index_s:.1} s ({:.1} min); first file done after {:.3} s (scan + plan)\n\
         throughput             {:.1} files/s, {:.0}x real time\n\
         RSS                    start {rss_start:.1} MiB, model loaded {rss_model:.1} MiB, before indexing {rss_before_index:.1} MiB, after indexing {rss_after_index:.1} MiB ({split_after_index})\n\
         RSS during indexing    {growth}\n\
         peak RSS (VmHWM)       after generation {hwm_after_gen:.1} MiB; after indexing {hwm_after_index:.1} MiB ({}); after recommend + re-index {hwm_end:.1} MiB\n\
         recommend memory       RSS {rss_before_recommend:.1} MiB before ({split_before_recommend}), peak {hwm_after_recommend:.1} MiB during, {rss_after_recommend:.1} MiB after, index cached ({split_after_recommend})\n\
         index load, part by    load_matrix: {dim} floats x {n} = {matrix_mib:.1} MiB, peak rise {matrix_peak:.1} MiB; tracks(): peak rise {tracks_peak:.1} MiB\n\
         recommend (k = {K})     first call {first_ms:.1} ms (loads the index), median of {REPEATS} more {median_ms:.2} ms\n\
         database               {db_mib:.1} MiB (+ WAL {wal_mib:.1} MiB), {:.0} bytes per track\n\
         re-index (unchanged)   {reindex_s:.2} s for {} unchanged files\n\
         =============================",
        music.display(),
        opts.threads,
        report.audio_s,
        index_s / 60.0,
        first_done_s.unwrap_or(f64::NAN),
        n as f64 / index_s,
        report.audio_s / index_s,
        if reset {
            "peak counter reset after generation"
        } else {
            "peak counter NOT reset: includes generation"
        },
        (db_mib + wal_mib) * 1024.0 * 1024.0 / n as f64,
        again.unchanged,
    );
}
