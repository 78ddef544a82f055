//! Album precision of candidate models under cross-validation by album.
//!
//! ```text
//! cargo run --release -p sonority-lab --bin evaluate -- DIR/manifest.tsv [--folds 3] [--epochs 150] [--seed 0]   # about 45 min on 2 cores
//! cargo run --release -p sonority-lab --bin evaluate -- DIR/manifest.tsv --model models/default   # one model as is
//! # more music for training only (never queried), two training lengths from one run:
//! cargo run --release -p sonority-lab --bin evaluate -- DEV/manifest.tsv --train-manifest TRAIN/manifest.tsv \
//!     --candidates contrastive-augment --epochs 60,120
//! # albums of the training corpus held out instead (queries against that corpus):
//! cargo run --release -p sonority-lab --bin evaluate -- DEV/manifest.tsv --train-manifest TRAIN/manifest.tsv --protocol train
//! # candidates under the same time rather than the same epochs, the published system among them:
//! cargo run --release -p sonority-lab --bin evaluate -- DEV/manifest.tsv --epochs 1000 --budget-s 600 \
//!     --candidates contrastive-augment,contrastive-augment-strided-2d,published
//! # an ensemble of three seeds of the shipped recipe (rows for 1, 2 and 3 members):
//! RAYON_NUM_THREADS=1 cargo run --release -p sonority-lab --bin evaluate -- DEV/manifest.tsv --threads 1 \
//!     --candidates contrastive-augment-ens3
//! # album positives (tiles of two tracks of one album pull together), with the training corpus:
//! RAYON_NUM_THREADS=1 cargo run --release -p sonority-lab --bin evaluate -- DEV/manifest.tsv --threads 1 \
//!     --train-manifest TRAIN/manifest.tsv --epochs 60 --candidates contrastive-augment-album
//! # one fold of a long candidate per run:
//! cargo run --release -p sonority-lab --bin evaluate -- DEV/manifest.tsv --seed 1 --fold 2 \
//!     --candidates contrastive-augment+stage2-conv1d
//! ```
//!
//! Every track of the manifest is analysed once (decode and one STFT pass: log-mel frames, MFCC
//! statistics, key, tempo, roll-off). The albums are dealt into folds; for each fold every
//! candidate is trained on the other albums only (tile autoencoder, band statistics, fusion
//! statistics), then every track is embedded and each held-out track is a query against the
//! whole collection: the training albums' tracks stay in as distractors, so the task is as hard
//! as on the full corpus. Scores are mean ± spread over the folds. It also prints, for the
//! candidates, how much of the final vectors' variance each block explains and the spread of
//! cosine scores between unrelated tracks (the published design's failure was 0.9999 for all).
//!
//! With `--train-manifest`, those tracks join every fold's training set and nothing else: under
//! `--protocol dev` (the default) the folds, queries and ranked collection are the first
//! manifest's; under `--protocol train` they are the training manifest's, and the first
//! manifest's tracks are training data. Several `--epochs` score one training run at each
//! length: it trains for the first, scores, continues to the next
//! ([`continue_training`], another seed), and so on.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use clap::Parser;
use sonority::Model;
use sonority::autoencoders::{
    ARTIST_BANDS, ARTIST_SEGMENT_FRAMES, ArtistEncoder, ArtistFineTune, ContrastiveConfig,
    ConvAeConfig, Positives, TrainConfig,
};
use sonority::eval::{
    Metrics, album_folds, album_metrics, cosine_similarities, mean_std, metrics_from_similarity,
    mutual_proximity, read_manifest, unrelated_cosine_spread,
};
use sonority::fusion::{Fusion, published_descriptors};
use sonority::model::{ArtistPooling, BLOCKS, FinalStage};
use sonority::train::{
    ExtractOptions, FusionRecipe, TrackData, TrainOptions, VectorArchitecture, artist_mean_std,
    continue_training, embed_track_data, extract_all, fit_band_stats, group_ids, shipped_augment,
    tile_block_of, train_model,
};

