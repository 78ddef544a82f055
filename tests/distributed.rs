//! Several worker processes index a generated library through the PostgreSQL work queue:
//! every job is done exactly once (one worker is SIGKILLed mid-run), and the stored vectors
//! are bit-identical to a single-process SQLite index of the same files.
//!
//! Starts a throwaway PostgreSQL cluster (see `store/tests/pgcluster.rs`, shared with the store's tests); a missing server
//! fails the test. The model is `$SONORITY_TEST_MODEL` if set, else the shipped default.
//!
//! A model with a learned final stage, indexed over PostgreSQL, stores its fused vectors too,
//! and its recommendations from the shared catalogue are explained from them, as the SQLite
//! library explains them.
#![cfg(all(feature = "postgres", feature = "full"))]
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "../store/tests/pgcluster.rs"]
#[allow(dead_code)]
mod pgcluster;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use sonority::StopFlag;
use sonority::autoencoders::{ConvAeConfig, ConvAutoencoder};
use sonority::distributed::{
    PgCatalogueIndex, WorkerOptions, anchor_key, enqueue_folder, model_info, queue_status,
    run_worker,
};
use sonority::model::FinalStage;
use sonority::store::postgres::{Client, NoTls};
use sonority::store::{Catalogue, PgStore, RootMap, SqliteStore, VectorStore};
use sonority::{IndexOptions, Library, Model};

use pgcluster::cluster;

const N_FILES: usize = 1000;
/// The files and the three tracks of a CUE sheet (`write_sheet`).
const N_TRACKS: usize = N_FILES + 3;
const WORKERS: usize = 3;
const WORKER_ENV: &str = "SONORITY_DIST_WORKER";
const ROOTS_ENV: &str = "SONORITY_DIST_ROOTS";

fn model() -> Model {
    match std::env::var_os("SONORITY_TEST_MODEL") {
        Some(d) => Model::load(Path::new(&d)).unwrap(),
        None => Model::load_default().unwrap(),
    }
}

/// Writes `n` distinct 0.3 s WAVs (two partials, pitch and balance set by the index) under
/// `dir/dNN/`, starting at index `from`.
fn write_wavs(dir: &Path, from: usize, n: usize, sample_rate: u32) {
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let len = (f64::from(sample_rate) * 0.3) as usize;
    for i in from..from + n {
        let sub = dir.join(format!("d{:02}", i % 20));
        std::fs::create_dir_all(&sub).unwrap();
        let f0 = 110.0 * 2f64.powf((i % 48) as f64 / 12.0);
        let mix = 0.2 + 0.6 * ((i / 48) % 21) as f64 / 20.0;
        let mut w = hound::WavWriter::create(sub.join(format!("t{i:04}.wav")), spec).unwrap();
        for s in 0..len {
            let t = s as f64 / f64::from(sample_rate);
            let x = (1.0 - mix) * (std::f64::consts::TAU * f0 * t).sin()
                + mix * (std::f64::consts::TAU * 2.0 * f0 * t).sin();
            w.write_sample((x * 12_000.0) as i16).unwrap();
        }
        w.finalize().unwrap();
    }
}

/// A 1.2 s WAV of three 0.4 s notes under `dir/live/`, cut by a CUE sheet into three tracks
/// with titles and a genre.
fn write_sheet(dir: &Path, sample_rate: u32) {
    let sub = dir.join("live");
    std::fs::create_dir_all(&sub).unwrap();
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut w = hound::WavWriter::create(sub.join("live.wav"), spec).unwrap();
    let len = (f64::from(sample_rate) * 1.2) as usize;
    for s in 0..len {
        let t = s as f64 / f64::from(sample_rate);
        let f0 = [180.0, 520.0, 1400.0][((t / 0.4) as usize).min(2)];
        w.write_sample(((std::f64::consts::TAU * f0 * t).sin() * 12_000.0) as i16)
            .unwrap();
    }
    w.finalize().unwrap();
    std::fs::write(
        sub.join("live.cue"),
        "REM GENRE Folk\nTITLE \"Live\"\nFILE \"live.wav\" WAVE\n TRACK 01 AUDIO\n  TITLE \"Low\"\n  INDEX 01 00:00:00\n TRACK 02 AUDIO\n  TITLE \"Mid\"\n  INDEX 01 00:00:30\n TRACK 03 AUDIO\n  TITLE \"High\"\n  INDEX 01 00:00:60\n",
    )
    .unwrap();
}

