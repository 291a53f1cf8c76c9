//! Invoices: the billing run that makes them from due periods, and what people do with
//! them (approve a draft, discard it, record a payment, void). Issuing numbers an invoice,
//! queues its email (with the PDF) and, while it has a balance, its payment reminders.

use std::collections::HashMap;

use jiff::{Timestamp, civil::Date};
use serde::Serialize;
use tickler_core::{
    ValidationError,
    billing::InvoiceMode,
    contract::Contract,
    customer::Customer,
    error::parse_date,
    event::{EventAction, EventSubject},
    invoice::{self as rules, InvoiceStatus, totals},
    money::{Currency, Money},
    plan::{Anchor, DUNNING_PLAN, Mode, Plan, default_dunning_plan},
    reminder::ReminderStatus,
    subject::{InvoiceSubject, SubjectKind, SubjectRef},
    user::User,
};
use tickler_store::{
    Db,
    billing::{self, BillingSchedule, Period},
    contracts, customers,
    events::{self, NewEvent},
    invoices::{self, NewInvoice, NewPayment},
    plans,
    reminders::{self, NewReminder, ReminderKind},
};

use crate::webhooks::{self, ReminderNews};
use crate::{
    Actor, Engine, EngineError,
    people::People,
    recipients,
    scheduling::{PASSED_WHEN_PLANNED, ScheduleOutcome, SubjectContext, step_reminder},
};
use tickler_core::webhook::WebhookEvent;

pub use tickler_store::invoices::{Invoice, InvoiceFilter, Payment, StoredLine};

/// The step key and template of the email that carries an issued invoice.
pub const INVOICE_EMAIL: &str = "invoice_issued";

/// Periods billed per transaction by the billing run.
const BILLING_BATCH: i64 = 100;

/// Counts of one billing run.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct BillingReport {
    /// Invoices made (drafts and issued).
    pub invoiced: usize,
    /// Of those, issued at once.
    pub issued: usize,
}

/// An invoice with everything its page, `invoice show` and its PDF need.
#[derive(Debug, Clone, Serialize)]
pub struct InvoiceDetail {
    pub invoice: Invoice,
    pub lines: Vec<StoredLine>,
    pub payments: Vec<Payment>,
    pub contract_title: String,
    pub customer: tickler_core::customer::Customer,
}

/// A person's changes to a draft; `None` keeps what it has.
#[derive(Debug, Clone, Default)]
pub struct DraftChanges {
    /// "DESCRIPTION|QUANTITY|UNIT_PRICE|TAX_PERCENT" each; replaces every line.
    pub lines: Option<Vec<String>>,
    pub issue_date: Option<String>,
    pub due_date: Option<String>,
}

/// The records an invoice's messages are made from, read once per invoice.
struct Parties {
    contract: Contract,
    customer: Customer,
    owner: Option<User>,
}

impl Parties {
    async fn load(db: &mut Db, contract_id: i64) -> Result<Parties, EngineError> {
        Parties::read(db, contract_id, &mut People::default()).await
    }

    /// The contract and its people, from `people` when a batch read them already: a customer
    /// has several sales and most sales share a few owners.
    async fn read(
        db: &mut Db,
        contract_id: i64,
        people: &mut People,
    ) -> Result<Parties, EngineError> {
        let contract = contracts::get(db, contract_id).await?;
        let (customer, owner) = people.of(db, &contract).await?;
        Ok(Parties {
            contract,
            customer,
            owner,
        })
    }
}

/// A due period of a recurring sale with what its invoice is made from.
struct Sale<'a> {
    period: &'a Period,
    parties: Parties,
    schedule: &'a BillingSchedule,
    currency: Currency,
    lines: Vec<tickler_core::invoice::LineItem>,
    totals: rules::Totals,
}

/// A reminder whose row waits for [`LaterWrites::write`].
struct QueuedReminder {
    about: SubjectRef,
    contract_id: Option<i64>,
    kind: ReminderKind,
    anchor: Option<Anchor>,
    step_key: String,
    position: i32,
    label: String,
    template: String,
    offset_days: i32,
    mode: Mode,
    send_at: Timestamp,
    to: Vec<String>,
    cc: Vec<String>,
    message_id: String,
    /// Its instant had passed when it was planned: stored cancelled, as a lone
    /// `schedule_subject` would.
    passed: bool,
}

