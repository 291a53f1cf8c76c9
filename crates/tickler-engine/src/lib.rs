//! Tickler's use cases: the only writer of state. The CLI, the web app and the dispatcher
//! all call these functions, so every rule lives in one place.

pub mod agenda;
pub mod answer_links;
pub mod answers;
pub mod backups;
pub mod billing;
pub mod browse;
pub mod calendar;
pub mod contracts;
pub mod digests;
pub mod directory;
pub mod dispatch;
mod documents;
mod error;
pub mod export;
pub mod idempotency;
pub mod import;
pub mod invitations;
pub mod invoice_view;
pub mod invoicing;
pub mod jobs;
pub mod mail_health;
mod message;
pub mod outgoing;
pub mod passwords;
mod people;
pub mod pipeline;
pub mod plan_catalogue;
pub mod plans;
pub mod previews;
pub mod quote_view;
pub mod quotes;
mod recipients;
mod renewals;
pub mod review;
mod scheduling;
pub use scheduling::PASSED_WHEN_PLANNED;
pub mod sessions;
pub mod settings;
pub mod setup;
pub mod tasks;
pub mod tokens;
pub mod transfer;
pub mod webhooks;

use std::{sync::Arc, time::Duration};

pub use error::EngineError;
use tickler_core::{backoff::RetryPolicy, clock::Clock, time_zone::Zone};
use tickler_mail::{Mailer, Renderer, Sender};
use tickler_store::Store;

/// Organisation-wide settings the use cases need.
#[derive(Debug, Clone)]
pub struct Settings {
    pub organisation_name: String,
    /// The zone of customers who have none.
    pub default_time_zone: Zone,
    pub mail_from: Sender,
    /// Names this process in leases and logs.
    pub worker_id: String,
    /// How long a claim holds before another dispatcher may take it over.
    pub lease: Duration,
    /// Reminders claimed per transaction.
    pub batch_size: i64,
    /// Messages in flight at once.
    pub concurrency: usize,
    pub retry: RetryPolicy,
    /// Longest sleep of an idle dispatcher between looks at the database. Work entered
    /// elsewhere is seen sooner: at its due instant, or at once through PostgreSQL's
    /// notifications; on SQLite, work entered by another process waits for this look.
    pub poll_interval: Duration,
    /// Where the customer's one-click links point (`TICKLER_PUBLIC_URL`): the web app of
    /// `serve`, as customers reach it. Without it, emails say how to answer by reply.
    pub public_url: Option<String>,
}

/// Everything a use case needs; cheap to clone.
#[derive(Clone)]
pub struct Engine {
    pub(crate) store: Store,
    pub(crate) mailer: Arc<Mailer>,
    pub(crate) mail_health: Arc<mail_health::MailHealth>,
    pub(crate) renderer: Arc<Renderer>,
    pub(crate) clock: Arc<dyn Clock>,
    /// The effective settings: the environment's, overlaid by what admins saved.
    pub(crate) settings: settings::Live,
    /// Wakes this process's dispatcher when a change here may have made something due
    /// sooner; other processes hear of it through PostgreSQL's notifications.
    pub(crate) due_work: Arc<tokio::sync::Notify>,
    /// Wakes this process's webhook deliverer when a change here announced something.
    pub(crate) webhook_work: Arc<tokio::sync::Notify>,
    /// The link secret as last read from the database, for signing the links of emails
    /// rendered without a connection at hand; checking a link always reads it afresh.
    pub(crate) link_secret_cache: Arc<std::sync::RwLock<Option<Arc<[u8]>>>>,
    /// The renewal pipeline's figures, kept a minute when they are slow to count.
    pub(crate) pipeline_cache: Arc<pipeline::PipelineCache>,
}

impl Engine {
    pub fn new(store: Store, mailer: Mailer, clock: Arc<dyn Clock>, settings: Settings) -> Engine {
        Engine {
            store,
            mailer: Arc::new(mailer),
            mail_health: Arc::default(),
            renderer: Arc::new(Renderer::new()),
            clock,
            settings: settings::Live::new(settings),
            due_work: Arc::new(tokio::sync::Notify::new()),
            webhook_work: Arc::new(tokio::sync::Notify::new()),
            link_secret_cache: Arc::default(),
            pipeline_cache: Arc::default(),
        }
    }

    /// Commits a change that may move reminders (a contract, a customer, a plan, an edit,
    /// an import) and wakes this process's dispatcher to look again, so that an email
    /// moved to a minute from now goes out then, not at the next poll.
    pub(crate) async fn commit_schedule_change(
        &self,
        tx: tickler_store::Tx,
    ) -> Result<(), tickler_store::StoreError> {
        tickler_store::commit(tx).await?;
        self.due_work.notify_one();
        Ok(())
    }

    /// The same engine as of another clock (`dispatch --once --now`).
    pub fn with_clock(&self, clock: Arc<dyn Clock>) -> Engine {
        Engine {
            clock,
            ..self.clone()
        }
    }

    /// "Now" as this engine's clock tells it: pages and tests see the same instant as
    /// the use cases they call.
    pub fn now(&self) -> jiff::Timestamp {
        self.clock.now()
    }

    /// Whether the database answers a trivial query within two seconds: for health checks.
    pub async fn ping(&self) -> Result<(), EngineError> {
        Ok(self.store.ping().await?)
    }

    /// The effective settings: the environment's defaults overlaid by those saved in the
    /// web app (see [`settings`]).
    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// The settings the process was started with, before the saved ones apply.
    pub fn default_settings(&self) -> &Settings {
        self.settings.defaults()
    }

    /// Where mail goes (an SMTP server or the outbox folder), for logs; never the password.
    pub fn mail_route(&self) -> String {
        self.mailer.describe()
    }

    /// True when messages are only written to the outbox folder, not sent: worth a warning.
    pub fn mail_goes_to_outbox(&self) -> bool {
        self.mailer.is_outbox()
    }
}

/// Who asked for a change, as recorded in events: a user's email, or "system".
#[derive(Debug, Clone)]
pub struct Actor(pub String);

impl Actor {
    pub fn system() -> Actor {
        Actor(tickler_store::events::SYSTEM.to_string())
    }
}
