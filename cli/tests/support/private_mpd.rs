//! A private MPD for integration tests: its own config, database and Unix socket in a work
//! folder, a null audio output, and the music folder already in its database.
//!
//! [`PrivateMpd::start`] returns `Ok(None)` when no `mpd` program is installed, so tests can
//! print a line and skip; with `SONORITY_REQUIRE_MPD` set (CI) that is an error instead. The
//! program is `$SONORITY_MPD`, else `mpd` on `PATH`, `/usr/bin`, `/usr/sbin` or
//! `/usr/local/bin`.
//!
//! It needs the MPD module reachable as `super::mpd`: in `tests/support/mod.rs`, either
//! `pub use the_crate::mpd;` or `#[path = "../../src/mpd.rs"] pub mod mpd;`.
//!
//! The MPD has no `state_file`: a restart begins with an empty queue, stopped. It listens only
//! on its Unix socket (and, on Linux, an abstract socket), never on TCP, so tests run in parallel.

use std::{
    fs, io,
    os::unix::net::UnixStream,
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    sync::atomic::{AtomicUsize, Ordering},
    thread,
    time::{Duration, Instant},
};

use super::mpd::{Mpd, MpdTarget};

/// Set (to anything but the empty string) to make a missing `mpd` an error, not a skip.
pub const REQUIRE_MPD_ENV: &str = "SONORITY_REQUIRE_MPD";
/// Set to the path of the `mpd` program to use.
pub const MPD_PROGRAM_ENV: &str = "SONORITY_MPD";
/// How long to wait for MPD's socket after starting it.
const READY_TIMEOUT: Duration = Duration::from_secs(10);
/// How long the first database update may take.
const UPDATE_TIMEOUT: Duration = Duration::from_secs(60);
/// How long MPD may take to exit after SIGTERM before it is killed.
const STOP_TIMEOUT: Duration = Duration::from_secs(5);
/// Longest socket path used as is (`sun_path` holds 108 bytes with the final NUL).
const MAX_SOCKET_PATH: usize = 100;

static INSTANCES: AtomicUsize = AtomicUsize::new(0);

/// `PrivateMpd` is an `mpd` child process for one test; dropping it kills the process.
#[derive(Debug)]
pub struct PrivateMpd {
    program: PathBuf,
    conf: PathBuf,
    socket: PathBuf,
    abstract_name: Option<String>,
    log: PathBuf,
    music_dir: PathBuf,
    password: Option<String>,
    child: Option<Child>,
    /// A short folder for the socket when `work_dir` is too long for one.
    _socket_dir: Option<tempfile::TempDir>,
}

impl PrivateMpd {
    /// Starts MPD for `music_dir`, with its files in `work_dir` (created if missing), waits until
    /// it accepts connections, then updates its database and waits until the update is done.
    ///
    /// `Ok(None)` when the `mpd` program is not found and `SONORITY_REQUIRE_MPD` is unset (a
    /// line on standard error says the test is skipped).
    ///
    /// # Errors
    ///
    /// When `mpd` is missing and `SONORITY_REQUIRE_MPD` is set, when MPD exits or is not ready
    /// within 10 s (the error holds its log), or when the update fails.
    pub fn start(work_dir: &Path, music_dir: &Path) -> io::Result<Option<Self>> {
        Self::launch(work_dir, music_dir, None)
    }

    /// [`PrivateMpd::start`] with `password "PASSWORD@read,add,control,admin"`: clients without
    /// the password have no permission at all.
    ///
    /// # Errors
    ///
    /// As [`PrivateMpd::start`].
    pub fn start_with_password(
        work_dir: &Path,
        music_dir: &Path,
        password: &str,
    ) -> io::Result<Option<Self>> {
        Self::launch(work_dir, music_dir, Some(password))
    }

    /// The Unix socket MPD listens on.
    pub fn socket(&self) -> PathBuf {
        self.socket.clone()
    }

    /// The target for [`Mpd::connect`]: the Unix socket, with the password if there is one.
    pub fn target(&self) -> MpdTarget {
        with_password(MpdTarget::unix(&self.socket), self.password.as_deref())
    }

