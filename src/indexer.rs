//! The one indexer: jobs from a pluggable source are analysed on worker threads, each under
//! one panic-isolation policy, and their outcomes handed, in completion order, to a sink on the
//! calling thread, which commits them.
//!
//! [`Library::index`](crate::Library::index) feeds it the files a folder scan planned and
//! commits into SQLite in batches; the PostgreSQL worker (`distributed::run_worker`) feeds it
//! jobs claimed from the shared queue and completes each job in the catalogue.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::Duration;

use sonority_store::ContentHash;

use crate::parallel::{StopFlag, panic_message};
use crate::{Analyzer, Error, Result, TrackAnalysis};

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
    /// A job finished: its analysis and content hash, or why it failed (analysis error or
    /// panic, naming the file).
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

/// What a worker thread tells the calling thread.
// One event per analysed file crosses the channel: its size (the tags of `TrackAnalysis`)
// costs nothing next to the analysis, and boxing it would add an allocation per file.
#[allow(clippy::large_enum_variant)]
enum Event<J> {
    Outcome(J, Result<Analysed>),
    Exit(Result<()>),
}

/// Runs `threads` workers over `source` until it is exhausted or `stop` is raised, handing
/// every outcome to `sink`. A panic while analysing one file fails that file only. The first
/// error of the source or the sink stops the run (jobs in progress finish and are handed on)
/// and is returned.
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
    let threads = threads.max(1);
    // The workers are the parallelism: a matrix product split across threads inside one worker
    // would only wait on cores that are busy with other files.
    let _serial = sonority_autoencoders::SerialMatmul::new();
    let (tx, rx) = mpsc::channel::<Event<S::Job>>();
    let mut first_err: Option<Error> = None;
    std::thread::scope(|scope| {
        for _ in 0..threads {
            let tx = tx.clone();
            scope.spawn(move || {
                let r = worker(source, analyzer, stop, &tx);
                let _ = tx.send(Event::Exit(r));
            });
        }
        drop(tx);
        let mut running = threads;
        while running > 0 {
            let r = match rx.recv_timeout(tick) {
                Ok(Event::Outcome(job, outcome)) => sink.outcome(job, outcome),
                Ok(Event::Exit(r)) => {
                    running -= 1;
                    r
                }
                Err(mpsc::RecvTimeoutError::Timeout) => Ok(()),
                Err(mpsc::RecvTimeoutError::Disconnected) => break,
            };
            if let Err(e) = r.and_then(|()| sink.tick()) {
                log::error!("indexing stopped: {e}");
                first_err.get_or_insert(e);
                stop.stop();
            }
        }
    });
    first_err.map_or(Ok(()), Err)
}

/// One worker thread: take a job, analyse its file, hand the outcome on.
fn worker<S: JobSource>(
    source: &S,
    analyzer: &Analyzer<'_>,
    stop: &StopFlag,
    tx: &mpsc::Sender<Event<S::Job>>,
) -> Result<()> {
    while !stop.is_stopped() {
        let Some(job) = source.next_job(stop)? else {
            break;
        };
        let outcome = source.path(&job).and_then(|path| {
            catch_unwind(AssertUnwindSafe(|| {
                let a = analyzer.analyze_file(&path)?;
                Ok((a, source.content_hash(&job, &path)))
            }))
            .unwrap_or_else(|p| {
                Err(Error::Query {
                    reason: format!(
                        "{}: analysis panicked: {}",
                        path.display(),
                        panic_message(p.as_ref())
                    ),
                })
            })
        });
        if tx.send(Event::Outcome(job, outcome)).is_err() {
            break;
        }
    }
    Ok(())
}
