//! A private MPD for the integration tests, and the command's MPD module to drive it.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

#[path = "../../src/mpd.rs"]
pub mod mpd;
pub mod private_mpd;
