//! Whole-track writes and the catalogue reads: tracks, analyses, tiles, errors.

use std::collections::HashMap;
use std::path::Path;

use rusqlite::{OptionalExtension, Row, params};

use crate::codec::{
    decode_f32_into, encode_f32, get_usize, now_s, path_column, path_value, size_i64, usize_i64,
};
use crate::error::{Error, Result};
use crate::memory::check_vector;
use crate::sqlite::{SqliteStore, ensure_model};
use crate::types::{
    AnalysedTrack, Analysis, ContentHash, FileError, FileFacts, LibraryRoot, ModelInfo, TrackId,
    TrackInfo, TrackRecord, TrackTags, check_finite, check_finite_f64,
};

const TRACK_COLUMNS: &str = "id, path, content_hash, size_bytes, mtime_ns, duration_s, \
     sample_rate_hz, channels, title, artist, album, track_number, indexed_at_s, \
     album_artist, disc_number, genre, year";

fn track_from_row(r: &Row<'_>) -> rusqlite::Result<TrackInfo> {
    let path = path_column(r, 1)?;
    let hash: Option<[u8; 16]> = r.get(2)?;
    let size: i64 = r.get(3)?;
    Ok(TrackInfo {
        id: TrackId(r.get(0)?),
        record: TrackRecord {
            file: FileFacts::new(path, u64::try_from(size).unwrap_or(0), r.get(4)?),
            content_hash: hash.map(ContentHash),
            duration_s: r.get(5)?,
            sample_rate_hz: r.get(6)?,
            channels: r.get(7)?,
            tags: TrackTags {
                title: r.get(8)?,
                artist: r.get(9)?,
                album: r.get(10)?,
                track_number: r.get(11)?,
                album_artist: r.get(13)?,
                disc_number: r.get(14)?,
                genre: r.get(15)?,
                year: r.get(16)?,
                extra: std::collections::BTreeMap::new(),
            },
        },
        indexed_at_s: r.get(12)?,
    })
}

/// Checks one track's result completely, so that a batch fails before any write.
pub(crate) fn validate(item: &AnalysedTrack<'_>, dims: &mut HashMap<String, usize>) -> Result<()> {
    path_value(&item.track.file.path)?;
    size_i64(item.track.file.size_bytes)?;
    check_finite_f64("duration_s", item.track.duration_s)?;
    let a = item.analysis;
    check_finite_f64("key_strength", a.key_strength)?;
    check_finite_f64("tempo_bpm", a.tempo_bpm)?;
    check_finite_f64("tempo_confidence", a.tempo_confidence)?;
    check_finite_f64("rolloff_hz", a.rolloff_hz)?;
    for (name, v) in &a.descriptors {
        check_finite_f64(&format!("descriptor {name:?}"), Some(*v))?;
    }
    for e in item.embeddings {
        check_vector(e.model, dims.get(e.model).copied(), e.vector)?;
        dims.insert(e.model.to_owned(), e.vector.len());
        if let Some(t) = e.tiles {
            if t.dim == 0 || t.data.len() % t.dim != 0 {
                return Err(Error::BadTiles {
                    model: e.model.to_owned(),
                    len: t.data.len(),
                    dim: t.dim,
                });
            }
            check_finite(|| format!("model {:?} tiles", e.model), t.data)?;
        }
    }
    Ok(())
}

