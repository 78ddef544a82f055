//! MFCC alone against MFCC plus every descriptor, in the same STFT pass.

use criterion::{Criterion, criterion_group};
use sonority_fusion::Descriptors;
use sonority_mfcc::{MfccConfig, MfccSink, SliceSource, analyze};

fn bench(c: &mut Criterion) {
    let y = super::music_like(30.0);
    let cfg = MfccConfig::default();
    let spec = cfg.stft_spec();
    let mut g = c.benchmark_group("descriptors/30s_22k05_mono");
    g.sample_size(10);
    g.bench_function("mfcc", |b| {
        b.iter(|| -> sonority_mfcc::Result<_> {
            let mut mfcc = MfccSink::new(&cfg)?;
            analyze(&mut SliceSource::new(&y, 22_050), &spec, &mut [&mut mfcc])?;
            Ok(mfcc.into_matrix())
        });
    });
    g.bench_function("mfcc+descriptors", |b| {
        b.iter(|| -> sonority_fusion::Result<_> {
            let mut mfcc = MfccSink::new(&cfg)?;
            let mut desc = Descriptors::default();
            analyze(
                &mut SliceSource::new(&y, 22_050),
                &spec,
                &mut [&mut mfcc, &mut desc],
            )?;
            Ok((mfcc.into_matrix(), desc.summary()?, desc.blocks()?))
        });
    });
    g.bench_function("descriptors", |b| {
        b.iter(|| -> sonority_fusion::Result<_> {
            let mut desc = Descriptors::default();
            analyze(&mut SliceSource::new(&y, 22_050), &spec, &mut [&mut desc])?;
            desc.blocks()
        });
    });
    g.finish();
}

criterion_group!(benches, bench);
