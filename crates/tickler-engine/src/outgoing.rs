//! What will go out over a window of time, as it will go out: `tickler preview`. Each
//! kind of outgoing email comes from its own source (the scheduled reminders and the owners'
//! alerts they will raise, the invoices the billing run will make), so that a new kind (the
//! morning digests) is one more source; [`Engine::preview`] merges them in send order.
//!
//! The rule: running the dispatcher continuously over the window (or `dispatch --once
//! --now` at each listed instant) sends exactly the listed emails, no more, no fewer, unless
//! someone acts meanwhile (edits, skips, approves, records a payment or an answer). The
//! catch-up rule plays no part: it applies only when the dispatcher was not running.

use std::collections::HashMap;

use jiff::Timestamp;
use serde::Serialize;
use tickler_core::{
    ValidationError,
    billing::InvoiceMode,
    invoice::{self as rules, InvoiceStatus},
    plan::{DUNNING_PLAN, Mode, Recipients, default_dunning_plan},
    reminder::ReminderStatus,
    renewal::{Answer, renews_at_end},
    send_window::{SendWindow, send_window, start_of_day},
    subject::{InvoiceSubject, SubjectKind, SubjectRef},
};
use tickler_store::{
    Db, billing, invoices, plans,
    reminders::{self, Reminder, ReminderFilter, ReminderKind},
};

use tickler_mail::templates;

use crate::{
    Engine, EngineError,
    dispatch::{OwnerNotice, stop_reason},
    invoicing::INVOICE_EMAIL,
    message::{BillingSubject, Subject, SubjectLoader},
    recipients,
    scheduling::SubjectContext,
};

/// What an outgoing email is, for people: a contract's timed email (or a quote's, or a
/// notice), an invoice's (its email, the notice that it is coming, its payment
/// reminders), or a morning digest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum OutgoingKind {
    Reminder,
    Invoice,
    Digest,
}

impl OutgoingKind {
    pub fn as_str(self) -> &'static str {
        match self {
            OutgoingKind::Reminder => "reminder",
            OutgoingKind::Invoice => "invoice",
            OutgoingKind::Digest => "digest",
        }
    }

    /// The kind of the emails about a subject of `kind`.
    pub fn of(kind: SubjectKind) -> OutgoingKind {
        match kind {
            SubjectKind::Invoice | SubjectKind::BillingPeriod => OutgoingKind::Invoice,
            SubjectKind::Digest => OutgoingKind::Digest,
            SubjectKind::ContractTerm | SubjectKind::Quote | SubjectKind::Task => {
                OutgoingKind::Reminder
            }
        }
    }
}

/// One email that will go out in the window, as it will go out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OutgoingItem {
    /// The reminder that will be sent; `None` for an email not in the database yet
    /// (`predicted`).
    pub reminder_id: Option<i64>,
    pub kind: OutgoingKind,
    /// The instant it goes out (UTC): its send time, or for an email the mail server turned
    /// away for now, its next try.
    pub send_at: Timestamp,
    /// The same instant in `time_zone`, RFC 3339 with the offset.
    pub send_at_local: String,
    /// The customer's time zone (the organisation's for a customer without one); the
    /// owner's for a digest.
    pub time_zone: String,
    pub to: Vec<String>,
    pub cc: Vec<String>,
    /// The subject line, rendered as the dispatcher will render it at `send_at`.
    pub subject: String,
    pub contract_id: Option<i64>,
    /// The invoice it belongs to, once that invoice exists.
    pub invoice_id: Option<i64>,
    /// The invoice's number: an issued invoice's, or the one a predicted invoice will take.
    pub invoice_number: Option<String>,
    pub customer: Option<String>,
    /// The title of the contract it belongs to.
    pub contract_title: Option<String>,
    /// The contract owner's email.
    pub owner: Option<String>,
    /// What the reminder is about (`contract_term`, `invoice`, `billing_period`, ...).
    pub subject_type: SubjectKind,
    /// The plan step's key, or the notice's (`invoice_issued`, `owner_alert:42`).
    pub step: String,
    pub label: String,
    pub mode: Mode,
    /// `scheduled` for a reminder in the database; `predicted` for one the dispatcher will
    /// make on the way (an invoice's email, an owner's alert).
    pub status: String,
    pub predicted: bool,
    /// For an alert to the owner: the reminder (in `approval` or `task` mode) that waits for
    /// them, which itself is not sent.
    pub waiting_reminder_id: Option<i64>,
}

