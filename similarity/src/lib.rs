#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]

mod error;
mod explain;
mod hubness;
mod index;
mod kernel;
mod options;
mod quantise;
mod query;
mod ranker;
mod scan;
mod topk;

pub use error::{Error, Result};
pub use explain::{BlockContribution, UNASSIGNED_BLOCK, explain, explain_hit};
pub use hubness::{HubnessConfig, HubnessMethod, HubnessModel};
pub use index::{VectorIndex, VectorIndexBuilder};
pub use kernel::dot;
pub use options::{ExcludeFn, Hit, RankOptions, similarity_0_100};
pub use query::{AnchorMode, Query};
pub use ranker::{CosineRanker, Ranker};
