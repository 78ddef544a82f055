//! Whole-track commits, catalogue reads, models and per-file errors.

use sonority_store::{
    Analysis, ContentHash, Embedding, Error, FileFacts, ModelInfo, SqliteStore, Tags, Tiles,
    TrackAnalysis, TrackRecord, VectorStore,
};

fn record(path: &str) -> TrackRecord {
    TrackRecord::new(FileFacts::new(path, 5_000_000, 1_700_000_000_000_000_000))
        .with_content_hash(ContentHash([7; 16]))
        .with_duration_s(215.5)
        .with_sample_rate_hz(44_100)
        .with_channels(2)
        .with_tags(
            Tags::default()
                .with_title("Blue in Green")
                .with_artist("Miles Davis")
                .with_album("Kind of Blue")
                .with_track_number(3),
        )
}

#[test]
fn track_roundtrip_with_analysis_vectors_and_tiles() {
    let mut s = SqliteStore::open_in_memory().unwrap();
    let r = record("/music/kob/03.flac");
    let a = Analysis::default()
        .with_key("D minor", 0.71)
        .with_tempo(58.0, 0.4)
        .with_rolloff_hz(3_250.0)
        .with_descriptor("zcr", 0.031)
        .with_descriptor("centroid_hz", 1_800.0);
    let tiles: Vec<f32> = (0..12).map(|i| i as f32 * 0.25).collect();
    let id = s
        .put_track_analysis(
            &r,
            &a,
            &[
                Embedding::new("final", &[0.5, -0.25]).with_tiles(Tiles {
                    dim: 4,
                    data: &tiles,
                }),
                Embedding::new("latent", &[1.0, 2.0, 3.0]),
            ],
        )
        .unwrap();
    let t = s.track(id).unwrap().unwrap();
    assert_eq!(t.record, r);
    assert_eq!(
        s.track_by_path("/music/kob/03.flac").unwrap().unwrap().id,
        id
    );
    assert!(s.track_by_path("/music/other.flac").unwrap().is_none());
    let back = s.analysis(id).unwrap().unwrap();
    let mut sorted = a.clone();
    sorted.descriptors.sort_by(|x, y| x.0.cmp(&y.0));
    assert_eq!(back, sorted);
    assert_eq!(s.get("final", id).unwrap(), Some(vec![0.5, -0.25]));
    assert_eq!(s.get("latent", id).unwrap(), Some(vec![1.0, 2.0, 3.0]));
    assert_eq!(s.tiles("final", id).unwrap(), Some((4, tiles)));
    assert_eq!(s.tiles("latent", id).unwrap(), None);
    assert_eq!(s.tracks().unwrap(), vec![t]);
}

#[test]
fn reanalysis_keeps_id_and_replaces_everything() {
    let mut s = SqliteStore::open_in_memory().unwrap();
    let r = record("/music/a.flac");
    let id = s
        .put_track_analysis(
            &r,
            &Analysis::default().with_descriptor("old", 1.0),
            &[Embedding::new("m1", &[1.0]), Embedding::new("m2", &[2.0])],
        )
        .unwrap();
    let mut r2 = r.clone();
    r2.file.size_bytes = 6_000_000;
    r2.tags.title = Some("New".into());
    let id2 = s
        .put_track_analysis(&r2, &Analysis::default(), &[Embedding::new("m1", &[3.0])])
        .unwrap();
    assert_eq!(id, id2);
    assert_eq!(s.track_count().unwrap(), 1);
    assert_eq!(s.track(id).unwrap().unwrap().record, r2);
    assert_eq!(s.analysis(id).unwrap().unwrap().descriptors, vec![]);
    assert_eq!(s.get("m1", id).unwrap(), Some(vec![3.0]));
    assert_eq!(
        s.get("m2", id).unwrap(),
        None,
        "stale vector of another model kept"
    );
}

#[test]
fn bad_batch_writes_nothing() {
    let mut s = SqliteStore::open_in_memory().unwrap();
    s.register_model(&ModelInfo::new("m", 2)).unwrap();
    let (r1, r2) = (record("/a.flac"), record("/b.flac"));
    let ok = Analysis::default();
    type Case = (Analysis, Vec<f32>, Option<(usize, Vec<f32>)>);
    let cases: Vec<Case> = vec![
        (ok.clone(), vec![1.0, 2.0, 3.0], None), // wrong dim
        (ok.clone(), vec![1.0, f32::NAN], None), // NaN
        (
            ok.clone().with_tempo(f64::INFINITY, 0.0),
            vec![1.0, 2.0],
            None,
        ), // Inf descriptor
        (
            ok.clone().with_descriptor("x", f64::NAN),
            vec![1.0, 2.0],
            None,
        ),
        (ok.clone(), vec![1.0, 2.0], Some((3, vec![0.0; 4]))), // ragged tiles
        (
            ok.clone(),
            vec![1.0, 2.0],
            Some((2, vec![0.0, f32::NEG_INFINITY])),
        ),
    ];
    for (a, v, tiles) in &cases {
        let mut e2 = Embedding::new("m", v);
        if let Some((dim, data)) = tiles {
            e2 = e2.with_tiles(Tiles { dim: *dim, data });
        }
        let e1 = [Embedding::new("m", &[0.0, 1.0])];
        let e2 = [e2];
        let batch = [
            TrackAnalysis {
                track: &r1,
                analysis: &ok,
                embeddings: &e1,
            },
            TrackAnalysis {
                track: &r2,
                analysis: a,
                embeddings: &e2,
            },
        ];
        let err = s.put_track_analyses(&batch).unwrap_err();
        assert!(
            matches!(
                err,
                Error::DimensionMismatch { .. } | Error::NonFinite { .. } | Error::BadTiles { .. }
            ),
            "{err}"
        );
        assert_eq!(s.track_count().unwrap(), 0, "after {err}");
        assert_eq!(s.count("m").unwrap(), 0);
    }
    // A new model's dimension is fixed by its first vector within the batch too.
    let e1 = [Embedding::new("new", &[0.0, 1.0])];
    let e2 = [Embedding::new("new", &[0.0])];
    let batch = [
        TrackAnalysis {
            track: &r1,
            analysis: &ok,
            embeddings: &e1,
        },
        TrackAnalysis {
            track: &r2,
            analysis: &ok,
            embeddings: &e2,
        },
    ];
    assert!(matches!(
        s.put_track_analyses(&batch).unwrap_err(),
        Error::DimensionMismatch {
            expected: 2,
            actual: 1,
            ..
        }
    ));
    assert_eq!(s.dim("new").unwrap(), None);
}

