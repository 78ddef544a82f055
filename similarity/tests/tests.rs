//! Integration tests of `sonority-similarity`, linked into one binary.

// The whole crate is test code, fixtures included (clippy.toml only covers `#[test]` fns).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod exclusions;
mod hubness;
mod playlist_props;
mod rank_props;
mod testutil;