/// The new reminders and the events of the invoices made in one transaction, written with
/// a statement or two at its end instead of one statement per row: most of a billing run's
/// statements were these.
#[derive(Default)]
struct LaterWrites {
    reminders: Vec<QueuedReminder>,
    events: Vec<(String, EventSubject, EventAction, String)>,
    /// Webhook events, announced with the object's facts as written.
    news: Vec<(WebhookEvent, EventSubject)>,
}

impl QueuedReminder {
    fn of(new: &NewReminder<'_>, passed: bool) -> QueuedReminder {
        QueuedReminder {
            about: new.about,
            contract_id: new.contract_id,
            kind: new.kind,
            anchor: new.anchor,
            step_key: new.step_key.to_string(),
            position: new.position,
            label: new.label.to_string(),
            template: new.template.to_string(),
            offset_days: new.offset_days,
            mode: new.mode,
            send_at: new.send_at,
            to: new.to.to_vec(),
            cc: new.cc.to_vec(),
            message_id: new.message_id.to_string(),
            passed,
        }
    }
}

impl LaterWrites {
    fn event(&mut self, actor: &str, subject: EventSubject, action: EventAction, detail: String) {
        self.events
            .push((actor.to_string(), subject, action, detail));
    }

    fn announce(&mut self, event: WebhookEvent, subject: EventSubject) {
        self.news.push((event, subject));
    }

    async fn write(self, engine: &Engine, db: &mut Db, now: Timestamp) -> Result<(), EngineError> {
        let rows: Vec<NewReminder> = self
            .reminders
            .iter()
            .map(|r| NewReminder {
                about: r.about,
                contract_id: r.contract_id,
                kind: r.kind,
                anchor: r.anchor,
                step_key: &r.step_key,
                position: r.position,
                label: &r.label,
                template: &r.template,
                offset_days: r.offset_days,
                mode: r.mode,
                send_at: r.send_at,
                to: &r.to,
                cc: &r.cc,
                subject: None,
                body: None,
                message_id: &r.message_id,
            })
            .collect();
        // A step already past when planned is stored cancelled, as for a contract's.
        let rows: Vec<(&NewReminder, Option<&str>)> = rows
            .iter()
            .zip(&self.reminders)
            .map(|(row, r)| (row, r.passed.then_some(PASSED_WHEN_PLANNED)))
            .collect();
        let ids = reminders::insert_many(db, &rows, now).await?;
        engine
            .announce(db, now, || {
                rows.iter()
                    .zip(ids)
                    .filter(|((_, cancelled), _)| cancelled.is_none())
                    .map(|((row, _), id)| {
                        webhooks::reminder_news(
                            WebhookEvent::ReminderScheduled,
                            ReminderNews::of_new(id, row),
                        )
                    })
                    .collect()
            })
            .await?;
        for (event, subject) in self.news {
            engine
                .announce_about(db, now, event, subject, serde_json::Value::Null)
                .await?;
        }
        let events: Vec<NewEvent> = self
            .events
            .iter()
            .map(|(actor, subject, action, detail)| NewEvent {
                subject: *subject,
                action: *action,
                detail: detail.clone(),
                actor,
            })
            .collect();
        events::record_many(db, now, &events).await?;
        Ok(())
    }
}

/// What the payment reminders of every invoice of one run share.
struct DunningSetup {
    plan: Plan,
    team: Vec<String>,
}

/// How a draft is issued: dated `issue_date`, due `payment_days` later, emailed at
/// `send_at`.
struct Issuing<'a> {
    issue_date: Date,
    payment_days: u32,
    send_at: Timestamp,
    parties: &'a Parties,
    dunning: &'a DunningSetup,
}

/// What an invoice's payment reminders are planned from.
fn dunning_context<'a>(
    invoice: &Invoice,
    parties: &'a Parties,
    dunning: &'a DunningSetup,
) -> SubjectContext<'a> {
    let subject = InvoiceSubject {
        status: invoice.status,
        due_date: invoice.due_date,
    };
    SubjectContext {
        about: invoice_ref(invoice.id),
        contract_id: Some(invoice.contract_id),
        anchors: subject.anchor_dates(),
        customer: &parties.customer,
        owner: parties.owner.as_ref(),
        plan: &dunning.plan,
        team: Some(&dunning.team),
        active: subject.stop_reason().is_none(),
    }
}

