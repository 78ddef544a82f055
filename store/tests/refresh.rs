//! Incremental refresh of a SQLite ranker: `load_matrix_since` deltas applied to what was
//! loaded before always equal a full load, whatever the writers did in between.

use std::collections::BTreeMap;

use sonority_store::{
    FileFacts, MatrixDelta, ModelInfo, SqliteStore, TrackId, TrackRecord, VectorStore, Watermark,
};
use sonority_testkit::Rng;

use crate::testutil::{make_tracks, vector_for};

type Mirror = BTreeMap<TrackId, Vec<f32>>;

fn full(store: &SqliteStore, model: &str) -> Mirror {
    let m = store.load_matrix(model).unwrap();
    m.ids
        .iter()
        .enumerate()
        .map(|(i, id)| (*id, m.row(i).unwrap().to_vec()))
        .collect()
}

/// Applies a delta as a ranker does: deletions first, then upserts.
fn apply(mirror: &mut Mirror, d: &MatrixDelta) {
    for id in &d.deleted {
        assert!(
            !d.rows.ids.contains(id),
            "track {id} both deleted and written"
        );
        mirror.remove(id);
    }
    for (i, id) in d.rows.ids.iter().enumerate() {
        mirror.insert(*id, d.rows.row(i).unwrap().to_vec());
    }
}

#[test]
fn deltas_track_every_write_and_delete_from_another_connection() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("lib.db");
    let mut writer = SqliteStore::open(&path).unwrap();
    let reader = SqliteStore::open(&path).unwrap();
    let dim = 6;
    let mut rng = Rng::new(11);
    let mut ids = make_tracks(&mut writer, 40);
    for id in &ids[..20] {
        writer.put("m", *id, &vector_for(id.0, dim)).unwrap();
    }
    // A second model's writes must not leak into the first model's deltas.
    writer.put("other", ids[0], &[1.0, 2.0]).unwrap();

    let first = reader.load_matrix_since("m", Watermark::default()).unwrap();
    assert!(first.deleted.is_empty());
    let mut mirror = Mirror::new();
    apply(&mut mirror, &first);
    assert_eq!(mirror, full(&reader, "m"));
    let mut mark = first.watermark;
    let mut next_file = 1000;

    for round in 0..60 {
        // A few random writes, as an indexer in another process would make them.
        for _ in 0..rng.range(0, 4) {
            let k = rng.range(0, 5);
            let id = ids[rng.range(0, ids.len() as u64) as usize];
            match k {
                // (Re)write a vector.
                0 | 1 => {
                    let v = vector_for(id.0 * 7 + round, dim);
                    writer.put("m", id, &v).unwrap();
                }
                // Delete one vector only.
                2 => {
                    writer.delete("m", id).unwrap();
                }
                // Delete the track: the vector goes by foreign-key cascade.
                3 => {
                    writer.delete_track(id).unwrap();
                    ids.retain(|x| *x != id);
                    let r = TrackRecord::new(FileFacts::new(
                        format!("/m/new{next_file}.flac"),
                        next_file,
                        7,
                    ));
                    next_file += 1;
                    let new = writer
                        .put_track_analysis(&r, &sonority_store::Analysis::default(), &[])
                        .unwrap();
                    ids.push(new);
                }
                // The other model only.
                _ => writer.put("other", id, &[0.5, 0.5]).unwrap(),
            }
        }
        let d = reader.load_matrix_since("m", mark).unwrap();
        assert!(d.watermark >= mark, "watermarks never go back");
        apply(&mut mirror, &d);
        assert_eq!(mirror, full(&reader, "m"), "round {round}");
        // Nothing changed since: an empty delta and the same watermark.
        let again = reader.load_matrix_since("m", d.watermark).unwrap();
        assert!(again.rows.is_empty() && again.deleted.is_empty());
        assert_eq!(again.watermark, d.watermark);
        mark = d.watermark;
    }
}

#[test]
fn replacing_a_model_shows_as_deletions() {
    let (_dir, mut store) = crate::testutil::temp_store();
    let ids = make_tracks(&mut store, 5);
    store
        .register_model(&ModelInfo::new("m", 3).with_weights_hash("a"))
        .unwrap();
    for id in &ids {
        store.put("m", *id, &vector_for(id.0, 3)).unwrap();
    }
    let d0 = store.load_matrix_since("m", Watermark::default()).unwrap();
    assert_eq!(d0.rows.len(), 5);
    let removed = store
        .replace_model(&ModelInfo::new("m", 3).with_weights_hash("b"))
        .unwrap();
    assert_eq!(removed, 5);
    let d1 = store.load_matrix_since("m", d0.watermark).unwrap();
    assert!(d1.rows.is_empty());
    assert_eq!(d1.deleted, ids);
}

#[test]
fn unknown_model_gives_an_empty_delta() {
    let (_dir, store) = crate::testutil::temp_store();
    let d = store.load_matrix_since("nope", Watermark(5)).unwrap();
    assert!(d.rows.is_empty() && d.deleted.is_empty());
}
