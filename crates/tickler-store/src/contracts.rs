//! Contracts and their terms.

use jiff::{Timestamp, civil::Date};
use serde::Serialize;
use sqlx::AssertSqlSafe;

use crate::{
    Backend, Db, StoreError, batch, date_from_text, instant_from_millis, json_ints, time::millis,
};

pub use tickler_core::contract::{Contract, ContractStatus};
use tickler_core::renewal::{Answer, RenewalType};

pub struct NewContract<'a> {
    pub customer_id: i64,
    pub title: &'a str,
    pub owner_id: Option<i64>,
    pub plan_id: i64,
    pub start_date: Date,
    pub end_date: Date,
    pub amount_minor: Option<i64>,
    pub currency: Option<&'a str>,
    pub custom_fields: &'a serde_json::Map<String, serde_json::Value>,
    pub renewal: RenewalType,
    pub notice_days: Option<u32>,
}

/// Inserts the contract and its first term; returns the contract's id and that term, the
/// subject of its first reminders.
pub async fn insert(
    db: &mut Db,
    new: &NewContract<'_>,
    now: Timestamp,
) -> Result<(i64, ContractTerm), StoreError> {
    let custom = serde_json::Value::Object(new.custom_fields.clone()).to_string();
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO contracts (customer_id, title, owner_id, plan_id, status, term_number, \
         start_date, end_date, amount_minor, currency, custom_fields, renewal_type, notice_days, \
         created_at, updated_at) \
         VALUES ($1, $2, $3, $4, 'active', 1, $5, $6, $7, $8, $9, $10, $11, $12, $12) RETURNING id",
    )
    .bind(new.customer_id)
    .bind(new.title)
    .bind(new.owner_id)
    .bind(new.plan_id)
    .bind(new.start_date.to_string())
    .bind(new.end_date.to_string())
    .bind(new.amount_minor)
    .bind(new.currency)
    .bind(custom)
    .bind(new.renewal.as_str())
    .bind(new.notice_days.map(i64::from))
    .bind(millis(now))
    .fetch_one(&mut *db)
    .await?;
    let next = NextTerm {
        term_number: 1,
        start: new.start_date,
        end: new.end_date,
        previous_term_id: None,
        quote_id: None,
    };
    let term_id = insert_term(db, id, &next, now).await?;
    Ok((id, next.stored(term_id, id)))
}

/// [`insert`] for many contracts with few statements (an import): each contract with its
/// first term, in the order given, as stored.
pub async fn insert_many(
    db: &mut Db,
    new: &[NewContract<'_>],
    now: Timestamp,
) -> Result<Vec<(Contract, ContractTerm)>, StoreError> {
    const COLUMNS: usize = 15;
    const TERM_COLUMNS: usize = 7;
    let mut stored = Vec::with_capacity(new.len());
    for rows in new.chunks(batch::rows_per_statement(COLUMNS)) {
        let sql = format!(
            "INSERT INTO contracts (customer_id, title, owner_id, plan_id, status, term_number, \
             start_date, end_date, amount_minor, currency, custom_fields, renewal_type, \
             notice_days, created_at, updated_at) VALUES {}{}",
            batch::values(db, rows.len(), COLUMNS),
            batch::returning_id(db)
        );
        let mut query = sqlx::query(AssertSqlSafe(sql));
        for row in rows {
            query = query
                .bind(row.customer_id)
                .bind(row.title)
                .bind(row.owner_id)
                .bind(row.plan_id)
                .bind("active")
                .bind(1i64)
                .bind(row.start_date.to_string())
                .bind(row.end_date.to_string())
                .bind(row.amount_minor)
                .bind(row.currency)
                .bind(serde_json::Value::Object(row.custom_fields.clone()).to_string())
                .bind(row.renewal.as_str())
                .bind(row.notice_days.map(i64::from))
                .bind(millis(now))
                .bind(millis(now));
        }
        let ids = batch::inserted_ids(db, "contracts", query, rows.len()).await?;
        let sql = format!(
            "INSERT INTO contract_terms (contract_id, term_number, start_date, end_date, \
             previous_term_id, quote_id, created_at) VALUES {}{}",
            batch::values(db, rows.len(), TERM_COLUMNS),
            batch::returning_id(db)
        );
        let mut query = sqlx::query(AssertSqlSafe(sql));
        for (id, row) in ids.iter().zip(rows) {
            query = query
                .bind(*id)
                .bind(1i64)
                .bind(row.start_date.to_string())
                .bind(row.end_date.to_string())
                .bind(None::<i64>)
                .bind(None::<i64>)
                .bind(millis(now));
        }
        let term_ids = batch::inserted_ids(db, "contract_terms", query, rows.len()).await?;
        for ((id, term_id), row) in ids.into_iter().zip(term_ids).zip(rows) {
            stored.push(row.stored(id, term_id, now));
        }
    }
    Ok(stored)
}

impl NewContract<'_> {
    /// The contract and its first term as [`insert_many`] stored them under these ids.
    fn stored(&self, id: i64, term_id: i64, now: Timestamp) -> (Contract, ContractTerm) {
        let term = NextTerm {
            term_number: 1,
            start: self.start_date,
            end: self.end_date,
            previous_term_id: None,
            quote_id: None,
        };
        let contract = Contract {
            id,
            customer_id: self.customer_id,
            title: self.title.to_string(),
            owner_id: self.owner_id,
            plan_id: self.plan_id,
            status: ContractStatus::Active,
            term_number: 1,
            start_date: self.start_date,
            end_date: self.end_date,
            amount_minor: self.amount_minor,
            currency: self.currency.map(str::to_string),
            custom_fields: self.custom_fields.clone(),
            renewal: self.renewal,
            notice_days: self.notice_days,
            answer: None,
            // As read back: stored in milliseconds.
            created_at: instant_from_millis(millis(now)).unwrap_or(now),
            updated_at: instant_from_millis(millis(now)).unwrap_or(now),
        };
        (contract, term.stored(term_id, id))
    }
}

