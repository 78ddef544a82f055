//! Schema, forward migrations and the checks made when a database is opened.

use std::path::Path;

use rusqlite::Connection;

use crate::error::{Error, Result};

/// `PRAGMA application_id` of a sonority database (`"Sono"` in ASCII).
pub(crate) const APPLICATION_ID: i32 = 0x536F_6E6F;

/// Track ids per model in the `embeddings` rowid space: `key = model_id * TRACK_SPAN + track_id`.
pub(crate) const TRACK_SPAN: i64 = 1 << 40;

/// The `embeddings` rowid of (model, track), or an error for a track id out of range.
pub(crate) fn embedding_key(model_id: i64, track_id: i64) -> Result<i64> {
    if track_id <= 0 || track_id >= TRACK_SPAN {
        return Err(Error::OutOfRange {
            what: "track id",
            value: track_id.to_string(),
        });
    }
    model_id
        .checked_mul(TRACK_SPAN)
        .and_then(|k| k.checked_add(track_id))
        .ok_or_else(|| Error::OutOfRange {
            what: "model id",
            value: model_id.to_string(),
        })
}

/// The inclusive `embeddings` rowid range of one model.
pub(crate) fn model_range(model_id: i64) -> (i64, i64) {
    let lo = model_id.saturating_mul(TRACK_SPAN);
    (lo, lo.saturating_add(TRACK_SPAN - 1))
}

