//! The music folders a database was indexed from: recorded, updated, kept across reopening.

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
