//! Load benchmark of `sonority serve`: many keep-alive clients at a target rate on a synthetic
//! library while the library is being written to; latency per route, errors, the server's memory.
//!
//! ```text
//! cargo build --release -p sonority-cli -p sonority-lab
//! target/release/serve_load --sonority target/release/sonority --seconds 60
//! target/release/serve_load --sonority target/release/sonority --seconds 600 --clients 64 --rate 1000
//! ```
//!
//! In a temporary folder (removed at the end unless `--keep`):
//!
//! 1. **The library.** A SQLite library file with `--tracks` tracks of the shipped default model,
//!    written through the library crate (`Library::open` once, so the model is registered with
//!    its fingerprint as `sonority` expects, then `SqliteStore::put_track_analyses` in batches of
//!    1000), without analysing any audio. Vectors are random but clustered: albums of 20 tracks
//!    around album centres, albums of an artist around the artist's centre, unit length, so
//!    rankings look like real ones. Tracks are tagged (artist, album, title, genre, one album in
//!    twenty "Christmas", year, duration) and have a tempo. Their paths lie under a fake music
//!    folder, `<tmp>/music/ArtistNNNN/AlbumNNNN/NN.ogg`: the folder exists (stored paths are
//!    canonical, and the server resolves a name by canonicalising it, which falls back to the
//!    path as given for a file that does not exist), the files do not. The folder is recorded as
//!    a root, so the server names tracks relative to it.
//! 2. **Writes during the load.** `POST /v1/index` is never called: it indexes every recorded
//!    root, and an index run of the fake folder would find none of its files and prune all of
//!    its tracks. Instead two writers run while the clients do:
//!    - a writer thread with its own `SqliteStore` connection on the same file commits a batch
//!      of `--write-batch` tracks every `--write-every-ms`: the same call an index run's batch
//!      commit makes, so the server sees them only through the store's change log, as it sees an
//!      index run's. The first `--write-new` tracks are new (albums of their own under the fake
//!      folder, vectors near existing albums); then it writes its own tracks again with new
//!      vectors, as an index run writes changed files, so the change log keeps moving while the
//!      library stops growing (a memory slope after that is not the catalogue's growth);
//!    - a real `sonority index DIR --db FILE --threads N` child process analyses `--wavs`
//!      generated WAV files (`--wav-seconds` long) in a second folder. Indexing a folder only
//!      prunes tracks under that folder (`plan_scan_under`), so the fake tracks stay. With the
//!      defaults it takes well under a second: it checks that a real index run's tracks are
//!      served; the writer thread is the sustained write load.
//! 3. **The server.** `sonority serve --port 0 --db FILE` with the XDG folders inside the temporary
//!    folder (no configuration file), `RAYON_NUM_THREADS=2` and any `--server-env NAME=VALUE`
//!    (`MALLOC_ARENA_MAX=2`, say, to tell fragmentation from growth); its address is read from the
//!    "listening on" line of its standard error. One `/v1/similar` and one `/api/mix` request
//!    load its catalogue before the clock starts.
//! 4. **The load.** `--clients` threads, each with its own `ureq` agent (one keep-alive
//!    connection), alternate `POST /v1/similar {"tracks":[name],"count":10}` and `POST /api/mix`
//!    with the request Lyrion's Bliss Mixer plugin sends, for a random track of the library.
//!    Each client is closed-loop and paced: at most one request in flight, sent on a schedule of
//!    `--rate / --clients` per second. A client whose answer arrives after its next slot sends at
//!    once and counts as *late*: when the server cannot keep up, the achieved rate falls below the
//!    target. Latency is measured from sending to the end of the body, so under saturation it is a
//!    closed loop's (requests the clients could not send are not counted as waiting): read the
//!    achieved rate and the late count with it. Errors are any answer other than 200 and any
//!    transport error; *empty* counts 200s without a track.
//! 5. **The server's resources.** Every second: its resident memory (`VmRSS`) and thread count
//!    from `/proc/PID/status`; its CPU time at the start and the end of the load.
//! 6. **The report.** Per route and overall: achieved requests/s, p50/p90/p99/max latency,
//!    errors; for `/v1/similar` the `elapsed_ms` it reports (the handler's own timing of its
//!    work: waiting for the library lock and HTTP are outside it); the load in ten windows;
//!    the server's memory at start, peak and end with its slope; the writers' tracks and whether
//!    `GET /v1/status` and `/v1/similar` answer for them at the end. Also, measured in this
//!    process before the server starts, with the library code the server runs under its lock:
//!    the catalogue's first load and its refresh after another connection commits a batch.
//!
//! Nothing is asserted: it measures and prints.

use std::fmt::Write as _;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError, mpsc};
use std::thread;
use std::time::{Duration, Instant};

use clap::Parser;
use serde_json::json;
use sonority::model::FinalStage;
use sonority::store::{
    AnalysedTrack, Analysis, FileFacts, ModelVector, SqliteStore, TrackRecord, TrackTags,
};
use sonority::{Library, Model};

type Error = Box<dyn std::error::Error + Send + Sync>;
type Result<T, E = Error> = std::result::Result<T, E>;

/// Load benchmark of `sonority serve` on a synthetic library (see the program's source for
/// what it does and how to read it).
#[derive(Parser, Debug)]
#[command(version)]
struct Args {
    /// The `sonority` program to serve with (`target/release/sonority`).
    #[arg(long)]
    sonority: PathBuf,
    /// Tracks of the synthetic library.
    #[arg(long, default_value_t = 10_000)]
    tracks: usize,
    /// Client threads, each with its own keep-alive connection.
    #[arg(long, default_value_t = 64)]
    clients: usize,
    /// Seconds of load.
    #[arg(long, default_value_t = 60)]
    seconds: u64,
    /// Target requests per second, over all clients.
    #[arg(long, default_value_t = 1000.0)]
    rate: f64,
    /// Tracks the writer thread commits per batch (0: no writer thread).
    #[arg(long, default_value_t = 64)]
    write_batch: usize,
    /// Milliseconds between the writer thread's batches.
    #[arg(long, default_value_t = 200)]
    write_every_ms: u64,
    /// New tracks the writer thread adds; after them it writes its own tracks again with new
    /// vectors (changed files), so the library stops growing and a memory slope is not the
    /// catalogue's growth.
    #[arg(long, default_value_t = 2_000)]
    write_new: usize,
    /// Generated WAV files (`--wav-seconds` long) that a `sonority index` child analyses during
    /// the load (0: no index run).
    #[arg(long, default_value_t = 100)]
    wavs: usize,
    /// Seconds of each generated WAV file.
    #[arg(long, default_value_t = 3)]
    wav_seconds: u32,
    /// Worker threads of that index run.
    #[arg(long, default_value_t = 1)]
    index_threads: usize,
    /// An environment variable for the server, `NAME=VALUE` (repeatable; e.g.
    /// `MALLOC_ARENA_MAX=2`, `RAYON_NUM_THREADS=1`).
    #[arg(long, value_name = "NAME=VALUE")]
    server_env: Vec<String>,
    /// Keep the temporary folder (library file, WAVs) and print where it is.
    #[arg(long)]
    keep: bool,
}