impl SqliteStore {
    /// Commits one track's complete result (record, analysis, vectors) in one transaction.
    ///
    /// The track is matched by path: an existing track keeps its id and everything
    /// stored for it (analysis, descriptors, all models' vectors and tiles) is replaced.
    /// A recorded error for the path is cleared. Models not yet registered are
    /// registered with the dimension of their vector.
    ///
    /// # Errors
    /// [`Error::DimensionMismatch`], [`Error::NonFinite`], [`Error::EmptyVector`],
    /// [`Error::BadTiles`], [`Error::InvalidPath`], [`Error::OutOfRange`], or a
    /// database error; in every case nothing is written.
    ///
    /// # Examples
    /// ```
    /// use sonority_store::*;
    /// let mut store = SqliteStore::open_in_memory()?;
    /// let track = TrackRecord::new(FileFacts::new("/music/a.flac", 1234, 0))
    ///     .with_tags(TrackTags::default().with_title("A"));
    /// let analysis = Analysis::default().with_tempo(120.0, 0.9);
    /// let id = store.put_track_analysis(&track, &analysis, &[ModelVector::new("m", &[0.5, -0.5])])?;
    /// assert_eq!(store.get("m", id)?, Some(vec![0.5, -0.5]));
    /// # Ok::<(), sonority_store::Error>(())
    /// ```
    pub fn put_track_analysis(
        &mut self,
        track: &TrackRecord,
        analysis: &Analysis,
        embeddings: &[crate::ModelVector<'_>],
    ) -> Result<TrackId> {
        let ids = self.put_track_analyses(&[AnalysedTrack {
            track,
            analysis,
            embeddings,
        }])?;
        ids.first().copied().ok_or_else(|| Error::Corrupt {
            path: self.path.clone(),
            reason: "no id returned for the committed track".to_owned(),
        })
    }

    /// Commits many tracks' results in one transaction: all of them or none.
    ///
    /// Returns the ids in input order. See [`put_track_analysis`](Self::put_track_analysis).
    /// Batches of a few hundred to a few thousand tracks amortise the commit.
    ///
    /// # Errors
    /// As [`put_track_analysis`](Self::put_track_analysis), for any track of the batch.
    pub fn put_track_analyses(&mut self, batch: &[AnalysedTrack<'_>]) -> Result<Vec<TrackId>> {
        let mut dims: HashMap<String, usize> = HashMap::new();
        for item in batch {
            for e in item.embeddings {
                if !dims.contains_key(e.model)
                    && let Some(d) = crate::VectorStore::dim(self, e.model)?
                {
                    dims.insert(e.model.to_owned(), d);
                }
            }
        }
        for item in batch {
            validate(item, &mut dims)?;
        }
        let path = self.path.clone();
        let sql = |e| Error::from_sqlite(&path, e);
        let tx = self.write_tx()?;
        let mut model_ids: HashMap<&str, i64> = HashMap::new();
        let mut ids = Vec::with_capacity(batch.len());
        {
            let mut up_track = tx
                .prepare_cached(
                    "INSERT INTO tracks (path, content_hash, size_bytes, mtime_ns, duration_s,
                        sample_rate_hz, channels, title, artist, album, track_number, indexed_at_s,
                        album_artist, disc_number, genre, year)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)
                     ON CONFLICT (path) DO UPDATE SET content_hash = excluded.content_hash,
                        size_bytes = excluded.size_bytes, mtime_ns = excluded.mtime_ns,
                        duration_s = excluded.duration_s, sample_rate_hz = excluded.sample_rate_hz,
                        channels = excluded.channels, title = excluded.title,
                        artist = excluded.artist, album = excluded.album,
                        track_number = excluded.track_number, indexed_at_s = excluded.indexed_at_s,
                        album_artist = excluded.album_artist, disc_number = excluded.disc_number,
                        genre = excluded.genre, year = excluded.year
                     RETURNING id",
                )
                .map_err(sql)?;
            let mut find = tx
                .prepare_cached("SELECT 1 FROM tracks WHERE path = ?1")
                .map_err(sql)?;
            let mut clear_desc = tx
                .prepare_cached("DELETE FROM descriptors WHERE track_id = ?1")
                .map_err(sql)?;
            let mut clear_emb = tx
                .prepare_cached("DELETE FROM embeddings WHERE track_id = ?1")
                .map_err(sql)?;
            let mut clear_tags = tx
                .prepare_cached("DELETE FROM track_tags WHERE track_id = ?1")
                .map_err(sql)?;
            let mut ins_tag = tx
                .prepare_cached(
                    "INSERT OR REPLACE INTO track_tags (track_id, name, value) VALUES (?1, ?2, ?3)",
                )
                .map_err(sql)?;
            let mut clear_tiles = tx
                .prepare_cached("DELETE FROM embedding_tiles WHERE track_id = ?1")
                .map_err(sql)?;
            let mut ins_analysis = tx
                .prepare_cached(
                    "INSERT OR REPLACE INTO analyses
                        (track_id, key, key_strength, tempo_bpm, tempo_confidence, rolloff_hz)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                )
                .map_err(sql)?;
            let mut ins_desc = tx
                .prepare_cached(
                    "INSERT OR REPLACE INTO descriptors (track_id, name, value) VALUES (?1, ?2, ?3)",
                )
                .map_err(sql)?;
            let mut ins_emb = tx
                .prepare_cached(
                    "INSERT OR REPLACE INTO embeddings (key, model_id, track_id, vector, written_at_s)
                     VALUES (?1, ?2, ?3, ?4, ?5)",
                )
                .map_err(sql)?;
            let mut ins_tiles = tx
                .prepare_cached(
                    "INSERT OR REPLACE INTO embedding_tiles
                        (model_id, track_id, tile_dim, n_tiles, tiles)
                     VALUES (?1, ?2, ?3, ?4, ?5)",
                )
                .map_err(sql)?;
            let mut clear_error = tx
                .prepare_cached("DELETE FROM file_errors WHERE path = ?1")
                .map_err(sql)?;
            let now = now_s();
            for item in batch {
                let t = item.track;
                let p = path_value(&t.file.path)?;
                let existed = find.exists([&p]).map_err(sql)?;
                let id: i64 = up_track
                    .query_row(
                        params![
                            p,
                            t.content_hash.map(|h| h.0),
                            size_i64(t.file.size_bytes)?,
                            t.file.mtime_ns,
                            t.duration_s,
                            t.sample_rate_hz,
                            t.channels,
                            t.tags.title,
                            t.tags.artist,
                            t.tags.album,
                            t.tags.track_number,
                            now,
                            t.tags.album_artist,
                            t.tags.disc_number,
                            t.tags.genre,
                            t.tags.year
                        ],
                        |r| r.get(0),
                    )
                    .map_err(sql)?;
                if existed {
                    clear_tags.execute([id]).map_err(sql)?;
                    clear_desc.execute([id]).map_err(sql)?;
                    clear_emb.execute([id]).map_err(sql)?;
                    clear_tiles.execute([id]).map_err(sql)?;
                }
                for (name, value) in &t.tags.extra {
                    ins_tag.execute(params![id, name, value]).map_err(sql)?;
                }
                let a = item.analysis;
                ins_analysis
                    .execute(params![
                        id,
                        a.key,
                        a.key_strength,
                        a.tempo_bpm,
                        a.tempo_confidence,
                        a.rolloff_hz
                    ])
                    .map_err(sql)?;
                for (name, v) in &a.descriptors {
                    ins_desc.execute(params![id, name, v]).map_err(sql)?;
                }
                for e in item.embeddings {
                    let model_id = match model_ids.get(e.model) {
                        Some(&m) => m,
                        None => {
                            let m =
                                ensure_model(&tx, &path, &ModelInfo::new(e.model, e.vector.len()))?;
                            model_ids.insert(e.model, m);
                            m
                        }
                    };
                    let key = crate::schema::embedding_key(model_id, id)?;
                    ins_emb
                        .execute(params![key, model_id, id, encode_f32(e.vector), now])
                        .map_err(sql)?;
                    if let Some(tiles) = e.tiles {
                        ins_tiles
                            .execute(params![
                                model_id,
                                id,
                                usize_i64(tiles.dim),
                                usize_i64(tiles.data.len() / tiles.dim),
                                encode_f32(tiles.data)
                            ])
                            .map_err(sql)?;
                    }
                }
                clear_error.execute([&p]).map_err(sql)?;
                ids.push(TrackId(id));
            }
        }
        tx.commit().map_err(sql)?;
        Ok(ids)
    }