/// A term about to be stored: the first, or the one after `previous_term_id`.
#[derive(Debug, Clone, Copy)]
pub struct NextTerm {
    pub term_number: i32,
    pub start: Date,
    pub end: Date,
    pub previous_term_id: Option<i64>,
    /// The accepted quote that started it.
    pub quote_id: Option<i64>,
}

impl NextTerm {
    fn stored(&self, id: i64, contract_id: i64) -> ContractTerm {
        ContractTerm {
            id,
            contract_id,
            term_number: self.term_number,
            start_date: self.start,
            end_date: self.end,
            previous_term_id: self.previous_term_id,
            quote_id: self.quote_id,
            answer: None,
            answered_at: None,
        }
    }
}

async fn insert_term(
    db: &mut Db,
    contract_id: i64,
    next: &NextTerm,
    now: Timestamp,
) -> Result<i64, StoreError> {
    Ok(sqlx::query_scalar(
        "INSERT INTO contract_terms (contract_id, term_number, start_date, end_date, \
         previous_term_id, quote_id, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
    )
    .bind(contract_id)
    .bind(i64::from(next.term_number))
    .bind(next.start.to_string())
    .bind(next.end.to_string())
    .bind(next.previous_term_id)
    .bind(next.quote_id)
    .bind(millis(now))
    .fetch_one(db)
    .await?)
}

/// One term of a contract: the subject of its renewal reminders.
#[derive(Debug, Clone, Serialize)]
pub struct ContractTerm {
    pub id: i64,
    pub contract_id: i64,
    pub term_number: i32,
    pub start_date: Date,
    pub end_date: Date,
    /// The term this one renewed; none for the first.
    pub previous_term_id: Option<i64>,
    /// The accepted quote that started this term.
    pub quote_id: Option<i64>,
    /// What the customer answered about renewing this term.
    pub answer: Option<Answer>,
    pub answered_at: Option<Timestamp>,
}

const TERM_COLUMNS: &str = "id, contract_id, term_number, start_date, end_date, previous_term_id, quote_id, answer, \
     answered_at";

type TermRow = (
    i64,
    i64,
    i64,
    String,
    String,
    Option<i64>,
    Option<i64>,
    Option<String>,
    Option<i64>,
);

fn term_of(row: TermRow) -> Result<ContractTerm, StoreError> {
    let (id, contract_id, term_number, start, end, previous_term_id, quote_id, answer, answered) =
        row;
    let corrupt = |what: String| StoreError::Corrupt(format!("contract term {id}: {what}"));
    Ok(ContractTerm {
        id,
        contract_id,
        term_number: i32::try_from(term_number).map_err(|e| corrupt(e.to_string()))?,
        start_date: date_from_text(&start)?,
        end_date: date_from_text(&end)?,
        previous_term_id,
        quote_id,
        answer: answer
            .map(|a| a.parse::<Answer>())
            .transpose()
            .map_err(|e| corrupt(e.to_string()))?,
        answered_at: answered.map(instant_from_millis).transpose()?,
    })
}

