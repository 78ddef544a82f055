//! Songs that sound like this one: index a folder (if new or changed) and recommend.
//!
//! ```text
//! cargo run --release --example recommend -- ~/Music ~/Music/song.flac [more anchors...] [-k 10] [--m3u OUT.m3u8] [--json]
//! ```
//!
//! Uses the shipped default model and an embedded SQLite database (default
//! `~/.local/share/sonority/library.sqlite`, or `--db`). The anchors may be inside the folder or
//! outside it (then they are analysed on the fly); several anchors act as a playlist seed. The
//! anchors themselves, and exact copies of them, are never recommended.
//!
//! From a shared PostgreSQL catalogue (`--features postgres`, see `docs/distributed.md`),
//! anchors are catalogue paths (`music/album/song.flac`) or local files under `--roots`:
//!
//! ```text
//! cargo run --release --features postgres --example recommend -- --db postgres://... --no-index music/album/song.flac [--roots music=/mnt/music] [--repeat 10 --interval-s 30]
//! ```

mod common;

use std::path::PathBuf;
use std::time::Instant;

use clap::Parser;
use sonority::IndexOptions;
use sonority::StopFlag;

/// Index a music folder and print the tracks most similar to the anchor(s).
#[derive(Parser, Debug)]
#[command(version, about)]
struct Args {
    /// The music folder (indexed first if new or changed).
    music_dir: PathBuf,
    /// One or more anchor tracks (inside or outside the folder).
    anchors: Vec<PathBuf>,
    /// Number of recommendations.
    #[arg(short, default_value_t = 10)]
    k: usize,
    /// The database (default: $SONORITY_DB or ~/.local/share/sonority/library.sqlite).
    #[arg(long)]
    db: Option<PathBuf>,
    /// A model directory made by the `train` example (default: the shipped model).
    #[arg(long)]
    model: Option<PathBuf>,
    /// Replace the vectors of a same-named model with other weights (analyse every track
    /// again) instead of refusing to mix them.
    #[arg(long)]
    reanalyse: bool,
    /// Do not recommend tracks from the anchors' own album (by tag).
    #[arg(long)]
    exclude_album: bool,
    /// Skip the indexing step and rank what the database holds.
    #[arg(long)]
    no_index: bool,
    /// Write the recommendations as extended M3U8 to this file.
    #[arg(long, value_name = "OUT.m3u8")]
    m3u: Option<PathBuf>,
    /// Print one JSON document (schema in examples/README.md) instead of the list.
    #[arg(long)]
    json: bool,
    /// PostgreSQL: where this machine mounts each root (`music=/mnt/music`), to name anchors
    /// by their local path.
    #[arg(long, default_value = "")]
    roots: String,
    /// PostgreSQL: run the query this many times, refreshing the index (only what indexers
    /// wrote since) before each.
    #[arg(long, default_value_t = 1)]
    repeat: usize,
    /// PostgreSQL: seconds between repeats.
    #[arg(long, default_value_t = 10.0)]
    interval_s: f64,
}

fn main() {
    if let Err(e) = run() {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}

fn run() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse();
    if args.db.as_ref().is_some_and(|d| common::is_postgres_url(d)) {
        return distributed(&args);
    }
    if args.anchors.is_empty() {
        return Err("give the music folder and at least one anchor".into());
    }
    let model = common::load_model(args.model.as_ref())?;
    let db = args.db.clone().unwrap_or_else(common::default_db);
    let mut lib = common::open_library(&db, &model, args.reanalyse)?;
    if !args.no_index {
        let stop = StopFlag::new();
        let handler_stop = stop.clone();
        ctrlc::set_handler(move || handler_stop.stop())?;
        let bar = common::index_bar();
        let report = lib.index(&args.music_dir, &IndexOptions::default(), &stop, |p| {
            common::update_bar(&bar, p)
        })?;
        bar.finish_and_clear();
        if report.analysed + report.failed.len() > 0 {
            if args.json {
                common::print_summary_to_stderr(&report);
            } else {
                common::print_summary(&report);
            }
        }
    }
    let t = Instant::now();
    let recs = lib.recommend(&args.anchors, args.k, args.exclude_album)?;
    output(&args, &recs, t.elapsed().as_secs_f64())
}

