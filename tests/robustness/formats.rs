//! Model directories and databases of a newer or unknown format version, or truncated, give a
//! clear error naming the file: never a panic, never a silently wrong model.

use std::path::Path;

use sonority::{Error, Library, Model};

use crate::testutil::model_dir;

/// A copy of the model under test in a temporary directory.
fn model_copy() -> tempfile::TempDir {
    let tmp = tempfile::tempdir().unwrap();
    for e in std::fs::read_dir(model_dir()).unwrap() {
        let e = e.unwrap();
        if e.file_type().unwrap().is_file() {
            std::fs::copy(e.path(), tmp.path().join(e.file_name())).unwrap();
        }
    }
    tmp
}

fn load_err(dir: &Path) -> Error {
    match Model::load(dir) {
        Ok(m) => panic!("a damaged model loaded: {}", m.name()),
        Err(e) => e,
    }
}

fn edit_json(path: &Path, f: impl FnOnce(&mut serde_json::Value)) {
    let mut v: serde_json::Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    f(&mut v);
    std::fs::write(path, serde_json::to_vec(&v).unwrap()).unwrap();
}

fn truncate(path: &Path, keep: f64) {
    let bytes = std::fs::read(path).unwrap();
    let n = (bytes.len() as f64 * keep) as usize;
    std::fs::write(path, &bytes[..n]).unwrap();
}

#[test]
fn the_model_under_test_loads() {
    let m = Model::load(model_copy().path()).unwrap();
    assert!(m.output_dim() > 0);
}

#[test]
fn a_newer_model_format_is_refused_with_a_clear_error() {
    let tmp = model_copy();
    edit_json(&tmp.path().join("model.json"), |v| {
        v["format_version"] = 99.into()
    });
    let err = load_err(tmp.path());
    assert!(
        matches!(err, sonority::Error::ModelVersion { found: 99, .. }),
        "{err:?}"
    );
    let msg = err.to_string();
    assert!(msg.contains("model.json"), "{msg}");
    assert!(msg.contains("format version 99"), "{msg}");
    assert!(msg.contains("upgrade"), "{msg}");
}

#[test]
fn an_unknown_model_format_is_refused() {
    for (field, value) in [
        ("format", serde_json::json!("something-else")),
        ("format_version", serde_json::json!(0)),
        ("format_version", serde_json::json!("1")),
        ("format_version", serde_json::json!(-1)),
    ] {
        let tmp = model_copy();
        edit_json(&tmp.path().join("model.json"), |v| v[field] = value.clone());
        let msg = load_err(tmp.path()).to_string();
        assert!(msg.contains("model.json"), "{field}={value}: {msg}");
    }
}

#[test]
fn a_model_json_that_is_not_json_is_refused() {
    for bytes in [
        &b""[..],
        b"not json at all",
        b"{\"format\": \"sonority-model\", ",
        b"\xff\xfe",
    ] {
        let tmp = model_copy();
        std::fs::write(tmp.path().join("model.json"), bytes).unwrap();
        let e = load_err(tmp.path());
        assert!(matches!(e, Error::Model { .. }), "{e:?}");
        assert!(e.to_string().contains("model.json"), "{e}");
    }
}

#[test]
fn a_model_json_with_a_wrong_field_is_refused() {
    let tmp = model_copy();
    edit_json(&tmp.path().join("model.json"), |v| {
        v["n_mels"] = serde_json::json!(7);
    });
    let msg = load_err(tmp.path()).to_string();
    assert!(msg.contains("bands") || msg.contains("tile"), "{msg}");
}

#[test]
fn truncated_model_parts_are_refused_naming_the_file() {
    let names: Vec<String> = std::fs::read_dir(model_dir())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".json") || n.ends_with(".safetensors"))
        .collect();
    assert!(names.iter().any(|n| n == "tile.safetensors"), "{names:?}");
    for name in &names {
        for keep in [0.0, 0.01, 0.5, 0.99] {
            let tmp = model_copy();
            let path = tmp.path().join(name);
            truncate(&path, keep);
            let e = load_err(tmp.path());
            let msg = e.to_string();
            assert!(
                msg.contains(name.as_str()),
                "{name} cut to {keep}: the error does not name the file: {msg}"
            );
        }
    }
}

#[test]
fn a_missing_model_part_is_refused_naming_the_file() {
    for name in ["model.json", "tile.json", "tile.safetensors", "fusion.json"] {
        let tmp = model_copy();
        std::fs::remove_file(tmp.path().join(name)).unwrap();
        let msg = load_err(tmp.path()).to_string();
        assert!(msg.contains(name), "{name} missing: {msg}");
    }
}

#[test]
fn a_newer_tile_model_format_is_refused() {
    let tmp = model_copy();
    edit_json(&tmp.path().join("tile.json"), |v| {
        v["format_version"] = 99.into()
    });
    let msg = load_err(tmp.path()).to_string();
    assert!(msg.contains("tile.json") && msg.contains("99"), "{msg}");
}

/// `PRAGMA user_version` is the big-endian i32 at byte 60 of a SQLite file.
fn set_user_version(db: &Path, v: i32) {
    let mut bytes = std::fs::read(db).unwrap();
    assert!(bytes.starts_with(b"SQLite format 3\0"));
    bytes[60..64].copy_from_slice(&v.to_be_bytes());
    std::fs::write(db, bytes).unwrap();
}

#[test]
fn a_database_from_a_newer_sonority_is_refused_and_left_alone() {
    let model = Model::load(&model_dir()).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join("library.db");
    drop(Library::open(&db, &model).unwrap());
    assert!(
        !tmp.path().join("library.db-wal").exists(),
        "WAL left behind"
    );
    let newer = sonority::store::SCHEMA_VERSION + 1;
    set_user_version(&db, newer);
    let before = std::fs::read(&db).unwrap();
    let e = Library::open(&db, &model).unwrap_err();
    assert!(matches!(e, Error::Store(_)), "{e:?}");
    let msg = e.to_string();
    assert!(msg.contains("library.db") && msg.contains("newer"), "{msg}");
    assert_eq!(
        std::fs::read(&db).unwrap(),
        before,
        "the newer database was modified"
    );
}

#[test]
fn a_damaged_or_foreign_database_is_refused() {
    let model = Model::load(&model_dir()).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join("library.db");
    drop(Library::open(&db, &model).unwrap());
    let full = std::fs::read(&db).unwrap();
    let cases: Vec<(&str, Vec<u8>)> = vec![
        (
            "text",
            b"this is not a database, it is long enough to have a header".repeat(20),
        ),
        ("header only", full[..100].to_vec()),
        ("cut at half", full[..full.len() / 2].to_vec()),
    ];
    for (what, bytes) in cases {
        let p = tmp.path().join(format!("{}.db", what.replace(' ', "_")));
        std::fs::write(&p, &bytes).unwrap();
        // Opening may succeed on a cut file (SQLite reads pages lazily); using it must not.
        let r = Library::open(&p, &model).and_then(|lib| {
            lib.store().tracks()?;
            lib.store().errors()?;
            Ok(())
        });
        if let Err(e) = r {
            let msg = e.to_string();
            assert!(
                msg.contains(&*p.file_name().unwrap().to_string_lossy()),
                "{what}: {msg}"
            );
        } else {
            assert_eq!(
                what, "cut at half",
                "{what}: a damaged database was accepted"
            );
        }
    }
}
