//! `sonority serve` over real HTTP on a generated, tagged library (three artists, a Christmas
//! album, a CUE sheet): every `/v1` route and its errors, every answer checked against the
//! served OpenAPI document, Bliss Mixer's `/api/mix` and `/api/list` field by field (December
//! and not through the hidden `--month`), the token rule, an index run while requests go on,
//! the LMS port announcement, random bodies (never a 5xx, never a crash) and SIGTERM.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
// The servers are killed and waited for when their `Server` is dropped.
#![allow(clippy::zombie_processes)]

mod common;

use std::collections::{HashMap, HashSet};
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use common::{Song, make_cue_album, make_library, run, sonority, stderr};
use serde_json::{Value, json};

struct Library {
    home: tempfile::TempDir,
    music: PathBuf,
    songs: Vec<Song>,
    cue: Vec<String>,
}

fn library() -> Library {
    let home = tempfile::tempdir().unwrap();
    let music = home.path().join("music");
    let songs = make_library(&music);
    let cue = make_cue_album(&music);
    let o = run({
        let mut c = sonority(home.path());
        c.arg("index").arg(&music);
        c
    });
    assert!(o.status.success(), "{}", stderr(&o));
    Library {
        home,
        music,
        songs,
        cue,
    }
}

/// A running server and its address.
struct Server {
    child: Child,
    base: String,
    lines: mpsc::Receiver<String>,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn serve(lib: &Library, args: &[&str], env: &[(&str, &str)]) -> Server {
    let mut c = sonority(lib.home.path());
    c.arg("serve")
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    for (k, v) in env {
        c.env(k, v);
    }
    let mut child = c.spawn().unwrap();
    let err = child.stderr.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for l in BufReader::new(err).lines() {
            let Ok(l) = l else { break };
            if tx.send(l).is_err() {
                break;
            }
        }
    });
    let t = Instant::now();
    loop {
        let l = rx
            .recv_timeout(Duration::from_secs(30))
            .unwrap_or_else(|_| panic!("the server did not start in {:?}", t.elapsed()));
        if let Some(addr) = l.strip_prefix("listening on ") {
            return Server {
                child,
                base: addr.trim().to_owned(),
                lines: rx,
            };
        }
    }
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(30)))
        .build()
        .into()
}

/// (status, content type, body).
fn post(s: &Server, path: &str, body: &str) -> (u16, String, String) {
    post_with(&s.base, path, body, "application/json", None)
}

fn post_with(
    base: &str,
    path: &str,
    body: &str,
    content_type: &str,
    token: Option<&str>,
) -> (u16, String, String) {
    let mut r = agent()
        .post(&format!("{base}{path}"))
        .header("Content-Type", content_type);
    if let Some(t) = token {
        r = r.header("Authorization", &format!("Bearer {t}"));
    }
    let mut res = r.send(body).unwrap();
    let ct = res
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    (
        res.status().as_u16(),
        ct,
        res.body_mut().read_to_string().unwrap(),
    )
}

fn get(s: &Server, path: &str) -> (u16, String) {
    let mut res = agent().get(&format!("{}{path}", s.base)).call().unwrap();
    (
        res.status().as_u16(),
        res.body_mut().read_to_string().unwrap(),
    )
}

fn json_of(body: &str) -> Value {
    serde_json::from_str(body).unwrap_or_else(|e| panic!("{e}: {body}"))
}

