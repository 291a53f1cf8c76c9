//! The API's idempotency keys: each with the request it came with and what it created.

use jiff::Timestamp;

use crate::{Db, StoreError, time::instant_from_millis, time::millis};

/// A key already used: by which request, for what.
#[derive(Debug, Clone)]
pub struct UsedKey {
    pub request_hash: String,
    pub resource_kind: String,
    pub resource_id: i64,
    pub created_at: Timestamp,
}

pub async fn find(db: &mut Db, user_id: i64, key: &str) -> Result<Option<UsedKey>, StoreError> {
    let row: Option<(String, String, i64, i64)> = sqlx::query_as(
        "SELECT request_hash, resource_kind, resource_id, created_at FROM idempotency_keys \
         WHERE user_id = $1 AND idempotency_key = $2",
    )
    .bind(user_id)
    .bind(key)
    .fetch_optional(db)
    .await?;
    row.map(|(request_hash, resource_kind, resource_id, created)| {
        Ok(UsedKey {
            request_hash,
            resource_kind,
            resource_id,
            created_at: instant_from_millis(created)?,
        })
    })
    .transpose()
}

/// Forgets a key used before `before`: it may be used again.
pub async fn forget_before(
    db: &mut Db,
    user_id: i64,
    key: &str,
    before: Timestamp,
) -> Result<(), StoreError> {
    sqlx::query(
        "DELETE FROM idempotency_keys \
         WHERE user_id = $1 AND idempotency_key = $2 AND created_at < $3",
    )
    .bind(user_id)
    .bind(key)
    .bind(millis(before))
    .execute(db)
    .await?;
    Ok(())
}

/// Records a key with what its request created; a key another transaction recorded first
/// is a unique violation ([`StoreError::is_unique_violation`]).
pub async fn insert(
    db: &mut Db,
    user_id: i64,
    key: &str,
    request_hash: &str,
    resource_kind: &str,
    resource_id: i64,
    now: Timestamp,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO idempotency_keys \
         (user_id, idempotency_key, request_hash, resource_kind, resource_id, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(user_id)
    .bind(key)
    .bind(request_hash)
    .bind(resource_kind)
    .bind(resource_id)
    .bind(millis(now))
    .execute(db)
    .await?;
    Ok(())
}
