//! Bulk and incremental loading of one model's vectors for ranking (binary `COPY`).

use std::io::Read;

use postgres::IsolationLevel;

use crate::delta::{MatrixDelta, Watermark};
use crate::error::{Error, Result};
use crate::pg::{PgStore, dim_usize};
use crate::pg_error::pg_error;
use crate::types::TrackId;
use crate::vector::VectorMatrix;

/// Reads a big-endian `i16`/`i32`/`i64` field of the binary COPY format.
fn read_be<const N: usize>(r: &mut impl Read) -> std::io::Result<[u8; N]> {
    let mut b = [0u8; N];
    r.read_exact(&mut b)?;
    Ok(b)
}

impl PgStore {
    /// Loads `model`'s vectors written since `since` (all of them for
    /// `Watermark::default()`), with the deletions since then and the next watermark.
    ///
    /// One read-only `REPEATABLE READ` transaction: one binary `COPY ... TO STDOUT`
    /// streams `(track_id, vector)` rows, decoded straight into the matrix (about 1 s
    /// per million 64-dimensional vectors over a local socket), and the deletions come
    /// from the same snapshot. An unknown model gives an empty delta with dimension 0.
    ///
    /// `COPY` takes no bind parameters, so its query embeds two integers this function
    /// computed itself (the model id and the watermark); every other statement is
    /// parameterised.
    ///
    /// # Errors
    /// [`Error::Corrupt`] for a stored vector of the wrong length, or a database error.
    ///
    /// # Examples
    /// ```no_run
    /// use sonority_store::{PgStore, Watermark};
    /// let store = PgStore::connect("postgres://ranker@db/music")?;
    /// let full = store.load_matrix_since("conv1d-v1", Watermark::default())?;
    /// // ... later: only what indexers wrote meanwhile.
    /// let delta = store.load_matrix_since("conv1d-v1", full.watermark)?;
    /// # Ok::<(), sonority_store::Error>(())
    /// ```
    pub fn load_matrix_since(&self, model: &str, since: Watermark) -> Result<MatrixDelta> {
        let target = self.target().to_owned();
        let pg = |e| pg_error(&target, e);
        let mut client = self.client()?;
        let mut tx = client
            .build_transaction()
            .isolation_level(IsolationLevel::RepeatableRead)
            .read_only(true)
            .start()
            .map_err(pg)?;
        // The first statement fixes the snapshot; its xmin is the next watermark.
        let head = tx
            .query_one(
                "SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint,
                        (SELECT id FROM models WHERE name = $1),
                        (SELECT dim FROM models WHERE name = $1)",
                &[&model],
            )
            .map_err(pg)?;
        let watermark = Watermark(head.get(0));
        let (Some(model_id), Some(dim)) =
            (head.get::<_, Option<i64>>(1), head.get::<_, Option<i32>>(2))
        else {
            tx.commit().map_err(pg)?;
            return Ok(MatrixDelta {
                watermark,
                ..MatrixDelta::default()
            });
        };
        let dim = dim_usize(dim);
        let full = since == Watermark::default();
        let deleted = if full {
            Vec::new()
        } else {
            tx.query(
                "SELECT DISTINCT track_id FROM embedding_deletions
                 WHERE model_id = $1 AND deleted_xid >= $2::bigint::text::xid8 ORDER BY track_id",
                &[&model_id, &since.0],
            )
            .map_err(pg)?
            .iter()
            .map(|r| TrackId(r.get(0)))
            .collect()
        };
        // Size the matrix once: the planner's estimate for a full load, an exact count
        // for a delta (cheap through the (model_id, written_xid) index).
        let rows_hint: i64 = if full {
            tx.query_one(
                "SELECT greatest(reltuples, 0)::bigint FROM pg_class WHERE oid = 'embeddings'::regclass",
                &[],
            )
            .map_err(pg)?
            .get(0)
        } else {
            tx.query_one(
                "SELECT count(*) FROM embeddings WHERE model_id = $1 AND written_xid >= $2::bigint::text::xid8",
                &[&model_id, &since.0],
            )
            .map_err(pg)?
            .get(0)
        };
        let mut m = VectorMatrix::with_capacity(dim, usize::try_from(rows_hint).unwrap_or(0));
        // Integers only (see the doc comment): COPY cannot bind parameters.
        let filter = if full {
            String::new()
        } else {
            format!(" AND written_xid >= '{}'::xid8", since.0)
        };
        let sql = format!(
            "COPY (SELECT track_id, vector FROM embeddings WHERE model_id = {model_id}{filter} \
             ORDER BY track_id) TO STDOUT (FORMAT binary)"
        );
        {
            let mut r = tx.copy_out(sql.as_str()).map_err(pg)?;
            self.read_copy(&mut r, model, dim, &mut m)?;
        }
        tx.commit().map_err(pg)?;
        Ok(MatrixDelta {
            rows: m,
            deleted,
            watermark,
        })
    }

    /// Parses the binary COPY stream of `(int8, bytea)` rows into `m`.
    fn read_copy(
        &self,
        r: &mut impl Read,
        model: &str,
        dim: usize,
        m: &mut VectorMatrix,
    ) -> Result<()> {
        let corrupt = |reason: String| Error::Corrupt {
            path: self.target().into(),
            reason,
        };
        let io = |e: std::io::Error| corrupt(format!("reading COPY data: {e}"));
        let mut header = [0u8; 19];
        r.read_exact(&mut header).map_err(io)?;
        if header.get(..11) != Some(b"PGCOPY\n\xff\r\n\0") {
            return Err(corrupt("unexpected COPY header".to_owned()));
        }
        let ext = u32::from_be_bytes([header[15], header[16], header[17], header[18]]);
        std::io::copy(&mut r.take(u64::from(ext)), &mut std::io::sink()).map_err(io)?;
        let mut bytes = vec![0u8; dim * 4];
        loop {
            let fields = i16::from_be_bytes(read_be::<2>(r).map_err(io)?);
            if fields == -1 {
                return Ok(());
            }
            let id_len = i32::from_be_bytes(read_be::<4>(r).map_err(io)?);
            if fields != 2 || id_len != 8 {
                return Err(corrupt(format!("unexpected COPY row ({fields} fields)")));
            }
            let id = TrackId(i64::from_be_bytes(read_be::<8>(r).map_err(io)?));
            let len = i32::from_be_bytes(read_be::<4>(r).map_err(io)?);
            self.check_bytes(model, id, dim, usize::try_from(len).unwrap_or(usize::MAX))?;
            r.read_exact(&mut bytes).map_err(io)?;
            m.ids.push(id);
            crate::codec::decode_f32_into(&bytes, &mut m.data);
        }
    }

    /// Deletes the log of deleted vectors older than `before` (the oldest watermark any
    /// ranker still holds); returns the number of entries removed.
    ///
    /// # Errors
    /// On a database error.
    pub fn trim_deletion_log(&mut self, before: Watermark) -> Result<u64> {
        self.client()?
            .execute(
                "DELETE FROM embedding_deletions WHERE deleted_xid < $1::bigint::text::xid8",
                &[&before.0],
            )
            .map_err(|e| self.pg(e))
    }
}
