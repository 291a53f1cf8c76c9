//! A whole installation, table by table, for moving it between SQLite and PostgreSQL
//! (`tickler export all` / `import all`). The tables and their columns are read from the
//! live schema rather than listed here, so that a migration adding a table or a column is
//! carried without touching this module. Values travel as text: the schema is the same on
//! both backends, with only integers (instants, money, ids) and text (dates, words) in it.

use std::collections::{BTreeMap, BTreeSet};

use sqlx::{AssertSqlSafe, Row};

use crate::{Backend, Db, StoreError, Tx, batch};

/// Tables whose rows a database gets without anyone entering data: the default plans and
/// their steps written at every start, settings such as the link secret or the setup code
/// made on first use, and the recurring jobs' bookkeeping. An import replaces them with the
/// export's; any other row in the target means it is in use, and the import is refused.
pub const START_UP_TABLES: &[&str] = &["plans", "plan_steps", "settings", "recurring_jobs"];

/// What a column holds, as far as moving it needs to know: the schema stores instants,
/// money and ids as integers and everything else (dates included) as text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColumnKind {
    Integer,
    Text,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Column {
    pub name: String,
    pub kind: ColumnKind,
    pub nullable: bool,
}

/// One table of the schema, with the tables its foreign keys point at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Table {
    pub name: String,
    pub columns: Vec<Column>,
    /// The primary key's columns, in key order; rows are read in this order, which also
    /// puts a row after the row it refers to in the same table (a term after the term it
    /// renews), since such references point at older rows.
    pub primary_key: Vec<String>,
    pub references: BTreeSet<String>,
}

impl Table {
    pub fn column(&self, name: &str) -> Option<&Column> {
        self.columns.iter().find(|c| c.name == name)
    }
}

/// The highest migration applied to the database: two databases with the same version
/// have the same tables and columns.
pub async fn schema_version(db: &mut Db) -> Result<i64, StoreError> {
    let version: Option<i64> =
        sqlx::query_scalar("SELECT max(version) FROM _sqlx_migrations WHERE success")
            .fetch_one(&mut *db)
            .await?;
    Ok(version.unwrap_or(0))
}

/// Every table of the schema except sqlx's bookkeeping and SQLite's full-text indexes
/// (their triggers fill them again as rows are inserted; PostgreSQL searches the tables
/// themselves), ordered so that each comes after the tables its foreign keys refer to.
pub async fn tables(db: &mut Db) -> Result<Vec<Table>, StoreError> {
    let mut found = match Backend::of(db) {
        Backend::Sqlite => sqlite_tables(db).await?,
        Backend::Postgres => postgres_tables(db).await?,
    };
    for table in &mut found {
        in_canonical_order(table);
    }
    in_reference_order(found)
}

/// Orders a table's columns key first, then by name: the backends keep the order the
/// migrations made, which differs where SQLite rebuilt a table that PostgreSQL altered
/// (reminders, contract terms), and the same data should make the same files on both.
fn in_canonical_order(table: &mut Table) {
    let key = &table.primary_key;
    table.columns.sort_by(|a, b| {
        let rank = |c: &Column| key.iter().position(|k| *k == c.name).unwrap_or(key.len());
        rank(a).cmp(&rank(b)).then_with(|| a.name.cmp(&b.name))
    });
}

