//! The benchmarks of `bench_main` again, with mimalloc as the global allocator, in groups named
//! `mimalloc/train_step`, `mimalloc/encode`, `mimalloc/encode_track`.
//!
//! candle allocates a fresh tensor for every operation and gradient, and glibc returns large
//! blocks to the kernel, so every step pays page faults; an allocator that keeps memory avoids
//! them. Compare with `bench_main`'s groups of the same name without the prefix:
//!
//! `cargo bench -p sonority-autoencoders --bench bench_main -- train_step/default` then
//! `cargo bench -p sonority-autoencoders --bench bench_mimalloc -- train_step/default`

#![allow(clippy::expect_used)] // setup failures abort the benchmark

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

mod benchmarks;

/// Prefix of the benchmark groups: the allocator of this binary.
const ALLOCATOR: &str = "mimalloc/";

criterion::criterion_main!(benchmarks::train::benches, benchmarks::encode::benches,);
