#![doc = include_str!("../README.md")]

mod catalogue;
mod codec;
mod error;
mod hash;
mod memory;
mod scan;
mod schema;
mod sqlite;
mod types;
mod vector;

pub use error::{Error, Result};
pub use hash::{content_hash, content_hash_bytes};
pub use memory::MemoryStore;
pub use scan::{KnownFile, Moved, ScanPlan};
pub use schema::SCHEMA_VERSION;
pub use sqlite::{SqliteOptions, SqliteStore};
pub use types::{
    Analysis, ContentHash, Embedding, FileError, FileFacts, ModelInfo, Tags, Tiles, TrackAnalysis,
    TrackId, TrackInfo, TrackRecord,
};
pub use vector::{VectorMatrix, VectorStore};
