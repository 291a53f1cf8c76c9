//! How long the dispatcher's claim takes after a million sends.
//!
//! ```sh
//! cargo bench -p tickler-store --bench claim_after_million_sends
//! ```
//!
//! DESIGN.md (Storage) promises that finished reminders do not slow the claim query down as
//! they pile up: due work is found through a partial index over scheduled reminders only. This
//! times the real store functions, not copies of their SQL: `reminders::claim_due` (batches of
//! 100 and of 1), and the dispatcher's two other queries that look for pending work,
//! `reminders::take_over_expired` (the first statement of every claim round) and
//! `reminders::next_wake_up`. Both backends, each in these states:
//!
//! - `empty`: BENCH_DUE contracts (default 10,000), each with the default plan's four steps
//!   scheduled: the -60-day step due (100 distinct due instants, as when many contracts
//!   share a local 09:00), the other three in the future. No history.
//! - `inserted`: the same plus BENCH_HISTORY (default 1,000,000) `sent` reminders, inserted
//!   as sent: four per contract for an earlier term (the due contracts have one too, so their
//!   catch-up look-up finds 8 siblings instead of 4). They never were in a partial index.
//! - `updated`: the same history inserted as due `scheduled` reminders (then, on PostgreSQL,
//!   VACUUM ANALYZE, as autovacuum would have seen them come in), then marked `sending`
//!   (with a lease) and `sent` by two UPDATEs, as the dispatcher does, and timed right after,
//!   with no vacuum: on PostgreSQL their old versions stay in the indexes as dead entries
//!   until a vacuum removes them. Autovacuum is switched off for that table so that it
//!   cannot run in the middle.
//! - `vacuumed` (PostgreSQL): the `updated` database after VACUUM ANALYZE.
//! - `old_snapshot` (PostgreSQL): `updated` again, in a copy of the database taken before the
//!   updates, while a REPEATABLE READ transaction begun before them stays open (as a backup
//!   by pg_dump would), BENCH_SNAPSHOT_SAMPLES samples (default 5).
//!
//! Each sample is its own transaction, rolled back, so every sample claims from the same
//! state. `first_ms` is the first call in a state and is not among the samples of the median:
//! on PostgreSQL in the `updated` state it is the scan that meets the dead entries first (it
//! visits each one's heap tuple and, as no transaction can see it any more, marks the index
//! entry dead, so later scans skip it without visiting the heap but still read its page). For
//! the plan of that first scan the `updated` database is copied (`CREATE DATABASE ...
//! TEMPLATE`) before anything reads it, and the copy is explained.
//!
//! Environment: TICKLER_BENCH_POSTGRES_URL (any existing database on the server, default
//! `postgres://postgres@127.0.0.1:5432/postgres`), BENCH_BACKENDS (default
//! `sqlite postgres`), BENCH_DUE, BENCH_HISTORY, BENCH_SAMPLES (default 50),
//! BENCH_SNAPSHOT_SAMPLES, BENCH_SQLITE_DIR (keep the SQLite files there, to look at them
//! afterwards; default a temporary folder), BENCH_EXTRA_SQL (statements run on every new
//! database right after the migrations, to measure a schema change before it becomes a
//! migration; the RESULT lines then say `schema=extra`). PostgreSQL databases are named
//! `tickler_bench_claim_<pid>_<state>` and dropped at the end.
//!
//! Run as a test (`cargo test --all-targets`, without cargo bench's `--bench` argument) it
//! makes a small smoke run on SQLite only.

use std::{
    error::Error,
    fmt::Write as _,
    time::{Duration, Instant},
};

use jiff::Timestamp;
use sqlx::{AnyConnection, AssertSqlSafe, Connection};
use tickler_store::{
    Backend, Store,
    reminders::{self, Lease},
};

type BenchError = Box<dyn Error + Send + Sync>;
type Result<T, E = BenchError> = std::result::Result<T, E>;

/// The dispatcher's clock in every state: the instant `bench/dispatch.sh` uses.
const NOW: &str = "2027-05-02T12:00:00Z";
const DAY_MS: i64 = 86_400_000;
/// Distinct due instants among the due reminders.
const DUE_INSTANTS: i64 = 100;
/// What a sent history row carries: about the size of a rendered renewal notice.
const SENT_SUBJECT: &str = "Reminder: service expiring";
const SENT_BODY: &str = "Dear customer, this is a reminder that your maintenance contract \
    (Annual support: servers) expires on 30 June 2027. To keep your service running without \
    interruption, please confirm the renewal before that date. If you have already arranged \
    the renewal with your account manager, you can ignore this message. Kind regards, the \
    service team.";

/// The SQL of the store that this file explains (not times) is copied here; these fragments
/// of src/reminders.rs make the bench fail when that SQL changes, so the copies are updated.
const STORE_SOURCE: &str = include_str!("../src/reminders.rs");
const CLAIM_SQL_FRAGMENTS: [&str; 4] = [
    "SELECT id, subject_type, subject_id, kind FROM reminders \\",
    "WHERE status = 'scheduled' AND due_at <= $1 AND mode IN ('auto', 'internal') \\",
    "ORDER BY due_at, id LIMIT $2{lock}",
    "Backend::Postgres => \" FOR UPDATE SKIP LOCKED\"",
];
/// The lease take-over job binds `expired_before` ($3) to now, as `take_over_sql` writes it.
const TAKE_OVER_SQL_FRAGMENT: &str = "WHERE status = 'sending' AND claimed_until < $3 RETURNING id";
const WAKE_UP_SQL: &str = "SELECT MIN(due_at) FROM reminders WHERE status = 'scheduled' AND (mode IN ('auto', 'internal') OR alerted_at IS NULL)";