/// The term with this id.
pub async fn term(db: &mut Db, id: i64) -> Result<ContractTerm, StoreError> {
    let row: Option<TermRow> = sqlx::query_as(AssertSqlSafe(format!(
        "SELECT {TERM_COLUMNS} FROM contract_terms WHERE id = $1"
    )))
    .bind(id)
    .fetch_optional(db)
    .await?;
    row.map(term_of)
        .transpose()?
        .ok_or_else(|| StoreError::not_found("contract term", id))
}

/// The terms of `ids` that exist, in no particular order: one query for a dispatcher's batch.
pub async fn terms_by_ids(db: &mut Db, ids: &[i64]) -> Result<Vec<ContractTerm>, StoreError> {
    let rows: Vec<TermRow> = sqlx::query_as(AssertSqlSafe(format!(
        "SELECT {TERM_COLUMNS} FROM contract_terms WHERE {}",
        Backend::of(db).in_ids("id", "$1")
    )))
    .bind(json_ints(ids.iter().copied()))
    .fetch_all(db)
    .await?;
    rows.into_iter().map(term_of).collect()
}

/// The contract's current term.
pub async fn current_term(db: &mut Db, contract: &Contract) -> Result<ContractTerm, StoreError> {
    let row: Option<TermRow> = sqlx::query_as(AssertSqlSafe(format!(
        "SELECT {TERM_COLUMNS} FROM contract_terms WHERE contract_id = $1 AND term_number = $2"
    )))
    .bind(contract.id)
    .bind(i64::from(contract.term_number))
    .fetch_optional(db)
    .await?;
    row.map(term_of).transpose()?.ok_or_else(|| {
        StoreError::Corrupt(format!(
            "contract {} has no row for its current term {}",
            contract.id, contract.term_number
        ))
    })
}

/// Every term of a contract, the first first.
pub async fn terms(db: &mut Db, contract_id: i64) -> Result<Vec<ContractTerm>, StoreError> {
    let rows: Vec<TermRow> = sqlx::query_as(AssertSqlSafe(format!(
        "SELECT {TERM_COLUMNS} FROM contract_terms WHERE contract_id = $1 ORDER BY term_number"
    )))
    .bind(contract_id)
    .fetch_all(db)
    .await?;
    rows.into_iter().map(term_of).collect()
}

/// Makes `next` the contract's current term; returns it as stored. Two renewals of the same
/// term cannot both succeed: the second breaks the unique (contract, term number) key.
pub async fn start_term(
    db: &mut Db,
    contract_id: i64,
    next: &NextTerm,
    now: Timestamp,
) -> Result<ContractTerm, StoreError> {
    let term_id = insert_term(db, contract_id, next, now).await?;
    sqlx::query(
        "UPDATE contracts SET term_number = $1, start_date = $2, end_date = $3, updated_at = $4 \
         WHERE id = $5",
    )
    .bind(i64::from(next.term_number))
    .bind(next.start.to_string())
    .bind(next.end.to_string())
    .bind(millis(now))
    .bind(contract_id)
    .execute(db)
    .await?;
    Ok(next.stored(term_id, contract_id))
}

/// Records the customer's answer about renewing a term, and makes it the contract's latest.
/// A term's decision (renew, decline) is taken once: returns false, changing nothing, when
/// the term already has one; a quote request may be followed by a decision.
pub async fn record_answer(
    db: &mut Db,
    term: &ContractTerm,
    answer: Answer,
    by: &str,
    note: Option<&str>,
    now: Timestamp,
) -> Result<bool, StoreError> {
    let updated = sqlx::query(
        "UPDATE contract_terms SET answer = $1, answered_at = $2, answered_by = $3, \
         answer_note = $4 WHERE id = $5 AND (answer IS NULL OR (answer = 'quote' AND $1 <> 'quote'))",
    )
    .bind(answer.as_str())
    .bind(millis(now))
    .bind(by)
    .bind(note)
    .bind(term.id)
    .execute(&mut *db)
    .await?
    .rows_affected();
    if updated == 0 {
        return Ok(false);
    }
    sqlx::query("UPDATE contracts SET answer = $1, updated_at = $2 WHERE id = $3")
        .bind(answer.as_str())
        .bind(millis(now))
        .bind(term.contract_id)
        .execute(db)
        .await?;
    Ok(true)
}

