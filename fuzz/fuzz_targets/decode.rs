//! Bytes → a file → sonority-mfcc decoding → STFT → MFCCs and the key/tempo/roll-off
//! descriptors. Must never panic (outside symphonia, whose panics `FileSource` catches) nor
//! produce a non-finite value.
//!
//! ```text
//! cd fuzz && cargo +nightly fuzz run decode -- -jobs=1 -max_total_time=600
//! ```
//!
//! The first byte picks the file extension (the format hint), the rest is the file. Files are
//! written under `/dev/shm` when it exists.
#![no_main]

use std::path::PathBuf;
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use sonority::fusion::Descriptors;
use sonority::mfcc::{DecodeOptions, FileSource, MfccConfig, MfccSink, analyze};

const EXTENSIONS: [&str; 10] = [
    "wav", "mp3", "flac", "ogg", "m4a", "aiff", "caf", "mka", "webm", "bin",
];

fn scratch() -> &'static PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let base = if std::path::Path::new("/dev/shm").is_dir() {
            PathBuf::from("/dev/shm")
        } else {
            std::env::temp_dir()
        };
        let d = base.join(format!("sonority-fuzz-decode-{}", std::process::id()));
        std::fs::create_dir_all(&d).unwrap();
        d
    })
}

fuzz_target!(
    init: {
        sonority_fuzz_hook();
    },
    |data: &[u8]| {
        let Some((&sel, body)) = data.split_first() else { return };
        let ext = EXTENSIONS[usize::from(sel) % EXTENSIONS.len()];
        let path = scratch().join(format!("input.{ext}"));
        std::fs::write(&path, body).unwrap();
        // Bounded work per input: at most 20 s of decoded audio.
        let opts = DecodeOptions::default().with_max_duration_s(Some(20.0));
        let Ok(mut src) = FileSource::open(&path, &opts) else { return };
        let cfg = MfccConfig::default();
        let mut mfcc = MfccSink::new(&cfg).unwrap();
        let mut desc = Descriptors::with_rolloff_percent(0.85).unwrap();
        if analyze(&mut src, &cfg.stft_spec(), &mut [&mut mfcc, &mut desc]).is_err() {
            return;
        }
        let m = mfcc.into_matrix();
        assert!(m.as_slice().iter().all(|v| v.is_finite()), "non-finite MFCC");
        if let Ok(blocks) = desc.blocks() {
            for (name, b) in blocks {
                assert!(b.iter().all(|v| v.is_finite()), "non-finite {name} block");
            }
        }
    }
);

/// libfuzzer-sys aborts on every panic, caught or not. `FileSource` catches symphonia's panics
/// and turns them into errors, so by default those are logged, not crashes; set
/// `SONORITY_FUZZ_STRICT=1` to abort on them too (to collect symphonia's panics).
fn sonority_fuzz_hook() {
    if std::env::var_os("SONORITY_FUZZ_STRICT").is_some() {
        return;
    }
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let in_symphonia = info
            .location()
            .is_some_and(|l| l.file().contains("symphonia"));
        if in_symphonia {
            eprintln!("symphonia panicked (caught by FileSource): {info}");
        } else {
            default(info);
        }
    }));
}