fn claim_candidates_sql(backend: Backend, now_ms: i64, batch: i64) -> String {
    let lock = match backend {
        Backend::Postgres => " FOR UPDATE SKIP LOCKED",
        Backend::Sqlite => "",
    };
    format!(
        "SELECT id, subject_type, subject_id, kind FROM reminders \
         WHERE status = 'scheduled' AND due_at <= {now_ms} AND mode IN ('auto', 'internal') \
         ORDER BY due_at, id LIMIT {batch}{lock}"
    )
}

fn take_over_sql(now_ms: i64) -> String {
    format!(
        "UPDATE reminders SET status = 'scheduled', due_at = {now_ms}, claimed_by = NULL, \
         claimed_until = NULL, last_error = 'lease expired: the dispatcher holding it stopped', \
         updated_at = {now_ms} WHERE status = 'sending' AND claimed_until < {now_ms} RETURNING id"
    )
}

fn check_sql_copies() -> Result<()> {
    for fragment in CLAIM_SQL_FRAGMENTS
        .iter()
        .chain([&TAKE_OVER_SQL_FRAGMENT, &WAKE_UP_SQL])
    {
        if !STORE_SOURCE.contains(fragment) {
            return Err(format!(
                "src/reminders.rs no longer contains {fragment:?}: update this bench's copies \
                 of the store's SQL (claim_candidates_sql, take_over_sql, WAKE_UP_SQL) that it \
                 explains"
            )
            .into());
        }
    }
    Ok(())
}

struct Config {
    due: i64,
    history: i64,
    samples: usize,
    /// Samples in the state where every call is slow.
    snapshot_samples: usize,
    /// Where the SQLite files go; a temporary folder, removed, when `None`.
    sqlite_dir: Option<std::path::PathBuf>,
    sqlite: bool,
    postgres: Option<String>,
    /// BENCH_EXTRA_SQL.
    extra_sql: Option<String>,
}

