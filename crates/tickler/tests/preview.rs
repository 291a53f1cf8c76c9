//! `tickler preview` end to end: the real binary, a real SQLite file (or PostgreSQL with
//! `TICKLER_TEST_BACKEND=postgres`) and the real SMTP test server. What the preview lists
//! over a window is what `dispatch` then sends over it, walked through with
//! `dispatch --once --now` at each listed instant.

mod support;

use std::{collections::BTreeSet, time::Duration};

use serde_json::Value;
use support::{OWNER, Tickler, field, monthly_sale};
use tickler_testkit::SmtpTestServer;

const WAIT: Duration = Duration::from_secs(20);
const OLGA: &str = "olga.owner@firm.example";
/// The instant before the window: the dispatcher has run until then.
const BEFORE: &str = "2027-01-24T23:59:59Z";
/// The last instant of the window 2027-01-25 to 2027-03-05 (the organisation's zone: UTC).
const LAST: &str = "2027-03-05T23:59:59.999Z";

fn list(value: Value) -> Vec<Value> {
    match value {
        Value::Array(list) => list,
        other => panic!("not a list: {other}"),
    }
}

fn strings(value: &Value) -> Vec<String> {
    let mut list: Vec<String> = value
        .as_array()
        .unwrap_or_else(|| panic!("not a list: {value}"))
        .iter()
        .map(|a| a.as_str().expect("an address").to_lowercase())
        .collect();
    list.sort();
    list
}

/// What an email is, as the preview, the reminder list and the mail server can all say:
/// (send instant, to, cc, subject line).
type Email = (String, Vec<String>, Vec<String>, String);

fn email(item: &Value) -> Email {
    (
        field(item, "send_at").to_string(),
        strings(&item["to"]),
        strings(&item["cc"]),
        field(item, "subject").to_string(),
    )
}

/// An item's contract id as `contract add` printed it.
fn contract_of(item: &Value) -> String {
    item["contract_id"]
        .as_i64()
        .map_or(String::new(), |id| id.to_string())
}

fn sorted<T: Ord>(mut list: Vec<T>) -> Vec<T> {
    list.sort();
    list
}

/// The renewal plan with its 30-day email waiting for approval.
fn approval_plan(t: &Tickler) {
    let mut renewal = t.json(&["plan", "show", "renewal", "--json"]);
    for step in renewal["steps"].as_array_mut().expect("steps") {
        if step["key"] == "before_30" {
            step["mode"] = Value::from("approval");
        }
    }
    let file = t.dir().join("approval.json");
    std::fs::write(&file, renewal.to_string()).expect("write the plan");
    t.ok(&[
        "plan",
        "add",
        "--name",
        "approval renewal",
        "--steps",
        file.to_str().expect("a UTF-8 path"),
    ]);
}

struct Installation {
    tokyo: String,
    new_york: String,
    auto: String,
    sale: String,
    renewed: String,
    monthly: String,
}

