//! Recurring jobs shared by every instance on one database. A run is claimed by one
//! conditional update of the job's row, which works the same on SQLite and PostgreSQL: of
//! several instances asking at once, exactly one moves `next_run_at` on and runs the job.

use jiff::{SignedDuration, Timestamp};
use serde::Serialize;

use crate::{Db, StoreError, instant_from_millis, time::millis};

/// One job's last run, for operators.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct JobState {
    pub name: String,
    pub next_run_at: Timestamp,
    pub last_started_at: Option<Timestamp>,
    pub last_finished_at: Option<Timestamp>,
    pub last_run_by: Option<String>,
    pub last_outcome: Option<String>,
}

/// How far apart the clocks of instances claiming at once may read: one that read "now" a
/// little before another, but claims just after it, sees the other's next run a little more
/// than a period ahead. Without this slack it took that for a clock gone back and claimed
/// the same run again (two serve processes both took the day's backup, into one file).
pub const CLOCK_SKEW: SignedDuration = SignedDuration::from_secs(60);

/// Claims the run of `name` due at `now`, for `worker`; true if this caller is to run it.
/// The next run is then `now + period`. A `next_run_at` further ahead than one period (and
/// [`CLOCK_SKEW`]) means the clock went back; the job is then due at once rather than
/// stalled until that future.
pub async fn claim_run(
    db: &mut Db,
    name: &str,
    now: Timestamp,
    period: SignedDuration,
    worker: &str,
) -> Result<bool, StoreError> {
    sqlx::query(
        "INSERT INTO recurring_jobs (name, next_run_at) VALUES ($1, $2) \
         ON CONFLICT (name) DO NOTHING",
    )
    .bind(name)
    .bind(millis(now))
    .execute(&mut *db)
    .await?;
    let next = now.saturating_add(period).unwrap_or(now);
    let claimed = sqlx::query(
        "UPDATE recurring_jobs SET next_run_at = $1, last_started_at = $2, last_run_by = $3 \
         WHERE name = $4 AND (next_run_at <= $2 OR next_run_at > $5)",
    )
    .bind(millis(next))
    .bind(millis(now))
    .bind(worker)
    .bind(name)
    .bind(millis(next.saturating_add(CLOCK_SKEW).unwrap_or(next)))
    .execute(db)
    .await?;
    Ok(claimed.rows_affected() == 1)
}

/// Records how a claimed run ended, in words ("3 leases taken over", or the error).
pub async fn record_outcome(
    db: &mut Db,
    name: &str,
    finished_at: Timestamp,
    outcome: &str,
) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE recurring_jobs SET last_finished_at = $1, last_outcome = $2 WHERE name = $3",
    )
    .bind(millis(finished_at))
    .bind(outcome)
    .bind(name)
    .execute(db)
    .await?;
    Ok(())
}

/// When the next job is due, to sleep until then; `None` before any job has run.
pub async fn next_run(db: &mut Db) -> Result<Option<Timestamp>, StoreError> {
    let next: Option<i64> = sqlx::query_scalar("SELECT MIN(next_run_at) FROM recurring_jobs")
        .fetch_one(db)
        .await?;
    next.map(instant_from_millis).transpose()
}

/// Every job's state, by name.
pub async fn list(db: &mut Db) -> Result<Vec<JobState>, StoreError> {
    type Row = (
        String,
        i64,
        Option<i64>,
        Option<i64>,
        Option<String>,
        Option<String>,
    );
    let rows: Vec<Row> = sqlx::query_as(
        "SELECT name, next_run_at, last_started_at, last_finished_at, last_run_by, last_outcome \
         FROM recurring_jobs ORDER BY name",
    )
    .fetch_all(db)
    .await?;
    rows.into_iter()
        .map(|(name, next, started, finished, by, outcome)| {
            Ok(JobState {
                name,
                next_run_at: instant_from_millis(next)?,
                last_started_at: started.map(instant_from_millis).transpose()?,
                last_finished_at: finished.map(instant_from_millis).transpose()?,
                last_run_by: by,
                last_outcome: outcome,
            })
        })
        .collect()
}
