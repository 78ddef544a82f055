//! End to end with the shipped default model: index a folder of generated tracks, recommend,
//! re-index incrementally, recognise a move, prune a deletion, analyse an outside anchor.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};

use sonority::StopFlag;
use sonority::mfcc::SliceSource;
use sonority::store::VectorStore;
use sonority::{Analyzer, IndexOptions, Library, Model};
use sonority_testkit::Rng;

/// Three "albums" with clearly different sounds, three tracks each (different notes and seeds).
fn synth(album: usize, track: usize, seconds: f32) -> Vec<f32> {
    let sr = 22_050.0;
    let n = (seconds * sr) as usize;
    let mut rng = Rng::new((album * 97 + track * 13) as u64);
    let mut noise = move || rng.uniform(-0.5, 0.5);
    let base = [110.0, 880.0, 220.0][album] * (1.0 + 0.12 * track as f32);
    (0..n)
        .map(|i| {
            let t = i as f32 / sr;
            let ph = 2.0 * std::f32::consts::PI * base * t;
            match album {
                // Soft low chords.
                0 => 0.3 * ph.sin() + 0.2 * (ph * 1.5).sin() + 0.1 * (ph * 2.0).sin(),
                // Bright buzzy square wave with noise.
                1 => 0.25 * ph.sin().signum() + 0.05 * noise(),
                // Percussive noise bursts on a beat over a bass tone.
                _ => {
                    let beat = (t * (2.0 + track as f32 * 0.3)).fract();
                    0.6 * noise() * (-beat * 30.0).exp() + 0.2 * ph.sin()
                }
            }
        })
        .collect()
}

fn write_wav(path: &Path, y: &[f32]) {
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: 22_050,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut w = hound::WavWriter::create(path, spec).unwrap();
    for &s in y {
        w.write_sample((s.clamp(-1.0, 1.0) * 32_000.0) as i16)
            .unwrap();
    }
    w.finalize().unwrap();
}

fn make_folder(dir: &Path) -> Vec<PathBuf> {
    let mut paths = Vec::new();
    for a in 0..3 {
        let sub = dir.join(format!("album{a}"));
        std::fs::create_dir_all(&sub).unwrap();
        for t in 0..3 {
            let p = sub.join(format!("track{t}.wav"));
            write_wav(&p, &synth(a, t, 8.0));
            paths.push(p);
        }
    }
    paths
}

