//! Organisation settings edited in the web app (key/value rows that take precedence over
//! the environment's defaults) and the holiday list that business-day offsets skip.

use jiff::{Timestamp, civil::Date};

use crate::{Db, StoreError, time::date_from_text, time::millis};

/// Every stored setting as (key, value), by key.
pub async fn all(db: &mut Db) -> Result<Vec<(String, String)>, StoreError> {
    Ok(
        sqlx::query_as("SELECT setting_key, value FROM settings ORDER BY setting_key")
            .fetch_all(db)
            .await?,
    )
}

/// Stores `value` under `key`, replacing what was there.
pub async fn put(db: &mut Db, key: &str, value: &str, now: Timestamp) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO settings (setting_key, value, updated_at) VALUES ($1, $2, $3) \
         ON CONFLICT (setting_key) DO UPDATE SET value = excluded.value, \
         updated_at = excluded.updated_at",
    )
    .bind(key)
    .bind(value)
    .bind(millis(now))
    .execute(db)
    .await?;
    Ok(())
}

/// The value under `key`, if any.
pub async fn get(db: &mut Db, key: &str) -> Result<Option<String>, StoreError> {
    Ok(
        sqlx::query_scalar("SELECT value FROM settings WHERE setting_key = $1")
            .bind(key)
            .fetch_optional(db)
            .await?,
    )
}

/// Stores `value` under `key` only if nothing is there yet; `false` if something was. In a
/// transaction this is a claim that succeeds once: a second writer waits for the first to
/// commit (the key is unique), then finds the key taken.
pub async fn insert_new(
    db: &mut Db,
    key: &str,
    value: &str,
    now: Timestamp,
) -> Result<bool, StoreError> {
    let done = sqlx::query(
        "INSERT INTO settings (setting_key, value, updated_at) VALUES ($1, $2, $3) \
         ON CONFLICT (setting_key) DO NOTHING",
    )
    .bind(key)
    .bind(value)
    .bind(millis(now))
    .execute(db)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// The value under `key`, storing `value` there first if there is none: of two processes
/// racing to create the same setting, both get the one that won.
pub async fn get_or_insert(
    db: &mut Db,
    key: &str,
    value: &str,
    now: Timestamp,
) -> Result<String, StoreError> {
    insert_new(&mut *db, key, value, now).await?;
    get(db, key)
        .await?
        .ok_or_else(|| StoreError::not_found("setting", key))
}

/// Forgets `key`, so the environment's default applies again.
pub async fn delete(db: &mut Db, key: &str) -> Result<(), StoreError> {
    sqlx::query("DELETE FROM settings WHERE setting_key = $1")
        .bind(key)
        .execute(db)
        .await?;
    Ok(())
}

/// One non-working day of the organisation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Holiday {
    pub day: Date,
    pub name: String,
}

/// The holiday list, by date.
pub async fn holidays(db: &mut Db) -> Result<Vec<Holiday>, StoreError> {
    let rows: Vec<(String, String)> = sqlx::query_as("SELECT day, name FROM holidays ORDER BY day")
        .fetch_all(db)
        .await?;
    rows.into_iter()
        .map(|(day, name)| {
            Ok(Holiday {
                day: date_from_text(&day)?,
                name,
            })
        })
        .collect()
}

/// Replaces the whole holiday list (run it in a transaction).
pub async fn replace_holidays(db: &mut Db, list: &[Holiday]) -> Result<(), StoreError> {
    sqlx::query("DELETE FROM holidays")
        .execute(&mut *db)
        .await?;
    for holiday in list {
        sqlx::query("INSERT INTO holidays (day, name) VALUES ($1, $2)")
            .bind(holiday.day.to_string())
            .bind(&holiday.name)
            .execute(&mut *db)
            .await?;
    }
    Ok(())
}

/// Active contracts whose customer has no time zone of their own: their reminders follow
/// the organisation's default zone.
pub async fn active_contracts_without_zone(db: &mut Db) -> Result<Vec<i64>, StoreError> {
    Ok(sqlx::query_scalar(
        "SELECT c.id FROM contracts c JOIN customers cu ON cu.id = c.customer_id \
         WHERE c.status = 'active' AND (cu.time_zone IS NULL OR cu.time_zone = '') \
         ORDER BY c.id",
    )
    .fetch_all(db)
    .await?)
}

/// Active contracts whose plan has a step counted in business days: their reminders move
/// when the holiday list changes.
pub async fn active_contracts_on_business_days(db: &mut Db) -> Result<Vec<i64>, StoreError> {
    Ok(sqlx::query_scalar(
        "SELECT c.id FROM contracts c WHERE c.status = 'active' AND c.plan_id IN \
         (SELECT plan_id FROM plan_steps WHERE offset_unit = 'business_days') ORDER BY c.id",
    )
    .fetch_all(db)
    .await?)
}

/// Active admins who can log in: the last one must not lock everyone out.
pub async fn active_admins(db: &mut Db) -> Result<Vec<i64>, StoreError> {
    Ok(
        sqlx::query_scalar("SELECT id FROM users WHERE role = 'admin' AND active = 1 ORDER BY id")
            .fetch_all(db)
            .await?,
    )
}
