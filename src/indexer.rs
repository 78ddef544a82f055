//! The one indexer: jobs from a pluggable source are analysed on the worker pool
//! (`parallel::pool`, whose panic policy fails one file with
//! [`Error::Panicked`](crate::Error::Panicked)), and their
//! outcomes handed, in completion order, to a sink on the calling thread, which stores what
//! [`StoredTrack`] makes of them.
//!
//! What a sink stores is the same for the SQLite library and the PostgreSQL catalogue
//! ([`StoredTrack::new`]): the track's record (file facts, tags), its scalar analysis, the
//! model's final vector and, for a model with a learned final stage, its fused vector under the
//! store model `NAME+fused` ([`fused_name`]), from which recommendations are explained.
//!
//! [`Library::index`](crate::Library::index) feeds it the files a folder scan planned and
//! commits into SQLite in batches; the PostgreSQL worker (`distributed::run_worker`) feeds it
//! jobs claimed from the shared queue and completes each job in the catalogue.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::Duration;

use sonority_store::{
    AnalysedTrack, Analysis, ContentHash, FileFacts, ModelInfo, ModelVector, TrackRecord,
};

use crate::model::{FinalStage, Model};
use crate::parallel::{StopFlag, pool};
use crate::{Analyzer, Result, TrackAnalysis};

/// Options of indexing: [`Library::index`](crate::Library::index), and the PostgreSQL
/// worker's (`distributed::WorkerOptions::index`).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct IndexOptions {
    /// Worker threads. Default: the number of cores.
    pub threads: usize,
    /// Per-file analysis time limit. Default: 10 minutes.
    pub time_limit: Duration,
    /// Tracks committed per transaction. Default: `64`. (A PostgreSQL worker commits each job
    /// with its completion, in its own transaction.)
    pub batch: usize,
    /// Longest accepted track, in seconds. Default: 6 hours.
    pub max_duration_s: f64,
}

impl Default for IndexOptions {
    fn default() -> Self {
        Self {
            threads: std::thread::available_parallelism().map_or(2, usize::from),
            time_limit: Duration::from_secs(600),
            batch: 64,
            max_duration_s: 6.0 * 3600.0,
        }
    }
}

impl IndexOptions {
    /// Sets [`threads`](Self::threads).
    #[must_use]
    pub fn with_threads(mut self, threads: usize) -> Self {
        self.threads = threads.max(1);
        self
    }
    /// Sets [`time_limit`](Self::time_limit).
    #[must_use]
    pub fn with_time_limit(mut self, limit: Duration) -> Self {
        self.time_limit = limit;
        self
    }

    /// The analyzer every indexer uses: `model` with these options' time limit and longest
    /// accepted track.
    pub(crate) fn analyzer<'m>(&self, model: &'m Model) -> Analyzer<'m> {
        Analyzer::new(model)
            .with_time_limit(Some(self.time_limit))
            .with_decode_options(
                sonority_mfcc::DecodeOptions::default()
                    .with_max_duration_s(Some(self.max_duration_s)),
            )
    }
}

/// Where an indexer's jobs come from. Called from every worker thread.
pub(crate) trait JobSource: Sync {
    /// One unit of work.
    type Job: Send;

    /// The next job, or `Ok(None)` when this thread should end (no more work, or `stop`).
    ///
    /// # Errors
    /// A failure of the source itself (a lost database connection): the run stops.
    fn next_job(&self, stop: &StopFlag) -> Result<Option<Self::Job>>;

    /// The file to analyse for `job`.
    ///
    /// # Errors
    /// A job whose file cannot be located: that job fails, the run goes on.
    fn path(&self, job: &Self::Job) -> Result<PathBuf>;

    /// The content hash of `job`'s file at `path`.
    ///
    /// # For implementors
    /// The default hashes the file (a sheet track: its span of the audio file and its tags);
    /// a source that already knows the hash returns it.
    fn content_hash(&self, _job: &Self::Job, path: &Path) -> Option<ContentHash> {
        crate::sheets::content_hash(path).ok()
    }
}

/// Where an indexer's outcomes go. Called on the calling thread only.
pub(crate) trait OutcomeSink<J> {
    /// A job finished: its analysis and content hash, or why it failed (analysis error, or
    /// [`Error::Panicked`](crate::Error::Panicked), naming the file).
    ///
    /// # Errors
    /// A failure to record it (the database): the run stops.
    fn outcome(&mut self, job: J, outcome: Result<Analysed>) -> Result<()>;

    /// Called at least every `tick` of [`run`] while jobs run (renew leases, report progress).
    ///
    /// # Errors
    /// As [`outcome`](Self::outcome).
    fn tick(&mut self) -> Result<()> {
        Ok(())
    }
}

/// A finished analysis and the file's content hash (when it could be read).
pub(crate) type Analysed = (TrackAnalysis, Option<ContentHash>);

