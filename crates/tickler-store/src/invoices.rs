//! Invoices, their lines and payments, and the per-year number sequences.

use jiff::{Timestamp, civil::Date};
use serde::Serialize;
use sqlx::AssertSqlSafe;
use tickler_core::{
    invoice::{InvoiceState, InvoiceStatus, LineItem, Totals},
    money::{Currency, Money},
};

use crate::{
    Backend, Db, StoreError, batch,
    billing::{LineRow, line_of},
    date_from_text, instant_from_millis,
    time::millis,
};

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Invoice {
    pub id: i64,
    pub contract_id: i64,
    /// The billing period it bills, for an invoice of a recurring sale.
    pub period_id: Option<i64>,
    pub customer_id: i64,
    pub status: InvoiceStatus,
    /// Given at issue; `None` for a draft.
    pub number: Option<String>,
    pub period_start: Date,
    pub period_end: Date,
    pub issue_date: Date,
    pub due_date: Date,
    pub currency: Currency,
    pub subtotal: i64,
    pub tax: i64,
    pub total: i64,
    pub paid: i64,
    /// Why a draft was discarded or an issued invoice voided.
    pub void_reason: Option<String>,
    pub issued_at: Option<Timestamp>,
    pub created_at: Timestamp,
}

impl Invoice {
    pub fn balance(&self) -> i64 {
        self.total - self.paid
    }

    pub fn money(&self, minor: i64) -> Money {
        Money {
            minor,
            currency: self.currency,
        }
    }

    /// Its money state, as the core's rules see it.
    pub fn state(&self) -> InvoiceState {
        InvoiceState {
            status: self.status,
            total: self.total,
            paid: self.paid,
        }
    }
}

const COLUMNS: &str = "id, contract_id, period_id, customer_id, status, number, period_start, \
     period_end, issue_date, due_date, currency, subtotal_minor, tax_minor, total_minor, \
     paid_minor, void_reason, issued_at, created_at";

#[derive(sqlx::FromRow)]
struct InvoiceRow {
    id: i64,
    contract_id: i64,
    period_id: Option<i64>,
    customer_id: i64,
    status: String,
    number: Option<String>,
    period_start: String,
    period_end: String,
    issue_date: String,
    due_date: String,
    currency: String,
    subtotal_minor: i64,
    tax_minor: i64,
    total_minor: i64,
    paid_minor: i64,
    void_reason: Option<String>,
    issued_at: Option<i64>,
    created_at: i64,
}

fn invoice_of(row: InvoiceRow) -> Result<Invoice, StoreError> {
    let bad = |e: &dyn std::fmt::Display| StoreError::Corrupt(format!("invoice {}: {e}", row.id));
    Ok(Invoice {
        id: row.id,
        contract_id: row.contract_id,
        period_id: row.period_id,
        customer_id: row.customer_id,
        status: row.status.parse().map_err(|e| bad(&e))?,
        number: row.number.clone(),
        period_start: date_from_text(&row.period_start)?,
        period_end: date_from_text(&row.period_end)?,
        issue_date: date_from_text(&row.issue_date)?,
        due_date: date_from_text(&row.due_date)?,
        currency: Currency::parse("currency", &row.currency).map_err(|e| bad(&e))?,
        subtotal: row.subtotal_minor,
        tax: row.tax_minor,
        total: row.total_minor,
        paid: row.paid_minor,
        void_reason: row.void_reason.clone(),
        issued_at: row.issued_at.map(instant_from_millis).transpose()?,
        created_at: instant_from_millis(row.created_at)?,
    })
}

pub struct NewInvoice<'a> {
    pub contract_id: i64,
    pub period_id: Option<i64>,
    pub customer_id: i64,
    pub period_start: Date,
    pub period_end: Date,
    pub issue_date: Date,
    pub due_date: Date,
    pub currency: Currency,
    pub lines: &'a [LineItem],
    pub totals: &'a Totals,
}

/// Inserts a draft with its lines; [`issue`] numbers it.
pub async fn insert_draft(
    db: &mut Db,
    new: &NewInvoice<'_>,
    now: Timestamp,
) -> Result<i64, StoreError> {
    insert_drafts(db, std::slice::from_ref(new), now)
        .await?
        .pop()
        .ok_or_else(|| StoreError::Corrupt("an inserted invoice returned no id".to_string()))
}