impl InvoiceDetail {
    /// Tax per rate, as the invoice states it: from its stored lines, by the same rule
    /// that made its totals.
    pub fn tax_bands(&self) -> Vec<rules::TaxBand> {
        let items: Vec<_> = self.lines.iter().map(|l| l.item.clone()).collect();
        totals(&items).bands
    }
}

impl From<rules::InvoiceRuleError> for EngineError {
    fn from(e: rules::InvoiceRuleError) -> Self {
        EngineError::Conflict(e.to_string())
    }
}

fn invoice_ref(id: i64) -> SubjectRef {
    SubjectRef {
        kind: SubjectKind::Invoice,
        id,
    }
}

impl Engine {
    /// Makes the invoice of every period due as of the clock's now, oldest first, a batch
    /// per transaction: billing is not a notice, so every missed period is still billed
    /// after downtime, in order. The transaction is the claim (other dispatchers skip the
    /// locked periods), and the invoice, its number, its email and the period's
    /// `invoiced` mark commit together or not at all: one invoice per period, ever.
    pub async fn bill_due(&self) -> Result<BillingReport, EngineError> {
        let mut report = BillingReport::default();
        // Wall time, not the injected clock: the run's own duration, which an operator (and
        // bench/run.sh) can tell apart from the sending that follows in the same dispatch.
        let started = std::time::Instant::now();
        loop {
            let now = self.clock.now();
            let mut tx = self.store.begin().await?;
            let due = billing::take_due_periods(&mut tx, self.store.backend(), now, BILLING_BATCH)
                .await?;
            if due.is_empty() {
                if report.invoiced > 0 {
                    tracing::info!(
                        invoiced = report.invoiced,
                        issued = report.issued,
                        elapsed_ms = started.elapsed().as_millis() as u64,
                        "billing run"
                    );
                }
                return Ok(report);
            }
            let dunning = self.dunning_setup(&mut tx, now).await?;
            let mut later = LaterWrites::default();
            let billed = self
                .bill_periods(&mut tx, &due, &dunning, &mut later, now)
                .await?;
            report.invoiced += billed.invoiced;
            report.issued += billed.issued;
            later.write(self, &mut tx, now).await?;
            self.commit_schedule_change(tx).await?;
        }
    }

    /// Bills the periods `due` in `db`: their sales' schedules and lines read with one
    /// statement each, their invoices and lines inserted and the periods marked invoiced
    /// with one statement each, then each invoice issued (numbered in `due`'s order) when
    /// its sale issues at once. A period whose contract is no longer a recurring sale is
    /// cancelled instead.
    async fn bill_periods(
        &self,
        db: &mut Db,
        due: &[Period],
        dunning: &DunningSetup,
        later: &mut LaterWrites,
        now: Timestamp,
    ) -> Result<BillingReport, EngineError> {
        let mut people = People::default();
        let mut parties = Vec::with_capacity(due.len());
        for period in due {
            parties.push(Parties::read(db, period.contract_id, &mut people).await?);
        }
        let contract_ids: Vec<i64> = parties.iter().map(|p| p.contract.id).collect();
        let currencies: HashMap<i64, Currency> = parties
            .iter()
            .filter_map(|p| Some((p.contract.id, p.contract.money()?.currency)))
            .collect();
        let backend = self.store.backend();
        let schedules = billing::schedules_of(db, backend, &contract_ids).await?;
        let lines = billing::lines_of(db, backend, &currencies).await?;
        let mut sales = Vec::with_capacity(due.len());
        for (period, parties) in due.iter().zip(parties) {
            let contract_id = parties.contract.id;
            let (Some(schedule), Some(money)) =
                (schedules.get(&contract_id), parties.contract.money())
            else {
                billing::cancel_period(db, period.id, "the contract is no longer a recurring sale")
                    .await?;
                continue;
            };
            // Several periods of one sale may be due together (a sale catching up): each
            // invoice gets the sale's lines.
            let lines = lines.get(&contract_id).cloned().unwrap_or_default();
            let totals = totals(&lines);
            sales.push(Sale {
                period,
                parties,
                schedule,
                currency: money.currency,
                lines,
                totals,
            });
        }
        let drafts: Vec<NewInvoice> = sales
            .iter()
            .map(|sale| NewInvoice {
                contract_id: sale.parties.contract.id,
                period_id: Some(sale.period.id),
                customer_id: sale.parties.contract.customer_id,
                period_start: sale.period.start,
                period_end: sale.period.end,
                issue_date: sale.period.issue_date,
                due_date: rules::due_date(sale.period.issue_date, sale.schedule.payment_days),
                currency: sale.currency,
                lines: &sale.lines,
                totals: &sale.totals,
            })
            .collect();
        let invoice_ids = invoices::insert_drafts(db, &drafts, now).await?;
        let period_ids: Vec<i64> = sales.iter().map(|sale| sale.period.id).collect();
        let marked = billing::mark_many_invoiced(db, backend, &period_ids).await?;
        if marked != period_ids.len() as u64 {
            return Err(EngineError::Internal(format!(
                "{} of {} billing periods were billed by another dispatcher while locked",
                period_ids.len() as u64 - marked.min(period_ids.len() as u64),
                period_ids.len()
            )));
        }
        let mut report = BillingReport::default();
        for (sale, invoice_id) in sales.iter().zip(invoice_ids) {
            self.after_billing(db, sale, invoice_id, dunning, later, now)
                .await?;
            report.invoiced += 1;
            if sale.schedule.invoice_mode == InvoiceMode::Issue {
                report.issued += 1;
            }
        }
        Ok(report)
    }

