//! The work queue: exactly-once completion by many workers, leases, SIGKILLed workers.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use sonority_store::{
    AnalysedTrack, Analysis, Catalogue, Error, Job, ModelInfo, ModelVector, PgOptions, PgStore,
    QueuedFile, TrackRecord, VectorStore,
};

use crate::pgcluster::{cluster, pg_store};
use crate::testutil::vector_for;

const DIM: usize = 16;

/// The file index encoded in a job's relative path `d{i % 10}/{i}.flac`.
fn index_of(rel: &Path) -> i64 {
    rel.file_stem().unwrap().to_str().unwrap().parse().unwrap()
}

fn files(n: i64) -> Vec<QueuedFile> {
    (0..n)
        .map(|i| {
            QueuedFile::new(format!("d{}/{i}.flac", i % 10), 1000 + i as u64, i)
                .with_content_hash(sonority_store::content_hash_bytes(&i.to_le_bytes()))
        })
        .collect()
}

/// The analysis a worker produces for job `i`: deterministic, so the result can be checked.
fn analyse_and_complete(s: &mut PgStore, job: &Job) -> sonority_store::Result<()> {
    let i = index_of(&job.rel_path);
    let rec = TrackRecord::new(job.facts()).with_duration_s(1.0 + (i % 7) as f64);
    let v = vector_for(i, DIM);
    s.complete(
        job,
        &AnalysedTrack {
            track: &rec,
            analysis: &Analysis::default()
                .with_tempo(i as f64, 0.5)
                .with_descriptor("i", i as f64),
            embeddings: &[ModelVector::new("m", &v)],
        },
    )
    .map(|_| ())
}

/// Checks the catalogue against the queue from one snapshot: every done job has a
/// complete, bit-exact track and no track exists without its done job.
fn check_consistent(conn: &str) -> usize {
    let mut c =
        sonority_store::postgres::Client::connect(conn, sonority_store::postgres::NoTls).unwrap();
    let mut tx = c
        .build_transaction()
        .isolation_level(sonority_store::postgres::IsolationLevel::RepeatableRead)
        .start()
        .unwrap();
    let done: i64 = tx
        .query_one("SELECT count(*) FROM jobs WHERE state = 'done'", &[])
        .unwrap()
        .get(0);
    let rows = tx
        .query(
            "SELECT j.rel_path, a.tempo_bpm, d.value, e.vector, t.path, t.content_hash = j.content_hash
             FROM tracks t
             LEFT JOIN jobs j ON j.track_id = t.id AND j.state = 'done'
             LEFT JOIN analyses a ON a.track_id = t.id
             LEFT JOIN descriptors d ON d.track_id = t.id AND d.name = 'i'
             LEFT JOIN embeddings e ON e.track_id = t.id",
            &[],
        )
        .unwrap();
    assert_eq!(rows.len() as i64, done, "tracks and done jobs differ");
    for r in &rows {
        let rel: Vec<u8> = r
            .get::<_, Option<Vec<u8>>>(0)
            .expect("track without its done job");
        let i = index_of(Path::new(std::str::from_utf8(&rel).unwrap()));
        assert_eq!(
            r.get::<_, Option<f64>>(1),
            Some(i as f64),
            "analysis of {i}"
        );
        assert_eq!(
            r.get::<_, Option<f64>>(2),
            Some(i as f64),
            "descriptor of {i}"
        );
        let bytes: Vec<u8> = r
            .get::<_, Option<Vec<u8>>>(3)
            .expect("track without vector");
        let want: Vec<u8> = vector_for(i, DIM)
            .iter()
            .flat_map(|x| x.to_le_bytes())
            .collect();
        assert_eq!(bytes, want, "vector of {i}");
        let path: Vec<u8> = r.get(4);
        assert_eq!(
            path,
            format!("music/{}", std::str::from_utf8(&rel).unwrap()).into_bytes()
        );
        assert_eq!(r.get::<_, Option<bool>>(5), Some(true));
    }
    rows.len()
}

