//! What a person does with a reminder before it goes out: look at it, change it, send it
//! early or skip it.

use std::collections::HashMap;

use jiff::Timestamp;
use serde::Serialize;
use tickler_core::event::{EventAction, EventSubject};
use tickler_core::{
    Checks, ValidationError,
    email::EmailAddress,
    reminder::ReminderStatus,
    seen::SeenVersion,
    subject::{SubjectKind, SubjectRef},
};
use tickler_store::{
    browse::Page,
    events::{self, Event},
    reminders::{self, Edit, Reminder, ReminderFilter},
};

use crate::{
    Actor, Engine, EngineError,
    dispatch::Outcome,
    message::{Subject, SubjectLoader},
};
use serde_json::json;
use tickler_core::webhook::WebhookEvent;

/// A reminder as listed: its record plus the subject and body it would be sent with now
/// (or was sent with).
#[derive(Debug, Serialize)]
pub struct ReminderView {
    pub id: i64,
    /// What the reminder is about (`contract_term` and the term's id, ...).
    pub subject_type: SubjectKind,
    pub subject_id: i64,
    /// `None` for a reminder about no contract: a morning digest.
    pub contract_id: Option<i64>,
    pub contract_title: String,
    pub customer_name: String,
    /// The customer's time zone (IANA name): send times are local times there.
    pub customer_time_zone: String,
    /// The language the email is written in (the customer's): `en`, `ja`, `el`.
    pub language: tickler_core::language::Language,
    /// The contract owner's name, if the contract has one.
    pub owner_name: Option<String>,
    /// The contract's owner (the salesperson CC'd), if any.
    pub owner_id: Option<i64>,
    pub term_number: i32,
    /// The date the step counts from (`end_date`, `next_invoice_date`, `invoice_due_date`,
    /// ...); `None` for Tickler's own notices.
    pub anchor: Option<tickler_core::plan::Anchor>,
    /// The invoice the reminder is about: an invoice's email and payment reminders, and an
    /// upcoming invoice's notice once that invoice exists; `None` for a contract's.
    pub invoice_id: Option<i64>,
    pub step: String,
    pub label: String,
    pub offset_days: i32,
    pub mode: tickler_core::plan::Mode,
    pub status: ReminderStatus,
    pub status_reason: Option<String>,
    pub send_at: Timestamp,
    /// When the dispatcher tries again, for a scheduled reminder the mail server turned away
    /// for now (or whose dispatcher died); `None` when it simply goes out at `send_at`.
    pub next_attempt_at: Option<Timestamp>,
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
    /// The version of the subject, body and recipients above: what a form that sends this
    /// email carries, so that [`Engine::send_reminder_now`] sends only what was read.
    pub version: String,
    /// A scheduled email as it would read if sent now ("send now"): wording that depends on
    /// the moment (days left) is computed for the moment it is sent. `None` once it is out
    /// of people's hands.
    pub if_sent_now: Option<WordingNow>,
}

/// An email's wording as of now, and the version that sends exactly it.
#[derive(Debug, Clone, Serialize)]
pub struct WordingNow {
    pub subject: String,
    pub body: String,
    pub version: String,
}

/// A person's changes; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct ReminderChanges {
    pub subject: Option<String>,
    pub body: Option<String>,
    pub send_at: Option<Timestamp>,
}

/// [`ReminderChanges`] plus the recipients: everything a person may change (the web app's
/// edit form). A separate type so that code building `ReminderChanges` keeps compiling.
#[derive(Debug, Clone, Default)]
pub struct ReminderEdits {
    pub subject: Option<String>,
    pub body: Option<String>,
    pub send_at: Option<Timestamp>,
    /// (to, cc): replaces the computed recipients; at least one `to`.
    pub recipients: Option<(Vec<String>, Vec<String>)>,
}

impl From<ReminderChanges> for ReminderEdits {
    fn from(c: ReminderChanges) -> Self {
        ReminderEdits {
            subject: c.subject,
            body: c.body,
            send_at: c.send_at,
            recipients: None,
        }
    }
}

impl ReminderEdits {
    pub fn is_empty(&self) -> bool {
        self.subject.is_none()
            && self.body.is_none()
            && self.send_at.is_none()
            && self.recipients.is_none()
    }
}

/// A reminder as it would be sent with some changes applied, nothing saved.
#[derive(Debug, Clone, Serialize)]
pub struct ReminderPreview {
    pub subject: String,
    pub body: String,
    pub to: Vec<String>,
    pub cc: Vec<String>,
    pub send_at: Timestamp,
}

