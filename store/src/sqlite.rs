//! [`SqliteStore`]: opening, models, and the [`VectorStore`] implementation.

use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::{
    Connection, OpenFlags, OptionalExtension, Transaction, TransactionBehavior, params,
};

use crate::codec::{decode_f32_into, encode_f32, get_usize, now_s, usize_i64};
use crate::delta::{MatrixDelta, Watermark};
use crate::error::{Error, Result};
use crate::memory::check_vector;
use crate::schema;
use crate::types::{ModelInfo, TrackId};
use crate::vector::{VectorMatrix, VectorStore};

/// `SqliteOptions` configures how a [`SqliteStore`] opens its database.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct SqliteOptions {
    /// Open without writing anything; writes then fail with [`Error::ReadOnly`].
    /// Default: `false`.
    pub read_only: bool,
    /// How long to wait for another connection's lock before [`Error::Busy`].
    /// Raising it makes a blocked writer wait longer instead of failing. Default: 5 s.
    pub busy_timeout: Duration,
    /// `PRAGMA synchronous = FULL` instead of `NORMAL`. `NORMAL` in WAL mode never
    /// loses a committed transaction when the process dies, only (the last few) on
    /// power loss; `FULL` survives power loss too at the cost of an `fsync` per
    /// commit. Default: `false`.
    pub durable: bool,
    /// Bytes of the file SQLite may memory-map (`PRAGMA mmap_size`); reads of mapped
    /// pages skip a copy, which speeds up [`VectorStore::load_matrix`]. 0 disables it.
    /// Raising it costs address space, not memory. Default: 256 MiB.
    pub mmap_size_bytes: u64,
}

impl Default for SqliteOptions {
    fn default() -> Self {
        Self {
            read_only: false,
            busy_timeout: Duration::from_secs(5),
            durable: false,
            mmap_size_bytes: 256 << 20,
        }
    }
}

impl SqliteOptions {
    /// Sets [`read_only`](Self::read_only).
    #[must_use]
    pub fn with_read_only(mut self, v: bool) -> Self {
        self.read_only = v;
        self
    }
    /// Sets [`busy_timeout`](Self::busy_timeout).
    #[must_use]
    pub fn with_busy_timeout(mut self, v: Duration) -> Self {
        self.busy_timeout = v;
        self
    }
    /// Sets [`mmap_size_bytes`](Self::mmap_size_bytes).
    #[must_use]
    pub fn with_mmap_size_bytes(mut self, v: u64) -> Self {
        self.mmap_size_bytes = v;
        self
    }
    /// Sets [`durable`](Self::durable).
    #[must_use]
    pub fn with_durable(mut self, v: bool) -> Self {
        self.durable = v;
        self
    }
}

/// `SqliteStore` is the embedded catalogue of tracks, analyses, models and vectors.
///
/// One `SqliteStore` is one connection. Open one per thread or process: in WAL mode
/// readers rank while a writer indexes, and each write call is one transaction.
///
/// # Examples
/// ```
/// use sonority_store::{SqliteStore, TrackId, VectorStore};
/// let dir = tempfile::tempdir()?;
/// let store = SqliteStore::open(dir.path().join("library.db"))?;
/// assert_eq!(store.count("conv1d-v1")?, 0);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct SqliteStore {
    pub(crate) conn: Connection,
    pub(crate) path: PathBuf,
}

impl SqliteStore {
    /// Opens (creating if missing) a database file for reading and writing.
    ///
    /// An empty file, a file that is not SQLite, a SQLite database of another
    /// application and one of a newer schema version are refused without being
    /// modified. An older schema is migrated forward.
    ///
    /// # Errors
    /// [`Error::NotADatabase`], [`Error::ForeignDatabase`], [`Error::NewerSchema`],
    /// [`Error::CannotOpen`], [`Error::ReadOnly`], [`Error::Busy`].
    pub fn open(path: impl AsRef<Path>) -> Result<Self> {
        Self::open_with(path, &SqliteOptions::default())
    }

