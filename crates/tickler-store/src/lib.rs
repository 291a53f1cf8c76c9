//! Tickler's persistence: one schema on SQLite (the embedded default) and PostgreSQL, reached
//! through sqlx's `Any` driver so that every query is written once. The only backend-specific
//! SQL is how a write transaction starts and how claims lock rows.

pub mod api_tokens;
pub mod backup;
mod batch;
pub mod billing;
pub mod browse;
pub mod contracts;
pub mod customers;
pub mod digests;
pub mod dump;
mod error;
pub mod events;
pub mod idempotency;
pub mod invitations;
pub mod invoices;
pub mod jobs;
mod notifications;
pub mod pipeline;
pub mod plans;
pub mod quotes;
pub mod reminders;
pub mod sessions;
pub mod settings;
pub mod tasks;
pub mod template_overrides;
mod time;
pub mod users;
pub mod webhooks;

use std::{str::FromStr, time::Duration};

pub use batch::{BulkWrite, finish_bulk_write, prepare_bulk_write};
pub use error::StoreError;
pub use notifications::{Listener, Notice};
use sqlx::{
    AnyConnection, AnyPool, SqlSafeStr, Transaction,
    any::{AnyConnectOptions, AnyPoolOptions},
};
pub use time::{date_from_text, instant_from_millis};

/// A connection from the pool, for reads and single statements.
pub type Conn = sqlx::pool::PoolConnection<sqlx::Any>;
/// A write transaction; commit it or it rolls back when dropped.
pub type Tx = Transaction<'static, sqlx::Any>;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    /// The backend `db` speaks.
    pub(crate) fn of(db: &Db) -> Backend {
        if db.backend_name().eq_ignore_ascii_case("postgresql") {
            Backend::Postgres
        } else {
            Backend::Sqlite
        }
    }

    fn migrator(self) -> &'static sqlx::migrate::Migrator {
        match self {
            Backend::Sqlite => &SQLITE_MIGRATIONS,
            Backend::Postgres => &POSTGRES_MIGRATIONS,
        }
    }

    /// Every migration this build has for the backend, in order.
    pub fn migrations(self) -> Vec<PendingMigration> {
        self.migrator()
            .iter()
            .filter(|m| m.migration_type.is_up_migration())
            .map(|m| PendingMigration {
                version: m.version,
                description: m.description.to_string(),
            })
            .collect()
    }

    /// The newest schema version this build knows.
    pub fn known_schema_version(self) -> i64 {
        self.migrator().iter().map(|m| m.version).max().unwrap_or(0)
    }

    /// The backend a database URL names, if it names one Tickler speaks.
    pub fn of_url(url: &str) -> Option<Backend> {
        if url.starts_with("sqlite:") {
            Some(Backend::Sqlite)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Some(Backend::Postgres)
        } else {
            None
        }
    }

    /// `column` as a condition's operand that SQLite's planner must not look up in an index
    /// (`+column`): for `status = 'scheduled' AND id IN (list)`, where it preferred scanning
    /// every scheduled row's entry of the status index to looking up the listed ids (a
    /// dispatcher's claim of 200 took 20 ms among 80,000 scheduled reminders, and grew with
    /// them). PostgreSQL's planner has statistics and needs no hint.
    pub(crate) fn unindexed(self, column: &str) -> String {
        match self {
            Backend::Sqlite => format!("+{column}"),
            Backend::Postgres => column.to_string(),
        }
    }

    /// The condition `column IN (the integers of the JSON array bound at param)`, e.g. for
    /// `in_ids("id", "$2")`. A list of any length is then one fixed statement, which each
    /// backend prepares once and keeps in its statement cache, instead of new SQL text per
    /// batch. On PostgreSQL the list becomes an array compared with `= ANY`, which the
    /// planner looks up in the column's index: as `IN (SELECT ...)` it planned a semi join
    /// that read every row of the table's index range (1.2 s per dispatcher batch of 200
    /// among 20,000 reminders right after an import).
    pub(crate) fn in_ids(self, column: &str, param: &str) -> String {
        match self {
            Backend::Sqlite => format!("{column} IN (SELECT value FROM json_each({param}))"),
            Backend::Postgres => format!(
                "{column} = ANY(ARRAY(SELECT jsonb_array_elements_text({param}::jsonb)::bigint))"
            ),
        }
    }
}

