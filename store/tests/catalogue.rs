//! Whole-track commits, catalogue reads, models and per-file errors.

use std::path::Path;

use sonority_store::{
    AnalysedTrack, Analysis, Catalogue, ContentHash, Error, FileFacts, ModelInfo, ModelVector,
    Tiles, TrackRecord, TrackTags,
};

/// Runs a generic test against every catalogue backend.
macro_rules! on_every_backend {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(#[test]
            fn $name() {
                super::$name(sonority_store::SqliteStore::open_in_memory().unwrap());
            })*
        }
        #[cfg(feature = "postgres")]
        mod pg {
            $(#[test]
            fn $name() {
                super::$name(crate::pgcluster::pg_store(stringify!($name)));
            })*
        }
    };
}

on_every_backend!(
    track_roundtrip_with_analysis_vectors_and_tiles,
    reanalysis_keeps_id_and_replaces_everything,
    bad_batch_writes_nothing,
    models_register_and_conflict,
    errors_are_recorded_and_cleared_by_success,
    delete_track_cascades,
    non_utf8_paths_roundtrip,
    duplicate_paths_in_a_batch_keep_the_last,
);

/// A record with every tag, extra ones included: each backend keeps them all.
fn record(path: &str) -> TrackRecord {
    let mut tags = TrackTags::default()
        .with_title("Blue in Green")
        .with_artist("Miles Davis")
        .with_album("Kind of Blue")
        .with_track_number(3)
        .with_album_artist("Miles Davis Sextet");
    tags.disc_number = Some(1);
    tags.genre = Some("Jazz; Modal".into());
    tags.year = Some(1959);
    tags.extra.insert("composer".into(), "Bill Evans".into());
    tags.extra.insert("label".into(), "Columbia".into());
    TrackRecord::new(FileFacts::new(path, 5_000_000, 1_700_000_000_000_000_000))
        .with_content_hash(ContentHash([7; 16]))
        .with_duration_s(215.5)
        .with_sample_rate_hz(44_100)
        .with_channels(2)
        .with_tags(tags)
}

fn track_roundtrip_with_analysis_vectors_and_tiles<S: Catalogue>(mut s: S) {
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
                ModelVector::new("final", &[0.5, -0.25]).with_tiles(Tiles {
                    dim: 4,
                    data: &tiles,
                }),
                ModelVector::new("latent", &[1.0, 2.0, 3.0]),
            ],
        )
        .unwrap();
    let t = s.track(id).unwrap().unwrap();
    assert_eq!(t.record, r);
    assert_eq!(
        s.track_by_path(Path::new("/music/kob/03.flac"))
            .unwrap()
            .unwrap()
            .id,
        id
    );
    assert!(
        s.track_by_path(Path::new("/music/other.flac"))
            .unwrap()
            .is_none()
    );
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

