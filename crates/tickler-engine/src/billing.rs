//! Recurring sales: a contract's billing schedule as typed, and its periods kept in step with
//! the contract's current term, each with the notice that its invoice is about to be issued.
//! Runs inside the caller's transaction, like the term's reminders.

use jiff::{Timestamp, civil::Time};
use serde::Serialize;
use tickler_core::{
    ValidationError,
    billing::{self as rules, BillingInterval, BillingTiming, InvoiceMode},
    contract::{Contract, ContractStatus},
    customer::Customer,
    invoice::{LineItem, parse_line},
    money::Currency,
    plan::Plan,
    schedule::local_instant,
    subject::{PeriodSubject, SubjectKind, SubjectRef},
    user::User,
};
use tickler_store::{
    Db,
    billing::{self, NewPeriod},
    contracts::ContractTerm,
    reminders,
};

use crate::{
    Engine, EngineError,
    scheduling::{ScheduleOutcome, SubjectContext},
};

pub use tickler_store::billing::{BillingSchedule, Period, PeriodStatus};

/// How many days after issue an invoice is due when neither the sale nor the settings say.
pub const DEFAULT_PAYMENT_DAYS: u32 = 14;

/// A billing schedule as a person or the CLI gives it.
#[derive(Debug, Clone, Default)]
pub struct BillingInput {
    /// "1m", "3m", "1y", "2w", "10d".
    pub every: String,
    /// Bill this many periods; may replace the end date.
    pub cycles: Option<String>,
    /// "DESCRIPTION|QUANTITY|UNIT_PRICE|TAX_PERCENT", one per invoice line.
    pub lines: Vec<String>,
    pub in_arrears: bool,
    pub draft_invoices: bool,
    /// Days from issue to due; the organisation's default when `None`.
    pub payment_days: Option<String>,
}

/// A billing schedule that passed every check but the contract's id.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ValidBilling {
    pub interval: BillingInterval,
    pub timing: BillingTiming,
    pub cycles: Option<u32>,
    pub invoice_mode: InvoiceMode,
    pub payment_days: Option<u32>,
    pub lines: Vec<LineItem>,
}

impl ValidBilling {
    pub(crate) fn schedule(&self, contract_id: i64, default_payment_days: u32) -> BillingSchedule {
        BillingSchedule {
            contract_id,
            interval: self.interval,
            timing: self.timing,
            cycles: self.cycles,
            invoice_mode: self.invoice_mode,
            payment_days: self.payment_days.unwrap_or(default_payment_days),
        }
    }
}

fn positive_count(field: &str, text: &str, what: &str) -> Result<u32, ValidationError> {
    let text = text.trim();
    match text.parse::<u32>() {
        Ok(n) if n > 0 => Ok(n),
        _ => Err(ValidationError::new(
            field,
            format!("\"{text}\" is not a number of {what} (use a whole number from 1)"),
        )),
    }
}

/// Checks a billing schedule: the interval, the cycles, the payment days and every line
/// (each error names its line: `line 2`). Lines need the sale's currency.
pub(crate) fn validate_billing(
    input: &BillingInput,
    currency: Option<Currency>,
) -> Result<ValidBilling, ValidationError> {
    let interval = BillingInterval::parse("bill_every", &input.every)?;
    let cycles = input
        .cycles
        .as_deref()
        .map(|text| positive_count("cycles", text, "billing cycles"))
        .transpose()?;
    let payment_days = input
        .payment_days
        .as_deref()
        .map(|text| crate::settings::parse_payment_days("payment_days", text))
        .transpose()?;
    let currency = currency.ok_or_else(|| {
        ValidationError::new(
            "currency",
            "a recurring sale needs a currency (e.g. EUR) for its invoice lines",
        )
    })?;
    if input.lines.is_empty() {
        return Err(ValidationError::new(
            "line",
            "a recurring sale needs at least one invoice line \
             (DESCRIPTION|QUANTITY|UNIT_PRICE|TAX_PERCENT)",
        ));
    }
    let lines = input
        .lines
        .iter()
        .enumerate()
        .map(|(i, text)| parse_line(&format!("line {}", i + 1), text, currency))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(ValidBilling {
        interval,
        timing: if input.in_arrears {
            BillingTiming::InArrears
        } else {
            BillingTiming::InAdvance
        },
        cycles,
        invoice_mode: if input.draft_invoices {
            InvoiceMode::Draft
        } else {
            InvoiceMode::Issue
        },
        payment_days,
        lines,
    })
}

/// A recurring sale as its contract page and `contract show` present it.
#[derive(Debug, Clone, Serialize)]
pub struct BillingView {
    pub schedule: BillingSchedule,
    /// "1m", "3m"...
    pub every: String,
    pub lines: Vec<LineItem>,
    pub periods: Vec<Period>,
}

/// What a period's notice is planned from, besides the period itself.
pub(crate) struct SaleContext<'a> {
    pub contract: &'a Contract,
    pub term: &'a ContractTerm,
    pub customer: &'a Customer,
    pub owner: Option<&'a User>,
    pub plan: &'a Plan,
    pub schedule: &'a BillingSchedule,
}

