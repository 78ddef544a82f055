//! WAV headers that lie: each claim that could drive memory or work (sample rate, channels,
//! bits per sample, chunk lengths) gives a typed error naming the file, or bounded work that
//! decodes only the bytes really there. The lying bytes are written here, by hand.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};

use sonority_mfcc::{AudioSource, DecodeOptions, Error, FileSource, load};

const PCM: u16 = 1;
const FLOAT: u16 = 3;
const EXTENSIBLE: u16 = 0xFFFE;
/// The PCM sub-format GUID of `WAVE_FORMAT_EXTENSIBLE`.
const PCM_GUID: [u8; 16] = [
    0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x80, 0x00, 0x00, 0xAA, 0x00, 0x38, 0x9B, 0x71,
];

/// What a WAV header claims; nothing is checked, values wrap where the format's fields do.
#[derive(Clone, Copy)]
struct Claim {
    format: u16,
    channels: u16,
    rate: u32,
    bits: u16,
    /// Length in the `data` chunk header, whatever follows.
    data_len: u32,
}

impl Claim {
    fn pcm16(channels: u16, rate: u32, data_len: u32) -> Self {
        Self {
            format: PCM,
            channels,
            rate,
            bits: 16,
            data_len,
        }
    }
}

/// A RIFF/WAVE file with a `fmt ` chunk saying `c` and a `data` chunk header claiming
/// `c.data_len` bytes, followed by `data` (which may be shorter or longer than the claim).
fn lying_wav(c: Claim, data: &[u8]) -> Vec<u8> {
    let block = (u32::from(c.channels) * u32::from(c.bits) / 8) as u16;
    let mut fmt = Vec::new();
    fmt.extend(c.format.to_le_bytes());
    fmt.extend(c.channels.to_le_bytes());
    fmt.extend(c.rate.to_le_bytes());
    fmt.extend(c.rate.wrapping_mul(u32::from(block)).to_le_bytes());
    fmt.extend(block.to_le_bytes());
    fmt.extend(c.bits.to_le_bytes());
    if c.format == EXTENSIBLE {
        fmt.extend(22_u16.to_le_bytes());
        fmt.extend(c.bits.to_le_bytes()); // valid bits
        fmt.extend(0_u32.to_le_bytes()); // channel mask: none
        fmt.extend(PCM_GUID);
    }
    let mut w = b"RIFF".to_vec();
    let riff_len = (4 + 8 + fmt.len() as u32 + 8).saturating_add(c.data_len);
    w.extend(riff_len.to_le_bytes());
    w.extend(b"WAVEfmt ");
    w.extend((fmt.len() as u32).to_le_bytes());
    w.extend(fmt);
    w.extend(b"data");
    w.extend(c.data_len.to_le_bytes());
    w.extend(data);
    w
}

/// `n` bytes of a quiet 16-bit ramp (valid audio whatever the claimed layout).
fn audio_bytes(n: usize) -> Vec<u8> {
    (0..n)
        .map(|i| if i % 2 == 0 { (i / 2 % 200) as u8 } else { 0 })
        .collect()
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    p
}

fn tempdir() -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix("sonority-headers-")
        .tempdir()
        .unwrap()
}

fn decode_err(path: &Path, opts: &DecodeOptions) -> Error {
    match load(path, opts) {
        Ok(y) => panic!(
            "{}: decoded {} samples, expected an error",
            path.display(),
            y.len()
        ),
        Err(e) => e,
    }
}

/// The error's message names the file.
fn assert_names_file(e: &Error, path: &Path) {
    assert!(
        e.to_string().contains(&path.display().to_string()),
        "error does not name {}: {e}",
        path.display()
    );
}

