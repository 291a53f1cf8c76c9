//! Whether sqlx's `Any` driver still serves the dispatcher's claim path, or typed pools would
//! serve it better (issue 8, item 8).
//!
//! ```sh
//! cargo bench -p tickler-store --bench any_vs_typed
//! ```
//!
//! The store reaches both backends through `sqlx::Any` so that every query is written once.
//! This runs the dispatcher's claim path three ways on each backend, over one database and the
//! same SQL text:
//!
//! - `any`: the statements of `reminders::claim_due` and `reminders::mark_sent`, copied here,
//!   through the store's own `AnyPool` (`Store::begin`: `BEGIN IMMEDIATE` on SQLite).
//! - `typed`: the same text through a `SqlitePool` / `PgPool` opened with the store's settings,
//!   rows decoded into the same `FromRow` struct. The store's PostgreSQL schema is all BIGINT
//!   (it was written for `Any`), so `i64` is the right decode type on both backends.
//! - `store`: the real `reminders::claim_due` and `reminders::mark_sent_many`: what the store
//!   does today (it converts each row into a `Reminder`, and since issue 12 it completes a batch
//!   with one statement where the copies still complete row by row, as it used to).
//!
//! One run claims every due reminder as the dispatcher does: 100 per claim, each claim in its
//! own transaction, then the claimed rows completed (`sent`) 50 per transaction, until nothing
//! is due. It reports rows/s over the whole run and each claim transaction's time (begin to
//! commit). Between runs the rows go back to `scheduled`, then VACUUM ANALYZE on PostgreSQL
//! (else each run would meet the previous runs' dead index entries) or a WAL checkpoint on
//! SQLite, so every run starts from the same state. The drivers take turns in a rotating
//! order, so that load from elsewhere on the machine falls on all of them alike.
//!
//! The fixture: BENCH_DUE contracts (default 20,000), each with the default plan's four steps
//! scheduled, the first due (one of 100 instants in the day before now), the other three in
//! the future: the catch-up look-up finds four siblings per claimed reminder and supersedes
//! none (the bench checks that, as it does not copy the store's superseding UPDATE).
//!
//! Environment: BENCH_DUE, BENCH_RUNS (runs per driver, default 5), BENCH_BACKENDS (default
//! `sqlite postgres`), TICKLER_BENCH_POSTGRES_URL (any existing database on the server, default
//! `postgres://postgres@127.0.0.1:5432/postgres`). The PostgreSQL database is named
//! `tickler_bench_any_<pid>` and dropped at the end.
//!
//! Run as a test (`cargo test --all-targets`, without cargo bench's `--bench` argument) it
//! makes a small smoke run on SQLite only.

use std::{
    error::Error,
    future::Future,
    time::{Duration, Instant},
};

use jiff::Timestamp;
use sqlx::{
    AssertSqlSafe, Connection, Database, Encode, Executor, FromRow, IntoArguments, PgPool,
    SqlitePool, Transaction, Type,
    postgres::{PgConnection, PgPoolOptions},
    sqlite::SqlitePoolOptions,
};
use tickler_core::{
    catch_up::{self, SequenceMember},
    reminder::ReminderStatus,
    subject::SubjectRef,
};
use tickler_store::{
    Backend, Store,
    reminders::{self, Delivered, Lease, SentRecord},
};

type BenchError = Box<dyn Error + Send + Sync>;
type Result<T, E = BenchError> = std::result::Result<T, E>;

/// The dispatcher's clock: the instant `bench/dispatch.sh` uses.
const NOW: &str = "2027-05-02T12:00:00Z";
const DAY_MS: i64 = 86_400_000;
/// The dispatcher's claim size, and how many completions it records per transaction.
const CLAIM_BATCH: i64 = 100;
const COMPLETIONS_PER_TX: usize = 50;
const WORKER: &str = "bench";
/// The lease a claim takes, and when after `NOW` each message counts as sent.
const LEASE_MS: i64 = 300_000;
const SEND_MS: i64 = 1500;
const SENT_SUBJECT: &str = "Reminder: service expiring";
const SENT_BODY: &str = "Dear customer, this is a reminder that your maintenance contract \
    (Annual support: servers) expires on 30 June 2027. To keep your service running without \
    interruption, please confirm the renewal before that date. Kind regards, the service team.";
const SMTP_REPLY: &str = "250 2.0.0 OK queued";