async fn sqlite_tables(db: &mut Db) -> Result<Vec<Table>, StoreError> {
    // A virtual table's shadow tables (`contracts_search_data`, ...) are ordinary tables
    // named after it; they are left out with it.
    let virtual_tables: Vec<String> = sqlx::query_scalar(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND sql LIKE 'CREATE VIRTUAL TABLE%'",
    )
    .fetch_all(&mut *db)
    .await?;
    let names: Vec<String> = sqlx::query_scalar(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' \
         ESCAPE '\\' AND name <> '_sqlx_migrations' ORDER BY name",
    )
    .fetch_all(&mut *db)
    .await?;
    let mut tables = Vec::new();
    for name in names {
        if virtual_tables
            .iter()
            .any(|v| name == *v || name.starts_with(&format!("{v}_")))
        {
            continue;
        }
        let rows = sqlx::query(
            "SELECT name, type, \"notnull\", pk FROM pragma_table_info($1) ORDER BY cid",
        )
        .bind(&name)
        .fetch_all(&mut *db)
        .await?;
        let mut columns = Vec::new();
        let mut key: Vec<(i64, String)> = Vec::new();
        for row in rows {
            let column: String = row.try_get(0)?;
            let declared: String = row.try_get(1)?;
            let not_null: i64 = row.try_get(2)?;
            let key_position: i64 = row.try_get(3)?;
            if key_position > 0 {
                key.push((key_position, column.clone()));
            }
            columns.push(Column {
                kind: kind_of(&name, &column, &declared)?,
                // An INTEGER PRIMARY KEY is the rowid: never NULL, whatever its declaration.
                nullable: not_null == 0 && key_position == 0,
                name: column,
            });
        }
        key.sort();
        let references: BTreeSet<String> =
            sqlx::query_scalar("SELECT DISTINCT \"table\" FROM pragma_foreign_key_list($1)")
                .bind(&name)
                .fetch_all(&mut *db)
                .await?
                .into_iter()
                .collect();
        tables.push(Table {
            name,
            columns,
            primary_key: key.into_iter().map(|(_, column)| column).collect(),
            references,
        });
    }
    Ok(tables)
}

async fn postgres_tables(db: &mut Db) -> Result<Vec<Table>, StoreError> {
    let rows = sqlx::query(
        "SELECT c.table_name::text, c.column_name::text, c.data_type::text, c.is_nullable::text \
         FROM information_schema.columns c \
         JOIN information_schema.tables t \
           ON t.table_schema = c.table_schema AND t.table_name = c.table_name \
         WHERE c.table_schema = current_schema() AND t.table_type = 'BASE TABLE' \
           AND c.table_name <> '_sqlx_migrations' \
         ORDER BY c.table_name, c.ordinal_position",
    )
    .fetch_all(&mut *db)
    .await?;
    let mut tables: BTreeMap<String, Table> = BTreeMap::new();
    for row in rows {
        let table: String = row.try_get(0)?;
        let column: String = row.try_get(1)?;
        let declared: String = row.try_get(2)?;
        let nullable: String = row.try_get(3)?;
        let kind = kind_of(&table, &column, &declared)?;
        tables
            .entry(table.clone())
            .or_insert_with(|| Table {
                name: table,
                columns: Vec::new(),
                primary_key: Vec::new(),
                references: BTreeSet::new(),
            })
            .columns
            .push(Column {
                name: column,
                kind,
                nullable: nullable == "YES",
            });
    }
    let keys = sqlx::query(
        "SELECT k.table_name::text, k.column_name::text \
         FROM information_schema.table_constraints c \
         JOIN information_schema.key_column_usage k \
           ON k.constraint_schema = c.constraint_schema AND k.constraint_name = c.constraint_name \
         WHERE c.table_schema = current_schema() AND c.constraint_type = 'PRIMARY KEY' \
         ORDER BY k.table_name, k.ordinal_position",
    )
    .fetch_all(&mut *db)
    .await?;
    for row in keys {
        let table: String = row.try_get(0)?;
        if let Some(found) = tables.get_mut(&table) {
            found.primary_key.push(row.try_get(1)?);
        }
    }
    let references = sqlx::query(
        "SELECT from_table.relname::text, to_table.relname::text FROM pg_constraint f \
         JOIN pg_class from_table ON from_table.oid = f.conrelid \
         JOIN pg_class to_table ON to_table.oid = f.confrelid \
         JOIN pg_namespace n ON n.oid = f.connamespace \
         WHERE f.contype = 'f' AND n.nspname = current_schema()",
    )
    .fetch_all(&mut *db)
    .await?;
    for row in references {
        let table: String = row.try_get(0)?;
        if let Some(found) = tables.get_mut(&table) {
            found.references.insert(row.try_get(1)?);
        }
    }
    Ok(tables.into_values().collect())
}

/// The kind of a column from its declared type; a type the schema does not use (a float,
/// a blob) is refused rather than carried as text and changed on the way.
fn kind_of(table: &str, column: &str, declared: &str) -> Result<ColumnKind, StoreError> {
    let declared = declared.to_ascii_lowercase();
    if declared.contains("int") {
        Ok(ColumnKind::Integer)
    } else if declared.contains("text") || declared.contains("char") {
        Ok(ColumnKind::Text)
    } else {
        Err(StoreError::Corrupt(format!(
            "column {table}.{column} has the type {declared}, which an export cannot carry"
        )))
    }
}

