//! File decoding: sample conversion, downmix, resampling length and alignment, tags, and the
//! typed error for each kind of bad input. Every input is generated here (hound or raw bytes).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::f64::consts::PI;
use std::path::{Path, PathBuf};
use std::time::Duration;

use sonority_mfcc::{AudioSource, DecodeOptions, Error, FileSource, MfccConfig, load, mfcc_file};

type TestResult = Result<(), Box<dyn std::error::Error>>;

fn tempdir() -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix("sonority-decode-")
        .tempdir()
        .unwrap()
}

/// Writes a WAV whose channel `c`, frame `i` holds `f(c, i)` (in [-1, 1]) at the given width.
fn write_wav(
    path: &Path,
    rate: u32,
    channels: u16,
    bits: u16,
    float: bool,
    frames: usize,
    f: impl Fn(usize, usize) -> f64,
) {
    let spec = hound::WavSpec {
        channels,
        sample_rate: rate,
        bits_per_sample: bits,
        sample_format: if float {
            hound::SampleFormat::Float
        } else {
            hound::SampleFormat::Int
        },
    };
    let mut w = hound::WavWriter::create(path, spec).unwrap();
    for i in 0..frames {
        for c in 0..usize::from(channels) {
            let v = f(c, i).clamp(-1.0, 1.0);
            if float {
                w.write_sample(v as f32).unwrap();
            } else {
                let full = f64::from(1_u32 << (bits - 1));
                let s = (v * full).round().clamp(-full, full - 1.0);
                match bits {
                    8 => w.write_sample(s as i8).unwrap(),
                    16 => w.write_sample(s as i16).unwrap(),
                    _ => w.write_sample(s as i32).unwrap(),
                }
            }
        }
    }
    w.finalize().unwrap();
}

fn sine(freq: f64, rate: u32, amp: f64) -> impl Fn(usize, usize) -> f64 {
    move |_, i| amp * (2.0 * PI * freq * i as f64 / f64::from(rate)).sin()
}

/// A canonical 44-byte PCM WAV header.
fn wav_header(channels: u16, rate: u32, data_len: u32) -> Vec<u8> {
    let block = channels.max(1) * 2;
    let mut h = b"RIFF".to_vec();
    h.extend((36 + data_len).to_le_bytes());
    h.extend(b"WAVEfmt ");
    h.extend(16_u32.to_le_bytes());
    h.extend(1_u16.to_le_bytes());
    h.extend(channels.to_le_bytes());
    h.extend(rate.to_le_bytes());
    h.extend((rate * u32::from(block)).to_le_bytes());
    h.extend(block.to_le_bytes());
    h.extend(16_u16.to_le_bytes());
    h.extend(b"data");
    h.extend(data_len.to_le_bytes());
    h
}

fn expected_len(n: usize, from: u32, to: u32) -> usize {
    (n as u64 * u64::from(to)).div_ceil(u64::from(from)) as usize
}

// ---------------------------------------------------------------------------------------------
// Valid files

#[test]
fn every_width_rate_and_layout_decodes_to_finite_samples_of_the_right_length() -> TestResult {
    let dir = tempdir();
    let formats = [
        (8, false),
        (16, false),
        (24, false),
        (32, false),
        (32, true),
    ];
    let rates = [8_000, 11_025, 22_050, 44_100, 48_000, 96_000];
    for (k, &(bits, float)) in formats.iter().enumerate() {
        for (j, &channels) in [1_u16, 2, 6].iter().enumerate() {
            // Every rate with every layout, without running all 90 combinations.
            for &rate in rates.iter().skip((k + j) % 2).step_by(2) {
                let frames = (rate as usize * 3) / 4 + 17;
                let path = dir
                    .path()
                    .join(format!("w{bits}{float}_{channels}ch_{rate}.wav"));
                write_wav(&path, rate, channels, bits, float, frames, |c, i| {
                    0.5 * (2.0 * PI * (300.0 + 100.0 * c as f64) * i as f64 / f64::from(rate)).sin()
                });
                let src = FileSource::open(&path, &DecodeOptions::default())?;
                let spec = src.source_spec();
                assert_eq!(spec.original_sample_rate, rate);
                assert_eq!(spec.original_channels, usize::from(channels));
                assert_eq!(spec.sample_rate, 22_050);
                let y = load(&path, &DecodeOptions::default())?;
                let what = path.display();
                assert_eq!(y.len(), expected_len(frames, rate, 22_050), "{what}");
                assert!(y.iter().all(|s| s.is_finite()), "{what}");
                let peak = y.iter().fold(0.0_f32, |p, s| p.max(s.abs()));
                assert!((0.2..0.6).contains(&peak), "{what}: peak {peak}");
            }
        }
    }
    Ok(())
}

