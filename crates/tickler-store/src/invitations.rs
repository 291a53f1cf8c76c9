//! One-time links that let an invited user set their own password.

use jiff::Timestamp;

use crate::{Db, StoreError, time::millis};

/// Stores an invitation: only the token's hash is kept.
pub async fn insert(
    db: &mut Db,
    user_id: i64,
    token_hash: &str,
    now: Timestamp,
    expires_at: Timestamp,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO invitations (user_id, token_hash, created_at, expires_at) \
         VALUES ($1, $2, $3, $4)",
    )
    .bind(user_id)
    .bind(token_hash)
    .bind(millis(now))
    .bind(millis(expires_at))
    .execute(db)
    .await?;
    Ok(())
}

/// What an invitation link is, by its token's hash: whose it is, until when it works, and
/// when it was used (if it was).
pub struct Invitation {
    pub user_id: i64,
    pub expires_at: Timestamp,
    pub used_at: Option<Timestamp>,
}

pub async fn find(db: &mut Db, token_hash: &str) -> Result<Option<Invitation>, StoreError> {
    let row: Option<(i64, i64, Option<i64>)> = sqlx::query_as(
        "SELECT user_id, expires_at, used_at FROM invitations WHERE token_hash = $1",
    )
    .bind(token_hash)
    .fetch_optional(db)
    .await?;
    row.map(|(user_id, expires_at, used_at)| {
        Ok(Invitation {
            user_id,
            expires_at: crate::time::instant_from_millis(expires_at)?,
            used_at: used_at.map(crate::time::instant_from_millis).transpose()?,
        })
    })
    .transpose()
}

/// Marks an invitation used, if it is unused and still valid at `now`; false otherwise (a
/// second click, or two at once: only one of them sets the password).
pub async fn use_once(db: &mut Db, token_hash: &str, now: Timestamp) -> Result<bool, StoreError> {
    let done = sqlx::query(
        "UPDATE invitations SET used_at = $1 \
         WHERE token_hash = $2 AND used_at IS NULL AND expires_at > $1",
    )
    .bind(millis(now))
    .bind(token_hash)
    .execute(db)
    .await?;
    Ok(done.rows_affected() == 1)
}