/// What a preview covers: its window, whose contracts, as of when.
#[derive(Debug, Clone, Copy)]
pub struct OutgoingScope {
    pub window: SendWindow,
    /// Only contracts this user owns.
    pub owner_id: Option<i64>,
    /// The engine's now: what is overdue by then (a term that should have started, a task
    /// due for escalation) happens at the next dispatch, now.
    pub now: Timestamp,
}

/// Whether `reminder`, a step about a billing period, comes after the period is billed: the
/// billing run then cancels it ("the invoice was already issued").
fn billed_before(reminder: &Reminder, subject: &Subject) -> bool {
    match &subject.billing {
        Some(BillingSubject::Upcoming { period, .. }) => {
            reminder.kind == ReminderKind::Step
                && reminder.about.kind == SubjectKind::BillingPeriod
                && period.status == billing::PeriodStatus::Pending
                && period.bill_at <= reminder.send_at
        }
        _ => false,
    }
}

/// A reminder row for an email the dispatcher will create on the way, so that it renders
/// through the same path as the stored ones.
struct Draft<'a> {
    about: SubjectRef,
    contract_id: Option<i64>,
    kind: ReminderKind,
    step_key: &'a str,
    label: &'a str,
    template: &'a str,
    offset_days: i32,
    mode: Mode,
    send_at: Timestamp,
}

impl Draft<'_> {
    fn reminder(&self, to: Vec<String>, cc: Vec<String>) -> Reminder {
        Reminder {
            id: 0,
            about: self.about,
            contract_id: self.contract_id,
            kind: self.kind,
            anchor: None,
            step_key: self.step_key.to_string(),
            position: -1,
            label: self.label.to_string(),
            template: self.template.to_string(),
            offset_days: self.offset_days,
            mode: self.mode,
            status: ReminderStatus::Scheduled,
            status_reason: None,
            send_at: self.send_at,
            send_at_edited: false,
            due_at: self.send_at,
            to,
            cc,
            recipients_edited: false,
            subject: None,
            body: None,
            message_id: String::new(),
            attempts: 0,
            claimed_by: None,
            claimed_until: None,
            last_error: None,
            smtp_reply: None,
            sent_subject: None,
            sent_body: None,
            sent_at: None,
            lateness_ms: None,
            created_at: self.send_at,
            updated_at: self.send_at,
        }
    }
}

impl Engine {
    /// The window `--from`..`--to` (dates in the organisation's time zone, both days
    /// included, or RFC 3339 instants).
    pub fn preview_window(&self, from: &str, to: &str) -> Result<SendWindow, EngineError> {
        Ok(send_window(from, to, self.settings.default_time_zone.tz())?)
    }

    /// Everything that will be sent in `window` (of the contracts `owner` owns, an email),
    /// in send order: what the dispatcher, running through the window, sends.
    pub async fn preview(
        &self,
        window: SendWindow,
        owner: Option<&str>,
    ) -> Result<Vec<OutgoingItem>, EngineError> {
        let owner_id = match owner {
            None => None,
            Some(email) => match self.user_by_email(email).await? {
                Some(user) => Some(user.id),
                None => {
                    return Err(ValidationError::new(
                        "--owner",
                        format!("no user has the email \"{}\"", email.trim()),
                    )
                    .into());
                }
            },
        };
        let scope = OutgoingScope {
            window,
            owner_id,
            now: self.clock.now(),
        };
        let mut items = self.sends_over(&scope).await?;
        items.extend(self.digests(&scope).await?);
        items.sort_by(|a, b| {
            (a.send_at, a.reminder_id.is_none(), a.reminder_id, &a.step).cmp(&(
                b.send_at,
                b.reminder_id.is_none(),
                b.reminder_id,
                &b.step,
            ))
        });
        Ok(items)
    }

