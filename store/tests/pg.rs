//! PostgreSQL only: connection errors, credentials, schema versions, bulk and incremental
//! loading, and the README's grants.

use std::collections::BTreeMap;

use sonority_store::{
    AnalysedTrack, Analysis, Catalogue, Error, FileFacts, ModelInfo, ModelVector,
    PG_SCHEMA_VERSION, PgStore, QueuedFile, TrackId, TrackRecord, VectorMatrix, VectorStore,
    Watermark,
};

use crate::pgcluster::{cluster, pg_store};
use crate::testutil::{make_tracks, vector_for};

/// Asserts that neither the message nor the debug form of `e` holds `secret`.
fn assert_no_secret(e: &Error, secret: &str) {
    let shown = format!("{e} {e:?}");
    assert!(!shown.contains(secret), "secret leaked: {shown}");
}

#[test]
fn unreachable_server_is_typed_and_redacted() {
    let secret = "s3cret-Unreachable";
    for conn in [
        format!("host=/nonexistent/sonority port=5432 user=u password={secret} dbname=d"),
        format!("postgres://u:{secret}@127.0.0.1:1/d?connect_timeout=5"),
    ] {
        let e = PgStore::connect(&conn).unwrap_err();
        assert!(matches!(e, Error::Unreachable { .. }), "{e}");
        assert_no_secret(&e, secret);
        assert!(e.to_string().contains("postgres://u@"), "{e}");
    }
    let e = PgStore::connect(&format!("postgres://u:{secret}@[bad")).unwrap_err();
    assert!(matches!(e, Error::InvalidConnection { .. }), "{e}");
    assert_no_secret(&e, secret);
}

#[test]
fn wrong_credentials_are_refused_without_leaking() {
    let c = cluster();
    let db = c.fresh_db("auth");
    let secret = "Wrong-Password-123";
    for user in [crate::pgcluster::ADMIN, "nobody"] {
        let e = PgStore::connect(&c.conn_as(&db, user, secret)).unwrap_err();
        assert!(matches!(e, Error::AuthFailed { .. }), "{e}");
        assert_no_secret(&e, secret);
        assert_no_secret(&e, &c.password);
    }
    // Nothing was created by the refused connections.
    let n: i64 = c
        .admin(&db)
        .query_one(
            "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'",
            &[],
        )
        .unwrap()
        .get(0);
    assert_eq!(n, 0);
    let ok = PgStore::connect(&c.conn(&db)).unwrap();
    assert!(!format!("{ok:?} {}", ok.target()).contains(&c.password));
}

#[test]
fn newer_schema_is_refused_unchanged() {
    let c = cluster();
    let db = c.fresh_db("newer");
    let mut s = PgStore::connect(&c.conn(&db)).unwrap();
    let ids = make_tracks(&mut s, 3);
    s.put("m", ids[0], &[1.0, 2.0]).unwrap();
    drop(s);
    let mut admin = c.admin(&db);
    admin
        .execute(
            "UPDATE sonority_schema SET version = $1",
            &[&(PG_SCHEMA_VERSION + 1)],
        )
        .unwrap();
    let snapshot = |a: &mut sonority_store::postgres::Client| -> (i32, i64, i64) {
        let r = a
            .query_one(
                "SELECT (SELECT version FROM sonority_schema), (SELECT count(*) FROM tracks),
                        (SELECT count(*) FROM embeddings)",
                &[],
            )
            .unwrap();
        (r.get(0), r.get(1), r.get(2))
    };
    let before = snapshot(&mut admin);
    let e = PgStore::connect(&c.conn(&db)).unwrap_err();
    match e {
        Error::NewerSchema {
            found, supported, ..
        } => assert_eq!(
            (found, supported),
            (PG_SCHEMA_VERSION + 1, PG_SCHEMA_VERSION)
        ),
        e => panic!("unexpected {e}"),
    }
    assert_eq!(snapshot(&mut admin), before);
}

#[test]
fn foreign_database_is_refused_unchanged() {
    let c = cluster();
    let db = c.fresh_db("foreign");
    let mut admin = c.admin(&db);
    admin
        .batch_execute("CREATE TABLE tracks (title text); INSERT INTO tracks VALUES ('x');")
        .unwrap();
    let e = PgStore::connect(&c.conn(&db)).unwrap_err();
    assert!(matches!(e, Error::ForeignDatabase { .. }), "{e}");
    let exists: bool = admin
        .query_one("SELECT to_regclass('sonority_schema') IS NOT NULL", &[])
        .unwrap()
        .get(0);
    assert!(!exists);
}

#[test]
fn concurrent_first_connections_migrate_once() {
    let c = cluster();
    let conn = c.fresh("migrate_race");
    let handles: Vec<_> = (0..6)
        .map(|_| {
            let conn = conn.clone();
            std::thread::spawn(move || PgStore::connect(&conn).map(|_| ()))
        })
        .collect();
    for h in handles {
        h.join().unwrap().unwrap();
    }
}

