//! Passwords: argon2 hashes, for the web app's logins and `user add --password-stdin`.

use argon2::{
    Argon2, PasswordHash, PasswordHasher, PasswordVerifier,
    password_hash::{SaltString, rand_core::OsRng},
};
use tickler_core::ValidationError;
use tickler_core::event::{EventAction, EventSubject};
use tickler_store::{events, sessions, users};

use crate::{Actor, Engine, EngineError};

/// Shortest password accepted.
pub const MIN_LENGTH: usize = 10;

pub fn check_strength(password: &str) -> Result<(), ValidationError> {
    if password.chars().count() < MIN_LENGTH {
        return Err(ValidationError::new(
            "password",
            format!("must have at least {MIN_LENGTH} characters"),
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

impl Engine {
    /// Sets a user's password and ends their open sessions.
    pub async fn set_password(
        &self,
        user_id: i64,
        password: &str,
        actor: &Actor,
    ) -> Result<(), EngineError> {
        check_strength(password)?;
        let hashed = {
            let password = password.to_string();
            tokio::task::spawn_blocking(move || hash(&password))
                .await
                .map_err(|e| EngineError::Internal(format!("password hashing stopped: {e}")))??
        };
        let now = self.clock.now();
        let mut tx = self.store.begin().await?;
        users::set_password_hash(&mut tx, user_id, &hashed).await?;
        sessions::delete_for_user(&mut tx, user_id).await?;
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
}