/// Forward migrations: entry `i` takes the schema from version `i` to `i + 1`.
///
/// Append only; never edit a released entry.
const MIGRATIONS: &[&str] = &[
    // 0 -> 1: the initial schema.
    "
    CREATE TABLE tracks (
        id             INTEGER PRIMARY KEY,
        path           ANY NOT NULL UNIQUE,  -- TEXT if UTF-8, else BLOB of the raw bytes
        content_hash   BLOB CHECK (content_hash IS NULL OR length(content_hash) = 16),
        size_bytes     INTEGER NOT NULL CHECK (size_bytes >= 0),
        mtime_ns       INTEGER NOT NULL,
        duration_s     REAL,
        sample_rate_hz INTEGER,
        channels       INTEGER,
        title          TEXT,
        artist         TEXT,
        album          TEXT,
        track_number   INTEGER,
        indexed_at_s   INTEGER NOT NULL
    ) STRICT;
    CREATE INDEX tracks_by_hash ON tracks(content_hash) WHERE content_hash IS NOT NULL;

    CREATE TABLE analyses (
        track_id         INTEGER PRIMARY KEY REFERENCES tracks(id) ON DELETE CASCADE,
        key              TEXT,
        key_strength     REAL,
        tempo_bpm        REAL,
        tempo_confidence REAL,
        rolloff_hz       REAL
    ) STRICT;

    CREATE TABLE descriptors (
        track_id INTEGER NOT NULL REFERENCES tracks(id) ON DELETE CASCADE,
        name     TEXT NOT NULL,
        value    REAL NOT NULL,
        PRIMARY KEY (track_id, name)
    ) STRICT, WITHOUT ROWID;

    CREATE TABLE models (
        id           INTEGER PRIMARY KEY,
        name         TEXT NOT NULL UNIQUE,
        dim          INTEGER NOT NULL CHECK (dim > 0),
        config_json  TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(config_json)),
        weights_hash TEXT,
        created_at_s INTEGER NOT NULL
    ) STRICT;

    -- One row per (model, track). The rowid is model_id * 2^40 + track_id, so the rows of
    -- one model are one contiguous range of the table b-tree, in track order: loading a
    -- model is a single range scan, and a rowid table keeps vectors of up to ~1000
    -- dimensions on the leaf page (an index b-tree, as WITHOUT ROWID uses, would spill
    -- vectors above ~250 dimensions to overflow pages).
    CREATE TABLE embeddings (
        key          INTEGER PRIMARY KEY,
        model_id     INTEGER NOT NULL REFERENCES models(id) ON DELETE CASCADE,
        track_id     INTEGER NOT NULL REFERENCES tracks(id) ON DELETE CASCADE,
        vector       BLOB NOT NULL,  -- dim x f32 little-endian
        written_at_s INTEGER NOT NULL,
        CHECK (track_id > 0 AND track_id < 1099511627776
               AND key = model_id * 1099511627776 + track_id)
    ) STRICT;
    CREATE INDEX embeddings_by_track ON embeddings(track_id);

    -- Per-tile vectors, apart from the embeddings so that ranking scans stay small.
    CREATE TABLE embedding_tiles (
        model_id INTEGER NOT NULL REFERENCES models(id) ON DELETE CASCADE,
        track_id INTEGER NOT NULL REFERENCES tracks(id) ON DELETE CASCADE,
        tile_dim INTEGER NOT NULL CHECK (tile_dim > 0),
        n_tiles  INTEGER NOT NULL CHECK (n_tiles >= 0),
        tiles    BLOB NOT NULL CHECK (length(tiles) = 4 * tile_dim * n_tiles),
        PRIMARY KEY (model_id, track_id)
    ) STRICT;
    CREATE INDEX embedding_tiles_by_track ON embedding_tiles(track_id);

    CREATE TABLE file_errors (
        path       ANY NOT NULL PRIMARY KEY,
        size_bytes INTEGER,
        mtime_ns   INTEGER,
        reason     TEXT NOT NULL,
        at_s       INTEGER NOT NULL
    ) STRICT;
    ",
    // 1 -> 2: a change log of vector writes and deletions, kept by triggers, for incremental
    // refreshes of a long-lived ranker (`SqliteStore::load_matrix_since`). Foreign-key
    // cascades fire the delete trigger too.
    "
    CREATE TABLE embedding_changes (
        seq      INTEGER PRIMARY KEY AUTOINCREMENT,
        model_id INTEGER NOT NULL,
        track_id INTEGER NOT NULL
    ) STRICT;
    CREATE TRIGGER embeddings_log_insert AFTER INSERT ON embeddings BEGIN
        INSERT INTO embedding_changes (model_id, track_id) VALUES (NEW.model_id, NEW.track_id);
    END;
    CREATE TRIGGER embeddings_log_update AFTER UPDATE ON embeddings BEGIN
        INSERT INTO embedding_changes (model_id, track_id) VALUES (NEW.model_id, NEW.track_id);
    END;
    CREATE TRIGGER embeddings_log_delete AFTER DELETE ON embeddings BEGIN
        INSERT INTO embedding_changes (model_id, track_id) VALUES (OLD.model_id, OLD.track_id);
    END;
    ",
    // 2 -> 3: fuller tags for playlists (album artist, disc, genre, year) and any other tag
    // by name, for "any tag" filters.
    "
    ALTER TABLE tracks ADD COLUMN album_artist TEXT;
    ALTER TABLE tracks ADD COLUMN disc_number INTEGER;
    ALTER TABLE tracks ADD COLUMN genre TEXT;
    ALTER TABLE tracks ADD COLUMN year INTEGER;

    CREATE TABLE track_tags (
        track_id INTEGER NOT NULL REFERENCES tracks(id) ON DELETE CASCADE,
        name     TEXT NOT NULL,
        value    TEXT NOT NULL,
        PRIMARY KEY (track_id, name)
    ) STRICT, WITHOUT ROWID;
    ",
    // 3 -> 4: the music folders indexed into the database and when each was last indexed,
    // so a command can answer from the folders it was given and say when they were indexed.
    "
    CREATE TABLE library_roots (
        path         ANY NOT NULL PRIMARY KEY,  -- TEXT if UTF-8, else BLOB of the raw bytes
        indexed_at_s INTEGER NOT NULL
    ) STRICT;
    ",
    // 4 -> 5: the tables Lyrion's Bliss Mixer plugin reads from the database it is given
    // (`SELECT COUNT(1) FROM TracksV2`, `... WHERE Ignore=1`, `SELECT File, Reason FROM
    // Failures`), as views over sonority's own, so `sonority serve --bliss-mixer` is a
    // drop-in. Nothing of sonority's reads them.
    "
    CREATE VIEW TracksV2 AS
        SELECT path AS File, title AS Title, artist AS Artist, album_artist AS AlbumArtist,
               album AS Album, genre AS Genre, duration_s AS Duration, 0 AS Ignore
        FROM tracks;
    CREATE VIEW Failures AS SELECT path AS File, reason AS Reason FROM file_errors;
    ",
];

