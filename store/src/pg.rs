//! [`PgStore`]: connecting, credentials, typed errors, and the [`VectorStore`] implementation.

use std::cell::{RefCell, RefMut};
use std::fmt::Write as _;
use std::str::FromStr;
use std::time::Duration;

use postgres::error::SqlState;
use postgres::{Client, Config, NoTls};

use crate::codec::{decode_f32_into, encode_f32};
use crate::error::{Error, Result};
use crate::memory::check_vector;
use crate::pg_error::pg_error;
use crate::pg_schema;
use crate::types::TrackId;
use crate::vector::{VectorMatrix, VectorStore};

/// `PgOptions` configures how a [`PgStore`] connects and how its work queue behaves.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct PgOptions {
    /// How long to wait for the server before [`Error::Unreachable`] (when neither the
    /// URL nor `PGCONNECT_TIMEOUT` sets it). Default: 10 s.
    pub connect_timeout: Duration,
    /// A job whose lease has expired this many times (its worker died each time) is
    /// marked failed instead of being claimed again, so one file that crashes the
    /// decoder cannot take down every worker in turn. Default: `5`.
    pub max_attempts: u32,
    /// `application_name` shown in `pg_stat_activity` (unless the URL or `PGAPPNAME`
    /// sets it). Default: `"sonority"`.
    pub application_name: String,
}

impl Default for PgOptions {
    fn default() -> Self {
        Self {
            connect_timeout: Duration::from_secs(10),
            max_attempts: 5,
            application_name: "sonority".to_owned(),
        }
    }
}

impl PgOptions {
    /// Sets [`connect_timeout`](Self::connect_timeout).
    #[must_use]
    pub fn with_connect_timeout(mut self, v: Duration) -> Self {
        self.connect_timeout = v;
        self
    }
    /// Sets [`max_attempts`](Self::max_attempts).
    #[must_use]
    pub fn with_max_attempts(mut self, v: u32) -> Self {
        self.max_attempts = v;
        self
    }
    /// Sets [`application_name`](Self::application_name).
    #[must_use]
    pub fn with_application_name(mut self, v: impl Into<String>) -> Self {
        self.application_name = v.into();
        self
    }
}

/// `PgStore` is the catalogue, vectors and work queue in a PostgreSQL database.
///
/// One `PgStore` is one connection (`Send`, not `Sync`): open one per worker thread or
/// process. It implements [`VectorStore`] and [`Catalogue`](crate::Catalogue) with the
/// same meanings as [`SqliteStore`](crate::SqliteStore), plus the shared work queue
/// ([`enqueue`](Self::enqueue), [`claim`](Self::claim), [`complete`](Self::complete)) and
/// incremental loading for ranking ([`load_matrix_since`](Self::load_matrix_since)).
///
/// Credentials come from the connection string or the standard `PG*` variables; the
/// password never appears in an error, a log line or `Debug` output ([`target`](Self::target)
/// is the redacted form).
///
/// # Examples
/// ```no_run
/// use sonority_store::{PgStore, VectorStore};
/// // Or "host=/var/run/postgresql dbname=music", or "" with PGHOST etc. set.
/// let store = PgStore::connect("postgres://indexer@db.example/music")?;
/// let m = store.load_matrix("conv1d-v1")?;
/// # Ok::<(), sonority_store::Error>(())
/// ```
pub struct PgStore {
    client: RefCell<Client>,
    target: String,
    pub(crate) opts: PgOptions,
}

impl std::fmt::Debug for PgStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgStore")
            .field("target", &self.target)
            .finish_non_exhaustive()
    }
}

/// Reads one of the standard PostgreSQL environment variables.
fn env_var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

