//! Integration tests of `sonority-similarity`, linked into one binary.

mod exclusions;
mod hubness;
mod rank_props;
mod testutil;
