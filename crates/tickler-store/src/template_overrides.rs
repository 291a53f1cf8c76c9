//! Templates as the team rewrote them in the app; without a row the built-in text is used.

use jiff::Timestamp;
use tickler_core::language::Language;

use crate::{Db, StoreError, instant_from_millis, time::millis};

/// A rewritten subject and body of one template in one language.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct TemplateOverride {
    pub template: String,
    pub language: Language,
    pub subject: String,
    pub body: String,
    pub updated_at: Timestamp,
    /// Who saved it (a user's email).
    pub updated_by: String,
}

type Row = (String, String, String, String, i64, String);

fn from_row(
    (template, language, subject, body, updated_at, updated_by): Row,
) -> Result<TemplateOverride, StoreError> {
    let language = language.parse().map_err(|()| {
        StoreError::Corrupt(format!(
            "template {template}: unknown language \"{language}\""
        ))
    })?;
    Ok(TemplateOverride {
        template,
        language,
        subject,
        body,
        updated_at: instant_from_millis(updated_at)?,
        updated_by,
    })
}

const COLUMNS: &str = "template, language, subject, body, updated_at, updated_by";

pub async fn get(
    db: &mut Db,
    template: &str,
    language: Language,
) -> Result<Option<TemplateOverride>, StoreError> {
    let row: Option<Row> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM template_overrides WHERE template = $1 AND language = $2"
    )))
    .bind(template)
    .bind(language.code())
    .fetch_optional(db)
    .await?;
    row.map(from_row).transpose()
}

/// The override of `template` in `language`, else its English override (the same fallback
/// as the built-in templates), with one lookup by primary key.
pub async fn find_with_fallback(
    db: &mut Db,
    template: &str,
    language: Language,
) -> Result<Option<TemplateOverride>, StoreError> {
    let rows: Vec<Row> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM template_overrides \
         WHERE template = $1 AND language IN ($2, 'en')"
    )))
    .bind(template)
    .bind(language.code())
    .fetch_all(db)
    .await?;
    let mut found: Vec<TemplateOverride> =
        rows.into_iter().map(from_row).collect::<Result<_, _>>()?;
    found.sort_by_key(|o| o.language != language);
    Ok(found.into_iter().next())
}

/// Stores (or replaces) the override of `template` in `language`.
pub async fn put(
    db: &mut Db,
    template: &str,
    language: Language,
    subject: &str,
    body: &str,
    now: Timestamp,
    updated_by: &str,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO template_overrides (template, language, subject, body, updated_at, \
         updated_by) VALUES ($1, $2, $3, $4, $5, $6) \
         ON CONFLICT (template, language) DO UPDATE SET subject = excluded.subject, \
         body = excluded.body, updated_at = excluded.updated_at, \
         updated_by = excluded.updated_by",
    )
    .bind(template)
    .bind(language.code())
    .bind(subject)
    .bind(body)
    .bind(millis(now))
    .bind(updated_by)
    .execute(db)
    .await?;
    Ok(())
}

/// Removes an override, so the built-in text applies again; false if there was none.
pub async fn delete(db: &mut Db, template: &str, language: Language) -> Result<bool, StoreError> {
    let done = sqlx::query("DELETE FROM template_overrides WHERE template = $1 AND language = $2")
        .bind(template)
        .bind(language.code())
        .execute(db)
        .await?;
    Ok(done.rows_affected() > 0)
}

/// Every override, by template and language.
pub async fn list(db: &mut Db) -> Result<Vec<TemplateOverride>, StoreError> {
    let rows: Vec<Row> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM template_overrides ORDER BY template, language"
    )))
    .fetch_all(db)
    .await?;
    rows.into_iter().map(from_row).collect()
}

/// The overrides a message in `language` may use: those in that language and in English
/// (the fallback). The table holds a few rows per template, so this stays one small read.
pub async fn for_language(
    db: &mut Db,
    language: Language,
) -> Result<Vec<TemplateOverride>, StoreError> {
    let rows: Vec<Row> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM template_overrides WHERE language IN ($1, 'en') \
         ORDER BY template, language"
    )))
    .bind(language.code())
    .fetch_all(db)
    .await?;
    rows.into_iter().map(from_row).collect()
}