/// Parses a connection string and fills what it leaves unset from `env` (`PGHOST`,
/// `PGPORT`, `PGUSER`, `PGPASSWORD`, `PGDATABASE`, `PGAPPNAME`, `PGCONNECT_TIMEOUT`),
/// as libpq does. Errors never quote the string.
pub(crate) fn parse_config(
    conn: &str,
    opts: &PgOptions,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Config> {
    let mut cfg = if conn.trim().is_empty() {
        Config::new()
    } else {
        Config::from_str(conn).map_err(|_| Error::InvalidConnection {
            reason: "cannot parse it as a postgres:// URL or a key=value list".to_owned(),
        })?
    };
    if cfg.get_hosts().is_empty() {
        match env("PGHOST") {
            Some(hosts) => {
                for h in hosts.split(',') {
                    cfg.host(h);
                }
            }
            None if std::path::Path::new("/var/run/postgresql").is_dir() => {
                cfg.host("/var/run/postgresql");
            }
            None => {
                cfg.host("localhost");
            }
        }
    }
    if cfg.get_ports().is_empty()
        && let Some(p) = env("PGPORT")
    {
        let port = p.parse().map_err(|_| Error::InvalidConnection {
            reason: "PGPORT is not a port number".to_owned(),
        })?;
        cfg.port(port);
    }
    if cfg.get_user().is_none() {
        let user = env("PGUSER")
            .or_else(|| env("USER"))
            .unwrap_or_else(|| "postgres".to_owned());
        cfg.user(&user);
    }
    if cfg.get_password().is_none()
        && let Some(p) = env("PGPASSWORD")
    {
        cfg.password(p);
    }
    if cfg.get_dbname().is_none()
        && let Some(d) = env("PGDATABASE")
    {
        cfg.dbname(&d);
    }
    if cfg.get_application_name().is_none() {
        let name = env("PGAPPNAME").unwrap_or_else(|| opts.application_name.clone());
        cfg.application_name(&name);
    }
    if cfg.get_connect_timeout().is_none() {
        let t = env("PGCONNECT_TIMEOUT")
            .and_then(|s| s.parse::<u64>().ok())
            .map_or(opts.connect_timeout, Duration::from_secs);
        cfg.connect_timeout(t);
    }
    Ok(cfg)
}

/// The server as `postgres://user@host:port/dbname`, without the password.
pub(crate) fn redacted_target(cfg: &Config) -> String {
    let mut s = String::from("postgres://");
    if let Some(u) = cfg.get_user() {
        let _ = write!(s, "{u}@");
    }
    let ports = cfg.get_ports();
    for (i, h) in cfg.get_hosts().iter().enumerate() {
        if i > 0 {
            s.push(',');
        }
        match h {
            postgres::config::Host::Tcp(h) => s.push_str(h),
            #[cfg(unix)]
            postgres::config::Host::Unix(p) => {
                let _ = write!(s, "[{}]", p.display());
            }
        }
        if let Some(p) = ports.get(i).or(ports.first()) {
            let _ = write!(s, ":{p}");
        }
    }
    let _ = write!(s, "/{}", cfg.get_dbname().or(cfg.get_user()).unwrap_or(""));
    s
}

impl PgStore {
    /// Connects with default options, migrating an older schema forward.
    ///
    /// `conn` is a `postgres://user:password@host:port/dbname` URL or a libpq-style
    /// `key=value` list (`host=/run/postgresql dbname=music`); what it leaves out comes
    /// from `PGHOST`, `PGPORT`, `PGUSER`, `PGPASSWORD`, `PGDATABASE`, `PGAPPNAME` and
    /// `PGCONNECT_TIMEOUT`, as with `psql`. A host starting with `/` is a Unix-socket
    /// directory. The connection is not encrypted (use a Unix socket, a private network
    /// or a TLS tunnel).
    ///
    /// # Errors
    /// [`Error::InvalidConnection`], [`Error::Unreachable`], [`Error::AuthFailed`],
    /// [`Error::NewerSchema`] (a database written by a newer sonority, left untouched),
    /// [`Error::ForeignDatabase`] (tables of the same names but no sonority schema),
    /// [`Error::PermissionDenied`] (migrating needs `CREATE` on the schema).
    pub fn connect(conn: &str) -> Result<Self> {
        Self::connect_with(conn, &PgOptions::default())
    }

    /// Connects with explicit options.
    ///
    /// # Errors
    /// As [`connect`](Self::connect).
    pub fn connect_with(conn: &str, opts: &PgOptions) -> Result<Self> {
        let cfg = parse_config(conn, opts, &env_var)?;
        Self::from_config(&cfg, opts)
    }

    /// Connects with a ready [`postgres::Config`] (no environment variables are read).
    ///
    /// # Errors
    /// As [`connect`](Self::connect).
    pub fn from_config(cfg: &Config, opts: &PgOptions) -> Result<Self> {
        let target = redacted_target(cfg);
        let mut client = cfg.connect(NoTls).map_err(|source| match source.code() {
            Some(_) => pg_error(&target, source),
            None => Error::Unreachable {
                target: target.clone(),
                source,
            },
        })?;
        pg_schema::prepare(&mut client, &target)?;
        Ok(Self {
            client: RefCell::new(client),
            target,
            opts: opts.clone(),
        })
    }

    /// The server as `postgres://user@host:port/dbname`, without the password: safe to
    /// log.
    #[must_use]
    pub fn target(&self) -> &str {
        &self.target
    }

    /// The connection, or an error if a callback of this store's own scan calls back into it.
    pub(crate) fn client(&self) -> Result<RefMut<'_, Client>> {
        self.client
            .try_borrow_mut()
            .map_err(|_| Error::InvalidConnection {
                reason: "the store was called from inside its own for_each callback".to_owned(),
            })
    }

    /// Maps a client error on this store.
    pub(crate) fn pg(&self, e: postgres::Error) -> Error {
        pg_error(&self.target, e)
    }

    /// `(id, dim)` of a model.
    pub(crate) fn model_row(&self, name: &str) -> Result<Option<(i64, usize)>> {
        let row = self
            .client()?
            .query_opt("SELECT id, dim FROM models WHERE name = $1", &[&name])
            .map_err(|e| self.pg(e))?;
        Ok(row.map(|r| (r.get::<_, i64>(0), dim_usize(r.get::<_, i32>(1)))))
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
        let target = self.target.clone();
        let pg = |e| pg_error(&target, e);
        let mut client = self.client()?;
        let mut tx = client.transaction().map_err(pg)?;
        let ids: Vec<i64> = rows.iter().map(|(id, _)| id.0).collect();
        let found: Vec<i64> = tx
            .query(
                "SELECT i FROM unnest($1::int8[]) AS i WHERE NOT EXISTS (SELECT 1 FROM tracks WHERE id = i)",
                &[&ids],
            )
            .map_err(pg)?
            .iter()
            .map(|r| r.get(0))
            .collect();
        if let Some(&id) = found.first() {
            return Err(Error::UnknownTrack { id });
        }
        let model_id =
            pg_ensure_model(&mut tx, &target, &crate::types::ModelInfo::new(model, dim))?;
        let vectors: Vec<Vec<u8>> = rows.iter().map(|(_, v)| encode_f32(v)).collect();
        tx.execute(
            "INSERT INTO embeddings (model_id, track_id, vector, written_at_s)
             SELECT $1, t, v, $4 FROM unnest($2::int8[], $3::bytea[]) AS u(t, v)
             ON CONFLICT (model_id, track_id) DO UPDATE SET vector = excluded.vector,
                written_at_s = excluded.written_at_s, written_xid = pg_current_xact_id()",
            &[&model_id, &ids, &vectors, &crate::codec::now_s()],
        )
        .map_err(pg)?;
        tx.commit().map_err(pg)
    }

    /// Checks a stored vector's byte length against the model's dimension.
    pub(crate) fn check_bytes(
        &self,
        model: &str,
        id: TrackId,
        dim: usize,
        len: usize,
    ) -> Result<()> {
        if len == dim * 4 {
            return Ok(());
        }
        Err(Error::Corrupt {
            path: self.target.clone().into(),
            reason: format!(
                "model {model:?} track {id}: vector of {len} bytes, expected {}",
                dim * 4
            ),
        })
    }
}

