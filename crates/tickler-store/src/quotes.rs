//! Renewal quotes and their lines: the next term of a contract as the team offers it.
//! Status changes are guarded on the status the caller checked, so two people (or a person
//! and the expiry run) acting at once never both succeed.

use jiff::{Timestamp, civil::Date};
use serde::Serialize;
use sqlx::AssertSqlSafe;
use tickler_core::{
    billing::{BillingInterval, BillingTiming, InvoiceMode},
    invoice::{LineItem, Totals},
    money::{Currency, Money},
    quote::{QuoteState, QuoteStatus},
};

use crate::{
    Backend, Db, StoreError,
    billing::{unit_letter, unit_of_letter},
    date_from_text, instant_from_millis,
    invoices::{StoredLine, insert_priced_lines, read_priced_lines},
    time::millis,
};

/// How the next term is invoiced, for a contract that is a recurring sale.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct QuoteBilling {
    pub interval: BillingInterval,
    pub timing: BillingTiming,
    pub invoice_mode: InvoiceMode,
    pub payment_days: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Quote {
    pub id: i64,
    pub contract_id: i64,
    /// The term it renews.
    pub term_id: i64,
    pub status: QuoteStatus,
    /// The next term offered.
    pub start_date: Date,
    pub end_date: Date,
    pub valid_until: Date,
    pub currency: Currency,
    pub subtotal: i64,
    pub tax: i64,
    pub total: i64,
    /// `None` for a contract that is not a recurring sale.
    pub billing: Option<QuoteBilling>,
    pub sent_at: Option<Timestamp>,
    pub decided_on: Option<Date>,
    pub decided_by: Option<String>,
    pub decline_reason: Option<String>,
    /// The term its acceptance started.
    pub next_term_id: Option<i64>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

impl Quote {
    pub fn money(&self, minor: i64) -> Money {
        Money {
            minor,
            currency: self.currency,
        }
    }

    /// Its state as the core's rules see it.
    pub fn state(&self) -> QuoteState {
        QuoteState {
            status: self.status,
            valid_until: self.valid_until,
            decided_on: self.decided_on,
        }
    }

    /// How people and documents name it: "Q-7".
    pub fn number(&self) -> String {
        format!("Q-{}", self.id)
    }
}

const COLUMNS: &str = "id, contract_id, term_id, status, start_date, end_date, valid_until, \
     currency, subtotal_minor, tax_minor, total_minor, interval_count, interval_unit, timing, \
     invoice_mode, payment_days, sent_at, decided_on, decided_by, decline_reason, next_term_id, \
     created_at, updated_at";

#[derive(sqlx::FromRow)]
struct QuoteRow {
    id: i64,
    contract_id: i64,
    term_id: i64,
    status: String,
    start_date: String,
    end_date: String,
    valid_until: String,
    currency: String,
    subtotal_minor: i64,
    tax_minor: i64,
    total_minor: i64,
    interval_count: Option<i64>,
    interval_unit: Option<String>,
    timing: Option<String>,
    invoice_mode: Option<String>,
    payment_days: Option<i64>,
    sent_at: Option<i64>,
    decided_on: Option<String>,
    decided_by: Option<String>,
    decline_reason: Option<String>,
    next_term_id: Option<i64>,
    created_at: i64,
    updated_at: i64,
}

fn quote_of(row: QuoteRow) -> Result<Quote, StoreError> {
    let id = row.id;
    let bad = |e: &dyn std::fmt::Display| StoreError::Corrupt(format!("quote {id}: {e}"));
    let billing = match (
        row.interval_count,
        row.interval_unit,
        row.timing,
        row.invoice_mode,
        row.payment_days,
    ) {
        (Some(count), Some(unit), Some(timing), Some(mode), Some(days)) => Some(QuoteBilling {
            interval: BillingInterval {
                count: u32::try_from(count).map_err(|e| bad(&e))?,
                unit: unit_of_letter(&unit)?,
            },
            timing: timing.parse().map_err(|e| bad(&e))?,
            invoice_mode: mode.parse().map_err(|e| bad(&e))?,
            payment_days: u32::try_from(days).map_err(|e| bad(&e))?,
        }),
        (None, None, None, None, None) => None,
        _ => return Err(bad(&"a billing schedule with missing parts")),
    };
    Ok(Quote {
        id,
        contract_id: row.contract_id,
        term_id: row.term_id,
        status: row.status.parse().map_err(|e| bad(&e))?,
        start_date: date_from_text(&row.start_date)?,
        end_date: date_from_text(&row.end_date)?,
        valid_until: date_from_text(&row.valid_until)?,
        currency: Currency::parse("currency", &row.currency).map_err(|e| bad(&e))?,
        subtotal: row.subtotal_minor,
        tax: row.tax_minor,
        total: row.total_minor,
        billing,
        sent_at: row.sent_at.map(instant_from_millis).transpose()?,
        decided_on: row.decided_on.as_deref().map(date_from_text).transpose()?,
        decided_by: row.decided_by,
        decline_reason: row.decline_reason,
        next_term_id: row.next_term_id,
        created_at: instant_from_millis(row.created_at)?,
        updated_at: instant_from_millis(row.updated_at)?,
    })
}

/// What a draft offers: written when it is made and each time it is edited.
pub struct QuoteTerms<'a> {
    pub start_date: Date,
    pub end_date: Date,
    pub valid_until: Date,
    pub billing: Option<QuoteBilling>,
    pub lines: &'a [LineItem],
    pub totals: &'a Totals,
}

