//! Reminders: their schedule, people's edits, and the dispatcher's claims and completions.
//!
//! Every state change is a guarded `UPDATE ... WHERE status = ...` (and, for the dispatcher,
//! `AND attempts = ...`: fencing), so a stale actor changes nothing and learns it from the
//! returned row count.

use jiff::Timestamp;
use serde::Serialize;
use sqlx::AssertSqlSafe;
use tickler_core::{
    catch_up::{self, SequenceMember},
    event::{EventAction, EventSubject},
    plan::{Anchor, Mode},
    reminder::ReminderStatus,
    subject::{SubjectKind, SubjectRef},
};

use crate::{
    Backend, Db, StoreError, batch,
    browse::{
        Arg, Cursor, Page, Sql, bind_all, contract_search, keyset_condition, page_of, search_text,
    },
    events, instant_from_millis, json_ints,
    time::millis,
};

pub use tickler_core::reminder::ReminderKind;

#[derive(Debug, Clone, Serialize)]
pub struct Reminder {
    pub id: i64,
    /// What the reminder is about, its subject (not to be confused with the email's subject
    /// line): its unique key (with the step) and catch-up sequence.
    pub about: SubjectRef,
    /// The contract the subject belongs to, if any.
    pub contract_id: Option<i64>,
    pub kind: ReminderKind,
    /// The date a step counts from; `None` for a notice.
    pub anchor: Option<Anchor>,
    pub step_key: String,
    pub position: i32,
    pub label: String,
    pub template: String,
    pub offset_days: i32,
    pub mode: Mode,
    pub status: ReminderStatus,
    pub status_reason: Option<String>,
    pub send_at: Timestamp,
    pub send_at_edited: bool,
    pub due_at: Timestamp,
    pub to: Vec<String>,
    pub cc: Vec<String>,
    pub recipients_edited: bool,
    /// A person's wording; `None` renders the template.
    pub subject: Option<String>,
    pub body: Option<String>,
    pub message_id: String,
    pub attempts: i32,
    pub claimed_by: Option<String>,
    pub claimed_until: Option<Timestamp>,
    pub last_error: Option<String>,
    pub smtp_reply: Option<String>,
    pub sent_subject: Option<String>,
    pub sent_body: Option<String>,
    pub sent_at: Option<Timestamp>,
    pub lateness_ms: Option<i64>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

#[derive(sqlx::FromRow)]
struct ReminderRow {
    id: i64,
    subject_type: String,
    subject_id: i64,
    contract_id: Option<i64>,
    kind: String,
    anchor: Option<String>,
    step_key: String,
    position: i64,
    label: String,
    template: String,
    offset_days: i64,
    mode: String,
    status: String,
    status_reason: Option<String>,
    send_at: i64,
    send_at_edited: i64,
    due_at: i64,
    to_addrs: String,
    cc_addrs: String,
    recipients_edited: i64,
    subject: Option<String>,
    body: Option<String>,
    message_id: String,
    attempts: i64,
    claimed_by: Option<String>,
    claimed_until: Option<i64>,
    last_error: Option<String>,
    smtp_reply: Option<String>,
    sent_subject: Option<String>,
    sent_body: Option<String>,
    sent_at: Option<i64>,
    lateness_ms: Option<i64>,
    created_at: i64,
    updated_at: i64,
}

const COLUMNS: &str = "id, subject_type, subject_id, contract_id, kind, anchor, step_key, position, label, template, \
    offset_days, mode, status, status_reason, send_at, send_at_edited, due_at, to_addrs, cc_addrs, \
    recipients_edited, subject, body, message_id, attempts, claimed_by, claimed_until, last_error, \
    smtp_reply, sent_subject, sent_body, sent_at, lateness_ms, created_at, updated_at";

impl TryFrom<ReminderRow> for Reminder {
    type Error = StoreError;

