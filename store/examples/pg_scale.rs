//! Insert and load N x 64 vectors in PostgreSQL and SQLite, once, and print the ratios.
//!
//! ```text
//! cargo run --release -p sonority-store --features postgres --example pg_scale -- 1000000
//! ```
//!
//! Starts a throwaway PostgreSQL cluster on a Unix socket (see `tests/pgcluster.rs`;
//! needs the server binaries, `apt-get install -y postgresql`), or uses the server of
//! `SONORITY_PG_URL` when set (its database must be empty or a sonority database).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

#[path = "../tests/pgcluster.rs"]
#[allow(dead_code)]
mod pgcluster;

use std::time::Instant;

use sonority_store::{
    AnalysedTrack, Analysis, Catalogue, FileFacts, ModelVector, PgStore, SqliteStore, TrackRecord,
    VectorStore, Watermark,
};

const DIM: usize = 64;
const BATCH: usize = 5_000;

fn vector(i: usize) -> Vec<f32> {
    (0..DIM)
        .map(|j| ((i * 31 + j * 7) % 1000) as f32 / 1000.0 - 0.5)
        .collect()
}

fn fill<S: Catalogue>(s: &mut S, n: usize, offset: usize) -> f64 {
    let t = Instant::now();
    let a = Analysis::default().with_tempo(120.0, 0.5);
    for start in (0..n).step_by(BATCH) {
        let end = (start + BATCH).min(n);
        let recs: Vec<TrackRecord> = (start..end)
            .map(|i| {
                TrackRecord::new(FileFacts::new(
                    format!("/music/{:07}.flac", i + offset),
                    1 << 20,
                    0,
                ))
            })
            .collect();
        let vs: Vec<Vec<f32>> = (start..end).map(vector).collect();
        let es: Vec<[ModelVector<'_>; 1]> = vs.iter().map(|v| [ModelVector::new("m", v)]).collect();
        let batch: Vec<AnalysedTrack<'_>> = recs
            .iter()
            .zip(&es)
            .map(|(track, e)| AnalysedTrack {
                track,
                analysis: &a,
                embeddings: e,
            })
            .collect();
        s.put_track_analyses(&batch).unwrap();
    }
    t.elapsed().as_secs_f64()
}

fn best_of<T>(runs: usize, mut f: impl FnMut() -> T) -> (f64, T) {
    let mut best = f64::INFINITY;
    let mut out = None;
    for _ in 0..runs {
        let t = Instant::now();
        let v = f();
        best = best.min(t.elapsed().as_secs_f64());
        out = Some(v);
    }
    (best, out.unwrap())
}

fn run() -> Result<(), Box<dyn std::error::Error>> {
    let n: usize = std::env::args()
        .nth(1)
        .map_or(Ok(1_000_000), |s| s.parse())?;
    let conn = match std::env::var("SONORITY_PG_URL") {
        Ok(u) => u,
        Err(_) => pgcluster::cluster().fresh("scale"),
    };
    let mut pg = PgStore::connect(&conn)?;
    let dir = tempfile::tempdir()?;
    let mut lite = SqliteStore::open(dir.path().join("scale.db"))?;

    let pg_insert = fill(&mut pg, n, 0);
    let lite_insert = fill(&mut lite, n, 0);
    println!(
        "insert {n} x {DIM} (batches of {BATCH}): postgres {pg_insert:.1} s ({:.0}/s), sqlite {lite_insert:.1} s ({:.0}/s), postgres/sqlite time {:.2}",
        n as f64 / pg_insert,
        n as f64 / lite_insert,
        pg_insert / lite_insert
    );
    let (pg_load, m) = best_of(3, || pg.load_matrix("m").unwrap());
    assert_eq!(m.len(), n);
    let (lite_load, m2) = best_of(3, || lite.load_matrix("m").unwrap());
    assert_eq!(m, m2, "the backends disagree");
    drop(m2);
    println!(
        "load_matrix {n} x {DIM}: postgres {:.0} ms (binary COPY, Unix socket), sqlite {:.0} ms, postgres/sqlite {:.2}",
        pg_load * 1e3,
        lite_load * 1e3,
        pg_load / lite_load
    );
    let (scan, _) = best_of(1, || {
        let mut k = 0usize;
        pg.for_each("m", &mut |_, _| {
            k += 1;
            true
        })
        .unwrap();
        k
    });
    println!(
        "for_each (streamed rows) {n}: postgres {:.0} ms",
        scan * 1e3
    );
    let wm = pg.load_matrix_since("m", Watermark::default())?.watermark;
    let extra = (n / 100).max(1);
    fill(&mut pg, extra, n);
    let (delta_t, d) = best_of(1, || pg.load_matrix_since("m", wm).unwrap());
    println!(
        "load_matrix_since after {} new vectors: {} rows in {:.0} ms",
        extra,
        d.rows.len(),
        delta_t * 1e3
    );
    println!(
        "matrix memory: {:.0} MiB",
        (m.data.len() * 4 + m.ids.len() * 8) as f64 / (1 << 20) as f64
    );
    Ok(())
}

fn main() {
    if let Err(e) = run() {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}
