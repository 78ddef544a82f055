//! Each sink's own cost: the STFT and the shared 128-band mel spectrum alone, then with one
//! sink more, in the same pass (the difference is the sink), as the indexer runs them.

use criterion::{Criterion, criterion_group};
use sonority_fusion::{
    ChromaSink, Descriptors, KeySink, OnsetEnvelope, RolloffSink, SpectralSink, TempoSink,
    TimbreSink,
};
use sonority_mfcc::{
    Frame, FrameSink, MelBands, MfccConfig, MfccSink, SliceSource, StftSpec, analyze,
};

/// Names the mel bands, so the pass computes the shared mel spectrum, and does nothing else.
struct SharedMel(Option<MelBands>);

impl FrameSink for SharedMel {
    fn mel_bands(&self) -> Option<MelBands> {
        self.0
    }
    fn frame(&mut self, _: &Frame<'_>) -> sonority_mfcc::Result<()> {
        Ok(())
    }
}

fn bench(c: &mut Criterion) {
    let y = super::music_like(30.0);
    let cfg = MfccConfig::default();
    let spec: StftSpec = cfg.stft_spec();
    let bands = {
        let mut m = MfccSink::new(&cfg).expect("default MFCC config");
        m.begin(&spec).expect("default STFT");
        m.mel_bands()
    };
    let mut g = c.benchmark_group("sinks/30s_22k05_mono");
    g.sample_size(20);
    let mut run = |name: &str, make: &dyn Fn() -> Option<Box<dyn FrameSink>>| {
        g.bench_function(name, |b| {
            b.iter(|| {
                let mut mel = SharedMel(bands);
                let mut sink = make();
                let mut sinks: Vec<&mut dyn FrameSink> = vec![&mut mel];
                if let Some(s) = sink.as_mut() {
                    sinks.push(s.as_mut());
                }
                analyze(&mut SliceSource::new(&y, 22_050), &spec, &mut sinks).expect("analysis");
                sink
            });
        });
    };
    run("stft+mel", &|| None);
    run("stft+mel+mfcc", &|| {
        Some(Box::new(MfccSink::new(&cfg).expect("config")))
    });
    run("stft+mel+chroma", &|| Some(Box::new(ChromaSink::default())));
    run("stft+mel+key", &|| Some(Box::new(KeySink::default())));
    run("stft+mel+rolloff", &|| {
        Some(Box::new(RolloffSink::default()))
    });
    run("stft+mel+onset", &|| Some(Box::new(OnsetEnvelope::new())));
    run("stft+mel+tempo", &|| Some(Box::new(TempoSink::default())));
    run("stft+mel+spectral", &|| Some(Box::new(SpectralSink::new())));
    run("stft+mel+timbre", &|| {
        Some(Box::new(TimbreSink::new(&cfg).expect("config")))
    });
    run("stft+mel+descriptors", &|| {
        Some(Box::new(Descriptors::default()))
    });
    g.finish();
}

criterion_group!(benches, bench);