// ---------------------------------------------------------------------------------------
// The store's SQL, copied so that it can run through a typed pool. Each piece below must
// still be in the store's source, or the bench fails: a change to the store's SQL then
// updates these copies instead of measuring yesterday's queries.

const STORE_SOURCES: [&str; 2] = [
    include_str!("../src/reminders.rs"),
    include_str!("../src/lib.rs"),
];

/// All of `reminders::COLUMNS`, as `claim_due` returns them.
const COLUMNS: &str = "id, subject_type, subject_id, contract_id, kind, anchor, step_key, position, \
    label, template, offset_days, mode, status, status_reason, send_at, send_at_edited, due_at, to_addrs, cc_addrs, \
    recipients_edited, subject, body, message_id, attempts, claimed_by, claimed_until, last_error, \
    smtp_reply, sent_subject, sent_body, sent_at, lateness_ms, created_at, updated_at";

/// The store's former one-row completion; the store now completes a batch with one statement
/// (`reminders::mark_sent_many`), which the `store` path measures.
const COMPLETE_SQL: &str = "UPDATE reminders SET status = 'sent', sent_subject = $1, sent_body = $2, to_addrs = $3, \
         cc_addrs = $4, smtp_reply = $5, sent_at = $6, lateness_ms = $6 - send_at, \
         claimed_by = NULL, claimed_until = NULL, last_error = NULL, updated_at = $6 \
         WHERE id = $7 AND status = 'sending' AND attempts = $8";

/// The store's connection settings on SQLite (`Store::open`'s `after_connect`).
const SQLITE_PRAGMAS: &str = "PRAGMA journal_mode = WAL; PRAGMA busy_timeout = 10000; \
                         PRAGMA foreign_keys = ON; PRAGMA synchronous = NORMAL; \
                         PRAGMA temp_store = MEMORY;";

/// Pieces of the store's source, compared with string continuations joined and white space
/// folded (see [`folded`]).
const STORE_FRAGMENTS: [&str; 9] = [
    "SELECT id, subject_type, subject_id, kind FROM reminders WHERE status = 'scheduled' AND \
     due_at <= $1 AND mode IN ('auto', 'internal') ORDER BY due_at, id LIMIT $2{lock}",
    "Backend::Postgres => \" FOR UPDATE SKIP LOCKED\"",
    "SELECT id, subject_id, send_at, status FROM reminders WHERE kind = 'step' AND \
     subject_type = $1 AND {}\", backend.in_ids(\"subject_id\", \"$2\")",
    "UPDATE reminders SET status = 'sending', claimed_by = $1, claimed_until = $2, attempts = \
     attempts + 1, updated_at = $3 WHERE {} AND {} = 'scheduled' RETURNING \
     {COLUMNS}\", backend.in_ids(\"id\", \"$4\"), backend.unindexed(\"status\"),",
    "Backend::Sqlite => format!(\"{column} IN (SELECT value FROM json_each({param}))\")",
    "\"{column} = ANY(ARRAY(SELECT jsonb_array_elements_text({param}::jsonb)::bigint))\"",
    "Backend::Sqlite => format!(\"+{column}\")",
    COLUMNS,
    SQLITE_PRAGMAS,
];

