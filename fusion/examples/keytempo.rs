//! Key and tempo predictions for every audio file in a folder, in the format of
//! `keytempo-score.py` (file, key, bpm; tab-separated, with a header).
//!
//! ```text
//! cargo run --release -p sonority-fusion --example keytempo -- /work/shared/corpus/keytempo > preds.tsv
//! python3 /work/shared/corpus/keytempo-score.py /work/shared/corpus/keytempo/labels.tsv preds.tsv
//! ```
//! Add `--profiles` to print one extra column per key profile (for comparing them).

use sonority_fusion::{KeyProfile, KeySink, TempoSink};
use sonority_mfcc::{MfccConfig, SliceSource, analyze};

fn load(path: &std::path::Path) -> Result<Vec<f32>, Box<dyn std::error::Error>> {
    let mut r = hound::WavReader::open(path)?;
    let s = r.spec();
    let y: Vec<f32> = match s.sample_format {
        hound::SampleFormat::Float => r.samples::<f32>().collect::<Result<_, _>>()?,
        hound::SampleFormat::Int => r
            .samples::<i32>()
            .map(|v| v.map(|x| x as f32 / (1u32 << (s.bits_per_sample - 1)) as f32))
            .collect::<Result<_, _>>()?,
    };
    let ch = usize::from(s.channels);
    Ok(y.chunks(ch)
        .map(|c| c.iter().sum::<f32>() / ch as f32)
        .collect())
}

fn run() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let profiles = args.iter().any(|a| a == "--profiles");
    let dir = args
        .iter()
        .find(|a| !a.starts_with("--"))
        .ok_or("usage: keytempo DIR [--profiles]")?;
    let mut files: Vec<_> = std::fs::read_dir(dir)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "wav"))
        .collect();
    files.sort();
    let spec = MfccConfig::default().stft_spec();
    println!("file\tkey\tbpm");
    for path in files {
        let y = load(&path)?;
        let mut key = KeySink::default();
        let mut tempo = TempoSink::default();
        analyze(
            &mut SliceSource::new(&y, 22_050),
            &spec,
            &mut [&mut key, &mut tempo],
        )?;
        let est = tempo.estimate()?;
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("?")
            .replace(".wav", ".ogg");
        print!("{name}\t{}\t{:.2}", key.estimate().key, est.bpm);
        if profiles {
            for p in KeyProfile::ALL {
                print!("\t{}", key.estimate_with(p).key);
            }
        }
        println!();
    }
    Ok(())
}

fn main() {
    if let Err(e) = run() {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}