    /// Opens an existing database without writing to it.
    ///
    /// # Errors
    /// As [`open`](Self::open), plus [`Error::NeedsMigration`] for an older schema.
    pub fn open_read_only(path: impl AsRef<Path>) -> Result<Self> {
        Self::open_with(path, &SqliteOptions::default().with_read_only(true))
    }

    /// Opens a database with explicit options.
    ///
    /// # Errors
    /// As [`open`](Self::open).
    pub fn open_with(path: impl AsRef<Path>, opts: &SqliteOptions) -> Result<Self> {
        let path = path.as_ref();
        schema::check_file(path)?;
        let flags = if opts.read_only {
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX
        } else {
            OpenFlags::SQLITE_OPEN_READ_WRITE
                | OpenFlags::SQLITE_OPEN_CREATE
                | OpenFlags::SQLITE_OPEN_NO_MUTEX
        };
        let conn =
            Connection::open_with_flags(path, flags).map_err(|e| Error::from_sqlite(path, e))?;
        Self::setup(conn, path.to_path_buf(), opts)
    }

    /// Opens a private in-memory database (for tests and examples).
    ///
    /// # Errors
    /// On a SQLite failure.
    pub fn open_in_memory() -> Result<Self> {
        let conn = Connection::open_in_memory()?;
        Self::setup(conn, PathBuf::from(":memory:"), &SqliteOptions::default())
    }

    fn setup(mut conn: Connection, path: PathBuf, opts: &SqliteOptions) -> Result<Self> {
        let sql = |e| Error::from_sqlite(&path, e);
        conn.busy_timeout(opts.busy_timeout).map_err(sql)?;
        conn.pragma_update(None, "foreign_keys", "ON")
            .map_err(sql)?;
        let sync = if opts.durable { "FULL" } else { "NORMAL" };
        conn.pragma_update(None, "synchronous", sync).map_err(sql)?;
        let mmap = i64::try_from(opts.mmap_size_bytes).unwrap_or(i64::MAX);
        // Returns the applied size as a row, so query rather than update.
        conn.query_row(&format!("PRAGMA mmap_size = {mmap}"), [], |_| Ok(()))
            .optional()
            .map_err(sql)?;
        schema::prepare(&mut conn, &path, !opts.read_only)?;
        Ok(Self { conn, path })
    }

    /// The database file's path (`:memory:` for an in-memory store).
    #[must_use]
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Maps a SQLite error on this database to a typed [`Error`].
    pub(crate) fn sql(&self, e: rusqlite::Error) -> Error {
        Error::from_sqlite(&self.path, e)
    }