/// Logs every transition of a job to `done`, in the completing transaction itself, so
/// a job done twice shows up twice however the workers died.
fn install_done_audit(conn: &str) {
    let mut c =
        sonority_store::postgres::Client::connect(conn, sonority_store::postgres::NoTls).unwrap();
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

/// `(distinct jobs done, total done transitions)` from the audit table.
fn audit(conn: &str) -> (i64, i64) {
    let mut c =
        sonority_store::postgres::Client::connect(conn, sonority_store::postgres::NoTls).unwrap();
    let r = c
        .query_one(
            "SELECT count(DISTINCT job_id), count(*) FROM done_audit",
            &[],
        )
        .unwrap();
    (r.get(0), r.get(1))
}

#[test]
fn enqueue_claim_complete_fail_and_progress() {
    let mut s = pg_store("queue_basics");
    assert_eq!(s.enqueue("music", &files(3)).unwrap(), 3);
    assert_eq!(
        s.enqueue("music", &files(3)).unwrap(),
        0,
        "re-enqueue queued again"
    );
    let p = s.progress().unwrap();
    assert_eq!((p.pending, p.total(), p.is_finished()), (3, 3, false));

    let jobs = s.claim("w1", 2, Duration::from_secs(60)).unwrap();
    assert_eq!(jobs.len(), 2);
    assert!(jobs[0].id < jobs[1].id);
    assert_eq!((jobs[0].attempts, jobs[0].worker.as_str()), (1, "w1"));
    assert_eq!(jobs[0].rel_path, Path::new("d0/0.flac"));
    analyse_and_complete(&mut s, &jobs[0]).unwrap();
    s.fail(&jobs[1], "decode: bad frame").unwrap();
    let p = s.progress().unwrap();
    assert_eq!((p.pending, p.in_flight, p.done, p.failed), (1, 0, 1, 1));
    assert_eq!(p.audio_seconds_done, 1.0);
    assert_eq!(p.done_last_hour, 1);

    // The track is keyed by root name, not by any machine's mount point.
    let t = s
        .track_by_path(Path::new("music/d0/0.flac"))
        .unwrap()
        .unwrap();
    assert_eq!(s.get("m", t.id).unwrap(), Some(vector_for(0, DIM)));
    assert_eq!(s.errors().unwrap()[0].path, Path::new("music/d1/1.flac"));
    assert_eq!(s.failed_jobs().unwrap()[0].error, "decode: bad frame");
    // A finished job cannot be completed or failed again.
    assert!(matches!(
        analyse_and_complete(&mut s, &jobs[0]),
        Err(Error::LeaseLost { .. })
    ));
    assert!(matches!(
        s.fail(&jobs[0], "x"),
        Err(Error::LeaseLost { .. })
    ));

    // Re-enqueueing retries the failure and re-queues a done file that changed.
    let mut again = files(3);
    again[0].size_bytes += 1;
    assert_eq!(s.enqueue("music", &again).unwrap(), 2);
    let p = s.progress().unwrap();
    assert_eq!((p.pending, p.done, p.failed), (3, 0, 0));
    // Released jobs are claimable again without counting an attempt.
    let j = s.claim("w2", 1, Duration::from_secs(60)).unwrap().remove(0);
    s.release(&j).unwrap();
    let j2 = s.claim("w2", 1, Duration::from_secs(60)).unwrap().remove(0);
    assert_eq!((j2.id, j2.attempts), (j.id, 1));
    assert_ne!(j2.lease_token, j.lease_token);

    // Bad input writes nothing.
    for bad in ["../x.flac", "/abs.flac"] {
        let e = s
            .enqueue("music", &[QueuedFile::new(bad, 1, 1)])
            .unwrap_err();
        assert!(matches!(e, Error::InvalidRelativePath { .. }), "{e}");
    }
    let e = s.enqueue("my music", &files(1)).unwrap_err();
    assert!(matches!(e, Error::InvalidRootMap { .. }), "{e}");
    assert_eq!(s.progress().unwrap().total(), 3);
}

#[test]
fn expired_lease_is_recovered_and_the_old_owner_loses_it() {
    let mut s = pg_store("lease");
    s.enqueue("music", &files(1)).unwrap();
    let old = s
        .claim("w1", 1, Duration::from_millis(100))
        .unwrap()
        .remove(0);
    assert!(
        s.claim("w2", 1, Duration::from_secs(60))
            .unwrap()
            .is_empty()
    );
    s.renew(&old).unwrap();
    std::thread::sleep(Duration::from_millis(250));
    let p = s.progress().unwrap();
    assert_eq!((p.in_flight, p.expired), (0, 1));
    let new = s.claim("w2", 1, Duration::from_secs(60)).unwrap().remove(0);
    assert_eq!((new.id, new.attempts), (old.id, 2));
    for r in [
        analyse_and_complete(&mut s, &old),
        s.renew(&old),
        s.fail(&old, "x"),
        s.release(&old),
    ] {
        assert!(matches!(r, Err(Error::LeaseLost { job, .. }) if job == old.id));
    }
    assert_eq!(s.track_count().unwrap(), 0, "the lost lease wrote a track");
    analyse_and_complete(&mut s, &new).unwrap();
    assert_eq!(s.progress().unwrap().done, 1);
}

#[test]
fn job_that_keeps_killing_workers_fails_after_max_attempts() {
    let c = cluster();
    let conn = c.fresh("poison");
    let mut s = PgStore::connect_with(&conn, &PgOptions::default().with_max_attempts(2)).unwrap();
    s.enqueue("music", &files(1)).unwrap();
    for _ in 0..2 {
        assert_eq!(s.claim("w", 1, Duration::from_millis(20)).unwrap().len(), 1);
        std::thread::sleep(Duration::from_millis(60));
    }
    assert!(s.claim("w", 1, Duration::from_secs(1)).unwrap().is_empty());
    let failed = s.failed_jobs().unwrap();
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0].attempts, 2);
    assert!(
        failed[0].error.contains("lease expired"),
        "{}",
        failed[0].error
    );
}

