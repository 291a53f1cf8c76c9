//! How fast the customer's answer pages answer under a burst of clicks: BENCH_CLICKS
//! (default 100) concurrent clients at once, against the real web app on a real SQLite file.
//!
//! ```sh
//! cargo bench -p tickler-web --bench answer_pages
//! BENCH_CLICKS=500 cargo bench -p tickler-web --bench answer_pages
//! ```
//!
//! Three bursts, each of BENCH_CLICKS requests started together, each timed from send to the
//! whole response: the confirmation pages opened (GET, a different contract each); the "Renew"
//! buttons pressed (POST, each renewing a different contract in its own transaction: the new
//! term, the old term's emails cancelled, the new term's scheduled, the owner's notice
//! queued); and every client pressing the same contract's button (one renews, the others are
//! told it is decided). Each burst prints the median, 95th percentile and slowest latency and
//! the burst's wall time, and checks what the database holds afterwards.
//!
//! Run as a test (`cargo test --all-targets`, without cargo bench's `--bench` argument) it
//! makes a small smoke run of 10 clicks.

use std::{
    error::Error,
    sync::Arc,
    time::{Duration, Instant},
};

use tickler_core::{backoff::RetryPolicy, clock::FixedClock, time_zone::Zone};
use tickler_engine::{Actor, Engine, Settings, contracts::ContractInput};
use tickler_mail::{MailConfig, Mailer, Sender};
use tickler_store::Store;
use tickler_web::WebConfig;

type Result<T> = std::result::Result<T, Box<dyn Error>>;

/// The app on a fresh SQLite file, as of 1 November 2027, its links pointing at itself.
async fn start(dir: &std::path::Path) -> Result<(Engine, String)> {
    tickler_mail::install_crypto_provider();
    let store = Store::open(&format!("sqlite://{}", dir.join("bench.db").display())).await?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}", listener.local_addr()?);
    let settings = Settings {
        organisation_name: "Bench Ltd".to_string(),
        default_time_zone: Zone::parse("zone", "UTC")?,
        mail_from: Sender::parse("Bench <renewals@bench.example>")?,
        worker_id: "bench".to_string(),
        lease: Duration::from_secs(300),
        batch_size: 200,
        concurrency: 8,
        retry: RetryPolicy::default(),
        poll_interval: Duration::from_secs(30),
        public_url: Some(base.clone()),
    };
    let mailer = Mailer::new(&MailConfig {
        smtp_url: None,
        outbox_dir: dir.join("outbox"),
        from: settings.mail_from.clone(),
        timeout: Duration::from_secs(10),
        dkim: None,
        ca: None,
    })?;
    let now = "2027-11-01T10:00:00Z".parse()?;
    let engine = Engine::new(store, mailer, Arc::new(FixedClock(now)), settings);
    engine.ensure_default_plan().await?;
    let app = tickler_web::router(
        engine.clone(),
        WebConfig {
            // One address sends every click here; the limit is not what is measured.
            public_requests_per_minute: u32::MAX,
            ..WebConfig::default()
        },
    );
    tokio::spawn(async move {
        let _ = axum::serve(
            listener,
            app.into_make_service_with_connect_info::<std::net::SocketAddr>(),
        )
        .await;
    });
    Ok((engine, base))
}

async fn contracts(engine: &Engine, from: usize, count: usize) -> Result<Vec<(i64, String)>> {
    let mut made = Vec::with_capacity(count);
    for i in from..from + count {
        let customer = engine
            .add_customer(
                tickler_engine::directory::NewCustomer {
                    name: format!("Customer {i}"),
                    emails: vec![format!("c{i}@bench.example")],
                    language: tickler_core::language::Language::En,
                    time_zone: Some("UTC".to_string()),
                },
                &Actor::system(),
            )
            .await?;
        let id = engine
            .add_contract(
                ContractInput {
                    customer_id: customer,
                    title: format!("Maintenance {i}"),
                    start: "2027-01-01".to_string(),
                    end: "2027-12-31".to_string(),
                    ..ContractInput::default()
                },
                &Actor::system(),
            )
            .await?;
        made.push((id, engine.contract_links(id).await?.renew));
    }
    Ok(made)
}

/// Sends one request per URL, all at once; returns each latency, sorted, and the wall time.
async fn burst(
    client: &reqwest::Client,
    method: reqwest::Method,
    urls: &[String],
) -> Result<(Vec<Duration>, Duration)> {
    let started = Instant::now();
    let requests = urls.iter().map(|url| {
        let request = client.request(method.clone(), url);
        let url = url.clone();
        async move {
            let sent = Instant::now();
            let response = request.send().await?;
            let status = response.status();
            response.bytes().await?;
            if !status.is_success() {
                return Err(format!("{url}: {status}").into());
            }
            Ok::<Duration, Box<dyn Error>>(sent.elapsed())
        }
    });
    let mut handles = Vec::new();
    for request in requests {
        handles.push(tokio::spawn(async move {
            request.await.map_err(|e| e.to_string())
        }));
    }
    let mut latencies = Vec::with_capacity(urls.len());
    for handle in handles {
        latencies.push(handle.await??);
    }
    latencies.sort();
    Ok((latencies, started.elapsed()))
}

fn report(what: &str, latencies: &[Duration], wall: Duration) {
    let at = |q: f64| latencies[((latencies.len() as f64 * q).ceil() as usize).saturating_sub(1)];
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!(
        "{what:<44} {:>4} clicks: median {:>7.1} ms, p95 {:>7.1} ms, slowest {:>7.1} ms, burst {:>7.1} ms",
        latencies.len(),
        ms(at(0.5)),
        ms(at(0.95)),
        ms(at(1.0)),
        ms(wall)
    );
}

async fn run(clicks: usize) -> Result<()> {
    let dir = tempfile::tempdir()?;
    let (engine, _base) = start(dir.path()).await?;
    let made = contracts(&engine, 0, clicks).await?;
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(clicks)
        .build()?;
    let urls: Vec<String> = made.iter().map(|(_, url)| url.clone()).collect();

    let (latencies, wall) = burst(&client, reqwest::Method::GET, &urls).await?;
    report("confirmation pages opened (GET)", &latencies, wall);

    let (latencies, wall) = burst(&client, reqwest::Method::POST, &urls).await?;
    report("Renew pressed, each a different contract", &latencies, wall);
    for (id, _) in &made {
        let terms = engine.contract_detail(*id).await?.terms.len();
        if terms != 2 {
            return Err(format!("contract {id} has {terms} terms after one renewal").into());
        }
    }

    let extra = contracts(&engine, clicks, 1).await?;
    let same = vec![extra[0].1.clone(); clicks];
    let (latencies, wall) = burst(&client, reqwest::Method::POST, &same).await?;
    report("Renew pressed by all, the same contract", &latencies, wall);
    let terms = engine.contract_detail(extra[0].0).await?.terms.len();
    if terms != 2 {
        return Err(format!("the raced contract has {terms} terms, not 2").into());
    }
    Ok(())
}

fn main() -> Result<()> {
    let benching = std::env::args().any(|a| a == "--bench");
    let clicks = if benching {
        std::env::var("BENCH_CLICKS")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(100)
    } else {
        10
    };
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?
        .block_on(run(clicks))
}