    fn try_from(r: ReminderRow) -> Result<Self, StoreError> {
        let id = r.id;
        let corrupt = |what: String| StoreError::Corrupt(format!("reminder {id}: {what}"));
        let addresses = |json: &str| -> Result<Vec<String>, StoreError> {
            serde_json::from_str(json).map_err(|e| corrupt(format!("addresses {json}: {e}")))
        };
        let small = |n: i64| i32::try_from(n).map_err(|e| corrupt(e.to_string()));
        let optional_instant = |ms: Option<i64>| ms.map(instant_from_millis).transpose();
        Ok(Reminder {
            id,
            about: SubjectRef {
                kind: r
                    .subject_type
                    .parse()
                    .map_err(|e| corrupt(format!("{e}")))?,
                id: r.subject_id,
            },
            contract_id: r.contract_id,
            kind: r.kind.parse().map_err(|e| corrupt(format!("{e}")))?,
            anchor: r
                .anchor
                .map(|a| a.parse())
                .transpose()
                .map_err(|e| corrupt(format!("{e}")))?,
            step_key: r.step_key,
            position: small(r.position)?,
            label: r.label,
            template: r.template,
            offset_days: small(r.offset_days)?,
            mode: r.mode.parse().map_err(|e| corrupt(format!("{e}")))?,
            status: r.status.parse().map_err(|e| corrupt(format!("{e}")))?,
            status_reason: r.status_reason,
            send_at: instant_from_millis(r.send_at)?,
            send_at_edited: r.send_at_edited != 0,
            due_at: instant_from_millis(r.due_at)?,
            to: addresses(&r.to_addrs)?,
            cc: addresses(&r.cc_addrs)?,
            recipients_edited: r.recipients_edited != 0,
            subject: r.subject,
            body: r.body,
            message_id: r.message_id,
            attempts: small(r.attempts)?,
            claimed_by: r.claimed_by,
            claimed_until: optional_instant(r.claimed_until)?,
            last_error: r.last_error,
            smtp_reply: r.smtp_reply,
            sent_subject: r.sent_subject,
            sent_body: r.sent_body,
            sent_at: optional_instant(r.sent_at)?,
            lateness_ms: r.lateness_ms,
            created_at: instant_from_millis(r.created_at)?,
            updated_at: instant_from_millis(r.updated_at)?,
        })
    }
}

fn convert(rows: Vec<ReminderRow>) -> Result<Vec<Reminder>, StoreError> {
    rows.into_iter().map(Reminder::try_from).collect()
}

fn json_list(addresses: &[String]) -> String {
    serde_json::Value::from(addresses.to_vec()).to_string()
}

pub struct NewReminder<'a> {
    pub about: SubjectRef,
    pub contract_id: Option<i64>,
    pub kind: ReminderKind,
    pub anchor: Option<Anchor>,
    pub step_key: &'a str,
    pub position: i32,
    pub label: &'a str,
    pub template: &'a str,
    pub offset_days: i32,
    pub mode: Mode,
    pub send_at: Timestamp,
    pub to: &'a [String],
    pub cc: &'a [String],
    pub subject: Option<&'a str>,
    pub body: Option<&'a str>,
    pub message_id: &'a str,
}

pub async fn insert(db: &mut Db, new: &NewReminder<'_>, now: Timestamp) -> Result<i64, StoreError> {
    insert_many(db, &[(new, None)], now)
        .await?
        .pop()
        .ok_or_else(|| StoreError::Corrupt("an inserted reminder returned no id".to_string()))
}

/// [`insert`] for many reminders with few statements (an import); returns their ids in the
/// order given. A reminder given with a reason is stored `cancelled` with it (a step whose
/// instant had passed when it was planned) in the same statement: cancelling those with an
/// UPDATE afterwards took 18 of the 48 s of a 100,000-row import on PostgreSQL, whose
/// planner, without statistics on rows inserted in the same transaction, scanned the table.
pub async fn insert_many(
    db: &mut Db,
    new: &[(&NewReminder<'_>, Option<&str>)],
    now: Timestamp,
) -> Result<Vec<i64>, StoreError> {
    const COLUMNS: usize = 22;
    let mut ids = Vec::with_capacity(new.len());
    for rows in new.chunks(batch::rows_per_statement(COLUMNS)) {
        let sql = format!(
            "INSERT INTO reminders (subject_type, subject_id, contract_id, kind, step_key, \
             position, label, template, offset_days, mode, status, status_reason, send_at, \
             due_at, to_addrs, cc_addrs, subject, body, message_id, created_at, updated_at, \
             anchor) VALUES {}{}",
            batch::values(db, rows.len(), COLUMNS),
            batch::returning_id(db)
        );
        let mut query = sqlx::query(AssertSqlSafe(sql));
        for (row, cancelled) in rows {
            let status = match cancelled {
                Some(_) => ReminderStatus::Cancelled,
                None => ReminderStatus::Scheduled,
            };
            query = query
                .bind(row.about.kind.as_str())
                .bind(row.about.id)
                .bind(row.contract_id)
                .bind(row.kind.as_str())
                .bind(row.step_key)
                .bind(i64::from(row.position))
                .bind(row.label)
                .bind(row.template)
                .bind(i64::from(row.offset_days))
                .bind(row.mode.as_str())
                .bind(status.as_str())
                .bind(*cancelled)
                .bind(millis(row.send_at))
                .bind(millis(row.send_at))
                .bind(json_list(row.to))
                .bind(json_list(row.cc))
                .bind(row.subject)
                .bind(row.body)
                .bind(row.message_id)
                .bind(millis(now))
                .bind(millis(now))
                .bind(row.anchor.map(|a| a.as_str()));
        }
        ids.extend(batch::inserted_ids(db, "reminders", query, rows.len()).await?);
    }
    Ok(ids)
}

pub async fn get(db: &mut Db, id: i64) -> Result<Reminder, StoreError> {
    let row: Option<ReminderRow> = sqlx::query_as(AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM reminders WHERE id = $1"
    )))
    .bind(id)
    .fetch_optional(db)
    .await?;
    row.map(Reminder::try_from)
        .transpose()?
        .ok_or_else(|| StoreError::not_found("reminder", id))
}

