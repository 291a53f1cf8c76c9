//! Recurring sales: a contract's billing schedule, the lines its invoices start from, and its
//! planned periods, which the dispatcher bills when their time comes.

use std::collections::HashMap;

use jiff::{Timestamp, civil::Date};
use serde::Serialize;
use sqlx::AssertSqlSafe;
use tickler_core::{
    billing::{BillingInterval, BillingTiming, IntervalUnit, InvoiceMode},
    invoice::{LineItem, Quantity, TaxRate},
    money::{Currency, Money},
};

use crate::{
    Backend, Db, StoreError, date_from_text, instant_from_millis, json_ints, time::millis,
};

/// How a contract is invoiced.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BillingSchedule {
    pub contract_id: i64,
    pub interval: BillingInterval,
    pub timing: BillingTiming,
    pub cycles: Option<u32>,
    pub invoice_mode: InvoiceMode,
    pub payment_days: u32,
}

pub(crate) fn unit_letter(unit: IntervalUnit) -> &'static str {
    match unit {
        IntervalUnit::Days => "d",
        IntervalUnit::Weeks => "w",
        IntervalUnit::Months => "m",
        IntervalUnit::Years => "y",
    }
}

pub(crate) fn unit_of_letter(letter: &str) -> Result<IntervalUnit, StoreError> {
    Ok(match letter {
        "d" => IntervalUnit::Days,
        "w" => IntervalUnit::Weeks,
        "m" => IntervalUnit::Months,
        "y" => IntervalUnit::Years,
        other => {
            return Err(StoreError::Corrupt(format!(
                "billing interval unit \"{other}\""
            )));
        }
    })
}

fn corrupt(what: &str, id: i64, e: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(format!("{what} {id}: {e}"))
}