    /// What follows a period's new invoice: its "about to be issued" notice cancelled, its
    /// `created` event, and its issue when its sale issues at once.
    async fn after_billing(
        &self,
        db: &mut Db,
        sale: &Sale<'_>,
        invoice_id: i64,
        dunning: &DunningSetup,
        later: &mut LaterWrites,
        now: Timestamp,
    ) -> Result<(), EngineError> {
        let period = sale.period;
        let about = SubjectRef {
            kind: SubjectKind::BillingPeriod,
            id: period.id,
        };
        for reminder in reminders::for_subject(db, about).await? {
            if reminder.status == ReminderStatus::Scheduled
                && reminders::close_scheduled(
                    db,
                    reminder.id,
                    ReminderStatus::Cancelled,
                    "the invoice was already issued",
                    now,
                )
                .await?
            {
                later.event(
                    events::SYSTEM,
                    EventSubject::Reminder(reminder.id),
                    EventAction::Cancelled,
                    "the invoice was already issued".to_string(),
                );
            }
        }
        later.announce(
            WebhookEvent::InvoiceDrafted,
            EventSubject::Invoice(invoice_id),
        );
        later.event(
            events::SYSTEM,
            EventSubject::Invoice(invoice_id),
            EventAction::Created,
            format!(
                "period {} to {} of contract {}: {}",
                period.start,
                period.end,
                sale.parties.contract.id,
                Money {
                    minor: sale.totals.total,
                    currency: sale.currency
                }
                .to_decimal_string()
            ),
        );
        if sale.schedule.invoice_mode == InvoiceMode::Issue {
            // Issued on its planned date, even when billed late after downtime: the
            // invoice is for that period, and its due date counts from that day.
            self.issue_invoice(
                db,
                invoice_id,
                &Issuing {
                    issue_date: period.issue_date,
                    payment_days: sale.schedule.payment_days,
                    send_at: period.bill_at,
                    parties: &sale.parties,
                    dunning,
                },
                &Actor::system(),
                later,
                now,
            )
            .await?;
        }
        Ok(())
    }

