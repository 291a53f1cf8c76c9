//! Backups of the embedded SQLite database and restores from them. A backup is taken with
//! `VACUUM INTO` from a read transaction, so writers (the dispatcher, the web app) go on
//! while it runs and the copy is one consistent moment; a plain copy of the file could catch
//! a half-written page or miss what still sits in the write-ahead log. Every copy is opened
//! and checked with `PRAGMA integrity_check` before it is called done.
//!
//! On PostgreSQL the server's own tools (`pg_dump`, `pg_basebackup`) do this job better.

use std::path::{Path, PathBuf};

use jiff::Timestamp;
use serde::Serialize;
use sqlx::{
    AssertSqlSafe, ConnectOptions, Connection, Row,
    sqlite::{SqliteConnectOptions, SqliteConnection},
};

use crate::{Backend, Db, Store, StoreError, instant_from_millis, time::millis};

/// A backup as the `backups` table records it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BackupRecord {
    pub id: i64,
    pub file: String,
    pub started_at: Timestamp,
    pub finished_at: Option<Timestamp>,
    pub size: Option<i64>,
    pub status: String,
    pub error: Option<String>,
    pub taken_by: String,
}

/// Notes that a backup into `file` starts now; the copy will hold this row, which is how a
/// restore learns the moment it was taken.
pub async fn record_start(
    db: &mut Db,
    file: &str,
    now: Timestamp,
    taken_by: &str,
) -> Result<i64, StoreError> {
    Ok(sqlx::query_scalar(
        "INSERT INTO backups (file, started_at, status, taken_by) \
         VALUES ($1, $2, 'started', $3) RETURNING id",
    )
    .bind(file)
    .bind(millis(now))
    .bind(taken_by)
    .fetch_one(db)
    .await?)
}

/// Records how the backup `id` ended: its size when it was checked, or why it failed.
pub async fn record_end(
    db: &mut Db,
    id: i64,
    now: Timestamp,
    outcome: Result<u64, &str>,
) -> Result<(), StoreError> {
    let (status, size, error) = match outcome {
        Ok(size) => ("done", Some(i64::try_from(size).unwrap_or(i64::MAX)), None),
        Err(why) => ("failed", None, Some(why)),
    };
    sqlx::query(
        "UPDATE backups SET finished_at = $1, status = $2, size = $3, error = $4 WHERE id = $5",
    )
    .bind(millis(now))
    .bind(status)
    .bind(size)
    .bind(error)
    .bind(id)
    .execute(db)
    .await?;
    Ok(())
}

/// The latest backup that finished well, and the latest one of any outcome (they differ
/// when the last attempt failed).
pub async fn latest(
    db: &mut Db,
) -> Result<(Option<BackupRecord>, Option<BackupRecord>), StoreError> {
    const COLUMNS: &str =
        "id, file, started_at, finished_at, size, status, error, taken_by FROM backups";
    let done = sqlx::query(AssertSqlSafe(format!(
        "SELECT {COLUMNS} WHERE status = 'done' ORDER BY id DESC LIMIT 1"
    )))
    .fetch_optional(&mut *db)
    .await?;
    let last = sqlx::query(AssertSqlSafe(format!(
        "SELECT {COLUMNS} WHERE status <> 'restored' ORDER BY id DESC LIMIT 1"
    )))
    .fetch_optional(&mut *db)
    .await?;
    Ok((
        done.map(|row| record(&row)).transpose()?,
        last.map(|row| record(&row)).transpose()?,
    ))
}

/// The moment the backup that this database was restored from was taken: the newest
/// backup row it holds, which its own backup wrote as it started.
async fn taken_at(db: &mut Db) -> Result<Option<Timestamp>, StoreError> {
    let started: Option<i64> = sqlx::query_scalar(
        "SELECT started_at FROM backups WHERE status = 'started' ORDER BY id DESC LIMIT 1",
    )
    .fetch_optional(db)
    .await?;
    started.map(instant_from_millis).transpose()
}

/// Marks the backup this database was restored from as such (in the copy it was still
/// being taken), so that it is not shown as a backup in progress; returns its moment.
pub async fn mark_restored(db: &mut Db) -> Result<Option<Timestamp>, StoreError> {
    let taken = taken_at(&mut *db).await?;
    sqlx::query("UPDATE backups SET status = 'restored' WHERE status = 'started'")
        .execute(db)
        .await?;
    Ok(taken)
}

fn record(row: &sqlx::any::AnyRow) -> Result<BackupRecord, StoreError> {
    Ok(BackupRecord {
        id: row.try_get("id")?,
        file: row.try_get("file")?,
        started_at: instant_from_millis(row.try_get("started_at")?)?,
        finished_at: row
            .try_get::<Option<i64>, _>("finished_at")?
            .map(instant_from_millis)
            .transpose()?,
        size: row.try_get("size")?,
        status: row.try_get("status")?,
        error: row.try_get("error")?,
        taken_by: row.try_get("taken_by")?,
    })
}

