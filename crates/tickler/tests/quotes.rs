//! Renewal quotes end to end: the real binary, a real SQLite file (or PostgreSQL with
//! `TICKLER_TEST_BACKEND=postgres`), the real SMTP test server, time driven by
//! `dispatch --once --now`. Quotes are dated by the real clock (the CLI has no `--now`), so
//! the contracts here lie years ahead.

mod support;

use std::time::Duration;

use jiff::{SignedDuration, Timestamp, ToSpan};
use serde_json::Value;
use support::{OWNER, Tickler, field};
use tickler_testkit::{ReceivedMessage, SmtpTestServer, pdf_text};

const WAIT: Duration = Duration::from_secs(20);
const PUBLIC_URL: &str = "https://tickler.example";

fn tickler(smtp: &SmtpTestServer) -> Tickler {
    let mut t = Tickler::with_smtp(smtp);
    t.set_env("TICKLER_PUBLIC_URL", PUBLIC_URL);
    t.owner();
    t
}

fn customer(t: &Tickler) -> String {
    t.ok(&[
        "customer",
        "add",
        "--name",
        "Bramble Dairy Ltd",
        "--email",
        "accounts@bramble.example",
        "--language",
        "en",
        "--time-zone",
        "Europe/London",
    ])
}

/// A monthly sale of 100.00 + 24% VAT through 2030.
fn monthly_sale(t: &Tickler, customer: &str) -> String {
    t.ok(&[
        "contract",
        "add",
        "--customer",
        customer,
        "--title",
        "Cold store monitoring",
        "--start",
        "2030-01-01",
        "--cycles",
        "12",
        "--owner",
        OWNER,
        "--currency",
        "EUR",
        "--bill-every",
        "1m",
        "--line",
        "Monitoring|1|100|24",
    ])
}

/// A yearly contract of 1,200.00 through 2030, not invoiced by Tickler.
fn yearly_contract(t: &Tickler, customer: &str, amount: &str) -> String {
    t.ok(&[
        "contract",
        "add",
        "--customer",
        customer,
        "--title",
        "Boiler service",
        "--start",
        "2030-01-01",
        "--end",
        "2030-12-31",
        "--owner",
        OWNER,
        "--amount",
        amount,
        "--currency",
        "EUR",
    ])
}

fn list(value: Value) -> Vec<Value> {
    match value {
        Value::Array(list) => list,
        other => panic!("not a list: {other}"),
    }
}

fn soon() -> String {
    (Timestamp::now() + SignedDuration::from_secs(60)).to_string()
}

fn today_plus(days: i64) -> String {
    Timestamp::now()
        .to_zoned_datetime(jiff::tz::TimeZone::UTC)
        .date()
        .checked_add(days.days())
        .unwrap()
        .to_string()
}

fn open_tasks(t: &Tickler, contract: &str) -> Vec<tickler_store::tasks::Task> {
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    runtime.block_on(async {
        let store = tickler_store::Store::open(&t.database_url())
            .await
            .expect("open the store");
        let mut db = store.conn().await.expect("connection");
        tickler_store::tasks::list(
            &mut db,
            &tickler_store::tasks::TaskFilter {
                contract_id: Some(contract.parse().expect("id")),
                ..Default::default()
            },
        )
        .await
        .expect("tasks")
    })
}

fn quote_messages(smtp: &SmtpTestServer) -> Vec<ReceivedMessage> {
    smtp.messages()
        .into_iter()
        .filter(|m| m.subject.contains("Renewal quote"))
        .collect()
}