    /// Issues the draft `id` in `db`: numbered from its issue year's sequence, dated
    /// `issue_date`; its email for `send_at`, its payment reminders while it has a balance,
    /// and its event go to `later`, to be written before `db` commits.
    async fn issue_invoice(
        &self,
        db: &mut Db,
        id: i64,
        issuing: &Issuing<'_>,
        actor: &Actor,
        later: &mut LaterWrites,
        now: Timestamp,
    ) -> Result<Invoice, EngineError> {
        let issue_date = issuing.issue_date;
        let payment_days = issuing.payment_days;
        let invoice = invoices::get_for_update(db, self.store.backend(), id).await?;
        let status = rules::after_approval(invoice.state())?;
        let year = issue_date.year();
        let sequence = invoices::next_number(db, year).await?;
        let number = rules::invoice_number(&self.invoice_prefix(), year, sequence);
        let due_date = rules::due_date(issue_date, payment_days);
        if !invoices::issue(
            db,
            id,
            &invoices::Issue {
                number: &number,
                year,
                sequence,
                issue_date,
                due_date,
                status,
            },
            now,
        )
        .await?
        {
            return Err(EngineError::Conflict(format!(
                "invoice {id} is no longer a draft"
            )));
        }
        let invoice = invoices::get(db, id).await?;
        later.announce(WebhookEvent::InvoiceIssued, EventSubject::Invoice(id));
        if status == InvoiceStatus::Paid {
            later.announce(WebhookEvent::InvoicePaid, EventSubject::Invoice(id));
        }
        later.event(
            &actor.0,
            EventSubject::Invoice(id),
            EventAction::Issued,
            format!(
                "{number}, {}, due {due_date}{}",
                invoice.money(invoice.total).to_decimal_string(),
                if status == InvoiceStatus::Paid {
                    " (paid in advance)"
                } else {
                    ""
                }
            ),
        );
        self.queue_invoice_email(&invoice, issuing.parties, issuing.send_at, later);
        if invoice.status == InvoiceStatus::Issued && invoice.balance() > 0 {
            self.queue_first_dunning(&invoice, issuing.parties, issuing.dunning, later, now);
        }
        Ok(invoice)
    }

    /// The payment reminders of an invoice that has none yet (one just issued), by the rule
    /// of [`Self::schedule_dunning`] but without the database.
    fn queue_first_dunning(
        &self,
        invoice: &Invoice,
        parties: &Parties,
        dunning: &DunningSetup,
        later: &mut LaterWrites,
        now: Timestamp,
    ) {
        let ctx = dunning_context(invoice, parties, dunning);
        for first in self.first_steps(&ctx, &dunning.team, now) {
            let message_id = self.new_message_id();
            let new = step_reminder(
                ctx.about,
                ctx.contract_id,
                &dunning.plan.steps[first.position],
                first.position,
                &first.wanted,
                &message_id,
            );
            later.reminders.push(QueuedReminder::of(&new, first.passed));
        }
    }

    /// The email that carries an issued invoice to the customer, the owner in CC: a notice
    /// (never superseded by the catch-up rule), built with the PDF when it is sent.
    fn queue_invoice_email(
        &self,
        invoice: &Invoice,
        parties: &Parties,
        send_at: Timestamp,
        later: &mut LaterWrites,
    ) {
        let (to, cc) = recipients::resolve(
            tickler_core::plan::Recipients::CUSTOMER_CC_OWNER,
            &parties.customer.emails,
            parties.owner.as_ref().map(|o| o.email.as_str()),
            &[],
        );
        let message_id = self.new_message_id();
        let new = NewReminder {
            about: invoice_ref(invoice.id),
            contract_id: Some(invoice.contract_id),
            kind: ReminderKind::Notice,
            anchor: None,
            step_key: INVOICE_EMAIL,
            position: -1,
            label: "Invoice",
            template: INVOICE_EMAIL,
            offset_days: 0,
            mode: Mode::Auto,
            send_at,
            to: &to,
            cc: &cc,
            subject: None,
            body: None,
            message_id: &message_id,
        };
        later.reminders.push(QueuedReminder::of(&new, false));
    }

    /// The `dunning` plan (stored on first use) and the team's addresses its last step goes
    /// to: read once per billing batch, not once per invoice.
    async fn dunning_setup(
        &self,
        db: &mut Db,
        now: Timestamp,
    ) -> Result<DunningSetup, EngineError> {
        let plan_id = match plans::find_id(db, DUNNING_PLAN).await? {
            Some(id) => id,
            None => plans::ensure(db, &default_dunning_plan(), now).await?,
        };
        let plan = plans::get(db, plan_id).await?;
        let team = if plan.steps.iter().any(|s| s.recipients.team) {
            self.team_addresses(db).await?
        } else {
            Vec::new()
        };
        Ok(DunningSetup { plan, team })
    }

