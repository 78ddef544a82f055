//! Incremental loading of a model's vectors: what changed since a watermark.

use crate::types::TrackId;
use crate::vector::VectorMatrix;

/// `Watermark` marks how far a ranker has loaded a model; pass it back to
/// `load_matrix_since` ([`SqliteStore`](crate::SqliteStore::load_matrix_since), or
/// `PgStore`'s with the `postgres` feature) to get only what was written after.
///
/// A watermark belongs to the database that gave it. In SQLite it is the sequence number of
/// the last entry of the change log that triggers keep of every vector written or deleted. In
/// PostgreSQL it is the oldest transaction still running when the load's snapshot was taken
/// (`pg_snapshot_xmin`), so a write that commits late (it began before the load but
/// committed after) is never missed; rows written by transactions the load already saw
/// may be delivered again, which an upsert into the index absorbs. The horizon is
/// cluster-wide: a long transaction in any database of the server holds it back, so
/// deltas grow (never lose rows) until it ends.
/// `Watermark::default()` means "from the beginning".
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Watermark(pub i64);

/// `MatrixDelta` is what changed in one model since a [`Watermark`].
#[derive(Debug, Clone, Default, PartialEq)]
#[non_exhaustive]
pub struct MatrixDelta {
    /// Vectors written since the watermark, as they are now, by track id.
    pub rows: VectorMatrix,
    /// Tracks whose vector was deleted since the watermark (empty for a full load).
    /// Apply these first, then upsert `rows`: a track deleted and written again is in both.
    pub deleted: Vec<TrackId>,
    /// Pass this to the next call.
    pub watermark: Watermark,
}
