//! The indexer over a corpus of broken, odd and non-audio files (`sonority_testkit::badinput`,
//! generated; or `shared/badinput/make.sh`'s through `SONORITY_BADINPUT_DIR`): every case gets
//! its expected outcome, nothing hangs, nothing non-finite is stored, and a second run retries
//! only the failures.

use std::collections::BTreeSet;
use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use sonority::StopFlag;
use sonority::store::{FileError, TrackInfo, VectorStore};
use sonority::{IndexOptions, IndexReport, Library, Model};
use sonority_testkit::badinput;

use crate::testutil::{all_finite, model_dir};

/// The whole run (both passes) must finish within this; a FIFO opened by mistake blocks forever.
const RUN_LIMIT: Duration = Duration::from_secs(120);

/// The corpus directory: `SONORITY_BADINPUT_DIR` if set (a directory made by
/// `shared/badinput/make.sh`, to run the full-size corpus), else generated into a temporary
/// directory by `sonority_testkit::badinput` (pure Rust, committed fixtures, no external tool).
fn corpus() -> (PathBuf, Option<tempfile::TempDir>) {
    if let Some(dir) = std::env::var_os("SONORITY_BADINPUT_DIR") {
        let dir = PathBuf::from(dir);
        assert!(
            dir.join("cases.tsv").is_file(),
            "SONORITY_BADINPUT_DIR={} holds no cases.tsv: run shared/badinput/make.sh DIR, or \
             unset it to use the generated corpus",
            dir.display()
        );
        eprintln!(
            "bad-input corpus: {} (SONORITY_BADINPUT_DIR)",
            dir.display()
        );
        return (dir, None);
    }
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("corpus");
    let cases = badinput::generate(&dir)
        .unwrap_or_else(|e| panic!("generating the bad-input corpus in {}: {e}", dir.display()));
    eprintln!(
        "bad-input corpus: {} cases generated in {}",
        cases.len(),
        dir.display()
    );
    (dir, Some(tmp))
}

#[derive(Debug)]
struct Case {
    file: String,
    expect: String,
}

fn cases(dir: &Path) -> Vec<Case> {
    let text = std::fs::read_to_string(dir.join("cases.tsv")).unwrap();
    text.lines()
        .skip(1)
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let cols: Vec<&str> = l.split('\t').collect();
            assert_eq!(cols.len(), 3, "bad cases.tsv row {l:?}");
            Case {
                file: cols[0].to_string(),
                expect: cols[2].to_string(),
            }
        })
        .collect()
}

/// Whether `path`'s file name is the case's file. The non-UTF-8 row of cases.tsv is a
/// description, not the name: it matches by its prefix.
fn is_case(path: &Path, case: &Case) -> bool {
    let Some(name) = path.file_name() else {
        return false;
    };
    const BAD_UTF8: &str = "ok_bad_utf8_";
    if case.file.starts_with(BAD_UTF8) {
        name.as_bytes().starts_with(BAD_UTF8.as_bytes())
    } else {
        name == OsStr::new(&case.file)
    }
}

struct Run {
    report: IndexReport,
    to_analyse: usize,
}