/// Forgets the contract's latest answer when a new term starts for another reason than the
/// customer's "renew" (the team renewed a declined contract, a quote was accepted, the term
/// rolled on): a refusal belongs to the term it refused, and must not stop the next one from
/// renewing by itself.
pub async fn clear_answer_unless_renewed(
    db: &mut Db,
    id: i64,
    now: Timestamp,
) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE contracts SET answer = NULL, updated_at = $1 \
         WHERE id = $2 AND answer IS NOT NULL AND answer <> 'renew'",
    )
    .bind(millis(now))
    .bind(id)
    .execute(db)
    .await?;
    Ok(())
}

/// Changes how a contract renews.
pub async fn set_renewal(
    db: &mut Db,
    id: i64,
    renewal: RenewalType,
    notice_days: Option<u32>,
    now: Timestamp,
) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE contracts SET renewal_type = $1, notice_days = $2, updated_at = $3 WHERE id = $4",
    )
    .bind(renewal.as_str())
    .bind(notice_days.map(i64::from))
    .bind(millis(now))
    .bind(id)
    .execute(db)
    .await?;
    Ok(())
}

/// Active contracts that renew by themselves (auto, undeclined; evergreen) whose current
/// term ended before `before`: the next term is due. Ids in end-date order.
pub async fn rolling_due(db: &mut Db, before: Date, limit: i64) -> Result<Vec<i64>, StoreError> {
    Ok(sqlx::query_scalar(
        "SELECT id FROM contracts WHERE status = 'active' AND renewal_type <> 'expires' \
         AND end_date < $1 AND (answer IS NULL OR answer <> 'decline') ORDER BY end_date, id \
         LIMIT $2",
    )
    .bind(before.to_string())
    .bind(limit)
    .fetch_all(db)
    .await?)
}

/// Changes the dates of the current term.
pub async fn set_current_term_dates(
    db: &mut Db,
    contract: &Contract,
    start: Date,
    end: Date,
    now: Timestamp,
) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE contracts SET start_date = $1, end_date = $2, updated_at = $3 WHERE id = $4",
    )
    .bind(start.to_string())
    .bind(end.to_string())
    .bind(millis(now))
    .bind(contract.id)
    .execute(&mut *db)
    .await?;
    sqlx::query(
        "UPDATE contract_terms SET start_date = $1, end_date = $2 \
         WHERE contract_id = $3 AND term_number = $4",
    )
    .bind(start.to_string())
    .bind(end.to_string())
    .bind(contract.id)
    .bind(i64::from(contract.term_number))
    .execute(db)
    .await?;
    Ok(())
}

pub async fn set_status(
    db: &mut Db,
    id: i64,
    status: ContractStatus,
    now: Timestamp,
) -> Result<(), StoreError> {
    sqlx::query("UPDATE contracts SET status = $1, updated_at = $2 WHERE id = $3")
        .bind(status.as_str())
        .bind(millis(now))
        .bind(id)
        .execute(db)
        .await?;
    Ok(())
}

const SELECT: &str = "SELECT id, customer_id, title, owner_id, plan_id, status, term_number, \
     start_date, end_date, amount_minor, currency, custom_fields, created_at, updated_at, \
     renewal_type, notice_days, answer FROM contracts";

#[derive(sqlx::FromRow)]
struct ContractRow {
    id: i64,
    customer_id: i64,
    title: String,
    owner_id: Option<i64>,
    plan_id: i64,
    status: String,
    term_number: i64,
    start_date: String,
    end_date: String,
    amount_minor: Option<i64>,
    currency: Option<String>,
    custom_fields: String,
    created_at: i64,
    updated_at: i64,
    renewal_type: String,
    notice_days: Option<i64>,
    answer: Option<String>,
}

fn from_row(row: ContractRow) -> Result<Contract, StoreError> {
    let id = row.id;
    let corrupt = |what: String| StoreError::Corrupt(format!("contract {id}: {what}"));
    let custom = row.custom_fields;
    Ok(Contract {
        id,
        customer_id: row.customer_id,
        title: row.title,
        owner_id: row.owner_id,
        plan_id: row.plan_id,
        status: row.status.parse().map_err(|e| corrupt(format!("{e}")))?,
        term_number: i32::try_from(row.term_number).map_err(|e| corrupt(e.to_string()))?,
        start_date: date_from_text(&row.start_date)?,
        end_date: date_from_text(&row.end_date)?,
        amount_minor: row.amount_minor,
        currency: row.currency,
        custom_fields: match serde_json::from_str(&custom) {
            Ok(serde_json::Value::Object(map)) => map,
            _ => return Err(corrupt(format!("custom fields \"{custom}\""))),
        },
        renewal: row
            .renewal_type
            .parse()
            .map_err(|e| corrupt(format!("{e}")))?,
        notice_days: row
            .notice_days
            .map(u32::try_from)
            .transpose()
            .map_err(|e| corrupt(format!("notice days: {e}")))?,
        answer: row
            .answer
            .map(|a| a.parse::<Answer>())
            .transpose()
            .map_err(|e| corrupt(format!("{e}")))?,
        created_at: instant_from_millis(row.created_at)?,
        updated_at: instant_from_millis(row.updated_at)?,
    })
}

