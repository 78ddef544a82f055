//! The catalogue loaded for ranking: one model's vectors and the tracks, loaded once from any
//! store (the SQLite library file, or a shared PostgreSQL catalogue) and queried many times.
//!
//! - `index`: [`CatalogueIndex`] (building it, merging a change in, ranking for [`Anchor`]s
//!   into [`Recommendation`]s);
//! - `meta`: what playlists know of a track ([`meta_of`]), and [`PlaylistTrack`];
//! - `lists`: playlists, paths and albums;
//! - `live`: [`LiveIndex`], the index kept current from the store's change log, which
//!   [`Library`](crate::Library) and `distributed::PgCatalogueIndex` both use;
//! - `recommend`: [`recommend`], ranking for anchor files with each result explained (from
//!   the stored fused vectors for a model with a learned final stage), for both of them.

mod index;
mod lists;
mod live;
mod meta;
mod recommend;

pub use index::{Anchor, CatalogueIndex, Recommendation};
pub(crate) use live::{LiveIndex, TrackRefresh};
pub use meta::{PlaylistTrack, meta_of};
pub(crate) use recommend::recommend;
