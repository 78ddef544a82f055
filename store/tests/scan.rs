//! Incremental indexing: plans, moves, touched files, pruning.

use std::path::Path;

use sonority_store::{
    Analysis, Catalogue, FileFacts, ModelVector, SqliteStore, TrackRecord, VectorStore,
    content_hash, content_hash_bytes,
};

/// Writes `bytes` to `dir/name` and returns its facts.
fn write(dir: &Path, name: &str, bytes: &[u8]) -> FileFacts {
    let p = dir.join(name);
    if let Some(parent) = p.parent() {
        std::fs::create_dir_all(parent).unwrap();
    }
    std::fs::write(&p, bytes).unwrap();
    FileFacts::from_path(p).unwrap()
}

/// Stores a file as analysed, with its hash and a one-value vector.
fn index<S: Catalogue>(s: &mut S, f: &FileFacts, x: f32) -> sonority_store::TrackId {
    let r = TrackRecord::new(f.clone()).with_content_hash(content_hash(&f.path).unwrap());
    s.put_track_analysis(&r, &Analysis::default(), &[ModelVector::new("m", &[x])])
        .unwrap()
}

fn walk(root: &Path) -> Vec<FileFacts> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push(FileFacts::from_path(p).unwrap());
            }
        }
    }
    out
}

#[test]
fn content_hash_streams_and_matches_bytes() {
    let dir = tempfile::tempdir().unwrap();
    // Larger than the read buffer, not a multiple of it.
    let bytes: Vec<u8> = (0..700_001u32).map(|i| (i * 7 % 251) as u8).collect();
    let f = write(dir.path(), "big.bin", &bytes);
    assert_eq!(content_hash(&f.path).unwrap(), content_hash_bytes(&bytes));
    let mut other = bytes.clone();
    other[350_000] ^= 1;
    assert_ne!(content_hash_bytes(&other), content_hash_bytes(&bytes));
    assert!(matches!(
        content_hash(dir.path().join("missing")).unwrap_err(),
        sonority_store::Error::Io { .. }
    ));
}

#[test]
fn plan_sorts_new_changed_unchanged_gone_retry() {
    let dir = tempfile::tempdir().unwrap();
    let s = SqliteStore::open(dir.path().join("lib.db")).unwrap();
    plan_sorts(s);
}

#[cfg(feature = "postgres")]
#[test]
fn pg_plan_sorts_new_changed_unchanged_gone_retry() {
    plan_sorts(crate::pgcluster::pg_store("plan_sorts"));
}

fn plan_sorts<S: Catalogue>(mut s: S) {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("music");
    let (a, b, c) = (
        write(&root, "a.flac", b"aaaa"),
        write(&root, "b.flac", b"bbbb"),
        write(&root, "c.flac", b"cccc"),
    );
    let ida = index(&mut s, &a, 1.0);
    let idb = index(&mut s, &b, 2.0);
    let idc = index(&mut s, &c, 3.0);
    s.record_error(&root.join("bad.mp3"), "decode").unwrap();
    s.record_error(&dir.path().join("elsewhere/x.mp3"), "decode")
        .unwrap();

    let first = s.plan_scan_under(&root, walk(&root)).unwrap();
    assert_eq!(first.unchanged.len(), 3);
    assert_eq!(first.to_analyse(), 0);
    assert_eq!(first.stale_errors, vec![root.join("bad.mp3")]);

    // b grows, c is deleted, d and bad.mp3 appear.
    let b2 = write(&root, "b.flac", b"bbbbbb");
    std::fs::remove_file(&c.path).unwrap();
    let d = write(&root, "sub/d.flac", b"dddd!");
    let bad = write(&root, "bad.mp3", b"junk");
    let plan = s.plan_scan_under(&root, walk(&root)).unwrap();
    assert_eq!(plan.unchanged, vec![ida]);
    assert_eq!(plan.changed.len(), 1);
    assert_eq!((plan.changed[0].0.id, &plan.changed[0].1), (idb, &b2));
    assert_eq!(plan.new, vec![d]);
    assert_eq!(plan.retry, vec![bad]);
    assert_eq!(plan.gone.len(), 1);
    assert_eq!(plan.gone[0].id, idc);
    assert!(plan.stale_errors.is_empty(), "{:?}", plan.stale_errors);

    // Without a root, the error outside it is stale too.
    let all = s.plan_scan(walk(&root)).unwrap();
    assert_eq!(all.stale_errors, vec![dir.path().join("elsewhere/x.mp3")]);

    assert_eq!(s.prune_gone(&plan).unwrap(), 1);
    assert!(s.track(idc).unwrap().is_none());
    assert_eq!(s.get("m", idc).unwrap(), None);
    assert_eq!(s.count("m").unwrap(), 2);
}