impl Config {
    fn from_env() -> Result<Config> {
        let number = |name: &str, default: i64| -> Result<i64> {
            match std::env::var(name) {
                Ok(text) => text
                    .parse::<i64>()
                    .ok()
                    .filter(|n| *n >= 0)
                    .ok_or_else(|| format!("{name}: not a number: {text:?}").into()),
                Err(_) => Ok(default),
            }
        };
        let backends =
            std::env::var("BENCH_BACKENDS").unwrap_or_else(|_| "sqlite postgres".to_string());
        let samples = usize::try_from(number("BENCH_SAMPLES", 50)?.max(1))?;
        let snapshot_samples = usize::try_from(number("BENCH_SNAPSHOT_SAMPLES", 5)?.max(1))?;
        let due = number("BENCH_DUE", 10_000)?.max(100);
        let history = number("BENCH_HISTORY", 1_000_000)?;
        Ok(Config {
            due,
            history,
            samples,
            snapshot_samples,
            sqlite_dir: std::env::var_os("BENCH_SQLITE_DIR").map(std::path::PathBuf::from),
            extra_sql: std::env::var("BENCH_EXTRA_SQL")
                .ok()
                .filter(|sql| !sql.trim().is_empty()),
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
            due: 200,
            history: 2_000,
            samples: 3,
            snapshot_samples: 1,
            sqlite_dir: None,
            sqlite: true,
            postgres: None,
            extra_sql: None,
        }
    }
}

#[tokio::main]
async fn main() -> Result<()> {
    let bench = std::env::args().any(|a| a == "--bench");
    check_sql_copies()?;
    let config = if bench {
        Config::from_env()?
    } else {
        println!("claim_after_million_sends: smoke run (cargo bench runs the full benchmark)");
        Config::smoke()
    };
    sqlx::any::install_default_drivers();
    let now: Timestamp = NOW.parse()?;
    println!(
        "INFO machine nproc={} loadavg_at_start=\"{}\" due_contracts={} history={} samples={} now={now}",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        loadavg(),
        config.due,
        config.history,
        config.samples
    );
    if let Some(sql) = &config.extra_sql {
        println!("INFO schema=extra: BENCH_EXTRA_SQL runs after the migrations: {sql}");
    }
    let started = Instant::now();
    if config.sqlite {
        sqlite(&config, now).await?;
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

// ---------------------------------------------------------------------------------------
// The two backends' runs.

async fn sqlite(config: &Config, now: Timestamp) -> Result<()> {
    let temporary = tempfile::tempdir()?;
    let dir = match &config.sqlite_dir {
        Some(dir) => {
            std::fs::create_dir_all(dir)?;
            for name in ["history-inserted.db", "history-updated.db"] {
                for suffix in ["", "-wal", "-shm"] {
                    let _ = std::fs::remove_file(dir.join(format!("{name}{suffix}")));
                }
            }
            dir.as_path()
        }
        None => temporary.path(),
    };

    let path = dir.join("history-inserted.db");
    let store = Store::open(&format!("sqlite://{}", path.display())).await?;
    apply_extra_sql(&store, config).await?;
    let took = load_base(&store, config.due, now).await?;
    println!(
        "INFO sqlite fixture: base loaded in {:.1}s",
        took.as_secs_f64()
    );
    let mut run = Run::new(&store, config, now, "empty", 0);
    run.measure_all().await?;
    run.explain().await?;
    let took = load_history(&store, config, now, HistoryAs::Sent).await?;
    println!(
        "INFO sqlite fixture: {} sent reminders inserted in {:.1}s",
        config.history,
        took.as_secs_f64()
    );
    let mut run = Run::new(&store, config, now, "inserted", config.history);
    run.measure_all().await?;
    run.explain().await?;
    println!("INFO sqlite size: {}", sqlite_size(&path));
    store.close().await;

    let path = dir.join("history-updated.db");
    let store = Store::open(&format!("sqlite://{}", path.display())).await?;
    apply_extra_sql(&store, config).await?;
    load_base(&store, config.due, now).await?;
    let took = load_history(&store, config, now, HistoryAs::Scheduled).await?;
    println!(
        "INFO sqlite fixture: {} scheduled reminders inserted in {:.1}s",
        config.history,
        took.as_secs_f64()
    );
    let took = mark_history_sent(&store).await?;
    println!(
        "INFO sqlite fixture: {} reminders marked sending then sent in {:.1}s",
        config.history,
        took.as_secs_f64()
    );
    let mut run = Run::new(&store, config, now, "updated", config.history);
    run.measure_all().await?;
    run.explain().await?;
    println!("INFO sqlite size: {}", sqlite_size(&path));
    store.close().await;
    Ok(())
}

async fn postgres(config: &Config, base_url: &str, now: Timestamp) -> Result<()> {
    let server = PgServer::new(base_url)?;
    let mut admin = AnyConnection::connect(base_url).await?;
    let settings: Vec<(String, String)> = sqlx::query_as(
        "SELECT name, setting FROM pg_settings WHERE name IN \
         ('server_version', 'shared_buffers', 'autovacuum', 'work_mem', 'random_page_cost') \
         ORDER BY name",
    )
    .fetch_all(&mut admin)
    .await?;
    let settings: Vec<String> = settings.iter().map(|(k, v)| format!("{k}={v}")).collect();
    println!("INFO postgres {}", settings.join(" "));
    admin.close().await?;

    // (a) and (b): one database, history inserted as sent between the two.
    let db = server.name("inserted");
    server.create(&db).await?;
    let store = Store::open(&server.url(&db)).await?;
    apply_extra_sql(&store, config).await?;
    let took = load_base(&store, config.due, now).await?;
    vacuum_analyze(&store).await?;
    println!(
        "INFO postgres fixture: base loaded in {:.1}s",
        took.as_secs_f64()
    );
    let mut run = Run::new(&store, config, now, "empty", 0);
    run.measure_all().await?;
    run.explain().await?;
    let took = load_history(&store, config, now, HistoryAs::Sent).await?;
    let vacuum_took = vacuum_analyze(&store).await?;
    println!(
        "INFO postgres fixture: {} sent reminders inserted in {:.1}s, then VACUUM ANALYZE {:.1}s",
        config.history,
        took.as_secs_f64(),
        vacuum_took.as_secs_f64()
    );
    let mut run = Run::new(&store, config, now, "inserted", config.history);
    run.measure_all().await?;
    run.explain().await?;
    pg_sizes(&store, "inserted").await?;
    store.close().await;
    server.drop(&db).await?;

    // (c): history that went through the partial indexes, before and after a vacuum.
    let db = server.name("updated");
    server.create(&db).await?;
    let store = Store::open(&server.url(&db)).await?;
    apply_extra_sql(&store, config).await?;
    load_base(&store, config.due, now).await?;
    let took = load_history(&store, config, now, HistoryAs::Scheduled).await?;
    vacuum_analyze(&store).await?;
    execute(
        &store,
        "ALTER TABLE reminders SET (autovacuum_enabled = false)".to_string(),
    )
    .await?;
    println!(
        "INFO postgres fixture: {} scheduled reminders inserted in {:.1}s, VACUUM ANALYZE",
        config.history,
        took.as_secs_f64()
    );
    // The same database, before the updates, for (d) below.
    store.close().await;
    let snapshot_db = server.name("old_snapshot");
    server.copy(&db, &snapshot_db).await?;
    let store = Store::open(&server.url(&db)).await?;
    let took = mark_history_sent(&store).await?;
    println!(
        "INFO postgres fixture: {} reminders marked sending then sent in {:.1}s (no vacuum)",
        config.history,
        took.as_secs_f64()
    );
    pg_sizes(&store, "updated").await?;
    // A copy before anything scans the dead entries, to explain the first (cold) scan.
    store.close().await;
    let cold = server.name("cold");
    server.copy(&db, &cold).await?;
    let store = Store::open(&server.url(&db)).await?;

    let mut run = Run::new(&store, config, now, "updated", config.history);
    run.measure_all().await?;
    run.explain().await?;
    {
        let cold_store = Store::connect(&server.url(&cold)).await?;
        let mut cold_run = Run::new(
            &cold_store,
            config,
            now,
            "updated_cold_copy",
            config.history,
        );
        cold_run.explain_cold().await?;
        cold_store.close().await;
        server.drop(&cold).await?;
    }

    let took = vacuum_analyze(&store).await?;
    println!(
        "INFO postgres: VACUUM ANALYZE after the updates took {:.1}s",
        took.as_secs_f64()
    );
    pg_sizes(&store, "vacuumed").await?;
    let mut run = Run::new(&store, config, now, "vacuumed", config.history);
    run.measure_all().await?;
    run.explain().await?;
    store.close().await;
    server.drop(&db).await?;

    // (d): the same updates while a transaction older than them stays open (a backup by
    // pg_dump, a long report, a session left idle in transaction). The dead entries cannot
    // be marked dead in the index while that transaction might still see their rows, so
    // every scan visits all of them.
    let store = Store::open(&server.url(&snapshot_db)).await?;
    let mut holder = AnyConnection::connect(&server.url(&snapshot_db)).await?;
    sqlx::raw_sql("BEGIN ISOLATION LEVEL REPEATABLE READ")
        .execute(&mut holder)
        .await?;
    let _: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM users")
        .fetch_one(&mut holder)
        .await?;
    let took = mark_history_sent(&store).await?;
    println!(
        "INFO postgres fixture: {} reminders marked sending then sent in {:.1}s, while a \
         REPEATABLE READ transaction begun before the updates stays open",
        config.history,
        took.as_secs_f64()
    );
    let mut run = Run::new(&store, config, now, "old_snapshot", config.history);
    run.samples = config.snapshot_samples;
    run.measure_all().await?;
    run.explain().await?;
    sqlx::raw_sql("COMMIT").execute(&mut holder).await?;
    holder.close().await?;
    store.close().await;
    server.drop(&snapshot_db).await?;
    Ok(())
}

// ---------------------------------------------------------------------------------------
// Fixtures: bulk SQL, a few statements per state.

/// BENCH_EXTRA_SQL, run on every new database right after its migrations: to measure a
/// schema change (an index, say) before it becomes a migration.
async fn apply_extra_sql(store: &Store, config: &Config) -> Result<()> {
    if let Some(sql) = &config.extra_sql {
        execute(store, sql.clone()).await?;
    }
    Ok(())
}

/// `(prefix, from)`: a statement `{prefix}INSERT ... SELECT ... FROM {from}` sees the numbers
/// 1..=n as the BIGINT column `i`.
fn series(backend: Backend, n: i64) -> (String, String) {
    match backend {
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
    }
}

async fn execute(store: &Store, sql: String) -> Result<u64> {
    let mut conn = store.conn().await?;
    Ok(sqlx::raw_sql(AssertSqlSafe(sql))
        .execute(&mut *conn)
        .await?
        .rows_affected())
}

/// The reminder columns every fixture row sets, and the expressions of the default plan's
/// four steps for row `i` (four rows per contract, `step` = 0..3).
const REMINDER_COLUMNS: &str = "id, subject_type, subject_id, contract_id, kind, step_key, \
    position, label, \
    template, offset_days, mode, status, send_at, due_at, to_addrs, cc_addrs, message_id, \
    attempts, sent_subject, sent_body, smtp_reply, sent_at, lateness_ms, created_at, updated_at";
const STEP: &str = "((i - 1) % 4)";
const CONTRACT: &str = "((i - 1) / 4 + 1)";

fn step_columns() -> String {
    format!(
        "CASE {STEP} WHEN 0 THEN 'acknowledgement' WHEN 1 THEN 'reminder' WHEN 2 THEN 'notice' \
         ELSE 'thanks' END, \
         {STEP} + 1, \
         CASE {STEP} WHEN 0 THEN 'Acknowledgement of renewal' WHEN 1 THEN 'Reminder: service expiring' \
         WHEN 2 THEN 'Notice of service expiration' ELSE 'Thank you for your long use of our service' END, \
         CASE {STEP} WHEN 0 THEN 'renewal_acknowledgement' WHEN 1 THEN 'renewal_reminder' \
         WHEN 2 THEN 'renewal_notice' ELSE 'renewal_thanks' END, \
         CASE {STEP} WHEN 0 THEN -60 WHEN 1 THEN -30 WHEN 2 THEN -7 ELSE 7 END, 'auto'"
    )
}

/// One customer, owner and plan; `due` contracts, each with its current term (2) and the
/// four steps of the default plan scheduled, the first due before `now`.
async fn load_base(store: &Store, due: i64, now: Timestamp) -> Result<Duration> {
    let start = Instant::now();
    let backend = store.backend();
    let t = now.as_millisecond() - 30 * DAY_MS;
    for sql in [
        format!(
            "INSERT INTO users (id, email, name, role, active, created_at) \
             VALUES (1, 'sales@firm.example', 'Bench Owner', 'sales', 1, {t})"
        ),
        format!(
            "INSERT INTO customers (id, name, language, time_zone, created_at, updated_at) \
             VALUES (1, 'Bench Customer Ltd', 'en', 'Europe/Athens', {t}, {t})"
        ),
        "INSERT INTO customer_emails (email, customer_id, position) \
         VALUES ('customer@bench.example', 1, 0)"
            .to_string(),
        format!(
            "INSERT INTO plans (id, name, description, created_at) \
             VALUES (1, 'bench', 'The default renewal plan, for the claim benchmark', {t})"
        ),
    ] {
        execute(store, sql).await?;
    }
    contracts(store, 1, due, 2, now).await?;
    let (with, from) = series(backend, due);
    execute(
        store,
        format!(
            "{with}INSERT INTO contract_terms (id, contract_id, term_number, start_date, \
             end_date, created_at) SELECT i, i, 2, '2026-07-01', '2027-06-30', {t} FROM {from}"
        ),
    )
    .await?;
    // Step 0 (-60 days) is due: one of DUE_INSTANTS instants in the day before now. Steps
    // 1..3 are 19, 39 and 59 days later, all in the future.
    let now_ms = now.as_millisecond();
    let send_at = format!(
        "({start} + ({CONTRACT} % {DUE_INSTANTS}) * {step_ms} + {STEP} * {d20})",
        start = now_ms - DAY_MS,
        step_ms = DAY_MS / DUE_INSTANTS,
        d20 = 20 * DAY_MS,
    );
    let (with, from) = series(backend, 4 * due);
    execute(
        store,
        format!(
            "{with}INSERT INTO reminders ({REMINDER_COLUMNS}) SELECT i, 'contract_term', \
             {CONTRACT}, {CONTRACT}, 'step', \
             {steps}, 'scheduled', {send_at}, {send_at}, '[\"customer@bench.example\"]', \
             '[\"sales@firm.example\"]', '<due-' || i || '@bench.tickler>', 0, NULL, NULL, NULL, \
             NULL, NULL, {t}, {t} FROM {from}",
            steps = step_columns()
        ),
    )
    .await?;
    fix_sequences(store).await?;
    Ok(start.elapsed())
}

/// Contracts `first..first + count`, on term `term` (whose end is 2027-06-30).
async fn contracts(store: &Store, first: i64, count: i64, term: i64, now: Timestamp) -> Result<()> {
    let t = now.as_millisecond() - 400 * DAY_MS;
    let (with, from) = series(store.backend(), count);
    execute(
        store,
        format!(
            "{with}INSERT INTO contracts (id, customer_id, title, owner_id, plan_id, status, \
             term_number, start_date, end_date, amount_minor, currency, created_at, updated_at) \
             SELECT i + {offset}, 1, 'Maintenance contract ' || (i + {offset}), 1, 1, 'active', \
             {term}, '2026-07-01', '2027-06-30', 120000, 'EUR', {t}, {t} FROM {from}",
            offset = first - 1
        ),
    )
    .await?;
    Ok(())
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum HistoryAs {
    /// Inserted as sent: never in a partial index.
    Sent,
    /// Inserted scheduled and due (to be marked sent by UPDATE).
    Scheduled,
}

/// `config.history` reminders of term 1, four per contract: the due contracts' earlier term
/// first, then further contracts (on their term 1) as many as needed. All due a month or
/// more before `now`, so before every due reminder of the base.
async fn load_history(
    store: &Store,
    config: &Config,
    now: Timestamp,
    how: HistoryAs,
) -> Result<Duration> {
    let start = Instant::now();
    let backend = store.backend();
    let contracts_needed = (config.history + 3) / 4;
    if contracts_needed > config.due {
        contracts(store, config.due + 1, contracts_needed - config.due, 1, now).await?;
    }
    let t = now.as_millisecond() - 400 * DAY_MS;
    let (with, from) = series(backend, contracts_needed);
    execute(
        store,
        format!(
            "{with}INSERT INTO contract_terms (id, contract_id, term_number, start_date, \
             end_date, created_at) SELECT {due} + i, i, 1, '2025-07-01', '2026-06-30', {t} \
             FROM {from}",
            due = config.due
        ),
    )
    .await?;
    let now_ms = now.as_millisecond();
    // From 400 to 34 days before now: the -60 step of a term ending within a year, and the
    // later steps 30, 53 and 67 days after it.
    // (Constants are multiplied here: PostgreSQL would compute 67 * DAY_MS in INTEGER.)
    let send_at = format!(
        "({start} + ({CONTRACT} % 300) * {DAY_MS} \
         + CASE {STEP} WHEN 0 THEN 0 WHEN 1 THEN {d30} WHEN 2 THEN {d53} ELSE {d67} END)",
        start = now_ms - 400 * DAY_MS,
        d30 = 30 * DAY_MS,
        d53 = 53 * DAY_MS,
        d67 = 67 * DAY_MS,
    );
    let created = format!("{send_at} - {}", 30 * DAY_MS);
    let sent_columns = match how {
        HistoryAs::Sent => format!(
            "'sent', {send_at}, {send_at}, '[\"customer@bench.example\"]', \
             '[\"sales@firm.example\"]', '<sent-' || i || '@bench.tickler>', 1, \
             '{SENT_SUBJECT}', '{SENT_BODY}', '250 2.0.0 OK queued', {send_at} + 1500, 1500, \
             {created}, {send_at} + 1500"
        ),
        HistoryAs::Scheduled => format!(
            "'scheduled', {send_at}, {send_at}, '[\"customer@bench.example\"]', \
             '[\"sales@firm.example\"]', '<sent-' || i || '@bench.tickler>', 0, \
             NULL, NULL, NULL, NULL, NULL, {created}, {created}"
        ),
    };
    let first_id = 4 * config.due;
    let (with, from) = series(backend, config.history);
    execute(
        store,
        format!(
            "{with}INSERT INTO reminders ({REMINDER_COLUMNS}) SELECT {first_id} + i, \
             'contract_term', {due} + {CONTRACT}, {CONTRACT}, 'step', {steps}, {sent_columns} \
             FROM {from}",
            steps = step_columns(),
            due = config.due
        ),
    )
    .await?;
    fix_sequences(store).await?;
    Ok(start.elapsed())
}

/// What the dispatcher does to each history row, in two statements: claim (`sending`, with a
/// lease) and completion (`sent`).
async fn mark_history_sent(store: &Store) -> Result<Duration> {
    let start = Instant::now();
    execute(
        store,
        "UPDATE reminders SET status = 'sending', claimed_by = 'bench-history', \
         claimed_until = due_at + 300000, attempts = attempts + 1, updated_at = due_at \
         WHERE message_id LIKE '<sent-%' AND status = 'scheduled'"
            .to_string(),
    )
    .await?;
    execute(
        store,
        format!(
            "UPDATE reminders SET status = 'sent', sent_subject = '{SENT_SUBJECT}', \
             sent_body = '{SENT_BODY}', smtp_reply = '250 2.0.0 OK queued', \
             sent_at = due_at + 1500, lateness_ms = 1500, claimed_by = NULL, \
             claimed_until = NULL, updated_at = due_at + 1500 \
             WHERE message_id LIKE '<sent-%' AND status = 'sending'"
        ),
    )
    .await?;
    Ok(start.elapsed())
}

/// Explicit ids do not move PostgreSQL's sequences; put them past the rows.
async fn fix_sequences(store: &Store) -> Result<()> {
    if store.backend() == Backend::Postgres {
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
                     (SELECT COALESCE(MAX(id), 1) FROM {table}))"
                ),
            )
            .await?;
        }
    }
    Ok(())
}

