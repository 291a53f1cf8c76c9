//! Webhook endpoints, the outbox of events to announce, and their deliveries.
//!
//! [`enqueue`] runs inside the transaction of the change it announces. Deliveries are
//! claimed like reminders (a lease and a fencing attempt number), and a delivery is only
//! claimable while no earlier delivery about the same subject to the same endpoint is still
//! pending, so that a receiver sees each subject's events in the order they happened.

use jiff::{Timestamp, civil::Date};
use sqlx::AssertSqlSafe;

use crate::{
    Backend, Db, StoreError, batch, json_ints,
    reminders::Lease,
    time::{instant_from_millis, millis},
};

/// A receiver registered by an admin.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Endpoint {
    pub id: i64,
    pub url: String,
    #[serde(skip)]
    pub secret: String,
    /// Comma-separated event names.
    pub events: String,
    pub description: String,
    pub created_by: String,
    pub created_at: Timestamp,
    pub removed_at: Option<Timestamp>,
}

type EndpointRow = (
    i64,
    String,
    String,
    String,
    String,
    String,
    i64,
    Option<i64>,
);

fn endpoint_of(
    (id, url, secret, events, description, created_by, created, removed): EndpointRow,
) -> Result<Endpoint, StoreError> {
    Ok(Endpoint {
        id,
        url,
        secret,
        events,
        description,
        created_by,
        created_at: instant_from_millis(created)?,
        removed_at: removed.map(instant_from_millis).transpose()?,
    })
}

const ENDPOINT_COLUMNS: &str = "SELECT id, url, secret, events, description, created_by, created_at, removed_at \
     FROM webhook_endpoints";

/// What a new endpoint is made of.
pub struct NewEndpoint<'a> {
    pub url: &'a str,
    pub secret: &'a str,
    pub events: &'a str,
    pub description: &'a str,
    pub created_by: &'a str,
}

pub async fn insert_endpoint(
    db: &mut Db,
    new: &NewEndpoint<'_>,
    now: Timestamp,
) -> Result<i64, StoreError> {
    Ok(sqlx::query_scalar(
        "INSERT INTO webhook_endpoints (url, secret, events, description, created_by, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
    )
    .bind(new.url)
    .bind(new.secret)
    .bind(new.events)
    .bind(new.description)
    .bind(new.created_by)
    .bind(millis(now))
    .fetch_one(db)
    .await?)
}

/// The endpoints in use (and, if asked, the removed ones too), oldest first.
pub async fn endpoints(db: &mut Db, with_removed: bool) -> Result<Vec<Endpoint>, StoreError> {
    let filter = if with_removed {
        ""
    } else {
        " WHERE removed_at IS NULL"
    };
    let rows: Vec<EndpointRow> = sqlx::query_as(AssertSqlSafe(format!(
        "{ENDPOINT_COLUMNS}{filter} ORDER BY id"
    )))
    .fetch_all(db)
    .await?;
    rows.into_iter().map(endpoint_of).collect()
}

pub async fn endpoint(db: &mut Db, id: i64) -> Result<Option<Endpoint>, StoreError> {
    let row: Option<EndpointRow> =
        sqlx::query_as(AssertSqlSafe(format!("{ENDPOINT_COLUMNS} WHERE id = $1")))
            .bind(id)
            .fetch_optional(db)
            .await?;
    row.map(endpoint_of).transpose()
}

/// Takes an endpoint out of use; its pending deliveries fail with that reason. False if it
/// was not in use.
pub async fn remove_endpoint(db: &mut Db, id: i64, now: Timestamp) -> Result<bool, StoreError> {
    let removed = sqlx::query(
        "UPDATE webhook_endpoints SET removed_at = $1 WHERE id = $2 AND removed_at IS NULL",
    )
    .bind(millis(now))
    .bind(id)
    .execute(&mut *db)
    .await?
    .rows_affected();
    if removed == 1 {
        sqlx::query(
            "UPDATE webhook_deliveries SET status = 'failed', last_error = 'the endpoint was removed' \
             WHERE endpoint_id = $1 AND status = 'pending'",
        )
        .bind(id)
        .execute(&mut *db)
        .await?;
    }
    Ok(removed == 1)
}

/// An event to announce.
pub struct NewWebhookEvent {
    pub event_type: &'static str,
    pub subject_type: &'static str,
    pub subject_id: i64,
    /// The event's `data` object as JSON text.
    pub data: String,
}

/// An endpoint in use and the events it takes (comma-separated).
pub struct Subscriber {
    pub endpoint_id: i64,
    pub events: String,
}

