//! Training steps per second, batch 32.

use super::{group, presets, values};
use candle_nn::Optimizer;
use criterion::{Criterion, Throughput, criterion_group};
use sonority_autoencoders::{
    Autoencoder, ContrastiveConfig, ConvAeConfig, ConvAutoencoder, DType, Device, Tensor,
    TrackMatrix, TrainConfig, train_tiles,
};
use std::time::Duration;

fn reconstruction_steps(c: &mut Criterion) {
    let mut group = c.benchmark_group(group("train_step"));
    group
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .throughput(Throughput::Elements(32));
    for (name, cfg) in presets() {
        let heavy = cfg == ConvAeConfig::published_2d();
        if heavy {
            group.measurement_time(Duration::from_secs(60));
        } else {
            group.measurement_time(Duration::from_secs(8));
        }
        let (model, map) = ConvAutoencoder::seeded_with_dtype(&cfg, 0, DType::F32).expect("model");
        let mut opt = candle_nn::AdamW::new_lr(map.all_vars(), 1e-3).expect("optimiser");
        let x = Tensor::from_vec(
            values(32 * cfg.rows * cfg.cols, 1),
            (32, cfg.rows, cfg.cols),
            &Device::Cpu,
        )
        .expect("batch");
        group.bench_function(format!("{name}/b32_recon"), |b| {
            b.iter(|| {
                opt.backward_step(&model.loss(&x).expect("loss"))
                    .expect("step")
            });
        });
    }
    group.finish();
}

fn contrastive_step(c: &mut Criterion) {
    // One epoch over 16 tracks = one step of 16 tracks × 2 tiles, including model creation.
    let cfg = ConvAeConfig::default();
    let tracks: Vec<TrackMatrix> = (0..16)
        .map(|k| TrackMatrix::new(values(128 * 400, k), 128, 400).expect("track"))
        .collect();
    let mut group = c.benchmark_group(group("train_step"));
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(8))
        .throughput(Throughput::Elements(32));
    for (label, weight) in [("recon_only", 0.0), ("contrastive", 0.1)] {
        let tcfg = TrainConfig::default()
            .with_max_epochs(1)
            .with_validation_fraction(0.0)
            .with_contrastive(ContrastiveConfig::default().with_weight(weight));
        group.bench_function(
            format!("default_1d_time/b32_{label}_via_train_tiles"),
            |b| {
                b.iter(|| train_tiles(&cfg, &tcfg, &tracks, |_| true).expect("train"));
            },
        );
    }
    group.finish();
}

criterion_group!(benches, reconstruction_steps, contrastive_step);
