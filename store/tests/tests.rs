//! Integration tests of sonority-store, linked into one binary.
#![allow(missing_docs)]
// Helpers outside #[test] functions unwrap too: a failed fixture is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[cfg(feature = "postgres")]
mod pgcluster;
mod testutil;

#[cfg(feature = "postgres")]
mod pg;
#[cfg(feature = "postgres")]
mod queue;

mod catalogue;
mod kill;
mod open;
mod refresh;
mod roots;
mod scan;
mod vectors;
