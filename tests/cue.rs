//! CUE sheets with the shipped model: a WAV of three pieces with a sheet beside it indexes as
//! the sheet's three tracks (`SHEET.cue/trackNNNN`), each with its span, its tags from the
//! sheet and the vector of the piece on its own; the whole file is not a track. A sheet naming
//! a missing file, or with broken timings, fails alone and the rest of the library indexes.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};

use sonority::store::VectorStore;
use sonority::{Analyzer, IndexOptions, Library, Model, StopFlag};
use sonority_testkit::Rng;
use sonority_testkit::signal::write_wav_i16;

const SR: u32 = 22_050;

/// Three pieces of distinct sounds, of 5, 7 and 6 seconds.
fn pieces() -> Vec<Vec<f32>> {
    [5.0_f32, 7.0, 6.0]
        .iter()
        .enumerate()
        .map(|(k, &secs)| {
            let mut rng = Rng::new(k as u64 + 40);
            let base = [110.0_f32, 880.0, 330.0][k];
            (0..(secs * SR as f32) as usize)
                .map(|i| {
                    let ph = 2.0 * std::f32::consts::PI * base * i as f32 / SR as f32;
                    match k {
                        0 => 0.3 * ph.sin() + 0.1 * (2.0 * ph).sin(),
                        1 => 0.25 * ph.sin().signum() + 0.02 * rng.uniform(-1.0, 1.0),
                        _ => {
                            0.4 * rng.uniform(-1.0, 1.0)
                                * (-(i as f32 / 3000.0).fract() * 9.0).exp()
                                + 0.1 * ph.sin()
                        }
                    }
                })
                .collect()
        })
        .collect()
}

/// `mm:ss:ff` of a whole number of seconds.
fn timing(s: u32) -> String {
    format!("{:02}:{:02}:00", s / 60, s % 60)
}

fn cosine(a: &[f32], b: &[f32]) -> f32 {
    let dot: f32 = a.iter().zip(b).map(|(x, y)| x * y).sum();
    let n = |v: &[f32]| v.iter().map(|x| x * x).sum::<f32>().sqrt();
    dot / (n(a) * n(b))
}