impl Subscriber {
    /// Whether this endpoint receives events of `event_type`.
    pub fn takes(&self, event_type: &str) -> bool {
        self.events.split(',').any(|name| name == event_type)
    }
}

/// The endpoints in use, for [`enqueue`]: when there are none, nothing need be announced.
pub async fn subscribers(db: &mut Db) -> Result<Vec<Subscriber>, StoreError> {
    let rows: Vec<(i64, String)> =
        sqlx::query_as("SELECT id, events FROM webhook_endpoints WHERE removed_at IS NULL")
            .fetch_all(db)
            .await?;
    Ok(rows
        .into_iter()
        .map(|(endpoint_id, events)| Subscriber {
            endpoint_id,
            events,
        })
        .collect())
}

/// Writes `events` and one delivery per subscriber to each, inside the caller's
/// transaction; an event nobody subscribes to is not kept. Returns the deliveries made.
pub async fn enqueue(
    db: &mut Db,
    now: Timestamp,
    give_up_at: Timestamp,
    subscribers: &[Subscriber],
    events: &[NewWebhookEvent],
) -> Result<usize, StoreError> {
    let wanted: Vec<(&NewWebhookEvent, Vec<i64>)> = events
        .iter()
        .map(|event| {
            let endpoints = subscribers
                .iter()
                .filter(|s| s.takes(event.event_type))
                .map(|s| s.endpoint_id)
                .collect::<Vec<_>>();
            (event, endpoints)
        })
        .filter(|(_, endpoints)| !endpoints.is_empty())
        .collect();
    let mut made = 0;
    const EVENT_COLUMNS: usize = 5;
    const DELIVERY_COLUMNS: usize = 7;
    for chunk in wanted.chunks(batch::rows_per_statement(EVENT_COLUMNS)) {
        let sql = format!(
            "INSERT INTO webhook_events (event_type, subject_type, subject_id, occurred_at, data) \
             VALUES {}{}",
            batch::values(db, chunk.len(), EVENT_COLUMNS),
            batch::returning_id(db)
        );
        let mut query = sqlx::query(AssertSqlSafe(sql));
        for (event, _) in chunk {
            query = query
                .bind(event.event_type)
                .bind(event.subject_type)
                .bind(event.subject_id)
                .bind(millis(now))
                .bind(event.data.as_str());
        }
        let ids = batch::inserted_ids(db, "webhook_events", query, chunk.len()).await?;
        let deliveries: Vec<(i64, i64, &NewWebhookEvent)> = chunk
            .iter()
            .zip(ids)
            .flat_map(|((event, endpoints), id)| {
                endpoints
                    .iter()
                    .map(move |endpoint| (id, *endpoint, *event))
            })
            .collect();
        for rows in deliveries.chunks(batch::rows_per_statement(DELIVERY_COLUMNS)) {
            let sql = format!(
                "INSERT INTO webhook_deliveries (event_id, endpoint_id, subject_type, subject_id, \
                 next_attempt_at, give_up_at, created_at) VALUES {}",
                batch::values(db, rows.len(), DELIVERY_COLUMNS)
            );
            let mut query = sqlx::query(AssertSqlSafe(sql));
            for (event_id, endpoint_id, event) in rows {
                query = query
                    .bind(*event_id)
                    .bind(*endpoint_id)
                    .bind(event.subject_type)
                    .bind(event.subject_id)
                    .bind(millis(now))
                    .bind(millis(give_up_at))
                    .bind(millis(now));
            }
            query.execute(&mut *db).await?;
            made += rows.len();
        }
    }
    Ok(made)
}

/// A claimed delivery, with what it takes to send it.
#[derive(Debug, Clone)]
pub struct ClaimedDelivery {
    pub id: i64,
    /// The attempt number this claim holds; completing needs it (fencing).
    pub attempt: i64,
    pub event_id: i64,
    pub event_type: String,
    pub occurred_at: Timestamp,
    pub data: String,
    pub endpoint_id: i64,
    pub url: String,
    pub secret: String,
    pub give_up_at: Timestamp,
}

/// (delivery, event, type, occurred, data, endpoint, url, secret, give up at).
type ClaimedRow = (i64, i64, String, i64, String, i64, String, String, i64);