/// [`insert_draft`] for many drafts (a billing run's batch): one statement for the
/// invoices and one for all their lines; returns their ids in the order given.
pub async fn insert_drafts(
    db: &mut Db,
    new: &[NewInvoice<'_>],
    now: Timestamp,
) -> Result<Vec<i64>, StoreError> {
    const COLUMNS: usize = 15;
    let mut ids = Vec::with_capacity(new.len());
    for rows in new.chunks(batch::rows_per_statement(COLUMNS)) {
        let sql = format!(
            "INSERT INTO invoices (contract_id, period_id, customer_id, status, period_start, \
             period_end, issue_date, due_date, currency, subtotal_minor, tax_minor, \
             total_minor, paid_minor, created_at, updated_at) VALUES {}{}",
            batch::values(db, rows.len(), COLUMNS),
            batch::returning_id(db)
        );
        let mut query = sqlx::query(AssertSqlSafe(sql));
        for row in rows {
            query = query
                .bind(row.contract_id)
                .bind(row.period_id)
                .bind(row.customer_id)
                .bind(InvoiceStatus::Draft.as_str())
                .bind(row.period_start.to_string())
                .bind(row.period_end.to_string())
                .bind(row.issue_date.to_string())
                .bind(row.due_date.to_string())
                .bind(row.currency.code())
                .bind(row.totals.subtotal)
                .bind(row.totals.tax)
                .bind(row.totals.total)
                .bind(0_i64)
                .bind(millis(now))
                .bind(millis(now));
        }
        ids.extend(batch::inserted_ids(db, "invoices", query, rows.len()).await?);
    }
    let lines: Vec<(i64, &[LineItem])> = ids
        .iter()
        .copied()
        .zip(new.iter().map(|n| n.lines))
        .collect();
    insert_lines(db, &lines).await?;
    Ok(ids)
}

async fn insert_lines(db: &mut Db, lines: &[(i64, &[LineItem])]) -> Result<(), StoreError> {
    insert_priced_lines(
        db,
        "INSERT INTO invoice_lines (invoice_id, position, description, \
         quantity_thousandths, unit_price_minor, tax_rate_hundredths, net_minor)",
        lines,
    )
    .await
}

/// Writes the lines of many owners with their nets through `into` (`INSERT INTO` an
/// invoice's or a quote's line table with its columns, the same ones), as multi-row
/// statements: one rule for how a priced line is stored.
pub(crate) async fn insert_priced_lines(
    db: &mut Db,
    into: &'static str,
    lines: &[(i64, &[LineItem])],
) -> Result<(), StoreError> {
    const COLUMNS: usize = 7;
    let rows: Vec<(i64, usize, &LineItem)> = lines
        .iter()
        .flat_map(|(owner_id, items)| {
            items
                .iter()
                .enumerate()
                .map(move |(position, line)| (*owner_id, position, line))
        })
        .collect();
    for chunk in rows.chunks(batch::rows_per_statement(COLUMNS)) {
        let sql = format!("{into} VALUES {}", batch::values(db, chunk.len(), COLUMNS));
        let mut query = sqlx::query(AssertSqlSafe(sql));
        for (owner_id, position, line) in chunk {
            query = query
                .bind(*owner_id)
                .bind(*position as i64)
                .bind(&line.description)
                .bind(line.quantity.thousandths())
                .bind(line.unit_price.minor)
                .bind(i64::from(line.tax_rate.hundredths()))
                .bind(line.net());
        }
        query.execute(&mut *db).await?;
    }
    Ok(())
}

pub async fn get(db: &mut Db, id: i64) -> Result<Invoice, StoreError> {
    let row: Option<InvoiceRow> = sqlx::query_as(AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM invoices WHERE id = $1"
    )))
    .bind(id)
    .fetch_optional(db)
    .await?;
    row.map(invoice_of)
        .transpose()?
        .ok_or_else(|| StoreError::not_found("invoice", id))
}

/// The invoice, locked against other writers until `tx` ends (on SQLite the write
/// transaction already is).
pub async fn get_for_update(tx: &mut Db, backend: Backend, id: i64) -> Result<Invoice, StoreError> {
    let lock = match backend {
        Backend::Postgres => " FOR UPDATE",
        Backend::Sqlite => "",
    };
    let row: Option<InvoiceRow> = sqlx::query_as(AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM invoices WHERE id = $1{lock}"
    )))
    .bind(id)
    .fetch_optional(tx)
    .await?;
    row.map(invoice_of)
        .transpose()?
        .ok_or_else(|| StoreError::not_found("invoice", id))
}