#[test]
fn a_quote_copies_the_sale_goes_out_with_its_pdf_and_links_and_its_acceptance_starts_the_next_term()
{
    let smtp = SmtpTestServer::start();
    let t = tickler(&smtp);
    let customer = customer(&t);
    let sale = monthly_sale(&t, &customer);

    // Defaults: the current term's length, lines and billing; 30 days of validity.
    let copied = t.ok(&["quote", "create", "--contract", &sale]);
    let shown = t.json(&["quote", "show", &copied, "--json"]);
    assert_eq!(shown["status"], "draft");
    assert_eq!(shown["contract_id"].as_i64().unwrap().to_string(), sale);
    assert_eq!(shown["term_start"], "2031-01-01");
    assert_eq!(shown["term_end"], "2031-12-31");
    assert_eq!(shown["lines"][0]["description"], "Monitoring");
    assert_eq!(shown["lines"].as_array().unwrap().len(), 1);
    assert_eq!(shown["billing"]["every"], "1m");
    assert_eq!(shown["total"], "124.00");
    assert_eq!(shown["currency"], "EUR");
    assert_eq!(shown["next_term_id"], Value::Null);
    let accept_url = field(&shown, "accept_url").to_string();
    let decline_url = field(&shown, "decline_url").to_string();
    assert!(accept_url.starts_with("https://tickler.example/answer/"));
    assert_ne!(accept_url, decline_url);
    let valid_until: jiff::civil::Date = field(&shown, "valid_until").parse().unwrap();
    assert_eq!(valid_until.to_string(), today_plus(30));

    // The offer the customer accepts: a new price, a longer term.
    let quote = t.ok(&[
        "quote",
        "create",
        "--contract",
        &sale,
        "--end",
        "2032-06-30",
        "--line",
        "Monitoring 2031|1|110|24",
        "--bill-every",
        "1m",
    ]);
    t.ok(&["quote", "send", &quote]);
    t.ok(&["quote", "send", &copied]);
    t.dispatch_at(&soon());
    let received = smtp.wait_for_messages(2, WAIT);
    assert_eq!(received.len(), 2, "only the two quotes are due");
    let number = format!("Q-{quote}");
    let message = quote_messages(&smtp)
        .into_iter()
        .find(|m| m.subject.contains(&number))
        .expect("the quote's email");
    assert_eq!(message.to, vec!["accounts@bramble.example".to_string()]);
    assert_eq!(message.cc, vec![OWNER.to_string()]);
    let view = t.json(&["quote", "show", &quote, "--json"]);
    for url in [field(&view, "accept_url"), field(&view, "decline_url")] {
        assert!(message.body.contains(url), "{url} in\n{}", message.body);
    }
    assert!(message.body.contains("€136.40"), "{}", message.body);
    let attachments = message.attachments();
    assert_eq!(attachments.len(), 1, "the PDF");
    let (name, content_type, bytes) = &attachments[0];
    assert_eq!(name, &format!("{number}.pdf"));
    assert_eq!(content_type, "application/pdf");
    if let Some(text) = pdf_text(bytes) {
        assert!(text.contains(&number), "{text}");
        assert!(text.contains("Monitoring 2031"), "{text}");
        assert!(text.contains("136.40"), "{text}");
        assert!(text.contains("Bramble Dairy"), "{text}");
    }

    // Accepted: the next term comes from the quote, linked to it and to the term it renews.
    t.ok(&["quote", "accept", &quote]);
    let contract = t.json(&["contract", "show", &sale, "--json"]);
    let terms = contract["terms"].as_array().unwrap();
    assert_eq!(terms.len(), 2, "{contract}");
    assert_eq!(terms[1]["quote_id"].as_i64().unwrap().to_string(), quote);
    assert_eq!(terms[1]["previous_term_id"], terms[0]["id"]);
    assert_eq!(terms[1]["start"], "2031-01-01");
    assert_eq!(terms[1]["end"], "2032-06-30");
    assert_eq!(contract["contract"]["end_date"], "2032-06-30");
    let accepted = t.json(&["quote", "show", &quote, "--json"]);
    assert_eq!(accepted["status"], "accepted");
    assert_eq!(accepted["next_term_id"], terms[1]["id"]);
    // The new term's emails are scheduled.
    let new_term: Vec<Value> = t
        .reminders(&sale)
        .into_iter()
        .filter(|r| r["term_number"] == 2 && r["status"] == "scheduled")
        .collect();
    assert!(!new_term.is_empty(), "the next term's reminders");

    // A second acceptance, a decline after it, and the other quote of the same term are
    // refused, and change nothing.
    let again = t.fails(&["quote", "accept", &quote]);
    assert!(again.contains("already accepted"), "{again}");
    let declined = t.fails(&["quote", "decline", &quote]);
    assert!(declined.contains("accepted"), "{declined}");
    let stale = t.fails(&["quote", "accept", &copied]);
    assert!(stale.contains("was renewed"), "{stale}");
    let contract = t.json(&["contract", "show", &sale, "--json"]);
    assert_eq!(contract["terms"].as_array().unwrap().len(), 2);
    assert_eq!(
        t.json(&["quote", "show", &copied, "--json"])["status"],
        "sent"
    );

    // The next term is invoiced with the quote's line.
    t.dispatch_at("2031-01-01T12:00:00Z");
    let invoices = list(t.json(&["invoice", "list", "--contract", &sale, "--json"]));
    let first_of_new_term: Vec<&Value> = invoices
        .iter()
        .filter(|i| i["period_start"] == "2031-01-01")
        .collect();
    assert_eq!(first_of_new_term.len(), 1, "{invoices:?}");
    assert_eq!(first_of_new_term[0]["total"], "136.40");

    let listed = list(t.json(&["quote", "list", "--contract", &sale, "--json"]));
    assert_eq!(listed.len(), 2);
    for q in &listed {
        for key in [
            "id",
            "contract_id",
            "status",
            "valid_until",
            "currency",
            "total",
            "accept_url",
            "decline_url",
            "next_term_id",
        ] {
            assert!(q.get(key).is_some(), "{key} in {q}");
        }
    }
    let accepted_only = list(t.json(&["quote", "list", "--status", "accepted", "--json"]));
    assert_eq!(accepted_only.len(), 1);
}