async fn vacuum_analyze(store: &Store) -> Result<Duration> {
    let start = Instant::now();
    execute(store, "VACUUM ANALYZE".to_string()).await?;
    Ok(start.elapsed())
}

async fn pg_sizes(store: &Store, state: &str) -> Result<()> {
    let mut conn = store.conn().await?;
    let (table, due, leases, live, dead): (i64, i64, i64, i64, i64) = sqlx::query_as(
        "SELECT pg_relation_size('reminders'), pg_relation_size('reminders_due'), \
         pg_relation_size('reminders_leases'), \
         COALESCE((SELECT n_live_tup FROM pg_stat_user_tables WHERE relname = 'reminders'), -1), \
         COALESCE((SELECT n_dead_tup FROM pg_stat_user_tables WHERE relname = 'reminders'), -1)",
    )
    .fetch_one(&mut *conn)
    .await?;
    println!(
        "INFO postgres state={state} reminders_table_mib={:.1} reminders_due_index_kib={} \
         reminders_leases_index_kib={} n_live_tup={live} n_dead_tup={dead} (statistics, may lag)",
        mib(table),
        due / 1024,
        leases / 1024
    );
    Ok(())
}

#[allow(clippy::cast_precision_loss)]
fn mib(bytes: i64) -> f64 {
    bytes as f64 / 1_048_576.0
}