/// Either a typed error naming the file, or at most `max_samples` samples delivered.
fn assert_refused_or_bounded(path: &Path, opts: &DecodeOptions, max_samples: usize) {
    match load(path, opts) {
        Ok(y) => assert!(
            y.len() <= max_samples,
            "{}: {} samples from a file holding at most {max_samples}",
            path.display(),
            y.len()
        ),
        Err(e) => {
            assert!(!matches!(e, Error::InvalidConfig { .. }), "{e}");
            assert_names_file(&e, path);
        }
    }
}

/// The bug report: 2 KB of audio whose header says 1 Hz would resample to 22 million samples.
#[test]
fn a_rate_below_the_minimum_is_refused_at_the_header() {
    let dir = tempdir();
    let path = write(
        dir.path(),
        "one_hz.wav",
        &lying_wav(Claim::pcm16(1, 1, 2000), &audio_bytes(2000)),
    );
    let e = decode_err(&path, &DecodeOptions::default());
    assert!(matches!(e, Error::Limit { .. }), "{e}");
    assert_names_file(&e, &path);
    let msg = e.to_string();
    assert!(
        msg.contains("1 Hz") && msg.contains("4000") && msg.contains("768000"),
        "{msg}"
    );
    // Just below the default minimum too.
    let path = write(
        dir.path(),
        "3999_hz.wav",
        &lying_wav(Claim::pcm16(1, 3_999, 2000), &audio_bytes(2000)),
    );
    let e = decode_err(&path, &DecodeOptions::default());
    assert!(matches!(e, Error::Limit { .. }), "{e}");
}

/// Widening the rate limits never lets the resampler's buffers grow past its ratio bound: the
/// 1 Hz file is still refused, naming the file.
#[test]
fn a_widened_minimum_still_bounds_the_resampling_ratio() {
    let dir = tempdir();
    let path = write(
        dir.path(),
        "one_hz.wav",
        &lying_wav(Claim::pcm16(1, 1, 2000), &audio_bytes(2000)),
    );
    let opts = DecodeOptions::default().with_min_sample_rate(1);
    let e = decode_err(&path, &opts);
    assert!(matches!(e, Error::Limit { .. }), "{e}");
    assert_names_file(&e, &path);
    assert!(e.to_string().contains("ratio"), "{e}");
}

#[test]
fn the_minimum_is_configurable() {
    let dir = tempdir();
    let path = write(
        dir.path(),
        "2000_hz.wav",
        &lying_wav(Claim::pcm16(1, 2_000, 2000), &audio_bytes(2000)),
    );
    let e = decode_err(&path, &DecodeOptions::default());
    assert!(matches!(e, Error::Limit { .. }), "{e}");
    let y = load(&path, &DecodeOptions::default().with_min_sample_rate(1_000)).unwrap();
    // 1000 frames at 2000 Hz, resampled to 22050 Hz.
    assert_eq!(y.len(), 11_025);
    // At exactly the minimum it decodes.
    let path = write(
        dir.path(),
        "4000_hz.wav",
        &lying_wav(Claim::pcm16(1, 4_000, 2000), &audio_bytes(2000)),
    );
    let y = load(&path, &DecodeOptions::default()).unwrap();
    assert_eq!(y.len(), 5_513); // ceil(1000 · 22050 / 4000)
}

#[test]
fn a_minimum_above_the_maximum_is_an_invalid_config() {
    let opts = DecodeOptions::default()
        .with_min_sample_rate(48_000)
        .with_max_sample_rate(44_100);
    let e = opts.validate().unwrap_err();
    assert!(
        matches!(
            e,
            Error::InvalidConfig {
                field: "min_sample_rate",
                ..
            }
        ),
        "{e}"
    );
    let e = DecodeOptions::default()
        .with_min_sample_rate(0)
        .validate()
        .unwrap_err();
    assert!(matches!(e, Error::InvalidConfig { .. }), "{e}");
    assert_eq!(DecodeOptions::default().min_sample_rate, 4_000);
    // Equal bounds are fine.
    DecodeOptions::default()
        .with_min_sample_rate(44_100)
        .with_max_sample_rate(44_100)
        .validate()
        .unwrap();
}

