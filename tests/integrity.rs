//! Integrity of a library: vectors of two models are never mixed, and the shipped model is part
//! of the program, not of the source tree.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};

use sonority::StopFlag;
use sonority::store::{
    Analysis, FileFacts, ModelInfo, ModelVector, SqliteStore, TrackRecord, VectorStore,
};
use sonority::{Error, IndexOptions, Library, Model};

/// A short tone per file (3 s, different pitch), 22.05 kHz mono 16-bit.
fn make_folder(dir: &Path, n: usize) -> Vec<PathBuf> {
    std::fs::create_dir_all(dir).unwrap();
    (0..n)
        .map(|i| {
            let p = dir.join(format!("t{i}.wav"));
            let spec = hound::WavSpec {
                channels: 1,
                sample_rate: 22_050,
                bits_per_sample: 16,
                sample_format: hound::SampleFormat::Int,
            };
            let mut w = hound::WavWriter::create(&p, spec).unwrap();
            let f = 110.0 * (i + 1) as f32;
            for j in 0..3 * 22_050 {
                let t = j as f32 / 22_050.0;
                let y = 0.3 * (std::f32::consts::TAU * f * t).sin()
                    + 0.1 * (std::f32::consts::TAU * 2.5 * f * t).sin();
                w.write_sample((y * 32_767.0) as i16).unwrap();
            }
            w.finalize().unwrap();
            p
        })
        .collect()
}

/// The shipped model with other weights and the same name (what `train`'s default `--name`
/// gives).
fn same_name_other_weights() -> Model {
    let mut m = Model::load_default().unwrap();
    m.fusion.set_weight("timbre", 0.5).unwrap();
    m
}

#[test]
fn same_named_model_with_other_weights_is_refused_then_replaced() {
    let shipped = Model::load_default().unwrap();
    let other = same_name_other_weights();
    assert_eq!(shipped.name(), other.name());
    assert_ne!(shipped.fingerprint().unwrap(), other.fingerprint().unwrap());

    let tmp = tempfile::tempdir().unwrap();
    let music = tmp.path().join("music");
    make_folder(&music, 3);
    let db = tmp.path().join("lib.sqlite");
    let opts = IndexOptions::default().with_threads(2);
    {
        let mut lib = Library::open(&db, &shipped).unwrap();
        let r = lib.index(&music, &opts, &StopFlag::new(), |_| {}).unwrap();
        assert_eq!(r.analysed, 3, "{r:?}");
    }

    // Refused, with an error that names the database and says what to do.
    let e = Library::open(&db, &other).unwrap_err();
    assert!(matches!(e, Error::ModelMismatch { .. }), "{e:?}");
    let msg = e.to_string();
    assert!(
        msg.contains("lib.sqlite") && msg.contains("--reanalyse"),
        "{msg}"
    );

    // Replaced: the old vectors go, and the next run analyses every track again.
    let (mut lib, deleted) = Library::open_replacing(&db, &other).unwrap();
    assert_eq!(deleted, 3);
    let r = lib.index(&music, &opts, &StopFlag::new(), |_| {}).unwrap();
    assert_eq!((r.analysed, r.unchanged), (3, 3), "{r:?}");
    let m = lib.store().load_matrix(other.name()).unwrap();
    assert_eq!(m.ids.len(), 3);
    drop(lib);

    // Now the shipped weights are the strangers; the current ones open as before.
    assert!(matches!(
        Library::open(&db, &shipped),
        Err(Error::ModelMismatch { .. })
    ));
    let (_, deleted) = Library::open_replacing(&db, &other).unwrap();
    assert_eq!(deleted, 0, "the registered model is not replaced");
    assert!(Library::open(&db, &other).is_ok());
}

#[test]
fn database_without_fingerprints_is_refused_only_when_it_holds_vectors() {
    let model = Model::load_default().unwrap();
    let tmp = tempfile::tempdir().unwrap();
    // As a database from before fingerprints: the model registered by name and dimension.
    let legacy = ModelInfo::new(model.name(), model.output_dim());
    let empty = tmp.path().join("empty.sqlite");
    SqliteStore::open(&empty)
        .unwrap()
        .register_model(&legacy)
        .unwrap();
    drop(Library::open(&empty, &model).expect("no vectors: the fingerprint is adopted"));
    let adopted = SqliteStore::open(&empty).unwrap().models().unwrap();
    assert_eq!(adopted[0].weights_hash, Some(model.fingerprint().unwrap()));

    let full = tmp.path().join("full.sqlite");
    let mut store = SqliteStore::open(&full).unwrap();
    store.register_model(&legacy).unwrap();
    let track = TrackRecord::new(FileFacts::new(PathBuf::from("/x.wav"), 1, 1));
    let v = vec![0.5; model.output_dim()];
    store
        .put_track_analysis(
            &track,
            &Analysis::default(),
            &[ModelVector::new(model.name(), &v)],
        )
        .unwrap();
    drop(store);
    assert!(matches!(
        Library::open(&full, &model),
        Err(Error::ModelMismatch { .. })
    ));
    let (_, deleted) = Library::open_replacing(&full, &model).unwrap();
    assert_eq!(deleted, 1);

    // A database indexed before fingerprints by this very model (its header recorded as the
    // model's configuration, as `Library::open` always did) is adopted, vectors and all.
    let same = tmp.path().join("same.sqlite");
    let mut store = SqliteStore::open(&same).unwrap();
    let header = serde_json::to_string(&model.header).unwrap();
    store
        .register_model(&legacy.clone().with_config_json(header))
        .unwrap();
    store
        .put_track_analysis(
            &track,
            &Analysis::default(),
            &[ModelVector::new(model.name(), &v)],
        )
        .unwrap();
    drop(store);
    let lib = Library::open(&same, &model).expect("same configuration: adopted");
    assert_eq!(lib.store().load_matrix(model.name()).unwrap().ids.len(), 1);
}