/// Stores (or replaces) a contract's schedule and its lines.
pub async fn put_schedule(
    db: &mut Db,
    schedule: &BillingSchedule,
    lines: &[LineItem],
    now: Timestamp,
) -> Result<(), StoreError> {
    sqlx::query("DELETE FROM billing_schedules WHERE contract_id = $1")
        .bind(schedule.contract_id)
        .execute(&mut *db)
        .await?;
    sqlx::query(
        "INSERT INTO billing_schedules (contract_id, interval_count, interval_unit, timing, \
         cycles, invoice_mode, payment_days, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8)",
    )
    .bind(schedule.contract_id)
    .bind(i64::from(schedule.interval.count))
    .bind(unit_letter(schedule.interval.unit))
    .bind(schedule.timing.as_str())
    .bind(schedule.cycles.map(i64::from))
    .bind(schedule.invoice_mode.as_str())
    .bind(i64::from(schedule.payment_days))
    .bind(millis(now))
    .execute(&mut *db)
    .await?;
    sqlx::query("DELETE FROM billing_lines WHERE contract_id = $1")
        .bind(schedule.contract_id)
        .execute(&mut *db)
        .await?;
    for (position, line) in lines.iter().enumerate() {
        sqlx::query(
            "INSERT INTO billing_lines (contract_id, position, description, \
             quantity_thousandths, unit_price_minor, tax_rate_hundredths) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(schedule.contract_id)
        .bind(position as i64)
        .bind(&line.description)
        .bind(line.quantity.thousandths())
        .bind(line.unit_price.minor)
        .bind(i64::from(line.tax_rate.hundredths()))
        .execute(&mut *db)
        .await?;
    }
    Ok(())
}

type ScheduleRow = (i64, i64, String, String, Option<i64>, String, i64);

const SCHEDULE_COLUMNS: &str =
    "contract_id, interval_count, interval_unit, timing, cycles, invoice_mode, payment_days";

/// The contract's billing schedule, if it is a recurring sale.
pub async fn schedule(
    db: &mut Db,
    contract_id: i64,
) -> Result<Option<BillingSchedule>, StoreError> {
    let row: Option<ScheduleRow> = sqlx::query_as(AssertSqlSafe(format!(
        "SELECT {SCHEDULE_COLUMNS} FROM billing_schedules WHERE contract_id = $1"
    )))
    .bind(contract_id)
    .fetch_optional(db)
    .await?;
    row.map(schedule_of).transpose()
}

/// The billing schedules of many contracts (a billing run's batch) in one statement, by
/// contract id; a contract that is no longer a recurring sale has none.
pub async fn schedules_of(
    db: &mut Db,
    backend: Backend,
    contract_ids: &[i64],
) -> Result<HashMap<i64, BillingSchedule>, StoreError> {
    let rows: Vec<ScheduleRow> = sqlx::query_as(AssertSqlSafe(format!(
        "SELECT {SCHEDULE_COLUMNS} FROM billing_schedules WHERE {}",
        backend.in_ids("contract_id", "$1")
    )))
    .bind(json_ints(contract_ids.iter().copied()))
    .fetch_all(db)
    .await?;
    rows.into_iter()
        .map(|row| schedule_of(row).map(|s| (s.contract_id, s)))
        .collect()
}

fn schedule_of(row: ScheduleRow) -> Result<BillingSchedule, StoreError> {
    let (id, count, unit, timing, cycles, mode, payment_days) = row;
    let bad = |e: &dyn std::fmt::Display| corrupt("billing schedule of contract", id, e);
    Ok(BillingSchedule {
        contract_id: id,
        interval: BillingInterval {
            count: u32::try_from(count).map_err(|e| bad(&e))?,
            unit: unit_of_letter(&unit)?,
        },
        timing: timing.parse().map_err(|e| bad(&e))?,
        cycles: cycles.map(u32::try_from).transpose().map_err(|e| bad(&e))?,
        invoice_mode: mode.parse().map_err(|e| bad(&e))?,
        payment_days: u32::try_from(payment_days).map_err(|e| bad(&e))?,
    })
}

/// Rows of `(description, quantity thousandths, unit price minor, tax hundredths)`, shared
/// with the invoice lines.
pub(crate) type LineRow = (String, i64, i64, i64);

pub(crate) fn line_of(
    what: &str,
    id: i64,
    row: LineRow,
    currency: Currency,
) -> Result<LineItem, StoreError> {
    let (description, quantity, unit_price, tax) = row;
    Ok(LineItem {
        description,
        quantity: Quantity::from_thousandths(quantity)
            .ok_or_else(|| corrupt(what, id, format!("quantity {quantity}")))?,
        unit_price: Money {
            minor: unit_price,
            currency,
        },
        tax_rate: u32::try_from(tax)
            .ok()
            .and_then(TaxRate::from_hundredths)
            .ok_or_else(|| corrupt(what, id, format!("tax rate {tax}")))?,
    })
}

/// The lines the invoices of many contracts (a billing run's batch, each contract with its
/// currency) start from, in order, by contract id, in one statement.
pub async fn lines_of(
    db: &mut Db,
    backend: Backend,
    contracts: &HashMap<i64, Currency>,
) -> Result<HashMap<i64, Vec<LineItem>>, StoreError> {
    let rows: Vec<(i64, String, i64, i64, i64)> = sqlx::query_as(AssertSqlSafe(format!(
        "SELECT contract_id, description, quantity_thousandths, unit_price_minor, \
         tax_rate_hundredths FROM billing_lines WHERE {} ORDER BY contract_id, position",
        backend.in_ids("contract_id", "$1")
    )))
    .bind(json_ints(contracts.keys().copied()))
    .fetch_all(db)
    .await?;
    let mut lines: HashMap<i64, Vec<LineItem>> = HashMap::new();
    for (contract_id, description, quantity, unit_price, tax) in rows {
        let currency = *contracts.get(&contract_id).ok_or_else(|| {
            StoreError::Corrupt(format!("billing line of unasked contract {contract_id}"))
        })?;
        let line = line_of(
            "billing line of contract",
            contract_id,
            (description, quantity, unit_price, tax),
            currency,
        )?;
        lines.entry(contract_id).or_default().push(line);
    }
    Ok(lines)
}

/// The lines each invoice of the contract starts from, in order.
pub async fn lines(
    db: &mut Db,
    contract_id: i64,
    currency: Currency,
) -> Result<Vec<LineItem>, StoreError> {
    let rows: Vec<LineRow> = sqlx::query_as(
        "SELECT description, quantity_thousandths, unit_price_minor, tax_rate_hundredths \
         FROM billing_lines WHERE contract_id = $1 ORDER BY position",
    )
    .bind(contract_id)
    .fetch_all(db)
    .await?;
    rows.into_iter()
        .map(|row| line_of("billing line of contract", contract_id, row, currency))
        .collect()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PeriodStatus {
    /// Waiting for its issue date.
    Pending,
    /// Its invoice exists (whatever became of that invoice).
    Invoiced,
    /// Never billed: the sale ended early or its dates changed.
    Cancelled,
}

impl PeriodStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            PeriodStatus::Pending => "pending",
            PeriodStatus::Invoiced => "invoiced",
            PeriodStatus::Cancelled => "cancelled",
        }
    }

    fn parse(text: &str) -> Result<Self, StoreError> {
        Ok(match text {
            "pending" => PeriodStatus::Pending,
            "invoiced" => PeriodStatus::Invoiced,
            "cancelled" => PeriodStatus::Cancelled,
            other => return Err(StoreError::Corrupt(format!("period status \"{other}\""))),
        })
    }
}

