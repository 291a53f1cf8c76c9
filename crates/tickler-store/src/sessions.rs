//! Web sessions and login throttling.

use jiff::Timestamp;

use crate::{Db, StoreError, instant_from_millis, time::millis};

/// A live session: who, and the token its forms must carry.
#[derive(Debug, Clone)]
pub struct Session {
    pub user_id: i64,
    pub csrf_token: String,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
    /// The confirmation the session's next page shows once, if any.
    pub notice: Option<String>,
}

pub async fn insert(
    db: &mut Db,
    token_hash: &str,
    user_id: i64,
    csrf_token: &str,
    now: Timestamp,
    expires_at: Timestamp,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO sessions (token_hash, user_id, csrf_token, created_at, last_seen_at, expires_at) \
         VALUES ($1, $2, $3, $4, $4, $5)",
    )
    .bind(token_hash)
    .bind(user_id)
    .bind(csrf_token)
    .bind(millis(now))
    .bind(millis(expires_at))
    .execute(db)
    .await?;
    Ok(())
}

/// The session for a token hash if it has not expired at `now`.
pub async fn find_live(
    db: &mut Db,
    token_hash: &str,
    now: Timestamp,
) -> Result<Option<Session>, StoreError> {
    let row: Option<(i64, String, i64, i64, Option<String>)> = sqlx::query_as(
        "SELECT user_id, csrf_token, created_at, expires_at, notice FROM sessions \
         WHERE token_hash = $1 AND expires_at > $2",
    )
    .bind(token_hash)
    .bind(millis(now))
    .fetch_optional(db)
    .await?;
    row.map(|(user_id, csrf_token, created_at, expires_at, notice)| {
        Ok(Session {
            user_id,
            csrf_token,
            created_at: instant_from_millis(created_at)?,
            expires_at: instant_from_millis(expires_at)?,
            notice,
        })
    })
    .transpose()
}

/// Slides an idle session's expiry forward (the engine keeps it within the session's lifetime).
pub async fn touch(
    db: &mut Db,
    token_hash: &str,
    now: Timestamp,
    expires_at: Timestamp,
) -> Result<(), StoreError> {
    sqlx::query("UPDATE sessions SET last_seen_at = $1, expires_at = $2 WHERE token_hash = $3")
        .bind(millis(now))
        .bind(millis(expires_at))
        .bind(token_hash)
        .execute(db)
        .await?;
    Ok(())
}

/// Keeps `notice` for the session's next page, replacing one not yet shown.
pub async fn set_notice(db: &mut Db, token_hash: &str, notice: &str) -> Result<(), StoreError> {
    sqlx::query("UPDATE sessions SET notice = $1 WHERE token_hash = $2")
        .bind(notice)
        .bind(token_hash)
        .execute(db)
        .await?;
    Ok(())
}

/// Clears the session's notice if it is still `seen`; `false` if another request took it
/// first (or it changed), so that each notice is shown by one page only.
pub async fn take_notice(db: &mut Db, token_hash: &str, seen: &str) -> Result<bool, StoreError> {
    let done =
        sqlx::query("UPDATE sessions SET notice = NULL WHERE token_hash = $1 AND notice = $2")
            .bind(token_hash)
            .bind(seen)
            .execute(db)
            .await?;
    Ok(done.rows_affected() == 1)
}

pub async fn delete(db: &mut Db, token_hash: &str) -> Result<(), StoreError> {
    sqlx::query("DELETE FROM sessions WHERE token_hash = $1")
        .bind(token_hash)
        .execute(db)
        .await?;
    Ok(())
}

/// Ends every session of a user (deactivated, role or password changed).
pub async fn delete_for_user(db: &mut Db, user_id: i64) -> Result<(), StoreError> {
    sqlx::query("DELETE FROM sessions WHERE user_id = $1")
        .bind(user_id)
        .execute(db)
        .await?;
    Ok(())
}

/// Ends every session of a user but the one of `keep_hash` (the user changed their own
/// password in it).
pub async fn delete_others_of_user(
    db: &mut Db,
    user_id: i64,
    keep_hash: &str,
) -> Result<(), StoreError> {
    sqlx::query("DELETE FROM sessions WHERE user_id = $1 AND token_hash <> $2")
        .bind(user_id)
        .bind(keep_hash)
        .execute(db)
        .await?;
    Ok(())
}

pub async fn delete_expired(db: &mut Db, now: Timestamp) -> Result<u64, StoreError> {
    let done = sqlx::query("DELETE FROM sessions WHERE expires_at <= $1")
        .bind(millis(now))
        .execute(db)
        .await?;
    Ok(done.rows_affected())
}

/// Counts one more login attempt for a throttle key and returns the failures counted before
/// it (within the window since `window_start`) and when the last of them was. Counting comes
/// before the password check, so that a parallel burst is counted in full: each attempt gets
/// its own count, by a compare-and-swap on the row that both backends serialise.
pub async fn count_attempt(
    db: &mut Db,
    key: &str,
    now: Timestamp,
    window_start: Timestamp,
) -> Result<(u32, Option<Timestamp>), StoreError> {
    loop {
        let row: Option<(i64, i64, i64)> = sqlx::query_as(
            "SELECT failures, first_failure_at, last_failure_at FROM login_failures \
             WHERE throttle_key = $1",
        )
        .bind(key)
        .fetch_optional(&mut *db)
        .await?;
        let Some((failures, first, last)) = row else {
            let inserted = sqlx::query(
                "INSERT INTO login_failures (throttle_key, failures, first_failure_at, last_failure_at) \
                 VALUES ($1, 1, $2, $2) ON CONFLICT (throttle_key) DO NOTHING",
            )
            .bind(key)
            .bind(millis(now))
            .execute(&mut *db)
            .await?;
            if inserted.rows_affected() == 1 {
                return Ok((0, None));
            }
            continue;
        };
        // A failure after a quiet window starts counting anew.
        let current = last > millis(window_start);
        let (before, first_kept) = if current {
            (failures, first)
        } else {
            (0, millis(now))
        };
        let updated = sqlx::query(
            "UPDATE login_failures SET failures = $1, first_failure_at = $2, last_failure_at = $3 \
             WHERE throttle_key = $4 AND failures = $5 AND last_failure_at = $6",
        )
        .bind(before + 1)
        .bind(first_kept)
        .bind(millis(now).max(last))
        .bind(key)
        .bind(failures)
        .bind(last)
        .execute(&mut *db)
        .await?;
        if updated.rows_affected() == 1 {
            let last_at = if current {
                Some(instant_from_millis(last)?)
            } else {
                None
            };
            return Ok((u32::try_from(before).unwrap_or(u32::MAX), last_at));
        }
    }
}

/// Takes back one counted attempt of `key` (it was a successful login).
pub async fn take_back_attempt(db: &mut Db, key: &str) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE login_failures SET failures = failures - 1 WHERE throttle_key = $1 AND failures > 0",
    )
    .bind(key)
    .execute(db)
    .await?;
    Ok(())
}

pub async fn clear_failures(db: &mut Db, key: &str) -> Result<(), StoreError> {
    sqlx::query("DELETE FROM login_failures WHERE throttle_key = $1")
        .bind(key)
        .execute(db)
        .await?;
    Ok(())
}

/// Forgets failure counts last touched before `before`: they no longer throttle anyone.
pub async fn delete_failures_before(db: &mut Db, before: Timestamp) -> Result<u64, StoreError> {
    let done = sqlx::query("DELETE FROM login_failures WHERE last_failure_at < $1")
        .bind(millis(before))
        .execute(db)
        .await?;
    Ok(done.rows_affected())
}