/// Runs `threads` workers over `source` until it is exhausted or `stop` is raised, handing
/// every outcome to `sink`. A panic while analysing one file fails that file only
/// ([`Error::Panicked`](crate::Error::Panicked)). The first error of the source or the sink
/// stops the run (jobs in progress finish and are handed on) and is returned.
///
/// # Errors
/// The first error of the source or the sink.
pub(crate) fn run<S, K>(
    source: &S,
    analyzer: &Analyzer<'_>,
    threads: usize,
    stop: &StopFlag,
    tick: Duration,
    sink: &mut K,
) -> Result<()>
where
    S: JobSource,
    K: OutcomeSink<S::Job>,
{
    // The workers are the parallelism: a matrix product split across threads inside one worker
    // would only wait on cores that are busy with other files.
    let _serial = sonority_autoencoders::SerialMatmul::new();
    let sink = std::cell::RefCell::new(sink);
    // Each job travels with the path it resolved to, so that a panic names its file.
    pool(
        threads,
        stop,
        || Ok(source.next_job(stop)?.map(|job| (job, OnceLock::new()))),
        |(job, at): &(S::Job, OnceLock<PathBuf>)| {
            let path = source.path(job)?;
            let path = at.get_or_init(|| path);
            let a = analyzer.analyze_file(path)?;
            Ok((a, source.content_hash(job, path)))
        },
        Some(tick),
        |(job, at), outcome| {
            let outcome =
                outcome.unwrap_or_else(|p| Err(p.into_error(at.into_inner().unwrap_or_default())));
            sink.borrow_mut().outcome(job, outcome)
        },
        || sink.borrow_mut().tick(),
    )
    .map(|_| ())
}

/// The store name of a model's fused vectors (before its learned final stage), kept for
/// explanations: `None` when the final vector is the fused one.
pub(crate) fn fused_name(model: &Model) -> Option<String> {
    (model.header.final_stage == FinalStage::VectorAutoencoder)
        .then(|| format!("{}+fused", model.name()))
}

/// The store models an indexer registers for `model`: the model itself (with its weights
/// fingerprint) and, for a model with a learned final stage, its fused vectors ([`fused_name`],
/// the same fingerprint), so that two models' vectors are never ranked or explained together.
///
/// # Errors
/// Model errors (the fingerprint).
pub(crate) fn model_infos(model: &Model) -> Result<Vec<ModelInfo>> {
    let info = crate::fingerprint::model_info(model)?;
    let mut infos = vec![info];
    if let Some(name) = fused_name(model) {
        let base = &infos[0];
        let mut fused =
            ModelInfo::new(name, model.fusion.dim()).with_config_json(base.config_json.clone());
        fused.weights_hash.clone_from(&base.weights_hash);
        infos.push(fused);
    }
    Ok(infos)
}

/// The store names of the vectors a [`StoredTrack`] carries: the model's and, for a learned
/// final stage, the fused vectors'.
#[derive(Debug, Clone)]
pub(crate) struct VectorNames {
    model: String,
    fused: Option<String>,
}

impl VectorNames {
    /// The names for `model`.
    pub(crate) fn of(model: &Model) -> Self {
        Self {
            model: model.name().to_owned(),
            fused: fused_name(model),
        }
    }
}

/// One analysed track as a sink stores it.
#[derive(Debug, Clone)]
pub(crate) struct StoredTrack {
    /// File facts, stream facts, tags and content hash.
    pub(crate) record: TrackRecord,
    /// Key, tempo, roll-off and the other scalar descriptors.
    pub(crate) analysis: Analysis,
    /// The model's final vector.
    pub(crate) vector: Vec<f32>,
    /// The fused vector, for a model with a learned final stage.
    pub(crate) fused: Option<Vec<f32>>,
}

impl StoredTrack {
    /// What to store for `a`, the analysis of the file `file` (content hash `hash`) by `model`.
    ///
    /// The fused vector is a few hundred values, computed from blocks the pass already made;
    /// a failure to make it only costs the explanation (the track is stored without it).
    pub(crate) fn new(
        file: FileFacts,
        hash: Option<ContentHash>,
        a: TrackAnalysis,
        model: &Model,
    ) -> Self {
        let fused = (model.header.final_stage == FinalStage::VectorAutoencoder)
            .then(|| {
                let blocks: Vec<(&str, &[f32])> =
                    a.blocks.iter().map(|(n, b)| (*n, b.as_slice())).collect();
                model.fused_vector(&blocks).ok()
            })
            .flatten();
        Self {
            record: record_of(file, hash, &a),
            analysis: analysis_of(&a),
            vector: a.vector,
            fused,
        }
    }

