//! `cargo run -p sonority-testkit --example badinput -- DIR [LONG_MP3_SECONDS]`
//!
//! Writes the bad-input corpus (and `DIR/cases.tsv`) into `DIR`, the same cases as
//! `shared/badinput/make.sh DIR` without sox, ffmpeg or Python, so that tools such as
//! `sonority-mfcc`'s `decode_check` example, or the robustness test through
//! `SONORITY_BADINPUT_DIR=DIR`, can run on it. The long MP3 is 1200 s unless told otherwise.

use std::path::PathBuf;

use sonority_testkit::badinput::{self, Options};

fn main() {
    if let Err(e) = run() {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}

fn run() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args_os().skip(1);
    let dir = PathBuf::from(
        args.next()
            .ok_or("usage: badinput DIR [LONG_MP3_SECONDS]")?,
    );
    let mut opts = Options::default();
    if let Some(s) = args.next() {
        let s = s.to_str().ok_or("LONG_MP3_SECONDS is not a number")?;
        opts = opts.with_long_mp3_s(s.parse()?);
    }
    let cases = badinput::generate_with(&dir, &opts)?;
    for c in &cases {
        println!("{}\t{}\t{}", c.expect, c.file, c.kind);
    }
    println!("{} cases in {}", cases.len(), dir.display());
    Ok(())
}
