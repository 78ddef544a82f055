//! Playlists, paths and albums over an indexed folder with the shipped model: tags from the
//! files (lofty) in the database, untagged tracks' albums from their folders, the rules of
//! every list, the M3U8 output read back by a parser, and the library's methods by path over
//! the folders it answers from. (The JSON documents are the command's: `cli/tests/cli.rs`.)
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use lofty::config::WriteOptions;
use lofty::prelude::{Accessor, ItemKey, TagExt};
use lofty::tag::{Tag, TagType};
use sonority::m3u::{M3uEntry, write_m3u8};
use sonority::similarity::{PathConfig, PlaylistConfig, PlaylistMode, Rules};
use sonority::{IndexOptions, Library, Model, StopFlag};
use sonority_testkit::Rng;
use sonority_testkit::signal::write_wav_i16;

/// Four folders of three 5 s tracks with distinct sounds; folder 0 is tagged (one album,
/// one artist, discs 1 and 2), the others not.
fn make_folder(dir: &Path) -> Vec<Vec<PathBuf>> {
    let sr = 22_050u32;
    let mut out = Vec::new();
    for a in 0..4 {
        let sub = dir.join(format!("folder{a}"));
        std::fs::create_dir_all(&sub).unwrap();
        let mut paths = Vec::new();
        for t in 0..3 {
            let mut rng = Rng::new((a * 31 + t) as u64);
            let base = [110.0, 880.0, 220.0, 440.0][a] * (1.0 + 0.1 * t as f32);
            let y: Vec<f32> = (0..5 * sr as usize)
                .map(|i| {
                    let ph = 2.0 * std::f32::consts::PI * base * i as f32 / sr as f32;
                    match a {
                        0 => 0.3 * ph.sin() + 0.1 * (2.0 * ph).sin(),
                        1 => 0.25 * ph.sin().signum(),
                        2 => {
                            0.3 * rng.uniform(-1.0, 1.0)
                                * (-(i as f32 / 2000.0).fract() * 8.0).exp()
                        }
                        _ => 0.2 * ph.sin() + 0.05 * rng.uniform(-1.0, 1.0),
                    }
                })
                .collect();
            let p = sub.join(format!("track{t}.wav"));
            write_wav_i16(&p, 1, sr, &y).unwrap();
            if a == 0 {
                let mut tag = Tag::new(TagType::Id3v2);
                tag.set_title(format!("Piece {t}"));
                tag.set_artist("Ann Example".into());
                tag.set_album("First Light".into());
                tag.insert_text(ItemKey::AlbumArtist, "The Examples".into());
                tag.set_track(t as u32 + 1);
                tag.set_disk(if t < 2 { 1 } else { 2 });
                tag.set_genre("Jazz".into());
                tag.insert_text(ItemKey::RecordingDate, "1999-05-01".into());
                tag.insert_text(ItemKey::Composer, "C. Omposer".into());
                tag.save_to_path(&p, WriteOptions::default()).unwrap();
            }
            paths.push(p);
        }
        out.push(paths);
    }
    out
}