/// Claims up to `limit` deliveries due at `now` (the engine's clock), each the earliest
/// pending one of its subject and endpoint, for `lease` (on the wall clock, `wall_now`).
/// `tx` must come from [`crate::Store::begin`].
pub async fn claim_due(
    tx: &mut Db,
    backend: Backend,
    now: Timestamp,
    wall_now: Timestamp,
    lease: &Lease<'_>,
    limit: i64,
) -> Result<Vec<ClaimedDelivery>, StoreError> {
    let lock = match backend {
        Backend::Postgres => " FOR UPDATE SKIP LOCKED",
        Backend::Sqlite => "",
    };
    let claimed: Vec<(i64, i64)> = sqlx::query_as(AssertSqlSafe(format!(
        "UPDATE webhook_deliveries SET claimed_by = $1, claimed_until = $2, attempts = attempts + 1 \
         WHERE id IN (SELECT d.id FROM webhook_deliveries d \
            WHERE d.status = 'pending' AND d.next_attempt_at <= $3 \
              AND (d.claimed_until IS NULL OR d.claimed_until <= $4) \
              AND NOT EXISTS (SELECT 1 FROM webhook_deliveries e \
                  WHERE e.endpoint_id = d.endpoint_id AND e.subject_type = d.subject_type \
                    AND e.subject_id = d.subject_id AND e.status = 'pending' AND e.id < d.id) \
            ORDER BY d.next_attempt_at, d.id LIMIT $5{lock}) \
         RETURNING id, attempts"
    )))
    .bind(lease.worker)
    .bind(millis(lease.until))
    .bind(millis(now))
    .bind(millis(wall_now))
    .bind(limit)
    .fetch_all(&mut *tx)
    .await?;
    if claimed.is_empty() {
        return Ok(Vec::new());
    }
    let rows: Vec<ClaimedRow> = sqlx::query_as(AssertSqlSafe(format!(
        "SELECT d.id, e.id, e.event_type, e.occurred_at, e.data, p.id, p.url, p.secret, \
             d.give_up_at FROM webhook_deliveries d \
             JOIN webhook_events e ON e.id = d.event_id \
             JOIN webhook_endpoints p ON p.id = d.endpoint_id WHERE {} ORDER BY d.id",
        backend.in_ids("d.id", "$1")
    )))
    .bind(json_ints(claimed.iter().map(|(id, _)| *id)))
    .fetch_all(&mut *tx)
    .await?;
    rows.into_iter()
        .map(
            |(id, event_id, event_type, occurred, data, endpoint_id, url, secret, give_up)| {
                let attempt = claimed
                    .iter()
                    .find(|(claimed_id, _)| *claimed_id == id)
                    .map(|(_, attempt)| *attempt)
                    .unwrap_or_default();
                Ok(ClaimedDelivery {
                    id,
                    attempt,
                    event_id,
                    event_type,
                    occurred_at: instant_from_millis(occurred)?,
                    data,
                    endpoint_id,
                    url,
                    secret,
                    give_up_at: instant_from_millis(give_up)?,
                })
            },
        )
        .collect()
}

/// Where a delivery goes after an attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AfterAttempt {
    Delivered,
    RetryAt(Timestamp),
    Failed,
}

/// One attempt's result, for the log.
#[derive(Debug, Clone)]
pub struct AttemptRecord<'a> {
    pub at: Timestamp,
    pub status: Option<u16>,
    pub error: Option<&'a str>,
    pub duration_ms: i64,
    pub next: AfterAttempt,
}

/// Records an attempt of delivery `id` if `attempt` still holds its claim; false if another
/// dispatcher took it over meanwhile (its own attempt will be recorded instead).
pub async fn record_attempt(
    db: &mut Db,
    id: i64,
    attempt: i64,
    record: &AttemptRecord<'_>,
) -> Result<bool, StoreError> {
    let (status, next_attempt_at, delivered_at) = match record.next {
        AfterAttempt::Delivered => ("delivered", None, Some(millis(record.at))),
        AfterAttempt::RetryAt(at) => ("pending", Some(millis(at)), None),
        AfterAttempt::Failed => ("failed", None, None),
    };
    let changed = sqlx::query(
        "UPDATE webhook_deliveries SET status = $1, \
         next_attempt_at = COALESCE($2, next_attempt_at), delivered_at = $3, \
         claimed_by = NULL, claimed_until = NULL, last_attempt_at = $4, last_status = $5, \
         last_error = $6 WHERE id = $7 AND attempts = $8 AND status = 'pending'",
    )
    .bind(status)
    .bind(next_attempt_at)
    .bind(delivered_at)
    .bind(millis(record.at))
    .bind(record.status.map(i64::from))
    .bind(record.error)
    .bind(id)
    .bind(attempt)
    .execute(&mut *db)
    .await?
    .rows_affected();
    if changed == 1 {
        sqlx::query(
            "INSERT INTO webhook_attempts (delivery_id, at, status, error, duration_ms) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(id)
        .bind(millis(record.at))
        .bind(record.status.map(i64::from))
        .bind(record.error)
        .bind(record.duration_ms)
        .execute(&mut *db)
        .await?;
    }
    Ok(changed == 1)
}

/// A delivery as the log lists it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Delivery {
    pub id: i64,
    pub event_id: i64,
    pub event_type: String,
    pub subject_type: String,
    pub subject_id: i64,
    pub endpoint_id: i64,
    pub url: String,
    pub status: String,
    pub attempts: i64,
    pub created_at: Timestamp,
    pub next_attempt_at: Option<Timestamp>,
    pub last_attempt_at: Option<Timestamp>,
    pub last_status: Option<i64>,
    pub last_error: Option<String>,
    pub delivered_at: Option<Timestamp>,
}