    /// Everything but the morning digests that will go out in the scope's window: what a
    /// digest lists as "going out" is taken from here, so that the digest written at its
    /// time and the one previewed before say the same.
    pub(crate) async fn sends_over(
        &self,
        scope: &OutgoingScope,
    ) -> Result<Vec<OutgoingItem>, EngineError> {
        let mut db = self.store.conn().await?;
        let mut items = self.scheduled_sends(&mut db, scope).await?;
        items.extend(self.predicted_invoices(&mut db, scope).await?);
        items.extend(self.escalations(&mut db, scope).await?);
        items.extend(self.rolled_terms(&mut db, scope).await?);
        Ok(items)
    }

    /// Source: the reminders in the database due in the window that the dispatcher sends by
    /// itself (`auto` and `internal` modes) and the stop rules will not cancel, and for
    /// those that wait for a person (`approval`, `task`) the alert the owner gets instead.
    async fn scheduled_sends(
        &self,
        db: &mut Db,
        scope: &OutgoingScope,
    ) -> Result<Vec<OutgoingItem>, EngineError> {
        // Due in the window: a reminder the mail server turned away for now is tried again
        // at its `due_at`, and goes out then, worded for then.
        let due: Vec<Reminder> =
            reminders::due_between(db, scope.window.start, scope.window.end, scope.owner_id)
                .await?
                .into_iter()
                .map(|reminder| Reminder {
                    send_at: reminder.due_at,
                    ..reminder
                })
                .collect();
        let mut refs: Vec<SubjectRef> = due.iter().map(|r| r.about).collect();
        refs.sort_unstable();
        refs.dedup();
        let mut subjects = SubjectLoader::default().load_many(db, &refs).await?;
        for subject in subjects.values_mut() {
            self.sign_quote_links(db, subject).await?;
        }
        let mut items = Vec::with_capacity(due.len());
        for reminder in &due {
            if reminder.about.kind == SubjectKind::Digest {
                // Written when it was queued (a retry of one the mail server turned away).
                items.push(self.queued_digest_item(db, reminder).await?);
                continue;
            }
            let Some(subject) = subjects.get(&reminder.about) else {
                // A subject this version cannot read: the dispatcher fails it, sends nothing.
                continue;
            };
            if stop_reason(reminder, subject).is_some()
                || self.rolls_before(reminder, subject)
                || billed_before(reminder, subject)
            {
                continue;
            }
            match reminder.mode {
                Mode::Auto | Mode::Internal => {
                    let rendered = self.render(reminder, subject, reminder.send_at)?;
                    items.push(self.item(
                        reminder,
                        subject,
                        rendered.subject,
                        reminder.to.clone(),
                        reminder.cc.clone(),
                    ));
                }
                Mode::Approval | Mode::Task => {
                    // Not alerted yet (`due_between`): the alert goes out when it falls due.
                    if let Some(alert) = self.alert_item(reminder, subject)? {
                        items.push(alert);
                    }
                }
            }
        }
        Ok(items)
    }

    /// Whether `reminder`'s term will have been followed by the next before it goes out: an
    /// auto-renewing or evergreen contract starts its next term by itself the day after its
    /// end date (in the customer's zone), and the old term's reminders then stop.
    fn rolls_before(&self, reminder: &Reminder, subject: &Subject) -> bool {
        reminder.about.kind == SubjectKind::ContractTerm
            && reminder.kind == ReminderKind::Step
            && self
                .roll_at(subject)
                .is_some_and(|roll_at| reminder.send_at >= roll_at)
    }

