//! The built `sonority` binary on a generated, tagged library: `index`, `similar --json`,
//! `playlist`, `path`, `albums`, `status`, folders kept apart in one library file, the
//! configuration file, and one clear line for every bad input.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::HashSet;
use std::path::Path;

use common::{assert_one_line_error, canon, make_library, run, sonority, stderr, stdout};
use serde_json::Value;

fn json(o: &std::process::Output) -> Value {
    assert!(o.status.success(), "failed: {}", stderr(o));
    serde_json::from_str(stdout(o).trim()).unwrap_or_else(|e| panic!("{e}: {}", stdout(o)))
}

/// The documented `Track` object.
fn check_track(v: &Value) {
    let o = v.as_object().unwrap();
    for k in [
        "position",
        "path",
        "title",
        "artist",
        "album_artist",
        "album",
        "disc",
        "track",
        "genre",
        "year",
        "duration_s",
        "score",
    ] {
        assert!(o.contains_key(k), "{k} missing in {v}");
    }
    let score = o["score"].as_f64().unwrap();
    assert!((-1.0..=1.0).contains(&score), "{score}");
}

#[test]
fn index_similar_playlist_path_albums_and_status_on_a_tagged_library() {
    let home = tempfile::tempdir().unwrap();
    let music = home.path().join("music");
    let other = home.path().join("other");
    let songs = make_library(&music);
    make_library(&other);
    // An exact copy of the first song in the other folder (lofty's tags differ run to run).
    std::fs::copy(music.join(&songs[0].rel), other.join(&songs[0].rel)).unwrap();

    // index: two folders into one library file.
    let o = run({
        let mut c = sonority(home.path());
        c.args(["index", "--json"]).arg(&music).arg(&other);
        c
    });
    let doc = json(&o);
    let folders = doc["folders"].as_array().unwrap();
    assert_eq!(folders.len(), 2);
    for f in folders {
        assert_eq!(f["analysed"], 12, "{f}");
        assert_eq!(f["failed"].as_array().unwrap().len(), 0);
    }

    // A second run analyses nothing.
    let o = run({
        let mut c = sonority(home.path());
        c.args(["index", "--json"]).arg(&music);
        c
    });
    assert_eq!(json(&o)["folders"][0]["unchanged"], 12);

    // similar --json, answering from one folder only.
    let anchor = music.join(&songs[0].rel);
    let o = run({
        let mut c = sonority(home.path());
        c.args(["similar", "--json", "-k", "5", "--music"])
            .arg(&music)
            .arg(&anchor);
        c
    });
    let doc = json(&o);
    assert_eq!(doc["command"], "similar");
    let tracks = doc["tracks"].as_array().unwrap();
    assert_eq!(tracks.len(), 5);
    let music_c = canon(&music);
    for t in tracks {
        check_track(t);
        let p = Path::new(t["path"].as_str().unwrap());
        assert!(p.starts_with(&music_c), "{p:?} outside {music_c:?}");
        assert_ne!(p, canon(&anchor), "the anchor itself was recommended");
    }
    // The closest is of the anchor's own album or its twin (same sound, same artist).
    assert_eq!(tracks[0]["artist"], "Ann Example", "{}", tracks[0]);
    // Scores are in order.
    let scores: Vec<f64> = tracks
        .iter()
        .map(|t| t["score"].as_f64().unwrap())
        .collect();
    assert!(scores.windows(2).all(|w| w[0] >= w[1]), "{scores:?}");

    // Without --music, the whole library: the other folder's copies come back too.
    let o = run({
        let mut c = sonority(home.path());
        c.args(["similar", "--json", "-k", "23"]).arg(&anchor);
        c
    });
    let all: Vec<String> = json(&o)["tracks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["path"].as_str().unwrap().to_owned())
        .collect();
    assert!(all.iter().any(|p| Path::new(p).starts_with(canon(&other))));
    // An exact copy of the anchor (same content, other folder) is never recommended.
    assert!(!all.iter().any(|p| p.ends_with(&songs[0].rel)), "{all:?}");

    // playlist with rules: at most one per artist, no Christmas.
    let o = run({
        let mut c = sonority(home.path());
        c.args([
            "playlist",
            "--json",
            "-n",
            "10",
            "--max-per-artist",
            "1",
            "--not-genre",
            "christmas",
            "--music",
        ])
        .arg(&music)
        .arg(&anchor);
        c
    });
    let doc = json(&o);
    let tracks = doc["tracks"].as_array().unwrap();
    let artists: Vec<&str> = tracks
        .iter()
        .map(|t| t["artist"].as_str().unwrap())
        .collect();
    let unique: HashSet<&str> = artists.iter().copied().collect();
    assert_eq!(artists.len(), unique.len(), "{artists:?}");
    assert!(tracks.iter().all(|t| t["genre"] != "Christmas"));
    assert!(!artists.is_empty());

    // path: both ends, n tracks, the ends first and last.
    let to = music.join(&songs[11].rel);
    let o = run({
        let mut c = sonority(home.path());
        c.args(["path", "--json", "-n", "4", "--music"])
            .arg(&music)
            .arg(&anchor)
            .arg(&to);
        c
    });
    let doc = json(&o);
    let tracks = doc["tracks"].as_array().unwrap();
    assert_eq!(tracks.len(), 4);
    assert_eq!(
        tracks[0]["path"].as_str().unwrap(),
        canon(&anchor).to_str().unwrap()
    );
    assert_eq!(
        tracks[3]["path"].as_str().unwrap(),
        canon(&to).to_str().unwrap()
    );

    // albums: the three other albums of the folder, each whole.
    let o = run({
        let mut c = sonority(home.path());
        c.args(["albums", "--json", "-k", "3", "--music"])
            .arg(&music)
            .arg(&anchor);
        c
    });
    let doc = json(&o);
    let albums = doc["albums"].as_array().unwrap();
    assert_eq!(albums.len(), 3);
    assert_eq!(albums[0]["name"], "Second Light", "{}", albums[0]);
    for a in albums {
        assert_eq!(a["tracks"].as_array().unwrap().len(), 3);
    }

    // status, whole library and one folder.
    let o = run({
        let mut c = sonority(home.path());
        c.args(["status", "--json"]);
        c
    });
    let st = json(&o);
    assert_eq!(st["tracks"], 24);
    // Albums are by tag: the two folders hold the same four.
    assert_eq!(st["albums"], 4);
    assert_eq!(st["folders"].as_array().unwrap().len(), 2);
    assert!((st["hours"].as_f64().unwrap() - 24.0 * 4.0 / 3600.0).abs() < 1e-3);
    assert!(st["fingerprint"].as_str().unwrap().len() >= 16);
    let o = run({
        let mut c = sonority(home.path());
        c.args(["status", "--json", "--music"]).arg(&music);
        c
    });
    assert_eq!(json(&o)["tracks"], 12);

    // Text output names the tracks.
    let o = run({
        let mut c = sonority(home.path());
        c.args(["similar", "-k", "3", "--music"])
            .arg(&music)
            .arg(&anchor);
        c
    });
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).contains("Ann Example - "), "{}", stdout(&o));
}

