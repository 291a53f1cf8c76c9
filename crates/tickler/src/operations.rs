//! The operator's commands about the database itself: migrate, backup, restore.

use std::path::Path;

use anyhow::{Result, anyhow, bail};
use serde_json::json;
use tickler_store::{
    Backend, Store,
    backup::{self, sqlite_file_of},
    redact_url,
};

use crate::{commands::engine, output};

/// Applies the migrations (or with `dry_run` lists them), then warns of plan steps that can
/// never be sent.
pub async fn migrate(database: &str, dry_run: bool) -> Result<()> {
    if dry_run {
        return list_pending_migrations(database).await;
    }
    Store::open(database).await?;
    eprintln!("database {} is up to date", redact_url(database));
    // Steps saved before plans refused them would silently never be sent: say so.
    for step in engine(database).await?.unschedulable_steps().await? {
        eprintln!(
            "warning: plan \"{}\" step {} ({}) is never sent: {}; change it on the \
             Plans page",
            step.plan, step.position, step.step, step.why
        );
    }
    Ok(())
}

async fn list_pending_migrations(database: &str) -> Result<()> {
    let backend = Backend::of_url(database).ok_or_else(|| tickler_store::unknown_url(database))?;
    // A missing SQLite file is not created by a dry run: it would get every migration.
    let (applied, pending) = match sqlite_file_of(database) {
        Some(file) if backend == Backend::Sqlite && !file.exists() => (None, backend.migrations()),
        _ => {
            let status = Store::connect(database).await?.schema_status().await?;
            status.refuse_if_newer()?;
            (status.applied, status.pending)
        }
    };
    let at = applied.map_or("a new database".to_string(), |v| {
        format!("at schema version {v}")
    });
    if pending.is_empty() {
        println!(
            "{} is up to date ({at}); nothing would run",
            redact_url(database)
        );
        return Ok(());
    }
    println!(
        "{} is {at}; `tickler migrate` would apply {} migration{}:",
        redact_url(database),
        pending.len(),
        if pending.len() == 1 { "" } else { "s" }
    );
    for migration in pending {
        println!("  {:04} {}", migration.version, migration.description);
    }
    Ok(())
}

/// `tickler backup FILE`.
pub async fn backup(database: &str, file: &Path, json: bool) -> Result<()> {
    let engine = engine(database).await?;
    if let Some(command) = engine.pg_dump_command() {
        eprintln!(
            "The database is PostgreSQL: Tickler backs up only its embedded SQLite file. Use \
             PostgreSQL's own tools: pg_dump for this database (below; it reads the password \
             from PGPASSWORD or ~/.pgpass), or pg_basebackup for the whole server with \
             point-in-time recovery. Nothing was backed up."
        );
        println!("{command}");
        std::process::exit(1);
    }
    let report = engine.back_up(file).await?;
    if json {
        output::json(&report)?;
    } else {
        println!(
            "backup written to {}: {} bytes, checked, taken at {} in {:.1} s",
            report.file.display(),
            report.size,
            report.taken_at,
            report.seconds
        );
    }
    Ok(())
}

