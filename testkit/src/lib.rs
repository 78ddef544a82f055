#![doc = include_str!("../README.md")]

pub mod badinput;
pub mod fixtures;
pub mod mp3;
mod rng;
pub mod signal;

pub use rng::Rng;