/// Logs every transition of a job to `done` in the completing transaction, so a job done
/// twice shows up twice whichever worker did it.
fn install_done_audit(conn: &str) {
    let mut c = Client::connect(conn, NoTls).unwrap();
    c.batch_execute(
        "CREATE TABLE done_audit (job_id bigint NOT NULL, worker text);
         CREATE FUNCTION audit_done() RETURNS trigger LANGUAGE plpgsql AS $$
         BEGIN
            IF NEW.state = 'done' THEN
                INSERT INTO done_audit VALUES (NEW.id, OLD.lease_owner);
            END IF;
            RETURN NULL;
         END $$;
         CREATE TRIGGER jobs_audit AFTER UPDATE ON jobs FOR EACH ROW EXECUTE FUNCTION audit_done();",
    )
    .unwrap();
}

/// `(distinct jobs done, done transitions, distinct worker processes)`.
fn audit(conn: &str) -> (i64, i64, i64) {
    let mut c = Client::connect(conn, NoTls).unwrap();
    let r = c
        .query_one(
            "SELECT count(DISTINCT job_id), count(*), count(DISTINCT split_part(worker, '/', 1))
             FROM done_audit",
            &[],
        )
        .unwrap();
    (r.get(0), r.get(1), r.get(2))
}

fn worker_opts(name: &str) -> WorkerOptions {
    WorkerOptions::default()
        .with_threads(1)
        .with_lease(Duration::from_secs(2))
        .with_poll(Duration::from_millis(100))
        .with_name(name)
}

/// The child process: one single-threaded worker until the queue is finished.
#[test]
#[ignore = "child process of workers_index_like_a_single_process"]
fn distributed_worker_child() {
    let Ok(conn) = std::env::var(WORKER_ENV) else {
        return;
    };
    let roots = RootMap::parse(&std::env::var(ROOTS_ENV).unwrap()).unwrap();
    let model = model();
    let name = format!("child{}", std::process::id());
    eprintln!(
        "child fingerprint {:?}",
        model_info(&model).unwrap().weights_hash
    );
    let r = run_worker(
        &conn,
        &model,
        &roots,
        &worker_opts(&name),
        &StopFlag::new(),
        |_| {},
    )
    .unwrap();
    assert!(r.failed.is_empty(), "{:?}", r.failed);
}

fn spawn_worker(conn: &str, roots: &str) -> Child {
    Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "distributed_worker_child",
            "--ignored",
            "--nocapture",
        ])
        .env(WORKER_ENV, conn)
        .env(ROOTS_ENV, roots)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .spawn()
        .unwrap()
}

/// Relative path (`dNN/tIIII.wav`) -> vector, from the SQLite reference index.
fn sqlite_vectors(store: &SqliteStore, model: &str, music: &Path) -> HashMap<PathBuf, Vec<f32>> {
    let m = store.load_matrix(model).unwrap();
    let paths: HashMap<_, _> = store
        .tracks()
        .unwrap()
        .into_iter()
        .map(|t| (t.id, t.record.file.path))
        .collect();
    m.ids
        .iter()
        .enumerate()
        .map(|(i, id)| {
            let rel = paths[id].strip_prefix(music).unwrap().to_path_buf();
            (rel, m.row(i).unwrap().to_vec())
        })
        .collect()
}

fn bits(v: &[f32]) -> Vec<u32> {
    v.iter().map(|x| x.to_bits()).collect()
}

