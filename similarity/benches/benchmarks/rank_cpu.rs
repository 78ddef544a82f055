//! Top-10 ranking over 1,000,000 × 64 vectors on one thread, measured in the thread's CPU time
//! rather than wall time: on a busy machine wall times are inflated by other processes, CPU
//! time much less. Linux only (`/proc/thread-self/schedstat`); skipped elsewhere.
//!
//! `cargo bench -p sonority-similarity --bench bench_main -- rank_cpu`

use criterion::measurement::{Measurement, ValueFormatter, WallTime};
use criterion::{BenchmarkId, Criterion, criterion_group};
use sonority_similarity::{CosineRanker, Query, RankOptions, Ranker};
use std::time::Duration;

use super::{DIM, random_data, random_index};

/// Where Linux reports the calling thread's time on a CPU, in nanoseconds (first field).
const SCHEDSTAT: &str = "/proc/thread-self/schedstat";

/// The CPU time of the thread that runs the routine (criterion calls `start` and `end` on it).
/// The kernel brings the figure up to date at every scheduler tick (1 to 4 ms), so samples are
/// kept long (tens of iterations of a several-millisecond routine).
pub struct ThreadCpuTime;

fn thread_cpu_ns() -> u64 {
    std::fs::read_to_string(SCHEDSTAT)
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse().ok())
        .expect("read /proc/thread-self/schedstat")
}

/// Nanoseconds, shown as wall times are.
static FORMAT: WallTime = WallTime;

impl Measurement for ThreadCpuTime {
    type Intermediate = u64;
    type Value = u64;

    fn start(&self) -> u64 {
        thread_cpu_ns()
    }
    fn end(&self, start: u64) -> u64 {
        thread_cpu_ns().saturating_sub(start)
    }
    fn add(&self, a: &u64, b: &u64) -> u64 {
        a + b
    }
    fn zero(&self) -> u64 {
        0
    }
    fn to_f64(&self, value: &u64) -> f64 {
        *value as f64
    }
    fn formatter(&self) -> &dyn ValueFormatter {
        FORMAT.formatter()
    }
}

fn rank_cpu(c: &mut Criterion<ThreadCpuTime>) {
    if std::fs::read_to_string(SCHEDSTAT).is_err() {
        eprintln!("rank_cpu: no {SCHEDSTAT} (not Linux?), skipped");
        return;
    }
    let index = random_index(1_000_000);
    let prefiltered = index.clone().with_i8_prefilter();
    let query = Query::new(&random_data(1, DIM, 7)).expect("finite query");
    let opts = RankOptions::default().with_k(10);
    let single = CosineRanker::new().with_parallel_min_rows(usize::MAX);
    let mut group = c.benchmark_group("rank_cpu/1m_x64");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(10));
    group.bench_function(BenchmarkId::new("cosine_top10", "1_thread"), |b| {
        b.iter(|| single.rank(&query, &index, &opts).expect("rank"))
    });
    group.bench_function(BenchmarkId::new("i8_prefilter_top10", "1_thread"), |b| {
        b.iter(|| single.rank(&query, &prefiltered, &opts).expect("rank"))
    });
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().with_measurement(ThreadCpuTime);
    targets = rank_cpu
}