/// Two indexing passes over `corpus` into `db`, in a thread, each bounded by [`RUN_LIMIT`].
fn index_twice(corpus: &Path, db: &Path) -> (Run, Run, Vec<TrackInfo>, Vec<FileError>, usize) {
    let (tx, rx) = mpsc::channel();
    let (corpus, db, dir) = (corpus.to_path_buf(), db.to_path_buf(), model_dir());
    std::thread::spawn(move || {
        let model = Model::load(&dir).unwrap();
        let mut opts = IndexOptions::default()
            .with_threads(2)
            .with_time_limit(Duration::from_secs(90));
        opts.batch = 8;
        let pass = |tx: &mpsc::Sender<_>| {
            let mut lib = Library::open(&db, &model).unwrap();
            let mut to_analyse = 0;
            let report = lib
                .index(&corpus, &opts, &StopFlag::new(), |p| to_analyse = p.total)
                .unwrap();
            let tracks = lib.store().tracks().unwrap();
            let errors = lib.store().errors().unwrap();
            let _ = tx.send(Some((Run { report, to_analyse }, tracks, errors)));
        };
        pass(&tx);
        pass(&tx);
        let _ = tx.send(None);
    });
    let t0 = Instant::now();
    let next = || {
        let left = RUN_LIMIT.saturating_sub(t0.elapsed());
        match rx.recv_timeout(left) {
            Ok(Some(r)) => r,
            Ok(None) => unreachable!(),
            Err(mpsc::RecvTimeoutError::Timeout) => {
                panic!("indexing the bad-input corpus did not finish within {RUN_LIMIT:?}: a hang")
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => panic!("the indexing thread panicked"),
        }
    };
    let (first, tracks1, _) = next();
    let (second, tracks, errors) = next();
    assert_eq!(
        tracks1.len(),
        tracks.len(),
        "the second pass changed the set of stored tracks"
    );
    let elapsed = t0.elapsed().as_secs_f64();
    eprintln!(
        "bad-input corpus: both passes in {elapsed:.1} s (first {:.1} s)",
        first.report.elapsed_s
    );
    let dim = Model::load(&model_dir()).unwrap().output_dim();
    (first, second, tracks, errors, dim)
}

#[test]
fn every_bad_input_case_gets_its_outcome() {
    let (dir, _tmp) = corpus();
    let cases = cases(&dir);
    assert!(cases.len() >= 40, "only {} cases in cases.tsv", cases.len());
    let db_dir = tempfile::tempdir().unwrap();
    let db = db_dir.path().join("library.db");
    let (first, second, tracks, errors, dim) = index_twice(&dir, &db);

    let model = Model::load(&model_dir()).unwrap();
    let store = sonority::store::SqliteStore::open_read_only(&db).unwrap();
    let stored = |c: &Case| tracks.iter().find(|t| is_case(&t.record.file.path, c));
    let failed = |c: &Case| errors.iter().find(|e| is_case(&e.path, c));
    let mut problems = Vec::new();
    for c in &cases {
        let (t, e) = (stored(c), failed(c));
        let ok = match c.expect.as_str() {
            "ok" => t.is_some() && e.is_none(),
            "error" => t.is_none() && e.is_some(),
            "ok_or_error" => t.is_some() != e.is_some(),
            "skip" => {
                let path = dir.join(&c.file);
                let reported = first.report.skipped.iter().any(|s| s.path == path);
                let audio_named = sonority::Library::is_audio_name(&path);
                t.is_none() && e.is_none() && (reported || !audio_named)
            }
            other => panic!("unknown expectation {other:?} for {}", c.file),
        };
        if !ok {
            problems.push(format!(
                "{} (expected {}): stored={} error={:?}",
                c.file,
                c.expect,
                t.is_some(),
                e.map(|e| &e.reason)
            ));
        }
        if let Some(t) = t {
            let v = store.get(model.name(), t.id).unwrap();
            match v {
                Some(v) if v.len() == dim && all_finite(&v) => {}
                other => problems.push(format!("{}: bad stored vector {other:?}", c.file)),
            }
            if store.analysis(t.id).unwrap().is_none() {
                problems.push(format!("{}: stored without its analysis", c.file));
            }
        }
        if let Some(e) = e {
            let name = e.path.file_name().unwrap().to_string_lossy().into_owned();
            if !e.reason.contains(&name) || e.reason.len() <= name.len() + 2 {
                problems.push(format!(
                    "{}: the reason does not name the file and say why: {:?}",
                    c.file, e.reason
                ));
            }
        }
    }
    // Nothing outside the cases was stored or failed; every stored value is finite.
    for t in &tracks {
        assert!(
            cases
                .iter()
                .any(|c| c.expect.starts_with("ok") && is_case(&t.record.file.path, c)),
            "stored a track that is not an ok case: {}",
            t.record.file.path.display()
        );
    }
    for e in &errors {
        assert!(
            cases
                .iter()
                .any(|c| c.expect != "skip" && is_case(&e.path, c)),
            "recorded an error for a file that is not a case: {} ({})",
            e.path.display(),
            e.reason
        );
    }
    let mut n = 0;
    store
        .for_each(model.name(), &mut |_, v| {
            assert!(all_finite(v), "a stored vector is not finite");
            n += 1;
            true
        })
        .unwrap();
    assert_eq!(n, tracks.len(), "every track has exactly one vector");
    assert!(
        problems.is_empty(),
        "{} case(s) went wrong:\n{}",
        problems.len(),
        problems.join("\n")
    );

    // The report agrees with the database.
    let r1 = &first.report;
    assert_eq!(r1.analysed, tracks.len());
    assert_eq!(r1.failed.len(), errors.len());
    assert!(!r1.stopped);
    // The second run analyses nothing new and retries exactly the failures.
    let r2 = &second.report;
    assert_eq!(r2.analysed, 0, "the second run analysed files again");
    assert_eq!(r2.unchanged, tracks.len());
    assert_eq!(second.to_analyse, errors.len());
    let p1: BTreeSet<&PathBuf> = r1.failed.iter().map(|(p, _)| p).collect();
    let p2: BTreeSet<&PathBuf> = r2.failed.iter().map(|(p, _)| p).collect();
    assert_eq!(
        p1, p2,
        "the second run retried other files than the failures"
    );
}
