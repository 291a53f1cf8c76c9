//! Webhooks: other programs told what happened, by a signed HTTP POST to an address an
//! admin registered. Each change writes its events into the outbox inside its own
//! transaction ([`Engine::announce`]); the dispatcher posts them ([`Engine::deliver_webhooks_due`]),
//! retrying with backoff for a day. Delivery is at least once: a dispatcher that dies after
//! the receiver answered but before the answer was recorded posts the event again, with
//! the same event id, once its lease has run out; receivers deduplicate by that id.

use std::{sync::OnceLock, time::Duration};

use jiff::{SignedDuration, Timestamp};
use serde::Serialize;
use serde_json::{Value, json};
use tickler_core::{
    Checks, ValidationError,
    contract::Contract,
    event::{EventAction, EventSubject},
    subject::SubjectRef,
    webhook::{self, WebhookEvent},
};
use tickler_store::{
    Db, contracts, events, invoices, quotes,
    reminders::{self, NewReminder, Reminder},
    tasks,
    webhooks::{self as store, AfterAttempt, AttemptRecord, ClaimedDelivery, NewWebhookEvent},
};

use crate::{Actor, Engine, EngineError, sessions::random_token};

pub use tickler_store::webhooks::{Attempt, Delivery, Endpoint};

/// Every secret starts so, which tells it apart from an API token at a glance.
pub const SECRET_PREFIX: &str = "whsec_";

/// How long a delivery is retried before it is marked failed.
pub const RETRY_FOR: SignedDuration = SignedDuration::from_hours(24);

/// How long a receiver may take to answer before the attempt counts as failed.
pub const RECEIVER_TIMEOUT: Duration = Duration::from_secs(10);

/// The replay window the documentation tells receivers to allow.
pub const REPLAY_WINDOW_SECONDS: i64 = 300;

/// How far back `contract.expired` and `invoice.overdue` look for dates not yet announced
/// (a dispatcher down for longer announces no older ones).
pub const LAPSE_LOOKBACK_DAYS: i64 = 7;

/// Lapses announced per transaction.
const LAPSE_BATCH: i64 = 200;

/// Deliveries claimed at once, and posted at once (to any endpoints).
const BATCH: i64 = 50;

/// Of a receiver's answer, only this much is kept in the log.
const ERROR_KEPT: usize = 300;

/// An endpoint just made: its secret is shown this once.
#[derive(Debug, Clone, Serialize)]
pub struct NewWebhook {
    pub id: i64,
    pub secret: String,
}

/// Counts of one delivery run.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct WebhookReport {
    pub delivered: usize,
    pub retried: usize,
    pub failed: usize,
}

/// A reminder's facts, as its events carry them.
pub(crate) struct ReminderNews<'a> {
    pub id: i64,
    pub about: SubjectRef,
    pub contract_id: Option<i64>,
    pub step: &'a str,
    pub label: &'a str,
    pub send_at: Timestamp,
    pub to: &'a [String],
    pub cc: &'a [String],
}

impl<'a> From<&'a Reminder> for ReminderNews<'a> {
    fn from(r: &'a Reminder) -> Self {
        ReminderNews {
            id: r.id,
            about: r.about,
            contract_id: r.contract_id,
            step: &r.step_key,
            label: &r.label,
            send_at: r.send_at,
            to: &r.to,
            cc: &r.cc,
        }
    }
}

impl<'a> ReminderNews<'a> {
    pub fn of_new(id: i64, new: &'a NewReminder<'a>) -> Self {
        ReminderNews {
            id,
            about: new.about,
            contract_id: new.contract_id,
            step: new.step_key,
            label: new.label,
            send_at: new.send_at,
            to: new.to,
            cc: new.cc,
        }
    }
}

/// One event for the outbox: what happened, to which object, with which facts.
pub(crate) fn news(event: WebhookEvent, subject: EventSubject, data: Value) -> NewWebhookEvent {
    NewWebhookEvent {
        event_type: event.as_str(),
        subject_type: subject.kind(),
        subject_id: subject.id(),
        data: data.to_string(),
    }
}