#[test]
fn index_recommend_and_reindex() {
    let model = Model::load_default().expect("the shipped default model loads");
    let tmp = tempfile::tempdir().unwrap();
    let music = tmp.path().join("music");
    let paths = make_folder(&music);
    let db = tmp.path().join("library.sqlite");
    let mut lib = Library::open(&db, &model).unwrap();
    let opts = IndexOptions::default().with_threads(2);

    let r = lib.index(&music, &opts, &StopFlag::new(), |_| {}).unwrap();
    assert_eq!((r.found, r.analysed, r.failed.len()), (9, 9, 0), "{r:?}");
    let m = lib.store().load_matrix(model.name()).unwrap();
    assert_eq!((m.ids.len(), m.dim), (9, model.output_dim()));
    assert!(m.data.iter().all(|v| v.is_finite()));

    // The anchor is never recommended; its album-mates come first.
    let anchor = std::fs::canonicalize(&paths[0]).unwrap();
    let recs = lib
        .recommend(std::slice::from_ref(&anchor), 8, false)
        .unwrap();
    assert_eq!(recs.len(), 8);
    assert!(recs.iter().all(|r| r.track.record.file.path != anchor));
    let album_of = |p: &Path| p.parent().unwrap().file_name().unwrap().to_os_string();
    let top2: Vec<_> = recs[..2]
        .iter()
        .map(|r| album_of(&r.track.record.file.path))
        .collect();
    assert!(
        top2.iter().all(|a| *a == album_of(&anchor)),
        "top 2 should be album0: {top2:?}"
    );
    assert!(recs.windows(2).all(|w| w[0].score >= w[1].score));
    assert!(
        recs.iter()
            .all(|r| (0.0..=100.0).contains(&r.similarity_0_100))
    );
    let explained: f32 = recs[0].explanation.iter().map(|(_, c)| c).sum();
    assert!(
        (explained - recs[0].score).abs() < 1e-3,
        "explanations sum to the score"
    );

    // Nothing changed: nothing analysed.
    let r = lib.index(&music, &opts, &StopFlag::new(), |_| {}).unwrap();
    assert_eq!((r.analysed, r.unchanged), (0, 9), "{r:?}");

    // A move keeps the analysis; a deletion is pruned.
    std::fs::rename(&paths[4], music.join("album1/renamed.wav")).unwrap();
    std::fs::remove_file(&paths[8]).unwrap();
    let r = lib.index(&music, &opts, &StopFlag::new(), |_| {}).unwrap();
    assert_eq!((r.analysed, r.moved, r.pruned), (0, 1, 1), "{r:?}");
    assert_eq!(lib.store().track_count().unwrap(), 8);

    // The cached index follows (the store's change log, not a reload): the moved track under
    // its new path, the deleted one gone, exactly as a library opened afresh ranks them.
    let names = |recs: &[sonority::Recommendation]| -> Vec<(PathBuf, u32)> {
        recs.iter()
            .map(|r| (r.track.record.file.path.clone(), r.score.to_bits()))
            .collect()
    };
    let cached = lib
        .recommend(std::slice::from_ref(&anchor), 20, false)
        .unwrap();
    let fresh = Library::open(&db, &model)
        .unwrap()
        .recommend(std::slice::from_ref(&anchor), 20, false)
        .unwrap();
    assert_eq!(names(&cached), names(&fresh));
    assert_eq!(cached.len(), 7);
    assert!(
        cached
            .iter()
            .any(|r| r.track.record.file.path.ends_with("album1/renamed.wav"))
    );
    assert!(
        !cached
            .iter()
            .any(|r| r.track.record.file.path.ends_with("album2/track2.wav"))
    );

    // Another writer on the same database (another process, say) adds a track: this
    // library's next query sees it.
    let mut other = Library::open(&db, &model).unwrap();
    write_wav(&music.join("album0/track9.wav"), &synth(0, 5, 8.0));
    let r = other
        .index(&music, &opts, &StopFlag::new(), |_| {})
        .unwrap();
    assert_eq!(r.analysed, 1, "{r:?}");
    let cached = lib
        .recommend(std::slice::from_ref(&anchor), 20, false)
        .unwrap();
    assert_eq!(cached.len(), 8);
    assert!(
        cached
            .iter()
            .any(|r| r.track.record.file.path.ends_with("album0/track9.wav"))
    );
    std::fs::remove_file(music.join("album0/track9.wav")).unwrap();
    let r = other
        .index(&music, &opts, &StopFlag::new(), |_| {})
        .unwrap();
    assert_eq!(r.pruned, 1, "{r:?}");
    let cached = lib
        .recommend(std::slice::from_ref(&anchor), 20, false)
        .unwrap();
    assert_eq!(cached.len(), 7);

    // An anchor outside the library is analysed on the fly, and its copy inside is excluded.
    let outside = tmp.path().join("outside.wav");
    std::fs::copy(&paths[1], &outside).unwrap();
    let recs = lib.recommend(&[outside], 3, false).unwrap();
    let inside = std::fs::canonicalize(&paths[1]).unwrap();
    assert!(recs.iter().all(|r| r.track.record.file.path != inside));
}