    /// When the subject's term (the contract's current one) is followed by the next by
    /// itself (see `roll_terms`): at the start of the day after its end date in the
    /// customer's zone, for an active auto-renewing (undeclined) or evergreen contract.
    fn roll_at(&self, subject: &Subject) -> Option<Timestamp> {
        let contract = &subject.contract;
        if subject.term.term_number != contract.term_number
            || !renews_at_end(
                contract.renewal,
                contract.answer == Some(Answer::Decline),
                !contract.is_active(),
            )
        {
            return None;
        }
        let next_day = subject.term.end_date.tomorrow().ok()?;
        Some(start_of_day(
            next_day,
            &self.customer_zone(&subject.customer),
        ))
    }

    /// Source: the emails of the terms that start by themselves before the window ends
    /// (auto-renewing and evergreen contracts, see `roll_terms`), planned as the renewal
    /// plans them at that moment. One new term per contract: a term shorter than the window
    /// that would roll twice is followed once. A recurring sale's new periods are not
    /// predicted.
    async fn rolled_terms(
        &self,
        db: &mut Db,
        scope: &OutgoingScope,
    ) -> Result<Vec<OutgoingItem>, EngineError> {
        // No zone is more than 14 hours ahead of UTC (as in `roll_terms`).
        let horizon = scope
            .window
            .end
            .saturating_add(jiff::SignedDuration::from_hours(14))
            .unwrap_or(scope.window.end)
            .to_zoned_datetime(jiff::tz::TimeZone::UTC)
            .date();
        let candidates = tickler_store::contracts::rolling_due(db, horizon, i64::MAX).await?;
        let mut plans_read: HashMap<i64, tickler_core::plan::Plan> = HashMap::new();
        let mut team: Option<Vec<String>> = None;
        let mut items = Vec::new();
        for id in candidates {
            let mut subject = Subject::of_current_term(db, id).await?;
            if scope.owner_id.is_some() && subject.contract.owner_id != scope.owner_id {
                continue;
            }
            let Some(roll_at) = self.roll_at(&subject) else {
                continue;
            };
            let roll_at = roll_at.max(scope.now);
            if roll_at >= scope.window.end {
                continue;
            }
            let Ok(next) =
                tickler_core::term::Term::new(subject.term.start_date, subject.term.end_date)
                    .and_then(|term| term.next(None))
            else {
                continue;
            };
            let plan = match plans_read.get(&subject.contract.plan_id) {
                Some(plan) => plan.clone(),
                None => {
                    let plan = plans::get(db, subject.contract.plan_id).await?;
                    plans_read.insert(subject.contract.plan_id, plan.clone());
                    plan
                }
            };
            let team = match &team {
                Some(team) => team.clone(),
                None if plan.steps.iter().any(|s| s.recipients.team) => {
                    team.insert(self.team_addresses(db).await?).clone()
                }
                None => Vec::new(),
            };
            // The contract as it will be once its next term started.
            subject.term.previous_term_id = Some(subject.term.id);
            subject.term.id = 0;
            subject.term.term_number += 1;
            subject.term.start_date = next.start;
            subject.term.end_date = next.end;
            subject.term.quote_id = None;
            subject.term.answer = None;
            subject.term.answered_at = None;
            subject.contract.term_number = subject.term.term_number;
            subject.contract.start_date = next.start;
            subject.contract.end_date = next.end;
            subject.contract.answer = None;
            subject.about = SubjectRef::contract_term(0);
            let ctx = SubjectContext {
                about: subject.about,
                contract_id: Some(id),
                anchors: tickler_core::schedule::AnchorDates::contract_term(
                    next.start,
                    next.end,
                    subject.contract.renewal_terms(),
                ),
                customer: &subject.customer,
                owner: subject.owner.as_ref(),
                plan: &plan,
                team: Some(&team),
                active: true,
            };
            for first in self.first_steps(&ctx, &team, roll_at) {
                if first.passed || !scope.window.contains(first.wanted.send_at) {
                    continue;
                }
                let Some(step) = plan.steps.get(first.position) else {
                    continue;
                };
                let draft = Draft {
                    about: subject.about,
                    contract_id: Some(id),
                    kind: ReminderKind::Step,
                    step_key: &step.key,
                    label: &step.label,
                    template: &step.template,
                    offset_days: step.offset.days,
                    mode: step.mode,
                    send_at: first.wanted.send_at,
                }
                .reminder(first.wanted.to.clone(), first.wanted.cc.clone());
                let item = match step.mode {
                    Mode::Auto | Mode::Internal => {
                        let rendered = self.render(&draft, &subject, draft.send_at)?;
                        Some(self.item(
                            &draft,
                            &subject,
                            rendered.subject,
                            draft.to.clone(),
                            draft.cc.clone(),
                        ))
                    }
                    Mode::Approval | Mode::Task => {
                        self.alert_item(&draft, &subject)?.map(|mut alert| {
                            alert.waiting_reminder_id = None;
                            alert.step = format!("{}:{}", alert.step, step.key);
                            alert
                        })
                    }
                };
                items.extend(item);
            }
        }
        Ok(items)
    }

