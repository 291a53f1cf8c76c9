//! Backups of the embedded database, by hand (`tickler backup`) or daily by `serve`, and
//! putting a restored database back to work.

use std::{
    path::{Path, PathBuf},
    time::Instant,
};

use jiff::{Timestamp, civil::Time, tz::TimeZone};
use serde::Serialize;
use tickler_core::backup_schedule;
pub use tickler_store::backup::BackupRecord;
use tickler_store::{Backend, backup, jobs, reminders, webhooks};
use tokio::sync::watch;

use crate::{Engine, EngineError};

/// A backup that was taken and checked.
#[derive(Debug, Clone, Serialize)]
pub struct BackupReport {
    pub file: PathBuf,
    pub size: u64,
    pub taken_at: Timestamp,
    pub seconds: f64,
}

/// What a restored database needed before it could go back to work.
#[derive(Debug, Clone, Serialize)]
pub struct RestoreReport {
    /// When the backup was taken; `None` for a copy not made by `tickler backup`.
    pub taken_at: Option<Timestamp>,
    /// Reminders that were being sent as the backup was taken, back in the queue.
    pub requeued: Vec<i64>,
    /// Reminders that fell due after the backup was taken and are due now: the old database
    /// may have sent them already.
    pub due_since_backup: Vec<i64>,
    /// Every reminder due now (those above, and ones already overdue at the backup).
    pub due_now: i64,
}

/// `serve`'s daily backups.
#[derive(Debug, Clone)]
pub struct BackupSchedule {
    pub dir: PathBuf,
    pub keep: usize,
    /// The local time of day, in the organisation's time zone.
    pub at: Time,
}

impl Engine {
    /// Takes a consistent copy of the live SQLite database into `file` while everything
    /// else goes on, checks it, and records it. `file` must not exist: a backup never
    /// replaces a file. On PostgreSQL, refused with the `pg_dump` command to use instead.
    pub async fn back_up(&self, file: &Path) -> Result<BackupReport, EngineError> {
        if self.store.backend() != Backend::Sqlite {
            return Err(EngineError::Conflict(format!(
                "the database is PostgreSQL: back it up with its own tools, e.g. `{}` (or \
                 pg_basebackup for the whole server)",
                self.pg_dump_command().unwrap_or_default()
            )));
        }
        if file.exists() {
            return Err(EngineError::Conflict(format!(
                "{} exists: a backup never replaces a file; choose a new name",
                file.display()
            )));
        }
        let started = Instant::now();
        let taken_at = Timestamp::now();
        let name = file.display().to_string();
        let id = backup::record_start(
            &mut *self.store.conn().await?,
            &name,
            taken_at,
            &self.settings.worker_id,
        )
        .await?;
        let partial = backup::partial_name(file);
        let outcome = self.copy_and_check(&partial, file).await;
        let recorded = backup::record_end(
            &mut *self.store.conn().await?,
            id,
            Timestamp::now(),
            outcome.as_ref().map(|size| *size).map_err(|e| e.as_str()),
        )
        .await;
        metrics::counter!(
            "tickler_backups_total",
            "outcome" => if outcome.is_ok() { "done" } else { "failed" }
        )
        .increment(1);
        let size = outcome.map_err(EngineError::Conflict)?;
        recorded?;
        Ok(BackupReport {
            file: file.to_path_buf(),
            size,
            taken_at,
            seconds: started.elapsed().as_secs_f64(),
        })
    }

    async fn copy_and_check(&self, partial: &Path, file: &Path) -> Result<u64, String> {
        let attempt = async {
            backup::remove_if_present(partial)?;
            self.store.copy_into(partial).await?;
            backup::check_file(partial).await?;
            backup::publish(partial, file)
        };
        match attempt.await {
            Ok(size) => Ok(size),
            Err(e) => {
                let _ = std::fs::remove_file(partial);
                Err(format!("backup into {} failed: {e}", file.display()))
            }
        }
    }

    /// Whether this installation's backups are Tickler's own (SQLite) rather than the
    /// database server's.
    pub fn takes_own_backups(&self) -> bool {
        self.store.backend() == Backend::Sqlite
    }

    /// The `pg_dump` command for the configured PostgreSQL database, without its password
    /// (pg_dump reads that from PGPASSWORD or ~/.pgpass); `None` on SQLite.
    pub fn pg_dump_command(&self) -> Option<String> {
        let url = self.store.url_without_password()?;
        Some(format!(
            "pg_dump --format=custom --file=tickler-$(date +%Y%m%d).dump '{url}'"
        ))
    }

    /// The latest backup that finished well and the latest attempt, for the dashboard and
    /// `/metrics`.
    pub async fn latest_backups(
        &self,
    ) -> Result<(Option<BackupRecord>, Option<BackupRecord>), EngineError> {
        Ok(backup::latest(&mut *self.store.conn().await?).await?)
    }

    /// Puts a database just restored from a backup back to work: the claims of the
    /// dispatchers that were sending as the backup was taken belong to processes that no
    /// longer exist, so their reminders go back to the queue with their Message-ID, and the
    /// same for webhook deliveries. Reports what fell due since the backup.
    pub async fn resume_after_restore(&self) -> Result<RestoreReport, EngineError> {
        let now = self.now();
        let mut tx = self.store.begin().await?;
        let taken_at = backup::mark_restored(&mut tx).await?;
        let requeued = reminders::take_over_claims(
            &mut tx,
            now,
            Timestamp::MAX,
            "restored from a backup taken while it was being sent: back in the queue",
        )
        .await?;
        webhooks::release_all_claims(&mut tx).await?;
        tickler_store::commit(tx).await?;
        let mut db = self.store.conn().await?;
        let due = reminders::due_sendable_ids(&mut db, now).await?;
        let due_since_backup = match taken_at {
            Some(taken) => due
                .iter()
                .filter(|(_, due_at)| *due_at > taken)
                .map(|(id, _)| *id)
                .collect(),
            None => due.iter().map(|(id, _)| *id).collect(),
        };
        Ok(RestoreReport {
            taken_at,
            requeued,
            due_since_backup,
            due_now: due.len() as i64,
        })
    }

