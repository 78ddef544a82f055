//! The [`Catalogue`] on PostgreSQL: whole-track writes as array statements, catalogue reads.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use postgres::Transaction;
use postgres::types::ToSql;

use crate::catalogue::Catalogue;
use crate::codec::{decode_f32_into, encode_f32, now_s, size_i64};
use crate::error::{Error, Result};
use crate::pg::{PgStore, dim_usize, pg_ensure_model};
use crate::pg_error::pg_error;
use crate::scan::{KnownFile, ScanPlan};
use crate::sqlite_tracks::validate;
use crate::types::{
    AnalysedTrack, Analysis, ContentHash, FileError, FileFacts, ModelInfo, TrackId, TrackInfo,
    TrackRecord, TrackTags,
};

/// A path's raw bytes (on Unix any path; elsewhere UTF-8 only).
pub(crate) fn path_bytes(path: &Path) -> Result<Vec<u8>> {
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStrExt;
        Ok(path.as_os_str().as_bytes().to_vec())
    }
    #[cfg(not(unix))]
    {
        path.to_str()
            .map(|s| s.as_bytes().to_vec())
            .ok_or_else(|| Error::InvalidPath {
                path: path.to_path_buf(),
            })
    }
}

/// The path stored as `bytes`.
pub(crate) fn path_from_bytes(bytes: Vec<u8>) -> PathBuf {
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStringExt;
        PathBuf::from(std::ffi::OsString::from_vec(bytes))
    }
    #[cfg(not(unix))]
    {
        PathBuf::from(String::from_utf8_lossy(&bytes).into_owned())
    }
}

fn hash_from(bytes: Option<Vec<u8>>) -> Option<ContentHash> {
    bytes.and_then(|b| <[u8; 16]>::try_from(b.as_slice()).ok().map(ContentHash))
}

const TRACK_COLUMNS: &str = "id, path, content_hash, size_bytes, mtime_ns, duration_s, \
     sample_rate_hz, channels, title, artist, album, track_number, indexed_at_s, album_artist, \
     disc_number, genre, year";

fn track_from_row(r: &postgres::Row) -> TrackInfo {
    let size: i64 = r.get(3);
    TrackInfo {
        id: TrackId(r.get(0)),
        record: TrackRecord {
            file: FileFacts::new(
                path_from_bytes(r.get(1)),
                u64::try_from(size).unwrap_or(0),
                r.get(4),
            ),
            content_hash: hash_from(r.get(2)),
            duration_s: r.get(5),
            sample_rate_hz: r
                .get::<_, Option<i64>>(6)
                .and_then(|v| u32::try_from(v).ok()),
            channels: r
                .get::<_, Option<i32>>(7)
                .and_then(|v| u16::try_from(v).ok()),
            tags: TrackTags {
                title: r.get(8),
                artist: r.get(9),
                album: r.get(10),
                track_number: r
                    .get::<_, Option<i64>>(11)
                    .and_then(|v| u32::try_from(v).ok()),
                album_artist: r.get(13),
                disc_number: r
                    .get::<_, Option<i64>>(14)
                    .and_then(|v| u32::try_from(v).ok()),
                genre: r.get(15),
                year: r.get(16),
                // Filled from `track_tags` by the caller.
                extra: std::collections::BTreeMap::new(),
            },
        },
        indexed_at_s: r.get(12),
    }
}

fn usize_i32(what: &'static str, v: usize) -> Result<i32> {
    i32::try_from(v).map_err(|_| Error::OutOfRange {
        what,
        value: v.to_string(),
    })
}

