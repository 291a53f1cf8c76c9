//! Multi-row statements: many rows in one `INSERT ... VALUES (...), (...)`, so that a bulk
//! write (an import) costs one round trip per few hundred rows instead of one per row.

/// Bound parameters one statement may carry: SQLite's limit (32,766) is the lower of the
/// two backends' (PostgreSQL's is 65,535).
const MAX_PARAMS: usize = 32_766;

/// How many rows of `columns` bound values fit in one statement.
pub(crate) fn rows_per_statement(columns: usize) -> usize {
    (MAX_PARAMS / columns.max(1)).max(1)
}

/// `($1, $2, $3), ($4, $5, $6)` for `rows` rows of `columns` values each: the placeholders
/// both backends accept (through `sqlx::Any`, which passes the text on unchanged).
pub(crate) fn values(rows: usize, columns: usize) -> String {
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
            text.push('$');
            text.push_str(&(row * columns + column + 1).to_string());
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_number_every_value_row_by_row() {
        assert_eq!(values(2, 3), "($1, $2, $3), ($4, $5, $6)");
        assert_eq!(values(1, 1), "($1)");
    }

    #[test]
    fn a_statement_stays_within_sqlites_parameter_limit() {
        for columns in [1, 7, 18, 21] {
            assert!(rows_per_statement(columns) * columns <= 32_766);
            assert!((rows_per_statement(columns) + 1) * columns > 32_766);
        }
    }
}