fn main() {
    if let Err(e) = run(&Args::parse()) {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}

const TRACKS_PER_ALBUM: usize = 20;
const ALBUMS_PER_ARTIST: usize = 4;
const BATCH: usize = 1000;
/// Every stored file's modification time (2023-11-14), in nanoseconds.
const MTIME_NS: i64 = 1_700_000_000_000_000_000;
const GENRES: [&str; 7] = [
    "Rock",
    "Jazz",
    "Electronic",
    "Classical",
    "Folk",
    "Hip-Hop",
    "Ambient",
];

fn run(a: &Args) -> Result<()> {
    if a.clients == 0
        || !a.rate.is_finite()
        || a.rate <= 0.0
        || a.seconds == 0
        || a.tracks < TRACKS_PER_ALBUM
    {
        return Err(format!(
            "--clients, --rate and --seconds must be positive and --tracks at least {TRACKS_PER_ALBUM}"
        )
        .into());
    }
    if !a.sonority.is_file() {
        return Err(format!("--sonority {}: no such program", a.sonority.display()).into());
    }
    let tmp = tempfile::Builder::new().prefix("serve_load").tempdir()?;
    let home = tmp.path().canonicalize()?;
    let music = home.join("music");
    let wavs = home.join("wavs");
    std::fs::create_dir_all(&music)?;
    let db = home.join("library.sqlite");

    let t = Instant::now();
    let model = Model::load_default()?;
    let synth = Synth::new(&model, a.tracks, &mut Rng::new(7));
    let names = synth.build(&model, &db, &music, a.tracks)?;
    eprintln!(
        "library: {} tracks of {} ({}-dimensional) in {:.1} s",
        a.tracks,
        model.name(),
        synth.dim,
        t.elapsed().as_secs_f64()
    );
    let probe = synth.probe_refresh(&model, &db, &music, a.write_batch)?;
    let wav_names = if a.wavs > 0 {
        make_wavs(&wavs, a.wavs, a.wav_seconds)?
    } else {
        Vec::new()
    };

    let server = Server::start(&a.sonority, &home, &db, &a.server_env)?;
    let sampler = Sampler::start(server.pid);
    let idle = sampler.now();
    let agent = agent();
    for route in [Route::Similar, Route::Mix] {
        let r = request(&agent, &server.base, route, &names[0]);
        if r.outcome != Outcome::Ok {
            return Err(format!(
                "the first {} request failed: {}",
                route.path(),
                r.error.unwrap_or_default()
            )
            .into());
        }
    }
    let warm = sampler.now();
    let status0 = status_tracks(&agent, &server.base)?;

    eprintln!(
        "load: {} clients, {:.0} requests/s for {} s on {}",
        a.clients, a.rate, a.seconds, server.base
    );
    // The load, the writer thread and the index run start together.
    let t0 = Instant::now();
    let end = t0 + Duration::from_secs(a.seconds);
    let cpu0 = Cpu::now(server.pid);
    let load0 = loadavg();
    let stop = Arc::new(AtomicBool::new(false));
    let writer = (a.write_batch > 0).then(|| {
        let (synth, db, music, stop) = (synth.clone(), db.clone(), music.clone(), stop.clone());
        let plan = WriterPlan {
            batch: a.write_batch,
            every: Duration::from_millis(a.write_every_ms),
            new: a.write_new,
        };
        thread::spawn(move || synth.write_while(&db, &music, &plan, &stop))
    });
    let index = if a.wavs > 0 {
        Some(IndexRun::start(
            &a.sonority,
            &home,
            &db,
            &wavs,
            a.index_threads,
        )?)
    } else {
        None
    };
    let errors = Arc::new(Mutex::new(Vec::new()));
    let plan = Arc::new(Plan {
        base: server.base.clone(),
        names,
        t0,
        end,
        interval: Duration::from_secs_f64(a.clients as f64 / a.rate),
        clients: a.clients,
    });
    let clients: Vec<_> = (0..a.clients)
        .map(|k| {
            let (plan, errors) = (plan.clone(), errors.clone());
            thread::spawn(move || client(k, &plan, &errors))
        })
        .collect();
    let mut samples = Vec::new();
    let mut late = 0;
    for c in clients {
        let (s, l) = c.join().map_err(|_| "a client thread panicked")?;
        samples.extend(s);
        late += l;
    }
    let load_s = t0.elapsed().as_secs_f64();
    let cpu1 = Cpu::now(server.pid);
    let load1 = loadavg();
    stop.store(true, Ordering::Relaxed);
    let written = match writer {
        Some(w) => Some(w.join().map_err(|_| "the writer thread panicked")?),
        None => None,
    };
    if index.as_ref().is_some_and(|i| !i.is_finished()) {
        eprintln!("waiting for the index run to finish");
    }
    let indexed = index.map(IndexRun::wait).transpose()?;

    // Whether the server answers for what was written.
    let status1 = status_tracks(&agent, &server.base);
    let last_written = written
        .as_ref()
        .and_then(|w| w.last_name.clone())
        .map(|n| (n.clone(), request(&agent, &server.base, Route::Similar, &n)));
    let first_wav = wav_names
        .first()
        .map(|n| (n.clone(), request(&agent, &server.base, Route::Similar, n)));
    let rss = sampler.stop(t0);
    let log = server.stop();

    let report = Report {
        args: a,
        samples,
        late,
        load_s,
        idle,
        warm,
        rss,
        cpu: [cpu0, cpu1],
        loadavg: [load0, load1],
        probe,
        errors: std::mem::take(&mut *errors.lock().unwrap_or_else(PoisonError::into_inner)),
        status0,
        status1,
        written,
        indexed,
        last_written,
        first_wav,
        log,
    };
    print!("{}", report.render());
    if a.keep {
        println!("kept: {}", tmp.keep().display());
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// The synthetic library
// ---------------------------------------------------------------------------------------------

/// A small xorshift64* generator: reproducible, no dependency.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Self {
        Self(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// Uniform in [0, 1).
    fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Uniform in 0..n (n > 0).
    fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n.max(1) as u64) as usize
    }

    /// About standard normal (a sum of four uniforms).
    fn normal(&mut self) -> f32 {
        ((self.unit() + self.unit() + self.unit() + self.unit() - 2.0) * 3f64.sqrt()) as f32
    }

    fn unit_vector(&mut self, dim: usize) -> Vec<f32> {
        let mut v: Vec<f32> = (0..dim).map(|_| self.normal()).collect();
        normalise(&mut v);
        v
    }
}

fn normalise(v: &mut [f32]) {
    let n = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    if n > 0.0 {
        v.iter_mut().for_each(|x| *x /= n);
    }
}

/// The albums' centres and tempos, and what a track's row needs.
#[derive(Clone)]
struct Synth {
    model: String,
    dim: usize,
    /// The store name and dimension of the fused vectors, for a model with a learned final
    /// stage (the library stores them beside the final ones).
    fused: Option<(String, usize)>,
    centres: Vec<Vec<f32>>,
    bpm: Vec<f64>,
}

/// One track to commit.
struct Row {
    record: TrackRecord,
    analysis: Analysis,
    vector: Vec<f32>,
    fused: Option<Vec<f32>>,
}

/// What the writer thread did.
struct Written {
    /// New tracks.
    added: usize,
    /// Its own tracks written again with new vectors.
    rewritten: usize,
    batches: usize,
    commit_ms: Vec<f64>,
    failed: usize,
    first_error: Option<String>,
    last_name: Option<String>,
}

impl Synth {
    fn new(model: &Model, tracks: usize, rng: &mut Rng) -> Self {
        let dim = model.output_dim();
        let albums = tracks.div_ceil(TRACKS_PER_ALBUM);
        let artists: Vec<Vec<f32>> = (0..albums.div_ceil(ALBUMS_PER_ARTIST))
            .map(|_| rng.unit_vector(dim))
            .collect();
        let centres = (0..albums)
            .map(|j| {
                let own = rng.unit_vector(dim);
                let mut c: Vec<f32> = artists[j / ALBUMS_PER_ARTIST]
                    .iter()
                    .zip(&own)
                    .map(|(a, o)| 0.6 * a + 0.8 * o)
                    .collect();
                normalise(&mut c);
                c
            })
            .collect();
        let bpm = (0..albums).map(|_| 70.0 + 100.0 * rng.unit()).collect();
        let fused = (model.header.final_stage == FinalStage::VectorAutoencoder)
            .then(|| (format!("{}+fused", model.name()), model.fusion.dim()));
        Self {
            model: model.name().to_owned(),
            dim,
            fused,
            centres,
            bpm,
        }
    }

    /// A track near album `album`'s centre (within an album, cosines are about 0.75).
    fn row(&self, rng: &mut Rng, path: PathBuf, album: usize, tags: TrackTags) -> Row {
        let sigma = 0.6 / (self.dim as f32).sqrt();
        let mut vector: Vec<f32> = self.centres[album]
            .iter()
            .map(|c| c + sigma * rng.normal())
            .collect();
        normalise(&mut vector);
        let fused = self.fused.as_ref().map(|(_, d)| rng.unit_vector(*d));
        Row {
            record: TrackRecord::new(FileFacts::new(
                path,
                3_000_000 + rng.below(7_000_000) as u64,
                MTIME_NS,
            ))
            .with_duration_s(120.0 + 300.0 * rng.unit())
            .with_sample_rate_hz(44_100)
            .with_channels(2)
            .with_tags(tags),
            analysis: Analysis::default().with_tempo(
                (self.bpm[album] + 6.0 * f64::from(rng.normal())).max(40.0),
                0.9,
            ),
            vector,
            fused,
        }
    }

    /// Commits rows in one transaction, as an index run's batch commit does.
    fn commit(&self, store: &mut SqliteStore, rows: &[Row]) -> Result<()> {
        let embeddings: Vec<Vec<ModelVector<'_>>> = rows
            .iter()
            .map(|r| {
                let mut e = vec![ModelVector::new(&self.model, &r.vector)];
                if let (Some((name, _)), Some(f)) = (&self.fused, &r.fused) {
                    e.push(ModelVector::new(name, f));
                }
                e
            })
            .collect();
        let batch: Vec<AnalysedTrack<'_>> = rows
            .iter()
            .zip(&embeddings)
            .map(|(r, e)| AnalysedTrack {
                track: &r.record,
                analysis: &r.analysis,
                embeddings: e,
            })
            .collect();
        store.put_track_analyses(&batch)?;
        Ok(())
    }

    /// Writes the library file: the model registered, `tracks` tracks under `music`, `music`
    /// recorded as a root. Returns the tracks' names (relative to `music`).
    fn build(&self, model: &Model, db: &Path, music: &Path, tracks: usize) -> Result<Vec<String>> {
        drop(Library::open(db, model)?);
        let mut store = SqliteStore::open(db)?;
        let mut rng = Rng::new(11);
        let mut names = Vec::with_capacity(tracks);
        let mut rows = Vec::with_capacity(BATCH);
        for i in 0..tracks {
            let (name, row) = self.library_row(&mut rng, music, i);
            rows.push(row);
            names.push(name);
            if rows.len() == BATCH {
                self.commit(&mut store, &rows)?;
                rows.clear();
            }
        }
        self.commit(&mut store, &rows)?;
        store.record_root(music)?;
        Ok(names)
    }

    /// Track `i` of the library: its name and its row (the vector drawn anew each call).
    fn library_row(&self, rng: &mut Rng, music: &Path, i: usize) -> (String, Row) {
        let (album, n) = (i / TRACKS_PER_ALBUM, i % TRACKS_PER_ALBUM + 1);
        let artist = album / ALBUMS_PER_ARTIST;
        let name = format!("Artist{artist:04}/Album{album:04}/{n:02}.ogg");
        let genre = if album % 20 == 7 {
            "Christmas"
        } else {
            GENRES[album % GENRES.len()]
        };
        let tags = TrackTags::default()
            .with_title(format!("Song {n} of album {album}"))
            .with_artist(format!("Artist {artist}"))
            .with_album(format!("Album {album}"))
            .with_track_number(n as u32)
            .with_genre(genre)
            .with_year(1960 + (album % 60) as i32);
        let row = self.row(rng, music.join(&name), album, tags);
        (name, row)
    }

    /// Times, in this process and with the library code the server runs under its lock, the
    /// catalogue's first load and its refresh after another connection commits a batch of
    /// `batch` tracks (the library's first tracks written again with new vectors, so it keeps
    /// its size). Returns the first load's and the refreshes' milliseconds.
    fn probe_refresh(
        &self,
        model: &Model,
        db: &Path,
        music: &Path,
        batch: usize,
    ) -> Result<(f64, Vec<f64>)> {
        let lib = Library::open(db, model)?;
        let t = Instant::now();
        lib.with_catalogue(|index| Ok(index.len()))?;
        let load_ms = t.elapsed().as_secs_f64() * 1e3;
        let mut store = SqliteStore::open(db)?;
        let mut rng = Rng::new(19);
        let mut refresh_ms = Vec::new();
        for _ in 0..5 {
            let rows: Vec<Row> = (0..batch.max(1))
                .map(|i| self.library_row(&mut rng, music, i).1)
                .collect();
            self.commit(&mut store, &rows)?;
            let t = Instant::now();
            lib.with_catalogue(|index| Ok(index.len()))?;
            refresh_ms.push(t.elapsed().as_secs_f64() * 1e3);
        }
        Ok((load_ms, refresh_ms))
    }

    /// The writer thread: every `every` until `stop`, a batch of `batch` tracks (an album of
    /// its own, near an existing album), new until it has added `new` tracks (at least one
    /// batch), then its own batches again in turn with new vectors, as an index run writes
    /// changed files: the change log keeps moving while the library stops growing.
    fn write_while(&self, db: &Path, music: &Path, w: &WriterPlan, stop: &AtomicBool) -> Written {
        let mut out = Written {
            added: 0,
            rewritten: 0,
            batches: 0,
            commit_ms: Vec::new(),
            failed: 0,
            first_error: None,
            last_name: None,
        };
        let mut store = match SqliteStore::open(db) {
            Ok(s) => s,
            Err(e) => {
                out.failed += 1;
                out.first_error = Some(e.to_string());
                return out;
            }
        };
        let batch = w.batch.max(1);
        let new_batches = w.new.div_ceil(batch).max(1);
        let name =
            |b: usize, n: usize| format!("New{:04}/Batch{b:05}/{n:03}.ogg", b / ALBUMS_PER_ARTIST);
        let mut rng = Rng::new(13);
        let mut next = Instant::now();
        let mut k = 0usize;
        while !stop.load(Ordering::Relaxed) {
            let (b, fresh) = if k < new_batches {
                (k, true)
            } else {
                ((k - new_batches) % new_batches, false)
            };
            let album = rng.below(self.centres.len());
            let rows: Vec<Row> = (1..=batch)
                .map(|n| {
                    let tags = TrackTags::default()
                        .with_title(format!("New song {n} of batch {b}"))
                        .with_artist(format!("New artist {}", b / ALBUMS_PER_ARTIST))
                        .with_album(format!("New album {b}"))
                        .with_track_number(n as u32)
                        .with_genre(GENRES[b % GENRES.len()]);
                    self.row(&mut rng, music.join(name(b, n)), album, tags)
                })
                .collect();
            let t = Instant::now();
            match self.commit(&mut store, &rows) {
                Ok(()) => {
                    out.commit_ms.push(t.elapsed().as_secs_f64() * 1e3);
                    if fresh {
                        out.added += rows.len();
                        out.last_name = Some(name(b, batch));
                    } else {
                        out.rewritten += rows.len();
                    }
                    out.batches += 1;
                }
                Err(e) => {
                    out.failed += 1;
                    out.first_error.get_or_insert_with(|| e.to_string());
                }
            }
            k += 1;
            next += w.every;
            while !stop.load(Ordering::Relaxed) && Instant::now() < next {
                thread::sleep((next - Instant::now()).min(Duration::from_millis(50)));
            }
        }
        out
    }
}

/// What the writer thread writes.
#[derive(Debug, Clone, Copy)]
struct WriterPlan {
    /// Tracks per batch.
    batch: usize,
    /// Between batches.
    every: Duration,
    /// New tracks before it only rewrites its own.
    new: usize,
}

/// `n` short WAV files (22 050 Hz, mono: a tone and some noise, ten to an album folder).
/// Returns their names relative to `dir`.
fn make_wavs(dir: &Path, n: usize, seconds: u32) -> Result<Vec<String>> {
    let sr = 22_050u32;
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: sr,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut rng = Rng::new(17);
    let mut names = Vec::with_capacity(n);
    for i in 0..n {
        let name = format!("Generated{:02}/{:02}.wav", i / 10, i % 10 + 1);
        let path = dir.join(&name);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        let hz = 110.0 * 2f32.powf((i % 36) as f32 / 12.0);
        let mut w = hound::WavWriter::create(&path, spec)?;
        for s in 0..seconds.max(1) * sr {
            let ph = 2.0 * std::f32::consts::PI * hz * s as f32 / sr as f32;
            let y = 0.3 * ph.sin() + 0.1 * (3.0 * ph).sin() + 0.05 * rng.normal();
            w.write_sample((y.clamp(-1.0, 1.0) * 32_000.0) as i16)?;
        }
        w.finalize()?;
        names.push(name);
    }
    Ok(names)
}

// ---------------------------------------------------------------------------------------------
// The processes
// ---------------------------------------------------------------------------------------------

/// `sonority` with the XDG folders in `home` (no configuration file) and two ranking threads.
fn sonority(exe: &Path, home: &Path) -> Command {
    let mut c = Command::new(exe);
    c.env_clear()
        .env("HOME", home)
        .env("XDG_CONFIG_HOME", home.join("config"))
        .env("XDG_DATA_HOME", home.join("data"))
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("RAYON_NUM_THREADS", "2")
        .stdin(Stdio::null());
    c
}

/// A running `sonority serve`, killed when dropped.
struct Server {
    child: Child,
    pid: u32,
    base: String,
    /// Its standard error after the "listening on" line.
    log: Arc<Mutex<Vec<String>>>,
}

impl Server {
    fn start(exe: &Path, home: &Path, db: &Path, env: &[String]) -> Result<Self> {
        let mut c = sonority(exe, home);
        for e in env {
            let (k, v) = e
                .split_once('=')
                .ok_or_else(|| format!("--server-env {e:?}: expected NAME=VALUE"))?;
            c.env(k, v);
        }
        let mut child = c
            .args(["serve", "--port", "0", "--db"])
            .arg(db)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()?;
        let err = child.stderr.take();
        let mut server = Self {
            pid: child.id(),
            child,
            base: String::new(),
            log: Arc::default(),
        };
        let err = err.ok_or("no standard error from the server")?;
        let (tx, rx) = mpsc::channel();
        let log = server.log.clone();
        thread::spawn(move || {
            let mut tx = Some(tx);
            for line in BufReader::new(err).lines() {
                let Ok(line) = line else { break };
                if let Some(addr) = line.strip_prefix("listening on ")
                    && let Some(tx) = tx.take()
                {
                    let _ = tx.send(addr.trim().to_owned());
                    continue;
                }
                log.lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .push(line);
            }
        });
        match rx.recv_timeout(Duration::from_secs(60)) {
            Ok(base) => server.base = base,
            Err(_) => {
                let log = server.log.lock().unwrap_or_else(PoisonError::into_inner);
                return Err(format!("the server did not start: {}", log.join(" | ")).into());
            }
        }
        Ok(server)
    }

    /// Stops it; returns what it wrote on standard error.
    fn stop(mut self) -> Vec<String> {
        let _ = self.child.kill();
        let _ = self.child.wait();
        std::mem::take(&mut *self.log.lock().unwrap_or_else(PoisonError::into_inner))
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A `sonority index --json` child over the WAV folder.
struct IndexRun {
    thread: thread::JoinHandle<Result<Indexed>>,
}

/// What the index run did.
struct Indexed {
    elapsed_s: f64,
    analysed: u64,
    failed: u64,
    ok: bool,
    stderr_tail: String,
}

impl IndexRun {
    fn start(exe: &Path, home: &Path, db: &Path, dir: &Path, threads: usize) -> Result<Self> {
        let child = sonority(exe, home)
            .args(["index", "--json", "--threads", &threads.max(1).to_string()])
            .arg(dir)
            .arg("--db")
            .arg(db)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()?;
        let t = Instant::now();
        let thread = thread::spawn(move || {
            let out = child.wait_with_output()?;
            let elapsed_s = t.elapsed().as_secs_f64();
            let v: serde_json::Value =
                serde_json::from_slice(&out.stdout).unwrap_or(serde_json::Value::Null);
            let sum = |key: &str| -> u64 {
                v["folders"].as_array().map_or(0, |fs| {
                    fs.iter()
                        .map(|f| match &f[key] {
                            serde_json::Value::Array(a) => a.len() as u64,
                            x => x.as_u64().unwrap_or(0),
                        })
                        .sum()
                })
            };
            let err = String::from_utf8_lossy(&out.stderr);
            let tail: Vec<&str> = err.lines().rev().take(3).collect();
            Ok(Indexed {
                elapsed_s,
                analysed: sum("analysed"),
                failed: sum("failed"),
                ok: out.status.success(),
                stderr_tail: tail.into_iter().rev().collect::<Vec<_>>().join(" | "),
            })
        });
        Ok(Self { thread })
    }

    fn is_finished(&self) -> bool {
        self.thread.is_finished()
    }

    fn wait(self) -> Result<Indexed> {
        self.thread
            .join()
            .map_err(|_| "the index run's thread panicked")?
    }
}

/// Resident memory and threads of the server, every second.
struct Sampler {
    pid: u32,
    samples: Arc<Mutex<Vec<(Instant, RssSample)>>>,
    stop: Arc<AtomicBool>,
    thread: thread::JoinHandle<()>,
}

#[derive(Debug, Clone, Copy, Default)]
struct RssSample {
    /// Seconds since the load started (negative before).
    t_s: f64,
    rss_kib: u64,
    threads: u64,
}

impl Sampler {
    fn start(pid: u32) -> Self {
        let samples: Arc<Mutex<Vec<(Instant, RssSample)>>> = Arc::default();
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let (samples, stop) = (samples.clone(), stop.clone());
            thread::spawn(move || {
                let mut next = Instant::now();
                while !stop.load(Ordering::Relaxed) {
                    if let Some(s) = proc_status(pid) {
                        samples
                            .lock()
                            .unwrap_or_else(PoisonError::into_inner)
                            .push((Instant::now(), s));
                    }
                    next += Duration::from_secs(1);
                    while !stop.load(Ordering::Relaxed) && Instant::now() < next {
                        thread::sleep((next - Instant::now()).min(Duration::from_millis(100)));
                    }
                }
            })
        };
        Self {
            pid,
            samples,
            stop,
            thread,
        }
    }

    /// A sample taken now (not kept).
    fn now(&self) -> RssSample {
        proc_status(self.pid).unwrap_or_default()
    }

    /// Stops sampling; returns the samples with their time relative to `t0`.
    fn stop(self, t0: Instant) -> Vec<RssSample> {
        self.stop.store(true, Ordering::Relaxed);
        let _ = self.thread.join();
        let samples = self.samples.lock().unwrap_or_else(PoisonError::into_inner);
        samples
            .iter()
            .map(|&(at, s)| RssSample {
                t_s: if at >= t0 {
                    (at - t0).as_secs_f64()
                } else {
                    -(t0 - at).as_secs_f64()
                },
                ..s
            })
            .collect()
    }
}

/// `VmRSS` and `Threads` of a process.
fn proc_status(pid: u32) -> Option<RssSample> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let field = |name: &str| -> Option<u64> {
        s.lines()
            .find_map(|l| l.strip_prefix(name))?
            .split_whitespace()
            .next()?
            .parse()
            .ok()
    };
    Some(RssSample {
        t_s: 0.0,
        rss_kib: field("VmRSS:")?,
        threads: field("Threads:").unwrap_or(0),
    })
}

/// The machine's load averages over 1, 5 and 15 minutes.
fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "unknown".to_owned())
}

