//! MPD: where it is, a connected client, the queue edits sonority makes, and MPD's change events.
//!
//! [`MpdTarget`] reads `MPD_HOST` / `MPD_PORT` as MPD's own clients do (libmpdclient, `mpc`):
//! `host`, `password@host`, a socket path (`/run/mpd/socket`, `password@/path`) or an abstract
//! socket (`@name`); flags win over the environment, and the default is `localhost:6600`.
//! [`Mpd`] is one connection: the protocol is `mpd_client`'s (async, on tokio), this module only
//! adds timeouts, errors a user reads on one line ([`MpdError`]), and the few operations the
//! command needs:
//!
//! - [`Mpd::replace_after_current`] keeps the song that is playing (or paused) and replaces
//!   everything else in the queue with the given songs, in one command list; [`Mpd::append`]
//!   appends. Both are all-or-nothing: when MPD refuses one URI the songs added so far are
//!   removed again and the error names the URI ([`MpdError::UnknownUri`]).
//! - [`Mpd::next_event`] waits for MPD's `idle` notifications (player, queue, database, ...) and
//!   reports a closed connection as [`MpdError::ConnectionClosed`], so a watcher can reconnect.
//! - [`Mpd::music_directory`] asks MPD (`config`, answered on local sockets only) and
//!   [`Mpd::db_files`] lists every song URI of MPD's database, so indexing can map files to URIs.
//!
//! ```ignore
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use crate::mpd::{Mpd, MpdTarget, Subsystem};
//!
//! let target = MpdTarget::resolve(None, None); // MPD_HOST / MPD_PORT, else localhost:6600
//! let mut mpd = Mpd::connect(&target).await?;
//! mpd.replace_after_current(&["a/one.flac", "b/two.flac"]).await?;
//! loop {
//!     match mpd.next_event(&[Subsystem::Player]).await {
//!         Ok(_) => println!("now playing {:?}", mpd.current().await?.map(|e| e.uri)),
//!         Err(e) => return Err(e.into()), // MpdError::ConnectionClosed: MPD went away
//!     }
//! }
//! # }
//! ```
//!
//! MPD has no transactions: [`Mpd::replace_after_current`] reads the queue's length and the
//! current position, then sends one command list; another client changing the queue in between
//! can make it delete the wrong range (command lists themselves run without interleaving).

use std::{
    collections::VecDeque,
    fmt, io,
    ops::Range,
    path::{Path, PathBuf},
    time::Duration,
};

use mpd_client::{
    Client,
    client::{
        CommandError, ConnectWithPasswordError, ConnectionError, ConnectionEvent, ConnectionEvents,
    },
    commands::{
        self, Add, Command, CurrentSong, Delete, Find, Ping, Queue, SongId, SongPosition, Update,
    },
    filter::{Filter, Operator},
    protocol::{
        MpdProtocolError,
        command::{Command as RawCommand, CommandList as RawCommandList},
        response::{Error as AckError, Frame},
    },
    responses::{PlayState as RawPlayState, SongInQueue},
    tag::Tag,
};
use tokio::{
    io::{AsyncRead, AsyncWrite},
    sync::mpsc,
    time::timeout,
};

/// The host used when neither a flag nor `MPD_HOST` names one.
pub const DEFAULT_HOST: &str = "localhost";
/// The TCP port used when neither a flag nor `MPD_PORT` gives one.
pub const DEFAULT_PORT: u16 = 6600;
/// How long [`Mpd::connect`] waits for the connection, MPD's greeting and the password check.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// How long one command (or command list) may take before [`MpdError::Timeout`].
pub const COMMAND_TIMEOUT: Duration = Duration::from_secs(30);
/// How many songs [`Mpd::db_files`] asks for per `find` window.
const DB_PAGE: usize = 1000;

// MPD's ACK codes (MPD's `src/protocol/Ack.hxx`).
const ACK_ERROR_PASSWORD: u64 = 3;
const ACK_ERROR_PERMISSION: u64 = 4;
const ACK_ERROR_NO_EXIST: u64 = 50;

/// `Result` with [`MpdError`].
pub type Result<T, E = MpdError> = std::result::Result<T, E>;

/// `MpdError` is what can go wrong talking to MPD; each message is one line a user understands.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MpdError {
    /// The connection could not be opened (nothing listens, no such socket, host unknown).
    #[error("cannot connect to MPD at {target}: {source} (is MPD running?)")]
    Connect {
        /// Where ([`MpdTarget`]'s `Display`).
        target: String,
        /// The operating system's reason.
        source: io::Error,
    },
    /// MPD rejected the password given in `MPD_HOST=password@host`.
    #[error("MPD at {target} rejected the password (MPD_HOST=password@host)")]
    WrongPassword {
        /// Where.
        target: String,
    },
    /// MPD refused a command for lack of permission (usually: a password is needed).
    #[error(
        "MPD at {target} refused `{command}`: {message} (does it need a password? MPD_HOST=password@host)"
    )]
    PermissionDenied {
        /// Where.
        target: String,
        /// The command MPD refused.
        command: String,
        /// MPD's message.
        message: String,
    },
    /// MPD does not know a song URI (not in its database, or not a file).
    #[error(
        "MPD does not know the song {uri:?} ({message}): is it under MPD's music_directory, and is MPD's database up to date?"
    )]
    UnknownUri {
        /// The URI, relative to MPD's music directory.
        uri: String,
        /// MPD's message.
        message: String,
    },
    /// A URI that cannot be sent to MPD at all (empty, or with a line break).
    #[error("cannot send the song URI {uri:?} to MPD: {reason}")]
    InvalidUri {
        /// The URI.
        uri: String,
        /// Why.
        reason: &'static str,
    },
    /// MPD refused a command.
    #[error("MPD refused `{command}`: {message}")]
    Command {
        /// The command.
        command: String,
        /// MPD's error code (`ACK [code@index]`).
        code: u64,
        /// MPD's message.
        message: String,
    },
    /// The connection closed (MPD stopped or restarted, or dropped this client).
    #[error("the connection to MPD at {target} closed")]
    ConnectionClosed {
        /// Where.
        target: String,
    },
    /// Reading from or writing to the connection failed.
    #[error("the connection to MPD at {target} failed: {source}")]
    Io {
        /// Where.
        target: String,
        /// The operating system's reason.
        source: io::Error,
    },
    /// MPD did not answer in time.
    #[error("MPD at {target} did not answer `{operation}` within {} s", timeout.as_secs_f32())]
    Timeout {
        /// Where.
        target: String,
        /// What was waited for (`connect`, or a command).
        operation: String,
        /// How long.
        timeout: Duration,
    },
    /// MPD's answer was not what the protocol promises (or the peer is not MPD).
    #[error("unexpected answer from MPD at {target} to `{operation}`: {detail}")]
    Protocol {
        /// Where.
        target: String,
        /// What was asked.
        operation: String,
        /// What was wrong.
        detail: String,
    },
}