/// Two owners; contracts in Tokyo, New York and UTC (one renewing by itself on 2027-02-20,
/// one renewed by hand), a plan step waiting for approval, and a directly issued monthly sale
/// in Athens from 2027-02-01.
fn installation(t: &Tickler) -> Installation {
    t.ok(&["user", "add", "--email", OWNER, "--name", "Sam Sales"]);
    t.ok(&["user", "add", "--email", OLGA, "--name", "Olga Owner"]);
    approval_plan(t);
    let contract = |customer: &str, title: &str, end: &str, owner: &str, extra: &[&str]| {
        let start = if end == "2027-02-10" {
            "2027-01-11"
        } else {
            "2026-03-01"
        };
        let mut args = vec![
            "contract",
            "add",
            "--customer",
            customer,
            "--title",
            title,
            "--start",
            start,
            "--end",
            end,
            "--owner",
            owner,
        ];
        args.extend_from_slice(extra);
        t.ok(&args)
    };
    let tokyo_customer = t.customer("東京商事", "ops@tokyo.example", "ja", "Asia/Tokyo");
    let tokyo = contract(&tokyo_customer, "PBX 保守", "2027-03-31", OWNER, &[]);
    let renewed = contract(&tokyo_customer, "Router care", "2027-02-28", OWNER, &[]);
    t.ok(&["contract", "renew", &renewed]);
    let ny_customer = t.customer("Acme NY", "it@ny.example", "en", "America/New_York");
    let new_york = contract(
        &ny_customer,
        "Network care",
        "2027-03-15",
        OLGA,
        &["--plan", "approval renewal"],
    );
    let utc_customer = t.customer("Auto Ltd", "ops@auto.example", "en", "UTC");
    let auto = contract(
        &utc_customer,
        "Hosting",
        "2027-02-20",
        OLGA,
        &[
            "--renewal",
            "auto",
            "--notice-days",
            "30",
            "--plan",
            "renewal",
        ],
    );
    // A month-long term renewing by itself on 2027-02-11: its next term's 7-day email falls
    // in the window.
    let monthly = contract(
        &utc_customer,
        "Backups",
        "2027-02-10",
        OLGA,
        &[
            "--renewal",
            "auto",
            "--notice-days",
            "10",
            "--plan",
            "renewal",
        ],
    );
    let athens = t.customer("Αλφα Α.Ε.", "accounts@alfa.example", "el", "Europe/Athens");
    let sale = monthly_sale(t, &athens, "Υποστήριξη", "2027-02-01", 3);
    Installation {
        tokyo,
        new_york,
        auto,
        sale,
        renewed,
        monthly,
    }
}

fn preview(t: &Tickler, extra: &[&str]) -> Vec<Value> {
    let mut args = vec![
        "preview",
        "--from",
        "2027-01-25",
        "--to",
        "2027-03-05",
        "--json",
    ];
    args.extend_from_slice(extra);
    list(t.json(&args))
}

fn reminder_id(t: &Tickler, contract: &str, step: &str, term: i64) -> i64 {
    t.reminder(contract, step, term)["id"]
        .as_i64()
        .expect("an id")
}