/// Which reminders to list; all filters are optional and combine with AND.
#[derive(Debug, Clone, Default)]
pub struct ReminderFilter {
    pub contract_id: Option<i64>,
    pub status: Option<ReminderStatus>,
    /// Any of these statuses (in addition to `status`).
    pub statuses: Vec<ReminderStatus>,
    /// Reminders of contracts this user owns.
    pub owner_id: Option<i64>,
    pub step: Option<String>,
    pub mode: Option<Mode>,
    /// `send_at >= send_from`.
    pub send_from: Option<Timestamp>,
    /// `send_at < send_until`.
    pub send_until: Option<Timestamp>,
    /// Contract title or customer name contains this (case-insensitive).
    pub search: Option<String>,
    pub order: ReminderOrder,
    pub limit: Option<i64>,
    /// Where a keyset page starts: after or before this reminder in `order`. Pages never
    /// skip rows by count (OFFSET), so a deep page costs what the first does and rows
    /// inserted meanwhile neither repeat nor vanish between pages.
    pub cursor: Option<Cursor>,
}

/// How listed reminders are ordered.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum ReminderOrder {
    /// The order they go out: the review queue.
    #[default]
    SendAt,
    /// Most recently sent (or last tried) first: sent mail.
    LatestFirst,
}

/// The conditions (and their arguments) of a filter, its cursor aside; only the filters in
/// use appear, so the database can use its indexes.
fn filter_sql(db: &Db, filter: &ReminderFilter) -> Sql {
    let mut sql = Sql::new();
    if let Some(id) = filter.contract_id {
        let p = sql.param(Arg::Int(id));
        sql.conditions.push(format!("r.contract_id = {p}"));
    }
    let statuses: Vec<ReminderStatus> = filter
        .status
        .iter()
        .chain(&filter.statuses)
        .copied()
        .collect();
    if !statuses.is_empty() {
        let list: Vec<String> = statuses
            .iter()
            .map(|s| sql.param(Arg::Text(s.as_str().to_string())))
            .collect();
        sql.conditions
            .push(format!("r.status IN ({})", list.join(", ")));
    }
    if let Some(owner) = filter.owner_id {
        let p = sql.param(Arg::Int(owner));
        sql.conditions.push(format!(
            "r.contract_id IN (SELECT id FROM contracts WHERE owner_id = {p})"
        ));
    }
    if let Some(step) = &filter.step {
        let p = sql.param(Arg::Text(step.clone()));
        sql.conditions.push(format!("r.step_key = {p}"));
    }
    if let Some(mode) = filter.mode {
        let p = sql.param(Arg::Text(mode.as_str().to_string()));
        sql.conditions.push(format!("r.mode = {p}"));
    }
    if let Some(from) = filter.send_from {
        let p = sql.param(Arg::Int(millis(from)));
        sql.conditions.push(format!("r.send_at >= {p}"));
    }
    if let Some(until) = filter.send_until {
        let p = sql.param(Arg::Int(millis(until)));
        sql.conditions.push(format!("r.send_at < {p}"));
    }
    if let Some(search) = search_text(&filter.search) {
        let condition = contract_search(db, &mut sql, "r.contract_id", search);
        sql.conditions.push(condition);
    }
    sql
}

/// Reminders matching `filter`, in its order.
pub async fn list(db: &mut Db, filter: &ReminderFilter) -> Result<Vec<Reminder>, StoreError> {
    Ok(page(db, filter).await?.rows)
}

/// One keyset page of reminders matching `filter`, in its order.
pub async fn page(db: &mut Db, filter: &ReminderFilter) -> Result<Page<Reminder>, StoreError> {
    let mut sql = filter_sql(db, filter);
    // Each order reads an index that ends in the id (migration 0004).
    let (columns, descending) = match filter.order {
        ReminderOrder::SendAt => (["r.send_at", "r.id"], false),
        ReminderOrder::LatestFirst => (["r.updated_at", "r.id"], true),
    };
    let backwards = matches!(filter.cursor, Some(Cursor::Before(_)));
    let mut from_cursor = false;
    if let Some(Cursor::After(id) | Cursor::Before(id)) = filter.cursor {
        let key: Option<(i64, i64)> =
            sqlx::query_as("SELECT send_at, updated_at FROM reminders WHERE id = $1")
                .bind(id)
                .fetch_optional(&mut *db)
                .await?;
        if let Some((send_at, updated_at)) = key {
            let first = match filter.order {
                ReminderOrder::SendAt => send_at,
                ReminderOrder::LatestFirst => updated_at,
            };
            let key = vec![Arg::Int(first), Arg::Int(id)];
            keyset_condition(&mut sql, &columns, key, descending == backwards);
            from_cursor = true;
        }
    }
    let direction = if descending != (backwards && from_cursor) {
        " DESC"
    } else {
        ""
    };
    let order = columns.map(|c| format!("{c}{direction}")).join(", ");
    let limit = filter.limit.unwrap_or(i64::MAX).max(1);
    let clause = sql.where_clause();
    let p_limit = sql.param(Arg::Int(limit.saturating_add(1)));
    let columns = COLUMNS
        .split(", ")
        .map(|c| format!("r.{}", c.trim()))
        .collect::<Vec<_>>()
        .join(", ");
    let text =
        format!("SELECT {columns} FROM reminders r {clause} ORDER BY {order} LIMIT {p_limit}");
    let rows = bind_all!(
        sqlx::query_as::<_, ReminderRow>(AssertSqlSafe(text)),
        sql.args
    )
    .fetch_all(db)
    .await?;
    Ok(page_of(convert(rows)?, limit, backwards, from_cursor))
}

