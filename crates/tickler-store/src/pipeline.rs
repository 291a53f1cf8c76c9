//! The renewal pipeline's figures: contract value expiring per month by what became of each
//! term, emails sent and scheduled per quarter hour, and invoices per month of issue. Each is
//! one grouped query, of one owner's contracts or of everyone's.

use jiff::{Timestamp, civil::Date};
use sqlx::AssertSqlSafe;

use crate::{Backend, Db, StoreError, time::millis};

/// What became of a term that ends (or ended) in the window, as the pipeline splits them.
pub const RENEWED: &str = "renewed";
pub const ANSWERED_RENEW: &str = "answered_renew";
pub const DECLINED: &str = "declined";
pub const NO_ANSWER: &str = "no_answer";

/// An owner with fewer contracts than this has their figures read from their contracts (by
/// the owner index), then each one's terms, emails and invoices; a larger owner's, like
/// everyone's, from the window's rows, then each row's contract. Without statistics SQLite
/// cannot tell which is cheaper: at 1,000,000 contracts the window holds a third of a million
/// terms (1.1 s), while a salesperson with a thousand contracts has a few thousand rows.
pub const OWNER_FIRST_BELOW: i64 = 20_000;

/// Whose contracts the figures count, and so where their reading starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Whose {
    Everyone,
    /// An owner of fewer than [`OWNER_FIRST_BELOW`] contracts: read from their contracts.
    FewOf(i64),
    /// An owner of more: read from the window, as for everyone.
    ManyOf(i64),
}

impl Whose {
    /// Everyone's with `None`; else the owner's, after counting their contracts up to
    /// [`OWNER_FIRST_BELOW`] on the owner index.
    pub async fn of(db: &mut Db, owner_id: Option<i64>) -> Result<Whose, StoreError> {
        let Some(owner) = owner_id else {
            return Ok(Whose::Everyone);
        };
        let contracts: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM (SELECT 1 FROM contracts WHERE owner_id = $1 LIMIT $2) few",
        )
        .bind(owner)
        .bind(OWNER_FIRST_BELOW)
        .fetch_one(db)
        .await?;
        Ok(if contracts < OWNER_FIRST_BELOW {
            Whose::FewOf(owner)
        } else {
            Whose::ManyOf(owner)
        })
    }

    fn owner(self) -> Option<i64> {
        match self {
            Whose::Everyone => None,
            Whose::FewOf(owner) | Whose::ManyOf(owner) => Some(owner),
        }
    }

    /// The `FROM` clause joining `rows` (aliased `alias`, linked by `contract_id`) to their
    /// contracts `c`, in the order to read them (`CROSS JOIN` keeps SQLite's order;
    /// PostgreSQL plans it as any join), and the owner condition on parameter `owner_param`.
    fn joined_rows(self, rows: &str, alias: &str, owner_param: &str) -> (String, String) {
        match self {
            Whose::Everyone => (format!("{rows} {alias}"), String::new()),
            Whose::FewOf(_) => (
                format!("contracts c CROSS JOIN {rows} {alias}"),
                format!(" AND c.owner_id = {owner_param} AND {alias}.contract_id = c.id"),
            ),
            Whose::ManyOf(_) => (
                format!("{rows} {alias} CROSS JOIN contracts c"),
                format!(" AND c.owner_id = {owner_param} AND c.id = {alias}.contract_id"),
            ),
        }
    }
}

/// Terms of one month, currency and outcome.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct ExpiringGroup {
    /// "2027-03".
    pub month: String,
    /// `None` for contracts without an amount (counted, worth 0).
    pub currency: Option<String>,
    /// [`RENEWED`], [`ANSWERED_RENEW`], [`DECLINED`] or [`NO_ANSWER`].
    pub state: String,
    pub contracts: i64,
    pub amount_minor: i64,
}

