//! What the morning digests are made of, read for the whole team at once (one query per list,
//! each on an index), and the record of which digests were decided: once per user per day.

use jiff::{Timestamp, civil::Date};
pub use tickler_core::digest::DayCounts;

use crate::{
    Db, StoreError,
    time::{date_from_text, instant_from_millis, millis},
};

/// The query of reminder lines: the reminder, its contract's owner, the contract, the instant
/// `$at`, its customer, its title and the step's label, for reminders matching `$rest`.
macro_rules! reminder_lines {
    ($at:literal, $rest:literal) => {
        concat!(
            "SELECT r.id, c.owner_id, c.id, ",
            $at,
            ", NULL, cu.name, c.title, r.label \
             FROM reminders r JOIN contracts c ON c.id = r.contract_id \
             JOIN customers cu ON cu.id = c.customer_id WHERE ",
            $rest
        )
    };
}

/// One line of one list, with the owner it belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DigestRow {
    /// The reminder, task, contract or invoice the line is about.
    pub id: i64,
    pub owner_id: Option<i64>,
    pub contract_id: Option<i64>,
    pub at: Option<Timestamp>,
    pub day: Option<Date>,
    pub customer: String,
    pub contract: String,
    /// The step's label, the task's title, the invoice's number, the answer.
    pub what: String,
}

type Row = (
    i64,
    Option<i64>,
    Option<i64>,
    Option<i64>,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
);

fn from_row(
    (id, owner_id, contract_id, at, day, customer, contract, what): Row,
) -> Result<DigestRow, StoreError> {
    Ok(DigestRow {
        id,
        owner_id,
        contract_id,
        at: at.map(instant_from_millis).transpose()?,
        day: day.as_deref().map(date_from_text).transpose()?,
        customer: customer.unwrap_or_default(),
        contract: contract.unwrap_or_default(),
        what: what.unwrap_or_default(),
    })
}

async fn rows(
    db: &mut Db,
    sql: &'static str,
    ints: &[i64],
    text: Option<&str>,
) -> Result<Vec<DigestRow>, StoreError> {
    let mut query = sqlx::query_as::<_, Row>(sql);
    for value in ints {
        query = query.bind(*value);
    }
    if let Some(text) = text {
        query = query.bind(text.to_string());
    }
    query
        .fetch_all(db)
        .await?
        .into_iter()
        .map(from_row)
        .collect()
}

/// Steps in approval mode whose time comes before `until`: they wait for a person.
pub async fn awaiting_approval(
    db: &mut Db,
    until: Timestamp,
) -> Result<Vec<DigestRow>, StoreError> {
    rows(
        db,
        reminder_lines!(
            "r.send_at",
            "r.status = 'scheduled' AND r.mode = 'approval' AND r.send_at < $1 ORDER BY r.send_at, r.id"
        ),
        &[millis(until)],
        None,
    )
    .await
}

/// Emails to customers and notices that failed for good in `[from, until)`.
pub async fn failed(
    db: &mut Db,
    from: Timestamp,
    until: Timestamp,
) -> Result<Vec<DigestRow>, StoreError> {
    rows(
        db,
        reminder_lines!(
            "r.updated_at",
            "r.status = 'failed' AND r.updated_at >= $1 AND r.updated_at < $2 ORDER BY r.updated_at, r.id"
        ),
        &[millis(from), millis(until)],
        None,
    )
    .await
}

/// Every open task, soonest due first.
pub async fn open_tasks(db: &mut Db) -> Result<Vec<DigestRow>, StoreError> {
    rows(
        db,
        "SELECT t.id, t.owner_id, t.contract_id, NULL, t.due_date, cu.name, c.title, t.title \
         FROM tasks t LEFT JOIN contracts c ON c.id = t.contract_id \
         LEFT JOIN customers cu ON cu.id = c.customer_id \
         WHERE t.status = 'open' ORDER BY t.due_date, t.id",
        &[],
        None,
    )
    .await
}

/// Steps in task mode whose time comes by `until`, not yet made tasks: the tasks a dispatch
/// run will have opened by then (for digests written in advance). The day is the step's send
/// date in the customer's zone, as the task's due date will be; here in UTC, close enough
/// for "open tasks".
pub async fn tasks_to_come(db: &mut Db, until: Timestamp) -> Result<Vec<DigestRow>, StoreError> {
    let mut found = rows(
        db,
        reminder_lines!(
            "r.send_at",
            "r.status = 'scheduled' AND r.mode = 'task' AND r.send_at <= $1 ORDER BY r.send_at, r.id"
        ),
        &[millis(until)],
        None,
    )
    .await?;
    for row in &mut found {
        row.day = row
            .at
            .take()
            .map(|at| at.to_zoned_datetime(jiff::tz::TimeZone::UTC).date());
    }
    Ok(found)
}

/// Active contracts whose current term ends from `first` to `last` (dates, inclusive) and
/// whose customer has not answered.
pub async fn expiring_unanswered(
    db: &mut Db,
    first: Date,
    last: Date,
) -> Result<Vec<DigestRow>, StoreError> {
    let (first, last) = (first.to_string(), last.to_string());
    let query = sqlx::query_as::<_, Row>(
        "SELECT c.id, c.owner_id, c.id, NULL, c.end_date, cu.name, c.title, NULL \
         FROM contracts c JOIN contract_terms t \
         ON t.contract_id = c.id AND t.term_number = c.term_number \
         JOIN customers cu ON cu.id = c.customer_id \
         WHERE c.status = 'active' AND c.end_date >= $1 AND c.end_date <= $2 \
         AND c.renewal_type <> 'evergreen' AND t.answer IS NULL \
         ORDER BY c.end_date, c.id",
    )
    .bind(first)
    .bind(last);
    query
        .fetch_all(db)
        .await?
        .into_iter()
        .map(from_row)
        .collect()
}