/// A reminder's event, with the facts a receiver most often needs.
pub(crate) fn reminder_news(event: WebhookEvent, reminder: ReminderNews<'_>) -> NewWebhookEvent {
    news(
        event,
        EventSubject::Reminder(reminder.id),
        json!({
            "reminder_id": reminder.id,
            "contract_id": reminder.contract_id,
            "about": {"type": reminder.about.kind.as_str(), "id": reminder.about.id},
            "step": reminder.step,
            "label": reminder.label,
            "send_at": reminder.send_at.to_string(),
            "to": reminder.to,
            "cc": reminder.cc,
        }),
    )
}

/// A contract's event, with the contract as it now stands.
pub(crate) fn contract_news(
    event: WebhookEvent,
    contract: &Contract,
    extra: Value,
) -> NewWebhookEvent {
    let mut data = json!({
        "contract_id": contract.id,
        "customer_id": contract.customer_id,
        "owner_id": contract.owner_id,
        "title": contract.title,
        "status": contract.status.as_str(),
        "term_number": contract.term_number,
        "start_date": contract.start_date.to_string(),
        "end_date": contract.end_date.to_string(),
    });
    if let (Value::Object(data), Value::Object(extra)) = (&mut data, extra) {
        data.extend(extra);
    }
    news(event, EventSubject::Contract(contract.id), data)
}

/// `event` with `extra`'s fields added to its data.
pub(crate) fn with_extra(mut event: NewWebhookEvent, extra: Value) -> NewWebhookEvent {
    if let Value::Object(extra) = extra
        && !extra.is_empty()
        && let Ok(Value::Object(mut data)) = serde_json::from_str::<Value>(&event.data)
    {
        data.extend(extra);
        event.data = Value::Object(data).to_string();
    }
    event
}

/// The body posted for an event: the same bytes at every attempt and redelivery.
pub fn event_body(event_id: i64, event_type: &str, occurred_at: Timestamp, data: &str) -> String {
    // `data` is JSON that `news` wrote; embedding it as is keeps it byte for byte.
    format!(
        "{{\"id\":\"evt_{event_id}\",\"type\":{},\"created_at\":\"{occurred_at}\",\"data\":{data}}}",
        Value::from(event_type)
    )
}

fn http_client() -> Result<&'static reqwest::Client, EngineError> {
    static CLIENT: OnceLock<reqwest::Client> = OnceLock::new();
    if let Some(client) = CLIENT.get() {
        return Ok(client);
    }
    let client = reqwest::Client::builder()
        .timeout(RECEIVER_TIMEOUT)
        .connect_timeout(RECEIVER_TIMEOUT)
        // A receiver that moved must be registered again: following redirects would post
        // signed events to wherever a compromised receiver points.
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("Tickler-Webhooks/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| EngineError::Internal(format!("no HTTP client for webhooks: {e}")))?;
    Ok(CLIENT.get_or_init(|| client))
}

impl Engine {
    /// Registers a receiver for `events` (a comma-separated list, or `*`), returning its id
    /// and the secret that signs its deliveries.
    pub async fn add_webhook(
        &self,
        url: &str,
        events: &str,
        description: Option<&str>,
        actor: &Actor,
    ) -> Result<NewWebhook, EngineError> {
        let mut checks = Checks::default();
        let url = checks.check(webhook::check_endpoint_url(url));
        let events = checks.check(webhook::parse_event_list(events));
        let description = description.map(str::trim).unwrap_or("");
        if description.chars().count() > 200 || description.chars().any(char::is_control) {
            checks.check::<()>(Err(ValidationError::new(
                "description",
                "must be one line of at most 200 characters",
            )));
        }
        let (url, events) = checks.then(|| url.zip(events))?;
        let secret = format!("{SECRET_PREFIX}{}", random_token());
        let now = self.clock.now();
        let mut tx = self.store.begin().await?;
        let id = store::insert_endpoint(
            &mut tx,
            &store::NewEndpoint {
                url: &url,
                secret: &secret,
                events: &webhook::event_list_text(&events),
                description,
                created_by: &actor.0,
            },
            now,
        )
        .await?;
        events::record(
            &mut tx,
            now,
            &actor.0,
            EventSubject::Settings,
            EventAction::Created,
            &format!("webhook {id} to {url}"),
        )
        .await?;
        tickler_store::commit(tx).await?;
        Ok(NewWebhook { id, secret })
    }

    /// The receivers in use, oldest first (never their secrets).
    pub async fn webhooks(&self) -> Result<Vec<store::Endpoint>, EngineError> {
        Ok(store::endpoints(&mut *self.store.conn().await?, false).await?)
    }

