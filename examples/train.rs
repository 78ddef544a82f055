//! Train a model (tile autoencoder, fusion statistics, block weights) on a music folder.
//!
//! ```text
//! cargo run --release --example train -- ~/Music --out my-model [--epochs 150] [--seed 0]
//! cargo run --release --example train -- --manifest corpus/manifest.tsv --out models/default
//! cargo run --release --example train -- --manifest dev/manifest.tsv --manifest train/manifest.tsv \
//!     --whole-track --epochs 60 --out stage1
//! cargo run --release --example train -- --manifest dev/manifest.tsv --manifest train/manifest.tsv \
//!     --whole-track --continue-from stage1 --epochs 60 --seed 1000 --out stage2
//! ```
//!
//! Every track is decoded once; a uniform sample of up to eight 12-second excerpts per track is
//! kept (memory stays bounded whatever the track lengths). The tile autoencoder is trained on
//! random tiles with the same-track contrastive term, then the fusion statistics are fitted on
//! every track's blocks. The model directory it writes is what `recommend --model` and
//! `index --model` take.

mod common;

use std::path::PathBuf;
use std::time::Instant;

use clap::Parser;
use indicatif::{ProgressBar, ProgressStyle};
use sonority::Model;
use sonority::autoencoders::{ContrastiveConfig, TrainConfig};
use sonority::eval::read_manifest;
use sonority::train::{
    ExtractOptions, TrackData, TrainOptions, audio_files, continue_training, extract_all,
    shipped_augment, train_model,
};

/// Train a sonority model on a folder or a manifest.
#[derive(Parser, Debug)]
#[command(version, about)]
struct Args {
    /// The music folder (or use --manifest).
    music_dir: Option<PathBuf>,
    /// A manifest (`path<TAB>album...`) instead of a folder; repeat it to train on several.
    #[arg(long)]
    manifest: Vec<PathBuf>,
    /// Continue training this model directory's tile autoencoder for `--epochs` more epochs
    /// (its architecture and band statistics are kept; give another `--seed` than its first
    /// run's, or the same tile positions are replayed).
    #[arg(long)]
    continue_from: Option<PathBuf>,
    /// Where to write the model directory.
    #[arg(long)]
    out: PathBuf,
    /// Training epochs (each gives every track 4 pairs of random tiles).
    #[arg(long, default_value_t = 150)]
    epochs: usize,
    /// Stop training after this many seconds, whatever the epoch.
    #[arg(long)]
    budget_s: Option<f64>,
    /// Weight of the same-track contrastive term (0 = plain autoencoder).
    #[arg(long, default_value_t = 0.1)]
    contrastive: f64,
    /// Seed of everything random.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Model name (the embedding's name in databases).
    #[arg(long, default_value = "sonority-default-v2")]
    name: String,
    /// Worker threads for analysis.
    #[arg(long)]
    threads: Option<usize>,
    /// Train on every frame of every track (as `evaluate` does) instead of up to eight random
    /// 512-frame excerpts per track. Memory grows with the collection (1.3 MB per minute of
    /// audio, 80 MB per hour), so keep it for small training sets like the dev corpus.
    #[arg(long)]
    whole_track: bool,
    /// No training augmentation (the default applies `sonority::train::shipped_augment`: small
    /// gain offsets, time shifts and noise on each tile).
    #[arg(long)]
    no_augment: bool,
}

fn main() {
    if let Err(e) = run() {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}

fn run() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse();
    let mut paths: Vec<PathBuf> = Vec::new();
    for m in &args.manifest {
        paths.extend(read_manifest(m)?.into_iter().map(|e| e.path));
    }
    match &args.music_dir {
        Some(d) => paths.extend(audio_files(d)),
        None if paths.is_empty() => return Err("give a music folder or --manifest".into()),
        None => {}
    }
    let threads = args
        .threads
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(2, usize::from));
    let t0 = Instant::now();
    let bar = ProgressBar::new(paths.len() as u64);
    bar.set_style(ProgressStyle::with_template(
        "analysing {bar:30} {pos}/{len} files (ETA {eta})",
    )?);
    let mut tracks: Vec<TrackData> = Vec::new();
    let opts = if args.whole_track {
        ExtractOptions::default().with_seed(args.seed).whole_track()
    } else {
        ExtractOptions::default().with_seed(args.seed)
    };
    let results = extract_all(&paths, &opts, threads, |_, e| {
        bar.inc(1);
        if let Some(e) = e {
            bar.println(format!("skipping: {e}"));
        }
    });
    tracks.extend(results.into_iter().flatten());
    bar.finish_and_clear();
    // Completion order varies with threads: sort for a deterministic training set.
    tracks.sort_by(|a, b| {
        a.logmel
            .len()
            .cmp(&b.logmel.len())
            .then(a.duration_s.total_cmp(&b.duration_s))
    });
    println!(
        "analysed {} tracks in {:.1} s",
        tracks.len(),
        t0.elapsed().as_secs_f64()
    );

    let mut tcfg = TrainConfig::default()
        .with_seed(args.seed)
        .with_max_epochs(args.epochs)
        .with_samples_per_track(4)
        .with_patience(None)
        .with_validation_fraction(0.0)
        .with_time_budget_s(args.budget_s)
        .with_contrastive(ContrastiveConfig::default().with_weight(args.contrastive))
        .with_data_description(format!(
            "{} tracks; 128 log-mel bands, 22050 Hz, hop 512",
            tracks.len()
        ));
    tcfg.restore_best = false;
    if !args.no_augment {
        tcfg.augment = shipped_augment();
    }
    let mut opts = TrainOptions::default();
    opts.name = args.name.clone();
    opts.tile_training = tcfg;
    opts.weights = DEFAULT_WEIGHTS
        .iter()
        .map(|(n, w)| (n.to_string(), *w))
        .collect();
    let bar = ProgressBar::new(args.epochs as u64);
    bar.set_style(ProgressStyle::with_template(
        "training {bar:30} epoch {pos}/{len} {msg} (ETA {eta})",
    )?);
    let t = Instant::now();
    let refs: Vec<&TrackData> = tracks.iter().collect();
    let init = args.continue_from.as_deref().map(Model::load).transpose()?;
    let progress = |p: &sonority::autoencoders::Progress| {
        bar.set_position(p.epoch as u64);
        bar.set_message(format!(
            "loss {:.4} (reconstruction {:.4}, contrastive {:.4})",
            p.loss, p.recon_loss, p.contrastive_loss
        ));
        true
    };
    let mut model = match &init {
        Some(m) => continue_training(m, &refs, &opts, progress)?,
        None => train_model(&refs, &opts, progress)?,
    };
    bar.finish_and_clear();
    model.header.provenance["command"] = serde_json::json!(std::env::args().collect::<Vec<_>>());
    model.header.provenance["training_seconds"] = serde_json::json!(t.elapsed().as_secs_f64());
    model.save(&args.out)?;
    let hist = &model.header.provenance["tile_training"]["history"];
    let last = hist
        .as_array()
        .and_then(|h| h.last())
        .cloned()
        .unwrap_or_default();
    println!(
        "trained in {:.0} s; final epoch: {}\nwrote {}",
        t.elapsed().as_secs_f64(),
        last,
        args.out.display()
    );
    Ok(())
}

/// Block weights chosen by album cross-validation on the dev corpus (see the README).
const DEFAULT_WEIGHTS: &[(&str, f32)] = &[
    ("tiles", 1.0),
    ("timbre", 0.0),
    ("key", 0.0),
    ("tempo", 0.0),
    ("rolloff", 0.0),
];