    /// Starts a write transaction that takes the write lock at once (no upgrade deadlocks).
    pub(crate) fn write_tx(&mut self) -> Result<Transaction<'_>> {
        let path = &self.path;
        self.conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(|e| Error::from_sqlite(path, e))
    }

    /// Registers a model, or checks that an existing one has the same dimension and weights.
    ///
    /// Registering again with identical settings does nothing.
    ///
    /// # Errors
    /// [`Error::EmptyVector`] for dimension 0, [`Error::InvalidConfig`],
    /// [`Error::ModelConflict`].
    ///
    /// # Examples
    /// ```
    /// use sonority_store::{ModelInfo, SqliteStore, VectorStore};
    /// let mut store = SqliteStore::open_in_memory()?;
    /// store.register_model(&ModelInfo::new("conv1d-v1", 64).with_config_json(r#"{"latent":64}"#))?;
    /// assert_eq!(store.dim("conv1d-v1")?, Some(64));
    /// # Ok::<(), sonority_store::Error>(())
    /// ```
    pub fn register_model(&mut self, model: &ModelInfo) -> Result<()> {
        let path = self.path.clone();
        let tx = self.write_tx()?;
        ensure_model(&tx, &path, model)?;
        tx.commit().map_err(|e| Error::from_sqlite(&path, e))
    }

    /// Registers `model` in place of a same-named model with other settings: that model's
    /// vectors (and tile vectors) are deleted, so every track is analysed again with the new
    /// model; tracks, tags and analyses stay. With no such model, or identical settings, this
    /// is [`register_model`](Self::register_model). Returns the number of vectors deleted.
    ///
    /// # Errors
    /// As [`register_model`](Self::register_model), except [`Error::ModelConflict`].
    ///
    /// # Examples
    /// ```
    /// use sonority_store::{ModelInfo, SqliteStore, TrackId, VectorStore};
    /// let mut store = SqliteStore::open_in_memory()?;
    /// store.register_model(&ModelInfo::new("m", 2).with_weights_hash("aa"))?;
    /// let other = ModelInfo::new("m", 2).with_weights_hash("bb");
    /// assert!(store.register_model(&other).is_err());
    /// assert_eq!(store.replace_model(&other)?, 0);
    /// store.register_model(&other)?; // now the registered one
    /// # Ok::<(), sonority_store::Error>(())
    /// ```
    pub fn replace_model(&mut self, model: &ModelInfo) -> Result<usize> {
        let path = self.path.clone();
        let sql = |e| Error::from_sqlite(&path, e);
        let tx = self.write_tx()?;
        let id: Option<i64> = tx
            .query_row(
                "SELECT id FROM models WHERE name = ?1",
                [&model.name],
                |r| r.get(0),
            )
            .optional()
            .map_err(sql)?;
        let mut deleted = 0;
        if let Some(id) = id {
            match ensure_model(&tx, &path, model) {
                Ok(_) => return tx.commit().map(|()| 0).map_err(sql),
                Err(Error::ModelConflict { .. }) => {}
                Err(e) => return Err(e),
            }
            deleted = tx
                .execute("DELETE FROM embeddings WHERE model_id = ?1", [id])
                .map_err(sql)?;
            tx.execute("DELETE FROM embedding_tiles WHERE model_id = ?1", [id])
                .map_err(sql)?;
            // The model keeps its id, so a ranker's change log (`load_matrix_since`) sees
            // every old vector go.
            let valid: bool = tx
                .query_row("SELECT json_valid(?1)", [&model.config_json], |r| r.get(0))
                .map_err(sql)?;
            if !valid || model.dim == 0 {
                // Rolled back with the transaction; ensure_model names the problem.
                tx.execute("DELETE FROM models WHERE id = ?1", [id])
                    .map_err(sql)?;
            } else {
                tx.execute(
                    "UPDATE models SET dim = ?1, config_json = ?2, weights_hash = ?3,
                     created_at_s = ?4 WHERE id = ?5",
                    params![
                        usize_i64(model.dim),
                        model.config_json,
                        model.weights_hash,
                        now_s(),
                        id
                    ],
                )
                .map_err(sql)?;
            }
        }
        ensure_model(&tx, &path, model)?;
        tx.commit().map_err(sql)?;
        Ok(deleted)
    }

    /// A number that changes whenever another connection (another process, or another
    /// `SqliteStore` on the same file) commits a change to the database; this connection's own
    /// commits leave it as it is. A long-lived reader compares it to decide whether what it
    /// loaded is still current (SQLite's `PRAGMA data_version`).
    ///
    /// # Errors
    /// On a SQLite failure.
    pub fn data_version(&self) -> Result<i64> {
        self.conn
            .query_row("PRAGMA data_version", [], |r| r.get(0))
            .map_err(|e| self.sql(e))
    }

    /// Lists the registered models, by name.
    ///
    /// # Errors
    /// On a SQLite failure.
    pub fn models(&self) -> Result<Vec<ModelInfo>> {
        let mut st = self
            .conn
            .prepare_cached(
                "SELECT name, dim, config_json, weights_hash, created_at_s FROM models ORDER BY name",
            )
            .map_err(|e| self.sql(e))?;
        let rows = st
            .query_map([], |r| {
                Ok(ModelInfo {
                    name: r.get(0)?,
                    dim: get_usize(r, 1)?,
                    config_json: r.get(2)?,
                    weights_hash: r.get(3)?,
                    created_at_s: r.get(4)?,
                })
            })
            .map_err(|e| self.sql(e))?;
        rows.collect::<Result<_, _>>().map_err(|e| self.sql(e))
    }

    fn model_row(&self, name: &str) -> Result<Option<(i64, usize)>> {
        self.conn
            .prepare_cached("SELECT id, dim FROM models WHERE name = ?1")
            .and_then(|mut st| {
                st.query_row([name], |r| Ok((r.get(0)?, get_usize(r, 1)?)))
                    .optional()
            })
            .map_err(|e| self.sql(e))
    }

    /// Stores many vectors of one model in one transaction: all or none.
    ///
    /// # Errors
    /// As [`VectorStore::put`]; every vector is checked before anything is written.
    pub fn put_many(&mut self, model: &str, rows: &[(TrackId, &[f32])]) -> Result<()> {
        let mut dim = self.model_row(model)?.map(|(_, d)| d);
        for (_, v) in rows {
            check_vector(model, dim, v)?;
            dim = Some(v.len());
        }
        let Some(dim) = dim else { return Ok(()) };
        let path = self.path.clone();
        let sql = |e| Error::from_sqlite(&path, e);
        let tx = self.write_tx()?;
        let model_id = ensure_model(&tx, &path, &ModelInfo::new(model, dim))?;
        {
            let mut exists = tx
                .prepare_cached("SELECT 1 FROM tracks WHERE id = ?1")
                .map_err(sql)?;
            let mut ins = tx
                .prepare_cached(
                    "INSERT OR REPLACE INTO embeddings (key, model_id, track_id, vector, written_at_s)
                     VALUES (?1, ?2, ?3, ?4, ?5)",
                )
                .map_err(sql)?;
            let now = now_s();
            for (id, v) in rows {
                if !exists.exists([id.0]).map_err(sql)? {
                    return Err(Error::UnknownTrack { id: id.0 });
                }
                let key = schema::embedding_key(model_id, id.0)?;
                ins.execute(params![key, model_id, id.0, encode_f32(v), now])
                    .map_err(sql)?;
            }
        }
        tx.commit().map_err(sql)
    }
}

