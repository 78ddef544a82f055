//! Integration tests, linked into one binary.
#![allow(clippy::unwrap_used)] // helpers outside #[test] functions

mod candle_gradients;
mod persistence;
mod testutil;
mod training;