/// Which invoices a list shows.
#[derive(Debug, Clone, Default)]
pub struct InvoiceFilter {
    pub contract_id: Option<i64>,
    pub status: Option<InvoiceStatus>,
    /// Issued invoices whose due date is before this day.
    pub overdue_on: Option<Date>,
    pub limit: Option<i64>,
}

/// Invoices in the order they bill: by period, then id.
pub async fn list(db: &mut Db, filter: &InvoiceFilter) -> Result<Vec<Invoice>, StoreError> {
    Ok(list_with_parties(db, filter)
        .await?
        .into_iter()
        .map(|listed| listed.invoice)
        .collect())
}

/// An invoice with what a list shows beside it: its contract's title and owner and its
/// customer's name, read in the same query.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ListedInvoice {
    pub invoice: Invoice,
    pub contract_title: String,
    pub owner_id: Option<i64>,
    pub customer_name: String,
}

#[derive(sqlx::FromRow)]
struct ListedRow {
    #[sqlx(flatten)]
    invoice: InvoiceRow,
    contract_title: String,
    owner_id: Option<i64>,
    customer_name: String,
}

/// [`list`] with each invoice's contract title, owner and customer name: one query for a
/// page, however many contracts and customers it holds.
pub async fn list_with_parties(
    db: &mut Db,
    filter: &InvoiceFilter,
) -> Result<Vec<ListedInvoice>, StoreError> {
    let columns = COLUMNS
        .split(',')
        .map(|column| format!("i.{}", column.trim()))
        .collect::<Vec<_>>()
        .join(", ");
    let rows: Vec<ListedRow> = sqlx::query_as(AssertSqlSafe(format!(
        "SELECT {columns}, c.title AS contract_title, c.owner_id AS owner_id, \
         cu.name AS customer_name \
         FROM invoices i JOIN contracts c ON c.id = i.contract_id \
         JOIN customers cu ON cu.id = i.customer_id \
         WHERE ($1 IS NULL OR i.contract_id = $1) AND ($2 IS NULL OR i.status = $2) \
         AND ($3 IS NULL OR (i.status = 'issued' AND i.due_date < $3)) \
         ORDER BY i.period_start, i.id LIMIT $4"
    )))
    .bind(filter.contract_id)
    .bind(filter.status.map(|s| s.as_str()))
    .bind(filter.overdue_on.map(|d| d.to_string()))
    .bind(filter.limit.unwrap_or(i64::MAX))
    .fetch_all(db)
    .await?;
    rows.into_iter()
        .map(|row| {
            Ok(ListedInvoice {
                invoice: invoice_of(row.invoice)?,
                contract_title: row.contract_title,
                owner_id: row.owner_id,
                customer_name: row.customer_name,
            })
        })
        .collect()
}

/// Issued (unpaid) invoices due in `from..=until` (of one owner's contracts, with
/// `owner_id`), by due date: the agenda's payment dates, read through `invoices_status_due`.
pub async fn due_between(
    db: &mut Db,
    from: Date,
    until: Date,
    owner_id: Option<i64>,
    limit: i64,
) -> Result<Vec<ListedInvoice>, StoreError> {
    let columns = COLUMNS
        .split(',')
        .map(|column| format!("i.{}", column.trim()))
        .collect::<Vec<_>>()
        .join(", ");
    let sql = format!(
        "SELECT {columns}, c.title AS contract_title, c.owner_id AS owner_id, \
         cu.name AS customer_name \
         FROM invoices i JOIN contracts c ON c.id = i.contract_id \
         JOIN customers cu ON cu.id = i.customer_id \
         WHERE i.status = 'issued' AND i.due_date >= $1 AND i.due_date <= $2{} \
         ORDER BY i.due_date, i.id LIMIT $3",
        if owner_id.is_some() {
            " AND c.owner_id = $4"
        } else {
            ""
        }
    );
    let mut query = sqlx::query_as::<_, ListedRow>(AssertSqlSafe(sql))
        .bind(from.to_string())
        .bind(until.to_string())
        .bind(limit);
    if let Some(owner) = owner_id {
        query = query.bind(owner);
    }
    query
        .fetch_all(db)
        .await?
        .into_iter()
        .map(|row| {
            Ok(ListedInvoice {
                invoice: invoice_of(row.invoice)?,
                contract_title: row.contract_title,
                owner_id: row.owner_id,
                customer_name: row.customer_name,
            })
        })
        .collect()
}

