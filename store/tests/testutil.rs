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
    let mut x = (id as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..dim)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 40) as f32 / (1u64 << 24) as f32 - 0.5
        })
        .collect()
}