/// At 22050 Hz mono nothing is resampled: samples must equal libsndfile's conversion exactly
/// (integers divided by 2^(bits-1); 8-bit WAV is unsigned, centred on 128).
#[test]
fn sample_conversion_is_exact() -> TestResult {
    let dir = tempdir();
    let frames = 5000;
    let ramp = |i: usize| (i as f64 * 0.37).sin() * 0.9;
    for (bits, float) in [
        (8, false),
        (16, false),
        (24, false),
        (32, false),
        (32, true),
    ] {
        let path = dir.path().join(format!("exact{bits}{float}.wav"));
        write_wav(&path, 22_050, 1, bits, float, frames, |_, i| ramp(i));
        let y = load(&path, &DecodeOptions::default())?;
        assert_eq!(y.len(), frames);
        for (i, &got) in y.iter().enumerate() {
            let want = if float {
                ramp(i) as f32
            } else {
                let full = f64::from(1_u32 << (bits - 1));
                let s = (ramp(i) * full).round();
                (s / full) as f32
            };
            assert_eq!(got, want, "{bits}-bit float={float} sample {i}");
        }
    }
    Ok(())
}

/// Downmix is the mean of the channels (librosa's `to_mono`), for 2 and 6 channels.
#[test]
fn downmix_is_the_channel_mean() -> TestResult {
    let dir = tempdir();
    for channels in [2_u16, 6] {
        let path = dir.path().join(format!("mix{channels}.wav"));
        let f = |c: usize, i: usize| ((i * (c + 3)) % 200) as f64 / 400.0 - 0.2 * c as f64 / 6.0;
        write_wav(&path, 22_050, channels, 16, false, 3000, f);
        let y = load(&path, &DecodeOptions::default())?;
        for (i, &got) in y.iter().enumerate() {
            let mut sum = 0.0_f32;
            for c in 0..usize::from(channels) {
                sum += ((f(c, i) * 32768.0).round() / 32768.0) as f32;
            }
            assert_eq!(got, sum / f32::from(channels), "{channels}ch sample {i}");
        }
    }
    Ok(())
}

/// A resampled sine lands where the analytic sine at the new rate is: the resampler's delay is
/// removed and its pass band is flat.
#[test]
fn resampled_sine_is_time_aligned() -> TestResult {
    let dir = tempdir();
    for rate in [44_100, 48_000, 8_000, 96_000] {
        let path = dir.path().join(format!("sine{rate}.wav"));
        let frames = rate as usize;
        write_wav(&path, rate, 2, 32, true, frames, sine(440.0, rate, 0.5));
        let y = load(&path, &DecodeOptions::default())?;
        assert_eq!(y.len(), expected_len(frames, rate, 22_050));
        let want = sine(440.0, 22_050, 0.5);
        // Away from the edges, where the filter sees the signal start and stop.
        let err = (1000..y.len() - 1000)
            .map(|i| (f64::from(y[i]) - want(0, i)).abs())
            .fold(0.0, f64::max);
        assert!(err < 1e-3, "{rate} Hz: max error {err}");
    }
    Ok(())
}

#[test]
fn chunks_stream_with_bounded_size() -> TestResult {
    let dir = tempdir();
    let path = dir.path().join("long.wav");
    write_wav(
        &path,
        44_100,
        2,
        16,
        false,
        44_100 * 20,
        sine(1000.0, 44_100, 0.3),
    );
    let mut src = FileSource::open(&path, &DecodeOptions::default())?;
    let (mut n, mut largest, mut chunks) = (0, 0, 0);
    while let Some(c) = src.next_chunk()? {
        n += c.len();
        largest = largest.max(c.len());
        chunks += 1;
    }
    assert_eq!(n, 22_050 * 20);
    assert!(chunks > 20, "{chunks} chunks");
    assert!(largest <= 16_384, "chunk of {largest} samples");
    // The end is sticky.
    assert!(src.next_chunk()?.is_none());
    Ok(())
}

#[test]
fn other_output_rates() -> TestResult {
    let dir = tempdir();
    let path = dir.path().join("r.wav");
    write_wav(
        &path,
        44_100,
        1,
        16,
        false,
        10_000,
        sine(200.0, 44_100, 0.5),
    );
    for rate in [16_000, 22_050, 44_100, 48_000] {
        let y = load(&path, &DecodeOptions::default().with_sample_rate(rate))?;
        assert_eq!(y.len(), expected_len(10_000, 44_100, rate), "{rate}");
    }
    Ok(())
}