    /// The same MPD through its Linux abstract socket (`None` on other systems).
    pub fn abstract_target(&self) -> Option<MpdTarget> {
        let name = self.abstract_name.as_deref()?;
        Some(with_password(
            MpdTarget::abstract_socket(name),
            self.password.as_deref(),
        ))
    }

    /// The `MPD_HOST` value for a child process: the socket path, after `password@` if any.
    pub fn mpd_host(&self) -> String {
        match &self.password {
            Some(pw) => format!("{pw}@{}", self.socket.display()),
            None => self.socket.display().to_string(),
        }
    }

    /// The music folder (canonical, as written in MPD's config).
    pub fn music_dir(&self) -> &Path {
        &self.music_dir
    }

    /// MPD's log so far (its standard output and error).
    pub fn log(&self) -> String {
        fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Stops MPD: SIGTERM, so it closes its clients and exits cleanly, then SIGKILL after 5 s.
    /// Does nothing when it is not running.
    ///
    /// # Errors
    ///
    /// When waiting for the process fails.
    pub fn stop(&mut self) -> io::Result<()> {
        let Some(mut child) = self.child.take() else {
            return Ok(());
        };
        let termed = Command::new("kill")
            .arg("-TERM")
            .arg(child.id().to_string())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if termed {
            let deadline = Instant::now() + STOP_TIMEOUT;
            while Instant::now() < deadline {
                if child.try_wait()?.is_some() {
                    return Ok(());
                }
                thread::sleep(Duration::from_millis(20));
            }
        }
        // Already exited is fine; `wait` reaps it either way.
        let _ = child.kill();
        child.wait().map(drop)
    }

    /// Stops MPD and starts it again with the same config and socket, and waits until it
    /// accepts connections. Clients of the old process see their connection close.
    ///
    /// # Errors
    ///
    /// As [`PrivateMpd::stop`] and [`PrivateMpd::start`].
    pub fn restart(&mut self) -> io::Result<()> {
        self.stop()?;
        self.spawn()
    }

    fn launch(
        work_dir: &Path,
        music_dir: &Path,
        password: Option<&str>,
    ) -> io::Result<Option<Self>> {
        let Some(program) = find_mpd() else {
            return skip_or_fail();
        };
        fs::create_dir_all(work_dir)?;
        let work_dir = fs::canonicalize(work_dir)?;
        let music_dir = fs::canonicalize(music_dir)?;

        let (socket, socket_dir) = {
            let socket = work_dir.join("mpd.sock");
            if socket.as_os_str().len() <= MAX_SOCKET_PATH {
                (socket, None)
            } else {
                let dir = tempfile::Builder::new().prefix("mpd").tempdir_in("/tmp")?;
                (dir.path().join("mpd.sock"), Some(dir))
            }
        };
        let abstract_name = cfg!(target_os = "linux").then(|| {
            format!(
                "sonority-test-{}-{}",
                std::process::id(),
                INSTANCES.fetch_add(1, Ordering::Relaxed)
            )
        });

        let mut conf = String::new();
        conf += &format!("music_directory \"{}\"\n", quoted(&music_dir)?);
        conf += &format!("db_file \"{}\"\n", quoted(&work_dir.join("mpd.db"))?);
        conf += &format!("pid_file \"{}\"\n", quoted(&work_dir.join("mpd.pid"))?);
        conf += &format!("bind_to_address \"{}\"\n", quoted(&socket)?);
        if let Some(name) = &abstract_name {
            conf += &format!("bind_to_address \"@{name}\"\n");
        }
        conf += "filesystem_charset \"UTF-8\"\n";
        conf += "zeroconf_enabled \"no\"\n";
        conf += "auto_update \"no\"\n";
        conf +=
            "audio_output {\n    type \"null\"\n    name \"null\"\n    mixer_type \"none\"\n}\n";
        if let Some(pw) = password {
            if pw.is_empty() || pw.contains(['"', '\\', '@', '\n']) {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    format!("unusable MPD password {pw:?}"),
                ));
            }
            conf += &format!("password \"{pw}@read,add,control,admin\"\n");
        }
        let conf_path = work_dir.join("mpd.conf");
        fs::write(&conf_path, conf)?;

