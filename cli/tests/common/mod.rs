//! A generated, tagged music library and a runner for the built `sonority` binary.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use lofty::config::WriteOptions;
use lofty::prelude::{Accessor, TagExt};
use lofty::tag::{Tag, TagType};

/// One generated track: its path relative to the music folder and its tags.
#[derive(Debug, Clone)]
pub struct Song {
    /// Relative path (as MPD names it).
    pub rel: String,
    /// Artist tag.
    pub artist: String,
    /// Album tag.
    pub album: String,
    /// Genre tag.
    pub genre: String,
}

/// Four albums of three 4 s tracks by three artists, each album with its own sound, tagged
/// (ID3v2 in WAV); the last album's genre is "Christmas". Returns the songs in order.
pub fn make_library(music: &Path) -> Vec<Song> {
    let sr = 22_050u32;
    let albums = [
        ("Ann Example", "First Light", "Jazz"),
        ("Ann Example", "Second Light", "Jazz"),
        ("Bob Sample", "Square Roots", "Electronic"),
        ("Cat Noise", "Winter Bells", "Christmas"),
    ];
    let mut songs = Vec::new();
    for (a, (artist, album, genre)) in albums.iter().enumerate() {
        let dir = music.join(artist).join(album);
        std::fs::create_dir_all(&dir).unwrap();
        for t in 0..3 {
            let base = [110.0, 130.0, 880.0, 440.0][a] * (1.0 + 0.07 * t as f32);
            let mut seed = (a * 31 + t + 1) as u32;
            let y: Vec<f32> = (0..4 * sr as usize)
                .map(|i| {
                    seed = seed.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                    let noise = (seed >> 8) as f32 / (1u32 << 24) as f32 - 0.5;
                    let ph = 2.0 * std::f32::consts::PI * base * i as f32 / sr as f32;
                    match a {
                        0 | 1 => 0.3 * ph.sin() + 0.1 * (2.0 * ph).sin(),
                        2 => 0.25 * ph.sin().signum(),
                        _ => 0.4 * noise * (-(i as f32 / 3000.0).fract() * 8.0).exp(),
                    }
                })
                .collect();
            let rel = format!("{artist}/{album}/{:02} Track.wav", t + 1);
            let p = music.join(&rel);
            write_wav(&p, sr, &y);
            let mut tag = Tag::new(TagType::Id3v2);
            tag.set_title(format!("{album} {}", t + 1));
            tag.set_artist((*artist).into());
            tag.set_album((*album).into());
            tag.set_track(t as u32 + 1);
            tag.set_genre((*genre).into());
            tag.save_to_path(&p, WriteOptions::default()).unwrap();
            songs.push(Song {
                rel,
                artist: (*artist).into(),
                album: (*album).into(),
                genre: (*genre).into(),
            });
        }
    }
    songs
}

fn write_wav(path: &Path, sr: u32, y: &[f32]) {
    sonority_testkit::signal::write_wav_i16(path, 1, sr, y).unwrap();
}

/// The built binary with a private environment: no configuration file, library or MPD
/// of the user's is read.
pub fn sonority(home: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_sonority"));
    c.env_clear()
        .env("HOME", home)
        .env("XDG_CONFIG_HOME", home.join("config"))
        .env("XDG_DATA_HOME", home.join("data"))
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("RAYON_NUM_THREADS", "2");
    c
}

/// Runs a command and returns its output.
pub fn run(mut c: Command) -> Output {
    c.output().unwrap()
}

/// Standard output as text.
pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// Standard error as text.
pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Asserts a failure: a non-zero exit, one line on standard error that contains `needle`,
/// no panic and no backtrace.
pub fn assert_one_line_error(o: &Output, needle: &str) {
    let err = stderr(o);
    assert!(!o.status.success(), "succeeded: {err}");
    assert!(
        !err.contains("panicked") && !err.contains("backtrace"),
        "{err}"
    );
    let lines: Vec<&str> = err.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "not one line: {err:?}");
    assert!(
        lines[0].contains(needle),
        "{:?} does not contain {needle:?}",
        lines[0]
    );
}

/// A path under `root`, canonical.
pub fn canon(p: &Path) -> PathBuf {
    std::fs::canonicalize(p).unwrap()
}

/// An album ripped to one file with a CUE sheet beside it: `Dee Jay/Live/live.wav` (12 s)
/// and `live.cue` with three tracks, named `Dee Jay/Live/live.cue/track000N`.
pub fn make_cue_album(music: &Path) -> Vec<String> {
    let dir = music.join("Dee Jay/Live");
    std::fs::create_dir_all(&dir).unwrap();
    let sr = 22_050u32;
    let y: Vec<f32> = (0..12 * sr as usize)
        .map(|i| {
            let t = i as f32 / sr as f32;
            let f = [196.0, 330.0, 520.0][(t / 4.0) as usize % 3];
            0.3 * (2.0 * std::f32::consts::PI * f * t).sin()
        })
        .collect();
    write_wav(&dir.join("live.wav"), sr, &y);
    std::fs::write(
        dir.join("live.cue"),
        "PERFORMER \"Dee Jay\"\nTITLE \"Live\"\nREM GENRE \"Electronic\"\nFILE \"live.wav\" WAVE\n  TRACK 01 AUDIO\n    TITLE \"One\"\n    INDEX 01 00:00:00\n  TRACK 02 AUDIO\n    TITLE \"Two\"\n    INDEX 01 00:04:00\n  TRACK 03 AUDIO\n    TITLE \"Three\"\n    INDEX 01 00:08:00\n",
    )
    .unwrap();
    (1..=3)
        .map(|i| format!("Dee Jay/Live/live.cue/track{i:04}"))
        .collect()
}
