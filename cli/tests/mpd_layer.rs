//! The command's MPD client (`src/mpd.rs`) against a real MPD (a private one per test, see `support/private_mpd.rs`),
//! plus connection failures that need no MPD.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::{
    future::Future,
    path::{Path, PathBuf},
    time::{Duration, Instant},
};

use mpd_client::commands::{Add, Play, SetPause, SongPosition};
use support::{
    mpd::{Mpd, MpdError, MpdTarget, PlayState, Subsystem},
    private_mpd::PrivateMpd,
};
use tempfile::TempDir;

/// The generated library, as MPD's URIs.
const SONGS: [&str; 6] = [
    "a/one.wav",
    "a/two.wav",
    "a/three.wav",
    "b/four.wav",
    "b/five.wav",
    "b/six.wav",
];

/// A music folder of generated WAVs and a private MPD that has them in its database.
struct Fixture {
    dir: TempDir,
    mpd: PrivateMpd,
}

impl Fixture {
    fn music(&self) -> PathBuf {
        self.dir.path().join("music")
    }
}

fn fixture(password: Option<&str>) -> Option<Fixture> {
    let dir = tempfile::Builder::new().prefix("mpdt").tempdir().unwrap();
    let music = dir.path().join("music");
    for (i, uri) in SONGS.iter().enumerate() {
        write_wav(&music.join(uri), 220.0 * (i + 1) as f32, 8.0);
    }
    let work = dir.path().join("work");
    let mpd = match password {
        None => PrivateMpd::start(&work, &music),
        Some(pw) => PrivateMpd::start_with_password(&work, &music, pw),
    }
    .unwrap()?;
    Some(Fixture { dir, mpd })
}

/// A mono 22.05 kHz 16-bit sine.
///
/// Not smaller: with songs of under about 300 KB of PCM, MPD 0.23 sometimes ends the playing
/// song when the songs queued after it are replaced (its whole rest is already in the output
/// pipeline, as in the last second of any song), which would make the tests flaky.
fn write_wav(path: &Path, freq_hz: f32, seconds: f32) {
    const RATE: u32 = 22_050;
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let y = sonority_testkit::signal::sine(RATE, f64::from(seconds), f64::from(freq_hz), 0.3);
    sonority_testkit::signal::write_wav_i16(path, 1, RATE, &y).unwrap();
}

/// Awaits `f`, failing the test after `secs` seconds instead of hanging.
async fn within<T>(secs: u64, f: impl Future<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(secs), f)
        .await
        .expect("timed out")
}

fn uris(queue: &[support::mpd::QueueEntry]) -> Vec<&str> {
    queue.iter().map(|e| e.uri.as_str()).collect()
}

/// Adds `songs` with plain mpd_client commands.
async fn add(mpd: &Mpd, songs: &[&str]) {
    for s in songs {
        mpd.client().command(Add::uri(s)).await.unwrap();
    }
}

