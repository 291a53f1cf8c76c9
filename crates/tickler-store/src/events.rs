//! The append-only audit trail: who or what did what to which object, when.

use jiff::Timestamp;
use serde::Serialize;
use sqlx::AssertSqlSafe;
use tickler_core::event::{EventAction, EventSubject};

use crate::{Db, StoreError, batch, time::millis};

/// The actor recorded for changes nobody asked for (schedules, the dispatcher).
pub const SYSTEM: &str = "system";

#[derive(Debug, Clone, Serialize)]
pub struct Event {
    pub id: i64,
    pub at: Timestamp,
    pub actor: String,
    pub subject_type: String,
    pub subject_id: i64,
    pub action: String,
    pub detail: String,
}

/// Appends one event: `actor` did `action` to `subject` at `at`.
pub async fn record(
    db: &mut Db,
    at: Timestamp,
    actor: &str,
    subject: EventSubject,
    action: EventAction,
    detail: &str,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO events (at, actor, subject_type, subject_id, action, detail) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(millis(at))
    .bind(actor)
    .bind(subject.kind())
    .bind(subject.id())
    .bind(action.as_str())
    .bind(detail)
    .execute(db)
    .await?;
    Ok(())
}

/// One event of [`record_many`].
pub struct NewEvent<'a> {
    pub subject: EventSubject,
    pub action: EventAction,
    pub detail: String,
    pub actor: &'a str,
}

/// [`record`] for many events at `at` with few statements (an import).
pub async fn record_many(
    db: &mut Db,
    at: Timestamp,
    new: &[NewEvent<'_>],
) -> Result<(), StoreError> {
    let timed: Vec<_> = new.iter().map(|event| (at, event)).collect();
    record_each(db, &timed).await
}

/// [`record`] for many events, each at its own time, with few statements (a dispatcher's
/// batch of deliveries).
pub async fn record_each(
    db: &mut Db,
    new: &[(Timestamp, &NewEvent<'_>)],
) -> Result<(), StoreError> {
    const COLUMNS: usize = 6;
    for rows in new.chunks(batch::rows_per_statement(COLUMNS)) {
        let sql = format!(
            "INSERT INTO events (at, actor, subject_type, subject_id, action, detail) VALUES {}",
            batch::values(db, rows.len(), COLUMNS)
        );
        let mut query = sqlx::query(AssertSqlSafe(sql));
        for (at, row) in rows {
            query = query
                .bind(millis(*at))
                .bind(row.actor)
                .bind(row.subject.kind())
                .bind(row.subject.id())
                .bind(row.action.as_str())
                .bind(row.detail.as_str());
        }
        query.execute(&mut *db).await?;
    }
    Ok(())
}

/// The history of a contract and of all its reminders, oldest first.
pub async fn for_contract(db: &mut Db, contract_id: i64) -> Result<Vec<Event>, StoreError> {
    let rows: Vec<EventRow> = sqlx::query_as(
        "SELECT id, at, actor, subject_type, subject_id, action, detail FROM events \
         WHERE (subject_type = 'contract' AND subject_id = $1) \
            OR (subject_type = 'reminder' AND subject_id IN \
                (SELECT id FROM reminders WHERE contract_id = $1)) \
         ORDER BY id",
    )
    .bind(contract_id)
    .fetch_all(db)
    .await?;
    rows.into_iter().map(event_of).collect()
}

/// The history of one object (a quote, an invoice), oldest first.
pub async fn for_subject(db: &mut Db, subject: EventSubject) -> Result<Vec<Event>, StoreError> {
    let rows: Vec<EventRow> = sqlx::query_as(
        "SELECT id, at, actor, subject_type, subject_id, action, detail FROM events \
         WHERE subject_type = $1 AND subject_id = $2 ORDER BY id",
    )
    .bind(subject.kind())
    .bind(subject.id())
    .fetch_all(db)
    .await?;
    rows.into_iter().map(event_of).collect()
}

/// (id, at, actor, subject type, subject id, action, detail).
type EventRow = (i64, i64, String, String, i64, String, String);

fn event_of(row: EventRow) -> Result<Event, StoreError> {
    let (id, at, actor, subject_type, subject_id, action, detail) = row;
    Ok(Event {
        id,
        at: crate::instant_from_millis(at)?,
        actor,
        subject_type,
        subject_id,
        action,
        detail,
    })
}