/// CPU seconds (user and system) of the server and of this program.
#[derive(Debug, Clone, Copy)]
struct Cpu {
    server_s: Option<f64>,
    generator_s: Option<f64>,
}

impl Cpu {
    fn now(server: u32) -> Self {
        Self {
            server_s: cpu_s(&server.to_string()),
            generator_s: cpu_s("self"),
        }
    }
}

/// CPU seconds (user and system) of a process (`"self"` or a pid).
fn cpu_s(pid: &str) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &stat[stat.rfind(')')? + 1..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks: u64 = f.get(11)?.parse::<u64>().ok()? + f.get(12)?.parse::<u64>().ok()?;
    Some(ticks as f64 / clock_ticks())
}

fn clock_ticks() -> f64 {
    static TICKS: std::sync::OnceLock<f64> = std::sync::OnceLock::new();
    *TICKS.get_or_init(|| {
        Command::new("getconf")
            .arg("CLK_TCK")
            .output()
            .ok()
            .and_then(|o| String::from_utf8(o.stdout).ok())
            .and_then(|s| s.trim().parse().ok())
            .unwrap_or(100.0)
    })
}

// ---------------------------------------------------------------------------------------------
// The clients
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Route {
    Similar,
    Mix,
}

impl Route {
    fn path(self) -> &'static str {
        match self {
            Self::Similar => "/v1/similar",
            Self::Mix => "/api/mix",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Ok,
    /// A 200 without a track.
    Empty,
    Status(u16),
    Transport,
}

/// One request's result.
struct Answer {
    outcome: Outcome,
    /// `/v1/similar`'s `elapsed_ms`.
    server_ms: Option<f32>,
    error: Option<String>,
}

/// One finished request.
#[derive(Debug, Clone, Copy)]
struct Sample {
    /// When it was sent, milliseconds after the load started.
    at_ms: u32,
    latency_us: u32,
    route: Route,
    outcome: Outcome,
    server_ms: Option<f32>,
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(30)))
        .build()
        .into()
}