#[test]
fn playlists_paths_albums_and_their_outputs() {
    let model = Model::load_default().unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let music = tmp.path().join("music");
    let folders = make_folder(&music);
    let mut lib = Library::open(&tmp.path().join("lib.sqlite"), &model).unwrap();
    let opts = IndexOptions::default().with_threads(2);
    let r = lib.index(&music, &opts, &StopFlag::new(), |_| {}).unwrap();
    assert_eq!((r.analysed, r.failed.len()), (12, 0), "{r:?}");
    let seed = folders[0][0].clone();

    lib.with_catalogue(|index| {
        // Tags written by lofty come back from the database.
        let id = Library::track_id(index, &folders[0][2]).unwrap();
        let tags = &index.track(id).unwrap().record.tags;
        assert_eq!(tags.title.as_deref(), Some("Piece 2"));
        assert_eq!(tags.album_artist.as_deref(), Some("The Examples"));
        assert_eq!((tags.disc_number, tags.track_number), (Some(2), Some(3)));
        assert_eq!(
            (tags.genre.as_deref(), tags.year),
            (Some("Jazz"), Some(1999))
        );
        assert_eq!(
            tags.extra.get("composer").map(String::as_str),
            Some("C. Omposer")
        );

        // A playlist: at most one track per album (untagged folders are albums), no seed.
        let anchors = lib.anchors(index, std::slice::from_ref(&seed))?;
        for mode in [PlaylistMode::Seeds, PlaylistMode::Walk { seed_weight: 0.3 }] {
            let cfg = PlaylistConfig::new(10)
                .with_mode(mode)
                .with_rules(Rules::default().with_max_per_album(1));
            let list = index.playlist(&anchors, &cfg)?;
            let folders_used: Vec<PathBuf> = list
                .iter()
                .map(|t| t.track.record.file.path.parent().unwrap().to_path_buf())
                .collect();
            // Four albums (the seed's counts too: the seed is not in the list): one track each.
            assert_eq!(list.len(), 4, "{folders_used:?}");
            assert_eq!(folders_used.iter().collect::<HashSet<_>>().len(), 4);
            assert!(
                list.iter()
                    .all(|t| t.track.record.file.path != std::fs::canonicalize(&seed).unwrap())
            );
        }

        // A path keeps its ends and has distinct tracks.
        let from = Library::track_id(index, &seed).unwrap();
        let to = Library::track_id(index, &folders[2][1]).unwrap();
        let path = index.path(from, to, &PathConfig::new(4))?;
        assert_eq!(path.first().unwrap().track.id, from);
        assert_eq!(path.last().unwrap().track.id, to);
        assert_eq!(
            path.iter()
                .map(|t| t.track.id)
                .collect::<HashSet<_>>()
                .len(),
            path.len()
        );

        // Albums: four, the untagged ones named after their folder, tracks in disc order.
        let albums = index.albums()?;
        assert_eq!(albums.albums().len(), 4);
        let tagged = albums.album_of_row(index.row_of(from).unwrap()).unwrap();
        let names: Vec<String> = albums.albums()[tagged]
            .rows
            .iter()
            .map(|&r| {
                index.tracks_of_rows(&[(r, 0.0)])[0]
                    .track
                    .record
                    .tags
                    .title
                    .clone()
                    .unwrap()
            })
            .collect();
        assert_eq!(names, ["Piece 0", "Piece 1", "Piece 2"]);
        assert!(
            albums
                .albums()
                .iter()
                .any(|a| a.name.as_deref() == Some("folder1"))
        );

        // M3U8 below the playlist's folder (relative paths) and elsewhere (absolute), read
        // back by the `m3u` crate: every entry exists, with its duration and label.
        let list = index.playlist(&anchors, &PlaylistConfig::new(6))?;
        let entries: Vec<M3uEntry> = list.iter().map(|t| M3uEntry::of_track(&t.track)).collect();
        for out in [
            tmp.path().join("above.m3u8"),
            tmp.path().join("elsewhere/deep/x.m3u8"),
        ] {
            std::fs::create_dir_all(out.parent().unwrap()).unwrap();
            write_m3u8(&out, &entries)?;
            let mut reader = m3u::Reader::open_ext(&out).unwrap();
            let read: Vec<m3u::EntryExt> = reader.entry_exts().map(Result::unwrap).collect();
            assert_eq!(read.len(), entries.len());
            for (e, t) in read.iter().zip(&list) {
                let m3u::Entry::Path(p) = &e.entry else {
                    panic!("not a path")
                };
                assert_eq!(
                    p.is_relative(),
                    out.starts_with(tmp.path().join("above.m3u8"))
                );
                let full = out.parent().unwrap().join(p);
                assert!(full.is_file(), "{} does not exist", full.display());
                assert_eq!(
                    std::fs::canonicalize(full).unwrap(),
                    t.track.record.file.path
                );
                assert_eq!(
                    e.extinf.duration_secs,
                    t.track.record.duration_s.unwrap().round()
                );
            }
        }

        Ok(())
    })
    .unwrap();

    // An untagged anchor's album is its folder: `exclude_album` leaves the folder out.
    let recs = lib
        .recommend(std::slice::from_ref(&folders[1][0]), 11, true)
        .unwrap();
    assert_eq!(recs.len(), 9);
    let own = std::fs::canonicalize(music.join("folder1")).unwrap();
    assert!(
        recs.iter()
            .all(|r| !r.track.record.file.path.starts_with(&own))
    );
}