/// A line as stored, with the net computed when the invoice was made.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StoredLine {
    pub item: LineItem,
    pub net: i64,
}

pub async fn lines(db: &mut Db, invoice: &Invoice) -> Result<Vec<StoredLine>, StoreError> {
    read_priced_lines(
        db,
        "SELECT description, quantity_thousandths, unit_price_minor, tax_rate_hundredths, \
         net_minor FROM invoice_lines WHERE invoice_id = $1 ORDER BY position",
        "line of invoice",
        invoice.id,
        invoice.currency,
    )
    .await
}

/// Reads lines stored by [`insert_priced_lines`] through `select`, which takes the owner's id.
pub(crate) async fn read_priced_lines(
    db: &mut Db,
    select: &'static str,
    what: &str,
    owner_id: i64,
    currency: Currency,
) -> Result<Vec<StoredLine>, StoreError> {
    let rows: Vec<(String, i64, i64, i64, i64)> =
        sqlx::query_as(select).bind(owner_id).fetch_all(db).await?;
    rows.into_iter()
        .map(|(description, quantity, price, tax, net)| {
            let row: LineRow = (description, quantity, price, tax);
            Ok(StoredLine {
                item: line_of(what, owner_id, row, currency)?,
                net,
            })
        })
        .collect()
}

/// Replaces a draft's lines, dates and totals; false if it is no longer a draft.
pub async fn update_draft(
    db: &mut Db,
    id: i64,
    issue_date: Date,
    due_date: Date,
    lines: &[LineItem],
    totals: &Totals,
    now: Timestamp,
) -> Result<bool, StoreError> {
    let done = sqlx::query(
        "UPDATE invoices SET issue_date = $2, due_date = $3, subtotal_minor = $4, \
         tax_minor = $5, total_minor = $6, updated_at = $7 WHERE id = $1 AND status = 'draft'",
    )
    .bind(id)
    .bind(issue_date.to_string())
    .bind(due_date.to_string())
    .bind(totals.subtotal)
    .bind(totals.tax)
    .bind(totals.total)
    .bind(millis(now))
    .execute(&mut *db)
    .await?;
    if done.rows_affected() != 1 {
        return Ok(false);
    }
    sqlx::query("DELETE FROM invoice_lines WHERE invoice_id = $1")
        .bind(id)
        .execute(&mut *db)
        .await?;
    insert_lines(db, &[(id, lines)]).await?;
    Ok(true)
}

/// The last number `year`'s sequence gave (0 before the first), read without taking one:
/// what a preview counts on from.
pub async fn last_number(db: &mut Db, year: i16) -> Result<i64, StoreError> {
    let last: Option<i64> =
        sqlx::query_scalar("SELECT last_sequence FROM invoice_number_counters WHERE year = $1")
            .bind(i64::from(year))
            .fetch_optional(db)
            .await?;
    Ok(last.unwrap_or(0))
}

/// The next number of `year`'s sequence, taken in `tx`: the counter row stays locked until
/// the transaction ends (PostgreSQL's row lock; SQLite's write lock), so a number is used
/// exactly when the invoice that took it commits, and a rollback gives it back. Gapless.
pub async fn next_number(tx: &mut Db, year: i16) -> Result<i64, StoreError> {
    Ok(sqlx::query_scalar(
        "INSERT INTO invoice_number_counters (year, last_sequence) VALUES ($1, 1) \
         ON CONFLICT (year) DO UPDATE \
         SET last_sequence = invoice_number_counters.last_sequence + 1 \
         RETURNING last_sequence",
    )
    .bind(i64::from(year))
    .fetch_one(tx)
    .await?)
}

/// What issuing gives a draft.
pub struct Issue<'a> {
    pub number: &'a str,
    pub year: i16,
    pub sequence: i64,
    pub issue_date: Date,
    pub due_date: Date,
    /// `issued`, or `paid` when prepayments already cover it.
    pub status: InvoiceStatus,
}