/// `Endpoint` is where an MPD listens: a TCP host and port, a Unix socket, or an abstract socket.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Endpoint {
    /// A host name or IP address, and a port.
    Tcp {
        /// Host name or address (IPv6 without brackets).
        host: String,
        /// TCP port.
        port: u16,
    },
    /// A Unix socket path (`MPD_HOST=/run/mpd/socket`).
    Unix(PathBuf),
    /// A Linux abstract socket, named without the leading `@` (`MPD_HOST=@mpd` is `"mpd"`).
    Abstract(String),
}

/// `MpdTarget` is where MPD is and the password to send, read as MPD's clients read them.
///
/// Its `Display` names the endpoint (`localhost:6600`, `/run/mpd/socket`, `@mpd`) and never the
/// password; so does its `Debug`.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct MpdTarget {
    endpoint: Endpoint,
    password: Option<String>,
}

impl MpdTarget {
    /// A TCP target without password.
    pub fn tcp(host: impl Into<String>, port: u16) -> Self {
        Self {
            endpoint: Endpoint::Tcp {
                host: host.into(),
                port,
            },
            password: None,
        }
    }

    /// A Unix socket target without password.
    pub fn unix(path: impl Into<PathBuf>) -> Self {
        Self {
            endpoint: Endpoint::Unix(path.into()),
            password: None,
        }
    }

    /// A Linux abstract socket target without password (`name` without the leading `@`).
    pub fn abstract_socket(name: impl Into<String>) -> Self {
        Self {
            endpoint: Endpoint::Abstract(name.into()),
            password: None,
        }
    }

    /// The same target with a password.
    #[must_use]
    pub fn with_password(mut self, password: impl Into<String>) -> Self {
        self.password = Some(password.into());
        self
    }

    /// Where MPD listens.
    pub fn endpoint(&self) -> &Endpoint {
        &self.endpoint
    }

    /// The password sent after connecting, if any.
    pub fn password(&self) -> Option<&str> {
        self.password.as_deref()
    }

    /// Resolves the target from the command's flags, then `MPD_HOST` / `MPD_PORT`, then
    /// `localhost:6600`; see [`MpdTarget::resolve_from`] for the rules.
    pub fn resolve(host: Option<&str>, port: Option<u16>) -> Self {
        let env_host = std::env::var("MPD_HOST").ok();
        let env_port = std::env::var("MPD_PORT").ok();
        Self::resolve_from(host, port, env_host.as_deref(), env_port.as_deref())
    }

    /// Resolves the target from flags and given environment values, as libmpdclient does.
    ///
    /// - The host is `host`, else `env_host` (`MPD_HOST`), else `localhost`; an empty string
    ///   counts as absent. The flag replaces the variable as a whole (password included).
    /// - Unless it starts with `@`, the host may carry a password before its first `@`:
    ///   `secret@music.lan`, `secret@/run/mpd/socket`, `secret@@mpd`.
    /// - A host starting with `/` is a Unix socket path; one starting with `@` is a Linux
    ///   abstract socket (`@mpd`); anything else is a TCP host name or address.
    /// - The port is `port`, else `env_port` (`MPD_PORT`, read like C's `strtoul`: leading
    ///   digits, so `"6601"` and `" 6601x"` give 6601), else 6600. A port of 0, or a variable with
    ///   no digits or out of range, counts as absent. Sockets ignore the port.
    pub fn resolve_from(
        host: Option<&str>,
        port: Option<u16>,
        env_host: Option<&str>,
        env_port: Option<&str>,
    ) -> Self {
        let port = port
            .filter(|&p| p != 0)
            .or_else(|| env_port.and_then(parse_port))
            .unwrap_or(DEFAULT_PORT);
        let spec = host
            .filter(|h| !h.is_empty())
            .or(env_host.filter(|h| !h.is_empty()));
        let (password, host) = match spec {
            None => (None, DEFAULT_HOST),
            Some(spec) => split_password(spec),
        };
        let endpoint = if let Some(name) = host.strip_prefix('@') {
            Endpoint::Abstract(name.to_owned())
        } else if host.starts_with('/') {
            Endpoint::Unix(PathBuf::from(host))
        } else if host.is_empty() {
            Endpoint::Tcp {
                host: DEFAULT_HOST.to_owned(),
                port,
            }
        } else {
            Endpoint::Tcp {
                host: host.to_owned(),
                port,
            }
        };
        Self {
            endpoint,
            password: password.map(str::to_owned),
        }
    }
}