#[test]
fn a_rate_of_u32_max_is_refused() {
    let dir = tempdir();
    for (name, claim) in [
        ("max_rate.wav", Claim::pcm16(2, u32::MAX, 4000)),
        (
            "max_rate_float.wav",
            Claim {
                format: FLOAT,
                channels: 1,
                rate: u32::MAX,
                bits: 32,
                data_len: 4000,
            },
        ),
    ] {
        let path = write(dir.path(), name, &lying_wav(claim, &audio_bytes(4000)));
        let e = decode_err(&path, &DecodeOptions::default());
        assert!(matches!(e, Error::Limit { .. }), "{e}");
        assert_names_file(&e, &path);
        assert!(e.to_string().contains("4294967295 Hz"), "{e}");
    }
}

#[test]
fn sixty_four_channels_are_refused() {
    let dir = tempdir();
    // 64 channels × 2 bytes × 32 frames.
    let data = audio_bytes(64 * 2 * 32);
    let plain = write(
        dir.path(),
        "64ch.wav",
        &lying_wav(Claim::pcm16(64, 44_100, data.len() as u32), &data),
    );
    let ext = write(
        dir.path(),
        "64ch_ext.wav",
        &lying_wav(
            Claim {
                format: EXTENSIBLE,
                ..Claim::pcm16(64, 44_100, data.len() as u32)
            },
            &data,
        ),
    );
    for path in [plain, ext] {
        let e = decode_err(&path, &DecodeOptions::default());
        assert!(
            matches!(
                e,
                Error::Limit { .. } | Error::Decode { .. } | Error::Unsupported { .. }
            ),
            "{e}"
        );
        assert_names_file(&e, &path);
    }
    // 33 to 65535 channels, a few of them: never decoded, whatever symphonia accepts.
    for ch in [33_u16, 255, u16::MAX] {
        let path = write(
            dir.path(),
            &format!("{ch}ch.wav"),
            &lying_wav(Claim::pcm16(ch, 44_100, 4096), &audio_bytes(4096)),
        );
        let e = decode_err(&path, &DecodeOptions::default());
        assert_names_file(&e, &path);
    }
}

/// A `data` chunk claiming about 4 GB with 4 KB behind it: only the 4 KB are decoded, and the
/// claim only serves to judge the truncation.
#[test]
fn a_4_gb_data_claim_decodes_only_what_is_there() {
    let dir = tempdir();
    let data = audio_bytes(4096);
    // Stereo 16-bit: 1024 frames at 44.1 kHz, 512 samples at 22.05 kHz.
    let frames_there = 4096 / 4;
    let out_there = 512;

    let huge = write(
        dir.path(),
        "4gb.wav",
        &lying_wav(Claim::pcm16(2, 44_100, 0xFFFF_FFF0), &data),
    );
    // By default, 1024 of 1 073 741 820 declared frames is a lying header.
    let e = decode_err(&huge, &DecodeOptions::default());
    assert!(matches!(e, Error::Decode { .. }), "{e}");
    assert_names_file(&e, &huge);
    // Keeping any truncated file: exactly what is there.
    let opts = DecodeOptions::default().with_min_truncated_fraction(0.0);
    let mut src = FileSource::open(&huge, &opts).unwrap();
    let mut n = 0;
    while let Some(c) = src.next_chunk().unwrap() {
        n += c.len();
    }
    assert!(src.was_truncated());
    assert_eq!(src.decoded_frames(), frames_there);
    assert_eq!(n, out_there);

    // u32::MAX is the "length unknown" marker of streamed WAVs: decoded to the end of the file.
    let unknown = write(
        dir.path(),
        "unknown_len.wav",
        &lying_wav(Claim::pcm16(2, 44_100, u32::MAX), &data),
    );
    let y = load(&unknown, &DecodeOptions::default()).unwrap();
    assert_eq!(y.len(), out_there);
}