/// `tables` ordered so that each comes after those it refers to, alphabetically among
/// those free to go next (so both backends give the same order).
fn in_reference_order(tables: Vec<Table>) -> Result<Vec<Table>, StoreError> {
    let mut waiting: BTreeMap<String, Table> =
        tables.into_iter().map(|t| (t.name.clone(), t)).collect();
    let mut ordered: Vec<Table> = Vec::with_capacity(waiting.len());
    while !waiting.is_empty() {
        let next = waiting
            .values()
            .find(|t| {
                t.references
                    .iter()
                    .all(|r| *r == t.name || !waiting.contains_key(r))
            })
            .map(|t| t.name.clone());
        match next.and_then(|name| waiting.remove(&name)) {
            Some(table) => ordered.push(table),
            None => {
                let names: Vec<&str> = waiting.keys().map(String::as_str).collect();
                return Err(StoreError::Corrupt(format!(
                    "the foreign keys of {} refer to each other in a circle, so no order of \
                     tables can be written",
                    names.join(", ")
                )));
            }
        }
    }
    Ok(ordered)
}

/// Starts a read-only transaction that sees one moment of the database throughout, so
/// that an export taken while the service runs is consistent across tables. SQLite's
/// reader sees one snapshot of the log from its first read to its end.
pub async fn begin_snapshot(store: &crate::Store) -> Result<Tx, StoreError> {
    let mut tx = store.pool.begin().await?;
    if store.backend == Backend::Postgres {
        sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            .execute(&mut *tx)
            .await?;
    }
    Ok(tx)
}