#[test]
fn workers_index_like_a_single_process() {
    let t0 = Instant::now();
    let model = model();
    let tmp = tempfile::tempdir().unwrap();
    let music = tmp.path().join("music");
    write_wavs(&music, 0, N_FILES, model.header.sample_rate);
    write_sheet(&music, model.header.sample_rate);
    let music = std::fs::canonicalize(&music).unwrap();
    let roots = format!("music={}", music.display());

    // The reference: one process, SQLite.
    let mut lib = Library::open(&tmp.path().join("ref.sqlite"), &model).unwrap();
    let report = lib
        .index(
            &music,
            &IndexOptions::default().with_threads(2),
            &StopFlag::new(),
            |_| {},
        )
        .unwrap();
    assert_eq!((report.analysed, report.failed.len()), (N_TRACKS, 0));
    let reference = sqlite_vectors(lib.store(), model.name(), &music);
    assert_eq!(reference.len(), N_TRACKS);
    eprintln!("sqlite reference: {:.1} s", t0.elapsed().as_secs_f64());

    // The queue: enqueue once; enqueueing again queues nothing.
    let conn = cluster().fresh("distributed");
    let mut store = PgStore::connect(&conn).unwrap();
    install_done_audit(&conn);
    eprintln!(
        "parent fingerprint {:?}",
        model_info(&model).unwrap().weights_hash
    );
    let e = enqueue_folder(&mut store, "music", &music, 2).unwrap();
    assert_eq!((e.found, e.queued), (N_TRACKS, N_TRACKS));
    assert_eq!(
        enqueue_folder(&mut store, "music", &music, 2)
            .unwrap()
            .queued,
        0
    );
    assert_eq!(queue_status(&store).unwrap().pending, N_TRACKS as u64);

    // Several worker processes; one is SIGKILLed once it is under way.
    let t1 = Instant::now();
    let mut children: Vec<Child> = (0..WORKERS).map(|_| spawn_worker(&conn, &roots)).collect();
    while queue_status(&store).unwrap().done < 50 {
        assert!(
            t1.elapsed() < Duration::from_secs(120),
            "workers made no progress"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let mut victim = children.remove(0);
    victim.kill().unwrap();
    victim.wait().unwrap();
    for mut c in children {
        assert!(c.wait().unwrap().success(), "a worker failed");
    }
    eprintln!(
        "{WORKERS} worker processes (one killed): {:.1} s",
        t1.elapsed().as_secs_f64()
    );

    let p = queue_status(&store).unwrap();
    assert_eq!(
        (p.done, p.failed, p.pending, p.in_flight, p.expired),
        (N_TRACKS as u64, 0, 0, 0, 0)
    );
    let (distinct, transitions, workers) = audit(&conn);
    assert_eq!((distinct, transitions), (N_TRACKS as i64, N_TRACKS as i64));
    assert!(workers >= 2, "only {workers} worker processes did jobs");
    assert_eq!(store.track_count().unwrap(), N_TRACKS);
    // The sheet's tracks, with their tags, in the shared catalogue (its fuller tags columns).
    let mid = store
        .track_by_path(Path::new("music/live/live.cue/track0002"))
        .unwrap()
        .expect("the sheet's second track");
    assert_eq!(
        (
            mid.record.tags.title.as_deref(),
            mid.record.tags.album.as_deref(),
            mid.record.tags.genre.as_deref(),
            mid.record.tags.track_number
        ),
        (Some("Mid"), Some("Live"), Some("Folk"), Some(2))
    );
    assert!((mid.record.duration_s.unwrap() - 0.4).abs() < 1e-3);

    // Bit-identical vectors, keyed by root name and relative path.
    let m = store.load_matrix(model.name()).unwrap();
    assert_eq!(m.len(), N_TRACKS);
    let paths: HashMap<_, _> = store
        .tracks()
        .unwrap()
        .into_iter()
        .map(|t| (t.id, t.record.file.path))
        .collect();
    for (i, id) in m.ids.iter().enumerate() {
        let rel = paths[id].strip_prefix("music").unwrap();
        assert_eq!(
            bits(m.row(i).unwrap()),
            bits(&reference[rel]),
            "vector of {}",
            rel.display()
        );
    }

    // Ranking from the shared catalogue gives what the SQLite library gives.
    let anchor = music.join("d07/t0007.wav");
    let want = lib
        .recommend(std::slice::from_ref(&anchor), 10, false)
        .unwrap();
    let rootmap = RootMap::parse(&roots).unwrap();
    let mut shared =
        PgCatalogueIndex::load(PgStore::connect(&conn).unwrap(), model.name()).unwrap();
    let index = shared.index();
    let resolved = sonority::Analyzer::new(&model)
        .resolve_anchors(index, std::slice::from_ref(&anchor), &|a| {
            anchor_key(index, &rootmap, a)
        })
        .unwrap();
    let got = index
        .rank(&resolved, 10, false, model.layout().as_deref())
        .unwrap();
    let key = |p: &Path| p.strip_prefix(&music).unwrap_or(p).to_path_buf();
    let names =
        |r: &[sonority::Recommendation], f: &dyn Fn(&Path) -> PathBuf| -> Vec<(PathBuf, u32)> {
            r.iter()
                .map(|x| (f(&x.track.record.file.path), x.score.to_bits()))
                .collect()
        };
    let key_pg = |p: &Path| p.strip_prefix("music").unwrap_or(p).to_path_buf();
    assert_eq!(names(&got, &key_pg), names(&want, &key));
    assert_eq!(got.len(), 10);

    // New files: enqueued, indexed by an in-process worker, picked up by an incremental refresh.
    write_wavs(&music, N_FILES, 5, model.header.sample_rate);
    assert_eq!(
        enqueue_folder(&mut store, "music", &music, 2)
            .unwrap()
            .queued,
        5
    );
    let r = run_worker(
        &conn,
        &model,
        &rootmap,
        &worker_opts("inproc").with_threads(2),
        &StopFlag::new(),
        |_| {},
    )
    .unwrap();
    assert_eq!((r.done, r.failed.len(), r.lost), (5, 0, 0));
    assert_eq!(shared.refresh().unwrap(), (5, 0));
    assert_eq!(shared.index().len(), N_TRACKS + 5);
    assert!(
        shared
            .index()
            .id_of_path(Path::new("music/d00/t1000.wav"))
            .is_some()
    );
    assert_eq!(shared.refresh().unwrap(), (0, 0));
    eprintln!("total: {:.1} s", t0.elapsed().as_secs_f64());
}

#[test]
fn worker_with_other_weights_is_refused_and_claims_nothing() {
    let model = model();
    let tmp = tempfile::tempdir().unwrap();
    let music = tmp.path().join("music");
    write_wavs(&music, 0, 2, model.header.sample_rate);
    let conn = cluster().fresh("other_weights");
    let mut store = PgStore::connect(&conn).unwrap();
    let mine = model_info(&model).unwrap();
    assert_eq!(
        mine.weights_hash,
        model_info(&model).unwrap().weights_hash,
        "the fingerprint is not deterministic"
    );
    store
        .register_model(&mine.clone().with_weights_hash("0123456789abcdef"))
        .unwrap();
    assert_eq!(
        enqueue_folder(&mut store, "music", &music, 1)
            .unwrap()
            .queued,
        2
    );
    let roots = RootMap::parse(&format!("music={}", music.display())).unwrap();
    let e = run_worker(
        &conn,
        &model,
        &roots,
        &worker_opts("other"),
        &StopFlag::new(),
        |_| {},
    )
    .unwrap_err();
    assert!(
        matches!(
            e,
            sonority::Error::Store(sonority::store::Error::ModelConflict { .. })
        ),
        "{e}"
    );
    let p = queue_status(&store).unwrap();
    assert_eq!((p.pending, p.done, p.in_flight), (2, 0, 0));
    assert_eq!(store.track_count().unwrap(), 0);
}

/// The shipped model with an untrained (seeded) dense autoencoder over its fused vector as a
/// learned final stage: what indexing and explaining need, without training anything.
fn learned_model() -> Model {
    let m = Model::load_default().unwrap();
    let cfg = ConvAeConfig::fused_dense(m.fusion.dim(), 8);
    let mut m = m
        .with_vector_stage(ConvAutoencoder::seeded(&cfg, 7).unwrap().frozen().unwrap())
        .unwrap();
    assert_eq!(m.header.final_stage, FinalStage::VectorAutoencoder);
    m.header.name = "learned-stage".into();
    assert!(
        m.layout().is_none(),
        "a learned stage has no exact per-block split"
    );
    m
}

#[test]
fn learned_stage_recommendations_over_postgres_are_explained() {
    let model = learned_model();
    let fused = format!("{}+fused", model.name());
    let blocks: Vec<String> = model
        .fusion
        .layout()
        .blocks
        .iter()
        .map(|b| b.name.clone())
        .collect();
    let tmp = tempfile::tempdir().unwrap();
    let music = tmp.path().join("music");
    const N: usize = 8;
    write_wavs(&music, 0, N, model.header.sample_rate);
    let music = std::fs::canonicalize(&music).unwrap();
    let roots = RootMap::parse(&format!("music={}", music.display())).unwrap();

    // Indexed by a worker: the final and the fused vectors stored, the fused ones under the
    // model's fingerprint.
    let conn = cluster().fresh("learned_stage");
    let mut store = PgStore::connect(&conn).unwrap();
    assert_eq!(
        enqueue_folder(&mut store, "music", &music, 2)
            .unwrap()
            .queued,
        N
    );
    let r = run_worker(
        &conn,
        &model,
        &roots,
        &worker_opts("learned").with_threads(2),
        &StopFlag::new(),
        |_| {},
    )
    .unwrap();
    assert_eq!((r.done, r.failed.len()), (N, 0), "{:?}", r.failed);
    assert_eq!(store.count(model.name()).unwrap(), N);
    assert_eq!(store.count(&fused).unwrap(), N);
    assert_eq!(store.dim(&fused).unwrap(), Some(model.fusion.dim()));
    let mine = model_info(&model).unwrap();
    let registered = store.models().unwrap();
    let f = registered.iter().find(|m| m.name == fused).unwrap();
    assert_eq!(f.weights_hash, mine.weights_hash);

    // The reference: the same files in a SQLite library.
    let mut lib = Library::open(&tmp.path().join("ref.sqlite"), &model).unwrap();
    let report = lib
        .index(
            &music,
            &IndexOptions::default().with_threads(2),
            &StopFlag::new(),
            |_| {},
        )
        .unwrap();
    assert_eq!((report.analysed, report.failed.len()), (N, 0));

    // Recommendations from the shared catalogue carry per-block explanations: one figure per
    // block of the model's fusion layout, finite, largest first, and the SQLite library's.
    let catalogue = PgCatalogueIndex::load(PgStore::connect(&conn).unwrap(), model.name()).unwrap();
    let outside = tmp.path().join("outside");
    write_wavs(&outside, N, 1, model.header.sample_rate);
    let anchors = [
        vec![music.join("d03/t0003.wav")],
        vec![music.join("d01/t0001.wav"), music.join("d05/t0005.wav")],
        vec![outside.join(format!("d{:02}/t{N:04}.wav", N % 20))],
    ];
    for a in &anchors {
        let got = catalogue.recommend(&model, &roots, a, 5, false).unwrap();
        let want = lib.recommend(a, 5, false).unwrap();
        assert_eq!(got.len(), want.len());
        assert!(!got.is_empty());
        for (g, w) in got.iter().zip(&want) {
            let name = g.track.record.file.path.strip_prefix("music").unwrap();
            assert_eq!(name, w.track.record.file.path.strip_prefix(&music).unwrap());
            assert_eq!(g.score.to_bits(), w.score.to_bits());
            assert_eq!(g.explanation.len(), blocks.len(), "{:?}", g.explanation);
            for (block, c) in &g.explanation {
                assert!(
                    blocks.contains(block),
                    "{block} is not a block of the layout"
                );
                assert!(c.is_finite(), "{block}: {c}");
            }
            assert!(g.explanation.windows(2).all(|w| w[0].1 >= w[1].1));
            assert_eq!(g.explanation, w.explanation, "{}", name.display());
        }
    }

    // Asked with another model, the index refuses instead of ranking another model's vectors.
    assert!(matches!(
        catalogue.recommend(
            &Model::load_default().unwrap(),
            &roots,
            &anchors[0],
            5,
            false
        ),
        Err(sonority::Error::Query { .. })
    ));
}