async fn wait_for_state(mpd: &Mpd, state: PlayState) {
    let deadline = Instant::now() + Duration::from_secs(5);
    while mpd.status().await.unwrap().state != state {
        assert!(Instant::now() < deadline, "MPD never reached {state:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn connects_over_unix_socket_and_knows_the_library() {
    let Some(fx) = fixture(None) else { return };
    let mpd = within(10, Mpd::connect(&fx.mpd.target())).await.unwrap();

    let dir = within(10, mpd.music_directory()).await.unwrap();
    assert_eq!(dir, Some(fx.music().canonicalize().unwrap()));

    let mut files = within(10, mpd.db_files()).await.unwrap();
    files.sort();
    let mut expected = SONGS.to_vec();
    expected.sort();
    assert_eq!(files, expected, "{}", fx.mpd.log());

    let status = mpd.status().await.unwrap();
    assert_eq!(status.state, PlayState::Stopped);
    assert_eq!(status.queue_len, 0);
    assert_eq!(status.current, None);
    assert_eq!(mpd.current().await.unwrap(), None);
    assert!(mpd.queue().await.unwrap().is_empty());
}

#[cfg(target_os = "linux")]
#[tokio::test]
async fn connects_over_abstract_socket() {
    let Some(fx) = fixture(None) else { return };
    let target = fx.mpd.abstract_target().unwrap();
    assert!(target.to_string().starts_with("@sonority-test-"));
    let mpd = within(10, Mpd::connect(&target)).await.unwrap();
    // An abstract socket is local too: MPD answers `config`.
    let dir = mpd.music_directory().await.unwrap();
    assert_eq!(dir, Some(fx.music().canonicalize().unwrap()));
}

#[tokio::test]
async fn replace_after_current_keeps_the_playing_song() {
    let Some(fx) = fixture(None) else { return };
    let mut mpd = within(10, Mpd::connect(&fx.mpd.target())).await.unwrap();
    add(&mpd, &SONGS[..4]).await;
    mpd.client()
        .command(Play::song(SongPosition(1)))
        .await
        .unwrap();
    wait_for_state(&mpd, PlayState::Playing).await;
    assert_eq!(
        within(5, mpd.next_event(&[Subsystem::Player]))
            .await
            .unwrap(),
        Subsystem::Player
    );

    let playing = mpd.current().await.unwrap().unwrap();
    assert_eq!(playing.uri, "a/two.wav");
    assert_eq!(playing.position, 1);

    let ids = within(10, mpd.replace_after_current(&["b/five.wav", "b/six.wav"]))
        .await
        .unwrap();
    let queue = mpd.queue().await.unwrap();
    assert_eq!(uris(&queue), ["a/two.wav", "b/five.wav", "b/six.wav"]);
    assert_eq!(ids, [queue[1].id, queue[2].id]);
    assert_eq!(queue[0].id, playing.id);
    let status = mpd.status().await.unwrap();
    assert_eq!(status.state, PlayState::Playing);
    assert_eq!(
        status.current.map(|c| (c.position, c.id)),
        Some((0, playing.id))
    );
    assert_eq!(status.queue_len, 3);

    let ids = within(10, mpd.append(&[String::from("a/one.wav")]))
        .await
        .unwrap();
    let queue = mpd.queue().await.unwrap();
    assert_eq!(
        uris(&queue),
        ["a/two.wav", "b/five.wav", "b/six.wav", "a/one.wav"]
    );
    assert_eq!(ids, [queue[3].id]);
    assert_eq!(mpd.current().await.unwrap().unwrap().id, playing.id);

    // Paused counts as current too.
    mpd.client().command(SetPause(true)).await.unwrap();
    wait_for_state(&mpd, PlayState::Paused).await;
    mpd.replace_after_current(&["a/three.wav"]).await.unwrap();
    let queue = mpd.queue().await.unwrap();
    assert_eq!(uris(&queue), ["a/two.wav", "a/three.wav"]);
    assert_eq!(mpd.status().await.unwrap().state, PlayState::Paused);

    // Nothing to add: only the others go.
    mpd.replace_after_current::<&str>(&[]).await.unwrap();
    assert_eq!(uris(&mpd.queue().await.unwrap()), ["a/two.wav"]);
}

#[tokio::test]
async fn replace_with_nothing_playing_replaces_the_whole_queue() {
    let Some(fx) = fixture(None) else { return };
    let mut mpd = within(10, Mpd::connect(&fx.mpd.target())).await.unwrap();
    add(&mpd, &SONGS[..3]).await;
    assert_eq!(mpd.status().await.unwrap().state, PlayState::Stopped);
    mpd.replace_after_current(&["b/six.wav", "b/four.wav"])
        .await
        .unwrap();
    assert_eq!(
        uris(&mpd.queue().await.unwrap()),
        ["b/six.wav", "b/four.wav"]
    );
    assert_eq!(mpd.status().await.unwrap().state, PlayState::Stopped);
}

#[tokio::test]
async fn unknown_uri_is_named_and_the_queue_is_left_as_it_was() {
    let Some(fx) = fixture(None) else { return };
    let mut mpd = within(10, Mpd::connect(&fx.mpd.target())).await.unwrap();
    add(&mpd, &SONGS[..3]).await;
    mpd.client()
        .command(Play::song(SongPosition(0)))
        .await
        .unwrap();
    let before = mpd.queue().await.unwrap();

    let err = mpd
        .replace_after_current(&["b/five.wav", "nope/missing.wav", "b/six.wav"])
        .await
        .unwrap_err();
    match &err {
        MpdError::UnknownUri { uri, .. } => assert_eq!(uri, "nope/missing.wav"),
        other => panic!("expected UnknownUri, got {other:?}"),
    }
    let message = err.to_string();
    assert!(message.contains("\"nope/missing.wav\""), "{message}");
    assert!(!message.contains('\n'), "{message}");
    assert_eq!(mpd.queue().await.unwrap(), before);

    let err = mpd.append(&["a/one.wav", "x.wav"]).await.unwrap_err();
    assert!(
        matches!(&err, MpdError::UnknownUri { uri, .. } if uri == "x.wav"),
        "{err:?}"
    );
    assert_eq!(mpd.queue().await.unwrap(), before);

    let err = mpd.append(&["bad\nname.wav"]).await.unwrap_err();
    assert!(matches!(err, MpdError::InvalidUri { .. }), "{err:?}");
}

#[tokio::test]
async fn password_is_sent_and_a_wrong_one_is_reported() {
    let Some(fx) = fixture(Some("secret")) else {
        return;
    };
    let good = fx.mpd.target();
    assert_eq!(good.password(), Some("secret"));
    assert_eq!(
        fx.mpd.mpd_host(),
        format!("secret@{}", fx.mpd.socket().display())
    );

    let wrong = MpdTarget::unix(fx.mpd.socket()).with_password("wrong");
    let err = within(10, Mpd::connect(&wrong)).await.unwrap_err();
    assert!(matches!(err, MpdError::WrongPassword { .. }), "{err:?}");
    assert!(!err.to_string().contains("wrong"), "{err}");

    // Without a password MPD allows nothing, not even `idle`.
    let err = within(10, Mpd::connect(&MpdTarget::unix(fx.mpd.socket())))
        .await
        .unwrap_err();
    assert!(matches!(err, MpdError::PermissionDenied { .. }), "{err:?}");
    assert!(err.to_string().contains("password"), "{err}");

    let mpd = within(10, Mpd::connect(&good)).await.unwrap();
    assert_eq!(mpd.db_files().await.unwrap().len(), SONGS.len());
    assert!(mpd.music_directory().await.unwrap().is_some());
}

#[tokio::test]
async fn connecting_where_nothing_listens_fails_quickly() {
    let dir = tempfile::Builder::new().prefix("mpdt").tempdir().unwrap();

    // No socket file.
    let target = MpdTarget::unix(dir.path().join("none.sock"));
    let start = Instant::now();
    let err = Mpd::connect(&target).await.unwrap_err();
    assert!(start.elapsed() < Duration::from_secs(1));
    let MpdError::Connect { source, .. } = &err else {
        panic!("expected Connect, got {err:?}")
    };
    assert_eq!(source.kind(), std::io::ErrorKind::NotFound);
    let message = err.to_string();
    assert!(message.contains("none.sock"), "{message}");
    assert!(message.contains("is MPD running?"), "{message}");

    // A socket file nobody listens on (what a killed MPD leaves).
    let stale = dir.path().join("stale.sock");
    drop(std::os::unix::net::UnixListener::bind(&stale).unwrap());
    let start = Instant::now();
    let err = Mpd::connect(&MpdTarget::unix(&stale)).await.unwrap_err();
    assert!(start.elapsed() < Duration::from_secs(1));
    assert!(
        matches!(&err, MpdError::Connect { source, .. }
            if source.kind() == std::io::ErrorKind::ConnectionRefused),
        "{err:?}"
    );

    // A TCP port nobody listens on.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let err = Mpd::connect(&MpdTarget::tcp("127.0.0.1", port))
        .await
        .unwrap_err();
    assert!(matches!(err, MpdError::Connect { .. }), "{err:?}");
    assert!(err.to_string().contains(&format!("127.0.0.1:{port}")));

    // An abstract socket nobody listens on.
    #[cfg(target_os = "linux")]
    {
        let err = Mpd::connect(&MpdTarget::abstract_socket("sonority-test-nobody"))
            .await
            .unwrap_err();
        assert!(matches!(err, MpdError::Connect { .. }), "{err:?}");
        assert!(err.to_string().contains("@sonority-test-nobody"), "{err}");
    }
}

#[tokio::test]
async fn a_silent_peer_times_out() {
    let dir = tempfile::Builder::new().prefix("mpdt").tempdir().unwrap();
    let path = dir.path().join("silent.sock");
    let listener = tokio::net::UnixListener::bind(&path).unwrap();
    let _server = tokio::spawn(async move {
        let (stream, _) = listener.accept().await.unwrap();
        tokio::time::sleep(Duration::from_secs(30)).await;
        drop(stream);
    });
    let start = Instant::now();
    let err = Mpd::connect_timeout(&MpdTarget::unix(&path), Duration::from_millis(300))
        .await
        .unwrap_err();
    assert!(start.elapsed() < Duration::from_secs(2));
    assert!(
        matches!(&err, MpdError::Timeout { operation, .. } if operation == "connect"),
        "{err:?}"
    );
}

/// A scripted stand-in for MPD that refuses `config` as MPD does for non-local clients (a real
/// MPD over TCP answers exactly this line).
#[tokio::test]
async fn config_refused_gives_no_music_directory() {
    use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

    let dir = tempfile::Builder::new().prefix("mpdt").tempdir().unwrap();
    let path = dir.path().join("fake.sock");
    let listener = tokio::net::UnixListener::bind(&path).unwrap();
    let _server = tokio::spawn(async move {
        // `Mpd` opens two connections: commands, and one waiting in `idle`.
        while let Ok((stream, _)) = listener.accept().await {
            tokio::spawn(async move {
                let (read, mut write) = stream.into_split();
                write.write_all(b"OK MPD 0.23.5\n").await.unwrap();
                let mut lines = BufReader::new(read).lines();
                while let Ok(Some(line)) = lines.next_line().await {
                    let reply: &[u8] = match line.as_str() {
                        "idle" => continue,
                        "config" => b"ACK [4@0] {config} Command only permitted to local clients\n",
                        _ => b"OK\n",
                    };
                    write.write_all(reply).await.unwrap();
                }
            });
        }
    });
    let mpd = within(5, Mpd::connect(&MpdTarget::unix(&path)))
        .await
        .unwrap();
    assert_eq!(within(5, mpd.music_directory()).await.unwrap(), None);
}

#[tokio::test]
async fn restart_closes_old_connections_and_new_ones_work() {
    let Some(mut fx) = fixture(None) else { return };
    let mut old = within(10, Mpd::connect(&fx.mpd.target())).await.unwrap();
    old.status().await.unwrap();

    fx.mpd.restart().unwrap();

    let fresh = within(10, Mpd::connect(&fx.mpd.target())).await.unwrap();
    assert_eq!(fresh.db_files().await.unwrap().len(), SONGS.len());

    let err = within(5, old.next_event(&[])).await.unwrap_err();
    assert!(
        matches!(err, MpdError::ConnectionClosed { .. } | MpdError::Io { .. }),
        "{err:?}"
    );
    assert!(old.is_closed());
    let err = old.status().await.unwrap_err();
    assert!(matches!(err, MpdError::ConnectionClosed { .. }), "{err:?}");

    fx.mpd.stop().unwrap();
    let err = Mpd::connect(&fx.mpd.target()).await.unwrap_err();
    assert!(matches!(err, MpdError::Connect { .. }), "{err:?}");
}

#[tokio::test]
async fn update_reports_a_database_event() {
    let Some(fx) = fixture(None) else { return };
    let mut mpd = within(10, Mpd::connect(&fx.mpd.target())).await.unwrap();

    write_wav(&fx.music().join("c/seven.wav"), 300.0, 1.0);
    let job = mpd.update().await.unwrap();
    assert!(job > 0);
    let event = within(20, mpd.next_event(&[Subsystem::Database]))
        .await
        .unwrap();
    assert_eq!(event, Subsystem::Database);
    within(20, mpd.wait_update_done()).await.unwrap();
    assert!(
        mpd.db_files()
            .await
            .unwrap()
            .contains(&"c/seven.wav".to_owned())
    );

    // wait_update_done alone, and the events it saw stay for next_event.
    write_wav(&fx.music().join("c/eight.wav"), 310.0, 1.0);
    mpd.update().await.unwrap();
    within(20, mpd.wait_update_done()).await.unwrap();
    assert_eq!(mpd.status().await.unwrap().updating_db, None);
    assert!(
        mpd.db_files()
            .await
            .unwrap()
            .contains(&"c/eight.wav".to_owned())
    );
    assert_eq!(
        within(5, mpd.next_event(&[Subsystem::Database]))
            .await
            .unwrap(),
        Subsystem::Database
    );
}

#[tokio::test]
async fn a_long_work_dir_still_gets_a_short_socket() {
    let dir = tempfile::Builder::new().prefix("mpdt").tempdir().unwrap();
    let music = dir.path().join("music");
    write_wav(&music.join("a/one.wav"), 440.0, 1.0);
    let work = dir.path().join("w".repeat(60)).join("x".repeat(60));
    let Some(mpd) = PrivateMpd::start(&work, &music).unwrap() else {
        return;
    };
    assert!(
        mpd.socket().as_os_str().len() <= 100,
        "{}",
        mpd.socket().display()
    );
    let client = within(10, Mpd::connect(&mpd.target())).await.unwrap();
    assert_eq!(client.db_files().await.unwrap(), ["a/one.wav"]);
}
