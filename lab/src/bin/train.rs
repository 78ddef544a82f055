//! Train a model (tile autoencoder, fusion statistics, block weights) on a music folder.
//!
//! ```text
//! cargo run --release -p sonority-lab --bin train -- ~/Music --out my-model [--epochs 150] [--seed 0]
//! cargo run --release -p sonority-lab --bin train -- --manifest corpus/manifest.tsv --out models/default
//! cargo run --release -p sonority-lab --bin train -- ~/Music --preset published --out published [--budget-s 600] [--resume]
//! cargo run --release -p sonority-lab --bin train -- --manifest dev/manifest.tsv --manifest train/manifest.tsv \
//!     --whole-track --epochs 60 --out both
//! ```
//!
//! Every track is decoded once; a uniform sample of up to eight 12-second excerpts per track is
//! kept (memory stays bounded whatever the track lengths). The tile autoencoder is trained on
//! random tiles with the same-track contrastive term, then the fusion statistics are fitted on
//! every track's blocks. The model directory it writes is what `recommend --model` and
//! `index --model` take.
//!
//! `--preset published` trains the published system instead (`TrainOptions::published`): 256
//! mel bands, 256 × 256 tiles scaled to [0, 1], the published Conv2D autoencoder (51,673
//! parameters), its flattened latent fused with roll-off, tempo and key by the published ÷255
//! fusion (`--fusion standardised` for z-scored blocks instead), then the published Conv1D
//! autoencoder (17,401 parameters) over the fused vector, whose latent is the final vector.
//! `--positives album` makes the contrastive term's positive pairs tiles of two tracks of the
//! same album (the manifest's album column, or the file's folder) instead of two tiles of one
//! track. `--stage2 conv1d|dense` gives the default preset the learned second stage
//! (`TrainOptions::with_learned_stage`). Ctrl-C or `--budget-s` stop the tile training early
//! and still write the model; `--resume` continues training the tile autoencoder of the model
//! already in `--out` (the optimiser state starts afresh). `--artist FILE` adds the pretrained
//! artist encoder's block (`--artist-pooling`, `--artist-weight`); with `--tile-from DIR` the
//! tile autoencoder of the model in DIR is kept and only the fusion is fitted (how
//! `sonority-default-v4` was made from v3's tiles: see its PROVENANCE); `--artist-fine-tune
//! STEPS` fine-tunes the artist encoder on the tracks first (`--artist-lr`), and the model
//! carries the fine-tuned weights.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use clap::{Parser, ValueEnum};
use indicatif::{ProgressBar, ProgressStyle};
use sonority::Model;
use sonority::autoencoders::{
    ARTIST_BANDS, ARTIST_SEGMENT_FRAMES, ArtistEncoder, ArtistFineTune, ContrastiveConfig,
    Positives, TrainConfig,
};
use sonority::eval::read_manifest;
use sonority::model::ArtistPooling;
use sonority::train::{
    ExtractOptions, FusionRecipe, TrackData, TrainOptions, VectorArchitecture, artist_mean_std,
    audio_files, extract_all, group_ids, refit_fusion, shipped_augment, train_model,
};

/// What to train.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Preset {
    /// The shipped recipe: 1-D tile autoencoder with the contrastive term, standardised fusion.
    Default,
    /// The published system: Conv2D over 256 × 256 tiles, ÷255 fusion, Conv1D over the fused
    /// vector.
    Published,
}

/// The published preset's fusion.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum FusionArg {
    /// Tiles, roll-off Hz, BPM and key label concatenated and divided by 255 (as published).
    Published,
    /// Tiles, key, tempo and roll-off blocks z-scored and given equal shares.
    Standardised,
}

/// A learned second stage over the standardised fused vector (default preset).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Stage2 {
    /// None: the fused vector is the final vector.
    None,
    /// The published Conv1D levels, a latent of at least 64 values.
    Conv1d,
    /// One dense layer to 64 units and back.
    Dense,
}

/// What the contrastive term pulls together (default preset).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum PositivesArg {
    /// Two tiles of the same track.
    Track,
    /// A tile of a track and a tile of another track of its album (the manifest's album
    /// column, or the file's folder when training on a music folder).
    Album,
}