/// Sends one request for track `name`.
fn request(agent: &ureq::Agent, base: &str, route: Route, name: &str) -> Answer {
    let body = match route {
        Route::Similar => json!({"tracks": [name], "count": 10}),
        // What Lyrion's Bliss Mixer plugin sends.
        Route::Mix => json!({
            "count": 20, "previous": [], "filterxmas": 1, "shuffle": 1, "filtergenre": 0,
            "min": 0, "maxbpmdiff": 0, "norepalb": 12, "tracks": [name], "max": 0,
            "norepart": 6, "genregroups": []
        }),
    };
    let url = format!("{base}{}", route.path());
    let failed = |e: &dyn std::fmt::Display| Answer {
        outcome: Outcome::Transport,
        server_ms: None,
        error: Some(format!("{}: {e}", route.path())),
    };
    let mut res = match agent
        .post(&url)
        .header("Content-Type", "application/json")
        .send(body.to_string())
    {
        Ok(r) => r,
        Err(e) => return failed(&e),
    };
    let status = res.status().as_u16();
    let text = match res.body_mut().read_to_string() {
        Ok(t) => t,
        Err(e) => return failed(&e),
    };
    if status != 200 {
        return Answer {
            outcome: Outcome::Status(status),
            server_ms: None,
            error: Some(format!(
                "{} {status}: {}",
                route.path(),
                text.chars().take(200).collect::<String>()
            )),
        };
    }
    let (empty, server_ms) = match route {
        Route::Similar => (!text.contains("\"name\""), elapsed_ms(&text)),
        Route::Mix => (text.trim().is_empty(), None),
    };
    Answer {
        outcome: if empty { Outcome::Empty } else { Outcome::Ok },
        server_ms,
        error: None,
    }
}