    /// Brings an invoice's payment reminders (`known`: the ones it has) in line with the
    /// `dunning` plan.
    async fn schedule_dunning(
        &self,
        db: &mut Db,
        invoice: &Invoice,
        parties: &Parties,
        dunning: &DunningSetup,
        known: Vec<tickler_store::reminders::Reminder>,
        now: Timestamp,
    ) -> Result<ScheduleOutcome, EngineError> {
        self.schedule_subject(db, &dunning_context(invoice, parties, dunning), known, now)
            .await
    }

    /// Brings the payment reminders of every issued invoice in line with the `dunning`
    /// plan, after its steps changed.
    pub(crate) async fn resync_open_invoices(
        &self,
        db: &mut Db,
        now: Timestamp,
    ) -> Result<ScheduleOutcome, EngineError> {
        let open = invoices::list(
            db,
            &InvoiceFilter {
                status: Some(InvoiceStatus::Issued),
                ..InvoiceFilter::default()
            },
        )
        .await?;
        let dunning = self.dunning_setup(db, now).await?;
        let mut outcome = ScheduleOutcome::default();
        for invoice in open {
            let parties = Parties::load(db, invoice.contract_id).await?;
            let known: Vec<_> = reminders::for_subject(db, invoice_ref(invoice.id))
                .await?
                .into_iter()
                .filter(|r| r.kind == ReminderKind::Step)
                .collect();
            let one = self
                .schedule_dunning(db, &invoice, &parties, &dunning, known, now)
                .await?;
            outcome.created += one.created;
            outcome.rescheduled += one.rescheduled;
            outcome.cancelled += one.cancelled;
        }
        Ok(outcome)
    }