type DeliveryRow = (
    i64,
    i64,
    String,
    String,
    i64,
    i64,
    String,
    String,
    i64,
    i64,
    i64,
    Option<i64>,
    Option<i64>,
    Option<String>,
    Option<i64>,
);

fn delivery_of(row: DeliveryRow) -> Result<Delivery, StoreError> {
    let (
        id,
        event_id,
        event_type,
        subject_type,
        subject_id,
        endpoint_id,
        url,
        status,
        attempts,
        created,
        next,
        last_attempt,
        last_status,
        last_error,
        delivered,
    ) = row;
    Ok(Delivery {
        id,
        event_id,
        event_type,
        subject_type,
        subject_id,
        endpoint_id,
        url,
        next_attempt_at: (status == "pending")
            .then(|| instant_from_millis(next))
            .transpose()?,
        status,
        attempts,
        created_at: instant_from_millis(created)?,
        last_attempt_at: last_attempt.map(instant_from_millis).transpose()?,
        last_status,
        last_error,
        delivered_at: delivered.map(instant_from_millis).transpose()?,
    })
}

const DELIVERY_COLUMNS: &str = "SELECT d.id, d.event_id, e.event_type, d.subject_type, \
     d.subject_id, d.endpoint_id, p.url, d.status, d.attempts, d.created_at, \
     d.next_attempt_at, d.last_attempt_at, d.last_status, d.last_error, d.delivered_at \
     FROM webhook_deliveries d JOIN webhook_events e ON e.id = d.event_id \
     JOIN webhook_endpoints p ON p.id = d.endpoint_id";

/// The latest deliveries, newest first: all endpoints' or one's, optionally only one status.
pub async fn deliveries(
    db: &mut Db,
    endpoint_id: Option<i64>,
    status: Option<&str>,
    limit: i64,
) -> Result<Vec<Delivery>, StoreError> {
    let rows: Vec<DeliveryRow> = sqlx::query_as(AssertSqlSafe(format!(
        "{DELIVERY_COLUMNS} WHERE ($1 = 0 OR d.endpoint_id = $1) AND ($2 = '' OR d.status = $2) \
         ORDER BY d.id DESC LIMIT $3"
    )))
    .bind(endpoint_id.unwrap_or(0))
    .bind(status.unwrap_or(""))
    .bind(limit)
    .fetch_all(db)
    .await?;
    rows.into_iter().map(delivery_of).collect()
}

pub async fn delivery(db: &mut Db, id: i64) -> Result<Option<Delivery>, StoreError> {
    let row: Option<DeliveryRow> =
        sqlx::query_as(AssertSqlSafe(format!("{DELIVERY_COLUMNS} WHERE d.id = $1")))
            .bind(id)
            .fetch_optional(db)
            .await?;
    row.map(delivery_of).transpose()
}

/// One attempt of a delivery, as the log shows it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Attempt {
    pub at: Timestamp,
    pub status: Option<i64>,
    pub error: Option<String>,
    pub duration_ms: i64,
}

pub async fn attempts(db: &mut Db, delivery_id: i64) -> Result<Vec<Attempt>, StoreError> {
    let rows: Vec<(i64, Option<i64>, Option<String>, i64)> = sqlx::query_as(
        "SELECT at, status, error, duration_ms FROM webhook_attempts \
         WHERE delivery_id = $1 ORDER BY id",
    )
    .bind(delivery_id)
    .fetch_all(db)
    .await?;
    rows.into_iter()
        .map(|(at, status, error, duration_ms)| {
            Ok(Attempt {
                at: instant_from_millis(at)?,
                status,
                error,
                duration_ms,
            })
        })
        .collect()
}