/// Splits `password@host` at the first `@`, unless the spec starts with `@` (an abstract socket).
fn split_password(spec: &str) -> (Option<&str>, &str) {
    if spec.starts_with('@') {
        return (None, spec);
    }
    match spec.split_once('@') {
        Some((password, host)) => (Some(password), host),
        None => (None, spec),
    }
}

/// Reads a port as libmpdclient does with `strtoul`: optional blanks and `+`, then digits.
fn parse_port(s: &str) -> Option<u16> {
    let s = s.trim_start();
    let s = s.strip_prefix('+').unwrap_or(s);
    let digits = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    s[..digits].parse::<u16>().ok().filter(|&p| p != 0)
}

impl fmt::Display for MpdTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.endpoint {
            Endpoint::Tcp { host, port } if host.contains(':') => write!(f, "[{host}]:{port}"),
            Endpoint::Tcp { host, port } => write!(f, "{host}:{port}"),
            Endpoint::Unix(path) => write!(f, "{}", path.display()),
            Endpoint::Abstract(name) => write!(f, "@{name}"),
        }
    }
}

impl fmt::Debug for MpdTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MpdTarget")
            .field("endpoint", &self.endpoint)
            .field("password", &self.password.as_ref().map(|_| "<hidden>"))
            .finish()
    }
}

/// `Subsystem` is a part of MPD whose changes [`Mpd::next_event`] reports (MPD's `idle` names).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Subsystem {
    /// `player`: play, pause, stop, seek, or a new current song.
    Player,
    /// `playlist`: the queue changed.
    Queue,
    /// `database`: the song database changed (after an update that found changes).
    Database,
    /// `update`: a database update started or finished.
    Update,
    /// `options`: repeat, random, single, consume, crossfade.
    Options,
    /// `mixer`: the volume.
    Mixer,
    /// `output`: an audio output was enabled or disabled.
    Output,
    /// `stored_playlist`: a stored playlist changed.
    StoredPlaylist,
    /// Any other subsystem.
    Other,
}

impl Subsystem {
    /// The subsystem of an `idle` answer's `changed:` value.
    fn from_name(name: &str) -> Self {
        match name {
            "player" => Self::Player,
            "playlist" => Self::Queue,
            "database" => Self::Database,
            "update" => Self::Update,
            "options" => Self::Options,
            "mixer" => Self::Mixer,
            "output" => Self::Output,
            "stored_playlist" => Self::StoredPlaylist,
            _ => Self::Other,
        }
    }
}

/// `PlayState` is whether MPD plays, is paused or is stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PlayState {
    /// Stopped (a current song may still be set).
    Stopped,
    /// Playing.
    Playing,
    /// Paused.
    Paused,
}

/// `QueueSlot` is a song's place in the queue: its position (changes as the queue changes) and
/// its id (stable while the song stays in the queue).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct QueueSlot {
    /// Position in the queue, from 0.
    pub position: usize,
    /// MPD's id for this queue entry.
    pub id: u64,
}

/// `QueueEntry` is a song in the queue: its position, id and URI.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct QueueEntry {
    /// Position in the queue, from 0.
    pub position: usize,
    /// MPD's id for this queue entry.
    pub id: u64,
    /// The song's URI (relative to MPD's music directory for database songs).
    pub uri: String,
}

impl From<SongInQueue> for QueueEntry {
    fn from(s: SongInQueue) -> Self {
        Self {
            position: s.position.0,
            id: s.id.0,
            uri: s.song.url,
        }
    }
}

/// `MpdStatus` is what MPD's `status` says about playback, the queue and database updates.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct MpdStatus {
    /// Playing, paused or stopped.
    pub state: PlayState,
    /// The current song's slot (also set while stopped, where MPD would start playing).
    pub current: Option<QueueSlot>,
    /// Number of songs in the queue.
    pub queue_len: usize,
    /// Time into the current song.
    pub elapsed: Option<Duration>,
    /// Length of the current song.
    pub duration: Option<Duration>,
    /// The id of the database update job running, if any.
    pub updating_db: Option<u64>,
    /// MPD's last player error (a song it could not decode, an output that failed).
    pub error: Option<String>,
}

/// `Mpd` is a connection to MPD: a client for commands and the stream of MPD's change events.
///
/// It holds two connections: one for commands and one that waits in MPD's `idle` for changes.
/// (`mpd_client`'s own event stream reports only the first subsystem of each `idle` answer, so
/// `player` is lost when it changes together with `playlist`; the second connection reads them
/// all.) Dropping it closes the command connection at once and the idle one at MPD's next change
/// (or when the tokio runtime ends). Commands time out after [`COMMAND_TIMEOUT`].
#[derive(Debug)]
pub struct Mpd {
    client: Client,
    /// Changes read by the idle connection's task, then its end.
    events: mpsc::UnboundedReceiver<Result<Subsystem>>,
    /// Events read while waiting for something else, for [`Mpd::next_event`].
    pending: VecDeque<Subsystem>,
    target: MpdTarget,
    name: String,
}

impl Mpd {
    /// Connects to MPD (two connections, see [`Mpd`]), sends the target's password if any,
    /// checks the connection with a `ping`, and waits at most [`CONNECT_TIMEOUT`] for all of it.
    ///
    /// # Errors
    ///
    /// [`MpdError::Connect`] when nothing listens there, [`MpdError::WrongPassword`],
    /// [`MpdError::PermissionDenied`] when MPD wants a password and none was given,
    /// [`MpdError::Timeout`], [`MpdError::Protocol`] when the peer does not greet as MPD.
    pub async fn connect(target: &MpdTarget) -> Result<Self> {
        Self::connect_timeout(target, CONNECT_TIMEOUT).await
    }

