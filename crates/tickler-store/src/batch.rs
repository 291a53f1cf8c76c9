//! Multi-row statements: many rows in one `INSERT ... VALUES (...), (...)`, so that a bulk
//! write (an import) costs one round trip per few hundred rows instead of one per row.

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

/// The ids a multi-row `INSERT ... RETURNING id` gave, in the order of its VALUES rows.
/// Neither backend promises the order of RETURNING rows, but both assign ids in the order
/// the rows are inserted (SQLite: the single writer's next rowid; PostgreSQL: `nextval`
/// called row by row), so the ascending ids are the rows' ids in VALUES order.
pub(crate) fn in_values_order(mut ids: Vec<i64>) -> Vec<i64> {
    ids.sort_unstable();
    ids
}

/// Readies `db` for a transaction that writes a large file's rows: on SQLite, a page cache of
/// 64 MiB instead of 2 MiB for this connection, because the default spilled the growing
/// tables' and indexes' pages to the log and read them back for every batch (an import's
/// `perf` profile was mostly page reads and writes), making the cost per row grow with the
/// file. Nothing on PostgreSQL, whose server keeps its own cache.
pub async fn prepare_bulk_write(db: &mut Db) -> Result<(), StoreError> {
    if !db.backend_name().eq_ignore_ascii_case("postgresql") {
        sqlx::query("PRAGMA cache_size = -65536")
            .execute(db)
            .await?;
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
