//! Two `sonority serve --postgres` processes answer from one shared PostgreSQL catalogue
//! while a worker indexes into it: both see the new tracks without a restart. Starts a
//! throwaway cluster (`store/tests/pgcluster.rs`); runs with `--features postgres` (CI does).
#![cfg(feature = "postgres")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
// The servers are killed and waited for when their guard is dropped.
#![allow(clippy::zombie_processes)]

mod common;
#[path = "../../store/tests/pgcluster.rs"]
#[allow(dead_code)]
mod pgcluster;

use std::io::{BufRead, BufReader};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use sonority::distributed::{WorkerOptions, enqueue_folder, run_worker};
use sonority::store::{PgStore, RootMap};
use sonority::{Model, StopFlag};

use common::{make_library, sonority};

struct Server(Child, String);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn serve(home: &std::path::Path, conn: &str) -> Server {
    let mut child = sonority(home)
        .args(["serve", "--port", "0", "--postgres", conn])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let err = child.stderr.take().unwrap();
    let mut lines = BufReader::new(err).lines();
    let base = loop {
        let l = lines.next().expect("the server exited").unwrap();
        if let Some(a) = l.strip_prefix("listening on ") {
            break a.trim().to_owned();
        }
    };
    std::thread::spawn(move || for _ in lines {});
    Server(child, base)
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(30)))
        .build()
        .into()
}

fn post(s: &Server, path: &str, body: &Value) -> (u16, String) {
    let mut r = agent()
        .post(&format!("{}{path}", s.1))
        .header("Content-Type", "application/json")
        .send(&body.to_string())
        .unwrap();
    (r.status().as_u16(), r.body_mut().read_to_string().unwrap())
}

fn get(s: &Server, path: &str) -> u16 {
    agent()
        .get(&format!("{}{path}", s.1))
        .call()
        .unwrap()
        .status()
        .as_u16()
}

fn work(conn: &str, model: &Model, music: &std::path::Path) {
    let roots = RootMap::parse(&format!("music={}", music.display())).unwrap();
    let opts = WorkerOptions::default()
        .with_threads(2)
        .with_poll(Duration::from_millis(100));
    let r = run_worker(conn, model, &roots, &opts, &StopFlag::new(), |_| {}).unwrap();
    assert!(r.failed.is_empty(), "{:?}", r.failed);
}

#[test]
fn two_servers_answer_from_one_catalogue_while_a_worker_indexes() {
    let home = tempfile::tempdir().unwrap();
    let music = home.path().join("music");
    let songs = make_library(&music);
    let conn = pgcluster::cluster().fresh("serve");
    let model = Model::load_default().unwrap();
    let mut store = PgStore::connect(&conn).unwrap();
    enqueue_folder(&mut store, "music", &music, 2).unwrap();
    work(&conn, &model, &music);

    let a = serve(home.path(), &conn);
    let b = serve(home.path(), &conn);
    let seed = format!("music/{}", songs[0].rel);
    for s in [&a, &b] {
        let (st, body) = post(s, "/v1/similar", &json!({"tracks": [seed], "count": 5}));
        assert_eq!(st, 200, "{body}");
        let v: Value = serde_json::from_str(&body).unwrap();
        let names: Vec<&str> = v["tracks"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["name"].as_str().unwrap())
            .collect();
        assert_eq!(names.len(), 5);
        assert!(
            names.iter().all(|n| n.starts_with("music/") && *n != seed),
            "{names:?}"
        );
        // Bliss Mixer's route answers catalogue names too.
        let (st, body) = post(
            s,
            "/api/mix",
            &json!({"count": 3, "tracks": [seed], "genregroups": []}),
        );
        assert_eq!(st, 200);
        assert!(body.lines().count() >= 1 && body.lines().all(|l| l.starts_with("music/")));
        // Indexing is the workers' job here.
        assert_eq!(post(s, "/v1/index", &json!({})).0, 400);
        // An unknown track, a path outside the catalogue: 404.
        assert_eq!(get(s, "/v1/track?name=music/nope.wav"), 404);
        assert_eq!(get(s, "/v1/track?name=/etc/passwd"), 404);
    }

    // A new album arrives and a worker indexes it while both servers run.
    let extra = home.path().join("extra");
    let more = make_library(&extra);
    std::fs::create_dir_all(music.join("New Artist")).unwrap();
    std::fs::rename(extra.join(&more[4].rel), music.join("New Artist/new.wav")).unwrap();
    let new = "music/New%20Artist/new.wav";
    assert_eq!(get(&a, &format!("/v1/track?name={new}")), 404);
    enqueue_folder(&mut store, "music", &music, 2).unwrap();
    work(&conn, &model, &music);
    let t = Instant::now();
    for s in [&a, &b] {
        while get(s, &format!("/v1/track?name={new}")) != 200 {
            assert!(
                t.elapsed() < Duration::from_secs(20),
                "the new track never came"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}