/// Checks a person's changes and returns them tidied: addresses trimmed, each address
/// once, an address in `to` not repeated in `cc`.
fn validate_edits(edits: &ReminderEdits) -> Result<ReminderEdits, ValidationError> {
    let mut checks = Checks::default();
    if let Some(subject) = &edits.subject {
        checks.check(if subject.trim().is_empty() {
            Err(ValidationError::new("subject", "must not be empty"))
        } else if subject.chars().any(|c| c.is_control()) {
            Err(ValidationError::new(
                "subject",
                "must be one line without control characters",
            ))
        } else {
            Ok(())
        });
    }
    if edits
        .body
        .as_ref()
        .is_some_and(|body| body.trim().is_empty())
    {
        checks.check::<()>(Err(ValidationError::new("body", "must not be empty")));
    }
    let recipients = edits.recipients.as_ref().map(|(to, cc)| {
        let mut seen: Vec<String> = Vec::new();
        let mut parse = |field: &str, list: &[String]| -> Result<Vec<String>, ValidationError> {
            let mut out = Vec::new();
            for text in list.iter().filter(|a| !a.trim().is_empty()) {
                let address = EmailAddress::parse(field, text)?;
                let lower = address.as_str().to_lowercase();
                if !seen.contains(&lower) {
                    seen.push(lower);
                    out.push(address.as_str().to_string());
                }
            }
            Ok(out)
        };
        let to = checks.check(parse("to", to).and_then(|to| {
            if to.is_empty() {
                Err(ValidationError::new("to", "give at least one address"))
            } else {
                Ok(to)
            }
        }));
        let cc = checks.check(parse("cc", cc));
        to.zip(cc)
    });
    checks.then(|| {
        let recipients = match recipients {
            None => None,
            Some(pair) => Some(pair?),
        };
        Some(ReminderEdits {
            recipients,
            ..edits.clone()
        })
    })
}

impl Engine {
    pub async fn list_reminders(
        &self,
        filter: &ReminderFilter,
    ) -> Result<Vec<ReminderView>, EngineError> {
        Ok(self.reminder_page(filter).await?.rows)
    }

    /// One keyset page of reminders (see [`ReminderFilter::cursor`]), as listed.
    pub async fn reminder_page(
        &self,
        filter: &ReminderFilter,
    ) -> Result<Page<ReminderView>, EngineError> {
        let mut db = self.store.conn().await?;
        let page = reminders::page(&mut db, filter).await?;
        let list = page.rows;
        let mut subjects: HashMap<SubjectRef, Subject> = HashMap::new();
        let mut loader = SubjectLoader::default();
        let mut views = Vec::with_capacity(list.len());
        for reminder in list {
            if reminder.about.kind == SubjectKind::Digest {
                views.push(self.digest_view(&mut db, reminder).await?);
                continue;
            }
            if let std::collections::hash_map::Entry::Vacant(slot) = subjects.entry(reminder.about)
            {
                slot.insert(loader.load(&mut db, reminder.about).await?);
            }
            let subject = &subjects[&reminder.about];
            views.push(self.view(reminder, subject)?);
        }
        Ok(Page {
            rows: views,
            has_previous: page.has_previous,
            has_next: page.has_next,
        })
    }

    pub async fn count_reminders(&self, filter: &ReminderFilter) -> Result<i64, EngineError> {
        Ok(reminders::count(&mut *self.store.conn().await?, filter).await?)
    }

    pub async fn reminder(&self, id: i64) -> Result<ReminderView, EngineError> {
        let mut db = self.store.conn().await?;
        let reminder = reminders::get(&mut db, id).await?;
        if reminder.about.kind == SubjectKind::Digest {
            return self.digest_view(&mut db, reminder).await;
        }
        let subject = self.load_subject(&mut db, reminder.about).await?;
        self.view(reminder, &subject)
    }

    /// A morning digest as listed: written when it was queued, addressed to its reader,
    /// about no contract.
    async fn digest_view(
        &self,
        db: &mut tickler_store::Db,
        reminder: Reminder,
    ) -> Result<ReminderView, EngineError> {
        let reader = tickler_store::users::get(db, reminder.about.id).await?;
        let subject_line = reminder
            .sent_subject
            .clone()
            .or_else(|| reminder.subject.clone())
            .unwrap_or_default();
        let body = reminder
            .sent_body
            .clone()
            .or_else(|| reminder.body.clone())
            .unwrap_or_default();
        let about = About {
            contract_id: None,
            contract_title: crate::digests::DIGEST_LABEL.to_string(),
            customer_name: reader.name.clone(),
            customer_time_zone: self
                .digest_schedule(&reader)
                .zone
                .iana_name()
                .unwrap_or("UTC")
                .to_string(),
            language: reader.language,
            owner_name: Some(reader.name.clone()),
            owner_id: Some(reader.id),
            term_number: 0,
            invoice_id: None,
        };
        Ok(listed(reminder, about, (subject_line, body), false, None))
    }

