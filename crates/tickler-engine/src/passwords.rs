//! Passwords: argon2 hashes, for the web app's logins and `user add --password-stdin`.

use std::{collections::HashSet, net::IpAddr, sync::LazyLock};

use argon2::{
    Argon2, PasswordHash, PasswordHasher, PasswordVerifier,
    password_hash::{SaltString, rand_core::OsRng},
};
use tickler_core::ValidationError;
use tickler_core::event::{EventAction, EventSubject};
use tickler_store::{events, sessions, users};

use crate::{Actor, Engine, EngineError, sessions::ThrottleKeys};

/// Shortest password accepted.
pub const MIN_LENGTH: usize = 10;

/// Passwords long enough but among the first that guessers try (written for Tickler from
/// common patterns: words with digits and years, keyboard rows, counting), one per line,
/// lower case.
const COMMON: &str = include_str!("common_passwords.txt");

/// Whether `password` is in the common list, whatever its case.
fn is_common(password: &str) -> bool {
    static LIST: LazyLock<HashSet<&'static str>> = LazyLock::new(|| COMMON.lines().collect());
    LIST.contains(password.trim().to_lowercase().as_str())
}

/// The one rule for every password set (setup, an admin's form, the CLI, a user's own
/// change): long enough, and not one that guessers try first.
pub fn check_strength(password: &str) -> Result<(), ValidationError> {
    if password.chars().count() < MIN_LENGTH {
        return Err(ValidationError::new(
            "password",
            format!("must have at least {MIN_LENGTH} characters"),
        ));
    }
    if is_common(password) {
        return Err(ValidationError::new(
            "password",
            "is one of the most common passwords, which are guessed first: choose another",
        ));
    }
    Ok(())
}

/// An argon2id hash with a fresh salt, in PHC string form.
pub fn hash(password: &str) -> Result<String, EngineError> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| EngineError::Internal(format!("could not hash the password: {e}")))
}

/// Whether `password` matches `stored`; a malformed stored hash never matches.
pub fn verify(password: &str, stored: &str) -> bool {
    PasswordHash::new(stored)
        .map(|parsed| {
            Argon2::default()
                .verify_password(password.as_bytes(), &parsed)
                .is_ok()
        })
        .unwrap_or(false)
}

/// Hashes off the async threads: argon2 is deliberately slow.
pub(crate) async fn hash_blocking(password: &str) -> Result<String, EngineError> {
    let password = password.to_string();
    tokio::task::spawn_blocking(move || hash(&password))
        .await
        .map_err(|e| EngineError::Internal(format!("password hashing stopped: {e}")))?
}

impl Engine {
    /// Sets a user's password and ends their open sessions.
    pub async fn set_password(
        &self,
        user_id: i64,
        password: &str,
        actor: &Actor,
    ) -> Result<(), EngineError> {
        check_strength(password)?;
        let hashed = hash_blocking(password).await?;
        self.store_password(user_id, &hashed, None, actor).await
    }

    /// A user changes their own password: the current one must be given, and every other
    /// session of theirs ends (a thief's among them), while `session_token`, the one they
    /// made the change in, stays. Guesses at the current password are throttled like logins
    /// (by `client`); no connection is held while the passwords are hashed.
    pub async fn change_own_password(
        &self,
        user_id: i64,
        current: &str,
        new: &str,
        session_token: &str,
        client: IpAddr,
    ) -> Result<(), EngineError> {
        let user = users::get(&mut *self.store.conn().await?, user_id).await?;
        let keys = ThrottleKeys::new(&user.email.to_lowercase(), client);
        if self.admit_attempt(&keys).await?.is_some() {
            tracing::warn!(user_id, ip = %client, "own password change refused: too many wrong current passwords");
            return Err(ValidationError::new(
                "current_password",
                "was given wrong too many times: try again in a few minutes",
            )
            .into());
        }
        let stored = users::credentials(&mut *self.store.conn().await?, &user.email)
            .await?
            .and_then(|(_, stored)| stored);
        let current = current.to_string();
        let matches = match stored {
            Some(stored) => tokio::task::spawn_blocking(move || verify(&current, &stored))
                .await
                .map_err(|e| EngineError::Internal(format!("password check stopped: {e}")))?,
            None => false,
        };
        if !matches {
            tracing::warn!(
                user_id,
                "own password change refused: wrong current password"
            );
            return Err(ValidationError::new("current_password", "is not right").into());
        }
        self.forgive_attempt(&keys).await?;
        check_strength(new).map_err(|e| ValidationError::new("new_password", e.message))?;
        let hashed = hash_blocking(new).await?;
        let keep = crate::sessions::token_hash(session_token);
        self.store_password(user_id, &hashed, Some(&keep), &Actor(user.email))
            .await
    }

    /// Stores a new password hash and ends the user's sessions (all, or all but `keep_hash`),
    /// in one transaction with its event.
    async fn store_password(
        &self,
        user_id: i64,
        hashed: &str,
        keep_hash: Option<&str>,
        actor: &Actor,
    ) -> Result<(), EngineError> {
        let now = self.clock.now();
        let mut tx = self.store.begin().await?;
        users::set_password_hash(&mut tx, user_id, hashed).await?;
        match keep_hash {
            Some(keep) => sessions::delete_others_of_user(&mut tx, user_id, keep).await?,
            None => sessions::delete_for_user(&mut tx, user_id).await?,
        }
        events::record(
            &mut tx,
            now,
            &actor.0,
            EventSubject::User(user_id),
            EventAction::PasswordSet,
            "",
        )
        .await?;
        tickler_store::commit(tx).await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_verify_only_their_password() {
        let stored = hash("correct horse battery").unwrap();
        assert!(stored.starts_with("$argon2id$"));
        assert!(verify("correct horse battery", &stored));
        assert!(!verify("correct horse battery!", &stored));
        assert!(!verify("anything", "not a hash"));
        assert_ne!(stored, hash("correct horse battery").unwrap(), "salted");
    }

    #[test]
    fn short_passwords_are_refused() {
        assert!(check_strength("short").is_err());
        assert!(check_strength("long enough pw").is_ok());
    }

    #[test]
    fn common_passwords_are_refused_whatever_their_case() {
        for common in [
            "password123",
            "Qwertyuiop",
            "1234567890",
            "letmein123",
            "tickler123",
            "Welcome2026",
        ] {
            let refused = check_strength(common);
            assert!(
                refused
                    .as_ref()
                    .is_err_and(|e| e.message.contains("most common")),
                "{common}: {refused:?}"
            );
        }
        assert!(check_strength("ticklers renew contracts").is_ok());
    }

    #[test]
    fn the_common_list_is_lower_case_and_long_enough_to_matter() {
        let entries: Vec<&str> = COMMON.lines().collect();
        assert!(entries.len() > 1000, "{}", entries.len());
        for entry in entries {
            assert_eq!(entry, entry.to_lowercase());
            assert!(
                entry.chars().count() >= MIN_LENGTH,
                "{entry} is refused as short anyway"
            );
        }
    }
}