#[test]
fn library_methods_answer_by_path_from_the_folders_in_scope() {
    let model = Model::load_default().unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
    let fa = make_folder(&a);
    make_folder(&b);
    let mut lib = Library::open(&tmp.path().join("lib.sqlite"), &model).unwrap();
    let opts = IndexOptions::default().with_threads(2);
    for dir in [&a, &b] {
        let r = lib.index(dir, &opts, &StopFlag::new(), |_| {}).unwrap();
        assert_eq!(r.analysed, 12, "{r:?}");
    }
    let a_c = std::fs::canonicalize(&a).unwrap();
    let seed = fa[0][0].clone();
    // The whole library: the other folder's tracks come back too (its copy of the seed not:
    // same content).
    let all = lib
        .playlist(std::slice::from_ref(&seed), &PlaylistConfig::new(22))
        .unwrap();
    assert!(
        all.iter()
            .any(|t| !t.track.record.file.path.starts_with(&a_c))
    );
    assert!(
        all.iter()
            .all(|t| t.track.record.content_hash != lib.track(&seed).unwrap().record.content_hash)
    );
    // In scope of one folder: only its tracks, in every answer.
    let lib = lib.with_scope(std::slice::from_ref(&a)).unwrap();
    assert_eq!(lib.scope(), std::slice::from_ref(&a_c));
    let exclude = fa[1][0].clone();
    let cfg = PlaylistConfig::new(30).with_rules(Rules::default().with_exclude([exclude.clone()]));
    let list = lib.playlist(std::slice::from_ref(&seed), &cfg).unwrap();
    assert_eq!(
        list.len(),
        10,
        "eleven other tracks in the folder, one excluded by path"
    );
    assert!(
        list.iter()
            .all(|t| t.track.record.file.path.starts_with(&a_c))
    );
    assert!(
        list.iter()
            .all(|t| t.track.record.file.path != std::fs::canonicalize(&exclude).unwrap())
    );
    let recs = lib
        .recommend(std::slice::from_ref(&seed), 30, false)
        .unwrap();
    assert_eq!(recs.len(), 11);
    assert!(
        recs.iter()
            .all(|r| r.track.record.file.path.starts_with(&a_c))
    );
    let path = lib.path(&seed, &fa[3][2], &PathConfig::new(5)).unwrap();
    assert_eq!(path.len(), 5);
    assert!(
        path.iter()
            .all(|t| t.track.record.file.path.starts_with(&a_c))
    );
    let albums = lib.albums(&seed, 10, true).unwrap();
    assert_eq!(
        albums.len(),
        4,
        "the album itself and the folder's three others"
    );
    assert_eq!(albums[0].score, 1.0);
    assert!(
        albums
            .iter()
            .flat_map(|al| &al.tracks)
            .all(|t| t.track.record.file.path.starts_with(&a_c))
    );
    // A track of the other folder is known, but out of scope.
    let outside = b.join("folder2/track1.wav");
    match lib.path(&seed, &outside, &PathConfig::new(3)) {
        Err(sonority::Error::UnknownTrack { out_of_scope, .. }) => assert!(out_of_scope),
        other => panic!("{other:?}"),
    }
    match lib.albums(&tmp.path().join("nowhere.wav"), 3, false) {
        Err(sonority::Error::UnknownTrack { out_of_scope, .. }) => assert!(!out_of_scope),
        other => panic!("{other:?}"),
    }
    // Status: the folder's tracks, both roots, no failure.
    let st = lib.status().unwrap();
    assert_eq!((st.tracks, st.albums), (12, 4));
    assert_eq!(st.roots.len(), 2);
    assert!((st.audio_s - 60.0).abs() < 0.5, "{}", st.audio_s);
    assert!(st.failures.is_empty());
    assert_eq!(st.fingerprint, model.fingerprint().unwrap());
}
