//! STFT alone, and STFT + mel + MFCC, over 180 s of 22050 Hz mono samples in memory.

use criterion::{Criterion, Throughput, criterion_group};
use sonority_mfcc::{FrameCounter, MfccConfig, MfccSink, SliceSource, analyze};

fn stft(c: &mut Criterion) {
    let y = super::music_like(180.0, 22_050);
    let mut g = c.benchmark_group("stft");
    g.sample_size(20);
    g.throughput(Throughput::Elements(y.len() as u64));
    let spec = MfccConfig::default().stft_spec();
    g.bench_function("180s_22k_mono_stft_only", |b| {
        b.iter(|| {
            let mut counter = FrameCounter::default();
            analyze(
                &mut SliceSource::new(&y, 22_050),
                &spec,
                &mut [&mut counter],
            )
            .unwrap();
            counter.frames
        });
    });
    for (name, cfg) in [
        ("180s_22k_mono_mfcc20_mel128", MfccConfig::default()),
        (
            "180s_22k_mono_mfcc13_mel256",
            MfccConfig::published_design(),
        ),
    ] {
        g.bench_function(name, |b| {
            b.iter(|| {
                let mut sink = MfccSink::new(&cfg).unwrap();
                analyze(
                    &mut SliceSource::new(&y, 22_050),
                    &cfg.stft_spec(),
                    &mut [&mut sink],
                )
                .unwrap();
                sink.into_matrix()
            });
        });
    }
    g.finish();
}

criterion_group!(benches, stft);