    pub async fn webhook(&self, id: i64) -> Result<store::Endpoint, EngineError> {
        store::endpoint(&mut *self.store.conn().await?, id)
            .await?
            .filter(|endpoint| endpoint.removed_at.is_none())
            .ok_or(EngineError::NotFound {
                what: "webhook",
                id: id.to_string(),
            })
    }

    /// Stops sending to a receiver; what was still to be delivered to it is marked failed.
    pub async fn remove_webhook(&self, id: i64, actor: &Actor) -> Result<(), EngineError> {
        let now = self.clock.now();
        let mut tx = self.store.begin().await?;
        if !store::remove_endpoint(&mut tx, id, now).await? {
            return Err(EngineError::NotFound {
                what: "webhook",
                id: id.to_string(),
            });
        }
        events::record(
            &mut tx,
            now,
            &actor.0,
            EventSubject::Settings,
            EventAction::Archived,
            &format!("webhook {id} removed"),
        )
        .await?;
        tickler_store::commit(tx).await?;
        Ok(())
    }

    /// The latest deliveries, newest first, of every receiver or one.
    pub async fn webhook_deliveries(
        &self,
        endpoint_id: Option<i64>,
        status: Option<&str>,
        limit: i64,
    ) -> Result<Vec<store::Delivery>, EngineError> {
        if let Some(status) = status
            && !["pending", "delivered", "failed"].contains(&status)
        {
            return Err(ValidationError::new(
                "status",
                format!("unknown status \"{status}\" (expected pending, delivered or failed)"),
            )
            .into());
        }
        let mut conn = self.store.conn().await?;
        Ok(store::deliveries(&mut conn, endpoint_id, status, limit.clamp(1, 1000)).await?)
    }

    /// One delivery with every attempt made, oldest first, and the body it posts.
    pub async fn webhook_delivery(
        &self,
        id: i64,
    ) -> Result<(store::Delivery, Vec<store::Attempt>), EngineError> {
        let mut conn = self.store.conn().await?;
        let delivery = store::delivery(&mut conn, id)
            .await?
            .ok_or(EngineError::NotFound {
                what: "delivery",
                id: id.to_string(),
            })?;
        let attempts = store::attempts(&mut conn, id).await?;
        Ok((delivery, attempts))
    }

    /// Posts a delivery's event again, now, as a new delivery (the receiver sees the same
    /// event id). Returns the new delivery's id.
    pub async fn redeliver_webhook(&self, id: i64, actor: &Actor) -> Result<i64, EngineError> {
        let now = self.clock.now();
        let mut tx = self.store.begin().await?;
        let new = store::redeliver(
            &mut tx,
            id,
            now,
            now.saturating_add(RETRY_FOR).unwrap_or(now),
        )
        .await?
        .ok_or(EngineError::NotFound {
            what: "delivery to a webhook in use",
            id: id.to_string(),
        })?;
        events::record(
            &mut tx,
            now,
            &actor.0,
            EventSubject::Settings,
            EventAction::Retry,
            &format!("webhook delivery {id} sent again as {new}"),
        )
        .await?;
        tickler_store::commit(tx).await?;
        self.webhook_work.notify_one();
        Ok(new)
    }

    /// Deliveries by status, for `/metrics`.
    pub async fn webhook_counts(&self) -> Result<Vec<(String, i64)>, EngineError> {
        Ok(store::counts(&mut *self.store.conn().await?).await?)
    }

    /// Writes the events `news` makes into the outbox, for every receiver subscribed to
    /// them, inside the transaction of the change they announce. `news` runs only when some
    /// receiver is registered, so that a large import without webhooks builds no events.
    pub(crate) async fn announce(
        &self,
        db: &mut Db,
        now: Timestamp,
        news: impl FnOnce() -> Vec<NewWebhookEvent>,
    ) -> Result<(), EngineError> {
        let subscribers = store::subscribers(db).await?;
        if subscribers.is_empty() {
            return Ok(());
        }
        self.enqueue(db, now, &subscribers, &news()).await
    }

    /// Writes `events` for `subscribers` (read in the same transaction) and wakes the
    /// deliverer if any delivery was made.
    async fn enqueue(
        &self,
        db: &mut Db,
        now: Timestamp,
        subscribers: &[store::Subscriber],
        events: &[NewWebhookEvent],
    ) -> Result<(), EngineError> {
        let give_up = now.saturating_add(RETRY_FOR).unwrap_or(now);
        if store::enqueue(db, now, give_up, subscribers, events).await? > 0 {
            self.webhook_work.notify_one();
        }
        Ok(())
    }