/// The terms ending in `from..until` (civil dates, `until` excluded), grouped by month of
/// their end, the contract's currency and their outcome: renewed (a later term exists),
/// declined (the customer declined that term, or the contract was terminated), answered
/// renew (the customer's "renew" is recorded on the term, no later term yet), else no answer
/// yet (a quote request counts as no answer). A term's value is its contract's amount.
///
/// The terms of the window are read first (by end date), then their contracts; a small
/// owner's contracts first (see [`Whose`]). Window first, an owner of all 100,000 contracts
/// took 35 ms against 145 ms contracts first (sqlite3 CLI, no statistics).
pub async fn expiring_by_month(
    db: &mut Db,
    from: Date,
    until: Date,
    whose: Whose,
) -> Result<Vec<ExpiringGroup>, StoreError> {
    // Everyone's terms still need their contracts, for the amount and status.
    let (from_clause, owner) = match whose {
        Whose::Everyone => (
            "contract_terms t CROSS JOIN contracts c".to_string(),
            " AND c.id = t.contract_id".to_string(),
        ),
        _ => whose.joined_rows("contract_terms", "t", "$3"),
    };
    let sql = format!(
        "SELECT substr(t.end_date, 1, 7) AS month, c.currency AS currency, \
         CASE WHEN t.term_number < c.term_number THEN '{RENEWED}' \
              WHEN c.status = 'terminated' OR t.answer = 'decline' THEN '{DECLINED}' \
              WHEN t.answer = 'renew' THEN '{ANSWERED_RENEW}' \
              ELSE '{NO_ANSWER}' END AS state, \
         COUNT(*) AS contracts, CAST(COALESCE(SUM(c.amount_minor), 0) AS BIGINT) AS amount_minor \
         FROM {from_clause} \
         WHERE t.end_date >= $1 AND t.end_date < $2{owner} \
         GROUP BY 1, 2, 3 ORDER BY 1, 2, 3"
    );
    let mut query = sqlx::query_as::<_, ExpiringGroup>(AssertSqlSafe(sql))
        .bind(from.to_string())
        .bind(until.to_string());
    if let Some(owner) = whose.owner() {
        query = query.bind(owner);
    }
    Ok(query.fetch_all(db).await?)
}

/// Reminders sent in `from..until`, as (quarter hours since the epoch, count): the quarter
/// hours are summed into local days by `tickler_core::chart::local_day_counts`. Reminders
/// about no contract (digests) count for everyone's figures only.
pub async fn sent_by_quarter_hour(
    db: &mut Db,
    from: Timestamp,
    until: Timestamp,
    whose: Whose,
) -> Result<Vec<(i64, i64)>, StoreError> {
    // Through the index of sent instants (migration 0008's `reminders_sent_at`), not every
    // sent reminder's entry of a status index: sent reminders pile up.
    let status = format!("{} = 'sent'", Backend::of(db).unindexed("r.status"));
    by_quarter_hour(db, "sent_at", &status, from, until, whose).await
}

/// Reminders scheduled to go out in `from..until`, as [`sent_by_quarter_hour`].
pub async fn scheduled_by_quarter_hour(
    db: &mut Db,
    from: Timestamp,
    until: Timestamp,
    whose: Whose,
) -> Result<Vec<(i64, i64)>, StoreError> {
    by_quarter_hour(db, "send_at", "r.status = 'scheduled'", from, until, whose).await
}

async fn by_quarter_hour(
    db: &mut Db,
    column: &str,
    condition: &str,
    from: Timestamp,
    until: Timestamp,
    whose: Whose,
) -> Result<Vec<(i64, i64)>, StoreError> {
    let quarter = tickler_core::chart::QUARTER_HOUR_MS;
    let (from_clause, owner) = whose.joined_rows("reminders", "r", "$3");
    let sql = format!(
        "SELECT r.{column} / {quarter} AS bucket, COUNT(*) AS n FROM {from_clause} \
         WHERE {condition} AND r.{column} >= $1 AND r.{column} < $2{owner} \
         GROUP BY 1 ORDER BY 1"
    );
    let mut query = sqlx::query_as::<_, (i64, i64)>(AssertSqlSafe(sql))
        .bind(millis(from))
        .bind(millis(until));
    if let Some(owner) = whose.owner() {
        query = query.bind(owner);
    }
    Ok(query.fetch_all(db).await?)
}

/// Invoices of one month of issue and one state now.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct InvoiceGroup {
    /// "2027-03".
    pub month: String,
    /// "paid", "open" (issued, not yet due), "overdue" (issued, due before `today`), "void".
    pub state: String,
    pub invoices: i64,
}

/// Invoices issued in `from..until` (issue dates; drafts were never issued), by month of
/// issue and what they are now.
pub async fn invoices_by_month(
    db: &mut Db,
    from: Date,
    until: Date,
    today: Date,
    whose: Whose,
) -> Result<Vec<InvoiceGroup>, StoreError> {
    let (from_clause, owner) = whose.joined_rows("invoices", "i", "$4");
    let sql = format!(
        "SELECT substr(i.issue_date, 1, 7) AS month, \
         CASE WHEN i.status = 'paid' THEN 'paid' WHEN i.status = 'void' THEN 'void' \
              WHEN i.due_date < $3 THEN 'overdue' ELSE 'open' END AS state, \
         COUNT(*) AS invoices FROM {from_clause} \
         WHERE i.status <> 'draft' AND i.issue_date >= $1 AND i.issue_date < $2{owner} \
         GROUP BY 1, 2 ORDER BY 1, 2"
    );
    let mut query = sqlx::query_as::<_, InvoiceGroup>(AssertSqlSafe(sql))
        .bind(from.to_string())
        .bind(until.to_string())
        .bind(today.to_string());
    if let Some(owner) = whose.owner() {
        query = query.bind(owner);
    }
    Ok(query.fetch_all(db).await?)
}