/// Album precision@5/@10 and MAP of candidates under album cross-validation.
#[derive(Parser, Debug)]
#[command(version, about)]
struct Args {
    /// Manifest: `path<TAB>album<TAB>...` with a header line, paths relative to it.
    manifest: PathBuf,
    /// Evaluate this model directory as it is (no training, no folds) instead of candidates.
    #[arg(long)]
    model: Option<PathBuf>,
    /// A second manifest of tracks used only for training (never queried, never ranked under
    /// `--protocol dev`).
    #[arg(long)]
    train_manifest: Option<PathBuf>,
    /// Whose albums are held out and queried: `dev` (the first manifest's) or `train` (the
    /// training manifest's; the first manifest's tracks then only train).
    #[arg(long, default_value = "dev")]
    protocol: String,
    /// Number of folds (albums are dealt into them).
    #[arg(long, default_value_t = 3)]
    folds: usize,
    /// Training epochs of each tile autoencoder (4 random tile pairs per track per epoch);
    /// several, comma-separated and increasing, score one run at each length.
    #[arg(long, default_value = "150")]
    epochs: String,
    /// Comma-separated trainable candidates: plain, contrastive, contrastive-augment,
    /// contrastive-augment-album (positives are tiles of the same album, `Positives::SameGroup`),
    /// contrastive-augment-distill (with `--artist`: the distillation term of
    /// `TrainConfig::distill` at 0.5, the artist encoder as teacher),
    /// contrastive-augment-wide (encoder 256-128-64), contrastive-vector-ae,
    /// contrastive-augment+stage2-conv1d, contrastive-augment+stage2-mlp (the learned second
    /// stage over all five standardised blocks, `TrainOptions::with_learned_stage`),
    /// contrastive-augment-2d (a small 2-D tile encoder, `ConvAeConfig::small_2d`),
    /// contrastive-augment-strided-2d (the CPU-shaped 2-D tile encoder,
    /// `ConvAeConfig::strided_2d`); `published` (the published system end to end,
    /// `TrainOptions::published`: 256 mel bands, the published Conv2D and Conv1D autoencoders
    /// and the ÷255 fusion), `published-standardised` (the same with standardised blocks).
    /// The published candidates are trained and scored on a second analysis of the same
    /// tracks with 256 mel bands; give them `--budget-s` (a training step takes seconds).
    /// `BASE-ensN` (e.g. `contrastive-augment-ens3`): N models of BASE with different seeds,
    /// their normalised vectors concatenated (the mean of their cosines); rows for the first
    /// 1..N members, from the last `--epochs` value.
    #[arg(long, default_value = "plain,contrastive,contrastive-augment")]
    candidates: String,
    /// Training time budget of each candidate per fold, in seconds (nine tenths for the tile
    /// autoencoder, the rest for a second stage): candidates compared under the same time
    /// rather than the same epochs. Training stops at the budget or at `--epochs`, whichever
    /// comes first.
    #[arg(long)]
    budget_s: Option<f64>,
    /// Run only this fold (0-based) of the split: for a long candidate, one fold per run. The
    /// table's spread is then over one fold (zero).
    #[arg(long)]
    fold: Option<usize>,
    /// Worker threads for analysis.
    #[arg(long, default_value_t = 2)]
    threads: usize,
    /// Seed for folds and training.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// The pretrained artist encoder's weights (`models/default/artist.safetensors`):
    /// every track gets the `artist` block, scored alone (rows `artist-mean` and
    /// `artist-mean-std`, z-scored on each fold's training albums) and fused with each trained
    /// candidate's blocks under the artist weights of `WEIGHTS`.
    #[arg(long)]
    artist: Option<PathBuf>,
    /// The pooling of the fused `artist` block: `mean` or `mean-std`.
    #[arg(long, default_value = "mean-std")]
    artist_pooling: String,
    /// Fine-tune the artist encoder for this many steps (comma-separated: each from the
    /// published weights) in every fold, on the fold's training tracks only
    /// (`ArtistEncoder::fine_tune`: same-track InfoNCE), and give every track the fine-tuned
    /// block (from its kept segments, `--artist-segments`) for the candidates' fused rows (the
    /// last setting's). Adds the rows `artist-kept-mean-std` (the published encoder on the
    /// same kept segments) and `artist-tuned sSTEPS lrLR mean-std`, z-scored on the fold's
    /// training albums.
    #[arg(long)]
    artist_fine_tune: Option<String>,
    /// The fine-tuning's learning rates (comma-separated: every one with every step count).
    #[arg(long, default_value = "1e-5")]
    artist_lr: String,
    /// With `--artist-fine-tune`, the blocks (kept, tuned, and the one the candidates fuse)
    /// come from every STRIDE-th kept segment only (as an analysis that encodes one segment
    /// in STRIDE would give).
    #[arg(long, default_value_t = 1)]
    artist_stride: usize,
    /// Segments kept per track for fine-tuning (a uniform sample; 66 KB each).
    #[arg(long, default_value_t = 128)]
    artist_segments: usize,
}