#[test]
fn models_register_and_conflict() {
    let mut s = SqliteStore::open_in_memory().unwrap();
    let m = ModelInfo::new("conv1d", 64)
        .with_config_json(r#"{"layers":[32,64]}"#)
        .with_weights_hash("abc");
    s.register_model(&m).unwrap();
    s.register_model(&m).unwrap();
    let e = s.register_model(&ModelInfo::new("conv1d", 32)).unwrap_err();
    assert!(
        matches!(e, Error::ModelConflict { field: "dim", .. }),
        "{e}"
    );
    let e = s
        .register_model(&ModelInfo::new("conv1d", 64).with_weights_hash("zzz"))
        .unwrap_err();
    assert!(
        matches!(
            e,
            Error::ModelConflict {
                field: "weights_hash",
                ..
            }
        ),
        "{e}"
    );
    let e = s
        .register_model(&ModelInfo::new("x", 4).with_config_json("{not json"))
        .unwrap_err();
    assert!(matches!(e, Error::InvalidConfig { .. }), "{e}");
    let e = s.register_model(&ModelInfo::new("zero", 0)).unwrap_err();
    assert!(matches!(e, Error::EmptyVector { .. }), "{e}");
    let listed = s.models().unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].config_json, m.config_json);
    assert_eq!(listed[0].weights_hash.as_deref(), Some("abc"));
    assert!(listed[0].created_at_s > 1_600_000_000);
    let e = s
        .put("conv1d", sonority_store::TrackId(1), &[0.0; 63])
        .unwrap_err();
    assert!(
        matches!(
            e,
            Error::DimensionMismatch {
                expected: 64,
                actual: 63,
                ..
            }
        ),
        "{e}"
    );
}

#[test]
fn errors_are_recorded_and_cleared_by_success() {
    let mut s = SqliteStore::open_in_memory().unwrap();
    s.record_error("/music/broken.mp3", "decode: invalid frame header")
        .unwrap();
    s.record_error("/music/cover.jpg", "unsupported format")
        .unwrap();
    s.record_error("/music/broken.mp3", "decode: truncated")
        .unwrap();
    let errs = s.errors().unwrap();
    assert_eq!(errs.len(), 2);
    assert_eq!(errs[0].path, std::path::Path::new("/music/broken.mp3"));
    assert_eq!(errs[0].reason, "decode: truncated");
    s.put_track_analysis(
        &record("/music/broken.mp3"),
        &Analysis::default(),
        &[Embedding::new("m", &[1.0])],
    )
    .unwrap();
    let errs = s.errors().unwrap();
    assert_eq!(errs.len(), 1);
    assert_eq!(errs[0].path, std::path::Path::new("/music/cover.jpg"));
    assert!(s.clear_error("/music/cover.jpg").unwrap());
    assert!(s.errors().unwrap().is_empty());
}

#[test]
fn delete_track_cascades() {
    let mut s = SqliteStore::open_in_memory().unwrap();
    let tiles = [1.0, 2.0];
    let id = s
        .put_track_analysis(
            &record("/a.flac"),
            &Analysis::default().with_descriptor("d", 1.0),
            &[Embedding::new("m", &[1.0]).with_tiles(Tiles {
                dim: 1,
                data: &tiles,
            })],
        )
        .unwrap();
    assert!(s.delete_track(id).unwrap());
    assert!(!s.delete_track(id).unwrap());
    assert_eq!(s.count("m").unwrap(), 0);
    assert_eq!(s.analysis(id).unwrap(), None);
    assert_eq!(s.tiles("m", id).unwrap(), None);
}

#[cfg(unix)]
#[test]
fn non_utf8_paths_roundtrip() {
    use std::os::unix::ffi::OsStrExt;
    let p = std::path::PathBuf::from(std::ffi::OsStr::from_bytes(b"/music/caf\xe9.mp3"));
    let mut s = SqliteStore::open_in_memory().unwrap();
    let r = TrackRecord::new(FileFacts::new(p.clone(), 1, 2));
    let id = s.put_track_analysis(&r, &Analysis::default(), &[]).unwrap();
    assert_eq!(s.track(id).unwrap().unwrap().record.file.path, p);
    assert_eq!(s.track_by_path(&p).unwrap().unwrap().id, id);
    // The UTF-8 lookalike is a different file.
    assert!(s.track_by_path("/music/caf\u{e9}.mp3").unwrap().is_none());
    s.record_error(&p, "bad").unwrap();
    assert_eq!(s.errors().unwrap()[0].path, p);
}