    /// The vectors to store, by model name.
    pub(crate) fn embeddings<'a>(&'a self, names: &'a VectorNames) -> Vec<ModelVector<'a>> {
        let mut e = vec![ModelVector::new(&names.model, &self.vector)];
        if let (Some(name), Some(f)) = (&names.fused, &self.fused) {
            e.push(ModelVector::new(name, f));
        }
        e
    }

    /// The track as [`Catalogue::put_track_analyses`](sonority_store::Catalogue::put_track_analyses)
    /// and `PgStore::complete` take it, with `embeddings` from [`embeddings`](Self::embeddings).
    pub(crate) fn analysed<'a>(&'a self, embeddings: &'a [ModelVector<'a>]) -> AnalysedTrack<'a> {
        AnalysedTrack {
            track: &self.record,
            analysis: &self.analysis,
            embeddings,
        }
    }
}

fn record_of(file: FileFacts, hash: Option<ContentHash>, a: &TrackAnalysis) -> TrackRecord {
    let mut tags = sonority_store::TrackTags::default();
    tags.title = a.tags.title.clone();
    tags.artist = a.tags.artist.clone();
    tags.album = a.tags.album.clone();
    tags.track_number = a.tags.track_number;
    tags.album_artist = a.tags.album_artist.clone();
    tags.disc_number = a.tags.disc_number;
    tags.genre = a.tags.genre.clone();
    tags.year = a.tags.year;
    tags.extra = a.tags.extra.clone();
    let mut r = TrackRecord::new(file)
        .with_duration_s(a.duration_s)
        .with_sample_rate_hz(a.sample_rate_hz)
        .with_channels(u16::try_from(a.channels).unwrap_or(u16::MAX))
        .with_tags(tags);
    if let Some(h) = hash {
        r = r.with_content_hash(h);
    }
    r
}

fn analysis_of(a: &TrackAnalysis) -> Analysis {
    let d = &a.descriptors;
    Analysis::default()
        .with_key(d.key.key.to_string(), f64::from(d.key.strength))
        .with_tempo(f64::from(d.tempo.bpm), f64::from(d.tempo.confidence))
        .with_rolloff_hz(f64::from(d.rolloff.mean_hz))
        .with_descriptor("rolloff_std_hz", f64::from(d.rolloff.std_hz))
        .with_descriptor("tuning_semitones", f64::from(d.tuning_semitones))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::panic)]
    use std::sync::Mutex;

    use super::*;
    use crate::Error;

    /// Two files; hashing the second one panics (inside the worker's analysis of it).
    struct Files(Mutex<Vec<PathBuf>>);

    impl JobSource for Files {
        type Job = PathBuf;

        fn next_job(&self, _stop: &StopFlag) -> Result<Option<PathBuf>> {
            Ok(self.0.lock().unwrap().pop())
        }

        fn path(&self, job: &PathBuf) -> Result<PathBuf> {
            Ok(job.clone())
        }

        fn content_hash(&self, job: &PathBuf, _path: &Path) -> Option<ContentHash> {
            assert!(!job.ends_with("b.wav"), "hashing b");
            None
        }
    }

    struct Outcomes(Vec<(PathBuf, Result<Analysed>)>);

    impl OutcomeSink<PathBuf> for Outcomes {
        fn outcome(&mut self, job: PathBuf, outcome: Result<Analysed>) -> Result<()> {
            self.0.push((job, outcome));
            Ok(())
        }
    }

    #[test]
    fn a_panic_fails_its_file_only_with_a_typed_error() {
        let model = Model::load_default().unwrap();
        let dir = tempfile::tempdir().unwrap();
        let rate = model.header.sample_rate;
        let tone: Vec<f32> = (0..rate / 2)
            .map(|i| (i as f32 * 0.05).sin() * 0.3)
            .collect();
        let files: Vec<PathBuf> = ["a.wav", "b.wav"]
            .iter()
            .map(|n| dir.path().join(n))
            .collect();
        for f in &files {
            sonority_testkit::signal::write_wav_i16(f, 1, rate, &tone).unwrap();
        }
        let source = Files(Mutex::new(files.clone()));
        let mut sink = Outcomes(Vec::new());
        let analyzer = IndexOptions::default().analyzer(&model);
        let stop = StopFlag::new();
        run(
            &source,
            &analyzer,
            2,
            &stop,
            Duration::from_millis(50),
            &mut sink,
        )
        .unwrap();
        assert!(!stop.is_stopped());
        sink.0.sort_by(|a, b| a.0.cmp(&b.0));
        assert_eq!(sink.0.len(), 2);
        assert!(sink.0[0].1.is_ok());
        match &sink.0[1].1 {
            Err(Error::Panicked { path, message }) => {
                assert_eq!((path, message.as_str()), (&files[1], "hashing b"));
            }
            other => panic!("{:?}", other.as_ref().map(|_| ())),
        }
    }
}
