//! `cargo run --release -p sonority-mfcc --example header_rss`
//!
//! Peak memory and time of decoding WAV files whose headers lie (1 Hz, 4294967295 Hz,
//! 64 channels, a 4 GB data chunk over 4 KB of audio, ...), each in its own process so that
//! each figure is that file's alone: the peak resident set (`VmHWM` from `/proc/self/status`,
//! Linux only) after [`load`] with the default [`DecodeOptions`]. A valid 10 s stereo file is
//! measured too, as a reference.
//!
//! `header_rss FILE [--min-rate HZ]` measures one file.

use std::path::Path;
use std::process::Command;
use std::time::Instant;

use sonority_mfcc::{DecodeOptions, load};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if let Some(file) = args.first() {
        let mut opts = DecodeOptions::default();
        if let Some(i) = args.iter().position(|a| a == "--min-rate") {
            let hz = args.get(i + 1).and_then(|s| s.parse().ok()).unwrap_or(1);
            opts = opts.with_min_sample_rate(hz);
        }
        measure(Path::new(file), &opts);
        return;
    }
    if let Err(e) = run_all() {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}

/// Decodes one file and prints: outcome, seconds, peak RSS.
fn measure(path: &Path, opts: &DecodeOptions) {
    let start = Instant::now();
    let outcome = match load(path, opts) {
        Ok(y) => format!("ok, {} samples", y.len()),
        Err(e) => format!("error: {e}"),
    };
    let secs = start.elapsed().as_secs_f64();
    let hwm =
        peak_rss_kib().map_or_else(|| "?".to_owned(), |k| format!("{:.1}", k as f64 / 1024.0));
    println!("{secs:.3}\t{hwm}\t{outcome}");
}

/// `VmHWM` of this process in KiB.
fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn run_all() -> Result<(), Box<dyn std::error::Error>> {
    let dir = std::env::temp_dir().join(format!("sonority-header-rss-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let kb4 = audio_bytes(4096);
    let ten_s = audio_bytes(44_100 * 4 * 10);
    let cases: Vec<(&str, Vec<u8>)> = vec![
        (
            "valid_10s_44k_stereo",
            wav(PCM, 2, 44_100, 16, ten_s.len() as u32, &ten_s),
        ),
        ("rate_1hz_2kb", wav(PCM, 1, 1, 16, 2000, &audio_bytes(2000))),
        ("rate_4294967295hz", wav(PCM, 2, u32::MAX, 16, 4096, &kb4)),
        ("channels_64", wav(PCM, 64, 44_100, 16, 4096, &kb4)),
        (
            "channels_64_extensible",
            wav(EXTENSIBLE, 64, 44_100, 16, 4096, &kb4),
        ),
        ("bits_65535", wav(PCM, 2, 44_100, u16::MAX, 4096, &kb4)),
        (
            "data_4gb_claim_4kb_real",
            wav(PCM, 2, 44_100, 16, 0xFFFF_FFF0, &kb4),
        ),
        (
            "data_len_unknown_4kb_real",
            wav(PCM, 2, 44_100, 16, u32::MAX, &kb4),
        ),
    ];
    // A `fmt ` chunk, and a LIST/INFO sub-chunk before the data, each claiming about 4 GB.
    let ok = wav(PCM, 1, 22_050, 16, 4096, &kb4);
    let mut fmt_huge = ok.clone();
    fmt_huge[16..20].copy_from_slice(&0xFFFF_FFF0_u32.to_le_bytes());
    let mut list_huge = ok[..36].to_vec();
    list_huge[4..8].copy_from_slice(&u32::MAX.to_le_bytes());
    list_huge.extend(b"LIST");
    list_huge.extend(0xFFFF_FFF0_u32.to_le_bytes());
    list_huge.extend(b"INFOINAM");
    list_huge.extend(0xFFFF_FFE0_u32.to_le_bytes());
    list_huge.extend(&kb4);
    list_huge.extend(&ok[36..]);
    let cases = cases
        .into_iter()
        .chain([
            ("fmt_chunk_4gb_claim", fmt_huge),
            ("list_info_4gb_claim", list_huge),
        ])
        .collect::<Vec<_>>();
    let exe = std::env::current_exe()?;
    println!("case\tseconds\tpeak_rss_mib\toutcome");
    for (name, bytes) in &cases {
        let path = dir.join(format!("{name}.wav"));
        std::fs::write(&path, bytes)?;
        let out = Command::new(&exe).arg(&path).output()?;
        print!("{name}\t{}", String::from_utf8_lossy(&out.stdout));
    }
    // The bug report's file with the minimum rate widened: still bounded by the ratio check.
    let path = dir.join("rate_1hz_2kb.wav");
    let out = Command::new(&exe)
        .arg(&path)
        .args(["--min-rate", "1"])
        .output()?;
    print!(
        "rate_1hz_2kb(min-rate 1)\t{}",
        String::from_utf8_lossy(&out.stdout)
    );
    std::fs::remove_dir_all(&dir)?;
    Ok(())
}

const PCM: u16 = 1;
const EXTENSIBLE: u16 = 0xFFFE;

/// A RIFF/WAVE file whose `fmt ` chunk claims the given layout and whose `data` chunk header
/// claims `data_len` bytes, followed by `data`.
fn wav(format: u16, channels: u16, rate: u32, bits: u16, data_len: u32, data: &[u8]) -> Vec<u8> {
    let block = (u32::from(channels) * u32::from(bits) / 8) as u16;
    let mut fmt = Vec::new();
    fmt.extend(format.to_le_bytes());
    fmt.extend(channels.to_le_bytes());
    fmt.extend(rate.to_le_bytes());
    fmt.extend(rate.wrapping_mul(u32::from(block)).to_le_bytes());
    fmt.extend(block.to_le_bytes());
    fmt.extend(bits.to_le_bytes());
    if format == EXTENSIBLE {
        fmt.extend(22_u16.to_le_bytes());
        fmt.extend(bits.to_le_bytes());
        fmt.extend(0_u32.to_le_bytes());
        fmt.extend([
            0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x80, 0x00, 0x00, 0xAA, 0x00, 0x38,
            0x9B, 0x71,
        ]);
    }
    let mut w = b"RIFF".to_vec();
    let riff_len = (4 + 8 + fmt.len() as u32 + 8).saturating_add(data_len);
    w.extend(riff_len.to_le_bytes());
    w.extend(b"WAVEfmt ");
    w.extend((fmt.len() as u32).to_le_bytes());
    w.extend(fmt);
    w.extend(b"data");
    w.extend(data_len.to_le_bytes());
    w.extend(data);
    w
}

/// `n` bytes of a quiet 16-bit ramp.
fn audio_bytes(n: usize) -> Vec<u8> {
    (0..n)
        .map(|i| if i % 2 == 0 { (i / 2 % 200) as u8 } else { 0 })
        .collect()
}
