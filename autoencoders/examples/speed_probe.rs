//! Quick timing of one training step (batch 32) and of encoding for each preset; pass a preset
//! name to run only that one.
//!
//! `cargo run --release -p sonority-autoencoders --example speed_probe [default|small_2d|published_1d|published_2d]`

include!("probe/body.rs");