        let mut mpd = Self {
            program,
            conf: conf_path,
            socket,
            abstract_name,
            log: work_dir.join("mpd.log"),
            music_dir,
            password: password.map(str::to_owned),
            child: None,
            _socket_dir: socket_dir,
        };
        match mpd.spawn() {
            Err(e) if e.kind() == io::ErrorKind::NotFound && mpd.child.is_none() => {
                return skip_or_fail();
            }
            result => result?,
        }
        mpd.update_database()?;
        Ok(Some(mpd))
    }

    /// Starts the process and waits until its socket accepts a connection.
    fn spawn(&mut self) -> io::Result<()> {
        // A socket file left by a killed MPD would accept nothing; MPD replaces it anyway.
        match fs::remove_file(&self.socket) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e),
            _ => {}
        }
        let log = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)?;
        let child = Command::new(&self.program)
            .arg("--no-daemon")
            .arg("--stderr")
            .arg(&self.conf)
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()?;
        self.child = Some(child);

        let deadline = Instant::now() + READY_TIMEOUT;
        loop {
            if let Some(child) = self.child.as_mut()
                && let Some(status) = child.try_wait()?
            {
                self.child = None;
                return Err(io::Error::other(format!(
                    "mpd exited ({status}) before it was ready; its log:\n{}",
                    self.log()
                )));
            }
            if UnixStream::connect(&self.socket).is_ok() {
                return Ok(());
            }
            if Instant::now() > deadline {
                let _ = self.stop();
                return Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    format!(
                        "mpd did not open {} within {} s; its log:\n{}",
                        self.socket.display(),
                        READY_TIMEOUT.as_secs(),
                        self.log()
                    ),
                ));
            }
            thread::sleep(Duration::from_millis(20));
        }
    }

    /// Runs `update` and waits for it, on a thread of its own with its own tokio runtime (so
    /// this works from sync tests and from inside `#[tokio::test]`).
    fn update_database(&self) -> io::Result<()> {
        let target = self.target();
        let log = self.log.clone();
        let worker = thread::spawn(move || -> io::Result<()> {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            runtime.block_on(async {
                let mut mpd = Mpd::connect(&target).await.map_err(io::Error::other)?;
                mpd.update().await.map_err(io::Error::other)?;
                match tokio::time::timeout(UPDATE_TIMEOUT, mpd.wait_update_done()).await {
                    Ok(done) => done.map_err(io::Error::other),
                    Err(_) => Err(io::Error::new(
                        io::ErrorKind::TimedOut,
                        format!(
                            "MPD's database update took over {} s; log in {}",
                            UPDATE_TIMEOUT.as_secs(),
                            log.display()
                        ),
                    )),
                }
            })
        });
        worker
            .join()
            .map_err(|_| io::Error::other("the database update thread panicked"))?
    }
}

impl Drop for PrivateMpd {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

fn with_password(target: MpdTarget, password: Option<&str>) -> MpdTarget {
    match password {
        Some(pw) => target.with_password(pw),
        None => target,
    }
}

/// `Ok(None)` with a note, or an error when `SONORITY_REQUIRE_MPD` is set.
fn skip_or_fail() -> io::Result<Option<PrivateMpd>> {
    if std::env::var_os(REQUIRE_MPD_ENV).is_some_and(|v| !v.is_empty()) {
        return Err(io::Error::new(
            io::ErrorKind::NotFound,
            format!("the mpd program is not installed, and {REQUIRE_MPD_ENV} is set"),
        ));
    }
    eprintln!("skipped: the mpd program is not installed (set {REQUIRE_MPD_ENV} to fail instead)");
    Ok(None)
}

/// The `mpd` program: `$SONORITY_MPD`, else the first `mpd` on `PATH` or in the usual folders.
fn find_mpd() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os(MPD_PROGRAM_ENV).filter(|p| !p.is_empty()) {
        return Some(PathBuf::from(path));
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/bin", "/usr/sbin", "/usr/local/bin"].map(PathBuf::from))
        .map(|dir| dir.join("mpd"))
        .find(|p| p.is_file())
}

/// A path for a double-quoted MPD config value.
fn quoted(path: &Path) -> io::Result<String> {
    let s = path.to_str().filter(|s| !s.contains(['"', '\\', '\n']));
    s.map(str::to_owned).ok_or_else(|| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("{} cannot be written in mpd.conf", path.display()),
        )
    })
}