fn main() {
    if let Err(e) = run() {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}

type Table = BTreeMap<String, Vec<Metrics>>;

fn push(table: &mut Table, name: &str, m: Metrics) {
    table.entry(name.to_string()).or_default().push(m);
}

/// Extracts every track of a manifest (whole tracks), skipping (and saying so) those that fail.
fn extract_manifest(
    manifest: &std::path::Path,
    opts: &ExtractOptions,
    threads: usize,
) -> Result<(Vec<TrackData>, Vec<String>), Box<dyn std::error::Error>> {
    let entries = read_manifest(manifest)?;
    let paths: Vec<PathBuf> = entries.iter().map(|e| e.path.clone()).collect();
    let slots: Vec<Option<(TrackData, String)>> = extract_all(&paths, opts, threads, |_, e| {
        if let Some(e) = e {
            eprintln!("skipping: {e}");
        }
    })
    .into_iter()
    .zip(&entries)
    .map(|(r, e)| r.ok().map(|t| (t, e.album.clone())))
    .collect();
    Ok(slots.into_iter().flatten().unzip())
}

/// Block weight settings tried for every trained candidate (tiles, timbre, key, tempo, rolloff,
/// artist). The settings with an artist weight are tried only with `--artist`.
const WEIGHTS: &[(&str, [f32; 6])] = &[
    ("tiles", [1.0, 0.0, 0.0, 0.0, 0.0, 0.0]), // v3's weights
    ("tiles+timbre", [1.0, 1.0, 0.0, 0.0, 0.0, 0.0]),
    ("tiles+timbre/2", [1.0, 0.7, 0.0, 0.0, 0.0, 0.0]),
    ("tiles+timbre+desc/4", [1.0, 1.0, 0.25, 0.25, 0.25, 0.0]),
    ("tiles+timbre+rolloff/2", [1.0, 1.0, 0.0, 0.0, 0.5, 0.0]),
    ("tiles+timbre+desc/2", [1.0, 1.0, 0.5, 0.5, 0.5, 0.0]),
    ("all-equal", [1.0, 1.0, 1.0, 1.0, 1.0, 0.0]),
    ("artist", [0.0, 0.0, 0.0, 0.0, 0.0, 1.0]),
    ("tiles+artist/2", [1.0, 0.0, 0.0, 0.0, 0.0, 0.5]),
    ("tiles+artist/1.4", [1.0, 0.0, 0.0, 0.0, 0.0, 0.7]),
    ("tiles+artist", [1.0, 0.0, 0.0, 0.0, 0.0, 1.0]),
    ("tiles+artist*1.4", [1.0, 0.0, 0.0, 0.0, 0.0, 1.4]),
    ("tiles+artist*2", [1.0, 0.0, 0.0, 0.0, 0.0, 2.0]),
    ("tiles+timbre/2+artist", [1.0, 0.7, 0.0, 0.0, 0.0, 1.0]),
];

fn run() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse();
    let epochs: Vec<usize> = args
        .epochs
        .split(',')
        .map(|e| e.trim().parse::<usize>())
        .collect::<Result<_, _>>()?;
    if epochs.is_empty() || epochs.windows(2).any(|w| w[0] >= w[1]) || epochs[0] == 0 {
        return Err("--epochs: positive and increasing, e.g. 60,120".into());
    }
    let t0 = Instant::now();
    // A model is evaluated on tracks analysed with its own settings (the published preset's
    // 256 mel bands, say).
    let model = args.model.as_deref().map(Model::load).transpose()?;
    let candidates: Vec<&str> = args
        .candidates
        .split(',')
        .filter(|s| !s.is_empty())
        .collect();
    let mut opts = ExtractOptions::default().whole_track();
    if let Some(m) = &model {
        opts.settings = m.header.settings();
    }
    let artist = match &args.artist {
        Some(path) => Some(Arc::new(ArtistEncoder::load(path)?)),
        None => model
            .as_ref()
            .and_then(|m| m.artist_encoder().cloned().map(Arc::new)),
    };
    if let Some(a) = &artist {
        opts = opts.with_artist(Arc::clone(a));
        if args.artist_fine_tune.is_some() {
            opts = opts.with_artist_segments(args.artist_segments);
        }
    }
    let mut fine_tunes: Vec<(usize, f64)> = Vec::new();
    if let Some(steps) = &args.artist_fine_tune {
        for lr in args.artist_lr.split(',') {
            for st in steps.split(',') {
                fine_tunes.push((st.trim().parse()?, lr.trim().parse()?));
            }
        }
    }
    let artist_pooling = match args.artist_pooling.as_str() {
        "mean" => ArtistPooling::Mean,
        "mean-std" => ArtistPooling::MeanStd,
        p => return Err(format!("--artist-pooling {p}: mean or mean-std").into()),
    };
    let (mut tracks, mut albums) = extract_manifest(&args.manifest, &opts, args.threads)?;
    let n_first = tracks.len();
    if let Some(m) = &args.train_manifest {
        let (t, a) = extract_manifest(m, &opts, args.threads)?;
        if a.iter().any(|x| albums.contains(x)) {
            return Err("the two manifests share an album name".into());
        }
        tracks.extend(t);
        albums.extend(a);
    }
    // Album labels, for candidates that train with album positives (a fold trains on the
    // tracks of its training albums only, so held-out labels are never seen).
    for (t, g) in tracks.iter_mut().zip(group_ids(&albums)) {
        t.group = Some(g);
    }
    // The published candidates analyse with 256 mel bands: the same tracks once more.
    let published_tracks = if model.is_none() && candidates.iter().any(|c| is_published(c)) {
        let popts = ExtractOptions::published().whole_track();
        let (mut t, mut a) = extract_manifest(&args.manifest, &popts, args.threads)?;
        if let Some(m) = &args.train_manifest {
            let (t2, a2) = extract_manifest(m, &popts, args.threads)?;
            t.extend(t2);
            a.extend(a2);
        }
        if a != albums {
            return Err("the 256-band analysis skipped other tracks than the default one".into());
        }
        Some(t)
    } else {
        None
    };
    // The tracks whose albums are folded, queried and ranked.
    let pool: Vec<usize> = match args.protocol.as_str() {
        "dev" => (0..n_first).collect(),
        "train" if args.train_manifest.is_some() => (n_first..tracks.len()).collect(),
        "train" => return Err("--protocol train needs --train-manifest".into()),
        p => return Err(format!("unknown protocol {p}: dev or train").into()),
    };
    let pool_albums: Vec<String> = pool.iter().map(|&i| albums[i].clone()).collect();
    let audio_s: f64 = tracks.iter().map(|t| t.duration_s).sum();
    eprintln!(
        "analysed {} tracks ({:.0} min of audio) in {:.1} s",
        tracks.len(),
        audio_s / 60.0,
        t0.elapsed().as_secs_f64()
    );

    if let (Some(dir), Some(model)) = (&args.model, model) {
        let vecs: Vec<Vec<f32>> = pool
            .iter()
            .map(|&i| &tracks[i])
            .map(|t| embed_track_data(&model, t))
            .collect::<Result<_, _>>()?;
        let all: Vec<usize> = (0..pool.len()).collect();
        let m = album_metrics(&vecs, &pool_albums, &all);
        println!(
            "model {}: P@5 {:.3} P@10 {:.3} MAP {:.3} ({} queries, in-sample unless the model never saw these albums)",
            dir.display(),
            m.p5,
            m.p10,
            m.map,
            m.queries
        );
        // The same queries fold by fold, to set beside the candidates' cross-validation (a
        // model that never saw these albums scores them out of sample).
        let folds = album_folds(&pool_albums, args.folds, args.seed);
        let mut per_fold = Vec::new();
        for (f, held) in folds.iter().enumerate() {
            let queries: Vec<usize> = (0..pool.len())
                .filter(|&p| held.contains(&pool_albums[p]))
                .collect();
            let m = album_metrics(&vecs, &pool_albums, &queries);
            println!(
                "  fold {f} ({} queries): P@5 {:.3} P@10 {:.3} MAP {:.3}",
                m.queries, m.p5, m.p10, m.map
            );
            per_fold.push(m);
        }
        let (p10, p10_sd) = mean_std(&per_fold.iter().map(|m| m.p10).collect::<Vec<_>>());
        let (map, map_sd) = mean_std(&per_fold.iter().map(|m| m.map).collect::<Vec<_>>());
        println!("  mean over folds: P@10 {p10:.3} ± {p10_sd:.3} MAP {map:.3} ± {map_sd:.3}");
        report_failure_checks(&model, &vecs, &pool_albums);
        return Ok(());
    }

    let folds = album_folds(&pool_albums, args.folds, args.seed);
    if let Some(k) = args.fold
        && k >= folds.len()
    {
        return Err(format!("--fold {k}: the split has {} folds", folds.len()).into());
    }
    let mut table = Table::new();
    let mut cost: BTreeMap<String, Vec<f64>> = BTreeMap::new();
    // The published encoder's blocks (whole tracks), kept aside: with fine-tuning, the tracks'
    // blocks are the fold's fine-tuned ones.
    let published_artist: Vec<Vec<f32>> = tracks
        .iter()
        .map(|t| t.block("artist").unwrap_or_default().to_vec())
        .collect();
    // With fine-tuning: every track's kept segments at the stride (`sources`) and at the
    // comparison's (every 2nd segment beside all of them, or all of them beside a stride), and
    // the published encoder's blocks of both; the same in every fold.
    let stride = args.artist_stride.max(1);
    let other = if stride == 1 { 2 } else { 1 };
    let suffix = if stride == 1 {
        String::new()
    } else {
        format!(", every {stride} segments")
    };
    let other_name = if stride == 1 {
        ", every 2nd segment"
    } else {
        ", every segment"
    };
    let mut sources: Vec<Vec<f32>> = Vec::new();
    let mut others: Vec<Vec<f32>> = Vec::new();
    let mut published_rows: Vec<(String, Vec<Vec<f32>>)> = Vec::new();
    if let Some(a) = &artist
        && !fine_tunes.is_empty()
    {
        for t in &tracks {
            sources.push(every_nth_segment(&t.artist_segments, stride));
            others.push(every_nth_segment(&t.artist_segments, other));
        }
        published_rows.push((
            format!("artist-kept-mean-std{suffix} (z-scored)"),
            blocks_of(a, &sources)?,
        ));
        published_rows.push((
            format!("artist-kept-mean-std{other_name} (z-scored)"),
            blocks_of(a, &others)?,
        ));
    }
    for (f, held) in folds.iter().enumerate() {
        if args.fold.is_some_and(|k| k != f) {
            continue;
        }
        let mut tuned_rows: Vec<(String, Vec<Vec<f32>>)> = published_rows.clone();
        if let Some(a) = &artist
            && !fine_tunes.is_empty()
        {
            let segments: Vec<&[f32]> = (0..tracks.len())
                .filter(|&i| !held.contains(&albums[i]))
                .map(|i| tracks[i].artist_segments.as_slice())
                .collect();
            for &(steps, lr) in &fine_tunes {
                let cfg = ArtistFineTune::default()
                    .with_steps(steps)
                    .with_learning_rate(lr)
                    .with_seed(args.seed + f as u64);
                let (tuned, report) = a.fine_tune(&segments, &cfg)?;
                let k = report.losses.len().min(20);
                let (first, last) = report.loss_start_end(k);
                eprintln!(
                    "fold {f}: artist encoder fine-tuned on {} tracks, {steps} steps at {lr:e} in {:.0} s, loss {first:.3} -> {last:.3} (first and last {k} steps)",
                    report.tracks, report.seconds,
                );
                let name = format!("artist-tuned s{steps} lr{lr:e} mean-std");
                tuned_rows.push((
                    format!("{name}{other_name} (z-scored)"),
                    blocks_of(&tuned, &others)?,
                ));
                // Last: the block the candidates fuse.
                tuned_rows.push((
                    format!("{name}{suffix} (z-scored)"),
                    blocks_of(&tuned, &sources)?,
                ));
            }
            drop(segments);
            // The candidates fuse the last setting's block (at the stride).
            if let Some((_, last)) = tuned_rows.last() {
                for (t, b) in tracks.iter_mut().zip(last) {
                    if let Some(slot) = t.blocks.iter_mut().find(|(n, _)| *n == "artist") {
                        slot.1.clone_from(b);
                    }
                }
            }
        }
        // `train` indexes `tracks`; `queries` and `fit` index `pool` (every vector scored is a
        // pool track's, in pool order).
        let train: Vec<usize> = (0..tracks.len())
            .filter(|&i| !held.contains(&albums[i]))
            .collect();
        let queries: Vec<usize> = (0..pool.len())
            .filter(|&p| held.contains(&pool_albums[p]))
            .collect();
        let fit: Vec<usize> = (0..pool.len())
            .filter(|&p| !held.contains(&pool_albums[p]))
            .collect();
        let albums = &pool_albums;
        let pool_tracks: Vec<&TrackData> = pool.iter().map(|&i| &tracks[i]).collect();
        eprintln!(
            "fold {f}: held out {held:?} ({} queries, {} training tracks)",
            queries.len(),
            train.len()
        );

        let random: Vec<Vec<f32>> = (0..pool.len())
            .map(|i| {
                (0..16)
                    .map(|k| pseudo(i as u64 * 31 + k + args.seed * 7 + f as u64))
                    .collect()
            })
            .collect();
        push(
            &mut table,
            "random",
            album_metrics(&random, albums, &queries),
        );
        let timbre: Vec<Vec<f32>> = pool_tracks
            .iter()
            .map(|t| t.block("timbre").unwrap_or_default().to_vec())
            .collect();
        push(
            &mut table,
            "mfcc-stats (20 MFCC mean+std, z-scored)",
            album_metrics(&zscore(&timbre, &fit), albums, &queries),
        );
        if artist.is_some() {
            for (name, pooling) in [
                ("artist-mean (z-scored)", ArtistPooling::Mean),
                ("artist-mean-std (z-scored)", ArtistPooling::MeanStd),
            ] {
                let block: Vec<Vec<f32>> = pool
                    .iter()
                    .map(|&i| pooling.of_mean_std(&published_artist[i]).to_vec())
                    .collect();
                let m = album_metrics(&zscore(&block, &fit), albums, &queries);
                eprintln!("  {name}: P@10 {:.3} MAP {:.3}", m.p10, m.map);
                push(&mut table, name, m);
            }
            for (name, blocks) in &tuned_rows {
                let name = name.as_str();
                let block: Vec<Vec<f32>> = pool
                    .iter()
                    .map(|&i| artist_pooling.of_mean_std(&blocks[i]).to_vec())
                    .collect();
                let m = album_metrics(&zscore(&block, &fit), albums, &queries);
                eprintln!("  {name}: P@10 {:.3} MAP {:.3}", m.p10, m.map);
                push(&mut table, name, m);
            }
        }

        let refs: Vec<&TrackData> = train.iter().map(|&i| &tracks[i]).collect();
        let (published_refs, published_pool): (Vec<&TrackData>, Vec<&TrackData>) =
            match &published_tracks {
                Some(p) => (
                    train.iter().map(|&i| &p[i]).collect(),
                    pool.iter().map(|&i| &p[i]).collect(),
                ),
                None => (Vec::new(), Vec::new()),
            };
        for &c in &candidates {
            if let Some((base, n)) = ensemble_of(c) {
                let train_s = evaluate_ensemble(
                    base,
                    n,
                    *epochs.last().unwrap_or(&150),
                    args.seed + f as u64,
                    args.budget_s,
                    &refs,
                    &pool_tracks,
                    albums,
                    &queries,
                    &mut table,
                )?;
                for name in table.keys().filter(|k| k.starts_with(c)) {
                    cost.entry(name.clone()).or_default().push(train_s);
                }
                continue;
            }
            let (refs, pool_tracks) = if is_published(c) {
                (&published_refs, &published_pool)
            } else {
                (&refs, &pool_tracks)
            };
            let t = Instant::now();
            let mut prev: Option<(Model, usize)> = None;
            for (k, &e) in epochs.iter().enumerate() {
                let done = prev.as_ref().map_or(0, |p| p.1);
                let seed = args.seed + f as u64 + 1000 * k as u64;
                let Some(opts) = candidate(c, e - done, seed) else {
                    eprintln!("unknown candidate {c}");
                    break;
                };
                let mut opts = opts.with_budget_s(args.budget_s);
                if let Some(a) = &artist
                    && !is_published(c)
                {
                    opts = opts.with_artist(Arc::clone(a), artist_pooling);
                }
                let model = match &prev {
                    None => train_model(refs, &opts, |_| true)?,
                    Some((m, _)) => continue_training(m, refs, &opts, |_| true)?,
                };
                let train_s = t.elapsed().as_secs_f64();
                let prov = &model.header.provenance["tile_training"];
                let c = if epochs.len() > 1 {
                    format!("{c} e{e}")
                } else {
                    c.to_string()
                };
                let c = c.as_str();
                eprintln!(
                    "  {c}: trained in {train_s:.0} s in all ({} steps in the last run)",
                    prov["steps"]
                );
                if model.header.final_stage == FinalStage::VectorAutoencoder {
                    let vecs: Vec<Vec<f32>> = pool_tracks
                        .iter()
                        .map(|t| embed_track_data(&model, t))
                        .collect::<Result<_, _>>()?;
                    let m = album_metrics(&vecs, albums, &queries);
                    eprintln!(
                        "    final stage ({} values): P@10 {:.3} MAP {:.3}",
                        model.output_dim(),
                        m.p10,
                        m.map
                    );
                    push(&mut table, c, m);
                    cost.entry(c.to_string()).or_default().push(train_s);
                    prev = Some((model, e));
                    continue;
                }
                // Tile blocks once, then every weight setting through the fusion.
                let tiles = tile_blocks(&model, pool_tracks, false)?;
                let raw = raw_vectors(&model, pool_tracks, &tiles)?;
                // The same model with band statistics of the ranked collection.
                let own_tiles = tile_blocks(&model, pool_tracks, true)?;
                let own_raw = raw_vectors(&model, pool_tracks, &own_tiles)?;
                for (wname, w) in WEIGHTS {
                    if w[5] != 0.0 && model.fusion.layout().block("artist").is_none() {
                        continue;
                    }
                    let fusion = weighted(&model.fusion, w)?;
                    let vecs: Vec<Vec<f32>> = raw
                        .iter()
                        .map(|r| fusion.fuse_raw(r))
                        .collect::<Result<_, _>>()?;
                    let m = album_metrics(&vecs, albums, &queries);
                    let mp = metrics_from_similarity(
                        &mutual_proximity(&cosine_similarities(&vecs)),
                        albums,
                        &queries,
                    );
                    eprintln!(
                        "    {wname}: P@10 {:.3} MAP {:.3}; with mutual proximity P@10 {:.3} MAP {:.3}",
                        m.p10, m.map, mp.p10, mp.map
                    );
                    push(&mut table, &format!("{c} [{wname}]"), m);
                    push(&mut table, &format!("{c} [{wname}] + mutual proximity"), mp);
                    let mut names = vec![
                        format!("{c} [{wname}]"),
                        format!("{c} [{wname}] + mutual proximity"),
                    ];
                    if COLLECTION_WEIGHTS.contains(wname) {
                        for (suffix, m) in
                            collection_rows(&fusion, &raw, &own_raw, &vecs, albums, &queries)?
                        {
                            eprintln!("    {wname} {suffix}: P@10 {:.3} MAP {:.3}", m.p10, m.map);
                            let name = format!("{c} [{wname}] {suffix}");
                            push(&mut table, &name, m);
                            names.push(name);
                        }
                    }
                    for name in names {
                        cost.entry(name).or_default().push(train_s);
                    }
                }
                // The published design's fusion on the same latent: [latent, roll-off Hz, BPM, key label] / 255.
                let published = Fusion::published_design(tiles[0].len())?;
                let vecs: Vec<Vec<f32>> = pool_tracks
                    .iter()
                    .zip(&tiles)
                    .map(|(t, tb)| {
                        let d = &t.descriptors;
                        let desc = published_descriptors(d.rolloff.mean_hz, d.tempo.bpm, d.key.key);
                        published.fuse(&[tb, &desc])
                    })
                    .collect::<Result<_, _>>()?;
                push(
                    &mut table,
                    &format!("{c} [published fusion: /255, unscaled]"),
                    album_metrics(&vecs, albums, &queries),
                );
                prev = Some((model, e));
            }
        }
    }
    println!(
        "protocol {}: {} folds of {} albums{}, seed {}{}; {} tracks ranked, {} tracks in all",
        args.protocol,
        folds.len(),
        pool_albums
            .iter()
            .collect::<std::collections::BTreeSet<_>>()
            .len(),
        args.fold
            .map(|k| format!(" (fold {k} only)"))
            .unwrap_or_default(),
        args.seed,
        args.budget_s
            .map(|b| format!(", training budget {b:.0} s per candidate and fold"))
            .unwrap_or_default(),
        pool.len(),
        tracks.len()
    );
    println!("| candidate | P@5 | P@10 | MAP | training s per fold |");
    println!("|---|---|---|---|---|");
    for (name, ms) in &table {
        let f = |g: fn(&Metrics) -> f64| {
            let (m, s) = mean_std(&ms.iter().map(g).collect::<Vec<_>>());
            format!("{m:.3} ± {s:.3}")
        };
        let shipped = if name == SHIPPED_RECIPE {
            " (the shipped default's recipe)"
        } else {
            ""
        };
        let secs = cost
            .get(name)
            .map(|v| format!("{:.0}", v.iter().sum::<f64>() / v.len() as f64))
            .unwrap_or_default();
        println!(
            "| {name}{shipped} | {} | {} | {} | {secs} |",
            f(|m| m.p5),
            f(|m| m.p10),
            f(|m| m.map)
        );
    }
    if args.protocol == "dev" {
        for (name, p5, p10, map) in PEERS {
            println!("| peer, in-sample: {name} | {p5:.3} | {p10:.3} | {map:.3} | |");
        }
    }
    Ok(())
}