/// Validates and writes a batch of whole-track results inside `tx`; ids in input order.
///
/// Every statement takes arrays (`unnest`), so a batch costs a handful of round trips
/// whatever its size. A track given twice keeps the last result, as on SQLite.
pub(crate) fn write_analyses(
    tx: &mut Transaction<'_>,
    target: &str,
    batch: &[AnalysedTrack<'_>],
) -> Result<Vec<TrackId>> {
    let pg = |e| pg_error(target, e);
    // Dimensions of the models named in the batch, then every check before any write.
    let names: Vec<&str> = {
        let mut n: Vec<&str> = batch
            .iter()
            .flat_map(|t| t.embeddings.iter().map(|e| e.model))
            .collect();
        n.sort_unstable();
        n.dedup();
        n
    };
    let mut dims: HashMap<String, usize> = HashMap::new();
    for r in tx
        .query(
            "SELECT name, dim FROM models WHERE name = ANY($1)",
            &[&names],
        )
        .map_err(pg)?
    {
        dims.insert(r.get(0), dim_usize(r.get(1)));
    }
    for item in batch {
        validate(item, &mut dims)?;
    }
    if batch.is_empty() {
        return Ok(Vec::new());
    }
    // The last occurrence of each path wins.
    let paths: Vec<Vec<u8>> = batch
        .iter()
        .map(|t| path_bytes(&t.track.file.path))
        .collect::<Result<_>>()?;
    let mut last: HashMap<&[u8], usize> = HashMap::new();
    for (i, p) in paths.iter().enumerate() {
        last.insert(p.as_slice(), i);
    }
    let mut keep: Vec<usize> = last.values().copied().collect();
    keep.sort_unstable();
    let items: Vec<&AnalysedTrack<'_>> = keep.iter().filter_map(|&i| batch.get(i)).collect();
    let kpaths: Vec<&[u8]> = keep
        .iter()
        .filter_map(|&i| paths.get(i).map(Vec::as_slice))
        .collect();

    // Tracks.
    let hashes: Vec<Option<&[u8]>> = items
        .iter()
        .map(|t| t.track.content_hash.as_ref().map(|h| &h.0[..]))
        .collect();
    let sizes: Vec<i64> = items
        .iter()
        .map(|t| size_i64(t.track.file.size_bytes))
        .collect::<Result<_>>()?;
    let mtimes: Vec<i64> = items.iter().map(|t| t.track.file.mtime_ns).collect();
    let durs: Vec<Option<f64>> = items.iter().map(|t| t.track.duration_s).collect();
    let rates: Vec<Option<i64>> = items
        .iter()
        .map(|t| t.track.sample_rate_hz.map(i64::from))
        .collect();
    let chans: Vec<Option<i32>> = items
        .iter()
        .map(|t| t.track.channels.map(i32::from))
        .collect();
    let titles: Vec<Option<&str>> = items
        .iter()
        .map(|t| t.track.tags.title.as_deref())
        .collect();
    let artists: Vec<Option<&str>> = items
        .iter()
        .map(|t| t.track.tags.artist.as_deref())
        .collect();
    let albums: Vec<Option<&str>> = items
        .iter()
        .map(|t| t.track.tags.album.as_deref())
        .collect();
    let numbers: Vec<Option<i64>> = items
        .iter()
        .map(|t| t.track.tags.track_number.map(i64::from))
        .collect();
    let album_artists: Vec<Option<&str>> = items
        .iter()
        .map(|t| t.track.tags.album_artist.as_deref())
        .collect();
    let discs: Vec<Option<i64>> = items
        .iter()
        .map(|t| t.track.tags.disc_number.map(i64::from))
        .collect();
    let genres: Vec<Option<&str>> = items
        .iter()
        .map(|t| t.track.tags.genre.as_deref())
        .collect();
    let years: Vec<Option<i32>> = items.iter().map(|t| t.track.tags.year).collect();
    let now = now_s();
    let params: [&(dyn ToSql + Sync); 16] = [
        &kpaths,
        &hashes,
        &sizes,
        &mtimes,
        &durs,
        &rates,
        &chans,
        &titles,
        &artists,
        &albums,
        &numbers,
        &now,
        &album_artists,
        &discs,
        &genres,
        &years,
    ];
    let rows = tx
        .query(
            "INSERT INTO tracks (path, content_hash, size_bytes, mtime_ns, duration_s,
                sample_rate_hz, channels, title, artist, album, track_number, indexed_at_s,
                album_artist, disc_number, genre, year)
             SELECT p, h, s, m, d, r, c, ti, ar, al, n, $12, aa, dn, g, y
             FROM unnest($1::bytea[], $2::bytea[], $3::int8[], $4::int8[], $5::float8[],
                         $6::int8[], $7::int4[], $8::text[], $9::text[], $10::text[], $11::int8[],
                         $13::text[], $14::int8[], $15::text[], $16::int4[])
                  AS u(p, h, s, m, d, r, c, ti, ar, al, n, aa, dn, g, y)
             ON CONFLICT (path) DO UPDATE SET content_hash = excluded.content_hash,
                size_bytes = excluded.size_bytes, mtime_ns = excluded.mtime_ns,
                duration_s = excluded.duration_s, sample_rate_hz = excluded.sample_rate_hz,
                channels = excluded.channels, title = excluded.title, artist = excluded.artist,
                album = excluded.album, track_number = excluded.track_number,
                indexed_at_s = excluded.indexed_at_s, album_artist = excluded.album_artist,
                disc_number = excluded.disc_number, genre = excluded.genre, year = excluded.year
             RETURNING path, id",
            &params,
        )
        .map_err(pg)?;
    let by_path: HashMap<Vec<u8>, i64> = rows.iter().map(|r| (r.get(0), r.get(1))).collect();
    let id_of = |p: &[u8]| {
        by_path.get(p).copied().ok_or_else(|| Error::Corrupt {
            path: target.into(),
            reason: "a written track returned no id".to_owned(),
        })
    };
    let ids: Vec<i64> = kpaths.iter().map(|p| id_of(p)).collect::<Result<_>>()?;

    // Replace everything stored for these tracks.
    for sql in [
        "DELETE FROM track_tags WHERE track_id = ANY($1)",
        "DELETE FROM descriptors WHERE track_id = ANY($1)",
        "DELETE FROM embeddings WHERE track_id = ANY($1)",
        "DELETE FROM embedding_tiles WHERE track_id = ANY($1)",
    ] {
        tx.execute(sql, &[&ids]).map_err(pg)?;
    }
    let (mut tag_ids, mut tag_names, mut tag_values) = (Vec::new(), Vec::new(), Vec::new());
    for (id, t) in ids.iter().zip(&items) {
        for (name, value) in &t.track.tags.extra {
            tag_ids.push(*id);
            tag_names.push(name.as_str());
            tag_values.push(value.as_str());
        }
    }
    if !tag_ids.is_empty() {
        tx.execute(
            "INSERT INTO track_tags (track_id, name, value)
             SELECT * FROM unnest($1::int8[], $2::text[], $3::text[])",
            &[&tag_ids, &tag_names, &tag_values],
        )
        .map_err(pg)?;
    }
    let a = |f: fn(&Analysis) -> Option<f64>| -> Vec<Option<f64>> {
        items.iter().map(|t| f(t.analysis)).collect()
    };
    let keys: Vec<Option<&str>> = items.iter().map(|t| t.analysis.key.as_deref()).collect();
    tx.execute(
        "INSERT INTO analyses (track_id, key, key_strength, tempo_bpm, tempo_confidence, rolloff_hz)
         SELECT * FROM unnest($1::int8[], $2::text[], $3::float8[], $4::float8[], $5::float8[], $6::float8[])
         ON CONFLICT (track_id) DO UPDATE SET key = excluded.key,
            key_strength = excluded.key_strength, tempo_bpm = excluded.tempo_bpm,
            tempo_confidence = excluded.tempo_confidence, rolloff_hz = excluded.rolloff_hz",
        &[
            &ids,
            &keys,
            &a(|x| x.key_strength),
            &a(|x| x.tempo_bpm),
            &a(|x| x.tempo_confidence),
            &a(|x| x.rolloff_hz),
        ],
    )
    .map_err(pg)?;

    // Descriptors (the last value of a repeated name wins).
    let mut desc: HashMap<(i64, &str), f64> = HashMap::new();
    for (t, &id) in items.iter().zip(&ids) {
        for (name, v) in &t.analysis.descriptors {
            desc.insert((id, name.as_str()), *v);
        }
    }
    if !desc.is_empty() {
        let (mut di, mut dn, mut dv) = (Vec::new(), Vec::new(), Vec::new());
        for ((id, n), v) in desc {
            di.push(id);
            dn.push(n);
            dv.push(v);
        }
        tx.execute(
            "INSERT INTO descriptors (track_id, name, value)
             SELECT * FROM unnest($1::int8[], $2::text[], $3::float8[])",
            &[&di, &dn, &dv],
        )
        .map_err(pg)?;
    }

    // Vectors and tiles.
    let mut model_ids: HashMap<&str, i64> = HashMap::new();
    let (mut em, mut et, mut ev) = (Vec::new(), Vec::new(), Vec::new());
    let (mut tm, mut tt, mut td, mut tn, mut tv) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for (t, &id) in items.iter().zip(&ids) {
        for e in t.embeddings {
            let m = match model_ids.get(e.model) {
                Some(&m) => m,
                None => {
                    let m = pg_ensure_model(tx, target, &ModelInfo::new(e.model, e.vector.len()))?;
                    model_ids.insert(e.model, m);
                    m
                }
            };
            em.push(m);
            et.push(id);
            ev.push(encode_f32(e.vector));
            if let Some(tiles) = e.tiles {
                tm.push(m);
                tt.push(id);
                td.push(usize_i32("tile_dim", tiles.dim)?);
                tn.push(usize_i32("n_tiles", tiles.data.len() / tiles.dim)?);
                tv.push(encode_f32(tiles.data));
            }
        }
    }
    if !em.is_empty() {
        tx.execute(
            "INSERT INTO embeddings (model_id, track_id, vector, written_at_s)
             SELECT m, t, v, $4 FROM unnest($1::int8[], $2::int8[], $3::bytea[]) AS u(m, t, v)
             ON CONFLICT (model_id, track_id) DO UPDATE SET vector = excluded.vector,
                written_at_s = excluded.written_at_s, written_xid = pg_current_xact_id()",
            &[&em, &et, &ev, &now],
        )
        .map_err(pg)?;
    }
    if !tm.is_empty() {
        tx.execute(
            "INSERT INTO embedding_tiles (model_id, track_id, tile_dim, n_tiles, tiles)
             SELECT * FROM unnest($1::int8[], $2::int8[], $3::int4[], $4::int4[], $5::bytea[])",
            &[&tm, &tt, &td, &tn, &tv],
        )
        .map_err(pg)?;
    }
    tx.execute("DELETE FROM file_errors WHERE path = ANY($1)", &[&kpaths])
        .map_err(pg)?;

    paths
        .iter()
        .map(|p| id_of(p).map(TrackId))
        .collect::<Result<_>>()
}

