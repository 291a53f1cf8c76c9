//! People: the team's users and the customers.

use jiff::Timestamp;
use tickler_core::event::{EventAction, EventSubject};
use tickler_core::{
    Checks, ValidationError, access::Viewer, email::EmailAddress, language::Language,
    time_zone::Zone, user::Role,
};
use tickler_mail::{context::StepView, templates::CUSTOMER_REDIRECTED};
use tickler_store::{Db, contracts, customers, events, users};

use crate::{
    Actor, Engine, EngineError,
    dispatch::{InternalNotice, reminder_event},
    message::Subject,
};

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
    let mut checks = Checks::default();
    let name = checks.check(non_empty("name", &new.name));
    let emails = checks.check(if new.emails.is_empty() {
        Err(ValidationError::new(
            "email",
            "a customer needs at least one email address",
        ))
    } else {
        new.emails
            .iter()
            .map(|e| EmailAddress::parse("email", e).map(|a| a.as_str().to_string()))
            .collect::<Result<Vec<_>, _>>()
    });
    let time_zone = checks.check(
        new.time_zone
            .as_deref()
            .filter(|tz| !tz.trim().is_empty())
            .map(|tz| Zone::parse("time_zone", tz))
            .transpose(),
    );
    checks.then(|| {
        Some(ValidCustomer {
            name: name?,
            emails: emails?,
            language: new.language,
            time_zone: time_zone?,
        })
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
        let mut checks = Checks::default();
        let email = checks.check(EmailAddress::parse("email", &new.email));
        let name = checks.check(non_empty("name", &new.name));
        let (email, name) = checks.then(|| Some((email?, name?)))?;
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
        let id = insert_customer_recorded(&mut tx, &valid, actor, now).await?;
        self.commit_schedule_change(tx).await?;
        Ok(id)
    }

    /// Replaces a customer's details; the reminders of their active contracts follow
    /// (new addresses, a new time zone) in the same transaction. `by` is the person asking
    /// (`None`: the operator at the command line, who may do what an admin may). New
    /// addresses redirect every active contract's mail, so they are refused unless `by` may
    /// change each of those contracts (see [`Viewer::owners_blocking_redirect`]); they are
    /// recorded with the old ones and announced to the contracts' other owners.
    pub async fn edit_customer(
        &self,
        id: i64,
        new: NewCustomer,
        actor: &Actor,
        by: Option<&Viewer>,
    ) -> Result<(), EngineError> {
        let valid = validate_customer(&new)?;
        let now = self.clock.now();
        let mut tx = self.store.begin().await?;
        let before = customers::get(&mut tx, id).await?;
        let active = contracts::active_ids_for_customer(&mut tx, id).await?;
        let mut owned = Vec::with_capacity(active.len());
        for &contract_id in &active {
            owned.push((
                contract_id,
                contracts::get(&mut tx, contract_id).await?.owner_id,
            ));
        }
        let redirected = before.emails != valid.emails;
        if redirected && let Some(viewer) = by {
            let owners: Vec<Option<i64>> = owned.iter().map(|(_, owner)| *owner).collect();
            let blocking = viewer.owners_blocking_redirect(&owners);
            if !blocking.is_empty() {
                let mut names = Vec::new();
                for owner in blocking {
                    names.push(users::get(&mut tx, owner).await?.name);
                }
                return Err(EngineError::Forbidden(format!(
                    "{}'s addresses carry the reminders of contracts owned by {}: only an \
                     admin or that owner may change them",
                    before.name,
                    names.join(", ")
                )));
            }
        }
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
        for &contract_id in &active {
            let outcome = self.resync_contract(&mut tx, contract_id, now).await?;
            moved += outcome.rescheduled;
        }
        let change = format!(
            "addresses {} → {}",
            before.emails.join(", "),
            valid.emails.join(", ")
        );
        events::record(
            &mut tx,
            now,
            &actor.0,
            EventSubject::Customer(id),
            EventAction::Edited,
            &if redirected {
                format!("{change}; {moved} reminders rescheduled")
            } else {
                format!("{moved} reminders rescheduled")
            },
        )
        .await?;
        if redirected {
            let editor = by.map(|viewer| viewer.user_id);
            self.announce_redirect(&mut tx, &owned, editor, &actor.0, &change, now)
                .await?;
        }
        self.commit_schedule_change(tx).await?;
        Ok(())
    }

    /// Tells each owner of `contracts` other than `editor`, once per owner, that the
    /// customer's mail now goes elsewhere: an internal notice about their first contract.
    async fn announce_redirect(
        &self,
        tx: &mut tickler_store::Db,
        contracts: &[(i64, Option<i64>)],
        editor: Option<i64>,
        actor: &str,
        change: &str,
        now: jiff::Timestamp,
    ) -> Result<(), EngineError> {
        let mut told = Vec::new();
        for &(contract_id, owner) in contracts {
            let Some(owner) = owner.filter(|&o| Some(o) != editor && !told.contains(&o)) else {
                continue;
            };
            told.push(owner);
            let email = users::get(tx, owner).await?.email;
            let subject = Subject::of_current_term(tx, contract_id).await?;
            // Unique per edit, so a second change is announced too.
            let key = format!("{CUSTOMER_REDIRECTED}:{}", now.as_millisecond());
            let step = StepView {
                key: key.clone(),
                label: format!("{change} (by {actor})"),
            };
            let mut ctx = self.context_for(&subject, step, now, None);
            ctx.customer.language = Default::default();
            let rendered =
                self.render_template(CUSTOMER_REDIRECTED, Language::En, &subject, &ctx)?;
            let notice = InternalNotice {
                about: subject.reference(),
                contract_id: Some(contract_id),
                key: &key,
                label: "Customer's addresses changed",
                template: CUSTOMER_REDIRECTED,
                to: std::slice::from_ref(&email),
            };
            if let Some(notice_id) = self.insert_notice(tx, &notice, &rendered, now).await? {
                let detail = format!("notice to {email}: {change}");
                reminder_event(tx, now, notice_id, EventAction::Scheduled, &detail).await?;
            }
        }
        Ok(())
    }

    /// Makes an existing user an active admin (the one-time setup, when the first admin
    /// was already entered as a contract owner).
    pub async fn promote_to_admin(&self, id: i64, actor: &Actor) -> Result<(), EngineError> {
        let user = self.store_user(id).await?;
        self.update_user(
            id,
            crate::settings::UserChanges {
                name: &user.name,
                role: Role::Admin,
                active: true,
                time_zone: user.time_zone.as_deref(),
                language: None,
                digest: None,
                digest_time: None,
            },
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

/// Stores a checked customer with its `created` event.
pub(crate) async fn insert_customer_recorded(
    db: &mut Db,
    valid: &ValidCustomer,
    actor: &Actor,
    now: Timestamp,
) -> Result<i64, EngineError> {
    let id = insert_customer(db, valid, now).await?;
    events::record(
        db,
        now,
        &actor.0,
        EventSubject::Customer(id),
        EventAction::Created,
        &valid.name,
    )
    .await?;
    Ok(id)
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