/// Issued invoices not paid by their due date, which is before `today`.
pub async fn overdue_invoices(db: &mut Db, today: Date) -> Result<Vec<DigestRow>, StoreError> {
    rows(
        db,
        "SELECT i.id, c.owner_id, c.id, NULL, i.due_date, cu.name, c.title, i.number \
         FROM invoices i JOIN contracts c ON c.id = i.contract_id \
         JOIN customers cu ON cu.id = i.customer_id \
         WHERE i.status = 'issued' AND i.due_date < $1 ORDER BY i.due_date, i.id",
        &[],
        Some(&today.to_string()),
    )
    .await
}

/// Customers' answers recorded in `[from, until)`.
pub async fn answers(
    db: &mut Db,
    from: Timestamp,
    until: Timestamp,
) -> Result<Vec<DigestRow>, StoreError> {
    rows(
        db,
        "SELECT c.id, c.owner_id, c.id, t.answered_at, NULL, cu.name, c.title, t.answer \
         FROM contract_terms t JOIN contracts c ON c.id = t.contract_id \
         JOIN customers cu ON cu.id = c.customer_id \
         WHERE t.answered_at >= $1 AND t.answered_at < $2 ORDER BY t.answered_at, t.id",
        &[millis(from), millis(until)],
        None,
    )
    .await
}

/// The team's counts of one day, `[from, until)`, `day` being its date.
pub async fn day_counts(
    db: &mut Db,
    from: Timestamp,
    until: Timestamp,
    day: Date,
) -> Result<DayCounts, StoreError> {
    let (from, until) = (millis(from), millis(until));
    let status_count = |status: &'static str| {
        sqlx::query_scalar::<_, i64>(
            "SELECT COUNT(*) FROM reminders WHERE status = $1 \
             AND updated_at >= $2 AND updated_at < $3",
        )
        .bind(status)
        .bind(from)
        .bind(until)
    };
    let sent = status_count("sent").fetch_one(&mut *db).await?;
    let failed = status_count("failed").fetch_one(&mut *db).await?;
    let skipped = status_count("skipped").fetch_one(&mut *db).await?;
    let answered = sqlx::query_scalar::<_, i64>(
        "SELECT COUNT(*) FROM contract_terms WHERE answered_at >= $1 AND answered_at < $2",
    )
    .bind(from)
    .bind(until)
    .fetch_one(&mut *db)
    .await?;
    let invoices_issued = sqlx::query_scalar::<_, i64>(
        "SELECT COUNT(*) FROM invoices WHERE issued_at >= $1 AND issued_at < $2",
    )
    .bind(from)
    .bind(until)
    .fetch_one(&mut *db)
    .await?;
    let invoices_paid = sqlx::query_scalar::<_, i64>(
        "SELECT COUNT(*) FROM invoices WHERE status = 'paid' AND id IN \
         (SELECT invoice_id FROM invoice_payments WHERE paid_on = $1)",
    )
    .bind(day.to_string())
    .fetch_one(&mut *db)
    .await?;
    Ok(DayCounts {
        sent,
        failed,
        skipped,
        answered,
        invoices_issued,
        invoices_paid,
    })
}

/// The (user, local day) digests decided since `since` (by creation): the ones not to decide
/// again.
pub async fn decided_since(db: &mut Db, since: Timestamp) -> Result<Vec<(i64, Date)>, StoreError> {
    let rows: Vec<(i64, String)> =
        sqlx::query_as("SELECT user_id, day FROM digests WHERE created_at >= $1")
            .bind(millis(since))
            .fetch_all(db)
            .await?;
    rows.into_iter()
        .map(|(user, day)| Ok((user, date_from_text(&day)?)))
        .collect()
}

/// Records that `user`'s digest of `day` was decided: carried by `reminder_id`, or nothing
/// to send. `false` when it was decided already (another dispatcher was first).
pub async fn record(
    db: &mut Db,
    user_id: i64,
    day: Date,
    reminder_id: Option<i64>,
    now: Timestamp,
) -> Result<bool, StoreError> {
    let done = sqlx::query(
        "INSERT INTO digests (user_id, day, reminder_id, created_at) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (user_id, day) DO NOTHING",
    )
    .bind(user_id)
    .bind(day.to_string())
    .bind(reminder_id)
    .bind(millis(now))
    .execute(db)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Names the reminder that carries `user`'s digest of `day`.
pub async fn attach_reminder(
    db: &mut Db,
    user_id: i64,
    day: Date,
    reminder_id: i64,
) -> Result<(), StoreError> {
    sqlx::query("UPDATE digests SET reminder_id = $1 WHERE user_id = $2 AND day = $3")
        .bind(reminder_id)
        .bind(user_id)
        .bind(day.to_string())
        .execute(db)
        .await?;
    Ok(())
}

/// Whether `user`'s digest of `day` is decided.
pub async fn is_decided(db: &mut Db, user_id: i64, day: Date) -> Result<bool, StoreError> {
    let found: Option<i64> =
        sqlx::query_scalar("SELECT user_id FROM digests WHERE user_id = $1 AND day = $2")
            .bind(user_id)
            .bind(day.to_string())
            .fetch_optional(db)
            .await?;
    Ok(found.is_some())
}