/// The `elapsed_ms` of a JSON answer, without parsing the rest.
fn elapsed_ms(json: &str) -> Option<f32> {
    const KEY: &str = "\"elapsed_ms\":";
    let rest = &json[json.rfind(KEY)? + KEY.len()..];
    let end = rest
        .find(|c: char| !(c.is_ascii_digit() || matches!(c, '.' | '-' | '+' | 'e' | 'E')))
        .unwrap_or(rest.len());
    rest[..end].parse().ok()
}

/// What every client shares.
struct Plan {
    base: String,
    /// The names of the library's tracks, relative to its music folder.
    names: Vec<String>,
    /// When the load starts and ends.
    t0: Instant,
    end: Instant,
    /// Between one client's requests.
    interval: Duration,
    clients: usize,
}

/// Client `k`: a request per slot, its slots `interval` apart and offset by `k / clients` of
/// one, until the end, alternating the routes; returns its samples and how often it was late
/// for its next slot.
fn client(k: usize, plan: &Plan, errors: &Mutex<Vec<String>>) -> (Vec<Sample>, u64) {
    let (base, names, t0) = (&plan.base, &plan.names, plan.t0);
    let interval = plan.interval;
    let agent = agent();
    let mut rng = Rng::new(1000 + k as u64);
    let mut route = if k.is_multiple_of(2) {
        Route::Similar
    } else {
        Route::Mix
    };
    let mut next = t0 + interval.mul_f64(k as f64 / plan.clients as f64);
    let (mut samples, mut late) = (Vec::new(), 0);
    while next < plan.end {
        let now = Instant::now();
        if next > now {
            thread::sleep(next - now);
        }
        let sent = Instant::now();
        let a = request(&agent, base, route, &names[rng.below(names.len())]);
        let done = Instant::now();
        samples.push(Sample {
            at_ms: u32::try_from((sent - t0).as_millis()).unwrap_or(u32::MAX),
            latency_us: u32::try_from((done - sent).as_micros()).unwrap_or(u32::MAX),
            route,
            outcome: a.outcome,
            server_ms: a.server_ms,
        });
        if let Some(e) = a.error {
            let mut errors = errors.lock().unwrap_or_else(PoisonError::into_inner);
            if errors.len() < 5 {
                errors.push(e);
            }
        }
        next += interval;
        if next < done {
            late += 1;
            next = done;
        }
        route = match route {
            Route::Similar => Route::Mix,
            Route::Mix => Route::Similar,
        };
    }
    (samples, late)
}

