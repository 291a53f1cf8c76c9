//! Multi-row statements: many rows in one `INSERT ... VALUES (...), (...)`, so that a bulk
//! write (an import) costs one round trip per few hundred rows instead of one per row.

use sqlx::AssertSqlSafe;

use crate::{Db, StoreError};

/// Bound parameters one statement may carry: SQLite's limit (32,766) is the lower of the
/// two backends' (PostgreSQL's is 65,535).
const MAX_PARAMS: usize = 32_766;

/// How many rows of `columns` bound values fit in one statement.
pub(crate) fn rows_per_statement(columns: usize) -> usize {
    (MAX_PARAMS / columns.max(1)).max(1)
}

/// The placeholders of `rows` rows of `columns` values each, for `db`'s backend: numbered on
/// PostgreSQL, `($1, $2), ($3, $4)`; anonymous on SQLite, `(?, ?), (?, ?)`, because sqlx
/// looks up the name of every numbered parameter with `sqlite3_bind_parameter_name`, which
/// scans the statement's parameters: binding 32,766 numbered values took 1.4 s (a `perf`
/// profile of an import spent 91 % there), anonymous ones take microseconds.
pub(crate) fn values(db: &Db, rows: usize, columns: usize) -> String {
    let numbered = db.backend_name().eq_ignore_ascii_case("postgresql");
    values_text(numbered, rows, columns)
}

fn values_text(numbered: bool, rows: usize, columns: usize) -> String {
    let mut text = String::with_capacity(rows * columns * 6);
    for row in 0..rows {
        if row > 0 {
            text.push_str(", ");
        }
        text.push('(');
        for column in 0..columns {
            if column > 0 {
                text.push_str(", ");
            }
            if numbered {
                text.push('$');
                text.push_str(&(row * columns + column + 1).to_string());
            } else {
                text.push('?');
            }
        }
        text.push(')');
    }
    text
}

/// What ends a multi-row `INSERT` whose ids [`inserted_ids`] reads: `RETURNING id` on
/// PostgreSQL; nothing on SQLite, where the ids are known without sending them back.
pub(crate) fn returning_id(db: &Db) -> &'static str {
    if is_postgres(db) { " RETURNING id" } else { "" }
}

/// The ids of the `rows` rows that `query`, a multi-row `INSERT ... VALUES` ending with
/// [`returning_id`], adds to a table whose id is its rowid, in the order of its VALUES rows.
///
/// PostgreSQL: the ids `RETURNING` gave, ascending. Neither backend promises the order of
/// RETURNING rows, but both assign ids in the order the rows are inserted (`nextval` called
/// row by row), so the ascending ids are the rows' ids in VALUES order.
///
/// SQLite: a new row's rowid is the table's largest plus one, and the transaction holds the
/// only write lock, so the rows get the ids after the largest before the statement, up to
/// `last_insert_rowid()`; checked, since SQLite picks other ids once the largest is taken. Sending each id
/// back instead (RETURNING) crossed from sqlx's SQLite thread to the caller once per row:
/// a fifth of an import's time went to those hand-overs.
pub(crate) async fn inserted_ids<'q>(
    db: &mut Db,
    table: &str,
    query: sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments>,
    rows: usize,
) -> Result<Vec<i64>, StoreError> {
    if is_postgres(db) {
        let mut ids: Vec<i64> = query
            .fetch_all(&mut *db)
            .await?
            .iter()
            .map(|row| sqlx::Row::try_get(row, 0))
            .collect::<Result<_, _>>()?;
        ids.sort_unstable();
        return Ok(ids);
    }
    let before: Option<i64> =
        sqlx::query_scalar(AssertSqlSafe(format!("SELECT max(rowid) FROM \"{table}\"")))
            .fetch_one(&mut *db)
            .await?;
    let done = query.execute(&mut *db).await?;
    let last: i64 = sqlx::query_scalar("SELECT last_insert_rowid()")
        .fetch_one(&mut *db)
        .await?;
    let first = before.unwrap_or(0) + 1;
    let count = i64::try_from(rows).unwrap_or(i64::MAX);
    if done.rows_affected() != rows as u64 || last - first + 1 != count {
        return Err(StoreError::Corrupt(format!(
            "{rows} rows inserted into {table} did not get consecutive ids after {}",
            first - 1
        )));
    }
    Ok((first..=last).collect())
}

fn is_postgres(db: &Db) -> bool {
    db.backend_name().eq_ignore_ascii_case("postgresql")
}

