//! Members of the team: contract owners and, later, people who log in.

use jiff::Timestamp;
use tickler_core::user::Role;

use sqlx::AssertSqlSafe;

use crate::{Backend, Db, StoreError, json_ints, time::millis};

pub use tickler_core::user::User;

type UserRow = (
    i64,
    String,
    String,
    String,
    i64,
    Option<String>,
    String,
    String,
    String,
);

fn from_row(
    (id, email, name, role, active, time_zone, language, digest, digest_time): UserRow,
) -> Result<User, StoreError> {
    Ok(User {
        id,
        email,
        name,
        role: role
            .parse()
            .map_err(|e| StoreError::Corrupt(format!("user {id}: {e}")))?,
        active: active != 0,
        time_zone,
        language: language
            .parse()
            .map_err(|()| StoreError::Corrupt(format!("user {id}: language {language:?}")))?,
        digest: digest
            .parse()
            .map_err(|e| StoreError::Corrupt(format!("user {id}: {e}")))?,
        digest_time: tickler_core::digest::parse_time("digest_time", &digest_time)
            .map_err(|e| StoreError::Corrupt(format!("user {id}: {e}")))?,
    })
}

pub async fn insert(
    db: &mut Db,
    email: &str,
    name: &str,
    role: Role,
    password_hash: Option<&str>,
    now: Timestamp,
) -> Result<i64, StoreError> {
    let result = sqlx::query_scalar(
        "INSERT INTO users (email, name, role, password_hash, created_at) \
         VALUES ($1, $2, $3, $4, $5) RETURNING id",
    )
    .bind(email)
    .bind(name)
    .bind(role.as_str())
    .bind(password_hash)
    .bind(millis(now))
    .fetch_one(db)
    .await;
    match result {
        Ok(id) => Ok(id),
        Err(e) => {
            let err = StoreError::from(e);
            if err.is_unique_violation() {
                Err(StoreError::Conflict(format!(
                    "a user with email {email} already exists"
                )))
            } else {
                Err(err)
            }
        }
    }
}

const COLUMNS: &str =
    "SELECT id, email, name, role, active, time_zone, language, digest, digest_time FROM users";

pub async fn find_by_email(db: &mut Db, email: &str) -> Result<Option<User>, StoreError> {
    let row: Option<UserRow> = sqlx::query_as(AssertSqlSafe(format!(
        "{COLUMNS} WHERE lower(email) = lower($1)"
    )))
    .bind(email)
    .fetch_optional(db)
    .await?;
    row.map(from_row).transpose()
}

pub async fn get(db: &mut Db, id: i64) -> Result<User, StoreError> {
    let row: Option<UserRow> = sqlx::query_as(AssertSqlSafe(format!("{COLUMNS} WHERE id = $1")))
        .bind(id)
        .fetch_optional(db)
        .await?;
    row.map(from_row)
        .transpose()?
        .ok_or_else(|| StoreError::not_found("user", id))
}

/// The users of `ids` that exist, in no particular order: one query for a batch.
pub async fn get_many(db: &mut Db, ids: &[i64]) -> Result<Vec<User>, StoreError> {
    let rows: Vec<UserRow> = sqlx::query_as(AssertSqlSafe(format!(
        "{COLUMNS} WHERE {}",
        Backend::of(db).in_ids("id", "$1")
    )))
    .bind(json_ints(ids.iter().copied()))
    .fetch_all(db)
    .await?;
    rows.into_iter().map(from_row).collect()
}

/// Every user, by name.
pub async fn list(db: &mut Db) -> Result<Vec<User>, StoreError> {
    let rows: Vec<UserRow> = sqlx::query_as(AssertSqlSafe(format!("{COLUMNS} ORDER BY name, id")))
        .fetch_all(db)
        .await?;
    rows.into_iter().map(from_row).collect()
}

/// The user and their password hash, for a login.
pub async fn credentials(
    db: &mut Db,
    email: &str,
) -> Result<Option<(User, Option<String>)>, StoreError> {
    let Some(user) = find_by_email(&mut *db, email).await? else {
        return Ok(None);
    };
    let hash: Option<String> = sqlx::query_scalar("SELECT password_hash FROM users WHERE id = $1")
        .bind(user.id)
        .fetch_one(db)
        .await?;
    Ok(Some((user, hash)))
}

pub async fn set_password_hash(db: &mut Db, id: i64, hash: &str) -> Result<(), StoreError> {
    let done = sqlx::query("UPDATE users SET password_hash = $1 WHERE id = $2")
        .bind(hash)
        .bind(id)
        .execute(db)
        .await?;
    if done.rows_affected() == 0 {
        return Err(StoreError::not_found("user", id));
    }
    Ok(())
}

/// Whether anyone can log in yet; until then visitors are sent to the one-time setup.
pub async fn any_can_log_in(db: &mut Db) -> Result<bool, StoreError> {
    let count: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM users WHERE password_hash IS NOT NULL AND active = 1",
    )
    .fetch_one(db)
    .await?;
    Ok(count > 0)
}

/// Whether any admin exists, active or not, with a password or not: once one does, the
/// one-time setup never opens again.
pub async fn any_admin(db: &mut Db) -> Result<bool, StoreError> {
    let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM users WHERE role = 'admin'")
        .fetch_one(db)
        .await?;
    Ok(count > 0)
}

/// Saves what may change of a user: name, role, status, time zone, language and digest.
pub async fn update(db: &mut Db, user: &User) -> Result<(), StoreError> {
    let done = sqlx::query(
        "UPDATE users SET name = $1, role = $2, active = $3, time_zone = $4, language = $5, \
         digest = $7, digest_time = $8 WHERE id = $6",
    )
    .bind(&user.name)
    .bind(user.role.as_str())
    .bind(i64::from(user.active))
    .bind(user.time_zone.as_deref())
    .bind(user.language.code())
    .bind(user.id)
    .bind(user.digest.as_str())
    .bind(tickler_core::digest::format_time(user.digest_time))
    .execute(db)
    .await?;
    if done.rows_affected() == 0 {
        return Err(StoreError::not_found("user", user.id));
    }
    Ok(())
}

/// The generation of a user's calendar feed address.
pub async fn calendar_generation(db: &mut Db, id: i64) -> Result<i64, StoreError> {
    let found: Option<i64> =
        sqlx::query_scalar("SELECT calendar_generation FROM users WHERE id = $1")
            .bind(id)
            .fetch_optional(db)
            .await?;
    found.ok_or_else(|| StoreError::not_found("user", id))
}

/// Counts a user's calendar generation up: their old feed address stops working.
pub async fn next_calendar_generation(db: &mut Db, id: i64) -> Result<i64, StoreError> {
    let found: Option<i64> = sqlx::query_scalar(
        "UPDATE users SET calendar_generation = calendar_generation + 1 WHERE id = $1 \
         RETURNING calendar_generation",
    )
    .bind(id)
    .fetch_optional(db)
    .await?;
    found.ok_or_else(|| StoreError::not_found("user", id))
}