#[test]
fn declined_and_expired_quotes_cannot_be_accepted_and_bad_requests_change_nothing() {
    let smtp = SmtpTestServer::start();
    let t = tickler(&smtp);
    let customer = customer(&t);
    let yearly = yearly_contract(&t, &customer, "1200.00");

    // Not a recurring sale: one line of the contract's amount, no billing.
    let declined = t.ok(&["quote", "create", "--contract", &yearly]);
    let shown = t.json(&["quote", "show", &declined, "--json"]);
    assert_eq!(shown["billing"], Value::Null);
    assert_eq!(shown["lines"][0]["description"], "Boiler service");
    assert_eq!(shown["total"], "1200.00");
    let draft = t.fails(&["quote", "accept", &declined]);
    assert!(draft.contains("draft"), "{draft}");
    t.ok(&["quote", "send", &declined]);
    t.ok(&["quote", "decline", &declined, "--reason", "budget frozen"]);
    let shown = t.json(&["quote", "show", &declined, "--json"]);
    assert_eq!(shown["status"], "declined");
    assert_eq!(shown["decline_reason"], "budget frozen");
    let err = t.fails(&["quote", "accept", &declined]);
    assert!(err.contains("declined"), "{err}");

    // Valid through tomorrow; expired by the dispatcher the day after.
    let expiring = t.ok(&[
        "quote",
        "create",
        "--contract",
        &yearly,
        "--valid-until",
        &today_plus(1),
        "--line",
        "Boiler service 2031|1|1300|24",
    ]);
    t.ok(&["quote", "send", &expiring]);
    t.dispatch_at(&format!("{}T12:00:00Z", today_plus(1)));
    assert_eq!(
        t.json(&["quote", "show", &expiring, "--json"])["status"],
        "sent"
    );
    t.dispatch_at(&format!("{}T12:00:00Z", today_plus(3)));
    let shown = t.json(&["quote", "show", &expiring, "--json"]);
    assert_eq!(shown["status"], "expired");
    assert!(
        shown["events"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["action"] == "expired"),
        "{shown}"
    );
    let err = t.fails(&["quote", "accept", &expiring]);
    assert!(err.contains("expired"), "{err}");
    // The owner's follow-up task, read through the store (no `task` command on this branch).
    let tasks = open_tasks(&t, &yearly);
    assert_eq!(tasks.len(), 1, "{tasks:?}");
    let task = &tasks[0];
    assert_eq!(
        task.title,
        format!("Quote Q-{expiring} expired: follow up with Bramble Dairy Ltd")
    );
    assert_eq!(task.source, format!("quote_expired:{expiring}"));
    assert_eq!(task.due_date.to_string(), today_plus(2));
    assert!(task.owner_id.is_some());
    // A second run makes no second task.
    t.dispatch_at(&format!("{}T13:00:00Z", today_plus(3)));
    assert_eq!(open_tasks(&t, &yearly).len(), 1);
    let contract = t.json(&["contract", "show", &yearly, "--json"]);
    assert_eq!(contract["terms"].as_array().unwrap().len(), 1);

    // No lines: nothing to send.
    let free = yearly_contract(&t, &customer, "0");
    let empty = t.ok(&["quote", "create", "--contract", &free]);
    let err = t.fails(&["quote", "send", &empty]);
    assert!(err.contains("at least one line"), "{err}");
    assert_eq!(
        t.json(&["quote", "show", &empty, "--json"])["status"],
        "draft"
    );

    // The current term's end moved after the quote was sent: it no longer follows it.
    let moved = t.ok(&["quote", "create", "--contract", &yearly]);
    t.ok(&["quote", "send", &moved]);
    t.ok(&["contract", "edit", &yearly, "--end", "2031-03-31"]);
    let err = t.fails(&["quote", "accept", &moved]);
    assert!(err.contains("no longer follows"), "{err}");
    t.ok(&["quote", "decline", &moved]);

    // A contract that does not exist, a terminated one.
    let err = t.fails(&["quote", "create", "--contract", "9999"]);
    assert!(err.contains("contract 9999 does not exist"), "{err}");
    let pending = t.ok(&["quote", "create", "--contract", &yearly]);
    t.ok(&["quote", "send", &pending]);
    t.ok(&[
        "contract",
        "terminate",
        &yearly,
        "--reason",
        "sold the site",
    ]);
    let err = t.fails(&["quote", "accept", &pending]);
    assert!(err.contains("terminated"), "{err}");
    let err = t.fails(&["quote", "create", "--contract", &yearly]);
    assert!(err.contains("terminated"), "{err}");
    assert_eq!(
        list(t.json(&["quote", "list", "--contract", &yearly, "--json"])).len(),
        4
    );
}