/// Registers `model` if missing and returns its id; checks dimension and weights otherwise.
pub(crate) fn ensure_model(tx: &Transaction<'_>, path: &Path, model: &ModelInfo) -> Result<i64> {
    let sql = |e| Error::from_sqlite(path, e);
    if model.dim == 0 {
        return Err(Error::EmptyVector {
            model: model.name.clone(),
        });
    }
    let existing: Option<(i64, usize, Option<String>)> = tx
        .prepare_cached("SELECT id, dim, weights_hash FROM models WHERE name = ?1")
        .and_then(|mut st| {
            st.query_row([&model.name], |r| {
                Ok((r.get(0)?, get_usize(r, 1)?, r.get(2)?))
            })
            .optional()
        })
        .map_err(sql)?;
    if let Some((id, dim, weights)) = existing {
        if dim != model.dim {
            return Err(Error::ModelConflict {
                name: model.name.clone(),
                field: "dim",
            });
        }
        match (&weights, &model.weights_hash) {
            (Some(stored), Some(given)) if stored != given => {
                return Err(Error::ModelConflict {
                    name: model.name.clone(),
                    field: "weights_hash",
                });
            }
            // Registered without a fingerprint (an older database, or a caller that gave
            // none): adopt this one while no vector can have come from other weights, or when
            // the stored configuration is this model's, byte for byte (a model's configuration
            // records its fitted statistics and training provenance, so another model of the
            // same name does not have the same one); refuse otherwise.
            (None, Some(given)) => {
                let (vectors, config): (i64, String) = tx
                    .query_row(
                        "SELECT (SELECT count(*) FROM embeddings WHERE model_id = ?1),
                                config_json FROM models WHERE id = ?1",
                        [id],
                        |r| Ok((r.get(0)?, r.get(1)?)),
                    )
                    .map_err(sql)?;
                if vectors > 0 && config != model.config_json {
                    return Err(Error::ModelConflict {
                        name: model.name.clone(),
                        field: "weights_hash",
                    });
                }
                tx.execute(
                    "UPDATE models SET weights_hash = ?1 WHERE id = ?2",
                    params![given, id],
                )
                .map_err(sql)?;
            }
            _ => {}
        }
        return Ok(id);
    }
    let valid: bool = tx
        .query_row("SELECT json_valid(?1)", [&model.config_json], |r| r.get(0))
        .map_err(sql)?;
    if !valid {
        return Err(Error::InvalidConfig {
            name: model.name.clone(),
        });
    }
    tx.prepare_cached(
        "INSERT INTO models (name, dim, config_json, weights_hash, created_at_s)
         VALUES (?1, ?2, ?3, ?4, ?5) RETURNING id",
    )
    .and_then(|mut st| {
        st.query_row(
            params![
                model.name,
                usize_i64(model.dim),
                model.config_json,
                model.weights_hash,
                now_s()
            ],
            |r| r.get(0),
        )
    })
    .map_err(sql)
}