/// Rust source as its strings read: `\` line continuations joined, runs of white space one
/// space.
fn folded(text: &str) -> String {
    text.replace("\\\n", "")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

fn check_sql_copies() -> Result<()> {
    let sources: Vec<String> = STORE_SOURCES.iter().map(|s| folded(s)).collect();
    for fragment in STORE_FRAGMENTS {
        if !sources
            .iter()
            .any(|source| source.contains(&folded(fragment)))
        {
            return Err(format!(
                "src/reminders.rs and src/lib.rs no longer contain {fragment:?}: update this \
                 bench's copies of the store's SQL (ClaimSql, COLUMNS, SQLITE_PRAGMAS)"
            )
            .into());
        }
    }
    Ok(())
}

/// `claim_due`'s three statements on one backend, as the store formats them.
struct ClaimSql {
    candidates: String,
    siblings: String,
    claim: String,
}

impl ClaimSql {
    fn new(backend: Backend) -> ClaimSql {
        // `Backend::in_ids` and `Backend::unindexed`, which the store keeps to itself.
        type InIds = fn(&str, &str) -> String;
        let (lock, in_ids, status): (&str, InIds, &str) = match backend {
            Backend::Postgres => (
                " FOR UPDATE SKIP LOCKED",
                |c, p| {
                    format!(
                        "{c} = ANY(ARRAY(SELECT jsonb_array_elements_text({p}::jsonb)::bigint))"
                    )
                },
                "status",
            ),
            Backend::Sqlite => (
                "",
                |c, p| format!("{c} IN (SELECT value FROM json_each({p}))"),
                "+status",
            ),
        };
        ClaimSql {
            candidates: format!(
                "SELECT id, subject_type, subject_id, kind FROM reminders \
                 WHERE status = 'scheduled' AND due_at <= $1 AND mode IN ('auto', 'internal') \
                 ORDER BY due_at, id LIMIT $2{lock}"
            ),
            siblings: format!(
                "SELECT id, subject_id, send_at, status FROM reminders \
                 WHERE kind = 'step' AND subject_type = $1 AND {}",
                in_ids("subject_id", "$2")
            ),
            claim: format!(
                "UPDATE reminders SET status = 'sending', claimed_by = $1, claimed_until = $2, \
                 attempts = attempts + 1, updated_at = $3 \
                 WHERE {} AND {status} = 'scheduled' RETURNING {COLUMNS}",
                in_ids("id", "$4")
            ),
        }
    }
}

/// The store's private `ReminderRow`, field for field: what both drivers decode.
#[derive(FromRow)]
#[allow(dead_code)] // Decoded as the store decodes them; only a few are read here.
struct ClaimedRow {
    id: i64,
    subject_type: String,
    subject_id: i64,
    contract_id: Option<i64>,
    kind: String,
    anchor: Option<String>,
    step_key: String,
    position: i64,
    label: String,
    template: String,
    offset_days: i64,
    mode: String,
    status: String,
    status_reason: Option<String>,
    send_at: i64,
    send_at_edited: i64,
    due_at: i64,
    to_addrs: String,
    cc_addrs: String,
    recipients_edited: i64,
    subject: Option<String>,
    body: Option<String>,
    message_id: String,
    attempts: i64,
    claimed_by: Option<String>,
    claimed_until: Option<i64>,
    last_error: Option<String>,
    smtp_reply: Option<String>,
    sent_subject: Option<String>,
    sent_body: Option<String>,
    sent_at: Option<i64>,
    lateness_ms: Option<i64>,
    created_at: i64,
    updated_at: i64,
}

fn json_ints(ids: impl IntoIterator<Item = i64>) -> String {
    let ids: Vec<String> = ids.into_iter().map(|id| id.to_string()).collect();
    format!("[{}]", ids.join(","))
}

// ---------------------------------------------------------------------------------------
// The claim path, written once over `sqlx::Database`: what a store on typed pools would need
// for every query (or a macro, or two copies). The bounds are the price: each type bound or
// decoded, each row shape, and `rows_affected`, which no sqlx trait offers.

/// `rows_affected`, which each backend's query result has but no sqlx trait names.
trait RowsAffected {
    fn rows(&self) -> u64;
}

impl RowsAffected for sqlx::any::AnyQueryResult {
    fn rows(&self) -> u64 {
        self.rows_affected()
    }
}

impl RowsAffected for sqlx::sqlite::SqliteQueryResult {
    fn rows(&self) -> u64 {
        self.rows_affected()
    }
}

impl RowsAffected for sqlx::postgres::PgQueryResult {
    fn rows(&self) -> u64 {
        self.rows_affected()
    }
}

type Candidate = (i64, String, i64, String);
type Sibling = (i64, i64, i64, String);

/// One way through the claim path; [`run`] drives each the same way, as the dispatcher does.
trait ClaimPath {
    /// How a claimed row comes back.
    type Claimed;
    /// One claim of up to [`CLAIM_BATCH`], in its own transaction.
    async fn claim(&self) -> Result<Vec<Self::Claimed>>;
    /// Marks `rows` sent, in one transaction.
    async fn complete(&self, rows: &[Self::Claimed]) -> Result<()>;
}

/// The store's SQL through any sqlx database: `begin` opens a write transaction.
struct SqlPath<'a, F> {
    begin: F,
    sql: &'a ClaimSql,
    now: Timestamp,
}

