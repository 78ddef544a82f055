//! Summarise a sonority library database: tracks, models, vectors, failed files.
//!
//! ```text
//! cargo run --release -p sonority-store --example inspect -- library.db
//! ```

use sonority_store::{SqliteStore, VectorStore};

fn run() -> Result<(), Box<dyn std::error::Error>> {
    let path = std::env::args_os()
        .nth(1)
        .ok_or("usage: inspect LIBRARY.db")?;
    let store = SqliteStore::open_read_only(&path)?;
    println!(
        "{}: {} tracks",
        store.path().display(),
        store.track_count()?
    );
    for m in store.models()? {
        let t = std::time::Instant::now();
        let matrix = store.load_matrix(&m.name)?;
        println!(
            "model {:?}: dim {}, {} vectors, loaded in {:.1} ms, config {}",
            m.name,
            m.dim,
            matrix.len(),
            t.elapsed().as_secs_f64() * 1e3,
            m.config_json
        );
    }
    let errors = store.errors()?;
    println!("{} failed files", errors.len());
    for e in errors.iter().take(20) {
        println!("  {}: {}", e.path.display(), e.reason);
    }
    Ok(())
}

fn main() {
    if let Err(e) = run() {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}
