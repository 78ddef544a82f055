//! End-to-end benchmarks of the facade with the shipped model: `cargo bench -p sonority`.
//!
//! - `analyze/30s_22k05_mono`: one track's whole analysis (STFT, shared mel, tile encoder, MFCC
//!   statistics, key, tempo, roll-off, fusion) from samples in memory.
//! - `recommend/10k_tracks`: what `recommend` costs per query in a library of 10,000 tracks:
//!   open the SQLite catalogue, load the vectors, rank, and read the winners' records.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::PathBuf;

use criterion::{Criterion, criterion_group, criterion_main};
use sonority::mfcc::SliceSource;
use sonority::store::{AnalysedTrack, Analysis, FileFacts, ModelVector, SqliteStore, TrackRecord};
use sonority::{Analyzer, Library, Model};
use sonority_testkit::Rng;

/// A chord progression with harmonics and noise bursts on the beat, at 22050 Hz.
fn music_like(seconds: f32) -> Vec<f32> {
    let n = (seconds * 22_050.0) as usize;
    let mut rng = Rng::new(1);
    (0..n)
        .map(|i| {
            let t = i as f32 / 22_050.0;
            let chord = [[0, 4, 7], [5, 9, 12], [7, 11, 14], [0, 4, 7]][(t / 2.0) as usize % 4];
            let mut v = 0.0;
            for iv in chord {
                let f = 261.63 * 2f32.powf(iv as f32 / 12.0);
                v += (2.0 * std::f32::consts::PI * f * t).sin() * 0.1;
            }
            let noise = rng.uniform(-0.5, 0.5);
            v + noise * (-(t * 2.0).fract() * 30.0).exp()
        })
        .collect()
}

fn analyze(c: &mut Criterion) {
    let model = Model::load_default().unwrap();
    let analyzer = Analyzer::new(&model);
    let y = music_like(30.0);
    let mut g = c.benchmark_group("analyze");
    g.sample_size(10);
    g.bench_function("30s_22k05_mono", |b| {
        b.iter(|| {
            let mut src = SliceSource::new(&y, 22_050);
            analyzer.analyze_source(&mut src).unwrap().vector
        });
    });
    g.finish();
}

fn recommend(c: &mut Criterion) {
    const TRACKS: usize = 10_000;
    let model = Model::load_default().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("library.sqlite");
    drop(Library::open(&db, &model).unwrap());
    {
        let mut store = SqliteStore::open(&db).unwrap();
        let dim = model.output_dim();
        let mut rng = Rng::new(2);
        for chunk in 0..TRACKS / 1000 {
            let records: Vec<TrackRecord> = (0..1000)
                .map(|i| {
                    let path = PathBuf::from(format!("/music/album{}/track{i}.flac", chunk));
                    TrackRecord::new(FileFacts::new(path, 1_000_000, 0)).with_duration_s(180.0)
                })
                .collect();
            let vectors: Vec<Vec<f32>> = (0..1000)
                .map(|_| (0..dim).map(|_| rng.uniform(-0.5, 0.5)).collect())
                .collect();
            let analysis = Analysis::default();
            let embeddings: Vec<[ModelVector<'_>; 1]> = vectors
                .iter()
                .map(|v| [ModelVector::new(model.name(), v)])
                .collect();
            let batch: Vec<AnalysedTrack<'_>> = records
                .iter()
                .zip(&embeddings)
                .map(|(r, e)| AnalysedTrack {
                    track: r,
                    analysis: &analysis,
                    embeddings: e,
                })
                .collect();
            store.put_track_analyses(&batch).unwrap();
        }
    }
    let anchor = vec![PathBuf::from("/music/album3/track7.flac")];
    let mut g = c.benchmark_group("recommend");
    g.sample_size(20);
    g.bench_function("10k_tracks", |b| {
        b.iter(|| {
            let lib = Library::open(&db, &model).unwrap();
            lib.recommend(&anchor, 10, false).unwrap()
        });
    });
    g.finish();
}

criterion_group!(benches, analyze, recommend);
criterion_main!(benches);