#[test]
fn a_sheet_indexes_as_its_tracks_and_broken_sheets_fail_alone() {
    let model = Model::load_default().unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let music = tmp.path().join("music");
    let album = music.join("live");
    std::fs::create_dir_all(&album).unwrap();
    let pieces = pieces();
    let whole: Vec<f32> = pieces.concat();
    // The sheet names the file as it was before it was re-encoded (`.flac`): found by stem.
    write_wav_i16(&album.join("Live at Home.wav"), 1, SR, &whole).unwrap();
    let sheet = format!(
        "REM GENRE \"Ambient\"\nREM DATE 2001\nPERFORMER \"The Examples\"\nTITLE \"Live at Home\"\n\
         FILE \"Live at Home.flac\" WAVE\n  TRACK 01 AUDIO\n    TITLE \"Low\"\n    INDEX 01 {}\n\
         \x20 TRACK 02 AUDIO\n    TITLE \"Buzz\"\n    PERFORMER \"Guest\"\n    INDEX 00 {}\n    INDEX 01 {}\n\
         \x20 TRACK 03 AUDIO\n    TITLE \"Rain\"\n    INDEX 01 {}\n",
        timing(0),
        timing(4),
        timing(5),
        timing(12)
    );
    std::fs::write(album.join("Live at Home.cue"), sheet).unwrap();

    // A sheet naming a missing file fails alone (its folder has a normal track too).
    let other = music.join("other");
    std::fs::create_dir_all(&other).unwrap();
    write_wav_i16(&other.join("single.wav"), 1, SR, &pieces[1]).unwrap();
    std::fs::write(
        other.join("lost.cue"),
        "FILE \"gone.wav\" WAVE\n TRACK 01 AUDIO\n  INDEX 01 00:00:00\n",
    )
    .unwrap();
    // A sheet with broken timings fails alone; its audio file stays a whole track.
    let broken = music.join("broken");
    std::fs::create_dir_all(&broken).unwrap();
    write_wav_i16(&broken.join("b.wav"), 1, SR, &pieces[2]).unwrap();
    std::fs::write(
        broken.join("b.cue"),
        "FILE \"b.wav\" WAVE\n TRACK 01 AUDIO\n  INDEX 01 00:03:00\n TRACK 02 AUDIO\n  INDEX 01 00:01:00\n",
    )
    .unwrap();

    let mut lib = Library::open(&tmp.path().join("lib.sqlite"), &model).unwrap();
    let opts = IndexOptions::default().with_threads(2);
    let r = lib.index(&music, &opts, &StopFlag::new(), |_| {}).unwrap();
    let failed: Vec<&Path> = r.failed.iter().map(|(p, _)| p.as_path()).collect();
    assert_eq!(
        (r.found, r.analysed, failed.len()),
        (5, 5, 2),
        "three sheet tracks, single.wav, b.wav; two sheets failed: {r:?}"
    );
    let reason = |name: &str| {
        r.failed
            .iter()
            .find(|(p, _)| p.file_name().unwrap() == name)
            .map(|(_, why)| why.clone())
            .unwrap_or_default()
    };
    assert!(
        reason("lost.cue").contains("gone.wav"),
        "{}",
        reason("lost.cue")
    );
    assert!(reason("b.cue").contains("b.cue:4"), "{}", reason("b.cue"));
    let errors = lib.store().errors().unwrap();
    assert_eq!(errors.len(), 2, "{errors:?}");

    let root = std::fs::canonicalize(&music).unwrap();
    let sheet_path = root.join("live/Live at Home.cue");
    let names: Vec<PathBuf> = (1..=3)
        .map(|k| sheet_path.join(format!("track{k:04}")))
        .collect();
    let analyzer = Analyzer::new(&model);
    lib.with_catalogue(|index| {
        // The whole file is not a track; b.wav is.
        assert!(Library::track_id(index, &root.join("live/Live at Home.wav")).is_none());
        assert!(Library::track_id(index, &root.join("broken/b.wav")).is_some());
        let want = [
            ("Low", "The Examples", 1, 0.0, 5.0),
            ("Buzz", "Guest", 2, 5.0, 12.0),
            ("Rain", "The Examples", 3, 12.0, 18.0),
        ];
        for (k, (name, (title, artist, number, from, to))) in names.iter().zip(want).enumerate() {
            let id = Library::track_id(index, name).unwrap_or_else(|| panic!("{name:?}"));
            let rec = &index.track(id).unwrap().record;
            let tags = &rec.tags;
            assert_eq!(tags.title.as_deref(), Some(title));
            assert_eq!(tags.artist.as_deref(), Some(artist));
            assert_eq!(tags.album.as_deref(), Some("Live at Home"));
            assert_eq!(tags.album_artist.as_deref(), Some("The Examples"));
            assert_eq!(
                (tags.track_number, tags.genre.as_deref(), tags.year),
                (Some(number), Some("Ambient"), Some(2001))
            );
            let d = rec.duration_s.unwrap();
            assert!((d - (to - from)).abs() < 1e-3, "{name:?}: {d} s");
            // Its vector is the piece's own: the span is cut where the sheet says.
            let stored = lib.store().get(model.name(), id)?.unwrap();
            let alone = tmp.path().join(format!("piece{k}.wav"));
            write_wav_i16(&alone, 1, SR, &pieces[k]).unwrap();
            let own = analyzer.analyze_file(&alone)?.vector;
            let c = cosine(&stored, &own);
            assert!(c > 0.9999, "{name:?}: cosine {c} to the piece alone");
        }
        Ok(())
    })
    .unwrap();

    // A sheet track is an anchor like any file, by any spelling of its sheet's path.
    let relative_anchor = album.join("./Live at Home.cue/track0002");
    let recs = lib
        .recommend(std::slice::from_ref(&relative_anchor), 4, false)
        .unwrap();
    assert!(
        recs.iter().all(|r| r.track.record.file.path != names[1]),
        "the anchor is not recommended"
    );
    // single.wav holds the same piece as track 2: it comes first.
    assert_eq!(
        recs[0].track.record.file.path,
        root.join("other/single.wav")
    );

    // Indexing again analyses nothing; editing a title analyses the sheet's tracks again.
    let r = lib.index(&music, &opts, &StopFlag::new(), |_| {}).unwrap();
    assert_eq!((r.analysed, r.unchanged), (0, 5), "{r:?}");
    let cue = album.join("Live at Home.cue");
    let text = std::fs::read_to_string(&cue).unwrap();
    std::thread::sleep(std::time::Duration::from_millis(20));
    std::fs::write(&cue, text.replace("\"Rain\"", "\"Storm\"")).unwrap();
    let r = lib.index(&music, &opts, &StopFlag::new(), |_| {}).unwrap();
    assert_eq!(r.analysed, 1, "only the retitled track: {r:?}");
    lib.with_catalogue(|index| {
        let id = Library::track_id(index, &names[2]).unwrap();
        assert_eq!(
            index.track(id).unwrap().record.tags.title.as_deref(),
            Some("Storm")
        );
        Ok(())
    })
    .unwrap();
}