impl<DB, F, Fut> ClaimPath for SqlPath<'_, F>
where
    DB: Database,
    F: Fn() -> Fut,
    Fut: Future<Output = Result<Transaction<'static, DB>>>,
    DB::Arguments: IntoArguments<DB>,
    DB::QueryResult: RowsAffected,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    for<'q> i64: Encode<'q, DB> + Type<DB>,
    for<'q> String: Encode<'q, DB> + Type<DB>,
    Candidate: for<'r> FromRow<'r, DB::Row>,
    Sibling: for<'r> FromRow<'r, DB::Row>,
    ClaimedRow: for<'r> FromRow<'r, DB::Row>,
{
    type Claimed = ClaimedRow;

    /// `claim_due`'s statements, in its order.
    async fn claim(&self) -> Result<Vec<ClaimedRow>> {
        let now_ms = self.now.as_millisecond();
        let mut tx = (self.begin)().await?;
        let candidates: Vec<Candidate> = sqlx::query_as(AssertSqlSafe(self.sql.candidates.clone()))
            .bind(now_ms)
            .bind(CLAIM_BATCH)
            .fetch_all(&mut *tx)
            .await?;
        if candidates.is_empty() {
            return Ok(Vec::new());
        }
        // The fixture's reminders are all about contract terms: one look-up, as the store
        // makes one per kind of subject in the batch.
        let step_terms = candidates.iter().filter(|c| c.3 == "step").map(|c| c.2);
        let siblings: Vec<Sibling> = sqlx::query_as(AssertSqlSafe(self.sql.siblings.clone()))
            .bind("contract_term".to_string())
            .bind(json_ints(step_terms))
            .fetch_all(&mut *tx)
            .await?;
        let mut members = Vec::with_capacity(siblings.len());
        for (id, term_id, send_at, status) in siblings {
            members.push(SequenceMember {
                id,
                sequence: SubjectRef::contract_term(term_id),
                send_at: Timestamp::from_millisecond(send_at)?,
                status: status.parse::<ReminderStatus>()?,
            });
        }
        let superseded = catch_up::superseded(self.now, &members);
        if !superseded.is_empty() {
            return Err(
                format!("the fixture supersedes {superseded:?}: it should supersede none").into(),
            );
        }
        let mut rows: Vec<ClaimedRow> = sqlx::query_as(AssertSqlSafe(self.sql.claim.clone()))
            .bind(WORKER.to_string())
            .bind(now_ms + LEASE_MS)
            .bind(now_ms)
            .bind(json_ints(candidates.iter().map(|c| c.0)))
            .fetch_all(&mut *tx)
            .await?;
        tx.commit().await?;
        rows.sort_by_key(|r| (r.due_at, r.id));
        Ok(rows)
    }

    /// `mark_sent` for each row.
    async fn complete(&self, rows: &[ClaimedRow]) -> Result<()> {
        let mut tx = (self.begin)().await?;
        for row in rows {
            let done = sqlx::query(COMPLETE_SQL)
                .bind(SENT_SUBJECT.to_string())
                .bind(SENT_BODY.to_string())
                .bind(row.to_addrs.clone())
                .bind(row.cc_addrs.clone())
                .bind(SMTP_REPLY.to_string())
                .bind(self.now.as_millisecond() + SEND_MS)
                .bind(row.id)
                .bind(row.attempts)
                .execute(&mut *tx)
                .await?;
            if done.rows() != 1 {
                return Err(format!("reminder {} fenced", row.id).into());
            }
        }
        tx.commit().await?;
        Ok(())
    }
}

/// The store's own functions.
struct StorePath<'a> {
    store: &'a Store,
    now: Timestamp,
}

impl ClaimPath for StorePath<'_> {
    type Claimed = reminders::Reminder;

    async fn claim(&self) -> Result<Vec<reminders::Reminder>> {
        let lease = Lease {
            worker: WORKER,
            until: Timestamp::from_millisecond(self.now.as_millisecond() + LEASE_MS)?,
        };
        let mut tx = self.store.begin().await?;
        let claimed =
            reminders::claim_due(&mut tx, self.store.backend(), self.now, &lease, CLAIM_BATCH)
                .await?;
        tx.commit().await?;
        Ok(claimed)
    }

    async fn complete(&self, rows: &[reminders::Reminder]) -> Result<()> {
        let sent_at = Timestamp::from_millisecond(self.now.as_millisecond() + SEND_MS)?;
        let delivered: Vec<Delivered> = rows
            .iter()
            .map(|r| Delivered {
                id: r.id,
                attempt: r.attempts,
                sent: SentRecord {
                    subject: SENT_SUBJECT,
                    body: SENT_BODY,
                    to: &r.to,
                    cc: &r.cc,
                    smtp_reply: SMTP_REPLY,
                    sent_at,
                },
            })
            .collect();
        let mut tx = self.store.begin().await?;
        let recorded = reminders::mark_sent_many(&mut tx, &delivered).await?;
        if recorded.len() != rows.len() {
            return Err(format!(
                "{} of {} reminders fenced",
                rows.len() - recorded.len(),
                rows.len()
            )
            .into());
        }
        tx.commit().await?;
        Ok(())
    }
}