impl Backend {
    /// `table` read through `index` on SQLite, whose planner has no statistics (the store
    /// runs no `ANALYZE` there): for a partial index it cannot tell how few rows it holds,
    /// and prefers a wider one. PostgreSQL plans by its statistics.
    pub(crate) fn through_index(self, table: &str, index: &str) -> String {
        match self {
            Backend::Sqlite => format!("{table} INDEXED BY {index}"),
            Backend::Postgres => table.to_string(),
        }
    }
}

/// A list of ids as the JSON array that [`Backend::in_ids`] expands.
pub(crate) fn json_ints(ids: impl IntoIterator<Item = i64>) -> String {
    let mut text = String::from("[");
    for (i, id) in ids.into_iter().enumerate() {
        if i > 0 {
            text.push(',');
        }
        text.push_str(&id.to_string());
    }
    text.push(']');
    text
}

/// Where a database's schema stands against this build's migrations.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SchemaStatus {
    /// The highest migration applied; `None` for a new, empty database.
    pub applied: Option<i64>,
    /// The highest migration this build has.
    pub known: i64,
    /// What `migrate` would apply, in order.
    pub pending: Vec<PendingMigration>,
}

impl SchemaStatus {
    /// Refuses a database that a newer Tickler migrated: this build would not know its tables.
    pub fn refuse_if_newer(&self) -> Result<(), StoreError> {
        match self.applied {
            Some(applied) if applied > self.known => Err(StoreError::SchemaTooNew {
                database: applied,
                known: self.known,
            }),
            _ => Ok(()),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingMigration {
    pub version: i64,
    pub description: String,
}

/// The database: a pool and which backend it is.
#[derive(Clone, Debug)]
pub struct Store {
    pool: AnyPool,
    backend: Backend,
    /// Kept for the notification listener's own connection (PostgreSQL).
    url: DatabaseUrl,
}

/// A database URL, which may hold a password: its `Debug` form is redacted.
#[derive(Clone)]
struct DatabaseUrl(std::sync::Arc<str>);

impl std::fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&redact_url(&self.0))
    }
}

static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("migrations/sqlite");
static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("migrations/postgres");

impl Store {
    /// Connects to `url` (`sqlite://FILE` — created when missing — or `postgres://...`) and
    /// applies the migrations.
    pub async fn open(url: &str) -> Result<Store, StoreError> {
        Self::open_with_pool(url, None).await
    }

    /// [`open`](Self::open) with at most `max_connections` pooled connections instead of the
    /// backend's default (4 on SQLite, 10 on PostgreSQL).
    pub async fn open_with_pool(
        url: &str,
        max_connections: Option<u32>,
    ) -> Result<Store, StoreError> {
        let store = Self::connect_with_pool(url, max_connections).await?;
        store.migrate().await?;
        Ok(store)
    }

    /// Connects without migrating.
    pub async fn connect(url: &str) -> Result<Store, StoreError> {
        Self::connect_with_pool(url, None).await
    }

    async fn connect_with_pool(
        url: &str,
        max_connections: Option<u32>,
    ) -> Result<Store, StoreError> {
        sqlx::any::install_default_drivers();
        let (backend, url) = match Backend::of_url(url) {
            Some(Backend::Sqlite) => (Backend::Sqlite, sqlite_url_with_create(url)),
            Some(Backend::Postgres) => (Backend::Postgres, url.to_string()),
            None => return Err(unknown_url(url)),
        };
        let options = AnyConnectOptions::from_str(&url).map_err(|e| {
            StoreError::Config(format!("bad database URL \"{}\": {e}", redact_url(&url)))
        })?;
        let pool_options = AnyPoolOptions::new()
            .acquire_timeout(Duration::from_secs(30))
            .max_connections(
                max_connections
                    .unwrap_or(match backend {
                        // One writer at a time is all SQLite allows; a few readers beside it.
                        Backend::Sqlite => 4,
                        Backend::Postgres => 10,
                    })
                    .max(1),
            );
        let pool_options = match backend {
            // temp_store: a multi-row UPDATE in a transaction keeps a statement journal, which
            // SQLite otherwise creates and deletes as a file in /tmp every time (a dispatch
            // profile spent a fifth of its time in ext4 opening, writing and evicting them).
            Backend::Sqlite => pool_options.after_connect(|conn, _meta| {
                Box::pin(async move {
                    sqlx::raw_sql(
                        "PRAGMA journal_mode = WAL; PRAGMA busy_timeout = 10000; \
                         PRAGMA foreign_keys = ON; PRAGMA synchronous = NORMAL; \
                         PRAGMA temp_store = MEMORY;",
                    )
                    .execute(conn)
                    .await?;
                    Ok(())
                })
            }),
            Backend::Postgres => pool_options,
        };
        let pool = pool_options.connect_with(options).await.map_err(|e| {
            StoreError::Unavailable(format!("cannot open database {}: {e}", redact_url(&url)))
        })?;
        Ok(Store {
            pool,
            backend,
            url: DatabaseUrl(url.into()),
        })
    }

