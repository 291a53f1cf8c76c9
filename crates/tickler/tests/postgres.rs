//! Several processes on one PostgreSQL database: each timed email goes out exactly once, and
//! health checks tell when the database is gone. Each test gets a fresh database; with `CI`
//! set, a missing server is a failure, not a skip.

mod support;

use std::{process::Stdio, time::Duration};

use sqlx::{Connection, Executor, PgConnection};
use support::Tickler;
use tickler_testkit::{SmtpTestServer, postgres::FreshDatabase};

/// A fresh database for one test; `None` (skip) when no server answers outside CI.
fn fresh_database() -> Option<FreshDatabase> {
    FreshDatabase::create("tickler_cli")
}

fn on_postgres(smtp: Option<&SmtpTestServer>, db: &FreshDatabase) -> Tickler {
    let mut t = Tickler::new(smtp.map(SmtpTestServer::url));
    t.set_env("TICKLER_DATABASE_URL", db.url());
    t
}

#[test]
fn three_dispatchers_send_each_timed_email_exactly_once() {
    let contracts: usize = std::env::var("TICKLER_SCALE_TEST_CONTRACTS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(10_000);
    let Some(db) = fresh_database() else { return };
    let smtp = SmtpTestServer::start();
    let t = on_postgres(Some(&smtp), &db);
    support::import_contracts_due_together(&t, contracts);

    // Only the 60-day step of every contract is due: one message per contract.
    let dispatchers: Vec<_> = (0..3)
        .map(|_| {
            t.command(&["dispatch", "--once", "--now", "2027-05-02T12:00:00Z"])
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .expect("dispatch")
        })
        .collect();
    let mut sent_by_process = Vec::new();
    for dispatcher in dispatchers {
        let out = dispatcher.wait_with_output().unwrap();
        let report = String::from_utf8_lossy(&out.stderr).to_string();
        assert!(out.status.success(), "{report}");
        let sent: usize = report
            .lines()
            .find_map(|line| {
                line.strip_prefix("claimed ")?
                    .split(", sent ")
                    .nth(1)?
                    .split(',')
                    .next()?
                    .parse()
                    .ok()
            })
            .unwrap_or_else(|| panic!("no report in {report}"));
        sent_by_process.push(sent);
    }
    let received = smtp.wait_for_messages(contracts, Duration::from_secs(120));
    let mut ids: Vec<&str> = received.iter().map(|m| m.message_id.as_str()).collect();
    ids.sort_unstable();
    ids.dedup();
    println!(
        "{contracts} due; sent per process {sent_by_process:?}; received {}, distinct Message-IDs {}",
        received.len(),
        ids.len()
    );
    assert_eq!(
        sent_by_process.iter().sum::<usize>(),
        contracts,
        "each claimed by exactly one process"
    );
    assert_eq!(received.len(), contracts, "none lost, none twice");
    assert_eq!(ids.len(), contracts);
    assert!(
        sent_by_process.iter().filter(|&&n| n > 0).count() >= 2,
        "the work was shared: {sent_by_process:?}"
    );
}

#[test]
fn readiness_follows_the_database() {
    let Some(db) = fresh_database() else { return };
    let t = on_postgres(None, &db);
    t.ok(&["migrate"]);
    let port = tickler_testkit::free_port();
    let mut serve = t
        .command(&["serve", "--listen", &format!("127.0.0.1:{port}")])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("serve");
    let get = |path: &str| support::http_get(port, path);
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    let ready = loop {
        if let Some(response) = get("/readyz") {
            break response;
        }
        assert!(std::time::Instant::now() < deadline, "serve did not start");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(ready.starts_with("HTTP/1.1 200"), "{ready}");

    db.drop_now();
    let not_ready = get("/readyz").expect("an answer");
    assert!(not_ready.starts_with("HTTP/1.1 503"), "{not_ready}");
    let health = get("/healthz").expect("an answer");
    assert!(
        health.starts_with("HTTP/1.1 200") && health.contains("database: unreachable"),
        "{health}"
    );
    // Anyone may ask: the answer names no database, host or user (those go to the log).
    let database_name = db.url().rsplit('/').next().unwrap_or_default().to_string();
    let body = |response: &str| {
        response
            .split("\r\n\r\n")
            .nth(1)
            .unwrap_or_default()
            .to_string()
    };
    assert_eq!(
        body(&health),
        "ok\ndatabase: unreachable\nmail: ok\n",
        "{health}"
    );
    assert_eq!(body(&not_ready), "not ready: database unreachable\n");
    assert!(!health.contains(&database_name), "{health}");
    let _ = std::process::Command::new("kill")
        .args(["-TERM", &serve.id().to_string()])
        .status();
    let _ = serve.wait();
}

#[test]
fn one_of_three_dispatchers_killed_mid_batch_loses_nothing() {
    const DUE: usize = 1500;
    let Some(db) = fresh_database() else { return };
    let smtp = SmtpTestServer::start_with_reply_delay(Duration::from_millis(10));
    let mut t = on_postgres(Some(&smtp), &db);
    t.use_short_leases();
    support::import_contracts_due_together(&t, DUE);

    let mut dispatchers: Vec<_> = (0..3)
        .map(|_| {
            t.command(&["dispatch", "--once", "--now", "2027-05-02T12:00:00Z"])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("dispatch")
        })
        .collect();
    smtp.wait_for_messages(DUE / 5, Duration::from_secs(120));
    dispatchers[0].kill().expect("SIGKILL");
    for dispatcher in &mut dispatchers {
        let _ = dispatcher.wait();
    }
    // The survivors finished their own claims; the dead one's come back once its lease ends.
    support::wait_out_short_leases();
    t.dispatch_at("2027-05-02T12:02:00Z");
    let received = smtp.wait_for_messages(DUE, Duration::from_secs(120));
    std::thread::sleep(Duration::from_millis(300));
    let received = if smtp.messages().len() > received.len() {
        smtp.messages()
    } else {
        received
    };
    let mut ids: Vec<&str> = received.iter().map(|m| m.message_id.as_str()).collect();
    ids.sort_unstable();
    ids.dedup();
    let duplicates = received.len() - ids.len();
    println!(
        "{DUE} due; one of three dispatchers killed; {} received, {} distinct, {duplicates} duplicates, 0 lost",
        received.len(),
        ids.len()
    );
    assert_eq!(ids.len(), DUE, "none lost");
    assert!(
        duplicates <= 8,
        "only messages in flight at the kill may repeat: {duplicates}"
    );
}

/// A dispatcher that would otherwise sleep for an hour wakes as soon as another process
/// schedules work or saves settings: PostgreSQL's LISTEN/NOTIFY between instances.
#[test]
fn an_idle_dispatcher_wakes_on_notifications_from_other_instances() {
    let Some(db) = fresh_database() else { return };
    let smtp = SmtpTestServer::start();
    let mut t = on_postgres(Some(&smtp), &db);
    t.set_env("TICKLER_POLL_SECONDS", "3600");
    let contract = t.contract("en", "Europe/Athens", "it@acme.example", "2027-06-30");
    let before_60 = t.reminder(&contract, "before_60", 1)["id"].to_string();
    let before_30 = t.reminder(&contract, "before_30", 1)["id"].to_string();

    t.set_env("TICKLER_LOG", "info,tickler_engine::dispatch=debug");
    let log_path = t.dir().join("dispatcher.log");
    let mut dispatcher = t
        .command(&["dispatch"])
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log_path).expect("log file"))
        .spawn()
        .expect("dispatch");
    let log = || std::fs::read_to_string(&log_path).unwrap_or_default();
    let wait_for_log = |text: &str| {
        let deadline = std::time::Instant::now() + Duration::from_secs(60);
        while !log().contains(text) {
            assert!(
                std::time::Instant::now() < deadline,
                "the dispatcher never logged \"{text}\":\n{}",
                log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    };
    wait_for_log("listening for notifications from other instances");

    // Another process moves an email to two seconds from now.
    let soon = |seconds: i64| {
        jiff::Timestamp::now()
            .checked_add(jiff::SignedDuration::from_secs(seconds))
            .expect("in range")
            .to_string()
    };
    t.ok(&["reminder", "edit", &before_60, "--send-at", &soon(2)]);
    wait_for_log("notified of new or changed due work");
    let first = smtp.wait_for_messages(1, Duration::from_secs(60));
    assert_eq!(first.len(), 1);

    // Another instance saves the organisation's name: this one applies it at once.
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    runtime.block_on(async {
        let mut conn = PgConnection::connect(db.url()).await.expect("connect");
        conn.execute(
            "INSERT INTO settings (setting_key, value, updated_at) \
             VALUES ('organisation_name', 'Renamed Maintenance GmbH', 0)",
        )
        .await
        .expect("save a setting");
    });
    wait_for_log("settings changed by another instance: reloaded");
    t.ok(&["reminder", "edit", &before_30, "--send-at", &soon(2)]);
    let both = smtp.wait_for_messages(2, Duration::from_secs(60));
    assert!(
        both[1].body.contains("Renamed Maintenance GmbH"),
        "the new name is used:\n{}",
        both[1].body
    );

    let _ = std::process::Command::new("kill")
        .args(["-TERM", &dispatcher.id().to_string()])
        .status();
    assert!(dispatcher.wait().unwrap().success(), "{}", log());
}

#[test]
fn three_dispatchers_number_invoices_gapless_and_bill_each_period_once() {
    let Some(db) = fresh_database() else { return };
    let t = on_postgres(None, &db);
    t.ok(&[
        "user",
        "add",
        "--email",
        support::OWNER,
        "--name",
        "Sam Sales",
    ]);
    let sales = 30;
    for i in 0..sales {
        let customer = t.ok(&[
            "customer",
            "add",
            "--name",
            &format!("Customer {i}"),
            "--email",
            &format!("c{i}@acme.example"),
        ]);
        t.ok(&[
            "contract",
            "add",
            "--customer",
            &customer,
            "--title",
            "Hosting",
            "--start",
            "2027-01-01",
            "--cycles",
            "4",
            "--currency",
            "EUR",
            "--bill-every",
            "1m",
            "--line",
            "Hosting|1|50|24",
        ]);
    }
    let dispatchers: Vec<_> = (0..3)
        .map(|_| {
            t.command(&["dispatch", "--once", "--now", "2027-04-02T12:00:00Z"])
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .expect("dispatch")
        })
        .collect();
    for dispatcher in dispatchers {
        let out = dispatcher.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let invoices = match t.json(&["invoice", "list", "--json"]) {
        serde_json::Value::Array(list) => list,
        other => panic!("not a list: {other}"),
    };
    assert_eq!(invoices.len(), sales * 4, "each period billed exactly once");
    let mut sequences: Vec<u32> = invoices
        .iter()
        .map(|invoice| {
            let number = invoice["number"].as_str().expect("issued with a number");
            number
                .strip_prefix("INV-2027-")
                .and_then(|n| n.parse().ok())
                .unwrap_or_else(|| panic!("{number}"))
        })
        .collect();
    sequences.sort_unstable();
    let expected: Vec<u32> = (1..=(sales * 4) as u32).collect();
    assert_eq!(sequences, expected, "gapless, none twice");
}