    /// [`Mpd::connect`] with another time limit.
    ///
    /// # Errors
    ///
    /// As [`Mpd::connect`].
    pub async fn connect_timeout(target: &MpdTarget, limit: Duration) -> Result<Self> {
        let name = target.to_string();
        let (client, events) = match timeout(limit, open_both(target, &name)).await {
            Ok(connection) => connection?,
            Err(_) => {
                return Err(MpdError::Timeout {
                    target: name,
                    operation: "connect".to_owned(),
                    timeout: limit,
                });
            }
        };
        Ok(Self {
            client,
            events,
            pending: VecDeque::new(),
            target: target.clone(),
            name,
        })
    }

    /// Where this connection goes.
    pub fn target(&self) -> &MpdTarget {
        &self.target
    }

    /// The `mpd_client` client of the command connection, for commands this module does not
    /// wrap (the changes they cause arrive through [`Mpd::next_event`]).
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// Whether the command connection has closed (MPD went away); commands then fail.
    pub fn is_closed(&self) -> bool {
        self.client.is_connection_closed()
    }

    /// MPD's music directory, from its `config` command.
    ///
    /// `Ok(None)` when MPD will not tell: it answers `config` only to clients on a local (Unix
    /// or abstract) socket and with the `admin` permission, and has no local directory when its
    /// music comes from a remote storage.
    ///
    /// # Errors
    ///
    /// Connection errors and timeouts; other refusals as [`MpdError::Command`].
    pub async fn music_directory(&self) -> Result<Option<PathBuf>> {
        let frame = self.raw(RawCommand::new("config"), "config").await;
        match frame {
            Ok(mut frame) => Ok(frame.get("music_directory").map(PathBuf::from)),
            Err(MpdError::PermissionDenied { .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Playback state, current song, queue length and update job.
    ///
    /// # Errors
    ///
    /// Connection errors, timeouts, and [`MpdError::PermissionDenied`] without the password.
    pub async fn status(&self) -> Result<MpdStatus> {
        let frame = self.raw(commands::Status.command(), "status").await?;
        // mpd_client 1.4.1's `Status::update_job` reads a key MPD never sends (`update_job`);
        // MPD's is `updating_db`.
        let updating_db = frame.find("updating_db").and_then(|v| v.parse().ok());
        let s = commands::Status
            .response(frame)
            .map_err(|e| self.protocol("status", e.to_string()))?;
        Ok(MpdStatus {
            state: match s.state {
                RawPlayState::Playing => PlayState::Playing,
                RawPlayState::Paused => PlayState::Paused,
                RawPlayState::Stopped => PlayState::Stopped,
            },
            current: s.current_song.map(|(pos, id)| QueueSlot {
                position: pos.0,
                id: id.0,
            }),
            queue_len: s.playlist_length,
            elapsed: s.elapsed,
            duration: s.duration,
            updating_db,
            error: s.error,
        })
    }

    /// The whole queue, in order.
    ///
    /// # Errors
    ///
    /// Connection errors and timeouts.
    pub async fn queue(&self) -> Result<Vec<QueueEntry>> {
        let songs = self.typed(Queue::all(), "playlistinfo").await?;
        Ok(songs.into_iter().map(QueueEntry::from).collect())
    }

    /// The current song: the one playing or paused, or, while stopped, the one MPD would play.
    ///
    /// # Errors
    ///
    /// Connection errors and timeouts.
    pub async fn current(&self) -> Result<Option<QueueEntry>> {
        let song = self.typed(CurrentSong, "currentsong").await?;
        Ok(song.map(QueueEntry::from))
    }

    /// Keeps the song that is playing or paused, removes every other song from the queue, and
    /// appends `uris` after it, in order. With nothing playing or paused (stopped), the queue is
    /// emptied and filled with `uris`. Playback is not interrupted.
    ///
    /// The songs are added, then the old ones deleted, in one command list. If MPD refuses a
    /// URI, the songs added before it are removed again and the queue is as it was.
    /// Returns the queue ids of the added songs.
    ///
    /// # Errors
    ///
    /// [`MpdError::UnknownUri`] naming the first URI MPD does not know, [`MpdError::InvalidUri`],
    /// connection errors, timeouts and other refusals.
    pub async fn replace_after_current<S: AsRef<str>>(&mut self, uris: &[S]) -> Result<Vec<u64>> {
        check_uris(uris)?;
        let status = self.status().await?;
        let keep = match status.state {
            PlayState::Playing | PlayState::Paused => status.current,
            PlayState::Stopped => None,
        };
        let n = status.queue_len;
        // Highest range first, so the lower one keeps its positions.
        let deletes: Vec<Range<usize>> = match keep {
            Some(slot) => [slot.position + 1..n, 0..slot.position.min(n)]
                .into_iter()
                .filter(|r| !r.is_empty())
                .collect(),
            None => std::iter::once(0..n).filter(|r| !r.is_empty()).collect(),
        };
        self.add_then_delete(uris, &deletes).await
    }

    /// Appends `uris` to the end of the queue, in order; all or nothing, as
    /// [`Mpd::replace_after_current`]. Returns the queue ids of the added songs.
    ///
    /// # Errors
    ///
    /// As [`Mpd::replace_after_current`].
    pub async fn append<S: AsRef<str>>(&mut self, uris: &[S]) -> Result<Vec<u64>> {
        check_uris(uris)?;
        self.add_then_delete(uris, &[]).await
    }

    /// Starts an update of MPD's whole database (new, changed and removed files) and returns
    /// the job id. MPD queues it when one runs already.
    ///
    /// # Errors
    ///
    /// Connection errors, timeouts and refusals (no `admin` permission).
    pub async fn update(&self) -> Result<u64> {
        self.typed(Update::new(), "update").await
    }

    /// Waits until no database update runs or is queued (returns at once when none does).
    ///
    /// It wakes on MPD's `update` events and checks `status` at least every second; events of
    /// other subsystems seen meanwhile are kept for [`Mpd::next_event`]. It has no time limit of
    /// its own (a big library takes minutes): wrap it in `tokio::time::timeout`.
    ///
    /// # Errors
    ///
    /// Connection errors and command timeouts.
    pub async fn wait_update_done(&mut self) -> Result<()> {
        loop {
            if self.status().await?.updating_db.is_none() {
                return Ok(());
            }
            let deadline = tokio::time::Instant::now() + Duration::from_secs(1);
            while let Ok(event) = tokio::time::timeout_at(deadline, self.events.recv()).await {
                let subsystem = self.event_to_result(event)?;
                self.pending.push_back(subsystem);
                if subsystem == Subsystem::Update {
                    break;
                }
            }
        }
    }

    /// Waits for MPD's next change in one of `filter`'s subsystems (any subsystem when `filter`
    /// is empty) and returns it; changes of other subsystems are dropped.
    ///
    /// Changes are those MPD reports to `idle`: several changes of one subsystem between two
    /// reports may come as one, and changes this client makes (such as
    /// [`Mpd::replace_after_current`]'s queue edit) are reported too. Changes are buffered from
    /// the moment of connecting, so old ones may come first.
    ///
    /// # Errors
    ///
    /// [`MpdError::ConnectionClosed`] (or [`MpdError::Io`]) once MPD closes the connection,
    /// for example when it stops or restarts; reconnect with [`Mpd::connect`].
    pub async fn next_event(&mut self, filter: &[Subsystem]) -> Result<Subsystem> {
        let wanted = |s: &Subsystem| filter.is_empty() || filter.contains(s);
        while let Some(s) = self.pending.pop_front() {
            if wanted(&s) {
                return Ok(s);
            }
        }
        loop {
            let event = self.events.recv().await;
            let s = self.event_to_result(event)?;
            if wanted(&s) {
                return Ok(s);
            }
        }
    }

    /// Every song URI in MPD's database, in MPD's order (relative to its music directory).
    ///
    /// It pages through `find "(file != '')" window A:B` (1000 songs a time), so a large
    /// library does not exceed MPD's output buffer; a database update meanwhile may shift pages.
    ///
    /// # Errors
    ///
    /// Connection errors, timeouts and refusals (no `read` permission).
    pub async fn db_files(&self) -> Result<Vec<String>> {
        let every_song = Filter::new(Tag::Other("file".into()), Operator::NotEqual, "");
        let mut out = Vec::new();
        loop {
            let start = out.len();
            let page = self
                .typed(
                    Find::new(every_song.clone()).window(start..start + DB_PAGE),
                    "find",
                )
                .await?;
            let full = page.len() == DB_PAGE;
            out.extend(page.into_iter().map(|song| song.url));
            if !full {
                return Ok(out);
            }
        }
    }

    // ---- internals ----

    async fn add_then_delete<S: AsRef<str>>(
        &mut self,
        uris: &[S],
        deletes: &[Range<usize>],
    ) -> Result<Vec<u64>> {
        let commands = uris.iter().map(|u| Add::uri(u.as_ref()).command()).chain(
            deletes
                .iter()
                .map(|r| Delete::range(SongPosition(r.start)..SongPosition(r.end)).command()),
        );
        let Some(list) = command_list(commands) else {
            return Ok(Vec::new());
        };
        let result = timeout(COMMAND_TIMEOUT, self.client.raw_command_list(list)).await;
        match result {
            Err(_) => Err(self.timed_out("addid")),
            Ok(Ok(frames)) => uris
                .iter()
                .zip(frames)
                .map(|(uri, frame)| self.added_id(uri.as_ref(), frame))
                .collect(),
            Ok(Err(CommandError::ErrorResponse {
                error,
                succesful_frames,
            })) => {
                let added: Vec<SongId> = uris
                    .iter()
                    .zip(succesful_frames)
                    .filter_map(|(uri, frame)| Add::uri(uri.as_ref()).response(frame).ok())
                    .collect();
                if !added.is_empty() {
                    // Best effort: the refusal is the error to report.
                    let undo: Vec<Delete> = added.into_iter().map(Delete::id).collect();
                    let _ = timeout(COMMAND_TIMEOUT, self.client.command_list(undo)).await;
                }
                let failed = usize::try_from(error.command_index)
                    .ok()
                    .and_then(|i| uris.get(i));
                match failed {
                    Some(uri) if error.code == ACK_ERROR_NO_EXIST => Err(MpdError::UnknownUri {
                        uri: uri.as_ref().to_owned(),
                        message: error.message.into(),
                    }),
                    Some(_) => Err(self.ack_error("addid", error)),
                    None => Err(self.ack_error("delete", error)),
                }
            }
            Ok(Err(e)) => Err(self.command_error("addid", e)),
        }
    }

    fn added_id(&self, uri: &str, frame: Frame) -> Result<u64> {
        Add::uri(uri)
            .response(frame)
            .map(|id| id.0)
            .map_err(|e| self.protocol("addid", e.to_string()))
    }

    async fn typed<C: Command>(&self, command: C, operation: &str) -> Result<C::Response> {
        match timeout(COMMAND_TIMEOUT, self.client.command(command)).await {
            Ok(Ok(response)) => Ok(response),
            Ok(Err(e)) => Err(self.command_error(operation, e)),
            Err(_) => Err(self.timed_out(operation)),
        }
    }

    async fn raw(&self, command: RawCommand, operation: &str) -> Result<Frame> {
        match timeout(COMMAND_TIMEOUT, self.client.raw_command(command)).await {
            Ok(Ok(frame)) => Ok(frame),
            Ok(Err(e)) => Err(self.command_error(operation, e)),
            Err(_) => Err(self.timed_out(operation)),
        }
    }

    fn event_to_result(&self, event: Option<Result<Subsystem>>) -> Result<Subsystem> {
        event.unwrap_or_else(|| {
            Err(MpdError::ConnectionClosed {
                target: self.name.clone(),
            })
        })
    }

    fn command_error(&self, operation: &str, e: CommandError) -> MpdError {
        command_error(&self.name, operation, e)
    }

    fn ack_error(&self, operation: &str, error: AckError) -> MpdError {
        ack_error(&self.name, operation, error)
    }

    fn protocol(&self, operation: &str, detail: String) -> MpdError {
        protocol_error(&self.name, operation, detail)
    }

    fn timed_out(&self, operation: &str) -> MpdError {
        MpdError::Timeout {
            target: self.name.clone(),
            operation: operation.to_owned(),
            timeout: COMMAND_TIMEOUT,
        }
    }
}

fn command_error(target: &str, operation: &str, e: CommandError) -> MpdError {
    match e {
        CommandError::ConnectionClosed => MpdError::ConnectionClosed {
            target: target.to_owned(),
        },
        CommandError::Protocol(MpdProtocolError::Io(source)) => MpdError::Io {
            target: target.to_owned(),
            source,
        },
        CommandError::Protocol(e) => protocol_error(target, operation, e.to_string()),
        CommandError::ErrorResponse { error, .. } => ack_error(target, operation, error),
        CommandError::InvalidTypedResponse(e) => protocol_error(target, operation, e.to_string()),
    }
}

fn ack_error(target: &str, operation: &str, error: AckError) -> MpdError {
    let command = error
        .current_command
        .map_or_else(|| operation.to_owned(), String::from);
    let message = String::from(error.message);
    match error.code {
        ACK_ERROR_PERMISSION => MpdError::PermissionDenied {
            target: target.to_owned(),
            command,
            message,
        },
        ACK_ERROR_PASSWORD => MpdError::WrongPassword {
            target: target.to_owned(),
        },
        code => MpdError::Command {
            command,
            code,
            message,
        },
    }
}

fn protocol_error(target: &str, operation: &str, detail: String) -> MpdError {
    MpdError::Protocol {
        target: target.to_owned(),
        operation: operation.to_owned(),
        detail,
    }
}

/// Opens the command connection (checked with a `ping`) and the idle connection, and starts
/// the task that reads the idle connection's changes.
async fn open_both(
    target: &MpdTarget,
    name: &str,
) -> Result<(Client, mpsc::UnboundedReceiver<Result<Subsystem>>)> {
    let (client, mut client_events) = open(target, name).await?;
    // mpd_client sends `idle` right after connecting; an MPD that grants this client nothing
    // (a password is needed) refuses it, and mpd_client closes the connection.
    if let Err(e) = client.command(Ping).await {
        let refused = timeout(Duration::from_secs(1), client_events.next()).await;
        return Err(match (e, refused) {
            (
                CommandError::ConnectionClosed,
                Ok(Some(ConnectionEvent::ConnectionClosed(ConnectionError::InvalidResponse))),
            ) => MpdError::PermissionDenied {
                target: name.to_owned(),
                command: "idle".to_owned(),
                message: "this client may not even read".to_owned(),
            },
            (e, _) => command_error(name, "ping", e),
        });
    }
    let (idle_client, _lossy_events) = open(target, name).await?;
    let (tx, rx) = mpsc::unbounded_channel();
    tokio::spawn(watch(idle_client, tx, name.to_owned()));
    Ok((client, rx))
}

/// Sends `idle` again and again on its own connection and forwards every `changed:` subsystem,
/// then the error that ends the connection. Ends when the receiver is dropped.
async fn watch(client: Client, tx: mpsc::UnboundedSender<Result<Subsystem>>, name: String) {
    loop {
        let answer = tokio::select! {
            answer = client.raw_command(RawCommand::new("idle")) => answer,
            () = tx.closed() => return,
        };
        match answer {
            Ok(frame) => {
                for (key, value) in frame.fields() {
                    if key == "changed" && tx.send(Ok(Subsystem::from_name(value))).is_err() {
                        return;
                    }
                }
            }
            Err(e) => {
                let _ = tx.send(Err(command_error(&name, "idle", e)));
                return;
            }
        }
    }
}

/// Builds a command list, or `None` when there is no command.
fn command_list(mut commands: impl Iterator<Item = RawCommand>) -> Option<RawCommandList> {
    let mut list = RawCommandList::new(commands.next()?);
    list.extend(commands);
    Some(list)
}

/// Rejects URIs `mpd_client` cannot send (it would panic on a line break).
fn check_uris<S: AsRef<str>>(uris: &[S]) -> Result<()> {
    for uri in uris.iter().map(AsRef::as_ref) {
        let reason = if uri.is_empty() {
            "it is empty"
        } else if uri.contains('\n') {
            "it contains a line break"
        } else {
            continue;
        };
        return Err(MpdError::InvalidUri {
            uri: uri.to_owned(),
            reason,
        });
    }
    Ok(())
}

/// Opens the connection and does MPD's greeting and password.
async fn open(target: &MpdTarget, name: &str) -> Result<(Client, ConnectionEvents)> {
    let connect_error = |source| MpdError::Connect {
        target: name.to_owned(),
        source,
    };
    let password = target.password();
    match &target.endpoint {
        Endpoint::Tcp { host, port } => {
            let stream = tokio::net::TcpStream::connect((host.as_str(), *port))
                .await
                .map_err(connect_error)?;
            handshake(stream, password, name).await
        }
        Endpoint::Unix(path) => {
            let stream = connect_unix(path).await.map_err(connect_error)?;
            handshake(stream, password, name).await
        }
        Endpoint::Abstract(abstract_name) => {
            let stream = connect_abstract(abstract_name)
                .await
                .map_err(connect_error)?;
            handshake(stream, password, name).await
        }
    }
}

async fn handshake<S>(
    stream: S,
    password: Option<&str>,
    name: &str,
) -> Result<(Client, ConnectionEvents)>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    Client::connect_with_password_opt(stream, password)
        .await
        .map_err(|e| match e {
            ConnectWithPasswordError::IncorrectPassword => MpdError::WrongPassword {
                target: name.to_owned(),
            },
            ConnectWithPasswordError::ProtocolError(MpdProtocolError::Io(source)) => {
                MpdError::Connect {
                    target: name.to_owned(),
                    source,
                }
            }
            ConnectWithPasswordError::ProtocolError(e) => MpdError::Protocol {
                target: name.to_owned(),
                operation: "connect".to_owned(),
                detail: format!("{e}: no MPD greeting (is it MPD that listens there?)"),
            },
        })
}

#[cfg(unix)]
async fn connect_unix(path: &Path) -> io::Result<tokio::net::UnixStream> {
    tokio::net::UnixStream::connect(path).await
}

#[cfg(not(unix))]
async fn connect_unix(_path: &Path) -> io::Result<tokio::net::TcpStream> {
    Err(io::Error::new(
        io::ErrorKind::Unsupported,
        "Unix sockets are not supported on this system",
    ))
}

#[cfg(target_os = "linux")]
async fn connect_abstract(name: &str) -> io::Result<tokio::net::UnixStream> {
    use std::os::{linux::net::SocketAddrExt, unix::net};

    let name = name.to_owned();
    // `connect_addr` blocks (briefly, on a local socket); keep it off the async workers.
    let stream = tokio::task::spawn_blocking(move || {
        let addr = net::SocketAddr::from_abstract_name(name.as_bytes())?;
        net::UnixStream::connect_addr(&addr)
    })
    .await
    .map_err(io::Error::other)??;
    stream.set_nonblocking(true)?;
    tokio::net::UnixStream::from_std(stream)
}

#[cfg(not(target_os = "linux"))]
async fn connect_abstract(_name: &str) -> io::Result<tokio::net::TcpStream> {
    Err(io::Error::new(
        io::ErrorKind::Unsupported,
        "abstract sockets (@name) exist only on Linux",
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resolve(
        host: Option<&str>,
        port: Option<u16>,
        env_host: Option<&str>,
        env_port: Option<&str>,
    ) -> MpdTarget {
        MpdTarget::resolve_from(host, port, env_host, env_port)
    }

    fn tcp(host: &str, port: u16) -> Endpoint {
        Endpoint::Tcp {
            host: host.to_owned(),
            port,
        }
    }

    #[test]
    fn defaults_to_localhost_6600() {
        let t = resolve(None, None, None, None);
        assert_eq!(t.endpoint(), &tcp("localhost", 6600));
        assert_eq!(t.password(), None);
        assert_eq!(t.to_string(), "localhost:6600");
    }

    #[test]
    fn host_and_port_from_environment() {
        let t = resolve(None, None, Some("music.lan"), Some("6601"));
        assert_eq!(t.endpoint(), &tcp("music.lan", 6601));
        assert_eq!(t.password(), None);
        assert_eq!(t.to_string(), "music.lan:6601");
    }

    #[test]
    fn password_at_host() {
        let t = resolve(None, None, Some("secret@music.lan"), None);
        assert_eq!(t.endpoint(), &tcp("music.lan", 6600));
        assert_eq!(t.password(), Some("secret"));
        assert_eq!(t.to_string(), "music.lan:6600");
    }

    #[test]
    fn password_splits_at_first_at_sign() {
        let t = resolve(None, None, Some("pw@host@x"), None);
        assert_eq!(t.password(), Some("pw"));
        assert_eq!(t.endpoint(), &tcp("host@x", 6600));
    }

    #[test]
    fn empty_password_before_host_is_not_a_password() {
        // "@name" is an abstract socket, never an empty password (as libmpdclient).
        let t = resolve(None, None, Some("@mpd"), None);
        assert_eq!(t.endpoint(), &Endpoint::Abstract("mpd".to_owned()));
        assert_eq!(t.password(), None);
        assert_eq!(t.to_string(), "@mpd");
    }

    #[test]
    fn password_and_abstract_socket() {
        let t = resolve(None, None, Some("secret@@mpd"), None);
        assert_eq!(t.endpoint(), &Endpoint::Abstract("mpd".to_owned()));
        assert_eq!(t.password(), Some("secret"));
    }

    #[test]
    fn unix_socket_path() {
        let t = resolve(None, None, Some("/run/mpd/socket"), Some("6601"));
        assert_eq!(t.endpoint(), &Endpoint::Unix("/run/mpd/socket".into()));
        assert_eq!(t.password(), None);
        assert_eq!(t.to_string(), "/run/mpd/socket");
    }

    #[test]
    fn password_and_unix_socket_path() {
        let t = resolve(None, None, Some("secret@/run/mpd/socket"), None);
        assert_eq!(t.endpoint(), &Endpoint::Unix("/run/mpd/socket".into()));
        assert_eq!(t.password(), Some("secret"));
        assert_eq!(t.to_string(), "/run/mpd/socket");
    }

    #[test]
    fn password_with_empty_host_is_localhost() {
        let t = resolve(None, None, Some("secret@"), None);
        assert_eq!(t.endpoint(), &tcp("localhost", 6600));
        assert_eq!(t.password(), Some("secret"));
    }

    #[test]
    fn flags_win_over_environment() {
        let t = resolve(
            Some("flag.lan"),
            Some(7000),
            Some("secret@env.lan"),
            Some("6601"),
        );
        assert_eq!(t.endpoint(), &tcp("flag.lan", 7000));
        // The host flag replaces MPD_HOST as a whole, password included.
        assert_eq!(t.password(), None);
    }

    #[test]
    fn host_flag_may_carry_a_password() {
        let t = resolve(Some("pw@flag.lan"), None, Some("env.lan"), None);
        assert_eq!(t.endpoint(), &tcp("flag.lan", 6600));
        assert_eq!(t.password(), Some("pw"));
    }

    #[test]
    fn flags_and_environment_mix() {
        // Port flag with MPD_HOST; host flag with MPD_PORT.
        let t = resolve(None, Some(7000), Some("env.lan"), Some("6601"));
        assert_eq!(t.endpoint(), &tcp("env.lan", 7000));
        let t = resolve(Some("flag.lan"), None, Some("env.lan"), Some("6601"));
        assert_eq!(t.endpoint(), &tcp("flag.lan", 6601));
    }

    #[test]
    fn empty_values_count_as_absent() {
        let t = resolve(Some(""), Some(0), Some("env.lan"), Some(""));
        assert_eq!(t.endpoint(), &tcp("env.lan", 6600));
        let t = resolve(None, None, Some(""), None);
        assert_eq!(t.endpoint(), &tcp("localhost", 6600));
    }

    #[test]
    fn port_reads_like_strtoul() {
        assert_eq!(parse_port("6601"), Some(6601));
        assert_eq!(parse_port(" +6601x"), Some(6601));
        assert_eq!(parse_port("abc"), None);
        assert_eq!(parse_port("0"), None);
        assert_eq!(parse_port("70000"), None);
        assert_eq!(parse_port("-1"), None);
        let t = resolve(None, None, None, Some("junk"));
        assert_eq!(t.endpoint(), &tcp("localhost", 6600));
    }

    #[test]
    fn ipv6_host_is_bracketed_in_display() {
        let t = resolve(None, None, Some("::1"), None);
        assert_eq!(t.endpoint(), &tcp("::1", 6600));
        assert_eq!(t.to_string(), "[::1]:6600");
    }

    #[test]
    fn password_is_never_printed() {
        for spec in [
            "hunter2@music.lan",
            "hunter2@/run/mpd/socket",
            "hunter2@@mpd",
        ] {
            let t = resolve(None, None, Some(spec), None);
            assert!(!t.to_string().contains("hunter2"), "{t}");
            assert!(!format!("{t:?}").contains("hunter2"), "{t:?}");
        }
    }

    #[test]
    fn constructors() {
        let t = MpdTarget::unix("/tmp/s").with_password("pw");
        assert_eq!(t, resolve(None, None, Some("pw@/tmp/s"), None));
        assert_eq!(
            MpdTarget::abstract_socket("mpd"),
            resolve(None, None, Some("@mpd"), None)
        );
        assert_eq!(
            MpdTarget::tcp("h", 1),
            resolve(Some("h"), Some(1), None, None)
        );
    }

    #[test]
    fn idle_names_map_to_subsystems() {
        assert_eq!(Subsystem::from_name("player"), Subsystem::Player);
        assert_eq!(Subsystem::from_name("playlist"), Subsystem::Queue);
        assert_eq!(Subsystem::from_name("database"), Subsystem::Database);
        assert_eq!(Subsystem::from_name("update"), Subsystem::Update);
        assert_eq!(Subsystem::from_name("neighbor"), Subsystem::Other);
    }

    #[test]
    fn errors_read_on_one_line() {
        let e = MpdError::Connect {
            target: "/run/mpd/socket".into(),
            source: io::Error::from(io::ErrorKind::NotFound),
        };
        assert_eq!(
            e.to_string(),
            "cannot connect to MPD at /run/mpd/socket: entity not found (is MPD running?)"
        );
        let e = MpdError::Timeout {
            target: "h:6600".into(),
            operation: "connect".into(),
            timeout: CONNECT_TIMEOUT,
        };
        assert_eq!(
            e.to_string(),
            "MPD at h:6600 did not answer `connect` within 5 s"
        );
    }

    #[test]
    fn uris_that_cannot_be_sent_are_rejected() {
        assert!(check_uris(&["a/b.flac", "c d/e.flac"]).is_ok());
        let e = check_uris(&["ok.flac", ""]).err();
        assert!(matches!(e, Some(MpdError::InvalidUri { .. })));
        let e = check_uris(&["bad\nname.flac"]).err();
        assert!(matches!(e, Some(MpdError::InvalidUri { .. })));
    }
}