#[test]
fn embedded_default_model_is_the_shipped_directory() {
    let embedded = Model::load_default().unwrap();
    let dir = Model::load(&Model::default_dir()).unwrap();
    assert_eq!(embedded.fingerprint().unwrap(), dir.fingerprint().unwrap());
    // And the bytes embedded are the files: saving writes them back unchanged.
    for (name, bytes) in embedded.to_files().unwrap() {
        let on_disk = std::fs::read(Model::default_dir().join(name)).unwrap();
        assert!(on_disk == bytes, "{name} differs from the embedded copy");
    }
}

/// The fingerprint is the one catalogues already store: the hash of the saved directory's
/// files, as computed before it was computed in memory.
#[test]
fn fingerprint_is_the_saved_directorys() {
    let model = same_name_other_weights();
    let tmp = tempfile::tempdir().unwrap();
    model.save(tmp.path()).unwrap();
    let mut names: Vec<PathBuf> = std::fs::read_dir(tmp.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    names.sort();
    let files = model.to_files().unwrap();
    assert_eq!(names.len(), files.len());
    for (p, (name, bytes)) in names.iter().zip(&files) {
        assert_eq!(p.file_name().unwrap().to_str(), Some(*name));
        assert!(std::fs::read(p).unwrap() == *bytes, "{name}");
    }
    let back = Model::load(tmp.path()).unwrap();
    assert_eq!(back.fingerprint().unwrap(), model.fingerprint().unwrap());
}

/// A test binary copied to another folder and run from there (as a program moved away from
/// its build) still loads the shipped model: the model is in the executable.
#[test]
fn copied_program_finds_the_shipped_model() {
    if std::env::var_os("SONORITY_CHILD_LOAD_DEFAULT").is_some() {
        let m = Model::load_default().unwrap();
        println!("CHILD-OK {}", m.name());
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let exe = std::env::current_exe().unwrap();
    let copy = tmp.path().join("moved-program");
    std::fs::copy(&exe, &copy).unwrap();
    let out = std::process::Command::new(&copy)
        .args([
            "--exact",
            "copied_program_finds_the_shipped_model",
            "--nocapture",
        ])
        .env("SONORITY_CHILD_LOAD_DEFAULT", "1")
        .env_remove("CARGO_MANIFEST_DIR")
        .current_dir(tmp.path())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.contains("CHILD-OK"),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The model check compares the whole fusion layout with what the analysis makes: a block it
/// does not make, or one of another length, is refused with the block named.
#[test]
fn model_check_compares_the_whole_layout() {
    use sonority::fusion::{BlockSpec, Fusion, Standardization};
    let tmp = tempfile::tempdir().unwrap();
    Model::load_default().unwrap().save(tmp.path()).unwrap();
    let f = tmp.path().join("fusion.json");
    let json = std::fs::read_to_string(&f).unwrap();
    std::fs::write(&f, json.replace("\"timbre\"", "\"colour\"")).unwrap();
    let e = Model::load(tmp.path()).unwrap_err().to_string();
    assert!(e.contains("`colour`"), "{e}");

    let mut m = Model::load_default().unwrap();
    let blocks = [("tiles", 256), ("timbre", 39), ("key", 3), ("tempo", 4)];
    m.fusion = Fusion::new(
        blocks.iter().map(|(n, d)| BlockSpec::new(*n, *d)).collect(),
        Standardization::None,
    )
    .unwrap();
    let e = m.check().unwrap_err().to_string();
    assert!(
        e.contains("`timbre` has 39 values") && e.contains("makes 40"),
        "{e}"
    );
    // A layout that leaves blocks out is fine: the analysis then skips what it does not need.
    let blocks = [("tiles", 256), ("key", 3)];
    m.fusion = Fusion::new(
        blocks.iter().map(|(n, d)| BlockSpec::new(*n, *d)).collect(),
        Standardization::None,
    )
    .unwrap();
    m.check().unwrap();
    let y: Vec<f32> = (0..3 * 22_050)
        .map(|i| (i as f32 * 0.05).sin() * 0.3)
        .collect();
    let a = sonority::Analyzer::new(&m)
        .analyze_source(&mut sonority::mfcc::SliceSource::new(&y, 22_050))
        .unwrap();
    let names: Vec<&str> = a.blocks.iter().map(|(n, _)| *n).collect();
    assert_eq!(
        names,
        ["tiles", "key", "tempo", "rolloff"],
        "no timbre sink ran"
    );
    assert_eq!(a.vector.len(), 259);
}
