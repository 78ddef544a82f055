//! Bytes → one part of a model directory (the rest from a valid model) → `Model::load` (which
//! loads the tile autoencoder with `ConvAutoencoder::load`, the fusion, and checks that the
//! parts agree). Must never panic; a model that loads must analyse a short signal without
//! panicking and give a finite vector or an error.
//!
//! ```text
//! cd fuzz && cargo +nightly fuzz run model_load corpus/model_load -- -jobs=1 -max_total_time=600
//! ```
//!
//! The first byte picks the part to replace (`model.json`, `tile.json`, `tile.safetensors`,
//! `fusion.json`), the rest is its content. The valid model comes from `SONORITY_FUZZ_MODEL`
//! (a model directory), else the shipped default model. `seed_corpus.sh` writes each valid part
//! as a seed, so mutations start from real files.
#![no_main]

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use sonority::mfcc::SliceSource;
use sonority::{Analyzer, Model};

const PARTS: [&str; 4] = ["model.json", "tile.json", "tile.safetensors", "fusion.json"];

fn base_dir() -> PathBuf {
    std::env::var_os("SONORITY_FUZZ_MODEL").map_or_else(Model::default_dir, PathBuf::from)
}

/// The valid model's files, read once.
fn base() -> &'static Vec<(String, Vec<u8>)> {
    static FILES: OnceLock<Vec<(String, Vec<u8>)>> = OnceLock::new();
    FILES.get_or_init(|| {
        let dir = base_dir();
        Model::load(&dir).unwrap_or_else(|e| panic!("the base model does not load: {e}"));
        std::fs::read_dir(&dir)
            .unwrap()
            .filter_map(|e| {
                let e = e.ok()?;
                e.file_type().ok()?.is_file().then(|| {
                    let name = e.file_name().to_string_lossy().into_owned();
                    (name, std::fs::read(e.path()).unwrap())
                })
            })
            .collect()
    })
}

fn scratch() -> &'static PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let root = if Path::new("/dev/shm").is_dir() {
            PathBuf::from("/dev/shm")
        } else {
            std::env::temp_dir()
        };
        let d = root.join(format!("sonority-fuzz-model-{}", std::process::id()));
        std::fs::create_dir_all(&d).unwrap();
        for (name, bytes) in base() {
            std::fs::write(d.join(name), bytes).unwrap();
        }
        d
    })
}

fn signal() -> &'static Vec<f32> {
    static S: OnceLock<Vec<f32>> = OnceLock::new();
    S.get_or_init(|| {
        (0..22_050 * 3)
            .map(|i| (i as f32 * 440.0 * std::f32::consts::TAU / 22_050.0).sin() * 0.3)
            .collect()
    })
}

fuzz_target!(|data: &[u8]| {
    let Some((&sel, body)) = data.split_first() else {
        return;
    };
    let part = PARTS[usize::from(sel) % PARTS.len()];
    let dir = scratch();
    std::fs::write(dir.join(part), body).unwrap();
    let loaded = Model::load(dir);
    if let Ok(model) = &loaded {
        // Guard against models that are valid but absurdly large to run.
        if model.header.n_mels <= 512 && model.header.tile_frames <= 1024 {
            let mut src = SliceSource::new(signal(), model.header.sample_rate);
            if let Ok(a) = Analyzer::new(model).analyze_source(&mut src) {
                assert!(a.vector.iter().all(|v| v.is_finite()), "non-finite vector");
            }
        }
    }
    // Restore the valid part for the next input.
    if let Some((_, bytes)) = base().iter().find(|(n, _)| n == part) {
        std::fs::write(dir.join(part), bytes).unwrap();
    }
});
