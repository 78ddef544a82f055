//! Shared setup of the store benches.

pub mod insert;
pub mod load;
#[cfg(feature = "postgres")]
pub mod pg;
#[cfg(feature = "postgres")]
#[path = "../../tests/pgcluster.rs"]
#[allow(dead_code, clippy::unwrap_used, clippy::panic)]
pub mod pgcluster;

use sonority_store::{AnalysedTrack, Analysis, Catalogue, FileFacts, ModelVector, TrackRecord};

/// Number of tracks in every bench.
pub const N: usize = 100_000;
/// Tracks per transaction.
pub const BATCH: usize = 1_000;

/// A deterministic vector for track `i`.
pub fn vector(i: usize, dim: usize) -> Vec<f32> {
    (0..dim)
        .map(|j| ((i * 31 + j * 7) % 1000) as f32 / 1000.0 - 0.5)
        .collect()
}

/// Inserts `N` tracks with one `dim`-vector each through `put_track_analyses`.
pub fn fill<S: Catalogue>(store: &mut S, model: &str, dim: usize) {
    let analysis = Analysis::default().with_tempo(120.0, 0.5);
    let vectors: Vec<Vec<f32>> = (0..BATCH).map(|i| vector(i, dim)).collect();
    for start in (0..N).step_by(BATCH) {
        let records: Vec<TrackRecord> = (start..start + BATCH)
            .map(|i| TrackRecord::new(FileFacts::new(format!("/music/{i:06}.flac"), 1 << 20, 0)))
            .collect();
        let embeddings: Vec<[ModelVector<'_>; 1]> = vectors
            .iter()
            .map(|v| [ModelVector::new(model, v)])
            .collect();
        let batch: Vec<AnalysedTrack<'_>> = records
            .iter()
            .zip(&embeddings)
            .map(|(track, e)| AnalysedTrack {
                track,
                analysis: &analysis,
                embeddings: e,
            })
            .collect();
        store.put_track_analyses(&batch).expect("insert batch");
    }
}