    /// Lists all tracks, by id.
    ///
    /// # Errors
    /// On a database error.
    pub fn tracks(&self) -> Result<Vec<TrackInfo>> {
        let mut st = self
            .conn
            .prepare_cached(&format!("SELECT {TRACK_COLUMNS} FROM tracks ORDER BY id"))
            .map_err(|e| self.sql(e))?;
        let rows = st.query_map([], track_from_row).map_err(|e| self.sql(e))?;
        let mut tracks: Vec<TrackInfo> = rows.collect::<Result<_, _>>().map_err(|e| self.sql(e))?;
        let mut extra: HashMap<i64, Vec<(String, String)>> = HashMap::new();
        let mut st = self
            .conn
            .prepare_cached("SELECT track_id, name, value FROM track_tags")
            .map_err(|e| self.sql(e))?;
        let rows = st
            .query_map([], |r| Ok((r.get::<_, i64>(0)?, r.get(1)?, r.get(2)?)))
            .map_err(|e| self.sql(e))?;
        for row in rows {
            let (id, name, value) = row.map_err(|e| self.sql(e))?;
            extra.entry(id).or_default().push((name, value));
        }
        for t in &mut tracks {
            if let Some(tags) = extra.remove(&t.id.0) {
                t.record.tags.extra.extend(tags);
            }
        }
        Ok(tracks)
    }

