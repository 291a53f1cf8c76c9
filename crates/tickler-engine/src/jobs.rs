//! Housekeeping that must run regularly but only once across all instances sharing a
//! database: taking over the claims of dead dispatchers, and clearing expired sessions and
//! stale login-failure counts. Each run is claimed through the `recurring_jobs` table (see
//! [`tickler_store::jobs`]), so adding instances adds no duplicate work.

use jiff::{SignedDuration, Timestamp};
use serde::Serialize;
use tickler_core::event::{EventAction, EventSubject};
use tickler_store::{events, jobs, reminders, sessions};

use crate::{Engine, EngineError};

/// A recurring job.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Job {
    /// Claims whose lease ran out (their dispatcher died) go back to the queue.
    LeaseTakeover,
    /// Expired sessions and login-failure counts older than a day are deleted.
    Cleanup,
}

impl Job {
    pub const ALL: [Job; 2] = [Job::LeaseTakeover, Job::Cleanup];

    pub fn name(self) -> &'static str {
        match self {
            Job::LeaseTakeover => "lease_takeover",
            Job::Cleanup => "cleanup",
        }
    }

    /// How often the job runs. Expired leases are looked for every half lease, at most
    /// every 15 s: a dead dispatcher's reminders wait at most 1.5 leases.
    pub fn period(self, lease: std::time::Duration) -> SignedDuration {
        match self {
            Job::LeaseTakeover => SignedDuration::try_from(lease / 2)
                .unwrap_or(SignedDuration::from_secs(15))
                .clamp(SignedDuration::from_secs(1), SignedDuration::from_secs(15)),
            Job::Cleanup => SignedDuration::from_hours(1),
        }
    }
}

/// A job this instance ran, and what it did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct JobRun {
    pub job: Job,
    pub outcome: String,
}

/// Login-failure counts untouched this long throttle nobody and are deleted.
const FAILURE_RETENTION: SignedDuration = SignedDuration::from_hours(24);

impl Engine {
    /// Runs the jobs that are due and that no other instance has claimed; returns what this
    /// instance ran. A job that fails is recorded as failed and retried at its next period;
    /// the error is returned only if the database itself is unreachable.
    ///
    /// Jobs run on the wall clock, not the engine's: they deal in leases and sessions, which
    /// are about live processes and people, so a `dispatch --once --now` in the future must
    /// not take over live claims or end everybody's session.
    pub async fn run_due_jobs(&self) -> Result<Vec<JobRun>, EngineError> {
        let mut ran = Vec::new();
        for job in Job::ALL {
            let now = Timestamp::now();
            let claimed = jobs::claim_run(
                &mut *self.store.conn().await?,
                job.name(),
                now,
                job.period(self.settings.lease),
                &self.settings.worker_id,
            )
            .await?;
            if !claimed {
                continue;
            }
            let outcome = match self.run_job(job, now).await {
                Ok(outcome) => outcome,
                Err(e) if e.is_transient() => return Err(e),
                Err(e) => {
                    tracing::error!(job = job.name(), error = %e, "recurring job failed");
                    format!("failed: {e}")
                }
            };
            jobs::record_outcome(
                &mut *self.store.conn().await?,
                job.name(),
                Timestamp::now(),
                &outcome,
            )
            .await?;
            metrics::counter!("tickler_job_runs_total", "job" => job.name()).increment(1);
            ran.push(JobRun { job, outcome });
        }
        Ok(ran)
    }

    async fn run_job(&self, job: Job, now: Timestamp) -> Result<String, EngineError> {
        match job {
            Job::LeaseTakeover => {
                let mut tx = self.store.begin().await?;
                let taken_over = reminders::take_over_expired(&mut tx, now).await?;
                for id in &taken_over {
                    events::record(
                        &mut tx,
                        now,
                        events::SYSTEM,
                        EventSubject::Reminder(*id),
                        EventAction::LeaseExpired,
                        "returned to the queue",
                    )
                    .await?;
                }
                tickler_store::commit(tx).await?;
                if !taken_over.is_empty() {
                    tracing::warn!(count = taken_over.len(), "took over expired claims");
                }
                Ok(format!("{} expired claims taken over", taken_over.len()))
            }
            Job::Cleanup => {
                let mut db = self.store.conn().await?;
                let sessions = sessions::delete_expired(&mut db, now).await?;
                let before = now.saturating_sub(FAILURE_RETENTION).unwrap_or(now);
                let failures = sessions::delete_failures_before(&mut db, before).await?;
                Ok(format!(
                    "{sessions} expired sessions and {failures} stale login-failure counts deleted"
                ))
            }
        }
    }

    /// The recurring jobs' last runs, for operators.
    pub async fn job_states(&self) -> Result<Vec<jobs::JobState>, EngineError> {
        Ok(jobs::list(&mut *self.store.conn().await?).await?)
    }
}