impl Store {
    /// Copies the live SQLite database into `partial` (which must not exist) as one
    /// consistent snapshot, without stopping writers.
    pub async fn copy_into(&self, partial: &Path) -> Result<(), StoreError> {
        if self.backend != Backend::Sqlite {
            return Err(StoreError::Config(
                "only the embedded SQLite database is copied by Tickler; back up PostgreSQL \
                 with pg_dump"
                    .to_string(),
            ));
        }
        sqlx::query("VACUUM INTO $1")
            .bind(path_text(partial)?)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// The file of an SQLite database URL (`sqlite://tickler.db` → `tickler.db`).
    pub fn sqlite_file(&self) -> Option<PathBuf> {
        sqlite_file_of(&self.url.0)
    }
}

/// The file an `sqlite://` URL names, without its query; `None` for other URLs and for an
/// in-memory database.
pub fn sqlite_file_of(url: &str) -> Option<PathBuf> {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))?;
    let file = rest.split('?').next().unwrap_or_default();
    (!file.is_empty() && !file.contains(":memory:")).then(|| PathBuf::from(file))
}

fn path_text(path: &Path) -> Result<&str, StoreError> {
    path.to_str().ok_or_else(|| {
        StoreError::Config(format!(
            "{}: the path must be valid UTF-8",
            path.to_string_lossy()
        ))
    })
}

async fn open_file(file: &Path, read_only: bool) -> Result<SqliteConnection, StoreError> {
    SqliteConnectOptions::new()
        .filename(file)
        .read_only(read_only)
        .create_if_missing(false)
        .connect()
        .await
        .map_err(|e| StoreError::Config(format!("{}: cannot open: {e}", file.display())))
}

/// What a database file holds, read without changing it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileFacts {
    /// The highest migration applied; `None` if it has none (not a Tickler database).
    pub schema_version: Option<i64>,
    /// Whether it holds the team's data: any user, customer, contract or invoice.
    pub holds_data: bool,
    /// When a `serve` or `dispatch` last started a recurring job on it: these run every few
    /// seconds while one is running.
    pub last_job_started: Option<Timestamp>,
}

/// Opens the SQLite file read-only, runs `PRAGMA integrity_check` and reads its schema
/// version and whether it holds data. A file that is not an SQLite database, or a damaged
/// one, is an error that says so.
pub async fn check_file(file: &Path) -> Result<FileFacts, StoreError> {
    let mut conn = open_file(file, true).await?;
    let outcome = inspect(&mut conn, file).await;
    let _ = conn.close().await;
    outcome
}

async fn inspect(conn: &mut SqliteConnection, file: &Path) -> Result<FileFacts, StoreError> {
    let problems: Vec<String> = sqlx::query_scalar("PRAGMA integrity_check")
        .fetch_all(&mut *conn)
        .await
        .map_err(|e| {
            StoreError::Corrupt(format!(
                "{} is not a readable SQLite database: {e}",
                file.display()
            ))
        })?;
    if problems.iter().any(|line| line != "ok") {
        return Err(StoreError::Corrupt(format!(
            "{} failed its integrity check: {}",
            file.display(),
            problems.join("; ")
        )));
    }
    let tables: Vec<String> =
        sqlx::query_scalar("SELECT name FROM sqlite_master WHERE type = 'table'")
            .fetch_all(&mut *conn)
            .await?;
    let schema_version = if tables.iter().any(|t| t == "_sqlx_migrations") {
        sqlx::query_scalar("SELECT MAX(version) FROM _sqlx_migrations WHERE success")
            .fetch_one(&mut *conn)
            .await?
    } else {
        None
    };
    let mut holds_data = false;
    for table in ["users", "customers", "contracts", "invoices"] {
        if tables.iter().any(|t| t == table) {
            let any: Option<i64> =
                sqlx::query_scalar(AssertSqlSafe(format!("SELECT 1 FROM {table} LIMIT 1")))
                    .fetch_optional(&mut *conn)
                    .await?;
            holds_data |= any.is_some();
        }
    }
    let last_job_started = if tables.iter().any(|t| t == "recurring_jobs") {
        sqlx::query_scalar::<_, Option<i64>>("SELECT MAX(last_started_at) FROM recurring_jobs")
            .fetch_one(&mut *conn)
            .await?
            .map(instant_from_millis)
            .transpose()?
    } else {
        None
    };
    Ok(FileFacts {
        schema_version,
        holds_data,
        last_job_started,
    })
}