    /// Cancels an invoice's pending reminders (its payment reminders, and its email when
    /// `with_email`), with `reason`.
    async fn stop_invoice_reminders(
        &self,
        db: &mut Db,
        id: i64,
        reason: &str,
        with_email: bool,
        now: Timestamp,
    ) -> Result<usize, EngineError> {
        let mut stopped = 0;
        for reminder in reminders::for_subject(db, invoice_ref(id)).await? {
            let is_email = reminder.step_key == INVOICE_EMAIL;
            if reminder.status == ReminderStatus::Scheduled
                && (with_email || !is_email)
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
                    EventSubject::Reminder(reminder.id),
                    EventAction::Cancelled,
                    reason,
                )
                .await?;
                stopped += 1;
            }
        }
        // A call about an invoice now paid or void would be pointless.
        let why = format!("invoice {reason}");
        self.cancel_tasks_about(db, invoice_ref(id), &why, &Actor::system(), now)
            .await?;
        Ok(stopped)
    }

    /// Invoices as a list shows them.
    pub async fn list_invoices(&self, filter: &InvoiceFilter) -> Result<Vec<Invoice>, EngineError> {
        Ok(invoices::list(&mut *self.store.conn().await?, filter).await?)
    }

    pub async fn invoice_detail(&self, id: i64) -> Result<InvoiceDetail, EngineError> {
        let mut db = self.store.conn().await?;
        let invoice = invoices::get(&mut db, id).await?;
        let lines = invoices::lines(&mut db, &invoice).await?;
        let payments = invoices::payments(&mut db, id).await?;
        let contract = contracts::get(&mut db, invoice.contract_id).await?;
        let customer = customers::get(&mut db, invoice.customer_id).await?;
        Ok(InvoiceDetail {
            invoice,
            lines,
            payments,
            contract_title: contract.title,
            customer,
        })
    }

    /// The customer's today: the day an approval issues an invoice.
    async fn customer_today(&self, db: &mut Db, customer_id: i64) -> Result<Date, EngineError> {
        let customer = customers::get(db, customer_id).await?;
        Ok(self
            .clock
            .now()
            .to_zoned_datetime(self.customer_zone(&customer))
            .date())
    }

    /// Approves a draft: it is issued today (in the customer's zone), numbered and emailed;
    /// `paid` at once if prepayments cover it.
    pub async fn approve_invoice(&self, id: i64, actor: &Actor) -> Result<Invoice, EngineError> {
        let now = self.clock.now();
        let mut tx = self.store.begin().await?;
        let invoice = invoices::get_for_update(&mut tx, self.store.backend(), id).await?;
        rules::after_approval(invoice.state())?;
        // The draft's own terms (its sale's, unless a person edited its dates) count from
        // the day it is approved.
        let payment_days = u32::try_from(
            invoice
                .issue_date
                .until(invoice.due_date)
                .map(|span| span.get_days())
                .unwrap_or(0),
        )
        .unwrap_or(0);
        let today = self.customer_today(&mut tx, invoice.customer_id).await?;
        let parties = Parties::load(&mut tx, invoice.contract_id).await?;
        let dunning = self.dunning_setup(&mut tx, now).await?;
        let mut later = LaterWrites::default();
        let issued = self
            .issue_invoice(
                &mut tx,
                id,
                &Issuing {
                    issue_date: today,
                    payment_days,
                    send_at: now,
                    parties: &parties,
                    dunning: &dunning,
                },
                actor,
                &mut later,
                now,
            )
            .await?;
        later.write(self, &mut tx, now).await?;
        self.commit_schedule_change(tx).await?;
        Ok(issued)
    }

    /// Changes a draft before it is approved: its lines (all replaced) and its dates. Its
    /// totals follow; approving it later dates it that day, keeping the days from issue to
    /// due that it has then.
    pub async fn edit_draft(
        &self,
        id: i64,
        changes: &DraftChanges,
        actor: &Actor,
    ) -> Result<Invoice, EngineError> {
        let now = self.clock.now();
        let mut tx = self.store.begin().await?;
        let invoice = invoices::get_for_update(&mut tx, self.store.backend(), id).await?;
        if invoice.status != InvoiceStatus::Draft {
            return Err(EngineError::Conflict(format!(
                "only a draft can be edited; invoice {id} is {}",
                invoice.status
            )));
        }
        let lines = match &changes.lines {
            Some(texts) if texts.is_empty() => {
                return Err(
                    ValidationError::new("line", "an invoice needs at least one line").into(),
                );
            }
            Some(texts) => texts
                .iter()
                .enumerate()
                .map(|(i, text)| {
                    rules::parse_line(&format!("line {}", i + 1), text, invoice.currency)
                })
                .collect::<Result<Vec<_>, _>>()?,
            None => invoices::lines(&mut tx, &invoice)
                .await?
                .into_iter()
                .map(|line| line.item)
                .collect(),
        };
        let date = |field: &str, text: &Option<String>, current: Date| match text
            .as_deref()
            .map(str::trim)
            .filter(|t| !t.is_empty())
        {
            Some(text) => parse_date(field, text),
            None => Ok(current),
        };
        let issue_date = date("issue_date", &changes.issue_date, invoice.issue_date)?;
        let due_date = date("due_date", &changes.due_date, invoice.due_date)?;
        if due_date < issue_date {
            return Err(ValidationError::new(
                "due_date",
                format!("{due_date} is before the issue date {issue_date}"),
            )
            .into());
        }
        let totals = rules::checked_totals(&lines)
            .ok_or_else(|| ValidationError::new("line", "the invoice's total is too large"))?;
        if totals.total < invoice.paid {
            return Err(EngineError::Conflict(format!(
                "the new total {} is below the {} already prepaid",
                invoice.money(totals.total).to_decimal_string(),
                invoice.money(invoice.paid).to_decimal_string()
            )));
        }
        if !invoices::update_draft(&mut tx, id, issue_date, due_date, &lines, &totals, now).await? {
            return Err(EngineError::Conflict(format!(
                "invoice {id} is no longer a draft"
            )));
        }
        let detail = format!(
            "{} lines, total {}, issue {issue_date}, due {due_date}",
            lines.len(),
            invoice.money(totals.total).to_decimal_string()
        );
        finish_change(tx, id, actor, EventAction::Edited, &detail, now).await
    }

    /// Discards a draft: it becomes void without a number, and its period is never billed
    /// again (the period stays `invoiced`, pointing at it).
    pub async fn discard_invoice(
        &self,
        id: i64,
        reason: Option<&str>,
        actor: &Actor,
    ) -> Result<Invoice, EngineError> {
        let now = self.clock.now();
        let mut tx = self.store.begin().await?;
        let invoice = invoices::get_for_update(&mut tx, self.store.backend(), id).await?;
        rules::check_discard(invoice.state())?;
        let why = reason.map(str::trim).filter(|r| !r.is_empty());
        let stored_reason = format!(
            "discarded by {}{}",
            actor.0,
            why.map(|r| format!(": {r}")).unwrap_or_default()
        );
        if !invoices::set_status(
            &mut tx,
            id,
            InvoiceStatus::Draft,
            InvoiceStatus::Void,
            Some(&stored_reason),
            now,
        )
        .await?
        {
            return Err(EngineError::Conflict(format!(
                "invoice {id} is no longer a draft"
            )));
        }
        let detail = why.unwrap_or("no reason given");
        finish_change(tx, id, actor, EventAction::Discarded, detail, now).await
    }

    /// Records a payment (a prepayment on a draft, or a payment of an issued invoice). An
    /// issued invoice whose balance reaches 0 is `paid`, and its payment reminders stop.
    pub async fn pay_invoice(
        &self,
        id: i64,
        amount: &str,
        date: Option<&str>,
        reference: Option<&str>,
        actor: &Actor,
    ) -> Result<Invoice, EngineError> {
        let now = self.clock.now();
        let mut tx = self.store.begin().await?;
        let invoice = invoices::get_for_update(&mut tx, self.store.backend(), id).await?;
        let amount = Money::parse("amount", amount, invoice.currency)?;
        let status = rules::after_payment(invoice.state(), amount.minor, invoice.currency)?;
        let paid_on = match date.map(str::trim).filter(|d| !d.is_empty()) {
            Some(text) => parse_date("date", text)?,
            None => self.customer_today(&mut tx, invoice.customer_id).await?,
        };
        let reference = reference.map(str::trim).filter(|r| !r.is_empty());
        if let Some(r) = reference
            && r.chars().count() > 200
        {
            return Err(ValidationError::new("reference", "at most 200 characters").into());
        }
        if invoices::record_payment(
            &mut tx,
            &NewPayment {
                invoice_id: id,
                amount: amount.minor,
                paid_on,
                reference,
                recorded_by: &actor.0,
            },
            invoice.state(),
            status,
            now,
        )
        .await?
        .is_none()
        {
            return Err(EngineError::Conflict(format!(
                "invoice {id} changed while the payment was recorded; try again"
            )));
        }
        if status == InvoiceStatus::Paid {
            self.stop_invoice_reminders(&mut tx, id, "paid", false, now)
                .await?;
            self.announce_about(
                &mut tx,
                now,
                WebhookEvent::InvoicePaid,
                EventSubject::Invoice(id),
                serde_json::Value::Null,
            )
            .await?;
        }
        let detail = format!(
            "{} on {paid_on}{}",
            amount.to_decimal_string(),
            reference
                .map(|r| format!(", reference {r}"))
                .unwrap_or_default()
        );
        finish_change(tx, id, actor, EventAction::PaymentRecorded, &detail, now).await
    }

    /// Voids an issued invoice: it keeps its number, takes no more payments, and its
    /// pending reminders (its email too, if not yet sent) stop.
    pub async fn void_invoice(
        &self,
        id: i64,
        reason: Option<&str>,
        actor: &Actor,
    ) -> Result<Invoice, EngineError> {
        let now = self.clock.now();
        let mut tx = self.store.begin().await?;
        let invoice = invoices::get_for_update(&mut tx, self.store.backend(), id).await?;
        rules::check_void(invoice.state())?;
        let why = reason.map(str::trim).filter(|r| !r.is_empty());
        if !invoices::set_status(
            &mut tx,
            id,
            invoice.status,
            InvoiceStatus::Void,
            Some(why.unwrap_or("voided")),
            now,
        )
        .await?
        {
            return Err(EngineError::Conflict(format!(
                "invoice {id} changed; try again"
            )));
        }
        self.stop_invoice_reminders(&mut tx, id, "void", true, now)
            .await?;
        let detail = why.unwrap_or("no reason given");
        finish_change(tx, id, actor, EventAction::Voided, detail, now).await
    }
}

/// Records what a person did to invoice `id`, commits `tx`, and returns the invoice as it
/// now is.
async fn finish_change(
    mut tx: tickler_store::Tx,
    id: i64,
    actor: &Actor,
    action: EventAction,
    detail: &str,
    now: Timestamp,
) -> Result<Invoice, EngineError> {
    events::record(
        &mut tx,
        now,
        &actor.0,
        EventSubject::Invoice(id),
        action,
        detail,
    )
    .await?;
    let changed = invoices::get(&mut tx, id).await?;
    tickler_store::commit(tx).await?;
    Ok(changed)
}
