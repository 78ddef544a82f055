//! Mel spectrogram picture and MFCC shape of an audio file.
//!
//! ```text
//! cargo run --release -p sonority-lab --bin mfcc -- song.ogg --png song.png
//! ```
//!
//! Decodes the file (streaming), resamples to 22050 Hz, computes the mel spectrogram and MFCCs
//! exactly as librosa does, prints shapes and timing, and writes the dB mel spectrogram as a PNG
//! (time on x, low frequencies at the bottom, the perceptual `magma` colour map).

use std::path::{Path, PathBuf};
use std::time::Instant;

use clap::Parser;
use sonority::mfcc::{
    AudioSource, DbRef, DecodeOptions, FileSource, Matrix, MfccConfig, MfccSink, analyze,
    power_to_db,
};

/// Mel spectrogram PNG and MFCCs of an audio file.
#[derive(Parser, Debug)]
#[command(version, about)]
struct Args {
    /// The audio file (WAV, FLAC, MP3, Ogg Vorbis, AAC/M4A).
    input: PathBuf,
    /// Where to write the PNG picture (default: the input's name with `.png`).
    #[arg(long)]
    png: Option<PathBuf>,
    /// Use the published design's parameters (256 mel bands, 13 MFCCs).
    #[arg(long)]
    published: bool,
    /// Number of mel bands.
    #[arg(long, default_value_t = 128)]
    n_mels: usize,
}

fn main() {
    if let Err(e) = run() {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}

fn run() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse();
    let cfg = if args.published {
        MfccConfig::published_design()
    } else {
        MfccConfig::default().with_n_mels(args.n_mels)
    };
    let t0 = Instant::now();
    let mut source = FileSource::open(&args.input, &DecodeOptions::default())?;
    let spec = source.spec();
    let mut sink = MfccSink::new(&cfg)?;
    let a = analyze(&mut source, &cfg.stft_spec(), &mut [&mut sink])?;
    let (mel, mfcc) = sink.into_mel_and_mfcc();
    let elapsed = t0.elapsed();
    println!(
        "{}: {:.1} s of audio ({} Hz, {} ch -> {} Hz mono)",
        args.input.display(),
        a.duration_s,
        spec.original_sample_rate,
        spec.original_channels,
        cfg.sample_rate
    );
    println!(
        "mel spectrogram: {} bands x {} frames",
        mel.rows(),
        mel.cols()
    );
    println!(
        "MFCC: {} coefficients x {} frames",
        mfcc.rows(),
        mfcc.cols()
    );
    println!(
        "decode + resample + STFT + mel + MFCC: {:.3} s ({:.0}x real time)",
        elapsed.as_secs_f64(),
        a.duration_s / elapsed.as_secs_f64().max(1e-9)
    );
    let out = args.png.unwrap_or_else(|| args.input.with_extension("png"));
    write_png(&mel, &out)?;
    println!("wrote {}", out.display());
    Ok(())
}

/// Writes the dB mel spectrogram (ref = max, top_db = 80) as an RGB PNG.
fn write_png(mel_power: &Matrix, out: &Path) -> Result<(), Box<dyn std::error::Error>> {
    let (rows, cols) = mel_power.shape();
    let mut db = mel_power.as_slice().to_vec();
    power_to_db(&mut db, DbRef::Max, 1e-10, Some(80.0));
    let (w, h) = (cols.max(1), rows.max(1));
    let mut rgb = vec![0_u8; w * h * 3];
    for y in 0..rows {
        let band = rows - 1 - y; // low frequencies at the bottom
        for x in 0..cols {
            let v = f64::from((db[band * cols + x] + 80.0) / 80.0).clamp(0.0, 1.0);
            let c = colorous::MAGMA.eval_continuous(v);
            let at = (y * w + x) * 3;
            rgb[at..at + 3].copy_from_slice(&[c.r, c.g, c.b]);
        }
    }
    let file = std::io::BufWriter::new(std::fs::File::create(out)?);
    let mut enc = png::Encoder::new(file, u32::try_from(w)?, u32::try_from(h)?);
    enc.set_color(png::ColorType::Rgb);
    enc.set_depth(png::BitDepth::Eight);
    enc.write_header()?.write_image_data(&rgb)?;
    Ok(())
}