/// One run: claim and complete until nothing is due.
async fn run_once(path: &impl ClaimPath) -> Result<RunStats> {
    let mut stats = RunStats::default();
    let cpu_before = process_cpu();
    let started = Instant::now();
    loop {
        let claim_started = Instant::now();
        let claimed = path.claim().await?;
        if claimed.is_empty() {
            break;
        }
        stats.claims.push(claim_started.elapsed());
        let complete_started = Instant::now();
        for chunk in claimed.chunks(COMPLETIONS_PER_TX) {
            path.complete(chunk).await?;
        }
        stats.completing += complete_started.elapsed();
        stats.rows += claimed.len();
    }
    stats.total = started.elapsed();
    stats.cpu = process_cpu().saturating_sub(cpu_before);
    Ok(stats)
}

/// This process's CPU time (user + system, all threads) from /proc, zero where there is none.
/// Wall time on a shared machine moves with the other load; what a driver adds is CPU work in
/// this process (converting arguments and rows), which that load barely moves. On SQLite the
/// database engine runs in this process too, so there it is the driver's and SQLite's work.
fn process_cpu() -> Duration {
    let ticks = std::fs::read_to_string("/proc/self/stat")
        .ok()
        .and_then(|stat| {
            // The fields after the command name, which is in parentheses and may hold spaces:
            // the state letter first, utime and stime (fields 14 and 15 of the line) 11 and 12.
            let (_, rest) = stat.rsplit_once(')')?;
            let fields: Vec<&str> = rest.split_whitespace().collect();
            Some(fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?)
        });
    // Linux counts them in USER_HZ, 100 a second on every architecture it exports them for.
    Duration::from_millis(ticks.unwrap_or(0) * 10)
}

// ---------------------------------------------------------------------------------------
// Runs and figures.

#[derive(Default)]
struct RunStats {
    rows: usize,
    total: Duration,
    /// Each claim transaction, begin to commit.
    claims: Vec<Duration>,
    completing: Duration,
    /// This process's CPU time during the run.
    cpu: Duration,
}

impl RunStats {
    #[allow(clippy::cast_precision_loss)]
    fn rows_per_s(&self) -> f64 {
        self.rows as f64 / self.total.as_secs_f64()
    }

    #[allow(clippy::cast_precision_loss)]
    fn cpu_us_per_row(&self) -> f64 {
        self.cpu.as_secs_f64() * 1e6 / self.rows as f64
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Driver {
    Any,
    Typed,
    Store,
}

const DRIVERS: [Driver; 3] = [Driver::Any, Driver::Typed, Driver::Store];

impl Driver {
    fn name(self) -> &'static str {
        match self {
            Driver::Any => "any",
            Driver::Typed => "typed",
            Driver::Store => "store",
        }
    }
}

enum TypedPool {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

impl TypedPool {
    /// A pool with the store's settings (`Store::open`), but typed.
    async fn open(backend: Backend, url: &str) -> Result<TypedPool> {
        Ok(match backend {
            Backend::Sqlite => TypedPool::Sqlite(
                SqlitePoolOptions::new()
                    .max_connections(4)
                    .acquire_timeout(Duration::from_secs(30))
                    .after_connect(|conn, _meta| {
                        Box::pin(async move {
                            sqlx::raw_sql(SQLITE_PRAGMAS).execute(conn).await?;
                            Ok(())
                        })
                    })
                    .connect(url)
                    .await?,
            ),
            Backend::Postgres => TypedPool::Postgres(
                PgPoolOptions::new()
                    .max_connections(10)
                    .acquire_timeout(Duration::from_secs(30))
                    .connect(url)
                    .await?,
            ),
        })
    }

    async fn run(&self, sql: &ClaimSql, now: Timestamp) -> Result<RunStats> {
        match self {
            TypedPool::Sqlite(pool) => {
                let begin = || async { Ok(pool.begin_with("BEGIN IMMEDIATE").await?) };
                run_once(&SqlPath { begin, sql, now }).await
            }
            TypedPool::Postgres(pool) => {
                let begin = || async { Ok(pool.begin().await?) };
                run_once(&SqlPath { begin, sql, now }).await
            }
        }
    }