/// The table row of the recipe `models/default` was trained with (see its PROVENANCE.md).
const SHIPPED_RECIPE: &str = "contrastive-augment [tiles]";

/// The peers' scores on the dev corpus, from `../shared/corpus/README.md` (measured there on
/// the whole corpus: they have no training, so no folds): P@5, P@10, MAP.
const PEERS: &[(&str, f64, f64, f64)] = &[
    ("Musly 2.0, timbre + mutual proximity", 0.419, 0.342, 0.368),
    ("bliss-rs 0.13, euclidean", 0.283, 0.246, 0.283),
    (
        "librosa richer statistics (log-mel, MFCC + deltas, contrast, chroma, onset)",
        0.459,
        0.357,
        0.409,
    ),
    ("librosa 20 MFCC mean+std", 0.343, 0.309, 0.325),
    (
        "published fusion without autoencoders (corpus README)",
        0.241,
        0.213,
        0.244,
    ),
];

fn report_failure_checks(model: &Model, vecs: &[Vec<f32>], albums: &[String]) {
    let (lo, hi) = unrelated_cosine_spread(vecs, albums);
    println!("cosine between tracks of different albums, 5th..95th percentile: {lo:.3} .. {hi:.3}");
    if model.header.final_stage == FinalStage::Fused
        && let Ok(shares) = model.fusion.layout().variance_shares(vecs)
    {
        let s: Vec<String> = shares
            .iter()
            .map(|(n, v)| format!("{n} {:.0} %", v * 100.0))
            .collect();
        println!(
            "share of the final vectors' variance per block: {}",
            s.join(", ")
        );
    }
}