/// A `dim` column (checked positive by the schema) as `usize`.
pub(crate) fn dim_usize(d: i32) -> usize {
    usize::try_from(d).unwrap_or(0)
}

/// Registers `model` if missing and returns its id; checks dimension and weights otherwise.
pub(crate) fn pg_ensure_model(
    tx: &mut postgres::Transaction<'_>,
    target: &str,
    model: &crate::types::ModelInfo,
) -> Result<i64> {
    let pg = |e| pg_error(target, e);
    if model.dim == 0 {
        return Err(Error::EmptyVector {
            model: model.name.clone(),
        });
    }
    let dim = i32::try_from(model.dim).map_err(|_| Error::OutOfRange {
        what: "dim",
        value: model.dim.to_string(),
    })?;
    for _ in 0..2 {
        let existing = tx
            .query_opt(
                "SELECT id, dim, weights_hash FROM models WHERE name = $1",
                &[&model.name],
            )
            .map_err(pg)?;
        if let Some(r) = existing {
            let (id, d, weights): (i64, i32, Option<String>) = (r.get(0), r.get(1), r.get(2));
            if d != dim {
                return Err(Error::ModelConflict {
                    name: model.name.clone(),
                    field: "dim",
                });
            }
            if model.weights_hash.is_some() && weights.is_some() && weights != model.weights_hash {
                return Err(Error::ModelConflict {
                    name: model.name.clone(),
                    field: "weights_hash",
                });
            }
            return Ok(id);
        }
        let inserted = tx
            .query_opt(
                "INSERT INTO models (name, dim, config_json, weights_hash, created_at_s)
                 VALUES ($1, $2, $3, $4, $5) ON CONFLICT (name) DO NOTHING RETURNING id",
                &[
                    &model.name,
                    &dim,
                    &model.config_json,
                    &model.weights_hash,
                    &crate::codec::now_s(),
                ],
            )
            .map_err(|e| {
                if e.code() == Some(&SqlState::INVALID_TEXT_REPRESENTATION) {
                    Error::InvalidConfig {
                        name: model.name.clone(),
                    }
                } else {
                    pg(e)
                }
            })?;
        if let Some(r) = inserted {
            return Ok(r.get(0));
        }
        // Another connection registered it meanwhile: check it on the next pass.
    }
    Err(Error::Corrupt {
        path: target.into(),
        reason: format!("model {:?} neither found nor inserted", model.name),
    })
}

