//! Keeps a contract term's reminders in step with its plan, dates, customer and owner.
//! Runs inside the caller's transaction, so a contract never exists without its reminders.

use jiff::{Timestamp, tz::TimeZone};
use tickler_core::contract::{Contract, ContractStatus};
use tickler_core::event::{EventAction, EventSubject};
use tickler_core::{
    plan::{Plan, Step},
    reconcile::{CancelReason, Change, ExistingReminder, PlannedStep, reconcile},
    reminder::ReminderStatus,
    schedule::{AnchorDates, plan_reminders},
    subject::SubjectRef,
    time_zone::Zone,
    webhook::WebhookEvent,
};
use tickler_store::{
    Db,
    contracts::ContractTerm,
    customers::Customer,
    events,
    reminders::{self, NewReminder, Reminder, ReminderKind},
    users::User,
};

use crate::{
    Engine, EngineError, recipients,
    webhooks::{self, ReminderNews},
};

/// What a contract term's reminders are computed from.
pub(crate) struct TermContext<'a> {
    /// The contract's current term: the reminders' subject.
    pub term: &'a ContractTerm,
    pub contract: &'a Contract,
    pub customer: &'a Customer,
    pub owner: Option<&'a User>,
    pub plan: &'a Plan,
}

impl TermContext<'_> {
    pub(crate) fn subject(&self) -> SubjectContext<'_> {
        SubjectContext {
            about: SubjectRef::contract_term(self.term.id),
            contract_id: Some(self.contract.id),
            anchors: AnchorDates::contract_term(
                self.term.start_date,
                self.term.end_date,
                self.contract.renewal_terms(),
            ),
            customer: self.customer,
            owner: self.owner,
            plan: self.plan,
            team: None,
            active: self.contract.status == ContractStatus::Active,
        }
    }
}

/// What any subject's reminders are computed from: the steps of `plan` whose anchor the
/// subject offers, placed in the customer's zone.
pub(crate) struct SubjectContext<'a> {
    pub about: SubjectRef,
    pub contract_id: Option<i64>,
    pub anchors: AnchorDates,
    pub customer: &'a Customer,
    pub owner: Option<&'a User>,
    pub plan: &'a Plan,
    /// The team's addresses when the caller has them (a billing run reuses them for every
    /// invoice); `None` reads them if a step goes to the team.
    pub team: Option<&'a [String]>,
    /// False once the subject's reminders are all pointless (its contract was terminated):
    /// every pending one is cancelled.
    pub active: bool,
}

/// Counts of what a recomputation did, for events and tests.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct ScheduleOutcome {
    pub created: usize,
    pub rescheduled: usize,
    pub cancelled: usize,
}

impl Engine {
    pub(crate) fn customer_zone(&self, customer: &Customer) -> TimeZone {
        customer
            .time_zone
            .as_deref()
            .and_then(|name| Zone::parse("time_zone", name).ok())
            .unwrap_or_else(|| self.settings.default_time_zone.clone())
            .tz()
            .clone()
    }

    /// A reminder's Message-ID, fixed when it is created. Time-ordered (UUIDv7, ordered
    /// within the process) rather than random, so that the unique index on `message_id`
    /// grows at its end: random ids sent each row of a large import to a random page of that
    /// index, which stopped fitting in the cache and made the cost per row grow with the file.
    pub(crate) fn new_message_id(&self) -> String {
        format!(
            "tickler.{}@{}",
            uuid::Uuid::now_v7().simple(),
            tickler_mail::message::message_id_domain(&self.settings.mail_from.address)
        )
    }

    /// The Message-ID a reminder's first send uses: its own, moved under the sender's domain
    /// if the sender changed since it was created (typically set up after the first
    /// contracts were entered, when ids still ended in `@localhost`). `None` when it stays.
    /// Only a first attempt moves: a retry keeps the id its earlier tries went out with, so
    /// that receivers can tell a repeat.
    pub(crate) fn first_send_message_id(&self, reminder: &Reminder) -> Option<String> {
        let domain = tickler_mail::message::message_id_domain(&self.settings.mail_from.address);
        let (local, current) = reminder.message_id.rsplit_once('@')?;
        (reminder.attempts == 1 && current != domain).then(|| format!("{local}@{domain}"))
    }

    /// Brings the current term's reminders in line with `ctx`: creates missing ones,
    /// moves unedited scheduled ones to their new instant and recipients (keeping what a
    /// person edited), and cancels those whose step left the plan. A step whose instant is
    /// already past when it is first planned (or re-planned) is cancelled, not sent late:
    /// entering an old contract must not mail its customer about dates long gone.
    pub(crate) async fn sync_term_reminders(
        &self,
        db: &mut Db,
        ctx: &TermContext<'_>,
        now: Timestamp,
    ) -> Result<ScheduleOutcome, EngineError> {
        let existing = reminders::for_subject(db, SubjectRef::contract_term(ctx.term.id)).await?;
        self.schedule_reminders(db, ctx, existing, now).await
    }