#[test]
fn the_configuration_file_gives_defaults_and_flags_override_it() {
    let home = tempfile::tempdir().unwrap();
    let music = home.path().join("music");
    let songs = make_library(&music);
    let db = home.path().join("lib.sqlite");
    let cfg_dir = home.path().join("config/sonority");
    std::fs::create_dir_all(&cfg_dir).unwrap();
    std::fs::write(
        cfg_dir.join("config.toml"),
        format!(
            "music = [{:?}]\ndb = {:?}\n[playlist]\nmax_per_artist = 1\n",
            music.to_str().unwrap(),
            db.to_str().unwrap()
        ),
    )
    .unwrap();
    // `index` without a folder indexes the configured one into the configured file.
    let o = run({
        let mut c = sonority(home.path());
        c.arg("index");
        c
    });
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(db.exists());
    let anchor = music.join(&songs[0].rel);
    let playlist = |extra: &[&str]| {
        let o = run({
            let mut c = sonority(home.path());
            c.args(["playlist", "--json", "-n", "6"])
                .args(extra)
                .arg(&anchor);
            c
        });
        json(&o)["tracks"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["artist"].as_str().unwrap().to_owned())
            .collect::<Vec<_>>()
    };
    // The configured cap holds: one track per artist (three artists).
    let capped = playlist(&[]);
    assert_eq!(capped.len(), 3, "{capped:?}");
    // A flag overrides it.
    assert_eq!(playlist(&["--max-per-artist", "5"]).len(), 6);
    // The environment overrides the file: another database is empty.
    let o = run({
        let mut c = sonority(home.path());
        c.env("SONORITY_DB", home.path().join("empty.sqlite"))
            .args(["status", "--json"]);
        c
    });
    assert_eq!(json(&o)["tracks"], 0);
}