impl VectorStore for SqliteStore {
    type Error = Error;

    /// Stores (or replaces) one vector in its own transaction.
    ///
    /// The first vector of an unregistered model registers it with this dimension.
    /// Use [`put_many`](SqliteStore::put_many) or
    /// [`put_track_analyses`](SqliteStore::put_track_analyses) for bulk writes.
    fn put(&mut self, model: &str, id: TrackId, vector: &[f32]) -> Result<()> {
        self.put_many(model, &[(id, vector)])
    }

    fn get(&self, model: &str, id: TrackId) -> Result<Option<Vec<f32>>> {
        let Some((model_id, dim)) = self.model_row(model)? else {
            return Ok(None);
        };
        let Ok(key) = schema::embedding_key(model_id, id.0) else {
            return Ok(None);
        };
        let mut st = self
            .conn
            .prepare_cached("SELECT vector FROM embeddings WHERE key = ?1")
            .map_err(|e| self.sql(e))?;
        let blob: Option<Vec<u8>> = st
            .query_row([key], |r| r.get(0))
            .optional()
            .map_err(|e| self.sql(e))?;
        let Some(blob) = blob else { return Ok(None) };
        self.check_blob(model, id, dim, blob.len())?;
        let mut v = Vec::with_capacity(dim);
        decode_f32_into(&blob, &mut v);
        Ok(Some(v))
    }

    /// Removes the vector and the per-tile vectors of track `id` under `model`.
    fn delete(&mut self, model: &str, id: TrackId) -> Result<bool> {
        let Some((model_id, _)) = self.model_row(model)? else {
            return Ok(false);
        };
        let path = self.path.clone();
        let sql = |e| Error::from_sqlite(&path, e);
        let tx = self.write_tx()?;
        let n = match schema::embedding_key(model_id, id.0) {
            Ok(key) => tx
                .execute("DELETE FROM embeddings WHERE key = ?1", [key])
                .map_err(sql)?,
            Err(_) => 0,
        };
        tx.execute(
            "DELETE FROM embedding_tiles WHERE model_id = ?1 AND track_id = ?2",
            params![model_id, id.0],
        )
        .map_err(sql)?;
        tx.commit().map_err(sql)?;
        Ok(n > 0)
    }