#[test]
fn silence_and_dc_give_finite_vectors() {
    let model = Model::load_default().unwrap();
    let analyzer = Analyzer::new(&model);
    for y in [
        vec![0.0_f32; 22_050 * 3],
        vec![0.5_f32; 22_050 * 3],
        vec![0.0_f32; 100],
    ] {
        let a = analyzer
            .analyze_source(&mut SliceSource::new(&y, 22_050))
            .unwrap();
        assert_eq!(a.vector.len(), model.output_dim());
        assert!(a.vector.iter().all(|v| v.is_finite()));
    }
}

#[test]
fn streaming_analysis_equals_cached_features() {
    // What `evaluate` measures (features cached once) is what `index` stores (one streaming pass).
    let model = Model::load_default().unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let p = tmp.path().join("x.wav");
    write_wav(&p, &synth(2, 1, 20.0));
    let streamed = Analyzer::new(&model).analyze_file(&p).unwrap().vector;
    let data = sonority::train::extract_track_data(
        &p,
        &sonority::train::ExtractOptions::for_model(&model),
    )
    .unwrap();
    let cached = sonority::train::embed_track_data(&model, &data).unwrap();
    assert_eq!(streamed.len(), cached.len());
    for (a, b) in streamed.iter().zip(&cached) {
        assert!((a - b).abs() <= 1e-4 * (1.0 + a.abs()), "{a} vs {b}");
    }
}

#[test]
fn saving_the_model_twice_writes_the_same_bytes() {
    let model = Model::load_default().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("a"), dir.path().join("b"));
    model.save(&a).unwrap();
    model.save(&b).unwrap();
    let mut names: Vec<_> = std::fs::read_dir(&a)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    names.sort();
    assert!(names.len() >= 4, "{names:?}");
    for name in &names {
        let (x, y) = (
            std::fs::read(a.join(name)).unwrap(),
            std::fs::read(b.join(name)).unwrap(),
        );
        assert!(x == y, "{name:?} differs between two saves");
    }
    // And the saved copy loads and analyses as the original.
    let back = Model::load(&a).unwrap();
    assert_eq!(back.name(), model.name());
}

#[test]
fn a_time_limit_gives_a_typed_timeout_naming_the_file() {
    let model = Model::load_default().unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("slow.wav");
    write_wav(&path, &synth(1, 0, 8.0));
    let err = Analyzer::new(&model)
        .with_time_limit(Some(std::time::Duration::ZERO))
        .analyze_file(&path)
        .unwrap_err();
    match &err {
        sonority::Error::Timeout { path: p, .. } => assert_eq!(p, &path),
        other => panic!("expected a timeout, got {other:?}"),
    }
    assert!(err.to_string().contains("slow.wav"), "{err}");
    let a = Analyzer::new(&model)
        .with_time_limit(Some(std::time::Duration::from_secs(600)))
        .analyze_file(&path)
        .unwrap();
    assert!(a.vector.iter().all(|v| v.is_finite()));
}

#[test]
fn the_largest_files_are_analysed_first() {
    // Longest-processing-time-first: with one worker the files finish in decreasing size,
    // whatever the scan order (here the shortest file sorts first by name).
    let model = Model::load_default().unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let music = tmp.path().join("music");
    std::fs::create_dir_all(&music).unwrap();
    for (name, seconds) in [("a.wav", 1.0), ("b.wav", 3.0), ("c.wav", 2.0)] {
        write_wav(&music.join(name), &synth(1, 0, seconds));
    }
    let mut lib = Library::open(&tmp.path().join("library.sqlite"), &model).unwrap();
    let mut order = Vec::new();
    let r = lib
        .index(
            &music,
            &IndexOptions::default().with_threads(1),
            &StopFlag::new(),
            |p| {
                order.extend(
                    p.last
                        .as_ref()
                        .and_then(|l| l.file_name())
                        .map(|f| f.to_owned()),
                )
            },
        )
        .unwrap();
    assert_eq!(r.analysed, 3, "{r:?}");
    assert_eq!(order, ["b.wav", "c.wav", "a.wav"]);
}
