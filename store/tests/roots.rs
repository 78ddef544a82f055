//! The music folders a database was indexed from, the tempos read in one query, and the views Lyrion's Bliss Mixer plugin reads.

use std::path::Path;

use sonority_store::SqliteStore;

#[test]
fn roots_are_recorded_once_each_and_survive_reopening() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("lib.sqlite");
    {
        let mut s = SqliteStore::open(&db).unwrap();
        assert!(s.roots().unwrap().is_empty());
        s.record_root("/music/b").unwrap();
        s.record_root("/music/a").unwrap();
        s.record_root("/music/b").unwrap();
    }
    let s = SqliteStore::open(&db).unwrap();
    let roots = s.roots().unwrap();
    let paths: Vec<&Path> = roots.iter().map(|r| r.path.as_path()).collect();
    assert_eq!(paths, [Path::new("/music/a"), Path::new("/music/b")]);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    for r in &roots {
        assert!((now - r.indexed_at_s).abs() < 60, "{r:?}");
    }
}

#[test]
fn tempos_are_read_in_one_query() {
    use sonority_store::{AnalysedTrack, Analysis, FileFacts, TrackRecord};
    let dir = tempfile::tempdir().unwrap();
    let mut s = SqliteStore::open(dir.path().join("lib.sqlite")).unwrap();
    let a = TrackRecord::new(FileFacts::new("/m/a.ogg", 1, 1));
    let b = TrackRecord::new(FileFacts::new("/m/b.ogg", 2, 2));
    let with = Analysis::default().with_tempo(128.0, 0.9);
    let without = Analysis::default();
    let ids = s
        .put_track_analyses(&[
            AnalysedTrack {
                track: &a,
                analysis: &with,
                embeddings: &[],
            },
            AnalysedTrack {
                track: &b,
                analysis: &without,
                embeddings: &[],
            },
        ])
        .unwrap();
    assert_eq!(s.tempos().unwrap(), vec![(ids[0], 128.0)]);
}

#[test]
fn the_bliss_mixer_plugin_can_count_tracks_and_list_failures() {
    use sonority_store::{AnalysedTrack, Analysis, FileFacts, TrackRecord};
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("lib.sqlite");
    {
        let mut s = SqliteStore::open(&db).unwrap();
        let a = TrackRecord::new(FileFacts::new("/m/a.ogg", 1, 1));
        s.put_track_analyses(&[AnalysedTrack {
            track: &a,
            analysis: &Analysis::default(),
            embeddings: &[],
        }])
        .unwrap();
        s.record_error("/m/bad.ogg", "not audio").unwrap();
    }
    // The plugin's own queries, on a plain SQLite connection.
    let c = rusqlite::Connection::open(&db).unwrap();
    let n: i64 = c
        .query_row("SELECT COUNT(1) FROM TracksV2", [], |r| r.get(0))
        .unwrap();
    let ignored: i64 = c
        .query_row("SELECT COUNT(1) FROM TracksV2 WHERE Ignore=1", [], |r| {
            r.get(0)
        })
        .unwrap();
    let failures: Vec<(String, String)> = c
        .prepare("SELECT File, Reason FROM Failures")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!((n, ignored), (1, 0));
    assert_eq!(
        failures,
        [("/m/bad.ogg".to_owned(), "not audio".to_owned())]
    );
}
