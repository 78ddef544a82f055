//! Robustness of the facade: bad input, SIGKILLed indexing, model and database versions.
//!
//! One test binary: its modules share the model fixture and one link step.
#![allow(missing_docs)]
// Helpers outside #[test] functions unwrap too: a failed fixture is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod testutil;

mod badinput;
mod formats;
mod kill;
