//! Decoding a 180 s, 44.1 kHz, 16-bit stereo WAV (written once with hound into a temporary
//! folder): symphonia decode + downmix alone, then + resampling to 22050 Hz (librosa's `load`
//! takes about 0.28 s for this on the reference 2-core machine, see `../shared/golden/README.md`),
//! and + resampling from a 48 kHz header (FFT blocks of 640 / 294 frames). The `resample` group
//! runs [`Resampler`] alone on 180 s of mono samples in memory, pushed 4,096 at a time as the
//! decoder does: 44.1 kHz and 48 kHz to 22.05 kHz (overlap-add FFT filter) and 44.1 kHz to
//! 16 kHz (blocks of 441 / 160: still exact).

use criterion::{Criterion, Throughput, criterion_group};
use sonority_mfcc::{AudioSource, DecodeOptions, FileSource, Resampler};

/// Writes a `seconds`-long 44.1 kHz 16-bit stereo WAV of [`super::music_like`].
pub fn write_wav(path: &std::path::Path, seconds: f32) {
    let y = super::music_like(seconds, 44_100);
    let spec = hound::WavSpec {
        channels: 2,
        sample_rate: 44_100,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut w = hound::WavWriter::create(path, spec).unwrap();
    for (i, s) in y.iter().enumerate() {
        let l = (s * 20_000.0) as i16;
        let r = (y[(i + 7) % y.len()] * 20_000.0) as i16;
        w.write_sample(l).unwrap();
        w.write_sample(r).unwrap();
    }
    w.finalize().unwrap();
}

fn drain(path: &std::path::Path, opts: &DecodeOptions) -> usize {
    let mut src = FileSource::open(path, opts).unwrap();
    let mut n = 0;
    while let Some(c) = src.next_chunk().unwrap() {
        n += c.len();
    }
    n
}

fn decode(c: &mut Criterion) {
    let dir = std::env::temp_dir().join(format!("sonority-bench-decode-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("180s_44k1_stereo.wav");
    write_wav(&path, 180.0);

    let mut g = c.benchmark_group("decode");
    g.sample_size(10);
    g.throughput(Throughput::Elements(180 * 44_100));
    g.bench_function("180s_44k1_stereo_wav_no_resample", |b| {
        let opts = DecodeOptions::default().with_sample_rate(44_100);
        b.iter(|| drain(&path, &opts));
    });
    g.bench_function("180s_44k1_stereo_wav_to_22k_mono", |b| {
        let opts = DecodeOptions::default();
        b.iter(|| drain(&path, &opts));
    });
    g.bench_function("180s_48k_stereo_wav_to_22k_mono_rate_ratio_147_320", |b| {
        // Same bytes, 48 kHz header: exercises a non-integer ratio.
        let p48 = dir.join("180s_48k_stereo.wav");
        if !p48.exists() {
            let mut bytes = std::fs::read(&path).unwrap();
            bytes[24..28].copy_from_slice(&48_000_u32.to_le_bytes());
            bytes[28..32].copy_from_slice(&(48_000_u32 * 4).to_le_bytes());
            std::fs::write(&p48, bytes).unwrap();
        }
        let opts = DecodeOptions::default();
        b.iter(|| drain(&p48, &opts));
    });
    g.finish();
    let _ = std::fs::remove_dir_all(&dir);
}

fn resample(c: &mut Criterion) {
    let mut g = c.benchmark_group("resample");
    g.sample_size(10);
    for (from, to) in [(44_100, 22_050), (48_000, 22_050), (44_100, 16_000)] {
        let y = super::music_like(180.0, from);
        g.throughput(Throughput::Elements(y.len() as u64));
        g.bench_function(format!("180s_mono_{from}_to_{to}"), |b| {
            let mut r = Resampler::new(from, to).unwrap();
            let mut out = Vec::with_capacity(y.len());
            b.iter(|| {
                out.clear();
                for chunk in y.chunks(4_096) {
                    r.process(chunk, &mut out).unwrap();
                }
                r.finish(&mut out).unwrap();
                out.len()
            });
        });
    }
    g.finish();
}

criterion_group!(benches, decode, resample);
