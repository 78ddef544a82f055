//! `sonority`: songs that sound like this one, from the shell and from MPD.
//!
//! ```text
//! sonority index ~/Music                       # analyse the folder (incremental, all cores)
//! sonority similar ~/Music/a/01.flac           # the ten tracks most like it
//! sonority playlist seed.flac -n 30 --m3u mix.m3u8
//! sonority mpd queue -n 20                     # MPD: 20 songs like the playing one after it
//! sonority mpd radio                           # MPD: keep the queue topped up, forever
//! ```
//!
//! Every command has `--help` with examples. Settings come from flags, then environment
//! variables, then `$XDG_CONFIG_HOME/sonority/config.toml` (see [`config`]).
//!
//! Why each dependency is here: `clap` parses the arguments and writes `--help` (with the
//! environment variable each option reads); `toml` and `serde` read the configuration file and
//! `etcetera` finds it (and the library file) in the XDG base directories; `indicatif` draws the
//! indexing progress bar; `ctrlc` turns Ctrl-C and SIGTERM into a clean stop; `mpd_client` speaks
//! MPD's protocol (no protocol code is written here), on a single-threaded `tokio` runtime.

mod args;
mod commands;
mod config;
mod error;
// A few of the client's methods serve only the tests' private MPD (`tests/support`).
#[allow(dead_code)]
mod mpd;
mod mpd_cmd;
mod output;
mod pg;
mod serve;

use clap::{Parser, Subcommand};
use sonority::StopFlag;

use crate::args::{GlobalArgs, Settings};
use crate::error::Result;

/// Songs that sound like this one: index a music folder, then ask for similar songs,
/// playlists, paths between two songs and similar albums, or fill MPD's queue.
#[derive(Parser, Debug)]
#[command(
    name = "sonority",
    version,
    about,
    after_help = "Settings: flags, then environment variables (SONORITY_CONFIG, SONORITY_DB,\nSONORITY_MODEL, SONORITY_MUSIC, MPD_HOST, MPD_PORT), then the configuration file\n($XDG_CONFIG_HOME/sonority/config.toml), then the defaults.\n\nStart with:\n  sonority index ~/Music\n  sonority similar ~/Music/some/song.flac"
)]
struct Cli {
    #[command(flatten)]
    global: GlobalArgs,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Analyse music folders into the library (new and changed files only; Ctrl-C keeps what
    /// is done).
    Index(commands::IndexArgs),
    /// The tracks most like one or more anchor tracks.
    Similar(commands::SimilarArgs),
    /// A playlist from seed tracks, with caps, gaps and filters.
    Playlist(commands::PlaylistArgs),
    /// N tracks from one track to another, in even steps.
    Path(commands::PathArgs),
    /// The albums most like the album of a track.
    Albums(commands::AlbumsArgs),
    /// What the library holds: model, tracks, albums, hours, folders, failures.
    Status(commands::StatusArgs),
    /// Show or change a model directory's block weights.
    Weights(commands::WeightsArgs),
    /// Fill MPD's queue with similar songs, keep it playing, index its music.
    Mpd(mpd_cmd::MpdArgs),
    /// Answer over HTTP: a JSON API for scripts, and Bliss Mixer's for Lyrion.
    Serve(serve::ServeArgs),
}

fn main() {
    let cli = Cli::parse();
    let stop = StopFlag::new();
    let handler_stop = stop.clone();
    // Ctrl-C and SIGTERM: a clean stop (indexing keeps what it finished; MPD loops end).
    // A second signal exits at once.
    let result = ctrlc::set_handler(move || {
        if handler_stop.is_stopped() {
            std::process::exit(130);
        }
        handler_stop.stop();
    })
    .map_err(|e| error::CliError::option("signals", e.to_string()))
    .and_then(|()| run(&cli, &stop));
    if let Err(e) = result {
        eprintln!("sonority: {}", error::one_line(&e.to_string()));
        std::process::exit(e.exit_code());
    }
}

fn run(cli: &Cli, stop: &StopFlag) -> Result<()> {
    let s = Settings::resolve(&cli.global)?;
    match &cli.command {
        Command::Index(a) => commands::index(&s, a, stop),
        Command::Similar(a) => commands::similar(&s, a, stop),
        Command::Playlist(a) => commands::playlist(&s, a, stop),
        Command::Path(a) => commands::path(&s, a, stop),
        Command::Albums(a) => commands::albums(&s, a, stop),
        Command::Status(a) => commands::status(&s, a),
        Command::Weights(a) => commands::weights(&s, a),
        Command::Mpd(a) => mpd_cmd::run(&s, a, stop),
        Command::Serve(a) => serve::run(&s, a, stop),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_command_line_is_consistent() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }
}
