//! Tasks: to-dos for a contract's owner, made by plan steps in `task` mode, by the
//! customer's answers and by expired quotes; cancelled when they no longer make sense.

use jiff::{Timestamp, ToSpan, civil::Date};
use tickler_core::{
    event::{EventAction, EventSubject},
    plan::Mode,
    reminder::ReminderStatus,
    subject::SubjectRef,
    task::{TaskStatus, needs_escalation},
};
use tickler_mail::{context::StepView, templates};
use tickler_store::{
    Db, events,
    reminders::{self, Reminder},
    tasks::{self, NewTask, Task, TaskFilter},
    users,
};

use crate::{Actor, Engine, EngineError, dispatch::InternalNotice, message::Subject};
use tickler_core::webhook::WebhookEvent;

pub use tickler_store::tasks::{Task as TaskRecord, TaskItem};

/// Which tasks a list shows; the Tasks page's filters and `tickler task list`.
#[derive(Debug, Clone, Default)]
pub struct TaskQuery {
    /// Only this owner's, by user id.
    pub owner_id: Option<i64>,
    /// Only this owner's, by email (the command line's `--owner`).
    pub owner_email: Option<String>,
    pub status: Option<TaskStatus>,
    pub contract_id: Option<i64>,
    /// Only open tasks whose due date has passed (in the organisation's time zone).
    pub overdue: bool,
}

/// What the dashboard shows of tasks: the user's own open ones, and how many are overdue.
#[derive(Debug, Clone, Default)]
pub struct TaskSummary {
    pub mine_open: i64,
    /// The user's first open tasks, soonest due first.
    pub mine: Vec<TaskItem>,
    /// Open tasks past their due date, everybody's.
    pub overdue: i64,
    pub today: Option<Date>,
}

/// How many of the user's open tasks the dashboard lists.
const DASHBOARD_TASKS: i64 = 5;
/// Candidates looked at per escalation pass; a task not escalated in one pass is seen in the
/// next dispatch run.
const ESCALATION_BATCH: i64 = 500;