    /// [`Self::announce`] of one event about an object, with the object's facts as they
    /// stand in this transaction (read only when some receiver is registered), plus `extra`.
    pub(crate) async fn announce_about(
        &self,
        db: &mut Db,
        now: Timestamp,
        event: WebhookEvent,
        subject: EventSubject,
        extra: Value,
    ) -> Result<(), EngineError> {
        let subscribers = store::subscribers(db).await?;
        // The object is read only when some receiver takes this event.
        if !subscribed(&subscribers, event) {
            return Ok(());
        }
        let news = match subject {
            EventSubject::Contract(id) => {
                contract_news(event, &contracts::get(db, id).await?, extra)
            }
            EventSubject::Reminder(id) => {
                let reminder = reminders::get(db, id).await?;
                with_extra(reminder_news(event, ReminderNews::from(&reminder)), extra)
            }
            EventSubject::Invoice(id) => {
                let invoice = invoices::get(db, id).await?;
                let data = json!({
                    "invoice_id": invoice.id,
                    "contract_id": invoice.contract_id,
                    "customer_id": invoice.customer_id,
                    "number": invoice.number,
                    "status": invoice.status.as_str(),
                    "issue_date": invoice.issue_date.to_string(),
                    "due_date": invoice.due_date.to_string(),
                    "currency": invoice.currency.code(),
                    "total_minor": invoice.total,
                    "paid_minor": invoice.paid,
                });
                with_extra(news(event, subject, data), extra)
            }
            EventSubject::Quote(id) => {
                let quote = quotes::get(db, id).await?;
                let data = json!({
                    "quote_id": quote.id,
                    "contract_id": quote.contract_id,
                    "status": quote.status.as_str(),
                    "start_date": quote.start_date.to_string(),
                    "end_date": quote.end_date.to_string(),
                    "currency": quote.currency.code(),
                    "total_minor": quote.total,
                });
                with_extra(news(event, subject, data), extra)
            }
            EventSubject::Task(id) => {
                let task = tasks::get(db, id).await?;
                let data = json!({
                    "task_id": task.id,
                    "contract_id": task.contract_id,
                    "title": task.title,
                    "owner_id": task.owner_id,
                    "due_date": task.due_date.to_string(),
                    "status": task.status.as_str(),
                });
                with_extra(news(event, subject, data), extra)
            }
            other => with_extra(news(event, other, json!({})), extra),
        };
        self.enqueue(db, now, &subscribers, &[news]).await
    }

    /// Announces what the calendar, not a change, made true: contracts whose last term
    /// ended without renewal (`contract.expired`) and issued invoices past their due date
    /// (`invoice.overdue`), each once. Only when some receiver subscribes to them, and only
    /// for dates of the last [`LAPSE_LOOKBACK_DAYS`] days, so that a receiver added today is
    /// not told of every contract that ever ended.
    pub(crate) async fn announce_lapses(&self) -> Result<usize, EngineError> {
        let subscribers = store::subscribers(&mut *self.store.conn().await?).await?;
        let today = self.organisation_today();
        let since = today
            .checked_sub(jiff::Span::new().days(LAPSE_LOOKBACK_DAYS))
            .unwrap_or(today);
        let mut announced = 0;
        for (event, lapse) in [
            (WebhookEvent::ContractExpired, store::Lapse::Expiry),
            (WebhookEvent::InvoiceOverdue, store::Lapse::Overdue),
        ] {
            if !subscribed(&subscribers, event) {
                continue;
            }
            loop {
                let now = self.clock.now();
                let mut tx = self.store.begin().await?;
                let lapsed =
                    store::unannounced_lapses(&mut tx, lapse, since, today, LAPSE_BATCH).await?;
                for (id, on_date) in &lapsed {
                    if !store::mark_milestone(&mut tx, event.as_str(), *id, on_date).await? {
                        continue;
                    }
                    let subject = match lapse {
                        store::Lapse::Expiry => {
                            events::record(
                                &mut tx,
                                now,
                                events::SYSTEM,
                                EventSubject::Contract(*id),
                                EventAction::Expired,
                                &format!("the term ended on {on_date} without renewal"),
                            )
                            .await?;
                            EventSubject::Contract(*id)
                        }
                        store::Lapse::Overdue => EventSubject::Invoice(*id),
                    };
                    self.announce_about(&mut tx, now, event, subject, json!({ "on": on_date }))
                        .await?;
                    announced += 1;
                }
                tickler_store::commit(tx).await?;
                if lapsed.len() < LAPSE_BATCH as usize {
                    break;
                }
            }
        }
        Ok(announced)
    }