/// Validates `v` against a schema of the OpenAPI document: `$ref`, `type` (with `null`),
/// `required`, `properties`, `items`, `enum`, `minimum`, `maximum`, `additionalProperties`.
fn validate(doc: &Value, schema: &Value, v: &Value, at: &str) {
    if let Some(r) = schema.get("$ref").and_then(Value::as_str) {
        let name = r.trim_start_matches("#/components/schemas/");
        return validate(doc, &doc["components"]["schemas"][name], v, at);
    }
    if let Some(t) = schema.get("type") {
        let types: Vec<&str> = match t {
            Value::String(s) => vec![s.as_str()],
            Value::Array(a) => a.iter().filter_map(Value::as_str).collect(),
            _ => vec![],
        };
        let ok = types.iter().any(|t| match *t {
            "null" => v.is_null(),
            "string" => v.is_string(),
            "integer" => v.is_i64() || v.is_u64(),
            "number" => v.is_number(),
            "boolean" => v.is_boolean(),
            "array" => v.is_array(),
            "object" => v.is_object(),
            _ => false,
        });
        assert!(ok, "{at}: {v} is not {types:?}");
    }
    if let Some(e) = schema.get("enum").and_then(Value::as_array) {
        assert!(e.contains(v), "{at}: {v} not in {e:?}");
    }
    if let (Some(x), Some(min)) = (v.as_f64(), schema.get("minimum").and_then(Value::as_f64)) {
        assert!(x >= min, "{at}: {x} < {min}");
    }
    if let (Some(x), Some(max)) = (v.as_f64(), schema.get("maximum").and_then(Value::as_f64)) {
        assert!(x <= max, "{at}: {x} > {max}");
    }
    if let Some(o) = v.as_object() {
        for k in schema
            .get("required")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let k = k.as_str().unwrap();
            assert!(o.contains_key(k), "{at}: {k} missing in {v}");
        }
        let props = schema.get("properties").and_then(Value::as_object);
        for (k, x) in o {
            match props.and_then(|p| p.get(k)) {
                Some(s) => validate(doc, s, x, &format!("{at}.{k}")),
                None => {
                    if let Some(extra) = schema.get("additionalProperties") {
                        assert!(extra != &json!(false), "{at}: unexpected {k}");
                        if extra.is_object() {
                            validate(doc, extra, x, &format!("{at}.{k}"));
                        }
                    } else {
                        assert!(props.is_none(), "{at}: {k} is not in the schema");
                    }
                }
            }
        }
    }
    if let (Some(a), Some(items)) = (v.as_array(), schema.get("items")) {
        for (i, x) in a.iter().enumerate() {
            validate(doc, items, x, &format!("{at}[{i}]"));
        }
    }
}

/// Validates a JSON answer against the response schema the document gives its route.
fn check(doc: &Value, route: &str, method: &str, status: u16, body: &str) -> Value {
    let v = json_of(body);
    let schema = &doc["paths"][route][method]["responses"][status.to_string()]["content"]["application/json"]
        ["schema"];
    assert!(!schema.is_null(), "no schema for {method} {route} {status}");
    validate(doc, schema, &v, &format!("{method} {route} {status}"));
    v
}