fn sqlite_size(path: &std::path::Path) -> String {
    let size = |p: std::path::PathBuf| std::fs::metadata(p).map_or(0, |m| m.len());
    let main = size(path.to_path_buf());
    let wal = size(path.with_extension("db-wal"));
    #[allow(clippy::cast_precision_loss)]
    let as_mib = |b: u64| b as f64 / 1_048_576.0;
    format!("file_mib={:.1} wal_mib={:.1}", as_mib(main), as_mib(wal))
}

struct PgServer {
    /// Where CREATE and DROP DATABASE run: the URL given.
    admin_url: String,
    /// The URL up to the database name, and what follows it (`?...`).
    prefix: String,
    query: String,
}

impl PgServer {
    fn new(url: &str) -> Result<PgServer> {
        let (prefix, rest) = url
            .rsplit_once('/')
            .filter(|(prefix, _)| prefix.contains("://") && !prefix.ends_with('/'))
            .ok_or_else(|| format!("TICKLER_BENCH_POSTGRES_URL: no database name in {url:?}"))?;
        let query = rest
            .find('?')
            .map_or(String::new(), |at| rest[at..].to_string());
        Ok(PgServer {
            admin_url: url.to_string(),
            prefix: prefix.to_string(),
            query,
        })
    }

    fn name(&self, state: &str) -> String {
        format!("tickler_bench_claim_{}_{state}", std::process::id())
    }