    /// Posts every delivery due as of the clock's now, batch after batch, until none is due.
    pub async fn deliver_webhooks_due(&self) -> Result<WebhookReport, EngineError> {
        let mut report = WebhookReport::default();
        loop {
            let now = self.clock.now();
            let mut tx = self.store.begin().await?;
            let batch = store::claim_due(
                &mut tx,
                self.store.backend(),
                now,
                Timestamp::now(),
                &self.lease(),
                BATCH,
            )
            .await?;
            tickler_store::commit(tx).await?;
            if batch.is_empty() {
                return Ok(report);
            }
            // Each outcome is recorded as soon as its receiver answered, so that a slow
            // receiver neither delays the others' records nor, if this process dies while
            // waiting for it, makes their events go out again.
            let mut posts = tokio::task::JoinSet::new();
            for delivery in batch {
                let engine = self.clone();
                posts.spawn(async move {
                    let outcome = engine.post(&delivery).await;
                    engine.record_post(&delivery, outcome).await
                });
            }
            let mut failure = None;
            while let Some(joined) = posts.join_next().await {
                match joined {
                    Ok(Ok(Some(AfterAttempt::Delivered))) => report.delivered += 1,
                    Ok(Ok(Some(AfterAttempt::RetryAt(_)))) => report.retried += 1,
                    Ok(Ok(Some(AfterAttempt::Failed))) => report.failed += 1,
                    // Another dispatcher holds the claim now; it records its own attempt.
                    Ok(Ok(None)) => {}
                    Ok(Err(e)) => failure = Some(e),
                    // A post that panicked stays claimed; its lease runs out and it is retried.
                    Err(e) => tracing::error!(error = %e, "a webhook delivery task failed"),
                }
            }
            if let Some(e) = failure {
                return Err(e);
            }
        }
    }

    /// Runs [`Self::deliver_webhooks_due`] until `shutdown`: at once when a change here
    /// announced something, else at the next due delivery or every few seconds (changes made
    /// by other processes are seen then).
    pub async fn run_webhook_deliverer(&self, mut shutdown: tokio::sync::watch::Receiver<bool>) {
        let wake = self.webhook_work.clone();
        let look_every = self.settings.poll_interval.min(Duration::from_secs(5));
        while !*shutdown.borrow() {
            let pause = match self.deliver_webhooks_due().await {
                Ok(_) => self.webhook_idle_time(look_every).await,
                Err(e) => {
                    tracing::error!(error = %e, "webhook deliverer could not reach the database");
                    look_every
                }
            };
            tokio::select! {
                _ = tokio::time::sleep(pause) => {}
                // The announcing transaction may not have committed yet: a short wait lets it.
                _ = wake.notified() => tokio::time::sleep(Duration::from_millis(50)).await,
                _ = shutdown.changed() => {}
            }
        }
    }

    async fn webhook_idle_time(&self, longest: Duration) -> Duration {
        let next = match self.store.conn().await {
            Ok(mut conn) => store::next_due(&mut conn).await.ok().flatten(),
            Err(_) => None,
        };
        match next {
            Some(at) => {
                let wait = at.duration_since(self.clock.now());
                Duration::try_from(wait)
                    .unwrap_or(Duration::ZERO)
                    .min(longest)
            }
            None => longest,
        }
    }