    /// The alert the owner gets when a step that waits for a person comes due (see
    /// `alert_owners`): none when the contract has no owner.
    fn alert_item(
        &self,
        reminder: &Reminder,
        subject: &Subject,
    ) -> Result<Option<OutgoingItem>, EngineError> {
        let Some(owner) = &subject.owner else {
            return Ok(None);
        };
        let notice = match reminder.mode {
            Mode::Task => OwnerNotice::TaskAssigned,
            _ => OwnerNotice::WaitingForYou,
        };
        let (template, label, rendered) = self.owner_notice(reminder, subject, notice)?;
        let key = format!("{template}:{}", reminder.id);
        let alert = Draft {
            about: reminder.about,
            contract_id: reminder.contract_id,
            kind: ReminderKind::Notice,
            step_key: &key,
            label,
            template,
            offset_days: 0,
            mode: Mode::Internal,
            send_at: reminder.send_at,
        }
        .reminder(vec![owner.email.clone()], Vec::new());
        let mut item = self.item(&alert, subject, rendered.subject, alert.to.clone(), vec![]);
        item.predicted = true;
        item.waiting_reminder_id = Some(reminder.id);
        Ok(Some(item))
    }

    /// Source: the invoices the billing run will make and issue at once in the window (sales
    /// that issue directly; drafts wait for a person and send nothing): each one's email,
    /// sent when the run issues it, and the payment reminders of its own that fall in the
    /// window too. Numbers are predicted in the run's order, from each year's counter;
    /// an invoice issued by hand meanwhile shifts them.
    async fn predicted_invoices(
        &self,
        db: &mut Db,
        scope: &OutgoingScope,
    ) -> Result<Vec<OutgoingItem>, EngineError> {
        let periods = billing::pending_before(db, scope.window.end).await?;
        if periods.is_empty() {
            return Ok(Vec::new());
        }
        let dunning = match plans::find_id(db, DUNNING_PLAN).await? {
            Some(id) => plans::get(db, id).await?,
            None => default_dunning_plan(),
        };
        let team = if dunning.steps.iter().any(|s| s.recipients.team) {
            self.team_addresses(db).await?
        } else {
            Vec::new()
        };
        let prefix = self.invoice_prefix();
        let mut last_numbers: HashMap<i16, i64> = HashMap::new();
        let mut loader = SubjectLoader::default();
        let mut items = Vec::new();
        for period in periods {
            let contract = tickler_store::contracts::get(db, period.contract_id).await?;
            let Some(schedule) = billing::schedule(db, contract.id).await? else {
                continue;
            };
            if contract.money().is_none() || schedule.invoice_mode != InvoiceMode::Issue {
                continue;
            }
            // Every invoice issued before the window's end takes its number, in order.
            let year = period.issue_date.year();
            let sequence = match last_numbers.get(&year) {
                Some(last) => last + 1,
                None => invoices::last_number(db, year).await? + 1,
            };
            last_numbers.insert(year, sequence);
            if !scope.window.contains(period.bill_at)
                || scope.owner_id.is_some() && contract.owner_id != scope.owner_id
            {
                continue;
            }
            let number = rules::invoice_number(&prefix, year, sequence);
            let about = SubjectRef {
                kind: SubjectKind::BillingPeriod,
                id: period.id,
            };
            let mut subject = loader.load(db, about).await?;
            let due_date = match &mut subject.billing {
                Some(BillingSubject::Upcoming {
                    number: predicted,
                    due_date,
                    ..
                }) => {
                    *predicted = Some(number.clone());
                    *due_date
                }
                _ => continue,
            };
            let invoice = SubjectRef {
                kind: SubjectKind::Invoice,
                id: 0,
            };
            let (to, cc) = recipients::resolve(
                Recipients::CUSTOMER_CC_OWNER,
                &subject.customer.emails,
                subject.owner.as_ref().map(|o| o.email.as_str()),
                &[],
            );
            let email = Draft {
                about: invoice,
                contract_id: Some(contract.id),
                kind: ReminderKind::Notice,
                step_key: INVOICE_EMAIL,
                label: "Invoice",
                template: INVOICE_EMAIL,
                offset_days: 0,
                mode: Mode::Auto,
                send_at: period.bill_at,
            }
            .reminder(to, cc);
            items.push(self.predicted_item(&email, &subject, &number)?);

            // Its payment reminders, planned as the run plans them when it issues it.
            let anchors = InvoiceSubject {
                status: InvoiceStatus::Issued,
                due_date,
            }
            .anchor_dates();
            let ctx = SubjectContext {
                about: invoice,
                contract_id: Some(contract.id),
                anchors,
                customer: &subject.customer,
                owner: subject.owner.as_ref(),
                plan: &dunning,
                team: Some(&team),
                active: true,
            };
            for first in self.first_steps(&ctx, &team, period.bill_at) {
                if first.passed || !scope.window.contains(first.wanted.send_at) {
                    continue;
                }
                let Some(step) = dunning.steps.get(first.position) else {
                    continue;
                };
                let draft = Draft {
                    about: invoice,
                    contract_id: Some(contract.id),
                    kind: ReminderKind::Step,
                    step_key: &step.key,
                    label: &step.label,
                    template: &step.template,
                    offset_days: step.offset.days,
                    mode: step.mode,
                    send_at: first.wanted.send_at,
                }
                .reminder(first.wanted.to.clone(), first.wanted.cc.clone());
                match step.mode {
                    Mode::Auto | Mode::Internal => {
                        items.push(self.predicted_item(&draft, &subject, &number)?);
                    }
                    Mode::Approval | Mode::Task => {
                        if let Some(mut alert) = self.alert_item(&draft, &subject)? {
                            alert.waiting_reminder_id = None;
                            alert.step = format!("{}:{}", alert.step, step.key);
                            alert.invoice_number = Some(number.clone());
                            items.push(alert);
                        }
                    }
                }
            }
        }
        Ok(items)
    }