/// Tags come from the metadata symphonia reads. Here an ID3v2.4 tag (UTF-8 frames) precedes a
/// WAV; symphonia 0.6.1 drops RIFF `LIST/INFO` chunks (its `WavReader` never stores them), so a
/// plain WAV has no tags.
#[test]
fn id3_tags_are_read() -> TestResult {
    let dir = tempdir();
    let wav = dir.path().join("plain.wav");
    write_wav(&wav, 22_050, 1, 16, false, 2000, sine(100.0, 22_050, 0.1));
    assert!(
        FileSource::open(&wav, &DecodeOptions::default())?
            .tags()
            .is_empty()
    );

    let mut frames = Vec::new();
    for (id, text) in [
        (b"TIT2", "Åse's Death"),
        (b"TPE1", "Grieg"),
        (b"TALB", "Peer Gynt"),
        (b"TRCK", "2/4"),
    ] {
        let body: Vec<u8> = std::iter::once(3).chain(text.bytes()).collect(); // 3 = UTF-8
        frames.extend(id);
        frames.extend((body.len() as u32).to_be_bytes()); // < 128: syncsafe as is
        frames.extend([0, 0]);
        frames.extend(body);
    }
    let size = frames.len() as u32;
    let syncsafe = [
        (size >> 21) & 127,
        (size >> 14) & 127,
        (size >> 7) & 127,
        size & 127,
    ];
    let mut bytes = b"ID3\x04\x00\x00".to_vec();
    bytes.extend(syncsafe.map(|b| b as u8));
    bytes.extend(frames);
    bytes.extend(std::fs::read(&wav)?);
    let tagged = dir.path().join("tagged.wav");
    std::fs::write(&tagged, bytes)?;
    let src = FileSource::open(&tagged, &DecodeOptions::default())?;
    let t = src.tags();
    assert_eq!(t.title.as_deref(), Some("Åse's Death"));
    assert_eq!(t.artist.as_deref(), Some("Grieg"));
    assert_eq!(t.album.as_deref(), Some("Peer Gynt"));
    assert_eq!(t.track_number, Some(2));
    assert_eq!(load(&tagged, &DecodeOptions::default())?.len(), 2000);
    Ok(())
}

#[test]
fn mfcc_file_matches_mfcc_of_loaded_samples() -> TestResult {
    let dir = tempdir();
    let path = dir.path().join("m.wav");
    write_wav(
        &path,
        48_000,
        2,
        16,
        false,
        48_000 * 2,
        sine(523.0, 48_000, 0.4),
    );
    let cfg = MfccConfig::default();
    let m = mfcc_file(&path, &cfg)?;
    let y = load(&path, &DecodeOptions::default())?;
    let mut sink = sonority_mfcc::MfccSink::new(&cfg)?;
    sonority_mfcc::analyze(
        &mut sonority_mfcc::SliceSource::new(&y, 22_050),
        &cfg.stft_spec(),
        &mut [&mut sink],
    )?;
    let want = sink.into_matrix();
    assert_eq!(m.shape(), (20, 1 + y.len() / 512));
    assert_eq!(m.as_slice(), want.as_slice());
    Ok(())
}