/// The `tracks` of `GET /v1/status`.
fn status_tracks(agent: &ureq::Agent, base: &str) -> Result<u64> {
    let mut res = agent.get(&format!("{base}/v1/status")).call()?;
    let v: serde_json::Value = serde_json::from_str(&res.body_mut().read_to_string()?)?;
    v["tracks"]
        .as_u64()
        .ok_or_else(|| format!("GET /v1/status: no tracks in {v}").into())
}

// ---------------------------------------------------------------------------------------------
// The report
// ---------------------------------------------------------------------------------------------

struct Report<'a> {
    args: &'a Args,
    samples: Vec<Sample>,
    late: u64,
    load_s: f64,
    idle: RssSample,
    warm: RssSample,
    rss: Vec<RssSample>,
    /// CPU time at the start and the end of the load.
    cpu: [Cpu; 2],
    /// The machine's load averages (1, 5, 15 minutes) at the start and the end of the load.
    loadavg: [String; 2],
    /// The catalogue's first load and its refreshes after a batch, in milliseconds.
    probe: (f64, Vec<f64>),
    errors: Vec<String>,
    status0: u64,
    status1: Result<u64>,
    written: Option<Written>,
    indexed: Option<Indexed>,
    last_written: Option<(String, Answer)>,
    first_wav: Option<(String, Answer)>,
    log: Vec<String>,
}