    /// The subject's plan placed in time: each step's position in the plan, with its
    /// instant in the customer's zone and the recipients it would get now.
    fn plan_subject(&self, ctx: &SubjectContext<'_>, team: &[String]) -> Vec<(usize, PlannedStep)> {
        let owner_email = ctx.owner.map(|o| o.email.as_str());
        plan_reminders(
            ctx.plan,
            &ctx.anchors,
            &self.customer_zone(ctx.customer),
            self.holidays(),
        )
        .into_iter()
        .map(|planned| {
            let step = &ctx.plan.steps[planned.position];
            let (to, cc) =
                recipients::resolve(step.recipients, &ctx.customer.emails, owner_email, team);
            let wanted = PlannedStep {
                step_key: step.key.clone(),
                send_at: planned.send_at,
                to,
                cc,
            };
            (planned.position, wanted)
        })
        .collect()
    }

    /// [`Self::sync_term_reminders`] with the term's reminders already known (none, for a
    /// contract just entered).
    pub(crate) async fn schedule_reminders(
        &self,
        db: &mut Db,
        ctx: &TermContext<'_>,
        existing: Vec<Reminder>,
        now: Timestamp,
    ) -> Result<ScheduleOutcome, EngineError> {
        self.schedule_subject(db, &ctx.subject(), existing, now)
            .await
    }

    /// Brings one subject's reminders in line with `ctx`, given the ones it has: the rule
    /// of [`Self::sync_term_reminders`] for any subject.
    pub(crate) async fn schedule_subject(
        &self,
        db: &mut Db,
        ctx: &SubjectContext<'_>,
        existing: Vec<Reminder>,
        now: Timestamp,
    ) -> Result<ScheduleOutcome, EngineError> {
        let active = ctx.active;
        // Only the steps to the team need its addresses: most plans have none.
        let team = match ctx.team {
            Some(team) => team.to_vec(),
            None if ctx.plan.steps.iter().any(|s| s.recipients.team) => {
                self.team_addresses(db).await?
            }
            None => Vec::new(),
        };
        let planned = if active {
            self.plan_subject(ctx, &team)
        } else {
            Vec::new()
        };
        let steps: Vec<PlannedStep> = planned.iter().map(|(_, step)| step.clone()).collect();
        let known: Vec<ExistingReminder> = existing.iter().map(existing_of).collect();
        let mut outcome = ScheduleOutcome::default();
        for change in reconcile(&steps, &known, now) {
            match change {
                Change::Create {
                    planned: index,
                    cancel_at_once,
                } => {
                    let (position, wanted) = &planned[index];
                    let id = self
                        .insert_step(db, ctx, *position, wanted, !cancel_at_once, now)
                        .await?;
                    outcome.created += 1;
                    if cancel_at_once {
                        let why = cancel_reason(CancelReason::PassedWhenPlanned, active);
                        reminders::close_scheduled(db, id, ReminderStatus::Cancelled, why, now)
                            .await?;
                        outcome.cancelled += 1;
                    }
                }
                Change::Reschedule {
                    id,
                    from,
                    send_at,
                    to,
                    cc,
                } => {
                    if reminders::reschedule(db, id, send_at, &to, &cc, now).await? {
                        let detail = format!("from {from} to {send_at}");
                        events::record(
                            db,
                            now,
                            events::SYSTEM,
                            EventSubject::Reminder(id),
                            EventAction::Rescheduled,
                            &detail,
                        )
                        .await?;
                        outcome.rescheduled += 1;
                    }
                }
                Change::Cancel { id, reason } => {
                    let why = cancel_reason(reason, active);
                    if reminders::close_scheduled(db, id, ReminderStatus::Cancelled, why, now)
                        .await?
                    {
                        let detail = match reason {
                            CancelReason::NewTimePassed => "new send time already passed",
                            _ => why,
                        };
                        events::record(
                            db,
                            now,
                            events::SYSTEM,
                            EventSubject::Reminder(id),
                            EventAction::Cancelled,
                            detail,
                        )
                        .await?;
                        outcome.cancelled += 1;
                    }
                }
            }
        }
        Ok(outcome)
    }