impl Engine {
    /// The organisation's payment terms: days from issue to due.
    pub(crate) fn default_payment_days(&self) -> u32 {
        self.organisation()
            .payment_days
            .unwrap_or(DEFAULT_PAYMENT_DAYS)
    }

    /// The local time invoices are made at: the organisation's send time, else 09:00.
    fn billing_time(&self) -> Time {
        self.organisation()
            .default_send_time
            .unwrap_or(Time::constant(9, 0, 0, 0))
    }

    /// The contract's billing schedule, lines and periods, if it is a recurring sale.
    pub async fn billing_view(
        &self,
        contract: &Contract,
    ) -> Result<Option<BillingView>, EngineError> {
        let mut db = self.store.conn().await?;
        let Some(schedule) = billing::schedule(&mut db, contract.id).await? else {
            return Ok(None);
        };
        let currency = contract.money().map(|m| m.currency).ok_or_else(|| {
            EngineError::Internal(format!("recurring sale {} has no currency", contract.id))
        })?;
        let lines = billing::lines(&mut db, contract.id, currency).await?;
        let periods = billing::periods(&mut db, contract.id).await?;
        Ok(Some(BillingView {
            every: schedule.interval.to_string(),
            schedule,
            lines,
            periods,
        }))
    }

    /// Brings the pending periods of the sale's current term in line with its dates,
    /// schedule and customer: new periods are planned (a period already past is billed at
    /// once by the next dispatch, since billing is not a notice), moved ones get their new
    /// dates, those no longer in the schedule are cancelled; periods already invoiced are
    /// never touched. Each pending period's notices follow.
    pub(crate) async fn sync_periods(
        &self,
        db: &mut Db,
        sale: &SaleContext<'_>,
        now: Timestamp,
    ) -> Result<ScheduleOutcome, EngineError> {
        let active = sale.contract.status == ContractStatus::Active;
        let zone = self.customer_zone(sale.customer);
        let wanted = if active {
            rules::BillingSchedule {
                interval: sale.schedule.interval,
                timing: sale.schedule.timing,
                start: sale.term.start_date,
                end: sale.term.end_date,
                // The cycles count the sale as first entered; a renewal bills its whole term.
                cycles: if sale.term.term_number == 1 {
                    sale.schedule.cycles
                } else {
                    None
                },
            }
            .periods()
        } else {
            Vec::new()
        };
        let existing = billing::periods(db, sale.contract.id).await?;
        let mut outcome = ScheduleOutcome::default();
        let mut just_cancelled = Vec::new();
        let stop_reason = if active {
            "the sale's dates or schedule changed"
        } else {
            "the contract was terminated"
        };
        for period in &existing {
            if period.status != PeriodStatus::Pending {
                continue;
            }
            // An earlier term's periods are still billed after an early renewal; only
            // the end of the contract stops them.
            if period.term_id != sale.term.id && active {
                continue;
            }
            match wanted.iter().find(|w| w.start == period.start) {
                Some(w) => {
                    let bill_at = local_instant(w.issue_date, self.billing_time(), &zone);
                    if (w.end, w.issue_date, bill_at)
                        != (period.end, period.issue_date, period.bill_at)
                    {
                        billing::reschedule_period(db, period.id, w.end, w.issue_date, bill_at)
                            .await?;
                    }
                }
                None => {
                    if billing::cancel_period(db, period.id, stop_reason).await? {
                        just_cancelled.push(period.id);
                    }
                }
            }
        }
        for w in &wanted {
            if existing.iter().any(|p| p.start == w.start) {
                continue;
            }
            billing::insert_period(
                db,
                &NewPeriod {
                    contract_id: sale.contract.id,
                    term_id: sale.term.id,
                    cycle: w.cycle,
                    start: w.start,
                    end: w.end,
                    issue_date: w.issue_date,
                    bill_at: local_instant(w.issue_date, self.billing_time(), &zone),
                },
            )
            .await?;
        }
        // The notices of each pending period, and of those cancelled just now: a period
        // leaves `pending` only here or when billed, which closes its notices itself.
        for period in billing::periods(db, sale.contract.id).await? {
            if period.status != PeriodStatus::Pending && !just_cancelled.contains(&period.id) {
                continue;
            }
            let subject = PeriodSubject {
                issue_date: period.issue_date,
                invoiced: period.status == PeriodStatus::Invoiced,
                cancelled: period.status == PeriodStatus::Cancelled,
                contract_terminated: !active,
            };
            let about = SubjectRef {
                kind: SubjectKind::BillingPeriod,
                id: period.id,
            };
            let known = reminders::for_subject(db, about).await?;
            let step = self
                .schedule_subject(
                    db,
                    &SubjectContext {
                        about,
                        contract_id: Some(sale.contract.id),
                        anchors: subject.anchor_dates(),
                        customer: sale.customer,
                        owner: sale.owner,
                        plan: sale.plan,
                        team: None,
                        active: subject.stop_reason().is_none(),
                    },
                    known,
                    now,
                )
                .await?;
            outcome.created += step.created;
            outcome.rescheduled += step.rescheduled;
            outcome.cancelled += step.cancelled;
        }
        Ok(outcome)
    }
}