    /// Source: the escalation emails to the team about tasks still open 3 business days
    /// after their due date (see `escalate_tasks`): of the open tasks, and of the tasks the
    /// steps in `task` mode will open before the window ends. Each goes out when the
    /// organisation's day of escalation begins, assuming nobody closes the task first.
    async fn escalations(
        &self,
        db: &mut Db,
        scope: &OutgoingScope,
    ) -> Result<Vec<OutgoingItem>, EngineError> {
        let org_zone = self.settings.default_time_zone.tz().clone();
        let holidays = self.holidays().clone();
        let last_day = scope.window.end.to_zoned_datetime(org_zone.clone()).date();
        // (title, due date, counted from, subject, the task's id when it exists)
        let mut tasks = Vec::new();
        let mut loader = SubjectLoader::default();
        for task in tickler_store::tasks::unescalated_open(db, last_day, i64::MAX).await? {
            let subject = match (loader.load(db, task.about).await, task.contract_id) {
                (Ok(subject), _) => subject,
                (Err(_), Some(contract_id)) => Subject::of_current_term(db, contract_id).await?,
                (Err(_), None) => continue,
            };
            let counted = crate::tasks::counted_from(&task, &org_zone);
            tasks.push((task.title, task.due_date, counted, subject, Some(task.id)));
        }
        let steps = reminders::list(
            db,
            &ReminderFilter {
                status: Some(ReminderStatus::Scheduled),
                mode: Some(Mode::Task),
                send_from: Some(scope.now),
                send_until: Some(scope.window.end),
                ..ReminderFilter::default()
            },
        )
        .await?;
        for step in steps.into_iter().filter(|r| r.send_at > scope.now) {
            let Ok(subject) = loader.load(db, step.about).await else {
                continue;
            };
            if stop_reason(&step, &subject).is_some() || self.rolls_before(&step, &subject) {
                continue;
            }
            let due = step
                .send_at
                .to_zoned_datetime(self.customer_zone(&subject.customer))
                .date();
            let opened = step.send_at.to_zoned_datetime(org_zone.clone()).date();
            tasks.push((step.label.clone(), due, due.max(opened), subject, None));
        }
        let mut items = Vec::new();
        let mut team = None;
        for (title, due, counted, subject, task_id) in tasks {
            if scope.owner_id.is_some() && subject.contract.owner_id != scope.owner_id {
                continue;
            }
            let day = tickler_core::task::escalation_date(counted, &holidays);
            let at = start_of_day(day, &org_zone).max(scope.now);
            // A term that starts by itself cancels the open tasks about the old one.
            let cancelled_first = subject.about.kind == SubjectKind::ContractTerm
                && self.roll_at(&subject).is_some_and(|roll_at| roll_at <= at);
            if !scope.window.contains(at) || cancelled_first {
                continue;
            }
            let team = match &team {
                Some(team) => team,
                None => team.insert(self.team_addresses(db).await?),
            };
            let key = format!(
                "{}:{}",
                templates::TASK_ESCALATED,
                task_id.map_or("new".to_string(), |id| id.to_string())
            );
            let rendered = self.escalation_text(&key, &title, due, &subject, at)?;
            let notice = Draft {
                about: subject.about,
                contract_id: Some(subject.contract.id),
                kind: ReminderKind::Notice,
                step_key: &key,
                label: "Task escalated",
                template: templates::TASK_ESCALATED,
                offset_days: 0,
                mode: Mode::Internal,
                send_at: at,
            }
            .reminder(team.clone(), Vec::new());
            items.push(self.item(&notice, &subject, rendered.subject, team.clone(), vec![]));
        }
        Ok(items)
    }

