//! Members of the team: contract owners and, later, people who log in.

use jiff::Timestamp;
use serde::Serialize;
use tickler_core::user::Role;

use sqlx::AssertSqlSafe;

use crate::{Db, StoreError, time::millis};

#[derive(Debug, Clone, Serialize)]
pub struct User {
    pub id: i64,
    pub email: String,
    pub name: String,
    pub role: Role,
    pub active: bool,
}

type UserRow = (i64, String, String, String, i64);

fn from_row((id, email, name, role, active): UserRow) -> Result<User, StoreError> {
    Ok(User {
        id,
        email,
        name,
        role: role
            .parse()
            .map_err(|e| StoreError::Corrupt(format!("user {id}: {e}")))?,
        active: active != 0,
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

const COLUMNS: &str = "SELECT id, email, name, role, active FROM users";

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