    /// Applies the migrations this database lacks. A database that a newer Tickler has
    /// migrated is refused before anything runs: this build would not know its tables.
    pub async fn migrate(&self) -> Result<(), StoreError> {
        self.schema_status().await?.refuse_if_newer()?;
        self.backend
            .migrator()
            .run(&self.pool)
            .await
            .map_err(|e| StoreError::Migration(e.to_string()))
    }

    /// Which schema version the database is at, which this build knows, and the migrations
    /// that `migrate` would apply.
    pub async fn schema_status(&self) -> Result<SchemaStatus, StoreError> {
        let mut conn = self.conn().await?;
        let has_table: bool = match self.backend {
            Backend::Sqlite => {
                sqlx::query_scalar::<_, i64>(
                    "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' \
                     AND name = '_sqlx_migrations'",
                )
                .fetch_one(&mut *conn)
                .await?
                    > 0
            }
            Backend::Postgres => {
                sqlx::query_scalar::<_, i64>(
                    "SELECT COUNT(*) FROM information_schema.tables \
                     WHERE table_schema = current_schema() AND table_name = '_sqlx_migrations'",
                )
                .fetch_one(&mut *conn)
                .await?
                    > 0
            }
        };
        let applied: Vec<i64> = if has_table {
            sqlx::query_scalar(
                "SELECT version FROM _sqlx_migrations WHERE success ORDER BY version",
            )
            .fetch_all(&mut *conn)
            .await?
        } else {
            Vec::new()
        };
        let pending = self
            .backend
            .migrations()
            .into_iter()
            .filter(|m| !applied.contains(&m.version))
            .collect();
        Ok(SchemaStatus {
            applied: applied.last().copied(),
            known: self.backend.known_schema_version(),
            pending,
        })
    }

