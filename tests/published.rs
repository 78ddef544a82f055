//! The published preset end to end on generated audio (a tiny training budget): train, save,
//! load, index and recommend through the library the examples use; its parameter counts; the
//! same seed giving the same bytes; model directories whose stages disagree refused with an
//! error naming the file.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};

use sonority::autoencoders::{ConvAeConfig, ConvAutoencoder, Encoder};
use sonority::model::FinalStage;
use sonority::store::VectorStore;
use sonority::train::{
    ExtractOptions, FusionRecipe, TrackData, TrainOptions, extract_all, train_model,
};
use sonority::{IndexOptions, Library, Model, StopFlag};
use sonority_testkit::Rng;

/// Two "albums" of two tracks: low soft chords and bright noisy square waves.
fn synth(album: usize, track: usize, seconds: f32) -> Vec<f32> {
    let sr = 22_050.0;
    let mut rng = Rng::new((album * 31 + track * 7) as u64);
    let base = [110.0, 880.0][album] * (1.0 + 0.1 * track as f32);
    (0..(seconds * sr) as usize)
        .map(|i| {
            let ph = 2.0 * std::f32::consts::PI * base * i as f32 / sr;
            if album == 0 {
                0.3 * ph.sin() + 0.2 * (ph * 1.5).sin()
            } else {
                0.25 * ph.sin().signum() + 0.05 * rng.uniform(-0.5, 0.5)
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
    for a in 0..2 {
        let sub = dir.join(format!("album{a}"));
        std::fs::create_dir_all(&sub).unwrap();
        for t in 0..2 {
            let p = sub.join(format!("track{t}.wav"));
            // 7 s: 302 frames, two 256-frame tiles (the second aligned to the end).
            write_wav(&p, &synth(a, t, 7.0));
            paths.push(p);
        }
    }
    paths
}

/// The published preset with one tiny epoch (2 steps of 4 tiles) and a few vector epochs.
fn tiny_published(fusion: FusionRecipe) -> TrainOptions {
    let mut o = TrainOptions::published();
    o.tile_training.max_epochs = 1;
    o.tile_training.samples_per_track = 1;
    o.vector.1.max_epochs = 3;
    o.fusion = fusion;
    o
}

fn extract(paths: &[PathBuf]) -> Vec<TrackData> {
    extract_all(paths, &ExtractOptions::published(), 2, |_, _| {})
        .into_iter()
        .map(|r| r.unwrap())
        .collect()
}

#[test]
fn published_preset_has_the_published_parameter_counts() {
    let o = TrainOptions::published();
    let tile = ConvAutoencoder::seeded(&o.tile, 0).unwrap();
    assert_eq!(tile.n_params(), 51_673);
    assert_eq!((o.tile.rows, o.tile.cols), (256, 256));
    assert_eq!(tile.output_dim(), 64, "4 x 4 x 4, flattened");
    // The fused vector: mean and std of the 64-value tile latents, then roll-off, tempo, key.
    let v = o.vector.0.clone().with_cols(2 * 64 + 3);
    let vector = ConvAutoencoder::seeded(&v, 0).unwrap();
    assert_eq!(vector.n_params(), 17_401);
    assert_eq!(v.latent_hwc(), [1, 3, 4]);
    assert_eq!(vector.output_dim(), 12);
    // The published 67-value input gives the published 8-value latent with the same weights.
    assert_eq!(
        ConvAutoencoder::seeded(&ConvAeConfig::published_1d(), 0)
            .unwrap()
            .output_dim(),
        8
    );
}

#[test]
fn published_preset_trains_indexes_and_recommends() {
    let tmp = tempfile::tempdir().unwrap();
    let music = tmp.path().join("music");
    let paths = make_folder(&music);
    let tracks = extract(&paths);
    assert!(tracks.iter().all(|t| t.n_mels == 256));
    let refs: Vec<&TrackData> = tracks.iter().collect();
    let model = train_model(&refs, &tiny_published(FusionRecipe::Published), |_| true).unwrap();
    assert_eq!(model.header.final_stage, FinalStage::VectorAutoencoder);
    assert_eq!((model.header.n_mels, model.header.tile_frames), (256, 256));
    assert_eq!(model.fusion.dim(), 131);
    assert_eq!(model.output_dim(), 12);
    // Tiles scaled to [0, 1]: one range for every band.
    let s = &model.header.band_stats;
    assert!(s.mean.windows(2).all(|w| w[0] == w[1]) && s.std[0] > 0.0);
    let dir = tmp.path().join("published-model");
    model.save(&dir).unwrap();
    for f in ["tile.safetensors", "vector.safetensors", "fusion.json"] {
        assert!(dir.join(f).is_file(), "{f}");
    }

    // The same code path as `index --model DIR` and `recommend --model DIR`.
    let loaded = Model::load(&dir).unwrap();
    assert_eq!(loaded.output_dim(), 12);
    let db = tmp.path().join("library.sqlite");
    let mut lib = Library::open(&db, &loaded).unwrap();
    let opts = IndexOptions::default().with_threads(2);
    let r = lib.index(&music, &opts, &StopFlag::new(), |_| {}).unwrap();
    assert_eq!((r.analysed, r.failed.len()), (4, 0), "{r:?}");
    let m = lib.store().load_matrix(loaded.name()).unwrap();
    assert_eq!((m.ids.len(), m.dim), (4, 12));
    assert!(m.data.iter().all(|v| v.is_finite()));
    let anchor = std::fs::canonicalize(&paths[0]).unwrap();
    let recs = lib
        .recommend(std::slice::from_ref(&anchor), 3, false)
        .unwrap();
    assert_eq!(recs.len(), 3);
    assert!(recs.iter().all(|r| r.track.record.file.path != anchor));
    assert!(recs.iter().all(|r| r.score.is_finite()));
    // With a learned final stage, each recommendation is explained from the fused vectors
    // stored beside the final ones: the same figures as `Model::explain_stage` on the two
    // tracks' analyses, one per block of the fusion layout.
    let m = lib
        .store()
        .load_matrix(&format!("{}+fused", loaded.name()))
        .unwrap();
    assert_eq!((m.ids.len(), m.dim), (4, 131));
    let analyzer = sonority::Analyzer::new(&loaded);
    let qa = analyzer.analyze_file(&anchor).unwrap();
    let qb: Vec<(&str, &[f32])> = qa.blocks.iter().map(|(n, b)| (*n, b.as_slice())).collect();
    for r in &recs {
        assert_eq!(r.explanation.len(), 2, "{:?}", r.explanation);
        assert!(r.explanation.windows(2).all(|w| w[0].1 >= w[1].1));
        let ra = analyzer.analyze_file(&r.track.record.file.path).unwrap();
        let rb: Vec<(&str, &[f32])> = ra.blocks.iter().map(|(n, b)| (*n, b.as_slice())).collect();
        let (base, parts) = loaded.explain_stage(&qb, &rb).unwrap();
        assert!((base - r.score).abs() < 1e-4, "{base} {}", r.score);
        for p in parts {
            let (_, c) = r.explanation.iter().find(|(n, _)| *n == p.block).unwrap();
            assert!(
                (c - p.cosine_lost).abs() < 1e-4,
                "{}: {c} {}",
                p.block,
                p.cosine_lost
            );
        }
    }

    // Indexing analyses the file as training embedded it.
    let a = sonority::Analyzer::new(&loaded)
        .analyze_file(&paths[1])
        .unwrap();
    let e = sonority::train::embed_track_data(&loaded, &extract(&paths[1..2])[0]).unwrap();
    assert!(a.vector.iter().zip(&e).all(|(x, y)| (x - y).abs() < 1e-4));

    // A directory whose stages disagree is refused, naming the file.
    let bad = tmp.path().join("bad");
    loaded.save(&bad).unwrap();
    let other = ConvAutoencoder::seeded(&ConvAeConfig::published_1d().with_cols(67), 1).unwrap();
    let (vj, vw) = other.to_bytes("vector.safetensors").unwrap();
    std::fs::write(bad.join("vector.json"), vj).unwrap();
    std::fs::write(bad.join("vector.safetensors"), vw).unwrap();
    let err = Model::load(&bad).unwrap_err().to_string();
    assert!(err.contains("vector.json") && err.contains("131"), "{err}");
    std::fs::remove_file(bad.join("vector.safetensors")).unwrap();
    let err = Model::load(&bad).unwrap_err().to_string();
    assert!(err.contains("vector.safetensors"), "{err}");
}

#[test]
fn published_preset_same_seed_same_bytes_and_standardised_option() {
    let tmp = tempfile::tempdir().unwrap();
    let paths = make_folder(tmp.path());
    let tracks = extract(&paths);
    let refs: Vec<&TrackData> = tracks.iter().collect();
    let weights = |m: &Model| -> Vec<(&'static str, Vec<u8>)> {
        m.to_files()
            .unwrap()
            .into_iter()
            .filter(|(n, _)| n.ends_with(".safetensors") || *n == "fusion.json")
            .collect()
    };
    let o = tiny_published(FusionRecipe::PublishedBlocksStandardized);
    let a = train_model(&refs, &o, |_| true).unwrap();
    let b = train_model(&refs, &o, |_| true).unwrap();
    assert_eq!(weights(&a), weights(&b));
    let names: Vec<&str> = a
        .fusion
        .layout()
        .blocks
        .iter()
        .map(|b| b.name.as_str())
        .collect();
    assert_eq!(names, ["tiles", "key", "tempo", "rolloff"]);
    let mut o2 = o.clone();
    o2.tile_training.seed = 1;
    let c = train_model(&refs, &o2, |_| true).unwrap();
    assert_ne!(weights(&a), weights(&c));
}
