//! `sonority mpd` against a private, real MPD (Debian's `mpd`: null audio output, a Unix
//! socket, a generated tagged library): `index`, `queue` (replacing, `--keep-current-queue`,
//! `--from-song`, `--dry-run`, `--path-to`, `--seeds-from-queue`, rules), `radio` (tops the
//! queue up as songs are skipped, reconnects after MPD restarts), a wrong password and MPD
//! not running.
//!
//! Skipped (with a line on standard error) where `mpd` is not installed, unless
//! `SONORITY_REQUIRE_MPD` is set, as CI does (`.ci/run` installs it).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;
mod support;

use std::collections::HashSet;
use std::path::Path;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use mpd_client::commands::{self, SongPosition};

use common::{Song, assert_one_line_error, make_library, run, sonority, stderr, stdout};
use support::private_mpd::PrivateMpd;

/// A private MPD over a generated library, indexed by `sonority mpd index`.
struct Fixture {
    home: tempfile::TempDir,
    mpd: PrivateMpd,
    songs: Vec<Song>,
}

fn fixture() -> Option<Fixture> {
    let home = tempfile::Builder::new().prefix("so").tempdir().unwrap();
    let music = home.path().join("music");
    let songs = make_library(&music);
    let mpd = PrivateMpd::start(&home.path().join("mpd"), &music).unwrap()?;
    let f = Fixture { home, mpd, songs };
    let o = run(f.cmd(&["mpd", "index"]));
    assert!(o.status.success(), "mpd index: {}", stderr(&o));
    Some(f)
}

impl Fixture {
    fn cmd(&self, args: &[&str]) -> std::process::Command {
        let mut c = sonority(self.home.path());
        c.env("MPD_HOST", self.mpd.mpd_host()).args(args);
        c
    }

    /// MPD's queue, as song names.
    fn queue(&self) -> Vec<String> {
        rt().block_on(async {
            let m = support::mpd::Mpd::connect(&self.mpd.target())
                .await
                .unwrap();
            m.queue()
                .await
                .unwrap()
                .into_iter()
                .map(|e| e.uri)
                .collect()
        })
    }

    /// Replaces the queue with `songs` and plays the one at `play`.
    fn set_queue(&self, songs: &[&str], play: Option<usize>) {
        rt().block_on(async {
            let mut m = support::mpd::Mpd::connect(&self.mpd.target())
                .await
                .unwrap();
            m.client().command(commands::ClearQueue).await.unwrap();
            m.append(songs).await.unwrap();
            if let Some(p) = play {
                m.client()
                    .command(commands::Play::song(SongPosition(p)))
                    .await
                    .unwrap();
            }
        });
    }

    fn current(&self) -> Option<String> {
        rt().block_on(async {
            let m = support::mpd::Mpd::connect(&self.mpd.target())
                .await
                .unwrap();
            m.current().await.unwrap().map(|e| e.uri)
        })
    }

    fn next(&self) {
        rt().block_on(async {
            let m = support::mpd::Mpd::connect(&self.mpd.target())
                .await
                .unwrap();
            m.client().command(commands::Next).await.unwrap();
        });
    }