/// A table's quoted name or column, for SQL text: the names come from the schema itself.
fn quoted(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// Rows read per statement: each page is one short query (a single query streaming a
/// table of 100,000 reminders to the file ran for seconds, and sqlx logged it as a slow
/// statement), and memory holds one page at most.
const PAGE_ROWS: usize = 5000;

/// Reads every row of `table` in primary-key order, a page at a time, each value as text
/// (`None` for NULL), handing them to `each`: a large table is never held whole. Text keys
/// are compared byte by byte (`COLLATE "C"` on PostgreSQL, SQLite's default), so that
/// both backends give the rows in the same order. Returns the number of rows.
pub async fn read_rows<E>(
    db: &mut Db,
    table: &Table,
    mut each: impl FnMut(&[Option<String>]) -> Result<(), E>,
) -> Result<u64, E>
where
    E: From<StoreError>,
{
    let backend = Backend::of(db);
    let name = quoted(&table.name);
    let selected: Vec<String> = table
        .columns
        .iter()
        .map(|c| format!("CAST({} AS TEXT)", quoted(&c.name)))
        .collect();
    // A table without a key (none in the schema today) is small enough to read at once.
    let key: Vec<(usize, &Column)> = if table.primary_key.is_empty() {
        table.columns.iter().enumerate().collect()
    } else {
        table
            .primary_key
            .iter()
            .filter_map(|k| table.columns.iter().enumerate().find(|(_, c)| c.name == *k))
            .collect()
    };
    let paged = !table.primary_key.is_empty();
    // Qualified with the table: a bare name in PostgreSQL's ORDER BY means the output
    // column of that name, here the text of the CAST, which would sort 10 before 2.
    let key_terms: Vec<String> = key
        .iter()
        .map(|(_, c)| match (c.kind, backend) {
            (ColumnKind::Text, Backend::Postgres) => {
                format!("{name}.{} COLLATE \"C\"", quoted(&c.name))
            }
            _ => format!("{name}.{}", quoted(&c.name)),
        })
        .collect();
    let after: Vec<String> = (1..=key.len()).map(|i| format!("${i}")).collect();
    let first_page = format!(
        "SELECT {} FROM {name} ORDER BY {}{}",
        selected.join(", "),
        key_terms.join(", "),
        if paged {
            format!(" LIMIT {PAGE_ROWS}")
        } else {
            String::new()
        }
    );
    let next_page = format!(
        "SELECT {} FROM {name} WHERE ({}) > ({}) ORDER BY {} LIMIT {PAGE_ROWS}",
        selected.join(", "),
        key_terms.join(", "),
        after.join(", "),
        key_terms.join(", ")
    );
    let mut last_key: Option<Vec<Option<String>>> = None;
    let mut values: Vec<Option<String>> = Vec::with_capacity(table.columns.len());
    let mut count = 0u64;
    loop {
        let rows = match &last_key {
            None => sqlx::query(AssertSqlSafe(first_page.as_str()))
                .fetch_all(&mut *db)
                .await
                .map_err(StoreError::from)?,
            Some(last) => {
                let mut query = sqlx::query(AssertSqlSafe(next_page.as_str()));
                for ((_, column), value) in key.iter().zip(last) {
                    query = match column.kind {
                        ColumnKind::Integer => query.bind(integer_key(&table.name, value)?),
                        ColumnKind::Text => query.bind(value.clone()),
                    };
                }
                query.fetch_all(&mut *db).await.map_err(StoreError::from)?
            }
        };
        for row in &rows {
            values.clear();
            for i in 0..table.columns.len() {
                values.push(row.try_get(i).map_err(StoreError::from)?);
            }
            each(&values)?;
            count += 1;
        }
        if !paged || rows.len() < PAGE_ROWS {
            return Ok(count);
        }
        last_key = Some(key.iter().map(|(i, _)| values[*i].clone()).collect());
    }
}

/// A key value read back as text, as the integer it was.
fn integer_key(table: &str, value: &Option<String>) -> Result<Option<i64>, StoreError> {
    value
        .as_deref()
        .map(|text| {
            text.parse().map_err(|_| {
                StoreError::Corrupt(format!("a key of {table} is not an integer: {text:?}"))
            })
        })
        .transpose()
}

/// The tables among `tables` that hold rows although they are not [`START_UP_TABLES`],
/// with their row counts: a database in use, which an import must not mix into.
pub async fn tables_in_use(
    db: &mut Db,
    tables: &[Table],
) -> Result<Vec<(String, i64)>, StoreError> {
    let mut in_use = Vec::new();
    for table in tables {
        if START_UP_TABLES.contains(&table.name.as_str()) {
            continue;
        }
        let rows: i64 = sqlx::query_scalar(AssertSqlSafe(format!(
            "SELECT count(*) FROM {}",
            quoted(&table.name)
        )))
        .fetch_one(&mut *db)
        .await?;
        if rows > 0 {
            in_use.push((table.name.clone(), rows));
        }
    }
    Ok(in_use)
}

/// Deletes every row of `tables` (given in reference order), last table first, so that no
/// row is deleted while another still refers to it.
pub async fn clear(db: &mut Db, tables: &[Table]) -> Result<(), StoreError> {
    for table in tables.iter().rev() {
        sqlx::query(AssertSqlSafe(format!(
            "DELETE FROM {}",
            quoted(&table.name)
        )))
        .execute(&mut *db)
        .await?;
    }
    Ok(())
}

/// One value to insert, typed as its column is: a NULL is bound with its column's type,
/// which PostgreSQL needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    Integer(Option<i64>),
    Text(Option<String>),
}

/// Inserts rows into one table a statement of several hundred rows at a time, holding one
/// statement's rows at most.
pub struct RowWriter {
    table: String,
    columns: Vec<String>,
    rows_per_statement: usize,
    pending: Vec<Value>,
    written: u64,
}

impl RowWriter {
    /// A writer of rows that give `columns` (names of `table`'s columns) in that order.
    pub fn new(table: &str, columns: &[String]) -> RowWriter {
        let rows_per_statement = batch::rows_per_statement(columns.len());
        RowWriter {
            table: table.to_string(),
            columns: columns.to_vec(),
            rows_per_statement,
            pending: Vec::with_capacity(rows_per_statement.min(1000) * columns.len()),
            written: 0,
        }
    }

    /// Adds one row (as many values as columns); the rows held are written when a
    /// statement's worth is in, and then the answer is true.
    pub async fn push(&mut self, db: &mut Db, row: Vec<Value>) -> Result<bool, StoreError> {
        if row.len() != self.columns.len() {
            return Err(StoreError::Corrupt(format!(
                "a row of {} has {} values for {} columns",
                self.table,
                row.len(),
                self.columns.len()
            )));
        }
        self.pending.extend(row);
        if self.pending.len() >= self.rows_per_statement * self.columns.len() {
            self.flush(db).await?;
            return Ok(true);
        }
        Ok(false)
    }