/// The nearest-rank percentile of sorted values.
fn pct(sorted: &[u32], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((p / 100.0 * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len()) - 1;
    f64::from(sorted[i])
}

fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

/// The least-squares slope of RSS over time, MiB per minute.
fn slope(s: &[RssSample]) -> f64 {
    let n = s.len() as f64;
    if s.len() < 3 {
        return f64::NAN;
    }
    let mt = s.iter().map(|x| x.t_s).sum::<f64>() / n;
    let mr = s.iter().map(|x| mib(x.rss_kib)).sum::<f64>() / n;
    let (mut sxy, mut sxx) = (0.0, 0.0);
    for x in s {
        sxy += (x.t_s - mt) * (mib(x.rss_kib) - mr);
        sxx += (x.t_s - mt) * (x.t_s - mt);
    }
    sxy / sxx * 60.0
}

fn ms(us: f64) -> f64 {
    us / 1000.0
}

fn answer_line(a: &Answer) -> String {
    match a.outcome {
        Outcome::Ok => format!(
            "200 with tracks{}",
            a.server_ms
                .map(|m| format!(" ({m:.1} ms in the server)"))
                .unwrap_or_default()
        ),
        Outcome::Empty => "200 without a track".to_owned(),
        _ => a.error.clone().unwrap_or_default(),
    }
}

impl Report<'_> {
    fn render(&self) -> String {
        let a = self.args;
        let mut o = String::new();
        let cpu = std::fs::read_to_string("/proc/cpuinfo")
            .ok()
            .and_then(|c| {
                c.lines()
                    .find_map(|l| l.strip_prefix("model name"))
                    .map(|l| l.trim_start_matches([' ', '\t', ':']).to_owned())
            })
            .unwrap_or_else(|| "unknown CPU".to_owned());
        let cores = thread::available_parallelism().map_or(0, usize::from);
        let _ = writeln!(o, "\nsonority serve under load");
        let _ = writeln!(
            o,
            "machine: {cores} cores ({cpu}), load average {} before the load, {} after",
            self.loadavg[0], self.loadavg[1]
        );
        let _ = writeln!(
            o,
            "{} tracks, {} clients, target {:.0} req/s for {} s; server RAYON_NUM_THREADS=2{}; writer {} tracks every {} ms ({} new, then rewrites); index run of {} {} s WAVs on {} thread(s)",
            a.tracks,
            a.clients,
            a.rate,
            a.seconds,
            a.server_env
                .iter()
                .map(|e| format!(" {e}"))
                .collect::<String>(),
            a.write_batch,
            a.write_every_ms,
            a.write_new,
            a.wavs,
            a.wav_seconds,
            a.index_threads
        );

        // Per route.
        let _ = writeln!(
            o,
            "\n{:<12} {:>9} {:>8} {:>7} {:>6} {:>8} {:>8} {:>8} {:>8}",
            "route", "requests", "req/s", "errors", "empty", "p50 ms", "p90 ms", "p99 ms", "max ms"
        );
        let routes: [(&str, Option<Route>); 3] = [
            ("/v1/similar", Some(Route::Similar)),
            ("/api/mix", Some(Route::Mix)),
            ("all", None),
        ];
        for (label, route) in routes {
            let of: Vec<&Sample> = self
                .samples
                .iter()
                .filter(|s| route.is_none_or(|r| s.route == r))
                .collect();
            let mut lat: Vec<u32> = of.iter().map(|s| s.latency_us).collect();
            lat.sort_unstable();
            let errors = of
                .iter()
                .filter(|s| matches!(s.outcome, Outcome::Status(_) | Outcome::Transport))
                .count();
            let empty = of.iter().filter(|s| s.outcome == Outcome::Empty).count();
            let _ = writeln!(
                o,
                "{label:<12} {:>9} {:>8.1} {errors:>7} {empty:>6} {:>8.1} {:>8.1} {:>8.1} {:>8.1}",
                of.len(),
                of.len() as f64 / self.load_s,
                ms(pct(&lat, 50.0)),
                ms(pct(&lat, 90.0)),
                ms(pct(&lat, 99.0)),
                ms(lat.last().map_or(f64::NAN, |&x| f64::from(x)))
            );
        }
        let mut server: Vec<u32> = self
            .samples
            .iter()
            .filter_map(|s| s.server_ms)
            .map(|m| (m * 1000.0) as u32)
            .collect();
        server.sort_unstable();
        let _ = writeln!(
            o,
            "/v1/similar's own elapsed_ms (the handler's timing of its work, lock waits and HTTP outside it): p50 {:.2}, p90 {:.2}, p99 {:.2}, max {:.2} ms",
            ms(pct(&server, 50.0)),
            ms(pct(&server, 90.0)),
            ms(pct(&server, 99.0)),
            ms(server.last().map_or(f64::NAN, |&x| f64::from(x)))
        );
        let _ = writeln!(
            o,
            "late (an answer came after the client's next slot): {} of {} requests",
            self.late,
            self.samples.len()
        );
        let mut codes: std::collections::BTreeMap<String, usize> = Default::default();
        for s in &self.samples {
            match s.outcome {
                Outcome::Status(c) => *codes.entry(c.to_string()).or_default() += 1,
                Outcome::Transport => *codes.entry("transport".to_owned()).or_default() += 1,
                _ => {}
            }
        }
        if !codes.is_empty() {
            let _ = writeln!(o, "errors by kind: {codes:?}");
            for e in &self.errors {
                let _ = writeln!(o, "  e.g. {e}");
            }
        }

        // Over time.
        let windows = 10u32;
        let width_ms = (a.seconds as u32 * 1000).div_ceil(windows).max(1000);
        let _ = writeln!(
            o,
            "\n{:>11} {:>8} {:>8} {:>8} {:>7} {:>9} {:>8}",
            "window s", "req/s", "p50 ms", "p99 ms", "errors", "RSS MiB", "threads"
        );
        let mut start = 0;
        while start < a.seconds as u32 * 1000 {
            let stop = start + width_ms;
            let mut lat: Vec<u32> = self
                .samples
                .iter()
                .filter(|s| s.at_ms >= start && s.at_ms < stop)
                .map(|s| s.latency_us)
                .collect();
            lat.sort_unstable();
            let errors = self
                .samples
                .iter()
                .filter(|s| s.at_ms >= start && s.at_ms < stop)
                .filter(|s| matches!(s.outcome, Outcome::Status(_) | Outcome::Transport))
                .count();
            let at = self
                .rss
                .iter()
                .rfind(|r| r.t_s <= f64::from(stop) / 1000.0)
                .copied()
                .unwrap_or_default();
            let _ = writeln!(
                o,
                "{:>5}-{:<5} {:>8.1} {:>8.1} {:>8.1} {errors:>7} {:>9.1} {:>8}",
                start / 1000,
                stop / 1000,
                lat.len() as f64 / f64::from(stop - start) * 1000.0,
                ms(pct(&lat, 50.0)),
                ms(pct(&lat, 99.0)),
                mib(at.rss_kib),
                at.threads
            );
            start = stop;
        }

        // The server's resources.
        let during: Vec<RssSample> = self
            .rss
            .iter()
            .filter(|r| r.t_s >= 0.0 && r.t_s <= self.load_s)
            .copied()
            .collect();
        let peak = self.rss.iter().map(|r| r.rss_kib).max().unwrap_or(0);
        let end = during.last().copied().unwrap_or_default();
        let half: Vec<RssSample> = during
            .iter()
            .filter(|r| r.t_s >= self.load_s / 2.0)
            .copied()
            .collect();
        let _ = writeln!(
            o,
            "\nserver RSS: {:.1} MiB listening, {:.1} MiB after the first queries (start), peak {:.1} MiB, end {:.1} MiB; slope {:+.2} MiB/min over the run, {:+.2} MiB/min over its second half ({} samples)",
            mib(self.idle.rss_kib),
            mib(self.warm.rss_kib),
            mib(peak),
            mib(end.rss_kib),
            slope(&during),
            slope(&half),
            during.len()
        );
        let threads = self.rss.iter().map(|r| r.threads).max().unwrap_or(0);
        let _ = writeln!(
            o,
            "server threads: {} at start, at most {threads}",
            self.warm.threads
        );
        let [c0, c1] = self.cpu;
        let busy = |a: Option<f64>, b: Option<f64>| match (a, b) {
            (Some(a), Some(b)) => format!(
                "{:.1} CPU s ({:.0}% of one core)",
                b - a,
                (b - a) / self.load_s * 100.0
            ),
            _ => "unknown".to_owned(),
        };
        let _ = writeln!(
            o,
            "CPU during the load: server {}, this load generator (clients and writer) {}",
            busy(c0.server_s, c1.server_s),
            busy(c0.generator_s, c1.generator_s)
        );

        // The writes.
        let mut r = self.probe.1.clone();
        r.sort_by(f64::total_cmp);
        let _ = writeln!(
            o,
            "\ncatalogue (measured here, before the load, with the server's library code): first load {:.1} ms; refresh after another connection commits {} tracks: median {:.1} ms, max {:.1} ms ({} tries)",
            self.probe.0,
            a.write_batch.max(1),
            r.get(r.len() / 2).copied().unwrap_or(f64::NAN),
            r.last().copied().unwrap_or(f64::NAN),
            r.len()
        );
        if let Some(w) = &self.written {
            let mut c = w.commit_ms.clone();
            c.sort_by(f64::total_cmp);
            let q = |p: f64| {
                c.get(((p / 100.0 * c.len() as f64).ceil() as usize).clamp(1, c.len().max(1)) - 1)
                    .copied()
                    .unwrap_or(f64::NAN)
            };
            let _ = writeln!(
                o,
                "writer thread: {} new tracks and {} rewritten in {} batches (commit p50 {:.1} ms, max {:.1} ms), {} failed batches{}",
                w.added,
                w.rewritten,
                w.batches,
                q(50.0),
                q(100.0),
                w.failed,
                w.first_error
                    .as_ref()
                    .map(|e| format!(" (first: {e})"))
                    .unwrap_or_default()
            );
        }
        if let Some(i) = &self.indexed {
            let _ = writeln!(
                o,
                "index run: {} analysed, {} failed in {:.1} s{}",
                i.analysed,
                i.failed,
                i.elapsed_s,
                if i.ok {
                    String::new()
                } else {
                    format!(" (exit status not 0: {})", i.stderr_tail)
                }
            );
        }
        let expected = self.status0
            + self.written.as_ref().map_or(0, |w| w.added as u64)
            + self.indexed.as_ref().map_or(0, |i| i.analysed);
        let _ = writeln!(
            o,
            "GET /v1/status tracks: {} before the load, {} after (expected {expected}: the library, the writer's and the index run's tracks)",
            self.status0,
            match &self.status1 {
                Ok(n) => n.to_string(),
                Err(e) => format!("error: {e}"),
            }
        );
        if let Some((name, ans)) = &self.last_written {
            let _ = writeln!(
                o,
                "/v1/similar for the writer's last track {name:?}: {}",
                answer_line(ans)
            );
        }
        if let Some((name, ans)) = &self.first_wav {
            let _ = writeln!(
                o,
                "/v1/similar for the indexed {name:?}: {}",
                answer_line(ans)
            );
        }
        if !self.log.is_empty() {
            let _ = writeln!(
                o,
                "server standard error ({} lines), last: {}",
                self.log.len(),
                self.log
                    .iter()
                    .rev()
                    .take(3)
                    .cloned()
                    .collect::<Vec<_>>()
                    .join(" | ")
            );
        }
        o
    }
}