    /// The PostgreSQL URL without its password, for commands printed to the operator (the
    /// tools read the password from PGPASSWORD or ~/.pgpass); `None` on SQLite.
    pub fn url_without_password(&self) -> Option<String> {
        (self.backend == Backend::Postgres).then(|| without_password(&self.url.0))
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    pub async fn conn(&self) -> Result<Conn, StoreError> {
        Ok(self.pool.acquire().await?)
    }

    /// Starts a write transaction. On SQLite it takes the write lock at once (`BEGIN
    /// IMMEDIATE`), so two writers queue on `busy_timeout` instead of failing when a read
    /// lock would have to be upgraded.
    pub async fn begin(&self) -> Result<Tx, StoreError> {
        Ok(match self.backend {
            Backend::Sqlite => self.pool.begin_with("BEGIN IMMEDIATE").await?,
            Backend::Postgres => self.pool.begin().await?,
        })
    }

    /// Starts the write transaction of a bulk write (an import; see [`prepare_bulk_write`]).
    /// On SQLite its connection keeps temporary files on disk, not in memory as the others
    /// do (`temp_store`): rebuilding the indexes of a million contracts sorts millions of
    /// keys, and with the sorter's spill files in memory an import of 1,000,000 contracts
    /// peaked at 480 MB instead of 180. The setting cannot change inside a transaction, so
    /// it is made first, and the connection is closed after the transaction instead of
    /// going back to the pool with it.
    pub async fn begin_bulk(&self) -> Result<Tx, StoreError> {
        match self.backend {
            Backend::Postgres => self.begin().await,
            Backend::Sqlite => {
                let mut conn = self.pool.acquire().await?;
                sqlx::raw_sql("PRAGMA temp_store = FILE")
                    .execute(&mut *conn)
                    .await?;
                conn.close_on_drop();
                Ok(Transaction::begin(conn, Some("BEGIN IMMEDIATE".into_sql_str())).await?)
            }
        }
    }

    /// Whether the database answers a trivial query within two seconds: for health checks.
    pub async fn ping(&self) -> Result<(), StoreError> {
        match tokio::time::timeout(
            Duration::from_secs(2),
            sqlx::query("SELECT 1").execute(&self.pool),
        )
        .await
        {
            Ok(answer) => answer.map(|_| ()).map_err(StoreError::from),
            Err(_) => Err(StoreError::Unavailable(
                "the database did not answer within 2 s".to_string(),
            )),
        }
    }

    /// Folds SQLite's write-ahead log back into the database file and truncates it, e.g.
    /// after a large import whose one transaction grew the log to the size of the data.
    /// Nothing to do on PostgreSQL.
    pub async fn checkpoint(&self) -> Result<(), StoreError> {
        if self.backend == Backend::Sqlite {
            sqlx::raw_sql("PRAGMA wal_checkpoint(TRUNCATE)")
                .execute(&self.pool)
                .await?;
        }
        Ok(())
    }

    /// Refreshes PostgreSQL's planner statistics after a bulk write: until autovacuum comes
    /// round, the planner believes the tables are as small as before, and planned look-ups
    /// by email through the trigram index (2.2 s for 500 addresses after an import). Nothing
    /// on SQLite, whose queries are written for its planner without statistics (an `ANALYZE`
    /// there would change the plans of every list page).
    pub async fn refresh_statistics(&self) -> Result<(), StoreError> {
        if self.backend == Backend::Postgres {
            sqlx::raw_sql("ANALYZE").execute(&self.pool).await?;
        }
        Ok(())
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// The connection type every query function takes: a pooled connection or a transaction.
pub type Db = AnyConnection;

fn sqlite_url_with_create(url: &str) -> String {
    if url.contains("mode=") || url.contains(":memory:") {
        url.to_string()
    } else if url.contains('?') {
        format!("{url}&mode=rwc")
    } else {
        format!("{url}?mode=rwc")
    }
}

/// The error for a URL that names no backend Tickler speaks.
pub fn unknown_url(url: &str) -> StoreError {
    StoreError::Config(format!(
        "database URL must start with sqlite:// or postgres:// (got \"{}\")",
        redact_url(url)
    ))
}

/// The URL with any password replaced, for errors and logs.
pub fn redact_url(url: &str) -> String {
    replace_password(url, ":***")
}

fn without_password(url: &str) -> String {
    replace_password(url, "")
}

/// The URL with the password part of its credentials (`:secret`) replaced by `with`.
fn replace_password(url: &str, with: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            let credentials = &url[scheme_end + 3..at];
            match credentials.split_once(':') {
                Some((user, _)) => format!("{}{user}{with}{}", &url[..scheme_end + 3], &url[at..]),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

/// Commits a write transaction.
pub async fn commit(tx: Tx) -> Result<(), StoreError> {
    Ok(tx.commit().await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_never_show_in_urls() {
        assert_eq!(
            redact_url("postgres://tick:s3cret@db:5432/t"),
            "postgres://tick:***@db:5432/t"
        );
        assert_eq!(redact_url("sqlite://tickler.db"), "sqlite://tickler.db");
    }

    #[test]
    fn commands_for_the_operator_carry_no_password() {
        assert_eq!(
            without_password("postgres://tick:s3cret@db:5432/t"),
            "postgres://tick@db:5432/t"
        );
        assert_eq!(without_password("postgres://db/t"), "postgres://db/t");
    }

    #[test]
    fn sqlite_files_are_created_on_first_use() {
        assert_eq!(
            sqlite_url_with_create("sqlite://t.db"),
            "sqlite://t.db?mode=rwc"
        );
        assert_eq!(
            sqlite_url_with_create("sqlite://t.db?mode=ro"),
            "sqlite://t.db?mode=ro"
        );
    }
}