fn candidate(name: &str, epochs: usize, seed: u64) -> Option<TrainOptions> {
    let tcfg = TrainConfig::default()
        .with_seed(seed)
        .with_max_epochs(epochs)
        .with_samples_per_track(4)
        .with_patience(None)
        .with_validation_fraction(0.0);
    let plain = tcfg
        .clone()
        .with_contrastive(ContrastiveConfig::default().with_weight(0.0));
    let mut o = TrainOptions::default();
    o.tile = ConvAeConfig::default();
    match name {
        "plain" => o.tile_training = plain,
        "contrastive" => o.tile_training = tcfg,
        "contrastive-augment" => {
            // Mild, fixed a priori (not tuned): see `shipped_augment`.
            let mut t = tcfg;
            t.augment = shipped_augment();
            o.tile_training = t;
        }
        "contrastive-augment-distill" => {
            // v3's recipe plus the distillation term (weight 0.5, fixed a priori): the tiles'
            // cosine structure pulled toward the artist encoder's (needs `--artist`).
            let mut t = tcfg.with_distill(0.5);
            t.augment = shipped_augment();
            o.tile_training = t;
        }
        "contrastive-augment-album" => {
            // The second view of a track is a tile of a random track of its album, and the
            // album's other tiles are not negatives (album labels of the training tracks only).
            let mut t = tcfg;
            t.augment = shipped_augment();
            t.contrastive = t.contrastive.with_positives(Positives::SameGroup);
            o.tile_training = t;
        }
        "contrastive-augment-wide" => {
            // Twice the first level's channels (1.8x the multiply-adds per step); the same
            // 64-channel output, so the vectors keep their length.
            let mut t = tcfg;
            t.augment = shipped_augment();
            o.tile_training = t;
            o.tile = ConvAeConfig::default().with_channels(vec![256, 128, 64]);
        }
        "contrastive-vector-ae" => {
            o.tile_training = tcfg;
            o.final_stage = FinalStage::VectorAutoencoder;
        }
        "contrastive-augment+stage2-conv1d" | "contrastive-augment+stage2-mlp" => {
            let mut t = tcfg;
            t.augment = shipped_augment();
            o.tile_training = t;
            o = o.with_learned_stage(if name.ends_with("conv1d") {
                VectorArchitecture::Conv1d { latent: 64 }
            } else {
                VectorArchitecture::Dense { latent: 64 }
            });
        }
        "published" | "published-standardised" => {
            // The published system end to end; only its length and seed come from here.
            let mut p = TrainOptions::published();
            p.tile_training.seed = seed;
            p.tile_training.max_epochs = epochs;
            p.vector.1.seed = seed;
            if name.ends_with("standardised") {
                p.fusion = FusionRecipe::PublishedBlocksStandardized;
            }
            return Some(p);
        }
        "contrastive-augment-2d" | "contrastive-augment-strided-2d" => {
            let mut t = tcfg;
            t.augment = shipped_augment();
            o.tile_training = t;
            o.tile = if name.contains("strided") {
                ConvAeConfig::strided_2d()
            } else {
                ConvAeConfig::small_2d()
            };
        }
        _ => return None,
    }
    Some(o)
}

