//! The facade's error: one variant per member crate, plus its own.

use std::path::PathBuf;

/// Everything the `sonority` pipeline can fail with.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Decoding or feature extraction failed.
    #[cfg(feature = "mfcc")]
    #[error(transparent)]
    Mfcc(#[from] sonority_mfcc::Error),
    /// A descriptor or the fusion failed.
    #[cfg(feature = "fusion")]
    #[error(transparent)]
    Fusion(#[from] sonority_fusion::Error),
    /// An autoencoder failed (loading, shapes, inference, training).
    #[cfg(feature = "autoencoders")]
    #[error(transparent)]
    Autoencoders(#[from] sonority_autoencoders::Error),
    /// The track database failed.
    #[cfg(feature = "store")]
    #[error(transparent)]
    Store(#[from] sonority_store::Error),
    /// Ranking failed.
    #[cfg(feature = "similarity")]
    #[error(transparent)]
    Similarity(#[from] sonority_similarity::Error),
    /// A file could not be read or written.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// A manifest row is malformed.
    #[error("{}:{line}: {reason}", path.display())]
    Manifest {
        /// The manifest.
        path: PathBuf,
        /// 1-based line number.
        line: usize,
        /// What is wrong.
        reason: String,
    },
    /// A model directory is missing a part, is not a model, or its parts disagree.
    #[error("model: {reason}")]
    Model {
        /// What is wrong.
        reason: String,
    },
    /// A model file is of a format version this build does not read: a newer sonority made it.
    #[error("{}: model format version {found} is not supported (this build reads 1..={supported}); upgrade sonority", path.display())]
    ModelVersion {
        /// The model's `model.json`.
        path: PathBuf,
        /// The version the file gives.
        found: u64,
        /// The newest version this build reads.
        supported: u32,
    },
    /// A model produced a non-finite value for a track (the track is not stored; the model is
    /// broken for this input, which a caller may report apart from unreadable audio).
    #[error("the {what} produced a non-finite value")]
    NonFinite {
        /// Which part of the model.
        what: &'static str,
    },
    /// The database holds vectors of a same-named model with other weights (or, in a database
    /// from before weights were fingerprinted, unknown weights): they are never mixed with this
    /// model's.
    #[error(
        "{}: holds vectors of model {name:?} made with other weights; re-analyse the library with this model (`--reanalyse` in the examples, `Library::open_replacing`), give the model another name, or use another database",
        db.display()
    )]
    ModelMismatch {
        /// The database.
        db: PathBuf,
        /// The model's name.
        name: String,
    },
    /// The audio holds no frames to analyse.
    #[error("no signal to analyse")]
    NoSignal,
    /// An analysis took longer than its time limit.
    #[error("{}: analysis exceeded its time limit of {limit_s} s", path.display())]
    Timeout {
        /// The file.
        path: PathBuf,
        /// The limit, in seconds.
        limit_s: f64,
    },
    /// The analysis of a file panicked (a bug, in the program or a library it uses): that file
    /// failed, the run went on.
    #[error("{}: analysis panicked: {message}", path.display())]
    Panicked {
        /// The file.
        path: PathBuf,
        /// What the panic said.
        message: String,
    },
    /// A track named in a query (a path's end, an album's track, a seed that must be in the
    /// library) is not an analysed track of the library, or not under the folders the
    /// library answers from ([`Library::with_scope`](crate::Library::with_scope)).
    #[error("{}: not an analysed track of the library{}", path.display(), if *out_of_scope { " (it is outside the folders asked about)" } else { "" })]
    UnknownTrack {
        /// The track as given.
        path: PathBuf,
        /// Whether the library holds it, but outside the folders it answers from.
        out_of_scope: bool,
    },
    /// An anchor or query could not be resolved.
    #[error("{reason}")]
    Query {
        /// What is wrong.
        reason: String,
    },
    /// Training, or fitting a fusion, was given fewer tracks than it needs: give it more.
    #[cfg(all(feature = "autoencoders", feature = "fusion"))]
    #[error("training needs at least {needed} tracks, {given} given")]
    #[non_exhaustive]
    TooFewTracks {
        /// The fewest it takes.
        needed: usize,
        /// How many it was given.
        given: usize,
    },
    /// A track's data was analysed with other settings than the model's, or than the other
    /// training tracks': extract it again with `expected`
    /// ([`ExtractOptions::settings`](crate::train::ExtractOptions::settings)).
    #[cfg(all(feature = "autoencoders", feature = "fusion"))]
    #[error(
        "a track was analysed with {found:?}, not {expected:?}: extract it again with those settings"
    )]
    #[non_exhaustive]
    SettingsMismatch {
        /// The settings of the model, or of the first training track.
        expected: Box<crate::model::AnalysisSettings>,
        /// The track's.
        found: Box<crate::model::AnalysisSettings>,
    },
    /// An `artist` block was asked for without the artist encoder to keep in the model
    /// ([`TrainOptions::with_artist`](crate::train::TrainOptions::with_artist)), or for tracks
    /// extracted without it
    /// ([`ExtractOptions::with_artist`](crate::train::ExtractOptions::with_artist)).
    #[cfg(all(feature = "autoencoders", feature = "fusion"))]
    #[error("an artist block needs the artist encoder ({}) and tracks extracted with it ({tracks_without} without)", if *encoder_given { "given" } else { "not given" })]
    #[non_exhaustive]
    ArtistBlockUnavailable {
        /// Whether the options hold the encoder.
        encoder_given: bool,
        /// Tracks without an `artist` block.
        tracks_without: usize,
    },
}

/// `Result` with the facade's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
