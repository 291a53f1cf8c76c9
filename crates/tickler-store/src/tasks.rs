//! Tasks: to-dos for a person, each made once from its source (a plan step's reminder, a
//! customer's answer, an expired quote).

use jiff::{Timestamp, civil::Date};
use serde::Serialize;
use sqlx::AssertSqlSafe;
use tickler_core::{
    subject::{SubjectKind, SubjectRef},
    task::TaskStatus,
};

use crate::{Db, StoreError, date_from_text, instant_from_millis, time::millis};

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Task {
    pub id: i64,
    pub contract_id: Option<i64>,
    pub about: SubjectRef,
    /// What made it, e.g. `reminder:42`.
    pub source: String,
    pub title: String,
    pub owner_id: Option<i64>,
    pub due_date: Date,
    pub status: TaskStatus,
    /// The note of whoever did it, or why it was cancelled.
    pub note: Option<String>,
    pub closed_at: Option<Timestamp>,
    pub closed_by: Option<String>,
    pub escalated_at: Option<Timestamp>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

pub struct NewTask<'a> {
    pub contract_id: Option<i64>,
    pub about: SubjectRef,
    pub source: &'a str,
    pub title: &'a str,
    pub owner_id: Option<i64>,
    pub due_date: Date,
}

/// Stores a new open task; `None` when its source already made one (a task is made once).
pub async fn insert(
    db: &mut Db,
    new: &NewTask<'_>,
    now: Timestamp,
) -> Result<Option<i64>, StoreError> {
    Ok(sqlx::query_scalar(
        "INSERT INTO tasks (contract_id, subject_type, subject_id, source, title, owner_id, \
         due_date, status, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, 'open', $8, $8) \
         ON CONFLICT (source) DO NOTHING RETURNING id",
    )
    .bind(new.contract_id)
    .bind(new.about.kind.as_str())
    .bind(new.about.id)
    .bind(new.source)
    .bind(new.title)
    .bind(new.owner_id)
    .bind(new.due_date.to_string())
    .bind(millis(now))
    .fetch_optional(db)
    .await?)
}

const SELECT: &str = "SELECT id, contract_id, subject_type, subject_id, source, title, owner_id, \
     due_date, status, note, closed_at, closed_by, escalated_at, created_at, updated_at FROM tasks";

type TaskRow = (
    i64,
    Option<i64>,
    String,
    i64,
    String,
    String,
    Option<i64>,
    String,
    String,
    Option<String>,
    Option<i64>,
    Option<String>,
    Option<i64>,
    i64,
    i64,
);

fn from_row(row: TaskRow) -> Result<Task, StoreError> {
    let (
        id,
        contract_id,
        subject_type,
        subject_id,
        source,
        title,
        owner_id,
        due,
        status,
        note,
        closed_at,
        closed_by,
        escalated_at,
        created,
        updated,
    ) = row;
    let corrupt = |what: String| StoreError::Corrupt(format!("task {id}: {what}"));
    Ok(Task {
        id,
        contract_id,
        about: SubjectRef {
            kind: subject_type
                .parse::<SubjectKind>()
                .map_err(|e| corrupt(e.to_string()))?,
            id: subject_id,
        },
        source,
        title,
        owner_id,
        due_date: date_from_text(&due)?,
        status: status.parse().map_err(|e| corrupt(format!("{e}")))?,
        note,
        closed_at: closed_at.map(instant_from_millis).transpose()?,
        closed_by,
        escalated_at: escalated_at.map(instant_from_millis).transpose()?,
        created_at: instant_from_millis(created)?,
        updated_at: instant_from_millis(updated)?,
    })
}

pub async fn get(db: &mut Db, id: i64) -> Result<Task, StoreError> {
    let row: Option<TaskRow> = sqlx::query_as(AssertSqlSafe(format!("{SELECT} WHERE id = $1")))
        .bind(id)
        .fetch_optional(db)
        .await?;
    row.map(from_row)
        .transpose()?
        .ok_or_else(|| StoreError::not_found("task", id))
}

/// Which tasks a list shows; empty fields do not filter.
#[derive(Debug, Clone, Default)]
pub struct TaskFilter {
    pub owner_id: Option<i64>,
    pub status: Option<TaskStatus>,
    pub contract_id: Option<i64>,
    /// Only tasks due on or before this date.
    pub due_by: Option<Date>,
    /// Only tasks due on or after this date.
    pub due_from: Option<Date>,
    pub limit: Option<i64>,
}

/// Tasks by due date, then id.
pub async fn list(db: &mut Db, filter: &TaskFilter) -> Result<Vec<Task>, StoreError> {
    Ok(list_items(db, filter)
        .await?
        .into_iter()
        .map(|item| item.task)
        .collect())
}

/// A task as lists show it: with its contract, customer and owner by name.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TaskItem {
    #[serde(flatten)]
    pub task: Task,
    pub contract_title: Option<String>,
    pub customer_name: Option<String>,
    pub owner_email: Option<String>,
    pub owner_name: Option<String>,
}