/// A scheduled reminder as the agenda page lists it: when, which step, about what and
/// whose, without rendering its email.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct ScheduledSend {
    pub id: i64,
    pub send_at: i64,
    pub label: String,
    /// The step's mode as stored: `auto`, `approval`, `internal` or `task`.
    pub mode: String,
    /// A person's wording of the subject line, if they edited it.
    pub subject: Option<String>,
    pub contract_title: Option<String>,
    pub customer_name: Option<String>,
    pub owner_id: Option<i64>,
}

/// Scheduled reminders sending in `from..until` (of one owner's contracts, with
/// `owner_id`), by send time: one query over `reminders_status_send_at` with the contract and
/// customer joined, where [`page`] and the engine's views load and render each one.
pub async fn scheduled_between(
    db: &mut Db,
    from: Timestamp,
    until: Timestamp,
    owner_id: Option<i64>,
    limit: i64,
) -> Result<Vec<ScheduledSend>, StoreError> {
    let sql = format!(
        "SELECT r.id, r.send_at, r.label, r.mode, r.subject, c.title AS contract_title, \
         cu.name AS customer_name, c.owner_id \
         FROM reminders r LEFT JOIN contracts c ON c.id = r.contract_id \
         LEFT JOIN customers cu ON cu.id = c.customer_id \
         WHERE r.status = 'scheduled' AND r.send_at >= $1 AND r.send_at < $2{} \
         ORDER BY r.send_at, r.id LIMIT $3",
        if owner_id.is_some() {
            " AND c.owner_id = $4"
        } else {
            ""
        }
    );
    let mut query = sqlx::query_as::<_, ScheduledSend>(AssertSqlSafe(sql))
        .bind(millis(from))
        .bind(millis(until))
        .bind(limit);
    if let Some(owner) = owner_id {
        query = query.bind(owner);
    }
    Ok(query.fetch_all(db).await?)
}

/// Counts above this are reported as `COUNT_CAP + 1`: "more than 10,000".
pub const COUNT_CAP: i64 = 10_000;

/// How many reminders match `filter` (its order, limit and offset aside), at most
/// [`COUNT_CAP`] + 1.
pub async fn count(db: &mut Db, filter: &ReminderFilter) -> Result<i64, StoreError> {
    let sql = filter_sql(db, filter);
    let clause = sql.where_clause();
    // Counting stops past the cap: a page needs "more than 10,000", not the exact number,
    // and counting every pending reminder of a large firm would cost a whole index scan.
    let text = format!(
        "SELECT COUNT(*) FROM (SELECT 1 FROM reminders r {clause} LIMIT {}) AS matching",
        COUNT_CAP + 1
    );
    Ok(
        bind_all!(sqlx::query_scalar::<_, i64>(AssertSqlSafe(text)), sql.args)
            .fetch_one(db)
            .await?,
    )
}

/// The plan reminders of one subject, in plan order.
pub async fn for_subject(db: &mut Db, subject: SubjectRef) -> Result<Vec<Reminder>, StoreError> {
    let rows: Vec<ReminderRow> = sqlx::query_as(AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM reminders WHERE subject_type = $1 AND subject_id = $2 \
         AND kind = 'step' ORDER BY position"
    )))
    .bind(subject.kind.as_str())
    .bind(subject.id)
    .fetch_all(db)
    .await?;
    convert(rows)
}

/// Moves a scheduled reminder to a new computed instant and recipients (a person's edits of
/// either are the caller's to keep). Returns false if it was no longer scheduled.
pub async fn reschedule(
    db: &mut Db,
    id: i64,
    send_at: Timestamp,
    to: &[String],
    cc: &[String],
    now: Timestamp,
) -> Result<bool, StoreError> {
    let done = sqlx::query(
        "UPDATE reminders SET send_at = $1, due_at = $1, to_addrs = $2, cc_addrs = $3, \
         updated_at = $4 WHERE id = $5 AND status = 'scheduled'",
    )
    .bind(millis(send_at))
    .bind(json_list(to))
    .bind(json_list(cc))
    .bind(millis(now))
    .bind(id)
    .execute(db)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// A person's changes to a scheduled reminder; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct Edit {
    pub subject: Option<String>,
    pub body: Option<String>,
    pub send_at: Option<Timestamp>,
    pub recipients: Option<(Vec<String>, Vec<String>)>,
}