    /// A new reminder for the subject's step at `position` of its plan, as planned;
    /// announced to webhooks unless it is to be cancelled at once.
    async fn insert_step(
        &self,
        db: &mut Db,
        ctx: &SubjectContext<'_>,
        position: usize,
        wanted: &PlannedStep,
        announced: bool,
        now: Timestamp,
    ) -> Result<i64, EngineError> {
        let message_id = self.new_message_id();
        let step = &ctx.plan.steps[position];
        let new = step_reminder(
            ctx.about,
            ctx.contract_id,
            step,
            position,
            wanted,
            &message_id,
        );
        let id = reminders::insert(db, &new, now).await?;
        if announced {
            self.announce(db, now, || {
                vec![webhooks::reminder_news(
                    WebhookEvent::ReminderScheduled,
                    ReminderNews::of_new(id, &new),
                )]
            })
            .await?;
        }
        Ok(id)
    }

    /// The reminders a subject that has none gets, by the rule of [`Self::schedule_subject`]
    /// but without the database: for many subjects written at once (an import).
    pub(crate) fn first_steps(
        &self,
        ctx: &SubjectContext<'_>,
        team: &[String],
        now: Timestamp,
    ) -> Vec<FirstStep> {
        if !ctx.active {
            return Vec::new();
        }
        let planned = self.plan_subject(ctx, team);
        let steps: Vec<PlannedStep> = planned.iter().map(|(_, step)| step.clone()).collect();
        reconcile(&steps, &[], now)
            .into_iter()
            .filter_map(|change| match change {
                Change::Create {
                    planned: index,
                    cancel_at_once,
                } => Some(FirstStep {
                    position: planned[index].0,
                    wanted: planned[index].1.clone(),
                    passed: cancel_at_once,
                }),
                // Nothing exists to move or cancel.
                Change::Reschedule { .. } | Change::Cancel { .. } => None,
            })
            .collect()
    }
}

/// One reminder of [`Engine::first_steps`]: its step's position in the plan, its instant and
/// recipients, and whether that instant had passed (it is then stored cancelled, with
/// [`PASSED_WHEN_PLANNED`] as its reason).
pub(crate) struct FirstStep {
    pub position: usize,
    pub wanted: PlannedStep,
    pub passed: bool,
}

/// Why a reminder whose time had passed when its subject was entered is cancelled.
pub const PASSED_WHEN_PLANNED: &str =
    "its send time had already passed when the contract was entered";

/// The row a new reminder for `step`, at `position` of its plan, is stored as.
pub(crate) fn step_reminder<'a>(
    about: SubjectRef,
    contract_id: Option<i64>,
    step: &'a Step,
    position: usize,
    wanted: &'a PlannedStep,
    message_id: &'a str,
) -> NewReminder<'a> {
    NewReminder {
        about,
        contract_id,
        kind: ReminderKind::Step,
        anchor: Some(step.anchor),
        step_key: &step.key,
        position: i32::try_from(position).unwrap_or(i32::MAX),
        label: &step.label,
        template: &step.template,
        offset_days: step.offset.days,
        mode: step.mode,
        send_at: wanted.send_at,
        to: &wanted.to,
        cc: &wanted.cc,
        subject: None,
        body: None,
        message_id,
    }
}

impl Engine {
    /// The team's addresses, for steps to the team: the active admins', else (a team
    /// without admins yet) the organisation's own address, so the notice is never lost.
    pub(crate) async fn team_addresses(&self, db: &mut Db) -> Result<Vec<String>, EngineError> {
        let mut addresses = Vec::new();
        for id in tickler_store::settings::active_admins(db).await? {
            addresses.push(tickler_store::users::get(db, id).await?.email);
        }
        if addresses.is_empty() {
            addresses.push(self.settings.mail_from.address.to_string());
        }
        Ok(addresses)
    }
}

fn existing_of(reminder: &Reminder) -> ExistingReminder {
    ExistingReminder {
        id: reminder.id,
        step_key: reminder.step_key.clone(),
        status: reminder.status,
        send_at: reminder.send_at,
        send_at_edited: reminder.send_at_edited,
        to: reminder.to.clone(),
        cc: reminder.cc.clone(),
        recipients_edited: reminder.recipients_edited,
    }
}

/// The words a cancelled term reminder carries, as the review queue shows them.
fn cancel_reason(reason: CancelReason, contract_active: bool) -> &'static str {
    match reason {
        CancelReason::PassedWhenPlanned => PASSED_WHEN_PLANNED,
        CancelReason::NewTimePassed => {
            "the contract changed and its new send time has already passed"
        }
        CancelReason::NoLongerPlanned if contract_active => {
            "its step is no longer in the contract's plan"
        }
        CancelReason::NoLongerPlanned => "the contract was terminated",
    }
}
