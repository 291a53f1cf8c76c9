//! Idempotency keys: a program that sends the same creating request twice (a retry after a
//! dropped connection) with the same `Idempotency-Key` gets the one resource the first
//! made. The key is recorded in the transaction that creates the resource, so that no
//! crash or race can create it twice: of two requests at once, the second finds the
//! first's key and answers with its resource.

use jiff::SignedDuration;
use sha2::{Digest, Sha256};
use tickler_core::ValidationError;
use tickler_store::{Db, idempotency};

use crate::{
    Actor, Engine, EngineError,
    contracts::{ContractInput, Lookups, validate_contract},
    directory::{NewCustomer, insert_customer_recorded, validate_customer},
};

/// How long a key is remembered: after that it may be used again.
pub const KEY_LIFETIME: SignedDuration = SignedDuration::from_hours(24);

/// The longest key accepted.
const KEY_MAX: usize = 255;

/// A creating request's key, with a digest of the request (method, path and body) so that
/// the same key with another request is refused rather than answered with the wrong
/// resource.
#[derive(Debug, Clone)]
pub struct IdempotencyKey {
    pub user_id: i64,
    pub key: String,
    pub request_hash: String,
}

impl IdempotencyKey {
    /// The key `key` of `user_id`'s request `method path` with `body`.
    pub fn for_request(
        user_id: i64,
        key: &str,
        method: &str,
        path: &str,
        body: &[u8],
    ) -> Result<IdempotencyKey, ValidationError> {
        let mut digest = Sha256::new();
        digest.update(method.as_bytes());
        digest.update(b" ");
        digest.update(path.as_bytes());
        digest.update(b"\n");
        digest.update(body);
        IdempotencyKey::new(user_id, key, format!("{:x}", digest.finalize()))
    }

    pub fn new(
        user_id: i64,
        key: &str,
        request_hash: String,
    ) -> Result<IdempotencyKey, ValidationError> {
        let key = key.trim();
        if key.is_empty() || key.len() > KEY_MAX || !key.chars().all(|c| c.is_ascii_graphic()) {
            return Err(ValidationError::new(
                "Idempotency-Key",
                format!("must be 1 to {KEY_MAX} visible ASCII characters (a UUID, say)"),
            ));
        }
        Ok(IdempotencyKey {
            user_id,
            key: key.to_string(),
            request_hash,
        })
    }
}

/// What a request with a key did: created the resource now, or found the one a first
/// request with the same key created.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Once {
    Created(i64),
    Replayed(i64),
}

impl Once {
    pub fn id(self) -> i64 {
        match self {
            Once::Created(id) | Once::Replayed(id) => id,
        }
    }
}

impl Engine {
    /// Runs `create` (which returns the new resource's id) in a transaction that also
    /// records `key`, unless the key was used already: then the resource it made is the
    /// answer, or, for another request, a refusal.
    async fn once(
        &self,
        key: &IdempotencyKey,
        kind: &str,
        create: impl AsyncFnOnce(&mut Db) -> Result<i64, EngineError>,
    ) -> Result<Once, EngineError> {
        let now = self.clock.now();
        let mut tx = self.store.begin().await?;
        idempotency::forget_before(&mut tx, key.user_id, &key.key, now - KEY_LIFETIME).await?;
        if let Some(used) = idempotency::find(&mut tx, key.user_id, &key.key).await? {
            return replay(key, kind, &used);
        }
        let id = create(&mut tx).await?;
        let recorded = idempotency::insert(
            &mut tx,
            key.user_id,
            &key.key,
            &key.request_hash,
            kind,
            id,
            now,
        )
        .await;
        match recorded {
            Ok(()) => {
                self.commit_schedule_change(tx).await?;
                Ok(Once::Created(id))
            }
            // Another request with this key committed first: what it made is the answer,
            // and this transaction's work is rolled back.
            Err(e) if e.is_unique_violation() => {
                drop(tx);
                let mut db = self.store.conn().await?;
                match idempotency::find(&mut db, key.user_id, &key.key).await? {
                    Some(used) => replay(key, kind, &used),
                    None => Err(e.into()),
                }
            }
            Err(e) => Err(e.into()),
        }
    }

    /// [`Engine::add_contract`] once per idempotency key.
    pub async fn add_contract_once(
        &self,
        input: ContractInput,
        actor: &Actor,
        key: &IdempotencyKey,
    ) -> Result<Once, EngineError> {
        let valid = validate_contract(&input)?;
        let now = self.clock.now();
        self.once(key, "contract", async |db: &mut Db| {
            self.insert_contract(
                db,
                input.customer_id,
                &valid,
                actor,
                now,
                &mut Lookups::default(),
            )
            .await
        })
        .await
    }

    /// [`Engine::add_customer`] once per idempotency key.
    pub async fn add_customer_once(
        &self,
        new: NewCustomer,
        actor: &Actor,
        key: &IdempotencyKey,
    ) -> Result<Once, EngineError> {
        let valid = validate_customer(&new)?;
        let now = self.clock.now();
        self.once(key, "customer", async |db: &mut Db| {
            insert_customer_recorded(db, &valid, actor, now).await
        })
        .await
    }
}

fn replay(
    key: &IdempotencyKey,
    kind: &str,
    used: &idempotency::UsedKey,
) -> Result<Once, EngineError> {
    if used.request_hash != key.request_hash || used.resource_kind != kind {
        return Err(ValidationError::new(
            "Idempotency-Key",
            format!(
                "\"{}\" was used for another request (within {} hours): use a new key for a \
                 new request",
                key.key,
                KEY_LIFETIME.as_hours()
            ),
        )
        .into());
    }
    Ok(Once::Replayed(used.resource_id))
}