    async fn close(&self) {
        match self {
            TypedPool::Sqlite(pool) => pool.close().await,
            TypedPool::Postgres(pool) => pool.close().await,
        }
    }
}

/// Every run of every driver on one database, then the figures.
async fn bench_backend(config: &Config, url: &str, now: Timestamp) -> Result<()> {
    let store = Store::open(url).await?;
    let backend = store.backend();
    let name = backend_name(backend);
    let started = Instant::now();
    fill(&store, config.due, now).await?;
    println!(
        "INFO {name} fixture: {} contracts, {} reminders ({} due) in {:.1}s",
        config.due,
        4 * config.due,
        config.due,
        started.elapsed().as_secs_f64()
    );
    let typed = TypedPool::open(backend, url).await?;
    let sql = ClaimSql::new(backend);
    let mut runs: Vec<(Driver, RunStats)> = Vec::new();
    for run in 0..config.runs {
        for turn in 0..DRIVERS.len() {
            let driver = DRIVERS[(run + turn) % DRIVERS.len()];
            reset(&store).await?;
            let stats = match driver {
                Driver::Any => {
                    let begin = || async { Ok(store.begin().await?) };
                    run_once(&SqlPath {
                        begin,
                        sql: &sql,
                        now,
                    })
                    .await?
                }
                Driver::Typed => typed.run(&sql, now).await?,
                Driver::Store => run_once(&StorePath { store: &store, now }).await?,
            };
            if stats.rows != usize::try_from(config.due)? {
                return Err(format!(
                    "{name} {}: claimed {} reminders, expected {}",
                    driver.name(),
                    stats.rows,
                    config.due
                )
                .into());
            }
            println!(
                "SAMPLE backend={name} driver={} run={run} rows_per_s={:.0} total_s={:.2} \
                 claim_median_ms={:.3} completing_s={:.2} cpu_us_per_row={:.1}",
                driver.name(),
                stats.rows_per_s(),
                stats.total.as_secs_f64(),
                ms(quantile(&stats.claims, 0.5)),
                stats.completing.as_secs_f64(),
                stats.cpu_us_per_row()
            );
            runs.push((driver, stats));
        }
    }
    for driver in DRIVERS {
        let mine: Vec<&RunStats> = runs
            .iter()
            .filter(|(d, _)| *d == driver)
            .map(|(_, s)| s)
            .collect();
        let mut rates: Vec<f64> = mine.iter().map(|s| s.rows_per_s()).collect();
        rates.sort_by(f64::total_cmp);
        let claims: Vec<Duration> = mine.iter().flat_map(|s| s.claims.iter().copied()).collect();
        let completing: Vec<Duration> = mine.iter().map(|s| s.completing).collect();
        let mut cpu: Vec<f64> = mine.iter().map(|s| s.cpu_us_per_row()).collect();
        cpu.sort_by(f64::total_cmp);
        println!(
            "RESULT claim_path backend={name} driver={} due={} runs={} rows_per_s_median={:.0} \
             rows_per_s_min={:.0} rows_per_s_max={:.0} claim_batch_median_ms={:.3} \
             claim_batch_p95_ms={:.3} claim_batches={} completing_s_median={:.2} \
             cpu_us_per_row_median={:.1}",
            driver.name(),
            config.due,
            mine.len(),
            rates[rates.len() / 2],
            rates[0],
            rates[rates.len() - 1],
            ms(quantile(&claims, 0.5)),
            ms(quantile(&claims, 0.95)),
            claims.len(),
            quantile(&completing, 0.5).as_secs_f64(),
            cpu[cpu.len() / 2]
        );
    }
    typed.close().await;
    store.close().await;
    Ok(())
}

/// Nearest rank.
fn quantile(samples: &[Duration], q: f64) -> Duration {
    let mut sorted = samples.to_vec();
    sorted.sort_unstable();
    #[allow(
        clippy::cast_precision_loss,
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss
    )]
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn backend_name(backend: Backend) -> &'static str {
    match backend {
        Backend::Sqlite => "sqlite",
        Backend::Postgres => "postgres",
    }
}

// ---------------------------------------------------------------------------------------
// Fixture.

