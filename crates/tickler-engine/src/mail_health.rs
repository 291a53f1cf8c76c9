//! Whether mail can leave at all: the last configuration problem a send ran into (an
//! untrusted certificate, a server without the STARTTLS a login needs), until a send
//! succeeds again. `/healthz`, the dashboard and the Settings page show it; the dispatcher
//! holds reminders while it lasts instead of retrying them into failure.

use std::sync::RwLock;

use tickler_mail::{Delivery, OutgoingMessage, SendError};

use crate::Engine;

/// The mailer's health as the last sends found it. One per process, shared by the
/// dispatcher and the web app.
#[derive(Debug, Default)]
pub struct MailHealth {
    problem: RwLock<Option<String>>,
}

impl MailHealth {
    /// The configuration problem that stops mail, if any: host and reason, never a password.
    pub fn problem(&self) -> Option<String> {
        self.problem.read().map(|p| p.clone()).unwrap_or_default()
    }

    /// Notes what a send found. A new configuration problem is logged at error level once,
    /// not at every reminder it holds; its end is logged too.
    fn observe(&self, sent: &Result<Delivery, SendError>) {
        let Ok(mut problem) = self.problem.write() else {
            return;
        };
        match sent {
            Err(SendError::Configuration { problem: found }) => {
                if problem.as_deref() != Some(found) {
                    tracing::error!(problem = %found, "mail cannot leave until the SMTP settings or the server are fixed");
                    *problem = Some(found.clone());
                }
            }
            Ok(_) => {
                if let Some(old) = problem.take() {
                    tracing::info!(problem = %old, "mail leaves again");
                }
            }
            Err(_) => {}
        }
    }
}

impl Engine {
    /// Sends through the mailer and keeps [`MailHealth`] up to date: every send goes here.
    pub(crate) async fn send_mail(&self, message: &OutgoingMessage) -> Result<Delivery, SendError> {
        let sent = self.mailer.send(message).await;
        self.mail_health.observe(&sent);
        sent
    }

    /// Why mail cannot leave right now, if a send found a configuration problem: for
    /// `/healthz`, the dashboard's banner and the Settings page.
    pub fn mail_problem(&self) -> Option<String> {
        self.mail_health.problem()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_configuration_problem_lasts_until_a_send_succeeds() {
        let health = MailHealth::default();
        assert_eq!(health.problem(), None);
        let problem = "SMTP TLS: certificate of smtp.example not trusted (unknown issuer)";
        health.observe(&Err(SendError::Configuration {
            problem: problem.to_string(),
        }));
        assert_eq!(health.problem().as_deref(), Some(problem));
        // Other failures say nothing about the settings: the problem stays.
        for other in [
            SendError::Transient {
                reply: "421 busy".to_string(),
            },
            SendError::Permanent {
                code: 550,
                reply: "550 no such user".to_string(),
            },
        ] {
            health.observe(&Err(other));
            assert_eq!(health.problem().as_deref(), Some(problem));
        }
        health.observe(&Ok(Delivery {
            reply: "250 OK".to_string(),
        }));
        assert_eq!(health.problem(), None);
    }
}
