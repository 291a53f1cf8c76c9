//! Webhooks end to end: the real binary posts to real HTTP receivers (the documented
//! Python receiver, and a scriptable one that fails, keeps silent or is down), and the
//! documented recipes verify what it signed.

mod support;

use std::{
    collections::{BTreeMap, BTreeSet},
    io::BufRead,
    path::PathBuf,
    process::{Command, Stdio},
    time::Duration,
};

use jiff::{SignedDuration, Timestamp};
use serde_json::Value;
use support::{OWNER, Tickler};
use tickler_testkit::webhook_receiver::{Reply, WebhookReceiver};

/// `webhook add`: the id and the secret it prints.
fn add_webhook(t: &Tickler, url: &str, events: &str) -> (String, String) {
    let out = t.ok(&["webhook", "add", "--url", url, "--events", events]);
    let mut lines = out.lines();
    let id = lines.next().expect("the id").to_string();
    let secret = lines.next().expect("the secret").to_string();
    assert!(secret.starts_with("whsec_"), "{secret}");
    (id, secret)
}

/// A contract for `email` whose four emails are all still ahead (its end a year away).
fn contract_ahead(t: &Tickler, email: &str) -> String {
    let end = (Timestamp::now() + SignedDuration::from_hours(24 * 365))
        .to_zoned_datetime(jiff::tz::TimeZone::UTC)
        .date()
        .to_string();
    t.contract("en", "Europe/Berlin", email, &end)
}

/// An instant `minutes` from the wall clock's now, for `dispatch --once --now`.
fn in_minutes(minutes: i64) -> String {
    (Timestamp::now() + SignedDuration::from_mins(minutes)).to_string()
}

fn deliveries(t: &Tickler) -> Vec<Value> {
    t.json(&["webhook", "deliveries", "--json"])
        .as_array()
        .expect("a list")
        .clone()
}

fn docs(file: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../docs/webhooks")
        .join(file)
}

#[test]
fn the_documented_receiver_verifies_a_sent_reminder_and_the_shell_recipe_agrees() {
    let t = Tickler::new(None);
    let port = tickler_testkit::free_port();
    let (_, secret) = add_webhook(
        &t,
        &format!("http://127.0.0.1:{port}/tickler"),
        "contract.created,reminder.sent",
    );
    let mut receiver = Command::new("python3")
        .arg(docs("receiver.py"))
        .args([&port.to_string(), secret.as_str()])
        .stdout(Stdio::piped())
        .spawn()
        .expect("start the documented receiver");
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            std::time::Instant::now() < deadline,
            "the receiver did not start"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let contract = contract_ahead(&t, "it@acme.example");
    // The first email, 60 days before the end, is due in some 10 months.
    let first = t.reminders(&contract)[0]["send_at"]
        .as_str()
        .expect("a send time")
        .to_string();
    let due: Timestamp = first.parse().expect("an instant");
    let mut lines = std::io::BufReader::new(receiver.stdout.take().expect("stdout")).lines();
    let log = t.dispatch_at(&(due + SignedDuration::from_mins(1)).to_string());
    assert!(
        log.contains("webhooks delivered 2, retrying 0, failed 0"),
        "{log}"
    );
    // Events about different objects may arrive in any order.
    let mut events: Vec<Value> = (0..2)
        .map(|_| serde_json::from_str(&lines.next().unwrap().unwrap()).unwrap())
        .collect();
    let _ = receiver.kill();
    let _ = receiver.wait();
    events.sort_by_key(|e| e["type"].as_str().unwrap().to_string());
    let (created, sent) = (&events[0], &events[1]);
    assert_eq!(created["type"], "contract.created");
    assert_eq!(created["data"]["contract_id"].to_string(), contract);
    assert_eq!(created["data"]["title"], "PBX maintenance");
    assert_eq!(sent["type"], "reminder.sent");
    assert_eq!(sent["data"]["contract_id"].to_string(), contract);
    assert_eq!(sent["data"]["step"], "before_60");
    assert_eq!(sent["data"]["to"][0], "it@acme.example");
    assert_eq!(sent["data"]["cc"][0], OWNER);
    assert!(sent["id"].as_str().unwrap().starts_with("evt_"));
    for delivery in deliveries(&t) {
        assert_eq!(delivery["status"], "delivered", "{delivery}");
        assert_eq!(delivery["last_status"], 204, "{delivery}");
    }

    // The shell recipe checks a delivery as it came, and refuses it altered.
    let receiver = WebhookReceiver::start();
    let (_, secret) = add_webhook(&t, &receiver.url(), "reminder.skipped");
    let reminder = t.reminders(&contract)[1]["id"].to_string();
    t.ok(&["reminder", "skip", &reminder, "--reason", "phoned instead"]);
    t.dispatch_at(&in_minutes(1));
    let requests = receiver.wait_for(1, Duration::from_secs(10));
    let skipped = &requests[0];
    assert_eq!(skipped.header("tickler-event"), Some("reminder.skipped"));
    assert_eq!(skipped.json()["data"]["reason"], "phoned instead");
    let signature = skipped.header("tickler-signature").expect("signed");
    let body = t.dir().join("body.json");
    std::fs::write(&body, &skipped.body).unwrap();
    let verify = |secret: &str| {
        Command::new("sh")
            .arg(docs("verify.sh"))
            .args([secret, signature, body.to_str().unwrap()])
            .output()
            .expect("run verify.sh")
    };
    let good = verify(&secret);
    assert!(
        good.status.success(),
        "{}",
        String::from_utf8_lossy(&good.stderr)
    );
    assert!(!verify("whsec_not-the-secret").status.success());
    std::fs::write(
        &body,
        String::from_utf8_lossy(&skipped.body).replace("phoned", "mailed"),
    )
    .unwrap();
    assert!(!verify(&secret).status.success());
}