/// One planned period of a recurring sale.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Period {
    pub id: i64,
    pub contract_id: i64,
    pub term_id: i64,
    pub cycle: u32,
    pub start: Date,
    pub end: Date,
    pub issue_date: Date,
    pub bill_at: Timestamp,
    pub status: PeriodStatus,
    pub status_reason: Option<String>,
    pub invoice_id: Option<i64>,
}

pub struct NewPeriod {
    pub contract_id: i64,
    pub term_id: i64,
    pub cycle: u32,
    pub start: Date,
    pub end: Date,
    pub issue_date: Date,
    pub bill_at: Timestamp,
}

const PERIOD_COLUMNS: &str = "id, contract_id, term_id, cycle, period_start, period_end, \
     issue_date, bill_at, status, status_reason, invoice_id";

type PeriodRow = (
    i64,
    i64,
    i64,
    i64,
    String,
    String,
    String,
    i64,
    String,
    Option<String>,
    Option<i64>,
);

fn period_of(row: PeriodRow) -> Result<Period, StoreError> {
    let (id, contract_id, term_id, cycle, start, end, issue, bill_at, status, reason, invoice) =
        row;
    Ok(Period {
        id,
        contract_id,
        term_id,
        cycle: u32::try_from(cycle).map_err(|e| corrupt("billing period", id, e))?,
        start: date_from_text(&start)?,
        end: date_from_text(&end)?,
        issue_date: date_from_text(&issue)?,
        bill_at: instant_from_millis(bill_at)?,
        status: PeriodStatus::parse(&status)?,
        status_reason: reason,
        invoice_id: invoice,
    })
}

pub async fn insert_period(db: &mut Db, new: &NewPeriod) -> Result<i64, StoreError> {
    Ok(sqlx::query_scalar(
        "INSERT INTO billing_periods (contract_id, term_id, cycle, period_start, period_end, \
         issue_date, bill_at, status) VALUES ($1, $2, $3, $4, $5, $6, $7, 'pending') \
         RETURNING id",
    )
    .bind(new.contract_id)
    .bind(new.term_id)
    .bind(i64::from(new.cycle))
    .bind(new.start.to_string())
    .bind(new.end.to_string())
    .bind(new.issue_date.to_string())
    .bind(millis(new.bill_at))
    .fetch_one(db)
    .await?)
}