/// Sends delivery `id`'s event to its endpoint once more, as a new delivery due at `now`
/// (the old one keeps its log). None if there is no such delivery or its endpoint was
/// removed.
pub async fn redeliver(
    db: &mut Db,
    id: i64,
    now: Timestamp,
    give_up_at: Timestamp,
) -> Result<Option<i64>, StoreError> {
    Ok(sqlx::query_scalar(
        "INSERT INTO webhook_deliveries (event_id, endpoint_id, subject_type, subject_id, \
         next_attempt_at, give_up_at, created_at) \
         SELECT d.event_id, d.endpoint_id, d.subject_type, d.subject_id, $1, $2, $1 \
         FROM webhook_deliveries d JOIN webhook_endpoints p ON p.id = d.endpoint_id \
         WHERE d.id = $3 AND p.removed_at IS NULL RETURNING id",
    )
    .bind(millis(now))
    .bind(millis(give_up_at))
    .bind(id)
    .fetch_optional(db)
    .await?)
}

/// Deliveries by status, for `/metrics`.
pub async fn counts(db: &mut Db) -> Result<Vec<(String, i64)>, StoreError> {
    Ok(
        sqlx::query_as("SELECT status, COUNT(*) FROM webhook_deliveries GROUP BY status")
            .fetch_all(db)
            .await?,
    )
}

/// The earliest instant a pending delivery is due, for the deliverer's sleep.
pub async fn next_due(db: &mut Db) -> Result<Option<Timestamp>, StoreError> {
    let next: Option<i64> = sqlx::query_scalar(
        "SELECT MIN(next_attempt_at) FROM webhook_deliveries WHERE status = 'pending'",
    )
    .fetch_one(db)
    .await?;
    next.map(instant_from_millis).transpose()
}

/// A date that passes and makes an event: a contract's end without renewal, an invoice's
/// due date without payment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lapse {
    /// Active contracts whose current term ended (`contract.expired`).
    Expiry,
    /// Issued, unpaid invoices past their due date (`invoice.overdue`).
    Overdue,
}

impl Lapse {
    pub fn event_type(self) -> &'static str {
        match self {
            Lapse::Expiry => "contract.expired",
            Lapse::Overdue => "invoice.overdue",
        }
    }
}

/// The objects whose date of `lapse` fell between `since` and `before` (exclusive) and was
/// not announced yet, oldest date first: (id, date).
pub async fn unannounced_lapses(
    db: &mut Db,
    lapse: Lapse,
    since: Date,
    before: Date,
    limit: i64,
) -> Result<Vec<(i64, String)>, StoreError> {
    let (table, date, status) = match lapse {
        Lapse::Expiry => ("contracts", "end_date", "active"),
        Lapse::Overdue => ("invoices", "due_date", "issued"),
    };
    Ok(sqlx::query_as(AssertSqlSafe(format!(
        "SELECT o.id, o.{date} FROM {table} o \
         WHERE o.status = '{status}' AND o.{date} >= $1 AND o.{date} < $2 \
           AND NOT EXISTS (SELECT 1 FROM webhook_milestones m \
               WHERE m.event_type = $3 AND m.subject_id = o.id AND m.on_date = o.{date}) \
         ORDER BY o.{date}, o.id LIMIT $4"
    )))
    .bind(since.to_string())
    .bind(before.to_string())
    .bind(lapse.event_type())
    .bind(limit)
    .fetch_all(db)
    .await?)
}

/// Notes that `event_type` was announced for `subject_id` on `on_date`; false if it already
/// was (by another dispatcher, a moment ago).
pub async fn mark_milestone(
    db: &mut Db,
    event_type: &str,
    subject_id: i64,
    on_date: &str,
) -> Result<bool, StoreError> {
    let inserted = sqlx::query(
        "INSERT INTO webhook_milestones (event_type, subject_id, on_date) VALUES ($1, $2, $3) \
         ON CONFLICT DO NOTHING",
    )
    .bind(event_type)
    .bind(subject_id)
    .bind(on_date)
    .execute(db)
    .await?
    .rows_affected();
    Ok(inserted == 1)
}

/// Frees every delivery's claim: after a restore, the claims belong to processes that no
/// longer exist.
pub async fn release_all_claims(db: &mut Db) -> Result<u64, StoreError> {
    Ok(sqlx::query(
        "UPDATE webhook_deliveries SET claimed_by = NULL, claimed_until = NULL \
         WHERE claimed_until IS NOT NULL",
    )
    .execute(db)
    .await?
    .rows_affected())
}