    /// Fills a track's other tags from `track_tags`.
    fn with_extra_tags(&self, t: Option<TrackInfo>) -> Result<Option<TrackInfo>> {
        let Some(mut t) = t else { return Ok(None) };
        let mut st = self
            .conn
            .prepare_cached("SELECT name, value FROM track_tags WHERE track_id = ?1")
            .map_err(|e| self.sql(e))?;
        let rows = st
            .query_map([t.id.0], |r| Ok((r.get(0)?, r.get(1)?)))
            .map_err(|e| self.sql(e))?;
        for row in rows {
            let (name, value): (String, String) = row.map_err(|e| self.sql(e))?;
            t.record.tags.extra.insert(name, value);
        }
        Ok(Some(t))
    }

    /// Number of tracks.
    ///
    /// # Errors
    /// On a database error.
    pub fn track_count(&self) -> Result<usize> {
        self.conn
            .query_row("SELECT count(*) FROM tracks", [], |r| get_usize(r, 0))
            .map_err(|e| self.sql(e))
    }

    /// The track with this id, if any.
    ///
    /// # Errors
    /// On a database error.
    pub fn track(&self, id: TrackId) -> Result<Option<TrackInfo>> {
        self.conn
            .prepare_cached(&format!("SELECT {TRACK_COLUMNS} FROM tracks WHERE id = ?1"))
            .and_then(|mut st| st.query_row([id.0], track_from_row).optional())
            .map_err(|e| self.sql(e))
            .and_then(|t| self.with_extra_tags(t))
    }

    /// The track stored under this path, if any.
    ///
    /// # Errors
    /// [`Error::InvalidPath`] or a database error.
    pub fn track_by_path(&self, path: impl AsRef<Path>) -> Result<Option<TrackInfo>> {
        let p = path_value(path.as_ref())?;
        self.conn
            .prepare_cached(&format!(
                "SELECT {TRACK_COLUMNS} FROM tracks WHERE path = ?1"
            ))
            .and_then(|mut st| st.query_row([p], track_from_row).optional())
            .map_err(|e| self.sql(e))
            .and_then(|t| self.with_extra_tags(t))
    }

    /// The analysis of a track (descriptors sorted by name), if any.
    ///
    /// # Errors
    /// On a database error.
    pub fn analysis(&self, id: TrackId) -> Result<Option<Analysis>> {
        let a = self
            .conn
            .prepare_cached(
                "SELECT key, key_strength, tempo_bpm, tempo_confidence, rolloff_hz
                 FROM analyses WHERE track_id = ?1",
            )
            .and_then(|mut st| {
                st.query_row([id.0], |r| {
                    Ok(Analysis {
                        key: r.get(0)?,
                        key_strength: r.get(1)?,
                        tempo_bpm: r.get(2)?,
                        tempo_confidence: r.get(3)?,
                        rolloff_hz: r.get(4)?,
                        descriptors: Vec::new(),
                    })
                })
                .optional()
            })
            .map_err(|e| self.sql(e))?;
        let Some(mut a) = a else { return Ok(None) };
        let mut st = self
            .conn
            .prepare_cached("SELECT name, value FROM descriptors WHERE track_id = ?1 ORDER BY name")
            .map_err(|e| self.sql(e))?;
        let rows = st
            .query_map([id.0], |r| Ok((r.get(0)?, r.get(1)?)))
            .map_err(|e| self.sql(e))?;
        a.descriptors = rows.collect::<Result<_, _>>().map_err(|e| self.sql(e))?;
        Ok(Some(a))
    }

    /// Every analysed track's tempo in BPM (tracks without one are left out), for filters on
    /// tempo over the whole catalogue in one query.
    ///
    /// # Errors
    /// On a database error.
    pub fn tempos(&self) -> Result<Vec<(TrackId, f64)>> {
        let mut st = self
            .conn
            .prepare_cached(
                "SELECT track_id, tempo_bpm FROM analyses WHERE tempo_bpm IS NOT NULL ORDER BY track_id",
            )
            .map_err(|e| self.sql(e))?;
        let rows = st
            .query_map([], |r| Ok((TrackId(r.get(0)?), r.get(1)?)))
            .map_err(|e| self.sql(e))?;
        rows.collect::<Result<_, _>>().map_err(|e| self.sql(e))
    }