/// Odd bit depths, with rates and lengths that would be expensive if believed.
#[test]
fn odd_bits_per_sample_are_refused_or_bounded() {
    let dir = tempdir();
    let data = audio_bytes(4096);
    for bits in [0_u16, 1, 4, 7, 12, 33, 64, 65_535] {
        for format in [PCM, FLOAT, EXTENSIBLE] {
            let claim = Claim {
                format,
                channels: 2,
                rate: 44_100,
                bits,
                data_len: 0xFFFF_FFF0,
            };
            let path = write(
                dir.path(),
                &format!("bits{bits}_fmt{format}.wav"),
                &lying_wav(claim, &data),
            );
            // At most 4096 one-bit mono samples, resampled to 22050 Hz from 44100 Hz.
            assert_refused_or_bounded(&path, &DecodeOptions::default(), 4096 * 8);
            let opts = DecodeOptions::default().with_min_truncated_fraction(0.0);
            assert_refused_or_bounded(&path, &opts, 4096 * 8);
        }
    }
}

/// Other chunk lengths that could drive allocation: a `fmt ` chunk and a `LIST`/`INFO` chunk
/// each claiming about 4 GB, with a few KB behind them.
#[test]
fn huge_fmt_and_list_chunk_claims_are_refused_or_bounded() {
    let dir = tempdir();
    let ok = lying_wav(Claim::pcm16(1, 22_050, 4096), &audio_bytes(4096));
    // `fmt ` chunk length (bytes 16..20) claiming 4 GB.
    let mut fmt_huge = ok.clone();
    fmt_huge[16..20].copy_from_slice(&0xFFFF_FFF0_u32.to_le_bytes());
    let path = write(dir.path(), "fmt_4gb.wav", &fmt_huge);
    assert_refused_or_bounded(&path, &DecodeOptions::default(), 2048);

    // A LIST/INFO chunk whose INAM sub-chunk claims 4 GB, before the data chunk.
    let mut list = b"LIST".to_vec();
    list.extend(0xFFFF_FFF0_u32.to_le_bytes());
    list.extend(b"INFOINAM");
    list.extend(0xFFFF_FFE0_u32.to_le_bytes());
    list.extend(audio_bytes(4096));
    let mut with_list = ok[..36].to_vec();
    with_list[4..8].copy_from_slice(&u32::MAX.to_le_bytes());
    with_list.extend(&list);
    with_list.extend(&ok[36..]);
    let path = write(dir.path(), "list_4gb.wav", &with_list);
    assert_refused_or_bounded(&path, &DecodeOptions::default(), 2048);
}

/// Every lying header above, decoded in one process, finishes quickly: no claim turns into
/// seconds of work. (Peak memory per file: `cargo run --release -p sonority-mfcc --example
/// header_rss`.)
#[test]
fn lying_headers_take_bounded_time() {
    let dir = tempdir();
    let data = audio_bytes(4096);
    let files = [
        lying_wav(Claim::pcm16(1, 1, 2000), &audio_bytes(2000)),
        lying_wav(Claim::pcm16(2, u32::MAX, 4096), &data),
        lying_wav(Claim::pcm16(64, 44_100, 4096), &data),
        lying_wav(Claim::pcm16(2, 44_100, 0xFFFF_FFF0), &data),
        lying_wav(Claim::pcm16(2, 44_100, u32::MAX), &data),
    ];
    let opts = DecodeOptions::default().with_min_truncated_fraction(0.0);
    let start = std::time::Instant::now();
    for (i, bytes) in files.iter().enumerate() {
        let path = write(dir.path(), &format!("lie{i}.wav"), bytes);
        assert_refused_or_bounded(&path, &opts, 2048);
    }
    // The 1 Hz file alone took 10 s before the minimum rate; all of them take milliseconds
    // (a generous bound for slow, shared test machines).
    let t = start.elapsed();
    assert!(t.as_secs_f64() < 5.0, "{t:?}");
}