    /// Writes what is left; returns how many rows were written in all.
    pub async fn finish(mut self, db: &mut Db) -> Result<u64, StoreError> {
        self.flush(db).await?;
        Ok(self.written)
    }

    async fn flush(&mut self, db: &mut Db) -> Result<(), StoreError> {
        let width = self.columns.len().max(1);
        let rows = self.pending.len() / width;
        if rows == 0 {
            return Ok(());
        }
        let names: Vec<String> = self.columns.iter().map(|c| quoted(c)).collect();
        let sql = format!(
            "INSERT INTO {} ({}) VALUES {}",
            quoted(&self.table),
            names.join(", "),
            batch::values(db, rows, width)
        );
        let mut query = sqlx::query(AssertSqlSafe(sql));
        for value in self.pending.drain(..) {
            query = match value {
                Value::Integer(v) => query.bind(v),
                Value::Text(v) => query.bind(v),
            };
        }
        query.execute(&mut *db).await?;
        self.written += rows as u64;
        Ok(())
    }
}

/// Moves PostgreSQL's id sequences past the largest id of their tables, so that rows made
/// after an import (which wrote the ids itself) get new ids. SQLite takes the next rowid
/// from the table itself.
pub async fn reset_sequences(db: &mut Db) -> Result<(), StoreError> {
    if Backend::of(db) != Backend::Postgres {
        return Ok(());
    }
    let serials = sqlx::query(
        "SELECT table_name::text, column_name::text, \
                pg_get_serial_sequence(quote_ident(table_name), column_name)::text \
         FROM information_schema.columns \
         WHERE table_schema = current_schema() \
           AND pg_get_serial_sequence(quote_ident(table_name), column_name) IS NOT NULL",
    )
    .fetch_all(&mut *db)
    .await?;
    for row in serials {
        let table: String = row.try_get(0)?;
        let column: String = row.try_get(1)?;
        let sequence: String = row.try_get(2)?;
        // setval(..., false): the next nextval returns exactly max + 1 (1 when empty).
        sqlx::query(AssertSqlSafe(format!(
            "SELECT setval($1::regclass, COALESCE((SELECT max({}) FROM {}), 0) + 1, false)",
            quoted(&column),
            quoted(&table)
        )))
        .bind(sequence)
        .execute(&mut *db)
        .await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(name: &str, references: &[&str]) -> Table {
        Table {
            name: name.to_string(),
            columns: Vec::new(),
            primary_key: Vec::new(),
            references: references.iter().map(|r| r.to_string()).collect(),
        }
    }

    fn names(tables: &[Table]) -> Vec<&str> {
        tables.iter().map(|t| t.name.as_str()).collect()
    }

    #[test]
    fn a_table_comes_after_the_tables_it_refers_to() {
        let ordered = in_reference_order(vec![
            table("contracts", &["customers", "plans", "users"]),
            table("customers", &["plans"]),
            table("terms", &["contracts", "terms"]),
            table("plans", &[]),
            table("users", &[]),
        ])
        .expect("no circle");
        assert_eq!(
            names(&ordered),
            ["plans", "customers", "users", "contracts", "terms"]
        );
    }

    #[test]
    fn columns_come_key_first_then_by_name() {
        let column = |name: &str| Column {
            name: name.to_string(),
            kind: ColumnKind::Text,
            nullable: true,
        };
        let mut terms = Table {
            columns: vec![column("contract_id"), column("id"), column("answer")],
            primary_key: vec!["id".to_string()],
            ..table("contract_terms", &[])
        };
        in_canonical_order(&mut terms);
        let names: Vec<&str> = terms.columns.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["id", "answer", "contract_id"]);
    }

    #[test]
    fn a_circle_of_references_is_refused() {
        let refused = in_reference_order(vec![table("a", &["b"]), table("b", &["a"])]);
        assert!(refused.is_err());
    }

    #[test]
    fn only_integer_and_text_columns_are_carried() {
        assert_eq!(kind_of("t", "c", "BIGINT").ok(), Some(ColumnKind::Integer));
        assert_eq!(kind_of("t", "c", "integer").ok(), Some(ColumnKind::Integer));
        assert_eq!(kind_of("t", "c", "TEXT").ok(), Some(ColumnKind::Text));
        assert_eq!(
            kind_of("t", "c", "character varying").ok(),
            Some(ColumnKind::Text)
        );
        assert!(kind_of("t", "c", "REAL").is_err());
    }
}
