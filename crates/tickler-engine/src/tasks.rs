//! Tasks: to-dos for a contract's owner, made by plan steps in `task` mode, by the
//! customer's answers and by expired quotes; cancelled when they no longer make sense.

use jiff::Timestamp;
use tickler_core::{
    event::{EventAction, EventSubject},
    subject::SubjectRef,
    task::TaskStatus,
};
use tickler_store::{
    Db, events,
    tasks::{self, NewTask},
};

use crate::{Actor, Engine, EngineError};

impl Engine {
    /// Opens a task, once per source: `None` when its source already made one.
    #[allow(dead_code)] // used by the plan steps in task mode and by quotes, coming next
    pub(crate) async fn open_task(
        &self,
        db: &mut Db,
        new: &NewTask<'_>,
        actor: &Actor,
        now: Timestamp,
    ) -> Result<Option<i64>, EngineError> {
        let Some(id) = tasks::insert(db, new, now).await? else {
            return Ok(None);
        };
        events::record(
            db,
            now,
            &actor.0,
            EventSubject::Task(id),
            EventAction::Created,
            &format!("\"{}\", due {}", new.title, new.due_date),
        )
        .await?;
        Ok(Some(id))
    }

    /// Cancels the open tasks about `about` (a call about a term the customer has answered),
    /// each with `reason`; returns how many.
    pub(crate) async fn cancel_tasks_about(
        &self,
        db: &mut Db,
        about: SubjectRef,
        reason: &str,
        actor: &Actor,
        now: Timestamp,
    ) -> Result<usize, EngineError> {
        let mut cancelled = 0;
        for task in tasks::open_for_subject(db, about).await? {
            if tasks::close(
                db,
                task.id,
                TaskStatus::Cancelled,
                Some(reason),
                &actor.0,
                now,
            )
            .await?
            {
                events::record(
                    db,
                    now,
                    &actor.0,
                    EventSubject::Task(task.id),
                    EventAction::Cancelled,
                    reason,
                )
                .await?;
                cancelled += 1;
            }
        }
        Ok(cancelled)
    }
}
