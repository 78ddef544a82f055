//! SIGKILL a writer process at varied points; the database must hold whole batches only.
//!
//! The test binary re-executes itself as the writer: the ignored test
//! `kill_writer_child` runs only when `SONORITY_STORE_KILL_DB` names a database.

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use sonority_store::{
    AnalysedTrack, Analysis, FileFacts, ModelVector, SqliteStore, Tiles, TrackRecord, VectorStore,
};

use crate::testutil::vector_for;

const ENV: &str = "SONORITY_STORE_KILL_DB";
const BATCH: usize = 400;
const DIM_A: usize = 64;
const DIM_B: usize = 16;
const TILE_DIM: usize = 8;

fn tiles_for(i: i64) -> Vec<f32> {
    vector_for(i + 2_000_000, TILE_DIM * (1 + (i as usize % 5)))
}

fn index_of(path: &Path) -> i64 {
    path.file_stem().unwrap().to_str().unwrap().parse().unwrap()
}

/// The writer: resumes after the tracks already stored and commits batches until killed.
#[test]
#[ignore = "child process of sigkill_mid_batch_never_exposes_partial_tracks"]
fn kill_writer_child() {
    let Ok(db) = std::env::var(ENV) else { return };
    let mut s = SqliteStore::open(&db).unwrap();
    let mut next = s.track_count().unwrap() as i64;
    let mut out = std::io::stdout().lock();
    writeln!(out, "ready {next}").unwrap();
    out.flush().unwrap();
    for _ in 0..10_000 {
        let idx: Vec<i64> = (next..next + BATCH as i64).collect();
        let records: Vec<TrackRecord> = idx
            .iter()
            .map(|&i| TrackRecord::new(FileFacts::new(format!("/k/{i}.flac"), i as u64, i)))
            .collect();
        let analyses: Vec<Analysis> = idx
            .iter()
            .map(|&i| {
                Analysis::default()
                    .with_tempo(i as f64, 0.5)
                    .with_descriptor("i", i as f64)
            })
            .collect();
        let va: Vec<Vec<f32>> = idx.iter().map(|&i| vector_for(i, DIM_A)).collect();
        let vb: Vec<Vec<f32>> = idx
            .iter()
            .map(|&i| vector_for(i + 1_000_000, DIM_B))
            .collect();
        let vt: Vec<Vec<f32>> = idx.iter().map(|&i| tiles_for(i)).collect();
        let embs: Vec<[ModelVector<'_>; 2]> = (0..BATCH)
            .map(|k| {
                [
                    ModelVector::new("a", &va[k]).with_tiles(Tiles {
                        dim: TILE_DIM,
                        data: &vt[k],
                    }),
                    ModelVector::new("b", &vb[k]),
                ]
            })
            .collect();
        let batch: Vec<AnalysedTrack<'_>> = (0..BATCH)
            .map(|k| AnalysedTrack {
                track: &records[k],
                analysis: &analyses[k],
                embeddings: &embs[k],
            })
            .collect();
        writeln!(out, "begin {next}").unwrap();
        out.flush().unwrap();
        s.put_track_analyses(&batch).unwrap();
        next += BATCH as i64;
        writeln!(out, "committed {next}").unwrap();
        out.flush().unwrap();
    }
}

/// Checks that the store holds exactly tracks `0..n` for a multiple `n` of `BATCH`,
/// each complete and bit-exact; returns `n`.
fn verify(db: &Path) -> usize {
    let c = rusqlite::Connection::open(db).unwrap();
    let ok: String = c
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(ok, "ok");
    let fk: i64 = c
        .query_row("SELECT count(*) FROM pragma_foreign_key_check", [], |r| {
            r.get(0)
        })
        .unwrap();
    assert_eq!(fk, 0);
    drop(c);

    let s = SqliteStore::open_read_only(db).unwrap();
    let tracks = s.tracks().unwrap();
    let n = tracks.len();
    assert_eq!(n % BATCH, 0, "a partial batch is visible: {n} tracks");
    let mut seen: Vec<i64> = tracks
        .iter()
        .map(|t| index_of(&t.record.file.path))
        .collect();
    seen.sort_unstable();
    assert!(
        seen.iter().copied().eq(0..n as i64),
        "tracks are not 0..{n}"
    );
    assert_eq!(s.count("a").unwrap(), n);
    assert_eq!(s.count("b").unwrap(), n);
    let a = s.load_matrix("a").unwrap();
    let b = s.load_matrix("b").unwrap();
    for (k, t) in tracks.iter().enumerate() {
        let i = index_of(&t.record.file.path);
        assert_eq!(
            (t.record.file.size_bytes, t.record.file.mtime_ns),
            (i as u64, i)
        );
        assert_eq!((a.ids[k], b.ids[k]), (t.id, t.id));
        assert_eq!(a.row(k).unwrap(), vector_for(i, DIM_A), "track {i} model a");
        assert_eq!(
            b.row(k).unwrap(),
            vector_for(i + 1_000_000, DIM_B),
            "track {i} model b"
        );
        let an = s.analysis(t.id).unwrap().unwrap();
        assert_eq!(an.tempo_bpm, Some(i as f64));
        assert_eq!(an.descriptors, vec![("i".to_owned(), i as f64)]);
        assert_eq!(s.tiles("a", t.id).unwrap(), Some((TILE_DIM, tiles_for(i))));
    }
    n
}

#[test]
fn sigkill_mid_batch_never_exposes_partial_tracks() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("kill.db");
    let exe = std::env::current_exe().unwrap();
    let started = Instant::now();
    let mut total_reported = 0usize;
    let mut kills_mid_batch = 0;
    for round in 0..20u64 {
        let mut child = Command::new(&exe)
            .args([
                "kill::kill_writer_child",
                "--exact",
                "--ignored",
                "--nocapture",
            ])
            .args(["--test-threads", "1"])
            .env(ENV, &db)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        // Wait for `round % 3` commits after start, then a varied sub-batch delay.
        let wait_commits = (round % 3) as usize;
        let mut commits = 0;
        let mut reported = None;
        for line in lines.by_ref() {
            let line = line.unwrap();
            if let Some(n) = line.strip_prefix("committed ") {
                reported = Some(n.parse::<usize>().unwrap());
                commits += 1;
            } else if line.starts_with("ready") {
            } else {
                continue;
            }
            if commits >= wait_commits {
                break;
            }
        }
        std::thread::sleep(Duration::from_micros(round * 1_913 % 12_000));
        child.kill().unwrap(); // SIGKILL on Unix
        let status = child.wait().unwrap();
        assert!(!status.success(), "writer exited by itself");
        let mut in_batch = false;
        for line in lines {
            let line = line.unwrap();
            if let Some(n) = line.strip_prefix("committed ") {
                reported = Some(n.parse().unwrap());
                in_batch = false;
            } else if line.starts_with("begin ") {
                in_batch = true;
            }
        }
        let visible = verify(&db);
        if let Some(r) = reported {
            assert!(
                visible >= r,
                "round {round}: reported {r} committed, {visible} visible"
            );
        }
        if in_batch {
            kills_mid_batch += 1; // killed between starting a batch and reporting its commit
        }
        assert!(visible >= total_reported, "committed tracks disappeared");
        total_reported = reported.unwrap_or(total_reported).max(total_reported);
    }
    assert!(total_reported > 0, "no batch was ever committed");
    assert!(kills_mid_batch > 0);
    // The store stays writable after the crashes.
    let mut s = SqliteStore::open(&db).unwrap();
    let n = s.track_count().unwrap();
    let t = TrackRecord::new(FileFacts::new(format!("/k/{n}.flac"), n as u64, n as i64));
    s.put_track_analysis(&t, &Analysis::default(), &[]).unwrap();
    eprintln!(
        "sigkill: 20 kills, {kills_mid_batch} inside a batch, {} tracks, {:.1} s",
        n,
        started.elapsed().as_secs_f64()
    );
}