    /// Takes the daily backups into `schedule.dir` until `stopped`, keeping the newest
    /// `schedule.keep`: one at start if none finished in the last day, then one at the set
    /// local time each day. A failed backup is logged and counted in `/metrics`; the next
    /// one is tried at its time.
    pub async fn run_backup_schedule(
        &self,
        schedule: BackupSchedule,
        mut stopped: watch::Receiver<bool>,
    ) {
        let zone = self.settings().default_time_zone.tz().clone();
        let last_done = match self.latest_backups().await {
            Ok((done, _)) => done.and_then(|b| b.finished_at),
            Err(e) => {
                tracing::error!(error = %e, "cannot read the last backup; taking one now");
                None
            }
        };
        let mut next = if backup_schedule::overdue_at_start(last_done, Timestamp::now()) {
            Timestamp::now()
        } else {
            backup_schedule::next_daily(Timestamp::now(), schedule.at, &zone)
        };
        loop {
            let wait = next.duration_since(Timestamp::now());
            let wait = std::time::Duration::try_from(wait).unwrap_or_default();
            tokio::select! {
                _ = tokio::time::sleep(wait) => {}
                _ = stopped.changed() => return,
            }
            if *stopped.borrow() {
                return;
            }
            self.take_scheduled_backup(&schedule).await;
            next = backup_schedule::next_daily(Timestamp::now(), schedule.at, &zone);
        }
    }

    async fn take_scheduled_backup(&self, schedule: &BackupSchedule) {
        // Claimed like the recurring jobs, so that of several instances on one database
        // (two `serve` on one machine) one takes the day's backup; `tickler jobs` shows it.
        let now = Timestamp::now();
        let claimed = match self.store.conn().await {
            Ok(mut conn) => {
                jobs::claim_run(
                    &mut conn,
                    BACKUP_JOB,
                    now,
                    SCHEDULE_CLAIM,
                    &self.settings.worker_id,
                )
                .await
            }
            Err(e) => Err(e),
        };
        match claimed {
            Ok(true) => {}
            Ok(false) => {
                tracing::info!("another instance took this backup");
                return;
            }
            Err(e) => {
                tracing::error!(error = %e, "scheduled backup not taken: the database did not answer");
                return;
            }
        }
        let outcome = self.take_backup_into(schedule).await;
        if let Ok(mut conn) = self.store.conn().await {
            let _ = jobs::record_outcome(&mut conn, BACKUP_JOB, Timestamp::now(), &outcome).await;
        }
    }

    async fn take_backup_into(&self, schedule: &BackupSchedule) -> String {
        if let Err(e) = std::fs::create_dir_all(&schedule.dir) {
            tracing::error!(dir = %schedule.dir.display(), error = %e, "cannot create the backup folder");
            return format!("failed: cannot create {}: {e}", schedule.dir.display());
        }
        let file = schedule
            .dir
            .join(backup_schedule::file_name(Timestamp::now()));
        match self.back_up(&file).await {
            Ok(report) => {
                tracing::info!(
                    file = %report.file.display(),
                    bytes = report.size,
                    seconds = report.seconds,
                    "backup taken"
                );
                prune(&schedule.dir, schedule.keep);
                format!("{} bytes into {}", report.size, report.file.display())
            }
            Err(e) => {
                tracing::error!(error = %e, "scheduled backup failed");
                format!("failed: {e}")
            }
        }
    }
}

/// The scheduled backup's name among the recurring jobs.
const BACKUP_JOB: &str = "backup";

/// How long a claimed scheduled backup keeps other instances from taking one: less than a
/// day, so that the next day's is free whatever the clock did in between.
const SCHEDULE_CLAIM: jiff::SignedDuration = jiff::SignedDuration::from_hours(20);

/// Deletes the schedule's oldest backups beyond `keep`; other files in the folder are
/// never touched.
fn prune(dir: &Path, keep: usize) {
    let names = match std::fs::read_dir(dir) {
        Ok(entries) => entries
            .filter_map(|entry| entry.ok())
            .map(|entry| entry.file_name().to_string_lossy().to_string())
            .filter(|name| backup_schedule::is_scheduled_backup(name))
            .collect(),
        Err(e) => {
            tracing::error!(dir = %dir.display(), error = %e, "cannot list the backup folder");
            return;
        }
    };
    for name in backup_schedule::to_prune(names, keep) {
        let file = dir.join(&name);
        match std::fs::remove_file(&file) {
            Ok(()) => tracing::info!(file = %file.display(), "old backup removed"),
            Err(e) => {
                tracing::error!(file = %file.display(), error = %e, "cannot remove an old backup")
            }
        }
    }
}

/// The local time of day of `TICKLER_BACKUP_TIME` (`HH:MM`).
pub fn parse_backup_time(text: &str) -> Result<Time, String> {
    text.trim()
        .parse::<Time>()
        .map_err(|_| format!("\"{text}\" is not a time of day such as 02:30"))
}

/// The schedule in words, for the log: "daily at 02:00 (Europe/Athens) into /b, keeping the
/// newest 7".
pub fn describe_schedule(schedule: &BackupSchedule, zone: &TimeZone) -> String {
    format!(
        "daily at {} ({}) into {}, keeping the newest {}",
        schedule.at.strftime("%H:%M"),
        zone.iana_name().unwrap_or("UTC"),
        schedule.dir.display(),
        schedule.keep.max(1)
    )
}