impl PgStore {
    /// Fills a track's other tags from `track_tags`.
    fn with_extra_tags(&self, mut t: TrackInfo) -> Result<TrackInfo> {
        for r in self
            .client()?
            .query(
                "SELECT name, value FROM track_tags WHERE track_id = $1",
                &[&t.id.0],
            )
            .map_err(|e| self.pg(e))?
        {
            t.record.tags.extra.insert(r.get(0), r.get(1));
        }
        Ok(t)
    }

    /// Runs `f` in one transaction and commits it.
    pub(crate) fn in_tx<T>(
        &self,
        f: impl FnOnce(&mut Transaction<'_>, &str) -> Result<T>,
    ) -> Result<T> {
        let target = self.target().to_owned();
        let mut client = self.client()?;
        let mut tx = client.transaction().map_err(|e| pg_error(&target, e))?;
        let out = f(&mut tx, &target)?;
        tx.commit().map_err(|e| pg_error(&target, e))?;
        Ok(out)
    }

    fn analysis_impl(&self, id: TrackId) -> Result<Option<Analysis>> {
        let mut c = self.client()?;
        let Some(r) = c
            .query_opt(
                "SELECT key, key_strength, tempo_bpm, tempo_confidence, rolloff_hz
                 FROM analyses WHERE track_id = $1",
                &[&id.0],
            )
            .map_err(|e| self.pg(e))?
        else {
            return Ok(None);
        };
        let descriptors = c
            .query(
                "SELECT name, value FROM descriptors WHERE track_id = $1 ORDER BY name",
                &[&id.0],
            )
            .map_err(|e| self.pg(e))?
            .iter()
            .map(|d| (d.get(0), d.get(1)))
            .collect();
        Ok(Some(Analysis {
            key: r.get(0),
            key_strength: r.get(1),
            tempo_bpm: r.get(2),
            tempo_confidence: r.get(3),
            rolloff_hz: r.get(4),
            descriptors,
        }))
    }
}

impl Catalogue for PgStore {
    fn register_model(&mut self, model: &ModelInfo) -> Result<()> {
        self.in_tx(|tx, target| pg_ensure_model(tx, target, model).map(|_| ()))
    }

