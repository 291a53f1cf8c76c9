//! Keeps a contract term's reminders in step with its plan, dates, customer and owner.
//! Runs inside the caller's transaction, so a contract never exists without its reminders.

use jiff::{Timestamp, tz::TimeZone};
use tickler_core::{
    plan::Plan,
    reminder::ReminderStatus,
    schedule::{AnchorDates, plan_reminders},
    time_zone::Zone,
};
use tickler_store::{
    Db,
    contracts::{Contract, ContractStatus},
    customers::Customer,
    events,
    reminders::{self, NewReminder, Reminder, ReminderKind},
    users::User,
};

use crate::{Engine, EngineError, recipients};

/// What a contract term's reminders are computed from.
pub(crate) struct TermContext<'a> {
    pub contract: &'a Contract,
    pub customer: &'a Customer,
    pub owner: Option<&'a User>,
    pub plan: &'a Plan,
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

    pub(crate) fn new_message_id(&self) -> String {
        let domain = self
            .settings
            .mail_from
            .address
            .as_str()
            .rsplit_once('@')
            .map(|(_, domain)| domain.to_string())
            .unwrap_or_else(|| "tickler.invalid".to_string());
        format!("tickler.{}@{domain}", uuid::Uuid::new_v4().simple())
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
        let existing = reminders::for_term(db, ctx.contract.id, ctx.contract.term_number).await?;
        self.schedule_reminders(db, ctx, existing, now).await
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
        let contract = ctx.contract;
        let mut outcome = ScheduleOutcome::default();
        let active = contract.status == ContractStatus::Active;
        let planned = if active {
            plan_reminders(
                ctx.plan,
                &AnchorDates::term(contract.start_date, contract.end_date),
                &self.customer_zone(ctx.customer),
                self.holidays(),
            )
        } else {
            Vec::new()
        };
        let owner_email = ctx.owner.map(|o| o.email.as_str());

        for planned in &planned {
            let step = &ctx.plan.steps[planned.position];
            let (to, cc) =
                recipients::resolve(step.recipients, &ctx.customer.emails, owner_email, None);
            match existing.iter().find(|r| r.step_key == step.key) {
                None => {
                    let id = reminders::insert(
                        db,
                        &NewReminder {
                            contract_id: contract.id,
                            term_number: contract.term_number,
                            kind: ReminderKind::Step,
                            step_key: &step.key,
                            position: i32::try_from(planned.position).unwrap_or(i32::MAX),
                            label: &step.label,
                            template: &step.template,
                            offset_days: step.offset.days,
                            mode: step.mode,
                            send_at: planned.send_at,
                            to: &to,
                            cc: &cc,
                            subject: None,
                            body: None,
                            message_id: &self.new_message_id(),
                        },
                        now,
                    )
                    .await?;
                    outcome.created += 1;
                    if planned.send_at < now {
                        reminders::close_scheduled(
                            db,
                            id,
                            ReminderStatus::Cancelled,
                            "its send time had already passed when the contract was entered",
                            now,
                        )
                        .await?;
                        outcome.cancelled += 1;
                    }
                }
                Some(reminder) if reminder.status == ReminderStatus::Scheduled => {
                    let send_at = if reminder.send_at_edited {
                        reminder.send_at
                    } else {
                        planned.send_at
                    };
                    let (to, cc) = if reminder.recipients_edited {
                        (reminder.to.clone(), reminder.cc.clone())
                    } else {
                        (to, cc)
                    };
                    if send_at == reminder.send_at && to == reminder.to && cc == reminder.cc {
                        continue;
                    }
                    if send_at < now {
                        reminders::close_scheduled(
                            db,
                            reminder.id,
                            ReminderStatus::Cancelled,
                            "the contract changed and its new send time has already passed",
                            now,
                        )
                        .await?;
                        events::record(
                            db,
                            now,
                            events::SYSTEM,
                            "reminder",
                            reminder.id,
                            "cancelled",
                            "new send time already passed",
                        )
                        .await?;
                        outcome.cancelled += 1;
                    } else if reminders::reschedule(db, reminder.id, send_at, &to, &cc, now).await?
                    {
                        events::record(
                            db,
                            now,
                            events::SYSTEM,
                            "reminder",
                            reminder.id,
                            "rescheduled",
                            &format!("from {} to {send_at}", reminder.send_at),
                        )
                        .await?;
                        outcome.rescheduled += 1;
                    }
                }
                Some(_) => {}
            }
        }

        let reason = if active {
            "its step is no longer in the contract's plan"
        } else {
            "the contract was terminated"
        };
        for reminder in existing
            .iter()
            .filter(|r| r.status == ReminderStatus::Scheduled)
        {
            let still_planned = planned
                .iter()
                .any(|p| ctx.plan.steps[p.position].key == reminder.step_key);
            if !still_planned
                && reminders::close_scheduled(
                    db,
                    reminder.id,
                    ReminderStatus::Cancelled,
                    reason,
                    now,
                )
                .await?
            {
                events::record(
                    db,
                    now,
                    events::SYSTEM,
                    "reminder",
                    reminder.id,
                    "cancelled",
                    reason,
                )
                .await?;
                outcome.cancelled += 1;
            }
        }
        Ok(outcome)
    }
}