    fn song(&self, uri: &str) -> &Song {
        self.songs.iter().find(|s| s.rel == uri).unwrap()
    }
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

#[test]
fn queue_fills_after_the_playing_song_with_rules_holding() {
    let Some(f) = fixture() else { return };
    let s = |i: usize| f.songs[i].rel.as_str();

    // Replace what follows the playing song.
    f.set_queue(&[s(4), s(0), s(9)], Some(1));
    let o = run(f.cmd(&["mpd", "queue", "-n", "5", "--max-per-artist", "2"]));
    assert!(o.status.success(), "{}", stderr(&o));
    let q = f.queue();
    assert_eq!(q[0], s(0), "the playing song stays first: {q:?}");
    assert_eq!(f.current().as_deref(), Some(s(0)));
    assert_eq!(q.len(), 6, "{q:?}");
    let added = &q[1..];
    assert_eq!(
        added.iter().collect::<HashSet<_>>().len(),
        5,
        "no song twice"
    );
    // The queue's songs are never added again (s(4) and s(9) were in it).
    assert!(!added.iter().any(|u| u == s(4) || u == s(9)), "{added:?}");
    // At most two per artist among the songs added.
    for artist in ["Ann Example", "Bob Sample", "Cat Noise"] {
        let n = added.iter().filter(|u| f.song(u).artist == artist).count();
        assert!(n <= 2, "{artist}: {n} in {added:?}");
    }
    // The closest songs come first: the playing song's album-mate.
    assert_eq!(f.song(&added[0]).artist, "Ann Example", "{added:?}");

    // --keep-current-queue appends after the whole queue.
    let before = f.queue();
    let o = run(f.cmd(&["mpd", "queue", "-n", "2", "--keep-current-queue"]));
    assert!(o.status.success(), "{}", stderr(&o));
    let q = f.queue();
    assert_eq!(&q[..before.len()], &before[..]);
    assert_eq!(q.len(), before.len() + 2);
    assert!(!before.contains(&q[before.len()]));

    // --dry-run prints the seed first then the songs, and changes nothing.
    let before = f.queue();
    let o = run(f.cmd(&["mpd", "queue", "-n", "3", "--dry-run", "--from-song", s(6)]));
    assert!(o.status.success(), "{}", stderr(&o));
    let lines: Vec<String> = stdout(&o).lines().map(str::to_owned).collect();
    assert_eq!(lines.len(), 4, "{lines:?}");
    assert_eq!(lines[0], s(6));
    for l in &lines[1..] {
        assert!(
            f.songs.iter().any(|x| &x.rel == l),
            "{l} is not an MPD name"
        );
    }
    // --from-song: the seed's album-mates first (Bob Sample's album), none of the queue.
    assert_eq!(f.song(&lines[1]).artist, "Bob Sample", "{lines:?}");
    assert_eq!(f.queue(), before, "--dry-run changed the queue");

    // --from-song for real: the playing song stays, the songs follow it.
    f.set_queue(&[s(0)], Some(0));
    let o = run(f.cmd(&[
        "mpd",
        "queue",
        "-n",
        "3",
        "--from-song",
        s(6),
        "--not-genre",
        "jazz",
    ]));
    assert!(o.status.success(), "{}", stderr(&o));
    let q = f.queue();
    assert_eq!(q[0], s(0));
    assert_eq!(q.len(), 4, "{q:?}");
    assert!(q[1..].iter().all(|u| f.song(u).genre != "Jazz"), "{q:?}");

    // --path-to: from the playing song to a song, that song last.
    f.set_queue(&[s(0)], Some(0));
    let o = run(f.cmd(&["mpd", "queue", "-n", "4", "--path-to", s(11)]));
    assert!(o.status.success(), "{}", stderr(&o));
    let q = f.queue();
    assert_eq!(q.len(), 5, "{q:?} {}", stderr(&o));
    assert_eq!(q[0], s(0));
    assert_eq!(q[4], s(11));

    // --seeds-from-queue: the whole queue seeds; nothing of it comes back.
    f.set_queue(&[s(9), s(10)], Some(0));
    let o = run(f.cmd(&["mpd", "queue", "-n", "3", "--seeds-from-queue", "--dry-run"]));
    assert!(o.status.success(), "{}", stderr(&o));
    let lines: Vec<String> = stdout(&o).lines().map(str::to_owned).collect();
    assert!(
        !lines[1..].iter().any(|l| l == s(9) || l == s(10)),
        "{lines:?}"
    );
    assert_eq!(f.song(&lines[1]).artist, "Cat Noise", "{lines:?}");

    // Nothing playing and no --from-song: one clear line.
    f.set_queue(&[], None);
    let o = run(f.cmd(&["mpd", "queue", "-n", "3"]));
    assert_one_line_error(&o, "plays no song");
    // A --from-song MPD does not have.
    let o = run(f.cmd(&["mpd", "queue", "--from-song", "No/Such/song.flac"]));
    assert_one_line_error(&o, "song.flac");
}

/// Reads the radio's standard error in the background.
fn spawn_radio(f: &Fixture) -> Child {
    f.cmd(&["mpd", "radio", "--min-queued", "2", "-n", "3"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// Waits (at most 30 s) until `cond` holds.
fn wait_for(what: &str, mut cond: impl FnMut() -> bool) {
    let t = Instant::now();
    while !cond() {
        assert!(t.elapsed() < Duration::from_secs(30), "timed out: {what}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn radio_tops_the_queue_up_and_survives_an_mpd_restart() {
    let Some(mut f) = fixture() else { return };
    let s = |i: usize| f.songs[i].rel.clone();
    f.set_queue(&[&s(3)], Some(0));
    let mut radio = spawn_radio(&f);
    // Two songs at least after the playing one, soon.
    wait_for("the first top-up", || f.queue().len() >= 3);
    let q = f.queue();
    assert_eq!(q[0], s(3));
    assert_eq!(q.len(), 4, "three added at once: {q:?}");
    // Skip songs: the radio keeps at least two after the playing one, never a repeat.
    for _ in 0..3 {
        f.next();
        wait_for("a top-up after a skip", || {
            let q = f.queue();
            let pos = f
                .current()
                .and_then(|c| q.iter().position(|u| *u == c))
                .unwrap_or(0);
            q.len() - pos > 2
        });
    }
    let q = f.queue();
    assert_eq!(
        q.iter().collect::<HashSet<_>>().len(),
        q.len(),
        "a song twice: {q:?}"
    );
    // MPD restarts (its queue is gone); the radio reconnects and tops up the new queue.
    f.mpd.restart().unwrap();
    f.set_queue(&[&s(7)], Some(0));
    wait_for("a top-up after MPD restarted", || f.queue().len() >= 3);
    assert_eq!(f.queue()[0], s(7));
    // A clean exit on Ctrl-C.
    interrupt(&radio);
    let status = wait_child(&mut radio);
    let mut err = String::new();
    std::io::Read::read_to_string(radio.stderr.as_mut().unwrap(), &mut err).unwrap();
    assert!(status.success(), "radio exited with {status:?}: {err}");
    assert!(err.contains("reconnect"), "{err}");
    assert!(!err.contains("panicked"), "{err}");
}

fn interrupt(child: &Child) {
    let ok = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(ok.success());
}

fn wait_child(child: &mut Child) -> std::process::ExitStatus {
    let t = Instant::now();
    loop {
        if let Some(s) = child.try_wait().unwrap() {
            return s;
        }
        if t.elapsed() > Duration::from_secs(20) {
            child.kill().unwrap();
            panic!("did not exit after Ctrl-C");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn mpd_index_watch_sees_a_database_update() {
    let Some(f) = fixture() else { return };
    let mut watch = f
        .cmd(&["mpd", "index", "--watch"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let status = |f: &Fixture| -> u64 {
        let o = run(f.cmd(&["status", "--json"]));
        serde_json::from_str::<serde_json::Value>(&stdout(&o)).unwrap()["tracks"]
            .as_u64()
            .unwrap()
    };
    assert_eq!(status(&f), 12);
    // A new album arrives; MPD's database is updated; the watcher indexes it.
    let extra = f.home.path().join("extra");
    let more = make_library(&extra);
    let dest = f.mpd.music_dir().join("New Artist");
    std::fs::create_dir_all(&dest).unwrap();
    std::fs::rename(extra.join(&more[0].rel), dest.join("new.wav")).unwrap();
    rt().block_on(async {
        let mut m = support::mpd::Mpd::connect(&f.mpd.target()).await.unwrap();
        m.update().await.unwrap();
        m.wait_update_done().await.unwrap();
    });
    wait_for("the watcher indexing the new song", || status(&f) == 13);
    interrupt(&watch);
    let st = wait_child(&mut watch);
    assert!(st.success(), "{st:?}");
}

#[test]
fn a_wrong_password_and_no_mpd_are_one_clear_line() {
    let home = tempfile::Builder::new().prefix("so").tempdir().unwrap();
    let music = home.path().join("music");
    make_library(&music);
    let Some(mpd) =
        PrivateMpd::start_with_password(&home.path().join("mpd"), &music, "secret").unwrap()
    else {
        return;
    };
    let sock = mpd.socket();
    let wrong = format!("nope@{}", sock.display());
    let o = run({
        let mut c = sonority(home.path());
        c.env("MPD_HOST", &wrong)
            .args(["mpd", "queue", "--dry-run"]);
        c
    });
    assert_one_line_error(&o, "password");
    drop(mpd);
    let o = run({
        let mut c = sonority(home.path());
        c.env("MPD_HOST", Path::new(&sock)).args(["mpd", "queue"]);
        c
    });
    assert_one_line_error(&o, "MPD");
}

#[test]
fn with_nothing_configured_the_users_mpd_socket_is_found() {
    let Some(f) = fixture() else { return };
    // $XDG_RUNTIME_DIR/mpd/socket, where a user's MPD listens (libmpdclient looks there).
    let rt = f.home.path().join("rt");
    std::fs::create_dir_all(rt.join("mpd")).unwrap();
    std::os::unix::fs::symlink(f.mpd.socket(), rt.join("mpd/socket")).unwrap();
    let o = run({
        let mut c = sonority(f.home.path());
        c.env("XDG_RUNTIME_DIR", &rt).args([
            "mpd",
            "queue",
            "-n",
            "2",
            "--dry-run",
            "--from-song",
            &f.songs[0].rel,
        ]);
        c
    });
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stdout(&o).lines().count(), 3, "{}", stdout(&o));
}