    /// One POST: the receiver's status code, or why there was none.
    async fn post(&self, delivery: &ClaimedDelivery) -> (Result<u16, String>, Duration) {
        let body = event_body(
            delivery.event_id,
            &delivery.event_type,
            delivery.occurred_at,
            &delivery.data,
        );
        // The receiver checks the timestamp against its own clock: the wall clock's, whatever
        // the engine's clock says.
        let signed_at = Timestamp::now().as_second();
        let signature = webhook::signature_header(&delivery.secret, signed_at, body.as_bytes());
        let started = std::time::Instant::now();
        let client = match http_client() {
            Ok(client) => client,
            Err(e) => return (Err(e.to_string()), started.elapsed()),
        };
        let answer = client
            .post(&delivery.url)
            .header("Content-Type", "application/json")
            .header("Tickler-Event-Id", format!("evt_{}", delivery.event_id))
            .header("Tickler-Event", &delivery.event_type)
            .header("Tickler-Delivery", delivery.id.to_string())
            .header("Tickler-Signature", signature)
            .body(body)
            .send()
            .await;
        let outcome = match answer {
            Ok(response) => Ok(response.status().as_u16()),
            Err(e) if e.is_timeout() => {
                Err(format!("no answer within {} s", RECEIVER_TIMEOUT.as_secs()))
            }
            Err(e) if e.is_connect() => Err(format!("could not connect: {}", root_cause(&e))),
            Err(e) => Err(root_cause(&e)),
        };
        (outcome, started.elapsed())
    }

    /// Records one POST's outcome; None if the claim was lost meanwhile (fencing).
    async fn record_post(
        &self,
        delivery: &ClaimedDelivery,
        (outcome, took): (Result<u16, String>, Duration),
    ) -> Result<Option<AfterAttempt>, EngineError> {
        let now = self.clock.now();
        let succeeded = matches!(outcome, Ok(status) if (200..300).contains(&status));
        let attempt = u32::try_from(delivery.attempt).unwrap_or(u32::MAX);
        let retry_at = now
            .saturating_add(self.settings.retry.delay(attempt, rand::random()))
            .unwrap_or(now);
        let next = if succeeded {
            AfterAttempt::Delivered
        } else if retry_at > delivery.give_up_at {
            AfterAttempt::Failed
        } else {
            AfterAttempt::RetryAt(retry_at)
        };
        let (status, error) = match &outcome {
            Ok(status) => (Some(*status), None),
            Err(why) => (None, Some(why.chars().take(ERROR_KEPT).collect::<String>())),
        };
        let label = match next {
            AfterAttempt::Delivered => "delivered",
            AfterAttempt::RetryAt(_) => "retry",
            AfterAttempt::Failed => "failed",
        };
        metrics::counter!("tickler_webhook_deliveries_total", "outcome" => label).increment(1);
        metrics::histogram!("tickler_webhook_delivery_seconds").record(took.as_secs_f64());
        let mut tx = self.store.begin().await?;
        let recorded = store::record_attempt(
            &mut tx,
            delivery.id,
            delivery.attempt,
            &AttemptRecord {
                at: now,
                status,
                error: error.as_deref(),
                duration_ms: i64::try_from(took.as_millis()).unwrap_or(i64::MAX),
                next,
            },
        )
        .await?;
        tickler_store::commit(tx).await?;
        if !recorded {
            tracing::warn!(
                delivery = delivery.id,
                "webhook posted, but this attempt no longer holds the claim"
            );
            return Ok(None);
        }
        match next {
            AfterAttempt::Delivered => {
                tracing::info!(delivery = delivery.id, event = %delivery.event_type, "webhook delivered")
            }
            _ => tracing::warn!(
                delivery = delivery.id,
                url = %delivery.url,
                status = ?status,
                error = ?error,
                outcome = label,
                "webhook not accepted"
            ),
        }
        Ok(Some(next))
    }
}

/// Whether any of `subscribers` takes `event`.
fn subscribed(subscribers: &[store::Subscriber], event: WebhookEvent) -> bool {
    subscribers.iter().any(|s| s.takes(event.as_str()))
}

/// The innermost error's text: reqwest's outer ones only say "error sending request".
fn root_cause(error: &(dyn std::error::Error + 'static)) -> String {
    let mut cause = error;
    while let Some(inner) = cause.source() {
        cause = inner;
    }
    cause.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_body_is_json_with_the_event_id_and_data_kept_as_is() {
        let at: Timestamp = "2027-01-02T09:00:00Z".parse().unwrap();
        let body = event_body(7, "reminder.sent", at, r#"{"reminder_id":3}"#);
        assert_eq!(
            body,
            r#"{"id":"evt_7","type":"reminder.sent","created_at":"2027-01-02T09:00:00Z","data":{"reminder_id":3}}"#
        );
        let parsed: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(parsed["data"]["reminder_id"], 3);
    }
}
