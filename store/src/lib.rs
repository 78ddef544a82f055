#![doc = include_str!("../README.md")]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod catalogue;
mod codec;
mod delta;
mod error;
mod hash;
mod memory;
#[cfg(feature = "postgres")]
mod pg;
#[cfg(feature = "postgres")]
mod pg_catalogue;
#[cfg(feature = "postgres")]
mod pg_error;
#[cfg(feature = "postgres")]
mod pg_load;
#[cfg(feature = "postgres")]
mod pg_schema;
#[cfg(feature = "postgres")]
mod queue;
mod roots;
mod scan;
mod schema;
mod sqlite;
mod sqlite_tracks;
mod types;
mod vector;

pub use catalogue::Catalogue;
pub use delta::{MatrixDelta, Watermark};
pub use error::{Error, Result};
pub use hash::{content_hash, content_hash_bytes};
pub use memory::MemoryStore;
#[cfg(feature = "postgres")]
pub use pg::{PgOptions, PgStore};
#[cfg(feature = "postgres")]
pub use pg_schema::PG_SCHEMA_VERSION;
/// The PostgreSQL client crate, re-exported for [`PgStore::from_config`].
#[cfg(feature = "postgres")]
pub use postgres;
#[cfg(feature = "postgres")]
pub use queue::{FailedJob, Job, QueueProgress, QueuedFile};
pub use roots::RootMap;
pub use scan::{KnownFile, Moved, ScanPlan};
pub use schema::SCHEMA_VERSION;
pub use sqlite::{SqliteOptions, SqliteStore};
pub use types::{
    AnalysedTrack, Analysis, ContentHash, FileError, FileFacts, LibraryRoot, ModelInfo,
    ModelVector, Tiles, TrackId, TrackInfo, TrackRecord, TrackTags,
};
pub use vector::{VectorMatrix, VectorStore};
