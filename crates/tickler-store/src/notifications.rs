//! Wake-ups between instances sharing a PostgreSQL database: triggers (migration 0005)
//! notify `tickler_due` when a reminder becomes due work and `tickler_settings` when an
//! admin saves settings; each instance listens on its own connection. SQLite has a single
//! process and no such channel: there, instances look at the database at the next due
//! instant or poll.

use std::time::Duration;

use sqlx::postgres::PgListener;

use crate::{Backend, DatabaseUrl, Store, StoreError};

const DUE_CHANNEL: &str = "tickler_due";
const SETTINGS_CHANNEL: &str = "tickler_settings";

/// What another instance (or this one) changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Notice {
    /// A reminder was scheduled, rescheduled or put back for a retry.
    DueWork,
    /// Settings or holidays were saved.
    Settings,
    /// The connection was lost and is back: notices sent meanwhile are gone, so the listener
    /// should look at everything again.
    Reconnected,
}

/// One instance's subscription to the notices of the others.
pub struct Listener {
    url: DatabaseUrl,
    inner: PgListener,
}

impl Store {
    /// Subscribes to the notices of every instance on this database; `None` on SQLite.
    pub async fn listen(&self) -> Result<Option<Listener>, StoreError> {
        if self.backend != Backend::Postgres {
            return Ok(None);
        }
        let inner = subscribe(&self.url).await?;
        Ok(Some(Listener {
            url: self.url.clone(),
            inner,
        }))
    }
}

async fn subscribe(url: &DatabaseUrl) -> Result<PgListener, StoreError> {
    let mut listener = PgListener::connect(&url.0).await.map_err(|e| {
        StoreError::Unavailable(format!("cannot listen for notifications on {url:?}: {e}"))
    })?;
    listener.listen_all([DUE_CHANNEL, SETTINGS_CHANNEL]).await?;
    Ok(listener)
}

impl Listener {
    /// Waits for the next notice. When the connection is lost it is made anew, retrying
    /// with growing pauses (up to 30 s) for as long as the database stays away, and the
    /// return is reported as [`Notice::Reconnected`].
    pub async fn next(&mut self) -> Notice {
        match self.inner.try_recv().await {
            Ok(Some(notification)) => match notification.channel() {
                SETTINGS_CHANNEL => Notice::Settings,
                _ => Notice::DueWork,
            },
            // sqlx has already reconnected (or will on the next call).
            Ok(None) => Notice::Reconnected,
            Err(e) => {
                tracing::warn!(error = %e, "lost the notification connection");
                self.reconnect().await;
                Notice::Reconnected
            }
        }
    }

    async fn reconnect(&mut self) {
        let mut failures = 0u32;
        loop {
            let pause = Duration::from_secs(1u64 << failures.min(5)).min(MAX_PAUSE);
            tokio::time::sleep(pause).await;
            match subscribe(&self.url).await {
                Ok(inner) => {
                    self.inner = inner;
                    tracing::info!("listening for notifications again");
                    return;
                }
                Err(e) => {
                    failures = failures.saturating_add(1);
                    tracing::warn!(error = %e, retry_in = ?pause, "cannot listen for notifications yet");
                }
            }
        }
    }
}

const MAX_PAUSE: Duration = Duration::from_secs(30);