#[test]
fn worker_with_another_model_is_refused_and_writes_nothing() {
    let mut s = pg_store("model_mismatch");
    s.register_model(&ModelInfo::new("m", DIM).with_weights_hash("aaaa"))
        .unwrap();
    s.enqueue("music", &files(1)).unwrap();
    let e = s
        .register_model(&ModelInfo::new("m", DIM).with_weights_hash("bbbb"))
        .unwrap_err();
    assert!(
        matches!(
            e,
            Error::ModelConflict {
                field: "weights_hash",
                ..
            }
        ),
        "{e}"
    );
    let job = s.claim("w", 1, Duration::from_secs(60)).unwrap().remove(0);
    let rec = TrackRecord::new(job.facts());
    let e = s
        .complete(
            &job,
            &AnalysedTrack {
                track: &rec,
                analysis: &Analysis::default(),
                embeddings: &[ModelVector::new("m", &[0.5; DIM - 1])],
            },
        )
        .unwrap_err();
    assert!(matches!(e, Error::DimensionMismatch { .. }), "{e}");
    let p = s.progress().unwrap();
    assert_eq!(
        (p.in_flight, p.done),
        (1, 0),
        "the refused job changed state"
    );
    assert_eq!(s.track_count().unwrap(), 0);
    assert_eq!(s.models().unwrap()[0].weights_hash.as_deref(), Some("aaaa"));
    // The job keeps its lease: it can still be completed properly.
    analyse_and_complete(&mut s, &job).unwrap();
}

#[test]
fn many_workers_do_every_job_exactly_once() {
    const N: i64 = 1_200;
    let c = cluster();
    let conn = c.fresh("exactly_once");
    let mut s = PgStore::connect(&conn).unwrap();
    assert_eq!(s.enqueue("music", &files(N)).unwrap(), N as usize);
    install_done_audit(&conn);
    let seen = Arc::new(Mutex::new(HashMap::<i64, usize>::new()));
    let workers: Vec<_> = (0..4)
        .map(|w| {
            let (conn, seen) = (conn.clone(), Arc::clone(&seen));
            std::thread::spawn(move || {
                let mut s = PgStore::connect(&conn).unwrap();
                let name = format!("thread-{w}");
                loop {
                    let jobs = s.claim(&name, 8, Duration::from_secs(60)).unwrap();
                    if jobs.is_empty() {
                        break;
                    }
                    for job in &jobs {
                        analyse_and_complete(&mut s, job).unwrap();
                        *seen.lock().unwrap().entry(job.id).or_default() += 1;
                    }
                }
            })
        })
        .collect();
    for w in workers {
        w.join().unwrap();
    }
    let seen = seen.lock().unwrap();
    assert_eq!(seen.len(), N as usize);
    assert!(seen.values().all(|&n| n == 1));
    assert_eq!(audit(&conn), (N, N));
    assert_eq!(check_consistent(&conn), N as usize);
    let p = s.progress().unwrap();
    assert!(p.is_finished());
    assert_eq!(p.done, N as u64);
    let m = s.load_matrix("m").unwrap();
    assert_eq!(m.len(), N as usize);
}

