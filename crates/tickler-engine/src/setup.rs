//! The one-time setup of the first admin: one transaction that succeeds once, guarded by
//! a `setup_done` row that a second attempt cannot insert, and, when the web app is
//! reachable from other machines, a one-time setup code only the operator can read.

use std::time::Duration;

use sha2::{Digest, Sha256};
use tickler_core::{
    email::EmailAddress,
    event::{EventAction, EventSubject},
    user::Role,
};
use tickler_store::{events, sessions, settings, users};

use crate::{
    Engine, EngineError,
    directory::non_empty,
    passwords,
    sessions::{NewSession, start_session},
};

/// Present once the first admin was set up: from then on the setup is closed for good,
/// whatever becomes of that admin.
const SETUP_DONE: &str = "setup_done";
/// The setup code while the setup is open, in plain text: whoever can read the database
/// (`tickler setup-code`) may set Tickler up anyway. Deleted by the setup that used it.
const SETUP_CODE: &str = "setup_code";

/// Letters and digits that cannot be mistaken for one another when typed from a log.
const CODE_ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyz23456789";

/// What became of the one-time setup.
#[derive(Debug)]
pub enum SetUp {
    /// An admin exists or the setup was done: it happens only once.
    AlreadyDone,
    /// The setup code was required and not the one stored; nothing was changed.
    WrongCode,
    Started(NewSession),
}

/// The first admin as typed in the setup form.
pub struct FirstAdmin<'a> {
    pub email: &'a str,
    pub name: &'a str,
    pub password: &'a str,
    /// The setup code as typed, when the web app requires one (`None`: not asked for).
    pub setup_code: Option<&'a str>,
}

/// 20 characters from [`CODE_ALPHABET`] (about 99 bits) in groups of five.
fn new_setup_code() -> String {
    let groups: Vec<String> = (0..4)
        .map(|_| {
            (0..5)
                .map(|_| {
                    let index = rand::random_range(0..CODE_ALPHABET.len());
                    char::from(CODE_ALPHABET[index])
                })
                .collect()
        })
        .collect();
    groups.join("-")
}

/// Whether a typed code is the stored one. The digests are compared, so the time taken
/// says nothing about how much of the code was right.
fn same_code(typed: &str, stored: &str) -> bool {
    let typed = typed.trim().to_lowercase();
    Sha256::digest(typed.as_bytes()) == Sha256::digest(stored.as_bytes())
}

impl Engine {
    /// Whether the one-time setup is still to be done: no admin has ever been made.
    pub async fn setup_open(&self) -> Result<bool, EngineError> {
        let mut conn = self.store.conn().await?;
        Ok(settings::get(&mut conn, SETUP_DONE).await?.is_none()
            && !users::any_admin(&mut conn).await?)
    }

    /// Whether visitors are sent to the setup page instead of the login page: the setup is
    /// open and nobody can log in yet (users with passwords but no admin still log in).
    pub async fn setup_first(&self) -> Result<bool, EngineError> {
        Ok(self.setup_open().await?
            && !users::any_can_log_in(&mut *self.store.conn().await?).await?)
    }

    /// The code the setup page asks for when reachable from other machines, made on first
    /// request and the same for every process on this database; `None` once the setup is
    /// done.
    pub async fn setup_code(&self) -> Result<Option<String>, EngineError> {
        if !self.setup_open().await? {
            return Ok(None);
        }
        let mut conn = self.store.conn().await?;
        let code =
            settings::get_or_insert(&mut conn, SETUP_CODE, &new_setup_code(), self.clock.now())
                .await?;
        Ok(Some(code))
    }

    /// The one-time setup: while no admin exists, makes `admin` an active admin with that
    /// password (an existing user of that email, e.g. entered as a contract owner, is
    /// promoted) and logs them in. One transaction that inserts the `setup_done` row: of
    /// two simultaneous setups on either backend, the second finds it and changes nothing.
    pub async fn set_up_first_admin(
        &self,
        admin: FirstAdmin<'_>,
        previous: Option<&str>,
        idle: Duration,
    ) -> Result<SetUp, EngineError> {
        let email = EmailAddress::parse("email", admin.email)?;
        let name = non_empty("name", admin.name)?;
        passwords::check_strength(admin.password)?;
        let hashed = {
            let password = admin.password.to_string();
            tokio::task::spawn_blocking(move || passwords::hash(&password))
                .await
                .map_err(|e| EngineError::Internal(format!("password hashing stopped: {e}")))??
        };
        let now = self.clock.now();
        let actor = "setup";
        let mut tx = self.store.begin().await?;
        if users::any_admin(&mut tx).await? {
            return Ok(SetUp::AlreadyDone);
        }
        if let Some(typed) = admin.setup_code {
            let stored = settings::get(&mut tx, SETUP_CODE).await?;
            if !stored.is_some_and(|stored| same_code(typed, &stored)) {
                tracing::warn!("setup refused: wrong setup code");
                return Ok(SetUp::WrongCode);
            }
        }
        if !settings::insert_new(&mut tx, SETUP_DONE, &now.to_string(), now).await? {
            return Ok(SetUp::AlreadyDone);
        }
        settings::delete(&mut tx, SETUP_CODE).await?;
        let id = match users::find_by_email(&mut tx, email.as_str()).await? {
            Some(user) => {
                users::update(
                    &mut tx,
                    &users::User {
                        role: Role::Admin,
                        active: true,
                        ..user.clone()
                    },
                )
                .await?;
                users::set_password_hash(&mut tx, user.id, &hashed).await?;
                sessions::delete_for_user(&mut tx, user.id).await?;
                let detail = format!("role {} to admin, password set", user.role);
                events::record(
                    &mut tx,
                    now,
                    actor,
                    EventSubject::User(user.id),
                    EventAction::Edited,
                    &detail,
                )
                .await?;
                user.id
            }
            None => {
                let id = users::insert(
                    &mut tx,
                    email.as_str(),
                    &name,
                    Role::Admin,
                    Some(&hashed),
                    now,
                )
                .await?;
                let detail = format!("{email} ({})", Role::Admin);
                events::record(
                    &mut tx,
                    now,
                    actor,
                    EventSubject::User(id),
                    EventAction::Created,
                    &detail,
                )
                .await?;
                id
            }
        };
        let user = users::get(&mut tx, id).await?;
        tickler_store::commit(tx).await?;
        tracing::info!(email = %user.email, "first admin set up");
        let mut conn = self.store.conn().await?;
        let session = start_session(&mut conn, user, previous, self.clock.now(), idle).await?;
        Ok(SetUp::Started(session))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn setup_codes_are_random_unambiguous_and_typed_loosely() {
        let code = new_setup_code();
        assert_eq!(code.len(), 23, "{code}");
        assert!(
            code.split('-')
                .all(|group| group.len() == 5 && group.bytes().all(|b| CODE_ALPHABET.contains(&b))),
            "{code}"
        );
        assert_ne!(code, new_setup_code());
        assert!(same_code(&format!(" {} ", code.to_uppercase()), &code));
        assert!(!same_code(&code[1..], &code));
        assert!(!same_code("", &code));
    }
}