pub struct NewQuote<'a> {
    pub contract_id: i64,
    pub term_id: i64,
    pub currency: Currency,
    pub terms: QuoteTerms<'a>,
}

const INSERT_LINE: &str = "INSERT INTO quote_lines (quote_id, position, description, \
     quantity_thousandths, unit_price_minor, tax_rate_hundredths, net_minor)";

/// The billing columns as stored: all NULL for a quote that is not a recurring sale.
type BillingColumns = (
    Option<i64>,
    Option<&'static str>,
    Option<&'static str>,
    Option<&'static str>,
    Option<i64>,
);

fn billing_columns(billing: Option<QuoteBilling>) -> BillingColumns {
    match billing {
        Some(b) => (
            Some(i64::from(b.interval.count)),
            Some(unit_letter(b.interval.unit)),
            Some(b.timing.as_str()),
            Some(b.invoice_mode.as_str()),
            Some(i64::from(b.payment_days)),
        ),
        None => (None, None, None, None, None),
    }
}

type AnyQuery<'q> = sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments>;

/// Binds what a draft offers, in the order both statements below number it ($3 to $13 after
/// two leading parameters).
fn bind_terms<'q>(query: AnyQuery<'q>, terms: &QuoteTerms<'_>) -> AnyQuery<'q> {
    let (count, unit, timing, mode, days) = billing_columns(terms.billing);
    query
        .bind(terms.start_date.to_string())
        .bind(terms.end_date.to_string())
        .bind(terms.valid_until.to_string())
        .bind(terms.totals.subtotal)
        .bind(terms.totals.tax)
        .bind(terms.totals.total)
        .bind(count)
        .bind(unit)
        .bind(timing)
        .bind(mode)
        .bind(days)
}

/// Inserts a draft with its lines.
pub async fn insert_draft(
    db: &mut Db,
    new: &NewQuote<'_>,
    now: Timestamp,
) -> Result<i64, StoreError> {
    let query = sqlx::query(
        "INSERT INTO quotes (contract_id, term_id, start_date, end_date, valid_until, \
         subtotal_minor, tax_minor, total_minor, interval_count, interval_unit, timing, \
         invoice_mode, payment_days, currency, status, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, 'draft', $15, $15) \
         RETURNING id",
    )
    .bind(new.contract_id)
    .bind(new.term_id);
    let row = bind_terms(query, &new.terms)
        .bind(new.currency.code())
        .bind(millis(now))
        .fetch_one(&mut *db)
        .await?;
    let id: i64 = sqlx::Row::try_get(&row, 0)?;
    insert_priced_lines(db, INSERT_LINE, &[(id, new.terms.lines)]).await?;
    Ok(id)
}

/// Replaces a draft's terms and lines; false if it is no longer a draft.
pub async fn update_draft(
    db: &mut Db,
    id: i64,
    terms: &QuoteTerms<'_>,
    now: Timestamp,
) -> Result<bool, StoreError> {
    let query = sqlx::query(
        "UPDATE quotes SET start_date = $3, end_date = $4, valid_until = $5, \
         subtotal_minor = $6, tax_minor = $7, total_minor = $8, interval_count = $9, \
         interval_unit = $10, timing = $11, invoice_mode = $12, payment_days = $13, \
         updated_at = $2 WHERE id = $1 AND status = 'draft'",
    )
    .bind(id)
    .bind(millis(now));
    let done = bind_terms(query, terms).execute(&mut *db).await?;
    if done.rows_affected() != 1 {
        return Ok(false);
    }
    sqlx::query("DELETE FROM quote_lines WHERE quote_id = $1")
        .bind(id)
        .execute(&mut *db)
        .await?;
    insert_priced_lines(db, INSERT_LINE, &[(id, terms.lines)]).await?;
    Ok(true)
}

