//! Web sessions: logging in (with throttling of guessed passwords), who is behind a
//! session token, and logging out.

use std::{net::IpAddr, time::Duration};

use base64::{Engine as _, engine::general_purpose::URL_SAFE_NO_PAD};
use jiff::{SignedDuration, Timestamp};
use sha2::{Digest, Sha256};
use tickler_store::{Db, sessions, users};

use crate::{Engine, EngineError, browse::User, passwords};

/// Failed logins within this window count towards throttling.
const THROTTLE_WINDOW: SignedDuration = SignedDuration::from_secs(15 * 60);
/// From this many failures on, each attempt waits a second first.
const SLOW_AFTER: i64 = 5;
/// From this many failures on, attempts are refused until the window passes.
const REFUSE_AFTER: i64 = 10;

/// What a log line shows of a login name as typed: an address that parses as one, with any
/// odd character escaped, so that a crafted name cannot forge log lines; anything else (a
/// password typed into the email field, say) only as a short hash that tells repeats apart.
fn loggable_login(typed: &str) -> String {
    match tickler_core::email::EmailAddress::parse("email", typed) {
        Ok(address) => address
            .as_str()
            .chars()
            .take(254)
            .flat_map(char::escape_default)
            .collect(),
        Err(_) => {
            let digest = Sha256::digest(typed.as_bytes());
            let hex: String = digest[..6].iter().map(|b| format!("{b:02x}")).collect();
            format!(
                "(not an address, {} characters, sha256 {hex}…)",
                typed.chars().count()
            )
        }
    }
}

/// 32 random bytes, URL-safe: session tokens and form tokens.
pub fn random_token() -> String {
    let bytes: [u8; 32] = rand::random();
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Sessions are stored by hash, so the database never holds a usable token.
fn token_hash(token: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(token.as_bytes()))
}

/// A session ends after this long without a request (the web app's setting).
fn idle_time(idle: Duration) -> SignedDuration {
    SignedDuration::try_from(idle).unwrap_or(SignedDuration::from_hours(8))
}

/// The person behind a live session, and the token its forms must carry.
#[derive(Debug, Clone)]
pub struct LiveSession {
    pub user: User,
    pub csrf: String,
    /// The confirmation waiting for the session's next page (see [`Engine::take_notice`]).
    pub notice: Option<String>,
}

/// A session just started: the token the browser keeps (never stored as such).
#[derive(Debug, Clone)]
pub struct NewSession {
    pub token: String,
    pub user: User,
}

/// What became of a login attempt.
#[derive(Debug)]
pub enum LogIn {
    /// Too many recent failures for this email or address: refused without a look at the
    /// password until the throttle window passes.
    Throttled,
    /// Wrong email or password, or an inactive account; the failure is counted.
    Refused,
    Started(NewSession),
}

impl Engine {
    /// The user behind a session token, sliding the session's expiry forward by `idle`;
    /// `None` for an unknown or expired token, or a deactivated user (whose session ends).
    pub async fn current_session(
        &self,
        token: &str,
        idle: Duration,
    ) -> Result<Option<LiveSession>, EngineError> {
        let hash = token_hash(token);
        let now = self.clock.now();
        let mut conn = self.store.conn().await?;
        let Some(session) = sessions::find_live(&mut conn, &hash, now).await? else {
            return Ok(None);
        };
        let user = users::get(&mut conn, session.user_id).await?;
        if !user.active {
            sessions::delete(&mut conn, &hash).await?;
            return Ok(None);
        }
        // Only write when a noticeable part of the idle time has passed, not on every request.
        let renewed = now.saturating_add(idle_time(idle)).unwrap_or(now);
        if renewed.duration_since(session.expires_at) > SignedDuration::from_secs(60) {
            sessions::touch(&mut conn, &hash, now, renewed).await?;
        }
        Ok(Some(LiveSession {
            user,
            csrf: session.csrf_token,
            notice: session.notice,
        }))
    }

