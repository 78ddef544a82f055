#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]

mod albums;
mod constraints;
mod error;
mod explain;
mod hubness;
mod index;
mod kernel;
mod meta;
mod options;
mod path;
mod playlist;
mod quantise;
mod query;
mod ranker;
mod scan;
mod topk;

pub use albums::{Album, AlbumIndex};
pub use constraints::Rules;
pub use error::{Error, Result};
pub use explain::{BlockContribution, UNASSIGNED_BLOCK, explain, explain_hit};
pub use hubness::{HubnessConfig, HubnessMethod, HubnessModel};
pub use index::{VectorIndex, VectorIndexBuilder};
pub use kernel::dot;
pub use meta::{Filter, TrackMeta};
pub use options::{ExcludeFn, Hit, RankOptions, similarity_0_100};
pub use path::{PathConfig, path, path_progress};
pub use playlist::{
    PlaylistConfig, PlaylistEntry, PlaylistMode, Seeds, WALK_POOL_MIN, WALK_POOL_PER_TRACK,
    playlist,
};
pub use query::{AnchorMode, Query};
pub use ranker::{CosineRanker, Ranker};