#[test]
fn every_bad_input_is_one_clear_line_and_a_failure() {
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    let file = h.join("a-file.txt");
    std::fs::write(&file, "not music").unwrap();
    let case = |args: &[&str], env: &[(&str, &Path)], needle: &str| {
        let o = run({
            let mut c = sonority(h);
            for (k, v) in env {
                c.env(k, v);
            }
            c.args(args);
            c
        });
        assert_one_line_error(&o, needle);
    };
    let missing = h.join("missing");
    let missing_s = missing.to_str().unwrap();
    let file_s = file.to_str().unwrap();
    // A missing folder, a folder that is a file.
    case(&["index", missing_s], &[], missing_s);
    case(&["index", file_s], &[], "is a file");
    // No folder at all.
    case(&["index"], &[], "no music folder");
    // A missing anchor file (not in the library, cannot be analysed).
    case(&["similar", missing_s], &[], "missing");
    // The library file is a folder.
    case(&["status", "--db", h.to_str().unwrap()], &[], "is a folder");
    // A missing, an unreadable (a folder), a bad configuration file.
    case(
        &["status", "--config", missing_s],
        &[],
        "configuration file",
    );
    case(
        &["status", "--config", h.to_str().unwrap()],
        &[],
        "configuration file",
    );
    let bad = h.join("bad.toml");
    std::fs::write(&bad, "music = [\n").unwrap();
    case(&["status"], &[("SONORITY_CONFIG", &bad)], "line");
    let unknown = h.join("unknown.toml");
    std::fs::write(&unknown, "musik = []\n").unwrap();
    case(
        &["status", "--config", unknown.to_str().unwrap()],
        &[],
        "musik",
    );
    // An unknown block, a bad weight, the shipped model.
    let model = h.join("model");
    copy_dir(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("../models/default"),
        &model,
    );
    let m = model.to_str().unwrap();
    case(&["weights", "--model", m, "rhythm=2"], &[], "rhythm");
    case(&["weights", "--model", m, "tiles=-1"], &[], "tiles=-1");
    case(&["weights", "tiles=1"], &[], "--model");
    // A path end that is not in the library.
    case(&["path", file_s, missing_s], &[], "library");
    // A bad --tag.
    case(&["playlist", "--tag", "novalue", file_s], &[], "--tag");
    // MPD not running.
    let sock = h.join("no-mpd.sock");
    case(
        &["mpd", "queue", "--host", sock.to_str().unwrap()],
        &[],
        "MPD",
    );
}

#[test]
fn weights_change_a_model_directory() {
    let home = tempfile::tempdir().unwrap();
    let model = home.path().join("model");
    copy_dir(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("../models/default"),
        &model,
    );
    let o = run({
        let mut c = sonority(home.path());
        c.args(["weights", "--model"]).arg(&model).arg("timbre=0.5");
        c
    });
    assert!(o.status.success(), "{}", stderr(&o));
    let line = stdout(&o)
        .lines()
        .find(|l| l.trim_start().starts_with("timbre:"))
        .unwrap()
        .to_owned();
    assert!(line.ends_with("weight 0.5"), "{line}");
    // Saved: read back without changes.
    let o = run({
        let mut c = sonority(home.path());
        c.args(["weights", "--model"]).arg(&model);
        c
    });
    assert!(stdout(&o).contains(&line), "{}", stdout(&o));
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        if e.file_type().unwrap().is_file() {
            std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
        }
    }
}