    fn models(&self) -> Result<Vec<ModelInfo>> {
        let rows = self
            .client()?
            .query(
                "SELECT name, dim, config_json, weights_hash, created_at_s FROM models ORDER BY name",
                &[],
            )
            .map_err(|e| self.pg(e))?;
        Ok(rows
            .iter()
            .map(|r| ModelInfo {
                name: r.get(0),
                dim: dim_usize(r.get(1)),
                config_json: r.get(2),
                weights_hash: r.get(3),
                created_at_s: r.get(4),
            })
            .collect())
    }

    fn put_track_analyses(&mut self, batch: &[AnalysedTrack<'_>]) -> Result<Vec<TrackId>> {
        self.in_tx(|tx, target| write_analyses(tx, target, batch))
    }

    fn tracks(&self) -> Result<Vec<TrackInfo>> {
        let mut client = self.client()?;
        let rows = client
            .query(
                &format!("SELECT {TRACK_COLUMNS} FROM tracks ORDER BY id"),
                &[],
            )
            .map_err(|e| self.pg(e))?;
        let mut tracks: Vec<TrackInfo> = rows.iter().map(track_from_row).collect();
        let mut extra: HashMap<i64, Vec<(String, String)>> = HashMap::new();
        for r in client
            .query("SELECT track_id, name, value FROM track_tags", &[])
            .map_err(|e| self.pg(e))?
        {
            extra
                .entry(r.get(0))
                .or_default()
                .push((r.get(1), r.get(2)));
        }
        for t in &mut tracks {
            if let Some(tags) = extra.remove(&t.id.0) {
                t.record.tags.extra.extend(tags);
            }
        }
        Ok(tracks)
    }

    fn track_count(&self) -> Result<usize> {
        let n: i64 = self
            .client()?
            .query_one("SELECT count(*) FROM tracks", &[])
            .map_err(|e| self.pg(e))?
            .get(0);
        Ok(usize::try_from(n).unwrap_or(0))
    }

    fn track(&self, id: TrackId) -> Result<Option<TrackInfo>> {
        let r = self
            .client()?
            .query_opt(
                &format!("SELECT {TRACK_COLUMNS} FROM tracks WHERE id = $1"),
                &[&id.0],
            )
            .map_err(|e| self.pg(e))?;
        r.as_ref()
            .map(|r| self.with_extra_tags(track_from_row(r)))
            .transpose()
    }

    fn track_by_path(&self, path: &Path) -> Result<Option<TrackInfo>> {
        let p = path_bytes(path)?;
        let r = self
            .client()?
            .query_opt(
                &format!("SELECT {TRACK_COLUMNS} FROM tracks WHERE path = $1"),
                &[&p],
            )
            .map_err(|e| self.pg(e))?;
        r.as_ref()
            .map(|r| self.with_extra_tags(track_from_row(r)))
            .transpose()
    }

    fn analysis(&self, id: TrackId) -> Result<Option<Analysis>> {
        self.analysis_impl(id)
    }

    fn tiles(&self, model: &str, id: TrackId) -> Result<Option<(usize, Vec<f32>)>> {
        let r = self
            .client()?
            .query_opt(
                "SELECT t.tile_dim, t.n_tiles, t.tiles FROM embedding_tiles t
                 JOIN models m ON m.id = t.model_id WHERE m.name = $1 AND t.track_id = $2",
                &[&model, &id.0],
            )
            .map_err(|e| self.pg(e))?;
        let Some(r) = r else { return Ok(None) };
        let (dim, n) = (dim_usize(r.get(0)), dim_usize(r.get(1)));
        let bytes: &[u8] = r.get(2);
        if bytes.len() != dim * n * 4 {
            return Err(Error::Corrupt {
                path: self.target().into(),
                reason: format!("model {model:?} track {id}: tiles of {} bytes", bytes.len()),
            });
        }
        let mut v = Vec::with_capacity(dim * n);
        decode_f32_into(bytes, &mut v);
        Ok(Some((dim, v)))
    }

    fn delete_track(&mut self, id: TrackId) -> Result<bool> {
        let n = self
            .client()?
            .execute("DELETE FROM tracks WHERE id = $1", &[&id.0])
            .map_err(|e| self.pg(e))?;
        Ok(n > 0)
    }

    fn record_error(&mut self, path: &Path, reason: &str) -> Result<()> {
        let facts = FileFacts::from_path(path).ok();
        let size = facts
            .as_ref()
            .and_then(|f| i64::try_from(f.size_bytes).ok());
        let mtime = facts.as_ref().map(|f| f.mtime_ns);
        let p = path_bytes(path)?;
        self.client()?
            .execute(
                "INSERT INTO file_errors (path, size_bytes, mtime_ns, reason, at_s)
                 VALUES ($1, $2, $3, $4, $5)
                 ON CONFLICT (path) DO UPDATE SET size_bytes = excluded.size_bytes,
                    mtime_ns = excluded.mtime_ns, reason = excluded.reason, at_s = excluded.at_s",
                &[&p, &size, &mtime, &reason, &now_s()],
            )
            .map_err(|e| self.pg(e))?;
        Ok(())
    }

    fn errors(&self) -> Result<Vec<FileError>> {
        let rows = self
            .client()?
            .query(
                "SELECT path, reason, at_s FROM file_errors ORDER BY path",
                &[],
            )
            .map_err(|e| self.pg(e))?;
        Ok(rows
            .iter()
            .map(|r| FileError {
                path: path_from_bytes(r.get(0)),
                reason: r.get(1),
                at_s: r.get(2),
            })
            .collect())
    }

    fn clear_error(&mut self, path: &Path) -> Result<bool> {
        let p = path_bytes(path)?;
        let n = self
            .client()?
            .execute("DELETE FROM file_errors WHERE path = $1", &[&p])
            .map_err(|e| self.pg(e))?;
        Ok(n > 0)
    }

    fn scan_state(&self) -> Result<(Vec<KnownFile>, Vec<PathBuf>)> {
        let target = self.target().to_owned();
        let pg = |e| pg_error(&target, e);
        let mut client = self.client()?;
        let mut tx = client
            .build_transaction()
            .isolation_level(postgres::IsolationLevel::RepeatableRead)
            .read_only(true)
            .start()
            .map_err(pg)?;
        let known = tx
            .query(
                "SELECT id, path, size_bytes, mtime_ns, content_hash FROM tracks",
                &[],
            )
            .map_err(pg)?
            .into_iter()
            .map(|r| KnownFile {
                id: TrackId(r.get(0)),
                path: path_from_bytes(r.get(1)),
                size_bytes: u64::try_from(r.get::<_, i64>(2)).unwrap_or(0),
                mtime_ns: r.get(3),
                content_hash: hash_from(r.get(4)),
            })
            .collect();
        let failed = tx
            .query("SELECT path FROM file_errors", &[])
            .map_err(pg)?
            .into_iter()
            .map(|r| path_from_bytes(r.get(0)))
            .collect();
        tx.commit().map_err(pg)?;
        Ok((known, failed))
    }

    fn prune_gone(&mut self, plan: &ScanPlan) -> Result<usize> {
        let ids: Vec<i64> = plan.gone.iter().map(|g| g.id.0).collect();
        let stale: Vec<Vec<u8>> = plan
            .stale_errors
            .iter()
            .map(|p| path_bytes(p))
            .collect::<Result<_>>()?;
        self.in_tx(|tx, target| {
            let n = tx
                .execute("DELETE FROM tracks WHERE id = ANY($1)", &[&ids])
                .map_err(|e| pg_error(target, e))?;
            tx.execute("DELETE FROM file_errors WHERE path = ANY($1)", &[&stale])
                .map_err(|e| pg_error(target, e))?;
            Ok(usize::try_from(n).unwrap_or(0))
        })
    }
}