    fn count(&self, model: &str) -> Result<usize> {
        let Some((model_id, _)) = self.model_row(model)? else {
            return Ok(0);
        };
        let (lo, hi) = schema::model_range(model_id);
        self.conn
            .prepare_cached("SELECT count(*) FROM embeddings WHERE key BETWEEN ?1 AND ?2")
            .and_then(|mut st| st.query_row([lo, hi], |r| get_usize(r, 0)))
            .map_err(|e| self.sql(e))
    }

    fn dim(&self, model: &str) -> Result<Option<usize>> {
        Ok(self.model_row(model)?.map(|(_, d)| d))
    }

    fn for_each(&self, model: &str, f: &mut dyn FnMut(TrackId, &[f32]) -> bool) -> Result<()> {
        let Some((model_id, dim)) = self.model_row(model)? else {
            return Ok(());
        };
        let mut buf = Vec::with_capacity(dim);
        self.scan(model, model_id, dim, &mut |id, blob| {
            buf.clear();
            decode_f32_into(blob, &mut buf);
            f(id, &buf)
        })
    }

    /// Decodes the model's vectors straight into the matrix in one range scan.
    fn load_matrix(&self, model: &str) -> Result<VectorMatrix> {
        let Some((model_id, dim)) = self.model_row(model)? else {
            return Ok(VectorMatrix::default());
        };
        // One read transaction, so the count used to size the buffer and the rows agree;
        // counting a rowid range is a fraction of the cost of growing the buffer.
        let tx = self.conn.unchecked_transaction().map_err(|e| self.sql(e))?;
        let m = self.matrix_in_tx(model, model_id, dim)?;
        tx.finish().map_err(|e| self.sql(e))?;
        Ok(m)
    }
}

impl SqliteStore {
    /// Every vector of a model; the caller holds a read transaction.
    fn matrix_in_tx(&self, model: &str, model_id: i64, dim: usize) -> Result<VectorMatrix> {
        let mut m = VectorMatrix::with_capacity(dim, self.count(model)?);
        self.scan(model, model_id, dim, &mut |id, blob| {
            m.ids.push(id);
            decode_f32_into(blob, &mut m.data);
            true
        })?;
        Ok(m)
    }

