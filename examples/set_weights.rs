//! Change a model's block weights (the share of each block in the cosine).
//!
//! ```text
//! cargo run --release --example set_weights -- models/default tiles=1 timbre=0.7 key=0.25
//! ```
//!
//! People ask for feature weighting: "more rhythm, less timbre". A block's share of the cosine
//! grows with the square of its weight (each block is z-scored and divided by √dim first).
//! Vectors already in a database were made with the old weights: re-index after changing them.

use std::path::PathBuf;

use clap::Parser;
use sonority::Model;

/// Set block weights of a model directory.
#[derive(Parser, Debug)]
#[command(version, about)]
struct Args {
    /// The model directory.
    model: PathBuf,
    /// `block=weight` pairs (blocks: tiles, timbre, key, tempo, rolloff).
    weights: Vec<String>,
}

fn main() {
    if let Err(e) = run() {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}

fn run() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse();
    let mut model = Model::load(&args.model)?;
    for w in &args.weights {
        let (name, value) = w.split_once('=').ok_or("expected block=weight")?;
        model.fusion.set_weight(name, value.parse()?)?;
    }
    model.save(&args.model)?;
    for b in &model.fusion.layout().blocks {
        println!("{:>8}: {} dims, weight {}", b.name, b.range.len(), b.weight);
    }
    Ok(())
}
