//! The customer's one-click links: their server secret (made on first use, kept in the
//! database so every instance signs and checks alike, replaced by `secret rotate`) and their
//! URLs under the public address of the web app.

use std::sync::Arc;

use jiff::civil::Date;
use serde::Serialize;
use tickler_core::{
    answer_link::{
        LinkAction, LinkClaims, SECRET_BYTES, link_expiry, new_secret_hex, parse_secret_hex, sign,
    },
    event::{EventAction, EventSubject},
};
use tickler_mail::context::AnswerLinksView;
use tickler_store::{Db, contracts, events, settings};

use crate::{Actor, Engine, EngineError};

/// The settings row that holds the link secret (hex); never shown by `settings show`.
const LINK_SECRET: &str = "link_secret";

/// The path of a link's public page under the public URL; the token follows.
pub const ANSWER_PATH: &str = "/answer/";

/// A contract's current answer links, as `contract links` prints them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ContractLinks {
    pub renew: String,
    pub decline: String,
    pub quote: String,
    /// The last day they work.
    pub expires_on: Date,
}

impl Engine {
    /// The secret that signs and checks links, made (from the operating system's randomness)
    /// the first time one is needed.
    /// The answer also refreshes the copy that email rendering signs with.
    pub(crate) async fn link_secret(&self, db: &mut Db) -> Result<Arc<[u8]>, EngineError> {
        let fresh = new_secret_hex(rand::random::<[u8; SECRET_BYTES]>());
        let stored = settings::get_or_insert(db, LINK_SECRET, &fresh, self.clock.now()).await?;
        let secret: Arc<[u8]> = parse_secret_hex(&stored)
            .map_err(|e| {
                EngineError::Internal(format!(
                    "the stored link secret is damaged ({}); replace it with `tickler secret rotate`",
                    e.message
                ))
            })?
            .into();
        if let Ok(mut cache) = self.link_secret_cache.write() {
            *cache = Some(secret.clone());
        }
        Ok(secret)
    }

    /// Reads the link secret again when links are in use, so that emails rendered from now
    /// on are signed with the current one (after a `secret rotate` in another process).
    pub(crate) async fn refresh_link_secret(&self) -> Result<(), EngineError> {
        if self.settings.public_url.is_some() {
            self.link_secret(&mut *self.store.conn().await?).await?;
        }
        Ok(())
    }

    /// The renew, decline and quote links of a term for an email, signed with the secret as
    /// last read; `None` without a public URL (the email then asks for a reply).
    pub(crate) fn email_links(&self, term_id: i64, term_end: Date) -> Option<AnswerLinksView> {
        let public_url = self.settings.public_url.as_deref()?;
        let secret = self.link_secret_cache.read().ok()?.clone()?;
        let url = |action| {
            Self::link_url(
                public_url,
                &secret,
                &LinkClaims {
                    action,
                    subject_id: term_id,
                    expires_on: link_expiry(term_end),
                },
            )
        };
        Some(AnswerLinksView {
            renew: url(LinkAction::Renew),
            decline: url(LinkAction::Decline),
            quote: url(LinkAction::Quote),
        })
    }

    /// Replaces the link secret: every link sent so far stops working.
    pub async fn rotate_link_secret(&self, actor: &Actor) -> Result<(), EngineError> {
        let now = self.clock.now();
        let mut tx = self.store.begin().await?;
        let fresh = new_secret_hex(rand::random::<[u8; SECRET_BYTES]>());
        settings::put(&mut tx, LINK_SECRET, &fresh, now).await?;
        if let Ok(mut cache) = self.link_secret_cache.write() {
            *cache = None;
        }
        events::record(
            &mut tx,
            now,
            &actor.0,
            EventSubject::Settings,
            EventAction::SecretRotated,
            "the link secret was replaced: links in emails sent before stop working",
        )
        .await?;
        tickler_store::commit(tx).await?;
        self.refresh_link_secret().await
    }

    /// The public URL links point to, or a clear error naming the setting.
    pub(crate) fn public_url(&self) -> Result<&str, EngineError> {
        self.settings.public_url.as_deref().ok_or_else(|| {
            EngineError::Conflict(
                "TICKLER_PUBLIC_URL is not set, so there are no links to answer by: set it to \
                 the address customers reach the web app at (e.g. https://tickler.example.com)"
                    .to_string(),
            )
        })
    }

    /// The URL of a signed link under `public_url`.
    pub(crate) fn link_url(public_url: &str, secret: &[u8], claims: &LinkClaims) -> String {
        format!(
            "{}{ANSWER_PATH}{}",
            public_url.trim_end_matches('/'),
            sign(claims, secret)
        )
    }

    /// The renew, decline and quote links of a term, working until `expires_on`.
    pub(crate) async fn term_links(
        &self,
        db: &mut Db,
        term_id: i64,
        expires_on: Date,
    ) -> Result<ContractLinks, EngineError> {
        let public_url = self.public_url()?.to_string();
        let secret = self.link_secret(db).await?;
        let url = |action| {
            Self::link_url(
                &public_url,
                &secret,
                &LinkClaims {
                    action,
                    subject_id: term_id,
                    expires_on,
                },
            )
        };
        Ok(ContractLinks {
            renew: url(LinkAction::Renew),
            decline: url(LinkAction::Decline),
            quote: url(LinkAction::Quote),
            expires_on,
        })
    }

    /// The links of a contract's current term, as its emails carry them.
    pub async fn contract_links(&self, contract_id: i64) -> Result<ContractLinks, EngineError> {
        let mut db = self.store.conn().await?;
        let contract = contracts::get(&mut db, contract_id).await?;
        let term = contracts::current_term(&mut db, &contract).await?;
        self.term_links(&mut db, term.id, link_expiry(term.end_date))
            .await
    }
}