impl Engine {
    /// Opens a task, once per source: `None` when its source already made one.
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
        self.announce_about(
            db,
            now,
            WebhookEvent::TaskCreated,
            EventSubject::Task(id),
            serde_json::Value::Null,
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

    /// The organisation's date today, on the engine's clock: what "overdue" and escalation
    /// count from.
    pub fn organisation_today(&self) -> Date {
        self.clock
            .now()
            .to_zoned_datetime(self.settings.default_time_zone.tz().clone())
            .date()
    }

    /// A `task` mode step whose time has come, in `tx` (the dispatcher's alert
    /// transaction): the owner's task is opened (once per reminder), the reminder is closed
    /// as superseded by it, and the owner is emailed the step's own text.
    pub(crate) async fn assign_task(
        &self,
        tx: &mut Db,
        reminder: &Reminder,
        subject: &Subject,
        now: Timestamp,
    ) -> Result<Option<i64>, EngineError> {
        debug_assert_eq!(reminder.mode, Mode::Task);
        // Due on the day the step was planned for, as the customer counts days.
        let due_date = reminder
            .send_at
            .to_zoned_datetime(self.customer_zone(&subject.customer))
            .date();
        let source = format!("reminder:{}", reminder.id);
        let opened = self
            .open_task(
                tx,
                &NewTask {
                    contract_id: reminder.contract_id.or(Some(subject.contract.id)),
                    about: reminder.about,
                    source: &source,
                    title: &reminder.label,
                    owner_id: subject.owner.as_ref().map(|o| o.id),
                    due_date,
                },
                &Actor::system(),
                now,
            )
            .await?;
        let reason = match opened {
            Some(id) => format!("became task {id}"),
            None => "its task was opened before".to_string(),
        };
        if reminders::close_scheduled(tx, reminder.id, ReminderStatus::Superseded, &reason, now)
            .await?
        {
            events::record(
                tx,
                now,
                events::SYSTEM,
                EventSubject::Reminder(reminder.id),
                EventAction::Superseded,
                &reason,
            )
            .await?;
        }
        Ok(opened)
    }

    /// Escalates, once each, the open tasks 3 business days past their due date: marks
    /// them escalated and queues one email per task to the active admins. Each task in its
    /// own short transaction; the guarded mark and the notice's unique key keep it to once
    /// however many dispatchers run.
    pub async fn escalate_tasks(&self) -> Result<usize, EngineError> {
        let today = self.organisation_today();
        let zone = self.settings.default_time_zone.tz().clone();
        let holidays = self.holidays().clone();
        // Business days are never fewer than calendar days: nothing due later can qualify.
        let due_by = today
            .checked_sub(tickler_core::task::ESCALATION_BUSINESS_DAYS.days())
            .unwrap_or(today);
        let candidates =
            tasks::unescalated_open(&mut *self.store.conn().await?, due_by, ESCALATION_BATCH)
                .await?;
        let mut escalated = 0;
        for task in candidates {
            if !needs_escalation(
                task.status,
                counted_from(&task, &zone),
                false,
                today,
                &holidays,
            ) {
                continue;
            }
            let now = self.clock.now();
            let mut tx = self.store.begin().await?;
            if !tasks::mark_escalated(&mut tx, task.id, now).await? {
                continue;
            }
            let admins = self.team_addresses(&mut tx).await?;
            self.queue_escalation(&mut tx, &task, &admins, now).await?;
            events::record(
                &mut tx,
                now,
                events::SYSTEM,
                EventSubject::Task(task.id),
                EventAction::Escalated,
                &format!(
                    "still open 3 business days after {}; told {}",
                    task.due_date,
                    admins.join(", ")
                ),
            )
            .await?;
            tickler_store::commit(tx).await?;
            escalated += 1;
        }
        Ok(escalated)
    }

    /// The text of a task's escalation email, sent at `at`: what
    /// [`Self::queue_escalation`] queues, and what a preview shows before.
    pub(crate) fn escalation_text(
        &self,
        key: &str,
        title: &str,
        due_date: Date,
        subject: &Subject,
        at: Timestamp,
    ) -> Result<tickler_mail::Rendered, EngineError> {
        let step = StepView {
            key: key.to_string(),
            label: format!("{title} (due {due_date})"),
        };
        let mut ctx = self.context_for(subject, step, at, None);
        ctx.customer.language = Default::default();
        // Internal: English, or the team's own wording of it.
        self.render_template(
            templates::TASK_ESCALATED,
            tickler_core::language::Language::En,
            subject,
            &ctx,
        )
    }

    /// Queues the escalation email of `task` to `admins`: a notice about the task's own
    /// subject, keyed by the task so it is queued once.
    async fn queue_escalation(
        &self,
        tx: &mut Db,
        task: &Task,
        admins: &[String],
        now: Timestamp,
    ) -> Result<(), EngineError> {
        let subject = match (Subject::load(tx, task.about).await, task.contract_id) {
            (Ok(subject), _) => subject,
            // A task about something without messages of its own (a quote): its contract.
            (Err(_), Some(contract_id)) => Subject::of_current_term(tx, contract_id).await?,
            (Err(e), None) => return Err(e),
        };
        let key = format!("{}:{}", templates::TASK_ESCALATED, task.id);
        let rendered = self.escalation_text(&key, &task.title, task.due_date, &subject, now)?;
        let notice = InternalNotice {
            about: subject.reference(),
            contract_id: task.contract_id,
            key: &key,
            label: "Task escalated",
            template: templates::TASK_ESCALATED,
            to: admins,
        };
        if let Some(notice_id) = self.insert_notice(tx, &notice, &rendered, now).await? {
            events::record(
                tx,
                now,
                events::SYSTEM,
                EventSubject::Reminder(notice_id),
                EventAction::Scheduled,
                &format!("escalation of task {} to {}", task.id, admins.join(", ")),
            )
            .await?;
        }
        Ok(())
    }

    pub async fn get_task(&self, id: i64) -> Result<Task, EngineError> {
        Ok(tasks::get(&mut *self.store.conn().await?, id).await?)
    }

    /// The tasks a list shows, soonest due first, with contract, customer and owner.
    pub async fn list_tasks(&self, query: &TaskQuery) -> Result<Vec<TaskItem>, EngineError> {
        let mut db = self.store.conn().await?;
        let filter = self.task_filter(&mut db, query).await?;
        Ok(tasks::list_items(&mut db, &filter).await?)
    }

    async fn task_filter(&self, db: &mut Db, query: &TaskQuery) -> Result<TaskFilter, EngineError> {
        let owner_id = match (&query.owner_email, query.owner_id) {
            (Some(email), _) => Some(
                users::find_by_email(db, email.trim())
                    .await?
                    .ok_or_else(|| EngineError::NotFound {
                        what: "user",
                        id: email.trim().to_string(),
                    })?
                    .id,
            ),
            (None, id) => id,
        };
        let (status, due_by) = if query.overdue {
            (
                Some(TaskStatus::Open),
                self.organisation_today().checked_sub(1.day()).ok(),
            )
        } else {
            (query.status, None)
        };
        Ok(TaskFilter {
            owner_id,
            status,
            contract_id: query.contract_id,
            due_by,
            due_from: None,
            limit: None,
        })
    }

    /// The dashboard's tasks for `user_id`.
    pub async fn task_summary(&self, user_id: i64) -> Result<TaskSummary, EngineError> {
        let mut db = self.store.conn().await?;
        let mine = TaskFilter {
            owner_id: Some(user_id),
            status: Some(TaskStatus::Open),
            ..TaskFilter::default()
        };
        let overdue = self
            .task_filter(
                &mut db,
                &TaskQuery {
                    overdue: true,
                    ..TaskQuery::default()
                },
            )
            .await?;
        Ok(TaskSummary {
            mine_open: tasks::count(&mut db, &mine).await?,
            mine: tasks::list_items(
                &mut db,
                &TaskFilter {
                    limit: Some(DASHBOARD_TASKS),
                    ..mine
                },
            )
            .await?,
            overdue: tasks::count(&mut db, &overdue).await?,
            today: Some(self.organisation_today()),
        })
    }

    /// Marks an open task done, with who did it and their note; refused (and nothing
    /// changed) for a task that does not exist or is no longer open.
    pub async fn complete_task(
        &self,
        id: i64,
        note: Option<&str>,
        actor: &Actor,
    ) -> Result<Task, EngineError> {
        let note = note.map(str::trim).filter(|n| !n.is_empty());
        let now = self.clock.now();
        let mut tx = self.store.begin().await?;
        let task = tasks::get(&mut tx, id).await?;
        if task.status != TaskStatus::Open {
            return Err(EngineError::Conflict(format!(
                "task {id} is already {}{}",
                task.status.as_str(),
                task.closed_at
                    .map(|at| format!(" (since {at})"))
                    .unwrap_or_default()
            )));
        }
        if !tasks::close(&mut tx, id, TaskStatus::Done, note, &actor.0, now).await? {
            return Err(EngineError::Conflict(format!(
                "task {id} was closed by someone else meanwhile"
            )));
        }
        events::record(
            &mut tx,
            now,
            &actor.0,
            EventSubject::Task(id),
            EventAction::Done,
            note.unwrap_or("done"),
        )
        .await?;
        let task = tasks::get(&mut tx, id).await?;
        tickler_store::commit(tx).await?;
        Ok(task)
    }
}

/// The day a task's 3 business days count from: its due date, or the day it was opened if
/// later (a step opened late after downtime gets its owner's 3 days before the admins are
/// told, rather than an escalation in the same minute).
pub(crate) fn counted_from(task: &Task, zone: &jiff::tz::TimeZone) -> Date {
    let opened = task.created_at.to_zoned_datetime(zone.clone()).date();
    task.due_date.max(opened)
}

#[cfg(test)]
mod tests {
    use jiff::civil::date;
    use tickler_core::subject::SubjectKind;

