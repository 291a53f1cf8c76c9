//! How fast the billing run invoices recurring sales, and how fast their invoices' emails
//! (each with its PDF) go out.
//!
//! ```sh
//! cargo bench -p tickler-engine --bench billing_run
//! BENCH_SALES=100000 BENCH_BACKEND=postgres cargo bench -p tickler-engine --bench billing_run
//! ```
//!
//! BENCH_SALES recurring sales (default 100,000) are imported in one file (the CSV import's
//! billing columns), each billed yearly from 2027-01-01 for one cycle, so that exactly one
//! period per sale is due at 2027-01-01T12:00Z. Then `Engine::bill_due` runs as of that
//! instant and is timed: invoices made and issued (numbered, their email queued, their
//! payment reminders scheduled) per second. Then BENCH_SENDS of the invoices' emails
//! (default 1,000) are sent to the outbox folder through `Engine::dispatch_due`, timed: PDF
//! rendering included. BENCH_BACKEND is `sqlite` (default; a file in a temporary folder) or
//! `postgres` (TICKLER_BENCH_POSTGRES_URL's server, default
//! `postgres://postgres@127.0.0.1:5432/postgres`, in a database created and dropped here).
//!
//! Run as a test (`cargo test --all-targets`, without cargo bench's `--bench` argument) it
//! makes a small smoke run on SQLite.

use std::{
    error::Error,
    io::Write as _,
    sync::Arc,
    time::{Duration, Instant},
};

use jiff::Timestamp;
use sqlx::{AssertSqlSafe, Connection, Executor, PgConnection};
use tickler_core::{backoff::RetryPolicy, clock::FixedClock, time_zone::Zone};
use tickler_engine::{Actor, Engine, Settings, invoicing::InvoiceFilter};
use tickler_mail::{MailConfig, Mailer, Sender};
use tickler_store::Store;

type Result<T> = std::result::Result<T, Box<dyn Error>>;

fn env_or(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn settings() -> Result<Settings> {
    Ok(Settings {
        organisation_name: "Bench Ltd".to_string(),
        default_time_zone: Zone::parse("zone", "Europe/Athens")?,
        mail_from: Sender::parse("Bench <billing@bench.example>")?,
        worker_id: "bench".to_string(),
        lease: Duration::from_secs(300),
        batch_size: 200,
        concurrency: 8,
        retry: RetryPolicy::default(),
        poll_interval: Duration::from_secs(30),
        public_url: None,
    })
}

fn write_csv(path: &std::path::Path, sales: usize) -> Result<()> {
    let mut file = std::io::BufWriter::new(std::fs::File::create(path)?);
    writeln!(
        file,
        "customer_name,customer_email,language,time_zone,title,start,end,owner_email,amount,\
         currency,bill_every,cycles,lines"
    )?;
    for i in 0..sales {
        writeln!(
            file,
            "Customer {i},c{i}@bench.example,el,Europe/Athens,Hosting {i},2027-01-01,,,,EUR,1y,1,\
             \"Hosting|1|49.90|24\nSupport hours|2.5|40|24\""
        )?;
    }
    file.flush()?;
    Ok(())
}

/// A fresh database: a file in `dir`, or a new database on the PostgreSQL server.
async fn fresh_database(backend: &str, dir: &std::path::Path, label: &str) -> Result<String> {
    if backend != "postgres" {
        return Ok(format!(
            "sqlite://{}",
            dir.join(format!("{label}.db")).display()
        ));
    }
    let server = postgres_server();
    let name = format!("tickler_bench_billing_{}_{label}", std::process::id());
    let mut admin = PgConnection::connect(&server).await?;
    admin
        .execute(AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .await?;
    let base = server.rsplit_once('/').map(|(b, _)| b).unwrap_or(&server);
    Ok(format!("{base}/{name}"))
}

fn postgres_server() -> String {
    std::env::var("TICKLER_BENCH_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_string())
}

/// An engine on `url` whose clock says `now`, with `sales` recurring sales imported.
async fn engine_with_sales(
    url: &str,
    dir: &std::path::Path,
    sales: usize,
    now: Timestamp,
) -> Result<(Engine, Store, f64)> {
    let store = Store::open(url).await?;
    let settings = settings()?;
    let mailer = Mailer::new(&MailConfig {
        smtp_url: None,
        outbox_dir: dir.join("outbox"),
        from: settings.mail_from.clone(),
        timeout: Duration::from_secs(10),
        dkim: None,
        ca: None,
    })?;
    let entering = Engine::new(
        store.clone(),
        mailer,
        Arc::new(FixedClock("2026-12-01T00:00:00Z".parse()?)),
        settings,
    );
    entering.ensure_default_plan().await?;
    let csv = dir.join(format!("sales-{sales}.csv"));
    write_csv(&csv, sales)?;
    let started = Instant::now();
    entering
        .import_contracts(&csv, &Actor::system(), &mut |_, _| {})
        .await?;
    let import_seconds = started.elapsed().as_secs_f64();
    Ok((
        entering.with_clock(Arc::new(FixedClock(now))),
        store,
        import_seconds,
    ))
}

#[tokio::main]
async fn main() -> Result<()> {
    let bench = std::env::args().any(|a| a == "--bench");
    let sales = if bench {
        env_or("BENCH_SALES", 100_000)
    } else {
        200
    };
    let sends = env_or("BENCH_SENDS", if bench { 1_000 } else { 20 });
    let backend = std::env::var("BENCH_BACKEND").unwrap_or_else(|_| "sqlite".to_string());
    tickler_mail::install_crypto_provider();
    let dir = tempfile::tempdir()?;
    let now: Timestamp = "2027-01-01T12:00:00Z".parse()?;

    // The billing run alone: invoices made, numbered, their emails and reminders queued.
    let url = fresh_database(&backend, dir.path(), "run").await?;
    let (engine, store, import_seconds) = engine_with_sales(&url, dir.path(), sales, now).await?;
    let started = Instant::now();
    let report = engine.bill_due().await?;
    let bill_seconds = started.elapsed().as_secs_f64();
    assert_eq!(report.invoiced, sales, "one invoice per sale");
    assert_eq!(report.issued, sales);
    let sample = engine
        .list_invoices(&InvoiceFilter {
            limit: Some(3),
            ..InvoiceFilter::default()
        })
        .await?;
    assert!(sample.iter().all(|i| i.number.is_some()));
    store.close().await;

    // A whole dispatch of fewer sales: billing, then every invoice's email with its PDF.
    let url = fresh_database(&backend, dir.path(), "send").await?;
    let (engine, store, _) = engine_with_sales(&url, dir.path(), sends, now).await?;
    let started = Instant::now();
    let dispatched = engine.dispatch_due().await?;
    let send_seconds = started.elapsed().as_secs_f64();
    assert_eq!(dispatched.sent, sends, "every invoice emailed");
    store.close().await;

    println!(
        "RESULT billing_run backend={backend} sales={sales} import_s={import_seconds:.1} \
         bill_s={bill_seconds:.2} invoices_per_s={:.0} | dispatch of {sends} sales: \
         {send_seconds:.2} s, {:.0} invoices billed and emailed with their PDF per s",
        sales as f64 / bill_seconds,
        sends as f64 / send_seconds
    );
    if backend == "postgres" {
        let mut admin = PgConnection::connect(&postgres_server()).await?;
        for label in ["run", "send"] {
            let name = format!("tickler_bench_billing_{}_{label}", std::process::id());
            admin
                .execute(AssertSqlSafe(format!(
                    "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
                )))
                .await?;
        }
    }
    Ok(())
}
