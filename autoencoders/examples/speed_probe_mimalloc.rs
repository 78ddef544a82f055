//! [`speed_probe`](./speed_probe.rs) with mimalloc as the global allocator: candle allocates a
//! fresh tensor for every operation and gradient, and glibc returns large blocks to the kernel, so
//! every step pays page faults; an allocator that keeps memory avoids them.
//!
//! `cargo run --release -p sonority-autoencoders --example speed_probe_mimalloc [preset]`

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

include!("probe/body.rs");