    fn url(&self, db: &str) -> String {
        format!("{}/{db}{}", self.prefix, self.query)
    }

    async fn admin(&self, sql: String) -> Result<()> {
        let mut conn = AnyConnection::connect(&self.admin_url).await?;
        sqlx::raw_sql(AssertSqlSafe(sql)).execute(&mut conn).await?;
        conn.close().await?;
        Ok(())
    }

    async fn create(&self, db: &str) -> Result<()> {
        self.drop(db).await?;
        self.admin(format!("CREATE DATABASE {db}")).await
    }

    /// A file copy of `from`, which nothing may be connected to.
    async fn copy(&self, from: &str, to: &str) -> Result<()> {
        self.drop(to).await?;
        self.admin(format!(
            "CREATE DATABASE {to} TEMPLATE {from} STRATEGY FILE_COPY"
        ))
        .await
    }

    async fn drop(&self, db: &str) -> Result<()> {
        self.admin(format!("DROP DATABASE IF EXISTS {db} WITH (FORCE)"))
            .await
    }
}

// ---------------------------------------------------------------------------------------
// Measurements.

struct Run<'a> {
    store: &'a Store,
    samples: usize,
    /// `migrations`, or `extra` with BENCH_EXTRA_SQL.
    schema: &'static str,
    now: Timestamp,
    state: &'static str,
    history: i64,
}