    use super::*;

    fn task(due: Date, created: &str) -> Task {
        let at: Timestamp = created.parse().expect("instant");
        Task {
            id: 1,
            contract_id: Some(1),
            about: SubjectRef {
                kind: SubjectKind::ContractTerm,
                id: 1,
            },
            source: "reminder:1".to_string(),
            title: "Call the customer".to_string(),
            owner_id: None,
            due_date: due,
            status: TaskStatus::Open,
            note: None,
            closed_at: None,
            closed_by: None,
            escalated_at: None,
            created_at: at,
            updated_at: at,
        }
    }

    #[test]
    fn escalation_counts_from_the_due_date_or_the_later_day_it_was_opened() {
        let tokyo = jiff::tz::TimeZone::get("Asia/Tokyo").expect("zone");
        // Opened on time: its due date.
        let on_time = task(date(2027, 4, 15), "2027-04-15T00:00:00Z");
        assert_eq!(counted_from(&on_time, &tokyo), date(2027, 4, 15));
        // Opened after downtime: the day it was opened, in the organisation's zone (09:00
        // in Tokyo on the 2nd of June).
        let late = task(date(2027, 4, 15), "2027-06-02T00:00:00Z");
        assert_eq!(counted_from(&late, &tokyo), date(2027, 6, 2));
        let utc = jiff::tz::TimeZone::UTC;
        let late_evening = task(date(2027, 4, 15), "2027-06-01T23:30:00Z");
        assert_eq!(counted_from(&late_evening, &utc), date(2027, 6, 1));
        assert_eq!(counted_from(&late_evening, &tokyo), date(2027, 6, 2));
    }
}
