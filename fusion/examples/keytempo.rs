//! Key and tempo predictions for every audio file in a folder, in the format of
//! `keytempo-score.py` (file, key, bpm; tab-separated, with a header).
//!
//! ```text
//! cargo run --release -p sonority-fusion --example keytempo -- /work/shared/corpus/keytempo > preds.tsv
//! python3 /work/shared/corpus/keytempo-score.py /work/shared/corpus/keytempo/labels.tsv preds.tsv
//! ```
//!
//! Every file is decoded by `sonority_mfcc::FileSource` (any format symphonia reads, streamed,
//! resampled to 22050 Hz mono) and analysed in one STFT pass that feeds the key and tempo sinks
//! together; nothing is decoded twice and no intermediate WAV is needed. Files that are not
//! audio (`labels.tsv`, `README.md`) are skipped with a note on stderr.
//!
//! Add `--profiles` to print one extra column per key profile (for comparing them), and
//! `--confidence` to print the key strength and the tempo confidence.

use sonority_fusion::{KeyProfile, KeySink, TempoSink};
use sonority_mfcc::{DecodeOptions, FileSource, MfccConfig, analyze};

fn run() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let profiles = args.iter().any(|a| a == "--profiles");
    let confidence = args.iter().any(|a| a == "--confidence");
    let dir = args
        .iter()
        .find(|a| !a.starts_with("--"))
        .ok_or("usage: keytempo DIR [--profiles] [--confidence]")?;
    let mut files: Vec<_> = std::fs::read_dir(dir)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    let cfg = MfccConfig::default();
    let spec = cfg.stft_spec();
    let opts = DecodeOptions::default().with_sample_rate(cfg.sample_rate);
    let started = std::time::Instant::now();
    let mut analysed = 0usize;
    println!("file\tkey\tbpm");
    for path in files {
        let mut src = match FileSource::open(&path, &opts) {
            Ok(src) => src,
            Err(e @ sonority_mfcc::Error::Unsupported { .. }) => {
                eprintln!("skipped: {e}");
                continue;
            }
            Err(e) => return Err(e.into()),
        };
        let mut key = KeySink::default();
        let mut tempo = TempoSink::default();
        analyze(&mut src, &spec, &mut [&mut key, &mut tempo])?;
        analysed += 1;
        let k = key.estimate();
        let t = tempo.estimate()?;
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("?");
        print!("{name}\t{}\t{:.2}", k.key, t.bpm);
        if confidence {
            print!("\t{:.3}\t{:.3}", k.strength, t.confidence);
        }
        if profiles {
            for p in KeyProfile::ALL {
                print!("\t{}", key.estimate_with(p).key);
            }
        }
        println!();
    }
    eprintln!(
        "{analysed} files in {:.2} s (decoding included)",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

fn main() {
    if let Err(e) = run() {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}