fn reanalysis_keeps_id_and_replaces_everything<S: Catalogue>(mut s: S) {
    let r = record("/music/a.flac");
    let id = s
        .put_track_analysis(
            &r,
            &Analysis::default().with_descriptor("old", 1.0),
            &[
                ModelVector::new("m1", &[1.0]),
                ModelVector::new("m2", &[2.0]),
            ],
        )
        .unwrap();
    let mut r2 = r.clone();
    r2.file.size_bytes = 6_000_000;
    r2.tags.title = Some("New".into());
    r2.tags.genre = None;
    r2.tags.extra.remove("label");
    r2.tags.extra.insert("mood".into(), "calm".into());
    let id2 = s
        .put_track_analysis(&r2, &Analysis::default(), &[ModelVector::new("m1", &[3.0])])
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

fn bad_batch_writes_nothing<S: Catalogue>(mut s: S) {
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
        let mut e2 = ModelVector::new("m", v);
        if let Some((dim, data)) = tiles {
            e2 = e2.with_tiles(Tiles { dim: *dim, data });
        }
        let e1 = [ModelVector::new("m", &[0.0, 1.0])];
        let e2 = [e2];
        let batch = [
            AnalysedTrack {
                track: &r1,
                analysis: &ok,
                embeddings: &e1,
            },
            AnalysedTrack {
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
    let e1 = [ModelVector::new("new", &[0.0, 1.0])];
    let e2 = [ModelVector::new("new", &[0.0])];
    let batch = [
        AnalysedTrack {
            track: &r1,
            analysis: &ok,
            embeddings: &e1,
        },
        AnalysedTrack {
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

fn models_register_and_conflict<S: Catalogue>(mut s: S) {
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

fn errors_are_recorded_and_cleared_by_success<S: Catalogue>(mut s: S) {
    s.record_error(
        Path::new("/music/broken.mp3"),
        "decode: invalid frame header",
    )
    .unwrap();
    s.record_error(Path::new("/music/cover.jpg"), "unsupported format")
        .unwrap();
    s.record_error(Path::new("/music/broken.mp3"), "decode: truncated")
        .unwrap();
    let errs = s.errors().unwrap();
    assert_eq!(errs.len(), 2);
    assert_eq!(errs[0].path, std::path::Path::new("/music/broken.mp3"));
    assert_eq!(errs[0].reason, "decode: truncated");
    s.put_track_analysis(
        &record("/music/broken.mp3"),
        &Analysis::default(),
        &[ModelVector::new("m", &[1.0])],
    )
    .unwrap();
    let errs = s.errors().unwrap();
    assert_eq!(errs.len(), 1);
    assert_eq!(errs[0].path, std::path::Path::new("/music/cover.jpg"));
    assert!(s.clear_error(Path::new("/music/cover.jpg")).unwrap());
    assert!(s.errors().unwrap().is_empty());
}

fn delete_track_cascades<S: Catalogue>(mut s: S) {
    let tiles = [1.0, 2.0];
    let id = s
        .put_track_analysis(
            &record("/a.flac"),
            &Analysis::default().with_descriptor("d", 1.0),
            &[ModelVector::new("m", &[1.0]).with_tiles(Tiles {
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

fn non_utf8_paths_roundtrip<S: Catalogue>(mut s: S) {
    use std::os::unix::ffi::OsStrExt;
    let p = std::path::PathBuf::from(std::ffi::OsStr::from_bytes(b"/music/caf\xe9.mp3"));
    let r = TrackRecord::new(FileFacts::new(p.clone(), 1, 2));
    let id = s.put_track_analysis(&r, &Analysis::default(), &[]).unwrap();
    assert_eq!(s.track(id).unwrap().unwrap().record.file.path, p);
    assert_eq!(s.track_by_path(&p).unwrap().unwrap().id, id);
    // The UTF-8 lookalike is a different file.
    assert!(
        s.track_by_path(Path::new("/music/caf\u{e9}.mp3"))
            .unwrap()
            .is_none()
    );
    s.record_error(&p, "bad").unwrap();
    assert_eq!(s.errors().unwrap()[0].path, p);
}

fn duplicate_paths_in_a_batch_keep_the_last<S: Catalogue>(mut s: S) {
    let r = record("/d.flac");
    let (a1, a2) = (
        Analysis::default().with_descriptor("x", 1.0),
        Analysis::default().with_descriptor("x", 2.0),
    );
    let (e1, e2) = (
        [ModelVector::new("m", &[1.0])],
        [ModelVector::new("m", &[2.0])],
    );
    let ids = s
        .put_track_analyses(&[
            AnalysedTrack {
                track: &r,
                analysis: &a1,
                embeddings: &e1,
            },
            AnalysedTrack {
                track: &r,
                analysis: &a2,
                embeddings: &e2,
            },
        ])
        .unwrap();
    assert_eq!(ids[0], ids[1]);
    assert_eq!(s.track_count().unwrap(), 1);
    assert_eq!(s.get("m", ids[0]).unwrap(), Some(vec![2.0]));
    assert_eq!(
        s.analysis(ids[0]).unwrap().unwrap().descriptors,
        vec![("x".to_owned(), 2.0)]
    );
}