impl VectorStore for PgStore {
    type Error = Error;

    /// Stores (or replaces) one vector in its own transaction.
    ///
    /// The first vector of an unregistered model registers it with this dimension.
    fn put(&mut self, model: &str, id: TrackId, vector: &[f32]) -> Result<()> {
        self.put_many(model, &[(id, vector)])
    }

    fn get(&self, model: &str, id: TrackId) -> Result<Option<Vec<f32>>> {
        let row = self
            .client()?
            .query_opt(
                "SELECT m.dim, e.vector FROM embeddings e JOIN models m ON m.id = e.model_id
                 WHERE m.name = $1 AND e.track_id = $2",
                &[&model, &id.0],
            )
            .map_err(|e| self.pg(e))?;
        let Some(r) = row else { return Ok(None) };
        let dim = dim_usize(r.get(0));
        let bytes: &[u8] = r.get(1);
        self.check_bytes(model, id, dim, bytes.len())?;
        let mut v = Vec::with_capacity(dim);
        decode_f32_into(bytes, &mut v);
        Ok(Some(v))
    }

    /// Removes the vector and the per-tile vectors of track `id` under `model`.
    fn delete(&mut self, model: &str, id: TrackId) -> Result<bool> {
        let Some((model_id, _)) = self.model_row(model)? else {
            return Ok(false);
        };
        let target = self.target.clone();
        let pg = |e| pg_error(&target, e);
        let mut client = self.client()?;
        let mut tx = client.transaction().map_err(pg)?;
        let n = tx
            .execute(
                "DELETE FROM embeddings WHERE model_id = $1 AND track_id = $2",
                &[&model_id, &id.0],
            )
            .map_err(pg)?;
        tx.execute(
            "DELETE FROM embedding_tiles WHERE model_id = $1 AND track_id = $2",
            &[&model_id, &id.0],
        )
        .map_err(pg)?;
        tx.commit().map_err(pg)?;
        Ok(n > 0)
    }