/// `BASE-ensN` (for example `contrastive-augment-ens3`): the base candidate and the number of
/// seeds.
fn ensemble_of(name: &str) -> Option<(&str, usize)> {
    let (base, n) = name.rsplit_once("-ens")?;
    let n: usize = n.parse().ok()?;
    (n >= 2 && candidate(base, 1, 0).is_some_and(|o| o.final_stage == FinalStage::Fused))
        .then_some((base, n))
}

/// Weight settings scored for ensembles (the shipped one and the best runner-up).
const ENSEMBLE_WEIGHTS: &[&str] = &["tiles", "tiles+timbre/2"];

/// Trains `n` models of candidate `base` with different seeds on the same fold and scores the
/// ensembles of the first 1, 2, .., n of them: each member's fused vector is L2-normalised and
/// the members are concatenated, so the ensemble's cosine is the mean of the members' cosines.
/// The `×1` row is the first member alone (the single-seed baseline of the same run). Returns
/// the training seconds of all members together.
#[allow(clippy::too_many_arguments)]
fn evaluate_ensemble(
    base: &str,
    n: usize,
    epochs: usize,
    seed: u64,
    budget_s: Option<f64>,
    refs: &[&TrackData],
    pool_tracks: &[&TrackData],
    albums: &[String],
    queries: &[usize],
    table: &mut Table,
) -> Result<f64, Box<dyn std::error::Error>> {
    let t = Instant::now();
    // Per weight setting, the running concatenation of normalised member vectors.
    let mut joined: Vec<Vec<Vec<f32>>> =
        vec![vec![Vec::new(); pool_tracks.len()]; ENSEMBLE_WEIGHTS.len()];
    for m in 0..n {
        let member_seed = seed + 7_919 * m as u64;
        let opts = candidate(base, epochs, member_seed)
            .ok_or_else(|| format!("unknown candidate {base}"))?
            .with_budget_s(budget_s);
        let model = train_model(refs, &opts, |_| true)?;
        eprintln!(
            "  {base} member {m} (seed {member_seed}): trained, {:.0} s in all so far ({} steps)",
            t.elapsed().as_secs_f64(),
            model.header.provenance["tile_training"]["steps"]
        );
        let tiles = tile_blocks(&model, pool_tracks, false)?;
        let raw = raw_vectors(&model, pool_tracks, &tiles)?;
        let settings = WEIGHTS
            .iter()
            .filter(|(name, _)| ENSEMBLE_WEIGHTS.contains(name));
        for (j, (wname, w)) in settings.enumerate() {
            let fusion = weighted(&model.fusion, w)?;
            for (r, out) in raw.iter().zip(joined[j].iter_mut()) {
                let v = fusion.fuse_raw(r)?;
                let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt().max(1e-12);
                out.extend(v.iter().map(|x| x / norm));
            }
            let m_all = album_metrics(&joined[j], albums, queries);
            eprintln!(
                "    x{} [{wname}]: P@10 {:.3} MAP {:.3}",
                m + 1,
                m_all.p10,
                m_all.map
            );
            push(table, &format!("{base}-ens{n} x{} [{wname}]", m + 1), m_all);
        }
    }
    Ok(t.elapsed().as_secs_f64())
}