    /// An email of an invoice not made yet, rendered as it will be once made.
    fn predicted_item(
        &self,
        draft: &Reminder,
        subject: &Subject,
        number: &str,
    ) -> Result<OutgoingItem, EngineError> {
        let rendered = self.render(draft, subject, draft.send_at)?;
        let mut item = self.item(
            draft,
            subject,
            rendered.subject,
            draft.to.clone(),
            draft.cc.clone(),
        );
        item.predicted = true;
        item.status = "predicted".to_string();
        item.invoice_number = Some(number.to_string());
        item.subject_type = SubjectKind::Invoice;
        item.kind = OutgoingKind::Invoice;
        item.invoice_id = None;
        Ok(item)
    }

    /// Source: the morning digests the dispatcher will write in the window, as the lists
    /// stand now (see [`Engine::planned_digests`]).
    async fn digests(&self, scope: &OutgoingScope) -> Result<Vec<OutgoingItem>, EngineError> {
        let planned = self
            .planned_digests(scope.window.start, scope.window.end, scope.owner_id)
            .await?;
        Ok(planned
            .into_iter()
            .filter(|digest| scope.window.contains(digest.send_at))
            .map(|digest| {
                digest_item(
                    None,
                    digest.send_at,
                    &digest.time_zone,
                    digest.to,
                    digest.subject,
                    tickler_core::digest::step_key(digest.day),
                )
            })
            .collect())
    }