fn names(v: &Value) -> Vec<String> {
    v["tracks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn the_native_api_answers_every_route_as_documented() {
    let lib = library();
    let s = serve(&lib, &["--port", "0"], &[]);
    let (st, doc) = get(&s, "/v1/openapi.json");
    assert_eq!(st, 200);
    let doc = json_of(&doc);
    assert_eq!(doc["openapi"], "3.1.0");
    let seed = lib.songs[0].rel.clone();
    let all: HashSet<String> = lib
        .songs
        .iter()
        .map(|s| s.rel.clone())
        .chain(lib.cue.iter().cloned())
        .collect();

    // similar: names relative to the folder, the seed never, scores in order.
    let (st, _, body) = post(
        &s,
        "/v1/similar",
        &json!({"tracks": [seed], "count": 5}).to_string(),
    );
    let v = check(&doc, "/v1/similar", "post", st, &body);
    let got = names(&v);
    assert_eq!(got.len(), 5);
    assert!(got.iter().all(|n| all.contains(n) && *n != seed), "{got:?}");
    assert_eq!(v["tracks"][0]["artist"], "Ann Example");
    // exclusions by name.
    let (st, _, body) = post(
        &s,
        "/v1/similar",
        &json!({"tracks": [seed], "count": 5, "exclude": [got[0]]}).to_string(),
    );
    let v2 = check(&doc, "/v1/similar", "post", st, &body);
    assert!(!names(&v2).contains(&got[0]));
    // An unknown seed is a 404 with a stable code; a path outside the folders too.
    for bad in ["No/Such/track.wav", "../music/x.wav", "/etc/passwd"] {
        let (st, _, body) = post(&s, "/v1/similar", &json!({"tracks": [bad]}).to_string());
        assert_eq!(st, 404, "{bad}: {body}");
        assert_eq!(
            check(&doc, "/v1/similar", "post", st, &body)["error"]["code"],
            "unknown_track"
        );
    }
    // Malformed, incomplete, unknown field, too many: 400.
    for bad in [
        "{",
        "{}",
        r#"{"tracks": "x"}"#,
        r#"{"tracks": [], "count": 1}"#,
        r#"{"tracks": ["a"], "colour": 1}"#,
        r#"{"tracks": ["a"], "count": 600}"#,
    ] {
        let (st, _, body) = post(&s, "/v1/similar", bad);
        assert_eq!(st, 400, "{bad}: {body}");
        assert_eq!(
            check(&doc, "/v1/similar", "post", st, &body)["error"]["code"],
            "bad_request"
        );
    }
    // An oversized body: 413, and the server goes on.
    // (The server may answer 413 and close before the client has sent it all.)
    let big = format!(r#"{{"tracks": ["{}"]}}"#, "a".repeat(400 * 1024));
    match agent()
        .post(&format!("{}/v1/similar", s.base))
        .header("Content-Type", "application/json")
        .send(&big)
    {
        Ok(res) => assert_eq!(res.status().as_u16(), 413),
        Err(ureq::Error::Io(e)) => assert!(
            matches!(
                e.kind(),
                std::io::ErrorKind::BrokenPipe | std::io::ErrorKind::ConnectionReset
            ),
            "{e}"
        ),
        Err(e) => panic!("{e}"),
    }
    assert_eq!(get(&s, "/api/ready").0, 200);

    // playlist with rules.
    let (st, _, body) = post(
        &s,
        "/v1/playlist",
        &json!({"seeds": [seed], "count": 10, "rules": {"max_per_artist": 1, "not_genre": ["christmas"]}})
            .to_string(),
    );
    let v = check(&doc, "/v1/playlist", "post", st, &body);
    let artists: Vec<&str> = v["tracks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["artist"].as_str().unwrap_or("?"))
        .collect();
    assert_eq!(
        artists.len(),
        artists.iter().collect::<HashSet<_>>().len(),
        "{artists:?}"
    );
    assert!(
        v["tracks"]
            .as_array()
            .unwrap()
            .iter()
            .all(|t| t["genre"] != "Christmas")
    );

    // path: the ends first and last; a CUE track as an end.
    let to = lib.cue[1].clone();
    let (st, _, body) = post(
        &s,
        "/v1/path",
        &json!({"from": seed, "to": to, "count": 4}).to_string(),
    );
    let v = check(&doc, "/v1/path", "post", st, &body);
    let p = names(&v);
    assert_eq!((p.first(), p.last(), p.len()), (Some(&seed), Some(&to), 4));

    // albums.
    let (st, _, body) = post(
        &s,
        "/v1/albums",
        &json!({"track": seed, "count": 2}).to_string(),
    );
    let v = check(&doc, "/v1/albums", "post", st, &body);
    assert_eq!(v["albums"].as_array().unwrap().len(), 2);
    assert_eq!(v["albums"][0]["name"], "Second Light");

    // track: a CUE track by its MPD-style name; an unknown one 404.
    let (st, body) = get(
        &s,
        &format!("/v1/track?name={}", lib.cue[0].replace(' ', "%20")),
    );
    let v = check(&doc, "/v1/track", "get", st, &body);
    assert_eq!(
        (v["title"].as_str(), v["name"].as_str()),
        (Some("One"), Some(lib.cue[0].as_str()))
    );
    assert_eq!(get(&s, "/v1/track?name=nope.wav").0, 404);

    // status.
    let (st, body) = get(&s, "/v1/status");
    let v = check(&doc, "/v1/status", "get", st, &body);
    assert_eq!(v["tracks"], 15);
    assert_eq!(
        v["folders"][0]["path"].as_str(),
        common::canon(&lib.music).to_str()
    );
}

/// Bliss Mixer's exact request shape (as a Lyrion user posted it), with our names.
fn plugin_request(seed: &str) -> Value {
    json!({"count":20,"previous":[],"filterxmas":1,"shuffle":1,"filtergenre":0,"min":0,"maxbpmdiff":0,"norepalb":12,"tracks":[seed],"max":0,"norepart":6,"genregroups":[]})
}

fn mix(s: &Server, req: &Value) -> Vec<String> {
    let (st, ct, body) = post_with(
        &s.base,
        "/api/mix",
        &req.to_string(),
        "application/json;charset=utf-8",
        None,
    );
    assert_eq!(st, 200, "{body}");
    assert_eq!(ct, "text/plain; charset=utf-8");
    body.lines().map(str::to_owned).collect()
}

#[test]
fn bliss_mixer_routes_keep_its_contract() {
    let lib = library();
    let june = serve(
        &lib,
        &[
            "--bliss-mixer",
            "--port",
            "0",
            "--month",
            "6",
            "--logging",
            "info",
        ],
        &[],
    );
    let december = serve(
        &lib,
        &["--bliss-mixer", "--port", "0", "--month", "12"],
        &[],
    );
    let by_name: HashMap<&str, &Song> = lib.songs.iter().map(|s| (s.rel.as_str(), s)).collect();
    let seed = lib.songs[9].rel.as_str(); // Cat Noise, Winter Bells: Christmas

    assert_eq!(get(&june, "/api/ready").0, 200);
    // The plugin's request: relative names, never the seed, no Christmas in June.
    let got = mix(&june, &plugin_request(seed));
    assert!(!got.is_empty());
    assert!(
        got.iter().all(|n| n != seed && !n.starts_with('/')),
        "{got:?}"
    );
    assert!(
        got.iter().all(|n| by_name
            .get(n.as_str())
            .is_none_or(|s| s.genre != "Christmas")),
        "{got:?}"
    );
    // In December the album-mates come back.
    let dec = mix(&december, &plugin_request(seed));
    assert!(
        dec.iter().any(|n| by_name
            .get(n.as_str())
            .is_some_and(|s| s.genre == "Christmas")),
        "{dec:?}"
    );
    // norepalb 12: one track per album; norepart 6: no artist twice within 6.
    let albums: Vec<&str> = got
        .iter()
        .filter_map(|n| by_name.get(n.as_str()).map(|s| s.album.as_str()))
        .collect();
    assert_eq!(
        albums.len(),
        albums.iter().collect::<HashSet<_>>().len(),
        "{got:?}"
    );

    // Unknown seed: 200, empty. Missing required field: 400. Unknown keys: ignored.
    let (st, _, body) = post(
        &june,
        "/api/mix",
        &plugin_request("No/Such.flac").to_string(),
    );
    assert_eq!((st, body.as_str()), (200, ""));
    let (st, _, _) = post(&june, "/api/mix", r#"{"count": 5, "genregroups": []}"#);
    assert_eq!(st, 400);
    let (st, _, _) = post(&june, "/api/mix", r#"{"count": 5, "tracks": ["x"]}"#);
    assert_eq!(st, 400);
    let mut extra = plugin_request(seed);
    extra["somethingnew"] = json!({"a": 1});
    extra["forest"] = json!(1);
    extra["adaptiveweights"] = json!(1);
    assert!(!mix(&june, &extra).is_empty());

    // Lyrion's plugin names seeds by file:// URL (with `mpath`) and checks every answer
    // exists on disk: absolute paths come back.
    let music_c = common::canon(&lib.music);
    let url = format!(
        "file://{}",
        music_c
            .join(&lib.songs[0].rel)
            .display()
            .to_string()
            .replace(' ', "%20")
    );
    let mut lms = plugin_request(&url);
    lms["mpath"] = json!(music_c.to_str());
    let got = mix(&june, &lms);
    assert!(!got.is_empty());
    for p in &got {
        assert!(Path::new(p).is_absolute() && Path::new(p).exists(), "{p}");
        assert!(Path::new(p).starts_with(&music_c));
    }
    // A URL or path outside the music folders names nothing.
    assert!(mix(&june, &plugin_request("file:///etc/passwd")).is_empty());
    assert!(mix(&june, &plugin_request("/etc/passwd")).is_empty());

    // count 0 gives one track, 500 at most 50 (the library has 15).
    let mut r = plugin_request(lib.songs[0].rel.as_str());
    r["shuffle"] = json!(0);
    r["norepart"] = json!(0);
    r["norepalb"] = json!(0);
    r["count"] = json!(0);
    assert_eq!(mix(&june, &r).len(), 1);
    r["count"] = json!(500);
    let many = mix(&june, &r);
    assert!(!many.is_empty() && many.len() <= 14, "{many:?}");

    // previous: never repeated; its first norepart artists kept out.
    let mut r = plugin_request(lib.songs[0].rel.as_str());
    r["shuffle"] = json!(0);
    r["norepalb"] = json!(0);
    r["previous"] = json!([lib.songs[1].rel, lib.songs[6].rel]);
    r["norepart"] = json!(1);
    let got = mix(&june, &r);
    assert!(!got.contains(&lib.songs[1].rel) && !got.contains(&lib.songs[6].rel));
    assert!(
        got.iter().all(|n| by_name
            .get(n.as_str())
            .is_none_or(|s| s.artist != "Ann Example")),
        "the first previous artist is kept out: {got:?}"
    );

    // min and max: durations are 4 s (the CUE tracks too).
    r["previous"] = json!([]);
    r["norepart"] = json!(0);
    r["min"] = json!(5);
    assert!(mix(&june, &r).is_empty());
    r["min"] = json!(0);
    r["max"] = json!(3);
    assert!(mix(&june, &r).is_empty());
    r["max"] = json!(0);

    // genre groups (lower-case globs): Jazz's group only.
    r["filtergenre"] = json!(1);
    r["genregroups"] = json!([["jazz", "*blues*"], ["electronic"]]);
    let got = mix(&june, &r);
    assert!(!got.is_empty());
    assert!(
        got.iter()
            .all(|n| by_name.get(n.as_str()).is_none_or(|s| s.genre == "Jazz")),
        "{got:?}"
    );
    r["filtergenre"] = json!(0);

    // maxbpmdiff: every answer within the difference of the seed's stored tempo.
    let model = sonority::Model::load_default().unwrap();
    let store = sonority::Library::open(
        &lib.home.path().join("data/sonority/library.sqlite"),
        &model,
    )
    .unwrap();
    let tempo_of: HashMap<PathBuf, f64> = {
        let tracks = store.store().tracks().unwrap();
        let t: HashMap<_, _> = store.store().tempos().unwrap().into_iter().collect();
        tracks
            .into_iter()
            .filter_map(|x| Some((x.record.file.path.clone(), *t.get(&x.id)?)))
            .collect()
    };
    let tempo = |n: &str| tempo_of.get(&common::canon(&lib.music).join(n)).copied();
    r["maxbpmdiff"] = json!(5);
    let seed_bpm = tempo(&lib.songs[0].rel).unwrap();
    for n in mix(&june, &r) {
        if let Some(b) = tempo(&n) {
            assert!((b - seed_bpm).abs() <= 5.0 + 1e-9, "{n}: {b} vs {seed_bpm}");
        }
    }
    r["maxbpmdiff"] = json!(0);

    // shuffle still obeys the filters.
    r["shuffle"] = json!(1);
    r["count"] = json!(3);
    assert!(mix(&june, &r).len() <= 3);

    // list: byartist, required fields.
    let (st, _, body) = post(
        &june,
        "/api/list",
        &json!({"track": lib.songs[0].rel, "count": 10, "genregroups": [], "byartist": 1})
            .to_string(),
    );
    assert_eq!(st, 200);
    let got: Vec<&str> = body.lines().collect();
    assert!(!got.is_empty());
    assert!(
        got.iter().all(|n| by_name[n].artist == "Ann Example"),
        "{got:?}"
    );
    let (st, _, _) = post(
        &june,
        "/api/list",
        &json!({"track": "x", "genregroups": []}).to_string(),
    );
    assert_eq!(st, 400);

    // --logging info: one line per request.
    drop(december);
    let mut logged = false;
    while let Ok(l) = june.lines.try_recv() {
        logged |= l.starts_with("POST /api/mix 200");
    }
    assert!(logged);
}

#[test]
fn random_bodies_never_break_the_server() {
    let lib = library();
    let s = serve(&lib, &["--port", "0"], &[]);
    let valid = [
        plugin_request(&lib.songs[0].rel).to_string(),
        json!({"tracks": [lib.songs[0].rel], "count": 3}).to_string(),
        json!({"seeds": [lib.songs[0].rel], "rules": {"min_artist_gap": 2}}).to_string(),
    ];
    let routes = [
        "/api/mix",
        "/v1/similar",
        "/v1/playlist",
        "/api/list",
        "/v1/path",
        "/v1/albums",
    ];
    let mut x = 0x2545_f491_4f6c_dd1d_u64;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    for i in 0..300 {
        let mut b = valid[i % valid.len()].clone().into_bytes();
        for _ in 0..(next() % 6 + 1) {
            let at = (next() as usize) % b.len().max(1);
            match next() % 4 {
                0 if !b.is_empty() => b[at] = (next() % 256) as u8,
                1 if !b.is_empty() => {
                    b.remove(at);
                }
                2 => b.insert(at, b"{}[],:\"0-9e"[(next() % 11) as usize]),
                3 => b.truncate(at),
                _ => {}
            }
        }
        let route = routes[(next() as usize) % routes.len()];
        let mut res = agent()
            .post(&format!("{}{route}", s.base))
            .header("Content-Type", "application/json")
            .send(&b[..])
            .unwrap();
        let st = res.status().as_u16();
        let _ = res.body_mut().read_to_string();
        assert!(st < 500, "{route} {}: {st}", String::from_utf8_lossy(&b));
    }
    assert_eq!(get(&s, "/api/ready").0, 200);
}

#[test]
fn another_address_needs_a_token_and_requests_must_carry_it() {
    let lib = library();
    let o = run({
        let mut c = sonority(lib.home.path());
        c.args(["serve", "--address", "0.0.0.0", "--port", "0"]);
        c
    });
    common::assert_one_line_error(&o, "token");
    let s = serve(
        &lib,
        &["--address", "0.0.0.0", "--port", "0"],
        &[("SONORITY_TOKEN", "s3cret")],
    );
    let port = s.base.rsplit(':').next().unwrap();
    let local = format!("http://127.0.0.1:{port}");
    let body = plugin_request(&lib.songs[0].rel).to_string();
    let status = |token| post_with(&local, "/api/mix", &body, "application/json", token).0;
    assert_eq!(status(None), 401);
    assert_eq!(status(Some("wrong")), 401);
    assert_eq!(status(Some("s3cret")), 200);
    // --no-auth: served, with a warning.
    let open = serve(
        &lib,
        &["--address", "0.0.0.0", "--port", "0", "--no-auth"],
        &[],
    );
    assert_eq!(get(&open, "/api/ready").0, 200);
}

#[test]
fn an_index_run_while_serving_is_answered_from_at_once() {
    let lib = library();
    let s = serve(&lib, &["--port", "0"], &[]);
    let extra = lib.home.path().join("extra");
    let more = make_library(&extra);
    let new = "New Artist/new.wav";
    std::fs::create_dir_all(lib.music.join("New Artist")).unwrap();
    std::fs::rename(extra.join(&more[4].rel), lib.music.join(new)).unwrap();
    assert_eq!(
        get(&s, &format!("/v1/track?name={}", new.replace(' ', "%20"))).0,
        404
    );
    let (st, _, _) = post(&s, "/v1/index", "");
    assert_eq!(st, 202);
    // Requests go on while it runs; then the new track is answered.
    let t = Instant::now();
    loop {
        let (_, body) = get(&s, "/v1/index");
        let v = json_of(&body);
        if v["runs"] == 1 && v["running"] == false {
            assert!(v["last"].as_str().unwrap().starts_with("1 analysed"), "{v}");
            break;
        }
        assert_eq!(
            post(
                &s,
                "/v1/similar",
                &json!({"tracks": [lib.songs[0].rel]}).to_string()
            )
            .0,
            200
        );
        assert!(t.elapsed() < Duration::from_secs(60), "the run did not end");
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(
        get(&s, &format!("/v1/track?name={}", new.replace(' ', "%20"))).0,
        200
    );
    let (_, _, body) = post(
        &s,
        "/v1/similar",
        &json!({"tracks": [new], "count": 20}).to_string(),
    );
    assert_eq!(names(&json_of(&body)).len(), 15);
}

#[test]
fn lms_is_told_the_port_and_sigterm_stops_gracefully() {
    let lib = library();
    let fake = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let lms = fake.local_addr().unwrap().to_string();
    let got = std::thread::spawn(move || {
        let (mut conn, _) = fake.accept().unwrap();
        conn.set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        let mut req = Vec::new();
        let mut buf = [0u8; 4096];
        // Headers, then the body of the announced length.
        loop {
            let n = conn.read(&mut buf).unwrap();
            req.extend_from_slice(&buf[..n]);
            let text = String::from_utf8_lossy(&req).to_string();
            if let Some((head, body)) = text.split_once("\r\n\r\n") {
                let len: usize = head
                    .lines()
                    .find_map(|l| {
                        l.to_ascii_lowercase()
                            .strip_prefix("content-length:")
                            .map(|v| v.trim().parse().unwrap())
                    })
                    .unwrap_or(0);
                if body.len() >= len {
                    conn.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}")
                        .unwrap();
                    return text;
                }
            }
            assert!(n > 0, "closed early");
        }
    });
    let mut s = serve(
        &lib,
        &[
            "--bliss-mixer",
            "--lms",
            &lms,
            "--weights",
            "1,1,1",
            "--logging",
            "warn",
        ],
        &[],
    );
    let req = got.join().unwrap();
    let port: u16 = s.base.rsplit(':').next().unwrap().parse().unwrap();
    assert!(req.starts_with("POST /jsonrpc.js"), "{req}");
    let body: Value = serde_json::from_str(req.split_once("\r\n\r\n").unwrap().1).unwrap();
    assert_eq!(body["method"], "slim.request");
    assert_eq!(
        body["params"][1],
        json!(["blissmixer", "port", format!("number:{port}")])
    );
    assert_ne!(port, 12_000, "an ephemeral port");
    assert_eq!(get(&s, "/api/ready").0, 200);
    // SIGTERM: a clean exit.
    let ok = std::process::Command::new("kill")
        .args(["-TERM", &s.child.id().to_string()])
        .status()
        .unwrap();
    assert!(ok.success());
    let t = Instant::now();
    let status = loop {
        if let Some(st) = s.child.try_wait().unwrap() {
            break st;
        }
        assert!(
            t.elapsed() < Duration::from_secs(10),
            "no exit after SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(status.success(), "{status:?}");
}