#[derive(Clone, Copy)]
enum Op {
    Claim(i64),
    TakeOver,
    WakeUp,
}

/// The first call in a state, then `samples` more.
struct Timings {
    first: Duration,
    samples: Vec<Duration>,
}

impl<'a> Run<'a> {
    fn new(
        store: &'a Store,
        config: &'a Config,
        now: Timestamp,
        state: &'static str,
        history: i64,
    ) -> Run<'a> {
        Run {
            store,
            samples: config.samples,
            schema: if config.extra_sql.is_some() {
                "extra"
            } else {
                "migrations"
            },
            now,
            state,
            history,
        }
    }

    fn backend_name(&self) -> &'static str {
        match self.store.backend() {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    }

    /// claim_due (100, then 1), take_over_expired, next_wake_up; each one's first call is
    /// the first in this state to read its partial index.
    async fn measure_all(&mut self) -> Result<()> {
        for batch in [100, 1] {
            let timings = self.timed(Op::Claim(batch)).await?;
            self.result("claim", &format!("batch={batch}"), &timings);
        }
        let timings = self.timed(Op::TakeOver).await?;
        self.result("take_over_expired", "", &timings);
        let timings = self.timed(Op::WakeUp).await?;
        self.result("next_wake_up", "", &timings);
        Ok(())
    }

    async fn timed(&mut self, op: Op) -> Result<Timings> {
        let first = self.once(op).await?;
        let mut samples = Vec::with_capacity(self.samples);
        for _ in 0..self.samples {
            samples.push(self.once(op).await?);
        }
        Ok(Timings { first, samples })
    }

    async fn once(&mut self, op: Op) -> Result<Duration> {
        match op {
            Op::Claim(batch) => self.claim(batch).await,
            Op::TakeOver => self.take_over().await,
            Op::WakeUp => self.wake_up().await,
        }
    }

    /// One claim in a transaction that is rolled back, so the next one finds the same rows.
    async fn claim(&mut self, batch: i64) -> Result<Duration> {
        let lease = Lease {
            worker: "bench",
            until: Timestamp::from_millisecond(self.now.as_millisecond() + 300_000)?,
        };
        let mut tx = self.store.begin().await?;
        let start = Instant::now();
        let claimed =
            reminders::claim_due(&mut tx, self.store.backend(), self.now, &lease, batch).await?;
        let took = start.elapsed();
        tx.rollback().await?;
        let expected = usize::try_from(batch)?;
        if claimed.len() != expected || claimed.iter().any(|r| !r.message_id.starts_with("<due-")) {
            return Err(format!(
                "{} {}: claimed {} reminders, expected {expected} due ones of term 2",
                self.backend_name(),
                self.state,
                claimed.len()
            )
            .into());
        }
        Ok(took)
    }

    async fn take_over(&mut self) -> Result<Duration> {
        let mut tx = self.store.begin().await?;
        let start = Instant::now();
        let taken = reminders::take_over_expired(&mut tx, self.now).await?;
        let took = start.elapsed();
        tx.rollback().await?;
        if !taken.is_empty() {
            return Err(format!(
                "take_over_expired returned {} rows, expected 0",
                taken.len()
            )
            .into());
        }
        Ok(took)
    }

    async fn wake_up(&mut self) -> Result<Duration> {
        let mut conn = self.store.conn().await?;
        let start = Instant::now();
        let next = reminders::next_wake_up(&mut conn).await?;
        let took = start.elapsed();
        let expected = Timestamp::from_millisecond(self.now.as_millisecond() - DAY_MS)?;
        if next != Some(expected) {
            return Err(format!("next_wake_up returned {next:?}, expected {expected}").into());
        }
        Ok(took)
    }

    fn result(&self, what: &str, extra: &str, timings: &Timings) {
        let mut sorted = timings.samples.clone();
        sorted.sort_unstable();
        let ms = |d: Duration| format!("{:.3}", d.as_secs_f64() * 1000.0);
        let at = |q: f64| {
            // Nearest rank.
            #[allow(
                clippy::cast_precision_loss,
                clippy::cast_possible_truncation,
                clippy::cast_sign_loss
            )]
            let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
            sorted[rank - 1]
        };
        let mut line = format!(
            "RESULT {what} backend={} state={} history={} schema={}",
            self.backend_name(),
            self.state,
            self.history,
            self.schema
        );
        if !extra.is_empty() {
            let _ = write!(line, " {extra}");
        }
        let _ = write!(
            line,
            " samples={} first_ms={} median_ms={} p95_ms={} min_ms={} max_ms={}",
            sorted.len(),
            ms(timings.first),
            ms(at(0.5)),
            ms(at(0.95)),
            ms(sorted[0]),
            ms(sorted[sorted.len() - 1])
        );
        println!("{line}");
    }

    /// The plans of the claim's candidate SELECT (and of the take-over scan), as they are
    /// now: on PostgreSQL executed (ANALYZE, BUFFERS) in a transaction that is rolled back,
    /// with the values inlined (a custom plan) and as the generic plan of the prepared
    /// statement that the claim runs after a few executions on one connection.
    async fn explain(&mut self) -> Result<()> {
        let now_ms = self.now.as_millisecond();
        match self.store.backend() {
            Backend::Sqlite => {
                let mut conn = self.store.conn().await?;
                for (what, sql) in [
                    (
                        "claim candidates (batch=100)",
                        claim_candidates_sql(Backend::Sqlite, now_ms, 100),
                    ),
                    ("take_over_expired", take_over_sql(now_ms)),
                    ("next_wake_up (due)", WAKE_UP_SQL.to_string()),
                ] {
                    let rows: Vec<(i64, i64, i64, String)> =
                        sqlx::query_as(AssertSqlSafe(format!("EXPLAIN QUERY PLAN {sql}")))
                            .fetch_all(&mut *conn)
                            .await?;
                    println!(
                        "EXPLAIN QUERY PLAN backend=sqlite state={} history={} query=\"{what}\"",
                        self.state, self.history
                    );
                    for (_, _, _, detail) in rows {
                        println!("    {detail}");
                    }
                }
            }
            Backend::Postgres => {
                self.pg_explain(
                    "claim candidates (batch=100), custom plan",
                    claim_candidates_sql(Backend::Postgres, now_ms, 100),
                )
                .await?;
                self.pg_explain_generic(now_ms).await?;
                self.pg_explain("take_over_expired", take_over_sql(now_ms))
                    .await?;
                self.pg_explain("next_wake_up (due)", WAKE_UP_SQL.to_string())
                    .await?;
            }
        }
        Ok(())
    }

    /// The first scan of a copy that nothing has read since the updates.
    async fn explain_cold(&mut self) -> Result<()> {
        let now_ms = self.now.as_millisecond();
        self.pg_explain(
            "claim candidates (batch=100), custom plan, first scan after the updates",
            claim_candidates_sql(Backend::Postgres, now_ms, 100),
        )
        .await?;
        self.pg_explain(
            "take_over_expired, first scan after the updates",
            take_over_sql(now_ms),
        )
        .await
    }

    async fn pg_explain(&self, what: &str, sql: String) -> Result<()> {
        let mut tx = self.store.begin().await?;
        let lines: Vec<String> =
            sqlx::query_scalar(AssertSqlSafe(format!("EXPLAIN (ANALYZE, BUFFERS) {sql}")))
                .fetch_all(&mut *tx)
                .await?;
        tx.rollback().await?;
        self.print_plan(what, &lines);
        Ok(())
    }

    async fn pg_explain_generic(&self, now_ms: i64) -> Result<()> {
        let mut tx = self.store.begin().await?;
        let prepare = format!(
            "PREPARE bench_claim(BIGINT, BIGINT) AS {}",
            claim_candidates_sql(Backend::Postgres, now_ms, 100)
                .replace(&format!("due_at <= {now_ms}"), "due_at <= $1")
                .replace("LIMIT 100", "LIMIT $2")
        );
        sqlx::raw_sql(AssertSqlSafe(prepare))
            .execute(&mut *tx)
            .await?;
        sqlx::raw_sql("SET LOCAL plan_cache_mode = force_generic_plan")
            .execute(&mut *tx)
            .await?;
        let lines: Vec<String> = sqlx::query_scalar(AssertSqlSafe(format!(
            "EXPLAIN (ANALYZE, BUFFERS) EXECUTE bench_claim({now_ms}, 100)"
        )))
        .fetch_all(&mut *tx)
        .await?;
        sqlx::raw_sql("DEALLOCATE bench_claim")
            .execute(&mut *tx)
            .await?;
        tx.rollback().await?;
        self.print_plan("claim candidates (batch=100), generic plan", &lines);
        Ok(())
    }

    fn print_plan(&self, what: &str, lines: &[String]) {
        println!(
            "EXPLAIN (ANALYZE, BUFFERS) backend=postgres state={} history={} query=\"{what}\"",
            self.state, self.history
        );
        for line in lines {
            println!("    {line}");
        }
    }
}