    /// The per-tile vectors of a track under a model: `(tile_dim, row-major values)`.
    ///
    /// # Errors
    /// [`Error::Corrupt`] if the stored BLOB has the wrong length, or a database error.
    pub fn tiles(&self, model: &str, id: TrackId) -> Result<Option<(usize, Vec<f32>)>> {
        let row: Option<(usize, usize, Vec<u8>)> = self
            .conn
            .prepare_cached(
                "SELECT t.tile_dim, t.n_tiles, t.tiles FROM embedding_tiles t
                 JOIN models m ON m.id = t.model_id WHERE m.name = ?1 AND t.track_id = ?2",
            )
            .and_then(|mut st| {
                st.query_row(params![model, id.0], |r| {
                    Ok((get_usize(r, 0)?, get_usize(r, 1)?, r.get(2)?))
                })
                .optional()
            })
            .map_err(|e| self.sql(e))?;
        let Some((dim, n, blob)) = row else {
            return Ok(None);
        };
        if blob.len() != dim * n * 4 {
            return Err(Error::Corrupt {
                path: self.path.clone(),
                reason: format!("model {model:?} track {id}: tiles of {} bytes", blob.len()),
            });
        }
        let mut v = Vec::with_capacity(dim * n);
        decode_f32_into(&blob, &mut v);
        Ok(Some((dim, v)))
    }

    /// Deletes a track and everything stored for it; returns whether it existed.
    ///
    /// # Errors
    /// On a database error.
    pub fn delete_track(&mut self, id: TrackId) -> Result<bool> {
        let n = self
            .conn
            .execute("DELETE FROM tracks WHERE id = ?1", [id.0])
            .map_err(|e| self.sql(e))?;
        Ok(n > 0)
    }

    /// Records (or replaces) why a file could not be analysed.
    ///
    /// A later successful [`put_track_analysis`](Self::put_track_analysis) of the path
    /// clears it, and [`plan_scan`](Self::plan_scan) lists the path under `retry`.
    ///
    /// # Errors
    /// [`Error::InvalidPath`] or a database error.
    pub fn record_error(&mut self, path: impl AsRef<Path>, reason: &str) -> Result<()> {
        let path = path.as_ref();
        let facts = FileFacts::from_path(path).ok();
        let size = facts
            .as_ref()
            .and_then(|f| i64::try_from(f.size_bytes).ok());
        let mtime = facts.as_ref().map(|f| f.mtime_ns);
        self.conn
            .execute(
                "INSERT OR REPLACE INTO file_errors (path, size_bytes, mtime_ns, reason, at_s)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                params![path_value(path)?, size, mtime, reason, now_s()],
            )
            .map_err(|e| self.sql(e))?;
        Ok(())
    }

    /// Lists the recorded per-file errors, by path.
    ///
    /// # Errors
    /// On a database error.
    pub fn errors(&self) -> Result<Vec<FileError>> {
        let mut st = self
            .conn
            .prepare_cached("SELECT path, reason, at_s FROM file_errors ORDER BY path")
            .map_err(|e| self.sql(e))?;
        let rows = st
            .query_map([], |r| {
                let path = path_column(r, 0)?;
                Ok(FileError {
                    path,
                    reason: r.get(1)?,
                    at_s: r.get(2)?,
                })
            })
            .map_err(|e| self.sql(e))?;
        rows.collect::<Result<_, _>>().map_err(|e| self.sql(e))
    }

    /// Records that the music folder `root` was indexed now (an indexing run of it finished).
    ///
    /// # Errors
    /// [`Error::InvalidPath`] or a database error.
    pub fn record_root(&mut self, root: impl AsRef<Path>) -> Result<()> {
        self.conn
            .execute(
                "INSERT OR REPLACE INTO library_roots (path, indexed_at_s) VALUES (?1, ?2)",
                params![path_value(root.as_ref())?, now_s()],
            )
            .map_err(|e| self.sql(e))?;
        Ok(())
    }

    /// The music folders indexed into this database ([`record_root`](Self::record_root)), by
    /// path.
    ///
    /// # Errors
    /// On a database error.
    pub fn roots(&self) -> Result<Vec<LibraryRoot>> {
        let mut st = self
            .conn
            .prepare_cached("SELECT path, indexed_at_s FROM library_roots ORDER BY path")
            .map_err(|e| self.sql(e))?;
        let rows = st
            .query_map([], |r| {
                let path = path_column(r, 0)?;
                Ok(LibraryRoot {
                    path,
                    indexed_at_s: r.get(1)?,
                })
            })
            .map_err(|e| self.sql(e))?;
        rows.collect::<Result<_, _>>().map_err(|e| self.sql(e))
    }

    /// Removes the recorded error of a path; returns whether there was one.
    ///
    /// # Errors
    /// [`Error::InvalidPath`] or a database error.
    pub fn clear_error(&mut self, path: impl AsRef<Path>) -> Result<bool> {
        let n = self
            .conn
            .execute(
                "DELETE FROM file_errors WHERE path = ?1",
                [path_value(path.as_ref())?],
            )
            .map_err(|e| self.sql(e))?;
        Ok(n > 0)
    }
}