#[cfg(unix)]
#[test]
fn non_utf8_file_names_work() -> TestResult {
    use std::os::unix::ffi::OsStrExt;
    let dir = tempdir();
    let path = dir
        .path()
        .join(std::ffi::OsStr::from_bytes(b"bad_\xff\xfe name.wav"));
    write_wav(&path, 22_050, 1, 16, false, 1000, sine(100.0, 22_050, 0.1));
    assert_eq!(load(&path, &DecodeOptions::default())?.len(), 1000);
    // And an error message still names it (lossily).
    std::fs::write(&path, b"not audio")?;
    let e = load(&path, &DecodeOptions::default()).unwrap_err();
    assert!(e.to_string().contains("bad_"), "{e}");
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Bad input: one typed error per case, naming the file.

fn open_err(path: &Path, opts: &DecodeOptions) -> Error {
    match load(path, opts) {
        Ok(y) => panic!("{} decoded to {} samples", path.display(), y.len()),
        Err(e) => {
            let name = path.file_name().unwrap().to_string_lossy();
            assert!(e.to_string().contains(&*name), "{e} does not name {name}");
            e
        }
    }
}

fn bad(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    p
}

#[test]
fn broken_files_give_typed_errors() {
    let dir = tempdir();
    let d = dir.path();
    let o = DecodeOptions::default();
    let random = sonority_testkit::Rng::new(1).bytes(100_000);
    let silence = vec![0_u8; 4000];
    let mut zero_rate = wav_header(2, 0, 4000);
    zero_rate.extend(&silence);
    let mut zero_channels = wav_header(0, 44_100, 4000);
    zero_channels.extend(&silence);
    let mut claims_more = wav_header(2, 44_100, 10_000_000);
    claims_more.extend(&silence);
    let header_only = wav_header(2, 44_100, 0);
    let valid = {
        let p = d.join("valid.wav");
        write_wav(&p, 44_100, 2, 16, false, 4410, sine(440.0, 44_100, 0.5));
        std::fs::read(&p).unwrap()
    };

    let e = open_err(&bad(d, "zero.mp3", b""), &o);
    assert!(matches!(e, Error::Empty { .. }), "{e}");
    let e = open_err(&bad(d, "random.flac", &random), &o);
    assert!(matches!(e, Error::Unsupported { .. }), "{e}");
    let e = open_err(&bad(d, "random.mp3", &random), &o);
    assert!(matches!(e, Error::Unsupported { .. }), "{e}");
    let e = open_err(&bad(d, "text.mp3", b"this is not audio\n"), &o);
    assert!(matches!(e, Error::Unsupported { .. }), "{e}");
    let e = open_err(&bad(d, "cut_header.wav", &valid[..20]), &o);
    assert!(matches!(e, Error::Unsupported { .. }), "{e}");
    let e = open_err(&bad(d, "zero_rate.wav", &zero_rate), &o);
    assert!(matches!(e, Error::Decode { .. }), "{e}");
    assert!(e.to_string().contains("0 Hz"), "{e}");
    let e = open_err(&bad(d, "zero_channels.wav", &zero_channels), &o);
    assert!(matches!(e, Error::Decode { .. }), "{e}");
    let e = open_err(&bad(d, "header_only.wav", &header_only), &o);
    assert!(matches!(e, Error::Empty { .. }), "{e}");
    let e = open_err(&bad(d, "claims_more.wav", &claims_more), &o);
    assert!(matches!(e, Error::Decode { .. }), "{e}");
    let e = open_err(&d.join("missing.wav"), &o);
    assert!(matches!(e, Error::Io { .. }), "{e}");

    let dir_mp3 = d.join("x.mp3");
    std::fs::create_dir(&dir_mp3).unwrap();
    let e = open_err(&dir_mp3, &o);
    assert!(
        matches!(
            e,
            Error::NotAFile {
                kind: "directory",
                ..
            }
        ),
        "{e}"
    );
}

#[test]
fn a_truncated_file_keeps_what_was_decoded() -> TestResult {
    let dir = tempdir();
    let path = dir.path().join("full.wav");
    write_wav(
        &path,
        44_100,
        2,
        16,
        false,
        44_100,
        sine(440.0, 44_100, 0.5),
    );
    let bytes = std::fs::read(&path)?;
    let cut = dir.path().join("cut.wav");
    // Keep the header and 60 % of the data, ending mid-frame.
    std::fs::write(&cut, &bytes[..44 + 44_100 * 4 * 6 / 10 + 3])?;
    let mut src = FileSource::open(&cut, &DecodeOptions::default())?;
    let mut n = 0;
    while let Some(c) = src.next_chunk()? {
        n += c.len();
    }
    assert!(src.was_truncated());
    let frames = src.decoded_frames() as usize;
    assert!((26_000..=26_460).contains(&frames), "{frames} frames");
    assert_eq!(n, expected_len(frames, 44_100, 22_050));
    // Below the kept fraction it is an error.
    let opts = DecodeOptions::default().with_min_truncated_fraction(0.9);
    let e = open_err(&cut, &opts);
    assert!(matches!(e, Error::Decode { .. }), "{e}");
    Ok(())
}

#[test]
fn limits_are_enforced_on_decoded_audio() {
    let dir = tempdir();
    let six = dir.path().join("six.wav");
    write_wav(&six, 22_050, 6, 16, false, 100, sine(100.0, 22_050, 0.1));
    let e = open_err(&six, &DecodeOptions::default().with_max_channels(2));
    assert!(matches!(e, Error::Limit { .. }), "{e}");

    let long = dir.path().join("two_seconds.wav");
    write_wav(&long, 8_000, 1, 16, false, 16_000, sine(100.0, 8_000, 0.1));
    let e = open_err(
        &long,
        &DecodeOptions::default().with_max_duration_s(Some(1.5)),
    );
    assert!(matches!(e, Error::Limit { .. }), "{e}");
    assert!(
        load(
            &long,
            &DecodeOptions::default().with_max_duration_s(Some(2.0))
        )
        .is_ok()
    );

    let fast = dir.path().join("fast.wav");
    write_wav(&fast, 192_000, 1, 16, false, 100, sine(100.0, 192_000, 0.1));
    let e = open_err(
        &fast,
        &DecodeOptions::default().with_max_sample_rate(96_000),
    );
    assert!(matches!(e, Error::Limit { .. }), "{e}");
}

#[test]
fn non_finite_float_samples_are_rejected() {
    let dir = tempdir();
    let path = dir.path().join("nan.wav");
    write_wav(&path, 22_050, 1, 32, true, 1000, |_, i| {
        if i == 500 { f64::NAN } else { 0.1 }
    });
    let e = open_err(&path, &DecodeOptions::default());
    assert!(matches!(e, Error::Decode { .. }), "{e}");
}

#[test]
fn invalid_options_are_rejected() {
    let dir = tempdir();
    let path = dir.path().join("ok.wav");
    write_wav(&path, 22_050, 1, 16, false, 100, sine(100.0, 22_050, 0.1));
    for opts in [
        DecodeOptions::default().with_sample_rate(0),
        DecodeOptions::default().with_max_channels(0),
        DecodeOptions::default().with_max_duration_s(Some(f64::NAN)),
        DecodeOptions::default().with_max_duration_s(Some(-1.0)),
        DecodeOptions::default().with_min_truncated_fraction(2.0),
    ] {
        let e = FileSource::open(&path, &opts).unwrap_err();
        assert!(matches!(e, Error::InvalidConfig { .. }), "{e}");
    }
}

#[cfg(unix)]
#[test]
fn fifos_and_bad_symlinks_never_block() {
    let dir = tempdir();
    let d = dir.path().to_path_buf();
    let fifo = d.join("pipe.mp3");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .is_ok_and(|s| s.success());
    std::os::unix::fs::symlink(d.join("nowhere.flac"), d.join("dangling.flac")).unwrap();
    std::os::unix::fs::symlink(d.join("loop_b.mp3"), d.join("loop_a.mp3")).unwrap();
    std::os::unix::fs::symlink(d.join("loop_a.mp3"), d.join("loop_b.mp3")).unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let o = DecodeOptions::default();
        let fifo_err = made.then(|| open_err(&d.join("pipe.mp3"), &o));
        let dangling = open_err(&d.join("dangling.flac"), &o);
        let looping = open_err(&d.join("loop_a.mp3"), &o);
        tx.send((fifo_err, dangling, looping)).unwrap();
    });
    let (fifo_err, dangling, looping) = rx
        .recv_timeout(Duration::from_secs(20))
        .expect("opening a FIFO or a bad symlink hung");
    if let Some(e) = fifo_err {
        assert!(matches!(e, Error::NotAFile { kind: "fifo", .. }), "{e}");
    } else {
        eprintln!("mkfifo unavailable: FIFO case skipped");
    }
    assert!(matches!(dangling, Error::Io { .. }), "{dangling}");
    assert!(matches!(looping, Error::Io { .. }), "{looping}");
}

