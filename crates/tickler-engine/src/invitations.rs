//! Inviting a member of the team: an admin names them, and they choose their own password
//! through a one-time link that works for 72 hours. Nobody else ever knows the password.

use jiff::{SignedDuration, Timestamp};
use tickler_core::{
    ValidationError,
    email::EmailAddress,
    event::{EventAction, EventSubject},
    user::Role,
};
use tickler_store::{events, invitations, users};

use crate::{
    Actor, Engine, EngineError,
    directory::NewUser,
    passwords::{check_strength, hash_blocking},
    sessions::{random_token, token_hash},
};

/// How long an invitation link works.
pub const INVITATION_VALID: SignedDuration = SignedDuration::from_hours(72);

/// The path of an invitation link, before its token.
pub const INVITATION_PATH: &str = "/invite/";

/// A new invitation: the link (shown once: only its hash is stored) and whether it was
/// emailed to the person.
#[derive(Debug, Clone)]
pub struct Invitation {
    pub user_id: i64,
    /// The whole link with `TICKLER_PUBLIC_URL`, else the path for the admin to pass on.
    pub link: String,
    pub expires_at: Timestamp,
    /// The mail server's reply (or the outbox file) when the link was emailed; why not,
    /// otherwise.
    pub emailed: Result<String, String>,
}

/// Whose an invitation link is, while it may still be used.
#[derive(Debug, Clone)]
pub struct OpenInvitation {
    pub name: String,
    pub email: String,
    pub expires_at: Timestamp,
}

impl Engine {
    /// Invites `email` as a member of the team with `role`: the user is created without a
    /// password (or, already invited and not yet in, given a fresh link) and receives a link
    /// to choose one. A user who can already log in is not invited again.
    pub async fn invite_user(
        &self,
        email: &str,
        name: &str,
        role: Role,
        actor: &Actor,
    ) -> Result<Invitation, EngineError> {
        let address = EmailAddress::parse("email", email)?;
        let user_id = match self.user_by_email(address.as_str()).await? {
            Some(existing) => {
                let mut db = self.store.conn().await?;
                let has_password = users::credentials(&mut db, &existing.email)
                    .await?
                    .and_then(|(_, hash)| hash)
                    .is_some();
                if has_password {
                    return Err(EngineError::Conflict(format!(
                        "{} can already log in: there is nothing to invite them to (an admin \
                         can set a new password on the Users page)",
                        existing.email
                    )));
                }
                existing.id
            }
            None => {
                self.create_user(
                    NewUser {
                        email: address.as_str().to_string(),
                        name: name.to_string(),
                        role,
                        password_hash: None,
                    },
                    None,
                    actor,
                )
                .await?
            }
        };
        let token = random_token();
        let now = self.clock.now();
        let expires_at = now.saturating_add(INVITATION_VALID).unwrap_or(now);
        let mut tx = self.store.begin().await?;
        invitations::insert(&mut tx, user_id, &token_hash(&token), now, expires_at).await?;
        events::record(
            &mut tx,
            now,
            &actor.0,
            EventSubject::User(user_id),
            EventAction::Created,
            &format!("invited; the link works until {expires_at}"),
        )
        .await?;
        tickler_store::commit(tx).await?;
        let link = match &self.settings.public_url {
            Some(base) => format!("{}{INVITATION_PATH}{token}", base.trim_end_matches('/')),
            None => format!("{INVITATION_PATH}{token}"),
        };
        let emailed = if self.settings.public_url.is_some() {
            self.email_invitation(&address, name, &link, expires_at)
                .await
        } else {
            Err(
                "no public address is set (TICKLER_PUBLIC_URL), so the link cannot be \
                 emailed: pass it on yourself"
                    .to_string(),
            )
        };
        Ok(Invitation {
            user_id,
            link,
            expires_at,
            emailed,
        })
    }

    async fn email_invitation(
        &self,
        to: &EmailAddress,
        name: &str,
        link: &str,
        expires_at: Timestamp,
    ) -> Result<String, String> {
        let organisation = &self.settings.organisation_name;
        let subject = format!("You are invited to Tickler at {organisation}");
        let body = format!(
            "Hello {name},\n\nyou have been invited to Tickler, where {organisation} keeps its \
             contract renewals and their emails.\n\nChoose your password here (the link works \
             once, until {expires_at}):\n{link}\n\nIf you did not expect this, ignore it: \
             nothing happens without the link.\n"
        );
        self.send_mail(&self.team_email(to, subject, body))
            .await
            .map(|delivery| delivery.reply)
            .map_err(|e| e.to_string())
    }

    /// The person an invitation link is for, or why the link no longer works.
    pub async fn open_invitation(&self, token: &str) -> Result<OpenInvitation, EngineError> {
        let mut db = self.store.conn().await?;
        let found = invitations::find(&mut db, &token_hash(token)).await?;
        let invitation = found.ok_or_else(|| EngineError::NotFound {
            what: "invitation",
            id: "link".to_string(),
        })?;
        if invitation.used_at.is_some() {
            return Err(EngineError::Conflict(
                "this invitation link was already used: log in with the password you chose"
                    .to_string(),
            ));
        }
        if invitation.expires_at <= self.clock.now() {
            return Err(EngineError::Conflict(format!(
                "this invitation link expired at {}: ask an admin for a new one",
                invitation.expires_at
            )));
        }
        let user = users::get(&mut db, invitation.user_id).await?;
        Ok(OpenInvitation {
            name: user.name,
            email: user.email,
            expires_at: invitation.expires_at,
        })
    }

    /// Sets the invited person's password through their link, once: the link is used up in
    /// the same transaction, so a second click (or two at once) sets nothing.
    pub async fn accept_invitation(&self, token: &str, password: &str) -> Result<i64, EngineError> {
        let person = self.open_invitation(token).await?;
        check_strength(password).map_err(|e| ValidationError::new("password", e.message))?;
        let hashed = hash_blocking(password).await?;
        let now = self.clock.now();
        let mut tx = self.store.begin().await?;
        if !invitations::use_once(&mut tx, &token_hash(token), now).await? {
            return Err(EngineError::Conflict(
                "this invitation link was already used or has expired".to_string(),
            ));
        }
        let user = users::find_by_email(&mut tx, &person.email)
            .await?
            .ok_or_else(|| EngineError::NotFound {
                what: "user",
                id: person.email.clone(),
            })?;
        users::set_password_hash(&mut tx, user.id, &hashed).await?;
        events::record(
            &mut tx,
            now,
            &user.email,
            EventSubject::User(user.id),
            EventAction::PasswordSet,
            "chosen through the invitation link",
        )
        .await?;
        tickler_store::commit(tx).await?;
        Ok(user.id)
    }
}
