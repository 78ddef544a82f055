//! Fixtures shared by the tests.

use sonority_store::{Analysis, Catalogue, FileFacts, SqliteStore, TrackId, TrackRecord};

/// A fresh store in a temporary directory (kept alive by the returned guard).
pub fn temp_store() -> (tempfile::TempDir, SqliteStore) {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path().join("lib.db")).unwrap();
    (dir, store)
}

/// Creates `n` tracks without vectors and returns their ids.
pub fn make_tracks<S: Catalogue>(store: &mut S, n: usize) -> Vec<TrackId> {
    (0..n)
        .map(|i| {
            let r = TrackRecord::new(FileFacts::new(format!("/m/{i}.flac"), 100 + i as u64, 7));
            store
                .put_track_analysis(&r, &Analysis::default(), &[])
                .unwrap()
        })
        .collect()
}

/// A vector determined by the track id, so a reader can check it without the writer.
pub fn vector_for(id: i64, dim: usize) -> Vec<f32> {
    let mut rng = sonority_testkit::Rng::new(id as u64);
    (0..dim).map(|_| rng.uniform(-0.5, 0.5)).collect()
}