pub async fn period(db: &mut Db, id: i64) -> Result<Period, StoreError> {
    let row: Option<PeriodRow> = sqlx::query_as(AssertSqlSafe(format!(
        "SELECT {PERIOD_COLUMNS} FROM billing_periods WHERE id = $1"
    )))
    .bind(id)
    .fetch_optional(db)
    .await?;
    row.map(period_of)
        .transpose()?
        .ok_or_else(|| StoreError::not_found("billing period", id))
}

/// Every period of the contract, in order.
pub async fn periods(db: &mut Db, contract_id: i64) -> Result<Vec<Period>, StoreError> {
    let rows: Vec<PeriodRow> = sqlx::query_as(AssertSqlSafe(format!(
        "SELECT {PERIOD_COLUMNS} FROM billing_periods WHERE contract_id = $1 \
         ORDER BY period_start, id"
    )))
    .bind(contract_id)
    .fetch_all(db)
    .await?;
    rows.into_iter().map(period_of).collect()
}

/// The pending periods billed before `until`, in the order the billing run takes them
/// (`bill_at`, then id): what a preview predicts, and the invoice numbers they will take.
pub async fn pending_before(db: &mut Db, until: Timestamp) -> Result<Vec<Period>, StoreError> {
    let rows: Vec<PeriodRow> = sqlx::query_as(AssertSqlSafe(format!(
        "SELECT {PERIOD_COLUMNS} FROM billing_periods \
         WHERE status = 'pending' AND bill_at < $1 ORDER BY bill_at, id"
    )))
    .bind(millis(until))
    .fetch_all(db)
    .await?;
    rows.into_iter().map(period_of).collect()
}

/// A pending period as the agenda shows it: with its contract's title and owner and its
/// customer's name, read in the same query.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PlannedPeriod {
    pub period: Period,
    pub contract_title: String,
    pub owner_id: Option<i64>,
    pub customer_name: String,
}

/// Pending periods whose issue date falls in `from..=until`, by issue date: the invoices
/// still to be made. A period bills on its issue date in the customer's zone, so its
/// instant lies within a day of that date at UTC midnight; bounding `bill_at` too keeps the
/// read on the index of pending periods (`billing_periods_due`).
pub async fn planned_between(
    db: &mut Db,
    from: Date,
    until: Date,
    owner_id: Option<i64>,
    limit: i64,
) -> Result<Vec<PlannedPeriod>, StoreError> {
    let day = 24 * 3_600_000;
    let midnight = |date: Date| {
        millis(tickler_core::schedule::local_instant(
            date,
            jiff::civil::Time::midnight(),
            &jiff::tz::TimeZone::UTC,
        ))
    };
    let columns = PERIOD_COLUMNS
        .split(',')
        .map(|column| format!("p.{}", column.trim()))
        .collect::<Vec<_>>()
        .join(", ");
    let sql = format!(
        "SELECT {columns}, c.title, c.owner_id, cu.name FROM billing_periods p \
         JOIN contracts c ON c.id = p.contract_id JOIN customers cu ON cu.id = c.customer_id \
         WHERE p.status = 'pending' AND p.bill_at >= $1 AND p.bill_at < $2 \
         AND p.issue_date >= $3 AND p.issue_date <= $4{} \
         ORDER BY p.issue_date, p.id LIMIT $5",
        if owner_id.is_some() {
            " AND c.owner_id = $6"
        } else {
            ""
        }
    );
    let mut query = sqlx::query(AssertSqlSafe(sql))
        .bind(midnight(from) - 2 * day)
        .bind(midnight(until) + 3 * day)
        .bind(from.to_string())
        .bind(until.to_string())
        .bind(limit);
    if let Some(owner) = owner_id {
        query = query.bind(owner);
    }
    let rows = query.fetch_all(db).await?;
    rows.iter()
        .map(|row| {
            use sqlx::Row;
            let period: PeriodRow = (
                row.try_get(0)?,
                row.try_get(1)?,
                row.try_get(2)?,
                row.try_get(3)?,
                row.try_get(4)?,
                row.try_get(5)?,
                row.try_get(6)?,
                row.try_get(7)?,
                row.try_get(8)?,
                row.try_get(9)?,
                row.try_get(10)?,
            );
            Ok(PlannedPeriod {
                period: period_of(period)?,
                contract_title: row.try_get(11)?,
                owner_id: row.try_get(12)?,
                customer_name: row.try_get(13)?,
            })
        })
        .collect()
}