#[test]
fn what_preview_lists_is_exactly_what_dispatch_sends_over_the_window() {
    let smtp = SmtpTestServer::start();
    let t = Tickler::with_smtp(&smtp);
    let made = installation(&t);
    // The dispatcher has run until the window opens.
    t.dispatch_at(BEFORE);
    let before = smtp.wait_for_messages(1, WAIT).len();
    let before = {
        std::thread::sleep(Duration::from_millis(500));
        smtp.messages().len().max(before)
    };

    let planned = preview(&t, &["--now", BEFORE]);
    let by_step = |contract: &str, step: &str| -> Vec<&Value> {
        planned
            .iter()
            .filter(|i| contract_of(i) == contract && i["step"] == step)
            .collect()
    };

    // Each field the contract promises, on the Tokyo contract's 60-day email.
    let tokyo_60 = by_step(&made.tokyo, "before_60");
    assert_eq!(tokyo_60.len(), 1, "{planned:#?}");
    let tokyo_60 = tokyo_60[0];
    assert_eq!(
        tokyo_60["reminder_id"].as_i64(),
        Some(reminder_id(&t, &made.tokyo, "before_60", 1))
    );
    assert_eq!(field(tokyo_60, "kind"), "reminder");
    assert_eq!(field(tokyo_60, "send_at"), "2027-01-30T00:00:00Z");
    assert_eq!(
        field(tokyo_60, "send_at_local"),
        "2027-01-30T09:00:00+09:00"
    );
    assert_eq!(field(tokyo_60, "time_zone"), "Asia/Tokyo");
    assert_eq!(strings(&tokyo_60["to"]), ["ops@tokyo.example"]);
    assert_eq!(strings(&tokyo_60["cc"]), [OWNER]);
    assert!(tokyo_60["invoice_id"].is_null());
    assert_eq!(tokyo_60["predicted"], false);

    // The approval step is not sent by itself: its owner's alert is, at its time.
    let approval = reminder_id(&t, &made.new_york, "before_30", 1);
    assert!(
        planned
            .iter()
            .all(|i| i["reminder_id"].as_i64() != Some(approval)),
        "{planned:#?}"
    );
    let alert = planned
        .iter()
        .find(|i| i["waiting_reminder_id"].as_i64() == Some(approval))
        .expect("the owner's alert");
    assert_eq!(strings(&alert["to"]), [OLGA]);
    assert_eq!(field(alert, "send_at"), "2027-02-13T14:00:00Z");
    assert_eq!(alert["predicted"], true);

    // The auto-renewing contract starts its next term on 2027-02-21: its after-expiry email
    // of 2027-02-27 stops. The contract renewed by hand has none of its old term's left.
    let stopped = reminder_id(&t, &made.auto, "after_7", 1);
    let renewed_old: Vec<i64> = t
        .reminders(&made.renewed)
        .iter()
        .filter(|r| r["term_number"] == 1)
        .map(|r| r["id"].as_i64().expect("id"))
        .collect();
    for item in &planned {
        let id = item["reminder_id"].as_i64();
        assert!(id != Some(stopped), "{item}");
        assert!(id.is_none_or(|id| !renewed_old.contains(&id)), "{item}");
    }

    // Its next term does not exist yet either: its 7-day email is predicted, the old term's
    // after-expiry email is not listed.
    let next_term: Vec<&Value> = by_step(&made.monthly, "before_7")
        .into_iter()
        .filter(|i| i["predicted"] == true)
        .collect();
    assert_eq!(next_term.len(), 1, "{planned:#?}");
    assert_eq!(field(next_term[0], "send_at"), "2027-03-03T09:00:00Z");
    assert!(next_term[0]["reminder_id"].is_null());
    assert!(
        field(next_term[0], "subject").contains("10 March 2027"),
        "{next_term:?}"
    );
    let monthly_after = reminder_id(&t, &made.monthly, "after_7", 1);
    assert!(
        planned
            .iter()
            .all(|i| i["reminder_id"].as_i64() != Some(monthly_after))
    );

    // The sale's invoices do not exist yet: their emails are predicted, numbered, at 09:00
    // in Athens on their issue dates, the owner in CC; its notices exist already.
    let invoices: Vec<&Value> = planned
        .iter()
        .filter(|i| i["step"] == "invoice_issued")
        .collect();
    assert_eq!(
        invoices
            .iter()
            .map(|i| (
                field(i, "send_at"),
                field(i, "invoice_number"),
                field(i, "kind")
            ))
            .collect::<Vec<_>>(),
        [
            ("2027-02-01T07:00:00Z", "INV-2027-0001", "invoice"),
            ("2027-03-01T07:00:00Z", "INV-2027-0002", "invoice"),
        ]
    );
    for invoice in &invoices {
        assert!(invoice["reminder_id"].is_null() && invoice["invoice_id"].is_null());
        assert_eq!(invoice["predicted"], true);
        assert_eq!(invoice["contract_id"].to_string(), made.sale);
        assert_eq!(strings(&invoice["to"]), ["accounts@alfa.example"]);
        assert_eq!(strings(&invoice["cc"]), [OWNER]);
        assert!(field(invoice, "subject").contains(field(invoice, "invoice_number")));
    }
    assert!(
        by_step(&made.sale, "payment_due_soon")
            .iter()
            .any(|i| field(i, "send_at") == "2027-02-12T07:00:00Z"),
        "{planned:#?}"
    );
    let upcoming = by_step(&made.sale, "invoice_upcoming");
    assert_eq!(upcoming.len(), 2, "{planned:#?}");
    assert!(upcoming.iter().all(|i| i["kind"] == "invoice"));

    // The owners' morning digests, at 08:00 UTC (their zone, the organisation's), on the days
    // they have something to say, with what goes out that day and the next.
    let digests: Vec<&Value> = planned.iter().filter(|i| i["kind"] == "digest").collect();
    assert!(digests.len() > 20, "{planned:#?}");
    for digest in &digests {
        assert!(field(digest, "send_at").ends_with("T08:00:00Z"), "{digest}");
        assert!(digest["reminder_id"].is_null() && digest["contract_id"].is_null());
        assert_eq!(digest["cc"], serde_json::json!([]));
        assert!(field(digest, "subject").starts_with("Your Tickler digest for "));
    }
    assert!(
        digests
            .iter()
            .any(|d| field(d, "subject").ends_with(": 1 going out") && d["to"][0] == OWNER),
        "{digests:#?}"
    );

    // Walk the dispatcher through the window: at each listed instant, then at its end.
    let instants: BTreeSet<String> = planned
        .iter()
        .map(|i| field(i, "send_at").to_string())
        .collect();
    let halfway = instants
        .iter()
        .nth(instants.len() / 2)
        .expect("instants")
        .clone();
    for at in instants.iter().filter(|at| **at <= halfway) {
        t.dispatch_at(at);
    }
    // Halfway, what is left to preview is the rest of the list: the invoice made meanwhile,
    // its payment reminders and the tasks opened are in the database now.
    let rest = preview(&t, &["--now", &halfway]);
    assert_eq!(
        sorted(rest.iter().map(email).collect()),
        sorted(
            planned
                .iter()
                .filter(|i| field(i, "send_at") > halfway.as_str())
                .map(email)
                .collect()
        ),
        "previewed halfway (left) and the rest of the first preview (right) differ"
    );
    for at in instants.iter().filter(|at| **at > halfway) {
        t.dispatch_at(at);
    }
    t.dispatch_at(LAST);

    // What went out in the window, as recorded...
    let window = "2027-01-25T00:00:00Z".to_string().."2027-03-06T00:00:00Z".to_string();
    let sent: Vec<Value> = list(t.json(&["reminder", "list", "--status", "sent", "--json"]))
        .into_iter()
        .filter(|r| window.contains(&field(r, "sent_at").to_string()))
        .collect();
    assert_eq!(
        sorted(sent.iter().map(email).collect()),
        sorted(planned.iter().map(email).collect()),
        "sent (left) and previewed (right) differ"
    );
    // ... with the very reminders listed, at their instants, and none late.
    for item in planned.iter().filter(|i| !i["reminder_id"].is_null()) {
        let sent = sent
            .iter()
            .find(|r| r["id"] == item["reminder_id"])
            .unwrap_or_else(|| panic!("{item} was not sent"));
        assert_eq!(email(sent), email(item));
        assert_eq!(field(sent, "sent_at"), field(item, "send_at"));
    }
    for item in planned.iter().filter(|i| i["step"] == "invoice_issued") {
        let sent = sent
            .iter()
            .find(|r| r["step"] == "invoice_issued" && r["send_at"] == item["send_at"])
            .expect("the invoice's email");
        assert!(field(sent, "subject").contains(field(item, "invoice_number")));
    }
    let after_7 = t.reminder(&made.auto, "after_7", 1);
    assert_eq!(field(&after_7, "status"), "cancelled", "{after_7}");

    // ... and as the mail server received it.
    smtp.wait_for_messages(before + planned.len(), WAIT);
    std::thread::sleep(Duration::from_millis(500));
    let received = smtp.messages().into_iter().skip(before).collect::<Vec<_>>();
    assert_eq!(received.len(), planned.len(), "{received:#?}");
    let lower = |list: &[String]| sorted(list.iter().map(|a| a.to_lowercase()).collect());
    assert_eq!(
        sorted(
            received
                .iter()
                .map(|m| (lower(&m.to), lower(&m.cc), m.subject.clone()))
                .collect()
        ),
        sorted(
            planned
                .iter()
                .map(|i| {
                    let (_, to, cc, subject) = email(i);
                    (to, cc, subject)
                })
                .collect()
        )
    );

    // Once sent, nothing of the window is left to preview (the approval step is still
    // scheduled, waiting for Olga, but her alert went out).
    assert_eq!(preview(&t, &["--now", LAST]), Vec::<Value>::new());
    assert_eq!(preview(&t, &[]), Vec::<Value>::new());
    let waiting = t.reminder(&made.new_york, "before_30", 1);
    assert_eq!(field(&waiting, "status"), "scheduled");
}