/// The conditions of a filter and their arguments; only the filters in use appear, so the
/// database can use its indexes (`tasks_open_due`, `tasks_owner`): an open task's agenda of
/// a few weeks reads that range, not every task.
fn filter_sql(filter: &TaskFilter) -> (String, Vec<Arg>) {
    let mut conditions: Vec<String> = Vec::new();
    let mut args = Vec::new();
    let mut add = |condition: &str, arg: Arg| {
        args.push(arg);
        conditions.push(condition.replace('?', &format!("${}", args.len())));
    };
    if let Some(owner) = filter.owner_id {
        add("t.owner_id = ?", Arg::Int(owner));
    }
    if let Some(status) = filter.status {
        add("t.status = ?", Arg::Text(status.as_str().to_string()));
    }
    if let Some(contract) = filter.contract_id {
        add("t.contract_id = ?", Arg::Int(contract));
    }
    if let Some(by) = filter.due_by {
        add("t.due_date <= ?", Arg::Text(by.to_string()));
    }
    if let Some(from) = filter.due_from {
        add("t.due_date >= ?", Arg::Text(from.to_string()));
    }
    let clause = if conditions.is_empty() {
        String::new()
    } else {
        format!("WHERE {}", conditions.join(" AND "))
    };
    (clause, args)
}

enum Arg {
    Int(i64),
    Text(String),
}

/// Tasks by due date, then id, each with its contract title, customer name and owner: one
/// query for a page.
pub async fn list_items(db: &mut Db, filter: &TaskFilter) -> Result<Vec<TaskItem>, StoreError> {
    use sqlx::Row;
    let columns = SELECT
        .trim_start_matches("SELECT ")
        .trim_end_matches(" FROM tasks")
        .split(", ")
        .map(|column| format!("t.{column}"))
        .collect::<Vec<_>>()
        .join(", ");
    let (clause, args) = filter_sql(filter);
    let sql = format!(
        "SELECT {columns}, c.title, cu.name, u.email, u.name FROM tasks t \
         LEFT JOIN contracts c ON c.id = t.contract_id \
         LEFT JOIN customers cu ON cu.id = c.customer_id \
         LEFT JOIN users u ON u.id = t.owner_id \
         {clause} ORDER BY t.due_date, t.id LIMIT ${}",
        args.len() + 1
    );
    let mut query = sqlx::query(AssertSqlSafe(sql));
    for arg in args {
        query = match arg {
            Arg::Int(value) => query.bind(value),
            Arg::Text(value) => query.bind(value),
        };
    }
    let rows = query
        .bind(filter.limit.unwrap_or(i64::MAX))
        .fetch_all(db)
        .await?;
    rows.iter()
        .map(|row| -> Result<TaskItem, StoreError> {
            let task: TaskRow = (
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
                row.try_get(11)?,
                row.try_get(12)?,
                row.try_get(13)?,
                row.try_get(14)?,
            );
            Ok(TaskItem {
                task: from_row(task)?,
                contract_title: row.try_get(15)?,
                customer_name: row.try_get(16)?,
                owner_email: row.try_get(17)?,
                owner_name: row.try_get(18)?,
            })
        })
        .collect()
}

/// How many tasks a filter matches (its limit ignored), for the dashboard.
pub async fn count(db: &mut Db, filter: &TaskFilter) -> Result<i64, StoreError> {
    let (clause, args) = filter_sql(filter);
    let mut query = sqlx::query_scalar(AssertSqlSafe(format!(
        "SELECT COUNT(*) FROM tasks t {clause}"
    )));
    for arg in args {
        query = match arg {
            Arg::Int(value) => query.bind(value),
            Arg::Text(value) => query.bind(value),
        };
    }
    Ok(query.fetch_one(db).await?)
}

/// Closes an open task as done or cancelled, with a note; false if it was not open.
pub async fn close(
    db: &mut Db,
    id: i64,
    status: TaskStatus,
    note: Option<&str>,
    by: &str,
    now: Timestamp,
) -> Result<bool, StoreError> {
    let done = sqlx::query(
        "UPDATE tasks SET status = $1, note = $2, closed_at = $3, closed_by = $4, updated_at = $3 \
         WHERE id = $5 AND status = 'open'",
    )
    .bind(status.as_str())
    .bind(note)
    .bind(millis(now))
    .bind(by)
    .bind(id)
    .execute(db)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// The open tasks about a subject, for cancelling them when they no longer make sense.
pub async fn open_for_subject(db: &mut Db, about: SubjectRef) -> Result<Vec<Task>, StoreError> {
    let rows: Vec<TaskRow> = sqlx::query_as(AssertSqlSafe(format!(
        "{SELECT} WHERE subject_type = $1 AND subject_id = $2 AND status = 'open' ORDER BY id"
    )))
    .bind(about.kind.as_str())
    .bind(about.id)
    .fetch_all(db)
    .await?;
    rows.into_iter().map(from_row).collect()
}

/// Open tasks due on or before `due_by` not yet escalated: the candidates for escalation
/// (whether each is late enough depends on business days, which the caller counts).
pub async fn unescalated_open(
    db: &mut Db,
    due_by: Date,
    limit: i64,
) -> Result<Vec<Task>, StoreError> {
    let rows: Vec<TaskRow> = sqlx::query_as(AssertSqlSafe(format!(
        "{SELECT} WHERE status = 'open' AND escalated_at IS NULL AND due_date <= $1 \
         ORDER BY due_date, id LIMIT $2"
    )))
    .bind(due_by.to_string())
    .bind(limit)
    .fetch_all(db)
    .await?;
    rows.into_iter().map(from_row).collect()
}

/// Marks an open task escalated; false if it was escalated (or closed) meanwhile, so that
/// two dispatchers escalate it once.
pub async fn mark_escalated(db: &mut Db, id: i64, now: Timestamp) -> Result<bool, StoreError> {
    let done = sqlx::query(
        "UPDATE tasks SET escalated_at = $1, updated_at = $1 \
         WHERE id = $2 AND status = 'open' AND escalated_at IS NULL",
    )
    .bind(millis(now))
    .bind(id)
    .execute(db)
    .await?;
    Ok(done.rows_affected() == 1)
}