    /// Checks an email and password, throttled per email and per address: from
    /// [`SLOW_AFTER`] recent failures each attempt waits a second, from [`REFUSE_AFTER`] it
    /// is refused. A success starts a new session, ending `previous` (the browser's old
    /// token, if any), so that a token planted before login is worthless after it.
    pub async fn log_in(
        &self,
        email: &str,
        password: &str,
        peer: IpAddr,
        previous: Option<&str>,
        idle: Duration,
    ) -> Result<LogIn, EngineError> {
        let now = self.clock.now();
        let since = now.saturating_sub(THROTTLE_WINDOW).unwrap_or(now);
        let email = email.trim().to_lowercase();
        let keys = [format!("email:{email}"), format!("ip:{peer}")];
        let mut conn = self.store.conn().await?;
        let mut failures = 0;
        for key in &keys {
            failures = failures.max(sessions::failures_since(&mut conn, key, since).await?);
        }
        if failures >= REFUSE_AFTER {
            tracing::warn!(email = %loggable_login(&email), ip = %peer, "login refused: too many failures");
            return Ok(LogIn::Throttled);
        }
        if failures >= SLOW_AFTER {
            tokio::time::sleep(Duration::from_secs(1)).await;
        }

        let found = users::credentials(&mut conn, &email).await?;
        let password = password.to_string();
        let verified = match found {
            Some((user, Some(stored))) if user.active => {
                let ok = tokio::task::spawn_blocking(move || passwords::verify(&password, &stored))
                    .await
                    .map_err(|e| EngineError::Internal(format!("password check stopped: {e}")))?;
                ok.then_some(user)
            }
            _ => {
                // Hash anyway, so a missing account takes as long as a wrong password.
                let _ = tokio::task::spawn_blocking(move || passwords::hash(&password)).await;
                None
            }
        };
        let Some(user) = verified else {
            for key in &keys {
                sessions::record_failure(&mut conn, key, now, since).await?;
            }
            tracing::warn!(email = %loggable_login(&email), ip = %peer, "failed login");
            return Ok(LogIn::Refused);
        };
        for key in &keys {
            sessions::clear_failures(&mut conn, key).await?;
        }
        // The idle time counts from now, not from the request's start: a slow password check
        // on a busy machine must not eat into the session.
        let session = start_session(&mut conn, user, previous, self.clock.now(), idle).await?;
        tracing::info!(email = %session.user.email, "logged in");
        Ok(LogIn::Started(session))
    }

    /// Keeps a one-line confirmation for the next page of `token`'s session: carried by the
    /// session, not the URL, so that a link cannot make a page say anything.
    pub async fn set_notice(&self, token: &str, notice: &str) -> Result<(), EngineError> {
        let mut conn = self.store.conn().await?;
        sessions::set_notice(&mut conn, &token_hash(token), notice).await?;
        Ok(())
    }

    /// Takes the notice `seen` in `token`'s session for the page being shown: `false` if
    /// another request showed it first. After this, the next page shows nothing.
    pub async fn take_notice(&self, token: &str, seen: &str) -> Result<bool, EngineError> {
        let mut conn = self.store.conn().await?;
        Ok(sessions::take_notice(&mut conn, &token_hash(token), seen).await?)
    }

    /// Ends the session of `token`.
    pub async fn log_out(&self, token: &str) -> Result<(), EngineError> {
        let mut conn = self.store.conn().await?;
        sessions::delete(&mut conn, &token_hash(token)).await?;
        Ok(())
    }
}

/// A new session with a new token, after ending `previous` and every expired session.
pub(crate) async fn start_session(
    conn: &mut Db,
    user: User,
    previous: Option<&str>,
    now: Timestamp,
    idle: Duration,
) -> Result<NewSession, EngineError> {
    if let Some(old) = previous {
        sessions::delete(conn, &token_hash(old)).await?;
    }
    sessions::delete_expired(conn, now).await?;
    let token = random_token();
    sessions::insert(
        conn,
        &token_hash(&token),
        user.id,
        &random_token(),
        now,
        now.saturating_add(idle_time(idle)).unwrap_or(now),
    )
    .await?;
    Ok(NewSession { token, user })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failed_logins_log_no_password_and_no_forged_lines() {
        assert_eq!(loggable_login("sam@firm.example"), "sam@firm.example");
        let typed = "correct horse battery staple";
        let shown = loggable_login(typed);
        assert!(!shown.contains("horse"), "{shown}");
        assert!(
            shown.starts_with("(not an address, 28 characters, sha256 "),
            "{shown}"
        );
        let forged = loggable_login("x\n2027-01-01 INFO admin logged in");
        assert!(!forged.contains('\n'), "{forged}");
        assert_eq!(loggable_login(typed), shown, "repeats can be told apart");
    }

    #[test]
    fn tokens_are_random_and_stored_only_hashed() {
        let token = random_token();
        assert_eq!(token.len(), 43, "32 bytes, base64 without padding");
        assert_ne!(token, random_token());
        assert_ne!(token_hash(&token), token);
        assert_eq!(token_hash(&token), token_hash(&token));
    }
}