    fn count(&self, model: &str) -> Result<usize> {
        let n: i64 = self
            .client()?
            .query_one(
                "SELECT count(*) FROM embeddings e JOIN models m ON m.id = e.model_id WHERE m.name = $1",
                &[&model],
            )
            .map_err(|e| self.pg(e))?
            .get(0);
        Ok(usize::try_from(n).unwrap_or(0))
    }

    fn dim(&self, model: &str) -> Result<Option<usize>> {
        Ok(self.model_row(model)?.map(|(_, d)| d))
    }

    /// Streams the rows (a portal read in binary format), by track id.
    ///
    /// `f` must not call this store: the connection is busy with the scan
    /// ([`Error::InvalidConnection`]).
    fn for_each(&self, model: &str, f: &mut dyn FnMut(TrackId, &[f32]) -> bool) -> Result<()> {
        let Some((model_id, dim)) = self.model_row(model)? else {
            return Ok(());
        };
        let mut client = self.client()?;
        let mut rows = client
            .query_raw(
                "SELECT track_id, vector FROM embeddings WHERE model_id = $1 ORDER BY track_id",
                [model_id],
            )
            .map_err(|e| self.pg(e))?;
        let mut buf = Vec::with_capacity(dim);
        use postgres::fallible_iterator::FallibleIterator;
        while let Some(r) = rows.next().map_err(|e| self.pg(e))? {
            let id = TrackId(r.get(0));
            let bytes: &[u8] = r.get(1);
            self.check_bytes(model, id, dim, bytes.len())?;
            buf.clear();
            decode_f32_into(bytes, &mut buf);
            if !f(id, &buf) {
                break;
            }
        }
        Ok(())
    }

    /// Loads the model with one binary `COPY ... TO STDOUT`, decoded straight into the matrix.
    fn load_matrix(&self, model: &str) -> Result<VectorMatrix> {
        Ok(self
            .load_matrix_since(model, crate::Watermark::default())?
            .rows)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env_of(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: std::collections::HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        move |k| map.get(k).cloned()
    }

    #[test]
    fn url_wins_and_env_fills_the_rest() {
        let env = env_of(&[
            ("PGHOST", "/run/pg"),
            ("PGPORT", "6543"),
            ("PGUSER", "envuser"),
            ("PGPASSWORD", "envsecret"),
            ("PGDATABASE", "envdb"),
        ]);
        let opts = PgOptions::default();
        let cfg = parse_config(
            "postgres://alice:urlsecret@db.example:5433/music",
            &opts,
            &env,
        )
        .unwrap();
        assert_eq!(cfg.get_user(), Some("alice"));
        assert_eq!(cfg.get_password(), Some(&b"urlsecret"[..]));
        assert_eq!(cfg.get_dbname(), Some("music"));
        assert_eq!(cfg.get_ports(), &[5433]);
        let t = redacted_target(&cfg);
        assert_eq!(t, "postgres://alice@db.example:5433/music");
        assert_eq!(cfg.get_application_name(), Some("sonority"));

        let cfg = parse_config("", &opts, &env).unwrap();
        assert_eq!(cfg.get_user(), Some("envuser"));
        assert_eq!(cfg.get_password(), Some(&b"envsecret"[..]));
        assert_eq!(cfg.get_dbname(), Some("envdb"));
        assert_eq!(
            redacted_target(&cfg),
            "postgres://envuser@[/run/pg]:6543/envdb"
        );
        assert!(
            !format!("{cfg:?}").contains("envsecret"),
            "Config's Debug shows the password"
        );
    }

    #[test]
    fn bad_strings_never_echo_the_password() {
        let env = env_of(&[("PGPORT", "not-a-port")]);
        let opts = PgOptions::default();
        for s in [
            "postgres://u:hunter2@h:99999/d",
            "host=h password=hunter2 port=x",
        ] {
            let e = parse_config(s, &opts, &env_of(&[])).unwrap_err();
            assert!(matches!(e, Error::InvalidConnection { .. }));
            assert!(!format!("{e} {e:?}").contains("hunter2"));
        }
        assert!(parse_config("", &opts, &env).is_err());
    }
}