/// Train a sonority model on a folder or a manifest.
#[derive(Parser, Debug)]
#[command(version, about)]
struct Args {
    /// The music folder (or use --manifest).
    music_dir: Option<PathBuf>,
    /// A manifest (`path<TAB>album...`) instead of a folder; repeat it to train on several.
    #[arg(long)]
    manifest: Vec<PathBuf>,
    /// Where to write the model directory.
    #[arg(long)]
    out: PathBuf,
    /// What to train.
    #[arg(long, value_enum, default_value_t = Preset::Default)]
    preset: Preset,
    /// The published preset's fusion.
    #[arg(long, value_enum, default_value_t = FusionArg::Published)]
    fusion: FusionArg,
    /// A learned second stage over the fused vector (default preset only).
    #[arg(long, value_enum, default_value_t = Stage2::None)]
    stage2: Stage2,
    /// Continue training the tile autoencoder of the model in --out (same preset).
    #[arg(long)]
    resume: bool,
    /// Training epochs (each gives every track 4 pairs of random tiles).
    #[arg(long, default_value_t = 150)]
    epochs: usize,
    /// Stop training after this many seconds, whatever the epoch (nine tenths for the tile
    /// autoencoder, one tenth for a fused-vector autoencoder; the analysis is not counted).
    #[arg(long)]
    budget_s: Option<f64>,
    /// Weight of the same-track contrastive term (0 = plain autoencoder; default preset).
    #[arg(long, default_value_t = 0.1)]
    contrastive: f64,
    /// What the contrastive term's positive pairs are (default preset).
    #[arg(long, value_enum, default_value_t = PositivesArg::Track)]
    positives: PositivesArg,
    /// Seed of everything random.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Model name (the embedding's name in databases). Default: `sonority-default-v3`, or
    /// `sonority-published` with `--preset published`.
    #[arg(long)]
    name: Option<String>,
    /// Worker threads for analysis.
    #[arg(long)]
    threads: Option<usize>,
    /// Train on every frame of every track (as `evaluate` does) instead of up to eight random
    /// 512-frame excerpts per track. Memory grows with the collection (1.3 MB per minute of
    /// audio, 80 MB per hour), so keep it for small training sets like the dev corpus.
    #[arg(long)]
    whole_track: bool,
    /// No training augmentation (the default preset applies `sonority::train::shipped_augment`:
    /// small gain offsets, time shifts and noise on each tile).
    #[arg(long)]
    no_augment: bool,
    /// The pretrained artist encoder's weights (`models/default/artist.safetensors`):
    /// the model gets the `artist` block (default preset).
    #[arg(long)]
    artist: Option<PathBuf>,
    /// The `artist` block's pooling over a track's segments: `mean` or `mean-std`.
    #[arg(long, default_value = "mean-std")]
    artist_pooling: String,
    /// The `artist` block's weight (the tiles weigh 1).
    #[arg(long, default_value_t = 1.0)]
    artist_weight: f32,
    /// Fine-tune the artist encoder for this many steps on every track before fitting
    /// (`ArtistEncoder::fine_tune`, seeded with `--seed`); the model carries the fine-tuned
    /// weights and every track's block is recomputed with them.
    #[arg(long)]
    artist_fine_tune: Option<usize>,
    /// The fine-tuning's learning rate.
    #[arg(long, default_value_t = 1e-5)]
    artist_lr: f64,
    /// Segments kept per track for the fine-tuning and the recomputed blocks (a uniform
    /// sample; 66 KB each; 512 is 26 minutes, every segment of nearly any track).
    #[arg(long, default_value_t = 512)]
    artist_segments: usize,
    /// The `artist` block encodes one segment in this many (`AnalysisSettings::
    /// artist_segment_stride`; the model records it). With `--artist-fine-tune`, the
    /// encoder trains on every segment and the blocks come from every N-th.
    #[arg(long, default_value_t = 1)]
    artist_segment_stride: usize,
    /// Take the tile autoencoder and band statistics of this model directory instead of
    /// training one (only the fusion is fitted: for adding the `artist` block to a trained
    /// model).
    #[arg(long)]
    tile_from: Option<PathBuf>,
}

