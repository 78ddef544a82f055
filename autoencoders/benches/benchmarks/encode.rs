//! Encoding throughput (tiles/s, batch 32) and a 3-minute track with the default model.

use super::{group, presets, values};
use criterion::{Criterion, Throughput, criterion_group};
use sonority_autoencoders::{ConvAeConfig, ConvAutoencoder, Encoder};
use std::time::Duration;

fn encode_tiles(c: &mut Criterion) {
    let mut group = c.benchmark_group(group("encode"));
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(5))
        .throughput(Throughput::Elements(32));
    for (name, cfg) in presets() {
        let model = ConvAutoencoder::seeded(&cfg, 0).expect("model");
        let x = values(32 * cfg.rows * cfg.cols, 2);
        group.bench_function(format!("{name}/b32"), |b| {
            b.iter(|| {
                model
                    .encode_batch(&x, 32, [cfg.rows, cfg.cols])
                    .expect("encode")
            });
        });
    }
    group.finish();
}

fn encode_track(c: &mut Criterion) {
    // 3 minutes at 22,050 Hz with hop 512: 7,752 frames, 61 tiles of 128 frames, encoded in
    // one batch as the analysis pipeline does (its tiling and pooling are benchmarked in the
    // facade's `analyze` group).
    let cfg = ConvAeConfig::default();
    let model = ConvAutoencoder::seeded(&cfg, 0).expect("model");
    let tiles = values(61 * 128 * 128, 3);
    let mut group = c.benchmark_group(group("encode_track"));
    group
        .sample_size(20)
        .measurement_time(Duration::from_secs(5))
        .throughput(Throughput::Elements(61));
    // A seeded model's weights are trainable variables: the tensor path (as while training).
    group.bench_function("default_1d_time/180s_128mels", |b| {
        b.iter(|| model.encode_batch(&tiles, 61, [128, 128]).expect("encode"));
    });
    // Frozen, as a loaded model is: the inference path (`src/infer.rs`), in the same run.
    let frozen = model.frozen().expect("frozen");
    group.bench_function("default_1d_time/180s_128mels/frozen", |b| {
        b.iter(|| frozen.encode_batch(&tiles, 61, [128, 128]).expect("encode"));
    });
    group.finish();
}

criterion_group!(benches, encode_tiles, encode_track);