/// Every pool track's tile block under `model`'s encoder, its bands standardised with the
/// model's statistics or, with `collection_bands`, with statistics fitted on the pool itself.
fn tile_blocks(
    model: &Model,
    pool_tracks: &[&TrackData],
    collection_bands: bool,
) -> Result<Vec<Vec<f32>>, Box<dyn std::error::Error>> {
    let own;
    let stats = if collection_bands {
        own = fit_band_stats(pool_tracks);
        &own
    } else {
        &model.header.band_stats
    };
    Ok(pool_tracks
        .iter()
        .map(|t| tile_block_of(model, stats, t))
        .collect::<Result<_, _>>()?)
}

/// Every pool track's raw (unweighted, unstandardised) vector: its tile block and the others.
fn raw_vectors(
    model: &Model,
    pool_tracks: &[&TrackData],
    tiles: &[Vec<f32>],
) -> Result<Vec<Vec<f32>>, Box<dyn std::error::Error>> {
    Ok(pool_tracks
        .iter()
        .zip(tiles)
        .map(|(t, tb)| {
            model
                .fusion
                .concat_named(&t.named_blocks(tb, model.header.artist))
        })
        .collect::<Result<_, _>>()?)
}

/// Weight settings also scored with the collection-level adjustments of [`collection_rows`].
const COLLECTION_WEIGHTS: &[&str] = &["tiles", "tiles+timbre/2"];

