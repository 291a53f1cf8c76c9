//! `export all` and `import all`: a whole installation as a folder of CSV files, to move it
//! between SQLite and PostgreSQL. The work is the engine's ([`tickler_engine::transfer`]);
//! this prints what was moved: a table a line on stderr, or the manifest with `--json`.

use std::{path::Path, time::Instant};

use anyhow::{Result, anyhow};
use tickler_engine::{Actor, Engine, transfer::Manifest};

/// The version written into a manifest and compared when one is imported.
const TICKLER_VERSION: &str = env!("CARGO_PKG_VERSION");

pub async fn export_all(engine: &Engine, output: &Path, json: bool) -> Result<()> {
    let started = Instant::now();
    let manifest = engine
        .export_all(output, TICKLER_VERSION)
        .await
        .map_err(|e| anyhow!("{e}"))?;
    summary(&manifest, started);
    eprintln!(
        "exported {} rows of {} tables (schema version {}) to {}",
        manifest.total_rows(),
        manifest.tables.len(),
        manifest.schema_version,
        output.display()
    );
    if json {
        crate::output::json(&manifest)?;
    }
    Ok(())
}

pub async fn import_all(engine: &Engine, dir: &Path, json: bool, actor: &Actor) -> Result<()> {
    let started = Instant::now();
    let manifest = engine
        .import_all(dir, TICKLER_VERSION, actor)
        .await
        .map_err(|e| anyhow!("{e}"))?;
    summary(&manifest, started);
    eprintln!(
        "imported {} rows of {} tables, exported from {} at {}",
        manifest.total_rows(),
        manifest.tables.len(),
        manifest.backend,
        manifest.exported_at
    );
    if json {
        crate::output::json(&manifest)?;
    }
    Ok(())
}

fn summary(manifest: &Manifest, started: Instant) {
    for table in &manifest.tables {
        eprintln!("{:<28} {:>10} rows", table.name, table.rows);
    }
    eprintln!("took {:.1} s", started.elapsed().as_secs_f64());
}