#[test]
fn copy_load_matches_for_each_and_sqlite() {
    let mut pg = pg_store("copy_load");
    let mut lite = sonority_store::SqliteStore::open_in_memory().unwrap();
    for s in [&mut pg as &mut dyn Put, &mut lite] {
        s.fill(700, 24);
    }
    let fast = pg.load_matrix("m").unwrap();
    let mut slow = VectorMatrix::with_capacity(24, 0);
    pg.for_each("m", &mut |id, v| slow.push(id, v)).unwrap();
    assert_eq!(fast, slow);
    assert_eq!(fast.len(), 700);
    // Same ids (both number tracks from 1) and the same bits as SQLite.
    assert_eq!(fast, lite.load_matrix("m").unwrap());
    assert!(pg.load_matrix("unknown").unwrap().is_empty());
}

/// Fills a catalogue through the trait, so both backends get identical input.
trait Put {
    fn fill(&mut self, n: usize, dim: usize);
}
impl<S: Catalogue> Put for S {
    fn fill(&mut self, n: usize, dim: usize) {
        let records: Vec<TrackRecord> = (0..n)
            .map(|i| TrackRecord::new(FileFacts::new(format!("/c/{i}.flac"), i as u64, 0)))
            .collect();
        let vs: Vec<Vec<f32>> = (0..n).map(|i| vector_for(i as i64, dim)).collect();
        let es: Vec<[ModelVector<'_>; 1]> = vs.iter().map(|v| [ModelVector::new("m", v)]).collect();
        let a = Analysis::default();
        let batch: Vec<AnalysedTrack<'_>> = records
            .iter()
            .zip(&es)
            .map(|(track, e)| AnalysedTrack {
                track,
                analysis: &a,
                embeddings: e,
            })
            .collect();
        self.put_track_analyses(&batch).unwrap();
    }
}

/// Applies a delta as a ranking service would: deletions first, then upserts.
fn apply(index: &mut BTreeMap<TrackId, Vec<f32>>, d: &sonority_store::MatrixDelta) {
    for id in &d.deleted {
        index.remove(id);
    }
    for (i, id) in d.rows.ids.iter().enumerate() {
        index.insert(*id, d.rows.row(i).unwrap().to_vec());
    }
}

#[test]
fn incremental_load_sees_late_commits_and_deletions() {
    let c = cluster();
    let db = c.fresh_db("incremental");
    let mut w = PgStore::connect(&c.conn(&db)).unwrap();
    let ids = make_tracks(&mut w, 10);
    for id in &ids {
        w.put("m", *id, &vector_for(id.0, 8)).unwrap();
    }
    w.put("other", ids[0], &[1.0]).unwrap();
    let ranker = PgStore::connect(&c.conn(&db)).unwrap();
    let full = ranker.load_matrix_since("m", Watermark::default()).unwrap();
    assert_eq!(full.rows.len(), 10);
    assert!(full.deleted.is_empty());
    let mut index = BTreeMap::new();
    apply(&mut index, &full);

    // A transaction that began before the next load and commits after it.
    let mut late = c.admin(&db);
    let mut tx = late.transaction().unwrap();
    let late_v = vector_for(999, 8);
    let bytes: Vec<u8> = late_v.iter().flat_map(|x| x.to_le_bytes()).collect();
    tx.execute(
        "UPDATE embeddings SET vector = $1, written_xid = pg_current_xact_id()
         WHERE track_id = $2 AND model_id = (SELECT id FROM models WHERE name = 'm')",
        &[&bytes, &ids[2].0],
    )
    .unwrap();
    w.put("m", ids[4], &vector_for(444, 8)).unwrap();
    let d1 = ranker.load_matrix_since("m", full.watermark).unwrap();
    assert!(d1.rows.ids.contains(&ids[4]));
    // Other tests' transactions hold the cluster's xmin back, so a delta may deliver
    // rows again; but never an uncommitted value.
    if let Some(i) = d1.rows.ids.iter().position(|&id| id == ids[2]) {
        assert_eq!(
            d1.rows.row(i).unwrap(),
            vector_for(ids[2].0, 8),
            "uncommitted row visible"
        );
    }
    apply(&mut index, &d1);
    tx.commit().unwrap();

    w.delete("m", ids[6]).unwrap();
    assert!(w.delete_track(ids[7]).unwrap());
    let d2 = ranker.load_matrix_since("m", d1.watermark).unwrap();
    assert!(d2.rows.ids.contains(&ids[2]), "late commit missed");
    assert_eq!(d2.deleted, vec![ids[6], ids[7]]);
    apply(&mut index, &d2);

    // The delta-maintained index equals a full reload, bit for bit.
    let now = ranker.load_matrix("m").unwrap();
    let mut expect = BTreeMap::new();
    for (i, id) in now.ids.iter().enumerate() {
        expect.insert(*id, now.row(i).unwrap().to_vec());
    }
    assert_eq!(index, expect);
    assert_eq!(index.get(&ids[2]), Some(&late_v));
    // Nothing new: at most re-deliveries of current rows, and the watermark never goes back.
    let d3 = ranker.load_matrix_since("m", d2.watermark).unwrap();
    apply(&mut index, &d3);
    assert_eq!(index, expect);
    assert!(d3.watermark >= d2.watermark);
}

/// The grants of the README, for roles `w` (worker), `q` (enqueuer), `r` (ranker).
const README_GRANTS: &str = "
    GRANT SELECT ON sonority_schema TO w, q, r;
    GRANT SELECT, INSERT, UPDATE ON tracks, analyses TO w;
    GRANT SELECT, INSERT, UPDATE, DELETE ON descriptors, embeddings, embedding_tiles, file_errors, track_tags TO w;
    GRANT SELECT, INSERT ON models TO w;
    GRANT INSERT ON embedding_deletions TO w;
    GRANT SELECT, UPDATE ON jobs TO w;
    GRANT USAGE ON SEQUENCE job_lease_tokens TO w;
    GRANT SELECT, INSERT, UPDATE ON jobs TO q;
    GRANT SELECT ON models, embeddings, embedding_deletions, tracks, track_tags TO r;
";

#[test]
fn readme_grants_suffice_and_allow_nothing_more() {
    let c = cluster();
    let db = c.fresh_db("grants");
    drop(PgStore::connect(&c.conn(&db)).unwrap()); // the owner migrates
    let mut admin = c.admin(&db);
    for role in ["w", "q", "r"] {
        admin
            .batch_execute(&format!(
                "CREATE ROLE {role} LOGIN PASSWORD 'pw-{role}'; GRANT CONNECT ON DATABASE {db} TO {role};"
            ))
            .unwrap();
    }
    admin.batch_execute(README_GRANTS).unwrap();
    let connect = |role: &str| PgStore::connect(&c.conn_as(&db, role, &format!("pw-{role}")));

    let mut q = connect("q").unwrap();
    assert_eq!(
        q.enqueue("music", &[QueuedFile::new("a.flac", 1, 2)])
            .unwrap(),
        1
    );
    let mut w = connect("w").unwrap();
    w.register_model(&ModelInfo::new("m", 2)).unwrap();
    let job = w
        .claim("w1", 1, std::time::Duration::from_secs(60))
        .unwrap()
        .pop()
        .unwrap();
    let rec = TrackRecord::new(job.facts()).with_duration_s(3.0);
    let id = w
        .complete(
            &job,
            &AnalysedTrack {
                track: &rec,
                analysis: &Analysis::default().with_descriptor("d", 1.0),
                embeddings: &[ModelVector::new("m", &[1.0, 2.0])],
            },
        )
        .unwrap();
    // Re-analysis deletes and rewrites (the trigger logs the deletion).
    w.put_track_analysis(
        &rec,
        &Analysis::default(),
        &[ModelVector::new("m", &[3.0, 4.0])],
    )
    .unwrap();
    assert_eq!(w.progress().unwrap().done, 1);
    let r = connect("r").unwrap();
    assert_eq!(r.load_matrix("m").unwrap().data, [3.0, 4.0]);
    let d = r.load_matrix_since("m", Watermark(1)).unwrap();
    assert_eq!(d.deleted, vec![id]);

    // Nothing more: no DDL, no schema changes, no writes outside their tables.
    let worker_client = |role: &str| {
        sonority_store::postgres::Client::connect(
            &c.conn_as(&db, role, &format!("pw-{role}")),
            sonority_store::postgres::NoTls,
        )
        .unwrap()
    };
    let mut wc = worker_client("w");
    for sql in [
        "CREATE TABLE x (a int)",
        "DROP TABLE tracks",
        "UPDATE sonority_schema SET version = 99",
        "DELETE FROM tracks",
        "INSERT INTO jobs (root, rel_path, size_bytes, mtime_ns) VALUES ('m', 'x', 1, 1)",
        "DELETE FROM models",
    ] {
        let e = wc.batch_execute(sql).unwrap_err();
        assert_eq!(
            e.code(),
            Some(&sonority_store::postgres::error::SqlState::INSUFFICIENT_PRIVILEGE),
            "worker may {sql}: {e}"
        );
    }
    let mut rc = worker_client("r");
    for sql in ["DELETE FROM embeddings", "UPDATE tracks SET size_bytes = 0"] {
        assert!(rc.batch_execute(sql).is_err(), "ranker may {sql}");
    }
    let e = connect("r").unwrap().put("m", id, &[0.0, 0.0]).unwrap_err();
    assert!(matches!(e, Error::PermissionDenied { .. }), "{e}");
}