#[test]
fn moved_file_keeps_id_and_vectors() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("music");
    let a = write(&root, "old/a.flac", b"the same audio bytes");
    let same_size = write(&root, "other.flac", b"different  bytes!!!!");
    let mut s = SqliteStore::open(dir.path().join("lib.db")).unwrap();
    let id = index(&mut s, &a, 0.25);
    let ido = index(&mut s, &same_size, 0.5);
    s.put("m2", id, &[1.0, 2.0]).unwrap();

    std::fs::create_dir_all(root.join("new")).unwrap();
    std::fs::rename(&a.path, root.join("new/a.flac")).unwrap();
    // A new file of the same size but other content must not be taken for the move.
    let decoy = write(&root, "decoy.flac", b"the same audio bytez");
    let mut plan = s.plan_scan_under(&root, walk(&root)).unwrap();
    assert_eq!(plan.new.len(), 2);
    assert_eq!(plan.gone.len(), 1);
    let mut hashed = Vec::new();
    s.resolve_with_hashes(&mut plan, &mut |p| {
        hashed.push(p.to_path_buf());
        content_hash(p)
    })
    .unwrap();
    assert_eq!(plan.moved.len(), 1);
    assert_eq!(plan.moved[0].id, id);
    assert_eq!(plan.moved[0].from, a.path);
    assert_eq!(plan.moved[0].to.path, root.join("new/a.flac"));
    assert_eq!(plan.new, vec![decoy]);
    assert!(plan.gone.is_empty());
    assert_eq!(hashed.len(), 2, "only same-size candidates are hashed");

    let t = s.track_by_path(root.join("new/a.flac")).unwrap().unwrap();
    assert_eq!(t.id, id);
    assert_eq!(s.get("m", id).unwrap(), Some(vec![0.25]));
    assert_eq!(s.get("m2", id).unwrap(), Some(vec![1.0, 2.0]));
    assert!(s.track_by_path(&a.path).unwrap().is_none());
    assert_eq!(s.get("m", ido).unwrap(), Some(vec![0.5]));
    // Nothing left to prune.
    assert_eq!(s.prune_gone(&plan).unwrap(), 0);
    assert_eq!(s.track_count().unwrap(), 2);
}

#[test]
fn touched_file_is_unchanged_after_hashing() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let a = write(root, "a.flac", b"abc");
    let b = write(root, "b.flac", b"xyz");
    let mut s = SqliteStore::open_in_memory().unwrap();
    let ida = index(&mut s, &a, 1.0);
    let idb = index(&mut s, &b, 2.0);
    // Same size, new mtimes; only b's content differs.
    let a2 = FileFacts::new(&a.path, a.size_bytes, a.mtime_ns + 1_000);
    std::fs::write(&b.path, b"xyw").unwrap();
    let b2 = FileFacts::new(&b.path, b.size_bytes, b.mtime_ns + 1_000);
    let mut plan = s.plan_scan([a2.clone(), b2.clone()]).unwrap();
    assert_eq!(plan.changed.len(), 2);
    s.resolve_with_hashes(&mut plan, &mut |p| content_hash(p))
        .unwrap();
    assert_eq!(plan.unchanged, vec![ida]);
    assert_eq!(plan.changed.len(), 1);
    assert_eq!(plan.changed[0].0.id, idb);
    assert_eq!(
        s.track(ida).unwrap().unwrap().record.file.mtime_ns,
        a2.mtime_ns
    );
    // The next plan sees a as unchanged without hashing.
    let again = s.plan_scan([a2, b2]).unwrap();
    assert_eq!(again.unchanged, vec![ida]);
}