/// Readies `db` for a transaction that writes a large file's rows (`incoming` of them, as
/// contracts), to be followed by [`finish_bulk_write`] before the commit.
///
/// On SQLite:
/// - a page cache of 16 MiB instead of 2 MiB for this connection, because the default spilled
///   the growing tables' pages to the log and read them back for every batch. Not more: it
///   also sizes the sorter's runs when the indexes are built again, and with the indexes set
///   aside the writes are mostly appends; 64 MiB took 133 s and 304 MB at 1,000,000 rows,
///   16 MiB 114 s and 185 MB;
/// - when the file brings at least as many contracts as the database holds, the secondary
///   indexes of the tables an import fills are dropped here and built again by
///   [`finish_bulk_write`], inside the same transaction (so a failed import still leaves
///   them as they were). Rows arrive in random order of end date, title, send instant, so
///   each of those indexes took one random leaf page per row: past the cache, every row
///   cost page reads and a page spilled to the log, and 1,000,000 rows did not finish in
///   14 minutes. Building an index sorts its keys once. Into a larger database, the indexes
///   are kept: rebuilding them would cost in proportion to the database, not the file.
///   Unique indexes are kept: their check is what reports a duplicate, row by row. Other
///   connections go on reading the last committed state, indexes included.
///
/// On PostgreSQL, whose server keeps its own cache, and where dropping an index locks its
/// table against every reader until the commit, the indexes stay. Bitmap scans are turned
/// off for the transaction: the planner read the import's lookups of customers by address
/// (`email IN (...)`) through the trigram index of migration 0014 instead of the primary
/// key, and every address shares trigrams such as `com`, so one lookup of 500 addresses
/// read every address so far (2.2 s at 2,500 customers). A GIN index is only read by bitmap
/// scans; without them the primary key serves.
pub async fn prepare_bulk_write(db: &mut Db, incoming: u64) -> Result<BulkWrite, StoreError> {
    let mut set_aside = Vec::new();
    if is_postgres(db) {
        sqlx::query("SET LOCAL enable_bitmapscan = off")
            .execute(&mut *db)
            .await?;
        return Ok(BulkWrite { set_aside });
    }
    sqlx::query("PRAGMA cache_size = -16384")
        .execute(&mut *db)
        .await?;
    let present: i64 = sqlx::query_scalar("SELECT count(*) FROM contracts")
        .fetch_one(&mut *db)
        .await?;
    if u64::try_from(present).unwrap_or(u64::MAX) > incoming {
        return Ok(BulkWrite { set_aside });
    }
    let indexes: Vec<(String, String)> = sqlx::query_as(
        "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL \
         AND tbl_name IN ('contracts', 'reminders', 'customers') \
         AND upper(sql) NOT LIKE 'CREATE UNIQUE%' ORDER BY name",
    )
    .fetch_all(&mut *db)
    .await?;
    for (name, sql) in indexes {
        sqlx::query(AssertSqlSafe(format!(
            "DROP INDEX \"{}\"",
            name.replace('"', "\"\"")
        )))
        .execute(&mut *db)
        .await?;
        set_aside.push(sql);
    }
    Ok(BulkWrite { set_aside })
}

/// What [`prepare_bulk_write`] set aside for the duration of a bulk write.
#[must_use = "the indexes set aside must be built again with finish_bulk_write"]
pub struct BulkWrite {
    /// The `CREATE INDEX` statements of the indexes dropped, as the schema held them.
    set_aside: Vec<String>,
}

/// Builds again the indexes [`prepare_bulk_write`] dropped; call it in the same transaction,
/// after the last row and before the commit.
pub async fn finish_bulk_write(db: &mut Db, bulk: BulkWrite) -> Result<(), StoreError> {
    for sql in bulk.set_aside {
        sqlx::query(AssertSqlSafe(sql)).execute(&mut *db).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_number_every_value_row_by_row() {
        assert_eq!(values_text(true, 2, 3), "($1, $2, $3), ($4, $5, $6)");
        assert_eq!(values_text(false, 2, 2), "(?, ?), (?, ?)");
    }

    #[test]
    fn a_statement_stays_within_sqlites_parameter_limit() {
        for columns in [1, 7, 18, 21] {
            assert!(rows_per_statement(columns) * columns <= 32_766);
            assert!((rows_per_statement(columns) + 1) * columns > 32_766);
        }
    }
}