pub async fn get(db: &mut Db, id: i64) -> Result<Quote, StoreError> {
    fetch(db, id, "").await
}

/// The quote, locked against other writers until `tx` ends (on SQLite the write
/// transaction already is).
pub async fn get_for_update(tx: &mut Db, backend: Backend, id: i64) -> Result<Quote, StoreError> {
    let lock = match backend {
        Backend::Postgres => " FOR UPDATE",
        Backend::Sqlite => "",
    };
    fetch(tx, id, lock).await
}

async fn fetch(db: &mut Db, id: i64, lock: &str) -> Result<Quote, StoreError> {
    let row: Option<QuoteRow> = sqlx::query_as(AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM quotes WHERE id = $1{lock}"
    )))
    .bind(id)
    .fetch_optional(db)
    .await?;
    row.map(quote_of)
        .transpose()?
        .ok_or_else(|| StoreError::not_found("quote", id))
}

/// Which quotes a list shows.
#[derive(Debug, Clone, Default)]
pub struct QuoteFilter {
    pub contract_id: Option<i64>,
    pub status: Option<QuoteStatus>,
    pub limit: Option<i64>,
}

/// Quotes, newest first.
pub async fn list(db: &mut Db, filter: &QuoteFilter) -> Result<Vec<Quote>, StoreError> {
    let rows: Vec<QuoteRow> = sqlx::query_as(AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM quotes \
         WHERE ($1 IS NULL OR contract_id = $1) AND ($2 IS NULL OR status = $2) \
         ORDER BY id DESC LIMIT $3"
    )))
    .bind(filter.contract_id)
    .bind(filter.status.map(|s| s.as_str()))
    .bind(filter.limit.unwrap_or(i64::MAX))
    .fetch_all(db)
    .await?;
    rows.into_iter().map(quote_of).collect()
}

pub async fn lines(db: &mut Db, quote: &Quote) -> Result<Vec<StoredLine>, StoreError> {
    read_priced_lines(
        db,
        "SELECT description, quantity_thousandths, unit_price_minor, tax_rate_hundredths, \
         net_minor FROM quote_lines WHERE quote_id = $1 ORDER BY position",
        "line of quote",
        quote.id,
        quote.currency,
    )
    .await
}

/// Sends a draft; false if it was no longer a draft.
pub async fn mark_sent(db: &mut Db, id: i64, now: Timestamp) -> Result<bool, StoreError> {
    let done = sqlx::query(
        "UPDATE quotes SET status = 'sent', sent_at = $2, updated_at = $2 \
         WHERE id = $1 AND status = 'draft'",
    )
    .bind(id)
    .bind(millis(now))
    .execute(db)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// A decision on a sent quote.
pub struct Decision<'a> {
    /// `accepted` or `declined`.
    pub status: QuoteStatus,
    pub on: Date,
    pub by: &'a str,
    pub reason: Option<&'a str>,
    /// The term an acceptance started.
    pub next_term_id: Option<i64>,
}

/// Records a decision on a sent quote; false if it was no longer sent.
pub async fn decide(
    db: &mut Db,
    id: i64,
    decision: &Decision<'_>,
    now: Timestamp,
) -> Result<bool, StoreError> {
    let done = sqlx::query(
        "UPDATE quotes SET status = $2, decided_on = $3, decided_by = $4, decline_reason = $5, \
         next_term_id = $6, updated_at = $7 WHERE id = $1 AND status = 'sent'",
    )
    .bind(id)
    .bind(decision.status.as_str())
    .bind(decision.on.to_string())
    .bind(decision.by)
    .bind(decision.reason)
    .bind(decision.next_term_id)
    .bind(millis(now))
    .execute(db)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Marks a sent quote expired; false if it was no longer sent (decided meanwhile).
pub async fn expire(db: &mut Db, id: i64, now: Timestamp) -> Result<bool, StoreError> {
    let done = sqlx::query(
        "UPDATE quotes SET status = 'expired', updated_at = $2 WHERE id = $1 AND status = 'sent'",
    )
    .bind(id)
    .bind(millis(now))
    .execute(db)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Sent quotes whose validity ended before `today`, oldest first (through the partial index
/// over sent quotes).
pub async fn sent_past_validity(
    db: &mut Db,
    today: Date,
    limit: i64,
) -> Result<Vec<Quote>, StoreError> {
    let rows: Vec<QuoteRow> = sqlx::query_as(AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM quotes WHERE status = 'sent' AND valid_until < $1 \
         ORDER BY valid_until, id LIMIT $2"
    )))
    .bind(today.to_string())
    .bind(limit)
    .fetch_all(db)
    .await?;
    rows.into_iter().map(quote_of).collect()
}
