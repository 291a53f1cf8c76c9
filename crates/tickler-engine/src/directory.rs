//! People: the team's users and the customers.

use tickler_core::event::{EventAction, EventSubject};
use tickler_core::{
    ValidationError, email::EmailAddress, language::Language, time_zone::Zone, user::Role,
};
use tickler_store::{contracts, customers, events, users};

use crate::{Actor, Engine, EngineError};

pub struct NewUser {
    pub email: String,
    pub name: String,
    pub role: Role,
    pub password_hash: Option<String>,
}

pub struct NewCustomer {
    pub name: String,
    pub emails: Vec<String>,
    pub language: Language,
    pub time_zone: Option<String>,
}

/// A customer's fields, checked: what both `customer add` and imports go through.
pub(crate) struct ValidCustomer {
    pub name: String,
    pub emails: Vec<String>,
    pub language: Language,
    pub time_zone: Option<Zone>,
}

pub(crate) fn validate_customer(new: &NewCustomer) -> Result<ValidCustomer, ValidationError> {
    let name = non_empty("name", &new.name)?;
    if new.emails.is_empty() {
        return Err(ValidationError::new(
            "email",
            "a customer needs at least one email address",
        ));
    }
    let emails = new
        .emails
        .iter()
        .map(|e| EmailAddress::parse("email", e).map(|a| a.as_str().to_string()))
        .collect::<Result<Vec<_>, _>>()?;
    let time_zone = new
        .time_zone
        .as_deref()
        .filter(|tz| !tz.trim().is_empty())
        .map(|tz| Zone::parse("time_zone", tz))
        .transpose()?;
    Ok(ValidCustomer {
        name,
        emails,
        language: new.language,
        time_zone,
    })
}

pub(crate) fn non_empty(field: &str, text: &str) -> Result<String, ValidationError> {
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return Err(ValidationError::new(field, "must not be empty"));
    }
    if trimmed.chars().any(|c| c.is_control()) {
        return Err(ValidationError::new(
            field,
            "must not contain control characters",
        ));
    }
    Ok(trimmed.to_string())
}

impl Engine {
    pub async fn add_user(&self, new: NewUser, actor: &Actor) -> Result<i64, EngineError> {
        let email = EmailAddress::parse("email", &new.email)?;
        let name = non_empty("name", &new.name)?;
        let now = self.clock.now();
        let mut tx = self.store.begin().await?;
        // Logins ignore case, so two accounts differing only in case would be ambiguous.
        if users::find_by_email(&mut tx, email.as_str())
            .await?
            .is_some()
        {
            return Err(EngineError::Conflict(format!(
                "a user with email {email} already exists"
            )));
        }
        let id = users::insert(
            &mut tx,
            email.as_str(),
            &name,
            new.role,
            new.password_hash.as_deref(),
            now,
        )
        .await?;
        events::record(
            &mut tx,
            now,
            &actor.0,
            EventSubject::User(id),
            EventAction::Created,
            &format!("{email} ({})", new.role),
        )
        .await?;
        self.commit_schedule_change(tx).await?;
        Ok(id)
    }

    pub async fn add_customer(&self, new: NewCustomer, actor: &Actor) -> Result<i64, EngineError> {
        let valid = validate_customer(&new)?;
        let now = self.clock.now();
        let mut tx = self.store.begin().await?;
        let id = insert_customer(&mut tx, &valid, now).await?;
        events::record(
            &mut tx,
            now,
            &actor.0,
            EventSubject::Customer(id),
            EventAction::Created,
            &valid.name,
        )
        .await?;
        self.commit_schedule_change(tx).await?;
        Ok(id)
    }

    /// Replaces a customer's details; the reminders of their active contracts follow
    /// (new addresses, a new time zone) in the same transaction.
    pub async fn edit_customer(
        &self,
        id: i64,
        new: NewCustomer,
        actor: &Actor,
    ) -> Result<(), EngineError> {
        let valid = validate_customer(&new)?;
        let now = self.clock.now();
        let mut tx = self.store.begin().await?;
        customers::update(
            &mut tx,
            id,
            &customers::NewCustomer {
                name: &valid.name,
                emails: &valid.emails,
                language: valid.language,
                time_zone: valid.time_zone.as_ref().map(|z| z.name()),
            },
            now,
        )
        .await?;
        let mut moved = 0;
        for contract_id in contracts::active_ids_for_customer(&mut tx, id).await? {
            let outcome = self.resync_contract(&mut tx, contract_id, now).await?;
            moved += outcome.rescheduled;
        }
        events::record(
            &mut tx,
            now,
            &actor.0,
            EventSubject::Customer(id),
            EventAction::Edited,
            &format!("{moved} reminders rescheduled"),
        )
        .await?;
        self.commit_schedule_change(tx).await?;
        Ok(())
    }

    /// Makes an existing user an active admin (the one-time setup, when the first admin
    /// was already entered as a contract owner).
    pub async fn promote_to_admin(&self, id: i64, actor: &Actor) -> Result<(), EngineError> {
        let user = self.store_user(id).await?;
        self.update_user(
            id,
            &user.name,
            Role::Admin,
            true,
            user.time_zone.as_deref(),
            actor,
        )
        .await
    }

    pub async fn user_by_email(&self, email: &str) -> Result<Option<users::User>, EngineError> {
        Ok(users::find_by_email(&mut *self.store.conn().await?, email.trim()).await?)
    }

    async fn store_user(&self, id: i64) -> Result<users::User, EngineError> {
        Ok(users::get(&mut *self.store.conn().await?, id).await?)
    }

    pub async fn customer(&self, id: i64) -> Result<customers::Customer, EngineError> {
        Ok(customers::get(&mut *self.store.conn().await?, id).await?)
    }
}

pub(crate) async fn insert_customer(
    db: &mut tickler_store::Db,
    valid: &ValidCustomer,
    now: jiff::Timestamp,
) -> Result<i64, EngineError> {
    Ok(customers::insert(
        db,
        &customers::NewCustomer {
            name: &valid.name,
            emails: &valid.emails,
            language: valid.language,
            time_zone: valid.time_zone.as_ref().map(|z| z.name()),
        },
        now,
    )
    .await?)
}