    /// Loads `model`'s vectors written since `since` (all of them for
    /// `Watermark::default()`), with the tracks whose vector was deleted since then and the
    /// next watermark: what a long-lived ranker needs to stay current without reloading
    /// everything, as [`PgStore::load_matrix_since`](https://docs.rs/sonority-store) does for
    /// PostgreSQL.
    ///
    /// One read transaction. Triggers log every vector written or deleted (by this connection
    /// or any other, foreign-key cascades included) in a change log with a sequence number;
    /// the delta holds the current vector of each track logged after `since`, or lists it as
    /// deleted when it has none any more. A track is never in both lists. The log keeps one
    /// row (about 20 bytes) per write.
    ///
    /// # Errors
    /// [`Error::Corrupt`] for a stored vector of the wrong length; a SQLite failure.
    ///
    /// # Examples
    /// ```
    /// use sonority_store::*;
    /// let mut store = SqliteStore::open_in_memory()?;
    /// let full = store.load_matrix_since("m", Watermark::default())?;
    /// assert!(full.rows.is_empty());
    /// // ... an indexer writes a vector meanwhile:
    /// let track = TrackRecord::new(FileFacts::new("/music/a.ogg", 1234, 0));
    /// let id = store.put_track_analysis(&track, &Analysis::default(), &[ModelVector::new("m", &[1.0, 0.0])])?;
    /// let delta = store.load_matrix_since("m", full.watermark)?;
    /// assert_eq!(delta.rows.ids, [id]);
    /// # Ok::<(), sonority_store::Error>(())
    /// ```
    pub fn load_matrix_since(&self, model: &str, since: Watermark) -> Result<MatrixDelta> {
        let sql = |e| self.sql(e);
        let tx = self.conn.unchecked_transaction().map_err(sql)?;
        let watermark = Watermark(
            self.conn
                .query_row(
                    "SELECT coalesce(max(seq), 0) FROM embedding_changes",
                    [],
                    |r| r.get(0),
                )
                .map_err(sql)?,
        );
        let Some((model_id, dim)) = self.model_row(model)? else {
            tx.finish().map_err(sql)?;
            return Ok(MatrixDelta {
                watermark,
                ..MatrixDelta::default()
            });
        };
        if since == Watermark::default() {
            let rows = self.matrix_in_tx(model, model_id, dim)?;
            tx.finish().map_err(sql)?;
            return Ok(MatrixDelta {
                rows,
                deleted: Vec::new(),
                watermark,
            });
        }
        let changed: Vec<i64> = {
            let mut st = self
                .conn
                .prepare_cached(
                    "SELECT DISTINCT track_id FROM embedding_changes
                     WHERE seq > ?1 AND seq <= ?2 AND model_id = ?3 ORDER BY track_id",
                )
                .map_err(sql)?;
            st.query_map([since.0, watermark.0, model_id], |r| r.get(0))
                .map_err(sql)?
                .collect::<rusqlite::Result<_>>()
                .map_err(sql)?
        };
        let mut rows = VectorMatrix::with_capacity(dim, changed.len());
        let mut deleted = Vec::new();
        {
            let mut st = self
                .conn
                .prepare_cached("SELECT vector FROM embeddings WHERE key = ?1")
                .map_err(sql)?;
            for track in changed {
                let id = TrackId(track);
                let key = schema::embedding_key(model_id, track)?;
                let mut q = st.query([key]).map_err(sql)?;
                match q.next().map_err(sql)? {
                    Some(row) => {
                        let blob = row
                            .get_ref(0)
                            .and_then(|v| v.as_blob().map_err(Into::into))
                            .map_err(sql)?;
                        self.check_blob(model, id, dim, blob.len())?;
                        rows.ids.push(id);
                        decode_f32_into(blob, &mut rows.data);
                    }
                    None => deleted.push(id),
                }
            }
        }
        tx.finish().map_err(sql)?;
        Ok(MatrixDelta {
            rows,
            deleted,
            watermark,
        })
    }
}

impl SqliteStore {
    /// Pushes the raw vector BLOBs of one model, by track id, checking their length.
    fn scan(
        &self,
        model: &str,
        model_id: i64,
        dim: usize,
        f: &mut dyn FnMut(TrackId, &[u8]) -> bool,
    ) -> Result<()> {
        let (lo, hi) = schema::model_range(model_id);
        let mut st = self
            .conn
            .prepare_cached(
                "SELECT key, vector FROM embeddings WHERE key BETWEEN ?1 AND ?2 ORDER BY key",
            )
            .map_err(|e| self.sql(e))?;
        let mut rows = st.query([lo, hi]).map_err(|e| self.sql(e))?;
        while let Some(row) = rows.next().map_err(|e| self.sql(e))? {
            let key: i64 = row.get(0).map_err(|e| self.sql(e))?;
            let id = TrackId(key - lo);
            let blob = row
                .get_ref(1)
                .and_then(|v| v.as_blob().map_err(Into::into))
                .map_err(|e| self.sql(e))?;
            self.check_blob(model, id, dim, blob.len())?;
            if !f(id, blob) {
                break;
            }
        }
        Ok(())
    }
}

impl SqliteStore {
    fn check_blob(&self, model: &str, id: TrackId, dim: usize, len: usize) -> Result<()> {
        if len == dim * 4 {
            return Ok(());
        }
        Err(Error::Corrupt {
            path: self.path.clone(),
            reason: format!(
                "model {model:?} track {id}: vector of {len} bytes, expected {}",
                dim * 4
            ),
        })
    }
}