    /// A digest already queued, as it will go out.
    async fn queued_digest_item(
        &self,
        db: &mut Db,
        reminder: &Reminder,
    ) -> Result<OutgoingItem, EngineError> {
        let reader = tickler_store::users::get(db, reminder.about.id).await?;
        let zone = self.digest_schedule(&reader).zone;
        Ok(digest_item(
            Some(reminder.id),
            reminder.send_at,
            zone.iana_name().unwrap_or("UTC"),
            reader.email,
            reminder.subject.clone().unwrap_or_default(),
            reminder.step_key.clone(),
        ))
    }

    fn item(
        &self,
        reminder: &Reminder,
        subject: &Subject,
        subject_line: String,
        to: Vec<String>,
        cc: Vec<String>,
    ) -> OutgoingItem {
        let zone = self.customer_zone(&subject.customer);
        let predicted = reminder.id == 0;
        let invoice_number = match &subject.billing {
            Some(BillingSubject::Invoice(invoice)) => invoice.number.clone(),
            Some(BillingSubject::Upcoming { number, .. }) => number.clone(),
            None => None,
        };
        OutgoingItem {
            reminder_id: (!predicted).then_some(reminder.id),
            kind: OutgoingKind::of(reminder.about.kind),
            send_at: reminder.send_at,
            send_at_local: reminder
                .send_at
                .to_zoned_datetime(zone.clone())
                .strftime("%Y-%m-%dT%H:%M:%S%:z")
                .to_string(),
            time_zone: zone.iana_name().unwrap_or("UTC").to_string(),
            to,
            cc,
            subject: subject_line,
            contract_id: reminder.contract_id.or(Some(subject.contract.id)),
            invoice_id: subject.invoice_id(),
            invoice_number,
            customer: Some(subject.customer.name.clone()),
            contract_title: Some(subject.contract.title.clone()),
            owner: subject.owner.as_ref().map(|o| o.email.clone()),
            subject_type: reminder.about.kind,
            step: reminder.step_key.clone(),
            label: reminder.label.clone(),
            mode: reminder.mode,
            status: if predicted { "predicted" } else { "scheduled" }.to_string(),
            predicted,
            waiting_reminder_id: None,
        }
    }
}

/// A morning digest as listed: to its reader alone, about no contract.
fn digest_item(
    reminder_id: Option<i64>,
    send_at: Timestamp,
    time_zone: &str,
    to: String,
    subject: String,
    step: String,
) -> OutgoingItem {
    let zone = jiff::tz::TimeZone::get(time_zone).unwrap_or(jiff::tz::TimeZone::UTC);
    OutgoingItem {
        reminder_id,
        kind: OutgoingKind::Digest,
        send_at,
        send_at_local: send_at
            .to_zoned_datetime(zone)
            .strftime("%Y-%m-%dT%H:%M:%S%:z")
            .to_string(),
        time_zone: time_zone.to_string(),
        owner: Some(to.clone()),
        to: vec![to],
        cc: Vec::new(),
        subject,
        contract_id: None,
        invoice_id: None,
        invoice_number: None,
        customer: None,
        contract_title: None,
        subject_type: SubjectKind::Digest,
        step,
        label: crate::digests::DIGEST_LABEL.to_string(),
        mode: Mode::Internal,
        status: if reminder_id.is_some() {
            "scheduled"
        } else {
            "predicted"
        }
        .to_string(),
        predicted: reminder_id.is_none(),
        waiting_reminder_id: None,
    }
}
