//! What a person does with a reminder before it goes out: look at it, change it, send it
//! early or skip it.

use std::collections::HashMap;

use jiff::Timestamp;
use serde::Serialize;
use tickler_core::{ValidationError, reminder::ReminderStatus};
use tickler_store::{
    events,
    reminders::{self, Edit, Reminder, ReminderFilter},
};

use crate::{Actor, Engine, EngineError, dispatch::Outcome, message::Subject};

/// A reminder as listed: its record plus the subject and body it would be sent with now
/// (or was sent with).
#[derive(Debug, Serialize)]
pub struct ReminderView {
    pub id: i64,
    pub contract_id: i64,
    pub contract_title: String,
    pub customer_name: String,
    /// The contract's owner (the salesperson CC'd), if any.
    pub owner_id: Option<i64>,
    pub term_number: i32,
    pub step: String,
    pub label: String,
    pub offset_days: i32,
    pub mode: tickler_core::plan::Mode,
    pub status: ReminderStatus,
    pub status_reason: Option<String>,
    pub send_at: Timestamp,
    pub to: Vec<String>,
    pub cc: Vec<String>,
    pub subject: String,
    pub body: String,
    pub edited: bool,
    pub message_id: String,
    pub attempts: i32,
    pub last_error: Option<String>,
    pub smtp_reply: Option<String>,
    pub sent_at: Option<Timestamp>,
    pub lateness_ms: Option<i64>,
}

/// A person's changes; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct ReminderChanges {
    pub subject: Option<String>,
    pub body: Option<String>,
    pub send_at: Option<Timestamp>,
}

impl Engine {
    pub async fn list_reminders(
        &self,
        filter: &ReminderFilter,
    ) -> Result<Vec<ReminderView>, EngineError> {
        let mut db = self.store.conn().await?;
        let list = reminders::list(&mut db, filter).await?;
        let mut subjects: HashMap<i64, Subject> = HashMap::new();
        let mut views = Vec::with_capacity(list.len());
        for reminder in list {
            if let std::collections::hash_map::Entry::Vacant(slot) =
                subjects.entry(reminder.contract_id)
            {
                slot.insert(Subject::load(&mut db, reminder.contract_id).await?);
            }
            let subject = &subjects[&reminder.contract_id];
            views.push(self.view(reminder, subject)?);
        }
        Ok(views)
    }

    pub async fn count_reminders(&self, filter: &ReminderFilter) -> Result<i64, EngineError> {
        Ok(reminders::count(&mut *self.store.conn().await?, filter).await?)
    }

    pub async fn reminder(&self, id: i64) -> Result<ReminderView, EngineError> {
        let mut db = self.store.conn().await?;
        let reminder = reminders::get(&mut db, id).await?;
        let subject = Subject::load(&mut db, reminder.contract_id).await?;
        self.view(reminder, &subject)
    }

    fn view(&self, reminder: Reminder, subject: &Subject) -> Result<ReminderView, EngineError> {
        let (subject_line, body) = match (&reminder.sent_subject, &reminder.sent_body) {
            (Some(s), Some(b)) => (s.clone(), b.clone()),
            _ => {
                let rendered = self.render(&reminder, subject)?;
                (rendered.subject, rendered.body)
            }
        };
        Ok(ReminderView {
            id: reminder.id,
            contract_id: reminder.contract_id,
            contract_title: subject.contract.title.clone(),
            customer_name: subject.customer.name.clone(),
            owner_id: subject.contract.owner_id,
            term_number: reminder.term_number,
            step: reminder.step_key,
            label: reminder.label,
            offset_days: reminder.offset_days,
            mode: reminder.mode,
            status: reminder.status,
            status_reason: reminder.status_reason,
            send_at: reminder.send_at,
            to: reminder.to,
            cc: reminder.cc,
            subject: subject_line,
            body,
            edited: reminder.subject.is_some()
                || reminder.body.is_some()
                || reminder.send_at_edited
                || reminder.recipients_edited,
            message_id: reminder.message_id,
            attempts: reminder.attempts,
            last_error: reminder.last_error,
            smtp_reply: reminder.smtp_reply,
            sent_at: reminder.sent_at,
            lateness_ms: reminder.lateness_ms,
        })
    }

