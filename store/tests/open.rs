//! Opening: identity checks, versions, refusal without modification, concurrency.

use std::time::Duration;

use sonority_store::{Error, SCHEMA_VERSION, SqliteOptions, SqliteStore, VectorStore};

use crate::testutil::{make_tracks, temp_store, vector_for};

fn file_bytes(p: &std::path::Path) -> Vec<u8> {
    std::fs::read(p).unwrap()
}

#[test]
fn creates_and_reopens_with_schema_version() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("lib.db");
    {
        let mut s = SqliteStore::open(&p).unwrap();
        let ids = make_tracks(&mut s, 2);
        s.put("m", ids[1], &[1.0, 2.0]).unwrap();
    }
    let s = SqliteStore::open(&p).unwrap();
    assert_eq!(
        s.get("m", sonority_store::TrackId(2)).unwrap(),
        Some(vec![1.0, 2.0])
    );
    let c = rusqlite::Connection::open(&p).unwrap();
    let v: i32 = c
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    let mode: String = c
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .unwrap();
    assert_eq!(v, SCHEMA_VERSION);
    assert_eq!(mode, "wal");
}

#[test]
fn empty_file_is_refused_unchanged() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("empty.db");
    std::fs::write(&p, b"").unwrap();
    let e = SqliteStore::open(&p).unwrap_err();
    assert!(matches!(e, Error::NotADatabase { .. }), "{e}");
    assert!(file_bytes(&p).is_empty());
}

#[test]
fn text_file_is_refused_unchanged() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("notes.db");
    let content = b"#EXTM3U\n/music/a.mp3\n".repeat(200);
    std::fs::write(&p, &content).unwrap();
    let e = SqliteStore::open(&p).unwrap_err();
    assert!(matches!(e, Error::NotADatabase { .. }), "{e}");
    assert!(e.to_string().contains("notes.db"), "{e}");
    assert_eq!(file_bytes(&p), content);
}

#[test]
fn foreign_database_is_refused_unchanged() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("other.db");
    {
        let c = rusqlite::Connection::open(&p).unwrap();
        c.execute_batch("CREATE TABLE bookmarks (url TEXT); INSERT INTO bookmarks VALUES ('x');")
            .unwrap();
    }
    let before = file_bytes(&p);
    let e = SqliteStore::open(&p).unwrap_err();
    assert!(matches!(e, Error::ForeignDatabase { .. }), "{e}");
    assert_eq!(file_bytes(&p), before);
}

#[test]
fn newer_schema_is_refused_unchanged() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("lib.db");
    drop(SqliteStore::open(&p).unwrap());
    {
        let c = rusqlite::Connection::open(&p).unwrap();
        c.pragma_update(None, "user_version", SCHEMA_VERSION + 1)
            .unwrap();
        // Fold the WAL into the main file so the byte comparison below is meaningful.
        c.pragma_update(None, "journal_mode", "DELETE").unwrap();
    }
    let before = file_bytes(&p);
    for e in [
        SqliteStore::open(&p).unwrap_err(),
        SqliteStore::open_read_only(&p).unwrap_err(),
    ] {
        match e {
            Error::NewerSchema {
                found, supported, ..
            } => {
                assert_eq!((found, supported), (SCHEMA_VERSION + 1, SCHEMA_VERSION));
            }
            e => panic!("unexpected {e}"),
        }
    }
    assert_eq!(file_bytes(&p), before);
}

#[test]
fn missing_directory_gives_cannot_open() {
    let dir = tempfile::tempdir().unwrap();
    let e = SqliteStore::open(dir.path().join("no/such/dir/lib.db")).unwrap_err();
    assert!(matches!(e, Error::CannotOpen { .. }), "{e}");
}

#[test]
fn read_only_store_reads_and_refuses_writes() {
    let (dir, mut s) = temp_store();
    let ids = make_tracks(&mut s, 1);
    s.put("m", ids[0], &[3.0]).unwrap();
    let mut ro = SqliteStore::open_read_only(dir.path().join("lib.db")).unwrap();
    assert_eq!(ro.get("m", ids[0]).unwrap(), Some(vec![3.0]));
    let e = ro.put("m", ids[0], &[4.0]).unwrap_err();
    assert!(matches!(e, Error::ReadOnly { .. }), "{e}");
    assert_eq!(s.get("m", ids[0]).unwrap(), Some(vec![3.0]));
}

#[test]
fn locked_database_gives_busy_and_changes_nothing() {
    let (dir, mut s) = temp_store();
    let ids = make_tracks(&mut s, 1);
    let p = dir.path().join("lib.db");
    let locker = rusqlite::Connection::open(&p).unwrap();
    locker.execute_batch("BEGIN IMMEDIATE").unwrap();
    let mut other = SqliteStore::open_with(
        &p,
        &SqliteOptions::default().with_busy_timeout(Duration::from_millis(50)),
    )
    .unwrap();
    let e = other.put("m", ids[0], &[1.0]).unwrap_err();
    assert!(matches!(e, Error::Busy { .. }), "{e}");
    locker.execute_batch("ROLLBACK").unwrap();
    assert_eq!(s.count("m").unwrap(), 0);
    other.put("m", ids[0], &[1.0]).unwrap();
    assert_eq!(s.count("m").unwrap(), 1);
}

#[test]
fn reader_ranks_while_writer_indexes() {
    let (dir, mut s) = temp_store();
    let ids = make_tracks(&mut s, 400);
    let p = dir.path().join("lib.db");
    let writer = std::thread::spawn(move || {
        for chunk in ids.chunks(20) {
            let vs: Vec<Vec<f32>> = chunk.iter().map(|id| vector_for(id.0, 16)).collect();
            let rows: Vec<_> = chunk
                .iter()
                .zip(&vs)
                .map(|(id, v)| (*id, v.as_slice()))
                .collect();
            s.put_many("m", &rows).unwrap();
        }
        s
    });
    let reader = SqliteStore::open_read_only(&p).unwrap();
    let mut last = 0;
    loop {
        let m = reader.load_matrix("m").unwrap();
        // Whole batches only, and every row intact.
        assert_eq!(m.len() % 20, 0);
        assert!(m.len() >= last);
        last = m.len();
        for (i, id) in m.ids.iter().enumerate() {
            assert_eq!(m.row(i).unwrap(), vector_for(id.0, 16));
        }
        if last == 400 {
            break;
        }
    }
    writer.join().unwrap();
}
