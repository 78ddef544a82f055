//! The issue's `mfcc` benchmark: decode + resample + MFCC of a 180 s, 44.1 kHz stereo WAV, the
//! same job as librosa's `load(sr=22050)` + `mfcc(n_mfcc=13, n_mels=256)` timed in
//! `../shared/golden/README.md` (0.444-0.530 s on the reference 2-core machine).

use criterion::{Criterion, Throughput, criterion_group};
use sonority_mfcc::{DecodeOptions, FileSource, MfccConfig, MfccSink, analyze};

fn mfcc(c: &mut Criterion) {
    let dir = std::env::temp_dir().join(format!("sonority-bench-mfcc-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("180s_44k1_stereo.wav");
    super::decode::write_wav(&path, 180.0);
    let mut g = c.benchmark_group("mfcc");
    g.sample_size(10);
    g.throughput(Throughput::Elements(180 * 44_100));
    for (name, cfg) in [
        (
            "180s_44k1_stereo_mfcc13_mel256",
            MfccConfig::published_design(),
        ),
        ("180s_44k1_stereo_mfcc20_mel128", MfccConfig::default()),
    ] {
        g.bench_function(name, |b| {
            b.iter(|| {
                let mut src = FileSource::open(&path, &DecodeOptions::default()).unwrap();
                let mut sink = MfccSink::new(&cfg).unwrap();
                analyze(&mut src, &cfg.stft_spec(), &mut [&mut sink]).unwrap();
                sink.into_matrix()
            });
        });
    }
    g.finish();
    let _ = std::fs::remove_dir_all(&dir);
}

criterion_group!(benches, mfcc);
