//! Integration tests of sonority-fusion, in one binary.

mod descriptors;
mod fusion;
mod golden;
mod testutil;