// --- SIGKILL ---

const WORKER_ENV: &str = "SONORITY_STORE_PG_WORKER";

/// A worker process: claims and completes jobs until the queue is finished.
#[test]
#[ignore = "child process of sigkilled_workers_lose_nothing"]
fn queue_worker_child() {
    let Ok(conn) = std::env::var(WORKER_ENV) else {
        return;
    };
    let name = format!("pid-{}", std::process::id());
    let mut s = PgStore::connect(&conn).unwrap();
    let mut out = std::io::stdout().lock();
    loop {
        let jobs = s.claim(&name, 4, Duration::from_millis(600)).unwrap();
        if jobs.is_empty() {
            if s.progress().unwrap().is_finished() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
            continue;
        }
        writeln!(out, "claimed {}", jobs.len()).unwrap();
        out.flush().unwrap();
        for job in &jobs {
            std::thread::sleep(Duration::from_millis(3)); // "analysis"
            match analyse_and_complete(&mut s, job) {
                Ok(()) => {}
                // Slow enough that the lease expired and another worker took it: fine.
                Err(Error::LeaseLost { .. }) => {}
                Err(e) => panic!("{e}"),
            }
        }
    }
}

fn spawn_worker(conn: &str) -> Child {
    Command::new(std::env::current_exe().unwrap())
        .args([
            "queue::queue_worker_child",
            "--exact",
            "--ignored",
            "--nocapture",
            "--test-threads",
            "1",
        ])
        .env(WORKER_ENV, conn)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

/// Waits until `child` reports a claim (it then holds leases), or a timeout.
fn wait_for_claim(child: &mut Child) -> bool {
    let Some(out) = child.stdout.take() else {
        return false;
    };
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(out).lines() {
            let Ok(line) = line else { return };
            if line.starts_with("claimed") && tx.send(()).is_err() {
                return;
            }
        }
    });
    rx.recv_timeout(Duration::from_secs(5)).is_ok()
}

#[test]
fn sigkilled_workers_lose_nothing() {
    const N: i64 = 1_000;
    let c = cluster();
    let conn = c.fresh("sigkill");
    let mut s =
        PgStore::connect_with(&conn, &PgOptions::default().with_max_attempts(1_000)).unwrap();
    s.enqueue("music", &files(N)).unwrap();
    install_done_audit(&conn);
    let started = Instant::now();
    let mut workers: Vec<Child> = (0..4).map(|_| spawn_worker(&conn)).collect();
    let mut kills_holding_leases = 0;
    for round in 0..12u64 {
        if s.progress().unwrap().is_finished() {
            break;
        }
        let victim = (round as usize * 7) % workers.len();
        let holds = wait_for_claim(&mut workers[victim]);
        // A varied delay after the claim: mid-analysis, mid-commit or between jobs.
        std::thread::sleep(Duration::from_micros(round * 2_731 % 9_000));
        workers[victim].kill().unwrap(); // SIGKILL
        workers[victim].wait().unwrap();
        if holds {
            kills_holding_leases += 1;
        }
        // Others go on; the catalogue is consistent at every moment.
        check_consistent(&conn);
        workers[victim] = spawn_worker(&conn);
    }
    for w in &mut workers {
        let status = w.wait().unwrap();
        assert!(status.success(), "a worker failed");
    }
    let (distinct, total) = audit(&conn);
    assert_eq!((distinct, total), (N, N), "a job was lost or done twice");
    assert_eq!(check_consistent(&conn), N as usize);
    let p = s.progress().unwrap();
    assert_eq!(
        (p.done, p.pending, p.in_flight, p.expired, p.failed),
        (N as u64, 0, 0, 0, 0),
        "a lease was not recovered"
    );
    assert!(
        kills_holding_leases >= 3,
        "{kills_holding_leases} kills held leases"
    );
    let retried: i64 =
        sonority_store::postgres::Client::connect(&conn, sonority_store::postgres::NoTls)
            .unwrap()
            .query_one("SELECT count(*) FROM jobs WHERE attempts > 1", &[])
            .unwrap()
            .get(0);
    assert!(
        retried > 0,
        "no lease was ever recovered from a killed worker"
    );
    eprintln!(
        "sigkill queue: 12 kills ({kills_holding_leases} holding leases), {retried} jobs re-claimed, {:.1} s",
        started.elapsed().as_secs_f64()
    );
}