    fn view(&self, reminder: Reminder, subject: &Subject) -> Result<ReminderView, EngineError> {
        let (subject_line, body) = match (&reminder.sent_subject, &reminder.sent_body) {
            (Some(s), Some(b)) => (s.clone(), b.clone()),
            _ => {
                let rendered = self.render(&reminder, subject, reminder.send_at)?;
                (rendered.subject, rendered.body)
            }
        };
        let if_sent_now = match reminder.status {
            ReminderStatus::Scheduled => {
                let now = self.render(&reminder, subject, self.clock.now())?;
                Some(WordingNow {
                    version: SeenVersion::of(&now.subject, &now.body, &reminder.to, &reminder.cc)
                        .token(),
                    subject: now.subject,
                    body: now.body,
                })
            }
            _ => None,
        };
        let about = About {
            contract_id: Some(subject.contract.id),
            contract_title: subject.contract.title.clone(),
            customer_name: subject.customer.name.clone(),
            customer_time_zone: self
                .customer_zone(&subject.customer)
                .iana_name()
                .unwrap_or("UTC")
                .to_string(),
            language: subject.customer.language,
            owner_name: subject.owner.as_ref().map(|o| o.name.clone()),
            owner_id: subject.contract.owner_id,
            term_number: subject.term.term_number,
            invoice_id: subject.invoice_id(),
        };
        let edited = reminder.subject.is_some()
            || reminder.body.is_some()
            || reminder.send_at_edited
            || reminder.recipients_edited;
        Ok(listed(
            reminder,
            about,
            (subject_line, body),
            edited,
            if_sent_now,
        ))
    }