/// Applies `edit` if the reminder is still scheduled; returns false otherwise.
pub async fn apply_edit(
    db: &mut Db,
    id: i64,
    edit: &Edit,
    now: Timestamp,
) -> Result<bool, StoreError> {
    let (to, cc) = match &edit.recipients {
        Some((to, cc)) => (Some(json_list(to)), Some(json_list(cc))),
        None => (None, None),
    };
    let done = sqlx::query(
        "UPDATE reminders SET \
           subject = COALESCE($1, subject), \
           body = COALESCE($2, body), \
           send_at = COALESCE($3, send_at), \
           due_at = COALESCE($3, due_at), \
           send_at_edited = CASE WHEN $3 IS NULL THEN send_at_edited ELSE 1 END, \
           to_addrs = COALESCE($4, to_addrs), \
           cc_addrs = COALESCE($5, cc_addrs), \
           recipients_edited = CASE WHEN $4 IS NULL THEN recipients_edited ELSE 1 END, \
           updated_at = $6 \
         WHERE id = $7 AND status = 'scheduled'",
    )
    .bind(edit.subject.as_deref())
    .bind(edit.body.as_deref())
    .bind(edit.send_at.map(millis))
    .bind(to)
    .bind(cc)
    .bind(millis(now))
    .bind(id)
    .execute(db)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Ends a scheduled reminder as skipped, cancelled or superseded, with the reason.
/// Returns false if it was no longer scheduled.
pub async fn close_scheduled(
    db: &mut Db,
    id: i64,
    status: ReminderStatus,
    reason: &str,
    now: Timestamp,
) -> Result<bool, StoreError> {
    let done = sqlx::query(
        "UPDATE reminders SET status = $1, status_reason = $2, updated_at = $3 \
         WHERE id = $4 AND status = 'scheduled'",
    )
    .bind(status.as_str())
    .bind(reason)
    .bind(millis(now))
    .bind(id)
    .execute(db)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Puts a skipped reminder back in the queue at its own send time, if it is still skipped
/// and that time is after `now`; false otherwise.
pub async fn reopen_skipped(db: &mut Db, id: i64, now: Timestamp) -> Result<bool, StoreError> {
    let done = sqlx::query(
        "UPDATE reminders SET status = 'scheduled', status_reason = NULL, due_at = send_at, \
         updated_at = $1 WHERE id = $2 AND status = 'skipped' AND send_at > $1",
    )
    .bind(millis(now))
    .bind(id)
    .execute(db)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Puts a reminder that was cancelled because its time had passed when its contract was
/// entered (`reason`) back in the queue, due at `now`: a person chose to send it late.
/// False if it is no longer so.
pub async fn reopen_missed(
    db: &mut Db,
    id: i64,
    reason: &str,
    now: Timestamp,
) -> Result<bool, StoreError> {
    let done = sqlx::query(
        "UPDATE reminders SET status = 'scheduled', status_reason = NULL, send_at = $1, \
         due_at = $1, send_at_edited = 1, updated_at = $1 \
         WHERE id = $2 AND status = 'cancelled' AND status_reason = $3",
    )
    .bind(millis(now))
    .bind(id)
    .bind(reason)
    .execute(db)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// A dispatcher's lease on the reminders it claims.
#[derive(Debug, Clone)]
pub struct Lease<'a> {
    pub worker: &'a str,
    pub until: Timestamp,
}

/// Claims up to `limit` reminders due at `now` for one dispatcher, in one short
/// transaction (`tx` must come from [`crate::Store::begin`]). Overdue earlier steps of a
/// sequence whose later step is due too are superseded on the way (DESIGN.md, catch-up).
/// Each claimed reminder comes back `sending`, with `attempts` bumped: that number fences
/// its completion.
pub async fn claim_due(
    tx: &mut Db,
    backend: Backend,
    now: Timestamp,
    lease: &Lease<'_>,
    limit: i64,
) -> Result<Vec<Reminder>, StoreError> {
    let lock = match backend {
        Backend::Postgres => " FOR UPDATE SKIP LOCKED",
        Backend::Sqlite => "",
    };
    let candidates: Vec<(i64, String, i64, String)> = sqlx::query_as(AssertSqlSafe(format!(
        "SELECT id, subject_type, subject_id, kind FROM reminders \
         WHERE status = 'scheduled' AND due_at <= $1 AND mode IN ('auto', 'internal') \
         ORDER BY due_at, id LIMIT $2{lock}"
    )))
    .bind(millis(now))
    .bind(limit)
    .fetch_all(&mut *tx)
    .await?;
    if candidates.is_empty() {
        return Ok(Vec::new());
    }

    // The catch-up rule looks at every step of each due step's subject: one fixed query per
    // kind of subject in the batch.
    let mut sequences: std::collections::BTreeMap<&str, Vec<i64>> = Default::default();
    for (_, kind, subject_id, _) in candidates.iter().filter(|c| c.3 == "step") {
        sequences
            .entry(kind.as_str())
            .or_default()
            .push(*subject_id);
    }
    let mut members = Vec::new();
    for (kind, subject_ids) in sequences {
        let siblings: Vec<(i64, i64, i64, String)> = sqlx::query_as(AssertSqlSafe(format!(
            "SELECT id, subject_id, send_at, status FROM reminders \
             WHERE kind = 'step' AND subject_type = $1 AND {}",
            backend.in_ids("subject_id", "$2")
        )))
        .bind(kind)
        .bind(json_ints(subject_ids))
        .fetch_all(&mut *tx)
        .await?;
        let kind: SubjectKind = kind
            .parse()
            .map_err(|e| StoreError::Corrupt(format!("reminder subject: {e}")))?;
        for (id, subject_id, send_at, status) in siblings {
            members.push(SequenceMember {
                id,
                sequence: SubjectRef {
                    kind,
                    id: subject_id,
                },
                send_at: instant_from_millis(send_at)?,
                status: status
                    .parse()
                    .map_err(|e| StoreError::Corrupt(format!("reminder {id}: {e}")))?,
            });
        }
    }
    let superseded = catch_up::superseded(now, &members);
    // Rows another claimer holds are left to it (it sees the same sequence and supersedes
    // them itself): waiting for them could deadlock two claimers that split one sequence.
    let mut closed: Vec<i64> = if superseded.is_empty() {
        Vec::new()
    } else {
        sqlx::query_scalar(AssertSqlSafe(format!(
            "UPDATE reminders SET status = 'superseded', \
             status_reason = 'a later step of the same subject is due too', updated_at = $1 \
             WHERE id IN (SELECT id FROM reminders WHERE {} \
             AND {status} = 'scheduled'{lock}) AND {status} = 'scheduled' RETURNING id",
            backend.in_ids("id", "$2"),
            status = backend.unindexed("status"),
        )))
        .bind(millis(now))
        .bind(json_ints(superseded.iter().copied()))
        .fetch_all(&mut *tx)
        .await?
    };
    closed.sort_unstable();
    for id in &closed {
        events::record(
            tx,
            now,
            events::SYSTEM,
            EventSubject::Reminder(*id),
            EventAction::Superseded,
            "catch-up: only the latest overdue step is sent",
        )
        .await?;
    }

    let claim_ids: Vec<i64> = candidates
        .iter()
        .filter(|c| !superseded.contains(&c.0))
        .map(|c| c.0)
        .collect();
    if claim_ids.is_empty() {
        return Ok(Vec::new());
    }
    let rows: Vec<ReminderRow> = sqlx::query_as(AssertSqlSafe(format!(
        "UPDATE reminders SET status = 'sending', claimed_by = $1, claimed_until = $2, \
         attempts = attempts + 1, updated_at = $3 \
         WHERE {} AND {} = 'scheduled' RETURNING {COLUMNS}",
        backend.in_ids("id", "$4"),
        backend.unindexed("status"),
    )))
    .bind(lease.worker)
    .bind(millis(lease.until))
    .bind(millis(now))
    .bind(json_ints(claim_ids))
    .fetch_all(&mut *tx)
    .await?;
    let mut claimed = convert(rows)?;
    claimed.sort_by_key(|r| (r.due_at, r.id));
    Ok(claimed)
}

/// Takes up to `limit` reminders that wait for a person (`approval` and `task` modes) and
/// whose time has come, and marks them alerted, in `tx` (from [`crate::Store::begin`]): the
/// caller queues the owner's notice in the same transaction, so each is alerted once across
/// all dispatchers. The reminders themselves stay `scheduled`, for a person to send or skip.
pub async fn take_due_alerts(
    tx: &mut Db,
    backend: Backend,
    now: Timestamp,
    limit: i64,
) -> Result<Vec<Reminder>, StoreError> {
    let lock = match backend {
        Backend::Postgres => " FOR UPDATE SKIP LOCKED",
        Backend::Sqlite => "",
    };
    let rows: Vec<ReminderRow> = sqlx::query_as(AssertSqlSafe(format!(
        "UPDATE reminders SET alerted_at = $1 WHERE id IN (SELECT id FROM reminders \
         WHERE status = 'scheduled' AND due_at <= $1 AND mode IN ('approval', 'task') \
         AND alerted_at IS NULL ORDER BY due_at, id LIMIT $2{lock}) \
         AND alerted_at IS NULL RETURNING {COLUMNS}"
    )))
    .bind(millis(now))
    .bind(limit)
    .fetch_all(tx)
    .await?;
    let mut taken = convert(rows)?;
    taken.sort_by_key(|r| (r.due_at, r.id));
    Ok(taken)
}

/// Claims one scheduled reminder, whatever its due time: a person's "send now".
pub async fn claim_one(
    db: &mut Db,
    id: i64,
    now: Timestamp,
    lease: &Lease<'_>,
) -> Result<Option<Reminder>, StoreError> {
    let row: Option<ReminderRow> = sqlx::query_as(AssertSqlSafe(format!(
        "UPDATE reminders SET status = 'sending', claimed_by = $1, claimed_until = $2, \
         attempts = attempts + 1, updated_at = $3 \
         WHERE id = $4 AND status = 'scheduled' RETURNING {COLUMNS}"
    )))
    .bind(lease.worker)
    .bind(millis(lease.until))
    .bind(millis(now))
    .bind(id)
    .fetch_optional(db)
    .await?;
    row.map(Reminder::try_from).transpose()
}

/// Gives a claimed reminder another Message-ID before its first send, if `attempt` still
/// holds the claim; false if it no longer does.
pub async fn adopt_message_id(
    db: &mut Db,
    id: i64,
    attempt: i32,
    message_id: &str,
) -> Result<bool, StoreError> {
    let changed = sqlx::query(
        "UPDATE reminders SET message_id = $1 WHERE id = $2 AND status = 'sending' AND attempts = $3",
    )
    .bind(message_id)
    .bind(id)
    .bind(attempt)
    .execute(db)
    .await?
    .rows_affected();
    Ok(changed == 1)
}

/// What was sent, for the record.
#[derive(Clone, Copy)]
pub struct SentRecord<'a> {
    pub subject: &'a str,
    pub body: &'a str,
    pub to: &'a [String],
    pub cc: &'a [String],
    pub smtp_reply: &'a str,
    pub sent_at: Timestamp,
}

/// Records one delivery, if this attempt still holds the claim.
pub async fn mark_sent(
    db: &mut Db,
    id: i64,
    attempt: i32,
    sent: &SentRecord<'_>,
) -> Result<bool, StoreError> {
    let one = Delivered {
        id,
        attempt,
        sent: *sent,
    };
    Ok(!mark_sent_many(db, std::slice::from_ref(&one))
        .await?
        .is_empty())
}

/// A delivery to record: which reminder, the attempt that sent it, and what was sent.
pub struct Delivered<'a> {
    pub id: i64,
    pub attempt: i32,
    pub sent: SentRecord<'a>,
}

/// Records deliveries, each only if its attempt still holds the claim, with one statement
/// for a whole batch; returns the ids recorded.
pub async fn mark_sent_many(
    db: &mut Db,
    delivered: &[Delivered<'_>],
) -> Result<Vec<i64>, StoreError> {
    // VALUES columns are named column1, column2, ... on both backends.
    const COLUMNS: usize = 8;
    let mut recorded = Vec::with_capacity(delivered.len());
    for rows in delivered.chunks(batch::rows_per_statement(COLUMNS)) {
        let sql = format!(
            "UPDATE reminders SET status = 'sent', sent_subject = v.column3, \
             sent_body = v.column4, to_addrs = v.column5, cc_addrs = v.column6, \
             smtp_reply = v.column7, sent_at = v.column8, \
             lateness_ms = v.column8 - reminders.send_at, claimed_by = NULL, \
             claimed_until = NULL, last_error = NULL, updated_at = v.column8 \
             FROM (VALUES {}) AS v \
             WHERE reminders.id = v.column1 AND reminders.status = 'sending' \
             AND reminders.attempts = v.column2 RETURNING reminders.id",
            batch::values(db, rows.len(), COLUMNS)
        );
        let mut query = sqlx::query_scalar::<_, i64>(AssertSqlSafe(sql));
        for Delivered { id, attempt, sent } in rows {
            query = query
                .bind(*id)
                .bind(i64::from(*attempt))
                .bind(sent.subject)
                .bind(sent.body)
                .bind(json_list(sent.to))
                .bind(json_list(sent.cc))
                .bind(sent.smtp_reply)
                .bind(millis(sent.sent_at));
        }
        recorded.extend(query.fetch_all(&mut *db).await?);
    }
    Ok(recorded)
}

/// Whether `attempt` already recorded this reminder as sent: after a commit whose answer was
/// lost (the connection dropped), the retry finds its own record instead of the claim.
pub async fn sent_by_attempt(db: &mut Db, id: i64, attempt: i32) -> Result<bool, StoreError> {
    let found: Option<i64> = sqlx::query_scalar(
        "SELECT id FROM reminders WHERE id = $1 AND status = 'sent' AND attempts = $2",
    )
    .bind(id)
    .bind(i64::from(attempt))
    .fetch_optional(db)
    .await?;
    Ok(found.is_some())
}

/// Puts a claimed reminder back to be tried again at `retry_at` (a transient failure, or a
/// dispatcher shutting down before it sent: then `retry_at` is now and no error).
pub async fn release(
    db: &mut Db,
    id: i64,
    attempt: i32,
    retry_at: Timestamp,
    error: Option<&str>,
    now: Timestamp,
) -> Result<bool, StoreError> {
    let done = sqlx::query(
        "UPDATE reminders SET status = 'scheduled', due_at = $1, last_error = COALESCE($2, last_error), \
         claimed_by = NULL, claimed_until = NULL, updated_at = $3 \
         WHERE id = $4 AND status = 'sending' AND attempts = $5",
    )
    .bind(millis(retry_at))
    .bind(error)
    .bind(millis(now))
    .bind(id)
    .bind(i64::from(attempt))
    .execute(db)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Ends a claimed reminder that cannot be delivered, or that a stop rule cancelled.
pub async fn finish_claimed(
    db: &mut Db,
    id: i64,
    attempt: i32,
    status: ReminderStatus,
    reason: &str,
    smtp_reply: Option<&str>,
    now: Timestamp,
) -> Result<bool, StoreError> {
    let done = sqlx::query(
        "UPDATE reminders SET status = $1, status_reason = $2, smtp_reply = COALESCE($3, smtp_reply), \
         last_error = CASE WHEN $1 = 'failed' THEN $2 ELSE last_error END, \
         claimed_by = NULL, claimed_until = NULL, updated_at = $4 \
         WHERE id = $5 AND status = 'sending' AND attempts = $6",
    )
    .bind(status.as_str())
    .bind(reason)
    .bind(smtp_reply)
    .bind(millis(now))
    .bind(id)
    .bind(i64::from(attempt))
    .execute(db)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Returns reminders whose lease ran out (their dispatcher died) to the queue, due at once.
pub async fn take_over_expired(db: &mut Db, now: Timestamp) -> Result<Vec<i64>, StoreError> {
    take_over_claims(
        db,
        now,
        now,
        "lease expired: the dispatcher holding it stopped",
    )
    .await
}

/// Returns to the queue every reminder being sent under a claim that runs out before
/// `expired_before`, noting `why`. Its Message-ID stays, so a re-send of a message that
/// did reach the server carries the same one.
pub async fn take_over_claims(
    db: &mut Db,
    now: Timestamp,
    expired_before: Timestamp,
    why: &str,
) -> Result<Vec<i64>, StoreError> {
    Ok(sqlx::query_scalar(
        "UPDATE reminders SET status = 'scheduled', due_at = $1, claimed_by = NULL, \
         claimed_until = NULL, last_error = $2, updated_at = $1 \
         WHERE status = 'sending' AND claimed_until < $3 RETURNING id",
    )
    .bind(millis(now))
    .bind(why)
    .bind(millis(expired_before))
    .fetch_all(db)
    .await?)
}

/// The reminders the dispatcher would send now (timed emails and team notices that are
/// due), with the instant each fell due, in that order.
pub async fn due_sendable_ids(
    db: &mut Db,
    now: Timestamp,
) -> Result<Vec<(i64, Timestamp)>, StoreError> {
    let rows: Vec<(i64, i64)> = sqlx::query_as(
        "SELECT id, due_at FROM reminders WHERE status = 'scheduled' \
         AND mode IN ('auto', 'internal') AND due_at <= $1 ORDER BY due_at, id",
    )
    .bind(millis(now))
    .fetch_all(db)
    .await?;
    rows.into_iter()
        .map(|(id, due)| Ok((id, instant_from_millis(due)?)))
        .collect()
}

/// The scheduled reminders that fall due in `[from, until)` (their first send, or their next
/// try after the mail server turned them away), of the contracts `owner_id` owns when given,
/// in the order the dispatcher takes them: what a preview of that window starts from. Steps
/// that wait for a person and whose owner was alerted already are left out: that alert is a
/// reminder of its own. Reads the partial index of pending reminders.
pub async fn due_between(
    db: &mut Db,
    from: Timestamp,
    until: Timestamp,
    owner_id: Option<i64>,
) -> Result<Vec<Reminder>, StoreError> {
    let owner = if owner_id.is_some() {
        " AND contract_id IN (SELECT id FROM contracts WHERE owner_id = $3)"
    } else {
        ""
    };
    let text = format!(
        "SELECT {COLUMNS} FROM reminders WHERE status = 'scheduled' \
         AND due_at >= $1 AND due_at < $2 \
         AND (mode IN ('auto', 'internal') OR alerted_at IS NULL){owner} ORDER BY due_at, id"
    );
    let mut query = sqlx::query_as::<_, ReminderRow>(AssertSqlSafe(text))
        .bind(millis(from))
        .bind(millis(until));
    if let Some(owner_id) = owner_id {
        query = query.bind(owner_id);
    }
    convert(query.fetch_all(db).await?)
}

/// The earliest instant at which a scheduled reminder will be due (to send, or to alert its
/// owner about), to sleep until then.
/// Claims whose lease runs out are the lease take-over job's concern, not a wake-up.
pub async fn next_wake_up(db: &mut Db) -> Result<Option<Timestamp>, StoreError> {
    let due: Option<i64> = sqlx::query_scalar(
        "SELECT MIN(due_at) FROM reminders WHERE status = 'scheduled' AND (mode IN ('auto', 'internal') OR alerted_at IS NULL)",
    )
    .fetch_one(&mut *db)
    .await?;
    due.map(instant_from_millis).transpose()
}

/// The queue as every dispatcher sees it, for monitoring: how many timed emails are due and
/// not yet claimed, since when the oldest of them waits, and how many are being sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueueStats {
    pub due: i64,
    pub oldest_due_at: Option<Timestamp>,
    pub sending: i64,
}

pub async fn queue_stats(db: &mut Db, now: Timestamp) -> Result<QueueStats, StoreError> {
    let (due, oldest): (i64, Option<i64>) = sqlx::query_as(
        "SELECT COUNT(*), MIN(due_at) FROM reminders \
         WHERE status = 'scheduled' AND due_at <= $1 AND mode IN ('auto', 'internal')",
    )
    .bind(millis(now))
    .fetch_one(&mut *db)
    .await?;
    let sending: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM reminders WHERE status = 'sending'")
            .fetch_one(&mut *db)
            .await?;
    Ok(QueueStats {
        due,
        oldest_due_at: oldest.map(instant_from_millis).transpose()?,
        sending,
    })
}

/// Takes a person's wording and recipients off a scheduled reminder, so it renders its
/// template again and the next resync gives it the computed recipients (an edited send time
/// stays). Returns false if it was no longer scheduled.
pub async fn reset_wording(db: &mut Db, id: i64, now: Timestamp) -> Result<bool, StoreError> {
    let done = sqlx::query(
        "UPDATE reminders SET subject = NULL, body = NULL, recipients_edited = 0, \
         updated_at = $1 WHERE id = $2 AND status = 'scheduled'",
    )
    .bind(millis(now))
    .bind(id)
    .execute(db)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// The history of one reminder, oldest first.
pub async fn history(db: &mut Db, id: i64) -> Result<Vec<events::Event>, StoreError> {
    let rows: Vec<(i64, i64, String, String, i64, String, String)> = sqlx::query_as(
        "SELECT id, at, actor, subject_type, subject_id, action, detail FROM events \
         WHERE subject_type = 'reminder' AND subject_id = $1 ORDER BY id",
    )
    .bind(id)
    .fetch_all(db)
    .await?;
    rows.into_iter()
        .map(
            |(id, at, actor, subject_type, subject_id, action, detail)| {
                Ok(events::Event {
                    id,
                    at: instant_from_millis(at)?,
                    actor,
                    subject_type,
                    subject_id,
                    action,
                    detail,
                })
            },
        )
        .collect()
}