pub async fn get(db: &mut Db, id: i64) -> Result<Contract, StoreError> {
    let row: Option<ContractRow> = sqlx::query_as(AssertSqlSafe(format!("{SELECT} WHERE id = $1")))
        .bind(id)
        .fetch_optional(db)
        .await?;
    row.map(from_row)
        .transpose()?
        .ok_or_else(|| StoreError::not_found("contract", id))
}

/// The contracts of `ids` that exist, in no particular order: one query for a batch.
pub async fn get_many(db: &mut Db, ids: &[i64]) -> Result<Vec<Contract>, StoreError> {
    let rows: Vec<ContractRow> = sqlx::query_as(AssertSqlSafe(format!(
        "{SELECT} WHERE {}",
        Backend::of(db).in_ids("id", "$1")
    )))
    .bind(json_ints(ids.iter().copied()))
    .fetch_all(db)
    .await?;
    rows.into_iter().map(from_row).collect()
}

/// One page of contracts in id order, after `after_id`.
pub async fn list(db: &mut Db, after_id: i64, limit: i64) -> Result<Vec<Contract>, StoreError> {
    let rows: Vec<ContractRow> = sqlx::query_as(AssertSqlSafe(format!(
        "{SELECT} WHERE id > $1 ORDER BY id LIMIT $2"
    )))
    .bind(after_id)
    .bind(limit)
    .fetch_all(db)
    .await?;
    rows.into_iter().map(from_row).collect()
}

/// Changes what a contract is called, who owns it and which plan it follows.
pub async fn update_details(
    db: &mut Db,
    id: i64,
    title: &str,
    owner_id: Option<i64>,
    plan_id: i64,
    now: Timestamp,
) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE contracts SET title = $1, owner_id = $2, plan_id = $3, updated_at = $4 WHERE id = $5",
    )
    .bind(title)
    .bind(owner_id)
    .bind(plan_id)
    .bind(millis(now))
    .bind(id)
    .execute(db)
    .await?;
    Ok(())
}

/// The active contracts of a customer, whose reminders follow the customer's details.
pub async fn active_ids_for_customer(
    db: &mut Db,
    customer_id: i64,
) -> Result<Vec<i64>, StoreError> {
    Ok(sqlx::query_scalar(
        "SELECT id FROM contracts WHERE customer_id = $1 AND status = 'active' ORDER BY id",
    )
    .bind(customer_id)
    .fetch_all(db)
    .await?)
}

/// Active contracts whose current term ends in `from..=until`, soonest first.
pub async fn expiring(
    db: &mut Db,
    from: Date,
    until: Date,
    owner_id: Option<i64>,
    limit: i64,
) -> Result<Vec<Contract>, StoreError> {
    let sql = format!(
        "{SELECT} WHERE status = 'active' AND end_date >= $1 AND end_date <= $2{} \
         ORDER BY end_date, id LIMIT $3",
        if owner_id.is_some() {
            " AND owner_id = $4"
        } else {
            ""
        }
    );
    let mut query = sqlx::query_as::<_, ContractRow>(AssertSqlSafe(sql))
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
        .map(from_row)
        .collect()
}