async fn execute(store: &Store, sql: String) -> Result<u64> {
    let mut conn = store.conn().await?;
    Ok(sqlx::raw_sql(AssertSqlSafe(sql))
        .execute(&mut *conn)
        .await?
        .rows_affected())
}

/// One owner, customer and plan; `due` contracts on term 2, each with the default plan's four
/// steps scheduled: the first due in the day before `now`, the others 20, 40 and 60 days on.
async fn fill(store: &Store, due: i64, now: Timestamp) -> Result<()> {
    let t = now.as_millisecond() - 30 * DAY_MS;
    // Rows 1..=n as the BIGINT column `i`, on either backend.
    let numbers = |n: i64| match store.backend() {
        Backend::Postgres => (
            String::new(),
            format!("generate_series(CAST(1 AS BIGINT), {n}) AS n(i)"),
        ),
        Backend::Sqlite => (
            format!(
                "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {n}) "
            ),
            "n".to_string(),
        ),
    };
    let (with, from) = numbers(due);
    let (with4, from4) = numbers(4 * due);
    let step = "((i - 1) % 4)";
    let contract = "((i - 1) / 4 + 1)";
    let send_at = format!(
        "({start} + ({contract} % 100) * {slot} + {step} * {d20})",
        start = now.as_millisecond() - DAY_MS,
        slot = DAY_MS / 100,
        d20 = 20 * DAY_MS
    );
    for sql in [
        format!(
            "INSERT INTO users (id, email, name, role, active, created_at) \
             VALUES (1, 'sales@firm.example', 'Bench Owner', 'sales', 1, {t})"
        ),
        format!(
            "INSERT INTO customers (id, name, language, time_zone, created_at, updated_at) \
             VALUES (1, 'Bench Customer Ltd', 'en', 'Europe/Athens', {t}, {t})"
        ),
        format!(
            "INSERT INTO plans (id, name, description, created_at) \
             VALUES (1, 'bench', 'The default renewal plan', {t})"
        ),
        format!(
            "{with}INSERT INTO contracts (id, customer_id, title, owner_id, plan_id, status, \
             term_number, start_date, end_date, amount_minor, currency, created_at, updated_at) \
             SELECT i, 1, 'Maintenance contract ' || i, 1, 1, 'active', 2, '2026-07-01', \
             '2027-06-30', 120000, 'EUR', {t}, {t} FROM {from}"
        ),
        format!(
            "{with}INSERT INTO contract_terms (id, contract_id, term_number, start_date, \
             end_date, created_at) SELECT i, i, 2, '2026-07-01', '2027-06-30', {t} FROM {from}"
        ),
        format!(
            "{with4}INSERT INTO reminders (id, subject_type, subject_id, contract_id, kind, \
             step_key, position, label, template, offset_days, mode, status, send_at, due_at, \
             to_addrs, cc_addrs, message_id, created_at, updated_at) \
             SELECT i, 'contract_term', {contract}, {contract}, 'step', \
             CASE {step} WHEN 0 THEN 'acknowledgement' WHEN 1 THEN 'reminder' \
             WHEN 2 THEN 'notice' ELSE 'thanks' END, {step} + 1, 'Step ' || {step}, \
             'renewal_step_' || {step}, CASE {step} WHEN 0 THEN -60 WHEN 1 THEN -30 \
             WHEN 2 THEN -7 ELSE 7 END, 'auto', 'scheduled', {send_at}, {send_at}, \
             '[\"customer@bench.example\"]', '[\"sales@firm.example\"]', \
             '<due-' || i || '@bench.tickler>', {t}, {t} FROM {from4}"
        ),
    ] {
        execute(store, sql).await?;
    }
    if store.backend() == Backend::Postgres {
        // Explicit ids do not move the sequences; VACUUM ANALYZE as autovacuum would.
        for table in [
            "users",
            "customers",
            "plans",
            "contracts",
            "contract_terms",
            "reminders",
        ] {
            execute(
                store,
                format!(
                    "SELECT setval(pg_get_serial_sequence('{table}', 'id'), \
                     (SELECT MAX(id) FROM {table}))"
                ),
            )
            .await?;
        }
    }
    Ok(())
}

