//! The configuration file, `$XDG_CONFIG_HOME/sonority/config.toml` (or `--config FILE`, or
//! `$SONORITY_CONFIG`): music folders, library file, model, playlist rules, MPD connection.
//!
//! Precedence, highest first: flags, environment variables, this file, built-in defaults.
//! Without any file everything works from flags.
//!
//! ```toml
//! music = ["/home/me/Music"]          # the folders `index` indexes and queries answer from
//! db = "/home/me/.local/share/sonority/library.sqlite"
//! model = "/home/me/models/mine"       # a trained model directory (default: the shipped one)
//! threads = 2
//!
//! [playlist]                           # defaults of every playlist rule (flags override)
//! max_per_artist = 3
//! max_per_album = 2
//! min_artist_gap = 4
//! not_genre = ["christmas"]
//!
//! [mpd]
//! host = "localhost"                   # or "password@host", "/run/mpd/socket", "@abstract"
//! port = 6600
//! music_directory = "/var/lib/mpd/music"
//!
//! [serve]
//! address = "127.0.0.1"                # another address needs a token
//! port = 12000
//! token = "a long random string"       # clients send `Authorization: Bearer ...`
//! ```

use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::error::{CliError, Result};

/// The configuration file's contents; every key is optional.
#[derive(Debug, Default, Clone, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Music folders.
    pub music: Vec<PathBuf>,
    /// The library file.
    pub db: Option<PathBuf>,
    /// A model directory.
    pub model: Option<PathBuf>,
    /// Indexing threads.
    pub threads: Option<usize>,
    /// Default playlist rules.
    pub playlist: PlaylistDefaults,
    /// The MPD connection.
    pub mpd: MpdConfig,
    /// `sonority serve`.
    pub serve: ServeConfig,
}

/// `sonority serve`'s settings.
#[derive(Debug, Default, Clone, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct ServeConfig {
    /// The address to listen on.
    pub address: Option<std::net::IpAddr>,
    /// The port.
    pub port: Option<u16>,
    /// The bearer token clients must send (`SONORITY_TOKEN` overrides it).
    pub token: Option<String>,
}

/// Default playlist rules (each overridden by its flag).
#[derive(Debug, Default, Clone, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct PlaylistDefaults {
    /// `--max-per-artist`.
    pub max_per_artist: Option<usize>,
    /// `--max-per-album`.
    pub max_per_album: Option<usize>,
    /// `--min-artist-gap`.
    pub min_artist_gap: Option<usize>,
    /// `--min-duration`, seconds.
    pub min_duration: Option<f64>,
    /// `--max-duration`, seconds.
    pub max_duration: Option<f64>,
    /// `--genre` (any one matches).
    pub genre: Vec<String>,
    /// `--not-genre`.
    pub not_genre: Vec<String>,
}

/// Where MPD is.
#[derive(Debug, Default, Clone, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct MpdConfig {
    /// As `MPD_HOST`: `host`, `password@host`, a socket path or `@abstract`.
    pub host: Option<String>,
    /// As `MPD_PORT`.
    pub port: Option<u16>,
    /// MPD's `music_directory` (asked from MPD over a local socket when not given).
    pub music_directory: Option<PathBuf>,
}

/// The default configuration file: `$XDG_CONFIG_HOME/sonority/config.toml`, else
/// `~/.config/sonority/config.toml`.
pub fn default_path() -> Option<PathBuf> {
    use etcetera::BaseStrategy;
    etcetera::choose_base_strategy()
        .ok()
        .map(|s| s.config_dir().join("sonority").join("config.toml"))
}

/// The default library file: `$XDG_DATA_HOME/sonority/library.sqlite`, else
/// `~/.local/share/sonority/library.sqlite`, else `./sonority-library.sqlite`.
pub fn default_db() -> PathBuf {
    use etcetera::BaseStrategy;
    etcetera::choose_base_strategy().map_or_else(
        |_| PathBuf::from("sonority-library.sqlite"),
        |s| s.data_dir().join("sonority").join("library.sqlite"),
    )
}

impl Config {
    /// Loads `explicit` (an error when missing), else the default file when it exists, else
    /// the empty configuration.
    ///
    /// # Errors
    /// [`CliError::ConfigRead`] for a file that cannot be read, [`CliError::ConfigParse`]
    /// for bad TOML or an unknown key.
    pub fn load(explicit: Option<&Path>) -> Result<Self> {
        match explicit {
            Some(p) => Self::read(p),
            None => match default_path() {
                Some(p) if p.exists() => Self::read(&p),
                _ => Ok(Self::default()),
            },
        }
    }

    fn read(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|source| CliError::ConfigRead {
            path: path.to_path_buf(),
            source,
        })?;
        Self::parse(&text).map_err(|reason| CliError::ConfigParse {
            path: path.to_path_buf(),
            reason,
        })
    }

    /// Parses a configuration; the error is one line with the line number.
    ///
    /// # Errors
    /// The reason, for bad TOML or an unknown or mistyped key.
    pub fn parse(text: &str) -> std::result::Result<Self, String> {
        toml::from_str(text).map_err(|e: toml::de::Error| {
            let line = e
                .span()
                .map(|s| text[..s.start.min(text.len())].matches('\n').count() + 1);
            let msg = crate::error::one_line(e.message());
            match line {
                Some(l) => format!("line {l}: {msg}"),
                None => msg,
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_key_parses_and_none_is_required() {
        assert_eq!(Config::parse("").ok(), Some(Config::default()));
        let c = Config::parse(
            "music = [\"/m\"]\ndb = \"/x.sqlite\"\nthreads = 3\n[playlist]\nmax_per_artist = 2\nnot_genre = [\"christmas\"]\n[mpd]\nhost = \"pw@h\"\nport = 6601\nmusic_directory = \"/var/mpd\"\n",
        )
        .unwrap_or_default();
        assert_eq!(c.music, [PathBuf::from("/m")]);
        assert_eq!(c.threads, Some(3));
        assert_eq!(c.playlist.max_per_artist, Some(2));
        assert_eq!(c.playlist.not_genre, ["christmas"]);
        assert_eq!(c.mpd.host.as_deref(), Some("pw@h"));
        assert_eq!(c.mpd.port, Some(6601));
    }

    #[test]
    fn bad_toml_and_unknown_keys_name_the_line() {
        let e = Config::parse("db = \"/x\"\nmusik = []\n")
            .err()
            .unwrap_or_default();
        assert!(e.starts_with("line 2:") && e.contains("musik"), "{e}");
        let e = Config::parse("threads = \"two\"").err().unwrap_or_default();
        assert!(e.starts_with("line 1:"), "{e}");
        let e = Config::parse("[mpd\nport = 1").err().unwrap_or_default();
        assert!(e.starts_with("line 1:") && !e.contains('\n'), "{e}");
    }
}