/// `tickler restore FILE [--force]`.
pub async fn restore(database: &str, file: &Path, force: bool, json: bool) -> Result<()> {
    if Backend::of_url(database) == Some(Backend::Postgres) {
        bail!(
            "the database is PostgreSQL: restore a pg_dump archive with `pg_restore --clean \
             --if-exists --dbname '{}' FILE`, then run `tickler migrate`. To move an SQLite \
             backup into PostgreSQL, restore it into an SQLite file, then use `tickler export \
             all` and `tickler import all`",
            Store::connect(database)
                .await
                .ok()
                .and_then(|store| store.url_without_password())
                .unwrap_or_else(|| redact_url(database))
        );
    }
    let target = sqlite_file_of(database).ok_or_else(|| {
        anyhow!(
            "restore needs the database as an SQLite file (sqlite://FILE), not \"{}\"",
            redact_url(database)
        )
    })?;
    let facts = backup::check_file(file)
        .await
        .map_err(|e| anyhow!("{e}: nothing was restored"))?;
    let Some(version) = facts.schema_version else {
        bail!(
            "{} is not a Tickler database (it has no migrations): nothing was restored",
            file.display()
        );
    };
    let known = Backend::Sqlite.known_schema_version();
    if version > known {
        bail!(
            "{} is at schema version {version}, newer than this Tickler knows (up to {known}): \
             restore it with the version that made it; nothing was restored",
            file.display()
        );
    }
    if target.exists() {
        // A damaged file cannot say whether it holds data: it is the likeliest reason for a
        // restore, and replacing it is still the operator's call.
        match backup::check_file(&target).await {
            Ok(current) => {
                refuse_if_in_use(&target, current.last_job_started)?;
                if current.holds_data && !force {
                    bail!(
                        "{} holds data (users, customers, contracts or invoices): restore \
                         replaces it only with --force. Keep a copy (`tickler backup`) if you \
                         may need it",
                        target.display()
                    );
                }
            }
            Err(e) if !force => bail!(
                "{} cannot be read ({e}); restore replaces it only with --force",
                target.display()
            ),
            Err(_) => {}
        }
    }
    backup::replace_file(file, &target).await?;
    // Opening migrates a backup made by an older version.
    let engine = engine(database).await?;
    let report = engine.resume_after_restore().await?;
    if json {
        return output::json(&json!({
            "database": target,
            "backup": file,
            "backup_schema_version": version,
            "schema_version": known,
            "taken_at": report.taken_at,
            "requeued": report.requeued,
            "due_since_backup": report.due_since_backup,
            "due_now": report.due_now,
        }));
    }
    println!(
        "restored {} from {} (schema version {version}{})",
        target.display(),
        file.display(),
        if version < known {
            format!(", migrated to {known}")
        } else {
            String::new()
        }
    );
    match report.taken_at {
        Some(taken) => println!("the backup was taken at {taken}"),
        None => {
            println!("the backup's moment is not recorded in it (not made by `tickler backup`)")
        }
    }
    if !report.requeued.is_empty() {
        println!(
            "{} reminder(s) were being sent as the backup was taken and are back in the queue \
             with their Message-ID: {}",
            report.requeued.len(),
            ids(&report.requeued)
        );
    }
    println!(
        "{} reminder(s) fell due between the backup and now: {}",
        report.due_since_backup.len(),
        ids(&report.due_since_backup)
    );
    if report.due_now > 0 {
        println!(
            "{} reminder(s) are due now and go out as soon as serve or dispatch runs. The lost \
             database may have sent some of them already: check with `tickler reminder list \
             --status scheduled` and skip those that went out (`tickler reminder skip ID \
             --reason \"sent before the restore\"`) before you start serve.",
            report.due_now
        );
    }
    Ok(())
}

/// Refuses to replace a database that a `serve` or `dispatch` is using: it would go on
/// writing into the replaced file, and what it sent would be forgotten. Their recurring jobs
/// start every 15 s at most, so a minute of silence means none runs.
fn refuse_if_in_use(target: &Path, last_job_started: Option<jiff::Timestamp>) -> Result<()> {
    let Some(started) = last_job_started else {
        return Ok(());
    };
    let quiet_for = jiff::Timestamp::now().duration_since(started);
    if quiet_for < jiff::SignedDuration::from_secs(60) {
        bail!(
            "{} is in use: a serve or dispatch ran one of its jobs on it {} s ago. Stop every \
             instance first (after a crash, wait a minute), then restore",
            target.display(),
            quiet_for.as_secs().max(0)
        );
    }
    Ok(())
}

fn ids(ids: &[i64]) -> String {
    if ids.is_empty() {
        return "none".to_string();
    }
    ids.iter()
        .map(i64::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}
