//! API tokens: a member of the team's key for the JSON API, with which another program acts
//! with that person's role. A token is shown once, when made; only its hash is kept; it
//! works until revoked, and stops working when its user is deactivated.

use tickler_core::{
    ValidationError,
    event::{EventAction, EventSubject},
};
use tickler_store::{
    api_tokens::{self, ApiToken},
    events, users,
};

use crate::{
    Actor, Engine, EngineError,
    sessions::{random_token, token_hash},
};

/// Every token starts so, which lets secret scanners recognise one that leaked.
pub const TOKEN_PREFIX: &str = "tickler_";

/// The longest name a token may have.
const NAME_MAX: usize = 100;

/// A token just made: the token itself is in no other place.
#[derive(Debug, Clone)]
pub struct NewToken {
    pub id: i64,
    pub token: String,
}

impl Engine {
    /// Makes a token for the user with this email (an active one), named `name` (by default
    /// "API token") so that its owner can tell their tokens apart.
    pub async fn create_token(
        &self,
        user_email: &str,
        name: Option<&str>,
        actor: &Actor,
    ) -> Result<NewToken, EngineError> {
        let user = self.user_by_email(user_email).await?.ok_or_else(|| {
            ValidationError::new("user", format!("no user has the email {user_email}"))
        })?;
        if !user.active {
            return Err(ValidationError::new(
                "user",
                format!("{} is deactivated: reactivate them first", user.email),
            )
            .into());
        }
        let name = match name.map(str::trim).filter(|n| !n.is_empty()) {
            None => "API token".to_string(),
            Some(name) if name.chars().count() > NAME_MAX || name.chars().any(char::is_control) => {
                return Err(ValidationError::new(
                    "name",
                    format!("must be one line of at most {NAME_MAX} characters"),
                )
                .into());
            }
            Some(name) => name.to_string(),
        };
        let token = format!("{TOKEN_PREFIX}{}", random_token());
        let now = self.clock.now();
        let mut tx = self.store.begin().await?;
        let id = api_tokens::insert(&mut tx, user.id, &name, &token_hash(&token), now).await?;
        events::record(
            &mut tx,
            now,
            &actor.0,
            EventSubject::User(user.id),
            EventAction::TokenCreated,
            &format!("API token {id} \"{name}\""),
        )
        .await?;
        tickler_store::commit(tx).await?;
        Ok(NewToken { id, token })
    }

    /// Every token, or one user's, newest first: never the tokens themselves.
    pub async fn tokens(&self, user_id: Option<i64>) -> Result<Vec<ApiToken>, EngineError> {
        Ok(api_tokens::list(&mut *self.store.conn().await?, user_id).await?)
    }

    pub async fn token(&self, id: i64) -> Result<ApiToken, EngineError> {
        Ok(api_tokens::get(&mut *self.store.conn().await?, id).await?)
    }

    /// Revokes a token at once; revoking one already revoked is refused as a conflict.
    pub async fn revoke_token(&self, id: i64, actor: &Actor) -> Result<ApiToken, EngineError> {
        let now = self.clock.now();
        let mut tx = self.store.begin().await?;
        let token = api_tokens::get(&mut tx, id).await?;
        if !api_tokens::revoke(&mut tx, id, now).await? {
            return Err(EngineError::Conflict(format!(
                "API token {id} is already revoked"
            )));
        }
        events::record(
            &mut tx,
            now,
            &actor.0,
            EventSubject::User(token.user_id),
            EventAction::TokenRevoked,
            &format!("API token {id} \"{}\"", token.name),
        )
        .await?;
        tickler_store::commit(tx).await?;
        Ok(token)
    }

    /// The active user a bearer token acts for; `None` for a token that is unknown,
    /// revoked, or whose user is deactivated.
    pub async fn user_for_token(&self, token: &str) -> Result<Option<users::User>, EngineError> {
        if !token.starts_with(TOKEN_PREFIX) {
            return Ok(None);
        }
        let mut db = self.store.conn().await?;
        let Some(found) = api_tokens::find_live(&mut db, &token_hash(token)).await? else {
            return Ok(None);
        };
        let user = users::get(&mut db, found.user_id).await?;
        if !user.active {
            return Ok(None);
        }
        api_tokens::touch(&mut db, found.id, self.clock.now()).await?;
        Ok(Some(user))
    }
}
