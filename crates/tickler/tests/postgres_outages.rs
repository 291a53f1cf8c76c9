//! The database goes away under running instances: PostgreSQL restarted in the middle of a
//! batch, and a 30-second outage. The processes survive, finish the work once it is back,
//! and lose nothing. Each test runs its own PostgreSQL cluster (`tickler_testkit::postgres`),
//! so stopping it cannot disturb other tests.

mod support;

use std::{
    collections::HashMap,
    process::{Child, Stdio},
    thread,
    time::{Duration, Instant},
};

use sqlx::{Connection, PgConnection};
use support::Tickler;
use tickler_testkit::{SmtpTestServer, postgres::PrivatePostgres};

/// Just after the 60-day step of every generated contract: one email per contract is due.
const DUE_AT: &str = "2027-05-02T12:00:00Z";

fn installation(pg: &PrivatePostgres, smtp: &SmtpTestServer, contracts: usize) -> Tickler {
    let mut t = Tickler::with_smtp(smtp);
    t.set_env("TICKLER_DATABASE_URL", &pg.url());
    t.set_env("TICKLER_LOG", "info");
    support::import_contracts_due_together(&t, contracts);
    t
}

/// A long-running process whose log goes to a file in the installation's folder.
fn spawn(t: &Tickler, name: &str, args: &[&str]) -> Child {
    let log = std::fs::File::create(t.dir().join(format!("{name}.log"))).expect("log file");
    t.command(args)
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {name}: {e}"))
}

fn log_of(t: &Tickler, name: &str) -> String {
    std::fs::read_to_string(t.dir().join(format!("{name}.log"))).unwrap_or_default()
}

fn assert_alive(t: &Tickler, name: &str, child: &mut Child) {
    if let Some(status) = child.try_wait().expect("try_wait") {
        panic!(
            "{name} exited ({status}) instead of riding out the outage:\n{}",
            log_of(t, name)
        );
    }
}

/// SIGTERM, then a clean exit within 30 s.
fn stop(t: &Tickler, name: &str, mut child: Child) {
    let _ = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(status) = child.try_wait().expect("try_wait") {
            assert!(
                status.success(),
                "{name} exited with {status}:\n{}",
                log_of(t, name)
            );
            return;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!(
                "{name} did not stop within 30 s of SIGTERM:\n{}",
                log_of(t, name)
            );
        }
        thread::sleep(Duration::from_millis(50));
    }
}

/// Reminders per status, read straight from the database.
fn statuses(url: &str) -> HashMap<String, i64> {
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    runtime.block_on(async {
        let mut conn = PgConnection::connect(url).await.expect("connect");
        let rows: Vec<(String, i64)> =
            sqlx::query_as("SELECT status, COUNT(*) FROM reminders GROUP BY status")
                .fetch_all(&mut conn)
                .await
                .expect("count reminders");
        rows.into_iter().collect()
    })
}

/// Waits until every due email is recorded as sent (the records may trail the deliveries
/// while the processes retry them).
fn wait_until_all_sent(url: &str, due: usize, timeout: Duration) -> HashMap<String, i64> {
    let deadline = Instant::now() + timeout;
    loop {
        let counts = statuses(url);
        if counts.get("sent").copied().unwrap_or(0) >= due as i64 || Instant::now() > deadline {
            return counts;
        }
        thread::sleep(Duration::from_millis(200));
    }
}

/// Received messages: (total, distinct Message-IDs).
fn received_counts(smtp: &SmtpTestServer) -> (usize, usize) {
    let messages = smtp.messages();
    let mut ids: Vec<&str> = messages.iter().map(|m| m.message_id.as_str()).collect();
    ids.sort_unstable();
    ids.dedup();
    (messages.len(), ids.len())
}

/// None lost: every due email arrived and is recorded as sent, none is left claimed.
fn assert_every_email_sent(due: usize, distinct: usize, counts: &HashMap<String, i64>) {
    assert_eq!(distinct, due, "every email arrived");
    assert_eq!(counts.get("sent").copied(), Some(due as i64), "{counts:?}");
    assert_eq!(
        counts.get("sending"),
        None,
        "nothing left claimed: {counts:?}"
    );
}