/// Every reminder back to `scheduled` and unsent, and the database tidied, so that each run
/// starts from the same state.
async fn reset(store: &Store) -> Result<()> {
    execute(
        store,
        "UPDATE reminders SET status = 'scheduled', attempts = 0, claimed_by = NULL, \
         claimed_until = NULL, sent_subject = NULL, sent_body = NULL, smtp_reply = NULL, \
         sent_at = NULL, lateness_ms = NULL, last_error = NULL, updated_at = created_at \
         WHERE status <> 'scheduled'"
            .to_string(),
    )
    .await?;
    match store.backend() {
        Backend::Postgres => {
            execute(store, "VACUUM ANALYZE".to_string()).await?;
        }
        Backend::Sqlite => store.checkpoint().await?,
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------
// Configuration and the two backends' databases.

struct Config {
    due: i64,
    runs: usize,
    sqlite: bool,
    postgres: Option<String>,
}

impl Config {
    fn from_env() -> Result<Config> {
        let number = |name: &str, default: i64| -> Result<i64> {
            match std::env::var(name) {
                Ok(text) => text
                    .parse::<i64>()
                    .ok()
                    .filter(|n| *n > 0)
                    .ok_or_else(|| format!("{name}: not a positive number: {text:?}").into()),
                Err(_) => Ok(default),
            }
        };
        let backends =
            std::env::var("BENCH_BACKENDS").unwrap_or_else(|_| "sqlite postgres".to_string());
        Ok(Config {
            due: number("BENCH_DUE", 20_000)?,
            runs: usize::try_from(number("BENCH_RUNS", 5)?)?,
            sqlite: backends.split_whitespace().any(|b| b == "sqlite"),
            postgres: backends
                .split_whitespace()
                .any(|b| b == "postgres")
                .then(|| {
                    std::env::var("TICKLER_BENCH_POSTGRES_URL").unwrap_or_else(|_| {
                        "postgres://postgres@127.0.0.1:5432/postgres".to_string()
                    })
                }),
        })
    }

    /// Under `cargo test`: proves the bench runs, in a second.
    fn smoke() -> Config {
        Config {
            due: 250,
            runs: 1,
            sqlite: true,
            postgres: None,
        }
    }
}

/// A fresh database on the server of `admin_url`, dropped afterwards even when the run fails.
async fn postgres(config: &Config, admin_url: &str, now: Timestamp) -> Result<()> {
    let (prefix, rest) = admin_url
        .rsplit_once('/')
        .filter(|(prefix, _)| prefix.contains("://") && !prefix.ends_with('/'))
        .ok_or_else(|| format!("TICKLER_BENCH_POSTGRES_URL: no database name in {admin_url:?}"))?;
    let query = rest.find('?').map_or("", |at| &rest[at..]);
    let db = format!("tickler_bench_any_{}", std::process::id());
    let admin = |sql: String| async move {
        let mut conn = PgConnection::connect(admin_url).await?;
        sqlx::raw_sql(AssertSqlSafe(sql)).execute(&mut conn).await?;
        conn.close().await?;
        Ok::<(), BenchError>(())
    };
    admin(format!("DROP DATABASE IF EXISTS {db} WITH (FORCE)")).await?;
    admin(format!("CREATE DATABASE {db}")).await?;
    let outcome = bench_backend(config, &format!("{prefix}/{db}{query}"), now).await;
    admin(format!("DROP DATABASE IF EXISTS {db} WITH (FORCE)")).await?;
    outcome
}

#[tokio::main]
async fn main() -> Result<()> {
    let bench = std::env::args().any(|a| a == "--bench");
    check_sql_copies()?;
    let config = if bench {
        Config::from_env()?
    } else {
        println!("any_vs_typed: smoke run (cargo bench runs the full benchmark)");
        Config::smoke()
    };
    sqlx::any::install_default_drivers();
    let now: Timestamp = NOW.parse()?;
    println!(
        "INFO machine nproc={} loadavg_at_start=\"{}\" due={} runs={} claim_batch={CLAIM_BATCH} \
         completions_per_tx={COMPLETIONS_PER_TX}",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        loadavg(),
        config.due,
        config.runs
    );
    let started = Instant::now();
    if config.sqlite {
        let dir = tempfile::tempdir()?;
        let url = format!("sqlite://{}", dir.path().join("any_vs_typed.db").display());
        bench_backend(&config, &url, now).await?;
    }
    if let Some(url) = &config.postgres {
        postgres(&config, url, now).await?;
    }
    println!(
        "INFO done in {:.1}s loadavg_at_end=\"{}\"",
        started.elapsed().as_secs_f64(),
        loadavg()
    );
    Ok(())
}

fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "?".to_string())
}
