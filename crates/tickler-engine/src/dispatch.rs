//! The dispatcher: claims due reminders, re-checks the stop rules, renders, sends, and
//! records the outcome. See DESIGN.md "Delivery guarantees".

use std::{
    collections::{HashMap, HashSet},
    sync::Arc,
    time::Duration,
};

use jiff::{SignedDuration, Timestamp};
use serde::Serialize;
use tickler_core::event::{EventAction, EventSubject};
use tickler_core::reminder::ReminderStatus;
use tickler_core::subject::{SubjectKind, SubjectRef};
use tickler_mail::{Attachment, SendError, context::FailureView, templates};
use tickler_store::{
    Notice, StoreError, events, jobs,
    reminders::{self, Delivered, Lease, NewReminder, Reminder, ReminderKind, SentRecord},
};
use tokio::{
    sync::{Notify, Semaphore},
    task::JoinSet,
};

use crate::webhooks::{self, ReminderNews};
use crate::{
    Engine, EngineError,
    invoicing::INVOICE_EMAIL,
    message::{StepReplyTos, Subject, SubjectLoader, failure_view},
    quotes::QUOTE_EMAIL,
};
use serde_json::json;
use tickler_core::webhook::WebhookEvent;

/// What happened to one claimed reminder.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum Outcome {
    Sent {
        reply: String,
    },
    Retry {
        at: Timestamp,
        error: String,
    },
    Failed {
        reply: String,
    },
    Cancelled {
        reason: String,
    },
    /// Another dispatcher took the reminder over (our lease ran out): nothing recorded.
    Fenced,
    /// The database could not record the outcome; the lease will expire and it is retried.
    Unrecorded {
        error: String,
    },
}

/// A message the mail server accepted, not yet recorded.
#[derive(Debug)]
pub(crate) struct SentMessage {
    subject: String,
    body: String,
    reply: String,
    sent_at: Timestamp,
}

#[derive(Debug)]
struct Accepted {
    reminder: Reminder,
    sent: SentMessage,
}

/// What a claimed batch's messages are made from, read for the whole batch in a few queries
/// instead of a few per message.
#[derive(Default)]
struct BatchReads {
    subjects: HashMap<SubjectRef, Arc<Subject>>,
    reply_tos: Arc<StepReplyTos>,
}

/// How far one delivery got on its own.
#[derive(Debug)]
pub(crate) enum Delivery {
    /// Accepted by the mail server; its record is the caller's to write.
    Accepted(SentMessage),
    /// Finished and recorded: a retry, a failure, a cancellation.
    Recorded(Outcome),
}

/// How long a reminder waits when the mail settings cannot work (see
/// [`SendError::Configuration`]): a fixed server certificate is noticed within this, while a
/// stalled queue costs one TLS handshake per due reminder per hold.
const CONFIGURATION_HOLD: SignedDuration = SignedDuration::from_mins(5);

/// How a hold's reason starts, in `last_error` and the reminder's history.
const HELD: &str = "held: ";

/// Records accepted messages once this many wait...
const RECORD_BATCH: usize = 50;
/// ...or once the oldest has waited this long.
const RECORD_WAIT: Duration = Duration::from_millis(50);

/// The outcome of a delivery whose result could not be recorded: its lease will run out
/// and the take-over job returns it to the queue.
fn unrecorded(reminder: &Reminder, error: impl std::fmt::Display) -> Outcome {
    tracing::error!(reminder = reminder.id, %error, "could not record a delivery outcome");
    Outcome::Unrecorded {
        error: error.to_string(),
    }
}

/// Counts an outcome for `/metrics`: `tickler_deliveries_total{outcome="sent"}` and so on.
fn observe(outcome: &Outcome) {
    let label = match outcome {
        Outcome::Sent { .. } => "sent",
        Outcome::Retry { .. } => "retry",
        Outcome::Failed { .. } => "failed",
        Outcome::Cancelled { .. } => "cancelled",
        Outcome::Fenced => "fenced",
        Outcome::Unrecorded { .. } => "unrecorded",
    };
    metrics::counter!("tickler_deliveries_total", "outcome" => label).increment(1);
}

/// What an internal notice to a contract's owner is about.
pub(crate) enum OwnerNotice {
    /// The mail server refused a reminder for good.
    DeliveryFailed(FailureView),
    /// A step in `approval` mode is due and waits for the owner.
    WaitingForYou,
    /// A step in `task` mode became the owner's task: the step's own text tells them.
    TaskAssigned,
}

/// An internal notice to queue: what it is about, its unique key, and to whom.
pub(crate) struct InternalNotice<'a> {
    pub about: tickler_core::subject::SubjectRef,
    pub contract_id: Option<i64>,
    /// Unique per subject: the notice is queued once.
    pub key: &'a str,
    pub label: &'a str,
    pub template: &'a str,
    pub to: &'a [String],
}

/// Counts of one dispatch run.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct DispatchReport {
    pub claimed: usize,
    pub sent: usize,
    pub retried: usize,
    pub failed: usize,
    pub cancelled: usize,
    pub unrecorded: usize,
    /// Invoices made by the billing run, drafts included.
    pub invoiced: usize,
    /// Of those, issued at once.
    pub issued: usize,
    /// Terms started by themselves (auto-renewing and evergreen contracts).
    pub renewed: usize,
}