/// Album metrics after adjustments fitted on the ranked collection itself (every pool track,
/// queries included, no album labels: what a library can do with its own vectors):
/// `+ centred` subtracts the collection's mean fused vector before the cosine; `+ refit`
/// standardises the blocks with the collection's statistics in place of the training set's
/// (same weights); `+ own bands, refit` also feeds the tile encoder log-mel bands standardised
/// with the collection's band statistics (`own_raw`: the raw vectors computed so).
fn collection_rows(
    fusion: &Fusion,
    raw: &[Vec<f32>],
    own_raw: &[Vec<f32>],
    vecs: &[Vec<f32>],
    albums: &[String],
    queries: &[usize],
) -> Result<Vec<(&'static str, Metrics)>, Box<dyn std::error::Error>> {
    let refitted = |raw: &[Vec<f32>]| -> Result<Vec<Vec<f32>>, Box<dyn std::error::Error>> {
        let mut refit = fusion.clone();
        refit.fit(raw)?;
        Ok(raw
            .iter()
            .map(|r| refit.fuse_raw(r))
            .collect::<Result<_, _>>()?)
    };
    Ok(vec![
        ("+ centred", album_metrics(&centre(vecs), albums, queries)),
        ("+ refit", album_metrics(&refitted(raw)?, albums, queries)),
        (
            "+ own bands, refit",
            album_metrics(&refitted(own_raw)?, albums, queries),
        ),
    ])
}

/// Every vector minus the mean of all of them.
fn centre(v: &[Vec<f32>]) -> Vec<Vec<f32>> {
    let d = v.first().map_or(0, Vec::len);
    let mut mean = vec![0.0_f64; d];
    for row in v {
        for (m, &x) in mean.iter_mut().zip(row) {
            *m += f64::from(x) / v.len() as f64;
        }
    }
    v.iter()
        .map(|row| {
            row.iter()
                .zip(&mean)
                .map(|(&x, &m)| (f64::from(x) - m) as f32)
                .collect()
        })
        .collect()
}

/// `fusion` with the block weights `w` (in [`BLOCKS`] order).
fn weighted(fusion: &Fusion, w: &[f32; 6]) -> Result<Fusion, Box<dyn std::error::Error>> {
    let mut fusion = fusion.clone();
    for ((name, _), &wv) in BLOCKS.iter().zip(w) {
        if fusion.layout().block(name).is_some() {
            fusion.set_weight(name, wv)?;
        }
    }
    Ok(fusion)
}

/// Whether a candidate is the published system (analysed with the published preset's 256 mel
/// bands).
fn is_published(name: &str) -> bool {
    name.starts_with("published")
}

fn pseudo(x: u64) -> f32 {
    let mut s = x.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ 0xD1B5_4A32_D192_ED03;
    s ^= s >> 31;
    s = s.wrapping_mul(0xBF58_476D_1CE4_E5B9);
    s ^= s >> 29;
    (s % 10_000) as f32 / 5_000.0 - 1.0
}

/// `encoder`'s mean-and-std block of each track's segments.
fn blocks_of(
    encoder: &ArtistEncoder,
    segments: &[Vec<f32>],
) -> Result<Vec<Vec<f32>>, Box<dyn std::error::Error>> {
    Ok(segments
        .iter()
        .map(|s| artist_mean_std(encoder, s))
        .collect::<Result<_, _>>()?)
}

/// Segments 0, n, 2n, … of a track's kept artist segments.
fn every_nth_segment(segments: &[f32], n: usize) -> Vec<f32> {
    let per = ARTIST_SEGMENT_FRAMES * ARTIST_BANDS;
    segments
        .chunks_exact(per)
        .step_by(n.max(1))
        .flatten()
        .copied()
        .collect()
}

fn zscore(v: &[Vec<f32>], fit: &[usize]) -> Vec<Vec<f32>> {
    let d = v[0].len();
    let n = fit.len() as f64;
    let mut mean = vec![0.0_f64; d];
    let mut sq = vec![0.0_f64; d];
    for &i in fit {
        for k in 0..d {
            mean[k] += f64::from(v[i][k]) / n;
            sq[k] += f64::from(v[i][k]) * f64::from(v[i][k]) / n;
        }
    }
    let std: Vec<f64> = (0..d)
        .map(|k| (sq[k] - mean[k] * mean[k]).max(1e-12).sqrt())
        .collect();
    v.iter()
        .map(|row| {
            row.iter()
                .enumerate()
                .map(|(k, &x)| ((f64::from(x) - mean[k]) / std[k]) as f32)
                .collect()
        })
        .collect()
}
