//! A throwaway PostgreSQL cluster for the tests and benches (feature `postgres`).
//!
//! The first call to [`cluster`] runs `initdb` into a fresh temporary directory and
//! starts the server with `pg_ctl` on a Unix socket in that directory only (no TCP),
//! with password (SCRAM) authentication. When the process runs as root (as in CI), the
//! server runs as the `postgres` user, which `initdb` requires. A watchdog shell started
//! at the same time stops the server and deletes the directory as soon as this process
//! exits, whatever way it ends (the tests share one cluster; Rust runs no destructors
//! for statics). A missing PostgreSQL installation fails the tests: install it with
//! `apt-get install -y postgresql`, or point `SONORITY_PG_BIN` at its `bin` directory.

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};

use sonority_store::postgres::{Client, NoTls};

/// The superuser of the throwaway cluster.
pub const ADMIN: &str = "sonority_admin";
/// The port number in the socket's name (no TCP listener is opened).
pub const PORT: u16 = 5432;

/// A running throwaway cluster.
pub struct Cluster {
    /// Directory of the Unix socket (and of the data directory).
    pub socket_dir: PathBuf,
    /// The superuser's password.
    pub password: String,
}

static CLUSTER: OnceLock<Cluster> = OnceLock::new();
static NEXT_DB: AtomicUsize = AtomicUsize::new(0);

/// The shared cluster, started on first use.
pub fn cluster() -> &'static Cluster {
    CLUSTER.get_or_init(start)
}

fn bin_dir() -> PathBuf {
    if let Some(d) = std::env::var_os("SONORITY_PG_BIN") {
        return d.into();
    }
    if let Ok(out) = Command::new("pg_config").arg("--bindir").output()
        && out.status.success()
    {
        let d = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
        if d.join("initdb").exists() {
            return d;
        }
    }
    let mut found: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path().join("bin"))
        .filter(|d| d.join("initdb").exists())
        .collect();
    found.sort_by_key(|d| {
        d.parent()
            .and_then(|v| v.file_name()?.to_str()?.parse::<u32>().ok())
            .unwrap_or(0)
    });
    found.pop().unwrap_or_else(|| {
        panic!(
            "PostgreSQL server binaries not found: `apt-get install -y postgresql` \
             (or set SONORITY_PG_BIN to the directory holding initdb and pg_ctl)"
        )
    })
}

/// `(uid, gid)` of the `postgres` user, when running as root.
fn server_user() -> Option<(u32, u32)> {
    let me = std::fs::metadata("/proc/self").ok()?.uid();
    if me != 0 {
        return None;
    }
    let passwd = std::fs::read_to_string("/etc/passwd").unwrap();
    let line = passwd
        .lines()
        .find(|l| l.starts_with("postgres:"))
        .expect("running as root needs a `postgres` user (the Debian package creates it)");
    let f: Vec<&str> = line.split(':').collect();
    Some((f[2].parse().unwrap(), f[3].parse().unwrap()))
}

fn as_server<'a>(cmd: &'a mut Command, user: Option<(u32, u32)>, dir: &Path) -> &'a mut Command {
    use std::os::unix::process::CommandExt;
    if let Some((uid, gid)) = user {
        cmd.uid(uid).gid(gid);
    }
    cmd.current_dir(dir).env_remove("PGPASSWORD")
}

fn random_password() -> String {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(std::time::UNIX_EPOCH.elapsed().unwrap().as_nanos());
    h.write_u32(std::process::id());
    format!("pw-{:016x}", h.finish())
}

fn start() -> Cluster {
    let bin = bin_dir();
    let user = server_user();
    let dir = tempfile::Builder::new()
        .prefix("sonority-pg-")
        .tempdir()
        .unwrap()
        .keep();
    let data = dir.join("data");
    let password = random_password();
    let pwfile = dir.join("pw");
    std::fs::write(&pwfile, &password).unwrap();
    if let Some((uid, gid)) = user {
        std::os::unix::fs::chown(&dir, Some(uid), Some(gid)).unwrap();
        std::os::unix::fs::chown(&pwfile, Some(uid), Some(gid)).unwrap();
    }
    // The watchdog first, so that even a failed start is cleaned up. It must outlive
    // this process, so it is never waited for.
    #[allow(clippy::zombie_processes)]
    as_server(&mut Command::new("sh"), user, &dir)
        .arg("-c")
        .arg(
            r#"while [ -e "/proc/$0" ]; do sleep 0.2; done
               "$1/pg_ctl" -D "$2" -m immediate stop >/dev/null 2>&1; rm -rf "$3""#,
        )
        .arg(std::process::id().to_string())
        .arg(&bin)
        .arg(&data)
        .arg(&dir)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let out = as_server(&mut Command::new(bin.join("initdb")), user, &dir)
        .arg("-D")
        .arg(&data)
        .args([
            "-U",
            ADMIN,
            "-A",
            "scram-sha-256",
            "-E",
            "UTF8",
            "--no-locale",
            "-N",
        ])
        .arg(format!("--pwfile={}", pwfile.display()))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "initdb failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let opts = format!(
        "-k {} -p {PORT} -c listen_addresses='' -c fsync=off -c synchronous_commit=off \
         -c full_page_writes=off -c max_connections=200 -c shared_buffers=256MB",
        dir.display()
    );
    let out = as_server(&mut Command::new(bin.join("pg_ctl")), user, &dir)
        .arg("-D")
        .arg(&data)
        .arg("-l")
        .arg(dir.join("server.log"))
        .args(["-w", "-t", "60", "-o", &opts, "start"])
        .stdout(Stdio::null())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "pg_ctl start failed: {} {}",
        String::from_utf8_lossy(&out.stderr),
        std::fs::read_to_string(dir.join("server.log")).unwrap_or_default()
    );
    Cluster {
        socket_dir: dir,
        password,
    }
}

impl Cluster {
    /// A `key=value` connection string for `db` as `user` with `password`.
    pub fn conn_as(&self, db: &str, user: &str, password: &str) -> String {
        format!(
            "host={} port={PORT} user={user} password={password} dbname={db}",
            self.socket_dir.display()
        )
    }

    /// A connection string for `db` as the superuser.
    pub fn conn(&self, db: &str) -> String {
        self.conn_as(db, ADMIN, &self.password)
    }

    /// A superuser client on `db`.
    pub fn admin(&self, db: &str) -> Client {
        Client::connect(&self.conn(db), NoTls).unwrap()
    }

    /// Creates an empty database named after `tag` and returns its name.
    pub fn fresh_db(&self, tag: &str) -> String {
        let n = NEXT_DB.fetch_add(1, Ordering::Relaxed);
        let tag: String = tag
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || *c == '_')
            .take(40)
            .collect();
        let name = format!("t{n}_{tag}").to_lowercase();
        self.admin("postgres")
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .unwrap();
        name
    }

    /// A superuser connection string to a fresh database.
    pub fn fresh(&self, tag: &str) -> String {
        self.conn(&self.fresh_db(tag))
    }
}

/// A `PgStore` on a fresh database of the shared cluster.
pub fn pg_store(tag: &str) -> sonority_store::PgStore {
    sonority_store::PgStore::connect(&cluster().fresh(tag)).unwrap()
}