impl DispatchReport {
    fn count(&mut self, outcome: &Outcome) {
        self.claimed += 1;
        match outcome {
            Outcome::Sent { .. } => self.sent += 1,
            Outcome::Retry { .. } => self.retried += 1,
            Outcome::Failed { .. } => self.failed += 1,
            Outcome::Cancelled { .. } => self.cancelled += 1,
            Outcome::Fenced | Outcome::Unrecorded { .. } => self.unrecorded += 1,
        }
    }
}

impl Engine {
    /// A claim's lease, on the wall clock whatever the engine's clock says: a lease is
    /// about whether this process is still alive, so `dispatch --once --now` in the future
    /// must neither take over live claims nor make its own look expired.
    pub(crate) fn lease(&self) -> Lease<'_> {
        let lease =
            SignedDuration::try_from(self.settings.lease).unwrap_or(SignedDuration::from_secs(300));
        let now = Timestamp::now();
        Lease {
            worker: &self.settings.worker_id,
            until: now.saturating_add(lease).unwrap_or(now),
        }
    }

    /// The queue as all dispatchers see it, for monitoring.
    pub async fn queue_stats(&self) -> Result<reminders::QueueStats, EngineError> {
        let now = self.clock.now();
        Ok(reminders::queue_stats(&mut *self.store.conn().await?, now).await?)
    }

    /// Runs the recurring jobs that are due (taking over dead dispatchers' claims), then
    /// sends everything due as of the clock's now, batch after batch, until nothing is due.
    pub async fn dispatch_due(&self) -> Result<DispatchReport, EngineError> {
        let mut report = self.before_sending().await?;
        loop {
            let now = self.clock.now();
            let batch = self.claim_batch(now).await?;
            if batch.is_empty() {
                return Ok(report);
            }
            for outcome in self.deliver_all(batch).await {
                report.count(&outcome);
            }
        }
    }

    /// What a dispatch run does before sending, in an order that matters: quotes past their
    /// validity expire, then terms that start by themselves (the new term's invoices and emails are then due in this very
    /// run), then billing (an invoice made now makes its "about to be issued" notice
    /// pointless, and its own email is due at once), then the owners' alerts and tasks
    /// (steps in task mode become tasks; tasks left open too long are escalated).
    async fn before_sending(&self) -> Result<DispatchReport, EngineError> {
        self.run_due_jobs().await?;
        self.refresh_link_secret().await?;
        // Before anything is sent: a quote past its validity must not go out as open.
        self.expire_quotes().await?;
        let renewed = self.roll_terms().await?;
        let billed = self.bill_due().await?;
        self.announce_lapses().await?;
        self.alert_owners().await?;
        self.escalate_tasks().await?;
        // Last, so that a digest lists the tasks and notices made above; before sending, so
        // that it goes out in this very run.
        self.queue_digests().await?;
        Ok(DispatchReport {
            renewed,
            invoiced: billed.invoiced,
            issued: billed.issued,
            ..DispatchReport::default()
        })
    }

    async fn claim_batch(&self, now: Timestamp) -> Result<Vec<Reminder>, EngineError> {
        let mut tx = self.store.begin().await?;
        let batch = reminders::claim_due(
            &mut tx,
            self.store.backend(),
            now,
            &self.lease(),
            self.settings.batch_size,
        )
        .await?;
        tickler_store::commit(tx).await?;
        metrics::counter!("tickler_reminders_claimed_total").increment(batch.len() as u64);
        Ok(batch)
    }

    /// Sends a claimed batch, several messages in flight at once. Accepted messages are
    /// recorded together, up to [`RECORD_BATCH`] per transaction, as soon as that many are
    /// waiting (or every send slot holds one) or the oldest has waited [`RECORD_WAIT`]: one
    /// commit for many sends. A message keeps its send slot until its record is written, so
    /// that messages accepted but not yet recorded, plus those in flight, never outnumber the
    /// slots: a crash re-sends (with the same Message-ID) at most `concurrency` messages,
    /// however fast the mail server.
    async fn deliver_all(&self, batch: Vec<Reminder>) -> Vec<Outcome> {
        let reads = match self.persist(|| self.read_batch(&batch)).await {
            Ok(reads) => Arc::new(reads),
            Err(e) => {
                // Each delivery then reads its own subject, and fails on its own if it must.
                tracing::warn!(error = %e, "could not read the batch's subjects together");
                Arc::new(BatchReads::default())
            }
        };
        let permits = Arc::new(Semaphore::new(self.settings.concurrency.max(1)));
        let mut tasks = JoinSet::new();
        for reminder in batch {
            let engine = self.clone();
            let permits = permits.clone();
            let reads = reads.clone();
            tasks.spawn(async move {
                let permit = permits.acquire_owned().await;
                let delivery = engine.try_deliver(&reminder, &reads).await;
                (reminder, delivery, permit)
            });
        }
        let record_at = RECORD_BATCH.min(self.settings.concurrency.max(1));
        let mut outcomes = Vec::new();
        let mut accepted: Vec<Accepted> = Vec::new();
        // The send slots of the accepted messages, given back once their records are written.
        let mut slots = Vec::new();
        let mut oldest_waiting = tokio::time::Instant::now();
        loop {
            let joined = if accepted.is_empty() {
                tasks.join_next().await
            } else {
                tokio::select! {
                    joined = tasks.join_next() => joined,
                    _ = tokio::time::sleep_until(oldest_waiting + RECORD_WAIT) => {
                        outcomes.extend(self.record_sent_all(std::mem::take(&mut accepted)).await);
                        slots.clear();
                        continue;
                    }
                }
            };
            let Some(joined) = joined else { break };
            match joined {
                Ok((reminder, Ok(Delivery::Accepted(sent)), slot)) => {
                    if accepted.is_empty() {
                        oldest_waiting = tokio::time::Instant::now();
                    }
                    accepted.push(Accepted { reminder, sent });
                    slots.push(slot);
                    if accepted.len() >= record_at {
                        outcomes.extend(self.record_sent_all(std::mem::take(&mut accepted)).await);
                        slots.clear();
                    }
                }
                Ok((_, Ok(Delivery::Recorded(outcome)), _)) => outcomes.push(outcome),
                Ok((reminder, Err(e), _)) => outcomes.push(unrecorded(&reminder, e)),
                Err(e) => outcomes.push(Outcome::Unrecorded {
                    error: format!("delivery task panicked: {e}"),
                }),
            }
        }
        outcomes.extend(self.record_sent_all(accepted).await);
        outcomes.iter().for_each(observe);
        outcomes
    }

    /// Sends one claimed reminder and records what happened: a person's "send now". Never
    /// holds a transaction while talking to the mail server.
    pub(crate) async fn deliver(&self, reminder: Reminder) -> Outcome {
        let outcome = match self.try_deliver(&reminder, &BatchReads::default()).await {
            Ok(Delivery::Recorded(outcome)) => outcome,
            Ok(Delivery::Accepted(sent)) => self
                .record_sent_all(vec![Accepted { reminder, sent }])
                .await
                .pop()
                .unwrap_or(Outcome::Fenced),
            Err(e) => unrecorded(&reminder, e),
        };
        observe(&outcome);
        outcome
    }

    /// Records accepted messages in one transaction, retried through a database outage. If
    /// the batch fails for another reason, each is recorded on its own, so that one bad row
    /// cannot leave the others unrecorded (and re-sent).
    async fn record_sent_all(&self, accepted: Vec<Accepted>) -> Vec<Outcome> {
        if accepted.is_empty() {
            return Vec::new();
        }
        match self.persist(|| self.record_sent(&accepted)).await {
            Ok(outcomes) => outcomes,
            Err(e) if accepted.len() > 1 && !e.is_transient() => {
                tracing::warn!(error = %e, count = accepted.len(), "recording a batch failed; recording one by one");
                let mut outcomes = Vec::with_capacity(accepted.len());
                for one in &accepted {
                    outcomes.push(
                        match self
                            .persist(|| self.record_sent(std::slice::from_ref(one)))
                            .await
                        {
                            Ok(mut recorded) => recorded.pop().unwrap_or(Outcome::Fenced),
                            Err(e) => unrecorded(&one.reminder, e),
                        },
                    );
                }
                outcomes
            }
            Err(e) => accepted
                .iter()
                .map(|one| unrecorded(&one.reminder, e.to_string()))
                .collect(),
        }
    }

    /// Runs a database step of a delivery, again and again while the database is away (a
    /// restart, an outage) and the claim still holds. Recording an outcome late is always
    /// better than letting the lease run out: a message already accepted by the mail server
    /// would then go out twice. Each step is safe to repeat: it is one transaction, fenced
    /// by the attempt number.
    async fn persist<T, F, Fut>(&self, mut step: F) -> Result<T, EngineError>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Result<T, EngineError>>,
    {
        // Give up well before the lease runs out (it started at the claim, a little earlier),
        // so that no other dispatcher has taken the reminder over by the last try. Real
        // time, not the engine's clock, which `dispatch --once --now` stops.
        let deadline = std::time::Instant::now() + self.settings.lease / 2;
        let mut pause = Duration::from_millis(250);
        loop {
            match step().await {
                Err(e) if e.is_transient() && std::time::Instant::now() < deadline => {
                    tracing::warn!(error = %e, retry_in = ?pause, "database unreachable; will retry");
                    tokio::time::sleep(pause).await;
                    pause = (pause * 2).min(Duration::from_secs(5));
                }
                other => return other,
            }
        }
    }

    /// The subjects of a batch's reminders and the reply-to addresses of their plans' steps.
    async fn read_batch(&self, batch: &[Reminder]) -> Result<BatchReads, EngineError> {
        let mut db = self.store.conn().await?;
        // A digest is written when it is queued: it has no subject to read.
        let refs: Vec<SubjectRef> = batch
            .iter()
            .map(|r| r.about)
            .filter(|about| about.kind != SubjectKind::Digest)
            .collect();
        let mut subjects = SubjectLoader::default().load_many(&mut db, &refs).await?;
        for subject in subjects.values_mut() {
            self.sign_quote_links(&mut db, subject).await?;
        }
        let reply_tos = StepReplyTos::load(&mut db, subjects.values()).await?;
        Ok(BatchReads {
            subjects: subjects
                .into_iter()
                .map(|(about, subject)| (about, Arc::new(subject)))
                .collect(),
            reply_tos: Arc::new(reply_tos),
        })
    }

    /// One reminder's subject and its plan's reply-to addresses, read on its own: a person's
    /// "send now", or a subject the batch's reads left out (this read says why).
    async fn read_one(
        &self,
        about: SubjectRef,
    ) -> Result<(Arc<Subject>, Arc<StepReplyTos>), EngineError> {
        let mut db = self.store.conn().await?;
        let subject = self.load_subject(&mut db, about).await?;
        let reply_tos = StepReplyTos::load(&mut db, std::iter::once(&subject)).await?;
        Ok((Arc::new(subject), Arc::new(reply_tos)))
    }

    /// Everything of one delivery but recording an accepted message, which the caller does
    /// (in a batch, or on its own).
    async fn try_deliver(
        &self,
        reminder: &Reminder,
        reads: &BatchReads,
    ) -> Result<Delivery, EngineError> {
        if reminder.about.kind == SubjectKind::Digest {
            return self.try_deliver_digest(reminder).await;
        }
        let (subject, reply_tos) = match reads.subjects.get(&reminder.about) {
            Some(subject) => (subject.clone(), reads.reply_tos.clone()),
            None => self.persist(|| self.read_one(reminder.about)).await?,
        };

        if let Some(reason) = stop_reason(reminder, &subject) {
            let outcome = Outcome::Cancelled {
                reason: reason.clone(),
            };
            return self
                .persist(|| {
                    self.finish(
                        reminder,
                        ReminderStatus::Cancelled,
                        &reason,
                        None,
                        outcome.clone(),
                    )
                })
                .await
                .map(Delivery::Recorded);
        }

        let adopted;
        let reminder = match self.first_send_message_id(reminder) {
            Some(message_id) => {
                let (id, attempt) = (reminder.id, reminder.attempts);
                let still_ours = self
                    .persist(|| async {
                        let mut db = self.store.conn().await?;
                        Ok(reminders::adopt_message_id(&mut db, id, attempt, &message_id).await?)
                    })
                    .await?;
                if !still_ours {
                    return Ok(Delivery::Recorded(Outcome::Fenced));
                }
                adopted = Reminder {
                    message_id,
                    ..reminder.clone()
                };
                &adopted
            }
            None => reminder,
        };

        let rendered = match self.render(reminder, &subject, self.clock.now()) {
            Ok(rendered) => rendered,
            Err(e) => {
                let reason = format!("could not render the message: {e}");
                return self
                    .persist(|| self.fail(reminder, Some(&subject), "", &reason))
                    .await
                    .map(Delivery::Recorded);
            }
        };
        let subject_line = rendered.subject.clone();
        let body = rendered.body.clone();
        let reply_to = self.reply_to(reminder, &subject, &reply_tos);
        let action_links = self.action_links(reminder, &subject);
        let mut message = match self.outgoing(
            reminder,
            rendered,
            reply_to,
            &action_links,
            self.clock.now(),
        ) {
            Ok(message) => message,
            Err(e) => {
                let reason = format!("bad recipient: {e}");
                return self
                    .persist(|| self.fail(reminder, Some(&subject), &subject_line, &reason))
                    .await
                    .map(Delivery::Recorded);
            }
        };
        match self.document_of(reminder).await? {
            Some(Ok(attachment)) => message.attachments.push(attachment),
            Some(Err(e)) => {
                let reason = e.to_string();
                return self
                    .persist(|| self.fail(reminder, Some(&subject), &subject_line, &reason))
                    .await
                    .map(Delivery::Recorded);
            }
            None => {}
        }
        self.send_prepared(reminder, Some(&subject), &message, subject_line, body)
            .await
    }

    /// Sends a message made for `reminder` and classifies the mail server's answer: accepted
    /// (for the caller to record), a retry, a hold, or a failure (recorded, and the owner
    /// told when `subject` has one).
    pub(crate) async fn send_prepared(
        &self,
        reminder: &Reminder,
        subject: Option<&Subject>,
        message: &tickler_mail::OutgoingMessage,
        subject_line: String,
        body: String,
    ) -> Result<Delivery, EngineError> {
        let started = std::time::Instant::now();
        let sent = self.send_mail(message).await;
        metrics::histogram!("tickler_smtp_send_seconds").record(started.elapsed().as_secs_f64());
        let failure = match sent {
            Ok(delivery) => {
                return Ok(Delivery::Accepted(SentMessage {
                    subject: subject_line,
                    body,
                    reply: delivery.reply,
                    sent_at: self.clock.now(),
                }));
            }
            Err(SendError::Transient { reply }) => {
                let attempts = self.persist(|| self.tries(reminder)).await?;
                if !self.settings.retry.exhausted(attempts) {
                    let now = self.clock.now();
                    let delay = self.settings.retry.delay(attempts, rand::random::<f64>());
                    let at = now.saturating_add(delay).unwrap_or(now);
                    let outcome = self
                        .persist(|| self.record_retry(reminder, &reply, at))
                        .await?;
                    if let Outcome::Retry { .. } = outcome {
                        tracing::warn!(reminder = reminder.id, %reply, %at, "transient failure, will retry");
                    }
                    return Ok(Delivery::Recorded(outcome));
                }
                format!("gave up after {attempts} attempts; last reply: {reply}")
            }
            Err(SendError::Configuration { problem }) => {
                // Not the message's fault, and no backoff will cure it: the reminder waits,
                // never failing for it, and goes out at the first look after the fix. The
                // problem was logged once and shows on /healthz and the dashboard.
                let now = self.clock.now();
                let at = now.saturating_add(CONFIGURATION_HOLD).unwrap_or(now);
                let held = format!("{HELD}{problem}");
                return self
                    .persist(|| self.record_retry(reminder, &held, at))
                    .await
                    .map(Delivery::Recorded);
            }
            Err(SendError::Invalid(e)) => format!("the message could not be built: {e}"),
            Err(SendError::Permanent { code, reply }) => {
                format!("the mail server refused it ({code}): {reply}")
            }
        };
        self.persist(|| self.fail(reminder, subject, &subject_line, &failure))
            .await
            .map(Delivery::Recorded)
    }

    /// The PDF a notice carries (an issued invoice's, a sent quote's), or an error to fail
    /// the reminder with; `None` for a message without one.
    async fn document_of(
        &self,
        reminder: &Reminder,
    ) -> Result<Option<Result<Attachment, EngineError>>, EngineError> {
        let id = reminder.about.id;
        let pdf = |filename: String, content: Vec<u8>| Attachment {
            filename,
            content_type: "application/pdf".to_string(),
            content,
        };
        Ok(match (reminder.about.kind, reminder.step_key.as_str()) {
            (SubjectKind::Invoice, INVOICE_EMAIL) => {
                let detail = self.persist(|| self.invoice_detail(id)).await?;
                Some(
                    self.render_pdf(&detail)
                        .map(|content| pdf(Engine::invoice_file_name(&detail), content)),
                )
            }
            (SubjectKind::Quote, QUOTE_EMAIL) => {
                let detail = self.persist(|| self.quote_detail(id)).await?;
                Some(
                    self.render_quote_pdf(&detail)
                        .map(|content| pdf(Engine::quote_file_name(&detail), content)),
                )
            }
            _ => None,
        })
    }

    /// Records accepted messages and their events in one transaction; each only if its
    /// attempt still holds the claim (else [`Outcome::Fenced`]).
    async fn record_sent(&self, accepted: &[Accepted]) -> Result<Vec<Outcome>, EngineError> {
        let delivered: Vec<Delivered> = accepted
            .iter()
            .map(|Accepted { reminder, sent }| Delivered {
                id: reminder.id,
                attempt: reminder.attempts,
                sent: SentRecord {
                    subject: &sent.subject,
                    body: &sent.body,
                    to: &reminder.to,
                    cc: &reminder.cc,
                    smtp_reply: &sent.reply,
                    sent_at: sent.sent_at,
                },
            })
            .collect();
        let mut tx = self.store.begin().await?;
        let recorded: HashSet<i64> = reminders::mark_sent_many(&mut tx, &delivered)
            .await?
            .into_iter()
            .collect();
        let mut outcomes = Vec::with_capacity(accepted.len());
        let mut history = Vec::with_capacity(accepted.len());
        for Accepted { reminder, sent } in accepted {
            let (id, attempt) = (reminder.id, reminder.attempts);
            let reply = sent.reply.clone();
            if !recorded.contains(&id) {
                if reminders::sent_by_attempt(&mut tx, id, attempt).await? {
                    // An earlier try of this very record committed, but its answer was lost.
                    outcomes.push(Outcome::Sent { reply });
                    continue;
                }
                tracing::warn!(
                    reminder = id,
                    attempt,
                    "sent, but this attempt no longer holds the claim"
                );
                outcomes.push(Outcome::Fenced);
                continue;
            }
            let lateness = sent.sent_at.duration_since(reminder.send_at).as_secs();
            metrics::histogram!("tickler_send_lateness_seconds").record(lateness.max(0) as f64);
            let timing = match lateness {
                0 => "on time".to_string(),
                late if late > 0 => format!("{} late", human_duration(late)),
                early => format!("{} early", human_duration(-early)),
            };
            history.push((
                sent.sent_at,
                events::NewEvent {
                    subject: EventSubject::Reminder(id),
                    action: EventAction::Sent,
                    detail: format!("{reply} (attempt {attempt}, {timing})"),
                    actor: events::SYSTEM,
                },
            ));
            outcomes.push(Outcome::Sent { reply });
        }
        let timed: Vec<_> = history.iter().map(|(at, event)| (*at, event)).collect();
        events::record_each(&mut tx, &timed).await?;
        let now = self.clock.now();
        self.announce(&mut tx, now, || {
            accepted
                .iter()
                .filter(|a| recorded.contains(&a.reminder.id))
                .map(|Accepted { reminder, sent }| {
                    webhooks::with_extra(
                        webhooks::reminder_news(
                            WebhookEvent::ReminderSent,
                            ReminderNews::from(reminder),
                        ),
                        json!({
                            "sent_at": sent.sent_at.to_string(),
                            "subject_line": sent.subject,
                            "message_id": reminder.message_id,
                        }),
                    )
                })
                .collect()
        })
        .await?;
        tickler_store::commit(tx).await?;
        for Accepted { reminder, .. } in accepted {
            tracing::info!(reminder = reminder.id, message_id = %reminder.message_id, "sent");
        }
        Ok(outcomes)
    }

    /// The reminder's tries that count against its retries: every claim but the holds for a
    /// configuration problem, which were no try of the message. (The claim counter itself
    /// cannot give them back: it fences the claims.) History is read only after a first
    /// try, so a burst of first-attempt 4xx replies costs no reads.
    async fn tries(&self, reminder: &Reminder) -> Result<u32, EngineError> {
        let claims = u32::try_from(reminder.attempts).unwrap_or(u32::MAX);
        if claims <= 1 {
            return Ok(claims);
        }
        let history = events::for_subject(
            &mut *self.store.conn().await?,
            EventSubject::Reminder(reminder.id),
        )
        .await?;
        let holds = history
            .iter()
            .filter(|e| e.action == EventAction::Retry.as_str() && e.detail.starts_with(HELD))
            .count();
        Ok(claims.saturating_sub(u32::try_from(holds).unwrap_or(u32::MAX)))
    }

    /// Puts a reminder the mail server turned away for now back in the queue, due at `at`.
    async fn record_retry(
        &self,
        reminder: &Reminder,
        reply: &str,
        at: Timestamp,
    ) -> Result<Outcome, EngineError> {
        // The store keeps milliseconds: the time announced is the one kept, rounded up so
        // that the retry never comes before its backoff.
        let at = at
            .round(
                jiff::TimestampRound::new()
                    .smallest(jiff::Unit::Millisecond)
                    .mode(jiff::RoundMode::Ceil),
            )
            .unwrap_or(at);
        let now = self.clock.now();
        let mut tx = self.store.begin().await?;
        if !reminders::release(
            &mut tx,
            reminder.id,
            reminder.attempts,
            at,
            Some(reply),
            now,
        )
        .await?
        {
            return Ok(Outcome::Fenced);
        }
        reminder_event(
            &mut tx,
            now,
            reminder.id,
            EventAction::Retry,
            &format!("{reply}; next attempt at {at}"),
        )
        .await?;
        tickler_store::commit(tx).await?;
        Ok(Outcome::Retry {
            at,
            error: reply.to_string(),
        })
    }

    pub(crate) async fn finish(
        &self,
        reminder: &Reminder,
        status: ReminderStatus,
        reason: &str,
        reply: Option<&str>,
        outcome: Outcome,
    ) -> Result<Outcome, EngineError> {
        let now = self.clock.now();
        let mut tx = self.store.begin().await?;
        if !close_claimed(&mut tx, reminder, status, reason, reply, now).await? {
            return Ok(Outcome::Fenced);
        }
        tickler_store::commit(tx).await?;
        Ok(outcome)
    }

    /// Records a permanent failure and queues a notice to the contract's owner, in one
    /// transaction, so the failure is never silent.
    pub(crate) async fn fail(
        &self,
        reminder: &Reminder,
        subject: Option<&Subject>,
        subject_line: &str,
        reason: &str,
    ) -> Result<Outcome, EngineError> {
        let now = self.clock.now();
        let mut tx = self.store.begin().await?;
        if !close_claimed(
            &mut tx,
            reminder,
            ReminderStatus::Failed,
            reason,
            Some(reason),
            now,
        )
        .await?
        {
            return Ok(Outcome::Fenced);
        }
        self.announce_about(
            &mut tx,
            now,
            WebhookEvent::ReminderFailed,
            EventSubject::Reminder(reminder.id),
            json!({ "reason": reason }),
        )
        .await?;
        // An invoice or a quote that never reached its customer matters as much as a step.
        if let Some(subject) = subject.filter(|_| {
            reminder.kind == ReminderKind::Step
                || reminder.step_key == INVOICE_EMAIL
                || reminder.step_key == QUOTE_EMAIL
        }) {
            let failure = failure_view(reminder, subject_line, reason);
            self.queue_owner_notice(
                &mut tx,
                reminder,
                subject,
                OwnerNotice::DeliveryFailed(failure),
                now,
            )
            .await?;
        }
        tickler_store::commit(tx).await?;
        tracing::error!(reminder = reminder.id, %reason, "delivery failed");
        Ok(Outcome::Failed {
            reply: reason.to_string(),
        })
    }

    /// Queues an internal email to the contract's owner about `reminder`, in `tx`; nothing if
    /// the contract has no owner. At most one notice of a kind per reminder: a repeat (after
    /// a crash) finds it already queued.
    async fn queue_owner_notice(
        &self,
        tx: &mut tickler_store::Db,
        reminder: &Reminder,
        subject: &Subject,
        notice: OwnerNotice,
        now: Timestamp,
    ) -> Result<(), EngineError> {
        let Some(owner) = &subject.owner else {
            return Ok(());
        };
        let (template, label, rendered) = self.owner_notice(reminder, subject, notice)?;
        let key = format!("{template}:{}", reminder.id);
        let notice = InternalNotice {
            about: reminder.about,
            contract_id: reminder.contract_id,
            key: &key,
            label,
            template,
            to: std::slice::from_ref(&owner.email),
        };
        if let Some(notice_id) = self.insert_notice(tx, &notice, &rendered, now).await? {
            reminder_event(
                tx,
                now,
                notice_id,
                EventAction::Scheduled,
                &format!("notice to {} about reminder {}", owner.email, reminder.id),
            )
            .await?;
        }
        Ok(())
    }

    /// The template, label and text of an internal notice to the owner about `reminder`:
    /// what [`Self::queue_owner_notice`] queues, and what a preview shows before it is.
    pub(crate) fn owner_notice<'r>(
        &self,
        reminder: &'r Reminder,
        subject: &Subject,
        notice: OwnerNotice,
    ) -> Result<(&'r str, &'static str, tickler_mail::Rendered), EngineError> {
        let (template, label, failure) = match notice {
            OwnerNotice::DeliveryFailed(failure) => {
                (templates::DELIVERY_FAILED, "Delivery failed", Some(failure))
            }
            OwnerNotice::WaitingForYou => (templates::OWNER_ALERT, "Waiting for you", None),
            OwnerNotice::TaskAssigned => (reminder.template.as_str(), "Task for you", None),
        };
        let mut ctx = self.template_context(reminder, subject, failure);
        ctx.customer.language = Default::default();
        // The team's own wording of the notice, if they edited it (English: it is internal).
        let rendered = self.render_template(
            template,
            tickler_core::language::Language::En,
            subject,
            &ctx,
        )?;
        Ok((template, label, rendered))
    }

    /// Queues an internal notice, pre-rendered, due now; `None` when one with its key
    /// exists already (a repeat after a crash, or another dispatcher's).
    pub(crate) async fn insert_notice(
        &self,
        tx: &mut tickler_store::Db,
        notice: &InternalNotice<'_>,
        rendered: &tickler_mail::Rendered,
        now: Timestamp,
    ) -> Result<Option<i64>, EngineError> {
        let inserted = reminders::insert(
            tx,
            &NewReminder {
                about: notice.about,
                anchor: None,
                contract_id: notice.contract_id,
                kind: ReminderKind::Notice,
                step_key: notice.key,
                position: -1,
                label: notice.label,
                template: notice.template,
                offset_days: 0,
                mode: tickler_core::plan::Mode::Internal,
                send_at: now,
                to: notice.to,
                cc: &[],
                subject: Some(&rendered.subject),
                body: Some(&rendered.body),
                message_id: &self.new_message_id(),
            },
            now,
        )
        .await;
        match inserted {
            Ok(notice_id) => Ok(Some(notice_id)),
            Err(e) if e.is_unique_violation() => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    /// Alerts owners of steps that wait for a person whose time has come, once each: an
    /// `approval` step stays scheduled for a person to send or skip; a `task` step becomes
    /// the owner's task (see `assign_task`), in the same transaction.
    pub(crate) async fn alert_owners(&self) -> Result<usize, EngineError> {
        let mut alerted = 0;
        loop {
            let now = self.clock.now();
            let mut tx = self.store.begin().await?;
            let due = reminders::take_due_alerts(
                &mut tx,
                self.store.backend(),
                now,
                self.settings.batch_size,
            )
            .await?;
            if due.is_empty() {
                return Ok(alerted);
            }
            for reminder in &due {
                let subject = Subject::load(&mut tx, reminder.about).await?;
                if stop_reason(reminder, &subject).is_some() {
                    continue;
                }
                if reminder.mode == tickler_core::plan::Mode::Task {
                    self.assign_task(&mut tx, reminder, &subject, now).await?;
                    let notice = OwnerNotice::TaskAssigned;
                    self.queue_owner_notice(&mut tx, reminder, &subject, notice, now)
                        .await?;
                    alerted += 1;
                    continue;
                }
                self.queue_owner_notice(
                    &mut tx,
                    reminder,
                    &subject,
                    OwnerNotice::WaitingForYou,
                    now,
                )
                .await?;
                reminder_event(
                    &mut tx,
                    now,
                    reminder.id,
                    EventAction::OwnerAlerted,
                    &format!(
                        "its time has come; it waits for a person ({})",
                        reminder.mode.as_str()
                    ),
                )
                .await?;
                alerted += 1;
            }
            tickler_store::commit(tx).await?;
        }
    }

    /// Runs the dispatcher until `shutdown` turns true: runs the recurring jobs that are
    /// due, sends what is due, then sleeps until the next due instant, the next job, a
    /// notification from another instance (PostgreSQL), or the poll interval, whichever comes
    /// first. While the database is unreachable it backs off and tries again. A shutdown lets
    /// the batch in flight finish and record its outcomes; nothing claimed is abandoned.
    pub async fn run_dispatcher(&self, mut shutdown: tokio::sync::watch::Receiver<bool>) {
        tracing::info!(worker = %self.settings.worker_id, mail = %self.mailer.describe(), "dispatcher started");
        let wake = self.due_work.clone();
        let listener = self.spawn_listener(wake.clone());
        // Webhooks go out beside the emails, so that a slow receiver never holds up a send.
        let webhooks = {
            let engine = self.clone();
            let shutdown = shutdown.clone();
            tokio::spawn(async move { engine.run_webhook_deliverer(shutdown).await })
        };
        let mut failures = 0u32;
        while !*shutdown.borrow() {
            let pause = match self.dispatch_until_idle(&shutdown).await {
                Ok(()) => {
                    if failures > 0 {
                        tracing::info!("the database answers again");
                    }
                    failures = 0;
                    self.idle_time()
                        .await
                        .unwrap_or(self.settings.poll_interval)
                }
                Err(e) => {
                    metrics::counter!("tickler_dispatcher_database_errors_total").increment(1);
                    failures = failures.saturating_add(1);
                    let pause = Duration::from_secs(1u64 << failures.min(4));
                    tracing::error!(error = %e, retry_in = ?pause, "dispatcher could not reach the database");
                    pause
                }
            };
            tokio::select! {
                _ = tokio::time::sleep(pause) => {}
                _ = wake.notified() => {}
                _ = shutdown.changed() => {}
            }
        }
        listener.abort();
        if let Err(e) = webhooks.await {
            tracing::error!(error = %e, "the webhook deliverer ended abnormally");
        }
        tracing::info!("dispatcher stopped");
    }

    /// On PostgreSQL, listens for other instances' notices: due work wakes the dispatcher,
    /// saved settings are loaded again. On SQLite there is nobody to hear; the task ends.
    fn spawn_listener(&self, wake: Arc<Notify>) -> tokio::task::JoinHandle<()> {
        let engine = self.clone();
        tokio::spawn(async move {
            let mut listener = loop {
                match engine.store.listen().await {
                    Ok(Some(listener)) => break listener,
                    Ok(None) => return,
                    // The database may be down at start-up too; polling covers the meantime.
                    Err(e) => {
                        tracing::warn!(error = %e, "cannot listen for notifications yet; polling");
                        tokio::time::sleep(engine.settings.poll_interval).await;
                    }
                }
            };
            tracing::info!("listening for notifications from other instances");
            loop {
                match listener.next().await {
                    Notice::DueWork => {
                        tracing::debug!("notified of new or changed due work");
                        wake.notify_one();
                    }
                    Notice::Settings => engine.reload_settings().await,
                    Notice::Reconnected => {
                        // Notices may have been missed while the connection was down.
                        engine.reload_settings().await;
                        wake.notify_one();
                    }
                }
            }
        })
    }

    async fn reload_settings(&self) {
        match self.load_settings().await {
            Ok(()) => tracing::info!("settings changed by another instance: reloaded"),
            Err(e) => tracing::warn!(error = %e, "could not reload the settings"),
        }
    }

    async fn dispatch_until_idle(
        &self,
        shutdown: &tokio::sync::watch::Receiver<bool>,
    ) -> Result<(), EngineError> {
        self.before_sending().await?;
        while !*shutdown.borrow() {
            let batch = self.claim_batch(self.clock.now()).await?;
            if batch.is_empty() {
                break;
            }
            self.deliver_all(batch).await;
        }
        Ok(())
    }

    /// How long to sleep: until the next due reminder or recurring job, at most the poll
    /// interval.
    async fn idle_time(&self) -> Result<Duration, StoreError> {
        let mut db = self.store.conn().await?;
        let due = reminders::next_wake_up(&mut db).await?;
        let billing = tickler_store::billing::next_bill_at(&mut db).await?;
        let due = match (due, billing) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        let job = jobs::next_run(&mut db).await?;
        drop(db);
        // Reminders are due on the engine's clock, jobs on the wall clock (see jobs.rs).
        let wait_until = |at: Option<Timestamp>, now: Timestamp| {
            at.map(|at| Duration::try_from(now.duration_until(at)).unwrap_or(Duration::ZERO))
        };
        let waits = [
            wait_until(due, self.clock.now()),
            wait_until(job, Timestamp::now()),
        ];
        Ok(waits
            .into_iter()
            .flatten()
            .min()
            .unwrap_or(self.settings.poll_interval)
            .min(self.settings.poll_interval))
    }
}

/// Records what the dispatcher did to a reminder, in its history.
pub(crate) async fn reminder_event(
    tx: &mut tickler_store::Db,
    at: Timestamp,
    reminder_id: i64,
    action: EventAction,
    detail: &str,
) -> Result<(), tickler_store::StoreError> {
    events::record(
        tx,
        at,
        events::SYSTEM,
        EventSubject::Reminder(reminder_id),
        action,
        detail,
    )
    .await
}

/// Ends a claimed reminder with an event, inside `tx`; false if another dispatcher holds
/// the claim now (fencing), and then nothing is written.
async fn close_claimed(
    tx: &mut tickler_store::Db,
    reminder: &Reminder,
    status: ReminderStatus,
    reason: &str,
    reply: Option<&str>,
    now: Timestamp,
) -> Result<bool, EngineError> {
    if !reminders::finish_claimed(
        tx,
        reminder.id,
        reminder.attempts,
        status,
        reason,
        reply,
        now,
    )
    .await?
    {
        return Ok(false);
    }
    reminder_event(tx, now, reminder.id, EventAction::reached(status), reason).await?;
    Ok(true)
}

/// "3 d 4 h", "5 min", "12 s": how late or early a message went out, for the history.
fn human_duration(seconds: i64) -> String {
    let (days, hours, minutes) = (
        seconds / 86_400,
        seconds % 86_400 / 3_600,
        seconds % 3_600 / 60,
    );
    match (days, hours, minutes) {
        (0, 0, 0) => format!("{seconds} s"),
        (0, 0, m) => format!("{m} min"),
        (0, h, m) => format!("{h} h {m} min"),
        (d, h, _) => format!("{d} d {h} h"),
    }
}

/// Why a claimed reminder must not go out after all (DESIGN.md: the stop rules are
/// re-checked at send time).
pub(crate) fn stop_reason(reminder: &Reminder, subject: &Subject) -> Option<String> {
    subject.stop_reason(reminder)
}

#[cfg(test)]
mod tests {
    #[test]
    fn durations_read_naturally() {
        assert_eq!(super::human_duration(12), "12 s");
        assert_eq!(super::human_duration(300), "5 min");
        assert_eq!(super::human_duration(3 * 3600 + 120), "3 h 2 min");
        assert_eq!(super::human_duration(2 * 86_400 + 3600), "2 d 1 h");
    }
}
