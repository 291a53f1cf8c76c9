//! Bearer tokens for the JSON API: only their hashes are stored.

use jiff::Timestamp;

use crate::{Db, StoreError, time::instant_from_millis, time::millis};

/// A token as listed: never the token itself.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ApiToken {
    pub id: i64,
    pub user_id: i64,
    pub user_email: String,
    pub name: String,
    pub created_at: Timestamp,
    pub last_used_at: Option<Timestamp>,
    pub revoked_at: Option<Timestamp>,
}

type TokenRow = (i64, i64, String, String, i64, Option<i64>, Option<i64>);

fn token_of(
    (id, user_id, user_email, name, created, used, revoked): TokenRow,
) -> Result<ApiToken, StoreError> {
    Ok(ApiToken {
        id,
        user_id,
        user_email,
        name,
        created_at: instant_from_millis(created)?,
        last_used_at: used.map(instant_from_millis).transpose()?,
        revoked_at: revoked.map(instant_from_millis).transpose()?,
    })
}

const COLUMNS: &str = "SELECT t.id, t.user_id, u.email, t.name, t.created_at, t.last_used_at, \
     t.revoked_at FROM api_tokens t JOIN users u ON u.id = t.user_id";

pub async fn insert(
    db: &mut Db,
    user_id: i64,
    name: &str,
    token_hash: &str,
    now: Timestamp,
) -> Result<i64, StoreError> {
    Ok(sqlx::query_scalar(
        "INSERT INTO api_tokens (user_id, name, token_hash, created_at) \
         VALUES ($1, $2, $3, $4) RETURNING id",
    )
    .bind(user_id)
    .bind(name)
    .bind(token_hash)
    .bind(millis(now))
    .fetch_one(db)
    .await?)
}

/// Every token, or one user's, newest first.
pub async fn list(db: &mut Db, user_id: Option<i64>) -> Result<Vec<ApiToken>, StoreError> {
    let rows: Vec<TokenRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "{COLUMNS} WHERE ($1 = 0 OR t.user_id = $1) ORDER BY t.id DESC"
    )))
    .bind(user_id.unwrap_or(0))
    .fetch_all(db)
    .await?;
    rows.into_iter().map(token_of).collect()
}

pub async fn get(db: &mut Db, id: i64) -> Result<ApiToken, StoreError> {
    let row: Option<TokenRow> =
        sqlx::query_as(sqlx::AssertSqlSafe(format!("{COLUMNS} WHERE t.id = $1")))
            .bind(id)
            .fetch_optional(db)
            .await?;
    token_of(row.ok_or_else(|| StoreError::not_found("API token", id))?)
}

/// The token whose hash this is, unless revoked.
pub async fn find_live(db: &mut Db, token_hash: &str) -> Result<Option<ApiToken>, StoreError> {
    let row: Option<TokenRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "{COLUMNS} WHERE t.token_hash = $1 AND t.revoked_at IS NULL"
    )))
    .bind(token_hash)
    .fetch_optional(db)
    .await?;
    row.map(token_of).transpose()
}

/// Notes that a token was used; at most once a minute, so that a busy client does not make
/// every request a write.
pub async fn touch(db: &mut Db, id: i64, now: Timestamp) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE api_tokens SET last_used_at = $1 \
         WHERE id = $2 AND (last_used_at IS NULL OR last_used_at < $1 - 60000)",
    )
    .bind(millis(now))
    .bind(id)
    .execute(db)
    .await?;
    Ok(())
}

/// Revokes a token; false when it was already revoked.
pub async fn revoke(db: &mut Db, id: i64, now: Timestamp) -> Result<bool, StoreError> {
    let done =
        sqlx::query("UPDATE api_tokens SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL")
            .bind(millis(now))
            .bind(id)
            .execute(db)
            .await?;
    Ok(done.rows_affected() == 1)
}