/// Numbers a draft and issues it; false if it was no longer a draft.
pub async fn issue(
    db: &mut Db,
    id: i64,
    issue: &Issue<'_>,
    now: Timestamp,
) -> Result<bool, StoreError> {
    let done = sqlx::query(
        "UPDATE invoices SET status = $2, number = $3, number_year = $4, number_sequence = $5, \
         issue_date = $6, due_date = $7, issued_at = $8, updated_at = $8 \
         WHERE id = $1 AND status = 'draft'",
    )
    .bind(id)
    .bind(issue.status.as_str())
    .bind(issue.number)
    .bind(i64::from(issue.year))
    .bind(issue.sequence)
    .bind(issue.issue_date.to_string())
    .bind(issue.due_date.to_string())
    .bind(millis(now))
    .execute(db)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Moves an invoice from `from` to `to`, with a reason (discard, void); false if it was
/// no longer `from`.
pub async fn set_status(
    db: &mut Db,
    id: i64,
    from: InvoiceStatus,
    to: InvoiceStatus,
    reason: Option<&str>,
    now: Timestamp,
) -> Result<bool, StoreError> {
    let done = sqlx::query(
        "UPDATE invoices SET status = $3, void_reason = COALESCE($4, void_reason), \
         updated_at = $5 WHERE id = $1 AND status = $2",
    )
    .bind(id)
    .bind(from.as_str())
    .bind(to.as_str())
    .bind(reason)
    .bind(millis(now))
    .execute(db)
    .await?;
    Ok(done.rows_affected() == 1)
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Payment {
    pub id: i64,
    pub invoice_id: i64,
    pub amount: i64,
    pub paid_on: Date,
    pub reference: Option<String>,
    pub recorded_by: String,
    pub recorded_at: Timestamp,
}

pub struct NewPayment<'a> {
    pub invoice_id: i64,
    pub amount: i64,
    pub paid_on: Date,
    pub reference: Option<&'a str>,
    pub recorded_by: &'a str,
}

/// Records a payment and the invoice's new paid amount and status, guarded on the state the
/// caller checked (`expected`): false, and nothing written, if the invoice changed since.
pub async fn record_payment(
    db: &mut Db,
    payment: &NewPayment<'_>,
    expected: InvoiceState,
    status_after: InvoiceStatus,
    now: Timestamp,
) -> Result<Option<i64>, StoreError> {
    let done = sqlx::query(
        "UPDATE invoices SET paid_minor = paid_minor + $2, status = $3, updated_at = $4 \
         WHERE id = $1 AND status = $5 AND paid_minor = $6",
    )
    .bind(payment.invoice_id)
    .bind(payment.amount)
    .bind(status_after.as_str())
    .bind(millis(now))
    .bind(expected.status.as_str())
    .bind(expected.paid)
    .execute(&mut *db)
    .await?;
    if done.rows_affected() != 1 {
        return Ok(None);
    }
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO invoice_payments (invoice_id, amount_minor, paid_on, reference, \
         recorded_by, recorded_at) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
    )
    .bind(payment.invoice_id)
    .bind(payment.amount)
    .bind(payment.paid_on.to_string())
    .bind(payment.reference)
    .bind(payment.recorded_by)
    .bind(millis(now))
    .fetch_one(db)
    .await?;
    Ok(Some(id))
}

/// (id, invoice, amount, paid on, reference, recorded by, recorded at).
type PaymentRow = (i64, i64, i64, String, Option<String>, String, i64);

pub async fn payments(db: &mut Db, invoice_id: i64) -> Result<Vec<Payment>, StoreError> {
    let rows: Vec<PaymentRow> = sqlx::query_as(
        "SELECT id, invoice_id, amount_minor, paid_on, reference, recorded_by, recorded_at \
         FROM invoice_payments WHERE invoice_id = $1 ORDER BY id",
    )
    .bind(invoice_id)
    .fetch_all(db)
    .await?;
    rows.into_iter()
        .map(
            |(id, invoice_id, amount, paid_on, reference, recorded_by, recorded_at)| {
                Ok(Payment {
                    id,
                    invoice_id,
                    amount,
                    paid_on: date_from_text(&paid_on)?,
                    reference,
                    recorded_by,
                    recorded_at: instant_from_millis(recorded_at)?,
                })
            },
        )
        .collect()
}
