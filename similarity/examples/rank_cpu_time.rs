//! CPU time and wall time per top-10 query over 1,000,000 × 64 random vectors, one thread,
//! for the f32 scan and the i8 prefilter. CPU time stays meaningful on a busy machine,
//! where criterion's wall times are inflated by other processes.
//!
//! ```text
//! cargo run --release -p sonority-similarity --example rank_cpu_time
//! ```

use std::error::Error;
use std::time::Instant;

use sonority_similarity::{CosineRanker, Query, RankOptions, Ranker, VectorIndex};

/// Process CPU time (user + system) in seconds, from `/proc/self/stat` (Linux only).
fn cpu_seconds() -> Result<f64, Box<dyn Error>> {
    let stat = std::fs::read_to_string("/proc/self/stat")?;
    let fields: Vec<&str> = stat
        .rsplit(')')
        .next()
        .ok_or("bad /proc/self/stat")?
        .split_whitespace()
        .collect();
    let ticks: f64 = fields[11].parse::<f64>()? + fields[12].parse::<f64>()?;
    Ok(ticks / 100.0)
}

/// `n * dim` pseudo-random values in `[-1, 1)` (xorshift).
fn random_data(n: usize, dim: usize, seed: u64) -> Vec<f32> {
    let mut s = seed.max(1);
    (0..n * dim)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            (s >> 40) as f32 / (1u64 << 23) as f32 - 1.0
        })
        .collect()
}

fn run() -> Result<(), Box<dyn Error>> {
    let (n, dim, reps) = (1_000_000, 64, 60);
    let index = VectorIndex::from_rows((0..n as u64).collect(), random_data(n, dim, 42), dim)?;
    let prefiltered = index.clone().with_i8_prefilter();
    let ranker = CosineRanker::new().with_parallel_min_rows(usize::MAX);
    let opts = RankOptions::default().with_k(10);
    for (name, idx) in [("f32 scan", &index), ("i8 prefilter", &prefiltered)] {
        let (cpu0, wall0) = (cpu_seconds()?, Instant::now());
        let mut checksum = 0.0;
        for r in 0..reps {
            let q = Query::new(&random_data(1, dim, 7 + r))?;
            checksum += ranker.rank(&q, idx, &opts)?[0].score;
        }
        let cpu_ms = (cpu_seconds()? - cpu0) * 1000.0 / reps as f64;
        let wall_ms = wall0.elapsed().as_secs_f64() * 1000.0 / reps as f64;
        println!(
            "{name}: {cpu_ms:.2} ms CPU, {wall_ms:.2} ms wall per query (checksum {checksum:.4})"
        );
    }
    Ok(())
}

fn main() {
    if let Err(e) = run() {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}