/// Moves a pending period to a new issue date and billing instant.
pub async fn reschedule_period(
    db: &mut Db,
    id: i64,
    end: Date,
    issue_date: Date,
    bill_at: Timestamp,
) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE billing_periods SET period_end = $2, issue_date = $3, bill_at = $4 \
         WHERE id = $1 AND status = 'pending'",
    )
    .bind(id)
    .bind(end.to_string())
    .bind(issue_date.to_string())
    .bind(millis(bill_at))
    .execute(db)
    .await?;
    Ok(())
}

/// Cancels a pending period (it will never be billed); false if it was no longer pending.
pub async fn cancel_period(db: &mut Db, id: i64, reason: &str) -> Result<bool, StoreError> {
    let done = sqlx::query(
        "UPDATE billing_periods SET status = 'cancelled', status_reason = $2 \
         WHERE id = $1 AND status = 'pending'",
    )
    .bind(id)
    .bind(reason)
    .execute(db)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Takes up to `limit` periods due at `now`, oldest first, locking them on PostgreSQL so
/// that other dispatchers skip them; `tx` must come from [`crate::Store::begin`]. The caller
/// bills each and marks it invoiced in the same transaction: billing touches only the
/// database, so the transaction itself is the claim, and a crash undoes it whole.
pub async fn take_due_periods(
    tx: &mut Db,
    backend: Backend,
    now: Timestamp,
    limit: i64,
) -> Result<Vec<Period>, StoreError> {
    let lock = match backend {
        Backend::Postgres => " FOR UPDATE SKIP LOCKED",
        Backend::Sqlite => "",
    };
    let rows: Vec<PeriodRow> = sqlx::query_as(AssertSqlSafe(format!(
        "SELECT {PERIOD_COLUMNS} FROM billing_periods \
         WHERE status = 'pending' AND bill_at <= $1 ORDER BY bill_at, id LIMIT $2{lock}"
    )))
    .bind(millis(now))
    .bind(limit)
    .fetch_all(tx)
    .await?;
    rows.into_iter().map(period_of).collect()
}

/// Marks pending periods invoiced with the invoice each produced (found by its
/// `period_id`), in one statement; returns how many were still pending.
pub async fn mark_many_invoiced(
    db: &mut Db,
    backend: Backend,
    period_ids: &[i64],
) -> Result<u64, StoreError> {
    let done = sqlx::query(AssertSqlSafe(format!(
        "UPDATE billing_periods SET status = 'invoiced', \
         invoice_id = (SELECT invoices.id FROM invoices WHERE invoices.period_id = billing_periods.id) \
         WHERE {} = 'pending' AND {}",
        backend.unindexed("status"),
        backend.in_ids("id", "$1")
    )))
    .bind(json_ints(period_ids.iter().copied()))
    .execute(db)
    .await?;
    Ok(done.rows_affected())
}

/// Records the invoice a pending period produced; false if the period was not pending
/// (another dispatcher billed it first).
pub async fn mark_invoiced(db: &mut Db, id: i64, invoice_id: i64) -> Result<bool, StoreError> {
    let done = sqlx::query(
        "UPDATE billing_periods SET status = 'invoiced', invoice_id = $2 \
         WHERE id = $1 AND status = 'pending'",
    )
    .bind(id)
    .bind(invoice_id)
    .execute(db)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// The earliest instant a pending period is due, for the dispatcher's sleep.
pub async fn next_bill_at(db: &mut Db) -> Result<Option<Timestamp>, StoreError> {
    let due: Option<i64> =
        sqlx::query_scalar("SELECT MIN(bill_at) FROM billing_periods WHERE status = 'pending'")
            .fetch_one(db)
            .await?;
    due.map(instant_from_millis).transpose()
}
