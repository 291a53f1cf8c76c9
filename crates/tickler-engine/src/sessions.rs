//! Web sessions: logging in (with throttling of guessed passwords), who is behind a
//! session token, and logging out.

use std::{net::IpAddr, time::Duration};

use base64::{Engine as _, engine::general_purpose::URL_SAFE_NO_PAD};
use jiff::{SignedDuration, Timestamp};
use sha2::{Digest, Sha256};
use tickler_core::login_throttle::{self, Admission, Failures, Standing};
use tickler_store::{Db, sessions, users};

use crate::{Engine, EngineError, browse::User, passwords};

/// Failed logins within this window count towards throttling; a quiet window forgets them.
const THROTTLE_WINDOW: SignedDuration = SignedDuration::from_secs(15 * 60);

/// The failure counts a password attempt is throttled by (see [`login_throttle`]).
pub(crate) struct ThrottleKeys {
    client: String,
    account: String,
    pair: String,
}

impl ThrottleKeys {
    pub(crate) fn new(email: &str, client: IpAddr) -> ThrottleKeys {
        ThrottleKeys {
            client: format!("ip:{client}"),
            account: format!("email:{email}"),
            pair: format!("email:{email} ip:{client}"),
        }
    }
}

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
pub(crate) fn token_hash(token: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(token.as_bytes()))
}

/// A session setting (idle time, lifetime) as a duration to add to instants.
fn as_span(setting: Duration) -> SignedDuration {
    SignedDuration::try_from(setting).unwrap_or(SignedDuration::from_hours(8))
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
    /// Too many recent failures of this client (or of this client and account): refused
    /// without a look at the password until the delay they owe has passed, in `retry_after`.
    Throttled {
        retry_after: SignedDuration,
    },
    /// Wrong email or password, or an inactive account; the failure is counted.
    Refused,
    Started(NewSession),
}

impl Engine {
    /// The user behind a session token, sliding the session's expiry forward by `idle` but
    /// never past `max` from login; `None` for an unknown or expired token, or a deactivated
    /// user (whose session ends).
    pub async fn current_session(
        &self,
        token: &str,
        idle: Duration,
        max: Duration,
    ) -> Result<Option<LiveSession>, EngineError> {
        let hash = token_hash(token);
        let now = self.clock.now();
        let mut conn = self.store.conn().await?;
        let Some(session) = sessions::find_live(&mut conn, &hash, now).await? else {
            return Ok(None);
        };
        // However active, a session ends `max` after login: a stolen cookie dies with it.
        let end_of_life = session
            .created_at
            .saturating_add(as_span(max))
            .unwrap_or(session.created_at);
        if now >= end_of_life {
            sessions::delete(&mut conn, &hash).await?;
            return Ok(None);
        }
        let user = users::get(&mut conn, session.user_id).await?;
        if !user.active {
            sessions::delete(&mut conn, &hash).await?;
            return Ok(None);
        }
        // Only write when a noticeable part of the idle time has passed, not on every request.
        let renewed = now
            .saturating_add(as_span(idle))
            .unwrap_or(now)
            .min(end_of_life);
        if renewed.duration_since(session.expires_at) > SignedDuration::from_secs(60) {
            sessions::touch(&mut conn, &hash, now, renewed).await?;
        }
        Ok(Some(LiveSession {
            user,
            csrf: session.csrf_token,
            notice: session.notice,
        }))
    }

    /// Checks an email and password, throttled by [`login_throttle`]: the attempt is counted
    /// first (so a parallel burst is counted in full), then refused, or checked after the
    /// delay that the client's failures owe. No database connection is held while waiting or
    /// hashing: a burst of slowed logins must not starve the pages and the dispatcher. A
    /// success takes its own count back (the client's failures on other accounts stay) and
    /// starts a new session, ending `previous` (the browser's old token, if any), so that a
    /// token planted before login is worthless after it.
    pub async fn log_in(
        &self,
        email: &str,
        password: &str,
        client: IpAddr,
        previous: Option<&str>,
        idle: Duration,
    ) -> Result<LogIn, EngineError> {
        let email = email.trim().to_lowercase();
        let keys = ThrottleKeys::new(&email, client);
        if let Some(retry_after) = self.admit_attempt(&keys).await? {
            tracing::warn!(email = %loggable_login(&email), ip = %client, retry_after = %retry_after, "login refused: too many failures");
            return Ok(LogIn::Throttled { retry_after });
        }

        let found = users::credentials(&mut *self.store.conn().await?, &email).await?;
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
            tracing::warn!(email = %loggable_login(&email), ip = %client, "failed login");
            return Ok(LogIn::Refused);
        };
        self.forgive_attempt(&keys).await?;
        let mut conn = self.store.conn().await?;
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

    /// Counts a password attempt (before it is checked, so that a parallel burst is counted
    /// in full) and waits out the delay the client's failures owe, holding no connection
    /// meanwhile; `Some(retry_after)` when the delay is too long to wait: refuse the attempt.
    pub(crate) async fn admit_attempt(
        &self,
        keys: &ThrottleKeys,
    ) -> Result<Option<SignedDuration>, EngineError> {
        let now = self.clock.now();
        let since = now.saturating_sub(THROTTLE_WINDOW).unwrap_or(now);
        let standing = {
            let mut conn = self.store.conn().await?;
            let mut count = async |key: &str| {
                sessions::count_attempt(&mut conn, key, now, since)
                    .await
                    .map(|(count, last_at)| Failures { count, last_at })
            };
            Standing {
                client: count(&keys.client).await?,
                account: count(&keys.account).await?,
                pair: count(&keys.pair).await?,
            }
        };
        match login_throttle::admit(standing, now) {
            Admission::Refuse { retry_after } => Ok(Some(retry_after)),
            Admission::Check { wait } => {
                if wait.is_positive() {
                    tokio::time::sleep(wait.unsigned_abs()).await;
                }
                Ok(None)
            }
        }
    }

    /// Takes back the count of an attempt whose password was right: only its own, so the
    /// client's failures on other accounts still count.
    pub(crate) async fn forgive_attempt(&self, keys: &ThrottleKeys) -> Result<(), EngineError> {
        let mut conn = self.store.conn().await?;
        sessions::take_back_attempt(&mut conn, &keys.client).await?;
        sessions::take_back_attempt(&mut conn, &keys.account).await?;
        sessions::clear_failures(&mut conn, &keys.pair).await?;
        Ok(())
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
        now.saturating_add(as_span(idle)).unwrap_or(now),
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