/// The recommendations as `--m3u`, `--json` or the printed list ask.
fn output(
    args: &Args,
    recs: &[sonority::Recommendation],
    secs: f64,
) -> Result<(), Box<dyn std::error::Error>> {
    if let Some(out) = &args.m3u {
        common::write_m3u(out, &recs.iter().map(|r| &r.track).collect::<Vec<_>>())?;
    }
    if args.json {
        let tracks = recs
            .iter()
            .enumerate()
            .map(|(i, r)| common::track_json(i + 1, &r.track, r.score))
            .collect();
        common::print_json(&common::document("recommend", &args.anchors, secs, tracks));
    } else {
        print_recommendations(&args.anchors, recs, secs);
    }
    Ok(())
}

fn print_recommendations(anchors: &[PathBuf], recs: &[sonority::Recommendation], secs: f64) {
    let anchors: Vec<String> = anchors.iter().map(|a| a.display().to_string()).collect();
    println!(
        "\nTracks most like {} ({:.0} ms):",
        anchors.join(" + "),
        secs * 1e3
    );
    for (i, r) in recs.iter().enumerate() {
        let tags = &r.track.record.tags;
        let title = tags.title.clone().unwrap_or_else(|| {
            r.track
                .record
                .file
                .path
                .file_name()
                .map_or_else(String::new, |n| n.to_string_lossy().into_owned())
        });
        let who = [tags.artist.as_deref(), tags.album.as_deref()]
            .iter()
            .flatten()
            .copied()
            .collect::<Vec<_>>()
            .join(" / ");
        let why: Vec<String> = r
            .explanation
            .iter()
            .filter(|(_, c)| *c > 0.0)
            .take(2)
            .map(|(n, c)| format!("{n} {:+.2}", c))
            .collect();
        println!(
            "{:>2}. {:>5.1}  {title}{}  [{}]",
            i + 1,
            r.similarity_0_100,
            if who.is_empty() {
                String::new()
            } else {
                format!(" — {who}")
            },
            if why.is_empty() {
                "no single block dominates".to_string()
            } else {
                format!("closest in {}", why.join(", "))
            }
        );
        println!("           {}", r.track.record.file.path.display());
    }
}

#[cfg(not(feature = "postgres"))]
fn distributed(_: &Args) -> Result<(), Box<dyn std::error::Error>> {
    Err(common::NEEDS_POSTGRES_FEATURE.into())
}

/// Ranking from a shared PostgreSQL catalogue: one bulk load, then incremental refreshes.
#[cfg(feature = "postgres")]
fn distributed(args: &Args) -> Result<(), Box<dyn std::error::Error>> {
    use sonority::distributed::{PgCatalogueIndex, anchor_key};
    use sonority::store::{PgStore, RootMap};

    if !args.no_index {
        return Err(
            "with a postgres:// catalogue, indexing is done by `index --worker`: pass --no-index"
                .into(),
        );
    }
    // Without a music folder, the first positional argument is an anchor too.
    let anchors: Vec<PathBuf> = std::iter::once(&args.music_dir)
        .chain(&args.anchors)
        .cloned()
        .collect();
    let model = common::load_model(args.model.as_ref())?;
    let roots = RootMap::parse(&args.roots)?;
    let url = args
        .db
        .as_ref()
        .and_then(|d| d.to_str())
        .unwrap_or_default();
    let t = Instant::now();
    let mut catalogue = PgCatalogueIndex::load(PgStore::connect(url)?, model.name())?;
    println!(
        "loaded {} vectors of {} from {} in {:.0} ms ({:.1} MiB)",
        catalogue.index().len(),
        model.name(),
        catalogue.store().target(),
        t.elapsed().as_secs_f64() * 1e3,
        catalogue.index().memory_bytes() as f64 / (1 << 20) as f64
    );
    for round in 0..args.repeat.max(1) {
        if round > 0 {
            std::thread::sleep(std::time::Duration::from_secs_f64(args.interval_s.max(0.0)));
            let t = Instant::now();
            let (changed, removed) = catalogue.refresh()?;
            println!(
                "refreshed: {changed} vectors new or changed, {removed} removed, {} in all ({:.0} ms)",
                catalogue.index().len(),
                t.elapsed().as_secs_f64() * 1e3
            );
        }
        let t = Instant::now();
        let index = catalogue.index();
        let resolved = sonority::Analyzer::new(&model)
            .resolve_anchors(index, &anchors, &|a| anchor_key(index, &roots, a))?;
        let recs = index.rank(
            &resolved,
            args.k,
            args.exclude_album,
            model.layout().as_deref(),
        )?;
        output(args, &recs, t.elapsed().as_secs_f64())?;
    }
    Ok(())
}