#[test]
fn owner_filters_and_mistakes_name_the_flag() {
    let mut t = Tickler::new(None);
    let made = installation(&t);
    let all = preview(&t, &["--now", BEFORE]);
    let olga = preview(&t, &["--now", BEFORE, "--owner", OLGA]);
    let sam = preview(&t, &["--now", BEFORE, "--owner", OWNER]);
    assert!(!olga.is_empty() && !sam.is_empty());
    for item in &olga {
        assert_eq!(field(item, "owner"), OLGA, "{item}");
        assert!(all.contains(item), "{item}");
    }
    assert!(olga.iter().any(|i| contract_of(i) == made.new_york));
    assert!(sam.iter().all(|i| contract_of(i) != made.auto));
    assert_eq!(olga.len() + sam.len(), all.len());

    let err = t.fails(&[
        "preview",
        "--from",
        "2027-01-25",
        "--to",
        "2027-03-05",
        "--owner",
        "nobody@firm.example",
    ]);
    assert!(
        err.contains("--owner") && err.contains("nobody@firm.example"),
        "{err}"
    );
    let err = t.fails(&["preview", "--from", "2027-03-05", "--to", "2027-01-25"]);
    assert!(
        err.contains("--to") && err.contains("before --from"),
        "{err}"
    );
    let err = t.fails(&["preview", "--from", "2027-02-30", "--to", "2027-03-05"]);
    assert!(
        err.contains("--from") && err.contains("2027-02-30"),
        "{err}"
    );
    let err = t.fails(&["preview", "--from", "2027-02-01", "--to", "soon"]);
    assert!(err.contains("--to") && err.contains("soon"), "{err}");

    // The table, by day, with both times and the subject.
    let table = t.ok(&[
        "preview",
        "--from",
        "2027-01-30",
        "--to",
        "2027-01-30",
        "--now",
        BEFORE,
    ]);
    assert!(table.contains("Saturday 2027-01-30"), "{table}");
    assert!(table.contains("00:00"), "{table}");
    assert!(table.contains("2027-01-30 09:00 Asia/Tokyo"), "{table}");
    assert!(table.contains("ops@tokyo.example"), "{table}");
    // A window of instants works too, and says so when it is empty.
    let empty = t.ok(&[
        "preview",
        "--from",
        "2027-01-30T00:00:01Z",
        "--to",
        // Before the owners' morning digests at 08:00 UTC.
        "2027-01-30T07:59:59Z",
        "--now",
        BEFORE,
    ]);
    assert!(empty.contains("Nothing will be sent"), "{empty}");

    // The days are the organisation's: in Tokyo, 2027-01-30 runs from 15:00 UTC the day
    // before.
    t.set_env("TICKLER_TIME_ZONE", "Asia/Tokyo");
    let day = list(t.json(&[
        "preview",
        "--from",
        "2027-01-30",
        "--to",
        "2027-01-30",
        "--json",
        "--now",
        BEFORE,
    ]));
    assert!(
        day.iter()
            .any(|i| field(i, "send_at") == "2027-01-30T00:00:00Z"),
        "{day:#?}"
    );
    for item in &day {
        let at = field(item, "send_at");
        assert!(
            ("2027-01-29T15:00:00Z".."2027-01-30T15:00:00Z").contains(&at),
            "{item}"
        );
    }
}