    /// Changes a scheduled reminder's wording or send time; the change survives later
    /// recomputations of the contract's schedule.
    pub async fn edit_reminder(
        &self,
        id: i64,
        changes: ReminderChanges,
        actor: &Actor,
    ) -> Result<(), EngineError> {
        if let Some(subject) = &changes.subject {
            if subject.trim().is_empty() {
                return Err(ValidationError::new("subject", "must not be empty").into());
            }
            if subject.chars().any(|c| c.is_control()) {
                return Err(ValidationError::new(
                    "subject",
                    "must be one line without control characters",
                )
                .into());
            }
        }
        if changes
            .body
            .as_ref()
            .is_some_and(|body| body.trim().is_empty())
        {
            return Err(ValidationError::new("body", "must not be empty").into());
        }
        if changes.subject.is_none() && changes.body.is_none() && changes.send_at.is_none() {
            return Err(ValidationError::new(
                "reminder",
                "nothing to change: give a subject, a body or a send time",
            )
            .into());
        }
        let now = self.clock.now();
        let mut tx = self.store.begin().await?;
        let reminder = reminders::get(&mut tx, id).await?;
        reminder.status.check_open_to_people(id)?;
        let edit = Edit {
            subject: changes.subject.clone(),
            body: changes.body.clone(),
            send_at: changes.send_at,
            recipients: None,
        };
        if !reminders::apply_edit(&mut tx, id, &edit, now).await? {
            return Err(EngineError::Conflict(format!(
                "reminder {id} changed while it was being edited; try again"
            )));
        }
        let mut what = Vec::new();
        if changes.subject.is_some() {
            what.push("subject".to_string());
        }
        if changes.body.is_some() {
            what.push("body".to_string());
        }
        if let Some(at) = changes.send_at {
            what.push(format!("send time {} -> {at}", reminder.send_at));
        }
        events::record(
            &mut tx,
            now,
            &actor.0,
            "reminder",
            id,
            "edited",
            &what.join(", "),
        )
        .await?;
        tickler_store::commit(tx).await?;
        Ok(())
    }

    /// Decides that a scheduled reminder will not be sent.
    pub async fn skip_reminder(
        &self,
        id: i64,
        reason: &str,
        actor: &Actor,
    ) -> Result<(), EngineError> {
        let now = self.clock.now();
        let reason = if reason.trim().is_empty() {
            "skipped by a person"
        } else {
            reason.trim()
        };
        let mut tx = self.store.begin().await?;
        let reminder = reminders::get(&mut tx, id).await?;
        reminder.status.check_open_to_people(id)?;
        if !reminders::close_scheduled(&mut tx, id, ReminderStatus::Skipped, reason, now).await? {
            return Err(EngineError::Conflict(format!(
                "reminder {id} changed meanwhile; try again"
            )));
        }
        events::record(&mut tx, now, &actor.0, "reminder", id, "skipped", reason).await?;
        tickler_store::commit(tx).await?;
        Ok(())
    }

    /// Sends a scheduled reminder at once, through the same path as the dispatcher.
    pub async fn send_reminder_now(&self, id: i64, actor: &Actor) -> Result<Outcome, EngineError> {
        let now = self.clock.now();
        let mut db = self.store.conn().await?;
        let reminder = reminders::get(&mut db, id).await?;
        reminder.status.check_open_to_people(id)?;
        let claimed = reminders::claim_one(&mut db, id, now, &self.lease(now)).await?;
        let Some(claimed) = claimed else {
            return Err(EngineError::Conflict(format!(
                "reminder {id} was claimed meanwhile"
            )));
        };
        events::record(&mut db, now, &actor.0, "reminder", id, "send now", "").await?;
        drop(db);
        Ok(self.deliver(claimed).await)
    }
}