/// Active auto-renewing contracts whose last day to cancel falls in `from..=until` (of one
/// owner's, with `owner_id`), by notice date, at most `limit`: the agenda's notice dates.
/// A notice date is the end date less the notice days, so for each notice length in use
/// (found by a loose scan of `contracts_notice`) the contracts are one range of end dates
/// on that index (migration 0027).
pub async fn notices_between(
    db: &mut Db,
    from: Date,
    until: Date,
    owner_id: Option<i64>,
    limit: i64,
) -> Result<Vec<Contract>, StoreError> {
    const AUTO: &str = "status = 'active' AND renewal_type = 'auto'";
    // Without statistics SQLite read every active contract by `contracts_status_end` rather
    // than the partial index: 1.6 s at 1,000,000 contracts against under 1 ms.
    let auto_contracts = Backend::of(db).through_index("contracts", "contracts_notice");
    let lengths: Vec<i64> = sqlx::query_scalar(AssertSqlSafe(format!(
        "WITH RECURSIVE lengths(days) AS ( \
           SELECT MIN(notice_days) FROM {auto_contracts} WHERE {AUTO} \
           UNION ALL \
           SELECT (SELECT MIN(notice_days) FROM {auto_contracts} WHERE {AUTO} \
                   AND notice_days > lengths.days) \
           FROM lengths WHERE days IS NOT NULL \
         ) SELECT days FROM lengths WHERE days IS NOT NULL LIMIT 10000"
    )))
    .fetch_all(&mut *db)
    .await?;
    // First the ids and end dates of each length's range (from the index alone without an
    // owner), then the whole rows of the earliest `limit` only: four notice lengths read in
    // full took four times a page of rows.
    let sql = format!(
        "SELECT id, end_date FROM {auto_contracts} WHERE {AUTO} AND notice_days = $1 \
         AND end_date >= $2 AND end_date <= $3{} ORDER BY end_date, id LIMIT $4",
        if owner_id.is_some() {
            " AND owner_id = $5"
        } else {
            ""
        }
    );
    let mut found: Vec<(Date, i64)> = Vec::new();
    for days in lengths {
        let span = jiff::Span::new().try_days(days).ok();
        let moved = |date: Date| span.and_then(|span| date.checked_add(span).ok());
        let (Some(first_end), Some(last_end)) = (moved(from), moved(until)) else {
            continue;
        };
        let mut query = sqlx::query_as::<_, (i64, String)>(AssertSqlSafe(sql.clone()))
            .bind(days)
            .bind(first_end.to_string())
            .bind(last_end.to_string())
            .bind(limit);
        if let Some(owner) = owner_id {
            query = query.bind(owner);
        }
        for (id, end) in query.fetch_all(&mut *db).await? {
            let end = date_from_text(&end)?;
            let notice = span
                .and_then(|span| end.checked_sub(span).ok())
                .unwrap_or(end);
            found.push((notice, id));
        }
    }
    found.sort();
    found.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
    if found.is_empty() {
        return Ok(Vec::new());
    }
    let rank: std::collections::HashMap<i64, usize> = found
        .iter()
        .enumerate()
        .map(|(i, (_, id))| (*id, i))
        .collect();
    let rows: Vec<ContractRow> = sqlx::query_as(AssertSqlSafe(format!(
        "{SELECT} WHERE {}",
        Backend::of(db).in_ids("id", "$1")
    )))
    .bind(json_ints(found.iter().map(|(_, id)| *id)))
    .fetch_all(&mut *db)
    .await?;
    let mut contracts = rows
        .into_iter()
        .map(from_row)
        .collect::<Result<Vec<_>, _>>()?;
    contracts.sort_by_key(|c| rank.get(&c.id).copied().unwrap_or(usize::MAX));
    Ok(contracts)
}

/// How many active contracts end in `from..=until` (of one owner's, with `owner_id`).
pub async fn count_expiring(
    db: &mut Db,
    from: Date,
    until: Date,
    owner_id: Option<i64>,
) -> Result<i64, StoreError> {
    let sql = format!(
        "SELECT COUNT(*) FROM contracts WHERE status = 'active' AND end_date >= $1 \
         AND end_date <= $2{}",
        if owner_id.is_some() {
            " AND owner_id = $3"
        } else {
            ""
        }
    );
    let mut query = sqlx::query_scalar(AssertSqlSafe(sql))
        .bind(from.to_string())
        .bind(until.to_string());
    if let Some(owner) = owner_id {
        query = query.bind(owner);
    }
    Ok(query.fetch_one(db).await?)
}

/// Changes a contract's amount (minor units and currency, or none) and custom fields.
pub async fn update_money_and_fields(
    db: &mut Db,
    id: i64,
    amount_minor: Option<i64>,
    currency: Option<&str>,
    custom_fields: &serde_json::Map<String, serde_json::Value>,
    now: Timestamp,
) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE contracts SET amount_minor = $1, currency = $2, custom_fields = $3, updated_at = $4 \
         WHERE id = $5",
    )
    .bind(amount_minor)
    .bind(currency)
    .bind(serde_json::Value::Object(custom_fields.clone()).to_string())
    .bind(millis(now))
    .bind(id)
    .execute(db)
    .await?;
    Ok(())
}