// ---------------------------------------------------------------------------------------------
// Memory (run by hand: `cargo test --release -p sonority-mfcc --test decode -- --ignored`)

#[cfg(target_os = "linux")]
fn vm_hwm_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap()
}

/// Decoding one hour of 8 kHz mono (57.6 MB of PCM, 79 M output samples) must not grow the
/// process's peak resident memory by more than a few MB.
#[cfg(target_os = "linux")]
#[test]
#[ignore = "writes a 58 MB file and takes a few seconds; run alone to measure the peak"]
fn decoding_an_hour_streams_in_bounded_memory() -> TestResult {
    let dir = tempdir();
    let path = dir.path().join("hour.wav");
    let rate = 8_000;
    write_wav(&path, rate, 1, 16, false, 3600 * rate as usize, |_, i| {
        0.3 * (2.0 * PI * 440.0 * (i % 8000) as f64 / 8000.0).sin()
    });
    let before = vm_hwm_kib();
    let mut src = FileSource::open(&path, &DecodeOptions::default())?;
    let mut n = 0_u64;
    while let Some(c) = src.next_chunk()? {
        n += c.len() as u64;
    }
    let after = vm_hwm_kib();
    assert_eq!(n, 3600 * 22_050);
    let grown = after.saturating_sub(before);
    eprintln!("peak RSS before {before} KiB, after {after} KiB, grown {grown} KiB");
    assert!(grown < 8 * 1024, "peak RSS grew by {grown} KiB");
    Ok(())
}