#[test]
fn failures_are_retried_in_order_per_subject_and_given_up_after_a_day() {
    let t = Tickler::new(None);
    let receiver = WebhookReceiver::start();
    add_webhook(&t, &receiver.url(), "reminder.scheduled,reminder.sent");
    // Of the five steps planned (four emails, a call for the owner), every first attempt
    // but one fails: two with 500, two with a receiver that never answers.
    receiver.script(&[
        Reply::Status(500),
        Reply::Status(500),
        Reply::Silence(Duration::from_secs(12)),
        Reply::Silence(Duration::from_secs(12)),
    ]);
    let contract = contract_ahead(&t, "it@acme.example");
    let log = t.dispatch_at(&in_minutes(1));
    assert!(
        log.contains("webhooks delivered 1, retrying 4, failed 0"),
        "{log}"
    );
    let pending = deliveries(&t);
    assert_eq!(pending.len(), 5);
    let timeouts = pending
        .iter()
        .filter(|d| d["last_error"] == "no answer within 10 s")
        .count();
    assert_eq!(timeouts, 2, "{pending:?}");

    // The first email falls due: its "sent" event must not overtake its "scheduled" one,
    // still waiting for its retry.
    let first = &t.reminders(&contract)[0];
    let due: Timestamp = first["send_at"].as_str().unwrap().parse().unwrap();
    let log = t.dispatch_at(&(due + SignedDuration::from_mins(1)).to_string());
    assert!(
        log.contains("webhooks delivered 5, retrying 0, failed 0"),
        "{log}"
    );
    let accepted: Vec<Value> = receiver
        .requests()
        .iter()
        .filter(|r| r.answered == Some(204))
        .map(|r| r.json())
        .collect();
    let position = |kind: &str| {
        accepted
            .iter()
            .position(|e| e["type"] == kind && e["data"]["reminder_id"] == first["id"])
            .unwrap_or_else(|| panic!("no {kind} for the first reminder in {accepted:?}"))
    };
    assert!(position("reminder.scheduled") < position("reminder.sent"));
    // Each event once (none of the failed attempts was accepted), and ids are unique.
    let ids: BTreeSet<String> = accepted
        .iter()
        .map(|e| e["id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(ids.len(), 6);

    // A receiver that keeps failing is given up on after 24 hours, then sent again by hand.
    let t = Tickler::new(None);
    let receiver = WebhookReceiver::start();
    add_webhook(&t, &receiver.url(), "contract.created");
    receiver.script(&[Reply::Status(503); 10]);
    contract_ahead(&t, "it@acme.example");
    t.dispatch_at(&in_minutes(1));
    let log = t.dispatch_at(&in_minutes(25 * 60));
    assert!(
        log.contains("webhooks delivered 0, retrying 0, failed 1"),
        "{log}"
    );
    let failed = t.json(&["webhook", "deliveries", "--status", "failed", "--json"]);
    assert_eq!(failed[0]["attempts"], 2, "{failed}");
    assert_eq!(failed[0]["last_status"], 503, "{failed}");
    receiver.script(&[]);
    let again = t.ok(&["webhook", "redeliver", &failed[0]["id"].to_string()]);
    let log = t.dispatch_at(&in_minutes(25 * 60 + 1));
    assert!(log.contains("webhooks delivered 1"), "{log}");
    let requests = receiver.requests();
    let last = requests.last().unwrap();
    assert_eq!(last.answered, Some(204));
    assert_eq!(
        last.header("tickler-event-id"),
        requests[0].header("tickler-event-id"),
        "a redelivery carries the event's id"
    );
    assert_eq!(
        last.header("tickler-delivery").map(str::to_string),
        Some(again)
    );
}

#[test]
fn a_receiver_down_for_a_while_loses_nothing() {
    let t = Tickler::new(None);
    let port = tickler_testkit::free_port();
    add_webhook(&t, &format!("http://127.0.0.1:{port}/hooks/tickler"), "*");
    contract_ahead(&t, "it@acme.example");
    contract_ahead(&t, "it@beta.example");
    let log = t.dispatch_at(&in_minutes(1));
    // Two contracts, each with five steps planned (four emails, a call).
    assert!(
        log.contains("webhooks delivered 0, retrying 12, failed 0"),
        "{log}"
    );
    assert!(
        deliveries(&t)[0]["last_error"]
            .as_str()
            .unwrap()
            .contains("could not connect"),
        "{:?}",
        deliveries(&t)
    );
    let receiver = WebhookReceiver::start_on(port);
    let log = t.dispatch_at(&in_minutes(3 * 60));
    assert!(
        log.contains("webhooks delivered 12, retrying 0, failed 0"),
        "{log}"
    );
    let kinds: BTreeMap<String, usize> =
        receiver
            .requests()
            .iter()
            .fold(BTreeMap::new(), |mut counts, request| {
                *counts
                    .entry(request.json()["type"].as_str().unwrap().to_string())
                    .or_default() += 1;
                counts
            });
    assert_eq!(kinds["contract.created"], 2);
    assert_eq!(kinds["reminder.scheduled"], 10);
}

#[test]
fn a_dispatcher_killed_mid_delivery_repeats_only_that_event_with_its_id() {
    let mut t = Tickler::new(None);
    t.use_short_leases();
    t.set_env("TICKLER_POLL_SECONDS", "1");
    let receiver = WebhookReceiver::start();
    add_webhook(&t, &receiver.url(), "contract.created,reminder.scheduled");
    // The first delivery hangs until the dispatcher is dead.
    receiver.script(&[Reply::Silence(Duration::from_secs(3))]);
    let spawn = || {
        t.command(&["dispatch"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start a dispatcher")
    };
    let mut dispatcher = spawn();
    contract_ahead(&t, "it@acme.example");
    // Six events (the contract and its five steps), posted together.
    let posted = receiver.wait_for(6, Duration::from_secs(20));
    assert_eq!(posted.len(), 6, "{posted:?}");
    let in_flight = posted
        .iter()
        .find(|r| r.answered.is_none())
        .and_then(|r| r.header("tickler-event-id"))
        .expect("the hanging request")
        .to_string();
    // The answered four are recorded at once; then kill -9, with no chance to record more.
    std::thread::sleep(Duration::from_secs(1));
    dispatcher.kill().expect("kill the dispatcher");
    let _ = dispatcher.wait();
    let mut dispatcher = spawn();
    let requests = receiver.wait_for(7, Duration::from_secs(30));
    std::thread::sleep(Duration::from_secs(1));
    let _ = dispatcher.kill();
    let _ = dispatcher.wait();
    let ids: Vec<&str> = requests
        .iter()
        .map(|r| r.header("tickler-event-id").unwrap())
        .collect();
    let distinct: BTreeSet<&str> = ids.iter().copied().collect();
    assert_eq!(distinct.len(), 6, "{ids:?}");
    // Only the event in flight came twice, under its own id, once its lease ran out.
    assert_eq!(ids.len(), 7, "{ids:?}");
    assert_eq!(ids[6], in_flight, "{ids:?}");
    for delivery in deliveries(&t) {
        assert_eq!(delivery["status"], "delivered", "{delivery}");
    }
}

/// The organisation's date `days` from today (UTC: the tests' organisation zone).
fn day(days: i64) -> String {
    (Timestamp::now() + SignedDuration::from_hours(24 * days))
        .to_zoned_datetime(jiff::tz::TimeZone::UTC)
        .date()
        .to_string()
}

fn counts_by_type(receiver: &WebhookReceiver) -> BTreeMap<String, usize> {
    receiver
        .requests()
        .iter()
        .filter(|r| r.answered == Some(204))
        .fold(BTreeMap::new(), |mut counts, request| {
            *counts
                .entry(request.json()["type"].as_str().unwrap().to_string())
                .or_default() += 1;
            counts
        })
}

#[test]
fn ends_that_pass_and_invoices_that_fall_due_are_announced_once() {
    let mut t = Tickler::new(None);
    t.set_env("TICKLER_TIME_ZONE", "UTC");
    let receiver = WebhookReceiver::start();
    add_webhook(
        &t,
        &receiver.url(),
        "contract.expired,invoice.issued,invoice.overdue,invoice.paid",
    );
    let customer = t.customer("Acme Corporation", "it@acme.example", "en", "UTC");
    let ended = t.ok(&[
        "contract",
        "add",
        "--customer",
        &customer,
        "--title",
        "Old support",
        "--start",
        &day(-400),
        "--end",
        &day(-3),
    ]);
    let sale = t.ok(&[
        "contract",
        "add",
        "--customer",
        &customer,
        "--title",
        "Hosting",
        "--start",
        &day(0),
        "--end",
        &day(365),
        "--bill-every",
        "1m",
        "--payment-days",
        "10",
        "--amount",
        "100.00",
        "--currency",
        "EUR",
        "--line",
        "Hosting|1|100.00|0",
    ]);
    t.dispatch_at(&in_minutes(1));
    let invoices = t.json(&["invoice", "list", "--contract", &sale, "--json"]);
    let invoice = &invoices[0];
    let due = invoice["due_date"]
        .as_str()
        .expect("a due date")
        .to_string();
    // The day after the due date, twice: announced once.
    let after_due = format!(
        "{}T12:00:00Z",
        jiff::civil::Date::strptime("%F", &due)
            .unwrap()
            .tomorrow()
            .unwrap()
    );
    t.dispatch_at(&after_due);
    t.dispatch_at(&after_due);
    t.ok(&[
        "invoice",
        "pay",
        &invoice["id"].to_string(),
        "--amount",
        "100.00",
    ]);
    t.dispatch_at(&after_due);
    let counts = counts_by_type(&receiver);
    assert_eq!(counts.get("contract.expired"), Some(&1), "{counts:?}");
    assert_eq!(counts.get("invoice.issued"), Some(&1), "{counts:?}");
    assert_eq!(counts.get("invoice.overdue"), Some(&1), "{counts:?}");
    assert_eq!(counts.get("invoice.paid"), Some(&1), "{counts:?}");
    let requests = receiver.requests();
    let expired = requests
        .iter()
        .map(|r| r.json())
        .find(|e| e["type"] == "contract.expired")
        .unwrap();
    assert_eq!(expired["data"]["contract_id"].to_string(), ended);
    assert_eq!(expired["data"]["on"], day(-3));
    let overdue = requests
        .iter()
        .map(|r| r.json())
        .find(|e| e["type"] == "invoice.overdue")
        .unwrap();
    assert_eq!(overdue["data"]["invoice_id"], invoice["id"]);
    assert_eq!(overdue["data"]["due_date"], due.as_str());
}