    /// Changes a scheduled reminder's wording, recipients or send time; the change survives
    /// later recomputations of the contract's schedule.
    pub async fn edit_reminder(
        &self,
        id: i64,
        changes: impl Into<ReminderEdits>,
        actor: &Actor,
    ) -> Result<(), EngineError> {
        let changes = validate_edits(&changes.into())?;
        if changes.is_empty() {
            return Err(ValidationError::new(
                "reminder",
                "nothing to change: give a subject, a body, recipients or a send time",
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
            recipients: changes.recipients.clone(),
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
        if let Some((to, cc)) = &changes.recipients {
            what.push(format!(
                "recipients to {} cc {}",
                to.join(", "),
                cc.join(", ")
            ));
        }
        if let Some(at) = changes.send_at {
            what.push(format!("send time {} -> {at}", reminder.send_at));
        }
        events::record(
            &mut tx,
            now,
            &actor.0,
            EventSubject::Reminder(id),
            EventAction::Edited,
            &what.join(", "),
        )
        .await?;
        self.commit_schedule_change(tx).await?;
        Ok(())
    }

    /// The reminder as it would be sent with `changes` applied, without saving anything:
    /// the review page's "preview before saving". Validates like [`Engine::edit_reminder`].
    pub async fn preview_reminder(
        &self,
        id: i64,
        changes: &ReminderEdits,
    ) -> Result<ReminderPreview, EngineError> {
        let changes = validate_edits(changes)?;
        let mut db = self.store.conn().await?;
        let mut reminder = reminders::get(&mut db, id).await?;
        let subject = self.load_subject(&mut db, reminder.about).await?;
        drop(db);
        if changes.subject.is_some() {
            reminder.subject = changes.subject;
        }
        if changes.body.is_some() {
            reminder.body = changes.body;
        }
        if let Some(at) = changes.send_at {
            reminder.send_at = at;
        }
        if let Some((to, cc)) = changes.recipients {
            reminder.to = to;
            reminder.cc = cc;
        }
        let rendered = self.render(&reminder, &subject, reminder.send_at)?;
        Ok(ReminderPreview {
            subject: rendered.subject,
            body: rendered.body,
            to: reminder.to,
            cc: reminder.cc,
            send_at: reminder.send_at,
        })
    }

    /// Puts a scheduled reminder back to its template's wording and the computed recipients
    /// (an edited send time stays).
    pub async fn reset_reminder_wording(&self, id: i64, actor: &Actor) -> Result<(), EngineError> {
        let now = self.clock.now();
        let mut tx = self.store.begin().await?;
        let reminder = reminders::get(&mut tx, id).await?;
        reminder.status.check_open_to_people(id)?;
        if !reminders::reset_wording(&mut tx, id, now).await? {
            return Err(EngineError::Conflict(format!(
                "reminder {id} changed meanwhile; try again"
            )));
        }
        // Recomputes the recipients of every unedited reminder of the contract, this one now
        // included.
        if let Some(contract_id) = reminder.contract_id {
            self.resync_contract(&mut tx, contract_id, now).await?;
        }
        events::record(
            &mut tx,
            now,
            &actor.0,
            EventSubject::Reminder(id),
            EventAction::Reset,
            "wording and recipients back to the template",
        )
        .await?;
        self.commit_schedule_change(tx).await?;
        Ok(())
    }

    /// What happened to one reminder, oldest first.
    pub async fn reminder_history(&self, id: i64) -> Result<Vec<Event>, EngineError> {
        let mut db = self.store.conn().await?;
        Ok(reminders::history(&mut db, id).await?)
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
        events::record(
            &mut tx,
            now,
            &actor.0,
            EventSubject::Reminder(id),
            EventAction::Skipped,
            reason,
        )
        .await?;
        self.announce_about(
            &mut tx,
            now,
            WebhookEvent::ReminderSkipped,
            EventSubject::Reminder(id),
            json!({ "by": actor.0, "reason": reason }),
        )
        .await?;
        self.commit_schedule_change(tx).await?;
        Ok(())
    }

    /// Whether `reminder` is an email missed because its contract was entered after its
    /// time, which a person may still send late: a customer email of the contract's current
    /// term, while the contract is active.
    pub async fn is_missed_notice(&self, id: i64) -> Result<bool, EngineError> {
        let mut db = self.store.conn().await?;
        let reminder = reminders::get(&mut db, id).await?;
        if reminder.status != ReminderStatus::Cancelled
            || reminder.status_reason.as_deref() != Some(crate::scheduling::PASSED_WHEN_PLANNED)
        {
            return Ok(false);
        }
        let subject = self.load_subject(&mut db, reminder.about).await?;
        Ok(
            subject.contract.status == tickler_core::contract::ContractStatus::Active
                && subject.term.term_number == subject.contract.term_number,
        )
    }

    /// Sends now an email that was missed because its contract was entered after its time
    /// (see [`Engine::is_missed_notice`]), with its wording as of now; recorded.
    pub async fn send_missed_notice(&self, id: i64, actor: &Actor) -> Result<Outcome, EngineError> {
        if !self.is_missed_notice(id).await? {
            return Err(EngineError::Conflict(format!(
                "reminder {id} is not an email missed when its contract was entered (or its \
                 contract is no longer active): there is nothing to send late"
            )));
        }
        let now = self.clock.now();
        let mut tx = self.store.begin().await?;
        let reopened =
            reminders::reopen_missed(&mut tx, id, crate::scheduling::PASSED_WHEN_PLANNED, now)
                .await?;
        let detail = "missed when the contract was entered; sent late by a person";
        restored(&mut tx, id, reopened, now, actor, detail).await?;
        tickler_store::commit(tx).await?;
        self.send_reminder_now(id, None, actor).await
    }

    /// Undoes a skip: the reminder goes back to the queue at its own send time. Possible
    /// until that time; after it, the email would go out late, so it is refused (send it
    /// from a new step or by hand instead).
    pub async fn unskip_reminder(&self, id: i64, actor: &Actor) -> Result<(), EngineError> {
        let now = self.clock.now();
        let mut tx = self.store.begin().await?;
        let reminder = reminders::get(&mut tx, id).await?;
        if reminder.status != ReminderStatus::Skipped {
            return Err(EngineError::Conflict(format!(
                "reminder {id} is {}, not skipped: there is no skip to undo",
                reminder.status.as_str()
            )));
        }
        if reminder.send_at <= now {
            return Err(EngineError::Conflict(format!(
                "reminder {id} was due at {}: a skip can be undone only until the email's \
                 own send time",
                reminder.send_at
            )));
        }
        let reopened = reminders::reopen_skipped(&mut tx, id, now).await?;
        restored(
            &mut tx,
            id,
            reopened,
            now,
            actor,
            "skip undone: back in the queue",
        )
        .await?;
        self.commit_schedule_change(tx).await?;
        Ok(())
    }

    /// Sends a scheduled reminder at once, through the same path as the dispatcher. With
    /// `seen` (the version the person read), an email that would now go out otherwise (the
    /// reminder, its template or what it quotes edited meanwhile) is not sent: 409 naming
    /// what changed. The check runs on the claimed reminder, which nobody can edit any more.
    pub async fn send_reminder_now(
        &self,
        id: i64,
        seen: Option<&SeenVersion>,
        actor: &Actor,
    ) -> Result<Outcome, EngineError> {
        let now = self.clock.now();
        let mut db = self.store.conn().await?;
        let reminder = reminders::get(&mut db, id).await?;
        reminder.status.check_open_to_people(id)?;
        let claimed = reminders::claim_one(&mut db, id, now, &self.lease()).await?;
        let Some(claimed) = claimed else {
            return Err(EngineError::Conflict(format!(
                "reminder {id} was claimed meanwhile"
            )));
        };
        if let Some(seen) = seen {
            let changed = match self.load_subject(&mut db, claimed.about).await {
                Ok(subject) => self.render(&claimed, &subject, now).map(|current| {
                    SeenVersion::of(&current.subject, &current.body, &claimed.to, &claimed.cc)
                        .changes_since(seen)
                }),
                Err(e) => Err(e),
            };
            if !matches!(&changed, Ok(parts) if parts.is_empty()) {
                // Back as it was: scheduled at its own time, for the person to read again.
                reminders::release(&mut db, id, claimed.attempts, claimed.due_at, None, now)
                    .await?;
                let parts = changed?;
                return Err(EngineError::Conflict(format!(
                    "reminder {id} changed since you read it: its {} differ{} now (the \
                     reminder, its template or the contract was edited meanwhile); nothing \
                     was sent. Read it again, then send it.",
                    parts.join(" and "),
                    if parts.len() == 1 && parts[0] != "recipients" {
                        "s"
                    } else {
                        ""
                    },
                )));
            }
        }
        events::record(
            &mut db,
            now,
            &actor.0,
            EventSubject::Reminder(id),
            EventAction::SendNow,
            seen.map(|v| format!("version {}", v.token()))
                .as_deref()
                .unwrap_or(""),
        )
        .await?;
        drop(db);
        Ok(self.deliver(claimed).await)
    }
}

/// Records that a person put reminder `id` back in the queue (`reopened`: the store did), or
/// refuses if it changed meanwhile.
async fn restored(
    tx: &mut tickler_store::Db,
    id: i64,
    reopened: bool,
    now: Timestamp,
    actor: &Actor,
    detail: &str,
) -> Result<(), EngineError> {
    if !reopened {
        return Err(EngineError::Conflict(format!(
            "reminder {id} changed meanwhile; try again"
        )));
    }
    events::record(
        tx,
        now,
        &actor.0,
        EventSubject::Reminder(id),
        EventAction::Restored,
        detail,
    )
    .await?;
    Ok(())
}

/// What a listed reminder is about, as its list shows it.
struct About {
    contract_id: Option<i64>,
    contract_title: String,
    customer_name: String,
    customer_time_zone: String,
    language: tickler_core::language::Language,
    owner_name: Option<String>,
    owner_id: Option<i64>,
    term_number: i32,
    invoice_id: Option<i64>,
}

/// A reminder as listed, with its wording (as sent, or as it stands) and what it is about.
fn listed(
    reminder: Reminder,
    about: About,
    (subject, body): (String, String),
    edited: bool,
    if_sent_now: Option<WordingNow>,
) -> ReminderView {
    ReminderView {
        version: SeenVersion::of(&subject, &body, &reminder.to, &reminder.cc).token(),
        id: reminder.id,
        subject_type: reminder.about.kind,
        subject_id: reminder.about.id,
        contract_id: about.contract_id,
        contract_title: about.contract_title,
        customer_name: about.customer_name,
        customer_time_zone: about.customer_time_zone,
        language: about.language,
        owner_name: about.owner_name,
        owner_id: about.owner_id,
        term_number: about.term_number,
        anchor: reminder.anchor,
        invoice_id: about.invoice_id,
        step: reminder.step_key,
        label: reminder.label,
        offset_days: reminder.offset_days,
        mode: reminder.mode,
        status: reminder.status,
        status_reason: reminder.status_reason,
        send_at: reminder.send_at,
        next_attempt_at: (reminder.status == ReminderStatus::Scheduled
            && reminder.due_at != reminder.send_at)
            .then_some(reminder.due_at),
        to: reminder.to,
        cc: reminder.cc,
        subject,
        body,
        edited,
        message_id: reminder.message_id,
        attempts: reminder.attempts,
        last_error: reminder.last_error,
        smtp_reply: reminder.smtp_reply,
        sent_at: reminder.sent_at,
        lateness_ms: reminder.lateness_ms,
        if_sent_now,
    }
}