/// The schema version this build writes and reads.
pub const SCHEMA_VERSION: i32 = MIGRATIONS.len() as i32;

/// Refuses files that are not (empty) SQLite databases before SQLite touches them.
pub(crate) fn check_file(path: &Path) -> Result<()> {
    use std::io::Read;
    let mut f = match std::fs::File::open(path) {
        Ok(f) => f,
        // Missing: SQLite creates it. Unreadable: SQLite reports it.
        Err(_) => return Ok(()),
    };
    let mut header = [0u8; 16];
    let mut n = 0;
    while n < header.len() {
        match f.read(header.get_mut(n..).unwrap_or_default()) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(source) => {
                return Err(Error::Io {
                    path: path.to_path_buf(),
                    source,
                });
            }
        }
    }
    if n == 0 {
        return Err(Error::NotADatabase {
            path: path.to_path_buf(),
            reason: "the file is empty".to_owned(),
        });
    }
    if n < header.len() || header != *b"SQLite format 3\0" {
        return Err(Error::NotADatabase {
            path: path.to_path_buf(),
            reason: "no SQLite header".to_owned(),
        });
    }
    Ok(())
}

/// Checks the identity and version of an open database and migrates it forward.
///
/// Nothing is written unless the database is empty or ours and older than this build.
pub(crate) fn prepare(conn: &mut Connection, path: &Path, writable: bool) -> Result<()> {
    let sql = |e| Error::from_sqlite(path, e);
    let app_id: i32 = conn
        .query_row("PRAGMA application_id", [], |r| r.get(0))
        .map_err(sql)?;
    let version: i32 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .map_err(sql)?;
    let objects: i64 = conn
        .query_row("SELECT count(*) FROM sqlite_schema", [], |r| r.get(0))
        .map_err(sql)?;
    let fresh = objects == 0 && version == 0 && app_id == 0;
    if !fresh && app_id != APPLICATION_ID {
        return Err(Error::ForeignDatabase {
            path: path.to_path_buf(),
            application_id: app_id,
            user_version: version,
        });
    }
    if version > SCHEMA_VERSION {
        return Err(Error::NewerSchema {
            path: path.to_path_buf(),
            found: version,
            supported: SCHEMA_VERSION,
        });
    }
    if !writable {
        if version < SCHEMA_VERSION {
            return Err(Error::NeedsMigration {
                path: path.to_path_buf(),
                found: version,
                supported: SCHEMA_VERSION,
            });
        }
        return Ok(());
    }
    conn.pragma_update(None, "journal_mode", "WAL")
        .map_err(sql)?;
    if version == SCHEMA_VERSION {
        return Ok(());
    }
    let tx = conn
        .transaction_with_behavior(rusqlite::TransactionBehavior::Exclusive)
        .map_err(sql)?;
    // Re-read under the lock: another process may have migrated meanwhile.
    let version: i32 = tx
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .map_err(sql)?;
    let start = usize::try_from(version).unwrap_or(0);
    for step in MIGRATIONS.get(start..).unwrap_or_default() {
        tx.execute_batch(step).map_err(sql)?;
    }
    tx.pragma_update(None, "application_id", APPLICATION_ID)
        .map_err(sql)?;
    tx.pragma_update(None, "user_version", SCHEMA_VERSION)
        .map_err(sql)?;
    tx.commit().map_err(sql)?;
    Ok(())
}