/// A FLAC file whose `CUESHEET` Vorbis comment cuts it (as foobar2000 writes it) indexes as
/// `FILE.flac/trackNNNN`, each track with its span and title.
#[test]
fn a_flac_with_an_embedded_sheet_indexes_as_its_tracks() {
    use lofty::config::WriteOptions;
    use lofty::ogg::tag::VorbisComments;
    use lofty::prelude::TagExt;

    let model = Model::load_default().unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let music = tmp.path().join("music");
    std::fs::create_dir_all(&music).unwrap();
    let image = music.join("image.flac");
    // 2 s of a chord at 22,050 Hz, mono.
    std::fs::write(&image, sonority_testkit::fixtures::FLAC_22K_MONO).unwrap();
    let mut comments = VorbisComments::default();
    comments.insert(
        "CUESHEET".into(),
        "TITLE \"Image\"\nFILE \"image.wav\" WAVE\n TRACK 01 AUDIO\n  TITLE \"First\"\n  INDEX 01 00:00:00\n TRACK 02 AUDIO\n  TITLE \"Second\"\n  INDEX 01 00:01:37\n"
            .into(),
    );
    comments
        .save_to_path(&image, WriteOptions::default())
        .unwrap();

    let mut lib = Library::open(&tmp.path().join("lib.sqlite"), &model).unwrap();
    let opts = IndexOptions::default().with_threads(1);
    let r = lib.index(&music, &opts, &StopFlag::new(), |_| {}).unwrap();
    assert_eq!((r.found, r.analysed, r.failed.len()), (2, 2, 0), "{r:?}");
    let image = std::fs::canonicalize(&image).unwrap();
    lib.with_catalogue(|index| {
        assert!(Library::track_id(index, &image).is_none());
        let split = 1.0 + 37.0 / 75.0;
        for (k, (title, secs)) in [("First", split), ("Second", 2.0 - split)]
            .into_iter()
            .enumerate()
        {
            let name = image.join(format!("track{:04}", k + 1));
            let id = Library::track_id(index, &name).unwrap_or_else(|| panic!("{name:?}"));
            let rec = &index.track(id).unwrap().record;
            assert_eq!(rec.tags.title.as_deref(), Some(title));
            assert_eq!(rec.tags.album.as_deref(), Some("Image"));
            let d = rec.duration_s.unwrap();
            assert!((d - secs).abs() < 1e-3, "{name:?}: {d} s, not {secs}");
        }
        Ok(())
    })
    .unwrap();
}