/// Makes `target` a copy of the database file `backup` (already checked by [`check_file`]):
/// written beside it under a temporary name, checked, then renamed over it, so that a
/// failure leaves the old file as it was. The old file's write-ahead log and shared-memory
/// files are removed first: left beside the new file, SQLite would replay the old
/// database's pages into it.
///
/// A backup made by `tickler backup` is one self-contained file and is copied byte for byte
/// (a million contracts: 3 GB in seconds). A file with a write-ahead log beside it (a
/// database copied from a stopped server, say) is read through SQLite instead, which folds
/// the log in.
pub async fn replace_file(backup: &Path, target: &Path) -> Result<(), StoreError> {
    let partial = partial_name(target);
    remove_if_present(&partial)?;
    let copied = copy_database(backup, &partial).await;
    if let Err(e) = copied {
        let _ = std::fs::remove_file(&partial);
        return Err(e);
    }
    for suffix in ["-wal", "-shm", "-journal"] {
        remove_if_present(&with_suffix(target, suffix))?;
    }
    std::fs::rename(&partial, target).map_err(|e| io_error(target, "cannot replace", e))
}

async fn copy_database(backup: &Path, partial: &Path) -> Result<(), StoreError> {
    let has_log = std::fs::metadata(with_suffix(backup, "-wal")).is_ok_and(|m| m.len() > 0);
    if has_log {
        let mut source = open_file(backup, true).await?;
        let copied = sqlx::query("VACUUM INTO $1")
            .bind(path_text(partial)?)
            .execute(&mut source)
            .await;
        let _ = source.close().await;
        copied?;
    } else {
        std::fs::copy(backup, partial).map_err(|e| io_error(partial, "cannot write", e))?;
        std::fs::File::open(partial)
            .and_then(|f| f.sync_all())
            .map_err(|e| io_error(partial, "cannot sync", e))?;
    }
    // The source passed the full check; this one catches a copy the disk garbled, at a
    // fraction of the cost (it skips matching every index against its table).
    let mut copy = open_file(partial, true).await?;
    let problems: Vec<String> = sqlx::query_scalar("PRAGMA quick_check")
        .fetch_all(&mut copy)
        .await?;
    let _ = copy.close().await;
    if problems.iter().any(|line| line != "ok") {
        return Err(StoreError::Corrupt(format!(
            "the copy {} failed its check: {}",
            partial.display(),
            problems.join("; ")
        )));
    }
    Ok(())
}

/// Takes the finished copy `partial` to its final name `file`, refusing to replace a file
/// that appeared there meanwhile.
pub fn publish(partial: &Path, file: &Path) -> Result<u64, StoreError> {
    std::fs::File::open(partial)
        .and_then(|f| f.sync_all())
        .map_err(|e| io_error(partial, "cannot sync", e))?;
    std::fs::hard_link(partial, file).map_err(|e| io_error(file, "cannot create", e))?;
    std::fs::remove_file(partial).map_err(|e| io_error(partial, "cannot remove", e))?;
    std::fs::metadata(file)
        .map(|m| m.len())
        .map_err(|e| io_error(file, "cannot read", e))
}

/// The temporary name a copy is written under until it is checked: beside its final name
/// (so the final rename stays on one file system), hidden, and not ending in `.db`.
pub fn partial_name(file: &Path) -> PathBuf {
    let name = file
        .file_name()
        .map(|n| n.to_string_lossy().to_string())
        .unwrap_or_else(|| "tickler".to_string());
    file.with_file_name(format!(".{name}.partial"))
}

fn with_suffix(file: &Path, suffix: &str) -> PathBuf {
    let mut name = file.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

pub fn remove_if_present(file: &Path) -> Result<(), StoreError> {
    match std::fs::remove_file(file) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            Err(io_error(file, "cannot remove", e))
        }
        _ => Ok(()),
    }
}

fn io_error(file: &Path, what: &str, e: std::io::Error) -> StoreError {
    StoreError::Config(format!("{}: {what}: {e}", file.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_file_of_a_sqlite_url_is_found_without_its_options() {
        assert_eq!(
            sqlite_file_of("sqlite://tickler.db"),
            Some(PathBuf::from("tickler.db"))
        );
        assert_eq!(
            sqlite_file_of("sqlite:///data/tickler.db?mode=rwc"),
            Some(PathBuf::from("/data/tickler.db"))
        );
        assert_eq!(sqlite_file_of("sqlite::memory:"), None);
        assert_eq!(sqlite_file_of("postgres://u@h/db"), None);
    }

    #[test]
    fn a_copy_is_written_under_a_hidden_name_beside_its_final_one() {
        assert_eq!(
            partial_name(Path::new("/b/tickler-1.db")),
            PathBuf::from("/b/.tickler-1.db.partial")
        );
        assert_eq!(
            with_suffix(Path::new("/d/t.db"), "-wal"),
            PathBuf::from("/d/t.db-wal")
        );
    }
}