#[test]
fn postgres_restarted_mid_batch_loses_nothing() {
    const DUE: usize = 1200;
    let pg = PrivatePostgres::start();
    // A slow mail server, so that the restart lands while messages are in flight.
    let smtp = SmtpTestServer::start_with_reply_delay(Duration::from_millis(15));
    let mut t = installation(&pg, &smtp, DUE);
    t.set_env("TICKLER_LEASE_SECONDS", "60");

    let mut dispatchers: Vec<(String, Child)> = (0..2)
        .map(|i| {
            let name = format!("dispatcher-{i}");
            let child = spawn(&t, &name, &["dispatch", "--now", DUE_AT]);
            (name, child)
        })
        .collect();
    smtp.wait_for_messages(DUE / 4, Duration::from_secs(120));
    pg.restart();
    let at_restart = smtp.messages().len();
    assert!(
        at_restart < DUE,
        "the restart came too late to test anything"
    );

    smtp.wait_for_messages(DUE, Duration::from_secs(180));
    let counts = wait_until_all_sent(&pg.url(), DUE, Duration::from_secs(120));
    for (name, child) in &mut dispatchers {
        assert_alive(&t, name, child);
    }
    let (received, distinct) = received_counts(&smtp);
    let logs: String = dispatchers
        .iter()
        .map(|(name, _)| log_of(&t, name))
        .collect();
    println!(
        "{DUE} due; PostgreSQL restarted after {at_restart} deliveries; received {received}, \
         distinct Message-IDs {distinct}, duplicates {}, lost {}; statuses {counts:?}; \
         {} database errors logged",
        received - distinct,
        DUE - distinct,
        logs.matches("database").count()
    );
    assert_every_email_sent(DUE, distinct, &counts);
    // A duplicate is possible only for a message accepted just as its connection was cut,
    // and then carries the same Message-ID: at most one per message in flight.
    assert!(
        received - distinct <= 2 * 8,
        "{} duplicates",
        received - distinct
    );
    for (name, child) in dispatchers {
        stop(&t, &name, child);
    }
}

#[test]
fn a_thirty_second_outage_is_ridden_out() {
    const DUE: usize = 800;
    const OUTAGE: Duration = Duration::from_secs(30);
    let pg = PrivatePostgres::start();
    let smtp = SmtpTestServer::start_with_reply_delay(Duration::from_millis(15));
    let mut t = installation(&pg, &smtp, DUE);
    // Long enough for a delivery's record to wait out the outage (it retries for half a lease).
    t.set_env("TICKLER_LEASE_SECONDS", "120");

    let port = tickler_testkit::free_port();
    let listen = format!("127.0.0.1:{port}");
    let mut serve = spawn(&t, "serve", &["serve", "--listen", &listen]);
    let mut dispatcher = spawn(&t, "dispatcher", &["dispatch", "--now", DUE_AT]);
    let deadline = Instant::now() + Duration::from_secs(30);
    while support::http_get(port, "/readyz").is_none() {
        assert!(
            Instant::now() < deadline,
            "serve did not start:\n{}",
            log_of(&t, "serve")
        );
        thread::sleep(Duration::from_millis(50));
    }

    smtp.wait_for_messages(DUE / 4, Duration::from_secs(120));
    pg.stop();
    let stopped_at = Instant::now();
    let at_stop = smtp.messages().len();
    assert!(at_stop < DUE, "the outage came too late to test anything");

    // During the outage: the web app stays up but says it is not ready.
    let health = support::http_get(port, "/healthz").expect("serve answers during the outage");
    assert!(
        health.starts_with("HTTP/1.1 200") && health.contains("database: unreachable"),
        "{health}"
    );
    let ready = support::http_get(port, "/readyz").expect("serve answers during the outage");
    assert!(ready.starts_with("HTTP/1.1 503"), "{ready}");
    thread::sleep(OUTAGE.saturating_sub(stopped_at.elapsed()));
    // Messages in flight at the stop still reach the mail server; their records wait.
    let during = smtp.messages().len() - at_stop;
    assert_alive(&t, "serve", &mut serve);
    assert_alive(&t, "dispatcher", &mut dispatcher);
    pg.start_server();

    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let ready = support::http_get(port, "/readyz").unwrap_or_default();
        if ready.starts_with("HTTP/1.1 200") {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "not ready again after the outage: {ready}"
        );
        thread::sleep(Duration::from_millis(200));
    }
    smtp.wait_for_messages(DUE, Duration::from_secs(180));
    let counts = wait_until_all_sent(&pg.url(), DUE, Duration::from_secs(120));
    let (received, distinct) = received_counts(&smtp);
    println!(
        "{DUE} due; database down {OUTAGE:?} after {at_stop} deliveries ({during} more \
         accepted by the mail server during the outage, recorded after it); received \
         {received}, distinct Message-IDs {distinct}, duplicates {}, lost {}; statuses \
         {counts:?}",
        received - distinct,
        DUE - distinct
    );
    assert_every_email_sent(DUE, distinct, &counts);
    assert_eq!(
        received, distinct,
        "no duplicates: each delivery's record waited for the database"
    );
    stop(&t, "serve", serve);
    stop(&t, "dispatcher", dispatcher);
}