fn main() {
    if let Err(e) = run() {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}

fn run() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse();
    // Every file with its album: the manifest's album column, else the file's folder.
    let mut paths: Vec<PathBuf> = Vec::new();
    let mut albums: Vec<String> = Vec::new();
    for m in &args.manifest {
        for e in read_manifest(m)? {
            paths.push(e.path);
            albums.push(e.album);
        }
    }
    match &args.music_dir {
        Some(d) => {
            for p in audio_files(d) {
                albums.push(
                    p.parent()
                        .map_or_else(String::new, |f| f.display().to_string()),
                );
                paths.push(p);
            }
        }
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
    let base = match args.preset {
        Preset::Default => ExtractOptions::default(),
        Preset::Published => ExtractOptions::published(),
    };
    let mut opts = if args.whole_track {
        base.with_seed(args.seed).whole_track()
    } else {
        base.with_seed(args.seed)
    };
    let artist = args
        .artist
        .as_deref()
        .map(ArtistEncoder::load)
        .transpose()?
        .map(Arc::new);
    let stride = args.artist_segment_stride.max(1);
    if let Some(a) = &artist {
        opts = opts.with_artist(Arc::clone(a));
        if args.artist_fine_tune.is_some() {
            // Every segment kept for the fine-tuning; the blocks are recomputed with the stride.
            opts = opts.with_artist_segments(args.artist_segments);
        } else {
            opts.settings = opts.settings.with_artist_segment_stride(stride);
        }
    }
    let results = extract_all(&paths, &opts, threads, |_, e| {
        bar.inc(1);
        if let Some(e) = e {
            bar.println(format!("skipping: {e}"));
        }
    });
    for (r, g) in results.into_iter().zip(group_ids(&albums)) {
        if let Ok(mut t) = r {
            t.group = Some(g);
            tracks.push(t);
        }
    }
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

    let mut fine_tune_record = serde_json::Value::Null;
    let artist = match (&artist, args.artist_fine_tune) {
        (Some(a), Some(steps)) => {
            let segments: Vec<&[f32]> = tracks
                .iter()
                .map(|t| t.artist_segments.as_slice())
                .collect();
            let cfg = ArtistFineTune::default()
                .with_steps(steps)
                .with_learning_rate(args.artist_lr)
                .with_seed(args.seed);
            let (tuned, report) = a.fine_tune(&segments, &cfg)?;
            let k = report.losses.len().min(20);
            let (first, last) = report.loss_start_end(k);
            println!(
                "artist encoder fine-tuned on {} tracks: {steps} steps in {:.1} s, loss {first:.3} -> {last:.3} (first and last {k} steps)",
                report.tracks, report.seconds
            );
            let per = ARTIST_SEGMENT_FRAMES * ARTIST_BANDS;
            let blocks: Vec<Vec<f32>> = tracks
                .iter()
                .map(|t| {
                    let every: Vec<f32> = t
                        .artist_segments
                        .chunks_exact(per)
                        .step_by(stride)
                        .flatten()
                        .copied()
                        .collect();
                    artist_mean_std(&tuned, &every)
                })
                .collect::<Result<_, _>>()?;
            for (t, b) in tracks.iter_mut().zip(blocks) {
                if let Some(slot) = t.blocks.iter_mut().find(|(n, _)| *n == "artist") {
                    slot.1 = b;
                }
                t.artist_segments = Vec::new();
                t.settings = t.settings.clone().with_artist_segment_stride(stride);
            }
            fine_tune_record = serde_json::json!({
                "steps": steps,
                "learning_rate": args.artist_lr,
                "tracks_per_batch": cfg.tracks_per_batch,
                "temperature": cfg.temperature,
                "seed": args.seed,
                "tracks": report.tracks,
                "segments_per_track_at_most": args.artist_segments,
                "block_segment_stride": stride,
                "loss_first_steps": first,
                "loss_last_steps": last,
                "seconds": report.seconds,
            });
            Some(Arc::new(tuned))
        }
        (a, _) => a.clone(),
    };

    let mut opts = match args.preset {
        Preset::Default => default_options(&args, tracks.len()),
        Preset::Published => published_options(&args),
    };
    if let Some(a) = &artist {
        let pooling = match args.artist_pooling.as_str() {
            "mean" => ArtistPooling::Mean,
            "mean-std" => ArtistPooling::MeanStd,
            p => return Err(format!("--artist-pooling {p}: mean or mean-std").into()),
        };
        opts = opts.with_artist(Arc::clone(a), pooling);
        opts.weights.push(("artist".into(), args.artist_weight));
    }
    if let Some(dir) = &args.tile_from {
        let base = Model::load(dir)?;
        let t = Instant::now();
        let refs: Vec<&TrackData> = tracks.iter().collect();
        let mut model = refit_fusion(&base, &refs, &opts)?;
        model.header.provenance["command"] =
            serde_json::json!(std::env::args().collect::<Vec<_>>());
        if !fine_tune_record.is_null() {
            model.header.provenance["artist_fine_tuning"] = fine_tune_record.clone();
        }
        model.save(&args.out)?;
        println!(
            "fusion fitted in {:.1} s on {} tracks with the tile autoencoder of {}: final vector {} values\nwrote {}",
            t.elapsed().as_secs_f64(),
            refs.len(),
            dir.display(),
            model.output_dim(),
            args.out.display()
        );
        return Ok(());
    }
    if args.resume {
        let previous = Model::load(&args.out)?;
        println!(
            "resuming from {} (its tile autoencoder; the optimiser starts afresh)",
            args.out.display()
        );
        opts = opts.resuming_model(&previous);
    }
    let stop = Arc::new(AtomicBool::new(false));
    let handler_stop = Arc::clone(&stop);
    ctrlc::set_handler(move || handler_stop.store(true, Ordering::SeqCst))?;
    let bar = ProgressBar::new(opts.tile_training.max_epochs as u64);
    bar.set_style(ProgressStyle::with_template(
        "training {bar:30} epoch {pos}/{len} {msg} (ETA {eta}; Ctrl-C stops and saves)",
    )?);
    let t = Instant::now();
    let refs: Vec<&TrackData> = tracks.iter().collect();
    let mut model = train_model(&refs, &opts, |p| {
        bar.set_position(p.epoch as u64);
        bar.set_message(format!(
            "step {} ({:.3} steps/s), loss {:.4} (reconstruction {:.4}, contrastive {:.4})",
            p.step,
            p.step as f64 / p.elapsed_s.max(1e-9),
            p.loss,
            p.recon_loss,
            p.contrastive_loss
        ));
        !stop.load(Ordering::SeqCst)
    })?;
    bar.finish_and_clear();
    model.header.provenance["command"] = serde_json::json!(std::env::args().collect::<Vec<_>>());
    model.header.provenance["training_seconds"] = serde_json::json!(t.elapsed().as_secs_f64());
    if !fine_tune_record.is_null() {
        model.header.provenance["artist_fine_tuning"] = fine_tune_record;
    }
    model.save(&args.out)?;
    let tile = &model.header.provenance["tile_training"];
    let last = tile["history"]
        .as_array()
        .and_then(|h| h.last())
        .cloned()
        .unwrap_or_default();
    let steps = tile["steps"].as_f64().unwrap_or(0.0);
    let tile_s = tile["elapsed_s"].as_f64().unwrap_or(0.0);
    println!(
        "trained in {:.0} s: tile autoencoder ({} parameters) {steps} steps in {tile_s:.0} s \
         ({:.3} steps/s, stopped by {}), final epoch: {last}\nfinal vector: {} values\nwrote {}",
        t.elapsed().as_secs_f64(),
        model.tile_params(),
        steps / tile_s.max(1e-9),
        tile["stop_reason"],
        model.output_dim(),
        args.out.display()
    );
    Ok(())
}

/// The published preset, with the command line's choices.
fn published_options(args: &Args) -> TrainOptions {
    let mut opts = TrainOptions::published().with_budget_s(args.budget_s);
    opts.tile_training.seed = args.seed;
    opts.tile_training.max_epochs = args.epochs;
    opts.vector.1.seed = args.seed;
    if args.fusion == FusionArg::Standardised {
        opts.fusion = FusionRecipe::PublishedBlocksStandardized;
    }
    if let Some(n) = &args.name {
        opts.name.clone_from(n);
    }
    opts
}

/// The shipped recipe, with the command line's choices.
fn default_options(args: &Args, n_tracks: usize) -> TrainOptions {
    let mut tcfg = TrainConfig::default()
        .with_seed(args.seed)
        .with_max_epochs(args.epochs)
        .with_samples_per_track(4)
        .with_patience(None)
        .with_validation_fraction(0.0)
        .with_time_budget_s(args.budget_s)
        .with_contrastive(
            ContrastiveConfig::default()
                .with_weight(args.contrastive)
                .with_positives(match args.positives {
                    PositivesArg::Track => Positives::SameTrack,
                    PositivesArg::Album => Positives::SameGroup,
                }),
        )
        .with_data_description(format!(
            "{n_tracks} tracks; 128 log-mel bands, 22050 Hz, hop 512"
        ));
    tcfg.restore_best = false;
    if !args.no_augment {
        tcfg.augment = shipped_augment();
    }
    let mut opts = TrainOptions::default();
    opts.name = args
        .name
        .clone()
        .unwrap_or_else(|| "sonority-default-v3".into());
    opts.tile_training = tcfg;
    opts.weights = DEFAULT_WEIGHTS
        .iter()
        .map(|(n, w)| (n.to_string(), *w))
        .collect();
    match args.stage2 {
        Stage2::None => opts,
        Stage2::Conv1d => opts
            .with_learned_stage(VectorArchitecture::Conv1d { latent: 64 })
            .with_budget_s(args.budget_s),
        Stage2::Dense => opts
            .with_learned_stage(VectorArchitecture::Dense { latent: 64 })
            .with_budget_s(args.budget_s),
    }
}

/// Block weights chosen by album cross-validation on the dev corpus (see the README).
const DEFAULT_WEIGHTS: &[(&str, f32)] = &[
    ("tiles", 1.0),
    ("timbre", 0.0),
    ("key", 0.0),
    ("tempo", 0.0),
    ("rolloff", 0.0),
];
