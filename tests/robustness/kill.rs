//! SIGKILL the indexer at random moments: the database always opens, every visible track is
//! complete (finite vector of the model's dimension, analysis), and a final run finishes the
//! set without analysing a finished file again.
//!
//! The test binary re-executes itself as the indexer: the ignored test `index_child` runs only
//! when `SONORITY_KILL_MUSIC` names a folder.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use sonority::StopFlag;
use sonority::store::{SqliteStore, VectorStore};
use sonority::{IndexOptions, Library, Model};

use crate::testutil::{Rng, SEED_ENV, all_finite, model_dir, write_tone};

const MUSIC: &str = "SONORITY_KILL_MUSIC";
const DB: &str = "SONORITY_KILL_DB";
const FILES: usize = 40;
const BATCH: usize = 3;

fn options() -> IndexOptions {
    let mut o = IndexOptions::default().with_threads(2);
    o.batch = BATCH;
    o
}

/// The indexer: prints `done N` after each file so the parent can kill it mid-run.
#[test]
#[ignore = "child process of sigkill_at_random_moments_never_corrupts_the_library"]
fn index_child() {
    let (Some(music), Some(db)) = (std::env::var_os(MUSIC), std::env::var_os(DB)) else {
        return;
    };
    let model = Model::load(&model_dir()).unwrap();
    let mut lib = Library::open(Path::new(&db), &model).unwrap();
    println!("ready");
    lib.index(Path::new(&music), &options(), &StopFlag::new(), |p| {
        println!("done {}", p.done);
    })
    .unwrap();
    println!("finished");
}

/// Checks every visible track; returns how many there are.
fn verify(db: &Path, model: &Model, music: &Path) -> usize {
    let store = SqliteStore::open(db).unwrap_or_else(|e| panic!("the database does not open: {e}"));
    let tracks = store.tracks().unwrap();
    for t in &tracks {
        let path = &t.record.file.path;
        assert!(path.starts_with(music), "foreign track {}", path.display());
        let v = store
            .get(model.name(), t.id)
            .unwrap()
            .unwrap_or_else(|| panic!("{} is visible without its vector", path.display()));
        assert_eq!(v.len(), model.output_dim(), "{}", path.display());
        assert!(all_finite(&v), "{}: non-finite vector", path.display());
        assert!(
            store.analysis(t.id).unwrap().is_some(),
            "{} is visible without its analysis",
            path.display()
        );
        assert!(t.record.duration_s.is_some_and(|d| d > 1.0));
    }
    assert_eq!(store.count(model.name()).unwrap(), tracks.len());
    assert!(store.errors().unwrap().is_empty(), "{:?}", store.errors());
    tracks.len()
}

#[test]
fn sigkill_at_random_moments_never_corrupts_the_library() {
    let tmp = tempfile::tempdir().unwrap();
    let music = tmp.path().join("music");
    std::fs::create_dir_all(&music).unwrap();
    for i in 0..FILES {
        let f0 = 110.0 * 2f64.powf(i as f64 / 12.0);
        write_tone(
            &music.join(format!("{i:02}.wav")),
            22_050,
            8.0,
            f0,
            i as u32,
        );
    }
    let music = std::fs::canonicalize(&music).unwrap();
    let db = tmp.path().join("library.db");
    let dir = model_dir();
    let model = Model::load(&dir).unwrap();
    let mut rng = Rng::from_env(SEED_ENV);
    let exe = std::env::current_exe().unwrap();

    let mut kills = 0;
    let mut seen_partial = false;
    for _round in 0..12 {
        let mut child = Command::new(&exe)
            .args(["--exact", "kill::index_child", "--ignored", "--nocapture"])
            .args(["--test-threads", "1"])
            .env(MUSIC, &music)
            .env(DB, &db)
            .env("SONORITY_TEST_MODEL", &dir)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let out = child.stdout.take().unwrap();
        let (tx, rx) = mpsc::channel::<String>();
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        // Kill after a random number of finished files, a random time later (so kills land
        // while analysing, between batches and inside commits).
        let after_files = rng.range(0, 2 * BATCH as u64 + 1);
        let mut files = 0;
        let mut finished = false;
        loop {
            match rx.recv_timeout(Duration::from_secs(120)) {
                Ok(l) if l.starts_with("done ") => files += 1,
                Ok(l) if l == "finished" => {
                    finished = true;
                    break;
                }
                Ok(_) => {}
                Err(_) => break,
            }
            if files as u64 >= after_files && files > 0 {
                break;
            }
        }
        if !finished {
            std::thread::sleep(Duration::from_millis(rng.range(0, 60)));
            child.kill().unwrap(); // SIGKILL on Unix
            kills += 1;
        }
        let _ = child.wait().unwrap();
        let n = verify(&db, &model, &music);
        eprintln!(
            "round {_round}: killed={} after {files} file(s), {n} tracks visible",
            !finished
        );
        seen_partial |= n > 0 && n < FILES;
        if finished || n == FILES {
            break;
        }
    }
    assert!(kills >= 2, "the indexer was killed only {kills} time(s)");
    assert!(
        seen_partial,
        "no kill left a partly indexed library to recover"
    );

    // An uninterrupted run completes the set without analysing a finished file again.
    let before = verify(&db, &model, &music);
    let mut lib = Library::open(&db, &model).unwrap();
    let report = lib
        .index(&music, &options(), &StopFlag::new(), |_| {})
        .unwrap();
    assert!(report.failed.is_empty(), "{:?}", report.failed);
    assert_eq!(report.found, FILES);
    assert_eq!(report.unchanged, before);
    assert_eq!(
        report.analysed,
        FILES - before,
        "finished files were analysed again"
    );
    drop(lib);
    assert_eq!(verify(&db, &model, &music), FILES);
}
